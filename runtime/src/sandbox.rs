//! The regulator's sandbox: mining permits sized to what a feeder can
//! carry, and curtailment orders a grid operator gives for a peak (SPEC
//! section 11, second half; docs/protocol.md §18).
//!
//! The types here are what travels, and the pure arithmetic every judge of
//! a permit or an order shares (the executor, `sites_canRun` and the
//! audit). The state they build is in `state::sandbox`, the rules in
//! `exec::sandbox`.

use crate::crypto::{Domain, Hash, Keypair};
use crate::encoding::encode;
use crate::feeder::FeederId;
use crate::tx::Signed;
use crate::types::{civil_from_days, Hour, SiteId, Watts, Wh, ZoneId};
use borsh::{BorshDeserialize, BorshSerialize};
use std::fmt;

/// Every month of the year in a permit's month mask (bit 0 = January).
pub const ALL_MONTHS: u16 = 0x0fff;
/// Every UTC hour of the day in a permit's hour mask (bit 0 = 00:00-01:00).
pub const ALL_HOURS: u32 = 0x00ff_ffff;
/// The longest curtailment window, in seconds.
pub const MAX_CURTAIL_S: u64 = 24 * 3600;
/// The most sites one curtailment order may affect; a zone with more is
/// curtailed feeder by feeder.
pub const MAX_AFFECTED: usize = 1024;
/// The most grid operators a zone may name.
pub const MAX_GRID_OPERATORS: usize = 16;
/// The most curtailment orders a zone may have pending (not yet judged):
/// every consumption reading of the zone looks at each.
pub const MAX_PENDING_ORDERS: usize = 64;

/// A curtailment order's number, counted from 1 across the chain.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize,
)]
pub struct OrderId(pub u64);

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a regulator grants a site.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct PermitTerms {
    /// The most the site may draw on average over any reading's period.
    pub max_power: Watts,
    /// Allowed months, bit 0 = January (12 bits).
    pub months: u16,
    /// Allowed UTC hours of the day, bit 0 = 00:00-01:00 (24 bits).
    pub hours: u32,
    /// The most energy per UTC month.
    pub monthly_quota: Wh,
    /// Unix seconds on a whole hour: the first hour the permit no longer
    /// covers.
    pub expires: u64,
}

/// Why a consumption hour is outside a permit (or a zone's requirement).
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub enum PermitGap {
    /// A permits-required zone and no live permit.
    NoPermit,
    /// The hour is at or after the permit's expiry.
    Expired,
    /// The hour's month or hour of day is not allowed.
    OutOfSeason,
    /// The month's quota is used up.
    QuotaUsed,
}

impl PermitGap {
    /// The reason's name in events and the API.
    pub fn name(self) -> &'static str {
        match self {
            PermitGap::NoPermit => "noPermit",
            PermitGap::Expired => "permitExpired",
            PermitGap::OutOfSeason => "outOfSeason",
            PermitGap::QuotaUsed => "quotaUsed",
        }
    }
}

/// The UTC month of an hour as `year x 12 + month - 1` (the index of a
/// monthly bucket), and the month of the year 1 to 12.
pub fn month_of(hour: Hour) -> (u64, u32) {
    let (y, m, _) = civil_from_days((hour.0 / 24) as i64);
    ((y.max(0) as u64) * 12 + (m as u64 - 1), m)
}

impl PermitTerms {
    /// Whether the terms are well formed: masks inside their bits, power
    /// above 0, expiry on a whole hour. `Err` names the field.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if self.max_power.0 == 0 {
            return Err(("max_power", "must be above 0"));
        }
        if self.months == 0 || self.months & !ALL_MONTHS != 0 {
            return Err(("months", "a non-empty 12-bit mask, bit 0 = January"));
        }
        if self.hours == 0 || self.hours & !ALL_HOURS != 0 {
            return Err(("hours", "a non-empty 24-bit mask, bit 0 = 00:00 UTC"));
        }
        if self.expires % 3600 != 0 {
            return Err(("expires", "must be on a whole UTC hour"));
        }
        Ok(())
    }

    /// Whether the permit covers hour `hour` by date: before expiry, in an
    /// allowed month and hour of day.
    pub fn covers(&self, hour: Hour) -> Result<(), PermitGap> {
        if hour.start_seconds() >= self.expires {
            return Err(PermitGap::Expired);
        }
        let (_, month) = month_of(hour);
        let hour_of_day = (hour.0 % 24) as u32;
        if self.months & (1 << (month - 1)) == 0 || self.hours & (1 << hour_of_day) == 0 {
            return Err(PermitGap::OutOfSeason);
        }
        Ok(())
    }

    /// Whether `energy` over `seconds` averages above max power (no
    /// tolerance: the permit is the grid's limit).
    pub fn above_power(&self, energy: Wh, seconds: u64) -> bool {
        u128::from(energy.0) * 3600 > u128::from(self.max_power.0) * u128::from(seconds)
    }

    /// The next hour at or after `hour` whose answer to [`covers`] may
    /// differ: the next change of month or hour-of-day allowance, or the
    /// expiry. `None` when nothing changes before expiry (or ever).
    ///
    /// [`covers`]: PermitTerms::covers
    pub fn next_change(&self, hour: Hour) -> Option<Hour> {
        let now = self.covers(hour);
        // A day's hours and a year's months repeat; a change shows within
        // 366 days, or never.
        let expiry = Hour(self.expires / 3600);
        let mut h = hour.0 + 1;
        let limit = hour.0 + 366 * 24;
        while h <= limit {
            if Hour(h) >= expiry {
                return (now.is_ok() || hour < expiry).then_some(expiry);
            }
            if self.covers(Hour(h)) != now {
                return Some(Hour(h));
            }
            h += 1;
        }
        None
    }
}

