//! Governance: proposals, votes, thresholds, expiry, activation two blocks
//! after passing, and proofs of possession.
//!
//! The kit's chain has four authorities (op1..op4) and three regulators
//! (reg, reg2, reg3); proposals expire after 20 blocks.

use super::prelude::*;
use crate::state::PendingChange;
use crate::types::ChainParams;

const P1: ProposalId = ProposalId(1);

fn add(c: &TestChain, i: usize) -> Body {
    let operator = account(&authority_name(i));
    Body::ProposeAuthoritySet {
        change: AuthorityChange::Add {
            operator,
            consensus_key: consensus_key(i).public(),
            name: text(&authority_name(i)),
            proof: ProofOfPossession::create(&c.chain_id, &operator, &consensus_key(i)),
        },
    }
}

fn remove(i: usize) -> Body {
    Body::ProposeAuthoritySet {
        change: AuthorityChange::Remove {
            operator: account(&authority_name(i)),
        },
    }
}

fn vote(approve: bool) -> Body {
    Body::Vote {
        proposal: P1,
        approve,
    }
}

#[test]
fn an_authority_change_passes_only_with_more_than_two_thirds_and_applies_two_blocks_later() {
    let mut c = TestChain::new();
    let body = add(&c, 5);
    assert_eq!(
        c.ok(&key("op1"), body),
        vec![Event::ProposalCreated {
            proposal: P1,
            proposer: account("op1")
        }]
    );
    // 2 of 4 is not more than 2/3.
    assert_eq!(
        c.ok(&key("op2"), vote(true)),
        vec![Event::Voted {
            proposal: P1,
            voter: account("op2"),
            approve: true
        }]
    );
    assert_eq!(c.proposal(P1).status, ProposalStatus::Open);
    // 3 of 4 is.
    let out = c.ok(&key("op3"), vote(true));
    let h = c.height();
    assert_eq!(
        out[1],
        Event::ProposalPassed {
            proposal: P1,
            activation: Height(h.0 + 2)
        }
    );
    assert_eq!(c.proposal(P1).status, ProposalStatus::Passed);
    assert_eq!(c.chain_state().validators.len(), 4);
    assert!(c.chain_state().open_proposals.is_empty());
    // Block h + 1 still runs under the old set; op5 is nobody yet.
    let meter = c.device("meter5");
    let now = c.now_s();
    let register = Body::RegisterMeter {
        serial: serial("SN-5"),
        device_key: meter,
        owner: account("carol"),
        source: Source::Wind,
        capacity: Watts(1_000),
        zone: zone(),
        baseline_time: now,
        baseline_counter: Wh(0),
    };
    assert_eq!(
        c.expect_err(&key("op5"), register.clone()),
        TxError::UnknownSigner {
            signer: account("op5")
        }
    );
    let out = c.empty_block();
    assert_eq!(c.height(), Height(h.0 + 1));
    let set = c.chain_state().validators;
    assert_eq!(
        block_events(&out),
        vec![Event::AuthoritiesChanged {
            validator_set_hash: set.hash(),
            count: 5
        }]
    );
    // The state after block h + 1 holds the set of height h + 2.
    assert!(set.by_operator(&account("op5")).is_some());
    assert!(c.chain_state().scheduled.is_empty());
    c.ok(&key("op5"), register);
}

#[test]
fn a_proposal_is_rejected_once_it_can_no_longer_pass() {
    let mut c = TestChain::new();
    c.ok(&key("op1"), remove(4));
    assert_eq!(c.ok(&key("op2"), vote(false)).len(), 1);
    assert_eq!(
        c.ok(&key("op3"), vote(false)),
        vec![
            Event::Voted {
                proposal: P1,
                voter: account("op3"),
                approve: false
            },
            Event::ProposalRejected { proposal: P1 }
        ]
    );
    assert_eq!(c.proposal(P1).status, ProposalStatus::Rejected);
    assert_eq!(
        c.expect_err(&key("op4"), vote(true)),
        TxError::ProposalClosed { proposal: P1 }
    );
}

