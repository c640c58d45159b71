//! Domain types: units, identifiers, zones, policies and chain parameters.
//!
//! Units are newtypes so that a watt-hour is never passed where a watt or a
//! second is expected. All arithmetic is integer; products that can overflow
//! `u64` are computed in `u128` (see [`plausible`]).

use crate::crypto::PublicKey;
use crate::encoding::BoundedString;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! unit {
    ($(#[$doc:meta])* $name:ident) => {
        unit!(@base $(#[$doc])* #[derive(Serialize, Deserialize)] #[serde(transparent)] $name);
    };
    // JSON numbers lose precision above 2^53 in JavaScript: a unit whose
    // values can grow that large brings its own serde (see `Wh`).
    ($(#[$doc:meta])* $name:ident, serde_as_string) => {
        unit!(@base $(#[$doc])* $name);
    };
    (@base $(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default,
            BorshSerialize, BorshDeserialize,
        )]
        pub struct $name(pub u64);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", self.0, stringify!($name).to_lowercase().trim_end_matches("id"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

unit!(
    /// Energy in watt-hours. One credit is one Wh of renewable generation.
    /// In JSON a decimal string (`"1500"`); a number is accepted on input.
    Wh,
    serde_as_string
);

impl Serialize for Wh {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Wh {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Wh;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount in Wh: a decimal string or a non-negative integer")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Wh, E> {
                Ok(Wh(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Wh, E> {
                u64::try_from(v)
                    .map(Wh)
                    .map_err(|_| E::custom(format!("amount {v} is negative")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Wh, E> {
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::custom(format!(
                        "amount {v:?} is not a decimal number of Wh"
                    )));
                }
                v.parse::<u64>()
                    .map(Wh)
                    .map_err(|_| E::custom(format!("amount {v} is above 2^64 - 1 Wh")))
            }
        }
        d.deserialize_any(Visitor)
    }
}
unit!(
    /// Power in watts.
    Watts
);
unit!(
    /// An hour index: unix seconds / 3600.
    Hour
);
unit!(
    /// A block height; the first block after genesis is height 1.
    Height
);
unit!(
    /// A meter's id, assigned in registration order from 1.
    MeterId
);
unit!(
    /// A mining site's id, assigned in registration order from 1.
    SiteId
);
unit!(
    /// A retirement record's id, assigned in order from 1.
    RetirementId
);
unit!(
    /// A governance proposal's id, assigned in order from 1.
    ProposalId
);

impl Wh {
    /// Adds, failing on overflow.
    pub fn checked_add(self, other: Wh) -> Option<Wh> {
        self.0.checked_add(other.0).map(Wh)
    }
    /// Subtracts, failing when `other` is larger.
    pub fn checked_sub(self, other: Wh) -> Option<Wh> {
        self.0.checked_sub(other.0).map(Wh)
    }
    /// Subtracts, stopping at zero.
    pub fn saturating_sub(self, other: Wh) -> Wh {
        Wh(self.0.saturating_sub(other.0))
    }
    /// Whether this is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl Height {
    /// The next height.
    pub fn next(self) -> Height {
        Height(self.0.saturating_add(1))
    }
}

impl Hour {
    /// The hour containing a unix time in seconds.
    pub fn of_seconds(unix_s: u64) -> Hour {
        Hour(unix_s / 3600)
    }
    /// The hour containing a block timestamp in milliseconds.
    pub fn of_millis(ms: u64) -> Hour {
        Hour(ms / 3_600_000)
    }
    /// The first second of this hour.
    pub fn start_seconds(self) -> u64 {
        self.0.saturating_mul(3600)
    }
}

/// An account: an ed25519 public key. Its text form is bech32m with the
/// human-readable prefix `watt`, so a mistyped address is caught.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct AccountId(pub PublicKey);

/// The human-readable prefix of account addresses.
pub const ACCOUNT_HRP: &str = "watt";

impl AccountId {
    /// The bech32m text form, `watt1...`.
    pub fn to_bech32(&self) -> String {
        let hrp = bech32::Hrp::parse_unchecked(ACCOUNT_HRP);
        bech32::encode::<bech32::Bech32m>(hrp, &self.0 .0).unwrap_or_default()
    }

    /// Parses the bech32m form (checksum checked) or `0x` hex of the key.
    pub fn parse(s: &str) -> Result<AccountId, AccountParseError> {
        if s.starts_with("0x") {
            return PublicKey::from_hex(s)
                .map(AccountId)
                .map_err(|_| AccountParseError::BadHex);
        }
        let (hrp, data) =
            bech32::decode(s).map_err(|e| AccountParseError::BadChecksum(e.to_string()))?;
        if hrp.as_str() != ACCOUNT_HRP {
            return Err(AccountParseError::WrongPrefix(hrp.to_string()));
        }
        // bech32::decode accepts both variants; only bech32m is canonical.
        if bech32::primitives::decode::CheckedHrpstring::new::<bech32::Bech32m>(s).is_err() {
            return Err(AccountParseError::BadChecksum("not bech32m".into()));
        }
        let bytes: [u8; 32] = data
            .try_into()
            .map_err(|_| AccountParseError::WrongLength)?;
        let id = AccountId(PublicKey(bytes));
        // The 4 padding bits must be zero: one key, one spelling.
        if id.to_string() != s {
            return Err(AccountParseError::BadChecksum(
                "not the canonical spelling (non-zero padding bits)".into(),
            ));
        }
        Ok(id)
    }
}

/// Why an account address could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountParseError {
    /// Hex form was not 32 bytes of hex.
    #[error("account hex must be 0x followed by 64 hex digits")]
    BadHex,
    /// The bech32m checksum or characters are wrong.
    #[error("account address is not valid bech32m: {0}")]
    BadChecksum(String),
    /// The prefix is not `watt`.
    #[error("account address has prefix {0:?}, expected \"watt\"")]
    WrongPrefix(String),
    /// The payload is not 32 bytes.
    #[error("account address does not hold 32 bytes")]
    WrongLength,
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_bech32())
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.to_bech32();
        write!(f, "{}…", &s[..s.len().min(14)])
    }
}

impl Serialize for AccountId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_bech32())
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        AccountId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl From<PublicKey> for AccountId {
    fn from(k: PublicKey) -> Self {
        AccountId(k)
    }
}

/// The longest zone id, in bytes.
pub const ZONE_ID_MAX: usize = 16;

/// A grid-area id: 2 to 16 characters of `A-Z`, `0-9` and `-`, for example
/// `RU-BU` or `US-MT-NW`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ZoneId(BoundedString<ZONE_ID_MAX>);

/// Why a zone id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("zone id {0:?} must be 2 to 16 characters of A-Z, 0-9 and '-'")]
pub struct ZoneIdError(pub String);

impl ZoneId {
    /// Checks and wraps a zone id.
    pub fn new(s: &str) -> Result<ZoneId, ZoneIdError> {
        let ok = (2..=ZONE_ID_MAX).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(ZoneIdError(s.to_string()));
        }
        BoundedString::new(s)
            .map(ZoneId)
            .map_err(|_| ZoneIdError(s.to_string()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The id zero-padded to 16 bytes, for ordered storage keys.
    pub fn padded(&self) -> [u8; ZONE_ID_MAX] {
        let mut out = [0u8; ZONE_ID_MAX];
        let b = self.as_str().as_bytes();
        out[..b.len()].copy_from_slice(b);
        out
    }

    /// The zone id of a [`ZoneId::padded`] encoding.
    pub fn from_padded(bytes: &[u8]) -> Option<ZoneId> {
        let len = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
        std::str::from_utf8(&bytes[..len])
            .ok()
            .and_then(|s| ZoneId::new(s).ok())
    }
}

impl BorshDeserialize for ZoneId {
    fn deserialize_reader<R: borsh::io::Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let s = BoundedString::<ZONE_ID_MAX>::deserialize_reader(reader)?;
        ZoneId::new(s.as_str())
            .map_err(|e| borsh::io::Error::new(borsh::io::ErrorKind::InvalidData, e.to_string()))
    }
}

impl TryFrom<String> for ZoneId {
    type Error = ZoneIdError;
    fn try_from(s: String) -> Result<Self, ZoneIdError> {
        ZoneId::new(&s)
    }
}

impl From<ZoneId> for String {
    fn from(z: ZoneId) -> String {
        z.as_str().to_string()
    }
}

impl fmt::Display for ZoneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ZoneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fungible class of credits: the zone and the hour they were generated in.
#[derive(
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct Vintage {
    /// The grid zone of the generation.
    pub zone: ZoneId,
    /// The hour of the generation.
    pub hour: Hour,
}

impl fmt::Display for Vintage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.zone, self.hour.0)
    }
}

/// A renewable generation source. Fossil sources cannot be represented.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum Source {
    /// Photovoltaic or solar thermal.
    Solar = 0,
    /// Wind turbines.
    Wind = 1,
    /// Run-of-river or reservoir hydro.
    Hydro = 2,
    /// Geothermal.
    Geothermal = 3,
    /// Biomass.
    Biomass = 4,
    /// Another renewable source (tidal, wave, ...).
    OtherRenewable = 5,
}

impl Source {
    /// Every source, in encoding order.
    pub const ALL: [Source; 6] = [
        Source::Solar,
        Source::Wind,
        Source::Hydro,
        Source::Geothermal,
        Source::Biomass,
        Source::OtherRenewable,
    ];

    /// The kebab-case name used in JSON and TOML.
    pub fn name(self) -> &'static str {
        match self {
            Source::Solar => "solar",
            Source::Wind => "wind",
            Source::Hydro => "hydro",
            Source::Geothermal => "geothermal",
            Source::Biomass => "biomass",
            Source::OtherRenewable => "other-renewable",
        }
    }
}

/// The calendar bucket within which credits must match consumption.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum MatchingWindow {
    /// The same UTC hour.
    Hour = 0,
    /// The same UTC date.
    Day = 1,
    /// The same UTC calendar month.
    Month = 2,
    /// The same UTC calendar year.
    Year = 3,
}

