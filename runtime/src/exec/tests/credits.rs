//! Moving credits (docs/protocol.md §4: holdings, Transfer, Retire,
//! WithdrawCredits, expiry), who may sign and nonces (§3), chain ids, and
//! block atomicity (§12.2).

use super::prelude::*;
use crate::tx::UnsignedTx;

fn alice() -> AccountId {
    account("alice")
}

fn bob() -> AccountId {
    account("bob")
}

/// alice holds 1000 Wh of hour T0 and 1000 Wh of hour T0 + 1.
fn two_vintages() -> TestChain {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 900, 1_000);
    c.mint(M1, T0 + 4500, 1_000);
    c
}

fn transfer(to: AccountId, amount: u64) -> Body {
    Body::Transfer {
        to,
        amount: Wh(amount),
        vintages: None,
    }
}

#[test]
fn a_transfer_takes_the_oldest_vintages_first() {
    let mut c = two_vintages();
    let out = c.ok(&key("alice"), transfer(bob(), 1_500));
    assert_eq!(
        out,
        vec![Event::Transferred {
            from: alice(),
            to: bob(),
            parts: vec![
                (vintage_at(T0), Wh(1_000)),
                (vintage_at(T0 + 3600), Wh(500))
            ],
        }]
    );
    assert_eq!(c.balance(&alice()), Wh(500));
    assert_eq!(c.holding(&alice(), &vintage_at(T0)), Wh(0));
    assert_eq!(c.holding(&bob(), &vintage_at(T0 + 3600)), Wh(500));
    assert_eq!(c.supply().held, Wh(2_000));
}

#[test]
fn named_vintages_are_taken_in_the_given_order() {
    let mut c = two_vintages();
    let out = c.ok(
        &key("alice"),
        Body::Transfer {
            to: bob(),
            amount: Wh(1_500),
            vintages: named(&[vintage_at(T0 + 3600), vintage_at(T0)]),
        },
    );
    assert_eq!(
        out,
        vec![Event::Transferred {
            from: alice(),
            to: bob(),
            parts: vec![
                (vintage_at(T0 + 3600), Wh(1_000)),
                (vintage_at(T0), Wh(500))
            ],
        }]
    );
}

#[test]
fn named_vintages_must_be_held_and_must_cover_the_amount() {
    let mut c = two_vintages();
    let err = c.expect_err(
        &key("alice"),
        Body::Transfer {
            to: bob(),
            amount: Wh(100),
            vintages: named(&[vintage_at(T0 + 5 * 3600)]),
        },
    );
    assert_eq!(
        err,
        TxError::VintageNotHeld {
            vintage: vintage_at(T0 + 5 * 3600)
        }
    );
    let err = c.expect_err(
        &key("alice"),
        Body::Transfer {
            to: bob(),
            amount: Wh(1_500),
            vintages: named(&[vintage_at(T0 + 3600)]),
        },
    );
    assert_eq!(
        err,
        TxError::InsufficientBalance {
            needed: Wh(1_500),
            available: Wh(1_000)
        }
    );
}

#[test]
fn a_transfer_fails_on_insufficient_balance() {
    let mut c = two_vintages();
    let err = c.expect_err(&key("alice"), transfer(bob(), 2_001));
    assert_eq!(
        err,
        TxError::InsufficientBalance {
            needed: Wh(2_001),
            available: Wh(2_000)
        }
    );
    c.ok(&key("alice"), transfer(bob(), 2_000));
    assert_eq!(c.balance(&alice()), Wh(0));
}

#[test]
fn zero_and_self_transfers_are_refused() {
    let mut c = two_vintages();
    assert_eq!(
        c.expect_err(&key("alice"), transfer(bob(), 0)),
        TxError::ZeroAmount
    );
    assert_eq!(
        c.expect_err(&key("alice"), transfer(alice(), 10)),
        TxError::SelfTransfer
    );
}

#[test]
fn a_transfer_creating_an_account_must_carry_the_minimum() {
    let mut c = two_vintages();
    let carol = account("carol");
    assert!(!c.account_exists(&carol));
    let err = c.expect_err(&key("alice"), transfer(carol, 999));
    assert_eq!(
        err,
        TxError::BelowNewAccountMinimum {
            to: carol,
            amount: Wh(999),
            minimum: Wh(1_000)
        }
    );
    c.ok(&key("alice"), transfer(carol, 1_000));
    // Once it exists, any amount will do, and carol may sign.
    c.ok(&key("alice"), transfer(carol, 1));
    c.ok(&key("carol"), transfer(bob(), 1));
    assert_eq!(c.balance(&carol), Wh(1_000));
}

#[test]
fn an_unknown_signer_is_refused() {
    let mut c = two_vintages();
    let err = c.expect_err(&key("mallory"), transfer(bob(), 1));
    assert_eq!(
        err,
        TxError::UnknownSigner {
            signer: account("mallory")
        }
    );
    // Not even a retirement or a vote: only readings and evidence are open.
    let err = c.expect_err(
        &key("mallory"),
        Body::Vote {
            proposal: ProposalId(1),
            approve: true,
        },
    );
    assert!(matches!(err, TxError::UnknownSigner { .. }), "{err:?}");
}

