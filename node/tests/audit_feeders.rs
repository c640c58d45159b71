//! The audit report's feeders (docs/audit.md §4): a chain built in-process
//! with one feeder whose hours close unexplained, unexplained, unexplained,
//! negative and unmetered, an alert opened, extended and cleared with a
//! reason full of markup, and overloads. The report's JSON and CSV carry
//! the exact balances and the alert, the page charts the feeder with its
//! alert hours and lists the alert with the reason as text; a FeederBalance
//! a forger changed fails the audit at its height (event root), and one
//! edited in the node's stored events is not believed.

#[path = "common/builder.rs"]
mod builder;
mod common;
#[path = "common/page.rs"]
mod page;

use builder::{certify, Builder, Built};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use watt_node::audit::{self, AuditError, AuditOptions};
use watt_node::chain::Chain;
use watt_node::mempool::{Config, Mempool};
use watt_node::storage::{tables, BlockReader, Store};
use watt_runtime::block::{Block, CommitCertificate};
use watt_runtime::crypto::{Keypair, PublicKey};
use watt_runtime::encoding::{decode, encode, BoundedVec};
use watt_runtime::events::{event_root, Event, EventRecord};
use watt_runtime::feeder::{Attachee, FeederId, FeederReading, NewFeeder};
use watt_runtime::testkit::{consensus_key, key, text, zone, TestChain, M1, S1, T0};
use watt_runtime::tx::{Body, Transaction};
use watt_runtime::types::{Height, Hour, Watts, Wh};
use watt_test_support::Chromium;

/// Readings up to 30 minutes old; the grace covers that plus the skew.
const MAX_AGE: u64 = 1800;
const GRACE: u64 = MAX_AGE + 30;
const FEEDER: &str = "RU-BU/F1";
/// The reason the regulator gives: markup, a comma and quotes.
const REASON: &str = "line <b>inspected</b>, tap \"removed\" & sealed";
/// The block that closes hour 1 (the alert opens there).
const HOUR1_CLOSED: u64 = 5;
const BLOCKS: u64 = 9;

/// The start of the n-th hour after genesis, unix seconds.
fn h(n: u64) -> u64 {
    T0 + n * 3600
}

fn hour(n: u64) -> u64 {
    h(n) / 3600
}

fn fid() -> FeederId {
    FeederId::new(FEEDER).unwrap()
}

impl Builder {
    /// The head meter's next reading, to `end_s`, `import` and `export`
    /// Wh above the last counters, relayed by the second regulator.
    fn head(&mut self, end_s: u64, import: u64, export: u64) -> Transaction {
        let f: watt_runtime::state::Feeder = self
            .tc
            .get(&watt_runtime::state::StateKey::Feeder(fid()))
            .unwrap();
        let r = FeederReading {
            feeder: fid(),
            sequence: f.head_sequence + 1,
            period_start: f.head_last_end,
            period_end: end_s,
            import: Wh(f.head_import.0 + import),
            export: Wh(f.head_export.0 + export),
            flags: 0,
        }
        .sign(&self.tc.chain_id, &key("head1"));
        self.tc.tx(
            &key("reg2"),
            Body::SubmitFeederReadings {
                readings: BoundedVec::new(vec![r]).unwrap(),
            },
        )
    }

    fn gen(&mut self, end_s: u64, delta: u64) -> Transaction {
        let r = self.tc.gen(M1, end_s, delta);
        self.tc.readings_tx(vec![r])
    }

    fn cons(&mut self, end_s: u64, delta: u64) -> Transaction {
        let r = self.tc.cons(S1, end_s, delta);
        self.tc.consumption_tx(vec![r])
    }
}

