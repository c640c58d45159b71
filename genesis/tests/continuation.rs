//! A recovery fork's genesis: built from the old chain's state snapshot,
//! refused when the snapshot is not the state the document continues, and
//! the snapshot file refuses damage.

use std::path::Path;
use watt_genesis::{BuiltGenesis, GenesisSpec, StateSnapshot};
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::BoundedVec;
use watt_runtime::genesis::{Continuation, Genesis};
use watt_runtime::types::Height;

fn old_chain() -> BuiltGenesis {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/community.toml");
    GenesisSpec::from_file(&path)
        .expect("example spec parses")
        .build()
        .expect("example builds")
}

/// The old chain's genesis state as a snapshot, and a document continuing
/// it with the same authorities and no zones, meters or sites.
fn fork(old: &BuiltGenesis) -> (Genesis, StateSnapshot) {
    let of = Continuation {
        chain_id: old.chain_id,
        height: Height(0),
        state_root: old.state_root,
    };
    let mut g = old.genesis.clone();
    g.chain_name = watt_runtime::encoding::BoundedString::new("recovered").unwrap();
    g.genesis_time_ms += 60_000;
    g.zones = BoundedVec::new(Vec::new()).unwrap();
    g.meters = BoundedVec::new(Vec::new()).unwrap();
    g.sites = BoundedVec::new(Vec::new()).unwrap();
    g.continues = Some(of.clone());
    let snapshot = StateSnapshot {
        of,
        entries: old.state.entries().clone(),
    };
    (g, snapshot)
}

#[test]
fn a_fork_keeps_the_old_state_under_a_new_chain_id() {
    let old = old_chain();
    let (g, snapshot) = fork(&old);
    let built = BuiltGenesis::from_continuation(g.clone(), &snapshot).expect("builds");
    assert_ne!(built.chain_id, old.chain_id);
    // Everything but the chain record carries over unchanged.
    let chain_key = watt_runtime::state::StateKey::Chain.encode();
    for (k, v) in old.state.entries() {
        if *k != chain_key {
            assert_eq!(built.state.entries().get(k), Some(v));
        }
    }
    // Without the snapshot there is no state to build.
    assert!(BuiltGenesis::from_genesis(g).is_err());
}

#[test]
fn a_snapshot_that_is_not_the_continued_state_is_refused() {
    let old = old_chain();
    let (mut g, mut snapshot) = fork(&old);
    // A changed entry no longer hashes to the root the document names.
    let (k, v) = snapshot
        .entries
        .iter()
        .next_back()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    let mut v2 = v.clone();
    v2.push(0);
    snapshot.entries.insert(k, v2);
    let err = BuiltGenesis::from_continuation(g.clone(), &snapshot).unwrap_err();
    assert!(err.to_string().contains("root"), "{err}");
    // A snapshot of another chain is refused before its root is checked.
    let (_, good) = fork(&old);
    g.continues.as_mut().unwrap().chain_id = Hash([9; 32]);
    let err = BuiltGenesis::from_continuation(g, &good).unwrap_err();
    assert!(err.to_string().contains("snapshot is of chain"), "{err}");
}

#[test]
fn a_fork_lists_no_zones_of_its_own() {
    let old = old_chain();
    let (mut g, snapshot) = fork(&old);
    g.zones = old.genesis.zones.clone();
    let err = BuiltGenesis::from_continuation(g, &snapshot).unwrap_err();
    assert!(err.to_string().contains("no zones"), "{err}");
}

#[test]
fn the_snapshot_file_round_trips_and_refuses_damage() {
    let old = old_chain();
    let (_, snapshot) = fork(&old);
    let bytes = snapshot.to_bytes();
    assert_eq!(StateSnapshot::from_bytes(&bytes, "s").unwrap(), snapshot);
    let mut flipped = bytes.clone();
    flipped[20] ^= 1;
    let err = StateSnapshot::from_bytes(&flipped, "s").unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
    let err = StateSnapshot::from_bytes(&bytes[..bytes.len() - 5], "s").unwrap_err();
    assert!(err.to_string().contains("truncated or damaged"), "{err}");
    let err = StateSnapshot::from_bytes(b"not a snapshot at all, no", "s").unwrap_err();
    assert!(err.to_string().contains("WATTSNAP"), "{err}");
}
