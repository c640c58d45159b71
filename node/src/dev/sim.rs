//! The simulated community of `watt dev`: three generation meters and two
//! mining sites, each signing real readings with its own device key, plus a
//! producer selling credits to the short site, and a feeder per site with
//! its head meter, declared household load and regulator
//! ([`super::feeders`]).
//!
//! Every tick it reads what the chain has accepted, signs readings for the
//! chain time that passed (split at hour boundaries), and submits them. Each
//! signer keeps one transaction in flight, so nonces never run ahead of
//! what the chain has seen. Site controllers obey `canRun`: a suspended
//! site idles its rigs.

use crate::clock::Clock;
use crate::service::NodeHandle;
use crate::storage::BlockReader;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use watt_genesis::dev_keypair;
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::BoundedVec;
use watt_runtime::state::{Account, Meter, Site, SiteStatus, StateKey, Zone};
use watt_runtime::tx::{
    Body, ConsumptionReading, GenerationReading, Signed, Transaction, UnsignedTx,
};
use watt_runtime::types::{AccountId, Hour, MeterId, SiteId, Source, Vintage, Wh, ZoneId};

use super::feeders::{Grid, GridInputs};
use super::genesis::{operator_key, METERS, SITES, ZONE};
use super::grid::Tap;

/// Most readings one transaction carries.
const MAX_BATCH: usize = 64;

struct MeterSim {
    id: MeterId,
    key: Keypair,
    source: Source,
    capacity_w: u64,
    last_end: u64,
    counter_mwh: u64,
    next_seq: u64,
    pending: Vec<Signed<GenerationReading>>,
}

struct SiteSim {
    id: SiteId,
    key: Keypair,
    owner: Keypair,
    load_w: u64,
    last_end: u64,
    counter_mwh: u64,
    next_seq: u64,
    pending: Vec<Signed<ConsumptionReading>>,
    running: bool,
    /// What it draws this tick, W.
    draw_w: u64,
}

/// What the simulator reads from the chain each tick.
struct Snapshot {
    meter_seq: HashMap<MeterId, u64>,
    site_seq: HashMap<SiteId, (u64, SiteStatus)>,
    nonces: HashMap<AccountId, u64>,
    pending: Vec<Hash>,
    seller_hour_credits: Wh,
    max_age_s: u64,
}

pub(super) fn power_w(source: Source, cap: u64, t: u64) -> u64 {
    let cap = cap as f64;
    let p = match source {
        Source::Solar => {
            let h = (t % 86_400) as f64 / 3600.0;
            if (6.0..18.0).contains(&h) {
                cap * (std::f64::consts::PI * (h - 6.0) / 12.0).sin()
            } else {
                0.0
            }
        }
        Source::Wind => {
            cap * (0.45 + 0.3 * (t as f64 / 5_400.0).sin() + 0.15 * (t as f64 / 1_300.0).sin())
        }
        _ => cap * 0.92,
    };
    p.clamp(0.0, cap) as u64
}

/// Splits `[start, end)` at hour boundaries.
pub(super) fn hour_chunks(start: u64, end: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut a = start;
    while a < end {
        let b = end.min((a / 3600 + 1) * 3600);
        out.push((a, b));
        a = b;
    }
    out
}

/// The simulated community.
pub struct Community {
    handle: NodeHandle,
    clock: Arc<dyn Clock>,
    chain_id: Hash,
    zone: ZoneId,
    operator: Keypair,
    seller: Keypair,
    buyer: AccountId,
    meters: Vec<MeterSim>,
    sites: Vec<SiteSim>,
    in_flight: HashMap<AccountId, Hash>,
    /// Chain time of the previous tick, to know how much a tick spans.
    last_tick_s: u64,
    /// The feeders, their head meters and their regulator.
    grid: Option<Grid>,
}

