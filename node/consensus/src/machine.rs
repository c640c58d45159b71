//! The core borrowed for one input, with the current height in hand:
//! message intake (everything but signatures is checked here) and the
//! actions the rules take (sign, persist, send, schedule, decide).
//! The rules themselves are in `rules.rs`.

use super::effect::{Effect, Rejection};
use super::input::Input;
use super::message::Message;
use super::persist::{LogEntry, Permission, PersistedState};
use super::state::{Consensus, HeightState, RoundValue, Step, MAX_PROPOSALS_PER_ROUND};
use super::timeouts::{Config, Timeout, TimeoutKind};
use super::votes::Added;
use watt_runtime::block::{
    CommitCertificate, Proposal, SignedProposal, SignedVote, Vote, VoteKind,
};
use watt_runtime::crypto::{Hash, Keypair};

pub(crate) struct Machine<'a> {
    pub(super) config: &'a Config,
    pub(super) chain_id: Hash,
    pub(super) keys: &'a [Keypair],
    pub(super) log: &'a mut PersistedState,
    pub(super) last_commit: &'a mut Option<CommitCertificate>,
    pub(super) out: &'a mut Vec<Effect>,
    pub(super) hs: &'a mut HeightState,
}

impl Consensus {
    pub(crate) fn machine(&mut self) -> Option<Machine<'_>> {
        let hs = self.current.as_mut()?;
        Some(Machine {
            config: &self.config,
            chain_id: self.chain_id,
            keys: &self.keys,
            log: &mut self.log,
            last_commit: &mut self.last_commit,
            out: &mut self.out,
            hs,
        })
    }
}
impl<'a> Machine<'a> {
    // ----- intake -----

    /// Handles an input for the current height (the caller has filtered
    /// heights).
    pub(crate) fn on_input(&mut self, input: Input) {
        match input {
            Input::StartHeight { .. } => {}
            Input::Propose {
                height,
                round,
                block_hash,
            } => {
                let rs = &self.hs.rs;
                if height == rs.height
                    && round == rs.round
                    && rs.step == Step::Propose
                    && self.hs.flags.awaiting_block
                {
                    self.hs.flags.awaiting_block = false;
                    // L19, with validRound_p = -1.
                    self.propose(block_hash, None);
                }
            }
            Input::Proposal(p) => self.on_proposal(p),
            Input::Vote(v) => self.on_vote(v),
            Input::Commit(c) => self.on_commit(c),
            Input::BlockVerdict {
                height,
                block_hash,
                valid,
            } => {
                if height == self.hs.rs.height {
                    self.hs.verdicts.entry(block_hash).or_insert(valid);
                }
            }
            Input::Timeout(t) => self.on_timeout(t),
        }
    }

    fn on_proposal(&mut self, sp: SignedProposal) {
        if self.hs.rs.decision.is_some() {
            return;
        }
        let p = &sp.proposal;
        if p.chain_id != self.chain_id {
            return self.reject(Rejection::WrongChain {
                got: p.chain_id,
                expected: self.chain_id,
            });
        }
        if p.round > self.hs.rs.round.saturating_add(self.config.max_round_ahead) {
            return;
        }
        let expected = self
            .hs
            .set
            .proposer(self.hs.rs.height, p.round)
            .map(|v| v.consensus_key)
            .unwrap_or_default();
        if p.proposer != expected {
            return self.reject(Rejection::WrongProposer {
                height: p.height,
                round: p.round,
                got: p.proposer,
                expected,
            });
        }
        if let Some(vr) = p.valid_round.filter(|vr| *vr >= p.round) {
            return self.reject(Rejection::BadValidRound {
                round: p.round,
                valid_round: vr,
            });
        }
        let (round, block_hash) = (p.round, p.block_hash);
        if self.store_proposal(sp)
            && !self.hs.verdicts.contains_key(&block_hash)
            && self.hs.asked.insert(block_hash)
        {
            self.out.push(Effect::ValidateBlock {
                height: self.hs.rs.height,
                round,
                block_hash,
            });
        }
    }

    fn on_vote(&mut self, sv: SignedVote) {
        let v = &sv.vote;
        if v.chain_id != self.chain_id {
            return self.reject(Rejection::WrongChain {
                got: v.chain_id,
                expected: self.chain_id,
            });
        }
        if self.hs.set.index_of(&v.validator).is_none() {
            return self.reject(Rejection::NotAValidator {
                key: v.validator,
                height: v.height,
            });
        }
        if v.round > self.hs.rs.round.saturating_add(self.config.max_round_ahead) {
            return;
        }
        if let Added::Equivocation { first, second } = self.hs.keeper.add(sv) {
            self.out.push(Effect::Evidence { first, second });
        }
    }

    fn on_commit(&mut self, cert: CommitCertificate) {
        if self.hs.rs.decision.is_some() {
            return;
        }
        let height = self.hs.rs.height;
        match cert.checks(&self.chain_id, &self.hs.set, height, &cert.block_hash) {
            Err(e) => self.reject(Rejection::BadCertificate(e)),
            Ok(_) => self.decide(cert.round, cert.block_hash, cert),
        }
    }

