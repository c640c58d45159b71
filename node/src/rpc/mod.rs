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
pub mod dashboard;
mod grid;
pub mod guard;
mod ledger;
pub mod metrics;
mod sandbox;
mod server;
mod state_at;
mod subs;
#[cfg(feature = "test-utils")]
pub mod testing;
mod tx;

pub use context::Ctx;
pub use server::{origin_allowed, start, HTTP_HEADER_TIMEOUT};

use guard::{Guard, GuardState};
use jsonrpsee::server::ServerHandle;
use jsonrpsee::RpcModule;
use metrics::Metrics;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
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
    /// Serve the live dashboard (docs/dashboard.md) at `/`: its pages may
    /// then call the RPC from the node's own origin.
    pub dashboard: bool,
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
            dashboard: false,
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
    m.merge(FeedersApiServer::into_rpc(rpc.clone()))?;
    m.merge(GridApiServer::into_rpc(rpc.clone()))?;
    m.merge(PermitsApiServer::into_rpc(rpc.clone()))?;
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
