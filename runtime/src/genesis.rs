//! The genesis document and the state it starts the chain with.
//!
//! The chain id is `Domain::Genesis` hash of the document's canonical
//! encoding, so every byte of the starting state is bound into every
//! signature made on the chain.

use crate::block::{Validator, ValidatorSet, MAX_VALIDATORS};
use crate::crypto::{Domain, Hash, PublicKey};
use crate::encoding::{encode, BoundedString, BoundedVec};
use crate::exec::{validate_params, validate_policy};
use crate::state::{
    Account, ChainState, DeviceOwner, MemoryState, Meter, MeterStatus, Site, StateDiff, StateError,
    StateKey, Zone,
};
use crate::tx::Serial;
use crate::types::{
    AccountId, ChainParams, Height, MeterId, SiteId, Source, Watts, Wh, ZoneId, ZonePolicy,
};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[path = "genesis_continuation.rs"]
mod continuation;

/// Most zones, meters or sites a genesis document may list.
pub const MAX_GENESIS_ITEMS: usize = 65_536;

/// A meter active from genesis.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenesisMeter {
    /// Serial number.
    pub serial: Serial,
    /// Device key.
    #[serde(alias = "device_key")]
    pub device_key: PublicKey,
    /// The producer credited.
    pub owner: AccountId,
    /// The authority that relays its readings.
    pub operator: AccountId,
    /// Source.
    pub source: Source,
    /// Capacity.
    pub capacity: Watts,
    /// Zone.
    pub zone: ZoneId,
    /// Baseline time, unix seconds.
    #[serde(alias = "baseline_time")]
    pub baseline_time: u64,
    /// Counter at the baseline time.
    #[serde(alias = "baseline_counter")]
    pub baseline_counter: Wh,
}

/// A mining site registered from genesis.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenesisSite {
    /// Serial number of its meter.
    pub serial: Serial,
    /// Device key of its meter.
    #[serde(alias = "device_key")]
    pub device_key: PublicKey,
    /// The account whose credits it burns.
    pub owner: AccountId,
    /// Zone.
    pub zone: ZoneId,
    /// Max draw.
    #[serde(alias = "max_draw")]
    pub max_draw: Watts,
    /// Baseline time, unix seconds.
    #[serde(alias = "baseline_time")]
    pub baseline_time: u64,
    /// Counter at the baseline time.
    #[serde(alias = "baseline_counter")]
    pub baseline_counter: Wh,
}

/// Where a chain continues another one (after a recovery fork).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Continuation {
    /// The old chain's id.
    #[serde(alias = "chain_id")]
    pub chain_id: Hash,
    /// The old chain's last finalised height.
    pub height: Height,
    /// The old chain's state root at that height.
    #[serde(alias = "state_root")]
    pub state_root: Hash,
}

/// The genesis document.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Genesis {
    /// A human-readable chain name.
    #[serde(alias = "chain_name")]
    pub chain_name: BoundedString<64>,
    /// Genesis time, unix milliseconds; the first block must be later.
    #[serde(alias = "genesis_time_ms")]
    pub genesis_time_ms: u64,
    /// Chain parameters.
    pub params: ChainParams,
    /// The first authority set.
    pub authorities: BoundedVec<Validator, MAX_VALIDATORS>,
    /// The first regulators.
    pub regulators: BoundedVec<AccountId, MAX_VALIDATORS>,
    /// Zones with their policies, in force from genesis.
    pub zones: BoundedVec<(ZoneId, ZonePolicy), MAX_GENESIS_ITEMS>,
    /// Meters active from genesis.
    pub meters: BoundedVec<GenesisMeter, MAX_GENESIS_ITEMS>,
    /// Sites registered from genesis.
    pub sites: BoundedVec<GenesisSite, MAX_GENESIS_ITEMS>,
    /// The chain this one continues, if it is a recovery fork.
    pub continues: Option<Continuation>,
}

/// Why a genesis document is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// No authorities.
    #[error("genesis has no authorities")]
    NoAuthorities,
    /// No regulators.
    #[error("genesis has no regulators")]
    NoRegulators,
    /// The authority set is malformed.
    #[error("authorities: {0}")]
    Authorities(String),
    /// A regulator listed twice.
    #[error("regulator {0} is listed twice")]
    DuplicateRegulator(AccountId),
    /// A zone listed twice.
    #[error("zone {0} is listed twice")]
    DuplicateZone(ZoneId),
    /// A zone policy or the chain parameters break a rule.
    #[error("{context}: {reason}")]
    Invalid {
        /// Which item.
        context: String,
        /// What is wrong.
        reason: String,
    },
    /// An item names a zone that is not defined.
    #[error("{context}: zone {zone} is not defined")]
    UnknownZone {
        /// Which item.
        context: String,
        /// The zone.
        zone: ZoneId,
    },
    /// A device key used twice.
    #[error("{context}: device key {key} is already used")]
    DuplicateDeviceKey {
        /// Which item.
        context: String,
        /// The key.
        key: PublicKey,
    },
    /// A serial number used twice.
    #[error("{context}: serial {serial:?} is already used")]
    DuplicateSerial {
        /// Which item.
        context: String,
        /// The serial.
        serial: String,
    },
    /// The state could not be built.
    #[error(transparent)]
    State(#[from] StateError),
    /// A continuation genesis starts from the old chain's state, which was
    /// not given.
    #[error("this genesis continues chain {0}: its starting state is the old chain's state snapshot (genesis_state in the config)")]
    NeedsOldState(Hash),
    /// The old chain's state does not match the continuation.
    #[error("continuation: {0}")]
    Continuation(String),
}

