//! The RocksDB implementation of the store.

mod read;
mod write;

use super::tables::{self, height_key, meta, Table};
use super::{BlockReader, StorageError, SCHEMA_VERSION};
use rocksdb::{ColumnFamilyDescriptor, Options, WriteBatch, WriteOptions, DB};
use std::path::{Path, PathBuf};
use watt_genesis::StateSnapshot;
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::{decode, encode};
use watt_runtime::genesis::Genesis;
use watt_runtime::state::{key_hash, value_hash};
use watt_runtime::tree::{self, Node};
use watt_runtime::types::Height;

/// The chain's RocksDB store.
pub struct Store {
    db: DB,
    path: PathBuf,
    nodes: std::sync::Mutex<NodeCache>,
}

fn corrupt(what: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(what.to_string())
}

fn u64_be(bytes: &[u8]) -> Result<u64, StorageError> {
    Ok(u64::from_be_bytes(
        bytes
            .try_into()
            .map_err(|_| corrupt("height is not 8 bytes"))?,
    ))
}

/// Memory RocksDB may use, whatever the chain's length: memtables of every
/// table together, and one block cache shared by every table.
const WRITE_BUFFERS: usize = 64 << 20;
const BLOCK_CACHE: usize = 64 << 20;

fn options(cache: &rocksdb::Cache) -> Options {
    let mut opts = Options::default();
    // One budget for the memtables of all tables (each table's own default
    // is 64 MiB times two, times eleven tables).
    opts.set_db_write_buffer_size(WRITE_BUFFERS);
    opts.set_write_buffer_size(WRITE_BUFFERS / 4);
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
    opts.set_max_open_files(512);
    opts.set_keep_log_file_num(3);
    // Point reads dominate (state entries, tree nodes by hash): a bloom
    // filter in the memtable and in every table file lets a read skip
    // both without a search when the key is not there.
    opts.set_memtable_whole_key_filtering(true);
    opts.set_memtable_prefix_bloom_ratio(0.05);
    let mut table = rocksdb::BlockBasedOptions::default();
    table.set_bloom_filter(10.0, false);
    table.set_cache_index_and_filter_blocks(true);
    table.set_block_cache(cache);
    opts.set_block_based_table_factory(&table);
    opts
}

/// Tree nodes kept in memory: the upper levels of the state tree are read
/// by every block's update and by every archive read. Two generations of
/// at most `CAP / 2` nodes each; when the young one fills up, the old one
/// is dropped, so memory stays bounded (about 100 bytes a node) whatever
/// the chain's length.
struct NodeCache {
    young: std::collections::HashMap<Hash, Node>,
    old: std::collections::HashMap<Hash, Node>,
}

const NODE_CACHE_CAP: usize = 400_000;

impl NodeCache {
    fn get(&mut self, hash: &Hash) -> Option<Node> {
        if let Some(n) = self.young.get(hash) {
            return Some(*n);
        }
        let n = self.old.remove(hash)?;
        self.insert(*hash, n);
        Some(n)
    }

    fn insert(&mut self, hash: Hash, node: Node) {
        if self.young.len() >= NODE_CACHE_CAP / 2 {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(hash, node);
    }
}

impl Store {
    /// Reads the schema version of an existing database without writing
    /// anything to it. `None` if the directory holds no database.
    pub fn schema_version(path: &Path) -> Result<Option<u32>, StorageError> {
        if !path.join("CURRENT").exists() {
            return Ok(None);
        }
        let cfs = DB::list_cf(&Options::default(), path)?;
        if !cfs.iter().any(|c| c == tables::Meta::NAME) {
            return Ok(Some(0));
        }
        let db = DB::open_cf_for_read_only(&Options::default(), path, [tables::Meta::NAME], false)?;
        let cf = db
            .cf_handle(tables::Meta::NAME)
            .ok_or_else(|| corrupt("no meta table"))?;
        // The column families exist before the genesis batch is written: a
        // crash in between leaves neither a schema nor a genesis, which is a
        // directory still to initialise.
        if db.get_cf(cf, meta::SCHEMA)?.is_none() && db.get_cf(cf, meta::GENESIS)?.is_none() {
            return Ok(None);
        }
        match db.get_cf(cf, meta::SCHEMA)? {
            Some(v) => Ok(Some(u32::from_le_bytes(
                v.as_slice()
                    .try_into()
                    .map_err(|_| corrupt("schema version"))?,
            ))),
            None => Ok(Some(0)),
        }
    }