/// What a curtailment order covers.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum CurtailTarget {
    /// The sites attached to one feeder.
    Feeder(FeederId) = 0,
    /// Every site of a zone.
    Zone(ZoneId) = 1,
}

impl fmt::Display for CurtailTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CurtailTarget::Feeder(id) => write!(f, "feeder {id}"),
            CurtailTarget::Zone(z) => write!(f, "zone {z}"),
        }
    }
}

/// A site owner's acknowledgement that it saw a curtailment order, signed
/// with the owner's account key under `Domain::CurtailmentAck`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct CurtailmentAck {
    /// The order.
    pub order: OrderId,
    /// The site.
    pub site: SiteId,
    /// When the owner's controller saw it, unix seconds.
    pub seen_at: u64,
}

impl CurtailmentAck {
    /// The 32-byte message the owner signs.
    pub fn signing_hash(&self, chain_id: &Hash) -> Hash {
        Domain::CurtailmentAck.signing_hash(chain_id, &encode(self))
    }
    /// Signs with the owner's key.
    pub fn sign(self, chain_id: &Hash, key: &Keypair) -> Signed<Self> {
        let signature = key.sign(&self.signing_hash(chain_id));
        Signed {
            reading: self,
            signature,
        }
    }
}

/// Each affected site's share of an order's max mining power: `max x
/// weight / sum of weights`, rounded down, in the order given. Weights of 0
/// count for nothing; all-zero weights give every site 0.
pub fn shares(max: Watts, weights: &[(SiteId, Watts)]) -> Vec<(SiteId, Watts)> {
    let total: u128 = weights.iter().map(|(_, w)| u128::from(w.0)).sum();
    weights
        .iter()
        .map(|(s, w)| {
            // All-zero weights: no total to divide by, every share 0.
            let share = (u128::from(max.0) * u128::from(w.0))
                .checked_div(total)
                .unwrap_or(0);
            (*s, Watts(share as u64))
        })
        .collect()
}

/// The part of a reading's energy that falls in `[start, end)`, pro rata
/// by seconds, rounded down.
pub fn overlap_energy(period: (u64, u64), delta: Wh, window: (u64, u64)) -> Wh {
    let (a, b) = period;
    let lo = a.max(window.0);
    let hi = b.min(window.1);
    if hi <= lo || b <= a {
        return Wh(0);
    }
    Wh((u128::from(delta.0) * u128::from(hi - lo) / u128::from(b - a)) as u64)
}

/// The most energy a site may use in a window of `seconds` at `share`,
/// within the zone's tolerance: `share x seconds x (100 + tolerance) /
/// 100`, in Wh rounded down (the verdict compares exactly).
pub fn allowed_energy(share: Watts, seconds: u64, tolerance_pct: u32) -> Wh {
    let n = u128::from(share.0) * u128::from(seconds) * (100 + u128::from(tolerance_pct));
    Wh((n / 360_000).min(u128::from(u64::MAX)) as u64)
}

