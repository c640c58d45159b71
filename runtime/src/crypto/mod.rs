//! Hashing with domain tags and Watt's single ed25519 acceptance rule.
//!
//! Every hash is `blake3(len(tag) || tag || payload)` where `tag` names the
//! kind of object, so bytes of one kind can never be mistaken for another.
//! Every signed message additionally starts with the chain id, so a
//! signature for one chain is never valid on another.
//!
//! Signatures follow one acceptance rule on every path; see [`verify_bytes`]
//! and the `ed25519` module.

mod ed25519;

pub use ed25519::{
    verify, verify_all, verify_batch, verify_bytes, verify_each, verify_groups, SigCheck,
    SignatureError,
};

use borsh::{BorshDeserialize, BorshSerialize};
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use std::fmt;

/// JSON, TOML and RPC carry fixed-size byte strings as `0x` hex (the
/// type's `Display`); parsing also takes bare hex.
macro_rules! hex_serde {
    ($ty:ident, $len:expr) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as Deserialize>::deserialize(d)?;
                let mut out = [0u8; $len];
                hex::decode_to_slice(s.strip_prefix("0x").unwrap_or(&s), &mut out)
                    .map_err(serde::de::Error::custom)?;
                Ok($ty(out))
            }
        }
    };
}

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

hex_serde!(Hash, 32);

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
    /// A feeder head meter's reading.
    FeederReading,
    /// A feeder's declared hourly load.
    DeclaredLoad,
    /// A site owner's acknowledgement of a curtailment order.
    CurtailmentAck,
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
            Domain::FeederReading => "watt/feeder-reading/v1",
            Domain::DeclaredLoad => "watt/declared-load/v1",
            Domain::CurtailmentAck => "watt/curtailment-ack/v1",
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

hex_serde!(PublicKey, 32);

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

hex_serde!(Signature, 64);

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
