//! Closing 1,000 feeders' hours in one block: every feeder has a head
//! reading covering the hour, and one block after the grace closes them
//! all (the FeederBalance events, the alert runs, the due index). Prints a
//! markdown table row.
//!
//! `cargo bench -p watt-runtime --bench feeders` (`WATT_BENCH_QUICK=1` for
//! a short run).

use std::time::Instant;
use watt_runtime::encoding::BoundedVec;
use watt_runtime::events::Event;
use watt_runtime::exec::apply_block;
use watt_runtime::feeder::{FeederId, FeederReading, NewFeeder};
use watt_runtime::testkit::{key, zone, TestChain, T0};
use watt_runtime::tx::Body;
use watt_runtime::types::{Watts, Wh};

const FEEDERS: usize = 1_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let runs = if std::env::var_os("WATT_BENCH_QUICK").is_some() {
        3
    } else {
        9
    };
    let mut c = TestChain::builder()
        .with_params(|p| {
            p.settlement_grace_s = 1_830;
            p.max_readings_per_tx = 256;
        })
        .with_policy(|p| p.reading_max_age_s = 1_800)
        .build();
    let id = |i: usize| FeederId::new(&format!("RU-BU/F{i}")).expect("id");
    let reg = key("reg");
    for chunk in (0..FEEDERS).collect::<Vec<_>>().chunks(100) {
        let txs: Vec<_> = chunk
            .iter()
            .map(|&i| {
                let head_key = c.device(&format!("head{i}"));
                c.tx(
                    &reg,
                    Body::RegisterFeeder {
                        feeder: NewFeeder {
                            id: id(i),
                            zone: zone(),
                            rated_capacity: Watts(1_000_000),
                            loss_permille: 30,
                            alert_floor: Wh(500),
                            alert_hours: 3,
                            mining_share_permille: 500,
                            head_key,
                            baseline_time: T0,
                            baseline_import: Wh(0),
                            baseline_export: Wh(0),
                            declared_key: None,
                        },
                    },
                )
            })
            .collect();
        c.apply(txs).expect("registrations");
    }
    c.at_s(T0 + 3_600);
    let readings: Vec<_> = (0..FEEDERS)
        .map(|i| {
            FeederReading {
                feeder: id(i),
                sequence: 1,
                period_start: T0,
                period_end: T0 + 3_600,
                import: Wh(10_000 + i as u64),
                export: Wh(0),
                flags: 0,
            }
            .sign(&c.chain_id, &key(&format!("head{i}")))
        })
        .collect();
    let relay = key("reg2");
    let txs: Vec<_> = readings
        .chunks(256)
        .map(|chunk| {
            c.tx(
                &relay,
                Body::SubmitFeederReadings {
                    readings: BoundedVec::new(chunk.to_vec()).expect("bounded"),
                },
            )
        })
        .collect();
    c.apply(txs).expect("head readings");

    c.at_s(T0 + 3_600 + 1_831);
    let ctx = c.context();
    let (mut apply_ms, mut root_ms) = (vec![], vec![]);
    let mut closed = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let out = apply_block(&c.state, ctx.clone(), &[]).expect("block applies");
        apply_ms.push(t.elapsed().as_secs_f64() * 1e3);
        closed = out
            .events
            .iter()
            .filter(|e| matches!(e.event, Event::FeederBalance { .. }))
            .count();
        let mut s = c.state.clone();
        let t = Instant::now();
        s.apply(&out.diff).expect("root");
        root_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    assert_eq!(closed, FEEDERS, "every feeder's hour closes");
    let (a, r) = (median(apply_ms), median(root_ms));
    println!("feeders: one block closing {FEEDERS} feeders' hours, median of {runs} runs\n");
    println!("| feeders closed | apply ms | state root ms | total ms | feeder-hours/s |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {FEEDERS} | {a:.2} | {r:.2} | {:.2} | {:.0} |",
        a + r,
        FEEDERS as f64 / ((a + r) / 1e3)
    );
}
