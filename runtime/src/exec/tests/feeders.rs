//! Feeders and the hourly energy balance (docs/protocol.md §17): every
//! reading rule, the exact hour close, the four statuses, alerts after N
//! consecutive hours and not N-1, overload, late energy, and moving a site
//! between feeders at an hour boundary.

use super::prelude::*;
use crate::feeder::{Attachee, BalanceStatus, DeclaredLoad, FeederId, FeederReading, NewFeeder};
use crate::state::{ClosedHour, Feeder, FeederHour, StateKey};

/// Readings up to 30 minutes old; the grace must cover that plus the skew.
const MAX_AGE: u64 = 1800;
const GRACE: u64 = MAX_AGE + 30;

fn fid(s: &str) -> FeederId {
    FeederId::new(s).unwrap()
}

/// The start of the n-th hour after genesis.
fn h(n: u64) -> u64 {
    T0 + n * 3600
}

fn hour(n: u64) -> Hour {
    Hour::of_seconds(h(n))
}

fn chain() -> TestChain {
    TestChain::builder()
        .with_params(|p| p.settlement_grace_s = GRACE)
        .with_policy(|p| p.reading_max_age_s = MAX_AGE)
        .build()
}

fn spec(c: &mut TestChain, id: &str, head: &str, declared: Option<&str>) -> NewFeeder {
    NewFeeder {
        id: fid(id),
        zone: zone(),
        rated_capacity: Watts(100_000),
        loss_permille: 30,
        alert_floor: Wh(500),
        alert_hours: 2,
        mining_share_permille: 500,
        head_key: c.device(head),
        baseline_time: T0,
        baseline_import: Wh(0),
        baseline_export: Wh(0),
        declared_key: declared.map(|d| c.device(d)),
    }
}

fn register(c: &mut TestChain, s: NewFeeder) -> Vec<Event> {
    c.ok(&key("reg"), Body::RegisterFeeder { feeder: s })
}

fn feeder(c: &TestChain, id: &str) -> Feeder {
    c.get(&StateKey::Feeder(fid(id))).expect("feeder")
}

/// The head meter's next reading, from its last end to `end_s`.
fn head(c: &TestChain, id: &str, end_s: u64, import: u64, export: u64) -> Signed<FeederReading> {
    let f = feeder(c, id);
    let r = FeederReading {
        feeder: fid(id),
        sequence: f.head_sequence + 1,
        period_start: f.head_last_end,
        period_end: end_s,
        import: Wh(f.head_import.0 + import),
        export: Wh(f.head_export.0 + export),
        flags: 0,
    };
    sign_head(c, r)
}

fn sign_head(c: &TestChain, r: FeederReading) -> Signed<FeederReading> {
    let k = c.keypair_of(&feeder(c, r.feeder.as_str()).head_key);
    r.sign(&c.chain_id, &k)
}

fn head_tx(c: &mut TestChain, readings: Vec<Signed<FeederReading>>) -> crate::tx::Transaction {
    c.tx(
        &key("reg2"),
        Body::SubmitFeederReadings {
            readings: BoundedVec::new(readings).unwrap(),
        },
    )
}

/// Relays a head reading covering the whole n-th hour.
fn cover(c: &mut TestChain, id: &str, n: u64, import: u64, export: u64) {
    if c.now_s() < h(n + 1) {
        c.at_s(h(n + 1));
    }
    let r = head(c, id, h(n + 1), import, export);
    let tx = head_tx(c, vec![r]);
    c.ok_tx(tx);
}

fn declare(
    c: &mut TestChain,
    id: &str,
    n: u64,
    energy: u64,
    signer: &str,
) -> crate::tx::Transaction {
    let d = DeclaredLoad {
        feeder: fid(id),
        hour: hour(n),
        energy: Wh(energy),
    };
    let k = key(signer);
    let signed = d.sign(&c.chain_id, &k);
    c.tx(
        &key("reg2"),
        Body::SubmitDeclaredLoad {
            loads: BoundedVec::new(vec![signed]).unwrap(),
        },
    )
}

