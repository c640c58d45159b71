//! The example spec builds, its hash is pinned, and bad specs are refused
//! with errors that name the problem.

use std::path::Path;
use watt_genesis::{GenesisSpec, SpecError};

fn example() -> GenesisSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/community.toml");
    GenesisSpec::from_file(&path).expect("example spec parses")
}

fn build_err(text: &str) -> String {
    match GenesisSpec::from_toml(text).and_then(|s| s.build()) {
        Ok(_) => panic!("spec should be refused"),
        Err(e) => e.to_string(),
    }
}

/// Changing this hash means changing the genesis encoding or the genesis
/// state: a deliberate format change, never an accident.
const EXAMPLE_CHAIN_ID: &str = "0x07bdfe9b7e77ca756b11dc813b6099525806b5871cee0b09606b3c185d01982f";
const EXAMPLE_STATE_ROOT: &str =
    "0x198aac7eba1b8bdbd009d1cf7f67db889348fbe5eefebe15ddfc6c07520e1d11";

#[test]
fn example_builds_with_a_pinned_chain_id_and_state_root() {
    let built = example().build().expect("example is valid");
    assert_eq!(built.chain_id.to_string(), EXAMPLE_CHAIN_ID);
    assert_eq!(built.state_root.to_string(), EXAMPLE_STATE_ROOT);
    assert_eq!(built.genesis.meters.len(), 3);
    assert_eq!(built.genesis.sites.len(), 1);
}

#[test]
fn same_spec_same_hash_and_toml_round_trip() {
    let a = example().build().expect("valid");
    let b = GenesisSpec::from_toml(&example().to_toml().expect("serialises"))
        .expect("round-trips")
        .build()
        .expect("valid");
    assert_eq!(a.chain_id, b.chain_id);
    assert_eq!(a.state_root, b.state_root);
}

fn edit(from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/community.toml"),
    )
    .expect("example readable");
    assert!(text.contains(from), "example lacks {from:?}");
    text.replacen(from, to, 1)
}

#[test]
fn duplicate_device_key_is_refused() {
    let e = build_err(&edit(
        "0x5c4f46a858d151ae3f4057b2ca85d3ae0accac87ed41d6720a1d08a082a78531",
        "0x5e26cbb661c69ccbe4bddf75bc5c3135c3dd99ccd8818e03478aed3b6e51e451",
    ));
    assert!(
        e.contains("device key") && e.contains("already used"),
        "{e}"
    );
}

#[test]
fn unknown_zone_is_refused() {
    let e = build_err(&edit(
        "zone = \"RU-BU\"\n# Readings",
        "zone = \"XX-NO\"\n# Readings",
    ));
    assert!(e.contains("zone XX-NO is not defined"), "{e}");
}

#[test]
fn zero_capacity_is_refused() {
    let e = build_err(&edit("capacity_w = 250000", "capacity_w = 0"));
    assert!(e.contains("greater than zero"), "{e}");
}

#[test]
fn empty_authority_set_is_refused() {
    let text = r#"
chain_name = "x"
genesis_time = "2026-01-01T00:00:00Z"
[[regulators]]
account = "watt10w826ymjpf9ejuu9jnqarjr5w7la4a9h5y49y43s2jfczcmga3zqkmkw4d"
"#;
    assert!(build_err(text).contains("no authorities"));
}

#[test]
fn grace_shorter_than_max_age_plus_skew_is_refused() {
    let e = build_err(&edit(
        "settlement_grace_s = 172800",
        "settlement_grace_s = 86000",
    ));
    assert!(e.contains("settlement_grace_s"), "{e}");
}

#[test]
fn penalty_below_1000_is_refused() {
    let e = build_err(&edit(
        "shortfall_penalty_permille = 1500",
        "shortfall_penalty_permille = 999",
    ));
    assert!(e.contains("shortfall_penalty_permille"), "{e}");
}

#[test]
fn mining_cap_is_enforced_at_genesis() {
    let e = build_err(&edit("max_draw_w = 600000", "max_draw_w = 2000001"));
    assert!(e.contains("mining cap"), "{e}");
}

#[test]
fn typos_and_bad_values_name_the_field() {
    let e = build_err(&edit("max_clock_skew_s = 30", "max_clock_skew = 30"));
    assert!(e.contains("max_clock_skew"), "{e}");
    let e = build_err(&edit(
        "genesis_time = \"2026-01-01T00:00:00Z\"",
        "genesis_time = \"yesterday\"",
    ));
    assert!(e.contains("genesis_time"), "{e}");
    let e = build_err(&edit("source = \"solar\"", "source = \"coal\""));
    assert!(e.contains("coal"), "fossil sources cannot register: {e}");
    let bad_checksum = "watt1h2uy2xwll54ds8va3gpja2p7qq7fxy4jyaqzq38jk6mzx6pq7dlq736wjm";
    let e = build_err(&edit(
        "watt1h2uy2xwll54ds8va3gpja2p7qq7fxy4jyaqzq38jk6mzx6pq7dlq736wjl",
        bad_checksum,
    ));
    assert!(e.contains("bech32"), "{e}");
}

#[test]
fn meter_operator_must_be_an_authority() {
    let e = build_err(&edit(
        "operator = \"watt155z6dkgt5nlwcaln8h49r4dgq9rjl34p3tkf48d4arl0k3qrnd9sp8gdvq\"\nsource",
        "operator = \"watt1h2uy2xwll54ds8va3gpja2p7qq7fxy4jyaqzq38jk6mzx6pq7dlq736wjl\"\nsource",
    ));
    assert!(e.contains("is not an authority"), "{e}");
}

#[test]
fn refusals_are_typed() {
    let err = GenesisSpec::from_toml("chain_name = 1").map(|_| ());
    assert!(matches!(err, Err(SpecError::Toml(_))));
}
