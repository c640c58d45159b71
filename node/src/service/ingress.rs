//! The node task's mailbox: what the rest of the process may ask of it, as
//! typed messages with reply channels (no closures run on the node's
//! task), and the [`NodeHandle`] that sends them.
//!
//! Reads of finalised state never come here: they go straight to the store
//! (each block is one atomic write, so a read sees whole blocks only). What
//! only the node's task knows is the mempool: pending nonces and
//! transactions.

use super::verifier;
use crate::chain::{ChainError, Committed};
use crate::clock::Clock;
use crate::network::peers::NetHandle;
use crate::storage::Store;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};
use watt_runtime::crypto::Hash;
use watt_runtime::exec::VerifiedTx;
use watt_runtime::state::{read_value, StateKey};
use watt_runtime::tx::Transaction;
use watt_runtime::types::{AccountId, Height};
use watt_runtime::TxError;

/// A message to the node's task.
pub(super) enum Command {
    /// Verified transactions for the mempool; one verdict each back.
    Submit {
        /// The verifier's verdicts.
        verified: Vec<Result<VerifiedTx, TxError>>,
        /// Where the mempool's answers go.
        reply: oneshot::Sender<Vec<Result<Hash, ChainError>>>,
    },
    /// A question about the mempool.
    Query(Query),
    /// Stop cleanly.
    Shutdown,
}

/// What the node's task answers.
pub(super) enum Query {
    /// An account's next nonce counting its pending transactions, given its
    /// nonce on chain.
    PendingNonce {
        /// The account.
        account: AccountId,
        /// Its nonce on chain.
        chain_nonce: u64,
        /// The answer.
        reply: oneshot::Sender<u64>,
    },
    /// A pending transaction.
    PendingTx {
        /// Its id.
        hash: Hash,
        /// The answer.
        reply: oneshot::Sender<Option<Transaction>>,
    },
    /// Pending transactions in arrival order, at most `limit`.
    PendingTxs {
        /// How many.
        limit: usize,
        /// The answer.
        reply: oneshot::Sender<Vec<Transaction>>,
    },
    /// An account's pending transactions, by nonce.
    PendingOf {
        /// The account.
        account: AccountId,
        /// The answer.
        reply: oneshot::Sender<Vec<VerifiedTx>>,
    },
    /// Which of these transactions are still pending.
    StillPending {
        /// The ids.
        hashes: Vec<Hash>,
        /// The answer: those pending.
        reply: oneshot::Sender<Vec<Hash>>,
    },
    /// The mempool's size.
    MempoolStats {
        /// The answer.
        reply: oneshot::Sender<MempoolStats>,
    },
    /// Nothing: the answer says the task is alive.
    Ping {
        /// The answer.
        reply: oneshot::Sender<()>,
    },
}

/// The mempool's size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MempoolStats {
    /// Pending transactions.
    pub txs: usize,
    /// Their encoded bytes.
    pub bytes: usize,
}

/// Why a submitted transaction was not added.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The chain or the mempool refused it.
    #[error(transparent)]
    Refused(ChainError),
    /// The node is shutting down.
    #[error("node is shutting down")]
    Stopped,
}

/// A handle to a running node.
#[derive(Clone)]
pub struct NodeHandle {
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) committed: broadcast::Sender<Arc<Committed>>,
    pub(super) chain_id: Hash,
    pub(super) store: Arc<Store>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) net: Option<NetHandle>,
    pub(super) best_seen: Arc<std::sync::atomic::AtomicU64>,
    pub(super) verifier: mpsc::Sender<verifier::Job>,
    /// Transactions blocks left out for breaking a rule.
    pub(super) dropped: Arc<std::sync::Mutex<super::dropped::DroppedLog>>,
}

