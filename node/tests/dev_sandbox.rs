//! The regulator's sandbox in `watt dev` (SPEC section 11) against the real
//! binary. With `--curtail-at 2` the grid operator curtails DEV-1/NORTH
//! from the chain's third hour for an hour (07:00-08:00 UTC on a chain
//! made at 05:00): the dev sites hold permits on their feeders; the order
//! shares 30 kW between NORTH-MINE (20 kW) and CREEK-MINE (10 kW);
//! NORTH-MINE acknowledges it and keeps to its share (honoured); CREEK-MINE
//! ignores it and is suspended for a curtailment breach, until the
//! regulator reinstates it three hours after the verdict; RIDGE-MINE's
//! permit runs out two hours after the window starts and it draws nothing
//! from then on. Judged from the chain's events (`audit_getEvents`),
//! `sites_canRun` and `sites_get` at the verdict's height, the terminal,
//! and a replay of the chain. A second, short run with `--external-site
//! NORTH-MINE` checks the file handed to an outside controller. Runs in the
//! `processes` group (.config/nextest.toml).

#[path = "common/dev.rs"]
mod dev;

use dev::Dev;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use watt_runtime::crypto::Keypair;
use watt_test_support::{rpc_call_raw, wait_for, watt_command};

/// `watt dev` at 600x with 200 ms blocks and no tapped load, plus `args`.
fn start(base: &std::path::Path, args: &[&str]) -> Dev {
    let mut all = vec!["--speed", "600", "--block-time", "200ms", "--no-tap"];
    all.extend_from_slice(args);
    Dev::start(base, &all)
}

/// The events of these kinds in the last 10,000 heights (one page), with
/// their heights.
fn events(addr: &str, kinds: &[&str]) -> Vec<(u64, Value)> {
    let r = rpc_call_raw(addr, "audit_getEvents", json!([{ "kinds": kinds }]));
    assert!(r["result"]["nextCursor"].is_null(), "one page: {r}");
    r["result"]["events"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|e| (e["height"].as_u64().unwrap(), e["event"].clone()))
        .collect()
}

fn of_site(evs: &[(u64, Value)], site: u64) -> Vec<(u64, Value)> {
    evs.iter()
        .filter(|(_, e)| e["site"] == site)
        .cloned()
        .collect()
}

fn call(addr: &str, method: &str, params: Value) -> Value {
    let r = rpc_call_raw(addr, method, params);
    r.get("result")
        .cloned()
        .unwrap_or_else(|| panic!("{method}: {r}"))
}

