//! Answering peers' sync requests: a task of its own, off the node's task,
//! reading one answer at a time (each at most `MAX_SYNC_BYTES` of blocks),
//! with at most one request per peer waiting and a bounded queue; requests
//! beyond that are dropped (the asker asks again after a while).

use crate::network::peers::NetHandle;
use crate::network::wire::{WireMessage, MAX_SYNC_BLOCKS, MAX_SYNC_BYTES};
use crate::storage::{BlockReader, Store};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use watt_runtime::block::{Block, CommitCertificate};
use watt_runtime::crypto::PublicKey;
use watt_runtime::encoding::{encode, BoundedVec};
use watt_runtime::types::Height;

/// Requests waiting to be answered, in all.
const QUEUE: usize = 64;

struct Request {
    peer: PublicKey,
    from: Height,
    count: u32,
}

/// The serving task's mailbox.
pub(super) struct Server {
    tx: mpsc::Sender<Request>,
    waiting: Arc<Mutex<HashSet<PublicKey>>>,
}

fn lock(m: &Mutex<HashSet<PublicKey>>) -> std::sync::MutexGuard<'_, HashSet<PublicKey>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Server {
    /// Starts the task; it ends with the node (when the server is dropped).
    pub(super) fn spawn(store: Arc<Store>, net: Option<NetHandle>) -> Server {
        let (tx, mut rx) = mpsc::channel::<Request>(QUEUE);
        let waiting: Arc<Mutex<HashSet<PublicKey>>> = Arc::default();
        let done = waiting.clone();
        tokio::spawn(async move {
            while let Some(req) = rx.recv().await {
                let store = store.clone();
                let read = tokio::task::spawn_blocking(move || {
                    blocks_for_sync(&store, req.from, req.count as usize, MAX_SYNC_BYTES)
                })
                .await;
                lock(&done).remove(&req.peer);
                match read {
                    Ok(Ok(out)) => {
                        if let (Some(net), Ok(blocks)) = (&net, BoundedVec::new(out)) {
                            net.send_to(&req.peer, &WireMessage::Blocks(blocks));
                        }
                    }
                    Ok(Err(e)) => tracing::warn!(error = %e, "reading blocks for a peer failed"),
                    Err(_) => return,
                }
            }
        });
        Server { tx, waiting }
    }

    /// Queues a peer's request, unless it has one waiting or the queue is
    /// full.
    pub(super) fn request(&self, peer: PublicKey, from: Height, count: u32) {
        if !lock(&self.waiting).insert(peer) {
            tracing::trace!(%peer, "sync request dropped: one is waiting already");
            return;
        }
        if self.tx.try_send(Request { peer, from, count }).is_err() {
            lock(&self.waiting).remove(&peer);
            tracing::trace!(%peer, "sync request dropped: busy");
        }
    }
}

/// Reads finalised blocks from `from` for an answer: at most `count`, and
/// no more than `max_bytes` of them (but always one block, which fits a
/// message by the chain's block size limit).
fn blocks_for_sync(
    store: &Store,
    from: Height,
    count: usize,
    max_bytes: usize,
) -> Result<Vec<(Block, CommitCertificate)>, crate::storage::StorageError> {
    let head = store.head()?;
    let count = count.min(MAX_SYNC_BLOCKS);
    let last = from.0.saturating_add(count as u64);
    let mut out = Vec::with_capacity(count);
    let mut bytes = 0usize;
    for h in from.0.max(1)..last.min(head.0 + 1) {
        let (Some(block), Some(cert)) = (store.block(Height(h))?, store.commit(Height(h))?) else {
            break;
        };
        let size = encode(&block).len() + encode(&cert).len();
        if !out.is_empty() && bytes + size > max_bytes {
            break;
        }
        bytes += size;
        out.push((block, cert));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::Chain;
    use crate::mempool::Config;
    use crate::mempool::Mempool;
    use watt_runtime::block::{Vote, VoteKind};
    use watt_runtime::testkit::{consensus_key, TestChain};

    /// A range of large blocks is cut short by bytes, never by more than
    /// the message can carry; one block always goes.
    #[test]
    fn a_sync_answer_stays_within_its_byte_budget() {
        let tc = TestChain::builder().authorities(1).build();
        let dir = tempfile::tempdir().unwrap();
        let mut chain = Chain::new(
            Store::open(dir.path(), &tc.genesis).unwrap(),
            Mempool::new(Config::default()),
        )
        .unwrap();
        let k = consensus_key(1);
        for h in 1..=5u64 {
            let hash = chain
                .build_block(Height(h), 1_767_225_600_000 + h * 1_000, k.public())
                .unwrap();
            let vote = Vote {
                kind: VoteKind::Precommit,
                chain_id: chain.chain_id(),
                height: Height(h),
                round: 0,
                block_hash: Some(hash),
                validator: k.public(),
            }
            .sign(&k);
            let set = chain.next_validators().unwrap();
            let cert = CommitCertificate::from_precommits(&set, Height(h), 0, hash, &[vote]);
            chain.commit(&hash, cert).unwrap();
        }
        let store = chain.shared_store();
        let all = blocks_for_sync(&store, Height(1), 32, usize::MAX).unwrap();
        assert_eq!(all.len(), 5);
        let one = encode(&all[0].0).len() + encode(&all[0].1).len();
        let two = blocks_for_sync(&store, Height(1), 32, 2 * one + one / 2).unwrap();
        assert_eq!(two.len(), 2);
        let at_least_one = blocks_for_sync(&store, Height(1), 32, 1).unwrap();
        assert_eq!(at_least_one.len(), 1);
        assert_eq!(
            blocks_for_sync(&store, Height(4), 32, usize::MAX)
                .unwrap()
                .len(),
            2
        );
    }
}
