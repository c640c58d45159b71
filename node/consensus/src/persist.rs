//! What a validator has signed, and the rule that keeps it from ever
//! signing something that conflicts with it.
//!
//! Every proposal and vote the core signs is first handed to the host as
//! `Effect::Persist(LogEntry)`; the host appends it to its consensus log and
//! syncs before sending anything that follows. After a crash the host folds
//! its log into a [`PersistedState`] and rebuilds the core from it.
//!
//! The signing rule is a high-water mark per kind (proposal, prevote,
//! precommit), ordered by (height, round):
//! - above the mark: sign, and the new message becomes the mark;
//! - at the mark: sign nothing new, send the message already signed there
//!   again (whatever value the caller now wants);
//! - below the mark: refuse.
//!
//! So one key never signs two different messages of one kind for one
//! height and round, across any number of restarts. The rule is stricter
//! than safety needs (it also refuses lower rounds) but an honest core
//! never asks for those: rounds only increase, and a restarted core
//! resumes at the highest round it signed in.

use borsh::{BorshDeserialize, BorshSerialize};
use watt_runtime::block::{Proposal, SignedProposal, SignedVote, Vote, VoteKind};
use watt_runtime::types::Height;

/// One entry of the consensus log: a message this node is about to send.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum LogEntry {
    /// A proposal it signed.
    Proposal(SignedProposal),
    /// A prevote or precommit it signed.
    Vote(SignedVote),
}

/// The last message signed of each kind, and the lock: everything the core
/// needs to resume without contradicting itself. The log folds into it
/// with [`PersistedState::record`]; a host may store either.
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct PersistedState {
    proposal: Option<SignedProposal>,
    prevote: Option<SignedVote>,
    precommit: Option<SignedVote>,
    /// The last precommit for a block (not nil): Tendermint's lock.
    locked: Option<SignedVote>,
    /// Where signing may start; see [`SigningGate`].
    gate: SigningGate,
}

/// Whether the node may sign at all, beyond the high-water marks.
///
/// A validator whose signing record was lost (or is older than its chain
/// data) cannot know what it signed before, so it starts `CatchingUp`: it
/// signs nothing until its host has seen the chain decide a height it was
/// working on without it, and then opens the gate from the next height
/// ([`PersistedState::open_from`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub enum SigningGate {
    /// Sign at heights from this one on (`Height(0)`: anywhere).
    #[default]
    Open,
    /// Sign at heights from this one on.
    From(Height),
    /// Sign nothing until the host opens the gate.
    CatchingUp,
}

/// What the signing rule allows.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum Permission<T> {
    /// Above the mark: sign.
    Sign,
    /// At the mark: send this again instead.
    Repeat(T),
    /// Below the mark.
    Refuse,
}

fn position_of_vote(v: &SignedVote) -> (Height, u32) {
    (v.vote.height, v.vote.round)
}

fn permission<T: Clone>(
    last: Option<&T>,
    at: (Height, u32),
    pos: impl Fn(&T) -> (Height, u32),
) -> Permission<T> {
    match last {
        None => Permission::Sign,
        Some(prev) if at > pos(prev) => Permission::Sign,
        Some(prev) if at == pos(prev) => Permission::Repeat(prev.clone()),
        Some(_) => Permission::Refuse,
    }
}

impl PersistedState {
    /// The state of a validator that must catch up before it signs.
    pub fn catching_up() -> Self {
        PersistedState {
            gate: SigningGate::CatchingUp,
            ..PersistedState::default()
        }
    }

    /// The signing gate.
    pub fn gate(&self) -> SigningGate {
        self.gate
    }

    /// Closes the gate until the host opens it again.
    pub fn close(&mut self) {
        self.gate = SigningGate::CatchingUp;
    }

    /// Allows signing from `height` on (a validator that caught up).
    pub fn open_from(&mut self, height: Height) {
        self.gate = SigningGate::From(height);
    }

