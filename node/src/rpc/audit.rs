//! `state_*` (roots and proofs) and `audit_*` (the event trail).

use super::context::{store_err, Ctx, RpcResult};
use super::Rpc;
use crate::storage::BlockReader;
use jsonrpsee::core::async_trait;
use serde_json::Value;
use watt_rpc_client::api::{AuditApiServer, StateApiServer, StateRoot, MAX_EVENT_RANGE, MAX_PAGE};
use watt_rpc_client::error::{invalid_params, limit_exceeded};
use watt_rpc_client::types::{BlockId, Bytes, EventFilter, EventsPage, RpcEvent, StateProof};
use watt_rpc_client::view;
use watt_runtime::encoding::encode;
use watt_runtime::events::{Event, EVENT_KINDS};
use watt_runtime::state::key_hash;
use watt_runtime::tree;
use watt_runtime::types::Height;

/// The longest state key a proof is asked for (real keys are under 100
/// bytes).
const MAX_KEY_BYTES: usize = 256;

/// Most events one `audit_getEvents` call examines. A filter that matches
/// rarely (an account, a meter) would otherwise make every call read and
/// decode up to `MAX_EVENT_RANGE` blocks of events; past this budget the
/// page ends early, with a cursor to go on from.
pub const SCAN_BUDGET: usize = 20_000;

#[async_trait]
impl StateApiServer for Rpc {
    async fn root(&self, at: Option<BlockId>) -> RpcResult<StateRoot> {
        self.ctx
            .blocking(move |ctx| {
                let at = ctx.resolve(at)?;
                Ok(StateRoot {
                    height: at.height,
                    block_hash: at.hash,
                    state_root: at.state_root,
                })
            })
            .await
    }

    async fn proof(&self, key: Bytes, at: Option<BlockId>) -> RpcResult<StateProof> {
        if key.0.is_empty() || key.0.len() > MAX_KEY_BYTES {
            return Err(invalid_params(format!(
                "key is {} bytes; a state key is 1 to {MAX_KEY_BYTES} bytes (see docs/encoding.md)",
                key.0.len()
            )));
        }
        self.ctx
            .blocking(move |ctx| {
                let at = ctx.resolve(at)?;
                let proof = tree::prove(&ctx.store.tree_reader(), at.state_root, &key_hash(&key.0))
                    .map_err(store_err)?;
                let value = ctx.store.state_at(&key.0, at.height).map_err(store_err)?;
                Ok(StateProof {
                    height: at.height,
                    block_hash: at.hash,
                    state_root: at.state_root,
                    key,
                    value: value.map(Bytes),
                    proof: Bytes(encode(&proof)),
                })
            })
            .await
    }
}

/// Where a page starts: a height and an event index within it.
fn parse_cursor(cursor: &str) -> RpcResult<(u64, u32)> {
    let bad = || {
        invalid_params(format!(
            "cursor {cursor:?} is not one this node gave out (height:index)"
        ))
    };
    let (h, i) = cursor.split_once(':').ok_or_else(bad)?;
    Ok((h.parse().map_err(|_| bad())?, i.parse().map_err(|_| bad())?))
}

/// Whether a JSON value holds the string anywhere.
fn mentions(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s == needle,
        Value::Array(a) => a.iter().any(|x| mentions(x, needle)),
        Value::Object(o) => o.values().any(|x| mentions(x, needle)),
        _ => false,
    }
}

struct Matcher {
    kinds: Option<Vec<String>>,
    account: Option<String>,
    meter: Option<u64>,
    site: Option<u64>,
}

impl Matcher {
    fn new(f: &EventFilter) -> RpcResult<Matcher> {
        if let Some(kinds) = &f.kinds {
            if let Some(bad) = kinds.iter().find(|k| !EVENT_KINDS.contains(&k.as_str())) {
                return Err(invalid_params(format!(
                    "kinds: unknown event kind {bad:?}; known kinds: {}",
                    EVENT_KINDS.join(", ")
                )));
            }
        }
        Ok(Matcher {
            kinds: f.kinds.clone(),
            account: f.account.map(|a| a.to_string()),
            meter: f.meter,
            site: f.site,
        })
    }