    /// Opens the database in `path` after checking, read-only, that it is
    /// of this schema version (a missing one is created if `create`).
    fn open_db(path: &Path, create: bool) -> Result<Store, StorageError> {
        match Self::schema_version(path)? {
            None if !create => return Err(StorageError::Uninitialised),
            Some(found) if found != SCHEMA_VERSION => {
                return Err(StorageError::Schema {
                    path: path.display().to_string(),
                    found,
                    expected: SCHEMA_VERSION,
                })
            }
            _ => {}
        }
        std::fs::create_dir_all(path)
            .map_err(|e| corrupt(format!("cannot create {}: {e}", path.display())))?;
        let cache = rocksdb::Cache::new_lru_cache(BLOCK_CACHE);
        let cfs = tables::ALL
            .iter()
            .map(|n| ColumnFamilyDescriptor::new(*n, options(&cache)));
        let db = DB::open_cf_descriptors(&options(&cache), path, cfs).map_err(|e| {
            if e.to_string().contains("LOCK") {
                StorageError::Locked {
                    path: path.display().to_string(),
                }
            } else {
                StorageError::Db(e)
            }
        })?;
        Ok(Store {
            db,
            path: path.to_path_buf(),
            nodes: std::sync::Mutex::new(NodeCache {
                young: Default::default(),
                old: Default::default(),
            }),
        })
    }

    /// Opens (or creates, with this genesis) the store in `path`. A
    /// database of another schema version or another chain is refused; one
    /// of another schema version is left untouched.
    pub fn open(path: &Path, genesis: &Genesis) -> Result<Store, StorageError> {
        Self::open_with_state(path, genesis, None)
    }

    /// [`Store::open`] for any genesis: a continuation (recovery fork)
    /// needs the old chain's state snapshot to create a new store; the
    /// snapshot is kept so that replays of this chain can start from it.
    pub fn open_with_state(
        path: &Path,
        genesis: &Genesis,
        old_state: Option<&StateSnapshot>,
    ) -> Result<Store, StorageError> {
        let store = Self::open_db(path, true)?;
        match store.genesis()? {
            Some(stored) => {
                let (found, expected) = (stored.chain_id(), genesis.chain_id());
                if found != expected {
                    return Err(StorageError::OtherChain {
                        path: path.display().to_string(),
                        found,
                        expected,
                    });
                }
            }
            None => store.init(genesis, old_state)?,
        }
        Ok(store)
    }

    /// Opens an existing store with whatever chain it holds.
    pub fn open_existing(path: &Path) -> Result<Store, StorageError> {
        let store = Self::open_db(path, false)?;
        if store.genesis()?.is_none() {
            return Err(StorageError::Uninitialised);
        }
        Ok(store)
    }

    fn cf<T: Table>(&self) -> Result<&rocksdb::ColumnFamily, StorageError> {
        self.db
            .cf_handle(T::NAME)
            .ok_or_else(|| corrupt(format!("missing table {}", T::NAME)))
    }

    fn read<T: Table>(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.db.get_cf(self.cf::<T>()?, key)?)
    }

    fn decode_at<T: Table, V: borsh::BorshDeserialize>(
        &self,
        key: &[u8],
    ) -> Result<Option<V>, StorageError> {
        match self.read::<T>(key)? {
            Some(bytes) => decode(&bytes)
                .map(Some)
                .map_err(|e| corrupt(format!("{}: {e}", T::NAME))),
            None => Ok(None),
        }
    }

    fn sync_opts() -> WriteOptions {
        let mut w = WriteOptions::default();
        w.set_sync(true);
        w
    }

    /// Writes the genesis state in one batch.
    fn init(&self, genesis: &Genesis, old: Option<&StateSnapshot>) -> Result<(), StorageError> {
        if let Some(old) = old {
            old.check_for(genesis)
                .map_err(|e| StorageError::Genesis(e.to_string()))?;
        }
        let diff = genesis
            .state_diff_with(old.map(|o| &o.entries))
            .map_err(|e| StorageError::Genesis(e.to_string()))?;
        let update =
            tree::update(&self.tree_reader(), Hash::ZERO, &diff.tree_changes()).map_err(corrupt)?;
        let mut batch = WriteBatch::default();
        let (state, values, nodes, m) = (
            self.cf::<tables::State>()?,
            self.cf::<tables::StateValues>()?,
            self.cf::<tables::TreeNodes>()?,
            self.cf::<tables::Meta>()?,
        );
        for (k, v) in &diff.0 {
            if let Some(v) = v {
                batch.put_cf(state, k, v);
                batch.put_cf(values, value_hash(v).0, v);
            }
        }
        for (h, n) in &update.new_nodes {
            batch.put_cf(nodes, h.0, encode(n));
        }
        batch.put_cf(m, meta::GENESIS, encode(genesis));
        if let Some(old) = old {
            batch.put_cf(m, meta::GENESIS_STATE, old.to_bytes());
        }
        batch.put_cf(m, meta::GENESIS_ROOT, update.root.0);
        batch.put_cf(m, meta::HEAD, height_key(0));
        batch.put_cf(m, meta::FINALIZED, height_key(0));
        batch.put_cf(m, meta::SCHEMA, SCHEMA_VERSION.to_le_bytes());
        self.db.write_opt(batch, &Self::sync_opts())?;
        Ok(())
    }

