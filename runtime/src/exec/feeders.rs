//! Feeders and their hourly energy balance (SPEC section 11,
//! docs/protocol.md §17): registration, attachments from a named hour,
//! head-meter readings, declared loads, the hour close through a due index,
//! and unexplained-load alerts.

use super::ledger::{check_sequence_and_period, Ledger};
use crate::crypto::PublicKey;
use crate::error::TxError;
use crate::events::Event;
use crate::feeder::{
    Attachee, BalanceStatus, DeclaredLoad, FeederId, FeederReading, NewFeeder, MAX_ALERT_HOURS,
    MAX_FEEDERS,
};
use crate::state::{
    attachment_prefix, feeder_due_parts, tag, ClosedHour, DeviceOwner, Feeder, FeederAlert,
    FeederHour, MeterStatus, StateError, StateKey, StateReader,
};
use crate::tx::{Signed, Text};
use crate::types::{within_one_hour, Hour, Wh, ZoneId};
use std::collections::BTreeSet;

/// Which figure of an hour a meter's or site's energy adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// A generation meter's minted delta.
    Generation,
    /// A site's registered consumption.
    Consumption,
}

/// The unix second after which an hour closes: its end plus the grace.
fn close_after(hour: Hour, grace_s: u64) -> u64 {
    hour.0
        .saturating_add(1)
        .saturating_mul(3600)
        .saturating_add(grace_s)
}

