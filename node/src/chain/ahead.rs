//! Pipelining: the next block built and executed while its parent is still
//! being voted on (or written).
//!
//! Once a block for the next height is executed here (built by this node
//! or checked as a proposal) and this node proposes the height after it in
//! round 0, [`Chain::ahead_job`] takes what building on top of it needs:
//! the parent's state changes and tree nodes, and the mempool's candidates
//! with nonces read through those changes. [`AheadJob::run`] executes them
//! on another thread, reading the store through the parent's changes, so
//! that neither the node's task nor the parent's commit waits for it.
//!
//! The result is sealed with the parent's certificate once the parent is
//! decided ([`Chain::build_block`]), and only if it still holds: the same
//! parent, proposer and height, a recent timestamp, and either full or
//! built from every ready transaction with nothing new in the mempool
//! since. Otherwise it is dropped and the block is built as before, so a
//! block built ahead never holds fewer transactions than one built late
//! would.

use super::{fill, nonce_in, Chain, ChainError, Sealable};
use crate::mempool::{DropReason, Mempool};
use crate::storage::{StorageError, Store};
use std::collections::HashMap;
use std::sync::Arc;
use watt_runtime::block::ValidatorSet;
use watt_runtime::crypto::{Hash, PublicKey};
use watt_runtime::exec::{BlockContext, VerifiedTx};
use watt_runtime::state::{read_value, ChainState, Layered, StateDiff, StateKey};
use watt_runtime::tree::{self, Node, TreeError, TreeReader};
use watt_runtime::types::{AccountId, Height};

/// A block built ahead is sealed only if its timestamp is at most this old:
/// one from before a round change is rebuilt with the time of its round.
pub const MAX_AHEAD_AGE_MS: u64 = 1_000;

/// What building the next block ahead needs, taken from the chain so that
/// it runs on another thread.
pub struct AheadJob {
    store: Arc<Store>,
    parent: Hash,
    parent_root: Hash,
    parent_diff: StateDiff,
    parent_nodes: Vec<(Hash, Node)>,
    validators: ValidatorSet,
    ctx: BlockContext,
    candidates: Vec<VerifiedTx>,
    /// The mempool's arrival counter when the candidates were taken.
    seq: u64,
    /// Whether ready transactions were left out of the candidates.
    truncated: bool,
}

/// A block executed on top of a parent that was not final yet.
pub struct Ahead {
    parent: Hash,
    parts: Sealable,
    failed: Vec<(Hash, DropReason)>,
    full: bool,
    seq: u64,
    truncated: bool,
}

impl Ahead {
    /// The parent this block was built on.
    pub fn parent(&self) -> Hash {
        self.parent
    }

    /// The height it is for.
    pub fn height(&self) -> Height {
        self.parts.ctx.height
    }

    /// How many transactions it holds.
    pub fn txs(&self) -> usize {
        self.parts.txs.len()
    }

    /// Drops from the mempool what failed in the block (if still there)
    /// and gives the block's parts to seal.
    pub(super) fn into_parts(
        self,
        mempool: &mut Mempool,
        dropped: &mut Vec<(Hash, DropReason)>,
    ) -> Sealable {
        for (h, why) in self.failed {
            if mempool.remove(&h).is_some() {
                dropped.push((h, why));
            }
        }
        self.parts
    }
}

/// The store's tree with a block's new nodes over it, not yet written.
struct LayeredTree<'a, T> {
    base: T,
    nodes: &'a HashMap<Hash, Node>,
}

impl<T: TreeReader> TreeReader for LayeredTree<'_, T> {
    fn node(&self, hash: &Hash) -> Result<Option<Node>, TreeError> {
        match self.nodes.get(hash) {
            Some(n) => Ok(Some(*n)),
            None => self.base.node(hash),
        }
    }
}

impl AheadJob {
    /// Executes the candidates on the parent's state and computes the
    /// roots. The store may commit the parent meanwhile: a key the parent
    /// changed is read from its changes either way, and tree nodes are
    /// named by their hash.
    pub fn run(self) -> Result<Ahead, ChainError> {
        let state = Layered::new(&*self.store, &self.parent_diff);
        let filled = fill(&state, self.ctx.clone(), &self.candidates)?;
        let nodes: HashMap<Hash, Node> = self.parent_nodes.into_iter().collect();
        let update = tree::update(
            &LayeredTree {
                base: self.store.tree_reader(),
                nodes: &nodes,
            },
            self.parent_root,
            &filled.outcome.diff.tree_changes(),
        )
        .map_err(|e| ChainError::Tree(e.to_string()))?;
        let next_validators =
            super::changed_validators(&filled.outcome)?.unwrap_or_else(|| self.validators.clone());
        Ok(Ahead {
            parent: self.parent,
            parts: Sealable {
                ctx: self.ctx,
                validators: self.validators,
                txs: filled.txs,
                outcome: filled.outcome,
                state_root: update.root,
                tree_nodes: update.new_nodes,
                next_validators,
            },
            failed: filled.failed,
            full: filled.full,
            seq: self.seq,
            truncated: self.truncated,
        })
    }
}

