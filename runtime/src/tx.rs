//! Transactions and the signed meter readings they carry.
//!
//! A transaction's signer signs `Domain::Tx` hash of the encoding of
//! [`UnsignedTx`] (which carries the chain id). A meter signs
//! `Domain::GenerationReading` (or `ConsumptionReading`) signing hash of the
//! reading's encoding, prefixed by the chain id. A transaction's identity is
//! `Domain::TxId` hash of its full signed encoding.

use crate::block::SignedVote;
use crate::crypto::{Domain, Hash, Keypair, PublicKey, SigCheck, Signature};
use crate::encoding::{encode, BoundedString, BoundedVec};
use crate::feeder::{Attachee, DeclaredLoad, FeederId, FeederReading, NewFeeder, MAX_DECLARED};
use crate::sandbox::{CurtailTarget, CurtailmentAck, OrderId, PermitTerms, MAX_GRID_OPERATORS};
use crate::types::{
    AccountId, ChainParams, Hour, MeterId, ProposalId, SiteId, Source, Vintage, Watts, Wh, ZoneId,
    ZonePolicy,
};
use borsh::{BorshDeserialize, BorshSerialize};

/// Most readings any one transaction can carry on the wire; the chain
/// parameter `max_readings_per_tx` sets the effective, lower limit.
pub const MAX_READINGS: usize = 1024;
/// Most vintages a caller can name in one transfer, retirement or settlement.
pub const MAX_NAMED_VINTAGES: usize = 256;
/// Longest serial number of a meter or site, in bytes.
pub const MAX_SERIAL: usize = 64;
/// Longest free-text reason, beneficiary or name, in bytes.
pub const MAX_TEXT: usize = 256;

/// A short free-text field (reason, purpose, beneficiary, name).
pub type Text = BoundedString<MAX_TEXT>;
/// A device serial number.
pub type Serial = BoundedString<MAX_SERIAL>;
/// Vintages named by a caller, taken in the order given.
pub type NamedVintages = Option<BoundedVec<Vintage, MAX_NAMED_VINTAGES>>;

/// Reading flag: the meter detected tampering.
pub const FLAG_TAMPERED: u8 = 0b001;
/// Reading flag: the value was substituted (estimated), not measured.
pub const FLAG_SUBSTITUTED: u8 = 0b010;
/// Reading flag: the measurement was out of the meter's range.
pub const FLAG_OUT_OF_RANGE: u8 = 0b100;
/// Every flag a reading may carry; other bits are malformed.
pub const FLAGS_KNOWN: u8 = FLAG_TAMPERED | FLAG_SUBSTITUTED | FLAG_OUT_OF_RANGE;

/// An interval reading of a generation meter, as the meter signs it.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct GenerationReading {
    /// The meter that measured.
    pub meter: MeterId,
    /// The meter's reading sequence number: the previous one plus 1.
    pub sequence: u64,
    /// Period start, unix seconds (inclusive).
    pub period_start: u64,
    /// Period end, unix seconds (exclusive).
    pub period_end: u64,
    /// The meter's cumulative energy counter at period end.
    pub counter: Wh,
    /// Status flags (`FLAG_*`).
    pub flags: u8,
}

/// An interval reading of a mining site's consumption meter.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ConsumptionReading {
    /// The site that consumed.
    pub site: SiteId,
    /// The site meter's reading sequence number: the previous one plus 1.
    pub sequence: u64,
    /// Period start, unix seconds (inclusive).
    pub period_start: u64,
    /// Period end, unix seconds (exclusive).
    pub period_end: u64,
    /// The meter's cumulative energy counter at period end.
    pub counter: Wh,
    /// Status flags (`FLAG_*`).
    pub flags: u8,
}

/// A reading with the device's signature.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Signed<R> {
    /// The reading.
    pub reading: R,
    /// The device's signature over its signing hash.
    pub signature: Signature,
}

impl GenerationReading {
    /// The 32-byte message the meter signs.
    pub fn signing_hash(&self, chain_id: &Hash) -> Hash {
        Domain::GenerationReading.signing_hash(chain_id, &encode(self))
    }
    /// Signs with a device key.
    pub fn sign(self, chain_id: &Hash, key: &Keypair) -> Signed<Self> {
        let signature = key.sign(&self.signing_hash(chain_id));
        Signed {
            reading: self,
            signature,
        }
    }
}

impl ConsumptionReading {
    /// The 32-byte message the site meter signs.
    pub fn signing_hash(&self, chain_id: &Hash) -> Hash {
        Domain::ConsumptionReading.signing_hash(chain_id, &encode(self))
    }
    /// Signs with a device key.
    pub fn sign(self, chain_id: &Hash, key: &Keypair) -> Signed<Self> {
        let signature = key.sign(&self.signing_hash(chain_id));
        Signed {
            reading: self,
            signature,
        }
    }
}

/// A proof that the holder of a consensus key agrees to act for an operator
/// account: the consensus key's signature over
/// `Domain::ProofOfPossession` signing hash of `operator || consensus_key`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ProofOfPossession {
    /// Signature by the consensus key.
    pub signature: Signature,
}

