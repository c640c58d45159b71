//! Feeders for people: amounts in kWh (unless `--unit` says otherwise),
//! hours as UTC dates, a feeder's status, a line of `feeder list` and the
//! table of `feeder balance`.

use crate::ctx::Ctx;
use crate::utc;
use watt_rpc_client::energy::{self, Unit};
use watt_rpc_client::view::{BalanceStatus, Feeder, FeederHourBalance};
use watt_runtime::types::{Hour, Wh};

/// The unit of feeder figures: kWh unless `--unit` names another.
pub fn unit(ctx: &Ctx) -> Unit {
    match ctx.unit {
        Unit::Auto => Unit::KWh,
        u => u,
    }
}

/// An amount in the feeder unit, with the unit named.
pub fn amount(ctx: &Ctx, w: Wh) -> String {
    energy::format(w, unit(ctx))
}

/// A signed amount in the feeder unit, without the unit's name.
pub fn signed(ctx: &Ctx, v: i128) -> String {
    let abs = u64::try_from(v.unsigned_abs()).unwrap_or(u64::MAX);
    let text = energy::format(Wh(abs), unit(ctx));
    let number = text.split(' ').next().unwrap_or_default();
    if v < 0 {
        format!("-{number}")
    } else {
        number.to_string()
    }
}

/// The unit's name, for table headings.
pub fn unit_name(ctx: &Ctx) -> &'static str {
    match unit(ctx) {
        Unit::MWh => "MWh",
        Unit::Wh => "Wh",
        _ => "kWh",
    }
}

/// `feeder status` for people.
pub fn status_text(ctx: &Ctx, f: &Feeder) -> String {
    let mut out = vec![format!("feeder {} in zone {}: {}", f.id, f.zone, f.status)];
    out.push(match &f.alert {
        Some(a) => format!(
            "  alert        {} unexplained over {} h, {}",
            amount(ctx, a.unexplained),
            a.hours,
            utc::span(a.from_hour, a.through_hour)
        ),
        None => format!(
            "  alert        none; {} of {} unexplained hours in a row",
            f.run, f.alert_hours
        ),
    });
    out.push(if f.head_sequence == 0 {
        format!(
            "  head meter   no reading yet; counting from {} UTC",
            utc::time(f.head_last_end)
        )
    } else {
        format!(
            "  head meter   reading #{}, counted up to {} UTC",
            f.head_sequence,
            utc::time(f.head_last_end)
        )
    });
    out.push(format!(
        "  open from    {} UTC (the hours before are closed)",
        utc::hour(f.open_from)
    ));
    out.push(format!(
        "  rated        {} W; losses allowed {}, alert floor {} per hour, mining share {}",
        f.rated_capacity.0,
        percent(f.loss_permille),
        amount(ctx, f.alert_floor),
        percent(f.mining_share_permille)
    ));
    out.push(format!("  head key     {}", f.head_key));
    out.push(format!(
        "  declared key {}",
        f.declared_key
            .map_or("none (no declared load expected)".into(), |k| k.to_string())
    ));
    out.join("\n")
}

/// One feeder of `feeder list` for people.
pub fn list_line(ctx: &Ctx, f: &Feeder) -> String {
    let alert = f.alert.as_ref().map_or(String::new(), |a| {
        format!("  alert {} over {} h", amount(ctx, a.unexplained), a.hours)
    });
    format!(
        "{:<24} {:<10} {:<5}  head #{} to {} UTC{alert}",
        f.id.as_str(),
        f.zone.to_string(),
        f.status,
        f.head_sequence,
        utc::time(f.head_last_end)
    )
}

/// `feeder balance` for people: one row per closed hour, each column as
/// wide as its widest cell.
pub fn balance_table(
    ctx: &Ctx,
    feeder: &str,
    from: Hour,
    to: Hour,
    hours: &[FeederHourBalance],
) -> String {
    let range = utc::span(from, to);
    if hours.is_empty() {
        return format!(
            "feeder {feeder}: no closed hours from {range} (an hour closes once its end and the settlement grace have passed)"
        );
    }
    let heads = [
        "hour (UTC)",
        "import",
        "export",
        "generation",
        "consumption",
        "declared",
        "losses",
        "unexplained",
        "status",
    ];
    let cell = |w: Wh| signed(ctx, w.0.into());
    let rows: Vec<[String; 9]> = hours
        .iter()
        .map(|h| {
            [
                utc::hour(h.hour),
                cell(h.import),
                cell(h.export),
                cell(h.generation),
                cell(h.consumption),
                cell(h.declared),
                cell(h.allowance),
                signed(ctx, h.unexplained),
                status_name(h.status),
            ]
        })
        .collect();
    let mut widths = heads.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: [&str; 9]| {
        let mut l = format!("{:<w$}", cells[0], w = widths[0]);
        for (c, w) in cells[1..8].iter().zip(&widths[1..8]) {
            l.push_str(&format!("  {c:>w$}"));
        }
        l.push_str(&format!("  {}", cells[8]));
        l
    };
    let mut out = vec![
        format!(
            "feeder {feeder}: {} closed hour{} from {range}, in {}",
            hours.len(),
            if hours.len() == 1 { "" } else { "s" },
            unit_name(ctx)
        ),
        "unexplained = import - export + generation - consumption - declared - losses allowed"
            .into(),
        line(heads),
    ];
    out.extend(rows.iter().map(|r| line(r.each_ref().map(String::as_str))));
    out.join("\n")
}

/// A balance status as the JSON names it (`unmetered`).
pub fn status_name(s: BalanceStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A per mille as a percentage: 50 is `5.0%`.
fn percent(permille: u16) -> String {
    format!("{}.{}%", permille / 10, permille % 10)
}
