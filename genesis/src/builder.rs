//! Assembling a genesis document in code.

use watt_runtime::block::Validator;
use watt_runtime::crypto::{Hash, Keypair, PublicKey};
use watt_runtime::encoding::{BoundedString, BoundedVec};
use watt_runtime::genesis::{validator, Genesis, GenesisError, GenesisMeter, GenesisSite};
use watt_runtime::state::MemoryState;
use watt_runtime::types::{AccountId, ChainParams, Source, Watts, Wh, ZoneId, ZonePolicy};

/// A deterministic keypair for development and tests: the seed is the
/// blake3 hash of `watt-dev-key:` followed by the name. Never use these
/// keys on a real chain: anyone can derive them.
pub fn dev_keypair(name: &str) -> Keypair {
    let mut h = blake3::Hasher::new();
    h.update(b"watt-dev-key:");
    h.update(name.as_bytes());
    Keypair::from_seed(*h.finalize().as_bytes())
}

/// A genesis document with its state, state root and chain id.
#[derive(Clone, Debug)]
pub struct BuiltGenesis {
    /// The document.
    pub genesis: Genesis,
    /// Its hash, the chain id.
    pub chain_id: Hash,
    /// The starting state.
    pub state: MemoryState,
    /// The starting state's root.
    pub state_root: Hash,
}

/// Builds a genesis document step by step; [`GenesisBuilder::build`]
/// checks every rule.
#[derive(Clone, Debug)]
pub struct GenesisBuilder {
    chain_name: BoundedString<64>,
    time_ms: u64,
    params: ChainParams,
    authorities: Vec<Validator>,
    regulators: Vec<AccountId>,
    zones: Vec<(ZoneId, ZonePolicy)>,
    meters: Vec<GenesisMeter>,
    sites: Vec<GenesisSite>,
}

fn serial(s: &str) -> Result<BoundedString<64>, String> {
    BoundedString::new(s).map_err(|e| e.to_string())
}

impl GenesisBuilder {
    /// Starts a genesis with a chain name and a genesis time (unix ms).
    pub fn new(chain_name: &str, time_ms: u64) -> Result<Self, String> {
        Ok(GenesisBuilder {
            chain_name: BoundedString::new(chain_name).map_err(|e| e.to_string())?,
            time_ms,
            params: ChainParams::default(),
            authorities: Vec::new(),
            regulators: Vec::new(),
            zones: Vec::new(),
            meters: Vec::new(),
            sites: Vec::new(),
        })
    }

    /// Sets the chain parameters.
    pub fn params(mut self, params: ChainParams) -> Self {
        self.params = params;
        self
    }

    /// Adds an authority.
    pub fn authority(
        mut self,
        name: &str,
        operator: AccountId,
        consensus_key: PublicKey,
    ) -> Result<Self, String> {
        BoundedString::<64>::new(name).map_err(|e| e.to_string())?;
        self.authorities
            .push(validator(consensus_key, operator, name));
        Ok(self)
    }

    /// Adds a regulator.
    pub fn regulator(mut self, account: AccountId) -> Self {
        self.regulators.push(account);
        self
    }

    /// Adds a zone with its policy.
    pub fn zone(mut self, id: ZoneId, policy: ZonePolicy) -> Self {
        self.zones.push((id, policy));
        self
    }

    /// Adds a meter active from genesis.
    #[allow(clippy::too_many_arguments)]
    pub fn meter(
        mut self,
        serial_no: &str,
        device_key: PublicKey,
        owner: AccountId,
        operator: AccountId,
        source: Source,
        capacity: Watts,
        zone: ZoneId,
        baseline_time: u64,
        baseline_counter: Wh,
    ) -> Result<Self, String> {
        self.meters.push(GenesisMeter {
            serial: serial(serial_no)?,
            device_key,
            owner,
            operator,
            source,
            capacity,
            zone,
            baseline_time,
            baseline_counter,
        });
        Ok(self)
    }

    /// Adds a mining site registered from genesis.
    #[allow(clippy::too_many_arguments)]
    pub fn site(
        mut self,
        serial_no: &str,
        device_key: PublicKey,
        owner: AccountId,
        zone: ZoneId,
        max_draw: Watts,
        baseline_time: u64,
        baseline_counter: Wh,
    ) -> Result<Self, String> {
        self.sites.push(GenesisSite {
            serial: serial(serial_no)?,
            device_key,
            owner,
            zone,
            max_draw,
            baseline_time,
            baseline_counter,
        });
        Ok(self)
    }

    /// Checks every rule and builds the document and its state.
    pub fn build(self) -> Result<BuiltGenesis, GenesisError> {
        let too_many = |what: &str| GenesisError::Invalid {
            context: what.into(),
            reason: "too many entries".into(),
        };
        let genesis = Genesis {
            chain_name: self.chain_name,
            genesis_time_ms: self.time_ms,
            params: self.params,
            authorities: BoundedVec::new(self.authorities).map_err(|_| too_many("authorities"))?,
            regulators: BoundedVec::new(self.regulators).map_err(|_| too_many("regulators"))?,
            zones: BoundedVec::new(self.zones).map_err(|_| too_many("zones"))?,
            meters: BoundedVec::new(self.meters).map_err(|_| too_many("meters"))?,
            sites: BoundedVec::new(self.sites).map_err(|_| too_many("sites"))?,
            continues: None,
        };
        BuiltGenesis::from_genesis(genesis)
    }
}

impl BuiltGenesis {
    /// Checks a document and builds its state.
    pub fn from_genesis(genesis: Genesis) -> Result<Self, GenesisError> {
        let state = genesis.memory_state()?;
        Ok(BuiltGenesis {
            chain_id: genesis.chain_id(),
            state_root: state.root(),
            state,
            genesis,
        })
    }

    /// Checks a continuation (recovery fork) document against the old
    /// chain's state and builds its starting state.
    pub fn from_continuation(
        genesis: Genesis,
        snapshot: &crate::StateSnapshot,
    ) -> Result<Self, GenesisError> {
        snapshot
            .check_for(&genesis)
            .map_err(|e| GenesisError::Continuation(e.to_string()))?;
        let mut state = MemoryState::new();
        state.apply(&genesis.continuation_diff(&snapshot.entries)?)?;
        Ok(BuiltGenesis {
            chain_id: genesis.chain_id(),
            state_root: state.root(),
            state,
            genesis,
        })
    }
}
