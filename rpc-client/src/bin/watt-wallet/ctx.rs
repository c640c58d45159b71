//! What the commands share: [`Ctx`] (the node, the keystore, the output
//! mode, signing and submitting), the wait mode, and the parsers for
//! account and device arguments.

use crate::error::WalletError;
use crate::out;
use clap::ValueEnum;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;
use watt_rpc_client::client::{Signer, WattClient};
use watt_rpc_client::energy::{self, Unit};
use watt_rpc_client::keystore::{Keystore, PassphraseSource};
use watt_rpc_client::types::TxLocation;
use watt_rpc_client::view::Event;
use watt_runtime::crypto::{Hash, Keypair, PublicKey};
use watt_runtime::tx::{Body, Serial, Transaction};
use watt_runtime::types::{AccountId, Wh, ZoneId};

/// How results are printed (`--output`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// How long a command that submits a transaction waits (`--wait`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Wait {
    /// Return once the node accepted it into its mempool.
    None,
    /// Wait until it is in a finalised block.
    Finalized,
}

/// A metering device: serial, key, zone and baseline.
#[derive(clap::Args, Debug)]
pub struct DeviceArgs {
    /// The device's serial number.
    #[arg(long)]
    pub serial: String,
    /// The device's signing key (0x, 32 bytes).
    #[arg(long)]
    pub device_key: String,
    /// The grid zone.
    #[arg(long)]
    pub zone: String,
    /// Unix seconds of the baseline counter.
    #[arg(long)]
    pub baseline_time: u64,
    /// The counter at the baseline.
    #[arg(long, value_parser = energy::parse, default_value = "0")]
    pub baseline_counter: Wh,
}

/// The global flags every command runs with.
pub struct Ctx {
    /// The node's JSON-RPC URL.
    pub rpc_url: String,
    /// The keystore directory; `~/.watt/keystore` when not given.
    pub keystore: Option<PathBuf>,
    /// The environment variable holding the passphrase.
    pub passphrase_env: Option<String>,
    /// The file holding the passphrase.
    pub passphrase_file: Option<PathBuf>,
    /// Text or JSON.
    pub output: Output,
    /// The unit energy is shown in.
    pub unit: Unit,
    /// Try transactions on the node's pending state instead of sending
    /// them (`--dry-run`).
    pub dry_run: bool,
}

impl Ctx {
    /// A client for the node.
    pub fn client(&self) -> Result<WattClient, WalletError> {
        Ok(WattClient::new(&self.rpc_url)?)
    }

    /// The keystore, created if it does not exist yet.
    pub fn keystore(&self) -> Result<Keystore, WalletError> {
        let dir = match &self.keystore {
            Some(d) => d.clone(),
            None => {
                let home = std::env::var_os("HOME").ok_or(WalletError::NoHome)?;
                PathBuf::from(home).join(".watt").join("keystore")
            }
        };
        Ok(Keystore::open(&dir)?)
    }

    /// The passphrase, wiped from memory when dropped.
    pub fn passphrase(&self, confirm: bool) -> Result<zeroize::Zeroizing<String>, WalletError> {
        let source = match (&self.passphrase_env, &self.passphrase_file) {
            (Some(var), _) => PassphraseSource::Env(var.clone()),
            (None, Some(file)) => PassphraseSource::File(file.clone()),
            (None, None) => PassphraseSource::Prompt { confirm },
        };
        Ok(zeroize::Zeroizing::new(
            watt_rpc_client::keystore::read_passphrase(source)?,
        ))
    }

    /// A `watt1...` account, or a key's account.
    pub fn account(&self, s: &str) -> Result<AccountId, WalletError> {
        if s.starts_with("watt1") || s.starts_with("0x") {
            return AccountId::parse(s).map_err(|source| WalletError::BadAccount {
                input: s.to_string(),
                source,
            });
        }
        Ok(self
            .keystore()?
            .public(s)
            .map_err(|source| WalletError::UnknownAccount {
                input: s.to_string(),
                source,
            })?
            .account)
    }

    /// Prints `value` as JSON, or `text()` for people.
    pub fn print<T: Serialize>(
        &self,
        value: &T,
        text: impl FnOnce() -> String,
    ) -> Result<(), WalletError> {
        match self.output {
            Output::Json => {
                out::line(&serde_json::to_string_pretty(value).map_err(WalletError::Encode)?)
            }
            Output::Text => out::line(&text()),
        }
    }

    /// Prints a line for people, and nothing with `--output json`.
    pub fn say(&self, text: impl FnOnce() -> String) -> Result<(), WalletError> {
        match self.output {
            Output::Json => Ok(()),
            Output::Text => out::line(&text()),
        }
    }

    /// An amount of energy in the chosen unit.
    pub fn energy(&self, w: Wh) -> String {
        energy::format(w, self.unit)
    }

