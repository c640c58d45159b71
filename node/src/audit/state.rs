//! The auditor's own state: the current key-value map and the nodes of the
//! current state tree only.
//!
//! `MemoryState` keeps every tree node it ever held (it serves proofs at old
//! roots), so its memory grows with the chain. The auditor needs the current
//! root only: after an update the nodes no longer reachable from it are
//! dropped (mark and sweep whenever the node count has doubled since the
//! last sweep, so the cost per block stays constant on average). Memory is
//! then bounded by the state, however long the chain.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use watt_runtime::crypto::Hash;
use watt_runtime::state::{Entries, StateDiff, StateError, StateReader};
use watt_runtime::tree::{self, Node, TreeError, TreeReader};

/// Sweep no more often than this many nodes.
const MIN_SWEEP: usize = 4096;

/// Current state with a pruned state tree.
#[derive(Default)]
pub struct AuditState {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
    nodes: HashMap<Hash, Node>,
    root: Hash,
    live_after_sweep: usize,
}

impl AuditState {
    /// The state a diff (the genesis state) builds from nothing.
    pub fn from_diff(diff: &StateDiff) -> Result<Self, StateError> {
        let mut s = AuditState::default();
        s.apply(diff)?;
        Ok(s)
    }

    /// Applies a diff; returns the new state root.
    pub fn apply(&mut self, diff: &StateDiff) -> Result<Hash, StateError> {
        let update = self.tree_update(diff)?;
        Ok(self.commit(diff, update))
    }

    /// The first half of [`AuditState::apply`], which only reads: the new
    /// root and the tree nodes to add. The replay computes it while the
    /// next block's signatures are checked against this same state.
    pub fn tree_update(&self, diff: &StateDiff) -> Result<tree::TreeUpdate, StateError> {
        Ok(tree::update(&self.nodes, self.root, &diff.tree_changes())?)
    }

    /// The second half of [`AuditState::apply`]: writes the diff and the
    /// update [`AuditState::tree_update`] computed for it; returns the new
    /// root.
    pub fn commit(&mut self, diff: &StateDiff, update: tree::TreeUpdate) -> Hash {
        for (k, v) in &diff.0 {
            match v {
                Some(v) => {
                    self.entries.insert(k.clone(), v.clone());
                }
                None => {
                    self.entries.remove(k);
                }
            }
        }
        self.nodes.extend(update.new_nodes);
        self.root = update.root;
        if self.nodes.len() > MIN_SWEEP.max(self.live_after_sweep * 2) {
            self.sweep();
        }
        self.root
    }

    /// Drops every node the current root does not reach.
    fn sweep(&mut self) {
        let mut live = HashSet::with_capacity(self.live_after_sweep.max(16));
        let mut stack = vec![self.root];
        while let Some(h) = stack.pop() {
            if h == Hash::ZERO || !live.insert(h) {
                continue;
            }
            if let Some(Node::Internal { left, right }) = self.nodes.get(&h) {
                stack.push(*left);
                stack.push(*right);
            }
        }
        self.nodes.retain(|h, _| live.contains(h));
        self.nodes.shrink_to(live.len() * 2);
        self.live_after_sweep = self.nodes.len();
    }

    /// The state root.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> &BTreeMap<Vec<u8>, Vec<u8>> {
        &self.entries
    }

    /// Nodes held (for tests of the pruning).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

impl TreeReader for AuditState {
    fn node(&self, hash: &Hash) -> Result<Option<Node>, TreeError> {
        Ok(self.nodes.get(hash).copied())
    }
}

impl StateReader for AuditState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.entries.get(key).cloned())
    }

    fn scan(&self, from: &[u8], to: &[u8]) -> Result<Entries, StateError> {
        if from >= to {
            return Ok(Vec::new());
        }
        Ok(self
            .entries
            .range::<[u8], _>((Bound::Included(from), Bound::Excluded(to)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_keeps_the_root_and_bounds_the_nodes() {
        let mut pruned = AuditState::default();
        let mut full = watt_runtime::state::MemoryState::new();
        for round in 0..200u32 {
            let mut diff = StateDiff::default();
            for k in 0..100u32 {
                diff.0.insert(
                    k.to_be_bytes().to_vec(),
                    Some((round * 1000 + k).to_be_bytes().to_vec()),
                );
            }
            assert_eq!(pruned.apply(&diff).unwrap(), full.apply(&diff).unwrap());
        }
        assert!(pruned.node_count() < MIN_SWEEP * 2 + 400);
        assert!(full.tree().node_count() > 20 * pruned.node_count() / 2);
    }
}
