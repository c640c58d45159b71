//! Process-level tests: the real `watt` binary, killed and restarted.
//!
//! They share two cores, so they run one at a time (a lock), each bounded
//! in time. Blocks a node reported as finalised (its `block finalized` log
//! lines) must survive any crash with the same hash, and a stopped data
//! directory must re-execute from genesis to the same state
//! (`watt chain verify`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

use serde_json::json;
use watt_test_support::{rpc_call_raw, watt_command as watt};

/// A running `watt dev` with its log lines collected.
struct Dev {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// A failed assertion must not leave a fast-running node behind to slow
/// down every later test.
impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(
    r: impl std::io::Read + Send + 'static,
) -> (Arc<Mutex<Vec<String>>>, std::thread::JoinHandle<()>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = lines.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            out.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    });
    (lines, reader)
}

fn start_dev(dir: &Path, extra_env: &[(&str, &str)], args: &[&str]) -> Dev {
    let mut cmd = watt();
    // Any free port: tests must not collide with a node on 9944.
    cmd.args(["dev", "--rpc-addr", "127.0.0.1:0", "--base-path"])
        .arg(dir)
        .args(args);
    cmd.env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("watt starts");
    let (stdout, r1) = collect(child.stdout.take().unwrap());
    let (stderr, r2) = collect(child.stderr.take().unwrap());
    Dev {
        child,
        stdout,
        stderr,
        readers: vec![r1, r2],
    }
}

/// (height, hash) of every `block finalized` log line.
fn finalized_in(lines: &[String]) -> BTreeMap<u64, String> {
    let mut out = BTreeMap::new();
    for line in lines {
        if !line.contains("block finalized") {
            continue;
        }
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .map(str::to_string)
        };
        if let (Some(h), Some(hash)) = (field("height="), field("hash=")) {
            out.insert(h.parse().unwrap(), hash);
        }
    }
    out
}

impl Dev {
    /// (height, hash) of every block the node reported finalised so far.
    fn finalized(&self) -> BTreeMap<u64, String> {
        finalized_in(&self.stderr.lock().unwrap())
    }

