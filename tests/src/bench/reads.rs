//! Row 6, RPC reads: `credits_getBalance` from many concurrent keep-alive
//! connections for a fixed time.

use super::http::Conn;
use anyhow::bail;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use watt_runtime::types::AccountId;

/// What the read load saw.
pub struct ReadReport {
    /// Answered calls per second.
    pub per_second: f64,
    /// Calls that failed.
    pub errors: u64,
    /// The client's CPU time as a share of one core.
    pub client_cpu_share: f64,
}

/// `connections` connections (16 per loopback source address) each call
/// `credits_getBalance` on one of `accounts` in turn for `duration`.
pub async fn measure(
    rpc: SocketAddr,
    connections: usize,
    accounts: &[AccountId],
    duration: Duration,
) -> anyhow::Result<ReadReport> {
    let bodies: Arc<Vec<String>> = Arc::new(
        accounts
            .iter()
            .map(|a| {
                serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "credits_getBalance", "params": [a]})
                    .to_string()
            })
            .collect(),
    );
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut conns = Vec::new();
    for c in 0..connections {
        conns.push(Conn::connect(rpc, 1 + (c / 16) as u8).await?);
    }
    let cpu0 = super::procfs::cpu_time("self");
    let start = Instant::now();
    let end = start + duration;
    let mut tasks = Vec::new();
    for (c, mut conn) in conns.into_iter().enumerate() {
        let (bodies, ok, errors) = (bodies.clone(), ok.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while Instant::now() < end {
                match conn.post(&bodies[i % bodies.len()]).await {
                    Ok(r) if r.windows(9).any(|w| w == b"\"result\":") => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
                i += connections;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = super::procfs::cpu_time("self").saturating_sub(cpu0);
    let n = ok.load(Ordering::Relaxed);
    if n == 0 {
        bail!("no read was answered");
    }
    Ok(ReadReport {
        per_second: n as f64 / wall,
        errors: errors.load(Ordering::Relaxed),
        client_cpu_share: cpu.as_secs_f64() / wall,
    })
}
