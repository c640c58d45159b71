//! `watt audit --format parquet`: the replayed chain as typed, Snappy
//! compressed Parquet tables for analytics engines (DuckDB, Spark, Trino),
//! under `<out>/parquet/<table>/day=YYYY-MM-DD/part-00000.parquet`.
//!
//! Rows are streamed: each table buffers at most one row group
//! (`table::ROW_GROUP_ROWS` rows or `table::ROW_GROUP_BYTES` bytes)
//! and keeps one file open, the current
//! day's; the hourly supply is aggregated in memory for the open day only.
//! The schema of every table is in `docs/audit.md` ("Parquet").

mod table;

use super::replay::Replayed;
use super::AuditError;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use table::{Col, Kind, Table, V};
use watt_runtime::events::Event;
use watt_runtime::tx::Body;
use watt_runtime::types::civil_from_days;

pub use table::schema_text;

const I: Kind = Kind::Int;
const TS: Kind = Kind::Time;
const S: Kind = Kind::Text;
const B: Kind = Kind::Bool;

/// Every table: its name and columns (name, type, nullable).
pub const TABLES: &[(&str, &[Col])] = &[
    ("blocks", BLOCKS),
    ("transactions", TRANSACTIONS),
    ("events", EVENTS),
    ("generation", GENERATION),
    ("consumption", CONSUMPTION),
    ("burns", BURNS),
    ("retirements", RETIREMENTS),
    ("supply_hourly", SUPPLY_HOURLY),
    ("feeder_balances", FEEDER_BALANCES),
    ("permits", PERMITS),
    ("curtailment_verdicts", VERDICTS),
    ("violations", VIOLATIONS),
];

const BLOCKS: &[Col] = &[
    ("height", I, false),
    ("hash", S, false),
    ("time", TS, false),
    ("proposer", S, false),
    ("tx_count", I, false),
    ("event_count", I, false),
];
const TRANSACTIONS: &[Col] = &[
    ("height", I, false),
    ("tx_index", I, false),
    ("time", TS, false),
    ("hash", S, false),
    ("signer", S, false),
    ("nonce", I, false),
    ("body", S, false),
];
const EVENTS: &[Col] = &[
    ("height", I, false),
    ("event_index", I, false),
    ("tx_index", I, true),
    ("time", TS, false),
    ("kind", S, false),
    ("json", S, false),
];
const GENERATION: &[Col] = &[
    ("height", I, false),
    ("tx_index", I, false),
    ("time", TS, false),
    ("meter", I, false),
    ("sequence", I, false),
    ("period_start", TS, false),
    ("period_end", TS, false),
    ("counter_wh", I, false),
    ("flags", I, false),
    ("minted_wh", I, false),
];
const CONSUMPTION: &[Col] = &[
    ("height", I, false),
    ("tx_index", I, false),
    ("time", TS, false),
    ("site", I, false),
    ("sequence", I, false),
    ("period_start", TS, false),
    ("period_end", TS, false),
    ("counter_wh", I, false),
    ("flags", I, false),
    ("consumed_wh", I, false),
];
const BURNS: &[Col] = &[
    ("burn_id", S, false),
    ("height", I, false),
    ("event_index", I, false),
    ("tx_index", I, true),
    ("time", TS, false),
    ("site", I, false),
    ("owner", S, false),
    ("burn_wh", I, false),
    ("vintage_zone", S, false),
    ("vintage_hour", TS, false),
    ("amount_wh", I, false),
];
const RETIREMENTS: &[Col] = &[
    ("retirement_id", I, false),
    ("height", I, false),
    ("tx_index", I, true),
    ("time", TS, false),
    ("account", S, false),
    ("beneficiary", S, true),
    ("purpose", S, true),
    ("retired_wh", I, false),
    ("vintage_zone", S, false),
    ("vintage_hour", TS, false),
    ("amount_wh", I, false),
];
const SUPPLY_HOURLY: &[Col] = &[
    ("hour", TS, false),
    ("zone", S, false),
    ("minted_wh", I, false),
    ("burned_wh", I, false),
    ("retired_wh", I, false),
    ("withdrawn_wh", I, false),
    ("expired_wh", I, false),
];
const FEEDER_BALANCES: &[Col] = &[
    ("height", I, false),
    ("time", TS, false),
    ("feeder", S, false),
    ("hour", TS, false),
    ("import_wh", I, false),
    ("export_wh", I, false),
    ("generation_wh", I, false),
    ("consumption_wh", I, false),
    ("declared_wh", I, false),
    ("allowance_wh", I, false),
    ("unexplained_wh", I, false),
    ("status", S, false),
];
const PERMITS: &[Col] = &[
    ("height", I, false),
    ("tx_index", I, true),
    ("time", TS, false),
    ("site", I, false),
    ("action", S, false),
    ("feeder", S, true),
    ("max_power_w", I, true),
    ("months", I, true),
    ("hours", I, true),
    ("monthly_quota_wh", I, true),
    ("expires", TS, true),
    ("reason", S, true),
];
const VERDICTS: &[Col] = &[
    ("height", I, false),
    ("time", TS, false),
    ("order_id", I, false),
    ("site", I, false),
    ("share_w", I, false),
    ("window_start", TS, false),
    ("window_end", TS, false),
    ("used_wh", I, false),
    ("allowed_wh", I, false),
    ("reported", B, false),
    ("honoured", B, false),
];
const VIOLATIONS: &[Col] = &[
    ("height", I, false),
    ("tx_index", I, true),
    ("time", TS, false),
    ("site", I, false),
    ("kind", S, false),
    ("sequence", I, true),
    ("detail", S, false),
];

