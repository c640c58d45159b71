//! An in-memory node store with a current root, for tests and for state that
//! lives in memory.

use super::{get, prove, update, Node, Proof, TreeError, TreeReader};
use crate::crypto::Hash;
use std::collections::HashMap;

/// A state tree whose nodes live in a `HashMap`. It never drops a node, so
/// every root it ever had still resolves through [`TreeReader`] and the free
/// functions ([`get`], [`prove`], [`update`]).
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    nodes: HashMap<Hash, Node>,
    root: Hash,
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// How many nodes are stored, for all roots together.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Applies `changes` as [`update`] does, stores the new nodes and makes
    /// the new root current. On error nothing changes.
    pub fn apply(&mut self, changes: &[(Hash, Option<Hash>)]) -> Result<Hash, TreeError> {
        let result = update(&*self, self.root, changes)?;
        self.nodes.extend(result.new_nodes);
        self.root = result.root;
        Ok(self.root)
    }

    /// The value under `key` at the current root.
    pub fn get(&self, key: &Hash) -> Result<Option<Hash>, TreeError> {
        get(self, self.root, key)
    }

    /// A proof for `key` at the current root.
    pub fn prove(&self, key: &Hash) -> Result<Proof, TreeError> {
        prove(self, self.root, key)
    }
}

impl TreeReader for MemoryTree {
    fn node(&self, hash: &Hash) -> Result<Option<Node>, TreeError> {
        self.nodes.node(hash)
    }
}
