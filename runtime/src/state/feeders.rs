//! What the chain keeps of a feeder: its registration, its head meter's
//! position, the hour it closes next, its alert run, and per open hour the
//! accumulated figures.

use crate::crypto::PublicKey;
use crate::feeder::{BalanceStatus, FeederId, HourFigures};
use crate::types::{Hour, Watts, Wh, ZoneId};
use borsh::{BorshDeserialize, BorshSerialize};

/// An open unexplained-load alert.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct FeederAlert {
    /// The first unexplained hour of the run that raised it.
    pub from_hour: Hour,
    /// The last unexplained hour counted.
    pub through_hour: Hour,
    /// How many unexplained hours it counts.
    pub hours: u32,
    /// The unexplained energy of those hours.
    pub unexplained: Wh,
}

/// A feeder.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Feeder {
    /// Its id.
    pub id: FeederId,
    /// Its zone.
    pub zone: ZoneId,
    /// Rated capacity.
    pub rated_capacity: Watts,
    /// Technical losses allowed, per mille of the energy entering.
    pub loss_permille: u16,
    /// Unexplained energy per hour tolerated either way.
    pub alert_floor: Wh,
    /// Consecutive unexplained hours before an alert.
    pub alert_hours: u16,
    /// The share of rated capacity mining permits may take, per mille.
    pub mining_share_permille: u16,
    /// The head meter's device key.
    pub head_key: PublicKey,
    /// The declared-load key, if any.
    pub declared_key: Option<PublicKey>,
    /// The head meter's last sequence (0 before the first reading).
    pub head_sequence: u64,
    /// Where the head meter's last period ended (the baseline at first).
    pub head_last_end: u64,
    /// The import counter there.
    pub head_import: Wh,
    /// The export counter there.
    pub head_export: Wh,
    /// The oldest hour not closed yet; every hour before it is closed.
    pub open_from: Hour,
    /// Consecutive unexplained hours counted towards an alert.
    pub run: u32,
    /// The first hour of that run.
    pub run_from: Hour,
    /// The unexplained energy of that run.
    pub run_energy: Wh,
    /// The open alert, if any.
    pub alert: Option<FeederAlert>,
    /// Block time (ms) of registration.
    pub registered_ms: u64,
}

/// One open hour's accumulators.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct FeederHour {
    /// Import, export, generation, consumption and declared so far.
    pub import: Wh,
    /// Surplus pushed upstream.
    pub export: Wh,
    /// Generation of the feeder's meters.
    pub generation: Wh,
    /// Registered consumption of the feeder's sites.
    pub consumption: Wh,
    /// The declared load, once it arrived.
    pub declared: Option<Wh>,
    /// Seconds of the hour the head readings cover.
    pub head_seconds: u32,
    /// A head counter went down in this hour.
    pub counter_down: bool,
}

impl FeederHour {
    /// The figures, with a missing declared load as 0.
    pub fn figures(&self) -> HourFigures {
        HourFigures {
            import: self.import,
            export: self.export,
            generation: self.generation,
            consumption: self.consumption,
            declared: self.declared.unwrap_or_default(),
        }
    }

    /// Whether the hour can be judged.
    pub fn metered(&self, declared_expected: bool) -> bool {
        self.head_seconds >= 3600
            && !self.counter_down
            && (!declared_expected || self.declared.is_some())
    }
}

/// A closed hour of a feeder, as its FeederBalance event said.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ClosedHour {
    /// Energy in from upstream.
    pub import: Wh,
    /// Surplus pushed upstream.
    pub export: Wh,
    /// The feeder's meters' generation.
    pub generation: Wh,
    /// The feeder's sites' registered consumption.
    pub consumption: Wh,
    /// The declared load.
    pub declared: Wh,
    /// The technical losses allowed.
    pub allowance: Wh,
    /// import - export + generation - consumption - declared - allowance.
    pub unexplained: i128,
    /// The verdict.
    pub status: BalanceStatus,
}
