//! The terminal lines of the regulator's sandbox (SPEC section 11): the
//! zone's sandbox, permits and their expiry, curtailment orders,
//! acknowledgements, verdicts and reinstatements.

use super::{at, block_lines, energy, kwh, site_name};
use crate::chain::Committed;
use std::collections::BTreeMap;
use watt_genesis::format_rfc3339;
use watt_runtime::events::{Event, EventRecord};
use watt_runtime::feeder::FeederId;
use watt_runtime::sandbox::{CurtailTarget, ALL_HOURS, ALL_MONTHS};
use watt_runtime::types::{AccountId, SiteId};

use super::super::genesis::grid_operator_key;

/// kW with one decimal.
fn kw(w: u64) -> String {
    format!("{:.1} kW", w as f64 / 1e3)
}

/// Unix seconds as `HH:MM` UTC.
fn clock(s: u64) -> String {
    format_rfc3339(s * 1000)[11..16].to_string()
}

/// Unix seconds as `YYYY-MM-DD HH:MM` UTC.
fn date_time(s: u64) -> String {
    format_rfc3339(s * 1000)[..16].replace('T', " ")
}

fn account_name(a: &AccountId) -> String {
    if a.0 == grid_operator_key().public() {
        "the dev grid operator".into()
    } else {
        a.to_string()
    }
}

