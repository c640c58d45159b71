//! What a simulation runs: the processes and their behaviours, the network,
//! crashes, validator-set changes, and what counts as success.

use super::net::NetConfig;
use super::rng::Rng;
use crate::Config;
use watt_runtime::block::{Validator, ValidatorSet, VoteKind};
use watt_runtime::crypto::{Keypair, PublicKey};
use watt_runtime::encoding::BoundedString;
use watt_runtime::types::{AccountId, Height};

/// How a process behaves. Every process runs the real core; the byzantine
/// behaviours change what leaves it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Behaviour {
    /// Sends what its core says.
    Honest,
    /// Sends nothing at all.
    Silent,
    /// Each of its votes goes to every peer either as cast, or replaced by a
    /// conflicting vote, or both.
    Equivocator,
    /// Its proposals go out with a different block to each half of its peers.
    ConflictingProposer,
    /// Honest, and every few hundred ms re-sends old messages it has seen
    /// (old rounds and heights) to random peers.
    Replayer,
    /// Honest, and keeps sending forgeries: votes by a key outside the set,
    /// votes in a validator's name with a bad signature, proposals out of
    /// turn, certificates with bad signatures.
    Forger,
    /// Honest, but every block it proposes is invalid.
    InvalidProposer,
}

impl Behaviour {
    /// Whether its key may sign conflicting messages (so evidence against it
    /// is expected, and the no-double-sign check skips it).
    pub fn equivocates(self) -> bool {
        matches!(
            self,
            Behaviour::Equivocator | Behaviour::ConflictingProposer
        )
    }

    /// Whether it counts as correct: required to be live, and to be safe.
    pub fn is_correct(self) -> bool {
        self == Behaviour::Honest
    }
}

/// One simulated process.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ProcessSpec {
    /// Indices of its consensus keys in the key universe ([`sim_key`]). Two
    /// processes holding one key are twins.
    pub keys: Vec<usize>,
    /// How it behaves.
    pub behaviour: Behaviour,
}

/// What makes a process crash. Each plan fires once.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CrashTrigger {
    /// At a simulated time.
    At {
        /// When, ms.
        time_ms: u64,
    },
    /// Right after it decides the height below this one, before it does
    /// anything at this height.
    OnHeight {
        /// The height.
        height: u64,
    },
    /// Right after it sends its first proposal at this height or a later
    /// one (which may reach only some peers).
    AfterProposal {
        /// The height.
        height: u64,
    },
    /// Right after it persisted and sent its first vote of this kind at this
    /// height or a later one (which may reach only some peers). "Or later":
    /// a validator can decide a height on others' votes before casting its
    /// own.
    AfterVote {
        /// The height.
        height: u64,
        /// The kind.
        kind: VoteKind,
    },
    /// After it persisted its first vote of this kind at this height or a
    /// later one, before sending it.
    BeforeSend {
        /// The height.
        height: u64,
        /// The kind.
        kind: VoteKind,
    },
}

/// A crash, and the restart from persisted state after `down_ms` (never if
/// `None`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CrashPlan {
    /// The process.
    pub process: usize,
    /// When.
    pub trigger: CrashTrigger,
    /// How long it stays down.
    pub down_ms: Option<u64>,
}

/// A change to the validator set, carried by the block decided at
/// `decided_at` and applied from height `decided_at + 2`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SetChange {
    /// A new validator with key `key` (its operator is numbered `key` too).
    Add {
        /// The key index.
        key: usize,
    },
    /// The validator with key `key` leaves.
    Remove {
        /// The key index.
        key: usize,
    },
    /// The validator with key `from` switches to key `to`, same operator.
    Rotate {
        /// The old key index.
        from: usize,
        /// The new key index.
        to: usize,
    },
}

/// A change and the height of the block that decides it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ScheduledChange {
    /// The block carrying the change.
    pub decided_at: u64,
    /// The change.
    pub change: SetChange,
}

/// A whole simulation.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Scenario {
    /// Seeds every random choice of the run.
    pub seed: u64,
    /// The genesis validators are keys `0..validators`.
    pub validators: usize,
    /// The processes.
    pub processes: Vec<ProcessSpec>,
    /// The network.
    pub net: NetConfig,
    /// The engine's configuration, shared by all.
    pub consensus: Config,
    /// Every correct process must decide this height...
    pub target_height: u64,
    /// ...within this long after the network heals and the last crashed
    /// process restarts.
    pub liveness_bound_ms: u64,
    /// Crashes.
    pub crashes: Vec<CrashPlan>,
    /// Validator-set changes.
    pub set_changes: Vec<ScheduledChange>,
}

/// The key with index `i` in the simulation's key universe.
pub fn sim_key(i: usize) -> Keypair {
    let mut seed = [0x5A; 32];
    seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    Keypair::from_seed(seed)
}

