//! State records: meters, sites, zones, proposals, accounts.

use super::{AuthorityChange, RegulatorChange};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use watt_runtime::crypto::PublicKey;
use watt_runtime::state as ledger;
use watt_runtime::types::{
    AccountId, ChainParams, Height, Hour, MeterId, ProposalId, SiteId, Source, Vintage, Watts, Wh,
    ZoneId, ZonePolicy,
};

/// The lifecycle of a generation meter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MeterStatus {
    /// Registered, awaiting the regulator's approval.
    Pending,
    /// Readings mint.
    Active,
    /// No further readings.
    Revoked,
}

impl From<ledger::MeterStatus> for MeterStatus {
    fn from(v: ledger::MeterStatus) -> Self {
        match v {
            ledger::MeterStatus::Pending => MeterStatus::Pending,
            ledger::MeterStatus::Active => MeterStatus::Active,
            ledger::MeterStatus::Revoked => MeterStatus::Revoked,
        }
    }
}

/// A device key change awaiting the regulator's approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingKey {
    /// The new device key.
    pub device_key: PublicKey,
    /// Where readings under it start.
    pub baseline_time: u64,
    /// Its counter at that time.
    pub baseline_counter: Wh,
}

impl From<ledger::PendingKey> for PendingKey {
    fn from(v: ledger::PendingKey) -> Self {
        PendingKey {
            device_key: v.device_key,
            baseline_time: v.baseline_time,
            baseline_counter: v.baseline_counter,
        }
    }
}

/// A generation meter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meter {
    /// Its id.
    pub id: MeterId,
    /// Its serial number.
    pub serial: String,
    /// The key its readings are signed with.
    pub device_key: PublicKey,
    /// The producer who receives the credits.
    pub owner: AccountId,
    /// The authority operator who relays its readings.
    pub operator: AccountId,
    /// The generation source.
    pub source: Source,
    /// Nameplate capacity.
    pub capacity: Watts,
    /// The zone.
    pub zone: ZoneId,
    /// Lifecycle.
    pub status: MeterStatus,
    /// The sequence number of the last accepted reading (0: none yet).
    pub last_sequence: u64,
    /// Where the next reading's period must start (the baseline time at
    /// first, then the last period's end).
    pub last_end: u64,
    /// The counter the next delta is measured from.
    pub last_counter: Wh,
    /// A key change awaiting approval.
    pub pending_key: Option<PendingKey>,
    /// Total minted from this meter.
    pub minted: Wh,
}

impl From<ledger::Meter> for Meter {
    fn from(v: ledger::Meter) -> Self {
        Meter {
            id: v.id,
            serial: v.serial.into(),
            device_key: v.device_key,
            owner: v.owner,
            operator: v.operator,
            source: v.source,
            capacity: v.capacity,
            zone: v.zone,
            status: v.status.into(),
            last_sequence: v.last_sequence,
            last_end: v.last_end,
            last_counter: v.last_counter,
            pending_key: v.pending_key.map(Into::into),
            minted: v.minted,
        }
    }
}

/// Why a site is suspended for an anomaly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ViolationKind {
    /// Consumption above what the site's max draw allows.
    OverDraw,
    /// The counter went down.
    CounterWentDown,
    /// The reading carries a tamper (or other status) flag.
    Flagged,
    /// The period does not start where the last one ended.
    PeriodGap,
    /// The period spans more than one hour (a catch-up after a gap).
    MultiHour,
    /// An open debt was not settled within its bucket and the grace.
    Unbacked,
    /// Consumption outside the site's permit, or without one where the
    /// zone requires it.
    PermitBreach,
    /// Consumption above the site's share of a curtailment order, or no
    /// readings covering the window.
    CurtailmentBreach,
}

impl From<ledger::ViolationKind> for ViolationKind {
    fn from(v: ledger::ViolationKind) -> Self {
        match v {
            ledger::ViolationKind::OverDraw => ViolationKind::OverDraw,
            ledger::ViolationKind::CounterWentDown => ViolationKind::CounterWentDown,
            ledger::ViolationKind::Flagged => ViolationKind::Flagged,
            ledger::ViolationKind::PeriodGap => ViolationKind::PeriodGap,
            ledger::ViolationKind::MultiHour => ViolationKind::MultiHour,
            ledger::ViolationKind::Unbacked => ViolationKind::Unbacked,
            ledger::ViolationKind::PermitBreach => ViolationKind::PermitBreach,
            ledger::ViolationKind::CurtailmentBreach => ViolationKind::CurtailmentBreach,
        }
    }
}

