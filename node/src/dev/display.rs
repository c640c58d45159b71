//! What `watt dev` prints: one readable line per finalised block, and a
//! line for every violation, debt and suspension, feeder event, permit and
//! curtailment.

use crate::chain::Committed;
use std::collections::BTreeMap;
use watt_genesis::format_rfc3339;
use watt_runtime::events::Event;
use watt_runtime::feeder::Attachee;
use watt_runtime::state::ViolationKind;
use watt_runtime::types::{Hour, MeterId, SiteId};

use super::feeders::hhmm;

use super::genesis::{dev_site, METERS};

#[path = "display_sandbox.rs"]
mod sandbox;
pub use sandbox::{permit_expired_line, sandbox_line, Printer};

/// Formats Wh with a unit a person reads at a glance.
pub fn energy(wh: u64) -> String {
    match wh {
        0..=9_999 => format!("{wh} Wh"),
        10_000..=9_999_999 => format!("{:.1} kWh", wh as f64 / 1e3),
        _ => format!("{:.2} MWh", wh as f64 / 1e6),
    }
}

fn meter_name(id: MeterId) -> String {
    METERS
        .get(id.0.wrapping_sub(1) as usize)
        .map_or_else(|| format!("meter {id}"), |m| m.0.to_string())
}

pub(super) fn site_name(id: SiteId) -> String {
    dev_site(id).map_or_else(|| format!("site {id}"), |s| s.0.to_string())
}

/// kWh with one decimal.
pub(super) fn kwh(wh: i128) -> String {
    format!("{:.1}", wh as f64 / 1e3)
}

/// An hour as `HH:MM` UTC.
pub(super) fn at(hour: Hour) -> String {
    hhmm(hour)
}

fn device_name(d: &Attachee) -> String {
    match d {
        Attachee::Meter(m) => meter_name(*m),
        Attachee::Site(s) => site_name(*s),
    }
}

/// The line for a feeder event, if it is one: a closed hour's balance,
/// an alert, its clearing, an overload, a registration or attachment.
pub fn feeder_line(e: &Event) -> Option<String> {
    Some(match e {
        Event::FeederBalance {
            feeder,
            hour,
            import,
            export,
            generation,
            consumption,
            declared,
            unexplained,
            status,
            ..
        } => format!(
            "   feeder   {feeder:<11} {}  import {:>5}  export {:>5}  generation {:>5}  consumption {:>5}  declared {:>5}  unexplained {:>6} kWh  {}",
            at(*hour),
            kwh(import.0.into()),
            kwh(export.0.into()),
            kwh(generation.0.into()),
            kwh(consumption.0.into()),
            kwh(declared.0.into()),
            kwh(*unexplained),
            status.name()
        ),
        Event::UnexplainedLoad {
            feeder,
            from_hour,
            through_hour,
            hours,
            unexplained,
        } => format!(
            "   ALERT    {feeder} unexplained load: {hours} hours {}-{} UTC, {} kWh unexplained",
            at(*from_hour),
            at(Hour(through_hour.0 + 1)),
            kwh(unexplained.0.into())
        ),
        Event::FeederAlertCleared {
            feeder,
            from_hour,
            through_hour,
            reason,
        } => format!(
            "   CLEARED  {feeder} alert {}-{} UTC cleared by the regulator: {}",
            at(*from_hour),
            at(Hour(through_hour.0 + 1)),
            reason.as_str()
        ),
        Event::FeederOverload {
            feeder,
            hour,
            import,
            consumption,
            capacity,
        } => format!(
            "   OVERLOAD {feeder} {}: import {} kWh, consumption {} kWh, rated {} kWh",
            at(*hour),
            kwh(import.0.into()),
            kwh(consumption.0.into()),
            kwh(capacity.0.into())
        ),
        Event::FeederRegistered {
            feeder,
            rated_capacity,
            first_hour,
            ..
        } => format!(
            "   feeder   {feeder} registered: {} kW rated, balanced hourly from {} UTC",
            rated_capacity.0 / 1000,
            at(*first_hour)
        ),
        Event::FeederAttached {
            device,
            feeder,
            from_hour,
        } => format!(
            "   feeder   {feeder}: {} attached from {} UTC",
            device_name(device),
            at(*from_hour)
        ),
        Event::FeederMeterResynced {
            feeder,
            baseline_time,
        } => format!(
            "   feeder   {feeder}: head meter resynced at {} UTC",
            &format_rfc3339(baseline_time * 1000)[11..16]
        ),
        _ => return None,
    })
}

