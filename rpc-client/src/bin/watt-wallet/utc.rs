//! UTC hours and times as people read and write them: `2026-01-01 05:00`
//! for the hour the ledger numbers 490,877 (unix seconds / 3600), ISO 8601
//! (`2026-01-01T05:00Z`) for the sandbox's moments, and times relative to
//! the latest block (`+10m`).

use watt_runtime::types::{civil_from_days, days_from_civil, Hour};

/// A plain number at or above this is not an hour number (that would be
/// past the year 13,000) but most likely unix seconds.
const HOUR_NUMBER_LIMIT: u64 = 100_000_000;

/// `YYYY-MM-DD HH:MM:SS` of unix seconds, in UTC.
pub fn time(unix_s: u64) -> String {
    let (y, m, d) = civil_from_days((unix_s / 86_400) as i64);
    let rem = unix_s % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `YYYY-MM-DD HH:00`: the start of an hour, in UTC.
pub fn hour(h: Hour) -> String {
    let t = time(h.start_seconds());
    t[..t.len() - 3].to_string()
}

/// The span of hours `from` through `through` (inclusive), from the start
/// of the first to the end of the last: `2026-01-01 05:00 to 2026-01-01
/// 07:00 UTC`.
pub fn span(from: Hour, through: Hour) -> String {
    format!(
        "{} to {} UTC",
        hour(from),
        hour(Hour(through.0.saturating_add(1)))
    )
}

/// Reads a UTC date and time: `2026-01-01`, `2026-01-01T05`,
/// `2026-01-01T05:30`, `2026-01-01 05:30:00Z` (a `T` or a space between
/// date and time; the `Z` may be left out). Returns unix seconds.
fn parse_utc(s: &str) -> Option<u64> {
    let s = s.trim();
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, t),
        None => (s, "00"),
    };
    let num = |t: &str, digits: usize, max: u32| -> Option<u32> {
        if t.len() != digits || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse().ok().filter(|v| *v <= max)
    };
    let mut d = date.split('-');
    let y = num(d.next()?, 4, 9999)?;
    let mo = num(d.next()?, 2, 12)?;
    let day = num(d.next()?, 2, 31)?;
    if d.next().is_some() || mo == 0 || day == 0 {
        return None;
    }
    let mut t = time.split(':');
    let hh = num(t.next()?, 2, 23)?;
    let mm = t.next().map_or(Some(0), |v| num(v, 2, 59))?;
    let ss = t.next().map_or(Some(0), |v| num(v, 2, 59))?;
    if t.next().is_some() {
        return None;
    }
    let days = days_from_civil(y as i64, mo, day);
    // A day past the month's end (2026-02-30) would roll over.
    if civil_from_days(days) != (y as i64, mo, day) || days < 0 {
        return None;
    }
    Some(days as u64 * 86_400 + (hh as u64) * 3600 + (mm as u64) * 60 + ss as u64)
}

/// An hour argument (clap's value parser): an hour number as the API
/// gives it (`490877`), or the UTC date and time of its start
/// (`2026-01-01T05:00Z`, `2026-01-01 05`, or a date for its first hour).
pub fn parse_hour(s: &str) -> Result<Hour, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = t.parse().map_err(|_| format!("{t:?} is too large"))?;
        if n >= HOUR_NUMBER_LIMIT {
            return Err(format!(
                "{n} looks like unix seconds, not an hour number: give {} or {}",
                n / 3600,
                time(n / 3600 * 3600).replacen(' ', "T", 1) + "Z"
            ));
        }
        return Ok(Hour(n));
    }
    let unix_s = parse_utc(t).ok_or_else(|| {
        format!("{t:?}: write an hour number (490877) or a UTC time (2026-01-01T05:00Z)")
    })?;
    if unix_s % 3600 != 0 {
        return Err(format!(
            "{t:?} is not the start of an hour (minutes and seconds must be 0)"
        ));
    }
    Ok(Hour::of_seconds(unix_s))
}

/// A time argument (clap's value parser): unix seconds (`1767229200`) or
/// a UTC date and time (`2026-01-01T01:00:00Z`).
pub fn parse_time(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().map_err(|_| format!("{t:?} is too large"));
    }
    parse_utc(t).ok_or_else(|| {
        format!("{t:?}: write unix seconds (1767229200) or a UTC time (2026-01-01T01:00:00Z)")
    })
}

/// ISO 8601 of unix seconds, in UTC, to the minute (and the second when
/// it is not 0): `2026-12-01T19:00Z`, `2026-12-01T19:00:30Z`.
pub fn iso(unix_s: u64) -> String {
    let t = time(unix_s).replacen(' ', "T", 1);
    match t.strip_suffix(":00") {
        Some(minute) => format!("{minute}Z"),
        None => format!("{t}Z"),
    }
}

