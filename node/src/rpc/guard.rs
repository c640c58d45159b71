//! The per-call middleware: refuses unsafe methods where they are not
//! served, applies the per-client rate limit, and times every call.

use super::metrics::Metrics;
use jsonrpsee::core::middleware::{Batch, BatchEntry, BatchEntryErr, Notification, RpcServiceT};
use jsonrpsee::types::{ErrorObjectOwned, Request};
use jsonrpsee::MethodResponse;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use watt_rpc_client::api::UNSAFE_METHODS;
use watt_rpc_client::error::{limit_exceeded, not_supported};

/// The client's address, put in each HTTP request's extensions by the
/// accept loop and read here.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

/// A token bucket per client address: `per_second` calls a second on
/// average, bursts of up to `burst`.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// The address one client is counted under: an IPv4 address as it is, an
/// IPv6 address by its /64 (the block one host usually holds, so that a
/// host cannot dodge a per-client limit by changing its last 64 bits).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

/// Past this many tracked clients, full buckets are forgotten.
const MAX_TRACKED: usize = 10_000;

impl RateLimiter {
    /// A limiter; `per_second == 0` disables it.
    pub fn new(per_second: u32, burst: u32) -> Self {
        RateLimiter {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `n` tokens for `ip`; false if it has not enough. IPv6
    /// clients are limited per /64 ([`client_key`]).
    pub fn allow(&self, ip: IpAddr, n: usize) -> bool {
        if self.per_second == 0.0 {
            return true;
        }
        let ip = client_key(ip);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        // Clean up only when a new client would pass the cap, so the cost
        // is paid by growth, not by every call.
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
            if buckets.len() >= MAX_TRACKED {
                // Every tracked client is still limited: a newcomer waits.
                return false;
            }
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= n as f64 {
            *tokens -= n as f64;
            true
        } else {
            false
        }
    }
}

/// Shared by every connection's middleware.
pub struct GuardState {
    /// The rate limiter.
    pub limiter: RateLimiter,
    /// Whether unsafe methods are served.
    pub unsafe_allowed: bool,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Method names metrics label by (others count as `unknown`).
    pub known: HashSet<String>,
    /// The subscribe and unsubscribe methods: WebSocket only.
    pub subscriptions: HashSet<String>,
}

/// Marks a call that came over plain HTTP, not a WebSocket: the front
/// inserts it into the request's extensions.
#[derive(Clone, Copy, Debug)]
pub struct PlainHttp;

/// The middleware around the jsonrpsee service.
#[derive(Clone)]
pub struct Guard<S> {
    /// The wrapped service.
    pub inner: S,
    /// Shared state.
    pub state: Arc<GuardState>,
}

impl GuardState {
    /// Why a call is refused before it runs, if it is.
    fn check(
        &self,
        method: &str,
        ip: Option<IpAddr>,
        calls: usize,
        http: bool,
    ) -> Option<ErrorObjectOwned> {
        // jsonrpsee answers a subscription over plain HTTP with a bare
        // internal error; say what to do instead.
        if http && self.subscriptions.contains(method) {
            return Some(not_supported(format!(
                "{method} is a subscription: call it over WebSocket (ws:// on this same address), not plain HTTP"
            )));
        }
        if !self.unsafe_allowed && UNSAFE_METHODS.contains(&method) {
            return Some(not_supported(format!(
                "{method} is unsafe: this node serves it only while its RPC listens on a loopback address, or with --rpc-methods unsafe"
            )));
        }
        if let Some(ip) = ip {
            if !self.limiter.allow(ip, calls) {
                self.metrics.rate_limited();
                return Some(limit_exceeded(format!(
                    "rate limit: {ip} may make {} calls a second (bursts of {}); slow down and retry",
                    self.limiter.per_second, self.limiter.burst
                )));
            }
        }
        None
    }

    fn label<'a>(&self, method: &'a str) -> &'a str {
        if self.known.contains(method) {
            method
        } else {
            "unknown"
        }
    }
}

fn ip_of(ext: &http::Extensions) -> Option<IpAddr> {
    ext.get::<ClientIp>().map(|c| c.0)
}

impl<S> RpcServiceT for Guard<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Send
        + Sync
        + Clone
        + 'static,
{
    type MethodResponse = MethodResponse;
    type BatchResponse = MethodResponse;
    type NotificationResponse = MethodResponse;

    fn call<'a>(&self, req: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let state = self.state.clone();
        let inner = self.inner.clone();
        async move {
            let method = state.label(req.method_name()).to_string();
            let http = req.extensions().get::<PlainHttp>().is_some();
            let refused = state.check(req.method_name(), ip_of(req.extensions()), 1, http);
            let start = Instant::now();
            let rp = match refused {
                Some(err) => MethodResponse::error(req.id, err),
                None => inner.call(req).await,
            };
            state
                .metrics
                .observe_call(&method, start.elapsed(), rp.is_error());
            rp
        }
    }

    fn batch<'a>(&self, mut batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let state = self.state.clone();
        let inner = self.inner.clone();
        async move {
            let ip = ip_of(batch.extensions());
            let http = batch.extensions().get::<PlainHttp>().is_some();
            // The whole batch is one request to the limiter, weighed by its
            // length.
            if let Some(ip) = ip {
                if !state.limiter.allow(ip, batch.len()) {
                    state.metrics.rate_limited();
                    let err = limit_exceeded(format!(
                        "rate limit: a batch of {} calls is more than {ip} may make now; slow down and retry",
                        batch.len()
                    ));
                    for entry in batch.iter_mut() {
                        if let Ok(BatchEntry::Call(req)) = entry {
                            *entry = Err(BatchEntryErr::new(req.id.clone(), err.clone()));
                        }
                    }
                    return inner.batch(batch).await;
                }
            }
            for entry in batch.iter_mut() {
                if let Ok(BatchEntry::Call(req)) = entry {
                    if let Some(err) = state.check(req.method_name(), None, 0, http) {
                        *entry = Err(BatchEntryErr::new(req.id.clone(), err));
                    }
                }
            }
            inner.batch(batch).await
        }
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.notification(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_refills_and_caps_bursts() {
        let l = RateLimiter::new(1000, 5);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!((0..5).all(|_| l.allow(ip, 1)));
        assert!(!l.allow(ip, 1), "the burst is spent");
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(l.allow(ip, 1), "tokens come back");
        assert!(!l.allow(ip, 6), "never more than a burst at once");
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(l.allow(other, 5), "clients are limited separately");
        assert!(RateLimiter::new(0, 0).allow(ip, 1_000_000), "0 disables");
    }
}
