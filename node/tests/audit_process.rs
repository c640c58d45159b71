//! The auditor against real `watt` processes: a `watt dev` chain audited
//! from its data directory, an export file and a full node's RPC gives one
//! report, which agrees with the node's own `credits_getSupply` and site
//! states; the HTML report renders in headless Chromium without errors,
//! with a chart for every feeder that has closed hours.
//! (Nextest runs these in the `processes` group, one at a time.)

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use watt_test_support::watt_command as watt;
use watt_test_support::Chromium;

#[path = "common/page.rs"]
mod page;

/// A running `watt` with its output lines collected.
struct Proc {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn start(args: &[&str]) -> Proc {
        let mut child = watt()
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("watt starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for r in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    out.lock().unwrap().push(line);
                }
            });
        }
        Proc { child, lines }
    }

    /// Waits (bounded) for a line for which `f` gives a value.
    fn wait_for<T>(&self, what: &str, f: impl Fn(&str) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = self.lines.lock().unwrap().iter().find_map(|l| f(l)) {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "no {what} within 120 s: {:?}",
                self.lines.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn blocks(&self) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("block finalized"))
            .count()
    }

    /// SIGINT, then waits (bounded) for a clean exit.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "watt exits cleanly: {status}");
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "watt did not stop"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One JSON-RPC call; the `result`.
fn rpc(addr: &str, method: &str, params: &str) -> serde_json::Value {
    let params = serde_json::from_str(params).expect("params are JSON");
    watt_test_support::rpc_call_raw(addr, method, params)["result"].clone()
}

