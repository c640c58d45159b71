//! The mempool: verified transactions waiting for a block.
//!
//! Transactions arrive already decoded and signature-checked (in batches,
//! [`watt_runtime::verify::verify_txs`]); the verdict travels with them as a
//! [`VerifiedTx`] and is reused when the block executes. The pool orders each
//! sender's transactions by nonce, holds a limited number of future nonces,
//! refuses duplicates, caps the pool and each sender (evicting the least
//! ready transaction when full), and after every block drops what the block
//! included or made stale.

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use watt_runtime::crypto::Hash;
use watt_runtime::error::TxError;
use watt_runtime::exec::VerifiedTx;
use watt_runtime::types::{AccountId, Height};

/// Why a pending transaction left the pool without being included.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DropReason {
    /// The pool was full and it was the least ready.
    #[error("evicted from the full mempool")]
    Evicted,
    /// A block used its nonce or changed a device key it was signed
    /// against.
    #[error("block {height} made it stale (its nonce was used, or its device key changed)")]
    Stale {
        /// The block.
        height: Height,
    },
    /// It broke a rule when a block was built.
    #[error("invalid in block {height}: {error}")]
    InvalidInBlock {
        /// The block being built.
        height: Height,
        /// The rule it broke.
        error: TxError,
    },
}

impl DropReason {
    /// Whether the transaction itself is invalid (rather than outrun).
    pub fn is_invalid(&self) -> bool {
        matches!(self, DropReason::InvalidInBlock { .. })
    }

    /// Its name in the JSON API: the broken rule's (camelCase, see
    /// [`crate::service::dropped::rule_name`]), `evicted` or `stale`.
    pub fn rule(&self) -> String {
        match self {
            DropReason::Evicted => "evicted".into(),
            DropReason::Stale { .. } => "stale".into(),
            DropReason::InvalidInBlock { error, .. } => crate::service::dropped::rule_name(error),
        }
    }
}

/// Mempool limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Most transactions in the pool.
    pub max_txs: usize,
    /// Most encoded bytes in the pool.
    pub max_bytes: usize,
    /// Most transactions of one sender.
    pub max_per_sender: usize,
    /// How far beyond the sender's next nonce a transaction may be held.
    pub max_future_nonces: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_txs: 20_000,
            max_bytes: 64 << 20,
            max_per_sender: 1_024,
            max_future_nonces: 256,
        }
    }
}

/// Why a transaction was not added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddError {
    /// The pool already holds it.
    #[error("transaction {0} is already pending")]
    Duplicate(Hash),
    /// Its nonce was already used on chain.
    #[error("nonce {got} is stale: the next nonce of {sender} is {expected}")]
    NonceTooLow {
        /// The sender.
        sender: AccountId,
        /// The next nonce the chain expects.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// Its nonce is too far ahead of the sender's next one.
    #[error("nonce {got} is more than {max} ahead of the next nonce {expected} of {sender}")]
    NonceTooHigh {
        /// The sender.
        sender: AccountId,
        /// The next nonce the chain expects.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
        /// How far ahead is allowed.
        max: u64,
    },
    /// Another transaction of the sender with this nonce is pending.
    #[error("another transaction of {sender} with nonce {nonce} is pending")]
    NonceTaken {
        /// The sender.
        sender: AccountId,
        /// The nonce.
        nonce: u64,
    },
    /// The sender has too many pending transactions.
    #[error("{sender} already has {max} pending transactions")]
    SenderFull {
        /// The sender.
        sender: AccountId,
        /// The cap.
        max: usize,
    },
    /// The pool is full of transactions at least as ready as this one.
    #[error("the mempool is full")]
    PoolFull,
}

struct Entry {
    vtx: VerifiedTx,
    sender: AccountId,
    nonce: u64,
    /// Arrival order, for fairness between senders.
    seq: u64,
}

/// The pool.
pub struct Mempool {
    cfg: Config,
    by_hash: HashMap<Hash, Entry>,
    by_sender: BTreeMap<AccountId, BTreeMap<u64, Hash>>,
    bytes: usize,
    next_seq: u64,
}

impl Mempool {
    /// An empty pool.
    pub fn new(cfg: Config) -> Self {
        Mempool {
            cfg,
            by_hash: HashMap::new(),
            by_sender: BTreeMap::new(),
            bytes: 0,
            next_seq: 0,
        }
    }

    /// The nonce a sender's next transaction should carry, counting its
    /// pending ones that follow `chain_nonce` without a gap.
    pub fn next_nonce(&self, sender: &AccountId, chain_nonce: u64) -> u64 {
        let mut next = chain_nonce;
        if let Some(nonces) = self.by_sender.get(sender) {
            for n in nonces.range(chain_nonce..).map(|(n, _)| *n) {
                if n != next {
                    break;
                }
                next += 1;
            }
        }
        next
    }

