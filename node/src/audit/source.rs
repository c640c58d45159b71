//! Where the audited blocks come from: a stopped node's data directory, an
//! export file, or a running node over RPC. Each yields the genesis, then
//! every block from height 1 with its commit certificate, one at a time.

use super::export::ExportReader;
use super::AuditError;
use crate::storage::{BlockReader, Store};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use watt_rpc_client::api::{ChainApiClient, MAX_BLOCKS_PER_CALL};
use watt_rpc_client::client::WattClient;
use watt_runtime::block::{Block, CommitCertificate};
use watt_runtime::encoding::decode;
use watt_runtime::genesis::Genesis;
use watt_runtime::types::Height;

/// A stream of blocks to audit.
pub trait BlockSource {
    /// What the source is, for messages.
    fn describe(&self) -> String;
    /// The genesis the source carries.
    fn genesis(&self) -> &Genesis;
    /// How many blocks it will yield, if known (for the ETA).
    fn total(&self) -> Option<u64>;
    /// The next block with its commit certificate; `None` at the end.
    fn next_block(&mut self) -> Result<Option<(Block, CommitCertificate)>, AuditError>;
    /// The data directory's store, whose current state the audit compares
    /// with the replayed one.
    fn store(&self) -> Option<&Store> {
        None
    }
    /// The progress fraction done by bytes, when the total is unknown.
    fn fraction(&self) -> Option<f64> {
        None
    }
}

/// Opens `--source`: a `ws://`, `wss://`, `http://` or `https://` URL, a
/// data directory, or an export file.
pub fn open(source: &str) -> Result<Box<dyn BlockSource>, AuditError> {
    if ["ws://", "wss://", "http://", "https://"]
        .iter()
        .any(|p| source.starts_with(p))
    {
        return Ok(Box::new(RpcSource::connect(source)?));
    }
    let path = PathBuf::from(source);
    if path.is_dir() {
        Ok(Box::new(StoreSource::open(&path)?))
    } else if path.is_file() {
        Ok(Box::new(FileSource::open(&path)?))
    } else {
        Err(AuditError::Input(format!(
            "--source {source}: no such data directory or export file, and not a ws:// or http:// URL"
        )))
    }
}

/// The first and last height to yield: from `from` (at least 1) to `to`,
/// never past the head.
fn span(from: Height, to: Option<Height>, head: u64) -> (u64, u64) {
    (from.0.max(1), to.map_or(head, |t| t.0.min(head)))
}

/// A stopped node's data directory.
pub struct StoreSource {
    store: Store,
    genesis: Genesis,
    next: u64,
    head: u64,
}

impl StoreSource {
    /// Opens the store (the node must be stopped: RocksDB's lock says so).
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let store = Store::open_existing(path)
            .map_err(|e| AuditError::Input(format!("data directory {}: {e}", path.display())))?;
        let genesis = store
            .genesis()
            .map_err(|e| AuditError::Input(e.to_string()))?
            .ok_or_else(|| AuditError::Input("data directory has no genesis".into()))?;
        let head = store
            .head()
            .map_err(|e| AuditError::Input(e.to_string()))?
            .0;
        Ok(StoreSource {
            store,
            genesis,
            next: 1,
            head,
        })
    }

    /// Yields heights `from` to `to` (or the head) only, for exports.
    pub fn within(mut self, from: Height, to: Option<Height>) -> Self {
        (self.next, self.head) = span(from, to, self.head);
        self
    }
}

impl BlockSource for StoreSource {
    fn describe(&self) -> String {
        format!("data directory {}", self.store.path().display())
    }
    fn genesis(&self) -> &Genesis {
        &self.genesis
    }
    fn total(&self) -> Option<u64> {
        Some(self.head)
    }
    fn next_block(&mut self) -> Result<Option<(Block, CommitCertificate)>, AuditError> {
        if self.next > self.head {
            return Ok(None);
        }
        let h = Height(self.next);
        let stored = |what: &str, e: String| AuditError::Discrepancy {
            height: h,
            object: what.to_string(),
            reason: e,
        };
        let block = self
            .store
            .block(h)
            .map_err(|e| stored("stored block", e.to_string()))?
            .ok_or_else(|| stored("stored block", "missing below the head".into()))?;
        let cert = self
            .store
            .commit(h)
            .map_err(|e| stored("stored commit certificate", e.to_string()))?
            .ok_or_else(|| stored("stored commit certificate", "missing".into()))?;
        self.next += 1;
        Ok(Some((block, cert)))
    }
    fn store(&self) -> Option<&Store> {
        Some(&self.store)
    }
}

/// An export file.
pub struct FileSource {
    reader: ExportReader<std::fs::File>,
    genesis: Genesis,
    size: u64,
    path: PathBuf,
}

