//! The regulator's sandbox as the API shows it: permit terms, curtailment
//! targets and acknowledgements (docs/protocol.md §18).
//!
//! Everything here follows the JSON convention of `docs/rpc.md`: camelCase
//! field names, watts and Wh as decimal strings, order numbers, hours,
//! masks and unix seconds as numbers.

use super::feeder::{dec_watts, feeder_id, FeederId};
use super::ViewError;
use serde::{Deserialize, Serialize};
use watt_runtime::sandbox as ledger;
use watt_runtime::types::{SiteId, Watts, Wh, ZoneId};

/// What a regulator grants a site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermitTerms {
    /// The most the site may draw on average over a reading's period, W
    /// (a decimal string).
    #[serde(with = "dec_watts")]
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
    #[serde(rename = "shareW", with = "dec_watts")]
    pub share: Watts,
}

/// Shares as the API lists them.
pub(crate) fn site_shares(v: Vec<(SiteId, Watts)>) -> Vec<SiteShare> {
    v.into_iter()
        .map(|(site, share)| SiteShare { site, share })
        .collect()
}
