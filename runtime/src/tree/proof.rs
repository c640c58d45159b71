//! Membership and non-membership proofs.

use super::node::{bit, common_prefix_len, Node, KEY_BITS};
use super::read::walk;
use super::{TreeError, TreeReader};
use crate::crypto::Hash;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// A proof of what the tree holds under one key: the siblings along the
/// key's path and what the path ends in.
///
/// The path ends either in an empty subtree (`leaf` is `None`) or in a leaf,
/// which holds the key itself (membership) or another key sharing the whole
/// path so far (non-membership). `siblings[i]` is the hash of the subtree
/// beside the path at depth `i + 1`, i.e. the child of the path's node at
/// depth `i` that the key's bit `i` does not choose: siblings run from the
/// root downward, and the path ends at depth `siblings.len()`.
///
/// Encoded with borsh as `Option<(key, value)>` then a `u32`-prefixed list
/// of hashes. Decoding does not bound the list; [`Proof::verify`] refuses
/// more than [`KEY_BITS`] siblings.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Proof {
    /// The leaf the path ends in as `(key, value)`, or `None` if it ends in
    /// an empty subtree.
    pub leaf: Option<(Hash, Hash)>,
    /// The sibling hashes, from the root downward.
    pub siblings: Vec<Hash>,
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// More siblings than the tree has levels.
    #[error("proof has {got} siblings, more than the {max} levels of the tree")]
    TooManySiblings {
        /// The number of siblings in the proof.
        got: usize,
        /// The most a proof can have.
        max: usize,
    },
    /// The leaf holds a key that does not share the path the proof walks.
    #[error("proof leaf of key {leaf_key} is off the path of key {key} at depth {depth}")]
    LeafOffPath {
        /// The key the proof is about.
        key: Hash,
        /// The key of the proof's leaf.
        leaf_key: Hash,
        /// The depth of the leaf.
        depth: usize,
    },
    /// The path ends in a leaf or empty subtree beside an empty sibling, a
    /// shape the tree never has (such a subtree collapses into its parent).
    #[error("proof ends at depth {depth} beside an empty sibling, which the tree never stores")]
    NotCollapsed {
        /// The depth the path ends at.
        depth: usize,
    },
    /// The proof does not hash to the root.
    #[error("proof computes root {got}, expected {expected}")]
    RootMismatch {
        /// The trusted root.
        expected: Hash,
        /// The root the proof computes.
        got: Hash,
    },
    /// A value was claimed but the (authentic) proof shows the key absent.
    #[error("key {key} is absent, not holding {expected}")]
    Absent {
        /// The key.
        key: Hash,
        /// The claimed value.
        expected: Hash,
    },
    /// A value was claimed but the (authentic) proof shows another value.
    #[error("key {key} holds {got}, not {expected}")]
    ValueMismatch {
        /// The key.
        key: Hash,
        /// The claimed value.
        expected: Hash,
        /// The value the proof shows.
        got: Hash,
    },
    /// Absence was claimed but the (authentic) proof shows the key present.
    #[error("key {key} is present, holding {got}")]
    Present {
        /// The key.
        key: Hash,
        /// The value the proof shows.
        got: Hash,
    },
}

/// Proves what the tree with root `root` holds under `key`, present or not.
pub fn prove(reader: &impl TreeReader, root: Hash, key: &Hash) -> Result<Proof, TreeError> {
    let mut siblings = Vec::new();
    let leaf = walk(reader, root, key, |sibling| siblings.push(sibling))?;
    Ok(Proof { leaf, siblings })
}

impl Proof {
    /// Checks that the tree with root `root` holds `value` under `key`, or
    /// (`value` `None`) that it does not hold `key` at all.
    ///
    /// The proof is first checked against the root, so the claim errors
    /// ([`ProofError::Absent`], [`ProofError::ValueMismatch`],
    /// [`ProofError::Present`]) only come from authentic proofs and say what
    /// the tree does hold.
    pub fn verify(&self, root: &Hash, key: &Hash, value: Option<&Hash>) -> Result<(), ProofError> {
        let depth = self.siblings.len();
        if depth > KEY_BITS {
            return Err(ProofError::TooManySiblings {
                got: depth,
                max: KEY_BITS,
            });
        }
        // A leaf off the key's path could come from elsewhere in the tree.
        if let Some((leaf_key, _)) = &self.leaf {
            if common_prefix_len(leaf_key, key) < depth {
                return Err(ProofError::LeafOffPath {
                    key: *key,
                    leaf_key: *leaf_key,
                    depth,
                });
            }
        }
        // Beside an empty sibling, the path's end would have been collapsed
        // into its parent; refusing it keeps every proof canonical.
        if self.siblings.last() == Some(&Hash::ZERO) {
            return Err(ProofError::NotCollapsed { depth });
        }
        let got = self.computed_root(key);
        if got != *root {
            return Err(ProofError::RootMismatch {
                expected: *root,
                got,
            });
        }
        let held = self
            .leaf
            .and_then(|(leaf_key, leaf_value)| (leaf_key == *key).then_some(leaf_value));
        match (value, held) {
            (None, None) => Ok(()),
            (Some(expected), Some(got)) if *expected == got => Ok(()),
            (Some(expected), Some(got)) => Err(ProofError::ValueMismatch {
                key: *key,
                expected: *expected,
                got,
            }),
            (Some(expected), None) => Err(ProofError::Absent {
                key: *key,
                expected: *expected,
            }),
            (None, Some(got)) => Err(ProofError::Present { key: *key, got }),
        }
    }

    /// The root this proof hashes to along `key`'s path.
    fn computed_root(&self, key: &Hash) -> Hash {
        let end = match &self.leaf {
            Some((leaf_key, leaf_value)) => Node::leaf_hash(leaf_key, leaf_value),
            None => Hash::ZERO,
        };
        self.siblings
            .iter()
            .enumerate()
            .rev()
            .fold(end, |below, (depth, sibling)| {
                if bit(key, depth) {
                    Node::internal_hash(sibling, &below)
                } else {
                    Node::internal_hash(&below, sibling)
                }
            })
    }
}
