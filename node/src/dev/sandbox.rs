//! The regulator's sandbox in `watt dev` (SPEC section 11, "Sandbox
//! permits" and "Curtailment"): what the dev regulator and the dev grid
//! operator submit.
//!
//! The regulator registers the joining site (CREEK-MINE, on the north
//! feeder), gives each site a permit on the feeder it is attached to (the
//! ridge's runs out a few hours after the chain's first hour), then makes
//! permits required in the zone and names the grid operator. The grid
//! operator orders mining on DEV-1/NORTH down for an evening window each
//! day, an hour before it starts. A site suspended for a curtailment breach
//! is reinstated a few hours after its verdict, with a reason, so the story
//! repeats the next evening.
//!
//! Like the feeders, everything is derived from the chain's state each
//! tick, so a lost transaction is made again and a restarted `watt dev`
//! carries on.

use super::genesis::{dev_site, grid_operator_key, regulator_key, JOINING_SITE};
use super::grid::{FEEDERS, NORTH};
use crate::service::NodeHandle;
use watt_genesis::dev_keypair;
use watt_runtime::crypto::Keypair;
use watt_runtime::encoding::BoundedVec;
use watt_runtime::feeder::{Attachee, FeederId};
use watt_runtime::sandbox::{CurtailTarget, OrderId, PermitTerms, ALL_HOURS, ALL_MONTHS};
use watt_runtime::state::{
    attachment_hour, attachment_prefix, prefix_end, ChainState, Curtailment, DeviceOwner,
    OrderSite, Permit, Site, StateKey, StateReader, ViolationKind, ZoneSandbox,
};
use watt_runtime::tx::{Body, Serial, Text};
use watt_runtime::types::{AccountId, Hour, SiteId, Watts, Wh, ZoneId};

/// Each dev site's permit: site id, max power W, and its expiry in hours
/// after the chain's first hour (`None`: a year). Each fits its feeder's
/// mining share (rated capacity x 500 / 1000: 250 kW on DEV-1/NORTH, 315
/// kW on DEV-1/RIDGE) and lies above what the site's rigs draw.
pub const PERMITS: [(u64, u64, Option<u64>); 3] = [
    (1, 100_000, None),
    (2, 150_000, Some(RIDGE_PERMIT_HOURS)),
    (3, 50_000, None),
];
/// When the ridge site's permit runs out, in hours after the chain's first
/// hour.
pub const RIDGE_PERMIT_HOURS: u64 = 4;
/// The most all mining on DEV-1/NORTH may draw during a window: shares of
/// 20 kW for NORTH-MINE and 10 kW for CREEK-MINE (by their permits' 100
/// and 50 kW), whose rigs draw 90 and 37.5 kW.
pub const CURTAIL_MAX_W: u64 = 30_000;
/// How long before a window the grid operator orders it.
const ORDER_LEAD_S: u64 = 3_600;
/// How long after a breach verdict the regulator reinstates the site.
pub const REINSTATE_AFTER_S: u64 = 3 * 3_600;
/// How many of the latest orders the simulation looks back at.
const RECENT_ORDERS: u64 = 16;

/// When the evening curtailment windows fall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurtailPlan {
    /// The first window's start, unix seconds.
    pub first_start: u64,
    /// Seconds between window starts.
    pub every_s: u64,
    /// Each window's length, seconds (at most 24 h).
    pub length_s: u64,
}

impl CurtailPlan {
    /// The first window starting at or after `t`: `(start, end)`.
    pub fn window_from(&self, t: u64) -> (u64, u64) {
        let k = t
            .saturating_sub(self.first_start)
            .div_ceil(self.every_s.max(1));
        let start = self
            .first_start
            .saturating_add(k.saturating_mul(self.every_s));
        (start, start.saturating_add(self.length_s))
    }
}

