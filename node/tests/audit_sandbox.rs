//! The audit's sandbox (docs/audit.md, "Permits and curtailment"): a
//! chain built in-process in a zone that requires permits, with four
//! permitted sites and one without a permit on one feeder, a quota
//! crossed, a reading above the permit's power, one out of season and one
//! without a permit; a curtailment honoured by two sites, breached by one
//! that drew too much and by one that stopped reporting; a zone order
//! cancelled before its start and one still pending. The audit reproduces
//! every breach and verdict, its report carries them (JSON, CSV, a
//! timeline in the page), and a changed event is caught twice: by the
//! event root of a forged block, and by the auditor's own sandbox model
//! when it is handed events that differ from what the transactions give.

#[path = "common/builder.rs"]
mod builder;
mod common;
#[path = "common/page.rs"]
mod page;

use builder::{certify, Builder, Built};
use std::collections::HashMap;
use std::path::Path;
use watt_node::audit::replay::Replayer;
use watt_node::audit::sandbox::SandboxCheck;
use watt_node::audit::source::{BlockSource, StoreSource};
use watt_node::audit::{self, AuditError};
use watt_node::chain::Chain;
use watt_node::mempool::{Config, Mempool};
use watt_node::storage::{BlockReader, Store};
use watt_runtime::block::{Block, CommitCertificate};
use watt_runtime::crypto::{Keypair, PublicKey};
use watt_runtime::encoding::{decode, encode, BoundedVec};
use watt_runtime::events::{event_root, Event, EventRecord};
use watt_runtime::feeder::{Attachee, FeederId, NewFeeder};
use watt_runtime::sandbox::{
    allowed_energy, CurtailTarget, CurtailmentAck, OrderId, PermitTerms, ALL_HOURS, ALL_MONTHS,
};
use watt_runtime::state::ViolationKind;
use watt_runtime::testkit::{account, consensus_key, key, serial, text, zone, TestChain, S1, T0};
use watt_runtime::tx::{Body, Transaction};
use watt_runtime::types::{Height, Hour, SiteId, Watts, Wh};
use watt_test_support::Chromium;

/// Readings up to 30 minutes old; the grace covers that plus the skew.
const MAX_AGE: u64 = 1800;
const GRACE: u64 = MAX_AGE + 30;
const FEEDER: &str = "RU-BU/F1";
const S2: SiteId = SiteId(2);
const S3: SiteId = SiteId(3);
const S4: SiteId = SiteId(4);
const S5: SiteId = SiteId(5);
/// Why the regulator revokes site 4's permit: markup, a comma, quotes.
const REASON: &str = "season <b>closed</b>, \"winter\" & more";
/// The block of the hour-1 readings (four permit breaches).
const BREACHES_AT: u64 = 5;
/// The block of the first order (and the cancelled zone order).
const ORDERED_AT: u64 = 6;
/// The block of the first order's verdicts (and site 4's permit revoked).
const VERDICTS_AT: u64 = 12;
const BLOCKS: u64 = 13;
/// The first order's window: [h(3) + 900, h(4) + 900).
const W_START: u64 = 900;
/// Its max mining power and the shares of the weights 4:3:3:2 (rounded
/// down).
const MAX_MINING: u64 = 5_000;
const SHARES: [(SiteId, u64); 4] = [(S1, 1_666), (S2, 1_250), (S3, 1_250), (S4, 833)];

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
    /// One reading of `site` to `end_s`, `delta` Wh, in a transaction of
    /// its own relayed by the owner.
    fn cons(&mut self, site: SiteId, end_s: u64, delta: u64) -> Transaction {
        let r = self.tc.cons(site, end_s, delta);
        self.tc.consumption_tx(vec![r])
    }

    /// Readings of `site` to each end in turn, in one transaction.
    fn cons_many(&mut self, site: SiteId, parts: &[(u64, u64)]) -> Transaction {
        let mut readings = Vec::new();
        let mut r = self.tc.cons_reading(site, parts[0].0, parts[0].1);
        for (i, (end, delta)) in parts.iter().enumerate() {
            if i > 0 {
                r = watt_runtime::tx::ConsumptionReading {
                    sequence: r.sequence + 1,
                    period_start: r.period_end,
                    period_end: *end,
                    counter: Wh(r.counter.0 + delta),
                    ..r
                };
            }
            readings.push(self.tc.sign_cons(r.clone()));
        }
        self.tc.consumption_tx(readings)
    }

    /// Every site's zero reading to `end_s`.
    fn zeros(&mut self, sites: &[SiteId], end_s: u64) -> Vec<Transaction> {
        sites.iter().map(|s| self.cons(*s, end_s, 0)).collect()
    }

    fn reg(&mut self, body: Body) -> Transaction {
        self.tc.tx(&key("reg"), body)
    }

    /// The grid operator's transaction.
    fn gridop(&mut self, body: Body) -> Transaction {
        self.tc.tx(&key("reg3"), body)
    }
}