/// Hours 0 to 4 of feeder RU-BU/F1 (rated 9 kW, 30 per mille losses,
/// 500 Wh floor, alert after 2 hours), site 1 and meter 1 on it from hour 1:
///
/// | hour | import | export | gen | cons | allowance | unexplained | status |
/// |---|---|---|---|---|---|---|---|
/// | 0 | 10,000 | 0 | 0 | 0 | 300 | 9,700 | unexplained, overload |
/// | 1 | 10,000 | 1,000 | 2,000 | 4,000 | 360 | 6,640 | unexplained, overload, alert opened |
/// | 2 | 2,000 | 0 | 0 | 0 | 60 | 1,940 | unexplained, alert extended |
/// | 3 | 0 | 0 | 0 | 1,000 | 0 | -1,000 | negative; the regulator clears the alert |
/// | 4 | 500 (half the hour) | 0 | 0 | 0 | 15 | 485 | unmetered |
fn build() -> Built {
    let dir = tempfile::tempdir().unwrap();
    let mut tc = TestChain::builder()
        .with_params(|p| p.settlement_grace_s = GRACE)
        .with_policy(|p| p.reading_max_age_s = MAX_AGE)
        .build();
    let genesis = tc.genesis.clone();
    let head_key = tc.device("head1");
    let chain = Chain::new(
        Store::open(&dir.path().join("data"), &genesis).unwrap(),
        Mempool::new(Config::default()),
    )
    .unwrap();
    let keys: HashMap<PublicKey, Keypair> = (1..=4)
        .map(|i| (consensus_key(i).public(), consensus_key(i)))
        .collect();
    let mut b = Builder {
        chain,
        tc,
        keys,
        height: 0,
    };
    let register = b.tc.tx(
        &key("reg"),
        Body::RegisterFeeder {
            feeder: NewFeeder {
                id: fid(),
                zone: zone(),
                rated_capacity: Watts(9_000),
                loss_permille: 30,
                alert_floor: Wh(500),
                alert_hours: 2,
                mining_share_permille: 500,
                head_key,
                baseline_time: T0,
                baseline_import: Wh(0),
                baseline_export: Wh(0),
                declared_key: None,
            },
        },
    );
    b.block(T0 + 10, vec![register]);
    let attach: Vec<Transaction> = [Attachee::Site(S1), Attachee::Meter(M1)]
        .into_iter()
        .map(|device| {
            b.tc.tx(
                &key("reg"),
                Body::AttachToFeeder {
                    device,
                    feeder: fid(),
                    from_hour: Hour(hour(1)),
                },
            )
        })
        .collect();
    b.block(T0 + 20, attach);
    // Hour 0, read at the start of hour 1.
    let txs = vec![b.head(h(1), 10_000, 0), b.gen(h(1), 0), b.cons(h(1), 0)];
    b.block(h(1) + 5, txs);
    // Hour 1; hour 0 closes.
    let txs = vec![
        b.head(h(2), 10_000, 1_000),
        b.gen(h(2), 2_000),
        b.cons(h(2), 4_000),
    ];
    b.block(h(2) + 5, txs);
    // Hour 2; hour 1 closes (height 5): the alert opens.
    let txs = vec![b.head(h(3), 2_000, 0), b.cons(h(3), 0)];
    b.block(h(3) + 5, txs);
    // Hour 3; hour 2 closes: the alert grows.
    let txs = vec![b.head(h(4), 0, 0), b.cons(h(4), 1_000)];
    b.block(h(4) + 5, txs);
    // Half of hour 4.
    let txs = vec![b.head(h(4) + 1_800, 500, 0)];
    b.block(h(4) + 1_805, txs);
    // Hour 3 closes (negative); the regulator clears the alert.
    let clear = b.tc.tx(
        &key("reg"),
        Body::ClearFeederAlert {
            feeder: fid(),
            reason: text(REASON),
        },
    );
    b.block(h(5) + 5, vec![clear]);
    // Hour 4 closes, unmetered.
    b.block(h(6) + 5, vec![]);
    assert_eq!(b.height, BLOCKS);
    let set = b.chain.next_validators().unwrap();
    Built {
        dir,
        genesis,
        keys: (1..=4).map(consensus_key).collect(),
        set,
    }
}

fn opts(source: &Path, out: &Path) -> AuditOptions {
    common::audit_opts(source, out)
}

