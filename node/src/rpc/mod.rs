//! The JSON-RPC server: HTTP and WebSocket on one port, from the traits in
//! `watt-rpc-client`, plus `GET /health`, `GET /health/ready` and
//! `GET /metrics`.
//!
//! Reads go straight to the store (each block is one atomic write, so a
//! read never sees half a block) on blocking threads; submissions and
//! mempool reads go through the node's task. Every call passes the
//! [`guard`]: unsafe methods, the per-client rate limit, metrics. The
//! accept loop is ours rather than jsonrpsee's so that the client's address
//! reaches the rate limiter and so that health, metrics and CORS are
//! answered before JSON-RPC sees the request.

mod audit;
mod chain;
mod context;
pub mod guard;
mod ledger;
pub mod metrics;
mod subs;
#[cfg(feature = "test-utils")]
pub mod testing;
mod tx;

pub use context::Ctx;

use crate::service::NodeHandle;
use guard::{ClientIp, Guard, GuardState, RateLimiter};
use jsonrpsee::server::middleware::rpc::RpcServiceBuilder;
use jsonrpsee::server::{
    stop_channel, BatchRequestConfig, HttpBody, HttpResponse, PingConfig, Server, ServerConfig,
    ServerHandle, StopHandle, TowerServiceBuilder,
};
use jsonrpsee::RpcModule;
use metrics::Metrics;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::layer::util::{Identity, Stack};
use tower::Service;
use watt_rpc_client::api::*;

/// Which methods the server offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RpcMethods {
    /// Unsafe methods only while listening on a loopback address.
    #[default]
    Auto,
    /// Never unsafe methods.
    Safe,
    /// Unsafe methods on any address.
    Unsafe,
}

/// How the RPC server runs.
#[derive(Clone, Debug)]
pub struct RpcConfig {
    /// Where to listen (port 0: any free port).
    pub addr: SocketAddr,
    /// Which methods to serve.
    pub methods: RpcMethods,
    /// Origins browsers may call from: exact origins, `scheme://host:*` for
    /// any port, or `*` for any. Requests without an `Origin` header
    /// (wallets, curl) are not affected.
    pub cors: Vec<String>,
    /// Largest request body.
    pub max_request_bytes: u32,
    /// Largest response body.
    pub max_response_bytes: u32,
    /// Most concurrent connections (HTTP requests in flight and open
    /// WebSockets).
    pub max_connections: u32,
    /// Most open TCP connections from one client address (idle keep-alive
    /// ones included); the node accepts at most four times
    /// `max_connections` sockets in all.
    pub max_connections_per_ip: u32,
    /// Most subscriptions per WebSocket.
    pub max_subscriptions_per_connection: u32,
    /// Most calls in one batch.
    pub max_batch: u32,
    /// Calls per second per client address (0: no limit).
    pub rate_limit_per_second: u32,
    /// Calls a client may make at once before the rate applies.
    pub rate_limit_burst: u32,
    /// Messages buffered per WebSocket before a slow subscriber is dropped.
    pub message_buffer: u32,
    /// `/health/ready` fails when no block was finalised for this long.
    pub ready_max_lag: Duration,
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 9944)),
            methods: RpcMethods::Auto,
            cors: vec![
                "http://localhost:*".into(),
                "http://127.0.0.1:*".into(),
                "https://localhost:*".into(),
                "https://127.0.0.1:*".into(),
            ],
            max_request_bytes: 5 * 1024 * 1024,
            max_response_bytes: 64 * 1024 * 1024,
            max_connections: 100,
            max_connections_per_ip: 32,
            max_subscriptions_per_connection: 64,
            max_batch: 100,
            rate_limit_per_second: 500,
            rate_limit_burst: 1_000,
            message_buffer: 256,
            ready_max_lag: Duration::from_secs(30),
        }
    }
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The address could not be bound.
    #[error("cannot listen for RPC on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The store could not be read.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    /// Two traits registered the same method (a bug).
    #[error("method registration: {0}")]
    Register(#[from] jsonrpsee::server::RegisterMethodError),
}

