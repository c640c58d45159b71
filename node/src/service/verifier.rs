//! Signature checks for submitted transactions, batched across callers.
//!
//! Every RPC submission hands its transactions to one verifier task. While
//! a batch is being checked, the next callers queue; the task then checks
//! everything queued as one batch (ed25519 batch verification costs about
//! half as much per signature as one-by-one checks, and a large batch is
//! split over both cores). A lone caller waits for no one: its batch is
//! just its own transactions. The node's task only inserts the verdicts
//! into the mempool.

use crate::storage::Store;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use watt_runtime::crypto::Hash;
use watt_runtime::exec::VerifiedTx;
use watt_runtime::tx::Transaction;
use watt_runtime::verify::verify_txs;
use watt_runtime::TxError;

/// Most transactions checked in one batch.
const MAX_BATCH: usize = 4_096;
/// Batches up to this size are checked on the task itself: a hand-off to
/// the blocking pool would cost more than the check.
const INLINE: usize = 4;

/// One caller's transactions and where their verdicts go.
pub(super) struct Job {
    pub txs: Vec<Transaction>,
    pub reply: oneshot::Sender<Vec<Result<VerifiedTx, TxError>>>,
}

/// Starts the verifier task; it ends when every sender is dropped.
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
                let _ = job.reply.send(results.by_ref().take(n).collect());
            }
        }
    });
    tx
}
