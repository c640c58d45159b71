//! The simulated site controllers of `watt dev`: what each mining site
//! draws, decided from its standing (`watt_runtime::standing`, the answer
//! `sites_canRun` gives), and the curtailment acknowledgements its owner
//! signs.
//!
//! A controller plans the chain time since its last reading as stretches of
//! constant draw, cut at every UTC hour and at every time its standing says
//! the answer changes (`until`: a window's start or end, a permit's
//! expiry), so each reading lies wholly on one side of such a boundary.

use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::decode;
use watt_runtime::sandbox::{CurtailmentAck, OrderId};
use watt_runtime::standing::{standing, RunReason, Standing};
use watt_runtime::state::{
    pending_order_prefix, read_value, trailing_order, OrderSite, Permit, Site, StateKey,
    StateReader, ZoneSandbox,
};
use watt_runtime::tx::Signed;
use watt_runtime::types::Hour;

/// How a simulated controller treats curtailment orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Keeps to `maxPowerW` and acknowledges every order.
    Obeys,
    /// Keeps to its permit and suspensions, but runs through curtailment
    /// windows at full load and never acknowledges.
    IgnoresCurtailment,
}

/// A stretch of constant draw, `[start, end)` in unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Start.
    pub start: u64,
    /// End.
    pub end: u64,
    /// Draw, W.
    pub draw_w: u64,
}

/// What the controller of `site` (as the chain has it) draws over `[from,
/// to)` running its rigs at `load_w`: the standing at each stretch's start,
/// judged on the chain's state as if the controller's own readings up to
/// there were in (its readings lag the chain by a block or two, and a site
/// is never dark to its own controller).
pub fn plan(
    state: &(impl StateReader + ?Sized),
    site: &Site,
    from: u64,
    to: u64,
    load_w: u64,
    behaviour: Behaviour,
) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut t = from;
    while t < to {
        let mut view = site.clone();
        view.last_end = view.last_end.max(t);
        let (draw_w, until) = match standing(state, &view, t * 1000) {
            Ok(st) => (draw(state, site, t, st, load_w, behaviour), st.until),
            // A state the controller cannot read: rigs off until it can.
            Err(e) => {
                tracing::warn!(site = %site.id, error = %e, "cannot read the site's standing");
                (0, None)
            }
        };
        let hour_end = (t / 3600 + 1) * 3600;
        let end = to
            .min(hour_end)
            .min(until.filter(|u| *u > t).unwrap_or(u64::MAX));
        match out.last_mut() {
            // One reading per hour and draw: a boundary that changes
            // nothing does not split.
            Some(last) if last.end == t && last.draw_w == draw_w && t % 3600 != 0 => {
                last.end = end;
            }
            _ => out.push(Segment {
                start: t,
                end,
                draw_w,
            }),
        }
        t = end;
    }
    out
}

/// The draw a standing allows this controller.
fn draw(
    state: &(impl StateReader + ?Sized),
    site: &Site,
    t: u64,
    st: Standing,
    load_w: u64,
    behaviour: Behaviour,
) -> u64 {
    match st.reason {
        RunReason::Active => load_w.min(st.max_power.0),
        RunReason::Curtailed => match behaviour {
            Behaviour::Obeys => load_w.min(st.max_power.0),
            Behaviour::IgnoresCurtailment => load_w,
        },
        // Suspended: the rigs idle, the control electronics stay on, as
        // long as the permit (or the zone) allows any consumption at all.
        RunReason::SuspendedByRegulator
        | RunReason::SuspendedAnomaly
        | RunReason::SuspendedPermitBreach
        | RunReason::SuspendedCurtailmentBreach
        | RunReason::SuspendedShortfall => {
            if may_idle(state, site, Hour::of_seconds(t)) {
                load_w / 50
            } else {
                0
            }
        }
        // Revoked, or no permit for this hour: not a watt.
        RunReason::Revoked
        | RunReason::Dark
        | RunReason::NoPermit
        | RunReason::PermitExpired
        | RunReason::OutOfSeason
        | RunReason::QuotaUsed => 0,
    }
}

/// Whether consumption during `hour` is allowed by date: the site's live
/// permit covers it, or it has none and its zone requires none.
fn may_idle(state: &(impl StateReader + ?Sized), site: &Site, hour: Hour) -> bool {
    let permit: Option<Permit> = read_value(state, &StateKey::Permit(site.id))
        .ok()
        .flatten()
        .filter(|p: &Permit| p.revoked.is_none());
    match permit {
        Some(p) => p.terms.covers(hour).is_ok(),
        None => {
            let sandbox: Option<ZoneSandbox> =
                read_value(state, &StateKey::ZoneSandbox(site.zone.clone()))
                    .ok()
                    .flatten();
            sandbox
                .and_then(|s| s.permits_from)
                .is_none_or(|from| hour < from)
        }
    }
}

