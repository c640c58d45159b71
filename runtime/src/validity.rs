//! What makes a block valid: the one rule a validator (proposals and sync),
//! `watt chain verify` and `watt audit` all apply, so that they cannot
//! disagree about a block.
//!
//! A block is judged in two halves around its execution:
//!
//! 1. [`check_before_execution`]: the header against its parent and the
//!    validator set of its height: height, chain id, parent hash, time
//!    (strictly after the parent; within the allowed skew of the clock when
//!    the caller has one: an auditor replaying history has none), the set's
//!    hash, the proposer, and the parent's commit certificate (carried from
//!    height 2 on, hashed in the header, verified against the parent
//!    height's set).
//! 2. Then the caller verifies the transactions' signatures (each caller
//!    batches them its own way) and executes the block with
//!    [`crate::exec::apply_block`].
//! 3. [`check_after_execution`]: every root the header commits to against
//!    what execution gave: the transaction root, the event root, the state
//!    root and the next validator set's hash.
//!
//! Every failure is an [`InvalidBlock`] naming the field with what the
//! block says and what it should say (docs/protocol.md §12.2).

use crate::block::{tx_root, Block, CommitError, Header, ValidatorSet};
use crate::crypto::{Hash, PublicKey};
use crate::error::{BlockError, TxError};
use crate::events::{event_root, EventRecord};
use crate::types::Height;

/// Why a block is not valid. `got` is what the block says, `expected` what
/// it should say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBlock {
    /// Not the next height.
    #[error("height is {got}, expected {expected}")]
    Height {
        /// The block's height.
        got: Height,
        /// The next height.
        expected: Height,
    },
    /// Another chain's block.
    #[error("chain id is {got}, expected {expected}")]
    ChainId {
        /// The header's chain id.
        got: Hash,
        /// This chain's.
        expected: Hash,
    },
    /// It does not link to its parent.
    #[error("parent hash is {got}, expected {expected}")]
    ParentHash {
        /// The header's parent hash.
        got: Hash,
        /// The parent's hash (the chain id before block 1).
        expected: Hash,
    },
    /// Its time is not after its parent's.
    #[error("timestamp {got} ms is not after its parent's {parent} ms")]
    TimeNotAfterParent {
        /// The header's time.
        got: u64,
        /// The parent's time (the genesis time before block 1).
        parent: u64,
    },
    /// Its time is outside the allowed skew of the checker's clock.
    #[error("timestamp {got} ms is not within {skew_ms} ms of the clock's {now} ms")]
    TimeOffClock {
        /// The header's time.
        got: u64,
        /// The clock.
        now: u64,
        /// The chain's allowed skew.
        skew_ms: u64,
    },
    /// It names another validator set than its height's.
    #[error("validator set hash is {got}, expected {expected}")]
    ValidatorSetHash {
        /// The header's.
        got: Hash,
        /// The height's set's.
        expected: Hash,
    },
    /// Its proposer is not in its height's set.
    #[error("proposer {proposer} is not a validator of the height")]
    Proposer {
        /// The header's proposer.
        proposer: PublicKey,
    },
    /// The header's parent commit hash is not the hash of the certificate
    /// the block carries.
    #[error(
        "parent commit hash is {got}, expected {expected} (the certificate the block carries)"
    )]
    ParentCommitHash {
        /// The header's.
        got: Hash,
        /// The carried certificate's (zero if none).
        expected: Hash,
    },
    /// Block 1 carries a parent certificate.
    #[error("block 1 carries a parent certificate, but has no parent")]
    ParentCommitAtFirstBlock,
    /// A block above 1 carries no parent certificate.
    #[error("the parent's commit certificate is missing")]
    ParentCommitMissing,
    /// The carried parent certificate does not verify.
    #[error("parent commit certificate: {0}")]
    ParentCommit(CommitError),
    /// A transaction's signatures do not verify.
    #[error("transaction {index} ({tx}): {error}")]
    Transaction {
        /// Its index in the block.
        index: usize,
        /// Its id.
        tx: Hash,
        /// Why.
        error: TxError,
    },
    /// Executing it failed (a transaction broke a rule).
    #[error("execution: {0}")]
    Execution(BlockError),
    /// The header's transaction root is not its transactions'.
    #[error("tx root is {got}, expected {expected}")]
    TxRoot {
        /// The header's.
        got: Hash,
        /// The transactions'.
        expected: Hash,
    },
    /// The header's event root is not the root of execution's events.
    #[error("event root is {got}, expected {expected}")]
    EventRoot {
        /// The header's.
        got: Hash,
        /// Execution's.
        expected: Hash,
    },
    /// The header's state root is not the state's after execution.
    #[error("state root is {got}, expected {expected}")]
    StateRoot {
        /// The header's.
        got: Hash,
        /// Execution's.
        expected: Hash,
    },
    /// The header's next validator set hash is not the set after execution.
    #[error("next validator set hash is {got}, expected {expected}")]
    NextValidatorSetHash {
        /// The header's.
        got: Hash,
        /// Execution's.
        expected: Hash,
    },
}

