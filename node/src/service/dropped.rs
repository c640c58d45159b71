//! Transactions a block left out for breaking a ledger rule, remembered
//! for a while so `tx_getReceipt` can say why (watchers of
//! `tx_submitAndWatch` hear it as it happens; a client polling over HTTP
//! asks afterwards).
//!
//! The record is in memory only, bounded to the last [`MAX_DROPPED`]
//! dropped transactions (the oldest is forgotten first), and empty after a
//! restart.

use std::collections::{HashMap, VecDeque};
use watt_runtime::crypto::Hash;
use watt_runtime::types::Height;
use watt_runtime::TxError;

/// How many dropped transactions are remembered.
pub const MAX_DROPPED: usize = 10_000;

/// Why a transaction was left out of a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedTx {
    /// The block being built when it broke the rule.
    pub height: Height,
    /// The rule, in snake_case: `insufficient_balance`, `bad_nonce`, ...
    pub rule: String,
    /// The rule's message, in words.
    pub message: String,
}

impl DroppedTx {
    /// A transaction that broke `error` in the block at `height`.
    pub fn new(height: Height, error: &TxError) -> Self {
        DroppedTx {
            height,
            rule: rule_name(error),
            message: error.to_string(),
        }
    }
}

/// A rule's name in camelCase, from its [`TxError`] variant
/// (`InsufficientBalance { .. }` is `insufficientBalance`).
pub fn rule_name(error: &TxError) -> String {
    let debug = format!("{error:?}");
    let variant = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    // camelCase, like every enum tag in the JSON API.
    let mut chars = variant.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// The last [`MAX_DROPPED`] dropped transactions.
#[derive(Debug, Default)]
pub struct DroppedLog {
    by_hash: HashMap<Hash, DroppedTx>,
    /// `by_hash`'s keys, oldest first.
    order: VecDeque<Hash>,
}

impl DroppedLog {
    /// Remembers a dropped transaction (a later drop of the same one
    /// replaces the earlier), forgetting the oldest beyond the bound.
    pub fn record(&mut self, hash: Hash, dropped: DroppedTx) {
        if self.by_hash.insert(hash, dropped).is_some() {
            return;
        }
        self.order.push_back(hash);
        while self.order.len() > MAX_DROPPED {
            if let Some(old) = self.order.pop_front() {
                self.by_hash.remove(&old);
            }
        }
    }

    /// Why a transaction was dropped, if it is remembered.
    pub fn get(&self, hash: &Hash) -> Option<DroppedTx> {
        self.by_hash.get(hash).cloned()
    }

    /// How many are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_camel_case() {
        assert_eq!(rule_name(&TxError::ZeroAmount), "zeroAmount");
        assert_eq!(
            rule_name(&TxError::InsufficientBalance {
                available: watt_runtime::types::Wh(1),
                needed: watt_runtime::types::Wh(2),
            }),
            "insufficientBalance"
        );
    }

    #[test]
    fn the_oldest_is_forgotten_first() {
        let mut log = DroppedLog::default();
        let d = DroppedTx::new(Height(3), &TxError::ZeroAmount);
        for i in 0..=MAX_DROPPED as u64 {
            let mut h = [0u8; 32];
            h[..8].copy_from_slice(&i.to_le_bytes());
            log.record(Hash(h), d.clone());
        }
        assert_eq!(log.len(), MAX_DROPPED);
        assert_eq!(log.get(&Hash([0; 32])), None);
        let mut last = [0u8; 32];
        last[..8].copy_from_slice(&(MAX_DROPPED as u64).to_le_bytes());
        assert_eq!(log.get(&Hash(last)), Some(d));
    }
}
