//! `watt dev`: a single-validator chain with a simulated community, on a
//! clock that runs `speed` times faster than the wall clock.

pub mod display;
pub mod feeders;
pub mod genesis;
pub mod grid;
pub mod sim;

use crate::clock::{Clock, ScaledClock};
use crate::consensus;
use crate::launch::{launch, Launch};
use crate::mempool;
use crate::service::{NodeConfig, SigningConfig};
use crate::storage::{BlockReader, Store};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use watt_runtime::types::Hour;

/// Options of `watt dev`.
#[derive(Clone, Debug)]
pub struct DevOptions {
    /// The data directory; a fresh temporary one if `None`.
    pub base_path: Option<PathBuf>,
    /// Wall time between blocks.
    pub block_time: Duration,
    /// Run without the simulated community.
    pub no_sim: bool,
    /// How many times faster than the wall clock the chain clock runs.
    pub speed: u64,
    /// The RPC server (none: no RPC).
    pub rpc: Option<crate::rpc::RpcConfig>,
    /// Hours after the chain's first hour at which the unregistered load
    /// is first tapped into the ridge feeder (then daily); `None`: never.
    pub tap_at: Option<u64>,
}

/// Runs the dev chain until SIGINT or SIGTERM.
pub async fn run(opts: DevOptions) -> anyhow::Result<()> {
    let (base_path, _tmp) = match &opts.base_path {
        Some(p) => (p.clone(), None),
        None => {
            let t = tempfile::Builder::new().prefix("watt-dev-").tempdir()?;
            (t.path().join("chain"), Some(t))
        }
    };
    // A new chain starts at 05:00 UTC of today, an hour before sunrise in the
    // simulation; an existing one resumes from its last block's time.
    let wall_ms = crate::clock::SystemClock.now_ms();
    let today_5am = wall_ms / 86_400_000 * 86_400_000 + 5 * 3_600_000;
    let existing = Store::schema_version(&base_path)?.is_some();
    let (genesis, start_ms) = if existing {
        let store = Store::open_existing(&base_path)?;
        let genesis = store
            .genesis()?
            .ok_or_else(|| anyhow::anyhow!("data directory has no genesis"))?;
        let head = store.head()?;
        let t = if head.0 == 0 {
            genesis.genesis_time_ms
        } else {
            store
                .header(head)?
                .map_or(genesis.genesis_time_ms, |h| h.timestamp_ms)
        };
        (genesis, t)
    } else {
        let built = genesis::dev_genesis(today_5am)?;
        (built.genesis, today_5am)
    };
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(start_ms + 1, opts.speed));
    println!("Watt dev chain {}", genesis.chain_id());
    println!("  data      {}", base_path.display());
    println!(
        "  clock     {}x wall time, starting {}",
        opts.speed,
        watt_genesis::format_rfc3339(start_ms)
    );
    let tap = opts.tap_at.map(|h| grid::Tap {
        first_hour: Hour(Hour::of_millis(genesis.genesis_time_ms).0 + h),
    });
    if opts.no_sim {
        println!("  community off (--no-sim)");
    } else {
        println!("  community 3 meters (solar, wind, geothermal), 2 mining sites");
        let ids: Vec<&str> = grid::FEEDERS.iter().map(|f| f.id).collect();
        println!(
            "  feeders   {} (head meters, household declared load)",
            ids.join(", ")
        );
        match tap {
            Some(t) => println!(
                "  tap       an unregistered {} kW load on {} for {} h daily from {} UTC, first {}",
                grid::TAP_W / 1000,
                grid::FEEDERS[grid::RIDGE].id,
                grid::TAP_HOURS,
                feeders::hhmm(t.first_hour),
                &watt_genesis::format_rfc3339(t.first_hour.0 * 3_600_000)[..16],
            ),
            None => println!("  tap       off (--no-tap)"),
        }
    }
    println!();
    let chain_id = genesis.chain_id();
    let running = launch(Launch {
        node: NodeConfig {
            base_path: base_path.clone(),
            genesis,
            validator_keys: vec![genesis::validator_key()],
            block_time: opts.block_time,
            consensus: consensus::Config::default(),
            mempool: mempool::Config::default(),
            clock: clock.clone(),
            network: None,
            genesis_state: None,
            // The dev validator's record sits beside its data directory; a
            // new dev chain is a new chain.
            signing: Some(SigningConfig {
                record: base_path.with_extension("signing"),
                new_chain: !existing,
            }),
        },
        network: None,
        rpc: opts.rpc.clone(),
    })
    .await?;
    match &running.rpc {
        Some(server) => print_rpc_help(server.local_addr, chain_id),
        None => println!("  rpc       off (--no-rpc)\n"),
    }
    let handle = running.handle().clone();
    let mut blocks = handle.subscribe();
    let printer = tokio::spawn(async move {
        loop {
            match blocks.recv().await {
                Ok(c) => {
                    for line in display::block_lines(&c) {
                        println!("{line}");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    println!("   ({n} blocks not shown)")
                }
                Err(_) => return,
            }
        }
    });
    if !opts.no_sim {
        if let Some(community) = sim::Community::new(handle.clone(), clock.clone(), tap).await {
            tokio::spawn(community.run(opts.block_time.max(Duration::from_millis(200))));
        }
    }
    let result = running.until_signal().await;
    printer.abort();
    result?;
    Ok(())
}

/// The RPC address and a few commands to try.
fn print_rpc_help(addr: std::net::SocketAddr, chain_id: watt_runtime::crypto::Hash) {
    let url = format!("http://{addr}");
    println!("  rpc       {url} (HTTP) and ws://{addr} (WebSocket)");
    println!("            try:");
    println!(
        "    curl -s {url} -H 'content-type: application/json' -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"chain_getFinalizedHead\"}}'"
    );
    println!(
        "    curl -s {url} -H 'content-type: application/json' -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sites_canRun\",\"params\":[2]}}'"
    );
    println!(
        "    curl -s {url} -H 'content-type: application/json' -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"credits_getSupply\"}}'"
    );
    println!("    curl -s {url}/health/ready");
    println!("    curl -s {url}/metrics");
    println!("            audit it (from another terminal):");
    println!("    watt audit --source ws://{addr} --chain-id {chain_id} --out audit-report");
    println!();
}
