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

#[path = "types_calendar.rs"]
mod calendar;

pub use calendar::{civil_from_days, days_from_civil, Bucket, MatchingWindow};

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

/// Serde for a `u64` quantity as a decimal string (`"1500"`), accepting a
/// non-negative integer on input too: JavaScript's numbers lose precision
/// above 2^53.
macro_rules! decimal_serde {
    ($name:ident, $noun:literal, $unit:literal) => {
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(
                            f,
                            "{} in {}: a decimal string or a non-negative integer",
                            $noun, $unit
                        )
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$name, E> {
                        Ok($name(v))
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$name, E> {
                        u64::try_from(v)
                            .map($name)
                            .map_err(|_| E::custom(format!("{} {v} is negative", $noun)))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                            return Err(E::custom(format!(
                                "{} {v:?} is not a decimal number of {}",
                                $noun, $unit
                            )));
                        }
                        v.parse::<u64>().map($name).map_err(|_| {
                            E::custom(format!("{} {v} is above 2^64 - 1 {}", $noun, $unit))
                        })
                    }
                }
                d.deserialize_any(Visitor)
            }
        }
    };
}

decimal_serde!(Wh, "amount", "Wh");

unit!(
    /// Power in watts. In JSON a decimal string (`"100000"`), like `Wh`; a
    /// number is accepted on input.
    Watts,
    serde_as_string
);
decimal_serde!(Watts, "power", "W");
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
    /// Addition, capped at the largest value.
    pub fn saturating_add(self, other: Wh) -> Wh {
        Wh(self.0.saturating_add(other.0))
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
#[serde(rename_all = "camelCase")]
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
    #[serde(alias = "other-renewable")]
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

    /// The name people read (CLI, TOML, audit CSVs): kebab-case. The JSON
    /// API writes camelCase (`otherRenewable`) and reads either.
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

/// A zone's rules.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ZonePolicy {
    /// The calendar bucket within which credits must match consumption.
    #[serde(alias = "matching_window")]
    pub matching_window: MatchingWindow,
    /// The total max draw of live mining sites the zone allows (sandbox cap).
    #[serde(alias = "mining_cap_w")]
    pub mining_cap_w: Watts,
    /// Hours after its generation hour at which a vintage expires.
    #[serde(alias = "credit_lifetime_hours")]
    pub credit_lifetime_hours: u64,
    /// The oldest a generation reading's period end may be, in seconds
    /// before block time.
    #[serde(alias = "reading_max_age_s")]
    pub reading_max_age_s: u64,
    /// Allowed excess over nameplate capacity (or max draw), in whole percent.
    #[serde(alias = "plausibility_tolerance_pct")]
    pub plausibility_tolerance_pct: u32,
    /// What settling a shortfall costs, per mille of the shortfall (>= 1000).
    #[serde(alias = "shortfall_penalty_permille")]
    pub shortfall_penalty_permille: u32,
    /// Seconds without a consumption reading after which a site is dark.
    #[serde(alias = "dark_after_s")]
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
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ChainParams {
    /// Allowed clock skew for readings and block timestamps, in seconds.
    #[serde(alias = "max_clock_skew_s")]
    pub max_clock_skew_s: u64,
    /// Blocks after which an undecided proposal expires.
    #[serde(alias = "proposal_expiry_blocks")]
    pub proposal_expiry_blocks: u64,
    /// Most transactions in one block.
    #[serde(alias = "max_block_txs")]
    pub max_block_txs: u32,
    /// Most encoded transaction bytes in one block.
    #[serde(alias = "max_block_bytes")]
    pub max_block_bytes: u32,
    /// Most readings in one SubmitReadings or SubmitConsumption.
    #[serde(alias = "max_readings_per_tx")]
    pub max_readings_per_tx: u32,
    /// Least amount a transfer creating a new account must carry.
    #[serde(alias = "min_new_account_wh")]
    pub min_new_account_wh: Wh,
    /// Seconds after a bucket's end during which an open debt can still be
    /// settled before it becomes a shortfall.
    #[serde(alias = "settlement_grace_s")]
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
#[path = "types_tests.rs"]
mod tests;
