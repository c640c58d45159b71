//! `grid alerts`: the open unexplained-load alerts, once or followed
//! event by event (docs/protocol.md §17.6). The curtailment commands of
//! the same group are in `curtail.rs`.

use crate::ctx::{zone, Ctx, Output};
use crate::error::WalletError;
use crate::feeders_text::{amount, signed, status_name, unit_name};
use crate::out;
use crate::utc;
use clap::Subcommand;
use std::collections::HashMap;
use std::time::Duration;
use watt_rpc_client::api::{AuditApiClient, ChainApiClient, FeedersApiClient, GridApiClient};
use watt_rpc_client::client::WattClient;
use watt_rpc_client::jsonrpsee::core::client::{Error as ClientError, Subscription};
use watt_rpc_client::jsonrpsee::ws_client::WsClientBuilder;
use watt_rpc_client::types::{EventFilter, RpcEvent};
use watt_rpc_client::view::{BalanceStatus, Event, FeederAlert, FeederId};
use watt_runtime::types::{Height, ZoneId};

/// The event kinds a grid subscriber hears of.
const GRID_KINDS: [&str; 4] = [
    "unexplainedLoad",
    "feederAlertCleared",
    "feederOverload",
    "feederBalance",
];

/// The most heights one `audit_getEvents` call may span, less one.
const AUDIT_SPAN: u64 = 9_999;

#[derive(Subcommand, Debug)]
pub enum GridCommand {
    /// The open unexplained-load alerts; with `--watch`, every grid event
    /// (alerts raised, grown and cleared, overloads, hours that did not
    /// balance) as its block is finalised, until Ctrl-C.
    Alerts {
        /// Only this zone's feeders.
        #[arg(long)]
        zone: Option<String>,
        /// Follow the events instead (one line each).
        #[arg(long)]
        watch: bool,
    },
    // curtail, cancel, curtailments, curtailment.
    #[command(flatten)]
    Curtailment(crate::curtail::CurtailCommand),
}

/// Why a `grid` command failed, beyond the keystore and the node.
#[derive(Debug, thiserror::Error)]
pub enum GridError {
    /// The node refused the subscription.
    #[error("grid_subscribeAlerts: {reason}")]
    Refused {
        /// The node's reason.
        reason: String,
    },
}

/// Runs a `grid` command; `alerts --watch` runs until interrupted.
pub async fn run(ctx: &Ctx, cmd: GridCommand) -> Result<(), WalletError> {
    match cmd {
        GridCommand::Curtailment(cmd) => return crate::curtail::run(ctx, cmd).await,
        GridCommand::Alerts { zone: z, watch } => {
            let z = z.as_deref().map(zone).transpose()?;
            if watch {
                return Watcher::new(ctx, z)?.run().await;
            }
            let client = ctx.client()?;
            let alerts = client
                .idempotent(|c| {
                    let z = z.clone();
                    async move { GridApiClient::alerts(&c, z).await }
                })
                .await?;
            ctx.print(&alerts, || {
                if alerts.is_empty() {
                    return match &z {
                        Some(z) => format!("no open alerts in zone {z}"),
                        None => "no open alerts".into(),
                    };
                }
                let lines: Vec<String> = alerts.iter().map(|a| alert_line(ctx, a)).collect();
                lines.join("\n")
            })?;
        }
    }
    Ok(())
}

/// One open alert for people.
fn alert_line(ctx: &Ctx, a: &FeederAlert) -> String {
    format!(
        "{:<24} {} unexplained over {} h, {}",
        a.feeder.as_str(),
        amount(ctx, a.unexplained),
        a.hours,
        utc::span(a.from_hour, a.through_hour)
    )
}

/// Whether a grid subscriber hears of this event (as the node decides).
fn is_grid_event(e: &Event) -> bool {
    match e {
        Event::UnexplainedLoad { .. }
        | Event::FeederAlertCleared { .. }
        | Event::FeederOverload { .. } => true,
        Event::FeederBalance { status, .. } => *status != BalanceStatus::Balanced,
        _ => false,
    }
}

