//! `sign`, `send`, `submit`, `receipt`: sign any transaction body
//! (offline, or with the node's chain id and nonce), submit a signed
//! transaction file, and read what became of a transaction.

use crate::ctx::{event_kind, Ctx, Wait};
use crate::error::WalletError;
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use watt_rpc_client::api::TxApiClient;
use watt_rpc_client::client::{Signer, WattClient};
use watt_rpc_client::types::{Bytes, ReceiptStatus, TxLocation, TxState};
use watt_rpc_client::view::{self, ViewError};
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::{decode, encode, DecodeError};
use watt_runtime::tx::{Body, Transaction};

// Top-level commands: `main` flattens these into its own list.
#[derive(Subcommand, Debug)]
pub enum OfflineCommand {
    /// Sign any transaction body (JSON, as in docs/rpc.md) offline and
    /// write the signed transaction to a file.
    Sign {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The body as JSON, e.g. '{"type":"transfer","to":"watt1...","amount":"1500","vintages":null}'.
        #[arg(long)]
        body: String,
        /// The signer's nonce (no network: give it).
        #[arg(long)]
        nonce: u64,
        /// The chain id (no network: give it; `system_chainId`).
        #[arg(long)]
        chain_id: String,
        /// Where to write the signed transaction.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a transaction body with the node's chain id and the signer's
    /// next nonce, then submit it.
    Send {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The body as JSON.
        #[arg(long)]
        body: String,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Submit transaction files written by `sign`. Several files go in
    /// `tx_submitBatch` calls (1,000 at most each), with one verdict per
    /// file; the command fails if any was refused. Every file is read and
    /// checked before anything is sent.
    Submit {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// What became of a transaction: finalised (block and events), still
    /// pending, or dropped at block building (the rule it broke and the
    /// block). Drops are remembered for the node's last 10,000.
    Receipt {
        /// The transaction id (0x, 32 bytes).
        hash: String,
    },
}

/// Why `sign`, `send` or `submit` failed, beyond the keystore and the node.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// `--body` is not a transaction body.
    #[error("--body is not a transaction body: {0}")]
    BadBody(#[source] serde_json::Error),
    /// `--body` has a field beyond the ledger's bounds.
    #[error("--body does not fit the ledger: {0}")]
    BodyOutOfBounds(#[source] ViewError),
    /// A file that is not a signed transaction file.
    #[error("{} is not a signed transaction file: {source}", .path.display())]
    NotTxFile {
        /// The file.
        path: PathBuf,
        /// Why it does not parse.
        source: serde_json::Error,
    },
    /// A transaction file whose `encoded` does not decode.
    #[error("{}: `encoded` does not decode: {source}", .path.display())]
    Undecodable {
        /// The file.
        path: PathBuf,
        /// Why it does not decode.
        source: DecodeError,
    },
    /// No block, mempool entry or recent drop has this transaction.
    #[error(
        "the node knows no transaction {hash}: not in a block, not pending, not among its last 10,000 drops"
    )]
    Unknown {
        /// The transaction id.
        hash: Hash,
    },
    /// Some transactions of a many-file `submit` were refused (or did not
    /// finalise); each is named above.
    #[error(
        "{refused} of {total} transactions were refused or not finalised (each is named above)"
    )]
    Refused {
        /// How many.
        refused: usize,
        /// Of how many.
        total: usize,
    },
    /// A transaction file whose `hash` or `tx` disagrees with `encoded`.
    #[error(
        "{}: `hash` or `tx` does not match `encoded`; the file was edited: sign again",
        .path.display()
    )]
    Edited {
        /// The file.
        path: PathBuf,
    },
}

/// A signed transaction on disk.
#[derive(Serialize, Deserialize)]
struct TxFile {
    /// The transaction id.
    hash: Hash,
    /// The canonical encoding, 0x hex: what `tx_submit` takes.
    encoded: Bytes,
    /// The transaction, for people to read; `encoded` is what counts.
    tx: view::Transaction,
}

/// Runs `sign`, `send` or `submit`.
pub async fn run(ctx: &Ctx, cmd: OfflineCommand) -> Result<(), WalletError> {
    match cmd {
        OfflineCommand::Sign {
            from,
            body,
            nonce,
            chain_id,
            out,
        } => {
            let body = parse_body(&body)?;
            let chain_id = Hash::from_hex(&chain_id).map_err(|source| WalletError::NotHex32 {
                field: "chain-id",
                source,
            })?;
            let key = ctx.keystore()?.unlock(&from, &ctx.passphrase(false)?)?;
            let tx = Signer::new(key, chain_id).sign(nonce, body);
            let file = TxFile {
                hash: tx.hash(),
                encoded: Bytes(encode(&tx)),
                tx: tx.into(),
            };
            let json = serde_json::to_string_pretty(&file).map_err(WalletError::Encode)?;
            std::fs::write(&out, json).map_err(|source| WalletError::Write {
                path: out.clone(),
                source,
            })?;
            ctx.print(&file.hash, || {
                format!("signed {} -> {}", file.hash, out.display())
            })?;
        }
        OfflineCommand::Send { from, body, wait } => {
            let body = parse_body(&body)?;
            ctx.send(&from, body, wait).await?;
        }
        OfflineCommand::Submit { files, wait } => {
            let txs = files
                .iter()
                .map(|f| read_tx_file(f.clone()))
                .collect::<Result<Vec<_>, _>>()?;
            let client = ctx.client()?;
            match txs.as_slice() {
                [tx] => ctx.submit(&client, tx, wait).await?,
                _ if ctx.dry_run => {
                    for tx in &txs {
                        ctx.submit(&client, tx, wait).await?;
                    }
                }
                _ => submit_many(ctx, &client, &files, &txs, wait).await?,
            }
        }
        OfflineCommand::Receipt { hash } => {
            let hash = Hash::from_hex(&hash).map_err(|source| WalletError::NotHex32 {
                field: "hash",
                source,
            })?;
            receipt(ctx, hash).await?;
        }
    }
    Ok(())
}

