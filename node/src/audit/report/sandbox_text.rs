//! How the sandbox's tables write times and masks for people: UTC times
//! as ISO 8601, months as `YYYY-MM`, a permit's month and hour masks as
//! ranges (`Mar-Oct`, `06:00-18:00`).

use watt_runtime::types::civil_from_days;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub(super) fn utc_seconds(s: u64) -> String {
    let (y, m, d) = civil_from_days((s / 86_400) as i64);
    let t = s % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// A UTC month index (`year x 12 + month - 1`, as `sandbox::month_of`
/// gives it) as `YYYY-MM`.
pub(super) fn month_text(month: u64) -> String {
    format!("{:04}-{:02}", month / 12, month % 12 + 1)
}

/// The runs of set bits among the first `n` of `mask`, as (first, last).
fn runs(mask: u32, n: u32) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for i in (0..n).filter(|i| mask & (1 << i) != 0) {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == i => *last = i,
            _ => out.push((i, i)),
        }
    }
    out
}

/// A 12-bit month mask (bit 0 = January) as `all`, `none` or ranges
/// such as `Jan-Feb,Dec`.
pub(super) fn months_text(mask: u16) -> String {
    let mask = u32::from(mask) & 0x0fff;
    match mask {
        0x0fff => "all".into(),
        0 => "none".into(),
        _ => runs(mask, 12)
            .into_iter()
            .map(|(a, b)| match a == b {
                true => MONTHS[a as usize].to_string(),
                false => format!("{}-{}", MONTHS[a as usize], MONTHS[b as usize]),
            })
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// A 24-bit hour-of-day mask (bit 0 = 00:00-01:00 UTC) as `all`, `none`
/// or half-open ranges such as `06:00-18:00`.
pub(super) fn hours_text(mask: u32) -> String {
    let mask = mask & 0x00ff_ffff;
    match mask {
        0x00ff_ffff => "all".into(),
        0 => "none".into(),
        _ => runs(mask, 24)
            .into_iter()
            .map(|(a, b)| format!("{a:02}:00-{:02}:00", b + 1))
            .collect::<Vec<_>>()
            .join(","),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_times_read_as_written() {
        assert_eq!(months_text(0x0fff), "all");
        assert_eq!(months_text(0b0011_1111_1100), "Mar-Oct");
        assert_eq!(months_text(0b1111_1111_1100), "Mar-Dec");
        assert_eq!(months_text(0b1000_0000_0011), "Jan-Feb,Dec");
        assert_eq!(months_text(0b0000_0000_0100), "Mar");
        assert_eq!(hours_text(0x00ff_ffff), "all");
        assert_eq!(
            hours_text((6..18).fold(0, |m, h| m | 1 << h)),
            "06:00-18:00"
        );
        assert_eq!(hours_text(1 | 1 << 23), "00:00-01:00,23:00-24:00");
        assert_eq!(
            utc_seconds(1_767_225_600 + 18 * 3600 + 61),
            "2026-01-01T18:01:01Z"
        );
        assert_eq!(month_text(2026 * 12 + 1), "2026-02");
    }
}
