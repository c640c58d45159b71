//! Golden vectors: every consensus object built from fixed seeds, with its
//! canonical encoding, signing hash, signature and hash (the runtime's) and
//! its fields as the API shows them (this crate's views), checked against
//! `runtime/tests/vectors/*.json`. A change to either format fails here.
//!
//! To re-pin after a deliberate format change:
//! `WATT_BLESS=1 cargo test -p watt-rpc-client --test golden`, and say why
//! in the commit message and in docs/encoding.md.

use serde::Serialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use watt_rpc_client::view;
use watt_runtime::block::{CommitCertificate, Header, Proposal, ValidatorSet, Vote, VoteKind};
use watt_runtime::crypto::{Domain, Hash, Keypair};
use watt_runtime::encoding::{decode, encode, BoundedString, BoundedVec};
use watt_runtime::events::{event_root, Event, EventRecord};
use watt_runtime::genesis::{validator, Genesis};
use watt_runtime::state::{Account, StateKey};
use watt_runtime::tx::{
    AuthorityChange, Body, ConsumptionReading, GenerationReading, ProofOfPossession,
    RegulatorChange, Transaction, UnsignedTx,
};
use watt_runtime::types::*;

#[path = "golden/feeders.rs"]
mod feeders;
#[path = "golden/sandbox.rs"]
mod sandbox;

fn seed(n: u8) -> [u8; 32] {
    [n; 32]
}
fn key(n: u8) -> Keypair {
    Keypair::from_seed(seed(n))
}
fn acct(n: u8) -> AccountId {
    AccountId(key(n).public())
}
fn zone() -> ZoneId {
    ZoneId::new("RU-BU").expect("valid zone")
}
fn text(s: &str) -> BoundedString<256> {
    BoundedString::new(s).expect("short text")
}
const CHAIN: Hash = Hash([0x11; 32]);

fn hexs(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

struct Vectors {
    name: &'static str,
    items: Vec<Value>,
}

impl Vectors {
    fn new(name: &'static str) -> Self {
        Vectors {
            name,
            items: Vec::new(),
        }
    }

    /// A signed object: unsigned encoding, signing hash, signature, full
    /// encoding and hash.
    #[allow(clippy::too_many_arguments)]
    fn signed<T: Serialize>(
        &mut self,
        name: &str,
        ty: &str,
        signer_seed: u8,
        fields: &T,
        unsigned: &[u8],
        signing_hash: Hash,
        signature: &[u8],
        encoded: &[u8],
        hash: Option<Hash>,
    ) {
        self.items.push(json!({
            "name": name,
            "type": ty,
            "signer_seed": hexs(&seed(signer_seed)),
            "signer_public_key": key(signer_seed).public().to_string(),
            "fields": fields,
            "unsigned_hex": hexs(unsigned),
            "signing_hash": signing_hash.to_string(),
            "signature": hexs(signature),
            "encoded_hex": hexs(encoded),
            "hash": hash.map(|h| h.to_string()),
        }));
    }

    fn plain<T: Serialize>(
        &mut self,
        name: &str,
        ty: &str,
        fields: &T,
        encoded: &[u8],
        hash: Option<Hash>,
    ) {
        self.items.push(json!({
            "name": name,
            "type": ty,
            "fields": fields,
            "encoded_hex": hexs(encoded),
            "hash": hash.map(|h| h.to_string()),
        }));
    }

    fn check(self) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../runtime/tests/vectors/{}.json", self.name));
        let got = serde_json::to_string_pretty(&json!({
            "about": "Watt golden vectors; see docs/encoding.md. Seeds are RFC 8032 secret keys.",
            "chain_id": CHAIN.to_string(),
            "vectors": self.items,
        }))
        .expect("json")
            + "\n";
        if std::env::var_os("WATT_BLESS").is_some() {
            std::fs::write(&path, &got).expect("write vectors");
            return;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run with WATT_BLESS=1 to create it",
                path.display()
            )
        });
        assert!(
            want == got,
            "{} differs from what the code produces: a consensus format changed. \
             If deliberate, re-pin with WATT_BLESS=1 and document it.",
            path.display()
        );
    }
}

fn tx(signer: u8, nonce: u64, body: Body) -> (UnsignedTx, Transaction) {
    let u = UnsignedTx {
        chain_id: CHAIN,
        signer: acct(signer),
        nonce,
        body,
    };
    (u.clone(), u.sign(&key(signer)))
}

fn gen_reading() -> GenerationReading {
    GenerationReading {
        meter: MeterId(1),
        sequence: 1,
        period_start: 1_767_225_600,
        period_end: 1_767_225_900,
        counter: Wh(12_345),
        flags: 0,
    }
}

