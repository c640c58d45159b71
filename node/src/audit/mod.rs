//! The auditor: replays a chain from genesis with its own fresh state,
//! verifies everything a block commits to, and writes a report.
//!
//! [`source`] reads blocks from a data directory, an export file
//! ([`export`]) or a node's RPC; [`replay`] verifies and executes each with
//! the runtime's own functions on an [`state::AuditState`] whose memory is
//! bounded by the state, and [`sandbox`] judges its permit and curtailment
//! events again with a model of its own; [`report`] accumulates tables and
//! streams the long ones to disk. The first discrepancy stops the audit with its height, the
//! object and the reason. `docs/audit.md` is the auditor's guide.

pub mod export;
pub mod import;
pub mod parquet;
mod progress;
pub mod replay;
pub mod report;
pub mod sandbox;
pub mod source;
pub mod state;

use std::path::{Path, PathBuf};
use watt_runtime::crypto::Hash;
use watt_runtime::genesis::Genesis;
use watt_runtime::types::Height;

/// Why an audit failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The chain is not what it claims: the first thing found wrong.
    #[error("discrepancy at height {height}: {object}: {reason}")]
    Discrepancy {
        /// The height of the block (or, for the stored state, the head).
        height: Height,
        /// What is wrong: a header field, a transaction, a certificate.
        object: String,
        /// Why.
        reason: String,
    },
    /// A block breaks the runtime's validity rule (the same error a
    /// validator and `watt chain verify` give).
    #[error("discrepancy at height {height}: {}: {error}", error.object())]
    InvalidBlock {
        /// The block's height.
        height: Height,
        /// Why.
        error: Box<watt_runtime::validity::InvalidBlock>,
    },
    /// The given checkpoint is not on the chain.
    #[error("checkpoint refused: {0}")]
    Checkpoint(String),
    /// The source is not the chain the auditor expects.
    #[error("genesis refused: {0}")]
    Genesis(String),
    /// The source could not be read (missing, truncated, not an export).
    #[error("{0}")]
    Input(String),
    /// The report could not be written.
    #[error("writing the report: {0}")]
    Output(String),
}

/// A trusted `height:hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The height.
    pub height: Height,
    /// The block hash the auditor trusts at that height.
    pub hash: Hash,
}

impl std::str::FromStr for Checkpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (h, hash) = s
            .split_once(':')
            .ok_or_else(|| format!("checkpoint {s:?} is not height:0xhash"))?;
        let height = h
            .parse()
            .map_err(|_| format!("checkpoint height {h:?} is not a number"))?;
        let hash = hash
            .strip_prefix("0x")
            .filter(|h| h.len() == 64)
            .ok_or_else(|| format!("checkpoint hash {hash:?} is not 0x and 64 hex digits"))
            .and_then(|h| Hash::from_hex(h).map_err(|e| e.to_string()))
            .map_err(|e| format!("checkpoint hash: {e}"))?;
        if height == 0 {
            return Err("checkpoint height must be at least 1".into());
        }
        Ok(Checkpoint {
            height: Height(height),
            hash,
        })
    }
}

/// Which chain the auditor expects: a source whose genesis differs is
/// refused before anything is replayed. A chain is only as trustworthy as
/// the genesis it is checked against: a forger can build a perfectly
/// self-consistent chain of their own.
#[derive(Clone, Debug)]
pub enum ExpectedChain {
    /// This genesis document (the source's must be the same chain).
    Genesis(Box<Genesis>),
    /// The chain with this id (the genesis hash).
    ChainId(Hash),
    /// Whatever genesis the source carries, and the report says so.
    TrustSource,
}

/// What to audit and where the report goes.
pub struct AuditOptions {
    /// A data directory, an export file, or a `ws://` / `http://` URL.
    pub source: String,
    /// The chain the auditor expects.
    pub expected: ExpectedChain,
    /// A block hash the auditor trusts.
    pub checkpoint: Option<Checkpoint>,
    /// For a recovery fork's chain: the old chain's state snapshot it
    /// starts from (a data directory source keeps its own).
    pub genesis_state: Option<watt_genesis::StateSnapshot>,
    /// Where the report goes (created; existing report files are replaced).
    pub out: PathBuf,
    /// Progress output: a redrawn line on a terminal, plain lines otherwise,
    /// or nothing.
    pub progress: progress::Mode,
    /// Also write the Parquet tables (`<out>/parquet`, `--format parquet`).
    pub parquet: bool,
}

pub use progress::Mode as ProgressMode;

/// What a finished audit found.
#[derive(Clone, Debug)]
pub struct AuditSummary {
    /// The last verified height.
    pub height: Height,
    /// Its block hash.
    pub head_hash: Hash,
    /// The replayed state root.
    pub state_root: Hash,
    /// What was checked.
    pub counts: replay::CheckCounts,
    /// Whether a stored current state was compared.
    pub compared_stored_state: bool,
}

