//! The sandbox's tables at the end, from the auditor's own model
//! (`crate::audit::sandbox`): each site's permit with its usage per UTC
//! month (`permits.csv`, `permit_usage.csv`) and each order with every
//! affected site's share, use, acknowledgement and verdict
//! (`curtailments.csv`), and the same rows for `report.json`. They are
//! bounded by the state (the chain keeps every permit, usage month and
//! order too).

use super::sandbox_text::{hours_text, month_text, months_text, utc_seconds};
use super::table::write_csv;
use crate::audit::sandbox::{MonthUsage, Order, SandboxCheck, SiteModel};
use serde::Serialize;
use std::path::Path;
use watt_runtime::sandbox::{CurtailTarget, OrderId};
use watt_runtime::types::{AccountId, Height, SiteId, Wh, ZoneId};

const PERMITS_HEADER: [&str; 15] = [
    "site",
    "zone",
    "feeder",
    "status",
    "max_power_w",
    "months_mask",
    "months",
    "hours_mask",
    "hours_utc",
    "monthly_quota_wh",
    "expires",
    "expires_utc",
    "issued_height",
    "revoked_height",
    "revoked_reason",
];

const USAGE_HEADER: [&str; 7] = [
    "site",
    "month",
    "used_wh",
    "quota_wh",
    "over_quota",
    "readings",
    "breaches",
];

const CURTAILMENTS_HEADER: [&str; 24] = [
    "order",
    "target_kind",
    "target",
    "zone",
    "issuer",
    "height",
    "start",
    "end",
    "start_utc",
    "end_utc",
    "max_mining_w",
    "cancelled_at",
    "judged_start",
    "judged_end",
    "state",
    "verdict_height",
    "site",
    "share_w",
    "used_wh",
    "allowed_wh",
    "acked_at",
    "acked_at_utc",
    "reported",
    "verdict",
];

/// Writes `permits.csv`, `permit_usage.csv` and `curtailments.csv` from
/// the model; returns their rows for `report.json`.
pub(super) fn write_tables(
    dir: &Path,
    model: &SandboxCheck,
    head_s: u64,
) -> std::io::Result<(Vec<PermitRow>, Vec<OrderRow>)> {
    let permits: Vec<PermitRow> = model
        .sites
        .iter()
        .filter(|(_, s)| s.permit.is_some() || !s.usage.is_empty())
        .map(|(id, s)| PermitRow::new(*id, s, head_s))
        .collect();
    write_csv(
        dir,
        "permits",
        &PERMITS_HEADER,
        &permits.iter().map(PermitRow::csv).collect::<Vec<_>>(),
    )?;
    let mut usage = Vec::new();
    for p in &permits {
        for u in &p.usage {
            usage.push(vec![
                p.site.to_string(),
                u.month.clone(),
                u.used.to_string(),
                opt(&u.quota),
                u.over_quota.to_string(),
                u.readings.to_string(),
                u.breaches.to_string(),
            ]);
        }
    }
    write_csv(dir, "permit_usage", &USAGE_HEADER, &usage)?;
    let orders: Vec<OrderRow> = model
        .orders
        .iter()
        .map(|(id, o)| OrderRow::new(*id, o))
        .collect();
    write_csv(
        dir,
        "curtailments",
        &CURTAILMENTS_HEADER,
        &orders.iter().flat_map(OrderRow::csv).collect::<Vec<_>>(),
    )?;
    Ok((permits, orders))
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_default()
}

/// A permit's terms in `report.json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Terms {
    max_power_w: u64,
    months: u16,
    hours: u32,
    monthly_quota: Wh,
    expires: u64,
}

/// One month of a site's usage.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageRow {
    /// `YYYY-MM` (UTC).
    month: String,
    used: Wh,
    quota: Option<Wh>,
    over_quota: bool,
    readings: u64,
    breaches: u64,
}

impl UsageRow {
    fn new(month: u64, u: &MonthUsage) -> UsageRow {
        UsageRow {
            month: month_text(month),
            used: u.used,
            quota: u.quota,
            over_quota: u.quota.is_some_and(|q| u.used > q),
            readings: u.readings,
            breaches: u.breaches,
        }
    }
}

/// A site's permit and usage.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PermitRow {
    site: SiteId,
    zone: ZoneId,
    /// The permit's feeder, else the site's latest attachment.
    feeder: Option<String>,
    /// `live`, `expired`, `revoked` at the last block, or `none`.
    status: &'static str,
    terms: Option<Terms>,
    months_allowed: Option<String>,
    hours_allowed: Option<String>,
    expires_utc: Option<String>,
    issued_height: Option<Height>,
    revoked_height: Option<Height>,
    revoked_reason: Option<String>,
    usage: Vec<UsageRow>,
}

impl PermitRow {
    fn new(site: SiteId, s: &SiteModel, head_s: u64) -> PermitRow {
        let p = s.permit.as_ref();
        let status = match p {
            None => "none",
            Some(p) if p.revoked.is_some() => "revoked",
            Some(p) if head_s >= p.terms.expires => "expired",
            Some(_) => "live",
        };
        PermitRow {
            site,
            zone: s.zone.clone(),
            feeder: p
                .map(|p| &p.feeder)
                .or(s.latest_feeder())
                .map(ToString::to_string),
            status,
            terms: p.map(|p| Terms {
                max_power_w: p.terms.max_power.0,
                months: p.terms.months,
                hours: p.terms.hours,
                monthly_quota: p.terms.monthly_quota,
                expires: p.terms.expires,
            }),
            months_allowed: p.map(|p| months_text(p.terms.months)),
            hours_allowed: p.map(|p| hours_text(p.terms.hours)),
            expires_utc: p.map(|p| utc_seconds(p.terms.expires)),
            issued_height: p.map(|p| p.issued),
            revoked_height: p.and_then(|p| p.revoked.as_ref().map(|r| r.0)),
            revoked_reason: p.and_then(|p| p.revoked.as_ref().map(|r| r.1.clone())),
            usage: s.usage.iter().map(|(m, u)| UsageRow::new(*m, u)).collect(),
        }
    }

