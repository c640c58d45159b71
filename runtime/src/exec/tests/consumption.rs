//! Consumption readings (burn to run), open debts, shortfalls and their
//! settlement: docs/protocol.md §6 and §7.
//!
//! S1 is bob's site (5 kW max draw, baseline T0, counter 0); with 10 %
//! tolerance, 900 s allow at most 1375 Wh. Bob's own meter M2 mints his
//! credits. The matching window is one hour; the settlement grace one day,
//! so a debt of hour T0 turns into a shortfall after T0 + 3600 + 86_400.

use super::prelude::*;

const DEADLINE: u64 = T0 + 3600 + 86_400;

fn site1() -> String {
    "site 1".into()
}

fn bob() -> AccountId {
    account("bob")
}

#[test]
fn covered_consumption_burns_eligible_credits_at_once() {
    let mut c = TestChain::new();
    c.mint(M2, T0 + 900, 2_000);
    let out = c.consume(S1, T0 + 900, 1_000);
    assert_eq!(
        tx_events(&out, 0),
        vec![
            Event::Consumed {
                site: S1,
                sequence: 1,
                hour: Hour::of_seconds(T0),
                bucket: hour_bucket(T0),
                amount: Wh(1_000),
            },
            Event::Burned {
                site: S1,
                owner: bob(),
                parts: vec![(vintage_at(T0), Wh(1_000))],
            },
        ]
    );
    assert_eq!(c.balance(&bob()), Wh(1_000));
    let s = c.site(S1);
    assert_eq!(
        (s.consumed, s.burned, s.open_debt, s.shortfall),
        (Wh(1_000), Wh(1_000), Wh(0), Wh(0))
    );
    assert_eq!(c.supply().burned, Wh(1_000));
    assert_eq!(c.site_status(S1), SiteStatus::Active);
}

#[test]
fn partly_covered_consumption_opens_a_debt_of_its_bucket() {
    let mut c = TestChain::new();
    c.mint(M2, T0 + 900, 500);
    let out = c.consume(S1, T0 + 900, 1_000);
    assert_eq!(
        tx_events(&out, 0)[1..],
        [
            Event::Burned {
                site: S1,
                owner: bob(),
                parts: vec![(vintage_at(T0), Wh(500))],
            },
            Event::DebtOpened {
                site: S1,
                bucket: hour_bucket(T0),
                amount: Wh(500),
                deadline: DEADLINE,
            },
        ]
    );
    assert_eq!(c.site(S1).open_debt, Wh(500));
    let debt = c.debt(&bob(), S1, hour_bucket(T0)).unwrap();
    assert_eq!((debt.amount, debt.deadline), (Wh(500), DEADLINE));
    // An open debt does not stop the site: only a shortfall does.
    assert_eq!(c.site_status(S1), SiteStatus::Active);
}

#[test]
fn a_debt_is_settled_by_later_credits_of_its_bucket_only() {
    let mut c = TestChain::new();
    c.consume(S1, T0 + 900, 1_000);
    assert_eq!(c.site(S1).open_debt, Wh(1_000));
    // Credits of the next hour reach bob: not eligible for the hour-T0 debt.
    c.mint(M1, T0 + 4500, 1_500);
    let out = c.ok(
        &key("alice"),
        Body::Transfer {
            to: bob(),
            amount: Wh(1_200),
            vintages: None,
        },
    );
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(c.site(S1).open_debt, Wh(1_000));
    // A late reading of hour T0 from bob's meter settles it.
    let out = c.mint(M2, T0 + 1800, 1_300);
    assert_eq!(
        tx_events(&out, 0)[1..],
        [
            Event::Burned {
                site: S1,
                owner: bob(),
                parts: vec![(vintage_at(T0), Wh(1_000))],
            },
            Event::DebtSettled {
                site: S1,
                bucket: hour_bucket(T0),
                amount: Wh(1_000),
                remaining: Wh(0),
            },
        ]
    );
    assert_eq!(c.debt(&bob(), S1, hour_bucket(T0)), None);
    assert_eq!(c.site(S1).open_debt, Wh(0));
    assert_eq!(c.site(S1).burned, Wh(1_000));
    assert_eq!(c.holding(&bob(), &vintage_at(T0)), Wh(300));
    assert_eq!(c.holding(&bob(), &vintage_at(T0 + 3600)), Wh(1_200));
}

