//! `watt run`: a node from a TOML config, with CLI flags over environment
//! variables over the file.

use crate::clock::SystemClock;
use crate::keys::read_key;
use crate::launch::{launch, Launch};
use crate::network::peers::{NetConfig, PeerAddr};
use crate::service::record::SigningRecord;
use crate::service::{NodeConfig, SigningConfig};
use anyhow::Context;
use clap::Args;
use serde::Deserialize;
use std::net::SocketAddr;
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
    /// The old chain's state snapshot, for a genesis that continues a chain
    /// (from `watt genesis fork`); needed only to create the data directory.
    #[arg(long, env = "WATT_GENESIS_STATE")]
    genesis_state: Option<PathBuf>,
    /// Peer-to-peer listen address, e.g. `0.0.0.0:30333`.
    #[arg(long, env = "WATT_LISTEN")]
    listen: Option<SocketAddr>,
    /// The node's network identity key file (ed25519; `watt key generate`).
    #[arg(long, env = "WATT_NODE_KEY")]
    node_key: Option<PathBuf>,
    /// A peer to keep connected, `address@0xkey` (repeat; replaces the
    /// config's list).
    #[arg(long = "peer", value_name = "ADDRESS@KEY")]
    peers: Vec<PeerAddr>,
    /// The first start of a validator on a new chain: sign from height 1
    /// without a signing record. Without it a validator that has no record
    /// (beside its key, `<validator_key>.<chain>.signing`) signs nothing until it
    /// has seen the chain decide a height without it, so that a wiped or
    /// restored machine can never sign twice. Refused once this validator
    /// has seen any height decided.
    #[arg(long)]
    new_chain: bool,
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
    /// The old chain's state snapshot (a recovery fork's genesis only).
    pub genesis_state: Option<PathBuf>,
    /// The JSON-RPC server.
    #[serde(default)]
    pub rpc: super::rpc_args::RpcFileConfig,
    /// The peer network (absent: a lone node).
    pub network: Option<NetworkFileConfig>,
    /// Consensus timeouts.
    #[serde(default)]
    pub consensus: ConsensusFileConfig,
}

/// The `[network]` table.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct NetworkFileConfig {
    /// Where to listen for peers.
    pub listen: Option<SocketAddr>,
    /// The identity key file.
    pub node_key: Option<PathBuf>,
    /// Peers to keep connected, `address@0xkey`.
    #[serde(default)]
    pub peers: Vec<String>,
    /// Most inbound peers that are not configured (followers).
    pub max_followers: Option<usize>,
    /// How long a misbehaving peer stays banned, in seconds.
    pub ban_seconds: Option<u64>,
}

/// The `[consensus]` table: timeouts in milliseconds. A round's timeout is
/// `base + round * delta`, at most `cap`.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ConsensusFileConfig {
    /// Propose timeout of round 0 (default 1000).
    pub propose_ms: Option<u64>,
    /// Prevote timeout of round 0 (default 500).
    pub prevote_ms: Option<u64>,
    /// Precommit timeout of round 0 (default 500).
    pub precommit_ms: Option<u64>,
    /// Added per round to each timeout (default 500 for propose, 250 for
    /// the votes).
    pub delta_ms: Option<u64>,
    /// The longest a timeout grows (default 10 000 for propose, 5000 for
    /// the votes).
    pub cap_ms: Option<u64>,
    /// How often the last votes are sent again (default 2000).
    pub rebroadcast_ms: Option<u64>,
}

