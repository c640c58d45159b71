//! Energy amounts as people write them: `1500`, `1500Wh`, `1.5kWh`, `2MWh`;
//! and shown with their unit named.

use watt_runtime::types::Wh;

/// How amounts are shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unit {
    /// Wh below 10 kWh, kWh below 10 MWh, MWh above.
    #[default]
    Auto,
    /// Always Wh.
    Wh,
    /// Always kWh.
    KWh,
    /// Always MWh.
    MWh,
}

impl std::str::FromStr for Unit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Unit::Auto),
            "wh" => Ok(Unit::Wh),
            "kwh" => Ok(Unit::KWh),
            "mwh" => Ok(Unit::MWh),
            _ => Err(format!("unit {s:?}: use wh, kwh, mwh or auto")),
        }
    }
}

/// Formats an amount with its unit, e.g. `1.500 kWh`.
pub fn format(amount: Wh, unit: Unit) -> String {
    let wh = amount.0;
    let unit = match unit {
        Unit::Auto if wh < 10_000 => Unit::Wh,
        Unit::Auto if wh < 10_000_000 => Unit::KWh,
        Unit::Auto => Unit::MWh,
        u => u,
    };
    match unit {
        Unit::KWh => format!("{}.{:03} kWh", wh / 1_000, wh % 1_000),
        Unit::MWh => format!("{}.{:06} MWh", wh / 1_000_000, wh % 1_000_000),
        _ => format!("{wh} Wh"),
    }
}

/// Parses an amount: a number of Wh, or a number with `Wh`, `kWh` or `MWh`
/// (decimals allowed down to 1 Wh).
pub fn parse(s: &str) -> Result<Wh, String> {
    let t = s.trim();
    // `mWh` is a milliwatt-hour, below the 1 Wh the chain counts in; only
    // a capital M means mega.
    if t.ends_with("mWh") {
        return Err(format!(
            "amount {t:?}: mWh is milliwatt-hours; write MWh for megawatt-hours"
        ));
    }
    let lower = t.to_ascii_lowercase();
    let (num, scale) = if let Some(n) = lower.strip_suffix("mwh") {
        (n, 1_000_000u64)
    } else if let Some(n) = lower.strip_suffix("kwh") {
        (n, 1_000)
    } else if let Some(n) = lower.strip_suffix("wh") {
        (n, 1)
    } else {
        (lower.as_str(), 1)
    };
    let num = num.trim();
    let bad = || format!("amount {t:?}: write a number of Wh, or e.g. 1.5kWh or 2MWh");
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(bad());
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let digits = scale.to_string().len() as u32 - 1;
    if frac.len() as u32 > digits {
        return Err(format!("amount {t:?} is finer than 1 Wh"));
    }
    let int: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let frac_wh: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<u64>().map_err(|_| bad())? * 10u64.pow(digits - frac.len() as u32)
    };
    int.checked_mul(scale)
        .and_then(|w| w.checked_add(frac_wh))
        .map(Wh)
        .ok_or_else(|| format!("amount {t:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_in_every_unit_and_refuse_the_rest() {
        assert_eq!(parse("1500").unwrap(), Wh(1500));
        assert_eq!(parse("1500Wh").unwrap(), Wh(1500));
        assert_eq!(parse("1.5kWh").unwrap(), Wh(1500));
        assert_eq!(parse("2 MWh").unwrap(), Wh(2_000_000));
        assert_eq!(parse("0.000001MWh").unwrap(), Wh(1));
        for bad in [
            "",
            "kWh",
            "1.5",
            "1.0001kWh",
            "-3",
            "1e3",
            "x",
            "99999999999999999999",
            "5mWh",
        ] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn amounts_show_their_unit() {
        assert_eq!(format(Wh(950), Unit::Auto), "950 Wh");
        assert_eq!(format(Wh(12_345), Unit::Auto), "12.345 kWh");
        assert_eq!(format(Wh(12_345_678), Unit::Auto), "12.345678 MWh");
        assert_eq!(format(Wh(1_500), Unit::Wh), "1500 Wh");
    }
}
