//! `watt audit`, `watt chain export` and `watt chain import`.

use crate::audit::export::ExportWriter;
use crate::audit::source::{BlockSource, RpcSource, StoreSource};
use crate::audit::{self, AuditOptions, Checkpoint, ExpectedChain, ProgressMode};
use anyhow::Context;
use std::path::{Path, PathBuf};
use watt_runtime::types::Height;

/// `watt audit`.
#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// What to audit: a stopped node's data directory, an export file
    /// (`watt chain export`), or a node's RPC (`ws://host:port`).
    #[arg(long)]
    source: String,
    /// A block the auditor trusts, `height:0xhash`; the audit is refused
    /// unless the chain's block at that height has this hash.
    #[arg(long)]
    checkpoint: Option<Checkpoint>,
    /// The chain you expect, by its id (`0x` and 64 hex digits, as `watt
    /// dev` and `watt genesis hash` print it): a source of any other chain
    /// is refused.
    #[arg(long, conflicts_with_all = ["genesis", "trust_source_genesis"])]
    chain_id: Option<String>,
    /// The chain you expect, by its genesis document (JSON): a source of
    /// any other chain is refused.
    #[arg(long, conflicts_with = "trust_source_genesis")]
    genesis: Option<PathBuf>,
    /// Audit against whatever genesis the source carries. Anyone can build
    /// a self-consistent chain of their own, so the report then says that
    /// the genesis was taken on trust.
    #[arg(long)]
    trust_source_genesis: bool,
    /// For a chain that continues another (a recovery fork): the old
    /// chain's state snapshot `genesis.state` (a data directory keeps its
    /// own).
    #[arg(long)]
    genesis_state: Option<PathBuf>,
    /// Where the report goes.
    #[arg(long, default_value = "audit-report")]
    out: PathBuf,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
    /// Extra output formats. The JSON, CSV and HTML report is always
    /// written; `parquet` adds typed, compressed tables for analytics
    /// engines under `OUT/parquet/<table>/day=YYYY-MM-DD/`.
    #[arg(long = "format", value_enum)]
    formats: Vec<Format>,
}

/// An extra output format of `watt audit`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Parquet tables (`docs/audit.md`, "Parquet").
    Parquet,
}

/// `watt chain export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// A stopped node's data directory.
    #[arg(
        long,
        env = "WATT_BASE_PATH",
        conflicts_with = "rpc",
        required_unless_present = "rpc"
    )]
    base_path: Option<PathBuf>,
    /// A running node's RPC URL (`http://` or `ws://`) instead.
    #[arg(long)]
    rpc: Option<String>,
    /// The file to write.
    file: PathBuf,
    /// The first height (default 1; an audit or import needs 1).
    #[arg(long)]
    from: Option<u64>,
    /// The last height (default: the head).
    #[arg(long)]
    to: Option<u64>,
}

/// `watt chain import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The data directory to create; it must not hold anything yet.
    #[arg(long, env = "WATT_BASE_PATH")]
    base_path: PathBuf,
    /// The export file.
    file: PathBuf,
}

/// Runs `watt audit`.
pub fn run_audit(args: AuditArgs) -> anyhow::Result<()> {
    let expected = match (&args.chain_id, &args.genesis, args.trust_source_genesis) {
        (Some(id), _, _) => {
            let hex = id
                .strip_prefix("0x")
                .filter(|h| h.len() == 64)
                .with_context(|| format!("--chain-id {id:?} is not 0x and 64 hex digits"))?;
            ExpectedChain::ChainId(
                watt_runtime::crypto::Hash::from_hex(hex)
                    .with_context(|| format!("--chain-id {id:?}"))?,
            )
        }
        (None, Some(p), _) => {
            ExpectedChain::Genesis(Box::new(super::genesis_cmd::read_genesis(p)?))
        }
        (None, None, true) => ExpectedChain::TrustSource,
        (None, None, false) => anyhow::bail!(
            "name the chain you expect: --chain-id 0x... (or --genesis genesis.json); a source is refused if it holds another chain. --trust-source-genesis audits against whatever genesis the source carries, and the report says so"
        ),
    };
    let genesis_state = match &args.genesis_state {
        Some(p) => Some(watt_genesis::StateSnapshot::read(p)?),
        None => None,
    };
    let summary = audit::run(AuditOptions {
        source: args.source.clone(),
        expected,
        checkpoint: args.checkpoint,
        genesis_state,
        out: args.out.clone(),
        progress: if args.quiet {
            ProgressMode::Quiet
        } else {
            ProgressMode::detect()
        },
        parquet: args.formats.contains(&Format::Parquet),
    })?;
    let c = &summary.counts;
    println!(
        "audit passed: {} blocks to height {} (block {}), {} transactions, {} device signatures, {} commit certificates ({} precommits), {} conservation checks; state root {}{}",
        c.blocks,
        summary.height,
        summary.head_hash,
        c.transactions,
        c.device_signatures,
        c.certificates,
        c.commit_signatures,
        c.conservation_checks,
        summary.state_root,
        if summary.compared_stored_state {
            "; the stored current state equals the replayed one"
        } else {
            ""
        }
    );
    println!("report: {}", args.out.join("report.html").display());
    if args.formats.contains(&Format::Parquet) {
        println!("parquet: {}", args.out.join("parquet").display());
    }
    Ok(())
}

/// Runs `watt chain export`.
pub fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let from = Height(args.from.unwrap_or(1).max(1));
    let to = args.to.map(Height);
    let mut source: Box<dyn BlockSource> = match (&args.base_path, &args.rpc) {
        (_, Some(url)) => Box::new(RpcSource::connect(url)?.within(from, to)),
        (Some(dir), None) => Box::new(StoreSource::open(dir)?.within(from, to)),
        (None, None) => anyhow::bail!("give --base-path or --rpc"),
    };
    // Written beside the target and renamed at the end: a failed export
    // leaves no file behind.
    let dir = args
        .file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".watt-export-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut w = ExportWriter::new(tmp.as_file(), source.genesis(), from)?;
    while let Some((block, cert)) = source.next_block()? {
        w.block(&block, &cert)?;
    }
    let n = w.finish()?;
    tmp.as_file().sync_all()?;
    tmp.persist(&args.file)
        .with_context(|| format!("cannot write {}", args.file.display()))?;
    println!(
        "exported {n} blocks from height {from} of chain {} to {}",
        source.genesis().chain_id(),
        args.file.display()
    );
    Ok(())
}

/// Runs `watt chain import`.
pub fn run_import(args: ImportArgs) -> anyhow::Result<()> {
    let (count, chain_id) = audit::import::import(&args.file, &args.base_path)?;
    println!(
        "imported {count} blocks of chain {chain_id} into {}",
        args.base_path.display()
    );
    Ok(())
}