/// Per zone, in one hour: minted, burned, retired, withdrawn, expired.
type Flows = [u64; 5];

/// The Parquet output of an audit.
pub struct ParquetSink {
    tables: Vec<Table>,
    /// The open day of the hourly supply and its (hour, zone) sums.
    supply_day: Option<String>,
    supply: BTreeMap<(u64, String), Flows>,
}

/// `YYYY-MM-DD` of unix milliseconds.
fn day_of(ms: u64) -> String {
    let (y, m, d) = civil_from_days((ms / 86_400_000) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

fn opt(v: Option<u64>) -> V {
    v.map_or(V::N, V::u)
}

// Indexes into `tables`, in `TABLES` order.
const T_BLOCKS: usize = 0;
const T_TXS: usize = 1;
const T_EVENTS: usize = 2;
const T_GENERATION: usize = 3;
const T_CONSUMPTION: usize = 4;
const T_BURNS: usize = 5;
const T_RETIREMENTS: usize = 6;
const T_SUPPLY: usize = 7;
const T_FEEDERS: usize = 8;
const T_PERMITS: usize = 9;
const T_VERDICTS: usize = 10;
const T_VIOLATIONS: usize = 11;

impl ParquetSink {
    /// Tables under `dir` (`<work>/parquet`).
    pub fn new(dir: &Path) -> Result<ParquetSink, AuditError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| AuditError::Output(format!("{}: {e}", dir.display())))?;
        let tables = TABLES
            .iter()
            .map(|(name, cols)| Table::new(dir, name, cols))
            .collect::<Result<_, _>>()?;
        Ok(ParquetSink {
            tables,
            supply_day: None,
            supply: BTreeMap::new(),
        })
    }

    /// Writes one replayed block's rows.
    pub fn observe(&mut self, r: &Replayed) -> Result<(), AuditError> {
        let h = &r.block.header;
        let ms = h.timestamp_ms;
        let day = day_of(ms);
        let time = || V::u(ms);
        let t = &mut self.tables;
        t[T_BLOCKS].push(
            &day,
            vec![
                V::u(h.height.0),
                V::t(r.hash),
                time(),
                V::t(h.proposer),
                V::u(r.block.txs.len() as u64),
                V::u(r.events.len() as u64),
            ],
        )?;
        // What the block's events say per reading, for the reading rows.
        let mut minted: HashMap<(u64, u64), u64> = HashMap::new();
        let mut consumed: HashMap<(u64, u64), u64> = HashMap::new();
        for e in &r.events {
            match &e.event {
                Event::Minted {
                    meter,
                    sequence,
                    amount,
                    ..
                } => *minted.entry((meter.0, *sequence)).or_default() += amount.0,
                Event::Consumed {
                    site,
                    sequence,
                    amount,
                    ..
                } => *consumed.entry((site.0, *sequence)).or_default() += amount.0,
                _ => {}
            }
        }
        for (i, tx) in r.block.txs.iter().enumerate() {
            let body = &tx.unsigned.body;
            t[T_TXS].push(
                &day,
                vec![
                    V::u(h.height.0),
                    V::u(i as u64),
                    time(),
                    V::t(tx.hash()),
                    V::t(tx.signer()),
                    V::u(tx.unsigned.nonce),
                    V::t(body.name()),
                ],
            )?;
            // A generation or consumption reading: the same columns, with
            // the meter or site and what it minted or consumed.
            let reading_row =
                |id: u64, seq: u64, start: u64, end: u64, counter: u64, flags: u8, wh| {
                    vec![
                        V::u(h.height.0),
                        V::u(i as u64),
                        time(),
                        V::u(id),
                        V::u(seq),
                        V::secs(start),
                        V::secs(end),
                        V::u(counter),
                        V::u(flags.into()),
                        V::u(wh),
                    ]
                };
            match body {
                Body::SubmitReadings { readings } => {
                    for s in readings.iter() {
                        let g = &s.reading;
                        let m = minted.get(&(g.meter.0, g.sequence)).copied().unwrap_or(0);
                        let row = reading_row(
                            g.meter.0,
                            g.sequence,
                            g.period_start,
                            g.period_end,
                            g.counter.0,
                            g.flags,
                            m,
                        );
                        t[T_GENERATION].push(&day, row)?;
                    }
                }
                Body::SubmitConsumption { readings } => {
                    for s in readings.iter() {
                        let c = &s.reading;
                        let a = consumed.get(&(c.site.0, c.sequence)).copied().unwrap_or(0);
                        let row = reading_row(
                            c.site.0,
                            c.sequence,
                            c.period_start,
                            c.period_end,
                            c.counter.0,
                            c.flags,
                            a,
                        );
                        t[T_CONSUMPTION].push(&day, row)?;
                    }
                }
                _ => {}
            }
        }

        // The hourly supply: a new day writes out the previous one's.
        if self.supply_day.as_deref() != Some(day.as_str()) {
            self.flush_supply()?;
            self.supply_day = Some(day.clone());
        }
        let hour = ms / 3_600_000;
        let mut flow = |zone: &watt_runtime::types::ZoneId, k: usize, a: u64| {
            let f = self.supply.entry((hour, zone.to_string())).or_default();
            f[k] = f[k].saturating_add(a);
        };
        for e in &r.events {
            match &e.event {
                Event::Minted {
                    vintage, amount, ..
                } => flow(&vintage.zone, 0, amount.0),
                Event::Burned { parts, .. } => {
                    for (v, a) in parts {
                        flow(&v.zone, 1, a.0)
                    }
                }
                Event::Retired { parts, .. } => {
                    for (v, a) in parts {
                        flow(&v.zone, 2, a.0)
                    }
                }
                Event::Withdrawn {
                    vintage, amount, ..
                } => flow(&vintage.zone, 3, amount.0),
                Event::Expired {
                    vintage, amount, ..
                } => flow(&vintage.zone, 4, amount.0),
                _ => {}
            }
        }

        let t = &mut self.tables;
        for (k, e) in r.events.iter().enumerate() {
            let txi = e.tx_index.map(u64::from);
            let json = serde_json::to_string(&watt_rpc_client::view::Event::from(e.event.clone()))
                .map_err(|e| AuditError::Output(format!("event JSON: {e}")))?;
            t[T_EVENTS].push(
                &day,
                vec![
                    V::u(h.height.0),
                    V::u(k as u64),
                    opt(txi),
                    time(),
                    V::t(e.event.kind()),
                    V::T(json),
                ],
            )?;
            match &e.event {
                Event::Burned { site, owner, parts } => {
                    let total: u64 = parts.iter().map(|(_, a)| a.0).sum();
                    for (v, a) in parts {
                        t[T_BURNS].push(
                            &day,
                            vec![
                                V::T(format!("{}/{}", h.height.0, k)),
                                V::u(h.height.0),
                                V::u(k as u64),
                                opt(txi),
                                time(),
                                V::u(site.0),
                                V::t(owner),
                                V::u(total),
                                V::t(&v.zone),
                                V::hour(v.hour.0),
                                V::u(a.0),
                            ],
                        )?;
                    }
                }
                Event::Retired { id, account, parts } => {
                    let (beneficiary, purpose) = match e
                        .tx_index
                        .and_then(|i| r.block.txs.get(i as usize))
                        .map(|tx| &tx.unsigned.body)
                    {
                        Some(Body::Retire {
                            beneficiary,
                            purpose,
                            ..
                        }) => (V::t(beneficiary.as_str()), V::t(purpose.as_str())),
                        _ => (V::N, V::N),
                    };
                    let total: u64 = parts.iter().map(|(_, a)| a.0).sum();
                    for (v, a) in parts {
                        let text = |x: &V| match x {
                            V::T(s) => V::T(s.clone()),
                            _ => V::N,
                        };
                        t[T_RETIREMENTS].push(
                            &day,
                            vec![
                                V::u(id.0),
                                V::u(h.height.0),
                                opt(txi),
                                time(),
                                V::t(account),
                                text(&beneficiary),
                                text(&purpose),
                                V::u(total),
                                V::t(&v.zone),
                                V::hour(v.hour.0),
                                V::u(a.0),
                            ],
                        )?;
                    }
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
                } => t[T_FEEDERS].push(
                    &day,
                    vec![
                        V::u(h.height.0),
                        time(),
                        V::t(feeder),
                        V::hour(hour.0),
                        V::u(import.0),
                        V::u(export.0),
                        V::u(generation.0),
                        V::u(consumption.0),
                        V::u(declared.0),
                        V::u(allowance.0),
                        V::I((*unexplained).clamp(i64::MIN.into(), i64::MAX.into()) as i64),
                        V::T(format!("{status:?}").to_lowercase()),
                    ],
                )?,
                Event::PermitIssued {
                    site,
                    feeder,
                    terms,
                } => t[T_PERMITS].push(
                    &day,
                    vec![
                        V::u(h.height.0),
                        opt(txi),
                        time(),
                        V::u(site.0),
                        V::t("issued"),
                        V::t(feeder),
                        V::u(terms.max_power.0),
                        V::u(terms.months.into()),
                        V::u(terms.hours.into()),
                        V::u(terms.monthly_quota.0),
                        V::secs(terms.expires),
                        V::N,
                    ],
                )?,
                Event::PermitRevoked { site, reason } => t[T_PERMITS].push(
                    &day,
                    vec![
                        V::u(h.height.0),
                        opt(txi),
                        time(),
                        V::u(site.0),
                        V::t("revoked"),
                        V::N,
                        V::N,
                        V::N,
                        V::N,
                        V::N,
                        V::N,
                        V::t(reason.as_str()),
                    ],
                )?,
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
                } => t[T_VERDICTS].push(
                    &day,
                    vec![
                        V::u(h.height.0),
                        time(),
                        V::u(order.0),
                        V::u(site.0),
                        V::u(share.0),
                        V::secs(*start),
                        V::secs(*end),
                        V::u(used.0),
                        V::u(allowed.0),
                        V::B(*reported),
                        V::B(*honoured),
                    ],
                )?,
                Event::Violation {
                    site,
                    violation,
                    sequence,
                    detail,
                } => t[T_VIOLATIONS].push(
                    &day,
                    vec![
                        V::u(h.height.0),
                        opt(txi),
                        time(),
                        V::u(site.0),
                        V::T(format!("{violation:?}")),
                        opt(*sequence),
                        V::t(detail),
                    ],
                )?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Writes the open day's hourly supply.
    fn flush_supply(&mut self) -> Result<(), AuditError> {
        let Some(day) = self.supply_day.take() else {
            return Ok(());
        };
        for ((hour, zone), f) in std::mem::take(&mut self.supply) {
            self.tables[T_SUPPLY].push(
                &day,
                vec![
                    V::hour(hour),
                    V::T(zone),
                    V::u(f[0]),
                    V::u(f[1]),
                    V::u(f[2]),
                    V::u(f[3]),
                    V::u(f[4]),
                ],
            )?;
        }
        Ok(())
    }

    /// Writes what is buffered and closes every file.
    pub fn finish(mut self) -> Result<(), AuditError> {
        self.flush_supply()?;
        for t in &mut self.tables {
            t.close_day()?;
        }
        Ok(())
    }
}
