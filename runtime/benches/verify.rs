//! Signature verification throughput under Watt's acceptance rule.
//!
//! Measures signatures verified per second on the single path
//! (`verify_bytes`, one and two threads), the batch path (`verify_batch` in
//! chunks) and `verify_all` (one batch per thread), all over the same
//! pre-generated valid signatures: distinct keys, distinct 32-byte messages,
//! derived deterministically from a counter. Each row is the median of three
//! runs; the best run is shown too. Prints a markdown table.
//!
//! Run with `cargo bench -p watt-runtime --bench verify`; set
//! `WATT_BENCH_QUICK=1` for a quick run over fewer signatures.

use std::hint::black_box;
use std::time::{Duration, Instant};
use watt_runtime::crypto::{verify_all, verify_batch, verify_bytes, Hash, Keypair, SigCheck};

/// Signatures in a full run.
const FULL: usize = 8_192;
/// Signatures under `WATT_BENCH_QUICK=1`.
const QUICK: usize = 1_024;
/// Runs per row; the median is reported.
const RUNS: usize = 3;

fn derive(what: &str, i: u64) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"watt/bench/verify/");
    h.update(what.as_bytes());
    h.update(&i.to_le_bytes());
    *h.finalize().as_bytes()
}

fn signatures(n: usize) -> Vec<SigCheck> {
    (0..n as u64)
        .map(|i| {
            let kp = Keypair::from_seed(derive("seed", i));
            let message = Hash(derive("message", i));
            SigCheck::new(kp.public(), message, kp.sign(&message))
        })
        .collect()
}

fn single_path(checks: &[SigCheck]) -> bool {
    checks
        .iter()
        .all(|c| verify_bytes(&c.key, &c.message, &c.signature).is_ok())
}

fn single_path_threads(checks: &[SigCheck], threads: usize) -> bool {
    let part = checks.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = checks
            .chunks(part)
            .map(|p| scope.spawn(move || single_path(p)))
            .collect();
        // A panicked thread counts as a failure, which aborts the bench.
        handles.into_iter().all(|h| h.join().unwrap_or(false))
    })
}

fn batch_path(checks: &[SigCheck], chunk: usize) -> bool {
    checks.chunks(chunk).all(|c| verify_batch(c).is_ok())
}

fn all_path(checks: &[SigCheck], threads: usize) -> bool {
    verify_all(checks, threads).iter().all(Result::is_ok)
}

/// One table row: what was measured and its timings.
struct Row {
    path: &'static str,
    threads: usize,
    chunk: String,
    median: Duration,
    best: Duration,
}

fn measure(
    path: &'static str,
    threads: usize,
    chunk: String,
    checks: &[SigCheck],
    run: impl Fn(&[SigCheck]) -> bool,
) -> Row {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let ok = run(black_box(checks));
            let elapsed = start.elapsed();
            // Every signature is valid: a refusal means the bench is broken.
            assert!(ok, "{path}: a valid signature was refused");
            elapsed
        })
        .collect();
    times.sort();
    Row {
        path,
        threads,
        chunk,
        median: times[RUNS / 2],
        best: times[0],
    }
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let quick = std::env::var("WATT_BENCH_QUICK").is_ok_and(|v| v == "1");
    let n = if quick { QUICK } else { FULL };
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());

    let started = Instant::now();
    let checks = signatures(n);
    eprintln!(
        "generated {n} signatures in {:.2?}; {cores} hardware threads available",
        started.elapsed()
    );

    let mut rows = vec![
        measure("single (`verify_bytes`)", 1, "-".into(), &checks, |c| {
            single_path(c)
        }),
        measure("single (`verify_bytes`)", 2, "-".into(), &checks, |c| {
            single_path_threads(c, 2)
        }),
    ];
    for chunk in [64, 256, 1024] {
        rows.push(measure(
            "batch (`verify_batch`)",
            1,
            chunk.to_string(),
            &checks,
            |c| batch_path(c, chunk),
        ));
    }
    rows.push(measure(
        "batch (`verify_all`)",
        1,
        n.to_string(),
        &checks,
        |c| all_path(c, 1),
    ));
    rows.push(measure(
        "batch (`verify_all`)",
        2,
        (n / 2).to_string(),
        &checks,
        |c| all_path(c, 2),
    ));

    let baseline = per_second(n, rows[0].median);
    println!(
        "{n} valid signatures, median (best) of {RUNS} runs, {cores} hardware threads{}\n",
        if quick { ", WATT_BENCH_QUICK" } else { "" }
    );
    println!(
        "| path | threads | batch size | signatures/s (median) | best run | vs single, 1 thread |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        let median = per_second(n, r.median);
        println!(
            "| {} | {} | {} | {:.0} | {:.0} | {:.2}x |",
            r.path,
            r.threads,
            r.chunk,
            median,
            per_second(n, r.best),
            median / baseline
        );
    }
    eprintln!("total {:.2?}", started.elapsed());
}
