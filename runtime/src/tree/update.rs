//! Batch updates: one recursive descent over the sorted change set.
//!
//! The change set is split by key bit at every level, so each subtree is
//! visited once however many of its keys change, and each new node is built
//! and hashed once per batch. `k` changes in a tree of `n` leaves read and
//! write `O(k log n)` nodes.

use super::node::{bit, common_prefix_len, Node, KEY_BITS};
use super::read::fetch;
use super::{TreeError, TreeReader};
use crate::crypto::Hash;

/// The outcome of [`update`]: the new root and the nodes to store for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeUpdate {
    /// The root after the changes.
    pub root: Hash,
    /// Every node reachable from `root` that the tree being updated did not
    /// hold, with its hash, each once. A node that only an older root held
    /// (say, a key deleted and later set back) may be listed again; storing
    /// it twice is harmless, as the content under a hash never changes.
    pub new_nodes: Vec<(Hash, Node)>,
}

/// Applies `changes` to the tree with root `root` and returns the new root
/// and the nodes to store. `Some(value)` sets a key, `None` deletes it
/// (deleting an absent key does nothing). The changes may come in any order
/// and may name a key more than once: the last change of a key wins.
///
/// Nothing is written: the caller stores [`TreeUpdate::new_nodes`], and the
/// nodes of `root` stay valid, so older roots keep resolving.
pub fn update(
    reader: &impl TreeReader,
    root: Hash,
    changes: &[(Hash, Option<Hash>)],
) -> Result<TreeUpdate, TreeError> {
    let changes = normalize(changes);
    let mut batch = Batch {
        reader,
        new_nodes: Vec::new(),
    };
    let root = batch.descend(root, 0, &changes)?.hash();
    Ok(TreeUpdate {
        root,
        new_nodes: batch.new_nodes,
    })
}

/// Sorts the changes by key and keeps the last change of each key.
fn normalize(changes: &[(Hash, Option<Hash>)]) -> Vec<(Hash, Option<Hash>)> {
    let mut sorted = changes.to_vec();
    // Stable, so the changes of one key stay in the caller's order.
    sorted.sort_by_key(|change| change.0);
    let mut out: Vec<(Hash, Option<Hash>)> = Vec::with_capacity(sorted.len());
    for change in sorted {
        match out.last_mut() {
            Some(last) if last.0 == change.0 => *last = change,
            _ => out.push(change),
        }
    }
    out
}

/// A subtree after the batch, as much as its parent needs to know of it.
#[derive(Clone, Copy, Debug)]
enum Sub {
    /// No key.
    Empty,
    /// Exactly one key, as its leaf's hash; its parent may have to pull
    /// it up, which moves the leaf without changing it.
    Leaf(Hash),
    /// At least two keys.
    Internal(Hash),
    /// An untouched, non-empty subtree whose kind has not been read: it is
    /// only read if its sibling ends up empty, as it may then have to move up.
    Untouched(Hash),
}

impl Sub {
    fn hash(&self) -> Hash {
        match self {
            Sub::Empty => Hash::ZERO,
            Sub::Leaf(hash) | Sub::Internal(hash) | Sub::Untouched(hash) => *hash,
        }
    }
}

/// A key/value pair of a subtree being rebuilt from its pairs.
struct Item {
    key: Hash,
    value: Hash,
    /// The leaf is already stored (it is the subtree's old leaf, unchanged).
    stored: bool,
}

struct Batch<'r, R> {
    reader: &'r R,
    new_nodes: Vec<(Hash, Node)>,
}

