//! The regulator's sandbox as the API shows it: permit terms, curtailment
//! targets and acknowledgements (docs/protocol.md §18), and what the chain
//! keeps of them: a zone's sandbox settings, permits with their monthly
//! usage, curtailment orders with each affected site's row.
//!
//! Everything here follows the JSON convention of `docs/rpc.md`: camelCase
//! field names, watts and Wh as decimal strings, order numbers, hours,
//! masks and unix seconds as numbers.

use super::feeder::{feeder_id, FeederId};
use super::ViewError;
use serde::{Deserialize, Serialize};
use watt_runtime::sandbox as ledger;
use watt_runtime::state;
use watt_runtime::types::{AccountId, Hour, SiteId, Watts, Wh, ZoneId};

/// What a regulator grants a site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermitTerms {
    /// The most the site may draw on average over a reading's period, W
    /// (a decimal string).
    pub max_power: Watts,
    /// Allowed months, bit 0 = January (12 bits).
    pub months: u16,
    /// Allowed UTC hours of the day, bit 0 = 00:00-01:00 (24 bits).
    pub hours: u32,
    /// The most energy per UTC month, Wh.
    pub monthly_quota: Wh,
    /// Unix seconds on a whole hour: the first hour not covered.
    pub expires: u64,
}

impl From<ledger::PermitTerms> for PermitTerms {
    fn from(v: ledger::PermitTerms) -> Self {
        PermitTerms {
            max_power: v.max_power,
            months: v.months,
            hours: v.hours,
            monthly_quota: v.monthly_quota,
            expires: v.expires,
        }
    }
}

impl From<PermitTerms> for ledger::PermitTerms {
    fn from(v: PermitTerms) -> Self {
        ledger::PermitTerms {
            max_power: v.max_power,
            months: v.months,
            hours: v.hours,
            monthly_quota: v.monthly_quota,
            expires: v.expires,
        }
    }
}

/// What a curtailment order covers: `{"feeder": "DEV-1/NORTH"}` or
/// `{"zone": "DEV-1"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CurtailTarget {
    /// The sites attached to one feeder.
    Feeder(FeederId),
    /// Every site of a zone.
    Zone(ZoneId),
}

impl From<ledger::CurtailTarget> for CurtailTarget {
    fn from(v: ledger::CurtailTarget) -> Self {
        match v {
            ledger::CurtailTarget::Feeder(f) => CurtailTarget::Feeder(f.into()),
            ledger::CurtailTarget::Zone(z) => CurtailTarget::Zone(z),
        }
    }
}

impl TryFrom<CurtailTarget> for ledger::CurtailTarget {
    type Error = ViewError;
    fn try_from(v: CurtailTarget) -> Result<Self, ViewError> {
        Ok(match v {
            CurtailTarget::Feeder(f) => {
                ledger::CurtailTarget::Feeder(feeder_id("target.feeder", f)?)
            }
            CurtailTarget::Zone(z) => ledger::CurtailTarget::Zone(z),
        })
    }
}

/// A site owner's acknowledgement of a curtailment order, as the owner
/// signs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurtailmentAck {
    /// The order number.
    pub order: u64,
    /// The site.
    pub site: SiteId,
    /// When the owner's controller saw it, unix seconds.
    pub seen_at: u64,
}

impl From<ledger::CurtailmentAck> for CurtailmentAck {
    fn from(v: ledger::CurtailmentAck) -> Self {
        CurtailmentAck {
            order: v.order.0,
            site: v.site,
            seen_at: v.seen_at,
        }
    }
}

impl From<CurtailmentAck> for ledger::CurtailmentAck {
    fn from(v: CurtailmentAck) -> Self {
        ledger::CurtailmentAck {
            order: ledger::OrderId(v.order),
            site: v.site,
            seen_at: v.seen_at,
        }
    }
}

/// An affected site's share: `{"site": 2, "shareW": "150000"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteShare {
    /// The site.
    pub site: SiteId,
    /// Its share of the order's max mining power, W (a decimal string).
    #[serde(rename = "shareW")]
    pub share: Watts,
}

/// Shares as the API lists them.
pub(crate) fn site_shares(v: Vec<(SiteId, Watts)>) -> Vec<SiteShare> {
    v.into_iter()
        .map(|(site, share)| SiteShare { site, share })
        .collect()
}

