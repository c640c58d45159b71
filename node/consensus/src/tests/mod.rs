//! Table-driven tests of the state machine: each row is an input, the
//! exact effects it must produce and the round state after it.
//! - `rules.rs`: one table per rule of the paper (Algorithm 1), named after
//!   its lines, with the locking and unlocking cases;
//! - `messages.rs`: evidence, rejections, certificates, re-broadcast, the
//!   next height's messages, observers;
//! - `restart.rs`: the persistence contract across restarts.

mod messages;
mod restart;
mod rules;

use super::*;
use watt_runtime::block::{
    CommitCertificate, Proposal, SignedProposal, SignedVote, Validator, ValidatorSet, Vote,
    VoteKind,
};
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::BoundedString;
use watt_runtime::types::{AccountId, Height};

const A: Hash = Hash([0xA0; 32]);
const B: Hash = Hash([0xB0; 32]);
const C: Hash = Hash([0xC0; 32]);
const CHAIN: Hash = Hash([0x11; 32]);
const H1: Height = Height(1);
const H2: Height = Height(2);

/// Four validators, indexed in set order, so that the proposer of
/// (height 1, round r) is validator (1 + r) % 4.
struct Fx {
    keys: Vec<Keypair>,
    set: ValidatorSet,
    config: Config,
}

impl Fx {
    fn new() -> Fx {
        let mut keys: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_seed([i; 32])).collect();
        keys.sort_by_key(|k| k.public());
        let set = ValidatorSet::new(
            keys.iter()
                .map(|k| Validator {
                    consensus_key: k.public(),
                    operator: AccountId(k.public()),
                    name: BoundedString::default(),
                })
                .collect(),
        )
        .unwrap();
        Fx {
            keys,
            set,
            config: Config::for_tests(),
        }
    }

    fn core(&self, me: usize) -> Consensus {
        self.core_from(me, PersistedState::default())
    }

    fn core_from(&self, me: usize, persisted: PersistedState) -> Consensus {
        Consensus::new(
            self.config.clone(),
            CHAIN,
            vec![self.keys[me].clone()],
            persisted,
        )
    }

    fn start(&self, h: Height) -> Input {
        Input::StartHeight {
            height: h,
            validators: self.set.clone(),
        }
    }

    fn vote(
        &self,
        who: usize,
        kind: VoteKind,
        h: Height,
        round: u32,
        v: Option<Hash>,
    ) -> SignedVote {
        Vote {
            kind,
            chain_id: CHAIN,
            height: h,
            round,
            block_hash: v,
            validator: self.keys[who].public(),
        }
        .sign(&self.keys[who])
    }

    fn prevote(&self, who: usize, round: u32, v: Option<Hash>) -> SignedVote {
        self.vote(who, VoteKind::Prevote, H1, round, v)
    }

    fn precommit(&self, who: usize, round: u32, v: Option<Hash>) -> SignedVote {
        self.vote(who, VoteKind::Precommit, H1, round, v)
    }

    /// The proposal of the rightful proposer of (h, round).
    fn proposal(&self, h: Height, round: u32, vr: Option<u32>, v: Hash) -> SignedProposal {
        let who = ((h.0 + round as u64) % 4) as usize;
        Proposal {
            chain_id: CHAIN,
            height: h,
            round,
            valid_round: vr,
            block_hash: v,
            proposer: self.keys[who].public(),
        }
        .sign(&self.keys[who])
    }

    fn sched(&self, kind: TimeoutKind, h: Height, round: u32) -> Effect {
        Effect::ScheduleTimeout {
            timeout: Timeout {
                height: h,
                round,
                kind,
            },
            after: self.config.timeout(kind, round),
        }
    }

    fn cert(&self, round: u32, v: Hash, by: &[usize]) -> CommitCertificate {
        let pcs: Vec<SignedVote> = by
            .iter()
            .map(|w| self.precommit(*w, round, Some(v)))
            .collect();
        CommitCertificate::from_precommits(&self.set, H1, round, v, &pcs)
    }
}

fn timeout(kind: TimeoutKind, h: Height, round: u32) -> Input {
    Input::Timeout(Timeout {
        height: h,
        round,
        kind,
    })
}

fn verdict(v: Hash, valid: bool) -> Input {
    Input::BlockVerdict {
        height: H1,
        block_hash: v,
        valid,
    }
}

/// Persist then broadcast: what signing a vote looks like.
fn signs(v: &SignedVote) -> Vec<Effect> {
    vec![
        Effect::Persist(LogEntry::Vote(v.clone())),
        Effect::Broadcast(Message::Vote(v.clone())),
    ]
}

fn rv(round: u32, block_hash: Hash) -> Option<RoundValue> {
    Some(RoundValue { round, block_hash })
}

fn rs(round: u32, step: Step, locked: Option<RoundValue>, valid: Option<RoundValue>) -> RoundState {
    RoundState {
        height: H1,
        round,
        step,
        locked,
        valid,
        decision: None,
    }
}

/// One row: an input, the exact effects, the state after.
struct Row {
    input: Input,
    effects: Vec<Effect>,
    state: RoundState,
}

fn row(input: Input, effects: Vec<Effect>, state: RoundState) -> Row {
    Row {
        input,
        effects,
        state,
    }
}

fn run(name: &str, core: &mut Consensus, rows: Vec<Row>) {
    for (i, r) in rows.into_iter().enumerate() {
        let got = core.apply(r.input.clone());
        assert_eq!(got, r.effects, "{name}, row {i}: effects of {:?}", r.input);
        assert_eq!(core.round_state(), Some(&r.state), "{name}, row {i}: state");
    }
}

/// Feeds inputs whose effects the test does not examine.
fn feed(core: &mut Consensus, inputs: Vec<Input>) {
    for i in inputs {
        let _ = core.apply(i);
    }
}

/// Validator 0, locked on A in round 0 of height 1, now in round 1 at the
/// propose step: with 1 and 2 it prevoted A (a polka, so it locked and
/// precommitted A), while 1 and 2 precommitted nil; those 2f+1 precommits
/// started the precommit timeout, which moved it to round 1.
fn locked_on_a_in_round_1(fx: &Fx) -> Consensus {
    let mut core = fx.core(0);
    feed(
        &mut core,
        vec![
            fx.start(H1),
            Input::Proposal(fx.proposal(H1, 0, None, A)),
            verdict(A, true),
            Input::Vote(fx.prevote(1, 0, Some(A))),
            Input::Vote(fx.prevote(2, 0, Some(A))),
            Input::Vote(fx.precommit(1, 0, None)),
            Input::Vote(fx.precommit(2, 0, None)),
            timeout(TimeoutKind::Precommit, H1, 0),
        ],
    );
    assert_eq!(
        core.round_state(),
        Some(&rs(1, Step::Propose, rv(0, A), rv(0, A)))
    );
    core
}