impl ConsensusFileConfig {
    /// The timeouts, defaults where not set.
    pub fn config(&self) -> anyhow::Result<crate::consensus::Config> {
        let mut c = crate::consensus::Config::default();
        let ms = Duration::from_millis;
        for (name, v) in [
            ("propose_ms", self.propose_ms),
            ("prevote_ms", self.prevote_ms),
            ("precommit_ms", self.precommit_ms),
            ("cap_ms", self.cap_ms),
            ("rebroadcast_ms", self.rebroadcast_ms),
        ] {
            anyhow::ensure!(v != Some(0), "[consensus] {name} must be above zero");
        }
        if let Some(v) = self.propose_ms {
            c.propose.base = ms(v);
        }
        if let Some(v) = self.prevote_ms {
            c.prevote.base = ms(v);
        }
        if let Some(v) = self.precommit_ms {
            c.precommit.base = ms(v);
        }
        if let Some(v) = self.delta_ms {
            c.propose.delta = ms(v);
            c.prevote.delta = ms(v);
            c.precommit.delta = ms(v);
        }
        if let Some(v) = self.cap_ms {
            c.propose.cap = ms(v);
            c.prevote.cap = ms(v);
            c.precommit.cap = ms(v);
        }
        if let Some(v) = self.rebroadcast_ms {
            c.rebroadcast = ms(v);
        }
        for g in [&c.propose, &c.prevote, &c.precommit] {
            anyhow::ensure!(
                g.cap >= g.base,
                "[consensus] cap_ms ({:?}) is below a base timeout ({:?})",
                g.cap,
                g.base
            );
        }
        Ok(c)
    }
}

/// The default peer-to-peer port.
pub const DEFAULT_P2P_PORT: u16 = 30333;

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
    let rpc_cfg = args.rpc.config(&file.rpc, false);
    let state_path = args
        .genesis_state
        .or(file.genesis_state.map(|p| relative(&dir, p)));
    let (genesis, genesis_state) =
        super::genesis_cmd::load_genesis_with_state(&genesis_path, state_path.as_deref())?;
    let keys = match &key_path {
        Some(p) => vec![read_key(p)?],
        None => Vec::new(),
    };
    anyhow::ensure!(
        !args.new_chain || key_path.is_some(),
        "--new-chain is for validators (it lets a validator sign without a signing record); this node has no validator_key"
    );
    let signing = key_path.as_ref().map(|p| SigningConfig {
        record: SigningRecord::path_for_key(p, &genesis.chain_id()),
        new_chain: args.new_chain,
    });
    let consensus = file.consensus.config()?;
    let net_file = file.network.unwrap_or_default();
    let listen = args.listen.or(net_file.listen);
    let node_key = args
        .node_key
        .or(net_file.node_key.map(|p| relative(&dir, p)));
    let peers: Vec<PeerAddr> = if args.peers.is_empty() {
        net_file
            .peers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                p.parse()
                    .map_err(|e| anyhow::anyhow!("[network] peers[{i}]: {e}"))
            })
            .collect::<anyhow::Result<_>>()?
    } else {
        args.peers
    };
    let network = match (listen, node_key) {
        (None, None) if peers.is_empty() => None,
        (listen, Some(key)) => {
            let identity = read_key(&key).context("[network] node_key")?;
            let listen = listen.unwrap_or(SocketAddr::from((
                [127, 0, 0, 1],
                DEFAULT_P2P_PORT,
            )));
            let mut cfg = NetConfig::new(listen, identity, genesis.chain_id(), peers);
            if let Some(n) = net_file.max_followers {
                cfg.max_followers = n;
            }
            if let Some(s) = net_file.ban_seconds {
                cfg.ban_for = Duration::from_secs(s);
            }
            Some(cfg)
        }
        (_, None) => anyhow::bail!(
            "[network] needs node_key, the node's identity key file (create one with `watt key generate --out node.key`)"
        ),
    };
    tracing::info!(base_path = %base_path.display(), chain = %genesis.chain_id(), validator = keys.first().map(|k| k.public().to_string()), "starting node");
    let running = launch(Launch {
        node: NodeConfig {
            base_path,
            genesis,
            validator_keys: keys,
            block_time,
            consensus,
            mempool: crate::mempool::Config::default(),
            clock: Arc::new(SystemClock),
            network: None,
            genesis_state: genesis_state.map(Arc::new),
            signing,
        },
        network,
        rpc: rpc_cfg,
    })
    .await?;
    running.until_signal().await?;
    Ok(())
}
