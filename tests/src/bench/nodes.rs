//! The processes under test: `watt dev` and a `watt testnet` of `watt run`
//! processes, all on 127.0.0.1, each killed when its handle is dropped
//! (also when the bench fails half way).

use anyhow::{bail, Context};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `watt` binary next to this one (`target/<profile>/watt`), or
/// `$WATT_BIN`.
pub fn watt_bin() -> anyhow::Result<PathBuf> {
    watt_test_support::try_watt_bin()
        .map_err(|e| anyhow::anyhow!("{e} (scripts/bench/run builds it)"))
}

/// A running `watt` process.
pub struct Proc {
    child: Option<Child>,
    /// Its RPC address.
    pub rpc: SocketAddr,
    /// Where its output goes.
    pub log: PathBuf,
}

impl Proc {
    /// Starts `watt args...` with output to `log`, then waits until its RPC
    /// answers.
    pub fn start(args: &[&str], rpc: SocketAddr, log: PathBuf) -> anyhow::Result<Proc> {
        let out = std::fs::File::create(&log)?;
        let child = Command::new(watt_bin()?)
            .args(args)
            .stdout(out.try_clone()?)
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .context("starting watt")?;
        let p = Proc {
            child: Some(child),
            rpc,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while crate::rpc_call(&rpc.to_string(), "system_health", serde_json::json!([])).is_err() {
            if Instant::now() > deadline {
                bail!(
                    "watt {args:?} did not serve RPC within 60 s; see {}",
                    p.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(p)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Stops it with SIGTERM and waits (then SIGKILL after 30 s).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A free loopback port.
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

/// Starts `watt dev` on a fresh data directory under `dir`, without the
/// simulated community, with the RPC rate limit off and room for the load
/// client's connections.
pub fn start_dev(dir: &Path, block_time: &str) -> anyhow::Result<Proc> {
    let rpc = free_addr()?;
    let base = dir.join("dev-data");
    Proc::start(
        &[
            "dev",
            "--no-sim",
            "--speed",
            "1",
            "--block-time",
            block_time,
            "--base-path",
            base.to_str().context("utf-8 path")?,
            "--rpc-addr",
            &rpc.to_string(),
            "--rpc-rate-limit",
            "0",
            "--rpc-max-connections",
            "512",
        ],
        rpc,
        dir.join("dev.log"),
    )
}

/// A `watt testnet --fast` of `validators` nodes with `block_time`, each
/// node's RPC rate limit off and per-address connection limit raised.
pub fn start_testnet(dir: &Path, validators: u32, block_time: &str) -> anyhow::Result<Vec<Proc>> {
    let out = dir.join("net");
    let status = Command::new(watt_bin()?)
        .args([
            "testnet",
            "--validators",
            &validators.to_string(),
            "--out",
            out.to_str().context("utf-8 path")?,
            "--fast",
            "--block-time",
            block_time,
        ])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("watt testnet failed");
    }
    let mut procs = Vec::new();
    for i in 1..=validators {
        let node = out.join(format!("validator-{i}"));
        let cfg_path = node.join("node.toml");
        let text = std::fs::read_to_string(&cfg_path)?;
        let text = text.replacen(
            "[rpc]\n",
            "[rpc]\nrate_limit_per_second = 0\nmax_connections = 512\nmax_connections_per_ip = 512\n",
            1,
        );
        std::fs::write(&cfg_path, &text)?;
        let cfg: toml::Value = toml::from_str(&text)?;
        let rpc: SocketAddr = cfg["rpc"]["addr"].as_str().context("rpc.addr")?.parse()?;
        procs.push(spawn_run(&cfg_path, rpc, node.join("node.log"))?);
    }
    Ok(procs)
}

fn spawn_run(cfg: &Path, rpc: SocketAddr, log: PathBuf) -> anyhow::Result<Proc> {
    let out = std::fs::File::create(&log)?;
    let child = Command::new(watt_bin()?)
        .arg("run")
        .arg("--config")
        .arg(cfg)
        // A fresh network: each validator's first start.
        .arg("--new-chain")
        .stdout(out.try_clone()?)
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .context("starting watt run")?;
    Ok(Proc {
        child: Some(child),
        rpc,
        log,
    })
}

/// Waits until `p` serves RPC and has finalised a block.
pub fn wait_finalising(p: &Proc, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let h = crate::rpc_call(
            &p.rpc.to_string(),
            "chain_getFinalizedHead",
            serde_json::json!([]),
        )
        .ok()
        .and_then(|v| v["height"].as_u64());
        if h.unwrap_or(0) >= 2 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "no block finalised within {timeout:?}; see {}",
                p.log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