#[test]
fn a_debt_is_settled_partly_then_fully() {
    let mut c = TestChain::new();
    c.consume(S1, T0 + 900, 1_000);
    let out = c.mint(M2, T0 + 1800, 400);
    assert!(tx_events(&out, 0).contains(&Event::DebtSettled {
        site: S1,
        bucket: hour_bucket(T0),
        amount: Wh(400),
        remaining: Wh(600),
    }));
    assert_eq!(c.site(S1).open_debt, Wh(600));
    c.mint(M2, T0 + 2700, 700);
    assert_eq!(c.site(S1).open_debt, Wh(0));
    assert_eq!(c.balance(&bob()), Wh(100));
}

#[test]
fn a_debt_is_settled_by_credits_arriving_during_the_grace() {
    let mut c = TestChain::new();
    c.consume(S1, T0 + 900, 1_000);
    // Two hours after the bucket ended, a late reading of that hour.
    c.at_s(T0 + 3 * 3600);
    c.mint(M2, T0 + 3600, 1_500);
    assert_eq!(c.site(S1).open_debt, Wh(0));
    assert_eq!(c.balance(&bob()), Wh(500));
}

#[test]
fn a_debt_is_still_open_at_its_deadline_and_credits_then_settle_it() {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 900, 2_000);
    c.consume(S1, T0 + 900, 1_000);
    c.at_s(DEADLINE);
    let out = c.ok(
        &key("alice"),
        Body::Transfer {
            to: bob(),
            amount: Wh(1_000),
            vintages: None,
        },
    );
    assert!(out.contains(&Event::DebtSettled {
        site: S1,
        bucket: hour_bucket(T0),
        amount: Wh(1_000),
        remaining: Wh(0),
    }));
    assert_eq!(c.site(S1).shortfall, Wh(0));
}

#[test]
fn an_open_debt_becomes_a_shortfall_once_block_time_passes_bucket_end_plus_grace() {
    let mut c = TestChain::new();
    c.consume(S1, T0 + 900, 1_000);
    c.at_s(DEADLINE);
    let out = c.empty_block();
    assert_eq!(block_events(&out), vec![]);
    assert_eq!(c.site(S1).open_debt, Wh(1_000));
    c.at_s(DEADLINE + 1);
    let out = c.empty_block();
    let events = block_events(&out);
    assert_eq!(
        events[0],
        Event::ShortfallRecorded {
            site: S1,
            bucket: hour_bucket(T0),
            amount: Wh(1_000),
        }
    );
    assert_eq!(
        violations(&events),
        vec![(S1, ViolationKind::Unbacked, None)]
    );
    let s = c.site(S1);
    assert_eq!((s.open_debt, s.shortfall), (Wh(0), Wh(1_000)));
    assert_eq!(s.anomaly, None, "a shortfall is not an anomaly");
    assert_eq!(c.debt(&bob(), S1, hour_bucket(T0)), None);
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedShortfall);
}

/// docs/protocol.md §6.6 and §10.2: the grace is at least max age plus skew "so that late but valid
/// generation can always still settle a debt" — also when the skew is 0
/// and the grace exactly the max age: the last reading of the bucket is
/// still valid at the deadline, so the debt must still be open then.
#[test]
fn late_but_valid_generation_settles_a_debt_at_the_deadline_even_without_skew() {
    let mut c = TestChain::builder()
        .with_params(|p| {
            p.max_clock_skew_s = 0;
            p.settlement_grace_s = 6 * 3600;
        })
        .build();
    c.consume(S1, T0 + 900, 1_000);
    let deadline = T0 + 3600 + 6 * 3600;
    c.at_s(deadline);
    // Ends exactly at block time minus max age: valid.
    c.mint(M2, T0 + 3600, 1_000);
    assert_eq!(c.site(S1).open_debt, Wh(0));
    assert_eq!(c.site(S1).shortfall, Wh(0));
}

