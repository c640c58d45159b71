//! Events: the audit trail.

use super::{
    Attachee, BalanceStatus, CurtailTarget, FeederId, PermitTerms, SiteShare, ViolationKind,
};
use serde::{Deserialize, Serialize};
use watt_runtime::crypto::{Hash, PublicKey};
use watt_runtime::events as ledger;
use watt_runtime::events::Parts;
use watt_runtime::types::{
    AccountId, Bucket, Height, Hour, MeterId, ProposalId, RetirementId, SiteId, Source, Vintage,
    Watts, Wh, ZoneId,
};

#[path = "events_from_ledger.rs"]
mod from_ledger;

/// Something that happened to the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum Event {
    /// Credits minted from a generation reading.
    Minted {
        /// The meter.
        meter: MeterId,
        /// Its reading's sequence number.
        sequence: u64,
        /// The producer credited.
        owner: AccountId,
        /// The vintage minted.
        vintage: Vintage,
        /// The source.
        source: Source,
        /// How much.
        amount: Wh,
    },
    /// Credits moved between accounts.
    Transferred {
        /// Sender.
        from: AccountId,
        /// Recipient.
        to: AccountId,
        /// Vintages moved.
        parts: Parts,
    },
    /// Credits retired for a non-mining claim.
    Retired {
        /// The record.
        id: RetirementId,
        /// The account.
        account: AccountId,
        /// Vintages consumed.
        parts: Parts,
    },
    /// A consumption reading was recorded.
    Consumed {
        /// The site.
        site: SiteId,
        /// Its reading's sequence number.
        sequence: u64,
        /// The hour the energy is attributed to.
        hour: Hour,
        /// The bucket it must be matched in.
        bucket: Bucket,
        /// Energy drawn.
        amount: Wh,
    },
    /// Credits burned for a site's consumption (at once or settling a debt)
    /// or for a shortfall settlement.
    Burned {
        /// The site.
        site: SiteId,
        /// The owner whose credits burned.
        owner: AccountId,
        /// Vintages consumed.
        parts: Parts,
    },
    /// Consumption that could not be covered became (or grew) an open debt.
    DebtOpened {
        /// The site.
        site: SiteId,
        /// The bucket.
        bucket: Bucket,
        /// The uncovered amount added.
        amount: Wh,
        /// When it turns into a shortfall (unix seconds).
        deadline: u64,
    },
    /// Credits arriving later covered (part of) an open debt.
    DebtSettled {
        /// The site.
        site: SiteId,
        /// The bucket.
        bucket: Bucket,
        /// The amount covered.
        amount: Wh,
        /// What is still open.
        remaining: Wh,
    },
    /// An open debt passed its deadline and became a shortfall.
    ShortfallRecorded {
        /// The site.
        site: SiteId,
        /// The bucket.
        bucket: Bucket,
        /// The amount.
        amount: Wh,
    },
    /// The owner paid off a shortfall with the penalty.
    ShortfallSettled {
        /// The site.
        site: SiteId,
        /// The shortfall cleared.
        shortfall: Wh,
        /// What was burned (shortfall times penalty, rounded up).
        cost: Wh,
    },
    /// A rule was broken; the site is suspended (or the record is kept).
    Violation {
        /// The site.
        site: SiteId,
        /// What happened.
        violation: ViolationKind,
        /// The reading's sequence number, when a reading caused it.
        sequence: Option<u64>,
        /// A human-readable detail.
        detail: String,
    },
    /// Credits expired at the end of their lifetime.
    Expired {
        /// The holder.
        account: AccountId,
        /// The vintage.
        vintage: Vintage,
        /// How much.
        amount: Wh,
    },
    /// The regulator withdrew credits issued in error.
    Withdrawn {
        /// The holder.
        account: AccountId,
        /// The vintage.
        vintage: Vintage,
        /// How much.
        amount: Wh,
        /// Why.
        reason: String,
    },
    /// A meter was registered (pending approval).
    MeterRegistered {
        /// Its id.
        meter: MeterId,
        /// Its operator.
        operator: AccountId,
        /// Its owner.
        owner: AccountId,
        /// Its zone.
        zone: ZoneId,
        /// Its source.
        source: Source,
        /// Its capacity.
        capacity: Watts,
    },
    /// A meter or its pending key was approved.
    MeterApproved {
        /// The meter.
        meter: MeterId,
        /// The device key now in force.
        device_key: PublicKey,
    },
    /// A device key change awaits approval.
    MeterKeyReplaced {
        /// The meter.
        meter: MeterId,
        /// The pending key.
        new_device_key: PublicKey,
        /// The counter the next reading would be measured from now.
        old_counter: Wh,
        /// The new device's baseline counter (may be lower: a new device).
        new_counter: Wh,
    },
    /// A meter was re-baselined; the gap's energy is forfeited.
    MeterResynced {
        /// The meter.
        meter: MeterId,
        /// The new baseline time.
        baseline_time: u64,
        /// Energy between the last counter and the new baseline counter that
        /// will never mint (0 if the counter did not advance).
        forfeited: Wh,
    },
    /// A meter got a new operator.
    MeterOperatorChanged {
        /// The meter.
        meter: MeterId,
        /// The new operator.
        operator: AccountId,
    },
    /// A meter was revoked.
    MeterRevoked {
        /// The meter.
        meter: MeterId,
        /// Why.
        reason: String,
    },
    /// A site was registered.
    SiteRegistered {
        /// Its id.
        site: SiteId,
        /// Its owner.
        owner: AccountId,
        /// Its zone.
        zone: ZoneId,
        /// Its max draw.
        max_draw: Watts,
    },
    /// The regulator suspended a site.
    SiteSuspended {
        /// The site.
        site: SiteId,
        /// Why.
        reason: String,
    },
    /// The regulator reinstated a site.
    SiteReinstated {
        /// The site.
        site: SiteId,
        /// Why.
        reason: String,
    },
    /// The regulator revoked a site.
    SiteRevoked {
        /// The site.
        site: SiteId,
        /// Why.
        reason: String,
    },
    /// A site's meter key was replaced.
    SiteKeyReplaced {
        /// The site.
        site: SiteId,
        /// The new key.
        new_device_key: PublicKey,
    },
    /// A zone policy was set; it applies from `effective_hour`.
    ZonePolicySet {
        /// The zone.
        zone: ZoneId,
        /// The first hour it applies in.
        effective_hour: Hour,
    },
    /// A pending zone policy took effect.
    ZonePolicyActivated {
        /// The zone.
        zone: ZoneId,
    },
    /// A governance proposal was made.
    ProposalCreated {
        /// Its id.
        proposal: ProposalId,
        /// Who made it.
        proposer: AccountId,
    },
    /// A vote was cast.
    Voted {
        /// The proposal.
        proposal: ProposalId,
        /// The voter.
        voter: AccountId,
        /// Yes or no.
        approve: bool,
    },
    /// A proposal passed; its change applies at `activation`.
    ProposalPassed {
        /// The proposal.
        proposal: ProposalId,
        /// The first height at which it is in force.
        activation: Height,
    },
    /// A proposal can no longer pass.
    ProposalRejected {
        /// The proposal.
        proposal: ProposalId,
    },
    /// A proposal expired undecided.
    ProposalExpired {
        /// The proposal.
        proposal: ProposalId,
    },
    /// Proven equivocation; the authority loses its role at `activation`.
    EquivocationProven {
        /// The validator's consensus key.
        consensus_key: PublicKey,
        /// Its operator account.
        operator: AccountId,
        /// The height of the conflicting votes.
        height: Height,
        /// The first height without its role.
        activation: Height,
    },
    /// The authority set changed (in force from this block's next height).
    AuthoritiesChanged {
        /// The new validator-set hash.
        validator_set_hash: Hash,
        /// Number of authorities.
        count: u32,
    },
    /// The regulator set changed.
    RegulatorsChanged {
        /// Number of regulators.
        count: u32,
    },
    /// New chain parameters are in force.
    ParamsChanged,
    // The feeder events follow the JSON convention of docs/rpc.md: their
    // fields are camelCase, u64 amounts and the residual decimal strings.
    /// A regulator registered a feeder.
    #[serde(rename_all = "camelCase")]
    FeederRegistered {
        /// The feeder.
        feeder: FeederId,
        /// Its zone.
        zone: ZoneId,
        /// Its rated capacity, W (a decimal string).
        rated_capacity: Watts,
        /// The first hour it balances.
        first_hour: Hour,
    },
    /// A regulator attached a meter or site to a feeder from an hour.
    #[serde(rename_all = "camelCase")]
    FeederAttached {
        /// The meter or site.
        device: Attachee,
        /// The feeder.
        feeder: FeederId,
        /// The first hour whose energy goes there.
        from_hour: Hour,
    },
    /// A regulator resynced a feeder's head meter.
    #[serde(rename_all = "camelCase")]
    FeederMeterResynced {
        /// The feeder.
        feeder: FeederId,
        /// The new baseline, unix seconds.
        baseline_time: u64,
    },
    /// A head meter reading's counter went down: it counts 0 and its hour
    /// is unmetered.
    #[serde(rename_all = "camelCase")]
    FeederCounterWentDown {
        /// The feeder.
        feeder: FeederId,
        /// The reading's sequence.
        sequence: u64,
        /// Which counter, "import" or "export".
        counter: String,
    },
    /// An hour of a feeder closed.
    #[serde(rename_all = "camelCase")]
    FeederBalance {
        /// The feeder.
        feeder: FeederId,
        /// The hour.
        hour: Hour,
        /// Energy in from upstream.
        import: Wh,
        /// Surplus pushed upstream.
        export: Wh,
        /// The feeder's meters' generation.
        generation: Wh,
        /// The feeder's sites' registered consumption.
        consumption: Wh,
        /// The declared load of ordinary customers.
        declared: Wh,
        /// The technical losses allowed.
        allowance: Wh,
        /// import - export + generation - consumption - declared - allowance
        /// (a decimal string, `-` when negative).
        #[serde(with = "super::feeder::dec_i128")]
        unexplained: i128,
        /// The verdict.
        status: BalanceStatus,
    },
    /// A feeder's unexplained-load alert opened or grew.
    #[serde(rename_all = "camelCase")]
    UnexplainedLoad {
        /// The feeder.
        feeder: FeederId,
        /// The first unexplained hour.
        from_hour: Hour,
        /// The last unexplained hour so far.
        through_hour: Hour,
        /// How many unexplained hours.
        hours: u32,
        /// Their unexplained energy.
        unexplained: Wh,
    },
    /// A regulator cleared a feeder's alert.
    #[serde(rename_all = "camelCase")]
    FeederAlertCleared {
        /// The feeder.
        feeder: FeederId,
        /// The alert's first hour.
        from_hour: Hour,
        /// Its last hour.
        through_hour: Hour,
        /// Why, on the record.
        reason: String,
    },
    /// An hour's registered consumption or import exceeded the feeder's
    /// rated capacity over that hour.
    #[serde(rename_all = "camelCase")]
    FeederOverload {
        /// The feeder.
        feeder: FeederId,
        /// The hour.
        hour: Hour,
        /// Import in the hour.
        import: Wh,
        /// Registered consumption in the hour.
        consumption: Wh,
        /// Rated capacity x 1 h.
        capacity: Wh,
    },
    /// Consumption for a feeder hour that had already closed (still burned).
    #[serde(rename_all = "camelCase")]
    LateFeederConsumption {
        /// The feeder.
        feeder: FeederId,
        /// The site.
        site: SiteId,
        /// The closed hour.
        hour: Hour,
        /// The energy.
        amount: Wh,
    },
    /// Generation for a feeder hour that had already closed (still minted).
    #[serde(rename_all = "camelCase")]
    LateFeederGeneration {
        /// The feeder.
        feeder: FeederId,
        /// The meter.
        meter: MeterId,
        /// The closed hour.
        hour: Hour,
        /// The energy.
        amount: Wh,
    },
    /// A regulator set a zone's sandbox.
    #[serde(rename_all = "camelCase")]
    ZoneSandboxSet {
        /// The zone.
        zone: ZoneId,
        /// Consumption from this hour on needs a live permit (`null`: no
        /// permits required).
        permits_from: Option<Hour>,
        /// Who may order curtailment there.
        grid_operators: Vec<AccountId>,
    },
    /// A regulator issued (or replaced) a site's permit.
    #[serde(rename_all = "camelCase")]
    PermitIssued {
        /// The site.
        site: SiteId,
        /// The feeder whose mining share it takes.
        feeder: FeederId,
        /// What it grants.
        terms: PermitTerms,
    },
    /// A regulator revoked a site's permit.
    #[serde(rename_all = "camelCase")]
    PermitRevoked {
        /// The site.
        site: SiteId,
        /// Why.
        reason: String,
    },
    /// A grid operator ordered mining down; the shares are fixed here.
    #[serde(rename_all = "camelCase")]
    CurtailmentOrdered {
        /// The order number.
        order: u64,
        /// What it covers.
        target: CurtailTarget,
        /// The target's zone.
        zone: ZoneId,
        /// Window start, unix seconds.
        start: u64,
        /// Window end, unix seconds.
        end: u64,
        /// The most all affected sites together may draw, W (a decimal
        /// string).
        #[serde(rename = "maxMiningW")]
        max_mining: Watts,
        /// Each affected site's share, in site order.
        shares: Vec<SiteShare>,
    },
    /// A grid operator cancelled an order.
    #[serde(rename_all = "camelCase")]
    CurtailmentCancelled {
        /// The order number.
        order: u64,
        /// Block time of the cancel, unix seconds.
        at: u64,
        /// Whether verdicts follow (cancelled during the window).
        judged: bool,
    },
    /// A site owner acknowledged an order.
    #[serde(rename_all = "camelCase")]
    CurtailmentAcknowledged {
        /// The order number.
        order: u64,
        /// The site.
        site: SiteId,
        /// When the owner saw it, unix seconds.
        seen_at: u64,
    },
    /// An affected site's verdict.
    #[serde(rename_all = "camelCase")]
    CurtailmentVerdict {
        /// The order number.
        order: u64,
        /// The site.
        site: SiteId,
        /// Its share, W (a decimal string).
        #[serde(rename = "shareW")]
        share: Watts,
        /// The judged window's start.
        start: u64,
        /// The judged window's end.
        end: u64,
        /// Its consumption in the window, pro rata by seconds.
        used: Wh,
        /// What the share allowed with the zone's tolerance.
        allowed: Wh,
        /// Whether its readings reached the window's end.
        reported: bool,
        /// Honoured or breached.
        honoured: bool,
    },
}

