//! The measuring harness behind `scripts/bench/run` (the `watt-bench`
//! binary): the signature-verification limit, the runtime alone, `watt dev`
//! end to end, four validators on loopback, `watt audit` replay, RPC reads
//! and storage, printed as one markdown table (docs/benchmarks.md).
//!
//! Everything here is a client of real `watt` processes or of the pure
//! runtime; nothing changes how the node works.

pub mod accounts;
pub mod audit;
pub mod http;
pub mod limit;
pub mod load;
pub mod meters;
pub mod nodes;
pub mod procfs;
pub mod reads;
pub mod runtime;
pub mod table;
