//! The regulator's sandbox (SPEC section 11, second half): permits sized
//! to a feeder's mining share and judged on every consumption reading
//! (season, hours, expiry, power, monthly quota, none where required),
//! curtailment orders with shares fixed when given, acknowledgements,
//! verdicts at the window's end plus the grace, and the standing
//! `sites_canRun` answers with. Each test plays the one who would bend the
//! rule, at the exact boundary.

use super::prelude::*;
use crate::feeder::{Attachee, FeederId, NewFeeder};
use crate::sandbox::{
    month_of, CurtailTarget, CurtailmentAck, OrderId, PermitTerms, ALL_HOURS, ALL_MONTHS,
    MAX_PENDING_ORDERS,
};
use crate::standing::{standing, RunReason, Standing};
use crate::state::{Curtailment, OrderSite, PendingWindow, Permit, StateKey, Verdict};
use crate::types::ChainParams;

/// Readings up to 30 minutes old; the grace must cover that plus the skew.
const MAX_AGE: u64 = 1800;
const GRACE: u64 = MAX_AGE + 30;
const F1: &str = "RU-BU/F1";
const F2: &str = "RU-BU/F2";
const O1: OrderId = OrderId(1);
const O2: OrderId = OrderId(2);
const O3: OrderId = OrderId(3);

fn fid(s: &str) -> FeederId {
    FeederId::new(s).unwrap()
}

/// The start of the n-th hour after genesis (2026-01-01T00:00Z).
fn h(n: u64) -> u64 {
    T0 + n * 3600
}

fn hour(n: u64) -> Hour {
    Hour::of_seconds(h(n))
}

/// A chain from `start`: yearly matching (no debt turns into a shortfall
/// during a test) and a dark-after of 30 days, so that a site's standing
/// shows the sandbox and not a missing credit or a late reading.
fn chain_from(start: u64) -> TestChain {
    TestChain::builder()
        .start_at(start)
        .with_params(|p| p.settlement_grace_s = GRACE)
        .with_policy(|p| {
            p.reading_max_age_s = MAX_AGE;
            p.matching_window = MatchingWindow::Year;
            p.credit_lifetime_hours = 8_760;
            p.dark_after_s = 30 * 86_400;
        })
        .build()
}

fn chain() -> TestChain {
    chain_from(T0)
}

/// Registers a feeder of the default zone with its rated capacity and
/// mining share, its head meter's baseline on the clock's hour.
fn add_feeder(c: &mut TestChain, id: &str, rated: u64, share_permille: u16) {
    let head_key = c.device(&format!("head {id}"));
    let baseline_time = Hour::of_seconds(c.now_s()).start_seconds();
    c.ok(
        &key("reg"),
        Body::RegisterFeeder {
            feeder: NewFeeder {
                id: fid(id),
                zone: zone(),
                rated_capacity: Watts(rated),
                loss_permille: 30,
                alert_floor: Wh(500),
                alert_hours: 2,
                mining_share_permille: share_permille,
                head_key,
                baseline_time,
                baseline_import: Wh(0),
                baseline_export: Wh(0),
                declared_key: None,
            },
        },
    );
}

fn attach_body(site: SiteId, feeder: &str, from: Hour) -> Body {
    Body::AttachToFeeder {
        device: Attachee::Site(site),
        feeder: fid(feeder),
        from_hour: from,
    }
}

/// Attaches a site to a feeder from the clock's next hour.
fn attach(c: &mut TestChain, site: SiteId, feeder: &str) {
    let from = Hour(Hour::of_seconds(c.now_s()).0 + 1);
    c.ok(&key("reg"), attach_body(site, feeder, from));
}

/// A permit for every month and hour, a quota that never binds, expiring
/// in 2028.
fn terms(max_power: u64) -> PermitTerms {
    PermitTerms {
        max_power: Watts(max_power),
        months: ALL_MONTHS,
        hours: ALL_HOURS,
        monthly_quota: Wh(1_000_000_000),
        expires: utc(2028, 1, 1, 0, 0, 0),
    }
}

fn issue(c: &mut TestChain, site: SiteId, t: PermitTerms) -> Vec<Event> {
    c.ok(&key("reg"), Body::IssuePermit { site, terms: t })
}

fn permit(c: &TestChain, site: SiteId) -> Permit {
    c.get(&StateKey::Permit(site)).expect("permit")
}

fn sandbox_body(z: &ZoneId, required: bool, operators: &[&str]) -> Body {
    Body::SetZoneSandbox {
        zone: z.clone(),
        permits_required: required,
        grid_operators: BoundedVec::new(operators.iter().map(|o| account(o)).collect()).unwrap(),
    }
}

fn sandbox(c: &mut TestChain, required: bool, operators: &[&str]) -> Vec<Event> {
    c.ok(&key("reg"), sandbox_body(&zone(), required, operators))
}

/// Relays one consumption reading of a site, from its last end to `end_s`
/// (one UTC hour at most), in a block at `end_s` or later; its events.
fn read(c: &mut TestChain, site: SiteId, end_s: u64, delta: u64) -> Vec<Event> {
    if c.now_s() < end_s {
        c.at_s(end_s);
    }
    let r = c.cons(site, end_s, delta);
    let o = c.submit_cons(vec![r]).expect("consumption");
    tx_events(&o, 0)
}

/// Like [`read`], in a block at the clock's time even if that is before
/// `end_s` (within the allowed skew).
fn read_at_clock(c: &mut TestChain, site: SiteId, end_s: u64, delta: u64) -> Vec<Event> {
    let r = c.cons(site, end_s, delta);
    let o = c.submit_cons(vec![r]).expect("consumption");
    tx_events(&o, 0)
}

/// The verdicts and violations among events (a block's own steps also
/// close feeder hours).
fn judged(events: Vec<Event>) -> Vec<Event> {
    events
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                Event::CurtailmentVerdict { .. } | Event::Violation { .. }
            )
        })
        .collect()
}

/// The details of the PermitBreach violations among events.
fn permit_breaches(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Violation {
                violation: ViolationKind::PermitBreach,
                detail,
                ..
            } => Some(detail.clone()),
            _ => None,
        })
        .collect()
}

/// A site's monthly permit usage in the month of `unix_s`.
fn usage(c: &TestChain, site: SiteId, unix_s: u64) -> Wh {
    let (month, _) = month_of(Hour::of_seconds(unix_s));
    c.get(&StateKey::PermitUsage(site, month))
        .unwrap_or_default()
}

/// A site's standing at the last block.
fn st(c: &TestChain, site: SiteId) -> Standing {
    standing(&c.state, &c.site(site), c.last_block_ms()).expect("standing")
}

fn stopped(reason: RunReason, until: Option<u64>) -> Standing {
    Standing {
        reason,
        max_power: Watts(0),
        until,
    }
}

fn curtail_body(target: CurtailTarget, start: u64, end: u64, max: u64) -> Body {
    Body::Curtail {
        target,
        start,
        end,
        max_mining: Watts(max),
    }
}

/// `gridop` curtails a feeder; the shares the order fixed.
fn curtail(
    c: &mut TestChain,
    feeder: &str,
    start: u64,
    end: u64,
    max: u64,
) -> Vec<(SiteId, Watts)> {
    let events = c.ok(
        &key("gridop"),
        curtail_body(CurtailTarget::Feeder(fid(feeder)), start, end, max),
    );
    match &events[..] {
        [Event::CurtailmentOrdered { shares, .. }] => shares.clone(),
        other => panic!("{other:?}"),
    }
}

fn cancel(id: OrderId) -> Body {
    Body::CancelCurtailment { order: id }
}