fn all_bodies() -> Vec<(&'static str, u8, Body)> {
    let v = Vintage {
        zone: zone(),
        hour: Hour(490_896),
    };
    let serial = BoundedString::new("SOL-0001").expect("serial");
    let policy = ZonePolicy::default();
    let vote = |h: u8| {
        Vote {
            kind: VoteKind::Precommit,
            chain_id: CHAIN,
            height: Height(7),
            round: 0,
            block_hash: Some(Hash([h; 32])),
            validator: key(9).public(),
        }
        .sign(&key(9))
    };
    vec![
        (
            "transfer",
            1,
            Body::Transfer {
                to: acct(2),
                amount: Wh(1500),
                vintages: None,
            },
        ),
        (
            "transfer-named-vintages",
            1,
            Body::Transfer {
                to: acct(2),
                amount: Wh(10),
                vintages: BoundedVec::new(vec![v.clone()]).ok(),
            },
        ),
        (
            "retire",
            1,
            Body::Retire {
                amount: Wh(500),
                beneficiary: text("Valley School"),
                purpose: text("heating 2026"),
                vintages: None,
            },
        ),
        (
            "register-meter",
            3,
            Body::RegisterMeter {
                serial: serial.clone(),
                device_key: key(4).public(),
                owner: acct(1),
                source: Source::Solar,
                capacity: Watts(250_000),
                zone: zone(),
                baseline_time: 1_767_225_600,
                baseline_counter: Wh(0),
            },
        ),
        ("approve-meter", 5, Body::ApproveMeter { meter: MeterId(1) }),
        (
            "submit-readings",
            3,
            Body::SubmitReadings {
                readings: BoundedVec::new(vec![gen_reading().sign(&CHAIN, &key(4))]).expect("one"),
            },
        ),
        (
            "replace-meter-key",
            3,
            Body::ReplaceMeterKey {
                meter: MeterId(1),
                new_device_key: key(6).public(),
                baseline_time: 1_767_229_200,
                baseline_counter: Wh(7),
            },
        ),
        (
            "resync-meter",
            3,
            Body::ResyncMeter {
                meter: MeterId(1),
                baseline_time: 1_767_229_200,
                baseline_counter: Wh(99),
            },
        ),
        (
            "transfer-meter-operator",
            5,
            Body::TransferMeterOperator {
                meter: MeterId(1),
                new_operator: acct(8),
            },
        ),
        (
            "revoke-meter",
            3,
            Body::RevokeMeter {
                meter: MeterId(1),
                reason: text("decommissioned"),
            },
        ),
        (
            "register-site",
            5,
            Body::RegisterSite {
                serial: BoundedString::new("MINE-1").expect("serial"),
                device_key: key(7).public(),
                owner: acct(2),
                zone: zone(),
                max_draw: Watts(100_000),
                baseline_time: 1_767_225_600,
                baseline_counter: Wh(0),
            },
        ),
        (
            "submit-consumption",
            2,
            Body::SubmitConsumption {
                readings: BoundedVec::new(vec![ConsumptionReading {
                    site: SiteId(1),
                    sequence: 1,
                    period_start: 1_767_225_600,
                    period_end: 1_767_225_660,
                    counter: Wh(1_600),
                    flags: 0,
                }
                .sign(&CHAIN, &key(7))])
                .expect("one"),
            },
        ),
        (
            "settle-shortfall",
            2,
            Body::SettleShortfall {
                site: SiteId(1),
                vintages: None,
            },
        ),
        (
            "set-zone-policy",
            5,
            Body::SetZonePolicy {
                zone: zone(),
                policy,
            },
        ),
        (
            "suspend-site",
            5,
            Body::SuspendSite {
                site: SiteId(1),
                reason: text("inspection"),
            },
        ),
        (
            "reinstate-site",
            5,
            Body::ReinstateSite {
                site: SiteId(1),
                reason: text("inspected"),
            },
        ),
        (
            "revoke-site",
            5,
            Body::RevokeSite {
                site: SiteId(1),
                reason: text("licence withdrawn"),
            },
        ),
        (
            "replace-site-key",
            5,
            Body::ReplaceSiteKey {
                site: SiteId(1),
                new_device_key: key(10).public(),
                baseline_time: 1_767_229_200,
                baseline_counter: Wh(0),
            },
        ),
        (
            "withdraw-credits",
            5,
            Body::WithdrawCredits {
                account: acct(1),
                vintage: v,
                amount: Wh(40),
                reason: text("meter misconfigured"),
            },
        ),
        (
            "propose-authority-add",
            3,
            Body::ProposeAuthoritySet {
                change: AuthorityChange::Add {
                    operator: acct(8),
                    consensus_key: key(9).public(),
                    name: text("new-coop"),
                    proof: ProofOfPossession::create(&CHAIN, &acct(8), &key(9)),
                },
            },
        ),
        (
            "propose-authority-remove",
            3,
            Body::ProposeAuthoritySet {
                change: AuthorityChange::Remove { operator: acct(8) },
            },
        ),
        (
            "propose-authority-rotate",
            3,
            Body::ProposeAuthoritySet {
                change: AuthorityChange::Rotate {
                    operator: acct(3),
                    consensus_key: key(12).public(),
                    proof: ProofOfPossession::create(&CHAIN, &acct(3), &key(12)),
                },
            },
        ),
        (
            "propose-regulator-add",
            3,
            Body::ProposeRegulatorSet {
                change: RegulatorChange::Add { account: acct(13) },
            },
        ),
        (
            "propose-chain-params",
            5,
            Body::ProposeChainParams {
                params: ChainParams::default(),
            },
        ),
        (
            "vote",
            3,
            Body::Vote {
                proposal: ProposalId(1),
                approve: true,
            },
        ),
        (
            "evidence",
            2,
            Body::Evidence {
                first: vote(0xaa),
                second: vote(0xbb),
            },
        ),
    ]
}

