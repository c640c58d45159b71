//! Whole-network tests: real `watt` processes on 127.0.0.1, through the
//! harness in `watt-test-support`, and the measuring harness behind
//! `scripts/bench/run` ([`mod@bench`]).
//!
//! Tests that use this run one at a time (the `processes` group in
//! .config/nextest.toml): the nodes share two cores.

pub mod bench;

pub use watt_test_support::*;

use std::time::Duration;
use watt_runtime::crypto::Keypair;

/// Signs `body` with `key`, submits it through `node` and waits for it to
/// be final; the height of its block.
pub fn submit(node: &NodeProc, key: &Keypair, body: watt_runtime::tx::Body) -> u64 {
    use watt_rpc_client::client::{Signer, WattClient};
    use watt_runtime::types::AccountId;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = WattClient::new(&format!("http://{}", node.rpc_addr)).expect("client");
        let chain = client.chain_id().await.expect("chain id");
        let nonce = client
            .next_nonce(AccountId(key.public()))
            .await
            .expect("nonce");
        let tx = Signer::new(Keypair::from_seed(key.seed()), chain).sign(nonce, body);
        client
            .submit_and_wait(&tx, Duration::from_secs(60))
            .await
            .unwrap_or_else(|e| panic!("{} refused or lost the transaction: {e}", node.name))
            .height
            .0
    })
}
