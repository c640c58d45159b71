//! `watt genesis`.

use anyhow::Context;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use watt_genesis::{
    format_rfc3339, parse_rfc3339, AuthoritySpec, BuiltGenesis, GenesisSpec, RegulatorSpec,
    StateSnapshot, ZoneSpec,
};
use watt_runtime::crypto::PublicKey;
use watt_runtime::genesis::Genesis;
use watt_runtime::types::{AccountId, ZoneId};

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
        /// For a recovery fork: the old chain's state snapshot, checked
        /// against the document.
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Print a genesis document's chain id.
    Hash {
        /// The genesis JSON.
        file: PathBuf,
    },
    /// Start a genesis spec (TOML) with a chain name and time; add
    /// authorities, regulators and zones to it, then `watt genesis new`.
    Init {
        /// The spec file to create (refuses to overwrite).
        #[arg(long)]
        spec: PathBuf,
        /// The chain's name.
        #[arg(long)]
        chain_name: String,
        /// Genesis time, RFC 3339 UTC, or `now` (the first block must be
        /// later).
        #[arg(long, default_value = "now")]
        time: String,
    },
    /// Add an authority (validator and meter operator) to a spec, from its
    /// public keys.
    AddAuthority {
        /// The spec file.
        #[arg(long)]
        spec: PathBuf,
        /// A name, e.g. the operator's organisation.
        #[arg(long)]
        name: String,
        /// Its operator account (`watt1...` or 0x hex): signs governance
        /// votes and relays meter readings.
        #[arg(long, value_parser = parse_account)]
        operator: AccountId,
        /// Its consensus public key (0x hex, from `watt key inspect`).
        #[arg(long, value_parser = parse_key)]
        consensus_key: PublicKey,
    },
    /// Add a regulator account to a spec.
    AddRegulator {
        /// The spec file.
        #[arg(long)]
        spec: PathBuf,
        /// The regulator's account.
        #[arg(long, value_parser = parse_account)]
        account: AccountId,
        /// A name, for people reading the spec.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Add a zone with the default policy to a spec (edit the TOML to tune
    /// the policy).
    AddZone {
        /// The spec file.
        #[arg(long)]
        spec: PathBuf,
        /// The zone id, e.g. `RU-BU`.
        #[arg(long, value_parser = parse_zone)]
        id: ZoneId,
    },
    /// Recovery after more than a third of the authorities are lost for
    /// good: a new genesis continuing the old chain from its last finalised
    /// state, with a new authority set (see docs/operator-guide.md).
    Fork(super::fork::ForkArgs),
}

/// Reads a genesis JSON file without building its state.
pub fn read_genesis(path: &Path) -> anyhow::Result<Genesis> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading genesis {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a Watt genesis document", path.display()))
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

/// Reads a genesis document and, for a continuation (recovery fork), the
/// old chain's state snapshot it starts from; checks both.
pub fn load_genesis_with_state(
    path: &Path,
    state: Option<&Path>,
) -> anyhow::Result<(Genesis, Option<StateSnapshot>)> {
    let genesis = read_genesis(path)?;
    match (&genesis.continues, state) {
        (None, None) => {
            BuiltGenesis::from_genesis(genesis.clone())
                .with_context(|| format!("genesis {} is invalid", path.display()))?;
            Ok((genesis, None))
        }
        (Some(c), Some(state)) => {
            let snapshot = StateSnapshot::read(state)?;
            BuiltGenesis::from_continuation(genesis.clone(), &snapshot).with_context(|| {
                format!(
                    "genesis {} (continuing chain {} at height {}) with state {}",
                    path.display(),
                    c.chain_id,
                    c.height,
                    state.display()
                )
            })?;
            Ok((genesis, Some(snapshot)))
        }
        // Checked when a new data directory is created from it, which
        // needs the snapshot; an existing one has its state already.
        (Some(_), None) => Ok((genesis, None)),
        (None, Some(state)) => anyhow::bail!(
            "genesis {} continues no chain, but a state snapshot {} was given",
            path.display(),
            state.display()
        ),
    }
}

/// Parses an account (`watt1...` or 0x hex) for clap.
pub fn parse_account(s: &str) -> Result<AccountId, String> {
    AccountId::parse(s).map_err(|e| e.to_string())
}

/// Parses a 0x-hex public key for clap.
pub fn parse_key(s: &str) -> Result<PublicKey, String> {
    PublicKey::from_hex(s).map_err(|e| e.to_string())
}

fn parse_zone(s: &str) -> Result<ZoneId, String> {
    ZoneId::new(s).map_err(|e| e.to_string())
}

/// The wall clock in unix milliseconds.
pub fn now_ms() -> anyhow::Result<u64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64)
}

