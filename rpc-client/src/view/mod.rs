//! Ledger records as the API shows them: one view type per ledger type,
//! converted from it with `From`.
//!
//! The runtime's types are the ledger: renaming a field there must not
//! change the JSON a wallet reads. So what travels is defined here, and the
//! runtime carries no JSON names except for the genesis document (whose
//! types, [`ChainParams`], [`ZonePolicy`], [`Source`] and [`Validator`], are
//! a published file format and appear here as they are: camelCase, with the
//! snake_case names of genesis files written before step 6 still read).
//! Leaf values keep their one JSON form everywhere: hashes, keys and
//! signatures as `0x` hex, accounts as `watt1...`, Wh and W as decimal
//! strings.
//!
//! Every view follows the one JSON convention of `docs/rpc.md` (Wave 2
//! step 6): camelCase field names, bodies and events included; enum tags in
//! camelCase; energy and power as decimal strings; heights, hours, ids,
//! sequences, nonces and times as numbers; hashes, keys and bytes as `0x`
//! hex. `tests/tests/rpc_compat.rs` and the golden vectors hold the JSON to
//! it byte for byte.
//!
//! [`ChainParams`]: watt_runtime::types::ChainParams
//! [`ZonePolicy`]: watt_runtime::types::ZonePolicy
//! [`Source`]: watt_runtime::types::Source
//! [`Validator`]: watt_runtime::block::Validator

mod consensus;
mod events;
mod feeder;
mod feeder_state;
mod ledger;
mod sandbox;
mod tx;

pub use consensus::{
    CommitCertificate, Header, Proposal, SignedProposal, SignedVote, Vote, VoteKind,
};
pub use events::{Event, EventRecord};
pub use feeder::{Attachee, BalanceStatus, DeclaredLoad, FeederId, FeederReading, NewFeeder};
pub use feeder_state::{alert as feeder_alert, Feeder, FeederAlert, FeederHourBalance};
pub use ledger::{
    Account, Holding, Meter, MeterStatus, PendingKey, Proposal as GovProposal, ProposalKind,
    ProposalStatus, Site, SiteStatus, Supply, ViolationKind, Zone,
};
pub use sandbox::{
    month_name, CurtailTarget, CurtailedSite, Curtailment, CurtailmentAck, CurtailmentState,
    Permit, PermitTerms, PermitUsage, SiteShare, Verdict, ZoneSandbox,
};
pub use tx::{
    AuthorityChange, Body, ConsumptionReading, GenerationReading, ProofOfPossession,
    RegulatorChange, Signed, Transaction, UnsignedTx,
};
pub use watt_runtime::block::Validator;

use watt_runtime::encoding::{BoundedString, BoundedVec, TextError};
use watt_runtime::feeder::FeederIdError;
use watt_runtime::tx::NamedVintages;
use watt_runtime::types::Vintage;

/// A view that does not fit the ledger's bounds (a wallet's input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    /// A text field is too long or malformed.
    #[error("`{field}`: {source}")]
    Text {
        /// The field.
        field: &'static str,
        /// Why.
        source: TextError,
    },
    /// A list has more items than the ledger allows.
    #[error("`{field}` has {count} items; at most {max} are allowed")]
    TooMany {
        /// The field.
        field: &'static str,
        /// How many were given.
        count: usize,
        /// The most allowed.
        max: usize,
    },
    /// A feeder id is malformed.
    #[error("`{field}`: {source}")]
    FeederId {
        /// The field.
        field: &'static str,
        /// Why.
        source: FeederIdError,
    },
}

fn text<const MAX: usize>(field: &'static str, s: String) -> Result<BoundedString<MAX>, ViewError> {
    BoundedString::new(s).map_err(|source| ViewError::Text { field, source })
}

fn bounded<T, const MAX: usize>(
    field: &'static str,
    items: Vec<T>,
) -> Result<BoundedVec<T, MAX>, ViewError> {
    BoundedVec::new(items).map_err(|items| ViewError::TooMany {
        field,
        count: items.len(),
        max: MAX,
    })
}

fn named(field: &'static str, list: Option<Vec<Vintage>>) -> Result<NamedVintages, ViewError> {
    list.map(|v| bounded(field, v)).transpose()
}
