//! Named crash points for tests: `WATT_FAILPOINT=name` makes the process
//! abort (as `kill -9` would) the first time it reaches that point.
//!
//! Points: `after-consensus-log-sync` (the vote is durable but not sent),
//! `mid-block-write` (the block's batch is built but not written).

use std::sync::OnceLock;

fn configured() -> Option<&'static str> {
    static NAME: OnceLock<Option<String>> = OnceLock::new();
    NAME.get_or_init(|| {
        std::env::var("WATT_FAILPOINT")
            .ok()
            .filter(|s| !s.is_empty())
    })
    .as_deref()
}

/// Aborts the process if the failpoint `name` is configured.
pub fn hit(name: &str) {
    if configured() == Some(name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
