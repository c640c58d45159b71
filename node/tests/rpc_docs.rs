//! docs/rpc.md against a live `watt dev`, so the reference cannot drift
//! from the node again. Every method section (`### \`method\``) is read for
//! its examples: a request (`{"method": ...}`) and the response after it
//! (`{"result": ...}`, an error, or for a subscription its notifications).
//! Each example is called on the live chain with the example's parameters,
//! where they name something of the document's illustrative chain (its
//! accounts, transaction, heights, zone, feeder) replaced by the live
//! chain's counterpart (`Live::substitute`, `Live::params`), and the
//! documented result must have the same shape as the live one: the same
//! JSON types, the same field names, strings of the same class (`0x` hex,
//! decimal integer, other), integers where integers are shown (`shape`).
//! The method index (section 5), the sections and the live `rpc_methods`
//! must name the same methods. Finally the `state_getProof` example must
//! verify against its own state root. Documented errors must come back with
//! the same code and shape.
//!
//! To see what the node answers, set `RPC_DOCS_DUMP=<file>`: every live
//! call and its answer are written there, one JSON object a line. Runs in
//! the `processes` group (.config/nextest.toml).

#[path = "common/dev.rs"]
mod dev;

use dev::Dev;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use watt_rpc_client::jsonrpsee::core::client::{Subscription, SubscriptionClientT};
use watt_rpc_client::jsonrpsee::core::params::ArrayParams;
use watt_rpc_client::jsonrpsee::ws_client::WsClientBuilder;
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::{decode, encode};
use watt_runtime::state::{key_hash, value_hash};
use watt_runtime::tree::Proof;
use watt_runtime::tx::{Body, Text, Transaction, UnsignedTx};
use watt_runtime::types::{AccountId, Wh};
use watt_test_support::{rpc_call_raw, wait_for};

// ---------------------------------------------------------------------------
// The document

/// What one example in a method section shows.
#[derive(Debug)]
enum Item {
    Request { method: String, params: Value },
    Response(Value),
    Notification(Value),
}

/// A `### \`method\`` section: its prose and its examples, in order.
struct Section {
    method: String,
    text: String,
    items: Vec<Item>,
}

/// One documented answer to check against the node.
#[derive(Debug)]
struct Case {
    /// Its place among the section's cases, from 0.
    n: usize,
    /// The parameters of the request it answers (none if the document
    /// shows the answer without one).
    params: Option<Value>,
    want: Want,
}

#[derive(Debug)]
enum Want {
    Result(Value),
    /// An error object: the same code, and the same shape.
    Error(Value),
    Notification(Value),
}

fn doc_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/rpc.md");
    std::fs::read_to_string(path).expect("docs/rpc.md")
}

/// The method sections of the document.
fn sections(doc: &str) -> Vec<Section> {
    let mut out = Vec::new();
    let mut cur: Option<Section> = None;
    // Inside a fence: whether it is a ```json one.
    let mut fence: Option<bool> = None;
    let mut block = String::new();
    for line in doc.lines() {
        if let Some(json) = fence {
            if line.trim_start().starts_with("```") {
                fence = None;
                if let (true, Some(s)) = (json, cur.as_mut()) {
                    for v in serde_json::Deserializer::from_str(&block).into_iter::<Value>() {
                        let v = v.unwrap_or_else(|e| {
                            panic!("a json example of `{}` does not parse: {e}", s.method)
                        });
                        s.items.push(item(&s.method, v));
                    }
                }
                block.clear();
            } else {
                block.push_str(line);
                block.push('\n');
            }
            continue;
        }
        if let Some(rest) = line.trim_start().strip_prefix("```") {
            fence = Some(rest.trim() == "json");
            continue;
        }
        if line.starts_with('#') {
            out.extend(cur.take());
            let name = line
                .strip_prefix("### `")
                .and_then(|r| r.split('`').next())
                .filter(|n| n.contains('_') && !n.contains(' '));
            cur = name.map(|n| Section {
                method: n.to_string(),
                text: String::new(),
                items: Vec::new(),
            });
            continue;
        }
        if let Some(s) = cur.as_mut() {
            s.text.push_str(line);
            s.text.push('\n');
        }
    }
    out.extend(cur);
    out
}

