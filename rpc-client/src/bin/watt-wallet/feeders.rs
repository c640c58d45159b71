//! `feeder ...`: a feeder's status, the list of feeders and a feeder's
//! hourly energy balance; and the regulator's feeder transactions:
//! register, attach a meter or site, clear an alert, resync the head
//! meter (docs/protocol.md §17).

use crate::ctx::{public_key, zone, Ctx, Wait};
use crate::error::WalletError;
use crate::feeders_text::{balance_table, list_line, status_text};
use crate::utc;
use clap::{ArgGroup, Subcommand};
use serde::Serialize;
use watt_rpc_client::api::{ChainApiClient, FeedersApiClient, MAX_BALANCE_HOURS, MAX_PAGE};
use watt_rpc_client::builders::{self, BuildError, FeederSpec};
use watt_rpc_client::client::WattClient;
use watt_rpc_client::energy;
use watt_rpc_client::types::BlockId;
use watt_rpc_client::view::{Feeder, FeederHourBalance, FeederId};
use watt_runtime::feeder::{self as ledger, Attachee};
use watt_runtime::types::{Hour, MeterId, SiteId, Watts, Wh};

/// `--next-hour` takes the first hour that starts at least this long
/// (chain time) after the latest block, so that the transaction lands
/// before its hour begins.
const NEXT_HOUR_MARGIN_S: u64 = 600;

/// The most hours one `feeder balance` shows (a leap year); the wallet
/// asks for them in calls of at most `MAX_BALANCE_HOURS`.
const MAX_TABLE_HOURS: u64 = 366 * 24;

