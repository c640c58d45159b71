//! Outsiders against one running four-validator network of `watt run`
//! processes. Each attacker is this test process, connecting to the
//! validators as a follower through the real handshake (as any key may),
//! in turn:
//!
//! 1. peers that fail the handshake, are of another chain, answer a
//!    validator's dial with the wrong key, or send garbage, an oversized
//!    message or a flood after the handshake;
//! 2. forged proposals, votes in every validator's name, and commit
//!    certificates with a quorum bitmap and junk signatures;
//! 3. two valid conflicting blocks for the next height, each with a forged
//!    commit, sent to the two halves of the validators (on the old code
//!    this forked the chain);
//! 4. genuine messages recorded earlier replayed as they were, and with
//!    their height or round changed;
//! 5. a flood of distinct junk votes at one validator.
//!
//! After each, the four keep finalising, every height has one hash on all
//! four, no validator bans another, and the attacker's key is banned (pure
//! replays of genuine old messages are harmless and look like an honest
//! node's re-sends, so they alone are not grounds for a ban).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use watt_node::audit::source::{BlockSource, RpcSource};
use watt_node::chain::Chain;
use watt_node::consensus::Message;
use watt_node::mempool::{self, Mempool};
use watt_node::network::transport::{handshake, HandshakeConfig, Reader, Writer};
use watt_node::network::wire::{WireMessage, MAX_WIRE_MESSAGE};
use watt_node::storage::Store;
use watt_runtime::block::{
    Block, CommitCertificate, Proposal, SignedProposal, SignedVote, Vote, VoteKind,
};
use watt_runtime::crypto::{Hash, Keypair, PublicKey, Signature};
use watt_runtime::encoding::{decode, encode, BoundedVec};
use watt_runtime::types::Height;
use watt_tests::{chain_id, read_key, Testnet};

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

/// A signature that verifies for nothing.
fn junk(seed: u64) -> Signature {
    let mut s = [0u8; 64];
    let h = blake3::hash(&seed.to_le_bytes());
    s[..32].copy_from_slice(h.as_bytes());
    s[32..].copy_from_slice(blake3::hash(h.as_bytes()).as_bytes());
    s[63] &= 0x0f;
    Signature(s)
}

/// A block hash nobody proposed.
fn fake(tag: u64) -> Hash {
    Hash(*blake3::hash(&tag.to_le_bytes()).as_bytes())
}

/// A certificate claiming every validator precommitted `block`.
fn forged_cert(
    height: Height,
    block: Hash,
    set_hash: Hash,
    n: usize,
    seed: u64,
) -> CommitCertificate {
    let mut bits = vec![0u8; n.div_ceil(8)];
    for i in 0..n {
        bits[i / 8] |= 1 << (i % 8);
    }
    CommitCertificate {
        height,
        round: 0,
        block_hash: block,
        validator_set_hash: set_hash,
        signers: BoundedVec::new(bits).unwrap(),
        signatures: BoundedVec::new((0..n as u64).map(|i| junk(seed + i)).collect()).unwrap(),
    }
}

/// The network as the attacker sees it.
struct Target {
    chain: Hash,
    /// Each validator's peer address.
    addrs: Vec<SocketAddr>,
    /// Each validator's consensus key.
    validators: Vec<PublicKey>,
    set_hash: Hash,
}

/// An attacker's sessions to some validators; everything the validators
/// send it is recorded (and read, so that it is not dropped as slow).
struct Attacker {
    key: Keypair,
    writers: Vec<Writer<TcpStream>>,
    heard: Arc<Mutex<Vec<Message>>>,
}

impl Attacker {
    async fn connect(seed: u8, target: &Target, to: &[usize]) -> Attacker {
        let key = Keypair::from_seed([seed; 32]);
        let heard: Arc<Mutex<Vec<Message>>> = Arc::default();
        let mut writers = Vec::new();
        for &i in to {
            let (mut r, w) = session(target.addrs[i], &key, target.chain)
                .await
                .expect("a follower connects");
            let heard = heard.clone();
            tokio::spawn(async move {
                while let Ok(bytes) = r.recv().await {
                    if let Ok(WireMessage::Consensus(m)) = decode::<WireMessage>(&bytes) {
                        heard.lock().unwrap().push(m);
                    }
                }
            });
            writers.push(w);
        }
        Attacker {
            key,
            writers,
            heard,
        }
    }

