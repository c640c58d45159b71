//! Conservation under random transaction sequences.
//!
//! Each case runs a few dozen random blocks on the test kit's chain with a
//! short credit lifetime (6 hours), a short reading max age (2 hours) and a
//! short settlement grace, so that expiry, debts and shortfalls happen:
//! readings mint (some implausible, stale or out of order), consumption
//! burns and opens debts (some anomalous), transfers, retirements and
//! withdrawals move random amounts (some too large, some of named
//! vintages), shortfalls are settled, and time jumps across hours and days.
//!
//! Each block is built the way a producer builds one, applying
//! transactions one by one with `BlockExecutor::try_apply` and dropping
//! those that fail, then imported with `apply_block`; the two must agree
//! exactly, so a refused transaction changes nothing. After every block the
//! test kit checks per-zone conservation against a scan of the state, and
//! this test replays the block's events on a model of every holding: no
//! transfer, burn, retirement or withdrawal may take more than is held, an
//! expiry must remove exactly what was held, nothing past its lifetime may
//! remain, and the model must equal the state's holdings and supply.
//!
//! Cases: `PROPTEST_CASES` if set, else 48.

use proptest::prelude::*;
use std::collections::BTreeMap;
use watt_runtime::crypto::Keypair;
use watt_runtime::events::Event;
use watt_runtime::exec::{BlockExecutor, VerifiedTx};
use watt_runtime::state::{tag, Account};
use watt_runtime::testkit::{self, key, named, text, TestChain, M1, M2, S1};
use watt_runtime::tx::{Body, ConsumptionReading, GenerationReading, Transaction, FLAG_TAMPERED};
use watt_runtime::types::{AccountId, Hour, MatchingWindow, MeterId, Vintage, Wh, ZonePolicy};

const LIFETIME_H: u64 = 6;
const ACTORS: [&str; 4] = ["alice", "bob", "carol", "dave"];

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(48);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// A generation reading of M1 or M2 ending `back` seconds before block
    /// time (after a resync if it starts a new hour).
    Mint { meter: u8, back: u64, delta: u64 },
    /// A consumption reading of S1 from its last end to `back` seconds
    /// before block time.
    Consume { back: u64, delta: u64, tamper: bool },
    /// A transfer, oldest first or of named vintages.
    Transfer {
        from: usize,
        to: usize,
        amount: u64,
        named: bool,
    },
    /// A retirement.
    Retire { from: usize, amount: u64 },
    /// The regulator withdraws from an actor's first vintage.
    Withdraw { from: usize, amount: u64 },
    /// bob settles S1's shortfall.
    Settle,
    /// The regulator reinstates S1.
    Reinstate,
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => Just(0u64),
        6 => 1u64..1_500,
        2 => 1_500u64..20_000,
        1 => Just(u64::MAX),
    ]
}

/// Mostly alice or bob, who have meters; sometimes carol or dave, who
/// start unknown.
fn sender() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0..2usize, 1 => 2..4usize]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0u8..2, 0u64..900, 0u64..3_200)
            .prop_map(|(meter, back, delta)| Op::Mint { meter, back, delta }),
        4 => (0u64..900, 0u64..2_000, prop::bool::weighted(0.05))
            .prop_map(|(back, delta, tamper)| Op::Consume { back, delta, tamper }),
        6 => (sender(), 0..4usize, amount(), any::<bool>())
            .prop_map(|(from, to, amount, named)| Op::Transfer { from, to, amount, named }),
        2 => (sender(), amount()).prop_map(|(from, amount)| Op::Retire { from, amount }),
        1 => (sender(), amount()).prop_map(|(from, amount)| Op::Withdraw { from, amount }),
        1 => Just(Op::Settle),
        1 => Just(Op::Reinstate),
    ]
}

fn advance() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 1u64..600,
        4 => 600u64..3_600,
        2 => 3_600u64..30_000,
    ]
}

fn blocks() -> impl Strategy<Value = Vec<(u64, Vec<Op>)>> {
    prop::collection::vec((advance(), prop::collection::vec(op(), 0..5)), 1..40)
}

