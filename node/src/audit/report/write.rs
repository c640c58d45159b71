//! `report.json` and the CSV tables of what the report holds in memory.
//! The streamed tables were written as CSV while the audit ran; here their
//! JSON-lines spools are copied into `report.json` one line at a time.

use super::{io, scan_tag, value, MeterFlows, SiteFlows, ZoneFlows};
use crate::audit::replay::CheckCounts;
use crate::audit::state::AuditState;
use crate::audit::AuditError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use watt_rpc_client::view;
use watt_runtime::crypto::Hash;
use watt_runtime::state::{tag, Debt, Meter, Site, Zone};
use watt_runtime::types::{AccountId, Height, MeterId, SiteId, Source, Wh, ZoneId};

/// What the report holds in memory at the end.
pub struct Summary {
    pub(super) chain_name: String,
    pub(super) chain_id: Hash,
    /// The auditor named no expected chain: the source's genesis was
    /// taken on trust.
    pub(super) trusted_source_genesis: bool,
    pub(super) genesis_time_ms: u64,
    /// The first replayed block's time (none for a chain of genesis only).
    pub(super) first_block_ms: Option<u64>,
    pub(super) head: (Height, Hash, u64),
    pub(super) events: u64,
    pub(super) zones: BTreeMap<ZoneId, ZoneFlows>,
    pub(super) sources: BTreeMap<Source, Wh>,
    pub(super) meters: BTreeMap<MeterId, MeterFlows>,
    pub(super) sites: BTreeMap<SiteId, SiteFlows>,
    pub(super) violation_kinds: BTreeMap<String, u64>,
    pub(super) retired_total: (u64, Wh),
}

/// The spooled streams.
pub struct Spools {
    pub(super) hourly: PathBuf,
    pub(super) site_hourly: PathBuf,
    pub(super) lineage_consumption: PathBuf,
    pub(super) lineage_vintages: PathBuf,
    pub(super) violations: PathBuf,
    pub(super) debts: PathBuf,
    pub(super) retirements: PathBuf,
    pub(super) authorities: PathBuf,
}

