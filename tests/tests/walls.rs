//! The walls between crates, as their manifests declare them: the
//! consensus core knows no storage, network, RPC or async runtime; storage
//! knows no consensus, network or RPC. Cargo enforces what a manifest says;
//! this test keeps the manifests saying it (`cargo tree -p watt-consensus`
//! and `cargo tree -p watt-storage` show the same).

use std::collections::BTreeSet;
use std::path::Path;

/// The names under `[dependencies]` (not dev- or build-dependencies).
fn dependencies(manifest: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).expect("the manifest reads");
    let mut in_deps = false;
    let mut names = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if !in_deps || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line.split(['=', '.']).next().unwrap_or("").trim();
        names.insert(name.to_string());
    }
    names
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn the_consensus_core_depends_on_the_runtime_alone() {
    let deps = dependencies(&root().join("node/consensus/Cargo.toml"));
    let allowed: BTreeSet<String> = ["watt-runtime", "borsh", "blake3", "thiserror"]
        .map(String::from)
        .into();
    assert!(
        deps.contains("watt-runtime"),
        "the parser reads the manifest: {deps:?}"
    );
    let extra: Vec<_> = deps.difference(&allowed).collect();
    assert!(
        extra.is_empty(),
        "the consensus core must stay free of I/O; new dependencies: {extra:?}"
    );
}

#[test]
fn storage_knows_no_consensus_network_or_rpc() {
    let deps = dependencies(&root().join("node/storage/Cargo.toml"));
    assert!(
        deps.contains("rocksdb"),
        "the parser reads the manifest: {deps:?}"
    );
    for banned in [
        "watt-consensus",
        "watt-node",
        "watt-rpc-client",
        "jsonrpsee",
        "tokio",
        "snow",
    ] {
        assert!(
            !deps.contains(banned),
            "storage must not depend on {banned}: {deps:?}"
        );
    }
}

#[test]
fn the_runtime_does_no_io() {
    let deps = dependencies(&root().join("runtime/Cargo.toml"));
    for banned in ["rocksdb", "tokio", "jsonrpsee", "snow", "watt-node"] {
        assert!(
            !deps.contains(banned),
            "the runtime must not depend on {banned}: {deps:?}"
        );
    }
}
