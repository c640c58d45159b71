//! The simulated community of `watt dev`: three generation meters and
//! three mining sites, each signing real readings with its own device key
//! ([`super::sites`]), producers selling credits to the sites' owners, a
//! feeder per part of the grid with its head meter, declared household
//! load and regulator ([`super::feeders`]), and the regulator's sandbox:
//! permits and the evening curtailment ([`super::sandbox`]).
//!
//! Every tick it reads what the chain has accepted, signs readings for the
//! chain time that passed (split at hour boundaries), and submits them. Each
//! signer keeps one transaction in flight, so nonces never run ahead of
//! what the chain has seen; when several things want the same signer, the
//! first in the tick's order goes and the rest wait for a later tick. Site
//! controllers follow the site's standing (`sites_canRun`): a suspended
//! site idles its rigs, a curtailed one keeps to its share (all but
//! CREEK-MINE's, which ignores orders).

use crate::clock::Clock;
use crate::service::NodeHandle;
use crate::storage::BlockReader;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use watt_genesis::dev_keypair;
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::BoundedVec;
use watt_runtime::state::{
    debt_prefix, debt_site_bucket, prefix_end, Account, ChainState, Debt, Meter, Site, StateKey,
    StateReader, Zone,
};
use watt_runtime::tx::{Body, GenerationReading, Signed, Transaction, UnsignedTx};
use watt_runtime::types::{AccountId, Hour, MeterId, SiteId, Source, Vintage, Wh, ZoneId};

use super::controller;
use super::feeders::{Grid, GridInputs};
use super::genesis::{operator_key, METERS, ZONE};
use super::grid::Tap;
use super::sandbox::{CurtailPlan, Sandbox};
use super::sites::{joining_site, Sites};

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

/// What the simulator reads from the chain each tick.
struct Snapshot {
    /// Each meter's last accepted sequence and end.
    meters: HashMap<MeterId, (u64, u64)>,
    /// The dev sites on chain.
    sites: Vec<Site>,
    nonces: HashMap<AccountId, u64>,
    pending: Vec<Hash>,
    seller_hour_credits: Wh,
    max_age_s: u64,
    dark_after_s: u64,
    /// The last block's time, unix seconds (now before the first block).
    chain_s: u64,
}

impl Snapshot {
    fn site(&self, id: SiteId) -> Option<&Site> {
        self.sites.iter().find(|s| s.id == id)
    }
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

/// What the simulation does besides the meters and sites.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// When the unregistered load runs on the ridge feeder, if ever.
    pub tap: Option<Tap>,
    /// When the evening curtailment windows fall, if ever.
    pub curtail: Option<CurtailPlan>,
    /// The chain's first hour.
    pub first_hour: Hour,
    /// Chain seconds a few blocks take: the least notice of an order.
    pub notice_s: u64,
    /// The site left to an outside controller and where its file goes.
    pub external: Option<(SiteId, PathBuf)>,
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
    /// The valley coop: owns the solar and geothermal meters and
    /// NORTH-MINE, and sells the joining site's owner what it uses.
    coop: Keypair,
    /// Relays the owners' curtailment acknowledgements.
    ack_relay: Keypair,
    meters: Vec<MeterSim>,
    sites: Sites,
    in_flight: HashMap<AccountId, Hash>,
    /// Chain time of the previous tick, to know how much a tick spans.
    last_tick_s: u64,
    /// The feeders, their head meters and their regulator.
    grid: Option<Grid>,
    /// Permits and curtailment.
    sandbox: Option<Sandbox>,
}