    /// Sends to every validator it is connected to; sessions the node
    /// closed are skipped.
    async fn send_all(&mut self, msgs: &[WireMessage]) {
        for w in &mut self.writers {
            for m in msgs {
                if w.send(&encode(m)).await.is_err() {
                    break;
                }
            }
        }
    }
}

fn consensus(m: Message) -> WireMessage {
    WireMessage::Consensus(m)
}

/// Forged proposals, votes and certificates around `height`.
fn forgeries(t: &Target, me: &Keypair, height: Height, seed: u64) -> Vec<WireMessage> {
    let mut out = Vec::new();
    for h in [height, height.next(), height.next().next()] {
        for round in 0..3u32 {
            let block = fake(seed + h.0 * 10 + u64::from(round));
            // A proposal by the outsider itself, and one in each
            // validator's name with a junk signature.
            let proposal = |proposer| Proposal {
                chain_id: t.chain,
                height: h,
                round,
                valid_round: None,
                block_hash: block,
                proposer,
            };
            out.push(consensus(Message::Proposal(proposal(me.public()).sign(me))));
            for (i, v) in t.validators.iter().enumerate() {
                out.push(consensus(Message::Proposal(SignedProposal {
                    proposal: proposal(*v),
                    signature: junk(seed + i as u64),
                })));
                for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                    let vote = Vote {
                        kind,
                        chain_id: t.chain,
                        height: h,
                        round,
                        block_hash: Some(block),
                        validator: *v,
                    };
                    // Junk, and signed by the outsider's own key.
                    let signature = if kind == VoteKind::Prevote {
                        junk(seed + 100 + i as u64)
                    } else {
                        me.sign(&vote.signing_hash())
                    };
                    out.push(consensus(Message::Vote(SignedVote { vote, signature })));
                }
            }
        }
        let n = t.validators.len();
        out.push(consensus(Message::Commit(forged_cert(
            h,
            fake(seed + 7_000 + h.0),
            t.set_hash,
            n,
            seed,
        ))));
    }
    out
}

fn finalised(net: &Testnet) -> u64 {
    (0..4)
        .filter_map(|i| net.nodes[i].height())
        .min()
        .unwrap_or(0)
}

/// The four keep finalising: `n` more heights everywhere.
fn keeps_finalising(net: &Testnet, n: u64, after: &str) {
    let h = net.max_height(&[0, 1, 2, 3]);
    for i in 0..4 {
        let node = &net.nodes[i];
        watt_tests::wait_for(
            &format!("{} to finalise {n} more heights after {after}", node.name),
            T,
            || node.height().filter(|x| *x >= h + n),
        );
    }
}

/// Whether `node`'s log says it banned `key`.
fn banned(net: &Testnet, node: usize, key: &PublicKey) -> bool {
    net.nodes[node]
        .log()
        .lines()
        .any(|l| l.contains("banning peer") && l.contains(&key.to_string()))
}

fn wait_banned(net: &Testnet, nodes: &[usize], key: &PublicKey, what: &str) {
    for &i in nodes {
        watt_tests::wait_for(
            &format!("{} to ban the {what}", net.nodes[i].name),
            Duration::from_secs(20),
            || banned(net, i, key).then_some(()),
        );
    }
}

/// Syncs a private copy of the chain over RPC and builds two valid,
/// different blocks for the next height on it.
fn two_valid_blocks(rpc: &str, store_dir: &std::path::Path) -> (Block, Block) {
    let src = RpcSource::connect(&format!("ws://{rpc}")).expect("rpc source");
    let genesis = src.genesis().clone();
    let store = Store::open(store_dir, &genesis).expect("store");
    let mut chain = Chain::new(store, Mempool::new(mempool::Config::default())).expect("chain");
    let have = chain.head().unwrap();
    let mut src = src.within(have.next(), None);
    while let Some((block, cert)) = src.next_block().expect("blocks") {
        chain.import_decided(block, cert).expect("import");
    }
    let height = chain.head().unwrap().next();
    let proposer = chain
        .next_validators()
        .unwrap()
        .proposer(height, 0)
        .unwrap()
        .consensus_key;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let a = chain.build_block(height, now, proposer).unwrap();
    let b = chain.build_block(height, now + 1, proposer).unwrap();
    assert_ne!(a, b);
    (
        chain.executed_block(&a).unwrap().clone(),
        chain.executed_block(&b).unwrap().clone(),
    )
}

