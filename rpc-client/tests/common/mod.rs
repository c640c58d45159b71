//! Shared by the integration tests: a `watt dev` process and raw RPC calls.
#![allow(dead_code)] // each test file uses a part

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The `watt` binary: built by the same `cargo test` / nextest run into the
/// same target directory (`target/<profile>/watt`).
pub fn watt_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("watt");
    assert!(
        bin.exists(),
        "{} is missing: build the workspace (`cargo build -p watt-node`) first",
        bin.display()
    );
    bin
}

/// A `watt dev` process.
pub struct Node {
    /// The process.
    pub child: Child,
    /// Its RPC URL.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `watt dev` (no simulated community, 600x clock, 200 ms blocks)
/// on `db` with RPC on `rpc_addr`; the process and its RPC URL.
pub fn spawn_dev(db: &Path, rpc_addr: &str) -> (Child, String) {
    let mut child = Command::new(watt_bin())
        .args(["dev", "--no-sim", "--speed", "600", "--block-time", "200ms"])
        .args(["--rpc-addr", rpc_addr, "--base-path"])
        .arg(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watt dev starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let addr = line
                .trim()
                .strip_prefix("rpc")
                .and_then(|r| r.trim().strip_prefix("http://"))
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string);
            if let Some(a) = addr {
                let _ = tx.send(a);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("watt dev prints its RPC address");
    (child, format!("http://{addr}"))
}

/// A fresh `watt dev` in a temporary directory on a free port.
pub fn start_node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let (child, url) = spawn_dev(&dir.path().join("db"), "127.0.0.1:0");
    Node {
        child,
        url,
        _dir: dir,
    }
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One JSON-RPC call; its `result`.
pub fn rpc(url: &str, method: &str, params: Value) -> Value {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let body =
        serde_json::json!({"jsonrpc":"2.0","id":1,"method":method,"params":params}).to_string();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let json: Value = serde_json::from_str(out.split_once("\r\n\r\n").unwrap().1).unwrap();
    json["result"].clone()
}
