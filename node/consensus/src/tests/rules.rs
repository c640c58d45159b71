//! The paper's rules, one table each.

use super::*;

#[test]
fn l11_l14_l18_l19_proposer_without_valid_value_asks_for_a_block() {
    let fx = Fx::new();
    let mut core = fx.core(1);
    let p = fx.proposal(H1, 0, None, B);
    let own = fx.prevote(1, 0, Some(B));
    let mut proposed = vec![
        Effect::Persist(LogEntry::Proposal(p.clone())),
        Effect::Broadcast(Message::Proposal(p.clone())),
    ];
    // L22: the proposer prevotes its own block at once.
    proposed.extend(signs(&own));
    run(
        "L11/L14",
        &mut core,
        vec![
            row(
                fx.start(H1),
                vec![
                    fx.sched(TimeoutKind::Rebroadcast, H1, 0),
                    fx.sched(TimeoutKind::Propose, H1, 0),
                    Effect::RequestBlock {
                        height: H1,
                        round: 0,
                    },
                ],
                rs(0, Step::Propose, None, None),
            ),
            // An answer for another round is ignored.
            row(
                Input::Propose {
                    height: H1,
                    round: 1,
                    block_hash: C,
                },
                vec![],
                rs(0, Step::Propose, None, None),
            ),
            row(
                Input::Propose {
                    height: H1,
                    round: 0,
                    block_hash: B,
                },
                proposed,
                rs(0, Step::Prevote, None, None),
            ),
            // A second answer does not make a second proposal.
            row(
                Input::Propose {
                    height: H1,
                    round: 0,
                    block_hash: C,
                },
                vec![],
                rs(0, Step::Prevote, None, None),
            ),
        ],
    );
}

#[test]
fn l21_non_proposer_schedules_the_propose_timeout() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    run(
        "L21",
        &mut core,
        vec![row(
            fx.start(H1),
            vec![
                fx.sched(TimeoutKind::Rebroadcast, H1, 0),
                fx.sched(TimeoutKind::Propose, H1, 0),
            ],
            rs(0, Step::Propose, None, None),
        )],
    );
}

#[test]
fn l22_prevote_for_a_valid_proposal_when_unlocked() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(&mut core, vec![fx.start(H1)]);
    run(
        "L22/L24",
        &mut core,
        vec![
            row(
                Input::Proposal(fx.proposal(H1, 0, None, B)),
                vec![Effect::ValidateBlock {
                    height: H1,
                    round: 0,
                    block_hash: B,
                }],
                rs(0, Step::Propose, None, None),
            ),
            // The same proposal again asks nothing new.
            row(
                Input::Proposal(fx.proposal(H1, 0, None, B)),
                vec![],
                rs(0, Step::Propose, None, None),
            ),
            row(
                verdict(B, true),
                signs(&fx.prevote(0, 0, Some(B))),
                rs(0, Step::Prevote, None, None),
            ),
        ],
    );
}

#[test]
fn l22_l26_prevote_nil_for_an_invalid_proposal() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(
        &mut core,
        vec![fx.start(H1), Input::Proposal(fx.proposal(H1, 0, None, B))],
    );
    run(
        "L26",
        &mut core,
        vec![row(
            verdict(B, false),
            signs(&fx.prevote(0, 0, None)),
            rs(0, Step::Prevote, None, None),
        )],
    );
}

#[test]
fn l22_l26_locked_validator_prevotes_nil_for_another_value_and_its_own_value_again() {
    let fx = Fx::new();
    // Round 1's proposer (validator 2) proposes B without a valid round.
    let mut core = locked_on_a_in_round_1(&fx);
    run(
        "L23 locked elsewhere",
        &mut core,
        vec![
            row(
                Input::Proposal(fx.proposal(H1, 1, None, B)),
                vec![Effect::ValidateBlock {
                    height: H1,
                    round: 1,
                    block_hash: B,
                }],
                rs(1, Step::Propose, rv(0, A), rv(0, A)),
            ),
            row(
                verdict(B, true),
                signs(&fx.prevote(0, 1, None)),
                rs(1, Step::Prevote, rv(0, A), rv(0, A)),
            ),
        ],
    );
    // The same, but the proposal is for A, the locked value.
    let mut core = locked_on_a_in_round_1(&fx);
    run(
        "L23 locked on it",
        &mut core,
        vec![row(
            Input::Proposal(fx.proposal(H1, 1, None, A)),
            signs(&fx.prevote(0, 1, Some(A))),
            rs(1, Step::Prevote, rv(0, A), rv(0, A)),
        )],
    );
}

