//! The JSON-RPC API against a real node on an ephemeral loopback port,
//! through the client the API traits generate.

use jsonrpsee::core::client::{ClientT, Error as ClientError, Subscription};
use jsonrpsee::rpc_params;
use std::time::Duration;
use watt_genesis::dev_keypair;
use watt_node::rpc::testing::{TestNode, GENESIS_MS};
use watt_rpc_client::api::*;
use watt_rpc_client::error as codes;
use watt_rpc_client::jsonrpsee;
use watt_rpc_client::types::*;
use watt_rpc_client::view::SiteStatus;
use watt_runtime::block::CommitCertificate;
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::{decode, encode, BoundedVec};
use watt_runtime::state::{key_hash, value_hash, StateKey};
use watt_runtime::tree::Proof;
use watt_runtime::tx::{Body, ConsumptionReading, GenerationReading};
use watt_runtime::types::{AccountId, Height, MeterId, SiteId, Wh};

fn acct(name: &str) -> AccountId {
    AccountId(dev_keypair(name).public())
}

/// The JSON-RPC error code of a failed call.
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

async fn next<T: serde::de::DeserializeOwned>(sub: &mut Subscription<T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), sub.next())
        .await
        .expect("a notification within 60 s")
        .expect("subscription open")
        .expect("notification decodes")
}