impl Community {
    /// The community of the dev genesis, resuming from the chain's state;
    /// an unregistered load runs on the ridge feeder from `tap` on, if any.
    pub async fn new(
        handle: NodeHandle,
        clock: Arc<dyn Clock>,
        tap: Option<Tap>,
    ) -> Option<Community> {
        let chain_id = handle.chain_id();
        let last_tick_s = clock.now_ms() / 1000;
        let zone = ZoneId::new(ZONE).ok()?;
        let meters_state: Vec<Option<Meter>> = (1..=METERS.len() as u64)
            .map(|i| handle.state(&StateKey::Meter(MeterId(i))))
            .collect();
        let sites_state: Vec<Option<Site>> = (1..=SITES.len() as u64)
            .map(|i| handle.state(&StateKey::Site(SiteId(i))))
            .collect();
        let meters = METERS
            .iter()
            .zip(meters_state)
            .enumerate()
            .filter_map(|(i, ((_, key, _, source, cap), st))| {
                let st = st?;
                Some(MeterSim {
                    id: MeterId(i as u64 + 1),
                    key: dev_keypair(key),
                    source: *source,
                    capacity_w: *cap,
                    last_end: st.last_end,
                    counter_mwh: st.last_counter.0 * 1000,
                    next_seq: st.last_sequence + 1,
                    pending: Vec::new(),
                })
            })
            .collect();
        let sites = SITES
            .iter()
            .zip(sites_state)
            .enumerate()
            .filter_map(|(i, ((_, key, owner, draw), st))| {
                let st = st?;
                Some(SiteSim {
                    id: SiteId(i as u64 + 1),
                    key: dev_keypair(key),
                    owner: dev_keypair(owner),
                    load_w: draw * 3 / 4,
                    last_end: st.last_end,
                    counter_mwh: st.last_counter.0 * 1000,
                    next_seq: st.last_sequence + 1,
                    pending: Vec::new(),
                    running: true,
                    draw_w: 0,
                })
            })
            .collect();
        let grid = Grid::new(&handle, zone.clone(), tap);
        Some(Community {
            handle,
            clock,
            chain_id,
            zone,
            operator: operator_key(),
            seller: dev_keypair("dev-hill-farm"),
            buyer: AccountId(dev_keypair("dev-ridge-miner").public()),
            meters,
            sites,
            in_flight: HashMap::new(),
            last_tick_s,
            grid,
        })
    }

