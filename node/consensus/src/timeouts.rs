//! Timeouts: which ones the core schedules, how long each lasts in a given
//! round, and the rest of the engine's configuration.
//!
//! Timeouts grow linearly with the round and stop at a cap. Growth lets a
//! network whose delays exceed the base timeout still reach agreement; the
//! cap keeps a long outage from leaving the chain waiting for ever on one
//! round (Besu's doubling timeouts reached 4,096 s by round 10).

use std::time::Duration;
use watt_runtime::types::Height;

/// The kinds of timeout the core schedules.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum TimeoutKind {
    /// Waiting for the round's proposal (paper L21, fires L57).
    Propose,
    /// Waiting for more prevotes after 2f+1 of mixed values (L34, fires L61).
    Prevote,
    /// Waiting for more precommits after 2f+1 of mixed values (L47, fires L65).
    Precommit,
    /// The periodic re-broadcast of this node's last votes and latest commit.
    Rebroadcast,
}

/// A timeout, as the core schedules it and as the host reports it back
/// with `Input::Timeout` once its duration has passed.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timeout {
    /// The height it was scheduled at.
    pub height: Height,
    /// The round it was scheduled in.
    pub round: u32,
    /// Which timeout.
    pub kind: TimeoutKind,
}

/// How one kind of timeout grows: `base + delta * round`, never above `cap`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Growth {
    /// The duration in round 0.
    pub base: Duration,
    /// Added per round.
    pub delta: Duration,
    /// The longest it ever gets.
    pub cap: Duration,
}

impl Growth {
    /// The duration in `round`.
    pub fn at(&self, round: u32) -> Duration {
        self.base
            .saturating_add(self.delta.saturating_mul(round))
            .min(self.cap)
    }
}

/// The consensus engine's configuration.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Config {
    /// The propose timeout.
    pub propose: Growth,
    /// The prevote timeout.
    pub prevote: Growth,
    /// The precommit timeout.
    pub precommit: Growth,
    /// How often the last votes and the latest commit are sent again.
    pub rebroadcast: Duration,
    /// Messages for rounds further ahead of the current one than this are
    /// dropped, which bounds the memory one faulty validator can fill.
    pub max_round_ahead: u32,
    /// How many messages for the next height are kept until it starts.
    pub max_future_inputs: usize,
}

impl Default for Config {
    /// Production values: a one-second propose timeout that grows by half a
    /// second per round up to ten seconds.
    fn default() -> Self {
        Config {
            propose: Growth {
                base: Duration::from_millis(1_000),
                delta: Duration::from_millis(500),
                cap: Duration::from_secs(10),
            },
            prevote: Growth {
                base: Duration::from_millis(500),
                delta: Duration::from_millis(250),
                cap: Duration::from_secs(5),
            },
            precommit: Growth {
                base: Duration::from_millis(500),
                delta: Duration::from_millis(250),
                cap: Duration::from_secs(5),
            },
            rebroadcast: Duration::from_secs(2),
            max_round_ahead: 1_000,
            max_future_inputs: 4_096,
        }
    }
}

impl Config {
    /// The duration of a timeout in a round.
    pub fn timeout(&self, kind: TimeoutKind, round: u32) -> Duration {
        match kind {
            TimeoutKind::Propose => self.propose.at(round),
            TimeoutKind::Prevote => self.prevote.at(round),
            TimeoutKind::Precommit => self.precommit.at(round),
            TimeoutKind::Rebroadcast => self.rebroadcast,
        }
    }

    /// Short timeouts for tests and simulations, where messages take
    /// between a few and a few hundred milliseconds.
    pub fn for_tests() -> Self {
        Config {
            propose: Growth {
                base: Duration::from_millis(400),
                delta: Duration::from_millis(100),
                cap: Duration::from_millis(2_000),
            },
            prevote: Growth {
                base: Duration::from_millis(200),
                delta: Duration::from_millis(100),
                cap: Duration::from_millis(1_500),
            },
            precommit: Growth {
                base: Duration::from_millis(200),
                delta: Duration::from_millis(100),
                cap: Duration::from_millis(1_500),
            },
            rebroadcast: Duration::from_millis(500),
            max_round_ahead: 1_000,
            max_future_inputs: 4_096,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_grow_per_round_and_stop_at_the_cap() {
        let c = Config::default();
        let ms = |d: Duration| d.as_millis();
        assert_eq!(ms(c.timeout(TimeoutKind::Propose, 0)), 1_000);
        assert_eq!(ms(c.timeout(TimeoutKind::Propose, 1)), 1_500);
        assert_eq!(ms(c.timeout(TimeoutKind::Propose, 10)), 6_000);
        assert_eq!(ms(c.timeout(TimeoutKind::Propose, 18)), 10_000);
        assert_eq!(ms(c.timeout(TimeoutKind::Propose, u32::MAX)), 10_000);
        assert_eq!(ms(c.timeout(TimeoutKind::Prevote, 100)), 5_000);
        assert_eq!(ms(c.timeout(TimeoutKind::Rebroadcast, 7)), 2_000);
        let mut last = Duration::ZERO;
        for r in 0..64 {
            let d = c.timeout(TimeoutKind::Precommit, r);
            assert!(d >= last && d <= c.precommit.cap);
            last = d;
        }
    }
}
