//! The regulator's sandbox read from the state (docs/protocol.md §18):
//! `zones_getSandbox`, `permits_*`, and the curtailment reads of `grid_*`.

use super::context::{store_err, At, Ctx, RpcResult};
use super::ledger::page_limit;
use super::Rpc;
use jsonrpsee::core::async_trait;
use watt_rpc_client::api::{PermitsApiServer, MAX_CURTAILMENT_SCAN};
use watt_rpc_client::error::limit_exceeded;
use watt_rpc_client::types::{BlockId, CurtailmentFilter, CurtailmentStates, MAX_CURTAILMENTS};
use watt_rpc_client::view::{self, CurtailmentState};
use watt_runtime::encoding::decode;
use watt_runtime::sandbox::{month_of, OrderId};
use watt_runtime::state::{
    pending_order_prefix, prefix_end, tag, trailing_order, Curtailment, OrderSite, Permit,
    StateKey, StateReader, Zone, ZoneSandbox,
};
use watt_runtime::types::{Hour, SiteId, Wh, ZoneId};

/// The most months of usage `permits_get` shows (a year and the same
/// month of the year before).
const USAGE_MONTHS: usize = 13;

/// A curtailment list's `limit`: default and most [`MAX_CURTAILMENTS`].
fn curtailment_limit(limit: Option<u32>) -> RpcResult<usize> {
    match limit {
        None => Ok(MAX_CURTAILMENTS as usize),
        Some(n) if n > MAX_CURTAILMENTS => Err(limit_exceeded(format!(
            "limit {n} is above the {MAX_CURTAILMENTS} orders one call returns"
        ))),
        Some(n) => Ok(n as usize),
    }
}

impl Ctx {
    /// A zone's sandbox settings; `None` for an unknown zone.
    pub(super) fn zone_sandbox(
        &self,
        at: &At,
        zone: ZoneId,
    ) -> RpcResult<Option<view::ZoneSandbox>> {
        if self
            .state::<Zone>(at, &StateKey::Zone(zone.clone()))?
            .is_none()
        {
            return Ok(None);
        }
        let sandbox: ZoneSandbox = self
            .state(at, &StateKey::ZoneSandbox(zone.clone()))?
            .unwrap_or_default();
        Ok(Some(view::ZoneSandbox::new(zone, sandbox)))
    }

