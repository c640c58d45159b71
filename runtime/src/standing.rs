//! A site's standing: whether it may run now, at what power, why, and
//! until when (SPEC section 11, site status order; docs/protocol.md
//! §18.6). `sites_canRun`, its subscription and `watt dev`'s controllers
//! read it; it judges from state only, the way the rules will.

use crate::encoding::decode;
use crate::feeder::{Attachee, FeederId};
use crate::sandbox::{month_of, CurtailTarget, PermitGap};
use crate::state::{
    attachment_prefix, pending_order_prefix, read_value, trailing_order, Curtailment, OrderSite,
    PendingWindow, Permit, Site, SiteStatus, StateError, StateKey, StateReader, ViolationKind,
    Zone, ZoneSandbox,
};
use crate::types::{Bucket, Hour, MatchingWindow, Watts, Wh};

/// Why a site may or may not run, most severe first (SPEC section 11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunReason {
    /// Revoked for good.
    Revoked,
    /// Suspended by the regulator (or its zone has no policy in force).
    SuspendedByRegulator,
    /// Suspended for an overdraw or another reading anomaly.
    SuspendedAnomaly,
    /// Suspended for a permit breach.
    SuspendedPermitBreach,
    /// Suspended for a curtailment breach.
    SuspendedCurtailmentBreach,
    /// Suspended for an unsettled shortfall.
    SuspendedShortfall,
    /// Its readings lag block time by more than the zone's dark-after.
    Dark,
    /// A permits-required zone and no live permit.
    NoPermit,
    /// Its permit has expired.
    PermitExpired,
    /// The permit does not allow this month or hour of day.
    OutOfSeason,
    /// This month's quota is used up.
    QuotaUsed,
    /// Allowed, limited to its share of a curtailment order.
    Curtailed,
    /// Allowed, up to its permit's max power (or its max draw).
    Active,
}

impl RunReason {
    /// The reason's name in the API.
    pub fn name(self) -> &'static str {
        match self {
            RunReason::Revoked => "revoked",
            RunReason::SuspendedByRegulator => "suspendedByRegulator",
            RunReason::SuspendedAnomaly => "suspendedAnomaly",
            RunReason::SuspendedPermitBreach => "suspendedPermitBreach",
            RunReason::SuspendedCurtailmentBreach => "suspendedCurtailmentBreach",
            RunReason::SuspendedShortfall => "suspendedShortfall",
            RunReason::Dark => "dark",
            RunReason::NoPermit => PermitGap::NoPermit.name(),
            RunReason::PermitExpired => PermitGap::Expired.name(),
            RunReason::OutOfSeason => PermitGap::OutOfSeason.name(),
            RunReason::QuotaUsed => PermitGap::QuotaUsed.name(),
            RunReason::Curtailed => "curtailed",
            RunReason::Active => "active",
        }
    }

    /// Every reason, most severe first.
    pub const ALL: [RunReason; 13] = [
        RunReason::Revoked,
        RunReason::SuspendedByRegulator,
        RunReason::SuspendedAnomaly,
        RunReason::SuspendedPermitBreach,
        RunReason::SuspendedCurtailmentBreach,
        RunReason::SuspendedShortfall,
        RunReason::Dark,
        RunReason::NoPermit,
        RunReason::PermitExpired,
        RunReason::OutOfSeason,
        RunReason::QuotaUsed,
        RunReason::Curtailed,
        RunReason::Active,
    ];
}

/// A site's standing at a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// Why.
    pub reason: RunReason,
    /// The most it may draw now (0 unless active or curtailed).
    pub max_power: Watts,
    /// Unix seconds at which the answer is known to change (a window's
    /// start or end, a permit's month, hour or expiry, the next month for
    /// a used quota); `None` when only a transaction can change it.
    pub until: Option<u64>,
}

impl Standing {
    fn stopped(reason: RunReason, until: Option<u64>) -> Standing {
        Standing {
            reason,
            max_power: Watts(0),
            until,
        }
    }
}

/// The feeder a site belongs to during `hour`.
fn feeder_at(
    state: &(impl StateReader + ?Sized),
    site: &Site,
    hour: Hour,
) -> Result<Option<FeederId>, StateError> {
    let from = attachment_prefix(&Attachee::Site(site.id));
    let mut to = from.clone();
    to.extend_from_slice(&hour.0.saturating_add(1).to_be_bytes());
    match state.scan(&from, &to)?.last() {
        Some((k, v)) => decode(v).map(Some).map_err(|e| StateError::Corrupt {
            key: hex::encode(k),
            reason: e.to_string(),
        }),
        None => Ok(None),
    }
}

