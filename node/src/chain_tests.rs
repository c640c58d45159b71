use super::*;
use crate::mempool::Config;
use watt_runtime::block::{Vote, VoteKind};
use watt_runtime::crypto::Keypair;
use watt_runtime::testkit::{account, consensus_key, key, TestChain};
use watt_runtime::tx::Body;
use watt_runtime::types::{MeterId, Wh};

const T0_MS: u64 = 1_767_225_600_000;

fn open(tc: &TestChain, dir: &std::path::Path) -> Chain {
    Chain::new(
        Store::open(dir, &tc.genesis).unwrap(),
        Mempool::new(Config::default()),
    )
    .unwrap()
}

fn certify(chain: &Chain, key: &Keypair, height: Height, hash: Hash) -> CommitCertificate {
    let vote = Vote {
        kind: VoteKind::Precommit,
        chain_id: chain.chain_id(),
        height,
        round: 0,
        block_hash: Some(hash),
        validator: key.public(),
    }
    .sign(key);
    CommitCertificate::from_precommits(&chain.next_validators().unwrap(), height, 0, hash, &[vote])
}

/// Builds the next block at `at_ms` and commits it; returns its txs count.
fn produce(chain: &mut Chain, at_ms: u64) -> usize {
    let key = consensus_key(1);
    let height = chain.head().unwrap().next();
    let hash = chain.build_block(height, at_ms, key.public()).unwrap();
    let cert = certify(chain, &key, height, hash);
    chain.commit(&hash, cert).unwrap().txs
}

/// Mints to alice through meter 1, so that she can transfer.
fn fund_alice(tc: &mut TestChain, chain: &mut Chain) {
    let r = tc.gen(MeterId(1), T0_MS / 1000 + 600, 1_500);
    let tx = tc.readings_tx(vec![r]);
    assert!(chain.submit(vec![tx]).into_iter().all(|r| r.is_ok()));
    assert_eq!(produce(chain, T0_MS + 601_000), 1);
}

#[test]
fn blocks_respect_the_chain_transaction_limit() {
    let mut tc = TestChain::builder()
        .authorities(1)
        .with_params(|p| p.max_block_txs = 3)
        .build();
    let dir = tempfile::tempdir().unwrap();
    let mut chain = open(&tc, dir.path());
    fund_alice(&mut tc, &mut chain);
    let (alice, bob) = (key("alice"), account("bob"));
    let txs: Vec<_> = (0..5)
        .map(|_| {
            tc.tx(
                &alice,
                Body::Transfer {
                    to: bob,
                    amount: Wh(10),
                    vintages: None,
                },
            )
        })
        .collect();
    assert!(chain.submit(txs).into_iter().all(|r| r.is_ok()));
    assert_eq!(
        produce(&mut chain, T0_MS + 602_000),
        3,
        "the limit is the chain's max_block_txs"
    );
    assert_eq!(produce(&mut chain, T0_MS + 603_000), 2);
    assert!(chain.mempool().is_empty());
}

#[test]
fn a_transaction_failing_in_the_block_is_dropped_not_included() {
    let mut tc = TestChain::builder().authorities(1).build();
    let dir = tempfile::tempdir().unwrap();
    let mut chain = open(&tc, dir.path());
    fund_alice(&mut tc, &mut chain);
    let (alice, bob) = (key("alice"), account("bob"));
    let too_much = tc.tx(
        &alice,
        Body::Transfer {
            to: bob,
            amount: Wh(100_000),
            vintages: None,
        },
    );
    assert!(
        chain.submit(vec![too_much]).into_iter().all(|r| r.is_ok()),
        "admission checks signatures and nonces, not balances"
    );
    assert_eq!(produce(&mut chain, T0_MS + 602_000), 0);
    assert!(
        chain.mempool().is_empty(),
        "the failing transaction is dropped"
    );
}