impl Community {
    /// The community of the dev genesis, resuming from the chain's state.
    pub async fn new(
        handle: NodeHandle,
        clock: Arc<dyn Clock>,
        opts: SimOptions,
    ) -> Option<Community> {
        let chain_id = handle.chain_id();
        let last_tick_s = clock.now_ms() / 1000;
        let zone = ZoneId::new(ZONE).ok()?;
        let meters_state: Vec<Option<Meter>> = (1..=METERS.len() as u64)
            .map(|i| handle.state(&StateKey::Meter(MeterId(i))))
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
        let mut sites = Sites::new(opts.external);
        sites.discover(&Sites::on_chain(&handle), &chain_id);
        let grid = Grid::new(&handle, zone.clone(), opts.tap);
        let sandbox = Sandbox::new(zone.clone(), opts.first_hour, opts.curtail, opts.notice_s);
        Some(Community {
            handle,
            clock,
            chain_id,
            zone,
            operator: operator_key(),
            seller: dev_keypair("dev-hill-farm"),
            buyer: AccountId(dev_keypair("dev-ridge-miner").public()),
            coop: dev_keypair("dev-valley-coop"),
            ack_relay: dev_keypair("dev-ack-relay"),
            meters,
            sites,
            in_flight: HashMap::new(),
            last_tick_s,
            grid,
            sandbox,
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
        let mut accounts: Vec<AccountId> = vec![
            AccountId(self.operator.public()),
            AccountId(self.seller.public()),
            AccountId(self.coop.public()),
            AccountId(self.ack_relay.public()),
        ];
        accounts.extend(self.sites.sims.iter().map(|s| AccountId(s.owner.public())));
        accounts.extend(self.grid.iter().flat_map(|g| g.accounts()));
        accounts.extend(self.sandbox.iter().flat_map(|s| s.accounts()));
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
        let chain_ms = store
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
            meters: meters
                .iter()
                .filter_map(|m| {
                    h.state::<Meter>(&StateKey::Meter(*m))
                        .map(|st| (*m, (st.last_sequence, st.last_end)))
                })
                .collect(),
            sites: Sites::on_chain(h),
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
            dark_after_s: policy.dark_after_s,
            chain_s: chain_ms / 1000,
        })
    }

