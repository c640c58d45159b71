//! Feeders as the API shows them: ids, registrations, attachments, head
//! meter readings, declared loads and hourly balance verdicts.
//!
//! Everything here follows the JSON convention of `docs/rpc.md`: camelCase
//! field names, `u64` amounts (Wh, watts, sequence numbers) as decimal
//! strings, the signed residual as a decimal string with `-` when negative,
//! keys as `0x` hex, hours, ids and unix seconds as numbers.

use super::{Signed, ViewError};
use serde::{Deserialize, Serialize};
use std::fmt;
use watt_runtime::crypto::PublicKey;
use watt_runtime::feeder as ledger;
use watt_runtime::tx as ledger_tx;
use watt_runtime::types::{Hour, MeterId, SiteId, Watts, Wh, ZoneId};

/// A feeder id, for example `"RU-BU/F12"`: 2 to 24 characters of `A-Z`,
/// `0-9`, `-` and `/`. Checked when the view becomes a ledger value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FeederId(pub String);

impl FeederId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FeederId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<ledger::FeederId> for FeederId {
    fn from(v: ledger::FeederId) -> Self {
        FeederId(v.as_str().to_string())
    }
}

/// Checks a feeder id, naming the field it came from when it is malformed.
pub(crate) fn feeder_id(field: &'static str, v: FeederId) -> Result<ledger::FeederId, ViewError> {
    ledger::FeederId::new(&v.0).map_err(|source| ViewError::FeederId { field, source })
}

/// What a regulator registers a feeder with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewFeeder {
    /// The feeder's id.
    pub id: FeederId,
    /// The zone it lies in.
    pub zone: ZoneId,
    /// Rated capacity, W (a decimal string).
    pub rated_capacity: Watts,
    /// Technical losses allowed, per mille of the energy entering the feeder.
    pub loss_permille: u16,
    /// Unexplained energy up to this many Wh in an hour counts as balanced.
    pub alert_floor: Wh,
    /// Consecutive unexplained hours before an alert (1 to 168).
    pub alert_hours: u16,
    /// The part of rated capacity mining permits may take, per mille.
    pub mining_share_permille: u16,
    /// The head meter's device key.
    pub head_key: PublicKey,
    /// Unix seconds on a whole hour from which head readings count.
    pub baseline_time: u64,
    /// The head meter's import counter at the baseline.
    pub baseline_import: Wh,
    /// The head meter's export counter at the baseline.
    pub baseline_export: Wh,
    /// The key that signs the declared load of ordinary customers, if any.
    pub declared_key: Option<PublicKey>,
}

impl From<ledger::NewFeeder> for NewFeeder {
    fn from(v: ledger::NewFeeder) -> Self {
        NewFeeder {
            id: v.id.into(),
            zone: v.zone,
            rated_capacity: v.rated_capacity,
            loss_permille: v.loss_permille,
            alert_floor: v.alert_floor,
            alert_hours: v.alert_hours,
            mining_share_permille: v.mining_share_permille,
            head_key: v.head_key,
            baseline_time: v.baseline_time,
            baseline_import: v.baseline_import,
            baseline_export: v.baseline_export,
            declared_key: v.declared_key,
        }
    }
}

impl TryFrom<NewFeeder> for ledger::NewFeeder {
    type Error = ViewError;
    /// A malformed id is reported as `feeder.id` (the field of
    /// `registerFeeder` it sits in).
    fn try_from(v: NewFeeder) -> Result<Self, ViewError> {
        Ok(ledger::NewFeeder {
            id: feeder_id("feeder.id", v.id)?,
            zone: v.zone,
            rated_capacity: v.rated_capacity,
            loss_permille: v.loss_permille,
            alert_floor: v.alert_floor,
            alert_hours: v.alert_hours,
            mining_share_permille: v.mining_share_permille,
            head_key: v.head_key,
            baseline_time: v.baseline_time,
            baseline_import: v.baseline_import,
            baseline_export: v.baseline_export,
            declared_key: v.declared_key,
        })
    }
}

/// A device attached to a feeder: `{"meter": 3}` or `{"site": 2}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Attachee {
    /// A generation meter.
    Meter(MeterId),
    /// A mining site.
    Site(SiteId),
}

impl From<ledger::Attachee> for Attachee {
    fn from(v: ledger::Attachee) -> Self {
        match v {
            ledger::Attachee::Meter(m) => Attachee::Meter(m),
            ledger::Attachee::Site(s) => Attachee::Site(s),
        }
    }
}

impl From<Attachee> for ledger::Attachee {
    fn from(v: Attachee) -> Self {
        match v {
            Attachee::Meter(m) => ledger::Attachee::Meter(m),
            Attachee::Site(s) => ledger::Attachee::Site(s),
        }
    }
}

