//! One builder per transaction body. Each takes typed arguments, checks
//! what the encoding bounds (text lengths, list lengths, serials) and
//! returns the [`Body`] to sign with [`crate::client::Signer`]; a mistake
//! comes back naming the field instead of as a node rejection. The
//! sandbox's builders (permits, curtailment, acknowledgements) are in
//! `builders_sandbox.rs`, re-exported here.

use watt_runtime::block::SignedVote;
use watt_runtime::crypto::{Hash, Keypair, PublicKey};
use watt_runtime::encoding::BoundedVec;
use watt_runtime::feeder::{
    Attachee, DeclaredLoad, FeederId, FeederReading, NewFeeder, MAX_ALERT_HOURS,
};
use watt_runtime::tx::{
    AuthorityChange, Body, ConsumptionReading, GenerationReading, ProofOfPossession,
    RegulatorChange, Serial, Signed, Text,
};
use watt_runtime::types::{
    AccountId, ChainParams, Hour, MeterId, ProposalId, SiteId, Source, Vintage, Watts, Wh, ZoneId,
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

/// A feeder id (2 to 24 characters of `A-Z 0-9 - /`), named `field` when
/// refused.
fn feeder_id(field: &'static str, s: &str) -> Result<FeederId, BuildError> {
    FeederId::new(s).map_err(|e| BuildError {
        field,
        reason: e.to_string(),
    })
}

/// A baseline time, which must fall on a whole UTC hour.
fn whole_hour(field: &'static str, unix_s: u64) -> Result<u64, BuildError> {
    if unix_s % 3600 != 0 {
        return Err(BuildError {
            field,
            reason: format!(
                "{unix_s} is not on a whole UTC hour ({} or {} are)",
                unix_s / 3600 * 3600,
                (unix_s / 3600 + 1) * 3600
            ),
        });
    }
    Ok(unix_s)
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

/// A feeder being registered (docs/protocol.md §17.1).
#[derive(Clone, Debug)]
pub struct FeederSpec<'a> {
    /// The feeder id: 2 to 24 characters of `A-Z 0-9 - /`, e.g. `RU-BU/F12`.
    pub id: &'a str,
    /// The zone it lies in.
    pub zone: ZoneId,
    /// Rated capacity (more than 0).
    pub rated_capacity: Watts,
    /// Technical losses allowed, per mille of import plus generation (at
    /// most 1000).
    pub loss_permille: u16,
    /// Unexplained energy per hour tolerated either way.
    pub alert_floor: Wh,
    /// Consecutive unexplained hours before an alert (1 to 168).
    pub alert_hours: u16,
    /// The part of rated capacity mining permits may take, per mille (at
    /// most 1000).
    pub mining_share_permille: u16,
    /// The head meter's device key.
    pub head_key: PublicKey,
    /// Unix seconds on a whole UTC hour from which head readings count.
    pub baseline_time: u64,
    /// The head meter's import counter at the baseline.
    pub baseline_import: Wh,
    /// The head meter's export counter at the baseline.
    pub baseline_export: Wh,
    /// The key that signs the hourly declared load, if any.
    pub declared_key: Option<PublicKey>,
}

/// The regulator registers a feeder with its head meter. Refuses, naming
/// the field, what no state can make right: a malformed id, a zero
/// capacity, a per mille above 1000, alert hours outside 1 to 168, a
/// baseline off the whole hour, a declared-load key equal to the head key.
pub fn register_feeder(f: FeederSpec<'_>) -> Result<Body, BuildError> {
    let bad = |field: &'static str, reason: &str| {
        Err(BuildError {
            field,
            reason: reason.to_string(),
        })
    };
    let id = feeder_id("id", f.id)?;
    if f.rated_capacity.0 == 0 {
        return bad("rated_capacity", "must be more than 0 W");
    }
    if f.loss_permille > 1000 {
        return bad("loss_permille", "must be at most 1000 (100%)");
    }
    if f.mining_share_permille > 1000 {
        return bad("mining_share_permille", "must be at most 1000 (100%)");
    }
    if f.alert_hours == 0 || f.alert_hours > MAX_ALERT_HOURS {
        return bad("alert_hours", "must be 1 to 168");
    }
    if f.declared_key == Some(f.head_key) {
        return bad("declared_key", "must differ from the head key");
    }
    Ok(Body::RegisterFeeder {
        feeder: NewFeeder {
            id,
            zone: f.zone,
            rated_capacity: f.rated_capacity,
            loss_permille: f.loss_permille,
            alert_floor: f.alert_floor,
            alert_hours: f.alert_hours,
            mining_share_permille: f.mining_share_permille,
            head_key: f.head_key,
            baseline_time: whole_hour("baseline_time", f.baseline_time)?,
            baseline_import: f.baseline_import,
            baseline_export: f.baseline_export,
            declared_key: f.declared_key,
        },
    })
}

/// The regulator attaches a meter or site to a feeder (or moves it) from
/// `from_hour`, which must be at or after the next UTC hour of block time.
pub fn attach_to_feeder(
    device: Attachee,
    feeder: &str,
    from_hour: Hour,
) -> Result<Body, BuildError> {
    Ok(Body::AttachToFeeder {
        device,
        feeder: feeder_id("feeder", feeder)?,
        from_hour,
    })
}

/// Anyone relays a feeder head meter's signed readings.
pub fn submit_feeder_readings(readings: Vec<Signed<FeederReading>>) -> Result<Body, BuildError> {
    Ok(Body::SubmitFeederReadings {
        readings: list("readings", readings)?,
    })
}

/// Anyone relays hourly declared loads signed by a feeder's declared-load
/// key.
pub fn submit_declared_load(loads: Vec<Signed<DeclaredLoad>>) -> Result<Body, BuildError> {
    Ok(Body::SubmitDeclaredLoad {
        loads: list("loads", loads)?,
    })
}

/// The regulator clears a feeder's unexplained-load alert; the reason, on
/// record, must not be blank.
pub fn clear_feeder_alert(feeder: &str, reason: &str) -> Result<Body, BuildError> {
    let feeder = feeder_id("feeder", feeder)?;
    if reason.trim().is_empty() {
        return Err(BuildError {
            field: "reason",
            reason: "must not be blank: clearing an alert is on record with its reason".into(),
        });
    }
    Ok(Body::ClearFeederAlert {
        feeder,
        reason: text("reason", reason)?,
    })
}

/// The regulator brings an offline head meter back on a new baseline (a
/// whole UTC hour) with its counters there.
pub fn resync_feeder_meter(
    feeder: &str,
    baseline_time: u64,
    import: Wh,
    export: Wh,
) -> Result<Body, BuildError> {
    Ok(Body::ResyncFeederMeter {
        feeder: feeder_id("feeder", feeder)?,
        baseline_time: whole_hour("baseline_time", baseline_time)?,
        baseline_import: import,
        baseline_export: export,
    })
}

#[path = "builders_sandbox.rs"]
mod sandbox;
pub use sandbox::{
    ack_curtailment, cancel_curtailment, curtail, feeder_target, issue_permit, revoke_permit,
    set_zone_sandbox, sign_curtailment_ack,
};

#[cfg(test)]
#[path = "builders_tests.rs"]
mod tests;
