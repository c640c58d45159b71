//! `watt-bench`: measures Watt from the signature-verification limit to
//! four validators on loopback and prints one markdown table. Run it with
//! `scripts/bench/run` (which builds it and `watt`); docs/benchmarks.md
//! explains each row.
//!
//! Flags: `--quick` (fewer transactions, for iterating), `--txs N` (the
//! storage row's chain length, default 1,000,000), `--senders N` (funded
//! sender accounts, default 4,096), `--dev-block-time` (default 100ms),
//! `--testnet-block-time` (default 1ms, the smallest the engine takes),
//! `--connections` (submitting connections, default 8; a quarter of them
//! to each of the four validators), `--batch` (transactions per
//! `tx_submitBatch` call when saturating, default 200; 1 sends each with
//! `tx_submit`), `--window` (transactions in flight, submitted but not yet
//! seen final, default 20,000: four of `watt dev`'s 5,000-transaction
//! blocks, so that a saturated node always has a full block waiting).

use anyhow::Context;
use std::time::{Duration, Instant};
use watt_node::dev::genesis::{operator_key, regulator_key, ZONE};
use watt_runtime::types::AccountId;
use watt_tests::bench::load::{push, PushOptions, PushReport};
use watt_tests::bench::table::{mib, ms, render, thousands, Row};
use watt_tests::bench::{accounts, audit, limit, meters, nodes, procfs, reads, runtime};

struct Args {
    quick: bool,
    txs: usize,
    senders: usize,
    dev_block_time: String,
    testnet_block_time: String,
    connections: usize,
    batch: usize,
    window: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        quick: false,
        txs: 1_000_000,
        senders: 4_096,
        dev_block_time: "100ms".into(),
        testnet_block_time: "1ms".into(),
        connections: 8,
        batch: 200,
        window: 20_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--quick" => a.quick = true,
            "--txs" => a.txs = value()?.replace('_', "").parse()?,
            "--senders" => a.senders = value()?.parse()?,
            "--dev-block-time" => a.dev_block_time = value()?,
            "--testnet-block-time" => a.testnet_block_time = value()?,
            "--connections" => a.connections = value()?.parse()?,
            "--batch" => a.batch = value()?.parse()?,
            "--window" => a.window = value()?.replace('_', "").parse()?,
            other => anyhow::bail!("unknown flag {other}; see scripts/bench/run"),
        }
    }
    if a.quick && !std::env::args().any(|f| f == "--txs") {
        a.txs = 100_000;
    }
    Ok(a)
}