    /// Whether the gate allows signing at `height`.
    pub fn may_sign_at(&self, height: Height) -> bool {
        match self.gate {
            SigningGate::Open => true,
            SigningGate::From(from) => height >= from,
            SigningGate::CatchingUp => false,
        }
    }

    /// The highest height this node signed anything at (0: nothing).
    pub fn last_signed_height(&self) -> Height {
        let proposal = self.proposal.iter().map(|p| p.proposal.height);
        let votes = [&self.prevote, &self.precommit, &self.locked]
            .into_iter()
            .flatten()
            .map(|v| v.vote.height);
        proposal.chain(votes).max().unwrap_or(Height(0))
    }

    /// The state of a log, replayed in order.
    pub fn from_log<'a>(entries: impl IntoIterator<Item = &'a LogEntry>) -> Self {
        let mut s = PersistedState::default();
        for e in entries {
            s.record(e);
        }
        s
    }

    /// Folds one log entry in. Entries below the current mark of their kind
    /// change nothing.
    pub fn record(&mut self, entry: &LogEntry) {
        match entry {
            LogEntry::Proposal(p) => {
                let at = (p.proposal.height, p.proposal.round);
                let above = self
                    .proposal
                    .as_ref()
                    .is_none_or(|q| at > (q.proposal.height, q.proposal.round));
                if above {
                    self.proposal = Some(p.clone());
                }
            }
            LogEntry::Vote(v) => {
                let at = position_of_vote(v);
                let slot = match v.vote.kind {
                    VoteKind::Prevote => &mut self.prevote,
                    VoteKind::Precommit => &mut self.precommit,
                };
                if slot.as_ref().is_none_or(|q| at > position_of_vote(q)) {
                    *slot = Some(v.clone());
                }
                let locks = v.vote.kind == VoteKind::Precommit && v.vote.block_hash.is_some();
                if locks
                    && self
                        .locked
                        .as_ref()
                        .is_none_or(|q| at > position_of_vote(q))
                {
                    self.locked = Some(v.clone());
                }
            }
        }
    }

    /// The last proposal signed.
    pub fn last_proposal(&self) -> Option<&SignedProposal> {
        self.proposal.as_ref()
    }

    /// The last vote of a kind signed.
    pub fn last_vote(&self, kind: VoteKind) -> Option<&SignedVote> {
        match kind {
            VoteKind::Prevote => self.prevote.as_ref(),
            VoteKind::Precommit => self.precommit.as_ref(),
        }
    }

    /// The last precommit for a block, which is the lock while its height
    /// is undecided.
    pub fn locked(&self) -> Option<&SignedVote> {
        self.locked.as_ref()
    }

    /// The highest round this node signed anything in at `height`: where a
    /// restarted core resumes.
    pub fn resume_round(&self, height: Height) -> Option<u32> {
        let proposal = self
            .proposal
            .iter()
            .map(|p| (p.proposal.height, p.proposal.round));
        let votes = [&self.prevote, &self.precommit, &self.locked]
            .into_iter()
            .flatten()
            .map(position_of_vote);
        proposal
            .chain(votes)
            .filter(|(h, _)| *h == height)
            .map(|(_, r)| r)
            .max()
    }

    /// Whether `vote` may be signed.
    pub(crate) fn check_vote(&self, vote: &Vote) -> Permission<SignedVote> {
        if !self.may_sign_at(vote.height) {
            return Permission::Refuse;
        }
        permission(
            self.last_vote(vote.kind),
            (vote.height, vote.round),
            position_of_vote,
        )
    }

    /// Whether `proposal` may be signed.
    pub(crate) fn check_proposal(&self, proposal: &Proposal) -> Permission<SignedProposal> {
        if !self.may_sign_at(proposal.height) {
            return Permission::Refuse;
        }
        permission(
            self.proposal.as_ref(),
            (proposal.height, proposal.round),
            |p| (p.proposal.height, p.proposal.round),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use watt_runtime::crypto::{Hash, Keypair};

    fn vote(key: &Keypair, kind: VoteKind, h: u64, r: u32, v: Option<u8>) -> Vote {
        Vote {
            kind,
            chain_id: Hash([7; 32]),
            height: Height(h),
            round: r,
            block_hash: v.map(|b| Hash([b; 32])),
            validator: key.public(),
        }
    }

    /// Signs through the rule, as the core does.
    fn sign(state: &mut PersistedState, key: &Keypair, v: Vote) -> Option<SignedVote> {
        match state.check_vote(&v) {
            Permission::Sign => {
                let s = v.sign(key);
                state.record(&LogEntry::Vote(s.clone()));
                Some(s)
            }
            Permission::Repeat(s) => Some(s),
            Permission::Refuse => None,
        }
    }

    #[test]
    fn the_mark_repeats_at_equal_position_and_refuses_below() {
        let key = Keypair::from_seed([1; 32]);
        let mut s = PersistedState::default();
        let a = sign(&mut s, &key, vote(&key, VoteKind::Prevote, 3, 1, Some(1)));
        let again = sign(&mut s, &key, vote(&key, VoteKind::Prevote, 3, 1, None));
        assert_eq!(a, again, "a different value at the mark repeats the first");
        assert_eq!(
            s.check_vote(&vote(&key, VoteKind::Prevote, 3, 0, None)),
            Permission::Refuse
        );
        assert_eq!(
            s.check_vote(&vote(&key, VoteKind::Prevote, 2, 9, None)),
            Permission::Refuse
        );
        assert_eq!(
            s.check_vote(&vote(&key, VoteKind::Precommit, 3, 0, None)),
            Permission::Sign
        );
        assert_eq!(
            s.check_vote(&vote(&key, VoteKind::Prevote, 3, 2, None)),
            Permission::Sign
        );
        assert_eq!(s.resume_round(Height(3)), Some(1));
        assert_eq!(s.resume_round(Height(4)), None);
    }

    #[test]
    fn the_lock_survives_later_nil_precommits() {
        let key = Keypair::from_seed([1; 32]);
        let mut s = PersistedState::default();
        let locked = sign(&mut s, &key, vote(&key, VoteKind::Precommit, 5, 0, Some(9)));
        sign(&mut s, &key, vote(&key, VoteKind::Precommit, 5, 1, None));
        assert_eq!(s.locked(), locked.as_ref());
        assert_eq!(s.resume_round(Height(5)), Some(1));
    }

    proptest! {
        /// Whatever a (possibly confused) caller asks, and however often the
        /// state is rebuilt from the log, no two signed votes conflict.
        #[test]
        fn no_two_signed_votes_conflict(
            requests in proptest::collection::vec(
                (any::<bool>(), 1u64..4, 0u32..4, proptest::option::of(0u8..3), any::<bool>()),
                1..60,
            )
        ) {
            let key = Keypair::from_seed([2; 32]);
            let mut log: Vec<LogEntry> = Vec::new();
            let mut state = PersistedState::default();
            let mut signed: BTreeMap<(u8, u64, u32), Option<Hash>> = BTreeMap::new();
            for (precommit, h, r, v, restart) in requests {
                if restart {
                    state = PersistedState::from_log(&log);
                }
                let kind = if precommit { VoteKind::Precommit } else { VoteKind::Prevote };
                let before = state.clone();
                if let Some(s) = sign(&mut state, &key, vote(&key, kind, h, r, v)) {
                    if state != before {
                        log.push(LogEntry::Vote(s.clone()));
                    }
                    let slot = (kind as u8, h, r);
                    let prev = signed.insert(slot, s.vote.block_hash);
                    prop_assert!(prev.is_none() || prev == Some(s.vote.block_hash));
                }
            }
        }
    }
}
