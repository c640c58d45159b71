//! The peer network (SPEC section 6). So far: the encrypted, authenticated
//! [`transport`] between two nodes. Peers, gossip and sync build on it.

pub mod peers;
#[cfg(feature = "test-utils")]
pub mod testing;
pub mod transport;
pub mod wire;