    fn wait_for_blocks(&self, n: usize, limit: Duration) {
        let start = Instant::now();
        while self.finalized().len() < n {
            assert!(
                start.elapsed() < limit,
                "fewer than {n} blocks within {limit:?}; stderr: {:?}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stdout_has(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.stdout.lock().unwrap().iter().any(|l| pred(l))
    }

    fn signal(&self, sig: i32) {
        send_signal(self.child.id(), sig);
    }

    fn wait(mut self, limit: Duration) -> (std::process::ExitStatus, Vec<String>) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The pipes close with the process: read them to the end.
                for r in self.readers.drain(..) {
                    let _ = r.join();
                }
                let err = self.stderr.lock().unwrap().clone();
                return (status, err);
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!("watt did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Sends a signal with kill(1), which keeps the tests free of `unsafe`
/// (the workspace forbids it).
fn send_signal(pid: u32, sig: i32) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{sig} {pid} failed");
}

/// `watt db blocks` on a stopped directory.
fn stored_blocks(dir: &Path) -> BTreeMap<u64, String> {
    let out = watt()
        .args(["db", "blocks", "--base-path"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "db blocks: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let (h, hash) = l.split_once(' ').unwrap();
            (h.parse().unwrap(), hash.to_string())
        })
        .collect()
}

fn verify(dir: &Path) {
    let out = watt()
        .args(["chain", "verify", "--base-path"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chain verify failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_survived(reported: &BTreeMap<u64, String>, stored: &BTreeMap<u64, String>) {
    for (h, hash) in reported {
        assert_eq!(
            stored.get(h),
            Some(hash),
            "finalised block {h} lost or changed after the crash"
        );
    }
}

/// A small deterministic generator for kill moments.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

const FAST: [&str; 4] = ["--speed", "600", "--block-time", "200ms"];

#[test]
fn kill_dash_nine_under_load_loses_nothing_finalised() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed_cafe);
    let mut all_reported = BTreeMap::new();
    let mut last_head = 0;
    for round in 0..4 {
        let dev = start_dev(dir.path(), &[], &FAST);
        dev.wait_for_blocks(2, Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(300 + rng.below(2_500)));
        dev.signal(9);
        // Everything it reported before the kill (pipes read to the end).
        let (_, err) = dev.wait(Duration::from_secs(10));
        all_reported.extend(finalized_in(&err));
        let stored = stored_blocks(dir.path());
        assert_survived(&all_reported, &stored);
        let head = *stored.keys().last().unwrap();
        assert!(
            head > last_head,
            "round {round}: the chain grew after restart ({last_head} -> {head})"
        );
        last_head = head;
    }
    verify(dir.path());
}

#[test]
fn crash_at_failpoints_then_recover() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for point in ["after-consensus-log-sync", "mid-block-write"] {
        let dir = tempfile::tempdir().unwrap();
        // First run: a clean start, then a crash at the named point.
        let dev = start_dev(dir.path(), &[], &FAST);
        dev.wait_for_blocks(3, Duration::from_secs(60));
        dev.signal(15);
        let (status, _) = dev.wait(Duration::from_secs(20));
        assert!(status.success());
        let before = stored_blocks(dir.path());
        let dev = start_dev(dir.path(), &[("WATT_FAILPOINT", point)], &FAST);
        let (status, err) = dev.wait(Duration::from_secs(60));
        assert!(!status.success(), "{point}: the process aborts");
        assert!(
            err.iter()
                .any(|l| l.contains(&format!("failpoint {point}"))),
            "{point}: {err:?}"
        );
        let after_crash = stored_blocks(dir.path());
        assert_survived(&before, &after_crash);
        // Restart without the failpoint: it recovers by itself and goes on.
        let dev = start_dev(dir.path(), &[], &FAST);
        dev.wait_for_blocks(2, Duration::from_secs(60));
        let reported = dev.finalized();
        dev.signal(15);
        let (status, err) = dev.wait(Duration::from_secs(20));
        assert!(status.success(), "{point}: {err:?}");
        assert!(
            err.iter().any(|l| l.contains("did not shut down cleanly")),
            "{point}: the restart noticed the crash"
        );
        let stored = stored_blocks(dir.path());
        assert_survived(&after_crash, &stored);
        assert_survived(&reported, &stored);
        assert!(stored.len() > after_crash.len());
        // The proposer crashed holding a signed proposal (and, at the second
        // point, its precommit): it may not sign another block for that
        // height, so it must restore the same block and finalise it.
        let next = after_crash.keys().last().copied().unwrap_or(0) + 1;
        let restored = err
            .iter()
            .find(|l| l.contains("restored the block proposed before the restart"))
            .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix("hash=")))
            .unwrap_or_else(|| panic!("{point}: no restored proposal in {err:?}"));
        assert_eq!(
            stored.get(&next).map(String::as_str),
            Some(restored),
            "{point}: height {next} is the block proposed before the crash"
        );
        verify(dir.path());
    }
}

#[test]
fn sigterm_and_sigint_shut_down_cleanly() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    for sig in [15, 2] {
        let dev = start_dev(dir.path(), &[], &FAST);
        dev.wait_for_blocks(2, Duration::from_secs(60));
        let reported = dev.finalized();
        dev.signal(sig);
        let (status, err) = dev.wait(Duration::from_secs(20));
        assert!(status.success(), "signal {sig}: exit {status:?}, {err:?}");
        assert!(
            !err.iter().any(|l| l.contains("did not shut down cleanly")),
            "signal {sig}: the start needed no recovery: {err:?}"
        );
        assert_survived(&reported, &stored_blocks(dir.path()));
    }
    verify(dir.path());
}

#[test]
fn unknown_schema_is_refused_untouched() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let dev = start_dev(dir.path(), &[], &["--no-sim"]);
    dev.wait_for_blocks(1, Duration::from_secs(60));
    dev.signal(15);
    assert!(dev.wait(Duration::from_secs(20)).0.success());
    watt_node::storage::Store::open_existing(dir.path())
        .unwrap()
        .set_schema_version(7)
        .unwrap();
    let listing = |p: &Path| {
        let mut v: Vec<(String, u64)> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = listing(dir.path());
    let out = watt()
        .args(["dev", "--base-path"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("schema version 7") && err.contains("left untouched"),
        "{err}"
    );
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn world_readable_key_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("validator.json");
    let out = watt()
        .args(["key", "generate", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(watt()
        .args(["key", "inspect"])
        .arg(&key)
        .output()
        .unwrap()
        .status
        .success());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = watt().args(["key", "inspect"]).arg(&key).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("others can read it") && err.contains("chmod 600"),
        "{err}"
    );
}

#[test]
fn watt_dev_mints_burns_and_suspends_the_short_site() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let dev = start_dev(
        dir.path(),
        &[],
        &["--speed", "300", "--block-time", "300ms"],
    );
    let start = Instant::now();
    type Check<'a> = (&'a str, &'a dyn Fn(&str) -> bool);
    let wanted: [Check; 6] = [
        ("SOL-1 minted", &|l| {
            l.contains("minted:") && l.contains("SOL-1")
        }),
        ("WND-1 minted", &|l| {
            l.contains("minted:") && l.contains("WND-1")
        }),
        ("GEO-1 minted", &|l| {
            l.contains("minted:") && l.contains("GEO-1")
        }),
        ("NORTH-MINE burned", &|l| {
            l.contains("burned:") && l.contains("NORTH-MINE")
        }),
        ("RIDGE-MINE burned", &|l| {
            l.contains("burned:") && l.contains("RIDGE-MINE")
        }),
        ("RIDGE-MINE suspended", &|l| {
            l.contains("SHORTFALL RIDGE-MINE")
        }),
    ];
    loop {
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|(_, f)| !dev.stdout_has(f))
            .map(|(n, _)| *n)
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "missing after 120 s: {missing:?}; output: {:?}",
            dev.stdout.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        !dev.stdout_has(|l| l.contains("SHORTFALL NORTH-MINE")),
        "the supplied site stays backed"
    );
    // The printed RPC address answers, and agrees: the ridge mine may not run.
    let addr = dev.rpc_addr().expect("watt dev prints its RPC address");
    let body = rpc_call_raw(&addr, "sites_canRun", json!([2])).to_string();
    assert!(
        body.contains("\"allowed\":false") && body.contains("suspendedShortfall"),
        "{body}"
    );
    dev.signal(2);
    assert!(dev.wait(Duration::from_secs(20)).0.success());
    verify(dir.path());
}

