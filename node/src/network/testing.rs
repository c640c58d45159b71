//! A node on the peer network in the test process, on a free loopback
//! port: for this crate's and the workspace's network tests.

use super::peers::{NetConfig, PeerAddr};
use crate::clock::{Clock, ScaledClock};
use crate::launch::{launch, Launch};
use crate::service::{Node, NodeConfig, SigningConfig};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use watt_runtime::crypto::Keypair;
use watt_runtime::genesis::Genesis;

/// Starts a node on `dir` with network identity `identity`, dialling
/// `peers`, signing with `keys` (none: a full node), 100 ms blocks, its
/// chain clock starting at the genesis time and running `speed` times wall
/// time. Returns the node and the address others dial it at.
pub async fn networked_node(
    genesis: &Genesis,
    dir: &Path,
    keys: Vec<Keypair>,
    identity: Keypair,
    peers: Vec<PeerAddr>,
    speed: u64,
) -> (Node, PeerAddr) {
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(genesis.genesis_time_ms + 1, speed));
    // The signing record sits beside the data directory; a node started on
    // an empty one starts a new chain.
    let signing = (!keys.is_empty()).then(|| SigningConfig {
        record: dir.with_extension("signing"),
        new_chain: !dir.join("CURRENT").exists(),
    });
    let running = launch(Launch {
        node: NodeConfig {
            base_path: dir.to_path_buf(),
            genesis: genesis.clone(),
            validator_keys: keys,
            block_time: Duration::from_millis(100),
            consensus: crate::consensus::Config::default(),
            mempool: crate::mempool::Config::default(),
            clock,
            network: None,
            genesis_state: None,
            signing,
        },
        network: Some(NetConfig::new(
            "127.0.0.1:0".parse().expect("loopback"),
            identity,
            genesis.chain_id(),
            peers,
        )),
        rpc: None,
    })
    .await
    .expect("node starts");
    let addr = running.peer.expect("a networked node has a peer address");
    (running.node, addr)
}