    fn csv(&self) -> Vec<String> {
        let t = self.terms.as_ref();
        vec![
            self.site.to_string(),
            self.zone.to_string(),
            opt(&self.feeder),
            self.status.into(),
            opt(&t.map(|t| t.max_power_w)),
            opt(&t.map(|t| t.months)),
            opt(&self.months_allowed),
            opt(&t.map(|t| t.hours)),
            opt(&self.hours_allowed),
            opt(&t.map(|t| t.monthly_quota)),
            opt(&t.map(|t| t.expires)),
            opt(&self.expires_utc),
            opt(&self.issued_height),
            opt(&self.revoked_height),
            opt(&self.revoked_reason),
        ]
    }
}

/// An order's target in `report.json`: `{"feeder": id}` or `{"zone": id}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum Target {
    Feeder(String),
    Zone(String),
}

/// An affected site under an order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderSiteRow {
    site: SiteId,
    #[serde(rename = "shareW")]
    share_w: u64,
    /// Its consumption in the judged window (so far, for a pending order).
    used: Wh,
    allowed: Option<Wh>,
    acked_at: Option<u64>,
    acked_at_utc: Option<String>,
    reported: Option<bool>,
    /// `honoured`, `breach`, `pending`, or `none` (cancelled before its
    /// start).
    verdict: &'static str,
}

/// A curtailment order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OrderRow {
    order: u64,
    target: Target,
    zone: ZoneId,
    issuer: AccountId,
    height: Height,
    time_ms: u64,
    start: u64,
    end: u64,
    start_utc: String,
    end_utc: String,
    max_mining_w: u64,
    cancelled_at: Option<u64>,
    judged_start: Option<u64>,
    judged_end: Option<u64>,
    /// `judged`, `pending`, or `cancelled` (before its start).
    state: &'static str,
    verdict_height: Option<Height>,
    sites: Vec<OrderSiteRow>,
}

impl OrderRow {
    fn new(id: OrderId, o: &Order) -> OrderRow {
        let state = match (o.window, o.judged) {
            (None, _) => "cancelled",
            (Some(_), Some(_)) => "judged",
            (Some(_), None) if o.closed => "judged",
            (Some(_), None) => "pending",
        };
        OrderRow {
            order: id.0,
            target: match &o.target {
                CurtailTarget::Feeder(f) => Target::Feeder(f.to_string()),
                CurtailTarget::Zone(z) => Target::Zone(z.to_string()),
            },
            zone: o.zone.clone(),
            issuer: o.issuer,
            height: o.height,
            time_ms: o.ordered_ms,
            start: o.start,
            end: o.end,
            start_utc: utc_seconds(o.start),
            end_utc: utc_seconds(o.end),
            max_mining_w: o.max_mining.0,
            cancelled_at: o.cancelled_at,
            judged_start: o.window.map(|w| w.0),
            judged_end: o.window.map(|w| w.1),
            state,
            verdict_height: o.judged,
            sites: o
                .sites
                .iter()
                .map(|(site, os)| OrderSiteRow {
                    site: *site,
                    share_w: os.share.0,
                    used: os.verdict.map_or(os.used, |v| v.used),
                    allowed: os.verdict.map(|v| v.allowed),
                    acked_at: os.acked_at,
                    acked_at_utc: os.acked_at.map(utc_seconds),
                    reported: os.verdict.map(|v| v.reported),
                    verdict: match (os.verdict, state) {
                        (Some(v), _) if v.honoured => "honoured",
                        (Some(_), _) => "breach",
                        (None, "cancelled") => "none",
                        (None, _) => "pending",
                    },
                })
                .collect(),
        }
    }

    fn csv(&self) -> Vec<Vec<String>> {
        let (kind, target) = match &self.target {
            Target::Feeder(f) => ("feeder", f.clone()),
            Target::Zone(z) => ("zone", z.clone()),
        };
        let order = vec![
            self.order.to_string(),
            kind.into(),
            target,
            self.zone.to_string(),
            self.issuer.to_string(),
            self.height.to_string(),
            self.start.to_string(),
            self.end.to_string(),
            self.start_utc.clone(),
            self.end_utc.clone(),
            self.max_mining_w.to_string(),
            opt(&self.cancelled_at),
            opt(&self.judged_start),
            opt(&self.judged_end),
            self.state.into(),
            opt(&self.verdict_height),
        ];
        if self.sites.is_empty() {
            let mut row = order;
            row.extend(std::iter::repeat_n(String::new(), 8));
            return vec![row];
        }
        self.sites
            .iter()
            .map(|s| {
                let mut row = order.clone();
                row.extend([
                    s.site.to_string(),
                    s.share_w.to_string(),
                    s.used.to_string(),
                    opt(&s.allowed),
                    opt(&s.acked_at),
                    opt(&s.acked_at_utc),
                    opt(&s.reported),
                    s.verdict.into(),
                ]);
                row
            })
            .collect()
    }
}