#[test]
fn settling_a_shortfall_burns_it_times_the_penalty_rounded_up() {
    let mut c = TestChain::new();
    c.consume(S1, T0 + 900, 1_001);
    c.at_s(DEADLINE + 1);
    c.empty_block();
    assert_eq!(c.site(S1).shortfall, Wh(1_001));
    let settle = Body::SettleShortfall {
        site: S1,
        vintages: None,
    };
    // 1001 * 1.5 = 1501.5, charged as 1502.
    assert_eq!(
        c.expect_err(&key("bob"), settle.clone()),
        TxError::InsufficientBalance {
            needed: Wh(1_502),
            available: Wh(0)
        }
    );
    assert_eq!(
        c.expect_err(&key("alice"), settle.clone()),
        TxError::NotSiteOwner {
            site: S1,
            signer: account("alice")
        }
    );
    // Any unexpired vintage of the zone will do.
    let later = DEADLINE + 900;
    c.mint(M2, later, 2_000);
    let out = c.ok(&key("bob"), settle.clone());
    assert_eq!(
        out,
        vec![
            Event::Burned {
                site: S1,
                owner: bob(),
                parts: vec![(vintage_at(later), Wh(1_502))],
            },
            Event::ShortfallSettled {
                site: S1,
                shortfall: Wh(1_001),
                cost: Wh(1_502),
            },
        ]
    );
    assert_eq!(c.balance(&bob()), Wh(498));
    assert_eq!(c.site(S1).shortfall, Wh(0));
    assert_eq!(c.supply().burned, Wh(1_502));
    assert_ne!(c.site_status(S1), SiteStatus::SuspendedShortfall);
    assert_eq!(
        c.expect_err(&key("bob"), settle),
        TxError::NoShortfall { site: S1 }
    );
}

#[test]
fn overdraw_burns_the_same_way_and_suspends() {
    let mut c = TestChain::new();
    c.mint(M2, T0 + 900, 2_000);
    let out = c.consume(S1, T0 + 900, 1_376);
    let events = tx_events(&out, 0);
    assert_eq!(
        violations(&events),
        vec![(S1, ViolationKind::OverDraw, Some(1))]
    );
    assert!(events.contains(&Event::Burned {
        site: S1,
        owner: bob(),
        parts: vec![(vintage_at(T0), Wh(1_376))],
    }));
    assert_eq!(c.site(S1).anomaly, Some(ViolationKind::OverDraw));
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedAnomaly);
}

#[test]
fn consumption_at_the_max_draw_bound_is_no_overdraw() {
    let mut c = TestChain::new();
    c.mint(M2, T0 + 900, 2_000);
    let out = c.consume(S1, T0 + 900, 1_375);
    assert_eq!(violations(&tx_events(&out, 0)), vec![]);
    assert_eq!(c.site_status(S1), SiteStatus::Active);
}

#[test]
fn a_counter_going_down_is_recorded_and_suspends_and_becomes_the_reference() {
    let mut c = TestChain::new();
    c.mint(M2, T0 + 900, 2_000);
    c.consume(S1, T0 + 600, 1_000);
    let mut r = c.cons_reading(S1, T0 + 900, 0);
    r.counter = Wh(400);
    let out = c.submit_cons(vec![c.sign_cons(r)]).unwrap();
    let events = tx_events(&out, 0);
    assert_eq!(
        violations(&events),
        vec![(S1, ViolationKind::CounterWentDown, Some(2))]
    );
    assert!(events.contains(&Event::Consumed {
        site: S1,
        sequence: 2,
        hour: Hour::of_seconds(T0),
        bucket: hour_bucket(T0),
        amount: Wh(0),
    }));
    assert!(!events.iter().any(|e| matches!(e, Event::Burned { .. })));
    assert_eq!(c.site(S1).last_counter, Wh(400));
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedAnomaly);
    // The next delta is measured from 400.
    c.at_s(T0 + 1200);
    let out = c.submit_cons(vec![c.cons(S1, T0 + 1200, 500)]).unwrap();
    assert!(tx_events(&out, 0).contains(&Event::Burned {
        site: S1,
        owner: bob(),
        parts: vec![(vintage_at(T0), Wh(500))],
    }));
    assert_eq!(c.site(S1).consumed, Wh(1_500));
}

