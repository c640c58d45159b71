//! Blocks and the consensus objects that finalise them: headers, proposals,
//! votes, commit certificates and validator sets.
//!
//! The validator set of a height is ordered by consensus public key bytes;
//! the proposer rotation, the signer bitmap of a commit certificate and the
//! set hash all use that order.

use crate::crypto::{Domain, Hash, Keypair, PublicKey, SigCheck, Signature};
use crate::encoding::{encode, BoundedString, BoundedVec};
use crate::tx::Transaction;
use crate::types::{AccountId, Height};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Most validators a set may hold.
pub const MAX_VALIDATORS: usize = 256;
/// Most transactions a block can carry on the wire; the chain parameter
/// `max_block_txs` sets the effective, lower limit.
pub const MAX_BLOCK_TXS: usize = 65_536;
/// The highest `max_block_bytes` a chain may set: a full block with its
/// certificates must fit the peer protocol's sync answer (16 MiB) and
/// message (32 MiB) limits, or it could be sealed but never sent.
pub const MAX_BLOCK_BYTES: u32 = 8 * 1024 * 1024;
/// The most bytes one transaction can take in a block: the largest body is
/// a reading submission of `max_readings_per_tx` signed readings (up to
/// this many bytes each, with room for the envelope).
pub const MAX_SIGNED_READING_BYTES: u32 = 160;

/// A block header. Its hash (`Domain::Header` over its encoding) is the
/// block hash that votes and certificates name.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
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

impl Header {
    /// The block hash.
    pub fn hash(&self) -> Hash {
        Domain::Header.hash(&encode(self))
    }
}

/// A block: header, transactions, and the certificate that finalised its
/// parent (absent at height 1).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The transactions, in execution order.
    pub txs: BoundedVec<Transaction, MAX_BLOCK_TXS>,
    /// The parent's commit certificate.
    pub parent_commit: Option<CommitCertificate>,
}

impl Block {
    /// The block hash.
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }
}

/// A binary Merkle root over a list of leaf hashes: pairs are hashed level by
/// level; an odd last node is promoted unchanged; the empty list gives
/// `Hash::ZERO`. Internal nodes are `domain` hashes of `0x01 || left ||
/// right`; the prefix keeps them apart from any leaf hashed in that domain.
pub fn merkle_root(domain: Domain, leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return Hash::ZERO;
    }
    let mut level: Vec<Hash> = leaves.to_vec();
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for pair in level.chunks(2) {
            next.push(match pair {
                [l, r] => {
                    let mut h = domain.hasher();
                    h.update(&[1]);
                    h.update(&l.0);
                    h.update(&r.0);
                    Hash(*h.finalize().as_bytes())
                }
                [single] => *single,
                _ => Hash::ZERO,
            });
        }
        level = next;
    }
    level[0]
}

/// The transaction root of a block's transactions.
pub fn tx_root(txs: &[Transaction]) -> Hash {
    let ids: Vec<Hash> = txs.iter().map(Transaction::hash).collect();
    merkle_root(Domain::TxRoot, &ids)
}

/// One validator: a consensus key acting for an authority's operator
/// account. Every validator has one vote.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Validator {
    /// The key that signs proposals and votes.
    pub consensus_key: PublicKey,
    /// The authority's stable operator account.
    pub operator: AccountId,
    /// A human-readable name.
    pub name: BoundedString<64>,
}

/// A validator set, sorted by consensus key with no duplicates. Decoding
/// refuses an unsorted or duplicated set, so the encoding stays canonical.
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, Serialize, Deserialize)]
#[serde(try_from = "Vec<Validator>", into = "Vec<Validator>")]
pub struct ValidatorSet {
    validators: BoundedVec<Validator, MAX_VALIDATORS>,
}

