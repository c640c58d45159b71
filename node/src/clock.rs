//! The chain clock: the one place the node reads wall time. Consensus and
//! the runtime receive the time as an input.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds of chain time.
pub trait Clock: Send + Sync {
    /// Now, in unix milliseconds of chain time.
    fn now_ms(&self) -> u64;
}

/// Wall-clock time.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// A clock that runs `speed` times faster than the wall clock from a
/// starting chain time (`watt dev --speed`).
#[derive(Clone, Debug)]
pub struct ScaledClock {
    origin_chain_ms: u64,
    origin_wall: Instant,
    speed: u64,
}

impl ScaledClock {
    /// Starts at `origin_chain_ms` now, running `speed` times as fast.
    pub fn new(origin_chain_ms: u64, speed: u64) -> Self {
        ScaledClock {
            origin_chain_ms,
            origin_wall: Instant::now(),
            speed: speed.max(1),
        }
    }

    /// The speed factor.
    pub fn speed(&self) -> u64 {
        self.speed
    }
}

impl Clock for ScaledClock {
    fn now_ms(&self) -> u64 {
        let wall = self.origin_wall.elapsed().as_millis() as u64;
        self.origin_chain_ms
            .saturating_add(wall.saturating_mul(self.speed))
    }
}