/// A matching bucket: a window kind and the index of the bucket within it
/// (hours, days or years since the epoch, or months since year 0).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct Bucket {
    /// The kind of window.
    pub window: MatchingWindow,
    /// The bucket's index within its kind.
    pub index: u64,
}

impl Bucket {
    /// The bucket of `window` containing hour `hour`.
    pub fn containing(window: MatchingWindow, hour: Hour) -> Bucket {
        let index = match window {
            MatchingWindow::Hour => hour.0,
            MatchingWindow::Day => hour.0 / 24,
            MatchingWindow::Month => {
                let (y, m, _) = civil_from_days((hour.0 / 24) as i64);
                (y as u64) * 12 + (m as u64 - 1)
            }
            MatchingWindow::Year => civil_from_days((hour.0 / 24) as i64).0 as u64,
        };
        Bucket { window, index }
    }

    /// Whether `hour` lies in this bucket.
    pub fn contains(&self, hour: Hour) -> bool {
        Bucket::containing(self.window, hour) == *self
    }

    /// The first hour of the bucket.
    pub fn start_hour(&self) -> Hour {
        match self.window {
            MatchingWindow::Hour => Hour(self.index),
            MatchingWindow::Day => Hour(self.index * 24),
            MatchingWindow::Month => {
                let y = (self.index / 12) as i64;
                let m = (self.index % 12) as u32 + 1;
                Hour(days_from_civil(y, m, 1).max(0) as u64 * 24)
            }
            MatchingWindow::Year => {
                Hour(days_from_civil(self.index as i64, 1, 1).max(0) as u64 * 24)
            }
        }
    }

