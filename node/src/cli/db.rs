//! `watt db` and `watt chain`.

use crate::storage::{BlockReader, Store};
use clap::Subcommand;
use std::path::PathBuf;
use watt_runtime::block::{tx_root, ValidatorSet};
use watt_runtime::encoding::decode;
use watt_runtime::events::event_root;
use watt_runtime::exec::{apply_block, BlockContext};
use watt_runtime::state::{ChainState, StateKey, StateReader};
use watt_runtime::types::Height;
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

/// Re-executes the stored chain from genesis; returns blocks, transactions
/// and the final state root.
pub fn verify_store(store: &Store) -> anyhow::Result<(u64, u64, watt_runtime::crypto::Hash)> {
    let genesis = store
        .genesis()?
        .ok_or_else(|| anyhow::anyhow!("no genesis"))?;
    let chain_id = genesis.chain_id();
    let mut state = store.genesis_state()?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut parent_hash = chain_id;
    let mut txs_total = 0u64;
    let head = store.head()?;
    let set_of = |state: &watt_runtime::state::MemoryState| -> anyhow::Result<ValidatorSet> {
        let bytes = state
            .get(&StateKey::Chain.encode())?
            .ok_or_else(|| anyhow::anyhow!("no chain record"))?;
        Ok(decode::<ChainState>(&bytes)?.validators)
    };
    for h in 1..=head.0 {
        let height = Height(h);
        let block = store
            .block(height)?
            .ok_or_else(|| anyhow::anyhow!("block {h} missing"))?;
        let hd = &block.header;
        anyhow::ensure!(
            hd.height == height && hd.parent_hash == parent_hash,
            "block {h}: does not link to its parent"
        );
        let set = set_of(&state)?;
        anyhow::ensure!(
            hd.validator_set_hash == set.hash(),
            "block {h}: validator set hash differs"
        );
        anyhow::ensure!(
            set.index_of(&hd.proposer).is_some(),
            "block {h}: proposer is not a validator"
        );
        let carried = block
            .parent_commit
            .as_ref()
            .map_or(watt_runtime::crypto::Hash::ZERO, |c| c.hash());
        anyhow::ensure!(
            hd.parent_commit_hash == carried,
            "block {h}: parent commit hash does not match the certificate it carries"
        );
        anyhow::ensure!(
            (h == 1) == block.parent_commit.is_none(),
            "block {h}: parent certificate missing or unexpected"
        );
        let cert = store
            .commit(height)?
            .ok_or_else(|| anyhow::anyhow!("block {h}: no commit certificate"))?;
        cert.verify(&chain_id, &set, height, &block.hash())
            .map_err(|e| anyhow::anyhow!("block {h}: certificate: {e}"))?;
        let txs = block.txs.to_vec();
        anyhow::ensure!(hd.tx_root == tx_root(&txs), "block {h}: tx root differs");
        let verified: Result<Vec<_>, _> = verify_txs(&state, &chain_id, txs, threads)
            .into_iter()
            .collect();
        let verified = verified.map_err(|e| anyhow::anyhow!("block {h}: {e}"))?;
        txs_total += verified.len() as u64;
        let ctx = BlockContext {
            chain_id,
            height,
            timestamp_ms: hd.timestamp_ms,
            proposer: hd.proposer,
        };
        let out =
            apply_block(&state, ctx, &verified).map_err(|e| anyhow::anyhow!("block {h}: {e}"))?;
        anyhow::ensure!(
            hd.event_root == event_root(&out.events),
            "block {h}: event root differs"
        );
        let root = state.apply(&out.diff)?;
        anyhow::ensure!(
            hd.state_root == root,
            "block {h}: state root {} differs from re-executed {root}",
            hd.state_root
        );
        anyhow::ensure!(
            hd.next_validator_set_hash == set_of(&state)?.hash(),
            "block {h}: next validator set hash differs"
        );
        parent_hash = block.hash();
    }
    // The stored current state must be exactly the replayed one.
    let stored = store.scan(&[], &[0xff; 64])?;
    let replayed: Vec<(Vec<u8>, Vec<u8>)> = state
        .entries()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    anyhow::ensure!(
        stored == replayed,
        "stored current state differs from the replayed state ({} vs {} entries)",
        stored.len(),
        replayed.len()
    );
    Ok((head.0, txs_total, state.root()))
}
