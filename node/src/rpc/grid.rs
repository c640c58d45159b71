//! `feeders_*` and `grid_*`: feeders, their closed hours and alerts, read
//! from the state (docs/protocol.md §17), and the alert subscription; the
//! curtailment reads are in [`super::sandbox`].

use super::context::{store_err, Ctx, RpcResult};
use super::ledger::page_limit;
use super::subs::{next_block, push};
use super::Rpc;
use crate::storage::BlockReader;
use jsonrpsee::core::{async_trait, SubscriptionResult};
use jsonrpsee::PendingSubscriptionSink;
use watt_rpc_client::api::{FeedersApiServer, GridApiServer, MAX_BALANCE_HOURS};
use watt_rpc_client::error::{invalid_params, limit_exceeded, not_found};
use watt_rpc_client::types::{BlockId, CurtailmentFilter, RpcEvent};
use watt_rpc_client::view;
use watt_runtime::encoding::decode;
use watt_runtime::events::Event;
use watt_runtime::feeder::{BalanceStatus, FeederId, FEEDER_ID_MAX};
use watt_runtime::state::{tag, ClosedHour, Feeder, StateKey, StateReader};
use watt_runtime::types::{Hour, ZoneId};

/// A feeder id from the API, or -32602 naming the parameter.
fn feeder_id(v: view::FeederId) -> RpcResult<FeederId> {
    FeederId::new(v.as_str()).map_err(|e| invalid_params(format!("feeder: {e}")))
}

/// Whether a grid subscriber hears of this event.
fn is_grid_event(e: &Event) -> bool {
    match e {
        Event::UnexplainedLoad { .. }
        | Event::FeederAlertCleared { .. }
        | Event::FeederOverload { .. } => true,
        Event::FeederBalance { status, .. } => *status != BalanceStatus::Balanced,
        _ => false,
    }
}

impl Ctx {
    fn feeder_latest(&self, id: &FeederId) -> RpcResult<Option<Feeder>> {
        let at = self.resolve(None)?;
        self.state(&at, &StateKey::Feeder(id.clone()))
    }

    fn feeders_after(&self, after: Option<FeederId>, limit: u32) -> RpcResult<Vec<Feeder>> {
        let from = match &after {
            Some(id) => StateKey::Feeder(id.clone()).encode(),
            None => vec![tag::FEEDER],
        };
        let rows = self
            .store
            .scan(&from, &[tag::FEEDER + 1])
            .map_err(store_err)?;
        let mut out = Vec::new();
        for (k, v) in rows {
            if after.is_some() && k == from {
                continue;
            }
            if out.len() == limit as usize {
                break;
            }
            let f: Feeder =
                decode(&v).map_err(|e| store_err(format!("feeder {}: {e}", hex::encode(&k))))?;
            out.push(f);
        }
        Ok(out)
    }

