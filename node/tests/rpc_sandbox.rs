//! The sandbox over JSON-RPC against a real node: a regulator names a grid
//! operator, requires permits and issues one; the grid operator curtails
//! the permitted site's feeder. `sites_canRun` (polled at every height,
//! and pushed by its subscription in the block that changes it) says
//! `active` until the window with `until` at its start, `curtailed` to the
//! share during it, and `active` again after the verdict; a site without a
//! permit says `noPermit`. `zones_getSandbox`, `permits_*` and
//! `grid_getCurtailment(s)` read it back, and bad parameters get errors
//! that name the field.

use jsonrpsee::core::client::{ClientT, Error as ClientError, Subscription};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClient;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use watt_genesis::dev_keypair;
use watt_node::rpc::testing::{TestNode, GENESIS_MS};
use watt_rpc_client::api::*;
use watt_rpc_client::error as codes;
use watt_rpc_client::jsonrpsee;
use watt_rpc_client::types::*;
use watt_rpc_client::view::{self, CurtailmentState, SiteStatus};
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::{encode, BoundedVec};
use watt_runtime::feeder::{Attachee, FeederId, NewFeeder};
use watt_runtime::sandbox::{CurtailTarget, CurtailmentAck, OrderId, PermitTerms};
use watt_runtime::sandbox::{ALL_HOURS, ALL_MONTHS};
use watt_runtime::tx::{Body, ConsumptionReading, Transaction, UnsignedTx};
use watt_runtime::types::{AccountId, Height, Hour, SiteId, Watts, Wh, ZoneId};

const T0: u64 = GENESIS_MS / 1000;
/// The curtailment window: minutes 30 to 45 of hour 1.
const START: u64 = T0 + 5_400;
const END: u64 = T0 + 6_300;
/// The upcoming zone order's window, which stays pending.
const LATER: u64 = T0 + 20_000;
/// 2027-01-01T00:00Z: the permit's expiry.
const EXPIRES: u64 = 1_798_761_600;
const NORTH: SiteId = SiteId(1);
const RIDGE: SiteId = SiteId(2);
/// NORTH draws this much inside the window, nothing outside it.
const DRAW_W: u64 = 20_000;
const SHARE_W: u64 = 30_000;

fn code(e: &ClientError) -> i32 {
    match e {
        ClientError::Call(o) => o.code(),
        other => panic!("not a call error: {other}"),
    }
}

/// The error's `data`, whatever its form (a reason object or a string).
fn data(e: &ClientError) -> String {
    match e {
        ClientError::Call(o) => o.data().map(|d| d.get().to_string()).unwrap_or_default(),
        other => panic!("not a call error: {other}"),
    }
}

fn acct(name: &str) -> AccountId {
    AccountId(dev_keypair(name).public())
}

fn sign(chain_id: Hash, key: &Keypair, nonce: u64, body: Body) -> Transaction {
    UnsignedTx {
        chain_id,
        signer: AccountId(key.public()),
        nonce,
        body,
    }
    .sign(key)
}

/// Submits and waits until the transaction is final; panics if refused.
async fn send(ws: &WsClient, tx: Transaction) -> TxLocation {
    let name = tx.unsigned.body.name();
    let mut sub: Subscription<TxStatus> = TxApiClient::submit_and_watch(ws, Bytes(encode(&tx)))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    loop {
        let s = tokio::time::timeout(Duration::from_secs(30), sub.next())
            .await
            .unwrap_or_else(|_| panic!("{name} final within 30 s"))
            .expect("watch open")
            .expect("status decodes");
        match s {
            TxStatus::Finalized(loc) => return loc,
            TxStatus::Invalid { reason, .. } | TxStatus::Dropped { reason, .. } => {
                panic!("{name}: {reason}")
            }
            _ => {}
        }
    }
}

