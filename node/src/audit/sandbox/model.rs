//! What the model keeps: per site its zone, draw, attachments, permit and
//! monthly usage; per zone its permit requirement and grid operators; per
//! feeder its mining share; per order its window, shares, use,
//! acknowledgements and verdicts. Also what it reports: breaches, counts.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use watt_runtime::feeder::FeederId;
use watt_runtime::sandbox::{CurtailTarget, OrderId, PermitGap, PermitTerms};
use watt_runtime::state::{Verdict, ViolationKind};
use watt_runtime::types::{AccountId, Height, Hour, SiteId, Watts, Wh, ZoneId};

/// What the model has checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    /// Consumption readings judged against a permit or a zone's
    /// requirement.
    pub permit_checks: u64,
    /// Permits whose issue (or move) was held to the feeder's share.
    pub permits_issued: u64,
    /// Curtailment orders whose shares were derived.
    pub orders: u64,
    /// Verdicts recomputed.
    pub verdicts: u64,
}

/// Why a breach was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BreachReason {
    /// Consumption in a permits-required zone without a live permit.
    NoPermit,
    /// Consumption in an hour at or after the permit's expiry.
    PermitExpired,
    /// Consumption in a month or hour of day the permit does not allow.
    OutOfSeason,
    /// A reading whose average power is above the permit's max power.
    AbovePower,
    /// A reading that adds energy beyond the month's quota (the one that
    /// crosses it and every later one in the month).
    AboveQuota,
    /// Consumption in a curtailment window above the site's share.
    AboveShare,
    /// Readings that do not reach the window's end by the verdict.
    NotReported,
    /// A permit breach whose detail the auditor cannot place.
    Unknown,
}

impl BreachReason {
    /// The reason's name in the report.
    pub fn name(self) -> &'static str {
        match self {
            BreachReason::NoPermit => "noPermit",
            BreachReason::PermitExpired => "permitExpired",
            BreachReason::OutOfSeason => "outOfSeason",
            BreachReason::AbovePower => "abovePower",
            BreachReason::AboveQuota => "aboveQuota",
            BreachReason::AboveShare => "aboveShare",
            BreachReason::NotReported => "notReported",
            BreachReason::Unknown => "unknown",
        }
    }

    pub(super) fn of_gap(gap: PermitGap) -> BreachReason {
        match gap {
            PermitGap::NoPermit => BreachReason::NoPermit,
            PermitGap::Expired => BreachReason::PermitExpired,
            PermitGap::OutOfSeason => BreachReason::OutOfSeason,
            PermitGap::QuotaUsed => BreachReason::AboveQuota,
        }
    }

    /// What a chain's `PermitBreach` detail says: the runtime opens a
    /// date breach with the gap's name, and words the power and quota
    /// breaches as below (docs/protocol.md §18).
    pub(super) fn of_detail(detail: &str) -> BreachReason {
        for gap in [
            PermitGap::NoPermit,
            PermitGap::Expired,
            PermitGap::OutOfSeason,
        ] {
            if detail
                .strip_prefix(gap.name())
                .is_some_and(|r| r.starts_with(':'))
            {
                return BreachReason::of_gap(gap);
            }
        }
        if detail.starts_with("usage of month") && detail.contains("above the quota") {
            BreachReason::AboveQuota
        } else if detail.contains("above the permit's") {
            BreachReason::AbovePower
        } else {
            BreachReason::Unknown
        }
    }
}

impl Serialize for BreachReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One recorded breach, as the model explains it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    /// The site.
    pub site: SiteId,
    /// `PermitBreach` or `CurtailmentBreach`.
    pub kind: ViolationKind,
    /// Why.
    pub reason: BreachReason,
    /// The reading's sequence number (permit breaches).
    pub sequence: Option<u64>,
    /// The order (curtailment breaches).
    pub order: Option<OrderId>,
    /// The reading's hour (permit breaches).
    pub hour: Option<Hour>,
    /// The chain's words.
    pub detail: String,
}

/// A site's permit.
#[derive(Clone, Debug)]
pub(crate) struct PermitModel {
    pub(crate) feeder: FeederId,
    pub(crate) terms: PermitTerms,
    /// The block that issued it (0: in the starting state).
    pub(crate) issued: Height,
    /// That block's time, ms: its power binds readings starting from it.
    pub(crate) issued_ms: u64,
    pub(crate) revoked: Option<(Height, String)>,
}

