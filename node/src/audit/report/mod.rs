//! The audit report: accumulators fed one replayed block at a time.
//!
//! Tables keyed by what the state bounds (zones, sources, meters, sites,
//! violation kinds) stay in memory. Everything that grows with the chain
//! (hourly series, lineage rows, violations, debts, retirements, the
//! authority-set history) streams to files as it happens (the `table` module);
//! `report.json` copies those rows back in a stream and the HTML page
//! reads them in bins (the `html` module). Feeders' hours and alerts (the
//! `feeders` module) stream the same way, and `report.json` groups them per
//! feeder. Permit and curtailment breaches stream too (the `sandbox`
//! module); permits, their monthly usage and curtailment orders come from
//! the auditor's sandbox model at the end. See `docs/audit.md` for every
//! field.

mod feeder_html;
mod feeder_rows;
mod feeders;
mod html;
mod observe;
mod sandbox;
mod sandbox_html;
mod sandbox_rows;
mod sandbox_text;
mod table;
mod write;

pub use html::write_html;

use super::replay::CheckCounts;
use super::state::AuditState;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use table::Table;
use watt_runtime::block::ValidatorSet;
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::decode;
use watt_runtime::events::Parts;
use watt_runtime::genesis::Genesis;
use watt_runtime::state::{read_value, ChainState, StateKey, StateReader, ViolationKind};
use watt_runtime::types::{AccountId, Height, MeterId, SiteId, Source, Vintage, Wh, ZoneId};

/// Per-zone flows over the whole chain.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneFlows {
    /// Minted from generation.
    pub minted: Wh,
    /// Burned for consumption and shortfall settlement.
    pub burned: Wh,
    /// Retired for non-mining claims.
    pub retired: Wh,
    /// Withdrawn by the regulator.
    pub withdrawn: Wh,
    /// Expired.
    pub expired: Wh,
    /// Consumption recorded by the zone's sites.
    pub consumed: Wh,
}

/// Per-meter totals.
#[derive(Clone, Debug, Default)]
pub struct MeterFlows {
    readings: u64,
    minted: Wh,
    forfeited: Wh,
}

/// Per-site totals.
#[derive(Clone, Debug, Default)]
pub struct SiteFlows {
    readings: u64,
    consumed: Wh,
    burned: Wh,
    debt_opened: Wh,
    debt_settled: Wh,
    shortfall_recorded: Wh,
    shortfall_settled: Wh,
    penalty_burned: Wh,
    violations: u64,
}

/// One hour of a zone.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct ZoneHour {
    minted: Wh,
    burned: Wh,
    retired: Wh,
    expired: Wh,
    consumed: Wh,
}

/// One hour of a site.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct SiteHour {
    consumed: Wh,
    burned: Wh,
    shortfall: Wh,
}

fn add(a: &mut Wh, b: Wh) {
    a.0 = a.0.saturating_add(b.0);
}

fn sum(parts: &Parts) -> Wh {
    Wh(parts.iter().map(|(_, a)| a.0).sum())
}

fn io(e: std::io::Error) -> super::AuditError {
    super::AuditError::Output(e.to_string())
}

/// The streamed tables.
struct Tables {
    hourly: Table,
    site_hourly: Table,
    lineage_consumption: Table,
    lineage_vintages: Table,
    violations: Table,
    debts: Table,
    retirements: Table,
    authorities: Table,
}

/// The report being accumulated.
pub struct Report {
    dir: PathBuf,
    tables: Tables,
    genesis_time_ms: u64,
    /// The first replayed block's time.
    first_block_ms: Option<u64>,
    chain_name: String,
    chain_id: Hash,
    trusted_source_genesis: bool,
    zones: BTreeMap<ZoneId, ZoneFlows>,
    sources: BTreeMap<Source, Wh>,
    meters: BTreeMap<MeterId, MeterFlows>,
    sites: BTreeMap<SiteId, SiteFlows>,
    violation_kinds: BTreeMap<String, u64>,
    retired_total: (u64, Wh),
    /// The hour being accumulated, its per-zone and per-site rows.
    hour: Option<u64>,
    zone_hour: BTreeMap<ZoneId, ZoneHour>,
    site_hour: BTreeMap<SiteId, SiteHour>,
    /// Per meter, the vintage it is minting into: a meter's periods follow
    /// one another, so once it mints a later hour the earlier row is final.
    minting: BTreeMap<MeterId, (Vintage, Source, Wh)>,
    site_zone: BTreeMap<SiteId, ZoneId>,
    validator_set: Hash,
    events: u64,
    feeders: feeders::FeederLog,
    sandbox: sandbox::SandboxLog,
}

