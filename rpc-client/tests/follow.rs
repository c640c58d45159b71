//! The reconnecting head stream survives its node being killed and
//! restarted, and backfills what it missed: every height once, in order.

use std::time::Duration;
use watt_rpc_client::client::{follow_heads, Retry};
use watt_runtime::types::Height;
use watt_test_support::{free_port, DevProc};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_stream_survives_a_node_restart_and_backfills() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let addr = format!("127.0.0.1:{}", free_port());
    let node = DevProc::on(&db, &addr);
    let url = node.url.clone();
    let retry = Retry {
        attempts: u32::MAX,
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(500),
    };
    let mut heads = follow_heads(url.replace("http://", "ws://"), Height(1), retry);
    let mut seen: Vec<watt_rpc_client::types::RpcHeader> = Vec::new();
    for _ in 0..5 {
        seen.push(next(&mut heads).await);
    }
    // kill -9, wait while blocks would have been made, restart on the
    // same data and port.
    drop(node); // kill -9
    let killed_at = seen.last().unwrap().height;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let node = DevProc::on(&db, &addr);
    while seen.last().unwrap().height.0 < killed_at.0 + 10 {
        seen.push(next(&mut heads).await);
    }
    drop(node);
    for (i, h) in seen.iter().enumerate() {
        assert_eq!(
            h.height,
            Height(i as u64 + 1),
            "heights arrive once, in order"
        );
        if i > 0 {
            assert_eq!(
                h.parent_hash,
                seen[i - 1].hash,
                "each head follows the last"
            );
        }
    }
}

async fn next(
    rx: &mut tokio::sync::mpsc::Receiver<watt_rpc_client::types::RpcHeader>,
) -> watt_rpc_client::types::RpcHeader {
    tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("a head within 60 s")
        .expect("stream open")
}