/// A block just after the n-th hour closes; its events.
fn close(c: &mut TestChain, n: u64) -> Vec<Event> {
    let at = h(n + 1) + GRACE + 1;
    if c.now_s() < at {
        c.at_s(at);
    }
    let o = c.empty_block();
    block_events(&o)
}

/// The FeederBalance of a feeder's hour among events.
fn balance(events: &[Event], id: &str, n: u64) -> Option<Event> {
    events
        .iter()
        .find(|e| matches!(e, Event::FeederBalance { feeder, hour: hr, .. } if feeder.as_str() == id && *hr == hour(n)))
        .cloned()
}

fn status(e: &Event) -> BalanceStatus {
    match e {
        Event::FeederBalance { status, .. } => *status,
        _ => panic!("not a balance"),
    }
}

fn alerts(events: &[Event]) -> Vec<(Hour, Hour, u32, Wh)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::UnexplainedLoad {
                from_hour,
                through_hour,
                hours,
                unexplained,
                ..
            } => Some((*from_hour, *through_hour, *hours, *unexplained)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_regulator_registers_a_feeder_with_sound_parameters_only() {
    let mut c = chain();
    let s = spec(&mut c, "RU-BU/F1", "head1", None);
    let e = c.expect_err(&key("op1"), Body::RegisterFeeder { feeder: s.clone() });
    assert!(matches!(e, TxError::NotPermitted { .. }), "{e}");
    for (edit, field) in [
        (
            (|s: &mut NewFeeder| s.alert_hours = 0) as fn(&mut NewFeeder),
            "alert_hours",
        ),
        (|s| s.alert_hours = 169, "alert_hours"),
        (|s| s.loss_permille = 1001, "loss_permille"),
        (|s| s.mining_share_permille = 1001, "mining_share_permille"),
        (|s| s.baseline_time = T0 + 60, "baseline_time"),
    ] {
        let mut bad = s.clone();
        edit(&mut bad);
        match c.expect_err(&key("reg"), Body::RegisterFeeder { feeder: bad }) {
            TxError::InvalidParameter { field: f, .. } => assert_eq!(f, field),
            other => panic!("{field}: {other}"),
        }
    }
    let mut zero = s.clone();
    zero.rated_capacity = Watts(0);
    assert_eq!(
        c.expect_err(&key("reg"), Body::RegisterFeeder { feeder: zero }),
        TxError::ZeroPower {
            field: "rated_capacity"
        }
    );
    // Device keys are unique across meters, sites and head meters.
    let mut taken = s.clone();
    taken.head_key = key("meter1").public();
    assert_eq!(
        c.expect_err(&key("reg"), Body::RegisterFeeder { feeder: taken }),
        TxError::DeviceKeyInUse {
            key: key("meter1").public()
        }
    );
    let events = register(&mut c, s.clone());
    assert_eq!(
        events,
        vec![Event::FeederRegistered {
            feeder: fid("RU-BU/F1"),
            zone: zone(),
            rated_capacity: Watts(100_000),
            first_hour: hour(0),
        }]
    );
    assert_eq!(
        c.expect_err(&key("reg"), Body::RegisterFeeder { feeder: s }),
        TxError::FeederExists {
            feeder: fid("RU-BU/F1")
        }
    );
}

#[test]
fn an_attachment_starts_at_a_future_hour_in_the_devices_zone() {
    let mut c = chain();
    let s = spec(&mut c, "RU-BU/F1", "head1", None);
    register(&mut c, s);
    let attach = |from| Body::AttachToFeeder {
        device: Attachee::Site(S1),
        feeder: fid("RU-BU/F1"),
        from_hour: from,
    };
    assert_eq!(
        c.expect_err(&key("reg"), attach(hour(0))),
        TxError::AttachmentTooEarly {
            got: hour(0),
            earliest: hour(1)
        }
    );
    let e = c.expect_err(&key("bob"), attach(hour(1)));
    assert!(matches!(e, TxError::NotPermitted { .. }), "{e}");
    assert_eq!(
        c.expect_err(
            &key("reg"),
            Body::AttachToFeeder {
                device: Attachee::Site(SiteId(9)),
                feeder: fid("RU-BU/F1"),
                from_hour: hour(1),
            }
        ),
        TxError::UnknownSite { site: SiteId(9) }
    );
    assert_eq!(
        c.ok(&key("reg"), attach(hour(1))),
        vec![Event::FeederAttached {
            device: Attachee::Site(S1),
            feeder: fid("RU-BU/F1"),
            from_hour: hour(1),
        }]
    );
}

#[test]
fn a_block_at_hour_end_plus_grace_leaves_the_hour_open_and_the_next_closes_it() {
    let mut c = chain();
    let s = spec(&mut c, "RU-BU/F1", "head1", None);
    register(&mut c, s);
    cover(&mut c, "RU-BU/F1", 0, 10_000, 0);
    c.at_s(h(1) + GRACE);
    let at_deadline = block_events(&c.empty_block());
    assert_eq!(balance(&at_deadline, "RU-BU/F1", 0), None);
    c.advance_secs(1);
    let after = block_events(&c.empty_block());
    // import 10,000, allowance ceil(30 x 10,000 / 1000) = 300.
    assert_eq!(
        balance(&after, "RU-BU/F1", 0),
        Some(Event::FeederBalance {
            feeder: fid("RU-BU/F1"),
            hour: hour(0),
            import: Wh(10_000),
            export: Wh(0),
            generation: Wh(0),
            consumption: Wh(0),
            declared: Wh(0),
            allowance: Wh(300),
            unexplained: 9_700,
            status: BalanceStatus::Unexplained,
        })
    );
    assert_eq!(feeder(&c, "RU-BU/F1").open_from, hour(1));
    // The closed hour stays in the state, under its own key, and its
    // accumulators are gone.
    let closed: ClosedHour = c
        .get(&StateKey::FeederBalance(fid("RU-BU/F1"), hour(0)))
        .expect("closed hour");
    assert_eq!(
        (closed.unexplained, closed.status),
        (9_700, BalanceStatus::Unexplained)
    );
    assert!(c
        .get::<FeederHour>(&StateKey::FeederHour(fid("RU-BU/F1"), hour(0)))
        .is_none());
    // Each hour closes once.
    assert_eq!(
        balance(&block_events(&c.empty_block()), "RU-BU/F1", 0),
        None
    );
}

#[test]
fn a_metered_hour_counts_every_figure_and_balances() {
    let mut c = chain();
    let s = spec(&mut c, "RU-BU/F1", "head1", Some("dso1"));
    register(&mut c, s);
    for device in [Attachee::Site(S1), Attachee::Meter(M1)] {
        c.ok(
            &key("reg"),
            Body::AttachToFeeder {
                device,
                feeder: fid("RU-BU/F1"),
                from_hour: hour(1),
            },
        );
    }
    cover(&mut c, "RU-BU/F1", 0, 0, 0);
    // M2 is on no feeder: its generation counts nowhere.
    c.mint(M2, h(1) + 1_700, 3_000);
    c.mint(M1, h(1) + 1_800, 2_000);
    c.consume(S1, h(2), 4_000);
    cover(&mut c, "RU-BU/F1", 1, 10_000, 1_000);
    let tx = declare(&mut c, "RU-BU/F1", 1, 6_400, "dso1");
    c.ok_tx(tx);
    let events = close(&mut c, 1);
    // allowance ceil(30 x 12,000 / 1000) = 360; 10,000 - 1,000 + 2,000 -
    // 4,000 - 6,400 - 360 = 240, within the 500 Wh floor.
    assert_eq!(
        balance(&events, "RU-BU/F1", 1),
        Some(Event::FeederBalance {
            feeder: fid("RU-BU/F1"),
            hour: hour(1),
            import: Wh(10_000),
            export: Wh(1_000),
            generation: Wh(2_000),
            consumption: Wh(4_000),
            declared: Wh(6_400),
            allowance: Wh(360),
            unexplained: 240,
            status: BalanceStatus::Balanced,
        })
    );
}

#[test]
fn an_hour_without_full_head_readings_or_declared_load_is_unmetered() {
    let mut c = chain();
    let s = spec(&mut c, "RU-BU/F1", "head1", Some("dso1"));
    register(&mut c, s);
    // Hour 0: fully covered, but the declared load never comes.
    cover(&mut c, "RU-BU/F1", 0, 10_000, 0);
    // Hour 1: half covered.
    c.at_s(h(1) + 1800);
    let r = head(&c, "RU-BU/F1", h(1) + 1800, 5_000, 0);
    let tx = head_tx(&mut c, vec![r]);
    c.ok_tx(tx);
    let tx = declare(&mut c, "RU-BU/F1", 1, 100, "dso1");
    c.ok_tx(tx);
    let e0 = close(&mut c, 0);
    assert_eq!(
        status(&balance(&e0, "RU-BU/F1", 0).unwrap()),
        BalanceStatus::Unmetered
    );
    let e1 = close(&mut c, 1);
    assert_eq!(
        status(&balance(&e1, "RU-BU/F1", 1).unwrap()),
        BalanceStatus::Unmetered
    );
    // The rest of hour 1 can no longer come: the grace covers the readings'
    // max age, so a reading of a closed hour is always too old. A
    // regulator's resync brings the head meter back.
    let r = head(&c, "RU-BU/F1", h(2), 5_000, 0);
    let tx = head_tx(&mut c, vec![r]);
    assert!(c.expect_err_tx(tx).to_string().contains("oldest allowed"));
}

#[test]
fn a_head_counter_that_goes_down_counts_nothing_and_makes_its_hour_unmetered() {
    let mut c = chain();
    let s = spec(&mut c, "RU-BU/F1", "head1", None);
    register(&mut c, s);
    cover(&mut c, "RU-BU/F1", 0, 10_000, 500);
    c.at_s(h(2));
    let f = feeder(&c, "RU-BU/F1");
    let r = sign_head(
        &c,
        FeederReading {
            feeder: fid("RU-BU/F1"),
            sequence: 2,
            period_start: h(1),
            period_end: h(2),
            import: Wh(3_000),
            export: f.head_export,
            flags: 0,
        },
    );
    let tx = head_tx(&mut c, vec![r]);
    assert_eq!(
        c.ok_tx(tx),
        vec![Event::FeederCounterWentDown {
            feeder: fid("RU-BU/F1"),
            sequence: 2,
            counter: text("import"),
        }]
    );
    // The reference is reset to the new counter.
    assert_eq!(feeder(&c, "RU-BU/F1").head_import, Wh(3_000));
    let e = close(&mut c, 1);
    match balance(&e, "RU-BU/F1", 1).unwrap() {
        Event::FeederBalance { import, status, .. } => {
            assert_eq!(import, Wh(0));
            assert_eq!(status, BalanceStatus::Unmetered);
        }
        _ => unreachable!(),
    }
}

#[test]
fn more_metered_use_than_supply_is_a_negative_hour() {
    let mut c = chain();
    let s = spec(&mut c, "RU-BU/F1", "head1", None);
    register(&mut c, s);
    c.ok(
        &key("reg"),
        Body::AttachToFeeder {
            device: Attachee::Site(S1),
            feeder: fid("RU-BU/F1"),
            from_hour: hour(1),
        },
    );
    cover(&mut c, "RU-BU/F1", 0, 0, 0);
    c.consume(S1, h(2), 5_000);
    cover(&mut c, "RU-BU/F1", 1, 4_000, 0);
    let e = close(&mut c, 1);
    // 4,000 - 5,000 - ceil(120) = -1,120, beyond the -500 floor.
    match balance(&e, "RU-BU/F1", 1).unwrap() {
        Event::FeederBalance {
            unexplained,
            status,
            ..
        } => {
            assert_eq!(unexplained, -1_120);
            assert_eq!(status, BalanceStatus::Negative);
        }
        _ => unreachable!(),
    }
}

#[test]
fn an_alert_comes_after_n_consecutive_unexplained_hours_and_not_before() {
    let mut c = chain();
    let s = spec(&mut c, "RU-BU/F1", "head1", None);
    register(&mut c, s);
    let f = "RU-BU/F1";
    // Hour 0 unexplained (9,700): a run of 1 of 2, no alert.
    cover(&mut c, f, 0, 10_000, 0);
    let e = close(&mut c, 0);
    assert_eq!(
        status(&balance(&e, f, 0).unwrap()),
        BalanceStatus::Unexplained
    );
    assert_eq!(alerts(&e), vec![]);
    // Hour 1 unmetered (nothing read): neither counts nor resets the run.
    // The head meter, offline past the readings' max age, comes back by a
    // regulator's resync on a whole hour.
    c.at_s(h(2) + 10);
    c.ok(
        &key("reg"),
        Body::ResyncFeederMeter {
            feeder: fid(f),
            baseline_time: h(2),
            baseline_import: Wh(50_000),
            baseline_export: Wh(0),
        },
    );
    // Hour 2 unexplained (1,000 - 30 = 970): the alert, naming hours 0 to 2.
    cover(&mut c, f, 2, 1_000, 0);
    let e = close(&mut c, 2);
    // Two unexplained hours with an unmetered one between them: the run
    // was not reset.
    assert_eq!(alerts(&e), vec![(hour(0), hour(2), 2, Wh(9_700 + 970))]);
    assert!(feeder(&c, f).alert.is_some());
    let open_alert = StateKey::OpenAlert(fid(f));
    assert!(c.get::<()>(&open_alert).is_some());
    // Hour 3 unexplained: the open alert grows.
    cover(&mut c, f, 3, 2_000, 0);
    let e = close(&mut c, 3);
    assert_eq!(
        alerts(&e),
        vec![(hour(0), hour(3), 3, Wh(9_700 + 970 + 1_940))]
    );
    // Hour 4 balanced: the alert stays until a regulator clears it.
    cover(&mut c, f, 4, 0, 0);
    let e = close(&mut c, 4);
    assert_eq!(status(&balance(&e, f, 4).unwrap()), BalanceStatus::Balanced);
    assert!(feeder(&c, f).alert.is_some());
    let clear = Body::ClearFeederAlert {
        feeder: fid(f),
        reason: text("line inspected, tap removed"),
    };
    let e = c.expect_err(&key("op1"), clear.clone());
    assert!(matches!(e, TxError::NotPermitted { .. }), "{e}");
    assert_eq!(
        c.ok(&key("reg"), clear.clone()),
        vec![Event::FeederAlertCleared {
            feeder: fid(f),
            from_hour: hour(0),
            through_hour: hour(3),
            reason: text("line inspected, tap removed"),
        }]
    );
    assert_eq!(
        c.expect_err(&key("reg"), clear),
        TxError::NoFeederAlert { feeder: fid(f) }
    );
    assert!(c.get::<()>(&open_alert).is_none());
    // A new alert needs N new consecutive hours.
    cover(&mut c, f, 5, 2_000, 0);
    assert_eq!(alerts(&close(&mut c, 5)), vec![]);
    cover(&mut c, f, 6, 2_000, 0);
    assert_eq!(
        alerts(&close(&mut c, 6)),
        vec![(hour(5), hour(6), 2, Wh(1_940 * 2))]
    );
}

#[test]
fn a_balanced_hour_resets_the_run() {
    let mut c = chain();
    let s = spec(&mut c, "RU-BU/F1", "head1", None);
    register(&mut c, s);
    let f = "RU-BU/F1";
    cover(&mut c, f, 0, 10_000, 0);
    cover(&mut c, f, 1, 0, 0);
    cover(&mut c, f, 2, 10_000, 0);
    let mut events = close(&mut c, 0);
    events.extend(close(&mut c, 1));
    events.extend(close(&mut c, 2));
    assert_eq!(alerts(&events), vec![]);
    assert_eq!(feeder(&c, f).run, 1);
}

#[test]
fn an_hour_above_rated_capacity_is_an_overload() {
    let mut c = chain();
    let mut s = spec(&mut c, "RU-BU/F1", "head1", None);
    s.rated_capacity = Watts(8_000);
    register(&mut c, s);
    cover(&mut c, "RU-BU/F1", 0, 10_000, 0);
    let e = close(&mut c, 0);
    assert!(e.contains(&Event::FeederOverload {
        feeder: fid("RU-BU/F1"),
        hour: hour(0),
        import: Wh(10_000),
        consumption: Wh(0),
        capacity: Wh(8_000),
    }));
    cover(&mut c, "RU-BU/F1", 1, 8_000, 0);
    let e = close(&mut c, 1);
    assert!(!e.iter().any(|e| matches!(e, Event::FeederOverload { .. })));
}

#[test]
fn moving_a_site_at_an_hour_boundary_splits_its_energy_between_feeders() {
    let mut c = chain();
    let s1 = spec(&mut c, "RU-BU/F1", "head1", None);
    let s2 = spec(&mut c, "RU-BU/F2", "head2", None);
    register(&mut c, s1);
    register(&mut c, s2);
    for (f, from) in [("RU-BU/F1", 1), ("RU-BU/F2", 2)] {
        c.ok(
            &key("reg"),
            Body::AttachToFeeder {
                device: Attachee::Site(S1),
                feeder: fid(f),
                from_hour: hour(from),
            },
        );
    }
    let mut events = block_events(&c.consume(S1, h(2), 3_000));
    events.extend(block_events(&c.consume(S1, h(3), 2_000)));
    events.extend(close(&mut c, 1));
    events.extend(close(&mut c, 2));
    let consumption = |f: &str, n| match balance(&events, f, n).unwrap() {
        Event::FeederBalance { consumption, .. } => consumption,
        _ => unreachable!(),
    };
    assert_eq!(consumption("RU-BU/F1", 1), Wh(3_000));
    assert_eq!(consumption("RU-BU/F2", 1), Wh(0));
    assert_eq!(consumption("RU-BU/F1", 2), Wh(0));
    assert_eq!(consumption("RU-BU/F2", 2), Wh(2_000));
}

#[test]
fn consumption_for_a_closed_hour_is_late_and_still_burned() {
    let mut c = chain();
    let s = spec(&mut c, "RU-BU/F1", "head1", None);
    register(&mut c, s);
    c.ok(
        &key("reg"),
        Body::AttachToFeeder {
            device: Attachee::Site(S1),
            feeder: fid("RU-BU/F1"),
            from_hour: hour(1),
        },
    );
    close(&mut c, 1);
    let o = c.consume(S1, h(2), 1_500);
    let events = tx_events(&o, 0);
    assert!(events.contains(&Event::LateFeederConsumption {
        feeder: fid("RU-BU/F1"),
        site: S1,
        hour: hour(1),
        amount: Wh(1_500),
    }));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Consumed { amount, .. } if *amount == Wh(1_500))));
    assert_eq!(c.site(S1).consumed, Wh(1_500));
}