impl Report {
    /// Starts a report whose files go to `dir`.
    pub fn new(
        dir: &Path,
        genesis: &Genesis,
        trusted_source_genesis: bool,
        state: &AuditState,
    ) -> Result<Report, super::AuditError> {
        let t = |name: &str, header: &[&str]| Table::create(dir, name, header).map_err(io);
        let tables = Tables {
            hourly: t(
                "hourly",
                &[
                    "hour",
                    "zone",
                    "minted_wh",
                    "burned_wh",
                    "retired_wh",
                    "expired_wh",
                    "consumed_wh",
                ],
            )?,
            site_hourly: t(
                "site_hourly",
                &["hour", "site", "consumed_wh", "burned_wh", "shortfall_wh"],
            )?,
            lineage_consumption: t(
                "lineage_consumption",
                &[
                    "height",
                    "tx_index",
                    "kind",
                    "site",
                    "account",
                    "vintage_zone",
                    "vintage_hour",
                    "amount_wh",
                ],
            )?,
            lineage_vintages: t(
                "lineage_vintages",
                &[
                    "vintage_zone",
                    "vintage_hour",
                    "meter",
                    "source",
                    "minted_wh",
                ],
            )?,
            violations: t(
                "violations",
                &["height", "time_ms", "site", "kind", "sequence", "detail"],
            )?,
            debts: t(
                "debts",
                &[
                    "height",
                    "site",
                    "kind",
                    "bucket_window",
                    "bucket_index",
                    "amount_wh",
                    "remaining_wh",
                    "deadline",
                ],
            )?,
            retirements: t(
                "retirements",
                &[
                    "height",
                    "id",
                    "account",
                    "amount_wh",
                    "beneficiary",
                    "purpose",
                ],
            )?,
            authorities: t(
                "authorities",
                &["height", "event", "validator_set_hash", "count", "members"],
            )?,
        };
        let mut r = Report {
            dir: dir.to_path_buf(),
            tables,
            genesis_time_ms: genesis.genesis_time_ms,
            first_block_ms: None,
            chain_name: genesis.chain_name.to_string(),
            chain_id: genesis.chain_id(),
            trusted_source_genesis,
            zones: BTreeMap::new(),
            sources: BTreeMap::new(),
            meters: BTreeMap::new(),
            sites: BTreeMap::new(),
            violation_kinds: BTreeMap::new(),
            retired_total: (0, Wh(0)),
            hour: None,
            zone_hour: BTreeMap::new(),
            site_hour: BTreeMap::new(),
            minting: BTreeMap::new(),
            site_zone: BTreeMap::new(),
            validator_set: Hash::ZERO,
            events: 0,
            feeders: feeders::FeederLog::new(dir).map_err(io)?,
            sandbox: sandbox::SandboxLog::new(dir).map_err(io)?,
        };
        r.authority_row(Height(0), "genesis", state)?;
        Ok(r)
    }

    fn authority_row(
        &mut self,
        height: Height,
        event: &str,
        state: &AuditState,
    ) -> Result<(), super::AuditError> {
        let set: ValidatorSet = read_value::<ChainState>(state, &StateKey::Chain)
            .ok()
            .flatten()
            .map(|c| c.validators)
            .ok_or_else(|| super::AuditError::Output("no chain record".into()))?;
        self.validator_set = set.hash();
        let members: Vec<String> = set
            .validators()
            .iter()
            .map(|v| format!("{}={}", v.name, v.consensus_key))
            .collect();
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Row<'a> {
            height: Height,
            event: &'a str,
            validator_set_hash: Hash,
            count: usize,
            members: Vec<Member>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Member {
            name: String,
            consensus_key: String,
            operator: AccountId,
        }
        let t = &mut self.tables.authorities;
        t.csv_row(&[
            height.to_string(),
            event.into(),
            set.hash().to_string(),
            set.len().to_string(),
            members.join(";"),
        ])
        .map_err(io)?;
        t.json_item(&Row {
            height,
            event,
            validator_set_hash: set.hash(),
            count: set.len(),
            members: set
                .validators()
                .iter()
                .map(|v| Member {
                    name: v.name.to_string(),
                    consensus_key: v.consensus_key.to_string(),
                    operator: v.operator,
                })
                .collect(),
        })
        .map_err(io)
    }

