//! Evidence of equivocation: two conflicting signed votes by one validator
//! remove its authority two blocks later, for consensus, governance and
//! meter operation.

use super::prelude::*;

fn signed_vote(c: &TestChain, who: &Keypair, height: u64, round: u32, block: u8) -> SignedVote {
    Vote {
        kind: VoteKind::Prevote,
        chain_id: c.chain_id,
        height: Height(height),
        round,
        block_hash: (block != 0).then_some(Hash([block; 32])),
        validator: who.public(),
    }
    .sign(who)
}

fn evidence(first: SignedVote, second: SignedVote) -> Body {
    Body::Evidence { first, second }
}

fn not_conflicting() -> TxError {
    TxError::InvalidEvidence {
        reason:
            "votes are not by one validator for one height, round and kind with different values"
                .into(),
    }
}

#[test]
fn proven_equivocation_removes_the_authority_two_blocks_later() {
    let mut c = TestChain::new();
    let ck3 = consensus_key(3);
    // A vote for a block and a vote for nil conflict too.
    let body = evidence(
        signed_vote(&c, &ck3, 7, 0, 1),
        signed_vote(&c, &ck3, 7, 0, 0),
    );
    // Anyone may submit it.
    let out = c.ok(&key("mallory"), body);
    let h = c.height();
    assert_eq!(
        out,
        vec![Event::EquivocationProven {
            consensus_key: ck3.public(),
            operator: account("op3"),
            height: Height(7),
            activation: Height(h.0 + 2),
        }]
    );
    assert!(c.chain_state().is_authority(&account("op3")));
    let out = c.empty_block();
    let set = c.chain_state().validators;
    assert_eq!(
        block_events(&out),
        vec![Event::AuthoritiesChanged {
            validator_set_hash: set.hash(),
            count: 3
        }]
    );
    assert!(set.index_of(&ck3.public()).is_none());
    assert!(!c.chain_state().is_authority(&account("op3")));
    assert_eq!(
        c.expect_err(
            &key("op3"),
            Body::ProposeAuthoritySet {
                change: AuthorityChange::Remove {
                    operator: account("op1")
                }
            }
        ),
        TxError::NotPermitted {
            signer: account("op3"),
            role: "an authority"
        }
    );
}

#[test]
fn votes_that_do_not_conflict_are_not_evidence() {
    let mut c = TestChain::new();
    let (k1, k2) = (consensus_key(1), consensus_key(2));
    let a = signed_vote(&c, &k1, 7, 0, 1);
    let mut precommit = a.vote.clone();
    precommit.kind = VoteKind::Precommit;
    precommit.block_hash = Some(Hash([2; 32]));
    let cases = [
        (a.clone(), a.clone()),
        (a.clone(), signed_vote(&c, &k1, 7, 1, 2)),
        (a.clone(), signed_vote(&c, &k1, 8, 0, 2)),
        (a.clone(), signed_vote(&c, &k2, 7, 0, 2)),
        (a.clone(), precommit.sign(&k1)),
    ];
    for (first, second) in cases {
        assert_eq!(
            c.expect_err(&key("mallory"), evidence(first, second)),
            not_conflicting()
        );
    }
}

#[test]
fn votes_by_a_non_validator_are_not_evidence() {
    let mut c = TestChain::new();
    let stranger = key("stranger");
    let err = c.expect_err(
        &key("mallory"),
        evidence(
            signed_vote(&c, &stranger, 7, 0, 1),
            signed_vote(&c, &stranger, 7, 0, 2),
        ),
    );
    assert_eq!(
        err,
        TxError::InvalidEvidence {
            reason: format!("{} was not a validator at height 7", stranger.public())
        }
    );
}

fn rotate_op3(c: &mut TestChain) -> Keypair {
    let op3 = account("op3");
    let new_key = key("op3/consensus-b");
    c.ok(
        &key("op3"),
        Body::ProposeAuthoritySet {
            change: AuthorityChange::Rotate {
                operator: op3,
                consensus_key: new_key.public(),
                proof: ProofOfPossession::create(&c.chain_id, &op3, &new_key),
            },
        },
    );
    c.ok(
        &key("op1"),
        Body::Vote {
            proposal: ProposalId(1),
            approve: true,
        },
    );
    c.ok(
        &key("op2"),
        Body::Vote {
            proposal: ProposalId(1),
            approve: true,
        },
    );
    c.empty_block();
    c.empty_block();
    assert_eq!(
        c.chain_state()
            .validators
            .by_operator(&op3)
            .unwrap()
            .consensus_key,
        new_key.public()
    );
    new_key
}

