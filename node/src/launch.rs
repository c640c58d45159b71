//! One way to start a node: its peer network, the node itself and its RPC
//! server, from one configuration, and to stop them. `watt run`, `watt dev`
//! and the test harnesses all launch through here.

use crate::network::peers::{self, NetConfig, PeerAddr};
use crate::rpc::{RpcConfig, RpcServer};
use crate::service::{Node, NodeConfig, NodeError, NodeHandle};
use std::net::SocketAddr;

/// What to start.
pub struct Launch {
    /// The node (its `network` is filled in from `network` below).
    pub node: NodeConfig,
    /// The peer network to listen and dial with (none: a lone node).
    pub network: Option<NetConfig>,
    /// The RPC server (none: no RPC).
    pub rpc: Option<RpcConfig>,
}

/// Why a launch failed.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The peer network could not listen.
    #[error("listening for peers on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The node refused to start.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The RPC server did not start.
    #[error(transparent)]
    Rpc(#[from] crate::rpc::RpcError),
}

/// A running node with what was launched around it.
pub struct Running {
    /// The node.
    pub node: Node,
    /// Its RPC server, if any.
    pub rpc: Option<RpcServer>,
    /// Where peers reach it (its identity with the listening address), if
    /// it has a network.
    pub peer: Option<PeerAddr>,
}

/// Starts the network (if any), the node and the RPC server (if any), on
/// the current tokio runtime.
pub async fn launch(l: Launch) -> Result<Running, LaunchError> {
    let mut node_cfg = l.node;
    let mut peer = None;
    if let Some(net) = l.network {
        let (addr, key) = (net.listen, net.identity.public());
        let net = peers::start(net)
            .await
            .map_err(|source| LaunchError::Listen { addr, source })?;
        tracing::info!(addr = %net.local_addr, identity = %key, "peer network listening");
        peer = Some(PeerAddr {
            addr: net.local_addr,
            key,
        });
        node_cfg.network = Some(net);
    }
    let node = Node::start(node_cfg)?;
    let rpc = match l.rpc {
        Some(cfg) => {
            let server = crate::rpc::start(cfg, node.handle.clone()).await?;
            tracing::info!(addr = %server.local_addr, "JSON-RPC listening (HTTP and WebSocket)");
            Some(server)
        }
        None => None,
    };
    Ok(Running { node, rpc, peer })
}

impl Running {
    /// The node's handle.
    pub fn handle(&self) -> &NodeHandle {
        &self.node.handle
    }

    /// Runs until the node stops by itself or the process gets SIGINT or
    /// SIGTERM, then stops everything cleanly.
    pub async fn until_signal(self) -> Result<(), NodeError> {
        let Running { node, rpc, .. } = self;
        let handle = node.handle.clone();
        let mut task = node.task;
        let result = tokio::select! {
            r = &mut task => r,
            _ = shutdown_signal() => {
                tracing::info!("shutting down");
                handle.shutdown().await;
                task.await
            }
        };
        if let Some(rpc) = rpc {
            let _ = rpc.handle.stop();
        }
        result.unwrap_or_else(|e| Err(NodeError::Config(format!("the node task failed: {e}"))))
    }

    /// Stops the node and the RPC server now.
    pub async fn stop(self) -> Result<(), NodeError> {
        let Running { node, rpc, .. } = self;
        node.handle.shutdown().await;
        let result = node.task.await;
        if let Some(rpc) = rpc {
            let _ = rpc.handle.stop();
        }
        result.unwrap_or_else(|e| Err(NodeError::Config(format!("the node task failed: {e}"))))
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