    /// How many transactions were ever added: it changes exactly when one
    /// arrives, so a block built from the pool at one count is still what
    /// the pool would give while the count stays.
    pub fn arrivals(&self) -> u64 {
        self.next_seq
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Encoded bytes pending.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether a transaction is pending.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// A pending transaction.
    pub fn get(&self, hash: &Hash) -> Option<&VerifiedTx> {
        self.by_hash.get(hash).map(|e| &e.vtx)
    }

    /// Every pending transaction, in arrival order.
    pub fn pending(&self) -> Vec<&VerifiedTx> {
        let mut all: Vec<&Entry> = self.by_hash.values().collect();
        all.sort_by_key(|e| e.seq);
        all.into_iter().map(|e| &e.vtx).collect()
    }

    /// Adds a verified transaction; `next_nonce` is its sender's next nonce
    /// on chain. Returns the hashes evicted to make room.
    pub fn add(&mut self, vtx: VerifiedTx, next_nonce: u64) -> Result<Vec<Hash>, AddError> {
        let sender = vtx.tx.signer();
        let nonce = vtx.tx.unsigned.nonce;
        if self.by_hash.contains_key(&vtx.hash) {
            return Err(AddError::Duplicate(vtx.hash));
        }
        if nonce < next_nonce {
            return Err(AddError::NonceTooLow {
                sender,
                expected: next_nonce,
                got: nonce,
            });
        }
        if nonce - next_nonce > self.cfg.max_future_nonces {
            return Err(AddError::NonceTooHigh {
                sender,
                expected: next_nonce,
                got: nonce,
                max: self.cfg.max_future_nonces,
            });
        }
        let mine = self.by_sender.get(&sender);
        if mine.is_some_and(|m| m.contains_key(&nonce)) {
            return Err(AddError::NonceTaken { sender, nonce });
        }
        if mine.map_or(0, |m| m.len()) >= self.cfg.max_per_sender {
            return Err(AddError::SenderFull {
                sender,
                max: self.cfg.max_per_sender,
            });
        }
        let mut evicted = Vec::new();
        while self.by_hash.len() + 1 > self.cfg.max_txs
            || self.bytes + vtx.size > self.cfg.max_bytes
        {
            match self.eviction_victim(&sender, nonce - next_nonce, next_nonce) {
                Some(victim) => {
                    self.remove(&victim);
                    evicted.push(victim);
                }
                None => return Err(AddError::PoolFull),
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_sender
            .entry(sender)
            .or_default()
            .insert(nonce, vtx.hash);
        self.bytes += vtx.size;
        self.by_hash.insert(
            vtx.hash,
            Entry {
                vtx,
                sender,
                nonce,
                seq,
            },
        );
        Ok(evicted)
    }

    /// The least ready transaction to evict for a newcomer that is `ahead`
    /// nonces beyond its sender's next: the highest nonce of the sender
    /// with the most pending transactions, if that is further ahead (or
    /// belongs to a bigger sender) than the newcomer.
    fn eviction_victim(&self, newcomer: &AccountId, ahead: u64, _next: u64) -> Option<Hash> {
        let (sender, nonces) = self.by_sender.iter().max_by_key(|(s, m)| (m.len(), *s))?;
        let (&nonce, &hash) = nonces.iter().next_back()?;
        let newcomer_len = self.by_sender.get(newcomer).map_or(0, |m| m.len());
        let lowest = *nonces.keys().next()?;
        let victim_ahead = nonce - lowest;
        if sender != newcomer && (nonces.len() > newcomer_len + 1 || victim_ahead > ahead) {
            Some(hash)
        } else {
            None
        }
    }

    /// Removes a transaction.
    pub fn remove(&mut self, hash: &Hash) -> Option<VerifiedTx> {
        let e = self.by_hash.remove(hash)?;
        self.bytes -= e.vtx.size;
        if let Some(m) = self.by_sender.get_mut(&e.sender) {
            m.remove(&e.nonce);
            if m.is_empty() {
                self.by_sender.remove(&e.sender);
            }
        }
        Some(e.vtx)
    }

    /// Transactions ready for a block: for each sender, the run of
    /// consecutive nonces starting at its next nonce on chain; senders in
    /// order of their oldest pending transaction. A block builder takes
    /// them in this order while they fit the block limits.
    pub fn ready(&self, next_nonce: impl Fn(&AccountId) -> u64) -> Vec<&VerifiedTx> {
        let mut senders: Vec<(u64, &AccountId, &BTreeMap<u64, Hash>)> = self
            .by_sender
            .iter()
            .filter_map(|(s, m)| {
                let first = m
                    .values()
                    .filter_map(|h| self.by_hash.get(h))
                    .map(|e| e.seq)
                    .min()?;
                Some((first, s, m))
            })
            .collect();
        senders.sort_by_key(|(seq, _, _)| *seq);
        let mut out = Vec::new();
        for (_, sender, nonces) in senders {
            let start = next_nonce(sender);
            // The run of consecutive nonces from `start`.
            for ((&n, h), expect) in nonces.range(start..).zip(start..) {
                if n != expect {
                    break;
                }
                if let Some(e) = self.by_hash.get(h) {
                    out.push(&e.vtx);
                }
            }
        }
        out
    }

    /// After a block: drops what it included, what its nonces made stale,
    /// and what no longer passes `still_valid` (for example a reading whose
    /// meter key changed). Returns the dropped hashes that were not included.
    pub fn on_block(
        &mut self,
        included: &[Hash],
        senders: &[AccountId],
        next_nonce: impl Fn(&AccountId) -> u64,
        still_valid: impl Fn(&VerifiedTx) -> bool,
    ) -> Vec<Hash> {
        for h in included {
            self.remove(h);
        }
        let mut dropped: Vec<Hash> = Vec::new();
        // Only the block's senders' nonces moved: the others' pending
        // transactions are as fresh as before.
        let mut seen = std::collections::HashSet::new();
        for s in senders {
            if !seen.insert(s) {
                continue;
            }
            if let Some(nonces) = self.by_sender.get(s) {
                let next = next_nonce(s);
                dropped.extend(nonces.range(..next).map(|(_, h)| *h));
            }
        }
        let stale: std::collections::HashSet<Hash> = dropped.iter().copied().collect();
        for (h, e) in &self.by_hash {
            if !stale.contains(h) && !still_valid(&e.vtx) {
                dropped.push(*h);
            }
        }
        for h in &dropped {
            self.remove(h);
        }
        dropped
    }
}
