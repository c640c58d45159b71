//! The vote keeper: every vote of one height, counted per round, kind and
//! value.
//!
//! Votes count the way the paper counts messages: "2f+1 PREVOTE for v" is
//! 2f+1 distinct validators that sent a prevote for v. A validator that
//! sends votes for several values in one round and kind (an equivocator)
//! counts toward each of them; that cannot break safety, because quorums
//! for two different values would need f+1 correct validators in both. It
//! matters for liveness: a polka one node saw (and forwards as a proof of
//! lock) must count at every node that receives it, whichever of the
//! equivocator's votes each saw first. The first conflicting pair is
//! evidence, reported once per offender and height; a validator's values
//! per round and kind are capped at [`MAX_VALUES_PER_VOTER`], which bounds
//! memory. "Any value" thresholds count validators, each once.
//!
//! Each validator weighs one vote, so the thresholds are counts: `quorum` is
//! more than 2/3 of the set (2f+1 in the paper), and `skip` (f+1) is the
//! smallest count that every quorum intersects, `n - quorum + 1`, which
//! guarantees at least one correct sender.

use super::state::MAX_PROPOSALS_PER_ROUND;
use std::collections::{BTreeMap, BTreeSet};
use watt_runtime::block::{SignedVote, ValidatorSet, VoteKind};
use watt_runtime::crypto::{Hash, PublicKey};

/// Most distinct values counted per validator in one round and kind: one
/// per proposal a round can hold, and nil. Only those values can ever
/// matter to a correct node.
pub const MAX_VALUES_PER_VOTER: usize = MAX_PROPOSALS_PER_ROUND + 1;

/// The votes of one kind in one round.
#[derive(Clone, Debug, Default)]
struct Tally {
    /// Each voter's first vote, and how many values it has voted for.
    first: BTreeMap<PublicKey, (SignedVote, usize)>,
    /// Voters per value.
    per_value: BTreeMap<Option<Hash>, BTreeMap<PublicKey, SignedVote>>,
}

/// Everything seen in one round.
#[derive(Clone, Debug, Default)]
struct RoundVotes {
    prevotes: Tally,
    precommits: Tally,
    /// Validators that sent anything for this round, proposals included
    /// (for the round skip of L55).
    senders: BTreeSet<PublicKey>,
}

impl RoundVotes {
    fn tally(&self, kind: VoteKind) -> &Tally {
        match kind {
            VoteKind::Prevote => &self.prevotes,
            VoteKind::Precommit => &self.precommits,
        }
    }
}

/// What adding a vote did.
// Returned and matched at once, never stored: boxing the evidence would
// only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Added {
    /// It counts.
    New,
    /// The validator already cast this vote.
    Duplicate,
    /// The validator already voted for another value here: this vote counts
    /// too, toward its own value, and this pair is the evidence (returned
    /// once per offender per height).
    Equivocation {
        /// The vote that counts.
        first: SignedVote,
        /// The conflicting one.
        second: SignedVote,
    },
    /// Another conflicting vote from an offender already reported (counted
    /// unless the voter is past [`MAX_VALUES_PER_VOTER`]).
    Conflict,
}

/// The votes of one height. The caller checks that each voter belongs to
/// the height's set and that the vote is for this height.
#[derive(Clone, Debug)]
pub struct VoteKeeper {
    quorum: usize,
    skip: usize,
    rounds: BTreeMap<u32, RoundVotes>,
    offenders: BTreeSet<PublicKey>,
}

impl VoteKeeper {
    /// An empty keeper for a height validated by `set`.
    pub fn new(set: &ValidatorSet) -> Self {
        let quorum = set.quorum();
        VoteKeeper {
            quorum,
            skip: set.len().saturating_sub(quorum) + 1,
            rounds: BTreeMap::new(),
            offenders: BTreeSet::new(),
        }
    }

    /// 2f+1: more than 2/3 of the set.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// Counts a vote.
    pub fn add(&mut self, vote: SignedVote) -> Added {
        let key = vote.vote.validator;
        let value = vote.vote.block_hash;
        let round = self.rounds.entry(vote.vote.round).or_default();
        round.senders.insert(key);
        let tally = match vote.vote.kind {
            VoteKind::Prevote => &mut round.prevotes,
            VoteKind::Precommit => &mut round.precommits,
        };
        let first = match tally.first.get_mut(&key) {
            None => {
                tally.first.insert(key, (vote.clone(), 1));
                tally.per_value.entry(value).or_default().insert(key, vote);
                return Added::New;
            }
            Some(entry) => entry,
        };
        if tally
            .per_value
            .get(&value)
            .is_some_and(|voters| voters.contains_key(&key))
        {
            return Added::Duplicate;
        }
        // The cap is checked before a value gets an entry: a byzantine
        // validator voting for ever new values must not grow the map.
        if first.1 < MAX_VALUES_PER_VOTER {
            first.1 += 1;
            tally
                .per_value
                .entry(value)
                .or_default()
                .insert(key, vote.clone());
        }
        if self.offenders.insert(key) {
            Added::Equivocation {
                first: first.0.clone(),
                second: vote,
            }
        } else {
            Added::Conflict
        }
    }

