//! The signing record: what this validator has signed, in its own small
//! synced file beside its consensus key (docs/security.md §4), not in the chain
//! database, so that wiping or restoring a data directory can never make
//! it sign twice.
//!
//! The file is `WATTSIG1`, the chain id (32 bytes), the borsh encoding of
//! the [`PersistedState`], and a blake3 hash of everything before it. It is
//! replaced atomically on every save: written to a temporary file beside
//! it, synced, renamed over the old one, and the directory synced.
//!
//! The file sits beside the consensus key, named after the key and the
//! chain ([`SigningRecord::path_for_key`]).
//!
//! A validator that starts without its record, or with a record older than
//! its chain data, cannot know what it signed before: it starts catching
//! up ([`SigningGate::CatchingUp`]) and signs nothing until it has seen the
//! chain decide, by a verified certificate, a height it was working on.
//! Only on the first start of a new chain may the operator say otherwise
//! (`watt run --new-chain`), and that is refused once this validator has
//! seen any height decided.

use crate::consensus::{PersistedState, SigningGate};
use borsh::{BorshDeserialize, BorshSerialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use watt_runtime::crypto::Hash;
use watt_runtime::types::Height;

const MAGIC: &[u8; 8] = b"WATTSIG1";

/// Why the signing record cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Reading or writing failed.
    #[error("signing record {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is damaged.
    #[error("signing record {path} is damaged ({reason}): move it aside and start again without it (the validator then signs nothing until it has caught up); never put an older copy in its place (a record older than what the key signed could let it sign twice)")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The record belongs to another chain.
    #[error("signing record {path} belongs to chain {got}, not {expected}: a key that validates a new chain needs its own record (move the old one away)")]
    OtherChain {
        /// The file.
        path: String,
        /// Its chain.
        got: Hash,
        /// This node's chain.
        expected: Hash,
    },
    /// `--new-chain` on a chain this validator has already seen decide.
    #[error("--new-chain is only for the first start of a new chain, but {why}; start without it")]
    NotANewChain {
        /// What shows the chain has started.
        why: String,
    },
}

#[derive(BorshSerialize, BorshDeserialize)]
struct Body {
    state: PersistedState,
    /// The highest height this validator has seen decided (kept so that a
    /// `--new-chain` start is refused once the chain has moved).
    decided: Height,
}

/// How the record was found at start, for the operator's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opening {
    /// An existing record, up to date.
    Resumed,
    /// A new record on the first start of a new chain.
    NewChain,
    /// Moved from the chain database, where older versions kept it.
    Migrated,
    /// Missing or older than the chain data: signing waits.
    CatchingUp {
        /// Why, for the log.
        reason: String,
    },
}

/// What [`SigningRecord::open`] needs to know.
pub struct OpenOptions {
    /// The chain.
    pub chain_id: Hash,
    /// The node's finalised height in its data directory.
    pub data_head: Height,
    /// The operator says this is the first start of a new chain.
    pub new_chain: bool,
    /// A record older versions kept in the chain database, if any.
    pub legacy: Option<PersistedState>,
}

/// The open signing record.
pub struct SigningRecord {
    path: PathBuf,
    chain_id: Hash,
    body: Body,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RecordError + '_ {
    move |source| RecordError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl SigningRecord {
    /// The record's path for a consensus key file on a chain: beside the
    /// key, `<key file>.<first 8 bytes of the chain id>.signing` (one key
    /// may validate a chain and, after a recovery fork, its successor:
    /// each chain has its own record).
    pub fn path_for_key(key: &Path, chain_id: &Hash) -> PathBuf {
        let mut name = key.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{}.signing", hex::encode(&chain_id.0[..8])));
        key.with_file_name(name)
    }

    /// Opens (or creates) the record at `path`; see the module docs for the
    /// rules.
    pub fn open(path: &Path, opts: OpenOptions) -> Result<(Self, Opening), RecordError> {
        let existing = match std::fs::read(path) {
            Ok(bytes) => Some(Self::parse(path, &bytes, &opts.chain_id)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(path)(e)),
        };
        let decided = existing.as_ref().map_or(Height(0), |b| b.decided);
        if opts.new_chain {
            let why = if opts.data_head.0 > 0 {
                Some(format!(
                    "the data directory holds blocks up to height {}",
                    opts.data_head
                ))
            } else if decided.0 > 0 {
                Some(format!(
                    "the signing record has seen height {decided} decided"
                ))
            } else {
                None
            };
            if let Some(why) = why {
                return Err(RecordError::NotANewChain { why });
            }
        }
        let (body, opening) = match (existing, opts.legacy) {
            (Some(mut body), _) => {
                let known = body.state.last_signed_height().max(body.decided);
                if opts.new_chain {
                    body.state.open_from(Height(0));
                    (body, Opening::NewChain)
                } else if body.state.gate() == SigningGate::CatchingUp {
                    (
                        body,
                        Opening::CatchingUp {
                            reason: "it was still catching up when it stopped".into(),
                        },
                    )
                } else if known < opts.data_head {
                    // The high-water marks stay: they still forbid what
                    // they forbid.
                    body.state.close();
                    (
                        body,
                        Opening::CatchingUp {
                            reason: format!(
                                "the record knows height {known} but the data directory holds height {}: the record may be an old copy",
                                opts.data_head
                            ),
                        },
                    )
                } else {
                    (body, Opening::Resumed)
                }
            }
            (None, Some(legacy)) => (
                Body {
                    state: legacy,
                    decided: opts.data_head,
                },
                Opening::Migrated,
            ),
            (None, None) if opts.new_chain => (
                Body {
                    state: PersistedState::default(),
                    decided: Height(0),
                },
                Opening::NewChain,
            ),
            (None, None) => (
                Body {
                    state: PersistedState::catching_up(),
                    decided: opts.data_head,
                },
                Opening::CatchingUp {
                    reason: "it has no signing record".into(),
                },
            ),
        };
        let mut record = SigningRecord {
            path: path.to_path_buf(),
            chain_id: opts.chain_id,
            body,
        };
        record.save()?;
        Ok((record, opening))
    }

    fn parse(path: &Path, bytes: &[u8], chain_id: &Hash) -> Result<Body, RecordError> {
        let corrupt = |reason: &str| RecordError::Corrupt {
            path: path.display().to_string(),
            reason: reason.into(),
        };
        if bytes.len() < MAGIC.len() + 64 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(corrupt("not a signing record"));
        }
        let (content, sum) = bytes.split_at(bytes.len() - 32);
        if blake3::hash(content).as_bytes() != sum {
            return Err(corrupt("checksum mismatch"));
        }
        let mut id = [0u8; 32];
        id.copy_from_slice(&content[MAGIC.len()..MAGIC.len() + 32]);
        if Hash(id) != *chain_id {
            return Err(RecordError::OtherChain {
                path: path.display().to_string(),
                got: Hash(id),
                expected: *chain_id,
            });
        }
        borsh::from_slice::<Body>(&content[MAGIC.len() + 32..]).map_err(|e| corrupt(&e.to_string()))
    }