fn terms(max_power: u64, months: u16, quota: u64) -> PermitTerms {
    PermitTerms {
        max_power: Watts(max_power),
        months,
        hours: ALL_HOURS,
        monthly_quota: Wh(quota),
        expires: h(48),
    }
}

/// The chain, hour by hour (site 1 is the genesis site, 5 kW; sites 2 to
/// 5 are registered with 4, 3, 3 and 3 kW; all on feeder RU-BU/F1 from
/// hour 1; permits required from hour 1):
///
/// | block | time | what |
/// |---|---|---|
/// | 1 | T0+10 | feeder, sites 2-5, zone requires permits, grid operator reg3 |
/// | 2 | T0+20 | sites 1-5 attached from hour 1 |
/// | 3 | T0+30 | permits: site 1 4 kW quota 3000 Wh; 2 and 3 3 kW; 4 2 kW, February to December; 5 none |
/// | 4 | h1+5 | hour 0: site 1 2000 Wh, the rest 0 |
/// | 5 | h2+5 | hour 1: site 1 1500 Wh (quota crossed; its later readings breach it too), site 2 850 Wh in 900 s (above 3 kW), site 3 1000, site 4 500 (out of season), site 5 500 (no permit) |
/// | 6 | h2+10 | order 1: feeder, [h3+900, h4+900), 5 kW; order 2: zone, [h6, h7), 3 kW |
/// | 7 | h2+20 | bob acknowledges order 1 for site 1 |
/// | 8 | h3+5 | hour 2: zeros |
/// | 9 | h3+1805 | site 3: 500 Wh to h3+1800, then nothing more |
/// | 10 | h4+5 | hour 3: site 1 1000, site 2 3000, sites 4 and 5 0 |
/// | 11 | h4+1805 | to h4+1800: site 1 600, site 2 1000, site 4 0; order 2 cancelled |
/// | 12 | h4+2800 | verdicts of order 1 (due after h4+900 plus the grace); site 4's permit revoked |
/// | 13 | h4+2900 | order 3: feeder, [h6, h6+1800), 2 kW, left pending |
fn build() -> Built {
    let dir = tempfile::tempdir().unwrap();
    let mut tc = TestChain::builder()
        .with_params(|p| p.settlement_grace_s = GRACE)
        .with_policy(|p| p.reading_max_age_s = MAX_AGE)
        .build();
    let genesis = tc.genesis.clone();
    let head_key = tc.device("head1");
    for name in ["dave", "erin", "frank"] {
        tc.register(name);
    }
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
    let all = [S1, S2, S3, S4, S5];

    let mut txs = vec![b.reg(Body::RegisterFeeder {
        feeder: NewFeeder {
            id: fid(),
            zone: zone(),
            rated_capacity: Watts(100_000),
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
    })];
    for (owner, device, draw) in [
        ("carol", "site2", 4_000),
        ("dave", "site3", 3_000),
        ("erin", "site4", 3_000),
        ("frank", "site5", 3_000),
    ] {
        let device_key = b.tc.device(device);
        txs.push(b.reg(Body::RegisterSite {
            serial: serial(&format!("SN-{device}")),
            device_key,
            owner: account(owner),
            zone: zone(),
            max_draw: Watts(draw),
            baseline_time: T0,
            baseline_counter: Wh(0),
        }));
    }
    txs.push(b.reg(Body::SetZoneSandbox {
        zone: zone(),
        permits_required: true,
        grid_operators: BoundedVec::new(vec![account("reg3")]).unwrap(),
    }));
    b.block(T0 + 10, txs);

    let txs = all
        .iter()
        .map(|s| {
            b.reg(Body::AttachToFeeder {
                device: Attachee::Site(*s),
                feeder: fid(),
                from_hour: Hour(hour(1)),
            })
        })
        .collect();
    b.block(T0 + 20, txs);

    let txs = [
        (S1, terms(4_000, ALL_MONTHS, 3_000)),
        (S2, terms(3_000, ALL_MONTHS, 100_000)),
        (S3, terms(3_000, ALL_MONTHS, 100_000)),
        (S4, terms(2_000, ALL_MONTHS & !1, 100_000)),
    ]
    .into_iter()
    .map(|(site, terms)| b.reg(Body::IssuePermit { site, terms }))
    .collect();
    b.block(T0 + 30, txs);

    // Hour 0.
    let mut txs = vec![b.cons(S1, h(1), 2_000)];
    txs.extend(b.zeros(&[S2, S3, S4, S5], h(1)));
    b.block(h(1) + 5, txs);

    // Hour 1: the four permit breaches.
    let txs = vec![
        b.cons(S1, h(2), 1_500),
        b.cons_many(S2, &[(h(1) + 900, 850), (h(2), 0)]),
        b.cons(S3, h(2), 1_000),
        b.cons(S4, h(2), 500),
        b.cons(S5, h(2), 500),
    ];
    b.block(h(2) + 5, txs);
    assert_eq!(b.height, BREACHES_AT);

    let txs = vec![
        b.gridop(Body::Curtail {
            target: CurtailTarget::Feeder(fid()),
            start: h(3) + W_START,
            end: h(4) + W_START,
            max_mining: Watts(MAX_MINING),
        }),
        b.gridop(Body::Curtail {
            target: CurtailTarget::Zone(zone()),
            start: h(6),
            end: h(7),
            max_mining: Watts(3_000),
        }),
    ];
    b.block(h(2) + 10, txs);
    assert_eq!(b.height, ORDERED_AT);

    let ack = CurtailmentAck {
        order: OrderId(1),
        site: S1,
        seen_at: h(2) + 15,
    }
    .sign(&b.tc.chain_id, &key("bob"));
    let tx = b.tc.tx(&key("bob"), Body::AckCurtailment { ack });
    b.block(h(2) + 20, vec![tx]);

    // Hour 2, then site 3's last reading.
    let txs = b.zeros(&all, h(3));
    b.block(h(3) + 5, txs);
    let tx = b.cons(S3, h(3) + 1_800, 500);
    b.block(h(3) + 1_805, vec![tx]);

    // Hour 3 and half of hour 4: the window.
    let mut txs = vec![b.cons(S1, h(4), 1_000), b.cons(S2, h(4), 3_000)];
    txs.extend(b.zeros(&[S4, S5], h(4)));
    b.block(h(4) + 5, txs);
    let mut txs = vec![
        b.cons(S1, h(4) + 1_800, 600),
        b.cons(S2, h(4) + 1_800, 1_000),
        b.cons(S4, h(4) + 1_800, 0),
    ];
    txs.push(b.gridop(Body::CancelCurtailment { order: OrderId(2) }));
    b.block(h(4) + 1_805, txs);

    // The verdicts (due after h4 + 900 + GRACE), then an order left
    // pending, which no longer affects site 4.
    let tx = b.reg(Body::RevokePermit {
        site: S4,
        reason: text(REASON),
    });
    b.block(h(4) + 2_800, vec![tx]);
    assert_eq!(b.height, VERDICTS_AT);
    let tx = b.gridop(Body::Curtail {
        target: CurtailTarget::Feeder(fid()),
        start: h(6),
        end: h(6) + 1_800,
        max_mining: Watts(2_000),
    });
    b.block(h(4) + 2_900, vec![tx]);
    assert_eq!(b.height, BLOCKS);

    let set = b.chain.next_validators().unwrap();
    Built {
        dir,
        genesis,
        keys: (1..=4).map(consensus_key).collect(),
        set,
    }
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// A CSV file's rows after the header (the mempool may order one
/// block's transactions otherwise than they were given).
fn rows_of(dir: &Path, name: &str) -> Vec<String> {
    read(dir, name).lines().skip(1).map(String::from).collect()
}

fn header(dir: &Path, name: &str) -> String {
    read(dir, name).lines().next().unwrap().to_string()
}

/// What the first order allows each site over its hour: share x 3600 s x
/// 110 % (the zone's 10 % tolerance).
fn allowed(share: u64) -> u64 {
    allowed_energy(Watts(share), 3600, 10).0
}

#[test]
fn the_audit_reproduces_every_permit_breach_and_verdict_and_reports_them() {
    let b = build();
    let r = b.path("r");
    let summary = audit::run(common::audit_opts(&b.data(), &r)).unwrap();
    assert_eq!(summary.counts.curtailment_orders, 3);
    assert_eq!(summary.counts.curtailment_verdicts, 4);
    assert_eq!(summary.counts.permit_shares, 4);
    // Readings judged, block by block: sites 1-4 hold permits from block
    // 3; site 5's count from hour 1, when permits are required.
    assert_eq!(summary.counts.permit_checks, 4 + 6 + 5 + 1 + 4 + 3);

    // breaches.csv: four permit breaches in block 5 and two more of site
    // 1's quota (every reading beyond it breaches), two curtailment
    // breaches with the verdicts.
    assert_eq!(
        header(&r, "breaches.csv"),
        "height,time_ms,site,kind,reason,sequence,order,hour,month,detail"
    );
    let breaches = rows_of(&r, "breaches.csv");
    let t = |height: u64, s: u64| (height, s * 1000);
    let (t5, t10, t11, t12) = (
        t(BREACHES_AT, h(2) + 5),
        t(10, h(4) + 5),
        t(11, h(4) + 1_805),
        t(VERDICTS_AT, h(4) + 2_800),
    );
    let permit = |(height, ms): (u64, u64), site: u64, reason: &str, seq: u64, hr: u64| {
        format!(
            "{height},{ms},{site},permitBreach,{reason},{seq},,{},2026-01,",
            hour(hr)
        )
    };
    let curtail = |(height, ms): (u64, u64), site: u64, reason: &str| {
        format!("{height},{ms},{site},curtailmentBreach,{reason},,1,,,")
    };
    let expected_prefixes = [
        permit(t5, 1, "aboveQuota", 2, 1),
        permit(t5, 2, "abovePower", 2, 1),
        permit(t5, 4, "outOfSeason", 2, 1),
        permit(t5, 5, "noPermit", 2, 1),
        permit(t10, 1, "aboveQuota", 4, 3),
        permit(t11, 1, "aboveQuota", 5, 4),
        curtail(t12, 2, "aboveShare"),
        curtail(t12, 3, "notReported"),
    ];
    assert_eq!(breaches.len(), expected_prefixes.len(), "{breaches:#?}");
    for prefix in &expected_prefixes {
        let n = breaches
            .iter()
            .filter(|r| r.starts_with(prefix.as_str()))
            .count();
        assert_eq!(n, 1, "{prefix} in {breaches:#?}");
    }

    // curtailments.csv: order 1 judged, order 2 cancelled before its
    // start, order 3 pending.
    assert_eq!(
        header(&r, "curtailments.csv"),
        "order,target_kind,target,zone,issuer,height,start,end,start_utc,end_utc,max_mining_w,cancelled_at,judged_start,judged_end,state,verdict_height,site,share_w,used_wh,allowed_wh,acked_at,acked_at_utc,reported,verdict"
    );
    let curtailments = read(&r, "curtailments.csv");
    let rows: Vec<Vec<&str>> = curtailments
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 4 + 4 + 3, "{curtailments}");
    let (ws, we) = (h(3) + W_START, h(4) + W_START);
    let gridop = account("reg3").to_string();
    let used = [1_050, 2_750, 250, 0];
    let verdicts = ["honoured", "breach", "breach", "honoured"];
    let reported = ["true", "true", "false", "true"];
    for (i, ((site, share), row)) in SHARES.iter().zip(&rows).enumerate() {
        let acked = if *site == S1 {
            (h(2) + 15).to_string()
        } else {
            String::new()
        };
        let expected = [
            "1".to_string(),
            "feeder".into(),
            FEEDER.into(),
            "RU-BU".into(),
            gridop.clone(),
            ORDERED_AT.to_string(),
            ws.to_string(),
            we.to_string(),
            "2026-01-01T03:15:00Z".into(),
            "2026-01-01T04:15:00Z".into(),
            MAX_MINING.to_string(),
            String::new(),
            ws.to_string(),
            we.to_string(),
            "judged".into(),
            VERDICTS_AT.to_string(),
            site.to_string(),
            share.to_string(),
            used[i].to_string(),
            allowed(*share).to_string(),
            acked.clone(),
            if acked.is_empty() {
                String::new()
            } else {
                "2026-01-01T02:00:15Z".into()
            },
            reported[i].into(),
            verdicts[i].into(),
        ];
        assert_eq!(row, &expected, "order 1, site {site}");
    }
    for row in &rows[4..8] {
        assert_eq!(&row[..3], ["2", "zone", "RU-BU"]);
        assert_eq!(row[11], (h(4) + 1_805).to_string(), "cancelled at");
        assert_eq!((row[12], row[13], row[14]), ("", "", "cancelled"));
        assert_eq!((row[19], row[23]), ("", "none"));
    }
    let zone_shares: Vec<&str> = rows[4..8].iter().map(|r| r[17]).collect();
    assert_eq!(zone_shares, ["1000", "750", "750", "500"]);
    // Order 3 after site 4's permit was revoked: sites 1 to 3, 4:3:3.
    let pending: Vec<(&str, &str, &str)> =
        rows[8..].iter().map(|r| (r[16], r[17], r[23])).collect();
    assert_eq!(
        pending,
        [
            ("1", "800", "pending"),
            ("2", "600", "pending"),
            ("3", "600", "pending")
        ]
    );

    // Permits and usage per UTC month.
    assert_eq!(
        header(&r, "permits.csv"),
        "site,zone,feeder,status,max_power_w,months_mask,months,hours_mask,hours_utc,monthly_quota_wh,expires,expires_utc,issued_height,revoked_height,revoked_reason"
    );
    let permits = read(&r, "permits.csv");
    let lines: Vec<&str> = permits.lines().skip(1).collect();
    assert_eq!(lines.len(), 5, "{permits}");
    assert_eq!(
        lines[0],
        format!(
            "1,RU-BU,{FEEDER},live,4000,4095,all,16777215,all,3000,{},2026-01-03T00:00:00Z,3,,",
            h(48)
        )
    );
    assert_eq!(
        lines[3],
        format!(
            "4,RU-BU,{FEEDER},revoked,2000,4094,Feb-Dec,16777215,all,100000,{},2026-01-03T00:00:00Z,3,12,\"season <b>closed</b>, \"\"winter\"\" & more\"",
            h(48)
        )
    );
    assert_eq!(lines[4], format!("5,RU-BU,{FEEDER},none,,,,,,,,,,,"));
    assert_eq!(
        read(&r, "permit_usage.csv"),
        "site,month,used_wh,quota_wh,over_quota,readings,breaches\n\
         1,2026-01,5100,3000,true,5,3\n\
         2,2026-01,4850,100000,false,6,1\n\
         3,2026-01,1500,100000,false,4,0\n\
         4,2026-01,500,100000,false,5,1\n\
         5,2026-01,500,,false,3,1\n"
    );

    // report.json: the same, grouped.
    let report: serde_json::Value = serde_json::from_str(&read(&r, "report.json")).unwrap();
    assert_eq!(report["verified"]["curtailmentVerdicts"], 4);
    let p1 = &report["permits"][0];
    assert_eq!(p1["site"], 1);
    assert_eq!(p1["status"], "live");
    assert_eq!(p1["terms"]["maxPowerW"], 4_000);
    assert_eq!(p1["terms"]["monthlyQuota"], "3000");
    assert_eq!(
        p1["usage"],
        serde_json::json!([{
            "month": "2026-01", "used": "5100", "quota": "3000",
            "overQuota": true, "readings": 5, "breaches": 3
        }])
    );
    assert_eq!(report["permits"][3]["revokedReason"], REASON);
    let orders = report["curtailments"].as_array().unwrap();
    assert_eq!(orders.len(), 3);
    let o1 = &orders[0];
    assert_eq!(o1["target"], serde_json::json!({"feeder": FEEDER}));
    assert_eq!(o1["state"], "judged");
    assert_eq!(o1["verdictHeight"], VERDICTS_AT);
    assert_eq!(
        o1["sites"][1],
        serde_json::json!({
            "site": 2, "shareW": 1250, "used": "2750",
            "allowed": allowed(1_250).to_string(), "ackedAt": null,
            "ackedAtUtc": null, "reported": true, "verdict": "breach"
        })
    );
    assert_eq!(o1["sites"][0]["ackedAt"], h(2) + 15);
    assert_eq!(orders[1]["state"], "cancelled");
    assert_eq!(orders[1]["target"], serde_json::json!({"zone": "RU-BU"}));
    assert_eq!(orders[2]["state"], "pending");
    let breaches = report["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 8);
    let not_reported = breaches
        .iter()
        .find(|b| b["reason"] == "notReported")
        .unwrap();
    assert_eq!(not_reported["site"], 3);
    assert_eq!(not_reported["order"], 1);
    assert_eq!(not_reported["kind"], "curtailmentBreach");

    // The page: one timeline bar per order and site, the verdicts
    // coloured, chain text as text.
    let html = read(&r, "report.html");
    assert_eq!(
        html.matches("class=\"chart curtailment-timeline\"").count(),
        1
    );
    assert_eq!(html.matches("class=\"curtailment-bar\"").count(), 11);
    assert_eq!(html.matches("data-verdict=\"honoured\"").count(), 2);
    assert_eq!(html.matches("data-verdict=\"breach\"").count(), 2);
    assert_eq!(html.matches("class=\"curtailment-ack\"").count(), 1);
    assert!(html.contains("<table class=\"sandbox permits\">"));
    assert!(html.contains("<table class=\"sandbox sandbox-breaches\">"));
    assert!(html.contains("season &lt;b&gt;closed&lt;/b&gt;, &quot;winter&quot; &amp; more"));
    assert!(!html.contains("<b>closed"), "no chain markup in the page");

    // The same report from an export file, byte for byte.
    let r2 = b.path("r2");
    let file = common::export_store(&b.data(), b.path("chain.wexp"), BLOCKS);
    audit::run(common::audit_opts(&file, &r2)).unwrap();
    for name in [
        "report.json",
        "report.html",
        "breaches.csv",
        "permits.csv",
        "permit_usage.csv",
        "curtailments.csv",
    ] {
        assert_eq!(read(&r, name), read(&r2, name), "{name}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&r)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Headless Chromium: the timeline renders one bar per order and site,
    // four of them judged, and the breaches table.
    let dom = page::open_report(&Chromium::new(), &r.join("report.html"));
    assert_eq!(dom.count("data-curtailment-bars"), 11);
    assert_eq!(dom.count("data-curtailment-judged"), 4);
    assert_eq!(dom.count("data-sandbox-breaches"), 8);
    assert!(dom.html.contains("season &lt;b&gt;closed&lt;/b&gt;"));
}

/// Replays the chain with the auditor's replayer and hands a second,
/// separate sandbox model the replayed events, changed by `edit` at
/// `height`: the model's verdict on the changed chain.
fn model_on_edited_events(
    b: &Built,
    height: u64,
    edit: impl Fn(&mut Vec<EventRecord>),
) -> Result<(), AuditError> {
    let mut src = StoreSource::open(&b.data()).unwrap();
    let mut replayer = Replayer::new(&b.genesis, None).unwrap();
    let mut model = SandboxCheck::new(replayer.state()).unwrap();
    while let Some((block, cert)) = src.next_block().unwrap() {
        let replayed = replayer.replay(block, &cert, None).unwrap();
        let mut events = replayed.events.clone();
        if replayed.block.header.height == Height(height) {
            edit(&mut events);
        }
        model.check_block(&replayed.block, &events, replayer.state())?;
    }
    Ok(())
}

fn discrepancy(result: Result<(), AuditError>) -> (Height, String, String) {
    match result {
        Err(AuditError::Discrepancy {
            height,
            object,
            reason,
        }) => (height, object, reason),
        other => panic!("expected a discrepancy, got {other:?}"),
    }
}

/// The sandbox model does not take the chain's events on trust: a
/// verdict, a share or a permit breach that differs from what the
/// transactions give is a discrepancy naming the order, site or reading.
#[test]
fn the_sandbox_model_catches_events_that_the_transactions_do_not_give() {
    let b = build();
    // The honest events pass.
    model_on_edited_events(&b, 0, |_| {}).unwrap();

    // Site 2's verdict made honoured with less use.
    let (height, object, reason) = discrepancy(model_on_edited_events(&b, VERDICTS_AT, |ev| {
        for r in ev.iter_mut() {
            if let Event::CurtailmentVerdict {
                site,
                used,
                honoured,
                ..
            } = &mut r.event
            {
                if *site == S2 {
                    assert_eq!(*used, Wh(2_750));
                    *used = Wh(1_000);
                    *honoured = true;
                }
            }
        }
    }));
    assert_eq!(height, Height(VERDICTS_AT));
    assert_eq!(object, "curtailment order 1, site 2");
    assert!(
        reason.contains("used 1000 Wh, the audit recomputes 2750 Wh")
            && reason.contains("honoured true, the audit's false"),
        "{reason}"
    );

    // Site 3's verdict and breach left out.
    let (height, object, reason) = discrepancy(model_on_edited_events(&b, VERDICTS_AT, |ev| {
        ev.retain(|r| {
            !matches!(
                r.event,
                Event::CurtailmentVerdict { site: S3, .. }
                    | Event::Violation {
                        site: S3,
                        violation: ViolationKind::CurtailmentBreach,
                        ..
                    }
            )
        })
    }));
    assert_eq!(height, Height(VERDICTS_AT));
    assert_eq!(object, "curtailment order 1, site 4");
    assert!(reason.contains("expects order 1, site 3 next"), "{reason}");

    // Shares in the order's event: more than the order's power in all, or
    // as much but weighed otherwise than the permits say.
    let edit_shares = |new: [u64; 4]| {
        move |ev: &mut Vec<EventRecord>| {
            for r in ev.iter_mut() {
                if let Event::CurtailmentOrdered { order, shares, .. } = &mut r.event {
                    if *order == OrderId(1) {
                        for (s, w) in shares.iter_mut().zip(new) {
                            s.1 = Watts(w);
                        }
                    }
                }
            }
        }
    };
    let (height, object, reason) = discrepancy(model_on_edited_events(
        &b,
        ORDERED_AT,
        edit_shares([2_000, 1_250, 1_250, 833]),
    ));
    assert_eq!(
        (height, object.as_str()),
        (Height(ORDERED_AT), "curtailment order 1")
    );
    assert!(
        reason.contains("add up to 5333 W, above the order's 5000 W"),
        "{reason}"
    );
    let (height, object, reason) = discrepancy(model_on_edited_events(
        &b,
        ORDERED_AT,
        edit_shares([1_250, 1_666, 1_250, 833]),
    ));
    assert_eq!(
        (height, object.as_str()),
        (Height(ORDERED_AT), "curtailment order 1")
    );
    assert!(
        reason.contains("the chain's shares are [1: 1250 W, 2: 1666 W, 3: 1250 W, 4: 833 W]")
            && reason.contains("the audit derives [1: 1666 W, 2: 1250 W, 3: 1250 W, 4: 833 W] from the weights [1: 4000 W, 2: 3000 W, 3: 3000 W, 4: 2000 W]"),
        "{reason}"
    );

    // Site 4's out-of-season breach left out.
    let (height, object, reason) = discrepancy(model_on_edited_events(&b, BREACHES_AT, |ev| {
        ev.retain(|r| {
            !matches!(
                r.event,
                Event::Violation {
                    site: S4,
                    violation: ViolationKind::PermitBreach,
                    ..
                }
            )
        })
    }));
    assert_eq!(height, Height(BREACHES_AT));
    assert_eq!(object, "site 4 reading 2");
    assert!(
        reason.contains("the chain records permit breaches [], the audit finds [outOfSeason]"),
        "{reason}"
    );

    // A breach recorded for site 3, whose reading was within its permit.
    let (height, object, reason) = discrepancy(model_on_edited_events(&b, BREACHES_AT, |ev| {
        let at = ev
            .iter()
            .position(|r| matches!(r.event, Event::Consumed { site: S3, .. }))
            .unwrap();
        let tx_index = ev[at].tx_index;
        ev.insert(
            at,
            EventRecord {
                tx_index,
                event: Event::Violation {
                    site: S3,
                    violation: ViolationKind::PermitBreach,
                    sequence: Some(2),
                    detail: "outOfSeason: 1000 Wh in hour 1 outside the permit".into(),
                },
            },
        );
    }));
    assert_eq!(height, Height(BREACHES_AT));
    assert_eq!(object, "site 3 reading 2");
    assert!(
        reason.contains("the chain records permit breaches [outOfSeason], the audit finds []"),
        "{reason}"
    );
}

/// A forger holding every authority key re-signs the verdicts' block with
/// a header committing to site 2's verdict turned honoured: the replay
/// gives the honest events and the audit fails at that height on the
/// event root, leaving no report.
#[test]
fn a_forged_verdict_fails_the_audit_at_its_height() {
    let b = build();
    let file = common::export_store(&b.data(), b.path("chain.wexp"), BLOCKS);
    let bytes = std::fs::read(&file).unwrap();
    let store = Store::open_existing(&b.data()).unwrap();
    let honest = store.events(Height(VERDICTS_AT)).unwrap().unwrap();
    drop(store);
    let mut forged = honest.clone();
    for r in forged.iter_mut() {
        if let Event::CurtailmentVerdict { site, honoured, .. } = &mut r.event {
            if *site == S2 {
                *honoured = true;
            }
        }
    }
    assert_ne!(forged, honest);

    // The export's frames: header (52 bytes), then kind | len | payload | checksum.
    let mut frames: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut at = 52;
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 1..at + 5].try_into().unwrap()) as usize;
        frames.push((bytes[at], bytes[at + 5..at + 5 + len].to_vec()));
        at += 5 + len + 32;
    }
    let (mut block, _): (Block, CommitCertificate) =
        decode(&frames[VERDICTS_AT as usize].1).unwrap();
    assert_eq!(block.header.event_root, event_root(&honest));
    block.header.event_root = event_root(&forged);
    let cert = certify(
        &b.set,
        &b.keys,
        b.genesis.chain_id(),
        Height(VERDICTS_AT),
        block.hash(),
    );
    let mut payload = encode(&block);
    payload.extend_from_slice(&encode(&cert));
    frames[VERDICTS_AT as usize].1 = payload;
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
    match audit::run(common::audit_opts(&forged_file, &r)) {
        Err(AuditError::InvalidBlock { height, error }) => {
            assert_eq!(height, Height(VERDICTS_AT));
            assert_eq!(error.object(), "header event root");
        }
        other => panic!("expected an event-root failure, got {other:?}"),
    }
    assert!(
        !r.join("report.json").exists(),
        "a failed audit leaves no report"
    );
    assert!(!r.join("curtailments.csv").exists());
}

/// Chain text is text in `report.html`: a retirement whose purpose and
/// beneficiary are markup and a site whose serial is are escaped in the
/// page (data in the CSV and JSON), and in headless Chromium, under the
/// page's Content-Security-Policy, no element comes of them, no script
/// runs, nothing is logged, and the purpose reads as text. The summary
/// says what was verified, over which UTC dates, and names the sites.
#[test]
fn chain_text_in_the_report_is_text_and_no_script_runs() {
    const PURPOSE: &str = "<img src=x onerror=alert(1)>";
    const BENEFICIARY: &str = "</script><script>alert(1)</script>";
    const SERIAL: &str = "RIDGE-MINE<b onmouseover=alert(1)>";
    let dir = tempfile::tempdir().unwrap();
    let tc = TestChain::builder().build();
    let genesis = tc.genesis.clone();
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
    let device_key = b.tc.device("ridge");
    let site = b.reg(Body::RegisterSite {
        serial: serial(SERIAL),
        device_key,
        owner: account("carol"),
        zone: zone(),
        max_draw: Watts(4_000),
        baseline_time: T0,
        baseline_counter: Wh(0),
    });
    b.block(T0 + 30, vec![site]);
    for k in 1..=4u64 {
        let t_s = T0 + 60 * k;
        let mut txs = vec![
            b.tc.readings_tx(vec![b.tc.gen(watt_runtime::types::MeterId(1), t_s, 100)]),
            b.tc.consumption_tx(vec![b.tc.cons(S1, t_s, 50)]),
        ];
        if k == 3 {
            txs.push(b.tc.tx(
                &key("alice"),
                Body::Retire {
                    amount: Wh(40),
                    beneficiary: text(BENEFICIARY),
                    purpose: text(PURPOSE),
                    vintages: None,
                },
            ));
        }
        b.block(t_s + 5, txs);
    }
    drop(b);
    let r = dir.path().join("r");
    audit::run(common::audit_opts(&dir.path().join("data"), &r)).unwrap();

    // The data keep the text as it is.
    let report: serde_json::Value = serde_json::from_str(&read(&r, "report.json")).unwrap();
    assert_eq!(report["retirements"][0]["purpose"], PURPOSE);
    assert_eq!(report["retirements"][0]["beneficiary"], BENEFICIARY);
    assert!(read(&r, "retirements.csv").contains(PURPOSE));
    assert!(read(&r, "sites.csv").contains(SERIAL));

    // The page escapes it.
    let html = read(&r, "report.html");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("RIDGE-MINE&lt;b onmouseover=alert(1)&gt; (site 2)"));
    for raw in [PURPOSE, BENEFICIARY, SERIAL, "<script", "<img", "<b "] {
        assert!(!html.contains(raw), "{raw} in the page");
    }
    // The summary: the verdict, the period in UTC dates, units, names.
    assert!(html.contains("Verified against the genesis the source carries"));
    let day = {
        let (y, m, d) = watt_runtime::types::civil_from_days((T0 / 86_400) as i64);
        format!("{y:04}-{m:02}-{d:02}")
    };
    assert!(
        html.contains(&format!("<strong>Period:</strong> {day} (UTC)")),
        "the period"
    );
    assert!(html.contains("SN-site1 (site 1)"));
    assert!(html.contains("<th>unbacked</th>"));
    assert!(html.contains(" Wh</td>"), "energy with its unit");
    assert!(!html.contains(">hour "), "no hour indexes on the axes");

    // Chromium: nothing runs, nothing is logged, the purpose is text.
    let dom = page::open_report(&Chromium::new(), &r.join("report.html"));
    assert!(dom
        .html
        .contains("<td class=\"purpose\">&lt;img src=x onerror=alert(1)&gt;</td>"));
    assert!(!dom.html.contains("<b onmouseover"));
}
