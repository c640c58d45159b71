//! Generation readings: a reading mints iff every rule of docs/protocol.md §5
//! "Generation readings" holds; each failure has its own error.
//!
//! M1 is alice's 10 kW solar meter, relayed by op1, baseline T0, counter 0.
//! With 10 % tolerance, 900 s allow at most 10_000 * 900 * 110 / 360_000 =
//! 2750 Wh.

use super::prelude::*;

fn meter1() -> String {
    "meter 1".into()
}

#[test]
fn a_reading_mints_its_delta_to_the_owner_in_the_vintage_of_its_hour() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let out = c.submit_gen(vec![c.gen(M1, T0 + 900, 2_000)]).unwrap();
    assert_eq!(
        tx_events(&out, 0),
        vec![Event::Minted {
            meter: M1,
            sequence: 1,
            owner: account("alice"),
            vintage: vintage_at(T0),
            source: Source::Solar,
            amount: Wh(2_000),
        }]
    );
    assert_eq!(c.holding(&account("alice"), &vintage_at(T0)), Wh(2_000));
    let m = c.meter(M1);
    assert_eq!(
        (m.last_sequence, m.last_end, m.last_counter, m.minted),
        (1, T0 + 900, Wh(2_000), Wh(2_000))
    );
    let s = c.supply();
    assert_eq!((s.minted, s.held), (Wh(2_000), Wh(2_000)));
}

#[test]
fn readings_in_one_transaction_mint_in_sequence() {
    let mut c = TestChain::new();
    c.at_s(T0 + 1800);
    let r1 = c.gen(M1, T0 + 900, 1_000);
    let r2 = c.sign_gen(GenerationReading {
        meter: M1,
        sequence: 2,
        period_start: T0 + 900,
        period_end: T0 + 1800,
        counter: Wh(1_500),
        flags: 0,
    });
    let out = c.submit_gen(vec![r1, r2]).unwrap();
    let minted: Vec<Wh> = tx_events(&out, 0)
        .iter()
        .filter_map(|e| match e {
            Event::Minted { amount, .. } => Some(*amount),
            _ => None,
        })
        .collect();
    assert_eq!(minted, vec![Wh(1_000), Wh(500)]);
    assert_eq!(c.balance(&account("alice")), Wh(1_500));
}

#[test]
fn a_failing_reading_refuses_the_whole_transaction() {
    let mut c = TestChain::new();
    c.at_s(T0 + 1800);
    let r1 = c.gen(M1, T0 + 900, 1_000);
    let mut r2 = c.gen_reading(M1, T0 + 1800, 0);
    r2.sequence = 3; // should be 2
    r2.period_start = T0 + 900;
    r2.counter = Wh(1_500);
    let r2 = c.sign_gen(r2);
    let err = c.expect_gen_err(vec![r1, r2]);
    assert_eq!(
        err,
        TxError::ReadingOutOfOrder {
            device: meter1(),
            expected_seq: 2,
            got_seq: 3
        }
    );
    assert_eq!(c.meter(M1).last_sequence, 0);
    assert_eq!(c.balance(&account("alice")), Wh(0));
}

#[test]
fn a_zero_delta_reading_advances_the_meter_without_minting() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let out = c.submit_gen(vec![c.gen(M1, T0 + 900, 0)]).unwrap();
    assert_eq!(tx_events(&out, 0), vec![]);
    assert_eq!(c.meter(M1).last_end, T0 + 900);
    assert_eq!(c.meter(M1).last_sequence, 1);
}

#[test]
fn a_skipped_sequence_is_refused() {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 900, 100);
    c.at_s(T0 + 1800);
    let mut r = c.gen_reading(M1, T0 + 1800, 100);
    r.sequence = 3;
    let err = c.expect_gen_err(vec![c.sign_gen(r)]);
    assert_eq!(
        err,
        TxError::ReadingOutOfOrder {
            device: meter1(),
            expected_seq: 2,
            got_seq: 3
        }
    );
}

#[test]
fn a_repeated_sequence_is_refused() {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 900, 100);
    c.at_s(T0 + 1800);
    let mut r = c.gen_reading(M1, T0 + 1800, 100);
    r.sequence = 1;
    let err = c.expect_gen_err(vec![c.sign_gen(r)]);
    assert_eq!(
        err,
        TxError::ReadingOutOfOrder {
            device: meter1(),
            expected_seq: 2,
            got_seq: 1
        }
    );
}

#[test]
fn a_gap_between_periods_is_refused() {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 900, 100);
    c.at_s(T0 + 1800);
    let mut r = c.gen_reading(M1, T0 + 1800, 100);
    r.period_start = T0 + 1000;
    let err = c.expect_gen_err(vec![c.sign_gen(r)]);
    assert_eq!(
        err,
        TxError::PeriodGap {
            meter: M1,
            expected: T0 + 900,
            got: T0 + 1000
        }
    );
}

