//! Reading the store: blocks and indexes ([`BlockReader`]), the current
//! state ([`StateReader`]) and the state tree's nodes ([`TreeReader`]).

use super::{corrupt, u64_be, RocksTree, Store};
use crate::tables::{self, height_key, meta};
use crate::{BlockReader, StorageError};
use rocksdb::{Direction, IteratorMode};
use watt_runtime::block::{Block, CommitCertificate, Header};
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::decode;
use watt_runtime::events::EventRecord;
use watt_runtime::state::{Entries, StateError, StateReader, StoreFailure};
use watt_runtime::tree::{Node, TreeError, TreeReader};
use watt_runtime::types::Height;

impl BlockReader for Store {
    fn head(&self) -> Result<Height, StorageError> {
        match self.read::<tables::Meta>(meta::HEAD)? {
            Some(b) => Ok(Height(u64_be(&b)?)),
            None => Err(StorageError::Uninitialised),
        }
    }
    fn header(&self, height: Height) -> Result<Option<Header>, StorageError> {
        self.decode_at::<tables::Headers, Header>(&height_key(height.0))
    }
    fn block(&self, height: Height) -> Result<Option<Block>, StorageError> {
        self.decode_at::<tables::Bodies, Block>(&height_key(height.0))
    }
    fn commit(&self, height: Height) -> Result<Option<CommitCertificate>, StorageError> {
        self.decode_at::<tables::Commits, CommitCertificate>(&height_key(height.0))
    }
    fn height_of(&self, hash: &Hash) -> Result<Option<Height>, StorageError> {
        self.read::<tables::BlockHashes>(&hash.0)?
            .map(|b| u64_be(&b).map(Height))
            .transpose()
    }
    fn tx_location(&self, tx: &Hash) -> Result<Option<(Height, u32)>, StorageError> {
        match self.read::<tables::TxIndex>(&tx.0)? {
            Some(b) if b.len() == 12 => {
                let h = u64_be(&b[..8])?;
                let i = u32::from_be_bytes(b[8..12].try_into().map_err(|_| corrupt("tx index"))?);
                Ok(Some((Height(h), i)))
            }
            Some(_) => Err(corrupt("tx index entry is not 12 bytes")),
            None => Ok(None),
        }
    }
    fn events(&self, height: Height) -> Result<Option<Vec<EventRecord>>, StorageError> {
        self.decode_at::<tables::Events, Vec<EventRecord>>(&height_key(height.0))
    }
}

/// The current state, for the runtime.
impl StateReader for Store {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let cf = self
            .cf::<tables::State>()
            .map_err(|e| StateError::Store(StoreFailure::new(e)))?;
        self.db
            .get_cf(cf, key)
            .map_err(|e| StateError::Store(StoreFailure::new(e)))
    }

    fn scan(&self, from: &[u8], to: &[u8]) -> Result<Entries, StateError> {
        let cf = self
            .cf::<tables::State>()
            .map_err(|e| StateError::Store(StoreFailure::new(e)))?;
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(cf, IteratorMode::From(from, Direction::Forward))
        {
            let (k, v) = item.map_err(|e| StateError::Store(StoreFailure::new(e)))?;
            if &*k >= to {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }
}

impl TreeReader for RocksTree<'_> {
    fn node(&self, hash: &Hash) -> Result<Option<Node>, TreeError> {
        if let Some(n) = self.store.node_cache().get(hash) {
            return Ok(Some(n));
        }
        let node = self.read_node(hash)?;
        if let Some(n) = &node {
            self.store.node_cache().insert(*hash, *n);
        }
        Ok(node)
    }
}

impl RocksTree<'_> {
    fn read_node(&self, hash: &Hash) -> Result<Option<Node>, TreeError> {
        let bytes =
            self.store
                .read::<tables::TreeNodes>(&hash.0)
                .map_err(|e| TreeError::Store {
                    reason: e.to_string(),
                })?;
        match bytes {
            Some(b) => decode(&b).map(Some).map_err(|e| TreeError::Store {
                reason: format!("node {hash}: {e}"),
            }),
            None => Ok(None),
        }
    }
}
