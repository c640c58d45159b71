//! Mining sites: registration, regulator actions, consumption readings
//! (burn to run), open debts, shortfalls and their settlement.

use super::ledger::{check_sequence_and_period, Ledger};
use crate::crypto::PublicKey;
use crate::error::TxError;
use crate::events::Event;
use crate::state::{Debt, DeviceOwner, Site, StateKey, StateReader, ViolationKind};
use crate::tx::{ConsumptionReading, NamedVintages, Serial, Signed, Text, FLAG_TAMPERED};
use crate::types::{
    attributed_hour, permille_ceil, plausible, within_one_hour, AccountId, Bucket, SiteId, Watts,
    Wh, ZoneId,
};

impl<R: StateReader + ?Sized> Ledger<'_, R> {
    pub(crate) fn site(&self, id: SiteId) -> Result<Site, TxError> {
        self.get(&StateKey::Site(id))?
            .ok_or(TxError::UnknownSite { site: id })
    }

    fn put_site(&mut self, s: &Site) {
        self.put(&StateKey::Site(s.id), s);
    }

    /// RegisterSite (regulator), within the zone's mining cap.
    #[allow(clippy::too_many_arguments)]
    pub fn register_site(
        &mut self,
        serial: &Serial,
        device_key: PublicKey,
        owner: &AccountId,
        zone_id: &ZoneId,
        max_draw: Watts,
        baseline_time: u64,
        baseline_counter: Wh,
    ) -> Result<(), TxError> {
        let (mut zone, policy) = self.live_zone(zone_id)?;
        if max_draw.0 == 0 {
            return Err(TxError::ZeroPower { field: "max_draw" });
        }
        let would_be = Watts(zone.live_max_draw.0.saturating_add(max_draw.0));
        if would_be > policy.mining_cap_w {
            return Err(TxError::MiningCapExceeded {
                zone: zone_id.clone(),
                cap: policy.mining_cap_w,
                would_be,
            });
        }
        self.check_baseline(baseline_time, policy.reading_max_age_s)?;
        let mut chain = self.chain()?;
        chain.next_site += 1;
        let id = SiteId(chain.next_site);
        self.put_chain(&chain);
        self.claim_serial(true, serial, DeviceOwner::Site(id))?;
        self.claim_device_key(device_key, DeviceOwner::Site(id))?;
        self.ensure_account(owner)?;
        zone.live_max_draw = would_be;
        self.put_zone(&zone);
        let site = Site::new(
            id,
            serial.clone(),
            device_key,
            *owner,
            zone_id.clone(),
            max_draw,
            baseline_time,
            baseline_counter,
            self.ctx.timestamp_ms,
        );
        self.put_site(&site);
        self.emit(Event::SiteRegistered {
            site: id,
            owner: *owner,
            zone: zone_id.clone(),
            max_draw,
        });
        Ok(())
    }

    fn live_site(&self, id: SiteId) -> Result<Site, TxError> {
        let site = self.site(id)?;
        if site.revoked.is_some() {
            return Err(TxError::SiteRevoked { site: id });
        }
        Ok(site)
    }

    /// SuspendSite (regulator).
    pub fn suspend_site(&mut self, id: SiteId, reason: &Text) -> Result<(), TxError> {
        let mut site = self.live_site(id)?;
        site.regulator_suspension = Some(reason.clone());
        self.put_site(&site);
        self.emit(Event::SiteSuspended {
            site: id,
            reason: reason.clone(),
        });
        Ok(())
    }

    /// ReinstateSite (regulator): the only way out of a regulator, overdraw
    /// or anomaly suspension. A shortfall stays until settled.
    pub fn reinstate_site(&mut self, id: SiteId, reason: &Text) -> Result<(), TxError> {
        let mut site = self.live_site(id)?;
        if site.regulator_suspension.is_none() && site.anomaly.is_none() {
            return Err(TxError::SiteNotSuspended { site: id });
        }
        site.regulator_suspension = None;
        site.anomaly = None;
        self.put_site(&site);
        self.emit(Event::SiteReinstated {
            site: id,
            reason: reason.clone(),
        });
        Ok(())
    }

    /// RevokeSite (regulator): frees its share of the zone's mining cap.
    pub fn revoke_site(&mut self, id: SiteId, reason: &Text) -> Result<(), TxError> {
        let mut site = self.live_site(id)?;
        site.revoked = Some(reason.clone());
        self.sandbox_site_revoked(id)?;
        if let Some(mut zone) = self.zone(&site.zone)? {
            zone.live_max_draw = Watts(zone.live_max_draw.0.saturating_sub(site.max_draw.0));
            self.put_zone(&zone);
        }
        self.put_site(&site);
        self.emit(Event::SiteRevoked {
            site: id,
            reason: reason.clone(),
        });
        Ok(())
    }

    /// ReplaceSiteKey (regulator): takes effect at once.
    pub fn replace_site_key(
        &mut self,
        id: SiteId,
        new_key: PublicKey,
        baseline_time: u64,
        baseline_counter: Wh,
    ) -> Result<(), TxError> {
        let mut site = self.live_site(id)?;
        let (_, policy) = self.live_zone(&site.zone)?;
        self.check_baseline(baseline_time, policy.reading_max_age_s)?;
        self.claim_device_key(new_key, DeviceOwner::Site(id))?;
        self.delete(&StateKey::DeviceKey(site.device_key));
        site.device_key = new_key;
        site.last_end = baseline_time;
        site.last_counter = baseline_counter;
        self.put_site(&site);
        self.emit(Event::SiteKeyReplaced {
            site: id,
            new_device_key: new_key,
        });
        Ok(())
    }

    pub(crate) fn violation(
        &mut self,
        site: &mut Site,
        kind: ViolationKind,
        sequence: Option<u64>,
        detail: String,
    ) {
        if kind != ViolationKind::Unbacked {
            site.anomaly = Some(site.anomaly.unwrap_or(kind));
        }
        self.emit(Event::Violation {
            site: site.id,
            violation: kind,
            sequence,
            detail,
        });
    }

    /// One consumption reading, verified under `verified_key`. Malformed
    /// readings are refused; every other anomaly is recorded and suspends.
    pub fn submit_consumption(
        &mut self,
        signed: &Signed<ConsumptionReading>,
        verified_key: &PublicKey,
    ) -> Result<(), TxError> {
        let r = &signed.reading;
        let mut site = self.site(r.site)?;
        let device = || format!("site {}", r.site);
        if site.device_key != *verified_key {
            return Err(TxError::BadDeviceSignature {
                device: device(),
                sequence: r.sequence,
            });
        }
        check_sequence_and_period(
            device,
            site.last_sequence,
            r.sequence,
            r.period_start,
            r.period_end,
        )?;
        let chain = self.chain()?;
        let latest = self.now_s().saturating_add(chain.params.max_clock_skew_s);
        if r.period_end > latest {
            return Err(TxError::ReadingInFuture {
                device: device(),
                sequence: r.sequence,
                end: r.period_end,
                latest,
            });
        }
        let (_, policy) = self.live_zone(&site.zone)?;
        let seq = Some(r.sequence);

        // Anomalies: recorded, suspending, never refused.
        let delta = match r.counter.checked_sub(site.last_counter) {
            Some(d) => d,
            None => {
                let detail = format!(
                    "counter went down from {} to {}",
                    site.last_counter, r.counter
                );
                self.violation(&mut site, ViolationKind::CounterWentDown, seq, detail);
                Wh(0)
            }
        };
        if r.flags != 0 {
            let what = if r.flags & FLAG_TAMPERED != 0 {
                "tamper"
            } else {
                "status"
            };
            self.violation(
                &mut site,
                ViolationKind::Flagged,
                seq,
                format!("{what} flags {:#05b}", r.flags),
            );
        }
        if r.period_start != site.last_end {
            let detail = format!(
                "period starts at {}, the last one ended at {}",
                r.period_start, site.last_end
            );
            self.violation(&mut site, ViolationKind::PeriodGap, seq, detail);
        }
        if !within_one_hour(r.period_start, r.period_end) {
            let detail = format!(
                "period [{}, {}) spans several hours",
                r.period_start, r.period_end
            );
            self.violation(&mut site, ViolationKind::MultiHour, seq, detail);
        }
        let duration_s = r.period_end - r.period_start;
        if !plausible(
            delta,
            site.max_draw,
            duration_s,
            policy.plausibility_tolerance_pct,
        ) {
            let detail = format!(
                "{delta} Wh in {duration_s} s exceeds max draw {} W",
                site.max_draw
            );
            self.violation(&mut site, ViolationKind::OverDraw, seq, detail);
        }

        site.last_sequence = r.sequence;
        site.last_end = r.period_end;
        site.last_counter = r.counter;
        site.last_seen_ms = self.ctx.timestamp_ms;
        site.consumed = site.consumed.checked_add(delta).ok_or(TxError::Overflow {
            what: "site consumed",
        })?;
        let hour = attributed_hour(r.period_end);
        self.sandbox_consumption(&mut site, r, delta, hour)?;
        let bucket = Bucket::containing(policy.matching_window, hour);
        self.emit(Event::Consumed {
            site: site.id,
            sequence: r.sequence,
            hour,
            bucket,
            amount: delta,
        });
        if !delta.is_zero() {
            self.burn_for_site(&mut site, bucket, delta, chain.params.settlement_grace_s)?;
        }
        self.put_site(&site);
        self.feeder_energy(
            crate::feeder::Attachee::Site(site.id),
            hour,
            delta,
            super::feeders::Flow::Consumption,
        )
    }

    /// Burns the owner's eligible credits for consumption in `bucket`; what
    /// is not covered becomes (or grows) an open debt of that bucket.
    fn burn_for_site(
        &mut self,
        site: &mut Site,
        bucket: Bucket,
        amount: Wh,
        grace_s: u64,
    ) -> Result<(), TxError> {
        let zone = site.zone.clone();
        let parts = self.take_up_to(&site.owner, amount, |v| {
            v.zone == zone && bucket.contains(v.hour)
        })?;
        let covered = Wh(parts.iter().map(|(_, w)| w.0).sum());
        if !covered.is_zero() {
            self.account_outflow(&parts, |s| &mut s.burned)?;
            site.burned = site.burned.checked_add(covered).ok_or(TxError::Overflow {
                what: "site burned",
            })?;
            self.emit(Event::Burned {
                site: site.id,
                owner: site.owner,
                parts,
            });
        }
        let uncovered = amount.saturating_sub(covered);
        if uncovered.is_zero() {
            return Ok(());
        }
        let key = StateKey::Debt(site.owner, site.id, bucket);
        let deadline = bucket.end_seconds().saturating_add(grace_s);
        let mut debt: Debt = self.get(&key)?.unwrap_or(Debt {
            zone: zone.clone(),
            amount: Wh(0),
            deadline,
        });
        if debt.amount.is_zero() {
            self.put(
                &StateKey::DebtDeadline(debt.deadline, site.id, bucket),
                &site.owner,
            );
        }
        debt.amount = debt
            .amount
            .checked_add(uncovered)
            .ok_or(TxError::Overflow { what: "debt" })?;
        self.put(&key, &debt);
        site.open_debt = site
            .open_debt
            .checked_add(uncovered)
            .ok_or(TxError::Overflow { what: "open debt" })?;
        self.emit(Event::DebtOpened {
            site: site.id,
            bucket,
            amount: uncovered,
            deadline: debt.deadline,
        });
        Ok(())
    }

    /// An open debt passed its deadline: it becomes the site's shortfall.
    pub(crate) fn record_shortfall(
        &mut self,
        site_id: SiteId,
        owner: AccountId,
        bucket: Bucket,
        deadline: u64,
    ) -> Result<(), TxError> {
        let key = StateKey::Debt(owner, site_id, bucket);
        let debt: Option<Debt> = self.get(&key)?;
        self.delete(&key);
        self.delete(&StateKey::DebtDeadline(deadline, site_id, bucket));
        let Some(debt) = debt else { return Ok(()) };
        let mut site = self.site(site_id)?;
        site.open_debt = site.open_debt.saturating_sub(debt.amount);
        site.shortfall = site
            .shortfall
            .checked_add(debt.amount)
            .ok_or(TxError::Overflow { what: "shortfall" })?;
        self.emit(Event::ShortfallRecorded {
            site: site_id,
            bucket,
            amount: debt.amount,
        });
        let detail = format!(
            "{} Wh of consumption unbacked in {:?} bucket {}",
            debt.amount, bucket.window, bucket.index
        );
        self.violation(&mut site, ViolationKind::Unbacked, None, detail);
        self.put_site(&site);
        Ok(())
    }

    /// SettleShortfall (site owner): burns shortfall times the penalty of
    /// any unexpired credits of the site's zone.
    pub fn settle_shortfall(
        &mut self,
        signer: &AccountId,
        id: SiteId,
        named: &NamedVintages,
    ) -> Result<(), TxError> {
        let mut site = self.site(id)?;
        if site.shortfall.is_zero() {
            return Err(TxError::NoShortfall { site: id });
        }
        let (_, policy) = self.live_zone(&site.zone)?;
        let cost = permille_ceil(site.shortfall, policy.shortfall_penalty_permille);
        let zone = site.zone.clone();
        let parts = self.take_credits(signer, cost, named, |v| v.zone == zone)?;
        self.account_outflow(&parts, |s| &mut s.burned)?;
        let shortfall = site.shortfall;
        site.shortfall = Wh(0);
        site.burned = site.burned.checked_add(cost).ok_or(TxError::Overflow {
            what: "site burned",
        })?;
        self.put_site(&site);
        self.emit(Event::Burned {
            site: id,
            owner: *signer,
            parts,
        });
        self.emit(Event::ShortfallSettled {
            site: id,
            shortfall,
            cost,
        });
        Ok(())
    }
}
