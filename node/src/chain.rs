//! The chain as the node sees it: the store, the mempool, and the blocks
//! executed but not yet final.
//!
//! Everything here is synchronous and clock-free: the caller passes the
//! time. [`Chain::build_block`] makes a proposal from the mempool,
//! [`Chain::check_block`] re-executes a block from elsewhere, and
//! [`Chain::commit`] writes a decided block with its certificate in one
//! batch. A block is executed once: the proposer's (or the checker's)
//! result is cached by hash and written as is on commit.

mod ahead;
mod import;

pub use ahead::{Ahead, AheadJob};

use crate::mempool::{AddError, DropReason, Mempool};
use crate::storage::{BlockReader, StorageError, Store};
use std::collections::HashMap;
use std::sync::Arc;
use watt_runtime::block::{tx_root, Block, CommitCertificate, CommitError, Header, ValidatorSet};
use watt_runtime::crypto::{Hash, PublicKey};
use watt_runtime::encoding::{decode, BoundedVec};
use watt_runtime::events::event_root;
use watt_runtime::exec::{BlockContext, BlockExecutor, BlockOutcome, VerifiedTx};
use watt_runtime::genesis::Genesis;
use watt_runtime::state::{Account, ChainState, StateKey, StateReader};
use watt_runtime::tree;
use watt_runtime::tx::Transaction;
use watt_runtime::types::{AccountId, Height};
use watt_runtime::validity::InvalidBlock;
use watt_runtime::verify::verify_txs;
use watt_runtime::{BlockError, TxError};

