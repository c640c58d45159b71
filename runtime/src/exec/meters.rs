//! Generation meters: registration, approval, key changes, resync,
//! operator transfer, revocation, and minting from readings.

use super::ledger::{check_sequence_and_period, Ledger};
use crate::crypto::PublicKey;
use crate::error::TxError;
use crate::events::Event;
use crate::state::{DeviceOwner, Meter, MeterStatus, PendingKey, StateKey, StateReader};
use crate::tx::{GenerationReading, Serial, Signed, Text};
use crate::types::{
    plausible, within_one_hour, AccountId, Hour, MeterId, Source, Vintage, Watts, Wh, ZoneId,
};

/// The fields of a RegisterMeter body.
pub struct NewMeter<'a> {
    /// Serial number.
    pub serial: &'a Serial,
    /// Device key.
    pub device_key: PublicKey,
    /// Owner.
    pub owner: AccountId,
    /// Source.
    pub source: Source,
    /// Capacity.
    pub capacity: Watts,
    /// Zone.
    pub zone: &'a ZoneId,
    /// Baseline time.
    pub baseline_time: u64,
    /// Baseline counter.
    pub baseline_counter: Wh,
}

impl<R: StateReader + ?Sized> Ledger<'_, R> {
    pub(crate) fn meter(&self, id: MeterId) -> Result<Meter, TxError> {
        self.get(&StateKey::Meter(id))?
            .ok_or(TxError::UnknownMeter { meter: id })
    }

    fn put_meter(&mut self, m: &Meter) {
        self.put(&StateKey::Meter(m.id), m);
    }

    /// Refuses a device key already used by any meter or site (including
    /// pending keys).
    pub(crate) fn claim_device_key(
        &mut self,
        key: PublicKey,
        owner: DeviceOwner,
    ) -> Result<(), TxError> {
        if self
            .get::<DeviceOwner>(&StateKey::DeviceKey(key))?
            .is_some()
        {
            return Err(TxError::DeviceKeyInUse { key });
        }
        self.put(&StateKey::DeviceKey(key), &owner);
        Ok(())
    }

    pub(crate) fn claim_serial(
        &mut self,
        site: bool,
        serial: &Serial,
        owner: DeviceOwner,
    ) -> Result<(), TxError> {
        let key = StateKey::Serial(site, serial.as_str().to_string());
        if self.get::<DeviceOwner>(&key)?.is_some() || serial.as_str().is_empty() {
            return Err(TxError::SerialInUse {
                serial: serial.as_str().to_string(),
            });
        }
        self.put(&key, &owner);
        Ok(())
    }

    /// Checks a baseline time against block time: not older than the zone's
    /// max age and not later than block time plus skew.
    pub(crate) fn check_baseline(&self, time: u64, max_age_s: u64) -> Result<(), TxError> {
        let skew = self.chain()?.params.max_clock_skew_s;
        let now = self.now_s();
        let oldest = now.saturating_sub(max_age_s);
        let latest = now.saturating_add(skew);
        if time < oldest || time > latest {
            return Err(TxError::BaselineOutOfRange {
                got: time,
                oldest,
                latest,
            });
        }
        Ok(())
    }

    /// RegisterMeter, signed by the authority that will operate it.
    pub fn register_meter(&mut self, signer: &AccountId, m: NewMeter<'_>) -> Result<(), TxError> {
        let (_, policy) = self.live_zone(m.zone)?;
        if m.capacity.0 == 0 {
            return Err(TxError::ZeroPower { field: "capacity" });
        }
        self.check_baseline(m.baseline_time, policy.reading_max_age_s)?;
        let mut chain = self.chain()?;
        chain.next_meter += 1;
        let id = MeterId(chain.next_meter);
        self.put_chain(&chain);
        self.claim_serial(false, m.serial, DeviceOwner::Meter(id))?;
        self.claim_device_key(m.device_key, DeviceOwner::Meter(id))?;
        self.ensure_account(&m.owner)?;
        let meter = Meter::new(
            id,
            m.serial.clone(),
            m.device_key,
            m.owner,
            *signer,
            m.source,
            m.capacity,
            m.zone.clone(),
            MeterStatus::Pending,
            m.baseline_time,
            m.baseline_counter,
        );
        self.put_meter(&meter);
        self.emit(Event::MeterRegistered {
            meter: id,
            operator: *signer,
            owner: m.owner,
            zone: m.zone.clone(),
            source: m.source,
            capacity: m.capacity,
        });
        Ok(())
    }

    /// Makes sure an account record exists, so that a producer or site
    /// owner is a known signer.
    pub(crate) fn ensure_account(&mut self, id: &AccountId) -> Result<(), TxError> {
        if !self.account_exists(id)? {
            self.put_account(id, &Default::default());
        }
        Ok(())
    }

    /// ApproveMeter: activates a pending meter or a pending key change.
    pub fn approve_meter(&mut self, id: MeterId) -> Result<(), TxError> {
        let mut meter = self.meter(id)?;
        match (meter.status, meter.pending_key.take()) {
            (MeterStatus::Pending, None) => {
                meter.status = MeterStatus::Active;
            }
            (MeterStatus::Revoked, _) => {
                return Err(TxError::MeterStatus {
                    meter: id,
                    status: MeterStatus::Revoked,
                });
            }
            (_, Some(pending)) => {
                // The old key may have minted past the new baseline while the
                // change was pending; rewinding to the baseline would let the
                // new key mint those periods again.
                if pending.baseline_time < meter.last_end {
                    return Err(TxError::ResyncBackwards {
                        meter: id,
                        last_end: meter.last_end,
                        got: pending.baseline_time,
                    });
                }
                self.delete(&StateKey::DeviceKey(meter.device_key));
                meter.device_key = pending.device_key;
                meter.last_end = pending.baseline_time;
                meter.last_counter = pending.baseline_counter;
                meter.status = MeterStatus::Active;
            }
            (MeterStatus::Active, None) => return Err(TxError::NothingToApprove { meter: id }),
        }
        let device_key = meter.device_key;
        self.put_meter(&meter);
        self.emit(Event::MeterApproved {
            meter: id,
            device_key,
        });
        Ok(())
    }

    /// The checks shared by every re-baselining (key replacement, resync):
    /// the signer operates the meter, the meter is not revoked, and the new
    /// baseline is neither before the last period's end nor outside the
    /// zone's max age.
    fn rebaseline_target(&self, id: MeterId, baseline_time: u64) -> Result<Meter, TxError> {
        let meter = self.meter(id)?;
        if meter.status == MeterStatus::Revoked {
            return Err(TxError::MeterStatus {
                meter: id,
                status: meter.status,
            });
        }
        if baseline_time < meter.last_end {
            return Err(TxError::ResyncBackwards {
                meter: id,
                last_end: meter.last_end,
                got: baseline_time,
            });
        }
        let (_, policy) = self.live_zone(&meter.zone)?;
        self.check_baseline(baseline_time, policy.reading_max_age_s)?;
        Ok(meter)
    }

    /// ReplaceMeterKey: records a pending key; the old key keeps working
    /// until the regulator approves.
    pub fn replace_meter_key(
        &mut self,
        id: MeterId,
        new_key: PublicKey,
        baseline_time: u64,
        baseline_counter: Wh,
    ) -> Result<(), TxError> {
        let mut meter = self.rebaseline_target(id, baseline_time)?;
        if let Some(old) = meter.pending_key.take() {
            self.delete(&StateKey::DeviceKey(old.device_key));
        }
        self.claim_device_key(new_key, DeviceOwner::Meter(id))?;
        meter.pending_key = Some(PendingKey {
            device_key: new_key,
            baseline_time,
            baseline_counter,
        });
        let old_counter = meter.last_counter;
        self.put_meter(&meter);
        // A new device may start from a lower counter (only with the
        // regulator's approval): the record shows both.
        self.emit(Event::MeterKeyReplaced {
            meter: id,
            new_device_key: new_key,
            old_counter,
            new_counter: baseline_counter,
        });
        Ok(())
    }

    /// ResyncMeter: a new baseline after a gap; the gap's energy is
    /// forfeited, on record. The counter never goes down here.
    pub fn resync_meter(
        &mut self,
        id: MeterId,
        baseline_time: u64,
        baseline_counter: Wh,
    ) -> Result<(), TxError> {
        let mut meter = self.rebaseline_target(id, baseline_time)?;
        // A lower counter would make the device's next honest reading mint
        // its whole counter value again: an operator alone never lowers it.
        if baseline_counter < meter.last_counter {
            return Err(TxError::ResyncCounterDown {
                meter: id,
                last: meter.last_counter,
                got: baseline_counter,
            });
        }
        let forfeited = baseline_counter.saturating_sub(meter.last_counter);
        meter.last_end = baseline_time;
        meter.last_counter = baseline_counter;
        self.put_meter(&meter);
        self.emit(Event::MeterResynced {
            meter: id,
            baseline_time,
            forfeited,
        });
        Ok(())
    }

    /// TransferMeterOperator (regulator): the new operator must be an
    /// authority.
    pub fn transfer_meter_operator(
        &mut self,
        id: MeterId,
        new_operator: &AccountId,
    ) -> Result<(), TxError> {
        let mut meter = self.meter(id)?;
        if !self.chain()?.is_authority(new_operator) {
            return Err(TxError::NotPermitted {
                signer: *new_operator,
                role: "an authority",
            });
        }
        meter.operator = *new_operator;
        self.put_meter(&meter);
        self.emit(Event::MeterOperatorChanged {
            meter: id,
            operator: *new_operator,
        });
        Ok(())
    }

    /// RevokeMeter, by its operator or a regulator.
    pub fn revoke_meter(&mut self, id: MeterId, reason: &Text) -> Result<(), TxError> {
        let mut meter = self.meter(id)?;
        if meter.status == MeterStatus::Revoked {
            return Err(TxError::MeterStatus {
                meter: id,
                status: meter.status,
            });
        }
        meter.status = MeterStatus::Revoked;
        self.put_meter(&meter);
        self.emit(Event::MeterRevoked {
            meter: id,
            reason: reason.clone(),
        });
        Ok(())
    }

    /// One generation reading, whose device signature was verified under
    /// `verified_key`. Mints the delta to the owner.
    pub fn submit_reading(
        &mut self,
        signed: &Signed<GenerationReading>,
        verified_key: &PublicKey,
    ) -> Result<(), TxError> {
        let r = &signed.reading;
        let mut meter = self.meter(r.meter)?;
        if meter.status != MeterStatus::Active {
            return Err(TxError::MeterStatus {
                meter: meter.id,
                status: meter.status,
            });
        }
        if meter.device_key != *verified_key {
            return Err(TxError::BadDeviceSignature {
                device: format!("meter {}", meter.id),
                sequence: r.sequence,
            });
        }
        if r.flags != 0 {
            return Err(TxError::ReadingFlagged {
                meter: meter.id,
                sequence: r.sequence,
                flags: r.flags,
            });
        }
        check_sequence_and_period(
            || format!("meter {}", meter.id),
            meter.last_sequence,
            r.sequence,
            r.period_start,
            r.period_end,
        )?;
        if r.period_start != meter.last_end {
            if meter.last_sequence == 0 {
                return Err(TxError::FirstReadingNotAtBaseline {
                    meter: meter.id,
                    baseline: meter.last_end,
                    got: r.period_start,
                });
            }
            return Err(TxError::PeriodGap {
                meter: meter.id,
                expected: meter.last_end,
                got: r.period_start,
            });
        }
        if !within_one_hour(r.period_start, r.period_end) {
            return Err(TxError::PeriodCrossesHour {
                meter: meter.id,
                start: r.period_start,
                end: r.period_end,
            });
        }
        let (mut zone, policy) = self.live_zone(&meter.zone)?;
        let skew = self.chain()?.params.max_clock_skew_s;
        let now = self.now_s();
        let latest = now.saturating_add(skew);
        if r.period_end > latest {
            return Err(TxError::ReadingInFuture {
                device: format!("meter {}", meter.id),
                sequence: r.sequence,
                end: r.period_end,
                latest,
            });
        }
        let oldest = now.saturating_sub(policy.reading_max_age_s);
        if r.period_end < oldest {
            return Err(TxError::ReadingTooOld {
                meter: meter.id,
                sequence: r.sequence,
                end: r.period_end,
                oldest,
            });
        }
        let delta = r
            .counter
            .checked_sub(meter.last_counter)
            .ok_or(TxError::CounterWentDown {
                meter: meter.id,
                last: meter.last_counter,
                got: r.counter,
            })?;
        let duration_s = r.period_end - r.period_start;
        if !plausible(
            delta,
            meter.capacity,
            duration_s,
            policy.plausibility_tolerance_pct,
        ) {
            return Err(TxError::Implausible {
                meter: meter.id,
                sequence: r.sequence,
                delta,
                capacity: meter.capacity,
                duration_s,
            });
        }
        meter.last_sequence = r.sequence;
        meter.last_end = r.period_end;
        meter.last_counter = r.counter;
        meter.minted = meter.minted.checked_add(delta).ok_or(TxError::Overflow {
            what: "meter minted",
        })?;
        self.put_meter(&meter);
        if delta.is_zero() {
            return Ok(());
        }
        let vintage = Vintage {
            zone: meter.zone.clone(),
            hour: Hour::of_seconds(r.period_start),
        };
        zone.supply.minted = zone
            .supply
            .minted
            .checked_add(delta)
            .ok_or(TxError::Overflow {
                what: "zone minted",
            })?;
        zone.supply.held = zone
            .supply
            .held
            .checked_add(delta)
            .ok_or(TxError::Overflow { what: "zone held" })?;
        self.put_zone(&zone);
        self.add_credits(&meter.owner, &vintage, delta)?;
        // The vintage's expiry, in the due index (the same key for every
        // mint of one vintage).
        self.put(
            &StateKey::VintageExpiry(
                Hour(vintage.hour.0.saturating_add(policy.credit_lifetime_hours)),
                vintage.zone.clone(),
                vintage.hour,
            ),
            &(),
        );
        let hour = vintage.hour;
        self.emit(Event::Minted {
            meter: meter.id,
            sequence: r.sequence,
            owner: meter.owner,
            vintage,
            source: meter.source,
            amount: delta,
        });
        self.feeder_energy(
            crate::feeder::Attachee::Meter(meter.id),
            hour,
            delta,
            super::feeders::Flow::Generation,
        )
    }
}