#[test]
fn head_readings_follow_the_generation_reading_rules() {
    let mut c = chain();
    let s = spec(&mut c, "RU-BU/F1", "head1", None);
    register(&mut c, s);
    let f = "RU-BU/F1";
    c.at_s(h(1));
    let good = head(&c, f, h(0) + 900, 100, 0).reading;
    let cases: Vec<(FeederReading, &str)> = vec![
        (
            FeederReading {
                sequence: 2,
                ..good.clone()
            },
            "sequence",
        ),
        (
            FeederReading {
                period_start: T0 + 60,
                ..good.clone()
            },
            "the last one ended",
        ),
        (
            FeederReading {
                period_end: h(1) + 60,
                ..good.clone()
            },
            "crosses an hour",
        ),
        (
            FeederReading {
                flags: 1,
                ..good.clone()
            },
            "flagged",
        ),
    ];
    for (r, what) in cases {
        let signed = sign_head(&c, r);
        let tx = head_tx(&mut c, vec![signed]);
        let e = c.expect_err_tx(tx).to_string();
        assert!(e.contains(what), "{what}: {e}");
    }
    // In the future.
    c.at_s(T0 + 100);
    let early = head(&c, f, T0 + 900, 100, 0);
    let tx = head_tx(&mut c, vec![early]);
    assert!(matches!(
        c.expect_err_tx(tx),
        TxError::ReadingInFuture { .. }
    ));
    // Signed by another key.
    c.at_s(h(1));
    let forged = good.clone().sign(&c.chain_id, &key("head2"));
    let tx = head_tx(&mut c, vec![forged]);
    assert_eq!(
        c.expect_err_tx(tx),
        TxError::BadDeviceSignature {
            device: format!("feeder {f} head meter"),
            sequence: 1
        }
    );
    // Too old: beyond the zone's max age.
    c.at_s(h(1) + 60);
    let old = head(&c, f, h(0) + 900, 100, 0);
    let tx = head_tx(&mut c, vec![old]);
    assert!(c.expect_err_tx(tx).to_string().contains("oldest allowed"));
}

