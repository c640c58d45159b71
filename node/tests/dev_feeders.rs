//! The feeders of `watt dev` (SPEC section 11) against the real binary:
//! with `--tap-at 1` an unregistered 300 kW load runs on the ridge feeder
//! from the chain's second hour for three hours. After two unexplained
//! hours the chain raises an `unexplainedLoad` alert on DEV-1/RIDGE and on
//! no other feeder; once an hour balances again the simulated regulator
//! clears it. Judged from what `grid_subscribeAlerts` pushed over
//! WebSocket, the chain's events (`audit_getEvents`), the terminal, and an
//! audit of the chain whose report shows the alert (headless Chromium).
//! Runs in the `processes` group (.config/nextest.toml).

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use watt_rpc_client::api::GridApiClient;
use watt_rpc_client::jsonrpsee::ws_client::WsClientBuilder;
use watt_rpc_client::types::RpcEvent;
use watt_test_support::{rpc_call_raw, wait_for, watt_command, Chromium};

#[path = "common/dev.rs"]
mod dev;

use dev::Dev;

/// Follows `grid_subscribeAlerts` on a thread of its own; the events pushed.
fn follow_alerts(addr: &str) -> Arc<Mutex<Vec<RpcEvent>>> {
    let pushed = Arc::new(Mutex::new(Vec::new()));
    let sink = pushed.clone();
    let url = format!("ws://{addr}");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let ws = WsClientBuilder::default().build(url).await.unwrap();
            let mut sub = GridApiClient::subscribe_alerts(&ws).await.unwrap();
            ready_tx.send(()).unwrap();
            while let Some(Ok(e)) = sub.next().await {
                sink.lock().unwrap().push(e);
            }
        });
    });
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("subscribed to grid alerts");
    pushed
}

/// The events of these kinds in the last 10,000 heights (one page).
fn events(addr: &str, kinds: &[&str]) -> Vec<Value> {
    let r = rpc_call_raw(addr, "audit_getEvents", json!([{ "kinds": kinds }]));
    assert!(r["result"]["nextCursor"].is_null(), "one page: {r}");
    r["result"]["events"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|e| e["event"].clone())
        .collect()
}

fn of(evs: &[Value], feeder: &str) -> Vec<Value> {
    evs.iter()
        .filter(|e| e["feeder"] == feeder)
        .cloned()
        .collect()
}

#[test]
fn watt_dev_flags_the_load_tapped_into_the_ridge_feeder_only() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("chain");
    let dev = Dev::start(
        &base,
        &["--speed", "600", "--block-time", "200ms", "--tap-at", "1"],
    );
    let start = Instant::now();
    let addr = wait_for("the RPC address", Duration::from_secs(30), || {
        dev.rpc_addr()
    });
    let pushed = follow_alerts(&addr);
    // The alert opens when the tap's second hour closes (08:00 plus the
    // grace, 4 chain hours in) and is cleared after the first balanced
    // hour closes (about 6 chain hours in: 36 s at 600x).
    let cleared = loop {
        let c = of(&events(&addr, &["feederAlertCleared"]), "DEV-1/RIDGE");
        if !c.is_empty() {
            break c;
        }
        assert!(
            start.elapsed() < Duration::from_secs(75),
            "no alert cleared within 75 s; output: {:?}",
            dev.stdout.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let alerts = events(&addr, &["unexplainedLoad"]);
    let ridge = of(&alerts, "DEV-1/RIDGE");
    assert!(!ridge.is_empty(), "{alerts:?}");
    assert_eq!(
        ridge.len(),
        alerts.len(),
        "only the ridge feeder: {alerts:?}"
    );
    let first = &ridge[0];
    assert_eq!(first["hours"], 2, "{first}");
    let wh: u64 = first["unexplained"].as_str().unwrap().parse().unwrap();
    assert!(
        (500_000..700_000).contains(&wh),
        "two tapped hours: {first}"
    );
    assert_eq!(cleared[0]["fromHour"], first["fromHour"], "{cleared:?}");
    // The other feeder was judged all along: balanced hours, never an
    // unexplained one.
    let balances = events(&addr, &["feederBalance"]);
    let north = of(&balances, "DEV-1/NORTH");
    let balanced = north.iter().filter(|e| e["status"] == "balanced").count();
    assert!(balanced >= 4, "{balances:?}");
    assert!(
        north.iter().all(|e| e["status"] != "unexplained"),
        "{north:?}"
    );
    // The subscription pushed the same alert, for the ridge feeder only.
    let pushed = pushed.lock().unwrap().clone();
    let kinds: Vec<(String, String)> = pushed
        .iter()
        .map(|e| {
            let v = serde_json::to_value(&e.event).unwrap();
            (
                v["kind"].as_str().unwrap_or_default().to_string(),
                v["feeder"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("unexplainedLoad".into(), "DEV-1/RIDGE".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("feederAlertCleared".into(), "DEV-1/RIDGE".into())),
        "{kinds:?}"
    );
    assert!(
        !kinds
            .iter()
            .any(|(k, f)| k == "unexplainedLoad" && f != "DEV-1/RIDGE"),
        "{kinds:?}"
    );
    let chain_id = rpc_call_raw(&addr, "system_chainId", json!([]))["result"]
        .as_str()
        .unwrap()
        .to_string();
    // The terminal says so.
    assert!(dev.has(|l| l.contains("ALERT    DEV-1/RIDGE unexplained load: 2 hours")));
    assert!(dev.has(|l| l.contains("CLEARED  DEV-1/RIDGE alert")));
    assert!(dev.has(|l| l.contains("feeder   DEV-1/NORTH") && l.ends_with("balanced")));
    assert!(!dev.has(|l| l.contains("ALERT    DEV-1/NORTH")));
    dev.stop();
    // Everything it did re-executes from genesis to the same state.
    let out = watt_command()
        .args(["chain", "verify", "--base-path"])
        .arg(&base)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The audit replays it and its report shows the alert.
    let report = dir.path().join("report");
    let out = watt_command()
        .args(["audit", "--source"])
        .arg(&base)
        .args(["--chain-id", &chain_id, "--out"])
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
    let feeders = json["feeders"].as_array().expect("feeders in the report");
    let ridge = feeders
        .iter()
        .find(|f| f["feeder"] == "DEV-1/RIDGE")
        .expect("the ridge feeder");
    let opened = ridge["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["event"] == "opened")
        .unwrap_or_else(|| panic!("{ridge}"));
    assert_eq!(opened["fromHour"], first["fromHour"], "{opened}");
    let north = feeders
        .iter()
        .find(|f| f["feeder"] == "DEV-1/NORTH")
        .expect("the north feeder");
    assert!(north["alerts"].as_array().unwrap().is_empty(), "{north}");
    let page = Chromium::new().open(&report.join("report.html"));
    assert!(page.count("data-feeder-alerts") >= 1, "the alerts table");
    assert!(page.html.contains("DEV-1/RIDGE"));
}
