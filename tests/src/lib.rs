//! Harness for whole-network tests: a directory written by `watt testnet`
//! and one real `watt run` process per node, driven over JSON-RPC.
//!
//! Every wait has a deadline and fails with what it was waiting for; every
//! process is killed when its [`NodeProc`] is dropped. Tests that use this
//! run one at a time (the `processes` group in .config/nextest.toml): the
//! nodes share two cores.

pub mod bench;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use watt_runtime::crypto::Keypair;

/// The `watt` binary, built by the same test run into the same target
/// directory (`target/<profile>/watt`).
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

/// A JSON-RPC call over plain HTTP/1.1.
pub fn rpc_call(addr: &str, method: &str, params: Value) -> Result<Value, String> {
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
    let text = out.split_once("\r\n\r\n").map_or(out.as_str(), |(_, b)| b);
    let v: Value = serde_json::from_str(text).map_err(|e| format!("{e}: {text}"))?;
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

/// Signs `body` with `key`, submits it through `node` and waits for it to
/// be final; the height of its block.
pub fn submit(node: &NodeProc, key: &Keypair, body: watt_runtime::tx::Body) -> u64 {
    use watt_rpc_client::client::{Signer, WattClient};
    use watt_runtime::types::AccountId;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = WattClient::new(&format!("http://{}", node.rpc_addr)).expect("client");
        let chain = client.chain_id().await.expect("chain id");
        let nonce = client
            .next_nonce(AccountId(key.public()))
            .await
            .expect("nonce");
        let tx = Signer::new(Keypair::from_seed(key.seed()), chain).sign(nonce, body);
        client
            .submit_and_wait(&tx, Duration::from_secs(60))
            .await
            .unwrap_or_else(|e| panic!("{} refused or lost the transaction: {e}", node.name))
            .height
            .0
    })
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
