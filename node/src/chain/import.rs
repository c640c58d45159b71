//! Checking and committing blocks: proposals from elsewhere, decided
//! blocks from sync, commit certificates, and the commit that writes a
//! decided block and updates the mempool.

use super::{invalid, nonce_in, Chain, ChainError, Committed, Executed};
use crate::mempool::DropReason;
use crate::storage::{CommittedBlock, StorageError, Store};
use watt_runtime::block::{Block, CommitCertificate, ValidatorSet};
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::decode;
use watt_runtime::exec::{apply_block, BlockContext, VerifiedTx};
use watt_runtime::state::{ChainState, StateKey};
use watt_runtime::tx::Transaction;
use watt_runtime::types::{AccountId, Height};
use watt_runtime::validity::{self, InvalidBlock};
use watt_runtime::verify::{signature_checks, verify_txs};
use watt_runtime::TxError;

impl Chain {
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
            return Err(invalid(h)(InvalidBlock::Height {
                got: h,
                expected: head.next(),
            }));
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

    /// `check_block`, with the clock check only when `now_ms` is given:
    /// the runtime's one validity rule (`watt_runtime::validity`), around
    /// signature checks that reuse the mempool's verdicts and execution.
    fn check_block_at(&mut self, block: Block, now_ms: Option<u64>) -> Result<Hash, ChainError> {
        let h = block.header.height;
        let head = self.head()?;
        let (parent_hash, parent_time) = self.head_hash_and_time()?;
        let validators = self.next_validators()?;
        let parent_set = if head.0 > 0 {
            Some(self.validators_of(head)?)
        } else {
            None
        };
        let skew_ms = self
            .chain_state()?
            .params
            .max_clock_skew_s
            .saturating_mul(1000);
        validity::check_before_execution(
            &block,
            &self.chain_id,
            &validity::Parent {
                height: head,
                hash: parent_hash,
                time_ms: parent_time,
                validators: parent_set.as_ref(),
            },
            &validators,
            now_ms.map(|now_ms| validity::Clock { now_ms, skew_ms }),
        )
        .map_err(invalid(h))?;
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
            verified.push(v.map_err(|error| {
                invalid(h)(InvalidBlock::Transaction {
                    index: i,
                    tx: txs[i].hash(),
                    error,
                })
            })?);
        }
        let hd = &block.header;
        let ctx = BlockContext {
            chain_id: self.chain_id,
            height: h,
            timestamp_ms: hd.timestamp_ms,
            proposer: hd.proposer,
        };
        let outcome = apply_block(self.store(), ctx, &verified)
            .map_err(|e| invalid(h)(InvalidBlock::Execution(e)))?;
        let (state_root, tree_nodes) = self.state_root_after(&outcome)?;
        let next_validators = self.validators_after(&outcome)?;
        validity::check_after_execution(
            &block,
            &validity::Executed {
                events: &outcome.events,
                state_root,
                next_validators: &next_validators,
            },
        )
        .map_err(invalid(h))?;
        let hash = block.hash();
        self.keep_executed(
            hash,
            Executed {
                block,
                outcome,
                tree_nodes,
            },
        );
        Ok(hash)
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
        dropped_all.extend(
            dropped
                .into_iter()
                .map(|h| (h, DropReason::Stale { height })),
        );
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