fn order_site(c: &TestChain, id: OrderId, site: SiteId) -> Option<OrderSite> {
    c.get(&StateKey::OrderSite(id, site))
}

/// The verdicts among events: (order, site, used, reported, honoured).
fn verdicts(events: &[Event]) -> Vec<(OrderId, SiteId, Wh, bool, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::CurtailmentVerdict {
                order,
                site,
                used,
                reported,
                honoured,
                ..
            } => Some((*order, *site, *used, *reported, *honoured)),
            _ => None,
        })
        .collect()
}

fn ack(c: &TestChain, order: OrderId, site: SiteId, seen_at: u64, signer: &str) -> Body {
    Body::AckCurtailment {
        ack: CurtailmentAck {
            order,
            site,
            seen_at,
        }
        .sign(&c.chain_id, &key(signer)),
    }
}

// ---- permits -----------------------------------------------------------

#[test]
fn permits_are_required_from_the_next_utc_hour_and_a_zero_reading_never_breaches() {
    let mut c = chain();
    let z = zone();
    assert_eq!(
        c.expect_err(&key("op1"), sandbox_body(&z, true, &[])),
        TxError::NotPermitted {
            signer: account("op1"),
            role: "a regulator"
        }
    );
    assert_eq!(
        c.expect_err(&key("reg"), sandbox_body(&z, true, &["gridop", "gridop"])),
        TxError::InvalidParameter {
            field: "grid_operators",
            reason: "an account is named twice".into()
        }
    );
    let nowhere = ZoneId::new("XX-YY").unwrap();
    assert_eq!(
        c.expect_err(&key("reg"), sandbox_body(&nowhere, true, &[])),
        TxError::UnknownZone { zone: nowhere }
    );
    c.at_s(h(0) + 600);
    assert_eq!(
        sandbox(&mut c, true, &["gridop"]),
        vec![Event::ZoneSandboxSet {
            zone: zone(),
            permits_from: Some(hour(1)),
            grid_operators: vec![account("gridop")],
        }]
    );
    // The hour already begun is judged as it began, up to a reading ending
    // exactly on the next hour (whose energy is the hour before's).
    assert_eq!(violations(&read(&mut c, S1, h(0) + 1800, 500)), vec![]);
    assert_eq!(
        st(&c, S1),
        Standing {
            reason: RunReason::Active,
            max_power: Watts(5_000),
            until: Some(h(1)),
        }
    );
    assert_eq!(violations(&read(&mut c, S1, h(1), 500)), vec![]);
    // From hour 1 a site without a permit may not run; a zero reading is
    // still no breach.
    assert_eq!(violations(&read(&mut c, S1, h(1) + 600, 0)), vec![]);
    assert_eq!(st(&c, S1), stopped(RunReason::NoPermit, None));
    // One watt-hour is: recorded, owed and suspending all the same.
    let events = read(&mut c, S1, h(1) + 1200, 1);
    assert_eq!(
        violations(&events),
        vec![(S1, ViolationKind::PermitBreach, Some(4))]
    );
    assert!(permit_breaches(&events)[0].starts_with("noPermit: "));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Consumed { amount, .. } if *amount == Wh(1))));
    let site = c.site(S1);
    assert_eq!((site.consumed, site.open_debt), (Wh(1_001), Wh(1_001)));
    assert_eq!(site.anomaly, Some(ViolationKind::PermitBreach));
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedAnomaly);
    assert_eq!(st(&c, S1), stopped(RunReason::SuspendedPermitBreach, None));
    // Requiring permits again keeps the hour they were required from;
    // dropping the requirement takes effect at once.
    assert_eq!(
        sandbox(&mut c, true, &[]),
        vec![Event::ZoneSandboxSet {
            zone: zone(),
            permits_from: Some(hour(1)),
            grid_operators: vec![],
        }]
    );
    assert_eq!(
        sandbox(&mut c, false, &[]),
        vec![Event::ZoneSandboxSet {
            zone: zone(),
            permits_from: None,
            grid_operators: vec![],
        }]
    );
    c.ok(
        &key("reg"),
        Body::ReinstateSite {
            site: S1,
            reason: text("permits no longer required"),
        },
    );
    assert_eq!(violations(&read(&mut c, S1, h(1) + 1800, 100)), vec![]);
    assert_eq!(st(&c, S1).reason, RunReason::Active);
}

#[test]
fn a_regulator_issues_a_permit_with_sound_terms_to_a_live_site_on_a_feeder() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    let t = terms(1_000);
    let body = |site, t: &PermitTerms| Body::IssuePermit {
        site,
        terms: t.clone(),
    };
    assert_eq!(
        c.expect_err(&key("bob"), body(S1, &t)),
        TxError::NotPermitted {
            signer: account("bob"),
            role: "a regulator"
        }
    );
    assert_eq!(
        c.expect_err(&key("reg"), body(SiteId(9), &t)),
        TxError::UnknownSite { site: SiteId(9) }
    );
    // A site on no feeder takes no feeder's share: refused.
    assert_eq!(
        c.expect_err(&key("reg"), body(S1, &t)),
        TxError::SiteOnNoFeeder { site: S1 }
    );
    // The attachment takes effect next hour; the permit takes the share at
    // once.
    attach(&mut c, S1, F1);
    for (bad, field) in [
        (
            PermitTerms {
                months: 0,
                ..t.clone()
            },
            "months",
        ),
        (
            PermitTerms {
                months: 0x1000,
                ..t.clone()
            },
            "months",
        ),
        (
            PermitTerms {
                hours: 0,
                ..t.clone()
            },
            "hours",
        ),
        (
            PermitTerms {
                hours: 1 << 24,
                ..t.clone()
            },
            "hours",
        ),
        (
            PermitTerms {
                max_power: Watts(0),
                ..t.clone()
            },
            "max_power",
        ),
        (
            PermitTerms {
                expires: h(5) + 1,
                ..t.clone()
            },
            "expires",
        ),
        // Expired already: on a whole hour, but not after block time.
        (
            PermitTerms {
                expires: h(0),
                ..t.clone()
            },
            "expires",
        ),
    ] {
        match c.expect_err(&key("reg"), body(S1, &bad)) {
            TxError::InvalidParameter { field: f, .. } => assert_eq!(f, field),
            other => panic!("{field}: {other}"),
        }
    }
    assert_eq!(
        issue(&mut c, S1, t.clone()),
        vec![Event::PermitIssued {
            site: S1,
            feeder: fid(F1),
            terms: t.clone(),
        }]
    );
    assert_eq!(
        permit(&c, S1),
        Permit {
            site: S1,
            feeder: fid(F1),
            terms: t.clone(),
            issued_ms: c.last_block_ms(),
            revoked: None,
        }
    );
    let revoke = |site| Body::RevokePermit {
        site,
        reason: text("inspection failed"),
    };
    assert_eq!(
        c.expect_err(&key("bob"), revoke(S1)),
        TxError::NotPermitted {
            signer: account("bob"),
            role: "a regulator"
        }
    );
    assert_eq!(
        c.ok(&key("reg"), revoke(S1)),
        vec![Event::PermitRevoked {
            site: S1,
            reason: text("inspection failed"),
        }]
    );
    assert_eq!(permit(&c, S1).revoked, Some(text("inspection failed")));
    assert_eq!(
        c.expect_err(&key("reg"), revoke(S1)),
        TxError::NoPermit { site: S1 }
    );
    // A revoked site gets none.
    let s2 = c.register_site(&account("carol"), "site2", 5_000);
    attach(&mut c, s2, F1);
    c.ok(
        &key("reg"),
        Body::RevokeSite {
            site: s2,
            reason: text("gone"),
        },
    );
    assert_eq!(
        c.expect_err(&key("reg"), body(s2, &t)),
        TxError::SiteRevoked { site: s2 }
    );
}

