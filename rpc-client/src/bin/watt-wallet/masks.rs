//! A permit's months and hours of the day as people write them (`Mar-Oct`,
//! `Nov-Feb`, `Jan,Jun-Aug`, `06-18`, `22-06`, `all`) and read them back
//! from the masks the chain keeps (bit 0 = January, bit 0 = 00:00-01:00
//! UTC).

use watt_runtime::sandbox::{ALL_HOURS, ALL_MONTHS};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A month by name (`Mar`, `march`) or number (`3`), 0-based.
fn month(s: &str) -> Option<u32> {
    let t = s.trim().to_ascii_lowercase();
    if let Ok(n) = t.parse::<u32>() {
        return (1..=12).contains(&n).then(|| n - 1);
    }
    if t.len() < 3 {
        return None;
    }
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    FULL.iter()
        .position(|m| m.starts_with(&t))
        .map(|i| i as u32)
}

/// Reads a set of months (clap's value parser): `all`, a month (`Mar`,
/// `3`), a range (`Mar-Oct`; `Nov-Feb` runs over the new year), or a
/// comma-separated list of those.
pub fn parse_months(s: &str) -> Result<u16, String> {
    let hint = "write all, a month (Mar), a range (Mar-Oct, Nov-Feb) or a list (Jan,Jun-Aug)";
    if s.trim().eq_ignore_ascii_case("all") {
        return Ok(ALL_MONTHS);
    }
    let mut mask = 0u16;
    for part in s.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (Some(a), Some(b)) = (month(a), month(b)) else {
            return Err(format!("months {:?}: {hint}", s.trim()));
        };
        let mut m = a;
        loop {
            mask |= 1 << m;
            if m == b {
                break;
            }
            m = (m + 1) % 12;
        }
    }
    Ok(mask)
}

/// Reads a set of UTC hours of the day (clap's value parser): `all`, a
/// range of whole hours `06-18` (from 06:00 up to 18:00; `22-06` runs over
/// midnight; `06:00-18:00` also works), or a comma-separated list of
/// ranges.
pub fn parse_hours(s: &str) -> Result<u32, String> {
    let hint = "write all or UTC hours from-to, e.g. 06-18 (06:00 to 18:00), 22-06, 06-09,17-22";
    if s.trim().eq_ignore_ascii_case("all") {
        return Ok(ALL_HOURS);
    }
    let hour = |t: &str| -> Option<u32> {
        let t = t.trim();
        let t = t.strip_suffix(":00").unwrap_or(t);
        if t.is_empty() || t.len() > 2 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse().ok().filter(|h| *h <= 24)
    };
    let mut mask = 0u32;
    for part in s.split(',') {
        let Some((a, b)) = part.split_once('-') else {
            return Err(format!("hours {:?}: {hint}", s.trim()));
        };
        let (Some(a), Some(b)) = (hour(a), hour(b)) else {
            return Err(format!("hours {:?}: {hint}", s.trim()));
        };
        if a == 24 || a == b {
            return Err(format!(
                "hours {:?}: {a:02}-{b:02} is empty (from and to must differ; all is every hour)",
                s.trim()
            ));
        }
        // From `a` up to `b`, over midnight when `b` comes first.
        let count = if b > a { b - a } else { b + 24 - a };
        for i in 0..count {
            mask |= 1 << ((a + i) % 24);
        }
    }
    Ok(mask)
}

/// The runs of set bits among `n` positions, each as `(first, last)`; a
/// run over the end and the start is one, starting near the end.
fn runs(mask: u32, n: u32) -> Vec<(u32, u32)> {
    let set = |i: u32| mask & (1 << (i % n)) != 0;
    if (0..n).all(set) {
        return vec![(0, n - 1)];
    }
    // Start after a clear position, so a wrapped run is read whole.
    let first_clear = (0..n).find(|i| !set(*i)).unwrap_or(0);
    let mut out = Vec::new();
    let mut i = first_clear + 1;
    while i <= first_clear + n {
        if set(i) {
            let start = i;
            while set(i + 1) && i + 1 < first_clear + n {
                i += 1;
            }
            out.push((start % n, i % n));
        }
        i += 1;
    }
    out.sort_by_key(|(a, _)| *a);
    out
}

