//! Zone policies and chain parameters: validation shared with genesis, and
//! the SetZonePolicy transaction.

use super::ledger::Ledger;
use crate::error::TxError;
use crate::events::Event;
use crate::state::{StateKey, StateReader, Zone};
use crate::types::{ChainParams, Hour, ZoneId, ZonePolicy};

/// Most zones a chain may have.
pub const MAX_ZONES: usize = 1_024;

fn invalid(field: &'static str, reason: String) -> TxError {
    TxError::InvalidParameter { field, reason }
}

/// Settlement grace must be at least the zone's max age plus the skew, so
/// that late but valid generation can always still settle a debt.
fn check_grace(params: &ChainParams, policy: &ZonePolicy) -> Result<(), TxError> {
    let needed = policy
        .reading_max_age_s
        .saturating_add(params.max_clock_skew_s);
    if params.settlement_grace_s < needed {
        return Err(invalid(
            "settlement_grace_s",
            format!(
                "{} s is shorter than a zone's max age plus skew ({needed} s)",
                params.settlement_grace_s
            ),
        ));
    }
    Ok(())
}

/// Checks a zone policy on its own and against the chain parameters, and,
/// for an update, against the policy it replaces.
pub fn validate_policy(
    policy: &ZonePolicy,
    params: &ChainParams,
    previous: Option<&ZonePolicy>,
) -> Result<(), TxError> {
    if policy.shortfall_penalty_permille < 1000 {
        return Err(invalid(
            "shortfall_penalty_permille",
            format!("{} is below 1000", policy.shortfall_penalty_permille),
        ));
    }
    if policy.credit_lifetime_hours == 0 {
        return Err(invalid(
            "credit_lifetime_hours",
            "must be at least 1".into(),
        ));
    }
    if policy.reading_max_age_s == 0 {
        return Err(invalid("reading_max_age_s", "must be at least 1".into()));
    }
    if policy.dark_after_s == 0 {
        return Err(invalid("dark_after_s", "must be at least 1".into()));
    }
    if policy.plausibility_tolerance_pct > 1000 {
        return Err(invalid(
            "plausibility_tolerance_pct",
            format!("{} is above 1000", policy.plausibility_tolerance_pct),
        ));
    }
    // A reading accepted at its oldest must still land in an unexpired
    // vintage, or expiry (which moves forward only) would miss it.
    let oldest_reading_hours =
        (policy.reading_max_age_s + params.max_clock_skew_s).div_ceil(3600) + 1;
    if policy.credit_lifetime_hours <= oldest_reading_hours {
        return Err(invalid(
            "credit_lifetime_hours",
            format!(
                "{} must exceed the reading max age plus skew ({} hours)",
                policy.credit_lifetime_hours, oldest_reading_hours
            ),
        ));
    }
    check_grace(params, policy)?;
    if let Some(prev) = previous {
        if policy.credit_lifetime_hours < prev.credit_lifetime_hours {
            return Err(invalid(
                "credit_lifetime_hours",
                format!(
                    "may only grow: {} is below the current {}",
                    policy.credit_lifetime_hours, prev.credit_lifetime_hours
                ),
            ));
        }
    }
    Ok(())
}

/// The smallest `max_block_bytes`: room for any transaction that is not a
/// reading submission.
pub const MIN_BLOCK_BYTES: u32 = 64 * 1024;

/// The longest clock skew a chain may allow (an hour: beyond it, hourly
/// matching and expiry would mean little).
pub const MAX_CLOCK_SKEW_S: u64 = 3_600;
/// The longest settlement grace (a year).
pub const MAX_SETTLEMENT_GRACE_S: u64 = 366 * 86_400;
/// The longest proposal expiry (about a year of 1 s blocks).
pub const MAX_PROPOSAL_EXPIRY_BLOCKS: u64 = 32_000_000;

