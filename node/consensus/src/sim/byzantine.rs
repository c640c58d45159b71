//! What byzantine processes make up and do on their own: conflicting votes
//! and proposals, forgeries, replays. Every message is well formed and,
//! except the forgeries, validly signed: the point is to lie, not to be
//! malformed.

use super::runner::{Event, Sim};
use super::scenario::Behaviour;
use crate::Message;
use watt_runtime::block::{
    CommitCertificate, Proposal, SignedProposal, SignedVote, ValidatorSet, Vote, VoteKind,
};
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::BoundedVec;
use watt_runtime::types::Height;

/// A block hash no honest process ever proposes.
pub(crate) fn fake_block(tag: &[u8], height: Height, round: u32, salt: u64) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(b"watt-sim-fake-block");
    h.update(tag);
    h.update(&height.0.to_le_bytes());
    h.update(&round.to_le_bytes());
    h.update(&salt.to_le_bytes());
    Hash(*h.finalize().as_bytes())
}

/// The same vote for another value (nil for a block, a made-up block for
/// nil), signed by the same key.
pub(crate) fn conflicting_vote(v: &SignedVote, key: &Keypair) -> SignedVote {
    let w = &v.vote;
    let other = match w.block_hash {
        Some(_) => None,
        None => Some(fake_block(b"equivocate", w.height, w.round, 0)),
    };
    Vote {
        block_hash: other,
        ..w.clone()
    }
    .sign(key)
}

/// The same proposal for a made-up block, signed by the same key.
pub(crate) fn conflicting_proposal(p: &SignedProposal, key: &Keypair, salt: u64) -> SignedProposal {
    let q = &p.proposal;
    Proposal {
        block_hash: fake_block(b"conflicting-proposal", q.height, q.round, salt),
        ..q.clone()
    }
    .sign(key)
}

/// What a forger sends in `(height, round)`: a vote by a key outside the
/// set, a vote in each other validator's name signed with the forger's key,
/// a proposal out of turn (when it is not the proposer), and a certificate
/// for a made-up block with a full bitmap and the forger's signatures.
pub(crate) fn forgeries(
    chain_id: Hash,
    set: &ValidatorSet,
    height: Height,
    round: u32,
    own: &Keypair,
    stranger: &Keypair,
    salt: u64,
) -> Vec<Message> {
    let fake = fake_block(b"forged", height, round, salt);
    let vote = |validator| Vote {
        kind: VoteKind::Prevote,
        chain_id,
        height,
        round,
        block_hash: Some(fake),
        validator,
    };
    let mut out = vec![Message::Vote(vote(stranger.public()).sign(stranger))];
    // A vote in every other validator's name, signed with the forger's key.
    for victim in set
        .validators()
        .iter()
        .map(|v| v.consensus_key)
        .filter(|k| *k != own.public())
    {
        let v = vote(victim);
        let signature = own.sign(&v.signing_hash());
        out.push(Message::Vote(SignedVote { vote: v, signature }));
    }
    let my_turn = set
        .proposer(height, round)
        .is_some_and(|v| v.consensus_key == own.public());
    if !my_turn {
        let p = Proposal {
            chain_id,
            height,
            round,
            valid_round: None,
            block_hash: fake,
            proposer: own.public(),
        };
        out.push(Message::Proposal(p.sign(own)));
    }
    let n = set.len();
    let bogus = own.sign(&fake);
    let mut bits = vec![0u8; n.div_ceil(8)];
    for i in 0..n {
        bits[i / 8] |= 1 << (i % 8);
    }
    out.push(Message::Commit(CommitCertificate {
        height,
        round,
        block_hash: fake,
        validator_set_hash: set.hash(),
        signers: BoundedVec::new(bits).unwrap_or_default(),
        signatures: BoundedVec::new(vec![bogus; n]).unwrap_or_default(),
    }));
    out
}

impl Sim {
    pub(super) fn tick(&mut self, p: usize) {
        let behaviour = self.procs[p].spec.behaviour;
        let next = match behaviour {
            Behaviour::Replayer => {
                self.replay(p);
                self.rng.range(200, 800)
            }
            Behaviour::Forger => {
                self.forge(p);
                self.rng.range(300, 900)
            }
            _ => return,
        };
        self.push(self.now + next, Event::Tick(p));
    }

    /// Re-sends a few remembered messages to random peers.
    fn replay(&mut self, p: usize) {
        if self.procs[p].core.is_none() || self.procs.len() < 2 {
            return;
        }
        for _ in 0..4 {
            let len = self.procs[p].memory.len() as u64;
            if len == 0 {
                return;
            }
            let i = self.rng.below(len) as usize;
            let Some(msg) = self.procs[p].memory.get(i).cloned() else {
                return;
            };
            let mut q = self.rng.below(self.procs.len() as u64 - 1) as usize;
            if q >= p {
                q += 1;
            }
            self.send(p, q, msg);
        }
    }

    /// Sends forgeries for the core's current height and round to everyone.
    fn forge(&mut self, p: usize) {
        let proc = &self.procs[p];
        let (Some(core), Some(own)) = (proc.core.as_ref(), proc.keys.first()) else {
            return;
        };
        let (Some(rs), Some(set)) = (core.round_state(), core.validators()) else {
            return;
        };
        let Some(stranger) = self.keys.last() else {
            return;
        };
        let msgs = forgeries(
            self.chain_id,
            set,
            rs.height,
            rs.round,
            own,
            stranger,
            self.events,
        );
        for q in 0..self.procs.len() {
            if q != p {
                for m in &msgs {
                    self.send(p, q, m.clone());
                }
            }
        }
    }
}
