//! `watt db` and `watt chain`.

use crate::storage::{BlockReader, Store};
use clap::Subcommand;
use std::path::PathBuf;
use watt_runtime::block::ValidatorSet;
use watt_runtime::encoding::decode;
use watt_runtime::exec::{apply_block, BlockContext};
use watt_runtime::state::{ChainState, StateKey, StateReader};
use watt_runtime::types::Height;
use watt_runtime::validity::{self, InvalidBlock};
use watt_runtime::verify::verify_txs;

/// Database commands.
#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Sizes and key counts per table, the head and the state root.
    Stats {
        /// The data directory.
        #[arg(long, env = "WATT_BASE_PATH")]
        base_path: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every stored block's height and hash, one per line.
    Blocks {
        /// The data directory.
        #[arg(long, env = "WATT_BASE_PATH")]
        base_path: PathBuf,
    },
}

/// Chain commands.
#[derive(Subcommand, Debug)]
pub enum ChainCommand {
    /// Re-execute every stored block from genesis in memory and check
    /// linkage, certificates and every root against the stored headers and
    /// the stored current state.
    Verify {
        /// The data directory.
        #[arg(long, env = "WATT_BASE_PATH")]
        base_path: PathBuf,
    },
    /// Write the genesis and the blocks with their commit certificates to
    /// an export file (docs/encoding.md), from a stopped node's data
    /// directory or a running node's RPC.
    Export(super::audit::ExportArgs),
    /// Verify, re-execute and commit every block of an export file into a
    /// fresh data directory.
    Import(super::audit::ImportArgs),
}

/// Runs a db command.
pub fn run_db(cmd: DbCommand) -> anyhow::Result<()> {
    match cmd {
        DbCommand::Stats { base_path, json } => {
            let store = Store::open_existing(&base_path)?;
            let stats = store.stats()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                println!("head        {}", stats.head);
                println!("state root  {}", stats.state_root);
                println!("{:<16} {:>12} {:>14}", "table", "keys (est.)", "bytes");
                for (name, keys, bytes) in &stats.tables {
                    println!("{name:<16} {keys:>12} {bytes:>14}");
                }
            }
        }
        DbCommand::Blocks { base_path } => {
            let store = Store::open_existing(&base_path)?;
            for h in 1..=store.head()?.0 {
                let header = store
                    .header(Height(h))?
                    .ok_or_else(|| anyhow::anyhow!("block {h} missing"))?;
                println!("{h} {}", header.hash());
            }
        }
    }
    Ok(())
}

/// Runs a chain command.
pub fn run_chain(cmd: ChainCommand) -> anyhow::Result<()> {
    match cmd {
        ChainCommand::Verify { base_path } => {
            let store = Store::open_existing(&base_path)?;
            let report = verify_store(&store)?;
            println!(
                "verified {} blocks and {} transactions; state root {}",
                report.0, report.1, report.2
            );
        }
        ChainCommand::Export(args) => super::audit::run_export(args)?,
        ChainCommand::Import(args) => super::audit::run_import(args)?,
    }
    Ok(())
}

/// Why `watt chain verify` refused a data directory.
#[derive(Debug, thiserror::Error)]
pub enum VerifyStoreError {
    /// A block breaks the runtime's validity rule (the same error a
    /// validator and `watt audit` give).
    #[error("block {height}: {}: {source}", source.object())]
    Invalid {
        /// The block's height.
        height: Height,
        /// Why.
        source: Box<InvalidBlock>,
    },
    /// A block's own certificate does not verify.
    #[error("block {height}: commit certificate: {source}")]
    Certificate {
        /// The block's height.
        height: Height,
        /// Why.
        source: watt_runtime::block::CommitError,
    },
    /// Something the directory must hold is missing.
    #[error("{0}")]
    Missing(String),
    /// The stored current state is not the replayed one.
    #[error(
        "stored current state differs from the replayed state ({stored} vs {replayed} entries)"
    )]
    StateDiffers {
        /// Entries stored.
        stored: usize,
        /// Entries replayed.
        replayed: usize,
    },
    /// Reading failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    /// The replayed state failed.
    #[error("replayed state: {0}")]
    State(String),
}

/// A block's stored certificate, checked once its child has been judged.
struct PendingCert {
    height: Height,
    cert: watt_runtime::block::CommitCertificate,
    set: ValidatorSet,
    hash: watt_runtime::crypto::Hash,
}