    /// A site's monthly permit usage after `at`, newest first, at most
    /// [`USAGE_MONTHS`]. Usage keys are never deleted, so the current
    /// state's keys of the site (up to the month of `at`, plus a day for
    /// the skew) are every key the block's state may hold.
    fn permit_usage(&self, at: &At, site: SiteId) -> RpcResult<Vec<(u64, Wh)>> {
        let (last_month, _) = month_of(Hour::of_millis(at.time_ms.saturating_add(86_400_000)));
        let from = StateKey::PermitUsage(site, 0).encode();
        let to = StateKey::PermitUsage(site, last_month.saturating_add(1)).encode();
        let rows = StateReader::scan(&*self.store, &from, &to).map_err(store_err)?;
        let mut out = Vec::new();
        for (k, _) in rows.iter().rev() {
            if out.len() == USAGE_MONTHS {
                break;
            }
            let month = k
                .get(k.len().saturating_sub(8)..)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| store_err(format!("usage key {}", hex::encode(k))))?;
            if let Some(used) = self.state::<Wh>(at, &StateKey::PermitUsage(site, month))? {
                out.push((month, used));
            }
        }
        Ok(out)
    }

    /// A site's permit after `at`; `None` if it has none.
    pub(super) fn permit(&self, at: &At, site: SiteId) -> RpcResult<Option<view::Permit>> {
        let Some(p) = self.state::<Permit>(at, &StateKey::Permit(site))? else {
            return Ok(None);
        };
        let usage = self.permit_usage(at, site)?;
        Ok(Some(view::Permit::new(p, at.time_ms / 1000, usage)))
    }

    /// Permits from site `from`, in site order, at most `limit`, in the
    /// latest state.
    fn permits_from(&self, from: SiteId, limit: u32) -> RpcResult<Vec<view::Permit>> {
        let at = self.resolve(None)?;
        let start = StateKey::Permit(from).encode();
        let mut out = Vec::new();
        for (k, v) in StateReader::scan(&*self.store, &start, &[tag::PERMIT + 1])
            .map_err(store_err)?
            .into_iter()
            .take(limit as usize)
        {
            let p: Permit =
                decode(&v).map_err(|e| store_err(format!("permit {}: {e}", hex::encode(&k))))?;
            let usage = self.permit_usage(&at, p.site)?;
            out.push(view::Permit::new(p, at.time_ms / 1000, usage));
        }
        Ok(out)
    }

    /// An order after `at` with its affected sites' rows.
    fn curtailment_view(&self, at: &At, o: Curtailment) -> RpcResult<view::Curtailment> {
        let mut sites = Vec::with_capacity(o.shares.len());
        for (site, _) in &o.shares {
            let row: OrderSite = self
                .state(at, &StateKey::OrderSite(o.id, *site))?
                .ok_or_else(|| store_err(format!("order {} has no row for site {site}", o.id)))?;
            sites.push(view::CurtailedSite::new(*site, row));
        }
        Ok(view::Curtailment::new(o, at.time_ms / 1000, sites))
    }

    /// An order after `at`; `None` if there is no such order.
    pub(super) fn curtailment(&self, at: &At, id: u64) -> RpcResult<Option<view::Curtailment>> {
        match self.state::<Curtailment>(at, &StateKey::Order(OrderId(id)))? {
            Some(o) => self.curtailment_view(at, o).map(Some),
            None => Ok(None),
        }
    }

    /// Orders matching `filter`, newest first, at most `limit`, in the
    /// latest state. Active and upcoming orders are pending ones, read from
    /// the pending index (at most 64 a zone); past and all walk the order
    /// numbers down from `before`, at most [`MAX_CURTAILMENT_SCAN`] of them.
    pub(super) fn curtailments(
        &self,
        filter: &CurtailmentFilter,
        limit: usize,
    ) -> RpcResult<Vec<view::Curtailment>> {
        let at = self.resolve(None)?;
        let now_s = at.time_ms / 1000;
        let count: u64 = self.state(&at, &StateKey::OrderCount)?.unwrap_or(0);
        let below = filter
            .before
            .map_or(count, |b| b.saturating_sub(1).min(count));
        let ids: Vec<u64> = match filter.state {
            CurtailmentStates::Active | CurtailmentStates::Upcoming => {
                self.pending_ids(filter.zone.as_ref(), below)?
            }
            CurtailmentStates::Past | CurtailmentStates::All => {
                let lowest = below.saturating_sub(MAX_CURTAILMENT_SCAN);
                ((lowest + 1)..=below).rev().collect()
            }
        };
        let mut out = Vec::new();
        for id in ids {
            if out.len() == limit {
                break;
            }
            let Some(o) = self.state::<Curtailment>(&at, &StateKey::Order(OrderId(id)))? else {
                continue;
            };
            if filter.zone.as_ref().is_some_and(|z| *z != o.zone) {
                continue;
            }
            if filter
                .site
                .is_some_and(|s| !o.shares.iter().any(|(site, _)| *site == s))
            {
                continue;
            }
            let state = CurtailmentState::of(&o, now_s);
            let wanted = match filter.state {
                CurtailmentStates::Active => state == CurtailmentState::Active,
                CurtailmentStates::Upcoming => state == CurtailmentState::Upcoming,
                CurtailmentStates::Past => state.is_past(),
                CurtailmentStates::All => true,
            };
            if wanted {
                out.push(self.curtailment_view(&at, o)?);
            }
        }
        Ok(out)
    }

    /// The numbers of the pending orders (of one zone or all) up to
    /// `below`, newest first.
    fn pending_ids(&self, zone: Option<&ZoneId>, below: u64) -> RpcResult<Vec<u64>> {
        let from = match zone {
            Some(z) => pending_order_prefix(z),
            None => vec![tag::PENDING_ORDER],
        };
        let rows = StateReader::scan(&*self.store, &from, &prefix_end(&from)).map_err(store_err)?;
        let mut ids = Vec::with_capacity(rows.len());
        for (k, _) in rows {
            let id = trailing_order(&k)
                .ok_or_else(|| store_err(format!("pending key {}", hex::encode(&k))))?;
            if id.0 <= below {
                ids.push(id.0);
            }
        }
        ids.sort_unstable_by(|a, b| b.cmp(a));
        Ok(ids)
    }
}

#[async_trait]
impl PermitsApiServer for Rpc {
    async fn get(&self, site: SiteId, at: Option<BlockId>) -> RpcResult<Option<view::Permit>> {
        self.ctx
            .blocking(move |ctx| ctx.permit(&ctx.resolve(at)?, site))
            .await
    }

    async fn list(&self, from: Option<SiteId>, limit: Option<u32>) -> RpcResult<Vec<view::Permit>> {
        let limit = page_limit(limit)?;
        let from = from.unwrap_or(SiteId(1));
        self.ctx
            .blocking(move |ctx| ctx.permits_from(from, limit))
            .await
    }
}

impl Rpc {
    /// `grid_getCurtailment`.
    pub(super) async fn get_curtailment(
        &self,
        order: u64,
        at: Option<BlockId>,
    ) -> RpcResult<Option<view::Curtailment>> {
        self.ctx
            .blocking(move |ctx| ctx.curtailment(&ctx.resolve(at)?, order))
            .await
    }

    /// `grid_getCurtailments`.
    pub(super) async fn get_curtailments(
        &self,
        filter: Option<CurtailmentFilter>,
        limit: Option<u32>,
    ) -> RpcResult<Vec<view::Curtailment>> {
        let limit = curtailment_limit(limit)?;
        let filter = filter.unwrap_or_default();
        self.ctx
            .blocking(move |ctx| ctx.curtailments(&filter, limit))
            .await
    }
}
