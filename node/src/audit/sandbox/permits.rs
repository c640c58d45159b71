//! Permits: the zone's requirement, each permit held to its feeder's
//! mining share when issued or moved, and every accepted consumption
//! reading judged against the permit (season, hours, expiry, power,
//! monthly quota) and counted into its month and into the pending
//! curtailment windows it overlaps.

use super::model::{BreachReason, PermitModel, ZoneModel};
use super::{Breach, Ctx, SandboxCheck};
use crate::audit::AuditError;
use watt_runtime::feeder::FeederId;
use watt_runtime::sandbox::{month_of, overlap_energy, PermitTerms};
use watt_runtime::state::ViolationKind;
use watt_runtime::tx::Body;
use watt_runtime::types::{attributed_hour, AccountId, Hour, SiteId, Watts, Wh, ZoneId};

/// A list of reasons as the report names them.
fn names(reasons: &[BreachReason]) -> String {
    let v: Vec<&str> = reasons.iter().map(|r| r.name()).collect();
    format!("[{}]", v.join(", "))
}

impl SandboxCheck {
    /// SetZoneSandbox: permits are required from the next UTC hour, an
    /// earlier requirement keeps its hour, dropping it is immediate.
    pub(super) fn zone_sandbox_set(
        &mut self,
        ctx: &Ctx,
        tx_index: Option<u32>,
        zone: &ZoneId,
        permits_from: Option<Hour>,
        operators: &[AccountId],
    ) -> Result<(), AuditError> {
        let what = format!("zone {zone} sandbox");
        let Body::SetZoneSandbox {
            zone: z,
            permits_required,
            grid_operators,
        } = ctx.body(tx_index, &what)?
        else {
            return Err(ctx.finding(what, "not emitted by a SetZoneSandbox transaction"));
        };
        let model = self.zones.entry(zone.clone()).or_default();
        let expected = match (*permits_required, model.permits_from) {
            (false, _) => None,
            (true, Some(h)) => Some(h),
            (true, None) => Some(Hour(ctx.hour.0 + 1)),
        };
        if z != zone || expected != permits_from || grid_operators[..] != *operators {
            return Err(ctx.finding(
                what,
                format!(
                    "the event says permits from {permits_from:?}, the transaction (permits required: {permits_required}) gives {expected:?}"
                ),
            ));
        }
        *model = ZoneModel {
            permits_from,
            operators: operators.to_vec(),
        };
        Ok(())
    }

    /// The live permits on `feeder` of sites other than `site`, plus
    /// `power`, must fit rated capacity x mining share / 1000.
    fn check_share(
        &self,
        ctx: &Ctx,
        what: &str,
        feeder: &FeederId,
        site: SiteId,
        power: Watts,
    ) -> Result<(), AuditError> {
        let f = self
            .feeders
            .get(feeder)
            .ok_or_else(|| ctx.finding(what, format!("feeder {feeder} is not registered")))?;
        let mut load = u128::from(power.0);
        for (id, s) in &self.sites {
            let Some(p) = &s.permit else { continue };
            if *id != site && !s.revoked && p.feeder == *feeder && p.live(ctx.now_s) {
                load += u128::from(p.terms.max_power.0);
            }
        }
        let cap = u128::from(f.rated_capacity.0) * u128::from(f.mining_share_permille);
        if load * 1000 > cap {
            return Err(ctx.finding(
                what,
                format!(
                    "the live permits on feeder {feeder} would take {load} W, above its mining share of {} W",
                    cap / 1000
                ),
            ));
        }
        Ok(())
    }