/// An event with the index of the transaction that emitted it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    /// The transaction's index in its block, or `None` for the block's own
    /// steps (expiry, deadlines, activations).
    pub tx_index: Option<u32>,
    /// The event.
    pub event: Event,
}

impl From<ledger::EventRecord> for EventRecord {
    fn from(v: ledger::EventRecord) -> Self {
        EventRecord {
            tx_index: v.tx_index,
            event: v.event.into(),
        }
    }
}

impl Event {
    /// The event's kind, as its JSON `kind` field names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Minted { .. } => "minted",
            Event::Transferred { .. } => "transferred",
            Event::Retired { .. } => "retired",
            Event::Consumed { .. } => "consumed",
            Event::Burned { .. } => "burned",
            Event::DebtOpened { .. } => "debtOpened",
            Event::DebtSettled { .. } => "debtSettled",
            Event::ShortfallRecorded { .. } => "shortfallRecorded",
            Event::ShortfallSettled { .. } => "shortfallSettled",
            Event::Violation { .. } => "violation",
            Event::Expired { .. } => "expired",
            Event::Withdrawn { .. } => "withdrawn",
            Event::MeterRegistered { .. } => "meterRegistered",
            Event::MeterApproved { .. } => "meterApproved",
            Event::MeterKeyReplaced { .. } => "meterKeyReplaced",
            Event::MeterResynced { .. } => "meterResynced",
            Event::MeterOperatorChanged { .. } => "meterOperatorChanged",
            Event::MeterRevoked { .. } => "meterRevoked",
            Event::SiteRegistered { .. } => "siteRegistered",
            Event::SiteSuspended { .. } => "siteSuspended",
            Event::SiteReinstated { .. } => "siteReinstated",
            Event::SiteRevoked { .. } => "siteRevoked",
            Event::SiteKeyReplaced { .. } => "siteKeyReplaced",
            Event::ZonePolicySet { .. } => "zonePolicySet",
            Event::ZonePolicyActivated { .. } => "zonePolicyActivated",
            Event::ProposalCreated { .. } => "proposalCreated",
            Event::Voted { .. } => "voted",
            Event::ProposalPassed { .. } => "proposalPassed",
            Event::ProposalRejected { .. } => "proposalRejected",
            Event::ProposalExpired { .. } => "proposalExpired",
            Event::EquivocationProven { .. } => "equivocationProven",
            Event::AuthoritiesChanged { .. } => "authoritiesChanged",
            Event::RegulatorsChanged { .. } => "regulatorsChanged",
            Event::ParamsChanged => "paramsChanged",
            Event::FeederRegistered { .. } => "feederRegistered",
            Event::FeederAttached { .. } => "feederAttached",
            Event::FeederMeterResynced { .. } => "feederMeterResynced",
            Event::FeederCounterWentDown { .. } => "feederCounterWentDown",
            Event::FeederBalance { .. } => "feederBalance",
            Event::UnexplainedLoad { .. } => "unexplainedLoad",
            Event::FeederAlertCleared { .. } => "feederAlertCleared",
            Event::FeederOverload { .. } => "feederOverload",
            Event::LateFeederConsumption { .. } => "lateFeederConsumption",
            Event::LateFeederGeneration { .. } => "lateFeederGeneration",
            Event::ZoneSandboxSet { .. } => "zoneSandboxSet",
            Event::PermitIssued { .. } => "permitIssued",
            Event::PermitRevoked { .. } => "permitRevoked",
            Event::CurtailmentOrdered { .. } => "curtailmentOrdered",
            Event::CurtailmentCancelled { .. } => "curtailmentCancelled",
            Event::CurtailmentAcknowledged { .. } => "curtailmentAcknowledged",
            Event::CurtailmentVerdict { .. } => "curtailmentVerdict",
        }
    }
}
