//! The node's side of the peer network, so far: status announcements,
//! block sync for a node that is behind (full nodes follow the chain this
//! way), and transaction gossip. Every imported block's commit certificate
//! is verified against the validator set of its height before the block is
//! executed and committed.

use super::{Actor, NodeError};
use crate::network::peers::Inbound;
use crate::network::wire::{WireMessage, MAX_SYNC_BLOCKS};
use crate::storage::BlockReader;
use std::sync::Arc;
use std::time::{Duration, Instant};
use watt_runtime::encoding::BoundedVec;
use watt_runtime::types::Height;

/// How long a sync request may go unanswered before another is sent.
const SYNC_PATIENCE: Duration = Duration::from_secs(5);

/// Sync bookkeeping.
#[derive(Default)]
pub(super) struct SyncState {
    /// The highest height a peer announced.
    best_seen: Height,
    /// When the outstanding request was sent.
    in_flight: Option<Instant>,
}

impl Actor {
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
                self.sync.best_seen = self.sync.best_seen.max(height);
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
                for r in self.chain.submit(txs.to_vec()) {
                    if let Err(e) = r {
                        tracing::trace!(error = %e, "gossiped transaction refused");
                    }
                }
            }
            // Consensus over the network is the next part of this step.
            WireMessage::Consensus(_) | WireMessage::Block(_) => {}
        }
        Ok(())
    }
}
