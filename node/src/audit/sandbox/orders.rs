//! Curtailment orders: the shares derived from the sites the target
//! covers at the order's block, cancellations, acknowledgements, and each
//! affected site's verdict in the first block strictly after the judged
//! window's end plus the settlement grace.

use super::model::{BreachReason, Order, OrderSite};
use super::{Ctx, Expected, SandboxCheck};
use crate::audit::AuditError;
use std::collections::VecDeque;
use watt_runtime::sandbox::{
    allowed_energy, honoured, shares, CurtailTarget, OrderId, MAX_CURTAIL_S,
};
use watt_runtime::state::{read_value, StateKey, StateReader, Verdict, Zone};
use watt_runtime::tx::Body;
use watt_runtime::types::{SiteId, Watts, Wh, ZoneId};

fn list(shares: &[(SiteId, Watts)]) -> String {
    let v: Vec<String> = shares.iter().map(|(s, w)| format!("{s}: {w} W")).collect();
    format!("[{}]", v.join(", "))
}

impl SandboxCheck {
    /// The sites a target covers at the block's time, with their weights:
    /// a live permit's max power, else max draw; in a zone that requires
    /// permits, a site without a live permit is not affected. In site order.
    fn weights(&self, ctx: &Ctx, target: &CurtailTarget, zone: &ZoneId) -> Vec<(SiteId, Watts)> {
        let required = self
            .zones
            .get(zone)
            .and_then(|z| z.permits_from)
            .is_some_and(|from| ctx.hour >= from);
        let covered: Vec<SiteId> = match target {
            CurtailTarget::Feeder(f) => self
                .feeders
                .get(f)
                .map(|m| {
                    m.sites
                        .iter()
                        .filter(|s| {
                            self.sites
                                .get(s)
                                .is_some_and(|s| s.feeder_at(ctx.hour) == Some(f))
                        })
                        .copied()
                        .collect()
                })
                .unwrap_or_default(),
            CurtailTarget::Zone(z) => self
                .sites
                .iter()
                .filter(|(_, s)| s.zone == *z)
                .map(|(id, _)| *id)
                .collect(),
        };
        let mut out = Vec::new();
        for id in covered {
            let Some(s) = self.sites.get(&id).filter(|s| !s.revoked) else {
                continue;
            };
            match s.permit.as_ref().filter(|p| p.live(ctx.now_s)) {
                Some(p) => out.push((id, p.terms.max_power)),
                None if required => {}
                None => out.push((id, s.max_draw)),
            }
        }
        out
    }

