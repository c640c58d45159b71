//! A validator's signing record lives in its own file beside its key. A
//! data directory of an older version, which kept it in the chain
//! database, has it moved to the file on the first start and deleted from
//! the database, so that a stale copy there can never be taken up again.

use std::sync::Arc;
use std::time::Duration;
use watt_node::clock::ScaledClock;
use watt_node::consensus;
use watt_node::dev::genesis::{dev_genesis, validator_key};
use watt_node::service::record::{OpenOptions, Opening, SigningRecord};
use watt_node::service::{Node, NodeConfig, SigningConfig};
use watt_node::storage::{BlockReader, Store};
use watt_runtime::block::{SignedProposal, SignedVote, Vote, VoteKind};
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::encode;
use watt_runtime::types::Height;

const GENESIS_MS: u64 = 1_767_225_600_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signing_record_left_in_the_database_moves_to_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let genesis = dev_genesis(GENESIS_MS).unwrap().genesis;
    let key = validator_key();
    // What an older version wrote: the four marks, here a prevote at a
    // height far ahead, so that the node cannot sign before it.
    let prevote = Vote {
        kind: VoteKind::Prevote,
        chain_id: genesis.chain_id(),
        height: Height(1_000),
        round: 0,
        block_hash: Some(Hash([7; 32])),
        validator: key.public(),
    }
    .sign(&key);
    {
        let store = Store::open(&db, &genesis).unwrap();
        let legacy: (
            Option<SignedProposal>,
            Option<SignedVote>,
            Option<SignedVote>,
            Option<SignedVote>,
        ) = (None, Some(prevote.clone()), None, None);
        store.write_consensus_log(&encode(&legacy)).unwrap();
    }
    let record = dir.path().join("validator.signing");
    let node = Node::start(NodeConfig {
        base_path: db.clone(),
        genesis: genesis.clone(),
        validator_keys: vec![key],
        block_time: Duration::from_millis(100),
        consensus: consensus::Config::default(),
        mempool: watt_node::mempool::Config::default(),
        clock: Arc::new(ScaledClock::new(GENESIS_MS + 1, 60)),
        network: None,
        genesis_state: None,
        signing: Some(SigningConfig {
            record: record.clone(),
            new_chain: false,
        }),
    })
    .unwrap();
    // The prevote mark forbids prevoting below height 1,000, so no block
    // is made (a proposal has a mark of its own, and may be signed).
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(node.handle.store().head().unwrap(), Height(0));
    let Node { handle, task } = node;
    handle.shutdown().await;
    task.await.unwrap().unwrap();
    drop(handle);
    // The verifier task lets go of the store once every sender is gone.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let store = Store::open_existing(&db).unwrap();
    assert_eq!(
        store.consensus_log().unwrap(),
        None,
        "still in the database"
    );
    drop(store);
    let (r, opening) = SigningRecord::open(
        &record,
        OpenOptions {
            chain_id: genesis.chain_id(),
            data_head: Height(0),
            new_chain: false,
            legacy: None,
        },
    )
    .unwrap();
    assert_eq!(opening, Opening::Resumed);
    // The migrated mark is in force: no prevote or precommit below it.
    assert_eq!(r.state().last_vote(VoteKind::Prevote), Some(&prevote));
    assert_eq!(r.state().last_vote(VoteKind::Precommit), None);
}