fn run_ok(args: &[&str]) -> String {
    let out = watt().args(args).output().expect("watt runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "watt {args:?}: {text}");
    text
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

/// A `watt dev` chain audited three ways gives one report, and the report
/// agrees with what the node itself says over RPC.
#[test]
fn audit_of_a_dev_chain_agrees_with_the_node_from_every_source() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dev = Proc::start(&[
        "dev",
        "--rpc-addr",
        "127.0.0.1:0",
        "--base-path",
        p(&data),
        "--speed",
        "600",
        "--block-time",
        "100ms",
    ]);
    let addr = dev.wait_for("RPC address", |l| {
        l.trim()
            .strip_prefix("rpc")
            .and_then(|r| r.trim().strip_prefix("http://"))
            .and_then(|r| r.split_whitespace().next())
            .map(str::to_string)
    });
    // `watt dev` prints the audit command with its chain id.
    let chain_id = rpc(&addr, "system_chainId", "[]")
        .as_str()
        .unwrap()
        .to_string();
    let audit_line = dev.wait_for("the audit command", |l| {
        l.contains("watt audit --source").then(|| l.to_string())
    });
    assert!(
        audit_line.contains(&format!("--chain-id {chain_id}")),
        "{audit_line}"
    );
    let start = Instant::now();
    while dev.blocks() < 150 {
        assert!(start.elapsed() < Duration::from_secs(120), "too few blocks");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The genesis document, for running a full node over the directory.
    let genesis = rpc(&addr, "chain_getGenesis", "[]")["genesis"].clone();
    let genesis_file = tmp.path().join("genesis.json");
    std::fs::write(&genesis_file, serde_json::to_vec_pretty(&genesis).unwrap()).unwrap();
    dev.stop();

    let r_dir = tmp.path().join("r-dir");
    let out = run_ok(&[
        "audit",
        "--source",
        p(&data),
        "--chain-id",
        &chain_id,
        "--out",
        p(&r_dir),
    ]);
    assert!(out.contains("audit passed"), "{out}");
    assert!(
        out.contains("the stored current state equals the replayed one"),
        "{out}"
    );
    // Progress goes to a pipe as plain lines.
    assert!(out.contains("audit: height"), "{out}");

    let file = tmp.path().join("chain.wexp");
    run_ok(&["chain", "export", "--base-path", p(&data), p(&file)]);
    let r_file = tmp.path().join("r-file");
    run_ok(&[
        "audit",
        "--source",
        p(&file),
        "--chain-id",
        &chain_id,
        "--out",
        p(&r_file),
        "--quiet",
    ]);

    // A full node (no validator key, no peers) serves the same chain.
    let full = Proc::start(&[
        "run",
        "--base-path",
        p(&data),
        "--genesis",
        p(&genesis_file),
        "--rpc-addr",
        "127.0.0.1:0",
    ]);
    let addr = full.wait_for("RPC address", |l| {
        l.contains("JSON-RPC listening").then(|| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("addr="))
                .map(str::to_string)
        })?
    });
    let r_rpc = tmp.path().join("r-rpc");
    run_ok(&[
        "audit",
        "--source",
        &format!("ws://{addr}"),
        "--chain-id",
        &chain_id,
        "--out",
        p(&r_rpc),
        "--quiet",
    ]);
    let supply = rpc(&addr, "credits_getSupply", "[]");
    let sites = rpc(&addr, "sites_list", "[]");
    let can_run: Vec<serde_json::Value> = (1..=2)
        .map(|s| rpc(&addr, "sites_canRun", &format!("[{s}]")))
        .collect();
    full.stop();

    for name in [
        "report.json",
        "report.html",
        "zones.csv",
        "sites.csv",
        "meters.csv",
        "hourly.csv",
        "lineage_consumption.csv",
        "lineage_vintages.csv",
        "debts.csv",
        "violations.csv",
        "feeders.csv",
        "feeder_hours.csv",
        "feeder_alerts.csv",
    ] {
        let a = std::fs::read(r_dir.join(name)).unwrap();
        assert_eq!(
            a,
            std::fs::read(r_file.join(name)).unwrap(),
            "{name}: directory vs file"
        );
        assert_eq!(
            a,
            std::fs::read(r_rpc.join(name)).unwrap(),
            "{name}: directory vs RPC"
        );
    }

    let r = report(&r_dir);
    assert_eq!(r["chain"]["height"], supply["height"]);
    let zones = supply["zones"].as_array().unwrap();
    assert_eq!(zones.len(), r["zones"].as_array().unwrap().len());
    for (ours, theirs) in r["zones"].as_array().unwrap().iter().zip(zones) {
        for f in [
            "minted",
            "held",
            "burned",
            "retired",
            "withdrawn",
            "expired",
        ] {
            assert_eq!(ours[f], theirs[f], "zone {}: {f}", ours["zone"]);
        }
    }
    assert!(
        r["totals"]["minted"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    let list = sites
        .as_array()
        .or_else(|| sites["items"].as_array())
        .unwrap();
    assert_eq!(list.len(), r["sites"].as_array().unwrap().len());
    for (ours, theirs) in r["sites"].as_array().unwrap().iter().zip(list) {
        for f in ["consumed", "burned", "openDebt", "shortfall"] {
            assert_eq!(ours[f], theirs[f], "site {}: {f}", ours["site"]);
        }
    }
    for (ours, theirs) in r["sites"].as_array().unwrap().iter().zip(&can_run) {
        assert_eq!(
            ours["status"], theirs["status"],
            "site {} status",
            ours["site"]
        );
    }

    // The page: the summary's verdict and period, sites by name, dates on
    // the axes, energy with units.
    let html = std::fs::read_to_string(r_dir.join("report.html")).unwrap();
    assert!(
        html.contains("Verified: every block, signature and rule checked"),
        "the verdict"
    );
    assert!(html.contains("<strong>Period:</strong> "), "the period");
    for s in r["sites"].as_array().unwrap() {
        let name = format!("{} (site {})", s["serial"].as_str().unwrap(), s["site"]);
        assert!(html.contains(&name), "{name}");
    }
    assert!(!html.contains(">hour "), "no hour indexes on the axes");
    assert!(html.contains("class=\"tick\""), "axis ticks");
    assert!(html.contains("Wh</text>"), "energy ticks with a unit");

    // A discrepancy exits non-zero and names it.
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() - 7);
    let cut = tmp.path().join("cut.wexp");
    std::fs::write(&cut, bytes).unwrap();
    let out = watt()
        .args(["audit", "--quiet", "--source", p(&cut), "--chain-id"])
        .arg(&chain_id)
        .arg("--out")
        .arg(tmp.path().join("r-cut"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("truncated"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Without a chain to expect, the audit is refused; another chain id
    // is refused by name.
    let out = watt()
        .args(["audit", "--quiet", "--source", p(&file), "--out"])
        .arg(tmp.path().join("r-none"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--chain-id"));
    let other = format!("0x{}", "ab".repeat(32));
    let out = watt()
        .args([
            "audit",
            "--quiet",
            "--source",
            p(&file),
            "--chain-id",
            &other,
        ])
        .arg("--out")
        .arg(tmp.path().join("r-other"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not the expected"), "{err}");

    // Every feeder with closed hours has its chart (at most 100 are drawn).
    let feeder_charts = r["feeders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["hours"].as_array().unwrap().is_empty())
        .count()
        .min(100);
    html_renders_in_chromium(&r_dir.join("report.html"), feeder_charts);
}

/// Opens the page in headless Chromium: no script, no console output,
/// the page's counts as in the DOM, every chart there (`feeder_charts` of
/// them for feeders), the summary first, and chart colours in the
/// screenshot.
fn html_renders_in_chromium(page: &Path, feeder_charts: usize) {
    let chromium = Chromium::new();
    let dom = page::open_report(&chromium, page);
    let summary = dom
        .html
        .find("<section id=\"summary\">")
        .expect("the summary");
    let first_chart = dom.html.find("<svg").expect("a chart");
    assert!(summary < first_chart, "the summary comes first");
    let charts = dom.count("data-charts");
    assert!(charts >= 4, "{charts} charts");
    assert_eq!(
        dom.count("data-feeder-charts"),
        feeder_charts,
        "feeder charts in the DOM"
    );
    let shots = tempfile::tempdir().unwrap();
    let shot: PathBuf = shots.path().join("shot.png");
    chromium.screenshot(page, &shot, 900, 1600);
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let mut green = 0usize;
    let mut red = 0usize;
    for px in buf[..info.buffer_size()].chunks(channels) {
        let (r, g, b) = (px[0] as i32, px[1] as i32, px[2] as i32);
        // The minted line (#2e9e44) and the burned line (#d0342c).
        if (r - 0x2e).abs() < 30 && (g - 0x9e).abs() < 30 && (b - 0x44).abs() < 30 {
            green += 1;
        }
        if (r - 0xd0).abs() < 30 && (g - 0x34).abs() < 30 && (b - 0x2c).abs() < 30 {
            red += 1;
        }
    }
    assert!(
        green > 50 && red > 50,
        "chart pixels: green {green}, red {red}"
    );
}