/// A time given on the command line: a moment, or a duration after the
/// latest block's time (`+30m`), which only the node can turn into one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Unix seconds.
    At(u64),
    /// Seconds after the latest block's time.
    AfterHead(u64),
}

impl When {
    /// Unix seconds, counting from the latest block's time `head_s`.
    pub fn resolve(self, head_s: u64) -> u64 {
        match self {
            When::At(t) => t,
            When::AfterHead(d) => head_s.saturating_add(d),
        }
    }
}

/// A duration: `90s`, `30m`, `2h`, `7d` (a bare number is minutes).
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let (n, scale) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1),
        Some((i, 'm')) => (&t[..i], 60),
        Some((i, 'h')) => (&t[..i], 3600),
        Some((i, 'd')) => (&t[..i], 86_400),
        _ => (t.as_str(), 60),
    };
    n.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("{s:?}: write a duration such as 90s, 30m, 2h or 7d"))
}

/// A time argument that may be relative (clap's value parser): unix
/// seconds, a UTC time (`2026-12-01T18:00Z`), or `+DURATION` after the
/// latest block's time (`+10m`, `+2h`).
pub fn parse_when(s: &str) -> Result<When, String> {
    match s.trim().strip_prefix('+') {
        Some(d) => parse_duration(d).map(When::AfterHead),
        None => parse_time(s)
            .map(When::At)
            .map_err(|e| format!("{e}, or a time after the latest block's such as +10m")),
    }
}

/// A duration in whole hours (clap's value parser): `24h`, `7d`, or a
/// number of hours.
pub fn parse_hours(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let (n, scale) = if let Some(n) = t.strip_suffix('d') {
        (n, 24)
    } else {
        (t.strip_suffix('h').unwrap_or(&t), 1)
    };
    n.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{s:?}: write a number of hours or days, e.g. 24h or 7d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_read_and_print_as_utc() {
        // 2026-01-01T00:00:00Z is 1,767,225,600 s: hour 490,896.
        assert_eq!(hour(Hour(490_896)), "2026-01-01 00:00");
        assert_eq!(time(1_767_229_261), "2026-01-01 01:01:01");
        assert_eq!(
            span(Hour(490_896), Hour(490_897)),
            "2026-01-01 00:00 to 2026-01-01 02:00 UTC"
        );
        for s in [
            "490896",
            "2026-01-01",
            "2026-01-01T00",
            "2026-01-01 00:00",
            "2026-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_hour(s), Ok(Hour(490_896)), "{s}");
        }
        assert_eq!(parse_hour("2026-01-01T05:00Z"), Ok(Hour(490_901)));
        let e = parse_hour("1767225600").unwrap_err();
        assert!(e.contains("unix seconds") && e.contains("490896"), "{e}");
        assert!(parse_hour("2026-01-01T05:30Z")
            .unwrap_err()
            .contains("start of an hour"));
        for bad in [
            "",
            "2026-02-30",
            "2026-13-01",
            "2026-01-01T24",
            "yesterday",
            "-5",
        ] {
            assert!(parse_hour(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_time("1767229200"), Ok(1_767_229_200));
        assert_eq!(parse_time("2026-01-01T01:00:00Z"), Ok(1_767_229_200));
        assert!(parse_time("01/01/2026").is_err());
        assert_eq!(iso(1_767_229_200), "2026-01-01T01:00Z");
        assert_eq!(iso(1_767_229_230), "2026-01-01T01:00:30Z");
        assert_eq!(parse_when("+10m"), Ok(When::AfterHead(600)));
        assert_eq!(parse_when("+2h"), Ok(When::AfterHead(7200)));
        assert_eq!(parse_when("+90s"), Ok(When::AfterHead(90)));
        assert_eq!(parse_when("+1d"), Ok(When::AfterHead(86_400)));
        assert_eq!(parse_when("+5"), Ok(When::AfterHead(300)));
        assert_eq!(parse_when("2026-01-01T01:00Z"), Ok(When::At(1_767_229_200)));
        assert_eq!(parse_when("1767229200"), Ok(When::At(1_767_229_200)));
        assert_eq!(When::AfterHead(60).resolve(1000), 1060);
        for bad in ["+", "+1w", "+-5m", "soon", "+1.5h"] {
            assert!(parse_when(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_hours("24h"), Ok(24));
        assert_eq!(parse_hours("7d"), Ok(168));
        assert_eq!(parse_hours("6"), Ok(6));
        assert!(parse_hours("0h").is_err());
        assert!(parse_hours("1w").is_err());
    }
}