#[test]
fn a_catch_up_period_over_several_hours_is_recorded_in_the_hour_of_its_last_second() {
    let mut c = TestChain::new();
    let h3 = T0 + 3 * 3600;
    c.mint(M2, h3 + 900, 2_000);
    c.consume(S1, T0 + 900, 0);
    let r = c.cons(S1, h3 + 600, 1_000);
    let out = c.submit_cons(vec![r]).unwrap();
    let events = tx_events(&out, 0);
    assert_eq!(
        violations(&events),
        vec![(S1, ViolationKind::MultiHour, Some(2))]
    );
    assert!(events.contains(&Event::Consumed {
        site: S1,
        sequence: 2,
        hour: Hour::of_seconds(h3),
        bucket: hour_bucket(h3),
        amount: Wh(1_000),
    }));
    assert!(events.contains(&Event::Burned {
        site: S1,
        owner: bob(),
        parts: vec![(vintage_at(h3), Wh(1_000))],
    }));
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedAnomaly);
}

#[test]
fn a_period_not_starting_where_the_last_ended_is_recorded_and_suspends() {
    let mut c = TestChain::new();
    c.consume(S1, T0 + 900, 0);
    c.at_s(T0 + 1800);
    let mut r = c.cons_reading(S1, T0 + 1800, 10);
    r.period_start = T0 + 1000;
    let out = c.submit_cons(vec![c.sign_cons(r)]).unwrap();
    assert_eq!(
        violations(&tx_events(&out, 0)),
        vec![(S1, ViolationKind::PeriodGap, Some(2))]
    );
    assert_eq!(c.site(S1).last_end, T0 + 1800);
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedAnomaly);
}

#[test]
fn a_tamper_flag_is_recorded_and_suspends() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let mut r = c.cons_reading(S1, T0 + 900, 10);
    r.flags = FLAG_TAMPERED;
    let out = c.submit_cons(vec![c.sign_cons(r)]).unwrap();
    let events = tx_events(&out, 0);
    assert_eq!(
        violations(&events),
        vec![(S1, ViolationKind::Flagged, Some(1))]
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::DebtOpened { amount: Wh(10), .. })));
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedAnomaly);
}

#[test]
fn a_period_whose_end_is_not_after_its_start_is_refused() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    for end in [T0, T0 - 1] {
        let err = c.expect_cons_err(vec![c.cons(S1, end, 0)]);
        assert_eq!(
            err,
            TxError::EmptyPeriod {
                device: site1(),
                sequence: 1,
                start: T0,
                end
            }
        );
    }
}

#[test]
fn a_period_ending_after_block_time_plus_skew_is_refused_and_can_be_sent_again() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let r = c.cons(S1, T0 + 931, 100);
    let err = c.expect_cons_err(vec![r.clone()]);
    assert_eq!(
        err,
        TxError::ReadingInFuture {
            device: site1(),
            sequence: 1,
            end: T0 + 931,
            latest: T0 + 930
        }
    );
    c.at_s(T0 + 901);
    c.submit_cons(vec![r]).unwrap();
    assert_eq!(c.site(S1).last_sequence, 1);
}

#[test]
fn a_consumption_reading_with_a_bad_signature_is_refused() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let r = c
        .cons_reading(S1, T0 + 900, 100)
        .sign(&c.chain_id, &key("meter2"));
    let err = c.expect_cons_err(vec![r]);
    assert_eq!(
        err,
        TxError::BadDeviceSignature {
            device: site1(),
            sequence: 1
        }
    );
}

#[test]
fn a_repeated_consumption_sequence_is_refused() {
    let mut c = TestChain::new();
    c.consume(S1, T0 + 900, 100);
    let first = c.site(S1);
    c.at_s(T0 + 1800);
    let mut r = c.cons_reading(S1, T0 + 1800, 100);
    r.sequence = 1;
    let err = c.expect_cons_err(vec![c.sign_cons(r)]);
    assert_eq!(
        err,
        TxError::ReadingOutOfOrder {
            device: site1(),
            expected_seq: 2,
            got_seq: 1
        }
    );
    let mut r = c.cons_reading(S1, T0 + 1800, 100);
    r.sequence = 3;
    let err = c.expect_cons_err(vec![c.sign_cons(r)]);
    assert_eq!(
        err,
        TxError::ReadingOutOfOrder {
            device: site1(),
            expected_seq: 2,
            got_seq: 3
        }
    );
    assert_eq!(c.site(S1), first);
}

