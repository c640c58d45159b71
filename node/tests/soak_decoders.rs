//! The long mode's decoder part (`scripts/soak`, never CI): every decoder
//! that reads bytes from outside (transactions, blocks, peer wire messages,
//! the peer handshake, export files) fed random and mutated inputs; none
//! may panic. `WATT_SOAK_INPUTS` inputs each (default 10,000,000).
//!
//! Run: `WATT_SOAK_INPUTS=10000000 cargo test --profile dev -p watt-node
//! --test soak_decoders -- --ignored --nocapture`.

use std::time::Instant;
use watt_node::audit::export::{ExportReader, ExportWriter};
use watt_node::consensus::Message;
use watt_node::network::transport::{check_identity, NOISE_PARAMS};
use watt_node::network::wire::WireMessage;
use watt_runtime::block::{Block, CommitCertificate, Header, Vote, VoteKind};
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::{decode, encode, BoundedVec};
use watt_runtime::testkit::TestChain;
use watt_runtime::tx::{Body, Transaction, UnsignedTx};
use watt_runtime::types::{AccountId, Height, Wh};

fn inputs() -> u64 {
    std::env::var("WATT_SOAK_INPUTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000)
}

/// xorshift64*: fast, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Half random bytes, half a valid sample mutated: bits flipped, bytes
/// overwritten, cut short, extended, or a length field blown up.
fn input(rng: &mut Rng, samples: &[Vec<u8>], buf: &mut Vec<u8>) {
    buf.clear();
    if rng.next() % 2 == 0 {
        let len = rng.below(300);
        buf.extend((0..len).map(|_| rng.next() as u8));
        return;
    }
    buf.extend_from_slice(&samples[rng.below(samples.len())]);
    for _ in 0..1 + rng.below(4) {
        if buf.is_empty() {
            break;
        }
        let at = rng.below(buf.len());
        match rng.below(5) {
            0 => buf[at] ^= 1 << rng.below(8),
            1 => buf[at] = rng.next() as u8,
            2 => buf.truncate(at),
            3 => buf.insert(at, rng.next() as u8),
            _ => {
                // A length prefix (u32 LE) set huge.
                let end = (at + 4).min(buf.len());
                for b in &mut buf[at..end] {
                    *b = 0xff;
                }
            }
        }
    }
}

/// Feeds `n` inputs to `f`; a panic fails the test with the input.
fn soak(name: &str, samples: &[Vec<u8>], seed: u64, mut f: impl FnMut(&[u8])) {
    let n = inputs();
    let start = Instant::now();
    let mut rng = Rng(seed | 1);
    let mut buf = Vec::new();
    for _ in 0..n {
        input(&mut rng, samples, &mut buf);
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&buf)));
        assert!(ok.is_ok(), "{name}: panic on input 0x{}", hex::encode(&buf));
    }
    println!(
        "soak decoders: {name}: {n} inputs, no panic, {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

fn sample_txs() -> Vec<Vec<u8>> {
    let k = Keypair::from_seed([5; 32]);
    let mut tc = TestChain::new();
    let mut out = vec![encode(
        &UnsignedTx {
            chain_id: Hash([1; 32]),
            signer: AccountId(k.public()),
            nonce: 3,
            body: Body::Transfer {
                to: AccountId(Keypair::from_seed([6; 32]).public()),
                amount: Wh(10),
                vintages: None,
            },
        }
        .sign(&k),
    )];
    let reading = tc.gen(watt_runtime::types::MeterId(1), 1_767_225_600 + 600, 1_500);
    out.push(encode(&tc.readings_tx(vec![reading])));
    out
}

fn sample_block() -> (Block, CommitCertificate) {
    let k = Keypair::from_seed([1; 32]);
    let tx: Transaction = decode(&sample_txs()[0]).unwrap();
    let block = Block {
        header: Header {
            chain_id: Hash([1; 32]),
            height: Height(2),
            parent_hash: Hash([2; 32]),
            timestamp_ms: 5,
            proposer: k.public(),
            tx_root: Hash::ZERO,
            state_root: Hash::ZERO,
            event_root: Hash::ZERO,
            validator_set_hash: Hash::ZERO,
            next_validator_set_hash: Hash::ZERO,
            parent_commit_hash: Hash::ZERO,
        },
        txs: BoundedVec::new(vec![tx]).unwrap(),
        parent_commit: None,
    };
    let cert = CommitCertificate {
        height: Height(2),
        round: 0,
        block_hash: block.hash(),
        validator_set_hash: Hash::ZERO,
        signers: BoundedVec::new(vec![1]).unwrap(),
        signatures: BoundedVec::new(vec![k.sign(&block.hash())]).unwrap(),
    };
    (block, cert)
}

#[test]
#[ignore = "the long mode: scripts/soak"]
fn decoders_never_panic_on_random_and_mutated_input() {
    let txs = sample_txs();
    soak("transactions", &txs, 1, |b| {
        let _ = decode::<Transaction>(b);
    });

    let (block, cert) = sample_block();
    let blocks = vec![encode(&block), encode(&cert)];
    soak("blocks", &blocks, 2, |b| {
        let _ = decode::<Block>(b);
        let _ = decode::<CommitCertificate>(b);
    });

    let k = Keypair::from_seed([1; 32]);
    let vote = Vote {
        kind: VoteKind::Prevote,
        chain_id: Hash([1; 32]),
        height: Height(2),
        round: 1,
        block_hash: None,
        validator: k.public(),
    }
    .sign(&k);
    let wires: Vec<Vec<u8>> = [
        WireMessage::Status { height: Height(9) },
        WireMessage::GetBlocks {
            from: Height(1),
            count: 32,
        },
        WireMessage::Consensus(Message::Vote(vote)),
        WireMessage::Consensus(Message::Commit(cert.clone())),
        WireMessage::Block(Box::new(block.clone())),
        WireMessage::Txs(BoundedVec::new(vec![decode(&txs[0]).unwrap()]).unwrap()),
        WireMessage::Blocks(BoundedVec::new(vec![(block.clone(), cert.clone())]).unwrap()),
    ]
    .iter()
    .map(encode)
    .collect();
    soak("wire messages", &wires, 3, |b| {
        let _ = decode::<WireMessage>(b);
    });

    // The handshake: the responder reading a first Noise message, and the
    // identity message a peer sends after it.
    let chain = Hash([1; 32]);
    let h = Hash([2; 32]);
    let mut identity = k.public().0.to_vec();
    identity.extend_from_slice(
        &k.sign(&watt_runtime::crypto::Domain::Handshake.signing_hash(&chain, &h.0))
            .0,
    );
    let params: snow::params::NoiseParams = NOISE_PARAMS.parse().unwrap();
    let builder = snow::Builder::new(params.clone());
    let static_key = builder.generate_keypair().unwrap();
    let mut first = vec![0u8; 1024];
    let n = snow::Builder::new(params.clone())
        .local_private_key(&static_key.private)
        .build_initiator()
        .unwrap()
        .write_message(&[], &mut first)
        .unwrap();
    first.truncate(n);
    let handshakes = vec![identity, first];
    let mut payload = vec![0u8; 65_535];
    soak("handshake", &handshakes, 4, |b| {
        let _ = check_identity(b, &chain, &h);
        if let Ok(mut hs) = snow::Builder::new(params.clone())
            .local_private_key(&static_key.private)
            .build_responder()
        {
            let _ = hs.read_message(b, &mut payload);
        }
    });

    // Export files: a whole small export, mutated.
    let genesis = TestChain::new().genesis;
    let mut file = Vec::new();
    let mut w = ExportWriter::new(&mut file, &genesis, Height(1)).unwrap();
    w.block(&block, &cert).unwrap();
    w.finish().unwrap();
    soak("export frames", &[file], 5, |b| {
        if let Ok(mut r) = ExportReader::new(b) {
            while let Ok(Some(_)) = r.next_block() {}
        }
    });
}
