//! Meter lifecycle: RegisterMeter, ApproveMeter, ReplaceMeterKey,
//! ResyncMeter, TransferMeterOperator, RevokeMeter.

use super::prelude::*;

fn register(c: &mut TestChain, device: &str, serial_no: &str) -> Body {
    let device_key = c.device(device);
    Body::RegisterMeter {
        serial: serial(serial_no),
        device_key,
        owner: account("carol"),
        source: Source::Geothermal,
        capacity: Watts(2_000),
        zone: zone(),
        baseline_time: c.now_s(),
        baseline_counter: Wh(500),
    }
}

#[test]
fn an_authority_registers_a_pending_meter_and_the_regulator_activates_it() {
    let mut c = TestChain::new();
    let body = register(&mut c, "meter3", "SN-3");
    let baseline = c.now_s();
    let out = c.ok(&key("op2"), body);
    let m3 = MeterId(3);
    assert_eq!(
        out,
        vec![Event::MeterRegistered {
            meter: m3,
            operator: account("op2"),
            owner: account("carol"),
            zone: zone(),
            source: Source::Geothermal,
            capacity: Watts(2_000),
        }]
    );
    let m = c.meter(m3);
    assert_eq!(
        (
            m.status,
            m.operator,
            m.last_end,
            m.last_counter,
            m.last_sequence
        ),
        (MeterStatus::Pending, account("op2"), baseline, Wh(500), 0)
    );
    assert!(
        c.account_exists(&account("carol")),
        "the owner becomes known"
    );
    let approve = Body::ApproveMeter { meter: m3 };
    assert_eq!(
        c.expect_err(&key("op2"), approve.clone()),
        TxError::NotPermitted {
            signer: account("op2"),
            role: "a regulator"
        }
    );
    assert_eq!(
        c.ok(&key("reg"), approve.clone()),
        vec![Event::MeterApproved {
            meter: m3,
            device_key: key("meter3").public()
        }]
    );
    assert_eq!(c.meter(m3).status, MeterStatus::Active);
    assert_eq!(
        c.expect_err(&key("reg"), approve),
        TxError::NothingToApprove { meter: m3 }
    );
    // Readings count from the baseline.
    c.at_s(baseline + 600);
    c.submit_gen(vec![c.gen(m3, baseline + 600, 300)]).unwrap();
    assert_eq!(c.balance(&account("carol")), Wh(300));
}

