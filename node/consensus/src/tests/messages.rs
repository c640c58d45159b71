//! Evidence, refused messages, certificates, re-broadcast, the next
//! height's messages, observers.

use super::*;

#[test]
fn equivocation_is_evidence_once_per_offender() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(&mut core, vec![fx.start(H1)]);
    let first = fx.prevote(2, 0, Some(B));
    let second = fx.prevote(2, 0, None);
    run(
        "evidence",
        &mut core,
        vec![
            row(
                Input::Vote(first.clone()),
                vec![],
                rs(0, Step::Propose, None, None),
            ),
            row(
                Input::Vote(second.clone()),
                vec![Effect::Evidence { first, second }],
                rs(0, Step::Propose, None, None),
            ),
            row(
                Input::Vote(fx.prevote(2, 0, Some(C))),
                vec![],
                rs(0, Step::Propose, None, None),
            ),
            row(
                Input::Vote(fx.precommit(2, 0, Some(C))),
                vec![],
                rs(0, Step::Propose, None, None),
            ),
            // Already reported this height: no second report.
            row(
                Input::Vote(fx.precommit(2, 0, None)),
                vec![],
                rs(0, Step::Propose, None, None),
            ),
        ],
    );
}

#[test]
fn foreign_and_misattributed_messages_are_rejected() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(&mut core, vec![fx.start(H1)]);
    let stranger = Keypair::from_seed([99; 32]);
    let foreign = Vote {
        kind: VoteKind::Prevote,
        chain_id: CHAIN,
        height: H1,
        round: 0,
        block_hash: Some(B),
        validator: stranger.public(),
    }
    .sign(&stranger);
    let not_proposer = Proposal {
        chain_id: CHAIN,
        height: H1,
        round: 0,
        valid_round: None,
        block_hash: B,
        proposer: fx.keys[3].public(),
    }
    .sign(&fx.keys[3]);
    let other_chain = Vote {
        chain_id: Hash([0x22; 32]),
        ..fx.prevote(1, 0, Some(B)).vote
    }
    .sign(&fx.keys[1]);
    let bad_vr = fx.proposal(H1, 0, Some(0), B);
    let thin = fx.cert(0, B, &[1, 2]);
    let s = rs(0, Step::Propose, None, None);
    run(
        "rejections",
        &mut core,
        vec![
            row(
                Input::Vote(foreign),
                vec![Effect::Rejected(Rejection::NotAValidator {
                    key: stranger.public(),
                    height: H1,
                })],
                s.clone(),
            ),
            row(
                Input::Proposal(not_proposer),
                vec![Effect::Rejected(Rejection::WrongProposer {
                    height: H1,
                    round: 0,
                    got: fx.keys[3].public(),
                    expected: fx.keys[1].public(),
                })],
                s.clone(),
            ),
            row(
                Input::Vote(other_chain),
                vec![Effect::Rejected(Rejection::WrongChain {
                    got: Hash([0x22; 32]),
                    expected: CHAIN,
                })],
                s.clone(),
            ),
            row(
                Input::Proposal(bad_vr),
                vec![Effect::Rejected(Rejection::BadValidRound {
                    round: 0,
                    valid_round: 0,
                })],
                s.clone(),
            ),
            row(
                Input::Commit(thin),
                vec![Effect::Rejected(Rejection::BadCertificate(
                    watt_runtime::block::CommitError::NoQuorum {
                        signers: 2,
                        total: 4,
                    },
                ))],
                s,
            ),
        ],
    );
}

#[test]
fn a_received_certificate_decides_the_current_height() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(&mut core, vec![fx.start(H1)]);
    let cert = fx.cert(2, C, &[1, 2, 3]);
    run(
        "commit",
        &mut core,
        vec![row(
            Input::Commit(cert.clone()),
            vec![Effect::Decide {
                height: H1,
                block_hash: C,
                certificate: cert,
            }],
            RoundState {
                step: Step::Decided,
                decision: rv(2, C),
                ..rs(0, Step::Propose, None, None)
            },
        )],
    );
}

