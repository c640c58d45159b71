use super::*;
use watt_runtime::crypto::Keypair;
use watt_runtime::tx::{Body, UnsignedTx};
use watt_runtime::types::Wh;

fn key(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

fn tx(sender: u8, nonce: u64, amount: u64) -> VerifiedTx {
    let body = Body::Transfer {
        to: AccountId(key(200).public()),
        amount: Wh(amount),
        vintages: None,
    };
    let t = UnsignedTx {
        chain_id: Hash([1; 32]),
        signer: AccountId(key(sender).public()),
        nonce,
        body,
    }
    .sign(&key(sender));
    VerifiedTx::new(t, vec![])
}

fn acct(n: u8) -> AccountId {
    AccountId(key(n).public())
}

fn small(max_txs: usize, per_sender: usize, future: u64) -> Mempool {
    Mempool::new(Config {
        max_txs,
        max_bytes: 1 << 30,
        max_per_sender: per_sender,
        max_future_nonces: future,
    })
}

fn hashes(v: &[&VerifiedTx]) -> Vec<Hash> {
    v.iter().map(|t| t.hash).collect()
}

#[test]
fn nonce_gap_is_held_until_filled() {
    let mut pool = small(100, 10, 10);
    let (t0, t1, t2) = (tx(1, 0, 1), tx(1, 1, 1), tx(1, 2, 1));
    pool.add(t2.clone(), 0).unwrap();
    pool.add(t0.clone(), 0).unwrap();
    // Nonce 1 missing: only nonce 0 is ready, 2 is held.
    assert_eq!(hashes(&pool.ready(|_| 0)), vec![t0.hash]);
    pool.add(t1.clone(), 0).unwrap();
    assert_eq!(hashes(&pool.ready(|_| 0)), vec![t0.hash, t1.hash, t2.hash]);
}

#[test]
fn duplicates_and_taken_nonces_are_refused() {
    let mut pool = small(100, 10, 10);
    let t = tx(1, 0, 1);
    pool.add(t.clone(), 0).unwrap();
    assert_eq!(pool.add(t.clone(), 0), Err(AddError::Duplicate(t.hash)));
    assert_eq!(
        pool.add(tx(1, 0, 2), 0),
        Err(AddError::NonceTaken {
            sender: acct(1),
            nonce: 0
        })
    );
    assert_eq!(pool.len(), 1);
}

#[test]
fn stale_and_far_future_nonces_are_refused() {
    let mut pool = small(100, 10, 4);
    assert_eq!(
        pool.add(tx(1, 2, 1), 3),
        Err(AddError::NonceTooLow {
            sender: acct(1),
            expected: 3,
            got: 2
        })
    );
    assert!(matches!(
        pool.add(tx(1, 8, 1), 3),
        Err(AddError::NonceTooHigh { max: 4, .. })
    ));
    assert!(
        pool.add(tx(1, 7, 1), 3).is_ok(),
        "exactly max ahead is held"
    );
}

#[test]
fn per_sender_cap() {
    let mut pool = small(100, 2, 10);
    pool.add(tx(1, 0, 1), 0).unwrap();
    pool.add(tx(1, 1, 1), 0).unwrap();
    assert_eq!(
        pool.add(tx(1, 2, 1), 0),
        Err(AddError::SenderFull {
            sender: acct(1),
            max: 2
        })
    );
    assert!(
        pool.add(tx(2, 0, 1), 0).is_ok(),
        "other senders are unaffected"
    );
}

#[test]
fn global_cap_evicts_the_least_ready() {
    let mut pool = small(4, 10, 10);
    // Sender 1 fills the pool with a chain.
    for n in 0..4 {
        pool.add(tx(1, n, 1), 0).unwrap();
    }
    // A new sender's first transaction evicts sender 1's highest nonce.
    let evicted = pool.add(tx(2, 0, 1), 0).unwrap();
    assert_eq!(evicted, vec![tx(1, 3, 1).hash]);
    assert_eq!(pool.len(), 4);
    // Sender 1 cannot evict itself to add a further nonce.
    assert_eq!(pool.add(tx(1, 3, 1), 0), Err(AddError::PoolFull));
    // Balanced pool: a newcomer far in the future does not displace ready ones.
    let mut pool = small(2, 10, 10);
    pool.add(tx(1, 0, 1), 0).unwrap();
    pool.add(tx(2, 0, 1), 0).unwrap();
    assert_eq!(pool.add(tx(3, 5, 1), 0), Err(AddError::PoolFull));
}

#[test]
fn block_drops_included_and_stale() {
    let mut pool = small(100, 10, 10);
    let (a0, a1, a2) = (tx(1, 0, 1), tx(1, 1, 1), tx(1, 2, 1));
    let b0 = tx(2, 0, 1);
    for t in [&a0, &a1, &a2, &b0] {
        pool.add(t.clone(), 0).unwrap();
    }
    // The block included a0 and, from another node's pool, a different tx
    // with sender 1's nonce 1; so a1 is now stale.
    let dropped = pool.on_block(
        &[a0.hash],
        &[acct(1), acct(1)],
        |s| if *s == acct(1) { 2 } else { 0 },
        |_| true,
    );
    assert_eq!(dropped, vec![a1.hash]);
    assert!(!pool.contains(&a0.hash) && !pool.contains(&a1.hash));
    assert_eq!(
        hashes(&pool.ready(|s| if *s == acct(1) { 2 } else { 0 })),
        vec![a2.hash, b0.hash]
    );
}

#[test]
fn block_drops_what_no_longer_validates() {
    let mut pool = small(100, 10, 10);
    let (a, b) = (tx(1, 0, 1), tx(2, 0, 2));
    pool.add(a.clone(), 0).unwrap();
    pool.add(b.clone(), 0).unwrap();
    let bad = b.hash;
    let dropped = pool.on_block(&[], &[], |_| 0, |t| t.hash != bad);
    assert_eq!(dropped, vec![bad]);
    assert_eq!(pool.len(), 1);
}

#[test]
fn ready_respects_arrival_order_between_senders() {
    let mut pool = small(100, 10, 10);
    let (b0, a0, b1) = (tx(2, 0, 1), tx(1, 0, 1), tx(2, 1, 1));
    pool.add(b0.clone(), 0).unwrap();
    pool.add(a0.clone(), 0).unwrap();
    pool.add(b1.clone(), 0).unwrap();
    assert_eq!(hashes(&pool.ready(|_| 0)), vec![b0.hash, b1.hash, a0.hash]);
    assert_eq!(
        pool.bytes(),
        [b0, a0, b1].iter().map(|t| t.size).sum::<usize>()
    );
}

#[test]
fn the_next_nonce_counts_pending_transactions_up_to_a_gap() {
    let mut pool = small(100, 10, 10);
    assert_eq!(pool.next_nonce(&acct(1), 3), 3);
    for n in [3, 4, 6] {
        pool.add(tx(1, n, 1), 3).unwrap();
    }
    assert_eq!(pool.next_nonce(&acct(1), 3), 5, "5 is missing, so 6 waits");
    assert_eq!(pool.next_nonce(&acct(1), 5), 5);
    assert_eq!(
        pool.next_nonce(&acct(2), 0),
        0,
        "other senders are their own"
    );
}
