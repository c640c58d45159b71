//! `feeders_*` and `grid_*` against a real node: a feeder whose head meter
//! imports far more than anything on it explains raises an alert, pushed by
//! `grid_subscribeAlerts` and read back from `grid_getAlerts`,
//! `feeders_get` and `feeders_balance`; bad parameters get clear errors.

use jsonrpsee::core::client::{Error as ClientError, Subscription};
use std::time::Duration;
use watt_genesis::dev_keypair;
use watt_node::rpc::testing::{TestNode, GENESIS_MS};
use watt_rpc_client::api::*;
use watt_rpc_client::error as codes;
use watt_rpc_client::jsonrpsee;
use watt_rpc_client::types::*;
use watt_rpc_client::view::{self, BalanceStatus};
use watt_runtime::encoding::{encode, BoundedVec};
use watt_runtime::feeder::{FeederId, FeederReading, NewFeeder};
use watt_runtime::tx::Body;
use watt_runtime::types::{Hour, Watts, Wh, ZoneId};

fn code(e: &ClientError) -> i32 {
    match e {
        ClientError::Call(o) => o.code(),
        other => panic!("not a call error: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unexplained_load_is_pushed_listed_and_read_back() {
    // 1,800 chain seconds per wall second: hour 0 and its grace (3,630 s)
    // pass in about 4 s.
    let n = TestNode::start(1_800, TestNode::loopback()).await;
    let ws = n.ws().await;
    let t0 = GENESIS_MS / 1000;
    let f = FeederId::new("DEV-1/F1").unwrap();
    let fv = view::FeederId(f.to_string());
    let mut alerts: Subscription<RpcEvent> = GridApiClient::subscribe_alerts(&ws).await.unwrap();

    let head = dev_keypair("test-head-meter");
    let register = n.tx(
        &dev_keypair("dev-regulator"),
        0,
        Body::RegisterFeeder {
            feeder: NewFeeder {
                id: f.clone(),
                zone: ZoneId::new("DEV-1").unwrap(),
                rated_capacity: Watts(1_000_000),
                loss_permille: 30,
                alert_floor: Wh(100),
                alert_hours: 1,
                mining_share_permille: 500,
                head_key: head.public(),
                baseline_time: t0,
                baseline_import: Wh(0),
                baseline_export: Wh(0),
                declared_key: None,
            },
        },
    );
    TxApiClient::submit(&ws, Bytes(encode(&register)))
        .await
        .unwrap();

    // Hour 0: 10,000 Wh in, nothing on the feeder to explain it.
    n.wait_chain_time((t0 + 3_600) * 1000).await;
    let reading = FeederReading {
        feeder: f.clone(),
        sequence: 1,
        period_start: t0,
        period_end: t0 + 3_600,
        import: Wh(10_000),
        export: Wh(0),
        flags: 0,
    }
    .sign(&n.chain_id(), &head);
    // Anyone relays; a relayer without an account stays without one.
    let relay = n.tx(
        &dev_keypair("test-relayer"),
        0,
        Body::SubmitFeederReadings {
            readings: BoundedVec::new(vec![reading]).unwrap(),
        },
    );
    TxApiClient::submit(&ws, Bytes(encode(&relay)))
        .await
        .unwrap();

    // The hour closes: the balance (not balanced) and the alert arrive.
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        let e = tokio::time::timeout(Duration::from_secs(30), alerts.next())
            .await
            .expect("an alert within 30 s")
            .expect("subscription open")
            .expect("an event");
        kinds.push(e.event.kind().to_string());
    }
    assert_eq!(kinds, vec!["feederBalance", "unexplainedLoad"]);

    let open = GridApiClient::alerts(&ws, None).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].feeder, fv);
    assert_eq!(open[0].from_hour, Hour::of_seconds(t0));
    assert_eq!(open[0].unexplained, Wh(9_700));
    let other_zone = GridApiClient::alerts(&ws, Some(ZoneId::new("XX-9").unwrap()))
        .await
        .unwrap();
    assert!(other_zone.is_empty());

    let got = FeedersApiClient::get(&ws, fv.clone(), None)
        .await
        .unwrap()
        .expect("the feeder");
    assert_eq!(got.status, "alert");
    assert_eq!(got.head_sequence, 1);
    let listed = FeedersApiClient::list(&ws, None, None).await.unwrap();
    assert_eq!(listed, vec![got.clone()]);
    assert!(FeedersApiClient::list(&ws, Some(fv.clone()), None)
        .await
        .unwrap()
        .is_empty());

    let hours = FeedersApiClient::balance(&ws, fv.clone(), Hour::of_seconds(t0), None)
        .await
        .unwrap();
    assert_eq!(hours.len(), 1);
    assert_eq!(hours[0].import, Wh(10_000));
    assert_eq!(hours[0].allowance, Wh(300));
    assert_eq!(hours[0].unexplained, 9_700);
    assert_eq!(hours[0].status, BalanceStatus::Unexplained);

    // The JSON convention: amounts as strings, camelCase.
    let raw: serde_json::Value = jsonrpsee::core::client::ClientT::request(
        &ws,
        "feeders_balance",
        jsonrpsee::rpc_params!["DEV-1/F1", Hour::of_seconds(t0).0],
    )
    .await
    .unwrap();
    assert_eq!(raw[0]["unexplained"], "9700");
    assert_eq!(raw[0]["status"], "unexplained");

    // Bad parameters: an unknown feeder, a malformed id, too many hours.
    let e = FeedersApiClient::balance(&ws, view::FeederId("DEV-1/F9".into()), Hour(1), None)
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::RESOURCE_NOT_FOUND);
    let e = FeedersApiClient::get(&ws, view::FeederId("dev f1".into()), None)
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::INVALID_PARAMS);
    let e = FeedersApiClient::balance(&ws, fv.clone(), Hour(1), Some(Hour(1_000)))
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::LIMIT_EXCEEDED);
    let e = FeedersApiClient::balance(&ws, fv, Hour(10), Some(Hour(9)))
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::INVALID_PARAMS);
    n.stop().await;
}
