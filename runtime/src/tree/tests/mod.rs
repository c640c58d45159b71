//! Unit tests of the state tree; random-input properties live in
//! `tests/tree_props.rs`.

use super::*;
use crate::crypto::Domain;

mod proofs;
mod updates;

/// The key hash of counter `i`.
pub(super) fn key(i: u64) -> Hash {
    Domain::StateKey.hash(&i.to_le_bytes())
}

/// The value hash of counter `i`.
pub(super) fn value(i: u64) -> Hash {
    Domain::StateValue.hash(&i.to_le_bytes())
}

/// A key that is all zero but for its last byte, `last`.
pub(super) fn low_key(last: u8) -> Hash {
    let mut k = [0u8; 32];
    k[31] = last;
    Hash(k)
}

/// A tree holding keys `0..n`, key `i` with value `i`.
pub(super) fn tree_of(n: u64) -> MemoryTree {
    let mut tree = MemoryTree::new();
    let changes: Vec<_> = (0..n).map(|i| (key(i), Some(value(i)))).collect();
    tree.apply(&changes).expect("apply");
    tree
}