    /// Notes that `key` sent a message (a proposal) for `round`.
    pub fn note_sender(&mut self, round: u32, key: PublicKey) {
        self.rounds.entry(round).or_default().senders.insert(key);
    }

    /// How many validators cast this vote.
    pub fn count(&self, round: u32, kind: VoteKind, value: Option<Hash>) -> usize {
        self.rounds
            .get(&round)
            .and_then(|r| r.tally(kind).per_value.get(&value))
            .map_or(0, BTreeMap::len)
    }

    /// How many validators voted at all in this round and kind.
    pub fn total(&self, round: u32, kind: VoteKind) -> usize {
        self.rounds
            .get(&round)
            .map_or(0, |r| r.tally(kind).first.len())
    }

    /// Whether 2f+1 validators cast this vote.
    pub fn has_quorum(&self, round: u32, kind: VoteKind, value: Option<Hash>) -> bool {
        self.count(round, kind, value) >= self.quorum
    }

    /// Whether 2f+1 validators voted, for any values.
    pub fn has_quorum_of_any(&self, round: u32, kind: VoteKind) -> bool {
        self.total(round, kind) >= self.quorum
    }

    /// The lowest round with 2f+1 precommits for one block, and the block.
    pub fn decision(&self) -> Option<(u32, Hash)> {
        self.rounds.iter().find_map(|(r, votes)| {
            votes
                .precommits
                .per_value
                .iter()
                .find_map(|(value, voters)| match value {
                    Some(hash) if voters.len() >= self.quorum => Some((*r, *hash)),
                    _ => None,
                })
        })
    }

    /// The highest round above `current` from which f+1 validators sent
    /// messages (L55).
    pub fn skip_round(&self, current: u32) -> Option<u32> {
        self.rounds
            .range(current.saturating_add(1)..)
            .rev()
            .find(|(_, votes)| votes.senders.len() >= self.skip)
            .map(|(r, _)| *r)
    }