fn export(b: &Built) -> PathBuf {
    common::export_store(&b.data(), b.path("chain.wexp"), BLOCKS)
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// The hour rows the table above gives, as `feeder_hours.csv` has them.
fn expected_hours_csv() -> String {
    let rows = [
        (0, 4, "10000,0,0,0,0,300,9700,unexplained,true,"),
        (
            1,
            5,
            "10000,1000,2000,4000,0,360,6640,unexplained,true,opened",
        ),
        (2, 6, "2000,0,0,0,0,60,1940,unexplained,false,extended"),
        (3, 8, "0,0,0,1000,0,0,-1000,negative,false,"),
        (4, 9, "500,0,0,0,0,15,485,unmetered,false,"),
    ];
    let mut csv = "hour,feeder,height,import_wh,export_wh,generation_wh,consumption_wh,declared_wh,allowance_wh,unexplained_wh,status,overload,alert\n".to_string();
    for (n, height, rest) in rows {
        csv.push_str(&format!("{},{FEEDER},{height},{rest}\n", hour(n)));
    }
    csv
}

#[test]
fn the_report_carries_each_feeder_hour_and_alert_exactly() {
    let b = build();
    let r = b.path("r");
    audit::run(opts(&b.data(), &r)).unwrap();

    // CSV: every closed hour, the alert's three events.
    assert_eq!(read(&r, "feeder_hours.csv"), expected_hours_csv());
    let alerts = read(&r, "feeder_alerts.csv");
    let t = |height: u64| {
        let s = Store::open_existing(&b.data()).unwrap();
        s.header(Height(height)).unwrap().unwrap().timestamp_ms
    };
    let (t5, t6, t8) = (t(5), t(6), t(8));
    assert_eq!(
        alerts,
        format!(
            "height,time_ms,feeder,event,from_hour,through_hour,hours,unexplained_wh,reason\n\
             5,{t5},{FEEDER},opened,{h0},{h1},2,16340,\n\
             6,{t6},{FEEDER},extended,{h0},{h2},3,18280,\n\
             8,{t8},{FEEDER},cleared,{h0},{h2},3,18280,\"line <b>inspected</b>, tap \"\"removed\"\" & sealed\"\n",
            h0 = hour(0),
            h1 = hour(1),
            h2 = hour(2),
        )
    );
    let feeders = read(&r, "feeders.csv");
    let mut lines = feeders.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("feeder,zone,rated_capacity_w,"));
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "{FEEDER},RU-BU,9000,30,500,2,{},5,0,3,1,1,2,1,1,22500,1000,2000,5000,0,735,17765,0,0,,,,",
            hour(5)
        )
    );
    assert_eq!(lines.next(), None);

    // JSON: the feeder with its hours and alerts.
    let report: serde_json::Value = serde_json::from_str(&read(&r, "report.json")).unwrap();
    let feeders = report["feeders"].as_array().unwrap();
    assert_eq!(feeders.len(), 1);
    let f = &feeders[0];
    assert_eq!(f["feeder"], FEEDER);
    assert_eq!(f["zone"], "RU-BU");
    assert_eq!(f["ratedCapacityW"], 9_000);
    assert_eq!(f["openFrom"], hour(5));
    assert_eq!(f["hoursClosed"], 5);
    assert_eq!(f["unexplainedHours"], 3);
    assert_eq!(f["negativeHours"], 1);
    assert_eq!(f["unmeteredHours"], 1);
    assert_eq!(f["overloads"], 2);
    assert_eq!(f["unexplained"], "17765");
    assert_eq!(f["openAlert"], serde_json::Value::Null);
    let hours = f["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 5);
    assert_eq!(
        hours[1],
        serde_json::json!({
            "hour": hour(1), "height": HOUR1_CLOSED,
            "import": "10000", "export": "1000", "generation": "2000",
            "consumption": "4000", "declared": "0", "allowance": "360",
            "unexplained": "6640", "status": "unexplained",
            "overload": true, "alert": "opened"
        })
    );
    assert_eq!(hours[3]["unexplained"], "-1000");
    assert_eq!(hours[3]["status"], "negative");
    assert_eq!(hours[4]["status"], "unmetered");
    let statuses: Vec<&str> = hours
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "unexplained",
            "unexplained",
            "unexplained",
            "negative",
            "unmetered"
        ]
    );
    let alerts = f["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 3);
    assert_eq!(
        alerts[0],
        serde_json::json!({
            "height": 5, "timeMs": t5, "event": "opened",
            "fromHour": hour(0), "throughHour": hour(1),
            "hours": 2, "unexplained": "16340", "reason": null
        })
    );
    assert_eq!(alerts[1]["event"], "extended");
    assert_eq!(alerts[1]["throughHour"], hour(2));
    assert_eq!(alerts[2]["event"], "cleared");
    assert_eq!(alerts[2]["reason"], REASON);
    assert_eq!(alerts[2]["unexplained"], "18280");

    // The page: one feeder chart with its alert hours, the alert in the
    // table, chain text escaped.
    let html = read(&r, "report.html");
    assert_eq!(html.matches("class=\"chart feeder-chart\"").count(), 1);
    assert!(html.contains("data-feeder=\"RU-BU/F1\""));
    assert!(html.contains("class=\"alert-hours\""), "alert hours marked");
    assert!(
        html.contains("class=\"unmetered\""),
        "unmetered hours marked"
    );
    for series in [
        "import",
        "generation",
        "consumption",
        "declared",
        "unexplained",
    ] {
        assert!(
            html.contains(&format!("class=\"series-{series}\"")),
            "{series}"
        );
    }
    assert!(html.contains("<table class=\"feeder-alerts\">"));
    assert!(
        html.contains("line &lt;b&gt;inspected&lt;/b&gt;, tap &quot;removed&quot; &amp; sealed"),
        "the reason as text"
    );
    assert!(
        !html.contains("<b>inspected"),
        "no chain markup in the page"
    );

    // The same report from an export file, byte for byte.
    let r2 = b.path("r2");
    audit::run(opts(&export(&b), &r2)).unwrap();
    for name in [
        "report.json",
        "report.html",
        "feeders.csv",
        "feeder_hours.csv",
        "feeder_alerts.csv",
    ] {
        assert_eq!(read(&r, name), read(&r2, name), "{name}");
    }
    // No spool left beside the report.
    let leftovers: Vec<_> = std::fs::read_dir(&r)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    html_renders_in_chromium(&r.join("report.html"));
}