impl ProofOfPossession {
    /// The message the consensus key signs.
    pub fn signing_hash(chain_id: &Hash, operator: &AccountId, key: &PublicKey) -> Hash {
        Domain::ProofOfPossession.signing_hash(chain_id, &encode(&(operator, key)))
    }
    /// Makes a proof with the consensus keypair.
    pub fn create(chain_id: &Hash, operator: &AccountId, key: &Keypair) -> Self {
        ProofOfPossession {
            signature: key.sign(&Self::signing_hash(chain_id, operator, &key.public())),
        }
    }
}

/// A change to the authority (validator) set.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum AuthorityChange {
    /// Add an authority with its operator account and consensus key.
    Add {
        /// The new authority's stable operator account.
        operator: AccountId,
        /// The key it signs consensus messages with.
        consensus_key: PublicKey,
        /// A human-readable name.
        name: Text,
        /// The consensus key's proof of possession.
        proof: ProofOfPossession,
    },
    /// Remove the authority with this operator account.
    Remove {
        /// The authority's operator account.
        operator: AccountId,
    },
    /// Give an authority a new consensus key.
    Rotate {
        /// The authority's operator account.
        operator: AccountId,
        /// The new consensus key.
        consensus_key: PublicKey,
        /// The new key's proof of possession.
        proof: ProofOfPossession,
    },
}

/// A change to the regulator set.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum RegulatorChange {
    /// Add a regulator account.
    Add {
        /// The account.
        account: AccountId,
    },
    /// Remove a regulator account.
    Remove {
        /// The account.
        account: AccountId,
    },
}

/// What a transaction does. The enum's variant order is its encoding tag.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum Body {
    /// 0: move credits to another account.
    Transfer {
        /// The recipient.
        to: AccountId,
        /// How many Wh.
        amount: Wh,
        /// Vintages to take from, in order; oldest eligible first if absent.
        vintages: NamedVintages,
    },
    /// 1: burn credits as a claim for non-mining use.
    Retire {
        /// How many Wh.
        amount: Wh,
        /// Who the claim is made for.
        beneficiary: Text,
        /// What the energy was used for.
        purpose: Text,
        /// Vintages to take from, in order; oldest eligible first if absent.
        vintages: NamedVintages,
    },
    /// 2: an authority registers a generation meter it will operate.
    RegisterMeter {
        /// The device's serial number, unique on the chain.
        serial: Serial,
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
        readings: BoundedVec<Signed<GenerationReading>, MAX_READINGS>,
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
        reason: Text,
    },
    /// 9: the regulator registers a mining site.
    RegisterSite {
        /// The site meter's serial number.
        serial: Serial,
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
        readings: BoundedVec<Signed<ConsumptionReading>, MAX_READINGS>,
    },
    /// 11: the site owner pays off a shortfall with the penalty.
    SettleShortfall {
        /// The site.
        site: SiteId,
        /// Vintages to take from, in order; oldest eligible first if absent.
        vintages: NamedVintages,
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
        reason: Text,
    },
    /// 14: the regulator lifts a regulator, overdraw or anomaly suspension.
    ReinstateSite {
        /// The site.
        site: SiteId,
        /// Why.
        reason: Text,
    },
    /// 15: the regulator revokes a site for good.
    RevokeSite {
        /// The site.
        site: SiteId,
        /// Why.
        reason: Text,
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
        reason: Text,
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
    /// 23: the regulator registers a feeder with its head meter.
    RegisterFeeder {
        /// The feeder.
        feeder: NewFeeder,
    },
    /// 24: the regulator attaches a meter or site to a feeder (or moves
    /// it), from a whole hour at or after the next one.
    AttachToFeeder {
        /// The meter or site.
        device: Attachee,
        /// The feeder, in the device's zone.
        feeder: FeederId,
        /// The first hour whose energy goes to this feeder.
        from_hour: Hour,
    },
    /// 25: anyone relays a feeder head meter's signed readings.
    SubmitFeederReadings {
        /// The readings, in sequence order.
        readings: BoundedVec<Signed<FeederReading>, MAX_READINGS>,
    },
    /// 26: anyone relays signed hourly declared loads.
    SubmitDeclaredLoad {
        /// The aggregates.
        loads: BoundedVec<Signed<DeclaredLoad>, MAX_DECLARED>,
    },
    /// 27: the regulator clears a feeder's unexplained-load alert.
    ClearFeederAlert {
        /// The feeder.
        feeder: FeederId,
        /// Why, on the record.
        reason: Text,
    },
    /// 28: the regulator brings an offline head meter back on a new
    /// baseline (the hours between are unmetered).
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
    /// permit (for consumption from the next UTC hour) and who may order
    /// curtailment there.
    SetZoneSandbox {
        /// The zone.
        zone: ZoneId,
        /// Whether a site needs a live permit to consume.
        permits_required: bool,
        /// The zone's grid operators (replacing the previous list).
        grid_operators: BoundedVec<AccountId, MAX_GRID_OPERATORS>,
    },
    /// 30: the regulator issues (or replaces) a site's permit on the
    /// feeder it is attached to.
    IssuePermit {
        /// The site.
        site: SiteId,
        /// What it may draw, when, and how much.
        terms: PermitTerms,
    },
    /// 31: the regulator revokes a site's permit.
    RevokePermit {
        /// The site.
        site: SiteId,
        /// Why, on the record.
        reason: Text,
    },
    /// 32: a grid operator orders mining down on a feeder or a zone.
    Curtail {
        /// The feeder or zone.
        target: CurtailTarget,
        /// Window start, unix seconds, not before block time.
        start: u64,
        /// Window end, unix seconds, at most 24 h after the start.
        end: u64,
        /// The most all affected sites together may draw.
        max_mining: Watts,
    },
    /// 33: a grid operator of the order's zone cancels it.
    CancelCurtailment {
        /// The order.
        order: OrderId,
    },
    /// 34: anyone relays a site owner's signed acknowledgement of an order.
    AckCurtailment {
        /// The acknowledgement, signed by the site's owner.
        ack: Signed<CurtailmentAck>,
    },
}

