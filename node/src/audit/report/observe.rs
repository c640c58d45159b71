//! Collecting the data: each replayed block's events folded into the
//! per-zone, per-site and per-meter totals and the streamed lineage, debt,
//! retirement and violation rows; feeder events go to the feeders' log.

use super::{add, io, sum, violation_name, Report};
use crate::audit::replay::Replayed;
use crate::audit::state::AuditState;
use crate::audit::AuditError;
use serde::Serialize;
use watt_runtime::events::{Event, Parts};
use watt_runtime::state::{read_value, ChainState, Retirement, StateKey};
use watt_runtime::types::{AccountId, Bucket, Height, SiteId, Vintage, Wh, ZoneId};

impl Report {
    fn lineage(
        &mut self,
        height: Height,
        tx_index: Option<u32>,
        kind: &str,
        site: Option<SiteId>,
        account: &AccountId,
        parts: &Parts,
    ) -> Result<(), AuditError> {
        let t = &mut self.tables.lineage_consumption;
        for (v, a) in parts {
            t.csv_row(&[
                height.to_string(),
                tx_index.map(|i| i.to_string()).unwrap_or_default(),
                kind.into(),
                site.map(|s| s.to_string()).unwrap_or_default(),
                account.to_string(),
                v.zone.to_string(),
                v.hour.0.to_string(),
                a.to_string(),
            ])
            .map_err(io)?;
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Row<'a> {
            height: Height,
            tx_index: Option<u32>,
            kind: &'a str,
            site: Option<SiteId>,
            account: &'a AccountId,
            parts: Vec<Part<'a>>,
        }
        #[derive(Serialize)]
        struct Part<'a> {
            vintage: &'a Vintage,
            amount: Wh,
        }
        t.json_item(&Row {
            height,
            tx_index,
            kind,
            site,
            account,
            parts: parts
                .iter()
                .map(|(vintage, amount)| Part {
                    vintage,
                    amount: *amount,
                })
                .collect(),
        })
        .map_err(io)
    }

    #[allow(clippy::too_many_arguments)]
    fn debt(
        &mut self,
        height: Height,
        site: SiteId,
        kind: &str,
        bucket: Option<Bucket>,
        amount: Wh,
        remaining: Option<Wh>,
        deadline: Option<u64>,
    ) -> Result<(), AuditError> {
        let t = &mut self.tables.debts;
        t.csv_row(&[
            height.to_string(),
            site.to_string(),
            kind.into(),
            bucket
                .map(|b| {
                    serde_json::to_value(b.window)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                })
                .unwrap_or_default(),
            bucket.map(|b| b.index.to_string()).unwrap_or_default(),
            amount.to_string(),
            remaining.map(|r| r.to_string()).unwrap_or_default(),
            deadline.map(|d| d.to_string()).unwrap_or_default(),
        ])
        .map_err(io)?;
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Row<'a> {
            height: Height,
            site: SiteId,
            kind: &'a str,
            bucket: Option<Bucket>,
            amount: Wh,
            remaining: Option<Wh>,
            deadline: Option<u64>,
        }
        t.json_item(&Row {
            height,
            site,
            kind,
            bucket,
            amount,
            remaining,
            deadline,
        })
        .map_err(io)
    }

    /// Takes in a replayed block (after the state has applied it).
    pub fn observe(&mut self, b: &Replayed, state: &AuditState) -> Result<(), AuditError> {
        let height = b.block.header.height;
        let time_ms = b.block.header.timestamp_ms;
        let hour = time_ms / 3_600_000;
        self.first_block_ms.get_or_insert(time_ms);
        if self.hour != Some(hour) {
            self.flush_hour()?;
            self.hour = Some(hour);
        }
        self.events += b.events.len() as u64;
        for r in &b.events {
            match &r.event {
                Event::Minted {
                    meter,
                    vintage,
                    source,
                    amount,
                    ..
                } => {
                    add(
                        &mut self.zones.entry(vintage.zone.clone()).or_default().minted,
                        *amount,
                    );
                    add(self.sources.entry(*source).or_default(), *amount);
                    let m = self.meters.entry(*meter).or_default();
                    m.readings += 1;
                    add(&mut m.minted, *amount);
                    add(
                        &mut self
                            .zone_hour
                            .entry(vintage.zone.clone())
                            .or_default()
                            .minted,
                        *amount,
                    );
                    match self.minting.get_mut(meter) {
                        Some((v, _, a)) if v == vintage => add(a, *amount),
                        _ => {
                            if let Some((v, s, a)) = self
                                .minting
                                .insert(*meter, (vintage.clone(), *source, *amount))
                            {
                                self.flush_vintage(*meter, &v, s, a)?;
                            }
                        }
                    }
                }
                Event::MeterResynced {
                    meter, forfeited, ..
                } => add(
                    &mut self.meters.entry(*meter).or_default().forfeited,
                    *forfeited,
                ),
                Event::Consumed { site, amount, .. } => {
                    let zone = self.zone_of_site(*site, state);
                    let s = self.sites.entry(*site).or_default();
                    s.readings += 1;
                    add(&mut s.consumed, *amount);
                    add(
                        &mut self.site_hour.entry(*site).or_default().consumed,
                        *amount,
                    );
                    if let Some(zone) = zone {
                        add(
                            &mut self.zones.entry(zone.clone()).or_default().consumed,
                            *amount,
                        );
                        add(
                            &mut self.zone_hour.entry(zone).or_default().consumed,
                            *amount,
                        );
                    }
                }
                Event::Burned { site, owner, parts } => {
                    let total = sum(parts);
                    for (v, a) in parts {
                        add(
                            &mut self.zones.entry(v.zone.clone()).or_default().burned,
                            *a,
                        );
                        add(
                            &mut self.zone_hour.entry(v.zone.clone()).or_default().burned,
                            *a,
                        );
                    }
                    add(&mut self.sites.entry(*site).or_default().burned, total);
                    add(&mut self.site_hour.entry(*site).or_default().burned, total);
                    self.lineage(height, r.tx_index, "burn", Some(*site), owner, parts)?;
                }
                Event::Retired { id, account, parts } => {
                    let total = sum(parts);
                    for (v, a) in parts {
                        add(
                            &mut self.zones.entry(v.zone.clone()).or_default().retired,
                            *a,
                        );
                        add(
                            &mut self.zone_hour.entry(v.zone.clone()).or_default().retired,
                            *a,
                        );
                    }
                    self.retired_total.0 += 1;
                    add(&mut self.retired_total.1, total);
                    self.lineage(height, r.tx_index, "retirement", None, account, parts)?;
                    let rec: Option<Retirement> =
                        read_value(state, &StateKey::Retirement(*id)).ok().flatten();
                    let (beneficiary, purpose) = rec
                        .map(|r| (r.beneficiary.to_string(), r.purpose.to_string()))
                        .unwrap_or_default();
                    let t = &mut self.tables.retirements;
                    t.csv_row(&[
                        height.to_string(),
                        id.to_string(),
                        account.to_string(),
                        total.to_string(),
                        beneficiary.clone(),
                        purpose.clone(),
                    ])
                    .map_err(io)?;
                    #[derive(Serialize)]
                    struct Row<'a> {
                        height: Height,
                        id: u64,
                        account: &'a AccountId,
                        amount: Wh,
                        beneficiary: String,
                        purpose: String,
                        parts: Vec<(Vintage, Wh)>,
                    }
                    t.json_item(&Row {
                        height,
                        id: id.0,
                        account,
                        amount: total,
                        beneficiary,
                        purpose,
                        parts: parts.clone(),
                    })
                    .map_err(io)?;
                }
                Event::Withdrawn {
                    account,
                    vintage,
                    amount,
                    ..
                } => {
                    add(
                        &mut self
                            .zones
                            .entry(vintage.zone.clone())
                            .or_default()
                            .withdrawn,
                        *amount,
                    );
                    self.lineage(
                        height,
                        r.tx_index,
                        "withdrawal",
                        None,
                        account,
                        &vec![(vintage.clone(), *amount)],
                    )?;
                }
                Event::Expired {
                    vintage, amount, ..
                } => {
                    add(
                        &mut self.zones.entry(vintage.zone.clone()).or_default().expired,
                        *amount,
                    );
                    add(
                        &mut self
                            .zone_hour
                            .entry(vintage.zone.clone())
                            .or_default()
                            .expired,
                        *amount,
                    );
                }
                Event::DebtOpened {
                    site,
                    bucket,
                    amount,
                    deadline,
                } => {
                    add(
                        &mut self.sites.entry(*site).or_default().debt_opened,
                        *amount,
                    );
                    self.debt(
                        height,
                        *site,
                        "opened",
                        Some(*bucket),
                        *amount,
                        None,
                        Some(*deadline),
                    )?;
                }
                Event::DebtSettled {
                    site,
                    bucket,
                    amount,
                    remaining,
                } => {
                    add(
                        &mut self.sites.entry(*site).or_default().debt_settled,
                        *amount,
                    );
                    self.debt(
                        height,
                        *site,
                        "settled",
                        Some(*bucket),
                        *amount,
                        Some(*remaining),
                        None,
                    )?;
                }
                Event::ShortfallRecorded {
                    site,
                    bucket,
                    amount,
                } => {
                    add(
                        &mut self.sites.entry(*site).or_default().shortfall_recorded,
                        *amount,
                    );
                    add(
                        &mut self.site_hour.entry(*site).or_default().shortfall,
                        *amount,
                    );
                    self.debt(
                        height,
                        *site,
                        "shortfall",
                        Some(*bucket),
                        *amount,
                        None,
                        None,
                    )?;
                }
                Event::ShortfallSettled {
                    site,
                    shortfall,
                    cost,
                } => {
                    let s = self.sites.entry(*site).or_default();
                    add(&mut s.shortfall_settled, *shortfall);
                    add(&mut s.penalty_burned, *cost);
                    self.debt(
                        height,
                        *site,
                        "shortfallSettled",
                        None,
                        *shortfall,
                        Some(Wh(0)),
                        None,
                    )?;
                }
                Event::Violation {
                    site,
                    violation,
                    sequence,
                    detail,
                } => {
                    self.sites.entry(*site).or_default().violations += 1;
                    let kind = violation_name(*violation);
                    *self.violation_kinds.entry(kind.clone()).or_default() += 1;
                    let t = &mut self.tables.violations;
                    t.csv_row(&[
                        height.to_string(),
                        time_ms.to_string(),
                        site.to_string(),
                        kind.clone(),
                        sequence.map(|s| s.to_string()).unwrap_or_default(),
                        detail.clone(),
                    ])
                    .map_err(io)?;
                    #[derive(Serialize)]
                    #[serde(rename_all = "camelCase")]
                    struct Row<'a> {
                        height: Height,
                        time_ms: u64,
                        site: SiteId,
                        kind: &'a str,
                        sequence: Option<u64>,
                        detail: &'a str,
                    }
                    t.json_item(&Row {
                        height,
                        time_ms,
                        site: *site,
                        kind: &kind,
                        sequence: *sequence,
                        detail,
                    })
                    .map_err(io)?;
                }
                Event::AuthoritiesChanged { .. } => {
                    self.authority_row(height, "authoritiesChanged", state)?;
                }
                Event::EquivocationProven { .. } => {
                    self.authority_row(height, "equivocationProven", state)?;
                }
                e => self.feeders.event(height, time_ms, e).map_err(io)?,
            }
        }
        self.feeders.end_block().map_err(io)?;
        self.sandbox.block(height, time_ms, &b.breaches)?;
        // A validator-set change without an event of its own is still history.
        if let Some(c) = read_value::<ChainState>(state, &StateKey::Chain)
            .ok()
            .flatten()
        {
            if c.validators.hash() != self.validator_set {
                self.authority_row(height, "validatorSetChanged", state)?;
            }
        }
        Ok(())
    }

    fn zone_of_site(&mut self, site: SiteId, state: &AuditState) -> Option<ZoneId> {
        if let Some(z) = self.site_zone.get(&site) {
            return Some(z.clone());
        }
        let s: watt_runtime::state::Site =
            read_value(state, &StateKey::Site(site)).ok().flatten()?;
        self.site_zone.insert(site, s.zone.clone());
        Some(s.zone)
    }
}
