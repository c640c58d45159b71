//! The node's side of the peer network, so far: status announcements,
//! block sync for a node that is behind (full nodes follow the chain this
//! way), and transaction gossip. Every imported block's commit certificate
//! is verified against the validator set of its height before the block is
//! executed and committed.

use super::{Actor, NodeError};
use crate::consensus::{Input, Message};
use crate::network::peers::Inbound;
use crate::network::wire::{WireMessage, MAX_SYNC_BLOCKS};
use crate::storage::BlockReader;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::BoundedVec;
use watt_runtime::types::Height;

/// How long a sync request may go unanswered before another is sent.
const SYNC_PATIENCE: Duration = Duration::from_secs(5);

/// Sync bookkeeping.
#[derive(Default)]
pub(super) struct SyncState {
    /// The highest height a peer announced (shared with the node's handle
    /// for `system_health`).
    pub(super) best: Arc<AtomicU64>,
    best_seen: Height,
    /// When the outstanding request was sent.
    in_flight: Option<Instant>,
    /// Blocks consensus asked to validate before their bodies arrived.
    awaited: Vec<(Height, Hash)>,
}

impl SyncState {
    /// Notes a height a peer has (or a block decided there).
    fn seen(&mut self, height: Height) {
        self.best_seen = self.best_seen.max(height);
        self.best.fetch_max(height.0, Ordering::Relaxed);
    }

    /// Remembers a block consensus waits to have validated.
    pub(super) fn await_block(&mut self, height: Height, hash: Hash) {
        self.awaited.retain(|(h, _)| *h >= height);
        if !self.awaited.contains(&(height, hash)) {
            self.awaited.push((height, hash));
        }
    }
}

impl Actor {
    /// Sends a consensus message to every peer; a proposal goes after the
    /// body of the block it names.
    pub(super) fn broadcast(&self, msg: Message) {
        let Some(net) = &self.net else { return };
        if let Message::Proposal(p) = &msg {
            if let Some(block) = self.chain.executed_block(&p.proposal.block_hash) {
                net.broadcast(&WireMessage::Block(Box::new(block.clone())));
            }
        }
        net.broadcast(&WireMessage::Consensus(msg));
    }

    /// Asks every peer for the decided block at `height`.
    pub(super) fn fetch_decided(&mut self, height: Height) {
        if let Some(net) = &self.net {
            self.sync.seen(height);
            self.sync.in_flight = Some(Instant::now());
            net.broadcast(&WireMessage::GetBlocks {
                from: height,
                count: MAX_SYNC_BLOCKS as u32,
            });
        }
    }

    /// Announces the head to every peer.
    pub(super) fn announce(&self) -> Result<(), NodeError> {
        if let Some(net) = &self.net {
            let height = self.chain.head()?;
            net.broadcast(&WireMessage::Status { height });
        }
        Ok(())
    }

    /// Handles one message from a peer.
    pub(super) fn on_peer(&mut self, inb: Inbound) -> Result<(), NodeError> {
        let Some(net) = self.net.clone() else {
            return Ok(());
        };
        let head = self.chain.head()?;
        match inb.msg {
            WireMessage::Status { height } => {
                self.sync.seen(height);
                let waiting = self
                    .sync
                    .in_flight
                    .is_some_and(|t| t.elapsed() < SYNC_PATIENCE);
                if height > head && !waiting {
                    self.sync.in_flight = Some(Instant::now());
                    net.send_to(
                        &inb.from,
                        &WireMessage::GetBlocks {
                            from: head.next(),
                            count: MAX_SYNC_BLOCKS as u32,
                        },
                    );
                }
            }
            WireMessage::GetBlocks { from, count } => {
                let count = (count as usize).min(MAX_SYNC_BLOCKS);
                let store = self.chain.store();
                let mut out = Vec::with_capacity(count);
                let last = from.0.saturating_add(count as u64);
                for h in from.0.max(1)..last.min(head.0 + 1) {
                    let (Some(block), Some(cert)) =
                        (store.block(Height(h))?, store.commit(Height(h))?)
                    else {
                        break;
                    };
                    out.push((block, cert));
                }
                if let Ok(blocks) = BoundedVec::new(out) {
                    net.send_to(&inb.from, &WireMessage::Blocks(blocks));
                }
            }
            WireMessage::Blocks(blocks) => {
                self.sync.in_flight = None;
                let mut imported = 0;
                for (block, cert) in blocks.iter().cloned() {
                    if block.header.height != self.chain.head()?.next() {
                        continue;
                    }
                    let height = block.header.height;
                    match self.chain.import_decided(block, cert) {
                        Ok(committed) => {
                            tracing::info!(height = height.0, hash = %committed.hash, "block synced");
                            let _ = self.committed.send(Arc::new(committed));
                            imported += 1;
                        }
                        Err(e) => {
                            tracing::warn!(peer = %inb.from, height = height.0, error = %e, "synced block refused");
                            break;
                        }
                    }
                }
                if imported > 0 {
                    // Consensus resumes at the new head; ask for more if
                    // the peer is further still.
                    self.next_start = Some(tokio::time::Instant::now());
                    let head = self.chain.head()?;
                    if self.sync.best_seen > head {
                        self.sync.in_flight = Some(Instant::now());
                        net.send_to(
                            &inb.from,
                            &WireMessage::GetBlocks {
                                from: head.next(),
                                count: MAX_SYNC_BLOCKS as u32,
                            },
                        );
                    }
                    self.announce()?;
                }
            }
            WireMessage::Txs(txs) => {
                // Checked by the verifier, off this task, with other
                // submissions; the verdicts come back as a command.
                let txs: Vec<_> = txs
                    .iter()
                    .filter(|t| !self.chain.mempool().contains(&t.hash()))
                    .cloned()
                    .collect();
                if txs.is_empty() {
                    return Ok(());
                }
                let (verifier, own) = (self.verifier.clone(), self.own.clone());
                tokio::spawn(async move {
                    let (reply, verdicts) = tokio::sync::oneshot::channel();
                    let job = super::verifier::Job { txs, reply };
                    if verifier.send(job).await.is_err() {
                        return;
                    }
                    if let (Ok(v), Some(own)) = (verdicts.await, own.upgrade()) {
                        let _ = own.send(super::Command::Gossiped(v)).await;
                    }
                });
            }
            WireMessage::Consensus(m) => {
                let input = match m {
                    Message::Proposal(p) => Input::Proposal(p),
                    Message::Vote(v) => Input::Vote(v),
                    Message::Commit(c) => Input::Commit(c),
                    // Sync goes by blocks with their certificates instead.
                    Message::SyncRequest { .. } | Message::SyncResponse { .. } => return Ok(()),
                };
                let effects = self.core.apply(input);
                self.perform(effects)?;
            }
            WireMessage::Block(block) => {
                let hash = block.hash();
                let height = block.header.height;
                if height != head.next() || self.chain.is_executed(&hash) {
                    return Ok(());
                }
                let now = self.clock.now_ms();
                let valid = match self.chain.check_block(*block, now) {
                    Ok(_) => true,
                    Err(e) => {
                        tracing::debug!(peer = %inb.from, height = height.0, error = %e, "proposed block refused");
                        false
                    }
                };
                if let Some(i) = self.sync.awaited.iter().position(|a| *a == (height, hash)) {
                    self.sync.awaited.remove(i);
                    let effects = self.core.apply(Input::BlockVerdict {
                        height,
                        block_hash: hash,
                        valid,
                    });
                    self.perform(effects)?;
                }
            }
        }
        Ok(())
    }
}
