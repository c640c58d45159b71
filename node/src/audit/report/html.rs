//! `report.html`: one self-contained page, charts as inline SVG.
//!
//! The hourly series are read back from the CSV tables in two passes (the
//! hour range, then sums per bin), so the page has at most [`BINS`] columns
//! per chart and rendering it needs memory for the bins only. The feeders'
//! section is the `feeder_html` module's, the sandbox's (curtailment
//! timeline, permits, breaches) the `sandbox_html` module's.

use super::io;
use super::write::Summary;
use crate::audit::AuditError;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

/// The most columns a time chart has.
pub(super) const BINS: u64 = 240;
pub(super) const W: f64 = 720.0;
const H: f64 = 180.0;
pub(super) const PAD: f64 = 40.0;

/// The colours of the series.
pub(super) const GREEN: &str = "#2e9e44";
pub(super) const RED: &str = "#d0342c";
pub(super) const BLUE: &str = "#2f6fd0";
pub(super) const ORANGE: &str = "#e08a1e";

/// Chain text as HTML text or an attribute value.
pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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
}

/// A line/bar chart over the time axis.
fn time_chart(title: &str, axis: Axis, series: &[(&str, &str, &[u64], bool)]) -> String {
    let n = axis.bins().max(1);
    let max = series
        .iter()
        .flat_map(|s| s.2.iter())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let x = |i: usize| PAD + (W - 2.0 * PAD) * (i as f64 + 0.5) / n as f64;
    let y = |v: u64| H - PAD / 2.0 - (H - PAD) * v as f64 / max as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{t}"><rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/><line x1="{PAD}" y1="{b}" x2="{r}" y2="{b}" stroke="#888"/><line x1="{PAD}" y1="{top}" x2="{PAD}" y2="{b}" stroke="#888"/><text x="{PAD}" y="14" font-size="12">{t}</text><text x="2" y="{ty}" font-size="10">{max}</text><text x="2" y="{b}" font-size="10">0</text>"##,
        t = esc(title),
        b = H - PAD / 2.0,
        r = W - PAD,
        top = PAD / 2.0,
        ty = PAD / 2.0 + 8.0,
    );
    let bar_w = ((W - 2.0 * PAD) / n as f64 * 0.8).max(1.0);
    for (name, colour, values, bars) in series {
        if *bars {
            for (i, v) in values.iter().enumerate().filter(|(_, v)| **v > 0) {
                let _ = write!(
                    svg,
                    r##"<rect x="{:.1}" y="{:.1}" width="{bar_w:.1}" height="{:.1}" fill="{colour}"><title>{}: {v}</title></rect>"##,
                    x(i) - bar_w / 2.0,
                    y(*v),
                    (H - PAD / 2.0) - y(*v),
                    esc(name)
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
                r##"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"><title>{}</title></polyline>"##,
                points.join(" "),
                esc(name)
            );
        }
    }
    let mut lx = PAD + 200.0;
    for (name, colour, _, _) in series {
        let _ = write!(
            svg,
            r##"<rect x="{lx}" y="5" width="10" height="10" fill="{colour}"/><text x="{}" y="14" font-size="11">{}</text>"##,
            lx + 14.0,
            esc(name)
        );
        lx += 120.0;
    }
    let _ = write!(
        svg,
        r##"<text x="{PAD}" y="{H}" font-size="10">hour {}</text><text x="{}" y="{H}" font-size="10" text-anchor="end">hour {} ({} h per column)</text></svg>"##,
        axis.first,
        W - PAD,
        axis.last,
        axis.per_bin
    );
    svg
}