#[test]
fn bad_signatures_are_refused_at_admission() {
    let mut tc = TestChain::builder().authorities(1).build();
    let dir = tempfile::tempdir().unwrap();
    let mut chain = open(&tc, dir.path());
    let (alice, bob) = (key("alice"), account("bob"));
    let mut tx = tc.tx(
        &alice,
        Body::Transfer {
            to: bob,
            amount: Wh(10),
            vintages: None,
        },
    );
    tx.signature.0[5] ^= 1;
    let r = chain.submit(vec![tx]);
    assert!(
        matches!(&r[0], Err(ChainError::Tx(TxError::BadSignature { .. }))),
        "{:?}",
        r[0].as_ref().err()
    );
    assert!(chain.mempool().is_empty());
}

#[test]
fn another_node_accepts_the_block_and_refuses_a_tampered_one() {
    let mut tc = TestChain::builder().authorities(1).build();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut proposer = open(&tc, d1.path());
    let mut follower = open(&tc, d2.path());
    let r = tc.gen(MeterId(1), T0_MS / 1000 + 600, 1_500);
    let tx = tc.readings_tx(vec![r]);
    assert!(proposer.submit(vec![tx]).into_iter().all(|r| r.is_ok()));
    let key = consensus_key(1);
    let hash = proposer
        .build_block(Height(1), T0_MS + 601_000, key.public())
        .unwrap();
    let block = proposer.executed[&hash].block.clone();

    let mut bad = block.clone();
    bad.header.state_root.0[0] ^= 1;
    let err = follower.check_block(bad, T0_MS + 601_000).unwrap_err();
    assert!(err.to_string().contains("state root"), "{err}");

    assert_eq!(follower.check_block(block, T0_MS + 601_500).unwrap(), hash);
    let cert = certify(&follower, &key, Height(1), hash);
    follower.commit(&hash, cert.clone()).unwrap();
    proposer.commit(&hash, cert).unwrap();
    assert_eq!(
        follower.store().state_root().unwrap(),
        proposer.store().state_root().unwrap()
    );
}

#[test]
fn a_block_from_the_future_is_refused() {
    let mut tc = TestChain::builder().authorities(1).build();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut proposer = open(&tc, d1.path());
    let mut follower = open(&tc, d2.path());
    let _ = &mut tc;
    let hash = proposer
        .build_block(Height(1), T0_MS + 600_000, consensus_key(1).public())
        .unwrap();
    let block = proposer.executed[&hash].block.clone();
    // The follower's clock is ten minutes behind: far beyond the skew.
    let err = follower.check_block(block, T0_MS).unwrap_err();
    assert!(err.to_string().contains("timestamp"), "{err}");
}

/// Precommits of the given authorities (1-based) for a block.
fn cert_of(chain: &Chain, signers: &[usize], height: Height, hash: Hash) -> CommitCertificate {
    let votes: Vec<_> = signers
        .iter()
        .map(|i| {
            let k = consensus_key(*i);
            Vote {
                kind: VoteKind::Precommit,
                chain_id: chain.chain_id(),
                height,
                round: 0,
                block_hash: Some(hash),
                validator: k.public(),
            }
            .sign(&k)
        })
        .collect();
    CommitCertificate::from_precommits(&chain.next_validators().unwrap(), height, 0, hash, &votes)
}