/// An interval reading of a feeder's head meter, as the meter signs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeederReading {
    /// The feeder.
    pub feeder: FeederId,
    /// The head meter's sequence number.
    pub sequence: u64,
    /// Period start, unix seconds (inclusive).
    pub period_start: u64,
    /// Period end, unix seconds (exclusive).
    pub period_end: u64,
    /// Cumulative energy into the feeder from upstream, at period end.
    pub import: Wh,
    /// Cumulative local surplus pushed upstream, at period end.
    pub export: Wh,
    /// Status flags (`FLAG_*`).
    pub flags: u8,
}

impl From<ledger::FeederReading> for FeederReading {
    fn from(v: ledger::FeederReading) -> Self {
        FeederReading {
            feeder: v.feeder.into(),
            sequence: v.sequence,
            period_start: v.period_start,
            period_end: v.period_end,
            import: v.import,
            export: v.export,
            flags: v.flags,
        }
    }
}

impl TryFrom<FeederReading> for ledger::FeederReading {
    type Error = ViewError;
    /// A malformed id is reported as `readings[].feeder` (the field of
    /// `submitFeederReadings` it sits in).
    fn try_from(v: FeederReading) -> Result<Self, ViewError> {
        Ok(ledger::FeederReading {
            feeder: feeder_id("readings[].feeder", v.feeder)?,
            sequence: v.sequence,
            period_start: v.period_start,
            period_end: v.period_end,
            import: v.import,
            export: v.export,
            flags: v.flags,
        })
    }
}

/// The energy a feeder's ordinary customers used in one UTC hour, as the
/// distribution operator's meter data system signs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeclaredLoad {
    /// The feeder.
    pub feeder: FeederId,
    /// The hour.
    pub hour: Hour,
    /// The energy, Wh.
    pub energy: Wh,
}

impl From<ledger::DeclaredLoad> for DeclaredLoad {
    fn from(v: ledger::DeclaredLoad) -> Self {
        DeclaredLoad {
            feeder: v.feeder.into(),
            hour: v.hour,
            energy: v.energy,
        }
    }
}

impl TryFrom<DeclaredLoad> for ledger::DeclaredLoad {
    type Error = ViewError;
    /// A malformed id is reported as `loads[].feeder` (the field of
    /// `submitDeclaredLoad` it sits in).
    fn try_from(v: DeclaredLoad) -> Result<Self, ViewError> {
        Ok(ledger::DeclaredLoad {
            feeder: feeder_id("loads[].feeder", v.feeder)?,
            hour: v.hour,
            energy: v.energy,
        })
    }
}

/// Signed readings or loads back into ledger values, checking each one.
pub(crate) fn signed_all<R, L>(
    items: Vec<Signed<R>>,
) -> Result<Vec<ledger_tx::Signed<L>>, ViewError>
where
    L: TryFrom<R, Error = ViewError>,
{
    items
        .into_iter()
        .map(|s| {
            Ok(ledger_tx::Signed {
                reading: s.reading.try_into()?,
                signature: s.signature,
            })
        })
        .collect()
}

/// How an hour of a feeder closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BalanceStatus {
    /// Within the floor either way.
    Balanced,
    /// More energy entered than metered use and losses explain.
    Unexplained,
    /// More metered use than energy supplied, beyond the floor.
    Negative,
    /// The hour cannot be judged (head readings or declared load missing).
    Unmetered,
}

impl From<ledger::BalanceStatus> for BalanceStatus {
    fn from(v: ledger::BalanceStatus) -> Self {
        match v {
            ledger::BalanceStatus::Balanced => BalanceStatus::Balanced,
            ledger::BalanceStatus::Unexplained => BalanceStatus::Unexplained,
            ledger::BalanceStatus::Negative => BalanceStatus::Negative,
            ledger::BalanceStatus::Unmetered => BalanceStatus::Unmetered,
        }
    }
}

/// Checks a decimal string: optional `-` (when `signed`), then digits only.
fn decimal_ok(s: &str, signed: bool) -> bool {
    let digits = match s.strip_prefix('-') {
        Some(rest) if signed => rest,
        _ => s,
    };
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// An `i128` as a decimal string with `-` when negative; an integer is
/// accepted on input.
pub(crate) mod dec_i128 {
    use serde::de::{Error, Visitor};
    use std::fmt;

    /// Writes the decimal string.
    pub fn serialize<S: serde::Serializer>(v: &i128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    /// Reads a decimal string (or an integer).
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = i128;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a signed decimal string or an integer")
            }
            fn visit_u64<E: Error>(self, v: u64) -> Result<i128, E> {
                Ok(v.into())
            }
            fn visit_i64<E: Error>(self, v: i64) -> Result<i128, E> {
                Ok(v.into())
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<i128, E> {
                if !super::decimal_ok(v, true) {
                    return Err(E::custom(format!("{v:?} is not a signed decimal number")));
                }
                v.parse()
                    .map_err(|_| E::custom(format!("{v} is out of the 128-bit range")))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
#[path = "feeder_tests.rs"]
mod tests;