/// The dev regulator's and grid operator's part of the sandbox.
pub struct Sandbox {
    zone: ZoneId,
    north: FeederId,
    regulator: Keypair,
    grid_operator: Keypair,
    /// The chain's first hour (permit expiries count from it).
    first_hour: Hour,
    /// The windows, if any.
    plan: Option<CurtailPlan>,
    /// The least notice an order gets, chain seconds: a few blocks, so it
    /// is included before its start.
    notice_s: u64,
}

impl Sandbox {
    /// The sandbox of the dev zone; `notice_s` is the chain time a few
    /// blocks take.
    pub fn new(
        zone: ZoneId,
        first_hour: Hour,
        plan: Option<CurtailPlan>,
        notice_s: u64,
    ) -> Option<Sandbox> {
        Some(Sandbox {
            zone,
            north: FeederId::new(FEEDERS[NORTH].id).ok()?,
            regulator: regulator_key(),
            grid_operator: grid_operator_key(),
            first_hour,
            plan,
            notice_s,
        })
    }

    /// The accounts whose nonces its transactions need.
    pub fn accounts(&self) -> Vec<AccountId> {
        vec![
            AccountId(self.regulator.public()),
            AccountId(self.grid_operator.public()),
        ]
    }

    /// RegisterSite for the joining site while it is not on chain; the
    /// regulator does this before anything else, so the feeders can attach
    /// it.
    pub fn join(&self, h: &NodeHandle, chain_s: u64) -> Option<(Keypair, Body)> {
        let (serial, key, owner, draw) = JOINING_SITE;
        let device_key = dev_keypair(key).public();
        if h.state::<DeviceOwner>(&StateKey::DeviceKey(device_key))
            .is_some()
        {
            return None;
        }
        let body = Body::RegisterSite {
            serial: Serial::new(serial).ok()?,
            device_key,
            owner: AccountId(dev_keypair(owner).public()),
            zone: self.zone.clone(),
            max_draw: Watts(draw),
            baseline_time: chain_s,
            baseline_counter: Wh(0),
        };
        Some((self.regulator.clone(), body))
    }

    /// What the regulator (permits, the zone's sandbox, reinstatements, in
    /// that order, one at a time) and the grid operator (the next window's
    /// order) submit now; `chain_s` is the last block's time.
    pub fn tick(&self, h: &NodeHandle, chain_s: u64) -> Vec<(Keypair, Body)> {
        let store = h.store().clone();
        let state: &dyn StateReader = &*store;
        let mut out = Vec::new();
        let regulator = self
            .permit(h, state, chain_s)
            .or_else(|| self.set_sandbox(h, chain_s))
            .or_else(|| self.reinstate(h, chain_s));
        if let Some(body) = regulator {
            out.push((self.regulator.clone(), body));
        }
        if let Some(body) = self.order(h, state, chain_s) {
            out.push((self.grid_operator.clone(), body));
        }
        out
    }

    /// A dev site as the chain has it (the id's device key must be the dev
    /// site's: another site may have taken the id).
    fn site(&self, h: &NodeHandle, id: SiteId) -> Option<Site> {
        let key = dev_keypair(dev_site(id)?.1).public();
        h.state::<Site>(&StateKey::Site(id))
            .filter(|s| s.device_key == key)
    }

    /// The expiry of a site's permit issued at `chain_s`: as `PERMITS`
    /// says, or a year from the hour after.
    fn expiry(&self, hours: Option<u64>, chain_s: u64) -> u64 {
        match hours {
            Some(h) => self.first_hour.start_seconds() + h * 3600,
            None => (chain_s / 3600 + 1 + 365 * 24) * 3600,
        }
    }

    /// Whether a site holds the permit it is meant to: any permit once
    /// issued for a permit that runs out (the ridge's is not renewed), a
    /// live one for a year's permit (renewed when the year is over).
    fn permitted(&self, h: &NodeHandle, id: SiteId, hours: Option<u64>, chain_s: u64) -> bool {
        h.state::<Permit>(&StateKey::Permit(id))
            .is_some_and(|p| hours.is_some() || p.live(chain_s + 600))
    }

