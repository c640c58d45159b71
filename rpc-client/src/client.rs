//! The typed client: the generated API traits over HTTP, plus what a wallet
//! needs on top: signing, idempotent retries with backoff, waiting for
//! finality, and a head stream that survives reconnects.

use crate::api::{ChainApiClient, CreditsApiClient, SystemApiClient, TxApiClient};
use crate::error::{RESOURCE_NOT_FOUND, TRANSACTION_REJECTED};
use crate::jsonrpsee::core::client::{Error as ClientError, Subscription};
use crate::jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use crate::jsonrpsee::ws_client::WsClientBuilder;
use crate::types::{
    BlockId, Bytes, DryRun, Receipt, ReceiptStatus, RpcHeader, SubmitVerdict, TxLocation, TxState,
    TxStatus, MAX_SUBMIT_BATCH,
};
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::encode;
use watt_runtime::tx::{Body, Transaction, UnsignedTx};
use watt_runtime::types::{AccountId, Height};

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The node answered with an error.
    #[error("{message} ({code}){}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Rpc {
        /// The JSON-RPC code.
        code: i32,
        /// The message.
        message: String,
        /// The domain reason from `error.data`.
        reason: Option<String>,
    },
    /// The node could not be reached (after retries, for idempotent calls).
    #[error("cannot reach the node at {url}: {source}")]
    Unreachable {
        /// The RPC URL.
        url: String,
        /// The transport error.
        source: ClientError,
    },
    /// The transaction left the mempool without being included.
    #[error("transaction {hash} was not included: {reason}")]
    Dropped {
        /// The transaction id.
        hash: Hash,
        /// Why, as far as the node said.
        reason: String,
    },
    /// Waiting ran out of time.
    #[error("transaction {hash} was not finalised within {after:?}; it may still land: look it up with its id")]
    Timeout {
        /// The transaction id.
        hash: Hash,
        /// How long was waited.
        after: Duration,
    },
}

impl Error {
    /// The JSON-RPC code, if the node answered with an error.
    pub fn code(&self) -> Option<i32> {
        match self {
            Error::Rpc { code, .. } => Some(*code),
            _ => None,
        }
    }

    fn from_client(url: &str, e: ClientError) -> Error {
        match e {
            ClientError::Call(obj) => Error::Rpc {
                code: obj.code(),
                message: obj.message().to_string(),
                reason: crate::error::reason_of(&obj),
            },
            other => Error::Unreachable {
                url: url.to_string(),
                source: other,
            },
        }
    }
}

/// Whether an error is worth retrying: the transport failed, not the call.
fn transient(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Transport(_) | ClientError::RequestTimeout | ClientError::RestartNeeded(_)
    )
}

/// How idempotent calls are retried.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Attempts in all (1: no retry).
    pub attempts: u32,
    /// The first pause; each next one doubles, up to `max_delay`.
    pub first_delay: Duration,
    /// The longest pause.
    pub max_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 5,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(3),
        }
    }
}

/// A client of one node over HTTP.
#[derive(Clone)]
pub struct WattClient {
    url: String,
    http: HttpClient,
    retry: Retry,
}

impl WattClient {
    /// A client of the node at `url` (`http://host:port`).
    pub fn new(url: &str) -> Result<WattClient, Error> {
        let http = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            .build(url)
            .map_err(|e| Error::from_client(url, e))?;
        Ok(WattClient {
            url: url.to_string(),
            http,
            retry: Retry::default(),
        })
    }

