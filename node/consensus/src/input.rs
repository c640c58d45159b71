//! What the host feeds the core.

use super::timeouts::Timeout;
use watt_runtime::block::{CommitCertificate, SignedProposal, SignedVote, ValidatorSet};
use watt_runtime::crypto::Hash;
use watt_runtime::types::Height;

/// An input to [`Consensus::apply`](super::Consensus::apply).
///
/// Signatures: the host verifies the signature of every proposal and vote
/// (`signature_check()`) and the precommit signatures of every certificate
/// (`CommitCertificate::verify` against the set of its height) before
/// handing them over. The core checks everything else: chain id, height,
/// round window, membership in the height's set, the round's proposer, the
/// valid round, and the certificate's structure and quorum.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Input {
    /// Start working on `height`, which `validators` finalise. The host
    /// sends this once at start-up (for the first height it has not
    /// decided) and then after performing each `Effect::Decide`.
    StartHeight {
        /// The height.
        height: Height,
        /// The validator set of that height.
        validators: ValidatorSet,
    },
    /// The host's answer to `Effect::RequestBlock`: the hash of the block it
    /// built (and stored) for this node to propose.
    Propose {
        /// The height asked for.
        height: Height,
        /// The round asked for.
        round: u32,
        /// The block's hash.
        block_hash: Hash,
    },
    /// A proposal from the network, signature verified by the host.
    Proposal(SignedProposal),
    /// A prevote or precommit from the network, signature verified.
    Vote(SignedVote),
    /// A commit certificate from the network, signatures verified.
    Commit(CommitCertificate),
    /// The host's answer to `Effect::ValidateBlock`.
    BlockVerdict {
        /// The height.
        height: Height,
        /// The block.
        block_hash: Hash,
        /// Whether the block is valid (paper: `valid(v)`).
        valid: bool,
    },
    /// A timeout scheduled by `Effect::ScheduleTimeout` has expired.
    Timeout(Timeout),
}

impl Input {
    /// The height the input is about, if it is a network message.
    pub(crate) fn message_height(&self) -> Option<Height> {
        match self {
            Input::Proposal(p) => Some(p.proposal.height),
            Input::Vote(v) => Some(v.vote.height),
            Input::Commit(c) => Some(c.height),
            _ => None,
        }
    }
}