/// A zone's sandbox settings, as `zones_getSandbox` shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneSandbox {
    /// The zone.
    pub zone: ZoneId,
    /// Whether the regulator requires permits in the zone (from
    /// `permitsFrom` on).
    pub permits_required: bool,
    /// The first hour whose consumption needs a live permit; `null` when
    /// permits are not required.
    pub permits_from: Option<Hour>,
    /// Who may order curtailment in the zone.
    pub grid_operators: Vec<AccountId>,
}

impl ZoneSandbox {
    /// The settings of `zone` (the default, for a zone the regulator has
    /// not set: no permits, no grid operators).
    pub fn new(zone: ZoneId, v: state::ZoneSandbox) -> Self {
        ZoneSandbox {
            zone,
            permits_required: v.permits_from.is_some(),
            permits_from: v.permits_from,
            grid_operators: v.grid_operators,
        }
    }
}

/// A site's use of its permit in one UTC month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermitUsage {
    /// The month, `YYYY-MM` (UTC).
    pub month: String,
    /// The site's consumption in it, Wh.
    pub used: Wh,
    /// The permit's monthly quota, Wh.
    pub quota: Wh,
}

/// The text form of a monthly bucket (`year x 12 + month - 1`):
/// `YYYY-MM`.
pub fn month_name(index: u64) -> String {
    format!("{:04}-{:02}", index / 12, index % 12 + 1)
}

/// A site's permit, as `permits_get` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permit {
    /// The site.
    pub site: SiteId,
    /// The feeder whose mining share it takes.
    pub feeder: FeederId,
    /// What it grants.
    pub terms: PermitTerms,
    /// Block time of issue, unix ms.
    pub issued_ms: u64,
    /// The regulator's reason when it was revoked; `null` while not.
    pub revoked: Option<String>,
    /// Whether it is in force at the block read: not revoked and before
    /// its expiry.
    pub live: bool,
    /// The site's use per UTC month, for the months with any, newest
    /// first (at most 13).
    pub usage: Vec<PermitUsage>,
}

impl Permit {
    /// A permit read at a block whose time is `now_s`, with its months'
    /// usage `(month index, Wh)`, newest first.
    pub fn new(v: state::Permit, now_s: u64, usage: Vec<(u64, Wh)>) -> Self {
        let live = v.live(now_s);
        let quota = v.terms.monthly_quota;
        Permit {
            site: v.site,
            feeder: v.feeder.into(),
            terms: v.terms.into(),
            issued_ms: v.issued_ms,
            revoked: v.revoked.map(|r| r.as_str().to_string()),
            live,
            usage: usage
                .into_iter()
                .map(|(m, used)| PermitUsage {
                    month: month_name(m),
                    used,
                    quota,
                })
                .collect(),
        }
    }
}

/// Where a curtailment order stands at a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CurtailmentState {
    /// Its window has not begun.
    Upcoming,
    /// Its window is on: affected sites are limited to their shares.
    Active,
    /// Its window is over (or it was cancelled during it); the verdicts
    /// come in the first block after the window's end plus the
    /// settlement grace.
    AwaitingVerdict,
    /// Its verdicts are given.
    Judged,
    /// Cancelled before its start: no verdicts.
    Cancelled,
}

impl CurtailmentState {
    /// The state of `order` at block time `now_s`.
    pub fn of(order: &state::Curtailment, now_s: u64) -> Self {
        match order.judged_window() {
            None => CurtailmentState::Cancelled,
            Some(_) if order.judged => CurtailmentState::Judged,
            Some((start, _)) if now_s < start => CurtailmentState::Upcoming,
            Some((_, end)) if now_s < end => CurtailmentState::Active,
            Some(_) => CurtailmentState::AwaitingVerdict,
        }
    }

    /// Whether it is over: judged or cancelled (the filter's `past`).
    pub fn is_past(self) -> bool {
        matches!(self, CurtailmentState::Judged | CurtailmentState::Cancelled)
    }
}

/// How an affected site did under an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// Its consumption in the judged window, pro rata by seconds, Wh.
    pub used: Wh,
    /// What its share allowed with the zone's tolerance, Wh.
    pub allowed: Wh,
    /// Whether its readings reached the window's end.
    pub reported: bool,
    /// Honoured (`true`) or breached.
    pub honoured: bool,
}

impl From<state::Verdict> for Verdict {
    fn from(v: state::Verdict) -> Self {
        Verdict {
            used: v.used,
            allowed: v.allowed,
            reported: v.reported,
            honoured: v.honoured,
        }
    }
}

