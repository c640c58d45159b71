//! The auditor's own model of the regulator's sandbox (SPEC section 11,
//! docs/protocol.md §18): permits and their monthly usage, curtailment
//! orders with their shares, use and verdicts, rebuilt from the chain's
//! transactions and events as they are replayed.
//!
//! The replay already runs the runtime's `apply_block` and holds the block
//! to the events it produced (the event root). This module is a second,
//! independent judge: it never calls the runtime's executor, only the
//! documented formulas of `watt_runtime::sandbox` (`month_of`, `covers`,
//! `above_power`, `shares`, `overlap_energy`, `allowed_energy`,
//! `honoured`). Every `PermitBreach`, every order's shares, every
//! cancellation and every `CurtailmentVerdict` the events record must be
//! what the model derives from the transactions; the first difference is a
//! discrepancy naming the site, the reading or the order.
//!
//! Where the model comes from: sites, feeders, attachments and zones from
//! their registration transactions and events; readings' periods from the
//! `SubmitConsumption` transactions, matched to their `Consumed` events;
//! settlement grace, clock skew and the zones' plausibility tolerance from
//! the replayed state (chain parameters and zone policies, not sandbox
//! rules). Memory is the state's: the runtime keeps every permit, usage
//! month and order too.

mod load;
mod model;
mod orders;
mod permits;

pub use model::{Breach, BreachReason, Checked};
pub(crate) use model::{MonthUsage, Order, SiteModel};

use super::AuditError;
use model::{FeederModel, ZoneModel};
use std::collections::{BTreeMap, VecDeque};
use watt_runtime::block::Block;
use watt_runtime::events::{Event, EventRecord};
use watt_runtime::feeder::{Attachee, FeederId};
use watt_runtime::sandbox::OrderId;
use watt_runtime::state::{read_value, ChainState, StateKey, StateReader, ViolationKind};
use watt_runtime::tx::{Body, Transaction};
use watt_runtime::types::{ChainParams, Height, Hour, SiteId, ZoneId};

/// The model, fed one replayed block at a time.
pub struct SandboxCheck {
    pub(crate) sites: BTreeMap<SiteId, SiteModel>,
    zones: BTreeMap<ZoneId, ZoneModel>,
    feeders: BTreeMap<FeederId, FeederModel>,
    pub(crate) orders: BTreeMap<OrderId, Order>,
    last_order: u64,
    /// The chain parameters in force during the next block's
    /// transactions: the state's after the last block (a governance
    /// change applies at a block's end).
    params: ChainParams,
    checked: Checked,
}

/// The block being checked.
struct Ctx<'a> {
    block: &'a Block,
    height: Height,
    now_ms: u64,
    now_s: u64,
    hour: Hour,
    params: ChainParams,
}

impl Ctx<'_> {
    fn finding(&self, object: impl Into<String>, reason: impl Into<String>) -> AuditError {
        AuditError::Discrepancy {
            height: self.height,
            object: object.into(),
            reason: reason.into(),
        }
    }

    /// The transaction that emitted an event, which must exist.
    fn tx(&self, index: Option<u32>, what: &str) -> Result<&Transaction, AuditError> {
        index
            .and_then(|i| self.block.txs.get(i as usize))
            .ok_or_else(|| self.finding(what, "the event names no transaction of the block"))
    }

    /// The body of the transaction that emitted an event.
    fn body(&self, index: Option<u32>, what: &str) -> Result<&Body, AuditError> {
        Ok(&self.tx(index, what)?.unsigned.body)
    }
}

/// A verdict the model expects the block to give, in the chain's order.
struct Expected {
    order: OrderId,
    site: SiteId,
    share: watt_runtime::types::Watts,
    window: (u64, u64),
    verdict: watt_runtime::state::Verdict,
}

/// A `PermitBreach` waiting for its reading's `Consumed` event.
struct PendingBreach {
    tx_index: Option<u32>,
    site: SiteId,
    sequence: Option<u64>,
    detail: String,
}

