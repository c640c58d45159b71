//! The paper's pseudo-code (Buchman, Kwon, Milosevic, "The latest gossip on
//! BFT consensus", 2018, Algorithm 1), one function per `upon` rule, with
//! its line numbers.
//!
//! Two deliberate departures, both about what the core cannot see:
//! - L49 decides on 2f+1 precommits for a block without requiring its
//!   proposal and verdict. Block content is the host's business; 2f+1
//!   precommits include f+1 correct validators that checked the block, and
//!   the certificate they form is what the host stores. The same holds for
//!   a certificate received whole (`Input::Commit`).
//! - The proposer schedules the propose timeout too (L21 is only for the
//!   others in the paper), so a host slow to build a block cannot stall the
//!   round for this node.

use super::effect::Effect;
use super::machine::Machine;
use super::state::{RoundValue, Step};
use super::timeouts::{Timeout, TimeoutKind};
use watt_runtime::block::{CommitCertificate, VoteKind};

impl Machine<'_> {
    /// Evaluates the `upon` rules until none fires.
    pub(crate) fn run_rules(&mut self) {
        while self.hs.rs.step != Step::Decided {
            let fired = self.l49_decide()
                || self.l22_l28_prevote_on_proposal()
                || self.l36_polka_for_value()
                || self.l44_polka_for_nil()
                || self.l34_prevote_timeout()
                || self.l47_precommit_timeout()
                || self.l55_skip_round();
            if !fired {
                break;
            }
        }
    }

    /// L11-L21: StartRound.
    pub(crate) fn start_round(&mut self, round: u32) {
        let height = self.hs.rs.height;
        self.hs.rs.round = round; // L12
        self.hs.rs.step = Step::Propose; // L13
        self.hs.flags = Default::default();
        self.schedule(TimeoutKind::Propose, round); // L21 (for the proposer too)
        if !self.is_proposer(round) {
            return;
        }
        // L14: this node proposes. After a restart it may already have
        // signed a proposal for this round: that one, and nothing else.
        let signed_before = self
            .log
            .last_proposal()
            .filter(|p| p.proposal.height == height && p.proposal.round == round)
            .map(|p| (p.proposal.block_hash, p.proposal.valid_round));
        if let Some((block_hash, valid_round)) = signed_before {
            self.propose(block_hash, valid_round);
        } else if let Some(v) = self.hs.rs.valid.filter(|v| v.round < round) {
            // L15-L16, L19.
            self.propose(v.block_hash, Some(v.round));
        } else {
            // L18: getValue().
            self.hs.flags.awaiting_block = true;
            self.out.push(Effect::RequestBlock { height, round });
        }
    }

    /// L22-L27 (proposal without valid round) and L28-L33 (with a valid
    /// round and its polka): the first prevote of the round.
    fn l22_l28_prevote_on_proposal(&mut self) -> bool {
        if self.hs.rs.step != Step::Propose {
            return false;
        }
        let round = self.hs.rs.round;
        let Some(candidates) = self.hs.proposals.get(&round).cloned() else {
            return false;
        };
        for sp in candidates {
            let v = sp.proposal.block_hash;
            let verdict = self.hs.verdicts.get(&v).copied();
            let locked = self.hs.rs.locked;
            let prevote = match sp.proposal.valid_round {
                // L22
                None => {
                    let Some(valid) = verdict else { continue };
                    // L23: valid(v) ∧ (lockedRound_p = −1 ∨ lockedValue_p = v)
                    let ok = valid && locked.is_none_or(|l| l.block_hash == v);
                    ok.then_some(v) // L24, else L26
                }
                // L28: vr ≥ 0 ∧ vr < round_p, and 2f+1 prevotes for v in vr.
                Some(vr) => {
                    if vr >= round || !self.hs.keeper.has_quorum(vr, VoteKind::Prevote, Some(v)) {
                        continue;
                    }
                    let Some(valid) = verdict else { continue };
                    // L29: valid(v) ∧ (lockedRound_p ≤ vr ∨ lockedValue_p = v)
                    let ok = valid && locked.is_none_or(|l| l.round <= vr || l.block_hash == v);
                    ok.then_some(v) // L30, else L32
                }
            };
            self.vote(VoteKind::Prevote, prevote);
            self.hs.rs.step = Step::Prevote; // L27, L33
            return true;
        }
        false
    }

    /// L34-L35: 2f+1 prevotes of any values, for the first time: schedule
    /// the prevote timeout.
    fn l34_prevote_timeout(&mut self) -> bool {
        let round = self.hs.rs.round;
        if self.hs.rs.step != Step::Prevote
            || self.hs.flags.prevote_timeout
            || !self.hs.keeper.has_quorum_of_any(round, VoteKind::Prevote)
        {
            return false;
        }
        self.hs.flags.prevote_timeout = true;
        self.schedule(TimeoutKind::Prevote, round);
        true
    }

    /// L36-L43: the round's proposal for v and 2f+1 prevotes for it (a
    /// polka), for the first time: lock and precommit if still prevoting,
    /// and in any case remember v as the valid value.
    fn l36_polka_for_value(&mut self) -> bool {
        let step = self.hs.rs.step;
        if self.hs.flags.polka_value || step < Step::Prevote || step == Step::Decided {
            return false;
        }
        let round = self.hs.rs.round;
        let polka = self.hs.proposals.get(&round).and_then(|ps| {
            ps.iter().map(|p| p.proposal.block_hash).find(|v| {
                self.hs.verdicts.get(v) == Some(&true)
                    && self
                        .hs
                        .keeper
                        .has_quorum(round, VoteKind::Prevote, Some(*v))
            })
        });
        let Some(v) = polka else { return false };
        self.hs.flags.polka_value = true;
        let value = RoundValue {
            round,
            block_hash: v,
        };
        if step == Step::Prevote {
            // L37-L41. A restarted node that precommitted something else in
            // this round before its crash sends that again and stays unlocked.
            let sent = self.vote(VoteKind::Precommit, Some(v));
            if sent.is_none_or(|s| s == Some(v)) {
                self.hs.rs.locked = Some(value);
            }
            self.hs.rs.step = Step::Precommit;
        }
        self.hs.rs.valid = Some(value); // L42-L43
        true
    }

    /// L44-L46: 2f+1 prevotes for nil: precommit nil.
    fn l44_polka_for_nil(&mut self) -> bool {
        let round = self.hs.rs.round;
        if self.hs.rs.step != Step::Prevote
            || !self.hs.keeper.has_quorum(round, VoteKind::Prevote, None)
        {
            return false;
        }
        self.vote(VoteKind::Precommit, None);
        self.hs.rs.step = Step::Precommit;
        true
    }

    /// L47-L48: 2f+1 precommits of any values, for the first time: schedule
    /// the precommit timeout.
    fn l47_precommit_timeout(&mut self) -> bool {
        let round = self.hs.rs.round;
        if self.hs.flags.precommit_timeout
            || !self.hs.keeper.has_quorum_of_any(round, VoteKind::Precommit)
        {
            return false;
        }
        self.hs.flags.precommit_timeout = true;
        self.schedule(TimeoutKind::Precommit, round);
        true
    }

    /// L49-L54: 2f+1 precommits for v in any round: decide v.
    fn l49_decide(&mut self) -> bool {
        if self.hs.rs.decision.is_some() {
            return false;
        }
        let Some((round, v)) = self.hs.keeper.decision() else {
            return false;
        };
        let precommits = self
            .hs
            .keeper
            .votes_for(round, VoteKind::Precommit, Some(v));
        let cert = CommitCertificate::from_precommits(
            &self.hs.set,
            self.hs.rs.height,
            round,
            v,
            &precommits,
        );
        self.decide(round, v, cert);
        true
    }

    /// L55-L56: f+1 messages from a higher round: go there.
    fn l55_skip_round(&mut self) -> bool {
        match self.hs.keeper.skip_round(self.hs.rs.round) {
            Some(round) => {
                self.start_round(round);
                true
            }
            None => false,
        }
    }

    pub(super) fn on_timeout(&mut self, t: Timeout) {
        let (height, round, step) = (self.hs.rs.height, self.hs.rs.round, self.hs.rs.step);
        if t.height != height {
            return;
        }
        let current = t.round == round;
        match t.kind {
            TimeoutKind::Rebroadcast => {
                self.rebroadcast();
                self.schedule(TimeoutKind::Rebroadcast, round);
            }
            // L57-L60: OnTimeoutPropose.
            TimeoutKind::Propose if current && step == Step::Propose => {
                self.vote(VoteKind::Prevote, None);
                self.hs.rs.step = Step::Prevote;
            }
            // L61-L64: OnTimeoutPrevote.
            TimeoutKind::Prevote if current && step == Step::Prevote => {
                self.vote(VoteKind::Precommit, None);
                self.hs.rs.step = Step::Precommit;
            }
            // L65-L67: OnTimeoutPrecommit.
            TimeoutKind::Precommit if current && step != Step::Decided => {
                self.start_round(round.saturating_add(1));
            }
            _ => {}
        }
    }
}
