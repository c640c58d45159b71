//! `grid curtail`, `grid cancel`, `grid curtailments`, `grid curtailment`:
//! a grid operator's curtailment orders, and reading them with each
//! affected site's share, use, acknowledgement and verdict
//! (docs/protocol.md §18). What they print for people is in
//! `curtail_text.rs`.

use crate::ctx::{zone, Ctx, Wait};
use crate::curtail_text::{list_line, shares_text, show, window};
use crate::error::WalletError;
use crate::feeders::{head_time, parse_feeder};
use crate::power;
use crate::sandbox::{invalid, SandboxError};
use crate::utc::{self, parse_when, When};
use clap::{ArgGroup, Subcommand};
use serde::Serialize;
use watt_rpc_client::api::{GridApiClient, TxApiClient};
use watt_rpc_client::builders;
use watt_rpc_client::client::{Signer, WattClient};
use watt_rpc_client::types::{BlockId, CurtailmentFilter, CurtailmentStates, MAX_CURTAILMENTS};
use watt_rpc_client::view::{Curtailment, Event, SiteShare};
use watt_runtime::sandbox::{self as ledger, OrderId, MAX_CURTAIL_S};
use watt_runtime::types::{SiteId, Watts};

#[derive(Subcommand, Debug)]
pub enum CurtailCommand {
    /// Order the mining sites of a feeder or a zone down to a total power
    /// for a window of at most 24 h (a grid operator of the zone signs).
    #[command(group(ArgGroup::new("target").required(true).args(["feeder", "zone"])))]
    #[command(group(ArgGroup::new("until").required(true).args(["end", "minutes"])))]
    Curtail {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The sites attached to this feeder, e.g. `DEV-1/NORTH`.
        #[arg(long, value_parser = parse_feeder)]
        feeder: Option<String>,
        /// Every site of this zone.
        #[arg(long)]
        zone: Option<String>,
        /// When the window starts: a UTC time (`2026-12-01T18:00Z`), unix
        /// seconds, or `+10m` after the latest block; not before the block
        /// that includes the order.
        #[arg(long, value_parser = parse_when)]
        start: When,
        /// When it ends (the same forms; `+2h` counts from the latest
        /// block, not from the start).
        #[arg(long, value_parser = parse_when)]
        end: Option<When>,
        /// How long it lasts, in minutes from the start.
        #[arg(long)]
        minutes: Option<u64>,
        /// The most all affected sites may draw together: `100kW`, `1MW`,
        /// `0` (stop). Each site's share is fixed when the order lands.
        #[arg(long, value_parser = power::parse)]
        max_mining: Watts,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Cancel a curtailment order (a grid operator of its zone signs):
    /// before its start no verdicts follow; during it they cover the time
    /// up to the cancellation.
    Cancel {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The order number.
        order: u64,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Curtailment orders, newest first: all of them, or those on now
    /// (`--active`), to come (`--upcoming`) or over (`--past`).
    #[command(group(ArgGroup::new("state").args(["active", "upcoming", "past"])))]
    Curtailments {
        /// Orders whose window is on now.
        #[arg(long)]
        active: bool,
        /// Orders whose window has not begun.
        #[arg(long)]
        upcoming: bool,
        /// Orders judged or cancelled.
        #[arg(long)]
        past: bool,
        /// Only orders that affect this site.
        #[arg(long)]
        site: Option<u64>,
        /// Only orders in this zone.
        #[arg(long)]
        zone: Option<String>,
        /// The most orders shown.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One curtailment order: its window, and each affected site's share,
    /// use, acknowledgement and verdict.
    Curtailment {
        /// The order number.
        order: u64,
        /// `latest`, `finalized`, a height or a block hash.
        #[arg(long, default_value = "latest")]
        at: BlockId,
    },
}

/// Runs a curtailment command.
pub async fn run(ctx: &Ctx, cmd: CurtailCommand) -> Result<(), WalletError> {
    let client = ctx.client()?;
    match cmd {
        CurtailCommand::Curtail {
            from,
            feeder,
            zone: z,
            start,
            end,
            minutes,
            max_mining,
            wait,
        } => {
            let target = match (feeder, z) {
                (Some(f), _) => builders::feeder_target(&f).map_err(|e| invalid(e, "--end"))?,
                (None, Some(z)) => ledger::CurtailTarget::Zone(zone(&z)?),
                (None, None) => {
                    return Err(SandboxError::Invalid {
                        flag: "--feeder or --zone".into(),
                        reason: "name what to curtail".into(),
                    }
                    .into())
                }
            };
            let relative =
                matches!(start, When::AfterHead(_)) || matches!(end, Some(When::AfterHead(_)));
            let head = if relative {
                head_time(&client).await?
            } else {
                0
            };
            let start = start.resolve(head);
            let (end, end_flag) = match (end, minutes) {
                (Some(e), _) => (e.resolve(head), "--end"),
                (None, Some(m)) => (start.saturating_add(m.saturating_mul(60)), "--minutes"),
                (None, None) => unreachable!("clap requires --end or --minutes"),
            };
            check_window(start, end, end_flag)?;
            let body = builders::curtail(target.clone(), start, end, max_mining)
                .map_err(|e| invalid(e, end_flag))?;
            ctx.say(|| {
                format!(
                    "ordering {target} down to {} of mining from {} to {} ({} min)",
                    power::show(max_mining),
                    utc::iso(start),
                    utc::iso(end),
                    (end - start) / 60
                )
            })?;
            order(ctx, &from, body, wait).await
        }
        CurtailCommand::Cancel { from, order, wait } => {
            let body =
                builders::cancel_curtailment(OrderId(order)).map_err(|e| invalid(e, "--end"))?;
            ctx.send(&from, body, wait).await
        }
        CurtailCommand::Curtailments {
            active,
            upcoming,
            past,
            site,
            zone: z,
            limit,
        } => {
            let state = match (active, upcoming, past) {
                (true, _, _) => CurtailmentStates::Active,
                (_, true, _) => CurtailmentStates::Upcoming,
                (_, _, true) => CurtailmentStates::Past,
                _ => CurtailmentStates::All,
            };
            let filter = CurtailmentFilter {
                state,
                zone: z.as_deref().map(zone).transpose()?,
                site: site.map(SiteId),
                before: None,
            };
            let orders = list(&client, filter, limit).await?;
            ctx.print(&orders, || {
                if orders.is_empty() {
                    return "no curtailment orders".into();
                }
                let lines: Vec<String> = orders
                    .iter()
                    .map(|o| list_line(o, site.map(SiteId)))
                    .collect();
                lines.join("\n")
            })
        }
        CurtailCommand::Curtailment { order, at } => {
            let o = client
                .idempotent(
                    |c| async move { GridApiClient::curtailment(&c, order, Some(at)).await },
                )
                .await?
                .ok_or(SandboxError::UnknownOrder { order })?;
            ctx.print(&o, || show(ctx, &o))
        }
    }
}

/// The builder's window checks, with the times in UTC for people.
fn check_window(start: u64, end: u64, end_flag: &str) -> Result<(), WalletError> {
    let refuse = |reason: String| {
        Err(SandboxError::Invalid {
            flag: end_flag.into(),
            reason,
        }
        .into())
    };
    if end <= start {
        return refuse(format!(
            "the window would end at {}, not after its start {}",
            utc::iso(end),
            utc::iso(start)
        ));
    }
    if end - start > MAX_CURTAIL_S {
        return refuse(format!(
            "the window {} is longer than 24 h; end it by {}",
            window(start, end),
            utc::iso(start + MAX_CURTAIL_S)
        ));
    }
    Ok(())
}

/// Sends a Curtail body and, once it is finalised, says which order it
/// became and each affected site's share (from the transaction's events).
async fn order(
    ctx: &Ctx,
    from: &str,
    body: watt_runtime::tx::Body,
    wait: Wait,
) -> Result<(), WalletError> {
    let (key, chain_id, client) = ctx.unlock(from).await?;
    let sent = ctx
        .sign_and_submit(&client, Signer::new(key, chain_id), body, wait)
        .await?;
    let mut ordered: Option<(u64, Vec<SiteShare>)> = None;
    if sent.location.is_some() {
        let hash = sent.hash;
        let receipt = client
            .idempotent(|c| async move { TxApiClient::receipt(&c, hash).await })
            .await?;
        for e in receipt.map(|r| r.events).unwrap_or_default() {
            if let Event::CurtailmentOrdered { order, shares, .. } = e {
                ordered = Some((order, shares));
            }
        }
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Ordered<'a> {
        #[serde(flatten)]
        sent: &'a crate::ctx::Sent,
        order: Option<u64>,
        shares: Option<&'a [SiteShare]>,
    }
    let shown = Ordered {
        sent: &sent,
        order: ordered.as_ref().map(|(o, _)| *o),
        shares: ordered.as_ref().map(|(_, s)| s.as_slice()),
    };
    ctx.print(&shown, || {
        let mut text = sent.text();
        if let Some((order, shares)) = &ordered {
            text.push_str(&format!("\norder {order}: {}", shares_text(shares)));
        }
        text
    })
}

/// Up to `limit` orders matching `filter`, newest first, a page at a
/// time.
async fn list(
    client: &WattClient,
    mut filter: CurtailmentFilter,
    limit: u32,
) -> Result<Vec<Curtailment>, WalletError> {
    let mut all: Vec<Curtailment> = Vec::new();
    while (all.len() as u32) < limit {
        let want = (limit - all.len() as u32).min(MAX_CURTAILMENTS);
        let page = client
            .idempotent(|c| {
                let f = filter.clone();
                async move { GridApiClient::curtailments(&c, Some(f), Some(want)).await }
            })
            .await?;
        let full = page.len() as u32 == want;
        filter.before = page.last().map(|o| o.order);
        all.extend(page);
        if !full || filter.before.is_none() {
            break;
        }
    }
    Ok(all)
}
