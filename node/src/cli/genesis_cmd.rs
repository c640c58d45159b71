//! `watt genesis`.

use anyhow::Context;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use watt_genesis::{format_rfc3339, BuiltGenesis, GenesisSpec};
use watt_runtime::genesis::Genesis;

/// Genesis commands.
#[derive(Subcommand, Debug)]
pub enum GenesisCommand {
    /// Build a genesis document (JSON) from a TOML spec, checking every rule.
    New {
        /// The spec (see genesis/examples/community.toml).
        #[arg(long)]
        spec: PathBuf,
        /// Where to write the genesis JSON (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a genesis document and summarise it.
    Inspect {
        /// The genesis JSON.
        file: PathBuf,
    },
    /// Print a genesis document's chain id.
    Hash {
        /// The genesis JSON.
        file: PathBuf,
    },
}

/// Reads and checks a genesis JSON file.
pub fn load_genesis(path: &Path) -> anyhow::Result<BuiltGenesis> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading genesis {}", path.display()))?;
    let genesis: Genesis = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a Watt genesis document", path.display()))?;
    BuiltGenesis::from_genesis(genesis)
        .with_context(|| format!("genesis {} is invalid", path.display()))
}

/// Runs a genesis command.
pub fn run(cmd: GenesisCommand) -> anyhow::Result<()> {
    match cmd {
        GenesisCommand::New { spec, out } => {
            let built = GenesisSpec::from_file(&spec)?.build()?;
            let json = serde_json::to_string_pretty(&built.genesis)? + "\n";
            match out {
                Some(path) => {
                    std::fs::write(&path, json)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                    eprintln!("chain id {}", built.chain_id);
                }
                None => print!("{json}"),
            }
        }
        GenesisCommand::Inspect { file } => {
            let b = load_genesis(&file)?;
            let g = &b.genesis;
            println!("chain name   {}", g.chain_name);
            println!("chain id     {}", b.chain_id);
            println!("state root   {}", b.state_root);
            println!("time         {}", format_rfc3339(g.genesis_time_ms));
            println!("authorities  {}", g.authorities.len());
            for a in g.authorities.iter() {
                println!(
                    "  {:<20} operator {} consensus key {}",
                    a.name.as_str(),
                    a.operator,
                    a.consensus_key
                );
            }
            println!("regulators   {}", g.regulators.len());
            println!(
                "zones        {}",
                g.zones
                    .iter()
                    .map(|(z, _)| z.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!("meters       {}", g.meters.len());
            println!("sites        {}", g.sites.len());
        }
        GenesisCommand::Hash { file } => println!("{}", load_genesis(&file)?.chain_id),
    }
    Ok(())
}
