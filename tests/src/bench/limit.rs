//! Row 1, the limit: ed25519 verifications per second under Watt's
//! acceptance rule (`watt_runtime::crypto`), on the single path
//! (`verify_bytes`) and the batch path (`verify_all`, one batch per
//! thread), on one and two threads. The same measurement as
//! `runtime/benches/verify.rs`, reduced to the four figures the table needs.

use std::time::{Duration, Instant};
use watt_runtime::crypto::{verify_all, verify_bytes, Hash, Keypair, SigCheck};

/// Signatures per second of each path.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    /// `verify_bytes`, one thread.
    pub single_1: f64,
    /// `verify_bytes`, two threads.
    pub single_2: f64,
    /// `verify_all`, one thread.
    pub batch_1: f64,
    /// `verify_all`, two threads: the ratio column's denominator.
    pub batch_2: f64,
}

fn seed(tag: u8, i: u64) -> [u8; 32] {
    let mut s = [tag; 32];
    s[..8].copy_from_slice(&i.to_le_bytes());
    s
}

/// Valid signatures by distinct keys over distinct 32-byte messages.
pub fn signatures(n: usize) -> Vec<SigCheck> {
    (0..n as u64)
        .map(|i| {
            let kp = Keypair::from_seed(seed(1, i));
            let message = Hash(seed(2, i));
            SigCheck::new(kp.public(), message, kp.sign(&message))
        })
        .collect()
}

fn single(checks: &[SigCheck]) -> bool {
    checks
        .iter()
        .all(|c| verify_bytes(&c.key, &c.message, &c.signature).is_ok())
}

fn single_threads(checks: &[SigCheck], threads: usize) -> bool {
    let part = checks.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = checks
            .chunks(part)
            .map(|p| scope.spawn(move || single(p)))
            .collect();
        handles.into_iter().all(|h| h.join().unwrap_or(false))
    })
}

/// Median rate of `runs` runs of `f` over `checks`.
fn rate(checks: &[SigCheck], runs: usize, f: impl Fn(&[SigCheck]) -> bool) -> f64 {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            assert!(f(checks), "a valid signature was refused");
            t.elapsed()
        })
        .collect();
    times.sort();
    checks.len() as f64 / times[runs / 2].as_secs_f64()
}

/// Measures the four paths over `n` signatures, median of `runs`.
pub fn measure(n: usize, runs: usize) -> Limit {
    let checks = signatures(n);
    Limit {
        single_1: rate(&checks, runs, single),
        single_2: rate(&checks, runs, |c| single_threads(c, 2)),
        batch_1: rate(&checks, runs, |c| {
            verify_all(c, 1).iter().all(Result::is_ok)
        }),
        batch_2: rate(&checks, runs, |c| {
            verify_all(c, 2).iter().all(Result::is_ok)
        }),
    }
}