    /// The first hour after the bucket (its exclusive end).
    pub fn end_hour(&self) -> Hour {
        let next = Bucket {
            window: self.window,
            index: self.index + 1,
        };
        next.start_hour()
    }

    /// The exclusive end of the bucket in unix seconds.
    pub fn end_seconds(&self) -> u64 {
        self.end_hour().start_seconds()
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's
/// algorithm, integers only).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian (year, month, day) of a day count since
/// 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A zone's rules.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZonePolicy {
    /// The calendar bucket within which credits must match consumption.
    pub matching_window: MatchingWindow,
    /// The total max draw of live mining sites the zone allows (sandbox cap).
    pub mining_cap_w: Watts,
    /// Hours after its generation hour at which a vintage expires.
    pub credit_lifetime_hours: u64,
    /// The oldest a generation reading's period end may be, in seconds
    /// before block time.
    pub reading_max_age_s: u64,
    /// Allowed excess over nameplate capacity (or max draw), in whole percent.
    pub plausibility_tolerance_pct: u32,
    /// What settling a shortfall costs, per mille of the shortfall (>= 1000).
    pub shortfall_penalty_permille: u32,
    /// Seconds without a consumption reading after which a site is dark.
    pub dark_after_s: u64,
}

impl Default for ZonePolicy {
    fn default() -> Self {
        ZonePolicy {
            matching_window: MatchingWindow::Hour,
            mining_cap_w: Watts(1_000_000),
            credit_lifetime_hours: 8_760,
            reading_max_age_s: 86_400,
            plausibility_tolerance_pct: 10,
            shortfall_penalty_permille: 1_500,
            dark_after_s: 900,
        }
    }
}

/// Chain-wide parameters. They live in genesis and change only by a
/// governance proposal, so every validator judges a block alike.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainParams {
    /// Allowed clock skew for readings and block timestamps, in seconds.
    pub max_clock_skew_s: u64,
    /// Blocks after which an undecided proposal expires.
    pub proposal_expiry_blocks: u64,
    /// Most transactions in one block.
    pub max_block_txs: u32,
    /// Most encoded transaction bytes in one block.
    pub max_block_bytes: u32,
    /// Most readings in one SubmitReadings or SubmitConsumption.
    pub max_readings_per_tx: u32,
    /// Least amount a transfer creating a new account must carry.
    pub min_new_account_wh: Wh,
    /// Seconds after a bucket's end during which an open debt can still be
    /// settled before it becomes a shortfall.
    pub settlement_grace_s: u64,
}