fn item(section: &str, v: Value) -> Item {
    let method = v.get("method").and_then(Value::as_str).map(str::to_string);
    match (method, v.get("id").is_some()) {
        (Some(method), true) => Item::Request {
            method,
            params: v.get("params").cloned().unwrap_or(json!([])),
        },
        (None, true) if v.get("result").is_some() || v.get("error").is_some() => Item::Response(v),
        (Some(_), false) if v["params"].get("result").is_some() => {
            Item::Notification(v["params"]["result"].clone())
        }
        _ => panic!(
            "an example of `{section}` is neither a request, a response nor a notification: {v}"
        ),
    }
}

fn is_subscription(method: &str) -> bool {
    method.contains("_subscribe") || method == "tx_submitAndWatch"
}

/// The answers a section documents, with the requests they answer.
fn cases(s: &Section) -> Vec<Case> {
    let sub = is_subscription(&s.method);
    let mut out = Vec::new();
    let mut req: Option<(String, Value)> = None;
    let mut answered = false;
    for it in &s.items {
        let (params, want) = match it {
            Item::Request { method, params } => {
                req = Some((method.clone(), params.clone()));
                answered = false;
                continue;
            }
            Item::Response(v) => {
                let ours = req.as_ref().is_none_or(|(m, _)| *m == s.method);
                // An unsubscribe call's answer, or a subscription's id.
                if !ours || (sub && v.get("result").is_some()) {
                    continue;
                }
                let params = match (&req, answered) {
                    (Some((_, p)), false) => Some(p.clone()),
                    _ => None,
                };
                answered = true;
                match v.get("error") {
                    // An error shown without its request is prose.
                    Some(e) if params.is_some() => (params, Want::Error(e.clone())),
                    Some(_) => continue,
                    None => (params, Want::Result(v["result"].clone())),
                }
            }
            Item::Notification(r) => (
                req.as_ref()
                    .filter(|(m, _)| *m == s.method)
                    .map(|(_, p)| p.clone()),
                Want::Notification(r.clone()),
            ),
        };
        out.push(Case {
            n: out.len(),
            params,
            want,
        });
    }
    out
}

/// The methods the method index (section 5) lists.
fn index_methods(doc: &str) -> BTreeSet<String> {
    let start = doc.find("## 5. Method index").expect("a method index");
    let table = &doc[start..];
    let table = &table[..table[3..].find("\n## ").map_or(table.len(), |e| e + 3)];
    table
        .lines()
        .filter(|l| l.starts_with('|'))
        .flat_map(|l| l.split('`').skip(1).step_by(2).map(str::to_string))
        .filter(|m| m.contains('_'))
        .collect()
}

// ---------------------------------------------------------------------------
// Shapes

/// How a JSON string looks: `0x` hex, a decimal integer, or anything else.
fn class(s: &str) -> &'static str {
    if let Some(h) = s.strip_prefix("0x") {
        if h.chars().all(|c| c.is_ascii_hexdigit() || c == '…') {
            return "0x hex";
        }
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        return "a decimal string";
    }
    "text"
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a float",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The variant an element of a list is: an event's `kind`, a body's
/// `type`, looked for through `event`, `tx`, `unsigned` and `body`.
fn tag(v: &Value) -> Option<String> {
    for k in ["kind", "type"] {
        if let Some(t) = v.get(k).and_then(Value::as_str) {
            return Some(t.to_string());
        }
    }
    ["event", "tx", "unsigned", "body"]
        .iter()
        .filter_map(|k| v.get(k).filter(|c| c.is_object()))
        .find_map(tag)
}

/// Whether an object is a map keyed by accounts or hashes (a proposal's
/// votes) rather than a record with field names.
fn is_map(o: &serde_json::Map<String, Value>) -> bool {
    !o.is_empty()
        && o.keys()
            .all(|k| k.starts_with("watt1") || k.starts_with("0x"))
}