#[test]
fn an_overlapping_period_is_refused() {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 900, 100);
    c.at_s(T0 + 1800);
    let mut r = c.gen_reading(M1, T0 + 1800, 100);
    r.period_start = T0 + 800;
    let err = c.expect_gen_err(vec![c.sign_gen(r)]);
    assert_eq!(
        err,
        TxError::PeriodGap {
            meter: M1,
            expected: T0 + 900,
            got: T0 + 800
        }
    );
}

#[test]
fn a_first_reading_not_at_the_baseline_is_refused() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let mut r = c.gen_reading(M1, T0 + 900, 100);
    r.period_start = T0 + 60;
    let err = c.expect_gen_err(vec![c.sign_gen(r)]);
    assert_eq!(
        err,
        TxError::FirstReadingNotAtBaseline {
            meter: M1,
            baseline: T0,
            got: T0 + 60
        }
    );
}

#[test]
fn a_period_crossing_an_hour_is_refused() {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 3000, 100);
    c.at_s(T0 + 3900);
    let err = c.expect_gen_err(vec![c.gen(M1, T0 + 3900, 100)]);
    assert_eq!(
        err,
        TxError::PeriodCrossesHour {
            meter: M1,
            start: T0 + 3000,
            end: T0 + 3900
        }
    );
    // One second past the hour is already the next hour.
    let err = c.expect_gen_err(vec![c.gen(M1, T0 + 3601, 100)]);
    assert!(matches!(err, TxError::PeriodCrossesHour { .. }), "{err:?}");
}

#[test]
fn a_period_ending_exactly_on_the_hour_is_accepted_in_its_hour() {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 2700, 100);
    c.at_s(T0 + 3600);
    let out = c.submit_gen(vec![c.gen(M1, T0 + 3600, 2_000)]).unwrap();
    assert!(matches!(
        &tx_events(&out, 0)[..],
        [Event::Minted { vintage, amount: Wh(2_000), .. }] if *vintage == vintage_at(T0)
    ));
    // The next period starts on the hour and belongs to the next hour.
    c.at_s(T0 + 4500);
    c.submit_gen(vec![c.gen(M1, T0 + 4500, 300)]).unwrap();
    assert_eq!(c.holding(&account("alice"), &vintage_at(T0)), Wh(2_100));
    assert_eq!(
        c.holding(&account("alice"), &vintage_at(T0 + 3600)),
        Wh(300)
    );
}

#[test]
fn a_counter_going_down_is_refused() {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 900, 1_000);
    c.at_s(T0 + 1800);
    let mut r = c.gen_reading(M1, T0 + 1800, 0);
    r.counter = Wh(999);
    let err = c.expect_gen_err(vec![c.sign_gen(r)]);
    assert_eq!(
        err,
        TxError::CounterWentDown {
            meter: M1,
            last: Wh(1_000),
            got: Wh(999)
        }
    );
}

#[test]
fn a_delta_exactly_at_the_plausibility_bound_mints() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    c.submit_gen(vec![c.gen(M1, T0 + 900, 2_750)]).unwrap();
    assert_eq!(c.balance(&account("alice")), Wh(2_750));
}

#[test]
fn a_delta_just_above_the_plausibility_bound_is_refused() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let err = c.expect_gen_err(vec![c.gen(M1, T0 + 900, 2_751)]);
    assert_eq!(
        err,
        TxError::Implausible {
            meter: M1,
            sequence: 1,
            delta: Wh(2_751),
            capacity: Watts(10_000),
            duration_s: 900
        }
    );
}

#[test]
fn a_period_ending_up_to_the_skew_ahead_mints_and_later_is_refused() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    // Block time T0 + 900, skew 30 s: the latest end is T0 + 930.
    let err = c.expect_gen_err(vec![c.gen(M1, T0 + 931, 100)]);
    assert_eq!(
        err,
        TxError::ReadingInFuture {
            device: meter1(),
            sequence: 1,
            end: T0 + 931,
            latest: T0 + 930
        }
    );
    c.submit_gen(vec![c.gen(M1, T0 + 930, 100)]).unwrap();
}

#[test]
fn a_period_exactly_max_age_old_mints() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900 + 6 * 3600);
    c.submit_gen(vec![c.gen(M1, T0 + 900, 100)]).unwrap();
    assert_eq!(c.balance(&account("alice")), Wh(100));
}

#[test]
fn a_period_older_than_max_age_is_refused() {
    let mut c = TestChain::new();
    c.at_s(T0 + 901 + 6 * 3600);
    let err = c.expect_gen_err(vec![c.gen(M1, T0 + 900, 100)]);
    assert_eq!(
        err,
        TxError::ReadingTooOld {
            meter: M1,
            sequence: 1,
            end: T0 + 900,
            oldest: T0 + 901
        }
    );
}