fn window() -> impl Strategy<Value = MatchingWindow> {
    prop::sample::select(vec![
        MatchingWindow::Hour,
        MatchingWindow::Day,
        MatchingWindow::Month,
        MatchingWindow::Year,
    ])
}

/// Builds the transactions of one operation from the state at the start of
/// the block (so a second reading of one device in a block fails on its
/// sequence, as it should). Nonces are assigned when applied.
fn bodies(c: &TestChain, op: &Op) -> Vec<(Keypair, Body)> {
    let now = c.now_s();
    let actor = |i: usize| testkit::account(ACTORS[i]);
    match op {
        Op::Mint { meter, back, delta } => {
            let id = if *meter == 0 { M1 } else { M2 };
            let m = c.meter(id);
            let end = now.saturating_sub(*back);
            let hour_start = Hour::of_seconds(end.saturating_sub(1)).start_seconds();
            let mut out = Vec::new();
            let start = if m.last_end < hour_start {
                out.push((
                    key("op1"),
                    Body::ResyncMeter {
                        meter: id,
                        baseline_time: hour_start,
                        baseline_counter: m.last_counter,
                    },
                ));
                hour_start
            } else {
                m.last_end
            };
            let reading = GenerationReading {
                meter: MeterId(id.0),
                sequence: m.last_sequence + 1,
                period_start: start,
                period_end: end,
                counter: Wh(m.last_counter.0.saturating_add(*delta)),
                flags: 0,
            };
            let device = if *meter == 0 { "meter1" } else { "meter2" };
            let signed = reading.sign(&c.chain_id, &key(device));
            out.push((
                key("op1"),
                Body::SubmitReadings {
                    readings: watt_runtime::encoding::BoundedVec::new(vec![signed]).unwrap(),
                },
            ));
            out
        }
        Op::Consume {
            back,
            delta,
            tamper,
        } => {
            let s = c.site(S1);
            let reading = ConsumptionReading {
                site: S1,
                sequence: s.last_sequence + 1,
                period_start: s.last_end,
                period_end: now.saturating_sub(*back),
                counter: Wh(s.last_counter.0.saturating_add(*delta)),
                flags: if *tamper { FLAG_TAMPERED } else { 0 },
            };
            let signed = reading.sign(&c.chain_id, &key("site1"));
            // Anyone may relay consumption.
            vec![(
                key("relay"),
                Body::SubmitConsumption {
                    readings: watt_runtime::encoding::BoundedVec::new(vec![signed]).unwrap(),
                },
            )]
        }
        Op::Transfer {
            from,
            to,
            amount,
            named: by_name,
        } => {
            let vintages = if *by_name {
                let held: Vec<Vintage> = c.account(&actor(*from)).holdings.into_keys().collect();
                // The newest held first, then one probably not held.
                let mut list: Vec<Vintage> = held.into_iter().rev().take(2).collect();
                list.push(testkit::vintage(Hour::of_seconds(now)));
                named(&list)
            } else {
                None
            };
            vec![(
                key(ACTORS[*from]),
                Body::Transfer {
                    to: actor(*to),
                    amount: Wh(*amount),
                    vintages,
                },
            )]
        }
        Op::Retire { from, amount } => vec![(
            key(ACTORS[*from]),
            Body::Retire {
                amount: Wh(*amount),
                beneficiary: text("someone"),
                purpose: text("something"),
                vintages: None,
            },
        )],
        Op::Withdraw { from, amount } => {
            let vintage = c
                .account(&actor(*from))
                .holdings
                .into_keys()
                .next()
                .unwrap_or_else(|| testkit::vintage(Hour::of_seconds(now)));
            vec![(
                key("reg"),
                Body::WithdrawCredits {
                    account: actor(*from),
                    vintage,
                    amount: Wh(*amount),
                    reason: text("error"),
                },
            )]
        }
        Op::Settle => vec![(
            key("bob"),
            Body::SettleShortfall {
                site: S1,
                vintages: None,
            },
        )],
        Op::Reinstate => vec![(
            key("reg"),
            Body::ReinstateSite {
                site: S1,
                reason: text("ok"),
            },
        )],
    }
}

