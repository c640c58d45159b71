//! What a block's state-root update costs as the state grows.
//!
//! For trees of 10^4, 10^5 and 10^6 entries (built once per size in batches
//! of 10,000 keys), times `update` on 1,000 changed keys, half of them new
//! values for existing keys and half inserts, and prints the median time,
//! the nodes written per changed key and the average leaf depth. Every run
//! updates the same base root (the tree is archival), with fresh keys.
//!
//! `cargo bench -p watt-runtime --bench state_root`; add `-- --quick` or set
//! `WATT_BENCH_QUICK=1` for 10^4 entries only.

use std::hint::black_box;
use std::time::{Duration, Instant};
use watt_runtime::crypto::{Domain, Hash};
use watt_runtime::tree::{prove, update, MemoryTree, TreeError};

/// Keys changed per measured update, as in a busy block.
const CHANGED: u64 = 1_000;
/// Measured updates per size; the median is reported.
const RUNS: u64 = 9;
/// Keys per batch while building the base tree.
const BUILD_BATCH: u64 = 10_000;
/// Present keys whose leaf depth is averaged.
const DEPTH_SAMPLE: u64 = 1_000;

/// Deterministic keys: the state-key hash of a counter, as the runtime would
/// place a key in the tree.
fn key(i: u64) -> Hash {
    Domain::StateKey.hash(&i.to_le_bytes())
}

fn value(i: u64, version: u64) -> Hash {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&i.to_le_bytes());
    bytes[8..].copy_from_slice(&version.to_le_bytes());
    Domain::StateValue.hash(&bytes)
}

/// splitmix64: a tiny deterministic generator, so runs are comparable.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

struct Row {
    size: u64,
    build: Duration,
    median: Duration,
    min: Duration,
    nodes_per_key: f64,
    depth: f64,
}

fn measure(size: u64) -> Result<Row, TreeError> {
    let started = Instant::now();
    let mut tree = MemoryTree::new();
    for start in (0..size).step_by(BUILD_BATCH as usize) {
        let changes: Vec<_> = (start..(start + BUILD_BATCH).min(size))
            .map(|i| (key(i), Some(value(i, 0))))
            .collect();
        tree.apply(&changes)?;
    }
    let build = started.elapsed();
    let base = tree.root();

    let mut rng = SplitMix(size);
    let mut times = Vec::new();
    let mut nodes = 0;
    for run in 0..RUNS {
        let updates = (0..CHANGED / 2).map(|_| {
            let i = rng.next() % size;
            (key(i), Some(value(i, run + 1)))
        });
        let inserts = (0..CHANGED / 2).map(|j| {
            let i = size + run * CHANGED + j;
            (key(i), Some(value(i, 0)))
        });
        let changes: Vec<_> = updates.chain(inserts).collect();
        let started = Instant::now();
        let result = update(&tree, base, black_box(&changes))?;
        times.push(started.elapsed());
        nodes += result.new_nodes.len();
        black_box(result);
    }
    times.sort();

    let mut depth_total = 0;
    for _ in 0..DEPTH_SAMPLE {
        depth_total += prove(&tree, base, &key(rng.next() % size))?.siblings.len();
    }

    Ok(Row {
        size,
        build,
        median: times[times.len() / 2],
        min: times[0],
        nodes_per_key: nodes as f64 / (RUNS * CHANGED) as f64,
        depth: depth_total as f64 / DEPTH_SAMPLE as f64,
    })
}

fn main() -> Result<(), TreeError> {
    let quick = std::env::args().any(|arg| arg == "--quick")
        || std::env::var("WATT_BENCH_QUICK").is_ok_and(|v| v == "1");
    let sizes: &[u64] = if quick {
        &[10_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    println!(
        "state root: {CHANGED} changed keys per update ({} updates, {} inserts), \
         median of {RUNS} runs",
        CHANGED / 2,
        CHANGED / 2
    );
    println!(
        "{:>10} | {:>9} | {:>13} | {:>10} | {:>15} | {:>10}",
        "entries", "build s", "ms/1000 keys", "min ms", "nodes/key", "avg depth"
    );
    for &size in sizes {
        let row = measure(size)?;
        println!(
            "{:>10} | {:>9.2} | {:>13.2} | {:>10.2} | {:>15.2} | {:>10.2}",
            row.size,
            row.build.as_secs_f64(),
            row.median.as_secs_f64() * 1e3,
            row.min.as_secs_f64() * 1e3,
            row.nodes_per_key,
            row.depth,
        );
    }
    Ok(())
}
