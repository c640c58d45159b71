//! Hashing with domain tags and Watt's single ed25519 acceptance rule.
//!
//! Every hash is `blake3(len(tag) || tag || payload)` where `tag` names the
//! kind of object, so bytes of one kind can never be mistaken for another.
//! Every signed message additionally starts with the chain id, so a
//! signature for one chain is never valid on another.
//!
//! # Acceptance rule
//! A signature `(R, S)` by public key `A` over message `M` is accepted iff:
//! 1. `A` and `R` are canonical encodings of curve points (re-encoding gives
//!    the same 32 bytes),
//! 2. neither `A` nor `R` is of small order, and both are torsion-free (lie in
//!    the prime-order subgroup),
//! 3. `S < L` (canonical scalar),
//! 4. `[S]B = R + [k]A` with `k = SHA-512(R || A || M)` (cofactorless).
//!
//! Points 1 to 3 are checked up front, before either path. With every point in
//! the prime-order subgroup the cofactored and cofactorless equations agree, so
//! the single path (`verify_strict`) and the batch path (`verify_batch`) accept
//! exactly the same set. The batch path is deterministic (its coefficients are
//! derived from a transcript of the inputs), so it is safe in consensus code.

use borsh::{BorshDeserialize, BorshSerialize};
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A 32-byte blake3 digest.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero hash, used for "no parent" and empty subtrees.
    pub const ZERO: Hash = Hash([0u8; 32]);

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses `0x`-prefixed (or bare) hex of exactly 32 bytes.
    pub fn from_hex(s: &str) -> Result<Self, hex::FromHexError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.strip_prefix("0x").unwrap_or(s), &mut out)?;
        Ok(Hash(out))
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0[..8]))
    }
}

impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        Hash::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// The kinds of object that are hashed or signed, each with its own tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// The message a transaction's signer signs.
    Tx,
    /// A transaction's identity: the hash of its full signed encoding.
    TxId,
    /// A block header; its hash is the block hash.
    Header,
    /// A consensus proposal.
    Proposal,
    /// A consensus vote (prevote or precommit).
    Vote,
    /// A commit certificate.
    Commit,
    /// A generation meter reading.
    GenerationReading,
    /// A consumption (mining site) meter reading.
    ConsumptionReading,
    /// A proof of possession of a consensus key.
    ProofOfPossession,
    /// A node of the state tree.
    StateNode,
    /// A state key, hashed to place it in the state tree.
    StateKey,
    /// A state value, hashed into its tree leaf.
    StateValue,
    /// The peer handshake of the network layer.
    Handshake,
    /// The genesis document; its hash is the chain id.
    Genesis,
    /// The Merkle root over a block's transactions.
    TxRoot,
    /// The Merkle root over a block's events.
    EventRoot,
    /// A validator set.
    ValidatorSet,
}

impl Domain {
    /// The ASCII tag that prefixes every hash of this kind.
    pub const fn tag(self) -> &'static str {
        match self {
            Domain::Tx => "watt/tx/v1",
            Domain::TxId => "watt/tx-id/v1",
            Domain::Header => "watt/header/v1",
            Domain::Proposal => "watt/proposal/v1",
            Domain::Vote => "watt/vote/v1",
            Domain::Commit => "watt/commit/v1",
            Domain::GenerationReading => "watt/generation-reading/v1",
            Domain::ConsumptionReading => "watt/consumption-reading/v1",
            Domain::ProofOfPossession => "watt/proof-of-possession/v1",
            Domain::StateNode => "watt/state-node/v1",
            Domain::StateKey => "watt/state-key/v1",
            Domain::StateValue => "watt/state-value/v1",
            Domain::Handshake => "watt/handshake/v1",
            Domain::Genesis => "watt/genesis/v1",
            Domain::TxRoot => "watt/tx-root/v1",
            Domain::EventRoot => "watt/event-root/v1",
            Domain::ValidatorSet => "watt/validator-set/v1",
        }
    }

    /// A hasher already fed with this domain's tag prefix.
    pub fn hasher(self) -> blake3::Hasher {
        let tag = self.tag().as_bytes();
        let mut h = blake3::Hasher::new();
        h.update(&[tag.len() as u8]);
        h.update(tag);
        h
    }

    /// `blake3(len(tag) || tag || payload)`.
    pub fn hash(self, payload: &[u8]) -> Hash {
        let mut h = self.hasher();
        h.update(payload);
        Hash(*h.finalize().as_bytes())
    }

    /// The 32-byte message that is signed for an object of this kind:
    /// `blake3(len(tag) || tag || chain_id || payload)`.
    pub fn signing_hash(self, chain_id: &Hash, payload: &[u8]) -> Hash {
        let mut h = self.hasher();
        h.update(&chain_id.0);
        h.update(payload);
        Hash(*h.finalize().as_bytes())
    }
}