/// The attack: op3 equivocates with its key, then rotates to a new key
/// before anyone submits the evidence. Tied to the key in today's set, the
/// penalty would do nothing; it follows the operator instead.
#[test]
fn an_equivocator_cannot_escape_its_penalty_by_rotating_its_key() {
    let mut c = TestChain::new();
    let ck3 = consensus_key(3);
    let (a, b) = (
        signed_vote(&c, &ck3, 2, 0, 1),
        signed_vote(&c, &ck3, 2, 0, 2),
    );
    let new_key = rotate_op3(&mut c);
    let out = c.ok(&key("mallory"), evidence(a, b));
    assert!(matches!(
        out[..],
        [Event::EquivocationProven { operator, .. }] if operator == account("op3")
    ));
    c.empty_block();
    c.empty_block();
    let set = c.chain_state().validators;
    assert!(set.by_operator(&account("op3")).is_none());
    assert!(set.index_of(&new_key.public()).is_none());
}

/// A key that left the set (rotated out, perhaps discarded or leaked) signs
/// conflicting votes for a height after it left: that is not its operator's
/// equivocation, and cannot get the operator removed.
#[test]
fn votes_by_a_key_for_heights_after_it_left_the_set_are_not_evidence() {
    let mut c = TestChain::new();
    let ck3 = consensus_key(3);
    rotate_op3(&mut c);
    let after = c.height().0 + 5;
    let err = c.expect_err(
        &key("mallory"),
        evidence(
            signed_vote(&c, &ck3, after, 0, 1),
            signed_vote(&c, &ck3, after, 0, 2),
        ),
    );
    assert_eq!(
        err,
        TxError::InvalidEvidence {
            reason: format!("{} was not a validator at height {after}", ck3.public())
        }
    );
}

#[test]
fn duplicate_evidence_is_refused() {
    let mut c = TestChain::new();
    let ck3 = consensus_key(3);
    let first = evidence(
        signed_vote(&c, &ck3, 7, 0, 1),
        signed_vote(&c, &ck3, 7, 0, 2),
    );
    // Another pair of conflicting votes by the same validator.
    let again = evidence(
        signed_vote(&c, &ck3, 9, 2, 1),
        signed_vote(&c, &ck3, 9, 2, 3),
    );
    c.ok(&key("mallory"), first.clone());
    let proven = TxError::InvalidEvidence {
        reason: format!(
            "this equivocation by {} at height 7 round 0 was proven already",
            ck3.public()
        ),
    };
    assert_eq!(c.expect_err(&key("mallory"), first.clone()), proven);
    assert_eq!(
        c.expect_err(&key("mallory"), again),
        TxError::InvalidEvidence {
            reason: format!(
                "operator {} is already being removed for equivocation",
                account("op3")
            )
        }
    );
    c.empty_block();
    // Evidence counts once, whatever happens to the key or operator later.
    assert_eq!(c.expect_err(&key("mallory"), first), proven);
}

#[test]
fn votes_for_another_chain_or_with_a_bad_signature_are_not_evidence() {
    let mut c = TestChain::new();
    let ck2 = consensus_key(2);
    let other = |block: u8| {
        Vote {
            kind: VoteKind::Prevote,
            chain_id: Hash([9; 32]),
            height: Height(3),
            round: 0,
            block_hash: Some(Hash([block; 32])),
            validator: ck2.public(),
        }
        .sign(&ck2)
    };
    assert_eq!(
        c.expect_err(&key("mallory"), evidence(other(1), other(2))),
        TxError::InvalidEvidence {
            reason: "votes are for another chain".into()
        }
    );
    let a = signed_vote(&c, &ck2, 3, 0, 1);
    let mut b = signed_vote(&c, &ck2, 3, 0, 2);
    b.signature = a.signature;
    assert_eq!(
        c.expect_err(&key("mallory"), evidence(a, b)),
        TxError::InvalidEvidence {
            reason: "a vote signature does not verify".into()
        }
    );
}

#[test]
fn a_meter_operated_by_a_removed_authority_can_no_longer_submit_readings() {
    let mut c = TestChain::new();
    c.mint(M1, T0 + 900, 100);
    let ck1 = consensus_key(1);
    c.ok(
        &key("mallory"),
        evidence(
            signed_vote(&c, &ck1, 2, 0, 1),
            signed_vote(&c, &ck1, 2, 0, 2),
        ),
    );
    c.empty_block();
    assert!(!c.chain_state().is_authority(&account("op1")));
    c.at_s(T0 + 1800);
    let err = c.expect_gen_err(vec![c.gen(M1, T0 + 1800, 100)]);
    assert_eq!(
        err,
        TxError::NotPermitted {
            signer: account("op1"),
            role: "an authority"
        }
    );
    // The regulator hands the meter to another authority, which relays on.
    c.ok(
        &key("reg"),
        Body::TransferMeterOperator {
            meter: M1,
            new_operator: account("op2"),
        },
    );
    c.submit_gen(vec![c.gen(M1, T0 + 1800, 100)]).unwrap();
    assert_eq!(c.balance(&account("alice")), Wh(200));
}