#[test]
fn registration_refusals() {
    let mut c = TestChain::new();
    let body = register(&mut c, "meter3", "SN-3");
    for who in ["alice", "reg"] {
        assert_eq!(
            c.expect_err(&key(who), body.clone()),
            TxError::NotPermitted {
                signer: account(who),
                role: "an authority"
            }
        );
    }
    let with = |f: &dyn Fn(&mut Body)| {
        let mut b = body.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(Body, TxError)> = vec![
        (
            with(&|b| {
                if let Body::RegisterMeter { serial: s, .. } = b {
                    *s = serial("SN-meter1");
                }
            }),
            TxError::SerialInUse {
                serial: "SN-meter1".into(),
            },
        ),
        (
            with(&|b| {
                if let Body::RegisterMeter { device_key, .. } = b {
                    *device_key = key("site1").public();
                }
            }),
            TxError::DeviceKeyInUse {
                key: key("site1").public(),
            },
        ),
        (
            with(&|b| {
                if let Body::RegisterMeter { zone: z, .. } = b {
                    *z = ZoneId::new("XX-YY").unwrap();
                }
            }),
            TxError::UnknownZone {
                zone: ZoneId::new("XX-YY").unwrap(),
            },
        ),
        (
            with(&|b| {
                if let Body::RegisterMeter { capacity, .. } = b {
                    *capacity = Watts(0);
                }
            }),
            TxError::ZeroPower { field: "capacity" },
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(c.expect_err(&key("op1"), body), expected);
    }
    // Baselines: not older than max age, not later than block time + skew.
    c.at_s(T0 + 7 * 3600);
    let now = c.now_s();
    for (time, ok) in [
        (now - 6 * 3600 - 1, false),
        (now + 31, false),
        (now + 30, true),
    ] {
        let b = with(&|b| {
            if let Body::RegisterMeter { baseline_time, .. } = b {
                *baseline_time = time;
            }
        });
        if ok {
            c.ok(&key("op1"), b);
        } else {
            assert_eq!(
                c.expect_err(&key("op1"), b),
                TxError::BaselineOutOfRange {
                    got: time,
                    oldest: now - 6 * 3600,
                    latest: now + 30
                }
            );
        }
    }
}

fn replace_key(c: &mut TestChain, device: &str, baseline_time: u64, counter: u64) -> Vec<Event> {
    let new_device_key = c.device(device);
    c.ok(
        &key("op1"),
        Body::ReplaceMeterKey {
            meter: M1,
            new_device_key,
            baseline_time,
            baseline_counter: Wh(counter),
        },
    )
}

#[test]
fn a_replaced_meter_key_is_pending_until_approved_the_old_key_working_until_then() {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 900, 100);
    // The device was swapped at T0 + 1800; the old one's last reading is
    // not relayed yet.
    c.at_s(T0 + 1800);
    let old_counter = c.meter(M1).last_counter;
    let out = replace_key(&mut c, "meter1-b", T0 + 1800, 50_000);
    let new_key = key("meter1-b").public();
    assert_eq!(
        out,
        vec![Event::MeterKeyReplaced {
            meter: M1,
            new_device_key: new_key,
            old_counter,
            new_counter: Wh(50_000),
        }]
    );
    assert_eq!(c.meter(M1).status, MeterStatus::Active);
    assert_eq!(
        c.meter(M1).pending_key.as_ref().unwrap().device_key,
        new_key
    );
    // While pending, the new key does not work and the old one does.
    let early = c
        .gen_reading(M1, T0 + 1800, 100)
        .sign(&c.chain_id, &key("meter1-b"));
    assert_eq!(
        c.expect_gen_err(vec![early]),
        TxError::BadDeviceSignature {
            device: "meter 1".into(),
            sequence: 2
        }
    );
    c.submit_gen(vec![c.gen(M1, T0 + 1800, 100)]).unwrap();
    // Approval: the new key and its baseline take over; the sequence goes on.
    assert_eq!(
        c.ok(&key("reg"), Body::ApproveMeter { meter: M1 }),
        vec![Event::MeterApproved {
            meter: M1,
            device_key: new_key
        }]
    );
    let m = c.meter(M1);
    assert_eq!(
        (m.device_key, m.pending_key, m.last_end, m.last_counter),
        (new_key, None, T0 + 1800, Wh(50_000))
    );
    c.at_s(T0 + 2700);
    let old = c
        .gen_reading(M1, T0 + 2700, 100)
        .sign(&c.chain_id, &key("meter1"));
    assert_eq!(
        c.expect_gen_err(vec![old]),
        TxError::BadDeviceSignature {
            device: "meter 1".into(),
            sequence: 3
        }
    );
    let r = c.gen(M1, T0 + 2700, 700);
    assert_eq!((r.reading.sequence, r.reading.counter), (3, Wh(50_700)));
    c.submit_gen(vec![r]).unwrap();
    assert_eq!(c.balance(&account("alice")), Wh(900));
    // The old key is free again.
    let mut reuse = register(&mut c, "meter1", "SN-reused");
    if let Body::RegisterMeter { baseline_time, .. } = &mut reuse {
        *baseline_time = T0 + 2700;
    }
    c.ok(&key("op2"), reuse);
}

#[test]
fn a_reading_verified_under_the_old_key_is_refused_once_the_new_key_is_approved() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    replace_key(&mut c, "meter1-b", T0 + 900, 0);
    // Verified now, under the old key...
    let tx = c.readings_tx(vec![c.gen(M1, T0 + 900, 100)]);
    let vtx = c.verify(vec![tx.clone()]).pop().unwrap().unwrap();
    assert_eq!(vtx.device_keys, vec![key("meter1").public()]);
    // ...and applied in the same block as the approval, after it...
    let approve = c.tx(&key("reg"), Body::ApproveMeter { meter: M1 });
    let got = c.apply(vec![approve.clone(), tx.clone()]);
    assert_eq!(
        got,
        Err(BlockError::TxFailed {
            index: 1,
            tx: tx.hash(),
            error: TxError::BadDeviceSignature {
                device: "meter 1".into(),
                sequence: 1
            }
        })
    );
    // ...or in a later block.
    c.apply(vec![approve]).unwrap();
    let got = c.apply_verified(vec![vtx]);
    assert_eq!(
        got,
        Err(BlockError::TxFailed {
            index: 0,
            tx: tx.hash(),
            error: TxError::BadDeviceSignature {
                device: "meter 1".into(),
                sequence: 1
            }
        })
    );
}

