//! [`WalletError`]: why a `watt-wallet` command failed.
//!
//! The failures every command can meet (the keystore, the node, a shared
//! argument, a file) are variants here; each command group's own failures
//! are its module's error type, converted into a variant here. Every
//! message names its cause, as the library's errors do, so `main` prints
//! the top message alone.

use crate::credits::CreditsError;
use crate::feeders::FeederError;
use crate::gov::GovError;
use crate::grid::GridError;
use crate::keys::KeyError;
use crate::meters::MeterError;
use crate::offline::OfflineError;
use crate::sandbox::SandboxError;
use crate::sites::SiteError;
use std::path::PathBuf;
use watt_rpc_client::client::Error as RpcError;
use watt_rpc_client::keystore::KeystoreError;
use watt_runtime::encoding::TextError;
use watt_runtime::types::{AccountParseError, ZoneIdError};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// `--dry-run` found that the transaction breaks a rule.
    #[error("dry run: the transaction would break `{rule}`: {reason}; nothing was sent")]
    WouldBreak {
        /// The rule's name (camelCase).
        rule: String,
        /// Why, in words.
        reason: String,
    },
    /// No keystore directory was given and there is no home to default to.
    #[error("no HOME: give the keystore directory with --keystore or WATT_KEYSTORE")]
    NoHome,
    /// The keystore refused: no such key, a wrong passphrase, loose modes.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// The node could not be reached, or refused the call.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// Text that looks like an account address but is not one.
    #[error("account {input}: {source}")]
    BadAccount {
        /// What was given.
        input: String,
        /// Why it is not an account.
        source: AccountParseError,
    },
    /// Neither an account address nor the name of a key in the keystore.
    #[error("{input} is neither a watt1... account nor a key name: {source}")]
    UnknownAccount {
        /// What was given.
        input: String,
        /// The keystore's answer for it as a key name.
        source: KeystoreError,
    },
    /// A device serial over the bound.
    #[error("--serial: {0}")]
    BadSerial(#[source] TextError),
    /// A 32-byte value (a key, a chain id) that is not 0x hex of that length.
    #[error("--{field} must be 0x and 32 bytes of hex: {source}")]
    NotHex32 {
        /// The flag, without its dashes.
        field: &'static str,
        /// Why it does not decode.
        source: hex::FromHexError,
    },
    /// A grid zone id that is not well formed.
    #[error("--zone {given:?}: {source}")]
    BadZone {
        /// What was given.
        given: String,
        /// Why it is refused.
        source: ZoneIdError,
    },
    /// A file that could not be read.
    #[error("reading {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// A file that could not be written.
    #[error("writing {}: {source}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// A value that would not encode as JSON.
    #[error(transparent)]
    Encode(serde_json::Error),
    /// Stdout is a pipe whose reader has gone (`... | head -1`): `main`
    /// ends quietly on it.
    #[error("stdout was closed")]
    StdoutClosed,
    /// Stdout could not be written for another reason (a full disk).
    #[error("writing to stdout: {0}")]
    Stdout(std::io::Error),
    /// `key ...`.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// `balance`, `transfer`, `retire`, `history`, `nonce`.
    #[error(transparent)]
    Credits(#[from] CreditsError),
    /// `site ...`.
    #[error(transparent)]
    Site(#[from] SiteError),
    /// `meter ...`.
    #[error(transparent)]
    Meter(#[from] MeterError),
    /// `gov ...`.
    #[error(transparent)]
    Gov(#[from] GovError),
    /// `feeder ...`.
    #[error(transparent)]
    Feeder(#[from] FeederError),
    /// `grid ...`.
    #[error(transparent)]
    Grid(#[from] GridError),
    /// `zone ...`, `permit ...`, `grid curtail ...`, `site ack`.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// `sign`, `send`, `submit`.
    #[error(transparent)]
    Offline(#[from] OfflineError),
}
