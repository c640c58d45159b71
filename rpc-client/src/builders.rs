//! One builder per transaction body. Each takes typed arguments, checks
//! what the encoding bounds (text lengths, list lengths, serials) and
//! returns the [`Body`] to sign with [`crate::client::Signer`]; a mistake
//! comes back naming the field instead of as a node rejection.

use watt_runtime::block::SignedVote;
use watt_runtime::crypto::{Hash, Keypair, PublicKey};
use watt_runtime::encoding::BoundedVec;
use watt_runtime::tx::{
    AuthorityChange, Body, ConsumptionReading, GenerationReading, ProofOfPossession,
    RegulatorChange, Serial, Signed, Text,
};
use watt_runtime::types::{
    AccountId, ChainParams, MeterId, ProposalId, SiteId, Source, Vintage, Watts, Wh, ZoneId,
    ZonePolicy,
};

/// A field a builder refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct BuildError {
    /// The field.
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

fn text(field: &'static str, s: &str) -> Result<Text, BuildError> {
    Text::try_from(s.to_string()).map_err(|e| BuildError {
        field,
        reason: e.to_string(),
    })
}

fn serial(s: &str) -> Result<Serial, BuildError> {
    Serial::try_from(s.to_string()).map_err(|e| BuildError {
        field: "serial",
        reason: e.to_string(),
    })
}

fn list<T, const N: usize>(field: &'static str, v: Vec<T>) -> Result<BoundedVec<T, N>, BuildError> {
    let n = v.len();
    BoundedVec::new(v).map_err(|_| BuildError {
        field,
        reason: format!("{n} items; one transaction carries at most {N}"),
    })
}

/// A metering device being registered: serial, key, zone, baseline.
#[derive(Clone, Debug)]
pub struct Device<'a> {
    /// Serial number.
    pub serial: &'a str,
    /// The key its readings are signed with.
    pub key: PublicKey,
    /// The grid zone.
    pub zone: ZoneId,
    /// Unix seconds of the baseline counter.
    pub baseline_time: u64,
    /// The counter at the baseline.
    pub baseline_counter: Wh,
}

/// Moves credits (oldest eligible first).
pub fn transfer(to: AccountId, amount: Wh) -> Body {
    Body::Transfer {
        to,
        amount,
        vintages: None,
    }
}

/// Retires credits for a non-mining claim.
pub fn retire(amount: Wh, beneficiary: &str, purpose: &str) -> Result<Body, BuildError> {
    Ok(Body::Retire {
        amount,
        beneficiary: text("beneficiary", beneficiary)?,
        purpose: text("purpose", purpose)?,
        vintages: None,
    })
}

/// An authority registers a generation meter.
pub fn register_meter(
    device: Device<'_>,
    owner: AccountId,
    source: Source,
    capacity: Watts,
) -> Result<Body, BuildError> {
    Ok(Body::RegisterMeter {
        serial: serial(device.serial)?,
        device_key: device.key,
        owner,
        source,
        capacity,
        zone: device.zone,
        baseline_time: device.baseline_time,
        baseline_counter: device.baseline_counter,
    })
}

/// The regulator approves a meter (or its pending key).
pub fn approve_meter(meter: MeterId) -> Body {
    Body::ApproveMeter { meter }
}

/// The operator relays signed generation readings.
pub fn submit_readings(readings: Vec<Signed<GenerationReading>>) -> Result<Body, BuildError> {
    Ok(Body::SubmitReadings {
        readings: list("readings", readings)?,
    })
}

/// The operator swaps a meter's key (pending approval).
pub fn replace_meter_key(meter: MeterId, key: PublicKey, time: u64, counter: Wh) -> Body {
    Body::ReplaceMeterKey {
        meter,
        new_device_key: key,
        baseline_time: time,
        baseline_counter: counter,
    }
}

/// The operator re-baselines a meter after a gap.
pub fn resync_meter(meter: MeterId, time: u64, counter: Wh) -> Body {
    Body::ResyncMeter {
        meter,
        baseline_time: time,
        baseline_counter: counter,
    }
}

/// The regulator hands a meter to another authority.
pub fn transfer_meter_operator(meter: MeterId, new_operator: AccountId) -> Body {
    Body::TransferMeterOperator {
        meter,
        new_operator,
    }
}

/// Revokes a meter for good.
pub fn revoke_meter(meter: MeterId, reason: &str) -> Result<Body, BuildError> {
    Ok(Body::RevokeMeter {
        meter,
        reason: text("reason", reason)?,
    })
}