/// Without this rule the old key could mint `[B, B + 900)` while the
/// replacement is pending, and the new key mint the same period again after
/// approval reset the meter to the baseline B.
#[test]
fn approving_a_key_whose_baseline_the_old_key_has_already_passed_is_refused() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    replace_key(&mut c, "meter1-b", T0 + 900, 0);
    c.submit_gen(vec![c.gen(M1, T0 + 900, 100)]).unwrap();
    c.at_s(T0 + 1800);
    c.submit_gen(vec![c.gen(M1, T0 + 1800, 100)]).unwrap();
    let err = c.expect_err(&key("reg"), Body::ApproveMeter { meter: M1 });
    assert_eq!(
        err,
        TxError::ResyncBackwards {
            meter: M1,
            last_end: T0 + 1800,
            got: T0 + 900
        }
    );
    // The operator re-submits the change with a baseline at or after the
    // last period's end; then it can be approved.
    replace_key(&mut c, "meter1-b", T0 + 1800, 0);
    c.ok(&key("reg"), Body::ApproveMeter { meter: M1 });
    assert_eq!(c.meter(M1).device_key, key("meter1-b").public());
    assert_eq!(c.meter(M1).last_end, T0 + 1800);
}

#[test]
fn replace_meter_key_refusals() {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 900, 100);
    let body = |key_name: &str, baseline_time: u64| Body::ReplaceMeterKey {
        meter: M1,
        new_device_key: key(key_name).public(),
        baseline_time,
        baseline_counter: Wh(0),
    };
    assert_eq!(
        c.expect_err(&key("op2"), body("meter1-b", T0 + 900)),
        TxError::NotMeterOperator {
            meter: M1,
            operator: account("op1"),
            signer: account("op2")
        }
    );
    assert_eq!(
        c.expect_err(&key("op1"), body("site1", T0 + 900)),
        TxError::DeviceKeyInUse {
            key: key("site1").public()
        }
    );
    assert_eq!(
        c.expect_err(&key("op1"), body("meter1-b", T0 + 899)),
        TxError::ResyncBackwards {
            meter: M1,
            last_end: T0 + 900,
            got: T0 + 899
        }
    );
}

#[test]
fn resync_forfeits_the_gap_on_record() {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 900, 1_000);
    c.at_s(T0 + 3 * 3600);
    let body = |time: u64, counter: u64| Body::ResyncMeter {
        meter: M1,
        baseline_time: time,
        baseline_counter: Wh(counter),
    };
    assert_eq!(
        c.expect_err(&key("op1"), body(T0 + 600, 9_000)),
        TxError::ResyncBackwards {
            meter: M1,
            last_end: T0 + 900,
            got: T0 + 600
        }
    );
    assert_eq!(
        c.expect_err(&key("op2"), body(T0 + 3 * 3600, 9_000)),
        TxError::NotMeterOperator {
            meter: M1,
            operator: account("op1"),
            signer: account("op2")
        }
    );
    let out = c.ok(&key("op1"), body(T0 + 3 * 3600, 9_000));
    assert_eq!(
        out,
        vec![Event::MeterResynced {
            meter: M1,
            baseline_time: T0 + 3 * 3600,
            forfeited: Wh(8_000),
        }]
    );
    let m = c.meter(M1);
    assert_eq!(
        (m.last_end, m.last_counter, m.last_sequence, m.minted),
        (T0 + 3 * 3600, Wh(9_000), 1, Wh(1_000))
    );
    c.at_s(T0 + 3 * 3600 + 900);
    let out = c
        .submit_gen(vec![c.gen(M1, T0 + 3 * 3600 + 900, 500)])
        .unwrap();
    assert!(matches!(
        tx_events(&out, 0)[..],
        [Event::Minted {
            sequence: 2,
            amount: Wh(500),
            ..
        }]
    ));
    assert_eq!(c.supply().minted, Wh(1_500));
}