/// Whether `used` is within `share` over `seconds` and the tolerance,
/// compared exactly: `used x 3600 x 100 <= share x seconds x (100 + tol)`.
pub fn honoured(used: Wh, share: Watts, seconds: u64, tolerance_pct: u32) -> bool {
    u128::from(used.0) * 360_000
        <= u128::from(share.0) * u128::from(seconds) * (100 + u128::from(tolerance_pct))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::days_from_civil;

    fn hour_at(y: i64, m: u32, d: u32, h: u64) -> Hour {
        Hour(days_from_civil(y, m, d) as u64 * 24 + h)
    }

    #[test]
    fn a_permit_covers_by_month_hour_and_expiry() {
        // Allowed March to October, 06:00 to 18:00 UTC.
        let months = 0b0000_0011_1111_1100;
        let hours = (6..18).fold(0u32, |m, h| m | 1 << h);
        let t = PermitTerms {
            max_power: Watts(1000),
            months,
            hours,
            monthly_quota: Wh(1),
            expires: hour_at(2027, 1, 1, 0).start_seconds(),
        };
        assert_eq!(t.check(), Ok(()));
        assert_eq!(t.covers(hour_at(2026, 3, 1, 6)), Ok(()));
        assert_eq!(
            t.covers(hour_at(2026, 3, 1, 5)),
            Err(PermitGap::OutOfSeason)
        );
        assert_eq!(
            t.covers(hour_at(2026, 3, 1, 18)),
            Err(PermitGap::OutOfSeason)
        );
        // The month changes at midnight UTC: the last hour of February is
        // out, the first of March in (with hour 0 allowed).
        let all_day = PermitTerms {
            hours: ALL_HOURS,
            ..t.clone()
        };
        assert_eq!(
            all_day.covers(hour_at(2026, 2, 28, 23)),
            Err(PermitGap::OutOfSeason)
        );
        assert_eq!(all_day.covers(hour_at(2026, 3, 1, 0)), Ok(()));
        assert_eq!(
            all_day.next_change(hour_at(2026, 2, 28, 20)),
            Some(hour_at(2026, 3, 1, 0))
        );
        // Expiry: the hour starting at it is out, the one before in.
        let exp = PermitTerms {
            months: ALL_MONTHS,
            hours: ALL_HOURS,
            expires: hour_at(2026, 6, 1, 12).start_seconds(),
            ..t.clone()
        };
        assert_eq!(exp.covers(hour_at(2026, 6, 1, 11)), Ok(()));
        assert_eq!(exp.covers(hour_at(2026, 6, 1, 12)), Err(PermitGap::Expired));
        assert_eq!(
            exp.next_change(hour_at(2026, 6, 1, 3)),
            Some(hour_at(2026, 6, 1, 12))
        );
        assert_eq!(exp.next_change(hour_at(2026, 6, 1, 12)), None);
        for (bad, field) in [
            (
                PermitTerms {
                    months: 0x1000,
                    ..t.clone()
                },
                "months",
            ),
            (
                PermitTerms {
                    hours: 1 << 24,
                    ..t.clone()
                },
                "hours",
            ),
            (
                PermitTerms {
                    expires: 7,
                    ..t.clone()
                },
                "expires",
            ),
            (
                PermitTerms {
                    max_power: Watts(0),
                    ..t.clone()
                },
                "max_power",
            ),
        ] {
            assert_eq!(bad.check().unwrap_err().0, field);
        }
    }

    #[test]
    fn power_shares_overlap_and_verdicts_round_as_written() {
        let t = PermitTerms {
            max_power: Watts(1000),
            months: ALL_MONTHS,
            hours: ALL_HOURS,
            monthly_quota: Wh(0),
            expires: 0,
        };
        // 250 Wh in 900 s is exactly 1000 W.
        assert!(!t.above_power(Wh(250), 900));
        assert!(t.above_power(Wh(251), 900));
        // 1000 W over weights 1:2 -> 333 and 666 (rounded down).
        let s = shares(
            Watts(1000),
            &[(SiteId(1), Watts(100)), (SiteId(2), Watts(200))],
        );
        assert_eq!(s, vec![(SiteId(1), Watts(333)), (SiteId(2), Watts(666))]);
        assert_eq!(
            shares(Watts(9), &[(SiteId(1), Watts(0))]),
            vec![(SiteId(1), Watts(0))]
        );
        // A reading [0, 600) of 600 Wh overlapping [300, 900): 300 Wh.
        assert_eq!(overlap_energy((0, 600), Wh(600), (300, 900)), Wh(300));
        assert_eq!(overlap_energy((0, 300), Wh(600), (300, 900)), Wh(0));
        assert_eq!(overlap_energy((900, 1000), Wh(5), (300, 900)), Wh(0));
        assert_eq!(overlap_energy((0, 3), Wh(2), (1, 2)), Wh(0));
        // 1000 W for 3600 s at 10 %: 1100 Wh exactly honoured, 1101 not.
        assert_eq!(allowed_energy(Watts(1000), 3600, 10), Wh(1100));
        assert!(honoured(Wh(1100), Watts(1000), 3600, 10));
        assert!(!honoured(Wh(1101), Watts(1000), 3600, 10));
        assert!(honoured(Wh(0), Watts(0), 3600, 10));
        assert!(!honoured(Wh(1), Watts(0), 3600, 10));
    }
}
