//! Every error the node answers is in one form (docs/rpc.md section 2): a
//! capitalised message and `error.data` an object with a non-empty string
//! `reason`, whether a handler raised it or jsonrpsee did.

use jsonrpsee::core::client::{ClientT, Error as ClientError, Subscription};
use jsonrpsee::rpc_params;
use serde_json::Value;
use std::time::Duration;
use watt_genesis::dev_keypair;
use watt_node::rpc::testing::TestNode;
use watt_rpc_client::api::*;
use watt_rpc_client::error as codes;
use watt_rpc_client::jsonrpsee;
use watt_rpc_client::types::*;
use watt_runtime::types::AccountId;

/// Raw HTTP/1.1 over a fresh connection: (status, body).
async fn raw_http(addr: std::net::SocketAddr, request: Vec<u8>) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    // A refused upload may close the socket before it is all written.
    let _ = s.write_all(&request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn post(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// Asserts an error object is in the one form, with this code and
/// message; returns its reason.
fn assert_form(err: &Value, code: i32, message: &str, whole: &str) -> String {
    assert_eq!(err["code"], code, "{whole}");
    assert_eq!(err["message"], message, "{whole}");
    let data = err["data"].as_object().unwrap_or_else(|| {
        panic!("error.data is not an object: {whole}");
    });
    let reason = data["reason"].as_str().unwrap_or_default();
    assert!(!reason.trim().is_empty(), "no reason: {whole}");
    reason.to_string()
}

/// POSTs `body`; asserts the answer is one error in the one form, with
/// `status`; returns the whole answer and the reason.
async fn error_of(
    addr: std::net::SocketAddr,
    body: &[u8],
    status: u16,
    code: i32,
    message: &str,
) -> (Value, String) {
    let (got, text) = raw_http(addr, post(body)).await;
    assert_eq!(got, status, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let reason = assert_form(&v["error"], code, message, &text);
    (v, reason)
}

fn call(method: &str, params: Value) -> Vec<u8> {
    serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        .to_string()
        .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_over_plain_http_has_a_capitalised_message_and_a_reason() {
    let mut cfg = TestNode::loopback();
    cfg.max_batch = 100;
    cfg.rate_limit_per_second = 0;
    cfg.max_request_bytes = 64 * 1024;
    cfg.max_response_bytes = 1024;
    let n = TestNode::start(60, cfg).await;
    let addr = n.rpc.local_addr;
    let coop = serde_json::to_value(AccountId(dev_keypair("dev-valley-coop").public())).unwrap();

    // A method that does not exist.
    let (v, reason) = error_of(
        addr,
        &call("chain_getEverything", serde_json::json!([])),
        200,
        codes::METHOD_NOT_FOUND,
        "Method not found",
    )
    .await;
    assert_eq!(v["id"], 1);
    assert!(reason.contains("chain_getEverything"), "{reason}");

    // Parameters that do not deserialize: a number for the account.
    error_of(
        addr,
        &call("credits_getBalance", serde_json::json!([5])),
        200,
        codes::INVALID_PARAMS,
        "Invalid params",
    )
    .await;

    // A malformed `at`.
    let (_, reason) = error_of(
        addr,
        &call("credits_getBalance", serde_json::json!([coop, "yesterday"])),
        200,
        codes::INVALID_PARAMS,
        "Invalid params",
    )
    .await;
    assert!(reason.contains("yesterday"), "{reason}");

    // A body that is not JSON: cut short, and not JSON at all.
    let (v, _) = error_of(
        addr,
        br#"{"jsonrpc":"2.0","id":1,"#,
        200,
        codes::PARSE_ERROR,
        "Parse error",
    )
    .await;
    assert_eq!(v["id"], Value::Null);
    let (_, reason) = error_of(addr, b"hello", 400, codes::PARSE_ERROR, "Parse error").await;
    assert!(reason.contains("does not start with"), "{reason}");

    // JSON that is not a request, and an empty batch.
    error_of(
        addr,
        br#"{"id":3,"hello":"world"}"#,
        200,
        codes::INVALID_REQUEST,
        "Invalid request",
    )
    .await;
    error_of(addr, b"[]", 200, codes::INVALID_REQUEST, "Invalid request").await;

    // A batch of 101 calls, one above the limit.
    let calls: Vec<String> = (0..101)
        .map(|i| format!("{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"system_version\"}}"))
        .collect();
    let (v, reason) = error_of(
        addr,
        format!("[{}]", calls.join(",")).as_bytes(),
        200,
        codes::BATCH_TOO_BIG,
        "The batch request was too large",
    )
    .await;
    assert_eq!(v["error"]["data"]["limit"], 100, "{v}");
    assert!(reason.contains("100 calls"), "{reason}");

    // A batch within the limit: each error in it is in the one form.
    let batch = format!(
        "[{},{},{}]",
        String::from_utf8(call("chain_getEverything", serde_json::json!([]))).unwrap(),
        String::from_utf8(call("credits_getBalance", serde_json::json!([5]))).unwrap(),
        r#"{"id":7,"nothing":"here"}"#,
    );
    let (status, text) = raw_http(addr, post(batch.as_bytes())).await;
    assert_eq!(status, 200, "{text}");
    let answers: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(answers.len(), 3, "{text}");
    let reason = assert_form(
        &answers[0]["error"],
        codes::METHOD_NOT_FOUND,
        "Method not found",
        &text,
    );
    assert!(reason.contains("chain_getEverything"), "{reason}");
    assert_form(
        &answers[1]["error"],
        codes::INVALID_PARAMS,
        "Invalid params",
        &text,
    );
    assert_form(
        &answers[2]["error"],
        codes::INVALID_REQUEST,
        "Invalid request",
        &text,
    );

    // A Watt error: a block above the head.
    let (_, reason) = error_of(
        addr,
        &call(
            "credits_getBalance",
            serde_json::json!([coop, 1_000_000_000u64]),
        ),
        200,
        codes::RESOURCE_NOT_FOUND,
        "Resource not found",
    )
    .await;
    assert!(reason.contains("no block at height"), "{reason}");

    // A request above the limit: HTTP 413.
    let big = call(
        "tx_submit",
        serde_json::json!([format!("0x{}", "00".repeat(64 * 1024))]),
    );
    let (v, _) = error_of(
        addr,
        &big,
        413,
        codes::REQUEST_TOO_BIG,
        "Request is too big",
    )
    .await;
    assert_eq!(v["error"]["data"]["limit"], 64 * 1024, "{v}");

    // An answer above the limit (rpc_methods lists more than 1 KiB).
    let (v, _) = error_of(
        addr,
        &call("rpc_methods", serde_json::json!([])),
        200,
        codes::RESPONSE_TOO_BIG,
        "Response is too big",
    )
    .await;
    assert_eq!(v["error"]["data"]["limit"], 1024, "{v}");

    // A batch whose answers together are above the limit.
    let calls: Vec<String> = (0..20)
        .map(|i| format!("{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"rpc_methods\"}}"))
        .collect();
    error_of(
        addr,
        format!("[{}]", calls.join(",")).as_bytes(),
        200,
        codes::BATCH_RESPONSE_TOO_BIG,
        "The batch response was too large",
    )
    .await;

    // A subscription over plain HTTP.
    error_of(
        addr,
        &call("chain_subscribeNewHeads", serde_json::json!([])),
        200,
        codes::METHOD_NOT_SUPPORTED,
        "Method not supported",
    )
    .await;
    n.stop().await;
}

fn call_error(e: ClientError) -> jsonrpsee::types::ErrorObjectOwned {
    match e {
        ClientError::Call(obj) => obj,
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

/// Asserts a client-side error object is in the one form.
fn assert_client_form(obj: &jsonrpsee::types::ErrorObjectOwned, code: i32, message: &str) {
    assert_eq!((obj.code(), obj.message()), (code, message), "{obj:?}");
    let data: Value = serde_json::from_str(obj.data().expect("data").get()).unwrap();
    assert!(data.is_object(), "{obj:?}");
    let reason = codes::reason_of(obj).expect("a reason");
    assert!(!reason.is_empty());
    assert_eq!(data["reason"], reason.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_over_websocket_are_in_the_same_form() {
    let mut cfg = TestNode::loopback();
    cfg.max_subscriptions_per_connection = 1;
    cfg.rate_limit_per_second = 0;
    let n = TestNode::start(60, cfg).await;
    let ws = n.ws().await;

    let e = ws
        .request::<String, _>("chain_getEverything", rpc_params![])
        .await
        .unwrap_err();
    let obj = call_error(e);
    assert_client_form(&obj, codes::METHOD_NOT_FOUND, "Method not found");
    assert!(codes::reason_of(&obj)
        .unwrap()
        .contains("chain_getEverything"));

    let e = ws
        .request::<Balance, _>("credits_getBalance", rpc_params![5])
        .await
        .unwrap_err();
    assert_client_form(&call_error(e), codes::INVALID_PARAMS, "Invalid params");

    let e = CreditsApiClient::balance(
        &ws,
        AccountId(dev_keypair("dev-valley-coop").public()),
        Some(BlockId::Height(watt_runtime::types::Height(1_000_000_000))),
    )
    .await
    .unwrap_err();
    assert_client_form(
        &call_error(e),
        codes::RESOURCE_NOT_FOUND,
        "Resource not found",
    );

    // A subscription refused by its handler.
    let e = SitesApiClient::subscribe_status(&ws, watt_runtime::types::SiteId(99))
        .await
        .unwrap_err();
    assert_client_form(
        &call_error(e),
        codes::RESOURCE_NOT_FOUND,
        "Resource not found",
    );

    // One subscription is allowed on this connection, the second is not.
    let _a: Subscription<RpcHeader> = ChainApiClient::subscribe_new_heads(&ws).await.unwrap();
    let e = ChainApiClient::subscribe_new_heads(&ws).await.unwrap_err();
    let obj = call_error(e);
    assert_client_form(
        &obj,
        codes::TOO_MANY_SUBSCRIPTIONS,
        "Too many subscriptions on the connection",
    );
    n.stop().await;
}

#[test]
fn reason_of_reads_the_one_form_and_an_old_string_data() {
    use jsonrpsee::types::ErrorObjectOwned;
    let new = codes::not_found("no block at height 9");
    assert_eq!(new.message(), "Resource not found");
    assert_eq!(
        codes::reason_of(&new).as_deref(),
        Some("no block at height 9")
    );
    let old = ErrorObjectOwned::owned(-32602, "Invalid params", Some("invalid type"));
    assert_eq!(codes::reason_of(&old).as_deref(), Some("invalid type"));
    let none = ErrorObjectOwned::owned(-32601, "Method not found", None::<()>);
    assert_eq!(codes::reason_of(&none), None);
}
