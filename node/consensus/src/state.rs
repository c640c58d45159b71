//! The consensus core: [`Consensus`] holds the state of the height being
//! decided and turns each [`Input`] into a list of [`Effect`]s.
//!
//! `apply` first handles the input itself (`machine.rs`: store a message,
//! note a block verdict, run a timeout's function), then evaluates the
//! paper's `upon` rules (`rules.rs`) until none fires: each rule's guard
//! includes the step or a "for the first time" flag, so the loop ends.

use super::effect::Effect;
use super::input::Input;
use super::persist::PersistedState;
use super::timeouts::{Config, TimeoutKind};
use super::votes::VoteKeeper;
use std::collections::{BTreeMap, BTreeSet};
use watt_runtime::block::{CommitCertificate, SignedProposal, ValidatorSet};
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::types::Height;

/// The paper's `step_p`, plus the state between deciding a height and the
/// host starting the next one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Step {
    /// Waiting for the round's proposal.
    Propose,
    /// Prevoted; waiting for prevotes.
    Prevote,
    /// Precommitted; waiting for precommits.
    Precommit,
    /// The height is decided; waiting for `Input::StartHeight`.
    Decided,
}

/// A block and the round it is attached to (a lock, a valid value, a
/// decision).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct RoundValue {
    /// The round.
    pub round: u32,
    /// The block.
    pub block_hash: Hash,
}

/// The paper's state variables for the current height.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RoundState {
    /// `h_p`.
    pub height: Height,
    /// `round_p`.
    pub round: u32,
    /// `step_p`.
    pub step: Step,
    /// `lockedValue_p` and `lockedRound_p` (`None` is the paper's nil, -1).
    pub locked: Option<RoundValue>,
    /// `validValue_p` and `validRound_p`.
    pub valid: Option<RoundValue>,
    /// `decision_p[h_p]`.
    pub decision: Option<RoundValue>,
}

/// Most proposals kept per round. Only a faulty proposer sends more than
/// one; keeping a few lets the polka form around whichever one the
/// majority saw first.
pub(crate) const MAX_PROPOSALS_PER_ROUND: usize = 4;

/// "For the first time" guards of the current round, and what the core
/// waits for; all reset by `StartRound`.
#[derive(Clone, Debug, Default)]
pub(crate) struct RoundFlags {
    /// `RequestBlock` sent for this round, answer pending (L18).
    pub awaiting_block: bool,
    /// L34 has fired in this round.
    pub prevote_timeout: bool,
    /// L47 has fired in this round.
    pub precommit_timeout: bool,
    /// L36 has fired in this round.
    pub polka_value: bool,
}

/// Everything about the height being decided.
#[derive(Clone, Debug)]
pub(crate) struct HeightState {
    pub rs: RoundState,
    pub set: ValidatorSet,
    /// Which of the node's keys is in `set`, if any (an observer has none).
    pub me: Option<usize>,
    pub keeper: VoteKeeper,
    /// Proposals by the proposer of each round, in arrival order.
    pub proposals: BTreeMap<u32, Vec<SignedProposal>>,
    /// The host's verdicts, `valid(v)`.
    pub verdicts: BTreeMap<Hash, bool>,
    /// Blocks whose verdict has been asked for.
    pub asked: BTreeSet<Hash>,
    pub flags: RoundFlags,
}

/// The consensus engine of one node: Tendermint as a pure state machine.
///
/// Feed it inputs with [`Consensus::apply`] and perform the effects it
/// returns, in order. It keeps no clock, draws no randomness and does no
/// I/O; two cores fed the same inputs return the same effects.
#[derive(Clone, Debug)]
pub struct Consensus {
    pub(crate) config: Config,
    pub(crate) chain_id: Hash,
    /// The node's consensus keys. It signs at each height with the first one
    /// that belongs to the height's set; holding the next key before a
    /// rotation takes effect makes the rotation seamless.
    pub(crate) keys: Vec<Keypair>,
    /// What it signed: the mirror of the host's durable log.
    pub(crate) log: PersistedState,
    pub(crate) current: Option<HeightState>,
    /// The certificate of the last height it decided, re-broadcast so that
    /// peers still on that height can decide too.
    pub(crate) last_commit: Option<CommitCertificate>,
    /// Messages for the next height, replayed when it starts.
    pub(crate) future: Vec<Input>,
    pub(crate) out: Vec<Effect>,
}

