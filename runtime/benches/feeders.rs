//! Closing 1,000 feeders' hours in one block: every feeder has a head
//! reading covering the hour, and one block after the grace closes them
//! all (the FeederBalance events, the alert runs, the due index). Prints a
//! markdown table row.
//!
//! `cargo bench -p watt-runtime --bench feeders` (`WATT_BENCH_QUICK=1` for
//! a short run).

use watt_runtime::testkit::blocks::FeederFixture;

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
    let f = FeederFixture::new(FEEDERS);
    let (mut apply_ms, mut root_ms) = (vec![], vec![]);
    let mut closed = 0;
    for _ in 0..runs {
        let (a, r, n) = f.close();
        apply_ms.push(a * 1e3);
        root_ms.push(r * 1e3);
        closed = n;
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