/// Compares the shape of a documented value with a live one; differences
/// go to `errs`, documented variants the live value lacks to `notes`.
/// `null` on either side matches anything (an optional value); the string
/// `"…"` in the document matches anything, and an object with a `"…"` key
/// lists only some of its fields.
fn shape(doc: &Value, live: &Value, path: &str, errs: &mut Vec<String>, notes: &mut Vec<String>) {
    match (doc, live) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::String(d), _) if d == "…" => {}
        (Value::Bool(_), Value::Bool(_)) => {}
        (Value::String(d), Value::String(l)) => {
            if class(d) != class(l) {
                errs.push(format!(
                    "{path}: the doc's {d:?} is {}, the node's {l:?} is {}",
                    class(d),
                    class(l)
                ));
            }
        }
        (Value::Number(_), Value::Number(_)) if kind(doc) == kind(live) => {}
        // One variant of an externally tagged union, such as a curtailment's
        // `{"feeder": ...}` or `{"zone": ...}` target: another variant.
        (Value::Object(d), Value::Object(l))
            if d.len() == 1 && l.len() == 1 && d.keys().ne(l.keys()) =>
        {
            notes.push(format!("{path}: the doc shows {doc}, the node {live}"));
        }
        (Value::Object(d), Value::Object(l)) if is_map(d) => {
            if let Some(first) = l.values().next() {
                for (k, v) in d {
                    shape(v, first, &format!("{path}.{k}"), errs, notes);
                }
            }
        }
        (Value::Object(d), Value::Object(l)) => {
            let partial = d.contains_key("…");
            for (k, v) in d.iter().filter(|(k, _)| *k != "…") {
                match l.get(k) {
                    Some(lv) => shape(v, lv, &format!("{path}.{k}"), errs, notes),
                    None => errs.push(format!("{path}.{k}: in the doc, not sent by the node")),
                }
            }
            if !partial {
                for k in l.keys().filter(|k| !d.contains_key(*k)) {
                    errs.push(format!("{path}.{k}: sent by the node, missing in the doc"));
                }
            }
        }
        (Value::Array(d), Value::Array(l)) => {
            let d: Vec<&Value> = d.iter().filter(|v| *v != "…").collect();
            if d.is_empty() || l.is_empty() {
                return;
            }
            // A tuple, such as `[vintage, amount]`, is compared element by
            // element; a list element by element against the node's
            // element of the same variant (or at the same place).
            let tuple = d.iter().any(|v| kind(v) != kind(d[0]));
            if tuple {
                if d.len() != l.len() {
                    errs.push(format!(
                        "{path}: a tuple of {} in the doc, of {} from the node",
                        d.len(),
                        l.len()
                    ));
                }
                for (i, (dv, lv)) in d.iter().zip(l).enumerate() {
                    shape(dv, lv, &format!("{path}[{i}]"), errs, notes);
                }
                return;
            }
            for (i, dv) in d.iter().enumerate() {
                let lv = match tag(dv) {
                    Some(t) => match l.iter().find(|lv| tag(lv).as_deref() == Some(t.as_str())) {
                        Some(lv) => lv,
                        None => {
                            notes.push(format!("{path}[{i}]: no `{t}` from the node to compare"));
                            continue;
                        }
                    },
                    // Untagged: the node's element at the same place
                    // (a batch's verdicts, in order), else its first.
                    None => l.get(i).unwrap_or(&l[0]),
                };
                shape(dv, lv, &format!("{path}[{i}]"), errs, notes);
            }
        }
        _ => errs.push(format!(
            "{path}: {} in the doc ({doc}), {} from the node ({live})",
            kind(doc),
            kind(live)
        )),
    }
}

// ---------------------------------------------------------------------------
// The live chain

/// What the live chain has that the examples name, and the transactions
/// the `tx_*` examples send.
struct Live {
    addr: String,
    /// The external site's owner: credits, a meter, a site and a permit.
    owner: String,
    /// The test's own account, funded by `owner` with `tx1`.
    alice: String,
    head: u64,
    /// The hour of the genesis (the first hour whose feeder balance closes).
    hour0: u64,
    /// The finalised transfer from `owner` to `alice`, and its height.
    tx1: Transaction,
    h1: u64,
    /// Transfers from `alice` with nonces 0 and 1, not sent before the
    /// examples run.
    tx2: Transaction,
    tx3: Transaction,
    /// `alice`'s nonce 2 signed with the wrong key: refused at admission.
    forged: Transaction,
    /// A transfer from an account with no credits: dropped from a block.
    poor: Transaction,
    /// Alerts `grid_subscribeAlerts` pushed since the start.
    alerts: Arc<Mutex<Vec<Value>>>,
}

fn hex_tx(tx: &Transaction) -> String {
    format!("0x{}", hex::encode(encode(tx)))
}

