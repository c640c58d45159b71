//! The sandbox's part of `report.html`: a curtailment timeline (one row
//! per order and affected site: the order's window outlined, the judged
//! part coloured by the verdict, the acknowledgement ticked) and tables of
//! permits with their monthly usage, of curtailments, and of breaches,
//! read back from the CSV tables. Feeder ids, reasons and breach details
//! are chain text: they go into the page escaped, as text.

use super::html::{esc, site_label, Names, Part, BLUE, GREEN, PAD, RED, W};
use super::table::read_csv;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// At most this many rows in the timeline.
const MAX_BARS: usize = 200;
/// At most this many rows in each table.
const MAX_ROWS: usize = 500;
const GREY: &str = "#999999";
const LABEL: f64 = 150.0;
const TOP: f64 = 44.0;
const ROW: f64 = 18.0;

fn col(c: &[String], i: usize) -> &str {
    c.get(i).map_or("", String::as_str)
}

fn num(c: &[String], i: usize) -> Option<u64> {
    col(c, i).parse().ok()
}

/// One row of `curtailments.csv`, as the page needs it.
struct Row {
    order: String,
    target: String,
    start: u64,
    end: u64,
    start_utc: String,
    end_utc: String,
    judged: Option<(u64, u64)>,
    state: String,
    site: String,
    share: String,
    used: String,
    allowed: String,
    acked_at: Option<u64>,
    acked_utc: String,
    verdict: String,
}

impl Row {
    fn new(c: &[String]) -> Row {
        Row {
            order: col(c, 0).into(),
            target: format!("{} {}", col(c, 1), col(c, 2)),
            start: num(c, 6).unwrap_or(0),
            end: num(c, 7).unwrap_or(0),
            start_utc: col(c, 8).into(),
            end_utc: col(c, 9).into(),
            judged: num(c, 12).zip(num(c, 13)),
            state: col(c, 14).into(),
            site: col(c, 16).into(),
            share: col(c, 17).into(),
            used: col(c, 18).into(),
            allowed: col(c, 19).into(),
            acked_at: num(c, 20),
            acked_utc: col(c, 21).into(),
            verdict: col(c, 23).into(),
        }
    }

    fn colour(&self) -> &'static str {
        match self.verdict.as_str() {
            "honoured" => GREEN,
            "breach" => RED,
            "pending" => BLUE,
            _ => GREY,
        }
    }
}

/// Ticks over `[t0, t1]`: the smallest step among whole UTC quarter
/// hours, hours and days giving at most 8, on multiples of the step.
fn ticks(t0: u64, t1: u64) -> Vec<u64> {
    const STEPS: [u64; 12] = [
        900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800, 2_592_000,
        31_536_000,
    ];
    let span = t1 - t0;
    let step = STEPS
        .into_iter()
        .find(|s| span / s <= 8)
        .unwrap_or(span / 8 + 1);
    let first = t0.div_ceil(step) * step;
    (0..)
        .map(|i| first + i * step)
        .take_while(|t| *t <= t1)
        .collect()
}

