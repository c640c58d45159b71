//! The chain as the node sees it: the store, the mempool, and the blocks
//! executed but not yet final.
//!
//! Everything here is synchronous and clock-free: the caller passes the
//! time. [`Chain::build_block`] makes a proposal from the mempool,
//! [`Chain::check_block`] re-executes a block from elsewhere, and
//! [`Chain::commit`] writes a decided block with its certificate in one
//! batch. A block is executed once: the proposer's (or the checker's)
//! result is cached by hash and written as is on commit.

mod import;

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
    /// proposed by `proposer`, from the mempool's ready transactions.
    pub fn build_block(
        &mut self,
        height: Height,
        timestamp_ms: u64,
        proposer: PublicKey,
    ) -> Result<Hash, ChainError> {
        let (parent_hash, parent_time) = self.head_hash_and_time()?;
        let timestamp_ms = timestamp_ms.max(parent_time + 1);
        let validators = self.next_validators()?;
        let ctx = BlockContext {
            chain_id: self.chain_id,
            height,
            timestamp_ms,
            proposer,
        };
        let mut exec = BlockExecutor::begin(&*self.store, ctx)?;
        let mut included: Vec<VerifiedTx> = Vec::new();
        let mut failed: Vec<(Hash, DropReason)> = Vec::new();
        let mut failed_senders: std::collections::HashSet<AccountId> = Default::default();
        let store: &Store = &self.store;
        let nonce_of = |a: &AccountId| nonce_in(store, a);
        for vtx in self.mempool.ready(nonce_of) {
            if !exec.fits(vtx.size) {
                break;
            }
            // Later nonces of a sender whose transaction failed cannot apply
            // in this block; they stay in the pool.
            if failed_senders.contains(&vtx.tx.signer()) {
                continue;
            }
            match exec.try_apply(vtx) {
                Ok(()) => included.push(vtx.clone()),
                Err(e) => {
                    tracing::debug!(tx = %vtx.hash, error = %e, "dropping transaction that fails in the block");
                    failed.push((vtx.hash, DropReason::InvalidInBlock { height, error: e }));
                    failed_senders.insert(vtx.tx.signer());
                }
            }
        }
        for (h, why) in failed {
            self.mempool.remove(&h);
            self.dropped.push((h, why));
        }
        let outcome = exec.finish()?;
        let txs: Vec<Transaction> = included.into_iter().map(|v| v.tx).collect();
        let parent_commit = self.head_commit.clone();
        let executed = self.seal(
            height,
            parent_hash,
            timestamp_ms,
            proposer,
            &validators,
            (txs, parent_commit),
            outcome,
        )?;
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

    /// Computes the roots and the header of an executed block.
    #[allow(clippy::too_many_arguments)]
    fn seal(
        &self,
        height: Height,
        parent_hash: Hash,
        timestamp_ms: u64,
        proposer: PublicKey,
        validators: &ValidatorSet,
        (txs, parent_commit): (Vec<Transaction>, Option<CommitCertificate>),
        outcome: BlockOutcome,
    ) -> Result<Executed, ChainError> {
        let (state_root, tree_nodes) = self.state_root_after(&outcome)?;
        let next_validators = self.validators_after(&outcome)?;
        let header = Header {
            chain_id: self.chain_id,
            height,
            parent_hash,
            timestamp_ms,
            proposer,
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
        match outcome.diff.0.get(&StateKey::Chain.encode()) {
            Some(Some(bytes)) => decode::<ChainState>(bytes)
                .map(|c| c.validators)
                .map_err(|e| StorageError::Corrupt(e.to_string()).into()),
            _ => self.next_validators(),
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
