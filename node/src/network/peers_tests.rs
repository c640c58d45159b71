use super::*;
use crate::network::transport::{handshake, HandshakeConfig};
use watt_runtime::encoding::BoundedVec;
use watt_runtime::tx::{Body, UnsignedTx};
use watt_runtime::types::{AccountId, Height, Wh};

const CHAIN: Hash = Hash([3; 32]);

fn key(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn net(n: u8, peers: Vec<PeerAddr>) -> Network {
    let mut cfg = NetConfig::new(loopback(), key(n), CHAIN, peers);
    cfg.ban_for = Duration::from_secs(60);
    start(cfg).await.unwrap()
}

fn addr_of(n: &Network, k: u8) -> PeerAddr {
    PeerAddr {
        addr: n.local_addr,
        key: key(k).public(),
    }
}

async fn wait_for(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn txs(n: u64) -> WireMessage {
    let k = key(9);
    let tx = UnsignedTx {
        chain_id: CHAIN,
        signer: AccountId(k.public()),
        nonce: n,
        body: Body::Transfer {
            to: AccountId(key(8).public()),
            amount: Wh(1),
            vintages: None,
        },
    }
    .sign(&k);
    WireMessage::Txs(BoundedVec::new(vec![tx]).unwrap())
}

async fn recv(n: &mut Network) -> Option<Inbound> {
    tokio::time::timeout(Duration::from_secs(2), n.inbound.recv())
        .await
        .ok()
        .flatten()
}

#[test]
fn peer_addresses_parse_and_name_what_is_wrong() {
    let k = key(1).public();
    let p: PeerAddr = format!("127.0.0.1:30333@{k}").parse().unwrap();
    assert_eq!(p.to_string().parse::<PeerAddr>().unwrap(), p);
    for bad in ["127.0.0.1:30333", "nowhere@0x00", &format!("127.0.0.1@{k}")] {
        assert!(bad.parse::<PeerAddr>().is_err(), "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_crosses_a_line_of_peers_once() {
    // c <- b <- a: a dials b, b dials c.
    let mut c = net(3, vec![]).await;
    let mut b = net(2, vec![addr_of(&c, 3)]).await;
    let mut a = net(1, vec![addr_of(&b, 2)]).await;
    wait_for("a line of peers", || {
        a.handle.peers().len() == 1 && b.handle.peers().len() == 2 && c.handle.peers().len() == 1
    })
    .await;
    let m = txs(0);
    a.handle.broadcast(&m);
    let at_b = recv(&mut b).await.expect("b hears it");
    assert_eq!((at_b.from, &at_b.msg), (key(1).public(), &m));
    let at_c = recv(&mut c).await.expect("c hears it relayed by b");
    assert_eq!((at_c.from, &at_c.msg), (key(2).public(), &m));
    // Nobody hears it twice, and it does not come back to a.
    assert!(recv(&mut c).await.is_none());
    assert!(recv(&mut b).await.is_none());
    assert!(recv(&mut a).await.is_none());
    // Answers are not relayed.
    assert!(a
        .handle
        .send_to(&key(2).public(), &WireMessage::Status { height: Height(4) }));
    assert_eq!(
        recv(&mut b).await.unwrap().msg,
        WireMessage::Status { height: Height(4) }
    );
    assert!(recv(&mut c).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_sent_vote_is_delivered_again_but_relayed_once() {
    // A validator re-sends its last votes so that a peer that lost them
    // (it was still connecting, or its consensus had not started) gets
    // them: the second copy must reach the node, not be dropped as seen.
    let mut c = net(3, vec![]).await;
    let mut b = net(2, vec![addr_of(&c, 3)]).await;
    let a = net(1, vec![addr_of(&b, 2)]).await;
    wait_for("a line of peers", || {
        a.handle.peers().len() == 1 && b.handle.peers().len() == 2 && c.handle.peers().len() == 1
    })
    .await;
    let vote = watt_runtime::block::Vote {
        kind: watt_runtime::block::VoteKind::Prevote,
        chain_id: CHAIN,
        height: Height(1),
        round: 0,
        block_hash: None,
        validator: key(1).public(),
    }
    .sign(&key(1));
    let m = WireMessage::Consensus(crate::consensus::Message::Vote(vote));
    a.handle.broadcast(&m);
    assert_eq!(recv(&mut b).await.expect("b hears it").msg, m);
    assert_eq!(recv(&mut c).await.expect("c hears it relayed").msg, m);
    a.handle.broadcast(&m);
    assert_eq!(recv(&mut b).await.expect("b hears it again").msg, m);
    assert!(recv(&mut c).await.is_none(), "relayed only the first time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_peer_with_another_key_never_connects() {
    let b = net(2, vec![]).await;
    let wrong = PeerAddr {
        addr: b.local_addr,
        key: key(7).public(),
    };
    let a = net(1, vec![wrong]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(a.handle.peers().is_empty());
}

/// A hand-driven peer: a handshake with the real transport, then whatever
/// the test writes.
async fn raw_peer(
    target: SocketAddr,
    me: &Keypair,
) -> (
    crate::network::transport::Reader<TcpStream>,
    crate::network::transport::Writer<TcpStream>,
) {
    let sock = TcpStream::connect(target).await.unwrap();
    handshake(
        sock,
        true,
        HandshakeConfig {
            identity: me,
            chain_id: CHAIN,
            expected: None,
            max_message: 64 * 1024 * 1024,
            timeout: Duration::from_secs(5),
        },
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_and_flooding_peers_are_banned_and_the_rest_carry_on() {
    let mut node = net(1, vec![]).await;
    let honest = net(2, vec![addr_of(&node, 1)]).await;
    wait_for("the honest peer", || node.handle.peers().len() == 1).await;

    // Garbage that does not decode as a message.
    let garbage = key(20);
    let (_r, mut w) = raw_peer(node.local_addr, &garbage).await;
    w.send(&[0xff, 0x00, 0x13]).await.unwrap();
    wait_for("a ban for garbage", || {
        node.handle.is_banned(&garbage.public())
    })
    .await;

    // A message over the maximum.
    let big = key(21);
    let (_r, mut w) = raw_peer(node.local_addr, &big).await;
    let _ = w.send(&vec![0u8; MAX_WIRE_MESSAGE + 1]).await;
    wait_for("a ban for size", || node.handle.is_banned(&big.public())).await;

    // A flood: far more messages a second than allowed.
    let flood = key(22);
    let (_r, mut w) = raw_peer(node.local_addr, &flood).await;
    let status = encode(&WireMessage::Status { height: Height(1) });
    for _ in 0..20_000 {
        if w.send(&status).await.is_err() {
            break;
        }
    }
    wait_for("a ban for flooding", || {
        node.handle.is_banned(&flood.public())
    })
    .await;

    // A banned key that comes back is refused at once.
    let (mut r, _w) = raw_peer(node.local_addr, &garbage).await;
    assert!(
        r.recv().await.is_err(),
        "the banned peer's session is closed"
    );

    // The honest peer is still connected and heard.
    assert!(node.handle.peers().contains(&key(2).public()));
    let m = txs(1);
    honest.handle.broadcast(&m);
    loop {
        let got = recv(&mut node).await.expect("the honest peer is heard");
        if got.from == key(2).public() && got.msg == m {
            break;
        }
    }
}