#[test]
fn transactions() {
    let mut v = Vectors::new("transactions");
    for (nonce, (name, signer, body)) in all_bodies().into_iter().enumerate() {
        let (u, t) = tx(signer, nonce as u64, body);
        assert_eq!(decode::<Transaction>(&encode(&t)).expect("round-trips"), t);
        v.signed(
            name,
            "Transaction",
            signer,
            &view::Transaction::from(t.clone()),
            &encode(&u),
            u.signing_hash(),
            &t.signature.0,
            &encode(&t),
            Some(t.hash()),
        );
    }
    // Every body variant before the feeders (tags 0 to 22) appears; the
    // feeder bodies are in feeders.json, which checks all tags together. A
    // new variant must get a vector.
    let names: std::collections::BTreeSet<&str> =
        all_bodies().iter().map(|(_, _, b)| b.name()).collect();
    assert_eq!(names.len(), 23);
    v.check();
}

#[test]
fn readings_and_proofs() {
    let mut v = Vectors::new("readings");
    let r = gen_reading();
    let s = r.clone().sign(&CHAIN, &key(4));
    v.signed(
        "generation-reading",
        "Signed<GenerationReading>",
        4,
        &view::Signed::<view::GenerationReading>::from(s.clone()),
        &encode(&r),
        r.signing_hash(&CHAIN),
        &s.signature.0,
        &encode(&s),
        None,
    );
    let c = ConsumptionReading {
        site: SiteId(1),
        sequence: 2,
        period_start: 1_767_225_660,
        period_end: 1_767_225_720,
        counter: Wh(3_300),
        flags: watt_runtime::tx::FLAG_TAMPERED,
    };
    let s = c.clone().sign(&CHAIN, &key(7));
    v.signed(
        "consumption-reading-tampered",
        "Signed<ConsumptionReading>",
        7,
        &view::Signed::<view::ConsumptionReading>::from(s.clone()),
        &encode(&c),
        c.signing_hash(&CHAIN),
        &s.signature.0,
        &encode(&s),
        None,
    );
    let pop = ProofOfPossession::create(&CHAIN, &acct(8), &key(9));
    let msg = ProofOfPossession::signing_hash(&CHAIN, &acct(8), &key(9).public());
    v.signed(
        "proof-of-possession",
        "ProofOfPossession",
        9,
        &json!({"operator": acct(8), "consensusKey": key(9).public()}),
        &encode(&(acct(8), key(9).public())),
        msg,
        &pop.signature.0,
        &encode(&pop),
        None,
    );
    v.check();
}

fn validator_set() -> ValidatorSet {
    ValidatorSet::new(
        (20..24)
            .map(|i| validator(key(i).public(), acct(i + 10), &format!("v{i}")))
            .collect(),
    )
    .expect("set")
}

