//! Test support for every crate that runs the `watt` binary: one `watt dev`
//! process ([`DevProc`]), a directory written by `watt testnet` with one real
//! `watt run` process per node ([`Testnet`], [`NodeProc`]), and JSON-RPC
//! calls over plain HTTP/1.1 that need no async runtime.
//!
//! Every wait has a deadline and fails with what it was waiting for; every
//! process is killed when its [`NodeProc`] is dropped. Tests that use this
//! run one at a time (the `processes` group in .config/nextest.toml): the
//! nodes share two cores.

mod chromium;

pub use chromium::{Chromium, Page};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use watt_runtime::crypto::Keypair;

/// The `watt` binary: the one `WATT_BIN` names, or the one the same cargo
/// run built into the same target directory (`target/<profile>/watt`, beside
/// a binary or one level above a test in `deps/`).
pub fn try_watt_bin() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("WATT_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
    let dir = exe.parent().ok_or("the current exe has no folder")?;
    let found = [Some(dir), dir.parent()]
        .into_iter()
        .flatten()
        .map(|d| d.join("watt"))
        .find(|b| b.exists());
    found.ok_or_else(|| {
        format!(
            "no watt binary beside {}: build it first (`cargo build -p watt-node --bin watt`) or set WATT_BIN",
            exe.display()
        )
    })
}

/// [`try_watt_bin`], failing the test if there is none.
pub fn watt_bin() -> PathBuf {
    try_watt_bin().unwrap_or_else(|e| panic!("{e}"))
}

/// A command for the `watt` binary ([`watt_bin`]).
pub fn watt_command() -> Command {
    Command::new(watt_bin())
}

