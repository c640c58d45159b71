//! `gov ...`: propose changes to the authority set, the regulator set or
//! the chain parameters, and vote on proposals.

use crate::ctx::{Ctx, Wait};
use crate::error::WalletError;
use clap::Subcommand;
use watt_rpc_client::view::{self, ViewError};
use watt_runtime::tx::Body;
use watt_runtime::types::{ChainParams, ProposalId};

#[derive(Subcommand, Debug)]
pub enum GovCommand {
    /// Propose a change: `--kind authorities|regulators|params` with the
    /// change as JSON (docs/encoding.md, the JSON form).
    Propose {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// What changes.
        #[arg(long, value_parser = ["authorities", "regulators", "params"])]
        kind: String,
        /// The change as JSON.
        #[arg(long)]
        change: String,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Vote on a proposal.
    Vote {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The proposal id.
        proposal: u64,
        /// Vote no (the default is yes).
        #[arg(long)]
        reject: bool,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
}

/// Why a `gov` command failed, beyond the keystore and the node.
#[derive(Debug, thiserror::Error)]
pub enum GovError {
    /// `--change` is not a change of the `--kind` given.
    #[error("--change is not a {kind} change: {source}")]
    BadChange {
        /// `authorities`, `regulators` or `params`.
        kind: String,
        /// Why it does not parse.
        source: serde_json::Error,
    },
    /// An authority change beyond the ledger's bounds (a name too long).
    #[error("--change does not fit the ledger: {0}")]
    OutOfBounds(#[source] ViewError),
    /// A params change that is not a JSON object.
    #[error("--change for params must be a JSON object naming every parameter")]
    ParamsNotObject,
    /// A params change that leaves parameters out.
    #[error("--change must give every parameter (fetch them with chain_getGenesis or the last params change); missing: {missing:?}")]
    MissingParams {
        /// The parameters left out.
        missing: Vec<String>,
    },
}

/// Runs a `gov` command.
pub async fn run(ctx: &Ctx, cmd: GovCommand) -> Result<(), WalletError> {
    match cmd {
        GovCommand::Propose {
            from,
            kind,
            change,
            wait,
        } => {
            let body = propose(&kind, &change)?;
            ctx.send(&from, body, wait).await?;
        }
        GovCommand::Vote {
            from,
            proposal,
            reject,
            wait,
        } => {
            let body = Body::Vote {
                proposal: ProposalId(proposal),
                approve: !reject,
            };
            ctx.send(&from, body, wait).await?;
        }
    }
    Ok(())
}

/// The proposal's body: `change` read as a change of `kind`.
fn propose(kind: &str, change: &str) -> Result<Body, WalletError> {
    let bad = |source: serde_json::Error| GovError::BadChange {
        kind: kind.to_string(),
        source,
    };
    Ok(match kind {
        "authorities" => {
            let shown: view::AuthorityChange = serde_json::from_str(change).map_err(bad)?;
            Body::ProposeAuthoritySet {
                change: shown.try_into().map_err(GovError::OutOfBounds)?,
            }
        }
        "regulators" => {
            let shown: view::RegulatorChange = serde_json::from_str(change).map_err(bad)?;
            Body::ProposeRegulatorSet {
                change: shown.into(),
            }
        }
        _ => {
            // Every field must be given: a missing one would silently take
            // its default, not the chain's value.
            let given: serde_json::Value = serde_json::from_str(change).map_err(bad)?;
            let all = serde_json::to_value(ChainParams::default()).map_err(WalletError::Encode)?;
            // An array would fill the fields it leaves out with defaults.
            if !given.is_object() {
                return Err(GovError::ParamsNotObject.into());
            }
            if let (Some(all), Some(given)) = (all.as_object(), given.as_object()) {
                let missing: Vec<String> = all
                    .keys()
                    .filter(|k| !given.contains_key(*k))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    return Err(GovError::MissingParams { missing }.into());
                }
            }
            Body::ProposeChainParams {
                params: serde_json::from_value(given).map_err(bad)?,
            }
        }
    })
}
