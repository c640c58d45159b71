//! Who may sign which body: the one table ([`signer_role`]), checked once
//! by the dispatcher before a handler runs ([`Ledger::check_signer`]).
//! Handlers check only what the body does, never who sent it.

use super::ledger::Ledger;
use crate::error::TxError;
use crate::state::{Proposal, StateKey, StateReader};
use crate::tx::Body;
use crate::types::{AccountId, MeterId};

/// The role a body's signer must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Anyone, even without an account: the relayer of a site's
    /// consumption readings or of a validator's double vote, whose weight is
    /// the device's or the votes' signatures, not the relayer's.
    Anyone,
    /// Any known account (moving or retiring its own credits, settling its
    /// own site's shortfall is [`Role::SiteOwner`]).
    Holder,
    /// An authority (a validator's operator account).
    Authority,
    /// A regulator.
    Regulator,
    /// An authority or a regulator.
    AuthorityOrRegulator,
    /// The authority that operates every meter the body names.
    MeterOperator,
    /// The authority that operates the meter, or a regulator.
    MeterOperatorOrRegulator,
    /// The owner of the site the body names.
    SiteOwner,
    /// An authority, or a regulator when the proposal is one regulators
    /// vote on (regulator or parameter changes).
    ProposalVoter,
    /// A grid operator the regulator named for the zone the order covers.
    GridOperator,
}

/// Who may sign `body`: the one table.
pub fn signer_role(body: &Body) -> Role {
    match body {
        Body::SubmitConsumption { .. }
        | Body::Evidence { .. }
        | Body::SubmitFeederReadings { .. }
        | Body::SubmitDeclaredLoad { .. }
        | Body::AckCurtailment { .. } => Role::Anyone,
        Body::Transfer { .. } | Body::Retire { .. } => Role::Holder,
        Body::RegisterMeter { .. } | Body::ProposeAuthoritySet { .. } => Role::Authority,
        Body::ApproveMeter { .. }
        | Body::TransferMeterOperator { .. }
        | Body::RegisterSite { .. }
        | Body::SetZonePolicy { .. }
        | Body::SuspendSite { .. }
        | Body::ReinstateSite { .. }
        | Body::RevokeSite { .. }
        | Body::ReplaceSiteKey { .. }
        | Body::WithdrawCredits { .. }
        | Body::RegisterFeeder { .. }
        | Body::AttachToFeeder { .. }
        | Body::ClearFeederAlert { .. }
        | Body::ResyncFeederMeter { .. }
        | Body::SetZoneSandbox { .. }
        | Body::IssuePermit { .. }
        | Body::RevokePermit { .. } => Role::Regulator,
        Body::Curtail { .. } | Body::CancelCurtailment { .. } => Role::GridOperator,
        Body::ProposeRegulatorSet { .. } | Body::ProposeChainParams { .. } => {
            Role::AuthorityOrRegulator
        }
        Body::SubmitReadings { .. } | Body::ReplaceMeterKey { .. } | Body::ResyncMeter { .. } => {
            Role::MeterOperator
        }
        Body::RevokeMeter { .. } => Role::MeterOperatorOrRegulator,
        Body::SettleShortfall { .. } => Role::SiteOwner,
        Body::Vote { .. } => Role::ProposalVoter,
    }
}

/// The meters a body names, for [`Role::MeterOperator`] and
/// [`Role::MeterOperatorOrRegulator`].
fn named_meters(body: &Body) -> Vec<MeterId> {
    match body {
        Body::SubmitReadings { readings } => readings.iter().map(|r| r.reading.meter).collect(),
        Body::ReplaceMeterKey { meter, .. }
        | Body::ResyncMeter { meter, .. }
        | Body::RevokeMeter { meter, .. } => vec![*meter],
        _ => Vec::new(),
    }
}

impl<R: StateReader + ?Sized> Ledger<'_, R> {
    /// Whether `signer` holds the role [`signer_role`] gives `body`; the
    /// objects the role names (meter, site, proposal) must exist.
    pub(super) fn check_signer(&self, signer: &AccountId, body: &Body) -> Result<(), TxError> {
        let chain = self.chain()?;
        let not = |role: &'static str| {
            Err(TxError::NotPermitted {
                signer: *signer,
                role,
            })
        };
        let authority = chain.is_authority(signer);
        let regulator = chain.is_regulator(signer);
        match signer_role(body) {
            Role::Anyone | Role::Holder => Ok(()),
            Role::Authority if !authority => not("an authority"),
            Role::Regulator if !regulator => not("a regulator"),
            Role::AuthorityOrRegulator if !authority && !regulator => {
                not("an authority or regulator")
            }
            Role::MeterOperatorOrRegulator if regulator => Ok(()),
            Role::MeterOperator | Role::MeterOperatorOrRegulator => {
                for id in named_meters(body) {
                    let meter = self.meter(id)?;
                    if meter.operator != *signer {
                        return Err(TxError::NotMeterOperator {
                            meter: id,
                            operator: meter.operator,
                            signer: *signer,
                        });
                    }
                    if !authority {
                        return not("an authority");
                    }
                }
                Ok(())
            }
            Role::SiteOwner => {
                let Body::SettleShortfall { site, .. } = body else {
                    return Ok(());
                };
                let owner = self.site(*site)?.owner;
                if owner != *signer {
                    return Err(TxError::NotSiteOwner {
                        site: *site,
                        signer: *signer,
                    });
                }
                Ok(())
            }
            Role::GridOperator => {
                let zone = match body {
                    Body::Curtail { target, .. } => self.target_zone(target)?,
                    Body::CancelCurtailment { order } => self.order(*order)?.zone,
                    _ => return Ok(()),
                };
                let sandbox = self.sandbox(&zone)?;
                if !sandbox.grid_operators.contains(signer) {
                    return Err(TxError::NotGridOperator {
                        signer: *signer,
                        zone,
                    });
                }
                Ok(())
            }
            Role::ProposalVoter => {
                let Body::Vote { proposal: id, .. } = body else {
                    return Ok(());
                };
                let proposal: Proposal = self
                    .get(&StateKey::Proposal(*id))?
                    .ok_or(TxError::UnknownProposal { proposal: *id })?;
                let may_vote = authority || (regulator && proposal.kind.needs_regulators());
                if !may_vote {
                    return not("a voter on this proposal");
                }
                Ok(())
            }
            Role::Authority | Role::Regulator | Role::AuthorityOrRegulator => Ok(()),
        }
    }
}
