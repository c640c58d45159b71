//! `zone ...`: a zone's sandbox settings, and the regulator's transaction
//! that sets them: whether mining needs a permit, and who the zone's grid
//! operators are (docs/protocol.md §18).

use crate::ctx::{zone, Ctx, Wait};
use crate::error::WalletError;
use crate::sandbox::{invalid, SandboxError};
use crate::utc;
use clap::{ArgGroup, Subcommand};
use watt_rpc_client::api::ZonesApiClient;
use watt_rpc_client::builders;
use watt_rpc_client::types::BlockId;
use watt_rpc_client::view::ZoneSandbox;

#[derive(Subcommand, Debug)]
pub enum ZoneCommand {
    /// Set a zone's sandbox (a regulator signs): whether its sites need a
    /// live permit to mine, and its grid operators. The operators given
    /// replace the zone's list.
    #[command(group(ArgGroup::new("permits").required(true).args(["permits_required", "no_permits"])))]
    #[command(group(ArgGroup::new("operators").required(true).args(["grid_operator", "no_grid_operators"])))]
    Sandbox {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The zone, e.g. `DEV-1`.
        zone: String,
        /// Sites need a live permit to mine, from the next UTC hour.
        #[arg(long)]
        permits_required: bool,
        /// Sites need no permit (from now on).
        #[arg(long)]
        no_permits: bool,
        /// A grid operator: a watt1... account or a key name; repeat the
        /// flag for each (at most 16). Together they replace the zone's
        /// list.
        #[arg(long, value_name = "ACCOUNT")]
        grid_operator: Vec<String>,
        /// The zone has no grid operators (none may order curtailment).
        #[arg(long)]
        no_grid_operators: bool,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// A zone's sandbox settings: permits required (from which hour) and
    /// its grid operators.
    Show {
        /// The zone.
        zone: String,
        /// `latest`, `finalized`, a height or a block hash.
        #[arg(long, default_value = "latest")]
        at: BlockId,
    },
}

/// Runs a `zone` command.
pub async fn run(ctx: &Ctx, cmd: ZoneCommand) -> Result<(), WalletError> {
    match cmd {
        ZoneCommand::Sandbox {
            from,
            zone: z,
            permits_required,
            no_permits: _,
            grid_operator,
            no_grid_operators: _,
            wait,
        } => {
            let z = zone(&z)?;
            let operators = grid_operator
                .iter()
                .map(|a| ctx.account(a))
                .collect::<Result<Vec<_>, _>>()?;
            let body = builders::set_zone_sandbox(z, permits_required, operators)
                .map_err(|e| invalid(e, "--end"))?;
            ctx.send(&from, body, wait).await
        }
        ZoneCommand::Show { zone: z, at } => {
            let id = zone(&z)?;
            let client = ctx.client()?;
            let s = client
                .idempotent(|c| {
                    let id = id.clone();
                    async move { ZonesApiClient::sandbox(&c, id, Some(at)).await }
                })
                .await?
                .ok_or(SandboxError::UnknownZone { zone: z })?;
            ctx.print(&s, || show(&s))
        }
    }
}

/// `zone show` for people.
fn show(s: &ZoneSandbox) -> String {
    let permits = match (s.permits_required, s.permits_from) {
        (true, Some(h)) => format!(
            "required for consumption from {}",
            utc::iso(h.start_seconds())
        ),
        (true, None) => "required".into(),
        (false, _) => "not required".into(),
    };
    let mut out = vec![
        format!("zone {} sandbox", s.zone),
        format!("  permits         {permits}"),
    ];
    if s.grid_operators.is_empty() {
        out.push("  grid operators  none (nobody may order curtailment)".into());
    }
    for (i, a) in s.grid_operators.iter().enumerate() {
        let label = if i == 0 { "grid operators" } else { "" };
        out.push(format!("  {label:<14}  {a}"));
    }
    out.join("\n")
}