impl Body {
    /// The body's name, as used in events and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Body::Transfer { .. } => "Transfer",
            Body::Retire { .. } => "Retire",
            Body::RegisterMeter { .. } => "RegisterMeter",
            Body::ApproveMeter { .. } => "ApproveMeter",
            Body::SubmitReadings { .. } => "SubmitReadings",
            Body::ReplaceMeterKey { .. } => "ReplaceMeterKey",
            Body::ResyncMeter { .. } => "ResyncMeter",
            Body::TransferMeterOperator { .. } => "TransferMeterOperator",
            Body::RevokeMeter { .. } => "RevokeMeter",
            Body::RegisterSite { .. } => "RegisterSite",
            Body::SubmitConsumption { .. } => "SubmitConsumption",
            Body::SettleShortfall { .. } => "SettleShortfall",
            Body::SetZonePolicy { .. } => "SetZonePolicy",
            Body::SuspendSite { .. } => "SuspendSite",
            Body::ReinstateSite { .. } => "ReinstateSite",
            Body::RevokeSite { .. } => "RevokeSite",
            Body::ReplaceSiteKey { .. } => "ReplaceSiteKey",
            Body::WithdrawCredits { .. } => "WithdrawCredits",
            Body::ProposeAuthoritySet { .. } => "ProposeAuthoritySet",
            Body::ProposeRegulatorSet { .. } => "ProposeRegulatorSet",
            Body::ProposeChainParams { .. } => "ProposeChainParams",
            Body::Vote { .. } => "Vote",
            Body::Evidence { .. } => "Evidence",
            Body::RegisterFeeder { .. } => "RegisterFeeder",
            Body::AttachToFeeder { .. } => "AttachToFeeder",
            Body::SubmitFeederReadings { .. } => "SubmitFeederReadings",
            Body::SubmitDeclaredLoad { .. } => "SubmitDeclaredLoad",
            Body::ClearFeederAlert { .. } => "ClearFeederAlert",
            Body::ResyncFeederMeter { .. } => "ResyncFeederMeter",
            Body::SetZoneSandbox { .. } => "SetZoneSandbox",
            Body::IssuePermit { .. } => "IssuePermit",
            Body::RevokePermit { .. } => "RevokePermit",
            Body::Curtail { .. } => "Curtail",
            Body::CancelCurtailment { .. } => "CancelCurtailment",
            Body::AckCurtailment { .. } => "AckCurtailment",
        }
    }
}

/// The part of a transaction its signer signs.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct UnsignedTx {
    /// The chain id (genesis hash).
    pub chain_id: Hash,
    /// The signing account.
    pub signer: AccountId,
    /// The signer's nonce: its previous transaction's plus 1, from 0.
    pub nonce: u64,
    /// What it does.
    pub body: Body,
}

impl UnsignedTx {
    /// The 32-byte message the signer signs.
    pub fn signing_hash(&self) -> Hash {
        Domain::Tx.hash(&encode(self))
    }

    /// Signs with the signer's key.
    pub fn sign(self, key: &Keypair) -> Transaction {
        let signature = key.sign(&self.signing_hash());
        Transaction {
            unsigned: self,
            signature,
        }
    }
}

/// A signed transaction, as it travels and is stored.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Transaction {
    /// Everything but the signature.
    pub unsigned: UnsignedTx,
    /// The signer's signature over `unsigned`'s signing hash.
    pub signature: Signature,
}

impl Transaction {
    /// The transaction's id: `Domain::TxId` hash of its full encoding.
    pub fn hash(&self) -> Hash {
        Domain::TxId.hash(&encode(self))
    }

    /// The signer.
    pub fn signer(&self) -> AccountId {
        self.unsigned.signer
    }

    /// The check of the signer's signature, for batch verification.
    pub fn signature_check(&self) -> SigCheck {
        SigCheck::new(
            self.unsigned.signer.0,
            self.unsigned.signing_hash(),
            self.signature,
        )
    }
}