/// Waits (at most until `deadline`) for an event of `kind` about `site`.
fn wait_event(dev: &Dev, addr: &str, kind: &str, site: u64, deadline: Instant) -> (u64, Value) {
    loop {
        if let Some(e) = of_site(&events(addr, &[kind]), site).into_iter().next() {
            return e;
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} for site {site} in time; output: {:?}",
            dev.stdout.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn watt_dev_curtails_the_north_feeder_and_judges_each_site() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("chain");
    let dev = start(&base, &["--curtail-at", "2"]);
    let start = Instant::now();
    let addr = wait_for("the RPC address", Duration::from_secs(30), || {
        dev.rpc_addr()
    });
    // The window ends 3 chain hours in, its verdicts come an hour and the
    // grace later (about 25 s at 600x), the reinstatement three hours
    // after that (about 45 s).
    let deadline = start + Duration::from_secs(75);
    let (verdict_height, _) = wait_event(&dev, &addr, "curtailmentVerdict", 3, deadline);
    let (_, reinstated) = wait_event(&dev, &addr, "siteReinstated", 3, deadline);
    assert!(
        reinstated["reason"]
            .as_str()
            .is_some_and(|r| r.contains("order 1")),
        "{reinstated}"
    );

    // Every dev site holds a permit on its own feeder.
    let permits = events(&addr, &["permitIssued"]);
    let feeder_of = |site: u64| -> Value {
        of_site(&permits, site)
            .first()
            .unwrap_or_else(|| panic!("no permit for site {site}: {permits:?}"))
            .1["feeder"]
            .clone()
    };
    assert_eq!(feeder_of(1), "DEV-1/NORTH");
    assert_eq!(feeder_of(2), "DEV-1/RIDGE");
    assert_eq!(feeder_of(3), "DEV-1/NORTH");
    let sandbox = events(&addr, &["zoneSandboxSet"]);
    assert_eq!(sandbox.len(), 1, "{sandbox:?}");
    assert!(!sandbox[0].1["permitsFrom"].is_null(), "{sandbox:?}");

    // One order on the north feeder, its 30 kW shared by the permits'
    // weights (100 and 50 kW), given before its window.
    let orders = events(&addr, &["curtailmentOrdered"]);
    let (_, order) = orders.first().unwrap_or_else(|| panic!("{orders:?}"));
    assert_eq!(order["target"]["feeder"], "DEV-1/NORTH", "{order}");
    assert_eq!(order["maxMiningW"], "30000", "{order}");
    assert_eq!(
        order["shares"],
        json!([{ "site": 1, "shareW": "20000" }, { "site": 3, "shareW": "10000" }])
    );
    let window_start = order["start"].as_u64().unwrap();
    assert_eq!(order["end"].as_u64().unwrap(), window_start + 3600);

    // NORTH-MINE acknowledged and kept to its share; CREEK-MINE did not.
    let acks = events(&addr, &["curtailmentAcknowledged"]);
    assert_eq!(
        acks.iter()
            .map(|(_, a)| a["site"].clone())
            .collect::<Vec<_>>(),
        vec![json!(1)],
        "{acks:?}"
    );
    let verdicts = events(&addr, &["curtailmentVerdict"]);
    let verdict = |site: u64| of_site(&verdicts, site).first().unwrap().1.clone();
    let north = verdict(1);
    assert_eq!(north["honoured"], true, "{north}");
    assert_eq!(north["reported"], true, "{north}");
    let creek = verdict(3);
    assert_eq!(creek["honoured"], false, "{creek}");
    assert_eq!(creek["reported"], true, "{creek}");
    let used: u64 = creek["used"].as_str().unwrap().parse().unwrap();
    assert!(used > 30_000, "its rigs ran through the window: {creek}");
    let violations = events(&addr, &["violation"]);
    let breaches: Vec<&Value> = violations
        .iter()
        .filter(|(_, v)| v["violation"] == "curtailmentBreach")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(breaches.len(), 1, "{violations:?}");
    assert_eq!(breaches[0]["site"], 3);
    assert!(
        violations
            .iter()
            .all(|(_, v)| v["violation"] != "permitBreach"),
        "no site drew outside its permit: {violations:?}"
    );
    // Suspended for it in the verdict's block.
    let at = json!([3, verdict_height]);
    let can_run = call(&addr, "sites_canRun", at.clone());
    assert_eq!(can_run["maxPowerW"], "0", "{can_run}");
    match can_run.get("reason") {
        Some(reason) => assert_eq!(reason, "suspendedCurtailmentBreach", "{can_run}"),
        None => {
            let site = call(&addr, "sites_get", at);
            assert_eq!(site["anomaly"], "curtailmentBreach", "{site}");
        }
    }
    let now = call(&addr, "sites_get", json!([3]));
    assert!(now["anomaly"].is_null(), "reinstated: {now}");

    // RIDGE-MINE's permit ran out two hours after the window's start, and
    // the site drew nothing from then on (its readings go on, at zero).
    let ridge_permit = &of_site(&permits, 2)[0].1;
    let expires = ridge_permit["terms"]["expires"].as_u64().unwrap();
    assert_eq!(expires, window_start + 2 * 3600, "{ridge_permit}");
    let after: Vec<Value> = of_site(&events(&addr, &["consumed"]), 2)
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| e["hour"].as_u64().unwrap() * 3600 >= expires)
        .collect();
    assert!(!after.is_empty(), "readings after the expiry");
    assert!(after.iter().all(|e| e["amount"] == "0"), "{after:?}");
    let ridge = call(&addr, "sites_canRun", json!([2]));
    assert_eq!(ridge["maxPowerW"], "0", "{ridge}");

    // The terminal says so.
    assert!(dev.has(|l| l.contains("PERMIT   NORTH-MINE on DEV-1/NORTH: up to 100.0 kW")));
    assert!(dev.has(|l| l.contains("SANDBOX  DEV-1: permits required from")));
    assert!(dev.has(|l| l.contains(
        "CURTAIL  order 1: DEV-1/NORTH 07:00-08:00 UTC, mining at most 30.0 kW; shares: NORTH-MINE 20.0 kW, CREEK-MINE 10.0 kW"
    )));
    assert!(dev.has(|l| l.contains("ACK      NORTH-MINE acknowledged order 1")));
    assert!(dev.has(|l| l.contains("HONOURED NORTH-MINE order 1 07:00-08:00 UTC")));
    assert!(dev.has(|l| l.contains("BREACH   CREEK-MINE order 1 07:00-08:00 UTC")));
    assert!(dev.has(|l| l.contains("REINSTATED CREEK-MINE by the regulator")));
    assert!(dev.has(|l| l
        .contains("EXPIRED  RIDGE-MINE's permit on DEV-1/RIDGE ran out at 09:00 UTC")
        && l.ends_with("(permitExpired)")));
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
    assert!(
        start.elapsed() < Duration::from_secs(85),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn watt_dev_hands_a_site_to_an_outside_controller() {
    // Without a data directory there is nowhere to put the keys.
    let out = watt_command()
        .args(["dev", "--external-site", "NORTH-MINE", "--no-rpc"])
        .env_remove("WATT_BASE_PATH")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--external-site needs --base-path"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("chain");
    let dev = start(&base, &["--external-site", "NORTH-MINE"]);
    let addr = wait_for("the RPC address", Duration::from_secs(30), || {
        dev.rpc_addr()
    });
    let file = base.join("external-site.json");
    let text = wait_for("the external site's file", Duration::from_secs(20), || {
        std::fs::read_to_string(&file).ok()
    });
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["site"], 1, "{v}");
    assert_eq!(v["name"], "NORTH-MINE");
    assert_eq!(v["zone"], "DEV-1");
    assert_eq!(v["feeder"], "DEV-1/NORTH");
    assert_eq!(
        v["chainId"],
        call(&addr, "system_chainId", json!([])),
        "{v}"
    );
    let site = call(&addr, "sites_get", json!([1]));
    let key = |field: &str| -> Keypair {
        let hex = v[field].as_str().unwrap().trim_start_matches("0x");
        Keypair::from_seed(hex::decode(hex).unwrap().try_into().unwrap())
    };
    assert_eq!(
        format!("{}", key("deviceSecret").public()),
        site["deviceKey"].as_str().unwrap(),
        "the device key is the chain's"
    );
    let owner = watt_runtime::types::AccountId(key("ownerSecret").public()).to_string();
    assert_eq!(owner, site["owner"].as_str().unwrap());
    assert_eq!(v["owner"], site["owner"]);
    assert_eq!(v["maxDrawW"], site["maxDraw"]);
    // Where the chain's record of it stood: nothing signed for it yet.
    assert_eq!(v["lastSequence"], 0);
    assert_eq!(v["lastEnd"], site["lastEnd"]);
    assert_eq!(v["lastCounter"], "0");
    // The simulator signs nothing for it while the other sites report.
    wait_for("site 2's readings", Duration::from_secs(20), || {
        let s = call(&addr, "sites_get", json!([2]));
        (s["lastSequence"].as_u64().unwrap_or(0) >= 3).then_some(())
    });
    let site = call(&addr, "sites_get", json!([1]));
    assert_eq!(site["lastSequence"], 0, "{site}");
    assert!(dev.has(|l| l.starts_with("   EXTERNAL NORTH-MINE")));
    dev.stop();
}
