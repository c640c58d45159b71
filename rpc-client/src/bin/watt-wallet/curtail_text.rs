//! Curtailment orders for people: a line of `grid curtailments`, the
//! table of `grid curtailment`, the shares of a new order; powers without
//! trailing zeros, times as UTC ISO 8601.

use crate::ctx::Ctx;
use crate::power;
use crate::utc;
use watt_rpc_client::view::{
    CurtailTarget, CurtailedSite, Curtailment, CurtailmentState, SiteShare,
};
use watt_runtime::types::SiteId;

/// `site 1 gets 40 kW, site 2 gets 60 kW`, or that no site is affected.
pub fn shares_text(shares: &[SiteShare]) -> String {
    if shares.is_empty() {
        return "no site is affected (none attached, or none with a live permit where permits are required)".into();
    }
    let parts: Vec<String> = shares
        .iter()
        .map(|s| format!("site {} gets {}", s.site, power::show(s.share)))
        .collect();
    parts.join(", ")
}

/// `feeder DEV-1/F1` or `zone DEV-1`.
pub fn target_text(t: &CurtailTarget) -> String {
    match t {
        CurtailTarget::Feeder(f) => format!("feeder {f}"),
        CurtailTarget::Zone(z) => format!("zone {z}"),
    }
}

/// A state as the JSON names it (`awaitingVerdict`).
fn state_name(s: CurtailmentState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `2026-12-01T18:00Z to 2026-12-01T19:00Z (60 min)`.
pub fn window(start: u64, end: u64) -> String {
    format!(
        "{} to {} ({} min)",
        utc::iso(start),
        utc::iso(end),
        end.saturating_sub(start) / 60
    )
}

/// One order of `grid curtailments` for people; with `--site`, that
/// site's share.
pub fn list_line(o: &Curtailment, site: Option<SiteId>) -> String {
    let who = match site.and_then(|s| o.sites.iter().find(|r| r.site == s)) {
        Some(r) => format!("site {} share {}", r.site, power::show(r.share)),
        None => format!(
            "{} site{}",
            o.sites.len(),
            if o.sites.len() == 1 { "" } else { "s" }
        ),
    };
    format!(
        "order {:<5} {:<22} {:<16} {}  max {}, {who}",
        o.order,
        target_text(&o.target),
        state_name(o.state),
        window(o.start, o.end),
        power::show(o.max_mining)
    )
}

/// `grid curtailment` for people.
pub fn show(ctx: &Ctx, o: &Curtailment) -> String {
    let mut out = vec![
        format!(
            "order {}: {} in zone {}, {}",
            o.order,
            target_text(&o.target),
            o.zone,
            state_name(o.state)
        ),
        format!("  window       {}", window(o.start, o.end)),
        format!("  max mining   {}", power::show(o.max_mining)),
        format!("  ordered by   {}", o.issuer),
    ];
    if let Some(at) = o.cancelled_at {
        out.push(format!("  cancelled    {}", utc::iso(at)));
    }
    if o.sites.is_empty() {
        out.push("  no site is affected".into());
        return out.join("\n");
    }
    let heads = ["site", "share", "used", "acknowledged", "verdict"];
    let rows: Vec<[String; 5]> = o.sites.iter().map(|r| site_row(ctx, o, r)).collect();
    let mut widths = heads.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut l = format!("  {:<w$}", cells[0], w = widths[0]);
        for (c, w) in cells[1..4].iter().zip(&widths[1..4]) {
            l.push_str(&format!("  {c:<w$}"));
        }
        l.push_str(&format!("  {}", cells[4]));
        l
    };
    out.push(line(heads));
    out.extend(rows.iter().map(|r| line(r.each_ref().map(String::as_str))));
    out.join("\n")
}

/// One affected site's row.
fn site_row(ctx: &Ctx, o: &Curtailment, r: &CurtailedSite) -> [String; 5] {
    let verdict = match &r.verdict {
        None if o.state == CurtailmentState::Cancelled => {
            "none (cancelled before its start)".into()
        }
        None => "pending".to_string(),
        Some(v) if v.honoured => format!(
            "honoured ({} of {} allowed)",
            power::energy(ctx, v.used),
            power::energy(ctx, v.allowed)
        ),
        Some(v) if !v.reported => "breached (its readings did not reach the window's end)".into(),
        Some(v) => format!(
            "breached ({} of {} allowed)",
            power::energy(ctx, v.used),
            power::energy(ctx, v.allowed)
        ),
    };
    [
        r.site.to_string(),
        power::show(r.share),
        power::energy(ctx, r.used),
        r.acked_at.map_or("no".into(), utc::iso),
        verdict,
    ]
}
