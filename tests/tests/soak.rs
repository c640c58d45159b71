//! The long mode's crash part (`scripts/soak`, never CI): a four-validator
//! network of `watt run` processes under a steady load of transactions,
//! crashed `WATT_SOAK_CRASHES` times (default 100) by `kill -9` at a random
//! moment or by a failpoint (after the signing record is synced, or in the
//! middle of a block's write), each restarted at once. After every restart
//! nothing finalised is lost: the crashed validator still holds every
//! height it had finalised, with the same hashes as the others, and the
//! network goes on. At the end: one chain, no equivocation.
//!
//! Run: `WATT_SOAK_CRASHES=100 cargo test --profile dev -p watt-tests
//! --test soak -- --ignored --nocapture`.

use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use watt_runtime::crypto::Keypair;
use watt_runtime::tx::RegulatorChange;
use watt_runtime::types::AccountId;
use watt_tests::{read_key, rpc_call, Testnet};

const T: Duration = Duration::from_secs(90);

fn crashes() -> u64 {
    std::env::var("WATT_SOAK_CRASHES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
}

/// Submits a regulator proposal every 50 ms to whichever node answers.
fn load(net: &Testnet, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    use watt_rpc_client::client::Signer;
    let regulator = read_key(&net.root().join("regulator.key"));
    let addrs: Vec<String> = net.nodes.iter().map(|n| n.rpc_addr.clone()).collect();
    std::thread::spawn(move || {
        let chain = loop {
            if let Ok(v) = rpc_call(&addrs[0], "system_chainId", json!([])) {
                break watt_runtime::crypto::Hash::from_hex(v.as_str().unwrap()).unwrap();
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let signer = Signer::new(Keypair::from_seed(regulator.seed()), chain);
        let who = AccountId(regulator.public());
        let mut i = 0u64;
        let mut next: Option<u64> = None;
        let nonce_of = |v: &serde_json::Value, f: &str| {
            v[f].as_u64()
                .or_else(|| v[f].as_str().and_then(|s| s.parse().ok()))
        };
        while !stop.load(Ordering::Relaxed) {
            i += 1;
            std::thread::sleep(Duration::from_millis(50));
            let addr = &addrs[(i % addrs.len() as u64) as usize];
            if next.is_none() {
                let Ok(a) = rpc_call(addr, "credits_getAccount", json!([who.to_string()])) else {
                    continue;
                };
                next = nonce_of(&a, "pendingNonce").max(nonce_of(&a, "nonce"));
            }
            let Some(nonce) = next else { continue };
            let account = AccountId(Keypair::from_seed([(i % 250) as u8 + 1; 32]).public());
            let body = watt_rpc_client::builders::propose_regulator_change(RegulatorChange::Add {
                account,
            });
            let tx = signer.sign(nonce, body);
            let hex = format!("0x{}", hex::encode(watt_runtime::encoding::encode(&tx)));
            if rpc_call(addr, "tx_submit", json!([hex])).is_ok() {
                sent.fetch_add(1, Ordering::Relaxed);
                next = Some(nonce + 1);
            } else {
                next = None;
            }
        }
    })
}

#[test]
#[ignore = "the long mode: scripts/soak"]
fn crashes_under_load_never_lose_a_finalised_block() {
    let n = crashes();
    let started = Instant::now();
    let mut net = Testnet::create(4, 0, "200ms");
    let all = [0usize, 1, 2, 3];
    net.start(&all);
    net.wait_height(&all, 3, T);
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let loader = load(&net, stop.clone(), sent.clone());
    let mut seed = 0x5eed_u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut kills, mut failpoints) = (0, 0);
    for i in 0..n {
        let v = (rand() % 4) as usize;
        let before = net.nodes[v].height().unwrap_or(0);
        let hashes: Vec<String> = (before.saturating_sub(3).max(1)..=before)
            .map(|h| net.nodes[v].header(h)["hash"].to_string())
            .collect();
        match rand() % 3 {
            0 => {
                // A failpoint: restart it with the failpoint set, and let
                // it abort there.
                let point = if rand() % 2 == 0 {
                    "after-consensus-log-sync"
                } else {
                    "mid-block-write"
                };
                net.nodes[v].kill();
                net.nodes[v].env = vec![("WATT_FAILPOINT".into(), point.into())];
                net.nodes[v].start();
                let status = net.nodes[v].wait_exit(T);
                assert!(!status.success(), "crash {i}: the failpoint {point} aborts");
                net.nodes[v].env.clear();
                failpoints += 1;
            }
            _ => {
                std::thread::sleep(Duration::from_millis(rand() % 1_500));
                net.nodes[v].kill();
                kills += 1;
            }
        }
        net.nodes[v].start();
        // Nothing it had finalised is lost, and it catches up.
        let others: Vec<usize> = all.iter().copied().filter(|&j| j != v).collect();
        let target = net.max_height(&others).max(before);
        net.nodes[v].wait_height(target, T);
        for (k, h) in (before.saturating_sub(3).max(1)..=before).enumerate() {
            assert_eq!(
                net.nodes[v].header(h)["hash"].to_string(),
                hashes[k],
                "crash {i}: validator {v} lost or changed height {h}"
            );
        }
        if i % 10 == 9 {
            println!(
                "soak crashes: {} of {n} done, height {}, {} transactions sent, {:.0} s",
                i + 1,
                net.max_height(&all),
                sent.load(Ordering::Relaxed),
                started.elapsed().as_secs_f64()
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    loader.join().unwrap();
    let h = net.max_height(&all);
    net.wait_height(&all, h + 3, T);
    let upto = all
        .iter()
        .filter_map(|&i| net.nodes[i].height())
        .min()
        .unwrap();
    net.assert_same_chain(&all, upto);
    for node in &net.nodes {
        assert!(!node.log().contains("equivocation seen"), "{}", node.name);
    }
    let events = net.nodes[0]
        .call(
            "audit_getEvents",
            json!([{"fromHeight": upto.saturating_sub(9_999).max(1), "toHeight": upto, "kinds": ["equivocationProven"]}]),
        )
        .unwrap();
    assert_eq!(events["events"], json!([]));
    println!(
        "soak crashes: {n} crashes ({kills} kill -9, {failpoints} failpoints) under load, {} transactions sent, {upto} heights on one chain, no finalised block lost, {:.0} s",
        sent.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
}
