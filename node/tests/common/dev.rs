//! A running `watt dev` for the process tests (`#[path]`-included by the
//! tests that start one): its stdout lines collected, its RPC address, and
//! a clean stop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use watt_test_support::watt_command;

/// A running `watt dev` whose stdout lines are collected.
pub struct Dev {
    child: Child,
    /// Every line it printed so far.
    pub stdout: Arc<Mutex<Vec<String>>>,
}

impl Dev {
    /// `watt dev --rpc-addr 127.0.0.1:0 --base-path BASE ARGS...`.
    pub fn start(base: &Path, args: &[&str]) -> Dev {
        let mut child = watt_command()
            .args(["dev", "--rpc-addr", "127.0.0.1:0", "--base-path"])
            .arg(base)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("watt dev starts");
        let out = child.stdout.take().expect("piped");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let sink = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Dev { child, stdout }
    }

    /// Whether a line it printed satisfies `pred`.
    #[allow(dead_code)]
    pub fn has(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.stdout.lock().unwrap().iter().any(|l| pred(l))
    }

    /// The RPC address it printed (`rpc  http://ADDR ...`).
    pub fn rpc_addr(&self) -> Option<String> {
        self.stdout.lock().unwrap().iter().find_map(|l| {
            l.trim()
                .strip_prefix("rpc")
                .and_then(|r| r.trim().strip_prefix("http://"))
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string)
        })
    }

    /// SIGINT, and a clean exit within 20 s.
    pub fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "watt dev exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "watt dev did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