impl PendingCert {
    fn verify(self, chain_id: &watt_runtime::crypto::Hash) -> Result<(), VerifyStoreError> {
        let height = self.height;
        self.cert
            .verify(chain_id, &self.set, height, &self.hash)
            .map_err(|source| VerifyStoreError::Certificate { height, source })
    }
}

/// Re-executes the stored chain from genesis with the runtime's one
/// validity rule (no clock: the blocks are history); returns blocks,
/// transactions and the final state root.
pub fn verify_store(
    store: &Store,
) -> Result<(u64, u64, watt_runtime::crypto::Hash), VerifyStoreError> {
    let genesis = store
        .genesis()?
        .ok_or_else(|| VerifyStoreError::Missing("no genesis".into()))?;
    let chain_id = genesis.chain_id();
    let mut state = store.genesis_state()?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (mut parent_hash, mut parent_time) = (chain_id, genesis.genesis_time_ms);
    let mut parent_set: Option<ValidatorSet> = None;
    let mut txs_total = 0u64;
    let head = store.head()?;
    let set_of =
        |state: &watt_runtime::state::MemoryState| -> Result<ValidatorSet, VerifyStoreError> {
            let bytes = state
                .get(&StateKey::Chain.encode())
                .map_err(|e| VerifyStoreError::State(e.to_string()))?
                .ok_or_else(|| VerifyStoreError::State("no chain record".into()))?;
            decode::<ChainState>(&bytes)
                .map(|c| c.validators)
                .map_err(|e| VerifyStoreError::State(e.to_string()))
        };
    let mut unverified: Option<PendingCert> = None;
    for h in 1..=head.0 {
        let height = Height(h);
        let invalid = |source| VerifyStoreError::Invalid {
            height,
            source: Box::new(source),
        };
        let block = store
            .block(height)?
            .ok_or_else(|| VerifyStoreError::Missing(format!("block {h} missing")))?;
        let set = set_of(&state)?;
        validity::check_before_execution(
            &block,
            &chain_id,
            &validity::Parent {
                height: Height(h - 1),
                hash: parent_hash,
                time_ms: parent_time,
                validators: parent_set.as_ref(),
            },
            &set,
            None,
        )
        .map_err(invalid)?;
        let cert = store.commit(height)?.ok_or_else(|| {
            VerifyStoreError::Missing(format!("block {h}: no commit certificate"))
        })?;
        let txs = block.txs.to_vec();
        let mut verified = Vec::with_capacity(txs.len());
        for (i, v) in verify_txs(&state, &chain_id, txs.clone(), threads)
            .into_iter()
            .enumerate()
        {
            verified.push(v.map_err(|error| {
                invalid(InvalidBlock::Transaction {
                    index: i,
                    tx: txs[i].hash(),
                    error,
                })
            })?);
        }
        txs_total += verified.len() as u64;
        let ctx = BlockContext {
            chain_id,
            height,
            timestamp_ms: block.header.timestamp_ms,
            proposer: block.header.proposer,
        };
        let out =
            apply_block(&state, ctx, &verified).map_err(|e| invalid(InvalidBlock::Execution(e)))?;
        let root = state
            .apply(&out.diff)
            .map_err(|e| VerifyStoreError::State(e.to_string()))?;
        let next = set_of(&state)?;
        validity::check_after_execution(
            &block,
            &validity::Executed {
                events: &out.events,
                state_root: root,
                next_validators: &next,
            },
        )
        .map_err(invalid)?;
        // A block's certificate is judged after its child's validity check
        // (which verifies the child's copy of it, the canonical one the
        // store keeps), so a forged one is named as the validator and the
        // auditor name it.
        if let Some(pending) = unverified.take() {
            pending.verify(&chain_id)?;
        }
        unverified = Some(PendingCert {
            height,
            cert,
            set: set.clone(),
            hash: block.hash(),
        });
        parent_hash = block.hash();
        parent_time = block.header.timestamp_ms;
        parent_set = Some(set);
    }
    if let Some(pending) = unverified.take() {
        pending.verify(&chain_id)?;
    }
    // The stored current state must be exactly the replayed one.
    let stored = store
        .scan(&[], &[0xff; 64])
        .map_err(|e| VerifyStoreError::State(e.to_string()))?;
    let replayed: Vec<(Vec<u8>, Vec<u8>)> = state
        .entries()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if stored != replayed {
        return Err(VerifyStoreError::StateDiffers {
            stored: stored.len(),
            replayed: replayed.len(),
        });
    }
    Ok((head.0, txs_total, state.root()))
}