/// Why the chain refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Executing a block failed.
    #[error("block is invalid: {0}")]
    Block(#[from] BlockError),
    /// A block is not valid (`watt_runtime::validity`).
    #[error("block {height} is invalid: {source}")]
    Invalid {
        /// The block's height.
        height: Height,
        /// Why.
        source: Box<InvalidBlock>,
    },
    /// A block built here holds more transactions than a block can carry
    /// (the chain's limit is above the encoding's: refused by governance).
    #[error("block {height}: {count} transactions are more than a block can carry")]
    TooManyTxs {
        /// The block's height.
        height: Height,
        /// How many.
        count: usize,
    },
    /// A transaction was refused at admission.
    #[error("transaction refused: {0}")]
    Tx(#[from] TxError),
    /// The mempool refused a transaction.
    #[error("transaction refused: {0}")]
    Pool(#[from] AddError),
    /// A decided block is not known here.
    #[error("block {0} is not known")]
    UnknownBlock(Hash),
    /// A commit certificate does not verify against its height's set.
    #[error("commit certificate for height {height} refused: {source}")]
    Certificate {
        /// The height it claims.
        height: Height,
        /// Why.
        source: CommitError,
    },
    /// The state tree failed.
    #[error("state tree: {0}")]
    Tree(String),
}

/// A block executed on top of the head, waiting for a decision.
#[derive(Clone, Debug)]
pub struct Executed {
    /// The block.
    pub block: Block,
    /// What executing it did.
    pub outcome: BlockOutcome,
    /// New state-tree nodes.
    pub tree_nodes: Vec<(Hash, tree::Node)>,
}

/// Which blocks a committed block's commit leaves: a summary for logs,
/// progress lines and subscribers.
#[derive(Clone, Debug)]
pub struct Committed {
    /// The header.
    pub header: Header,
    /// The block's hash.
    pub hash: Hash,
    /// Number of transactions.
    pub txs: usize,
    /// The ids of its transactions, in block order.
    pub tx_hashes: Vec<Hash>,
    /// Pending transactions dropped from the mempool since the last block,
    /// with why: made stale by this block (nonce used, device key changed),
    /// evicted from a full pool, or failing a rule when a block was built.
    pub dropped: Vec<(Hash, DropReason)>,
    /// The events.
    pub events: Vec<watt_runtime::events::EventRecord>,
}

/// An account's next nonce in a state (0 for an unknown account).
fn nonce_in(state: &impl StateReader, account: &AccountId) -> u64 {
    let bytes = state
        .get(&StateKey::Account(*account).encode())
        .ok()
        .flatten();
    bytes
        .and_then(|b| decode::<Account>(&b).ok())
        .map_or(0, |a| a.nonce)
}

/// The validator set a block's changes set, if they change it.
fn changed_validators(outcome: &BlockOutcome) -> Result<Option<ValidatorSet>, ChainError> {
    match outcome.diff.0.get(&StateKey::Chain.encode()) {
        Some(Some(bytes)) => decode::<ChainState>(bytes)
            .map(|c| Some(c.validators))
            .map_err(|e| StorageError::Corrupt(e.to_string()).into()),
        _ => Ok(None),
    }
}

/// A block's body executed, with everything its header needs but the
/// parent's hash and certificate.
struct Sealable {
    ctx: BlockContext,
    /// The set of the block's height.
    validators: ValidatorSet,
    txs: Vec<Transaction>,
    outcome: BlockOutcome,
    state_root: Hash,
    tree_nodes: Vec<(Hash, tree::Node)>,
    next_validators: ValidatorSet,
}

/// A block's transactions chosen and executed.
struct Filled {
    txs: Vec<Transaction>,
    outcome: BlockOutcome,
    /// Candidates that failed in the block, with why.
    failed: Vec<(Hash, DropReason)>,
    /// Whether a candidate was left out for want of room.
    full: bool,
}

/// Executes `candidates` in order on `state` until the block is full: one
/// that fails is left out (with its sender's later ones, which cannot
/// apply in this block).
fn fill<'v, R: StateReader + ?Sized>(
    state: &R,
    ctx: BlockContext,
    candidates: impl IntoIterator<Item = &'v VerifiedTx>,
) -> Result<Filled, ChainError> {
    let height = ctx.height;
    let mut exec = BlockExecutor::begin(state, ctx)?;
    let mut txs: Vec<Transaction> = Vec::new();
    let mut failed: Vec<(Hash, DropReason)> = Vec::new();
    let mut failed_senders: std::collections::HashSet<AccountId> = Default::default();
    let mut full = false;
    for vtx in candidates {
        if !exec.fits(vtx.size) {
            full = true;
            break;
        }
        if failed_senders.contains(&vtx.tx.signer()) {
            continue;
        }
        match exec.try_apply(vtx) {
            Ok(()) => txs.push(vtx.tx.clone()),
            Err(e) => {
                tracing::debug!(tx = %vtx.hash, error = %e, "dropping transaction that fails in the block");
                failed.push((vtx.hash, DropReason::InvalidInBlock { height, error: e }));
                failed_senders.insert(vtx.tx.signer());
            }
        }
    }
    Ok(Filled {
        txs,
        outcome: exec.finish()?,
        failed,
        full,
    })
}

/// Most blocks kept executed, waiting for a decision: a byzantine proposer
/// signing many variants of its block costs at most this many executions'
/// memory (the oldest is forgotten first; a decided block this node no
/// longer holds is fetched by sync).
pub const MAX_EXECUTED: usize = 8;

/// The node's chain.
pub struct Chain {
    store: Arc<Store>,
    genesis: Genesis,
    chain_id: Hash,
    mempool: Mempool,
    executed: HashMap<Hash, Executed>,
    /// `executed`'s keys, oldest first.
    executed_order: std::collections::VecDeque<Hash>,
    /// Blocks this node built (never forgotten before the height ends).
    own: std::collections::HashSet<Hash>,
    /// The certificate of the head, until the next block carries it.
    head_commit: Option<CommitCertificate>,
    /// Threads for signature verification.
    threads: usize,
    /// Transactions dropped from the mempool since the last commit, with
    /// why; reported with the next committed block.
    dropped: Vec<(Hash, DropReason)>,
    /// The next block, built and executed on top of a block not yet final
    /// (see [`Chain::ahead_job`]).
    ahead: Option<Ahead>,
}

fn invalid(height: Height) -> impl Fn(InvalidBlock) -> ChainError {
    move |source| ChainError::Invalid {
        height,
        source: Box::new(source),
    }
}

impl Chain {
    /// The chain over an opened store.
    pub fn new(store: Store, mempool: Mempool) -> Result<Self, ChainError> {
        let genesis = store.genesis()?.ok_or(StorageError::Uninitialised)?;
        let head = store.head()?;
        let head_commit = if head.0 > 0 {
            store.commit(head)?
        } else {
            None
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Chain {
            chain_id: genesis.chain_id(),
            genesis,
            store: Arc::new(store),
            mempool,
            executed: HashMap::new(),
            executed_order: Default::default(),
            own: Default::default(),
            head_commit,
            threads,
            dropped: Vec::new(),
            ahead: None,
        })
    }

    /// The chain id.
    pub fn chain_id(&self) -> Hash {
        self.chain_id
    }

    /// The genesis document.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, shared: RPC reads go to it directly, without queueing
    /// behind block production (each block is one atomic write).
    pub fn shared_store(&self) -> Arc<Store> {
        self.store.clone()
    }

    /// The mempool.
    pub fn mempool(&self) -> &Mempool {
        &self.mempool
    }

    /// The head height.
    pub fn head(&self) -> Result<Height, ChainError> {
        Ok(self.store.head()?)
    }

    /// The head's hash (the chain id before the first block) and time.
    pub fn head_hash_and_time(&self) -> Result<(Hash, u64), ChainError> {
        let head = self.head()?;
        if head.0 == 0 {
            return Ok((self.chain_id, self.genesis.genesis_time_ms));
        }
        let header = self
            .store
            .header(head)?
            .ok_or_else(|| StorageError::Corrupt(format!("no header at head {head}")))?;
        Ok((header.hash(), header.timestamp_ms))
    }

    /// The chain singleton of the current state.
    pub fn chain_state(&self) -> Result<ChainState, ChainError> {
        let bytes = self
            .store
            .get(&StateKey::Chain.encode())
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let bytes = bytes.ok_or_else(|| StorageError::Corrupt("no chain record".into()))?;
        decode(&bytes).map_err(|e| ChainError::Storage(StorageError::Corrupt(e.to_string())))
    }

    /// The validator set of the next height.
    pub fn next_validators(&self) -> Result<ValidatorSet, ChainError> {
        Ok(self.chain_state()?.validators)
    }

    /// A typed value of the current state.
    pub fn state<T: borsh::BorshDeserialize>(&self, key: &StateKey) -> Option<T> {
        let bytes = self.store.get(&key.encode()).ok().flatten()?;
        decode(&bytes).ok()
    }

    /// An account's next nonce in the current state.
    pub fn nonce(&self, account: &AccountId) -> u64 {
        nonce_in(self.store(), account)
    }

    /// Verifies transactions (in one batch) and adds them to the mempool;
    /// one result per transaction.
    pub fn submit(&mut self, txs: Vec<Transaction>) -> Vec<Result<Hash, ChainError>> {
        let verified = verify_txs(self.store(), &self.chain_id, txs, self.threads);
        self.add_verified(verified)
    }

    /// Adds transactions whose signatures were checked already (off the
    /// node's task, against the state of the moment) to the mempool; one
    /// result per transaction. A device key that changed since is caught
    /// when the block applies them.
    pub fn add_verified(
        &mut self,
        verified: Vec<Result<VerifiedTx, TxError>>,
    ) -> Vec<Result<Hash, ChainError>> {
        verified
            .into_iter()
            .map(|v| {
                let vtx = v?;
                let hash = vtx.hash;
                let nonce = self.nonce(&vtx.tx.signer());
                for evicted in self.mempool.add(vtx, nonce)? {
                    self.dropped.push((evicted, DropReason::Evicted));
                }
                Ok(hash)
            })
            .collect()
    }

    /// Builds, executes and caches a block for `height` at `timestamp_ms`,
    /// proposed by `proposer`, from the mempool's ready transactions; or
    /// seals the block built ahead for it, if that one still holds (see
    /// `chain/ahead.rs`).
    pub fn build_block(
        &mut self,
        height: Height,
        timestamp_ms: u64,
        proposer: PublicKey,
    ) -> Result<Hash, ChainError> {
        let (parent_hash, parent_time) = self.head_hash_and_time()?;
        if let Some(ahead) = self.take_ahead(height, parent_hash, timestamp_ms, proposer) {
            let parts = ahead.into_parts(&mut self.mempool, &mut self.dropped);
            return self.seal_own(parent_hash, parts);
        }
        let timestamp_ms = timestamp_ms.max(parent_time + 1);
        let validators = self.next_validators()?;
        let ctx = BlockContext {
            chain_id: self.chain_id,
            height,
            timestamp_ms,
            proposer,
        };
        let store: &Store = &self.store;
        let nonce_of = |a: &AccountId| nonce_in(store, a);
        let filled = fill(&*self.store, ctx.clone(), self.mempool.ready(nonce_of))?;
        for (h, why) in filled.failed {
            self.mempool.remove(&h);
            self.dropped.push((h, why));
        }
        let (state_root, tree_nodes) = self.state_root_after(&filled.outcome)?;
        let next_validators = self.validators_after(&filled.outcome)?;
        self.seal_own(
            parent_hash,
            Sealable {
                ctx,
                validators,
                txs: filled.txs,
                outcome: filled.outcome,
                state_root,
                tree_nodes,
                next_validators,
            },
        )
    }

    /// Seals a block this node built on the head and keeps it.
    fn seal_own(&mut self, parent_hash: Hash, parts: Sealable) -> Result<Hash, ChainError> {
        let parent_commit = self.head_commit.clone();
        let executed = self.seal(parent_hash, parent_commit, parts)?;
        let hash = executed.block.hash();
        self.own.insert(hash);
        self.keep_executed(hash, executed);
        Ok(hash)
    }

    /// Caches an executed block, forgetting the oldest one that is not
    /// this node's own beyond [`MAX_EXECUTED`].
    fn keep_executed(&mut self, hash: Hash, executed: Executed) {
        if self.executed.insert(hash, executed).is_none() {
            self.executed_order.push_back(hash);
        }
        while self.executed.len() > MAX_EXECUTED {
            let Some(i) = self
                .executed_order
                .iter()
                .position(|h| !self.own.contains(h))
            else {
                break;
            };
            if let Some(old) = self.executed_order.remove(i) {
                tracing::debug!(block = %old, "forgetting an executed block: too many candidates");
                self.executed.remove(&old);
            }
        }
    }

    /// The header and the block of an executed body.
    fn seal(
        &self,
        parent_hash: Hash,
        parent_commit: Option<CommitCertificate>,
        parts: Sealable,
    ) -> Result<Executed, ChainError> {
        let Sealable {
            ctx,
            validators,
            txs,
            outcome,
            state_root,
            tree_nodes,
            next_validators,
        } = parts;
        let height = ctx.height;
        let header = Header {
            chain_id: self.chain_id,
            height,
            parent_hash,
            timestamp_ms: ctx.timestamp_ms,
            proposer: ctx.proposer,
            tx_root: tx_root(&txs),
            state_root,
            event_root: event_root(&outcome.events),
            validator_set_hash: validators.hash(),
            next_validator_set_hash: next_validators.hash(),
            parent_commit_hash: parent_commit.as_ref().map_or(Hash::ZERO, |c| c.hash()),
        };
        let n = txs.len();
        let block = Block {
            header,
            txs: BoundedVec::new(txs).map_err(|_| ChainError::TooManyTxs { height, count: n })?,
            parent_commit,
        };
        Ok(Executed {
            block,
            outcome,
            tree_nodes,
        })
    }

    fn state_root_after(
        &self,
        outcome: &BlockOutcome,
    ) -> Result<(Hash, Vec<(Hash, tree::Node)>), ChainError> {
        let root = self.store.state_root()?;
        let update = tree::update(
            &self.store.tree_reader(),
            root,
            &outcome.diff.tree_changes(),
        )
        .map_err(|e| ChainError::Tree(e.to_string()))?;
        Ok((update.root, update.new_nodes))
    }

    fn validators_after(&self, outcome: &BlockOutcome) -> Result<ValidatorSet, ChainError> {
        match changed_validators(outcome)? {
            Some(set) => Ok(set),
            None => self.next_validators(),
        }
    }

    /// Takes an executed block out of the cache (for tests that write
    /// blocks behind the chain's back).
    #[cfg(feature = "test-utils")]
    pub fn take_executed(&mut self, hash: &Hash) -> Option<Executed> {
        self.executed.remove(hash)
    }

    /// The block built for `hash`, if this node executed it.
    pub fn executed_block(&self, hash: &Hash) -> Option<&Block> {
        self.executed.get(hash).map(|e| &e.block)
    }

    /// Whether a block is known and executed (own proposal or checked).
    pub fn is_executed(&self, hash: &Hash) -> bool {
        self.executed.contains_key(hash)
    }
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
