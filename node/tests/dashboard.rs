//! The live dashboard that `watt dev` serves at `/` of its RPC address, in
//! a real browser: headless Chromium driven by Selenium through
//! node/tests/dashboard/browser.py, one test per case of that script.
//! Each starts its own `watt dev` (the binary cargo built) and checks what
//! a person would see: the overview's finalised height following the chain
//! over the WebSocket without a reload (`overview`), the ridge site shown
//! stopped for its credit shortfall with the reason (`ridge_stops`), a
//! transfer sent from the page with `@watt/client` found by its hash and by
//! its recipient through the header's search (`explorer`), the unexplained
//! load on DEV-1/RIDGE shown there and not on DEV-1/NORTH
//! (`feeder_alert`), chain text carrying markup shown as text and never run
//! (`xss`), and every page rendering text and fitting a phone's width
//! (`screenshots`). Every case also fails on an open JavaScript alert or a
//! SEVERE entry in the browser's console.
//!
//! Needs Debian's `chromium` and `chromium-driver` (/usr/bin/chromedriver)
//! and Python's `selenium` (scripts/test installs them: ensure_selenium in
//! scripts/prereqs). With `WATT_DASHBOARD_SCREENSHOTS=DIR` the screenshots
//! case saves every page at laptop and phone size in DIR
//! (`<page>-laptop.png`, `<page>-phone.png`), and a failing case saves
//! `<case>-failure.png` there.
//!
//! Runs in the `processes` group (.config/nextest.toml).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use watt_test_support::wait_for;

#[path = "common/dev.rs"]
mod dev;

use dev::Dev;

/// The script gives up on its own well before this; this is the backstop
/// for a browser that hangs.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(150);

/// Starts `watt dev ARGS`, runs `browser.py CASE http://ADDR/ [OUTDIR]`
/// against it, and asserts that the case passed.
fn run_case(case: &str, args: &[&str]) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let dev = Dev::start(&dir.path().join("chain"), args);
    let addr = wait_for("the RPC address", Duration::from_secs(30), || {
        dev.rpc_addr()
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dashboard/browser.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .arg(case)
        .arg(format!("http://{addr}/"))
        .env("SE_OFFLINE", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(out) = std::env::var_os("WATT_DASHBOARD_SCREENSHOTS") {
        std::fs::create_dir_all(&out).expect("WATT_DASHBOARD_SCREENSHOTS is a directory");
        cmd.arg(out);
    }
    let mut child = cmd.spawn().expect(
        "python3 runs (scripts/test installs selenium and chromium-driver: \
         ensure_selenium in scripts/prereqs)",
    );
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = stdout.join().unwrap();
    let stderr = stderr.join().unwrap();
    let passed = status.is_some_and(|s| s.success());
    if !passed {
        let tail = {
            let lines = dev.stdout.lock().unwrap();
            lines[lines.len().saturating_sub(30)..].join("\n")
        };
        panic!(
            "the dashboard case `{case}` failed ({}) against `watt dev {}`:\n\
             --- browser.py stdout\n{stdout}\n--- browser.py stderr\n{stderr}\n\
             --- the last lines of watt dev\n{tail}",
            match status {
                Some(s) => s.to_string(),
                None => format!("no exit within {} s: killed", SCRIPT_TIMEOUT.as_secs()),
            },
            args.join(" "),
        );
    }
    print!("{stdout}");
    dev.stop();
    println!(
        "case {case}: {:.1} s with watt dev's start and stop",
        started.elapsed().as_secs_f64()
    );
}

/// The overview's finalised height grows live (WebSocket), with no reload.
#[test]
fn dashboard_overview_follows_the_chain_live() {
    run_case("overview", &["--block-time", "300ms"]);
}

/// RIDGE-MINE (site 2) runs short of credits and is shown stopped, with a
/// reason naming the shortfall, on its page and in the list of sites.
#[test]
fn dashboard_shows_the_ridge_site_stopped_for_its_shortfall() {
    run_case("ridge_stops", &["--speed", "300", "--block-time", "300ms"]);
}

/// A transfer sent from the page is found by its hash and listed under
/// its recipient, through the header's search.
#[test]
fn dashboard_explorer_finds_a_transfer_by_hash_and_account() {
    run_case("explorer", &["--block-time", "300ms"]);
}

/// The load tapped into DEV-1/RIDGE raises an unexplained-load alert shown
/// on that feeder's page, and not on DEV-1/NORTH's.
#[test]
fn dashboard_shows_the_unexplained_load_on_the_ridge_feeder_only() {
    run_case(
        "feeder_alert",
        &["--speed", "600", "--block-time", "200ms", "--tap-at", "1"],
    );
}

/// A retirement whose purpose and beneficiary are markup is shown as text:
/// no element injected, no alert, no console error.
#[test]
fn dashboard_shows_chain_text_as_text() {
    run_case("xss", &["--block-time", "300ms"]);
}

/// Every page renders text and fits a phone's width; with
/// WATT_DASHBOARD_SCREENSHOTS set, each is saved at laptop and phone size.
#[test]
fn dashboard_pages_render_at_laptop_and_phone_size() {
    run_case(
        "screenshots",
        &["--speed", "600", "--block-time", "200ms", "--tap-at", "1"],
    );
}
