//! Signature checks off the node's task, batched across callers: one task
//! for transactions, one for consensus messages (so that a vote never waits
//! behind a large batch of transactions).
//!
//! Every RPC submission and every peer's gossip hands its transactions to
//! the transaction verifier. While a batch is being checked, the next
//! callers queue; the task then checks everything queued as one batch
//! (ed25519 batch verification costs about half as much per signature as
//! one-by-one checks, and a large batch is split over both cores). A lone
//! caller waits for no one: its batch is just its own transactions. The
//! node's task only inserts the verdicts into the mempool.
//!
//! Consensus messages from peers go to the consensus verifier with the
//! validator set of their height; it checks them with
//! [`verify_messages`](crate::consensus::verify_messages), the function
//! the simulator's host uses too, and sends the verdicts back to the node.

use crate::consensus::{verify_messages, BatchVerifier, Message, VerifyError};
use crate::storage::Store;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use watt_runtime::block::ValidatorSet;
use watt_runtime::crypto::{Hash, PublicKey};
use watt_runtime::exec::VerifiedTx;
use watt_runtime::tx::Transaction;
use watt_runtime::verify::verify_txs;
use watt_runtime::TxError;

/// Most transactions checked in one batch.
const MAX_BATCH: usize = 4_096;
/// Batches up to this size are checked on the task itself: a hand-off to
/// the blocking pool would cost more than the check.
const INLINE: usize = 4;
/// Most consensus messages checked in one batch.
const MAX_CONSENSUS_BATCH: usize = 1_024;

/// Where a job's verdicts go.
pub(super) enum Reply {
    /// A caller waiting for them (an RPC submission).
    Caller(oneshot::Sender<Vec<Result<VerifiedTx, TxError>>>),
    /// The node, for a peer's gossip (dropped if the node is busy: gossip
    /// is best effort).
    Gossip {
        /// The peer that sent them.
        from: PublicKey,
        /// The node's queue.
        to: mpsc::Sender<GossipVerdicts>,
    },
}

/// One caller's transactions and where their verdicts go.
pub(super) struct Job {
    pub txs: Vec<Transaction>,
    pub reply: Reply,
}

/// Verdicts on a peer's gossiped transactions.
pub(super) struct GossipVerdicts {
    pub from: PublicKey,
    pub verdicts: Vec<Result<VerifiedTx, TxError>>,
}

/// Starts the transaction verifier; it ends when every sender is dropped.
pub(super) fn spawn(store: Arc<Store>, chain_id: Hash) -> mpsc::Sender<Job> {
    let (tx, mut rx) = mpsc::channel::<Job>(4_096);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            let mut count = jobs[0].txs.len();
            while count < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => {
                        count += job.txs.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            let counts: Vec<usize> = jobs.iter().map(|j| j.txs.len()).collect();
            let txs: Vec<Transaction> = jobs
                .iter_mut()
                .flat_map(|j| std::mem::take(&mut j.txs))
                .collect();
            let results = if count <= INLINE {
                verify_txs(&*store, &chain_id, txs, 1)
            } else {
                let store = store.clone();
                let threads = if count >= 64 { 2 } else { 1 };
                match tokio::task::spawn_blocking(move || {
                    verify_txs(&*store, &chain_id, txs, threads)
                })
                .await
                {
                    Ok(r) => r,
                    // Shutting down: the callers see their replies dropped.
                    Err(_) => continue,
                }
            };
            let mut results = results.into_iter();
            for (job, n) in jobs.into_iter().zip(counts) {
                let verdicts: Vec<_> = results.by_ref().take(n).collect();
                match job.reply {
                    Reply::Caller(reply) => {
                        let _ = reply.send(verdicts);
                    }
                    Reply::Gossip { from, to } => {
                        let _ = to.try_send(GossipVerdicts { from, verdicts });
                    }
                }
            }
        }
    });
    tx
}

/// A consensus message from a peer, with the validator set of its height.
pub(super) struct ConsensusJob {
    pub from: PublicKey,
    pub msg: Message,
    pub set: Arc<ValidatorSet>,
}

/// The verdict on one [`ConsensusJob`].
pub(super) struct ConsensusVerdict {
    pub from: PublicKey,
    pub msg: Message,
    pub result: Result<(), VerifyError>,
}

/// Starts the consensus verifier: jobs in, verdicts to `out`. It ends when
/// every sender is dropped or the node stops listening.
pub(super) fn spawn_consensus(
    chain_id: Hash,
    out: mpsc::Sender<ConsensusVerdict>,
) -> mpsc::Sender<ConsensusJob> {
    let (tx, mut rx) = mpsc::channel::<ConsensusJob>(4_096);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            while jobs.len() < MAX_CONSENSUS_BATCH {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            let check = move |jobs: Vec<ConsensusJob>| {
                let results = verify_messages(
                    &chain_id,
                    jobs.iter().map(|j| (&j.msg, Some(&*j.set))),
                    &mut BatchVerifier,
                );
                jobs.into_iter()
                    .zip(results)
                    .map(|(j, result)| ConsensusVerdict {
                        from: j.from,
                        msg: j.msg,
                        result,
                    })
                    .collect::<Vec<_>>()
            };
            let verdicts = if jobs.len() <= INLINE {
                check(jobs)
            } else {
                match tokio::task::spawn_blocking(move || check(jobs)).await {
                    Ok(v) => v,
                    Err(_) => continue,
                }
            };
            for v in verdicts {
                if out.send(v).await.is_err() {
                    return;
                }
            }
        }
    });
    tx
}
