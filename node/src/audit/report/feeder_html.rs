//! The feeders' part of `report.html`: per feeder a chart of its closed
//! hours (import, generation, consumption, declared load and the signed
//! unexplained energy, alert hours shaded, unmetered hours ticked) and one
//! table of alerts, read back from `feeder_hours.csv` and
//! `feeder_alerts.csv`. Feeder ids and reasons are chain text: they go into
//! the page escaped, as text.

use super::html::{
    energy_signed, energy_ticks, esc, utc_hour, Axis, Part, BINS, BLUE, GREEN, ORANGE, PAD, RED, W,
};
use super::table::read_csv;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// At most this many feeders get a chart (those with alerts first).
const MAX_CHARTS: usize = 100;
/// At most this many alerts are listed in the page's table.
const MAX_ROWS: usize = 500;
const FH: f64 = 250.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = FH - 40.0;
const PURPLE: &str = "#7a4fd0";
const GREY: &str = "#999999";

fn num(s: Option<&String>) -> u64 {
    s.and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn signed(s: Option<&String>) -> i128 {
    s.and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// One feeder's bins.
struct Series {
    /// import, generation, consumption, declared, unexplained.
    values: [Vec<i128>; 5],
    alert: Vec<bool>,
    unmetered: Vec<bool>,
}

impl Series {
    fn new(n: usize) -> Series {
        Series {
            values: std::array::from_fn(|_| vec![0; n]),
            alert: vec![false; n],
            unmetered: vec![false; n],
        }
    }
}

const NAMES: [(&str, &str); 5] = [
    ("import", BLUE),
    ("generation", GREEN),
    ("consumption", ORANGE),
    ("declared", PURPLE),
    ("unexplained", RED),
];

/// Runs of `true` bins, as (first, last).
fn runs(flags: &[bool]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (i, _) in flags.iter().enumerate().filter(|(_, f)| **f) {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == i => *last = i,
            _ => out.push((i, i)),
        }
    }
    out
}

fn feeder_chart(feeder: &str, axis: Axis, s: &Series) -> String {
    let n = axis.bins().max(1);
    let all = || s.values.iter().flat_map(|v| v.iter().copied());
    let lo = all().min().unwrap_or(0).min(0);
    let hi = all().max().unwrap_or(0).max(lo + 1);
    let right = W - 16.0;
    let cw = (right - PAD) / n as f64;
    let x = |i: usize| PAD + cw * (i as f64 + 0.5);
    let y = |v: i128| BOTTOM - (BOTTOM - TOP) * (v - lo) as f64 / (hi - lo) as f64;
    let hour = |bin: usize| axis.first + bin as u64 * axis.per_bin;
    let t = esc(&format!("feeder {feeder}: energy per hour"));
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="chart feeder-chart" data-feeder="{f}" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{FH}" viewBox="0 0 {W} {FH}" role="img" aria-label="{t}"><rect x="0" y="0" width="{W}" height="{FH}" fill="#ffffff"/><text x="8" y="16" font-size="13" font-weight="bold">{t}</text>"##,
        f = esc(feeder),
    );
    for (a, b) in runs(&s.alert) {
        let _ = write!(
            svg,
            r##"<rect class="alert-hours" x="{:.1}" y="{TOP}" width="{:.1}" height="{:.1}" fill="{RED}" fill-opacity="0.15"><title>alert: {} to {} UTC</title></rect>"##,
            PAD + cw * a as f64,
            cw * (b - a + 1) as f64,
            BOTTOM - TOP,
            utc_hour(hour(a)),
            utc_hour(hour(b) + axis.per_bin - 1)
        );
    }
    for (a, b) in runs(&s.unmetered) {
        let _ = write!(
            svg,
            r##"<rect class="unmetered" x="{:.1}" y="{:.1}" width="{:.1}" height="4" fill="{GREY}"><title>unmetered hours</title></rect>"##,
            PAD + cw * a as f64,
            BOTTOM + 2.0,
            cw * (b - a + 1) as f64,
        );
    }
    let _ = write!(
        svg,
        r##"{}<line x1="{PAD}" y1="{BOTTOM}" x2="{right}" y2="{BOTTOM}" stroke="#888"/><line x1="{PAD}" y1="{TOP}" x2="{PAD}" y2="{BOTTOM}" stroke="#888"/><line x1="{PAD}" y1="{z:.1}" x2="{right}" y2="{z:.1}" stroke="#bbb" stroke-dasharray="3,3"/>{}"##,
        energy_ticks(lo, hi, TOP, BOTTOM, right),
        axis.svg(PAD, right, BOTTOM),
        z = y(0),
    );
    for ((name, colour), values) in NAMES.iter().zip(&s.values) {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            svg,
            r##"<polyline class="series-{name}" fill="none" stroke="{colour}" stroke-width="2" points="{}"><title>{name}</title></polyline>"##,
            points.join(" "),
        );
    }
    let mut lx = PAD;
    let legend = NAMES
        .iter()
        .map(|(n, c)| (*n, *c, 1.0))
        .chain([("alert hours", RED, 0.15), ("unmetered", GREY, 1.0)]);
    for (name, colour, opacity) in legend {
        let _ = write!(
            svg,
            r##"<rect x="{lx}" y="23" width="10" height="10" fill="{colour}" fill-opacity="{opacity}"/><text x="{}" y="32" font-size="11">{name}</text>"##,
            lx + 14.0,
        );
        lx += 24.0 + 7.0 * name.len() as f64;
    }
    // Hover: every column's values.
    for i in 0..n {
        let values: Vec<String> = NAMES
            .iter()
            .zip(&s.values)
            .map(|((name, _), v)| format!("{name}: {}", energy_signed(v[i])))
            .collect();
        let _ = write!(
            svg,
            r##"<rect class="hover" x="{:.1}" y="{TOP}" width="{cw:.1}" height="{:.1}" fill="#000" fill-opacity="0"><title>{}: {}{}</title></rect>"##,
            PAD + cw * i as f64,
            BOTTOM - TOP,
            axis.span(i),
            values.join(", "),
            if s.alert[i] { " (alert)" } else { "" }
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One alert from its opening to its clearing (or the last block).
struct Episode {
    feeder: String,
    opened: String,
    from: String,
    through: String,
    hours: String,
    unexplained: String,
    cleared: Option<(String, String)>,
}

impl Episode {
    fn row(&self) -> String {
        let hour = |h: &str| match h.parse::<u64>() {
            Ok(n) => format!("{} UTC<br><small>hour {n}</small>", utc_hour(n)),
            Err(_) => esc(h),
        };
        let (state, reason) = match &self.cleared {
            Some((height, reason)) => (format!("cleared at height {}", esc(height)), esc(reason)),
            None => ("open".to_string(), String::new()),
        };
        format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{state}</td><td class=\"reason\">{reason}</td></tr>",
            esc(&self.feeder),
            esc(&self.opened),
            hour(&self.from),
            hour(&self.through),
            esc(&self.hours),
            match self.unexplained.parse::<i128>() {
                Ok(v) => format!("<span title=\"{v} Wh\">{}</span>", energy_signed(v)),
                Err(_) => esc(&self.unexplained),
            },
        )
    }
}

/// The alerts table's rows (the first [`MAX_ROWS`] alerts by opening) and
/// how many alerts there were, with each feeder's alert spans marked in
/// `mark` (hour ranges).
fn alert_episodes(
    dir: &Path,
    mut mark: impl FnMut(&str, u64, u64),
) -> std::io::Result<(Vec<Episode>, usize)> {
    let mut open: BTreeMap<String, (usize, Episode)> = BTreeMap::new();
    let mut done: BTreeMap<usize, Episode> = BTreeMap::new();
    let mut count = 0usize;
    fn keep(seq: usize, e: Episode, done: &mut BTreeMap<usize, Episode>) {
        done.insert(seq, e);
        if done.len() > MAX_ROWS {
            done.pop_last();
        }
    }
    read_csv(&dir.join("feeder_alerts.csv"), |c| {
        let col = |i: usize| c.get(i).cloned().unwrap_or_default();
        let feeder = col(2);
        match col(3).as_str() {
            "opened" | "extended" => {
                mark(&feeder, num(c.get(4)), num(c.get(5)));
                let extend = col(3) == "extended" && open.contains_key(&feeder);
                if !extend {
                    let e = Episode {
                        feeder: feeder.clone(),
                        opened: col(0),
                        from: col(4),
                        through: col(5),
                        hours: col(6),
                        unexplained: col(7),
                        cleared: None,
                    };
                    if let Some((seq, old)) = open.insert(feeder.clone(), (count, e)) {
                        keep(seq, old, &mut done);
                    }
                    count += 1;
                }
                if let Some((_, e)) = open.get_mut(&feeder) {
                    (e.through, e.hours, e.unexplained) = (col(5), col(6), col(7));
                }
            }
            "cleared" => {
                let (seq, mut e) = open.remove(&feeder).unwrap_or_else(|| {
                    count += 1;
                    (
                        count - 1,
                        Episode {
                            feeder: feeder.clone(),
                            opened: String::new(),
                            from: col(4),
                            through: col(5),
                            hours: col(6),
                            unexplained: col(7),
                            cleared: None,
                        },
                    )
                });
                e.cleared = Some((col(0), col(8)));
                keep(seq, e, &mut done);
            }
            _ => {}
        }
    })?;
    for (_, (seq, e)) in open {
        keep(seq, e, &mut done);
    }
    Ok((done.into_values().collect(), count))
}

/// The page's feeders section; empty for a chain without feeder hours or
/// alerts. Its counts: the feeder charts and the alerts table's rows.
pub fn section(dir: &Path) -> std::io::Result<Part> {
    let hours_csv = dir.join("feeder_hours.csv");
    // Pass 1: the hour range and the feeders.
    let (mut first, mut last) = (u64::MAX, 0u64);
    let mut feeders: BTreeSet<String> = BTreeSet::new();
    read_csv(&hours_csv, |c| {
        let h = num(c.first());
        (first, last) = (first.min(h), last.max(h));
        if let Some(f) = c.get(1) {
            if !feeders.contains(f) {
                feeders.insert(f.clone());
            }
        }
    })?;
    let mut alerted: BTreeSet<String> = BTreeSet::new();
    let (episodes, count) = alert_episodes(dir, |f, _, _| {
        if !alerted.contains(f) {
            alerted.insert(f.to_string());
        }
    })?;
    let mut part = Part {
        attrs: vec![
            ("data-feeder-charts", 0),
            ("data-feeder-alerts", episodes.len()),
        ],
        total: count,
        ..Part::default()
    };
    if feeders.is_empty() && count == 0 {
        return Ok(part);
    }
    let mut body = String::from("<h2>Feeders: hourly balance and alerts</h2>");
    if first != u64::MAX {
        let axis = Axis {
            first,
            last,
            per_bin: ((last - first) / BINS + 1).max(1),
        };
        let n = axis.bins();
        // The charted feeders: those with alerts first, then by id.
        let chosen: Vec<String> = alerted
            .iter()
            .filter(|f| feeders.contains(*f))
            .chain(feeders.iter().filter(|f| !alerted.contains(*f)))
            .take(MAX_CHARTS)
            .cloned()
            .collect();
        let mut series: BTreeMap<String, Series> =
            chosen.iter().map(|f| (f.clone(), Series::new(n))).collect();
        // Pass 2: sums per bin.
        read_csv(&hours_csv, |c| {
            let Some(s) = c.get(1).and_then(|f| series.get_mut(f)) else {
                return;
            };
            let b = axis.bin(num(c.first()));
            if b >= n {
                return;
            }
            for (k, col) in [3usize, 5, 6, 7, 9].into_iter().enumerate() {
                let v = if col == 9 {
                    signed(c.get(col))
                } else {
                    i128::from(num(c.get(col)))
                };
                s.values[k][b] = s.values[k][b].saturating_add(v);
            }
            if c.get(10).is_some_and(|s| s == "unmetered") {
                s.unmetered[b] = true;
            }
        })?;
        alert_episodes(dir, |f, from, through| {
            if let Some(s) = series.get_mut(f) {
                let (a, b) = (axis.bin(from.max(axis.first)), axis.bin(through));
                for flag in s.alert.iter_mut().take(b.min(n - 1) + 1).skip(a) {
                    *flag = true;
                }
            }
        })?;
        let _ = write!(
            body,
            "<p>{} with closed hours{}. Hours from the chain's FeederBalance events: shaded columns hold alert hours, grey ticks unmetered hours.</p>",
            match feeders.len() {
                1 => "One feeder".to_string(),
                n => format!("{n} feeders"),
            },
            if feeders.len() > chosen.len() {
                format!(", the first {} charted (those with alerts first); all are in feeder_hours.csv", chosen.len())
            } else {
                String::new()
            }
        );
        for f in &chosen {
            if let Some(s) = series.get(f) {
                body.push_str(&feeder_chart(f, axis, s));
                part.attrs[0].1 += 1;
            }
        }
    }
    body.push_str("<h3 id=\"feeder-alerts\">Unexplained-load alerts</h3>");
    if episodes.is_empty() {
        body.push_str("<p>None.</p>");
        part.html = body;
        return Ok(part);
    }
    body.push_str("<table class=\"feeder-alerts\"><thead><tr><th>feeder</th><th>opened at height</th><th>from (UTC)</th><th>through (UTC)</th><th>hours</th><th>unexplained</th><th>state</th><th>reason</th></tr></thead><tbody>");
    for e in &episodes {
        body.push_str(&e.row());
    }
    body.push_str("</tbody></table>");
    if count > episodes.len() {
        let _ = write!(
            body,
            "<p>{} more alerts in feeder_alerts.csv.</p>",
            count - episodes.len()
        );
    }
    part.html = body;
    Ok(part)
}
