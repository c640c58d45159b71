//! What `watt dev` prints: one readable line per finalised block, and a
//! line for every violation, debt and suspension.

use crate::chain::Committed;
use std::collections::BTreeMap;
use watt_genesis::format_rfc3339;
use watt_runtime::events::Event;
use watt_runtime::state::ViolationKind;
use watt_runtime::types::{MeterId, SiteId};

use super::genesis::{METERS, SITES};

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

fn site_name(id: SiteId) -> String {
    SITES
        .get(id.0.wrapping_sub(1) as usize)
        .map_or_else(|| format!("site {id}"), |s| s.0.to_string())
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
            _ => {}
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
}
