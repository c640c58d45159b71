//! Four validators on loopback reach finality together over the encrypted
//! peer network; with one stopped the other three (over 2/3) carry on.

use std::time::Duration;
use watt_genesis::{dev_keypair, GenesisBuilder};
use watt_node::network::peers::PeerAddr;
use watt_node::network::testing::networked_node;
use watt_node::service::Node;
use watt_node::storage::BlockReader;
use watt_runtime::genesis::Genesis;
use watt_runtime::types::{AccountId, Height};

const T0: u64 = 1_767_225_600_000;

fn genesis(n: usize) -> Genesis {
    let mut b = GenesisBuilder::new("watt-four", T0).unwrap();
    for i in 0..n {
        b = b
            .authority(
                &format!("v{i}"),
                AccountId(dev_keypair(&format!("op{i}")).public()),
                dev_keypair(&format!("v{i}")).public(),
            )
            .unwrap();
    }
    b.regulator(AccountId(dev_keypair("reg").public()))
        .build()
        .unwrap()
        .genesis
}

async fn wait_all(nodes: &[&Node], h: Height) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let heads: Vec<Height> = nodes
            .iter()
            .map(|n| n.handle.store().head().unwrap())
            .collect();
        if heads.iter().all(|x| *x >= h) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "heads {heads:?} stuck below {h}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn start(
    g: &Genesis,
    dir: &std::path::Path,
    i: usize,
    peers_of: Vec<PeerAddr>,
) -> (Node, PeerAddr) {
    let key = dev_keypair(&format!("v{i}"));
    let identity = dev_keypair(&format!("v{i}"));
    networked_node(
        g,
        &dir.join(format!("v{i}")),
        vec![key],
        identity,
        peers_of,
        1,
    )
    .await
}

/// `n` validators, each dialling those started before it: a full mesh.
async fn start_mesh(g: &Genesis, dir: &std::path::Path, n: usize) -> (Vec<Node>, Vec<PeerAddr>) {
    let mut addrs: Vec<PeerAddr> = Vec::new();
    let mut nodes = Vec::new();
    for i in 0..n {
        let (node, addr) = start(g, dir, i, addrs.clone()).await;
        addrs.push(addr);
        nodes.push(node);
    }
    (nodes, addrs)
}

fn same_chain(nodes: &[&Node], upto: Height) {
    for h in 1..=upto.0 {
        let hashes: Vec<_> = nodes
            .iter()
            .map(|n| n.handle.store().header(Height(h)).unwrap().unwrap().hash())
            .collect();
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1]),
            "fork at {h}: {hashes:?}"
        );
    }
}

async fn stop(node: Node) {
    node.handle.shutdown().await;
    let _ = node.task.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_finalise_and_three_carry_on() {
    let g = genesis(4);
    let dir = tempfile::tempdir().unwrap();
    let (mut nodes, _) = start_mesh(&g, dir.path(), 4).await;
    let all: Vec<&Node> = nodes.iter().collect();
    wait_all(&all, Height(10)).await;
    same_chain(&all, Height(10));
    // A full mesh: every node counts the three others.
    for n in &nodes {
        assert_eq!(n.handle.peer_count(), 3);
    }
    // One validator stops; three of four are over two thirds.
    stop(nodes.pop().unwrap()).await;
    let rest: Vec<&Node> = nodes.iter().collect();
    let h = rest[0].handle.store().head().unwrap();
    wait_all(&rest, Height(h.0 + 5)).await;
    for n in nodes {
        stop(n).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_of_four_down_finality_stops_and_resumes_when_one_returns() {
    let g = genesis(4);
    let dir = tempfile::tempdir().unwrap();
    let (mut nodes, addrs) = start_mesh(&g, dir.path(), 4).await;
    wait_all(&nodes.iter().collect::<Vec<_>>(), Height(5)).await;
    let three = nodes.pop().unwrap();
    let two = nodes.pop().unwrap();
    stop(three).await;
    stop(two).await;
    // Two of four cannot finalise: the heads stay put (at most the height
    // in flight completes).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stuck: Vec<Height> = nodes
        .iter()
        .map(|n| n.handle.store().head().unwrap())
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let still: Vec<Height> = nodes
        .iter()
        .map(|n| n.handle.store().head().unwrap())
        .collect();
    assert_eq!(stuck, still, "no finality with two of four");
    // Validator 3 comes back on its data; three of four finalise again, on
    // one chain.
    let (back, _) = start(&g, dir.path(), 3, addrs[..3].to_vec()).await;
    nodes.push(back);
    let live: Vec<&Node> = nodes.iter().collect();
    let top = still.iter().max().copied().unwrap();
    wait_all(&live, Height(top.0 + 5)).await;
    same_chain(&live, Height(top.0 + 5));
    for n in nodes {
        stop(n).await;
    }
}
