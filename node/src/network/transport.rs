//! The encrypted, authenticated channel between two nodes (docs/encoding.md §14).
//!
//! 1. A Noise XX handshake (`Noise_XX_25519_ChaChaPoly_BLAKE2s`) with a
//!    fresh X25519 static key per connection: confidentiality and a shared
//!    handshake hash `h`.
//! 2. Each side sends, encrypted, its ed25519 identity key and its signature
//!    of `Domain::Handshake.signing_hash(chain_id, h)`. A bad signature (or
//!    a peer of another chain) ends the session; so does, on a dial to a
//!    configured peer, any key but the expected one.
//! 3. Messages: each is a `u32` little-endian length and the bytes, split
//!    into Noise messages of at most 65,535 bytes on the wire, each framed
//!    by a big-endian `u16` length (the Noise convention). A message over
//!    the session's maximum is refused before it is read.
//!
//! After the handshake the session splits into a [`Reader`] and a
//! [`Writer`] with their own nonces, so one task can read while another
//! writes.

use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use watt_runtime::crypto::{Domain, Hash, Keypair, PublicKey, Signature};

/// The Noise protocol name.
pub const NOISE_PARAMS: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
/// The largest Noise message on the wire.
const NOISE_MAX: usize = 65_535;
/// The AEAD tag of each Noise message.
const TAG: usize = 16;
/// Plaintext per Noise message.
const CHUNK: usize = NOISE_MAX - TAG;
/// The identity message: key and signature.
const IDENTITY_LEN: usize = 32 + 64;

/// Why a session failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The socket failed or closed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The Noise protocol failed: garbage, a tampered or replayed message.
    #[error("noise: {0}")]
    Noise(String),
    /// The peer's identity message is malformed.
    #[error("malformed identity message: {0}")]
    BadIdentity(String),
    /// The peer's signature over the handshake does not verify (or it is on
    /// another chain).
    #[error("peer {key} did not sign this handshake for this chain")]
    BadSignature {
        /// The key it claimed.
        key: PublicKey,
    },
    /// A configured peer presented another key.
    #[error("expected peer {expected}, got {got}")]
    UnexpectedKey {
        /// The configured key.
        expected: PublicKey,
        /// The key presented.
        got: PublicKey,
    },
    /// A message above the session's maximum.
    #[error("message of {size} bytes is over the {max}-byte maximum")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The maximum.
        max: usize,
    },
    /// The handshake did not finish in time.
    #[error("handshake timed out")]
    Timeout,
}

fn noise(e: snow::Error) -> TransportError {
    TransportError::Noise(e.to_string())
}

async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Vec<u8>, TransportError> {
    let len = r.read_u16().await? as usize;
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, bytes: &[u8]) -> Result<(), TransportError> {
    let len = u16::try_from(bytes.len())
        .map_err(|_| TransportError::Noise("frame over 65535 bytes".into()))?;
    w.write_u16(len).await?;
    w.write_all(bytes).await?;
    Ok(())
}

/// What the handshake needs to know.
pub struct HandshakeConfig<'a> {
    /// This node's identity.
    pub identity: &'a Keypair,
    /// The chain: a peer of another chain fails the handshake.
    pub chain_id: Hash,
    /// The key a dialled, configured peer must present.
    pub expected: Option<PublicKey>,
    /// The largest message either side may send.
    pub max_message: usize,
    /// How long the whole handshake may take.
    pub timeout: Duration,
}

/// Runs the handshake over `stream` as the dialler (`initiator`) or the
/// listener, and returns the two halves of the session.
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    initiator: bool,
    cfg: HandshakeConfig<'_>,
) -> Result<(Reader<S>, Writer<S>), TransportError> {
    tokio::time::timeout(cfg.timeout, handshake_inner(stream, initiator, &cfg))
        .await
        .map_err(|_| TransportError::Timeout)?
}

async fn handshake_inner<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    initiator: bool,
    cfg: &HandshakeConfig<'_>,
) -> Result<(Reader<S>, Writer<S>), TransportError> {
    let params: snow::params::NoiseParams = NOISE_PARAMS.parse().map_err(noise)?;
    let builder = snow::Builder::new(params);
    let static_key = builder.generate_keypair().map_err(noise)?;
    let builder = builder.local_private_key(&static_key.private);
    let mut hs = if initiator {
        builder.build_initiator()
    } else {
        builder.build_responder()
    }
    .map_err(noise)?;
    let mut buf = vec![0u8; NOISE_MAX];
    let mut payload = vec![0u8; NOISE_MAX];
    // XX: -> e; <- e, ee, s, es; -> s, se.
    for step in 0..3 {
        let ours = (step % 2 == 0) == initiator;
        if ours {
            let n = hs.write_message(&[], &mut buf).map_err(noise)?;
            write_frame(&mut stream, &buf[..n]).await?;
            stream.flush().await?;
        } else {
            let msg = read_frame(&mut stream).await?;
            hs.read_message(&msg, &mut payload).map_err(noise)?;
        }
    }
    let h = Hash(
        hs.get_handshake_hash()
            .try_into()
            .map_err(|_| TransportError::Noise("handshake hash is not 32 bytes".into()))?,
    );
    let transport = Arc::new(hs.into_stateless_transport_mode().map_err(noise)?);
    let (r, w) = tokio::io::split(stream);
    let mut reader = Reader {
        io: r,
        noise: transport.clone(),
        nonce: 0,
        max: IDENTITY_LEN,
        peer: PublicKey::default(),
    };
    let mut writer = Writer {
        io: w,
        noise: transport,
        nonce: 0,
        max: cfg.max_message,
    };
    let message = Domain::Handshake.signing_hash(&cfg.chain_id, &h.0);
    let mut identity = cfg.identity.public().0.to_vec();
    identity.extend_from_slice(&cfg.identity.sign(&message).0);
    writer.send(&identity).await?;
    let theirs = reader.recv().await?;
    let key = check_identity(&theirs, &cfg.chain_id, &h)?;
    if let Some(expected) = cfg.expected {
        if expected != key {
            return Err(TransportError::UnexpectedKey { expected, got: key });
        }
    }
    reader.peer = key;
    reader.max = cfg.max_message;
    Ok((reader, writer))
}

