//! The HTTP server: the accept loop with its socket limits, serving each
//! connection, and the front that answers CORS, health and metrics before
//! JSON-RPC sees a request.

use super::guard::{self, ClientIp, GuardState, RateLimiter};
use super::metrics::Metrics;
use super::{module, Ctx, GuardLayer, Rpc, RpcConfig, RpcError, RpcMethods, RpcServer};
use crate::service::NodeHandle;
use jsonrpsee::server::middleware::rpc::RpcServiceBuilder;
use jsonrpsee::server::{
    stop_channel, BatchRequestConfig, HttpBody, HttpResponse, PingConfig, Server, ServerConfig,
    StopHandle, TowerServiceBuilder,
};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::layer::util::{Identity, Stack};
use tower::Service;

type Builder = TowerServiceBuilder<Stack<GuardLayer, Identity>, Identity>;

/// A client address's share of the socket limits, given back when its
/// connection ends.
struct IpSlot {
    ip: IpAddr,
    counts: Arc<Mutex<HashMap<IpAddr, u32>>>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// What every connection shares.
struct Front {
    builder: Builder,
    methods: jsonrpsee::Methods,
    stop: StopHandle,
    ctx: Arc<Ctx>,
    cors: Vec<String>,
    ready_max_lag: Duration,
    guard: Arc<GuardState>,
    /// Serve the dashboard at `/`.
    dashboard: bool,
}

/// Starts the server on the current tokio runtime.
pub async fn start(cfg: RpcConfig, node: NodeHandle) -> Result<RpcServer, RpcError> {
    let unsafe_allowed = match cfg.methods {
        RpcMethods::Unsafe => true,
        RpcMethods::Safe => false,
        RpcMethods::Auto => cfg.addr.ip().is_loopback(),
    };
    let metrics = Arc::new(Metrics::new());
    let ctx = Arc::new(Ctx::new(node.clone(), metrics.clone(), unsafe_allowed)?);
    let head = crate::storage::BlockReader::head(&*ctx.store)?;
    metrics.set_heights(head.0, head.0);
    let module = module(Rpc { ctx: ctx.clone() })?;
    let mut names: Vec<String> = module.method_names().map(str::to_string).collect();
    names.sort();
    let known = names.iter().cloned().collect();
    let subscriptions = names
        .iter()
        .filter(|n| {
            matches!(
                module.method(n),
                Some(
                    jsonrpsee::MethodCallback::Subscription(_)
                        | jsonrpsee::MethodCallback::Unsubscription(_)
                )
            )
        })
        .cloned()
        .collect();
    let _ = ctx.methods.set(names);

    let guard_state = Arc::new(GuardState {
        limiter: RateLimiter::new(cfg.rate_limit_per_second, cfg.rate_limit_burst),
        unsafe_allowed,
        metrics: metrics.clone(),
        known,
        subscriptions,
        max_response_bytes: cfg.max_response_bytes as usize,
    });
    let guard = GuardLayer(guard_state.clone());
    let server_cfg = ServerConfig::builder()
        .max_request_body_size(cfg.max_request_bytes)
        .max_response_body_size(cfg.max_response_bytes)
        .max_connections(cfg.max_connections)
        .max_subscriptions_per_connection(cfg.max_subscriptions_per_connection)
        .set_batch_request_config(BatchRequestConfig::Limit(cfg.max_batch))
        .set_message_buffer_capacity(cfg.message_buffer)
        // A WebSocket that answers no ping for 90 s is closed.
        .enable_ws_ping(
            PingConfig::new()
                .ping_interval(Duration::from_secs(30))
                .inactive_limit(Duration::from_secs(90)),
        )
        .build();
    let builder = Server::builder()
        .set_config(server_cfg)
        .set_rpc_middleware(RpcServiceBuilder::new().layer(guard))
        .to_service_builder();

    let listener = tokio::net::TcpListener::bind(cfg.addr)
        .await
        .map_err(|source| RpcError::Bind {
            addr: cfg.addr,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| RpcError::Bind {
        addr: cfg.addr,
        source,
    })?;
    let (stop, handle) = stop_channel();
    let front = Arc::new(Front {
        builder,
        methods: module.into(),
        stop: stop.clone(),
        ctx: ctx.clone(),
        cors: cfg.cors.clone(),
        ready_max_lag: cfg.ready_max_lag,
        guard: guard_state,
        dashboard: cfg.dashboard,
    });
    let sockets = Arc::new(tokio::sync::Semaphore::new(
        (cfg.max_connections as usize).saturating_mul(4).max(1),
    ));
    let per_ip: Arc<Mutex<HashMap<IpAddr, u32>>> = Arc::default();
    let max_per_ip = cfg.max_connections_per_ip.max(1);

    // Metrics follow finalised blocks.
    let mut blocks = node.subscribe();
    let m = metrics.clone();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match blocks.recv().await {
                Ok(c) => m.on_block(&c),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            }
        }
    });

    tokio::spawn(async move {
        loop {
            let (sock, remote) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors, usually: back off rather
                        // than spin.
                        tracing::warn!(error = %e, "RPC accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                _ = stop.clone().shutdown() => break,
            };
            // Socket limits: in all, and per client address. Over either,
            // the connection is closed at once.
            let Ok(permit) = sockets.clone().try_acquire_owned() else {
                tracing::debug!(%remote, "RPC socket limit reached; closing");
                continue;
            };
            // IPv6 clients count per /64, as in the rate limiter.
            let ip = guard::client_key(remote.ip());
            {
                let mut counts = per_ip.lock().unwrap_or_else(|p| p.into_inner());
                let n = counts.entry(ip).or_insert(0);
                if *n >= max_per_ip {
                    tracing::debug!(%remote, "RPC per-address connection limit reached; closing");
                    continue;
                }
                *n += 1;
            }
            let release = IpSlot {
                ip,
                counts: per_ip.clone(),
                _permit: permit,
            };
            let front = front.clone();
            let svc = tower::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let front = front.clone();
                let fut: BoxFuture =
                    Box::pin(async move { front.handle(req, ClientIp(remote.ip())).await });
                fut
            });
            let stopped = stop.clone().shutdown();
            tokio::spawn(async move {
                if let Err(e) = serve_connection(sock, svc, stopped).await {
                    tracing::debug!(error = %e, %remote, "RPC connection ended");
                }
                drop(release);
            });
        }
    });
    Ok(RpcServer {
        local_addr,
        handle,
        metrics,
    })
}