    /// The key `name` unlocked, the node's chain id and the client.
    pub async fn unlock(&self, name: &str) -> Result<(Keypair, Hash, WattClient), WalletError> {
        let client = self.client()?;
        let key = self.keystore()?.unlock(name, &self.passphrase(false)?)?;
        let chain_id = client.chain_id().await?;
        Ok((key, chain_id, client))
    }

    /// Signs `body` with the key `from` and its next nonce, and submits it.
    pub async fn send(&self, from: &str, body: Body, wait: Wait) -> Result<(), WalletError> {
        let (key, chain_id, client) = self.unlock(from).await?;
        let sent = self
            .sign_and_submit(&client, Signer::new(key, chain_id), body, wait)
            .await?;
        self.print(&sent, || sent.text())
    }

    /// Signs `body` with `signer` and its next nonce and submits it,
    /// printing nothing: the caller says what happened.
    pub async fn sign_and_submit(
        &self,
        client: &WattClient,
        signer: Signer,
        body: Body,
        wait: Wait,
    ) -> Result<Sent, WalletError> {
        let nonce = client.next_nonce(signer.account()).await?;
        let tx = signer.sign(nonce, body);
        self.submit_quietly(client, &tx, wait).await
    }

    /// Submits a signed transaction and prints its id (and, when waiting,
    /// where it was finalised).
    pub async fn submit(
        &self,
        client: &WattClient,
        tx: &Transaction,
        wait: Wait,
    ) -> Result<(), WalletError> {
        let sent = self.submit_quietly(client, tx, wait).await?;
        self.print(&sent, || sent.text())
    }

    /// Submits a signed transaction, waiting as `wait` says; with
    /// `--dry-run`, tries it instead and fails naming the rule it breaks.
    async fn submit_quietly(
        &self,
        client: &WattClient,
        tx: &Transaction,
        wait: Wait,
    ) -> Result<Sent, WalletError> {
        let hash = tx.hash();
        if self.dry_run {
            let tried = client.dry_run(tx).await?;
            if !tried.ok {
                return Err(WalletError::WouldBreak {
                    rule: tried.rule.unwrap_or_default(),
                    reason: tried.reason.unwrap_or_default(),
                });
            }
            return Ok(Sent {
                hash,
                location: None,
                dry_run: Some(tried.events.unwrap_or_default()),
            });
        }
        let location = match wait {
            Wait::None => {
                client.submit(tx).await?;
                None
            }
            Wait::Finalized => Some(client.submit_and_wait(tx, Duration::from_secs(120)).await?),
        };
        Ok(Sent {
            hash,
            location,
            dry_run: None,
        })
    }
}

/// A submitted transaction: its id and, when the wallet waited, where it
/// was finalised; or, with `--dry-run`, the events it would emit.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    /// The transaction id.
    pub hash: Hash,
    /// Its block and index, once finalised.
    pub location: Option<TxLocation>,
    /// With `--dry-run`: the events it would emit (it was not sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<Vec<Event>>,
}

impl Sent {
    /// `finalized: ...` with the block, `submitted: ...`, or what a dry
    /// run found.
    pub fn text(&self) -> String {
        let hash = self.hash;
        if let Some(events) = &self.dry_run {
            let kinds: Vec<String> = events.iter().map(event_kind).collect();
            let kinds = if kinds.is_empty() {
                "none".to_string()
            } else {
                kinds.join(", ")
            };
            return format!("dry run: {hash} would apply; nothing was sent\n  events: {kinds}");
        }
        match &self.location {
            Some(l) => format!(
                "finalized: {hash}\n  block {} (height {}), index {}",
                l.block_hash, l.height, l.index
            ),
            None => format!("submitted: {hash}"),
        }
    }
}

/// An event's `kind`, as the JSON names it.
pub fn event_kind(e: &Event) -> String {
    serde_json::to_value(e)
        .ok()
        .and_then(|v| v.get("kind")?.as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// `--serial`.
pub fn serial(s: &str) -> Result<Serial, WalletError> {
    Serial::try_from(s.to_string()).map_err(WalletError::BadSerial)
}

/// `--device-key`: 32 bytes of 0x hex.
pub fn key(s: &str) -> Result<PublicKey, WalletError> {
    public_key("device-key", s)
}

/// A public key given as the flag `--field`: 32 bytes of 0x hex.
pub fn public_key(field: &'static str, s: &str) -> Result<PublicKey, WalletError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.strip_prefix("0x").unwrap_or(s), &mut out)
        .map_err(|source| WalletError::NotHex32 { field, source })?;
    Ok(PublicKey(out))
}

/// `--zone`.
pub fn zone(s: &str) -> Result<ZoneId, WalletError> {
    ZoneId::new(s).map_err(|source| WalletError::BadZone {
        given: s.to_string(),
        source,
    })
}

/// A `watt1...` account given as a flag (clap's value parser).
pub fn parse_account(s: &str) -> Result<AccountId, String> {
    AccountId::parse(s).map_err(|e| format!("{s:?} is not a watt1... account: {e}"))
}
