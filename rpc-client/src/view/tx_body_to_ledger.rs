//! The transaction body back into a ledger value: what a wallet sends,
//! checked against the ledger's bounds.

use super::Body;
use crate::view::feeder::{feeder_id, signed_all};
use crate::view::{bounded, named, text, ViewError};
use watt_runtime::tx as ledger;

impl TryFrom<Body> for ledger::Body {
    type Error = ViewError;
    fn try_from(v: Body) -> Result<Self, ViewError> {
        Ok(match v {
            Body::Transfer {
                to,
                amount,
                vintages,
            } => ledger::Body::Transfer {
                to,
                amount,
                vintages: named("vintages", vintages)?,
            },
            Body::Retire {
                amount,
                beneficiary,
                purpose,
                vintages,
            } => ledger::Body::Retire {
                amount,
                beneficiary: text("beneficiary", beneficiary)?,
                purpose: text("purpose", purpose)?,
                vintages: named("vintages", vintages)?,
            },
            Body::RegisterMeter {
                serial,
                device_key,
                owner,
                source,
                capacity,
                zone,
                baseline_time,
                baseline_counter,
            } => ledger::Body::RegisterMeter {
                serial: text("serial", serial)?,
                device_key,
                owner,
                source,
                capacity,
                zone,
                baseline_time,
                baseline_counter,
            },
            Body::ApproveMeter { meter } => ledger::Body::ApproveMeter { meter },
            Body::SubmitReadings { readings } => ledger::Body::SubmitReadings {
                readings: bounded("readings", readings.into_iter().map(Into::into).collect())?,
            },
            Body::ReplaceMeterKey {
                meter,
                new_device_key,
                baseline_time,
                baseline_counter,
            } => ledger::Body::ReplaceMeterKey {
                meter,
                new_device_key,
                baseline_time,
                baseline_counter,
            },
            Body::ResyncMeter {
                meter,
                baseline_time,
                baseline_counter,
            } => ledger::Body::ResyncMeter {
                meter,
                baseline_time,
                baseline_counter,
            },
            Body::TransferMeterOperator {
                meter,
                new_operator,
            } => ledger::Body::TransferMeterOperator {
                meter,
                new_operator,
            },
            Body::RevokeMeter { meter, reason } => ledger::Body::RevokeMeter {
                meter,
                reason: text("reason", reason)?,
            },
            Body::RegisterSite {
                serial,
                device_key,
                owner,
                zone,
                max_draw,
                baseline_time,
                baseline_counter,
            } => ledger::Body::RegisterSite {
                serial: text("serial", serial)?,
                device_key,
                owner,
                zone,
                max_draw,
                baseline_time,
                baseline_counter,
            },
            Body::SubmitConsumption { readings } => ledger::Body::SubmitConsumption {
                readings: bounded("readings", readings.into_iter().map(Into::into).collect())?,
            },
            Body::SettleShortfall { site, vintages } => ledger::Body::SettleShortfall {
                site,
                vintages: named("vintages", vintages)?,
            },
            Body::SetZonePolicy { zone, policy } => ledger::Body::SetZonePolicy { zone, policy },
            Body::SuspendSite { site, reason } => ledger::Body::SuspendSite {
                site,
                reason: text("reason", reason)?,
            },
            Body::ReinstateSite { site, reason } => ledger::Body::ReinstateSite {
                site,
                reason: text("reason", reason)?,
            },
            Body::RevokeSite { site, reason } => ledger::Body::RevokeSite {
                site,
                reason: text("reason", reason)?,
            },
            Body::ReplaceSiteKey {
                site,
                new_device_key,
                baseline_time,
                baseline_counter,
            } => ledger::Body::ReplaceSiteKey {
                site,
                new_device_key,
                baseline_time,
                baseline_counter,
            },
            Body::WithdrawCredits {
                account,
                vintage,
                amount,
                reason,
            } => ledger::Body::WithdrawCredits {
                account,
                vintage,
                amount,
                reason: text("reason", reason)?,
            },
            Body::ProposeAuthoritySet { change } => ledger::Body::ProposeAuthoritySet {
                change: change.try_into()?,
            },
            Body::ProposeRegulatorSet { change } => ledger::Body::ProposeRegulatorSet {
                change: change.into(),
            },
            Body::ProposeChainParams { params } => ledger::Body::ProposeChainParams { params },
            Body::Vote { proposal, approve } => ledger::Body::Vote { proposal, approve },
            Body::Evidence { first, second } => ledger::Body::Evidence {
                first: first.into(),
                second: second.into(),
            },
            Body::RegisterFeeder { feeder } => ledger::Body::RegisterFeeder {
                feeder: feeder.try_into()?,
            },
            Body::AttachToFeeder {
                device,
                feeder,
                from_hour,
            } => ledger::Body::AttachToFeeder {
                device: device.into(),
                feeder: feeder_id("feeder", feeder)?,
                from_hour,
            },
            Body::SubmitFeederReadings { readings } => ledger::Body::SubmitFeederReadings {
                readings: bounded("readings", signed_all(readings)?)?,
            },
            Body::SubmitDeclaredLoad { loads } => ledger::Body::SubmitDeclaredLoad {
                loads: bounded("loads", signed_all(loads)?)?,
            },
            Body::SetZoneSandbox {
                zone,
                permits_required,
                grid_operators,
            } => ledger::Body::SetZoneSandbox {
                zone,
                permits_required,
                grid_operators: bounded("grid_operators", grid_operators)?,
            },
            Body::IssuePermit { site, terms } => ledger::Body::IssuePermit {
                site,
                terms: terms.into(),
            },
            Body::RevokePermit { site, reason } => ledger::Body::RevokePermit {
                site,
                reason: text("reason", reason)?,
            },
            Body::Curtail {
                target,
                start,
                end,
                max_mining,
            } => ledger::Body::Curtail {
                target: target.try_into()?,
                start,
                end,
                max_mining,
            },
            Body::CancelCurtailment { order } => ledger::Body::CancelCurtailment {
                order: watt_runtime::sandbox::OrderId(order),
            },
            Body::AckCurtailment { ack } => ledger::Body::AckCurtailment { ack: ack.into() },
            Body::ClearFeederAlert { feeder, reason } => ledger::Body::ClearFeederAlert {
                feeder: feeder_id("feeder", feeder)?,
                reason: text("reason", reason)?,
            },
            Body::ResyncFeederMeter {
                feeder,
                baseline_time,
                baseline_import,
                baseline_export,
            } => ledger::Body::ResyncFeederMeter {
                feeder: feeder_id("feeder", feeder)?,
                baseline_time,
                baseline_import,
                baseline_export,
            },
        })
    }
}
