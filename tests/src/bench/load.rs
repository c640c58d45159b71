//! The load client: pushes pre-signed transactions over RPC on several
//! keep-alive connections, follows finalised blocks, and reports when each
//! of its transactions was final.
//!
//! Saturating pushes send `tx_submitBatch` calls of up to `batch`
//! transactions (one verdict each), as a wallet or meter gateway with many
//! to send would; paced pushes (a rate) send each transaction on its own
//! with `tx_submit` when it is due, so that latency is not batching's.
//!
//! Every push is bounded twice: at most `window` of its transactions are
//! unfinalised at any time (below the mempool's 20,000, so the node is
//! never asked to evict), and the whole push ends at its deadline.

use super::http::{batch_request, submit_request, Conn};
use anyhow::{bail, Context};
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use watt_rpc_client::client::{follow_heads, Retry};
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::encode;
use watt_runtime::tx::Transaction;
use watt_runtime::types::Height;

/// A signed transaction ready to send: its id and its encoding in hex.
pub struct Prepared {
    /// The transaction id.
    pub hash: Hash,
    /// `0x` and the encoded transaction in hex.
    pub hex: String,
}

impl Prepared {
    /// Encodes `tx` once, before any clock runs.
    pub fn new(tx: &Transaction) -> Prepared {
        Prepared {
            hash: tx.hash(),
            hex: format!("0x{}", hex::encode(encode(tx))),
        }
    }
}

/// How to push.
#[derive(Clone, Debug)]
pub struct PushOptions {
    /// The nodes' RPC addresses; transactions go to them in turn.
    pub targets: Vec<SocketAddr>,
    /// The node whose finalised blocks are followed.
    pub follow: SocketAddr,
    /// Connections per target.
    pub connections: usize,
    /// Most of this push's transactions unfinalised at once.
    pub window: usize,
    /// Most transactions in one `tx_submitBatch` call (1: `tx_submit`).
    /// A paced push (`rate`) always sends them one by one.
    pub batch: usize,
    /// Transactions per second to submit at; `None`: as fast as the window
    /// allows.
    pub rate: Option<f64>,
    /// When to give up.
    pub deadline: Duration,
}

/// What a push saw.
#[derive(Debug, Default)]
pub struct PushReport {
    /// Transactions pushed.
    pub total: usize,
    /// Of those, finalised.
    pub finalized: usize,
    /// Refused at submission (with the first reason).
    pub rejected: usize,
    /// The first refusal.
    pub first_error: Option<String>,
    /// Submit-to-finality latency of each finalised one.
    pub latencies: Vec<Duration>,
    /// (seconds since start, transactions of this push final so far), one
    /// entry per finalised block.
    pub progress: Vec<(f64, usize)>,
    /// Longest gap between the timestamps of two consecutive finalised
    /// blocks seen while pushing.
    pub max_block_gap: Duration,
    /// Wall time of the push.
    pub wall: Duration,
    /// CPU time this process spent in it (the load client's own cost).
    pub client_cpu: Duration,
}

impl PushReport {
    /// Finalised transactions per second while the chain was saturated:
    /// between 10 % and 90 % of the push, so that the ramp-up and the tail
    /// do not count.
    pub fn sustained_tps(&self) -> f64 {
        let n = self.finalized;
        let at = |frac: f64| {
            let want = (n as f64 * frac) as usize;
            self.progress
                .iter()
                .find(|(_, c)| *c >= want)
                .map(|(t, c)| (*t, *c))
        };
        match (at(0.1), at(0.9)) {
            (Some((t0, c0)), Some((t1, c1))) if t1 > t0 && c1 > c0 => (c1 - c0) as f64 / (t1 - t0),
            _ => n as f64 / self.wall.as_secs_f64(),
        }
    }

    /// The `p`-th percentile latency (0..=100).
    pub fn latency(&self, p: f64) -> Duration {
        let mut v = self.latencies.clone();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        v[((v.len() - 1) as f64 * p / 100.0).round() as usize]
    }

