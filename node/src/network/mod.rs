//! The peer network (docs/encoding.md §14): the encrypted, authenticated
//! [`transport`] between two nodes, the [`peers`] (sessions, relaying,
//! bans) and the [`wire`] messages.

pub mod peers;
#[cfg(feature = "test-utils")]
pub mod testing;
pub mod transport;
pub mod wire;
