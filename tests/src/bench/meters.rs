//! Readings end to end: the bench registers meters on the chain (its one
//! authority's operator registers, its regulator approves), then pushes
//! SubmitReadings transactions relayed by that operator, each reading
//! signed by its meter's own device key: the workload a community's meter
//! gateway sends, two signatures a reading when a transaction carries one.
//!
//! Every meter's baseline lies 40 minutes in the past (a baseline may be up
//! to 6 hours old, a reading at most the zone's `reading_max_age_s`, an
//! hour on `watt dev`, old), so that each meter has 2,400 one-second
//! periods to report at once, in sequence, without waiting for the clock.

use super::accounts::chain_now_s;
use super::load::{push, Prepared, PushOptions};
use anyhow::{bail, Context};
use std::collections::HashMap;
use std::time::Duration;
use watt_rpc_client::api::MetersApiClient;
use watt_rpc_client::builders::{self, Device};
use watt_rpc_client::client::WattClient;
use watt_runtime::crypto::{Hash, Keypair, PublicKey};
use watt_runtime::tx::{Body, GenerationReading, Signed, UnsignedTx};
use watt_runtime::types::{AccountId, MeterId, Source, Watts, Wh, ZoneId};

/// How far in the past every bench meter's baseline lies, in seconds.
const BASELINE_AGO_S: u64 = 2_400;
/// What each one-second reading reports.
const WH_PER_READING: u64 = 10;

/// The most one sender may have pending beyond its next nonce is 256
/// (`max_future_nonces`); a push by one operator must stay below it.
pub const OPERATOR_WINDOW: usize = 250;

struct BenchMeter {
    id: MeterId,
    key: Keypair,
    baseline: u64,
    sequence: u64,
}

/// Registered, approved meters and the operator that relays them.
pub struct Meters {
    chain_id: Hash,
    operator: Keypair,
    nonce: u64,
    meters: Vec<BenchMeter>,
    cursor: usize,
}

fn device(i: usize) -> Keypair {
    let mut s = [0x6d; 32];
    s[24..].copy_from_slice(&(i as u64).to_le_bytes());
    Keypair::from_seed(s)
}

fn signed(chain_id: Hash, k: &Keypair, nonce: u64, body: Body) -> Prepared {
    Prepared::new(
        &UnsignedTx {
            chain_id,
            signer: AccountId(k.public()),
            nonce,
            body,
        }
        .sign(k),
    )
}

impl Meters {
    /// Registers and approves `n` meters in `zone` (at most 1,000: one
    /// page of `meters_list`), owned by the operator.
    pub async fn register(
        opts: &PushOptions,
        operator: &Keypair,
        regulator: &Keypair,
        zone: &str,
        n: usize,
    ) -> anyhow::Result<Meters> {
        let client = WattClient::new(&format!("http://{}", opts.follow))?;
        let chain_id = client.chain_id().await?;
        let zone = ZoneId::new(zone).map_err(|e| anyhow::anyhow!("zone: {e}"))?;
        let baseline = chain_now_s(&client).await? - BASELINE_AGO_S;
        let op_account = AccountId(operator.public());
        let mut nonce = client.next_nonce(op_account).await?;
        let mut regs = Vec::with_capacity(n);
        for i in 0..n {
            let serial = format!("BENCH-R{i}");
            let body = builders::register_meter(
                Device {
                    serial: &serial,
                    key: device(i).public(),
                    zone: zone.clone(),
                    baseline_time: baseline,
                    baseline_counter: Wh(0),
                },
                op_account,
                Source::Solar,
                Watts(1_000_000),
            )?;
            regs.push(signed(chain_id, operator, nonce, body));
            nonce += 1;
        }
        let slow = PushOptions {
            window: OPERATOR_WINDOW,
            rate: None,
            deadline: Duration::from_secs(300),
            ..opts.clone()
        };
        let r = push(regs, &slow).await?;
        if r.finalized != n {
            bail!("registering {n} meters: {:?}", r.first_error);
        }
        let listed = MetersApiClient::list(client.api(), None, Some(1000)).await?;
        let by_key: HashMap<PublicKey, MeterId> =
            listed.iter().map(|m| (m.device_key, m.id)).collect();
        let mut meters = Vec::with_capacity(n);
        for i in 0..n {
            let key = device(i);
            let id = *by_key
                .get(&key.public())
                .with_context(|| format!("bench meter {i} is not listed"))?;
            meters.push(BenchMeter {
                id,
                key,
                baseline,
                sequence: 0,
            });
        }
        let reg_account = AccountId(regulator.public());
        let mut reg_nonce = client.next_nonce(reg_account).await?;
        let approvals: Vec<Prepared> = meters
            .iter()
            .map(|m| {
                let p = signed(
                    chain_id,
                    regulator,
                    reg_nonce,
                    builders::approve_meter(m.id),
                );
                reg_nonce += 1;
                p
            })
            .collect();
        let r = push(approvals, &slow).await?;
        if r.finalized != n {
            bail!("approving {n} meters: {:?}", r.first_error);
        }
        Ok(Meters {
            chain_id,
            operator: Keypair::from_seed(operator.seed()),
            nonce,
            meters,
            cursor: 0,
        })
    }

    /// The readings each meter has left to report (periods up to now).
    pub fn capacity(&self, now_s: u64) -> usize {
        self.meters
            .iter()
            .map(|m| now_s.saturating_sub(m.baseline + m.sequence) as usize)
            .sum()
    }

    /// The next `txs` SubmitReadings of `per_tx` readings each: meters take
    /// turns, each reporting its next one-second period.
    pub fn next(&mut self, txs: usize, per_tx: usize) -> anyhow::Result<Vec<Prepared>> {
        let mut out = Vec::with_capacity(txs);
        for _ in 0..txs {
            let mut readings: Vec<Signed<GenerationReading>> = Vec::with_capacity(per_tx);
            for _ in 0..per_tx {
                let at = self.cursor % self.meters.len();
                let m = &mut self.meters[at];
                self.cursor += 1;
                m.sequence += 1;
                let end = m.baseline + m.sequence;
                readings.push(
                    GenerationReading {
                        meter: m.id,
                        sequence: m.sequence,
                        period_start: end - 1,
                        period_end: end,
                        counter: Wh(m.sequence * WH_PER_READING),
                        flags: 0,
                    }
                    .sign(&self.chain_id, &m.key),
                );
            }
            let body = builders::submit_readings(readings)?;
            out.push(signed(self.chain_id, &self.operator, self.nonce, body));
            self.nonce += 1;
        }
        Ok(out)
    }
}
