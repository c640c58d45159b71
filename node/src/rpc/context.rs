//! What every RPC handler reads through: the store, the node handle, and
//! the resolution of `at` to a block.

use super::metrics::Metrics;
use crate::service::NodeHandle;
use crate::storage::{BlockReader, StorageError, Store};
use jsonrpsee::types::ErrorObjectOwned;
use std::sync::Arc;
use watt_rpc_client::error::{internal, not_found, unavailable};
use watt_rpc_client::types::BlockId;
use watt_runtime::block::Header;
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::decode;
use watt_runtime::genesis::Genesis;
use watt_runtime::state::{ChainState, StateError, StateKey, StateReader, StoreFailure};
use watt_runtime::types::Height;

/// A handler's result.
pub type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// A store failure, reported as an internal error.
pub fn store_err(e: impl std::fmt::Display) -> ErrorObjectOwned {
    internal(format!("store: {e}"))
}

/// A store failure as the runtime's readers report it.
pub fn store_failure(e: StorageError) -> StateError {
    StateError::Store(StoreFailure::new(e))
}

/// A block `at` named: its height, hash, time and state root. Height 0 is
/// the genesis, whose "hash" is the chain id.
#[derive(Clone, Debug)]
pub struct At {
    /// The height.
    pub height: Height,
    /// The block hash (the chain id at genesis).
    pub hash: Hash,
    /// Block time in unix ms (the genesis time at genesis).
    pub time_ms: u64,
    /// The state root after the block.
    pub state_root: Hash,
    /// The header (none at genesis).
    pub header: Option<Header>,
}

/// Shared by every handler.
pub struct Ctx {
    /// The node.
    pub node: NodeHandle,
    /// Its store (reads only).
    pub store: Arc<Store>,
    /// The genesis document.
    pub genesis: Genesis,
    /// The genesis state root.
    pub genesis_root: Hash,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Whether unsafe methods are served.
    pub unsafe_allowed: bool,
    /// Every method name, sorted (filled once the module is built).
    pub methods: std::sync::OnceLock<Vec<String>>,
    /// Store reads running at once ([`MAX_BLOCKING`]).
    blocking_slots: tokio::sync::Semaphore,
}

/// Most store reads the RPC runs at once on the blocking pool.
pub const MAX_BLOCKING: usize = 32;

impl Ctx {
    /// The context of a node.
    pub fn new(
        node: NodeHandle,
        metrics: Arc<Metrics>,
        unsafe_allowed: bool,
    ) -> Result<Ctx, StorageError> {
        let store = node.store().clone();
        let genesis = store.genesis()?.ok_or(StorageError::Uninitialised)?;
        let genesis_root = store
            .state_root_at(Height(0))?
            .ok_or_else(|| StorageError::Corrupt("no genesis state root".into()))?;
        Ok(Ctx {
            node,
            store,
            genesis,
            genesis_root,
            metrics,
            unsafe_allowed,
            methods: std::sync::OnceLock::new(),
            blocking_slots: tokio::sync::Semaphore::new(MAX_BLOCKING),
        })
    }

    /// The chain id.
    pub fn chain_id(&self) -> Hash {
        self.genesis.chain_id()
    }

    /// The head height.
    pub fn head(&self) -> RpcResult<Height> {
        self.store.head().map_err(store_err)
    }

    /// The block at a height, or `None` above the head.
    pub fn at_height(&self, height: Height) -> RpcResult<Option<At>> {
        if height.0 == 0 {
            return Ok(Some(At {
                height,
                hash: self.chain_id(),
                time_ms: self.genesis.genesis_time_ms,
                state_root: self.genesis_root,
                header: None,
            }));
        }
        let Some(header) = self.store.header(height).map_err(store_err)? else {
            return Ok(None);
        };
        Ok(Some(At {
            height,
            hash: header.hash(),
            time_ms: header.timestamp_ms,
            state_root: header.state_root,
            header: Some(header),
        }))
    }

    /// Resolves `at` (default latest); `None` if no such block.
    pub fn resolve_opt(&self, at: Option<BlockId>) -> RpcResult<Option<At>> {
        match at.unwrap_or_default() {
            BlockId::Latest | BlockId::Finalized => self.at_height(self.head()?),
            BlockId::Height(h) => self.at_height(h),
            BlockId::Hash(hash) if hash == self.chain_id() => self.at_height(Height(0)),
            BlockId::Hash(hash) => match self.store.height_of(&hash).map_err(store_err)? {
                Some(h) => self.at_height(h),
                None => Ok(None),
            },
        }
    }