/// Why a validator set could not be formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorSetError {
    /// No validators.
    #[error("validator set is empty")]
    Empty,
    /// More than [`MAX_VALIDATORS`].
    #[error("validator set of {0} exceeds {MAX_VALIDATORS}")]
    TooLarge(usize),
    /// One consensus key twice.
    #[error("consensus key {0} appears twice")]
    DuplicateKey(PublicKey),
    /// One operator account twice.
    #[error("operator {0} appears twice")]
    DuplicateOperator(AccountId),
}

impl BorshDeserialize for ValidatorSet {
    fn deserialize_reader<R: borsh::io::Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let raw = BoundedVec::<Validator, MAX_VALIDATORS>::deserialize_reader(reader)?;
        let given: Vec<Validator> = raw.into_inner();
        let set = ValidatorSet::new(given.clone())
            .map_err(|e| borsh::io::Error::new(borsh::io::ErrorKind::InvalidData, e.to_string()))?;
        if set.validators() != given.as_slice() {
            return Err(borsh::io::Error::new(
                borsh::io::ErrorKind::InvalidData,
                "validator set is not sorted by consensus key",
            ));
        }
        Ok(set)
    }
}

impl TryFrom<Vec<Validator>> for ValidatorSet {
    type Error = ValidatorSetError;
    fn try_from(v: Vec<Validator>) -> Result<Self, ValidatorSetError> {
        ValidatorSet::new(v)
    }
}

impl From<ValidatorSet> for Vec<Validator> {
    fn from(s: ValidatorSet) -> Vec<Validator> {
        s.validators.into_inner()
    }
}

impl ValidatorSet {
    /// Sorts and checks a set of validators.
    pub fn new(mut validators: Vec<Validator>) -> Result<Self, ValidatorSetError> {
        if validators.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        validators.sort_by_key(|v| v.consensus_key);
        for pair in validators.windows(2) {
            if pair[0].consensus_key == pair[1].consensus_key {
                return Err(ValidatorSetError::DuplicateKey(pair[0].consensus_key));
            }
        }
        let mut ops: Vec<AccountId> = validators.iter().map(|v| v.operator).collect();
        ops.sort();
        for pair in ops.windows(2) {
            if pair[0] == pair[1] {
                return Err(ValidatorSetError::DuplicateOperator(pair[0]));
            }
        }
        let n = validators.len();
        let validators = BoundedVec::new(validators).map_err(|_| ValidatorSetError::TooLarge(n))?;
        Ok(ValidatorSet { validators })
    }

    /// The validators in key order.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// How many validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Whether the set is empty (only a default value can be).
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// The position of a consensus key.
    pub fn index_of(&self, key: &PublicKey) -> Option<usize> {
        self.validators
            .binary_search_by(|v| v.consensus_key.cmp(key))
            .ok()
    }

    /// The validator with this operator account.
    pub fn by_operator(&self, operator: &AccountId) -> Option<&Validator> {
        self.validators.iter().find(|v| v.operator == *operator)
    }

    /// The smallest number of votes that is more than 2/3 of the set.
    pub fn quorum(&self) -> usize {
        self.len() * 2 / 3 + 1
    }

    /// The proposer of a height and round: round-robin in key order.
    pub fn proposer(&self, height: Height, round: u32) -> Option<&Validator> {
        if self.is_empty() {
            return None;
        }
        let i = (height.0.wrapping_add(round as u64)) % self.len() as u64;
        self.validators.get(i as usize)
    }

    /// The set hash.
    pub fn hash(&self) -> Hash {
        Domain::ValidatorSet.hash(&encode(self))
    }
}

/// A proposal of a block for a height and round.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
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

/// A proposal with the proposer's signature.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct SignedProposal {
    /// The proposal.
    pub proposal: Proposal,
    /// Signature by `proposal.proposer`.
    pub signature: Signature,
}

impl Proposal {
    /// The message the proposer signs.
    pub fn signing_hash(&self) -> Hash {
        Domain::Proposal.hash(&encode(self))
    }
    /// Signs with the proposer's consensus key.
    pub fn sign(self, key: &Keypair) -> SignedProposal {
        let signature = key.sign(&self.signing_hash());
        SignedProposal {
            proposal: self,
            signature,
        }
    }
}

