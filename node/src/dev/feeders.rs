//! The simulated feeders of `watt dev` on chain: the regulator registers a
//! feeder per mining site and attaches the site and its generation meters
//! from the next hour; each feeder's head meter signs readings of what
//! flows through it ([`super::grid`]); the distribution operator's meter
//! data system declares the households' load once per hour; and when an
//! unexplained-load alert is open and an hour balances again, the
//! regulator clears it with a reason.
//!
//! Everything is derived from the chain's state each tick (what is
//! registered, attached, accepted, declared, alerted), so a lost or refused
//! transaction is simply made again, and a restarted `watt dev` carries on.

use super::genesis::regulator_key;
use super::grid::{
    household_w, FeederDef, HeadMeter, Tap, ALERT_FLOOR, ALERT_HOURS, FEEDERS, LOSS_PERMILLE,
    MINING_SHARE_PERMILLE, RIDGE, TAP_W,
};
use crate::chain::Committed;
use crate::service::NodeHandle;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::broadcast;
use watt_genesis::{dev_keypair, format_rfc3339};
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::BoundedVec;
use watt_runtime::events::Event;
use watt_runtime::feeder::{
    Attachee, BalanceStatus, DeclaredLoad, FeederId, FeederReading, NewFeeder,
};
use watt_runtime::state::{
    attachment_hour, attachment_prefix, prefix_end, Feeder, FeederHour, Site, StateKey, StateReader,
};
use watt_runtime::tx::{Body, Text};
use watt_runtime::types::{AccountId, Hour, MeterId, SiteId, Watts, Wh, ZoneId};

/// Most readings or declared loads one transaction carries.
const MAX_BATCH: usize = 64;

struct FeederSim {
    def: &'static FeederDef,
    id: FeederId,
    head_key: Keypair,
    declared_key: Keypair,
    scada: Keypair,
    mdm: Keypair,
    /// The head meter, once the feeder is on chain.
    head: Option<HeadMeter>,
    /// The first hour each of its devices is attached from, once known.
    attached: Vec<(Attachee, Option<Hour>)>,
}

impl FeederSim {
    /// The hour from which all its devices count: the first hour worth
    /// declaring a load for (earlier hours stay unmetered).
    fn declare_from(&self) -> Option<Hour> {
        self.attached
            .iter()
            .map(|(_, h)| *h)
            .try_fold(Hour(0), |acc, h| h.map(|h| acc.max(h)))
    }
}

/// What the feeders need from the tick: the chain time, how long a tick
/// is, the zone's max reading age, and each site's draw now.
pub struct GridInputs<'a> {
    /// Chain time, unix seconds.
    pub now: u64,
    /// Seconds between ticks.
    pub tick_s: u64,
    /// The zone's max reading age.
    pub max_age_s: u64,
    /// Each site's draw (W) this tick.
    pub site_w: &'a [(SiteId, u64)],
}

/// The simulated feeders, the regulator and the distribution operator.
pub struct Grid {
    chain_id: Hash,
    zone: ZoneId,
    regulator: Keypair,
    feeders: Vec<FeederSim>,
    tap: Option<Tap>,
    blocks: broadcast::Receiver<Arc<Committed>>,
    /// The last balanced hour of each feeder seen in a block.
    balanced: HashMap<FeederId, Hour>,
}

