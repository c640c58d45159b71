//! What peers send on its way to the core, with every queue bounded per
//! peer and in total.
//!
//! - [`Intake`]: consensus messages. A message for the height being
//!   decided goes to the consensus verifier with that height's validator
//!   set; one for the next height waits, a few per peer, until that
//!   height's set is known (when the node starts it); anything else is
//!   dropped (a node behind catches up by block sync). Messages verified
//!   before are remembered, so a validator's periodic re-sends are not
//!   checked again.
//! - [`Bodies`]: block bodies, kept (a few per peer, within a byte budget
//!   for followers) until a verified proposal names them; only then is a
//!   body executed.

use super::verifier::ConsensusJob;
use crate::consensus::Message;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use watt_runtime::block::{Block, ValidatorSet};
use watt_runtime::crypto::{Hash, PublicKey};
use watt_runtime::encoding::encode;
use watt_runtime::types::Height;

/// Next-height messages kept per peer.
pub(super) const NEXT_PER_PEER: usize = 64;
/// Messages one peer may have waiting for verification.
pub(super) const IN_FLIGHT_PER_PEER: usize = 256;
/// Messages all peers together may have waiting for verification.
pub(super) const IN_FLIGHT_TOTAL: usize = 4_096;
/// Verified messages remembered.
const VERIFIED_MEMORY: usize = 8_192;
/// Block bodies kept per peer.
pub(super) const BODIES_PER_PEER: usize = 4;
/// Bytes of block bodies kept from followers, in all.
pub(super) const FOLLOWER_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The identity of a consensus message, for the memory of verified ones.
pub(super) fn message_id(msg: &Message) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(b"watt/consensus-intake/v1");
    h.update(&encode(msg));
    Hash(*h.finalize().as_bytes())
}

/// What to do with a consensus message from a peer.
pub(super) enum Admit {
    /// Check it.
    Verify(ConsensusJob),
    /// It verified before: hand it to the core again (a re-send).
    Known(Message),
    /// Kept until the next height starts.
    Waiting,
    /// Not wanted: another height, or the peer's queue is full.
    Dropped(&'static str),
}

/// Consensus messages on their way to the verifier and the core.
#[derive(Default)]
pub(super) struct Intake {
    height: Height,
    set: Option<Arc<ValidatorSet>>,
    next: HashMap<PublicKey, Vec<Message>>,
    in_flight: HashMap<PublicKey, usize>,
    in_flight_total: usize,
    verified: HashSet<Hash>,
    verified_order: VecDeque<Hash>,
}

impl Intake {
    /// The core started `height`, decided by `set`: the messages that were
    /// waiting for it, to verify now.
    pub(super) fn start_height(&mut self, height: Height, set: ValidatorSet) -> Vec<ConsensusJob> {
        self.height = height;
        let set = Arc::new(set);
        self.set = Some(set.clone());
        let waiting = std::mem::take(&mut self.next);
        let mut jobs = Vec::new();
        for (from, msgs) in waiting {
            for msg in msgs {
                if msg.height() == Some(height) {
                    if let Admit::Verify(job) = self.admit(from, msg) {
                        jobs.push(job);
                    }
                }
            }
        }
        jobs
    }

    /// Decides what happens to a message from `from`.
    pub(super) fn admit(&mut self, from: PublicKey, msg: Message) -> Admit {
        let Some(height) = msg.height() else {
            return Admit::Dropped("not a proposal, vote or certificate");
        };
        let Some(set) = self.set.clone() else {
            return Admit::Dropped("consensus has not started");
        };
        if height == self.height.next() {
            let queue = self.next.entry(from).or_default();
            if queue.len() >= NEXT_PER_PEER {
                return Admit::Dropped("too many messages for the next height");
            }
            if !queue.contains(&msg) {
                queue.push(msg);
            }
            return Admit::Waiting;
        }
        if height != self.height {
            return Admit::Dropped("another height");
        }
        if self.verified.contains(&message_id(&msg)) {
            return Admit::Known(msg);
        }
        let mine = self.in_flight.entry(from).or_insert(0);
        if *mine >= IN_FLIGHT_PER_PEER || self.in_flight_total >= IN_FLIGHT_TOTAL {
            return Admit::Dropped("verification queue full");
        }
        *mine += 1;
        self.in_flight_total += 1;
        Admit::Verify(ConsensusJob { from, msg, set })
    }

    /// A job that was not sent after all (the verifier's queue was full).
    pub(super) fn unsent(&mut self, from: &PublicKey) {
        self.done(from);
    }

    /// The verdict on a message came back.
    pub(super) fn verdict(&mut self, from: &PublicKey, msg: &Message, ok: bool) {
        self.done(from);
        if ok {
            let id = message_id(msg);
            if self.verified.insert(id) {
                self.verified_order.push_back(id);
                if self.verified_order.len() > VERIFIED_MEMORY {
                    if let Some(old) = self.verified_order.pop_front() {
                        self.verified.remove(&old);
                    }
                }
            }
        }
    }

    fn done(&mut self, from: &PublicKey) {
        if let Some(n) = self.in_flight.get_mut(from) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.in_flight.remove(from);
            }
        }
        self.in_flight_total = self.in_flight_total.saturating_sub(1);
    }

    /// Forgets a peer's waiting messages (it was banned).
    pub(super) fn forget(&mut self, peer: &PublicKey) {
        self.next.remove(peer);
    }
}

struct Body {
    block: Block,
    from: PublicKey,
    bytes: usize,
    follower: bool,
}

/// Block bodies waiting for a verified proposal to name them.
#[derive(Default)]
pub(super) struct Bodies {
    by_hash: HashMap<Hash, Body>,
    per_peer: HashMap<PublicKey, usize>,
    follower_bytes: usize,
}

