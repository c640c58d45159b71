//! The node's side of the peer network: status announcements, block sync
//! for a node that is behind (full nodes follow the chain this way), block
//! bodies, transaction gossip, and consensus messages (which go through
//! the intake to the verifier, see `actor.rs`).
//!
//! Every imported block's commit certificate is verified against the
//! validator set of its height before the block is executed; a peer that
//! serves one that does not verify is banned. Sync requests are answered
//! by a task of their own (`serve.rs`).

use super::actor::Actor;
use super::NodeError;
use crate::chain::ChainError;
use crate::consensus::Message;
use crate::network::peers::{Inbound, NetHandle};
use crate::network::wire::{WireMessage, MAX_SYNC_BLOCKS};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use watt_runtime::block::{Block, CommitCertificate};
use watt_runtime::crypto::{Hash, PublicKey};
use watt_runtime::types::Height;

/// How long a sync request may go unanswered before another is sent.
const SYNC_PATIENCE: Duration = Duration::from_secs(5);

/// Sync bookkeeping.
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

impl Default for SyncState {
    fn default() -> Self {
        SyncState {
            best: Arc::default(),
            best_seen: Height(0),
            in_flight: None,
            awaited: Vec::new(),
        }
    }
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
            WireMessage::GetBlocks { from, count } => self.server.request(inb.from, from, count),
            WireMessage::Blocks(blocks) => self.import(&net, inb.from, blocks.into_inner())?,
            WireMessage::Txs(txs) => {
                let txs: Vec<_> = txs
                    .iter()
                    .filter(|t| !self.chain.mempool().contains(&t.hash()))
                    .cloned()
                    .collect();
                if !txs.is_empty() {
                    self.verify_gossip(inb.from, txs);
                }
            }
            WireMessage::Consensus(m) => self.on_consensus(inb.from, m)?,
            WireMessage::Block(block) => self.on_body(&net, inb.from, *block, head)?,
        }
        Ok(())
    }

    /// Imports finalised blocks a peer sent, each with a certificate that
    /// must verify against its height's set.
    fn import(
        &mut self,
        net: &NetHandle,
        from: PublicKey,
        blocks: Vec<(Block, CommitCertificate)>,
    ) -> Result<(), NodeError> {
        self.sync.in_flight = None;
        let mut imported = 0;
        for (block, cert) in blocks {
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
                Err(e @ ChainError::Certificate { .. }) => {
                    // Honest peers serve only blocks with the certificate
                    // they verified.
                    tracing::warn!(peer = %from, height = height.0, error = %e, "synced block with a forged certificate");
                    net.penalise(&from, "served a block with a forged certificate");
                    break;
                }
                Err(e) => {
                    tracing::warn!(peer = %from, height = height.0, error = %e, "synced block refused");
                    break;
                }
            }
        }
        if imported > 0 {
            // Consensus moves to the new head at once: its effects for the
            // old height would be stale.
            self.next_start = None;
            self.start_height()?;
            let head = self.chain.head()?;
            if self.sync.best_seen > head {
                self.sync.in_flight = Some(Instant::now());
                net.send_to(
                    &from,
                    &WireMessage::GetBlocks {
                        from: head.next(),
                        count: MAX_SYNC_BLOCKS as u32,
                    },
                );
            }
            self.announce()?;
        }
        Ok(())
    }

    /// A block body from a peer: kept until a verified proposal names it,
    /// checked at once if one already did.
    fn on_body(
        &mut self,
        net: &NetHandle,
        from: PublicKey,
        block: Block,
        head: Height,
    ) -> Result<(), NodeError> {
        let hash = block.hash();
        let height = block.header.height;
        if (height != head.next() && height != head.next().next()) || self.chain.is_executed(&hash)
        {
            return Ok(());
        }
        let awaited = self.sync.awaited.iter().position(|a| *a == (height, hash));
        let Some(i) = awaited else {
            self.bodies.insert(from, !net.is_configured(&from), block);
            return Ok(());
        };
        self.sync.awaited.remove(i);
        let valid = self.check_body(block);
        if valid {
            if let Some(b) = self.chain.executed_block(&hash) {
                net.relay(&WireMessage::Block(Box::new(b.clone())), &from);
            }
            self.pipeline.want(hash);
        }
        let effects = self.core.apply(crate::consensus::Input::BlockVerdict {
            height,
            block_hash: hash,
            valid,
        });
        self.perform(effects)
    }

    /// Executes a body a verified proposal named; whether it is valid.
    pub(super) fn check_body(&mut self, block: Block) -> bool {
        let height = block.header.height;
        let now = self.clock.now_ms();
        match self.chain.check_block(block, now) {
            Ok(_) => true,
            Err(e) => {
                tracing::debug!(height = height.0, error = %e, "proposed block refused");
                false
            }
        }
    }
}