#[test]
fn a_tampered_substituted_or_out_of_range_flag_is_refused() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    for flags in [
        FLAG_TAMPERED,
        FLAG_SUBSTITUTED,
        FLAG_OUT_OF_RANGE,
        FLAG_TAMPERED | FLAG_OUT_OF_RANGE,
    ] {
        let mut r = c.gen_reading(M1, T0 + 900, 100);
        r.flags = flags;
        let err = c.expect_gen_err(vec![c.sign_gen(r)]);
        assert_eq!(
            err,
            TxError::ReadingFlagged {
                meter: M1,
                sequence: 1,
                flags
            }
        );
    }
}

#[test]
fn an_empty_period_is_refused() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let err = c.expect_gen_err(vec![c.gen(M1, T0, 0)]);
    assert_eq!(
        err,
        TxError::EmptyPeriod {
            device: meter1(),
            sequence: 1,
            start: T0,
            end: T0
        }
    );
}

#[test]
fn a_wrong_device_signature_is_refused() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    // Signed by bob's meter's key.
    let r = c
        .gen_reading(M1, T0 + 900, 100)
        .sign(&c.chain_id, &key("meter2"));
    let err = c.expect_gen_err(vec![r]);
    assert_eq!(
        err,
        TxError::BadDeviceSignature {
            device: meter1(),
            sequence: 1
        }
    );
}

#[test]
fn a_consumption_reading_presented_as_a_generation_reading_fails_the_device_signature() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let g = c.gen_reading(M1, T0 + 900, 100);
    // The same fields encode to the same bytes (meter 1 and site 1 are both
    // a u64 1); only the consumption domain tag of the signature differs.
    let as_consumption = ConsumptionReading {
        site: SiteId(g.meter.0),
        sequence: g.sequence,
        period_start: g.period_start,
        period_end: g.period_end,
        counter: g.counter,
        flags: g.flags,
    }
    .sign(&c.chain_id, &key("meter1"));
    let forged = Signed {
        reading: g,
        signature: as_consumption.signature,
    };
    let err = c.expect_gen_err(vec![forged]);
    assert_eq!(
        err,
        TxError::BadDeviceSignature {
            device: meter1(),
            sequence: 1
        }
    );
}

#[test]
fn a_reading_relayed_by_another_meters_operator_is_refused() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let r = c.gen(M1, T0 + 900, 100);
    let err = c.expect_err(
        &key("op2"),
        Body::SubmitReadings {
            readings: BoundedVec::new(vec![r]).unwrap(),
        },
    );
    assert_eq!(
        err,
        TxError::NotMeterOperator {
            meter: M1,
            operator: account("op1"),
            signer: account("op2")
        }
    );
}

#[test]
fn a_pending_meter_cannot_mint() {
    let mut c = TestChain::new();
    let device_key = c.device("meter3");
    let baseline_time = c.now_s();
    c.ok(
        &key("op1"),
        Body::RegisterMeter {
            serial: serial("SN-meter3"),
            device_key,
            owner: account("carol"),
            source: Source::Hydro,
            capacity: Watts(1_000),
            zone: zone(),
            baseline_time,
            baseline_counter: Wh(0),
        },
    );
    c.at_s(baseline_time + 600);
    let err = c.expect_gen_err(vec![c.gen(MeterId(3), baseline_time + 600, 10)]);
    assert_eq!(
        err,
        TxError::MeterStatus {
            meter: MeterId(3),
            status: MeterStatus::Pending
        }
    );
}

#[test]
fn a_revoked_meter_cannot_mint() {
    let mut c = TestChain::new();
    c.ok(
        &key("reg"),
        Body::RevokeMeter {
            meter: M1,
            reason: text("decommissioned"),
        },
    );
    c.at_s(T0 + 900);
    let err = c.expect_gen_err(vec![c.gen(M1, T0 + 900, 10)]);
    assert_eq!(
        err,
        TxError::MeterStatus {
            meter: M1,
            status: MeterStatus::Revoked
        }
    );
}

#[test]
fn reading_count_limits() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let err = c.expect_err(
        &key("op1"),
        Body::SubmitReadings {
            readings: BoundedVec::empty(),
        },
    );
    assert_eq!(err, TxError::NoReadings);
    // 17 readings of 60 s each, over the limit of 16.
    let readings: Vec<_> = (0..17u64)
        .map(|i| {
            c.sign_gen(GenerationReading {
                meter: M1,
                sequence: i + 1,
                period_start: T0 + 60 * i,
                period_end: T0 + 60 * (i + 1),
                counter: Wh(i + 1),
                flags: 0,
            })
        })
        .collect();
    c.at_s(T0 + 17 * 60);
    let err = c.expect_gen_err(readings.clone());
    assert_eq!(err, TxError::TooManyReadings { count: 17, max: 16 });
    c.submit_gen(readings[..16].to_vec()).unwrap();
    assert_eq!(c.meter(M1).last_sequence, 16);
}