/// One affected site under an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurtailedSite {
    /// The site.
    pub site: SiteId,
    /// Its share of the order's max mining power, W (a decimal string).
    #[serde(rename = "shareW")]
    pub share: Watts,
    /// Its consumption in the window so far, pro rata by seconds, Wh.
    pub used: Wh,
    /// When its owner acknowledged the order (the time seen, unix
    /// seconds); `null` if not.
    pub acked_at: Option<u64>,
    /// The verdict, once given.
    pub verdict: Option<Verdict>,
}

impl CurtailedSite {
    /// The row of `site`.
    pub fn new(site: SiteId, v: state::OrderSite) -> Self {
        CurtailedSite {
            site,
            share: v.share,
            used: v.used,
            acked_at: v.acked_at,
            verdict: v.verdict.map(Into::into),
        }
    }
}

/// A curtailment order, as `grid_getCurtailment` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Curtailment {
    /// The order number.
    pub order: u64,
    /// What it covers.
    pub target: CurtailTarget,
    /// The target's zone.
    pub zone: ZoneId,
    /// The grid operator who gave it.
    pub issuer: AccountId,
    /// Window start, unix seconds.
    pub start: u64,
    /// Window end, unix seconds.
    pub end: u64,
    /// The most all affected sites together may draw, W (a decimal
    /// string).
    #[serde(rename = "maxMiningW")]
    pub max_mining: Watts,
    /// When it was cancelled (block time, unix seconds); `null` if not.
    pub cancelled_at: Option<u64>,
    /// Where it stands at the block read.
    pub state: CurtailmentState,
    /// Each affected site, in site order.
    pub sites: Vec<CurtailedSite>,
}

impl Curtailment {
    /// An order read at a block whose time is `now_s`, with its affected
    /// sites' rows.
    pub fn new(v: state::Curtailment, now_s: u64, sites: Vec<CurtailedSite>) -> Self {
        Curtailment {
            state: CurtailmentState::of(&v, now_s),
            order: v.id.0,
            target: v.target.into(),
            zone: v.zone,
            issuer: v.issuer,
            start: v.start,
            end: v.end,
            max_mining: v.max_mining,
            cancelled_at: v.cancelled_at,
            sites,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watt_runtime::sandbox::OrderId;

    #[test]
    fn months_read_as_utc_year_and_month() {
        assert_eq!(month_name(2026 * 12), "2026-01");
        assert_eq!(month_name(2025 * 12 + 11), "2025-12");
    }

    #[test]
    fn an_order_is_upcoming_active_awaiting_then_judged_or_cancelled() {
        let mut o = state::Curtailment {
            id: OrderId(1),
            target: ledger::CurtailTarget::Zone(ZoneId::new("RU-BU").unwrap()),
            zone: ZoneId::new("RU-BU").unwrap(),
            issuer: AccountId::default(),
            start: 1_000,
            end: 2_000,
            max_mining: Watts(10),
            cancelled_at: None,
            shares: vec![],
            judged: false,
            ordered_ms: 500_000,
        };
        let of = |o: &state::Curtailment, t| CurtailmentState::of(o, t);
        assert_eq!(of(&o, 999), CurtailmentState::Upcoming);
        assert_eq!(of(&o, 1_000), CurtailmentState::Active);
        assert_eq!(of(&o, 2_000), CurtailmentState::AwaitingVerdict);
        o.judged = true;
        assert_eq!(of(&o, 9_000), CurtailmentState::Judged);
        // Cancelled during the window: its verdicts cover [start, cancel).
        o.judged = false;
        o.cancelled_at = Some(1_500);
        assert_eq!(of(&o, 1_500), CurtailmentState::AwaitingVerdict);
        o.judged = true;
        assert_eq!(of(&o, 9_000), CurtailmentState::Judged);
        // Cancelled before its start: no verdicts.
        o.cancelled_at = Some(1_000);
        assert_eq!(of(&o, 1_000), CurtailmentState::Cancelled);
        assert!(CurtailmentState::Cancelled.is_past() && CurtailmentState::Judged.is_past());
        assert!(!CurtailmentState::AwaitingVerdict.is_past());
        let json = serde_json::to_value(CurtailmentState::AwaitingVerdict).unwrap();
        assert_eq!(json, "awaitingVerdict");
    }
}