/// Writes a file that must not exist yet.
pub fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Reads a spec, changes it, checks that it still parses, and writes it
/// back through a temporary file.
fn edit_spec(
    path: &Path,
    change: impl FnOnce(&mut GenesisSpec) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut spec = GenesisSpec::from_file(path)?;
    change(&mut spec)?;
    let text = spec.to_toml()?;
    GenesisSpec::from_toml(&text)?;
    let tmp = path.with_extension("toml.partial");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    eprintln!("updated {}", path.display());
    Ok(())
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
        GenesisCommand::Inspect { file, state } => {
            let (g, snapshot) = load_genesis_with_state(&file, state.as_deref())?;
            println!("chain name   {}", g.chain_name);
            println!("chain id     {}", g.chain_id());
            match (&g.continues, snapshot) {
                (Some(c), None) => {
                    println!("continues    chain {} at height {}", c.chain_id, c.height);
                    println!("  old root   {}", c.state_root);
                    println!("state root   (give --state genesis.state to build and check it)");
                }
                (Some(c), Some(snapshot)) => {
                    let b = BuiltGenesis::from_continuation(g.clone(), &snapshot)?;
                    println!("continues    chain {} at height {}", c.chain_id, c.height);
                    println!("  old root   {} (the snapshot matches it)", c.state_root);
                    println!("state root   {}", b.state_root);
                }
                (None, _) => println!("state root   {}", load_genesis(&file)?.state_root),
            }
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
        GenesisCommand::Hash { file } => println!("{}", read_genesis(&file)?.chain_id()),
        GenesisCommand::Init {
            spec,
            chain_name,
            time,
        } => {
            let genesis_time = if time == "now" {
                format_rfc3339(now_ms()? / 1000 * 1000)
            } else {
                parse_rfc3339(&time).map_err(|e| anyhow::anyhow!("--time: {e}"))?;
                time
            };
            let new = GenesisSpec {
                chain_name,
                genesis_time,
                params: Default::default(),
                authorities: Vec::new(),
                regulators: Vec::new(),
                zones: Vec::new(),
                meters: Vec::new(),
                sites: Vec::new(),
            };
            watt_runtime::encoding::BoundedString::<64>::new(&new.chain_name)
                .map_err(|e| anyhow::anyhow!("--chain-name: {e}"))?;
            write_new(&spec, &new.to_toml()?)?;
            eprintln!("wrote {}", spec.display());
        }
        GenesisCommand::AddAuthority {
            spec,
            name,
            operator,
            consensus_key,
        } => edit_spec(&spec, |s| {
            anyhow::ensure!(
                !s.authorities
                    .iter()
                    .any(|a| a.operator == operator || a.consensus_key == consensus_key),
                "an authority with operator {operator} or consensus key {consensus_key} is already in the spec"
            );
            s.authorities.push(AuthoritySpec {
                name,
                operator,
                consensus_key,
            });
            Ok(())
        })?,
        GenesisCommand::AddRegulator {
            spec,
            account,
            name,
        } => edit_spec(&spec, |s| {
            anyhow::ensure!(
                !s.regulators.iter().any(|r| r.account == account),
                "regulator {account} is already in the spec"
            );
            s.regulators.push(RegulatorSpec { name, account });
            Ok(())
        })?,
        GenesisCommand::AddZone { spec, id } => edit_spec(&spec, |s| {
            anyhow::ensure!(
                !s.zones.iter().any(|z| z.id == id),
                "zone {id} is already in the spec"
            );
            s.zones.push(ZoneSpec {
                id,
                policy: Default::default(),
            });
            Ok(())
        })?,
        GenesisCommand::Fork(args) => super::fork::run(args)?,
    }
    Ok(())
}
