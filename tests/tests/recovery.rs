//! The recovery path end to end: half of a four-validator network is lost
//! for good, finality stops; the survivors fork a new genesis from the last
//! finalised state with a new authority set; the new chain finalises, holds
//! the old state, names the old chain, height and state root it continues,
//! and passes `watt audit`.

use serde_json::json;
use std::path::Path;
use std::time::Duration;
use watt_rpc_client::builders::propose_regulator_change;
use watt_runtime::crypto::Keypair;
use watt_runtime::tx::RegulatorChange;
use watt_runtime::types::AccountId;
use watt_tests::{chain_id, free_ports, read_key, submit, watt, NodeProc, Testnet};

const T: Duration = Duration::from_secs(60);

fn key_at(path: &Path) -> Keypair {
    if !path.exists() {
        watt(&["key", "generate", "--out", path.to_str().unwrap()]);
    }
    read_key(path)
}

#[test]
fn a_network_that_lost_half_its_validators_recovers_by_fork() {
    let mut net = Testnet::create(4, 0, "200ms");
    net.start(&[0, 1, 2, 3]);
    net.wait_height(&[0, 1, 2, 3], 3, T);

    // Something on record: the regulator proposes a second regulator (an
    // open proposal, and the regulator's nonce moves to 1).
    let regulator = read_key(&net.root().join("regulator.key"));
    let extra = Keypair::from_seed([7; 32]);
    submit(
        &net.nodes[0],
        &regulator,
        propose_regulator_change(RegulatorChange::Add {
            account: AccountId(extra.public()),
        }),
    );

    // Validators 3 and 4 are lost for good: finality stops.
    net.nodes[2].kill();
    net.nodes[3].kill();
    std::thread::sleep(Duration::from_secs(2));
    let old_height = net.nodes[0].height().unwrap();
    let old_header = net.nodes[0].header(old_height);
    let old_chain = net.nodes[0]
        .call("system_chainId", json!([]))
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    net.nodes[0].stop();
    net.nodes[1].stop();

    // The survivors and two new operators form the new authority set.
    let root = net.root();
    let fork = root.join("fork");
    std::fs::create_dir_all(&fork).unwrap();
    let spec = fork.join("fork.toml");
    let spec_s = spec.to_str().unwrap();
    watt(&[
        "genesis",
        "init",
        "--spec",
        spec_s,
        "--chain-name",
        "watt-recovered",
    ]);
    let mut members = Vec::new();
    for (i, name) in ["validator-1", "validator-2", "new-1", "new-2"]
        .iter()
        .enumerate()
    {
        let dir = fork.join(format!("rec-{}", i + 1));
        std::fs::create_dir_all(&dir).unwrap();
        let old_dir = root.join(name);
        let (consensus, operator) = if i < 2 {
            (old_dir.join("consensus.key"), old_dir.join("operator.key"))
        } else {
            (dir.join("consensus.key"), dir.join("operator.key"))
        };
        let (c, o) = (key_at(&consensus), key_at(&operator));
        watt(&[
            "genesis",
            "add-authority",
            "--spec",
            spec_s,
            "--name",
            name,
            "--operator",
            &AccountId(o.public()).to_string(),
            "--consensus-key",
            &c.public().to_string(),
        ]);
        let node_key = dir.join("node.key");
        let identity = key_at(&node_key);
        members.push((dir, consensus, identity));
    }
    let out = watt(&[
        "genesis",
        "fork",
        "--base-path",
        root.join("validator-1/data").to_str().unwrap(),
        "--spec",
        spec_s,
        "--out",
        fork.to_str().unwrap(),
    ]);
    assert!(
        out.contains(&format!("at height         {old_height}")),
        "{out}"
    );

    // Every member writes a node.toml for the new chain, fresh data dirs.
    let ports = free_ports(8);
    let mut nodes = Vec::new();
    for (i, (dir, consensus, _)) in members.iter().enumerate() {
        let peers: Vec<String> = members
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, m)| format!("\"127.0.0.1:{}@{}\"", ports[2 * j], m.2.public()))
            .collect();
        let toml = format!(
            "base_path = \"data\"\ngenesis = \"../genesis.json\"\ngenesis_state = \"../genesis.state\"\n\
             validator_key = \"{}\"\nblock_time_ms = 200\n\n[network]\nlisten = \"127.0.0.1:{}\"\n\
             node_key = \"node.key\"\npeers = [{}]\n\n[rpc]\naddr = \"127.0.0.1:{}\"\n\n\
             [consensus]\npropose_ms = 400\nprevote_ms = 200\nprecommit_ms = 200\ndelta_ms = 100\ncap_ms = 2000\nrebroadcast_ms = 500\n",
            consensus.display(),
            ports[2 * i],
            peers.join(", "),
            ports[2 * i + 1]
        );
        std::fs::write(dir.join("node.toml"), toml).unwrap();
        let mut n = NodeProc::new(&format!("rec-{}", i + 1), dir.clone());
        n.start();
        nodes.push(n);
    }
    for n in &nodes {
        n.wait_height(3, T);
    }

    // The new chain names what it continues, and that is the old chain's
    // block at that height.
    let genesis = nodes[0].call("chain_getGenesis", json!([])).unwrap();
    let continues = &genesis["genesis"]["continues"];
    assert_eq!(continues["chainId"], json!(old_chain), "{genesis}");
    assert_eq!(continues["height"], json!(old_height), "{genesis}");
    assert_eq!(continues["stateRoot"], old_header["stateRoot"], "{genesis}");
    assert_ne!(genesis["chainId"], json!(old_chain));

    // The old state carried over: the regulator's nonce; its proposal was
    // closed with the old authority set.
    let account = nodes[1]
        .call(
            "credits_getAccount",
            json!([AccountId(regulator.public()).to_string()]),
        )
        .unwrap();
    assert_eq!(account["nonce"], json!(1), "{account}");
    let proposals = nodes[1].call("gov_getProposals", json!([])).unwrap();
    assert_eq!(proposals[0]["id"], json!(1), "{proposals}");
    assert_eq!(proposals[0]["status"], json!("expired"), "{proposals}");

    // An auditor verifies the new chain from its data directory (which
    // keeps the snapshot) after stopping that node.
    let target = nodes[0].height().unwrap();
    nodes[3].stop();
    let report = fork.join("audit");
    let new_chain = chain_id(&nodes[0]).to_string();
    let out = watt(&[
        "audit",
        "--quiet",
        "--chain-id",
        &new_chain,
        "--source",
        members[3].0.join("data").to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(out.contains("audit passed"), "{out}");
    assert!(target >= 3);
}
