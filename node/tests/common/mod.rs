//! What the in-process audit tests share: the options of a quiet audit
//! that trusts its source's genesis, and an export of a data directory.

use std::path::{Path, PathBuf};
use watt_node::audit::export::ExportWriter;
use watt_node::audit::source::{BlockSource, StoreSource};
use watt_node::audit::{AuditOptions, ExpectedChain, ProgressMode};
use watt_runtime::types::Height;

/// A quiet audit of `source` into `out`, trusting the source's genesis.
pub fn audit_opts(source: &Path, out: &Path) -> AuditOptions {
    AuditOptions {
        source: source.display().to_string(),
        expected: ExpectedChain::TrustSource,
        checkpoint: None,
        genesis_state: None,
        out: out.to_path_buf(),
        progress: ProgressMode::Quiet,
        parquet: false,
    }
}

/// Exports the data directory `data` into `file`; asserts `blocks` blocks.
pub fn export_store(data: &Path, file: PathBuf, blocks: u64) -> PathBuf {
    let mut src = StoreSource::open(data).unwrap();
    let f = std::fs::File::create(&file).unwrap();
    let mut w = ExportWriter::new(f, src.genesis(), Height(1)).unwrap();
    while let Some((block, cert)) = src.next_block().unwrap() {
        w.block(&block, &cert).unwrap();
    }
    assert_eq!(w.finish().unwrap(), blocks);
    file
}