impl Dev {
    /// The RPC address `watt dev` printed (`rpc  http://ADDR ...`).
    fn rpc_addr(&self) -> Option<String> {
        self.stdout.lock().unwrap().iter().find_map(|l| {
            l.trim()
                .strip_prefix("rpc")
                .and_then(|r| r.trim().strip_prefix("http://"))
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string)
        })
    }
}

/// The Python wallet in examples/python, written from docs/encoding.md
/// alone: it checks every golden vector byte for byte, then builds, signs
/// and submits a transfer to a real `watt dev` and waits for its block.
/// (scripts/test installs python3, PyNaCl and blake3.)
#[test]
fn python_wallet_example_checks_the_vectors_and_sends_a_transfer() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let example = root.join("examples/python");
    let python = |args: &[&str]| {
        std::process::Command::new("python3")
            .args(args)
            .current_dir(&example)
            .output()
            .expect("python3 runs (scripts/test installs it)")
    };
    let out = python(&["check_vectors.py"]);
    assert!(
        out.status.success(),
        "check_vectors.py: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let dev = start_dev(
        dir.path(),
        &[],
        &["--speed", "600", "--block-time", "300ms"],
    );
    let start = Instant::now();
    let addr = loop {
        if let Some(a) = dev.rpc_addr() {
            break a;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no RPC address printed"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let url = format!("http://{addr}");
    let out = python(&["transfer.py", "--rpc-url", &url]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "transfer.py: {text}");
    assert!(text.contains("OK: 500 Wh landed at height"), "{text}");
    dev.signal(2);
    assert!(dev.wait(Duration::from_secs(20)).0.success());
}

/// The dev community's sites report on time: judged by how far their
/// records reach (a site is dark when its last period lags block time by
/// more than dark-after, 900 s), neither goes dark over a simulated day
/// (at 1,440x, a minute of wall time).
#[test]
fn both_dev_sites_keep_reporting_on_time_over_a_simulated_day() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let dev = start_dev(
        dir.path(),
        &[],
        &["--speed", "1440", "--block-time", "100ms"],
    );
    let addr = loop {
        if let Some(a) = dev.rpc_addr() {
            break a;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let start = Instant::now();
    let mut polls = 0;
    let mut first_time = None;
    let mut last_time = 0;
    while start.elapsed() < Duration::from_secs(62) {
        for site in [1, 2] {
            let r = rpc_call_raw(&addr, "sites_canRun", json!([site]));
            let status = r["result"]["status"].as_str().unwrap_or("").to_string();
            assert_ne!(status, "dark", "site {site} went dark: {r}");
        }
        let head = rpc_call_raw(&addr, "chain_getFinalizedHead", json!([]));
        if let Some(t) = head["result"]["timestampMs"].as_u64() {
            first_time.get_or_insert(t);
            last_time = t;
        }
        polls += 1;
        std::thread::sleep(Duration::from_millis(400));
    }
    let simulated_h = (last_time - first_time.unwrap_or(last_time)) / 3_600_000;
    assert!(simulated_h >= 22, "only {simulated_h} simulated hours");
    assert!(polls > 100, "{polls} polls");
    dev.signal(2);
    assert!(dev.wait(Duration::from_secs(20)).0.success());
}