#[test]
fn a_nonce_must_be_the_signers_next() {
    let mut c = two_vintages();
    let tx = c.tx_with_nonce(&key("alice"), 1, transfer(bob(), 1));
    assert_eq!(
        c.expect_err_tx(tx),
        TxError::BadNonce {
            signer: alice(),
            expected: 0,
            got: 1
        }
    );
    let tx = c.tx_with_nonce(&key("alice"), 0, transfer(bob(), 1));
    c.ok_tx(tx.clone());
    assert_eq!(c.account(&alice()).nonce, 1);
    // A replay of the same transaction fails on its nonce.
    assert_eq!(
        c.expect_err_tx(tx),
        TxError::BadNonce {
            signer: alice(),
            expected: 1,
            got: 0
        }
    );
}

#[test]
fn a_transaction_for_another_chain_is_refused_at_verification_and_execution() {
    let c = two_vintages();
    let other = Hash([7; 32]);
    let tx = UnsignedTx {
        chain_id: other,
        signer: alice(),
        nonce: 0,
        body: transfer(bob(), 1),
    }
    .sign(&key("alice"));
    let wrong = TxError::WrongChain {
        expected: c.chain_id,
        got: other,
    };
    assert_eq!(
        c.verify(vec![tx.clone()]).pop().unwrap(),
        Err(wrong.clone())
    );
    // Execution checks it too, should a caller skip verification.
    let vtx = VerifiedTx::new(tx.clone(), vec![]);
    let got = apply_block(&c.state, c.context(), &[vtx]);
    assert_eq!(
        got,
        Err(BlockError::TxFailed {
            index: 0,
            tx: tx.hash(),
            error: wrong
        })
    );
}

#[test]
fn retiring_burns_oldest_first_and_keeps_a_record() {
    let mut c = two_vintages();
    let body = Body::Retire {
        amount: Wh(1_200),
        beneficiary: text("Village school"),
        purpose: text("heating 2026"),
        vintages: None,
    };
    let out = c.ok(&key("alice"), body);
    let parts = vec![
        (vintage_at(T0), Wh(1_000)),
        (vintage_at(T0 + 3600), Wh(200)),
    ];
    assert_eq!(
        out,
        vec![Event::Retired {
            id: RetirementId(1),
            account: alice(),
            parts: parts.clone(),
        }]
    );
    let r = c.retirement(RetirementId(1));
    assert_eq!(
        (r.account, r.amount, r.consumed, r.height),
        (alice(), Wh(1_200), parts, c.height())
    );
    assert_eq!(c.supply().retired, Wh(1_200));
    assert_eq!(c.balance(&alice()), Wh(800));
    let err = c.expect_err(
        &key("alice"),
        Body::Retire {
            amount: Wh(801),
            beneficiary: text("x"),
            purpose: text("y"),
            vintages: None,
        },
    );
    assert_eq!(
        err,
        TxError::InsufficientBalance {
            needed: Wh(801),
            available: Wh(800)
        }
    );
    assert_eq!(c.chain_state().next_retirement, 1);
}

#[test]
fn the_regulator_withdraws_credits_issued_in_error() {
    let mut c = two_vintages();
    let body = |amount| Body::WithdrawCredits {
        account: alice(),
        vintage: vintage_at(T0),
        amount: Wh(amount),
        reason: text("meter miscalibrated"),
    };
    assert_eq!(
        c.expect_err(&key("op1"), body(300)),
        TxError::NotPermitted {
            signer: account("op1"),
            role: "a regulator"
        }
    );
    assert_eq!(
        c.expect_err(&key("reg"), body(1_001)),
        TxError::InsufficientBalance {
            needed: Wh(1_001),
            available: Wh(1_000)
        }
    );
    let out = c.ok(&key("reg"), body(300));
    assert_eq!(
        out,
        vec![Event::Withdrawn {
            account: alice(),
            vintage: vintage_at(T0),
            amount: Wh(300),
            reason: text("meter miscalibrated"),
        }]
    );
    assert_eq!(c.holding(&alice(), &vintage_at(T0)), Wh(700));
    assert_eq!(c.supply().withdrawn, Wh(300));
    assert_eq!(
        c.expect_err(
            &key("reg"),
            Body::WithdrawCredits {
                account: bob(),
                vintage: vintage_at(T0),
                amount: Wh(1),
                reason: text("none held"),
            }
        ),
        TxError::VintageNotHeld {
            vintage: vintage_at(T0)
        }
    );
}

