//! Feeders (docs/protocol.md §17): every closed hour's `FeederBalance`
//! with its overload and alert marks, and the unexplained-load alerts
//! (opened, extended, cleared with the regulator's reason).
//!
//! Hour and alert rows stream to `feeder_hours.csv` and `feeder_alerts.csv`
//! in chain order and, grouped per feeder for `report.json`, to one spool
//! per feeder (a chain has at most `MAX_FEEDERS`). Per-feeder totals stay
//! in memory; `feeders.csv` and the JSON's per-feeder fields (the
//! `feeder_rows` module) add the feeder's record from the replayed state.

pub use super::feeder_rows::FeederReport;
use super::table::{CsvStream, KeyedSpool};
use crate::audit::state::AuditState;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::path::Path;
use watt_runtime::events::Event;
use watt_runtime::feeder::FeederId;
use watt_runtime::types::{Height, Hour, Wh};

/// A signed amount (`unexplained`) as a decimal string, like `Wh`.
pub(super) fn signed<S: Serializer>(v: &i128, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// A feeder id as its text.
pub(super) fn text<S: Serializer>(v: &FeederId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn add(a: &mut Wh, b: Wh) {
    a.0 = a.0.saturating_add(b.0);
}

/// An alert as the events tell it: first and last hour, hours, energy.
type Alert = (Hour, Hour, u32, Wh);

/// Per-feeder totals over the chain.
#[derive(Default)]
pub(super) struct Acc {
    /// The feeder's spool key (order of first appearance).
    pub(super) key: usize,
    /// Hours closed per status: balanced, unexplained, negative, unmetered.
    pub(super) by_status: [u64; 4],
    pub(super) overloads: u64,
    pub(super) alerts_opened: u64,
    pub(super) alerts_cleared: u64,
    pub(super) import: Wh,
    pub(super) export: Wh,
    pub(super) generation: Wh,
    pub(super) consumption: Wh,
    pub(super) declared: Wh,
    pub(super) allowance: Wh,
    pub(super) unexplained: i128,
    pub(super) late_consumption: Wh,
    pub(super) late_generation: Wh,
    /// The open alert, from the last UnexplainedLoad.
    pub(super) alert: Option<Alert>,
}

/// One closed hour, as `report.json` lists it under its feeder.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct HourRow {
    hour: Hour,
    /// The block that closed it.
    height: Height,
    import: Wh,
    export: Wh,
    generation: Wh,
    consumption: Wh,
    declared: Wh,
    allowance: Wh,
    #[serde(serialize_with = "signed")]
    unexplained: i128,
    status: &'static str,
    /// FeederOverload for this hour.
    overload: bool,
    /// "opened" or "extended" if closing this hour opened or extended an alert.
    alert: Option<&'static str>,
}

/// One alert event, as `report.json` lists it under its feeder.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertRow<'a> {
    height: Height,
    time_ms: u64,
    /// "opened", "extended" or "cleared".
    event: &'static str,
    from_hour: Hour,
    through_hour: Hour,
    /// The alert's hours and energy (for "cleared": those it had).
    hours: Option<u32>,
    unexplained: Option<Wh>,
    /// The regulator's reason ("cleared" only).
    reason: Option<&'a str>,
}

/// The feeders' part of the report while the chain is replayed.
pub struct FeederLog {
    hours_csv: CsvStream,
    alerts_csv: CsvStream,
    hour_spool: KeyedSpool,
    alert_spool: KeyedSpool,
    feeders: BTreeMap<FeederId, Acc>,
    /// The block's closed hours, written at its end (with the overload and
    /// alert events that follow their balance).
    pending: Vec<(FeederId, HourRow)>,
}

impl FeederLog {
    /// Starts the tables in `dir`.
    pub fn new(dir: &Path) -> std::io::Result<FeederLog> {
        Ok(FeederLog {
            hours_csv: CsvStream::create(
                dir,
                "feeder_hours",
                &[
                    "hour",
                    "feeder",
                    "height",
                    "import_wh",
                    "export_wh",
                    "generation_wh",
                    "consumption_wh",
                    "declared_wh",
                    "allowance_wh",
                    "unexplained_wh",
                    "status",
                    "overload",
                    "alert",
                ],
            )?,
            alerts_csv: CsvStream::create(
                dir,
                "feeder_alerts",
                &[
                    "height",
                    "time_ms",
                    "feeder",
                    "event",
                    "from_hour",
                    "through_hour",
                    "hours",
                    "unexplained_wh",
                    "reason",
                ],
            )?,
            hour_spool: KeyedSpool::create(&dir.join(".feeder-hours"))?,
            alert_spool: KeyedSpool::create(&dir.join(".feeder-alerts"))?,
            feeders: BTreeMap::new(),
            pending: Vec::new(),
        })
    }

    fn acc(&mut self, feeder: &FeederId) -> &mut Acc {
        let key = self.feeders.len();
        self.feeders.entry(feeder.clone()).or_insert_with(|| Acc {
            key,
            ..Acc::default()
        })
    }

    fn pending(&mut self, feeder: &FeederId, hour: Hour) -> Option<&mut HourRow> {
        self.pending
            .iter_mut()
            .rev()
            .find(|(f, r)| f == feeder && r.hour == hour)
            .map(|(_, r)| r)
    }