    /// The votes cast for `value`, in validator order.
    pub fn votes_for(&self, round: u32, kind: VoteKind, value: Option<Hash>) -> Vec<SignedVote> {
        self.rounds
            .get(&round)
            .and_then(|r| r.tally(kind).per_value.get(&value))
            .map_or_else(Vec::new, |voters| voters.values().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use watt_runtime::block::{Validator, Vote};
    use watt_runtime::crypto::Keypair;
    use watt_runtime::encoding::BoundedString;
    use watt_runtime::types::{AccountId, Height};

    fn keys(n: u8) -> Vec<Keypair> {
        (0..n).map(|i| Keypair::from_seed([i + 1; 32])).collect()
    }

    fn set_of(keys: &[Keypair]) -> ValidatorSet {
        let vs = keys
            .iter()
            .map(|k| Validator {
                consensus_key: k.public(),
                operator: AccountId(k.public()),
                name: BoundedString::default(),
            })
            .collect();
        ValidatorSet::new(vs).unwrap()
    }

    fn vote(k: &Keypair, kind: VoteKind, round: u32, v: Option<u8>) -> SignedVote {
        Vote {
            kind,
            chain_id: Hash::ZERO,
            height: Height(1),
            round,
            block_hash: v.map(|b| Hash([b; 32])),
            validator: k.public(),
        }
        .sign(k)
    }

    #[test]
    fn thresholds_follow_the_set_size() {
        for (n, q, s) in [
            (1, 1, 1),
            (4, 3, 2),
            (5, 4, 2),
            (6, 5, 2),
            (7, 5, 3),
            (10, 7, 4),
        ] {
            let k = VoteKeeper::new(&set_of(&keys(n)));
            assert_eq!((k.quorum, k.skip), (q, s), "n = {n}");
        }
    }

    #[test]
    fn equivocation_is_reported_once_and_counts_once() {
        let ks = keys(4);
        let mut k = VoteKeeper::new(&set_of(&ks));
        let a = vote(&ks[0], VoteKind::Prevote, 0, Some(1));
        let b = vote(&ks[0], VoteKind::Prevote, 0, None);
        let c = vote(&ks[0], VoteKind::Prevote, 0, Some(2));
        assert_eq!(k.add(a.clone()), Added::New);
        assert_eq!(k.add(a.clone()), Added::Duplicate);
        assert_eq!(
            k.add(b.clone()),
            Added::Equivocation {
                first: a.clone(),
                second: b
            }
        );
        assert_eq!(k.add(c), Added::Conflict);
        // A different round or kind is not a conflict.
        assert_eq!(
            k.add(vote(&ks[0], VoteKind::Precommit, 0, None)),
            Added::New
        );
        assert_eq!(k.add(vote(&ks[0], VoteKind::Prevote, 1, None)), Added::New);
        // One voter, counted once overall and once per value it voted for.
        assert_eq!(k.total(0, VoteKind::Prevote), 1);
        assert_eq!(k.count(0, VoteKind::Prevote, Some(Hash([1; 32]))), 1);
        assert_eq!(k.count(0, VoteKind::Prevote, None), 1);
        assert_eq!(k.count(0, VoteKind::Prevote, Some(Hash([2; 32]))), 1);
    }

    #[test]
    fn an_equivocator_counts_toward_each_value_up_to_the_cap() {
        let ks = keys(4);
        let mut k = VoteKeeper::new(&set_of(&ks));
        for b in 0..10u8 {
            let _ = k.add(vote(&ks[0], VoteKind::Prevote, 0, Some(b)));
        }
        let counted = (0..10u8)
            .filter(|b| k.count(0, VoteKind::Prevote, Some(Hash([*b; 32]))) == 1)
            .count();
        assert_eq!(counted, MAX_VALUES_PER_VOTER);
        // Its vote for 1 completes a polka for 1 with two others...
        let _ = k.add(vote(&ks[1], VoteKind::Prevote, 0, Some(1)));
        let _ = k.add(vote(&ks[2], VoteKind::Prevote, 0, Some(1)));
        assert!(k.has_quorum(0, VoteKind::Prevote, Some(Hash([1; 32]))));
        assert_eq!(
            k.votes_for(0, VoteKind::Prevote, Some(Hash([1; 32]))).len(),
            3
        );
        // ...but it is one voter among three.
        assert_eq!(k.total(0, VoteKind::Prevote), 3);
    }

    #[test]
    fn a_byzantine_voter_cannot_grow_the_keeper_past_its_cap() {
        let ks = keys(4);
        let mut k = VoteKeeper::new(&set_of(&ks));
        for b in 0..200u8 {
            let _ = k.add(vote(&ks[0], VoteKind::Precommit, 0, Some(b)));
        }
        let values = k.rounds[&0].precommits.per_value.len();
        assert_eq!(
            values, MAX_VALUES_PER_VOTER,
            "one entry per counted value only"
        );
    }

    proptest! {
        /// With validator 0 byzantine (voting anything) and the others
        /// voting at most once per round and kind: counts never exceed the
        /// voters, two values never both reach a quorum, and evidence is
        /// only ever a conflicting pair by validator 0.
        #[test]
        fn one_equivocator_cannot_make_two_quorums(
            votes in proptest::collection::vec((0usize..4, any::<bool>(), 0u32..3, proptest::option::of(0u8..3)), 0..80)
        ) {
            let ks = keys(4);
            let mut k = VoteKeeper::new(&set_of(&ks));
            let mut cast = std::collections::BTreeSet::new();
            for (who, pc, r, v) in votes {
                if who != 0 && !cast.insert((who, pc, r)) {
                    continue;
                }
                let kind = if pc { VoteKind::Precommit } else { VoteKind::Prevote };
                if let Added::Equivocation { first, second } = k.add(vote(&ks[who], kind, r, v)) {
                    prop_assert!(first.vote.conflicts_with(&second.vote));
                    prop_assert_eq!(first.vote.validator, ks[0].public());
                }
            }
            for r in 0..3 {
                for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                    prop_assert!(k.total(r, kind) <= 4);
                    let values = [None, Some(Hash([0; 32])), Some(Hash([1; 32])), Some(Hash([2; 32]))];
                    for v in values {
                        prop_assert!(k.count(r, kind, v) <= k.total(r, kind));
                    }
                    prop_assert!(values.iter().filter(|v| k.has_quorum(r, kind, **v)).count() <= 1);
                }
            }
        }
    }
}
