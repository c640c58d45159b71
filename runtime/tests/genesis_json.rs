//! The genesis document's JSON: written in the API's one convention
//! (camelCase, watts as decimal strings), while a file written before Wave 2
//! step 6 (snake_case names, watts as numbers) still reads as the same
//! document, with the same chain id.

use watt_runtime::genesis::Genesis;

/// `tests/fixtures/dev-genesis.json` was written before step 6 and pins
/// `rpc_compat`'s dev chain: it must keep loading.
const OLD_FILE: &str = include_str!("../../tests/fixtures/dev-genesis.json");

#[test]
fn a_genesis_file_from_before_step_6_reads_as_the_same_document() {
    assert!(OLD_FILE.contains("\"mining_cap_w\": 1000000"));
    let old: Genesis = serde_json::from_str(OLD_FILE).expect("the old file reads");
    let written = serde_json::to_string_pretty(&old).unwrap();
    for name in [
        "\"chainName\"",
        "\"genesisTimeMs\"",
        "\"maxClockSkewS\"",
        "\"miningCapW\": \"1000000\"",
        "\"deviceKey\"",
        "\"baselineCounter\"",
    ] {
        assert!(written.contains(name), "{name} missing from {written}");
    }
    let keys = snake_keys(&serde_json::from_str(&written).unwrap());
    assert!(keys.is_empty(), "snake_case keys written: {keys:?}");
    let new: Genesis = serde_json::from_str(&written).expect("the new form reads");
    assert_eq!(new, old);
    assert_eq!(new.chain_id(), old.chain_id());
}

#[test]
fn an_unknown_policy_field_is_refused_under_either_spelling() {
    let bad = OLD_FILE.replace("\"dark_after_s\"", "\"dark_after_minutes\"");
    let err = serde_json::from_str::<Genesis>(&bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("dark_after_minutes"), "{err}");
    let bad = OLD_FILE.replace("\"dark_after_s\"", "\"darkAfterMinutes\"");
    let err = serde_json::from_str::<Genesis>(&bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("darkAfterMinutes"), "{err}");
}

/// Two spellings of one field could let two tools read two different
/// chains from one file: the file is refused instead.
#[test]
fn a_field_given_in_both_spellings_is_refused() {
    let both = OLD_FILE.replace(
        "\"dark_after_s\": 600",
        "\"dark_after_s\": 600, \"darkAfterS\": 60",
    );
    assert_ne!(both, OLD_FILE);
    let err = serde_json::from_str::<Genesis>(&both)
        .unwrap_err()
        .to_string();
    assert!(err.contains("duplicate field"), "{err}");
}

#[test]
fn a_power_may_be_a_number_or_a_decimal_string_but_not_negative_or_fractional() {
    let as_string = OLD_FILE.replace("\"capacity\": 300000", "\"capacity\": \"300000\"");
    assert_ne!(as_string, OLD_FILE);
    let a: Genesis = serde_json::from_str(&as_string).unwrap();
    let b: Genesis = serde_json::from_str(OLD_FILE).unwrap();
    assert_eq!(a, b);
    for bad in ["-5", "\"3e5\"", "\"-300000\"", "300000.5", "\"\""] {
        let text = OLD_FILE.replace("\"capacity\": 300000", &format!("\"capacity\": {bad}"));
        let err = serde_json::from_str::<Genesis>(&text)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("power") || err.contains("invalid type"),
            "{bad}: {err}"
        );
    }
}

/// Every object key with an underscore, anywhere in `v`.
fn snake_keys(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .flat_map(|(k, v)| {
                let mut found = snake_keys(v);
                if k.contains('_') {
                    found.push(k.clone());
                }
                found
            })
            .collect(),
        serde_json::Value::Array(a) => a.iter().flat_map(snake_keys).collect(),
        _ => Vec::new(),
    }
}
