//! Real `watt run` processes on 127.0.0.1, written by `watt testnet`:
//! finality with validators lost and back, a crash between the consensus
//! log and the vote, validator-set changes by vote with a fresh full node
//! syncing across them, and the recovery fork.

use serde_json::json;
use std::time::Duration;
use watt_tests::Testnet;

const T: Duration = Duration::from_secs(60);

/// Heights the listed nodes finalise over `window`: none when finality has
/// stopped (a block already voted may still land: at most one).
fn progress(net: &Testnet, which: &[usize], window: Duration) -> u64 {
    let before = net.max_height(which);
    std::thread::sleep(window);
    net.max_height(which) - before
}

#[test]
fn four_validators_carry_on_without_one_stop_without_two_and_resume() {
    let mut net = Testnet::create(4, 0, "200ms");
    net.start(&[0, 1, 2, 3]);
    net.wait_height(&[0, 1, 2, 3], 3, T);

    net.nodes[3].kill();
    let h = net.max_height(&[0, 1, 2]);
    net.wait_height(&[0, 1, 2], h + 5, T);

    net.nodes[2].kill();
    std::thread::sleep(Duration::from_secs(1));
    let stalled = progress(&net, &[0, 1], Duration::from_secs(4));
    assert!(
        stalled <= 1,
        "two of four validators finalised {stalled} blocks without a quorum"
    );

    net.nodes[2].start();
    let h = net.max_height(&[0, 1]);
    net.wait_height(&[0, 1, 2], h + 3, T);
    net.nodes[3].start();
    let h = net.max_height(&[0, 1, 2]);
    net.wait_height(&[0, 1, 2, 3], h + 2, T);
    let upto = (0..4).filter_map(|i| net.nodes[i].height()).min().unwrap();
    net.assert_same_chain(&[0, 1, 2, 3], upto);
}

#[test]
fn a_validator_aborted_after_syncing_its_vote_restarts_without_equivocating() {
    let mut net = Testnet::create(4, 0, "200ms");
    net.nodes[0].env = vec![("WATT_FAILPOINT".into(), "after-consensus-log-sync".into())];
    net.start(&[0, 1, 2, 3]);
    let status = net.nodes[0].wait_exit(T);
    assert!(!status.success(), "the failpoint aborts the process");
    assert!(net.nodes[0]
        .log()
        .contains("failpoint after-consensus-log-sync"));

    // It restarts at once, while the others may still be in the round it
    // voted in: it must send the vote it logged, never another.
    net.nodes[0].env.clear();
    net.nodes[0].start();
    let h = net.max_height(&[1, 2, 3]);
    net.wait_height(&[0, 1, 2, 3], h + 10, T);
    let upto = (0..4).filter_map(|i| net.nodes[i].height()).min().unwrap();
    net.assert_same_chain(&[0, 1, 2, 3], upto);
    for n in &net.nodes {
        assert!(
            !n.log().contains("equivocation seen"),
            "{} saw an equivocation",
            n.name
        );
    }
    let events = net.nodes[1]
        .call(
            "audit_getEvents",
            json!([{"fromHeight": 1, "toHeight": upto, "kinds": ["equivocationProven"]}]),
        )
        .expect("audit_getEvents");
    assert_eq!(events["events"], json!([]), "evidence on chain: {events}");
}

#[test]
fn a_transaction_sent_to_a_full_node_is_gossiped_and_finalised() {
    // Only validators propose: a transaction reaches a block from a full
    // node's RPC only through gossip.
    let mut net = Testnet::create(4, 1, "200ms");
    net.start(&[0, 1, 2, 3, 4]);
    net.wait_height(&[0, 4], 2, T);
    let regulator = watt_tests::read_key(&net.root().join("regulator.key"));
    let body = watt_rpc_client::builders::propose_regulator_change(
        watt_runtime::tx::RegulatorChange::Add {
            account: watt_runtime::types::AccountId(
                watt_runtime::crypto::Keypair::from_seed([5; 32]).public(),
            ),
        },
    );
    let height = watt_tests::submit(&net.nodes[4], &regulator, body);
    // The full node saw it final; validator 0 may store it a moment later.
    net.wait_height(&[0], height, T);
    let block = net.nodes[0]
        .call("chain_getBlock", json!([height]))
        .expect("chain_getBlock");
    assert_eq!(
        block["transactions"].as_array().map(Vec::len),
        Some(1),
        "{block}"
    );
}

/// Removes a validator's signing record (beside its key).
fn wipe_record(dir: &std::path::Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".signing") {
            std::fs::remove_file(p).unwrap();
        }
    }
}

#[test]
fn a_validator_restarted_on_an_empty_data_directory_never_signs_at_old_heights() {
    let mut net = Testnet::create(4, 0, "200ms");
    let all = [0, 1, 2, 3];
    net.start(&all);
    net.wait_height(&all, 5, T);

    // Its data directory lost, its signing record kept: the record's marks
    // forbid every height it signed at while it syncs back.
    net.nodes[3].kill();
    std::fs::remove_dir_all(net.nodes[3].dir.join("data")).unwrap();
    net.nodes[3].start();
    let h = net.max_height(&[0, 1, 2]);
    net.wait_height(&all, h + 10, T);

    // Both lost: it signs nothing until it has seen the chain decide a
    // height it was working on, by a verified certificate.
    net.nodes[3].kill();
    std::fs::remove_dir_all(net.nodes[3].dir.join("data")).unwrap();
    wipe_record(&net.nodes[3].dir);
    let at_restart = net.max_height(&[0, 1, 2]);
    net.nodes[3].start();
    net.wait_height(&all, at_restart + 10, T);
    let log = net.nodes[3].log();
    // It opened signing only at the live tip, past every height it could
    // have signed at before it lost its record.
    let caught_up: u64 = log
        .lines()
        .find(|l| l.contains("caught up: the chain decided"))
        .and_then(|l| l.split("height=").nth(1))
        .and_then(|h| h.split_whitespace().next())
        .and_then(|h| h.parse().ok())
        .expect("a caught-up line with its height");
    assert!(
        caught_up > at_restart,
        "caught up at {caught_up}, the chain was at {at_restart} when it restarted"
    );
    assert!(
        log.contains("not signing until caught up"),
        "no catch-up notice"
    );
    assert!(log.contains("caught up"), "never caught up");
    // It signs again: it proposes blocks once more.
    let key = watt_tests::read_key(&net.nodes[3].dir.join("consensus.key")).public();
    let from = net.max_height(&all);
    net.wait_height(&all, from + 12, T);
    let proposed = (from + 1..=from + 12)
        .filter(|h| net.nodes[0].header(*h)["proposer"] == json!(key.to_string()))
        .count();
    assert!(proposed > 0, "the restarted validator never proposed again");

    let upto = (0..4).filter_map(|i| net.nodes[i].height()).min().unwrap();
    net.assert_same_chain(&all, upto);
    for n in &net.nodes {
        assert!(!n.log().contains("equivocation seen"), "{}", n.name);
    }
    let events = net.nodes[0]
        .call(
            "audit_getEvents",
            json!([{"fromHeight": 1, "toHeight": upto, "kinds": ["equivocationProven"]}]),
        )
        .expect("audit_getEvents");
    assert_eq!(events["events"], json!([]), "evidence on chain: {events}");

    // --new-chain is refused on a chain this validator has seen decide.
    net.nodes[3].kill();
    let out = std::process::Command::new(watt_tests::watt_bin())
        .args(["run", "--config"])
        .arg(net.nodes[3].dir.join("node.toml"))
        .arg("--new-chain")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--new-chain is only for the first start"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
