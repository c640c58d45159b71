//! Accounts for load: credits minted through a meter the bench registers,
//! then spread over many sender accounts, and the ring of transfers those
//! senders make.
//!
//! Neither `watt dev` nor `watt testnet` gives balances at genesis, so the
//! bench does what a new community would: an authority registers a meter
//! (with a device key the bench holds and a capacity large enough to mint
//! the whole budget in a one-second reading), the regulator approves it,
//! the meter's reading mints to a funder, and the funder pays distributors
//! who pay the senders. Every step is an ordinary signed transaction.

use super::load::{push, Prepared, PushOptions};
use anyhow::{bail, Context};
use std::time::Duration;
use watt_rpc_client::api::MetersApiClient;
use watt_rpc_client::builders::{self, Device};
use watt_rpc_client::client::{Signer, WattClient};
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::tx::{Body, GenerationReading, Transaction, UnsignedTx};
use watt_runtime::types::{AccountId, Source, Watts, Wh, ZoneId};

/// Distributors between the funder and the senders (each pays
/// `senders / DISTRIBUTORS` of them, well below the mempool's 256 future
/// nonces per sender).
const DISTRIBUTORS: usize = 64;

/// Credits each sender starts with: above every chain's minimum for a new
/// account (`watt dev` 100 Wh, `watt testnet` 1,000 Wh). Senders pay each
/// other 1 Wh in a ring, so balances do not drift.
pub const SENDER_WH: u64 = 2_000;

fn key(tag: &str, i: usize) -> Keypair {
    let mut s = [0u8; 32];
    let t = tag.as_bytes();
    s[..t.len().min(24)].copy_from_slice(&t[..t.len().min(24)]);
    s[24..].copy_from_slice(&(i as u64).to_le_bytes());
    Keypair::from_seed(s)
}

fn signed(chain_id: Hash, k: &Keypair, nonce: u64, body: Body) -> Transaction {
    UnsignedTx {
        chain_id,
        signer: AccountId(k.public()),
        nonce,
        body,
    }
    .sign(k)
}

/// The chain's latest finalised block time, in seconds.
pub async fn chain_now_s(client: &WattClient) -> anyhow::Result<u64> {
    use watt_rpc_client::api::ChainApiClient;
    let h = ChainApiClient::finalized_head(client.api())
        .await?
        .context("no finalised head")?;
    Ok(h.timestamp_ms / 1000)
}

/// Senders with credits, and the next nonce of each.
pub struct Ring {
    /// The chain.
    pub chain_id: Hash,
    /// The senders.
    pub senders: Vec<Keypair>,
    cursor: usize,
}

impl Ring {
    /// The next `n` transfers: the senders take turns, each paying the
    /// next one 1 Wh, so consecutive transactions come from different
    /// senders and no sender runs ahead of the others.
    pub fn next(&mut self, n: usize) -> Vec<Prepared> {
        let s = self.senders.len();
        (0..n)
            .map(|_| {
                let i = self.cursor % s;
                let nonce = (self.cursor / s) as u64;
                self.cursor += 1;
                let to = AccountId(self.senders[(i + 1) % s].public());
                Prepared::new(&signed(
                    self.chain_id,
                    &self.senders[i],
                    nonce,
                    builders::transfer(to, Wh(1)),
                ))
            })
            .collect()
    }
}

