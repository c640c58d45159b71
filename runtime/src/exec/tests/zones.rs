//! Zones: matching buckets at their calendar edges, the mining cap, and
//! SetZonePolicy (in force from the next UTC hour, lifetime only grows,
//! penalty at least 1000 per mille); genesis validation of the grace.

use super::prelude::*;
use crate::genesis::GenesisError;
use crate::types::{attributed_hour, ZonePolicy};

/// Mints 1000 Wh to bob in the hour starting at `vintage_s`, registers a
/// new site of bob's at `cons_start_s` and records 100 Wh consumed in
/// `[cons_start_s, cons_end_s)`. Returns whether the consumption burned
/// that vintage (true) or opened a debt of the consumption's bucket.
fn burns_vintage(
    window: MatchingWindow,
    vintage_s: u64,
    cons_start_s: u64,
    cons_end_s: u64,
    lifetime_hours: u64,
) -> bool {
    let mut c = TestChain::builder()
        .start_at(vintage_s)
        .with_policy(|p| {
            p.matching_window = window;
            p.credit_lifetime_hours = lifetime_hours;
        })
        .build();
    let bob = account("bob");
    c.mint(M2, vintage_s + 900, 1_000);
    c.at_s(cons_start_s);
    let site = c.register_site(&bob, "site2", 5_000);
    let out = c.consume(site, cons_end_s, 100);
    let events = tx_events(&out, 0);
    let burned = Event::Burned {
        site,
        owner: bob,
        parts: vec![(vintage_at(vintage_s), Wh(100))],
    };
    let debt = Event::DebtOpened {
        site,
        bucket: Bucket::containing(window, attributed_hour(cons_end_s)),
        amount: Wh(100),
        deadline: Bucket::containing(window, attributed_hour(cons_end_s)).end_seconds() + 86_400,
    };
    match (events.contains(&burned), events.contains(&debt)) {
        (true, false) => true,
        (false, true) => false,
        _ => panic!("neither a burn nor a debt: {events:?}"),
    }
}

#[test]
fn matching_buckets_at_their_edges() {
    use MatchingWindow::*;
    let long = 9_000; // a year and more, so that expiry plays no part
    #[rustfmt::skip]
    let cases: &[(MatchingWindow, u64, u64, u64, bool, &str)] = &[
        (Hour, utc(2026, 1, 1, 10, 0, 0), utc(2026, 1, 1, 10, 45, 0), utc(2026, 1, 1, 11, 0, 0), true,
         "a period ending exactly on the hour is in that hour"),
        (Hour, utc(2026, 1, 1, 10, 0, 0), utc(2026, 1, 1, 11, 0, 0), utc(2026, 1, 1, 11, 15, 0), false,
         "the previous hour"),
        (Day, utc(2026, 3, 14, 0, 0, 0), utc(2026, 3, 14, 23, 45, 0), utc(2026, 3, 15, 0, 0, 0), true,
         "the first and last hour of one day"),
        (Day, utc(2026, 3, 14, 23, 0, 0), utc(2026, 3, 15, 0, 0, 0), utc(2026, 3, 15, 0, 15, 0), false,
         "the previous day"),
        (Month, utc(2026, 2, 1, 0, 0, 0), utc(2026, 2, 28, 23, 45, 0), utc(2026, 3, 1, 0, 0, 0), true,
         "the first and last hour of February"),
        (Month, utc(2026, 1, 31, 23, 0, 0), utc(2026, 2, 1, 0, 0, 0), utc(2026, 2, 1, 0, 15, 0), false,
         "the previous month"),
        (Month, utc(2028, 2, 1, 0, 0, 0), utc(2028, 2, 29, 23, 45, 0), utc(2028, 3, 1, 0, 0, 0), true,
         "a leap February"),
        (Month, utc(2028, 2, 29, 23, 0, 0), utc(2028, 3, 1, 0, 0, 0), utc(2028, 3, 1, 0, 15, 0), false,
         "the leap day is February's"),
        (Year, utc(2026, 1, 1, 0, 0, 0), utc(2026, 12, 31, 23, 45, 0), utc(2027, 1, 1, 0, 0, 0), true,
         "the first and last hour of a year"),
        (Year, utc(2026, 12, 31, 23, 0, 0), utc(2027, 1, 1, 0, 0, 0), utc(2027, 1, 1, 0, 15, 0), false,
         "the previous year"),
    ];
    for &(window, vintage_s, start, end, eligible, what) in cases {
        assert_eq!(
            burns_vintage(window, vintage_s, start, end, long),
            eligible,
            "{window:?}: {what}"
        );
    }
}

