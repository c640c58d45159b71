//! The reference site controller (examples/site-controller) against the
//! real binary: `watt dev --external-site NORTH-MINE` leaves the
//! well-supplied site to the Python controller, and the grid operator
//! curtails DEV-1/NORTH for 30 minutes every two chain hours. Judged on
//! chain, never on timing:
//!
//! * the controller's readings from the first full block after the
//!   window's start draw at most its share, and its verdict is honoured;
//! * CREEK-MINE, whose simulated controller ignores orders, is breached and
//!   suspended;
//! * stopped during the second window, the controller's site stops
//!   reporting and is breached too: a site cannot earn "honoured" by going
//!   quiet;
//! * `watt audit` of the chain reproduces every verdict, and its report's
//!   curtailment timeline shows one judged bar per verdict (headless
//!   Chromium).
//!
//! Runs in the `processes` group (.config/nextest.toml).

#[path = "common/dev.rs"]
mod dev;

use dev::Dev;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use watt_test_support::{rpc_call_raw, wait_for, watt_command, Chromium};

/// The controller as a child process, killed on drop.
struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn controller(site_file: &std::path::Path, addr: &str, log: &std::path::Path) -> Controller {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/site-controller/controller.py"
    );
    let log = std::fs::File::create(log).expect("controller log");
    let child = Command::new("python3")
        .arg(script)
        .arg(site_file)
        // A 90 kW fleet: what the simulated NORTH-MINE draws, so that the
        // coop's credits still cover CREEK-MINE's purchases.
        .args(["--rpc", &format!("http://{addr}"), "--seconds", "120"])
        .args(["--fleet-kw", "90"])
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("python3 runs the controller");
    Controller(child)
}

fn call(addr: &str, method: &str, params: Value) -> Value {
    let r = rpc_call_raw(addr, method, params);
    assert!(r["error"].is_null(), "{method}: {r}");
    r["result"].clone()
}

/// Every event of these kinds so far (one page).
fn events(addr: &str, kinds: &[&str]) -> Vec<Value> {
    let r = call(addr, "audit_getEvents", json!([{ "kinds": kinds }]));
    r["events"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|e| e["event"].clone())
        .collect()
}

fn verdict(addr: &str, order: u64, site: u64) -> Option<Value> {
    events(addr, &["curtailmentVerdict"])
        .into_iter()
        .find(|v| v["order"] == order && v["site"] == site)
}

/// The consumption readings of `site` in blocks up to `height`, in order,
/// each with the time of the block that carried it.
fn readings(addr: &str, site: u64, height: u64) -> Vec<(u64, Value)> {
    let mut out = Vec::new();
    for from in (1..=height).step_by(100) {
        let count = (height + 1 - from).min(100);
        for b in call(addr, "chain_getBlocks", json!([from, count]))
            .as_array()
            .unwrap()
        {
            readings_in(b, site, &mut out);
        }
    }
    out
}

fn readings_in(b: &Value, site: u64, out: &mut Vec<(u64, Value)>) {
    {
        let time_s = b["header"]["timestampMs"].as_u64().unwrap() / 1000;
        for tx in b["transactions"].as_array().into_iter().flatten() {
            let body = &tx["tx"]["unsigned"]["body"];
            if body["type"] != "submitConsumption" {
                continue;
            }
            for r in body["readings"].as_array().unwrap() {
                if r["reading"]["site"] == site {
                    out.push((time_s, r["reading"].clone()));
                }
            }
        }
    }
}