/// An ed25519 public key (32 bytes). Accounts, device keys and consensus
/// keys are all public keys.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// Parses `0x`-prefixed (or bare) hex of exactly 32 bytes.
    pub fn from_hex(s: &str) -> Result<Self, hex::FromHexError> {
        Hash::from_hex(s).map(|h| PublicKey(h.0))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pk:{}", hex::encode(&self.0[..6]))
    }
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        PublicKey::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// An ed25519 signature (64 bytes: R then S).
#[derive(Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Signature(pub [u8; 64]);

impl Default for Signature {
    fn default() -> Self {
        Signature([0u8; 64])
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sig:{}", hex::encode(&self.0[..6]))
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        let mut out = [0u8; 64];
        hex::decode_to_slice(s.strip_prefix("0x").unwrap_or(&s), &mut out)
            .map_err(serde::de::Error::custom)?;
        Ok(Signature(out))
    }
}

/// A secret signing key. Held by wallets, meters and validators, never by
/// the runtime's state.
#[derive(Clone)]
pub struct Keypair(SigningKey);

impl Keypair {
    /// The keypair whose secret is this 32-byte seed (RFC 8032 secret key).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Keypair(SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed; keep it secret.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs a 32-byte signing hash.
    pub fn sign(&self, message: &Hash) -> Signature {
        Signature(self.0.sign(&message.0).to_bytes())
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({:?})", self.public())
    }
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The public key is not a canonical point encoding, is of small order or
    /// has a torsion component.
    #[error("public key is not a canonical prime-order point")]
    BadPublicKey,
    /// R is not a canonical point encoding, is of small order or has a
    /// torsion component.
    #[error("signature R is not a canonical prime-order point")]
    BadR,
    /// S is not reduced modulo the group order.
    #[error("signature S is not canonical")]
    BadS,
    /// The verification equation does not hold.
    #[error("signature does not verify")]
    Invalid,
    /// At least one signature in a batch is refused; the batch says no more.
    #[error("batch contains an invalid signature")]
    BatchInvalid,
}

/// Point checks 1 and 2 of the acceptance rule.
fn strict_point(bytes: &[u8; 32]) -> bool {
    let compressed = CompressedEdwardsY(*bytes);
    match compressed.decompress() {
        Some(p) => p.compress().0 == *bytes && !p.is_small_order() && p.is_torsion_free(),
        None => false,
    }
}

/// The group order L, little-endian.
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn scalar_is_canonical(s: &[u8]) -> bool {
    // Compare little-endian integers from the most significant byte down.
    for i in (0..32).rev() {
        if s[i] < GROUP_ORDER[i] {
            return true;
        }
        if s[i] > GROUP_ORDER[i] {
            return false;
        }
    }
    false
}

/// The up-front checks (1 to 3) shared by both paths.
fn precheck(
    key: &PublicKey,
    sig: &Signature,
) -> Result<(VerifyingKey, ed25519_dalek::Signature), SignatureError> {
    if !strict_point(&key.0) {
        return Err(SignatureError::BadPublicKey);
    }
    let mut r = [0u8; 32];
    r.copy_from_slice(&sig.0[..32]);
    if !strict_point(&r) {
        return Err(SignatureError::BadR);
    }
    if !scalar_is_canonical(&sig.0[32..]) {
        return Err(SignatureError::BadS);
    }
    let vk = VerifyingKey::from_bytes(&key.0).map_err(|_| SignatureError::BadPublicKey)?;
    Ok((vk, ed25519_dalek::Signature::from_bytes(&sig.0)))
}