fn site_body(device_key: crate::crypto::PublicKey, name: &str, max_draw: u64, now: u64) -> Body {
    Body::RegisterSite {
        serial: serial(name),
        device_key,
        owner: account("carol"),
        zone: zone(),
        max_draw: Watts(max_draw),
        baseline_time: now,
        baseline_counter: Wh(0),
    }
}

#[test]
fn the_mining_cap_limits_live_sites_and_a_revoked_site_frees_its_share() {
    let mut c = TestChain::new(); // cap 20 kW; S1 draws 5 kW
    c.register_site(&account("bob"), "site2", 10_000);
    let k = c.device("site3");
    let now = c.now_s();
    let err = c.expect_err(&key("reg"), site_body(k, "SN-site3", 5_001, now));
    assert_eq!(
        err,
        TxError::MiningCapExceeded {
            zone: zone(),
            cap: Watts(20_000),
            would_be: Watts(20_001)
        }
    );
    c.ok(&key("reg"), site_body(k, "SN-site3", 5_000, now));
    assert_eq!(c.zone().live_max_draw, Watts(20_000));
    c.ok(
        &key("reg"),
        Body::RevokeSite {
            site: S1,
            reason: text("closed"),
        },
    );
    assert_eq!(c.zone().live_max_draw, Watts(15_000));
    c.register_site(&account("carol"), "site4", 5_000);
}

#[test]
fn a_lowered_mining_cap_blocks_new_sites_and_leaves_existing_ones() {
    let mut c = TestChain::new();
    c.register_site(&account("bob"), "site2", 15_000);
    let policy = ZonePolicy {
        mining_cap_w: Watts(10_000),
        ..default_policy()
    };
    c.ok(
        &key("reg"),
        Body::SetZonePolicy {
            zone: zone(),
            policy,
        },
    );
    c.at_s(T0 + 3600);
    let k = c.device("site3");
    let now = c.now_s();
    let err = c.expect_err(&key("reg"), site_body(k, "SN-site3", 1, now));
    assert_eq!(
        err,
        TxError::MiningCapExceeded {
            zone: zone(),
            cap: Watts(10_000),
            would_be: Watts(20_001)
        }
    );
    assert_eq!(c.site_status(S1), SiteStatus::Active);
    assert_eq!(c.zone().live_max_draw, Watts(20_000));
    c.consume(S1, T0 + 3600, 0);
    assert_eq!(c.site_status(S1), SiteStatus::Active);
}

#[test]
fn a_zone_policy_takes_effect_at_the_first_block_of_the_next_hour() {
    let mut c = TestChain::new();
    c.at_s(T0 + 1000);
    let policy = ZonePolicy {
        dark_after_s: 60,
        ..default_policy()
    };
    let out = c.ok(
        &key("reg"),
        Body::SetZonePolicy {
            zone: zone(),
            policy: policy.clone(),
        },
    );
    let next = Hour(Hour::of_seconds(T0).0 + 1);
    assert_eq!(
        out,
        vec![Event::ZonePolicySet {
            zone: zone(),
            effective_hour: next
        }]
    );
    assert_eq!(c.zone().pending, Some((next, policy.clone())));
    // The last millisecond of the hour: not yet.
    c.at((T0 + 3600) * 1000 - 1);
    assert_eq!(block_events(&c.empty_block()), vec![]);
    assert_eq!(c.zone().policy, Some(default_policy()));
    c.at((T0 + 3600) * 1000);
    assert_eq!(
        block_events(&c.empty_block()),
        vec![Event::ZonePolicyActivated { zone: zone() }]
    );
    assert_eq!(c.zone().policy, Some(policy));
    assert_eq!(c.zone().pending, None);
}