/// Registers and approves a meter, mints with it and funds `senders`
/// accounts with [`SENDER_WH`] each. `operator` must be an authority's
/// operator account, `regulator` a regulator.
pub async fn fund(
    opts: &PushOptions,
    operator: &Keypair,
    regulator: &Keypair,
    zone: &str,
    senders: usize,
) -> anyhow::Result<Ring> {
    let url = format!("http://{}", opts.follow);
    let client = WattClient::new(&url)?;
    let chain_id = client.chain_id().await?;
    let wait = Duration::from_secs(60);
    let device = key("bench-meter", 0);
    let funder = key("bench-funder", 0);
    let zone = ZoneId::new(zone).map_err(|e| anyhow::anyhow!("zone: {e}"))?;
    let baseline = chain_now_s(&client).await?;
    let op = Signer::new(Keypair::from_seed(operator.seed()), chain_id);
    let body = builders::register_meter(
        Device {
            serial: "BENCH-METER",
            key: device.public(),
            zone,
            baseline_time: baseline,
            baseline_counter: Wh(0),
        },
        AccountId(funder.public()),
        Source::Solar,
        Watts(10_000_000_000_000),
    )?;
    let nonce = client.next_nonce(op.account()).await?;
    client
        .submit_and_wait(&op.sign(nonce, body), wait)
        .await
        .context("registering the bench meter")?;
    let meters = MetersApiClient::list(client.api(), None, Some(1000)).await?;
    let meter = meters
        .iter()
        .find(|m| m.device_key == device.public())
        .context("the bench meter is not listed")?
        .id;
    let reg = Signer::new(Keypair::from_seed(regulator.seed()), chain_id);
    let nonce = client.next_nonce(reg.account()).await?;
    client
        .submit_and_wait(&reg.sign(nonce, builders::approve_meter(meter)), wait)
        .await
        .context("approving the bench meter")?;
    // One reading from the baseline to the latest block time (within the
    // baseline's hour) mints everything.
    let mut end = chain_now_s(&client).await?;
    let hour_end = (baseline / 3600 + 1) * 3600;
    for _ in 0..50 {
        end = chain_now_s(&client).await?.min(hour_end);
        if end > baseline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if end <= baseline {
        bail!("the chain's clock did not move past the meter's baseline");
    }
    let per_distributor = senders.div_ceil(DISTRIBUTORS);
    let each = per_distributor as u64 * SENDER_WH;
    let total = each * DISTRIBUTORS as u64;
    let reading = GenerationReading {
        meter,
        sequence: 1,
        period_start: baseline,
        period_end: end,
        counter: Wh(total),
        flags: 0,
    }
    .sign(&chain_id, &device);
    let nonce = client.next_nonce(op.account()).await?;
    client
        .submit_and_wait(
            &op.sign(nonce, builders::submit_readings(vec![reading])?),
            wait,
        )
        .await
        .context("minting with the bench meter")?;
    let distributors: Vec<Keypair> = (0..DISTRIBUTORS).map(|i| key("bench-dist", i)).collect();
    let wave1: Vec<Prepared> = distributors
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Prepared::new(&signed(
                chain_id,
                &funder,
                i as u64,
                builders::transfer(AccountId(d.public()), Wh(each)),
            ))
        })
        .collect();
    let fund_opts = PushOptions {
        window: 10_000,
        rate: None,
        deadline: Duration::from_secs(120),
        ..opts.clone()
    };
    let r = push(wave1, &fund_opts).await?;
    if r.finalized != DISTRIBUTORS {
        bail!("funding the distributors: {:?}", r.first_error);
    }
    let senders: Vec<Keypair> = (0..senders).map(|i| key("bench-sender", i)).collect();
    let mut wave2 = Vec::with_capacity(senders.len());
    for (j, chunk) in senders.chunks(per_distributor).enumerate() {
        for (k, s) in chunk.iter().enumerate() {
            wave2.push((
                k,
                Prepared::new(&signed(
                    chain_id,
                    &distributors[j],
                    k as u64,
                    builders::transfer(AccountId(s.public()), Wh(SENDER_WH)),
                )),
            ));
        }
    }
    // Nonce by nonce across distributors, so no sender runs far ahead.
    wave2.sort_by_key(|(k, _)| *k);
    let n = wave2.len();
    let r = push(wave2.into_iter().map(|(_, p)| p).collect(), &fund_opts).await?;
    if r.finalized != n {
        bail!("funding the senders: {:?}", r.first_error);
    }
    Ok(Ring {
        chain_id,
        senders,
        cursor: 0,
    })
}
