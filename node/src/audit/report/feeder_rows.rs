//! The per-feeder rows at the end: each feeder's record in the replayed
//! state with its totals over the chain (`feeders.csv`), and the
//! `feeders` array of `report.json` with each feeder's hours and alerts
//! copied from its spools.

use super::feeders::{signed, text, Acc};
use super::table::{write_csv, KeyedSpool};
use super::{scan_tag, value};
use crate::audit::state::AuditState;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use watt_runtime::feeder::{BalanceStatus, FeederId};
use watt_runtime::state::{tag, Feeder};
use watt_runtime::types::{Hour, Wh, ZoneId};

const FEEDERS_HEADER: [&str; 28] = [
    "feeder",
    "zone",
    "rated_capacity_w",
    "loss_permille",
    "alert_floor_wh",
    "alert_hours",
    "open_from_hour",
    "hours_closed",
    "balanced_hours",
    "unexplained_hours",
    "negative_hours",
    "unmetered_hours",
    "overloads",
    "alerts_opened",
    "alerts_cleared",
    "import_wh",
    "export_wh",
    "generation_wh",
    "consumption_wh",
    "declared_wh",
    "allowance_wh",
    "unexplained_wh",
    "late_consumption_wh",
    "late_generation_wh",
    "open_alert_from_hour",
    "open_alert_through_hour",
    "open_alert_hours",
    "open_alert_unexplained_wh",
];

/// An open alert in `report.json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OpenAlert {
    from_hour: Hour,
    through_hour: Hour,
    hours: u32,
    unexplained: Wh,
}

/// One feeder's record and totals.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FeederRow {
    #[serde(serialize_with = "text")]
    feeder: FeederId,
    zone: Option<ZoneId>,
    rated_capacity_w: Option<u64>,
    loss_permille: Option<u16>,
    alert_floor: Option<Wh>,
    alert_hours: Option<u16>,
    /// The feeder has a declared-load key.
    declared_load: bool,
    /// The first hour not closed yet.
    open_from: Option<Hour>,
    hours_closed: u64,
    balanced_hours: u64,
    unexplained_hours: u64,
    negative_hours: u64,
    unmetered_hours: u64,
    overloads: u64,
    alerts_opened: u64,
    alerts_cleared: u64,
    import: Wh,
    export: Wh,
    generation: Wh,
    consumption: Wh,
    declared: Wh,
    allowance: Wh,
    #[serde(serialize_with = "signed")]
    unexplained: i128,
    late_consumption: Wh,
    late_generation: Wh,
    /// The alert open at the last block (the replayed state's).
    open_alert: Option<OpenAlert>,
    #[serde(skip)]
    key: Option<usize>,
}

impl FeederRow {
    fn new(
        id: FeederId,
        records: &BTreeMap<FeederId, Feeder>,
        accs: &BTreeMap<FeederId, Acc>,
    ) -> FeederRow {
        let f = records.get(&id);
        let empty = Acc::default();
        let a = accs.get(&id).unwrap_or(&empty);
        let s = |st: BalanceStatus| a.by_status[st as usize];
        FeederRow {
            zone: f.map(|f| f.zone.clone()),
            rated_capacity_w: f.map(|f| f.rated_capacity.0),
            loss_permille: f.map(|f| f.loss_permille),
            alert_floor: f.map(|f| f.alert_floor),
            alert_hours: f.map(|f| f.alert_hours),
            declared_load: f.is_some_and(|f| f.declared_key.is_some()),
            open_from: f.map(|f| f.open_from),
            hours_closed: a.by_status.iter().sum(),
            balanced_hours: s(BalanceStatus::Balanced),
            unexplained_hours: s(BalanceStatus::Unexplained),
            negative_hours: s(BalanceStatus::Negative),
            unmetered_hours: s(BalanceStatus::Unmetered),
            overloads: a.overloads,
            alerts_opened: a.alerts_opened,
            alerts_cleared: a.alerts_cleared,
            import: a.import,
            export: a.export,
            generation: a.generation,
            consumption: a.consumption,
            declared: a.declared,
            allowance: a.allowance,
            unexplained: a.unexplained,
            late_consumption: a.late_consumption,
            late_generation: a.late_generation,
            open_alert: f.and_then(|f| f.alert.as_ref()).map(|x| OpenAlert {
                from_hour: x.from_hour,
                through_hour: x.through_hour,
                hours: x.hours,
                unexplained: x.unexplained,
            }),
            key: accs.get(&id).map(|a| a.key),
            feeder: id,
        }
    }

