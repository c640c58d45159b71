//! `balance`, `transfer`, `retire`, `history`, `nonce`: an account's
//! credits and the transactions that move them.

use crate::ctx::{parse_account, Ctx, Wait};
use crate::error::WalletError;
use clap::Subcommand;
use serde::Serialize;
use watt_rpc_client::api::{AuditApiClient, CreditsApiClient};
use watt_rpc_client::energy;
use watt_rpc_client::types::{BlockId, EventFilter};
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::TextError;
use watt_runtime::tx::{Body, Text};
use watt_runtime::types::{AccountId, Wh};

// Top-level commands: `main` flattens these into its own list.
#[derive(Subcommand, Debug)]
pub enum CreditsCommand {
    /// An account's balance.
    Balance {
        /// A `watt1...` account, or the name of a key in the keystore.
        account: String,
        /// List the holdings by vintage (zone and hour).
        #[arg(long)]
        by_vintage: bool,
        /// `latest`, `finalized`, a height or a block hash.
        #[arg(long, default_value = "latest")]
        at: BlockId,
    },
    /// Send credits to another account.
    Transfer {
        /// The key that pays.
        #[arg(long)]
        from: String,
        /// The recipient (`watt1...`).
        #[arg(long, value_parser = parse_account)]
        to: AccountId,
        /// The amount: `1500`, `1500Wh`, `1.5kWh`.
        #[arg(long, value_parser = energy::parse)]
        amount: Wh,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Retire credits for a non-mining claim.
    Retire {
        /// The key that retires.
        #[arg(long)]
        from: String,
        /// The amount.
        #[arg(long, value_parser = energy::parse)]
        amount: Wh,
        /// Who the claim is for.
        #[arg(long)]
        beneficiary: String,
        /// What the energy was used for.
        #[arg(long)]
        purpose: String,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Events naming an account in the last 10,000 blocks, oldest first, a
    /// page at a time.
    History {
        /// A `watt1...` account or a key name.
        account: String,
        /// Events per page.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// The cursor a previous page printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// What offline signing needs: the chain id and an account's next nonce.
    Nonce {
        /// A `watt1...` account or a key name.
        account: String,
    },
}

/// Why a credits command failed, beyond the keystore and the node.
#[derive(Debug, thiserror::Error)]
pub enum CreditsError {
    /// A retirement claim's text over the bound.
    #[error("--{field}: {source}")]
    BadText {
        /// The flag, without its dashes.
        field: &'static str,
        /// Why it is refused.
        source: TextError,
    },
}

/// Runs a credits command.
pub async fn run(ctx: &Ctx, cmd: CreditsCommand) -> Result<(), WalletError> {
    match cmd {
        CreditsCommand::Balance {
            account,
            by_vintage,
            at,
        } => {
            let id = ctx.account(&account)?;
            let client = ctx.client()?;
            let b = client
                .idempotent(|c| async move { CreditsApiClient::balance(&c, id, Some(at)).await })
                .await?;
            ctx.print(&b, || {
                let mut out = format!(
                    "{}  {} at height {}",
                    b.account,
                    ctx.energy(b.total),
                    b.height
                );
                if by_vintage {
                    for v in &b.by_vintage {
                        out.push_str(&format!(
                            "\n  {:<24} {:>16}{}",
                            v.vintage.to_string(),
                            ctx.energy(v.amount),
                            v.expires_at_hour
                                .map(|h| format!("  expires at hour {}", h.0))
                                .unwrap_or_default()
                        ));
                    }
                }
                out
            })?;
        }
        CreditsCommand::Transfer {
            from,
            to,
            amount,
            wait,
        } => {
            let body = Body::Transfer {
                to,
                amount,
                vintages: None,
            };
            ctx.send(&from, body, wait).await?;
        }
        CreditsCommand::Retire {
            from,
            amount,
            beneficiary,
            purpose,
            wait,
        } => {
            let body = Body::Retire {
                amount,
                beneficiary: text("beneficiary", beneficiary)?,
                purpose: text("purpose", purpose)?,
                vintages: None,
            };
            ctx.send(&from, body, wait).await?;
        }
        CreditsCommand::Nonce { account } => {
            let id = ctx.account(&account)?;
            let client = ctx.client()?;
            let chain_id = client.chain_id().await?;
            let nonce = client.nonce(id).await?;
            #[derive(Serialize)]
            #[serde(rename_all = "camelCase")]
            struct NonceInfo {
                account: AccountId,
                chain_id: Hash,
                nonce: u64,
            }
            let info = NonceInfo {
                account: id,
                chain_id,
                nonce,
            };
            ctx.print(&info, || {
                format!(
                    "account  {}\nchain id {}\nnonce    {} (by the latest block; pending transactions not counted)",
                    info.account, info.chain_id, info.nonce
                )
            })?;
        }
        CreditsCommand::History {
            account,
            limit,
            cursor,
        } => {
            let id = ctx.account(&account)?;
            let client = ctx.client()?;
            let filter = EventFilter {
                account: Some(id),
                ..EventFilter::default()
            };
            let page = client
                .idempotent(|c| {
                    let (filter, cursor) = (filter.clone(), cursor.clone());
                    async move { AuditApiClient::events(&c, filter, cursor, Some(limit)).await }
                })
                .await?;
            ctx.print(&page, || {
                let mut out: Vec<String> = page
                    .events
                    .iter()
                    .map(|e| {
                        format!(
                            "#{:<8} {:<20} {}",
                            e.height.0,
                            e.event.kind(),
                            serde_json::to_string(&e.event).unwrap_or_default()
                        )
                    })
                    .collect();
                if let Some(c) = &page.next_cursor {
                    out.push(format!("more: --cursor {c}"));
                }
                if out.is_empty() && cursor.is_none() {
                    out.push("no events in the last 10,000 blocks".into());
                }
                out.join("\n")
            })?;
        }
    }
    Ok(())
}

/// A claim's text (`--beneficiary`, `--purpose`) within the bound.
fn text(field: &'static str, s: String) -> Result<Text, CreditsError> {
    Text::try_from(s).map_err(|source| CreditsError::BadText { field, source })
}