/// The honest events of a block, and the same with hour 1's consumption
/// lowered: what a forger would want the record to say.
fn forged_events(b: &Built) -> (Vec<EventRecord>, Vec<EventRecord>) {
    let store = Store::open_existing(&b.data()).unwrap();
    let honest = store.events(Height(HOUR1_CLOSED)).unwrap().unwrap();
    let mut forged = honest.clone();
    let balance = forged
        .iter_mut()
        .find_map(|r| match &mut r.event {
            Event::FeederBalance {
                hour: hr,
                consumption,
                ..
            } if *hr == Hour(hour(1)) => Some(consumption),
            _ => None,
        })
        .expect("hour 1's balance is in the block");
    assert_eq!(*balance, Wh(4_000));
    *balance = Wh(1_000);
    (honest, forged)
}

/// A forger holding every authority key re-signs block 5 with a header
/// committing to a FeederBalance with one figure changed: the replay gives
/// the honest events, and the audit fails at that height on the event root.
#[test]
fn a_changed_feeder_balance_fails_the_audit_at_its_height() {
    let b = build();
    let file = export(&b);
    let bytes = std::fs::read(&file).unwrap();
    let (honest, forged) = forged_events(&b);

    // The export's frames: header (52 bytes), then kind | len | payload | checksum.
    let mut frames: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut at = 52;
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 1..at + 5].try_into().unwrap()) as usize;
        frames.push((bytes[at], bytes[at + 5..at + 5 + len].to_vec()));
        at += 5 + len + 32;
    }
    let (mut block, _): (Block, CommitCertificate) =
        decode(&frames[HOUR1_CLOSED as usize].1).unwrap();
    assert_eq!(block.header.event_root, event_root(&honest));
    block.header.event_root = event_root(&forged);
    let cert = certify(
        &b.set,
        &b.keys,
        b.genesis.chain_id(),
        Height(HOUR1_CLOSED),
        block.hash(),
    );
    let mut payload = encode(&block);
    payload.extend_from_slice(&encode(&cert));
    frames[HOUR1_CLOSED as usize].1 = payload;
    let mut out = bytes[..52].to_vec();
    for (kind, payload) in &frames {
        out.push(*kind);
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(&watt_node::audit::export::checksum(*kind, payload));
    }
    let forged_file = b.path("forged.wexp");
    std::fs::write(&forged_file, out).unwrap();
    let r = b.path("forged.report");
    match audit::run(opts(&forged_file, &r)) {
        Err(AuditError::InvalidBlock { height, error }) => {
            assert_eq!(height, Height(HOUR1_CLOSED));
            assert_eq!(error.object(), "header event root");
            let why = error.to_string();
            assert!(why.contains("event root is"), "{why}");
            assert!(
                why.contains(&event_root(&honest).to_string()),
                "names the replayed root: {why}"
            );
        }
        other => panic!("expected an event-root failure, got {other:?}"),
    }
    assert!(
        !r.join("report.json").exists(),
        "a failed audit leaves no report"
    );
    assert!(!r.join("feeder_hours.csv").exists());
}

/// The node's stored events are not the report's source: a FeederBalance
/// edited in the data directory's events table changes nothing, the
/// report has the replayed figure.
#[test]
fn a_feeder_balance_edited_in_the_stored_events_is_not_believed() {
    let b = build();
    let (_, forged) = forged_events(&b);
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), b.data(), tables::ALL).unwrap();
    let cf = db
        .cf_handle(<tables::Events as tables::Table>::NAME)
        .unwrap();
    db.put_cf(cf, tables::height_key(HOUR1_CLOSED), encode(&forged))
        .unwrap();
    drop(db);
    let store = Store::open_existing(&b.data()).unwrap();
    assert_eq!(
        store.events(Height(HOUR1_CLOSED)).unwrap().unwrap(),
        forged,
        "the edit is in the store"
    );
    drop(store);
    let r = b.path("r");
    audit::run(opts(&b.data(), &r)).unwrap();
    assert_eq!(read(&r, "feeder_hours.csv"), expected_hours_csv());
}

/// Opens the page in headless Chromium (no script, no console output,
/// the counts as in the DOM): the feeder's chart and its alert row, the
/// reason as text.
fn html_renders_in_chromium(page: &Path) {
    let dom = page::open_report(&Chromium::new(), page);
    let html = &dom.html;
    let attr = |name: &str| dom.count(name);
    assert_eq!(attr("data-feeder-charts"), 1);
    assert_eq!(attr("data-feeder-alerts"), 1);
    assert!(html.contains("class=\"alert-hours\""));
    assert!(
        html.contains("line &lt;b&gt;inspected&lt;/b&gt;, tap"),
        "the reason stays text in the DOM"
    );
    assert!(!html.contains("<b>inspected"));
}