    /// Runs until the node stops, one tick per `every`.
    pub async fn run(mut self, every: Duration) {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticker.tick().await;
            if !self.tick().await {
                return;
            }
        }
    }

    async fn snapshot(&self) -> Option<Snapshot> {
        let meters: Vec<MeterId> = self.meters.iter().map(|m| m.id).collect();
        let sites: Vec<SiteId> = self.sites.iter().map(|s| s.id).collect();
        let mut accounts: Vec<AccountId> = vec![
            AccountId(self.operator.public()),
            AccountId(self.seller.public()),
        ];
        accounts.extend(self.sites.iter().map(|s| AccountId(s.owner.public())));
        accounts.extend(self.grid.iter().flat_map(|g| g.accounts()));
        let in_flight: Vec<Hash> = self.in_flight.values().copied().collect();
        let zone = self.zone.clone();
        let seller = AccountId(self.seller.public());
        let now_ms = self.clock.now_ms();
        let h = &self.handle;
        // The mempool first: a transaction that left it is in the store by
        // then (a block is written before the mempool forgets it).
        let pending = h.still_pending(in_flight).await?;
        let policy = h
            .state::<Zone>(&StateKey::Zone(zone.clone()))
            .and_then(|z| z.policy)
            .unwrap_or_default();
        let store = h.store();
        let chain_time = store
            .head()
            .ok()
            .filter(|head| head.0 > 0)
            .and_then(|head| store.header(head).ok().flatten())
            .map_or(now_ms, |hd| hd.timestamp_ms);
        let hour = Hour::of_millis(now_ms);
        let seller_hour_credits = h
            .state::<Account>(&StateKey::Account(seller))
            .and_then(|a| a.holdings.get(&Vintage { zone, hour }).copied())
            .unwrap_or_default();
        Some(Snapshot {
            meter_seq: meters
                .iter()
                .filter_map(|m| {
                    h.state::<Meter>(&StateKey::Meter(*m))
                        .map(|st| (*m, st.last_sequence))
                })
                .collect(),
            site_seq: sites
                .iter()
                .filter_map(|s| {
                    h.state::<Site>(&StateKey::Site(*s))
                        .map(|st| (*s, (st.last_sequence, st.status(&policy, chain_time))))
                })
                .collect(),
            nonces: accounts
                .iter()
                .map(|a| {
                    let n = h
                        .state::<Account>(&StateKey::Account(*a))
                        .map_or(0, |acc| acc.nonce);
                    (*a, n)
                })
                .collect(),
            pending,
            seller_hour_credits,
            max_age_s: policy.reading_max_age_s,
        })
    }

    /// One tick; false once the node is gone.
    async fn tick(&mut self) -> bool {
        let Some(snap) = self.snapshot().await else {
            return false;
        };
        let now = self.clock.now_ms() / 1000;
        self.in_flight.retain(|_, h| snap.pending.contains(h));

        for m in &mut self.meters {
            let done = snap.meter_seq.get(&m.id).copied().unwrap_or(0);
            m.pending.retain(|r| r.reading.sequence > done);
            for (a, b) in hour_chunks(m.last_end, now) {
                let mid = (a + b) / 2;
                m.counter_mwh += power_w(m.source, m.capacity_w, mid) * (b - a) * 1000 / 3600;
                let r = GenerationReading {
                    meter: m.id,
                    sequence: m.next_seq,
                    period_start: a,
                    period_end: b,
                    counter: Wh(m.counter_mwh / 1000),
                    flags: 0,
                };
                m.pending.push(r.sign(&self.chain_id, &m.key));
                m.next_seq += 1;
                m.last_end = b;
            }
        }
        for s in &mut self.sites {
            let (done, status) = snap
                .site_seq
                .get(&s.id)
                .copied()
                .unwrap_or((0, SiteStatus::Active));
            s.pending.retain(|r| r.reading.sequence > done);
            // The site controller obeys canRun: rigs run only while active.
            s.running = matches!(status, SiteStatus::Active | SiteStatus::Dark);
            let load = if s.running { s.load_w } else { s.load_w / 50 };
            s.draw_w = load;
            for (a, b) in hour_chunks(s.last_end, now) {
                s.counter_mwh += load * (b - a) * 1000 / 3600;
                let r = ConsumptionReading {
                    site: s.id,
                    sequence: s.next_seq,
                    period_start: a,
                    period_end: b,
                    counter: Wh(s.counter_mwh / 1000),
                    flags: 0,
                };
                s.pending.push(r.sign(&self.chain_id, &s.key));
                s.next_seq += 1;
                s.last_end = b;
            }
        }

        let mut txs = Vec::new();
        let operator = AccountId(self.operator.public());
        // A reading that will be older than the zone's max age by the next
        // tick cannot be minted any more, and every later one of its meter
        // fails with it.
        // Do what an operator does: re-baseline the meter at the current
        // time (the gap's energy is forfeited, on record) and carry on.
        let tick = now.saturating_sub(self.last_tick_s).max(1);
        self.last_tick_s = now;
        let stale = self.meters.iter().position(|m| {
            m.pending
                .first()
                .is_some_and(|r| r.reading.period_end + snap.max_age_s < now + tick)
        });
        if let (Some(i), false) = (stale, self.in_flight.contains_key(&operator)) {
            let m = &mut self.meters[i];
            tracing::warn!(meter = %m.id, "readings are getting too old to mint; resyncing the meter");
            m.pending.clear();
            m.next_seq = snap.meter_seq.get(&m.id).copied().unwrap_or(0) + 1;
            m.last_end = now;
            let body = Body::ResyncMeter {
                meter: m.id,
                baseline_time: now,
                baseline_counter: Wh(m.counter_mwh / 1000),
            };
            let tx = self.signed(&self.operator, &snap, body);
            if let Some(Ok(hash)) = self.handle.submit(vec![tx]).await.pop() {
                self.in_flight.insert(operator, hash);
            }
        }
        let site_w: Vec<(SiteId, u64)> = self.sites.iter().map(|s| (s.id, s.draw_w)).collect();
        let inputs = GridInputs {
            now,
            tick_s: tick,
            max_age_s: snap.max_age_s,
            site_w: &site_w,
        };
        let grid_txs = match &mut self.grid {
            Some(g) => g.tick(&self.handle, &inputs),
            None => Vec::new(),
        };
        for (key, body) in grid_txs {
            if !self.in_flight.contains_key(&AccountId(key.public())) {
                txs.push(self.signed(&key, &snap, body));
            }
        }
        let readings: Vec<Signed<GenerationReading>> = self
            .meters
            .iter()
            .flat_map(|m| m.pending.iter().cloned())
            .take(MAX_BATCH)
            .collect();
        if !readings.is_empty() && !self.in_flight.contains_key(&operator) {
            if let Ok(readings) = BoundedVec::new(readings) {
                txs.push(self.signed(&self.operator, &snap, Body::SubmitReadings { readings }));
            }
        }
        for s in &self.sites {
            let owner = AccountId(s.owner.public());
            if !s.pending.is_empty() && !self.in_flight.contains_key(&owner) {
                let readings: Vec<_> = s.pending.iter().take(MAX_BATCH).cloned().collect();
                if let Ok(readings) = BoundedVec::new(readings) {
                    txs.push(self.signed(&s.owner, &snap, Body::SubmitConsumption { readings }));
                }
            }
        }
        // The hill farm sells the ridge miner a little of this hour's wind.
        let seller = AccountId(self.seller.public());
        let sale = Wh(snap.seller_hour_credits.0 / 4);
        if sale.0 >= 100 && !self.in_flight.contains_key(&seller) {
            let vintage = Vintage {
                zone: self.zone.clone(),
                hour: Hour::of_seconds(now),
            };
            let body = Body::Transfer {
                to: self.buyer,
                amount: sale,
                vintages: BoundedVec::new(vec![vintage]).ok(),
            };
            txs.push(self.signed(&self.seller, &snap, body));
        }
        if txs.is_empty() {
            return true;
        }
        let signers: Vec<AccountId> = txs.iter().map(|t| t.signer()).collect();
        for (signer, result) in signers.into_iter().zip(self.handle.submit(txs).await) {
            match result {
                Ok(hash) => {
                    self.in_flight.insert(signer, hash);
                }
                Err(e) => tracing::debug!(%signer, error = %e, "simulated transaction refused"),
            }
        }
        true
    }

    fn signed(&self, key: &Keypair, snap: &Snapshot, body: Body) -> Transaction {
        let signer = AccountId(key.public());
        let nonce = snap.nonces.get(&signer).copied().unwrap_or(0);
        UnsignedTx {
            chain_id: self.chain_id,
            signer,
            nonce,
            body,
        }
        .sign(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_at_hours() {
        assert_eq!(
            hour_chunks(3500, 7300),
            vec![(3500, 3600), (3600, 7200), (7200, 7300)]
        );
        assert_eq!(hour_chunks(10, 10), vec![]);
    }

    #[test]
    fn solar_follows_the_day() {
        assert_eq!(power_w(Source::Solar, 1000, 3 * 3600), 0);
        assert_eq!(power_w(Source::Solar, 1000, 12 * 3600), 1000);
        assert!(power_w(Source::Wind, 1000, 77) <= 1000);
    }
}
