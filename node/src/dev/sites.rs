//! The simulated mining sites of `watt dev`: each signs consumption
//! readings with its own device key for what its controller
//! ([`super::controller`]) decides to draw, and its owner relays them. A
//! site handed to an outside controller (`--external-site`) is only
//! watched, for its feeder's head meter.

use super::controller::{self, Behaviour, Segment};
use super::external::{self, ExternalSim};
use super::genesis::{dev_site, DEV_SITES, JOINING_SITE};
use std::path::PathBuf;
use watt_genesis::dev_keypair;
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::state::{Site, StateKey, StateReader};
use watt_runtime::tx::{ConsumptionReading, Signed};
use watt_runtime::types::{SiteId, Wh};

use crate::service::NodeHandle;

/// One simulated site.
pub struct SiteSim {
    /// The site.
    pub id: SiteId,
    key: Keypair,
    /// Its owner, who relays its readings.
    pub owner: Keypair,
    /// What its rigs draw running, W.
    load_w: u64,
    behaviour: Behaviour,
    last_end: u64,
    counter_mwh: u64,
    next_seq: u64,
    /// Signed readings the chain has not accepted yet.
    pub pending: Vec<Signed<ConsumptionReading>>,
    /// Its average draw over the last tick, W.
    pub draw_w: u64,
}

impl SiteSim {
    /// Resumes a site from the chain's record of it.
    fn resume(site: &Site) -> Option<SiteSim> {
        let (_, key, owner, draw) = dev_site(site.id)?;
        let behaviour = if site.id == joining_site() {
            Behaviour::IgnoresCurtailment
        } else {
            Behaviour::Obeys
        };
        Some(SiteSim {
            id: site.id,
            key: dev_keypair(key),
            owner: dev_keypair(owner),
            load_w: draw * 3 / 4,
            behaviour,
            last_end: site.last_end,
            counter_mwh: site.last_counter.0 * 1000,
            next_seq: site.last_sequence + 1,
            pending: Vec::new(),
            draw_w: 0,
        })
    }

    /// Whether it acknowledges curtailment orders.
    pub fn acknowledges(&self) -> bool {
        self.behaviour == Behaviour::Obeys
    }

    /// Drops what the chain has accepted (`site` is the chain's record),
    /// then signs readings up to `now` for what its controller draws.
    pub fn advance(
        &mut self,
        state: &(impl StateReader + ?Sized),
        site: &Site,
        now: u64,
        chain_id: &Hash,
    ) {
        self.pending
            .retain(|r| r.reading.sequence > site.last_sequence);
        let from = self.last_end;
        let plan = controller::plan(state, site, from, now, self.load_w, self.behaviour);
        let mut energy_mwh = 0u64;
        for Segment { start, end, draw_w } in plan {
            let mwh = draw_w * (end - start) * 1000 / 3600;
            energy_mwh += mwh;
            self.counter_mwh += mwh;
            let r = ConsumptionReading {
                site: self.id,
                sequence: self.next_seq,
                period_start: start,
                period_end: end,
                counter: Wh(self.counter_mwh / 1000),
                flags: 0,
            };
            self.pending.push(r.sign(chain_id, &self.key));
            self.next_seq += 1;
            self.last_end = end;
        }
        if now > from {
            self.draw_w = energy_mwh * 3600 / 1000 / (now - from);
        }
    }
}

/// The joining site's id on a dev chain.
pub fn joining_site() -> SiteId {
    let i = DEV_SITES.iter().position(|s| s.0 == JOINING_SITE.0);
    SiteId(i.map_or(0, |i| i as u64 + 1))
}

/// The dev sites: simulated, external, or not on chain yet.
pub struct Sites {
    /// The simulated ones.
    pub sims: Vec<SiteSim>,
    /// The one left to an outside controller, if any.
    pub external: Option<ExternalSim>,
    /// Dev sites not found on chain yet.
    missing: Vec<SiteId>,
}

impl Sites {
    /// None found yet; `external` is the site left to an outside
    /// controller and where its file goes.
    pub fn new(external: Option<(SiteId, PathBuf)>) -> Sites {
        Sites {
            sims: Vec::new(),
            external: external.map(|(id, file)| ExternalSim::new(id, file)),
            missing: (1..=DEV_SITES.len() as u64).map(SiteId).collect(),
        }
    }

    /// Every dev site on chain whose device key is the dev one (a site
    /// registered by someone else may have taken a dev site's id).
    pub fn on_chain(h: &NodeHandle) -> Vec<Site> {
        (1..=DEV_SITES.len() as u64)
            .filter_map(|i| {
                let id = SiteId(i);
                let key = dev_keypair(dev_site(id)?.1).public();
                h.state::<Site>(&StateKey::Site(id))
                    .filter(|s| s.device_key == key)
            })
            .collect()
    }

    /// Takes up the dev sites that appeared on chain: a simulator each,
    /// or, for the external site, its file.
    pub fn discover(&mut self, on_chain: &[Site], chain_id: &Hash) {
        self.missing.retain(|id| {
            let Some(site) = on_chain.iter().find(|s| s.id == *id) else {
                return true;
            };
            match &mut self.external {
                Some(x) if x.id == *id => {
                    match external::write(&x.file, chain_id, site) {
                        Ok(()) => {
                            x.written = true;
                            println!(
                                "   EXTERNAL {} is left to an outside controller: its keys and last reading are in {}",
                                dev_site(*id).map_or("site", |d| d.0),
                                x.file.display()
                            );
                        }
                        Err(e) => {
                            tracing::error!(file = %x.file.display(), error = %e, "cannot write the external site's file");
                        }
                    }
                }
                _ => self.sims.extend(SiteSim::resume(site)),
            }
            false
        });
    }

    /// Each dev site's draw this tick (W), simulated or estimated.
    pub fn draws(&self) -> Vec<(SiteId, u64)> {
        let mut out: Vec<(SiteId, u64)> = self.sims.iter().map(|s| (s.id, s.draw_w)).collect();
        out.extend(self.external.iter().map(|x| (x.id, x.draw_w)));
        out
    }
}
