//! Row 2, the runtime alone: blocks of 1,000 transfers and of 1,000
//! generation readings on an in-memory state, each timed through
//! signature verification (`verify_txs` on two threads), `apply_block` and
//! the state-root update: the work a node does per block without storage,
//! network or RPC. The fixture is `runtime/benches/apply.rs`'s.

use std::time::Instant;
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::{BoundedString, BoundedVec};
use watt_runtime::exec::{apply_block, BlockContext};
use watt_runtime::genesis::{validator, Genesis, GenesisMeter};
use watt_runtime::state::MemoryState;
use watt_runtime::tx::{Body, GenerationReading, Transaction, UnsignedTx};
use watt_runtime::types::*;
use watt_runtime::verify::verify_txs;

/// Transactions per block.
pub const N: usize = 1000;
const T0: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn kp(tag: u8, i: usize) -> Keypair {
    let mut s = [tag; 32];
    s[..8].copy_from_slice(&(i as u64).to_le_bytes());
    Keypair::from_seed(s)
}

/// Transactions per second of each block kind, all three steps included.
#[derive(Clone, Copy, Debug)]
pub struct RuntimeRates {
    /// Blocks of 1,000 transfers (one signature each).
    pub transfers: f64,
    /// Blocks of 1,000 SubmitReadings of one reading each (two signatures).
    pub readings: f64,
}

fn genesis(authority: &Keypair, meters: &[Keypair], owners: &[Keypair]) -> Genesis {
    let zone = ZoneId::new("RU-BU").expect("zone");
    Genesis {
        chain_name: BoundedString::new("bench").expect("name"),
        genesis_time_ms: T0 * 1000,
        params: ChainParams {
            max_block_txs: 10_000,
            max_block_bytes: 64 << 20,
            ..Default::default()
        },
        authorities: BoundedVec::new(vec![validator(
            kp(3, 0).public(),
            AccountId(authority.public()),
            "a",
        )])
        .expect("one"),
        regulators: BoundedVec::new(vec![AccountId(kp(4, 0).public())]).expect("one"),
        zones: BoundedVec::new(vec![(
            zone.clone(),
            ZonePolicy {
                mining_cap_w: Watts(u64::MAX / 4),
                ..Default::default()
            },
        )])
        .expect("one"),
        meters: BoundedVec::new(
            (0..N)
                .map(|i| GenesisMeter {
                    serial: BoundedString::new(format!("M-{i}")).expect("serial"),
                    device_key: meters[i].public(),
                    owner: AccountId(owners[i].public()),
                    operator: AccountId(authority.public()),
                    source: Source::Solar,
                    capacity: Watts(1_000_000),
                    zone: zone.clone(),
                    baseline_time: T0,
                    baseline_counter: Wh(0),
                })
                .collect(),
        )
        .expect("meters"),
        sites: BoundedVec::empty(),
        continues: None,
    }
}

fn ctx(chain_id: Hash, height: u64, secs: u64) -> BlockContext {
    BlockContext {
        chain_id,
        height: Height(height),
        timestamp_ms: (T0 + secs) * 1000,
        proposer: Default::default(),
    }
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
    let authority = kp(5, 0);
    let meters: Vec<Keypair> = (0..N).map(|i| kp(6, i)).collect();
    let owners: Vec<Keypair> = (0..N).map(|i| kp(7, i)).collect();
    let g = genesis(&authority, &meters, &owners);
    let chain_id = g.chain_id();
    let state0 = g.memory_state().expect("genesis");
    let readings: Vec<Transaction> = (0..N)
        .map(|i| {
            let r = GenerationReading {
                meter: MeterId(i as u64 + 1),
                sequence: 1,
                period_start: T0,
                period_end: T0 + 300,
                counter: Wh(50_000),
                flags: 0,
            };
            let readings = BoundedVec::new(vec![r.sign(&chain_id, &meters[i])]).expect("one");
            UnsignedTx {
                chain_id,
                signer: AccountId(authority.public()),
                nonce: i as u64,
                body: Body::SubmitReadings { readings },
            }
            .sign(&authority)
        })
        .collect();
    let (readings_s, state1) =
        time_block(&state0, chain_id, ctx(chain_id, 1, 310), &readings, runs);
    let transfers: Vec<Transaction> = (0..N)
        .map(|i| {
            UnsignedTx {
                chain_id,
                signer: AccountId(owners[i].public()),
                nonce: 0,
                body: Body::Transfer {
                    to: AccountId(owners[(i + 1) % N].public()),
                    amount: Wh(1_234),
                    vintages: None,
                },
            }
            .sign(&owners[i])
        })
        .collect();
    let (transfers_s, _) = time_block(&state1, chain_id, ctx(chain_id, 2, 320), &transfers, runs);
    RuntimeRates {
        transfers: N as f64 / transfers_s,
        readings: N as f64 / readings_s,
    }
}
