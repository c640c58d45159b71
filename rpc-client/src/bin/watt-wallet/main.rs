//! `watt-wallet`: keys, balances, transfers, retirements, history, site
//! status, feeders and grid alerts, the regulator's sandbox (permits and
//! curtailment), offline signing and submission, over a node's JSON-RPC.
//!
//! This file holds the command line and the dispatch; each command group
//! is a module under `watt-wallet/` with its own error type.

mod credits;
mod ctx;
mod curtail;
mod curtail_text;
mod error;
mod feeders;
mod feeders_text;
mod gov;
mod grid;
mod keys;
mod masks;
mod meters;
mod offline;
mod out;
mod permits;
mod power;
mod sandbox;
mod site_watch;
mod sites;
mod utc;
mod zones;

use clap::{Parser, Subcommand};
use ctx::{Ctx, Output};
use error::WalletError;
use std::path::PathBuf;
use std::process::ExitCode;
use watt_rpc_client::energy::Unit;

/// A wallet for Watt energy credits.
#[derive(Parser, Debug)]
#[command(
    name = "watt-wallet",
    version,
    about = "A wallet for Watt energy credits: keys, balances, transfers, retirements, site status, feeders and grid alerts, sandbox permits and curtailment, offline signing"
)]
struct Cli {
    /// The node's JSON-RPC URL.
    #[arg(
        long,
        env = "WATT_RPC_URL",
        default_value = "http://127.0.0.1:9944",
        global = true
    )]
    rpc_url: String,
    /// The keystore directory.
    #[arg(long, env = "WATT_KEYSTORE", global = true)]
    keystore: Option<PathBuf>,
    /// Read the passphrase from this environment variable instead of a prompt.
    #[arg(long, global = true, conflicts_with = "passphrase_file")]
    passphrase_env: Option<String>,
    /// Read the passphrase from this file (first line; owner-readable only).
    #[arg(long, global = true)]
    passphrase_file: Option<PathBuf>,
    /// `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value = "text", global = true)]
    output: Output,
    /// Show energy in `auto`, `wh`, `kwh` or `mwh`.
    #[arg(long, default_value = "auto", global = true)]
    unit: Unit,
    /// Do not send: try each transaction on the node's pending state
    /// (tx_dryRun) and print the events it would emit, or fail naming the
    /// rule it breaks.
    #[arg(long, global = true)]
    dry_run: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Manage keys in the encrypted keystore.
    #[command(subcommand)]
    Key(keys::KeyCommand),
    // balance, transfer, retire, history, nonce: top-level commands.
    #[command(flatten)]
    Credits(credits::CreditsCommand),
    /// A mining site: its run status, registration, shortfall settlement.
    #[command(subcommand)]
    Site(sites::SiteCommand),
    /// Generation meters (authorities and regulators).
    #[command(subcommand)]
    Meter(meters::MeterCommand),
    /// Governance proposals and votes (authorities and regulators).
    #[command(subcommand)]
    Gov(gov::GovCommand),
    /// Feeders: status, hourly energy balance; registration, attachments,
    /// alerts and resyncs (regulators).
    #[command(subcommand)]
    Feeder(feeders::FeederCommand),
    /// Grid integrity: unexplained-load alerts, once or followed; and
    /// curtailment orders (grid operators give and cancel them).
    #[command(subcommand)]
    Grid(grid::GridCommand),
    /// Sandbox permits: show and list them; issue and revoke them
    /// (regulators).
    #[command(subcommand)]
    Permit(permits::PermitCommand),
    /// A zone's sandbox: show it; set it (regulators).
    #[command(subcommand)]
    Zone(zones::ZoneCommand),
    // sign, send, submit: top-level commands.
    #[command(flatten)]
    Offline(offline::OfflineCommand),
}

/// Runs the command with its group.
async fn run(ctx: &Ctx, command: Command) -> Result<(), WalletError> {
    match command {
        Command::Key(cmd) => keys::run(ctx, cmd),
        Command::Credits(cmd) => credits::run(ctx, cmd).await,
        Command::Site(cmd) => sites::run(ctx, cmd).await,
        Command::Meter(cmd) => meters::run(ctx, cmd).await,
        Command::Gov(cmd) => gov::run(ctx, cmd).await,
        Command::Feeder(cmd) => feeders::run(ctx, cmd).await,
        Command::Grid(cmd) => grid::run(ctx, cmd).await,
        Command::Permit(cmd) => permits::run(ctx, cmd).await,
        Command::Zone(cmd) => zones::run(ctx, cmd).await,
        Command::Offline(cmd) => offline::run(ctx, cmd).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Ctx {
        rpc_url: cli.rpc_url,
        keystore: cli.keystore,
        passphrase_env: cli.passphrase_env,
        passphrase_file: cli.passphrase_file,
        output: cli.output,
        unit: cli.unit,
        dry_run: cli.dry_run,
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(&ctx, cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of a pipe went away (`site watch 2 | head -1`): what
        // it wanted it has, so end quietly.
        Err(WalletError::StdoutClosed) => ExitCode::SUCCESS,
        // Each message already names its cause (see `error`).
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