#[test]
fn l28_waits_for_the_polka_of_the_valid_round() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(
        &mut core,
        vec![
            fx.start(H1),
            timeout(TimeoutKind::Propose, H1, 0),
            Input::Vote(fx.precommit(1, 0, None)),
            Input::Vote(fx.precommit(2, 0, None)),
            Input::Vote(fx.precommit(3, 0, None)),
            timeout(TimeoutKind::Precommit, H1, 0),
        ],
    );
    assert_eq!(core.round_state(), Some(&rs(1, Step::Propose, None, None)));
    run(
        "L28",
        &mut core,
        vec![
            row(
                Input::Proposal(fx.proposal(H1, 1, Some(0), B)),
                vec![Effect::ValidateBlock {
                    height: H1,
                    round: 1,
                    block_hash: B,
                }],
                rs(1, Step::Propose, None, None),
            ),
            row(verdict(B, true), vec![], rs(1, Step::Propose, None, None)),
            row(
                Input::Vote(fx.prevote(1, 0, Some(B))),
                vec![],
                rs(1, Step::Propose, None, None),
            ),
            row(
                Input::Vote(fx.prevote(2, 0, Some(B))),
                vec![],
                rs(1, Step::Propose, None, None),
            ),
            // The third prevote for B in round 0 completes the polka: L30.
            row(
                Input::Vote(fx.prevote(3, 0, Some(B))),
                signs(&fx.prevote(0, 1, Some(B))),
                rs(1, Step::Prevote, None, None),
            ),
        ],
    );
}

/// The unlocking case: locked on A in round 0, the validator sees a
/// proposal for B whose valid round (1) is at least its locked round, with
/// the polka of that round, and prevotes B.
#[test]
fn l28_l30_unlocks_for_a_later_polka() {
    let fx = Fx::new();
    let mut core = locked_on_a_in_round_1(&fx);
    // Round 1: the proposal never arrives; the others prevote B.
    feed(
        &mut core,
        vec![
            timeout(TimeoutKind::Propose, H1, 1),
            Input::Vote(fx.prevote(1, 1, Some(B))),
            Input::Vote(fx.prevote(2, 1, Some(B))),
            Input::Vote(fx.prevote(3, 1, Some(B))),
            timeout(TimeoutKind::Prevote, H1, 1),
            Input::Vote(fx.precommit(1, 1, None)),
            Input::Vote(fx.precommit(2, 1, None)),
            timeout(TimeoutKind::Precommit, H1, 1),
        ],
    );
    assert_eq!(
        core.round_state(),
        Some(&rs(2, Step::Propose, rv(0, A), rv(0, A)))
    );
    run(
        "unlock",
        &mut core,
        vec![
            row(
                Input::Proposal(fx.proposal(H1, 2, Some(1), B)),
                vec![Effect::ValidateBlock {
                    height: H1,
                    round: 2,
                    block_hash: B,
                }],
                rs(2, Step::Propose, rv(0, A), rv(0, A)),
            ),
            row(
                verdict(B, true),
                signs(&fx.prevote(0, 2, Some(B))),
                rs(2, Step::Prevote, rv(0, A), rv(0, A)),
            ),
        ],
    );
}