impl Genesis {
    /// The chain id: the hash of this document.
    pub fn chain_id(&self) -> Hash {
        Domain::Genesis.hash(&encode(self))
    }

    /// The regulators in key order; one listed twice is refused.
    fn sorted_regulators(&self) -> Result<Vec<AccountId>, GenesisError> {
        let mut regulators: Vec<AccountId> = self.regulators.to_vec();
        regulators.sort();
        match regulators.windows(2).find(|w| w[0] == w[1]) {
            Some(w) => Err(GenesisError::DuplicateRegulator(w[0])),
            None => Ok(regulators),
        }
    }

    /// The validator set of height 1.
    pub fn validator_set(&self) -> Result<ValidatorSet, GenesisError> {
        ValidatorSet::new(self.authorities.to_vec())
            .map_err(|e| GenesisError::Authorities(e.to_string()))
    }

    /// Checks every rule and builds the starting state.
    pub fn state_diff(&self) -> Result<StateDiff, GenesisError> {
        if let Some(c) = &self.continues {
            return Err(GenesisError::NeedsOldState(c.chain_id));
        }
        let invalid = |context: String, e: crate::TxError| GenesisError::Invalid {
            context,
            reason: e.to_string(),
        };
        if self.authorities.is_empty() {
            return Err(GenesisError::NoAuthorities);
        }
        if self.regulators.is_empty() {
            return Err(GenesisError::NoRegulators);
        }
        if self.zones.len() > crate::exec::MAX_ZONES {
            return Err(GenesisError::Invalid {
                context: "zones".into(),
                reason: format!(
                    "{} zones; a chain has at most {}",
                    self.zones.len(),
                    crate::exec::MAX_ZONES
                ),
            });
        }
        let validators = self.validator_set()?;
        let regulators = self.sorted_regulators()?;
        let mut zones: BTreeMap<ZoneId, ZonePolicy> = BTreeMap::new();
        for (id, policy) in self.zones.iter() {
            validate_policy(policy, &self.params, None)
                .map_err(|e| invalid(format!("zone {id}"), e))?;
            if zones.insert(id.clone(), policy.clone()).is_some() {
                return Err(GenesisError::DuplicateZone(id.clone()));
            }
        }
        validate_params(&self.params, zones.values()).map_err(|e| invalid("params".into(), e))?;

        let mut diff: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        let mut put = |key: StateKey, value: Vec<u8>| {
            diff.insert(key.encode(), Some(value));
        };
        let mut accounts: BTreeSet<AccountId> = BTreeSet::new();
        accounts.extend(validators.validators().iter().map(|v| v.operator));
        accounts.extend(regulators.iter().copied());
        let mut device_keys: BTreeSet<PublicKey> = BTreeSet::new();
        let mut serials: BTreeSet<(bool, String)> = BTreeSet::new();
        let mut live_draw: BTreeMap<ZoneId, u64> = BTreeMap::new();
        let genesis_s = self.genesis_time_ms / 1000;

        let mut check_device = |context: &str,
                                key: PublicKey,
                                site: bool,
                                serial: &Serial|
         -> Result<(), GenesisError> {
            if !device_keys.insert(key) {
                return Err(GenesisError::DuplicateDeviceKey {
                    context: context.into(),
                    key,
                });
            }
            if serial.as_str().is_empty() || !serials.insert((site, serial.as_str().to_string())) {
                return Err(GenesisError::DuplicateSerial {
                    context: context.into(),
                    serial: serial.as_str().into(),
                });
            }
            Ok(())
        };
        let check_common = |context: &str,
                            zone: &ZoneId,
                            power: Watts,
                            baseline: u64|
         -> Result<(), GenesisError> {
            if !zones.contains_key(zone) {
                return Err(GenesisError::UnknownZone {
                    context: context.into(),
                    zone: zone.clone(),
                });
            }
            if power.0 == 0 {
                return Err(GenesisError::Invalid {
                    context: context.into(),
                    reason: "capacity / max draw must be greater than zero".into(),
                });
            }
            if baseline > genesis_s {
                return Err(GenesisError::Invalid {
                    context: context.into(),
                    reason: format!("baseline time {baseline} is after genesis time {genesis_s}"),
                });
            }
            Ok(())
        };

        for (i, m) in self.meters.iter().enumerate() {
            let id = MeterId(i as u64 + 1);
            let context = format!("meter {} ({})", id, m.serial);
            check_common(&context, &m.zone, m.capacity, m.baseline_time)?;
            check_device(&context, m.device_key, false, &m.serial)?;
            if validators.by_operator(&m.operator).is_none() {
                return Err(GenesisError::Invalid {
                    context,
                    reason: format!("operator {} is not an authority", m.operator),
                });
            }
            accounts.insert(m.owner);
            put(
                StateKey::DeviceKey(m.device_key),
                encode(&DeviceOwner::Meter(id)),
            );
            put(
                StateKey::Serial(false, m.serial.as_str().into()),
                encode(&DeviceOwner::Meter(id)),
            );
            put(
                StateKey::Meter(id),
                encode(&Meter::new(
                    id,
                    m.serial.clone(),
                    m.device_key,
                    m.owner,
                    m.operator,
                    m.source,
                    m.capacity,
                    m.zone.clone(),
                    MeterStatus::Active,
                    m.baseline_time,
                    m.baseline_counter,
                )),
            );
        }
        for (i, s) in self.sites.iter().enumerate() {
            let id = SiteId(i as u64 + 1);
            let context = format!("site {} ({})", id, s.serial);
            check_common(&context, &s.zone, s.max_draw, s.baseline_time)?;
            check_device(&context, s.device_key, true, &s.serial)?;
            let draw = live_draw.entry(s.zone.clone()).or_default();
            *draw = draw.saturating_add(s.max_draw.0);
            let cap = zones.get(&s.zone).map(|p| p.mining_cap_w.0).unwrap_or(0);
            if *draw > cap {
                return Err(GenesisError::Invalid {
                    context,
                    reason: format!("zone {} mining cap {cap} W exceeded ({} W)", s.zone, draw),
                });
            }
            accounts.insert(s.owner);
            put(
                StateKey::DeviceKey(s.device_key),
                encode(&DeviceOwner::Site(id)),
            );
            put(
                StateKey::Serial(true, s.serial.as_str().into()),
                encode(&DeviceOwner::Site(id)),
            );
            put(
                StateKey::Site(id),
                encode(&Site::new(
                    id,
                    s.serial.clone(),
                    s.device_key,
                    s.owner,
                    s.zone.clone(),
                    s.max_draw,
                    s.baseline_time,
                    s.baseline_counter,
                    self.genesis_time_ms,
                )),
            );
        }
        for (id, policy) in &zones {
            put(
                StateKey::Zone(id.clone()),
                encode(&Zone {
                    id: id.clone(),
                    policy: Some(policy.clone()),
                    pending: None,
                    live_max_draw: Watts(live_draw.get(id).copied().unwrap_or(0)),
                    supply: Default::default(),
                    expired_through: None,
                }),
            );
        }
        for a in &accounts {
            put(StateKey::Account(*a), encode(&Account::default()));
        }
        for (key, tenure) in genesis_tenures(&validators) {
            put(key, encode(&tenure));
        }
        put(
            StateKey::Chain,
            encode(&ChainState {
                params: self.params.clone(),
                validators,
                regulators,
                scheduled: Vec::new(),
                open_proposals: Vec::new(),
                height: Height(0),
                time_ms: self.genesis_time_ms,
                next_meter: self.meters.len() as u64,
                next_site: self.sites.len() as u64,
                next_retirement: 0,
                next_proposal: 0,
            }),
        );
        Ok(StateDiff(diff))
    }