    fn csv(&self) -> Vec<String> {
        fn o<T: ToString>(v: &Option<T>) -> String {
            v.as_ref().map(T::to_string).unwrap_or_default()
        }
        let al = self.open_alert.as_ref();
        vec![
            self.feeder.to_string(),
            o(&self.zone),
            o(&self.rated_capacity_w),
            o(&self.loss_permille),
            o(&self.alert_floor),
            o(&self.alert_hours),
            o(&self.open_from),
            self.hours_closed.to_string(),
            self.balanced_hours.to_string(),
            self.unexplained_hours.to_string(),
            self.negative_hours.to_string(),
            self.unmetered_hours.to_string(),
            self.overloads.to_string(),
            self.alerts_opened.to_string(),
            self.alerts_cleared.to_string(),
            self.import.to_string(),
            self.export.to_string(),
            self.generation.to_string(),
            self.consumption.to_string(),
            self.declared.to_string(),
            self.allowance.to_string(),
            self.unexplained.to_string(),
            self.late_consumption.to_string(),
            self.late_generation.to_string(),
            o(&al.map(|a| a.from_hour)),
            o(&al.map(|a| a.through_hour)),
            o(&al.map(|a| a.hours)),
            o(&al.map(|a| a.unexplained)),
        ]
    }
}

/// What `report.json` still needs: the per-feeder rows and their spools.
pub struct FeederReport {
    rows: Vec<FeederRow>,
    hour_spool: KeyedSpool,
    alert_spool: KeyedSpool,
}

impl FeederReport {
    /// The rows of every feeder in the state or the events, by id;
    /// writes `feeders.csv`.
    pub(super) fn new(
        dir: &Path,
        state: &AuditState,
        accs: &BTreeMap<FeederId, Acc>,
        hour_spool: KeyedSpool,
        alert_spool: KeyedSpool,
    ) -> std::io::Result<FeederReport> {
        let mut records: BTreeMap<FeederId, Feeder> = BTreeMap::new();
        for (_, v) in scan_tag(state, tag::FEEDER) {
            if let Some(f) = value::<Feeder>(&v) {
                records.insert(f.id.clone(), f);
            }
        }
        let mut ids: Vec<FeederId> = records.keys().cloned().collect();
        ids.extend(accs.keys().cloned());
        ids.sort();
        ids.dedup();
        let rows: Vec<FeederRow> = ids
            .into_iter()
            .map(|id| FeederRow::new(id, &records, accs))
            .collect();
        write_csv(
            dir,
            "feeders",
            &FEEDERS_HEADER,
            &rows.iter().map(FeederRow::csv).collect::<Vec<_>>(),
        )?;
        Ok(FeederReport {
            rows,
            hour_spool,
            alert_spool,
        })
    }

    /// Writes the `feeders` array (each feeder's fields, then its `hours`
    /// and `alerts` copied from its spools), the last field of the report.
    pub fn write_json(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(b"  \"feeders\": [")?;
        for (i, row) in self.rows.iter().enumerate() {
            let fields = serde_json::to_string(row)?;
            // An object: its fields without the closing brace, then the arrays.
            let fields = fields.strip_suffix('}').unwrap_or(&fields);
            out.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
            out.write_all(fields.as_bytes())?;
            for (name, spool) in [("hours", &self.hour_spool), ("alerts", &self.alert_spool)] {
                write!(out, ",\n      \"{name}\": ")?;
                match row.key.and_then(|k| spool.spool(k)) {
                    Some(p) => super::write::copy_array(out, &p, "        ")?,
                    None => out.write_all(b"[]")?,
                }
            }
            out.write_all(b"}")?;
        }
        out.write_all(b"]\n")
    }

    /// Removes the spools.
    pub fn remove(self) -> std::io::Result<()> {
        self.hour_spool.remove()?;
        self.alert_spool.remove()
    }
}