/// The converse: a polka older than the lock does not unlock.
#[test]
fn l28_l32_a_polka_older_than_the_lock_does_not_unlock() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(
        &mut core,
        vec![
            fx.start(H1),
            // Round 0: a polka for B, but no proposal here.
            timeout(TimeoutKind::Propose, H1, 0),
            Input::Vote(fx.prevote(1, 0, Some(B))),
            Input::Vote(fx.prevote(2, 0, Some(B))),
            Input::Vote(fx.prevote(3, 0, Some(B))),
            timeout(TimeoutKind::Prevote, H1, 0),
            Input::Vote(fx.precommit(1, 0, None)),
            Input::Vote(fx.precommit(2, 0, None)),
            timeout(TimeoutKind::Precommit, H1, 0),
            // Round 1: lock on A.
            Input::Proposal(fx.proposal(H1, 1, None, A)),
            verdict(A, true),
            Input::Vote(fx.prevote(1, 1, Some(A))),
            Input::Vote(fx.prevote(2, 1, Some(A))),
            Input::Vote(fx.precommit(1, 1, None)),
            Input::Vote(fx.precommit(2, 1, None)),
            timeout(TimeoutKind::Precommit, H1, 1),
        ],
    );
    assert_eq!(
        core.round_state(),
        Some(&rs(2, Step::Propose, rv(1, A), rv(1, A)))
    );
    run(
        "L32",
        &mut core,
        vec![
            row(
                Input::Proposal(fx.proposal(H1, 2, Some(0), B)),
                vec![Effect::ValidateBlock {
                    height: H1,
                    round: 2,
                    block_hash: B,
                }],
                rs(2, Step::Propose, rv(1, A), rv(1, A)),
            ),
            // B is valid and has its polka in round 0, but L29 is false
            // (lockedRound 1 > 0 and lockedValue A != B): L32.
            row(
                verdict(B, true),
                signs(&fx.prevote(0, 2, None)),
                rs(2, Step::Prevote, rv(1, A), rv(1, A)),
            ),
        ],
    );
}

#[test]
fn l34_any_quorum_of_prevotes_schedules_the_prevote_timeout_once() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(
        &mut core,
        vec![fx.start(H1), timeout(TimeoutKind::Propose, H1, 0)],
    );
    run(
        "L34",
        &mut core,
        vec![
            row(
                Input::Vote(fx.prevote(1, 0, Some(B))),
                vec![],
                rs(0, Step::Prevote, None, None),
            ),
            row(
                Input::Vote(fx.prevote(2, 0, Some(C))),
                vec![fx.sched(TimeoutKind::Prevote, H1, 0)],
                rs(0, Step::Prevote, None, None),
            ),
            row(
                Input::Vote(fx.prevote(3, 0, Some(A))),
                vec![],
                rs(0, Step::Prevote, None, None),
            ),
        ],
    );
}

#[test]
fn l36_polka_for_the_proposal_locks_and_precommits() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(
        &mut core,
        vec![
            fx.start(H1),
            Input::Proposal(fx.proposal(H1, 0, None, B)),
            verdict(B, true),
        ],
    );
    run(
        "L36",
        &mut core,
        vec![
            row(
                Input::Vote(fx.prevote(1, 0, Some(B))),
                vec![],
                rs(0, Step::Prevote, None, None),
            ),
            row(
                Input::Vote(fx.prevote(2, 0, Some(B))),
                signs(&fx.precommit(0, 0, Some(B))),
                rs(0, Step::Precommit, rv(0, B), rv(0, B)),
            ),
            // For the first time only.
            row(
                Input::Vote(fx.prevote(3, 0, Some(B))),
                vec![],
                rs(0, Step::Precommit, rv(0, B), rv(0, B)),
            ),
        ],
    );
}

#[test]
fn l36_l42_a_late_polka_only_sets_the_valid_value() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(
        &mut core,
        vec![
            fx.start(H1),
            Input::Proposal(fx.proposal(H1, 0, None, B)),
            verdict(B, true),
            Input::Vote(fx.prevote(1, 0, None)),
            Input::Vote(fx.prevote(2, 0, Some(B))),
        ],
    );
    run(
        "L42",
        &mut core,
        vec![
            row(
                timeout(TimeoutKind::Prevote, H1, 0),
                signs(&fx.precommit(0, 0, None)),
                rs(0, Step::Precommit, None, None),
            ),
            row(
                Input::Vote(fx.prevote(3, 0, Some(B))),
                vec![],
                rs(0, Step::Precommit, None, rv(0, B)),
            ),
        ],
    );
}

#[test]
fn l44_polka_for_nil_precommits_nil() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(
        &mut core,
        vec![fx.start(H1), timeout(TimeoutKind::Propose, H1, 0)],
    );
    run(
        "L44",
        &mut core,
        vec![
            row(
                Input::Vote(fx.prevote(1, 0, None)),
                vec![],
                rs(0, Step::Prevote, None, None),
            ),
            row(
                Input::Vote(fx.prevote(2, 0, None)),
                signs(&fx.precommit(0, 0, None)),
                rs(0, Step::Precommit, None, None),
            ),
        ],
    );
}

