//! Row 2, the runtime alone: blocks of 1,000 transfers and of 1,000
//! generation readings on an in-memory state, each timed through
//! signature verification (`verify_txs` on two threads), `apply_block` and
//! the state-root update: the work a node does per block without storage,
//! network or RPC. The fixture is the runtime test kit's
//! (`testkit::blocks`), the one `runtime/benches/apply.rs` uses.

use std::time::Instant;
use watt_runtime::crypto::Hash;
use watt_runtime::exec::{apply_block, BlockContext};
use watt_runtime::state::MemoryState;
use watt_runtime::testkit::blocks::{BlockFixture, N};
use watt_runtime::tx::Transaction;
use watt_runtime::verify::verify_txs;

/// Transactions per second of each block kind, all three steps included.
#[derive(Clone, Copy, Debug)]
pub struct RuntimeRates {
    /// Blocks of 1,000 transfers (one signature each).
    pub transfers: f64,
    /// Blocks of 1,000 SubmitReadings of one reading each (two signatures).
    pub readings: f64,
}

/// Median seconds per block of `runs` runs; the state after the block.
fn time_block(
    state: &MemoryState,
    chain_id: Hash,
    block_ctx: BlockContext,
    txs: &[Transaction],
    runs: usize,
) -> (f64, MemoryState) {
    let mut times = Vec::new();
    let mut after = None;
    for _ in 0..runs {
        let mut s = state.clone();
        let t = Instant::now();
        let vtxs: Vec<_> = verify_txs(state, &chain_id, txs.to_vec(), 2)
            .into_iter()
            .map(|r| r.expect("valid"))
            .collect();
        let out = apply_block(state, block_ctx.clone(), &vtxs).expect("block applies");
        s.apply(&out.diff).expect("root");
        times.push(t.elapsed().as_secs_f64());
        after = Some(s);
    }
    times.sort_by(f64::total_cmp);
    (times[runs / 2], after.expect("ran"))
}

/// Measures both block kinds, median of `runs`.
pub fn measure(runs: usize) -> RuntimeRates {
    let f = BlockFixture::new();
    let state0 = f.genesis.memory_state().expect("genesis");
    let (readings_s, state1) = time_block(&state0, f.chain_id, f.ctx(1, 310), &f.readings, runs);
    let (transfers_s, _) = time_block(&state1, f.chain_id, f.ctx(2, 320), &f.transfers, runs);
    RuntimeRates {
        transfers: N as f64 / transfers_s,
        readings: N as f64 / readings_s,
    }
}

/// The feeder hour close: one block (no transactions) closing the first
/// hour of `feeders` feeders, apply and state root, median of `runs`:
/// (feeder-hours per second, milliseconds per block).
pub fn feeder_close(feeders: usize, runs: usize) -> (f64, f64) {
    let f = watt_runtime::testkit::blocks::FeederFixture::new(feeders);
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let (apply_s, root_s, closed) = f.close();
            assert_eq!(closed, feeders, "every feeder's hour closes");
            apply_s + root_s
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let s = times[runs / 2];
    (feeders as f64 / s, s * 1e3)
}