/// The acknowledgements the owner of `site` still owes: each pending order
/// that affects it and is not acknowledged yet, seen at `seen_at` (the
/// block time the controller read it at).
pub fn acks(
    state: &(impl StateReader + ?Sized),
    site: &Site,
    owner: &Keypair,
    chain_id: &Hash,
    seen_at: u64,
) -> Vec<Signed<CurtailmentAck>> {
    let from = pending_order_prefix(&site.zone);
    let mut to = from.clone();
    to.push(0xff);
    let orders: Vec<OrderId> = match state.scan(&from, &to) {
        Ok(rows) => rows.iter().filter_map(|(k, _)| trailing_order(k)).collect(),
        Err(_) => return Vec::new(),
    };
    orders
        .into_iter()
        .filter(|order| {
            state
                .get(&StateKey::OrderSite(*order, site.id).encode())
                .ok()
                .flatten()
                .and_then(|v| decode::<OrderSite>(&v).ok())
                .is_some_and(|os| os.acked_at.is_none() && os.verdict.is_none())
        })
        .map(|order| {
            CurtailmentAck {
                order,
                site: site.id,
                seen_at,
            }
            .sign(chain_id, owner)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use watt_runtime::feeder::{Attachee, FeederId};
    use watt_runtime::sandbox::{PermitTerms, ALL_HOURS, ALL_MONTHS};
    use watt_runtime::state::{MemoryState, PendingWindow, StateDiff, Supply, Zone};
    use watt_runtime::tx::Serial;
    use watt_runtime::types::{AccountId, SiteId, Watts, Wh, ZoneId, ZonePolicy};

    const T0: u64 = 1_767_225_600; // 2026-01-01T00:00Z

    fn put<T: borsh::BorshSerialize>(s: &mut MemoryState, k: StateKey, v: &T) {
        let diff = StateDiff([(k.encode(), Some(borsh::to_vec(v).unwrap()))].into());
        s.apply(&diff).unwrap();
    }

    /// A zone, a site with a 100 kW permit expiring at T0 + 5 h on feeder
    /// F, and an order capping it at 25 kW over [T0 + 1 h, T0 + 2 h).
    fn chain() -> (MemoryState, Site) {
        let mut s = MemoryState::default();
        let zone = ZoneId::new("DEV-1").unwrap();
        put(
            &mut s,
            StateKey::Zone(zone.clone()),
            &Zone {
                id: zone.clone(),
                policy: Some(ZonePolicy::default()),
                pending: None,
                live_max_draw: Watts(0),
                supply: Supply::default(),
                expired_through: None,
            },
        );
        let site = Site::new(
            SiteId(1),
            Serial::new("S").unwrap(),
            Keypair::from_seed([1; 32]).public(),
            AccountId(Keypair::from_seed([2; 32]).public()),
            zone.clone(),
            Watts(120_000),
            T0,
            Wh(0),
            T0 * 1000,
        );
        let feeder = FeederId::new("DEV-1/F").unwrap();
        put(
            &mut s,
            StateKey::Attachment(Attachee::Site(SiteId(1)), Hour::of_seconds(T0)),
            &feeder,
        );
        let permit = Permit {
            site: SiteId(1),
            feeder,
            terms: PermitTerms {
                max_power: Watts(100_000),
                months: ALL_MONTHS,
                hours: ALL_HOURS,
                monthly_quota: Wh(10_000_000),
                expires: T0 + 5 * 3600,
            },
            issued_ms: T0 * 1000,
            revoked: None,
        };
        put(&mut s, StateKey::Permit(SiteId(1)), &permit);
        let order = OrderId(1);
        put(
            &mut s,
            StateKey::PendingOrder(zone, order),
            &PendingWindow {
                start: T0 + 3600,
                end: T0 + 7200,
            },
        );
        put(
            &mut s,
            StateKey::OrderSite(order, SiteId(1)),
            &OrderSite {
                share: Watts(25_000),
                used: Wh(0),
                acked_at: None,
                verdict: None,
            },
        );
        (s, site)
    }

    #[test]
    fn an_obedient_controller_keeps_to_its_share_inside_the_window_only() {
        let (s, site) = chain();
        let p = plan(&s, &site, T0 + 3000, T0 + 7500, 90_000, Behaviour::Obeys);
        assert_eq!(
            p,
            vec![
                Segment {
                    start: T0 + 3000,
                    end: T0 + 3600,
                    draw_w: 90_000
                },
                Segment {
                    start: T0 + 3600,
                    end: T0 + 7200,
                    draw_w: 25_000
                },
                Segment {
                    start: T0 + 7200,
                    end: T0 + 7500,
                    draw_w: 90_000
                },
            ]
        );
        let ignores = plan(
            &s,
            &site,
            T0 + 3000,
            T0 + 7500,
            90_000,
            Behaviour::IgnoresCurtailment,
        );
        assert!(ignores.iter().all(|x| x.draw_w == 90_000), "{ignores:?}");
    }

    #[test]
    fn a_controller_stops_at_its_permits_expiry_even_while_suspended() {
        let (s, mut site) = chain();
        let p = plan(
            &s,
            &site,
            T0 + 4 * 3600 + 600,
            T0 + 5 * 3600 + 600,
            90_000,
            Behaviour::Obeys,
        );
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!((p[0].end, p[0].draw_w), (T0 + 5 * 3600, 90_000));
        assert_eq!(p[1].draw_w, 0);
        // Suspended: it idles while the permit covers the hour, then stops.
        site.shortfall = Wh(5);
        let p = plan(
            &s,
            &site,
            T0 + 4 * 3600 + 600,
            T0 + 5 * 3600 + 600,
            90_000,
            Behaviour::Obeys,
        );
        assert_eq!(
            p.iter().map(|x| x.draw_w).collect::<Vec<_>>(),
            vec![1_800, 0]
        );
    }

    #[test]
    fn the_owner_acknowledges_each_pending_order_once() {
        let (mut s, site) = chain();
        let owner = Keypair::from_seed([2; 32]);
        let chain_id = Hash([7; 32]);
        let a = acks(&s, &site, &owner, &chain_id, T0 + 60);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].reading.order, OrderId(1));
        put(
            &mut s,
            StateKey::OrderSite(OrderId(1), SiteId(1)),
            &OrderSite {
                share: Watts(25_000),
                used: Wh(0),
                acked_at: Some(T0 + 60),
                verdict: None,
            },
        );
        assert!(acks(&s, &site, &owner, &chain_id, T0 + 120).is_empty());
    }
}