    /// Blocks that finalised some of this push, the mean transactions per
    /// such block, and the mean time between them.
    pub fn blocks(&self) -> (usize, f64, Duration) {
        let n = self.progress.len();
        let per_block = self.finalized as f64 / n.max(1) as f64;
        let interval = match (self.progress.first(), self.progress.last()) {
            (Some(a), Some(b)) if n > 1 => Duration::from_secs_f64((b.0 - a.0) / (n - 1) as f64),
            _ => Duration::ZERO,
        };
        (n, per_block, interval)
    }

    /// One line for the log: blocks, their size and pace.
    pub fn blocks_line(&self) -> String {
        let (n, per_block, interval) = self.blocks();
        format!(
            "{n} blocks, {per_block:.0} tx per block, one every {:.0} ms",
            interval.as_secs_f64() * 1e3
        )
    }

    /// The client's CPU time as a share of one core over the push.
    pub fn client_cpu_share(&self) -> f64 {
        self.client_cpu.as_secs_f64() / self.wall.as_secs_f64()
    }
}

struct Shared {
    pending: Mutex<HashMap<Hash, Instant>>,
    latencies: Mutex<Vec<Duration>>,
    progress: Mutex<Vec<(f64, usize)>>,
    max_gap_ms: AtomicUsize,
    finalized: AtomicUsize,
    rejected: AtomicUsize,
    first_error: Mutex<Option<String>>,
    window: Semaphore,
}