impl PermitModel {
    /// Whether it takes its feeder's share at `now_s` (`Permit::live`).
    pub(crate) fn live(&self, now_s: u64) -> bool {
        self.revoked.is_none() && now_s < self.terms.expires
    }
}

/// A site's usage in one UTC month.
#[derive(Clone, Debug, Default)]
pub(crate) struct MonthUsage {
    pub(crate) used: Wh,
    /// The quota of the live permit when the month's last reading was
    /// judged (`None`: none was live).
    pub(crate) quota: Option<Wh>,
    pub(crate) readings: u64,
    pub(crate) breaches: u64,
}

/// A site, as far as the sandbox needs it.
#[derive(Clone, Debug)]
pub(crate) struct SiteModel {
    pub(crate) zone: ZoneId,
    pub(crate) max_draw: Watts,
    /// Where its readings have reached.
    pub(crate) last_end: u64,
    pub(crate) revoked: bool,
    /// Feeder attachments by the hour they take effect.
    pub(crate) attachments: BTreeMap<Hour, FeederId>,
    /// The permit (at most one; a new one replaces it; a revoked one
    /// stays, and its usage still counts).
    pub(crate) permit: Option<PermitModel>,
    /// Usage per month, `year x 12 + month - 1`.
    pub(crate) usage: BTreeMap<u64, MonthUsage>,
}

impl SiteModel {
    pub(super) fn new(zone: ZoneId, max_draw: Watts, last_end: u64) -> SiteModel {
        SiteModel {
            zone,
            max_draw,
            last_end,
            revoked: false,
            attachments: BTreeMap::new(),
            permit: None,
            usage: BTreeMap::new(),
        }
    }

    /// The feeder in force during `hour`.
    pub(crate) fn feeder_at(&self, hour: Hour) -> Option<&FeederId> {
        self.attachments.range(..=hour).next_back().map(|(_, f)| f)
    }

    /// The feeder of the latest attachment (which may start later).
    pub(crate) fn latest_feeder(&self) -> Option<&FeederId> {
        self.attachments.values().next_back()
    }
}

/// A zone's sandbox settings.
#[derive(Clone, Debug, Default)]
pub(super) struct ZoneModel {
    pub(super) permits_from: Option<Hour>,
    pub(super) operators: Vec<AccountId>,
}

/// A feeder, as far as permits need it.
#[derive(Clone, Debug)]
pub(super) struct FeederModel {
    pub(super) zone: ZoneId,
    pub(super) rated_capacity: Watts,
    pub(super) mining_share_permille: u16,
    /// Every site ever attached to it.
    pub(super) sites: BTreeSet<SiteId>,
}

/// An affected site under an order.
#[derive(Clone, Debug)]
pub(crate) struct OrderSite {
    pub(crate) share: Watts,
    pub(crate) used: Wh,
    pub(crate) acked_at: Option<u64>,
    pub(crate) verdict: Option<Verdict>,
}

/// A curtailment order.
#[derive(Clone, Debug)]
pub(crate) struct Order {
    pub(crate) target: CurtailTarget,
    pub(crate) zone: ZoneId,
    pub(crate) issuer: AccountId,
    /// The block that gave it (0: in the starting state) and its time.
    pub(crate) height: Height,
    pub(crate) ordered_ms: u64,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) max_mining: Watts,
    pub(crate) cancelled_at: Option<u64>,
    /// The window verdicts cover (`None`: cancelled before its start).
    pub(crate) window: Option<(u64, u64)>,
    /// Its entries in the chain's due index: verdicts come in the first
    /// block strictly after the earliest. A cancel removes the entry at
    /// the window's end plus the grace in force then (under a grace
    /// changed since the order, the order's own entry stays) and adds one
    /// at the cancel plus the grace if verdicts follow.
    pub(crate) dues: BTreeSet<u64>,
    /// The block of its verdicts.
    pub(crate) judged: Option<Height>,
    /// No longer counts consumption: judged, or cancelled before its start.
    pub(crate) closed: bool,
    /// Affected sites in site order.
    pub(crate) sites: BTreeMap<SiteId, OrderSite>,
}