/// A months mask for people: `all`, `Mar-Oct`, `Nov-Feb`, `Jan,Jun-Aug`;
/// `none` for an empty mask.
pub fn months_text(mask: u16) -> String {
    let mask = u32::from(mask & ALL_MONTHS);
    if mask == 0 {
        return "none".into();
    }
    if mask == u32::from(ALL_MONTHS) {
        return "all".into();
    }
    let name = |m: u32| MONTHS[m as usize];
    let parts: Vec<String> = runs(mask, 12)
        .into_iter()
        .map(|(a, b)| match a == b {
            true => name(a).to_string(),
            false => format!("{}-{}", name(a), name(b)),
        })
        .collect();
    parts.join(",")
}

/// An hours mask for people: `all day`, `06:00-18:00`, `22:00-06:00`,
/// `06:00-09:00,17:00-22:00`; `none` for an empty mask.
pub fn hours_text(mask: u32) -> String {
    let mask = mask & ALL_HOURS;
    if mask == 0 {
        return "none".into();
    }
    if mask == ALL_HOURS {
        return "all day".into();
    }
    let parts: Vec<String> = runs(mask, 24)
        .into_iter()
        .map(|(a, b)| format!("{a:02}:00-{:02}:00", (b + 1) % 24))
        .collect();
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_read_and_show() {
        let mar_oct = 0b0011_1111_1100;
        assert_eq!(parse_months("Mar-Oct"), Ok(mar_oct));
        assert_eq!(parse_months("march-october"), Ok(mar_oct));
        assert_eq!(parse_months("3-10"), Ok(mar_oct));
        assert_eq!(parse_months("all"), Ok(ALL_MONTHS));
        assert_eq!(parse_months("Nov-Feb"), Ok(0b1100_0000_0011));
        assert_eq!(parse_months("Jan,Jun-Aug"), Ok(0b0000_1110_0001));
        assert_eq!(parse_months("Dec"), Ok(1 << 11));
        for bad in ["", "Ma", "Foo", "13", "0", "Mar-", "Mar--Oct", "1-2-3"] {
            assert!(parse_months(bad).is_err(), "{bad:?}");
        }
        assert_eq!(months_text(mar_oct), "Mar-Oct");
        assert_eq!(months_text(0b1100_0000_0011), "Nov-Feb");
        assert_eq!(months_text(0b0000_1110_0001), "Jan,Jun-Aug");
        assert_eq!(months_text(ALL_MONTHS), "all");
        assert_eq!(months_text(1 << 11), "Dec");
        assert_eq!(months_text(0b1000_0000_0001), "Dec-Jan");
        assert_eq!(months_text(0), "none");
        for m in [1u16, 0x0ffe, 0x0aaa, 0x0801, 0x0f0f] {
            assert_eq!(parse_months(&months_text(m)), Ok(m), "{m:#x}");
        }
    }

    #[test]
    fn hours_read_and_show() {
        let day = (6..18).fold(0u32, |m, h| m | 1 << h);
        assert_eq!(parse_hours("06-18"), Ok(day));
        assert_eq!(parse_hours("06:00-18:00"), Ok(day));
        assert_eq!(parse_hours("6-18"), Ok(day));
        assert_eq!(parse_hours("all"), Ok(ALL_HOURS));
        assert_eq!(parse_hours("00-24"), Ok(ALL_HOURS));
        let night = (22..24).chain(0..6).fold(0u32, |m, h| m | 1 << h);
        assert_eq!(parse_hours("22-06"), Ok(night));
        assert_eq!(parse_hours("18-24"), Ok(0xfc_0000));
        for bad in [
            "", "06", "06-06", "24-02", "06-25", "6am-6pm", "-", "06-18,",
        ] {
            assert!(parse_hours(bad).is_err(), "{bad:?}");
        }
        assert_eq!(hours_text(day), "06:00-18:00");
        assert_eq!(hours_text(night), "22:00-06:00");
        assert_eq!(hours_text(ALL_HOURS), "all day");
        assert_eq!(hours_text(0xfc_0000), "18:00-00:00");
        let two = parse_hours("06-09,17-22").unwrap();
        assert_eq!(hours_text(two), "06:00-09:00,17:00-22:00");
        for m in [1u32, 0x80_0001, 0x55_5555, day, night] {
            let text = hours_text(m).replace(":00", "");
            assert_eq!(parse_hours(&text), Ok(m), "{m:#x} {text}");
        }
    }
}
