//! Applying blocks of 1,000 transactions: transfers and generation
//! readings, with and without signature verification, plus the state-root
//! update of each block. Prints a markdown table.
//!
//! `cargo bench -p watt-runtime --bench apply` (`WATT_BENCH_QUICK=1` for a
//! short run).

use std::time::Instant;
use watt_runtime::exec::apply_block;
use watt_runtime::testkit::blocks::{BlockFixture, N};
use watt_runtime::verify::verify_txs;

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
    let f = BlockFixture::new();
    let chain_id = f.chain_id;
    let genesis_state = f.genesis.memory_state().expect("genesis");
    let readings = f.readings.clone();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);

    // Block 1: 1,000 readings (each mints to its own owner).
    let (mut verify_r, mut apply_r, mut root_r) = (vec![], vec![], vec![]);
    let mut after_readings = None;
    for _ in 0..runs {
        let t = Instant::now();
        let vtxs: Vec<_> = verify_txs(&genesis_state, &chain_id, readings.clone(), threads)
            .into_iter()
            .map(|r| r.expect("valid"))
            .collect();
        verify_r.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let out = apply_block(&genesis_state, f.ctx(1, 310), &vtxs).expect("block applies");
        apply_r.push(t.elapsed().as_secs_f64());
        let mut s = genesis_state.clone();
        let t = Instant::now();
        s.apply(&out.diff).expect("root");
        root_r.push(t.elapsed().as_secs_f64());
        after_readings = Some(s);
    }
    let state1 = after_readings.expect("ran");

    // Block 2: 1,000 transfers between the owners.
    let transfers = f.transfers.clone();
    let (mut verify_t, mut apply_t, mut root_t) = (vec![], vec![], vec![]);
    for _ in 0..runs {
        let t = Instant::now();
        let vtxs: Vec<_> = verify_txs(&state1, &chain_id, transfers.clone(), threads)
            .into_iter()
            .map(|r| r.expect("valid"))
            .collect();
        verify_t.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let out = apply_block(&state1, f.ctx(2, 320), &vtxs).expect("block applies");
        apply_t.push(t.elapsed().as_secs_f64());
        let mut s = state1.clone();
        let t = Instant::now();
        s.apply(&out.diff).expect("root");
        root_t.push(t.elapsed().as_secs_f64());
    }

    println!("apply: blocks of {N} transactions on an in-memory state, median of {runs} runs, {threads} verifier threads\n");
    println!("| block | sigs | verify ms | apply ms | state root ms | total ms | tx/s (all three) | tx/s (apply + root) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, sigs, v, a, r) in [
        (
            "1,000 readings",
            2 * N,
            median(verify_r),
            median(apply_r),
            median(root_r),
        ),
        (
            "1,000 transfers",
            N,
            median(verify_t),
            median(apply_t),
            median(root_t),
        ),
    ] {
        let total = v + a + r;
        println!(
            "| {name} | {sigs} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} | {:.0} |",
            v * 1e3,
            a * 1e3,
            r * 1e3,
            total * 1e3,
            N as f64 / total,
            N as f64 / (a + r)
        );
    }
}