/// The attack: a meter minted up to counter 1,000 by T0 + 900. Its operator
/// resyncs it to counter 0 at the last period's end; the device's next
/// honest reading (nothing generated: counter still 1,000) would mint its
/// whole counter value again, and the operator could repeat it every
/// period. A resync may never lower the counter.
#[test]
fn an_operator_cannot_mint_again_by_resyncing_its_meter_counter_down() {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 900, 1_000);
    let counter = c.meter(M1).last_counter;
    assert_eq!(counter, Wh(1_000));
    c.at_s(T0 + 1_000);
    let err = c.expect_err(
        &key("op1"),
        Body::ResyncMeter {
            meter: M1,
            baseline_time: T0 + 900,
            baseline_counter: Wh(0),
        },
    );
    assert_eq!(
        err,
        TxError::ResyncCounterDown {
            meter: M1,
            last: Wh(1_000),
            got: Wh(0)
        }
    );
    // The honest next reading at an unchanged counter mints nothing.
    c.at_s(T0 + 1_800);
    let out = c.submit_gen(vec![c.gen(M1, T0 + 1_800, 0)]).unwrap();
    assert!(matches!(
        tx_events(&out, 0)[..],
        [Event::Minted { amount: Wh(0), .. }] | []
    ));
    assert_eq!(c.supply().minted, Wh(1_000));
    // A resync at the same counter (a gap with nothing generated) is fine.
    c.at_s(T0 + 3_600 + 600);
    c.ok(
        &key("op1"),
        Body::ResyncMeter {
            meter: M1,
            baseline_time: T0 + 3_600,
            baseline_counter: Wh(1_000),
        },
    );
}

#[test]
fn resync_to_a_baseline_older_than_max_age_is_refused() {
    let mut c = TestChain::new();
    c.at_s(T0 + 8 * 3600);
    let now = c.now_s();
    let err = c.expect_err(
        &key("op1"),
        Body::ResyncMeter {
            meter: M1,
            baseline_time: T0 + 3600,
            baseline_counter: Wh(0),
        },
    );
    assert_eq!(
        err,
        TxError::BaselineOutOfRange {
            got: T0 + 3600,
            oldest: now - 6 * 3600,
            latest: now + 30
        }
    );
}

#[test]
fn the_regulator_transfers_a_meter_to_another_authority() {
    let mut c = TestChain::new();
    let body = |to: &str| Body::TransferMeterOperator {
        meter: M1,
        new_operator: account(to),
    };
    assert_eq!(
        c.expect_err(&key("op1"), body("op2")),
        TxError::NotPermitted {
            signer: account("op1"),
            role: "a regulator"
        }
    );
    assert_eq!(
        c.expect_err(&key("reg"), body("alice")),
        TxError::NotPermitted {
            signer: account("alice"),
            role: "an authority"
        }
    );
    assert_eq!(
        c.ok(&key("reg"), body("op2")),
        vec![Event::MeterOperatorChanged {
            meter: M1,
            operator: account("op2")
        }]
    );
    c.at_s(T0 + 900);
    let r = c.gen(M1, T0 + 900, 100);
    let err = c.expect_err(
        &key("op1"),
        Body::SubmitReadings {
            readings: BoundedVec::new(vec![r.clone()]).unwrap(),
        },
    );
    assert_eq!(
        err,
        TxError::NotMeterOperator {
            meter: M1,
            operator: account("op2"),
            signer: account("op1")
        }
    );
    c.submit_gen(vec![r]).unwrap(); // relayed by op2
    assert_eq!(c.balance(&account("alice")), Wh(100));
}