#[test]
fn a_new_zone_exists_only_from_the_next_hour() {
    let mut c = TestChain::new();
    let nw = ZoneId::new("US-MT-NW").unwrap();
    c.ok(
        &key("reg"),
        Body::SetZonePolicy {
            zone: nw.clone(),
            policy: default_policy(),
        },
    );
    let k = c.device("meter9");
    let body = |now: u64| Body::RegisterMeter {
        serial: serial("SN-meter9"),
        device_key: k,
        owner: account("carol"),
        source: Source::Geothermal,
        capacity: Watts(1_000),
        zone: nw.clone(),
        baseline_time: now,
        baseline_counter: Wh(0),
    };
    let now = c.now_s();
    assert_eq!(
        c.expect_err(&key("op1"), body(now)),
        TxError::UnknownZone { zone: nw.clone() }
    );
    c.at_s(T0 + 3600);
    c.ok(&key("op1"), body(T0 + 3600));
    assert_eq!(c.zone_of(&nw).policy, Some(default_policy()));
}

#[test]
fn only_a_regulator_sets_zone_policies() {
    let mut c = TestChain::new();
    let err = c.expect_err(
        &key("op1"),
        Body::SetZonePolicy {
            zone: zone(),
            policy: default_policy(),
        },
    );
    assert_eq!(
        err,
        TxError::NotPermitted {
            signer: account("op1"),
            role: "a regulator"
        }
    );
}

