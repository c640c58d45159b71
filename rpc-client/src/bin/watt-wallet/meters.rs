//! `meter ...`: register and approve generation meters, and relay their
//! signed readings.

use crate::ctx::{key, parse_account, serial, zone, Ctx, DeviceArgs, Wait};
use crate::error::WalletError;
use clap::Subcommand;
use std::path::PathBuf;
use watt_rpc_client::view;
use watt_runtime::encoding::BoundedVec;
use watt_runtime::tx::{Body, GenerationReading, Signed};
use watt_runtime::types::{AccountId, MeterId, Source, Watts};

#[derive(Subcommand, Debug)]
pub enum MeterCommand {
    /// Register a generation meter (an authority signs and operates it).
    Register {
        /// The key that signs.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        device: DeviceArgs,
        /// The producer who receives the credits.
        #[arg(long, value_parser = parse_account)]
        owner: AccountId,
        /// solar, wind, hydro, geothermal, biomass or other-renewable.
        #[arg(long)]
        source: String,
        /// Nameplate capacity in watts.
        #[arg(long)]
        capacity_w: u64,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Approve a registered meter (the regulator signs).
    Approve {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The meter id.
        id: u64,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Relay signed generation readings (the meter's operator signs).
    SubmitReadings {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// A JSON list of signed readings, each `{"reading": {...}, "signature": "0x..."}`.
        #[arg(long)]
        file: PathBuf,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
}

/// Why a `meter` command failed, beyond the keystore and the node.
#[derive(Debug, thiserror::Error)]
pub enum MeterError {
    /// An energy source the chain does not know.
    #[error("--source {given:?}: use solar, wind, hydro, geothermal, biomass or other-renewable")]
    UnknownSource {
        /// What was given.
        given: String,
    },
    /// A readings file that is not a JSON list of signed readings.
    #[error("{}: not a JSON list of signed readings: {source}", .path.display())]
    BadReadings {
        /// The file.
        path: PathBuf,
        /// Why it does not parse.
        source: serde_json::Error,
    },
    /// More readings than one transaction carries.
    #[error(
        "{}: {count} readings is more than one transaction carries",
        .path.display()
    )]
    TooManyReadings {
        /// The file.
        path: PathBuf,
        /// How many it holds.
        count: usize,
    },
}

/// Runs a `meter` command.
pub async fn run(ctx: &Ctx, cmd: MeterCommand) -> Result<(), WalletError> {
    match cmd {
        MeterCommand::Register {
            from,
            device,
            owner,
            source,
            capacity_w,
            wait,
        } => {
            let source: Source = serde_json::from_value(serde_json::Value::String(source.clone()))
                .map_err(|_| MeterError::UnknownSource { given: source })?;
            let body = Body::RegisterMeter {
                serial: serial(&device.serial)?,
                device_key: key(&device.device_key)?,
                owner,
                source,
                capacity: Watts(capacity_w),
                zone: zone(&device.zone)?,
                baseline_time: device.baseline_time,
                baseline_counter: device.baseline_counter,
            };
            ctx.send(&from, body, wait).await?;
        }
        MeterCommand::Approve { from, id, wait } => {
            ctx.send(&from, Body::ApproveMeter { meter: MeterId(id) }, wait)
                .await?;
        }
        MeterCommand::SubmitReadings { from, file, wait } => {
            let text = std::fs::read_to_string(&file).map_err(|source| WalletError::Read {
                path: file.clone(),
                source,
            })?;
            let shown: Vec<view::Signed<view::GenerationReading>> = serde_json::from_str(&text)
                .map_err(|source| MeterError::BadReadings {
                    path: file.clone(),
                    source,
                })?;
            let readings: Vec<Signed<GenerationReading>> =
                shown.into_iter().map(Into::into).collect();
            let count = readings.len();
            let readings = BoundedVec::new(readings)
                .map_err(|_| MeterError::TooManyReadings { path: file, count })?;
            ctx.send(&from, Body::SubmitReadings { readings }, wait)
                .await?;
        }
    }
    Ok(())
}