    /// A site's attachment: a live permit moves with it (held to the new
    /// feeder's share), and the feeder knows the site from now on.
    pub(super) fn attached(
        &mut self,
        ctx: &Ctx,
        site: SiteId,
        feeder: &FeederId,
        from_hour: Hour,
    ) -> Result<(), AuditError> {
        let what = format!("site {site} attachment to feeder {feeder}");
        let Some(s) = self.sites.get(&site) else {
            return Err(ctx.finding(what, "the site is not registered"));
        };
        let moving = s
            .permit
            .as_ref()
            .filter(|p| p.live(ctx.now_s) && p.feeder != *feeder)
            .map(|p| p.terms.max_power);
        if let Some(power) = moving {
            self.check_share(ctx, &what, feeder, site, power)?;
            self.checked.permits_issued += 1;
        }
        if let Some(s) = self.sites.get_mut(&site) {
            if let (Some(p), Some(_)) = (s.permit.as_mut(), moving) {
                p.feeder = feeder.clone();
            }
            s.attachments.insert(from_hour, feeder.clone());
        }
        if let Some(f) = self.feeders.get_mut(feeder) {
            f.sites.insert(site);
        }
        Ok(())
    }

    /// IssuePermit: well-formed terms, a future expiry, the feeder the
    /// site is (or will be) attached to, within its mining share.
    pub(super) fn permit_issued(
        &mut self,
        ctx: &Ctx,
        tx_index: Option<u32>,
        site: SiteId,
        feeder: &FeederId,
        terms: &PermitTerms,
    ) -> Result<(), AuditError> {
        let what = format!("site {site} permit");
        let Body::IssuePermit { site: s, terms: t } = ctx.body(tx_index, &what)? else {
            return Err(ctx.finding(what, "not emitted by an IssuePermit transaction"));
        };
        if (*s, t) != (site, terms) {
            return Err(ctx.finding(what, "the event's site or terms are not the transaction's"));
        }
        let model = self
            .sites
            .get(&site)
            .ok_or_else(|| ctx.finding(&what, "the site is not registered"))?;
        if model.revoked {
            return Err(ctx.finding(what, "the site is revoked"));
        }
        if let Err((field, reason)) = terms.check() {
            return Err(ctx.finding(what, format!("terms: {field} {reason}")));
        }
        if terms.expires <= ctx.now_s {
            return Err(ctx.finding(what, "it expires before the block's time"));
        }
        if model.latest_feeder() != Some(feeder) {
            return Err(ctx.finding(
                what,
                format!(
                    "issued on feeder {feeder}, but the site's latest attachment is {:?}",
                    model.latest_feeder().map(ToString::to_string)
                ),
            ));
        }
        self.check_share(ctx, &what, feeder, site, terms.max_power)?;
        self.checked.permits_issued += 1;
        if let Some(m) = self.sites.get_mut(&site) {
            m.permit = Some(PermitModel {
                feeder: feeder.clone(),
                terms: terms.clone(),
                issued: ctx.height,
                issued_ms: ctx.now_ms,
                revoked: None,
            });
        }
        Ok(())
    }

    /// RevokePermit: of a permit not revoked yet.
    pub(super) fn permit_revoked(
        &mut self,
        ctx: &Ctx,
        tx_index: Option<u32>,
        site: SiteId,
        reason: &str,
    ) -> Result<(), AuditError> {
        let what = format!("site {site} permit");
        if !matches!(ctx.body(tx_index, &what)?, Body::RevokePermit { site: s, .. } if *s == site) {
            return Err(ctx.finding(what, "not emitted by a RevokePermit of this site"));
        }
        let p = self
            .sites
            .get_mut(&site)
            .and_then(|s| s.permit.as_mut())
            .filter(|p| p.revoked.is_none())
            .ok_or_else(|| ctx.finding(&what, "revoked, but the site holds no live permit"))?;
        p.revoked = Some((ctx.height, reason.to_string()));
        Ok(())
    }

