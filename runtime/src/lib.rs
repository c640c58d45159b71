//! Watt's runtime: the pure state machine of the ledger.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub mod crypto;
pub mod encoding;
pub mod types;
