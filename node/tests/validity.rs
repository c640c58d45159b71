//! One validity rule: the same tampered blocks through the three places
//! that judge a block (a validator checking a proposal, `watt chain
//! verify` over a data directory, `watt audit` over an export) give the
//! same error, field and values alike.

use std::path::Path;
use watt_node::audit::{
    self, export::ExportWriter, AuditError, AuditOptions, ExpectedChain, ProgressMode,
};
use watt_node::chain::Chain;
use watt_node::cli::{verify_store, VerifyStoreError};
use watt_node::mempool::{Config, Mempool};
use watt_node::storage::{BlockReader, CommittedBlock, Store};
use watt_runtime::block::{tx_root, Block, CommitCertificate, ValidatorSet, Vote, VoteKind};
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::genesis::Genesis;
use watt_runtime::testkit::{account, consensus_key, key, TestChain, T0};
use watt_runtime::tx::Body;
use watt_runtime::types::{Height, MeterId, SiteId, Wh};
use watt_runtime::validity::InvalidBlock;

fn certify(chain: &Chain, h: Height, hash: Hash) -> CommitCertificate {
    let set: ValidatorSet = chain.next_validators().unwrap();
    let votes: Vec<_> = (1..=4)
        .map(|i| {
            let k = consensus_key(i);
            Vote {
                kind: VoteKind::Precommit,
                chain_id: chain.chain_id(),
                height: h,
                round: 0,
                block_hash: Some(hash),
                validator: k.public(),
            }
            .sign(&k)
        })
        .collect();
    CommitCertificate::from_precommits(&set, h, 0, hash, &votes)
}

fn open(genesis: &Genesis, dir: &Path) -> Chain {
    Chain::new(
        Store::open(dir, genesis).unwrap(),
        Mempool::new(Config::default()),
    )
    .unwrap()
}

/// An honest chain of two blocks, and the honest third block, executed.
struct Fixture {
    genesis: Genesis,
    blocks: Vec<(Block, CommitCertificate)>,
    third: watt_node::chain::Executed,
    dir: tempfile::TempDir,
}

fn t_ms(k: u64) -> u64 {
    (T0 + 60 * k) * 1000
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut tc = TestChain::builder().authorities(4).build();
    let genesis = tc.genesis.clone();
    let mut chain = open(&genesis, &dir.path().join("honest"));
    let proposer = consensus_key(1).public();
    let mut blocks = Vec::new();
    for k in 1..=3u64 {
        let t_s = T0 + 60 * k;
        let mut txs = vec![tc.readings_tx(vec![tc.gen(MeterId(1), t_s, 100)])];
        txs.push(tc.consumption_tx(vec![tc.cons(SiteId(1), t_s, 20)]));
        if k >= 2 {
            txs.push(tc.tx(
                &key("alice"),
                Body::Transfer {
                    to: account("bob"),
                    amount: Wh(10),
                    vintages: None,
                },
            ));
        }
        for r in chain.submit(txs.clone()) {
            r.unwrap();
        }
        let hash = chain.build_block(Height(k), t_ms(k), proposer).unwrap();
        tc.at_s(t_s);
        tc.apply(txs).unwrap();
        if k == 3 {
            let third = chain.take_executed(&hash).unwrap();
            return Fixture {
                genesis,
                blocks,
                third,
                dir,
            };
        }
        let cert = certify(&chain, Height(k), hash);
        let block = chain.executed_block(&hash).unwrap().clone();
        chain.commit(&hash, cert.clone()).unwrap();
        blocks.push((block, cert));
    }
    unreachable!()
}

/// A chain at height 2, in `dir`.
fn at_height_two(f: &Fixture, dir: &Path) -> Chain {
    let mut chain = open(&f.genesis, dir);
    for (b, c) in &f.blocks {
        chain.import_decided(b.clone(), c.clone()).unwrap();
    }
    chain
}

fn judge_as_validator(f: &Fixture, name: &str, block: &Block) -> InvalidBlock {
    let mut chain = at_height_two(f, &f.dir.path().join(format!("v-{name}")));
    match chain.check_block(block.clone(), t_ms(3)) {
        Err(watt_node::chain::ChainError::Invalid { height, source }) => {
            assert_eq!(height, Height(3));
            *source
        }
        other => panic!("{name}: the validator said {other:?}"),
    }
}

fn judge_as_chain_verify(f: &Fixture, name: &str, block: &Block) -> InvalidBlock {
    let dir = f.dir.path().join(format!("d-{name}"));
    let chain = at_height_two(f, &dir);
    let cert = certify(&chain, Height(3), block.hash());
    // The tampered block written behind the node's back, with the honest
    // block's execution.
    chain
        .store()
        .commit_block(&CommittedBlock {
            block: block.clone(),
            commit: cert,
            outcome: f.third.outcome.clone(),
            tree_nodes: f.third.tree_nodes.clone(),
        })
        .unwrap();
    match verify_store(chain.store()) {
        Err(VerifyStoreError::Invalid { height, source }) => {
            assert_eq!(height, Height(3));
            *source
        }
        other => panic!("{name}: watt chain verify said {other:?}"),
    }
}