/// Both dev sites' meters, relayed by an account-less relayer every 150
/// chain seconds or so (they go dark after 600): RIDGE draws nothing,
/// NORTH `DRAW_W` inside the window. Returns NORTH's total.
async fn meter_sites(url: String, chain_id: Hash, stop: Arc<AtomicBool>, total: Arc<AtomicU64>) {
    let ws = jsonrpsee::ws_client::WsClientBuilder::default()
        .build(url)
        .await
        .expect("ws");
    let relayer = dev_keypair("test-relayer");
    let (north, ridge) = (dev_keypair("dev-site-north"), dev_keypair("dev-site-ridge"));
    let (mut last_end, mut seq, mut counter) = (T0, 0u64, 0u64);
    while !stop.load(Ordering::Relaxed) {
        let head = ChainApiClient::header(&ws, None).await.expect("header");
        let now = head.map_or(T0, |h| h.timestamp_ms / 1000);
        if now < last_end + 150 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        // Inside one UTC hour, never past the head's time.
        let end = now.min((last_end / 3600 + 1) * 3600);
        let overlap = end.min(END).saturating_sub(last_end.max(START));
        let delta = DRAW_W * overlap / 3600;
        counter += delta;
        seq += 1;
        let reading = |site, key: &Keypair, counter| {
            ConsumptionReading {
                site,
                sequence: seq,
                period_start: last_end,
                period_end: end,
                counter: Wh(counter),
                flags: 0,
            }
            .sign(&chain_id, key)
        };
        let body = Body::SubmitConsumption {
            readings: BoundedVec::new(vec![
                reading(NORTH, &north, counter),
                reading(RIDGE, &ridge, 0),
            ])
            .expect("two readings"),
        };
        send(&ws, sign(chain_id, &relayer, 0, body)).await;
        total.store(counter, Ordering::Relaxed);
        last_end = end;
    }
}

/// `sites_canRun` at a height.
async fn can_run(ws: &WsClient, site: SiteId, h: Height) -> CanRun {
    SitesApiClient::can_run(ws, site, Some(BlockId::Height(h)))
        .await
        .unwrap()
}

/// A header's time, unix seconds.
async fn time_at(ws: &WsClient, h: Height) -> u64 {
    ChainApiClient::header(ws, Some(BlockId::Height(h)))
        .await
        .unwrap()
        .expect("header")
        .timestamp_ms
        / 1000
}

/// What a standing says: reason, max power, until.
fn standing(c: &CanRun) -> (String, Watts, Option<u64>) {
    (c.reason.clone(), c.max_power, c.until)
}

