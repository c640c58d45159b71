//! The Watt node: the `watt` binary's library.
//!
//! It drives the consensus engine ([`consensus`], Tendermint as a pure state
//! machine, with a deterministic simulator behind the `test-utils` feature)
//! with real time, storage and transactions: [`service`] is the one task that
//! owns the core and performs its effects; [`chain`] builds, checks and
//! commits blocks by calling the runtime; [`storage`] keeps the chain in
//! RocksDB, one synced write batch per block; [`mempool`] holds verified
//! transactions; [`dev`] is `watt dev`; [`cli`] is the command line.
//!
//! What it must never do: let a vote leave before the consensus log is
//! synced, write a block in more than one batch, or let consensus or runtime
//! code read the clock (time comes from [`clock`], as an input).
//!
//! Start reading at `service/mod.rs`, then `chain.rs`.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub use watt_consensus as consensus;
pub use watt_storage as storage;
pub use watt_storage::failpoint;

pub mod audit;
pub mod chain;
pub mod cli;
pub mod clock;
pub mod dev;
pub mod keys;
pub mod launch;
pub mod mempool;
pub mod network;
pub mod rpc;
pub mod service;