/// The implementation of every API trait.
#[derive(Clone)]
pub struct Rpc {
    ctx: Arc<Ctx>,
}

/// A running server.
pub struct RpcServer {
    /// The address it listens on.
    pub local_addr: SocketAddr,
    /// Stops it.
    pub handle: ServerHandle,
    /// Its metrics.
    pub metrics: Arc<Metrics>,
}

/// Every API trait merged into one module.
fn module(rpc: Rpc) -> Result<RpcModule<()>, RpcError> {
    let mut m = RpcModule::new(());
    m.merge(SystemApiServer::into_rpc(rpc.clone()))?;
    m.merge(RpcApiServer::into_rpc(rpc.clone()))?;
    m.merge(ChainApiServer::into_rpc(rpc.clone()))?;
    m.merge(TxApiServer::into_rpc(rpc.clone()))?;
    m.merge(CreditsApiServer::into_rpc(rpc.clone()))?;
    m.merge(MetersApiServer::into_rpc(rpc.clone()))?;
    m.merge(SitesApiServer::into_rpc(rpc.clone()))?;
    m.merge(ZonesApiServer::into_rpc(rpc.clone()))?;
    m.merge(GovApiServer::into_rpc(rpc.clone()))?;
    m.merge(StateApiServer::into_rpc(rpc.clone()))?;
    m.merge(AuditApiServer::into_rpc(rpc))?;
    Ok(m)
}

/// Builds the guard layer for the rpc middleware.
#[derive(Clone)]
pub struct GuardLayer(Arc<GuardState>);

impl<S> tower::Layer<S> for GuardLayer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            state: self.0.clone(),
        }
    }
}

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
    let _ = ctx.methods.set(names);

    let guard_state = Arc::new(GuardState {
        limiter: RateLimiter::new(cfg.rate_limit_per_second, cfg.rate_limit_burst),
        unsafe_allowed,
        metrics: metrics.clone(),
        known,
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
            if !origin_allowed(&self.cors, o) {
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
        let is_get_route = req.method() == http::Method::GET
            && matches!(req.uri().path(), "/health" | "/health/ready" | "/metrics");
        if is_get_route && !self.guard.limiter.allow(ip.0, 1) {
            self.ctx.metrics.rate_limited();
            return Ok(respond(
                429,
                "text/plain",
                "rate limit: slow down and retry\n".into(),
            ));
        }
        let mut rp = match (req.method(), req.uri().path()) {
            (&http::Method::GET, "/health") => self.liveness().await,
            (&http::Method::GET, "/health/ready") => self.readiness().await,
            (&http::Method::GET, "/metrics") => self.metrics().await,
            _ => {
                req.extensions_mut().insert(ip);
                let mut svc = self
                    .builder
                    .clone()
                    .build(self.methods.clone(), self.stop.clone());
                match svc.call(req).await {
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
        let alive = tokio::time::timeout(Duration::from_secs(1), self.ctx.node.read(|_| ()))
            .await
            .ok()
            .flatten()
            .is_some();
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
        if let Some((n, bytes)) = self
            .ctx
            .node
            .read(|c| (c.mempool().len(), c.mempool().bytes()))
            .await
        {
            m.set_mempool(n, bytes);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_entries_match_exact_origins_and_any_port() {
        let list = RpcConfig::default().cors;
        assert!(origin_allowed(&list, "http://localhost:3000"));
        assert!(origin_allowed(&list, "http://127.0.0.1:8080"));
        assert!(origin_allowed(&list, "http://localhost"));
        assert!(!origin_allowed(&list, "http://localhost.evil.example:3000"));
        assert!(!origin_allowed(&list, "http://localhost:"));
        assert!(!origin_allowed(&list, "https://evil.example"));
        assert!(origin_allowed(&["*".into()], "https://evil.example"));
        assert!(origin_allowed(
            &["https://wallet.example".into()],
            "https://wallet.example"
        ));
        assert!(!origin_allowed(&[], "http://localhost:3000"));
    }
}
