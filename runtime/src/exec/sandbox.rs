//! The regulator's sandbox (SPEC section 11, docs/protocol.md §18):
//! permits checked against a feeder's mining share and judged on every
//! consumption reading, curtailment orders with shares fixed when given,
//! acknowledgements, and the verdict per affected site at the window's end
//! plus the settlement grace, through a due index.

use super::ledger::{decode_stored, Ledger};
use crate::crypto::PublicKey;
use crate::error::TxError;
use crate::events::Event;
use crate::feeder::{Attachee, FeederId};
use crate::sandbox::{
    allowed_energy, honoured, month_of, overlap_energy, shares, CurtailTarget, CurtailmentAck,
    OrderId, PermitGap, PermitTerms, MAX_AFFECTED, MAX_CURTAIL_S, MAX_PENDING_ORDERS,
};
use crate::state::{
    attachment_prefix, feeder_permit_prefix, feeder_site_prefix, order_site_prefix,
    pending_order_prefix, tag, trailing_order, trailing_site, Curtailment, OrderSite,
    PendingWindow, Permit, Site, StateError, StateKey, StateReader, Verdict, ViolationKind,
    ZoneSandbox,
};
use crate::tx::{ConsumptionReading, Signed, Text};
use crate::types::{AccountId, Hour, SiteId, Watts, Wh, ZoneId};

fn corrupt(k: &[u8], what: &str) -> StateError {
    StateError::Corrupt {
        key: hex::encode(k),
        reason: format!("malformed {what} key"),
    }
}

/// The end (exclusive) of every key starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut to = prefix.to_vec();
    to.push(0xff);
    to.extend_from_slice(&[0xff; 32]);
    to
}