impl Bodies {
    /// Keeps a body from `from` for `height` (the one being decided or the
    /// next). False if it is not kept: known already, the peer holds its
    /// share, or followers' bodies fill their budget.
    pub(super) fn insert(&mut self, from: PublicKey, follower: bool, block: Block) -> bool {
        let hash = block.hash();
        if self.by_hash.contains_key(&hash) {
            return false;
        }
        let count = self.per_peer.get(&from).copied().unwrap_or(0);
        if count >= BODIES_PER_PEER {
            return false;
        }
        let bytes = encode(&block).len();
        if follower && self.follower_bytes + bytes > FOLLOWER_BODY_BYTES {
            return false;
        }
        if follower {
            self.follower_bytes += bytes;
        }
        *self.per_peer.entry(from).or_insert(0) += 1;
        self.by_hash.insert(
            hash,
            Body {
                block,
                from,
                bytes,
                follower,
            },
        );
        true
    }

    /// A held body.
    pub(super) fn get(&self, hash: &Hash) -> Option<&Block> {
        self.by_hash.get(hash).map(|b| &b.block)
    }

    /// Takes a body out (to execute it).
    pub(super) fn take(&mut self, hash: &Hash) -> Option<Block> {
        let body = self.by_hash.remove(hash)?;
        self.release(&body);
        Some(body.block)
    }

    /// Forgets bodies below `height`.
    pub(super) fn prune(&mut self, height: Height) {
        let old: Vec<Hash> = self
            .by_hash
            .iter()
            .filter(|(_, b)| b.block.header.height < height)
            .map(|(h, _)| *h)
            .collect();
        for h in old {
            if let Some(body) = self.by_hash.remove(&h) {
                self.release(&body);
            }
        }
    }

    fn release(&mut self, body: &Body) {
        if body.follower {
            self.follower_bytes = self.follower_bytes.saturating_sub(body.bytes);
        }
        if let Some(n) = self.per_peer.get_mut(&body.from) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_peer.remove(&body.from);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watt_runtime::block::{Validator, Vote, VoteKind};
    use watt_runtime::crypto::Keypair;
    use watt_runtime::encoding::BoundedString;
    use watt_runtime::types::AccountId;

    fn set() -> ValidatorSet {
        let k = Keypair::from_seed([1; 32]);
        ValidatorSet::new(vec![Validator {
            consensus_key: k.public(),
            operator: AccountId(k.public()),
            name: BoundedString::default(),
        }])
        .unwrap()
    }

    fn vote(height: u64, round: u32) -> Message {
        let k = Keypair::from_seed([1; 32]);
        Message::Vote(
            Vote {
                kind: VoteKind::Prevote,
                chain_id: Hash::ZERO,
                height: Height(height),
                round,
                block_hash: None,
                validator: k.public(),
            }
            .sign(&k),
        )
    }

    #[test]
    fn heights_decide_where_a_message_goes_and_queues_are_bounded() {
        let peer = Keypair::from_seed([9; 32]).public();
        let other = Keypair::from_seed([10; 32]).public();
        let mut intake = Intake::default();
        assert!(matches!(intake.admit(peer, vote(1, 0)), Admit::Dropped(_)));
        let _ = intake.start_height(Height(5), set());
        assert!(matches!(intake.admit(peer, vote(4, 0)), Admit::Dropped(_)));
        assert!(matches!(intake.admit(peer, vote(7, 0)), Admit::Dropped(_)));
        for r in 0..NEXT_PER_PEER as u32 {
            assert!(matches!(intake.admit(other, vote(6, r)), Admit::Waiting));
        }
        assert!(matches!(
            intake.admit(other, vote(6, 999)),
            Admit::Dropped(_)
        ));
        let mut sent = 0;
        for r in 0..(IN_FLIGHT_PER_PEER as u32 + 10) {
            if let Admit::Verify(_) = intake.admit(peer, vote(5, r)) {
                sent += 1;
            }
        }
        assert_eq!(sent, IN_FLIGHT_PER_PEER);
        // A verdict frees a slot, and a verified message is known after.
        intake.verdict(&peer, &vote(5, 0), true);
        assert!(matches!(intake.admit(peer, vote(5, 0)), Admit::Known(_)));
        // The next height's messages come out when it starts.
        let due = intake.start_height(Height(6), set());
        assert_eq!(due.len(), NEXT_PER_PEER);
    }

    #[test]
    fn bodies_are_bounded_per_peer() {
        let peer = Keypair::from_seed([9; 32]).public();
        let mut bodies = Bodies::default();
        let block = |t: u64| Block {
            header: watt_runtime::block::Header {
                chain_id: Hash::ZERO,
                height: Height(3),
                parent_hash: Hash::ZERO,
                timestamp_ms: t,
                proposer: PublicKey::default(),
                tx_root: Hash::ZERO,
                state_root: Hash::ZERO,
                event_root: Hash::ZERO,
                validator_set_hash: Hash::ZERO,
                next_validator_set_hash: Hash::ZERO,
                parent_commit_hash: Hash::ZERO,
            },
            txs: Default::default(),
            parent_commit: None,
        };
        for t in 0..BODIES_PER_PEER as u64 {
            assert!(bodies.insert(peer, true, block(t)));
        }
        assert!(!bodies.insert(peer, true, block(99)));
        let h = block(0).hash();
        assert!(bodies.take(&h).is_some());
        assert!(bodies.insert(peer, true, block(99)));
        bodies.prune(Height(u64::MAX));
        assert!(bodies.get(&block(99).hash()).is_none());
    }
}
