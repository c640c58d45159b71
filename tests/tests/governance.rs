//! Validator-set changes by vote on a real network of `watt run`
//! processes: an authority added starts validating, a removed one stops
//! counting, a rotated key takes over at its activation height, and a
//! fresh full node syncs from genesis across all three.

use serde_json::{json, Value};
use std::time::Duration;
use watt_rpc_client::builders::{propose_add_authority, propose_authority_change, vote};
use watt_rpc_client::view;
use watt_runtime::crypto::{Keypair, PublicKey};
use watt_runtime::exec::ACTIVATION_DELAY;
use watt_runtime::tx::AuthorityChange;
use watt_runtime::types::{AccountId, ProposalId};
use watt_tests::{chain_id, read_key, submit, wait_for, watt, NodeProc, Testnet};

const T: Duration = Duration::from_secs(90);

fn proposers(node: &NodeProc, from: u64, to: u64) -> Vec<(u64, PublicKey)> {
    (from..=to)
        .map(|h| {
            let p = node.header(h)["proposer"].as_str().unwrap().to_string();
            (h, PublicKey::from_hex(&p).unwrap())
        })
        .collect()
}

fn authorities(node: &NodeProc) -> Vec<Value> {
    node.call("gov_getAuthorities", json!([]))
        .expect("gov_getAuthorities")
        .as_array()
        .expect("array")
        .clone()
}

fn set_validator_key(node: &NodeProc, file: &str) {
    let path = node.dir.join("node.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("validator_key") && !l.starts_with("# A full node"))
        .collect();
    let text = format!("validator_key = \"{file}\"\n{}\n", kept.join("\n"));
    std::fs::write(path, text).unwrap();
}

fn key_file(node: &NodeProc, name: &str) -> Keypair {
    let path = node.dir.join(name);
    if !path.exists() {
        watt(&["key", "generate", "--out", path.to_str().unwrap()]);
    }
    read_key(&path)
}

#[test]
fn authorities_added_removed_and_rotated_by_vote_and_a_fresh_full_node_syncs_across() {
    // Four validators; full-1 becomes the fifth authority, full-2 joins
    // at the end.
    let mut net = Testnet::create(4, 2, "200ms");
    let (v, f1, f2) = ([0usize, 1, 2, 3], 4usize, 5usize);
    let op: Vec<Keypair> = v
        .iter()
        .map(|&i| read_key(&net.nodes[i].dir.join("operator.key")))
        .collect();
    let consensus: Vec<Keypair> = v
        .iter()
        .map(|&i| read_key(&net.nodes[i].dir.join("consensus.key")))
        .collect();
    let new_op = key_file(&net.nodes[f1], "operator.key");
    let new_consensus = key_file(&net.nodes[f1], "consensus.key");
    set_validator_key(&net.nodes[f1], "consensus.key");
    net.start(&[0, 1, 2, 3, f1]);
    net.wait_height(&[0, 1, 2, 3, f1], 2, T);
    let chain = chain_id(&net.nodes[0]);
    let at = |n: &NodeProc| n.height().unwrap();

    // Add: proposed by validator-1 (its yes counts), two more yes of four.
    let body =
        propose_add_authority(&chain, AccountId(new_op.public()), &new_consensus, "v5").unwrap();
    submit(&net.nodes[0], &op[0], body);
    submit(&net.nodes[1], &op[1], vote(ProposalId(1), true));
    let passed = submit(&net.nodes[2], &op[2], vote(ProposalId(1), true));
    let active = passed + ACTIVATION_DELAY;
    net.nodes[0].wait_height(active, T);
    assert_eq!(authorities(&net.nodes[0]).len(), 5);
    let by_new = wait_for("the added authority to propose a block", T, || {
        let head = at(&net.nodes[0]);
        proposers(&net.nodes[0], active, head)
            .into_iter()
            .find(|(_, p)| *p == new_consensus.public())
    });
    assert!(by_new.0 >= active);
    assert!(proposers(&net.nodes[0], 1, active - 1)
        .iter()
        .all(|(_, p)| *p != new_consensus.public()));

    // Remove validator-4: four yes of five.
    let remove = AuthorityChange::Remove {
        operator: AccountId(op[3].public()),
    };
    submit(&net.nodes[0], &op[0], propose_authority_change(remove));
    submit(&net.nodes[1], &op[1], vote(ProposalId(2), true));
    submit(&net.nodes[2], &op[2], vote(ProposalId(2), true));
    let passed = submit(&net.nodes[f1], &new_op, vote(ProposalId(2), true));
    let active = passed + ACTIVATION_DELAY;
    net.nodes[0].wait_height(active + 1, T);
    assert_eq!(authorities(&net.nodes[0]).len(), 4);
    // It no longer counts: with it and validator-3 down, three of the four
    // authorities are up and finality goes on (were it still counted,
    // three of five would stall).
    net.nodes[3].kill();
    net.nodes[2].kill();
    let h = net.max_height(&[0, 1, f1]);
    net.wait_height(&[0, 1, f1], h + 5, T);
    let head = at(&net.nodes[0]);
    assert!(proposers(&net.nodes[0], active, head)
        .iter()
        .all(|(_, p)| *p != consensus[3].public()));
    net.nodes[2].start();

    // Rotate validator-2's key: three yes of four. The old key signs up to
    // the activation height, the new one from there: the operator restarts
    // the node with the new key file after it.
    let rotated = key_file(&net.nodes[1], "consensus-2.key");
    let rotate = AuthorityChange::Rotate {
        operator: AccountId(op[1].public()),
        consensus_key: rotated.public(),
        // Made by the operator's tool, as the operator guide does it.
        proof: serde_json::from_str::<view::ProofOfPossession>(&watt(&[
            "key",
            "prove",
            "--key",
            net.nodes[1].dir.join("consensus-2.key").to_str().unwrap(),
            "--operator",
            &AccountId(op[1].public()).to_string(),
            "--chain-id",
            &chain.to_string(),
        ]))
        .unwrap()
        .into(),
    };
    submit(&net.nodes[1], &op[1], propose_authority_change(rotate));
    submit(&net.nodes[0], &op[0], vote(ProposalId(3), true));
    let passed = submit(&net.nodes[f1], &new_op, vote(ProposalId(3), true));
    let active = passed + ACTIVATION_DELAY;
    net.nodes[0].wait_height(active + 2, T);
    net.nodes[1].stop();
    set_validator_key(&net.nodes[1], "consensus-2.key");
    net.nodes[1].start();
    let by_rotated = wait_for("the rotated key to propose a block", T, || {
        let head = at(&net.nodes[0]);
        proposers(&net.nodes[0], active, head)
            .into_iter()
            .find(|(_, p)| *p == rotated.public())
    });
    assert!(by_rotated.0 >= active);
    let head = at(&net.nodes[0]);
    for (h, p) in proposers(&net.nodes[0], 1, head) {
        assert!(
            !(p == consensus[1].public() && h >= active),
            "the old key proposed block {h} after the rotation at {active}"
        );
        assert!(
            !(p == rotated.public() && h < active),
            "the new key proposed block {h} before the rotation at {active}"
        );
    }

    // A fresh full node syncs from genesis across the three changes and
    // serves the same blocks and state root.
    net.nodes[f2].start();
    let target = at(&net.nodes[0]);
    net.nodes[f2].wait_height(target, T);
    net.assert_same_chain(&[0, f2], target);
    assert_eq!(
        net.nodes[f2].header(target)["stateRoot"],
        net.nodes[0].header(target)["stateRoot"]
    );
}
