//! `tx_dryRun` over plain HTTP against a real node: the verdict of a
//! transaction without sending it.

use jsonrpsee::core::client::{ClientT, Error as ClientError};
use jsonrpsee::rpc_params;
use std::time::Duration;
use watt_genesis::dev_keypair;
use watt_node::rpc::testing::{TestNode, GENESIS_MS};
use watt_rpc_client::api::*;
use watt_rpc_client::error as codes;
use watt_rpc_client::jsonrpsee;
use watt_rpc_client::types::*;
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::{encode, BoundedVec};
use watt_runtime::tx::{Body, GenerationReading};
use watt_runtime::types::{AccountId, MeterId, Wh};

fn acct(name: &str) -> AccountId {
    AccountId(dev_keypair(name).public())
}

fn code(e: &ClientError) -> i32 {
    match e {
        ClientError::Call(obj) => obj.code(),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

fn reason(e: &ClientError) -> String {
    match e {
        ClientError::Call(obj) => codes::reason_of(obj).unwrap_or_default(),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

fn transfer(amount: u64) -> Body {
    Body::Transfer {
        to: acct("dev-ridge-miner"),
        amount: Wh(amount),
        vintages: None,
    }
}

/// Waits (at most 60 s) for a transaction's receipt.
async fn landed(c: &jsonrpsee::http_client::HttpClient, hash: Hash) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while TxApiClient::receipt(c, hash).await.unwrap().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{hash} never landed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_name_the_rule_or_the_events_and_send_nothing() {
    let n = TestNode::start(600, TestNode::loopback()).await;
    let http = n.http();
    let coop = dev_keypair("dev-valley-coop");
    let coop_id = AccountId(coop.public());

    // Malformed hex, and a transaction that does not decode: clear errors.
    for raw in ["0xzz", "abcd", "0x123"] {
        let e = http
            .request::<DryRun, _>("tx_dryRun", rpc_params![raw])
            .await
            .unwrap_err();
        assert_eq!(code(&e), codes::INVALID_PARAMS, "{raw}");
    }
    let e = TxApiClient::dry_run(&http, Bytes(vec![0xde, 0xad, 0xbe, 0xef]))
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::INVALID_PARAMS);
    assert!(reason(&e).contains("does not decode"), "{}", reason(&e));

    // A forged signature is a rule broken, not an error.
    let mut forged = n.tx(&coop, 0, transfer(1));
    forged.signature.0[5] ^= 1;
    let r = TxApiClient::dry_run(&http, Bytes(encode(&forged)))
        .await
        .unwrap();
    assert!(!r.ok);
    assert_eq!(r.rule.as_deref(), Some("badSignature"));

    // Mint 5,000 Wh to the coop.
    n.wait_chain_time(GENESIS_MS + 600_000).await;
    let t0 = GENESIS_MS / 1000;
    let reading = GenerationReading {
        meter: MeterId(1),
        sequence: 1,
        period_start: t0,
        period_end: t0 + 600,
        counter: Wh(5_000),
        flags: 0,
    }
    .sign(&n.chain_id(), &dev_keypair("dev-meter-solar"));
    let mint = n.tx(
        &dev_keypair("dev-operator"),
        0,
        Body::SubmitReadings {
            readings: BoundedVec::new(vec![reading]).unwrap(),
        },
    );
    TxApiClient::submit(&http, Bytes(encode(&mint)))
        .await
        .unwrap();
    landed(&http, mint.hash()).await;

    // Beyond the balance: the rule, and nothing sent.
    let too_much = n.tx(&coop, 0, transfer(10_000));
    let r = TxApiClient::dry_run(&http, Bytes(encode(&too_much)))
        .await
        .unwrap();
    assert!(!r.ok, "{r:?}");
    assert_eq!(r.rule.as_deref(), Some("insufficientBalance"));
    let message = r.reason.expect("a reason in words");
    assert!(message.contains("10000"), "{message}");
    assert!(r.events.is_none());
    // The JSON as documented.
    let raw: serde_json::Value = http
        .request("tx_dryRun", rpc_params![Bytes(encode(&too_much))])
        .await
        .unwrap();
    assert_eq!(
        raw,
        serde_json::json!({"ok": false, "rule": "insufficientBalance", "reason": message})
    );

    // Within it: the transferred event, and nothing changed.
    let ok = n.tx(&coop, 0, transfer(1_200));
    let r = TxApiClient::dry_run(&http, Bytes(encode(&ok)))
        .await
        .unwrap();
    assert!(r.ok, "{r:?}");
    assert!(r.rule.is_none() && r.reason.is_none());
    let events = r.events.expect("events");
    assert!(
        events.iter().any(|e| e.kind() == "transferred"),
        "{events:?}"
    );
    let raw: serde_json::Value = http
        .request("tx_dryRun", rpc_params![Bytes(encode(&ok))])
        .await
        .unwrap();
    assert_eq!(raw["ok"], serde_json::json!(true));
    assert_eq!(raw["events"], serde_json::to_value(&events).unwrap());

    // Let a few blocks pass: neither was sent.
    let h = n.head();
    n.wait_height(watt_runtime::types::Height(h.0 + 3)).await;
    for tx in [&too_much, &ok] {
        assert!(TxApiClient::get(&http, tx.hash()).await.unwrap().is_none());
        assert!(TxApiClient::receipt(&http, tx.hash())
            .await
            .unwrap()
            .is_none());
    }
    let info = CreditsApiClient::account(&http, coop_id, None)
        .await
        .unwrap();
    assert_eq!((info.nonce, info.balance), (0, Wh(5_000)));

    // After a pending transaction of the same signer, the next nonce runs
    // on top of it (pending or landed, the answer is the same).
    let first = n.tx(&coop, 0, transfer(1_000));
    TxApiClient::submit(&http, Bytes(encode(&first)))
        .await
        .unwrap();
    let r = TxApiClient::dry_run(&http, Bytes(encode(&n.tx(&coop, 1, transfer(4_500)))))
        .await
        .unwrap();
    assert_eq!(r.rule.as_deref(), Some("insufficientBalance"), "{r:?}");
    let r = TxApiClient::dry_run(&http, Bytes(encode(&n.tx(&coop, 1, transfer(4_000)))))
        .await
        .unwrap();
    assert!(r.ok, "{r:?}");
    // A nonce already used is a rule broken once the first has landed.
    landed(&http, first.hash()).await;
    let r = TxApiClient::dry_run(&http, Bytes(encode(&n.tx(&coop, 0, transfer(1)))))
        .await
        .unwrap();
    assert_eq!(r.rule.as_deref(), Some("badNonce"), "{r:?}");
    n.stop().await;
}
