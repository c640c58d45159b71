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
    // Nothing is relayed on arrival: only once the node has checked it.
    assert!(
        recv(&mut c).await.is_none(),
        "relayed before the node checked it"
    );
    assert!(b.handle.relay(&at_b.msg, &at_b.from));
    let at_c = recv(&mut c).await.expect("c hears it relayed by b");
    assert_eq!((at_c.from, &at_c.msg), (key(2).public(), &m));
    // Relayed once only, and never back to where it came from.
    assert!(!b.handle.relay(&at_b.msg, &at_b.from));
    assert!(recv(&mut c).await.is_none());
    assert!(recv(&mut b).await.is_none());
    assert!(recv(&mut a).await.is_none());
    // A batch heard again is not delivered again.
    a.handle.broadcast(&m);
    assert!(recv(&mut b).await.is_none());
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
    b.handle.relay(&m, &key(1).public());
    assert_eq!(recv(&mut c).await.expect("c hears it relayed").msg, m);
    a.handle.broadcast(&m);
    assert_eq!(recv(&mut b).await.expect("b hears it again").msg, m);
    b.handle.relay(&m, &key(1).public());
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
    // The node configures the honest peer, so loopback is an address a
    // configured peer uses and is never banned: each bad key is banned by
    // key only.
    let honest = net(2, vec![]).await;
    // A low message rate, so that the flood below is one however slowly a
    // busy machine sends it.
    let mut cfg = NetConfig::new(loopback(), key(1), CHAIN, vec![addr_of(&honest, 2)]);
    cfg.ban_for = Duration::from_secs(60);
    cfg.max_messages_per_second = 100;
    let mut node = start(cfg).await.unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_peer_is_slowed_not_banned_and_a_penalised_follower_is_banned() {
    // a sends b far more than b's rate; a is b's configured peer (b dials
    // it), as a validator relaying a busy network would be.
    let mut acfg = NetConfig::new(loopback(), key(1), CHAIN, vec![]);
    acfg.queue = 10_000;
    let a = start(acfg).await.unwrap();
    let mut bcfg = NetConfig::new(loopback(), key(2), CHAIN, vec![addr_of(&a, 1)]);
    bcfg.max_messages_per_second = 500;
    let mut b = start(bcfg).await.unwrap();
    wait_for("a and b", || {
        b.handle.peers().len() == 1 && a.handle.peers().len() == 1
    })
    .await;
    for n in 0..3_000u64 {
        a.handle
            .broadcast(&WireMessage::Status { height: Height(n) });
    }
    let mut got = 0;
    while got < 3_000 {
        let m = recv(&mut b)
            .await
            .expect("every message arrives, slowed down");
        assert_eq!(m.from, key(1).public());
        got += 1;
    }
    assert!(
        !b.handle.is_banned(&key(1).public()),
        "a configured peer was banned for volume"
    );
    // A follower that sent something that failed the node's checks.
    let follower = key(30);
    let (mut r, _w) = raw_peer(b.local_addr, &follower).await;
    wait_for("the follower", || {
        b.handle.peers().contains(&follower.public())
    })
    .await;
    b.handle.penalise(&follower.public(), "test");
    assert!(b.handle.is_banned(&follower.public()));
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while r.recv().await.is_ok() {}
    })
    .await;
    assert!(closed.is_ok(), "the penalised follower's session is closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_in_progress_are_capped_per_address() {
    let node = net(1, vec![]).await;
    // Connections that never finish the handshake hold their slots...
    let mut idle = Vec::new();
    for _ in 0..MAX_HANDSHAKES_PER_ADDRESS {
        idle.push(TcpStream::connect(node.local_addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...so the next one from that address is closed at once.
    let mut extra = TcpStream::connect(node.local_addr).await.unwrap();
    let mut buf = [0u8; 8];
    use tokio::io::AsyncReadExt;
    let n = tokio::time::timeout(Duration::from_secs(2), extra.read(&mut buf))
        .await
        .expect("closed, not left hanging")
        .unwrap_or(0);
    assert_eq!(n, 0);
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_follower_cannot_come_back_with_a_new_key_from_its_address() {
    // No configured peer uses loopback here, so a follower's ban covers
    // its address too.
    let node = net(1, vec![]).await;
    let first = key(31);
    let (_r, _w) = raw_peer(node.local_addr, &first).await;
    wait_for("the follower", || {
        node.handle.peers().contains(&first.public())
    })
    .await;
    node.handle.penalise(&first.public(), "test");
    // A fresh key from the same address is turned away before the
    // handshake.
    let sock = TcpStream::connect(node.local_addr).await.unwrap();
    let fresh = key(32);
    let r = handshake(
        sock,
        true,
        HandshakeConfig {
            identity: &fresh,
            chain_id: CHAIN,
            expected: None,
            max_message: 1024,
            timeout: Duration::from_secs(5),
        },
    )
    .await;
    assert!(r.is_err(), "a new key from a banned address got a session");
    assert!(!node.handle.peers().contains(&fresh.public()));
}