impl Chain {
    /// What building the block after `parent` ahead needs, if `parent` is
    /// an executed block for the next height and one of `keys` proposes
    /// the height after it in round 0. `now_ms` is the new block's time
    /// (at least one past the parent's).
    pub fn ahead_job(
        &self,
        parent: &Hash,
        now_ms: u64,
        keys: &[PublicKey],
    ) -> Result<Option<AheadJob>, ChainError> {
        let Some(executed) = self.executed.get(parent) else {
            return Ok(None);
        };
        let header = &executed.block.header;
        if header.height != self.head()?.next() {
            return Ok(None);
        }
        let height = header.height.next();
        let validators = match super::changed_validators(&executed.outcome)? {
            Some(set) => set,
            None => self.next_validators()?,
        };
        let Some(proposer) = validators
            .proposer(height, 0)
            .map(|v| v.consensus_key)
            .filter(|k| keys.contains(k))
        else {
            return Ok(None);
        };
        let diff = &executed.outcome.diff;
        let state = Layered::new(&*self.store, diff);
        let nonce_of = |a: &AccountId| nonce_in(&state, a);
        // Twice a block's worth (under the limits the parent leaves):
        // room for candidates that fail. A block that runs out of them is
        // not what building later would give, and is not sealed.
        let params = read_value::<ChainState>(&state, &StateKey::Chain)
            .map_err(|e| StorageError::Corrupt(e.to_string()))?
            .ok_or_else(|| StorageError::Corrupt("no chain record".into()))?
            .params;
        let (max_txs, max_bytes) = (
            2 * params.max_block_txs as usize,
            2 * params.max_block_bytes as usize,
        );
        let ready = self.mempool.ready(nonce_of);
        let (mut bytes, mut candidates) = (0, Vec::new());
        for v in &ready {
            bytes += v.size;
            if bytes > max_bytes || candidates.len() == max_txs {
                break;
            }
            candidates.push((*v).clone());
        }
        let truncated = candidates.len() < ready.len();
        Ok(Some(AheadJob {
            store: self.store.clone(),
            parent: *parent,
            parent_root: header.state_root,
            parent_diff: diff.clone(),
            parent_nodes: executed.tree_nodes.clone(),
            validators,
            ctx: BlockContext {
                chain_id: self.chain_id,
                height,
                timestamp_ms: now_ms.max(header.timestamp_ms + 1),
                proposer,
            },
            candidates,
            seq: self.mempool.arrivals(),
            truncated,
        }))
    }

    /// Keeps a block built ahead, until the next block is built.
    pub fn set_ahead(&mut self, ahead: Ahead) {
        self.ahead = Some(ahead);
    }

    /// The block built ahead, if it still holds for the block for
    /// `height` on `parent` by `proposer` at `now_ms`: the same parent,
    /// height and proposer, a timestamp at most [`MAX_AHEAD_AGE_MS`] old,
    /// and either full, or built from every ready transaction with none
    /// arrived in the mempool since. Then it holds as many transactions as
    /// building now would (the order of senders may differ: the pool
    /// orders them by their oldest pending transaction, the parent's
    /// included).
    pub(super) fn take_ahead(
        &mut self,
        height: Height,
        parent: Hash,
        now_ms: u64,
        proposer: PublicKey,
    ) -> Option<Ahead> {
        let ahead = self.ahead.take()?;
        let ctx = &ahead.parts.ctx;
        let usable = ahead.parent == parent
            && ctx.height == height
            && ctx.proposer == proposer
            && now_ms.saturating_sub(ctx.timestamp_ms) <= MAX_AHEAD_AGE_MS
            && (ahead.full || (!ahead.truncated && self.mempool.arrivals() == ahead.seq));
        if usable {
            tracing::debug!(
                height = height.0,
                txs = ahead.txs(),
                "sealing the block built ahead"
            );
            Some(ahead)
        } else {
            tracing::debug!(
                height = height.0,
                "the block built ahead is stale; building again"
            );
            None
        }
    }
}
