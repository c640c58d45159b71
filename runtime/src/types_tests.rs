//! Unit tests of the domain types.

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