/// A mining site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    /// Its id.
    pub id: SiteId,
    /// Its meter's serial number.
    pub serial: String,
    /// The key its readings are signed with.
    pub device_key: PublicKey,
    /// The account whose credits it burns.
    pub owner: AccountId,
    /// The zone.
    pub zone: ZoneId,
    /// Its maximum draw.
    pub max_draw: Watts,
    /// The sequence number of the last accepted reading (0: none yet).
    pub last_sequence: u64,
    /// Where the next reading's period should start.
    pub last_end: u64,
    /// The counter the next delta is measured from.
    pub last_counter: Wh,
    /// Block time (ms) of its registration or last accepted reading (for
    /// the record only: darkness goes by `last_end`).
    pub last_seen_ms: u64,
    /// Set when the regulator revoked it.
    pub revoked: Option<String>,
    /// Set while the regulator suspends it.
    pub regulator_suspension: Option<String>,
    /// Set by an overdraw or anomaly until the regulator reinstates it.
    pub anomaly: Option<ViolationKind>,
    /// Open debt not yet settled, summed over buckets.
    pub open_debt: Wh,
    /// Unbacked consumption; settled only by SettleShortfall.
    pub shortfall: Wh,
    /// Total consumption recorded.
    pub consumed: Wh,
    /// Total credits burned for its consumption.
    pub burned: Wh,
}

impl From<ledger::Site> for Site {
    fn from(v: ledger::Site) -> Self {
        Site {
            id: v.id,
            serial: v.serial.into(),
            device_key: v.device_key,
            owner: v.owner,
            zone: v.zone,
            max_draw: v.max_draw,
            last_sequence: v.last_sequence,
            last_end: v.last_end,
            last_counter: v.last_counter,
            last_seen_ms: v.last_seen_ms,
            revoked: v.revoked.map(Into::into),
            regulator_suspension: v.regulator_suspension.map(Into::into),
            anomaly: v.anomaly.map(Into::into),
            open_debt: v.open_debt,
            shortfall: v.shortfall,
            consumed: v.consumed,
            burned: v.burned,
        }
    }
}

/// A site's derived status, most severe first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SiteStatus {
    /// Revoked for good.
    Revoked,
    /// Suspended by the regulator.
    SuspendedByRegulator,
    /// Suspended for an overdraw or an anomaly, until reinstated.
    SuspendedAnomaly,
    /// Suspended for an unsettled shortfall.
    SuspendedShortfall,
    /// The end of its last reported period lags block time by more than
    /// the zone's dark-after, whatever it relays.
    Dark,
    /// May run.
    Active,
}

impl From<ledger::SiteStatus> for SiteStatus {
    fn from(v: ledger::SiteStatus) -> Self {
        match v {
            ledger::SiteStatus::Revoked => SiteStatus::Revoked,
            ledger::SiteStatus::SuspendedByRegulator => SiteStatus::SuspendedByRegulator,
            ledger::SiteStatus::SuspendedAnomaly => SiteStatus::SuspendedAnomaly,
            ledger::SiteStatus::SuspendedShortfall => SiteStatus::SuspendedShortfall,
            ledger::SiteStatus::Dark => SiteStatus::Dark,
            ledger::SiteStatus::Active => SiteStatus::Active,
        }
    }
}

/// Per-zone credit accounting. Conservation:
/// `minted = held + burned + retired + withdrawn + expired`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Supply {
    /// Minted from generation readings.
    pub minted: Wh,
    /// Currently held by accounts.
    pub held: Wh,
    /// Burned for mining consumption and shortfall settlement.
    pub burned: Wh,
    /// Retired for non-mining claims.
    pub retired: Wh,
    /// Withdrawn by the regulator.
    pub withdrawn: Wh,
    /// Expired at the end of their lifetime.
    pub expired: Wh,
}