    /// The starting state in memory, with its root.
    pub fn memory_state(&self) -> Result<MemoryState, GenesisError> {
        let mut state = MemoryState::new();
        state.apply(&self.state_diff()?)?;
        Ok(state)
    }

    /// The starting state: [`Genesis::state_diff`], or for a continuation
    /// [`Genesis::continuation_diff`] over the old chain's state.
    pub fn state_diff_with(
        &self,
        old: Option<&BTreeMap<Vec<u8>, Vec<u8>>>,
    ) -> Result<StateDiff, GenesisError> {
        match (&self.continues, old) {
            (Some(_), Some(old)) => self.continuation_diff(old),
            (Some(c), None) => Err(GenesisError::NeedsOldState(c.chain_id)),
            (None, Some(_)) => Err(GenesisError::Continuation(
                "a state snapshot was given but the document continues no chain".into(),
            )),
            (None, None) => self.state_diff(),
        }
    }
}

/// The tenure records of a first validator set: each key in the set from
/// height 1.
fn genesis_tenures(set: &ValidatorSet) -> Vec<(StateKey, crate::state::KeyTenure)> {
    set.validators()
        .iter()
        .map(|v| {
            (
                StateKey::ConsensusKey(v.consensus_key),
                crate::state::KeyTenure {
                    spans: vec![crate::state::KeySpan {
                        operator: v.operator,
                        from: Height(1),
                        until: None,
                    }],
                },
            )
        })
        .collect()
}

/// A validator entry for a genesis document.
pub fn validator(consensus_key: PublicKey, operator: AccountId, name: &str) -> Validator {
    Validator {
        consensus_key,
        operator,
        name: BoundedString::new(
            name.chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect::<String>(),
        )
        .unwrap_or_default(),
    }
}
