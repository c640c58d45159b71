//! Typed reads and writes over the block's [`Overlay`], and the event log.

use crate::encoding::{decode, encode};
use crate::error::TxError;
use crate::events::{Event, EventRecord};
use crate::exec::BlockContext;
use crate::state::{Account, ChainState, Overlay, StateError, StateKey, StateReader, Zone};
use crate::types::{AccountId, Hour, ZoneId, ZonePolicy};
use borsh::{BorshDeserialize, BorshSerialize};

/// The block being executed: its context, its buffered state and the
/// events emitted so far.
pub struct Ledger<'a, R: StateReader + ?Sized> {
    pub(crate) ov: Overlay<'a, R>,
    pub(crate) ctx: BlockContext,
    pub(crate) events: Vec<EventRecord>,
    pub(crate) tx_events: Vec<Event>,
}

/// Decodes a stored value, naming the key if it is corrupt.
pub(crate) fn decode_stored<T: BorshDeserialize>(
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StateError> {
    decode(bytes).map_err(|e| StateError::Corrupt {
        key: hex::encode(key),
        reason: e.to_string(),
    })
}

impl<'a, R: StateReader + ?Sized> Ledger<'a, R> {
    /// Reads and decodes a value.
    pub fn get<T: BorshDeserialize>(&self, key: &StateKey) -> Result<Option<T>, StateError> {
        let k = key.encode();
        match self.ov.get(&k)? {
            Some(bytes) => decode_stored(&k, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Encodes and writes a value.
    pub fn put<T: BorshSerialize>(&mut self, key: &StateKey, value: &T) {
        self.ov.put(key.encode(), encode(value));
    }

    /// Deletes a key.
    pub fn delete(&mut self, key: &StateKey) {
        self.ov.delete(key.encode());
    }

    /// Emits an event for the current transaction (or block step).
    pub fn emit(&mut self, event: Event) {
        self.tx_events.push(event);
    }

    /// The block time in unix seconds.
    pub fn now_s(&self) -> u64 {
        self.ctx.timestamp_ms / 1000
    }

    /// The block's hour.
    pub fn hour(&self) -> Hour {
        Hour::of_millis(self.ctx.timestamp_ms)
    }

    /// The chain singleton.
    pub fn chain(&self) -> Result<ChainState, StateError> {
        self.get(&StateKey::Chain)?
            .ok_or_else(|| StateError::Corrupt {
                key: "00".into(),
                reason: "chain record missing".into(),
            })
    }

    /// Writes the chain singleton.
    pub fn put_chain(&mut self, chain: &ChainState) {
        self.put(&StateKey::Chain, chain);
    }

    /// An account, or a fresh one if it was never seen.
    pub fn account(&self, id: &AccountId) -> Result<Account, StateError> {
        Ok(self.get(&StateKey::Account(*id))?.unwrap_or_default())
    }

    /// Whether an account record exists.
    pub fn account_exists(&self, id: &AccountId) -> Result<bool, StateError> {
        Ok(self.ov.get(&StateKey::Account(*id).encode())?.is_some())
    }

    /// Writes an account.
    pub fn put_account(&mut self, id: &AccountId, account: &Account) {
        self.put(&StateKey::Account(*id), account);
    }

    /// A zone, whether or not its policy is in force.
    pub fn zone(&self, id: &ZoneId) -> Result<Option<Zone>, StateError> {
        self.get(&StateKey::Zone(id.clone()))
    }

    /// A zone whose policy is in force, with that policy.
    pub fn live_zone(&self, id: &ZoneId) -> Result<(Zone, ZonePolicy), TxError> {
        match self.zone(id)? {
            Some(z) => match z.policy.clone() {
                Some(p) => Ok((z, p)),
                None => Err(TxError::UnknownZone { zone: id.clone() }),
            },
            None => Err(TxError::UnknownZone { zone: id.clone() }),
        }
    }

    /// Writes a zone.
    pub fn put_zone(&mut self, zone: &Zone) {
        self.put(&StateKey::Zone(zone.id.clone()), zone);
    }

    /// Moves the current step's events into the block's log.
    pub(crate) fn flush_events(&mut self, tx_index: Option<u32>) {
        for event in self.tx_events.drain(..) {
            self.events.push(EventRecord { tx_index, event });
        }
    }
}

/// The two rules every signed interval reading shares: its sequence is
/// the device's last plus 1, and its period is not empty. `device` names
/// the device in the error ("meter 3", "site 2", "feeder F head meter").
pub(crate) fn check_sequence_and_period(
    device: impl Fn() -> String,
    last_sequence: u64,
    sequence: u64,
    start: u64,
    end: u64,
) -> Result<(), TxError> {
    let expected_seq = last_sequence + 1;
    if sequence != expected_seq {
        return Err(TxError::ReadingOutOfOrder {
            device: device(),
            expected_seq,
            got_seq: sequence,
        });
    }
    if end <= start {
        return Err(TxError::EmptyPeriod {
            device: device(),
            sequence,
            start,
            end,
        });
    }
    Ok(())
}