impl Consensus {
    /// A core for a node holding `keys`, resuming from what it persisted
    /// (`PersistedState::default()` for a fresh node). Nothing happens until
    /// the host sends `Input::StartHeight`.
    pub fn new(
        config: Config,
        chain_id: Hash,
        keys: Vec<Keypair>,
        persisted: PersistedState,
    ) -> Self {
        Consensus {
            config,
            chain_id,
            keys,
            log: persisted,
            current: None,
            last_commit: None,
            future: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Applies one input and returns what the host must do, in order.
    #[must_use = "the effects must be performed"]
    pub fn apply(&mut self, input: Input) -> Vec<Effect> {
        self.handle(input);
        std::mem::take(&mut self.out)
    }

    /// The round state of the current height.
    pub fn round_state(&self) -> Option<&RoundState> {
        self.current.as_ref().map(|h| &h.rs)
    }

    /// The height being decided (or just decided).
    pub fn height(&self) -> Option<Height> {
        self.current.as_ref().map(|h| h.rs.height)
    }

    /// The validator set of the current height.
    pub fn validators(&self) -> Option<&ValidatorSet> {
        self.current.as_ref().map(|h| &h.set)
    }

    /// What this node has signed.
    pub fn persisted(&self) -> &PersistedState {
        &self.log
    }

    /// The certificate of the last height this core decided.
    pub fn last_commit(&self) -> Option<&CommitCertificate> {
        self.last_commit.as_ref()
    }

    /// Lets a validator that was catching up sign from `height` on (the
    /// host has made this durable first).
    pub fn open_signing_from(&mut self, height: Height) {
        self.log.open_from(height);
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn handle(&mut self, input: Input) {
        if let Input::StartHeight { height, validators } = input {
            self.start_height(height, validators);
            return;
        }
        let Some(current) = self.current.as_ref().map(|h| h.rs.height) else {
            return;
        };
        if let Some(h) = input.message_height() {
            if h == current.next() {
                if self.future.len() < self.config.max_future_inputs
                    && !self.future.contains(&input)
                {
                    self.future.push(input);
                }
                return;
            }
            if h != current {
                // A stale message, or one from far ahead: the host syncs.
                return;
            }
        }
        if let Some(mut m) = self.machine() {
            m.on_input(input);
            m.run_rules();
        }
    }

    /// `Input::StartHeight`: the paper's height change (L52-L54), and the
    /// resumption after a restart.
    fn start_height(&mut self, height: Height, set: ValidatorSet) {
        if self.height().is_some_and(|h| height <= h) || set.is_empty() {
            return;
        }
        let me = self
            .keys
            .iter()
            .position(|k| set.index_of(&k.public()).is_some());
        // A restarted node takes its lock back from what it signed (the lock
        // is its last precommit for a block at this height) and resumes in
        // the highest round it signed in.
        let locked = self
            .log
            .locked()
            .filter(|v| v.vote.height == height)
            .and_then(|v| {
                v.vote.block_hash.map(|block_hash| RoundValue {
                    round: v.vote.round,
                    block_hash,
                })
            });
        let round = self.log.resume_round(height).unwrap_or(0);
        self.current = Some(HeightState {
            rs: RoundState {
                height,
                round,
                step: Step::Propose,
                locked,
                valid: locked,
                decision: None,
            },
            keeper: VoteKeeper::new(&set),
            set,
            me,
            proposals: BTreeMap::new(),
            verdicts: BTreeMap::new(),
            asked: BTreeSet::new(),
            flags: RoundFlags::default(),
        });
        if let Some(mut m) = self.machine() {
            m.schedule(TimeoutKind::Rebroadcast, round);
            m.start_round(round);
            m.run_rules();
        }
        let buffered = std::mem::take(&mut self.future);
        for input in buffered {
            if input.message_height() == Some(height) {
                self.handle(input);
            }
        }
    }
}