#[test]
fn rebroadcast_sends_the_last_votes_and_the_latest_commit() {
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
        ],
    );
    let pv = fx.prevote(0, 0, Some(B));
    let pc = fx.precommit(0, 0, Some(B));
    run(
        "rebroadcast",
        &mut core,
        vec![row(
            timeout(TimeoutKind::Rebroadcast, H1, 0),
            vec![
                Effect::Broadcast(Message::Vote(pv)),
                Effect::Broadcast(Message::Vote(pc)),
                fx.sched(TimeoutKind::Rebroadcast, H1, 0),
            ],
            rs(0, Step::Precommit, rv(0, B), rv(0, B)),
        )],
    );
    feed(
        &mut core,
        vec![
            Input::Vote(fx.precommit(1, 0, Some(B))),
            Input::Vote(fx.precommit(2, 0, Some(B))),
        ],
    );
    let cert = core.last_commit().cloned().unwrap();
    // At height 2, before voting: only the commit of height 1.
    let effects = core.apply(fx.start(H2));
    assert_eq!(
        effects,
        vec![
            fx.sched(TimeoutKind::Rebroadcast, H2, 0),
            fx.sched(TimeoutKind::Propose, H2, 0),
        ]
    );
    assert_eq!(
        core.apply(timeout(TimeoutKind::Rebroadcast, H2, 0)),
        vec![
            Effect::Broadcast(Message::Commit(cert)),
            fx.sched(TimeoutKind::Rebroadcast, H2, 0),
        ]
    );
    // The old height's timer has stopped.
    assert_eq!(core.apply(timeout(TimeoutKind::Rebroadcast, H1, 0)), vec![]);
}

#[test]
fn messages_for_the_next_height_wait_for_it() {
    let fx = Fx::new();
    let mut core = fx.core(0);
    feed(&mut core, vec![fx.start(H1)]);
    let b2 = Hash([0xB2; 32]);
    for who in 1..4 {
        let v = fx.vote(who, VoteKind::Precommit, H2, 0, Some(b2));
        assert_eq!(core.apply(Input::Vote(v)), vec![]);
    }
    // Messages two heights ahead are dropped (the host syncs instead).
    let far = fx.vote(1, VoteKind::Prevote, Height(3), 0, None);
    assert_eq!(core.apply(Input::Vote(far)), vec![]);
    feed(&mut core, vec![Input::Commit(fx.cert(0, B, &[1, 2, 3]))]);
    let pcs: Vec<SignedVote> = (1..4)
        .map(|w| fx.vote(w, VoteKind::Precommit, H2, 0, Some(b2)))
        .collect();
    let cert2 = CommitCertificate::from_precommits(&fx.set, H2, 0, b2, &pcs);
    assert_eq!(
        core.apply(fx.start(H2)),
        vec![
            fx.sched(TimeoutKind::Rebroadcast, H2, 0),
            fx.sched(TimeoutKind::Propose, H2, 0),
            Effect::Decide {
                height: H2,
                block_hash: b2,
                certificate: cert2,
            },
        ]
    );
}

#[test]
fn an_observer_follows_without_signing() {
    let fx = Fx::new();
    let mut core = Consensus::new(
        fx.config.clone(),
        CHAIN,
        vec![Keypair::from_seed([99; 32])],
        PersistedState::default(),
    );
    feed(&mut core, vec![fx.start(H1)]);
    let mut all = vec![];
    for i in [
        Input::Proposal(fx.proposal(H1, 0, None, B)),
        verdict(B, true),
        Input::Vote(fx.prevote(1, 0, Some(B))),
        Input::Vote(fx.prevote(2, 0, Some(B))),
        Input::Vote(fx.prevote(3, 0, Some(B))),
        Input::Vote(fx.precommit(1, 0, Some(B))),
        Input::Vote(fx.precommit(2, 0, Some(B))),
        Input::Vote(fx.precommit(3, 0, Some(B))),
    ] {
        all.extend(core.apply(i));
    }
    assert!(all
        .iter()
        .all(|e| !matches!(e, Effect::Persist(_) | Effect::Broadcast(_))));
    assert!(matches!(all.last(), Some(Effect::Decide { block_hash, .. }) if *block_hash == B));
    assert_eq!(core.persisted(), &PersistedState::default());
}
