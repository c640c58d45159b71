//! The starting state of a continuation genesis (a recovery fork), over the old chain's state.

use super::{genesis_tenures, Genesis, GenesisError};
use crate::encoding::encode;
use crate::exec::validate_params;
use crate::state::{Account, ChainState, MemoryState, StateDiff, StateKey, Zone};
use crate::types::{Height, ZoneId, ZonePolicy};
use std::collections::BTreeMap;

impl Genesis {
    /// The starting state of a continuation (recovery fork): the old
    /// chain's whole state at `continues.height` (`old`: encoded key to
    /// encoded value), whose root must be `continues.state_root`, with the
    /// chain record replaced: this document's authorities, regulators and
    /// parameters, no scheduled changes, open proposals closed as expired
    /// (they belonged to the lost authority set), height 0 and this
    /// document's time. Zones,
    /// meters, sites, accounts and credits carry over unchanged, so the
    /// document lists no zones, meters or sites of its own.
    pub fn continuation_diff(
        &self,
        old: &BTreeMap<Vec<u8>, Vec<u8>>,
    ) -> Result<StateDiff, GenesisError> {
        let bad = |m: String| GenesisError::Continuation(m);
        let c = self
            .continues
            .as_ref()
            .ok_or_else(|| bad("the document has no `continues`".into()))?;
        if !self.zones.is_empty() || !self.meters.is_empty() || !self.sites.is_empty() {
            return Err(bad(
                "a continuation lists no zones, meters or sites: they carry over from the old state"
                    .into(),
            ));
        }
        if self.authorities.is_empty() {
            return Err(GenesisError::NoAuthorities);
        }
        if self.regulators.is_empty() {
            return Err(GenesisError::NoRegulators);
        }
        let mut state = MemoryState::new();
        state.apply(&StateDiff(
            old.iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .collect(),
        ))?;
        if state.root() != c.state_root {
            return Err(bad(format!(
                "the old state's root is {}, the document says {}",
                state.root(),
                c.state_root
            )));
        }
        let chain_key = StateKey::Chain.encode();
        let old_chain: ChainState = old
            .get(&chain_key)
            .ok_or_else(|| bad("the old state has no chain record".into()))
            .and_then(|b| {
                crate::encoding::decode(b).map_err(|e| bad(format!("old chain record: {e}")))
            })?;
        if old_chain.height != c.height {
            return Err(bad(format!(
                "the old state is at height {}, the document says {}",
                old_chain.height, c.height
            )));
        }
        if self.genesis_time_ms < old_chain.time_ms {
            return Err(bad(format!(
                "genesis time {} is before the old chain's last block time {}",
                self.genesis_time_ms, old_chain.time_ms
            )));
        }
        let validators = self.validator_set()?;
        let regulators = self.sorted_regulators()?;
        let old_zones: Vec<Zone> = old
            .iter()
            .filter(|(k, _)| k.first() == Some(&crate::state::tag::ZONE))
            .filter_map(|(_, v)| crate::encoding::decode::<Zone>(v).ok())
            .collect();
        // The parameters must suit every policy, in force or pending.
        let zones: Vec<ZonePolicy> = old_zones
            .iter()
            .flat_map(|z| z.policy.iter().chain(z.pending.iter().map(|(_, p)| p)))
            .cloned()
            .collect();
        validate_params(&self.params, zones.iter()).map_err(|e| GenesisError::Invalid {
            context: "params".into(),
            reason: e.to_string(),
        })?;
        let mut diff: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        let new_accounts = validators
            .validators()
            .iter()
            .map(|v| v.operator)
            .chain(regulators.iter().copied());
        for a in new_accounts {
            let key = StateKey::Account(a).encode();
            if !old.contains_key(&key) {
                diff.insert(key, Some(encode(&Account::default())));
            }
        }
        // Key tenures and proven equivocations speak of the old chain's
        // heights: the new chain starts its own, from its authorities.
        for k in old.keys() {
            if matches!(
                k.first(),
                Some(&crate::state::tag::CONSENSUS_KEY | &crate::state::tag::EVIDENCE_SEEN)
            ) {
                diff.insert(k.clone(), None);
            }
        }
        for (key, tenure) in genesis_tenures(&validators) {
            diff.insert(key.encode(), Some(encode(&tenure)));
        }
        // The due indexes, rebuilt from what is pending and held, so that
        // they are complete whatever wrote the old state (an entry that is
        // there already is written again unchanged).
        for z in &old_zones {
            if let Some((hour, _)) = &z.pending {
                diff.insert(
                    StateKey::ZoneActivation(*hour, z.id.clone()).encode(),
                    Some(Vec::new()),
                );
            }
        }
        let lifetimes: BTreeMap<ZoneId, u64> = old_zones
            .iter()
            .filter_map(|z| {
                z.policy
                    .as_ref()
                    .map(|p| (z.id.clone(), p.credit_lifetime_hours))
            })
            .collect();
        for k in old
            .keys()
            .filter(|k| k.first() == Some(&crate::state::tag::HOLDER))
        {
            let (Some(zone), Some(hour)) = (
                k.get(1..17).and_then(ZoneId::from_padded),
                k.get(17..25)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes),
            ) else {
                return Err(bad(format!(
                    "old state: malformed holder key {}",
                    hex::encode(k)
                )));
            };
            let lifetime = lifetimes.get(&zone).copied().unwrap_or(0);
            diff.insert(
                StateKey::VintageExpiry(
                    crate::types::Hour(hour.saturating_add(lifetime)),
                    zone,
                    crate::types::Hour(hour),
                )
                .encode(),
                Some(Vec::new()),
            );
        }
        // Proposals of the lost authority set close: their votes came from
        // operators who may be gone, and no vote may count on the new chain.
        for id in &old_chain.open_proposals {
            let key = StateKey::Proposal(*id).encode();
            if let Some(bytes) = old.get(&key) {
                let mut p: crate::state::Proposal = crate::encoding::decode(bytes)
                    .map_err(|e| bad(format!("old proposal {id}: {e}")))?;
                p.status = crate::state::ProposalStatus::Expired;
                diff.insert(key, Some(encode(&p)));
            }
        }
        diff.insert(
            chain_key,
            Some(encode(&ChainState {
                params: self.params.clone(),
                validators,
                regulators,
                scheduled: Vec::new(),
                open_proposals: Vec::new(),
                height: Height(0),
                time_ms: self.genesis_time_ms,
                ..old_chain
            })),
        );
        let mut all: BTreeMap<Vec<u8>, Option<Vec<u8>>> = old
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect();
        all.extend(diff);
        Ok(StateDiff(all))
    }
}
