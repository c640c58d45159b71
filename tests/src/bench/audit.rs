//! Row 5, `watt audit` replay: the stopped dev node's chain exported with
//! `watt chain export`, then audited by the `watt audit` binary, timed, with
//! the auditor's peak resident memory read from `/proc/<pid>/status` until
//! it exits.

use super::nodes::watt_bin;
use super::procfs::status_kib;
use anyhow::{bail, Context};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the audit took.
pub struct AuditReport {
    /// Wall time of `watt audit`.
    pub wall: Duration,
    /// Its peak resident memory, bytes.
    pub peak_rss: u64,
    /// The export file's size, bytes.
    pub export_bytes: u64,
}

/// Exports the stopped node's `data` directory into `dir` and audits it.
pub fn export_and_audit(data: &Path, dir: &Path) -> anyhow::Result<AuditReport> {
    let file = dir.join("chain.wexp");
    let st = Command::new(watt_bin()?)
        .args(["chain", "export", "--base-path"])
        .arg(data)
        .arg(&file)
        .stdout(Stdio::null())
        .status()?;
    if !st.success() {
        bail!("watt chain export failed");
    }
    let export_bytes = std::fs::metadata(&file)?.len();
    let start = Instant::now();
    let mut child = Command::new(watt_bin()?)
        // The bench audits the chain it just made.
        .args(["audit", "--quiet", "--trust-source-genesis", "--source"])
        .arg(&file)
        .arg("--out")
        .arg(dir.join("audit-report"))
        .stdout(Stdio::null())
        .spawn()
        .context("starting watt audit")?;
    let pid = child.id();
    let mut peak = 0;
    let deadline = start + Duration::from_secs(3600);
    let status = loop {
        if let Some(k) = status_kib(pid, "VmHWM") {
            peak = peak.max(k);
        }
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("watt audit ran for more than an hour");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let wall = start.elapsed();
    if !status.success() {
        bail!("watt audit failed: {status}");
    }
    Ok(AuditReport {
        wall,
        peak_rss: peak,
        export_bytes,
    })
}
