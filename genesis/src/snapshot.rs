//! The state snapshot a recovery fork starts from.
//!
//! When more than a third of the authorities are lost for good, the chain
//! cannot finalise again. `watt genesis fork` writes the old chain's whole
//! state at its last finalised height into a snapshot file and a new
//! genesis document whose `continues` names the old chain id, that height
//! and that state root. The document's hash (the new chain id) commits to
//! the root, and the root commits to every entry, so the snapshot needs no
//! signature of its own: a snapshot whose entries do not hash to the root
//! is refused.
//!
//! File layout: the magic `WATTSNAP`, a format version (u32 little-endian),
//! the borsh encoding of `(old chain id, height, state root, entries)` with
//! the entries sorted by key, then the blake3 hash of everything before it,
//! so a truncated or damaged file is named as such before it is decoded.

use std::collections::BTreeMap;
use std::path::Path;
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::{decode, encode};
use watt_runtime::genesis::{Continuation, Genesis};
use watt_runtime::types::Height;

const MAGIC: &[u8; 8] = b"WATTSNAP";
const VERSION: u32 = 1;

/// The old chain's state at one height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateSnapshot {
    /// What the snapshot is of: the old chain, its height and state root.
    pub of: Continuation,
    /// Every state entry: encoded key to encoded value.
    pub entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// Why a snapshot file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file could not be read or written.
    #[error("state snapshot {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a snapshot, is damaged or truncated.
    #[error("state snapshot {path}: {reason}")]
    Malformed {
        /// The path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The snapshot is of another chain, height or root than the genesis
    /// document continues.
    #[error("state snapshot is of chain {found_chain} at height {found_height}, the genesis continues chain {chain} at height {height}")]
    Mismatch {
        /// The snapshot's chain.
        found_chain: Hash,
        /// The snapshot's height.
        found_height: Height,
        /// The genesis's chain.
        chain: Hash,
        /// The genesis's height.
        height: Height,
    },
}

impl StateSnapshot {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let entries: Vec<(&Vec<u8>, &Vec<u8>)> = self.entries.iter().collect();
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&encode(&(
            self.of.chain_id,
            self.of.height,
            self.of.state_root,
            entries,
        )));
        let sum = blake3::hash(&out);
        out.extend_from_slice(sum.as_bytes());
        out
    }

    /// Parses a file's bytes; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<Self, SnapshotError> {
        let bad = |reason: &str| SnapshotError::Malformed {
            path: path.into(),
            reason: reason.into(),
        };
        if bytes.len() < MAGIC.len() + 4 + 32 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad("not a Watt state snapshot (no WATTSNAP header)"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 32);
        if blake3::hash(body).as_bytes() != sum {
            return Err(bad("checksum mismatch: the file is truncated or damaged"));
        }
        let version = u32::from_le_bytes([body[8], body[9], body[10], body[11]]);
        if version != VERSION {
            return Err(bad(&format!(
                "format version {version}; this watt reads version {VERSION}"
            )));
        }
        type Body = (Hash, Height, Hash, Vec<(Vec<u8>, Vec<u8>)>);
        let (chain_id, height, state_root, list): Body =
            decode(&body[12..]).map_err(|e| bad(&format!("cannot decode: {e}")))?;
        let count = list.len();
        let entries: BTreeMap<Vec<u8>, Vec<u8>> = list.into_iter().collect();
        if entries.len() != count {
            return Err(bad("a key appears twice"));
        }
        Ok(StateSnapshot {
            of: Continuation {
                chain_id,
                height,
                state_root,
            },
            entries,
        })
    }

    /// Writes the file (to a temporary name first, then renamed).
    pub fn write(&self, path: &Path) -> Result<(), SnapshotError> {
        let io = |source| SnapshotError::Io {
            path: path.display().to_string(),
            source,
        };
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, self.to_bytes()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads a file.
    pub fn read(path: &Path) -> Result<Self, SnapshotError> {
        let bytes = std::fs::read(path).map_err(|source| SnapshotError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Checks that this is the state `genesis` continues (the root itself
    /// is checked when the state is built).
    pub fn check_for(&self, genesis: &Genesis) -> Result<(), SnapshotError> {
        match &genesis.continues {
            Some(c) if c.chain_id == self.of.chain_id && c.height == self.of.height => Ok(()),
            other => Err(SnapshotError::Mismatch {
                found_chain: self.of.chain_id,
                found_height: self.of.height,
                chain: other.as_ref().map_or(Hash::ZERO, |c| c.chain_id),
                height: other.as_ref().map_or(Height(0), |c| c.height),
            }),
        }
    }
}
