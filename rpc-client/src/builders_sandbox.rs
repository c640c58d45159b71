//! Builders for the regulator's sandbox (bodies 29 to 34, docs/protocol.md
//! §18): zone sandbox settings, permits, curtailment orders and a site
//! owner's signed acknowledgement. Like the other builders, each refuses
//! what no state can make right and names the field; what depends on the
//! chain (block time, roles, a feeder's share) is the node's to refuse.

use super::{feeder_id, list, text, whole_hour, BuildError};
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::sandbox::{
    CurtailTarget, CurtailmentAck, OrderId, PermitTerms, ALL_HOURS, ALL_MONTHS, MAX_CURTAIL_S,
};
use watt_runtime::tx::{Body, Signed};
use watt_runtime::types::{AccountId, SiteId, Watts, ZoneId};

fn refuse<T>(field: &'static str, reason: impl Into<String>) -> Result<T, BuildError> {
    Err(BuildError {
        field,
        reason: reason.into(),
    })
}

/// A reason on the record, which must not be blank.
fn record(
    field: &'static str,
    reason: &str,
    what: &str,
) -> Result<watt_runtime::tx::Text, BuildError> {
    if reason.trim().is_empty() {
        return refuse(
            field,
            format!("must not be blank: {what} is on record with its reason"),
        );
    }
    text(field, reason)
}

/// The regulator sets a zone's sandbox: whether its sites need a live
/// permit to mine (from the next UTC hour; dropping the requirement takes
/// effect at once) and its grid operators, who may order curtailment. The
/// list replaces the zone's previous one; an account named twice is
/// refused, naming `grid_operators`.
pub fn set_zone_sandbox(
    zone: ZoneId,
    permits_required: bool,
    grid_operators: Vec<AccountId>,
) -> Result<Body, BuildError> {
    for (i, a) in grid_operators.iter().enumerate() {
        if grid_operators[..i].contains(a) {
            return refuse("grid_operators", format!("{a} is named twice"));
        }
    }
    Ok(Body::SetZoneSandbox {
        zone,
        permits_required,
        grid_operators: list("grid_operators", grid_operators)?,
    })
}

/// The regulator issues (or replaces) a site's permit on the feeder it is
/// attached to. Refuses, naming the field: a max power of 0, a months mask
/// that is empty or has bits above the twelfth (`months`), an hours mask
/// that is empty or has bits above the 24th (`hours`), a monthly quota of
/// 0 (every reading would breach it), an expiry off the whole hour.
pub fn issue_permit(site: SiteId, terms: PermitTerms) -> Result<Body, BuildError> {
    if terms.max_power.0 == 0 {
        return refuse("max_power", "must be more than 0 W");
    }
    if terms.months == 0 {
        return refuse("months", "no month is allowed: allow at least one");
    }
    if terms.months & !ALL_MONTHS != 0 {
        return refuse(
            "months",
            format!(
                "mask {:#x} has bits above the 12 months (bit 0 = January, at most {ALL_MONTHS:#x})",
                terms.months
            ),
        );
    }
    if terms.hours == 0 {
        return refuse("hours", "no hour of the day is allowed: allow at least one");
    }
    if terms.hours & !ALL_HOURS != 0 {
        return refuse(
            "hours",
            format!(
                "mask {:#x} has bits above the 24 hours of the day (bit 0 = 00:00 UTC, at most {ALL_HOURS:#x})",
                terms.hours
            ),
        );
    }
    if terms.monthly_quota.0 == 0 {
        return refuse(
            "monthly_quota",
            "must be more than 0 Wh: the first reading would breach a quota of 0",
        );
    }
    whole_hour("expires", terms.expires)?;
    // What the runtime checks itself, should the two ever drift apart.
    terms
        .check()
        .or_else(|(field, reason)| refuse(field, reason))?;
    Ok(Body::IssuePermit { site, terms })
}

/// The regulator revokes a site's permit; the reason, on record, must not
/// be blank.
pub fn revoke_permit(site: SiteId, reason: &str) -> Result<Body, BuildError> {
    Ok(Body::RevokePermit {
        site,
        reason: record("reason", reason, "revoking a permit")?,
    })
}

/// A curtailment target of one feeder, named `target` when the id is
/// malformed.
pub fn feeder_target(feeder: &str) -> Result<CurtailTarget, BuildError> {
    Ok(CurtailTarget::Feeder(feeder_id("target", feeder)?))
}

/// A grid operator orders the sites of a feeder or zone to draw at most
/// `max_mining` together in `[start, end)` (unix seconds). Refuses, naming
/// `end`, a window that does not end after its start or is longer than
/// 24 h. That the start is not before block time is the chain's to judge.
pub fn curtail(
    target: CurtailTarget,
    start: u64,
    end: u64,
    max_mining: Watts,
) -> Result<Body, BuildError> {
    if end <= start {
        return refuse("end", format!("{end} is not after the start {start}"));
    }
    if end - start > MAX_CURTAIL_S {
        return refuse(
            "end",
            format!(
                "the window is {} s long; at most {MAX_CURTAIL_S} s (24 h), so end by {}",
                end - start,
                start + MAX_CURTAIL_S
            ),
        );
    }
    Ok(Body::Curtail {
        target,
        start,
        end,
        max_mining,
    })
}

/// An order number, which counts from 1.
fn order_id(order: OrderId) -> Result<OrderId, BuildError> {
    if order.0 == 0 {
        return refuse("order", "orders are numbered from 1");
    }
    Ok(order)
}

/// A grid operator of the order's zone cancels it: before its start no
/// verdicts follow; during its window they cover the part before the
/// cancellation.
pub fn cancel_curtailment(order: OrderId) -> Result<Body, BuildError> {
    Ok(Body::CancelCurtailment {
        order: order_id(order)?,
    })
}

/// The site owner's acknowledgement of `order` for `site`, seen at
/// `seen_at` (unix seconds), signed with the owner's account key for the
/// chain `chain_id`. The chain takes it once per order and site, from
/// when the order was given to block time plus the allowed skew.
pub fn sign_curtailment_ack(
    chain_id: &Hash,
    owner: &Keypair,
    order: OrderId,
    site: SiteId,
    seen_at: u64,
) -> Result<Signed<CurtailmentAck>, BuildError> {
    let ack = CurtailmentAck {
        order: order_id(order)?,
        site,
        seen_at,
    };
    Ok(ack.sign(chain_id, owner))
}

/// Anyone relays a site owner's signed acknowledgement (the owner itself,
/// usually, signing the transaction with the same key).
pub fn ack_curtailment(ack: Signed<CurtailmentAck>) -> Body {
    Body::AckCurtailment { ack }
}