impl<R: StateReader + ?Sized> Ledger<'_, R> {
    /// A zone's sandbox settings (the default: no permits, no operators).
    pub(crate) fn sandbox(&self, zone: &ZoneId) -> Result<ZoneSandbox, StateError> {
        Ok(self
            .get(&StateKey::ZoneSandbox(zone.clone()))?
            .unwrap_or_default())
    }

    /// The zone a curtailment target lies in (which must exist).
    pub(crate) fn target_zone(&self, target: &CurtailTarget) -> Result<ZoneId, TxError> {
        match target {
            CurtailTarget::Feeder(f) => Ok(self.feeder(f)?.zone),
            CurtailTarget::Zone(z) => Ok(self.live_zone(z)?.0.id),
        }
    }

    /// A curtailment order, or `UnknownOrder`.
    pub(crate) fn order(&self, id: OrderId) -> Result<Curtailment, TxError> {
        self.get(&StateKey::Order(id))?
            .ok_or(TxError::UnknownOrder { order: id })
    }

    /// SetZoneSandbox (regulator): permits are required for consumption
    /// from the next UTC hour (an hour already begun is judged as it
    /// began); dropping the requirement takes effect at once.
    pub fn set_zone_sandbox(
        &mut self,
        zone: &ZoneId,
        permits_required: bool,
        operators: &[AccountId],
    ) -> Result<(), TxError> {
        self.live_zone(zone)?;
        let mut sorted = operators.to_vec();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != operators.len() {
            return Err(TxError::InvalidParameter {
                field: "grid_operators",
                reason: "an account is named twice".into(),
            });
        }
        let mut sandbox = self.sandbox(zone)?;
        sandbox.permits_from = match (permits_required, sandbox.permits_from) {
            (false, _) => None,
            (true, Some(h)) => Some(h),
            (true, None) => Some(Hour(self.hour().0.saturating_add(1))),
        };
        sandbox.grid_operators = operators.to_vec();
        // Being named is a role: an operator signs Curtail without credits
        // (only known accounts may sign, SPEC section 4).
        for op in operators {
            self.ensure_account(op)?;
        }
        self.put(&StateKey::ZoneSandbox(zone.clone()), &sandbox);
        self.emit(Event::ZoneSandboxSet {
            zone: zone.clone(),
            permits_from: sandbox.permits_from,
            grid_operators: sandbox.grid_operators,
        });
        Ok(())
    }

    /// The feeder of a site's latest attachment (the one in force from
    /// the latest named hour, which may be the next).
    fn latest_feeder(&self, site: SiteId) -> Result<Option<FeederId>, TxError> {
        let from = attachment_prefix(&Attachee::Site(site));
        let rows = self.ov.scan(&from, &prefix_end(&from))?;
        match rows.last() {
            Some((k, v)) => Ok(Some(decode_stored(k, v)?)),
            None => Ok(None),
        }
    }

    /// Refuses `power` more on `feeder` when the live permits of its other
    /// sites and `power` would exceed rated capacity x mining share.
    fn check_share(&self, feeder: &FeederId, site: SiteId, power: Watts) -> Result<(), TxError> {
        let f = self.feeder(feeder)?;
        let now = self.now_s();
        let from = feeder_permit_prefix(feeder);
        let mut load = u128::from(power.0);
        for (k, _) in self.ov.scan(&from, &prefix_end(&from))? {
            let other = trailing_site(&k).ok_or_else(|| corrupt(&k, "feeder permit"))?;
            if other == site {
                continue;
            }
            if let Some(p) = self.get::<Permit>(&StateKey::Permit(other))? {
                if p.live(now) && p.feeder == *feeder {
                    load += u128::from(p.terms.max_power.0);
                }
            }
        }
        let cap = u128::from(f.rated_capacity.0) * u128::from(f.mining_share_permille);
        if load * 1000 > cap {
            return Err(TxError::FeederShareFull {
                feeder: feeder.clone(),
                limit: Watts((cap / 1000) as u64),
                would_be: Watts(load.min(u128::from(u64::MAX)) as u64),
            });
        }
        Ok(())
    }

    /// IssuePermit (regulator): on the feeder the site is attached to,
    /// within its mining share; replaces the site's earlier permit.
    pub fn issue_permit(&mut self, site_id: SiteId, terms: &PermitTerms) -> Result<(), TxError> {
        let site = self.site(site_id)?;
        if site.revoked.is_some() {
            return Err(TxError::SiteRevoked { site: site_id });
        }
        terms
            .check()
            .map_err(|(field, reason)| TxError::InvalidParameter {
                field,
                reason: reason.into(),
            })?;
        if terms.expires <= self.now_s() {
            return Err(TxError::InvalidParameter {
                field: "expires",
                reason: format!("{} is not after block time {}", terms.expires, self.now_s()),
            });
        }
        let feeder = self
            .latest_feeder(site_id)?
            .ok_or(TxError::SiteOnNoFeeder { site: site_id })?;
        self.check_share(&feeder, site_id, terms.max_power)?;
        if let Some(old) = self.get::<Permit>(&StateKey::Permit(site_id))? {
            self.delete(&StateKey::FeederPermit(old.feeder, site_id));
        }
        let permit = Permit {
            site: site_id,
            feeder: feeder.clone(),
            terms: terms.clone(),
            issued_ms: self.ctx.timestamp_ms,
            revoked: None,
        };
        self.put(&StateKey::Permit(site_id), &permit);
        self.put(&StateKey::FeederPermit(feeder.clone(), site_id), &());
        self.emit(Event::PermitIssued {
            site: site_id,
            feeder,
            terms: terms.clone(),
        });
        Ok(())
    }

    /// RevokePermit (regulator): frees the feeder's share at once.
    pub fn revoke_permit(&mut self, site: SiteId, reason: &Text) -> Result<(), TxError> {
        let mut permit: Permit = self
            .get(&StateKey::Permit(site))?
            .filter(|p: &Permit| p.revoked.is_none())
            .ok_or(TxError::NoPermit { site })?;
        self.delete(&StateKey::FeederPermit(permit.feeder.clone(), site));
        permit.revoked = Some(reason.clone());
        self.put(&StateKey::Permit(site), &permit);
        self.emit(Event::PermitRevoked {
            site,
            reason: reason.clone(),
        });
        Ok(())
    }

    /// What an attachment of a site means for the sandbox: the site is
    /// indexed under the feeder, and a live permit moves with it, refused
    /// if the new feeder's share is full.
    pub(crate) fn sandbox_attach(
        &mut self,
        site: SiteId,
        feeder: &FeederId,
    ) -> Result<(), TxError> {
        if let Some(mut p) = self.get::<Permit>(&StateKey::Permit(site))? {
            if p.live(self.now_s()) && p.feeder != *feeder {
                self.check_share(feeder, site, p.terms.max_power)?;
                self.delete(&StateKey::FeederPermit(p.feeder.clone(), site));
                p.feeder = feeder.clone();
                self.put(&StateKey::FeederPermit(feeder.clone(), site), &());
                self.put(&StateKey::Permit(site), &p);
            }
        }
        self.put(&StateKey::FeederSite(feeder.clone(), site), &());
        Ok(())
    }

    /// A revoked site's permit stops taking its feeder's share.
    pub(crate) fn sandbox_site_revoked(&mut self, site: SiteId) -> Result<(), TxError> {
        if let Some(p) = self.get::<Permit>(&StateKey::Permit(site))? {
            self.delete(&StateKey::FeederPermit(p.feeder, site));
        }
        Ok(())
    }

    /// Judges one accepted consumption reading against the site's permit
    /// and the zone's requirement, and counts it into its month's usage
    /// and into the pending curtailment orders it overlaps. Breaches are
    /// recorded and suspend; the reading still counts and burns.
    pub(crate) fn sandbox_consumption(
        &mut self,
        site: &mut Site,
        r: &ConsumptionReading,
        delta: Wh,
        hour: Hour,
    ) -> Result<(), TxError> {
        let required = self
            .get::<ZoneSandbox>(&StateKey::ZoneSandbox(site.zone.clone()))?
            .and_then(|s| s.permits_from)
            .is_some_and(|from| hour >= from);
        let permit: Option<Permit> = self.get(&StateKey::Permit(site.id))?;
        let seq = Some(r.sequence);
        if permit.is_some() || required {
            let (month, _) = month_of(hour);
            let key = StateKey::PermitUsage(site.id, month);
            let before: Wh = self.get(&key)?.unwrap_or_default();
            let after = before.checked_add(delta).ok_or(TxError::Overflow {
                what: "permit usage",
            })?;
            if !delta.is_zero() {
                self.put(&key, &after);
            }
            let live = permit.filter(|p| p.revoked.is_none());
            let mut breaches: Vec<String> = Vec::new();
            match (&live, delta.is_zero()) {
                (_, true) => {}
                (None, false) => {
                    if required {
                        breaches.push(format!(
                            "{}: {delta} Wh in hour {hour} without a live permit",
                            PermitGap::NoPermit.name()
                        ));
                    }
                }
                (Some(p), false) => {
                    let t = &p.terms;
                    if let Err(gap) = t.covers(hour) {
                        breaches.push(format!(
                            "{}: {delta} Wh in hour {hour} outside the permit",
                            gap.name()
                        ));
                    }
                    let secs = r.period_end - r.period_start;
                    // The power binds the readings that start at or after
                    // the permit's issue: a site running above a new
                    // permit's power has until its next reading to come
                    // down (SPEC section 11; docs/protocol.md §18.3).
                    let bound = u128::from(r.period_start) * 1000 >= u128::from(p.issued_ms);
                    if bound && t.above_power(delta, secs) {
                        breaches.push(format!(
                            "{delta} Wh in {secs} s is above the permit's {} W",
                            t.max_power
                        ));
                    }
                    // Every reading that adds energy beyond the quota: the
                    // one that crosses it, and any after a reinstatement in
                    // the same month.
                    if after > t.monthly_quota {
                        breaches.push(format!(
                            "usage of month {month} reaches {after} Wh (was {before}), above the quota {} Wh",
                            t.monthly_quota
                        ));
                    }
                }
            }
            for detail in breaches {
                self.violation(site, ViolationKind::PermitBreach, seq, detail);
            }
        }
        if delta.is_zero() {
            return Ok(());
        }
        let from = pending_order_prefix(&site.zone);
        for (k, v) in self.ov.scan(&from, &prefix_end(&from))? {
            let order = trailing_order(&k).ok_or_else(|| corrupt(&k, "pending order"))?;
            let w: PendingWindow = decode_stored(&k, &v)?;
            let part = overlap_energy((r.period_start, r.period_end), delta, (w.start, w.end));
            if part.is_zero() {
                continue;
            }
            let key = StateKey::OrderSite(order, site.id);
            if let Some(mut os) = self.get::<OrderSite>(&key)? {
                os.used = os.used.saturating_add(part);
                self.put(&key, &os);
            }
        }
        Ok(())
    }

    /// The live sites a target covers now, with their weights: a live
    /// permit's max power, else max draw; in a permits-required zone a
    /// site without a live permit is not affected.
    fn affected(
        &self,
        target: &CurtailTarget,
        zone: &ZoneId,
    ) -> Result<Vec<(SiteId, Watts)>, TxError> {
        let now = self.now_s();
        let hour = self.hour();
        let required = self
            .sandbox(zone)?
            .permits_from
            .is_some_and(|from| hour >= from);
        let mut sites: Vec<Site> = Vec::new();
        match target {
            CurtailTarget::Feeder(f) => {
                let from = feeder_site_prefix(f);
                for (k, _) in self.ov.scan(&from, &prefix_end(&from))? {
                    let id = trailing_site(&k).ok_or_else(|| corrupt(&k, "feeder site"))?;
                    if self.feeder_at(Attachee::Site(id), hour)?.as_ref() == Some(f) {
                        sites.push(self.site(id)?);
                    }
                }
            }
            CurtailTarget::Zone(_) => {
                // Every site of the chain once: a zone order is a rare,
                // grid operator's transaction.
                for (k, v) in self.ov.scan(&[tag::SITE], &[tag::SITE + 1])? {
                    let s: Site = decode_stored(&k, &v)?;
                    if s.zone == *zone {
                        sites.push(s);
                    }
                }
            }
        }
        let mut out = Vec::new();
        for s in sites {
            if s.revoked.is_some() {
                continue;
            }
            let permit = self
                .get::<Permit>(&StateKey::Permit(s.id))?
                .filter(|p| p.live(now));
            let weight = match permit {
                Some(p) => p.terms.max_power,
                None if required => continue,
                None => s.max_draw,
            };
            out.push((s.id, weight));
        }
        if out.len() > MAX_AFFECTED {
            return Err(TxError::InvalidParameter {
                field: "target",
                reason: format!(
                    "{} sites would be affected, at most {MAX_AFFECTED}: curtail feeder by feeder",
                    out.len()
                ),
            });
        }
        Ok(out)
    }

    /// Curtail (grid operator of the zone): shares fixed now.
    pub fn curtail(
        &mut self,
        issuer: &AccountId,
        target: &CurtailTarget,
        start: u64,
        end: u64,
        max_mining: Watts,
    ) -> Result<(), TxError> {
        let zone = self.target_zone(target)?;
        let now = self.now_s();
        let window = |reason: String| TxError::CurtailWindow { start, end, reason };
        if start < now {
            return Err(window(format!("starts before block time {now}")));
        }
        if end <= start {
            return Err(window("ends before it starts".into()));
        }
        if end - start > MAX_CURTAIL_S {
            return Err(window(format!("longer than {MAX_CURTAIL_S} s")));
        }
        let from = pending_order_prefix(&zone);
        let pending = self.ov.scan(&from, &prefix_end(&from))?.len();
        if pending >= MAX_PENDING_ORDERS {
            return Err(TxError::InvalidParameter {
                field: "target",
                reason: format!("zone {zone} has {pending} orders not yet judged, the most"),
            });
        }
        let weights = self.affected(target, &zone)?;
        let shares = shares(max_mining, &weights);
        let last: u64 = self.get(&StateKey::OrderCount)?.unwrap_or(0);
        let id = OrderId(last + 1);
        self.put(&StateKey::OrderCount, &id.0);
        for (site, share) in &shares {
            let os = OrderSite {
                share: *share,
                used: Wh(0),
                acked_at: None,
                verdict: None,
            };
            self.put(&StateKey::OrderSite(id, *site), &os);
        }
        let grace = self.chain()?.params.settlement_grace_s;
        self.put(
            &StateKey::PendingOrder(zone.clone(), id),
            &PendingWindow { start, end },
        );
        self.put(&StateKey::OrderDue(end.saturating_add(grace), id), &());
        let order = Curtailment {
            id,
            target: target.clone(),
            zone: zone.clone(),
            issuer: *issuer,
            start,
            end,
            max_mining,
            cancelled_at: None,
            shares: shares.clone(),
            judged: false,
            ordered_ms: self.ctx.timestamp_ms,
        };
        self.put(&StateKey::Order(id), &order);
        self.emit(Event::CurtailmentOrdered {
            order: id,
            target: target.clone(),
            zone,
            start,
            end,
            max_mining,
            shares,
        });
        Ok(())
    }

    /// CancelCurtailment (grid operator of the zone): before its start no
    /// verdicts follow; during the window they cover `[start, cancel)`.
    pub fn cancel_curtailment(&mut self, id: OrderId) -> Result<(), TxError> {
        let mut order = self.order(id)?;
        let now = self.now_s();
        if order.cancelled_at.is_some() {
            return Err(TxError::OrderClosed {
                order: id,
                reason: "it is cancelled already",
            });
        }
        if order.judged || now >= order.end {
            return Err(TxError::OrderClosed {
                order: id,
                reason: "its window has ended",
            });
        }
        order.cancelled_at = Some(now);
        let grace = self.chain()?.params.settlement_grace_s;
        self.delete(&StateKey::OrderDue(order.end.saturating_add(grace), id));
        let judged = match order.judged_window() {
            None => {
                self.delete(&StateKey::PendingOrder(order.zone.clone(), id));
                order.judged = true;
                false
            }
            Some((start, end)) => {
                self.put(
                    &StateKey::PendingOrder(order.zone.clone(), id),
                    &PendingWindow { start, end },
                );
                self.put(&StateKey::OrderDue(end.saturating_add(grace), id), &());
                true
            }
        };
        self.put(&StateKey::Order(id), &order);
        self.emit(Event::CurtailmentCancelled {
            order: id,
            at: now,
            judged,
        });
        Ok(())
    }

    /// One acknowledgement, verified under `verified_key` (the site
    /// owner's): once per order and site, until the verdict.
    pub fn ack_curtailment(
        &mut self,
        signed: &Signed<CurtailmentAck>,
        verified_key: &PublicKey,
    ) -> Result<(), TxError> {
        let a = &signed.reading;
        let site = self.site(a.site)?;
        if site.owner.0 != *verified_key {
            return Err(TxError::BadDeviceSignature {
                device: format!("site {} owner", a.site),
                sequence: a.order.0,
            });
        }
        let order = self.order(a.order)?;
        let bad = |reason| TxError::BadAck {
            order: a.order,
            site: a.site,
            reason,
        };
        if order.judged {
            return Err(TxError::OrderClosed {
                order: a.order,
                reason: if order.judged_window().is_none() {
                    "it was cancelled before its window"
                } else {
                    "its verdicts are given"
                },
            });
        }
        let key = StateKey::OrderSite(a.order, a.site);
        let mut os: OrderSite = self
            .get(&key)?
            .ok_or_else(|| bad("the order does not affect this site"))?;
        if os.acked_at.is_some() {
            return Err(bad("acknowledged already"));
        }
        let latest = self
            .now_s()
            .saturating_add(self.chain()?.params.max_clock_skew_s);
        if a.seen_at > latest {
            return Err(bad("seen after block time plus the allowed skew"));
        }
        if a.seen_at < order.ordered_ms / 1000 {
            return Err(bad("seen before the order was given"));
        }
        os.acked_at = Some(a.seen_at);
        self.put(&key, &os);
        self.emit(Event::CurtailmentAcknowledged {
            order: a.order,
            site: a.site,
            seen_at: a.seen_at,
        });
        Ok(())
    }

    /// Begin-block step after feeder hours: every order whose judged
    /// window ended more than the grace ago gets its verdicts, in order
    /// number order, each site in site order.
    pub(crate) fn judge_curtailments(&mut self) -> Result<(), TxError> {
        let now = self.now_s();
        let mut to = vec![tag::ORDER_DUE];
        to.extend_from_slice(&now.to_be_bytes());
        let mut due: Vec<OrderId> = Vec::new();
        for (k, _) in self.ov.scan(&[tag::ORDER_DUE], &to)? {
            due.push(trailing_order(&k).ok_or_else(|| corrupt(&k, "order due"))?);
            self.ov.delete(k);
        }
        due.sort();
        for id in due {
            self.judge(id)?;
        }
        Ok(())
    }

    fn judge(&mut self, id: OrderId) -> Result<(), TxError> {
        let mut order = self.order(id)?;
        // A due entry left under an older grace (the grace changed before
        // a cancel moved the due time) finds the order judged: once only.
        if order.judged {
            return Ok(());
        }
        self.delete(&StateKey::PendingOrder(order.zone.clone(), id));
        let tolerance = self
            .zone(&order.zone)?
            .and_then(|z| z.policy)
            .map_or(0, |p| p.plausibility_tolerance_pct);
        order.judged = true;
        self.put(&StateKey::Order(id), &order);
        let Some((start, end)) = order.judged_window() else {
            return Ok(());
        };
        let from = order_site_prefix(id);
        for (k, v) in self.ov.scan(&from, &prefix_end(&from))? {
            let site_id = trailing_site(&k).ok_or_else(|| corrupt(&k, "order site"))?;
            let mut os: OrderSite = decode_stored(&k, &v)?;
            let mut site = self.site(site_id)?;
            let secs = end - start;
            let reported = site.last_end >= end;
            let ok = reported && honoured(os.used, os.share, secs, tolerance);
            let verdict = Verdict {
                used: os.used,
                allowed: allowed_energy(os.share, secs, tolerance),
                reported,
                honoured: ok,
            };
            os.verdict = Some(verdict);
            self.put(&StateKey::OrderSite(id, site_id), &os);
            self.emit(Event::CurtailmentVerdict {
                order: id,
                site: site_id,
                share: os.share,
                start,
                end,
                used: verdict.used,
                allowed: verdict.allowed,
                reported,
                honoured: ok,
            });
            if !ok {
                let detail = if reported {
                    format!(
                        "order {id}: {} Wh in [{start}, {end}), above the {} Wh its {} W share allows",
                        verdict.used, verdict.allowed, os.share
                    )
                } else {
                    format!(
                        "order {id}: readings end at {}, before the window's end {end}",
                        site.last_end
                    )
                };
                self.violation(&mut site, ViolationKind::CurtailmentBreach, None, detail);
                self.put(&StateKey::Site(site_id), &site);
            }
        }
        Ok(())
    }
}