/// Verifies one signature over an arbitrary message under the acceptance
/// rule. Consensus objects sign their 32-byte signing hash.
pub fn verify_bytes(
    key: &PublicKey,
    message: &[u8],
    sig: &Signature,
) -> Result<(), SignatureError> {
    let (vk, s) = precheck(key, sig)?;
    vk.verify_strict(message, &s)
        .map_err(|_| SignatureError::Invalid)
}

/// Verifies one signature over a signing hash under the acceptance rule.
pub fn verify(key: &PublicKey, message: &Hash, sig: &Signature) -> Result<(), SignatureError> {
    verify_bytes(key, &message.0, sig)
}

/// One signature to check: key, message, signature.
#[derive(Clone, Debug)]
pub struct SigCheck {
    /// The signer's public key.
    pub key: PublicKey,
    /// The message; for consensus objects, their signing hash.
    pub message: Vec<u8>,
    /// The signature.
    pub signature: Signature,
}

impl SigCheck {
    /// A check of a signature over a 32-byte signing hash.
    pub fn new(key: PublicKey, message: Hash, signature: Signature) -> Self {
        SigCheck {
            key,
            message: message.0.to_vec(),
            signature,
        }
    }
}

/// Verifies many signatures at once under the acceptance rule. Returns `Ok`
/// iff every one of them would pass [`verify_bytes`]. On failure the caller
/// may fall back to [`verify_each`] to learn which ones failed.
pub fn verify_batch(checks: &[SigCheck]) -> Result<(), SignatureError> {
    if checks.is_empty() {
        return Ok(());
    }
    let mut keys = Vec::with_capacity(checks.len());
    let mut sigs = Vec::with_capacity(checks.len());
    let mut messages: Vec<&[u8]> = Vec::with_capacity(checks.len());
    for c in checks {
        let (vk, s) = precheck(&c.key, &c.signature).map_err(|_| SignatureError::BatchInvalid)?;
        keys.push(vk);
        sigs.push(s);
        messages.push(&c.message);
    }
    ed25519_dalek::verify_batch(&messages, &sigs, &keys).map_err(|_| SignatureError::BatchInvalid)
}

/// Verifies every check on its own and reports each verdict, in order.
pub fn verify_each(checks: &[SigCheck]) -> Vec<Result<(), SignatureError>> {
    checks
        .iter()
        .map(|c| verify_bytes(&c.key, &c.message, &c.signature))
        .collect()
}

/// Verifies a batch, and if it fails, finds the verdict of each check.
/// Splits the work over `threads` OS threads (1 means the calling thread).
/// Threads are not I/O: the result depends only on the inputs.
pub fn verify_all(checks: &[SigCheck], threads: usize) -> Vec<Result<(), SignatureError>> {
    let threads = threads.max(1);
    if threads == 1 || checks.len() < 64 {
        return verify_chunk(checks);
    }
    let chunk = checks.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = checks
            .chunks(chunk)
            .map(|part| (part.len(), scope.spawn(move || verify_chunk(part))))
            .collect();
        handles
            .into_iter()
            .flat_map(|(len, h)| match h.join() {
                Ok(v) => v,
                // A verifier thread cannot panic on any input; should it, its
                // part is refused rather than the panic propagated.
                Err(_) => vec![Err(SignatureError::BatchInvalid); len],
            })
            .collect()
    })
}

fn verify_chunk(checks: &[SigCheck]) -> Vec<Result<(), SignatureError>> {
    match verify_batch(checks) {
        Ok(()) => vec![Ok(()); checks.len()],
        Err(_) => verify_each(checks),
    }
}
