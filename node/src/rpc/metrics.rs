//! Prometheus metrics served at `GET /metrics`, and the finality clock that
//! `/health/ready` and `system_health` read.

use crate::chain::Committed;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A method label. Unknown method names are all counted as `unknown`, so a
/// caller cannot grow the label set.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabel {
    /// The method.
    pub method: String,
}

/// A RocksDB table label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabel {
    /// The column family.
    pub table: String,
}

type HistogramFamily = Family<MethodLabel, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 100 µs to ~1.6 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 15))
}

/// How far back the transaction rate looks.
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// The node's metrics.
pub struct Metrics {
    registry: Registry,
    best_height: Gauge,
    finalized_height: Gauge,
    mempool_txs: Gauge,
    mempool_bytes: Gauge,
    txs_finalized: Counter,
    tx_rate: Gauge<f64, std::sync::atomic::AtomicU64>,
    rpc_latency: HistogramFamily,
    rpc_errors: Family<MethodLabel, Counter>,
    rpc_rate_limited: Counter,
    db_bytes: Family<TableLabel, Gauge>,
    db_keys: Family<TableLabel, Gauge>,
    recent: Mutex<Recent>,
}

struct Recent {
    last_final: Instant,
    blocks: VecDeque<(Instant, u64)>,
}

impl Metrics {
    /// A fresh registry; the finality clock starts now.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("watt");
        let m = Metrics {
            best_height: Gauge::default(),
            finalized_height: Gauge::default(),
            mempool_txs: Gauge::default(),
            mempool_bytes: Gauge::default(),
            txs_finalized: Counter::default(),
            tx_rate: Gauge::default(),
            rpc_latency: HistogramFamily::new_with_constructor(latency_histogram),
            rpc_errors: Family::default(),
            rpc_rate_limited: Counter::default(),
            db_bytes: Family::default(),
            db_keys: Family::default(),
            recent: Mutex::new(Recent {
                last_final: Instant::now(),
                blocks: VecDeque::new(),
            }),
            registry: Registry::default(),
        };
        registry.register(
            "best_height",
            "Height of the highest block",
            m.best_height.clone(),
        );
        registry.register(
            "finalized_height",
            "Height of the highest finalised block",
            m.finalized_height.clone(),
        );
        registry.register(
            "mempool_transactions",
            "Transactions waiting in the mempool",
            m.mempool_txs.clone(),
        );
        registry.register(
            "mempool_bytes",
            "Encoded size of the mempool's transactions",
            m.mempool_bytes.clone(),
        );
        registry.register(
            "transactions_finalized",
            "Transactions in finalised blocks since the node started",
            m.txs_finalized.clone(),
        );
        registry.register(
            "transactions_per_second",
            "Finalised transactions per second over the last minute",
            m.tx_rate.clone(),
        );
        registry.register(
            "rpc_request_duration_seconds",
            "RPC call latency by method",
            m.rpc_latency.clone(),
        );
        registry.register(
            "rpc_errors",
            "RPC calls answered with an error, by method",
            m.rpc_errors.clone(),
        );
        registry.register(
            "rpc_rate_limited",
            "RPC calls refused by the per-client rate limit",
            m.rpc_rate_limited.clone(),
        );
        registry.register(
            "db_size_bytes",
            "Estimated live size of each RocksDB table",
            m.db_bytes.clone(),
        );
        registry.register(
            "db_keys",
            "Estimated number of keys in each RocksDB table",
            m.db_keys.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Records a finalised block.
    pub fn on_block(&self, c: &Committed) {
        let h = c.header.height.0 as i64;
        self.best_height.set(h);
        self.finalized_height.set(h);
        self.txs_finalized.inc_by(c.txs as u64);
        let now = Instant::now();
        let mut r = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        r.last_final = now;
        r.blocks.push_back((now, c.txs as u64));
        while r
            .blocks
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
        {
            r.blocks.pop_front();
        }
        let txs: u64 = r.blocks.iter().map(|(_, n)| n).sum();
        self.tx_rate.set(txs as f64 / RATE_WINDOW.as_secs_f64());
    }

    /// Sets the heights (at start, before any block is seen).
    pub fn set_heights(&self, best: u64, finalized: u64) {
        self.best_height.set(best as i64);
        self.finalized_height.set(finalized as i64);
    }

    /// Wall time since the last block was finalised (or since the node
    /// started, before the first).
    pub fn since_last_final(&self) -> Duration {
        self.recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last_final
            .elapsed()
    }

    /// Records an RPC call.
    pub fn observe_call(&self, method: &str, took: Duration, failed: bool) {
        let label = MethodLabel {
            method: method.to_string(),
        };
        self.rpc_latency
            .get_or_create(&label)
            .observe(took.as_secs_f64());
        if failed {
            self.rpc_errors.get_or_create(&label).inc();
        }
    }

    /// Records a call refused by the rate limit.
    pub fn rate_limited(&self) {
        self.rpc_rate_limited.inc();
    }

    /// Sets the mempool gauges.
    pub fn set_mempool(&self, txs: usize, bytes: usize) {
        self.mempool_txs.set(txs as i64);
        self.mempool_bytes.set(bytes as i64);
    }

    /// Sets a table's size gauges.
    pub fn set_table(&self, table: &str, keys: u64, bytes: u64) {
        let label = TableLabel {
            table: table.to_string(),
        };
        self.db_keys.get_or_create(&label).set(keys as i64);
        self.db_bytes.get_or_create(&label).set(bytes as i64);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_names_every_metric() {
        let m = Metrics::new();
        m.observe_call("chain_getHeader", Duration::from_millis(2), false);
        m.observe_call("unknown", Duration::from_millis(1), true);
        m.set_table("headers", 3, 4096);
        let text = m.render();
        for name in [
            "watt_best_height",
            "watt_finalized_height",
            "watt_mempool_transactions",
            "watt_transactions_per_second",
            "watt_rpc_request_duration_seconds_bucket{le=\"0.0001\",method=\"chain_getHeader\"}",
            "watt_rpc_errors_total{method=\"unknown\"} 1",
            "watt_db_size_bytes{table=\"headers\"} 4096",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }
}
