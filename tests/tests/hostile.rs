//! Hostile peers against a running four-validator network of `watt run`
//! processes: a peer that fails the handshake, one of another chain, one
//! that answers a validator's dial with the wrong key, and sessions that
//! send garbage, an oversized message or a flood are dropped, their keys
//! banned, and consensus carries on.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use watt_node::network::transport::{handshake, HandshakeConfig, Reader, Writer};
use watt_node::network::wire::{WireMessage, MAX_WIRE_MESSAGE};
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::encode;
use watt_runtime::types::Height;
use watt_tests::{chain_id, Testnet};

const T: Duration = Duration::from_secs(60);

fn cfg(me: &Keypair, chain: Hash) -> HandshakeConfig<'_> {
    HandshakeConfig {
        identity: me,
        chain_id: chain,
        expected: None,
        max_message: 64 * 1024 * 1024,
        timeout: Duration::from_secs(5),
    }
}

async fn session(
    addr: SocketAddr,
    me: &Keypair,
    chain: Hash,
) -> Result<(Reader<TcpStream>, Writer<TcpStream>), String> {
    let sock = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    handshake(sock, true, cfg(me, chain))
        .await
        .map_err(|e| e.to_string())
}

/// Whether the node ends the session within a few seconds (reading
/// whatever it sends meanwhile, status announcements included).
async fn closed_by_node(r: &mut Reader<TcpStream>) -> bool {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if r.recv().await.is_err() {
                return true;
            }
        }
    })
    .await
    .unwrap_or(false)
}

#[test]
fn hostile_peers_are_dropped_and_banned_while_consensus_continues() {
    let mut net = Testnet::create(4, 0, "200ms");
    // validator-1 also dials an impostor: an address where the key it
    // expects is not the key that answers.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let impostor_listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let impostor_addr = impostor_listener.local_addr().unwrap();
    let expected = Keypair::from_seed([40; 32]);
    let path = net.nodes[0].dir.join("node.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "peers = [\n",
        &format!(
            "peers = [\n    \"{impostor_addr}@{}\",\n",
            expected.public()
        ),
    );
    std::fs::write(&path, text).unwrap();
    net.start(&[0, 1, 2, 3]);
    net.wait_height(&[0, 1, 2, 3], 2, T);
    let chain = chain_id(&net.nodes[0]);
    let node_cfg: toml::Value = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let target: SocketAddr = node_cfg["network"]["listen"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let start = net.nodes[0].height().unwrap();

    rt.block_on(async {
        // The impostor answers validator-1's dial with another key: the
        // validator ends the session.
        let (sock, _) = tokio::time::timeout(T, impostor_listener.accept())
            .await
            .expect("validator-1 dials its configured peer")
            .unwrap();
        let other = Keypair::from_seed([41; 32]);
        match handshake(sock, false, cfg(&other, chain)).await {
            Err(_) => {}
            Ok((mut r, _w)) => assert!(closed_by_node(&mut r).await, "impostor kept"),
        }

        // Garbage instead of a handshake.
        let mut sock = TcpStream::connect(target).await.unwrap();
        let _ = sock.write_all(&[0x5a; 4096]).await;
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "a failed handshake ends the connection"
        );

        // A peer of another chain fails the handshake.
        let stranger = Keypair::from_seed([42; 32]);
        assert!(session(target, &stranger, Hash([9; 32])).await.is_err());

        // After the handshake: garbage, an oversized message, a flood.
        let garbage = Keypair::from_seed([43; 32]);
        let (mut r, mut w) = session(target, &garbage, chain).await.unwrap();
        w.send(&[0xff, 0x00, 0x13]).await.unwrap();
        assert!(closed_by_node(&mut r).await, "garbage sender kept");

        let big = Keypair::from_seed([44; 32]);
        let (mut r, mut w) = session(target, &big, chain).await.unwrap();
        let _ = w.send(&vec![0u8; MAX_WIRE_MESSAGE + 1]).await;
        assert!(closed_by_node(&mut r).await, "oversized sender kept");

        let flood = Keypair::from_seed([45; 32]);
        let (mut r, mut w) = session(target, &flood, chain).await.unwrap();
        let status = encode(&WireMessage::Status { height: Height(1) });
        for _ in 0..20_000 {
            if w.send(&status).await.is_err() {
                break;
            }
        }
        assert!(closed_by_node(&mut r).await, "flooder kept");

        // Banned keys that come back are turned away at once.
        for k in [&garbage, &big, &flood] {
            if let Ok((mut r, _w)) = session(target, k, chain).await {
                assert!(closed_by_node(&mut r).await, "a banned key was let back in");
            }
        }
    });

    let log = net.nodes[0].log();
    for why in [
        "malformed message",
        "oversized or corrupt message",
        "flooding",
    ] {
        assert!(log.contains(why), "validator-1 did not ban for {why}");
    }
    // Consensus went on throughout, and an honest follower is still served.
    net.wait_height(&[0, 1, 2, 3], start + 10, T);
    let honest = Keypair::from_seed([46; 32]);
    rt.block_on(async {
        let (mut r, _w) = session(target, &honest, chain).await.unwrap();
        let first = tokio::time::timeout(Duration::from_secs(10), r.recv())
            .await
            .expect("the node talks to an honest follower")
            .expect("a message");
        assert!(watt_runtime::encoding::decode::<WireMessage>(&first).is_ok());
    });
}