#[test]
fn a_block_carrying_another_valid_parent_certificate_is_accepted_and_kept() {
    // Four validators: the proposer saw precommits 1-3 for block 1, the
    // follower saw all four. Both certificates are valid; the block commits
    // to the one it carries, and that one becomes canonical everywhere.
    let tc = TestChain::builder().authorities(4).build();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut proposer = open(&tc, d1.path());
    let mut follower = open(&tc, d2.path());
    let p1 = consensus_key(1).public();
    let h1 = proposer.build_block(Height(1), T0_MS + 1_000, p1).unwrap();
    let b1 = proposer.executed[&h1].block.clone();
    assert_eq!(follower.check_block(b1, T0_MS + 1_000).unwrap(), h1);
    let cert_a = cert_of(&proposer, &[1, 2, 3], Height(1), h1);
    let cert_b = cert_of(&follower, &[1, 2, 3, 4], Height(1), h1);
    assert_ne!(cert_a.hash(), cert_b.hash());
    proposer.commit(&h1, cert_a.clone()).unwrap();
    follower.commit(&h1, cert_b).unwrap();

    let h2 = proposer.build_block(Height(2), T0_MS + 2_000, p1).unwrap();
    let b2 = proposer.executed[&h2].block.clone();
    assert_eq!(b2.parent_commit.as_ref(), Some(&cert_a));
    // A body certificate that differs from what the header commits to is refused.
    let mut swapped = b2.clone();
    swapped.parent_commit = Some(cert_of(&follower, &[2, 3, 4], Height(1), h1));
    let err = follower.check_block(swapped, T0_MS + 2_000).unwrap_err();
    assert!(err.to_string().contains("parent commit hash"), "{err}");
    assert_eq!(follower.check_block(b2, T0_MS + 2_000).unwrap(), h2);
    let cert2 = cert_of(&follower, &[1, 2, 3], Height(2), h2);
    follower.commit(&h2, cert2).unwrap();
    assert_eq!(
        follower.store().commit(Height(1)).unwrap(),
        Some(cert_a),
        "the carried certificate is the canonical one"
    );
}

/// Whatever decided, nothing is written without a certificate that
/// verifies: a quorum bitmap with junk signatures is refused at commit and
/// at import, and the chain stays where it was.
#[test]
fn a_certificate_with_junk_signatures_is_refused_at_commit_and_import() {
    let tc = TestChain::builder().authorities(4).build();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut proposer = open(&tc, d1.path());
    let mut follower = open(&tc, d2.path());
    let p1 = consensus_key(1).public();
    let h1 = proposer.build_block(Height(1), T0_MS + 1_000, p1).unwrap();
    let block = proposer.executed[&h1].block.clone();
    let mut forged = cert_of(&proposer, &[1, 2, 3], Height(1), h1);
    let junk = key("outsider").sign(&h1);
    forged.signatures = BoundedVec::new(vec![junk; 3]).unwrap();
    assert!(matches!(
        proposer.commit(&h1, forged.clone()),
        Err(ChainError::Certificate { .. })
    ));
    assert_eq!(proposer.head().unwrap(), Height(0));
    assert!(matches!(
        follower.import_decided(block.clone(), forged),
        Err(ChainError::Certificate { .. })
    ));
    assert_eq!(follower.head().unwrap(), Height(0));
    // The genuine one commits.
    let good = cert_of(&follower, &[1, 2, 3], Height(1), h1);
    follower.import_decided(block, good.clone()).unwrap();
    proposer.commit(&h1, good).unwrap();
}

/// A byzantine proposer signing many variants of its block costs a node at
/// most `MAX_EXECUTED` executed blocks, and its own proposal is never the
/// one forgotten.
#[test]
fn executed_candidates_are_bounded_and_the_own_proposal_is_kept() {
    let tc = TestChain::builder().authorities(4).build();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut other = open(&tc, d1.path());
    let mut me = open(&tc, d2.path());
    let p1 = consensus_key(1).public();
    let mine = me.build_block(Height(1), T0_MS + 500, p1).unwrap();
    for i in 0..(MAX_EXECUTED as u64 * 2) {
        let h = other.build_block(Height(1), T0_MS + 1_000 + i, p1).unwrap();
        let b = other.executed[&h].block.clone();
        me.check_block(b, T0_MS + 1_000 + i).unwrap();
    }
    assert_eq!(me.executed.len(), MAX_EXECUTED);
    assert!(me.is_executed(&mine));
}

/// Alice's transfers of 1 Wh to bob, as many as `n`.
fn transfers(tc: &mut TestChain, n: usize) -> Vec<Transaction> {
    let (alice, bob) = (key("alice"), account("bob"));
    (0..n)
        .map(|_| {
            tc.tx(
                &alice,
                Body::Transfer {
                    to: bob,
                    amount: Wh(1),
                    vintages: None,
                },
            )
        })
        .collect()
}

