//! The auditor against a chain built in-process (four validators, one of
//! them removed by governance half-way, minting, consumption, transfers and
//! a retirement): the export, import and audit agree on the honest chain,
//! and every kind of tampering is caught with its height and reason.

mod common;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use watt_node::audit::export::{checksum, ExportReader};
use watt_node::audit::{self, AuditError, AuditOptions, Checkpoint, ExpectedChain};
use watt_node::chain::Chain;
use watt_node::mempool::{Config, Mempool};
use watt_node::storage::{tables, BlockReader, Store};
use watt_runtime::block::{CommitCertificate, ValidatorSet, Vote, VoteKind};
use watt_runtime::crypto::{Hash, Keypair, PublicKey};
use watt_runtime::encoding::{decode, encode};
use watt_runtime::genesis::Genesis;
use watt_runtime::state::{Account, StateKey};
use watt_runtime::testkit::{account, authority_name, consensus_key, key, text, TestChain, T0};
use watt_runtime::tx::{AuthorityChange, Body};
use watt_runtime::types::{Height, MeterId, SiteId, Wh};

const BLOCKS: u64 = 12;
/// Block 9 is finalised by the three authorities left after the removal.
const AFTER_REMOVAL: u64 = 9;

fn certify(
    set: &ValidatorSet,
    keys: &[Keypair],
    chain_id: Hash,
    h: Height,
    hash: Hash,
) -> CommitCertificate {
    let votes: Vec<_> = keys
        .iter()
        .map(|k| {
            Vote {
                kind: VoteKind::Precommit,
                chain_id,
                height: h,
                round: 0,
                block_hash: Some(hash),
                validator: k.public(),
            }
            .sign(k)
        })
        .collect();
    CommitCertificate::from_precommits(set, h, 0, hash, &votes)
}

struct Built {
    dir: tempfile::TempDir,
    genesis: Genesis,
    hashes: Vec<Hash>,
    /// The set before the removal, for forging.
    old_set: ValidatorSet,
}

impl Built {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Builds the chain into a data directory.
fn build() -> Built {
    let b = build_with(4, BLOCKS, |tc, k| {
        let t_s = T0 + 60 * k;
        let mut txs = vec![
            tc.readings_tx(vec![
                tc.gen(MeterId(1), t_s, 100),
                tc.gen(MeterId(2), t_s, 120),
            ]),
            tc.consumption_tx(vec![tc.cons(SiteId(1), t_s, 50)]),
        ];
        if k >= 2 {
            txs.push(tc.tx(
                &key("alice"),
                Body::Transfer {
                    to: account("bob"),
                    amount: Wh(30),
                    vintages: None,
                },
            ));
        }
        match k {
            4 => txs.push(tc.tx(
                &key("op1"),
                Body::ProposeAuthoritySet {
                    change: AuthorityChange::Remove {
                        operator: account(&authority_name(4)),
                    },
                },
            )),
            5 => {
                for op in ["op2", "op3"] {
                    txs.push(tc.tx(
                        &key(op),
                        Body::Vote {
                            proposal: watt_runtime::types::ProposalId(1),
                            approve: true,
                        },
                    ));
                }
            }
            6 => txs.push(tc.tx(
                &key("bob"),
                Body::Retire {
                    amount: Wh(40),
                    beneficiary: text("the school"),
                    purpose: text("heating"),
                    vintages: None,
                },
            )),
            _ => {}
        }
        txs
    });
    let chain = Chain::new(
        Store::open(&b.data(), &b.genesis).unwrap(),
        Mempool::new(Config::default()),
    )
    .unwrap();
    assert_eq!(
        chain.next_validators().unwrap().len(),
        3,
        "the removal took effect"
    );
    b
}

/// Builds a chain of `blocks` blocks, at 60 s steps from T0, with
/// `authorities` validators (all signing every block), block `k` holding
/// the transactions `txs(tc, k)` returns; `tc` mirrors the chain.
fn build_with(
    authorities: usize,
    blocks: u64,
    mut txs_of: impl FnMut(&mut TestChain, u64) -> Vec<watt_runtime::tx::Transaction>,
) -> Built {
    let dir = tempfile::tempdir().unwrap();
    let mut tc = TestChain::builder().authorities(authorities).build();
    let genesis = tc.genesis.clone();
    let mut chain = Chain::new(
        Store::open(&dir.path().join("data"), &genesis).unwrap(),
        Mempool::new(Config::default()),
    )
    .unwrap();
    let keys: HashMap<PublicKey, Keypair> = (1..=authorities)
        .map(|i| (consensus_key(i).public(), consensus_key(i)))
        .collect();
    let old_set = chain.next_validators().unwrap();
    let mut hashes = Vec::new();
    for k in 1..=blocks {
        let t_s = T0 + 60 * k;
        let txs = txs_of(&mut tc, k);
        for r in chain.submit(txs.clone()) {
            r.unwrap();
        }
        let h = Height(k);
        let set = chain.next_validators().unwrap();
        let signers: Vec<Keypair> = set
            .validators()
            .iter()
            .map(|v| keys[&v.consensus_key].clone())
            .collect();
        let hash = chain
            .build_block(h, t_s * 1000, signers[0].public())
            .unwrap();
        let cert = certify(&set, &signers, chain.chain_id(), h, hash);
        let committed = chain.commit(&hash, cert).unwrap();
        assert_eq!(
            committed.txs,
            txs.len(),
            "block {k} includes every transaction"
        );
        tc.at_s(t_s);
        tc.apply(txs).unwrap();
        hashes.push(hash);
    }
    Built {
        dir,
        genesis,
        hashes,
        old_set,
    }
}

fn opts(source: &Path, out: &Path) -> AuditOptions {
    common::audit_opts(source, out)
}

fn export(b: &Built) -> PathBuf {
    common::export_store(&b.data(), b.path("chain.wexp"), BLOCKS)
}

/// The frames of an export file: (offset of the payload, kind, payload).
fn frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 52;
    while at < bytes.len() {
        let kind = bytes[at];
        let len = u32::from_le_bytes(bytes[at + 1..at + 5].try_into().unwrap()) as usize;
        out.push((kind, bytes[at + 5..at + 5 + len].to_vec()));
        at += 5 + len + 32;
    }
    out
}

