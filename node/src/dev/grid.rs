//! The physics of the simulated feeders of `watt dev` (SPEC section 11):
//! what each feeder's head meter measures, given the simulated generation,
//! the mining sites' draw, the households' hourly load profile, technical
//! losses and, once a day, an unregistered load tapped into the ridge
//! feeder.
//!
//! Energy balance at a feeder's head, per period:
//!
//! ```text
//! entering = import + generation
//! entering = consumption + households + tap + losses + export
//! losses   = r x entering, r = 2 % + 2 % x loading (2 to 4 %)
//! ```
//!
//! so the head meter imports `(load) / (1 - r) - generation` when that is
//! positive, and exports `generation x (1 - r) - load` otherwise. The chain
//! allows 5 % losses (`LOSS_PERMILLE`): an honest hour comes out 1 to 3 %
//! of the entering energy below zero, well inside the alert floor; an hour
//! with the 300 kW tap comes out about 300 kWh above it.

use super::genesis::{dev_site, METERS};
use super::sim::{hour_chunks, power_w};
use std::collections::BTreeMap;
use watt_runtime::types::{Hour, SiteId, Wh};

/// A simulated feeder: its id, its devices' dev-key names, its size.
pub struct FeederDef {
    /// The feeder id on chain.
    pub id: &'static str,
    /// The head meter's dev-key name.
    pub head_key: &'static str,
    /// The declared-load key's dev-key name (the distribution operator's
    /// meter data system, aggregating the households).
    pub declared_key: &'static str,
    /// The account that relays the head meter's readings (no account on
    /// chain: relaying needs none).
    pub scada_relay: &'static str,
    /// The account that relays the declared loads.
    pub mdm_relay: &'static str,
    /// Rated capacity, W.
    pub rated_w: u64,
    /// The households' evening peak, W.
    pub households_peak_w: u64,
    /// Its generation meters (ids in the dev genesis).
    pub meters: &'static [u64],
    /// Its mining sites (ids in the dev genesis).
    pub sites: &'static [u64],
}

/// NORTH-MINE and CREEK-MINE with the coop's solar and geothermal meters
/// on a 500 kW feeder, RIDGE-MINE with the hill farm's wind on a 630 kW
/// one.
pub const FEEDERS: [FeederDef; 2] = [
    FeederDef {
        id: "DEV-1/NORTH",
        head_key: "dev-feeder-north-head",
        declared_key: "dev-feeder-north-mdm",
        scada_relay: "dev-feeder-north-scada-relay",
        mdm_relay: "dev-feeder-north-mdm-relay",
        rated_w: 500_000,
        households_peak_w: 120_000,
        meters: &[1, 3],
        sites: &[1, 3],
    },
    FeederDef {
        id: "DEV-1/RIDGE",
        head_key: "dev-feeder-ridge-head",
        declared_key: "dev-feeder-ridge-mdm",
        scada_relay: "dev-feeder-ridge-scada-relay",
        mdm_relay: "dev-feeder-ridge-mdm-relay",
        rated_w: 630_000,
        households_peak_w: 80_000,
        meters: &[2],
        sites: &[2],
    },
];

/// The feeder the grid operator curtails each evening.
pub const NORTH: usize = 0;
/// The feeder the unregistered load is tapped into.
pub const RIDGE: usize = 1;
/// Technical losses the regulator allows, per mille of the energy entering.
pub const LOSS_PERMILLE: u16 = 50;
/// Unexplained energy per hour tolerated either way: 20 kWh, a few per cent
/// of an hour's flow, far below the tap's 300 kWh.
pub const ALERT_FLOOR: Wh = Wh(20_000);
/// Consecutive unexplained hours before an alert.
pub const ALERT_HOURS: u16 = 2;
/// The part of rated capacity mining permits may take, per mille.
pub const MINING_SHARE_PERMILLE: u16 = 500;
/// The unregistered load's power.
pub const TAP_W: u64 = 300_000;
/// How many hours it runs each day.
pub const TAP_HOURS: u64 = 3;