impl SignedProposal {
    /// The check of the proposer's signature.
    pub fn signature_check(&self) -> SigCheck {
        SigCheck::new(
            self.proposal.proposer,
            self.proposal.signing_hash(),
            self.signature,
        )
    }
}

/// The two kinds of vote.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize,
)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum VoteKind {
    /// First voting step.
    Prevote = 0,
    /// Second voting step; more than 2/3 of these finalise a block.
    Precommit = 1,
}

/// A vote for a block (or for nil) at a height and round.
#[derive(Clone, PartialEq, Eq, Hash, Debug, BorshSerialize, BorshDeserialize)]
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

/// A vote with the validator's signature.
#[derive(Clone, PartialEq, Eq, Hash, Debug, BorshSerialize, BorshDeserialize)]
pub struct SignedVote {
    /// The vote.
    pub vote: Vote,
    /// Signature by `vote.validator`.
    pub signature: Signature,
}

impl Vote {
    /// The message the validator signs.
    pub fn signing_hash(&self) -> Hash {
        Domain::Vote.hash(&encode(self))
    }
    /// Signs with the validator's consensus key.
    pub fn sign(self, key: &Keypair) -> SignedVote {
        let signature = key.sign(&self.signing_hash());
        SignedVote {
            vote: self,
            signature,
        }
    }
    /// Whether two votes by one validator conflict: same kind, height and
    /// round, different values.
    pub fn conflicts_with(&self, other: &Vote) -> bool {
        self.validator == other.validator
            && self.chain_id == other.chain_id
            && self.kind == other.kind
            && self.height == other.height
            && self.round == other.round
            && self.block_hash != other.block_hash
    }
}

impl SignedVote {
    /// The check of the validator's signature.
    pub fn signature_check(&self) -> SigCheck {
        SigCheck::new(
            self.vote.validator,
            self.vote.signing_hash(),
            self.signature,
        )
    }
}

/// Proof that a block was finalised: precommits for it by more than 2/3 of
/// its height's validators.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
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
    /// validator i (in key order) signed; `ceil(n / 8)` bytes.
    pub signers: BoundedVec<u8, { MAX_VALIDATORS / 8 }>,
    /// The signers' precommit signatures, in validator order.
    pub signatures: BoundedVec<Signature, MAX_VALIDATORS>,
}

/// Why a commit certificate is not valid for a block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    /// The certificate is for another height.
    #[error("certificate is for height {got}, expected {expected}")]
    WrongHeight {
        /// Its height.
        got: Height,
        /// The block's height.
        expected: Height,
    },
    /// The certificate names another block.
    #[error("certificate names block {got}, expected {expected}")]
    WrongBlock {
        /// What it names.
        got: Hash,
        /// The block.
        expected: Hash,
    },
    /// The certificate names another validator set.
    #[error("certificate names validator set {got}, expected {expected}")]
    WrongValidatorSet {
        /// What it names.
        got: Hash,
        /// The set of its height.
        expected: Hash,
    },
    /// The bitmap has the wrong length, or bits past the set.
    #[error("signer bitmap is malformed")]
    BadBitmap,
    /// Signatures do not match the bitmap's count.
    #[error("{signatures} signatures for {signers} signers")]
    CountMismatch {
        /// Bits set.
        signers: usize,
        /// Signatures carried.
        signatures: usize,
    },
    /// Not more than 2/3 of the set signed.
    #[error("{signers} signers of {total} is not more than 2/3")]
    NoQuorum {
        /// Bits set.
        signers: usize,
        /// Set size.
        total: usize,
    },
    /// A signature does not verify.
    #[error("precommit signature of validator {validator} does not verify")]
    BadSignature {
        /// The validator.
        validator: PublicKey,
    },
}

impl CommitCertificate {
    /// The certificate hash, carried in the next block's header.
    pub fn hash(&self) -> Hash {
        Domain::Commit.hash(&encode(self))
    }