/// With a lifetime of 10 hours, a vintage of hour h expires in the first
/// block whose hour is h + 10, and not one hour (or one millisecond)
/// earlier.
#[test]
fn a_vintage_expires_in_the_first_block_of_hour_h_plus_lifetime() {
    let mut c = TestChain::builder()
        .with_policy(|p| p.credit_lifetime_hours = 10)
        .build();
    c.mint(M1, T0 + 900, 1_000);
    let h = Hour::of_seconds(T0);
    let expiry_ms = (T0 + 10 * 3600) * 1000;
    c.at(expiry_ms - 3_600_000);
    assert_eq!(block_events(&c.empty_block()), vec![]);
    c.at(expiry_ms - 1);
    assert_eq!(block_events(&c.empty_block()), vec![]);
    assert_eq!(c.balance(&alice()), Wh(1_000));
    c.at(expiry_ms);
    let out = c.empty_block();
    assert_eq!(
        block_events(&out),
        vec![Event::Expired {
            account: alice(),
            vintage: vintage(h),
            amount: Wh(1_000),
        }]
    );
    assert_eq!(c.balance(&alice()), Wh(0));
    assert_eq!(c.supply().expired, Wh(1_000));
    assert_eq!(c.zone().expired_through, Some(h));
}

#[test]
fn expired_credits_cannot_move_or_burn() {
    let mut c = TestChain::builder()
        .with_policy(|p| p.credit_lifetime_hours = 10)
        .build();
    c.mint(M1, T0 + 900, 1_000);
    c.mint(M1, T0 + 5 * 3600 + 900, 500);
    c.at_s(T0 + 10 * 3600);
    let err = c.expect_err(&key("alice"), transfer(bob(), 600));
    assert_eq!(
        err,
        TxError::InsufficientBalance {
            needed: Wh(600),
            available: Wh(500)
        }
    );
    let err = c.expect_err(
        &key("alice"),
        Body::Retire {
            amount: Wh(1),
            beneficiary: text("x"),
            purpose: text("y"),
            vintages: named(&[vintage_at(T0)]),
        },
    );
    assert_eq!(
        err,
        TxError::VintageNotHeld {
            vintage: vintage_at(T0)
        }
    );
    c.ok(&key("alice"), transfer(bob(), 500));
}

#[test]
fn a_failing_transaction_fails_the_whole_block_with_its_index() {
    let mut c = two_vintages();
    let root = c.state.root();
    let good = c.tx(&key("alice"), transfer(bob(), 100));
    let bad = c.tx(&key("bob"), transfer(alice(), 5_000));
    let bad_hash = bad.hash();
    let got = c.apply(vec![good, bad]);
    assert_eq!(
        got,
        Err(BlockError::TxFailed {
            index: 1,
            tx: bad_hash,
            error: TxError::InsufficientBalance {
                needed: Wh(5_000),
                available: Wh(100)
            }
        })
    );
    assert_eq!(c.state.root(), root);
    assert_eq!(c.balance(&bob()), Wh(0));
}

#[test]
fn try_apply_leaves_no_trace_of_a_failing_transaction() {
    let c = two_vintages();
    let ctx = c.context();
    let good = |c: &TestChain| {
        let t = c.tx_with_nonce(&key("alice"), 0, transfer(bob(), 1_500));
        c.verify(vec![t]).pop().unwrap().unwrap()
    };
    // bob's transfer fails after alice's made him a holder: it would touch
    // the same accounts.
    let bad = c.tx_with_nonce(&key("bob"), 0, transfer(alice(), 1_501));
    let bad = c.verify(vec![bad]).pop().unwrap().unwrap();

    let mut only_good = BlockExecutor::begin(&c.state, ctx.clone()).unwrap();
    only_good.try_apply(&good(&c)).unwrap();
    let expected = only_good.finish().unwrap();

    let mut mixed = BlockExecutor::begin(&c.state, ctx).unwrap();
    mixed.try_apply(&good(&c)).unwrap();
    assert_eq!(
        mixed.try_apply(&bad),
        Err(TxError::InsufficientBalance {
            needed: Wh(1_501),
            available: Wh(1_500)
        })
    );
    let got = mixed.finish().unwrap();
    assert_eq!(got.diff, expected.diff);
    assert_eq!(got.events, expected.events);
    assert_eq!(got.tx_hashes, expected.tx_hashes);
}

#[test]
fn a_block_respects_height_time_and_size_limits() {
    let mut c = TestChain::builder()
        .with_params(|p| p.max_block_txs = 1)
        .build();
    c.mint(M1, T0 + 900, 1_000);
    let t1 = c.tx(&key("alice"), transfer(bob(), 1));
    let t2 = c.tx(&key("alice"), transfer(bob(), 1));
    assert_eq!(
        c.apply(vec![t1, t2]),
        Err(BlockError::TooLarge {
            what: "transactions",
            got: 2,
            max: 1
        })
    );
    let last = c.last_block_ms();
    c.at(last);
    assert_eq!(
        c.apply(vec![]),
        Err(BlockError::TimeNotIncreasing { last, got: last })
    );
    let mut ctx = c.context();
    ctx.timestamp_ms = last + 1;
    ctx.height = Height(c.height().0 + 2);
    assert_eq!(
        apply_block(&c.state, ctx, &[]).map(|_| ()),
        Err(BlockError::WrongHeight {
            last: c.height(),
            got: Height(c.height().0 + 2)
        })
    );
}
