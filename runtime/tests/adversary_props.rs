//! The economic adversary: random sequences of what dishonest insiders can
//! do, applied as blocks, with the ledger's promises checked after every
//! block.
//!
//! The world is honest where it cannot be otherwise: each meter's and
//! site's device keeps a true counter that only moves forward with real
//! generation (at most the meter's capacity) or consumption, and signs, for
//! any period the relayer asks, the counter it really reads at the period's
//! end. Everything else is the adversary's:
//!
//! * the operator relays readings late, twice, out of order, after gaps,
//!   one at a time (trickled), or not at all; resyncs its meters to any
//!   counter (down included: at least 10 % of the actions) and any time;
//!   replaces their keys with new devices declaring any baseline counter;
//! * a regulator approves whatever the operator asks;
//! * the site owner relays its site's readings the same ways, or hides
//!   them;
//! * authorities rotate keys, and evidence of an equivocation is submitted,
//!   again and again.
//!
//! After every block:
//!
//! 1. each meter's minted total stays within what its devices signed as
//!    plausible for time that actually passed: `minted × 3600 × 100 ≤
//!    capacity × (now + skew − first baseline) × (100 + tolerance)`;
//! 2. and within its devices' real forward movement plus what approved key
//!    replacements declared (a new device's baseline below its true
//!    counter, approved by a regulator, is on the record and allowed);
//! 3. every Wh of consumption the chain recorded is burned, an open debt or
//!    a shortfall: `consumed = burned for consumption + open debt +
//!    shortfall` (nothing is lost from the record);
//! 4. a site whose record lags block time by more than dark-after is never
//!    active;
//! 5. per-zone conservation (the test kit checks it on every block).
//!
//! Cases: `WATT_ADVERSARY_CASES` if set, else 256 (a few seconds);
//! `scripts/soak` runs many more.

use proptest::prelude::*;
use std::collections::BTreeMap;
use watt_runtime::block::{Vote, VoteKind};
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::BoundedVec;
use watt_runtime::state::SiteStatus;
use watt_runtime::testkit::{consensus_key, key, TestChain, M1, M2, S1, T0};
use watt_runtime::tx::{
    AuthorityChange, Body, ConsumptionReading, GenerationReading, ProofOfPossession,
};
use watt_runtime::types::{AccountId, Height, MeterId, ProposalId, Wh};