/// The line for a sandbox event, if it is one: the zone's sandbox, a
/// permit, a curtailment order, an acknowledgement, a verdict, a
/// reinstatement.
pub fn sandbox_line(e: &Event) -> Option<String> {
    Some(match e {
        Event::ZoneSandboxSet {
            zone,
            permits_from,
            grid_operators,
        } => format!(
            "   SANDBOX  {zone}: {}; grid operators: {}",
            permits_from.map_or("no permits required".into(), |h| format!(
                "permits required from {} UTC",
                at(h)
            )),
            if grid_operators.is_empty() {
                "none".into()
            } else {
                grid_operators
                    .iter()
                    .map(account_name)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        Event::PermitIssued {
            site,
            feeder,
            terms,
        } => format!(
            "   PERMIT   {} on {feeder}: up to {}, {}, {}, {} a month, until {} UTC",
            site_name(*site),
            kw(terms.max_power.0),
            if terms.months == ALL_MONTHS {
                "all year".to_string()
            } else {
                format!("months {:#05x}", terms.months)
            },
            if terms.hours == ALL_HOURS {
                "all day".to_string()
            } else {
                format!("hours {:#08x}", terms.hours)
            },
            energy(terms.monthly_quota.0),
            date_time(terms.expires)
        ),
        Event::PermitRevoked { site, reason } => format!(
            "   PERMIT   {} revoked by the regulator: {}",
            site_name(*site),
            reason.as_str()
        ),
        Event::CurtailmentOrdered {
            order,
            target,
            start,
            end,
            max_mining,
            shares,
            ..
        } => format!(
            "   CURTAIL  order {order}: {} {}-{} UTC, mining at most {}; shares: {}",
            match target {
                CurtailTarget::Feeder(f) => f.to_string(),
                CurtailTarget::Zone(z) => format!("zone {z}"),
            },
            clock(*start),
            clock(*end),
            kw(max_mining.0),
            if shares.is_empty() {
                "no site affected".into()
            } else {
                shares
                    .iter()
                    .map(|(s, w)| format!("{} {}", site_name(*s), kw(w.0)))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        Event::CurtailmentCancelled { order, at, judged } => format!(
            "   CURTAIL  order {order} cancelled at {} UTC: {}",
            clock(*at),
            if *judged {
                "verdicts cover the window up to now"
            } else {
                "no verdicts"
            }
        ),
        Event::CurtailmentAcknowledged {
            order,
            site,
            seen_at,
        } => format!(
            "   ACK      {} acknowledged order {order} (seen {} UTC)",
            site_name(*site),
            clock(*seen_at)
        ),
        Event::CurtailmentVerdict {
            order,
            site,
            share,
            start,
            end,
            used,
            allowed,
            reported,
            honoured,
        } => format!(
            "   {} {} order {order} {}-{} UTC: used {} kWh, {} kWh allowed (share {}){}",
            if *honoured { "HONOURED" } else { "BREACH  " },
            site_name(*site),
            clock(*start),
            clock(*end),
            kwh(used.0.into()),
            kwh(allowed.0.into()),
            kw(share.0),
            if *reported {
                ""
            } else {
                "; its readings stop before the window's end"
            }
        ),
        Event::SiteReinstated { site, reason } => format!(
            "   REINSTATED {} by the regulator: {}",
            site_name(*site),
            reason.as_str()
        ),
        _ => return None,
    })
}

/// What the terminal keeps between blocks: each site's permit expiry, to
/// say when it passes (no event marks it: a permit simply stops covering
/// the hours after it).
#[derive(Default)]
pub struct Printer {
    expiries: BTreeMap<SiteId, (u64, FeederId)>,
}

impl Printer {
    /// The lines for one block, then a line for each permit whose expiry
    /// the block's time has reached.
    pub fn lines(&mut self, c: &Committed) -> Vec<String> {
        let mut lines = block_lines(c);
        lines.extend(self.expired(&c.events, c.header.timestamp_ms / 1000));
        lines
    }

    /// Notes the permits a block's events issue or revoke; the lines for
    /// those that expired by its time `now` (unix seconds).
    fn expired(&mut self, events: &[EventRecord], now: u64) -> Vec<String> {
        for rec in events {
            match &rec.event {
                Event::PermitIssued {
                    site,
                    feeder,
                    terms,
                } => {
                    self.expiries.insert(*site, (terms.expires, feeder.clone()));
                }
                Event::PermitRevoked { site, .. } => {
                    self.expiries.remove(site);
                }
                _ => {}
            }
        }
        let mut lines = Vec::new();
        self.expiries.retain(|site, (expires, feeder)| {
            if *expires > now {
                return true;
            }
            lines.push(permit_expired_line(*site, feeder, *expires));
            false
        });
        lines
    }
}

/// The line for a permit that ran out.
pub fn permit_expired_line(site: SiteId, feeder: &FeederId, expires: u64) -> String {
    format!(
        "   EXPIRED  {}'s permit on {feeder} ran out at {} UTC: the site may not draw at all now (permitExpired)",
        site_name(site),
        clock(expires)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_lines() {
        use watt_runtime::sandbox::{OrderId, PermitTerms};
        use watt_runtime::tx::Text;
        use watt_runtime::types::{Watts, Wh};
        let t0 = 1_767_225_600 + 18 * 3600; // 2026-01-01T18:00Z
        let north = FeederId::new("DEV-1/NORTH").unwrap();
        let ordered = sandbox_line(&Event::CurtailmentOrdered {
            order: OrderId(1),
            target: CurtailTarget::Feeder(north.clone()),
            zone: watt_runtime::types::ZoneId::new("DEV-1").unwrap(),
            start: t0,
            end: t0 + 3600,
            max_mining: Watts(30_000),
            shares: vec![(SiteId(1), Watts(20_000)), (SiteId(3), Watts(10_000))],
        })
        .unwrap();
        assert_eq!(
            ordered,
            "   CURTAIL  order 1: DEV-1/NORTH 18:00-19:00 UTC, mining at most 30.0 kW; shares: NORTH-MINE 20.0 kW, CREEK-MINE 10.0 kW"
        );
        let verdict = |site, used, honoured| {
            sandbox_line(&Event::CurtailmentVerdict {
                order: OrderId(1),
                site: SiteId(site),
                share: Watts(10_000),
                start: t0,
                end: t0 + 3600,
                used: Wh(used),
                allowed: Wh(11_000),
                reported: true,
                honoured,
            })
            .unwrap()
        };
        assert_eq!(
            verdict(1, 9_999, true),
            "   HONOURED NORTH-MINE order 1 18:00-19:00 UTC: used 10.0 kWh, 11.0 kWh allowed (share 10.0 kW)"
        );
        assert!(verdict(3, 37_500, false).starts_with("   BREACH   CREEK-MINE order 1"));
        let ack = sandbox_line(&Event::CurtailmentAcknowledged {
            order: OrderId(1),
            site: SiteId(1),
            seen_at: t0 - 3300,
        });
        assert_eq!(
            ack.unwrap(),
            "   ACK      NORTH-MINE acknowledged order 1 (seen 17:05 UTC)"
        );
        let reinstated = sandbox_line(&Event::SiteReinstated {
            site: SiteId(3),
            reason: Text::new("fixed").unwrap(),
        });
        assert_eq!(
            reinstated.unwrap(),
            "   REINSTATED CREEK-MINE by the regulator: fixed"
        );
        // A permit's expiry shows once, in the first block at or after it.
        let mut p = Printer::default();
        let issued = EventRecord {
            tx_index: Some(0),
            event: Event::PermitIssued {
                site: SiteId(2),
                feeder: FeederId::new("DEV-1/RIDGE").unwrap(),
                terms: PermitTerms {
                    max_power: Watts(150_000),
                    months: ALL_MONTHS,
                    hours: ALL_HOURS,
                    monthly_quota: Wh(1),
                    expires: t0,
                },
            },
        };
        let line = sandbox_line(&issued.event).unwrap();
        assert_eq!(
            line,
            "   PERMIT   RIDGE-MINE on DEV-1/RIDGE: up to 150.0 kW, all year, all day, 1 Wh a month, until 2026-01-01 18:00 UTC"
        );
        assert!(p.expired(&[issued], t0 - 1).is_empty());
        assert_eq!(
            p.expired(&[], t0 + 60),
            vec![
                "   EXPIRED  RIDGE-MINE's permit on DEV-1/RIDGE ran out at 18:00 UTC: the site may not draw at all now (permitExpired)"
            ]
        );
        assert!(p.expired(&[], t0 + 120).is_empty());
    }
}
