//! `site watch`: a site's standing as the node pushes it
//! (`sites_subscribeStatus`), one line per change: `run up to 150 kW
//! (active)`, `limit 75 kW (curtailed until 2026-12-01T19:00Z)`,
//! `stop (permitExpired)`; with `--output json`, the `canRun` object on
//! one line. A site controller obeys `maxPowerW`.

use crate::ctx::{Ctx, Output};
use crate::error::WalletError;
use crate::out;
use crate::power;
use crate::sandbox::until;
use crate::sites::SiteError;
use std::time::Duration;
use watt_rpc_client::api::SitesApiClient;
use watt_rpc_client::jsonrpsee::core::client::{Error as ClientError, Subscription};
use watt_rpc_client::jsonrpsee::ws_client::WsClientBuilder;
use watt_rpc_client::types::CanRun;
use watt_runtime::types::{SiteId, Watts};

/// The standing in a few words: `run up to 150 kW (active)`, `limit 75 kW
/// (curtailed until 2026-12-01T19:00Z)`, `stop (permitExpired)`.
pub fn standing(s: &CanRun) -> String {
    let until = until(s.until);
    if !s.allowed {
        format!("stop ({}{until})", s.reason)
    } else if s.reason == "curtailed" {
        format!("limit {} (curtailed{until})", power::show(s.max_power))
    } else {
        format!(
            "run up to {} ({}{until})",
            power::show(s.max_power),
            s.reason
        )
    }
}

/// What a change is judged on: the numbers (debt, balance, runway) move
/// with every block and are left out.
type Key = (bool, String, Watts, Option<u64>);

fn key(s: &CanRun) -> Key {
    (s.allowed, s.reason.clone(), s.max_power, s.until)
}

/// Prints the site's standing whenever it changes, until interrupted or
/// until stdout's reader goes away.
///
/// The node pushes every change (sites_subscribeStatus); after a dropped
/// connection the wallet reconnects and the first notification is the
/// standing now.
pub async fn watch(ctx: &Ctx, id: SiteId) -> Result<(), WalletError> {
    let ws_url = ctx
        .rpc_url
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    // A reader that went away (`| head -1`) ends the watch at once, not at
    // the next change.
    let closed = out::closed();
    tokio::pin!(closed);
    let mut last: Option<Key> = None;
    let mut delay = Duration::from_millis(200);
    loop {
        let connect = tokio::select! {
            ws = WsClientBuilder::default().build(&ws_url) => ws,
            () = &mut closed => return Err(WalletError::StdoutClosed),
        };
        let ws = match connect {
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
        loop {
            let next = tokio::select! {
                next = sub.next() => next,
                () = &mut closed => return Err(WalletError::StdoutClosed),
            };
            let Some(Ok(s)) = next else { break };
            let k = key(&s);
            if last.as_ref() == Some(&k) {
                continue;
            }
            match ctx.output {
                Output::Json => {
                    out::line(&serde_json::to_string(&s).map_err(WalletError::Encode)?)?
                }
                Output::Text => out::line(&format!("height {}: {}", s.height, standing(&s)))?,
            }
            last = Some(k);
        }
        // Without the node's word a controller must assume stop.
        if last.as_ref().is_none_or(|k| k.0) {
            out::line("connection lost: stop (reconnecting)")?;
        }
        last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watt_rpc_client::view::SiteStatus;
    use watt_runtime::types::{Height, Wh};

    fn can_run(allowed: bool, reason: &str, w: u64, until: Option<u64>) -> CanRun {
        CanRun {
            site: SiteId(2),
            height: Height(9),
            allowed,
            status: SiteStatus::Active,
            open_debt: Wh(0),
            shortfall: Wh(0),
            eligible_balance: Wh(0),
            runway_seconds: 0,
            max_power: Watts(w),
            reason: reason.into(),
            until,
        }
    }

    #[test]
    fn a_standing_reads_as_run_limit_or_stop() {
        // 2026-12-01T19:00:00Z.
        let t = 1_796_151_600;
        assert_eq!(
            standing(&can_run(true, "curtailed", 75_000, Some(t))),
            "limit 75 kW (curtailed until 2026-12-01T19:00Z)"
        );
        assert_eq!(
            standing(&can_run(false, "permitExpired", 0, None)),
            "stop (permitExpired)"
        );
        assert_eq!(
            standing(&can_run(true, "active", 150_000, None)),
            "run up to 150 kW (active)"
        );
        assert_eq!(
            standing(&can_run(false, "curtailed", 0, Some(t))),
            "stop (curtailed until 2026-12-01T19:00Z)"
        );
        assert_eq!(
            standing(&can_run(false, "outOfSeason", 0, Some(t))),
            "stop (outOfSeason until 2026-12-01T19:00Z)"
        );
    }
}
