//! A node with its RPC server in the test process, on an ephemeral
//! loopback port, for this crate's and the workspace's integration tests.

use super::{RpcConfig, RpcServer};
use crate::clock::{Clock, ScaledClock};
use crate::dev::genesis::dev_genesis;
use crate::launch::{launch, Launch};
use crate::service::{Node, NodeConfig, SigningConfig};
use crate::storage::BlockReader;
use std::sync::Arc;
use std::time::Duration;
use watt_rpc_client::jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use watt_rpc_client::jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::tx::{Body, Transaction, UnsignedTx};
use watt_runtime::types::{AccountId, Height};

/// 2026-01-01T00:00:00Z: the dev genesis of every test node starts on an
/// hour boundary, so matching buckets are predictable.
pub const GENESIS_MS: u64 = 1_767_225_600_000;

/// A running node with RPC.
pub struct TestNode {
    /// The node.
    pub node: Node,
    /// Its RPC server.
    pub rpc: RpcServer,
    /// The chain clock.
    pub clock: Arc<dyn Clock>,
    _dir: tempfile::TempDir,
}

impl TestNode {
    /// Starts the dev chain (no simulated community) with `speed` chain
    /// seconds per wall second, 100 ms blocks, and RPC as configured (its
    /// address's port replaced by 0 unless set).
    pub async fn start(speed: u64, rpc: RpcConfig) -> TestNode {
        let dir = tempfile::tempdir().expect("temp dir");
        let genesis = dev_genesis(GENESIS_MS).expect("dev genesis").genesis;
        let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(GENESIS_MS + 1, speed));
        let running = launch(Launch {
            node: NodeConfig {
                base_path: dir.path().join("db"),
                genesis,
                validator_keys: vec![crate::dev::genesis::validator_key()],
                block_time: Duration::from_millis(100),
                consensus: crate::consensus::Config::default(),
                mempool: crate::mempool::Config::default(),
                clock: clock.clone(),
                network: None,
                genesis_state: None,
                signing: Some(SigningConfig {
                    record: dir.path().join("validator.signing"),
                    new_chain: true,
                }),
            },
            network: None,
            rpc: Some(rpc),
        })
        .await
        .expect("node starts");
        let (node, rpc) = (running.node, running.rpc.expect("rpc was configured"));
        TestNode {
            node,
            rpc,
            clock,
            _dir: dir,
        }
    }

    /// An RPC config on an ephemeral loopback port with default limits.
    pub fn loopback() -> RpcConfig {
        RpcConfig {
            addr: "127.0.0.1:0".parse().expect("addr"),
            ..RpcConfig::default()
        }
    }

    /// `http://addr`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.rpc.local_addr)
    }

    /// `ws://addr`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.rpc.local_addr)
    }

    /// A WebSocket client.
    pub async fn ws(&self) -> WsClient {
        WsClientBuilder::default()
            .build(self.ws_url())
            .await
            .expect("ws client connects")
    }

    /// An HTTP client.
    pub fn http(&self) -> HttpClient {
        HttpClientBuilder::default()
            .build(self.http_url())
            .expect("http client")
    }

    /// The chain id.
    pub fn chain_id(&self) -> Hash {
        self.node.handle.chain_id()
    }

    /// The head height.
    pub fn head(&self) -> Height {
        self.node.handle.store().head().expect("head")
    }

    /// Waits (at most 60 s) until the chain reaches `height`.
    pub async fn wait_height(&self, height: Height) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while self.head() < height {
            assert!(
                tokio::time::Instant::now() < deadline,
                "chain stuck at {} waiting for {height}",
                self.head()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits (at most 60 s of wall time) until the chain clock reaches
    /// `unix_ms`.
    pub async fn wait_chain_time(&self, unix_ms: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while self.clock.now_ms() < unix_ms {
            assert!(
                tokio::time::Instant::now() < deadline,
                "chain clock too slow"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Signs `body` as `key` with the nonce given.
    pub fn tx(&self, key: &Keypair, nonce: u64, body: Body) -> Transaction {
        UnsignedTx {
            chain_id: self.chain_id(),
            signer: AccountId(key.public()),
            nonce,
            body,
        }
        .sign(key)
    }

    /// Stops the RPC server and the node.
    pub async fn stop(self) {
        let _ = self.rpc.handle.stop();
        self.node.handle.shutdown().await;
        let _ = self.node.task.await;
    }
}
