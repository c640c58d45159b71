//! `site ...`: a mining site's run status (once, or watched, in
//! `site_watch.rs`), its registration, the settlement of its shortfall and
//! the owner's acknowledgement of a curtailment order.

use crate::ctx::{key, parse_account, serial, zone, Ctx, DeviceArgs, Wait};
use crate::error::WalletError;
use crate::sandbox::{invalid, resolve, SandboxError};
use crate::site_watch::{standing, watch};
use crate::utc::{self, parse_when, When};
use clap::Subcommand;
use watt_rpc_client::api::{GridApiClient, SitesApiClient};
use watt_rpc_client::builders;
use watt_rpc_client::client::Signer;
use watt_runtime::sandbox::OrderId;
use watt_runtime::tx::Body;
use watt_runtime::types::{AccountId, SiteId, Watts};

#[derive(Subcommand, Debug)]
pub enum SiteCommand {
    /// Whether the site may run now, at what power, why and until when.
    Status {
        /// The site id.
        id: u64,
    },
    /// Print `run up to ...`, `limit ...` or `stop` with the reason
    /// whenever the answer changes (Ctrl-C ends).
    Watch {
        /// The site id.
        id: u64,
    },
    /// Acknowledge a curtailment order for a site (its owner signs the
    /// acknowledgement and the transaction).
    Ack {
        /// The site owner's key.
        #[arg(long)]
        from: String,
        /// The order number.
        order: u64,
        /// The site.
        #[arg(long)]
        site: u64,
        /// When the order was seen: a UTC time, unix seconds or `+0m`
        /// (default: the latest block's time).
        #[arg(long, value_parser = parse_when)]
        seen_at: Option<When>,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
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
                    "site {} at height {}: {}\n  open debt {}  shortfall {}  eligible {}  runway {} s",
                    s.site,
                    s.height,
                    standing(&s),
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
        SiteCommand::Ack {
            from,
            order,
            site,
            seen_at,
            wait,
        } => ack(ctx, &from, order, SiteId(site), seen_at, wait).await?,
    }
    Ok(())
}

/// `site ack`: checks that the key owns the site and that the order
/// affects it (a clear error rather than the chain's refusal), then signs
/// the acknowledgement and relays it.
async fn ack(
    ctx: &Ctx,
    from: &str,
    order: u64,
    site: SiteId,
    seen_at: Option<When>,
    wait: Wait,
) -> Result<(), WalletError> {
    let (key, chain_id, client) = ctx.unlock(from).await?;
    let signer = AccountId(key.public());
    let s = client
        .idempotent(|c| async move { SitesApiClient::get(&c, site, None).await })
        .await?
        .ok_or(SandboxError::UnknownSite { site })?;
    if s.owner != signer {
        return Err(SandboxError::NotOwner {
            site,
            owner: s.owner,
            signer,
        }
        .into());
    }
    let o = client
        .idempotent(|c| async move { GridApiClient::curtailment(&c, order, None).await })
        .await?
        .ok_or(SandboxError::UnknownOrder { order })?;
    if let Some(seen) = o
        .sites
        .iter()
        .find(|r| r.site == site)
        .and_then(|r| r.acked_at)
    {
        return Err(SandboxError::AckedAlready {
            order,
            site,
            seen_at: utc::iso(seen),
        }
        .into());
    }
    if !o.sites.iter().any(|r| r.site == site) {
        let affected: Vec<String> = o.sites.iter().map(|r| format!("site {}", r.site)).collect();
        return Err(SandboxError::NotAffected {
            order,
            site,
            affected: if affected.is_empty() {
                "no site".into()
            } else {
                affected.join(", ")
            },
        }
        .into());
    }
    let seen_at = resolve(&client, seen_at.unwrap_or(When::AfterHead(0))).await?;
    let signed = builders::sign_curtailment_ack(&chain_id, &key, OrderId(order), site, seen_at)
        .map_err(|e| invalid(e, "--end"))?;
    ctx.say(|| {
        format!(
            "acknowledging order {order} for site {site}, seen at {}",
            utc::iso(seen_at)
        )
    })?;
    let sent = ctx
        .sign_and_submit(
            &client,
            Signer::new(key, chain_id),
            builders::ack_curtailment(signed),
            wait,
        )
        .await?;
    ctx.print(&sent, || sent.text())
}