    /// Whether every dev site's permit is settled: issued, or never to be
    /// (revoked site, expiry passed).
    fn permits_done(&self, h: &NodeHandle, chain_s: u64) -> bool {
        PERMITS.iter().all(|(id, _, hours)| {
            let id = SiteId(*id);
            self.site(h, id).is_some_and(|s| s.revoked.is_some())
                || self.permitted(h, id, *hours, chain_s)
                || self.expiry(*hours, chain_s) <= chain_s + 600
        })
    }

    /// The next permit to issue: to a site attached to a feeder that does
    /// not hold the one it is meant to, unless its expiry has passed (a
    /// chain resumed long after).
    fn permit(&self, h: &NodeHandle, state: &dyn StateReader, chain_s: u64) -> Option<Body> {
        PERMITS.iter().find_map(|(id, max_power, hours)| {
            let id = SiteId(*id);
            let site = self.site(h, id)?;
            if site.revoked.is_some() || self.permitted(h, id, *hours, chain_s) {
                return None;
            }
            attached_from(state, id)?;
            let expires = self.expiry(*hours, chain_s);
            if expires <= chain_s + 600 {
                return None;
            }
            Some(Body::IssuePermit {
                site: id,
                terms: PermitTerms {
                    max_power: Watts(*max_power),
                    months: ALL_MONTHS,
                    hours: ALL_HOURS,
                    // A month of running at max power.
                    monthly_quota: Wh(max_power * 24 * 31),
                    expires,
                },
            })
        })
    }

    /// SetZoneSandbox once the permits are out: permits required, the dev
    /// grid operator named.
    fn set_sandbox(&self, h: &NodeHandle, chain_s: u64) -> Option<Body> {
        if !self.permits_done(h, chain_s) {
            return None;
        }
        let operator = AccountId(self.grid_operator.public());
        let current: Option<ZoneSandbox> = h.state(&StateKey::ZoneSandbox(self.zone.clone()));
        if current.is_some_and(|s| s.permits_from.is_some() && s.grid_operators.contains(&operator))
        {
            return None;
        }
        Some(Body::SetZoneSandbox {
            zone: self.zone.clone(),
            permits_required: true,
            grid_operators: BoundedVec::new(vec![operator]).ok()?,
        })
    }

    /// ReinstateSite for a dev site suspended for a curtailment breach,
    /// `REINSTATE_AFTER_S` after its verdict.
    fn reinstate(&self, h: &NodeHandle, chain_s: u64) -> Option<Body> {
        let grace = h
            .state::<ChainState>(&StateKey::Chain)
            .map_or(0, |c| c.params.settlement_grace_s);
        PERMITS.iter().find_map(|(id, _, _)| {
            let id = SiteId(*id);
            let site = self.site(h, id)?;
            let breached = site.anomaly == Some(ViolationKind::CurtailmentBreach)
                && site.regulator_suspension.is_none()
                && site.revoked.is_none();
            if !breached {
                return None;
            }
            let (order, verdict_at) = recent_orders(h)
                .into_iter()
                .rev()
                .find_map(|o| {
                    let os: OrderSite = h.state(&StateKey::OrderSite(o.id, id))?;
                    let (_, end) = o.judged_window()?;
                    os.verdict
                        .filter(|v| !v.honoured)
                        .map(|_| (o.id, end + grace))
                })?;
            if chain_s < verdict_at + REINSTATE_AFTER_S {
                return None;
            }
            let name = dev_site(id)?.0;
            let reason = format!(
                "{name} breached curtailment order {order}; its owner showed the grid operator a controller that now follows the orders"
            );
            Some(Body::ReinstateSite {
                site: id,
                reason: Text::new(&reason).ok()?,
            })
        })
    }