/// Writes frames back with valid checksums: a forger's file.
fn unframes(header: &[u8], frames: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = header[..52].to_vec();
    for (kind, payload) in frames {
        out.push(*kind);
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(&checksum(*kind, payload));
    }
    out
}

/// Flips one byte of `needle` (at `at` within it) inside block `height`'s frame.
fn flip_in_block(bytes: &[u8], height: u64, needle: &[u8], at: usize) -> Vec<u8> {
    let mut fs = frames(bytes);
    let payload = &mut fs[height as usize].1;
    let pos = payload
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the bytes are in the frame");
    payload[pos + at] ^= 0x01;
    unframes(bytes, &fs)
}

fn block_and_cert(bytes: &[u8], height: u64) -> (watt_runtime::block::Block, CommitCertificate) {
    decode(&frames(bytes)[height as usize].1).unwrap()
}

fn audit_err(b: &Built, name: &str, bytes: &[u8]) -> (Height, String, String) {
    let file = b.path(name);
    std::fs::write(&file, bytes).unwrap();
    let out = b.path(&format!("{name}.report"));
    match audit::run(opts(&file, &out)) {
        Err(AuditError::Discrepancy {
            height,
            object,
            reason,
        }) => {
            assert!(
                !out.join("report.json").exists(),
                "a failed audit leaves no report"
            );
            (height, object, reason)
        }
        // The runtime's validity rule: the same words a validator uses.
        Err(AuditError::InvalidBlock { height, error }) => {
            assert!(
                !out.join("report.json").exists(),
                "a failed audit leaves no report"
            );
            (height, error.object(), error.to_string())
        }
        other => panic!("{name}: expected a discrepancy, got {other:?}"),
    }
}