/// A chain of blocks of at most two transactions whose block 1 funded
/// alice, and a follower that imported it.
fn two_per_block() -> (TestChain, Chain, Chain, [tempfile::TempDir; 2]) {
    let mut tc = TestChain::builder()
        .authorities(1)
        .with_params(|p| p.max_block_txs = 2)
        .build();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut chain = open(&tc, dirs[0].path());
    let mut follower = open(&tc, dirs[1].path());
    fund_alice(&mut tc, &mut chain);
    let store = chain.store();
    let (b1, c1) = (
        store.block(Height(1)).unwrap().unwrap(),
        store.commit(Height(1)).unwrap().unwrap(),
    );
    follower.import_decided(b1, c1).unwrap();
    (tc, chain, follower, dirs)
}

/// Commits `hash` on `chain` and has `follower` check it as a proposal
/// (the one validity rule) and commit it too.
fn decide_on_both(chain: &mut Chain, follower: &mut Chain, hash: Hash, now_ms: u64) {
    let height = chain.head().unwrap().next();
    let block = chain.executed[&hash].block.clone();
    let cert = certify(chain, &consensus_key(1), height, hash);
    chain.commit(&hash, cert.clone()).unwrap();
    assert_eq!(follower.check_block(block, now_ms).unwrap(), hash);
    follower.commit(&hash, cert).unwrap();
    assert_eq!(
        follower.store().state_root().unwrap(),
        chain.store().state_root().unwrap()
    );
}

#[test]
fn a_block_built_ahead_of_its_parents_decision_is_sealed_after_it_and_valid() {
    let (mut tc, mut chain, mut follower, _dirs) = two_per_block();
    let me = consensus_key(1).public();
    let txs = transfers(&mut tc, 3);
    assert!(chain.submit(txs.clone()).into_iter().all(|r| r.is_ok()));
    let t = T0_MS + 602_000;
    let parent = chain.build_block(Height(2), t, me).unwrap();

    assert!(
        chain
            .ahead_job(&parent, t + 100, &[consensus_key(2).public()])
            .unwrap()
            .is_none(),
        "only the next height's proposer builds ahead"
    );
    let job = chain.ahead_job(&parent, t + 100, &[me]).unwrap().unwrap();
    let ahead = job.run().unwrap();
    assert_eq!((ahead.parent(), ahead.height()), (parent, Height(3)));
    assert_eq!(
        ahead.txs(),
        1,
        "built on the parent's state: its two transfers are spent nonces"
    );
    chain.set_ahead(ahead);

    decide_on_both(&mut chain, &mut follower, parent, t + 50);
    let next = chain.build_block(Height(3), t + 300, me).unwrap();
    let block = &chain.executed[&next].block;
    assert_eq!(
        block.header.timestamp_ms,
        t + 100,
        "the block built ahead is the one sealed"
    );
    assert_eq!(block.txs.to_vec(), vec![txs[2].clone()]);
    assert_eq!(block.header.parent_hash, parent);
    assert!(
        block.parent_commit.is_some(),
        "sealed with the parent's certificate"
    );
    decide_on_both(&mut chain, &mut follower, next, t + 350);
    assert!(chain.mempool().is_empty());
}