#[test]
fn a_meter_is_revoked_by_its_operator_or_a_regulator_only() {
    let mut c = TestChain::new();
    let revoke = |m| Body::RevokeMeter {
        meter: m,
        reason: text("removed"),
    };
    for who in ["op2", "alice"] {
        assert_eq!(
            c.expect_err(&key(who), revoke(M1)),
            TxError::NotMeterOperator {
                meter: M1,
                operator: account("op1"),
                signer: account(who)
            }
        );
    }
    assert_eq!(
        c.ok(&key("op1"), revoke(M1)),
        vec![Event::MeterRevoked {
            meter: M1,
            reason: text("removed")
        }]
    );
    assert_eq!(
        c.expect_err(&key("reg"), revoke(M1)),
        TxError::MeterStatus {
            meter: M1,
            status: MeterStatus::Revoked
        }
    );
    assert_eq!(
        c.expect_err(&key("reg"), Body::ApproveMeter { meter: M1 }),
        TxError::MeterStatus {
            meter: M1,
            status: MeterStatus::Revoked
        }
    );
    c.ok(&key("reg"), revoke(M2));
    assert_eq!(c.meter(M2).status, MeterStatus::Revoked);
    assert_eq!(
        c.expect_err(&key("reg"), revoke(MeterId(9))),
        TxError::UnknownMeter { meter: MeterId(9) }
    );
}

/// Pipelining verifies a block's transactions while the block before it
/// executes, against the state before that block. When that block approves
/// a meter's new key, `recheck` must give exactly the verdicts verifying
/// again gives: the reading signed by the new key (refused earlier) is
/// accepted, the one signed by the old key (accepted earlier) is refused,
/// and a transfer keeps its verdict.
#[test]
fn a_recheck_after_a_key_change_gives_the_verdicts_of_verifying_again() {
    use crate::verify::recheck;
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    replace_key(&mut c, "meter1-b", T0 + 900, 0);
    let by_new = c
        .gen_reading(M1, T0 + 900, 100)
        .sign(&c.chain_id, &key("meter1-b"));
    let by_new = c.readings_tx(vec![by_new]);
    let by_old = c.readings_tx(vec![c.gen(M1, T0 + 900, 100)]);
    let transfer = c.tx(
        &key("alice"),
        Body::Transfer {
            to: account("bob"),
            amount: Wh(1),
            vintages: None,
        },
    );
    // A reading of meter 3, which does not exist yet.
    let m3_key = c.device("meter3");
    let for_m3 = GenerationReading {
        meter: MeterId(3),
        sequence: 1,
        period_start: c.now_s(),
        period_end: c.now_s() + 60,
        counter: Wh(510),
        flags: 0,
    }
    .sign(&c.chain_id, &c.keypair_of(&m3_key));
    let for_m3 = c.tx(
        &key("op2"),
        Body::SubmitReadings {
            readings: BoundedVec::new(vec![for_m3]).unwrap(),
        },
    );
    let txs = vec![by_new, by_old, transfer, for_m3];
    let earlier = c.verify(txs.clone());
    assert!(earlier[0].is_err(), "the new key is still pending");
    assert!(earlier[1].is_ok() && earlier[2].is_ok());
    assert_eq!(earlier[3], Err(TxError::UnknownMeter { meter: MeterId(3) }));
    // Between the two: the new key approved, meter 3 registered and
    // approved.
    c.ok(&key("reg"), Body::ApproveMeter { meter: M1 });
    let body = register(&mut c, "meter3", "SN-3");
    c.ok(&key("op2"), body);
    c.ok(&key("reg"), Body::ApproveMeter { meter: MeterId(3) });
    let now = recheck(&c.state, &c.chain_id, earlier.clone(), &txs, 1);
    assert_eq!(now, c.verify(txs.clone()));
    assert!(now[0].is_ok());
    assert_eq!(
        now[1],
        Err(TxError::BadDeviceSignature {
            device: "meter 1".into(),
            sequence: 1
        })
    );
    assert_eq!(now[2], earlier[2]);
    assert!(now[3].is_ok(), "{:?}", now[3]);
    // Verdicts that do not belong to these transactions are not trusted.
    let swapped: Vec<_> = earlier.into_iter().rev().collect();
    assert_eq!(
        recheck(&c.state, &c.chain_id, swapped, &txs, 1),
        c.verify(txs.clone())
    );
}