    #[allow(clippy::too_many_arguments)]
    fn alert_row(
        &mut self,
        height: Height,
        time_ms: u64,
        feeder: &FeederId,
        event: &'static str,
        (from_hour, through_hour): (Hour, Hour),
        figures: Option<(u32, Wh)>,
        reason: Option<&str>,
    ) -> std::io::Result<()> {
        let opt = |v: Option<String>| v.unwrap_or_default();
        self.alerts_csv.row(&[
            height.to_string(),
            time_ms.to_string(),
            feeder.to_string(),
            event.into(),
            from_hour.to_string(),
            through_hour.to_string(),
            opt(figures.map(|f| f.0.to_string())),
            opt(figures.map(|f| f.1.to_string())),
            reason.unwrap_or_default().into(),
        ])?;
        let key = self.acc(feeder).key;
        self.alert_spool.write(
            key,
            &AlertRow {
                height,
                time_ms,
                event,
                from_hour,
                through_hour,
                hours: figures.map(|f| f.0),
                unexplained: figures.map(|f| f.1),
                reason,
            },
        )
    }

    /// Takes in one of a block's events (others are ignored).
    pub fn event(&mut self, height: Height, time_ms: u64, e: &Event) -> std::io::Result<()> {
        match e {
            Event::FeederRegistered { feeder, .. } => {
                self.acc(feeder);
            }
            Event::FeederBalance {
                feeder,
                hour,
                import,
                export,
                generation,
                consumption,
                declared,
                allowance,
                unexplained,
                status,
            } => {
                let a = self.acc(feeder);
                a.by_status[*status as usize] += 1;
                add(&mut a.import, *import);
                add(&mut a.export, *export);
                add(&mut a.generation, *generation);
                add(&mut a.consumption, *consumption);
                add(&mut a.declared, *declared);
                add(&mut a.allowance, *allowance);
                a.unexplained = a.unexplained.saturating_add(*unexplained);
                self.pending.push((
                    feeder.clone(),
                    HourRow {
                        hour: *hour,
                        height,
                        import: *import,
                        export: *export,
                        generation: *generation,
                        consumption: *consumption,
                        declared: *declared,
                        allowance: *allowance,
                        unexplained: *unexplained,
                        status: status.name(),
                        overload: false,
                        alert: None,
                    },
                ));
            }
            Event::FeederOverload { feeder, hour, .. } => {
                self.acc(feeder).overloads += 1;
                if let Some(r) = self.pending(feeder, *hour) {
                    r.overload = true;
                }
            }
            Event::UnexplainedLoad {
                feeder,
                from_hour,
                through_hour,
                hours,
                unexplained,
            } => {
                let a = self.acc(feeder);
                let kind = match a.alert {
                    Some((from, ..)) if from == *from_hour => "extended",
                    _ => {
                        a.alerts_opened += 1;
                        "opened"
                    }
                };
                a.alert = Some((*from_hour, *through_hour, *hours, *unexplained));
                if let Some(r) = self.pending(feeder, *through_hour) {
                    r.alert = Some(kind);
                }
                self.alert_row(
                    height,
                    time_ms,
                    feeder,
                    kind,
                    (*from_hour, *through_hour),
                    Some((*hours, *unexplained)),
                    None,
                )?;
            }
            Event::FeederAlertCleared {
                feeder,
                from_hour,
                through_hour,
                reason,
            } => {
                let a = self.acc(feeder);
                a.alerts_cleared += 1;
                let figures = a
                    .alert
                    .take()
                    .filter(|(f, t, ..)| (f, t) == (from_hour, through_hour))
                    .map(|(_, _, h, u)| (h, u));
                self.alert_row(
                    height,
                    time_ms,
                    feeder,
                    "cleared",
                    (*from_hour, *through_hour),
                    figures,
                    Some(reason.as_str()),
                )?;
            }
            Event::LateFeederConsumption { feeder, amount, .. } => {
                add(&mut self.acc(feeder).late_consumption, *amount)
            }
            Event::LateFeederGeneration { feeder, amount, .. } => {
                add(&mut self.acc(feeder).late_generation, *amount)
            }
            _ => {}
        }
        Ok(())
    }

    /// Writes the block's closed hours.
    pub fn end_block(&mut self) -> std::io::Result<()> {
        for (feeder, r) in std::mem::take(&mut self.pending) {
            self.hours_csv.row(&[
                r.hour.to_string(),
                feeder.to_string(),
                r.height.to_string(),
                r.import.to_string(),
                r.export.to_string(),
                r.generation.to_string(),
                r.consumption.to_string(),
                r.declared.to_string(),
                r.allowance.to_string(),
                r.unexplained.to_string(),
                r.status.into(),
                r.overload.to_string(),
                r.alert.unwrap_or_default().into(),
            ])?;
            let key = self.acc(&feeder).key;
            self.hour_spool.write(key, &r)?;
        }
        Ok(())
    }

    /// Closes the streams and writes `feeders.csv`; what is left is
    /// written into `report.json` by [`FeederReport::write_json`].
    pub fn finish(mut self, dir: &Path, state: &AuditState) -> std::io::Result<FeederReport> {
        self.end_block()?;
        self.hours_csv.finish()?;
        self.alerts_csv.finish()?;
        self.hour_spool.flush()?;
        self.alert_spool.flush()?;
        FeederReport::new(dir, state, &self.feeders, self.hour_spool, self.alert_spool)
    }
}
