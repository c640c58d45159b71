//! Peak memory and replay speed of `watt audit` on chains of N and 10 N
//! transactions over the same accounts, meters and sites.
//!
//! `cargo bench --profile dev -p watt-node --bench audit_memory -- [N]`
//! (default N = 100,000 transactions). It generates both chains as export
//! files (one validator, two meters minting every block, a site burning
//! every block, transfers back and forth; credits expire after twelve hours,
//! so the state stays the same size however long the chain), then audits
//! each in a child process of its own and reports the child's peak resident
//! memory (`VmHWM`), blocks/s and tx/s.

use std::path::Path;
use std::time::Instant;
use watt_node::audit::export::ExportWriter;
use watt_node::audit::state::AuditState;
use watt_node::audit::{self, AuditOptions, ExpectedChain, ProgressMode};
use watt_runtime::block::{tx_root, Block, CommitCertificate, Header, Vote, VoteKind};
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::BoundedVec;
use watt_runtime::events::event_root;
use watt_runtime::exec::{apply_block, BlockContext, VerifiedTx};
use watt_runtime::state::{read_value, ChainState, Meter, Site, StateKey};
use watt_runtime::testkit::{account, consensus_key, key, TestChain, T0};
use watt_runtime::tx::{Body, ConsumptionReading, GenerationReading, Transaction, UnsignedTx};
use watt_runtime::types::{Height, MeterId, SiteId, Wh};

/// Transfers per block (each way); a block holds 2 + 2 × this many.
const TRANSFERS: usize = 4;
const STEP_S: u64 = 60;

fn tx(chain_id: Hash, k: &Keypair, nonce: u64, body: Body) -> Transaction {
    UnsignedTx {
        chain_id,
        signer: watt_runtime::types::AccountId(k.public()),
        nonce,
        body,
    }
    .sign(k)
}

/// Writes a chain of about `txs` transactions to `file`; returns blocks.
fn generate(txs: u64, file: &Path) -> u64 {
    let genesis = TestChain::builder()
        .authorities(1)
        .with_policy(|p| p.credit_lifetime_hours = 12)
        .genesis();
    let chain_id = genesis.chain_id();
    let mut state = AuditState::from_diff(&genesis.state_diff().unwrap()).unwrap();
    let mut w =
        ExportWriter::new(std::fs::File::create(file).unwrap(), &genesis, Height(1)).unwrap();
    let validator = consensus_key(1);
    let (op, alice, bob) = (key("op1"), key("alice"), key("bob"));
    let mut nonces = [0u64; 3];
    let (m1, m2, s1) = (key("meter1"), key("meter2"), key("site1"));
    let per_block = 2 + 2 * TRANSFERS as u64;
    let blocks = txs.div_ceil(per_block);
    let mut parent = chain_id;
    let mut parent_commit: Option<CommitCertificate> = None;
    for h in 1..=blocks {
        let t = T0 + STEP_S * h;
        let meter = |id| {
            read_value::<Meter>(&state, &StateKey::Meter(MeterId(id)))
                .unwrap()
                .unwrap()
        };
        let gen = |m: &Meter, delta: u64, k: &Keypair| {
            let r = GenerationReading {
                meter: m.id,
                sequence: m.last_sequence + 1,
                period_start: m.last_end,
                period_end: t,
                counter: Wh(m.last_counter.0 + delta),
                flags: 0,
            };
            r.sign(&chain_id, k)
        };
        let site: Site = read_value(&state, &StateKey::Site(SiteId(1)))
            .unwrap()
            .unwrap();
        let c = ConsumptionReading {
            site: SiteId(1),
            sequence: site.last_sequence + 1,
            period_start: site.last_end,
            period_end: t,
            counter: Wh(site.last_counter.0 + 50),
            flags: 0,
        };
        let cons = c.sign(&chain_id, &s1);
        let mut list = vec![
            tx(
                chain_id,
                &op,
                nonces[0],
                Body::SubmitReadings {
                    readings: BoundedVec::new(vec![
                        gen(&meter(1), 100, &m1),
                        gen(&meter(2), 120, &m2),
                    ])
                    .unwrap(),
                },
            ),
            tx(
                chain_id,
                &bob,
                nonces[2],
                Body::SubmitConsumption {
                    readings: BoundedVec::new(vec![cons]).unwrap(),
                },
            ),
        ];
        nonces[0] += 1;
        nonces[2] += 1;
        for _ in 0..TRANSFERS {
            list.push(tx(
                chain_id,
                &alice,
                nonces[1],
                Body::Transfer {
                    to: account("bob"),
                    amount: Wh(1),
                    vintages: None,
                },
            ));
            nonces[1] += 1;
            list.push(tx(
                chain_id,
                &bob,
                nonces[2],
                Body::Transfer {
                    to: account("alice"),
                    amount: Wh(1),
                    vintages: None,
                },
            ));
            nonces[2] += 1;
        }
        let device_keys = |t: &Transaction| match &t.unsigned.body {
            Body::SubmitReadings { .. } => vec![m1.public(), m2.public()],
            Body::SubmitConsumption { .. } => vec![s1.public()],
            _ => vec![],
        };
        let verified: Vec<VerifiedTx> = list
            .iter()
            .map(|t| VerifiedTx::new(t.clone(), device_keys(t)))
            .collect();
        let ctx = BlockContext {
            chain_id,
            height: Height(h),
            timestamp_ms: t * 1000,
            proposer: validator.public(),
        };
        let set = read_value::<ChainState>(&state, &StateKey::Chain)
            .unwrap()
            .unwrap()
            .validators;
        let out = apply_block(&state, ctx, &verified).unwrap_or_else(|e| panic!("block {h}: {e}"));
        let root = state.apply(&out.diff).unwrap();
        let header = Header {
            chain_id,
            height: Height(h),
            parent_hash: parent,
            timestamp_ms: t * 1000,
            proposer: validator.public(),
            tx_root: tx_root(&list),
            state_root: root,
            event_root: event_root(&out.events),
            validator_set_hash: set.hash(),
            next_validator_set_hash: set.hash(),
            parent_commit_hash: parent_commit.as_ref().map_or(Hash::ZERO, |c| c.hash()),
        };
        let block = Block {
            header,
            txs: BoundedVec::new(list).unwrap(),
            parent_commit: parent_commit.take(),
        };
        let hash = block.hash();
        let vote = Vote {
            kind: VoteKind::Precommit,
            chain_id,
            height: Height(h),
            round: 0,
            block_hash: Some(hash),
            validator: validator.public(),
        }
        .sign(&validator);
        let cert = CommitCertificate::from_precommits(&set, Height(h), 0, hash, &[vote]);
        w.block(&block, &cert).unwrap();
        parent = hash;
        parent_commit = Some(cert);
    }
    w.finish().unwrap();
    blocks
}

