//! The chain export file: the genesis and the canonical blocks with their
//! commit certificates, as a stream of checksummed frames
//! (`docs/encoding.md`, "Chain export files").
//!
//! ```text
//! header   "WATTEXP\0" (8) | version u32 LE (= 1) | chain id (32) | first height u64 LE
//! frame    kind u8 | length u32 LE | payload | checksum (32)
//!          kind 1: genesis   payload = the genesis document's canonical encoding
//!          kind 2: block     payload = block encoding || commit certificate encoding
//!          kind 3: trailer   payload = blocks u64 LE | last height u64 LE | last hash (32)
//! checksum = BLAKE3 derive_key("watt export v1 frame") over kind | length | payload
//! ```
//!
//! The checksum makes a truncated or damaged file a clear error; it is no
//! defence against a forger, who can recompute it. Everything that matters
//! is verified by replaying the blocks (the auditor, `watt chain import`).

use std::io::{BufReader, BufWriter, Read, Write};
use watt_runtime::block::{Block, CommitCertificate};
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::{decode, encode};
use watt_runtime::genesis::Genesis;
use watt_runtime::types::Height;

/// The first eight bytes of every export file.
pub const MAGIC: [u8; 8] = *b"WATTEXP\0";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// The largest frame payload accepted (a block is at most a few MiB).
pub const MAX_FRAME: u32 = 64 * 1024 * 1024;
/// The checksum's BLAKE3 key-derivation context.
const CHECKSUM_CONTEXT: &str = "watt export v1 frame";

/// Frame kinds.
mod kind {
    pub const GENESIS: u8 = 1;
    pub const BLOCK: u8 = 2;
    pub const TRAILER: u8 = 3;
}

/// Why an export file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading or writing failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The file does not start with the magic bytes.
    #[error("not a Watt chain export file (bad magic bytes)")]
    BadMagic,
    /// Another format version.
    #[error("export format version {0} is not understood (this watt reads version {VERSION})")]
    Version(u32),
    /// The file ends inside a frame or before its trailer.
    #[error("export file is truncated {0}")]
    Truncated(String),
    /// A frame's checksum does not match.
    #[error("export frame {index} (after height {after}) is damaged: checksum mismatch")]
    Checksum {
        /// The frame's index in the file (the genesis is 0).
        index: u64,
        /// The last height before it.
        after: u64,
    },
    /// A frame is malformed.
    #[error("export frame {index}: {reason}")]
    Malformed {
        /// The frame's index.
        index: u64,
        /// What is wrong.
        reason: String,
    },
}

/// A frame's checksum: BLAKE3 `derive_key("watt export v1 frame")` over
/// kind, length (u32 LE) and payload.
pub fn checksum(kind: u8, payload: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key(CHECKSUM_CONTEXT);
    h.update(&[kind]);
    h.update(&(payload.len() as u32).to_le_bytes());
    h.update(payload);
    *h.finalize().as_bytes()
}

/// Writes an export file frame by frame.
pub struct ExportWriter<W: Write> {
    out: BufWriter<W>,
    blocks: u64,
    last: Option<(Height, Hash)>,
}

impl<W: Write> ExportWriter<W> {
    /// Starts a file: header and genesis frame. `first` is the first block
    /// height the file will hold.
    pub fn new(out: W, genesis: &Genesis, first: Height) -> Result<Self, ExportError> {
        let mut out = BufWriter::new(out);
        out.write_all(&MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        out.write_all(&genesis.chain_id().0)?;
        out.write_all(&first.0.to_le_bytes())?;
        let mut w = ExportWriter {
            out,
            blocks: 0,
            last: None,
        };
        w.frame(kind::GENESIS, &encode(genesis))?;
        Ok(w)
    }

    fn frame(&mut self, kind: u8, payload: &[u8]) -> Result<(), ExportError> {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|l| *l <= MAX_FRAME)
            .ok_or_else(|| ExportError::Malformed {
                index: self.blocks + 1,
                reason: format!("frame of {} bytes is too large", payload.len()),
            })?;
        self.out.write_all(&[kind])?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(payload)?;
        self.out.write_all(&checksum(kind, payload))?;
        Ok(())
    }

    /// Appends a block with its commit certificate.
    pub fn block(&mut self, block: &Block, commit: &CommitCertificate) -> Result<(), ExportError> {
        let mut payload = encode(block);
        payload.extend_from_slice(&encode(commit));
        self.frame(kind::BLOCK, &payload)?;
        self.blocks += 1;
        self.last = Some((block.header.height, block.hash()));
        Ok(())
    }

    /// Writes the trailer and flushes; returns the blocks written.
    pub fn finish(mut self) -> Result<u64, ExportError> {
        let (h, hash) = self.last.unwrap_or((Height(0), Hash::ZERO));
        let mut payload = self.blocks.to_le_bytes().to_vec();
        payload.extend_from_slice(&h.0.to_le_bytes());
        payload.extend_from_slice(&hash.0);
        self.frame(kind::TRAILER, &payload)?;
        self.out.flush()?;
        Ok(self.blocks)
    }
}