async fn filtered(ws: &WsClient, filter: Value, limit: Option<u32>) -> Vec<u64> {
    let got: Vec<view::Curtailment> = ws
        .request("grid_getCurtailments", rpc_params![filter, limit])
        .await
        .unwrap();
    got.iter().map(|o| o.order).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_curtailed_site_runs_to_its_share_and_a_site_without_a_permit_does_not() {
    // 240 chain seconds per wall second: the window's verdict (its end plus
    // the 3,630 s grace) comes about 41 s after genesis, and the sites'
    // meters, relayed every 150 chain seconds, stay 2 s of wall time
    // ahead of going dark.
    let n = TestNode::start(240, TestNode::loopback()).await;
    let ws = n.ws().await;
    let chain_id = n.chain_id();
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let meters = tokio::spawn(meter_sites(
        n.ws_url(),
        chain_id,
        stop.clone(),
        total.clone(),
    ));
    let zone = ZoneId::new("DEV-1").unwrap();
    let f1 = FeederId::new("DEV-1/F1").unwrap();
    let reg = dev_keypair("dev-regulator");
    let gridop = dev_keypair("test-grid-operator");

    // Hour 0: a feeder, NORTH on it from hour 1, permits required from
    // hour 1 with a grid operator, and NORTH's permit.
    let before_sandbox = n.head();
    let register = Body::RegisterFeeder {
        feeder: NewFeeder {
            id: f1.clone(),
            zone: zone.clone(),
            rated_capacity: Watts(1_000_000),
            loss_permille: 30,
            alert_floor: Wh(1_000_000),
            alert_hours: 24,
            mining_share_permille: 500,
            head_key: dev_keypair("test-head-meter").public(),
            baseline_time: T0,
            baseline_import: Wh(0),
            baseline_export: Wh(0),
            declared_key: None,
        },
    };
    send(&ws, n.tx(&reg, 0, register)).await;
    let attach = Body::AttachToFeeder {
        device: Attachee::Site(NORTH),
        feeder: f1.clone(),
        from_hour: Hour::of_seconds(T0 + 3_600),
    };
    send(&ws, n.tx(&reg, 1, attach)).await;
    let sandbox = Body::SetZoneSandbox {
        zone: zone.clone(),
        permits_required: true,
        grid_operators: BoundedVec::new(vec![AccountId(gridop.public())]).unwrap(),
    };
    let sandbox_at = send(&ws, n.tx(&reg, 2, sandbox)).await.height;
    let terms = PermitTerms {
        max_power: Watts(100_000),
        months: ALL_MONTHS,
        hours: ALL_HOURS,
        monthly_quota: Wh(10_000_000),
        expires: EXPIRES,
    };
    let issue = Body::IssuePermit {
        site: NORTH,
        terms: terms.clone(),
    };
    let issued_at = send(&ws, n.tx(&reg, 3, issue)).await.height;
    assert!(
        time_at(&ws, issued_at).await < T0 + 3_600,
        "the setup fits in hour 0"
    );

    // The zone's sandbox, now and before.
    let sb = ZonesApiClient::sandbox(&ws, zone.clone(), None)
        .await
        .unwrap()
        .expect("a known zone");
    assert!(sb.permits_required);
    assert_eq!(sb.permits_from, Some(Hour::of_seconds(T0 + 3_600)));
    assert_eq!(sb.grid_operators, vec![AccountId(gridop.public())]);
    let old = ZonesApiClient::sandbox(&ws, zone.clone(), Some(BlockId::Height(before_sandbox)))
        .await
        .unwrap()
        .expect("a known zone");
    assert!(!old.permits_required);
    assert!(old.grid_operators.is_empty());
    assert_eq!(
        ZonesApiClient::sandbox(&ws, ZoneId::new("XX-9").unwrap(), None)
            .await
            .unwrap(),
        None
    );
    let raw: Value = ws
        .request("zones_getSandbox", rpc_params!["DEV-1"])
        .await
        .unwrap();
    assert_eq!(raw["permitsFrom"], json!(Hour::of_seconds(T0 + 3_600).0));
    assert_eq!(
        raw["gridOperators"][0],
        json!(acct("test-grid-operator").to_string())
    );

    // Hour 0: RIDGE may still run, until permits are required.
    let ridge0 = can_run(&ws, RIDGE, sandbox_at).await;
    assert_eq!(
        standing(&ridge0),
        ("active".into(), Watts(180_000), Some(T0 + 3_600))
    );
    assert!(ridge0.allowed);

    // Hour 1: the grid operator curtails F1 for a quarter of an hour, and
    // gives two zone orders, one cancelled before its start.
    let mut status: Subscription<CanRun> =
        SitesApiClient::subscribe_status(&ws, NORTH).await.unwrap();
    n.wait_chain_time((T0 + 3_630) * 1000).await;
    let curtail = |target, start, end, max| Body::Curtail {
        target,
        start,
        end,
        max_mining: Watts(max),
    };
    let ordered_at = send(
        &ws,
        n.tx(
            &gridop,
            0,
            curtail(CurtailTarget::Feeder(f1.clone()), START, END, SHARE_W),
        ),
    )
    .await
    .height;
    assert!(time_at(&ws, ordered_at).await < START, "ordered in time");
    let zone_order = |start| {
        curtail(
            CurtailTarget::Zone(zone.clone()),
            start,
            start + 600,
            40_000,
        )
    };
    send(&ws, n.tx(&gridop, 1, zone_order(T0 + 30_000))).await;
    send(&ws, n.tx(&gridop, 2, zone_order(LATER))).await;
    let cancel = Body::CancelCurtailment { order: OrderId(2) };
    send(&ws, n.tx(&gridop, 3, cancel)).await;
    // NORTH's owner acknowledges order 1 (anyone relays it).
    let seen = time_at(&ws, n.head()).await;
    let ack = CurtailmentAck {
        order: OrderId(1),
        site: NORTH,
        seen_at: seen,
    }
    .sign(&chain_id, &dev_keypair("dev-valley-coop"));
    let relay = dev_keypair("test-ack-relayer");
    send(&ws, n.tx(&relay, 0, Body::AckCurtailment { ack })).await;

    // RIDGE has no permit where one is required.
    let ridge1 = SitesApiClient::can_run(&ws, RIDGE, None).await.unwrap();
    assert_eq!(standing(&ridge1), ("noPermit".into(), Watts(0), None));
    assert!(!ridge1.allowed);
    assert_eq!(ridge1.status, SiteStatus::Active);
    assert_eq!(PermitsApiClient::get(&ws, RIDGE, None).await.unwrap(), None);

    // Upcoming, then active: the lists by state.
    let o1 = GridApiClient::curtailment(&ws, 1, None)
        .await
        .unwrap()
        .expect("order 1");
    assert_eq!(o1.state, CurtailmentState::Upcoming);
    assert_eq!(o1.sites.len(), 1);
    assert_eq!(o1.sites[0].share, Watts(SHARE_W));
    assert_eq!(o1.sites[0].acked_at, Some(seen));
    assert_eq!(
        filtered(&ws, json!({"state": "upcoming"}), None).await,
        [3, 1]
    );
    n.wait_chain_time((START + 60) * 1000).await;
    let during = SitesApiClient::can_run(&ws, NORTH, None).await.unwrap();
    assert_eq!(
        standing(&during),
        ("curtailed".into(), Watts(SHARE_W), Some(END))
    );
    assert!(during.allowed, "a curtailed site with a share may run");
    assert_eq!(filtered(&ws, json!({"state": "active"}), None).await, [1]);

    // The verdict, after the window's end plus the grace.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let judged = loop {
        let o = GridApiClient::curtailment(&ws, 1, None)
            .await
            .unwrap()
            .expect("order 1");
        if o.state == CurtailmentState::Judged {
            break o;
        }
        assert!(tokio::time::Instant::now() < deadline, "no verdict: {o:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let head = n.head();
    let row = &judged.sites[0];
    let verdict = row.verdict.expect("a verdict");
    assert!(verdict.honoured && verdict.reported, "{verdict:?}");
    // 30 kW for 900 s with the zone's 10 % tolerance.
    assert_eq!(verdict.allowed, Wh(8_250));
    assert_eq!(verdict.used, row.used);
    assert!(verdict.used.0 > 0 && verdict.used.0 <= DRAW_W * 900 / 3600);
    assert_eq!(
        judged.target,
        view::CurtailTarget::Feeder(view::FeederId("DEV-1/F1".into()))
    );
    assert_eq!(judged.issuer, AccountId(gridop.public()));
    assert_eq!(
        (judged.start, judged.end, judged.cancelled_at),
        (START, END, None)
    );
    let raw: Value = ws
        .request("grid_getCurtailment", rpc_params![1])
        .await
        .unwrap();
    assert_eq!(raw["target"], json!({"feeder": "DEV-1/F1"}));
    assert_eq!(raw["maxMiningW"], "30000");
    assert_eq!(raw["state"], "judged");
    assert_eq!(raw["sites"][0]["shareW"], "30000");
    assert_eq!(raw["sites"][0]["verdict"]["allowed"], "8250");
    assert_eq!(raw["sites"][0]["verdict"]["honoured"], true);
    // Read at a block inside the window, the same order was active and
    // without a verdict.
    let mut inside = ordered_at;
    while time_at(&ws, inside).await < START {
        inside = Height(inside.0 + 1);
    }
    let then = GridApiClient::curtailment(&ws, 1, Some(BlockId::Height(inside)))
        .await
        .unwrap()
        .expect("order 1");
    assert_eq!(then.state, CurtailmentState::Active);
    assert_eq!(then.sites[0].verdict, None);
    assert_eq!(
        GridApiClient::curtailment(&ws, 9, None).await.unwrap(),
        None
    );

    // canRun at every height from the order to the verdict: active until
    // the window's start, curtailed to the share until its end, then
    // active until the upcoming zone order's start. The subscription
    // pushed each change in the block that made it.
    let mut last: Option<(String, Watts, Option<u64>)> = None;
    let mut changes = Vec::new();
    for h in ordered_at.0..=head.0 {
        let h = Height(h);
        let (c, t) = (can_run(&ws, NORTH, h).await, time_at(&ws, h).await);
        let want = if t < START {
            ("active".to_string(), Watts(100_000), Some(START))
        } else if t < END {
            ("curtailed".to_string(), Watts(SHARE_W), Some(END))
        } else {
            ("active".to_string(), Watts(100_000), Some(LATER))
        };
        assert_eq!(standing(&c), want, "height {h}, time {t}");
        assert!(c.allowed);
        if last.as_ref() != Some(&want) {
            changes.push((h, want.clone()));
        }
        last = Some(want);
    }
    assert_eq!(changes.len(), 3, "{changes:?}");
    let mut pushed = Vec::new();
    while let Ok(Some(Ok(c))) =
        tokio::time::timeout(Duration::from_millis(500), status.next()).await
    {
        pushed.push(c);
    }
    for (h, want) in &changes[1..] {
        assert!(
            pushed
                .iter()
                .any(|c| c.height == *h && standing(c) == *want),
            "no push at height {h} for {want:?}: {:?}",
            pushed
                .iter()
                .map(|c| (c.height, standing(c)))
                .collect::<Vec<_>>()
        );
    }

    // The permit, its usage, the list; none before it was issued.
    stop.store(true, Ordering::Relaxed);
    meters.await.expect("meters ran");
    let p = PermitsApiClient::get(&ws, NORTH, None)
        .await
        .unwrap()
        .expect("NORTH's permit");
    assert_eq!(p.feeder, view::FeederId("DEV-1/F1".into()));
    assert_eq!(p.terms, view::PermitTerms::from(terms.clone()));
    assert!(p.live);
    assert_eq!(p.revoked, None);
    assert_eq!(p.issued_ms / 1000, time_at(&ws, issued_at).await);
    assert_eq!(
        p.usage,
        vec![view::PermitUsage {
            month: "2026-01".into(),
            used: Wh(total.load(Ordering::Relaxed)),
            quota: Wh(10_000_000),
        }]
    );
    assert!(p.usage[0].used.0 > 0);
    assert_eq!(
        PermitsApiClient::get(&ws, NORTH, Some(BlockId::Height(sandbox_at)))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        PermitsApiClient::list(&ws, None, None).await.unwrap(),
        vec![p.clone()]
    );
    assert!(PermitsApiClient::list(&ws, Some(SiteId(2)), None)
        .await
        .unwrap()
        .is_empty());
    let raw: Value = ws.request("permits_get", rpc_params![1]).await.unwrap();
    assert_eq!(raw["terms"]["maxPower"], "100000");
    assert_eq!(raw["usage"][0]["quota"], "10000000");

    // The lists by filter, newest first.
    assert_eq!(filtered(&ws, json!(null), None).await, [3, 2, 1]);
    assert_eq!(filtered(&ws, json!({"state": "past"}), None).await, [2, 1]);
    assert_eq!(filtered(&ws, json!({"state": "upcoming"}), None).await, [3]);
    assert!(filtered(&ws, json!({"state": "active"}), None)
        .await
        .is_empty());
    assert_eq!(
        filtered(&ws, json!({"zone": "DEV-1"}), None).await,
        [3, 2, 1]
    );
    assert!(filtered(&ws, json!({"zone": "XX-9"}), None)
        .await
        .is_empty());
    assert_eq!(filtered(&ws, json!({"site": 1}), None).await, [3, 2, 1]);
    assert!(filtered(&ws, json!({"site": 2}), None).await.is_empty());
    assert_eq!(filtered(&ws, json!({}), Some(1)).await, [3]);
    assert_eq!(filtered(&ws, json!({"before": 3}), None).await, [2, 1]);
    let past = GridApiClient::curtailments(
        &ws,
        Some(CurtailmentFilter {
            state: CurtailmentStates::Past,
            ..CurtailmentFilter::default()
        }),
        None,
    )
    .await
    .unwrap();
    assert_eq!(past[0].state, CurtailmentState::Cancelled);
    assert!(past[0].sites.iter().all(|s| s.verdict.is_none()));
    assert_eq!(past[1], judged);

    // Bad parameters name what is wrong.
    let e = ws
        .request::<Value, _>(
            "grid_getCurtailments",
            rpc_params![json!({"state": "soon"})],
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::INVALID_PARAMS);
    assert!(data(&e).contains("`state`"), "{}", data(&e));
    let e = ws
        .request::<Value, _>(
            "grid_getCurtailments",
            rpc_params![json!({"colour": "red"})],
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::INVALID_PARAMS);
    assert!(data(&e).contains("colour"), "{}", data(&e));
    let e = GridApiClient::curtailments(&ws, None, Some(5_000))
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::LIMIT_EXCEEDED);
    assert!(data(&e).contains("limit 5000"), "{}", data(&e));
    let e = PermitsApiClient::list(&ws, None, Some(5_000))
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::LIMIT_EXCEEDED);
    let e = SitesApiClient::can_run(&ws, SiteId(99), None)
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::RESOURCE_NOT_FOUND);
    n.stop().await;
}