    /// Builds a certificate from precommits; the caller passes votes for
    /// this block by members of `set` (others are ignored).
    pub fn from_precommits(
        set: &ValidatorSet,
        height: Height,
        round: u32,
        block_hash: Hash,
        precommits: &[SignedVote],
    ) -> CommitCertificate {
        let mut by_index: Vec<Option<Signature>> = vec![None; set.len()];
        for v in precommits {
            if v.vote.kind == VoteKind::Precommit
                && v.vote.height == height
                && v.vote.round == round
                && v.vote.block_hash == Some(block_hash)
            {
                if let Some(i) = set.index_of(&v.vote.validator) {
                    by_index[i] = Some(v.signature);
                }
            }
        }
        let mut signers = vec![0u8; set.len().div_ceil(8)];
        let mut signatures = Vec::new();
        for (i, s) in by_index.into_iter().enumerate() {
            if let Some(s) = s {
                signers[i / 8] |= 1 << (i % 8);
                signatures.push(s);
            }
        }
        CommitCertificate {
            height,
            round,
            block_hash,
            validator_set_hash: set.hash(),
            signers: BoundedVec::new(signers).unwrap_or_default(),
            signatures: BoundedVec::new(signatures).unwrap_or_default(),
        }
    }

    /// The structural checks and the signature checks still to be made,
    /// so that callers can verify many certificates in one batch.
    pub fn checks(
        &self,
        chain_id: &Hash,
        set: &ValidatorSet,
        height: Height,
        block_hash: &Hash,
    ) -> Result<Vec<SigCheck>, CommitError> {
        if self.height != height {
            return Err(CommitError::WrongHeight {
                got: self.height,
                expected: height,
            });
        }
        if self.block_hash != *block_hash {
            return Err(CommitError::WrongBlock {
                got: self.block_hash,
                expected: *block_hash,
            });
        }
        let set_hash = set.hash();
        if self.validator_set_hash != set_hash {
            return Err(CommitError::WrongValidatorSet {
                got: self.validator_set_hash,
                expected: set_hash,
            });
        }
        let n = set.len();
        if self.signers.len() != n.div_ceil(8) {
            return Err(CommitError::BadBitmap);
        }
        let mut idx = Vec::new();
        for (byte_i, byte) in self.signers.iter().enumerate() {
            for bit in 0..8 {
                if byte & (1 << bit) != 0 {
                    let i = byte_i * 8 + bit;
                    if i >= n {
                        return Err(CommitError::BadBitmap);
                    }
                    idx.push(i);
                }
            }
        }
        if idx.len() != self.signatures.len() {
            return Err(CommitError::CountMismatch {
                signers: idx.len(),
                signatures: self.signatures.len(),
            });
        }
        if idx.len() < set.quorum() {
            return Err(CommitError::NoQuorum {
                signers: idx.len(),
                total: n,
            });
        }
        Ok(idx
            .into_iter()
            .zip(self.signatures.iter())
            .map(|(i, sig)| {
                let validator = set.validators()[i].consensus_key;
                let vote = Vote {
                    kind: VoteKind::Precommit,
                    chain_id: *chain_id,
                    height,
                    round: self.round,
                    block_hash: Some(*block_hash),
                    validator,
                };
                SigCheck::new(validator, vote.signing_hash(), *sig)
            })
            .collect())
    }

    /// Fully verifies the certificate for a block against the validator set
    /// of its height.
    pub fn verify(
        &self,
        chain_id: &Hash,
        set: &ValidatorSet,
        height: Height,
        block_hash: &Hash,
    ) -> Result<(), CommitError> {
        let checks = self.checks(chain_id, set, height, block_hash)?;
        if crate::crypto::verify_batch(&checks).is_ok() {
            return Ok(());
        }
        for c in &checks {
            if crate::crypto::verify_bytes(&c.key, &c.message, &c.signature).is_err() {
                return Err(CommitError::BadSignature { validator: c.key });
            }
        }
        Ok(())
    }
}
