//! Why a transaction or a block was refused. Every rule has its own
//! variant, with the fields that identify what was wrong.

use crate::crypto::{Hash, PublicKey};
use crate::feeder::{Attachee, FeederId};
use crate::state::{MeterStatus, StateError};
use crate::types::{
    AccountId, Height, Hour, MeterId, ProposalId, SiteId, Vintage, Watts, Wh, ZoneId,
};

/// Why a transaction was refused. A refused transaction changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// Signed for another chain.
    #[error("transaction is for chain {got}, this chain is {expected}")]
    WrongChain {
        /// This chain's id.
        expected: Hash,
        /// The transaction's.
        got: Hash,
    },
    /// The signer's signature does not verify.
    #[error("signature of signer {signer} does not verify")]
    BadSignature {
        /// The signer.
        signer: AccountId,
    },
    /// The transaction reached execution without a signature verdict that
    /// matches the state (a bug in the caller, or a key changed).
    #[error("signature verdict does not match transaction {tx}")]
    NotVerified {
        /// The transaction id.
        tx: Hash,
    },
    /// The signer is not a known account.
    #[error("signer {signer} is not a known account (no role, meter, site or balance)")]
    UnknownSigner {
        /// The signer.
        signer: AccountId,
    },
    /// The nonce is not the signer's next one.
    #[error("nonce {got} of {signer} is not the expected {expected}")]
    BadNonce {
        /// The signer.
        signer: AccountId,
        /// The nonce required.
        expected: u64,
        /// The nonce given.
        got: u64,
    },
    /// The signer lacks a required role.
    #[error("{signer} is not {role}")]
    NotPermitted {
        /// The signer.
        signer: AccountId,
        /// The role required, e.g. "an authority".
        role: &'static str,
    },
    /// An amount of zero.
    #[error("amount must be greater than zero")]
    ZeroAmount,
    /// Not enough unexpired, eligible credits.
    #[error("insufficient credits: {needed} Wh needed, {available} Wh available")]
    InsufficientBalance {
        /// What was needed.
        needed: Wh,
        /// What was available.
        available: Wh,
    },
    /// A named vintage is not held (or has expired).
    #[error("vintage {vintage} is not held by the signer")]
    VintageNotHeld {
        /// The vintage.
        vintage: Vintage,
    },
    /// A named vintage is not eligible for this use.
    #[error("vintage {vintage} is not eligible here")]
    VintageNotEligible {
        /// The vintage.
        vintage: Vintage,
    },
    /// A transfer creating an account carries less than the minimum.
    #[error("transfer of {amount} Wh to new account {to} is below the minimum of {minimum} Wh")]
    BelowNewAccountMinimum {
        /// The recipient.
        to: AccountId,
        /// The amount.
        amount: Wh,
        /// The chain's minimum.
        minimum: Wh,
    },
    /// A transfer to oneself.
    #[error("cannot transfer to oneself")]
    SelfTransfer,
    /// No zone with this id is in force.
    #[error("zone {zone} does not exist (or its first policy is not in force yet)")]
    UnknownZone {
        /// The zone.
        zone: ZoneId,
    },
    /// A serial number already registered.
    #[error("serial {serial:?} is already registered")]
    SerialInUse {
        /// The serial.
        serial: String,
    },
    /// A device key already in use by a meter or site.
    #[error("device key {key} is already in use")]
    DeviceKeyInUse {
        /// The key.
        key: PublicKey,
    },
    /// Capacity or max draw of zero.
    #[error("{field} must be greater than zero")]
    ZeroPower {
        /// The field.
        field: &'static str,
    },
    /// No meter with this id.
    #[error("meter {meter} does not exist")]
    UnknownMeter {
        /// The meter.
        meter: MeterId,
    },
    /// The signer does not operate this meter.
    #[error("{signer} is not the operator of meter {meter} (operator is {operator})")]
    NotMeterOperator {
        /// The meter.
        meter: MeterId,
        /// Its operator.
        operator: AccountId,
        /// The signer.
        signer: AccountId,
    },
    /// The meter is not in the status the action needs.
    #[error("meter {meter} is {status:?}")]
    MeterStatus {
        /// The meter.
        meter: MeterId,
        /// Its status.
        status: MeterStatus,
    },
    /// ApproveMeter for a meter with nothing to approve.
    #[error("meter {meter} has nothing pending approval")]
    NothingToApprove {
        /// The meter.
        meter: MeterId,
    },
    /// No readings in a reading transaction.
    #[error("transaction carries no readings")]
    NoReadings,
    /// More readings than the chain allows in one transaction.
    #[error("{count} readings exceed the limit of {max} per transaction")]
    TooManyReadings {
        /// Readings carried.
        count: usize,
        /// The limit.
        max: u32,
    },
    /// A reading's device signature does not verify under the key the
    /// state names.
    #[error("device signature of {device} reading {sequence} does not verify")]
    BadDeviceSignature {
        /// "meter 3" or "site 2".
        device: String,
        /// The reading's sequence number.
        sequence: u64,
    },
    /// A generation reading carries a status flag.
    #[error("meter {meter} reading {sequence} is flagged {flags:#05b} (tampered, substituted or out of range)")]
    ReadingFlagged {
        /// The meter.
        meter: MeterId,
        /// Its sequence number.
        sequence: u64,
        /// The flags.
        flags: u8,
    },
    /// The sequence number is not the last plus one.
    #[error("{device} reading out of order: expected sequence {expected_seq}, got {got_seq}")]
    ReadingOutOfOrder {
        /// "meter 3" or "site 2".
        device: String,
        /// The sequence required.
        expected_seq: u64,
        /// The sequence given.
        got_seq: u64,
    },
    /// The period's end is not after its start.
    #[error("{device} reading {sequence}: period end {end} is not after start {start}")]
    EmptyPeriod {
        /// "meter 3" or "site 2".
        device: String,
        /// The sequence number.
        sequence: u64,
        /// Period start.
        start: u64,
        /// Period end.
        end: u64,
    },
    /// The first reading does not start at the baseline time.
    #[error("meter {meter}: first reading starts at {got}, not at the baseline {baseline}")]
    FirstReadingNotAtBaseline {
        /// The meter.
        meter: MeterId,
        /// The baseline time.
        baseline: u64,
        /// The period start given.
        got: u64,
    },
    /// The period does not start where the last one ended.
    #[error("meter {meter}: period starts at {got}, the last one ended at {expected}")]
    PeriodGap {
        /// The meter.
        meter: MeterId,
        /// Where it should start.
        expected: u64,
        /// Where it starts.
        got: u64,
    },
    /// The period is not inside one UTC hour.
    #[error("meter {meter}: period [{start}, {end}) crosses an hour boundary")]
    PeriodCrossesHour {
        /// The meter.
        meter: MeterId,
        /// Period start.
        start: u64,
        /// Period end.
        end: u64,
    },
    /// The period ends later than block time plus the skew.
    #[error("{device} reading {sequence} ends at {end}, after the latest allowed {latest}")]
    ReadingInFuture {
        /// "meter 3" or "site 2".
        device: String,
        /// The sequence number.
        sequence: u64,
        /// Period end.
        end: u64,
        /// Block time plus skew.
        latest: u64,
    },
    /// The period ends earlier than block time minus the zone's max age.
    #[error("meter {meter} reading {sequence} ends at {end}, before the oldest allowed {oldest}")]
    ReadingTooOld {
        /// The meter.
        meter: MeterId,
        /// The sequence number.
        sequence: u64,
        /// Period end.
        end: u64,
        /// Block time minus max age.
        oldest: u64,
    },
    /// The generation counter went down.
    #[error("meter {meter} counter went down from {last} to {got}")]
    CounterWentDown {
        /// The meter.
        meter: MeterId,
        /// The previous counter.
        last: Wh,
        /// The new counter.
        got: Wh,
    },
    /// More energy than the capacity allows in the period.
    #[error("meter {meter} reading {sequence}: {delta} Wh in {duration_s} s exceeds capacity {capacity} W plus tolerance")]
    Implausible {
        /// The meter.
        meter: MeterId,
        /// The sequence number.
        sequence: u64,
        /// The energy claimed.
        delta: Wh,
        /// The nameplate capacity.
        capacity: Watts,
        /// The period length.
        duration_s: u64,
    },
    /// A resync baseline before the last period's end.
    #[error("meter {meter}: new baseline {got} is before the last period's end {last_end}")]
    ResyncBackwards {
        /// The meter.
        meter: MeterId,
        /// The last period's end.
        last_end: u64,
        /// The baseline given.
        got: u64,
    },
    /// A resync that would lower the meter's counter: a counter goes back
    /// only with a new device (ReplaceMeterKey, approved by a regulator).
    #[error("meter {meter}: a resync cannot lower the counter from {last} to {got}; a counter goes back only with a new device key (ReplaceMeterKey, approved by a regulator; docs/protocol.md §8.3, §8.4)")]
    ResyncCounterDown {
        /// The meter.
        meter: MeterId,
        /// The counter the next reading is measured from.
        last: Wh,
        /// The baseline counter given.
        got: Wh,
    },
    /// A baseline older than the zone's max age, or in the future.
    #[error("baseline time {got} is outside [{oldest}, {latest}]")]
    BaselineOutOfRange {
        /// The baseline given.
        got: u64,
        /// Block time minus max age.
        oldest: u64,
        /// Block time plus skew.
        latest: u64,
    },
    /// No site with this id.
    #[error("site {site} does not exist")]
    UnknownSite {
        /// The site.
        site: SiteId,
    },
    /// The signer does not own the site.
    #[error("{signer} does not own site {site}")]
    NotSiteOwner {
        /// The site.
        site: SiteId,
        /// The signer.
        signer: AccountId,
    },
    /// The site is revoked.
    #[error("site {site} is revoked")]
    SiteRevoked {
        /// The site.
        site: SiteId,
    },
    /// ReinstateSite for a site that is not suspended.
    #[error("site {site} is not suspended by the regulator or for an anomaly")]
    SiteNotSuspended {
        /// The site.
        site: SiteId,
    },
    /// The zone's mining cap would be exceeded.
    #[error("zone {zone}: live max draw {would_be} W would exceed the mining cap {cap} W")]
    MiningCapExceeded {
        /// The zone.
        zone: ZoneId,
        /// The cap.
        cap: Watts,
        /// Live max draw with the new site.
        would_be: Watts,
    },
    /// SettleShortfall for a site without a shortfall.
    #[error("site {site} has no shortfall")]
    NoShortfall {
        /// The site.
        site: SiteId,
    },
    /// A zone policy or chain parameter set that breaks a rule.
    #[error("invalid {field}: {reason}")]
    InvalidParameter {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No proposal with this id.
    #[error("proposal {proposal} does not exist")]
    UnknownProposal {
        /// The proposal.
        proposal: ProposalId,
    },
    /// The proposal is no longer open.
    #[error("proposal {proposal} is closed")]
    ProposalClosed {
        /// The proposal.
        proposal: ProposalId,
    },
    /// The voter already voted on this proposal.
    #[error("{voter} already voted on proposal {proposal}")]
    AlreadyVoted {
        /// The proposal.
        proposal: ProposalId,
        /// The voter.
        voter: AccountId,
    },
    /// A proof of possession does not verify.
    #[error("proof of possession for consensus key {key} does not verify")]
    BadProofOfPossession {
        /// The key.
        key: PublicKey,
    },
    /// The change conflicts with the current sets.
    #[error("governance change refused: {reason}")]
    BadGovernanceChange {
        /// Why.
        reason: String,
    },
    /// Evidence that does not prove equivocation.
    #[error("invalid evidence: {reason}")]
    InvalidEvidence {
        /// Why.
        reason: String,
    },
    /// No feeder with this id.
    #[error("feeder {feeder} does not exist")]
    UnknownFeeder {
        /// The feeder.
        feeder: FeederId,
    },
    /// A feeder with this id exists already.
    #[error("feeder {feeder} is already registered")]
    FeederExists {
        /// The feeder.
        feeder: FeederId,
    },
    /// A device attached to a feeder of another zone.
    #[error("{device} is in zone {zone}, the feeder is not")]
    FeederZone {
        /// The device.
        device: Attachee,
        /// Its zone.
        zone: ZoneId,
    },
    /// An attachment that would change a past or current hour.
    #[error("an attachment takes effect from hour {earliest} at the earliest, not {got}")]
    AttachmentTooEarly {
        /// The hour asked for.
        got: Hour,
        /// The next UTC hour of block time.
        earliest: Hour,
    },
    /// A head meter reading that breaks a rule of docs/protocol.md §17.
    #[error("feeder {feeder} head reading {sequence}: {reason}")]
    HeadReading {
        /// The feeder.
        feeder: FeederId,
        /// The reading's sequence.
        sequence: u64,
        /// What is wrong.
        reason: String,
    },
    /// A declared load that cannot be accepted.
    #[error("feeder {feeder} declared load for hour {hour}: {reason}")]
    DeclaredLoad {
        /// The feeder.
        feeder: FeederId,
        /// The hour.
        hour: Hour,
        /// What is wrong.
        reason: &'static str,
    },
    /// ClearFeederAlert on a feeder without an open alert.
    #[error("feeder {feeder} has no open alert")]
    NoFeederAlert {
        /// The feeder.
        feeder: FeederId,
    },
    /// A site without a permit, for RevokePermit.
    #[error("site {site} has no live permit")]
    NoPermit {
        /// The site.
        site: SiteId,
    },
    /// A permit or move that would take a feeder's live permits above its
    /// mining share of rated capacity.
    #[error(
        "feeder {feeder}: live permits would reach {would_be} W, above its mining share {limit} W"
    )]
    FeederShareFull {
        /// The feeder.
        feeder: FeederId,
        /// Rated capacity x mining share / 1000, W (rounded down).
        limit: Watts,
        /// The live permits' max power with this one.
        would_be: Watts,
    },
    /// A permit for a site attached to no feeder.
    #[error("site {site} is attached to no feeder; attach it before issuing a permit")]
    SiteOnNoFeeder {
        /// The site.
        site: SiteId,
    },
    /// The signer is not a grid operator of the zone.
    #[error("{signer} is not a grid operator of zone {zone}")]
    NotGridOperator {
        /// The signer.
        signer: AccountId,
        /// The zone.
        zone: ZoneId,
    },
    /// A curtailment window that breaks a rule.
    #[error("curtailment window [{start}, {end}): {reason}")]
    CurtailWindow {
        /// Start, unix seconds.
        start: u64,
        /// End, unix seconds.
        end: u64,
        /// What is wrong.
        reason: String,
    },
    /// No curtailment order with this number.
    #[error("curtailment order {order} does not exist")]
    UnknownOrder {
        /// The order.
        order: crate::sandbox::OrderId,
    },
    /// An order that can no longer be cancelled or acknowledged.
    #[error("curtailment order {order}: {reason}")]
    OrderClosed {
        /// The order.
        order: crate::sandbox::OrderId,
        /// Why.
        reason: &'static str,
    },
    /// An acknowledgement for a site the order does not affect, or twice.
    #[error("curtailment order {order}, site {site}: {reason}")]
    BadAck {
        /// The order.
        order: crate::sandbox::OrderId,
        /// The site.
        site: SiteId,
        /// Why.
        reason: &'static str,
    },
    /// Arithmetic overflow.
    #[error("arithmetic overflow in {what}")]
    Overflow {
        /// Where.
        what: &'static str,
    },
    /// The state could not be read.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Why a block could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// A transaction failed; valid blocks contain only succeeding ones.
    #[error("transaction {index} ({tx}) failed: {error}")]
    TxFailed {
        /// Its position in the block.
        index: usize,
        /// Its id.
        tx: Hash,
        /// Why.
        error: TxError,
    },
    /// The height is not the next one.
    #[error("block height {got} does not follow {last}")]
    WrongHeight {
        /// The last applied height.
        last: Height,
        /// The block's height.
        got: Height,
    },
    /// Time did not move forward.
    #[error("block time {got} ms is not after the previous block's {last} ms")]
    TimeNotIncreasing {
        /// The previous block time.
        last: u64,
        /// This block's time.
        got: u64,
    },
    /// Too many transactions or bytes.
    #[error("block exceeds the limit on {what}: {got} > {max}")]
    TooLarge {
        /// "transactions" or "bytes".
        what: &'static str,
        /// The block's figure.
        got: u64,
        /// The limit.
        max: u64,
    },
    /// A step of the block's own (expiry, deadlines, activations) failed:
    /// the state breaks an invariant the rules keep.
    #[error("a block step failed: {0}")]
    BlockStep(TxError),
    /// The state has no chain singleton (not initialised by genesis).
    #[error("state has no chain record; was genesis applied?")]
    NoGenesis,
    /// The state could not be read.
    #[error(transparent)]
    State(#[from] StateError),
}

impl From<crate::encoding::DecodeError> for StateError {
    fn from(e: crate::encoding::DecodeError) -> Self {
        StateError::Corrupt {
            key: String::new(),
            reason: e.to_string(),
        }
    }
}
