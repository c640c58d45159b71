//! Tree nodes: their storage encoding, their hashes and key-bit arithmetic.

use crate::crypto::{Domain, Hash};
use borsh::{BorshDeserialize, BorshSerialize};

/// The number of bits in a key hash, hence the deepest level a leaf can sit
/// at and the most siblings a proof can carry.
pub const KEY_BITS: usize = 256;

/// The byte that starts the hash preimage (and the storage encoding) of a leaf.
const LEAF_TAG: u8 = 0x00;
/// The byte that starts the hash preimage (and the storage encoding) of an
/// internal node.
const INTERNAL_TAG: u8 = 0x01;

/// A node of the state tree, stored under its own [`Node::hash`].
///
/// The borsh encoding is the enum tag (0 for `Leaf`, 1 for `Internal`, the
/// declaration order) followed by the two 32-byte fields, 65 bytes in all.
/// The tags equal the hash prefixes, so the stored bytes of a node are exactly
/// the payload it is hashed over: `hash = Domain::StateNode.hash(encode(node))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Node {
    /// The only present key of its subtree, with its value. Borsh tag 0.
    Leaf {
        /// The key hash.
        key: Hash,
        /// The value hash.
        value: Hash,
    },
    /// A subtree holding at least two keys. Borsh tag 1.
    Internal {
        /// The hash of the subtree whose next key bit is 0, or
        /// [`Hash::ZERO`] if it is empty.
        left: Hash,
        /// The hash of the subtree whose next key bit is 1, or
        /// [`Hash::ZERO`] if it is empty.
        right: Hash,
    },
}

impl Node {
    /// The node's hash, which is also its storage address.
    pub fn hash(&self) -> Hash {
        match self {
            Node::Leaf { key, value } => Node::leaf_hash(key, value),
            Node::Internal { left, right } => Node::internal_hash(left, right),
        }
    }

    /// `Domain::StateNode` hash of `0x00 || key || value`.
    pub fn leaf_hash(key: &Hash, value: &Hash) -> Hash {
        tagged_pair(LEAF_TAG, key, value)
    }

    /// `Domain::StateNode` hash of `0x01 || left || right`.
    pub fn internal_hash(left: &Hash, right: &Hash) -> Hash {
        tagged_pair(INTERNAL_TAG, left, right)
    }
}

fn tagged_pair(tag: u8, a: &Hash, b: &Hash) -> Hash {
    let mut h = Domain::StateNode.hasher();
    h.update(&[tag]);
    h.update(&a.0);
    h.update(&b.0);
    Hash(*h.finalize().as_bytes())
}

/// Bit `depth` of `key`, most significant bit of byte 0 first; `true` means
/// the right child. Callers keep `depth < KEY_BITS`; beyond it the key has no
/// bits left and this answers `false` rather than panicking.
pub(crate) fn bit(key: &Hash, depth: usize) -> bool {
    key.0
        .get(depth / 8)
        .is_some_and(|byte| (byte >> (7 - depth % 8)) & 1 == 1)
}

/// How many leading bits `a` and `b` share (256 when equal).
pub(crate) fn common_prefix_len(a: &Hash, b: &Hash) -> usize {
    for (i, (x, y)) in a.0.iter().zip(b.0.iter()).enumerate() {
        let diff = x ^ y;
        if diff != 0 {
            return i * 8 + diff.leading_zeros() as usize;
        }
    }
    KEY_BITS
}
