//! A full node (no validator key) follows a validator over the encrypted
//! peer network: it syncs from genesis, verifying every commit certificate,
//! and keeps following, with the same state roots.

use std::time::Duration;
use watt_genesis::dev_keypair;
use watt_node::network::testing::networked_node;
use watt_node::rpc::testing::GENESIS_MS;
use watt_node::service::Node;
use watt_node::storage::BlockReader;
use watt_runtime::types::Height;

async fn wait_height(node: &Node, h: Height) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while node.handle.store().head().unwrap() < h {
        assert!(tokio::time::Instant::now() < deadline, "stuck below {h}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_syncs_from_genesis_and_follows() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = watt_node::dev::genesis::dev_genesis(GENESIS_MS)
        .unwrap()
        .genesis;
    let (validator, peer) = networked_node(
        &genesis,
        &dir.path().join("validator"),
        vec![watt_node::dev::genesis::validator_key()],
        dev_keypair("node-validator"),
        vec![],
        60,
    )
    .await;
    // Let the validator get ahead: more than one sync batch.
    wait_height(&validator, Height(40)).await;
    let (follower, _) = networked_node(
        &genesis,
        &dir.path().join("follower"),
        vec![],
        dev_keypair("node-follower"),
        vec![peer],
        60,
    )
    .await;
    let target = validator.handle.store().head().unwrap();
    wait_height(&follower, target).await;
    for h in [1, target.0 / 2, target.0] {
        let (a, b) = (
            validator.handle.store().header(Height(h)).unwrap().unwrap(),
            follower.handle.store().header(Height(h)).unwrap().unwrap(),
        );
        assert_eq!(a.hash(), b.hash(), "height {h}");
        assert_eq!(a.state_root, b.state_root);
    }
    // And it keeps following new blocks.
    let later = Height(target.0 + 10);
    wait_height(&follower, later).await;
    assert_eq!(
        follower.handle.store().state_root_at(later).unwrap(),
        validator.handle.store().state_root_at(later).unwrap()
    );
    follower.handle.shutdown().await;
    validator.handle.shutdown().await;
}