fn log(msg: &str) {
    eprintln!("[{}] {msg}", procfs::load_average());
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    let started = Instant::now();
    let mut rows = Vec::new();

    log("row 1: signature verification limit");
    let lim = limit::measure(
        if a.quick { 2_048 } else { 8_192 },
        if a.quick { 3 } else { 5 },
    );
    for (what, x) in [
        ("limit: `verify_bytes`, 1 thread", lim.single_1),
        ("limit: `verify_bytes`, 2 threads", lim.single_2),
        ("limit: `verify_all` batch, 1 thread", lim.batch_1),
        ("limit: `verify_all` batch, 2 threads", lim.batch_2),
    ] {
        rows.push(Row {
            id: "1",
            what: what.into(),
            result: format!("{} verifications/s", thousands(x)),
            sigs_per_s: Some(x),
        });
    }

    log("row 2: the runtime alone");
    let rt_rates = runtime::measure(if a.quick { 3 } else { 9 });
    rows.push(Row {
        id: "2",
        what: "runtime alone: blocks of 1,000 transfers (verify on 2 threads + apply + root)"
            .into(),
        result: format!("{} tx/s", thousands(rt_rates.transfers)),
        sigs_per_s: Some(rt_rates.transfers),
    });
    rows.push(Row {
        id: "2",
        what: "runtime alone: blocks of 1,000 readings (2 signatures each)".into(),
        result: format!("{} tx/s", thousands(rt_rates.readings)),
        sigs_per_s: Some(2.0 * rt_rates.readings),
    });

    let (hours_per_s, close_ms) = runtime::feeder_close(1_000, if a.quick { 3 } else { 9 });
    rows.push(Row {
        id: "2",
        what: "runtime alone: one block closing 1,000 feeders' hours (apply + root)".into(),
        result: format!(
            "{} feeder-hours/s ({close_ms:.1} ms for the block)",
            thousands(hours_per_s)
        ),
        sigs_per_s: None,
    });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let tmp = tempfile::Builder::new().prefix("watt-bench-").tempdir()?;

    // Rows 3, 6, 7 and 5 on one `watt dev` chain.
    log(&format!(
        "row 3: watt dev (block time {})",
        a.dev_block_time
    ));
    let mut dev = nodes::start_dev(tmp.path(), &a.dev_block_time)?;
    nodes::wait_finalising(&dev, Duration::from_secs(60))?;
    let data = tmp.path().join("dev-data");
    let disk0 = procfs::dir_bytes(&data);
    let opts = PushOptions {
        targets: vec![dev.rpc],
        follow: dev.rpc,
        connections: a.connections,
        window: a.window,
        batch: a.batch,
        rate: None,
        deadline: Duration::from_secs(900),
    };
    let mut ring = rt.block_on(accounts::fund(
        &opts,
        &operator_key(),
        &regulator_key(),
        ZONE,
        a.senders,
    ))?;
    let setup_txs = 3 + 64 + a.senders;
    let sat_n = if a.quick { 20_000 } else { 60_000 };
    let txs = ring.next(sat_n);
    log(&format!("  saturating with {sat_n} transfers"));
    let sat = rt.block_on(push(txs, &opts))?;
    let dev_tps = sat.sustained_tps();
    log(&format!(
        "  sustained {dev_tps:.0} tx/s; client CPU {:.0} %; {}",
        100.0 * sat.client_cpu_share(),
        sat.blocks_line()
    ));
    let half_rate = dev_tps / 2.0;
    let half_n = (half_rate * if a.quick { 5.0 } else { 15.0 }) as usize;
    let txs = ring.next(half_n.max(100));
    let half = rt.block_on(push(
        txs,
        &PushOptions {
            rate: Some(half_rate),
            ..opts.clone()
        },
    ))?;
    rows.push(Row {
        id: "3",
        what: format!(
            "`watt dev` end to end, transfers over RPC, {} ms blocks: sustained",
            a.dev_block_time.trim_end_matches("ms")
        ),
        result: format!(
            "{} tx/s (load client {:.0} % of a core)",
            thousands(dev_tps),
            100.0 * sat.client_cpu_share()
        ),
        sigs_per_s: Some(dev_tps),
    });
    rows.push(Row {
        id: "3",
        what: format!(
            "`watt dev`: submit-to-finality at half load ({} tx/s)",
            thousands(half_rate)
        ),
        result: format!(
            "p50 {}, p99 {} (load client {:.0} % of a core)",
            ms(half.latency(50.0)),
            ms(half.latency(99.0)),
            100.0 * half.client_cpu_share()
        ),
        sigs_per_s: None,
    });

    log("row 3: readings end to end");
    let mut meters = rt.block_on(meters::Meters::register(
        &opts,
        &operator_key(),
        &regulator_key(),
        ZONE,
        250,
    ))?;
    // One operator relays every reading: at most 256 of its transactions
    // pending beyond its nonce. One reading a transaction (two
    // signatures), then 16 (17 signatures for 16 readings).
    let (mut readings_txs, mut readings_total) = (0, 0);
    for per_tx in [1, 16] {
        let n_txs = if a.quick { 10_000 } else { 40_000 } / per_tx;
        let r = rt.block_on(push(
            meters.next(n_txs, per_tx)?,
            &PushOptions {
                window: meters::OPERATOR_WINDOW,
                ..opts.clone()
            },
        ))?;
        let readings_per_s = r.sustained_tps() * per_tx as f64;
        readings_txs += r.finalized;
        readings_total += r.finalized * per_tx;
        log(&format!(
            "  {per_tx} a transaction: sustained {readings_per_s:.0} readings/s; client CPU {:.0} %; {}",
            100.0 * r.client_cpu_share(),
            r.blocks_line()
        ));
        rows.push(Row {
            id: "3",
            what: format!(
                "`watt dev` end to end, readings over RPC, {per_tx} per SubmitReadings ({} signatures a transaction; one operator relays all): sustained",
                per_tx + 1
            ),
            result: format!(
                "{} readings/s (load client {:.0} % of a core)",
                thousands(readings_per_s),
                100.0 * r.client_cpu_share()
            ),
            sigs_per_s: Some(readings_per_s * (per_tx + 1) as f64 / per_tx as f64),
        });
    }

    log("row 6: RPC reads");
    let accts: Vec<AccountId> = ring.senders.iter().map(|k| AccountId(k.public())).collect();
    let rd = rt.block_on(reads::measure(
        dev.rpc,
        64,
        &accts,
        Duration::from_secs(if a.quick { 3 } else { 10 }),
    ))?;
    if rd.errors > 0 {
        log(&format!("  {} reads failed", rd.errors));
    }

    log(&format!("row 7: growing the chain to {} transfers", a.txs));
    let mut pushed = sat.total + half.total;
    let mut rss_points: Vec<(usize, u64)> = Vec::new();
    let chunk = 50_000;
    let mut grow: Vec<PushReport> = Vec::new();
    while pushed < a.txs {
        let n = chunk.min(a.txs - pushed);
        let txs = ring.next(n);
        let r = rt.block_on(push(txs, &opts))?;
        pushed += r.finalized;
        if r.finalized == 0 {
            anyhow::bail!("no transfer was finalised");
        }
        grow.push(r);
        let rss = procfs::status_kib(dev.pid(), "VmRSS").unwrap_or(0);
        rss_points.push((pushed, rss));
        log(&format!(
            "  {pushed} transfers final; node RSS {}; data {}",
            mib(rss),
            mib(procfs::dir_bytes(&data))
        ));
    }
    let grow_tps = if grow.is_empty() {
        dev_tps
    } else {
        let n: usize = grow.iter().map(|r| r.finalized).sum();
        n as f64 / grow.iter().map(|r| r.wall.as_secs_f64()).sum::<f64>()
    };
    let hwm = procfs::status_kib(dev.pid(), "VmHWM").unwrap_or(0);
    let head = watt_tests::rpc_call(
        &dev.rpc.to_string(),
        "chain_getFinalizedHead",
        serde_json::json!([]),
    )
    .map_err(anyhow::Error::msg)?;
    let blocks = head["height"].as_u64().unwrap_or(0);
    dev.stop();
    // The readings rows' 250 registrations, 250 approvals and readings.
    let chain_txs = setup_txs + pushed + 500 + readings_txs;
    let disk1 = procfs::dir_bytes(&data);
    // Where the bytes went, table by table, for the storage row's notes.
    if let Ok(out) = std::process::Command::new(nodes::watt_bin()?)
        .args(["db", "stats", "--base-path"])
        .arg(&data)
        .output()
    {
        eprint!("{}", String::from_utf8_lossy(&out.stdout));
    }
    let rss_note = match (rss_points.first(), rss_points.last()) {
        (Some(f), Some(l)) if rss_points.len() > 1 => format!(
            "; RSS {} at {} tx, {} at {} tx",
            mib(f.1),
            thousands(f.0 as f64),
            mib(l.1),
            thousands(l.0 as f64)
        ),
        _ => String::new(),
    };

    log("row 5: watt audit");
    let au = audit::export_and_audit(&data, tmp.path())?;
    let audit_tps = chain_txs as f64 / au.wall.as_secs_f64();
    // Every transaction carries one signature, each reading its device's
    // too (the funding mint's and the readings row's), and every block's
    // certificate one vote (one validator).
    let audit_sigs =
        (chain_txs as u64 + 1 + readings_total as u64 + blocks) as f64 / au.wall.as_secs_f64();
    rows.push(Row {
        id: "5",
        what: format!(
            "`watt audit` replay of that chain ({} tx, {} blocks, export {})",
            thousands(chain_txs as f64),
            thousands(blocks as f64),
            mib(au.export_bytes)
        ),
        result: format!(
            "{} tx/s, peak RSS {}",
            thousands(audit_tps),
            mib(au.peak_rss)
        ),
        sigs_per_s: Some(audit_sigs),
    });
    rows.push(Row {
        id: "6",
        what: "RPC reads: `credits_getBalance`, 64 connections".into(),
        result: format!(
            "{} req/s (load client {:.0} % of a core)",
            thousands(rd.per_second),
            100.0 * rd.client_cpu_share
        ),
        sigs_per_s: None,
    });
    rows.push(Row {
        id: "7",
        what: format!(
            "storage after {} transactions (`watt dev`)",
            thousands(chain_txs as f64)
        ),
        result: format!(
            "{:.0} bytes on disk per tx; node VmHWM {}{rss_note}; {} tx/s while growing",
            disk1.saturating_sub(disk0) as f64 / chain_txs as f64,
            mib(hwm),
            thousands(grow_tps)
        ),
        sigs_per_s: None,
    });

    log(&format!(
        "row 4: four validators (block time {})",
        a.testnet_block_time
    ));
    let net_dir = tmp.path().join("testnet");
    std::fs::create_dir_all(&net_dir)?;
    let procs = nodes::start_testnet(&net_dir, 4, &a.testnet_block_time)?;
    for p in &procs {
        nodes::wait_finalising(p, Duration::from_secs(60))?;
    }
    let net = net_dir.join("net");
    let operator = watt_tests::read_key(&net.join("validator-1").join("operator.key"));
    let regulator = watt_tests::read_key(&net.join("regulator.key"));
    let nopts = PushOptions {
        targets: procs.iter().map(|p| p.rpc).collect(),
        follow: procs[0].rpc,
        connections: a.connections.div_ceil(4),
        window: a.window,
        batch: a.batch,
        rate: None,
        deadline: Duration::from_secs(600),
    };
    let mut nring = rt.block_on(accounts::fund(
        &nopts, &operator, &regulator, "TESTNET", a.senders,
    ))?;
    let light_rate = 50.0;
    let light_n = (light_rate * if a.quick { 10.0 } else { 30.0 }) as usize;
    let light = rt.block_on(push(
        nring.next(light_n),
        &PushOptions {
            rate: Some(light_rate),
            ..nopts.clone()
        },
    ))?;
    let nsat = rt.block_on(push(
        nring.next(if a.quick { 10_000 } else { 40_000 }),
        &nopts,
    ))?;
    let net_tps = nsat.sustained_tps();
    log(&format!(
        "  sustained {net_tps:.0} tx/s; {}",
        nsat.blocks_line()
    ));
    rows.insert(
        rows.iter().position(|r| r.id == "5").unwrap_or(rows.len()),
        Row {
            id: "4",
            what: format!(
                "4 validators (`watt run`, loopback, `--fast`, {} blocks): finality at {light_rate:.0} tx/s",
                a.testnet_block_time
            ),
            result: format!(
                "p50 {}, p99 {}; longest gap between finalised blocks {}",
                ms(light.latency(50.0)),
                ms(light.latency(99.0)),
                ms(light.max_block_gap)
            ),
            sigs_per_s: None,
        },
    );
    rows.insert(
        rows.iter().position(|r| r.id == "5").unwrap_or(rows.len()),
        Row {
            id: "4",
            what: "4 validators: sustained, transfers to all four RPCs".into(),
            result: format!(
                "{} tx/s; longest gap between finalised blocks {} (load client {:.0} % of a core)",
                thousands(net_tps),
                ms(nsat.max_block_gap),
                100.0 * nsat.client_cpu_share()
            ),
            sigs_per_s: Some(net_tps),
        },
    );
    drop(procs);

    println!(
        "\nwatt-bench{}: N = {} transactions, {} senders; load average {} at the end; {:.0} s\n",
        if a.quick { " --quick" } else { "" },
        thousands(chain_txs as f64),
        a.senders,
        procfs::load_average(),
        started.elapsed().as_secs_f64()
    );
    print!("{}", render(&rows, lim.batch_2));
    Ok(())
}