#[test]
fn live_permits_may_fill_a_feeders_mining_share_exactly_and_not_one_watt_more() {
    let mut c = chain();
    // 10 kW rated, 300 per mille for mining: 3,000 W.
    add_feeder(&mut c, F1, 10_000, 300);
    let s2 = c.register_site(&account("carol"), "site2", 5_000);
    let s3 = c.register_site(&account("dave"), "site3", 5_000);
    for s in [S1, s2, s3] {
        attach(&mut c, s, F1);
    }
    let full = |would_be| TxError::FeederShareFull {
        feeder: fid(F1),
        limit: Watts(3_000),
        would_be: Watts(would_be),
    };
    let until_h3 = |w| PermitTerms {
        expires: h(3),
        ..terms(w)
    };
    issue(&mut c, S1, terms(1_000));
    issue(&mut c, s2, until_h3(2_000));
    // Exactly full; one watt more is refused.
    let one_watt = Body::IssuePermit {
        site: s3,
        terms: terms(1),
    };
    assert_eq!(c.expect_err(&key("reg"), one_watt), full(3_001));
    // A site's new permit replaces its own: counted once.
    issue(&mut c, s2, until_h3(2_000));
    assert_eq!(
        c.expect_err(
            &key("reg"),
            Body::IssuePermit {
                site: s2,
                terms: until_h3(2_001)
            }
        ),
        full(3_001)
    );
    // A revoked permit frees its share at once.
    c.ok(
        &key("reg"),
        Body::RevokePermit {
            site: S1,
            reason: text("moved out"),
        },
    );
    issue(&mut c, s3, terms(1_000));
    let s1_one_watt = Body::IssuePermit {
        site: S1,
        terms: terms(1),
    };
    assert_eq!(c.expect_err(&key("reg"), s1_one_watt.clone()), full(3_001));
    // An expired permit frees it from its expiry on, not a second before.
    c.at_s(h(3) - 1);
    assert_eq!(c.expect_err(&key("reg"), s1_one_watt), full(3_001));
    c.at_s(h(3));
    issue(&mut c, S1, terms(2_000));
    let s2_one_watt = Body::IssuePermit {
        site: s2,
        terms: terms(1),
    };
    assert_eq!(c.expect_err(&key("reg"), s2_one_watt), full(3_001));
    // A revoked site's permit frees it too.
    c.ok(
        &key("reg"),
        Body::RevokeSite {
            site: s3,
            reason: text("gone"),
        },
    );
    issue(&mut c, s2, terms(1_000));
}

#[test]
fn a_permitted_site_cannot_move_onto_a_full_feeder() {
    let mut c = chain();
    add_feeder(&mut c, F1, 10_000, 300); // 3,000 W
    add_feeder(&mut c, F2, 10_000, 100); // 1,000 W
    let s2 = c.register_site(&account("carol"), "site2", 5_000);
    let s3 = c.register_site(&account("dave"), "site3", 5_000);
    attach(&mut c, S1, F1);
    attach(&mut c, s2, F2);
    attach(&mut c, s3, F1);
    issue(&mut c, S1, terms(800));
    issue(&mut c, s2, terms(500));
    // 500 + 800 on F2's 1,000 W: the move is refused, and leaves no trace.
    assert_eq!(
        c.expect_err(&key("reg"), attach_body(S1, F2, hour(2))),
        TxError::FeederShareFull {
            feeder: fid(F2),
            limit: Watts(1_000),
            would_be: Watts(1_300),
        }
    );
    assert_eq!(permit(&c, S1).feeder, fid(F1));
    c.ok(
        &key("reg"),
        Body::RevokePermit {
            site: s2,
            reason: text("expired contract"),
        },
    );
    // Now it fits; the permit moves with the site and frees F1's share.
    c.ok(&key("reg"), attach_body(S1, F2, hour(2)));
    assert_eq!(permit(&c, S1).feeder, fid(F2));
    issue(&mut c, s3, terms(3_000));
    // A site whose permit is revoked takes no share: it moves onto a full
    // feeder freely.
    c.ok(&key("reg"), attach_body(s2, F1, hour(2)));
    // F2 holds 800 of its 1,000 W: 201 more is refused for a site there.
    let s4 = c.register_site(&account("erin"), "site4", 1_000);
    attach(&mut c, s4, F2);
    assert_eq!(
        c.expect_err(
            &key("reg"),
            Body::IssuePermit {
                site: s4,
                terms: terms(201)
            }
        ),
        TxError::FeederShareFull {
            feeder: fid(F2),
            limit: Watts(1_000),
            would_be: Watts(1_001),
        }
    );
    issue(&mut c, s4, terms(200));
}

#[test]
fn a_reading_out_of_hours_or_out_of_season_breaches_and_is_still_burned() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    attach(&mut c, S1, F1);
    c.mint(M2, h(0) + 1800, 5_000);
    // 00:00 to 02:00 UTC only.
    issue(
        &mut c,
        S1,
        PermitTerms {
            hours: 0b11,
            ..terms(5_000)
        },
    );
    // Hours 0 and 1: the last reading ends exactly at 02:00 and is hour 1's.
    let o = c.consume(S1, h(2), 1_000);
    assert_eq!(violations(&all_events(&o.events)), vec![]);
    // Standing: out of hours until the next day's 00:00.
    assert_eq!(st(&c, S1), stopped(RunReason::OutOfSeason, Some(h(24))));
    // A zero reading out of hours is no breach.
    assert_eq!(violations(&read(&mut c, S1, h(2) + 300, 0)), vec![]);
    let events = read(&mut c, S1, h(2) + 900, 600);
    let breaches = permit_breaches(&events);
    assert_eq!(breaches.len(), 1);
    assert!(
        breaches[0].starts_with("outOfSeason: 600 Wh in hour"),
        "{}",
        breaches[0]
    );
    // Recorded and burned as any consumption.
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Burned { site, parts, .. }
            if *site == S1 && parts.iter().map(|(_, w)| w.0).sum::<u64>() == 600
    )));
    let site = c.site(S1);
    assert_eq!((site.consumed, site.burned), (Wh(1_600), Wh(1_600)));
    assert_eq!(c.balance(&account("bob")), Wh(3_400));
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedAnomaly);
    assert_eq!(st(&c, S1), stopped(RunReason::SuspendedPermitBreach, None));
    // Out of season: a permit that forbids January.
    c.ok(
        &key("reg"),
        Body::ReinstateSite {
            site: S1,
            reason: text("reviewed"),
        },
    );
    issue(
        &mut c,
        S1,
        PermitTerms {
            months: ALL_MONTHS & !1,
            ..terms(5_000)
        },
    );
    assert_eq!(
        st(&c, S1),
        stopped(RunReason::OutOfSeason, Some(utc(2026, 2, 1, 0, 0, 0)))
    );
    let events = read(&mut c, S1, h(2) + 1200, 100);
    assert_eq!(
        violations(&events),
        vec![(S1, ViolationKind::PermitBreach, Some(5))]
    );
    assert!(permit_breaches(&events)[0].starts_with("outOfSeason: "));
}

