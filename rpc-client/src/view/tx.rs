//! Transactions and the signed readings they carry.

use super::{text, ViewError};
use serde::{Deserialize, Serialize};
use watt_runtime::crypto::{Hash, PublicKey, Signature};
use watt_runtime::tx as ledger;
use watt_runtime::types::{AccountId, MeterId, SiteId, Wh};

#[path = "tx_body.rs"]
mod body;

pub use body::Body;

/// A signed transaction, as it travels and is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// Everything but the signature.
    pub unsigned: UnsignedTx,
    /// The signer's signature over `unsigned`'s signing hash.
    pub signature: Signature,
}

impl From<ledger::Transaction> for Transaction {
    fn from(v: ledger::Transaction) -> Self {
        Transaction {
            unsigned: v.unsigned.into(),
            signature: v.signature,
        }
    }
}

/// The part of a transaction its signer signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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

impl From<ledger::UnsignedTx> for UnsignedTx {
    fn from(v: ledger::UnsignedTx) -> Self {
        UnsignedTx {
            chain_id: v.chain_id,
            signer: v.signer,
            nonce: v.nonce,
            body: v.body.into(),
        }
    }
}

/// An interval reading of a generation meter, as the meter signs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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

impl From<ledger::GenerationReading> for GenerationReading {
    fn from(v: ledger::GenerationReading) -> Self {
        GenerationReading {
            meter: v.meter,
            sequence: v.sequence,
            period_start: v.period_start,
            period_end: v.period_end,
            counter: v.counter,
            flags: v.flags,
        }
    }
}

/// An interval reading of a mining site's consumption meter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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

impl From<ledger::ConsumptionReading> for ConsumptionReading {
    fn from(v: ledger::ConsumptionReading) -> Self {
        ConsumptionReading {
            site: v.site,
            sequence: v.sequence,
            period_start: v.period_start,
            period_end: v.period_end,
            counter: v.counter,
            flags: v.flags,
        }
    }
}

/// A reading with the device's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Signed<R> {
    /// The reading.
    pub reading: R,
    /// The device's signature over its signing hash.
    pub signature: Signature,
}

impl<L, R: From<L>> From<ledger::Signed<L>> for Signed<R> {
    fn from(v: ledger::Signed<L>) -> Self {
        Signed {
            reading: v.reading.into(),
            signature: v.signature,
        }
    }
}

/// A proof that the holder of a consensus key agrees to act for an operator
/// account: the consensus key's signature over
/// `Domain::ProofOfPossession` signing hash of `operator || consensus_key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofOfPossession {
    /// Signature by the consensus key.
    pub signature: Signature,
}

impl From<ledger::ProofOfPossession> for ProofOfPossession {
    fn from(v: ledger::ProofOfPossession) -> Self {
        ProofOfPossession {
            signature: v.signature,
        }
    }
}

/// A change to the authority (validator) set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum AuthorityChange {
    /// Add an authority with its operator account and consensus key.
    Add {
        /// The new authority's stable operator account.
        operator: AccountId,
        /// The key it signs consensus messages with.
        consensus_key: PublicKey,
        /// A human-readable name.
        name: String,
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

impl From<ledger::AuthorityChange> for AuthorityChange {
    fn from(v: ledger::AuthorityChange) -> Self {
        match v {
            ledger::AuthorityChange::Add {
                operator,
                consensus_key,
                name,
                proof,
            } => AuthorityChange::Add {
                operator,
                consensus_key,
                name: name.into(),
                proof: proof.into(),
            },
            ledger::AuthorityChange::Remove { operator } => AuthorityChange::Remove { operator },
            ledger::AuthorityChange::Rotate {
                operator,
                consensus_key,
                proof,
            } => AuthorityChange::Rotate {
                operator,
                consensus_key,
                proof: proof.into(),
            },
        }
    }
}

/// A change to the regulator set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
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

impl From<ledger::RegulatorChange> for RegulatorChange {
    fn from(v: ledger::RegulatorChange) -> Self {
        match v {
            ledger::RegulatorChange::Add { account } => RegulatorChange::Add { account },
            ledger::RegulatorChange::Remove { account } => RegulatorChange::Remove { account },
        }
    }
}

// What a wallet sends: views back into ledger values, within the
// ledger's bounds.

impl TryFrom<Transaction> for ledger::Transaction {
    type Error = ViewError;
    fn try_from(v: Transaction) -> Result<Self, ViewError> {
        Ok(ledger::Transaction {
            unsigned: v.unsigned.try_into()?,
            signature: v.signature,
        })
    }
}

impl TryFrom<UnsignedTx> for ledger::UnsignedTx {
    type Error = ViewError;
    fn try_from(v: UnsignedTx) -> Result<Self, ViewError> {
        Ok(ledger::UnsignedTx {
            chain_id: v.chain_id,
            signer: v.signer,
            nonce: v.nonce,
            body: v.body.try_into()?,
        })
    }
}

impl From<GenerationReading> for ledger::GenerationReading {
    fn from(v: GenerationReading) -> Self {
        ledger::GenerationReading {
            meter: v.meter,
            sequence: v.sequence,
            period_start: v.period_start,
            period_end: v.period_end,
            counter: v.counter,
            flags: v.flags,
        }
    }
}

impl From<ConsumptionReading> for ledger::ConsumptionReading {
    fn from(v: ConsumptionReading) -> Self {
        ledger::ConsumptionReading {
            site: v.site,
            sequence: v.sequence,
            period_start: v.period_start,
            period_end: v.period_end,
            counter: v.counter,
            flags: v.flags,
        }
    }
}

impl<L, R: Into<L>> From<Signed<R>> for ledger::Signed<L> {
    fn from(v: Signed<R>) -> Self {
        ledger::Signed {
            reading: v.reading.into(),
            signature: v.signature,
        }
    }
}

impl From<ProofOfPossession> for ledger::ProofOfPossession {
    fn from(v: ProofOfPossession) -> Self {
        ledger::ProofOfPossession {
            signature: v.signature,
        }
    }
}

impl TryFrom<AuthorityChange> for ledger::AuthorityChange {
    type Error = ViewError;
    fn try_from(v: AuthorityChange) -> Result<Self, ViewError> {
        Ok(match v {
            AuthorityChange::Add {
                operator,
                consensus_key,
                name,
                proof,
            } => ledger::AuthorityChange::Add {
                operator,
                consensus_key,
                name: text("name", name)?,
                proof: proof.into(),
            },
            AuthorityChange::Remove { operator } => ledger::AuthorityChange::Remove { operator },
            AuthorityChange::Rotate {
                operator,
                consensus_key,
                proof,
            } => ledger::AuthorityChange::Rotate {
                operator,
                consensus_key,
                proof: proof.into(),
            },
        })
    }
}

impl From<RegulatorChange> for ledger::RegulatorChange {
    fn from(v: RegulatorChange) -> Self {
        match v {
            RegulatorChange::Add { account } => ledger::RegulatorChange::Add { account },
            RegulatorChange::Remove { account } => ledger::RegulatorChange::Remove { account },
        }
    }
}