/// Checks chain parameters on their own and against every zone's policy.
/// Every parameter has bounds, so that governance cannot set one the
/// encoding, the peer protocol or the block builder cannot live with (a
/// block that could be sealed but not sent would halt the chain).
pub fn validate_params<'a>(
    params: &ChainParams,
    policies: impl IntoIterator<Item = &'a ZonePolicy>,
) -> Result<(), TxError> {
    let max_txs = crate::block::MAX_BLOCK_TXS as u32;
    if params.max_block_txs == 0 || params.max_block_txs > max_txs {
        return Err(invalid(
            "max_block_txs",
            format!(
                "{} is not 1 to {max_txs} (the encoding's limit)",
                params.max_block_txs
            ),
        ));
    }
    if params.max_readings_per_tx == 0
        || params.max_readings_per_tx as usize > crate::tx::MAX_READINGS
    {
        return Err(invalid(
            "max_readings_per_tx",
            format!("must be 1 to {}", crate::tx::MAX_READINGS),
        ));
    }
    // The largest transaction must fit an empty block, or it would stop
    // the block builder at the head of the queue: a reading submission of
    // max_readings_per_tx readings, or any other body (at most about 10
    // KiB: a retirement naming 256 vintages with two long texts).
    let largest_tx = params
        .max_readings_per_tx
        .saturating_mul(crate::block::MAX_SIGNED_READING_BYTES)
        .saturating_add(1024);
    let min_bytes = largest_tx.max(MIN_BLOCK_BYTES);
    if params.max_block_bytes < min_bytes || params.max_block_bytes > crate::block::MAX_BLOCK_BYTES
    {
        return Err(invalid(
            "max_block_bytes",
            format!(
                "{} is not {min_bytes} to {} (the largest transaction under max_readings_per_tx, and what the peer protocol can carry)",
                params.max_block_bytes,
                crate::block::MAX_BLOCK_BYTES
            ),
        ));
    }
    if params.proposal_expiry_blocks == 0
        || params.proposal_expiry_blocks > MAX_PROPOSAL_EXPIRY_BLOCKS
    {
        return Err(invalid(
            "proposal_expiry_blocks",
            format!("must be 1 to {MAX_PROPOSAL_EXPIRY_BLOCKS}"),
        ));
    }
    if params.max_clock_skew_s > MAX_CLOCK_SKEW_S {
        return Err(invalid(
            "max_clock_skew_s",
            format!("{} is above {MAX_CLOCK_SKEW_S}", params.max_clock_skew_s),
        ));
    }
    if params.settlement_grace_s > MAX_SETTLEMENT_GRACE_S {
        return Err(invalid(
            "settlement_grace_s",
            format!(
                "{} is above {MAX_SETTLEMENT_GRACE_S}",
                params.settlement_grace_s
            ),
        ));
    }
    for policy in policies {
        check_grace(params, policy)?;
    }
    Ok(())
}

impl<R: StateReader + ?Sized> Ledger<'_, R> {
    /// SetZonePolicy (regulator): creates or updates a zone from the first
    /// block of the next UTC hour.
    pub fn set_zone_policy(
        &mut self,
        id: &ZoneId,
        policy: &crate::types::ZonePolicy,
    ) -> Result<(), TxError> {
        let params = self.chain()?.params;
        let existing = self.zone(id)?;
        // Lifetime may only grow: compare with the newest of the policy in
        // force and any pending one.
        let newest = existing.as_ref().and_then(|z| {
            z.pending
                .as_ref()
                .map(|(_, p)| p.clone())
                .or_else(|| z.policy.clone())
        });
        validate_policy(policy, &params, newest.as_ref())?;
        // Parameters already voted in must stay valid with this policy too.
        for scheduled in &self.chain()?.scheduled {
            if let crate::state::PendingChange::Params { params: next } = &scheduled.change {
                validate_policy(policy, next, None)?;
            }
        }
        if existing.is_none() {
            // Zones are few (grid areas): a bound keeps every zone-wide
            // structure small.
            let prefix = [crate::state::tag::ZONE];
            let count = self
                .ov
                .scan(&prefix, &crate::state::prefix_end(&prefix))?
                .len();
            if count >= MAX_ZONES {
                return Err(invalid(
                    "zone",
                    format!("the chain already has {count} zones, the most it may have"),
                ));
            }
        }
        let effective_hour = Hour(self.hour().0 + 1);
        if let Some((pending_hour, _)) = existing.as_ref().and_then(|z| z.pending.as_ref()) {
            self.delete(&StateKey::ZoneActivation(*pending_hour, id.clone()));
        }
        self.put(&StateKey::ZoneActivation(effective_hour, id.clone()), &());
        let mut zone = existing.unwrap_or(Zone {
            id: id.clone(),
            policy: None,
            pending: None,
            live_max_draw: Default::default(),
            supply: Default::default(),
            expired_through: None,
        });
        zone.pending = Some((effective_hour, policy.clone()));
        self.put_zone(&zone);
        self.emit(Event::ZonePolicySet {
            zone: id.clone(),
            effective_hour,
        });
        Ok(())
    }
}