#[test]
fn usage_counts_per_utc_month_of_the_readings_hour() {
    let jan31 = utc(2026, 1, 31, 22, 0, 0);
    let feb1 = utc(2026, 2, 1, 0, 0, 0);
    let mut c = chain_from(jan31);
    add_feeder(&mut c, F1, 100_000, 500);
    attach(&mut c, S1, F1);
    issue(
        &mut c,
        S1,
        PermitTerms {
            monthly_quota: Wh(1_000),
            ..terms(5_000)
        },
    );
    assert_eq!(
        permit_breaches(&read(&mut c, S1, jan31 + 3600, 600)),
        Vec::<String>::new()
    );
    // Ends exactly at midnight: January's last hour. The quota is used
    // exactly: no breach, and standing waits for February.
    c.at_s(feb1 - 10);
    assert_eq!(
        permit_breaches(&read_at_clock(&mut c, S1, feb1, 400)),
        Vec::<String>::new()
    );
    assert_eq!(usage(&c, S1, jan31), Wh(1_000));
    assert_eq!(st(&c, S1), stopped(RunReason::QuotaUsed, Some(feb1)));
    // February's first hour starts from 0.
    assert_eq!(
        permit_breaches(&read(&mut c, S1, feb1 + 1800, 1_000)),
        Vec::<String>::new()
    );
    assert_eq!(usage(&c, S1, feb1), Wh(1_000));
    assert_eq!(usage(&c, S1, jan31), Wh(1_000));
    assert_eq!(
        st(&c, S1),
        stopped(RunReason::QuotaUsed, Some(utc(2026, 3, 1, 0, 0, 0)))
    );
}

#[test]
fn a_month_mask_that_forbids_the_new_month_breaches_from_its_first_hour() {
    let jan31 = utc(2026, 1, 31, 22, 0, 0);
    let feb1 = utc(2026, 2, 1, 0, 0, 0);
    let mut c = chain_from(jan31);
    add_feeder(&mut c, F1, 100_000, 500);
    attach(&mut c, S1, F1);
    issue(
        &mut c,
        S1,
        PermitTerms {
            months: 1,
            ..terms(5_000)
        },
    );
    assert_eq!(violations(&read(&mut c, S1, jan31 + 3600, 100)), vec![]);
    assert_eq!(
        st(&c, S1),
        Standing {
            reason: RunReason::Active,
            max_power: Watts(5_000),
            until: Some(feb1),
        }
    );
    c.at_s(feb1 - 10);
    assert_eq!(violations(&read_at_clock(&mut c, S1, feb1, 100)), vec![]);
    c.at_s(feb1 + 1);
    c.empty_block();
    // Out of season until next January.
    assert_eq!(
        st(&c, S1),
        stopped(RunReason::OutOfSeason, Some(utc(2027, 1, 1, 0, 0, 0)))
    );
    let events = read(&mut c, S1, feb1 + 600, 100);
    assert_eq!(
        violations(&events),
        vec![(S1, ViolationKind::PermitBreach, Some(3))]
    );
    assert!(permit_breaches(&events)[0].starts_with("outOfSeason: "));
    assert_eq!(usage(&c, S1, feb1), Wh(100));
}

#[test]
fn the_hour_starting_at_a_permits_expiry_is_out() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    attach(&mut c, S1, F1);
    issue(
        &mut c,
        S1,
        PermitTerms {
            expires: h(2),
            ..terms(5_000)
        },
    );
    c.at_s(h(1) + 10);
    c.empty_block();
    assert_eq!(
        st(&c, S1),
        Standing {
            reason: RunReason::Active,
            max_power: Watts(5_000),
            until: Some(h(2)),
        }
    );
    // The hour before expiry, up to a reading ending exactly on it.
    let o = c.consume(S1, h(2), 1_000);
    assert_eq!(violations(&all_events(&o.events)), vec![]);
    assert_eq!(st(&c, S1), stopped(RunReason::PermitExpired, None));
    let events = read(&mut c, S1, h(2) + 600, 100);
    assert_eq!(
        violations(&events),
        vec![(S1, ViolationKind::PermitBreach, Some(3))]
    );
    assert!(permit_breaches(&events)[0].starts_with("permitExpired: "));
}

#[test]
fn average_power_above_the_permits_max_breaches_with_no_tolerance() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    attach(&mut c, S1, F1);
    issue(&mut c, S1, terms(1_000));
    // 250 Wh in 900 s is 1,000 W exactly.
    assert_eq!(violations(&read(&mut c, S1, h(0) + 900, 250)), vec![]);
    // 251 Wh is above, though within the zone's 10 % plausibility.
    let events = read(&mut c, S1, h(0) + 1800, 251);
    assert_eq!(
        permit_breaches(&events),
        vec!["251 Wh in 900 s is above the permit's 1000 W".to_string()]
    );
    assert_eq!(violations(&events).len(), 1);
}

#[test]
fn a_new_permits_power_binds_from_the_next_reading_not_the_one_in_flight() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    attach(&mut c, S1, F1);
    read(&mut c, S1, h(1), 0);
    // The regulator issues a 1 kW permit while the site draws 3 kW.
    c.at_s(h(1) + 300);
    issue(&mut c, S1, terms(1_000));
    // The reading in flight began before the issue: not judged by its
    // power (the site could not have known).
    assert_eq!(violations(&read(&mut c, S1, h(1) + 600, 500)), vec![]);
    // The next one began after it: the site had a reading's time to obey.
    let events = read(&mut c, S1, h(1) + 1200, 500);
    assert_eq!(
        permit_breaches(&events),
        vec!["500 Wh in 600 s is above the permit's 1000 W".to_string()]
    );
}

#[test]
fn every_reading_beyond_the_quota_breaches_not_the_one_that_fills_it() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    attach(&mut c, S1, F1);
    issue(
        &mut c,
        S1,
        PermitTerms {
            monthly_quota: Wh(1_000),
            ..terms(5_000)
        },
    );
    assert_eq!(violations(&read(&mut c, S1, h(0) + 900, 999)), vec![]);
    assert_eq!(
        st(&c, S1),
        Standing {
            reason: RunReason::Active,
            max_power: Watts(5_000),
            until: None,
        }
    );
    assert_eq!(violations(&read(&mut c, S1, h(0) + 1200, 1)), vec![]);
    assert_eq!(usage(&c, S1, h(0)), Wh(1_000));
    assert_eq!(
        st(&c, S1),
        stopped(RunReason::QuotaUsed, Some(utc(2026, 2, 1, 0, 0, 0)))
    );
    let events = read(&mut c, S1, h(0) + 1800, 1);
    assert_eq!(
        violations(&events),
        vec![(S1, ViolationKind::PermitBreach, Some(3))]
    );
    assert!(permit_breaches(&events)[0].contains("above the quota 1000 Wh"));
    assert_eq!(usage(&c, S1, h(0)), Wh(1_001));
    // Reinstated in the same month, the site cannot keep mining past the
    // quota unrecorded: the next energy breaches again.
    c.ok(
        &key("reg"),
        Body::ReinstateSite {
            site: S1,
            reason: text("reviewed"),
        },
    );
    let events = read(&mut c, S1, h(0) + 2400, 1);
    assert_eq!(
        violations(&events),
        vec![(S1, ViolationKind::PermitBreach, Some(4))]
    );
    assert_eq!(usage(&c, S1, h(0)), Wh(1_002));
}

#[test]
fn a_revoked_permit_in_a_permits_required_zone_is_no_permit() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    attach(&mut c, S1, F1);
    sandbox(&mut c, true, &[]);
    issue(&mut c, S1, terms(5_000));
    let o = c.consume(S1, h(1) + 600, 100);
    assert_eq!(violations(&all_events(&o.events)), vec![]);
    assert_eq!(
        st(&c, S1),
        Standing {
            reason: RunReason::Active,
            max_power: Watts(5_000),
            until: None,
        }
    );
    c.ok(
        &key("reg"),
        Body::RevokePermit {
            site: S1,
            reason: text("unsafe wiring"),
        },
    );
    assert_eq!(st(&c, S1), stopped(RunReason::NoPermit, None));
    let events = read(&mut c, S1, h(1) + 1200, 100);
    assert_eq!(
        violations(&events),
        vec![(S1, ViolationKind::PermitBreach, Some(3))]
    );
    assert!(permit_breaches(&events)[0].starts_with("noPermit: "));
}

