//! What the sandbox commands share (`zone sandbox`, `permit ...`, `grid
//! curtail ...`, `site ack`): their error type, the flag each builder
//! field comes from, and the latest block's time that relative times
//! (`+10m`) count from.

use crate::error::WalletError;
use crate::utc::{self, When};
use watt_rpc_client::builders::BuildError;
use watt_rpc_client::client::WattClient;
use watt_runtime::types::{AccountId, SiteId};

/// Why a sandbox command failed, beyond the keystore and the node.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A flag's value the transaction cannot carry (nothing was signed).
    #[error("{flag}: {reason}")]
    Invalid {
        /// The flag (or argument) at fault.
        flag: String,
        /// Why.
        reason: String,
    },
    /// The node knows no such zone.
    #[error("no zone {zone}")]
    UnknownZone {
        /// The zone id.
        zone: String,
    },
    /// The site has no permit (never had one).
    #[error("site {site} has no permit (`permit list` shows the permits)")]
    NoPermit {
        /// The site.
        site: SiteId,
    },
    /// The node knows no such curtailment order.
    #[error("no curtailment order {order} (`grid curtailments` lists them)")]
    UnknownOrder {
        /// The order number.
        order: u64,
    },
    /// The node knows no such site.
    #[error("no site {site}")]
    UnknownSite {
        /// The site.
        site: SiteId,
    },
    /// `site ack` with a key that is not the site owner's.
    #[error("site {site} belongs to {owner}, not {signer}: --from must be the owner's key, which signs the acknowledgement")]
    NotOwner {
        /// The site.
        site: SiteId,
        /// Its owner.
        owner: AccountId,
        /// The key given.
        signer: AccountId,
    },
    /// `site ack` for an order and site acknowledged before.
    #[error("site {site} acknowledged order {order} already (seen at {seen_at}); the chain takes one acknowledgement")]
    AckedAlready {
        /// The order number.
        order: u64,
        /// The site.
        site: SiteId,
        /// When it was seen, for people.
        seen_at: String,
    },
    /// `site ack` for a site the order does not affect.
    #[error("order {order} does not affect site {site} (it affects {affected}): there is nothing to acknowledge")]
    NotAffected {
        /// The order number.
        order: u64,
        /// The site.
        site: SiteId,
        /// The sites it does affect, for people.
        affected: String,
    },
}

/// A builder's refusal, naming the flag that carried the field. `end` is
/// `--end` or `--minutes`, whichever gave the window's end.
pub fn invalid(e: BuildError, end_flag: &str) -> WalletError {
    let flag = match e.field {
        "max_power" => "--max-power",
        "months" => "--months",
        "hours" => "--hours",
        "monthly_quota" => "--quota",
        "expires" => "--expires",
        "reason" => "--reason",
        "grid_operators" => "--grid-operator",
        "target" => "--feeder",
        "end" => end_flag,
        "order" => "<ORDER>",
        other => other,
    };
    SandboxError::Invalid {
        flag: flag.to_string(),
        reason: e.reason,
    }
    .into()
}

/// `when` in unix seconds, reading the latest block's time only when it
/// is relative to it.
pub async fn resolve(client: &WattClient, when: When) -> Result<u64, WalletError> {
    Ok(match when {
        When::At(t) => t,
        When::AfterHead(_) => when.resolve(crate::feeders::head_time(client).await?),
    })
}

/// `until 2026-12-01T19:00Z` when there is a time, else nothing.
pub fn until(t: Option<u64>) -> String {
    t.map_or(String::new(), |t| format!(" until {}", utc::iso(t)))
}
