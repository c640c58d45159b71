//! What the `watt-wallet` process tests share: a [`Wallet`] that runs the
//! real binary with its own keystore, and one-call JSON-RPC.

// Each test binary uses its own part of this.
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use watt_genesis::dev_keypair;
use watt_test_support::DevProc;

/// A keystore in a temporary directory and the node the wallet talks to.
pub struct Wallet {
    /// The temporary directory (the keystore is `keys` inside it).
    pub keystore: tempfile::TempDir,
    /// The node's RPC URL.
    pub url: String,
}

impl Wallet {
    /// A wallet with an empty keystore, talking to `url`.
    pub fn new(url: &str) -> Wallet {
        Wallet {
            keystore: tempfile::tempdir().unwrap(),
            url: url.to_string(),
        }
    }

    /// The keystore directory.
    pub fn dir(&self) -> PathBuf {
        self.keystore.path().join("keys")
    }

    /// Runs `watt-wallet` with `args`, the keystore and `passphrase`.
    pub fn run(&self, passphrase: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_watt-wallet"))
            .arg("--keystore")
            .arg(self.dir())
            .args(["--rpc-url", &self.url, "--passphrase-env", "WALLET_PASS"])
            .args(args)
            .env("WALLET_PASS", passphrase)
            .output()
            .expect("watt-wallet runs")
    }

    /// Runs it with the right passphrase; its stdout, or a panic.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run("correct horse", args);
        assert!(
            out.status.success(),
            "watt-wallet {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Runs it with `--output json`; the parsed output.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).expect("--output json is JSON")
    }

    /// Imports the public dev key `name` (a loose seed file is refused first).
    pub fn import_dev(&self, name: &str) {
        use std::os::unix::fs::PermissionsExt;
        let seed = self.keystore.path().join(format!("{name}.seed"));
        let seed_hex = format!("0x{}", hex::encode(dev_keypair(name).seed()));
        std::fs::write(&seed, seed_hex).unwrap();
        let import = ["key", "import", name, "--seed-file", seed.to_str().unwrap()];
        // A seed others can read is refused; the owner's alone is taken.
        std::fs::set_permissions(&seed, std::fs::Permissions::from_mode(0o644)).unwrap();
        let loose = self.run("correct horse", &import);
        assert!(!loose.status.success());
        assert!(String::from_utf8_lossy(&loose.stderr).contains("chmod 600"));
        std::fs::set_permissions(&seed, std::fs::Permissions::from_mode(0o600)).unwrap();
        self.ok(&import);
    }
}

/// One JSON-RPC call; its `result` (null on an error).
pub fn rpc(node: &DevProc, method: &str, params: Value) -> Value {
    watt_test_support::rpc_call_raw(node.addr(), method, params)["result"].clone()
}

/// The latest block's time, unix seconds.
pub fn chain_now(node: &DevProc) -> u64 {
    rpc(node, "chain_getFinalizedHead", Value::Null)["timestampMs"]
        .as_u64()
        .unwrap_or(0)
        / 1000
}

/// Waits (at most 60 s) until the latest block's time is at least `unix_s`.
pub fn wait_chain(node: &DevProc, unix_s: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while chain_now(node) < unix_s {
        assert!(Instant::now() < deadline, "chain time too slow");
        std::thread::sleep(Duration::from_millis(50));
    }
}