/// Checks a peer's identity message (its ed25519 key, then its signature
/// of the handshake's signing hash for `chain_id` and the Noise handshake
/// hash `h`) and returns the key.
pub fn check_identity(
    bytes: &[u8],
    chain_id: &Hash,
    h: &Hash,
) -> Result<PublicKey, TransportError> {
    if bytes.len() != IDENTITY_LEN {
        return Err(TransportError::BadIdentity(format!(
            "{} bytes, expected {IDENTITY_LEN}",
            bytes.len()
        )));
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes[..32]);
    let mut sig = [0u8; 64];
    sig.copy_from_slice(&bytes[32..]);
    let (key, sig) = (PublicKey(key), Signature(sig));
    let message = Domain::Handshake.signing_hash(chain_id, &h.0);
    watt_runtime::crypto::verify(&key, &message, &sig)
        .map_err(|_| TransportError::BadSignature { key })?;
    Ok(key)
}

/// The receiving half of a session.
pub struct Reader<S> {
    io: ReadHalf<S>,
    noise: Arc<snow::StatelessTransportState>,
    nonce: u64,
    max: usize,
    peer: PublicKey,
}

/// The sending half of a session.
pub struct Writer<S> {
    io: WriteHalf<S>,
    noise: Arc<snow::StatelessTransportState>,
    nonce: u64,
    max: usize,
}

impl<S: AsyncRead + AsyncWrite> Reader<S> {
    /// The peer's verified identity.
    pub fn peer(&self) -> PublicKey {
        self.peer
    }

    async fn chunk(&mut self) -> Result<Vec<u8>, TransportError> {
        let frame = read_frame(&mut self.io).await?;
        let mut out = vec![0u8; frame.len()];
        let n = self
            .noise
            .read_message(self.nonce, &frame, &mut out)
            .map_err(noise)?;
        self.nonce += 1;
        out.truncate(n);
        Ok(out)
    }

    /// The next message. A message announced above the maximum is refused
    /// before its body is read.
    pub async fn recv(&mut self) -> Result<Vec<u8>, TransportError> {
        let first = self.chunk().await?;
        if first.len() < 4 {
            return Err(TransportError::Noise("message without its length".into()));
        }
        let size = u32::from_le_bytes(first[..4].try_into().expect("4 bytes")) as usize;
        if size > self.max {
            return Err(TransportError::TooLarge {
                size,
                max: self.max,
            });
        }
        // Grown as chunks arrive: a peer that announces a large message and
        // then trickles gets no large allocation for free.
        let mut msg = Vec::with_capacity(size.min(CHUNK));
        msg.extend_from_slice(&first[4..]);
        while msg.len() < size {
            let more = self.chunk().await?;
            if more.is_empty() || msg.len() + more.len() > size {
                return Err(TransportError::Noise(format!(
                    "message chunks do not add up to the announced {size} bytes"
                )));
            }
            msg.extend_from_slice(&more);
        }
        if msg.len() != size {
            return Err(TransportError::Noise(format!(
                "message of {} bytes announced as {size}",
                msg.len()
            )));
        }
        Ok(msg)
    }
}

impl<S: AsyncRead + AsyncWrite> Writer<S> {
    /// Sends one message.
    pub async fn send(&mut self, msg: &[u8]) -> Result<(), TransportError> {
        if msg.len() > self.max {
            return Err(TransportError::TooLarge {
                size: msg.len(),
                max: self.max,
            });
        }
        let mut plain = Vec::with_capacity(msg.len() + 4);
        plain.extend_from_slice(&(msg.len() as u32).to_le_bytes());
        plain.extend_from_slice(msg);
        let mut out = vec![0u8; NOISE_MAX];
        for chunk in plain.chunks(CHUNK) {
            let n = self
                .noise
                .write_message(self.nonce, chunk, &mut out)
                .map_err(noise)?;
            self.nonce += 1;
            write_frame(&mut self.io, &out[..n]).await?;
        }
        self.io.flush().await?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "transport_tests.rs"]
mod tests;
