//! Checked node reads and the single-key descent shared by lookups and proofs.

use super::node::{bit, common_prefix_len, Node, KEY_BITS};
use super::{TreeError, TreeReader};
use crate::crypto::Hash;

/// Reads the node stored under `hash` and checks that it is what the tree
/// could have written there: a store that returned another node (disk
/// corruption, a bug in the column mapping) would otherwise silently change
/// the state root this node computes.
pub(crate) fn fetch(reader: &impl TreeReader, hash: &Hash) -> Result<Node, TreeError> {
    let node = reader
        .node(hash)?
        .ok_or(TreeError::MissingNode { hash: *hash })?;
    let got = node.hash();
    if got != *hash {
        return Err(TreeError::HashMismatch {
            expected: *hash,
            got,
        });
    }
    if node
        == (Node::Internal {
            left: Hash::ZERO,
            right: Hash::ZERO,
        })
    {
        return Err(TreeError::Corrupt {
            hash: *hash,
            reason: "internal node with two empty children",
        });
    }
    Ok(node)
}

/// Follows `key`'s path from `root` until it ends in an empty subtree or a
/// leaf, calling `sibling` with each sibling hash from the root downward.
/// Returns the leaf the path ends in, whichever key it holds.
pub(crate) fn walk(
    reader: &impl TreeReader,
    root: Hash,
    key: &Hash,
    mut sibling: impl FnMut(Hash),
) -> Result<Option<(Hash, Hash)>, TreeError> {
    let mut hash = root;
    let mut depth = 0;
    loop {
        if hash == Hash::ZERO {
            return Ok(None);
        }
        match fetch(reader, &hash)? {
            Node::Leaf {
                key: leaf_key,
                value,
            } => {
                if common_prefix_len(&leaf_key, key) < depth {
                    return Err(TreeError::Corrupt {
                        hash,
                        reason: "leaf does not lie on its key's path",
                    });
                }
                return Ok(Some((leaf_key, value)));
            }
            Node::Internal { left, right } => {
                if depth >= KEY_BITS {
                    return Err(TreeError::Corrupt {
                        hash,
                        reason: "internal node below the deepest level",
                    });
                }
                let (next, other) = if bit(key, depth) {
                    (right, left)
                } else {
                    (left, right)
                };
                sibling(other);
                hash = next;
                depth += 1;
            }
        }
    }
}

/// The value hash stored under `key` in the tree with root `root`, or `None`
/// if the key is absent.
pub fn get(reader: &impl TreeReader, root: Hash, key: &Hash) -> Result<Option<Hash>, TreeError> {
    let leaf = walk(reader, root, key, |_| {})?;
    Ok(leaf.and_then(|(leaf_key, value)| (leaf_key == *key).then_some(value)))
}
