//! Consensus objects: headers, proposals, votes and commit certificates.

use crate::types::Bytes;
use serde::{Deserialize, Serialize};
use watt_runtime::block as ledger;
use watt_runtime::crypto::{Hash, PublicKey, Signature};
use watt_runtime::types::Height;

/// A block header. Its hash (`Domain::Header` over its encoding) is the
/// block hash that votes and certificates name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// The chain id (genesis hash).
    pub chain_id: Hash,
    /// This block's height; the first block is 1.
    pub height: Height,
    /// The parent block's hash; for height 1, the chain id.
    pub parent_hash: Hash,
    /// Block time, unix milliseconds.
    pub timestamp_ms: u64,
    /// The proposer's consensus key.
    pub proposer: PublicKey,
    /// Merkle root over the transaction ids.
    pub tx_root: Hash,
    /// The state root after this block.
    pub state_root: Hash,
    /// Merkle root over the events this block emitted.
    pub event_root: Hash,
    /// Hash of the validator set that finalises this block.
    pub validator_set_hash: Hash,
    /// Hash of the validator set of the next height.
    pub next_validator_set_hash: Hash,
    /// Hash of the parent's commit certificate carried in this block
    /// (`Hash::ZERO` at height 1).
    pub parent_commit_hash: Hash,
}

impl From<ledger::Header> for Header {
    fn from(v: ledger::Header) -> Self {
        Header {
            chain_id: v.chain_id,
            height: v.height,
            parent_hash: v.parent_hash,
            timestamp_ms: v.timestamp_ms,
            proposer: v.proposer,
            tx_root: v.tx_root,
            state_root: v.state_root,
            event_root: v.event_root,
            validator_set_hash: v.validator_set_hash,
            next_validator_set_hash: v.next_validator_set_hash,
            parent_commit_hash: v.parent_commit_hash,
        }
    }
}

/// A proposal of a block for a height and round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    /// The chain id.
    pub chain_id: Hash,
    /// The height.
    pub height: Height,
    /// The round.
    pub round: u32,
    /// The round in which the proposer saw a polka for this block, if any
    /// (Tendermint's `validRound`; `-1` in the paper).
    pub valid_round: Option<u32>,
    /// The proposed block's hash.
    pub block_hash: Hash,
    /// The proposer's consensus key.
    pub proposer: PublicKey,
}

impl From<ledger::Proposal> for Proposal {
    fn from(v: ledger::Proposal) -> Self {
        Proposal {
            chain_id: v.chain_id,
            height: v.height,
            round: v.round,
            valid_round: v.valid_round,
            block_hash: v.block_hash,
            proposer: v.proposer,
        }
    }
}

/// A proposal with the proposer's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedProposal {
    /// The proposal.
    pub proposal: Proposal,
    /// Signature by `proposal.proposer`.
    pub signature: Signature,
}

impl From<ledger::SignedProposal> for SignedProposal {
    fn from(v: ledger::SignedProposal) -> Self {
        SignedProposal {
            proposal: v.proposal.into(),
            signature: v.signature,
        }
    }
}

/// The two kinds of vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VoteKind {
    /// First voting step.
    Prevote,
    /// Second voting step; more than 2/3 of these finalise a block.
    Precommit,
}

impl From<ledger::VoteKind> for VoteKind {
    fn from(v: ledger::VoteKind) -> Self {
        match v {
            ledger::VoteKind::Prevote => VoteKind::Prevote,
            ledger::VoteKind::Precommit => VoteKind::Precommit,
        }
    }
}

/// A vote for a block (or for nil) at a height and round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vote {
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// The chain id.
    pub chain_id: Hash,
    /// The height.
    pub height: Height,
    /// The round.
    pub round: u32,
    /// The block voted for, or `None` for nil.
    pub block_hash: Option<Hash>,
    /// The voter's consensus key.
    pub validator: PublicKey,
}

impl From<ledger::Vote> for Vote {
    fn from(v: ledger::Vote) -> Self {
        Vote {
            kind: v.kind.into(),
            chain_id: v.chain_id,
            height: v.height,
            round: v.round,
            block_hash: v.block_hash,
            validator: v.validator,
        }
    }
}

/// A vote with the validator's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedVote {
    /// The vote.
    pub vote: Vote,
    /// Signature by `vote.validator`.
    pub signature: Signature,
}

impl From<ledger::SignedVote> for SignedVote {
    fn from(v: ledger::SignedVote) -> Self {
        SignedVote {
            vote: v.vote.into(),
            signature: v.signature,
        }
    }
}

/// Proof that a block was finalised: precommits for it by more than 2/3 of
/// its height's validators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitCertificate {
    /// The height.
    pub height: Height,
    /// The round the precommits were cast in.
    pub round: u32,
    /// The finalised block.
    pub block_hash: Hash,
    /// The hash of the validator set of `height`.
    pub validator_set_hash: Hash,
    /// Bit i (of byte i / 8, least significant bit first) is set iff
    /// validator i (in key order) signed; `ceil(n / 8)` bytes, as `0x` hex.
    pub signers: Bytes,
    /// The signers' precommit signatures, in validator order.
    pub signatures: Vec<Signature>,
}

impl From<ledger::CommitCertificate> for CommitCertificate {
    fn from(v: ledger::CommitCertificate) -> Self {
        CommitCertificate {
            height: v.height,
            round: v.round,
            block_hash: v.block_hash,
            validator_set_hash: v.validator_set_hash,
            signers: Bytes(v.signers.into_inner()),
            signatures: v.signatures.into_inner(),
        }
    }
}

// What a wallet sends: views back into ledger values, within the
// ledger's bounds.

impl From<VoteKind> for ledger::VoteKind {
    fn from(v: VoteKind) -> Self {
        match v {
            VoteKind::Prevote => ledger::VoteKind::Prevote,
            VoteKind::Precommit => ledger::VoteKind::Precommit,
        }
    }
}

impl From<Vote> for ledger::Vote {
    fn from(v: Vote) -> Self {
        ledger::Vote {
            kind: v.kind.into(),
            chain_id: v.chain_id,
            height: v.height,
            round: v.round,
            block_hash: v.block_hash,
            validator: v.validator,
        }
    }
}

impl From<SignedVote> for ledger::SignedVote {
    fn from(v: SignedVote) -> Self {
        ledger::SignedVote {
            vote: v.vote.into(),
            signature: v.signature,
        }
    }
}