fn hash_of(tx: &Transaction) -> String {
    serde_json::to_value(tx.hash())
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

fn call(addr: &str, method: &str, params: Value) -> Value {
    let r = rpc_call_raw(addr, method, params.clone());
    r.get("result")
        .cloned()
        .unwrap_or_else(|| panic!("{method} {params}: {r}"))
}

impl Live {
    /// The live counterparts of the illustrative chain's names.
    fn substitute(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => json!(match s.as_str() {
                "watt132yw8ht5p8cetl2jmvknewjawt9xwzdlrk2pyxlnwjyqrdq0dawqu2j3h6" =>
                    self.owner.clone(),
                "watt1syuhwr4g05t4744r23nvxnr7en9cmz53knhr0gja7c84hr7fkw2qqzlu3v" =>
                    self.alice.clone(),
                "RU-BU" => "DEV-1".into(),
                "DEV-1/F1" => "DEV-1/NORTH".into(),
                "0xe6c13bd92c28b60390cc149a856312e7435f9abe1495791c6ab78a644e06defc" => {
                    hash_of(&self.tx1)
                }
                "1250:1" => format!("{}:0", self.h1),
                _ => s.clone(),
            }),
            Value::Number(n) => match n.as_u64() {
                Some(1200 | 1250) => json!(self.h1),
                Some(147 | 1284) => json!(self.head),
                Some(490896) => json!(self.hour0),
                _ => v.clone(),
            },
            Value::Array(a) => Value::Array(a.iter().map(|v| self.substitute(v)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), self.substitute(v)))
                    .collect(),
            ),
            _ => v.clone(),
        }
    }

    /// The live parameters for a case: the transactions the `tx_*`
    /// examples send, else the example's own with `substitute`.
    fn params(&self, method: &str, case: &Case) -> Option<Value> {
        let tx = |t: &Transaction| Some(json!([hex_tx(t)]));
        let status = match &case.want {
            Want::Notification(r) => r["status"].as_str().unwrap_or_default(),
            _ => "",
        };
        match (method, case.n) {
            ("tx_submit", 0) => tx(&self.tx1),
            ("tx_submitAndWatch", _) if status == "invalid" || status == "dropped" => {
                tx(&self.forged)
            }
            ("tx_submitAndWatch", _) => tx(&self.tx2),
            // One already final (accepted again), one forged (refused).
            ("tx_submitBatch", _) => Some(json!([[hex_tx(&self.tx1), hex_tx(&self.forged)]])),
            ("tx_dryRun", 0) => tx(&self.tx3),
            ("tx_dryRun", 1) => tx(&self.poor),
            ("tx_getReceipt", 1) => Some(json!([hash_of(&self.poor)])),
            // The pending retirement is behind the simulator's readings.
            ("tx_pending", _) => Some(json!([1000])),
            // The key of `alice`'s account, at the head.
            ("state_getProof", _) => {
                let key = AccountId::parse(&self.alice).unwrap();
                Some(json!([format!("0x01{}", hex::encode(key.0 .0)), self.head]))
            }
            _ => case.params.as_ref().map(|p| self.substitute(p)),
        }
    }
}

/// Subscribes over WebSocket on a thread of its own; the notifications'
/// results as they come.
fn follow(addr: &str, method: &str, params: &Value) -> Result<Arc<Mutex<Vec<Value>>>, String> {
    let unsubscribe = match method {
        "chain_subscribeNewHeads" => "chain_unsubscribeNewHeads",
        "chain_subscribeFinalizedHeads" => "chain_unsubscribeFinalizedHeads",
        "credits_subscribeAccount" => "credits_unsubscribeAccount",
        "sites_subscribeStatus" => "sites_unsubscribeStatus",
        "grid_subscribeAlerts" => "grid_unsubscribeAlerts",
        "tx_submitAndWatch" => "tx_unwatch",
        other => return Err(format!("no unsubscribe method known for {other}")),
    };
    let mut p = ArrayParams::new();
    for v in params.as_array().cloned().unwrap_or_default() {
        p.insert(v).unwrap();
    }
    let pushed = Arc::new(Mutex::new(Vec::new()));
    let sink = pushed.clone();
    let (url, method) = (format!("ws://{addr}"), method.to_string());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let ws = match WsClientBuilder::default().build(url).await {
                Ok(ws) => ws,
                Err(e) => return ready_tx.send(Err(e.to_string())).unwrap(),
            };
            let sub: Result<Subscription<Value>, _> = ws.subscribe(&method, p, unsubscribe).await;
            let mut sub = match sub {
                Ok(s) => s,
                Err(e) => return ready_tx.send(Err(e.to_string())).unwrap(),
            };
            ready_tx.send(Ok(())).unwrap();
            while let Some(Ok(v)) = sub.next().await {
                sink.lock().unwrap().push(v);
            }
        });
    });
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|e| e.to_string())??;
    Ok(pushed)
}

