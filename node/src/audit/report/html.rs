//! `report.html`: one self-contained page, charts as inline SVG, no
//! script (its Content-Security-Policy allows none). It opens with a
//! summary (verdict, UTC period, per zone and per site figures, alerts
//! and breaches); time axes are UTC dates, energy has units, sites and
//! meters have their serials, columns their values on hover. Chain text
//! goes through [`esc`].
//!
//! The hourly series are read back from the CSV tables in two passes (the
//! hour range, then sums per bin), so the page has at most [`BINS`] columns
//! per chart and rendering it needs memory for the bins only. The feeders'
//! section is the `feeder_html` module's, the sandbox's (curtailment
//! timeline, permits, breaches) the `sandbox_html` module's.

use super::io;
use super::table::read_csv;
use super::write::{Final, Summary};
use crate::audit::replay::CheckCounts;
use crate::audit::AuditError;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use watt_runtime::types::ZoneId;

/// The most columns a time chart has.
pub(super) const BINS: u64 = 240;
pub(super) const W: f64 = 720.0;
const H: f64 = 220.0;
/// The left margin of a chart, wide enough for "1.25 MWh".
pub(super) const PAD: f64 = 64.0;
/// The plot's top and bottom in a time chart.
const TOP: f64 = 40.0;
const BOTTOM: f64 = H - 40.0;
/// At most this many rows in a summary table.
const MAX_ROWS: usize = 200;

/// The colours of the series.
pub(super) const GREEN: &str = "#2e9e44";
pub(super) const RED: &str = "#d0342c";
pub(super) const BLUE: &str = "#2f6fd0";
pub(super) const ORANGE: &str = "#e08a1e";

/// The page's Content-Security-Policy: no script, no fetches, inline
/// styles only (the charts are inline SVG).
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// Chain text as HTML text or an attribute value: every character that
/// could end a text node or a quoted attribute is escaped.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Energy with a unit chosen by magnitude: "950 Wh", "12.5 kWh",
/// "1.25 MWh" (three significant digits).
pub(super) fn energy(wh: u64) -> String {
    energy_signed(i128::from(wh))
}

