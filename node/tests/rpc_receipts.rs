//! Receipts of transactions a block left out for breaking a ledger rule,
//! read over plain HTTP.

use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use std::time::Duration;
use watt_genesis::dev_keypair;
use watt_node::rpc::testing::{TestNode, GENESIS_MS};
use watt_rpc_client::api::*;
use watt_rpc_client::jsonrpsee;
use watt_rpc_client::types::*;
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::{encode, BoundedVec};
use watt_runtime::tx::{Body, GenerationReading};
use watt_runtime::types::{AccountId, MeterId, Wh};

/// A generation reading of SOL-1 (meter 1) minting `counter` Wh of the
/// first ten minutes to the valley co-op, relayed by the operator.
fn mint(n: &TestNode, counter: u64) -> Body {
    let t0 = GENESIS_MS / 1000;
    let reading = GenerationReading {
        meter: MeterId(1),
        sequence: 1,
        period_start: t0,
        period_end: t0 + 600,
        counter: Wh(counter),
        flags: 0,
    }
    .sign(&n.chain_id(), &dev_keypair("dev-meter-solar"));
    Body::SubmitReadings {
        readings: BoundedVec::new(vec![reading]).expect("one reading"),
    }
}

/// Polls `tx_getReceipt` over HTTP until it answers.
async fn receipt(n: &TestNode, hash: Hash) -> Receipt {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(r) = TxApiClient::receipt(&n.http(), hash).await.unwrap() {
            return r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no receipt for {hash} in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_dropped_at_block_building_has_a_receipt_over_http() {
    let n = TestNode::start(600, TestNode::loopback()).await;
    let http = n.http();
    let operator = dev_keypair("dev-operator");
    let coop = dev_keypair("dev-valley-coop");
    let miner = AccountId(dev_keypair("dev-ridge-miner").public());

    // 5,000 Wh to the co-op.
    n.wait_chain_time(GENESIS_MS + 600_000).await;
    let minted = n.tx(&operator, 0, mint(&n, 5_000));
    TxApiClient::submit(&http, Bytes(encode(&minted)))
        .await
        .unwrap();
    assert_eq!(
        receipt(&n, minted.hash()).await.status,
        ReceiptStatus::Finalized
    );

    // Two transfers of 3,000 Wh: both pass admission (signature, nonce),
    // the second breaks the balance rule when a block is built.
    let transfer = |nonce, amount| {
        n.tx(
            &coop,
            nonce,
            Body::Transfer {
                to: miner,
                amount: Wh(amount),
                vintages: None,
            },
        )
    };
    let first = transfer(0, 3_000);
    let second = transfer(1, 3_000);
    for tx in [&first, &second] {
        assert_eq!(
            TxApiClient::submit(&http, Bytes(encode(tx))).await.unwrap(),
            tx.hash()
        );
    }

    let ok = receipt(&n, first.hash()).await;
    assert_eq!(ok.status, ReceiptStatus::Finalized);
    let landed = ok.location.clone().expect("a location").height;
    assert!(ok.events.iter().any(|e| e.kind() == "transferred"));
    assert_eq!((ok.rule, ok.reason, ok.height), (None, None, None));

    let dropped = receipt(&n, second.hash()).await;
    assert_eq!(dropped.status, ReceiptStatus::Dropped);
    assert_eq!(dropped.rule.as_deref(), Some("insufficientBalance"));
    let height = dropped.height.expect("the block being built");
    assert!(
        height >= landed,
        "dropped at {height}, first landed at {landed}"
    );
    assert!(height <= n.head().next());
    assert!(dropped.location.is_none() && dropped.events.is_empty());
    assert!(dropped.reason.is_some_and(|m| !m.is_empty()));
    // Nothing of it is on chain, and it is not pending.
    assert!(TxApiClient::get(&http, second.hash())
        .await
        .unwrap()
        .is_none());

    // The exact JSON.
    let raw: serde_json::Value = http
        .request("tx_getReceipt", rpc_params![second.hash()])
        .await
        .unwrap();
    let obj = raw.as_object().expect("an object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["events", "height", "reason", "rule", "status", "txHash"]
    );
    assert_eq!(raw["status"], "dropped");
    assert_eq!(raw["rule"], "insufficientBalance");
    assert_eq!(raw["height"], serde_json::json!(height.0));
    assert_eq!(raw["txHash"], serde_json::json!(second.hash()));
    // A finalized receipt keeps its shape: no status means finalized.
    let raw: serde_json::Value = http
        .request("tx_getReceipt", rpc_params![first.hash()])
        .await
        .unwrap();
    let mut keys: Vec<&str> = raw
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["events", "location", "txHash"]);

    // An unknown transaction still has none.
    assert!(TxApiClient::receipt(&http, Hash([7; 32]))
        .await
        .unwrap()
        .is_none());
    n.stop().await;
}