    fn node_cache(&self) -> std::sync::MutexGuard<'_, NodeCache> {
        // A panic while holding it cannot leave it inconsistent: every
        // entry is a node under its own hash.
        self.nodes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The genesis document.
    pub fn genesis(&self) -> Result<Option<Genesis>, StorageError> {
        self.decode_at::<tables::Meta, Genesis>(meta::GENESIS)
    }

    /// The old chain's state a continuation chain started from (none for
    /// an ordinary genesis).
    pub fn genesis_snapshot(&self) -> Result<Option<StateSnapshot>, StorageError> {
        match self.read::<tables::Meta>(meta::GENESIS_STATE)? {
            Some(bytes) => StateSnapshot::from_bytes(&bytes, "stored genesis state")
                .map(Some)
                .map_err(|e| corrupt(e.to_string())),
            None => Ok(None),
        }
    }

    /// The state at genesis, in memory, for replays from the start.
    pub fn genesis_state(&self) -> Result<watt_runtime::state::MemoryState, StorageError> {
        let genesis = self.genesis()?.ok_or(StorageError::Uninitialised)?;
        let old = self.genesis_snapshot()?;
        let diff = genesis
            .state_diff_with(old.as_ref().map(|o| &o.entries))
            .map_err(|e| StorageError::Genesis(e.to_string()))?;
        let mut state = watt_runtime::state::MemoryState::new();
        state.apply(&diff).map_err(|e| corrupt(e.to_string()))?;
        Ok(state)
    }

    /// Every entry of the current state (the head's), in key order.
    pub fn state_entries(
        &self,
    ) -> Result<std::collections::BTreeMap<Vec<u8>, Vec<u8>>, StorageError> {
        let mut out = std::collections::BTreeMap::new();
        for item in self
            .db
            .iterator_cf(self.cf::<tables::State>()?, rocksdb::IteratorMode::Start)
        {
            let (k, v) = item?;
            out.insert(k.to_vec(), v.to_vec());
        }
        Ok(out)
    }

    /// The state root after a height (0: genesis).
    pub fn state_root_at(&self, height: Height) -> Result<Option<Hash>, StorageError> {
        if height.0 == 0 {
            return Ok(self
                .read::<tables::Meta>(meta::GENESIS_ROOT)?
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .map(Hash));
        }
        Ok(self.header(height)?.map(|h| h.state_root))
    }

    /// The current state root.
    pub fn state_root(&self) -> Result<Hash, StorageError> {
        let head = self.head()?;
        self.state_root_at(head)?
            .ok_or_else(|| corrupt(format!("no state root for head {head}")))
    }

    /// A state-tree reader over the stored nodes.
    pub fn tree_reader(&self) -> RocksTree<'_> {
        RocksTree { store: self }
    }

    /// The value of a state key after `height`, read through that height's
    /// state root (archive read).
    pub fn state_at(&self, key: &[u8], height: Height) -> Result<Option<Vec<u8>>, StorageError> {
        let root = self
            .state_root_at(height)?
            .ok_or_else(|| corrupt(format!("no block at height {height}")))?;
        match tree::get(&self.tree_reader(), root, &key_hash(key)).map_err(corrupt)? {
            Some(vh) => Ok(Some(
                self.read::<tables::StateValues>(&vh.0)?
                    .ok_or_else(|| corrupt(format!("value {vh} missing")))?,
            )),
            None => Ok(None),
        }
    }

    /// Sizes and counts per table.
    pub fn stats(&self) -> Result<DbStats, StorageError> {
        let mut tables_out = Vec::new();
        for name in tables::ALL {
            let cf = self
                .db
                .cf_handle(name)
                .ok_or_else(|| corrupt(format!("missing table {name}")))?;
            let keys = self
                .db
                .property_int_value_cf(cf, "rocksdb.estimate-num-keys")?
                .unwrap_or(0);
            let sst = self
                .db
                .property_int_value_cf(cf, "rocksdb.total-sst-files-size")?
                .unwrap_or(0);
            let mem = self
                .db
                .property_int_value_cf(cf, "rocksdb.cur-size-all-mem-tables")?
                .unwrap_or(0);
            tables_out.push((name.to_string(), keys, sst + mem));
        }
        let head = self.head()?;
        Ok(DbStats {
            head,
            state_root: self.state_root()?,
            tables: tables_out,
        })
    }
}

/// Sizes of the store, for `watt db stats`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DbStats {
    /// The head height.
    pub head: Height,
    /// The current state root.
    pub state_root: Hash,
    /// Per table: name, estimated keys, bytes (SST files plus memtables).
    pub tables: Vec<(String, u64, u64)>,
}

/// The state tree's nodes in the store.
pub struct RocksTree<'a> {
    store: &'a Store,
}
