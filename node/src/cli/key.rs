//! `watt key`.

use crate::keys::{generate, read_key, write_key};
use clap::Subcommand;
use std::path::PathBuf;
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
        KeyCommand::Inspect { file } => {
            let key = read_key(&file)?;
            println!("public key  {}", key.public());
            println!("account     {}", AccountId(key.public()));
        }
    }
    Ok(())
}
