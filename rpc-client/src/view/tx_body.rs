//! The transaction body: what a transaction does, in both directions.

use super::{AuthorityChange, ConsumptionReading, GenerationReading, RegulatorChange, Signed};
use crate::view::{
    Attachee, CurtailTarget, CurtailmentAck, DeclaredLoad, FeederId, FeederReading, NewFeeder,
    PermitTerms, SignedVote,
};
use serde::{Deserialize, Serialize};
use watt_runtime::crypto::PublicKey;
use watt_runtime::tx as ledger;
use watt_runtime::types::{
    AccountId, ChainParams, Hour, MeterId, ProposalId, SiteId, Source, Vintage, Watts, Wh, ZoneId,
    ZonePolicy,
};

#[path = "tx_body_to_ledger.rs"]
mod to_ledger;

/// What a transaction does. The enum's variant order is its encoding tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "type"
)]
pub enum Body {
    /// 0: move credits to another account.
    Transfer {
        /// The recipient.
        to: AccountId,
        /// How many Wh.
        amount: Wh,
        /// Vintages to take from, in order; oldest eligible first if absent.
        vintages: Option<Vec<Vintage>>,
    },
    /// 1: burn credits as a claim for non-mining use.
    Retire {
        /// How many Wh.
        amount: Wh,
        /// Who the claim is made for.
        beneficiary: String,
        /// What the energy was used for.
        purpose: String,
        /// Vintages to take from, in order; oldest eligible first if absent.
        vintages: Option<Vec<Vintage>>,
    },
    /// 2: an authority registers a generation meter it will operate.
    RegisterMeter {
        /// The device's serial number, unique on the chain.
        serial: String,
        /// The meter's signing key, unique among all device keys.
        device_key: PublicKey,
        /// The producer who receives the credits.
        owner: AccountId,
        /// The generation source.
        source: Source,
        /// Nameplate capacity.
        capacity: Watts,
        /// The grid zone.
        zone: ZoneId,
        /// Unix seconds from which readings count.
        baseline_time: u64,
        /// The counter at the baseline time.
        baseline_counter: Wh,
    },
    /// 3: the regulator activates a pending meter, or a pending key change.
    ApproveMeter {
        /// The meter.
        meter: MeterId,
    },
    /// 4: the operator relays signed generation readings, which mint.
    SubmitReadings {
        /// The readings, in sequence order.
        readings: Vec<Signed<GenerationReading>>,
    },
    /// 5: the operator swaps a meter or rotates its key; pending approval.
    ReplaceMeterKey {
        /// The meter.
        meter: MeterId,
        /// The new device key.
        new_device_key: PublicKey,
        /// Where readings under the new key start.
        baseline_time: u64,
        /// The new device's counter at that time.
        baseline_counter: Wh,
    },
    /// 6: the operator re-baselines a meter after a gap; the gap's energy is
    /// forfeited.
    ResyncMeter {
        /// The meter.
        meter: MeterId,
        /// New baseline time, unix seconds.
        baseline_time: u64,
        /// Counter at the new baseline time.
        baseline_counter: Wh,
    },
    /// 7: the regulator hands a meter to another authority.
    TransferMeterOperator {
        /// The meter.
        meter: MeterId,
        /// The new operator (an authority's operator account).
        new_operator: AccountId,
    },
    /// 8: the operator or the regulator stops a meter for good.
    RevokeMeter {
        /// The meter.
        meter: MeterId,
        /// Why.
        reason: String,
    },
    /// 9: the regulator registers a mining site.
    RegisterSite {
        /// The site meter's serial number.
        serial: String,
        /// The site meter's signing key.
        device_key: PublicKey,
        /// The account whose credits the site burns.
        owner: AccountId,
        /// The grid zone.
        zone: ZoneId,
        /// The most the site may draw.
        max_draw: Watts,
        /// Unix seconds from which readings count.
        baseline_time: u64,
        /// The counter at the baseline time.
        baseline_counter: Wh,
    },
    /// 10: anyone relays signed consumption readings, which burn.
    SubmitConsumption {
        /// The readings, in sequence order.
        readings: Vec<Signed<ConsumptionReading>>,
    },
    /// 11: the site owner pays off a shortfall with the penalty.
    SettleShortfall {
        /// The site.
        site: SiteId,
        /// Vintages to take from, in order; oldest eligible first if absent.
        vintages: Option<Vec<Vintage>>,
    },
    /// 12: the regulator creates or updates a zone, from the next UTC hour.
    SetZonePolicy {
        /// The zone.
        zone: ZoneId,
        /// Its new policy.
        policy: ZonePolicy,
    },
    /// 13: the regulator suspends a site.
    SuspendSite {
        /// The site.
        site: SiteId,
        /// Why.
        reason: String,
    },
    /// 14: the regulator lifts a regulator, overdraw or anomaly suspension.
    ReinstateSite {
        /// The site.
        site: SiteId,
        /// Why.
        reason: String,
    },
    /// 15: the regulator revokes a site for good.
    RevokeSite {
        /// The site.
        site: SiteId,
        /// Why.
        reason: String,
    },
    /// 16: the regulator swaps a site's meter or key.
    ReplaceSiteKey {
        /// The site.
        site: SiteId,
        /// The new device key.
        new_device_key: PublicKey,
        /// Where readings under the new key start.
        baseline_time: u64,
        /// The new device's counter at that time.
        baseline_counter: Wh,
    },
    /// 17: the regulator removes credits issued in error.
    WithdrawCredits {
        /// The holder.
        account: AccountId,
        /// The vintage.
        vintage: Vintage,
        /// How many Wh.
        amount: Wh,
        /// Why, on the record.
        reason: String,
    },
    /// 18: an authority proposes a change to the authority set.
    ProposeAuthoritySet {
        /// The change.
        change: AuthorityChange,
    },
    /// 19: an authority or regulator proposes a change to the regulator set.
    ProposeRegulatorSet {
        /// The change.
        change: RegulatorChange,
    },
    /// 20: an authority or regulator proposes new chain parameters.
    ProposeChainParams {
        /// The full new parameter set.
        params: ChainParams,
    },
    /// 21: an authority or regulator votes on an open proposal.
    Vote {
        /// The proposal.
        proposal: ProposalId,
        /// Yes or no.
        approve: bool,
    },
    /// 22: anyone proves that a validator signed two conflicting votes.
    Evidence {
        /// One vote.
        first: SignedVote,
        /// A vote for the same height, round and kind with another value.
        second: SignedVote,
    },
    // The feeder bodies follow the JSON convention of docs/rpc.md: their
    // fields are camelCase.
    /// 23: the regulator registers a feeder with its head meter.
    #[serde(rename_all = "camelCase")]
    RegisterFeeder {
        /// The feeder.
        feeder: NewFeeder,
    },
    /// 24: the regulator attaches a meter or site to a feeder (or moves
    /// it), from a whole hour at or after the next one.
    #[serde(rename_all = "camelCase")]
    AttachToFeeder {
        /// The meter or site.
        device: Attachee,
        /// The feeder, in the device's zone.
        feeder: FeederId,
        /// The first hour whose energy goes to this feeder.
        from_hour: Hour,
    },
    /// 25: anyone relays a feeder head meter's signed readings.
    #[serde(rename_all = "camelCase")]
    SubmitFeederReadings {
        /// The readings, in sequence order.
        readings: Vec<Signed<FeederReading>>,
    },
    /// 26: anyone relays signed hourly declared loads.
    #[serde(rename_all = "camelCase")]
    SubmitDeclaredLoad {
        /// The aggregates.
        loads: Vec<Signed<DeclaredLoad>>,
    },
    /// 27: the regulator clears a feeder's unexplained-load alert.
    #[serde(rename_all = "camelCase")]
    ClearFeederAlert {
        /// The feeder.
        feeder: FeederId,
        /// Why, on the record.
        reason: String,
    },
    /// 28: the regulator brings an offline head meter back on a new
    /// baseline (the hours between are unmetered).
    #[serde(rename_all = "camelCase")]
    ResyncFeederMeter {
        /// The feeder.
        feeder: FeederId,
        /// Unix seconds on a whole hour, not before the last reading's end.
        baseline_time: u64,
        /// The import counter there.
        baseline_import: Wh,
        /// The export counter there.
        baseline_export: Wh,
    },
    /// 29: the regulator sets a zone's sandbox: whether mining needs a
    /// permit (from the next UTC hour) and who may order curtailment.
    #[serde(rename_all = "camelCase")]
    SetZoneSandbox {
        /// The zone.
        zone: ZoneId,
        /// Whether a site needs a live permit to consume.
        permits_required: bool,
        /// The zone's grid operators (replacing the previous list).
        grid_operators: Vec<AccountId>,
    },
    /// 30: the regulator issues (or replaces) a site's permit.
    #[serde(rename_all = "camelCase")]
    IssuePermit {
        /// The site.
        site: SiteId,
        /// What it may draw, when, and how much.
        terms: PermitTerms,
    },
    /// 31: the regulator revokes a site's permit.
    #[serde(rename_all = "camelCase")]
    RevokePermit {
        /// The site.
        site: SiteId,
        /// Why, on the record.
        reason: String,
    },
    /// 32: a grid operator orders mining down on a feeder or a zone.
    #[serde(rename_all = "camelCase")]
    Curtail {
        /// The feeder or zone.
        target: CurtailTarget,
        /// Window start, unix seconds, not before block time.
        start: u64,
        /// Window end, unix seconds, at most 24 h after the start.
        end: u64,
        /// The most all affected sites together may draw, W (a decimal
        /// string).
        #[serde(rename = "maxMiningW")]
        max_mining: Watts,
    },
    /// 33: a grid operator of the order's zone cancels it.
    #[serde(rename_all = "camelCase")]
    CancelCurtailment {
        /// The order number.
        order: u64,
    },
    /// 34: anyone relays a site owner's signed acknowledgement.
    #[serde(rename_all = "camelCase")]
    AckCurtailment {
        /// The acknowledgement, signed by the site's owner.
        ack: Signed<CurtailmentAck>,
    },
}

