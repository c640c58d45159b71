//! `watt-wallet` through its real binary against a real `watt dev` node
//! (the `watt` binary built beside this test; no simulated community, so
//! nothing else signs with the keys used here).

mod common;

use common::{rpc, Wallet};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};
use watt_genesis::dev_keypair;
use watt_runtime::encoding::BoundedVec;
use watt_runtime::tx::{Body, GenerationReading};
use watt_runtime::types::{AccountId, MeterId, Wh};
use watt_test_support::DevProc;

#[test]
fn keystore_round_trip_wrong_passphrase_and_loose_permissions() {
    let w = Wallet::new("http://127.0.0.1:9");
    let created = w.json(&["key", "generate", "alice"]);
    let account = created["account"].as_str().unwrap().to_string();
    assert!(account.starts_with("watt1"));
    let listed = w.json(&["key", "list"]);
    assert_eq!(listed[0]["name"], "alice");
    let public = w.json(&["key", "export-public", "alice"]);
    assert_eq!(public["account"], account.as_str());
    // Signing offline unlocks the key: the right passphrase works...
    let out = w.keystore.path().join("tx.json");
    let body = r#"{"type":"transfer","to":"watt1syuhwr4g05t4744r23nvxnr7en9cmz53knhr0gja7c84hr7fkw2qqzlu3v","amount":"10","vintages":null}"#;
    let sign = |pass: &str| {
        w.run(
            pass,
            &[
                "sign",
                "--from",
                "alice",
                "--body",
                body,
                "--nonce",
                "0",
                "--chain-id",
                "0x1111111111111111111111111111111111111111111111111111111111111111",
                "--out",
                out.to_str().unwrap(),
            ],
        )
    };
    assert!(sign("correct horse").status.success());
    // ...a wrong one is refused, saying so.
    let bad = sign("wrong");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("passphrase"));
    // A world-readable key file is refused.
    use std::os::unix::fs::PermissionsExt;
    let file = w.dir().join("alice.json");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loose = sign("correct horse");
    assert!(!loose.status.success());
    assert!(String::from_utf8_lossy(&loose.stderr).contains("chmod 600"));
    // A params proposal must give every parameter.
    let out = w.run(
        "correct horse",
        &[
            "gov",
            "propose",
            "--from",
            "alice",
            "--kind",
            "params",
            "--change",
            r#"{"max_block_txs":100}"#,
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Amounts that are not energy are refused before anything is signed.
    let out = w.run(
        "correct horse",
        &[
            "transfer", "--from", "alice", "--to", "watt1x", "--amount", "1.5",
        ],
    );
    assert!(!out.status.success());
}

#[test]
fn offline_sign_then_submit_and_transfers_reach_finality() {
    let node = DevProc::start();
    let w = Wallet::new(&node.url);
    w.import_dev("dev-operator");
    w.import_dev("dev-valley-coop");
    let chain_id = rpc(&node, "system_chainId", Value::Null);
    let chain_id = chain_id.as_str().unwrap().to_string();
    let genesis = rpc(&node, "chain_getGenesis", Value::Null);
    let t0 = genesis["genesis"]["genesisTimeMs"].as_u64().unwrap() / 1000;

    // Mint 5,000 Wh to the coop: a solar reading, relayed by the operator
    // with `send` (any body, as JSON).
    let deadline = Instant::now() + Duration::from_secs(60);
    let chain_id_hash = watt_runtime::crypto::Hash::from_hex(&chain_id).unwrap();
    loop {
        let head = rpc(&node, "chain_getFinalizedHead", Value::Null);
        if head["timestampMs"].as_u64().unwrap_or(0) / 1000 > t0 + 600 {
            break;
        }
        assert!(Instant::now() < deadline, "chain time too slow");
        std::thread::sleep(Duration::from_millis(100));
    }
    let reading = GenerationReading {
        meter: MeterId(1),
        sequence: 1,
        period_start: t0,
        period_end: t0 + 600,
        counter: Wh(5_000),
        flags: 0,
    }
    .sign(&chain_id_hash, &dev_keypair("dev-meter-solar"));
    let body = serde_json::to_string(&watt_rpc_client::view::Body::from(Body::SubmitReadings {
        readings: BoundedVec::new(vec![reading]).unwrap(),
    }))
    .unwrap();
    let sent = w.json(&["send", "--from", "dev-operator", "--body", &body]);
    assert!(sent["location"]["height"].as_u64().unwrap() > 0);

    let coop = AccountId(dev_keypair("dev-valley-coop").public()).to_string();
    let bal = w.json(&["balance", "dev-valley-coop", "--by-vintage"]);
    assert_eq!(bal["total"], "5000");
    assert_eq!(bal["byVintage"][0]["amount"], "5000");
    let text = w.ok(&["balance", &coop, "--unit", "kwh"]);
    assert!(text.contains("5.000 kWh"), "{text}");

    // A transfer, waited for.
    let bob = AccountId(dev_keypair("bob").public()).to_string();
    let t = w.json(&[
        "transfer",
        "--from",
        "dev-valley-coop",
        "--to",
        &bob,
        "--amount",
        "1.5kWh",
    ]);
    assert!(t["location"]["blockHash"]
        .as_str()
        .unwrap()
        .starts_with("0x"));
    assert_eq!(w.json(&["balance", &bob])["total"], "1500");

    // Offline: sign with an explicit nonce and chain id, then submit.
    let info = w.json(&["nonce", "dev-valley-coop"]);
    assert_eq!(info["chainId"], chain_id.as_str());
    let nonce = info["nonce"].as_u64().unwrap();
    let file = w.keystore.path().join("signed.json");
    let body = format!(r#"{{"type":"transfer","to":"{bob}","amount":"500","vintages":null}}"#);
    w.ok(&[
        "sign",
        "--from",
        "dev-valley-coop",
        "--body",
        &body,
        "--nonce",
        &nonce.to_string(),
        "--chain-id",
        &chain_id,
        "--out",
        file.to_str().unwrap(),
    ]);
    let submitted = w.json(&["submit", file.to_str().unwrap(), "--wait", "finalized"]);
    assert!(submitted["location"]["height"].as_u64().unwrap() > 0);
    assert_eq!(w.json(&["balance", &bob])["total"], "2000");
    // Submitting the same file again is not an error: it is already final.
    w.ok(&["submit", file.to_str().unwrap()]);
    // An edited file is refused.
    let mut f: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    f["hash"] = Value::String(format!("0x{}", "00".repeat(32)));
    std::fs::write(&file, f.to_string()).unwrap();
    let out = w.run("correct horse", &["submit", file.to_str().unwrap()]);
    assert!(!out.status.success());

    // Many files go in one `tx_submitBatch` call, one verdict each: two
    // transfers of 1 Wh are final, the one signed for another chain is
    // refused by name, and the command fails because of it.
    let one_wh = format!(r#"{{"type":"transfer","to":"{bob}","amount":"1","vintages":null}}"#);
    let mut files = Vec::new();
    for (i, chain) in [
        chain_id.clone(),
        chain_id.clone(),
        format!("0x{}", "ab".repeat(32)),
    ]
    .iter()
    .enumerate()
    {
        let f = w.keystore.path().join(format!("many-{i}.json"));
        w.ok(&[
            "sign",
            "--from",
            "dev-valley-coop",
            "--body",
            &one_wh,
            "--nonce",
            &(nonce + 1 + i as u64).to_string(),
            "--chain-id",
            chain,
            "--out",
            f.to_str().unwrap(),
        ]);
        files.push(f.to_str().unwrap().to_string());
    }
    let mut args = vec!["--output", "json", "submit", "--wait", "finalized"];
    args.extend(files.iter().map(String::as_str));
    let out = w.run("correct horse", &args);
    assert!(!out.status.success(), "a refused file fails the command");
    let verdicts: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdicts.as_array().unwrap().len(), 3, "{verdicts}");
    for v in &verdicts.as_array().unwrap()[..2] {
        assert_eq!(v["ok"], true, "{v}");
        assert!(v["location"]["height"].as_u64().unwrap() > 0, "{v}");
    }
    assert_eq!(verdicts[2]["ok"], false);
    assert!(
        verdicts[2]["reason"].as_str().unwrap().contains("chain"),
        "{verdicts}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 of 3"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.json(&["balance", &bob])["total"], "2002");
    // A file that is not a transaction stops everything before sending.
    std::fs::write(w.keystore.path().join("junk.json"), "{}").unwrap();
    let junk = w.keystore.path().join("junk.json");
    let out = w.run(
        "correct horse",
        &["submit", &files[0], junk.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.json"));

    // Operators and regulators: a new meter, its approval, a new site.
    w.import_dev("dev-regulator");
    let now = rpc(&node, "chain_getFinalizedHead", Value::Null)["timestampMs"]
        .as_u64()
        .unwrap()
        / 1000;
    let device = |name: &str| format!("0x{}", hex::encode(dev_keypair(name).public().0));
    let (meter_key, site_key, now) = (device("new-meter"), device("new-site"), now.to_string());
    w.json(&[
        "meter",
        "register",
        "--from",
        "dev-operator",
        "--serial",
        "SOL-9",
        "--device-key",
        &meter_key,
        "--zone",
        "DEV-1",
        "--baseline-time",
        &now,
        "--owner",
        &coop,
        "--source",
        "solar",
        "--capacity-w",
        "5000",
    ]);
    w.json(&["meter", "approve", "--from", "dev-regulator", "4"]);
    let meter = rpc(&node, "meters_get", serde_json::json!([4]));
    assert_eq!(meter["serial"], "SOL-9");
    assert_eq!(meter["status"], "active", "{meter}");
    // A site is dark while its record lags block time by more than
    // dark-after (900 s: 1.5 s of this 600x clock): its baseline is now.
    let site_now = (rpc(&node, "chain_getFinalizedHead", Value::Null)["timestampMs"]
        .as_u64()
        .unwrap()
        / 1000)
        .to_string();
    w.json(&[
        "site",
        "register",
        "--from",
        "dev-regulator",
        "--serial",
        "MINE-9",
        "--device-key",
        &site_key,
        "--zone",
        "DEV-1",
        "--baseline-time",
        &site_now,
        "--owner",
        &bob,
        "--max-draw-w",
        "1000",
    ]);
    // Active until its record lags by dark-after (900 chain s, 1.5 s of
    // wall time here): on a slow machine it may be dark already.
    let status = w.json(&["site", "status", "3"]);
    assert!(
        ["active", "dark"].contains(&status["status"].as_str().unwrap_or("")),
        "{status}"
    );
    // A regulator's signature is not an operator's.
    let out = w.run(
        "correct horse",
        &["meter", "approve", "--from", "dev-valley-coop", "4"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("regulator"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Editing the readable part is refused too: `encoded` is what is sent.
    let file2 = w.keystore.path().join("signed2.json");
    w.ok(&[
        "sign",
        "--from",
        "dev-valley-coop",
        "--body",
        &body,
        "--nonce",
        "99",
        "--chain-id",
        &chain_id,
        "--out",
        file2.to_str().unwrap(),
    ]);
    let mut f: Value = serde_json::from_str(&std::fs::read_to_string(&file2).unwrap()).unwrap();
    f["tx"]["unsigned"]["body"]["amount"] = Value::String("999999".into());
    std::fs::write(&file2, f.to_string()).unwrap();
    let out = w.run("correct horse", &["submit", file2.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("edited"));

    // Retire, history and a site's status.
    w.json(&[
        "retire",
        "--from",
        "dev-valley-coop",
        "--amount",
        "100",
        "--beneficiary",
        "Town hall",
        "--purpose",
        "street lights",
    ]);
    let history = w.json(&["history", "dev-valley-coop"]);
    let kinds: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["kind"].as_str().unwrap())
        .collect();
    for k in ["minted", "transferred", "retired"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let site = w.json(&["site", "status", "1"]);
    assert_eq!(site["site"], 1);
    assert!(site["allowed"].is_boolean());
    // --dry-run tries without sending: a transfer beyond the balance (2,898
    // Wh left) names the rule, one within it lists its events, and neither
    // moves a credit or the nonce.
    let nonce_before = w.json(&["nonce", "dev-valley-coop"])["nonce"].clone();
    assert!(nonce_before.is_u64());
    let to_bob = |amount: &str| {
        vec![
            "transfer",
            "--from",
            "dev-valley-coop",
            "--to",
            bob.as_str(),
            "--amount",
        ]
        .into_iter()
        .chain([amount])
        .map(str::to_string)
        .collect::<Vec<String>>()
    };
    let dry = |amount: &str| {
        let mut args = vec!["--dry-run".to_string()];
        args.extend(to_bob(amount));
        args
    };
    let args = dry("1MWh");
    let out = w.run(
        "correct horse",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("would break `insufficientBalance`") && err.contains("nothing was sent"),
        "{err}"
    );
    let args = dry("100");
    let tried = w.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        tried.contains("would apply") && tried.contains("transferred"),
        "{tried}"
    );
    assert_eq!(w.json(&["nonce", "dev-valley-coop"])["nonce"], nonce_before);
    assert_eq!(w.json(&["balance", &bob])["total"], "2002");

    // Receipts: the finalised transfer's names its block and events; a
    // transfer that passes admission but not the balance rule when its
    // block is built is dropped with the rule and the block; an unknown id
    // is an error.
    let receipt = w.ok(&["receipt", t["hash"].as_str().unwrap()]);
    assert!(
        receipt.starts_with("finalized: ") && receipt.contains("events: transferred"),
        "{receipt}"
    );
    let mut first = to_bob("2000");
    first.extend(["--wait", "none"].map(str::to_string));
    w.ok(&first.iter().map(String::as_str).collect::<Vec<_>>());
    let mut second = to_bob("2000");
    second.extend(["--wait", "none", "--output", "json"].map(str::to_string));
    let sent: Value =
        serde_json::from_str(&w.ok(&second.iter().map(String::as_str).collect::<Vec<_>>()))
            .unwrap();
    let hash = sent["hash"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let dropped = loop {
        let out = w.run("correct horse", &["receipt", &hash]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if text.starts_with("dropped: ") {
            break text;
        }
        assert!(Instant::now() < deadline, "no dropped receipt: {text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        dropped.contains("broke `insufficientBalance` when block "),
        "{dropped}"
    );
    let unknown = w.run(
        "correct horse",
        &["receipt", &format!("0x{}", "ab".repeat(32))],
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("knows no transaction"));

    // A node that is not there: a clear error.
    let gone = Wallet::new("http://127.0.0.1:9");
    let out = gone.run("x", &["balance", &coop]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the node"));
}

#[test]
fn site_watch_prints_stop_when_a_site_goes_dark() {
    use std::io::{BufRead, BufReader};
    // Without the simulated community no site reports: after the zone's
    // dark-after (600 chain seconds, one wall second here) site 1 is dark.
    let node = DevProc::start();
    let w = Wallet::new(&node.url);
    let mut watch = Command::new(env!("CARGO_BIN_EXE_watt-wallet"))
        .args([
            "--rpc-url",
            &node.url,
            "--output",
            "json",
            "site",
            "watch",
            "1",
        ])
        .arg("--keystore")
        .arg(w.dir())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        // Each status is one JSON object on one line.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stopped = false;
    while Instant::now() < deadline && !stopped {
        if let Ok(doc) = rx.recv_timeout(Duration::from_millis(500)) {
            let v: Value = serde_json::from_str(&doc).expect("each status is JSON");
            assert_eq!(v["site"], 1);
            stopped = v["allowed"] == false && v["status"] == "dark";
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(stopped, "site watch never printed the dark site's stop");
}