#[test]
fn a_period_ending_exactly_on_the_hour_is_attributed_to_that_hour_like_generation() {
    let mut c = TestChain::new();
    // Bob holds credits of the next hour only.
    c.mint(M2, T0 + 4500, 2_500);
    let out = c.consume(S1, T0 + 3600, 1_000);
    assert_eq!(
        tx_events(&out, 0),
        vec![
            Event::Consumed {
                site: S1,
                sequence: 1,
                hour: Hour::of_seconds(T0),
                bucket: hour_bucket(T0),
                amount: Wh(1_000),
            },
            Event::DebtOpened {
                site: S1,
                bucket: hour_bucket(T0),
                amount: Wh(1_000),
                deadline: DEADLINE,
            },
        ]
    );
    // The period starting on the hour belongs to the next hour.
    let out = c.consume(S1, T0 + 4500, 1_000);
    assert!(tx_events(&out, 0).contains(&Event::Burned {
        site: S1,
        owner: bob(),
        parts: vec![(vintage_at(T0 + 3600), Wh(1_000))],
    }));
}

#[test]
fn a_site_goes_dark_when_its_last_period_lags_block_time_by_dark_after() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    c.empty_block();
    assert_eq!(c.site_status(S1), SiteStatus::Active);
    c.at_s(T0 + 901);
    c.empty_block();
    assert_eq!(c.site_status(S1), SiteStatus::Dark);
    // A reading up to now makes it active again.
    c.consume(S1, T0 + 901, 0);
    assert_eq!(c.site_status(S1), SiteStatus::Active);
    // A stale one does not: what counts is how far its record reaches,
    // not when the reading was relayed.
    c.at_s(T0 + 3_000);
    c.empty_block();
    assert_eq!(c.site_status(S1), SiteStatus::Dark);
    c.consume(S1, T0 + 1_200, 0);
    assert_eq!(c.site(S1).last_end, T0 + 1_200);
    assert_eq!(c.site_status(S1), SiteStatus::Dark);
}

/// The attack: the site's device signs 5-minute periods, but the site
/// relays only one every 899 s of block time (under dark-after, 900 s).
/// Judged by when a reading was last accepted it would never go dark while
/// its record fell behind by two thirds of its consumption. Judged by the
/// end of its last reported period it goes dark within a few relays.
#[test]
fn a_site_trickling_old_readings_to_hide_consumption_goes_dark() {
    let mut c = TestChain::new();
    let mut end = T0;
    let mut now = T0;
    let mut dark_after_relay = None;
    for i in 0..6 {
        now += 899;
        end += 300;
        c.at_s(now);
        c.consume(S1, end, 10);
        if c.site_status(S1) == SiteStatus::Dark && dark_after_relay.is_none() {
            dark_after_relay = Some(i);
        }
    }
    assert!(
        dark_after_relay.is_some_and(|i| i <= 2),
        "the trickling site stayed active: {dark_after_relay:?}"
    );
    assert_eq!(c.site_status(S1), SiteStatus::Dark);
}

#[test]
fn reinstating_lifts_an_anomaly_but_not_a_shortfall() {
    let mut c = TestChain::new();
    c.consume(S1, T0 + 900, 2_000); // overdraw, and a debt
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedAnomaly);
    let reinstate = Body::ReinstateSite {
        site: S1,
        reason: text("meter checked"),
    };
    assert_eq!(
        c.expect_err(&key("bob"), reinstate.clone()),
        TxError::NotPermitted {
            signer: bob(),
            role: "a regulator"
        }
    );
    assert_eq!(
        c.ok(&key("reg"), reinstate.clone()),
        vec![Event::SiteReinstated {
            site: S1,
            reason: text("meter checked")
        }]
    );
    assert_eq!(c.site(S1).anomaly, None);
    assert_eq!(
        c.expect_err(&key("reg"), reinstate.clone()),
        TxError::SiteNotSuspended { site: S1 }
    );
    // The debt turns into a shortfall, which reinstating does not lift.
    c.at_s(DEADLINE + 1);
    c.empty_block();
    assert_eq!(c.site_status(S1), SiteStatus::SuspendedShortfall);
    assert_eq!(
        c.expect_err(&key("reg"), reinstate),
        TxError::SiteNotSuspended { site: S1 }
    );
}

