//! The chain on disk: RocksDB behind reader and writer traits.
//!
//! One column family per table ([`tables`]). One finalised block is one
//! synced, atomic write batch ([`Store::commit_block`]): the block, its
//! certificate, the state changes, the new state-tree nodes, the indexes and
//! the head move together, so after `kill -9` at any moment the store is at
//! its last committed block. The store is an archive: the state tree is
//! content-addressed and every value is also kept by its hash, so the state
//! at any past height can be read from that height's state root.
//!
//! A crate of its own so that Cargo keeps the wall: storage knows the
//! runtime's types and RocksDB, never the network, RPC or consensus.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub mod failpoint;
mod rocks;
pub mod tables;

pub use rocks::{DbStats, Store};

use watt_runtime::block::{Block, CommitCertificate, Header};
use watt_runtime::crypto::Hash;
use watt_runtime::events::EventRecord;
use watt_runtime::exec::BlockOutcome;
use watt_runtime::tree::Node;
use watt_runtime::types::Height;

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: u32 = 1;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// RocksDB failed.
    #[error("database error: {0}")]
    Db(#[from] rocksdb::Error),
    /// The directory holds a database of another schema version.
    #[error("data directory {path} has schema version {found}; this watt understands version {expected}. It was left untouched: use a watt release that reads version {found}, or another --base-path")]
    Schema {
        /// The directory.
        path: String,
        /// The version found.
        found: u32,
        /// The version understood.
        expected: u32,
    },
    /// The directory holds a chain with another genesis.
    #[error("data directory {path} holds chain {found}, not {expected}; use another --base-path")]
    OtherChain {
        /// The directory.
        path: String,
        /// The chain found.
        found: Hash,
        /// The chain asked for.
        expected: Hash,
    },
    /// A stored record did not decode or is missing: the store is corrupt.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The genesis (or the old state a continuation starts from) is
    /// unusable.
    #[error("genesis: {0}")]
    Genesis(String),
    /// The store has no genesis yet.
    #[error("data directory is not initialised: no chain there yet (check --base-path)")]
    Uninitialised,
    /// Another process has the database open.
    #[error("data directory {path} is in use by another watt process")]
    Locked {
        /// The directory.
        path: String,
    },
    /// A block does not follow the head.
    #[error("block {got} does not follow head {head}")]
    NotNext {
        /// The head.
        head: Height,
        /// The block's height.
        got: Height,
    },
}

/// A finalised block with everything executing it produced, ready to be
/// written in one batch.
#[derive(Clone, Debug)]
pub struct CommittedBlock {
    /// The block.
    pub block: Block,
    /// Its commit certificate (held on its own until the next block
    /// carries the canonical one).
    pub commit: CommitCertificate,
    /// What executing it did.
    pub outcome: BlockOutcome,
    /// State-tree nodes the block created.
    pub tree_nodes: Vec<(Hash, Node)>,
}

/// Read access to the stored chain.
pub trait BlockReader {
    /// The highest finalised height (0 before the first block).
    fn head(&self) -> Result<Height, StorageError>;
    /// The header at a height.
    fn header(&self, height: Height) -> Result<Option<Header>, StorageError>;
    /// The block at a height.
    fn block(&self, height: Height) -> Result<Option<Block>, StorageError>;
    /// The commit certificate of a height.
    fn commit(&self, height: Height) -> Result<Option<CommitCertificate>, StorageError>;
    /// The height of a block hash.
    fn height_of(&self, hash: &Hash) -> Result<Option<Height>, StorageError>;
    /// Where a transaction landed: height and index.
    fn tx_location(&self, tx: &Hash) -> Result<Option<(Height, u32)>, StorageError>;
    /// The events of a height.
    fn events(&self, height: Height) -> Result<Option<Vec<EventRecord>>, StorageError>;
}