/// The feeder an event is about.
fn feeder_of(e: &Event) -> Option<&FeederId> {
    match e {
        Event::UnexplainedLoad { feeder, .. }
        | Event::FeederAlertCleared { feeder, .. }
        | Event::FeederOverload { feeder, .. }
        | Event::FeederBalance { feeder, .. } => Some(feeder),
        _ => None,
    }
}

/// One grid event for people.
fn event_line(ctx: &Ctx, e: &RpcEvent) -> String {
    let what = match &e.event {
        Event::UnexplainedLoad {
            feeder,
            from_hour,
            through_hour,
            hours,
            unexplained,
        } => format!(
            "{feeder}  alert: {} unexplained over {hours} h, {}",
            amount(ctx, *unexplained),
            utc::span(*from_hour, *through_hour)
        ),
        Event::FeederAlertCleared {
            feeder,
            from_hour,
            through_hour,
            reason,
        } => format!(
            "{feeder}  alert cleared ({}): {reason}",
            utc::span(*from_hour, *through_hour)
        ),
        Event::FeederOverload {
            feeder,
            hour,
            import,
            consumption,
            capacity,
        } => format!(
            "{feeder}  overload in {} UTC: import {}, consumption {}, capacity {}",
            utc::hour(*hour),
            amount(ctx, *import),
            amount(ctx, *consumption),
            amount(ctx, *capacity)
        ),
        Event::FeederBalance {
            feeder, hour, status, ..
        } if *status == BalanceStatus::Unmetered => format!(
            "{feeder}  {} UTC unmetered: head readings or declared load missing",
            utc::hour(*hour)
        ),
        Event::FeederBalance {
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
        } => format!(
            "{feeder}  {} UTC {}: {} {unit} unexplained (in {unit}: import {}, export {}, generation {}, consumption {}, declared {}, losses {})",
            utc::hour(*hour),
            status_name(*status),
            signed(ctx, *unexplained),
            signed(ctx, import.0.into()),
            signed(ctx, export.0.into()),
            signed(ctx, generation.0.into()),
            signed(ctx, consumption.0.into()),
            signed(ctx, declared.0.into()),
            signed(ctx, allowance.0.into()),
            unit = unit_name(ctx),
        ),
        other => format!(
            "{}  {}",
            other.kind(),
            serde_json::to_string(other).unwrap_or_default()
        ),
    };
    format!("#{:<8} {what}", e.height.0)
}

/// `grid alerts --watch`: follows `grid_subscribeAlerts`; after a dropped
/// connection it reconnects and first prints, from the audit trail, the
/// events it missed.
struct Watcher<'a> {
    ctx: &'a Ctx,
    client: WattClient,
    zone: Option<ZoneId>,
    /// Each feeder's zone, as far as looked up.
    zones: HashMap<FeederId, ZoneId>,
    /// The last event printed (or skipped by the zone filter).
    last: Option<(Height, u32)>,
    /// The head when the first subscription started.
    start: Option<Height>,
}

impl<'a> Watcher<'a> {
    fn new(ctx: &'a Ctx, zone: Option<ZoneId>) -> Result<Self, WalletError> {
        Ok(Watcher {
            ctx,
            client: ctx.client()?,
            zone,
            zones: HashMap::new(),
            last: None,
            start: None,
        })
    }