/// Peak resident memory of this process, in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|n| n.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("audit-child") {
        let start = Instant::now();
        let s = audit::run(AuditOptions {
            source: args[1].clone(),
            expected: ExpectedChain::TrustSource,
            checkpoint: None,
            genesis_state: None,
            out: args[2].clone().into(),
            progress: ProgressMode::Quiet,
            // WATT_BENCH_PARQUET=1: with `--format parquet`'s tables too.
            parquet: std::env::var_os("WATT_BENCH_PARQUET").is_some(),
        })
        .unwrap();
        let secs = start.elapsed().as_secs_f64();
        println!(
            "RESULT {} {} {:.1} {}",
            s.counts.blocks,
            s.counts.transactions,
            secs,
            peak_rss_kib()
        );
        return;
    }
    let n: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    println!(
        "| chain | blocks | transactions | export file | audit time | blocks/s | tx/s | peak RSS |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (label, txs) in [("N", n), ("10 N", 10 * n)] {
        let file = dir.path().join(format!("chain-{txs}.wexp"));
        let g = Instant::now();
        generate(txs, &file);
        eprintln!(
            "generated {txs} transactions in {:.0} s",
            g.elapsed().as_secs_f64()
        );
        let size = std::fs::metadata(&file).unwrap().len();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "audit-child",
                file.to_str().unwrap(),
                dir.path().join(format!("r-{txs}")).to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("RESULT "))
            .unwrap_or_else(|| panic!("audit failed: {}", String::from_utf8_lossy(&out.stderr)));
        let v: Vec<f64> = line
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        println!(
            "| {label} | {} | {} | {:.0} MiB | {:.1} s | {:.0} | {:.0} | {:.1} MiB |",
            v[0],
            v[1],
            size as f64 / (1 << 20) as f64,
            v[2],
            v[0] / v[2],
            v[1] / v[2],
            v[3] / 1024.0
        );
        std::fs::remove_file(&file).unwrap();
    }
}