    fn flush_hour(&mut self) -> Result<(), super::AuditError> {
        let Some(hour) = self.hour else { return Ok(()) };
        for (zone, z) in std::mem::take(&mut self.zone_hour) {
            self.tables
                .hourly
                .csv_row(&[
                    hour.to_string(),
                    zone.to_string(),
                    z.minted.to_string(),
                    z.burned.to_string(),
                    z.retired.to_string(),
                    z.expired.to_string(),
                    z.consumed.to_string(),
                ])
                .map_err(io)?;
            #[derive(Serialize)]
            struct Row<'a> {
                hour: u64,
                zone: &'a ZoneId,
                #[serde(flatten)]
                z: &'a ZoneHour,
            }
            self.tables
                .hourly
                .json_item(&Row {
                    hour,
                    zone: &zone,
                    z: &z,
                })
                .map_err(io)?;
        }
        for (site, s) in std::mem::take(&mut self.site_hour) {
            self.tables
                .site_hourly
                .csv_row(&[
                    hour.to_string(),
                    site.to_string(),
                    s.consumed.to_string(),
                    s.burned.to_string(),
                    s.shortfall.to_string(),
                ])
                .map_err(io)?;
            #[derive(Serialize)]
            struct Row<'a> {
                hour: u64,
                site: SiteId,
                #[serde(flatten)]
                s: &'a SiteHour,
            }
            self.tables
                .site_hourly
                .json_item(&Row { hour, site, s: &s })
                .map_err(io)?;
        }
        Ok(())
    }

    fn flush_vintage(
        &mut self,
        meter: MeterId,
        vintage: &Vintage,
        source: Source,
        amount: Wh,
    ) -> Result<(), super::AuditError> {
        let t = &mut self.tables.lineage_vintages;
        t.csv_row(&[
            vintage.zone.to_string(),
            vintage.hour.0.to_string(),
            meter.to_string(),
            source.name().into(),
            amount.to_string(),
        ])
        .map_err(io)?;
        #[derive(Serialize)]
        struct Row<'a> {
            vintage: &'a Vintage,
            meter: MeterId,
            source: Source,
            minted: Wh,
        }
        t.json_item(&Row {
            vintage,
            meter,
            source,
            minted: amount,
        })
        .map_err(io)
    }

    /// Flushes the streams and writes `report.json`, the CSV tables and
    /// `report.html` into the report's directory.
    pub fn finish(
        mut self,
        state: &AuditState,
        model: &crate::audit::sandbox::SandboxCheck,
        head: (Height, Hash, u64),
        counts: &CheckCounts,
    ) -> Result<(), super::AuditError> {
        self.flush_hour()?;
        for (meter, (v, s, a)) in std::mem::take(&mut self.minting) {
            self.flush_vintage(meter, &v, s, a)?;
        }
        let t = self.tables;
        let spools = write::Spools {
            hourly: t.hourly.finish().map_err(io)?,
            site_hourly: t.site_hourly.finish().map_err(io)?,
            lineage_consumption: t.lineage_consumption.finish().map_err(io)?,
            lineage_vintages: t.lineage_vintages.finish().map_err(io)?,
            violations: t.violations.finish().map_err(io)?,
            debts: t.debts.finish().map_err(io)?,
            retirements: t.retirements.finish().map_err(io)?,
            authorities: t.authorities.finish().map_err(io)?,
        };
        let summary = write::Summary {
            chain_name: self.chain_name,
            chain_id: self.chain_id,
            trusted_source_genesis: self.trusted_source_genesis,
            genesis_time_ms: self.genesis_time_ms,
            first_block_ms: self.first_block_ms,
            head,
            events: self.events,
            zones: self.zones,
            sources: self.sources,
            meters: self.meters,
            sites: self.sites,
            violation_kinds: self.violation_kinds,
            retired_total: self.retired_total,
        };
        let feeders = self.feeders.finish(&self.dir, state).map_err(io)?;
        let sandbox = self.sandbox.finish(&self.dir, model, head.2).map_err(io)?;
        let finals = write::write_all(
            &self.dir,
            &summary,
            state,
            counts,
            &spools,
            (&sandbox, &feeders),
        )?;
        html::write_html(&self.dir, &summary, &finals, counts)?;
        for p in spools.all() {
            let _ = std::fs::remove_file(p);
        }
        feeders.remove().map_err(io)?;
        sandbox.remove().map_err(io)?;
        Ok(())
    }
}

/// A violation kind's JSON name.
pub fn violation_name(v: ViolationKind) -> String {
    serde_json::to_value(watt_rpc_client::view::ViolationKind::from(v))
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| format!("{v:?}"))
}

/// Decodes a state value, for the report's final tables.
fn value<T: borsh::BorshDeserialize>(bytes: &[u8]) -> Option<T> {
    decode(bytes).ok()
}

/// The entries under a one-byte key prefix.
fn scan_tag(state: &AuditState, t: u8) -> Vec<(Vec<u8>, Vec<u8>)> {
    state
        .scan(&[t], &watt_runtime::state::prefix_end(&[t]))
        .unwrap_or_default()
}