    /// What the validator has signed.
    pub fn state(&self) -> &PersistedState {
        &self.body.state
    }

    /// Replaces the state (after the core recorded a new entry) and makes
    /// it durable before returning.
    pub fn store(&mut self, state: &PersistedState) -> Result<(), RecordError> {
        self.body.state = state.clone();
        self.save()
    }

    /// Notes a decided height. Durable at the next save, except the first
    /// one, which is saved at once (it ends `--new-chain` starts).
    pub fn decided(&mut self, height: Height) -> Result<(), RecordError> {
        let first = self.body.decided.0 == 0 && height.0 > 0;
        self.body.decided = self.body.decided.max(height);
        if first {
            self.save()?;
        }
        Ok(())
    }

    /// Whether signing waits for the validator to catch up.
    pub fn catching_up(&self) -> bool {
        self.body.state.gate() == SigningGate::CatchingUp
    }

    /// Opens signing from `height` and saves.
    pub fn open_from(&mut self, height: Height) -> Result<(), RecordError> {
        self.body.state.open_from(height);
        self.save()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn save(&mut self) -> Result<(), RecordError> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&self.chain_id.0);
        bytes.extend(borsh::to_vec(&self.body).map_err(io(&self.path))?);
        let sum = blake3::hash(&bytes);
        bytes.extend_from_slice(sum.as_bytes());
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(".signing-")
            .tempfile_in(dir)
            .map_err(io(&self.path))?;
        tmp.write_all(&bytes).map_err(io(&self.path))?;
        tmp.as_file().sync_all().map_err(io(&self.path))?;
        tmp.persist(&self.path)
            .map_err(|e| io(&self.path)(e.error))?;
        // The rename is durable only once the directory is.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.path))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIN: Hash = Hash([3; 32]);

    fn opts(head: u64, new_chain: bool) -> OpenOptions {
        OpenOptions {
            chain_id: CHAIN,
            data_head: Height(head),
            new_chain,
            legacy: None,
        }
    }

    #[test]
    fn a_missing_record_waits_unless_the_chain_is_new() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.key.signing");
        let (r, how) = SigningRecord::open(&path, opts(0, false)).unwrap();
        assert!(matches!(how, Opening::CatchingUp { .. }));
        assert!(r.catching_up());
        // The next start still waits: the file says so.
        let (r, how) = SigningRecord::open(&path, opts(0, false)).unwrap();
        assert!(matches!(how, Opening::CatchingUp { .. }) && r.catching_up());
        // The first start of a new chain opens it.
        let (mut r, how) = SigningRecord::open(&path, opts(0, true)).unwrap();
        assert_eq!(how, Opening::NewChain);
        assert!(!r.catching_up());
        // Once a height was decided, --new-chain is refused.
        r.decided(Height(1)).unwrap();
        let err = SigningRecord::open(&path, opts(0, true)).err().unwrap();
        assert!(matches!(err, RecordError::NotANewChain { .. }), "{err}");
        let err = SigningRecord::open(&dir.path().join("other"), opts(5, true))
            .err()
            .unwrap();
        assert!(err.to_string().contains("height 5"), "{err}");
    }

    #[test]
    fn a_record_older_than_the_data_waits_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.key.signing");
        let (mut r, _) = SigningRecord::open(&path, opts(0, true)).unwrap();
        r.decided(Height(4)).unwrap();
        r.store(&r.state().clone()).unwrap();
        let (_, how) = SigningRecord::open(&path, opts(4, false)).unwrap();
        assert_eq!(how, Opening::Resumed);
        let (r, how) = SigningRecord::open(&path, opts(9, false)).unwrap();
        assert!(matches!(how, Opening::CatchingUp { .. }), "{how:?}");
        assert!(r.catching_up());
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 40] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = SigningRecord::open(&path, opts(9, false)).err().unwrap();
        assert!(matches!(err, RecordError::Corrupt { .. }), "{err}");
        let err = SigningRecord::open(
            &path,
            OpenOptions {
                chain_id: Hash([4; 32]),
                ..opts(9, false)
            },
        )
        .err()
        .unwrap();
        assert!(matches!(
            err,
            RecordError::Corrupt { .. } | RecordError::OtherChain { .. }
        ));
    }
}