#[test]
fn data_directory_export_and_import_give_identical_reports() {
    let b = build();
    let file = export(&b);
    let r1 = b.path("r1");
    let s1 = audit::run(opts(&b.data(), &r1)).unwrap();
    assert!(s1.compared_stored_state);
    assert_eq!(s1.height, Height(BLOCKS));
    assert_eq!(s1.head_hash, *b.hashes.last().unwrap());
    assert_eq!(
        s1.counts.transactions,
        2 * BLOCKS + (BLOCKS - 1) + 1 + 2 + 1
    );
    // Every block's own certificate and, but for the last, the copy the
    // next block carries.
    assert_eq!(s1.counts.certificates, 2 * BLOCKS - 1);
    let r2 = b.path("r2");
    audit::run(opts(&file, &r2)).unwrap();
    let imported = b.path("imported");
    let (n, chain_id) = audit::import::import(&file, &imported).unwrap();
    assert_eq!((n, chain_id), (BLOCKS, b.genesis.chain_id()));
    let r3 = b.path("r3");
    audit::run(opts(&imported, &r3)).unwrap();
    for name in [
        "report.json",
        "report.html",
        "zones.csv",
        "sites.csv",
        "lineage_consumption.csv",
        "authorities.csv",
    ] {
        let a = std::fs::read(r1.join(name)).unwrap();
        assert_eq!(
            a,
            std::fs::read(r2.join(name)).unwrap(),
            "{name}: directory vs file"
        );
        assert_eq!(
            a,
            std::fs::read(r3.join(name)).unwrap(),
            "{name}: directory vs import"
        );
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(r1.join("report.json")).unwrap()).unwrap();
    // The authority history shows the removal.
    let history = report["authorityHistory"].as_array().unwrap();
    assert_eq!(history.first().unwrap()["count"], 4);
    assert_eq!(history.last().unwrap()["count"], 3);
    // Minted per meter, retirements with their vintages, conservation.
    assert_eq!(report["totals"]["minted"], (220 * BLOCKS).to_string());
    assert_eq!(report["zones"][0]["conserved"], true);
    assert_eq!(report["retirements"].as_array().unwrap().len(), 1);
    assert_eq!(report["retirements"][0]["beneficiary"], "the school");
    let lineage = report["lineageConsumption"].as_array().unwrap();
    assert!(lineage.iter().any(|r| r["kind"] == "retirement"));
    assert!(lineage.iter().any(|r| r["kind"] == "burn"));
    let vintages = report["lineageVintages"].as_array().unwrap();
    let minted: u64 = vintages
        .iter()
        .map(|v| v["minted"].as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        minted,
        220 * BLOCKS,
        "vintage lineage accounts for every Wh"
    );
}

#[test]
fn a_checkpoint_must_match_the_chain() {
    let b = build();
    let file = export(&b);
    let mut o = opts(&file, &b.path("ok"));
    o.checkpoint = Some(Checkpoint {
        height: Height(5),
        hash: b.hashes[4],
    });
    audit::run(o).unwrap();
    let mut o = opts(&file, &b.path("wrong"));
    o.checkpoint = Some(format!("5:{}", b.hashes[3]).parse().unwrap());
    match audit::run(o) {
        Err(AuditError::Checkpoint(why)) => assert!(why.contains("block 5"), "{why}"),
        other => panic!("{other:?}"),
    }
    let mut o = opts(&file, &b.path("beyond"));
    o.checkpoint = Some(Checkpoint {
        height: Height(BLOCKS + 1),
        hash: b.hashes[0],
    });
    assert!(matches!(audit::run(o), Err(AuditError::Checkpoint(_))));
    assert!("5:0x12".parse::<Checkpoint>().is_err());
}

