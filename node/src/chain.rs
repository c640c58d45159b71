//! The chain as the node sees it: the store, the mempool, and the blocks
//! executed but not yet final.
//!
//! Everything here is synchronous and clock-free: the caller passes the
//! time. [`Chain::build_block`] makes a proposal from the mempool,
//! [`Chain::check_block`] re-executes a block from elsewhere, and
//! [`Chain::commit`] writes a decided block with its certificate in one
//! batch. A block is executed once: the proposer's (or the checker's)
//! result is cached by hash and written as is on commit.

use crate::mempool::{AddError, Mempool};
use crate::storage::{BlockReader, CommittedBlock, StorageError, Store};
use std::collections::HashMap;
use std::sync::Arc;
use watt_runtime::block::{tx_root, Block, CommitCertificate, CommitError, Header, ValidatorSet};
use watt_runtime::crypto::{Hash, PublicKey};
use watt_runtime::encoding::{decode, BoundedVec};
use watt_runtime::events::event_root;
use watt_runtime::exec::{apply_block, BlockContext, BlockExecutor, BlockOutcome, VerifiedTx};
use watt_runtime::genesis::Genesis;
use watt_runtime::state::{Account, ChainState, StateKey, StateReader};
use watt_runtime::tree;
use watt_runtime::tx::Transaction;
use watt_runtime::types::{AccountId, Height};
use watt_runtime::verify::{signature_checks, verify_txs};
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
    /// A header field does not match what executing the block gives.
    #[error("block {height}: {field} is {got}, expected {expected}")]
    Mismatch {
        /// The block's height.
        height: Height,
        /// The header field.
        field: &'static str,
        /// What the header says.
        got: String,
        /// What it should say.
        expected: String,
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
    pub dropped: Vec<(Hash, String)>,
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
    dropped: Vec<(Hash, String)>,
}