#[test]
fn a_proposal_expires_after_the_chains_proposal_expiry() {
    let mut c = TestChain::new();
    c.ok(&key("op1"), remove(4));
    let created = c.height();
    assert_eq!(c.proposal(P1).expires, Height(created.0 + 20));
    while c.height().0 < created.0 + 18 {
        c.empty_block();
    }
    // Height created + 19: still open.
    c.ok(&key("op2"), vote(true));
    assert_eq!(c.proposal(P1).status, ProposalStatus::Open);
    let out = c.empty_block();
    assert_eq!(c.height(), Height(created.0 + 20));
    assert_eq!(
        block_events(&out),
        vec![Event::ProposalExpired { proposal: P1 }]
    );
    assert_eq!(c.proposal(P1).status, ProposalStatus::Expired);
    assert_eq!(
        c.expect_err(&key("op3"), vote(true)),
        TxError::ProposalClosed { proposal: P1 }
    );
    assert_eq!(c.chain_state().validators.len(), 4);
}

#[test]
fn a_bad_proof_of_possession_is_refused() {
    let mut c = TestChain::new();
    let op5 = account("op5");
    let ck5 = consensus_key(5).public();
    let proofs = [
        // Signed by another key.
        ProofOfPossession::create(&c.chain_id, &op5, &consensus_key(6)),
        // For another operator.
        ProofOfPossession::create(&c.chain_id, &account("mallory"), &consensus_key(5)),
        // For another chain.
        ProofOfPossession::create(&Hash([9; 32]), &op5, &consensus_key(5)),
    ];
    for proof in proofs {
        let body = Body::ProposeAuthoritySet {
            change: AuthorityChange::Add {
                operator: op5,
                consensus_key: ck5,
                name: text("op5"),
                proof: proof.clone(),
            },
        };
        assert_eq!(
            c.expect_err(&key("op1"), body),
            TxError::BadProofOfPossession { key: ck5 }
        );
        let rotate = Body::ProposeAuthoritySet {
            change: AuthorityChange::Rotate {
                operator: op5,
                consensus_key: ck5,
                proof,
            },
        };
        assert_eq!(
            c.expect_err(&key("op1"), rotate),
            TxError::BadProofOfPossession { key: ck5 }
        );
    }
}

#[test]
fn who_may_propose_and_vote() {
    let mut c = TestChain::new();
    assert_eq!(
        c.expect_err(&key("reg"), remove(4)),
        TxError::NotPermitted {
            signer: account("reg"),
            role: "an authority"
        }
    );
    let params = Body::ProposeChainParams {
        params: default_params(),
    };
    assert_eq!(
        c.expect_err(&key("alice"), params),
        TxError::NotPermitted {
            signer: account("alice"),
            role: "an authority or regulator"
        }
    );
    c.ok(&key("op1"), remove(4));
    for who in ["reg", "alice"] {
        assert_eq!(
            c.expect_err(&key(who), vote(true)),
            TxError::NotPermitted {
                signer: account(who),
                role: "a voter on this proposal"
            }
        );
    }
    assert_eq!(
        c.expect_err(&key("op1"), vote(true)),
        TxError::AlreadyVoted {
            proposal: P1,
            voter: account("op1")
        }
    );
    c.ok(&key("op2"), vote(false));
    assert_eq!(
        c.expect_err(&key("op2"), vote(true)),
        TxError::AlreadyVoted {
            proposal: P1,
            voter: account("op2")
        }
    );
    assert_eq!(
        c.expect_err(
            &key("op2"),
            Body::Vote {
                proposal: ProposalId(9),
                approve: true
            }
        ),
        TxError::UnknownProposal {
            proposal: ProposalId(9)
        }
    );
}