impl Grid {
    /// The dev feeders; the unregistered load runs from `tap` on, if any.
    pub fn new(handle: &NodeHandle, zone: ZoneId, tap: Option<Tap>) -> Option<Grid> {
        let feeders = FEEDERS
            .iter()
            .map(|def| {
                let mut attached: Vec<(Attachee, Option<Hour>)> = def
                    .meters
                    .iter()
                    .map(|m| (Attachee::Meter(MeterId(*m)), None))
                    .collect();
                attached.extend(def.sites.iter().map(|s| (Attachee::Site(SiteId(*s)), None)));
                Some(FeederSim {
                    def,
                    id: FeederId::new(def.id).ok()?,
                    head_key: dev_keypair(def.head_key),
                    declared_key: dev_keypair(def.declared_key),
                    scada: dev_keypair(def.scada_relay),
                    mdm: dev_keypair(def.mdm_relay),
                    head: None,
                    attached,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Grid {
            chain_id: handle.chain_id(),
            zone,
            regulator: regulator_key(),
            feeders,
            tap,
            blocks: handle.subscribe(),
            balanced: HashMap::new(),
        })
    }

    /// The accounts whose nonces the grid's transactions need.
    pub fn accounts(&self) -> Vec<AccountId> {
        let mut out = vec![AccountId(self.regulator.public())];
        for f in &self.feeders {
            out.push(AccountId(f.scada.public()));
            out.push(AccountId(f.mdm.public()));
        }
        out
    }

    /// One tick: what the regulator, the head meters' relays and the meter
    /// data system's relays would submit now, given the chain's state.
    pub fn tick(&mut self, h: &NodeHandle, inp: &GridInputs) -> Vec<(Keypair, Body)> {
        self.watch_blocks();
        let store = h.store().clone();
        let mut out = Vec::new();
        let mut regulator: Option<Body> = None;
        for i in 0..self.feeders.len() {
            let state: Option<Feeder> = h.state(&StateKey::Feeder(self.feeders[i].id.clone()));
            let Some(f) = state else {
                regulator.get_or_insert_with(|| self.register(i, inp.now));
                continue;
            };
            self.find_attachments(i, &*store);
            if let Some(body) = self.attach_next(i, h, inp.now) {
                regulator.get_or_insert(body);
            }
            let load = self.load(i, inp.site_w);
            let fs = &mut self.feeders[i];
            let head = match &mut fs.head {
                Some(m) if m.has_mark(f.head_last_end) => m,
                other => other.insert(HeadMeter::at(f.head_last_end, f.head_import, f.head_export)),
            };
            head.advance(fs.def, inp.now, |t| load.at(t));
            head.prune(f.head_last_end);
            let periods = head.periods_after(f.head_last_end);
            let stale = periods
                .first()
                .is_some_and(|p| p.1 + inp.max_age_s < inp.now + inp.tick_s);
            if stale {
                if let Some(body) = resync(fs, &f, inp) {
                    regulator.get_or_insert(body);
                }
            } else if !periods.is_empty() {
                let readings = periods
                    .iter()
                    .take(MAX_BATCH)
                    .zip(f.head_sequence + 1..)
                    .map(|(p, sequence)| {
                        FeederReading {
                            feeder: fs.id.clone(),
                            sequence,
                            period_start: p.0,
                            period_end: p.1,
                            import: p.2,
                            export: p.3,
                            flags: 0,
                        }
                        .sign(&self.chain_id, &fs.head_key)
                    })
                    .collect();
                if let Ok(readings) = BoundedVec::new(readings) {
                    out.push((fs.scada.clone(), Body::SubmitFeederReadings { readings }));
                }
            }
            if let Some(body) = self.declare(i, h, &f, inp.now) {
                out.push((self.feeders[i].mdm.clone(), body));
            }
            if let Some(body) = self.clear(&f, inp.now) {
                regulator.get_or_insert(body);
            }
        }
        if let Some(body) = regulator {
            out.push((self.regulator.clone(), body));
        }
        out
    }

    /// Notes each feeder's balanced hours from the committed blocks.
    fn watch_blocks(&mut self) {
        loop {
            match self.blocks.try_recv() {
                Ok(c) => {
                    for rec in &c.events {
                        if let Event::FeederBalance {
                            feeder,
                            hour,
                            status: BalanceStatus::Balanced,
                            ..
                        } = &rec.event
                        {
                            let last = self.balanced.entry(feeder.clone()).or_insert(*hour);
                            *last = (*last).max(*hour);
                        }
                    }
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                Err(_) => return,
            }
        }
    }

    /// RegisterFeeder on the current whole hour, its head meter's counters
    /// at zero.
    fn register(&self, i: usize, now: u64) -> Body {
        let fs = &self.feeders[i];
        Body::RegisterFeeder {
            feeder: NewFeeder {
                id: fs.id.clone(),
                zone: self.zone.clone(),
                rated_capacity: Watts(fs.def.rated_w),
                loss_permille: LOSS_PERMILLE,
                alert_floor: ALERT_FLOOR,
                alert_hours: ALERT_HOURS,
                mining_share_permille: MINING_SHARE_PERMILLE,
                head_key: fs.head_key.public(),
                baseline_time: now / 3600 * 3600,
                baseline_import: Wh(0),
                baseline_export: Wh(0),
                declared_key: Some(fs.declared_key.public()),
            },
        }
    }

    /// Looks up, on chain, the attachments not known yet.
    fn find_attachments(&mut self, i: usize, store: &dyn StateReader) {
        for (device, from) in &mut self.feeders[i].attached {
            if from.is_none() {
                let prefix = attachment_prefix(device);
                if let Ok(rows) = store.scan(&prefix, &prefix_end(&prefix)) {
                    *from = rows.first().and_then(|(k, _)| attachment_hour(k));
                }
            }
        }
    }

    /// AttachToFeeder for the next device not attached, from the next
    /// hour (a site the regulator registers once the chain runs waits for
    /// its registration).
    fn attach_next(&self, i: usize, h: &NodeHandle, now: u64) -> Option<Body> {
        let fs = &self.feeders[i];
        let on_chain = |d: &Attachee| match d {
            Attachee::Site(s) => h.state::<Site>(&StateKey::Site(*s)).is_some(),
            Attachee::Meter(_) => true,
        };
        let (device, _) = fs
            .attached
            .iter()
            .find(|(d, from)| from.is_none() && on_chain(d))?;
        Some(Body::AttachToFeeder {
            device: *device,
            feeder: fs.id.clone(),
            from_hour: Hour(now / 3600 + 1),
        })
    }

    /// The feeder's load this tick.
    fn load(&self, i: usize, site_w: &[(SiteId, u64)]) -> Load {
        let def = self.feeders[i].def;
        Load {
            sites_w: site_w
                .iter()
                .filter(|(s, _)| def.sites.contains(&s.0))
                .map(|(_, w)| w)
                .sum(),
            households_peak_w: def.households_peak_w,
            tap: self.tap.filter(|_| i == RIDGE),
        }
    }

    /// The households' load of every hour that has ended and is still
    /// open, not yet declared, from the first hour its devices count.
    fn declare(&self, i: usize, h: &NodeHandle, f: &Feeder, now: u64) -> Option<Body> {
        let fs = &self.feeders[i];
        let from = fs.declare_from()?.max(f.open_from);
        let loads: Vec<_> = (from.0..now / 3600)
            .map(Hour)
            .filter(|hour| {
                h.state::<FeederHour>(&StateKey::FeederHour(fs.id.clone(), *hour))
                    .is_none_or(|acc| acc.declared.is_none())
            })
            .take(MAX_BATCH)
            .map(|hour| {
                DeclaredLoad {
                    feeder: fs.id.clone(),
                    hour,
                    energy: Wh(household_w(fs.def.households_peak_w, hour)),
                }
                .sign(&self.chain_id, &fs.declared_key)
            })
            .collect();
        if loads.is_empty() {
            return None;
        }
        BoundedVec::new(loads)
            .ok()
            .map(|loads| Body::SubmitDeclaredLoad { loads })
    }

    /// ClearFeederAlert once an hour after the alert balanced again (the
    /// line patrol found the load and disconnected it).
    fn clear(&self, f: &Feeder, now: u64) -> Option<Body> {
        let alert = f.alert.as_ref()?;
        let balanced = *self.balanced.get(&f.id)?;
        if balanced <= alert.through_hour {
            return None;
        }
        if self.tap.is_some_and(|t| t.active(Hour::of_seconds(now))) {
            return None;
        }
        let reason = format!(
            "line patrol found an unregistered load tapped into {} and disconnected it; the {} UTC hour balanced again",
            f.id,
            hhmm(balanced)
        );
        Some(Body::ClearFeederAlert {
            feeder: f.id.clone(),
            reason: Text::new(&reason).ok()?,
        })
    }
}

/// A feeder's load: its sites as they draw this tick, the households'
/// hour, and the tap on the ridge feeder.
struct Load {
    sites_w: u64,
    households_peak_w: u64,
    tap: Option<Tap>,
}

impl Load {
    /// The load (W) of a period starting at `t`.
    fn at(&self, t: u64) -> u64 {
        let hour = Hour::of_seconds(t);
        let tapped = self.tap.is_some_and(|x| x.active(hour));
        self.sites_w + household_w(self.households_peak_w, hour) + if tapped { TAP_W } else { 0 }
    }
}

/// ResyncFeederMeter for a head meter whose readings got too old to be
/// accepted: a new baseline on the first whole hour they can start from.
fn resync(fs: &FeederSim, f: &Feeder, inp: &GridInputs) -> Option<Body> {
    let baseline = resync_baseline(f.head_last_end, inp);
    // The head meter's counters there (a period ends on every whole hour
    // it passed); none yet if that hour has not come.
    let (import, export) = fs.head.as_ref()?.counters_at(baseline)?;
    tracing::warn!(feeder = %f.id, "head meter readings are getting too old; resyncing it");
    Some(Body::ResyncFeederMeter {
        feeder: f.id.clone(),
        baseline_time: baseline,
        baseline_import: import,
        baseline_export: export,
    })
}

/// The first whole hour not before the head meter's last accepted end
/// whose readings will still be young enough by the next tick.
fn resync_baseline(last_end: u64, inp: &GridInputs) -> u64 {
    let oldest = last_end.max((inp.now + inp.tick_s).saturating_sub(inp.max_age_s));
    oldest.div_ceil(3600) * 3600
}

/// `HH:MM` of an hour's start.
pub fn hhmm(hour: Hour) -> String {
    format_rfc3339(hour.0 * 3_600_000)[11..16].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_head_meter_is_resynced_on_a_whole_hour_it_has_passed() {
        let t0 = 1_700_006_400;
        let inp = |now| GridInputs {
            now,
            tick_s: 120,
            max_age_s: 3600,
            site_w: &[],
        };
        // Readings from t0 on were never accepted; at t0 + 2 h 10 min the
        // first hour is too old, the second one not.
        assert_eq!(resync_baseline(t0, &inp(t0 + 7800)), t0 + 7200);
        // Never before the last accepted end.
        assert_eq!(resync_baseline(t0 + 7300, &inp(t0 + 7800)), t0 + 10_800);
        let mut head = HeadMeter::at(t0, Wh(0), Wh(0));
        head.advance(&FEEDERS[0], t0 + 7800, |_| 200_000);
        assert!(head.counters_at(t0 + 7200).is_some_and(|(i, _)| i.0 > 0));
        assert_eq!(head.counters_at(t0 + 10_800), None);
    }
}