/// The lines for one block: a summary line, then one line for each
/// shortfall, violation or expiry.
pub fn block_lines(c: &Committed) -> Vec<String> {
    let mut minted: BTreeMap<String, u64> = BTreeMap::new();
    let mut burned: BTreeMap<String, u64> = BTreeMap::new();
    let mut debts: BTreeMap<String, u64> = BTreeMap::new();
    let (mut settled, mut transferred) = (0u64, 0u64);
    let mut notes = Vec::new();
    for rec in &c.events {
        match &rec.event {
            Event::Minted { meter, amount, .. } => {
                *minted.entry(meter_name(*meter)).or_default() += amount.0
            }
            Event::Burned { site, parts, .. } => {
                *burned.entry(site_name(*site)).or_default() +=
                    parts.iter().map(|(_, w)| w.0).sum::<u64>()
            }
            Event::DebtOpened { site, amount, .. } => {
                *debts.entry(site_name(*site)).or_default() += amount.0
            }
            Event::DebtSettled { amount, .. } => settled += amount.0,
            Event::Transferred { parts, .. } => {
                transferred += parts.iter().map(|(_, w)| w.0).sum::<u64>()
            }
            Event::ShortfallRecorded { site, amount, .. } => notes.push(format!(
                "   SHORTFALL {} {} unbacked after its hour and the grace: site suspended",
                site_name(*site),
                energy(amount.0)
            )),
            Event::Violation {
                site,
                violation,
                detail,
                ..
            } if *violation != ViolationKind::Unbacked => notes.push(format!(
                "   VIOLATION {} {:?}: {detail}: site suspended",
                site_name(*site),
                violation
            )),
            Event::ShortfallSettled { site, cost, .. } => notes.push(format!(
                "   settled  {} shortfall for {}",
                site_name(*site),
                energy(cost.0)
            )),
            Event::Expired {
                amount, vintage, ..
            } => notes.push(format!("   expired  {} of {vintage}", energy(amount.0))),
            e => notes.extend(feeder_line(e).or_else(|| sandbox_line(e))),
        }
    }
    let list = |m: &BTreeMap<String, u64>| {
        if m.is_empty() {
            "-".to_string()
        } else {
            m.iter()
                .map(|(k, v)| format!("{k} {}", energy(*v)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let h = &c.header;
    let mut line = format!(
        "#{:<5} {}  {:>2} tx  minted: {}  burned: {}",
        h.height.0,
        &format_rfc3339(h.timestamp_ms)[11..16],
        c.txs,
        list(&minted),
        list(&burned)
    );
    if !debts.is_empty() {
        line.push_str(&format!(
            "  debt: {}",
            debts
                .iter()
                .map(|(k, v)| format!("{k} +{}", energy(*v)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if settled > 0 {
        line.push_str(&format!("  settled late: {}", energy(settled)));
    }
    if transferred > 0 {
        line.push_str(&format!("  traded: {}", energy(transferred)));
    }
    let mut lines = vec![line];
    lines.extend(notes);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_units() {
        assert_eq!(energy(999), "999 Wh");
        assert_eq!(energy(12_345), "12.3 kWh");
        assert_eq!(energy(12_345_678), "12.35 MWh");
    }

    #[test]
    fn feeder_lines() {
        use watt_runtime::feeder::{BalanceStatus, FeederId};
        use watt_runtime::tx::Text;
        use watt_runtime::types::Wh;
        let feeder = FeederId::new("DEV-1/RIDGE").unwrap();
        let hour = Hour::of_seconds(1_700_006_400 + 6 * 3600);
        let line = feeder_line(&Event::FeederBalance {
            feeder: feeder.clone(),
            hour,
            import: Wh(512_345),
            export: Wh(0),
            generation: Wh(90_000),
            consumption: Wh(135_000),
            declared: Wh(44_000),
            allowance: Wh(30_118),
            unexplained: 393_227,
            status: BalanceStatus::Unexplained,
        })
        .unwrap();
        assert!(line.contains("DEV-1/RIDGE 06:00  import 512.3"), "{line}");
        assert!(
            line.ends_with("unexplained  393.2 kWh  unexplained"),
            "{line}"
        );
        let alert = feeder_line(&Event::UnexplainedLoad {
            feeder: feeder.clone(),
            from_hour: hour,
            through_hour: Hour(hour.0 + 1),
            hours: 2,
            unexplained: Wh(601_000),
        })
        .unwrap();
        assert_eq!(
            alert,
            "   ALERT    DEV-1/RIDGE unexplained load: 2 hours 06:00-08:00 UTC, 601.0 kWh unexplained"
        );
        let cleared = feeder_line(&Event::FeederAlertCleared {
            feeder,
            from_hour: hour,
            through_hour: Hour(hour.0 + 2),
            reason: Text::new("found it").unwrap(),
        })
        .unwrap();
        assert_eq!(
            cleared,
            "   CLEARED  DEV-1/RIDGE alert 06:00-09:00 UTC cleared by the regulator: found it"
        );
        assert_eq!(feeder_line(&Event::ParamsChanged), None);
    }
}
