//! A chain built block by block for the in-process audit tests
//! (`#[path]`-included by audit_feeders and audit_sandbox): the node's own
//! `Chain` with certificates from every authority's key, and a test-kit
//! mirror of it for nonces, sequences and device keys.

use std::collections::HashMap;
use std::path::PathBuf;
use watt_node::chain::Chain;
use watt_runtime::block::{CommitCertificate, ValidatorSet, Vote, VoteKind};
use watt_runtime::crypto::{Hash, Keypair, PublicKey};
use watt_runtime::genesis::Genesis;
use watt_runtime::testkit::TestChain;
use watt_runtime::tx::Transaction;
use watt_runtime::types::Height;

/// A commit certificate for `hash` signed by every key in `keys`.
pub fn certify(
    set: &ValidatorSet,
    keys: &[Keypair],
    chain_id: Hash,
    height: Height,
    hash: Hash,
) -> CommitCertificate {
    let votes: Vec<_> = keys
        .iter()
        .map(|k| {
            Vote {
                kind: VoteKind::Precommit,
                chain_id,
                height,
                round: 0,
                block_hash: Some(hash),
                validator: k.public(),
            }
            .sign(k)
        })
        .collect();
    CommitCertificate::from_precommits(set, height, 0, hash, &votes)
}

pub struct Built {
    /// The test's directory.
    pub dir: tempfile::TempDir,
    /// The chain's genesis.
    pub genesis: Genesis,
    /// Every authority's consensus key, for a forger who holds them all,
    /// and their set.
    pub keys: Vec<Keypair>,
    /// The authorities' set.
    pub set: ValidatorSet,
}

impl Built {
    /// The node's data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    /// A file in the test's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The node's chain and a test-kit mirror of it (nonces, sequences, keys).
pub struct Builder {
    /// The node's chain.
    pub chain: Chain,
    /// The test kit's mirror.
    pub tc: TestChain,
    /// Every consensus key, by public key.
    pub keys: HashMap<PublicKey, Keypair>,
    /// The last height built.
    pub height: u64,
}

impl Builder {
    /// One finalised block at `t_s` with `txs`, applied to both.
    pub fn block(&mut self, t_s: u64, txs: Vec<Transaction>) {
        for r in self.chain.submit(txs.clone()) {
            r.unwrap();
        }
        self.height += 1;
        let h = Height(self.height);
        let set = self.chain.next_validators().unwrap();
        let signers: Vec<Keypair> = set
            .validators()
            .iter()
            .map(|v| self.keys[&v.consensus_key].clone())
            .collect();
        let hash = self
            .chain
            .build_block(h, t_s * 1000, signers[0].public())
            .unwrap();
        let cert = certify(&set, &signers, self.chain.chain_id(), h, hash);
        let committed = self.chain.commit(&hash, cert).unwrap();
        assert_eq!(committed.txs, txs.len(), "block {h} includes every tx");
        self.tc.at_s(t_s);
        self.tc.apply(txs).unwrap();
    }
}