    async fn run(mut self) -> Result<(), WalletError> {
        let ws_url = self
            .ctx
            .rpc_url
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        // A reader that went away (`| head -1`) ends the watch at once.
        let closed = out::closed();
        tokio::pin!(closed);
        let mut delay = Duration::from_millis(200);
        let retry = |what: String, delay: &mut Duration| {
            eprintln!("{what}; retrying in {delay:?}");
            let wait = *delay;
            *delay = (*delay * 2).min(Duration::from_secs(5));
            tokio::time::sleep(wait)
        };
        loop {
            let ws = match WsClientBuilder::default().build(&ws_url).await {
                Ok(ws) => ws,
                Err(e) => {
                    retry(format!("cannot reach {ws_url}: {e}"), &mut delay).await;
                    continue;
                }
            };
            let mut sub: Subscription<RpcEvent> = match GridApiClient::subscribe_alerts(&ws).await {
                Ok(sub) => sub,
                Err(ClientError::Call(e)) => {
                    let reason = watt_rpc_client::error::reason_of(&e)
                        .unwrap_or_else(|| e.message().to_string());
                    return Err(GridError::Refused { reason }.into());
                }
                Err(e) => {
                    retry(format!("grid_subscribeAlerts: {e}"), &mut delay).await;
                    continue;
                }
            };
            delay = Duration::from_millis(200);
            match self.start {
                None => self.start = Some(self.head().await?),
                Some(start) => {
                    let from = self.last.map_or(Height(start.0 + 1), |(h, _)| h);
                    if let Err(e) = self.catch_up(from).await {
                        eprintln!("cannot read the events missed while disconnected: {e}");
                    }
                }
            }
            loop {
                let next = tokio::select! {
                    next = sub.next() => next,
                    () = &mut closed => return Err(WalletError::StdoutClosed),
                };
                match next {
                    Some(Ok(e)) => self.show(e).await?,
                    _ => break,
                }
            }
            eprintln!("connection to {ws_url} lost; reconnecting");
        }
    }

    /// The latest block's height (0 before the first block).
    async fn head(&self) -> Result<Height, WalletError> {
        let head = self
            .client
            .idempotent(|c| async move { ChainApiClient::finalized_head(&c).await })
            .await?;
        Ok(head.map_or(Height(0), |h| h.height))
    }

    /// Prints the grid events from height `from` to the head, from the
    /// audit trail (those already printed are skipped by `show`).
    async fn catch_up(&mut self, from: Height) -> Result<(), WalletError> {
        let head = self.head().await?;
        let oldest = Height(head.0.saturating_sub(AUDIT_SPAN));
        if from < oldest {
            eprintln!(
                "events of heights {} to {} are not shown: more than 10,000 heights passed",
                from.0,
                oldest.0 - 1
            );
        }
        let filter = EventFilter {
            from_height: Some(from.max(oldest)),
            to_height: Some(head),
            kinds: Some(GRID_KINDS.iter().map(|k| k.to_string()).collect()),
            ..EventFilter::default()
        };
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .client
                .idempotent(|c| {
                    let (filter, cursor) = (filter.clone(), cursor.clone());
                    async move { AuditApiClient::events(&c, filter, cursor, None).await }
                })
                .await?;
            for e in page.events {
                if is_grid_event(&e.event) {
                    self.show(e).await?;
                }
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(()),
            }
        }
    }

    /// Prints one event, unless it was printed already or is of another
    /// zone.
    async fn show(&mut self, e: RpcEvent) -> Result<(), WalletError> {
        let at = (e.height, e.index);
        if self.last.is_some_and(|last| at <= last) {
            return Ok(());
        }
        self.last = Some(at);
        if let (Some(want), Some(feeder)) = (self.zone.clone(), feeder_of(&e.event)) {
            // A feeder that cannot be looked up is shown rather than hidden.
            if self.zone_of(feeder).await.is_some_and(|z| z != want) {
                return Ok(());
            }
        }
        match self.ctx.output {
            Output::Json => out::line(&serde_json::to_string(&e).map_err(WalletError::Encode)?),
            Output::Text => out::line(&event_line(self.ctx, &e)),
        }
    }

    /// A feeder's zone (feeders never change zone, so it is looked up once).
    async fn zone_of(&mut self, feeder: &FeederId) -> Option<ZoneId> {
        if let Some(z) = self.zones.get(feeder) {
            return Some(z.clone());
        }
        let f = self
            .client
            .idempotent(|c| {
                let id = feeder.clone();
                async move { FeedersApiClient::get(&c, id, None).await }
            })
            .await
            .ok()
            .flatten()?;
        self.zones.insert(feeder.clone(), f.zone.clone());
        Some(f.zone)
    }
}
