//! `watt chain import`: an export file into a fresh data directory.
//!
//! Every block goes through the node's own import path
//! ([`Chain::import_decided`]: the certificate against the validator set of
//! its height, linkage, every signature in batches, execution, every root)
//! and is committed. The directory is built aside and renamed into place
//! only when the whole file imported, so a tampered or truncated file
//! leaves nothing that looks like a valid data directory.

use super::export::ExportReader;
use super::AuditError;
use crate::chain::{Chain, ChainError};
use crate::mempool::{Config, Mempool};
use crate::storage::Store;
use std::path::Path;
use watt_runtime::crypto::Hash;
use watt_runtime::types::Height;

/// Imports `file` into the new data directory `target`; returns the blocks
/// imported and the chain id.
pub fn import(file: &Path, target: &Path) -> Result<(u64, Hash), AuditError> {
    let input = |e: String| AuditError::Input(format!("export file {}: {e}", file.display()));
    if target.exists()
        && std::fs::read_dir(target)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(AuditError::Input(format!(
            "{} already exists and is not empty: import needs a fresh data directory",
            target.display()
        )));
    }
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let out = |e: std::io::Error| AuditError::Output(format!("{}: {e}", parent.display()));
    std::fs::create_dir_all(parent).map_err(out)?;
    let f = std::fs::File::open(file).map_err(|e| input(e.to_string()))?;
    let mut reader = ExportReader::new(f).map_err(|e| input(e.to_string()))?;
    if reader.first.0 != 1 {
        return Err(input(format!(
            "it starts at height {}; a fresh data directory needs a file that starts at height 1",
            reader.first
        )));
    }
    let genesis = reader
        .genesis()
        .cloned()
        .ok_or_else(|| input("no genesis".into()))?;
    // Removed on any failure when dropped.
    let work = tempfile::Builder::new()
        .prefix(".watt-import-")
        .tempdir_in(parent)
        .map_err(out)?;
    let count = {
        let store = Store::open(work.path(), &genesis).map_err(|e| input(e.to_string()))?;
        let mut chain =
            Chain::new(store, Mempool::new(Config::default())).map_err(|e| input(e.to_string()))?;
        let mut count = 0u64;
        while let Some((block, cert)) = reader.next_block().map_err(|e| input(e.to_string()))? {
            let h = block.header.height;
            chain
                .import_decided(block, cert)
                .map_err(|e| refused(h, e))?;
            count += 1;
            if count % 10_000 == 0 {
                eprintln!("imported {count} blocks");
            }
        }
        count
    };
    // The store is closed; the directory becomes the data directory.
    let built = work.keep();
    let placed = (|| {
        if target.exists() {
            std::fs::remove_dir(target)?;
        }
        std::fs::rename(&built, target)
    })();
    if let Err(e) = placed {
        let _ = std::fs::remove_dir_all(&built);
        return Err(AuditError::Output(format!("{}: {e}", target.display())));
    }
    Ok((count, genesis.chain_id()))
}

fn refused(h: Height, e: ChainError) -> AuditError {
    match e {
        ChainError::Invalid { height, source } => AuditError::InvalidBlock {
            height,
            error: source,
        },
        ChainError::Certificate { height, source } => AuditError::Discrepancy {
            height,
            object: "commit certificate".into(),
            reason: source.to_string(),
        },
        other => AuditError::Discrepancy {
            height: h,
            object: "block".into(),
            reason: other.to_string(),
        },
    }
}
