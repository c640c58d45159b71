//! The sandbox's part of the report (docs/audit.md, "Permits and
//! curtailment"): every permit and curtailment breach as it happens
//! (`breaches.csv`, streamed), and at the end the permit and curtailment
//! tables of the auditor's own model (the `sandbox_rows` module), with
//! the three fields they make in `report.json`.

use super::sandbox_rows::{self, OrderRow, PermitRow};
use super::sandbox_text::month_text;
use super::table::Table;
use super::{io, violation_name};
use crate::audit::sandbox::{Breach, SandboxCheck};
use crate::audit::AuditError;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use watt_runtime::types::{Height, Hour, SiteId};

const BREACHES_HEADER: [&str; 10] = [
    "height", "time_ms", "site", "kind", "reason", "sequence", "order", "hour", "month", "detail",
];

/// One breach as `report.json` lists it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BreachRow<'a> {
    height: Height,
    time_ms: u64,
    site: SiteId,
    kind: String,
    reason: &'static str,
    sequence: Option<u64>,
    order: Option<u64>,
    hour: Option<Hour>,
    month: Option<String>,
    detail: &'a str,
}

/// The breaches table while the chain is replayed.
pub struct SandboxLog {
    breaches: Table,
}

impl SandboxLog {
    /// Starts `breaches.csv` in `dir`.
    pub fn new(dir: &Path) -> std::io::Result<SandboxLog> {
        Ok(SandboxLog {
            breaches: Table::create(dir, "breaches", &BREACHES_HEADER)?,
        })
    }

    /// Writes a block's breaches.
    pub fn block(
        &mut self,
        height: Height,
        time_ms: u64,
        breaches: &[Breach],
    ) -> Result<(), AuditError> {
        for b in breaches {
            let month = b
                .hour
                .map(|h| month_text(watt_runtime::sandbox::month_of(h).0));
            let row = BreachRow {
                height,
                time_ms,
                site: b.site,
                kind: violation_name(b.kind),
                reason: b.reason.name(),
                sequence: b.sequence,
                order: b.order.map(|o| o.0),
                hour: b.hour,
                month,
                detail: &b.detail,
            };
            let o = |v: Option<String>| v.unwrap_or_default();
            self.breaches
                .csv_row(&[
                    height.to_string(),
                    time_ms.to_string(),
                    b.site.to_string(),
                    row.kind.clone(),
                    row.reason.into(),
                    o(b.sequence.map(|s| s.to_string())),
                    o(b.order.map(|s| s.to_string())),
                    o(b.hour.map(|s| s.to_string())),
                    o(row.month.clone()),
                    b.detail.clone(),
                ])
                .map_err(io)?;
            self.breaches.json_item(&row).map_err(io)?;
        }
        Ok(())
    }

    /// Flushes the breaches; writes the permit and curtailment tables
    /// from the model.
    pub fn finish(
        self,
        dir: &Path,
        model: &SandboxCheck,
        head_ms: u64,
    ) -> std::io::Result<SandboxReport> {
        let breaches = self.breaches.finish()?;
        let (permits, orders) = sandbox_rows::write_tables(dir, model, head_ms / 1000)?;
        Ok(SandboxReport {
            permits,
            orders,
            breaches,
        })
    }
}

/// What `report.json` still needs from the sandbox.
pub struct SandboxReport {
    permits: Vec<PermitRow>,
    orders: Vec<OrderRow>,
    breaches: PathBuf,
}

impl SandboxReport {
    /// Writes the `permits`, `curtailments` and `breaches` fields, each
    /// followed by a comma (the feeders come last).
    pub fn write_json(&self, out: &mut impl Write) -> std::io::Result<()> {
        for (name, value) in [
            ("permits", serde_json::to_value(&self.permits)?),
            ("curtailments", serde_json::to_value(&self.orders)?),
        ] {
            write!(out, "  \"{name}\": ")?;
            serde_json::to_writer_pretty(&mut *out, &value)?;
            out.write_all(b",\n")?;
        }
        out.write_all(b"  \"breaches\": ")?;
        super::write::copy_array(out, &self.breaches, "    ")?;
        out.write_all(b",\n")
    }

    /// Removes the breaches' spool.
    pub fn remove(self) -> std::io::Result<()> {
        std::fs::remove_file(&self.breaches)
    }
}