impl From<ledger::Body> for Body {
    fn from(v: ledger::Body) -> Self {
        match v {
            ledger::Body::Transfer {
                to,
                amount,
                vintages,
            } => Body::Transfer {
                to,
                amount,
                vintages: vintages.map(|v| v.into_inner()),
            },
            ledger::Body::Retire {
                amount,
                beneficiary,
                purpose,
                vintages,
            } => Body::Retire {
                amount,
                beneficiary: beneficiary.into(),
                purpose: purpose.into(),
                vintages: vintages.map(|v| v.into_inner()),
            },
            ledger::Body::RegisterMeter {
                serial,
                device_key,
                owner,
                source,
                capacity,
                zone,
                baseline_time,
                baseline_counter,
            } => Body::RegisterMeter {
                serial: serial.into(),
                device_key,
                owner,
                source,
                capacity,
                zone,
                baseline_time,
                baseline_counter,
            },
            ledger::Body::ApproveMeter { meter } => Body::ApproveMeter { meter },
            ledger::Body::SubmitReadings { readings } => Body::SubmitReadings {
                readings: readings.into_inner().into_iter().map(Into::into).collect(),
            },
            ledger::Body::ReplaceMeterKey {
                meter,
                new_device_key,
                baseline_time,
                baseline_counter,
            } => Body::ReplaceMeterKey {
                meter,
                new_device_key,
                baseline_time,
                baseline_counter,
            },
            ledger::Body::ResyncMeter {
                meter,
                baseline_time,
                baseline_counter,
            } => Body::ResyncMeter {
                meter,
                baseline_time,
                baseline_counter,
            },
            ledger::Body::TransferMeterOperator {
                meter,
                new_operator,
            } => Body::TransferMeterOperator {
                meter,
                new_operator,
            },
            ledger::Body::RevokeMeter { meter, reason } => Body::RevokeMeter {
                meter,
                reason: reason.into(),
            },
            ledger::Body::RegisterSite {
                serial,
                device_key,
                owner,
                zone,
                max_draw,
                baseline_time,
                baseline_counter,
            } => Body::RegisterSite {
                serial: serial.into(),
                device_key,
                owner,
                zone,
                max_draw,
                baseline_time,
                baseline_counter,
            },
            ledger::Body::SubmitConsumption { readings } => Body::SubmitConsumption {
                readings: readings.into_inner().into_iter().map(Into::into).collect(),
            },
            ledger::Body::SettleShortfall { site, vintages } => Body::SettleShortfall {
                site,
                vintages: vintages.map(|v| v.into_inner()),
            },
            ledger::Body::SetZonePolicy { zone, policy } => Body::SetZonePolicy { zone, policy },
            ledger::Body::SuspendSite { site, reason } => Body::SuspendSite {
                site,
                reason: reason.into(),
            },
            ledger::Body::ReinstateSite { site, reason } => Body::ReinstateSite {
                site,
                reason: reason.into(),
            },
            ledger::Body::RevokeSite { site, reason } => Body::RevokeSite {
                site,
                reason: reason.into(),
            },
            ledger::Body::ReplaceSiteKey {
                site,
                new_device_key,
                baseline_time,
                baseline_counter,
            } => Body::ReplaceSiteKey {
                site,
                new_device_key,
                baseline_time,
                baseline_counter,
            },
            ledger::Body::WithdrawCredits {
                account,
                vintage,
                amount,
                reason,
            } => Body::WithdrawCredits {
                account,
                vintage,
                amount,
                reason: reason.into(),
            },
            ledger::Body::ProposeAuthoritySet { change } => Body::ProposeAuthoritySet {
                change: change.into(),
            },
            ledger::Body::ProposeRegulatorSet { change } => Body::ProposeRegulatorSet {
                change: change.into(),
            },
            ledger::Body::ProposeChainParams { params } => Body::ProposeChainParams { params },
            ledger::Body::Vote { proposal, approve } => Body::Vote { proposal, approve },
            ledger::Body::Evidence { first, second } => Body::Evidence {
                first: first.into(),
                second: second.into(),
            },
            ledger::Body::RegisterFeeder { feeder } => Body::RegisterFeeder {
                feeder: feeder.into(),
            },
            ledger::Body::AttachToFeeder {
                device,
                feeder,
                from_hour,
            } => Body::AttachToFeeder {
                device: device.into(),
                feeder: feeder.into(),
                from_hour,
            },
            ledger::Body::SubmitFeederReadings { readings } => Body::SubmitFeederReadings {
                readings: readings.into_inner().into_iter().map(Into::into).collect(),
            },
            ledger::Body::SubmitDeclaredLoad { loads } => Body::SubmitDeclaredLoad {
                loads: loads.into_inner().into_iter().map(Into::into).collect(),
            },
            ledger::Body::SetZoneSandbox {
                zone,
                permits_required,
                grid_operators,
            } => Body::SetZoneSandbox {
                zone,
                permits_required,
                grid_operators: grid_operators.into_inner(),
            },
            ledger::Body::IssuePermit { site, terms } => Body::IssuePermit {
                site,
                terms: terms.into(),
            },
            ledger::Body::RevokePermit { site, reason } => Body::RevokePermit {
                site,
                reason: reason.into(),
            },
            ledger::Body::Curtail {
                target,
                start,
                end,
                max_mining,
            } => Body::Curtail {
                target: target.into(),
                start,
                end,
                max_mining,
            },
            ledger::Body::CancelCurtailment { order } => Body::CancelCurtailment { order: order.0 },
            ledger::Body::AckCurtailment { ack } => Body::AckCurtailment { ack: ack.into() },
            ledger::Body::ClearFeederAlert { feeder, reason } => Body::ClearFeederAlert {
                feeder: feeder.into(),
                reason: reason.into(),
            },
            ledger::Body::ResyncFeederMeter {
                feeder,
                baseline_time,
                baseline_import,
                baseline_export,
            } => Body::ResyncFeederMeter {
                feeder: feeder.into(),
                baseline_time,
                baseline_import,
                baseline_export,
            },
        }
    }
}
