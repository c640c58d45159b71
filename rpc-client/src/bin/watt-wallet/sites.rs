//! `site ...`: a mining site's run status (once, or watched), its
//! registration and the settlement of its shortfall.

use crate::ctx::{key, parse_account, serial, zone, Ctx, DeviceArgs, Wait};
use crate::error::WalletError;
use clap::Subcommand;
use std::time::Duration;
use watt_rpc_client::api::SitesApiClient;
use watt_rpc_client::jsonrpsee::core::client::{Error as ClientError, Subscription};
use watt_rpc_client::jsonrpsee::ws_client::WsClientBuilder;
use watt_rpc_client::types::CanRun;
use watt_rpc_client::view::SiteStatus;
use watt_runtime::tx::Body;
use watt_runtime::types::{AccountId, SiteId, Watts};

#[derive(Subcommand, Debug)]
pub enum SiteCommand {
    /// Whether the site may run now.
    Status {
        /// The site id.
        id: u64,
    },
    /// Print `run` or `stop` whenever the answer changes (Ctrl-C ends).
    Watch {
        /// The site id.
        id: u64,
    },
    /// Register a mining site (the regulator signs).
    Register {
        /// The key that signs.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        device: DeviceArgs,
        /// The account whose credits it burns.
        #[arg(long, value_parser = parse_account)]
        owner: AccountId,
        /// Its maximum draw in watts.
        #[arg(long)]
        max_draw_w: u64,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Pay off a site's shortfall with its penalty (the owner signs).
    Settle {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The site id.
        id: u64,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
}

/// Why a `site` command failed, beyond the keystore and the node.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The node refused to report on the site (e.g. there is no such site).
    #[error("site {site}: {reason}")]
    Refused {
        /// The site.
        site: SiteId,
        /// The node's reason.
        reason: String,
    },
}

/// Runs a `site` command; `watch` runs until interrupted.
pub async fn run(ctx: &Ctx, cmd: SiteCommand) -> Result<(), WalletError> {
    let client = ctx.client()?;
    match cmd {
        SiteCommand::Status { id } => {
            let id = SiteId(id);
            let s = client
                .idempotent(|c| async move { SitesApiClient::can_run(&c, id, None).await })
                .await?;
            ctx.print(&s, || {
                format!(
                    "site {} at height {}: {} ({})\n  open debt {}  shortfall {}  eligible {}  runway {} s",
                    s.site,
                    s.height,
                    if s.allowed { "run" } else { "stop" },
                    status_name(&s.status),
                    ctx.energy(s.open_debt),
                    ctx.energy(s.shortfall),
                    ctx.energy(s.eligible_balance),
                    s.runway_seconds
                )
            })?;
        }
        SiteCommand::Register {
            from,
            device,
            owner,
            max_draw_w,
            wait,
        } => {
            let body = Body::RegisterSite {
                serial: serial(&device.serial)?,
                device_key: key(&device.device_key)?,
                owner,
                zone: zone(&device.zone)?,
                max_draw: Watts(max_draw_w),
                baseline_time: device.baseline_time,
                baseline_counter: device.baseline_counter,
            };
            ctx.send(&from, body, wait).await?;
        }
        SiteCommand::Settle { from, id, wait } => {
            let body = Body::SettleShortfall {
                site: SiteId(id),
                vintages: None,
            };
            ctx.send(&from, body, wait).await?;
        }
        SiteCommand::Watch { id } => watch(ctx, SiteId(id)).await?,
    }
    Ok(())
}

/// Prints the site's `run`/`stop` whenever it changes, until interrupted.
///
/// The node pushes every change (sites_subscribeStatus); after a dropped
/// connection the wallet reconnects and the first notification is the
/// status now.
async fn watch(ctx: &Ctx, id: SiteId) -> Result<(), WalletError> {
    let ws_url = ctx
        .rpc_url
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    let mut last: Option<bool> = None;
    let mut delay = Duration::from_millis(200);
    loop {
        let ws = match WsClientBuilder::default().build(&ws_url).await {
            Ok(ws) => ws,
            Err(e) => {
                eprintln!("cannot reach {ws_url}: {e}; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        delay = Duration::from_millis(200);
        let mut sub: Subscription<CanRun> = match SitesApiClient::subscribe_status(&ws, id).await {
            Ok(sub) => sub,
            Err(ClientError::Call(e)) => {
                return Err(SiteError::Refused {
                    site: id,
                    reason: watt_rpc_client::error::reason_of(&e)
                        .unwrap_or_else(|| e.message().to_string()),
                }
                .into())
            }
            Err(_) => continue,
        };
        while let Some(Ok(s)) = sub.next().await {
            if last != Some(s.allowed) {
                ctx.print(&s, || {
                    format!(
                        "height {}: {} ({})",
                        s.height,
                        if s.allowed { "run" } else { "stop" },
                        status_name(&s.status)
                    )
                })?;
                last = Some(s.allowed);
            }
        }
        // Without the node's word a controller must assume stop.
        if last != Some(false) {
            println!("connection lost: stop (reconnecting)");
        }
        last = None;
    }
}

/// A status as the JSON names it (`suspendedShortfall`).
fn status_name(s: &SiteStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