/// Runs an audit: replay, verify, report.
pub fn run(opts: AuditOptions) -> Result<AuditSummary, AuditError> {
    let mut source = source::open(&opts.source)?;
    let carried = source.genesis().chain_id();
    let refuse = |expected: Hash| {
        AuditError::Genesis(format!(
            "{} holds chain {carried}, not the expected {expected}",
            source.describe()
        ))
    };
    let (genesis, trusted_source) = match &opts.expected {
        ExpectedChain::Genesis(g) if g.chain_id() != carried => return Err(refuse(g.chain_id())),
        ExpectedChain::Genesis(g) => (g.as_ref().clone(), false),
        ExpectedChain::ChainId(id) if *id != carried => return Err(refuse(*id)),
        ExpectedChain::ChainId(_) => (source.genesis().clone(), false),
        ExpectedChain::TrustSource => (source.genesis().clone(), true),
    };
    // A recovery fork starts from the old chain's state: the snapshot
    // given, or the one a data directory keeps.
    let old_state = match opts.genesis_state {
        Some(s) => Some(s),
        None => match source.store() {
            Some(store) => store
                .genesis_snapshot()
                .map_err(|e| AuditError::Input(format!("stored genesis state: {e}")))?,
            None => None,
        },
    };
    let mut replayer = replay::Replayer::new(&genesis, old_state.as_ref())?;
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| AuditError::Output(format!("{}: {e}", opts.out.display())))?;
    // Files are written in a work directory and moved into place only when
    // the audit passes, so a failed audit leaves no report that looks valid.
    let work = tempfile::Builder::new()
        .prefix(".audit-")
        .tempdir_in(&opts.out)
        .map_err(|e| AuditError::Output(e.to_string()))?;
    let mut report = report::Report::new(work.path(), &genesis, trusted_source, replayer.state())?;
    let mut tables = match opts.parquet {
        true => Some(parquet::ParquetSink::new(&work.path().join("parquet"))?),
        false => None,
    };
    let mut progress = progress::Progress::new(opts.progress, source.total());
    // One block of lookahead: its signatures are checked while the block
    // before it executes.
    // A source's error is still reported only after the blocks before it.
    let mut next = source.next_block();
    loop {
        let Some((block, cert)) = next? else { break };
        next = source.next_block();
        let ahead = match &next {
            Ok(Some((b, _))) => Some(b),
            _ => None,
        };
        let replayed = replayer.replay(block, &cert, ahead)?;
        if let Some(cp) = opts.checkpoint {
            if cp.height == replayed.block.header.height && cp.hash != replayed.hash {
                return Err(AuditError::Checkpoint(format!(
                    "the chain's block {} is {}, not the checkpoint's {}",
                    cp.height, replayed.hash, cp.hash
                )));
            }
        }
        report.observe(&replayed, replayer.state())?;
        if let Some(t) = tables.as_mut() {
            t.observe(&replayed)?;
        }
        progress.block(
            replayed.block.header.height,
            replayed.block.txs.len() as u64,
            source.fraction(),
        );
    }
    progress.done();
    if let Some(cp) = opts.checkpoint {
        if replayer.height() < cp.height {
            return Err(AuditError::Checkpoint(format!(
                "the chain ends at height {}, below the checkpoint's height {}",
                replayer.height(),
                cp.height
            )));
        }
    }
    let compared = match source.store() {
        Some(store) => {
            replayer.compare_stored(store)?;
            true
        }
        None => false,
    };
    let head = (
        replayer.height(),
        replayer.head_hash(),
        replayer.head_time_ms(),
    );
    report.finish(replayer.state(), replayer.sandbox(), head, &replayer.counts)?;
    if let Some(t) = tables {
        t.finish()?;
    }
    move_into(work.path(), &opts.out)?;
    // Tables of an earlier audit must not sit beside this report as if
    // they were its own.
    let stale = opts.out.join("parquet");
    if !opts.parquet && stale.is_dir() {
        std::fs::remove_dir_all(&stale)
            .map_err(|e| AuditError::Output(format!("{}: {e}", stale.display())))?;
    }
    Ok(AuditSummary {
        height: replayer.height(),
        head_hash: replayer.head_hash(),
        state_root: replayer.state().root(),
        counts: replayer.counts.clone(),
        compared_stored_state: compared,
    })
}

/// Moves every file of `from` into `to`, replacing what is there.
fn move_into(from: &Path, to: &Path) -> Result<(), AuditError> {
    let entries = std::fs::read_dir(from).map_err(|e| AuditError::Output(e.to_string()))?;
    for e in entries {
        let e = e.map_err(|e| AuditError::Output(e.to_string()))?;
        // A directory (the Parquet tables) replaces the previous one whole.
        let target = to.join(e.file_name());
        if e.path().is_dir() && target.is_dir() {
            std::fs::remove_dir_all(&target).map_err(|e| AuditError::Output(e.to_string()))?;
        }
        std::fs::rename(e.path(), to.join(e.file_name()))
            .map_err(|e| AuditError::Output(e.to_string()))?;
    }
    Ok(())
}
