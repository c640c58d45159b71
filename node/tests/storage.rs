//! The store: blocks, certificates and state in one batch per block, reads
//! at past heights, the schema version, and `watt chain verify` over it.

use watt_node::chain::Chain;
use watt_node::mempool::{Config, Mempool};
use watt_node::storage::*;
use watt_runtime::block::CommitCertificate;
use watt_runtime::crypto::Keypair;
use watt_runtime::state::StateKey;
use watt_runtime::testkit::TestChain;
use watt_runtime::types::Height;

fn genesis() -> watt_runtime::genesis::Genesis {
    TestChain::new().genesis.clone()
}

#[test]
fn unknown_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), &genesis()).unwrap();
        store.set_schema_version(99).unwrap();
    }
    let before: Vec<(String, Vec<u8>)> = snapshot(dir.path());
    let err = Store::open(dir.path(), &genesis()).err().expect("refused");
    assert!(
        matches!(
            err,
            StorageError::Schema {
                found: 99,
                expected: SCHEMA_VERSION,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("left untouched"));
    assert_eq!(
        snapshot(dir.path()),
        before,
        "refusing must not write a byte"
    );
}

fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn another_chain_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path(), &genesis()).unwrap();
    let mut other = genesis();
    other.genesis_time_ms += 1;
    let err = Store::open(dir.path(), &other).err().expect("refused");
    assert!(matches!(err, StorageError::OtherChain { .. }), "{err}");
}

/// Builds and commits `n` blocks with a lone validator's certificate.
fn grow(chain: &mut Chain, key: &Keypair, n: u64) {
    for _ in 0..n {
        let height = chain.head().unwrap().next();
        let (_, t) = chain.head_hash_and_time().unwrap();
        let hash = chain.build_block(height, t + 1000, key.public()).unwrap();
        let set = chain.next_validators().unwrap();
        let vote = watt_runtime::block::Vote {
            kind: watt_runtime::block::VoteKind::Precommit,
            chain_id: chain.chain_id(),
            height,
            round: 0,
            block_hash: Some(hash),
            validator: key.public(),
        }
        .sign(key);
        let cert = CommitCertificate::from_precommits(&set, height, 0, hash, &[vote]);
        chain.commit(&hash, cert).unwrap();
    }
}

fn single_validator_chain(dir: &std::path::Path) -> (Chain, Keypair, TestChain) {
    let tc = TestChain::builder().authorities(1).build();
    let store = Store::open(dir, &tc.genesis).unwrap();
    (
        Chain::new(store, Mempool::new(Config::default())).unwrap(),
        watt_runtime::testkit::consensus_key(1),
        tc,
    )
}

#[test]
fn blocks_commit_and_past_state_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let (mut chain, key, tc) = single_validator_chain(dir.path());
    let root0 = chain.store().state_root().unwrap();
    let chain_key = StateKey::Chain.encode();
    let at0 = chain
        .store()
        .state_at(&chain_key, Height(0))
        .unwrap()
        .unwrap();
    grow(&mut chain, &key, 3);
    let store = chain.store();
    assert_eq!(store.head().unwrap(), Height(3));
    assert_ne!(store.state_root().unwrap(), root0);
    // Archive: the chain record after genesis is still readable, and differs.
    assert_eq!(store.state_at(&chain_key, Height(0)).unwrap().unwrap(), at0);
    assert_ne!(store.state_at(&chain_key, Height(3)).unwrap().unwrap(), at0);
    // Indexes and certificates.
    let b2 = store.block(Height(2)).unwrap().unwrap();
    assert_eq!(store.height_of(&b2.hash()).unwrap(), Some(Height(2)));
    assert!(store.commit(Height(3)).unwrap().is_some());
    // The certificate block 3 carried is the canonical one of height 2.
    assert_eq!(
        store.block(Height(3)).unwrap().unwrap().parent_commit,
        store.commit(Height(2)).unwrap()
    );
    let _ = tc;
    // Re-execution from genesis agrees with every stored root.
    watt_node::cli::verify_store(store).unwrap();
}

#[test]
fn a_block_that_does_not_follow_the_head_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut chain, key, _tc) = single_validator_chain(dir.path());
    grow(&mut chain, &key, 1);
    let b1 = chain.store().block(Height(1)).unwrap().unwrap();
    let c = CommittedBlock {
        block: b1,
        commit: chain.store().commit(Height(1)).unwrap().unwrap(),
        outcome: Default::default(),
        tree_nodes: vec![],
    };
    assert!(matches!(
        chain.store().commit_block(&c),
        Err(StorageError::NotNext { .. })
    ));
}

#[test]
fn a_crash_before_the_genesis_batch_leaves_a_directory_that_still_opens() {
    // Column families are created before the genesis batch is written.
    let dir = tempfile::tempdir().unwrap();
    {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let _db = rocksdb::DB::open_cf(&opts, dir.path(), tables::ALL).unwrap();
    }
    assert_eq!(Store::schema_version(dir.path()).unwrap(), None);
    let store = Store::open(dir.path(), &genesis()).unwrap();
    assert_eq!(store.head().unwrap(), Height(0));
}