fn set_policy(c: &mut TestChain, policy: ZonePolicy) -> Result<(), TxError> {
    let tx = c.tx(
        &key("reg"),
        Body::SetZonePolicy {
            zone: zone(),
            policy,
        },
    );
    match c.apply(vec![tx]) {
        Ok(_) => Ok(()),
        Err(BlockError::TxFailed { error, .. }) => Err(error),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_credit_lifetime_may_only_grow_also_against_a_pending_policy() {
    let mut c = TestChain::new();
    let lifetime = |h| ZonePolicy {
        credit_lifetime_hours: h,
        ..default_policy()
    };
    assert_eq!(
        set_policy(&mut c, lifetime(719)),
        Err(TxError::InvalidParameter {
            field: "credit_lifetime_hours",
            reason: "may only grow: 719 is below the current 720".into()
        })
    );
    set_policy(&mut c, lifetime(800)).unwrap();
    assert_eq!(
        set_policy(&mut c, lifetime(750)),
        Err(TxError::InvalidParameter {
            field: "credit_lifetime_hours",
            reason: "may only grow: 750 is below the current 800".into()
        })
    );
    set_policy(&mut c, lifetime(720 * 2)).unwrap();
}

#[test]
fn a_shortfall_penalty_below_1000_per_mille_is_refused() {
    let mut c = TestChain::new();
    let penalty = |p| ZonePolicy {
        shortfall_penalty_permille: p,
        ..default_policy()
    };
    assert_eq!(
        set_policy(&mut c, penalty(999)),
        Err(TxError::InvalidParameter {
            field: "shortfall_penalty_permille",
            reason: "999 is below 1000".into()
        })
    );
    set_policy(&mut c, penalty(1_000)).unwrap();
}

#[test]
fn a_policy_whose_max_age_outgrows_the_grace_is_refused() {
    let mut c = TestChain::new(); // grace 86_400 s, skew 30 s
    let age = |s| ZonePolicy {
        reading_max_age_s: s,
        ..default_policy()
    };
    let err = set_policy(&mut c, age(86_371)).unwrap_err();
    assert!(
        matches!(
            err,
            TxError::InvalidParameter {
                field: "settlement_grace_s",
                ..
            }
        ),
        "{err:?}"
    );
    set_policy(&mut c, age(86_370)).unwrap();
}

#[test]
fn a_new_matching_window_applies_to_later_consumption_and_open_debts_keep_their_bucket() {
    let mut c = TestChain::new();
    let bob = account("bob");
    c.consume(S1, T0 + 900, 500);
    c.at_s(T0 + 1000);
    set_policy(
        &mut c,
        ZonePolicy {
            matching_window: MatchingWindow::Day,
            ..default_policy()
        },
    )
    .unwrap();
    c.consume(S1, T0 + 4500, 500);
    let day = Bucket::containing(MatchingWindow::Day, Hour::of_seconds(T0));
    assert_eq!(c.debt(&bob, S1, hour_bucket(T0)).unwrap().amount, Wh(500));
    assert_eq!(c.debt(&bob, S1, day).unwrap().amount, Wh(500));
    // Credits of the second hour settle the day's debt, not the first hour's.
    c.mint(M2, T0 + 4500, 1_000);
    assert_eq!(c.debt(&bob, S1, day), None);
    assert_eq!(c.debt(&bob, S1, hour_bucket(T0)).unwrap().amount, Wh(500));
    assert_eq!(c.balance(&bob), Wh(500));
}

#[test]
fn genesis_refuses_a_settlement_grace_shorter_than_max_age_plus_skew() {
    // Max age 6 h, skew 30 s.
    let short = TestChain::builder()
        .with_params(|p| p.settlement_grace_s = 6 * 3600 + 29)
        .genesis();
    match short.state_diff() {
        Err(GenesisError::Invalid { context, reason }) => {
            assert_eq!(context, "zone RU-BU");
            assert!(reason.contains("settlement_grace_s"), "{reason}");
        }
        other => panic!("expected an invalid genesis, got {other:?}"),
    }
    let enough = TestChain::builder()
        .with_params(|p| p.settlement_grace_s = 6 * 3600 + 30)
        .genesis();
    assert!(enough.state_diff().is_ok());
}

/// Keys of `tag` that a block wrote.
fn touched(out: &crate::exec::BlockOutcome, tag: u8) -> usize {
    out.diff
        .0
        .keys()
        .filter(|k| k.first() == Some(&tag))
        .count()
}

/// Per-block work must not grow with the number of zones ever created:
/// a block with nothing due reads and writes no zone record, and expiry and
/// activations come through their due indexes.
#[test]
fn zones_are_visited_only_when_something_is_due() {
    use crate::state::tag;
    let mut c = TestChain::new();
    let reg = key("reg");
    let policy = default_policy();
    let txs: Vec<_> = (0..40)
        .map(|i| {
            c.tx(
                &reg,
                Body::SetZonePolicy {
                    zone: ZoneId::new(&format!("Z-{i}")).unwrap(),
                    policy: policy.clone(),
                },
            )
        })
        .collect();
    c.apply(txs).unwrap();
    // The next hour's first block activates all forty (they are due).
    c.advance_secs(3_600);
    let out = c.empty_block();
    assert_eq!(touched(&out, tag::ZONE), 40);
    // Later blocks with nothing due touch none.
    c.advance_secs(60);
    let out = c.empty_block();
    assert_eq!(touched(&out, tag::ZONE), 0);
    // A mint schedules its vintage's expiry; the block that expires it
    // touches only that zone.
    c.mint(M1, c.now_s() + 600, 100);
    let lifetime = policy.credit_lifetime_hours;
    c.advance_secs(lifetime * 3_600);
    let out = c.empty_block();
    assert_eq!(touched(&out, tag::ZONE), 1);
    assert!(block_events(&out).iter().any(|e| matches!(
        e,
        Event::Expired {
            amount: Wh(100),
            ..
        }
    )));
}

#[test]
fn the_number_of_zones_is_bounded() {
    let mut c = TestChain::new();
    let reg = key("reg");
    let policy = default_policy();
    let existing = 1;
    let txs: Vec<_> = (existing..crate::exec::MAX_ZONES)
        .map(|i| {
            c.tx(
                &reg,
                Body::SetZonePolicy {
                    zone: ZoneId::new(&format!("Z-{i}")).unwrap(),
                    policy: policy.clone(),
                },
            )
        })
        .collect::<Vec<_>>();
    for chunk in txs.chunks(500) {
        c.apply(chunk.to_vec()).unwrap();
    }
    let err = c.expect_err(
        &reg,
        Body::SetZonePolicy {
            zone: ZoneId::new("ONE-TOO-MANY").unwrap(),
            policy: policy.clone(),
        },
    );
    assert!(
        matches!(err, TxError::InvalidParameter { field: "zone", .. }),
        "{err:?}"
    );
    // Updating an existing zone is still fine.
    c.ok(
        &reg,
        Body::SetZonePolicy {
            zone: ZoneId::new("Z-5").unwrap(),
            policy,
        },
    );
}