impl<R: StateReader + ?Sized> Ledger<'_, R> {
    /// A feeder, or `UnknownFeeder`.
    pub(crate) fn feeder(&self, id: &FeederId) -> Result<Feeder, TxError> {
        self.get(&StateKey::Feeder(id.clone()))?
            .ok_or_else(|| TxError::UnknownFeeder { feeder: id.clone() })
    }

    fn put_feeder(&mut self, f: &Feeder) {
        self.put(&StateKey::Feeder(f.id.clone()), f);
    }

    /// RegisterFeeder (regulator).
    pub fn register_feeder(&mut self, n: &NewFeeder) -> Result<(), TxError> {
        if self
            .get::<Feeder>(&StateKey::Feeder(n.id.clone()))?
            .is_some()
        {
            return Err(TxError::FeederExists {
                feeder: n.id.clone(),
            });
        }
        let (_, policy) = self.live_zone(&n.zone)?;
        let count: u32 = self.get(&StateKey::FeederCount)?.unwrap_or(0);
        if count >= MAX_FEEDERS {
            return Err(TxError::InvalidParameter {
                field: "feeder",
                reason: format!("a chain has at most {MAX_FEEDERS} feeders"),
            });
        }
        if n.rated_capacity.0 == 0 {
            return Err(TxError::ZeroPower {
                field: "rated_capacity",
            });
        }
        let invalid = |field: &'static str, reason: &str| TxError::InvalidParameter {
            field,
            reason: reason.into(),
        };
        if n.loss_permille > 1000 {
            return Err(invalid("loss_permille", "at most 1000"));
        }
        if n.mining_share_permille > 1000 {
            return Err(invalid("mining_share_permille", "at most 1000"));
        }
        if n.alert_hours == 0 || n.alert_hours > MAX_ALERT_HOURS {
            return Err(invalid("alert_hours", "1 to 168"));
        }
        if n.baseline_time % 3600 != 0 {
            return Err(invalid("baseline_time", "must be on a whole UTC hour"));
        }
        self.check_baseline(n.baseline_time, policy.reading_max_age_s)?;
        self.claim_device_key(n.head_key, DeviceOwner::FeederHead(n.id.clone()))?;
        if let Some(k) = n.declared_key {
            self.claim_device_key(k, DeviceOwner::FeederDeclared(n.id.clone()))?;
        }
        let first_hour = Hour::of_seconds(n.baseline_time);
        let feeder = Feeder {
            id: n.id.clone(),
            zone: n.zone.clone(),
            rated_capacity: n.rated_capacity,
            loss_permille: n.loss_permille,
            alert_floor: n.alert_floor,
            alert_hours: n.alert_hours,
            mining_share_permille: n.mining_share_permille,
            head_key: n.head_key,
            declared_key: n.declared_key,
            head_sequence: 0,
            head_last_end: n.baseline_time,
            head_import: n.baseline_import,
            head_export: n.baseline_export,
            open_from: first_hour,
            run: 0,
            run_from: first_hour,
            run_energy: Wh(0),
            alert: None,
            registered_ms: self.ctx.timestamp_ms,
        };
        let grace = self.chain()?.params.settlement_grace_s;
        self.put(
            &StateKey::FeederDue(close_after(first_hour, grace), n.id.clone()),
            &(),
        );
        self.put_feeder(&feeder);
        self.put(&StateKey::FeederCount, &(count + 1));
        self.emit(Event::FeederRegistered {
            feeder: n.id.clone(),
            zone: n.zone.clone(),
            rated_capacity: n.rated_capacity,
            first_hour,
        });
        Ok(())
    }

    /// AttachToFeeder (regulator): from a whole hour at or after the next
    /// UTC hour of block time, so no hour already counted changes feeder.
    pub fn attach_to_feeder(
        &mut self,
        device: Attachee,
        feeder: &FeederId,
        from_hour: Hour,
    ) -> Result<(), TxError> {
        let f = self.feeder(feeder)?;
        let earliest = Hour(self.hour().0.saturating_add(1));
        if from_hour < earliest {
            return Err(TxError::AttachmentTooEarly {
                got: from_hour,
                earliest,
            });
        }
        let zone: ZoneId = match device {
            Attachee::Meter(id) => {
                let m = self.meter(id)?;
                if m.status == MeterStatus::Revoked {
                    return Err(TxError::MeterStatus {
                        meter: id,
                        status: m.status,
                    });
                }
                m.zone
            }
            Attachee::Site(id) => {
                let s = self.site(id)?;
                if s.revoked.is_some() {
                    return Err(TxError::SiteRevoked { site: id });
                }
                s.zone
            }
        };
        if zone != f.zone {
            return Err(TxError::FeederZone { device, zone });
        }
        if let Attachee::Site(site) = device {
            self.sandbox_attach(site, feeder)?;
        }
        self.put(&StateKey::Attachment(device, from_hour), feeder);
        self.emit(Event::FeederAttached {
            device,
            feeder: feeder.clone(),
            from_hour,
        });
        Ok(())
    }

    /// The feeder a device belongs to during `hour` (the latest attachment
    /// from that hour or before), if any.
    pub(crate) fn feeder_at(
        &self,
        device: Attachee,
        hour: Hour,
    ) -> Result<Option<FeederId>, TxError> {
        let from = attachment_prefix(&device);
        let mut to = from.clone();
        to.extend_from_slice(&hour.0.saturating_add(1).to_be_bytes());
        let rows = self.ov.scan(&from, &to)?;
        match rows.last() {
            Some((k, v)) => Ok(Some(super::ledger::decode_stored(k, v)?)),
            None => Ok(None),
        }
    }

    /// Adds a meter's generation or a site's consumption to the hour of
    /// the feeder the device belonged to during that hour; a closed hour
    /// stays closed and the energy is recorded as late.
    pub(crate) fn feeder_energy(
        &mut self,
        device: Attachee,
        hour: Hour,
        amount: Wh,
        flow: Flow,
    ) -> Result<(), TxError> {
        if amount.is_zero() {
            return Ok(());
        }
        let Some(id) = self.feeder_at(device, hour)? else {
            return Ok(());
        };
        let f = self.feeder(&id)?;
        if hour < f.open_from {
            self.emit(match device {
                Attachee::Site(site) => Event::LateFeederConsumption {
                    feeder: id,
                    site,
                    hour,
                    amount,
                },
                Attachee::Meter(meter) => Event::LateFeederGeneration {
                    feeder: id,
                    meter,
                    hour,
                    amount,
                },
            });
            return Ok(());
        }
        let key = StateKey::FeederHour(id, hour);
        let mut acc: FeederHour = self.get(&key)?.unwrap_or_default();
        let slot = match flow {
            Flow::Generation => &mut acc.generation,
            Flow::Consumption => &mut acc.consumption,
        };
        *slot = slot.checked_add(amount).ok_or(TxError::Overflow {
            what: "feeder hour",
        })?;
        self.put(&key, &acc);
        Ok(())
    }

    /// One head-meter reading, verified under `verified_key`.
    pub fn submit_feeder_reading(
        &mut self,
        signed: &Signed<FeederReading>,
        verified_key: &PublicKey,
    ) -> Result<(), TxError> {
        let r = &signed.reading;
        let mut f = self.feeder(&r.feeder)?;
        let device = || format!("feeder {} head meter", r.feeder);
        if f.head_key != *verified_key {
            return Err(TxError::BadDeviceSignature {
                device: device(),
                sequence: r.sequence,
            });
        }
        let refuse = |reason: String| TxError::HeadReading {
            feeder: r.feeder.clone(),
            sequence: r.sequence,
            reason,
        };
        if r.flags != 0 {
            return Err(refuse(format!(
                "flagged {:#05b} (tampered, substituted or out of range)",
                r.flags
            )));
        }
        check_sequence_and_period(
            device,
            f.head_sequence,
            r.sequence,
            r.period_start,
            r.period_end,
        )?;
        if r.period_start != f.head_last_end {
            return Err(refuse(format!(
                "period starts at {}, the last one ended at {}",
                r.period_start, f.head_last_end
            )));
        }
        if !within_one_hour(r.period_start, r.period_end) {
            return Err(refuse(format!(
                "period [{}, {}) crosses an hour boundary",
                r.period_start, r.period_end
            )));
        }
        let (_, policy) = self.live_zone(&f.zone)?;
        let now = self.now_s();
        let latest = now.saturating_add(self.chain()?.params.max_clock_skew_s);
        if r.period_end > latest {
            return Err(TxError::ReadingInFuture {
                device: device(),
                sequence: r.sequence,
                end: r.period_end,
                latest,
            });
        }
        let oldest = now.saturating_sub(policy.reading_max_age_s);
        if r.period_end < oldest {
            return Err(refuse(format!(
                "ends at {}, before the oldest allowed {oldest}",
                r.period_end
            )));
        }
        // A counter that goes down counts 0, resets the reference and makes
        // the hour unmetered.
        let mut down = false;
        let mut delta = |now: Wh, last: Wh, counter: &str, this: &mut Self| {
            now.checked_sub(last).unwrap_or_else(|| {
                down = true;
                this.emit(Event::FeederCounterWentDown {
                    feeder: r.feeder.clone(),
                    sequence: r.sequence,
                    counter: Text::new(counter).expect("a short name"),
                });
                Wh(0)
            })
        };
        let import = delta(r.import, f.head_import, "import", self);
        let export = delta(r.export, f.head_export, "export", self);
        f.head_sequence = r.sequence;
        f.head_last_end = r.period_end;
        f.head_import = r.import;
        f.head_export = r.export;
        let hour = Hour::of_seconds(r.period_start);
        if hour >= f.open_from {
            let key = StateKey::FeederHour(f.id.clone(), hour);
            let mut acc: FeederHour = self.get(&key)?.unwrap_or_default();
            let overflow = TxError::Overflow {
                what: "feeder hour",
            };
            acc.import = acc.import.checked_add(import).ok_or(overflow.clone())?;
            acc.export = acc.export.checked_add(export).ok_or(overflow)?;
            // Periods are contiguous and inside the hour: at most 3600.
            acc.head_seconds += (r.period_end - r.period_start) as u32;
            acc.counter_down |= down;
            self.put(&key, &acc);
        }
        self.put_feeder(&f);
        Ok(())
    }

    /// One declared-load aggregate, verified under `verified_key`: at most
    /// one per feeder and hour, only while the hour is open.
    pub fn submit_declared_load(
        &mut self,
        signed: &Signed<DeclaredLoad>,
        verified_key: &PublicKey,
    ) -> Result<(), TxError> {
        let d = &signed.reading;
        let f = self.feeder(&d.feeder)?;
        let refuse = |reason: &'static str| TxError::DeclaredLoad {
            feeder: d.feeder.clone(),
            hour: d.hour,
            reason,
        };
        if f.declared_key != Some(*verified_key) {
            return Err(TxError::BadDeviceSignature {
                device: format!("feeder {} declared load", d.feeder),
                sequence: d.hour.0,
            });
        }
        if d.hour < f.open_from {
            return Err(refuse("the hour is closed"));
        }
        if d.hour.start_seconds() > self.now_s() {
            return Err(refuse("the hour has not begun"));
        }
        let key = StateKey::FeederHour(f.id.clone(), d.hour);
        let mut acc: FeederHour = self.get(&key)?.unwrap_or_default();
        if acc.declared.is_some() {
            return Err(refuse("a declared load for this hour is on record already"));
        }
        acc.declared = Some(d.energy);
        self.put(&key, &acc);
        Ok(())
    }

    /// ClearFeederAlert (regulator): a new alert needs N new hours.
    pub fn clear_feeder_alert(&mut self, id: &FeederId, reason: &Text) -> Result<(), TxError> {
        let mut f = self.feeder(id)?;
        let alert = f
            .alert
            .take()
            .ok_or_else(|| TxError::NoFeederAlert { feeder: id.clone() })?;
        f.run = 0;
        f.run_energy = Wh(0);
        self.put_feeder(&f);
        self.delete(&StateKey::OpenAlert(id.clone()));
        self.emit(Event::FeederAlertCleared {
            feeder: id.clone(),
            from_hour: alert.from_hour,
            through_hour: alert.through_hour,
            reason: reason.clone(),
        });
        Ok(())
    }

    /// ResyncFeederMeter (regulator): a new baseline on a whole hour, not
    /// before the last reading's end; the hours between stay unmetered.
    pub fn resync_feeder_meter(
        &mut self,
        id: &FeederId,
        baseline_time: u64,
        import: Wh,
        export: Wh,
    ) -> Result<(), TxError> {
        let mut f = self.feeder(id)?;
        let (_, policy) = self.live_zone(&f.zone)?;
        if baseline_time % 3600 != 0 {
            return Err(TxError::InvalidParameter {
                field: "baseline_time",
                reason: "must be on a whole UTC hour".into(),
            });
        }
        if baseline_time < f.head_last_end {
            return Err(TxError::InvalidParameter {
                field: "baseline_time",
                reason: format!(
                    "{baseline_time} is before the head meter's last end {}",
                    f.head_last_end
                ),
            });
        }
        self.check_baseline(baseline_time, policy.reading_max_age_s)?;
        f.head_last_end = baseline_time;
        f.head_import = import;
        f.head_export = export;
        self.put_feeder(&f);
        self.emit(Event::FeederMeterResynced {
            feeder: id.clone(),
            baseline_time,
        });
        Ok(())
    }

    /// Begin-block step after debt deadlines: closes every due (hour,
    /// feeder), oldest hour first, then feeder order, through the due
    /// index: a block pays only for the feeders whose hour closes.
    pub(crate) fn close_feeder_hours(&mut self, grace_s: u64) -> Result<(), TxError> {
        let now = self.now_s();
        let mut to = vec![tag::FEEDER_DUE];
        to.extend_from_slice(&now.to_be_bytes());
        let mut due: BTreeSet<(Hour, FeederId)> = BTreeSet::new();
        for (k, _) in self.ov.scan(&[tag::FEEDER_DUE], &to)? {
            let (_, id) = feeder_due_parts(&k).ok_or_else(|| StateError::Corrupt {
                key: hex::encode(&k),
                reason: "malformed feeder due key".into(),
            })?;
            self.ov.delete(k);
            let f = self.feeder(&id)?;
            due.insert((f.open_from, id));
        }
        while let Some((hour, id)) = due.pop_first() {
            let mut f = self.feeder(&id)?;
            self.close_hour(&mut f, hour)?;
            let next = Hour(hour.0 + 1);
            f.open_from = next;
            if close_after(next, grace_s) < now {
                due.insert((next, id));
            } else {
                self.put(&StateKey::FeederDue(close_after(next, grace_s), id), &());
            }
            self.put_feeder(&f);
        }
        Ok(())
    }

    /// Closes one hour: the balance, overload, and the alert run.
    fn close_hour(&mut self, f: &mut Feeder, hour: Hour) -> Result<(), TxError> {
        let key = StateKey::FeederHour(f.id.clone(), hour);
        let acc: FeederHour = self.get(&key)?.unwrap_or_default();
        self.delete(&key);
        let fig = acc.figures();
        let unexplained = fig.unexplained(f.loss_permille);
        let status = if acc.metered(f.declared_key.is_some()) {
            fig.status(f.loss_permille, f.alert_floor)
        } else {
            BalanceStatus::Unmetered
        };
        let closed = ClosedHour {
            import: fig.import,
            export: fig.export,
            generation: fig.generation,
            consumption: fig.consumption,
            declared: fig.declared,
            allowance: fig.allowance(f.loss_permille),
            unexplained,
            status,
        };
        self.put(&StateKey::FeederBalance(f.id.clone(), hour), &closed);
        self.emit(Event::FeederBalance {
            feeder: f.id.clone(),
            hour,
            import: closed.import,
            export: closed.export,
            generation: closed.generation,
            consumption: closed.consumption,
            declared: closed.declared,
            allowance: closed.allowance,
            unexplained,
            status,
        });
        // Rated W over one hour is the same number of Wh.
        let capacity = Wh(f.rated_capacity.0);
        if fig.consumption > capacity || fig.import > capacity {
            self.emit(Event::FeederOverload {
                feeder: f.id.clone(),
                hour,
                import: fig.import,
                consumption: fig.consumption,
                capacity,
            });
        }
        match status {
            BalanceStatus::Unexplained => {
                let x = Wh(u64::try_from(unexplained).unwrap_or(u64::MAX));
                if let Some(a) = &mut f.alert {
                    a.through_hour = hour;
                    a.hours += 1;
                    a.unexplained = a.unexplained.saturating_add(x);
                    let a = a.clone();
                    self.emit_alert(&f.id, &a);
                } else {
                    if f.run == 0 {
                        f.run_from = hour;
                        f.run_energy = Wh(0);
                    }
                    f.run += 1;
                    f.run_energy = f.run_energy.saturating_add(x);
                    if f.run >= u32::from(f.alert_hours) {
                        let a = FeederAlert {
                            from_hour: f.run_from,
                            through_hour: hour,
                            hours: f.run,
                            unexplained: f.run_energy,
                        };
                        self.emit_alert(&f.id, &a);
                        self.put(&StateKey::OpenAlert(f.id.clone()), &());
                        f.alert = Some(a);
                        f.run = 0;
                        f.run_energy = Wh(0);
                    }
                }
            }
            BalanceStatus::Balanced | BalanceStatus::Negative => {
                f.run = 0;
                f.run_energy = Wh(0);
            }
            // Neither counts nor resets the run.
            BalanceStatus::Unmetered => {}
        }
        Ok(())
    }

    fn emit_alert(&mut self, id: &FeederId, a: &FeederAlert) {
        self.emit(Event::UnexplainedLoad {
            feeder: id.clone(),
            from_hour: a.from_hour,
            through_hour: a.through_hour,
            hours: a.hours,
            unexplained: a.unexplained,
        });
    }
}
