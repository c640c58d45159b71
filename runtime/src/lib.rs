//! Watt's runtime: the pure state machine of the ledger.
//!
//! It holds every rule of the chain: the domain types ([`types`]), the
//! canonical encoding ([`encoding`]), hashing and the one signature
//! acceptance rule ([`crypto`]), transactions ([`tx`]), blocks and consensus
//! objects ([`block`]), the state layout ([`state`]) and its Merkle root
//! ([`tree`]), signature checks before execution ([`verify`]) and block
//! execution ([`exec`]), which returns the changes and [`events`] it
//! produced.
//!
//! It must never do I/O, read a clock, use randomness or start an async
//! runtime: block time, chain id and the validator set come in as inputs,
//! and the node, the genesis builder and the auditor all run the same code.
//! Start reading at [`exec`], then [`tx`] for the transaction bodies.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub mod block;
pub mod crypto;
pub mod encoding;
pub mod error;
pub mod events;
pub mod exec;
pub mod feeder;
pub mod genesis;
pub mod sandbox;
pub mod standing;
pub mod state;
#[cfg(any(test, feature = "test-utils"))]
pub mod testkit;
pub mod tree;
pub mod tx;
pub mod types;
pub mod validity;
pub mod verify;

pub use error::{BlockError, TxError};