impl FileSource {
    /// Opens the file and reads its header and genesis.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let input = |e: String| AuditError::Input(format!("export file {}: {e}", path.display()));
        let file = std::fs::File::open(path).map_err(|e| input(e.to_string()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let reader = ExportReader::new(file).map_err(|e| input(e.to_string()))?;
        if reader.first.0 != 1 {
            return Err(input(format!(
                "it starts at height {}; a replay from genesis needs a file that starts at height 1",
                reader.first
            )));
        }
        let genesis = reader
            .genesis()
            .cloned()
            .ok_or_else(|| input("no genesis".into()))?;
        Ok(FileSource {
            reader,
            genesis,
            size,
            path: path.to_path_buf(),
        })
    }
}

impl BlockSource for FileSource {
    fn describe(&self) -> String {
        format!("export file {}", self.path.display())
    }
    fn genesis(&self) -> &Genesis {
        &self.genesis
    }
    fn total(&self) -> Option<u64> {
        None
    }
    fn next_block(&mut self) -> Result<Option<(Block, CommitCertificate)>, AuditError> {
        self.reader
            .next_block()
            .map_err(|e| AuditError::Input(format!("export file {}: {e}", self.path.display())))
    }
    fn fraction(&self) -> Option<f64> {
        (self.size > 0).then(|| self.reader.bytes_read as f64 / self.size as f64)
    }
}

/// A running node over JSON-RPC (`chain_getGenesis`, `chain_getBlocks`):
/// the blocks up to its finalised head when the audit starts.
pub struct RpcSource {
    rt: tokio::runtime::Runtime,
    client: WattClient,
    url: String,
    genesis: Genesis,
    next: u64,
    head: u64,
    buffer: VecDeque<(Block, CommitCertificate)>,
}

impl RpcSource {
    /// Connects and reads the genesis and the finalised head.
    pub fn connect(url: &str) -> Result<Self, AuditError> {
        // One port serves HTTP and WebSocket; the typed client speaks HTTP.
        let http = url
            .replacen("wss://", "https://", 1)
            .replacen("ws://", "http://", 1);
        let input = |e: String| AuditError::Input(format!("{url}: {e}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| input(e.to_string()))?;
        let client = WattClient::new(&http).map_err(|e| input(e.to_string()))?;
        let info = rt
            .block_on(client.idempotent(|c| async move { ChainApiClient::genesis(&c).await }))
            .map_err(|e| input(e.to_string()))?;
        let genesis: Genesis =
            decode(&info.encoded.0).map_err(|e| input(format!("genesis does not decode: {e}")))?;
        if genesis.chain_id() != info.chain_id {
            return Err(input(format!(
                "the node's genesis hashes to {}, not the chain id {} it names",
                genesis.chain_id(),
                info.chain_id
            )));
        }
        let head = rt
            .block_on(
                client.idempotent(|c| async move { ChainApiClient::finalized_head(&c).await }),
            )
            .map_err(|e| input(e.to_string()))?
            .map_or(0, |h| h.height.0);
        Ok(RpcSource {
            rt,
            client,
            url: url.to_string(),
            genesis,
            next: 1,
            head,
            buffer: VecDeque::new(),
        })
    }

    fn fetch(&mut self) -> Result<(), AuditError> {
        let from = Height(self.next);
        let count = MAX_BLOCKS_PER_CALL
            .min(u32::try_from(self.head - self.next + 1).unwrap_or(MAX_BLOCKS_PER_CALL));
        let url = self.url.clone();
        let input = |e: String| AuditError::Input(format!("{url}: {e}"));
        let blocks = self
            .rt
            .block_on(
                self.client
                    .idempotent(|c| async move { ChainApiClient::blocks(&c, from, count).await }),
            )
            .map_err(|e| input(e.to_string()))?;
        if blocks.is_empty() {
            return Err(input(format!(
                "no block at height {from} below the head {}",
                self.head
            )));
        }
        for b in blocks {
            let h = b.header.height;
            let block: Block = decode(&b.encoded.0)
                .map_err(|e| input(format!("block {h} does not decode: {e}")))?;
            let cert_bytes = b
                .commit_encoded
                .ok_or_else(|| input(format!("block {h} comes without its commit certificate")))?;
            let cert: CommitCertificate = decode(&cert_bytes.0)
                .map_err(|e| input(format!("certificate {h} does not decode: {e}")))?;
            self.next = h.0 + 1;
            self.buffer.push_back((block, cert));
        }
        Ok(())
    }
}

impl RpcSource {
    /// Yields heights `from` to `to` (or the head) only, for exports.
    pub fn within(mut self, from: Height, to: Option<Height>) -> Self {
        (self.next, self.head) = span(from, to, self.head);
        self
    }
}

impl BlockSource for RpcSource {
    fn describe(&self) -> String {
        format!("node {}", self.url)
    }
    fn genesis(&self) -> &Genesis {
        &self.genesis
    }
    fn total(&self) -> Option<u64> {
        Some(self.head)
    }
    fn next_block(&mut self) -> Result<Option<(Block, CommitCertificate)>, AuditError> {
        if self.buffer.is_empty() && self.next <= self.head {
            self.fetch()?;
        }
        Ok(self.buffer.pop_front())
    }
}