impl NodeHandle {
    /// The highest height any peer has announced (0 without a network).
    pub fn best_seen(&self) -> Height {
        Height(self.best_seen.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Why a recent transaction was left out of a block for breaking a
    /// ledger rule (the last [`super::dropped::MAX_DROPPED`] are kept, in
    /// memory).
    pub fn dropped_tx(&self, hash: &Hash) -> Option<super::dropped::DroppedTx> {
        self.dropped.lock().ok().and_then(|log| log.get(hash))
    }

    /// The chain id.
    pub fn chain_id(&self) -> Hash {
        self.chain_id
    }

    /// The store, for reads that need not wait for the node's task: each
    /// block is one atomic write, so a read sees whole blocks only.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// A typed value of the finalised state (from the store).
    pub fn state<T: borsh::BorshDeserialize>(&self, key: &StateKey) -> Option<T> {
        read_value(&*self.store, key).ok().flatten()
    }

    /// The chain clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// How many peers are connected (0 for a node without a network).
    pub fn peer_count(&self) -> usize {
        self.net.as_ref().map_or(0, |n| n.peers().len())
    }

    /// Verifies transactions and adds them to the mempool; one result per
    /// transaction (the id, or why it was refused).
    pub async fn submit(&self, txs: Vec<Transaction>) -> Vec<Result<Hash, SubmitError>> {
        let n = txs.len();
        let stopped = || (0..n).map(|_| Err(SubmitError::Stopped)).collect();
        // Signatures are checked by the verifier task, batched with other
        // callers' (see `verifier`); the node's task only inserts the
        // verdicts into the mempool.
        let (vtx, vrx) = oneshot::channel();
        let job = verifier::Job {
            txs,
            reply: verifier::Reply::Caller(vtx),
        };
        if self.verifier.send(job).await.is_err() {
            return stopped();
        }
        let verified = match vrx.await {
            Ok(v) if v.len() == n => v,
            _ => return stopped(),
        };
        let (reply, rx) = oneshot::channel();
        if self
            .commands
            .send(Command::Submit { verified, reply })
            .await
            .is_err()
        {
            return stopped();
        }
        match rx.await {
            Ok(results) => results
                .into_iter()
                .map(|r| r.map_err(SubmitError::Refused))
                .collect(),
            Err(_) => stopped(),
        }
    }

    async fn ask<T>(&self, query: impl FnOnce(oneshot::Sender<T>) -> Query) -> Option<T> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Query(query(reply)))
            .await
            .ok()?;
        rx.await.ok()
    }

    /// An account's next nonce counting its pending transactions; `None`
    /// once the node has stopped.
    pub async fn pending_nonce(&self, account: AccountId, chain_nonce: u64) -> Option<u64> {
        self.ask(|reply| Query::PendingNonce {
            account,
            chain_nonce,
            reply,
        })
        .await
    }

    /// A pending transaction (`Some(None)`: not pending).
    pub async fn pending_tx(&self, hash: Hash) -> Option<Option<Transaction>> {
        self.ask(|reply| Query::PendingTx { hash, reply }).await
    }

    /// Pending transactions in arrival order, at most `limit`.
    pub async fn pending_txs(&self, limit: usize) -> Option<Vec<Transaction>> {
        self.ask(|reply| Query::PendingTxs { limit, reply }).await
    }

    /// An account's pending transactions (verified), by nonce.
    pub async fn pending_of(&self, account: AccountId) -> Option<Vec<VerifiedTx>> {
        self.ask(|reply| Query::PendingOf { account, reply }).await
    }

    /// Which of these transactions are still pending.
    pub async fn still_pending(&self, hashes: Vec<Hash>) -> Option<Vec<Hash>> {
        self.ask(|reply| Query::StillPending { hashes, reply })
            .await
    }

    /// The mempool's size.
    pub async fn mempool_stats(&self) -> Option<MempoolStats> {
        self.ask(|reply| Query::MempoolStats { reply }).await
    }

    /// Whether the node's task answers.
    pub async fn ping(&self) -> bool {
        self.ask(|reply| Query::Ping { reply }).await.is_some()
    }

    /// Finalised blocks as they are written.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Committed>> {
        self.committed.subscribe()
    }

    /// Asks the node to stop cleanly.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
    }
}