#[test]
fn changes_that_do_not_apply_to_the_current_set_are_refused() {
    let mut c = TestChain::new();
    let op2 = account("op2");
    let existing = Body::ProposeAuthoritySet {
        change: AuthorityChange::Add {
            operator: op2,
            consensus_key: consensus_key(5).public(),
            name: text("again"),
            proof: ProofOfPossession::create(&c.chain_id, &op2, &consensus_key(5)),
        },
    };
    assert_eq!(
        c.expect_err(&key("op1"), existing),
        TxError::BadGovernanceChange {
            reason: format!("{op2} is already an authority")
        }
    );
    assert_eq!(
        c.expect_err(&key("op1"), remove(7)),
        TxError::BadGovernanceChange {
            reason: format!("{} is not an authority", account("op7"))
        }
    );
    let add_reg = Body::ProposeRegulatorSet {
        change: RegulatorChange::Add {
            account: account("reg2"),
        },
    };
    assert_eq!(
        c.expect_err(&key("reg"), add_reg),
        TxError::BadGovernanceChange {
            reason: format!("{} is already a regulator", account("reg2"))
        }
    );
}

#[test]
fn rotating_and_removing_authorities() {
    let mut c = TestChain::new();
    let op2 = account("op2");
    let new_key = key("op2/consensus-b");
    c.ok(
        &key("op2"),
        Body::ProposeAuthoritySet {
            change: AuthorityChange::Rotate {
                operator: op2,
                consensus_key: new_key.public(),
                proof: ProofOfPossession::create(&c.chain_id, &op2, &new_key),
            },
        },
    );
    c.ok(&key("op1"), vote(true));
    c.ok(&key("op3"), vote(true));
    c.empty_block();
    let set = c.chain_state().validators;
    assert_eq!(
        set.by_operator(&op2).unwrap().consensus_key,
        new_key.public()
    );
    assert_eq!(set.len(), 4);

    c.ok(&key("op1"), remove(4));
    let p2 = Body::Vote {
        proposal: ProposalId(2),
        approve: true,
    };
    c.ok(&key("op2"), p2.clone());
    c.ok(&key("op3"), p2);
    assert!(c.chain_state().is_authority(&account("op4")));
    c.empty_block();
    assert!(!c.chain_state().is_authority(&account("op4")));
    assert_eq!(
        c.expect_err(&key("op4"), remove(3)),
        TxError::NotPermitted {
            signer: account("op4"),
            role: "an authority"
        }
    );
}

#[test]
fn a_regulator_set_change_needs_two_thirds_of_authorities_and_a_majority_of_regulators() {
    let mut c = TestChain::new();
    let carol = account("carol");
    c.ok(
        &key("reg"),
        Body::ProposeRegulatorSet {
            change: RegulatorChange::Add { account: carol },
        },
    );
    // All regulators, no authority: not enough.
    c.ok(&key("reg2"), vote(true));
    c.ok(&key("reg3"), vote(true));
    c.ok(&key("op1"), vote(true));
    c.ok(&key("op2"), vote(true));
    assert_eq!(c.proposal(P1).status, ProposalStatus::Open);
    // The third authority's yes passes it.
    let out = c.ok(&key("op3"), vote(true));
    assert!(matches!(out[1], Event::ProposalPassed { .. }), "{out:?}");
    assert!(!c.chain_state().is_regulator(&carol));
    let out = c.empty_block();
    assert_eq!(
        block_events(&out),
        vec![Event::RegulatorsChanged { count: 4 }]
    );
    assert!(c.chain_state().is_regulator(&carol));
    c.ok(
        &key("carol"),
        Body::SuspendSite {
            site: S1,
            reason: text("new regulator"),
        },
    );
}

#[test]
fn authorities_alone_cannot_change_the_regulators() {
    let mut c = TestChain::new();
    c.ok(
        &key("op1"),
        Body::ProposeRegulatorSet {
            change: RegulatorChange::Remove {
                account: account("reg3"),
            },
        },
    );
    for op in ["op2", "op3", "op4"] {
        c.ok(&key(op), vote(true));
    }
    c.ok(&key("reg3"), vote(true));
    // One regulator of three is not a majority.
    assert_eq!(c.proposal(P1).status, ProposalStatus::Open);
    let out = c.ok(&key("reg2"), vote(true));
    assert!(matches!(out[1], Event::ProposalPassed { .. }), "{out:?}");
}