    fn closed_hours(
        &self,
        id: &FeederId,
        from: Hour,
        to: Hour,
    ) -> RpcResult<Vec<view::FeederHourBalance>> {
        let start = StateKey::FeederBalance(id.clone(), from).encode();
        let end = StateKey::FeederBalance(id.clone(), Hour(to.0.saturating_add(1))).encode();
        let mut out = Vec::new();
        for (k, v) in self.store.scan(&start, &end).map_err(store_err)? {
            let hour_bytes: [u8; 8] = k
                .get(1 + FEEDER_ID_MAX..)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| store_err(format!("balance key {}", hex::encode(&k))))?;
            let closed: ClosedHour =
                decode(&v).map_err(|e| store_err(format!("balance {}: {e}", hex::encode(&k))))?;
            out.push(view::FeederHourBalance::new(
                Hour(u64::from_be_bytes(hour_bytes)),
                closed,
            ));
        }
        Ok(out)
    }

    fn open_alerts(&self, zone: Option<ZoneId>) -> RpcResult<Vec<view::FeederAlert>> {
        let rows = self
            .store
            .scan(&[tag::OPEN_ALERT], &[tag::OPEN_ALERT + 1])
            .map_err(store_err)?;
        let mut out = Vec::new();
        for (k, _) in rows {
            let id = FeederId::from_padded(&k[1..])
                .ok_or_else(|| store_err(format!("alert key {}", hex::encode(&k))))?;
            let Some(f) = self.feeder_latest(&id)? else {
                continue;
            };
            if zone.as_ref().is_some_and(|z| *z != f.zone) {
                continue;
            }
            if let Some(a) = f.alert {
                out.push(view::feeder_alert(id.into(), a));
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl FeedersApiServer for Rpc {
    async fn get(
        &self,
        feeder: view::FeederId,
        at: Option<BlockId>,
    ) -> RpcResult<Option<view::Feeder>> {
        let id = feeder_id(feeder)?;
        self.ctx
            .blocking(move |ctx| {
                let f: Option<Feeder> = ctx.state(&ctx.resolve(at)?, &StateKey::Feeder(id))?;
                Ok(f.map(Into::into))
            })
            .await
    }

    async fn list(
        &self,
        after: Option<view::FeederId>,
        limit: Option<u32>,
    ) -> RpcResult<Vec<view::Feeder>> {
        let limit = page_limit(limit)?;
        let after = after.map(feeder_id).transpose()?;
        self.ctx
            .blocking(move |ctx| {
                Ok(ctx
                    .feeders_after(after, limit)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            })
            .await
    }

    async fn balance(
        &self,
        feeder: view::FeederId,
        from_hour: Hour,
        to_hour: Option<Hour>,
    ) -> RpcResult<Vec<view::FeederHourBalance>> {
        let id = feeder_id(feeder)?;
        let to = to_hour.unwrap_or(Hour(from_hour.0.saturating_add(23)));
        if to < from_hour {
            return Err(invalid_params(format!(
                "toHour {} is before fromHour {}",
                to.0, from_hour.0
            )));
        }
        if to.0 - from_hour.0 >= MAX_BALANCE_HOURS {
            return Err(limit_exceeded(format!(
                "{} hours is above the {MAX_BALANCE_HOURS} one call returns",
                to.0 - from_hour.0 + 1
            )));
        }
        self.ctx
            .blocking(move |ctx| {
                if ctx.feeder_latest(&id)?.is_none() {
                    return Err(not_found(format!("no feeder {id}")));
                }
                ctx.closed_hours(&id, from_hour, to)
            })
            .await
    }
}

#[async_trait]
impl GridApiServer for Rpc {
    async fn alerts(&self, zone: Option<ZoneId>) -> RpcResult<Vec<view::FeederAlert>> {
        self.ctx.blocking(move |ctx| ctx.open_alerts(zone)).await
    }

    async fn curtailment(
        &self,
        order: u64,
        at: Option<BlockId>,
    ) -> RpcResult<Option<view::Curtailment>> {
        self.get_curtailment(order, at).await
    }

    async fn curtailments(
        &self,
        filter: Option<CurtailmentFilter>,
        limit: Option<u32>,
    ) -> RpcResult<Vec<view::Curtailment>> {
        self.get_curtailments(filter, limit).await
    }

    async fn subscribe_alerts(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        let mut rx = self.ctx.node.subscribe();
        let mut sink = pending.accept().await?;
        while let Some(c) = next_block(&sink, &mut rx).await? {
            let height = c.header.height;
            let store = self.ctx.store.clone();
            let records = tokio::task::spawn_blocking(move || store.events(height))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?
                .unwrap_or_default();
            for (i, r) in records.into_iter().enumerate() {
                if is_grid_event(&r.event) {
                    push(
                        &mut sink,
                        &RpcEvent {
                            height,
                            index: i as u32,
                            tx_index: r.tx_index,
                            event: r.event.into(),
                        },
                    )?;
                }
            }
        }
        Ok(())
    }
}