    /// Curtail for the next window not yet ordered, from `ORDER_LEAD_S`
    /// before it, once the zone names the grid operator and every permitted
    /// site of the feeder counts on it (sites attached later get no share).
    /// A window too close to order in time is left out.
    fn order(&self, h: &NodeHandle, state: &dyn StateReader, chain_s: u64) -> Option<Body> {
        let plan = self.plan?;
        let (start, end) = plan.window_from(chain_s + self.notice_s);
        if chain_s + ORDER_LEAD_S < start {
            return None;
        }
        let target = CurtailTarget::Feeder(self.north.clone());
        let ordered = recent_orders(h)
            .iter()
            .any(|o| o.target == target && o.start == start);
        if ordered {
            return None;
        }
        let operator = AccountId(self.grid_operator.public());
        let named = h
            .state::<ZoneSandbox>(&StateKey::ZoneSandbox(self.zone.clone()))
            .is_some_and(|s| s.grid_operators.contains(&operator));
        let hour = Hour::of_seconds(chain_s);
        let ready = FEEDERS[NORTH].sites.iter().all(|id| {
            let id = SiteId(*id);
            let live = self.site(h, id).is_some_and(|s| s.revoked.is_none());
            let permitted = h
                .state::<Permit>(&StateKey::Permit(id))
                .is_some_and(|p| p.live(chain_s));
            let counts = attached_from(state, id).is_some_and(|from| from <= hour);
            !live || (permitted && counts)
        });
        if !named || !ready {
            return None;
        }
        Some(Body::Curtail {
            target,
            start,
            end,
            max_mining: Watts(CURTAIL_MAX_W),
        })
    }
}

/// The first hour a site is attached to a feeder from, if it is.
fn attached_from(state: &dyn StateReader, site: SiteId) -> Option<Hour> {
    let prefix = attachment_prefix(&Attachee::Site(site));
    let rows = state.scan(&prefix, &prefix_end(&prefix)).ok()?;
    rows.first().and_then(|(k, _)| attachment_hour(k))
}

/// The latest orders of the chain, oldest first.
fn recent_orders(h: &NodeHandle) -> Vec<Curtailment> {
    let last: u64 = h.state(&StateKey::OrderCount).unwrap_or(0);
    (last.saturating_sub(RECENT_ORDERS) + 1..=last)
        .filter_map(|id| h.state(&StateKey::Order(OrderId(id))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_the_plan() {
        let plan = CurtailPlan {
            first_start: 18 * 3600,
            every_s: 24 * 3600,
            length_s: 3600,
        };
        assert_eq!(plan.window_from(0), (18 * 3600, 19 * 3600));
        assert_eq!(plan.window_from(18 * 3600), (18 * 3600, 19 * 3600));
        assert_eq!(plan.window_from(18 * 3600 + 1), (42 * 3600, 43 * 3600));
    }

    #[test]
    fn the_permits_fit_their_feeders_and_the_rigs() {
        use super::super::grid::{site_running_w, MINING_SHARE_PERMILLE};
        for def in &FEEDERS {
            let permits: u64 = PERMITS
                .iter()
                .filter(|(s, _, _)| def.sites.contains(s))
                .map(|(_, w, _)| w)
                .sum();
            assert!(permits <= def.rated_w * u64::from(MINING_SHARE_PERMILLE) / 1000);
        }
        for (site, w, _) in PERMITS {
            // With room for a reading's rounding (1 Wh in a 1 s period).
            assert!(site_running_w(SiteId(site)) + 3_600 < w, "site {site}");
        }
        // The curtailed shares lie well below what the rigs draw.
        let weights: Vec<(SiteId, Watts)> = FEEDERS[NORTH]
            .sites
            .iter()
            .map(|s| {
                let w = PERMITS.iter().find(|p| p.0 == *s).unwrap().1;
                (SiteId(*s), Watts(w))
            })
            .collect();
        let shares = watt_runtime::sandbox::shares(Watts(CURTAIL_MAX_W), &weights);
        assert_eq!(
            shares,
            vec![(SiteId(1), Watts(20_000)), (SiteId(3), Watts(10_000))]
        );
    }
}