fn config() -> ProptestConfig {
    let cases = std::env::var("WATT_ADVERSARY_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// A device's true counter: a step function of time, moving forward only.
#[derive(Clone, Debug)]
struct Counter {
    points: Vec<(u64, u64)>,
}

impl Counter {
    fn new(at: u64, start: u64) -> Counter {
        Counter {
            points: vec![(at, start)],
        }
    }
    fn at(&self, t: u64) -> u64 {
        self.points
            .iter()
            .rev()
            .find(|(pt, _)| *pt <= t)
            .map_or(self.points[0].1, |(_, c)| *c)
    }
    fn now(&self) -> u64 {
        self.points.last().map_or(0, |p| p.1)
    }
    fn advance(&mut self, t: u64, by: u64) {
        let c = self.now() + by;
        self.points.push((t, c));
    }
}

/// A meter in the world: its current device, and what the bound allows.
#[derive(Clone, Debug)]
struct MeterWorld {
    id: MeterId,
    device: Keypair,
    counter: Counter,
    /// When the current device's epoch began, and its counter then.
    epoch_start: (u64, u64),
    /// Real movement of the devices of finished epochs.
    finished_movement: u64,
    /// What approved replacements declared below their devices' counters.
    allowance: u64,
    /// A pending replacement: the new device, its true counter, and the
    /// declared baseline.
    pending: Option<(Keypair, Counter, u64)>,
    devices: u64,
}

impl MeterWorld {
    fn movement(&self) -> u64 {
        self.finished_movement + self.counter.now().saturating_sub(self.epoch_start.1)
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// Time passes; devices count what really happens.
    Tick {
        secs: u64,
        gen: [u16; 2],
        cons: u16,
    },
    /// The operator relays a reading of its meter, signed by the device
    /// with its true counter at the period's end. `mode`: 0-5 the next one
    /// honestly (from the chain's last end, up to now within that hour),
    /// 6 a stale one (ended `back` seconds ago), 7 a duplicate sequence, 8
    /// one that skips a sequence, 9 one from an arbitrary start.
    Relay {
        meter: usize,
        mode: u8,
        back: u64,
    },
    /// The operator resyncs the meter to a counter below its last one, at
    /// its last end or at the current hour's start.
    ResyncDown {
        meter: usize,
        counter_pct: u8,
        at_hour: bool,
    },
    /// The operator resyncs the meter at the current hour's start to its
    /// last counter plus `extra` (0: an honest bridge over a gap).
    ResyncUp {
        meter: usize,
        extra: u16,
    },
    /// The operator replaces the meter's device, declaring a baseline
    /// counter; the regulator approves (or not).
    Replace {
        meter: usize,
        true_start: u32,
        declared_pct: u8,
        approve: bool,
    },
    /// The site owner relays a consumption reading: `mode` as for `Relay`.
    Consume {
        mode: u8,
        back: u64,
    },
    /// An authority rotates its key (through a vote), or evidence against
    /// one is submitted (maybe again).
    Rotate {
        who: usize,
    },
    Evidence {
        who: usize,
        height: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (60u64..1_800, any::<[u16; 2]>(), any::<u16>())
            .prop_map(|(secs, gen, cons)| Op::Tick { secs, gen, cons }),
        8 => (0usize..2, 0u8..10, 0u64..30_000)
            .prop_map(|(meter, mode, back)| Op::Relay { meter, mode, back }),
        4 => (0usize..2, 0u8..100, any::<bool>())
            .prop_map(|(meter, counter_pct, at_hour)| Op::ResyncDown { meter, counter_pct, at_hour }),
        3 => (0usize..2, prop_oneof![3 => Just(0u16), 1 => any::<u16>()])
            .prop_map(|(meter, extra)| Op::ResyncUp { meter, extra }),
        1 => (0usize..2, any::<u32>(), 0u8..150, any::<bool>()).prop_map(
            |(meter, true_start, declared_pct, approve)| Op::Replace { meter, true_start, declared_pct, approve }
        ),
        6 => (0u8..10, 0u64..30_000).prop_map(|(mode, back)| Op::Consume { mode, back }),
        1 => (2usize..=4).prop_map(|who| Op::Rotate { who }),
        1 => (2usize..=4, 1u64..40).prop_map(|(who, height)| Op::Evidence { who, height }),
    ]
}

/// The end of the UTC hour holding `t`.
fn hour_end(t: u64) -> u64 {
    (t / 3_600 + 1) * 3_600
}

/// The period and sequence a relay `mode` asks for, given the chain's last
/// end and sequence.
fn period(mode: u8, back: u64, now: u64, last_end: u64, last_seq: u64) -> Option<(u64, u64, u64)> {
    let (start, end, seq) = match mode {
        0..=5 => (last_end, now.min(hour_end(last_end)), last_seq + 1),
        6 => {
            let end = now.saturating_sub(back).max(T0 + 1);
            (end.saturating_sub(300), end, last_seq + 1)
        }
        7 => (last_end, now.min(hour_end(last_end)), last_seq.max(1)),
        8 => (last_end, now.min(hour_end(last_end)), last_seq + 2),
        _ => {
            let start = now.saturating_sub(back);
            (start, now.min(hour_end(start)), last_seq + 1)
        }
    };
    (start < end).then_some((start, end, seq))
}

struct World {
    c: TestChain,
    meters: Vec<MeterWorld>,
    site: Counter,
    site_key: Keypair,
    capacity: u64,
    tolerance: u64,
    skew: u64,
    dark_after: u64,
    max_draw: u64,
    baseline0: u64,
    proposals: u64,
}

impl World {
    fn new() -> World {
        let c = TestChain::new();
        let policy = c.zone().policy.expect("the default zone has a policy");
        let meters = [M1, M2]
            .iter()
            .enumerate()
            .map(|(i, id)| MeterWorld {
                id: *id,
                device: key(&format!("meter{}", i + 1)),
                counter: Counter::new(T0, 0),
                epoch_start: (T0, 0),
                finished_movement: 0,
                allowance: 0,
                pending: None,
                devices: 0,
            })
            .collect();
        World {
            skew: c.chain_state().params.max_clock_skew_s,
            tolerance: u64::from(policy.plausibility_tolerance_pct),
            dark_after: policy.dark_after_s,
            capacity: c.meter(M1).capacity.0,
            max_draw: c.site(S1).max_draw.0,
            c,
            meters,
            site: Counter::new(T0, 0),
            site_key: key("site1"),
            baseline0: T0,
            proposals: 0,
        }
    }

    /// Applies one transaction in a block of its own; a refused one
    /// changes nothing (as a block builder drops it).
    fn try_tx(&mut self, signer: &Keypair, body: Body) -> bool {
        let tx = self.c.tx(signer, body);
        self.c.apply(vec![tx]).is_ok()
    }

    fn now(&self) -> u64 {
        self.c.now_s()
    }

    fn run(&mut self, op: &Op) {
        let now = self.now();
        match op {
            Op::Tick { secs, gen, cons } => {
                let t = now + secs;
                for (m, g) in self.meters.iter_mut().zip(gen) {
                    // Real generation: at most the capacity for the time.
                    let most = self.capacity * secs / 3_600;
                    m.counter
                        .advance(t, most * u64::from(*g) / u64::from(u16::MAX));
                    if let Some((_, c, _)) = &mut m.pending {
                        c.advance(t, most * u64::from(*g) / u64::from(u16::MAX));
                    }
                }
                let most = self.max_draw * secs / 3_600;
                self.site
                    .advance(t, most * u64::from(*cons) / u64::from(u16::MAX));
                self.c.at_s(t);
                self.c.empty_block();
            }
            Op::Relay { meter, mode, back } => {
                let m = &self.meters[*meter];
                let chain = self.c.meter(m.id);
                let Some((start, end, sequence)) =
                    period(*mode, *back, now, chain.last_end, chain.last_sequence)
                else {
                    return;
                };
                let r = GenerationReading {
                    meter: m.id,
                    sequence,
                    period_start: start,
                    period_end: end,
                    counter: Wh(m.counter.at(end)),
                    flags: 0,
                }
                .sign(&self.c.chain_id, &m.device);
                let op1 = key("op1");
                self.try_tx(
                    &op1,
                    Body::SubmitReadings {
                        readings: BoundedVec::new(vec![r]).unwrap(),
                    },
                );
            }
            Op::ResyncDown {
                meter,
                counter_pct,
                at_hour,
            } => {
                let id = self.meters[*meter].id;
                let chain = self.c.meter(id);
                let Some(below) = chain.last_counter.0.checked_sub(1) else {
                    return;
                };
                let counter = (chain.last_counter.0 * u64::from(*counter_pct) / 100).min(below);
                let time = if *at_hour {
                    chain.last_end.max(now / 3_600 * 3_600)
                } else {
                    chain.last_end
                };
                self.try_tx(
                    &key("op1"),
                    Body::ResyncMeter {
                        meter: id,
                        baseline_time: time,
                        baseline_counter: Wh(counter),
                    },
                );
            }
            Op::ResyncUp { meter, extra } => {
                let id = self.meters[*meter].id;
                let chain = self.c.meter(id);
                let time = chain.last_end.max(now / 3_600 * 3_600);
                self.try_tx(
                    &key("op1"),
                    Body::ResyncMeter {
                        meter: id,
                        baseline_time: time,
                        baseline_counter: Wh(chain.last_counter.0 + u64::from(*extra)),
                    },
                );
            }
            Op::Replace {
                meter,
                true_start,
                declared_pct,
                approve,
            } => {
                let m = &mut self.meters[*meter];
                m.devices += 1;
                let device = key(&format!("adv-meter{}-{}", m.id.0, m.devices));
                let true_now = u64::from(*true_start % 1_000_000);
                let declared = true_now * u64::from(*declared_pct) / 100;
                let id = m.id;
                let chain = self.c.meter(id);
                let time = chain.last_end.max(now);
                let body = Body::ReplaceMeterKey {
                    meter: id,
                    new_device_key: device.public(),
                    baseline_time: time,
                    baseline_counter: Wh(declared),
                };
                if self.try_tx(&key("op1"), body) {
                    self.meters[*meter].pending =
                        Some((device, Counter::new(now, true_now), declared));
                    if *approve && self.try_tx(&key("reg"), Body::ApproveMeter { meter: id }) {
                        let m = &mut self.meters[*meter];
                        let (device, counter, declared) = m.pending.take().unwrap();
                        m.finished_movement = m.movement();
                        let at_approval = counter.now();
                        m.allowance += at_approval.saturating_sub(declared);
                        m.epoch_start = (now, at_approval);
                        m.device = device;
                        m.counter = counter;
                    }
                }
            }
            Op::Consume { mode, back } => {
                let st = self.c.site(S1);
                let Some((start, end, sequence)) =
                    period(*mode, *back, now, st.last_end, st.last_sequence)
                else {
                    return;
                };
                let r = ConsumptionReading {
                    site: S1,
                    sequence,
                    period_start: start,
                    period_end: end,
                    counter: Wh(self.site.at(end)),
                    flags: 0,
                }
                .sign(&self.c.chain_id, &self.site_key);
                self.try_tx(
                    &key("bob"),
                    Body::SubmitConsumption {
                        readings: BoundedVec::new(vec![r]).unwrap(),
                    },
                );
            }
            Op::Rotate { who } => {
                let op = key(&format!("op{who}"));
                let operator = AccountId(op.public());
                self.proposals += 1;
                let new_key = key(&format!("op{who}/rotated-{}", self.proposals));
                let body = Body::ProposeAuthoritySet {
                    change: AuthorityChange::Rotate {
                        operator,
                        consensus_key: new_key.public(),
                        proof: ProofOfPossession::create(&self.c.chain_id, &operator, &new_key),
                    },
                };
                if !self.try_tx(&op, body) {
                    self.proposals -= 1;
                    return;
                }
                let id = ProposalId(self.proposals);
                for voter in (1..=4).filter(|v| v != who) {
                    self.try_tx(
                        &key(&format!("op{voter}")),
                        Body::Vote {
                            proposal: id,
                            approve: true,
                        },
                    );
                }
            }
            Op::Evidence { who, height } => {
                let ck = consensus_key(*who);
                let vote = |block: u8| {
                    Vote {
                        kind: VoteKind::Prevote,
                        chain_id: self.c.chain_id,
                        height: Height(*height),
                        round: 0,
                        block_hash: Some(Hash([block; 32])),
                        validator: ck.public(),
                    }
                    .sign(&ck)
                };
                let (first, second) = (vote(1), vote(2));
                self.try_tx(&key("mallory"), Body::Evidence { first, second });
            }
        }
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let now = self.now();
        for m in &self.meters {
            let chain = self.c.meter(m.id);
            let minted = u128::from(chain.minted.0);
            // 1. Plausible for time that actually passed.
            let elapsed = u128::from((now + self.skew).saturating_sub(self.baseline0));
            prop_assert!(
                minted * 3_600 * 100
                    <= u128::from(self.capacity) * elapsed * u128::from(100 + self.tolerance),
                "meter {} minted {minted} Wh in {elapsed} s at {} W",
                m.id,
                self.capacity
            );
            // 2. Within the devices' real movement plus approved declarations.
            let bound = m.movement() + m.allowance;
            prop_assert!(
                chain.minted.0 <= bound,
                "meter {} minted {} Wh, but its devices moved {} Wh and approved replacements allow {} more",
                m.id,
                chain.minted.0,
                m.movement(),
                m.allowance
            );
        }
        let s = self.c.site(S1);
        // 3. Nothing recorded is lost.
        prop_assert_eq!(
            s.consumed.0,
            s.burned.0 + s.open_debt.0 + s.shortfall.0,
            "site consumption not accounted for: {:?}",
            s
        );
        // 4. A lagging site is never active (lag as of the last block: the
        //    chain knows no later time).
        let lag = (self.c.last_block_ms() / 1_000).saturating_sub(s.last_end);
        if lag > self.dark_after {
            prop_assert_ne!(self.c.site_status(S1), SiteStatus::Active, "lag {} s", lag);
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn dishonest_insiders_cannot_mint_from_nothing_or_hide_consumption(
        ops in proptest::collection::vec(op(), 20..90)
    ) {
        let mut w = World::new();
        for op in &ops {
            w.run(op);
            w.check()?;
        }
    }
}

/// The weights give resync-downs well over 10 % of the generated actions.
#[test]
fn resync_downs_are_at_least_a_tenth_of_the_actions() {
    let weights: BTreeMap<&str, u32> = [
        ("tick", 5),
        ("relay", 8),
        ("resync down", 4),
        ("resync up", 3),
        ("replace", 1),
        ("consume", 6),
        ("rotate", 1),
        ("evidence", 1),
    ]
    .into_iter()
    .collect();
    let total: u32 = weights.values().sum();
    assert!(weights["resync down"] * 10 >= total, "{weights:?}");
}