/// The regulator registers a mining site.
pub fn register_site(
    device: Device<'_>,
    owner: AccountId,
    max_draw: Watts,
) -> Result<Body, BuildError> {
    Ok(Body::RegisterSite {
        serial: serial(device.serial)?,
        device_key: device.key,
        owner,
        zone: device.zone,
        max_draw,
        baseline_time: device.baseline_time,
        baseline_counter: device.baseline_counter,
    })
}

/// The site owner submits signed consumption readings.
pub fn submit_consumption(readings: Vec<Signed<ConsumptionReading>>) -> Result<Body, BuildError> {
    Ok(Body::SubmitConsumption {
        readings: list("readings", readings)?,
    })
}

/// The owner pays a site's shortfall with its penalty.
pub fn settle_shortfall(site: SiteId) -> Body {
    Body::SettleShortfall {
        site,
        vintages: None,
    }
}

/// The regulator creates or updates a zone.
pub fn set_zone_policy(zone: ZoneId, policy: ZonePolicy) -> Body {
    Body::SetZonePolicy { zone, policy }
}

/// The regulator suspends a site.
pub fn suspend_site(site: SiteId, reason: &str) -> Result<Body, BuildError> {
    Ok(Body::SuspendSite {
        site,
        reason: text("reason", reason)?,
    })
}

/// The regulator lifts a suspension.
pub fn reinstate_site(site: SiteId, reason: &str) -> Result<Body, BuildError> {
    Ok(Body::ReinstateSite {
        site,
        reason: text("reason", reason)?,
    })
}

/// The regulator revokes a site for good.
pub fn revoke_site(site: SiteId, reason: &str) -> Result<Body, BuildError> {
    Ok(Body::RevokeSite {
        site,
        reason: text("reason", reason)?,
    })
}

/// The regulator swaps a site's meter key.
pub fn replace_site_key(site: SiteId, key: PublicKey, time: u64, counter: Wh) -> Body {
    Body::ReplaceSiteKey {
        site,
        new_device_key: key,
        baseline_time: time,
        baseline_counter: counter,
    }
}

/// The regulator withdraws credits issued in error.
pub fn withdraw_credits(
    account: AccountId,
    vintage: Vintage,
    amount: Wh,
    reason: &str,
) -> Result<Body, BuildError> {
    Ok(Body::WithdrawCredits {
        account,
        vintage,
        amount,
        reason: text("reason", reason)?,
    })
}

/// Proposes a new authority, with the proof of possession signed by its
/// consensus key.
pub fn propose_add_authority(
    chain_id: &Hash,
    operator: AccountId,
    consensus: &Keypair,
    name: &str,
) -> Result<Body, BuildError> {
    let key = consensus.public();
    let proof = ProofOfPossession {
        signature: consensus.sign(&ProofOfPossession::signing_hash(chain_id, &operator, &key)),
    };
    Ok(Body::ProposeAuthoritySet {
        change: AuthorityChange::Add {
            operator,
            consensus_key: key,
            name: text("name", name)?,
            proof,
        },
    })
}

/// Proposes another authority change (remove, rotate).
pub fn propose_authority_change(change: AuthorityChange) -> Body {
    Body::ProposeAuthoritySet { change }
}

/// Proposes a change of regulators.
pub fn propose_regulator_change(change: RegulatorChange) -> Body {
    Body::ProposeRegulatorSet { change }
}

/// Proposes new chain parameters.
pub fn propose_chain_params(params: ChainParams) -> Body {
    Body::ProposeChainParams { params }
}

/// Votes on a proposal.
pub fn vote(proposal: ProposalId, approve: bool) -> Body {
    Body::Vote { proposal, approve }
}

/// Proves that a validator signed two conflicting votes.
pub fn evidence(first: SignedVote, second: SignedVote) -> Body {
    Body::Evidence { first, second }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_name_the_field_they_refuse() {
        let long = "x".repeat(10_000);
        let e = retire(Wh(1), &long, "lights").unwrap_err();
        assert_eq!(e.field, "beneficiary");
        let e = retire(Wh(1), "town", "bad\u{7}char").unwrap_err();
        assert_eq!(e.field, "purpose");
        let e = submit_readings(vec![]).map(|_| ()).err();
        assert!(e.is_none(), "an empty list is the node's to refuse");
        assert!(retire(Wh(1), "town", "lights").is_ok());
    }
}
