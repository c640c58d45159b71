//! The state after a block as a [`StateReader`], so that the runtime's own
//! judges (a site's standing) answer for any `at` the way they answer in
//! block processing.
//!
//! At the head the flat current state answers, and a scan is exact. An
//! older block's state is only in the state tree, whose keys are hashed:
//! it answers point reads but has no key order to scan. A past scan
//! therefore reads, through that block's state root, the keys the current
//! state holds in the range, which is every key the block's state held in
//! it for the tables whose keys are never deleted. Of the tables that
//! lose keys, only the pending-order index is scanned by the standing,
//! and it is rebuilt from the orders themselves (below); any other range
//! is refused rather than answered wrong.

use super::context::{At, Ctx};
use std::collections::BTreeSet;
use watt_runtime::encoding::decode;
use watt_runtime::state::{
    tag, Curtailment, Entries, StateError, StateKey, StateReader, StoreFailure,
};

/// Tables whose keys, once written, stay: a past scan of them is the
/// current keys read as they were.
const KEPT: &[u8] = &[
    tag::SITE,
    tag::ZONE,
    tag::FEEDER,
    tag::ATTACHMENT,
    tag::FEEDER_BALANCE,
    tag::ZONE_SANDBOX,
    tag::PERMIT,
    tag::PERMIT_USAGE,
    tag::ORDER,
    tag::ORDER_SITE,
    tag::FEEDER_SITE,
];

/// The state after `at`.
pub struct StateAt<'a> {
    ctx: &'a Ctx,
    at: &'a At,
}

impl<'a> StateAt<'a> {
    /// The state after `at`, read through `ctx`'s store.
    pub fn new(ctx: &'a Ctx, at: &'a At) -> Self {
        StateAt { ctx, at }
    }

    /// A past scan: see the module's documentation.
    fn scan_past(&self, from: &[u8], to: &[u8]) -> Result<Entries, StateError> {
        let table = from.first().copied().unwrap_or_default();
        // One table at a time: `to` at most the start of the next table.
        if from.is_empty() || to > [table.saturating_add(1)].as_slice() {
            return Err(refused(from, to));
        }
        let mut keys: BTreeSet<Vec<u8>> = StateReader::scan(&*self.ctx.store, from, to)?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        if table == tag::PENDING_ORDER {
            keys.extend(self.pending_candidates(from, to)?);
        } else if !KEPT.contains(&table) {
            return Err(refused(from, to));
        }
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(v) = self.ctx.raw(self.at, &k)? {
                out.push((k, v));
            }
        }
        Ok(out)
    }

    /// Pending-order keys in `[from, to)` that the block may have held and
    /// the current state no longer does: orders given by then (numbers up
    /// to that block's order count) whose window had not ended at its
    /// time. An order whose window had ended by then (awaiting its
    /// verdict) is left out: it limits nobody, and when its verdict came
    /// depends on the settlement grace of its day.
    fn pending_candidates(&self, from: &[u8], to: &[u8]) -> Result<Vec<Vec<u8>>, StateError> {
        let count: u64 = match self.ctx.raw(self.at, &StateKey::OrderCount.encode())? {
            Some(b) => decode(&b).map_err(|e| corrupt(&StateKey::OrderCount.encode(), e))?,
            None => return Ok(Vec::new()),
        };
        let now_s = self.at.time_ms / 1000;
        let mut end = vec![tag::ORDER];
        end.extend_from_slice(&count.saturating_add(1).to_be_bytes());
        let mut out = Vec::new();
        for (k, v) in StateReader::scan(&*self.ctx.store, &[tag::ORDER], &end)? {
            let o: Curtailment = decode(&v).map_err(|e| corrupt(&k, e))?;
            // A cancel in the block's second may come after it: `>=`.
            let open = o.end > now_s && o.cancelled_at.is_none_or(|c| c >= now_s);
            if !open {
                continue;
            }
            let key = StateKey::PendingOrder(o.zone, o.id).encode();
            if key.as_slice() >= from && key.as_slice() < to {
                out.push(key);
            }
        }
        Ok(out)
    }
}

fn corrupt(key: &[u8], e: impl std::fmt::Display) -> StateError {
    StateError::Corrupt {
        key: hex::encode(key),
        reason: e.to_string(),
    }
}

/// A past scan of a range this reader cannot rebuild.
#[derive(Debug, thiserror::Error)]
#[error("a scan of 0x{from}..0x{to} at a past block is not supported")]
struct PastScanRefused {
    from: String,
    to: String,
}

fn refused(from: &[u8], to: &[u8]) -> StateError {
    StateError::Store(StoreFailure::new(PastScanRefused {
        from: hex::encode(from),
        to: hex::encode(to),
    }))
}

impl StateReader for StateAt<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.ctx.raw(self.at, key)
    }

    fn scan(&self, from: &[u8], to: &[u8]) -> Result<Entries, StateError> {
        // As `Ctx::raw`: the flat state if the head is still `at` after the
        // scan (a RocksDB iterator reads one snapshot).
        if self.ctx.at_head(self.at)? {
            let rows = StateReader::scan(&*self.ctx.store, from, to)?;
            if self.ctx.at_head(self.at)? {
                return Ok(rows);
            }
        }
        self.scan_past(from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_tables_are_the_ones_no_rule_deletes_from() {
        // The deleting tables: a past scan of them would miss keys.
        for t in [
            tag::HOLDER,
            tag::DEBT,
            tag::DEBT_DEADLINE,
            tag::DEVICE_KEY,
            tag::ZONE_ACTIVATION,
            tag::VINTAGE_EXPIRY,
            tag::FEEDER_HOUR,
            tag::FEEDER_DUE,
            tag::OPEN_ALERT,
            tag::FEEDER_PERMIT,
            tag::PENDING_ORDER,
            tag::ORDER_DUE,
        ] {
            assert!(!KEPT.contains(&t), "table {t:#04x}");
        }
    }
}
