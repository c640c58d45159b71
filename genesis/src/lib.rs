//! Builds and checks a Watt chain's starting state.
//!
//! A genesis is written as a TOML spec ([`GenesisSpec`], documented by the
//! commented example `genesis/examples/community.toml`) or assembled in code
//! with [`GenesisBuilder`]. Either way it becomes the runtime's canonical
//! [`Genesis`] document, whose hash is the chain id, and its state with its
//! state root ([`BuiltGenesis`]).
//!
//! This crate never touches the network or a database; it reads a spec file
//! only in [`GenesisSpec::from_file`]. Start reading at [`GenesisSpec`].
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

mod builder;
mod snapshot;
mod spec;
mod time;

pub use builder::{dev_keypair, BuiltGenesis, GenesisBuilder};
pub use snapshot::{SnapshotError, StateSnapshot};
pub use spec::{AuthoritySpec, GenesisSpec, MeterSpec, RegulatorSpec, SiteSpec, ZoneSpec};
pub use time::{format_rfc3339, parse_rfc3339};
pub use watt_runtime::genesis::{Genesis, GenesisError};

/// Why a genesis spec could not be turned into a chain.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("cannot read genesis spec {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown or missing fields.
    #[error("genesis spec is not valid TOML for Watt: {0}")]
    Toml(#[from] toml::de::Error),
    /// A field has a bad value.
    #[error("genesis spec field `{field}`: {reason}")]
    Field {
        /// The field, e.g. `meters[2].serial`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The document breaks a rule of the chain.
    #[error("genesis is invalid: {0}")]
    Invalid(#[from] GenesisError),
}
