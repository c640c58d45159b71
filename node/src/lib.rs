//! The Watt node. For now it holds one building block: the consensus engine,
//! Tendermint written as a pure state machine ([`consensus::Consensus`]),
//! and, behind the `test-utils` feature, a deterministic simulator that runs
//! whole networks of it on simulated time (`consensus::sim`).
//!
//! What this crate must never do in its consensus core: read a clock, draw a
//! random number, spawn a thread or touch a socket or a disk. Time arrives as
//! `Input::Timeout`, durability is the host's job (`Effect::Persist`), and
//! everything the core decides is returned as a list of effects, so the same
//! inputs always give the same outputs.
//!
//! Start reading at `consensus/mod.rs` (the design and the contract with the
//! host), then `consensus/state.rs` (the paper's pseudo-code, line by line).
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub mod consensus;
