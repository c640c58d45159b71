//! Power and energy as the sandbox commands write and show them: `150kW`,
//! `1.5MW`, `50MWh`, shown without trailing zeros (`75 kW`, `1.25 MW`,
//! `50 MWh`) unless `--unit` names an energy unit.

use crate::ctx::Ctx;
use watt_rpc_client::energy::Unit;
use watt_runtime::types::{Watts, Wh};

/// Reads a power (clap's value parser): a number of W, or a number with
/// `W`, `kW` or `MW` (decimals allowed down to 1 W). `mW` (milliwatts) is
/// refused: the chain counts whole watts.
pub fn parse(s: &str) -> Result<Watts, String> {
    let t = s.trim();
    if t.ends_with("mW") {
        return Err(format!(
            "power {t:?}: mW is milliwatts; write MW for megawatts"
        ));
    }
    let lower = t.to_ascii_lowercase();
    let (num, scale) = if let Some(n) = lower.strip_suffix("mw") {
        (n, 1_000_000u64)
    } else if let Some(n) = lower.strip_suffix("kw") {
        (n, 1_000)
    } else if let Some(n) = lower.strip_suffix('w') {
        (n, 1)
    } else {
        (lower.as_str(), 1)
    };
    decimal(num.trim(), scale)
        .map(Watts)
        .map_err(|why| format!("power {t:?}{why}"))
}

/// `num` (digits, an optional point and decimals) times `scale`, exactly;
/// `Err` says why not, after the value.
fn decimal(num: &str, scale: u64) -> Result<u64, String> {
    let bad = || ": write a number of W, or e.g. 150kW or 1.5MW".to_string();
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return Err(bad());
    }
    let places = scale.to_string().len() - 1;
    if frac.len() > places {
        return Err(" is finer than 1 W".into());
    }
    let int: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| " is too large".to_string())?
    };
    let frac: u64 = format!("{frac:0<places$}").parse().unwrap_or(0);
    int.checked_mul(scale)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(|| " is too large".into())
}

/// `n / scale` with its decimals, trailing zeros dropped: `75`, `1.25`.
fn trimmed(n: u64, scale: u64) -> String {
    let digits = scale.to_string().len() - 1;
    let frac = format!("{:0digits$}", n % scale);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{}", n / scale)
    } else {
        format!("{}.{frac}", n / scale)
    }
}

/// A power for people: `500 W`, `75 kW`, `1.25 MW`.
pub fn show(w: Watts) -> String {
    match w.0 {
        n if n >= 1_000_000 => format!("{} MW", trimmed(n, 1_000_000)),
        n if n >= 1_000 => format!("{} kW", trimmed(n, 1_000)),
        n => format!("{n} W"),
    }
}

/// An energy for people, in `--unit` if one is named, else without
/// trailing zeros in the largest unit it reaches: `950 Wh`, `12.5 kWh`,
/// `50 MWh`.
pub fn energy(ctx: &Ctx, e: Wh) -> String {
    if ctx.unit != Unit::Auto {
        return ctx.energy(e);
    }
    match e.0 {
        n if n >= 1_000_000 => format!("{} MWh", trimmed(n, 1_000_000)),
        n if n >= 1_000 => format!("{} kWh", trimmed(n, 1_000)),
        n => format!("{n} Wh"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_reads_in_every_unit_and_shows_trimmed() {
        for (s, w) in [
            ("150kW", 150_000),
            ("150 kW", 150_000),
            ("150kw", 150_000),
            ("1.5MW", 1_500_000),
            ("0.000001MW", 1),
            ("100000W", 100_000),
            ("100000", 100_000),
            ("0", 0),
            ("75.5kW", 75_500),
        ] {
            assert_eq!(parse(s), Ok(Watts(w)), "{s}");
        }
        for bad in [
            "", "kW", "1.5", "1.0001kW", "-3", "x", "5mW", "5kWh", "1e3W",
        ] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
        assert!(parse("5mW").unwrap_err().contains("milliwatts"));
        assert_eq!(show(Watts(500)), "500 W");
        assert_eq!(show(Watts(75_000)), "75 kW");
        assert_eq!(show(Watts(75_500)), "75.5 kW");
        assert_eq!(show(Watts(1_250_000)), "1.25 MW");
        assert_eq!(show(Watts(0)), "0 W");
    }
}