/// What became of one file of a many-file `submit`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileVerdict {
    file: PathBuf,
    hash: Hash,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<TxLocation>,
}

/// Submits many transactions in `tx_submitBatch` calls and prints one line
/// (or JSON object) per file; with `--wait finalized`, waits for every
/// accepted one. Fails when any was refused or did not finalise.
async fn submit_many(
    ctx: &Ctx,
    client: &WattClient,
    files: &[PathBuf],
    txs: &[Transaction],
    wait: Wait,
) -> Result<(), WalletError> {
    let verdicts = client.submit_batch(txs).await?;
    let mut out: Vec<FileVerdict> = files
        .iter()
        .zip(txs)
        .zip(verdicts)
        .map(|((file, tx), v)| FileVerdict {
            file: file.clone(),
            hash: tx.hash(),
            ok: v.ok,
            reason: v.reason,
            location: None,
        })
        .collect();
    if wait == Wait::Finalized {
        // They were all sent at once: waiting for each in turn costs about
        // the time the last one takes.
        for v in out.iter_mut().filter(|v| v.ok) {
            match client
                .wait_finalized(v.hash, Duration::from_secs(120))
                .await
            {
                Ok(l) => v.location = Some(l),
                Err(e) => {
                    v.ok = false;
                    v.reason = Some(e.to_string());
                }
            }
        }
    }
    let refused = out.iter().filter(|v| !v.ok).count();
    ctx.print(&out, || {
        out.iter()
            .map(|v| match (&v.location, v.ok) {
                (Some(l), true) => format!(
                    "finalized: {} ({}), block {} (height {}), index {}",
                    v.hash,
                    v.file.display(),
                    l.block_hash,
                    l.height,
                    l.index
                ),
                (None, true) => format!("submitted: {} ({})", v.hash, v.file.display()),
                _ => format!(
                    "refused:   {} ({}): {}",
                    v.hash,
                    v.file.display(),
                    v.reason.as_deref().unwrap_or("")
                ),
            })
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    match refused {
        0 => Ok(()),
        n => Err(OfflineError::Refused {
            refused: n,
            total: txs.len(),
        }
        .into()),
    }
}

/// Prints a transaction's receipt, or that it is pending; fails when the
/// node knows nothing of it.
async fn receipt(ctx: &Ctx, hash: Hash) -> Result<(), WalletError> {
    let client = ctx.client()?;
    if let Some(r) = client.receipt(hash).await? {
        return ctx.print(&r, || match (&r.location, r.status) {
            (Some(l), ReceiptStatus::Finalized) => {
                let kinds: Vec<String> = r.events.iter().map(event_kind).collect();
                format!(
                    "finalized: {hash}\n  block {} (height {}), index {}\n  events: {}",
                    l.block_hash,
                    l.height,
                    l.index,
                    if kinds.is_empty() {
                        "none".into()
                    } else {
                        kinds.join(", ")
                    }
                )
            }
            _ => format!(
                "dropped: {hash}\n  broke `{}` when block {} was built: {}",
                r.rule.as_deref().unwrap_or("?"),
                r.height.map_or("?".into(), |h| h.to_string()),
                r.reason.as_deref().unwrap_or("")
            ),
        });
    }
    let found = client
        .idempotent(|c| async move { TxApiClient::get(&c, hash).await })
        .await?;
    match found {
        Some(t) if t.status == TxState::Pending => ctx.print(&t, || {
            format!("pending: {hash}\n  in the node's mempool, not in a block yet")
        }),
        _ => Err(OfflineError::Unknown { hash }.into()),
    }
}

/// `--body`: a transaction body as JSON.
fn parse_body(body: &str) -> Result<Body, OfflineError> {
    let shown: view::Body = serde_json::from_str(body).map_err(OfflineError::BadBody)?;
    Body::try_from(shown).map_err(OfflineError::BodyOutOfBounds)
}

/// The transaction in a file written by `sign`, refused if the file was
/// edited.
fn read_tx_file(path: PathBuf) -> Result<Transaction, WalletError> {
    let text = std::fs::read_to_string(&path).map_err(|source| WalletError::Read {
        path: path.clone(),
        source,
    })?;
    let f: TxFile = match serde_json::from_str(&text) {
        Ok(f) => f,
        Err(source) => return Err(OfflineError::NotTxFile { path, source }.into()),
    };
    let tx: Transaction = match decode(&f.encoded.0) {
        Ok(tx) => tx,
        Err(source) => return Err(OfflineError::Undecodable { path, source }.into()),
    };
    if tx.hash() != f.hash || view::Transaction::from(tx.clone()) != f.tx {
        return Err(OfflineError::Edited { path }.into());
    }
    Ok(tx)
}
