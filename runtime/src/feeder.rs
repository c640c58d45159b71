//! Feeders: grid segments inside a zone whose energy balance the chain
//! keeps hour by hour (SPEC section 11, docs/protocol.md §17).
//!
//! The types here are what travels: a feeder's id, its registration, what
//! is attached to it, the head meter's signed readings and the declared
//! load of its ordinary customers. The state they build and the rules are
//! in `state::feeders` and `exec::feeders`.

use crate::crypto::{Domain, Hash, Keypair, PublicKey};
use crate::encoding::{encode, BoundedString};
use crate::tx::Signed;
use crate::types::{Hour, MeterId, SiteId, Watts, Wh, ZoneId};
use borsh::{BorshDeserialize, BorshSerialize};
use std::fmt;

/// Longest feeder id, in bytes.
pub const FEEDER_ID_MAX: usize = 24;
/// Most declared-load aggregates one transaction can carry.
pub const MAX_DECLARED: usize = 256;
/// The most feeders a chain may have: every hour of every feeder closes in
/// some block, so their number bounds that work.
pub const MAX_FEEDERS: u32 = 4_096;
/// The most consecutive hours a regulator may ask for before an alert.
pub const MAX_ALERT_HOURS: u16 = 24 * 7;

/// A feeder id: 2 to 24 characters of `A-Z`, `0-9`, `-` and `/`, for
/// example `RU-BU/F12`; unique per chain.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize)]
pub struct FeederId(BoundedString<FEEDER_ID_MAX>);

/// Why a feeder id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("feeder id {0:?} must be 2 to 24 characters of A-Z, 0-9, '-' and '/'")]
pub struct FeederIdError(pub String);

impl FeederId {
    /// Checks and wraps a feeder id.
    pub fn new(s: &str) -> Result<FeederId, FeederIdError> {
        let ok = (2..=FEEDER_ID_MAX).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'/');
        if !ok {
            return Err(FeederIdError(s.to_string()));
        }
        BoundedString::new(s)
            .map(FeederId)
            .map_err(|_| FeederIdError(s.to_string()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The id zero-padded on the right to 24 bytes, for ordered state keys.
    pub fn padded(&self) -> [u8; FEEDER_ID_MAX] {
        let mut out = [0u8; FEEDER_ID_MAX];
        let b = self.as_str().as_bytes();
        out[..b.len()].copy_from_slice(b);
        out
    }

    /// The feeder id of a [`FeederId::padded`] encoding.
    pub fn from_padded(bytes: &[u8]) -> Option<FeederId> {
        let len = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
        std::str::from_utf8(&bytes[..len])
            .ok()
            .and_then(|s| FeederId::new(s).ok())
    }
}

impl BorshDeserialize for FeederId {
    fn deserialize_reader<R: borsh::io::Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let s = BoundedString::<FEEDER_ID_MAX>::deserialize_reader(reader)?;
        FeederId::new(s.as_str())
            .map_err(|e| borsh::io::Error::new(borsh::io::ErrorKind::InvalidData, e.to_string()))
    }
}

impl fmt::Display for FeederId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for FeederId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a regulator registers a feeder with.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct NewFeeder {
    /// The feeder's id.
    pub id: FeederId,
    /// The zone it lies in.
    pub zone: ZoneId,
    /// Rated capacity.
    pub rated_capacity: Watts,
    /// Technical losses allowed, per mille of the energy entering the
    /// feeder (import plus local generation); at most 1000.
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
    /// The key that signs the hourly declared load of the feeder's
    /// ordinary customers, if the distribution operator provides one.
    pub declared_key: Option<PublicKey>,
}

/// A device a regulator attaches to a feeder.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize,
)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum Attachee {
    /// A generation meter.
    Meter(MeterId) = 0,
    /// A mining site.
    Site(SiteId) = 1,
}

impl fmt::Display for Attachee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attachee::Meter(m) => write!(f, "meter {m}"),
            Attachee::Site(s) => write!(f, "site {s}"),
        }
    }
}

/// An interval reading of a feeder's head meter, as the meter signs it.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct FeederReading {
    /// The feeder.
    pub feeder: FeederId,
    /// The head meter's sequence number: the previous one plus 1.
    pub sequence: u64,
    /// Period start, unix seconds (inclusive).
    pub period_start: u64,
    /// Period end, unix seconds (exclusive).
    pub period_end: u64,
    /// Cumulative energy into the feeder from upstream, at period end.
    pub import: Wh,
    /// Cumulative local surplus pushed upstream, at period end.
    pub export: Wh,
    /// Status flags (`tx::FLAG_*`).
    pub flags: u8,
}

impl FeederReading {
    /// The 32-byte message the head meter signs.
    pub fn signing_hash(&self, chain_id: &Hash) -> Hash {
        Domain::FeederReading.signing_hash(chain_id, &encode(self))
    }
    /// Signs with the head meter's key.
    pub fn sign(self, chain_id: &Hash, key: &Keypair) -> Signed<Self> {
        let signature = key.sign(&self.signing_hash(chain_id));
        Signed {
            reading: self,
            signature,
        }
    }
}

/// The energy a feeder's ordinary (non-mining) customers used in one UTC
/// hour, aggregated and signed by the distribution operator's meter data
/// system.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct DeclaredLoad {
    /// The feeder.
    pub feeder: FeederId,
    /// The hour.
    pub hour: Hour,
    /// The energy, Wh.
    pub energy: Wh,
}

