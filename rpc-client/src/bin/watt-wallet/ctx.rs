//! What the commands share: [`Ctx`] (the node, the keystore, the output
//! mode, signing and submitting), the wait mode, and the parsers for
//! account and device arguments.

use crate::error::WalletError;
use clap::ValueEnum;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;
use watt_rpc_client::client::{Signer, WattClient};
use watt_rpc_client::energy::{self, Unit};
use watt_rpc_client::keystore::{Keystore, PassphraseSource};
use watt_rpc_client::types::TxLocation;
use watt_runtime::crypto::{Hash, PublicKey};
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
            Output::Json => println!(
                "{}",
                serde_json::to_string_pretty(value).map_err(WalletError::Encode)?
            ),
            Output::Text => println!("{}", text()),
        }
        Ok(())
    }

    /// An amount of energy in the chosen unit.
    pub fn energy(&self, w: Wh) -> String {
        energy::format(w, self.unit)
    }

    /// The key `name` unlocked for the node's chain, and the client.
    async fn signer(&self, name: &str) -> Result<(Signer, WattClient), WalletError> {
        let client = self.client()?;
        let key = self.keystore()?.unlock(name, &self.passphrase(false)?)?;
        let chain_id = client.chain_id().await?;
        Ok((Signer::new(key, chain_id), client))
    }

    /// Signs `body` with the key `from` and its next nonce, and submits it.
    pub async fn send(&self, from: &str, body: Body, wait: Wait) -> Result<(), WalletError> {
        let (signer, client) = self.signer(from).await?;
        let nonce = client.next_nonce(signer.account()).await?;
        let tx = signer.sign(nonce, body);
        self.submit(&client, &tx, wait).await
    }

    /// Submits a signed transaction and prints its id (and, when waiting,
    /// where it was finalised).
    pub async fn submit(
        &self,
        client: &WattClient,
        tx: &Transaction,
        wait: Wait,
    ) -> Result<(), WalletError> {
        let hash = tx.hash();
        let loc = match wait {
            Wait::None => {
                client.submit(tx).await?;
                None
            }
            Wait::Finalized => Some(client.submit_and_wait(tx, Duration::from_secs(120)).await?),
        };
        #[derive(Serialize)]
        struct Sent {
            hash: Hash,
            location: Option<TxLocation>,
        }
        self.print(
            &Sent {
                hash,
                location: loc.clone(),
            },
            || match &loc {
                Some(l) => format!(
                    "finalized: {hash}\n  block {} (height {}), index {}",
                    l.block_hash, l.height, l.index
                ),
                None => format!("submitted: {hash}"),
            },
        )
    }
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
