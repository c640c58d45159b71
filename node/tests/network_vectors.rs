//! Golden vectors of the peer protocol (docs/encoding.md section 14): the
//! identity message a peer sends after the Noise handshake, the framing of
//! a message into transport chunks, and every wire message kind. A change
//! to any of them fails here.
//!
//! To re-pin after a deliberate change:
//! `WATT_BLESS=1 cargo test -p watt-node --test network_vectors`, and say
//! why in the commit message and in docs/encoding.md.

use serde_json::{json, Value};
use std::path::PathBuf;
use watt_node::consensus::Message;
use watt_node::network::transport::NOISE_PARAMS;
use watt_node::network::wire::WireMessage;
use watt_runtime::block::{
    Block, CommitCertificate, Header, Proposal, Validator, ValidatorSet, Vote, VoteKind,
};
use watt_runtime::crypto::{Domain, Hash, Keypair};
use watt_runtime::encoding::{encode, BoundedString, BoundedVec};
use watt_runtime::tx::{Body, UnsignedTx};
use watt_runtime::types::{AccountId, Height, Wh};

const CHAIN: Hash = Hash([0x11; 32]);

fn key(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

fn hexs(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

fn set() -> ValidatorSet {
    ValidatorSet::new(
        (1..=4u8)
            .map(|i| Validator {
                consensus_key: key(i).public(),
                operator: AccountId(key(i + 10).public()),
                name: BoundedString::new(format!("v{i}")).unwrap(),
            })
            .collect(),
    )
    .unwrap()
}

fn precommit(n: u8, block: Hash) -> watt_runtime::block::SignedVote {
    Vote {
        kind: VoteKind::Precommit,
        chain_id: CHAIN,
        height: Height(7),
        round: 0,
        block_hash: Some(block),
        validator: key(n).public(),
    }
    .sign(&key(n))
}

fn block() -> Block {
    Block {
        header: Header {
            chain_id: CHAIN,
            height: Height(7),
            parent_hash: Hash([0x33; 32]),
            timestamp_ms: 1_767_225_600_000,
            proposer: key(1).public(),
            tx_root: Hash::ZERO,
            state_root: Hash([0x44; 32]),
            event_root: Hash::ZERO,
            validator_set_hash: set().hash(),
            next_validator_set_hash: set().hash(),
            parent_commit_hash: Hash::ZERO,
        },
        txs: BoundedVec::default(),
        parent_commit: None,
    }
}

fn wire(name: &str, what: &str, m: WireMessage) -> Value {
    let bytes = encode(&m);
    let mut plain = (bytes.len() as u32).to_le_bytes().to_vec();
    plain.extend_from_slice(&bytes);
    json!({
        "name": name,
        "what": what,
        "encoded_hex": hexs(&bytes),
        "transport_plaintext_hex": hexs(&plain),
    })
}

fn vectors() -> Value {
    // The identity message: the ed25519 identity key and its signature of
    // the handshake's signing hash (chain id, then the Noise handshake
    // hash h, under the handshake domain tag).
    let id = key(1);
    let h = Hash([0x22; 32]);
    let signing_hash = Domain::Handshake.signing_hash(&CHAIN, &h.0);
    let signature = id.sign(&signing_hash);
    let mut identity = id.public().0.to_vec();
    identity.extend_from_slice(&signature.0);

    let b = block();
    let bh = b.hash();
    let cert = CommitCertificate::from_precommits(
        &set(),
        Height(7),
        0,
        bh,
        &[precommit(1, bh), precommit(2, bh), precommit(3, bh)],
    );
    let proposer = set().proposer(Height(7), 0).unwrap().consensus_key;
    let pk = (1..=4u8).map(key).find(|k| k.public() == proposer).unwrap();
    let proposal = Proposal {
        chain_id: CHAIN,
        height: Height(7),
        round: 0,
        valid_round: None,
        block_hash: bh,
        proposer,
    }
    .sign(&pk);
    let transfer = UnsignedTx {
        chain_id: CHAIN,
        signer: AccountId(key(5).public()),
        nonce: 0,
        body: Body::Transfer {
            to: AccountId(key(6).public()),
            amount: Wh(1500),
            vintages: None,
        },
    }
    .sign(&key(5));

    json!({
        "noise_protocol": NOISE_PARAMS,
        "chain_id": CHAIN.to_string(),
        "identity": {
            "signer_seed": hexs(&[1u8; 32]),
            "public_key": id.public().to_string(),
            "handshake_hash": h.to_string(),
            "signing_hash": signing_hash.to_string(),
            "signature": hexs(&signature.0),
            "identity_message_hex": hexs(&identity),
        },
        "validator_set": {
            "validator_seeds": (1..=4u8).map(|i| hexs(&[i; 32])).collect::<Vec<_>>(),
            "operator_seeds": (11..=14u8).map(|i| hexs(&[i; 32])).collect::<Vec<_>>(),
            "names": ["v1", "v2", "v3", "v4"],
            "hash": set().hash().to_string(),
        },
        "messages": [
            wire("status", "Status { height: 5 }", WireMessage::Status { height: Height(5) }),
            wire("get-blocks", "GetBlocks { from: 5, count: 32 }", WireMessage::GetBlocks { from: Height(5), count: 32 }),
            wire("blocks-empty", "Blocks([])", WireMessage::Blocks(BoundedVec::default())),
            wire("txs", "Txs([a transfer of 1500 Wh, signer seed 0x05..., to seed 0x06..., nonce 0])", WireMessage::Txs(BoundedVec::new(vec![transfer]).unwrap())),
            wire("block", "Block(an empty block at height 7)", WireMessage::Block(Box::new(b.clone()))),
            wire("proposal", "Consensus(Proposal of the block at height 7, round 0, by the round's proposer)", WireMessage::Consensus(Message::Proposal(proposal))),
            wire("precommit", "Consensus(Vote: validator 1's precommit for the block)", WireMessage::Consensus(Message::Vote(precommit(1, bh)))),
            wire("commit", "Consensus(Commit: validators 1 to 3 precommitted the block)", WireMessage::Consensus(Message::Commit(cert))),
        ],
    })
}

#[test]
fn the_peer_protocol_matches_its_vectors() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/network.json");
    let got = serde_json::to_string_pretty(&vectors()).unwrap() + "\n";
    if std::env::var_os("WATT_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with WATT_BLESS=1 to create it",
            path.display()
        )
    });
    assert!(
        got == want,
        "the peer protocol changed ({}). If deliberate, re-pin with WATT_BLESS=1 and document it.",
        path.display()
    );
}

#[test]
fn every_vector_decodes_back_to_its_message() {
    let v = vectors();
    for m in v["messages"].as_array().unwrap() {
        let hexs = m["encoded_hex"].as_str().unwrap().trim_start_matches("0x");
        let bytes = hex::decode(hexs).unwrap();
        let msg: WireMessage = watt_runtime::encoding::decode(&bytes).unwrap();
        assert_eq!(encode(&msg), bytes, "{}", m["name"]);
    }
}