/// The households' load by UTC hour of day, per mille of the evening peak.
const HOUSEHOLD_PERMILLE: [u64; 24] = [
    400, 350, 330, 320, 330, 400, 550, 700, 650, 550, 500, 500, 550, 500, 480, 500, 600, 780, 920,
    1000, 970, 850, 650, 500,
];

/// The households' power during `hour` (constant within it, so an hour's
/// energy is this many Wh whichever way the hour is cut into periods).
pub fn household_w(peak_w: u64, hour: Hour) -> u64 {
    peak_w * HOUSEHOLD_PERMILLE[(hour.0 % 24) as usize] / 1000
}

/// When the unregistered load runs: `TAP_HOURS` from `first_hour`, and
/// again every 24 hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tap {
    /// The first hour it runs.
    pub first_hour: Hour,
}

impl Tap {
    /// Whether it runs during `hour`.
    pub fn active(&self, hour: Hour) -> bool {
        hour >= self.first_hour && (hour.0 - self.first_hour.0) % 24 < TAP_HOURS
    }
}

/// The power the feeder's generation meters produce at `t` (the sim's own
/// curves, the same the meters sign).
pub fn generation_w(def: &FeederDef, t: u64) -> u64 {
    def.meters
        .iter()
        .filter_map(|m| METERS.get(*m as usize - 1))
        .map(|(_, _, _, source, cap)| power_w(*source, *cap, t))
        .sum()
}

/// A site's draw while its rigs run (three quarters of its max draw).
pub fn site_running_w(site: SiteId) -> u64 {
    dev_site(site).map_or(0, |(_, _, _, draw)| draw * 3 / 4)
}

/// The loss fraction at a feeder's loading: 2 % idle to 4 % at rated
/// capacity (resistive losses grow with the current).
pub fn loss_fraction(through_w: f64, rated_w: u64) -> f64 {
    0.02 + 0.02 * (through_w / rated_w as f64).min(1.0)
}

/// What the head meter measures over `secs` seconds of constant flows, in
/// mWh: (import, export).
pub fn head_flows(generation_w: u64, load_w: u64, rated_w: u64, secs: u64) -> (u64, u64) {
    let (g, l) = (generation_w as f64, load_w as f64);
    let r = loss_fraction(g.max(l), rated_w);
    let mwh_per_w = secs as f64 * 1000.0 / 3600.0;
    let entering = l / (1.0 - r);
    if entering >= g {
        (((entering - g) * mwh_per_w) as u64, 0)
    } else {
        (0, ((g * (1.0 - r) - l) * mwh_per_w) as u64)
    }
}

/// A feeder's head meter: its import and export counters (mWh) at every
/// period end it has reached, from the chain's last accepted end on, so
/// that its readings can be signed again from whatever the chain has.
#[derive(Clone, Debug)]
pub struct HeadMeter {
    marks: BTreeMap<u64, (u64, u64)>,
}

impl HeadMeter {
    /// A head meter at `t` with these counters.
    pub fn at(t: u64, import: Wh, export: Wh) -> HeadMeter {
        HeadMeter {
            marks: BTreeMap::from([(t, (import.0 * 1000, export.0 * 1000))]),
        }
    }

    /// Where its last period ends.
    pub fn last_end(&self) -> u64 {
        self.marks.last_key_value().map_or(0, |(t, _)| *t)
    }

    /// Whether it has a period ending (or starting) at `t`.
    pub fn has_mark(&self, t: u64) -> bool {
        self.marks.contains_key(&t)
    }

    /// Its counters (Wh) at `t`, if a period ends there.
    pub fn counters_at(&self, t: u64) -> Option<(Wh, Wh)> {
        self.marks
            .get(&t)
            .map(|(i, e)| (Wh(i / 1000), Wh(e / 1000)))
    }