#[test]
fn tampered_exports_are_caught_with_height_and_reason() {
    let b = build();
    let bytes = std::fs::read(export(&b)).unwrap();

    // A transaction: one byte of a transfer's signature.
    let (block, _) = block_and_cert(&bytes, 3);
    let transfer = &block.txs[2];
    let (h, object, reason) = audit_err(
        &b,
        "tx",
        &flip_in_block(&bytes, 3, &transfer.signature.0, 10),
    );
    assert_eq!(h, Height(3));
    assert!(object.starts_with("transaction 2"), "{object}");
    assert!(reason.contains("signature"), "{reason}");

    // A reading's device signature, in a transaction its operator signed
    // again (an insider relaying a forged reading).
    let (mut forged, cert) = block_and_cert(&bytes, 3);
    let mut tx = forged.txs[0].clone();
    let Body::SubmitReadings { readings } = &mut tx.unsigned.body else {
        panic!("readings first")
    };
    let mut list = readings.to_vec();
    list[1].signature.0[5] ^= 0x01;
    *readings = watt_runtime::encoding::BoundedVec::new(list).unwrap();
    let tx = tx.unsigned.sign(&key("op1"));
    let mut txs = forged.txs.to_vec();
    txs[0] = tx;
    forged.txs = watt_runtime::encoding::BoundedVec::new(txs).unwrap();
    let mut fs = frames(&bytes);
    let mut payload = encode(&forged);
    payload.extend_from_slice(&encode(&cert));
    fs[3].1 = payload;
    let (h, object, reason) = audit_err(&b, "reading", &unframes(&bytes, &fs));
    assert_eq!(h, Height(3));
    assert!(object.starts_with("transaction 0"), "{object}");
    assert!(reason.contains("meter 2"), "{reason}");

    // A header root.
    let (block, cert) = block_and_cert(&bytes, 7);
    let root = block.header.state_root.0;
    let (h, object, reason) = audit_err(&b, "root", &flip_in_block(&bytes, 7, &root, 0));
    assert_eq!(h, Height(7));
    assert_eq!(object, "header state root");
    assert!(reason.contains("state root is"), "{reason}");

    // A commit signature.
    let sig = cert.signatures[1].0;
    let (h, object, reason) = audit_err(&b, "commit", &flip_in_block(&bytes, 7, &sig, 3));
    assert_eq!(h, Height(7));
    assert_eq!(object, "commit certificate");
    assert!(reason.contains("does not verify"), "{reason}");

    // A dropped block.
    let mut fs = frames(&bytes);
    fs.remove(6);
    let (h, object, reason) = audit_err(&b, "dropped", &unframes(&bytes, &fs));
    assert_eq!((h, object.as_str()), (Height(6), "block height"));
    assert!(reason.contains("height is 7, expected 6"), "{reason}");

    // Two blocks swapped.
    let mut fs = frames(&bytes);
    fs.swap(4, 5);
    let (h, _, reason) = audit_err(&b, "swapped", &unframes(&bytes, &fs));
    assert_eq!(h, Height(4));
    assert!(reason.contains("height is 5, expected 4"), "{reason}");

    // A certificate signed with the removed authority's key, over the set
    // it belonged to.
    let (block, _) = block_and_cert(&bytes, AFTER_REMOVAL);
    let forged = certify(
        &b.old_set,
        &[consensus_key(1), consensus_key(2), consensus_key(4)],
        b.genesis.chain_id(),
        Height(AFTER_REMOVAL),
        block.hash(),
    );
    let mut fs = frames(&bytes);
    let mut payload = encode(&block);
    payload.extend_from_slice(&encode(&forged));
    fs[AFTER_REMOVAL as usize].1 = payload;
    let (h, object, reason) = audit_err(&b, "removed", &unframes(&bytes, &fs));
    assert_eq!(
        (h, object.as_str()),
        (Height(AFTER_REMOVAL), "commit certificate")
    );
    assert!(reason.contains("validator set"), "{reason}");
}

/// The replay checks a block's signatures while the block before it
/// executes, against the state before that block. A meter key replaced in
/// block 3 is the key of block 4: the honest chain, whose block 4 reading
/// is signed by the new key, passes; a forged block 4 whose reading is
/// signed by the old key (its operator signing again) is refused with the
/// words a validator checking it after block 3 would use.
#[test]
fn a_device_key_replaced_in_one_block_is_the_key_of_the_next() {
    let mut forged = None;
    let b = build_with(1, 5, |tc, k| {
        let t_s = T0 + 60 * k;
        match k {
            2 => {
                let new_device_key = tc.device("meter1-b");
                vec![tc.tx(
                    &key("op1"),
                    Body::ReplaceMeterKey {
                        meter: MeterId(1),
                        new_device_key,
                        baseline_time: t_s,
                        baseline_counter: Wh(50_000),
                    },
                )]
            }
            3 => vec![tc.tx(&key("reg"), Body::ApproveMeter { meter: MeterId(1) })],
            4 => {
                let nonce = tc.next_nonce(&account("op1"));
                let old = tc
                    .gen_reading(MeterId(1), t_s, 100)
                    .sign(&tc.chain_id, &key("meter1"));
                forged = Some(tc.tx_with_nonce(
                    &key("op1"),
                    nonce,
                    Body::SubmitReadings {
                        readings: watt_runtime::encoding::BoundedVec::new(vec![old]).unwrap(),
                    },
                ));
                vec![tc.tx_with_nonce(
                    &key("op1"),
                    nonce,
                    Body::SubmitReadings {
                        readings: watt_runtime::encoding::BoundedVec::new(vec![tc.gen(
                            MeterId(1),
                            t_s,
                            100,
                        )])
                        .unwrap(),
                    },
                )]
            }
            _ => vec![tc.readings_tx(vec![tc.gen(MeterId(2), t_s, 100)])],
        }
    });
    let file = common::export_store(&b.data(), b.path("chain.wexp"), 5);
    let summary = audit::run(opts(&file, &b.path("honest"))).unwrap();
    assert_eq!(summary.height, Height(5));

    let bytes = std::fs::read(&file).unwrap();
    let (mut block, cert) = block_and_cert(&bytes, 4);
    block.txs = watt_runtime::encoding::BoundedVec::new(vec![forged.unwrap()]).unwrap();
    let mut fs = frames(&bytes);
    let mut payload = encode(&block);
    payload.extend_from_slice(&encode(&cert));
    fs[4].1 = payload;
    let (h, object, reason) = audit_err(&b, "old-key", &unframes(&bytes, &fs));
    assert_eq!(h, Height(4));
    assert!(object.starts_with("transaction 0"), "{object}");
    assert!(
        reason.contains("meter 1") && reason.contains("signature"),
        "{reason}"
    );
}

