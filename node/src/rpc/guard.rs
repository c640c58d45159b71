//! The per-call middleware: refuses unsafe methods where they are not
//! served, applies the per-client rate limit, times every call, and puts
//! every error it passes on in the one form (docs/rpc.md section 2): a
//! capitalised message and `error.data` an object with a `reason`.

use super::metrics::Metrics;
use jsonrpsee::core::middleware::{Batch, BatchEntry, BatchEntryErr, Notification, RpcServiceT};
use jsonrpsee::core::server::BatchResponseBuilder;
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned, Id, Request};
use jsonrpsee::MethodResponse;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use watt_rpc_client::api::UNSAFE_METHODS;
use watt_rpc_client::error::{self as codes, limit_exceeded, not_supported};

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
    /// The largest answer, in bytes (a batch's answers together).
    pub max_response_bytes: usize,
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

/// How many calls a request counts as for the rate limit: each
/// transaction of a `tx_submitBatch` counts one (so batching saves round
/// trips, not the limit), every other call one.
fn weight(req: &Request<'_>) -> usize {
    if req.method_name() != "tx_submitBatch" {
        return 1;
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Params {
        Positional((Vec<serde::de::IgnoredAny>,)),
        Named { txs: Vec<serde::de::IgnoredAny> },
    }
    match req.params().as_str().map(serde_json::from_str::<Params>) {
        Some(Ok(Params::Positional((txs,)) | Params::Named { txs })) => txs.len().max(1),
        // The method answers a malformed call with its own error.
        _ => 1,
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
            let refused = state.check(
                req.method_name(),
                ip_of(req.extensions()),
                weight(&req),
                http,
            );
            let start = Instant::now();
            let id = req.id.clone().into_owned();
            let name = req.method_name().to_string();
            let rp = match refused {
                Some(err) => MethodResponse::error(req.id, err),
                None => normalise_response(inner.call(req).await, id, Some(&name)),
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
            // calls (a `tx_submitBatch` by its transactions).
            let calls: usize = batch
                .iter()
                .map(|entry| match entry {
                    Ok(BatchEntry::Call(req)) => weight(req),
                    _ => 1,
                })
                .sum();
            if let Some(ip) = ip {
                if !state.limiter.allow(ip, calls) {
                    state.metrics.rate_limited();
                    let err = limit_exceeded(format!(
                        "rate limit: a batch worth {calls} calls is more than {ip} may make now; slow down and retry"
                    ));
                    for entry in batch.iter_mut() {
                        if let Ok(BatchEntry::Call(req)) = entry {
                            *entry = Err(BatchEntryErr::new(req.id.clone(), err.clone()));
                        }
                    }
                    return run_batch(&inner, batch, state.max_response_bytes).await;
                }
            }
            for entry in batch.iter_mut() {
                if let Ok(BatchEntry::Call(req)) = entry {
                    if let Some(err) = state.check(req.method_name(), None, 0, http) {
                        *entry = Err(BatchEntryErr::new(req.id.clone(), err));
                    }
                }
            }
            run_batch(&inner, batch, state.max_response_bytes).await
        }
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.notification(n)
    }
}

/// A batch, run as jsonrpsee's own service runs one, but with each
/// answer's error in the one form: jsonrpsee's batch runs its calls past
/// this middleware.
async fn run_batch<S>(inner: &S, batch: Batch<'_>, max_response_bytes: usize) -> MethodResponse
where
    S: RpcServiceT<MethodResponse = MethodResponse, NotificationResponse = MethodResponse>,
{
    let mut answers = BatchResponseBuilder::new_with_limit(max_response_bytes);
    let mut got_notification = false;
    for entry in batch {
        let rp = match entry {
            Ok(BatchEntry::Call(req)) => {
                let id = req.id.clone().into_owned();
                let name = req.method_name().to_string();
                normalise_response(inner.call(req).await, id, Some(&name))
            }
            Ok(BatchEntry::Notification(n)) => {
                got_notification = true;
                inner.notification(n).await;
                continue;
            }
            Err(err) => {
                let (err, id) = err.into_parts();
                MethodResponse::error(id, normalise_object(&err, None))
            }
        };
        if let Err(too_big) = answers.append(rp) {
            return normalise_response(too_big, Id::Null, None);
        }
    }
    if answers.is_empty() && got_notification {
        // Only notifications: nothing to answer.
        MethodResponse::notification()
    } else if answers.is_empty() {
        MethodResponse::error(
            Id::Null,
            codes::error(
                codes::INVALID_REQUEST,
                "Invalid request",
                "an empty batch: a batch holds at least one call",
            ),
        )
    } else {
        MethodResponse::from_batch(answers.finish())
    }
}

/// A method's answer with its error, if it failed, in the one form.
/// Answers already in it (every Watt error) pass as they are.
fn normalise_response(rp: MethodResponse, id: Id<'static>, method: Option<&str>) -> MethodResponse {
    if !rp.is_error() {
        return rp;
    }
    let Ok(mut v) = serde_json::from_str::<Value>(rp.as_json().get()) else {
        return rp;
    };
    let Some(err) = v.get_mut("error") else {
        return rp;
    };
    if !normalise_error(err, method) {
        return rp;
    }
    let Some(err) = error_object(err) else {
        return rp;
    };
    let subscription = rp.is_subscription();
    let (_, on_close, extensions) = rp.into_parts();
    if let Some(tx) = on_close {
        // Whoever waits for this answer to be sent learns it failed.
        tx.notify(false);
    }
    let rp = if subscription {
        MethodResponse::subscription_error(id, err)
    } else {
        MethodResponse::error(id, err)
    };
    rp.with_extensions(extensions)
}

/// An error object in the one form.
fn normalise_object(err: &ErrorObject<'_>, method: Option<&str>) -> ErrorObjectOwned {
    let mut v = serde_json::to_value(err).unwrap_or(Value::Null);
    normalise_error(&mut v, method);
    error_object(&v).unwrap_or_else(|| {
        codes::error(
            err.code(),
            &capitalised(err.message()),
            err.message().to_string(),
        )
    })
}

/// An error object from its JSON.
fn error_object(v: &Value) -> Option<ErrorObjectOwned> {
    let code = i32::try_from(v.get("code")?.as_i64()?).ok()?;
    let message = v.get("message")?.as_str()?.to_string();
    Some(ErrorObjectOwned::owned(
        code,
        message,
        v.get("data").cloned(),
    ))
}

/// Puts a JSON-RPC error object (the value of a response's `error`) in
/// the one form: the message capitalised, and `data` an object with a
/// non-empty string `reason`. A string `data` (jsonrpsee's) becomes the
/// reason, or, for jsonrpsee's "Exceeded max limit of N", a sentence with
/// `limit: N` beside it; an object without a reason gets one; with no
/// `data` the reason says what went wrong. `method` names the method
/// called, when known. Returns whether anything changed.
pub fn normalise_error(err: &mut Value, method: Option<&str>) -> bool {
    let Some(obj) = err.as_object_mut() else {
        return false;
    };
    let code = obj
        .get("code")
        .and_then(Value::as_i64)
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or(codes::INTERNAL_ERROR);
    let mut changed = false;
    let message = match obj.get("message").and_then(Value::as_str) {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => {
            changed = true;
            fallback_message(code).to_string()
        }
    };
    let message_fixed = capitalised(&message);
    if message_fixed != message || changed {
        obj.insert("message".into(), Value::String(message_fixed.clone()));
        changed = true;
    }
    let has_reason = |d: &Map<String, Value>| {
        d.get("reason")
            .and_then(Value::as_str)
            .is_some_and(|r| !r.trim().is_empty())
    };
    match obj.get_mut("data") {
        Some(Value::Object(d)) if has_reason(d) => {}
        Some(Value::Object(d)) => {
            let reason = default_reason(code, &message_fixed, method);
            d.insert("reason".into(), Value::String(reason));
            changed = true;
        }
        data => {
            let data = data.map(Value::take).unwrap_or(Value::Null);
            let fixed = reasoned(code, &message_fixed, data, method);
            obj.insert("data".into(), Value::Object(fixed));
            changed = true;
        }
    }
    changed
}

/// `data` that is not an object, as `{reason, ...}`.
fn reasoned(code: i32, message: &str, data: Value, method: Option<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    match data {
        Value::String(s) if !s.trim().is_empty() => {
            let limit = s
                .strip_prefix("Exceeded max limit of ")
                .and_then(|n| n.trim().parse::<u64>().ok());
            match limit.and_then(|n| limit_reason(code, n).map(|r| (n, r))) {
                Some((n, reason)) => {
                    out.insert("reason".into(), Value::String(reason));
                    out.insert("limit".into(), Value::from(n));
                }
                None => {
                    out.insert("reason".into(), Value::String(s));
                }
            }
        }
        Value::Null | Value::String(_) => {
            out.insert(
                "reason".into(),
                Value::String(default_reason(code, message, method)),
            );
        }
        other => {
            out.insert(
                "reason".into(),
                Value::String(default_reason(code, message, method)),
            );
            out.insert("detail".into(), other);
        }
    }
    out
}

/// jsonrpsee's limit errors, as sentences.
fn limit_reason(code: i32, n: u64) -> Option<String> {
    Some(match code {
        codes::TOO_MANY_SUBSCRIPTIONS => format!(
            "at most {n} subscriptions may be active on one WebSocket; unsubscribe from one first"
        ),
        codes::REQUEST_TOO_BIG => format!("the request is above the node's limit of {n} bytes"),
        codes::RESPONSE_TOO_BIG => format!(
            "the answer would be above the node's limit of {n} bytes; ask for less (a shorter range or a smaller page)"
        ),
        codes::BATCH_TOO_BIG => format!("a batch may hold at most {n} calls; split it"),
        codes::BATCH_RESPONSE_TOO_BIG => format!(
            "the batch's answers together would be above the node's limit of {n} bytes; split it"
        ),
        _ => return None,
    })
}

/// What went wrong, for an error that came with no reason.
fn default_reason(code: i32, message: &str, method: Option<&str>) -> String {
    match code {
        codes::PARSE_ERROR => "the request is not valid JSON".into(),
        codes::INVALID_REQUEST => "not a JSON-RPC 2.0 request: a call is an object with \"jsonrpc\": \"2.0\", a \"method\" string, an \"id\" and optional \"params\"".into(),
        codes::METHOD_NOT_FOUND => match method {
            Some(m) => format!("no method `{m}`; rpc_methods lists them"),
            None => "no such method; rpc_methods lists them".into(),
        },
        codes::INVALID_PARAMS => match method {
            Some(m) => format!("the parameters do not fit `{m}`"),
            None => "the parameters do not fit the method".into(),
        },
        codes::INTERNAL_ERROR => "the node failed; see its log".into(),
        _ => {
            let mut m = message.to_string();
            if let Some(first) = m.get_mut(..1) {
                first.make_ascii_lowercase();
            }
            m
        }
    }
}

/// A message for a code whose error came without one.
fn fallback_message(code: i32) -> &'static str {
    match code {
        codes::PARSE_ERROR => "Parse error",
        codes::INVALID_REQUEST => "Invalid request",
        codes::METHOD_NOT_FOUND => "Method not found",
        codes::INVALID_PARAMS => "Invalid params",
        codes::RESOURCE_NOT_FOUND => "Resource not found",
        codes::RESOURCE_UNAVAILABLE => "Resource unavailable",
        codes::TRANSACTION_REJECTED => "Transaction rejected",
        codes::METHOD_NOT_SUPPORTED => "Method not supported",
        codes::LIMIT_EXCEEDED => "Limit exceeded",
        _ => "Internal error",
    }
}

/// The message with its first letter upper case.
fn capitalised(message: &str) -> String {
    let mut m = message.to_string();
    if let Some(first) = m.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_leaves_in_the_one_form() {
        let fixed = |v: Value, method: Option<&str>| {
            let mut v = v;
            normalise_error(&mut v, method);
            v
        };
        // A Watt error passes as it is.
        let watt = serde_json::json!({"code": -32001, "message": "Resource not found", "data": {"reason": "no block at height 9"}});
        let mut same = watt.clone();
        assert!(!normalise_error(&mut same, None));
        assert_eq!(same, watt);
        // A string `data` becomes the reason.
        let v = fixed(
            serde_json::json!({"code": -32602, "message": "Invalid params", "data": "invalid type: integer `5`"}),
            Some("credits_getBalance"),
        );
        assert_eq!(
            v["data"],
            serde_json::json!({"reason": "invalid type: integer `5`"})
        );
        // No `data`: a reason is made, naming the method.
        let v = fixed(
            serde_json::json!({"code": -32601, "message": "Method not found"}),
            Some("foo"),
        );
        assert_eq!(
            v["data"]["reason"],
            "no method `foo`; rpc_methods lists them"
        );
        // jsonrpsee's limits read as sentences and keep the number.
        let v = fixed(
            serde_json::json!({"code": -32010, "message": "The batch request was too large", "data": "Exceeded max limit of 100"}),
            None,
        );
        assert_eq!(v["data"]["limit"], 100);
        assert!(v["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("at most 100 calls"));
        // Lower-case messages are capitalised; an object without a reason
        // gets one and keeps its fields.
        let v = fixed(
            serde_json::json!({"code": -32005, "message": "limit exceeded", "data": {"max": 3}}),
            None,
        );
        assert_eq!(v["message"], "Limit exceeded");
        assert_eq!(v["data"]["max"], 3);
        assert_eq!(v["data"]["reason"], "limit exceeded");
    }

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