impl DeclaredLoad {
    /// The 32-byte message the declared-load key signs.
    pub fn signing_hash(&self, chain_id: &Hash) -> Hash {
        Domain::DeclaredLoad.signing_hash(chain_id, &encode(self))
    }
    /// Signs with the declared-load key.
    pub fn sign(self, chain_id: &Hash, key: &Keypair) -> Signed<Self> {
        let signature = key.sign(&self.signing_hash(chain_id));
        Signed {
            reading: self,
            signature,
        }
    }
}

/// How an hour of a feeder closed.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, PartialOrd, Ord, Hash,
)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum BalanceStatus {
    /// Within the floor either way.
    Balanced = 0,
    /// More energy entered than metered use and losses explain, above the
    /// floor: a load the chain does not know.
    Unexplained = 1,
    /// More metered use than energy supplied, beyond the floor: a faulty
    /// or tampered meter below the head.
    Negative = 2,
    /// The hour cannot be judged: the head readings do not cover it, a
    /// head counter went down in it, or the declared load is missing.
    Unmetered = 3,
}

impl BalanceStatus {
    /// The status's name in events and the API.
    pub fn name(self) -> &'static str {
        match self {
            BalanceStatus::Balanced => "balanced",
            BalanceStatus::Unexplained => "unexplained",
            BalanceStatus::Negative => "negative",
            BalanceStatus::Unmetered => "unmetered",
        }
    }
}

/// The figures of one closed hour, and its verdict.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct HourFigures {
    /// Energy in from upstream.
    pub import: Wh,
    /// Surplus pushed upstream.
    pub export: Wh,
    /// The feeder's meters' generation.
    pub generation: Wh,
    /// The feeder's sites' registered consumption.
    pub consumption: Wh,
    /// The declared load of ordinary customers.
    pub declared: Wh,
}

impl HourFigures {
    /// The technical losses allowed: ceil(loss per mille x (import +
    /// generation) / 1000).
    pub fn allowance(&self, loss_permille: u16) -> Wh {
        let entering = self.import.0 as u128 + self.generation.0 as u128;
        let p = entering * loss_permille as u128;
        Wh(p.div_ceil(1000).min(u64::MAX as u128) as u64)
    }

    /// import - export + generation - consumption - declared - allowance,
    /// in i128 (no overflow for any u64 figures).
    pub fn unexplained(&self, loss_permille: u16) -> i128 {
        self.import.0 as i128 - self.export.0 as i128 + self.generation.0 as i128
            - self.consumption.0 as i128
            - self.declared.0 as i128
            - self.allowance(loss_permille).0 as i128
    }

    /// The verdict of a metered hour against the alert floor.
    pub fn status(&self, loss_permille: u16, floor: Wh) -> BalanceStatus {
        let u = self.unexplained(loss_permille);
        if u > floor.0 as i128 {
            BalanceStatus::Unexplained
        } else if u < -(floor.0 as i128) {
            BalanceStatus::Negative
        } else {
            BalanceStatus::Balanced
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeder_ids_are_short_ascii_with_a_slash() {
        assert!(FeederId::new("RU-BU/F12").is_ok());
        for bad in ["", "A", "ru-bu/f1", "RU BU", "RU-BU/F12-TOO-LONG-FOR-IT-X"] {
            assert!(FeederId::new(bad).is_err(), "{bad:?}");
        }
        let f = FeederId::new("RU-BU/F12").unwrap();
        assert_eq!(FeederId::from_padded(&f.padded()), Some(f.clone()));
        let bytes = encode(&f);
        let back: FeederId = crate::encoding::decode(&bytes).unwrap();
        assert_eq!(back, f);
        // A stored id that breaks the rule does not decode.
        let bad = encode(&BoundedString::<FEEDER_ID_MAX>::new("ru").unwrap());
        assert!(crate::encoding::decode::<FeederId>(&bad).is_err());
    }

    #[test]
    fn the_balance_is_exact_in_i128_with_the_allowance_rounded_up() {
        let f = HourFigures {
            import: Wh(10_000),
            export: Wh(1_000),
            generation: Wh(2_001),
            consumption: Wh(6_000),
            declared: Wh(4_000),
        };
        // ceil(30 x 12,001 / 1000) = ceil(360.03) = 361.
        assert_eq!(f.allowance(30), Wh(361));
        assert_eq!(
            f.unexplained(30),
            10_000 - 1_000 + 2_001 - 6_000 - 4_000 - 361
        );
        assert_eq!(f.unexplained(30), 640);
        assert_eq!(f.status(30, Wh(639)), BalanceStatus::Unexplained);
        assert_eq!(f.status(30, Wh(640)), BalanceStatus::Balanced);
        let more_used = HourFigures {
            consumption: Wh(7_000),
            ..f
        };
        assert_eq!(more_used.unexplained(30), -360);
        assert_eq!(more_used.status(30, Wh(360)), BalanceStatus::Balanced);
        assert_eq!(more_used.status(30, Wh(359)), BalanceStatus::Negative);
        let huge = HourFigures {
            consumption: Wh(u64::MAX),
            declared: Wh(u64::MAX),
            ..HourFigures::default()
        };
        assert_eq!(huge.unexplained(0), -2 * (u64::MAX as i128));
        assert_eq!(huge.status(0, Wh(0)), BalanceStatus::Negative);
    }
}