fn mismatch(
    height: Height,
    field: &'static str,
    got: impl ToString,
    expected: impl ToString,
) -> ChainError {
    ChainError::Mismatch {
        height,
        field,
        got: got.to_string(),
        expected: expected.to_string(),
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
                    self.dropped
                        .push((evicted, "evicted from the full mempool".into()));
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
        let mut failed: Vec<(Hash, String)> = Vec::new();
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
                    failed.push((vtx.hash, format!("invalid in block {height}: {e}")));
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
            txs: BoundedVec::new(txs).map_err(|_| mismatch(height, "transactions", n, "fewer"))?,
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

    /// The block built for `hash`, if this node executed it.
    pub fn executed_block(&self, hash: &Hash) -> Option<&Block> {
        self.executed.get(hash).map(|e| &e.block)
    }

    /// After a restart: re-executes the block this validator proposed before
    /// it stopped, if it is for the next height, so that consensus can
    /// decide it again. Its time was checked when it was built.
    pub fn restore_own_proposal(&mut self) -> Result<Option<Hash>, ChainError> {
        let Some(block) = self.store.own_proposal()? else {
            return Ok(None);
        };
        if block.header.height != self.head()?.next() {
            tracing::debug!(
                height = block.header.height.0,
                "own proposal is not for the next height"
            );
            return Ok(None);
        }
        let at = block.header.timestamp_ms;
        self.check_block(block, at).map(Some)
    }

    /// Whether a block is known and executed (own proposal or checked).
    pub fn is_executed(&self, hash: &Hash) -> bool {
        self.executed.contains_key(hash)
    }

    /// Checks a block proposed elsewhere against the head: linkage, time,
    /// validator sets, the parent's certificate, every signature (batched),
    /// execution, and every root. Caches it on success.
    pub fn check_block(&mut self, block: Block, now_ms: u64) -> Result<Hash, ChainError> {
        self.check_block_at(block, Some(now_ms))
    }

    /// Imports a block decided elsewhere (sync): its commit certificate
    /// must verify against the validator set of its height; then it is
    /// checked like a proposal, except against the clock (an old block is
    /// old), and committed.
    pub fn import_decided(
        &mut self,
        block: Block,
        certificate: CommitCertificate,
    ) -> Result<Committed, ChainError> {
        let h = block.header.height;
        let head = self.head()?;
        if h != head.next() {
            return Err(mismatch(h, "height", h, head.next()));
        }
        self.verify_certificate(h, &block.hash(), &certificate)?;
        let checked = self.check_block_at(block, None)?;
        self.commit_verified(&checked, certificate)
    }

    /// Verifies a certificate for the next height's block `hash` against
    /// that height's validator set, every signature included.
    pub fn verify_certificate(
        &self,
        height: Height,
        hash: &Hash,
        certificate: &CommitCertificate,
    ) -> Result<(), ChainError> {
        let validators = self.next_validators()?;
        certificate
            .verify(&self.chain_id, &validators, height, hash)
            .map_err(|source| ChainError::Certificate { height, source })
    }

    /// `check_block`, with the clock check only when `now_ms` is given.
    fn check_block_at(&mut self, block: Block, now_ms: Option<u64>) -> Result<Hash, ChainError> {
        let h = block.header.height;
        let head = self.head()?;
        if h != head.next() {
            return Err(mismatch(h, "height", h, head.next()));
        }
        let (parent_hash, parent_time) = self.head_hash_and_time()?;
        let hd = &block.header;
        if hd.chain_id != self.chain_id {
            return Err(mismatch(h, "chain id", hd.chain_id, self.chain_id));
        }
        if hd.parent_hash != parent_hash {
            return Err(mismatch(h, "parent hash", hd.parent_hash, parent_hash));
        }
        let skew_ms = self
            .chain_state()?
            .params
            .max_clock_skew_s
            .saturating_mul(1000);
        let off_clock = now_ms.is_some_and(|now| {
            hd.timestamp_ms > now.saturating_add(skew_ms) || hd.timestamp_ms + skew_ms < now
        });
        if hd.timestamp_ms <= parent_time || off_clock {
            return Err(mismatch(
                h,
                "timestamp",
                hd.timestamp_ms,
                format!(
                    "after {parent_time}{}",
                    now_ms
                        .map(|now| format!(" and within {skew_ms} ms of {now}"))
                        .unwrap_or_default()
                ),
            ));
        }
        let validators = self.next_validators()?;
        if validators.index_of(&hd.proposer).is_none() {
            return Err(mismatch(
                h,
                "proposer",
                hd.proposer,
                "a validator of the height",
            ));
        }
        self.check_parent_commit(&block)?;
        let txs: Vec<Transaction> = block.txs.to_vec();
        // Signatures are checked once: transactions this node holds in its
        // mempool were verified on arrival (a device key changed since is
        // caught when the block applies them); the rest in one batch.
        let mut known: Vec<Option<VerifiedTx>> = Vec::with_capacity(txs.len());
        let mut unknown = Vec::new();
        for tx in &txs {
            let held = self.mempool.get(&tx.hash()).cloned();
            if held.is_none() {
                unknown.push(tx.clone());
            }
            known.push(held);
        }
        let mut fresh = verify_txs(self.store(), &self.chain_id, unknown, self.threads).into_iter();
        let mut verified = Vec::with_capacity(txs.len());
        for (i, held) in known.into_iter().enumerate() {
            let v = match held {
                Some(v) => Ok(v),
                // verify_txs answers once per transaction, in order.
                None => fresh.next().unwrap_or(Err(TxError::BadSignature {
                    signer: txs[i].signer(),
                })),
            };
            verified.push(v.map_err(|e| {
                ChainError::Block(BlockError::TxFailed {
                    index: i,
                    tx: txs[i].hash(),
                    error: e,
                })
            })?);
        }
        let ctx = BlockContext {
            chain_id: self.chain_id,
            height: h,
            timestamp_ms: hd.timestamp_ms,
            proposer: hd.proposer,
        };
        let outcome = apply_block(self.store(), ctx, &verified)?;
        // The block carries its proposer's certificate of the parent (checked
        // above); the header must commit to that one, not to ours.
        let expected = self.seal(
            h,
            parent_hash,
            hd.timestamp_ms,
            hd.proposer,
            &validators,
            (txs, block.parent_commit.clone()),
            outcome,
        )?;
        let e = &expected.block.header;
        for (field, got, want) in [
            ("tx root", hd.tx_root, e.tx_root),
            ("state root", hd.state_root, e.state_root),
            ("event root", hd.event_root, e.event_root),
            (
                "validator set hash",
                hd.validator_set_hash,
                e.validator_set_hash,
            ),
            (
                "next validator set hash",
                hd.next_validator_set_hash,
                e.next_validator_set_hash,
            ),
            (
                "parent commit hash",
                hd.parent_commit_hash,
                e.parent_commit_hash,
            ),
        ] {
            if got != want {
                return Err(mismatch(h, field, got, want));
            }
        }
        let hash = block.hash();
        self.keep_executed(hash, Executed { block, ..expected });
        Ok(hash)
    }

    fn check_parent_commit(&self, block: &Block) -> Result<(), ChainError> {
        let h = block.header.height;
        match (&block.parent_commit, h.0) {
            (None, 1) => Ok(()),
            (Some(_), 1) => Err(mismatch(
                h,
                "parent commit",
                "present",
                "absent at height 1",
            )),
            (None, _) => Err(mismatch(
                h,
                "parent commit",
                "absent",
                "the parent's certificate",
            )),
            (Some(c), _) => {
                let parent = Height(h.0 - 1);
                let header = self
                    .store
                    .header(parent)?
                    .ok_or_else(|| StorageError::Corrupt(format!("no header at {parent}")))?;
                let set = self.validators_of(parent)?;
                c.verify(&self.chain_id, &set, parent, &header.hash())
                    .map_err(|e| mismatch(h, "parent commit", e, "a valid certificate"))
            }
        }
    }

    /// The validator set that finalised (or finalises) `height`, read from
    /// the state after `height - 1`.
    pub fn validators_of(&self, height: Height) -> Result<ValidatorSet, ChainError> {
        let bytes = self.store.state_at(
            &StateKey::Chain.encode(),
            Height(height.0.saturating_sub(1)),
        )?;
        let bytes = bytes.ok_or_else(|| StorageError::Corrupt("no chain record".into()))?;
        decode::<ChainState>(&bytes)
            .map(|c| c.validators)
            .map_err(|e| StorageError::Corrupt(e.to_string()).into())
    }

    /// Writes a decided block with its certificate, updates the mempool,
    /// and forgets the other candidates of that height. The certificate is
    /// verified in full against the block's height's set first: whatever
    /// decided, nothing is written without one.
    pub fn commit(
        &mut self,
        hash: &Hash,
        certificate: CommitCertificate,
    ) -> Result<Committed, ChainError> {
        let height = self.head()?.next();
        self.verify_certificate(height, hash, &certificate)?;
        self.commit_verified(hash, certificate)
    }

    fn commit_verified(
        &mut self,
        hash: &Hash,
        certificate: CommitCertificate,
    ) -> Result<Committed, ChainError> {
        let executed = self
            .executed
            .remove(hash)
            .ok_or(ChainError::UnknownBlock(*hash))?;
        let committed = CommittedBlock {
            block: executed.block,
            commit: certificate.clone(),
            outcome: executed.outcome,
            tree_nodes: executed.tree_nodes,
        };
        self.store.commit_block(&committed)?;
        self.executed.clear();
        self.executed_order.clear();
        self.own.clear();
        self.head_commit = Some(certificate);
        let store: &Store = &self.store;
        let nonce_of = |a: &AccountId| nonce_in(store, a);
        let chain_id = self.chain_id;
        // A reading whose device key changed no longer verifies as it was
        // (a transaction without device signatures cannot go stale so).
        let still_valid = |v: &VerifiedTx| {
            v.device_keys.is_empty()
                || signature_checks(store, &chain_id, &v.tx)
                    .is_ok_and(|(_, keys)| keys == v.device_keys)
        };
        let senders: Vec<AccountId> = committed.block.txs.iter().map(|t| t.signer()).collect();
        let dropped = self.mempool.on_block(
            &committed.outcome.tx_hashes,
            &senders,
            nonce_of,
            still_valid,
        );
        if !dropped.is_empty() {
            tracing::debug!(count = dropped.len(), "mempool dropped stale transactions");
        }
        let height = committed.block.header.height;
        let mut dropped_all = std::mem::take(&mut self.dropped);
        // One dropped at block building but submitted again since (or
        // included after all) is not dropped.
        let included: std::collections::HashSet<&Hash> =
            committed.outcome.tx_hashes.iter().collect();
        dropped_all.retain(|(h, _)| !self.mempool.contains(h) && !included.contains(h));
        dropped_all.extend(dropped.into_iter().map(|h| {
            (
                h,
                format!(
                    "block {height} made it stale (its nonce was used, or its device key changed)"
                ),
            )
        }));
        Ok(Committed {
            txs: committed.block.txs.len(),
            hash: *hash,
            header: committed.block.header,
            tx_hashes: committed.outcome.tx_hashes,
            dropped: dropped_all,
            events: committed.outcome.events,
        })
    }
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
