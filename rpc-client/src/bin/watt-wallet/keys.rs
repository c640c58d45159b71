//! `key ...`: generate, import, list and show keys in the encrypted
//! keystore.

use crate::ctx::Ctx;
use crate::error::WalletError;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use watt_rpc_client::keystore::KdfParams;

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create a new key.
    Generate {
        /// Its name in the keystore.
        name: String,
    },
    /// Import a 32-byte seed (0x hex) from a file.
    Import {
        /// Its name in the keystore.
        name: String,
        /// A file holding the seed as 0x hex (owner-readable only).
        #[arg(long)]
        seed_file: PathBuf,
    },
    /// List the keys (no passphrase needed).
    List,
    /// Print a key's account and public key.
    ExportPublic {
        /// The key's name.
        name: String,
    },
}

/// Why a `key` command failed, beyond the keystore's own refusals.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A seed file that others may read.
    #[error(
        "{} is readable by others (mode {mode:o}); run `chmod 600 {}` first",
        .path.display(),
        .path.display()
    )]
    LoosePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A seed file that does not hold 32 bytes of 0x hex.
    #[error("{}: not a 32-byte 0x hex seed: {source}", .path.display())]
    BadSeed {
        /// The file.
        path: PathBuf,
        /// Why it does not decode.
        source: hex::FromHexError,
    },
}

/// Runs a `key` command.
pub fn run(ctx: &Ctx, cmd: KeyCommand) -> Result<(), WalletError> {
    let ks = ctx.keystore()?;
    match cmd {
        KeyCommand::Generate { name } => {
            let pass = ctx.passphrase(true)?;
            let info = ks.generate(&name, &pass, KdfParams::default())?;
            ctx.print(&info, || format!("created {}: {}", info.name, info.account))?;
        }
        KeyCommand::Import { name, seed_file } => {
            refuse_loose(&seed_file)?;
            let text = std::fs::read_to_string(&seed_file).map_err(|source| WalletError::Read {
                path: seed_file.clone(),
                source,
            })?;
            let raw = text.trim();
            let mut seed = [0u8; 32];
            hex::decode_to_slice(raw.strip_prefix("0x").unwrap_or(raw), &mut seed).map_err(
                |source| KeyError::BadSeed {
                    path: seed_file.clone(),
                    source,
                },
            )?;
            let pass = ctx.passphrase(true)?;
            let info = ks.import(&name, seed, &pass, KdfParams::default())?;
            ctx.print(&info, || {
                format!("imported {}: {}", info.name, info.account)
            })?;
        }
        KeyCommand::List => {
            let keys = ks.list()?;
            ctx.print(&keys, || {
                if keys.is_empty() {
                    "no keys yet: watt-wallet key generate <name>".into()
                } else {
                    keys.iter()
                        .map(|k| format!("{:<20} {}", k.name, k.account))
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            })?;
        }
        KeyCommand::ExportPublic { name } => {
            let info = ks.public(&name)?;
            ctx.print(&info, || {
                format!(
                    "account    {}\npublic key {}",
                    info.account, info.public_key
                )
            })?;
        }
    }
    Ok(())
}

/// A secret file must be readable by its owner only.
fn refuse_loose(path: &Path) -> Result<(), WalletError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| WalletError::Read {
            path: path.to_path_buf(),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::LoosePermissions {
            path: path.to_path_buf(),
            mode: mode & 0o777,
        }
        .into());
    }
    Ok(())
}
