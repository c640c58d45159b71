//! What the sandbox costs a block of 1,000 consumption readings (one per
//! site): without a sandbox, with every site under a permit in a
//! permits-required zone, and with the zone's most pending curtailment
//! orders (64) all covering every site, the worst case a grid operator can
//! make: each reading is then judged against its permit and counted into
//! 64 order rows. Verification is left out (the same in all three); apply
//! and state root are timed. Prints a markdown table.
//!
//! `cargo bench -p watt-runtime --bench sandbox` (`WATT_BENCH_QUICK=1` for
//! a short run).

use std::time::Instant;
use watt_runtime::encoding::BoundedVec;
use watt_runtime::exec::apply_block;
use watt_runtime::feeder::{Attachee, FeederId, NewFeeder};
use watt_runtime::sandbox::{
    CurtailTarget, PermitTerms, ALL_HOURS, ALL_MONTHS, MAX_PENDING_ORDERS,
};
use watt_runtime::testkit::{account, key, zone, TestChain, T0};
use watt_runtime::tx::Body;
use watt_runtime::types::{Hour, SiteId, Watts, Wh};
use watt_runtime::verify::verify_txs;

const SITES: usize = 1_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[derive(Clone, Copy, PartialEq)]
enum Setup {
    Plain,
    Permits,
    PermitsAndOrders,
}

/// A chain with `SITES` sites (and the setup's sandbox) whose sites have
/// reported up to T0 + 3600; the block of their next readings, to be
/// timed, and the chain to apply it on.
fn chain(setup: Setup) -> (TestChain, Vec<watt_runtime::tx::Transaction>) {
    let mut c = TestChain::builder()
        .with_params(|p| {
            p.settlement_grace_s = 1_830;
            p.max_readings_per_tx = 256;
            p.max_block_txs = 10_000;
        })
        .with_policy(|p| {
            p.reading_max_age_s = 1_800;
            p.mining_cap_w = Watts(u64::MAX / 4);
            p.dark_after_s = 86_400;
        })
        .build();
    let reg = key("reg");
    let sites: Vec<SiteId> = (0..SITES)
        .map(|i| {
            c.register_site(
                &account(&format!("owner{i}")),
                &format!("bench-site{i}"),
                10_000,
            )
        })
        .collect();
    if setup != Setup::Plain {
        let head_key = c.device("head");
        let feeder = FeederId::new("RU-BU/F1").expect("id");
        let tx = c.tx(
            &reg,
            Body::RegisterFeeder {
                feeder: NewFeeder {
                    id: feeder.clone(),
                    zone: zone(),
                    rated_capacity: Watts(1_000_000_000),
                    loss_permille: 30,
                    alert_floor: Wh(500),
                    alert_hours: 3,
                    mining_share_permille: 1000,
                    head_key,
                    baseline_time: Hour::of_seconds(c.now_s()).start_seconds(),
                    baseline_import: Wh(0),
                    baseline_export: Wh(0),
                    declared_key: None,
                },
            },
        );
        c.apply(vec![tx]).expect("feeder");
        let from = Hour(Hour::of_seconds(c.now_s()).0 + 1);
        for chunk in sites.chunks(500) {
            let txs = chunk
                .iter()
                .map(|s| {
                    c.tx(
                        &reg,
                        Body::AttachToFeeder {
                            device: Attachee::Site(*s),
                            feeder: feeder.clone(),
                            from_hour: from,
                        },
                    )
                })
                .collect();
            c.apply(txs).expect("attachments");
        }
        let terms = PermitTerms {
            max_power: Watts(10_000),
            months: ALL_MONTHS,
            hours: ALL_HOURS,
            monthly_quota: Wh(1_000_000_000),
            expires: T0 + 365 * 86_400,
        };
        for chunk in sites.chunks(500) {
            let txs = chunk
                .iter()
                .map(|s| {
                    c.tx(
                        &reg,
                        Body::IssuePermit {
                            site: *s,
                            terms: terms.clone(),
                        },
                    )
                })
                .collect();
            c.apply(txs).expect("permits");
        }
        let gridop = watt_runtime::testkit::account("gridop");
        let tx = c.tx(
            &reg,
            Body::SetZoneSandbox {
                zone: zone(),
                permits_required: true,
                grid_operators: BoundedVec::new(vec![gridop]).expect("one"),
            },
        );
        c.apply(vec![tx]).expect("sandbox");
        if setup == Setup::PermitsAndOrders {
            let start = T0 + 3_660;
            for _ in 0..MAX_PENDING_ORDERS {
                let tx = c.tx(
                    &key("gridop"),
                    Body::Curtail {
                        target: CurtailTarget::Zone(zone()),
                        start,
                        end: start + 3_600,
                        max_mining: Watts(5_000_000),
                    },
                );
                c.apply(vec![tx]).expect("order");
            }
        }
    }
    // Every site reports to the hour's end (untimed), then the timed block
    // carries the next 15 minutes, inside every window.
    let report = |c: &mut TestChain, end: u64| {
        let readings: Vec<_> = sites.iter().map(|s| c.cons(*s, end, 2_000)).collect();
        // Account-less relayers: nonce 0, one key per transaction.
        readings
            .chunks(256)
            .enumerate()
            .map(|(i, chunk)| {
                c.tx(
                    &key(&format!("relay-{end}-{i}")),
                    Body::SubmitConsumption {
                        readings: BoundedVec::new(chunk.to_vec()).expect("bounded"),
                    },
                )
            })
            .collect::<Vec<_>>()
    };
    c.at_s(T0 + 3_600);
    let txs = report(&mut c, T0 + 3_600);
    c.apply(txs).expect("first readings");
    c.at_s(T0 + 4_500);
    let txs = report(&mut c, T0 + 4_500);
    (c, txs)
}

fn main() {
    let runs = if std::env::var_os("WATT_BENCH_QUICK").is_some() {
        3
    } else {
        9
    };
    println!("sandbox: one block of {SITES} consumption readings (one per site), median of {runs} runs\n");
    println!("| setup | apply ms | state root ms | total ms | readings/s |");
    println!("|---|---:|---:|---:|---:|");
    for (name, setup) in [
        ("no sandbox", Setup::Plain),
        ("permits required, every site permitted", Setup::Permits),
        (
            "permits and 64 pending zone orders",
            Setup::PermitsAndOrders,
        ),
    ] {
        let (c, txs) = chain(setup);
        let vtxs: Vec<_> = verify_txs(&c.state, &c.chain_id, txs, 2)
            .into_iter()
            .map(|r| r.expect("valid"))
            .collect();
        let ctx = c.context();
        let (mut apply_ms, mut root_ms) = (vec![], vec![]);
        for _ in 0..runs {
            let t = Instant::now();
            let out = apply_block(&c.state, ctx.clone(), &vtxs).expect("block applies");
            apply_ms.push(t.elapsed().as_secs_f64() * 1e3);
            let mut s = c.state.clone();
            let t = Instant::now();
            s.apply(&out.diff).expect("root");
            root_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let (a, r) = (median(apply_ms), median(root_ms));
        println!(
            "| {name} | {a:.2} | {r:.2} | {:.2} | {:.0} |",
            a + r,
            SITES as f64 / ((a + r) / 1e3)
        );
    }
}