// ---- curtailment ---------------------------------------------------------

/// A chain with a second zone, `RU-KR`, of the same policy.
fn two_zone_chain() -> TestChain {
    TestChain::builder()
        .with_params(|p| p.settlement_grace_s = GRACE)
        .with_policy(|p| {
            p.reading_max_age_s = MAX_AGE;
            p.matching_window = MatchingWindow::Year;
            p.credit_lifetime_hours = 8_760;
            p.dark_after_s = 30 * 86_400;
        })
        .edit(|g| {
            let mut zones = g.zones.clone().into_inner();
            let policy = zones[0].1.clone();
            zones.push((ZoneId::new("RU-KR").unwrap(), policy));
            g.zones = BoundedVec::new(zones).unwrap();
        })
        .build()
}

#[test]
fn only_the_zones_grid_operators_may_curtail_or_cancel() {
    let mut c = two_zone_chain();
    let kr = ZoneId::new("RU-KR").unwrap();
    add_feeder(&mut c, F1, 100_000, 500);
    attach(&mut c, S1, F1);
    // Named operators need no credits: naming them is their role.
    sandbox(&mut c, false, &["gridop"]);
    c.ok(&key("reg"), sandbox_body(&kr, false, &["gridop2"]));
    c.at_s(h(1) + 10);
    let order = curtail_body(CurtailTarget::Feeder(fid(F1)), h(2), h(3), 1_000);
    // Not the regulator (who names them but is not one), not a site owner,
    // not an authority, not another zone's operator.
    for who in ["reg", "bob", "op1", "gridop2"] {
        assert_eq!(
            c.expect_err(&key(who), order.clone()),
            TxError::NotGridOperator {
                signer: account(who),
                zone: zone()
            },
            "{who}"
        );
    }
    assert_eq!(
        c.expect_err(
            &key("gridop2"),
            curtail_body(CurtailTarget::Zone(zone()), h(2), h(3), 0)
        ),
        TxError::NotGridOperator {
            signer: account("gridop2"),
            zone: zone()
        }
    );
    // A stranger is not even a known signer.
    assert_eq!(
        c.expect_err(&key("mallory"), order.clone()),
        TxError::UnknownSigner {
            signer: account("mallory")
        }
    );
    assert_eq!(
        c.expect_err(
            &key("gridop"),
            curtail_body(CurtailTarget::Feeder(fid("RU-BU/F9")), h(2), h(3), 0)
        ),
        TxError::UnknownFeeder {
            feeder: fid("RU-BU/F9")
        }
    );
    let nowhere = ZoneId::new("XX-YY").unwrap();
    assert_eq!(
        c.expect_err(
            &key("gridop"),
            curtail_body(CurtailTarget::Zone(nowhere.clone()), h(2), h(3), 0)
        ),
        TxError::UnknownZone { zone: nowhere }
    );
    let ordered_ms = c.now_ms();
    assert_eq!(
        c.ok(&key("gridop"), order),
        vec![Event::CurtailmentOrdered {
            order: O1,
            target: CurtailTarget::Feeder(fid(F1)),
            zone: zone(),
            start: h(2),
            end: h(3),
            max_mining: Watts(1_000),
            shares: vec![(S1, Watts(1_000))],
        }]
    );
    assert_eq!(
        c.get::<Curtailment>(&StateKey::Order(O1)),
        Some(Curtailment {
            id: O1,
            target: CurtailTarget::Feeder(fid(F1)),
            zone: zone(),
            issuer: account("gridop"),
            start: h(2),
            end: h(3),
            max_mining: Watts(1_000),
            cancelled_at: None,
            shares: vec![(S1, Watts(1_000))],
            judged: false,
            ordered_ms,
        })
    );
    for who in ["reg", "gridop2", "bob"] {
        assert_eq!(
            c.expect_err(&key(who), cancel(O1)),
            TxError::NotGridOperator {
                signer: account(who),
                zone: zone()
            },
            "{who}"
        );
    }
    assert_eq!(
        c.expect_err(&key("gridop"), cancel(OrderId(9))),
        TxError::UnknownOrder { order: OrderId(9) }
    );
    // A new list replaces the old: gridop is no operator any more.
    sandbox(&mut c, false, &["gridop3"]);
    assert_eq!(
        c.expect_err(&key("gridop"), cancel(O1)),
        TxError::NotGridOperator {
            signer: account("gridop"),
            zone: zone()
        }
    );
    let at = c.now_s();
    assert_eq!(
        c.ok(&key("gridop3"), cancel(O1)),
        vec![Event::CurtailmentCancelled {
            order: O1,
            at,
            judged: false,
        }]
    );
}

#[test]
fn a_window_starts_at_or_after_block_time_is_not_empty_and_lasts_a_day_at_most() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    add_feeder(&mut c, F2, 100_000, 500);
    sandbox(&mut c, false, &["gridop"]);
    c.at_s(h(1));
    let f = || CurtailTarget::Feeder(fid(F1));
    let refused = |start, end, reason: String| TxError::CurtailWindow { start, end, reason };
    assert_eq!(
        c.expect_err(&key("gridop"), curtail_body(f(), h(1) - 1, h(2), 0)),
        refused(h(1) - 1, h(2), format!("starts before block time {}", h(1)))
    );
    for end in [h(1), h(1) - 1] {
        assert_eq!(
            c.expect_err(&key("gridop"), curtail_body(f(), h(1), end, 0)),
            refused(h(1), end, "ends before it starts".into())
        );
    }
    assert_eq!(
        c.expect_err(&key("gridop"), curtail_body(f(), h(1), h(25) + 1, 0)),
        refused(h(1), h(25) + 1, "longer than 86400 s".into())
    );
    // Starting at block time and lasting exactly 24 h is allowed.
    c.ok(&key("gridop"), curtail_body(f(), h(1), h(25), 0));
    // A zone has a bounded number of orders not yet judged.
    let txs: Vec<_> = (1..MAX_PENDING_ORDERS)
        .map(|i| {
            let start = h(2) + i as u64;
            c.tx(
                &key("gridop"),
                curtail_body(CurtailTarget::Feeder(fid(F2)), start, start + 60, 0),
            )
        })
        .collect();
    c.apply(txs).expect("orders");
    assert_eq!(
        c.expect_err(
            &key("gridop"),
            curtail_body(CurtailTarget::Feeder(fid(F2)), h(3), h(4), 0)
        ),
        TxError::InvalidParameter {
            field: "target",
            reason: format!("zone RU-BU has {MAX_PENDING_ORDERS} orders not yet judged, the most"),
        }
    );
    // One cancelled before its start frees its place.
    c.ok(&key("gridop"), cancel(O2));
    c.ok(
        &key("gridop"),
        curtail_body(CurtailTarget::Feeder(fid(F2)), h(3), h(4), 0),
    );
}

