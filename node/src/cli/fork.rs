//! `watt genesis fork`: the recovery path when more than a third of the
//! authorities are lost for good and the chain can no longer finalise.
//!
//! From a stopped node's data directory it takes the last finalised state
//! and writes a new genesis document that continues the old chain (its
//! chain id, height and state root in `continues`) with a new authority
//! set, and the state snapshot the new chain starts from. Every surviving
//! and new operator runs the new genesis with the snapshot; an auditor
//! checks the old chain up to that height, then that the snapshot's root is
//! the old chain's root there, then the new chain.

use crate::storage::{BlockReader, Store};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use watt_genesis::{parse_rfc3339, BuiltGenesis, GenesisSpec, StateSnapshot};
use watt_runtime::encoding::{decode, BoundedString, BoundedVec};
use watt_runtime::genesis::{validator, Continuation, Genesis};
use watt_runtime::state::{ChainState, MemoryState, StateDiff, StateKey};

/// Flags of `watt genesis fork`.
#[derive(Args, Debug)]
pub struct ForkArgs {
    /// The data directory of a stopped node of the old chain.
    #[arg(long)]
    base_path: PathBuf,
    /// A genesis spec naming the new chain, its time (after the old chain's
    /// last block) and the new authorities; its regulators replace the old
    /// ones if it lists any. It must list no zones, meters or sites: those
    /// carry over from the old state, as do the chain parameters.
    #[arg(long)]
    spec: PathBuf,
    /// Directory to write `genesis.json` and `genesis.state` into.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `watt genesis fork`.
pub fn run(args: ForkArgs) -> anyhow::Result<()> {
    let spec = GenesisSpec::from_file(&args.spec)?;
    anyhow::ensure!(
        spec.zones.is_empty() && spec.meters.is_empty() && spec.sites.is_empty(),
        "{}: a fork spec lists no zones, meters or sites (they carry over from the old chain's state)",
        args.spec.display()
    );
    anyhow::ensure!(
        !spec.authorities.is_empty(),
        "{}: the new authority set is empty; add authorities with `watt genesis add-authority`",
        args.spec.display()
    );
    let store = Store::open_existing(&args.base_path)
        .with_context(|| format!("opening the old chain at {}", args.base_path.display()))?;
    let old_genesis = store.genesis()?.context("no genesis")?;
    let height = store.head()?;
    let root = store
        .state_root_at(height)?
        .with_context(|| format!("no state root stored for height {height}"))?;
    eprintln!(
        "reading the state of chain {} at height {height}",
        old_genesis.chain_id()
    );
    let entries = store.state_entries()?;
    let mut check = MemoryState::new();
    check.apply(&StateDiff(
        entries
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect(),
    ))?;
    anyhow::ensure!(
        check.root() == root,
        "the stored state's root {} is not the root {root} of block {height}: the data directory is damaged; use another operator's",
        check.root()
    );
    let old_chain: ChainState = decode(
        entries
            .get(&StateKey::Chain.encode())
            .context("the old state has no chain record")?,
    )?;
    let time_ms =
        parse_rfc3339(&spec.genesis_time).map_err(|e| anyhow::anyhow!("genesis_time: {e}"))?;
    let authorities = spec
        .authorities
        .iter()
        .map(|a| validator(a.consensus_key, a.operator, &a.name))
        .collect::<Vec<_>>();
    let regulators = if spec.regulators.is_empty() {
        old_chain.regulators.clone()
    } else {
        spec.regulators.iter().map(|r| r.account).collect()
    };
    let continues = Continuation {
        chain_id: old_genesis.chain_id(),
        height,
        state_root: root,
    };
    let genesis = Genesis {
        chain_name: BoundedString::new(&spec.chain_name)
            .map_err(|e| anyhow::anyhow!("chain_name: {e}"))?,
        genesis_time_ms: time_ms,
        params: old_chain.params.clone(),
        authorities: BoundedVec::new(authorities)
            .map_err(|_| anyhow::anyhow!("authorities: too many"))?,
        regulators: BoundedVec::new(regulators)
            .map_err(|_| anyhow::anyhow!("regulators: too many"))?,
        zones: BoundedVec::new(Vec::new()).map_err(|_| anyhow::anyhow!("zones"))?,
        meters: BoundedVec::new(Vec::new()).map_err(|_| anyhow::anyhow!("meters"))?,
        sites: BoundedVec::new(Vec::new()).map_err(|_| anyhow::anyhow!("sites"))?,
        continues: Some(continues.clone()),
    };
    let snapshot = StateSnapshot {
        of: continues,
        entries,
    };
    let built = BuiltGenesis::from_continuation(genesis, &snapshot)
        .context("the new genesis is invalid")?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let genesis_path = args.out.join("genesis.json");
    let state_path = args.out.join("genesis.state");
    snapshot.write(&state_path)?;
    super::genesis_cmd::write_new(
        &genesis_path,
        &(serde_json::to_string_pretty(&built.genesis)? + "\n"),
    )?;
    println!(
        "wrote {} and {}",
        genesis_path.display(),
        state_path.display()
    );
    println!("new chain id        {}", built.chain_id);
    println!("new state root      {}", built.state_root);
    println!("continues chain     {}", snapshot.of.chain_id);
    println!("  at height         {}", snapshot.of.height);
    println!("  with state root   {}", snapshot.of.state_root);
    println!("authorities         {}", built.genesis.authorities.len());
    Ok(())
}