impl<R: TreeReader> Batch<'_, R> {
    /// Applies `changes`, sorted, distinct and all under the subtree at
    /// `depth` whose hash is `hash`.
    fn descend(
        &mut self,
        hash: Hash,
        depth: usize,
        changes: &[(Hash, Option<Hash>)],
    ) -> Result<Sub, TreeError> {
        let Some((first_key, _)) = changes.first() else {
            return Ok(if hash == Hash::ZERO {
                Sub::Empty
            } else {
                Sub::Untouched(hash)
            });
        };
        if hash == Hash::ZERO {
            let items: Vec<Item> = changes
                .iter()
                .filter_map(|&(key, value)| {
                    value.map(|value| Item {
                        key,
                        value,
                        stored: false,
                    })
                })
                .collect();
            return self.build(depth, &items);
        }
        match fetch(self.reader, &hash)? {
            Node::Leaf { key, value } => {
                if common_prefix_len(&key, first_key) < depth {
                    return Err(TreeError::Corrupt {
                        hash,
                        reason: "leaf does not lie on its key's path",
                    });
                }
                let items = merge_leaf(changes, key, value);
                self.build(depth, &items)
            }
            Node::Internal { left, right } => {
                if depth >= KEY_BITS {
                    return Err(TreeError::Corrupt {
                        hash,
                        reason: "internal node below the deepest level",
                    });
                }
                let split = changes.partition_point(|(key, _)| !bit(key, depth));
                let (to_left, to_right) = changes.split_at(split);
                let new_left = self.descend(left, depth + 1, to_left)?;
                let new_right = self.descend(right, depth + 1, to_right)?;
                self.join(new_left, new_right, Some((hash, left, right)))
            }
        }
    }

    /// Builds the subtree at `depth` holding exactly `items` (sorted,
    /// distinct keys), writing every node not yet stored.
    fn build(&mut self, depth: usize, items: &[Item]) -> Result<Sub, TreeError> {
        match items {
            [] => Ok(Sub::Empty),
            [item] => {
                let node = Node::Leaf {
                    key: item.key,
                    value: item.value,
                };
                let hash = node.hash();
                if !item.stored {
                    self.new_nodes.push((hash, node));
                }
                Ok(Sub::Leaf(hash))
            }
            _ if depth >= KEY_BITS => Err(TreeError::Corrupt {
                // Unreachable: the items have distinct keys, and two distinct
                // keys differ in some bit above the deepest level.
                hash: Hash::ZERO,
                reason: "two leaves with the same key",
            }),
            _ => {
                let split = items.partition_point(|item| !bit(&item.key, depth));
                let (left, right) = items.split_at(split);
                let left = self.build(depth + 1, left)?;
                let right = self.build(depth + 1, right)?;
                self.join(left, right, None)
            }
        }
    }

    /// The subtree with children `left` and `right`, collapsed if it holds
    /// fewer than two keys. `old` is the internal node it replaces, as
    /// `(hash, left, right)`, so an unchanged node is not written again.
    fn join(
        &mut self,
        left: Sub,
        right: Sub,
        old: Option<(Hash, Hash, Hash)>,
    ) -> Result<Sub, TreeError> {
        let left = self.settle(left, &right)?;
        let right = self.settle(right, &left)?;
        match (left, right) {
            (Sub::Empty, Sub::Empty) => Ok(Sub::Empty),
            (leaf @ Sub::Leaf(_), Sub::Empty) | (Sub::Empty, leaf @ Sub::Leaf(_)) => Ok(leaf),
            _ => {
                let (left, right) = (left.hash(), right.hash());
                if let Some((hash, old_left, old_right)) = old {
                    if (old_left, old_right) == (left, right) {
                        return Ok(Sub::Internal(hash));
                    }
                }
                let node = Node::Internal { left, right };
                let hash = node.hash();
                self.new_nodes.push((hash, node));
                Ok(Sub::Internal(hash))
            }
        }
    }

    /// Reads what an untouched subtree is if its sibling is empty, since a
    /// lone leaf must then move up; otherwise leaves it unread.
    fn settle(&self, sub: Sub, sibling: &Sub) -> Result<Sub, TreeError> {
        match (sub, sibling) {
            (Sub::Untouched(hash), Sub::Empty) => Ok(match fetch(self.reader, &hash)? {
                Node::Leaf { .. } => Sub::Leaf(hash),
                Node::Internal { .. } => Sub::Internal(hash),
            }),
            _ => Ok(sub),
        }
    }
}

/// The pairs of a subtree that was the single leaf `(key, value)`, after
/// `changes`, in key order.
fn merge_leaf(changes: &[(Hash, Option<Hash>)], key: Hash, value: Hash) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::with_capacity(changes.len() + 1);
    let mut leaf_pending = true;
    for &(change_key, change_value) in changes {
        if leaf_pending && key < change_key {
            items.push(Item {
                key,
                value,
                stored: true,
            });
            leaf_pending = false;
        }
        if change_key == key {
            // The change replaces the old leaf.
            leaf_pending = false;
        }
        if let Some(new_value) = change_value {
            items.push(Item {
                key: change_key,
                value: new_value,
                stored: change_key == key && new_value == value,
            });
        }
    }
    if leaf_pending {
        items.push(Item {
            key,
            value,
            stored: true,
        });
    }
    items
}