#[test]
fn shares_follow_permit_power_else_max_draw_rounded_down() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    add_feeder(&mut c, F2, 100_000, 500);
    let s2 = c.register_site(&account("carol"), "site2", 2_000);
    let s3 = c.register_site(&account("dave"), "site3", 3_000);
    let s4 = c.register_site(&account("erin"), "site4", 1_000);
    let s5 = c.register_site(&account("frank"), "site5", 1_000);
    let s6 = c.register_site(&account("grace"), "site6", 1_000);
    for s in [S1, s2, s3, s4] {
        attach(&mut c, s, F1);
    }
    attach(&mut c, s5, F2);
    sandbox(&mut c, false, &["gridop"]);
    // S1 weighs its permit's 1,000 W, not its 5,000 W max draw; s2's
    // permit is revoked and s3's expires before the order: their max draw.
    issue(&mut c, S1, terms(1_000));
    issue(&mut c, s2, terms(50));
    c.ok(
        &key("reg"),
        Body::RevokePermit {
            site: s2,
            reason: text("revoked"),
        },
    );
    issue(
        &mut c,
        s3,
        PermitTerms {
            expires: h(1),
            ..terms(100)
        },
    );
    // A revoked site is no affected site.
    c.ok(
        &key("reg"),
        Body::RevokeSite {
            site: s4,
            reason: text("gone"),
        },
    );
    c.at_s(h(1) + 10);
    // s6 joins F1 from hour 2: after the order's moment.
    c.ok(&key("reg"), attach_body(s6, F1, hour(2)));
    // 1,000 W over weights 1,000 : 2,000 : 3,000 -> 166.7, 333.3, 500.
    assert_eq!(
        curtail(&mut c, F1, h(2), h(3), 1_000),
        vec![(S1, Watts(166)), (s2, Watts(333)), (s3, Watts(500))]
    );
    for s in [s4, s5, s6] {
        assert_eq!(order_site(&c, O1, s), None);
    }
    assert_eq!(
        order_site(&c, O1, s2),
        Some(OrderSite {
            share: Watts(333),
            used: Wh(0),
            acked_at: None,
            verdict: None,
        })
    );
    // A whole zone: every live site of it, on any feeder or none. 999 W
    // over 1,000 : 2,000 : 3,000 : 1,000 : 1,000 (8,000).
    let events = c.ok(
        &key("gridop"),
        curtail_body(CurtailTarget::Zone(zone()), h(2), h(3), 999),
    );
    assert_eq!(
        events,
        vec![Event::CurtailmentOrdered {
            order: O2,
            target: CurtailTarget::Zone(zone()),
            zone: zone(),
            start: h(2),
            end: h(3),
            max_mining: Watts(999),
            shares: vec![
                (S1, Watts(124)),
                (s2, Watts(249)),
                (s3, Watts(374)),
                (s5, Watts(124)),
                (s6, Watts(124)),
            ],
        }]
    );
    assert_eq!(
        c.get::<PendingWindow>(&StateKey::PendingOrder(zone(), O2)),
        Some(PendingWindow {
            start: h(2),
            end: h(3)
        })
    );
}

#[test]
fn in_a_permits_required_zone_a_site_without_a_live_permit_is_not_affected() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    let s2 = c.register_site(&account("carol"), "site2", 5_000);
    attach(&mut c, S1, F1);
    attach(&mut c, s2, F1);
    sandbox(&mut c, true, &["gridop"]);
    issue(&mut c, S1, terms(2_000));
    c.at_s(h(1) + 10);
    assert_eq!(
        curtail(&mut c, F1, h(2), h(3), 1_000),
        vec![(S1, Watts(1_000))]
    );
    assert_eq!(order_site(&c, O1, s2), None);
    let seen = c.now_s();
    let body = ack(&c, O1, s2, seen, "carol");
    assert_eq!(
        c.expect_err(&key("carol"), body),
        TxError::BadAck {
            order: O1,
            site: s2,
            reason: "the order does not affect this site"
        }
    );
    // s2 never reports and gets no verdict: it is no affected site.
    c.consume(S1, h(3), 1_000);
    c.at_s(h(3) + GRACE + 1);
    assert_eq!(
        verdicts(&block_events(&c.empty_block())),
        vec![(O1, S1, Wh(1_000), true, true)]
    );
}

#[test]
fn the_verdict_comes_in_the_first_block_after_end_plus_grace_and_the_tolerance_is_exact() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    let s2 = c.register_site(&account("carol"), "site2", 5_000);
    attach(&mut c, S1, F1);
    attach(&mut c, s2, F1);
    sandbox(&mut c, false, &["gridop"]);
    c.at_s(h(1) + 10);
    assert_eq!(
        curtail(&mut c, F1, h(2), h(3), 2_000),
        vec![(S1, Watts(1_000)), (s2, Watts(1_000))]
    );
    // 1,000 W for an hour with the zone's 10 %: 1,100 Wh.
    c.consume(S1, h(3), 1_100);
    c.consume(s2, h(3), 1_101);
    assert_eq!(order_site(&c, O1, S1).unwrap().used, Wh(1_100));
    // At end + grace exactly: not yet.
    c.at_s(h(3) + GRACE);
    assert_eq!(verdicts(&block_events(&c.empty_block())), vec![]);
    assert_eq!(c.now_s(), h(3) + GRACE + 1);
    let events = judged(block_events(&c.empty_block()));
    assert_eq!(
        events,
        vec![
            Event::CurtailmentVerdict {
                order: O1,
                site: S1,
                share: Watts(1_000),
                start: h(2),
                end: h(3),
                used: Wh(1_100),
                allowed: Wh(1_100),
                reported: true,
                honoured: true,
            },
            Event::CurtailmentVerdict {
                order: O1,
                site: s2,
                share: Watts(1_000),
                start: h(2),
                end: h(3),
                used: Wh(1_101),
                allowed: Wh(1_100),
                reported: true,
                honoured: false,
            },
            Event::Violation {
                site: s2,
                violation: ViolationKind::CurtailmentBreach,
                sequence: None,
                detail: format!(
                    "order 1: 1101 Wh in [{}, {}), above the 1100 Wh its 1000 W share allows",
                    h(2),
                    h(3)
                ),
            },
        ]
    );
    assert_eq!(
        order_site(&c, O1, S1).unwrap().verdict,
        Some(Verdict {
            used: Wh(1_100),
            allowed: Wh(1_100),
            reported: true,
            honoured: true,
        })
    );
    let order: Curtailment = c.get(&StateKey::Order(O1)).unwrap();
    assert!(order.judged);
    assert_eq!(
        c.get::<PendingWindow>(&StateKey::PendingOrder(zone(), O1)),
        None
    );
    assert_eq!(c.site(s2).anomaly, Some(ViolationKind::CurtailmentBreach));
    assert_eq!(c.site_status(s2), SiteStatus::SuspendedAnomaly);
    assert_eq!(
        st(&c, s2),
        stopped(RunReason::SuspendedCurtailmentBreach, None)
    );
    assert_eq!(st(&c, S1).reason, RunReason::Active);
    // Judged once.
    assert_eq!(verdicts(&block_events(&c.empty_block())), vec![]);
}

#[test]
fn readings_count_pro_rata_by_seconds_and_a_window_edge_counts_nothing() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    attach(&mut c, S1, F1);
    sandbox(&mut c, false, &["gridop"]);
    c.at_s(h(1) + 10);
    curtail(&mut c, F1, h(2) + 600, h(2) + 1200, 5_000);
    curtail(&mut c, F1, h(2) + 300, h(2) + 1300, 5_000);
    c.consume(S1, h(2), 0);
    read(&mut c, S1, h(2) + 600, 400);
    read(&mut c, S1, h(2) + 1300, 101);
    read(&mut c, S1, h(2) + 1800, 200);
    // Order 1 [600, 1200): the first reading ends at its start (0), the
    // second overlaps 600 of its 700 s (101 x 600 / 700 = 86.57 -> 86),
    // the third starts after its end (0).
    assert_eq!(order_site(&c, O1, S1).unwrap().used, Wh(86));
    // Order 2 [300, 1300): half of the first (200), all of the second
    // (101), and the third starts exactly at its end (0).
    assert_eq!(order_site(&c, O2, S1).unwrap().used, Wh(301));
    c.at_s(h(2) + 1300 + GRACE + 1);
    assert_eq!(
        verdicts(&block_events(&c.empty_block())),
        vec![(O1, S1, Wh(86), true, true), (O2, S1, Wh(301), true, true)]
    );
}