fn bar_chart(title: &str, items: &[(String, u64)]) -> String {
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1);
    let row = 26.0;
    let h = PAD + row * items.len().max(1) as f64;
    let mut svg = format!(
        r##"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" role="img" aria-label="{t}"><rect x="0" y="0" width="{W}" height="{h}" fill="#ffffff"/><text x="{PAD}" y="14" font-size="12">{t}</text>"##,
        t = esc(title)
    );
    let colours = [GREEN, BLUE, ORANGE, "#7a4fd0", "#1ea0a0", "#888888"];
    for (i, (name, v)) in items.iter().enumerate() {
        let y = 24.0 + row * i as f64;
        let w = (W - 260.0) * *v as f64 / max as f64;
        let _ = write!(
            svg,
            r##"<text x="4" y="{:.1}" font-size="11">{}</text><rect x="130" y="{y:.1}" width="{:.1}" height="18" fill="{}"><title>{}: {v} Wh</title></rect><text x="{:.1}" y="{:.1}" font-size="11">{v} Wh</text>"##,
            y + 13.0,
            esc(name),
            w.max(1.0),
            colours[i % colours.len()],
            esc(name),
            136.0 + w,
            y + 13.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Writes `report.html` from the CSV tables in `dir` and the summary.
pub fn write_html(dir: &Path, sm: &Summary) -> Result<(), AuditError> {
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
    body.push_str("<h2>Minted and burned per zone per hour</h2>");
    for (zone, (minted, burned)) in &zones {
        body.push_str(&time_chart(
            &format!("zone {zone}: Wh minted and burned"),
            axis,
            &[
                ("minted", GREEN, minted, false),
                ("burned", RED, burned, false),
            ],
        ));
    }
    body.push_str("<h2>Sites: consumption, burns and shortfalls</h2>");
    for (site, (consumed, burned, shortfall)) in &sites {
        body.push_str(&time_chart(
            &format!("site {site}: Wh per hour"),
            axis,
            &[
                ("consumed", BLUE, consumed, false),
                ("burned", ORANGE, burned, false),
                ("shortfall", RED, shortfall, true),
            ],
        ));
    }
    body.push_str("<h2>Violations over time</h2>");
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
    body.push_str(&time_chart(
        "violations per column",
        axis,
        &[("violations", RED, &violations, true)],
    ));
    body.push_str("<h2>Credits by source</h2>");
    let sources: Vec<(String, u64)> = sm
        .sources
        .iter()
        .map(|(s, w)| (s.name().to_string(), w.0))
        .collect();
    body.push_str(&bar_chart("Wh minted by source", &sources));
    body.push_str(&super::feeder_html::section(dir).map_err(io)?);
    body.push_str(&super::sandbox_html::section(dir).map_err(io)?);

    let page = format!(
        r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Watt audit report</title>
<script>window.onerror = function (m) {{ document.documentElement.setAttribute("data-js-error", String(m)); }};</script>
<style>body{{font-family:sans-serif;margin:2em;max-width:800px}} svg.chart{{display:block;margin:1em 0;border:1px solid #ddd}} code{{font-size:90%}} table.feeder-alerts{{border-collapse:collapse;font-size:85%}} table.feeder-alerts th,table.feeder-alerts td{{border:1px solid #ddd;padding:2px 6px;vertical-align:top}} table.sandbox{{border-collapse:collapse;font-size:85%;margin:1em 0}} table.sandbox th,table.sandbox td{{border:1px solid #ddd;padding:2px 6px;vertical-align:top}} table.sandbox .t{{white-space:nowrap}}</style>
</head><body>
{body}
<p>Details: report.json and the CSV tables beside this page.</p>
<script>document.documentElement.setAttribute("data-charts", String(document.querySelectorAll("svg.chart").length));
document.documentElement.setAttribute("data-feeder-charts", String(document.querySelectorAll("svg.feeder-chart").length));
document.documentElement.setAttribute("data-feeder-alerts", String(document.querySelectorAll("table.feeder-alerts tbody tr").length));
document.documentElement.setAttribute("data-curtailment-bars", String(document.querySelectorAll("svg.curtailment-timeline rect.curtailment-bar").length));
document.documentElement.setAttribute("data-curtailment-judged", String(document.querySelectorAll("svg.curtailment-timeline rect.curtailment-bar[data-verdict=honoured], svg.curtailment-timeline rect.curtailment-bar[data-verdict=breach]").length));
document.documentElement.setAttribute("data-sandbox-breaches", String(document.querySelectorAll("table.sandbox-breaches tbody tr").length));</script>
</body></html>
"##
    );
    let mut f = File::create(dir.join("report.html")).map_err(io)?;
    f.write_all(page.as_bytes()).map_err(io)?;
    Ok(())
}