#[test]
fn a_declared_load_comes_once_per_open_hour_under_its_key() {
    let mut c = chain();
    let s = spec(&mut c, "RU-BU/F1", "head1", Some("dso1"));
    register(&mut c, s);
    let no_key = spec(&mut c, "RU-BU/F2", "head2", None);
    register(&mut c, no_key);
    let f = "RU-BU/F1";
    // An hour that has not begun.
    let tx = declare(&mut c, f, 1, 100, "dso1");
    assert_eq!(
        c.expect_err_tx(tx),
        TxError::DeclaredLoad {
            feeder: fid(f),
            hour: hour(1),
            reason: "the hour has not begun"
        }
    );
    let tx = declare(&mut c, f, 0, 100, "dso2");
    assert!(matches!(
        c.expect_err_tx(tx),
        TxError::BadDeviceSignature { .. }
    ));
    let tx = declare(&mut c, "RU-BU/F2", 0, 100, "dso1");
    assert_eq!(
        c.expect_err_tx(tx),
        TxError::DeclaredLoad {
            feeder: fid("RU-BU/F2"),
            hour: hour(0),
            reason: "the feeder has no declared-load key"
        }
    );
    let tx = declare(&mut c, f, 0, 100, "dso1");
    assert_eq!(c.ok_tx(tx), vec![]);
    let tx = declare(&mut c, f, 0, 200, "dso1");
    assert_eq!(
        c.expect_err_tx(tx),
        TxError::DeclaredLoad {
            feeder: fid(f),
            hour: hour(0),
            reason: "a declared load for this hour is on record already"
        }
    );
    close(&mut c, 0);
    let tx = declare(&mut c, f, 0, 200, "dso1");
    assert_eq!(
        c.expect_err_tx(tx),
        TxError::DeclaredLoad {
            feeder: fid(f),
            hour: hour(0),
            reason: "the hour is closed"
        }
    );
}

