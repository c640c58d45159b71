//! `watt dev`: a single-validator chain with a simulated community, on a
//! clock that runs `speed` times faster than the wall clock.

pub mod controller;
pub mod display;
pub mod external;
pub mod feeders;
pub mod genesis;
pub mod grid;
pub mod sandbox;
pub mod sim;
pub mod sites;

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
    /// The evening curtailment of DEV-1/NORTH; `None`: none.
    pub curtail: Option<CurtailOptions>,
    /// The dev site (its name, such as `NORTH-MINE`) left to an outside
    /// controller: the simulator signs nothing for it and writes its keys
    /// to `<base-path>/external-site.json`.
    pub external_site: Option<String>,
}

/// When the grid operator curtails DEV-1/NORTH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurtailOptions {
    /// The first window's start in hours after the chain's first hour;
    /// `None`: the first 18:00 UTC at or after it.
    pub at_hours: Option<u64>,
    /// Hours between windows.
    pub every_hours: u64,
    /// Each window's length in minutes (at most a day).
    pub minutes: u64,
}

impl CurtailOptions {
    /// The windows of a chain whose first hour is `first_hour`.
    pub fn plan(&self, first_hour: Hour) -> sandbox::CurtailPlan {
        let first = first_hour.start_seconds();
        let first_start = match self.at_hours {
            Some(h) => first.saturating_add(h.saturating_mul(3600)),
            None => {
                let evening = first / 86_400 * 86_400 + 18 * 3600;
                if evening >= first {
                    evening
                } else {
                    evening + 86_400
                }
            }
        };
        sandbox::CurtailPlan {
            first_start,
            every_s: self.every_hours.max(1) * 3600,
            length_s: self.minutes.clamp(1, 24 * 60) * 60,
        }
    }
}

/// Runs the dev chain until SIGINT or SIGTERM.
pub async fn run(opts: DevOptions) -> anyhow::Result<()> {
    let external = match &opts.external_site {
        None => None,
        Some(name) => {
            let names: Vec<&str> = genesis::DEV_SITES.iter().map(|s| s.0).collect();
            let id = genesis::dev_site_named(name).ok_or_else(|| {
                anyhow::anyhow!(
                    "--external-site {name}: not a dev site (one of {})",
                    names.join(", ")
                )
            })?;
            let base = opts.base_path.as_ref().ok_or_else(|| {
                anyhow::anyhow!(
                    "--external-site needs --base-path: the site's keys are written to <base-path>/{}",
                    external::FILE_NAME
                )
            })?;
            if opts.no_sim {
                anyhow::bail!(
                    "--external-site needs the simulated community (it is off with --no-sim)"
                );
            }
            Some((id, external::file_path(base)))
        }
    };
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
    let first_hour = Hour::of_millis(genesis.genesis_time_ms);
    let tap = opts.tap_at.map(|h| grid::Tap {
        first_hour: Hour(first_hour.0 + h),
    });
    let curtail = opts.curtail.map(|c| c.plan(first_hour));
    if opts.no_sim {
        println!("  community off (--no-sim)");
    } else {
        println!(
            "  community 3 meters (solar, wind, geothermal), 3 mining sites ({} joins in the first blocks)",
            genesis::JOINING_SITE.0
        );
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
        print_sandbox(first_hour, curtail.as_ref());
        if let Some((id, file)) = &external {
            println!(
                "  external  {}: no simulated readings or acknowledgements; its keys go to {}",
                genesis::dev_site(*id).map_or("?", |s| s.0),
                file.display()
            );
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
        Some(server) => {
            let dashboard = opts.rpc.as_ref().is_some_and(|r| r.dashboard);
            print_rpc_help(server.local_addr, chain_id, dashboard)
        }
        None => println!("  rpc       off (--no-rpc)\n"),
    }
    let handle = running.handle().clone();
    let mut blocks = handle.subscribe();
    let printer = tokio::spawn(async move {
        let mut printer = display::Printer::default();
        loop {
            match blocks.recv().await {
                Ok(c) => {
                    for line in printer.lines(&c) {
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
        // An order's least notice: four blocks of chain time.
        let block_ms = u64::try_from(opts.block_time.as_millis()).unwrap_or(u64::MAX);
        let notice_s = (block_ms.saturating_mul(opts.speed) * 4 / 1000).max(60);
        let sim_opts = sim::SimOptions {
            tap,
            curtail,
            first_hour,
            notice_s,
            external,
        };
        if let Some(community) = sim::Community::new(handle.clone(), clock.clone(), sim_opts).await
        {
            tokio::spawn(community.run(opts.block_time.max(Duration::from_millis(200))));
        }
    }
    let result = running.until_signal().await;
    printer.abort();
    result?;
    Ok(())
}

/// The permits and the curtailment windows.
fn print_sandbox(first_hour: Hour, curtail: Option<&sandbox::CurtailPlan>) {
    let permits: Vec<String> = sandbox::PERMITS
        .iter()
        .filter_map(|(id, w, hours)| {
            let name = genesis::dev_site(watt_runtime::types::SiteId(*id))?.0;
            Some(match hours {
                Some(h) => format!(
                    "{name} {} kW until {} UTC",
                    w / 1000,
                    feeders::hhmm(Hour(first_hour.0 + h))
                ),
                None => format!("{name} {} kW", w / 1000),
            })
        })
        .collect();
    println!(
        "  sandbox   permits required in {}: {}",
        genesis::ZONE,
        permits.join(", ")
    );
    match curtail {
        Some(p) => println!(
            "  curtail   {} {}-{} UTC every {} h, mining at most {} kW ({} ignores it), first {}",
            grid::FEEDERS[grid::NORTH].id,
            &watt_genesis::format_rfc3339(p.first_start * 1000)[11..16],
            &watt_genesis::format_rfc3339((p.first_start + p.length_s) * 1000)[11..16],
            p.every_s / 3600,
            sandbox::CURTAIL_MAX_W / 1000,
            genesis::JOINING_SITE.0,
            &watt_genesis::format_rfc3339(p.first_start * 1000)[..16],
        ),
        None => println!("  curtail   off (--no-curtail)"),
    }
}

/// The RPC address and a few commands to try.
fn print_rpc_help(
    addr: std::net::SocketAddr,
    chain_id: watt_runtime::crypto::Hash,
    dashboard: bool,
) {
    let url = format!("http://{addr}");
    println!("  rpc       {url} (HTTP) and ws://{addr} (WebSocket)");
    if dashboard {
        println!("  dashboard {url}/ (open it in a browser; --no-dashboard turns it off)");
    }
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