impl From<ledger::Supply> for Supply {
    fn from(v: ledger::Supply) -> Self {
        Supply {
            minted: v.minted,
            held: v.held,
            burned: v.burned,
            retired: v.retired,
            withdrawn: v.withdrawn,
            expired: v.expired,
        }
    }
}

/// A zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Zone {
    /// Its id.
    pub id: ZoneId,
    /// The policy in force; `None` until a new zone's first policy takes
    /// effect.
    pub policy: Option<ZonePolicy>,
    /// A policy taking effect at the first block of the given hour.
    pub pending: Option<(Hour, ZonePolicy)>,
    /// Sum of the max draw of its live (not revoked) sites.
    pub live_max_draw: Watts,
    /// Credit accounting.
    pub supply: Supply,
    /// Every vintage up to and including this hour has been expired.
    pub expired_through: Option<Hour>,
}

impl From<ledger::Zone> for Zone {
    fn from(v: ledger::Zone) -> Self {
        Zone {
            id: v.id,
            policy: v.policy,
            pending: v.pending,
            live_max_draw: v.live_max_draw,
            supply: v.supply.into(),
            expired_through: v.expired_through,
        }
    }
}

/// What a proposal would change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum ProposalKind {
    /// The authority set.
    Authorities {
        /// The change.
        change: AuthorityChange,
    },
    /// The regulator set.
    Regulators {
        /// The change.
        change: RegulatorChange,
    },
    /// The chain parameters.
    Params {
        /// The new parameters.
        params: ChainParams,
    },
}

impl From<ledger::ProposalKind> for ProposalKind {
    fn from(v: ledger::ProposalKind) -> Self {
        match v {
            ledger::ProposalKind::Authorities { change } => ProposalKind::Authorities {
                change: change.into(),
            },
            ledger::ProposalKind::Regulators { change } => ProposalKind::Regulators {
                change: change.into(),
            },
            ledger::ProposalKind::Params { params } => ProposalKind::Params { params },
        }
    }
}

/// Where a proposal stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProposalStatus {
    /// Open for votes.
    Open,
    /// Passed; its change is scheduled.
    Passed,
    /// Enough no votes that it can no longer pass.
    Rejected,
    /// Not decided before its expiry height.
    Expired,
}

impl From<ledger::ProposalStatus> for ProposalStatus {
    fn from(v: ledger::ProposalStatus) -> Self {
        match v {
            ledger::ProposalStatus::Open => ProposalStatus::Open,
            ledger::ProposalStatus::Passed => ProposalStatus::Passed,
            ledger::ProposalStatus::Rejected => ProposalStatus::Rejected,
            ledger::ProposalStatus::Expired => ProposalStatus::Expired,
        }
    }
}

/// A governance proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    /// Its id.
    pub id: ProposalId,
    /// What it changes.
    pub kind: ProposalKind,
    /// Who proposed it.
    pub proposer: AccountId,
    /// The height it was made at.
    pub created: Height,
    /// The first height at which it can no longer be voted on.
    pub expires: Height,
    /// Votes cast, by account.
    pub votes: BTreeMap<AccountId, bool>,
    /// Where it stands.
    pub status: ProposalStatus,
}

impl From<ledger::Proposal> for Proposal {
    fn from(v: ledger::Proposal) -> Self {
        Proposal {
            id: v.id,
            kind: v.kind.into(),
            proposer: v.proposer,
            created: v.created,
            expires: v.expires,
            votes: v.votes,
            status: v.status.into(),
        }
    }
}

/// An account: its nonce and holdings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// The nonce the account's next transaction must carry.
    pub nonce: u64,
    /// Credits held, by vintage, oldest first.
    pub holdings: Vec<Holding>,
}

/// Credits of one vintage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holding {
    /// The vintage.
    pub vintage: Vintage,
    /// How many Wh.
    pub amount: Wh,
}

impl From<ledger::Account> for Account {
    fn from(v: ledger::Account) -> Self {
        Account {
            nonce: v.nonce,
            holdings: v
                .holdings
                .into_iter()
                .map(|(vintage, amount)| Holding { vintage, amount })
                .collect(),
        }
    }
}