/// Reads an export file frame by frame; memory holds one block at a time.
pub struct ExportReader<R: Read> {
    input: BufReader<R>,
    /// The chain id the header names.
    pub chain_id: Hash,
    /// The first block height the file holds.
    pub first: Height,
    genesis: Option<Genesis>,
    frames: u64,
    last_height: u64,
    blocks: u64,
    last_hash: Hash,
    done: bool,
    /// Bytes read so far (for progress).
    pub bytes_read: u64,
}

impl<R: Read> ExportReader<R> {
    /// Reads the header and the genesis frame.
    pub fn new(input: R) -> Result<Self, ExportError> {
        let mut input = BufReader::with_capacity(1 << 20, input);
        let mut head = [0u8; 52];
        let full = read_full(&mut input, &mut head)?;
        if head[..8] != MAGIC {
            return Err(ExportError::BadMagic);
        }
        if !full {
            return Err(ExportError::Truncated("inside the file header".into()));
        }
        let version = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        if version != VERSION {
            return Err(ExportError::Version(version));
        }
        let mut chain_id = [0u8; 32];
        chain_id.copy_from_slice(&head[12..44]);
        let mut first = [0u8; 8];
        first.copy_from_slice(&head[44..52]);
        let mut r = ExportReader {
            input,
            chain_id: Hash(chain_id),
            first: Height(u64::from_le_bytes(first)),
            genesis: None,
            frames: 0,
            last_height: 0,
            blocks: 0,
            last_hash: Hash::ZERO,
            done: false,
            bytes_read: 52,
        };
        let (k, payload) = r.frame()?;
        if k != kind::GENESIS {
            return Err(r.malformed("the first frame is not the genesis"));
        }
        let genesis: Genesis =
            decode(&payload).map_err(|e| r.malformed(format!("genesis: {e}")))?;
        if genesis.chain_id() != r.chain_id {
            return Err(r.malformed(format!(
                "the genesis is of chain {}, the header names {}",
                genesis.chain_id(),
                r.chain_id
            )));
        }
        r.genesis = Some(genesis);
        Ok(r)
    }

    fn malformed(&self, reason: impl Into<String>) -> ExportError {
        ExportError::Malformed {
            index: self.frames,
            reason: reason.into(),
        }
    }

    /// The genesis the file carries.
    pub fn genesis(&self) -> Option<&Genesis> {
        self.genesis.as_ref()
    }

    fn frame(&mut self) -> Result<(u8, Vec<u8>), ExportError> {
        let after = self.last_height;
        let truncated = || {
            ExportError::Truncated(format!(
                "after height {after} (no trailer: the file was cut short)"
            ))
        };
        let mut head = [0u8; 5];
        if !read_full(&mut self.input, &mut head)? {
            return Err(truncated());
        }
        let kind = head[0];
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
        if len > MAX_FRAME {
            return Err(self.malformed(format!("frame length {len} is above the maximum")));
        }
        let mut payload = vec![0u8; len as usize];
        if !read_full(&mut self.input, &mut payload)? {
            return Err(truncated());
        }
        let mut sum = [0u8; 32];
        if !read_full(&mut self.input, &mut sum)? {
            return Err(truncated());
        }
        if sum != checksum(kind, &payload) {
            return Err(ExportError::Checksum {
                index: self.frames,
                after,
            });
        }
        self.bytes_read += 5 + u64::from(len) + 32;
        self.frames += 1;
        Ok((kind, payload))
    }

    /// The next block with its certificate; `None` after a valid trailer.
    pub fn next_block(&mut self) -> Result<Option<(Block, CommitCertificate)>, ExportError> {
        if self.done {
            return Ok(None);
        }
        let (k, payload) = self.frame()?;
        match k {
            kind::BLOCK => {
                let (block, cert): (Block, CommitCertificate) = decode(&payload)
                    .map_err(|e| self.malformed(format!("block and certificate: {e}")))?;
                self.last_height = block.header.height.0;
                self.last_hash = block.hash();
                self.blocks += 1;
                Ok(Some((block, cert)))
            }
            kind::TRAILER => {
                if payload.len() != 48 {
                    return Err(self.malformed("trailer is not 48 bytes"));
                }
                let blocks = u64::from_le_bytes(payload[0..8].try_into().unwrap_or_default());
                let last = u64::from_le_bytes(payload[8..16].try_into().unwrap_or_default());
                if blocks != self.blocks
                    || last != self.last_height
                    || payload[16..] != self.last_hash.0
                {
                    return Err(self.malformed(format!(
                        "trailer names {blocks} blocks up to height {last}, the file holds {} up to {}",
                        self.blocks, self.last_height
                    )));
                }
                let mut extra = [0u8; 1];
                if self.input.read(&mut extra)? != 0 {
                    return Err(self.malformed("data after the trailer"));
                }
                self.done = true;
                Ok(None)
            }
            other => Err(self.malformed(format!("unknown frame kind {other}"))),
        }
    }
}

/// Fills `buf`; `false` if the input ended before it was full (an empty
/// read at the very start included).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<bool, std::io::Error> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => return Ok(false),
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}