#[test]
fn a_site_that_stops_reporting_in_the_window_is_breached_even_at_zero_use() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    let s2 = c.register_site(&account("carol"), "site2", 5_000);
    attach(&mut c, S1, F1);
    attach(&mut c, s2, F1);
    sandbox(&mut c, false, &["gridop"]);
    c.at_s(h(1) + 10);
    curtail(&mut c, F1, h(2), h(3), 2_000);
    // S1 reports up to the window's end exactly; s2 goes quiet half-way.
    c.consume(S1, h(3), 0);
    c.consume(s2, h(2) + 1800, 0);
    c.at_s(h(3) + GRACE + 1);
    let events = block_events(&c.empty_block());
    assert_eq!(
        verdicts(&events),
        vec![(O1, S1, Wh(0), true, true), (O1, s2, Wh(0), false, false)]
    );
    assert_eq!(
        violations(&events),
        vec![(s2, ViolationKind::CurtailmentBreach, None)]
    );
    assert!(events.contains(&Event::Violation {
        site: s2,
        violation: ViolationKind::CurtailmentBreach,
        sequence: None,
        detail: format!(
            "order 1: readings end at {}, before the window's end {}",
            h(2) + 1800,
            h(3)
        ),
    }));
    assert_eq!(
        order_site(&c, O1, s2).unwrap().verdict,
        Some(Verdict {
            used: Wh(0),
            allowed: Wh(1_100),
            reported: false,
            honoured: false,
        })
    );
}

#[test]
fn a_cancel_before_the_start_ends_the_order_and_one_during_it_shortens_the_window() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    add_feeder(&mut c, F2, 100_000, 500);
    attach(&mut c, S1, F1);
    sandbox(&mut c, false, &["gridop"]);
    c.at_s(h(1) + 10);
    curtail(&mut c, F1, h(2), h(3), 1_000);
    curtail(&mut c, F1, h(2), h(3), 1_000);
    curtail(&mut c, F2, h(1) + 100, h(1) + 200, 1_000);
    // Order 1, cancelled before its start: no verdicts, ever.
    c.at_s(h(1) + 20);
    assert_eq!(
        c.ok(&key("gridop"), cancel(O1)),
        vec![Event::CurtailmentCancelled {
            order: O1,
            at: h(1) + 20,
            judged: false,
        }]
    );
    assert_eq!(
        c.expect_err(&key("gridop"), cancel(O1)),
        TxError::OrderClosed {
            order: O1,
            reason: "it is cancelled already"
        }
    );
    let seen = c.now_s();
    let body = ack(&c, O1, S1, seen, "bob");
    assert!(matches!(
        c.expect_err(&key("bob"), body),
        TxError::OrderClosed { order: O1, .. }
    ));
    // Order 3: a cancel at its end or after is refused.
    c.at_s(h(1) + 200);
    assert_eq!(
        c.expect_err(&key("gridop"), cancel(O3)),
        TxError::OrderClosed {
            order: O3,
            reason: "its window has ended"
        }
    );
    // Order 2, cancelled half-way: judged over [start, cancel).
    c.consume(S1, h(2) + 1200, 400);
    c.at_s(h(2) + 1800);
    assert_eq!(
        c.ok(&key("gridop"), cancel(O2)),
        vec![Event::CurtailmentCancelled {
            order: O2,
            at: h(2) + 1800,
            judged: true,
        }]
    );
    // 1,000 W for 1,800 s with 10 %: 550 Wh; what comes after the cancel
    // does not count.
    read(&mut c, S1, h(2) + 1800, 150);
    read(&mut c, S1, h(3), 2_500);
    assert_eq!(order_site(&c, O2, S1).unwrap().used, Wh(550));
    let mut events = Vec::new();
    c.at_s(h(2) + 1800 + GRACE);
    events.extend(judged(block_events(&c.empty_block())));
    assert_eq!(events, vec![]);
    events.extend(judged(block_events(&c.empty_block())));
    assert_eq!(
        events,
        vec![Event::CurtailmentVerdict {
            order: O2,
            site: S1,
            share: Watts(1_000),
            start: h(2),
            end: h(2) + 1800,
            used: Wh(550),
            allowed: Wh(550),
            reported: true,
            honoured: true,
        }]
    );
    c.at_s(h(3) + GRACE + 1);
    let later = block_events(&c.empty_block());
    assert_eq!(verdicts(&later), vec![]);
    assert_eq!(order_site(&c, O1, S1).unwrap().verdict, None);
}

#[test]
fn a_grace_change_between_order_and_cancel_still_gives_one_verdict() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    attach(&mut c, S1, F1);
    sandbox(&mut c, false, &["gridop"]);
    c.at_s(h(1) + 10);
    curtail(&mut c, F1, h(2), h(3), 1_000);
    let params = ChainParams {
        settlement_grace_s: 3_600,
        ..c.chain_state().params
    };
    c.ok(&key("op1"), Body::ProposeChainParams { params });
    for who in ["op2", "op3", "reg", "reg2"] {
        c.ok(
            &key(who),
            Body::Vote {
                proposal: ProposalId(1),
                approve: true,
            },
        );
    }
    c.empty_block();
    assert_eq!(c.chain_state().params.settlement_grace_s, 3_600);
    c.consume(S1, h(2) + 1800, 500);
    c.ok(&key("gridop"), cancel(O1));
    c.consume(S1, h(3), 0);
    let mut events = Vec::new();
    for t in [h(2) + 1801 + 3_600, h(3) + GRACE, h(3) + 3_600] {
        c.at_s(t + 1);
        events.extend(block_events(&c.empty_block()));
    }
    assert_eq!(verdicts(&events), vec![(O1, S1, Wh(500), true, true)]);
}