impl Spools {
    pub(super) fn all(&self) -> [&PathBuf; 8] {
        [
            &self.hourly,
            &self.site_hourly,
            &self.lineage_consumption,
            &self.lineage_vintages,
            &self.violations,
            &self.debts,
            &self.retirements,
            &self.authorities,
        ]
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ZoneRow {
    pub(super) zone: ZoneId,
    pub(super) minted: Wh,
    pub(super) held: Wh,
    pub(super) burned: Wh,
    pub(super) retired: Wh,
    pub(super) withdrawn: Wh,
    pub(super) expired: Wh,
    pub(super) consumed: Wh,
    pub(super) conserved: bool,
    pub(super) live_max_draw_w: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SourceRow {
    source: Source,
    minted: Wh,
    meters: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MeterRow {
    pub(super) meter: MeterId,
    pub(super) serial: String,
    pub(super) owner: AccountId,
    pub(super) operator: AccountId,
    pub(super) zone: ZoneId,
    pub(super) source: Source,
    pub(super) capacity_w: u64,
    pub(super) status: String,
    pub(super) readings: u64,
    pub(super) minted: Wh,
    pub(super) forfeited: Wh,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SiteRow {
    pub(super) site: SiteId,
    pub(super) serial: String,
    pub(super) owner: AccountId,
    pub(super) zone: ZoneId,
    pub(super) max_draw_w: u64,
    pub(super) status: String,
    pub(super) readings: u64,
    pub(super) consumed: Wh,
    pub(super) burned: Wh,
    pub(super) debt_opened: Wh,
    pub(super) debt_settled: Wh,
    pub(super) open_debt: Wh,
    pub(super) shortfall_recorded: Wh,
    pub(super) shortfall_settled: Wh,
    pub(super) penalty_burned: Wh,
    pub(super) shortfall: Wh,
    pub(super) violations: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OpenDebtRow {
    site: SiteId,
    owner: AccountId,
    zone: ZoneId,
    bucket_window: String,
    bucket_index: u64,
    amount: Wh,
    deadline: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Totals {
    minted: Wh,
    held: Wh,
    burned: Wh,
    retired: Wh,
    withdrawn: Wh,
    expired: Wh,
    consumed: Wh,
    open_debt: Wh,
    shortfall: Wh,
    retirements: u64,
    events: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Chain<'a> {
    name: &'a str,
    chain_id: Hash,
    /// "expected" (the auditor named the chain id or genesis) or
    /// "source" (taken from the source on trust).
    genesis_from: &'a str,
    genesis_time_ms: u64,
    height: Height,
    head_hash: Hash,
    head_time_ms: u64,
    state_root: Hash,
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

fn json_name(v: impl Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// The final tables, from the replayed state and the accumulators.
pub struct Final {
    pub(super) zones: Vec<ZoneRow>,
    sources: Vec<SourceRow>,
    pub(super) meters: Vec<MeterRow>,
    pub(super) sites: Vec<SiteRow>,
    open_debts: Vec<OpenDebtRow>,
    totals: Totals,
}

fn finals(sm: &Summary, state: &AuditState) -> Final {
    let now_ms = sm.head.2;
    let mut policies = BTreeMap::new();
    let mut zones = Vec::new();
    for (_, v) in scan_tag(state, tag::ZONE) {
        let Some(z) = value::<Zone>(&v) else { continue };
        let f = sm.zones.get(&z.id).cloned().unwrap_or_default();
        policies.insert(z.id.clone(), z.policy.clone());
        zones.push(ZoneRow {
            zone: z.id.clone(),
            minted: z.supply.minted,
            held: z.supply.held,
            burned: z.supply.burned,
            retired: z.supply.retired,
            withdrawn: z.supply.withdrawn,
            expired: z.supply.expired,
            consumed: f.consumed,
            conserved: z.supply.conserved(),
            live_max_draw_w: z.live_max_draw.0,
        });
    }
    let mut meters = Vec::new();
    let mut meter_count: BTreeMap<Source, u64> = BTreeMap::new();
    for (_, v) in scan_tag(state, tag::METER) {
        let Some(m) = value::<Meter>(&v) else {
            continue;
        };
        *meter_count.entry(m.source).or_default() += 1;
        let f = sm.meters.get(&m.id).cloned().unwrap_or_default();
        meters.push(MeterRow {
            meter: m.id,
            serial: m.serial.to_string(),
            owner: m.owner,
            operator: m.operator,
            zone: m.zone,
            source: m.source,
            capacity_w: m.capacity.0,
            status: json_name(view::MeterStatus::from(m.status)),
            readings: f.readings,
            minted: f.minted,
            forfeited: f.forfeited,
        });
    }
    let sources = Source::ALL
        .iter()
        .filter(|src| sm.sources.contains_key(src) || meter_count.contains_key(src))
        .map(|src| SourceRow {
            source: *src,
            minted: sm.sources.get(src).copied().unwrap_or_default(),
            meters: meter_count.get(src).copied().unwrap_or_default(),
        })
        .collect();
    let mut sites = Vec::new();
    for (_, v) in scan_tag(state, tag::SITE) {
        let Some(st) = value::<Site>(&v) else {
            continue;
        };
        let f = sm.sites.get(&st.id).cloned().unwrap_or_default();
        let status = policies
            .get(&st.zone)
            .cloned()
            .flatten()
            .map(|p| json_name(view::SiteStatus::from(st.status(&p, now_ms))))
            .unwrap_or_else(|| "unknown".into());
        sites.push(SiteRow {
            site: st.id,
            serial: st.serial.to_string(),
            owner: st.owner,
            zone: st.zone,
            max_draw_w: st.max_draw.0,
            status,
            readings: f.readings,
            consumed: st.consumed,
            burned: st.burned,
            debt_opened: f.debt_opened,
            debt_settled: f.debt_settled,
            open_debt: st.open_debt,
            shortfall_recorded: f.shortfall_recorded,
            shortfall_settled: f.shortfall_settled,
            penalty_burned: f.penalty_burned,
            shortfall: st.shortfall,
            violations: f.violations,
        });
    }
    let mut open_debts = Vec::new();
    for (k, v) in scan_tag(state, tag::DEBT) {
        let Some(d) = value::<Debt>(&v) else { continue };
        // Key: tag, owner (32), site (8, BE), window (1), index (8, BE).
        if k.len() < 50 {
            continue;
        }
        let mut owner = [0u8; 32];
        owner.copy_from_slice(&k[1..33]);
        let site = u64::from_be_bytes(k[33..41].try_into().unwrap_or_default());
        let window = match k[41] {
            0 => "hour",
            1 => "day",
            2 => "month",
            _ => "year",
        };
        let index = u64::from_be_bytes(k[42..50].try_into().unwrap_or_default());
        open_debts.push(OpenDebtRow {
            site: SiteId(site),
            owner: AccountId(watt_runtime::crypto::PublicKey(owner)),
            zone: d.zone,
            bucket_window: window.into(),
            bucket_index: index,
            amount: d.amount,
            deadline: d.deadline,
        });
    }
    let total = |f: &dyn Fn(&ZoneRow) -> Wh| Wh(zones.iter().map(|z| f(z).0).sum());
    let totals = Totals {
        minted: total(&|z| z.minted),
        held: total(&|z| z.held),
        burned: total(&|z| z.burned),
        retired: total(&|z| z.retired),
        withdrawn: total(&|z| z.withdrawn),
        expired: total(&|z| z.expired),
        consumed: total(&|z| z.consumed),
        open_debt: Wh(sites.iter().map(|s| s.open_debt.0).sum()),
        shortfall: Wh(sites.iter().map(|s| s.shortfall.0).sum()),
        retirements: sm.retired_total.0,
        events: sm.events,
    };
    Final {
        zones,
        sources,
        meters,
        sites,
        open_debts,
        totals,
    }
}

/// Copies a JSON-lines spool into `out` as the elements of a JSON array,
/// one per line after `indent`.
pub(super) fn copy_array(out: &mut impl Write, spool: &Path, indent: &str) -> std::io::Result<()> {
    out.write_all(b"[")?;
    let mut first = true;
    for line in BufReader::new(File::open(spool)?).lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        if !first {
            out.write_all(b",")?;
        }
        out.write_all(b"\n")?;
        out.write_all(indent.as_bytes())?;
        out.write_all(line.as_bytes())?;
        first = false;
    }
    out.write_all(b"]")
}

fn field(
    out: &mut impl Write,
    name: &str,
    value: &impl Serialize,
    last: bool,
) -> std::io::Result<()> {
    write!(out, "  \"{name}\": ")?;
    serde_json::to_writer_pretty(&mut *out, value)?;
    out.write_all(if last { b"\n" } else { b",\n" })
}

/// Writes `report.json` and the CSV tables of the in-memory tables; the
/// final tables, for the page.
pub fn write_all(
    dir: &Path,
    sm: &Summary,
    state: &AuditState,
    counts: &CheckCounts,
    spools: &Spools,
    (sandbox, feeders): (
        &super::sandbox::SandboxReport,
        &super::feeders::FeederReport,
    ),
) -> Result<Final, AuditError> {
    let f = finals(sm, state);
    write_csvs(dir, &f).map_err(io)?;
    let mut out = BufWriter::new(File::create(dir.join("report.json")).map_err(io)?);
    (|| -> std::io::Result<()> {
        out.write_all(b"{\n")?;
        field(&mut out, "format", &"watt-audit-report/1", false)?;
        field(
            &mut out,
            "chain",
            &Chain {
                name: &sm.chain_name,
                chain_id: sm.chain_id,
                genesis_from: if sm.trusted_source_genesis {
                    "source"
                } else {
                    "expected"
                },
                genesis_time_ms: sm.genesis_time_ms,
                height: sm.head.0,
                head_hash: sm.head.1,
                head_time_ms: sm.head.2,
                state_root: state.root(),
            },
            false,
        )?;
        field(&mut out, "verified", counts, false)?;
        field(&mut out, "totals", &f.totals, false)?;
        field(&mut out, "zones", &f.zones, false)?;
        field(&mut out, "sources", &f.sources, false)?;
        field(&mut out, "meters", &f.meters, false)?;
        field(&mut out, "sites", &f.sites, false)?;
        field(&mut out, "openDebts", &f.open_debts, false)?;
        field(&mut out, "violationsByKind", &sm.violation_kinds, false)?;
        for (name, spool) in [
            ("debtEvents", &spools.debts),
            ("violations", &spools.violations),
            ("retirements", &spools.retirements),
            ("authorityHistory", &spools.authorities),
            ("lineageConsumption", &spools.lineage_consumption),
            ("lineageVintages", &spools.lineage_vintages),
            ("hourlyZones", &spools.hourly),
            ("hourlySites", &spools.site_hourly),
        ] {
            write!(out, "  \"{name}\": ")?;
            copy_array(&mut out, spool, "    ")?;
            out.write_all(b",\n")?;
        }
        sandbox.write_json(&mut out)?;
        feeders.write_json(&mut out)?;
        out.write_all(b"}\n")?;
        out.flush()
    })()
    .map_err(io)?;
    Ok(f)
}

fn write_csvs(dir: &Path, f: &Final) -> std::io::Result<()> {
    use super::table::write_csv;
    write_csv(
        dir,
        "zones",
        &[
            "zone",
            "minted_wh",
            "held_wh",
            "burned_wh",
            "retired_wh",
            "withdrawn_wh",
            "expired_wh",
            "consumed_wh",
            "conserved",
            "live_max_draw_w",
        ],
        &f.zones
            .iter()
            .map(|z| {
                vec![
                    s(&z.zone),
                    s(z.minted),
                    s(z.held),
                    s(z.burned),
                    s(z.retired),
                    s(z.withdrawn),
                    s(z.expired),
                    s(z.consumed),
                    s(z.conserved),
                    s(z.live_max_draw_w),
                ]
            })
            .collect::<Vec<_>>(),
    )?;
    write_csv(
        dir,
        "sources",
        &["source", "minted_wh", "meters"],
        &f.sources
            .iter()
            .map(|r| vec![r.source.name().to_string(), s(r.minted), s(r.meters)])
            .collect::<Vec<_>>(),
    )?;
    write_csv(
        dir,
        "meters",
        &[
            "meter",
            "serial",
            "owner",
            "operator",
            "zone",
            "source",
            "capacity_w",
            "status",
            "readings",
            "minted_wh",
            "forfeited_wh",
        ],
        &f.meters
            .iter()
            .map(|m| {
                vec![
                    s(m.meter),
                    m.serial.clone(),
                    s(m.owner),
                    s(m.operator),
                    s(&m.zone),
                    m.source.name().to_string(),
                    s(m.capacity_w),
                    m.status.clone(),
                    s(m.readings),
                    s(m.minted),
                    s(m.forfeited),
                ]
            })
            .collect::<Vec<_>>(),
    )?;
    write_csv(
        dir,
        "sites",
        &[
            "site",
            "serial",
            "owner",
            "zone",
            "max_draw_w",
            "status",
            "readings",
            "consumed_wh",
            "burned_wh",
            "debt_opened_wh",
            "debt_settled_wh",
            "open_debt_wh",
            "shortfall_recorded_wh",
            "shortfall_settled_wh",
            "penalty_burned_wh",
            "shortfall_wh",
            "violations",
        ],
        &f.sites
            .iter()
            .map(|r| {
                vec![
                    s(r.site),
                    r.serial.clone(),
                    s(r.owner),
                    s(&r.zone),
                    s(r.max_draw_w),
                    r.status.clone(),
                    s(r.readings),
                    s(r.consumed),
                    s(r.burned),
                    s(r.debt_opened),
                    s(r.debt_settled),
                    s(r.open_debt),
                    s(r.shortfall_recorded),
                    s(r.shortfall_settled),
                    s(r.penalty_burned),
                    s(r.shortfall),
                    s(r.violations),
                ]
            })
            .collect::<Vec<_>>(),
    )?;
    write_csv(
        dir,
        "open_debts",
        &[
            "site",
            "owner",
            "zone",
            "bucket_window",
            "bucket_index",
            "amount_wh",
            "deadline",
        ],
        &f.open_debts
            .iter()
            .map(|d| {
                vec![
                    s(d.site),
                    s(d.owner),
                    s(&d.zone),
                    d.bucket_window.clone(),
                    s(d.bucket_index),
                    s(d.amount),
                    s(d.deadline),
                ]
            })
            .collect::<Vec<_>>(),
    )
}