#[test]
fn damaged_truncated_and_foreign_files_are_clear_errors() {
    let b = build();
    let bytes = std::fs::read(export(&b)).unwrap();
    let input_err = |name: &str, data: &[u8]| -> String {
        let file = b.path(name);
        std::fs::write(&file, data).unwrap();
        match audit::run(opts(&file, &b.path(&format!("{name}.r")))) {
            Err(AuditError::Input(why)) => why,
            other => panic!("{name}: {other:?}"),
        }
    };
    let why = input_err("cut", &bytes[..bytes.len() - 100]);
    assert!(why.contains("truncated"), "{why}");
    let frames_end = bytes.len() - (5 + 48 + 32);
    let why = input_err("no-trailer", &bytes[..frames_end]);
    assert!(why.contains("truncated after height 12"), "{why}");
    let mut damaged = bytes.clone();
    damaged[bytes.len() / 2] ^= 0x40;
    let why = input_err("damaged", &damaged);
    assert!(why.contains("checksum"), "{why}");
    let why = input_err(
        "garbage",
        b"this is not an export file at all, just some text\n",
    );
    assert!(why.contains("not a Watt chain export"), "{why}");
    let why = input_err("empty", b"");
    assert!(why.contains("not a Watt chain export"), "{why}");
    // Another chain's genesis given with --genesis.
    let file = b.path("chain.wexp");
    let mut o = opts(&file, &b.path("other"));
    o.expected = ExpectedChain::Genesis(Box::new(
        TestChain::builder().authorities(1).build().genesis,
    ));
    match audit::run(o) {
        Err(AuditError::Genesis(why)) => assert!(why.contains("not the expected"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Reading it with the library reader names the frame too.
    assert!(ExportReader::new(&damaged[..])
        .and_then(|mut r| {
            while r.next_block()?.is_some() {}
            Ok(())
        })
        .is_err());
}

/// A forger can build a whole chain of their own, perfectly consistent
/// with its own genesis: the auditor names the chain it expects, and a
/// source of any other chain is refused before anything is replayed.
#[test]
fn a_self_consistent_chain_of_another_genesis_is_refused_unless_trusted() {
    let b = build();
    let file = export(&b);
    let mut o = opts(&file, &b.path("expected"));
    o.expected = ExpectedChain::ChainId(b.genesis.chain_id());
    audit::run(o).unwrap();
    let json = std::fs::read_to_string(b.path("expected").join("report.json")).unwrap();
    assert!(json.contains("\"genesisFrom\": \"expected\""), "{json}");
    let other = TestChain::builder()
        .authorities(1)
        .build()
        .genesis
        .chain_id();
    let mut o = opts(&file, &b.path("refused"));
    o.expected = ExpectedChain::ChainId(other);
    match audit::run(o) {
        Err(AuditError::Genesis(why)) => {
            assert!(why.contains(&other.to_string()), "{why}");
            assert!(why.contains(&b.genesis.chain_id().to_string()), "{why}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!b.path("refused").join("report.json").exists());
    // Told to trust the source, it passes and the report says so.
    audit::run(opts(&file, &b.path("trusted"))).unwrap();
    let json = std::fs::read_to_string(b.path("trusted").join("report.json")).unwrap();
    assert!(json.contains("\"genesisFrom\": \"source\""), "{json}");
    let html = std::fs::read_to_string(b.path("trusted").join("report.html")).unwrap();
    assert!(html.contains("taken from the source on trust"));
}

#[test]
fn importing_a_tampered_file_fails_and_leaves_no_data_directory() {
    let b = build();
    let bytes = std::fs::read(export(&b)).unwrap();
    let (block, _) = block_and_cert(&bytes, 7);
    let tampered = flip_in_block(&bytes, 7, &block.header.state_root.0, 0);
    let parent = b.path("imports");
    std::fs::create_dir_all(&parent).unwrap();
    for (name, data) in [
        ("tampered", tampered),
        ("cut", bytes[..bytes.len() - 10].to_vec()),
    ] {
        let file = b.path(&format!("{name}.wexp"));
        std::fs::write(&file, data).unwrap();
        let target = parent.join(name);
        let err = audit::import::import(&file, &target).unwrap_err();
        if name == "tampered" {
            assert!(
                matches!(
                    err,
                    AuditError::Discrepancy {
                        height: Height(7),
                        ..
                    }
                ),
                "{err}"
            );
        }
        assert!(!target.exists(), "{name}: no data directory");
        assert_eq!(
            std::fs::read_dir(&parent).unwrap().count(),
            0,
            "{name}: no partial directory left beside it"
        );
    }
    // An existing, non-empty directory is refused.
    let err = audit::import::import(&b.path("chain.wexp"), &b.data()).unwrap_err();
    assert!(err.to_string().contains("fresh data directory"), "{err}");
}

#[test]
fn a_data_directory_whose_stored_state_was_edited_is_caught() {
    let b = build();
    // Edit alice's account behind the node's back: one more Wh.
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), b.data(), tables::ALL).unwrap();
    let cf = db
        .cf_handle(<tables::State as tables::Table>::NAME)
        .unwrap();
    let k = StateKey::Account(account("alice")).encode();
    let mut acc: Account = decode(&db.get_cf(cf, &k).unwrap().unwrap()).unwrap();
    let first = acc.holdings.keys().next().unwrap().clone();
    acc.holdings.get_mut(&first).unwrap().0 += 1;
    db.put_cf(cf, &k, encode(&acc)).unwrap();
    drop(db);
    let store = Store::open_existing(&b.data()).unwrap();
    assert_eq!(store.head().unwrap(), Height(BLOCKS));
    drop(store);
    match audit::run(opts(&b.data(), &b.path("r"))) {
        Err(AuditError::Discrepancy {
            height,
            object,
            reason,
        }) => {
            assert_eq!(height, Height(BLOCKS));
            assert_eq!(
                object,
                format!("stored current state, key 0x{}", hex::encode(&k))
            );
            assert!(reason.contains("differs from the replayed"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

/// `--format parquet` in process: the tables appear (retirements too, which
/// the dev chain of `audit_parquet` never makes), a failed audit leaves
/// none, and an audit without them removes an earlier audit's.
#[test]
fn parquet_tables_come_only_with_a_passing_audit_that_asked_for_them() {
    let b = build();
    let file = export(&b);
    let out = b.path("pq");
    let mut with = opts(&file, &out);
    with.parquet = true;
    audit::run(with).unwrap();
    let retirements = out.join("parquet").join("retirements");
    let days: Vec<_> = std::fs::read_dir(&retirements)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        !days.is_empty() && days.iter().all(|d| d.starts_with("day=")),
        "{days:?}"
    );
    for table in ["blocks", "transactions", "events", "burns", "supply_hourly"] {
        assert!(out.join("parquet").join(table).is_dir(), "{table}");
    }
    // A tampered export fails: no tables, no report.
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 40;
    bytes[last] ^= 1;
    let bad = b.path("bad.wexp");
    std::fs::write(&bad, &bytes).unwrap();
    let bad_out = b.path("pq-bad");
    let mut with = opts(&bad, &bad_out);
    with.parquet = true;
    assert!(audit::run(with).is_err());
    assert!(!bad_out.join("parquet").exists() && !bad_out.join("report.json").exists());
    // Without --format parquet, the earlier tables go.
    audit::run(opts(&file, &out)).unwrap();
    assert!(out.join("report.json").is_file());
    assert!(!out.join("parquet").exists());
}