/// The standing of `site` at block time `now_ms`.
pub fn standing(
    state: &(impl StateReader + ?Sized),
    site: &Site,
    now_ms: u64,
) -> Result<Standing, StateError> {
    let zone: Option<Zone> = read_value(state, &StateKey::Zone(site.zone.clone()))?;
    let Some(policy) = zone.and_then(|z| z.policy) else {
        return Ok(Standing::stopped(RunReason::SuspendedByRegulator, None));
    };
    let base = match site.status(&policy, now_ms) {
        SiteStatus::Revoked => Some(RunReason::Revoked),
        SiteStatus::SuspendedByRegulator => Some(RunReason::SuspendedByRegulator),
        SiteStatus::SuspendedAnomaly => Some(match site.anomaly {
            Some(ViolationKind::PermitBreach) => RunReason::SuspendedPermitBreach,
            Some(ViolationKind::CurtailmentBreach) => RunReason::SuspendedCurtailmentBreach,
            _ => RunReason::SuspendedAnomaly,
        }),
        SiteStatus::SuspendedShortfall => Some(RunReason::SuspendedShortfall),
        SiteStatus::Dark => Some(RunReason::Dark),
        SiteStatus::Active => None,
    };
    if let Some(reason) = base {
        return Ok(Standing::stopped(reason, None));
    }
    let now_s = now_ms / 1000;
    let hour = Hour::of_millis(now_ms);
    let sandbox: ZoneSandbox =
        read_value(state, &StateKey::ZoneSandbox(site.zone.clone()))?.unwrap_or_default();
    let required = sandbox.permits_from.is_some_and(|from| hour >= from);
    let permit: Option<Permit> =
        read_value::<Permit>(state, &StateKey::Permit(site.id))?.filter(|p| p.revoked.is_none());
    let mut cap = site.max_draw;
    let mut until: Option<u64> = None;
    let soonest = |t: u64, until: &mut Option<u64>| {
        *until = Some(until.map_or(t, |u| u.min(t)));
    };
    match &permit {
        None if required => return Ok(Standing::stopped(RunReason::NoPermit, None)),
        None => {
            if let Some(from) = sandbox.permits_from {
                soonest(from.start_seconds(), &mut until);
            }
        }
        Some(p) => {
            let next = p.terms.next_change(hour).map(|h| h.start_seconds());
            match p.terms.covers(hour) {
                Err(PermitGap::Expired) => {
                    return Ok(Standing::stopped(RunReason::PermitExpired, None))
                }
                Err(_) => return Ok(Standing::stopped(RunReason::OutOfSeason, next)),
                Ok(()) => {}
            }
            let (month, _) = month_of(hour);
            let used: Wh =
                read_value(state, &StateKey::PermitUsage(site.id, month))?.unwrap_or_default();
            if used >= p.terms.monthly_quota {
                let next_month = Bucket::containing(MatchingWindow::Month, hour).end_seconds();
                return Ok(Standing::stopped(RunReason::QuotaUsed, Some(next_month)));
            }
            cap = p.terms.max_power;
            if let Some(t) = next {
                soonest(t, &mut until);
            }
        }
    }
    // Pending curtailment orders of the zone that cover the site.
    let from = pending_order_prefix(&site.zone);
    let mut to = from.clone();
    to.push(0xff);
    let mut limit: Option<Watts> = None;
    let mut limit_until: Option<u64> = None;
    for (k, v) in state.scan(&from, &to)? {
        let corrupt = |reason: String| StateError::Corrupt {
            key: hex::encode(&k),
            reason,
        };
        let order = trailing_order(&k).ok_or_else(|| corrupt("malformed key".into()))?;
        let w: PendingWindow = decode(&v).map_err(|e| corrupt(e.to_string()))?;
        if now_s >= w.end {
            continue;
        }
        let share = match read_value::<OrderSite>(state, &StateKey::OrderSite(order, site.id))? {
            Some(os) => Some(os.share),
            None => {
                // Sites that came under the target after the order get 0.
                let o: Option<Curtailment> = read_value(state, &StateKey::Order(order))?;
                let covers = match o.map(|o| o.target) {
                    Some(CurtailTarget::Zone(_)) => true,
                    Some(CurtailTarget::Feeder(f)) => {
                        feeder_at(state, site, hour)?.as_ref() == Some(&f)
                    }
                    None => false,
                };
                covers.then_some(Watts(0))
            }
        };
        let Some(share) = share else { continue };
        if now_s >= w.start {
            limit = Some(limit.map_or(share, |l| l.min(share)));
            limit_until = Some(limit_until.map_or(w.end, |u| u.min(w.end)));
        } else {
            soonest(w.start, &mut until);
        }
    }
    Ok(match limit {
        Some(l) => Standing {
            reason: RunReason::Curtailed,
            max_power: l.min(cap),
            until: limit_until.map(|t| until.map_or(t, |u| u.min(t))),
        },
        None => Standing {
            reason: RunReason::Active,
            max_power: cap,
            until,
        },
    })
}
