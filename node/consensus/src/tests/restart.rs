//! Restarts: the persistence contract.

use super::*;

/// Collects the durable log of a core, as a host would.
fn persisted_by(effects: &[Effect], into: &mut PersistedState) {
    for e in effects {
        if let Effect::Persist(entry) = e {
            into.record(entry);
        }
    }
}

#[test]
fn a_restarted_validator_sends_its_old_prevote_instead_of_a_new_one() {
    let fx = Fx::new();
    let mut durable = PersistedState::default();
    let mut core = fx.core(0);
    for i in [
        fx.start(H1),
        Input::Proposal(fx.proposal(H1, 0, None, B)),
        verdict(B, true),
    ] {
        persisted_by(&core.apply(i), &mut durable);
    }
    // Crash. The restarted core never sees the proposal again and its
    // propose timeout fires: it would prevote nil, but it prevoted B.
    let mut core = fx.core_from(0, durable);
    run(
        "restart prevote",
        &mut core,
        vec![
            row(
                fx.start(H1),
                vec![
                    fx.sched(TimeoutKind::Rebroadcast, H1, 0),
                    fx.sched(TimeoutKind::Propose, H1, 0),
                ],
                rs(0, Step::Propose, None, None),
            ),
            row(
                timeout(TimeoutKind::Propose, H1, 0),
                vec![Effect::Broadcast(Message::Vote(fx.prevote(0, 0, Some(B))))],
                rs(0, Step::Prevote, None, None),
            ),
        ],
    );
}

#[test]
fn a_restarted_validator_resumes_in_its_round_with_its_lock() {
    let fx = Fx::new();
    let mut durable = PersistedState::default();
    let mut core = locked_on_a_in_round_1(&fx);
    // Replay the same history into the durable state.
    let mut shadow = fx.core(0);
    for i in [
        fx.start(H1),
        Input::Proposal(fx.proposal(H1, 0, None, A)),
        verdict(A, true),
        Input::Vote(fx.prevote(1, 0, Some(A))),
        Input::Vote(fx.prevote(2, 0, Some(A))),
        Input::Vote(fx.precommit(1, 0, None)),
        Input::Vote(fx.precommit(2, 0, None)),
        timeout(TimeoutKind::Precommit, H1, 0),
        timeout(TimeoutKind::Propose, H1, 1),
    ] {
        persisted_by(&shadow.apply(i), &mut durable);
    }
    feed(&mut core, vec![timeout(TimeoutKind::Propose, H1, 1)]);
    assert_eq!(core.persisted(), &durable);
    let mut restarted = fx.core_from(0, durable);
    feed(&mut restarted, vec![fx.start(H1)]);
    assert_eq!(
        restarted.round_state(),
        Some(&rs(1, Step::Propose, rv(0, A), rv(0, A)))
    );
    // Round 1's proposal for A, its locked value, would get a prevote for A;
    // but it prevoted nil in round 1 before the crash, so it sends that.
    assert_eq!(
        restarted.apply(Input::Proposal(fx.proposal(H1, 1, None, A))),
        vec![Effect::ValidateBlock {
            height: H1,
            round: 1,
            block_hash: A
        }]
    );
    assert_eq!(
        restarted.apply(verdict(A, true)),
        vec![Effect::Broadcast(Message::Vote(fx.prevote(0, 1, None)))]
    );
    assert_eq!(
        restarted.round_state(),
        Some(&rs(1, Step::Prevote, rv(0, A), rv(0, A)))
    );
}

#[test]
fn a_restarted_proposer_proposes_the_same_block_again() {
    let fx = Fx::new();
    let mut durable = PersistedState::default();
    let mut core = fx.core(1);
    let effects = core.apply(fx.start(H1));
    persisted_by(&effects, &mut durable);
    let effects = core.apply(Input::Propose {
        height: H1,
        round: 0,
        block_hash: B,
    });
    // Crash right after the proposal was persisted and sent, before the
    // prevote was persisted.
    persisted_by(&effects[..2], &mut durable);
    let p = fx.proposal(H1, 0, None, B);
    let mut core = fx.core_from(1, durable);
    let mut expected = vec![
        fx.sched(TimeoutKind::Rebroadcast, H1, 0),
        fx.sched(TimeoutKind::Propose, H1, 0),
        Effect::Broadcast(Message::Proposal(p)),
    ];
    expected.extend(signs(&fx.prevote(1, 0, Some(B))));
    run(
        "restart proposer",
        &mut core,
        vec![row(
            fx.start(H1),
            expected,
            rs(0, Step::Prevote, None, None),
        )],
    );
}

/// A validator that lost its signing record starts catching up: it signs
/// nothing (no persist, no vote, no proposal) at the height it is working
/// on, even as its round's proposer and with a quorum of prevotes around
/// it; once its host opens the gate from the next height, it signs there.
#[test]
fn a_validator_catching_up_signs_nothing_until_its_gate_opens() {
    let fx = Fx::new();
    // Validator 1 proposes at (height 1, round 0).
    let mut core = fx.core_from(1, PersistedState::catching_up());
    let mut effects = core.apply(fx.start(H1));
    effects.extend(core.apply(Input::Proposal(fx.proposal(H1, 0, None, B))));
    effects.extend(core.apply(verdict(B, true)));
    for who in [0, 2, 3] {
        effects.extend(core.apply(Input::Vote(fx.prevote(who, 0, Some(B)))));
    }
    effects.extend(core.apply(timeout(TimeoutKind::Propose, H1, 0)));
    let signed: Vec<&Effect> = effects
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::Persist(_)
                    | Effect::RequestBlock { .. }
                    | Effect::Broadcast(Message::Vote(_))
            )
        })
        .collect();
    assert!(signed.is_empty(), "signed while catching up: {signed:?}");
    // The others decide height 1; the host opens signing from height 2.
    for who in [0, 2, 3] {
        let _ = core.apply(Input::Vote(fx.precommit(who, 0, Some(B))));
    }
    core.open_signing_from(H2);
    let effects = core.apply(fx.start(H2));
    let effects: Vec<Effect> = effects
        .into_iter()
        .chain(core.apply(timeout(TimeoutKind::Propose, H2, 0)))
        .collect();
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Persist(_) | Effect::RequestBlock { .. })),
        "no signing after the gate opened: {effects:?}"
    );
}
