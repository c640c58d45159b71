//! Whole-network scenarios. Seed counts default to 200 for the random
//! networks and 25 for each targeted scenario; `WATT_SIM_SEEDS=N` runs N
//! and N/8 instead.

use super::*;
use watt_runtime::block::VoteKind;

/// Seeds for the random-network sweeps.
fn sweep_seeds() -> u64 {
    std::env::var("WATT_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

/// Seeds for each targeted scenario.
fn scenario_seeds() -> u64 {
    (sweep_seeds() / 8).max(1)
}

fn ok(sc: Scenario) -> Outcome {
    let seed = sc.seed;
    run(sc.clone()).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{sc:#?}"))
}

/// Seeds of one scenario family start apart, so that no two families share
/// a network.
fn seeds(family: u64) -> impl Iterator<Item = u64> {
    (0..scenario_seeds()).map(move |i| family * 1_000_003 + i)
}

fn sweep(n: usize) {
    let (mut rounds, mut crashes) = (0, 0);
    for seed in 0..sweep_seeds() {
        let out = ok(Scenario::random(seed, n));
        assert_eq!(
            out.rejected + out.evidence + out.forged_dropped,
            0,
            "seed {seed}"
        );
        rounds = rounds.max(out.max_round);
        crashes += out.crashes;
    }
    // The sweep does exercise round changes and crashes.
    assert!(
        rounds > 0 && crashes > 0,
        "rounds {rounds}, crashes {crashes}"
    );
}

#[test]
fn random_networks_n4_are_safe_and_live() {
    sweep(4);
}

#[test]
fn random_networks_n7_are_safe_and_live() {
    sweep(7);
}

/// f byzantine processes of one kind among n validators, on random networks.
fn byzantine(family: u64, b: Behaviour, n: usize, f: usize) -> Vec<Outcome> {
    seeds(family)
        .map(|seed| {
            let mut sc = Scenario::random_network(seed, n);
            for p in 0..f {
                sc = sc.with_behaviour(p, b);
            }
            ok(sc)
        })
        .collect()
}

#[test]
fn equivocators_are_reported_and_cannot_fork() {
    for (family, n, f) in [(1, 4, 1), (2, 7, 2)] {
        let outs = byzantine(family, Behaviour::Equivocator, n, f);
        let evidence: usize = outs.iter().map(|o| o.evidence).sum();
        assert!(evidence > 0, "n = {n}: no evidence at all");
    }
}

#[test]
fn twins_cannot_fork() {
    for (family, n, twins) in [(3, 4, vec![0]), (4, 7, vec![0, 1])] {
        for seed in seeds(family) {
            let mut sc = Scenario::random_network(seed, n);
            for k in &twins {
                sc = sc.with_twin(*k);
            }
            ok(sc);
        }
    }
}

#[test]
fn conflicting_proposers_cannot_fork() {
    byzantine(5, Behaviour::ConflictingProposer, 4, 1);
    byzantine(6, Behaviour::ConflictingProposer, 7, 2);
}

#[test]
fn replayed_old_messages_are_harmless() {
    byzantine(7, Behaviour::Replayer, 4, 1);
    byzantine(8, Behaviour::Replayer, 7, 2);
}

#[test]
fn silent_validators_do_not_stop_the_others() {
    byzantine(9, Behaviour::Silent, 4, 1);
    byzantine(10, Behaviour::Silent, 7, 2);
}

#[test]
fn forged_and_foreign_messages_are_ignored() {
    for (family, n, f) in [(11, 4, 1), (12, 7, 2)] {
        let outs = byzantine(family, Behaviour::Forger, n, f);
        // Bad signatures, foreign keys and proposals out of turn all die
        // at the host's verification (the service's function), so the core
        // never has to reject one. (A forger cut off by a partition for a
        // whole short run gets nothing through, hence the totals.)
        let dropped: usize = outs.iter().map(|o| o.forged_dropped).sum();
        let rejected: usize = outs.iter().map(|o| o.rejected).sum();
        assert!(
            dropped > 0 && rejected == 0,
            "n = {n}: {dropped} dropped, {rejected} rejected"
        );
    }
}

/// An outsider (a key in no validator set, as any follower may hold) and a
/// byzantine validator keep forging votes in every validator's name,
/// proposals and certificates for made-up blocks, over the full sweep of
/// seeds: nothing forged is ever decided or counted.
#[test]
fn an_outsider_forging_certificates_cannot_halt_or_fork() {
    let mut dropped = 0;
    for seed in 0..sweep_seeds() {
        let sc = Scenario::random_network(seed + 16_000_000, 4)
            .with_behaviour(0, Behaviour::Forger)
            .with_outsider(Behaviour::Forger);
        let out = ok(sc);
        assert_eq!(out.rejected, 0, "seed {seed}: the core saw a forgery");
        dropped += out.forged_dropped;
    }
    assert!(dropped > 0);
}

#[test]
fn invalid_blocks_are_never_decided() {
    byzantine(13, Behaviour::InvalidProposer, 4, 1);
    byzantine(14, Behaviour::InvalidProposer, 7, 2);
}

#[test]
fn mixed_faults_at_the_limit() {
    // n = 7, f = 2: one equivocator and a pair of twins, plus a crash of a
    // correct validator that restarts.
    for seed in seeds(15) {
        let sc = Scenario::random_network(seed, 7)
            .with_behaviour(0, Behaviour::Equivocator)
            .with_twin(1)
            .with_crash(CrashPlan {
                process: 2,
                trigger: CrashTrigger::At { time_ms: 1_500 },
                down_ms: Some(2_000),
            });
        ok(sc);
    }
}

// ----- crashes -----

/// A calm-ish network: delay and duplication but no loss or partition, so
/// that the crash is the only fault.
fn crash_net(seed: u64, n: usize) -> Scenario {
    let mut sc = Scenario::random_network(seed, n);
    sc.net.partitions.clear();
    sc.net.loss_permille = 0;
    sc
}

fn crash_runs(family: u64, n: usize, trigger: impl Fn(&Scenario) -> (usize, CrashTrigger)) {
    for seed in seeds(family) {
        let sc = crash_net(seed, n);
        let (process, trigger) = trigger(&sc);
        let down = 200 + seed % 2_000;
        let out = ok(sc.with_crash(CrashPlan {
            process,
            trigger,
            down_ms: Some(down),
        }));
        assert_eq!((out.crashes, out.restarts), (1, 1), "seed {seed}");
    }
}

#[test]
fn a_proposer_crashing_right_after_proposing_restarts_without_equivocating() {
    for (family, n) in [(20, 4), (21, 7)] {
        crash_runs(family, n, |sc| {
            let p = sc.proposer_process(3, 0).unwrap_or(0);
            (p, CrashTrigger::AfterProposal { height: 3 })
        });
    }
}

#[test]
fn a_validator_crashing_right_after_voting_restarts_without_equivocating() {
    for (family, n, kind) in [
        (22, 4, VoteKind::Prevote),
        (23, 4, VoteKind::Precommit),
        (24, 7, VoteKind::Prevote),
        (25, 7, VoteKind::Precommit),
    ] {
        crash_runs(family, n, |sc| {
            (
                sc.seed as usize % n,
                CrashTrigger::AfterVote { height: 3, kind },
            )
        });
    }
}

#[test]
fn a_validator_crashing_between_persisting_and_sending_restarts_consistently() {
    for (family, kind) in [(26, VoteKind::Prevote), (27, VoteKind::Precommit)] {
        crash_runs(family, 4, |sc| {
            (
                sc.seed as usize % 4,
                CrashTrigger::BeforeSend { height: 2, kind },
            )
        });
    }
}

/// More than a third of the validators crash right after deciding height
/// 3, before signing anything at height 4. Until the first of them comes
/// back nobody can gather a quorum at height 4, so nothing is decided at
/// 4 or above (and nothing forks); once they restart from their persisted
/// state, every correct process reaches the target.
#[test]
fn more_than_a_third_crashed_stops_finality_then_recovers() {
    const STOP: u64 = 4;
    for (family, n, crashed) in [(30, 4, 2), (31, 7, 3)] {
        for seed in seeds(family) {
            let mut sc = crash_net(seed, n);
            sc.target_height = 8;
            for p in 0..crashed {
                sc = sc.with_crash(CrashPlan {
                    process: p,
                    trigger: CrashTrigger::OnHeight { height: STOP },
                    down_ms: Some(3_000 + 500 * p as u64),
                });
            }
            let out = ok(sc);
            let downs: Vec<u64> = out
                .lifecycle
                .iter()
                .filter(|e| !e.up)
                .map(|e| e.time_ms)
                .collect();
            let first_up = out
                .lifecycle
                .iter()
                .filter(|e| e.up)
                .map(|e| e.time_ms)
                .min();
            assert_eq!(downs.len(), crashed, "seed {seed}");
            let (Some(last_down), Some(first_up)) = (downs.iter().max(), first_up) else {
                panic!("seed {seed}: no restart");
            };
            let first_stop = out
                .decisions
                .iter()
                .filter(|d| d.height >= STOP)
                .map(|d| d.time_ms)
                .min()
                .unwrap_or(u64::MAX);
            assert!(
                first_stop >= first_up,
                "seed {seed}: height {STOP} decided at {first_stop} ms with {crashed} of {n} down from {last_down} to {first_up} ms"
            );
            assert!(
                first_up >= last_down + 2_000,
                "seed {seed}: the outage is too short to show anything"
            );
        }
    }
}

// ----- determinism -----

#[test]
fn one_seed_gives_one_trace() {
    let mut traces = std::collections::BTreeSet::new();
    for seed in 0..10 {
        let sc = Scenario::random(seed, 4).with_behaviour(3, Behaviour::Equivocator);
        let a = ok(sc.clone());
        let b = ok(sc);
        assert_eq!(a, b, "seed {seed}: two runs differ");
        traces.insert(a.trace);
    }
    assert_eq!(traces.len(), 10, "different seeds gave equal traces");
}

// ----- validator-set changes -----

/// Four genesis validators (keys 0-3), an observer holding key 4, and
/// validator 2 also holding key 5. Block 3 adds key 4 (from height 5),
/// block 5 removes key 1 (from height 7), block 7 rotates key 2 to key 5
/// (from height 9). Every certificate is checked against its own height's
/// set, and must fail against the previous one where the set changed.
#[test]
fn validator_set_changes_apply_two_heights_later() {
    for seed in seeds(40) {
        let mut sc = Scenario::random_network(seed, 4);
        sc.processes[2].keys.push(5);
        sc.processes.push(ProcessSpec {
            keys: vec![4],
            behaviour: Behaviour::Honest,
        });
        sc.target_height = 12;
        sc.set_changes = vec![
            ScheduledChange {
                decided_at: 3,
                change: SetChange::Add { key: 4 },
            },
            ScheduledChange {
                decided_at: 5,
                change: SetChange::Remove { key: 1 },
            },
            ScheduledChange {
                decided_at: 7,
                change: SetChange::Rotate { from: 2, to: 5 },
            },
        ];
        let out = ok(sc);
        assert!(out.final_heights.iter().all(|h| *h >= 12), "seed {seed}");
    }
}
