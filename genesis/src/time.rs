//! RFC 3339 UTC timestamps (`2026-01-01T00:00:00Z`), integers only.

use watt_runtime::types::{civil_from_days, days_from_civil};

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` into unix milliseconds.
pub fn parse_rfc3339(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a UTC time like 2026-01-01T00:00:00Z");
    let s2 = s.strip_suffix('Z').ok_or_else(bad)?;
    let (date, time) = s2.split_once('T').ok_or_else(bad)?;
    let d: Vec<&str> = date.split('-').collect();
    let (time, frac) = time.split_once('.').unwrap_or((time, ""));
    let t: Vec<&str> = time.split(':').collect();
    if d.len() != 3 || t.len() != 3 || frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let num = |x: &str| x.parse::<u32>().map_err(|_| bad());
    let (y, mo, da) = (
        d[0].parse::<i64>().map_err(|_| bad())?,
        num(d[1])?,
        num(d[2])?,
    );
    let (h, mi, se) = (num(t[0])?, num(t[1])?, num(t[2])?);
    if !(1..=12).contains(&mo)
        || !(1..=31).contains(&da)
        || h > 23
        || mi > 59
        || se > 59
        || y < 1970
    {
        return Err(bad());
    }
    let days = days_from_civil(y, mo, da);
    if civil_from_days(days) != (y, mo, da) {
        return Err(bad());
    }
    let ms: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<3}").parse().map_err(|_| bad())?
    };
    Ok((days as u64 * 86_400 + h as u64 * 3600 + mi as u64 * 60 + se as u64) * 1000 + ms)
}

/// Formats unix milliseconds as `YYYY-MM-DDTHH:MM:SSZ` (milliseconds dropped).
pub fn format_rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        assert_eq!(parse_rfc3339("2026-01-01T00:00:00Z"), Ok(1_767_225_600_000));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Ok(1_500));
        assert_eq!(format_rfc3339(1_767_225_600_000), "2026-01-01T00:00:00Z");
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-01-01 00:00:00",
            "2026-01-01T24:00:00Z",
            "x",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}
