//! Writing to the store: finalised blocks in one synced batch, and the
//! node's own records (old signing record, own proposal, running marker).

use super::Store;
use crate::tables::{self, height_key, meta};
use crate::{BlockReader, CommittedBlock, StorageError};
use rocksdb::WriteBatch;
use watt_runtime::block::Block;
use watt_runtime::encoding::encode;
use watt_runtime::state::value_hash;

impl Store {
    /// Writes a finalised block and everything it changed in one synced
    /// batch. The block must follow the head.
    pub fn commit_block(&self, c: &CommittedBlock) -> Result<(), StorageError> {
        let head = self.head()?;
        let h = c.block.header.height;
        if h != head.next() {
            return Err(StorageError::NotNext { head, got: h });
        }
        let hk = height_key(h.0);
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf::<tables::Headers>()?, hk, encode(&c.block.header));
        batch.put_cf(self.cf::<tables::Bodies>()?, hk, encode(&c.block));
        batch.put_cf(self.cf::<tables::Commits>()?, hk, encode(&c.commit));
        if let Some(parent) = &c.block.parent_commit {
            // The certificate a block carries is the canonical one.
            batch.put_cf(
                self.cf::<tables::Commits>()?,
                height_key(h.0 - 1),
                encode(parent),
            );
        }
        batch.put_cf(self.cf::<tables::BlockHashes>()?, c.block.hash().0, hk);
        let txi = self.cf::<tables::TxIndex>()?;
        for (i, tx) in c.outcome.tx_hashes.iter().enumerate() {
            let mut loc = hk.to_vec();
            loc.extend_from_slice(&(i as u32).to_be_bytes());
            batch.put_cf(txi, tx.0, loc);
        }
        batch.put_cf(self.cf::<tables::Events>()?, hk, encode(&c.outcome.events));
        let (state, values) = (
            self.cf::<tables::State>()?,
            self.cf::<tables::StateValues>()?,
        );
        for (k, v) in &c.outcome.diff.0 {
            match v {
                Some(v) => {
                    batch.put_cf(state, k, v);
                    batch.put_cf(values, value_hash(v).0, v);
                }
                None => batch.delete_cf(state, k),
            }
        }
        let nodes = self.cf::<tables::TreeNodes>()?;
        for (hash, node) in &c.tree_nodes {
            batch.put_cf(nodes, hash.0, encode(node));
        }
        let m = self.cf::<tables::Meta>()?;
        batch.put_cf(m, meta::HEAD, hk);
        batch.put_cf(m, meta::FINALIZED, hk);
        crate::failpoint::hit("mid-block-write");
        self.db.write_opt(batch, &Self::sync_opts())?;
        // The nodes the next block's update starts from.
        let mut cache = self.node_cache();
        for (hash, node) in &c.tree_nodes {
            cache.insert(*hash, *node);
        }
        Ok(())
    }

    /// The signing record older versions kept in the database (validators
    /// now keep it in a file of its own beside their key).
    pub fn consensus_log(&self) -> Result<Option<Vec<u8>>, StorageError> {
        self.read::<tables::ConsensusLog>(tables::CONSENSUS_LOG_KEY)
    }

    /// Writes a signing record the way older versions did (for the tests
    /// of its migration).
    pub fn write_consensus_log(&self, bytes: &[u8]) -> Result<(), StorageError> {
        self.db.put_cf_opt(
            self.cf::<tables::ConsensusLog>()?,
            tables::CONSENSUS_LOG_KEY,
            bytes,
            &Self::sync_opts(),
        )?;
        Ok(())
    }

    /// Deletes the old signing record once it has moved to its file, so
    /// that a stale copy in a data directory can never be taken up again.
    pub fn clear_consensus_log(&self) -> Result<(), StorageError> {
        self.db.delete_cf_opt(
            self.cf::<tables::ConsensusLog>()?,
            tables::CONSENSUS_LOG_KEY,
            &Self::sync_opts(),
        )?;
        Ok(())
    }

    /// Keeps the block this validator is about to propose, so that after a
    /// crash it can propose (and commit) the very same block again: it may
    /// never sign a different proposal for that height and round.
    pub fn write_own_proposal(&self, block: &Block) -> Result<(), StorageError> {
        self.db.put_cf_opt(
            self.cf::<tables::ConsensusLog>()?,
            tables::OWN_PROPOSAL_KEY,
            encode(block),
            &Self::sync_opts(),
        )?;
        Ok(())
    }

    /// The block this validator last proposed, if any.
    pub fn own_proposal(&self) -> Result<Option<Block>, StorageError> {
        self.decode_at::<tables::ConsensusLog, Block>(tables::OWN_PROPOSAL_KEY)
    }

    /// Marks the store as in use; returns whether the previous run ended
    /// without a clean shutdown.
    pub fn mark_running(&self) -> Result<bool, StorageError> {
        let unclean = self.read::<tables::Meta>(meta::RUNNING)?.is_some();
        self.db.put_cf_opt(
            self.cf::<tables::Meta>()?,
            meta::RUNNING,
            [1u8],
            &Self::sync_opts(),
        )?;
        Ok(unclean)
    }

    /// Marks a clean shutdown and flushes memtables.
    pub fn mark_clean_shutdown(&self) -> Result<(), StorageError> {
        self.db.delete_cf_opt(
            self.cf::<tables::Meta>()?,
            meta::RUNNING,
            &Self::sync_opts(),
        )?;
        self.db.flush()?;
        Ok(())
    }

    /// Overwrites the recorded schema version (for tests of the refusal).
    #[cfg(any(test, feature = "test-utils"))]
    pub fn set_schema_version(&self, version: u32) -> Result<(), StorageError> {
        self.db.put_cf_opt(
            self.cf::<tables::Meta>()?,
            meta::SCHEMA,
            version.to_le_bytes(),
            &Self::sync_opts(),
        )?;
        Ok(())
    }
}