/// How long a client may take to send a request's headers, and how long a
/// kept-alive HTTP connection may sit idle before its next request: a
/// client that opens connections and sends nothing (or a byte a minute)
/// does not hold a connection slot for long.
pub const HTTP_HEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// Serves one connection (HTTP/1, HTTP/2, and WebSocket upgrades) until it
/// closes or the server stops, with [`HTTP_HEADER_TIMEOUT`].
async fn serve_connection<S>(
    sock: tokio::net::TcpStream,
    svc: S,
    stopped: impl std::future::Future<Output = ()>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    S: tower::Service<
            http::Request<hyper::body::Incoming>,
            Response = HttpResponse,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let service = hyper_util::service::TowerToHyperService::new(svc);
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HTTP_HEADER_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(HTTP_HEADER_TIMEOUT));
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(sock), service);
    tokio::pin!(stopped, conn);
    tokio::select! {
        r = &mut conn => r,
        _ = &mut stopped => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    }
}

type BoxFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<HttpResponse, std::convert::Infallible>> + Send>,
>;

fn respond(status: u16, content_type: &str, body: String) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(HttpBody::from(body))
        .unwrap_or_else(|_| HttpResponse::new(HttpBody::from("internal error")))
}

/// Whether a browser origin is allowed by the CORS list.
pub fn origin_allowed(list: &[String], origin: &str) -> bool {
    list.iter().any(|entry| {
        if entry == "*" || entry == origin {
            return true;
        }
        match entry.strip_suffix(":*") {
            Some(base) => {
                origin == base
                    || origin
                        .strip_prefix(base)
                        .and_then(|rest| rest.strip_prefix(':'))
                        .is_some_and(|port| {
                            !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
                        })
            }
            None => false,
        }
    })
}

