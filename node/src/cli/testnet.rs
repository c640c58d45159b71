//! `watt testnet`: a local network of validators (and full nodes) in one
//! directory, ready for `watt run --config DIR/<node>/node.toml`.

use super::genesis_cmd::{now_ms, write_new};
use crate::keys::{generate, write_key};
use anyhow::Context;
use clap::Args;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;
use watt_genesis::{format_rfc3339, AuthoritySpec, GenesisSpec, RegulatorSpec, ZoneSpec};
use watt_runtime::crypto::{Keypair, PublicKey};
use watt_runtime::types::{AccountId, ZoneId};

/// Flags of `watt testnet`.
#[derive(Args, Debug)]
pub struct TestnetArgs {
    /// How many validators.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100))]
    validators: u32,
    /// How many full nodes (followers that serve RPC) besides.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    full_nodes: u32,
    /// The directory to create (must not exist or be empty).
    #[arg(long)]
    out: PathBuf,
    /// First port: node i listens for peers on base+2i and serves RPC on
    /// base+2i+1. Default: free ports picked now.
    #[arg(long)]
    base_port: Option<u16>,
    /// The chain's name.
    #[arg(long, default_value = "watt-testnet")]
    chain_name: String,
    /// Wall time between blocks.
    #[arg(long, default_value = "1s", value_parser = super::parse_duration)]
    block_time: Duration,
    /// Short consensus timeouts (for tests on one machine).
    #[arg(long)]
    fast: bool,
}

struct Planned {
    name: String,
    validator: bool,
    identity: Keypair,
    p2p: SocketAddr,
    rpc: SocketAddr,
}

/// Free loopback ports, all held until every one is chosen so none repeats.
fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .context("picking free ports")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

fn key_into(dir: &Path, name: &str) -> anyhow::Result<Keypair> {
    let key = generate()?;
    write_key(&dir.join(name), &key)?;
    Ok(key)
}

/// Runs `watt testnet`.
pub fn run(args: TestnetArgs) -> anyhow::Result<()> {
    let out = &args.out;
    if out.exists() {
        anyhow::ensure!(
            out.read_dir()?.next().is_none(),
            "{} exists and is not empty",
            out.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let total = (args.validators + args.full_nodes) as usize;
    let ports: Vec<u16> = match args.base_port {
        Some(base) => {
            let last = base as usize + 2 * total;
            anyhow::ensure!(
                last <= u16::MAX as usize,
                "--base-port {base} leaves too few ports"
            );
            (0..2 * total).map(|i| base + i as u16).collect()
        }
        None => free_ports(2 * total)?,
    };
    let loopback = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let mut nodes = Vec::with_capacity(total);
    let mut authorities = Vec::new();
    for i in 0..total {
        let validator = i < args.validators as usize;
        let name = if validator {
            format!("validator-{}", i + 1)
        } else {
            format!("full-{}", i + 1 - args.validators as usize)
        };
        let dir = out.join(&name);
        std::fs::create_dir_all(&dir)?;
        let identity = key_into(&dir, "node.key")?;
        if validator {
            let consensus = key_into(&dir, "consensus.key")?;
            let operator = key_into(&dir, "operator.key")?;
            authorities.push(AuthoritySpec {
                name: name.clone(),
                operator: AccountId(operator.public()),
                consensus_key: consensus.public(),
            });
        }
        nodes.push(Planned {
            name,
            validator,
            identity,
            p2p: loopback(ports[2 * i]),
            rpc: loopback(ports[2 * i + 1]),
        });
    }
    let regulator = key_into(out, "regulator.key")?;
    let spec = GenesisSpec {
        chain_name: args.chain_name.clone(),
        genesis_time: format_rfc3339(now_ms()? / 1000 * 1000),
        params: Default::default(),
        authorities,
        regulators: vec![RegulatorSpec {
            name: "regulator".into(),
            account: AccountId(regulator.public()),
        }],
        zones: vec![ZoneSpec {
            id: ZoneId::new("TESTNET").map_err(|e| anyhow::anyhow!("zone: {e}"))?,
            policy: Default::default(),
        }],
        meters: Vec::new(),
        sites: Vec::new(),
    };
    let built = spec.build()?;
    write_new(&out.join("genesis.toml"), &spec.to_toml()?)?;
    write_new(
        &out.join("genesis.json"),
        &(serde_json::to_string_pretty(&built.genesis)? + "\n"),
    )?;
    let peers_of = |me: usize| -> Vec<String> {
        nodes
            .iter()
            .enumerate()
            .filter(|(j, n)| *j != me && n.validator)
            .map(|(_, n)| format!("{}@{}", n.p2p, n.identity.public()))
            .collect()
    };
    for (i, n) in nodes.iter().enumerate() {
        let peers = peers_of(i)
            .iter()
            .map(|p| format!("    \"{p}\","))
            .collect::<Vec<_>>()
            .join("\n");
        let consensus = if args.fast {
            "\n[consensus]\n# Short timeouts for a network on one machine.\npropose_ms = 400\nprevote_ms = 200\nprecommit_ms = 200\ndelta_ms = 100\ncap_ms = 2000\nrebroadcast_ms = 500\n"
        } else {
            ""
        };
        let (validator_key, first) = if n.validator {
            (
                "validator_key = \"consensus.key\"\n",
                "\n# The first time only (a new chain): watt run --config {path} --new-chain\n",
            )
        } else {
            ("# A full node: no validator_key.\n", "\n")
        };
        let first = first.replace(
            "{path}",
            &out.join(&n.name).join("node.toml").display().to_string(),
        );
        let toml = format!(
            "# {name} of {chain} (written by `watt testnet`).\n\
             # Start it with: watt run --config {path}{first}\
             base_path = \"data\"\n\
             genesis = \"../genesis.json\"\n\
             {validator_key}\
             block_time_ms = {block_ms}\n\
             \n\
             [network]\n\
             listen = \"{p2p}\"\n\
             node_key = \"node.key\"\n\
             # Identity: {identity}\n\
             peers = [\n{peers}\n]\n\
             \n\
             [rpc]\n\
             addr = \"{rpc}\"\n\
             {consensus}",
            name = n.name,
            chain = args.chain_name,
            path = out.join(&n.name).join("node.toml").display(),
            block_ms = args.block_time.as_millis(),
            p2p = n.p2p,
            identity = n.identity.public(),
            rpc = n.rpc,
        );
        write_new(&out.join(&n.name).join("node.toml"), &toml)?;
    }
    println!(
        "wrote a {}-validator network to {}",
        args.validators,
        out.display()
    );
    println!("chain id {}", built.chain_id);
    for n in &nodes {
        println!(
            "  {:<14} peers {}  rpc http://{}  identity {}",
            n.name,
            n.p2p,
            n.rpc,
            short(&n.identity.public())
        );
    }
    println!("start each with (--new-chain on a validator's first start only):");
    for n in &nodes {
        println!(
            "  watt run --config {}{}",
            out.join(&n.name).join("node.toml").display(),
            if n.validator { " --new-chain" } else { "" }
        );
    }
    Ok(())
}

fn short(k: &PublicKey) -> String {
    let s = k.to_string();
    format!("{}…", &s[..10.min(s.len())])
}