/// The timeline of `rows` (at most [`MAX_BARS`]).
fn timeline(rows: &[Row], names: &Names) -> String {
    // The axis spans every window and acknowledgement.
    let t0 = rows
        .iter()
        .flat_map(|r| [Some(r.start), r.acked_at])
        .flatten()
        .min()
        .unwrap_or(0);
    let t1 = rows
        .iter()
        .flat_map(|r| [Some(r.end), r.acked_at])
        .flatten()
        .max()
        .unwrap_or(0)
        .max(t0 + 1);
    let right = W - PAD / 2.0;
    let x = |t: u64| LABEL + (right - LABEL) * (t.clamp(t0, t1) - t0) as f64 / (t1 - t0) as f64;
    let bottom = TOP + ROW * rows.len() as f64;
    let h = bottom + 34.0;
    let title = "curtailment windows and verdicts (UTC)";
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="chart curtailment-timeline" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" role="img" aria-label="{title}"><rect x="0" y="0" width="{W}" height="{h}" fill="#ffffff"/><text x="{PAD}" y="14" font-size="12">{title}</text>"##,
    );
    for t in ticks(t0, t1) {
        let utc = super::sandbox_text::utc_seconds(t);
        let label = if t % 86_400 == 0 {
            &utc[5..10]
        } else {
            &utc[11..16]
        };
        let _ = write!(
            svg,
            r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{bottom}" stroke="#e4e4e4"/><text x="{0:.1}" y="{1:.1}" font-size="10" text-anchor="middle">{label}</text>"##,
            x(t),
            bottom + 12.0,
        );
    }
    let mut lx = LABEL;
    for (name, colour) in [
        ("honoured", GREEN),
        ("breach", RED),
        ("pending", BLUE),
        ("cancelled", GREY),
    ] {
        let _ = write!(
            svg,
            r##"<rect x="{lx}" y="23" width="10" height="10" fill="{colour}"/><text x="{}" y="32" font-size="11">{name}</text>"##,
            lx + 14.0
        );
        lx += 24.0 + 7.0 * name.len() as f64;
    }
    let _ = write!(
        svg,
        r##"<line x1="{lx}" y1="23" x2="{lx}" y2="33" stroke="#000" stroke-width="2"/><text x="{}" y="32" font-size="11">acknowledged</text>"##,
        lx + 5.0
    );
    for (i, r) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let label = if r.site.is_empty() {
            format!("order {}: no site", r.order)
        } else {
            match names.get(&r.site) {
                Some(serial) => format!("order {} · {serial}", r.order),
                None => format!("order {} · site {}", r.order, r.site),
            }
        };
        let _ = write!(
            svg,
            r##"<text x="4" y="{:.1}" font-size="11">{}</text><rect class="curtailment-window" x="{:.1}" y="{y:.1}" width="{:.1}" height="12" fill="none" stroke="#888"><title>order {}: {} to {}</title></rect>"##,
            y + 10.0,
            esc(&label),
            x(r.start),
            (x(r.end) - x(r.start)).max(1.0),
            esc(&r.order),
            esc(&r.start_utc),
            esc(&r.end_utc),
        );
        if r.site.is_empty() {
            continue;
        }
        let (a, b) = r.judged.unwrap_or((r.start, r.end));
        let _ = write!(
            svg,
            r##"<rect class="curtailment-bar" data-order="{}" data-site="{}" data-verdict="{}" x="{:.1}" y="{:.1}" width="{:.1}" height="10" fill="{}"{}><title>order {}, {}: share {} W, used {} Wh{}, {}</title></rect>"##,
            esc(&r.order),
            esc(&r.site),
            esc(&r.verdict),
            x(a),
            y + 1.0,
            (x(b) - x(a)).max(1.0),
            r.colour(),
            if r.verdict == "none" {
                r#" fill-opacity="0.4""#
            } else {
                ""
            },
            esc(&r.order),
            site_label(names, &r.site),
            esc(&r.share),
            esc(&r.used),
            if r.allowed.is_empty() {
                String::new()
            } else {
                format!(", allowed {} Wh", esc(&r.allowed))
            },
            esc(&r.verdict),
        );
        if let Some(t) = r.acked_at {
            let _ = write!(
                svg,
                r##"<line class="curtailment-ack" x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#000" stroke-width="2"><title>acknowledged {3}</title></line>"##,
                x(t),
                y - 1.0,
                y + 13.0,
                esc(&r.acked_utc),
            );
        }
    }
    let ly = h - 4.0;
    let _ = write!(
        svg,
        r##"<text x="{LABEL}" y="{ly}" font-size="10">{}</text><text x="{right}" y="{ly}" font-size="10" text-anchor="end">{}</text></svg>"##,
        super::sandbox_text::utc_seconds(t0),
        super::sandbox_text::utc_seconds(t1),
    );
    svg
}