/// The operator account of validator slot `i`.
pub(crate) fn operator(i: usize) -> AccountId {
    let mut b = [0xA5; 32];
    b[..8].copy_from_slice(&(i as u64).to_le_bytes());
    AccountId(PublicKey(b))
}

fn validator(key: PublicKey, op: usize) -> Validator {
    Validator {
        consensus_key: key,
        operator: operator(op),
        name: BoundedString::new(format!("v{op}")).unwrap_or_default(),
    }
}

/// The genesis set: keys `0..n`.
pub(crate) fn genesis_set(keys: &[PublicKey]) -> Option<ValidatorSet> {
    ValidatorSet::new(
        keys.iter()
            .enumerate()
            .map(|(i, k)| validator(*k, i))
            .collect(),
    )
    .ok()
}

/// Applies a change to a set; `None` if the result is not a valid set.
pub(crate) fn apply_change(
    set: &ValidatorSet,
    change: SetChange,
    key: impl Fn(usize) -> PublicKey,
) -> Option<ValidatorSet> {
    let mut vs: Vec<Validator> = set.validators().to_vec();
    match change {
        SetChange::Add { key: k } => vs.push(validator(key(k), k)),
        SetChange::Remove { key: k } => vs.retain(|v| v.consensus_key != key(k)),
        SetChange::Rotate { from, to } => {
            for v in vs.iter_mut().filter(|v| v.consensus_key == key(from)) {
                v.consensus_key = key(to);
            }
        }
    }
    ValidatorSet::new(vs).ok()
}

impl Scenario {
    /// `n` honest validators on a calm network; heights up to 10.
    pub fn new(seed: u64, n: usize) -> Scenario {
        Scenario {
            seed,
            validators: n,
            processes: (0..n)
                .map(|i| ProcessSpec {
                    keys: vec![i],
                    behaviour: Behaviour::Honest,
                })
                .collect(),
            net: NetConfig::calm(),
            consensus: Config::for_tests(),
            target_height: 10,
            liveness_bound_ms: 60_000,
            crashes: Vec::new(),
            set_changes: Vec::new(),
        }
    }

    /// `n` honest validators on a network drawn from the seed (see
    /// [`NetConfig::random`]).
    pub fn random_network(seed: u64, n: usize) -> Scenario {
        let mut rng = Rng::new(seed ^ 0x6E65_7477_6F72_6B21);
        Scenario {
            net: NetConfig::random(&mut rng, n),
            ..Scenario::new(seed, n)
        }
    }

    /// A random network, and one time in three a crash of a random process
    /// at a random time with a restart after up to three seconds.
    pub fn random(seed: u64, n: usize) -> Scenario {
        let mut sc = Scenario::random_network(seed, n);
        let mut rng = Rng::new(seed ^ 0x6372_6173_6821);
        if rng.chance(333) {
            let process = rng.below(n as u64) as usize;
            let trigger = match rng.below(3) {
                0 => CrashTrigger::At {
                    time_ms: rng.range(0, 5_000),
                },
                1 => CrashTrigger::AfterVote {
                    height: rng.range(1, 6),
                    kind: if rng.chance(500) {
                        VoteKind::Prevote
                    } else {
                        VoteKind::Precommit
                    },
                },
                _ => CrashTrigger::AfterProposal {
                    height: rng.range(1, 6),
                },
            };
            sc.crashes.push(CrashPlan {
                process,
                trigger,
                down_ms: Some(rng.range(100, 3_000)),
            });
        }
        sc
    }

    /// Makes process `p` behave as `b`.
    pub fn with_behaviour(mut self, p: usize, b: Behaviour) -> Scenario {
        if let Some(spec) = self.processes.get_mut(p) {
            spec.behaviour = b;
        }
        self
    }

    /// Adds an honest process holding validator `key`'s key: a twin.
    pub fn with_twin(mut self, key: usize) -> Scenario {
        self.processes.push(ProcessSpec {
            keys: vec![key],
            behaviour: Behaviour::Honest,
        });
        self
    }

    /// Adds a process holding a key outside every validator set (an
    /// outsider that connected as a follower) behaving as `b`.
    pub fn with_outsider(mut self, b: Behaviour) -> Scenario {
        let key = self.validators + 16;
        self.processes.push(ProcessSpec {
            keys: vec![key],
            behaviour: b,
        });
        self
    }

    /// Adds a crash plan.
    pub fn with_crash(mut self, plan: CrashPlan) -> Scenario {
        self.crashes.push(plan);
        self
    }

    /// The process holding the genesis key that proposes at `(height,
    /// round)` while the set is still the genesis one.
    pub fn proposer_process(&self, height: u64, round: u32) -> Option<usize> {
        let keys: Vec<PublicKey> = (0..self.validators).map(|i| sim_key(i).public()).collect();
        let set = genesis_set(&keys)?;
        let proposer = set.proposer(Height(height), round)?.consensus_key;
        let index = keys.iter().position(|k| *k == proposer)?;
        self.processes.iter().position(|p| p.keys.contains(&index))
    }
}