    /// CurtailmentOrdered: the transaction's window and power, the next
    /// order number, a grid operator of the zone, and the shares derived
    /// here.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn ordered(
        &mut self,
        ctx: &Ctx,
        tx_index: Option<u32>,
        id: OrderId,
        target: &CurtailTarget,
        zone: &ZoneId,
        (start, end): (u64, u64),
        max_mining: Watts,
        chain_shares: &[(SiteId, Watts)],
    ) -> Result<(), AuditError> {
        let what = format!("curtailment order {id}");
        let tx = ctx.tx(tx_index, &what)?;
        let Body::Curtail {
            target: t,
            start: s,
            end: e,
            max_mining: m,
        } = &tx.unsigned.body
        else {
            return Err(ctx.finding(what, "not emitted by a Curtail transaction"));
        };
        if (t, *s, *e, *m) != (target, start, end, max_mining) {
            return Err(ctx.finding(
                what,
                "the event's target, window or power is not the transaction's",
            ));
        }
        if id.0 != self.last_order + 1 {
            return Err(ctx.finding(
                what,
                format!(
                    "the order after {} should be {}",
                    self.last_order,
                    self.last_order + 1
                ),
            ));
        }
        let target_zone = match target {
            CurtailTarget::Feeder(f) => self.feeders.get(f).map(|f| f.zone.clone()),
            CurtailTarget::Zone(z) => Some(z.clone()),
        };
        if target_zone.as_ref() != Some(zone) {
            return Err(ctx.finding(what, format!("{target} is not in zone {zone}")));
        }
        let issuer = tx.unsigned.signer;
        if !self
            .zones
            .get(zone)
            .is_some_and(|z| z.operators.contains(&issuer))
        {
            return Err(ctx.finding(
                what,
                format!("{issuer} is not a grid operator of zone {zone}"),
            ));
        }
        if start < ctx.now_s || end <= start || end - start > MAX_CURTAIL_S {
            return Err(ctx.finding(
                what,
                format!(
                    "window [{start}, {end}) at block time {}: it must not start earlier, must end after its start and last at most {MAX_CURTAIL_S} s",
                    ctx.now_s
                ),
            ));
        }
        let total: u128 = chain_shares.iter().map(|(_, w)| u128::from(w.0)).sum();
        if total > u128::from(max_mining.0) {
            return Err(ctx.finding(
                what,
                format!(
                    "the shares {} add up to {total} W, above the order's {max_mining} W",
                    list(chain_shares)
                ),
            ));
        }
        let weights = self.weights(ctx, target, zone);
        let derived = shares(max_mining, &weights);
        if derived != chain_shares {
            return Err(ctx.finding(
                what,
                format!(
                    "the chain's shares are {}, the audit derives {} from the weights {}",
                    list(chain_shares),
                    list(&derived),
                    list(&weights)
                ),
            ));
        }
        self.last_order = id.0;
        self.checked.orders += 1;
        self.orders.insert(
            id,
            Order {
                target: target.clone(),
                zone: zone.clone(),
                issuer,
                height: ctx.height,
                ordered_ms: ctx.now_ms,
                start,
                end,
                max_mining,
                cancelled_at: None,
                window: Some((start, end)),
                dues: [end.saturating_add(ctx.params.settlement_grace_s)].into(),
                judged: None,
                closed: false,
                sites: derived
                    .into_iter()
                    .map(|(site, share)| {
                        (
                            site,
                            OrderSite {
                                share,
                                used: Wh(0),
                                acked_at: None,
                                verdict: None,
                            },
                        )
                    })
                    .collect(),
            },
        );
        Ok(())
    }

    /// CurtailmentCancelled: by a grid operator of the zone, before the
    /// window's end; before its start no verdicts follow, during it they
    /// cover `[start, cancel)`.
    pub(super) fn cancelled(
        &mut self,
        ctx: &Ctx,
        tx_index: Option<u32>,
        id: OrderId,
        at: u64,
        judged: bool,
    ) -> Result<(), AuditError> {
        let what = format!("curtailment order {id}");
        let tx = ctx.tx(tx_index, &what)?;
        if !matches!(&tx.unsigned.body, Body::CancelCurtailment { order } if *order == id) {
            return Err(ctx.finding(what, "not emitted by a CancelCurtailment of this order"));
        }
        let signer = tx.unsigned.signer;
        let grace = ctx.params.settlement_grace_s;
        let Some(o) = self.orders.get(&id) else {
            return Err(ctx.finding(what, "no such order"));
        };
        if !self
            .zones
            .get(&o.zone)
            .is_some_and(|z| z.operators.contains(&signer))
        {
            return Err(ctx.finding(
                what,
                format!(
                    "cancelled by {signer}, not a grid operator of zone {}",
                    o.zone
                ),
            ));
        }
        let Some(o) = self.orders.get_mut(&id) else {
            return Err(ctx.finding(what, "no such order"));
        };
        if o.cancelled_at.is_some() || o.closed || ctx.now_s >= o.end {
            return Err(ctx.finding(what, "cancelled after it was cancelled, judged or over"));
        }
        if at != ctx.now_s {
            return Err(ctx.finding(
                what,
                format!("cancelled at {at}, but the block's time is {}", ctx.now_s),
            ));
        }
        o.cancelled_at = Some(at);
        o.window = (at > o.start).then_some((o.start, at.min(o.end)));
        if judged != o.window.is_some() {
            return Err(ctx.finding(
                what,
                format!(
                    "cancelled at {at} with window [{}, {}): verdicts {}, but the event says {}",
                    o.start,
                    o.end,
                    if o.window.is_some() {
                        "follow"
                    } else {
                        "do not follow"
                    },
                    if judged { "they do" } else { "they do not" }
                ),
            ));
        }
        o.dues.remove(&o.end.saturating_add(grace));
        match o.window {
            // Ended: an entry left under another grace finds it closed.
            None => o.closed = true,
            Some((_, e)) => {
                o.dues.insert(e.saturating_add(grace));
            }
        }
        Ok(())
    }

    /// CurtailmentAcknowledged: by the order's affected site, once, before
    /// the verdict, seen between the order and block time plus the skew.
    pub(super) fn acknowledged(
        &mut self,
        ctx: &Ctx,
        tx_index: Option<u32>,
        id: OrderId,
        site: SiteId,
        seen_at: u64,
    ) -> Result<(), AuditError> {
        let what = format!("curtailment order {id}, site {site}");
        let Body::AckCurtailment { ack } = ctx.body(tx_index, &what)? else {
            return Err(ctx.finding(what, "not emitted by an AckCurtailment transaction"));
        };
        let a = &ack.reading;
        if (a.order, a.site, a.seen_at) != (id, site, seen_at) {
            return Err(ctx.finding(what, "the event is not the acknowledgement signed"));
        }
        let latest = ctx.now_s.saturating_add(ctx.params.max_clock_skew_s);
        let os = self
            .orders
            .get_mut(&id)
            .filter(|o| !o.closed && seen_at >= o.ordered_ms / 1000)
            .and_then(|o| o.sites.get_mut(&site))
            .filter(|os| os.acked_at.is_none() && seen_at <= latest)
            .ok_or_else(|| {
                ctx.finding(
                    &what,
                    "acknowledged, but the order is judged, does not affect the site, was acknowledged already, or the time seen is outside the order's life",
                )
            })?;
        os.acked_at = Some(seen_at);
        Ok(())
    }

    /// The verdicts this block must give, before any of its events:
    /// every open order whose due time the block's time has passed, in
    /// order number order, each affected site in site order.
    pub(super) fn due_verdicts(
        &mut self,
        ctx: &Ctx,
        state: &impl StateReader,
    ) -> Result<VecDeque<Expected>, AuditError> {
        let mut out = VecDeque::new();
        for (id, o) in self.orders.iter_mut() {
            if o.closed || o.dues.first().is_none_or(|d| *d >= ctx.now_s) {
                continue;
            }
            o.closed = true;
            o.judged = Some(ctx.height);
            let Some((start, end)) = o.window else {
                continue;
            };
            let tolerance = read_value::<Zone>(state, &StateKey::Zone(o.zone.clone()))
                .map_err(|e| ctx.finding(format!("zone {}", o.zone), e.to_string()))?
                .and_then(|z| z.policy)
                .map_or(0, |p| p.plausibility_tolerance_pct);
            let secs = end - start;
            for (site, os) in o.sites.iter_mut() {
                let reported = self.sites.get(site).is_some_and(|s| s.last_end >= end);
                let verdict = Verdict {
                    used: os.used,
                    allowed: allowed_energy(os.share, secs, tolerance),
                    reported,
                    honoured: reported && honoured(os.used, os.share, secs, tolerance),
                };
                os.verdict = Some(verdict);
                out.push_back(Expected {
                    order: *id,
                    site: *site,
                    share: os.share,
                    window: (start, end),
                    verdict,
                });
            }
        }
        Ok(out)
    }

    /// One `CurtailmentVerdict`: the next one the model expects, field by
    /// field. Returns the breach's reason when it is one.
    pub(super) fn verdict(
        &mut self,
        ctx: &Ctx,
        tx_index: Option<u32>,
        expected: &mut VecDeque<Expected>,
        got: Expected,
    ) -> Result<Option<BreachReason>, AuditError> {
        let what = format!("curtailment order {}, site {}", got.order, got.site);
        if tx_index.is_some() {
            return Err(ctx.finding(what, "a verdict emitted by a transaction"));
        }
        let Some(want) = expected.pop_front() else {
            return Err(ctx.finding(
                what,
                "a verdict the audit does not expect in this block (not yet due, judged already, or no such order or site)",
            ));
        };
        if (want.order, want.site) != (got.order, got.site) {
            return Err(ctx.finding(
                what,
                format!(
                    "out of order: the audit expects order {}, site {} next",
                    want.order, want.site
                ),
            ));
        }
        let (w, g) = (&want.verdict, &got.verdict);
        let mut diffs = Vec::new();
        if want.share != got.share {
            diffs.push(format!(
                "share {} W, the audit's {} W",
                got.share, want.share
            ));
        }
        if want.window != got.window {
            diffs.push(format!(
                "window [{}, {}), the audit's [{}, {})",
                got.window.0, got.window.1, want.window.0, want.window.1
            ));
        }
        if w.used != g.used {
            diffs.push(format!(
                "used {} Wh, the audit recomputes {} Wh",
                g.used, w.used
            ));
        }
        if w.allowed != g.allowed {
            diffs.push(format!(
                "allowed {} Wh, the audit's {} Wh",
                g.allowed, w.allowed
            ));
        }
        if w.reported != g.reported {
            diffs.push(format!(
                "reported {}, the audit's {}",
                g.reported, w.reported
            ));
        }
        if w.honoured != g.honoured {
            diffs.push(format!(
                "honoured {}, the audit's {}",
                g.honoured, w.honoured
            ));
        }
        if !diffs.is_empty() {
            return Err(ctx.finding(
                what,
                format!("the chain's verdict says {}", diffs.join("; ")),
            ));
        }
        self.checked.verdicts += 1;
        Ok((!w.honoured).then_some(if w.reported {
            BreachReason::AboveShare
        } else {
            BreachReason::NotReported
        }))
    }
}