    /// One accepted consumption reading (its `Consumed` event), with the
    /// details of the `PermitBreach` violations the chain recorded for it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn consumed(
        &mut self,
        ctx: &Ctx,
        tx_index: Option<u32>,
        site_id: SiteId,
        sequence: u64,
        hour: Hour,
        amount: Wh,
        chain: Vec<String>,
        out: &mut Vec<Breach>,
    ) -> Result<(), AuditError> {
        let what = format!("site {site_id} reading {sequence}");
        let Body::SubmitConsumption { readings } = ctx.body(tx_index, &what)? else {
            return Err(ctx.finding(what, "not emitted by a SubmitConsumption transaction"));
        };
        let r = readings
            .iter()
            .map(|s| &s.reading)
            .find(|r| r.site == site_id && r.sequence == sequence)
            .ok_or_else(|| ctx.finding(&what, "the transaction holds no such reading"))?;
        if attributed_hour(r.period_end) != hour {
            return Err(ctx.finding(
                what,
                format!(
                    "attributed to hour {hour}, but its period ends at {}",
                    r.period_end
                ),
            ));
        }
        let required = |zone: &ZoneId| {
            self.zones
                .get(zone)
                .and_then(|z| z.permits_from)
                .is_some_and(|from| hour >= from)
        };
        let Some(zone) = self.sites.get(&site_id).map(|s| s.zone.clone()) else {
            return Err(ctx.finding(what, "the site is not registered"));
        };
        let required = required(&zone);
        let Some(site) = self.sites.get_mut(&site_id) else {
            return Err(ctx.finding(what, "the site is not registered"));
        };
        site.last_end = r.period_end;
        let mut predicted: Vec<BreachReason> = Vec::new();
        let mut month = None;
        if site.permit.is_some() || required {
            self.checked.permit_checks += 1;
            let (m, _) = month_of(hour);
            month = Some(m);
            let live = site.permit.as_ref().filter(|p| p.revoked.is_none());
            let usage = site.usage.entry(m).or_default();
            let before = usage.used;
            let after = before
                .checked_add(amount)
                .ok_or_else(|| ctx.finding(&what, "the month's usage overflows"))?;
            usage.used = after;
            usage.readings += 1;
            usage.quota = live.map(|p| p.terms.monthly_quota);
            match live {
                _ if amount.is_zero() => {}
                None if required => predicted.push(BreachReason::NoPermit),
                None => {}
                Some(p) => {
                    let t = &p.terms;
                    if let Err(gap) = t.covers(hour) {
                        predicted.push(BreachReason::of_gap(gap));
                    }
                    // Power binds readings starting at or after the issue.
                    let bound = u128::from(r.period_start) * 1000 >= u128::from(p.issued_ms);
                    if bound && t.above_power(amount, r.period_end - r.period_start) {
                        predicted.push(BreachReason::AbovePower);
                    }
                    // Every reading that adds energy beyond the quota,
                    // as the runtime judges it (the one that crosses it
                    // and any after it in the month).
                    if after > t.monthly_quota {
                        predicted.push(BreachReason::AboveQuota);
                    }
                }
            }
        }
        let got: Vec<BreachReason> = chain.iter().map(|d| BreachReason::of_detail(d)).collect();
        if got != predicted {
            return Err(ctx.finding(
                what,
                format!(
                    "the chain records permit breaches {}, the audit finds {} (hour {hour}, {} Wh in [{}, {}))",
                    names(&got),
                    names(&predicted),
                    amount,
                    r.period_start,
                    r.period_end,
                ),
            ));
        }
        if let Some(u) = month.and_then(|m| site.usage.get_mut(&m)) {
            u.breaches += got.len() as u64;
        }
        for (detail, reason) in chain.into_iter().zip(got) {
            out.push(Breach {
                site: site_id,
                kind: ViolationKind::PermitBreach,
                reason,
                sequence: Some(sequence),
                order: None,
                hour: Some(hour),
                detail,
            });
        }
        if amount.is_zero() {
            return Ok(());
        }
        for o in self
            .orders
            .values_mut()
            .filter(|o| !o.closed && o.zone == zone)
        {
            let (Some(window), Some(os)) = (o.window, o.sites.get_mut(&site_id)) else {
                continue;
            };
            let part = overlap_energy((r.period_start, r.period_end), amount, window);
            os.used = os.used.saturating_add(part);
        }
        Ok(())
    }
}