/// A table with a header; `rows` are already escaped cells.
fn table(class: &str, header: &[&str], rows: &[Vec<String>]) -> String {
    let mut t = format!("<table class=\"sandbox {class}\"><thead><tr>");
    for h in header {
        let _ = write!(t, "<th>{h}</th>");
    }
    t.push_str("</tr></thead><tbody>");
    for r in rows {
        t.push_str("<tr>");
        for c in r {
            let _ = write!(t, "<td>{c}</td>");
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    t
}

fn more(body: &mut String, total: usize, file: &str, what: &str) {
    if total > MAX_ROWS {
        let _ = write!(body, "<p>{} more {what} in {file}.</p>", total - MAX_ROWS);
    }
}

/// The page's sandbox section; empty for a chain without permits,
/// orders or breaches. Sites are named by `names` (id to serial). Its
/// counts: the timeline's bars, those judged, and the breaches table's
/// rows.
pub fn section(dir: &Path, names: &Names) -> std::io::Result<Part> {
    let mut orders: Vec<Row> = Vec::new();
    let mut order_rows = 0usize;
    read_csv(&dir.join("curtailments.csv"), |c| {
        order_rows += 1;
        if orders.len() < MAX_ROWS.max(MAX_BARS) {
            orders.push(Row::new(c));
        }
    })?;
    let mut usage: BTreeMap<String, Vec<String>> = BTreeMap::new();
    read_csv(&dir.join("permit_usage.csv"), |c| {
        let cell = format!(
            "{}: {}{} Wh{}",
            esc(col(c, 1)),
            esc(col(c, 2)),
            if col(c, 3).is_empty() {
                String::new()
            } else {
                format!(" / {}", esc(col(c, 3)))
            },
            if col(c, 4) == "true" {
                " <strong>over quota</strong>"
            } else {
                ""
            }
        );
        usage.entry(col(c, 0).to_string()).or_default().push(cell);
    })?;
    let mut permits: Vec<Vec<String>> = Vec::new();
    let mut permit_rows = 0usize;
    read_csv(&dir.join("permits.csv"), |c| {
        permit_rows += 1;
        if permits.len() < MAX_ROWS {
            let status = match col(c, 14) {
                "" => esc(col(c, 3)),
                reason => format!("{} ({})", esc(col(c, 3)), esc(reason)),
            };
            permits.push(vec![
                site_label(names, col(c, 0)),
                esc(col(c, 1)),
                esc(col(c, 2)),
                status,
                esc(col(c, 4)),
                esc(col(c, 6)),
                esc(col(c, 8)),
                esc(col(c, 9)),
                format!(
                    "<span class=\"t\">{}</span>",
                    esc(&col(c, 11).replace('T', " "))
                ),
                usage
                    .get(col(c, 0))
                    .map(|u| u.join("<br>"))
                    .unwrap_or_default(),
            ]);
        }
    })?;
    let mut breaches: Vec<Vec<String>> = Vec::new();
    let mut breach_rows = 0usize;
    read_csv(&dir.join("breaches.csv"), |c| {
        breach_rows += 1;
        if breaches.len() < MAX_ROWS {
            let at = match (col(c, 5), col(c, 6)) {
                (s, _) if !s.is_empty() => format!("reading {}", esc(s)),
                (_, o) if !o.is_empty() => format!("order {}", esc(o)),
                _ => String::new(),
            };
            breaches.push(vec![
                esc(col(c, 0)),
                site_label(names, col(c, 2)),
                esc(col(c, 3)),
                esc(col(c, 4)),
                at,
                esc(col(c, 8)),
                format!("<span class=\"detail\">{}</span>", esc(col(c, 9))),
            ]);
        }
    })?;
    let shown = orders.len().min(MAX_BARS);
    let bars = orders[..shown].iter().filter(|r| !r.site.is_empty());
    let mut part = Part {
        attrs: vec![
            ("data-curtailment-bars", bars.clone().count()),
            (
                "data-curtailment-judged",
                bars.filter(|r| r.verdict == "honoured" || r.verdict == "breach")
                    .count(),
            ),
            ("data-sandbox-breaches", breaches.len()),
        ],
        total: breach_rows,
        ..Part::default()
    };
    if order_rows == 0 && permit_rows == 0 && breach_rows == 0 {
        return Ok(part);
    }
    let mut body = String::from("<h2>Sandbox: permits and curtailment</h2><p>Recomputed by the auditor's own model of permits and orders from the chain's transactions; every breach and verdict below matched the chain's events.</p>");
    body.push_str("<h3>Curtailment timeline</h3>");
    if orders.is_empty() {
        body.push_str("<p>No curtailment orders.</p>");
    } else {
        body.push_str(&timeline(&orders[..shown], names));
        if order_rows > shown {
            let _ = write!(
                body,
                "<p>The first {shown} of {order_rows} rows are drawn; all are in curtailments.csv.</p>"
            );
        }
        let rows: Vec<Vec<String>> = orders
            .iter()
            .take(MAX_ROWS)
            .map(|r| {
                vec![
                    esc(&r.order),
                    esc(&r.target),
                    format!(
                        "<span class=\"t\">{}</span><br><span class=\"t\">{}</span>",
                        esc(&r.start_utc.replace('T', " ")),
                        esc(&r.end_utc.replace('T', " "))
                    ),
                    esc(&r.state),
                    site_label(names, &r.site),
                    esc(&r.share),
                    esc(&r.used),
                    esc(&r.allowed),
                    format!(
                        "<span class=\"t\">{}</span>",
                        esc(&r.acked_utc.replace('T', " "))
                    ),
                    format!(
                        "<span style=\"color:{}\">{}</span>",
                        r.colour(),
                        esc(&r.verdict)
                    ),
                ]
            })
            .collect();
        body.push_str(&table(
            "curtailments",
            &[
                "order",
                "target",
                "window (UTC)",
                "state",
                "site",
                "share W",
                "used Wh",
                "allowed Wh",
                "acknowledged (UTC)",
                "verdict",
            ],
            &rows,
        ));
        more(&mut body, order_rows, "curtailments.csv", "rows");
    }
    body.push_str("<h3>Permits and monthly usage</h3>");
    if permits.is_empty() {
        body.push_str("<p>No permits.</p>");
    } else {
        body.push_str(&table(
            "permits",
            &[
                "site",
                "zone",
                "feeder",
                "status",
                "max power W",
                "months",
                "hours (UTC)",
                "quota Wh / month",
                "expires (UTC)",
                "usage per UTC month (used / quota)",
            ],
            &permits,
        ));
        more(&mut body, permit_rows, "permits.csv", "sites");
    }
    body.push_str("<h3 id=\"sandbox-breaches\">Permit and curtailment breaches</h3>");
    if breaches.is_empty() {
        body.push_str("<p>None.</p>");
    } else {
        body.push_str(&table(
            "sandbox-breaches",
            &[
                "height",
                "site",
                "kind",
                "reason",
                "reading or order",
                "month",
                "detail",
            ],
            &breaches,
        ));
        more(&mut body, breach_rows, "breaches.csv", "breaches");
    }
    part.html = body;
    Ok(part)
}