/// A generation reading of SOL-1 (meter 1) for `[start, end)` seconds
/// after genesis, with the counter at `counter`, relayed by the operator.
fn solar_tx(n: &TestNode, seq: u64, start: u64, end: u64, counter: u64) -> Body {
    let t0 = GENESIS_MS / 1000;
    let reading = GenerationReading {
        meter: MeterId(1),
        sequence: seq,
        period_start: t0 + start,
        period_end: t0 + end,
        counter: Wh(counter),
        flags: 0,
    }
    .sign(&n.chain_id(), &dev_keypair("dev-meter-solar"));
    Body::SubmitReadings {
        readings: BoundedVec::new(vec![reading]).expect("one reading"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_and_watch_reaches_finality_and_balances_read_at_any_block() {
    let n = TestNode::start(600, TestNode::loopback()).await;
    let ws = n.ws().await;
    let operator = dev_keypair("dev-operator");
    let coop = dev_keypair("dev-valley-coop");

    let mut coop_sub: Subscription<AccountInfo> =
        CreditsApiClient::subscribe_account(&ws, AccountId(coop.public()))
            .await
            .unwrap();
    assert_eq!(next(&mut coop_sub).await.balance, Wh(0));

    // Mint 5,000 Wh of the first hour to the coop.
    n.wait_chain_time(GENESIS_MS + 600_000).await;
    let mint = n.tx(&operator, 0, solar_tx(&n, 1, 0, 600, 5_000));
    let mut watch: Subscription<TxStatus> =
        TxApiClient::submit_and_watch(&ws, Bytes(encode(&mint)))
            .await
            .expect("watch starts");
    assert_eq!(
        next(&mut watch).await,
        TxStatus::Ready { hash: mint.hash() }
    );
    let TxStatus::Included(inc) = next(&mut watch).await else {
        panic!("expected included")
    };
    let TxStatus::Finalized(fin) = next(&mut watch).await else {
        panic!("expected finalized")
    };
    assert_eq!(inc, fin);
    let mint_height = fin.height;
    // The account subscription reports the change, at the mint's block.
    let changed = next(&mut coop_sub).await;
    assert_eq!((changed.balance, changed.height), (Wh(5_000), mint_height));

    // The receipt names where it landed and what it did.
    let receipt = TxApiClient::receipt(&ws, mint.hash())
        .await
        .unwrap()
        .expect("receipt");
    assert_eq!(receipt.location.as_ref(), Some(&fin));
    assert!(receipt.events.iter().any(|e| e.kind() == "minted"));
    let lookup = TxApiClient::get(&ws, mint.hash())
        .await
        .unwrap()
        .expect("found");
    assert_eq!(lookup.status, TxState::Finalized);
    // Resubmitting a finalised transaction is not an error: it returns its id.
    assert_eq!(
        TxApiClient::submit(&ws, Bytes(encode(&mint)))
            .await
            .unwrap(),
        mint.hash()
    );

    // A transfer out of it, watched over HTTP polling this time.
    let transfer = n.tx(
        &coop,
        0,
        Body::Transfer {
            to: acct("dev-ridge-miner"),
            amount: Wh(1_200),
            vintages: None,
        },
    );
    let hash = TxApiClient::submit(&n.http(), Bytes(encode(&transfer)))
        .await
        .unwrap();
    assert_eq!(hash, transfer.hash());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let landed = loop {
        if let Some(r) = TxApiClient::receipt(&ws, hash).await.unwrap() {
            break r.location.expect("finalized").height;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "transfer never landed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let coop_id = AccountId(coop.public());
    let latest = CreditsApiClient::balance(&ws, coop_id, Some(BlockId::Latest))
        .await
        .unwrap();
    let finalized = CreditsApiClient::balance(&ws, coop_id, Some(BlockId::Finalized))
        .await
        .unwrap();
    assert_eq!(latest.total, Wh(3_800));
    assert_eq!(finalized.total, latest.total);
    assert_eq!(latest.by_vintage.len(), 1);
    let v = &latest.by_vintage[0];
    assert_eq!(v.vintage.hour.0, GENESIS_MS / 3_600_000);
    assert_eq!(v.amount, Wh(3_800));
    assert_eq!(
        v.expires_at_hour.map(|h| h.0),
        Some(v.vintage.hour.0 + 24 * 7)
    );
    // At the mint's block, before the transfer: all 5,000. Before the mint: none.
    let at_mint = CreditsApiClient::balance(&ws, coop_id, Some(BlockId::Height(mint_height)))
        .await
        .unwrap();
    assert_eq!(at_mint.total, Wh(5_000));
    assert!(landed > mint_height);
    let before = CreditsApiClient::balance(
        &ws,
        coop_id,
        Some(BlockId::Height(Height(mint_height.0 - 1))),
    )
    .await
    .unwrap();
    assert_eq!(before.total, Wh(0));
    // The same by block hash.
    let by_hash = CreditsApiClient::balance(&ws, coop_id, Some(BlockId::Hash(fin.block_hash)))
        .await
        .unwrap();
    assert_eq!(by_hash.total, Wh(5_000));
    let info = CreditsApiClient::account(&ws, coop_id, None).await.unwrap();
    assert_eq!((info.nonce, info.balance), (1, Wh(3_800)));
    let op = CreditsApiClient::account(&ws, AccountId(operator.public()), None)
        .await
        .unwrap();
    assert_eq!(op.roles, vec!["authority".to_string()]);
    // A block above the head is -32001.
    let e = CreditsApiClient::balance(&ws, coop_id, Some(BlockId::Height(Height(1_000_000))))
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::RESOURCE_NOT_FOUND);

    let supply = CreditsApiClient::supply(&ws, None).await.unwrap();
    let z = &supply.zones[0];
    assert_eq!(z.minted, Wh(5_000));
    assert_eq!(z.held, Wh(5_000));
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_in_debt_then_shortfall_turns_can_run_false_and_its_subscription_says_so() {
    // 1,800 chain seconds per wall second: the hour bucket and its grace
    // (3,630 s) pass in about 6 s.
    let n = TestNode::start(1_800, TestNode::loopback()).await;
    let ws = n.ws().await;
    let ridge = SiteId(2);
    let mut status: Subscription<CanRun> =
        SitesApiClient::subscribe_status(&ws, ridge).await.unwrap();
    let first = next(&mut status).await;
    assert!(first.allowed);
    assert_eq!(first.status, SiteStatus::Active);
    assert_eq!(first.open_debt, Wh(0));

    // The ridge miner draws 1,000 Wh in the first 10 minutes with no credits.
    let t0 = GENESIS_MS / 1000;
    n.wait_chain_time(GENESIS_MS + 600_000).await;
    let reading = ConsumptionReading {
        site: ridge,
        sequence: 1,
        period_start: t0,
        period_end: t0 + 600,
        counter: Wh(1_000),
        flags: 0,
    }
    .sign(&n.chain_id(), &dev_keypair("dev-site-ridge"));
    let tx = n.tx(
        &dev_keypair("dev-ridge-miner"),
        0,
        Body::SubmitConsumption {
            readings: BoundedVec::new(vec![reading]).unwrap(),
        },
    );
    TxApiClient::submit(&ws, Bytes(encode(&tx))).await.unwrap();

    let mut saw_debt = false;
    let last = loop {
        let s = next(&mut status).await;
        if s.open_debt == Wh(1_000) {
            saw_debt = true;
        }
        if s.status == SiteStatus::SuspendedShortfall {
            break s;
        }
    };
    assert!(
        saw_debt,
        "the subscription reported the open debt before the shortfall"
    );
    assert!(!last.allowed);
    assert_eq!(last.shortfall, Wh(1_000));
    assert_eq!(last.open_debt, Wh(0));
    let polled = SitesApiClient::can_run(&ws, ridge, None).await.unwrap();
    assert!(!polled.allowed);
    assert_eq!(polled.status, SiteStatus::SuspendedShortfall);

    // The site list carries ids; an unknown site is -32001.
    let sites = SitesApiClient::list(&ws, None, None).await.unwrap();
    assert_eq!(
        sites.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![SiteId(1), SiteId(2)]
    );
    let e = SitesApiClient::can_run(&ws, SiteId(99), None)
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::RESOURCE_NOT_FOUND);

    // Events by filter: the shortfall of site 2, and nothing for site 1.
    let page = AuditApiClient::events(
        &ws,
        EventFilter {
            kinds: Some(vec!["shortfallRecorded".into()]),
            site: Some(2),
            ..EventFilter::default()
        },
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(page.events.len(), 1);
    let none = AuditApiClient::events(
        &ws,
        EventFilter {
            site: Some(1),
            kinds: Some(vec!["shortfallRecorded".into()]),
            ..EventFilter::default()
        },
        None,
        None,
    )
    .await
    .unwrap();
    assert!(none.events.is_empty());
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_page_by_cursor_and_proofs_and_commits_verify() {
    let n = TestNode::start(600, TestNode::loopback()).await;
    let ws = n.ws().await;
    let operator = dev_keypair("dev-operator");
    n.wait_chain_time(GENESIS_MS + 1_200_000).await;
    // Two readings in one transaction: two minted events.
    let t0 = GENESIS_MS / 1000;
    let key = dev_keypair("dev-meter-solar");
    let readings: Vec<_> = [(1, 0, 600, 1_000), (2, 600, 1_200, 3_000)]
        .into_iter()
        .map(|(seq, a, b, c)| {
            GenerationReading {
                meter: MeterId(1),
                sequence: seq,
                period_start: t0 + a,
                period_end: t0 + b,
                counter: Wh(c),
                flags: 0,
            }
            .sign(&n.chain_id(), &key)
        })
        .collect();
    let tx = n.tx(
        &operator,
        0,
        Body::SubmitReadings {
            readings: BoundedVec::new(readings).unwrap(),
        },
    );
    let mut watch: Subscription<TxStatus> = TxApiClient::submit_and_watch(&ws, Bytes(encode(&tx)))
        .await
        .unwrap();
    let landed = loop {
        if let TxStatus::Finalized(loc) = next(&mut watch).await {
            break loc.height;
        }
    };

    // Page through the minted events one at a time.
    let filter = EventFilter {
        kinds: Some(vec!["minted".into()]),
        meter: Some(1),
        ..EventFilter::default()
    };
    let p1 = AuditApiClient::events(&ws, filter.clone(), None, Some(1))
        .await
        .unwrap();
    assert_eq!(p1.events.len(), 1);
    let cursor = p1.next_cursor.clone().expect("a second page");
    let p2 = AuditApiClient::events(&ws, filter.clone(), Some(cursor), Some(1))
        .await
        .unwrap();
    assert_eq!(p2.events.len(), 1);
    assert_ne!(p1.events[0], p2.events[0]);
    assert_eq!(p1.events[0].height, landed);
    if let Some(c) = p2.next_cursor {
        let p3 = AuditApiClient::events(&ws, filter.clone(), Some(c), Some(1))
            .await
            .unwrap();
        assert!(p3.events.is_empty());
    }
    // By account: the coop is named in both.
    let by_account = AuditApiClient::events(
        &ws,
        EventFilter {
            account: Some(acct("dev-valley-coop")),
            ..EventFilter::default()
        },
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(by_account.events.len(), 2);
    // Too wide a range, an unknown kind, a bad cursor.
    let wide = EventFilter {
        from_height: Some(Height(1)),
        to_height: Some(Height(20_000)),
        ..EventFilter::default()
    };
    let head = n.head();
    let e = AuditApiClient::events(&ws, wide, None, None)
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::LIMIT_EXCEEDED);
    let bad_kind = EventFilter {
        kinds: Some(vec!["mined".into()]),
        ..EventFilter::default()
    };
    let e = AuditApiClient::events(&ws, bad_kind, None, None)
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::INVALID_PARAMS);
    assert!(reason(&e).contains("mined"));
    let e = AuditApiClient::events(&ws, filter, Some("nonsense".into()), None)
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::INVALID_PARAMS);

    // A state proof of the coop's account verifies against the header.
    let coop_key = StateKey::Account(acct("dev-valley-coop")).encode();
    let proof = StateApiClient::proof(&ws, Bytes(coop_key.clone()), Some(BlockId::Height(landed)))
        .await
        .unwrap();
    let header = ChainApiClient::header(&ws, Some(BlockId::Height(landed)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(proof.state_root, header.state_root);
    let value = proof.value.clone().expect("the coop has an account");
    let p: Proof = decode(&proof.proof.0).unwrap();
    p.verify(
        &header.state_root,
        &key_hash(&coop_key),
        Some(&value_hash(&value.0)),
    )
    .expect("membership proof verifies");
    // It does not verify for another value.
    assert!(p
        .verify(
            &header.state_root,
            &key_hash(&coop_key),
            Some(&value_hash(b"forged"))
        )
        .is_err());
    // Absent keys get a non-membership proof.
    let nobody = StateKey::Account(acct("nobody")).encode();
    let absent = StateApiClient::proof(&ws, Bytes(nobody.clone()), None)
        .await
        .unwrap();
    assert!(absent.value.is_none());
    let p: Proof = decode(&absent.proof.0).unwrap();
    p.verify(&absent.state_root, &key_hash(&nobody), None)
        .unwrap();

    // chain_getBlocks: every commit verifies against the genesis validators.
    n.wait_height(Height(head.0.max(3))).await;
    let genesis = ChainApiClient::genesis(&ws).await.unwrap();
    let set = genesis.genesis.validator_set().unwrap();
    let blocks = ChainApiClient::blocks(&ws, Height(1), 3).await.unwrap();
    assert_eq!(blocks.len(), 3);
    for b in &blocks {
        let commit: CommitCertificate =
            decode(&b.commit_encoded.as_ref().expect("commit").0).unwrap();
        commit
            .verify(&genesis.chain_id, &set, b.header.height, &b.header.hash)
            .expect("commit verifies");
        let block: watt_runtime::block::Block = decode(&b.encoded.0).unwrap();
        assert_eq!(block.hash(), b.header.hash);
    }
    let e = ChainApiClient::blocks(&ws, Height(1), MAX_BLOCKS_PER_CALL + 1)
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::LIMIT_EXCEEDED);
    assert_eq!(
        ChainApiClient::block_hash(&ws, Height(2)).await.unwrap(),
        Some(blocks[1].header.hash)
    );
    assert_eq!(
        ChainApiClient::block_hash(&ws, Height(0)).await.unwrap(),
        Some(genesis.chain_id)
    );
    assert_eq!(
        ChainApiClient::block_hash(&ws, Height(u64::MAX))
            .await
            .unwrap(),
        None
    );
    let methods = RpcApiClient::methods(&ws).await.unwrap();
    assert!(methods.methods.contains(&"sites_canRun".to_string()));
    assert!(methods.unsafe_allowed);
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_subscriptions_follow_the_chain() {
    let n = TestNode::start(60, TestNode::loopback()).await;
    let ws = n.ws().await;
    let mut heads: Subscription<RpcHeader> =
        ChainApiClient::subscribe_new_heads(&ws).await.unwrap();
    let mut fin: Subscription<RpcHeader> = ChainApiClient::subscribe_finalized_heads(&ws)
        .await
        .unwrap();
    let a = next(&mut heads).await;
    let b = next(&mut heads).await;
    assert_eq!(b.height.0, a.height.0 + 1);
    assert_eq!(b.parent_hash, a.hash);
    let f = next(&mut fin).await;
    assert!(f.height >= a.height);
    let head = ChainApiClient::finalized_head(&ws).await.unwrap().unwrap();
    assert!(head.height >= b.height);
    let version = SystemApiClient::version(&ws).await.unwrap();
    assert!(version.starts_with("watt "));
    assert_eq!(SystemApiClient::chain_id(&ws).await.unwrap(), n.chain_id());
    let health = SystemApiClient::health(&ws).await.unwrap();
    assert!(!health.is_syncing);
    n.stop().await;
}

/// Raw HTTP/1.1 over a fresh connection: (status, body).
async fn raw_http(addr: std::net::SocketAddr, request: Vec<u8>) -> (u16, String) {
    let text = raw_answer(addr, request).await;
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

fn post(body: &[u8], extra_headers: &str) -> Vec<u8> {
    let mut r = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n{extra_headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_transactions_get_their_errors_and_change_nothing() {
    let n = TestNode::start(600, TestNode::loopback()).await;
    let http = n.http();
    let coop = dev_keypair("dev-valley-coop");
    let body = Body::Transfer {
        to: acct("dev-ridge-miner"),
        amount: Wh(1),
        vintages: None,
    };
    let good = n.tx(&coop, 0, body.clone());
    let bytes = encode(&good);

    // Malformed hex, and hex without its prefix.
    for raw in ["0xzz", "abcd", "0x123"] {
        let e = http
            .request::<Hash, _>("tx_submit", rpc_params![raw])
            .await
            .unwrap_err();
        assert_eq!(code(&e), codes::INVALID_PARAMS, "{raw}");
    }
    // A truncated transaction.
    let e = TxApiClient::submit(&http, Bytes(bytes[..bytes.len() - 10].to_vec()))
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::INVALID_PARAMS);
    assert!(reason(&e).contains("does not decode"), "{}", reason(&e));
    // Another chain's transaction.
    let mut other = good.clone();
    other.unsigned.chain_id = Hash([9; 32]);
    let other = other.unsigned.sign(&coop);
    let e = TxApiClient::submit(&http, Bytes(encode(&other)))
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::TRANSACTION_REJECTED);
    assert!(reason(&e).contains("wrong chain id"), "{}", reason(&e));
    // A forged signature.
    let mut forged = good.clone();
    forged.signature.0[5] ^= 1;
    let e = TxApiClient::submit(&http, Bytes(encode(&forged)))
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::TRANSACTION_REJECTED);
    // The coop has no credits yet: a rule broken is refused at admission.
    let e = TxApiClient::submit(&http, Bytes(bytes.clone())).await;
    // Either refused now (insufficient balance) or accepted and dropped
    // later; the node must not have changed state either way.
    if let Err(e) = &e {
        assert_eq!(code(e), codes::TRANSACTION_REJECTED);
    }

    // A replayed nonce: the operator's nonce 0 is used by a mint, then a
    // different transaction with nonce 0 is stale.
    let operator = dev_keypair("dev-operator");
    n.wait_chain_time(GENESIS_MS + 600_000).await;
    let mint = n.tx(&operator, 0, solar_tx(&n, 1, 0, 600, 100));
    let ws = n.ws().await;
    let mut watch: Subscription<TxStatus> =
        TxApiClient::submit_and_watch(&ws, Bytes(encode(&mint)))
            .await
            .unwrap();
    while !matches!(next(&mut watch).await, TxStatus::Finalized(_)) {}
    let replay = n.tx(
        &operator,
        0,
        Body::Transfer {
            to: acct("dev-ridge-miner"),
            amount: Wh(100),
            vintages: None,
        },
    );
    let e = TxApiClient::submit(&http, Bytes(encode(&replay)))
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::TRANSACTION_REJECTED);
    assert!(reason(&e).contains("nonce"), "{}", reason(&e));
    // Watching a bad transaction reports it invalid.
    let mut w: Subscription<TxStatus> = TxApiClient::submit_and_watch(&ws, Bytes(encode(&replay)))
        .await
        .unwrap();
    assert!(matches!(next(&mut w).await, TxStatus::Invalid { .. }));

    // Admission does not execute; a transfer without credits passes it,
    // fails when the block is built, and its watcher hears why.
    let broke = n.tx(
        &dev_keypair("broke-sender"),
        0,
        Body::Transfer {
            to: acct("dev-ridge-miner"),
            amount: Wh(5),
            vintages: None,
        },
    );
    let mut w: Subscription<TxStatus> = TxApiClient::submit_and_watch(&ws, Bytes(encode(&broke)))
        .await
        .unwrap();
    let mut last = next(&mut w).await;
    while !last.is_final() {
        last = next(&mut w).await;
    }
    match last {
        TxStatus::Invalid { rule, reason } => {
            assert!(reason.contains("invalid in block"), "{reason}");
            assert!(rule.is_some_and(|r| !r.is_empty() && !r.contains('_')));
        }
        other => panic!("expected invalid, got {other:?}"),
    }

    // An unknown method.
    let e = http
        .request::<String, _>("chain_getEverything", rpc_params![])
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::METHOD_NOT_FOUND);
    // A bad `at`.
    let e = http
        .request::<Balance, _>(
            "credits_getBalance",
            rpc_params![acct("dev-valley-coop"), "yesterday"],
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::INVALID_PARAMS);

    let health = SystemApiClient::health(&http).await.unwrap();
    assert!(health.best_height.0 > 0);
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_requests_batches_and_hostile_origins_are_refused_and_the_node_stays_healthy() {
    let mut cfg = TestNode::loopback();
    cfg.max_batch = 100;
    cfg.rate_limit_per_second = 0;
    let n = TestNode::start(60, cfg).await;
    let addr = n.rpc.local_addr;

    // A 20 MB request.
    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tx_submit\",\"params\":[\"0x{}\"]}}",
        "00".repeat(10 * 1024 * 1024)
    );
    let (status, body) = raw_http(addr, post(big.as_bytes(), "")).await;
    assert!(
        status == 413 || body.contains(&codes_str(jsonrpsee::types::error::OVERSIZED_REQUEST_CODE)),
        "status {status}: {body}"
    );

    // A batch of 10,000 calls.
    let calls: Vec<String> = (0..10_000)
        .map(|i| format!("{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"system_version\"}}"))
        .collect();
    let batch = format!("[{}]", calls.join(","));
    let (status, body) = raw_http(addr, post(batch.as_bytes(), "")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains(&codes_str(
            jsonrpsee::types::error::TOO_BIG_BATCH_REQUEST_CODE
        )),
        "{body}"
    );
    // A batch within the limit works.
    let ok = format!("[{}]", calls[..3].join(","));
    let (_, body) = raw_http(addr, post(ok.as_bytes(), "")).await;
    assert_eq!(body.matches("watt ").count(), 3, "{body}");

    // A disallowed origin, an allowed one, and a preflight.
    let call = br#"{"jsonrpc":"2.0","id":1,"method":"system_version"}"#;
    let (status, body) = raw_http(addr, post(call, "Origin: https://evil.example\r\n")).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("not allowed"));
    let (status, _) = raw_http(addr, post(call, "Origin: http://localhost:3000\r\n")).await;
    assert_eq!(status, 200);

    // Health, readiness and metrics.
    n.wait_height(Height(2)).await;
    let (status, body) = raw_http(addr, get("/health")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = raw_http(addr, get("/health/ready")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"ready\":true"));
    let (status, body) = raw_http(addr, get("/metrics")).await;
    assert_eq!(status, 200);
    for m in [
        "watt_best_height",
        "watt_finalized_height",
        "watt_mempool_transactions",
        "watt_transactions_per_second",
        "watt_rpc_request_duration_seconds",
        "watt_db_size_bytes",
    ] {
        assert!(body.contains(m), "{m} missing");
    }
    // Still producing blocks and answering.
    let h = n.head();
    n.wait_height(Height(h.0 + 2)).await;
    assert!(SystemApiClient::version(&n.http()).await.is_ok());
    n.stop().await;
}

fn codes_str(code: i32) -> String {
    format!("\"code\":{code}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_subscription_and_rate_limits_hold() {
    let mut cfg = TestNode::loopback();
    cfg.max_connections = 3;
    cfg.max_subscriptions_per_connection = 2;
    cfg.rate_limit_per_second = 5;
    cfg.rate_limit_burst = 10;
    let n = TestNode::start(60, cfg).await;

    // Subscriptions per connection.
    let ws = n.ws().await;
    let _a: Subscription<RpcHeader> = ChainApiClient::subscribe_new_heads(&ws).await.unwrap();
    let _b: Subscription<RpcHeader> = ChainApiClient::subscribe_new_heads(&ws).await.unwrap();
    let third: Result<Subscription<RpcHeader>, _> = ChainApiClient::subscribe_new_heads(&ws).await;
    assert!(third.is_err(), "a third subscription on one connection");

    // Connections: the first ws holds one; two more fit, the fourth not.
    let ws2 = n.ws().await;
    let ws3 = n.ws().await;
    let fourth = jsonrpsee::ws_client::WsClientBuilder::default()
        .build(n.ws_url())
        .await;
    assert!(
        fourth.is_err(),
        "a fourth connection over max_connections 3"
    );
    drop((ws2, ws3));
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The rate limit: a burst of 10, then 5 a second.
    let mut limited = 0;
    for _ in 0..30 {
        match SystemApiClient::version(&ws).await {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(code(&e), codes::LIMIT_EXCEEDED);
                limited += 1;
            }
        }
    }
    assert!(
        limited >= 10,
        "only {limited} of 30 quick calls were limited"
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        SystemApiClient::version(&ws).await.is_ok(),
        "the limit lifts"
    );
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_over_plain_http_says_to_use_websocket() {
    let n = TestNode::start(60, TestNode::loopback()).await;
    let addr = n.rpc.local_addr;
    for (method, params) in [
        ("sites_subscribeStatus", "[1]"),
        ("chain_subscribeNewHeads", "[]"),
        ("chain_unsubscribeNewHeads", "[\"0x1\"]"),
    ] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
        let (status, text) = raw_http(addr, post(body.as_bytes(), "")).await;
        assert_eq!(status, 200, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["error"]["code"], codes::METHOD_NOT_SUPPORTED, "{v}");
        let reason = v["error"]["data"]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("WebSocket"), "{v}");
        assert!(reason.contains(method), "{v}");
    }
    // The same call over WebSocket is served.
    let ws = n.ws().await;
    let mut heads: Subscription<RpcHeader> =
        ChainApiClient::subscribe_new_heads(&ws).await.unwrap();
    next(&mut heads).await;
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_methods_need_loopback_or_the_flag() {
    // Listening on every interface (the test still connects over loopback).
    let mut cfg = TestNode::loopback();
    cfg.addr = "0.0.0.0:0".parse().unwrap();
    let n = TestNode::start(60, cfg).await;
    let url = format!("http://127.0.0.1:{}", n.rpc.local_addr.port());
    let http = jsonrpsee::http_client::HttpClientBuilder::default()
        .build(url)
        .unwrap();
    let e = TxApiClient::pending(&http, None).await.unwrap_err();
    assert_eq!(code(&e), codes::METHOD_NOT_SUPPORTED);
    assert!(reason(&e).contains("--rpc-methods unsafe"));
    let methods = RpcApiClient::methods(&http).await.unwrap();
    assert!(!methods.unsafe_allowed);
    n.stop().await;

    let mut cfg = TestNode::loopback();
    cfg.addr = "0.0.0.0:0".parse().unwrap();
    cfg.methods = watt_node::rpc::RpcMethods::Unsafe;
    let n = TestNode::start(60, cfg).await;
    let url = format!("http://127.0.0.1:{}", n.rpc.local_addr.port());
    let http = jsonrpsee::http_client::HttpClientBuilder::default()
        .build(url)
        .unwrap();
    assert!(TxApiClient::pending(&http, None).await.is_ok());
    n.stop().await;

    // On loopback, served by default.
    let n = TestNode::start(60, TestNode::loopback()).await;
    assert!(TxApiClient::pending(&n.http(), Some(10)).await.is_ok());
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_socket_and_health_is_rate_limited() {
    use tokio::io::AsyncReadExt;
    let mut cfg = TestNode::loopback();
    cfg.max_connections_per_ip = 2;
    cfg.rate_limit_per_second = 2;
    cfg.rate_limit_burst = 3;
    let n = TestNode::start(60, cfg).await;
    let addr = n.rpc.local_addr;
    // Two idle sockets are held; a third from the same address is closed.
    let _a = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _b = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "third socket stays open: {read:?}"
    );
    drop((_a, _b));
    tokio::time::sleep(Duration::from_millis(200)).await;
    // GET routes share the per-address rate limit.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(raw_http(addr, get("/health")).await.0);
    }
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    n.stop().await;
}

/// A raw request with a Host and Origin of our choosing.
fn with_host(method: &str, path: &str, host: &str, origin: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// The whole of a raw answer, headers included.
async fn raw_answer(addr: std::net::SocketAddr, request: Vec<u8>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    // A refused upload may close the socket before it is all written.
    let _ = s.write_all(&request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).to_string()
}

/// The dashboard (docs/dashboard.md) is served at `/` with a policy that
/// lets the page run only the node's own scripts and talk only to the
/// node; its page may call the RPC from the node's own address, but a
/// site that points its own name at the node (DNS rebinding) may not;
/// with the dashboard off, `/` is JSON-RPC only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_served_with_its_policy_and_only_its_own_page_gets_the_rpc() {
    let mut cfg = TestNode::loopback();
    cfg.dashboard = true;
    // No browser origin is on the CORS list: only the page's own origin
    // may call.
    cfg.cors = Vec::new();
    let n = TestNode::start(60, cfg).await;
    let addr = n.rpc.local_addr;
    let host = addr.to_string();

    let page = raw_answer(addr, get("/")).await;
    let (head, body) = page.split_once("\r\n\r\n").unwrap();
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(body.contains("<main id=\"page\">"), "{body}");
    let csp = head
        .lines()
        .find_map(|l| l.strip_prefix("content-security-policy: "))
        .expect("a Content-Security-Policy header");
    for part in [
        "default-src 'none'",
        "script-src 'self' 'sha256-",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{part} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    // Scripts, the client library and its vendored dependencies are served
    // as JavaScript; a path that is no file is not.
    for path in [
        "/dashboard/app.js",
        "/watt-client/index.js",
        "/watt-client/vendor/noble-curves/ed25519.js",
    ] {
        let a = raw_answer(addr, get(path)).await.to_ascii_lowercase();
        assert!(a.starts_with("http/1.1 200"), "{path}: {a:.200}");
        assert!(a.contains("content-type: text/javascript"), "{path}");
    }
    let (status, _) = raw_http(addr, get("/dashboard/../../etc/passwd")).await;
    assert_ne!(status, 200);
    let (status, _) = raw_http(addr, get("/watt-client/vendor/ws/index.js")).await;
    assert_ne!(status, 200, "the Node-only ws package is not served");

    let call = br#"{"jsonrpc":"2.0","id":1,"method":"system_version"}"#;
    // The page's own origin: allowed.
    let own = format!("http://{host}");
    let a = raw_answer(addr, with_host("POST", "/", &host, &own, call)).await;
    assert!(a.starts_with("HTTP/1.1 200"), "{a}");
    assert!(a.contains("\"result\":\"watt "), "{a}");
    // DNS rebinding: evil.example resolves to the node, so the browser
    // sends Host and Origin that agree, but name no address.
    let a = raw_answer(
        addr,
        with_host(
            "POST",
            "/",
            &format!("evil.example:{}", addr.port()),
            &format!("http://evil.example:{}", addr.port()),
            call,
        ),
    )
    .await;
    assert!(a.starts_with("HTTP/1.1 403"), "{a}");
    // Another site calling the node's address from its page.
    let a = raw_answer(
        addr,
        with_host("POST", "/", &host, "http://evil.example", call),
    )
    .await;
    assert!(a.starts_with("HTTP/1.1 403"), "{a}");
    n.stop().await;

    // Off (the default of `watt run`): no page, and the own-origin rule
    // with it.
    let mut cfg = TestNode::loopback();
    cfg.cors = Vec::new();
    let n = TestNode::start(60, cfg).await;
    let addr = n.rpc.local_addr;
    let host = addr.to_string();
    let (status, body) = raw_http(addr, get("/")).await;
    assert_ne!(status, 200, "{body}");
    assert!(!body.contains("<main"), "{body}");
    let a = raw_answer(
        addr,
        with_host("POST", "/", &host, &format!("http://{host}"), call),
    )
    .await;
    assert!(a.starts_with("HTTP/1.1 403"), "{a}");
    n.stop().await;
}

/// `tx_submitBatch`: one verdict per transaction, in order; a bad one does
/// not refuse the others; resending a pending one is accepted again; the
/// rate limit counts each transaction as a call (an attacker cannot
/// multiply its allowance by batching); the caps in transactions and bytes
/// hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_gets_one_verdict_each_and_the_rate_limit_counts_its_transactions() {
    let mut cfg = TestNode::loopback();
    cfg.rate_limit_per_second = 1;
    cfg.rate_limit_burst = 40;
    let n = TestNode::start(600, cfg).await;
    let http = n.http();
    let coop = dev_keypair("dev-valley-coop");
    let transfer = |nonce| {
        n.tx(
            &coop,
            nonce,
            Body::Transfer {
                to: acct("dev-ridge-miner"),
                amount: Wh(1),
                vintages: None,
            },
        )
    };
    let (t0, t1, t2) = (transfer(0), transfer(1), transfer(2));
    let mut forged = t1.clone();
    forged.signature.0[5] ^= 1;
    let mut other = t1.clone();
    other.unsigned.chain_id = Hash([9; 32]);
    let other = other.unsigned.sign(&coop);
    let batch = vec![
        Bytes(encode(&t0)),
        Bytes(vec![1, 2, 3]),
        Bytes(encode(&forged)),
        Bytes(encode(&other)),
        Bytes(encode(&t2)),
        Bytes(encode(&t0)),
    ];
    let verdicts = TxApiClient::submit_batch(&http, batch).await.unwrap();
    assert_eq!(verdicts.len(), 6, "{verdicts:?}");
    assert!(verdicts[0].ok && verdicts[0].hash == Some(t0.hash()));
    assert!(!verdicts[1].ok && verdicts[1].hash.is_none());
    assert!(verdicts[1]
        .reason
        .as_deref()
        .unwrap()
        .contains("does not decode"));
    assert!(!verdicts[2].ok && verdicts[2].hash == Some(forged.hash()));
    assert!(verdicts[2].reason.is_some(), "{:?}", verdicts[2]);
    assert!(!verdicts[3].ok && verdicts[3].hash == Some(other.hash()));
    assert!(verdicts[3]
        .reason
        .as_deref()
        .unwrap()
        .contains("wrong chain id"));
    assert!(verdicts[4].ok && verdicts[4].hash == Some(t2.hash()));
    assert!(
        verdicts[5].ok && verdicts[5].hash == Some(t0.hash()),
        "a resend is accepted again"
    );
    assert!(verdicts.iter().filter(|v| v.ok).all(|v| v.reason.is_none()));
    // The accepted ones are pending; the refused ones are not.
    for (hash, known) in [(t0.hash(), true), (t2.hash(), true), (forged.hash(), false)] {
        let found = TxApiClient::get(&http, hash).await.unwrap();
        assert_eq!(found.is_some(), known, "{hash}");
    }
    // The burst was 40 calls and 6 were spent: a batch of 40 more
    // transactions is refused whole, though it is one request.
    let many: Vec<Bytes> = (3..43).map(|i| Bytes(encode(&transfer(i)))).collect();
    let e = TxApiClient::submit_batch(&http, many).await.unwrap_err();
    assert_eq!(code(&e), codes::LIMIT_EXCEEDED);
    assert!(reason(&e).contains("rate limit"), "{}", reason(&e));
    assert!(TxApiClient::get(&http, transfer(3).hash())
        .await
        .unwrap()
        .is_none());
    n.stop().await;

    // The caps, with the rate limit off and room in the request body.
    let mut cfg = TestNode::loopback();
    cfg.rate_limit_per_second = 0;
    cfg.max_request_bytes = 32 * 1024 * 1024;
    let n = TestNode::start(600, cfg).await;
    let http = n.http();
    let e = TxApiClient::submit_batch(&http, vec![Bytes(vec![0]); MAX_SUBMIT_BATCH + 1])
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::LIMIT_EXCEEDED);
    assert!(reason(&e).contains("at most 1000"), "{}", reason(&e));
    // 4.5 MiB (9 MiB in hex: within the client's own 10 MiB limit).
    let e = TxApiClient::submit_batch(&http, vec![Bytes(vec![0; 1536 * 1024]); 3])
        .await
        .unwrap_err();
    assert_eq!(code(&e), codes::LIMIT_EXCEEDED);
    assert!(reason(&e).contains("bytes"), "{}", reason(&e));
    // The empty batch is answered with no verdicts.
    assert!(TxApiClient::submit_batch(&http, vec![])
        .await
        .unwrap()
        .is_empty());
    n.stop().await;
}