#[derive(Subcommand, Debug)]
pub enum FeederCommand {
    /// A feeder: its status, head meter position and open alert.
    Status {
        /// The feeder id, e.g. `DEV-1/F1`.
        #[arg(value_parser = parse_feeder)]
        feeder: String,
        /// `latest`, `finalized`, a height or a block hash.
        #[arg(long, default_value = "latest")]
        at: BlockId,
    },
    /// Every feeder, in id order.
    List,
    /// A feeder's closed hours: import, generation, consumption, declared
    /// load and what is left unexplained, hour by hour (default: the last
    /// 24 hours).
    Balance {
        /// The feeder id.
        #[arg(value_parser = parse_feeder)]
        feeder: String,
        /// The first hour: an hour number or a UTC time (`2026-01-01T05:00Z`).
        #[arg(long, value_parser = utc::parse_hour, conflicts_with = "since")]
        from: Option<Hour>,
        /// The hours before the latest block's: `24h`, `7d`.
        #[arg(long, value_parser = utc::parse_hours)]
        since: Option<u64>,
        /// The last hour, inclusive (default: the latest block's hour).
        #[arg(long, value_parser = utc::parse_hour)]
        to: Option<Hour>,
    },
    /// Register a feeder with its head meter (a regulator signs).
    Register(Box<RegisterArgs>),
    /// Attach a meter or a site to a feeder from a whole hour on (a
    /// regulator signs); attaching again moves it.
    #[command(group(ArgGroup::new("device").required(true).args(["meter", "site"])))]
    #[command(group(ArgGroup::new("when").required(true).args(["from_hour", "next_hour"])))]
    Attach {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// A generation meter's id.
        #[arg(long)]
        meter: Option<u64>,
        /// A mining site's id.
        #[arg(long)]
        site: Option<u64>,
        /// The feeder id.
        #[arg(value_parser = parse_feeder)]
        feeder: String,
        /// The first hour whose energy goes to the feeder: an hour number
        /// or a UTC time; at or after the next hour of block time.
        #[arg(long, value_parser = utc::parse_hour)]
        from_hour: Option<Hour>,
        /// From the next hour (the one after, if the next starts within
        /// 10 minutes of the latest block).
        #[arg(long)]
        next_hour: bool,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Clear a feeder's unexplained-load alert, with the reason on record
    /// (a regulator signs).
    ClearAlert {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The feeder id.
        #[arg(value_parser = parse_feeder)]
        feeder: String,
        /// Why the alert is cleared (on the record).
        #[arg(long)]
        reason: String,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Bring an offline head meter back on a new baseline; the hours in
    /// between stay unmetered (a regulator signs).
    Resync {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The feeder id.
        #[arg(value_parser = parse_feeder)]
        feeder: String,
        /// The new baseline: unix seconds or a UTC time, on a whole hour.
        #[arg(long, value_parser = utc::parse_time)]
        baseline_time: u64,
        /// The head meter's import counter at the baseline.
        #[arg(long, visible_alias = "baseline-import", value_parser = energy::parse)]
        import: Wh,
        /// The head meter's export counter at the baseline.
        #[arg(long, visible_alias = "baseline-export", value_parser = energy::parse)]
        export: Wh,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
}

/// `feeder register`: every field of the registration.
#[derive(clap::Args, Debug)]
pub struct RegisterArgs {
    /// The key that signs.
    #[arg(long)]
    from: String,
    /// The feeder id: 2 to 24 characters of A-Z, 0-9, '-' and '/'.
    #[arg(long, value_parser = parse_feeder)]
    id: String,
    /// The grid zone.
    #[arg(long)]
    zone: String,
    /// Rated capacity in watts.
    #[arg(long)]
    rated_capacity_w: u64,
    /// The head meter's public key (0x, 32 bytes).
    #[arg(long)]
    head_key: String,
    /// The key that signs the hourly declared load of ordinary customers
    /// (0x, 32 bytes); without it no declared load is expected.
    #[arg(long)]
    declared_key: Option<String>,
    /// Technical losses allowed, per mille of import plus generation.
    #[arg(long, default_value_t = 50)]
    loss_permille: u16,
    /// Unexplained energy per hour tolerated either way (default: 2% of an
    /// hour at rated capacity).
    #[arg(long, value_parser = energy::parse)]
    alert_floor: Option<Wh>,
    /// Consecutive unexplained hours before an alert (1 to 168).
    #[arg(long, default_value_t = 2)]
    alert_hours: u16,
    /// The part of rated capacity mining permits may take, per mille.
    #[arg(long, default_value_t = 500)]
    mining_share_permille: u16,
    /// When head readings start counting: unix seconds or a UTC time on a
    /// whole hour (default: the start of the latest block's hour).
    #[arg(long, value_parser = utc::parse_time)]
    baseline_time: Option<u64>,
    /// The head meter's import counter at the baseline.
    #[arg(long, visible_alias = "import", value_parser = energy::parse, default_value = "0")]
    baseline_import: Wh,
    /// The head meter's export counter at the baseline.
    #[arg(long, visible_alias = "export", value_parser = energy::parse, default_value = "0")]
    baseline_export: Wh,
    #[arg(long, value_enum, default_value = "finalized")]
    wait: Wait,
}

/// Why a `feeder` command failed, beyond the keystore and the node.
#[derive(Debug, thiserror::Error)]
pub enum FeederError {
    /// The node knows no such feeder.
    #[error("no feeder {feeder} (`feeder list` shows the registered ones)")]
    Unknown {
        /// The feeder id.
        feeder: String,
    },
    /// A flag's value the transaction cannot carry.
    #[error("{flag}: {reason}")]
    Invalid {
        /// The flag (or argument) at fault.
        flag: String,
        /// Why.
        reason: String,
    },
    /// `--to` before the first hour.
    #[error("--to {} is before the first hour {}", utc::hour(*.to), utc::hour(*.from))]
    ToBeforeFrom {
        /// The first hour.
        from: Hour,
        /// The last hour asked for.
        to: Hour,
    },
    /// A range of more hours than one `feeder balance` shows.
    #[error("{hours} hours from --from to --to is more than the {MAX_TABLE_HOURS} (366 days) one command shows; split the range")]
    TooManyHours {
        /// How many hours were asked for.
        hours: u64,
    },
    /// The chain has no block yet, so it has no time to count hours from.
    #[error("the chain has no block yet: give the hour or time explicitly")]
    NoHead,
}

/// A builder's refusal, naming the flag that carried the field.
fn invalid(e: BuildError) -> WalletError {
    let flag = match e.field {
        "id" => "--id",
        "rated_capacity" => "--rated-capacity-w",
        "loss_permille" => "--loss-permille",
        "alert_hours" => "--alert-hours",
        "mining_share_permille" => "--mining-share-permille",
        "baseline_time" => "--baseline-time",
        "declared_key" => "--declared-key",
        "reason" => "--reason",
        "feeder" => "<FEEDER>",
        other => other,
    };
    FeederError::Invalid {
        flag: flag.to_string(),
        reason: e.reason,
    }
    .into()
}

/// A feeder id argument (clap's value parser).
pub fn parse_feeder(s: &str) -> Result<String, String> {
    ledger::FeederId::new(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

/// The latest block's time, unix seconds.
pub async fn head_time(client: &WattClient) -> Result<u64, WalletError> {
    let head = client
        .idempotent(|c| async move { ChainApiClient::finalized_head(&c).await })
        .await?;
    Ok(head.ok_or(FeederError::NoHead)?.timestamp_ms / 1000)
}

/// Runs a `feeder` command.
pub async fn run(ctx: &Ctx, cmd: FeederCommand) -> Result<(), WalletError> {
    let client = ctx.client()?;
    match cmd {
        FeederCommand::Status { feeder, at } => {
            let id = FeederId(feeder.clone());
            let f = client
                .idempotent(|c| {
                    let id = id.clone();
                    async move { FeedersApiClient::get(&c, id, Some(at)).await }
                })
                .await?
                .ok_or(FeederError::Unknown { feeder })?;
            ctx.print(&f, || status_text(ctx, &f))?;
        }
        FeederCommand::List => {
            let feeders = list(&client).await?;
            ctx.print(&feeders, || {
                if feeders.is_empty() {
                    return "no feeders".into();
                }
                let lines: Vec<String> = feeders.iter().map(|f| list_line(ctx, f)).collect();
                lines.join("\n")
            })?;
        }
        FeederCommand::Balance {
            feeder,
            from,
            since,
            to,
        } => {
            let now_hour = match (from, to) {
                (Some(_), Some(to)) => to,
                _ => Hour::of_seconds(head_time(&client).await?),
            };
            let from = from.unwrap_or(Hour(now_hour.0.saturating_sub(since.unwrap_or(24))));
            let to = to.unwrap_or(now_hour);
            if to < from {
                return Err(FeederError::ToBeforeFrom { from, to }.into());
            }
            let count = to.0 - from.0 + 1;
            if count > MAX_TABLE_HOURS {
                return Err(FeederError::TooManyHours { hours: count }.into());
            }
            let hours = balance(&client, &feeder, from, to).await?;
            #[derive(Serialize)]
            #[serde(rename_all = "camelCase")]
            struct Shown<'a> {
                feeder: &'a str,
                from_hour: Hour,
                to_hour: Hour,
                hours: &'a [FeederHourBalance],
            }
            let shown = Shown {
                feeder: &feeder,
                from_hour: from,
                to_hour: to,
                hours: &hours,
            };
            ctx.print(&shown, || balance_table(ctx, &feeder, from, to, &hours))?;
        }
        FeederCommand::Register(args) => register(ctx, &client, *args).await?,
        FeederCommand::Attach {
            from,
            meter,
            site,
            feeder,
            from_hour,
            next_hour: _,
            wait,
        } => {
            let device = match (meter, site) {
                (Some(m), _) => Attachee::Meter(MeterId(m)),
                (None, Some(s)) => Attachee::Site(SiteId(s)),
                (None, None) => {
                    return Err(FeederError::Invalid {
                        flag: "--meter or --site".into(),
                        reason: "name the device to attach".into(),
                    }
                    .into())
                }
            };
            let hour = match from_hour {
                Some(h) => h,
                None => {
                    let soon = head_time(&client).await? + NEXT_HOUR_MARGIN_S;
                    Hour(Hour::of_seconds(soon).0 + 1)
                }
            };
            let body = builders::attach_to_feeder(device, &feeder, hour).map_err(invalid)?;
            ctx.say(|| {
                format!(
                    "attaching {device} to {feeder} from {} UTC (hour {})",
                    utc::hour(hour),
                    hour.0
                )
            })?;
            ctx.send(&from, body, wait).await?;
        }
        FeederCommand::ClearAlert {
            from,
            feeder,
            reason,
            wait,
        } => {
            let body = builders::clear_feeder_alert(&feeder, &reason).map_err(invalid)?;
            ctx.send(&from, body, wait).await?;
        }
        FeederCommand::Resync {
            from,
            feeder,
            baseline_time,
            import,
            export,
            wait,
        } => {
            let body = builders::resync_feeder_meter(&feeder, baseline_time, import, export)
                .map_err(invalid)?;
            ctx.send(&from, body, wait).await?;
        }
    }
    Ok(())
}

/// `feeder register`: the registration from its flags and defaults.
async fn register(ctx: &Ctx, client: &WattClient, a: RegisterArgs) -> Result<(), WalletError> {
    let baseline_time = match a.baseline_time {
        Some(t) => t,
        None => head_time(client).await? / 3600 * 3600,
    };
    let spec = FeederSpec {
        id: &a.id,
        zone: zone(&a.zone)?,
        rated_capacity: Watts(a.rated_capacity_w),
        loss_permille: a.loss_permille,
        // 2% of an hour at rated capacity: W x 1 h / 50.
        alert_floor: a.alert_floor.unwrap_or(Wh(a.rated_capacity_w / 50)),
        alert_hours: a.alert_hours,
        mining_share_permille: a.mining_share_permille,
        head_key: public_key("head-key", &a.head_key)?,
        baseline_time,
        baseline_import: a.baseline_import,
        baseline_export: a.baseline_export,
        declared_key: a
            .declared_key
            .as_deref()
            .map(|k| public_key("declared-key", k))
            .transpose()?,
    };
    let body = builders::register_feeder(spec).map_err(invalid)?;
    ctx.send(&a.from, body, a.wait).await
}

/// Every feeder, a page at a time.
async fn list(client: &WattClient) -> Result<Vec<Feeder>, WalletError> {
    let mut all: Vec<Feeder> = Vec::new();
    loop {
        let after = all.last().map(|f| f.id.clone());
        let page = client
            .idempotent(|c| {
                let after = after.clone();
                async move { FeedersApiClient::list(&c, after, Some(MAX_PAGE)).await }
            })
            .await?;
        let full = page.len() == MAX_PAGE as usize;
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

/// A feeder's closed hours from `from` through `to`, in calls of at most
/// the hours one call returns.
async fn balance(
    client: &WattClient,
    feeder: &str,
    from: Hour,
    to: Hour,
) -> Result<Vec<FeederHourBalance>, WalletError> {
    let mut out = Vec::new();
    let mut start = from.0;
    loop {
        let end = start.saturating_add(MAX_BALANCE_HOURS - 1).min(to.0);
        let id = FeederId(feeder.to_string());
        let part = client
            .idempotent(|c| {
                let id = id.clone();
                async move { FeedersApiClient::balance(&c, id, Hour(start), Some(Hour(end))).await }
            })
            .await?;
        out.extend(part);
        if end >= to.0 {
            return Ok(out);
        }
        start = end + 1;
    }
}