#[test]
fn a_block_built_ahead_is_built_again_when_it_no_longer_holds() {
    let (mut tc, mut chain, mut follower, _dirs) = two_per_block();
    let me = consensus_key(1).public();
    let t = T0_MS + 602_000;

    // A transaction arrives after the candidates were taken, and the block
    // built ahead had room for it: building again includes it.
    let txs = transfers(&mut tc, 4);
    assert!(chain
        .submit(txs[..3].to_vec())
        .into_iter()
        .all(|r| r.is_ok()));
    let parent = chain.build_block(Height(2), t, me).unwrap();
    let job = chain.ahead_job(&parent, t + 100, &[me]).unwrap().unwrap();
    chain.set_ahead(job.run().unwrap());
    assert!(chain
        .submit(vec![txs[3].clone()])
        .into_iter()
        .all(|r| r.is_ok()));
    decide_on_both(&mut chain, &mut follower, parent, t + 50);
    let next = chain.build_block(Height(3), t + 300, me).unwrap();
    let block = &chain.executed[&next].block;
    assert_eq!(block.header.timestamp_ms, t + 300, "built again");
    assert_eq!(block.txs.to_vec(), txs[2..].to_vec());
    decide_on_both(&mut chain, &mut follower, next, t + 350);

    // Another block of the same height is decided (a later round's): the
    // block built ahead on the first has the wrong parent.
    let txs = transfers(&mut tc, 3);
    assert!(chain.submit(txs.clone()).into_iter().all(|r| r.is_ok()));
    let t = t + 1_000;
    let first = chain.build_block(Height(4), t, me).unwrap();
    let job = chain.ahead_job(&first, t + 100, &[me]).unwrap().unwrap();
    chain.set_ahead(job.run().unwrap());
    let second = chain.build_block(Height(4), t + 200, me).unwrap();
    assert_ne!(first, second);
    decide_on_both(&mut chain, &mut follower, second, t + 250);
    let next = chain.build_block(Height(5), t + 300, me).unwrap();
    assert_eq!(chain.executed[&next].block.header.timestamp_ms, t + 300);
    decide_on_both(&mut chain, &mut follower, next, t + 350);

    // Too old: a block built ahead before a round change is not sealed
    // with a time from long ago.
    let txs = transfers(&mut tc, 3);
    assert!(chain.submit(txs).into_iter().all(|r| r.is_ok()));
    let t = t + 1_000;
    let parent = chain.build_block(Height(6), t, me).unwrap();
    let job = chain.ahead_job(&parent, t + 100, &[me]).unwrap().unwrap();
    chain.set_ahead(job.run().unwrap());
    decide_on_both(&mut chain, &mut follower, parent, t + 150);
    let late = t + 100 + ahead::MAX_AHEAD_AGE_MS + 1;
    let next = chain.build_block(Height(7), late, me).unwrap();
    assert_eq!(chain.executed[&next].block.header.timestamp_ms, late);
    decide_on_both(&mut chain, &mut follower, next, late + 50);
    assert!(chain.mempool().is_empty());
}

#[test]
fn a_block_built_ahead_from_a_cut_candidate_list_is_not_sealed() {
    // An attacker's transactions that fail in the block (carol holds
    // nothing) take candidate slots: the block built ahead from the first
    // 2 x max_block_txs ready ones leaves bob's transfer out, which a
    // block built when the height starts includes.
    let (mut tc, mut chain, mut follower, _dirs) = two_per_block();
    let me = consensus_key(1).public();
    let t = T0_MS + 602_000;
    let alice_txs = transfers(&mut tc, 3);
    assert!(chain
        .submit(alice_txs.clone())
        .into_iter()
        .all(|r| r.is_ok()));
    let parent = chain.build_block(Height(2), t, me).unwrap();
    let to_alice = |tc: &mut TestChain, who: &str| {
        tc.tx(
            &key(who),
            Body::Transfer {
                to: account("alice"),
                amount: Wh(1),
                vintages: None,
            },
        )
    };
    let carol: Vec<_> = (0..4).map(|_| to_alice(&mut tc, "carol")).collect();
    let bob = to_alice(&mut tc, "bob");
    assert!(chain.submit(carol).into_iter().all(|r| r.is_ok()));
    assert!(chain
        .submit(vec![bob.clone()])
        .into_iter()
        .all(|r| r.is_ok()));
    let job = chain.ahead_job(&parent, t + 100, &[me]).unwrap().unwrap();
    let ahead = job.run().unwrap();
    assert_eq!(ahead.txs(), 1, "alice's third; carol's fail; bob's was cut");
    chain.set_ahead(ahead);
    decide_on_both(&mut chain, &mut follower, parent, t + 50);
    let next = chain.build_block(Height(3), t + 300, me).unwrap();
    let block = &chain.executed[&next].block;
    assert_eq!(block.header.timestamp_ms, t + 300, "built again");
    assert_eq!(block.txs.to_vec(), vec![alice_txs[2].clone(), bob]);
    decide_on_both(&mut chain, &mut follower, next, t + 350);
}