/// [`energy`] for signed amounts (a feeder's unexplained energy).
pub(super) fn energy_signed(wh: i128) -> String {
    let sign = if wh < 0 { "-" } else { "" };
    let a = wh.unsigned_abs();
    if a < 1000 {
        return format!("{sign}{a} Wh");
    }
    let (div, unit) = [(1e12, "TWh"), (1e9, "GWh"), (1e6, "MWh"), (1e3, "kWh")]
        .into_iter()
        .find(|(d, _)| a as f64 >= *d)
        .unwrap_or((1e3, "kWh"));
    let v = a as f64 / div;
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let mut t = format!("{v:.digits$}");
    if t.contains('.') {
        t = t.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{sign}{t} {unit}")
}

/// A Unix hour as a UTC date and time: "2026-12-01 14:00".
pub(super) fn utc_hour(hour: u64) -> String {
    let (y, m, d) = watt_runtime::types::civil_from_days((hour / 24) as i64);
    format!("{y:04}-{m:02}-{d:02} {:02}:00", hour % 24)
}

/// A time in milliseconds as a UTC date: "2026-12-01".
fn utc_date(ms: u64) -> String {
    utc_hour(ms / 3_600_000)[..10].to_string()
}

/// A time in milliseconds as a UTC date and minute: "2026-12-01 14:05".
fn utc_minute(ms: u64) -> String {
    let (y, m, d) = watt_runtime::types::civil_from_days((ms / 86_400_000) as i64);
    let min = ms / 60_000 % 1440;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", min / 60, min % 60)
}

/// Site serials by site id (as the CSV tables write ids).
pub(super) type Names = BTreeMap<String, String>;

/// The escaped label of a site id as found in a CSV cell: its serial
/// and id, "RIDGE-MINE (site 1)".
pub(super) fn site_label(names: &Names, id: &str) -> String {
    match names.get(id) {
        Some(serial) => format!("{} (site {})", esc(serial), esc(id)),
        None if id.is_empty() => String::new(),
        None => format!("site {}", esc(id)),
    }
}

/// A site status as plain words.
fn status_words(s: &str) -> String {
    match s {
        "active" => "active".into(),
        "dark" => "dark (not reporting)".into(),
        "suspendedShortfall" => "suspended for a shortfall".into(),
        "suspendedAnomaly" => "suspended for an anomaly".into(),
        "suspendedByRegulator" => "suspended by the regulator".into(),
        "revoked" => "revoked".into(),
        other => esc(other),
    }
}

/// Reads a CSV table written by the report (no quoted commas in the
/// numeric columns used here) row by row.
fn rows(path: &Path, mut f: impl FnMut(&[&str])) -> std::io::Result<()> {
    let file = File::open(path)?;
    for line in BufReader::new(file).lines().skip(1) {
        let line = line?;
        let cols: Vec<&str> = line.split(',').collect();
        f(&cols);
    }
    Ok(())
}

fn num(s: Option<&&str>) -> u64 {
    s.and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The time axis: first and last hour, and hours per bin.
#[derive(Clone, Copy)]
pub(super) struct Axis {
    pub(super) first: u64,
    pub(super) last: u64,
    pub(super) per_bin: u64,
}

impl Axis {
    pub(super) fn bins(&self) -> usize {
        ((self.last - self.first) / self.per_bin + 1) as usize
    }
    pub(super) fn bin(&self, hour: u64) -> usize {
        ((hour.saturating_sub(self.first)) / self.per_bin) as usize
    }
    /// The UTC hours a column covers, for a hover text.
    pub(super) fn span(&self, bin: usize) -> String {
        let from = self.first + bin as u64 * self.per_bin;
        if self.per_bin == 1 {
            format!("{} UTC", utc_hour(from))
        } else {
            format!(
                "{} to {} UTC",
                utc_hour(from),
                utc_hour(from + self.per_bin - 1)
            )
        }
    }
    /// The time axis under a plot from `left` to `right` whose baseline
    /// is `y`: up to five ticks labelled with UTC dates and times, and
    /// the column width.
    pub(super) fn svg(&self, left: f64, right: f64, y: f64) -> String {
        let n = self.bins().max(1);
        let cw = (right - left) / n as f64;
        let mut ticks: Vec<usize> = (0..5).map(|k| k * (n - 1) / 4).collect();
        ticks.dedup();
        let mut svg = String::new();
        for (k, &i) in ticks.iter().enumerate() {
            let x = left + cw * (i as f64 + 0.5);
            let anchor = match k {
                0 => "start",
                _ if k + 1 == ticks.len() => "end",
                _ => "middle",
            };
            let lx = match anchor {
                "start" => x - cw / 2.0,
                "end" => x + cw / 2.0,
                _ => x,
            };
            let _ = write!(
                svg,
                r##"<line x1="{x:.1}" y1="{y}" x2="{x:.1}" y2="{}" stroke="#888"/><text class="tick" x="{lx:.1}" y="{}" font-size="10" text-anchor="{anchor}">{}</text>"##,
                y + 4.0,
                y + 15.0,
                utc_hour(self.first + i as u64 * self.per_bin)
            );
        }
        let _ = write!(
            svg,
            r##"<text x="{right}" y="{}" font-size="10" fill="#555" text-anchor="end">UTC, {} per column</text>"##,
            y + 30.0,
            match self.per_bin {
                1 => "1 hour".to_string(),
                h if h % 24 == 0 => format!("{} days", h / 24),
                h => format!("{h} hours"),
            }
        );
        svg
    }
}

/// Energy ticks on the left of a plot from `lo` to `hi` Wh between the
/// pixels `bottom` and `top`: the two ends, zero and the middle.
pub(super) fn energy_ticks(lo: i128, hi: i128, top: f64, bottom: f64, right: f64) -> String {
    let y = |v: i128| bottom - (bottom - top) * (v - lo) as f64 / (hi - lo).max(1) as f64;
    let mut values = vec![lo, hi, (lo + hi) / 2];
    if lo < 0 && hi > 0 {
        values.push(0);
    }
    values.sort();
    values.dedup();
    let mut svg = String::new();
    for v in values {
        let _ = write!(
            svg,
            r##"<line x1="{PAD}" y1="{yv:.1}" x2="{right}" y2="{yv:.1}" stroke="#eee"/><text class="tick" x="{}" y="{:.1}" font-size="10" text-anchor="end">{}</text>"##,
            PAD - 4.0,
            y(v) + 3.0,
            energy_signed(v),
            yv = y(v),
        );
    }
    svg
}

/// A line/bar chart of energy over the time axis; every column with a
/// value has its values on hover.
fn time_chart(title: &str, axis: Axis, series: &[(&str, &str, &[u64], bool)]) -> String {
    let n = axis.bins().max(1);
    let right = W - 16.0;
    let max = series
        .iter()
        .flat_map(|s| s.2.iter())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let cw = (right - PAD) / n as f64;
    let x = |i: usize| PAD + cw * (i as f64 + 0.5);
    let y = |v: u64| BOTTOM - (BOTTOM - TOP) * v as f64 / max as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{t}"><rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/><text x="8" y="16" font-size="13" font-weight="bold">{t}</text>"##,
        t = esc(title),
    );
    svg.push_str(&energy_ticks(0, i128::from(max), TOP, BOTTOM, right));
    let _ = write!(
        svg,
        r##"<line x1="{PAD}" y1="{BOTTOM}" x2="{right}" y2="{BOTTOM}" stroke="#888"/><line x1="{PAD}" y1="{TOP}" x2="{PAD}" y2="{BOTTOM}" stroke="#888"/>"##,
    );
    svg.push_str(&axis.svg(PAD, right, BOTTOM));
    let bar_w = (cw * 0.8).max(1.0);
    for (_, colour, values, bars) in series {
        if *bars {
            for (i, v) in values.iter().enumerate().filter(|(_, v)| **v > 0) {
                let _ = write!(
                    svg,
                    r##"<rect x="{:.1}" y="{:.1}" width="{bar_w:.1}" height="{:.1}" fill="{colour}"/>"##,
                    x(i) - bar_w / 2.0,
                    y(*v),
                    BOTTOM - y(*v),
                );
            }
        } else {
            let points: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
                .collect();
            let _ = write!(
                svg,
                r##"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"##,
                points.join(" "),
            );
        }
    }
    // Hover: one invisible column per bin with a value.
    for i in 0..n {
        if series.iter().all(|s| s.2.get(i).copied().unwrap_or(0) == 0) {
            continue;
        }
        let values: Vec<String> = series
            .iter()
            .map(|(name, _, v, _)| {
                format!("{}: {}", esc(name), energy(v.get(i).copied().unwrap_or(0)))
            })
            .collect();
        let _ = write!(
            svg,
            r##"<rect class="hover" x="{:.1}" y="{TOP}" width="{cw:.1}" height="{:.1}" fill="#000" fill-opacity="0"><title>{}: {}</title></rect>"##,
            PAD + cw * i as f64,
            BOTTOM - TOP,
            axis.span(i),
            values.join(", ")
        );
    }
    let mut lx = PAD;
    for (name, colour, _, _) in series {
        let _ = write!(
            svg,
            r##"<rect x="{lx}" y="23" width="10" height="10" fill="{colour}"/><text x="{}" y="32" font-size="11">{}</text>"##,
            lx + 14.0,
            esc(name)
        );
        lx += 24.0 + 7.0 * name.len() as f64;
    }
    svg.push_str("</svg>");
    svg
}

fn bar_chart(title: &str, items: &[(String, u64)]) -> String {
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1);
    let row = 26.0;
    let h = PAD + row * items.len().max(1) as f64;
    let mut svg = format!(
        r##"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" role="img" aria-label="{t}"><rect x="0" y="0" width="{W}" height="{h}" fill="#ffffff"/><text x="8" y="16" font-size="13" font-weight="bold">{t}</text>"##,
        t = esc(title)
    );
    let colours = [GREEN, BLUE, ORANGE, "#7a4fd0", "#1ea0a0", "#888888"];
    for (i, (name, v)) in items.iter().enumerate() {
        let y = 28.0 + row * i as f64;
        let w = (W - 260.0) * *v as f64 / max as f64;
        let _ = write!(
            svg,
            r##"<text x="8" y="{:.1}" font-size="11">{}</text><rect x="130" y="{y:.1}" width="{:.1}" height="18" fill="{}"><title>{}: {} ({v} Wh)</title></rect><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"##,
            y + 13.0,
            esc(name),
            w.max(1.0),
            colours[i % colours.len()],
            esc(name),
            energy(*v),
            136.0 + w,
            y + 13.0,
            energy(*v),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A section of the page with the counts it puts on the page's root
/// element (`data-…` attributes, for tools and tests reading the page)
/// and how many alerts or breaches it found in all.
#[derive(Default)]
pub(super) struct Part {
    pub(super) html: String,
    pub(super) attrs: Vec<(&'static str, usize)>,
    pub(super) total: usize,
}

fn count_of(n: usize, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// The summary at the top: the verdict, the period, per zone and per
/// site what happened, and the alerts and breaches with links.
fn summary(
    sm: &Summary,
    f: &Final,
    counts: &CheckCounts,
    (feeders, sandbox, violations): (&Part, &Part, u64),
) -> String {
    // A count, linked to its section when the page has one.
    let link = |part: &Part, id: &str, text: String| {
        if part.html.contains(&format!("id=\"{id}\"")) {
            format!("<a href=\"#{id}\">{text}</a>")
        } else {
            text
        }
    };
    let mut b = String::from("<section id=\"summary\"><h2>Summary</h2>");
    let checked = format!(
        "{} blocks, {} transactions, {} device signatures, {} commit signatures in {} certificates, {} other signatures and {} conservation checks",
        counts.blocks,
        counts.transactions,
        counts.device_signatures,
        counts.commit_signatures,
        counts.certificates,
        counts.other_signatures,
        counts.conservation_checks
    );
    if sm.trusted_source_genesis {
        let _ = write!(
            b,
            "<p class=\"verdict warn\"><strong>Verified against the genesis the source carries:</strong> every block, signature and rule checked ({checked}), but the auditor named no expected chain, so this shows only that the chain is consistent with its own genesis.</p>"
        );
    } else {
        let _ = write!(
            b,
            "<p class=\"verdict ok\"><strong>Verified: every block, signature and rule checked</strong> ({checked}), from the expected genesis to the head{}.</p>",
            if f.zones.iter().all(|z| z.conserved) {
                "; every zone's supply is conserved"
            } else {
                ""
            }
        );
    }
    let first = sm.first_block_ms.unwrap_or(sm.genesis_time_ms);
    let _ = write!(
        b,
        "<p class=\"period\"><strong>Period:</strong> {} (UTC), from the first block at {} UTC to block {} at {} UTC.</p>",
        match (utc_date(first), utc_date(sm.head.2)) {
            (a, b) if a == b => a,
            (a, b) => format!("{a} to {b}"),
        },
        utc_minute(first),
        sm.head.0,
        utc_minute(sm.head.2)
    );
    // Findings, in plain words.
    let not_active = f.sites.iter().filter(|s| s.status != "active").count();
    let shortfall: u64 = f.sites.iter().map(|s| s.shortfall.0).sum();
    let _ = write!(
        b,
        "<p class=\"findings\"><strong>Alerts and breaches:</strong> {}, {}, <a href=\"#violations\">{}</a>; {} of {} not active; {} of shortfall outstanding.</p>",
        link(
            feeders,
            "feeder-alerts",
            count_of(feeders.total, "feeder alert", "feeder alerts")
        ),
        link(
            sandbox,
            "sandbox-breaches",
            count_of(
                sandbox.total,
                "permit or curtailment breach",
                "permit and curtailment breaches"
            )
        ),
        count_of(violations as usize, "recorded violation", "recorded violations"),
        count_of(not_active, "site", "sites"),
        f.sites.len(),
        energy(shortfall)
    );
    // Per zone.
    let mut unbacked: BTreeMap<&ZoneId, u64> = BTreeMap::new();
    for s in &f.sites {
        *unbacked.entry(&s.zone).or_default() += s.shortfall_recorded.0;
    }
    b.push_str("<h3>Credits per zone</h3><table class=\"summary zones\"><thead><tr><th>zone</th><th>minted</th><th>burned</th><th>retired</th><th>expired</th><th>unbacked</th></tr></thead><tbody>");
    for z in &f.zones {
        let _ = write!(
            b,
            "<tr><td>{}</td><td class=\"n\" title=\"{} Wh\">{}</td><td class=\"n\" title=\"{} Wh\">{}</td><td class=\"n\" title=\"{} Wh\">{}</td><td class=\"n\" title=\"{} Wh\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&z.zone.to_string()),
            z.minted.0,
            energy(z.minted.0),
            z.burned.0,
            energy(z.burned.0),
            z.retired.0,
            energy(z.retired.0),
            z.expired.0,
            energy(z.expired.0),
            energy(unbacked.get(&z.zone).copied().unwrap_or(0)),
        );
    }
    b.push_str("</tbody></table><p class=\"note\">Unbacked: consumption its site did not back with credits by the deadline (shortfall recorded, settled or not).</p>");
    // Per site.
    b.push_str("<h3>Sites</h3>");
    if f.sites.is_empty() {
        b.push_str("<p>No sites.</p>");
    } else {
        b.push_str("<table class=\"summary sites\"><thead><tr><th>site</th><th>zone</th><th>status</th><th>consumed</th><th>shortfall recorded</th><th>settled</th><th>outstanding</th><th>open debt</th><th>violations</th></tr></thead><tbody>");
        for s in f.sites.iter().take(MAX_ROWS) {
            let _ = write!(
                b,
                "<tr><td>{} (site {})</td><td>{}</td><td class=\"status-{}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&s.serial),
                s.site,
                esc(&s.zone.to_string()),
                esc(&s.status),
                status_words(&s.status),
                energy(s.consumed.0),
                energy(s.shortfall_recorded.0),
                energy(s.shortfall_settled.0),
                energy(s.shortfall.0),
                energy(s.open_debt.0),
                s.violations
            );
        }
        b.push_str("</tbody></table>");
        if f.sites.len() > MAX_ROWS {
            let _ = write!(
                b,
                "<p>{} more sites in sites.csv.</p>",
                f.sites.len() - MAX_ROWS
            );
        }
    }
    // Meters.
    b.push_str("<h3>Meters</h3>");
    if f.meters.is_empty() {
        b.push_str("<p>No meters.</p>");
    } else {
        b.push_str("<table class=\"summary meters\"><thead><tr><th>meter</th><th>zone</th><th>source</th><th>status</th><th>readings</th><th>minted</th><th>forfeited</th></tr></thead><tbody>");
        for m in f.meters.iter().take(MAX_ROWS) {
            let _ = write!(
                b,
                "<tr><td>{} (meter {})</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&m.serial),
                m.meter,
                esc(&m.zone.to_string()),
                esc(m.source.name()),
                esc(&m.status),
                m.readings,
                energy(m.minted.0),
                energy(m.forfeited.0)
            );
        }
        b.push_str("</tbody></table>");
        if f.meters.len() > MAX_ROWS {
            let _ = write!(
                b,
                "<p>{} more meters in meters.csv.</p>",
                f.meters.len() - MAX_ROWS
            );
        }
    }
    b.push_str("</section>");
    b
}

/// The retirements (the first [`MAX_ROWS`]): their beneficiaries and
/// purposes are chain text, shown as text.
fn retirements(dir: &Path) -> std::io::Result<String> {
    let mut rows = String::new();
    let mut total = 0usize;
    read_csv(&dir.join("retirements.csv"), |c| {
        total += 1;
        if total > MAX_ROWS {
            return;
        }
        let col = |i: usize| c.get(i).map(String::as_str).unwrap_or("");
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td class=\"n\" title=\"{} Wh\">{}</td><td class=\"beneficiary\">{}</td><td class=\"purpose\">{}</td></tr>",
            esc(col(0)),
            esc(col(1)),
            esc(col(2)),
            esc(col(3)),
            energy(col(3).parse().unwrap_or(0)),
            esc(col(4)),
            esc(col(5)),
        );
    })?;
    let mut b = String::from("<h2 id=\"retirements\">Retirements</h2>");
    if total == 0 {
        b.push_str("<p>None.</p>");
        return Ok(b);
    }
    let _ = write!(
        b,
        "<table class=\"retirements\"><thead><tr><th>height</th><th>retirement</th><th>account</th><th>amount</th><th>beneficiary</th><th>purpose</th></tr></thead><tbody>{rows}</tbody></table>"
    );
    if total > MAX_ROWS {
        let _ = write!(
            b,
            "<p>{} more retirements in retirements.csv.</p>",
            total - MAX_ROWS
        );
    }
    Ok(b)
}

/// Writes `report.html` from the CSV tables in `dir`, the summary and
/// the final tables.
pub fn write_html(
    dir: &Path,
    sm: &Summary,
    f: &Final,
    counts: &CheckCounts,
) -> Result<(), AuditError> {
    // Pass 1: the hour range.
    let (mut first, mut last) = (u64::MAX, 0u64);
    for t in ["hourly.csv", "site_hourly.csv"] {
        rows(&dir.join(t), |c| {
            let h = num(c.first());
            first = first.min(h);
            last = last.max(h);
        })
        .map_err(io)?;
    }
    let start_hour = sm.genesis_time_ms / 3_600_000;
    if first == u64::MAX {
        first = start_hour;
        last = sm.head.2 / 3_600_000;
    }
    let last = last.max(first);
    let axis = Axis {
        first,
        last,
        per_bin: ((last - first) / BINS + 1).max(1),
    };
    let n = axis.bins();
    // Pass 2: sums per bin.
    let mut zones: BTreeMap<String, (Vec<u64>, Vec<u64>)> = BTreeMap::new();
    rows(&dir.join("hourly.csv"), |c| {
        let b = axis.bin(num(c.first()));
        let z = zones
            .entry(c.get(1).copied().unwrap_or("").to_string())
            .or_insert_with(|| (vec![0; n], vec![0; n]));
        if b < n {
            z.0[b] += num(c.get(2));
            z.1[b] += num(c.get(3));
        }
    })
    .map_err(io)?;
    type SiteSeries = (Vec<u64>, Vec<u64>, Vec<u64>);
    let mut sites: BTreeMap<u64, SiteSeries> = BTreeMap::new();
    rows(&dir.join("site_hourly.csv"), |c| {
        let b = axis.bin(num(c.first()));
        let s = sites
            .entry(num(c.get(1)))
            .or_insert_with(|| (vec![0; n], vec![0; n], vec![0; n]));
        if b < n {
            s.0[b] += num(c.get(2));
            s.1[b] += num(c.get(3));
            s.2[b] += num(c.get(4));
        }
    })
    .map_err(io)?;
    let mut violations = vec![0u64; n];
    rows(&dir.join("violations.csv"), |c| {
        let b = axis.bin(num(c.get(1)) / 3_600_000);
        if b < n {
            violations[b] += 1;
        }
    })
    .map_err(io)?;
    let names: Names = f
        .sites
        .iter()
        .map(|s| (s.site.to_string(), s.serial.clone()))
        .collect();
    let feeders = super::feeder_html::section(dir).map_err(io)?;
    let sandbox = super::sandbox_html::section(dir, &names).map_err(io)?;
    let violation_total: u64 = sm.violation_kinds.values().sum();

    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>Watt audit: {}</h1><p>Chain <code>{}</code>, verified from genesis to height {} (block <code>{}</code>). {} events.</p>",
        esc(&sm.chain_name),
        sm.chain_id,
        sm.head.0,
        sm.head.1,
        sm.events
    );
    if sm.trusted_source_genesis {
        body.push_str("<p class=\"warn\"><strong>Genesis taken from the source on trust:</strong> the auditor did not name the chain it expected (<code>--chain-id</code> or <code>--genesis</code>), so this report shows only that the chain is consistent with the genesis it carries, not that it is the chain you meant.</p>");
    } else {
        body.push_str("<p>The chain id is the one the auditor expected.</p>");
    }
    body.push_str(&summary(
        sm,
        f,
        counts,
        (&feeders, &sandbox, violation_total),
    ));
    body.push_str("<h2 id=\"zones\">Minted and burned per zone per hour</h2>");
    for (zone, (minted, burned)) in &zones {
        body.push_str(&time_chart(
            &format!("zone {zone}: energy minted and burned"),
            axis,
            &[
                ("minted", GREEN, minted, false),
                ("burned", RED, burned, false),
            ],
        ));
    }
    body.push_str("<h2 id=\"sites\">Sites: consumption, burns and shortfalls</h2>");
    for (site, (consumed, burned, shortfall)) in &sites {
        let label = match names.get(&site.to_string()) {
            Some(serial) => format!("{serial} (site {site})"),
            None => format!("site {site}"),
        };
        body.push_str(&time_chart(
            &format!("{label}: energy per hour"),
            axis,
            &[
                ("consumed", BLUE, consumed, false),
                ("burned", ORANGE, burned, false),
                ("shortfall", RED, shortfall, true),
            ],
        ));
    }
    body.push_str("<h2 id=\"violations\">Violations over time</h2>");
    let kinds: Vec<String> = sm
        .violation_kinds
        .iter()
        .map(|(k, v)| format!("{} {v}", esc(k)))
        .collect();
    let _ = write!(
        body,
        "<p>{}</p>",
        if kinds.is_empty() {
            "None.".to_string()
        } else {
            kinds.join(", ")
        }
    );
    body.push_str(&violation_chart(axis, &violations));
    body.push_str("<h2 id=\"sources\">Credits by source</h2>");
    let sources: Vec<(String, u64)> = sm
        .sources
        .iter()
        .map(|(s, w)| (s.name().to_string(), w.0))
        .collect();
    body.push_str(&bar_chart("Energy minted by source", &sources));
    body.push_str(&retirements(dir).map_err(io)?);
    body.push_str(&feeders.html);
    body.push_str(&sandbox.html);

    // The counts the page was written with, on its root element.
    let mut attrs = vec![("data-charts", body.matches("<svg class=\"chart").count())];
    attrs.extend(feeders.attrs.iter().chain(&sandbox.attrs).copied());
    let attrs: String = attrs.iter().map(|(k, v)| format!(" {k}=\"{v}\"")).collect();
    let page = format!(
        r##"<!DOCTYPE html>
<html lang="en"{attrs}><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>Watt audit report: {name}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:800px}} svg.chart{{display:block;margin:1em 0;border:1px solid #ddd}} code{{font-size:90%}} p.verdict{{padding:.6em .8em;border-radius:4px}} p.verdict.ok{{background:#e6f4e9;border:1px solid #2e9e44}} p.verdict.warn,p.warn{{background:#fff4e0;border:1px solid #e08a1e;padding:.6em .8em}} table.summary,table.retirements{{border-collapse:collapse;font-size:85%;margin:.5em 0}} table.summary th,table.summary td,table.retirements th,table.retirements td{{border:1px solid #ddd;padding:2px 6px;vertical-align:top}} td.n{{text-align:right;white-space:nowrap}} p.note{{font-size:85%;color:#555}} td[class^=status-]:not(.status-active){{color:#d0342c}} table.feeder-alerts{{border-collapse:collapse;font-size:85%}} table.feeder-alerts th,table.feeder-alerts td{{border:1px solid #ddd;padding:2px 6px;vertical-align:top}} table.sandbox{{border-collapse:collapse;font-size:85%;margin:1em 0}} table.sandbox th,table.sandbox td{{border:1px solid #ddd;padding:2px 6px;vertical-align:top}} table.sandbox .t{{white-space:nowrap}}</style>
</head><body>
{body}
<p>Details: report.json and the CSV tables beside this page.</p>
</body></html>
"##,
        name = esc(&sm.chain_name),
    );
    let mut f = File::create(dir.join("report.html")).map_err(io)?;
    f.write_all(page.as_bytes()).map_err(io)?;
    Ok(())
}

/// Violations per column as bars, counts on hover.
fn violation_chart(axis: Axis, violations: &[u64]) -> String {
    let n = axis.bins().max(1);
    let right = W - 16.0;
    let max = violations.iter().copied().max().unwrap_or(0).max(1);
    let cw = (right - PAD) / n as f64;
    let y = |v: u64| BOTTOM - (BOTTOM - TOP) * v as f64 / max as f64;
    let mut svg = format!(
        r##"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="violations per column"><rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/><text x="8" y="16" font-size="13" font-weight="bold">violations per column</text><text class="tick" x="{}" y="{:.1}" font-size="10" text-anchor="end">{max}</text><text class="tick" x="{}" y="{BOTTOM}" font-size="10" text-anchor="end">0</text><line x1="{PAD}" y1="{BOTTOM}" x2="{right}" y2="{BOTTOM}" stroke="#888"/><line x1="{PAD}" y1="{TOP}" x2="{PAD}" y2="{BOTTOM}" stroke="#888"/>"##,
        PAD - 4.0,
        TOP + 3.0,
        PAD - 4.0,
    );
    svg.push_str(&axis.svg(PAD, right, BOTTOM));
    let bar_w = (cw * 0.8).max(1.0);
    for (i, v) in violations.iter().enumerate().filter(|(_, v)| **v > 0) {
        let _ = write!(
            svg,
            r##"<rect x="{:.1}" y="{:.1}" width="{bar_w:.1}" height="{:.1}" fill="{RED}"><title>{}: {}</title></rect>"##,
            PAD + cw * (i as f64 + 0.5) - bar_w / 2.0,
            y(*v),
            BOTTOM - y(*v),
            axis.span(i),
            count_of(*v as usize, "violation", "violations")
        );
    }
    svg.push_str("</svg>");
    svg
}
