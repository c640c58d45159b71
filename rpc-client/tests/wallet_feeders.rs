//! `watt-wallet feeder ...` and `grid alerts` through the real binary
//! against a real `watt dev` node without the simulated community: the
//! dev regulator registers a feeder, attaches a site and a meter, a head
//! meter reading leaves an hour unexplained, the alert is read, watched
//! and cleared, and the head meter is resynced.

mod common;

use common::{chain_now, rpc, wait_chain, Wallet};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};
use watt_genesis::dev_keypair;
use watt_rpc_client::builders::submit_feeder_readings;
use watt_runtime::crypto::Hash;
use watt_runtime::feeder::{FeederId, FeederReading};
use watt_runtime::types::Wh;
use watt_test_support::DevProc;

const FEEDER: &str = "DEV-1/F1";

/// A `watt-wallet ... grid alerts --watch` process and its stdout lines.
struct Watch {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Watch {
    fn start(url: &str, output: &str) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_watt-wallet"))
            .args(["--rpc-url", url, "--output", output])
            .args(["grid", "alerts", "--watch"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("watt-wallet runs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Watch {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (at most 20 s) for a line containing `text`.
    fn expect(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(l) = self.seen.iter().find(|l| l.contains(text)) {
                return l.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no {text:?} in {:#?}", self.seen);
            if let Ok(l) = self.lines.recv_timeout(left) {
                self.seen.push(l);
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The start of an hour the chain is in now, early enough in it that a
/// baseline there stays inside the window (an hour of age) while the
/// transaction lands.
fn whole_hour_soon(node: &DevProc) -> u64 {
    let now = chain_now(node);
    let start = now / 3600 * 3600;
    if now - start < 2400 {
        return start;
    }
    wait_chain(node, start + 3600);
    start + 3600
}

/// Runs `args`, expecting a failure; its stderr.
fn fails(w: &Wallet, args: &[&str], code: i32) -> String {
    let out = w.run("correct horse", args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    err
}

/// `feeder clear-alert` of the feeder with `reason`.
fn clear(reason: &str) -> Vec<&str> {
    let args = ["feeder", "clear-alert", "--from", "dev-regulator", FEEDER];
    [&args[..], &["--reason", reason]].concat()
}

/// The arguments as `&str`.
fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// UTC `YYYY-MM-DDTHH:00Z` of a unix time on a whole hour.
fn utc(unix_s: u64) -> String {
    let (y, m, d) = watt_runtime::types::civil_from_days((unix_s / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:00Z", unix_s % 86_400 / 3600)
}

#[test]
fn a_regulator_registers_a_feeder_and_reads_its_balance_and_alerts() {
    let node = DevProc::start();
    let w = Wallet::new(&node.url);
    w.import_dev("dev-regulator");
    w.import_dev("dev-valley-coop");
    let head_key = format!("0x{}", hex::encode(dev_keypair("wf-head").public().0));

    // Mistakes are refused before anything is signed, naming the field.
    let err = fails(&w, &["feeder", "status", "dev-1/f1"], 2);
    assert!(
        err.contains("<FEEDER>") && err.contains("2 to 24 characters of A-Z"),
        "{err}"
    );
    let err = fails(&w, &["feeder", "status", "NOPE-1"], 1);
    assert!(err.contains("no feeder NOPE-1"), "{err}");
    let err = fails(&w, &["feeder", "balance", "NOPE-1"], 1);
    assert!(err.contains("no feeder NOPE-1"), "{err}");
    let err = fails(
        &w,
        &["feeder", "clear-alert", "--from", "dev-regulator", FEEDER],
        2,
    );
    assert!(err.contains("--reason"), "{err}");
    let err = fails(&w, &clear(" "), 1);
    assert!(err.contains("--reason: must not be blank"), "{err}");
    let register = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "feeder",
            "register",
            "--from",
            "dev-regulator",
            "--id",
            FEEDER,
            "--zone",
            "DEV-1",
            "--rated-capacity-w",
            "1000000",
            "--alert-hours",
            "1",
            "--alert-floor",
            "100",
            "--loss-permille",
            "30",
        ]
        .map(String::from)
        .into();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let bad_key = register(&["--head-key", "0x12", "--baseline-time", "3600"]);
    let err = fails(&w, &strs(&bad_key), 1);
    assert!(err.contains("--head-key must be 0x and 32 bytes"), "{err}");
    let off_hour = register(&["--head-key", &head_key, "--baseline-time", "3601"]);
    let err = fails(&w, &strs(&off_hour), 1);
    assert!(
        err.contains("--baseline-time: 3601 is not on a whole UTC hour"),
        "{err}"
    );
    let mut too_much = register(&["--head-key", &head_key, "--baseline-time", "3600"]);
    too_much.extend(["--mining-share-permille".into(), "1001".into()]);
    let err = fails(&w, &strs(&too_much), 1);
    assert!(
        err.contains("--mining-share-permille: must be at most 1000"),
        "{err}"
    );

    // Register, baselined on a whole hour.
    let b0 = whole_hour_soon(&node);
    let args = register(&["--head-key", &head_key, "--baseline-time", &b0.to_string()]);
    w.json(&strs(&args));
    let listed = w.json(&["feeder", "list"]);
    assert_eq!(listed[0]["id"], FEEDER, "{listed}");
    let text = w.ok(&["feeder", "list"]);
    assert!(
        text.starts_with("DEV-1/F1") && text.contains(" ok "),
        "{text}"
    );
    let status = w.ok(&["feeder", "status", FEEDER]);
    assert!(
        status.contains("feeder DEV-1/F1 in zone DEV-1: ok"),
        "{status}"
    );
    assert!(status.contains("no reading yet"), "{status}");

    // Attach site 1 from the next hour (refused if the hour turns first:
    // then once more), and meter 1 from an hour given as a UTC time.
    let attach = |how: &[&str]| {
        let mut a = vec!["feeder", "attach", "--from", "dev-regulator", FEEDER];
        a.extend_from_slice(how);
        w.run("correct horse", &a)
    };
    let mut out = attach(&["--site", "1", "--next-hour"]);
    if String::from_utf8_lossy(&out.stderr).contains("at the earliest") {
        out = attach(&["--site", "1", "--next-hour"]);
    }
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("attaching site 1 to DEV-1/F1 from "),
        "{said}"
    );
    let later = utc(b0 + 3 * 3600);
    let out = attach(&["--meter", "1", "--from-hour", &later]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = fails(
        &w,
        &[
            "feeder",
            "attach",
            "--from",
            "dev-regulator",
            FEEDER,
            "--site",
            "1",
        ],
        2,
    );
    assert!(
        err.contains("--from-hour") && err.contains("--next-hour"),
        "{err}"
    );

    // Both watchers follow from here.
    let mut watch_text = Watch::start(&node.url, "text");
    let mut watch_json = Watch::start(&node.url, "json");

    // The head meter's hour: 10 kWh in, nothing else metered.
    wait_chain(&node, b0 + 3600 - 20);
    let chain_id = rpc(&node, "system_chainId", Value::Null);
    let chain_id = Hash::from_hex(chain_id.as_str().unwrap()).unwrap();
    let reading = FeederReading {
        feeder: FeederId::new(FEEDER).unwrap(),
        sequence: 1,
        period_start: b0,
        period_end: b0 + 3600,
        import: Wh(10_000),
        export: Wh(0),
        flags: 0,
    }
    .sign(&chain_id, &dev_keypair("wf-head"));
    let body = watt_rpc_client::view::Body::from(submit_feeder_readings(vec![reading]).unwrap());
    let body = serde_json::to_string(&body).unwrap();
    w.json(&["send", "--from", "dev-valley-coop", "--body", &body]);
    let status = w.ok(&["feeder", "status", FEEDER]);
    assert!(status.contains("reading #1, counted up to"), "{status}");

    // The hour closes unexplained: 10 kWh less 3% losses, and with one
    // hour to go the alert opens.
    let alert = watch_text.expect("alert: 9.700 kWh unexplained over 1 h");
    assert!(alert.starts_with('#') && alert.contains(FEEDER), "{alert}");
    watch_text
        .expect("UTC unexplained: 9.700 kWh unexplained (in kWh: import 10.000, export 0.000");
    let line = watch_json.expect("\"unexplainedLoad\"");
    let event: Value = serde_json::from_str(&line).expect("one JSON event per line");
    assert_eq!(event["event"]["unexplained"], "9700", "{event}");
    let alerts = w.ok(&["grid", "alerts"]);
    assert!(
        alerts.contains("9.700 kWh unexplained over 1 h"),
        "{alerts}"
    );
    assert_eq!(
        w.json(&["grid", "alerts", "--zone", "DEV-1"])[0]["feeder"],
        FEEDER
    );
    let none = w.ok(&["grid", "alerts", "--zone", "DEV-2"]);
    assert_eq!(none.trim(), "no open alerts in zone DEV-2");
    let status = w.ok(&["feeder", "status", FEEDER]);
    assert!(status.contains("in zone DEV-1: alert"), "{status}");
    assert!(
        status.contains("9.700 kWh unexplained over 1 h"),
        "{status}"
    );

    // The balance, by UTC hour.
    let hour0 = utc(b0);
    let table = w.ok(&[
        "feeder", "balance", FEEDER, "--from", &hour0, "--to", &hour0,
    ]);
    let row = table
        .lines()
        .find(|l| l.starts_with(&hour0[..10]))
        .unwrap_or_else(|| panic!("no row for {hour0}: {table}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[2..],
        [
            "10.000",
            "0.000",
            "0.000",
            "0.000",
            "0.000",
            "0.300",
            "9.700",
            "unexplained"
        ],
        "{table}"
    );
    assert!(table.contains(": 1 closed hour from"), "{table}");
    let json = w.json(&["feeder", "balance", FEEDER, "--since", "24h"]);
    let hours = json["hours"].as_array().unwrap();
    assert_eq!(hours[0]["hour"], b0 / 3600, "{json}");
    assert_eq!(hours[0]["unexplained"], "9700", "{json}");
    assert_eq!(hours[0]["status"], "unexplained", "{json}");
    let err = fails(
        &w,
        &[
            "feeder",
            "balance",
            FEEDER,
            "--from",
            "2026-01-02",
            "--to",
            "2026-01-01",
        ],
        1,
    );
    assert!(err.contains("--to 2026-01-01 00:00 is before"), "{err}");

    // The regulator clears it, with a reason.
    w.json(&clear("meter below the head replaced"));
    assert_eq!(w.ok(&["grid", "alerts"]).trim(), "no open alerts");
    watch_text.expect("alert cleared (");
    watch_json.expect("\"feederAlertCleared\"");
    let status = w.ok(&["feeder", "status", FEEDER]);
    assert!(status.contains("in zone DEV-1: ok"), "{status}");

    // The head meter comes back on a new baseline.
    let b1 = whole_hour_soon(&node).to_string();
    let resync = [
        "feeder",
        "resync",
        "--from",
        "dev-regulator",
        FEEDER,
        "--baseline-time",
        &b1,
        "--import",
        "12kWh",
        "--export",
        "0",
    ];
    w.json(&resync);
    let f = w.json(&["feeder", "status", FEEDER]);
    assert_eq!(f["headLastEnd"].as_u64().unwrap().to_string(), b1, "{f}");
}
