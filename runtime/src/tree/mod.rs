//! The state tree: a binary sparse Merkle tree with path compression, in the
//! style of Aptos' Jellyfish Merkle tree, that commits to every
//! `(key hash, value hash)` pair of the state in one 32-byte root.
//!
//! # Shape
//! Keys and values are 32-byte hashes; the caller hashes state keys with
//! [`Domain::StateKey`](crate::crypto::Domain::StateKey) and values with
//! [`Domain::StateValue`](crate::crypto::Domain::StateValue). A key's path
//! is its bits read most significant bit first (bit 0 is the top bit of byte
//! 0); bit 0 chooses the left child, bit 1 the right one.
//!
//! A leaf sits at the shortest prefix of its key that no other present key
//! shares: a subtree holding exactly one key *is* that key's leaf. Hence the
//! tree holds no node that could be collapsed:
//! - an empty subtree has hash [`Hash::ZERO`] and is never stored,
//! - an internal node never has two empty children,
//! - an internal node never has one leaf child and one empty child (that
//!   subtree holds one key, so it is the leaf itself).
//!
//! Every set of pairs therefore has exactly one tree, and the root depends
//! only on the set, never on the order or batching of the writes.
//!
//! # Hashing
//! With `H = Domain::StateNode.hash`:
//! - leaf: `H(0x00 || key || value)`,
//! - internal node: `H(0x01 || left || right)`, where an empty child is
//!   [`Hash::ZERO`],
//! - the empty tree: [`Hash::ZERO`].
//!
//! # Storage
//! Nodes are content-addressed: a [`Node`] is stored under its own hash, in
//! its borsh encoding (tag 0 = leaf, 1 = internal, then 64 bytes, which is
//! exactly the hash preimage). An update only adds nodes, so every old root
//! still resolves: the tree is archival until its owner prunes it. The tree
//! reads through [`TreeReader`] and returns what to write in a
//! [`TreeUpdate`]; it never writes itself.
//!
//! # Where to start
//! [`update`] applies a batch of changes, [`prove`] and [`Proof::verify`]
//! produce and check (non-)membership proofs, [`MemoryTree`] keeps the nodes
//! in memory.

mod memory;
mod node;
mod proof;
mod read;
mod update;

#[cfg(test)]
mod tests;

pub use memory::MemoryTree;
pub use node::{Node, KEY_BITS};
pub use proof::{prove, Proof, ProofError};
pub use read::get;
pub use update::{update, TreeUpdate};

use crate::crypto::Hash;
use std::collections::HashMap;

/// Read access to stored nodes by hash. The node crate implements it on its
/// database; [`MemoryTree`] implements it in memory.
pub trait TreeReader {
    /// The node stored under `hash`, or `None` if there is none. The tree
    /// checks that the node hashes to `hash`, so implementations need not.
    fn node(&self, hash: &Hash) -> Result<Option<Node>, TreeError>;
}

impl<T: TreeReader + ?Sized> TreeReader for &T {
    fn node(&self, hash: &Hash) -> Result<Option<Node>, TreeError> {
        (**self).node(hash)
    }
}

impl TreeReader for HashMap<Hash, Node> {
    fn node(&self, hash: &Hash) -> Result<Option<Node>, TreeError> {
        Ok(self.get(hash).copied())
    }
}

/// Why the tree could not be read or updated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// A node reachable from the root is not in the store.
    #[error("state tree node {hash} is missing")]
    MissingNode {
        /// The hash the node was looked up by.
        hash: Hash,
    },
    /// The node stored under a hash does not hash to it.
    #[error("state tree node stored under {expected} hashes to {got}")]
    HashMismatch {
        /// The hash the node was looked up by.
        expected: Hash,
        /// The hash of the node that came back.
        got: Hash,
    },
    /// A node hashes correctly but breaks the shape of the tree, so the
    /// store holds a tree this module never builds.
    #[error("state tree node {hash} is corrupt: {reason}")]
    Corrupt {
        /// The offending node.
        hash: Hash,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The backing store failed to read.
    #[error("state tree store failed: {reason}")]
    Store {
        /// The store's own description of the failure.
        reason: String,
    },
}