    /// One tick; false once the node is gone.
    async fn tick(&mut self) -> bool {
        let Some(snap) = self.snapshot().await else {
            return false;
        };
        let now = self.clock.now_ms() / 1000;
        self.in_flight.retain(|_, h| snap.pending.contains(h));
        self.sites.discover(&snap.sites, &self.chain_id);
        let store = self.handle.store().clone();
        let state: &dyn StateReader = &*store;

        for m in &mut self.meters {
            let done = snap.meters.get(&m.id).map_or(0, |(seq, _)| *seq);
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
        for s in &mut self.sites.sims {
            if let Some(site) = snap.site(s.id) {
                s.advance(state, site, now, &self.chain_id);
            }
        }
        if let Some(x) = &mut self.sites.external {
            if let Some(site) = snap.site(x.id) {
                x.observe(site, now, snap.dark_after_s);
            }
        }

        // What each signer would submit, most urgent first.
        let mut wanted: Vec<(Keypair, Body)> = Vec::new();
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
        if let Some(i) = stale {
            let m = &mut self.meters[i];
            if !self.in_flight.contains_key(&operator) {
                tracing::warn!(meter = %m.id, "readings are getting too old to mint; resyncing the meter");
                m.pending.clear();
                m.next_seq = snap.meters.get(&m.id).map_or(0, |(seq, _)| *seq) + 1;
                m.last_end = now;
                let body = Body::ResyncMeter {
                    meter: m.id,
                    baseline_time: now,
                    baseline_counter: Wh(m.counter_mwh / 1000),
                };
                wanted.push((self.operator.clone(), body));
            }
        }
        // The joining site is registered before the feeders attach
        // anything, so that they attach it in turn.
        if let Some(sb) = &self.sandbox {
            wanted.extend(sb.join(&self.handle, snap.chain_s));
        }
        let site_w = self.sites.draws();
        let inputs = GridInputs {
            now,
            tick_s: tick,
            max_age_s: snap.max_age_s,
            site_w: &site_w,
        };
        if let Some(g) = &mut self.grid {
            wanted.extend(g.tick(&self.handle, &inputs));
        }
        if let Some(sb) = &self.sandbox {
            wanted.extend(sb.tick(&self.handle, snap.chain_s));
        }
        wanted.extend(self.acks(state, &snap));
        wanted.extend(self.joining_sale(state, &snap));
        let readings: Vec<Signed<GenerationReading>> = self
            .meters
            .iter()
            .flat_map(|m| m.pending.iter().cloned())
            .take(MAX_BATCH)
            .collect();
        if let Ok(readings) = BoundedVec::new(readings) {
            if !readings.is_empty() {
                wanted.push((self.operator.clone(), Body::SubmitReadings { readings }));
            }
        }
        for s in &self.sites.sims {
            let readings: Vec<_> = s.pending.iter().take(MAX_BATCH).cloned().collect();
            if let Ok(readings) = BoundedVec::new(readings) {
                if !readings.is_empty() {
                    wanted.push((s.owner.clone(), Body::SubmitConsumption { readings }));
                }
            }
        }
        // The hill farm sells the ridge miner a little of this hour's wind.
        let sale = Wh(snap.seller_hour_credits.0 / 4);
        if sale.0 >= 100 {
            let vintage = Vintage {
                zone: self.zone.clone(),
                hour: Hour::of_seconds(now),
            };
            let body = Body::Transfer {
                to: self.buyer,
                amount: sale,
                vintages: BoundedVec::new(vec![vintage]).ok(),
            };
            wanted.push((self.seller.clone(), body));
        }

        let mut signers: HashSet<AccountId> = self.in_flight.keys().copied().collect();
        let txs: Vec<Transaction> = wanted
            .into_iter()
            .filter(|(key, _)| signers.insert(AccountId(key.public())))
            .map(|(key, body)| self.signed(&key, &snap, body))
            .collect();
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

    /// The next curtailment acknowledgement an obedient site's owner
    /// signs, relayed by the ack relay (one a tick).
    fn acks(&self, state: &dyn StateReader, snap: &Snapshot) -> Option<(Keypair, Body)> {
        self.sites
            .sims
            .iter()
            .filter(|s| s.acknowledges())
            .filter_map(|s| Some((s, snap.site(s.id)?)))
            .flat_map(|(s, site)| {
                controller::acks(state, site, &s.owner, &self.chain_id, snap.chain_s)
            })
            .next()
            .map(|ack| (self.ack_relay.clone(), Body::AckCurtailment { ack }))
    }

    /// The coop sells the joining site's owner what it used in an hour
    /// that has ended, once the coop's meters and NORTH-MINE (unless an
    /// outside controller runs it) have reported the whole hour, so the
    /// coop's own site never goes short for it.
    fn joining_sale(&self, state: &dyn StateReader, snap: &Snapshot) -> Option<(Keypair, Body)> {
        let joining = snap.site(joining_site())?;
        let coop = AccountId(self.coop.public());
        let coop_site = SiteId(1);
        let prefix = debt_prefix(&joining.owner);
        let rows = state.scan(&prefix, &prefix_end(&prefix)).ok()?;
        let coop_holdings = self
            .handle
            .state::<Account>(&StateKey::Account(coop))
            .unwrap_or_default();
        let known = self
            .handle
            .state::<Account>(&StateKey::Account(joining.owner))
            .is_some();
        let min_new = self
            .handle
            .state::<ChainState>(&StateKey::Chain)
            .map_or(Wh(0), |c| c.params.min_new_account_wh);
        rows.iter().find_map(|(k, v)| {
            let (site, bucket) = debt_site_bucket(k)?;
            let debt: Debt = watt_runtime::encoding::decode(v).ok()?;
            let end = bucket.end_seconds();
            if site != joining.id || debt.amount.is_zero() || end > snap.chain_s {
                return None;
            }
            let coop_meters_done = METERS
                .iter()
                .enumerate()
                .filter(|(_, m)| m.2 == "dev-valley-coop")
                .all(|(i, _)| {
                    snap.meters
                        .get(&MeterId(i as u64 + 1))
                        .is_some_and(|(_, e)| *e >= end)
                });
            let coop_site_done = self
                .sites
                .external
                .as_ref()
                .is_some_and(|x| x.id == coop_site)
                || snap.site(coop_site).is_none_or(|s| s.last_end >= end);
            if !coop_meters_done || !coop_site_done {
                return None;
            }
            let vintage = Vintage {
                zone: debt.zone.clone(),
                hour: bucket.start_hour(),
            };
            let held = coop_holdings.holdings.get(&vintage).copied()?;
            let amount = Wh(held.0.min(debt.amount.0));
            if amount.is_zero() || (!known && amount < min_new) {
                return None;
            }
            Some((
                self.coop.clone(),
                Body::Transfer {
                    to: joining.owner,
                    amount,
                    vintages: BoundedVec::new(vec![vintage]).ok(),
                },
            ))
        })
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
