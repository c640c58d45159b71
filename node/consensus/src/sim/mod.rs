//! A deterministic simulator of whole networks of consensus cores.
//!
//! Each process runs the real [`Consensus`](crate::Consensus)
//! core behind a tiny host (`host.rs`): a block store where a block is a
//! hash of (height, round, process, counter), a durable consensus log that
//! survives crashes, a decided chain, and an app that applies validator-set
//! changes two heights after the block that carries them. Processes talk
//! through a simulated network (`net.rs`) with random delay (hence
//! reordering), loss, duplication and partitions, on simulated time: an
//! event queue ordered by (time, sequence number). One seeded PRNG
//! (`rng.rs`) makes every choice, so a seed gives the same run bit for bit;
//! the run's trace hash (over every delivery, start, crash and decision)
//! shows it.
//!
//! Byzantine behaviours are per process ([`Behaviour`]): equivocating
//! votes, conflicting proposals, replays of old messages, silence,
//! forgeries, invalid blocks; twins are two processes holding one key.
//! Crashes ([`CrashPlan`]) fire at a time or right after a proposal or a
//! vote, and the process restarts from its persisted state.
//!
//! The checker (`checker.rs`) fails a run on the first fork, bad
//! certificate (checked with signatures against the set of its height as
//! the scenario defines it), message sent before being persisted, double
//! signature by a correct key, or evidence against a key that did not
//! equivocate; the runner fails it if a correct process has not decided the
//! target height within the liveness bound after the network heals.

mod byzantine;
mod checker;
mod delivery;
mod host;
mod net;
mod rng;
mod runner;
mod scenario;

#[cfg(test)]
mod tests;

pub use checker::DecisionRecord;
pub use net::{NetConfig, Partition};
pub use rng::Rng;
pub use runner::{run, Sim};
pub use scenario::{
    sim_key, Behaviour, CrashPlan, CrashTrigger, ProcessSpec, Scenario, ScheduledChange, SetChange,
};

use watt_runtime::crypto::{Hash, PublicKey};

/// What a successful run produced.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Outcome {
    /// A blake3 hash over every delivery, start, crash and decision, in
    /// order: equal for two runs of one scenario.
    pub trace: Hash,
    /// When the run ended, simulated ms.
    pub end_ms: u64,
    /// When the network healed and the last restart happened.
    pub heal_ms: u64,
    /// Every decision, in order.
    pub decisions: Vec<DecisionRecord>,
    /// The last height each process decided.
    pub final_heights: Vec<u64>,
    /// Evidence reports (all genuine, against equivocating keys).
    pub evidence: usize,
    /// Messages the cores refused (`Effect::Rejected`).
    pub rejected: usize,
    /// Messages the hosts dropped for a bad signature or certificate.
    pub forged_dropped: usize,
    /// Messages delivered.
    pub delivered: u64,
    /// The highest round any decision was made in.
    pub max_round: u32,
    /// Crashes that happened.
    pub crashes: usize,
    /// Restarts that happened.
    pub restarts: usize,
    /// Crashes and restarts, in order.
    pub lifecycle: Vec<LifeEvent>,
}

/// A process going down or coming back up.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LifeEvent {
    /// Simulated ms.
    pub time_ms: u64,
    /// The process.
    pub process: usize,
    /// Restarted (true) or crashed (false).
    pub up: bool,
}

/// Why a run failed.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario cannot be set up.
    #[error("bad scenario: {0}")]
    BadScenario(&'static str),
    /// Two blocks decided at one height.
    #[error("fork at height {height}: {first} and {second}")]
    Fork {
        /// The height.
        height: u64,
        /// The first decision.
        first: Hash,
        /// The other one.
        second: Hash,
    },
    /// A block marked invalid was decided.
    #[error("invalid block {block_hash} decided at height {height}")]
    InvalidBlockDecided {
        /// The height.
        height: u64,
        /// The block.
        block_hash: Hash,
    },
    /// A decision's certificate does not hold against its height's set.
    #[error("process {process}: certificate of height {height} refused: {why}")]
    BadCertificate {
        /// The deciding process.
        process: usize,
        /// The height.
        height: u64,
        /// Why.
        why: String,
    },
    /// A correct key signed two different messages for one slot.
    #[error(
        "process {process}: {key} signed two different {kind}s at height {height} round {round}"
    )]
    DoubleSign {
        /// The process.
        process: usize,
        /// The key.
        key: PublicKey,
        /// The height.
        height: u64,
        /// The round.
        round: u32,
        /// Proposal, prevote or precommit.
        kind: &'static str,
    },
    /// A core sent a message signed with its key that it had not persisted.
    #[error(
        "process {process} sent a message for height {height} round {round} it had not persisted"
    )]
    UnpersistedSend {
        /// The process.
        process: usize,
        /// The height.
        height: u64,
        /// The round.
        round: u32,
    },
    /// Evidence against a key that did not equivocate, or not evidence.
    #[error("process {process} reported false evidence against {key}")]
    FalseEvidence {
        /// The reporting process.
        process: usize,
        /// The accused key.
        key: PublicKey,
    },
    /// A correct process did not reach the target in time.
    #[error(
        "process {process} stuck at height {height}, target {target}, deadline {deadline_ms} ms"
    )]
    NotLive {
        /// The slowest correct process.
        process: usize,
        /// Its last decided height.
        height: u64,
        /// The target height.
        target: u64,
        /// The deadline, simulated ms.
        deadline_ms: u64,
    },
    /// The run did not end.
    #[error("no end after {events} events")]
    Runaway {
        /// Events processed.
        events: u64,
    },
}
