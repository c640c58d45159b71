//! `watt key`.

use crate::keys::{generate, read_key, write_key};
use clap::Subcommand;
use std::path::PathBuf;
use watt_runtime::crypto::Hash;
use watt_runtime::tx::ProofOfPossession;
use watt_runtime::types::AccountId;

/// Key commands.
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Generate a new ed25519 key into a file readable by its owner only.
    Generate {
        /// Where to write it (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
    },
    /// Show a key file's public key and account address.
    Inspect {
        /// The key file.
        file: PathBuf,
    },
    /// Prove possession of a consensus key for an operator account on a
    /// chain: prints the `proof` an authority `add` or `rotate` proposal
    /// carries, as JSON.
    Prove {
        /// The consensus key file.
        #[arg(long)]
        key: PathBuf,
        /// The operator account the key will sign for.
        #[arg(long, value_parser = super::genesis_cmd::parse_account)]
        operator: AccountId,
        /// The chain id (`system_chainId`; after a recovery fork, the new
        /// chain's).
        #[arg(long, value_parser = parse_hash)]
        chain_id: Hash,
    },
}

fn parse_hash(s: &str) -> Result<Hash, String> {
    Hash::from_hex(s).map_err(|e| format!("not a 0x-prefixed 32-byte hex hash: {e}"))
}

/// Runs a key command.
pub fn run(cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Generate { out } => {
            let key = generate()?;
            write_key(&out, &key)?;
            println!("wrote {} (mode 0600)", out.display());
            println!("public key  {}", key.public());
            println!("account     {}", AccountId(key.public()));
        }
        KeyCommand::Prove {
            key,
            operator,
            chain_id,
        } => {
            let key = read_key(&key)?;
            let proof = ProofOfPossession::create(&chain_id, &operator, &key);
            println!(
                "{}",
                serde_json::to_string(&watt_rpc_client::view::ProofOfPossession::from(proof))?
            );
        }
        KeyCommand::Inspect { file } => {
            let key = read_key(&file)?;
            println!("public key  {}", key.public());
            println!("account     {}", AccountId(key.public()));
        }
    }
    Ok(())
}
