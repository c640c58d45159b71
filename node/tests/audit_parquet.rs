//! `watt audit --format parquet` against a real `watt dev` chain, read back
//! with DuckDB (the Python package): the hourly supply summed per zone
//! equals the node's own `credits_getSupply` at the audited height, every
//! burn's vintage lineage sums to its amount and to its `burned` event,
//! and the columns are typed. (Nextest runs this in the `processes` group.)

#[path = "common/dev.rs"]
mod dev;

use std::process::Command;
use std::time::{Duration, Instant};
use watt_test_support::{rpc_call_raw, watt_command};

fn rpc(addr: &str, method: &str, params: serde_json::Value) -> serde_json::Value {
    rpc_call_raw(addr, method, params)["result"].clone()
}

/// The DuckDB checks; arguments: the `parquet` folder and the supply JSON.
const CHECKS: &str = r#"
import duckdb, json, sys

root, supply = sys.argv[1], json.load(open(sys.argv[2]))
con = duckdb.connect()

def t(name):
    return f"read_parquet('{root}/{name}/*/*.parquet', hive_partitioning = true)"

def q(sql):
    return con.sql(sql).fetchall()

# Supply per zone: the hourly table against credits_getSupply.
got = {r[0]: [int(x) for x in r[1:]] for r in q(f"""
    select zone, sum(minted_wh), sum(burned_wh), sum(retired_wh),
           sum(withdrawn_wh), sum(expired_wh)
    from {t('supply_hourly')} group by zone""")}
zones = {z["zone"]: z for z in supply["zones"]}
for zone, z in zones.items():
    want = [int(z[k]) for k in ("minted", "burned", "retired", "withdrawn", "expired")]
    have = got.get(zone, [0] * 5)
    assert have == want, f"zone {zone}: parquet {have} != credits_getSupply {want}"
assert set(got) <= set(zones), f"zones {set(got) - set(zones)} not in credits_getSupply"
assert sum(v[0] for v in got.values()) > 0, "nothing minted"

# Every burn's lineage sums to its amount ...
bad = q(f"""select burn_id, any_value(burn_wh), sum(amount_wh) from {t('burns')}
            group by burn_id having any_value(burn_wh) <> sum(amount_wh)""")
assert not bad, f"lineage does not sum to the burn: {bad[:5]}"
lineage = {(h, e): int(s) for h, e, s in q(
    f"select height, event_index, sum(amount_wh) from {t('burns')} group by all")}
# ... and to its `burned` event's parts (the API's JSON of the event).
events = q(f"select height, event_index, json from {t('events')} where kind = 'burned'")
assert len(events) == len(lineage), f"{len(events)} burned events, {len(lineage)} burns"
assert events, "no burns on the dev chain"
def amount(part):
    return int(part["amount"] if isinstance(part, dict) else part[1])
for h, e, j in events:
    parts = json.loads(j)["parts"]
    assert lineage[(h, e)] == sum(amount(p) for p in parts), (h, e, j)
# The lineage per vintage zone is the zone's burned supply.
for zone, s in q(f"select vintage_zone, sum(amount_wh) from {t('burns')} group by all"):
    assert int(s) == int(zones[zone]["burned"]), (zone, s)

# Partitions: `day` is the UTC day of each row's block time.
wrong = q(f"""select count(*) from {t('blocks')}
              where cast(day as varchar) <> strftime(time at time zone 'UTC', '%Y-%m-%d')""")
assert wrong[0][0] == 0, wrong
blocks = q(f"select count(*), max(height) from {t('blocks')}")[0]
assert blocks[1] == supply["height"], (blocks, supply["height"])

# The columns are typed, not all text.
f = q(f"select file from glob('{root}/blocks/*/*.parquet') limit 1")[0][0]
types = {n: (ty, str(lt)) for n, ty, lt in q(
    f"select name, type, logical_type from parquet_schema('{f}')")}
assert types["height"][0] == "INT64", types
assert "Timestamp" in types["time"][1] or "TIMESTAMP" in types["time"][1].upper(), types
assert types["hash"][0] == "BYTE_ARRAY", types
codec = q(f"select distinct compression from parquet_metadata('{f}')")
assert codec == [("SNAPPY",)], codec
print(f"ok: {blocks[0]} blocks, {len(events)} burns, zones {sorted(got)}")
"#;

#[test]
fn parquet_tables_of_a_dev_chain_agree_with_the_node() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dev = dev::Dev::start(&data, &["--speed", "600", "--block-time", "100ms"]);
    let start = Instant::now();
    let addr = loop {
        if let Some(a) = dev.rpc_addr() {
            break a;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no RPC address");
        std::thread::sleep(Duration::from_millis(100));
    };
    loop {
        let h = rpc(&addr, "system_health", serde_json::json!([]))["finalizedHeight"]
            .as_u64()
            .unwrap_or(0);
        if h >= 200 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(180), "too few blocks");
        std::thread::sleep(Duration::from_millis(250));
    }
    let chain_id = rpc(&addr, "system_chainId", serde_json::json!([]))
        .as_str()
        .unwrap()
        .to_string();

    // Audited over RPC (up to the finalised head when it connects), so that
    // the node can then answer for exactly the audited height.
    let out_dir = tmp.path().join("report");
    let out = watt_command()
        .args(["audit", "--source", &format!("ws://{addr}"), "--chain-id"])
        .arg(&chain_id)
        .arg("--out")
        .arg(&out_dir)
        .args(["--format", "parquet", "--quiet"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let height: u64 = text
        .split("to height ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|h| h.parse().ok())
        .unwrap_or_else(|| panic!("no height in {text}"));
    let supply = rpc(&addr, "credits_getSupply", serde_json::json!([height]));
    assert_eq!(supply["height"], height, "{supply}");
    dev.stop();

    // The report is still there beside the tables.
    assert!(out_dir.join("report.json").is_file());
    let parquet = out_dir.join("parquet");
    assert!(parquet.join("blocks").is_dir(), "{}", parquet.display());
    assert!(
        !std::fs::read_dir(&out_dir).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".audit-")),
        "the work directory is gone"
    );
    let supply_file = tmp.path().join("supply.json");
    std::fs::write(&supply_file, supply.to_string()).unwrap();
    let script = tmp.path().join("checks.py");
    std::fs::write(&script, CHECKS).unwrap();
    let py = Command::new("python3")
        .arg(&script)
        .arg(&parquet)
        .arg(&supply_file)
        .output()
        .expect("python3 runs (scripts/prereqs: ensure_duckdb)");
    let said =
        String::from_utf8_lossy(&py.stdout).to_string() + &String::from_utf8_lossy(&py.stderr);
    assert!(py.status.success(), "DuckDB checks failed:\n{said}");
    assert!(said.contains("ok:"), "{said}");
    eprintln!("{said}");
}