#[test]
fn l47_any_quorum_of_precommits_schedules_the_precommit_timeout_once() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(&mut core, vec![fx.start(H1)]);
    run(
        "L47",
        &mut core,
        vec![
            row(
                Input::Vote(fx.precommit(1, 0, Some(B))),
                vec![],
                rs(0, Step::Propose, None, None),
            ),
            row(
                Input::Vote(fx.precommit(2, 0, None)),
                vec![],
                rs(0, Step::Propose, None, None),
            ),
            row(
                Input::Vote(fx.precommit(3, 0, Some(C))),
                vec![fx.sched(TimeoutKind::Precommit, H1, 0)],
                rs(0, Step::Propose, None, None),
            ),
        ],
    );
}

#[test]
fn l49_quorum_of_precommits_decides_with_a_certificate() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(&mut core, vec![fx.start(H1)]);
    let cert = fx.cert(0, B, &[1, 2, 3]);
    cert.verify(&CHAIN, &fx.set, H1, &B).unwrap();
    let decided = RoundState {
        step: Step::Decided,
        decision: rv(0, B),
        ..rs(0, Step::Propose, None, None)
    };
    run(
        "L49",
        &mut core,
        vec![
            row(
                Input::Vote(fx.precommit(1, 0, Some(B))),
                vec![],
                rs(0, Step::Propose, None, None),
            ),
            row(
                Input::Vote(fx.precommit(2, 0, Some(B))),
                vec![],
                rs(0, Step::Propose, None, None),
            ),
            row(
                Input::Vote(fx.precommit(3, 0, Some(B))),
                vec![Effect::Decide {
                    height: H1,
                    block_hash: B,
                    certificate: cert.clone(),
                }],
                decided.clone(),
            ),
            // Nothing more happens at a decided height.
            row(timeout(TimeoutKind::Propose, H1, 0), vec![], decided),
        ],
    );
    assert_eq!(core.last_commit(), Some(&cert));
}

#[test]
fn l49_decides_on_precommits_of_an_earlier_round() {
    let fx = Fx::new();
    // 2 precommitted nil and 3 precommitted A in round 0; the node (locked
    // on A, so it precommitted A) moved to round 1 on the timeout.
    let mut core = fx.core(0);
    feed(
        &mut core,
        vec![
            fx.start(H1),
            Input::Proposal(fx.proposal(H1, 0, None, A)),
            verdict(A, true),
            Input::Vote(fx.prevote(1, 0, Some(A))),
            Input::Vote(fx.prevote(2, 0, Some(A))),
            Input::Vote(fx.precommit(2, 0, None)),
            Input::Vote(fx.precommit(3, 0, Some(A))),
            timeout(TimeoutKind::Precommit, H1, 0),
        ],
    );
    assert_eq!(
        core.round_state(),
        Some(&rs(1, Step::Propose, rv(0, A), rv(0, A)))
    );
    let cert = fx.cert(0, A, &[0, 1, 3]);
    run(
        "L49 earlier round",
        &mut core,
        vec![row(
            Input::Vote(fx.precommit(1, 0, Some(A))),
            vec![Effect::Decide {
                height: H1,
                block_hash: A,
                certificate: cert,
            }],
            RoundState {
                step: Step::Decided,
                decision: rv(0, A),
                ..rs(1, Step::Propose, rv(0, A), rv(0, A))
            },
        )],
    );
}

#[test]
fn l55_f_plus_one_messages_from_a_higher_round_skip_to_it() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(&mut core, vec![fx.start(H1)]);
    run(
        "L55",
        &mut core,
        vec![
            // One validator is not enough (it could be faulty).
            row(
                Input::Vote(fx.prevote(1, 5, None)),
                vec![],
                rs(0, Step::Propose, None, None),
            ),
            row(
                Input::Vote(fx.precommit(1, 2, None)),
                vec![],
                rs(0, Step::Propose, None, None),
            ),
            // The proposer of round 2 (validator 3) makes two senders there.
            row(
                Input::Proposal(fx.proposal(H1, 2, None, B)),
                vec![
                    Effect::ValidateBlock {
                        height: H1,
                        round: 2,
                        block_hash: B,
                    },
                    fx.sched(TimeoutKind::Propose, H1, 2),
                ],
                rs(2, Step::Propose, None, None),
            ),
            // And two in round 5 go to round 5; validator 0 proposes in round
            // 3 (and 7), not 5.
            row(
                Input::Vote(fx.prevote(2, 5, None)),
                vec![fx.sched(TimeoutKind::Propose, H1, 5)],
                rs(5, Step::Propose, None, None),
            ),
        ],
    );
}

