//! The ledger state: a sorted key-value map read through [`StateReader`],
//! changed only by applying a [`StateDiff`].
//!
//! Block execution reads through an [`Overlay`] on top of a reader and
//! produces a diff; it never writes to the reader. The in-memory
//! [`MemoryState`] serves tests, the genesis builder and the auditor; the
//! node implements [`StateReader`] on RocksDB.

mod feeders;
mod keys;
mod overlay;
mod sandbox;
mod values;

pub use feeders::{ClosedHour, Feeder, FeederAlert, FeederHour};
pub use keys::*;
pub use overlay::{Layered, Overlay};
pub use sandbox::{Curtailment, OrderSite, PendingWindow, Permit, Verdict, ZoneSandbox};
pub use values::*;

use crate::crypto::{Domain, Hash};
use crate::tree::{MemoryTree, TreeError};
use std::collections::BTreeMap;
use std::ops::Bound;

/// A failure to read state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The store failed.
    #[error("state store failed: {0}")]
    Store(StoreFailure),
    /// A stored value did not decode: the store is corrupt.
    #[error("stored value under key 0x{key} is corrupt: {reason}")]
    Corrupt {
        /// The key, hex.
        key: String,
        /// The decode error.
        reason: String,
    },
    /// The state tree failed.
    #[error(transparent)]
    Tree(#[from] TreeError),
}

/// Why the store behind a [`StateReader`] failed: its own error, kept
/// whole (the runtime does no I/O and knows no store's error type).
#[derive(Clone, Debug)]
pub struct StoreFailure(pub std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl StoreFailure {
    /// Wraps a store's error.
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreFailure(std::sync::Arc::new(e))
    }
}

impl std::fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Two failures are equal when they say the same (errors have no equality).
impl PartialEq for StoreFailure {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for StoreFailure {}

/// Key-value pairs from a range scan, in key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Read access to state, by encoded key.
pub trait StateReader {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;
    /// Every entry with `from <= key < to`, in ascending key order.
    fn scan(&self, from: &[u8], to: &[u8]) -> Result<Entries, StateError>;
}

/// Reads and decodes the value under a key; a value that does not decode is
/// reported as corrupt, naming the key.
pub fn read_value<T: borsh::BorshDeserialize>(
    reader: &(impl StateReader + ?Sized),
    key: &StateKey,
) -> Result<Option<T>, StateError> {
    let k = key.encode();
    match reader.get(&k)? {
        Some(v) => crate::encoding::decode(&v)
            .map(Some)
            .map_err(|e| StateError::Corrupt {
                key: hex::encode(&k),
                reason: e.to_string(),
            }),
        None => Ok(None),
    }
}

/// The changes a block makes: for each touched key, its new value or
/// `None` for a deletion. Sorted by key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateDiff(pub BTreeMap<Vec<u8>, Option<Vec<u8>>>);

impl StateDiff {
    /// The changes as state-tree updates: `(key hash, value hash)`.
    pub fn tree_changes(&self) -> Vec<(Hash, Option<Hash>)> {
        self.0
            .iter()
            .map(|(k, v)| (key_hash(k), v.as_deref().map(value_hash)))
            .collect()
    }

    /// Number of touched keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where a state key sits in the state tree.
pub fn key_hash(key: &[u8]) -> Hash {
    Domain::StateKey.hash(key)
}

/// What a state value's tree leaf commits to.
pub fn value_hash(value: &[u8]) -> Hash {
    Domain::StateValue.hash(value)
}

/// State held in memory with its state tree: for tests, genesis and the
/// auditor's replay.
#[derive(Clone, Debug, Default)]
pub struct MemoryState {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
    tree: MemoryTree,
}

impl MemoryState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a diff and updates the state tree; returns the new root.
    pub fn apply(&mut self, diff: &StateDiff) -> Result<Hash, StateError> {
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
        Ok(self.tree.apply(&diff.tree_changes())?)
    }

    /// The state root.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The state tree, for proofs.
    pub fn tree(&self) -> &MemoryTree {
        &self.tree
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> &BTreeMap<Vec<u8>, Vec<u8>> {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the state is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl StateReader for MemoryState {
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