fn judge_as_auditor(f: &Fixture, name: &str, block: &Block) -> InvalidBlock {
    let file = f.dir.path().join(format!("{name}.wexp"));
    let chain = at_height_two(f, &f.dir.path().join(format!("a-{name}")));
    let cert = certify(&chain, Height(3), block.hash());
    {
        let out = std::fs::File::create(&file).unwrap();
        let mut w = ExportWriter::new(out, &f.genesis, Height(1)).unwrap();
        for (b, c) in &f.blocks {
            w.block(b, c).unwrap();
        }
        w.block(block, &cert).unwrap();
        w.finish().unwrap();
    }
    let r = audit::run(AuditOptions {
        source: file.display().to_string(),
        expected: ExpectedChain::ChainId(f.genesis.chain_id()),
        checkpoint: None,
        genesis_state: None,
        out: f.dir.path().join(format!("{name}.report")),
        progress: ProgressMode::Quiet,
        parquet: false,
    });
    match r {
        Err(AuditError::InvalidBlock { height, error }) => {
            assert_eq!(height, Height(3));
            *error
        }
        other => panic!("{name}: watt audit said {:?}", other.map(|s| s.height)),
    }
}

#[test]
fn a_validator_chain_verify_and_the_auditor_give_the_same_error_for_every_tampered_block() {
    let f = fixture();
    let honest = f.third.block.clone();
    let parent_time = f.blocks[1].0.header.timestamp_ms;
    let outsider = Keypair::from_seed([66; 32]);
    type Tamper = Box<dyn Fn(&mut Block)>;
    let cases: Vec<(&str, Tamper)> = vec![
        ("chain-id", Box::new(|b| b.header.chain_id = Hash([9; 32]))),
        (
            "parent-hash",
            Box::new(|b| b.header.parent_hash = Hash([9; 32])),
        ),
        (
            "timestamp",
            Box::new(move |b| b.header.timestamp_ms = parent_time),
        ),
        (
            "validator-set",
            Box::new(|b| b.header.validator_set_hash = Hash([9; 32])),
        ),
        (
            "proposer",
            Box::new(move |b| b.header.proposer = outsider.public()),
        ),
        (
            "parent-commit-hash",
            Box::new(|b| b.header.parent_commit_hash = Hash([9; 32])),
        ),
        (
            "parent-commit-missing",
            Box::new(|b| {
                b.parent_commit = None;
                b.header.parent_commit_hash = Hash::ZERO;
            }),
        ),
        (
            "parent-commit-forged",
            Box::new(|b| {
                let c = b.parent_commit.as_mut().unwrap();
                let mut sigs = c.signatures.to_vec();
                sigs[0].0[3] ^= 1;
                c.signatures = watt_runtime::encoding::BoundedVec::new(sigs).unwrap();
                b.header.parent_commit_hash = c.hash();
            }),
        ),
        (
            "tx-signature",
            Box::new(|b| {
                let mut txs = b.txs.to_vec();
                txs[2].signature.0[5] ^= 1;
                b.header.tx_root = tx_root(&txs);
                b.txs = watt_runtime::encoding::BoundedVec::new(txs).unwrap();
            }),
        ),
        ("tx-root", Box::new(|b| b.header.tx_root = Hash([9; 32]))),
        (
            "event-root",
            Box::new(|b| b.header.event_root = Hash([9; 32])),
        ),
        (
            "state-root",
            Box::new(|b| b.header.state_root = Hash([9; 32])),
        ),
        (
            "next-validator-set",
            Box::new(|b| b.header.next_validator_set_hash = Hash([9; 32])),
        ),
    ];
    let mut kinds = Vec::new();
    for (name, tamper) in &cases {
        let mut block = honest.clone();
        tamper(&mut block);
        let v = judge_as_validator(&f, name, &block);
        let c = judge_as_chain_verify(&f, name, &block);
        let a = judge_as_auditor(&f, name, &block);
        assert_eq!(v, c, "{name}: the validator and watt chain verify disagree");
        assert_eq!(v, a, "{name}: the validator and watt audit disagree");
        kinds.push(v.object());
    }
    // Each case is caught by its own check.
    let mut distinct = kinds.clone();
    distinct.dedup();
    assert!(distinct.len() >= 10, "{kinds:?}");
    // The honest block passes everywhere.
    let mut chain = at_height_two(&f, &f.dir.path().join("v-honest"));
    chain.check_block(honest, t_ms(3)).unwrap();
    let _ = chain.store().head();
}
