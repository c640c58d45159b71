//! Watt's JSON-RPC API as Rust: one trait per namespace, the wire types and
//! the error codes.
//!
//! The traits in [`api`] are the single definition of the API. jsonrpsee's
//! `#[rpc]` macro turns each into a typed client (`ChainApiClient`, ...,
//! implemented for any jsonrpsee HTTP or WebSocket client) and, with the
//! `server` feature that the node enables, into a server trait the node
//! implements (`ChainApiServer`, ...). This crate never depends on the node
//! or RocksDB: a wallet links it alone.
//!
//! Start with [`api`] for the methods, [`types`] and [`view`] for what
//! travels, and [`error`] for the codes a call can fail with. `docs/rpc.md`
//! is the reference for other languages.

pub mod api;
pub mod builders;
pub mod client;
pub mod energy;
pub mod error;
pub mod keystore;
pub mod types;
pub mod view;

pub use jsonrpsee;
