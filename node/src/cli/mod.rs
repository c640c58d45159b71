//! The `watt` command line.

mod audit;
mod config;
pub use db::{verify_store, VerifyStoreError};
mod db;
mod fork;
mod genesis_cmd;
mod key;
pub mod rpc_args;
mod testnet;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Watt: a proof-of-authority chain for community energy credits.
#[derive(Parser, Debug)]
#[command(name = "watt", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a single-validator development chain with a simulated community.
    Dev {
        /// Data directory (default: a fresh temporary directory).
        #[arg(long, env = "WATT_BASE_PATH")]
        base_path: Option<PathBuf>,
        /// Wall time between blocks, e.g. `1s` or `500ms`.
        #[arg(long, default_value = "1s", value_parser = parse_duration)]
        block_time: Duration,
        /// Run without the simulated meters, sites and feeders.
        #[arg(long)]
        no_sim: bool,
        /// When the unregistered 300 kW load is first tapped into the
        /// ridge feeder (DEV-1/RIDGE), in hours after the chain's first hour
        /// (05:00 UTC of the day the chain was made): it runs 3 hours and
        /// comes back at the same time every simulated day. The chain flags
        /// it: an ALERT after 2 unexplained hours, cleared by the simulated
        /// regulator once an hour balances again.
        #[arg(long, value_name = "HOURS", default_value_t = 3)]
        tap_at: u64,
        /// Never tap the unregistered load into the ridge feeder.
        #[arg(long, conflicts_with = "tap_at")]
        no_tap: bool,
        /// When the grid operator's first curtailment window on
        /// DEV-1/NORTH starts, in hours after the chain's first hour
        /// (default: the first 18:00 UTC). It orders each window an hour
        /// ahead; NORTH-MINE keeps to its share and acknowledges, CREEK-MINE
        /// ignores it, gets a curtailment breach and is suspended until the
        /// regulator reinstates it three hours after the verdict.
        #[arg(long, value_name = "HOURS", value_parser = clap::value_parser!(u64).range(0..=87_600))]
        curtail_at: Option<u64>,
        /// Hours between curtailment windows.
        #[arg(long, value_name = "HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=8760))]
        curtail_every: u64,
        /// Each curtailment window's length in minutes (at most a day).
        #[arg(long, value_name = "MINUTES", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=1440))]
        curtail_minutes: u64,
        /// No curtailment orders.
        #[arg(long, conflicts_with_all = ["curtail_at", "curtail_every", "curtail_minutes"])]
        no_curtail: bool,
        /// Leave one dev site (its name as the terminal shows it, such as
        /// NORTH-MINE) to a controller outside the process: the simulator
        /// signs no readings or acknowledgements for it and writes its
        /// device and owner keys and its last reading to
        /// <base-path>/external-site.json (mode 0600). Needs --base-path.
        #[arg(long, value_name = "NAME")]
        external_site: Option<String>,
        /// How many times faster than the wall clock the chain clock runs.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        speed: u64,
        #[command(flatten)]
        rpc: rpc_args::RpcArgs,
    },
    /// Run a node from a config file (CLI flags and WATT_* variables override it).
    Run(config::RunArgs),
    /// Write a local network of validators: keys, genesis and one
    /// node.toml per node.
    Testnet(testnet::TestnetArgs),
    /// Create and inspect key files.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Build and inspect genesis documents.
    #[command(subcommand)]
    Genesis(genesis_cmd::GenesisCommand),
    /// Inspect a data directory (the node must be stopped).
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Check, export and import the chain.
    #[command(subcommand)]
    Chain(db::ChainCommand),
    /// Replay a chain from genesis, verify everything and write a report.
    Audit(audit::AuditArgs),
}

/// Parses `1s`, `500ms`, `2m` or a bare number of milliseconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "ms"), |i| s.split_at(i));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 1s or 500ms"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("{s:?}: unit must be ms, s or m")),
    };
    if d.is_zero() {
        return Err("duration must be above zero".into());
    }
    Ok(d)
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dev {
            base_path,
            block_time,
            no_sim,
            tap_at,
            no_tap,
            curtail_at,
            curtail_every,
            curtail_minutes,
            no_curtail,
            external_site,
            speed,
            rpc,
        } => {
            init_tracing("warn");
            runtime().and_then(|rt| {
                rt.block_on(crate::dev::run(crate::dev::DevOptions {
                    base_path,
                    block_time,
                    no_sim,
                    speed,
                    rpc: rpc.config(&rpc_args::RpcFileConfig::default(), true),
                    tap_at: (!no_tap).then_some(tap_at),
                    curtail: (!no_curtail).then_some(crate::dev::CurtailOptions {
                        at_hours: curtail_at,
                        every_hours: curtail_every,
                        minutes: curtail_minutes,
                    }),
                    external_site,
                }))
            })
        }
        Command::Run(args) => {
            init_tracing("info");
            runtime().and_then(|rt| rt.block_on(config::run(args)))
        }
        Command::Testnet(args) => testnet::run(args),
        Command::Key(cmd) => key::run(cmd),
        Command::Genesis(cmd) => genesis_cmd::run(cmd),
        Command::Db(cmd) => db::run_db(cmd),
        Command::Chain(cmd) => db::run_chain(cmd),
        Command::Audit(args) => audit::run_audit(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
