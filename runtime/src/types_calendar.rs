//! Calendar buckets: matching windows and the civil-date arithmetic behind them.

use super::Hour;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

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