/// Every holding of every account, from the event log.
#[derive(Default)]
struct Model {
    holdings: BTreeMap<(AccountId, Vintage), u128>,
    minted: u128,
    burned: u128,
    retired: u128,
    withdrawn: u128,
    expired: u128,
}

impl Model {
    fn take(&mut self, who: AccountId, v: &Vintage, w: Wh) -> Result<(), String> {
        let e = self.holdings.entry((who, v.clone())).or_default();
        if *e < w.0 as u128 {
            return Err(format!("{who:?} gave {w} of {v} but held {e}"));
        }
        *e -= w.0 as u128;
        if *e == 0 {
            self.holdings.remove(&(who, v.clone()));
        }
        Ok(())
    }

    fn give(&mut self, who: AccountId, v: &Vintage, w: Wh) {
        *self.holdings.entry((who, v.clone())).or_default() += w.0 as u128;
    }

    fn apply(&mut self, event: &Event) -> Result<(), String> {
        match event {
            Event::Minted {
                owner,
                vintage,
                amount,
                ..
            } => {
                self.give(*owner, vintage, *amount);
                self.minted += amount.0 as u128;
            }
            Event::Transferred { from, to, parts } => {
                for (v, w) in parts {
                    self.take(*from, v, *w)?;
                    self.give(*to, v, *w);
                }
            }
            Event::Retired { account, parts, .. } => {
                for (v, w) in parts {
                    self.take(*account, v, *w)?;
                    self.retired += w.0 as u128;
                }
            }
            Event::Burned { owner, parts, .. } => {
                for (v, w) in parts {
                    self.take(*owner, v, *w)?;
                    self.burned += w.0 as u128;
                }
            }
            Event::Withdrawn {
                account,
                vintage,
                amount,
                ..
            } => {
                self.take(*account, vintage, *amount)?;
                self.withdrawn += amount.0 as u128;
            }
            Event::Expired {
                account,
                vintage,
                amount,
            } => {
                let held = self
                    .holdings
                    .remove(&(*account, vintage.clone()))
                    .unwrap_or(0);
                if held != amount.0 as u128 {
                    return Err(format!(
                        "{account:?} expired {amount} of {vintage} but held {held}"
                    ));
                }
                self.expired += held;
            }
            _ => {}
        }
        Ok(())
    }

    /// Compares with the state: every account's holdings, and the zone's
    /// supply counters.
    fn check(&self, c: &TestChain) -> Result<(), String> {
        let mut state: BTreeMap<(AccountId, Vintage), u128> = BTreeMap::new();
        for (k, v) in c.state.entries() {
            if k[0] != tag::ACCOUNT {
                continue;
            }
            let id = AccountId(watt_runtime::crypto::PublicKey(
                k[1..33].try_into().unwrap(),
            ));
            let a: Account = watt_runtime::encoding::decode(v).map_err(|e| e.to_string())?;
            for (vintage, w) in a.holdings {
                state.insert((id, vintage), w.0 as u128);
            }
        }
        if state != self.holdings {
            return Err("the event log does not account for the holdings".into());
        }
        let s = c.supply();
        let got = [s.minted, s.burned, s.retired, s.withdrawn, s.expired].map(|w| w.0 as u128);
        let want = [
            self.minted,
            self.burned,
            self.retired,
            self.withdrawn,
            self.expired,
        ];
        if got != want {
            return Err(format!("supply {got:?} but the events say {want:?}"));
        }
        let hour = Hour::of_millis(c.last_block_ms()).0;
        if let Some(((a, v), _)) = self
            .holdings
            .iter()
            .find(|((_, v), _)| v.hour.0 + LIFETIME_H <= hour)
        {
            return Err(format!("{a:?} still holds {v} in hour {hour}"));
        }
        Ok(())
    }
}