    fn matches(&self, event: &Event) -> bool {
        if let Some(kinds) = &self.kinds {
            if !kinds.iter().any(|k| k == event.kind()) {
                return false;
            }
        }
        if self.account.is_none() && self.meter.is_none() && self.site.is_none() {
            return true;
        }
        let Ok(json) = serde_json::to_value(view::Event::from(event.clone())) else {
            return false;
        };
        if let Some(a) = &self.account {
            if !mentions(&json, a) {
                return false;
            }
        }
        let field_is = |name: &str, want: u64| json.get(name).and_then(Value::as_u64) == Some(want);
        if let Some(m) = self.meter {
            if !field_is("meter", m) {
                return false;
            }
        }
        if let Some(s) = self.site {
            if !field_is("site", s) {
                return false;
            }
        }
        true
    }
}

impl Ctx {
    fn events_page(
        &self,
        filter: &EventFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> RpcResult<EventsPage> {
        let head = self.head()?;
        let asked_to = filter.to_height.map_or(head.0, |h| h.0);
        // Without fromHeight: the last MAX_EVENT_RANGE heights up to toHeight.
        let from = filter
            .from_height
            .map_or(asked_to.saturating_sub(MAX_EVENT_RANGE - 1), |h| h.0)
            .max(1);
        if filter.to_height.is_some() && asked_to < from {
            return Err(invalid_params(format!(
                "toHeight {asked_to} is below fromHeight {from}"
            )));
        }
        // The range asked for counts, not the part of it that exists yet.
        if asked_to >= from && asked_to - from >= MAX_EVENT_RANGE {
            return Err(limit_exceeded(format!(
                "heights {from}..={asked_to} span {} blocks; one call covers at most {MAX_EVENT_RANGE}",
                asked_to - from + 1
            )));
        }
        let to = asked_to.min(head.0);
        let matcher = Matcher::new(filter)?;
        let (start_h, start_i) = match cursor {
            Some(c) => {
                let (h, i) = parse_cursor(c)?;
                if h < from || h > to.max(from) {
                    return Err(invalid_params(format!(
                        "cursor height {h} is outside the filter's heights {from}..={to}"
                    )));
                }
                (h, i)
            }
            None => (from, 0),
        };
        let mut events = Vec::new();
        let mut examined = 0usize;
        for h in start_h..=to {
            // A block read counts against the budget too, events or not.
            if examined >= SCAN_BUDGET {
                return Ok(EventsPage {
                    events,
                    next_cursor: Some(format!("{h}:0")),
                });
            }
            examined += 1;
            let records = self
                .store
                .events(Height(h))
                .map_err(store_err)?
                .unwrap_or_default();
            let skip = if h == start_h { start_i as usize } else { 0 };
            for (i, r) in records.into_iter().enumerate().skip(skip) {
                if events.len() == limit as usize || examined >= SCAN_BUDGET {
                    return Ok(EventsPage {
                        events,
                        next_cursor: Some(format!("{h}:{i}")),
                    });
                }
                examined += 1;
                if matcher.matches(&r.event) {
                    events.push(RpcEvent {
                        height: Height(h),
                        index: i as u32,
                        tx_index: r.tx_index,
                        event: r.event.into(),
                    });
                }
            }
        }
        Ok(EventsPage {
            events,
            next_cursor: None,
        })
    }
}

#[async_trait]
impl AuditApiServer for Rpc {
    async fn events(
        &self,
        filter: EventFilter,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> RpcResult<EventsPage> {
        let limit = limit.unwrap_or(MAX_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(limit_exceeded(format!(
                "limit {limit}: a page holds 1 to {MAX_PAGE} events"
            )));
        }
        self.ctx
            .blocking(move |ctx| ctx.events_page(&filter, cursor.as_deref(), limit))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_are_named() {
        assert_eq!(parse_cursor("12:3").unwrap(), (12, 3));
        for bad in ["", "12", "a:1", "1:b", "1:2:3"] {
            let e = parse_cursor(bad).unwrap_err();
            assert_eq!(e.code(), watt_rpc_client::error::INVALID_PARAMS, "{bad}");
        }
    }

    #[test]
    fn mentions_searches_nested_values() {
        let v = serde_json::json!({"a": [{"b": "x"}], "c": 1});
        assert!(mentions(&v, "x"));
        assert!(!mentions(&v, "y"));
    }
}
