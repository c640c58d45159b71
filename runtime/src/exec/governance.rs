//! Governance: proposals to change the authority set, the regulator set or
//! the chain parameters; votes; evidence of equivocation; and the
//! scheduled changes they lead to, in force two blocks after the decision.

use super::ledger::Ledger;
use super::zones::validate_params;
use crate::block::{SignedVote, Validator, ValidatorSet};
use crate::encoding::BoundedString;
use crate::error::TxError;
use crate::events::Event;
use crate::state::{
    ChainState, KeySpan, KeyTenure, PendingChange, Proposal, ProposalKind, ProposalStatus,
    Scheduled, StateKey, StateReader, Zone,
};
use crate::tx::{AuthorityChange, RegulatorChange};
use crate::types::{AccountId, Height, ProposalId};

/// Blocks between a decision and the height from which it is in force.
pub const ACTIVATION_DELAY: u64 = 2;

fn refuse(reason: impl Into<String>) -> TxError {
    TxError::BadGovernanceChange {
        reason: reason.into(),
    }
}

/// Applies an authority change to a set, or says why it cannot apply.
pub fn apply_authority_change(
    set: &ValidatorSet,
    change: &AuthorityChange,
) -> Result<ValidatorSet, TxError> {
    let mut vs: Vec<Validator> = set.validators().to_vec();
    match change {
        AuthorityChange::Add {
            operator,
            consensus_key,
            name,
            ..
        } => {
            if vs.iter().any(|v| v.operator == *operator) {
                return Err(refuse(format!("{operator} is already an authority")));
            }
            if vs.iter().any(|v| v.consensus_key == *consensus_key) {
                return Err(refuse(format!(
                    "consensus key {consensus_key} is already in use"
                )));
            }
            let name = BoundedString::new(name.as_str().chars().take(64).collect::<String>())
                .map_err(|e| refuse(e.to_string()))?;
            vs.push(Validator {
                consensus_key: *consensus_key,
                operator: *operator,
                name,
            });
        }
        AuthorityChange::Remove { operator } => {
            let before = vs.len();
            vs.retain(|v| v.operator != *operator);
            if vs.len() == before {
                return Err(refuse(format!("{operator} is not an authority")));
            }
            if vs.is_empty() {
                return Err(refuse("the authority set would be empty"));
            }
        }
        AuthorityChange::Rotate {
            operator,
            consensus_key,
            ..
        } => {
            if vs.iter().any(|v| v.consensus_key == *consensus_key) {
                return Err(refuse(format!(
                    "consensus key {consensus_key} is already in use"
                )));
            }
            let v = vs
                .iter_mut()
                .find(|v| v.operator == *operator)
                .ok_or_else(|| refuse(format!("{operator} is not an authority")))?;
            v.consensus_key = *consensus_key;
        }
    }
    ValidatorSet::new(vs).map_err(|e| refuse(e.to_string()))
}

fn apply_regulator_change(
    regs: &[AccountId],
    change: &RegulatorChange,
) -> Result<Vec<AccountId>, TxError> {
    let mut out = regs.to_vec();
    match change {
        RegulatorChange::Add { account } => {
            if out.contains(account) {
                return Err(refuse(format!("{account} is already a regulator")));
            }
            if out.len() >= MAX_REGULATORS {
                return Err(refuse(format!(
                    "the regulator set already has {MAX_REGULATORS} members, the most it may have"
                )));
            }
            out.push(*account);
            out.sort();
        }
        RegulatorChange::Remove { account } => {
            if !out.contains(account) {
                return Err(refuse(format!("{account} is not a regulator")));
            }
            out.retain(|a| a != account);
            if out.is_empty() {
                return Err(refuse("the regulator set would be empty"));
            }
        }
    }
    Ok(out)
}

/// Most proposals open at once.
pub const MAX_OPEN_PROPOSALS: usize = 256;

/// Most regulators (as in a genesis document).
pub const MAX_REGULATORS: usize = 256;

