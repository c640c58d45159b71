//! What peers send each other, in the canonical encoding (decoded strictly:
//! bounded lists, no trailing bytes).

use crate::consensus::Message;
use borsh::{BorshDeserialize, BorshSerialize};
use watt_runtime::block::{Block, CommitCertificate};
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::{encode, BoundedVec};
use watt_runtime::tx::Transaction;
use watt_runtime::types::Height;

/// Most transactions one gossip message carries.
pub const MAX_GOSSIP_TXS: usize = 256;
/// Most blocks one sync response carries.
pub const MAX_SYNC_BLOCKS: usize = 32;
/// The largest message a peer may send: a sync response of full blocks.
pub const MAX_WIRE_MESSAGE: usize = 32 * 1024 * 1024;
/// The most bytes of blocks one sync response carries (half the largest
/// message: a range of large blocks is cut short rather than made too big
/// to send, which would stall the asker's sync for good).
pub const MAX_SYNC_BYTES: usize = MAX_WIRE_MESSAGE / 2;

/// A message between peers.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum WireMessage {
    /// "My chain is at this height": sent on connect and after each block,
    /// so a peer that is behind knows to sync.
    Status {
        /// The sender's finalised height.
        height: Height,
    },
    /// A consensus message (proposal, vote, commit, certificate sync).
    Consensus(Message),
    /// A block body (a proposal's, gossiped with it).
    Block(Box<Block>),
    /// Transactions for the mempool.
    Txs(BoundedVec<Transaction, MAX_GOSSIP_TXS>),
    /// "Send me finalised blocks from this height."
    GetBlocks {
        /// The first height wanted.
        from: Height,
        /// How many (at most [`MAX_SYNC_BLOCKS`]).
        count: u32,
    },
    /// Finalised blocks with their commit certificates, lowest first.
    Blocks(BoundedVec<(Block, CommitCertificate), MAX_SYNC_BLOCKS>),
}

impl WireMessage {
    /// The gossip identity of the message: equal messages are relayed once.
    /// (Local to each node, so not a protocol domain tag.)
    pub fn id(&self) -> Hash {
        let mut h = blake3::Hasher::new();
        h.update(b"watt/gossip/v1");
        h.update(&encode(self));
        Hash(*h.finalize().as_bytes())
    }

    /// Whether peers relay it further (gossip) rather than answer it.
    pub fn is_gossip(&self) -> bool {
        matches!(
            self,
            WireMessage::Consensus(Message::Proposal(_) | Message::Vote(_) | Message::Commit(_))
                | WireMessage::Block(_)
                | WireMessage::Txs(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watt_runtime::encoding::decode;

    #[test]
    fn messages_round_trip_and_garbage_does_not_decode() {
        let m = WireMessage::GetBlocks {
            from: Height(5),
            count: 3,
        };
        let bytes = encode(&m);
        assert_eq!(decode::<WireMessage>(&bytes).unwrap(), m);
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode::<WireMessage>(&long).is_err(), "trailing bytes");
        assert!(decode::<WireMessage>(&[200, 1, 2]).is_err(), "unknown tag");
        // A list longer than its bound is refused before allocation.
        let mut huge = vec![3u8];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode::<WireMessage>(&huge).is_err());
        assert!(!m.is_gossip());
        assert_ne!(m.id(), WireMessage::Status { height: Height(5) }.id());
    }
}