    /// The same client with another retry policy.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// The generated API, for any method (`ChainApiClient::header(c.api(), ..)`).
    /// Calls made this way are not retried.
    pub fn api(&self) -> &HttpClient {
        &self.http
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs an idempotent call, retrying transport failures with backoff.
    pub async fn idempotent<T, F, Fut>(&self, call: F) -> Result<T, Error>
    where
        F: Fn(HttpClient) -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let mut delay = self.retry.first_delay;
        let mut attempt = 1;
        loop {
            match call(self.http.clone()).await {
                Ok(v) => return Ok(v),
                Err(e) if transient(&e) && attempt < self.retry.attempts => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.retry.max_delay);
                    attempt += 1;
                }
                Err(e) => return Err(Error::from_client(&self.url, e)),
            }
        }
    }

    /// The chain id.
    pub async fn chain_id(&self) -> Result<Hash, Error> {
        self.idempotent(|c| async move { SystemApiClient::chain_id(&c).await })
            .await
    }

    /// The nonce `account`'s next transaction must carry, by the latest
    /// block (pending transactions not counted).
    pub async fn nonce(&self, account: AccountId) -> Result<u64, Error> {
        self.idempotent(|c| async move { CreditsApiClient::account(&c, account, None).await })
            .await
            .map(|a| a.nonce)
    }

    /// The nonce to sign `account`'s next transaction with: the latest
    /// block's, plus its transactions pending in the node's mempool.
    pub async fn next_nonce(&self, account: AccountId) -> Result<u64, Error> {
        self.idempotent(|c| async move { CreditsApiClient::account(&c, account, None).await })
            .await
            .map(|a| a.pending_nonce.max(a.nonce))
    }

    /// Submits a signed transaction; returns its id. Submitting is
    /// idempotent (a known transaction returns its id), so it is retried.
    pub async fn submit(&self, tx: &Transaction) -> Result<Hash, Error> {
        let bytes = Bytes(encode(tx));
        self.idempotent(|c| {
            let bytes = bytes.clone();
            async move { TxApiClient::submit(&c, bytes).await }
        })
        .await
    }

    /// Submits many signed transactions with `tx_submitBatch`, in calls of
    /// at most [`MAX_SUBMIT_BATCH`] transactions and 2 MiB (so that a call
    /// stays within a default node's 5 MiB request limit in hex): one
    /// verdict each, in order. Retried like [`WattClient::submit`]
    /// (resubmitting is idempotent).
    pub async fn submit_batch(&self, txs: &[Transaction]) -> Result<Vec<SubmitVerdict>, Error> {
        const CALL_BYTES: usize = 2 * 1024 * 1024;
        // Split into calls first.
        let mut calls: Vec<Vec<Bytes>> = vec![Vec::new()];
        let mut size = 0;
        for tx in txs {
            let bytes = Bytes(encode(tx));
            let call = calls.last_mut().expect("one call at least");
            if !call.is_empty()
                && (call.len() == MAX_SUBMIT_BATCH || size + bytes.0.len() > CALL_BYTES)
            {
                calls.push(Vec::new());
                size = 0;
            }
            size += bytes.0.len();
            calls.last_mut().expect("one call at least").push(bytes);
        }
        let mut out = Vec::with_capacity(txs.len());
        for batch in calls.into_iter().filter(|c| !c.is_empty()) {
            out.extend(
                self.idempotent(|c| {
                    let batch = batch.clone();
                    async move { TxApiClient::submit_batch(&c, batch).await }
                })
                .await?,
            );
        }
        Ok(out)
    }

    /// Submits and waits until the transaction is in a finalised block
    /// (Watt's finality is immediate: included is finalised), at most
    /// `timeout`. Watches over WebSocket (`tx_submitAndWatch`), so a
    /// transaction left out of a block comes back with the node's reason;
    /// without a WebSocket it submits and polls.
    pub async fn submit_and_wait(
        &self,
        tx: &Transaction,
        timeout: Duration,
    ) -> Result<TxLocation, Error> {
        let hash = tx.hash();
        let ws_url = self
            .url
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        let watched = async {
            let ws = WsClientBuilder::default().build(&ws_url).await.ok()?;
            let mut sub: Subscription<TxStatus> =
                match TxApiClient::submit_and_watch(&ws, Bytes(encode(tx))).await {
                    Ok(sub) => sub,
                    Err(e @ ClientError::Call(_)) => {
                        return Some(Err(Error::from_client(&self.url, e)))
                    }
                    Err(_) => return None,
                };
            while let Some(status) = sub.next().await {
                match status.ok()? {
                    TxStatus::Finalized(loc) => return Some(Ok(loc)),
                    TxStatus::Invalid { reason, .. } | TxStatus::Dropped { reason, .. } => {
                        return Some(Err(Error::Dropped { hash, reason }))
                    }
                    TxStatus::Ready { .. } | TxStatus::Included(_) => {}
                }
            }
            None
        };
        let started = tokio::time::Instant::now();
        match tokio::time::timeout(timeout, watched).await {
            Ok(Some(result)) => result,
            // No WebSocket (or it dropped): submitting again is harmless;
            // poll for what is left of the timeout.
            Ok(None) => {
                let hash = self.submit(tx).await?;
                let left = timeout.saturating_sub(started.elapsed());
                self.wait_finalized(hash, left).await
            }
            Err(_) => Err(Error::Timeout {
                hash,
                after: timeout,
            }),
        }
    }

    /// Tries a signed transaction on the node's pending state
    /// (`tx_dryRun`): the events it would emit, or the rule it breaks.
    /// Nothing is sent, so it is retried like a read.
    pub async fn dry_run(&self, tx: &Transaction) -> Result<DryRun, Error> {
        let bytes = Bytes(encode(tx));
        self.idempotent(|c| {
            let bytes = bytes.clone();
            async move { TxApiClient::dry_run(&c, bytes).await }
        })
        .await
    }

    /// A transaction's receipt (`tx_getReceipt`): finalised with its
    /// events, or dropped with the rule it broke; `None` if the node knows
    /// neither.
    pub async fn receipt(&self, hash: Hash) -> Result<Option<Receipt>, Error> {
        self.idempotent(|c| async move { TxApiClient::receipt(&c, hash).await })
            .await
    }

    /// Waits until a submitted transaction is finalised.
    pub async fn wait_finalized(&self, hash: Hash, timeout: Duration) -> Result<TxLocation, Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let found = self
                .idempotent(|c| async move { TxApiClient::get(&c, hash).await })
                .await?;
            match found {
                Some(t) if t.status == TxState::Finalized => {
                    if let Some(loc) = t.location {
                        return Ok(loc);
                    }
                }
                Some(_) => {}
                None => {
                    // A rule broken at block building leaves a receipt
                    // naming it.
                    let reason = match self.receipt(hash).await? {
                        Some(Receipt {
                            status: ReceiptStatus::Dropped,
                            rule: Some(rule),
                            reason: Some(reason),
                            ..
                        }) => format!("it broke `{rule}`: {reason}"),
                        _ => "it left the mempool; check its nonce and the signer's balance and roles, then sign it again".into(),
                    };
                    return Err(Error::Dropped { hash, reason });
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout {
                    hash,
                    after: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Whether an error means the node refused the transaction itself (as
    /// opposed to being unreachable).
    pub fn is_rejection(e: &Error) -> bool {
        e.code() == Some(TRANSACTION_REJECTED)
    }

    /// Whether an error means "no such block/site/...".
    pub fn is_not_found(e: &Error) -> bool {
        e.code() == Some(RESOURCE_NOT_FOUND)
    }
}

/// Signs transactions for one key on one chain.
pub struct Signer {
    key: Keypair,
    chain_id: Hash,
}

impl Signer {
    /// A signer of `key` for the chain `chain_id`.
    pub fn new(key: Keypair, chain_id: Hash) -> Signer {
        Signer { key, chain_id }
    }

    /// The account that signs.
    pub fn account(&self) -> AccountId {
        AccountId(self.key.public())
    }

    /// Signs `body` with `nonce`.
    pub fn sign(&self, nonce: u64, body: Body) -> Transaction {
        UnsignedTx {
            chain_id: self.chain_id,
            signer: self.account(),
            nonce,
            body,
        }
        .sign(&self.key)
    }
}

/// Follows finalised heads over WebSocket from `from` (inclusive) and keeps
/// doing so across dropped connections and node restarts: after a
/// reconnect it fetches the headers it missed (`chain_getBlocks`) before it
/// resumes the subscription, so every height arrives once, in order. Ends
/// when the returned receiver is dropped.
pub fn follow_heads(ws_url: String, from: Height, retry: Retry) -> mpsc::Receiver<RpcHeader> {
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        // Height 0 is the genesis, which has no header.
        let mut next = from.max(Height(1));
        let mut delay = retry.first_delay;
        let mut first = true;
        loop {
            if tx.is_closed() {
                return;
            }
            // Every reconnect after the first waits, growing while no
            // progress is made, so a node that keeps refusing (limits, a
            // closed subscription) is not hammered.
            if !first {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(retry.max_delay);
            }
            first = false;
            let progress_mark = next;
            let Ok(client) = WsClientBuilder::default().build(&ws_url).await else {
                continue;
            };
            // Subscribe first, then backfill, so nothing falls in between.
            let mut sub: Subscription<RpcHeader> =
                match ChainApiClient::subscribe_finalized_heads(&client).await {
                    Ok(s) => s,
                    Err(_) => continue,
                };
            loop {
                let head = match ChainApiClient::header(&client, Some(BlockId::Latest)).await {
                    Ok(Some(h)) => h.height,
                    Ok(None) => Height(0),
                    Err(_) => break,
                };
                if next > head {
                    break;
                }
                let count = (head.0 - next.0 + 1).min(u64::from(crate::api::MAX_BLOCKS_PER_CALL));
                match ChainApiClient::blocks(&client, next, count as u32).await {
                    Ok(blocks) if !blocks.is_empty() => {
                        for b in blocks {
                            next = b.header.height.next();
                            if tx.send(b.header).await.is_err() {
                                return;
                            }
                        }
                    }
                    _ => break,
                }
            }
            while let Some(item) = sub.next().await {
                // An error item is the node closing the subscription.
                let Ok(h) = item else { break };
                if h.height < next {
                    continue;
                }
                if h.height > next {
                    // A gap (the subscription lagged): backfill on reconnect.
                    break;
                }
                next = h.height.next();
                delay = retry.first_delay;
                if tx.send(h).await.is_err() {
                    return;
                }
            }
            if next > progress_mark {
                delay = retry.first_delay;
            }
        }
    });
    rx
}
