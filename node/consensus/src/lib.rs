//! Tendermint consensus as a pure state machine.
//!
//! The algorithm is the one of Buchman, Kwon and Milosevic, "The latest
//! gossip on BFT consensus" (2018): rounds of propose, prevote and
//! precommit, a round-robin proposer over the height's validator set,
//! locking on a block after a polka (2f+1 prevotes) and unlocking only for
//! a later polka, and timeouts that move a stuck round on. `rules.rs` holds
//! the pseudo-code, each rule named after its line numbers.
//!
//! # The core and its host
//! [`Consensus::apply`] takes one [`Input`] and returns the [`Effect`]s the
//! host must perform, in order. The core never reads a clock, draws a random
//! number or performs I/O, so the same inputs give the same effects; a
//! simulator (the `sim` module, feature `test-utils`) runs whole networks of
//! cores on simulated time.
//!
//! - **Inputs**: the start of a height with its validator set; proposals,
//!   votes and commit certificates from peers; the block to propose (the
//!   answer to `RequestBlock`); a block's validity verdict (the answer to
//!   `ValidateBlock`); an expired timeout.
//! - **Effects**: persist, broadcast, schedule a timeout, request a block,
//!   validate a block, decide (block hash and commit certificate), report
//!   evidence, and report a rejected message.
//! - **Blocks are opaque**: the core agrees on block hashes; the host maps
//!   hashes to blocks, builds, fetches and checks them.
//! - **Signatures** are checked by the host before a message reaches the
//!   core, with [`verify_messages`] (that is where batching, caching and
//!   peer scoring live); the core checks everything else again, see
//!   [`Input`]. Votes from keys outside the
//!   height's set and proposals from anyone but the round's proposer are
//!   refused with `Effect::Rejected`.
//! - **Validator sets**: the host supplies the set of each height with
//!   `Input::StartHeight`. A set change decided in block H applies at H+2;
//!   the host tracks that. A certificate is always checked against the set
//!   of its own height.
//!
//! # Persistence before signing
//! Whatever the core signs it first returns as `Effect::Persist`, ahead of
//! the `Broadcast` that carries it; the host makes it durable before
//! performing anything after it. A core rebuilt from the persisted state
//! ([`PersistedState`]) resumes in the highest round it signed in, with its
//! lock, and will never sign a proposal, prevote or precommit that differs
//! from one it signed for the same height and round: asked to, it sends the
//! old one again (see `persist.rs`).
//!
//! # Timeouts and re-broadcast
//! Timeouts grow linearly per round up to a cap ([`Config`]). A periodic
//! re-broadcast timeout makes the core send again its proposal of the
//! current round, its last prevote and precommit of the height and the
//! certificate of the last height it decided. Together with the round skip
//! (L55: f+1 messages from a higher round) and the decision on a received
//! certificate, this lets a network recover from any outage by itself: no
//! message has to survive the outage. A node more than one height behind
//! catches up by asking peers for certificates (`Message::SyncRequest`),
//! which the host verifies and feeds to the core one height at a time.
//!
//! # Evidence
//! Two votes by one validator for one height, round and kind with different
//! values are handed out as `Effect::Evidence`, once per offender and
//! height, ready for the runtime's `Evidence` transaction.
//!
//! This crate is the wall around the core: it depends on the runtime's
//! types only, never on storage, the network, RPC or tokio (Cargo keeps it
//! so).
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

mod effect;
mod input;
mod machine;
mod message;
mod persist;
mod rules;
mod state;
mod timeouts;
pub mod verify;
mod votes;

#[cfg(any(test, feature = "test-utils"))]
pub mod sim;

#[cfg(test)]
mod tests;

pub use effect::{Effect, Rejection};
pub use input::Input;
pub use message::{Message, MAX_SYNC_CERTIFICATES};
pub use persist::{LogEntry, PersistedState, SigningGate};
pub use state::{Consensus, RoundState, RoundValue, Step};
pub use timeouts::{Config, Growth, Timeout, TimeoutKind};
pub use verify::{verify_messages, BatchVerifier, SignatureVerifier, VerifyError};
pub use votes::{Added, VoteKeeper, MAX_VALUES_PER_VOTER};