#[test]
fn an_owner_acknowledges_once_and_anyone_may_relay_it() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    add_feeder(&mut c, F2, 100_000, 500);
    let s2 = c.register_site(&account("carol"), "site2", 5_000);
    let s3 = c.register_site(&account("dave"), "site3", 5_000);
    attach(&mut c, S1, F1);
    attach(&mut c, s2, F1);
    attach(&mut c, s3, F2);
    sandbox(&mut c, false, &["gridop"]);
    c.at_s(h(1) + 10);
    curtail(&mut c, F1, h(2), h(3), 2_000);
    let seen = h(1) + 15;
    // Signed by another key than the owner's (another owner, the site's
    // own device): refused before execution.
    for forger in ["carol", "site1"] {
        let body = ack(&c, O1, S1, seen, forger);
        assert_eq!(
            c.expect_err(&key("bob"), body),
            TxError::BadDeviceSignature {
                device: "site 1 owner".into(),
                sequence: 1
            },
            "{forger}"
        );
    }
    let bad = |reason| TxError::BadAck {
        order: O1,
        site: S1,
        reason,
    };
    let body = ack(&c, O1, S1, h(1) + 9, "bob");
    assert_eq!(
        c.expect_err(&key("bob"), body),
        bad("seen before the order was given")
    );
    let body = ack(&c, O1, S1, c.now_s() + 31, "bob");
    assert_eq!(
        c.expect_err(&key("bob"), body),
        bad("seen after block time plus the allowed skew")
    );
    let body = ack(&c, O1, s3, seen, "dave");
    assert_eq!(
        c.expect_err(&key("dave"), body),
        TxError::BadAck {
            order: O1,
            site: s3,
            reason: "the order does not affect this site"
        }
    );
    let body = ack(&c, OrderId(7), S1, seen, "bob");
    assert_eq!(
        c.expect_err(&key("bob"), body),
        TxError::UnknownOrder { order: OrderId(7) }
    );
    // Relayed by an account the chain never saw: accepted, and it leaves
    // no account behind.
    let body = ack(&c, O1, S1, seen, "bob");
    assert_eq!(
        c.ok(&key("relay"), body.clone()),
        vec![Event::CurtailmentAcknowledged {
            order: O1,
            site: S1,
            seen_at: seen,
        }]
    );
    assert!(!c.account_exists(&account("relay")));
    assert_eq!(order_site(&c, O1, S1).unwrap().acked_at, Some(seen));
    // Once: the same acknowledgement replayed, or a new one.
    assert_eq!(
        c.expect_err(&key("relay"), body),
        bad("acknowledged already")
    );
    let body = ack(&c, O1, S1, seen + 1, "bob");
    assert_eq!(c.expect_err(&key("bob"), body), bad("acknowledged already"));
    // After the verdicts, no more.
    c.at_s(h(3) + GRACE + 1);
    c.empty_block();
    let body = ack(&c, O1, s2, seen, "carol");
    assert_eq!(
        c.expect_err(&key("carol"), body),
        TxError::OrderClosed {
            order: O1,
            reason: "its verdicts are given"
        }
    );
    assert_eq!(order_site(&c, O1, s2).unwrap().acked_at, None);
}

#[test]
fn standing_follows_an_order_before_during_and_after_its_window() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    let s2 = c.register_site(&account("carol"), "site2", 5_000);
    let s3 = c.register_site(&account("dave"), "site3", 5_000);
    attach(&mut c, S1, F1);
    attach(&mut c, s2, F1);
    sandbox(&mut c, false, &["gridop"]);
    c.at_s(h(1) + 10);
    assert_eq!(
        curtail(&mut c, F1, h(2), h(2) + 1800, 2_000),
        vec![(S1, Watts(1_000)), (s2, Watts(1_000))]
    );
    assert_eq!(
        curtail(&mut c, F1, h(2) + 600, h(2) + 1200, 600),
        vec![(S1, Watts(300)), (s2, Watts(300))]
    );
    // s3 joins F1 after the orders; s2 gets a permit below its share.
    c.ok(&key("reg"), attach_body(s3, F1, hour(2)));
    issue(&mut c, s2, terms(200));
    assert_eq!(
        st(&c, S1),
        Standing {
            reason: RunReason::Active,
            max_power: Watts(5_000),
            until: Some(h(2)),
        }
    );
    assert_eq!(
        st(&c, s3),
        Standing {
            reason: RunReason::Active,
            max_power: Watts(5_000),
            until: None,
        }
    );
    // In the first window only: its share, until the second one starts.
    c.at_s(h(2) + 300);
    c.empty_block();
    assert_eq!(
        st(&c, S1),
        Standing {
            reason: RunReason::Curtailed,
            max_power: Watts(1_000),
            until: Some(h(2) + 600),
        }
    );
    assert_eq!(
        st(&c, s2),
        Standing {
            reason: RunReason::Curtailed,
            max_power: Watts(200),
            until: Some(h(2) + 600),
        }
    );
    // In both: the smaller share, until the sooner end.
    c.at_s(h(2) + 700);
    c.empty_block();
    assert_eq!(
        st(&c, S1),
        Standing {
            reason: RunReason::Curtailed,
            max_power: Watts(300),
            until: Some(h(2) + 1200),
        }
    );
    // A site attached after the order: nothing during the window.
    assert_eq!(
        st(&c, s3),
        Standing {
            reason: RunReason::Curtailed,
            max_power: Watts(0),
            until: Some(h(2) + 1200),
        }
    );
    c.at_s(h(2) + 1200);
    c.empty_block();
    assert_eq!(
        st(&c, s3),
        Standing {
            reason: RunReason::Curtailed,
            max_power: Watts(0),
            until: Some(h(2) + 1800),
        }
    );
    // After the window (before and after the verdict): active again.
    c.consume(S1, h(2) + 1800, 100);
    c.consume(s2, h(2) + 1800, 50);
    assert_eq!(
        st(&c, S1),
        Standing {
            reason: RunReason::Active,
            max_power: Watts(5_000),
            until: None,
        }
    );
    c.at_s(h(2) + 1800 + GRACE + 1);
    let events = block_events(&c.empty_block());
    assert_eq!(
        verdicts(&events),
        vec![
            (O1, S1, Wh(100), true, true),
            (O1, s2, Wh(50), true, true),
            (O2, S1, Wh(33), true, true),
            (O2, s2, Wh(16), true, true),
        ]
    );
    for s in [S1, s3] {
        assert_eq!(
            st(&c, s),
            Standing {
                reason: RunReason::Active,
                max_power: Watts(5_000),
                until: None,
            }
        );
    }
    assert_eq!(
        st(&c, s2),
        Standing {
            reason: RunReason::Active,
            max_power: Watts(200),
            until: None,
        }
    );
}

#[test]
fn an_affected_site_stays_affected_after_a_move() {
    let mut c = chain();
    add_feeder(&mut c, F1, 100_000, 500);
    add_feeder(&mut c, F2, 100_000, 500);
    attach(&mut c, S1, F1);
    sandbox(&mut c, false, &["gridop"]);
    c.at_s(h(1) + 10);
    assert_eq!(
        curtail(&mut c, F1, h(2), h(3), 1_000),
        vec![(S1, Watts(1_000))]
    );
    // The owner has the regulator move it to F2 from the window's hour:
    // its use in the window still counts against its share on F1's order.
    c.ok(&key("reg"), attach_body(S1, F2, hour(2)));
    read(&mut c, S1, h(2), 0);
    read(&mut c, S1, h(3), 2_000);
    assert_eq!(
        c.get::<FeederId>(&StateKey::Attachment(Attachee::Site(S1), hour(2))),
        Some(fid(F2))
    );
    c.at_s(h(3) + GRACE + 1);
    assert_eq!(
        verdicts(&block_events(&c.empty_block())),
        vec![(O1, S1, Wh(2_000), true, false)]
    );
}

#[test]
fn an_order_affecting_more_than_1024_sites_is_refused() {
    let mut c = chain();
    sandbox(&mut c, false, &["gridop"]);
    // S1 and 1,024 more: 1,025 live sites in the zone.
    for i in 0..crate::sandbox::MAX_AFFECTED {
        c.register_site(&account("owner"), &format!("many{i}"), 1);
    }
    c.at_s(h(1));
    let err = c.expect_err(
        &key("gridop"),
        curtail_body(CurtailTarget::Zone(zone()), h(2), h(3), 1_000),
    );
    assert!(
        matches!(&err, TxError::InvalidParameter { field: "target", reason } if reason.contains("1025 sites")),
        "{err:?}"
    );
    // One fewer and the order is given.
    c.ok(
        &key("reg"),
        Body::RevokeSite {
            site: S1,
            reason: text("gone"),
        },
    );
    c.ok(
        &key("gridop"),
        curtail_body(CurtailTarget::Zone(zone()), h(2), h(3), 1_000),
    );
}
