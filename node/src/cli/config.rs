//! `watt run`: a node from a TOML config, with CLI flags over environment
//! variables over the file.

use crate::clock::SystemClock;
use crate::keys::read_key;
use crate::service::{Node, NodeConfig};
use anyhow::Context;
use clap::Args;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Flags of `watt run`; each overrides the config file.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The config file (TOML).
    #[arg(long, env = "WATT_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory.
    #[arg(long, env = "WATT_BASE_PATH")]
    base_path: Option<PathBuf>,
    /// Genesis document (JSON, from `watt genesis new`).
    #[arg(long, env = "WATT_GENESIS")]
    genesis: Option<PathBuf>,
    /// Consensus key file of a validator (omit for a full node).
    #[arg(long, env = "WATT_VALIDATOR_KEY")]
    validator_key: Option<PathBuf>,
    /// Wall time between blocks, e.g. `1s`.
    #[arg(long, env = "WATT_BLOCK_TIME", value_parser = super::parse_duration)]
    block_time: Option<Duration>,
    #[command(flatten)]
    rpc: super::rpc_args::RpcArgs,
}

/// The config file. Relative paths are relative to the file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Data directory.
    pub base_path: Option<PathBuf>,
    /// Genesis document.
    pub genesis: Option<PathBuf>,
    /// Consensus key file.
    pub validator_key: Option<PathBuf>,
    /// Block time in milliseconds.
    pub block_time_ms: Option<u64>,
    /// The JSON-RPC server.
    #[serde(default)]
    pub rpc: super::rpc_args::RpcFileConfig,
}

fn relative(base: &Path, p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        base.join(p)
    }
}

/// Runs a node until SIGINT or SIGTERM.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let (file, dir) = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config {}", path.display()))?;
            let cfg: FileConfig =
                toml::from_str(&text).with_context(|| format!("config {}", path.display()))?;
            (
                cfg,
                path.parent().map(Path::to_path_buf).unwrap_or_default(),
            )
        }
        None => (FileConfig::default(), PathBuf::new()),
    };
    let base_path = args
        .base_path
        .or(file.base_path.map(|p| relative(&dir, p)))
        .context("no base_path: give --base-path or set it in the config")?;
    let genesis_path = args
        .genesis
        .or(file.genesis.map(|p| relative(&dir, p)))
        .context("no genesis: give --genesis or set it in the config")?;
    let key_path = args
        .validator_key
        .or(file.validator_key.map(|p| relative(&dir, p)));
    let block_time = args
        .block_time
        .or(file.block_time_ms.map(Duration::from_millis))
        .unwrap_or(Duration::from_secs(1));
    let rpc_cfg = args.rpc.config(&file.rpc);
    let genesis = super::genesis_cmd::load_genesis(&genesis_path)?.genesis;
    let keys = match &key_path {
        Some(p) => vec![read_key(p)?],
        None => Vec::new(),
    };
    tracing::info!(base_path = %base_path.display(), chain = %genesis.chain_id(), validator = keys.first().map(|k| k.public().to_string()), "starting node");
    let node = Node::start(NodeConfig {
        base_path,
        genesis,
        validator_keys: keys,
        block_time,
        consensus: crate::consensus::Config::default(),
        mempool: crate::mempool::Config::default(),
        clock: Arc::new(SystemClock),
        network: None,
    })?;
    let handle = node.handle.clone();
    let rpc = match rpc_cfg {
        Some(cfg) => {
            let server = crate::rpc::start(cfg, handle.clone()).await?;
            tracing::info!(addr = %server.local_addr, "JSON-RPC listening (HTTP and WebSocket)");
            Some(server)
        }
        None => None,
    };
    let mut task = node.task;
    tokio::select! {
        r = &mut task => { r??; }
        _ = super::shutdown_signal() => {
            tracing::info!("shutting down");
            handle.shutdown().await;
            task.await??;
        }
    }
    if let Some(rpc) = rpc {
        let _ = rpc.handle.stop();
    }
    Ok(())
}