#[test]
fn replacing_a_site_key_takes_effect_at_once() {
    let mut c = TestChain::new();
    c.mint(M2, T0 + 900, 2_000);
    c.consume(S1, T0 + 600, 100);
    let new_key = c.device("site1-b");
    let out = c.ok(
        &key("reg"),
        Body::ReplaceSiteKey {
            site: S1,
            new_device_key: new_key,
            baseline_time: T0 + 600,
            baseline_counter: Wh(7_000),
        },
    );
    assert_eq!(
        out,
        vec![Event::SiteKeyReplaced {
            site: S1,
            new_device_key: new_key
        }]
    );
    c.at_s(T0 + 1800);
    let old = c
        .cons_reading(S1, T0 + 1800, 200)
        .sign(&c.chain_id, &key("site1"));
    assert_eq!(
        c.expect_cons_err(vec![old]),
        TxError::BadDeviceSignature {
            device: site1(),
            sequence: 2
        }
    );
    // The sequence continues; the counter starts at the new baseline.
    let r = c.cons(S1, T0 + 1800, 200);
    assert_eq!((r.reading.sequence, r.reading.counter), (2, Wh(7_200)));
    let out = c.submit_cons(vec![r]).unwrap();
    assert!(tx_events(&out, 0).contains(&Event::Burned {
        site: S1,
        owner: bob(),
        parts: vec![(vintage_at(T0), Wh(200))],
    }));
    assert_eq!(c.site_status(S1), SiteStatus::Active);
}

#[test]
fn anyone_may_relay_consumption_readings() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let r = c.cons(S1, T0 + 900, 100);
    let mallory = key("mallory");
    let out = c.ok(
        &mallory,
        Body::SubmitConsumption {
            readings: BoundedVec::new(vec![r]).unwrap(),
        },
    );
    assert!(matches!(
        out[0],
        Event::Consumed {
            amount: Wh(100),
            ..
        }
    ));
    assert_eq!(c.site(S1).open_debt, Wh(100));
}

/// Relaying someone else's consumption leaves no account behind (a key
/// per relay would grow the state for ever), and the relayed transaction
/// cannot be replayed: the reading's sequence is used.
#[test]
fn a_relayer_gets_no_account_and_its_relay_cannot_be_replayed() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let r = c.cons(S1, T0 + 900, 100);
    let mallory = key("mallory");
    let tx = c.tx_with_nonce(
        &mallory,
        0,
        Body::SubmitConsumption {
            readings: BoundedVec::new(vec![r]).unwrap(),
        },
    );
    c.apply(vec![tx.clone()]).unwrap();
    let account_key = crate::state::StateKey::Account(account("mallory")).encode();
    assert!(
        crate::state::StateReader::get(&c.state, &account_key)
            .unwrap()
            .is_none(),
        "the relayer got an account"
    );
    assert!(matches!(
        c.apply(vec![tx]),
        Err(BlockError::TxFailed {
            error: TxError::ReadingOutOfOrder { .. },
            ..
        })
    ));
    // It relays the next reading, again with nonce 0.
    c.at_s(T0 + 1_800);
    let r = c.cons(S1, T0 + 1_800, 100);
    let next = c.tx_with_nonce(
        &mallory,
        0,
        Body::SubmitConsumption {
            readings: BoundedVec::new(vec![r]).unwrap(),
        },
    );
    c.apply(vec![next]).unwrap();
}

#[test]
fn oldest_eligible_credits_burn_first() {
    let mut c = TestChain::builder()
        .with_policy(|p| p.matching_window = MatchingWindow::Day)
        .build();
    c.mint(M2, T0 + 900, 300); // hour 0
    c.mint(M2, T0 + 2 * 3600 + 900, 400); // hour 2
    let out = c.consume(S1, T0 + 5 * 3600 + 900, 500); // hour 5, same day
    let burned: Vec<_> = tx_events(&out, 0)
        .into_iter()
        .filter(|e| matches!(e, Event::Burned { .. }))
        .collect();
    assert_eq!(
        burned,
        vec![Event::Burned {
            site: S1,
            owner: bob(),
            parts: vec![
                (vintage_at(T0), Wh(300)),
                (vintage_at(T0 + 2 * 3600), Wh(200))
            ],
        }]
    );
    assert_eq!(c.balance(&bob()), Wh(200));
}
