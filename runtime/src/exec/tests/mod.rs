//! Rule tests: one file per topic, each test named for the rule it proves
//! and asserting the exact error (with its fields) or the exact events and
//! state after. They run on the [`crate::testkit`] chain, which checks
//! per-zone conservation after every block and, for every refusal, that
//! the refused transaction left no trace.

mod consumption;
mod credits;
mod evidence;
mod feeders;
mod generation;
mod governance;
mod meters;
mod sandbox;
mod signatures;
mod sites;
mod zones;

/// What every rule test uses.
mod prelude {
    pub use crate::block::{SignedVote, Vote, VoteKind};
    pub use crate::crypto::{Hash, Keypair};
    pub use crate::encoding::BoundedVec;
    pub use crate::error::{BlockError, TxError};
    pub use crate::events::Event;
    pub use crate::exec::{apply_block, BlockExecutor, VerifiedTx};
    pub use crate::state::{MeterStatus, ProposalStatus, SiteStatus, ViolationKind};
    pub use crate::testkit::*;
    pub use crate::tx::{
        AuthorityChange, Body, ConsumptionReading, GenerationReading, ProofOfPossession,
        RegulatorChange, Signed, FLAG_OUT_OF_RANGE, FLAG_SUBSTITUTED, FLAG_TAMPERED,
    };
    pub use crate::types::{
        AccountId, Bucket, Height, Hour, MatchingWindow, MeterId, ProposalId, RetirementId, SiteId,
        Source, Watts, Wh, ZoneId,
    };

    /// The hour bucket of a unix time.
    pub fn hour_bucket(unix_s: u64) -> Bucket {
        Bucket::containing(MatchingWindow::Hour, Hour::of_seconds(unix_s))
    }

    /// The violations among events, as (site, kind, sequence).
    pub fn violations(events: &[Event]) -> Vec<(SiteId, ViolationKind, Option<u64>)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Violation {
                    site,
                    violation,
                    sequence,
                    ..
                } => Some((*site, *violation, *sequence)),
                _ => None,
            })
            .collect()
    }
}