impl Default for ChainParams {
    fn default() -> Self {
        ChainParams {
            max_clock_skew_s: 30,
            proposal_expiry_blocks: 10_000,
            max_block_txs: 5_000,
            max_block_bytes: 4 * 1024 * 1024,
            max_readings_per_tx: 64,
            min_new_account_wh: Wh(1_000),
            settlement_grace_s: 2 * 86_400,
        }
    }
}

/// Integer plausibility bound: `delta_wh * 3600 * 100 <= capacity_w *
/// duration_s * (100 + tolerance_pct)`, computed in `u128`.
pub fn plausible(delta: Wh, capacity: Watts, duration_s: u64, tolerance_pct: u32) -> bool {
    let lhs = delta.0 as u128 * 3600 * 100;
    // capacity * duration alone can reach 2^128; saturate rather than wrap.
    let rhs = (capacity.0 as u128 * duration_s as u128).saturating_mul(100 + tolerance_pct as u128);
    lhs <= rhs
}

/// `amount * permille / 1000`, rounded up (charged amounts round up).
pub fn permille_ceil(amount: Wh, permille: u32) -> Wh {
    let p = amount.0 as u128 * permille as u128;
    Wh(p.div_ceil(1000).min(u64::MAX as u128) as u64)
}

/// Whether a half-open period `[start, end)` lies inside one UTC hour.
pub fn within_one_hour(start_s: u64, end_s: u64) -> bool {
    end_s > start_s && start_s / 3600 == (end_s - 1) / 3600
}

