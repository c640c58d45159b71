//! What validators send each other.

use borsh::{BorshDeserialize, BorshSerialize};
use watt_runtime::block::{CommitCertificate, SignedProposal, SignedVote};
use watt_runtime::encoding::BoundedVec;
use watt_runtime::types::Height;

/// Most certificates one sync response carries.
pub const MAX_SYNC_CERTIFICATES: usize = 64;

/// A consensus message on the wire. The core produces the first three; the
/// sync pair is the host's business (the core only ever sees the
/// certificates it carries, one at a time, as `Input::Commit`).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum Message {
    /// A signed proposal.
    Proposal(SignedProposal),
    /// A signed prevote or precommit.
    Vote(SignedVote),
    /// A decided block's commit certificate (it names the block hash). A
    /// node still working on that height decides on receiving it.
    Commit(CommitCertificate),
    /// "Send me the certificates of the heights from `from_height` on": sent
    /// by a node that sees traffic for heights above its own.
    SyncRequest {
        /// The first height the asker has not decided.
        from_height: Height,
    },
    /// Certificates of consecutive decided heights, lowest first.
    SyncResponse {
        /// The certificates.
        certificates: BoundedVec<CommitCertificate, MAX_SYNC_CERTIFICATES>,
    },
}

impl Message {
    /// The height a consensus message is about (`None` for sync messages).
    pub fn height(&self) -> Option<Height> {
        match self {
            Message::Proposal(p) => Some(p.proposal.height),
            Message::Vote(v) => Some(v.vote.height),
            Message::Commit(c) => Some(c.height),
            Message::SyncRequest { .. } | Message::SyncResponse { .. } => None,
        }
    }
}