/// The tag a subscription's notifications are told apart by.
fn notification_tag(method: &str, r: &Value) -> Option<String> {
    let t = match method {
        "tx_submitAndWatch" => &r["status"],
        "grid_subscribeAlerts" => &r["event"]["kind"],
        _ => return None,
    };
    t.as_str().map(str::to_string)
}

fn transfer(chain: Hash, from: &Keypair, nonce: u64, to: AccountId, wh: u64) -> Transaction {
    UnsignedTx {
        chain_id: chain,
        signer: AccountId(from.public()),
        nonce,
        body: Body::Transfer {
            to,
            amount: Wh(wh),
            vintages: None,
        },
    }
    .sign(from)
}

/// Starts the live chain's counterparts of the examples and waits (at
/// most about a minute from `start`) until they all exist.
fn prepare(dev: &Dev, base: &std::path::Path, start: Instant) -> Live {
    let addr = wait_for("the RPC address", Duration::from_secs(30), || {
        dev.rpc_addr()
    });
    // Subscribed from the start: the alert opens once, early.
    let alerts = follow(&addr, "grid_subscribeAlerts", &json!([])).expect("grid alerts");
    let chain: Hash = serde_json::from_value(call(&addr, "system_chainId", json!([]))).unwrap();
    let site: Value = wait_for("external-site.json", Duration::from_secs(10), || {
        let text = std::fs::read_to_string(base.join("external-site.json")).ok()?;
        serde_json::from_str(&text).ok()
    });
    let secret = |k: &str| -> Keypair {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(
            site[k].as_str().unwrap().trim_start_matches("0x"),
            &mut seed,
        )
        .unwrap();
        Keypair::from_seed(seed)
    };
    let owner_key = secret("ownerSecret");
    let owner = AccountId(owner_key.public()).to_bech32();
    assert_eq!(site["owner"], owner.as_str());
    let deadline = start + Duration::from_secs(60);
    let until = |what: &str, f: &mut dyn FnMut() -> bool| {
        while !f() {
            if Instant::now() > deadline {
                let out = dev.stdout.lock().unwrap().join("\n");
                panic!("{what} not there in time; output:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        eprintln!("{what}: after {:?}", start.elapsed());
    };

    // Someone without credits: admitted, then dropped from the block.
    let pauper = Keypair::from_seed([0x42; 32]);
    let poor = transfer(chain, &pauper, 0, AccountId(owner_key.public()), 3000);
    call(&addr, "tx_submit", json!([hex_tx(&poor)]));

    // The owner funds an account of the test's own (the simulator signs
    // for the owner too, so its nonces are read again on each try); the
    // other transactions are that account's.
    until("the owner's credits", &mut || {
        let b = call(&addr, "credits_getBalance", json!([owner]));
        b["total"].as_str().unwrap().parse::<u64>().unwrap() >= 50_000
    });
    let alice = Keypair::from_seed([0x11; 32]);
    let to = AccountId(alice.public());
    let mut tx1 = None;
    let mut h1 = 0;
    until("the funding transfer", &mut || {
        let nonce = call(&addr, "credits_getAccount", json!([owner]))["pendingNonce"]
            .as_u64()
            .unwrap();
        let tx = transfer(chain, &owner_key, nonce, to, 20_000);
        rpc_call_raw(&addr, "tx_submit", json!([hex_tx(&tx)]));
        for _ in 0..10 {
            let got = call(&addr, "tx_get", json!([hash_of(&tx)]));
            h1 = got["location"]["height"].as_u64().unwrap_or(0);
            if h1 > 0 {
                tx1 = Some(tx);
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    });
    let tx1 = tx1.unwrap();
    let owner_id = AccountId(owner_key.public());
    let tx2 = transfer(chain, &alice, 0, owner_id, 1500);
    let tx3 = transfer(chain, &alice, 1, owner_id, 1500);
    let mut forged = transfer(chain, &alice, 2, owner_id, 1500);
    forged.signature = pauper.sign(&forged.unsigned.signing_hash());
    // A retirement far ahead of the account's nonces stays pending.
    let retire = UnsignedTx {
        chain_id: chain,
        signer: to,
        nonce: 100,
        body: Body::Retire {
            amount: Wh(500),
            beneficiary: Text::new("Example Co-op").unwrap(),
            purpose: Text::new("office heating, January").unwrap(),
            vintages: None,
        },
    }
    .sign(&alice);
    call(&addr, "tx_submit", json!([hex_tx(&retire)]));

    let genesis_ms = call(&addr, "chain_getGenesis", json!([]))["genesis"]["genesisTimeMs"]
        .as_u64()
        .expect("genesisTimeMs");
    let hour0 = genesis_ms / 3_600_000;
    until("the dropped transfer's receipt", &mut || {
        !call(&addr, "tx_getReceipt", json!([hash_of(&poor)])).is_null()
    });
    until("a closed feeder hour", &mut || {
        let r = call(&addr, "feeders_balance", json!(["DEV-1/NORTH", hour0]));
        !r.as_array().unwrap().is_empty()
    });
    until("an open alert", &mut || {
        !call(&addr, "grid_getAlerts", json!([]))
            .as_array()
            .unwrap()
            .is_empty()
    });
    until("a judged curtailment", &mut || {
        let r = call(&addr, "grid_getCurtailments", json!([{ "state": "past" }]));
        !r.as_array().unwrap().is_empty()
    });
    let head = call(&addr, "chain_getHeader", json!([]))["height"]
        .as_u64()
        .unwrap();
    Live {
        addr,
        owner,
        alice: to.to_bech32(),
        head,
        hour0,
        tx1,
        h1,
        tx2,
        tx3,
        forged,
        poor,
        alerts,
    }
}

// ---------------------------------------------------------------------------
// The test

/// Checks that the `state_getProof` example verifies against its root.
fn proof_verifies(doc: &Value) -> Result<(), String> {
    let hex = |k: &str| -> Result<Vec<u8>, String> {
        let s = doc[k].as_str().ok_or(format!("no `{k}`"))?;
        hex::decode(s.trim_start_matches("0x")).map_err(|e| format!("`{k}`: {e}"))
    };
    let root: Hash = serde_json::from_value(doc["stateRoot"].clone()).map_err(|e| e.to_string())?;
    let key = hex("key")?;
    let value = if doc["value"].is_null() {
        None
    } else {
        Some(hex("value")?)
    };
    let proof: Proof = decode(&hex("proof")?).map_err(|e| format!("the proof: {e}"))?;
    proof
        .verify(
            &root,
            &key_hash(&key),
            value.as_deref().map(value_hash).as_ref(),
        )
        .map_err(|e| format!("{e:?}"))
}

#[test]
fn every_example_in_the_rpc_reference_has_the_live_shape() {
    let doc = doc_text();
    let sections = sections(&doc);
    let mut errs: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // The index, the sections and (below) the node name the same methods.
    let index = index_methods(&doc);
    let documented: BTreeSet<String> = sections.iter().map(|s| s.method.clone()).collect();
    for m in &index {
        match sections.iter().find(|s| s.method == *m) {
            None => errs.push(format!("{m}: in the method index, no section")),
            Some(s) if !cases(s).iter().any(|c| c.params.is_some()) => {
                errs.push(format!("{m}: no example request with its answer"))
            }
            Some(_) => {}
        }
    }
    for m in documented.difference(&index) {
        errs.push(format!("{m}: a section, not in the method index"));
    }
    // The document's own proof verifies against its root.
    let proof_example = sections
        .iter()
        .find(|s| s.method == "state_getProof")
        .and_then(|s| {
            cases(s).into_iter().find_map(|c| match c.want {
                Want::Result(r) => Some(r),
                _ => None,
            })
        })
        .expect("a state_getProof example");
    if let Err(e) = proof_verifies(&proof_example) {
        errs.push(format!(
            "state_getProof: the example does not verify against its stateRoot: {e}"
        ));
    }

    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("chain");
    let dev = Dev::start(
        &base,
        &[
            "--speed",
            "600",
            "--block-time",
            "200ms",
            "--tap-at",
            "0",
            "--curtail-at",
            "2",
            "--external-site",
            "NORTH-MINE",
        ],
    );
    let start = Instant::now();
    let live = prepare(&dev, &base, start);
    let addr = live.addr.clone();

    let methods = call(&addr, "rpc_methods", json!([]));
    for m in methods["methods"].as_array().unwrap() {
        let m = m.as_str().unwrap();
        let named =
            documented.contains(m) || sections.iter().any(|s| s.text.contains(&format!("`{m}`")));
        if !named {
            errs.push(format!("{m}: served by the node, not documented"));
        }
    }
    for m in &documented {
        if !methods["methods"].as_array().unwrap().contains(&json!(m)) {
            errs.push(format!("{m}: documented, not served by `watt dev`"));
        }
    }

    let mut dump = Vec::new();
    for s in &sections {
        let cases = cases(s);
        // Subscriptions: one per distinct parameters, its notifications
        // matched to the documented ones by status or event kind.
        let mut followed: BTreeMap<String, Arc<Mutex<Vec<Value>>>> = BTreeMap::new();
        for c in &cases {
            let at = format!("{} (example {})", s.method, c.n + 1);
            let Some(params) = live.params(&s.method, c) else {
                errs.push(format!(
                    "{at}: an answer without a request, and no live parameters for it in this test"
                ));
                continue;
            };
            let live_value = match &c.want {
                Want::Notification(doc) => {
                    let key = params.to_string();
                    let pushed = if s.method == "grid_subscribeAlerts" {
                        live.alerts.clone()
                    } else if let Some(p) = followed.get(&key) {
                        p.clone()
                    } else {
                        match follow(&addr, &s.method, &params) {
                            Ok(p) => followed.entry(key).or_insert(p).clone(),
                            Err(e) => {
                                errs.push(format!("{at}: subscribing with {params}: {e}"));
                                continue;
                            }
                        }
                    };
                    let want = notification_tag(&s.method, doc);
                    let deadline = Instant::now() + Duration::from_secs(20);
                    let found = loop {
                        let got = pushed
                            .lock()
                            .unwrap()
                            .iter()
                            .find(|r| want.is_none() || notification_tag(&s.method, r) == want)
                            .cloned();
                        if got.is_some() || Instant::now() > deadline {
                            break got;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    };
                    match found {
                        Some(v) => v,
                        None => {
                            errs.push(format!(
                                "{at}: no {} notification within 20 s; got {:?}",
                                want.unwrap_or_default(),
                                pushed.lock().unwrap()
                            ));
                            continue;
                        }
                    }
                }
                _ => {
                    let r = rpc_call_raw(&addr, &s.method, params.clone());
                    match (&c.want, r.get("error")) {
                        (Want::Error(doc), Some(e)) => {
                            if e["code"] != doc["code"] {
                                errs.push(format!(
                                    "{at}: error {} in the doc, the node: {e}",
                                    doc["code"]
                                ));
                            }
                            shape(doc, e, &at, &mut errs, &mut notes);
                            continue;
                        }
                        (Want::Error(doc), None) => {
                            errs.push(format!(
                                "{at}: error {} in the doc, the node answered {r}",
                                doc["code"]
                            ));
                            continue;
                        }
                        (_, Some(e)) => {
                            errs.push(format!("{at}: the node answered {params} with {e}"));
                            continue;
                        }
                        (_, None) => r["result"].clone(),
                    }
                }
            };
            dump.push(json!({"method": s.method, "example": c.n + 1, "params": params, "live": live_value}));
            let (Want::Result(doc) | Want::Notification(doc)) = &c.want else {
                continue;
            };
            if (doc.is_object() || doc.is_array()) && live_value.is_null() {
                errs.push(format!("{at}: the node answered null for {params}"));
                continue;
            }
            let before = errs.len();
            shape(doc, &live_value, &at, &mut errs, &mut notes);
            if errs.len() > before {
                errs.push(format!("{at}: the node's answer to {params}: {live_value}"));
            }
            if s.method == "state_getProof" {
                if let Err(e) = proof_verifies(&live_value) {
                    errs.push(format!("{at}: the node's proof does not verify: {e}"));
                }
            }
        }
    }
    if let Ok(path) = std::env::var("RPC_DOCS_DUMP") {
        let lines: Vec<String> = dump.iter().map(Value::to_string).collect();
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }
    dev.stop();
    for n in &notes {
        eprintln!("not compared: {n}");
    }
    assert!(
        errs.is_empty(),
        "docs/rpc.md differs from the node in {} places:\n{}",
        errs.len(),
        errs.join("\n")
    );
}
