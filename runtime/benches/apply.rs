//! Applying blocks of 1,000 transactions: transfers and generation
//! readings, with and without signature verification, plus the state-root
//! update of each block. Prints a markdown table.
//!
//! `cargo bench -p watt-runtime --bench apply` (`WATT_BENCH_QUICK=1` for a
//! short run).

use std::time::Instant;
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::{BoundedString, BoundedVec};
use watt_runtime::exec::{apply_block, BlockContext};
use watt_runtime::genesis::{validator, Genesis, GenesisMeter};
use watt_runtime::tx::{Body, GenerationReading, Transaction, UnsignedTx};
use watt_runtime::types::*;
use watt_runtime::verify::verify_txs;

const N: usize = 1000;
const T0: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn kp(tag: &str, i: usize) -> Keypair {
    let mut h = blake3::Hasher::new();
    h.update(tag.as_bytes());
    h.update(&(i as u64).to_le_bytes());
    Keypair::from_seed(*h.finalize().as_bytes())
}

struct Fixture {
    genesis: Genesis,
    authority: Keypair,
    meters: Vec<Keypair>,
    owners: Vec<Keypair>,
}

fn fixture() -> Fixture {
    let authority = kp("authority", 0);
    let zone = ZoneId::new("RU-BU").expect("zone");
    let meters: Vec<Keypair> = (0..N).map(|i| kp("meter", i)).collect();
    let owners: Vec<Keypair> = (0..N).map(|i| kp("owner", i)).collect();
    let genesis = Genesis {
        chain_name: BoundedString::new("bench").expect("name"),
        genesis_time_ms: T0 * 1000,
        params: ChainParams {
            max_block_txs: 10_000,
            max_block_bytes: 64 << 20,
            ..Default::default()
        },
        authorities: BoundedVec::new(vec![validator(
            kp("consensus", 0).public(),
            AccountId(authority.public()),
            "a",
        )])
        .expect("one"),
        regulators: BoundedVec::new(vec![AccountId(kp("regulator", 0).public())]).expect("one"),
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
    };
    Fixture {
        genesis,
        authority,
        meters,
        owners,
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

fn readings_block(f: &Fixture, chain_id: Hash) -> Vec<Transaction> {
    (0..N)
        .map(|i| {
            let r = GenerationReading {
                meter: MeterId(i as u64 + 1),
                sequence: 1,
                period_start: T0,
                period_end: T0 + 300,
                counter: Wh(50_000),
                flags: 0,
            };
            let readings = BoundedVec::new(vec![r.sign(&chain_id, &f.meters[i])]).expect("one");
            UnsignedTx {
                chain_id,
                signer: AccountId(f.authority.public()),
                nonce: i as u64,
                body: Body::SubmitReadings { readings },
            }
            .sign(&f.authority)
        })
        .collect()
}

fn transfers_block(f: &Fixture, chain_id: Hash) -> Vec<Transaction> {
    (0..N)
        .map(|i| {
            let to = AccountId(f.owners[(i + 1) % N].public());
            UnsignedTx {
                chain_id,
                signer: AccountId(f.owners[i].public()),
                nonce: 0,
                body: Body::Transfer {
                    to,
                    amount: Wh(1_234),
                    vintages: None,
                },
            }
            .sign(&f.owners[i])
        })
        .collect()
}

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
    let f = fixture();
    let chain_id = f.genesis.chain_id();
    let genesis_state = f.genesis.memory_state().expect("genesis");
    let readings = readings_block(&f, chain_id);
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
        let out = apply_block(&genesis_state, ctx(chain_id, 1, 310), &vtxs).expect("block applies");
        apply_r.push(t.elapsed().as_secs_f64());
        let mut s = genesis_state.clone();
        let t = Instant::now();
        s.apply(&out.diff).expect("root");
        root_r.push(t.elapsed().as_secs_f64());
        after_readings = Some(s);
    }
    let state1 = after_readings.expect("ran");

    // Block 2: 1,000 transfers between the owners.
    let transfers = transfers_block(&f, chain_id);
    let (mut verify_t, mut apply_t, mut root_t) = (vec![], vec![], vec![]);
    for _ in 0..runs {
        let t = Instant::now();
        let vtxs: Vec<_> = verify_txs(&state1, &chain_id, transfers.clone(), threads)
            .into_iter()
            .map(|r| r.expect("valid"))
            .collect();
        verify_t.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let out = apply_block(&state1, ctx(chain_id, 2, 320), &vtxs).expect("block applies");
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