impl Front {
    async fn handle(
        &self,
        mut req: http::Request<hyper::body::Incoming>,
        ip: ClientIp,
    ) -> Result<HttpResponse, std::convert::Infallible> {
        let origin = req
            .headers()
            .get(http::header::ORIGIN)
            .map(|o| o.to_str().unwrap_or("<not text>").to_string());
        if let Some(o) = &origin {
            let host = req
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok());
            let own_page = self.dashboard && super::dashboard::same_origin(o, host);
            if !own_page && !origin_allowed(&self.cors, o) {
                return Ok(respond(
                    403,
                    "text/plain",
                    format!(
                        "origin {o} is not allowed: the node's --rpc-cors list does not name it\n"
                    ),
                ));
            }
            if req.method() == http::Method::OPTIONS {
                let mut rp = respond(204, "text/plain", String::new());
                add_cors(&mut rp, o);
                return Ok(rp);
            }
        }
        let asset = match req.method() {
            &http::Method::GET if self.dashboard => super::dashboard::find(req.uri().path())
                .filter(|_| !jsonrpsee::server::ws::is_upgrade_request(&req)),
            _ => None,
        };
        let is_get_route = req.method() == http::Method::GET
            && (asset.is_some()
                || matches!(req.uri().path(), "/health" | "/health/ready" | "/metrics"));
        if is_get_route && !self.guard.limiter.allow(ip.0, 1) {
            self.ctx.metrics.rate_limited();
            return Ok(respond(
                429,
                "text/plain",
                "rate limit: slow down and retry\n".into(),
            ));
        }
        let mut rp = match (req.method(), req.uri().path()) {
            _ if asset.is_some() => {
                asset.map_or_else(HttpResponse::default, super::dashboard::respond)
            }
            (&http::Method::GET, "/health") => self.liveness().await,
            (&http::Method::GET, "/health/ready") => self.readiness().await,
            (&http::Method::GET, "/metrics") => self.metrics().await,
            _ => {
                req.extensions_mut().insert(ip);
                let plain_http = !jsonrpsee::server::ws::is_upgrade_request(&req);
                if plain_http {
                    req.extensions_mut().insert(guard::PlainHttp);
                }
                let mut svc = self
                    .builder
                    .clone()
                    .build(self.methods.clone(), self.stop.clone());
                match svc.call(req).await {
                    Ok(rp) if plain_http => normalise_http_error(rp).await,
                    Ok(rp) => rp,
                    Err(e) => respond(500, "text/plain", format!("{e}\n")),
                }
            }
        };
        if let Some(o) = &origin {
            add_cors(&mut rp, o);
        }
        Ok(rp)
    }

    /// The node's task answers within a second.
    async fn liveness(&self) -> HttpResponse {
        let alive = tokio::time::timeout(Duration::from_secs(1), self.ctx.node.ping())
            .await
            .unwrap_or(false);
        if alive {
            respond(200, "application/json", "{\"status\":\"ok\"}\n".into())
        } else {
            respond(
                503,
                "application/json",
                "{\"status\":\"down\",\"reason\":\"the node's task does not answer\"}\n".into(),
            )
        }
    }

    /// Synced, and a block finalised recently.
    async fn readiness(&self) -> HttpResponse {
        let ctx = self.ctx.clone();
        let health = match ctx.blocking(|c| c.health()).await {
            Ok(h) => h,
            Err(e) => {
                return respond(
                    503,
                    "application/json",
                    format!(
                        "{{\"ready\":false,\"reason\":{}}}\n",
                        serde_json::json!(e.message())
                    ),
                )
            }
        };
        let lag_ok = health.finality_lag_seconds <= self.ready_max_lag.as_secs();
        let ready = !health.is_syncing && lag_ok;
        let reason = if health.is_syncing {
            Some("syncing".to_string())
        } else if !lag_ok {
            Some(format!(
                "no block finalised for {} s (limit {} s)",
                health.finality_lag_seconds,
                self.ready_max_lag.as_secs()
            ))
        } else {
            None
        };
        let body = serde_json::json!({ "ready": ready, "reason": reason, "health": health });
        respond(
            if ready { 200 } else { 503 },
            "application/json",
            format!("{body}\n"),
        )
    }

    async fn metrics(&self) -> HttpResponse {
        let m = &self.ctx.metrics;
        if let Some(stats) = self.ctx.node.mempool_stats().await {
            m.set_mempool(stats.txs, stats.bytes);
        }
        let store = self.ctx.store.clone();
        if let Ok(Ok(stats)) = tokio::task::spawn_blocking(move || store.stats()).await {
            for (table, keys, bytes) in &stats.tables {
                m.set_table(table, *keys, *bytes);
            }
        }
        respond(
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            m.render(),
        )
    }
}

