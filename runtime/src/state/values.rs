//! The values stored under state keys. Each is encoded with the canonical
//! encoding; its hash is committed in the state tree.

use crate::block::ValidatorSet;
use crate::crypto::PublicKey;
use crate::tx::{AuthorityChange, RegulatorChange, Serial, Text};
use crate::types::{
    AccountId, Bucket, ChainParams, Height, Hour, MeterId, ProposalId, RetirementId, SiteId,
    Source, Vintage, Watts, Wh, ZoneId, ZonePolicy,
};
use borsh::{BorshDeserialize, BorshSerialize};
use std::collections::BTreeMap;

/// An account: its nonce and its credits by vintage (only non-zero,
/// unexpired holdings are kept).
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Account {
    /// The nonce the account's next transaction must carry.
    pub nonce: u64,
    /// Credits held, by vintage.
    pub holdings: BTreeMap<Vintage, Wh>,
}

impl Account {
    /// The total of all holdings.
    pub fn balance(&self) -> Wh {
        Wh(self.holdings.values().map(|w| w.0).sum())
    }
}

/// The lifecycle of a generation meter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum MeterStatus {
    /// Registered, awaiting the regulator's approval.
    Pending = 0,
    /// Readings mint.
    Active = 1,
    /// No further readings.
    Revoked = 2,
}

/// A device key change awaiting the regulator's approval.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct PendingKey {
    /// The new device key.
    pub device_key: PublicKey,
    /// Where readings under it start.
    pub baseline_time: u64,
    /// Its counter at that time.
    pub baseline_counter: Wh,
}

/// A generation meter.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Meter {
    /// Its id.
    pub id: MeterId,
    /// Its serial number.
    pub serial: Serial,
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

impl Meter {
    /// A newly registered meter: readings count from the baseline, nothing
    /// minted yet.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: MeterId,
        serial: Serial,
        device_key: PublicKey,
        owner: AccountId,
        operator: AccountId,
        source: Source,
        capacity: Watts,
        zone: ZoneId,
        status: MeterStatus,
        baseline_time: u64,
        baseline_counter: Wh,
    ) -> Meter {
        Meter {
            id,
            serial,
            device_key,
            owner,
            operator,
            source,
            capacity,
            zone,
            status,
            last_sequence: 0,
            last_end: baseline_time,
            last_counter: baseline_counter,
            pending_key: None,
            minted: Wh(0),
        }
    }
}

/// Why a site is suspended for an anomaly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum ViolationKind {
    /// Consumption above what the site's max draw allows.
    OverDraw = 0,
    /// The counter went down.
    CounterWentDown = 1,
    /// The reading carries a tamper (or other status) flag.
    Flagged = 2,
    /// The period does not start where the last one ended.
    PeriodGap = 3,
    /// The period spans more than one hour (a catch-up after a gap).
    MultiHour = 4,
    /// An open debt was not settled within its bucket and the grace.
    Unbacked = 5,
    /// Consumption outside the site's permit (or without one where the
    /// zone requires it).
    PermitBreach = 6,
    /// Consumption above the site's share of a curtailment order, or no
    /// readings covering the window.
    CurtailmentBreach = 7,
}

/// A mining site.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Site {
    /// Its id.
    pub id: SiteId,
    /// Its meter's serial number.
    pub serial: Serial,
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
    pub revoked: Option<Text>,
    /// Set while the regulator suspends it.
    pub regulator_suspension: Option<Text>,
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

impl Site {
    /// A newly registered site, last seen at `seen_ms`: readings count from
    /// the baseline; nothing consumed, burned or owed yet.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: SiteId,
        serial: Serial,
        device_key: PublicKey,
        owner: AccountId,
        zone: ZoneId,
        max_draw: Watts,
        baseline_time: u64,
        baseline_counter: Wh,
        seen_ms: u64,
    ) -> Site {
        Site {
            id,
            serial,
            device_key,
            owner,
            zone,
            max_draw,
            last_sequence: 0,
            last_end: baseline_time,
            last_counter: baseline_counter,
            last_seen_ms: seen_ms,
            revoked: None,
            regulator_suspension: None,
            anomaly: None,
            open_debt: Wh(0),
            shortfall: Wh(0),
            consumed: Wh(0),
            burned: Wh(0),
        }
    }
}

/// A site's derived status, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

impl Site {
    /// The derived status at block time `now_ms` under the zone's policy.
    pub fn status(&self, policy: &ZonePolicy, now_ms: u64) -> SiteStatus {
        if self.revoked.is_some() {
            SiteStatus::Revoked
        } else if self.regulator_suspension.is_some() {
            SiteStatus::SuspendedByRegulator
        } else if self.anomaly.is_some() {
            SiteStatus::SuspendedAnomaly
        } else if !self.shortfall.is_zero() {
            SiteStatus::SuspendedShortfall
        } else if now_ms.saturating_sub(self.last_end.saturating_mul(1000))
            > policy.dark_after_s.saturating_mul(1000)
        {
            SiteStatus::Dark
        } else {
            SiteStatus::Active
        }
    }
}

/// Per-zone credit accounting. Conservation:
/// `minted = held + burned + retired + withdrawn + expired`.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
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