/// Pushes `txs` and waits until all are final, refused, or the deadline.
pub async fn push(txs: Vec<Prepared>, opts: &PushOptions) -> anyhow::Result<PushReport> {
    let total = txs.len();
    let cpu0 = super::procfs::cpu_time("self");
    let start = Instant::now();
    let shared = Arc::new(Shared {
        pending: Mutex::new(HashMap::with_capacity(total)),
        latencies: Mutex::new(Vec::with_capacity(total)),
        progress: Mutex::new(Vec::new()),
        max_gap_ms: AtomicUsize::new(0),
        finalized: AtomicUsize::new(0),
        rejected: AtomicUsize::new(0),
        first_error: Mutex::new(None),
        window: Semaphore::new(opts.window.max(1)),
    });
    // Follow finalised heads from the next height, before anything is sent.
    let mut ctl = Conn::connect(opts.follow, 1).await?;
    let head = ctl
        .call("chain_getFinalizedHead", json!([]))
        .await
        .map_err(anyhow::Error::msg)?;
    let from = head["height"].as_u64().unwrap_or(0) + 1;
    let mut heads = follow_heads(
        format!("ws://{}", opts.follow),
        Height(from),
        Retry::default(),
    );
    let tracker = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut last_ts: Option<u64> = None;
            while let Some(h) = heads.recv().await {
                let height = h.height.0;
                let blocks = ctl.call("chain_getBlocks", json!([height, 1])).await;
                let now = Instant::now();
                let Ok(blocks) = blocks else { continue };
                let mut ours = 0;
                {
                    let mut pending = shared.pending.lock().expect("lock");
                    let mut lat = shared.latencies.lock().expect("lock");
                    for t in blocks[0]["transactions"].as_array().into_iter().flatten() {
                        let Some(hash) = t["hash"].as_str().and_then(|s| Hash::from_hex(s).ok())
                        else {
                            continue;
                        };
                        if let Some(sent) = pending.remove(&hash) {
                            lat.push(now - sent);
                            ours += 1;
                        }
                    }
                }
                if let Some(prev) = last_ts {
                    let gap = h.timestamp_ms.saturating_sub(prev) as usize;
                    shared.max_gap_ms.fetch_max(gap, Ordering::Relaxed);
                }
                last_ts = Some(h.timestamp_ms);
                let done = shared.finalized.fetch_add(ours, Ordering::AcqRel) + ours;
                shared
                    .progress
                    .lock()
                    .expect("lock")
                    .push(((now - start).as_secs_f64(), done));
                shared.window.add_permits(ours);
            }
        })
    };
    let txs = Arc::new(txs);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for (t, target) in opts.targets.iter().enumerate() {
        for c in 0..opts.connections {
            // Spread connections over loopback source addresses: the node
            // limits connections per client address.
            let source = 1 + ((t * opts.connections + c) / 16) as u8;
            let mut conn = Conn::connect(*target, source)
                .await
                .with_context(|| format!("connecting to {target}"))?;
            let (txs, next, shared, rate) = (txs.clone(), next.clone(), shared.clone(), opts.rate);
            let batch = match opts.rate {
                Some(_) => 1,
                None => opts
                    .batch
                    .clamp(1, watt_rpc_client::types::MAX_SUBMIT_BATCH),
            };
            workers.push(tokio::spawn(async move {
                loop {
                    // Permits for a whole batch, or what is left.
                    let left = txs.len().saturating_sub(next.load(Ordering::Acquire));
                    let want = batch.min(left.max(1)) as u32;
                    let Ok(permit) = shared.window.acquire_many(want).await else {
                        return Ok::<(), std::io::Error>(());
                    };
                    permit.forget();
                    let i = next.fetch_add(want as usize, Ordering::AcqRel);
                    let end = (i + want as usize).min(txs.len());
                    if i >= txs.len() {
                        shared.window.add_permits(want as usize);
                        return Ok(());
                    }
                    shared.window.add_permits(want as usize - (end - i));
                    // Connections take transactions in order, whichever
                    // node they talk to: a sender's next nonce reaches the
                    // other validators by gossip.
                    if let Some(rate) = rate {
                        let due = start + Duration::from_secs_f64(i as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let chunk = &txs[i..end];
                    {
                        let now = Instant::now();
                        let mut pending = shared.pending.lock().expect("lock");
                        for p in chunk {
                            pending.insert(p.hash, now);
                        }
                    }
                    let refused = if chunk.len() == 1 {
                        let resp = conn.post(&submit_request(&chunk[0].hex)).await?;
                        match String::from_utf8_lossy(&resp).contains("\"result\"") {
                            true => Vec::new(),
                            false => vec![(0, String::from_utf8_lossy(&resp).into_owned())],
                        }
                    } else {
                        let resp = conn.post(&batch_request(chunk)).await?;
                        refusals(&resp, chunk.len())
                    };
                    if !refused.is_empty() {
                        let mut pending = shared.pending.lock().expect("lock");
                        for (k, _) in &refused {
                            pending.remove(&chunk[*k].hash);
                        }
                        drop(pending);
                        shared.rejected.fetch_add(refused.len(), Ordering::AcqRel);
                        shared.window.add_permits(refused.len());
                        let mut e = shared.first_error.lock().expect("lock");
                        if e.is_none() {
                            *e = refused.into_iter().next().map(|(_, why)| why);
                        }
                    }
                }
            }));
        }
    }
    let deadline = start + opts.deadline;
    loop {
        let done =
            shared.finalized.load(Ordering::Acquire) + shared.rejected.load(Ordering::Acquire);
        if done >= total {
            break;
        }
        if Instant::now() > deadline {
            shared.window.close();
            for w in &workers {
                w.abort();
            }
            tracker.abort();
            bail!(
                "push of {total} timed out after {:?}: {} final, {} refused (first: {:?})",
                opts.deadline,
                shared.finalized.load(Ordering::Acquire),
                shared.rejected.load(Ordering::Acquire),
                shared.first_error.lock().expect("lock").clone()
            );
        }
        // A connection that failed ends the push at once, not at the
        // deadline.
        if let Some(i) = workers
            .iter()
            .position(|w| w.is_finished() && next.load(Ordering::Acquire) < total)
        {
            let w = workers.swap_remove(i);
            if let Ok(Err(e)) = w.await {
                shared.window.close();
                for w in &workers {
                    w.abort();
                }
                tracker.abort();
                bail!("a submitting connection failed: {e}");
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let wall = start.elapsed();
    let client_cpu = super::procfs::cpu_time("self").saturating_sub(cpu0);
    shared.window.close();
    for w in workers {
        match w.await {
            Ok(Err(e)) => bail!("a submitting connection failed: {e}"),
            Err(e) if !e.is_cancelled() => bail!("a submitting task panicked: {e}"),
            _ => {}
        }
    }
    tracker.abort();
    let report = PushReport {
        total,
        finalized: shared.finalized.load(Ordering::Acquire),
        rejected: shared.rejected.load(Ordering::Acquire),
        first_error: shared.first_error.lock().expect("lock").clone(),
        latencies: std::mem::take(&mut *shared.latencies.lock().expect("lock")),
        progress: std::mem::take(&mut *shared.progress.lock().expect("lock")),
        max_block_gap: Duration::from_millis(shared.max_gap_ms.load(Ordering::Acquire) as u64),
        wall,
        client_cpu,
    };
    if report.rejected > 0 {
        eprintln!(
            "  {} of {total} refused; first: {}",
            report.rejected,
            report.first_error.as_deref().unwrap_or("?")
        );
    }
    Ok(report)
}

/// The transactions (index in the call, reason) a `tx_submitBatch`
/// response refused; every one when the call itself failed.
fn refusals(resp: &[u8], n: usize) -> Vec<(usize, String)> {
    let all = |why: String| (0..n).map(|k| (k, why.clone())).collect();
    let v: serde_json::Value = match serde_json::from_slice(resp) {
        Ok(v) => v,
        Err(_) => return all(String::from_utf8_lossy(resp).into_owned()),
    };
    let Some(verdicts) = v["result"].as_array() else {
        return all(v.to_string());
    };
    if verdicts.len() != n {
        return all(format!("{} verdicts for {n} transactions", verdicts.len()));
    }
    verdicts
        .iter()
        .enumerate()
        .filter(|(_, x)| x["ok"] != serde_json::Value::Bool(true))
        .map(|(k, x)| (k, x["reason"].as_str().unwrap_or("refused").to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(progress: Vec<(f64, usize)>, wall_s: f64) -> PushReport {
        PushReport {
            finalized: progress.last().map_or(0, |p| p.1),
            progress,
            wall: Duration::from_secs_f64(wall_s),
            ..Default::default()
        }
    }

    #[test]
    fn a_batch_response_names_each_refusal_and_a_failed_call_refuses_all() {
        let ok = br#"{"jsonrpc":"2.0","id":1,"result":[{"ok":true,"hash":"0x00"},{"ok":false,"hash":null,"reason":"bad"},{"ok":true,"hash":"0x01"}]}"#;
        assert_eq!(refusals(ok, 3), vec![(1, "bad".to_string())]);
        let limited = br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32029,"message":"rate limit"}}"#;
        assert_eq!(refusals(limited, 2).len(), 2);
        assert_eq!(
            refusals(ok, 2).len(),
            2,
            "a verdict count that does not match"
        );
        assert_eq!(refusals(b"garbage", 1).len(), 1);
    }

    #[test]
    fn sustained_rate_leaves_out_ramp_and_tail() {
        // 1,000 in a slow first block, then 1,000 per 0.1 s, then a slow
        // tail: the rate is that of the middle.
        let mut p = vec![(1.0, 1_000)];
        for i in 1..=8 {
            p.push((1.0 + 0.1 * i as f64, 1_000 + 1_000 * i));
        }
        p.push((5.0, 10_000));
        let r = report(p, 5.0);
        assert!(
            (r.sustained_tps() - 10_000.0).abs() < 1.0,
            "{}",
            r.sustained_tps()
        );
    }

    #[test]
    fn one_block_falls_back_to_the_whole_push() {
        let r = report(vec![(0.5, 100)], 2.0);
        assert_eq!(r.sustained_tps(), 50.0);
    }

    #[test]
    fn percentiles_and_blocks() {
        let mut r = report(vec![(1.0, 10), (1.5, 20), (2.0, 30)], 2.0);
        r.latencies = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(r.latency(50.0), Duration::from_millis(51));
        assert_eq!(r.latency(99.0), Duration::from_millis(99));
        assert_eq!(r.blocks(), (3, 10.0, Duration::from_millis(500)));
    }
}
