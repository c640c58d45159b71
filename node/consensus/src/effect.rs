//! What the core asks its host to do.

use super::message::Message;
use super::persist::LogEntry;
use super::timeouts::Timeout;
use std::time::Duration;
use watt_runtime::block::{CommitCertificate, CommitError, SignedVote};
use watt_runtime::crypto::{Hash, PublicKey};
use watt_runtime::types::Height;

/// An effect of [`Consensus::apply`](super::Consensus::apply). The host
/// performs the effects of one call in order; each variant says what, if
/// anything, to feed back.
#[must_use = "an effect the host does not perform is a message not sent or a vote not persisted"]
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Effect {
    /// Make this entry durable (write and sync the consensus log) before
    /// performing any later effect of the same call: the `Broadcast` that
    /// follows carries what was just signed. Resume with nothing.
    Persist(LogEntry),
    /// Send to every peer. Resume with nothing.
    Broadcast(Message),
    /// Feed `Input::Timeout(timeout)` back after `after`. Timeouts never
    /// need cancelling: the core ignores those that no longer apply.
    ScheduleTimeout {
        /// What to feed back.
        timeout: Timeout,
        /// When.
        after: Duration,
    },
    /// This node proposes in `(height, round)`: build a block, store it, and
    /// resume with `Input::Propose` carrying its hash.
    RequestBlock {
        /// The height.
        height: Height,
        /// The round.
        round: u32,
    },
    /// A proposal names this block: fetch it if needed, check it, and resume
    /// with `Input::BlockVerdict`. Until then the core treats it as unknown
    /// (it will not prevote for it, and the propose timeout runs).
    ValidateBlock {
        /// The height.
        height: Height,
        /// The round of the proposal.
        round: u32,
        /// The block.
        block_hash: Hash,
    },
    /// The block is final. Store it with its certificate, apply it, then
    /// resume with `Input::StartHeight` for the next height. The
    /// certificate is proof by itself; the host fetches the block by hash
    /// if it does not hold it yet.
    Decide {
        /// The height.
        height: Height,
        /// The finalised block.
        block_hash: Hash,
        /// More than 2/3 of the height's validators' precommits for it.
        certificate: CommitCertificate,
    },
    /// A validator signed two conflicting votes: submit them as the
    /// runtime's `Evidence` transaction. Reported once per offender and
    /// height.
    Evidence {
        /// The vote seen first.
        first: SignedVote,
        /// The conflicting one.
        second: SignedVote,
    },
    /// An input was refused as malformed or misattributed; the host may
    /// lower its opinion of the peer that sent it. Resume with nothing.
    Rejected(Rejection),
}

/// Why the core refused a message. Messages that are merely stale (an old
/// height or round) or duplicated are dropped silently instead.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum Rejection {
    /// Signed for another chain.
    #[error("message is for chain {got}, expected {expected}")]
    WrongChain {
        /// Its chain id.
        got: Hash,
        /// Ours.
        expected: Hash,
    },
    /// A vote by a key outside the height's validator set.
    #[error("{key} is not a validator at height {height}")]
    NotAValidator {
        /// The signer.
        key: PublicKey,
        /// The height.
        height: Height,
    },
    /// A proposal by someone other than the round's proposer.
    #[error("proposal for height {height} round {round} by {got}, expected {expected}")]
    WrongProposer {
        /// The height.
        height: Height,
        /// The round.
        round: u32,
        /// Who signed it.
        got: PublicKey,
        /// The round's proposer.
        expected: PublicKey,
    },
    /// A proposal whose valid round is not below its round.
    #[error("proposal for round {round} names valid round {valid_round}")]
    BadValidRound {
        /// The proposal's round.
        round: u32,
        /// Its valid round.
        valid_round: u32,
    },
    /// A certificate for the current height that does not hold.
    #[error("commit certificate refused: {0}")]
    BadCertificate(#[from] CommitError),
}
