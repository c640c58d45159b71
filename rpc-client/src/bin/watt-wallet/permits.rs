//! `permit ...`: a site's mining permit and the list of permits; and the
//! regulator's transactions that issue and revoke them (docs/protocol.md
//! §18).

use crate::ctx::{Ctx, Wait};
use crate::error::WalletError;
use crate::masks::{hours_text, months_text, parse_hours, parse_months};
use crate::power;
use crate::sandbox::{invalid, resolve, SandboxError};
use crate::utc::{self, parse_when, When};
use clap::Subcommand;
use watt_rpc_client::api::{PermitsApiClient, MAX_PAGE};
use watt_rpc_client::builders;
use watt_rpc_client::energy;
use watt_rpc_client::types::BlockId;
use watt_rpc_client::view::Permit;
use watt_runtime::sandbox::PermitTerms;
use watt_runtime::types::{SiteId, Watts, Wh};

#[derive(Subcommand, Debug)]
pub enum PermitCommand {
    /// Issue a site a permit, or replace its permit (a regulator signs).
    /// The site must be attached to a feeder, whose mining share the
    /// permit takes.
    Issue {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The site id.
        site: u64,
        /// The most it may draw on average over a reading: `150kW`,
        /// `1.5MW`, `90000` (W).
        #[arg(long, value_parser = power::parse)]
        max_power: Watts,
        /// The months it may mine: `all`, `Mar-Oct`, `Nov-Feb`,
        /// `Jan,Jun-Aug`.
        #[arg(long, value_parser = parse_months, default_value = "all")]
        months: u16,
        /// The UTC hours of the day it may mine: `all`, `06-18` (06:00 to
        /// 18:00), `22-06`, `06-09,17-22`.
        #[arg(long, value_parser = parse_hours, default_value = "all")]
        hours: u32,
        /// The most energy per UTC month: `50MWh`, `800kWh`.
        #[arg(long, value_parser = energy::parse)]
        quota: Wh,
        /// The first moment it no longer covers, on a whole UTC hour:
        /// `2027-01-01T00:00Z`, unix seconds, or `+30d` after the latest
        /// block (rounded up to the hour).
        #[arg(long, value_parser = parse_when)]
        expires: When,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Revoke a site's permit, with the reason on record (a regulator
    /// signs); its feeder share is free at once.
    Revoke {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The site id.
        site: u64,
        /// Why (on the record).
        #[arg(long)]
        reason: String,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// A site's permit: its terms, whether it is live, and its use per
    /// month.
    Show {
        /// The site id.
        site: u64,
        /// `latest`, `finalized`, a height or a block hash.
        #[arg(long, default_value = "latest")]
        at: BlockId,
    },
    /// Every permit (live, expired and revoked), in site order.
    List,
}

/// Runs a `permit` command.
pub async fn run(ctx: &Ctx, cmd: PermitCommand) -> Result<(), WalletError> {
    let client = ctx.client()?;
    match cmd {
        PermitCommand::Issue {
            from,
            site,
            max_power,
            months,
            hours,
            quota,
            expires,
            wait,
        } => {
            let expires = match expires {
                // A relative expiry is rounded up to the hour.
                When::AfterHead(_) => resolve(&client, expires).await?.div_ceil(3600) * 3600,
                When::At(t) => t,
            };
            if expires % 3600 != 0 {
                return Err(SandboxError::Invalid {
                    flag: "--expires".into(),
                    reason: format!(
                        "{} is not on a whole UTC hour ({} or {} are)",
                        utc::iso(expires),
                        utc::iso(expires / 3600 * 3600),
                        utc::iso(expires.div_ceil(3600) * 3600)
                    ),
                }
                .into());
            }
            let terms = PermitTerms {
                max_power,
                months,
                hours,
                monthly_quota: quota,
                expires,
            };
            let body = builders::issue_permit(SiteId(site), terms.clone())
                .map_err(|e| invalid(e, "--end"))?;
            ctx.say(|| {
                format!(
                    "issuing site {site} a permit: {}",
                    terms_text(ctx, &terms.into())
                )
            })?;
            ctx.send(&from, body, wait).await
        }
        PermitCommand::Revoke {
            from,
            site,
            reason,
            wait,
        } => {
            let body =
                builders::revoke_permit(SiteId(site), &reason).map_err(|e| invalid(e, "--end"))?;
            ctx.send(&from, body, wait).await
        }
        PermitCommand::Show { site, at } => {
            let id = SiteId(site);
            let p = client
                .idempotent(|c| async move { PermitsApiClient::get(&c, id, Some(at)).await })
                .await?
                .ok_or(SandboxError::NoPermit { site: id })?;
            ctx.print(&p, || show(ctx, &p))
        }
        PermitCommand::List => {
            let mut all: Vec<Permit> = Vec::new();
            loop {
                let from = all.last().map(|p| SiteId(p.site.0 + 1));
                let page = client
                    .idempotent(|c| async move {
                        PermitsApiClient::list(&c, from, Some(MAX_PAGE)).await
                    })
                    .await?;
                let full = page.len() == MAX_PAGE as usize;
                all.extend(page);
                if !full {
                    break;
                }
            }
            ctx.print(&all, || {
                if all.is_empty() {
                    return "no permits".into();
                }
                let lines: Vec<String> = all.iter().map(|p| list_line(ctx, p)).collect();
                lines.join("\n")
            })
        }
    }
}

/// The terms in one line: `150 kW, Mar-Oct, 06:00-18:00 UTC, 50 MWh a
/// month, until 2027-01-01T00:00Z`.
pub fn terms_text(ctx: &Ctx, t: &watt_rpc_client::view::PermitTerms) -> String {
    format!(
        "{}, months {}, hours {}, {} a month, until {}",
        power::show(t.max_power),
        months_text(t.months),
        hours_utc(t.hours),
        power::energy(ctx, t.monthly_quota),
        utc::iso(t.expires)
    )
}

/// Hours of the day with `UTC` after them, unless all day.
fn hours_utc(mask: u32) -> String {
    let text = hours_text(mask);
    if text.ends_with(":00") {
        format!("{text} UTC")
    } else {
        text
    }
}

/// `live`, `expired` or `revoked`.
fn state(p: &Permit) -> &'static str {
    match (&p.revoked, p.live) {
        (Some(_), _) => "revoked",
        (None, true) => "live",
        (None, false) => "expired",
    }
}

/// `permit show` for people.
fn show(ctx: &Ctx, p: &Permit) -> String {
    let t = &p.terms;
    let mut out = vec![format!(
        "permit of site {} on feeder {}: {}",
        p.site,
        p.feeder,
        state(p)
    )];
    if let Some(reason) = &p.revoked {
        out.push(format!("  revoked     {reason}"));
    }
    out.push(format!("  max power   {}", power::show(t.max_power)));
    out.push(format!("  months      {}", months_text(t.months)));
    out.push(format!("  hours       {}", hours_utc(t.hours)));
    out.push(format!(
        "  quota       {} a month",
        power::energy(ctx, t.monthly_quota)
    ));
    out.push(format!("  expires     {}", utc::iso(t.expires)));
    out.push(format!("  issued      {}", utc::iso(p.issued_ms / 1000)));
    if p.usage.is_empty() {
        out.push("  used        nothing yet".into());
    }
    for (i, u) in p.usage.iter().enumerate() {
        let label = if i == 0 { "used" } else { "" };
        // Per mille of the quota, shown as a percentage with one decimal.
        let permille = u128::from(u.used.0) * 1000 / u128::from(u.quota.0.max(1));
        out.push(format!(
            "  {label:<10}  {}  {} of {} ({}.{}%)",
            u.month,
            power::energy(ctx, u.used),
            power::energy(ctx, u.quota),
            permille / 10,
            permille % 10
        ));
    }
    out.join("\n")
}

/// One permit of `permit list` for people.
fn list_line(ctx: &Ctx, p: &Permit) -> String {
    format!(
        "site {:<5} {:<16} {:<8} {}",
        p.site.0,
        p.feeder.as_str(),
        state(p),
        terms_text(ctx, &p.terms)
    )
}