    /// Resolves `at`; an unknown block is -32001.
    pub fn resolve(&self, at: Option<BlockId>) -> RpcResult<At> {
        let id = at.unwrap_or_default();
        self.resolve_opt(at)?.ok_or_else(|| match id {
            BlockId::Height(h) => not_found(format!(
                "no block at height {h}; the head is {}",
                self.head().map(|h| h.0).unwrap_or_default()
            )),
            other => not_found(format!("no block {other}")),
        })
    }

    /// A typed state value after a block (an archive read through that
    /// block's state root).
    pub fn state<T: borsh::BorshDeserialize>(
        &self,
        at: &At,
        key: &StateKey,
    ) -> RpcResult<Option<T>> {
        self.raw(at, &key.encode())
            .map_err(store_err)?
            .map(|b| decode::<T>(&b).map_err(|e| store_err(format!("{key:?}: {e}"))))
            .transpose()
    }

    /// The encoded value of a state key after a block.
    pub fn raw(&self, at: &At, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        // At the head, one read of the flat current state; the head read
        // again after it proves no block was committed in between (heads
        // only grow, and a block's state and head are one atomic write).
        // Otherwise, or if a block landed meanwhile, through the tree.
        if self.at_head(at)? {
            let v = StateReader::get(&*self.store, key)?;
            if self.at_head(at)? {
                return Ok(v);
            }
        }
        self.store.state_at(key, at.height).map_err(store_failure)
    }

    /// Whether `at` is the head now.
    pub fn at_head(&self, at: &At) -> Result<bool, StateError> {
        Ok(self.store.head().map_err(store_failure)? == at.height)
    }

    /// The chain singleton after a block.
    pub fn chain_state(&self, at: &At) -> RpcResult<ChainState> {
        self.state(at, &StateKey::Chain)?
            .ok_or_else(|| store_err("no chain record"))
    }

    /// Runs a read of a few keys `at` a block (an account, a balance):
    /// inline if `at` is the head (absent, `latest` or `finalized`),
    /// through [`Ctx::blocking`] otherwise. A head read is a few lookups of
    /// the flat current state, which RocksDB serves from memory in
    /// microseconds: less than handing the work to a blocking thread and
    /// back costs (under a read load, most of the node's CPU went to that
    /// hand-off's thread switches). A read of an older block walks the
    /// state tree and may wait on the disk; so may a head read that a
    /// commit overtook, rarely (a few tree nodes). Reads that scan or visit
    /// many keys stay on [`Ctx::blocking`]. A panic in `f` is an internal
    /// error either way.
    pub async fn read_at<T: Send + 'static>(
        self: &Arc<Self>,
        at: Option<BlockId>,
        f: impl FnOnce(&Ctx, Option<BlockId>) -> RpcResult<T> + Send + 'static,
    ) -> RpcResult<T> {
        if matches!(at.unwrap_or_default(), BlockId::Latest | BlockId::Finalized) {
            let ctx: &Ctx = self;
            return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(ctx, at)))
                .unwrap_or_else(|_| {
                    tracing::error!("an RPC handler panicked");
                    Err(internal("the handler failed; see the node's log"))
                });
        }
        self.blocking(move |ctx| f(ctx, at)).await
    }

    /// Runs blocking store work off the async workers.
    pub async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Ctx) -> RpcResult<T> + Send + 'static,
    ) -> RpcResult<T> {
        // At most MAX_BLOCKING reads at once; the rest wait here, cheaply,
        // rather than as threads of the blocking pool.
        let _slot = self
            .blocking_slots
            .acquire()
            .await
            .map_err(|_| unavailable("the node is stopping"))?;
        let ctx = self.clone();
        tokio::task::spawn_blocking(move || f(&ctx))
            .await
            .map_err(|e| {
                if e.is_panic() {
                    tracing::error!(error = %e, "an RPC handler panicked");
                    internal("the handler failed; see the node's log")
                } else {
                    unavailable(format!("the node is stopping: {e}"))
                }
            })?
    }
}