impl SandboxCheck {
    /// The model of a chain's starting state (the genesis state, or a
    /// recovery fork's inherited one).
    pub fn new(state: &impl StateReader) -> Result<SandboxCheck, AuditError> {
        load::from_state(state).map_err(|e| AuditError::Input(format!("genesis state: {e}")))
    }

    /// What has been checked so far.
    pub fn checked(&self) -> &Checked {
        &self.checked
    }

    /// Checks one replayed block's sandbox events against the model and
    /// moves the model on; `state` is the replayed state after the block
    /// (for chain parameters and zone policies). Returns the block's
    /// breaches, each classified.
    pub fn check_block(
        &mut self,
        block: &Block,
        events: &[EventRecord],
        state: &impl StateReader,
    ) -> Result<Vec<Breach>, AuditError> {
        let height = block.header.height;
        let now_ms = block.header.timestamp_ms;
        let next_params = read_value::<ChainState>(state, &StateKey::Chain)
            .ok()
            .flatten()
            .map(|c| c.params)
            .ok_or_else(|| AuditError::Discrepancy {
                height,
                object: "replayed state".into(),
                reason: "no chain record".into(),
            })?;
        let ctx = Ctx {
            block,
            height,
            now_ms,
            now_s: now_ms / 1000,
            hour: Hour::of_millis(now_ms),
            params: std::mem::replace(&mut self.params, next_params),
        };
        let mut expected = self.due_verdicts(&ctx, state)?;
        let mut waiting: Vec<PendingBreach> = Vec::new();
        let mut breach_next: Option<(OrderId, SiteId, BreachReason)> = None;
        let mut out = Vec::new();
        for r in events {
            if let Some((order, site, reason)) = breach_next.take() {
                match &r.event {
                    Event::Violation {
                        site: s,
                        violation: ViolationKind::CurtailmentBreach,
                        sequence: None,
                        detail,
                    } if *s == site => {
                        out.push(Breach {
                            site,
                            kind: ViolationKind::CurtailmentBreach,
                            reason,
                            sequence: None,
                            order: Some(order),
                            hour: None,
                            detail: detail.clone(),
                        });
                        continue;
                    }
                    _ => return Err(ctx.finding(
                        format!("curtailment order {order}, site {site}"),
                        "the verdict is a breach, but no CurtailmentBreach violation follows it",
                    )),
                }
            }
            self.event(
                &ctx,
                r,
                &mut expected,
                &mut waiting,
                &mut breach_next,
                &mut out,
            )?;
        }
        if let Some((order, site, _)) = breach_next {
            return Err(ctx.finding(
                format!("curtailment order {order}, site {site}"),
                "the verdict is a breach, but no CurtailmentBreach violation follows it",
            ));
        }
        if let Some(b) = waiting.first() {
            return Err(ctx.finding(
                format!("site {} violation", b.site),
                format!(
                    "a PermitBreach ({:?}) that no accepted reading of its transaction explains",
                    b.detail
                ),
            ));
        }
        if let Some(e) = expected.front() {
            return Err(ctx.finding(
                format!("curtailment order {}, site {}", e.order, e.site),
                format!(
                    "no verdict in this block, the first after the judged window's end {} plus the settlement grace",
                    e.window.1
                ),
            ));
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        ctx: &Ctx,
        r: &EventRecord,
        expected: &mut VecDeque<Expected>,
        waiting: &mut Vec<PendingBreach>,
        breach_next: &mut Option<(OrderId, SiteId, BreachReason)>,
        out: &mut Vec<Breach>,
    ) -> Result<(), AuditError> {
        match &r.event {
            Event::SiteRegistered {
                site,
                zone,
                max_draw,
                ..
            } => {
                let what = format!("site {site} registration");
                let Body::RegisterSite { baseline_time, .. } = ctx.body(r.tx_index, &what)? else {
                    return Err(ctx.finding(what, "not emitted by a RegisterSite transaction"));
                };
                self.sites.insert(
                    *site,
                    SiteModel::new(zone.clone(), *max_draw, *baseline_time),
                );
            }
            Event::SiteRevoked { site, .. } => {
                if let Some(s) = self.sites.get_mut(site) {
                    s.revoked = true;
                }
            }
            Event::SiteKeyReplaced { site, .. } => {
                let what = format!("site {site} key replacement");
                let Body::ReplaceSiteKey { baseline_time, .. } = ctx.body(r.tx_index, &what)?
                else {
                    return Err(ctx.finding(what, "not emitted by a ReplaceSiteKey transaction"));
                };
                if let Some(s) = self.sites.get_mut(site) {
                    s.last_end = *baseline_time;
                }
            }
            Event::FeederRegistered {
                feeder,
                zone,
                rated_capacity,
                ..
            } => {
                let what = format!("feeder {feeder} registration");
                let Body::RegisterFeeder { feeder: n } = ctx.body(r.tx_index, &what)? else {
                    return Err(ctx.finding(what, "not emitted by a RegisterFeeder transaction"));
                };
                self.feeders.insert(
                    feeder.clone(),
                    FeederModel {
                        zone: zone.clone(),
                        rated_capacity: *rated_capacity,
                        mining_share_permille: n.mining_share_permille,
                        sites: Default::default(),
                    },
                );
            }
            Event::FeederAttached {
                device: Attachee::Site(site),
                feeder,
                from_hour,
            } => self.attached(ctx, *site, feeder, *from_hour)?,
            Event::ZoneSandboxSet {
                zone,
                permits_from,
                grid_operators,
            } => self.zone_sandbox_set(ctx, r.tx_index, zone, *permits_from, grid_operators)?,
            Event::PermitIssued {
                site,
                feeder,
                terms,
            } => self.permit_issued(ctx, r.tx_index, *site, feeder, terms)?,
            Event::PermitRevoked { site, reason } => {
                self.permit_revoked(ctx, r.tx_index, *site, reason.as_str())?
            }
            Event::Violation {
                site,
                violation: ViolationKind::PermitBreach,
                sequence,
                detail,
            } => waiting.push(PendingBreach {
                tx_index: r.tx_index,
                site: *site,
                sequence: *sequence,
                detail: detail.clone(),
            }),
            Event::Violation {
                site,
                violation: ViolationKind::CurtailmentBreach,
                ..
            } => {
                return Err(ctx.finding(
                    format!("site {site} violation"),
                    "a CurtailmentBreach that follows no breached verdict",
                ))
            }
            Event::Consumed {
                site,
                sequence,
                hour,
                amount,
                ..
            } => {
                let chain: Vec<PendingBreach> = std::mem::take(waiting);
                if let Some(b) = chain.iter().find(|b| {
                    (b.tx_index, b.site, b.sequence) != (r.tx_index, *site, Some(*sequence))
                }) {
                    return Err(ctx.finding(
                        format!("site {} violation", b.site),
                        format!(
                            "a PermitBreach ({:?}) recorded before site {site} reading {sequence}, which it does not name",
                            b.detail
                        ),
                    ));
                }
                let details = chain.into_iter().map(|b| b.detail).collect();
                self.consumed(
                    ctx, r.tx_index, *site, *sequence, *hour, *amount, details, out,
                )?;
            }
            Event::CurtailmentOrdered {
                order,
                target,
                zone,
                start,
                end,
                max_mining,
                shares,
            } => self.ordered(
                ctx,
                r.tx_index,
                *order,
                target,
                zone,
                (*start, *end),
                *max_mining,
                shares,
            )?,
            Event::CurtailmentCancelled { order, at, judged } => {
                self.cancelled(ctx, r.tx_index, *order, *at, *judged)?
            }
            Event::CurtailmentAcknowledged {
                order,
                site,
                seen_at,
            } => self.acknowledged(ctx, r.tx_index, *order, *site, *seen_at)?,
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
            } => {
                let got = Expected {
                    order: *order,
                    site: *site,
                    share: *share,
                    window: (*start, *end),
                    verdict: watt_runtime::state::Verdict {
                        used: *used,
                        allowed: *allowed,
                        reported: *reported,
                        honoured: *honoured,
                    },
                };
                if let Some(reason) = self.verdict(ctx, r.tx_index, expected, got)? {
                    *breach_next = Some((*order, *site, reason));
                }
            }
            _ => {}
        }
        Ok(())
    }
}