/// Runs `watt` with `args` to completion; its stdout, or a panic with its
/// stderr.
pub fn watt(args: &[&str]) -> String {
    let out = Command::new(watt_bin())
        .args(args)
        .output()
        .expect("watt runs");
    assert!(
        out.status.success(),
        "watt {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `f` every 100 ms until it returns `Some`, failing after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Reads a node key file (`watt key generate`).
pub fn read_key(path: &Path) -> Keypair {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("key file")).expect("json");
    let seed = v["secret_seed"].as_str().expect("secret_seed");
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(seed.trim_start_matches("0x"), &mut bytes).expect("hex seed");
    Keypair::from_seed(bytes)
}

/// One node of a test network: its folder (with `node.toml`) and, while
/// running, its process.
pub struct NodeProc {
    /// `validator-1`, `full-1`, ...
    pub name: String,
    /// Its folder.
    pub dir: PathBuf,
    /// Its RPC address (`127.0.0.1:port`).
    pub rpc_addr: String,
    /// Extra environment for the next start (e.g. a failpoint).
    pub env: Vec<(String, String)>,
    /// Whether the next start is a validator's first on a new chain (it
    /// passes `--new-chain`); true until the first start.
    pub new_chain: bool,
    child: Option<Child>,
}

impl NodeProc {
    /// A node whose folder holds a `node.toml`.
    pub fn new(name: &str, dir: PathBuf) -> NodeProc {
        let text = std::fs::read_to_string(dir.join("node.toml")).expect("node.toml");
        let cfg: toml::Value = toml::from_str(&text).expect("node.toml parses");
        let rpc_addr = cfg["rpc"]["addr"].as_str().expect("rpc.addr").to_string();
        NodeProc {
            name: name.into(),
            dir,
            rpc_addr,
            env: Vec::new(),
            new_chain: cfg.get("validator_key").is_some(),
            child: None,
        }
    }

    /// The log file (stdout and stderr of every run, appended).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("node.log")
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts `watt run --config node.toml` (with `--new-chain` on a
    /// validator's first start).
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let new_chain = std::mem::take(&mut self.new_chain);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        let child = Command::new(watt_bin())
            .arg("run")
            .arg("--config")
            .arg(self.dir.join("node.toml"))
            .args(new_chain.then_some("--new-chain"))
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("watt run starts");
        self.child = Some(child);
    }

    /// Kills the process at once (SIGKILL), as a crash or power loss would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops it with SIGTERM and waits for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = c.id() as i32;
            send_sigterm(pid);
            let status = wait_exit(&mut c, Duration::from_secs(20));
            assert!(status.success(), "{} exited with {status}", self.name);
        }
    }

    /// Waits for the process to exit by itself (e.g. at a failpoint).
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let mut c = self.child.take().expect("running");
        wait_exit(&mut c, timeout)
    }

    /// Whether the process is running.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// One JSON-RPC call; the result or the error object as text.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        rpc_call(&self.rpc_addr, method, params)
    }

    /// The finalised height, if it answers.
    pub fn height(&self) -> Option<u64> {
        let head = self.call("chain_getFinalizedHead", json!([])).ok()?;
        head["height"].as_u64()
    }

    /// The header at a height.
    pub fn header(&self, height: u64) -> Value {
        self.call("chain_getHeader", json!([height]))
            .unwrap_or_else(|e| panic!("{}: chain_getHeader({height}): {e}", self.name))
    }

    /// Waits until its finalised height reaches `h`.
    pub fn wait_height(&self, h: u64, timeout: Duration) -> u64 {
        wait_for(
            &format!("{} to finalise height {h}", self.name),
            timeout,
            || self.height().filter(|x| *x >= h),
        )
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn send_sigterm(pid: i32) {
    // std has no way to send SIGTERM without unsafe code (forbidden in
    // this workspace); `kill` is in every Debian base image.
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

fn wait_exit(c: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = c.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = c.kill();
            panic!("process did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A JSON-RPC call over plain HTTP/1.1; the response body exactly as the
/// node sent it.
pub fn rpc_call_text(addr: &str, method: &str, params: Value) -> Result<String, String> {
    use std::io::{Read, Write};
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    Ok(out
        .split_once("\r\n\r\n")
        .map_or(out.as_str(), |(_, b)| b)
        .to_string())
}

/// A JSON-RPC call over plain HTTP/1.1; the whole response object (with
/// `result` or `error`), or `null` if the node does not answer.
pub fn rpc_call_raw(addr: &str, method: &str, params: Value) -> Value {
    rpc_call_text(addr, method, params)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null)
}

/// A JSON-RPC call over plain HTTP/1.1: its `result`, or its `error` as
/// text.
pub fn rpc_call(addr: &str, method: &str, params: Value) -> Result<Value, String> {
    let text = rpc_call_text(addr, method, params)?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
    match v.get("error") {
        Some(e) => Err(e.to_string()),
        None => Ok(v["result"].clone()),
    }
}

/// A network written by `watt testnet --fast` into a temporary directory.
pub struct Testnet {
    /// The directory (genesis.json, regulator.key, one folder per node).
    pub dir: tempfile::TempDir,
    /// Validators first, then full nodes.
    pub nodes: Vec<NodeProc>,
}

impl Testnet {
    /// Writes a network of `validators` and `full` nodes with `block_time`
    /// (e.g. `200ms`) and short consensus timeouts; starts nothing.
    pub fn create(validators: u32, full: u32, block_time: &str) -> Testnet {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("net");
        watt(&[
            "testnet",
            "--validators",
            &validators.to_string(),
            "--full-nodes",
            &full.to_string(),
            "--out",
            out.to_str().expect("utf-8 path"),
            "--fast",
            "--block-time",
            block_time,
        ]);
        let mut nodes = Vec::new();
        for i in 1..=validators {
            let name = format!("validator-{i}");
            nodes.push(NodeProc::new(&name, out.join(&name)));
        }
        for i in 1..=full {
            let name = format!("full-{i}");
            nodes.push(NodeProc::new(&name, out.join(&name)));
        }
        Testnet { dir, nodes }
    }

    /// The folder `watt testnet` wrote.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("net")
    }

    /// Starts the nodes with these indexes.
    pub fn start(&mut self, which: &[usize]) {
        for &i in which {
            self.nodes[i].start();
        }
    }

    /// Waits until every listed node has finalised height `h`.
    pub fn wait_height(&self, which: &[usize], h: u64, timeout: Duration) {
        for &i in which {
            self.nodes[i].wait_height(h, timeout);
        }
    }

    /// The highest finalised height among the listed nodes.
    pub fn max_height(&self, which: &[usize]) -> u64 {
        which
            .iter()
            .filter_map(|&i| self.nodes[i].height())
            .max()
            .unwrap_or(0)
    }

    /// Asserts that the listed nodes hold the same block at every height
    /// from 1 to `upto`: no fork.
    pub fn assert_same_chain(&self, which: &[usize], upto: u64) {
        for h in 1..=upto {
            let hashes: Vec<(String, String)> = which
                .iter()
                .map(|&i| {
                    let n = &self.nodes[i];
                    (n.name.clone(), n.header(h)["hash"].to_string())
                })
                .collect();
            assert!(
                hashes.windows(2).all(|w| w[0].1 == w[1].1),
                "fork at height {h}: {hashes:?}"
            );
        }
    }
}

/// The chain id a node serves.
pub fn chain_id(node: &NodeProc) -> watt_runtime::crypto::Hash {
    let v = node
        .call("system_chainId", json!([]))
        .expect("system_chainId");
    watt_runtime::crypto::Hash::from_hex(v.as_str().expect("hex")).expect("hash")
}

/// Free loopback ports, all held until every one is chosen.
pub fn free_ports(n: usize) -> Vec<u16> {
    let ls: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    ls.iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

impl Drop for Testnet {
    /// On a failing test, shows the end of every node's log.
    fn drop(&mut self) {
        if std::thread::panicking() {
            for n in &self.nodes {
                let log = n.log();
                let lines: Vec<&str> = log.lines().collect();
                eprintln!("---- {} (last lines of {})", n.name, n.log_path().display());
                for l in &lines[lines.len().saturating_sub(12)..] {
                    eprintln!("{l}");
                }
            }
        }
    }
}

/// A `watt dev` process (no simulated community) in a temporary
/// directory, killed when dropped.
pub struct DevProc {
    /// The process.
    pub child: Child,
    /// Its RPC URL (`http://127.0.0.1:port`).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl DevProc {
    /// A fresh `watt dev` in a temporary directory on a free port.
    pub fn start() -> DevProc {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = DevProc::on(&dir.path().join("db"), "127.0.0.1:0");
        p._dir = Some(dir);
        p
    }

    /// `watt dev --no-sim --speed 600 --block-time 200ms` on `db` with RPC
    /// on `rpc_addr`; waits until it prints its RPC address.
    pub fn on(db: &Path, rpc_addr: &str) -> DevProc {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(watt_bin())
            .args(["dev", "--no-sim", "--speed", "600", "--block-time", "200ms"])
            .args(["--rpc-addr", rpc_addr, "--base-path"])
            .arg(db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("watt dev starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
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
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("watt dev did not print its RPC address within 30 s");
            }
        };
        DevProc {
            child,
            url: format!("http://{addr}"),
            _dir: None,
        }
    }

    /// The RPC address (`127.0.0.1:port`).
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// One JSON-RPC call; the result or the error object as text.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        rpc_call(self.addr(), method, params)
    }
}

impl Drop for DevProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    free_ports(1)[0]
}
