//! Two full blocks of 1,000 transactions for benchmarks: generation
//! readings (each mints to its own owner; two signatures a transaction)
//! and then transfers between those owners (one signature). Shared by the
//! runtime's `apply` bench and `watt-bench`'s runtime row. And
//! [`FeederFixture`]: a chain where one block closes many feeders' hours
//! (the runtime's `feeders` bench and `watt-bench`'s feeder row).
#![allow(clippy::expect_used)]

use crate::crypto::{Hash, Keypair};
use crate::encoding::{BoundedString, BoundedVec};
use crate::exec::BlockContext;
use crate::genesis::{validator, Genesis, GenesisMeter};
use crate::tx::{Body, GenerationReading, Transaction, UnsignedTx};
use crate::types::*;

/// Transactions per block.
pub const N: usize = 1000;
/// The genesis time, unix seconds (2026-01-01T00:00:00Z).
pub const T0: u64 = 1_767_225_600;

fn kp(tag: &str, i: usize) -> Keypair {
    let mut h = blake3::Hasher::new();
    h.update(tag.as_bytes());
    h.update(&(i as u64).to_le_bytes());
    Keypair::from_seed(*h.finalize().as_bytes())
}

/// The chain and its two blocks.
pub struct BlockFixture {
    /// One authority relaying `N` solar meters of `N` owners, one zone.
    pub genesis: Genesis,
    /// Its chain id.
    pub chain_id: Hash,
    /// Block 1: one SubmitReadings of one reading per meter.
    pub readings: Vec<Transaction>,
    /// Block 2 (after block 1): one transfer per owner to the next.
    pub transfers: Vec<Transaction>,
}

impl BlockFixture {
    /// Builds the genesis and signs both blocks.
    pub fn new() -> BlockFixture {
        let authority = kp("authority", 0);
        let zone = ZoneId::new("RU-BU").expect("zone");
        let meters: Vec<Keypair> = (0..N).map(|i| kp("meter", i)).collect();
        let owners: Vec<Keypair> = (0..N).map(|i| kp("owner", i)).collect();
        let genesis = Genesis {
            chain_name: BoundedString::new("bench").expect("name"),
            genesis_time_ms: T0 * 1000,
            params: ChainParams {
                max_block_txs: 10_000,
                max_block_bytes: crate::block::MAX_BLOCK_BYTES,
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
        let chain_id = genesis.chain_id();
        let readings = (0..N)
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
        let transfers = (0..N)
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
        BlockFixture {
            genesis,
            chain_id,
            readings,
            transfers,
        }
    }

    /// The context of block `height`, `secs` after genesis.
    pub fn ctx(&self, height: u64, secs: u64) -> BlockContext {
        BlockContext {
            chain_id: self.chain_id,
            height: Height(height),
            timestamp_ms: (T0 + secs) * 1000,
            proposer: Default::default(),
        }
    }
}

impl Default for BlockFixture {
    fn default() -> Self {
        Self::new()
    }
}

/// A chain of `feeders` feeders (zone RU-BU of the test kit), each with a
/// head reading covering its first hour, at the time when the next block
/// closes every one of those hours (after the settlement grace).
pub struct FeederFixture {
    /// The chain, its clock at the closing block.
    pub chain: crate::testkit::TestChain,
    /// How many feeders.
    pub feeders: usize,
}

impl FeederFixture {
    /// Registers the feeders and submits their head readings.
    pub fn new(feeders: usize) -> FeederFixture {
        use crate::feeder::{FeederId, FeederReading, NewFeeder};
        use crate::testkit::{key, zone, TestChain, T0};
        let mut c = TestChain::builder()
            .with_params(|p| {
                p.settlement_grace_s = 1_830;
                p.max_readings_per_tx = 256;
            })
            .with_policy(|p| p.reading_max_age_s = 1_800)
            .build();
        let id = |i: usize| FeederId::new(&format!("RU-BU/F{i}")).expect("id");
        let reg = key("reg");
        for chunk in (0..feeders).collect::<Vec<_>>().chunks(100) {
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
        let readings: Vec<_> = (0..feeders)
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
        FeederFixture { chain: c, feeders }
    }

    /// Applies the closing block (no transactions) to a copy of the state
    /// and updates its root: (apply seconds, state-root seconds, hours
    /// closed).
    pub fn close(&self) -> (f64, f64, usize) {
        let c = &self.chain;
        let t = std::time::Instant::now();
        let out = crate::exec::apply_block(&c.state, c.context(), &[]).expect("block applies");
        let apply_s = t.elapsed().as_secs_f64();
        let closed = out
            .events
            .iter()
            .filter(|e| matches!(e.event, crate::events::Event::FeederBalance { .. }))
            .count();
        let mut s = c.state.clone();
        let t = std::time::Instant::now();
        s.apply(&out.diff).expect("root");
        (apply_s, t.elapsed().as_secs_f64(), closed)
    }
}
