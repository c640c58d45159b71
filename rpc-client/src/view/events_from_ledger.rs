//! The conversion of the runtime's events into their API view.

use super::Event;
use watt_runtime::events as ledger;

impl From<ledger::Event> for Event {
    fn from(v: ledger::Event) -> Self {
        match v {
            ledger::Event::Minted {
                meter,
                sequence,
                owner,
                vintage,
                source,
                amount,
            } => Event::Minted {
                meter,
                sequence,
                owner,
                vintage,
                source,
                amount,
            },
            ledger::Event::Transferred { from, to, parts } => {
                Event::Transferred { from, to, parts }
            }
            ledger::Event::Retired { id, account, parts } => Event::Retired { id, account, parts },
            ledger::Event::Consumed {
                site,
                sequence,
                hour,
                bucket,
                amount,
            } => Event::Consumed {
                site,
                sequence,
                hour,
                bucket,
                amount,
            },
            ledger::Event::Burned { site, owner, parts } => Event::Burned { site, owner, parts },
            ledger::Event::DebtOpened {
                site,
                bucket,
                amount,
                deadline,
            } => Event::DebtOpened {
                site,
                bucket,
                amount,
                deadline,
            },
            ledger::Event::DebtSettled {
                site,
                bucket,
                amount,
                remaining,
            } => Event::DebtSettled {
                site,
                bucket,
                amount,
                remaining,
            },
            ledger::Event::ShortfallRecorded {
                site,
                bucket,
                amount,
            } => Event::ShortfallRecorded {
                site,
                bucket,
                amount,
            },
            ledger::Event::ShortfallSettled {
                site,
                shortfall,
                cost,
            } => Event::ShortfallSettled {
                site,
                shortfall,
                cost,
            },
            ledger::Event::Violation {
                site,
                violation,
                sequence,
                detail,
            } => Event::Violation {
                site,
                violation: violation.into(),
                sequence,
                detail,
            },
            ledger::Event::Expired {
                account,
                vintage,
                amount,
            } => Event::Expired {
                account,
                vintage,
                amount,
            },
            ledger::Event::Withdrawn {
                account,
                vintage,
                amount,
                reason,
            } => Event::Withdrawn {
                account,
                vintage,
                amount,
                reason: reason.into(),
            },
            ledger::Event::MeterRegistered {
                meter,
                operator,
                owner,
                zone,
                source,
                capacity,
            } => Event::MeterRegistered {
                meter,
                operator,
                owner,
                zone,
                source,
                capacity,
            },
            ledger::Event::MeterApproved { meter, device_key } => {
                Event::MeterApproved { meter, device_key }
            }
            ledger::Event::MeterKeyReplaced {
                meter,
                new_device_key,
                old_counter,
                new_counter,
            } => Event::MeterKeyReplaced {
                meter,
                new_device_key,
                old_counter,
                new_counter,
            },
            ledger::Event::MeterResynced {
                meter,
                baseline_time,
                forfeited,
            } => Event::MeterResynced {
                meter,
                baseline_time,
                forfeited,
            },
            ledger::Event::MeterOperatorChanged { meter, operator } => {
                Event::MeterOperatorChanged { meter, operator }
            }
            ledger::Event::MeterRevoked { meter, reason } => Event::MeterRevoked {
                meter,
                reason: reason.into(),
            },
            ledger::Event::SiteRegistered {
                site,
                owner,
                zone,
                max_draw,
            } => Event::SiteRegistered {
                site,
                owner,
                zone,
                max_draw,
            },
            ledger::Event::SiteSuspended { site, reason } => Event::SiteSuspended {
                site,
                reason: reason.into(),
            },
            ledger::Event::SiteReinstated { site, reason } => Event::SiteReinstated {
                site,
                reason: reason.into(),
            },
            ledger::Event::SiteRevoked { site, reason } => Event::SiteRevoked {
                site,
                reason: reason.into(),
            },
            ledger::Event::SiteKeyReplaced {
                site,
                new_device_key,
            } => Event::SiteKeyReplaced {
                site,
                new_device_key,
            },
            ledger::Event::ZonePolicySet {
                zone,
                effective_hour,
            } => Event::ZonePolicySet {
                zone,
                effective_hour,
            },
            ledger::Event::ZonePolicyActivated { zone } => Event::ZonePolicyActivated { zone },
            ledger::Event::ProposalCreated { proposal, proposer } => {
                Event::ProposalCreated { proposal, proposer }
            }
            ledger::Event::Voted {
                proposal,
                voter,
                approve,
            } => Event::Voted {
                proposal,
                voter,
                approve,
            },
            ledger::Event::ProposalPassed {
                proposal,
                activation,
            } => Event::ProposalPassed {
                proposal,
                activation,
            },
            ledger::Event::ProposalRejected { proposal } => Event::ProposalRejected { proposal },
            ledger::Event::ProposalExpired { proposal } => Event::ProposalExpired { proposal },
            ledger::Event::EquivocationProven {
                consensus_key,
                operator,
                height,
                activation,
            } => Event::EquivocationProven {
                consensus_key,
                operator,
                height,
                activation,
            },
            ledger::Event::AuthoritiesChanged {
                validator_set_hash,
                count,
            } => Event::AuthoritiesChanged {
                validator_set_hash,
                count,
            },
            ledger::Event::RegulatorsChanged { count } => Event::RegulatorsChanged { count },
            ledger::Event::ParamsChanged => Event::ParamsChanged,
            ledger::Event::FeederRegistered {
                feeder,
                zone,
                rated_capacity,
                first_hour,
            } => Event::FeederRegistered {
                feeder: feeder.into(),
                zone,
                rated_capacity,
                first_hour,
            },
            ledger::Event::FeederAttached {
                device,
                feeder,
                from_hour,
            } => Event::FeederAttached {
                device: device.into(),
                feeder: feeder.into(),
                from_hour,
            },
            ledger::Event::FeederMeterResynced {
                feeder,
                baseline_time,
            } => Event::FeederMeterResynced {
                feeder: feeder.into(),
                baseline_time,
            },
            ledger::Event::FeederCounterWentDown {
                feeder,
                sequence,
                counter,
            } => Event::FeederCounterWentDown {
                feeder: feeder.into(),
                sequence,
                counter: counter.into(),
            },
            ledger::Event::FeederBalance {
                feeder,
                hour,
                import,
                export,
                generation,
                consumption,
                declared,
                allowance,
                unexplained,
                status,
            } => Event::FeederBalance {
                feeder: feeder.into(),
                hour,
                import,
                export,
                generation,
                consumption,
                declared,
                allowance,
                unexplained,
                status: status.into(),
            },
            ledger::Event::UnexplainedLoad {
                feeder,
                from_hour,
                through_hour,
                hours,
                unexplained,
            } => Event::UnexplainedLoad {
                feeder: feeder.into(),
                from_hour,
                through_hour,
                hours,
                unexplained,
            },
            ledger::Event::FeederAlertCleared {
                feeder,
                from_hour,
                through_hour,
                reason,
            } => Event::FeederAlertCleared {
                feeder: feeder.into(),
                from_hour,
                through_hour,
                reason: reason.into(),
            },
            ledger::Event::ZoneSandboxSet {
                zone,
                permits_from,
                grid_operators,
            } => Event::ZoneSandboxSet {
                zone,
                permits_from,
                grid_operators,
            },
            ledger::Event::PermitIssued {
                site,
                feeder,
                terms,
            } => Event::PermitIssued {
                site,
                feeder: feeder.into(),
                terms: terms.into(),
            },
            ledger::Event::PermitRevoked { site, reason } => Event::PermitRevoked {
                site,
                reason: reason.into(),
            },
            ledger::Event::CurtailmentOrdered {
                order,
                target,
                zone,
                start,
                end,
                max_mining,
                shares,
            } => Event::CurtailmentOrdered {
                order: order.0,
                target: target.into(),
                zone,
                start,
                end,
                max_mining,
                shares: crate::view::sandbox::site_shares(shares),
            },
            ledger::Event::CurtailmentCancelled { order, at, judged } => {
                Event::CurtailmentCancelled {
                    order: order.0,
                    at,
                    judged,
                }
            }
            ledger::Event::CurtailmentAcknowledged {
                order,
                site,
                seen_at,
            } => Event::CurtailmentAcknowledged {
                order: order.0,
                site,
                seen_at,
            },
            ledger::Event::CurtailmentVerdict {
                order,
                site,
                share,
                start,
                end,
                used,
                allowed,
                reported,
                honoured,
            } => Event::CurtailmentVerdict {
                order: order.0,
                site,
                share,
                start,
                end,
                used,
                allowed,
                reported,
                honoured,
            },
            ledger::Event::FeederOverload {
                feeder,
                hour,
                import,
                consumption,
                capacity,
            } => Event::FeederOverload {
                feeder: feeder.into(),
                hour,
                import,
                consumption,
                capacity,
            },
            ledger::Event::LateFeederConsumption {
                feeder,
                site,
                hour,
                amount,
            } => Event::LateFeederConsumption {
                feeder: feeder.into(),
                site,
                hour,
                amount,
            },
            ledger::Event::LateFeederGeneration {
                feeder,
                meter,
                hour,
                amount,
            } => Event::LateFeederGeneration {
                feeder: feeder.into(),
                meter,
                hour,
                amount,
            },
        }
    }
}