#[test]
fn outsiders_cannot_halt_fork_or_split_the_validators() {
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
    let addrs: Vec<SocketAddr> = net.nodes[..4]
        .iter()
        .map(|n| {
            let cfg: toml::Value =
                toml::from_str(&std::fs::read_to_string(n.dir.join("node.toml")).unwrap()).unwrap();
            cfg["network"]["listen"].as_str().unwrap().parse().unwrap()
        })
        .collect();
    let mut validators: Vec<PublicKey> = net.nodes[..4]
        .iter()
        .map(|n| read_key(&n.dir.join("consensus.key")).public())
        .collect();
    validators.sort();
    let header = net.nodes[0].header(1);
    let set_hash = Hash::from_hex(
        header["validatorSetHash"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
    )
    .unwrap();
    let target = Target {
        chain,
        addrs: addrs.clone(),
        validators,
        set_hash,
    };
    let all = [0usize, 1, 2, 3];
    let started = std::time::Instant::now();

    // A recorder: a follower that listens from the start, for phase 4.
    let recorder = rt.block_on(Attacker::connect(60, &target, &all));

    // ----- 1. the handshake and the wire -----
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
        let mut sock = TcpStream::connect(addrs[0]).await.unwrap();
        let _ = sock.write_all(&[0x5a; 4096]).await;
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "a failed handshake ends the connection"
        );

        // A peer of another chain fails the handshake.
        let stranger = Keypair::from_seed([42; 32]);
        assert!(session(addrs[0], &stranger, Hash([9; 32])).await.is_err());

        // After the handshake: garbage, an oversized message, a flood.
        let garbage = Keypair::from_seed([43; 32]);
        let (mut r, mut w) = session(addrs[0], &garbage, chain).await.unwrap();
        w.send(&[0xff, 0x00, 0x13]).await.unwrap();
        assert!(closed_by_node(&mut r).await, "garbage sender kept");

        let big = Keypair::from_seed([44; 32]);
        let (mut r, mut w) = session(addrs[0], &big, chain).await.unwrap();
        let _ = w.send(&vec![0u8; MAX_WIRE_MESSAGE + 1]).await;
        assert!(closed_by_node(&mut r).await, "oversized sender kept");

        let flood = Keypair::from_seed([45; 32]);
        let (mut r, mut w) = session(addrs[0], &flood, chain).await.unwrap();
        let status = encode(&WireMessage::Status { height: Height(1) });
        // Far above 2,000 a second (bursts of 4,000) however busy the
        // machine: the loop stops as soon as the node cuts the session.
        for _ in 0..100_000 {
            if w.send(&status).await.is_err() {
                break;
            }
        }
        assert!(closed_by_node(&mut r).await, "flooder kept");

        // Banned keys that come back are turned away at once.
        for k in [&garbage, &big, &flood] {
            if let Ok((mut r, _w)) = session(addrs[0], k, chain).await {
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
    keeps_finalising(&net, 5, "the wire attacks");

    // ----- 2. forged proposals, votes and certificates -----
    let mut forger = rt.block_on(Attacker::connect(61, &target, &all));
    for round in 0..5u64 {
        let h = Height(net.max_height(&all) + 1);
        let msgs = forgeries(&target, &forger.key, h, 1_000 * round);
        rt.block_on(forger.send_all(&msgs));
        std::thread::sleep(Duration::from_millis(300));
    }
    keeps_finalising(&net, 5, "the forgeries");
    wait_banned(&net, &all, &forger.key.public(), "forger");

    // ----- 3. two valid conflicting blocks, each with a forged commit -----
    let store_dir = tempfile::tempdir().unwrap();
    // One outsider key, one session to each half.
    let mut splitter_a = rt.block_on(Attacker::connect(62, &target, &[0, 1]));
    let mut splitter_b = rt.block_on(Attacker::connect(62, &target, &[2, 3]));
    for attempt in 0..5u64 {
        let (a, b) = two_valid_blocks(&net.nodes[0].rpc_addr, store_dir.path());
        let h = a.header.height;
        let n = target.validators.len();
        let cert_a = forged_cert(h, a.hash(), set_hash, n, 50_000 + attempt);
        let cert_b = forged_cert(h, b.hash(), set_hash, n, 60_000 + attempt);
        rt.block_on(async {
            splitter_a
                .send_all(&[
                    WireMessage::Block(Box::new(a)),
                    consensus(Message::Commit(cert_a)),
                ])
                .await;
            splitter_b
                .send_all(&[
                    WireMessage::Block(Box::new(b)),
                    consensus(Message::Commit(cert_b)),
                ])
                .await;
        });
        std::thread::sleep(Duration::from_millis(300));
        if all
            .iter()
            .all(|&i| banned(&net, i, &splitter_a.key.public()))
        {
            break;
        }
    }
    keeps_finalising(&net, 5, "the conflicting blocks");
    wait_banned(&net, &all, &splitter_a.key.public(), "splitter");
    let upto = finalised(&net);
    net.assert_same_chain(&all, upto);

    // ----- 4. replays: genuine messages heard earlier, as they were and
    // with their height or round changed -----
    let heard: Vec<Message> = recorder.heard.lock().unwrap().clone();
    assert!(
        heard.len() > 20,
        "the recorder heard {} messages",
        heard.len()
    );
    let mut replayer = rt.block_on(Attacker::connect(63, &target, &all));
    let genuine: Vec<WireMessage> = heard.iter().cloned().map(consensus).collect();
    rt.block_on(replayer.send_all(&genuine));
    keeps_finalising(&net, 3, "genuine replays");
    let tip = Height(net.max_height(&all) + 1);
    let tweaked: Vec<WireMessage> = heard
        .iter()
        .filter_map(|m| match m {
            Message::Vote(v) => {
                let mut v = v.clone();
                v.vote.height = tip;
                Some(consensus(Message::Vote(v)))
            }
            Message::Proposal(p) => {
                let mut p = p.clone();
                p.proposal.height = tip;
                p.proposal.round += 1;
                Some(consensus(Message::Proposal(p)))
            }
            _ => None,
        })
        .collect();
    rt.block_on(replayer.send_all(&tweaked));
    keeps_finalising(&net, 5, "tweaked replays");
    wait_banned(&net, &all, &replayer.key.public(), "replayer");

    // ----- 5. a flood of distinct junk votes at one validator -----
    let mut flooder = rt.block_on(Attacker::connect(64, &target, &[0]));
    let h = Height(net.max_height(&all) + 1);
    let junk_votes: Vec<WireMessage> = (0..20_000u64)
        .map(|i| {
            consensus(Message::Vote(SignedVote {
                vote: Vote {
                    kind: VoteKind::Prevote,
                    chain_id: chain,
                    height: h,
                    round: (i % 7) as u32,
                    block_hash: Some(fake(900_000 + i)),
                    validator: target.validators[(i % 4) as usize],
                },
                signature: junk(900_000 + i),
            }))
        })
        .collect();
    rt.block_on(flooder.send_all(&junk_votes));
    keeps_finalising(&net, 5, "the junk flood");
    wait_banned(&net, &[0], &flooder.key.public(), "junk flooder");

    // Throughout: one chain, and no validator banned another.
    let upto = finalised(&net);
    net.assert_same_chain(&all, upto);
    for n in &net.nodes {
        let log = n.log();
        assert!(
            !log.contains("banning a configured peer"),
            "{} banned a validator",
            n.name
        );
        assert!(!log.contains("equivocation seen"), "{}", n.name);
    }
    drop(recorder);
    for n in &net.nodes {
        for l in n.log().lines().filter(|l| l.contains("banning")) {
            eprintln!("{}: {}", n.name, l);
        }
    }
    eprintln!("hostile scenarios took {:?}", started.elapsed());
}
