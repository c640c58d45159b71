//! The simulated network: per-message delay, loss and duplication, and
//! partitions during time windows. Reordering follows from random delays.

use super::rng::Rng;

/// A partition: during `[from_ms, until_ms)` a message crosses only between
/// processes of one group. A process in no group is alone.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Partition {
    /// Start, simulated ms.
    pub from_ms: u64,
    /// End (the network heals), simulated ms.
    pub until_ms: u64,
    /// Groups of process indices.
    pub groups: Vec<Vec<usize>>,
}

impl Partition {
    fn separates(&self, now: u64, a: usize, b: usize) -> bool {
        if now < self.from_ms || now >= self.until_ms {
            return false;
        }
        let group = |p: usize| self.groups.iter().position(|g| g.contains(&p));
        match (group(a), group(b)) {
            (Some(x), Some(y)) => x != y,
            _ => true,
        }
    }
}

/// How the network treats messages.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NetConfig {
    /// Shortest delivery delay, ms.
    pub min_delay_ms: u64,
    /// Longest delivery delay, ms.
    pub max_delay_ms: u64,
    /// Chance a message is lost, per thousand.
    pub loss_permille: u32,
    /// Chance a delivered message is delivered twice, per thousand.
    pub dup_permille: u32,
    /// Partitions.
    pub partitions: Vec<Partition>,
}

impl NetConfig {
    /// A well-behaved network: 5 to 50 ms, nothing lost.
    pub fn calm() -> NetConfig {
        NetConfig {
            min_delay_ms: 5,
            max_delay_ms: 50,
            loss_permille: 0,
            dup_permille: 0,
            partitions: Vec::new(),
        }
    }

    /// A network drawn from `rng` for `processes` processes: delays of 5 up
    /// to 50-200 ms, up to 10% loss and 10% duplication, and, four times in
    /// five, a partition into two sides that heals within six seconds.
    pub fn random(rng: &mut Rng, processes: usize) -> NetConfig {
        let mut net = NetConfig {
            min_delay_ms: 5,
            max_delay_ms: rng.range(50, 200),
            loss_permille: rng.range(0, 100) as u32,
            dup_permille: rng.range(0, 100) as u32,
            partitions: Vec::new(),
        };
        if processes > 1 && rng.chance(800) {
            let from_ms = rng.range(0, 2_000);
            let until_ms = from_ms + rng.range(500, 4_000);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for p in 0..processes {
                if rng.chance(500) {
                    a.push(p);
                } else {
                    b.push(p);
                }
            }
            net.partitions.push(Partition {
                from_ms,
                until_ms,
                groups: vec![a, b],
            });
        }
        net
    }

    /// When the last partition ends.
    pub fn healed_at(&self) -> u64 {
        self.partitions
            .iter()
            .map(|p| p.until_ms)
            .max()
            .unwrap_or(0)
    }

    /// The delays after which a message sent now from `a` to `b` arrives:
    /// none if it is lost, two if it is duplicated.
    pub(crate) fn route(&self, rng: &mut Rng, now: u64, a: usize, b: usize) -> Vec<u64> {
        if self.partitions.iter().any(|p| p.separates(now, a, b)) {
            return Vec::new();
        }
        if rng.chance(self.loss_permille) {
            return Vec::new();
        }
        let mut delays = vec![rng.range(self.min_delay_ms, self.max_delay_ms)];
        if rng.chance(self.dup_permille) {
            delays.push(rng.range(self.min_delay_ms, self.max_delay_ms));
        }
        delays
    }
}
