//! Signature checks before execution ([`crate::verify`]): the signer's,
//! each reading's device signature under the key the state names and the
//! right domain and chain, and the batch path agreeing with the single one.

use super::prelude::*;
use crate::tx::{Transaction, UnsignedTx};
use crate::verify::{verify_tx, verify_txs};

fn transfer(amount: u64) -> Body {
    Body::Transfer {
        to: account("bob"),
        amount: Wh(amount),
        vintages: None,
    }
}

#[test]
fn a_bad_signer_signature_is_refused() {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 900, 1_000);
    let mut flipped = c.tx(&key("alice"), transfer(10));
    flipped.signature.0[5] ^= 1;
    let alice = account("alice");
    assert_eq!(
        c.expect_err_tx(flipped),
        TxError::BadSignature { signer: alice }
    );
    // Signed by someone else than the signer it names.
    let other = UnsignedTx {
        chain_id: c.chain_id,
        signer: alice,
        nonce: 0,
        body: transfer(10),
    }
    .sign(&key("bob"));
    assert_eq!(
        c.expect_err_tx(other),
        TxError::BadSignature { signer: alice }
    );
    // The body changed after signing.
    let mut changed = c.tx(&key("alice"), transfer(10));
    changed.unsigned.body = transfer(999);
    assert_eq!(
        c.expect_err_tx(changed),
        TxError::BadSignature { signer: alice }
    );
}

#[test]
fn batch_verification_names_exactly_the_failing_transactions() {
    let c = TestChain::new();
    let names = ["alice", "bob", "carol", "op1", "reg"];
    let mut txs: Vec<Transaction> = (0..90u64)
        .map(|i| c.tx_with_nonce(&key(names[i as usize % 5]), i, transfer(i + 1)))
        .collect();
    for i in [0, 37, 61, 89] {
        txs[i].signature.0[40] ^= 0x10;
    }
    let batch = verify_txs(&c.state, &c.chain_id, txs.clone(), 4);
    assert_eq!(batch.len(), txs.len());
    for (i, (got, tx)) in batch.into_iter().zip(txs).enumerate() {
        let single = verify_tx(&c.state, &c.chain_id, tx.clone());
        assert_eq!(got, single, "transaction {i}");
        assert_eq!(
            got.is_err(),
            [0, 37, 61, 89].contains(&i),
            "transaction {i}"
        );
    }
}

#[test]
fn a_reading_signed_for_another_chain_is_refused() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let r = c
        .gen_reading(M1, T0 + 900, 10)
        .sign(&Hash([3; 32]), &key("meter1"));
    assert_eq!(
        c.expect_gen_err(vec![r]),
        TxError::BadDeviceSignature {
            device: "meter 1".into(),
            sequence: 1
        }
    );
    let r = c
        .cons_reading(S1, T0 + 900, 10)
        .sign(&Hash([3; 32]), &key("site1"));
    assert_eq!(
        c.expect_cons_err(vec![r]),
        TxError::BadDeviceSignature {
            device: "site 1".into(),
            sequence: 1
        }
    );
}

#[test]
fn a_generation_signature_is_not_a_consumption_signature() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let r = c.cons_reading(S1, T0 + 900, 10);
    let as_generation = GenerationReading {
        meter: MeterId(r.site.0),
        sequence: r.sequence,
        period_start: r.period_start,
        period_end: r.period_end,
        counter: r.counter,
        flags: r.flags,
    }
    .sign(&c.chain_id, &key("site1"));
    let forged = Signed {
        reading: r,
        signature: as_generation.signature,
    };
    assert_eq!(
        c.expect_cons_err(vec![forged]),
        TxError::BadDeviceSignature {
            device: "site 1".into(),
            sequence: 1
        }
    );
}

#[test]
fn a_reading_of_an_unknown_device_is_refused_at_verification() {
    let mut c = TestChain::new();
    let g = GenerationReading {
        meter: MeterId(9),
        sequence: 1,
        period_start: T0,
        period_end: T0 + 1,
        counter: Wh(0),
        flags: 0,
    }
    .sign(&c.chain_id, &key("meter1"));
    let tx = c.tx(
        &key("op1"),
        Body::SubmitReadings {
            readings: BoundedVec::new(vec![g]).unwrap(),
        },
    );
    assert_eq!(
        c.expect_err_tx(tx),
        TxError::UnknownMeter { meter: MeterId(9) }
    );
    let s = ConsumptionReading {
        site: SiteId(9),
        sequence: 1,
        period_start: T0,
        period_end: T0 + 1,
        counter: Wh(0),
        flags: 0,
    }
    .sign(&c.chain_id, &key("site1"));
    let tx = c.tx(
        &key("bob"),
        Body::SubmitConsumption {
            readings: BoundedVec::new(vec![s]).unwrap(),
        },
    );
    assert_eq!(
        c.expect_err_tx(tx),
        TxError::UnknownSite { site: SiteId(9) }
    );
}

#[test]
fn execution_refuses_readings_without_a_verdict_for_each() {
    let mut c = TestChain::new();
    c.at_s(T0 + 900);
    let tx = c.readings_tx(vec![c.gen(M1, T0 + 900, 10)]);
    // A caller that skipped verification: no device key for the reading.
    let vtx = VerifiedTx::new(tx, vec![]);
    let got = apply_block(&c.state, c.context(), &[vtx]);
    assert!(
        matches!(
            got,
            Err(BlockError::TxFailed {
                index: 0,
                error: TxError::BadDeviceSignature { .. },
                ..
            })
        ),
        "{got:?}"
    );
}