/// A reading's field, by its camelCase or snake_case name.
fn field<'a>(r: &'a Value, camel: &str, snake: &str) -> &'a Value {
    if r[camel].is_null() {
        &r[snake]
    } else {
        &r[camel]
    }
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn the_reference_controller_honours_a_curtailment_and_a_quiet_site_is_breached() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("chain");
    let dev = Dev::start(
        &base,
        &[
            "--speed",
            "600",
            "--block-time",
            "250ms",
            "--no-tap",
            "--curtail-at",
            "2",
            "--curtail-every",
            "2",
            "--curtail-minutes",
            "30",
            "--external-site",
            "NORTH-MINE",
        ],
    );
    let start = Instant::now();
    let addr = wait_for("the RPC address", Duration::from_secs(30), || {
        dev.rpc_addr()
    });
    let site_file = base.join("external-site.json");
    let cfg: Value = wait_for("external-site.json", Duration::from_secs(30), || {
        std::fs::read(&site_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    });
    let site = u(&cfg["site"]);
    let log = dir.path().join("controller.log");
    let mut ctl = Some(controller(&site_file, &addr, &log));
    let show = |what: &str| {
        format!(
            "{what}\ncontroller:\n{}\nwatt dev:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default(),
            dev.stdout.lock().unwrap().join("\n")
        )
    };

    // The first order and its verdicts.
    let ordered = wait_for("the first order", Duration::from_secs(60), || {
        events(&addr, &["curtailmentOrdered"]).into_iter().next()
    });
    let order = u(&ordered["order"]);
    let share: u64 = ordered["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["site"] == site)
        .map(|s| u(&s["shareW"]))
        .unwrap_or_else(|| panic!("{}", show(&format!("no share for {site}: {ordered}"))));
    let (w_start, w_end) = (u(&ordered["start"]), u(&ordered["end"]));
    let mine = loop {
        if let Some(v) = verdict(&addr, order, site) {
            break v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(80),
            "{}",
            show("no verdict for the controller's site")
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(mine["honoured"], true, "{}", show(&mine.to_string()));
    assert_eq!(mine["reported"], true, "{mine}");
    // It acknowledged the order, signed by the owner.
    let acks = events(&addr, &["curtailmentAcknowledged"]);
    assert!(
        acks.iter()
            .any(|a| a["order"] == order && a["site"] == site),
        "{}",
        show(&format!("{acks:?}"))
    );
    // Its readings from the first full block after the window's start
    // draw at most the share.
    let height = u(&call(&addr, "chain_getHeader", json!([]))["height"]);
    let rs = readings(&addr, site, height);
    let first_block_after = rs
        .iter()
        .map(|(t, _)| *t)
        .find(|t| *t > w_start)
        .unwrap_or_else(|| panic!("{}", show("no block after the window's start")));
    let mut last_counter: Option<u64> = None;
    let mut checked = 0;
    for (_, r) in &rs {
        let (a, b, counter) = (
            u(field(r, "periodStart", "period_start")),
            u(field(r, "periodEnd", "period_end")),
            u(&r["counter"]),
        );
        if let Some(prev) = last_counter {
            if a >= first_block_after && b <= w_end && b > a {
                let wh = counter - prev;
                assert!(
                    wh * 3600 <= share * (b - a),
                    "reading [{a}, {b}) drew {wh} Wh, above the {share} W share"
                );
                checked += 1;
            }
        }
        last_counter = Some(counter);
    }
    assert!(checked > 0, "{}", show("no reading inside the window"));
    // The site that ignores orders is breached and suspended.
    let creek: Vec<Value> = events(&addr, &["curtailmentVerdict"])
        .into_iter()
        .filter(|v| v["order"] == order && v["site"] != site)
        .collect();
    assert!(
        creek
            .iter()
            .any(|v| v["honoured"] == false && v["reported"] == true),
        "{}",
        show(&format!("{creek:?}"))
    );

    // The second window: the controller stops inside it, and its site is
    // breached for not reporting.
    let second = wait_for("the second order", Duration::from_secs(40), || {
        events(&addr, &["curtailmentOrdered"])
            .into_iter()
            .find(|o| {
                u(&o["order"]) > order
                    && o["shares"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|s| s["site"] == site)
            })
    });
    let order2 = u(&second["order"]);
    let start2 = u(&second["start"]);
    wait_for("the second window to open", Duration::from_secs(40), || {
        let head = call(&addr, "chain_getHeader", json!([]));
        (u(&head["timestampMs"]) / 1000 > start2 + 60).then_some(())
    });
    drop(ctl.take());
    let quiet = wait_for("the second verdict", Duration::from_secs(60), || {
        verdict(&addr, order2, site)
    });
    assert_eq!(quiet["reported"], false, "{}", show(&quiet.to_string()));
    assert_eq!(quiet["honoured"], false, "{quiet}");
    let status = call(&addr, "sites_canRun", json!([site]));
    assert_eq!(status["reason"], "suspendedCurtailmentBreach", "{status}");
    assert_eq!(status["maxPowerW"], "0", "{status}");
    let chain_id = call(&addr, "system_chainId", json!([]));
    let verdicts = events(&addr, &["curtailmentVerdict"]);
    dev.stop();

    // The audit replays the chain, recomputes every verdict on its own
    // model (it fails on any difference) and draws the timeline.
    let report = dir.path().join("report");
    let out = watt_command()
        .args(["audit", "--source"])
        .arg(&base)
        .args(["--chain-id", chain_id.as_str().unwrap(), "--out"])
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    let judged: Vec<(u64, u64, String)> = json["curtailments"]
        .as_array()
        .expect("curtailments in the report")
        .iter()
        .flat_map(|o| {
            let order = u(&o["order"]);
            o["sites"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["verdict"] == "honoured" || r["verdict"] == "breach")
                .map(move |r| {
                    (
                        order,
                        u(&r["site"]),
                        r["verdict"].as_str().unwrap().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let on_chain: Vec<(u64, u64, String)> = verdicts
        .iter()
        .map(|v| {
            let verdict = if v["honoured"] == true {
                "honoured"
            } else {
                "breach"
            };
            (u(&v["order"]), u(&v["site"]), verdict.to_string())
        })
        .collect();
    assert_eq!(judged, on_chain, "the audit's verdicts are the chain's");
    let page = Chromium::new().open(&report.join("report.html"));
    assert_eq!(
        page.count("data-curtailment-judged"),
        on_chain.len(),
        "timeline bars"
    );
    assert!(page.html.contains("curtailment-timeline"));
}