#[test]
fn l57_l61_l65_timeouts_act_only_in_their_round_and_step() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(&mut core, vec![fx.start(H1)]);
    run(
        "L57/L61/L65",
        &mut core,
        vec![
            // Stale: another round, another step, another height.
            row(
                timeout(TimeoutKind::Propose, H1, 1),
                vec![],
                rs(0, Step::Propose, None, None),
            ),
            row(
                timeout(TimeoutKind::Prevote, H1, 0),
                vec![],
                rs(0, Step::Propose, None, None),
            ),
            row(
                timeout(TimeoutKind::Propose, H2, 0),
                vec![],
                rs(0, Step::Propose, None, None),
            ),
            // L57-L60.
            row(
                timeout(TimeoutKind::Propose, H1, 0),
                signs(&fx.prevote(0, 0, None)),
                rs(0, Step::Prevote, None, None),
            ),
            row(
                timeout(TimeoutKind::Propose, H1, 0),
                vec![],
                rs(0, Step::Prevote, None, None),
            ),
            // L61-L64.
            row(
                timeout(TimeoutKind::Prevote, H1, 0),
                signs(&fx.precommit(0, 0, None)),
                rs(0, Step::Precommit, None, None),
            ),
            // L65-L67: round 1, with a longer propose timeout.
            row(
                timeout(TimeoutKind::Precommit, H1, 0),
                vec![fx.sched(TimeoutKind::Propose, H1, 1)],
                rs(1, Step::Propose, None, None),
            ),
            row(
                timeout(TimeoutKind::Precommit, H1, 0),
                vec![],
                rs(1, Step::Propose, None, None),
            ),
            // L65 applies in any step of the round.
            row(
                timeout(TimeoutKind::Precommit, H1, 1),
                vec![fx.sched(TimeoutKind::Propose, H1, 2)],
                rs(2, Step::Propose, None, None),
            ),
            // Round 3 is validator 0's to propose.
            row(
                timeout(TimeoutKind::Precommit, H1, 2),
                vec![
                    fx.sched(TimeoutKind::Propose, H1, 3),
                    Effect::RequestBlock {
                        height: H1,
                        round: 3,
                    },
                ],
                rs(3, Step::Propose, None, None),
            ),
        ],
    );
    assert!(
        fx.config.timeout(TimeoutKind::Propose, 1) > fx.config.timeout(TimeoutKind::Propose, 0)
    );
}

#[test]
fn l15_l16_proposer_with_a_valid_value_proposes_it_with_its_polka() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(
        &mut core,
        vec![
            fx.start(H1),
            Input::Proposal(fx.proposal(H1, 0, None, B)),
            verdict(B, true),
            Input::Vote(fx.prevote(1, 0, Some(B))),
            Input::Vote(fx.prevote(2, 0, Some(B))),
            Input::Vote(fx.precommit(1, 0, None)),
            Input::Vote(fx.precommit(2, 0, None)),
            timeout(TimeoutKind::Precommit, H1, 0),
            timeout(TimeoutKind::Precommit, H1, 1),
        ],
    );
    assert_eq!(
        core.round_state(),
        Some(&rs(2, Step::Propose, rv(0, B), rv(0, B)))
    );
    let p = fx.proposal(H1, 3, Some(0), B);
    let pol = [
        fx.prevote(0, 0, Some(B)),
        fx.prevote(1, 0, Some(B)),
        fx.prevote(2, 0, Some(B)),
    ];
    let mut effects = vec![
        fx.sched(TimeoutKind::Propose, H1, 3),
        Effect::Persist(LogEntry::Proposal(p.clone())),
        Effect::Broadcast(Message::Proposal(p)),
    ];
    effects.extend(
        pol.iter()
            .map(|v| Effect::Broadcast(Message::Vote(v.clone()))),
    );
    // L28 on its own proposal: the polka of round 0 is known, and it is
    // locked on B.
    effects.extend(signs(&fx.prevote(0, 3, Some(B))));
    run(
        "L15",
        &mut core,
        vec![row(
            timeout(TimeoutKind::Precommit, H1, 2),
            effects,
            rs(3, Step::Prevote, rv(0, B), rv(0, B)),
        )],
    );
}