    /// Measures up to `end`, a period per hour, with the feeder's load
    /// (sites, households and any tap) given per period start.
    pub fn advance(&mut self, def: &FeederDef, end: u64, load_w: impl Fn(u64) -> u64) {
        for (a, b) in hour_chunks(self.last_end(), end) {
            let mid = (a + b) / 2;
            let (di, de) = head_flows(generation_w(def, mid), load_w(a), def.rated_w, b - a);
            let (i, e) = self.marks[&a];
            self.marks.insert(b, (i + di, e + de));
        }
    }

    /// Forgets the marks before `t` (the chain has accepted up to `t`).
    pub fn prune(&mut self, t: u64) {
        self.marks = self.marks.split_off(&t);
    }

    /// The periods after `t`, each with its end's counters (Wh):
    /// (start, end, import, export).
    pub fn periods_after(&self, t: u64) -> Vec<(u64, u64, Wh, Wh)> {
        let mut out = Vec::new();
        let mut start = t;
        for (end, (i, e)) in self.marks.range(t + 1..) {
            out.push((start, *end, Wh(i / 1000), Wh(e / 1000)));
            start = *end;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watt_runtime::feeder::{BalanceStatus, HourFigures};

    const T0: u64 = 1_700_006_400; // a whole day, 00:00 UTC

    /// One simulated day of a feeder, cut into `step`-second periods as the
    /// sim does; the figures the chain would close each hour with, from
    /// the counters the devices and the head meter sign.
    fn day(def: &FeederDef, tap: Option<Tap>, site_w: u64, step: u64) -> Vec<HourFigures> {
        let mut head = HeadMeter::at(T0, Wh(0), Wh(0));
        let mut gen_mwh: Vec<u64> = vec![0; def.meters.len()];
        let mut cons_mwh = 0u64;
        let mut out = Vec::new();
        for h in 0..24u64 {
            let hour = Hour::of_seconds(T0 + h * 3600);
            let (gen0, cons0) = (
                gen_mwh.iter().map(|m| m / 1000).sum::<u64>(),
                cons_mwh / 1000,
            );
            let (i0, e0) = head.counters_at(T0 + h * 3600).unwrap();
            let mut t = T0 + h * 3600;
            while t < T0 + (h + 1) * 3600 {
                let b = (t + step).min(T0 + (h + 1) * 3600);
                for (k, m) in def.meters.iter().enumerate() {
                    let (_, _, _, source, cap) = METERS[*m as usize - 1];
                    gen_mwh[k] += power_w(source, cap, (t + b) / 2) * (b - t) * 1000 / 3600;
                }
                cons_mwh += site_w * (b - t) * 1000 / 3600;
                head.advance(def, b, |a| {
                    let hr = Hour::of_seconds(a);
                    let tapped = tap.is_some_and(|x| x.active(hr));
                    site_w + household_w(def.households_peak_w, hr) + if tapped { TAP_W } else { 0 }
                });
                t = b;
            }
            let (i1, e1) = head.counters_at(t).unwrap();
            out.push(HourFigures {
                import: Wh(i1.0 - i0.0),
                export: Wh(e1.0 - e0.0),
                generation: Wh(gen_mwh.iter().map(|m| m / 1000).sum::<u64>() - gen0),
                consumption: Wh(cons_mwh / 1000 - cons0),
                declared: Wh(household_w(def.households_peak_w, hour)),
            });
        }
        out
    }

    #[test]
    fn honest_hours_balance_with_two_to_four_percent_losses() {
        for def in &FEEDERS {
            let site: u64 = def.sites.iter().map(|s| site_running_w(SiteId(*s))).sum();
            // Rigs running, rigs idled by a suspension; periods of 2 and 10
            // minutes.
            for (site_w, step) in [(site, 120), (site / 50, 600), (site, 7)] {
                for (h, f) in day(def, None, site_w, step).iter().enumerate() {
                    let u = f.unexplained(LOSS_PERMILLE);
                    assert_eq!(
                        f.status(LOSS_PERMILLE, ALERT_FLOOR),
                        BalanceStatus::Balanced,
                        "{} hour {h}: {f:?} unexplained {u}",
                        def.id
                    );
                    // Losses of 2 to 4 % against an allowance of 5 %.
                    let entering = (f.import.0 + f.generation.0) as i128;
                    assert!(u < 0 && -u <= entering * 3 / 100 + 2, "{h}: {u}");
                    assert!(u <= -(entering / 100) + 2, "{h}: {u} {entering}");
                    assert!(f.import.0 <= def.rated_w, "no overload: {f:?}");
                }
            }
        }
    }

    #[test]
    fn the_tap_is_unexplained_for_its_hours_only() {
        let def = &FEEDERS[RIDGE];
        let tap = Tap {
            first_hour: Hour::of_seconds(T0 + 6 * 3600),
        };
        let site: u64 = def.sites.iter().map(|s| site_running_w(SiteId(*s))).sum();
        for (h, f) in day(def, Some(tap), site, 120).iter().enumerate() {
            let status = f.status(LOSS_PERMILLE, ALERT_FLOOR);
            if (6..9).contains(&h) {
                assert_eq!(status, BalanceStatus::Unexplained, "{h}: {f:?}");
                let u = f.unexplained(LOSS_PERMILLE);
                assert!((280_000..=310_000).contains(&u), "{h}: {u}");
                assert!(f.import.0 <= def.rated_w, "no overload: {f:?}");
            } else {
                assert_eq!(status, BalanceStatus::Balanced, "{h}: {f:?}");
            }
        }
    }

    #[test]
    fn the_dev_chain_closes_an_hour_only_after_its_readings_are_too_old() {
        // A head reading of an hour that closed must be refused as too old:
        // the settlement grace is at least the max age plus the skew.
        let g = super::super::genesis::dev_genesis(T0 * 1000)
            .unwrap()
            .genesis;
        let max_age = g.zones.iter().map(|(_, p)| p.reading_max_age_s).max();
        let p = &g.params;
        assert!(p.settlement_grace_s >= max_age.unwrap() + p.max_clock_skew_s);
        // Each feeder's mining permits could cover its sites' max draw, and
        // everything that can flow in an hour stays under its rating.
        for def in &FEEDERS {
            let draw: u64 = def
                .sites
                .iter()
                .map(|s| dev_site(SiteId(*s)).unwrap().3)
                .sum();
            assert!(def.rated_w * u64::from(MINING_SHARE_PERMILLE) / 1000 >= draw);
            let tap = if def.id == FEEDERS[RIDGE].id {
                TAP_W
            } else {
                0
            };
            let peak = (draw * 3 / 4 + def.households_peak_w + tap) as f64 / 0.96;
            assert!(peak < def.rated_w as f64, "{}", def.id);
        }
    }

    #[test]
    fn the_tap_comes_back_daily() {
        let tap = Tap {
            first_hour: Hour(100),
        };
        let on: Vec<u64> = (90..160).filter(|h| tap.active(Hour(*h))).collect();
        assert_eq!(on, vec![100, 101, 102, 124, 125, 126, 148, 149, 150]);
    }

    #[test]
    fn the_head_meter_signs_again_from_any_accepted_end() {
        let def = &FEEDERS[0];
        let mut m = HeadMeter::at(T0, Wh(5), Wh(0));
        m.advance(def, T0 + 3000, |_| 100_000);
        m.advance(def, T0 + 4000, |_| 100_000);
        let p = m.periods_after(T0);
        assert_eq!(
            p.iter().map(|x| (x.0, x.1)).collect::<Vec<_>>(),
            vec![
                (T0, T0 + 3000),
                (T0 + 3000, T0 + 3600),
                (T0 + 3600, T0 + 4000)
            ]
        );
        m.prune(T0 + 3600);
        assert_eq!(m.periods_after(T0 + 3600).len(), 1);
        assert!(!m.has_mark(T0 + 3000));
        assert_eq!(m.last_end(), T0 + 4000);
    }
}