/// Bodies above this are not looked at for an error to put in the one
/// form: jsonrpsee's own error answers are a few hundred bytes.
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// Puts the errors jsonrpsee answers over plain HTTP before the middleware
/// sees a call (a body that is not JSON, not a request, too big, a batch
/// too long) in the one form of docs/rpc.md section 2, as
/// [`guard::normalise_error`] does for the rest. Other answers pass as
/// they are.
async fn normalise_http_error(rp: HttpResponse) -> HttpResponse {
    use hyper::body::Body as _;
    let is_json = rp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    let small = rp
        .body()
        .size_hint()
        .exact()
        .is_some_and(|n| n <= MAX_ERROR_BODY);
    if !is_json || !small {
        return rp;
    }
    let status = rp.status().as_u16();
    let (mut parts, body) = rp.into_parts();
    let Ok(bytes) = body_bytes(body).await else {
        return respond(
            500,
            "application/json; charset=utf-8",
            serde_json::json!({
                "jsonrpc": "2.0",
                "id": null,
                "error": {
                    "code": watt_rpc_client::error::INTERNAL_ERROR,
                    "message": "Internal error",
                    "data": {"reason": "the node could not write its answer; see its log"},
                },
            })
            .to_string(),
        );
    };
    let body = match normalised_body(&bytes, status) {
        Some(fixed) => {
            parts.headers.remove(http::header::CONTENT_LENGTH);
            fixed
        }
        None => bytes,
    };
    http::Response::from_parts(parts, HttpBody::from(body))
}

/// A JSON-RPC answer's body with its errors in the one form, if any
/// needed it.
fn normalised_body(bytes: &[u8], status: u16) -> Option<Vec<u8>> {
    if !bytes.windows(7).any(|w| w == b"\"error\"") {
        return None;
    }
    let mut v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let fix = |answer: &mut serde_json::Value| -> bool {
        let Some(err) = answer.get_mut("error") else {
            return false;
        };
        // The reasons only the HTTP front knows.
        let code = err.get("code").and_then(serde_json::Value::as_i64);
        let no_data = err.get("data").is_none_or(serde_json::Value::is_null);
        let known = match (status, code) {
            (400, Some(c)) if c == i64::from(watt_rpc_client::error::PARSE_ERROR) => {
                Some("the body is empty or does not start with `{` or `[`")
            }
            (500, Some(c)) if c == i64::from(watt_rpc_client::error::INTERNAL_ERROR) => {
                Some("the node could not read the request's body")
            }
            _ => None,
        };
        if let (Some(reason), true, Some(obj)) = (known, no_data, err.as_object_mut()) {
            obj.insert("data".into(), serde_json::json!({ "reason": reason }));
        }
        guard::normalise_error(err, None) || (known.is_some() && no_data)
    };
    let changed = match &mut v {
        serde_json::Value::Array(answers) => {
            // Every answer, not only up to the first that changed.
            let mut changed = false;
            for answer in answers.iter_mut() {
                changed |= fix(answer);
            }
            changed
        }
        answer => fix(answer),
    };
    if !changed {
        return None;
    }
    let body = match &v {
        serde_json::Value::Array(answers) => {
            let answers: Vec<String> = answers.iter().map(answer_json).collect();
            format!("[{}]", answers.join(","))
        }
        answer => answer_json(answer),
    };
    Some(body.into_bytes())
}

/// An answer as JSON, its fields in jsonrpsee's order (`jsonrpc`, `id`,
/// `error`, as every other answer has them) rather than sorted.
fn answer_json(answer: &serde_json::Value) -> String {
    let field = |name: &str| answer.get(name).unwrap_or(&serde_json::Value::Null);
    match answer.as_object() {
        Some(fields) if fields.len() == 3 && fields.contains_key("error") => {
            let err = field("error");
            let part = |name: &str| err.get(name).unwrap_or(&serde_json::Value::Null);
            format!(
                "{{\"jsonrpc\":{},\"id\":{},\"error\":{{\"code\":{},\"message\":{},\"data\":{}}}}}",
                field("jsonrpc"),
                field("id"),
                part("code"),
                part("message"),
                part("data"),
            )
        }
        _ => answer.to_string(),
    }
}

/// The whole of a body held in memory.
async fn body_bytes(mut body: HttpBody) -> Result<Vec<u8>, jsonrpsee::core::BoxError> {
    use hyper::body::Body as _;
    let mut out = Vec::new();
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        if let Ok(data) = frame?.into_data() {
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

fn add_cors(rp: &mut HttpResponse, origin: &str) {
    let h = rp.headers_mut();
    if let Ok(v) = http::HeaderValue::from_str(origin) {
        h.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(
        http::header::ACCESS_CONTROL_ALLOW_METHODS,
        http::HeaderValue::from_static("POST, GET, OPTIONS"),
    );
    h.insert(
        http::header::ACCESS_CONTROL_ALLOW_HEADERS,
        http::HeaderValue::from_static("content-type"),
    );
    h.insert(http::header::VARY, http::HeaderValue::from_static("origin"));
}
