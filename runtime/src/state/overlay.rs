//! Buffered writes over a reader, with per-transaction rollback.

use super::{Entries, StateDiff, StateError, StateReader};
use std::collections::BTreeMap;
use std::ops::Bound;

/// Changes by key: a value written, or `None` for a key deleted.
type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Every live entry with `from <= key < to` of `base` with `layers` written
/// over it, oldest layer first.
fn scan_through<R: StateReader + ?Sized, const N: usize>(
    base: &R,
    layers: [&Changes; N],
    from: &[u8],
    to: &[u8],
) -> Result<Entries, StateError> {
    if from >= to {
        return Ok(Vec::new());
    }
    let mut merged: Changes = base
        .scan(from, to)?
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    let range = (Bound::Included(from), Bound::Excluded(to));
    for layer in layers {
        for (k, v) in layer.range::<[u8], _>(range) {
            merged.insert(k.clone(), v.clone());
        }
    }
    Ok(merged
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect())
}

/// Reads through to a base reader, buffering writes in two layers: the
/// block's committed changes and the current transaction's. A failing
/// transaction's layer is dropped; a successful one is folded into the
/// block's.
pub struct Overlay<'a, R: ?Sized> {
    base: &'a R,
    block: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    tx: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a, R: StateReader + ?Sized> Overlay<'a, R> {
    /// An overlay with no changes.
    pub fn new(base: &'a R) -> Self {
        Overlay {
            base,
            block: BTreeMap::new(),
            tx: BTreeMap::new(),
        }
    }

    /// Reads a key, newest layer first.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        if let Some(v) = self.tx.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.block.get(key) {
            return Ok(v.clone());
        }
        self.base.get(key)
    }

    /// Writes a key in the current transaction's layer.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.tx.insert(key, Some(value));
    }

    /// Deletes a key in the current transaction's layer.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.tx.insert(key, None);
    }

    /// Every live entry with `from <= key < to`, merging the layers.
    pub fn scan(&self, from: &[u8], to: &[u8]) -> Result<Entries, StateError> {
        scan_through(self.base, [&self.block, &self.tx], from, to)
    }

    /// Keeps the current transaction's writes.
    pub fn commit_tx(&mut self) {
        let tx = std::mem::take(&mut self.tx);
        self.block.extend(tx);
    }

    /// Drops the current transaction's writes.
    pub fn rollback_tx(&mut self) {
        self.tx.clear();
    }

    /// The block's committed changes (the current transaction's, if any,
    /// are dropped).
    pub fn into_diff(self) -> StateDiff {
        StateDiff(self.block)
    }
}

/// A state as it will be once a block's changes are written: reads go to
/// `diff` first (a deleted key reads as absent), then to `base`. A block
/// built on a parent that is not final yet executes against this.
pub struct Layered<'a, R: ?Sized> {
    base: &'a R,
    diff: &'a StateDiff,
}

impl<'a, R: StateReader + ?Sized> Layered<'a, R> {
    /// `base` with `diff` written over it.
    pub fn new(base: &'a R, diff: &'a StateDiff) -> Self {
        Layered { base, diff }
    }
}

impl<R: StateReader + ?Sized> StateReader for Layered<'_, R> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.diff.0.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.base.get(key),
        }
    }

    fn scan(&self, from: &[u8], to: &[u8]) -> Result<Entries, StateError> {
        scan_through(self.base, [&self.diff.0], from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MemoryState;

    #[test]
    fn a_layered_state_reads_as_the_base_with_the_diff_written() {
        let mut base = MemoryState::new();
        let mut init = StateDiff::default();
        for k in [b"a", b"b", b"c"] {
            init.0.insert(k.to_vec(), Some(k.to_vec()));
        }
        base.apply(&init).unwrap();
        let mut diff = StateDiff::default();
        diff.0.insert(b"b".to_vec(), None);
        diff.0.insert(b"c".to_vec(), Some(b"C".to_vec()));
        diff.0.insert(b"d".to_vec(), Some(b"D".to_vec()));
        let layered = Layered::new(&base, &diff);
        let mut written = base.clone();
        written.apply(&diff).unwrap();
        for k in [&b"a"[..], b"b", b"c", b"d", b"e"] {
            assert_eq!(
                layered.get(k).unwrap(),
                written.get(k).unwrap(),
                "key {k:?}"
            );
        }
        assert_eq!(
            layered.scan(b"a", b"z").unwrap(),
            written.scan(b"a", b"z").unwrap()
        );
        assert_eq!(
            layered.scan(b"b", b"d").unwrap(),
            vec![(b"c".to_vec(), b"C".to_vec())]
        );
        assert!(layered.scan(b"d", b"a").unwrap().is_empty());
    }
}