#[test]
fn a_chain_parameter_change_needs_both_and_applies_two_blocks_later() {
    let mut c = TestChain::new();
    let params = ChainParams {
        proposal_expiry_blocks: 50,
        ..default_params()
    };
    c.ok(
        &key("op1"),
        Body::ProposeChainParams {
            params: params.clone(),
        },
    );
    c.ok(&key("op2"), vote(true));
    c.ok(&key("op3"), vote(true));
    c.ok(&key("reg"), vote(true));
    assert_eq!(c.proposal(P1).status, ProposalStatus::Open);
    c.ok(&key("reg2"), vote(true));
    assert_eq!(c.proposal(P1).status, ProposalStatus::Passed);
    assert!(matches!(
        &c.chain_state().scheduled[..],
        [s] if s.change == PendingChange::Params { params: params.clone() }
    ));
    assert_eq!(c.chain_state().params, default_params());
    let out = c.empty_block();
    assert_eq!(block_events(&out), vec![Event::ParamsChanged]);
    assert_eq!(c.chain_state().params, params);
}

#[test]
fn invalid_chain_parameters_are_refused_when_proposed() {
    let mut c = TestChain::new();
    let propose = |params| Body::ProposeChainParams { params };
    let short_grace = ChainParams {
        settlement_grace_s: 6 * 3600 + 29,
        ..default_params()
    };
    let err = c.expect_err(&key("reg"), propose(short_grace));
    assert!(
        matches!(
            err,
            TxError::InvalidParameter {
                field: "settlement_grace_s",
                ..
            }
        ),
        "{err:?}"
    );
    let no_txs = ChainParams {
        max_block_txs: 0,
        ..default_params()
    };
    assert!(matches!(
        c.expect_err(&key("op1"), propose(no_txs)),
        TxError::InvalidParameter {
            field: "max_block_txs",
            ..
        }
    ));
}

/// Governance cannot set a parameter the encoding, the peer protocol or
/// the block builder cannot live with: a block above the wire's limits
/// could be sealed but never sent (a halt by vote).
#[test]
fn chain_parameters_beyond_the_encoding_and_the_wire_are_refused() {
    let mut c = TestChain::new();
    let propose = |params| Body::ProposeChainParams { params };
    for (field, params) in [
        (
            "max_block_txs",
            ChainParams {
                max_block_txs: watt_runtime_max_txs() + 1,
                ..default_params()
            },
        ),
        (
            "max_block_bytes",
            ChainParams {
                max_block_bytes: crate::block::MAX_BLOCK_BYTES + 1,
                ..default_params()
            },
        ),
        (
            "max_block_bytes",
            ChainParams {
                max_readings_per_tx: 1_024,
                max_block_bytes: 64 * 1024,
                ..default_params()
            },
        ),
        (
            "max_clock_skew_s",
            ChainParams {
                max_clock_skew_s: 3_601,
                ..default_params()
            },
        ),
        (
            "proposal_expiry_blocks",
            ChainParams {
                proposal_expiry_blocks: u64::MAX,
                ..default_params()
            },
        ),
    ] {
        match c.expect_err(&key("reg"), propose(params)) {
            TxError::InvalidParameter { field: f, .. } => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}

fn watt_runtime_max_txs() -> u32 {
    crate::block::MAX_BLOCK_TXS as u32
}

/// Every block looks at the open proposals to expire them: a role holder
/// cannot grow that list without bound.
#[test]
fn open_proposals_are_bounded() {
    let mut c = TestChain::new();
    let reg = key("reg");
    let propose = |i: usize| Body::ProposeRegulatorSet {
        change: RegulatorChange::Add {
            account: account(&format!("candidate-{i}")),
        },
    };
    let txs: Vec<_> = (0..crate::exec::MAX_OPEN_PROPOSALS)
        .map(|i| c.tx(&reg, propose(i)))
        .collect();
    c.apply(txs).unwrap();
    assert_eq!(
        c.chain_state().open_proposals.len(),
        crate::exec::MAX_OPEN_PROPOSALS
    );
    let err = c.expect_err(&reg, propose(9_999));
    assert!(
        matches!(
            err,
            TxError::InvalidParameter {
                field: "proposal",
                ..
            }
        ),
        "{err:?}"
    );
}
