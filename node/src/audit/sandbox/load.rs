//! The model of a chain's starting state: its sites (a genesis registers
//! some) and, for a recovery fork that inherits an old chain's state,
//! whatever sandbox records it carries (feeders, attachments, zone
//! settings, permits, usage, orders).

use super::model::{FeederModel, Order, OrderSite, PermitModel, SiteModel, ZoneModel};
use super::SandboxCheck;
use std::collections::{BTreeMap, BTreeSet};
use watt_runtime::encoding::decode;
use watt_runtime::feeder::FeederId;
use watt_runtime::state::{
    prefix_end, read_value, tag, trailing_order, ChainState, Curtailment, Entries, Feeder, Permit,
    Site, StateError, StateKey, StateReader, Zone, ZoneSandbox,
};
use watt_runtime::types::{Height, Hour, SiteId, Wh};

fn rows(state: &impl StateReader, t: u8) -> Result<Entries, StateError> {
    state.scan(&[t], &prefix_end(&[t]))
}

fn corrupt(k: &[u8], e: impl ToString) -> StateError {
    StateError::Corrupt {
        key: hex::encode(k),
        reason: e.to_string(),
    }
}

fn value<T: borsh::BorshDeserialize>(k: &[u8], v: &[u8]) -> Result<T, StateError> {
    decode(v).map_err(|e| corrupt(k, e))
}

fn be(k: &[u8], at: usize) -> Result<u64, StateError> {
    k.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| corrupt(k, "key too short"))
}

/// Builds the model from a state.
pub(super) fn from_state(state: &impl StateReader) -> Result<SandboxCheck, StateError> {
    let mut sites = BTreeMap::new();
    for (k, v) in rows(state, tag::SITE)? {
        let s: Site = value(&k, &v)?;
        let mut m = SiteModel::new(s.zone, s.max_draw, s.last_end);
        m.revoked = s.revoked.is_some();
        sites.insert(s.id, m);
    }
    let mut feeders = BTreeMap::new();
    for (k, v) in rows(state, tag::FEEDER)? {
        let f: Feeder = value(&k, &v)?;
        feeders.insert(
            f.id.clone(),
            FeederModel {
                zone: f.zone,
                rated_capacity: f.rated_capacity,
                mining_share_permille: f.mining_share_permille,
                sites: Default::default(),
            },
        );
    }
    // Attachment keys: tag, kind (1 = site), id (8), hour (8).
    for (k, v) in rows(state, tag::ATTACHMENT)? {
        if k.get(1) != Some(&1) {
            continue;
        }
        let site = SiteId(be(&k, 2)?);
        let hour = Hour(be(&k, 10)?);
        let feeder: FeederId = value(&k, &v)?;
        if let Some(f) = feeders.get_mut(&feeder) {
            f.sites.insert(site);
        }
        if let Some(s) = sites.get_mut(&site) {
            s.attachments.insert(hour, feeder);
        }
    }
    let mut zones = BTreeMap::new();
    for (k, v) in rows(state, tag::ZONE)? {
        let z: Zone = value(&k, &v)?;
        if let Some(sb) = read_value::<ZoneSandbox>(state, &StateKey::ZoneSandbox(z.id.clone()))? {
            zones.insert(
                z.id,
                ZoneModel {
                    permits_from: sb.permits_from,
                    operators: sb.grid_operators,
                },
            );
        }
    }
    for (k, v) in rows(state, tag::PERMIT)? {
        let p: Permit = value(&k, &v)?;
        if let Some(s) = sites.get_mut(&p.site) {
            s.permit = Some(PermitModel {
                feeder: p.feeder,
                terms: p.terms,
                issued: Height(0),
                issued_ms: p.issued_ms,
                revoked: p.revoked.map(|r| (Height(0), r.to_string())),
            });
        }
    }
    // Usage keys: tag, site (8), month (8).
    for (k, v) in rows(state, tag::PERMIT_USAGE)? {
        let used: Wh = value(&k, &v)?;
        if let Some(s) = sites.get_mut(&SiteId(be(&k, 1)?)) {
            s.usage.entry(be(&k, 9)?).or_default().used = used;
        }
    }
    // Due keys: tag, time (8), order (8).
    let mut dues: BTreeMap<_, BTreeSet<u64>> = BTreeMap::new();
    for (k, _) in rows(state, tag::ORDER_DUE)? {
        let order = trailing_order(&k).ok_or_else(|| corrupt(&k, "order due key"))?;
        dues.entry(order).or_default().insert(be(&k, 1)?);
    }
    let mut orders = BTreeMap::new();
    for (k, v) in rows(state, tag::ORDER)? {
        let c: Curtailment = value(&k, &v)?;
        let mut order_sites = BTreeMap::new();
        for (site, share) in &c.shares {
            let os: Option<watt_runtime::state::OrderSite> =
                read_value(state, &StateKey::OrderSite(c.id, *site))?;
            let os = os.unwrap_or(watt_runtime::state::OrderSite {
                share: *share,
                used: Wh(0),
                acked_at: None,
                verdict: None,
            });
            order_sites.insert(
                *site,
                OrderSite {
                    share: os.share,
                    used: os.used,
                    acked_at: os.acked_at,
                    verdict: os.verdict,
                },
            );
        }
        orders.insert(
            c.id,
            Order {
                window: c.judged_window(),
                dues: dues.remove(&c.id).unwrap_or_default(),
                judged: None,
                closed: c.judged,
                target: c.target,
                zone: c.zone,
                issuer: c.issuer,
                height: Height(0),
                ordered_ms: c.ordered_ms,
                start: c.start,
                end: c.end,
                max_mining: c.max_mining,
                cancelled_at: c.cancelled_at,
                sites: order_sites,
            },
        );
    }
    let last_order = read_value::<u64>(state, &StateKey::OrderCount)?.unwrap_or(0);
    let params = read_value::<ChainState>(state, &StateKey::Chain)?
        .ok_or_else(|| corrupt(&StateKey::Chain.encode(), "no chain record"))?
        .params;
    Ok(SandboxCheck {
        sites,
        zones,
        feeders,
        orders,
        last_order,
        params,
        checked: Default::default(),
    })
}