#[test]
fn consensus_objects() {
    let mut v = Vectors::new("consensus");
    let set = validator_set();
    v.plain(
        "validator-set",
        "ValidatorSet",
        &set,
        &encode(&set),
        Some(set.hash()),
    );
    let header = Header {
        chain_id: CHAIN,
        height: Height(7),
        parent_hash: Hash([0x22; 32]),
        timestamp_ms: 1_767_225_601_000,
        proposer: key(20).public(),
        tx_root: Hash([0x33; 32]),
        state_root: Hash([0x44; 32]),
        event_root: Hash([0x55; 32]),
        validator_set_hash: set.hash(),
        next_validator_set_hash: set.hash(),
        parent_commit_hash: Hash([0x66; 32]),
    };
    v.plain(
        "header",
        "Header",
        &view::Header::from(header.clone()),
        &encode(&header),
        Some(header.hash()),
    );
    let block_hash = header.hash();
    let p = Proposal {
        chain_id: CHAIN,
        height: Height(7),
        round: 1,
        valid_round: Some(0),
        block_hash,
        proposer: set.validators()[0].consensus_key,
    };
    let signer = (20..24)
        .find(|i| key(*i).public() == p.proposer)
        .expect("proposer seed");
    let sp = p.clone().sign(&key(signer));
    v.signed(
        "proposal",
        "SignedProposal",
        signer,
        &view::SignedProposal::from(sp.clone()),
        &encode(&p),
        p.signing_hash(),
        &sp.signature.0,
        &encode(&sp),
        None,
    );
    let mut precommits = Vec::new();
    for i in 20..23 {
        let vote = Vote {
            kind: VoteKind::Precommit,
            chain_id: CHAIN,
            height: Height(7),
            round: 1,
            block_hash: Some(block_hash),
            validator: key(i).public(),
        };
        let sv = vote.clone().sign(&key(i));
        if i == 20 {
            v.signed(
                "precommit",
                "SignedVote",
                i,
                &view::SignedVote::from(sv.clone()),
                &encode(&vote),
                vote.signing_hash(),
                &sv.signature.0,
                &encode(&sv),
                None,
            );
        }
        precommits.push(sv);
    }
    let nil = Vote {
        kind: VoteKind::Prevote,
        chain_id: CHAIN,
        height: Height(7),
        round: 2,
        block_hash: None,
        validator: key(21).public(),
    };
    let sv = nil.clone().sign(&key(21));
    v.signed(
        "prevote-nil",
        "SignedVote",
        21,
        &view::SignedVote::from(sv.clone()),
        &encode(&nil),
        nil.signing_hash(),
        &sv.signature.0,
        &encode(&sv),
        None,
    );
    let cert = CommitCertificate::from_precommits(&set, Height(7), 1, block_hash, &precommits);
    cert.verify(&CHAIN, &set, Height(7), &block_hash)
        .expect("certificate verifies");
    v.plain(
        "commit-certificate",
        "CommitCertificate",
        &view::CommitCertificate::from(cert.clone()),
        &encode(&cert),
        Some(cert.hash()),
    );
    v.check();
}

#[test]
fn genesis_state_and_events() {
    let mut v = Vectors::new("genesis-state-events");
    let g = Genesis {
        chain_name: BoundedString::new("vector-chain").expect("name"),
        genesis_time_ms: 1_767_225_600_000,
        params: ChainParams::default(),
        authorities: BoundedVec::new(validator_set().validators().to_vec()).expect("set"),
        regulators: BoundedVec::new(vec![acct(5)]).expect("one"),
        zones: BoundedVec::new(vec![(zone(), ZonePolicy::default())]).expect("one"),
        meters: BoundedVec::empty(),
        sites: BoundedVec::empty(),
        continues: None,
    };
    let state = g.memory_state().expect("valid genesis");
    v.plain("genesis", "Genesis", &g, &encode(&g), Some(g.chain_id()));
    v.items.push(
        json!({"name": "genesis-state-root", "type": "Hash", "hash": state.root().to_string()}),
    );
    let mut a = Account {
        nonce: 3,
        holdings: Default::default(),
    };
    a.holdings.insert(
        Vintage {
            zone: zone(),
            hour: Hour(490_896),
        },
        Wh(1500),
    );
    let k = StateKey::Account(acct(1)).encode();
    v.items.push(json!({
        "name": "state-entry-account",
        "type": "Account",
        "fields": view::Account::from(a.clone()),
        "key_hex": hexs(&k),
        "key_hash": watt_runtime::state::key_hash(&k).to_string(),
        "encoded_hex": hexs(&encode(&a)),
        "value_hash": watt_runtime::state::value_hash(&encode(&a)).to_string(),
    }));
    let events = vec![
        EventRecord {
            tx_index: Some(0),
            event: Event::Minted {
                meter: MeterId(1),
                sequence: 1,
                owner: acct(1),
                vintage: Vintage {
                    zone: zone(),
                    hour: Hour(490_896),
                },
                source: Source::Solar,
                amount: Wh(1500),
            },
        },
        EventRecord {
            tx_index: None,
            event: Event::Expired {
                account: acct(1),
                vintage: Vintage {
                    zone: zone(),
                    hour: Hour(481_000),
                },
                amount: Wh(1),
            },
        },
    ];
    v.plain(
        "event-records",
        "Vec<EventRecord>",
        &events
            .iter()
            .cloned()
            .map(view::EventRecord::from)
            .collect::<Vec<_>>(),
        &encode(&events),
        Some(event_root(&events)),
    );
    let empty_root = Domain::TxRoot.hash(&[]);
    assert_ne!(empty_root, Hash::ZERO);
    v.check();
}