/// Runs the blocks, checking everything; returns how often each kind of
/// event happened.
fn run(
    window: MatchingWindow,
    blocks: Vec<(u64, Vec<Op>)>,
) -> Result<BTreeMap<&'static str, usize>, TestCaseError> {
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut c = TestChain::builder()
        .policy(ZonePolicy {
            matching_window: window,
            credit_lifetime_hours: LIFETIME_H,
            reading_max_age_s: 2 * 3600,
            ..testkit::default_policy()
        })
        .with_params(|p| p.settlement_grace_s = 2 * 3600 + 30)
        .build();
    let mut model = Model::default();
    let mut nonces: BTreeMap<AccountId, u64> = BTreeMap::new();
    for (secs, ops) in blocks {
        c.advance_secs(secs);
        // Produce: apply one by one, drop what fails.
        let ctx = c.context();
        let mut exec = BlockExecutor::begin(&c.state, ctx).map_err(|e| fail(e.to_string()))?;
        let mut kept: Vec<VerifiedTx> = Vec::new();
        nonces.clear();
        for op in &ops {
            for (signer, body) in bodies(&c, op) {
                let who = AccountId(signer.public());
                let nonce = c.account(&who).nonce + nonces.get(&who).copied().unwrap_or(0);
                let tx: Transaction = c.tx_with_nonce(&signer, nonce, body);
                let Ok(vtx) = c.verify(vec![tx]).pop().unwrap() else {
                    continue;
                };
                if exec.try_apply(&vtx).is_ok() {
                    *nonces.entry(who).or_default() += 1;
                    kept.push(vtx);
                }
            }
        }
        let produced = exec.finish().map_err(|e| fail(e.to_string()))?;
        // Import: every kept transaction must succeed, with the same result.
        // The kit checks conservation against a scan of the state.
        let imported = c
            .apply_verified(kept)
            .map_err(|e| fail(format!("the producer's block does not import: {e}")))?;
        prop_assert_eq!(&produced, &imported);
        for record in &imported.events {
            model.apply(&record.event).map_err(fail)?;
            *seen.entry(record.event.kind()).or_default() += 1;
        }
        model.check(&c).map_err(fail)?;
    }
    Ok(seen)
}

fn fail(reason: impl Into<String>) -> TestCaseError {
    TestCaseError::fail(reason.into())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_blocks_conserve_credits(window in window(), blocks in blocks()) {
        run(window, blocks)?;
    }
}

/// A fixed, busy run, so that the property's paths are known to be taken:
/// minting, burning, debts, shortfalls, expiry, transfers and retirements.
#[test]
fn a_long_fixed_run_takes_every_path() {
    let mut ops = Vec::new();
    for i in 0..60u64 {
        let block = vec![
            // Every seventh block bob's meter mints plenty and his site
            // rests, so that he can settle his shortfall.
            Op::Mint {
                meter: if i % 7 == 0 { 1 } else { (i % 2) as u8 },
                back: 0,
                delta: if i % 7 == 0 {
                    2_700
                } else {
                    500 + (i * 37) % 2_000
                },
            },
            Op::Consume {
                back: 0,
                delta: if i % 7 == 0 { 0 } else { (i * 53) % 1_200 },
                tamper: false,
            },
            Op::Transfer {
                from: if i % 7 == 0 { 0 } else { (i % 3) as usize },
                to: ((i + 1) % 4) as usize,
                amount: 200 + (i * 71) % 1_500,
                named: i % 5 == 0,
            },
            Op::Retire {
                from: (i % 2) as usize,
                amount: 50,
            },
            if i % 7 == 0 {
                Op::Settle
            } else {
                Op::Reinstate
            },
            Op::Withdraw {
                from: 1,
                amount: if i % 9 == 0 { 10 } else { 0 },
            },
        ];
        ops.push((if i % 10 == 9 { 20_000 } else { 900 }, block));
    }
    let seen = run(MatchingWindow::Hour, ops).unwrap();
    for kind in [
        "minted",
        "burned",
        "debtOpened",
        "debtSettled",
        "shortfallRecorded",
        "shortfallSettled",
        "expired",
        "transferred",
        "retired",
        "withdrawn",
        "violation",
    ] {
        assert!(
            seen.get(kind).copied().unwrap_or(0) > 0,
            "no {kind}: {seen:?}"
        );
    }
}