/// The hour energy of a period `[start, end)` is attributed to: the hour of
/// its last second.
pub fn attributed_hour(end_s: u64) -> Hour {
    Hour(end_s.saturating_sub(1) / 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_has_one_spelling() {
        use bech32::primitives::iter::{ByteIterExt, Fe32IterExt};
        let id = AccountId(PublicKey([7; 32]));
        let canonical = id.to_string();
        assert_eq!(AccountId::parse(&canonical).unwrap(), id);
        // The same key with a padding bit set, under a valid checksum.
        let hrp = bech32::Hrp::parse(ACCOUNT_HRP).unwrap();
        let mut fes: Vec<bech32::Fe32> = id.0 .0.iter().copied().bytes_to_fes().collect();
        let last = fes.len() - 1;
        fes[last] = bech32::Fe32::try_from(fes[last].to_u8() | 1).unwrap();
        let padded: String = fes
            .into_iter()
            .with_checksum::<bech32::Bech32m>(&hrp)
            .chars()
            .collect();
        assert_ne!(padded, canonical);
        assert!(AccountId::parse(&padded).is_err(), "{padded} accepted");
    }

    #[test]
    fn wh_is_a_decimal_string_in_json_and_reads_numbers_too() {
        assert_eq!(
            serde_json::to_string(&Wh(u64::MAX)).unwrap(),
            "\"18446744073709551615\""
        );
        assert_eq!(serde_json::from_str::<Wh>("\"1500\"").unwrap(), Wh(1500));
        assert_eq!(serde_json::from_str::<Wh>("1500").unwrap(), Wh(1500));
        for bad in [
            "\"-1\"",
            "-1",
            "\"1.5\"",
            "\"\"",
            "\"0x10\"",
            "\"18446744073709551616\"",
            "1.5",
        ] {
            assert!(serde_json::from_str::<Wh>(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn civil_round_trip_over_four_centuries() {
        for z in (-1000..146_097 * 2).step_by(7) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
    }

    #[test]
    fn bucket_edges_for_every_window() {
        // 2024-02-29 23:00 UTC is the last hour of a leap-day.
        let leap_last = Hour(19_782 * 24 + 23);
        let next = Hour(leap_last.0 + 1);
        for w in [MatchingWindow::Day, MatchingWindow::Month] {
            let b = Bucket::containing(w, leap_last);
            assert!(b.contains(leap_last));
            assert!(!b.contains(next), "{w:?} must end at midnight 1 March");
            assert_eq!(b.end_hour(), next);
        }
        let year = Bucket::containing(MatchingWindow::Year, leap_last);
        assert!(year.contains(next));
        let hour = Bucket::containing(MatchingWindow::Hour, leap_last);
        assert_eq!(hour.end_hour(), next);
        // 2024-12-31 23:00 -> 2025-01-01 00:00 crosses the year.
        let nye = Hour(days_from_civil(2024, 12, 31) as u64 * 24 + 23);
        let y = Bucket::containing(MatchingWindow::Year, nye);
        assert_eq!(y.index, 2024);
        assert!(!y.contains(Hour(nye.0 + 1)));
        assert_eq!(y.end_hour(), Hour(nye.0 + 1));
        assert_eq!(
            Bucket::containing(MatchingWindow::Month, nye).end_hour(),
            Hour(nye.0 + 1)
        );
    }

    #[test]
    fn plausibility_at_and_above_the_bound() {
        // 1 kW for an hour with 10 % tolerance: 1100 Wh allowed, 1101 not.
        assert!(plausible(Wh(1100), Watts(1000), 3600, 10));
        assert!(!plausible(Wh(1101), Watts(1000), 3600, 10));
        assert!(plausible(Wh(u64::MAX / 2), Watts(u64::MAX), u64::MAX, 10));
    }

    #[test]
    fn hour_edges() {
        assert!(
            within_one_hour(3600, 7200),
            "a period may end exactly on the hour"
        );
        assert!(!within_one_hour(3600, 7201));
        assert!(!within_one_hour(10, 10));
        assert_eq!(attributed_hour(7200), Hour(1));
        assert_eq!(attributed_hour(7201), Hour(2));
    }

    #[test]
    fn penalty_rounds_up() {
        assert_eq!(permille_ceil(Wh(1), 1500), Wh(2));
        assert_eq!(permille_ceil(Wh(10), 1000), Wh(10));
    }

    #[test]
    fn account_text_round_trip_and_checksum() {
        let a = AccountId(PublicKey([7u8; 32]));
        let s = a.to_bech32();
        assert!(s.starts_with("watt1"));
        assert_eq!(AccountId::parse(&s), Ok(a));
        let mut bad = s.clone().into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'q' { b'p' } else { b'q' };
        assert!(AccountId::parse(std::str::from_utf8(&bad).unwrap_or("")).is_err());
    }

    #[test]
    fn zone_ids() {
        assert!(ZoneId::new("RU-BU").is_ok());
        assert!(ZoneId::new("US-MT-NW").is_ok());
        assert!(ZoneId::new("ru-bu").is_err());
        assert!(ZoneId::new("X").is_err());
        assert!(ZoneId::new("ABCDEFGHIJKLMNOPQ").is_err());
    }
}