#[test]
fn a_block_closes_only_the_feeders_whose_hour_is_due() {
    let mut c = chain();
    for i in 0..20 {
        let s = spec(&mut c, &format!("RU-BU/F{i}"), &format!("head{i}"), None);
        register(&mut c, s);
    }
    // Before any hour is due, a block closes nothing; after it, one
    // FeederBalance per feeder and hour, oldest hour first.
    let quiet = block_events(&c.empty_block());
    assert!(!quiet
        .iter()
        .any(|e| matches!(e, Event::FeederBalance { .. })));
    c.at_s(h(3) + GRACE + 1);
    let e = block_events(&c.empty_block());
    let closed: Vec<(Hour, String)> = e
        .iter()
        .filter_map(|e| match e {
            Event::FeederBalance { feeder, hour, .. } => Some((*hour, feeder.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(closed.len(), 20 * 3);
    let mut sorted = closed.clone();
    sorted.sort();
    assert_eq!(closed, sorted);
    assert_eq!(closed[0].0, hour(0));
    assert_eq!(closed[59].0, hour(2));
}

#[test]
fn the_number_of_feeders_is_bounded() {
    use crate::feeder::MAX_FEEDERS;
    let mut c = chain();
    let reg = key("reg");
    for chunk in (0..MAX_FEEDERS).collect::<Vec<_>>().chunks(256) {
        let txs: Vec<_> = chunk
            .iter()
            .map(|i| {
                let s = spec(&mut c, &format!("F{i}"), &format!("head{i}"), None);
                c.tx(&reg, Body::RegisterFeeder { feeder: s })
            })
            .collect();
        c.apply(txs).expect("registrations");
    }
    let one_more = spec(&mut c, "RU-BU/FX", "headx", None);
    assert_eq!(
        c.expect_err(&reg, Body::RegisterFeeder { feeder: one_more }),
        TxError::InvalidParameter {
            field: "feeder",
            reason: format!("a chain has at most {MAX_FEEDERS} feeders")
        }
    );
}