impl Supply {
    /// Whether the conservation equation holds.
    pub fn conserved(&self) -> bool {
        let out = self.held.0 as u128
            + self.burned.0 as u128
            + self.retired.0 as u128
            + self.withdrawn.0 as u128
            + self.expired.0 as u128;
        self.minted.0 as u128 == out
    }
}

/// A zone.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
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

/// What a device key or serial number belongs to.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum DeviceOwner {
    /// A generation meter.
    Meter(MeterId),
    /// A mining site.
    Site(SiteId),
    /// A feeder's head meter.
    FeederHead(crate::feeder::FeederId),
    /// A feeder's declared-load key.
    FeederDeclared(crate::feeder::FeederId),
}

/// An open debt of one site in one matching bucket.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Debt {
    /// The zone whose credits settle it.
    pub zone: ZoneId,
    /// Wh still to cover.
    pub amount: Wh,
    /// When it turns into a shortfall (unix seconds).
    pub deadline: u64,
}

/// A change decided by governance or evidence, applied at a later height.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum PendingChange {
    /// A change to the authority set.
    Authorities {
        /// The change.
        change: AuthorityChange,
    },
    /// A change to the regulator set.
    Regulators {
        /// The change.
        change: RegulatorChange,
    },
    /// New chain parameters.
    Params {
        /// The parameters.
        params: ChainParams,
    },
    /// An equivocating validator's operator loses its role, whatever
    /// consensus key it holds by then.
    Punish {
        /// The operator.
        operator: AccountId,
    },
}

/// One span of heights at which a consensus key signed for an operator:
/// `[from, until)`, open-ended while the key is in the set.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct KeySpan {
    /// The operator the key signed for.
    pub operator: AccountId,
    /// The first height of the set that held it.
    pub from: Height,
    /// The first height of a set without it (`None`: still in the set).
    pub until: Option<Height>,
}

/// Every span of heights at which a consensus key was in the validator
/// set, oldest first: evidence against the key is judged by the span of
/// the votes' height, so it follows the operator across rotations and
/// cannot be pinned on a key's later holder.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct KeyTenure {
    /// The spans.
    pub spans: Vec<KeySpan>,
}

impl KeyTenure {
    /// The operator the key signed for at `height`, if it was in the set.
    pub fn operator_at(&self, height: Height) -> Option<AccountId> {
        self.spans
            .iter()
            .find(|s| s.from <= height && s.until.is_none_or(|u| height < u))
            .map(|s| s.operator)
    }
}

/// A change and the height from which it applies.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Scheduled {
    /// The first height at which the change is in force.
    pub activation: Height,
    /// The change.
    pub change: PendingChange,
}

/// The chain singleton.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ChainState {
    /// Chain parameters in force.
    pub params: ChainParams,
    /// The authorities; also the validator set of the next height.
    pub validators: ValidatorSet,
    /// The regulator accounts, sorted.
    pub regulators: Vec<AccountId>,
    /// Changes waiting for their activation height, in decision order.
    pub scheduled: Vec<Scheduled>,
    /// Open proposals, in id order.
    pub open_proposals: Vec<ProposalId>,
    /// The height of the last applied block (0 at genesis).
    pub height: Height,
    /// The timestamp of the last applied block (genesis time at first).
    pub time_ms: u64,
    /// The last meter id assigned (0: none yet); the next meter gets one more.
    pub next_meter: u64,
    /// The last site id assigned (0: none yet); the next site gets one more.
    pub next_site: u64,
    /// The last retirement id assigned (0: none yet); the next retirement gets one more.
    pub next_retirement: u64,
    /// The last proposal id assigned (0: none yet); the next proposal gets one more.
    pub next_proposal: u64,
}

impl ChainState {
    /// Whether an account is an authority's operator account.
    pub fn is_authority(&self, account: &AccountId) -> bool {
        self.validators.by_operator(account).is_some()
    }

    /// Whether an account is a regulator.
    pub fn is_regulator(&self, account: &AccountId) -> bool {
        self.regulators.binary_search(account).is_ok()
    }
}

/// What a proposal would change.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
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

impl ProposalKind {
    /// Whether regulators vote on it too (they must reach a majority).
    pub fn needs_regulators(&self) -> bool {
        !matches!(self, ProposalKind::Authorities { .. })
    }
}

/// Where a proposal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum ProposalStatus {
    /// Open for votes.
    Open = 0,
    /// Passed; its change is scheduled.
    Passed = 1,
    /// Enough no votes that it can no longer pass.
    Rejected = 2,
    /// Not decided before its expiry height.
    Expired = 3,
}

/// A governance proposal.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
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

/// A retirement: credits burned as a claim for non-mining use.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Retirement {
    /// Its id.
    pub id: RetirementId,
    /// The account that retired.
    pub account: AccountId,
    /// Total retired.
    pub amount: Wh,
    /// Who the claim is for.
    pub beneficiary: Text,
    /// What for.
    pub purpose: Text,
    /// Which vintages were consumed, and how much of each.
    pub consumed: Vec<(Vintage, Wh)>,
    /// The block it happened in.
    pub height: Height,
}

/// A debt's bucket with its deadline, as listed for a site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenDebt {
    /// The site.
    pub site: SiteId,
    /// The bucket.
    pub bucket: Bucket,
    /// The debt.
    pub debt: Debt,
}