impl InvalidBlock {
    /// The header field or object at fault, in words, for reports.
    pub fn object(&self) -> String {
        match self {
            InvalidBlock::Height { .. } => "block height".into(),
            InvalidBlock::ChainId { .. } => "header chain id".into(),
            InvalidBlock::ParentHash { .. } => "header parent hash".into(),
            InvalidBlock::TimeNotAfterParent { .. } | InvalidBlock::TimeOffClock { .. } => {
                "header timestamp".into()
            }
            InvalidBlock::ValidatorSetHash { .. } => "header validator set hash".into(),
            InvalidBlock::Proposer { .. } => "header proposer".into(),
            InvalidBlock::ParentCommitHash { .. } => "header parent commit hash".into(),
            InvalidBlock::ParentCommitAtFirstBlock
            | InvalidBlock::ParentCommitMissing
            | InvalidBlock::ParentCommit(_) => "parent commit certificate".into(),
            InvalidBlock::Transaction { index, tx, .. } => format!("transaction {index} ({tx})"),
            InvalidBlock::Execution(_) => "block execution".into(),
            InvalidBlock::TxRoot { .. } => "header tx root".into(),
            InvalidBlock::EventRoot { .. } => "header event root".into(),
            InvalidBlock::StateRoot { .. } => "header state root".into(),
            InvalidBlock::NextValidatorSetHash { .. } => "header next validator set hash".into(),
        }
    }
}

/// The parent a block must link to.
#[derive(Clone, Copy, Debug)]
pub struct Parent<'a> {
    /// Its height (0: the genesis).
    pub height: Height,
    /// Its hash (the chain id at the genesis).
    pub hash: Hash,
    /// Its time, ms (the genesis time at the genesis).
    pub time_ms: u64,
    /// The validator set that finalised it (none at the genesis).
    pub validators: Option<&'a ValidatorSet>,
}

/// A live clock, for the one check that needs one.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// Now, ms.
    pub now_ms: u64,
    /// The chain's allowed skew, ms.
    pub skew_ms: u64,
}

/// The first half: the header against its parent and its height's set,
/// before anything is executed.
pub fn check_before_execution(
    block: &Block,
    chain_id: &Hash,
    parent: &Parent<'_>,
    validators: &ValidatorSet,
    clock: Option<Clock>,
) -> Result<(), InvalidBlock> {
    let hd = &block.header;
    let expected = parent.height.next();
    if hd.height != expected {
        return Err(InvalidBlock::Height {
            got: hd.height,
            expected,
        });
    }
    if hd.chain_id != *chain_id {
        return Err(InvalidBlock::ChainId {
            got: hd.chain_id,
            expected: *chain_id,
        });
    }
    if hd.parent_hash != parent.hash {
        return Err(InvalidBlock::ParentHash {
            got: hd.parent_hash,
            expected: parent.hash,
        });
    }
    if hd.timestamp_ms <= parent.time_ms {
        return Err(InvalidBlock::TimeNotAfterParent {
            got: hd.timestamp_ms,
            parent: parent.time_ms,
        });
    }
    if let Some(c) = clock {
        if hd.timestamp_ms > c.now_ms.saturating_add(c.skew_ms)
            || hd.timestamp_ms.saturating_add(c.skew_ms) < c.now_ms
        {
            return Err(InvalidBlock::TimeOffClock {
                got: hd.timestamp_ms,
                now: c.now_ms,
                skew_ms: c.skew_ms,
            });
        }
    }
    if hd.validator_set_hash != validators.hash() {
        return Err(InvalidBlock::ValidatorSetHash {
            got: hd.validator_set_hash,
            expected: validators.hash(),
        });
    }
    if validators.index_of(&hd.proposer).is_none() {
        return Err(InvalidBlock::Proposer {
            proposer: hd.proposer,
        });
    }
    let carried = block
        .parent_commit
        .as_ref()
        .map_or(Hash::ZERO, |c| c.hash());
    if hd.parent_commit_hash != carried {
        return Err(InvalidBlock::ParentCommitHash {
            got: hd.parent_commit_hash,
            expected: carried,
        });
    }
    match (&block.parent_commit, parent.validators) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(InvalidBlock::ParentCommitAtFirstBlock),
        (None, Some(_)) => Err(InvalidBlock::ParentCommitMissing),
        (Some(c), Some(set)) => c
            .verify(chain_id, set, parent.height, &parent.hash)
            .map_err(InvalidBlock::ParentCommit),
    }
}

/// What executing a block gave, to compare with its header.
#[derive(Clone, Copy, Debug)]
pub struct Executed<'a> {
    /// The events, in order.
    pub events: &'a [EventRecord],
    /// The state root after the block.
    pub state_root: Hash,
    /// The validator set of the next height, after the block.
    pub next_validators: &'a ValidatorSet,
}

/// The second half: every root the header commits to, against what
/// execution gave.
pub fn check_after_execution(block: &Block, executed: &Executed<'_>) -> Result<(), InvalidBlock> {
    let hd: &Header = &block.header;
    let root = tx_root(&block.txs);
    if hd.tx_root != root {
        return Err(InvalidBlock::TxRoot {
            got: hd.tx_root,
            expected: root,
        });
    }
    let root = event_root(executed.events);
    if hd.event_root != root {
        return Err(InvalidBlock::EventRoot {
            got: hd.event_root,
            expected: root,
        });
    }
    if hd.state_root != executed.state_root {
        return Err(InvalidBlock::StateRoot {
            got: hd.state_root,
            expected: executed.state_root,
        });
    }
    let next = executed.next_validators.hash();
    if hd.next_validator_set_hash != next {
        return Err(InvalidBlock::NextValidatorSetHash {
            got: hd.next_validator_set_hash,
            expected: next,
        });
    }
    Ok(())
}