impl<R: StateReader + ?Sized> Ledger<'_, R> {
    fn zone_policies(&self) -> Result<Vec<crate::types::ZonePolicy>, TxError> {
        let prefix = [crate::state::tag::ZONE];
        let rows = self.ov.scan(&prefix, &crate::state::prefix_end(&prefix))?;
        let mut out = Vec::new();
        for (k, v) in rows {
            let z: Zone = super::ledger::decode_stored(&k, &v)?;
            out.extend(z.policy);
            out.extend(z.pending.map(|(_, p)| p));
        }
        Ok(out)
    }

    /// Any governance proposal: checks who may propose and that the change
    /// applies to the current sets, then records it with the proposer's yes.
    pub fn propose(&mut self, signer: &AccountId, kind: ProposalKind) -> Result<(), TxError> {
        let mut chain = self.chain()?;
        match &kind {
            ProposalKind::Authorities { change } => {
                apply_authority_change(&chain.validators, change)?;
            }
            ProposalKind::Regulators { change } => {
                apply_regulator_change(&chain.regulators, change)?;
            }
            ProposalKind::Params { params } => {
                validate_params(params, self.zone_policies()?.iter())?;
            }
        }
        // Every block looks at the open proposals (to expire them): their
        // number is bounded, as spam by a role holder must not slow blocks.
        if chain.open_proposals.len() >= MAX_OPEN_PROPOSALS {
            return Err(TxError::InvalidParameter {
                field: "proposal",
                reason: format!(
                    "{MAX_OPEN_PROPOSALS} proposals are open already; vote on them or let them expire"
                ),
            });
        }
        chain.next_proposal += 1;
        let id = ProposalId(chain.next_proposal);
        chain.open_proposals.push(id);
        let proposal = Proposal {
            id,
            kind,
            proposer: *signer,
            created: self.ctx.height,
            expires: Height(
                self.ctx
                    .height
                    .0
                    .saturating_add(chain.params.proposal_expiry_blocks),
            ),
            votes: [(*signer, true)].into_iter().collect(),
            status: ProposalStatus::Open,
        };
        self.emit(Event::ProposalCreated {
            proposal: id,
            proposer: *signer,
        });
        self.tally(&mut chain, proposal)?;
        self.put_chain(&chain);
        Ok(())
    }

    /// Vote on an open proposal.
    pub fn vote(
        &mut self,
        signer: &AccountId,
        id: ProposalId,
        approve: bool,
    ) -> Result<(), TxError> {
        let mut chain = self.chain()?;
        let mut proposal: Proposal = self
            .get(&StateKey::Proposal(id))?
            .ok_or(TxError::UnknownProposal { proposal: id })?;
        if proposal.status != ProposalStatus::Open || self.ctx.height >= proposal.expires {
            return Err(TxError::ProposalClosed { proposal: id });
        }
        if proposal.votes.contains_key(signer) {
            return Err(TxError::AlreadyVoted {
                proposal: id,
                voter: *signer,
            });
        }
        proposal.votes.insert(*signer, approve);
        self.emit(Event::Voted {
            proposal: id,
            voter: *signer,
            approve,
        });
        self.tally(&mut chain, proposal)?;
        self.put_chain(&chain);
        Ok(())
    }

    /// Counts the votes of current members; passes, rejects or keeps open.
    fn tally(&mut self, chain: &mut ChainState, mut proposal: Proposal) -> Result<(), TxError> {
        let n_auth = chain.validators.len();
        let (mut a_yes, mut a_no, mut r_yes, mut r_no) = (0usize, 0usize, 0usize, 0usize);
        for (voter, yes) in &proposal.votes {
            if chain.is_authority(voter) {
                if *yes {
                    a_yes += 1
                } else {
                    a_no += 1
                }
            }
            if chain.is_regulator(voter) {
                if *yes {
                    r_yes += 1
                } else {
                    r_no += 1
                }
            }
        }
        let n_reg = chain.regulators.len();
        let needs_regs = proposal.kind.needs_regulators();
        let passes = a_yes * 3 > n_auth * 2 && (!needs_regs || r_yes * 2 > n_reg);
        // It can no longer pass once the authorities' no votes reach a third,
        // or the regulators' no votes reach half.
        let hopeless = a_no * 3 >= n_auth || (needs_regs && r_no * 2 >= n_reg);
        let id = proposal.id;
        if passes {
            proposal.status = ProposalStatus::Passed;
            let activation = Height(self.ctx.height.0 + ACTIVATION_DELAY);
            let change = match &proposal.kind {
                ProposalKind::Authorities { change } => PendingChange::Authorities {
                    change: change.clone(),
                },
                ProposalKind::Regulators { change } => PendingChange::Regulators {
                    change: change.clone(),
                },
                ProposalKind::Params { params } => PendingChange::Params {
                    params: params.clone(),
                },
            };
            chain.scheduled.push(Scheduled { activation, change });
            chain.open_proposals.retain(|p| *p != id);
            self.emit(Event::ProposalPassed {
                proposal: id,
                activation,
            });
        } else if hopeless {
            proposal.status = ProposalStatus::Rejected;
            chain.open_proposals.retain(|p| *p != id);
            self.emit(Event::ProposalRejected { proposal: id });
        }
        self.put(&StateKey::Proposal(id), &proposal);
        Ok(())
    }

    /// Evidence of equivocation: the validator loses its role two blocks
    /// later. Signatures were verified with the transaction.
    pub fn evidence(&mut self, first: &SignedVote, second: &SignedVote) -> Result<(), TxError> {
        let (a, b) = (&first.vote, &second.vote);
        if !a.conflicts_with(b) {
            return Err(TxError::InvalidEvidence {
                reason: "votes are not by one validator for one height, round and kind with different values".into(),
            });
        }
        if a.chain_id != self.ctx.chain_id {
            return Err(TxError::InvalidEvidence {
                reason: "votes are for another chain".into(),
            });
        }
        let mut chain = self.chain()?;
        let seen = StateKey::EvidenceSeen(a.validator, a.height, a.round, a.kind as u8);
        if self.get::<()>(&seen)?.is_some() {
            return Err(TxError::InvalidEvidence {
                reason: format!(
                    "this equivocation by {} at height {} round {} was proven already",
                    a.validator, a.height, a.round
                ),
            });
        }
        // Judged by the set of the votes' height, not today's: the key may
        // have been rotated out since, and its operator is still the one
        // who signed.
        let tenure: KeyTenure = self
            .get(&StateKey::ConsensusKey(a.validator))?
            .unwrap_or_default();
        let Some(operator) = tenure.operator_at(a.height) else {
            return Err(TxError::InvalidEvidence {
                reason: format!("{} was not a validator at height {}", a.validator, a.height),
            });
        };
        if chain.validators.by_operator(&operator).is_none() {
            return Err(TxError::InvalidEvidence {
                reason: format!("operator {operator} is no longer an authority"),
            });
        }
        let already = chain
            .scheduled
            .iter()
            .any(|s| matches!(&s.change, PendingChange::Punish { operator: o } if *o == operator));
        if already {
            return Err(TxError::InvalidEvidence {
                reason: format!("operator {operator} is already being removed for equivocation"),
            });
        }
        self.put(&seen, &());
        let activation = Height(self.ctx.height.0 + ACTIVATION_DELAY);
        chain.scheduled.push(Scheduled {
            activation,
            change: PendingChange::Punish { operator },
        });
        self.put_chain(&chain);
        self.emit(Event::EquivocationProven {
            consensus_key: a.validator,
            operator,
            height: a.height,
            activation,
        });
        Ok(())
    }

    /// End of block: puts in force every scheduled change whose activation
    /// is the next height, so that the state after block `h` holds the
    /// validator set of height `h + 1`. A change that no longer applies
    /// (its target already gone) is dropped.
    pub(crate) fn activate_scheduled(&mut self) -> Result<(), TxError> {
        let mut chain = self.chain()?;
        let next = self.ctx.height.next();
        if !chain.scheduled.iter().any(|s| s.activation <= next) {
            return Ok(());
        }
        let (due, later): (Vec<Scheduled>, Vec<Scheduled>) = chain
            .scheduled
            .drain(..)
            .partition(|s| s.activation <= next);
        chain.scheduled = later;
        let before = chain.validators.clone();
        let (mut auth_changed, mut regs_changed) = (false, false);
        for s in due {
            match s.change {
                PendingChange::Authorities { change } => {
                    if let Ok(set) = apply_authority_change(&chain.validators, &change) {
                        chain.validators = set;
                        auth_changed = true;
                    }
                }
                PendingChange::Punish { operator } => {
                    if let Ok(set) = apply_authority_change(
                        &chain.validators,
                        &AuthorityChange::Remove { operator },
                    ) {
                        chain.validators = set;
                        auth_changed = true;
                    }
                }
                PendingChange::Regulators { change } => {
                    if let Ok(regs) = apply_regulator_change(&chain.regulators, &change) {
                        chain.regulators = regs;
                        regs_changed = true;
                    }
                }
                PendingChange::Params { params } => {
                    // Zone policies set since the vote may have raised a max
                    // age past the new grace: such parameters never apply.
                    if validate_params(&params, self.zone_policies()?.iter()).is_ok() {
                        chain.params = params;
                        self.emit(Event::ParamsChanged);
                    }
                }
            }
        }
        if auth_changed {
            self.record_tenure(&before, &chain.validators, next)?;
            self.emit(Event::AuthoritiesChanged {
                validator_set_hash: chain.validators.hash(),
                count: chain.validators.len() as u32,
            });
        }
        if regs_changed {
            self.emit(Event::RegulatorsChanged {
                count: chain.regulators.len() as u32,
            });
        }
        self.put_chain(&chain);
        Ok(())
    }

    /// Records which consensus keys entered and left the set from height
    /// `at` (see [`KeyTenure`]).
    fn record_tenure(
        &mut self,
        before: &ValidatorSet,
        after: &ValidatorSet,
        at: Height,
    ) -> Result<(), TxError> {
        for v in before.validators() {
            if after.index_of(&v.consensus_key).is_none() {
                let key = StateKey::ConsensusKey(v.consensus_key);
                let mut t: KeyTenure = self.get(&key)?.unwrap_or_default();
                if let Some(open) = t.spans.iter_mut().find(|s| s.until.is_none()) {
                    open.until = Some(at);
                }
                self.put(&key, &t);
            }
        }
        for v in after.validators() {
            if before.index_of(&v.consensus_key).is_none() {
                let key = StateKey::ConsensusKey(v.consensus_key);
                let mut t: KeyTenure = self.get(&key)?.unwrap_or_default();
                t.spans.push(KeySpan {
                    operator: v.operator,
                    from: at,
                    until: None,
                });
                self.put(&key, &t);
            }
        }
        Ok(())
    }

    /// Start of block: closes proposals that reached their expiry height.
    pub(crate) fn expire_proposals(&mut self, chain: &mut ChainState) -> Result<(), TxError> {
        let height = self.ctx.height;
        let mut still_open = Vec::with_capacity(chain.open_proposals.len());
        for id in std::mem::take(&mut chain.open_proposals) {
            let Some(mut p) = self.get::<Proposal>(&StateKey::Proposal(id))? else {
                continue;
            };
            if height >= p.expires {
                p.status = ProposalStatus::Expired;
                self.put(&StateKey::Proposal(id), &p);
                self.emit(Event::ProposalExpired { proposal: id });
            } else {
                still_open.push(id);
            }
        }
        chain.open_proposals = still_open;
        Ok(())
    }
}