    /// Sends again what a peer that missed it needs: the latest commit, this
    /// round's proposal, and the last prevote and precommit of this height.
    /// This is what lets a network recover from any outage by itself.
    pub(super) fn rebroadcast(&mut self) {
        if let Some(c) = self.last_commit.as_ref() {
            self.out.push(Effect::Broadcast(Message::Commit(c.clone())));
        }
        let (height, round) = (self.hs.rs.height, self.hs.rs.round);
        let proposal = self
            .log
            .last_proposal()
            .filter(|p| p.proposal.height == height && p.proposal.round == round)
            .cloned();
        if let Some(p) = proposal {
            self.broadcast_proposal(p);
        }
        for kind in [VoteKind::Prevote, VoteKind::Precommit] {
            if let Some(v) = self.log.last_vote(kind).filter(|v| v.vote.height == height) {
                self.out.push(Effect::Broadcast(Message::Vote(v.clone())));
            }
        }
    }

    // ----- actions -----

    /// L51: records the decision and hands the block and its certificate to
    /// the host, which moves to the next height (L52-L54).
    pub(super) fn decide(&mut self, round: u32, block_hash: Hash, certificate: CommitCertificate) {
        self.hs.rs.decision = Some(RoundValue { round, block_hash });
        self.hs.rs.step = Step::Decided;
        *self.last_commit = Some(certificate.clone());
        self.out.push(Effect::Decide {
            height: self.hs.rs.height,
            block_hash,
            certificate,
        });
    }

    /// L19: signs (or repeats) and sends this round's proposal.
    pub(super) fn propose(&mut self, block_hash: Hash, valid_round: Option<u32>) {
        let Some(key) = self.my_key() else { return };
        let proposal = Proposal {
            chain_id: self.chain_id,
            height: self.hs.rs.height,
            round: self.hs.rs.round,
            valid_round,
            block_hash,
            proposer: key.public(),
        };
        let signed = match self.log.check_proposal(&proposal) {
            Permission::Sign => {
                let signed = proposal.sign(key);
                self.persist(LogEntry::Proposal(signed.clone()));
                signed
            }
            Permission::Repeat(signed) => signed,
            Permission::Refuse => return,
        };
        self.hs.verdicts.insert(signed.proposal.block_hash, true);
        self.broadcast_proposal(signed.clone());
        self.store_proposal(signed);
    }

    /// Sends a proposal, and with a valid round the polka that justifies it,
    /// so that peers that missed those prevotes can still apply L28.
    pub(super) fn broadcast_proposal(&mut self, signed: SignedProposal) {
        let pol = signed.proposal.valid_round.map(|vr| {
            self.hs
                .keeper
                .votes_for(vr, VoteKind::Prevote, Some(signed.proposal.block_hash))
        });
        self.out.push(Effect::Broadcast(Message::Proposal(signed)));
        for v in pol.into_iter().flatten() {
            self.out.push(Effect::Broadcast(Message::Vote(v)));
        }
    }

    /// Signs (or repeats) and sends this node's vote of the current round,
    /// and counts it. Returns the value actually sent, which after a
    /// restart can be the one signed before the crash; `None` if the node
    /// is not a validator at this height.
    pub(super) fn vote(
        &mut self,
        kind: VoteKind,
        block_hash: Option<Hash>,
    ) -> Option<Option<Hash>> {
        let key = self.my_key()?;
        let vote = Vote {
            kind,
            chain_id: self.chain_id,
            height: self.hs.rs.height,
            round: self.hs.rs.round,
            block_hash,
            validator: key.public(),
        };
        let signed = match self.log.check_vote(&vote) {
            Permission::Sign => {
                let signed = vote.sign(key);
                self.persist(LogEntry::Vote(signed.clone()));
                signed
            }
            Permission::Repeat(signed) => signed,
            Permission::Refuse => return None,
        };
        let sent = signed.vote.block_hash;
        self.out
            .push(Effect::Broadcast(Message::Vote(signed.clone())));
        let _ = self.hs.keeper.add(signed);
        Some(sent)
    }

    /// Records what is about to be signed and sent, and asks the host to
    /// make it durable first.
    fn persist(&mut self, entry: LogEntry) {
        self.log.record(&entry);
        self.out.push(Effect::Persist(entry));
    }

    fn store_proposal(&mut self, sp: SignedProposal) -> bool {
        let round = sp.proposal.round;
        let proposer = sp.proposal.proposer;
        let list = self.hs.proposals.entry(round).or_default();
        if list.contains(&sp) || list.len() >= MAX_PROPOSALS_PER_ROUND {
            return false;
        }
        list.push(sp);
        self.hs.keeper.note_sender(round, proposer);
        true
    }

    pub(crate) fn schedule(&mut self, kind: TimeoutKind, round: u32) {
        self.out.push(Effect::ScheduleTimeout {
            timeout: Timeout {
                height: self.hs.rs.height,
                round,
                kind,
            },
            after: self.config.timeout(kind, round),
        });
    }

    fn reject(&mut self, why: Rejection) {
        self.out.push(Effect::Rejected(why));
    }

    /// The key this node signs with at this height: none for an observer,
    /// and none while its signing gate is closed (a validator catching up
    /// acts as an observer: it neither builds blocks nor votes).
    fn my_key(&self) -> Option<&'a Keypair> {
        let keys: &'a [Keypair] = self.keys;
        if !self.log.may_sign_at(self.hs.rs.height) {
            return None;
        }
        self.hs.me.and_then(|i| keys.get(i))
    }

    pub(super) fn is_proposer(&self, round: u32) -> bool {
        let proposer = self.hs.set.proposer(self.hs.rs.height, round);
        match (self.my_key(), proposer) {
            (Some(k), Some(p)) => p.consensus_key == k.public(),
            _ => false,
        }
    }
}
