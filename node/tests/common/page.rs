//! The audit report in headless Chromium, for the tests that render it
//! (`#[path]`-included by audit_feeders, audit_sandbox and audit_process):
//! the page opens with no script error and no console output (a script
//! or inline handler the page's Content-Security-Policy blocks is logged
//! to the console), holds no script and no chain markup as elements, and
//! every count the writer put on its root element is what Chromium's DOM
//! holds.

use std::path::Path;
use watt_test_support::{Chromium, Page};

/// The rows of the table whose opening tag starts with `open`.
fn table_rows(html: &str, open: &str) -> usize {
    html.split_once(open)
        .and_then(|(_, rest)| rest.split_once("</table>"))
        .map(|(table, _)| table.matches("<tr>").count().saturating_sub(1))
        .unwrap_or(0)
}

/// Opens `report.html` in `chromium` and checks it as above; the DOM.
pub fn open_report(chromium: &Chromium, page: &Path) -> Page {
    let dom = chromium.open(page);
    let html = &dom.html;
    assert!(
        html.contains("http-equiv=\"Content-Security-Policy\"")
            && html.contains("content=\"default-src 'none'; style-src 'unsafe-inline';"),
        "the page's Content-Security-Policy"
    );
    for element in ["<script", "<img", "<iframe", "<object", "<embed"] {
        assert!(!html.contains(element), "{element} in the DOM");
    }
    let bars: Vec<&str> = html
        .split("class=\"curtailment-bar\"")
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or(""))
        .collect();
    for (attr, in_dom) in [
        ("data-charts", html.matches("<svg class=\"chart").count()),
        (
            "data-feeder-charts",
            html.matches("<svg class=\"chart feeder-chart\"").count(),
        ),
        (
            "data-feeder-alerts",
            table_rows(html, "<table class=\"feeder-alerts\">"),
        ),
        ("data-curtailment-bars", bars.len()),
        (
            "data-curtailment-judged",
            bars.iter()
                .filter(|b| {
                    b.contains("data-verdict=\"honoured\"") || b.contains("data-verdict=\"breach\"")
                })
                .count(),
        ),
        (
            "data-sandbox-breaches",
            table_rows(html, "<table class=\"sandbox sandbox-breaches\">"),
        ),
    ] {
        assert_eq!(dom.count(attr), in_dom, "{attr} against the DOM");
    }
    dom
}
