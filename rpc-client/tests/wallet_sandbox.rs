//! The sandbox commands through the real `watt-wallet` binary against a
//! real `watt dev --no-sim` node, driven from the wallet with the public dev
//! keys: the regulator registers a feeder, attaches site 1 (NORTH-MINE),
//! requires permits in DEV-1 and names the grid operator, issues site 1 a
//! permit; the grid operator curtails the feeder; the site owner
//! acknowledges; `site watch` follows the site through `run up to`,
//! `limit` and `stop`; the order is judged honoured; a second order is
//! cancelled; the permit is revoked. Every refusal the wallet can make
//! before signing names its flag.

mod common;

use common::{chain_now, wait_chain, Wallet};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use watt_genesis::dev_keypair;
use watt_rpc_client::builders::submit_consumption;
use watt_rpc_client::client::Signer;
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::encode;
use watt_runtime::tx::ConsumptionReading;
use watt_runtime::types::{AccountId, SiteId, Wh};
use watt_test_support::{rpc_call_raw, DevProc};

const FEEDER: &str = "DEV-1/F1";

/// A running `watt-wallet` that prints lines (`site watch`), and what it
/// printed so far.
struct Follow {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Follow {
    fn start(url: &str, output: &str, args: &[&str]) -> Follow {
        let mut child = Command::new(env!("CARGO_BIN_EXE_watt-wallet"))
            .args(["--rpc-url", url, "--output", output])
            .args(args)
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
        Follow {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (at most 30 s) for a line containing `text`.
    fn expect(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
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

impl Drop for Follow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Keeps site 1 reporting: zero-energy consumption readings signed by its
/// dev meter key, each up to the chain's clock within one UTC hour, relayed
/// by a key with no account. The site is then never dark, owes nothing, and
/// honours every curtailment order.
struct Keeper {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Keeper {
    fn start(addr: &str) -> Keeper {
        let stop = Arc::new(AtomicBool::new(false));
        let (addr, flag) = (addr.to_string(), stop.clone());
        let thread = std::thread::spawn(move || {
            let call = |m: &str, p: Value| rpc_call_raw(&addr, m, p)["result"].clone();
            let chain_id = call("system_chainId", Value::Null);
            let chain_id = Hash::from_hex(chain_id.as_str().unwrap()).unwrap();
            let meter = dev_keypair("dev-site-north");
            let relay = Signer::new(dev_keypair("ws-relay"), chain_id);
            let relay_account = relay.account().to_string();
            while !flag.load(Ordering::Relaxed) {
                let site = call("sites_get", json!([1]));
                let (Some(seq), Some(last_end)) =
                    (site["lastSequence"].as_u64(), site["lastEnd"].as_u64())
                else {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                };
                let counter: u64 = site["lastCounter"].as_str().unwrap_or("0").parse().unwrap();
                let now = call("chain_getFinalizedHead", Value::Null)["timestampMs"]
                    .as_u64()
                    .unwrap_or(0)
                    / 1000;
                let end = now.min((last_end / 3600 + 1) * 3600);
                if end > last_end {
                    let reading = ConsumptionReading {
                        site: SiteId(1),
                        sequence: seq + 1,
                        period_start: last_end,
                        period_end: end,
                        counter: Wh(counter),
                        flags: 0,
                    }
                    .sign(&chain_id, &meter);
                    let account = call("credits_getAccount", json!([relay_account]));
                    let nonce = account["nonce"].as_u64().unwrap_or(0);
                    let tx = relay.sign(nonce, submit_consumption(vec![reading]).unwrap());
                    let hex = format!("0x{}", hex::encode(encode(&tx)));
                    call("tx_submit", json!([hex]));
                    // Until it lands (or a few blocks pass without it).
                    let deadline = Instant::now() + Duration::from_secs(2);
                    while Instant::now() < deadline
                        && call("sites_get", json!([1]))["lastSequence"].as_u64() == Some(seq)
                    {
                        std::thread::sleep(Duration::from_millis(40));
                    }
                }
                std::thread::sleep(Duration::from_millis(60));
            }
        });
        Keeper {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs `args`, expecting a failure with exit status `code`; its stderr.
fn fails(w: &Wallet, args: &[&str], code: i32) -> String {
    let out = w.run("correct horse", args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    err
}

/// UTC `YYYY-MM-DDTHH:MMZ` of unix seconds on a whole minute.
fn iso(unix_s: u64) -> String {
    let (y, m, d) = watt_runtime::types::civil_from_days((unix_s / 86_400) as i64);
    let s = unix_s % 86_400;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}Z", s / 3600, s % 3600 / 60)
}

/// The start of an hour the chain is in now, early enough in it that a
/// feeder baseline there stays inside the reading window while the
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

/// `permit issue 1` by the regulator with `extra` flags.
fn issue(extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = ["permit", "issue", "1", "--from", "dev-regulator"]
        .map(String::from)
        .into();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// `grid curtail` by the grid operator with `extra` flags.
fn curtail(extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = ["grid", "curtail", "--from", "dev-grid-operator"]
        .map(String::from)
        .into();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// The arguments as `&str`.
fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn a_regulator_permits_a_grid_operator_curtails_and_the_owner_acknowledges() {
    let node = DevProc::start();
    let keeper = Keeper::start(node.addr());
    let w = Wallet::new(&node.url);
    for key in [
        "dev-regulator",
        "dev-valley-coop",
        "dev-grid-operator",
        "dev-ridge-miner",
    ] {
        w.import_dev(key);
    }

    // Refused before anything is signed, naming the flag.
    let err = fails(
        &w,
        &strs(&issue(&["--max-power", "1kW", "--quota", "1MWh"])),
        2,
    );
    assert!(err.contains("--expires"), "{err}");
    let err = fails(
        &w,
        &strs(&issue(&[
            "--max-power",
            "1kW",
            "--quota",
            "1MWh",
            "--months",
            "Mar-Foo",
            "--expires",
            "+30d",
        ])),
        2,
    );
    assert!(
        err.contains("--months <MONTHS>") && err.contains("a range (Mar-Oct, Nov-Feb)"),
        "{err}"
    );
    let err = fails(
        &w,
        &strs(&issue(&[
            "--max-power",
            "1kW",
            "--quota",
            "1MWh",
            "--hours",
            "06-06",
            "--expires",
            "+30d",
        ])),
        2,
    );
    assert!(
        err.contains("--hours <HOURS>") && err.contains("empty"),
        "{err}"
    );
    let err = fails(
        &w,
        &strs(&issue(&[
            "--max-power",
            "5mW",
            "--quota",
            "1MWh",
            "--expires",
            "+1d",
        ])),
        2,
    );
    assert!(err.contains("milliwatts"), "{err}");
    let err = fails(
        &w,
        &strs(&issue(&[
            "--max-power",
            "0",
            "--quota",
            "1MWh",
            "--expires",
            "+1d",
        ])),
        1,
    );
    assert!(err.contains("--max-power: must be more than 0 W"), "{err}");
    let err = fails(
        &w,
        &strs(&issue(&[
            "--max-power",
            "1kW",
            "--quota",
            "0",
            "--expires",
            "+1d",
        ])),
        1,
    );
    assert!(err.contains("--quota: must be more than 0 Wh"), "{err}");
    let err = fails(
        &w,
        &strs(&issue(&[
            "--max-power",
            "1kW",
            "--quota",
            "1MWh",
            "--expires",
            "2027-01-01T00:30Z",
        ])),
        1,
    );
    assert!(
        err.contains("--expires: 2027-01-01T00:30Z is not on a whole UTC hour (2027-01-01T00:00Z or 2027-01-01T01:00Z are)"),
        "{err}"
    );
    let revoke_blank = [
        "permit",
        "revoke",
        "1",
        "--from",
        "dev-regulator",
        "--reason",
        " ",
    ];
    let err = fails(&w, &revoke_blank, 1);
    assert!(err.contains("--reason: must not be blank"), "{err}");
    let sandbox = ["zone", "sandbox", "DEV-1", "--from", "dev-regulator"];
    let err = fails(&w, &[&sandbox[..], &["--permits-required"]].concat(), 2);
    assert!(
        err.contains("--grid-operator <ACCOUNT>|--no-grid-operators"),
        "{err}"
    );
    let twice = [
        "--permits-required",
        "--grid-operator",
        "dev-grid-operator",
        "--grid-operator",
        "dev-grid-operator",
    ];
    let err = fails(&w, &[&sandbox[..], &twice].concat(), 1);
    assert!(
        err.contains("--grid-operator: watt1") && err.contains("named twice"),
        "{err}"
    );
    let err = fails(
        &w,
        &strs(&curtail(&[
            "--start",
            "+1h",
            "--minutes",
            "10",
            "--max-mining",
            "1MW",
        ])),
        2,
    );
    assert!(err.contains("--feeder <FEEDER>|--zone <ZONE>"), "{err}");
    let err = fails(
        &w,
        &strs(&curtail(&[
            "--feeder",
            "dev-1/f1",
            "--start",
            "+1h",
            "--minutes",
            "10",
            "--max-mining",
            "1MW",
        ])),
        2,
    );
    assert!(err.contains("2 to 24 characters of A-Z"), "{err}");
    let err = fails(
        &w,
        &strs(&curtail(&[
            "--zone",
            "DEV-1",
            "--start",
            "2027-01-01T00:00Z",
            "--minutes",
            "1441",
            "--max-mining",
            "1MW",
        ])),
        1,
    );
    assert!(
        err.contains("--minutes: the window 2027-01-01T00:00Z to 2027-01-02T00:01Z (1441 min) is longer than 24 h; end it by 2027-01-02T00:00Z"),
        "{err}"
    );
    let err = fails(
        &w,
        &strs(&curtail(&[
            "--zone",
            "DEV-1",
            "--start",
            "+1h",
            "--end",
            "+0m",
            "--max-mining",
            "1MW",
        ])),
        1,
    );
    assert!(err.contains("--end: the window would end at"), "{err}");
    let err = fails(
        &w,
        &["grid", "cancel", "0", "--from", "dev-grid-operator"],
        1,
    );
    assert!(err.contains("<ORDER>: orders are numbered from 1"), "{err}");
    let err = fails(&w, &["permit", "show", "1"], 1);
    assert!(err.contains("site 1 has no permit"), "{err}");
    let err = fails(&w, &["grid", "curtailment", "9"], 1);
    assert!(err.contains("no curtailment order 9"), "{err}");
    assert_eq!(w.ok(&["permit", "list"]).trim(), "no permits");
    assert_eq!(
        w.ok(&["grid", "curtailments"]).trim(),
        "no curtailment orders"
    );

    // The regulator: a feeder with site 1 attached from the next hour.
    let head_key = format!("0x{}", hex::encode(dev_keypair("ws-head").public().0));
    let b0 = whole_hour_soon(&node).to_string();
    w.json(&[
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
        "--head-key",
        &head_key,
        "--baseline-time",
        &b0,
    ]);
    let attach = [
        "feeder",
        "attach",
        "--from",
        "dev-regulator",
        FEEDER,
        "--site",
        "1",
    ];
    let out = w.run("correct horse", &[&attach[..], &["--next-hour"]].concat());
    if !out.status.success() {
        // The hour turned while it was on its way: once more.
        w.ok(&[&attach[..], &["--next-hour"]].concat());
    }
    let attached_from = chain_now(&node) / 3600 * 3600 + 3600;

    // Site 1 is reporting (the keeper) and may run at its max draw.
    let mut watch = Follow::start(&node.url, "text", &["site", "watch", "1"]);
    let mut watch_json = Follow::start(&node.url, "json", &["site", "watch", "1"]);
    watch.expect("run up to 120 kW (active");

    // Permits required, the grid operator named (a key name or an account).
    let said = w.ok(&[
        &sandbox[..],
        &["--permits-required", "--grid-operator", "dev-grid-operator"],
    ]
    .concat());
    assert!(said.starts_with("finalized: 0x"), "{said}");
    let operator = AccountId(dev_keypair("dev-grid-operator").public()).to_string();
    let zone = w.json(&["zone", "show", "DEV-1"]);
    assert_eq!(zone["permitsRequired"], true, "{zone}");
    assert_eq!(zone["gridOperators"], json!([operator]), "{zone}");
    let text = w.ok(&["zone", "show", "DEV-1"]);
    assert!(
        text.contains("permits         required for consumption from 20"),
        "{text}"
    );
    assert!(
        text.contains(&format!("grid operators  {operator}")),
        "{text}"
    );

    // A permit: 100 kW, all day in the chain's month and the months either
    // side (`Nov-Jan` in December: a range over the new year), 50 MWh a
    // month.
    let (_, month, _) = watt_runtime::types::civil_from_days((chain_now(&node) / 86_400) as i64);
    let names = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (before, after) = ((month + 10) % 12, month % 12);
    let months = format!("{}-{}", names[before as usize], names[after as usize]);
    let mask: u16 = [before, month - 1, after].iter().map(|m| 1u16 << m).sum();
    let out = w.ok(&strs(&issue(&[
        "--max-power",
        "100kW",
        "--months",
        &months,
        "--quota",
        "50MWh",
        "--expires",
        "+30d",
    ])));
    assert!(
        out.contains(&format!("issuing site 1 a permit: 100 kW, months {months}, hours all day, 50 MWh a month, until 20")),
        "{out}"
    );
    let shown = w.ok(&["permit", "show", "1"]);
    for line in [
        "permit of site 1 on feeder DEV-1/F1: live".to_string(),
        "  max power   100 kW".into(),
        format!("  months      {months}"),
        "  hours       all day".into(),
        "  quota       50 MWh a month".into(),
    ] {
        assert!(shown.contains(&line), "{line:?} in {shown}");
    }
    let p = w.json(&["permit", "show", "1"]);
    assert_eq!(p["terms"]["maxPower"], "100000", "{p}");
    assert_eq!(p["terms"]["months"], mask, "{p}");
    assert_eq!(p["live"], true, "{p}");
    let listed = w.json(&["permit", "list"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let line = w.ok(&["permit", "list"]);
    assert!(
        line.starts_with("site 1     DEV-1/F1         live"),
        "{line}"
    );
    // Site 2 is on no feeder: the chain refuses its permit.
    let mut site2 = issue(&["--max-power", "1kW", "--quota", "1MWh", "--expires", "+1d"]);
    site2[2] = "2".into();
    let err = fails(&w, &strs(&site2), 1);
    assert!(err.contains("attached to no feeder"), "{err}");
    watch.expect("run up to 100 kW (active");

    // Only a grid operator curtails.
    wait_chain(&node, attached_from);
    let err = fails(
        &w,
        &[
            "grid",
            "curtail",
            "--from",
            "dev-regulator",
            "--feeder",
            FEEDER,
            "--start",
            "+1h",
            "--minutes",
            "10",
            "--max-mining",
            "1MW",
        ],
        1,
    );
    assert!(
        err.contains("is not a grid operator of zone DEV-1"),
        "{err}"
    );

    // The grid operator orders the feeder down to 75 kW for an hour, from
    // a whole minute 20 to 30 minutes ahead of the chain.
    let start = (chain_now(&node) / 600 + 3) * 600;
    let end = start + 3600;
    let out = w.ok(&strs(&curtail(&[
        "--feeder",
        FEEDER,
        "--start",
        &start.to_string(),
        "--minutes",
        "60",
        "--max-mining",
        "75kW",
    ])));
    assert!(
        out.contains(&format!(
            "ordering feeder DEV-1/F1 down to 75 kW of mining from {} to {} (60 min)",
            iso(start),
            iso(end)
        )),
        "{out}"
    );
    assert!(out.contains("\norder 1: site 1 gets 75 kW"), "{out}");
    let listed = w.ok(&["grid", "curtailments", "--site", "1"]);
    assert!(
        listed.starts_with("order 1     feeder DEV-1/F1") && listed.contains("site 1 share 75 kW"),
        "{listed}"
    );

    // The owner acknowledges; someone else's key, another site or a second
    // acknowledgement are refused with the reason.
    let err = fails(
        &w,
        &["site", "ack", "1", "--site", "1", "--from", "dev-regulator"],
        1,
    );
    assert!(err.contains("--from must be the owner's key"), "{err}");
    let err = fails(
        &w,
        &[
            "site",
            "ack",
            "1",
            "--site",
            "2",
            "--from",
            "dev-ridge-miner",
        ],
        1,
    );
    assert!(
        err.contains("order 1 does not affect site 2 (it affects site 1)"),
        "{err}"
    );
    let out = w.ok(&[
        "site",
        "ack",
        "1",
        "--site",
        "1",
        "--from",
        "dev-valley-coop",
    ]);
    assert!(
        out.starts_with("acknowledging order 1 for site 1, seen at 20"),
        "{out}"
    );
    assert!(out.contains("finalized: 0x"), "{out}");
    let err = fails(
        &w,
        &[
            "site",
            "ack",
            "1",
            "--site",
            "1",
            "--from",
            "dev-valley-coop",
        ],
        1,
    );
    assert!(err.contains("acknowledged order 1 already"), "{err}");
    let order = w.json(&["grid", "curtailment", "1"]);
    assert!(order["sites"][0]["ackedAt"].is_u64(), "{order}");
    assert_eq!(order["sites"][0]["shareW"], "75000", "{order}");
    assert_eq!(order["maxMiningW"], "75000", "{order}");

    // The watch follows the window: limited in it, back to the permit after.
    watch.expect(&format!("run up to 100 kW (active until {})", iso(start)));
    watch.expect(&format!("limit 75 kW (curtailed until {})", iso(end)));
    let line = watch_json.expect("\"curtailed\"");
    let can_run: Value = serde_json::from_str(&line).expect("one canRun per line");
    assert_eq!(can_run["maxPowerW"], "75000", "{can_run}");
    assert_eq!(can_run["allowed"], true, "{can_run}");
    assert_eq!(can_run["until"], end, "{can_run}");
    let status = w.ok(&["site", "status", "1"]);
    assert!(
        status.contains(": limit 75 kW (curtailed until"),
        "{status}"
    );
    let active = w.ok(&["grid", "curtailments", "--active"]);
    assert!(
        active.contains("order 1 ") && active.contains(" active "),
        "{active}"
    );
    wait_chain(&node, end);
    let after = watch.seen.len();
    watch.expect("run up to 100 kW (active");
    assert!(watch.seen.len() >= after);

    // The verdict: nothing drawn, honoured.
    let deadline = Instant::now() + Duration::from_secs(40);
    let shown = loop {
        let shown = w.ok(&["grid", "curtailment", "1"]);
        if shown.contains("judged") || Instant::now() > deadline {
            break shown;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        shown.starts_with("order 1: feeder DEV-1/F1 in zone DEV-1, judged"),
        "{shown}"
    );
    assert!(shown.contains("honoured (0 Wh of "), "{shown}");
    let past = w.json(&["grid", "curtailments", "--past"]);
    assert_eq!(past[0]["order"], 1, "{past}");
    assert_eq!(past[0]["sites"][0]["verdict"]["honoured"], true, "{past}");

    // A second order, cancelled before its start: no verdicts.
    let out = w.ok(&strs(&curtail(&[
        "--feeder",
        FEEDER,
        "--start",
        "+3h",
        "--minutes",
        "30",
        "--max-mining",
        "0",
    ])));
    assert!(out.contains("order 2: site 1 gets 0 W"), "{out}");
    let upcoming = w.ok(&["grid", "curtailments", "--upcoming"]);
    assert!(
        upcoming.starts_with("order 2 ") && upcoming.contains("upcoming"),
        "{upcoming}"
    );
    w.ok(&["grid", "cancel", "2", "--from", "dev-grid-operator"]);
    let shown = w.ok(&["grid", "curtailment", "2"]);
    assert!(shown.contains("cancelled    20"), "{shown}");
    assert!(
        shown.contains("none (cancelled before its start)"),
        "{shown}"
    );
    assert_eq!(w.json(&["grid", "curtailment", "2"])["state"], "cancelled");

    // A reader that goes away ends a watch quietly.
    let mut head = Command::new(env!("CARGO_BIN_EXE_watt-wallet"))
        .args(["--rpc-url", &node.url, "site", "watch", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watt-wallet runs");
    let mut first = String::new();
    BufReader::new(head.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("height "), "{first}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = head.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "site watch outlived its reader");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut head.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{status}: {err}");
    assert!(err.is_empty(), "{err}");

    // The regulator revokes the permit: in a permits-required zone the site
    // must stop.
    w.ok(&[
        "permit",
        "revoke",
        "1",
        "--from",
        "dev-regulator",
        "--reason",
        "feeder rebuilt",
    ]);
    let shown = w.ok(&["permit", "show", "1"]);
    assert!(
        shown.contains("DEV-1/F1: revoked") && shown.contains("feeder rebuilt"),
        "{shown}"
    );
    watch.expect("stop (noPermit");
    drop(keeper);
}
