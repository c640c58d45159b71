//! RPC flags shared by `watt dev` and `watt run`, and the `[rpc]` table of
//! the config file.

use crate::rpc::{RpcConfig, RpcMethods};
use clap::Args;
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

/// RPC flags; each overrides the config file's `[rpc]` table.
#[derive(Args, Debug, Clone, Default)]
pub struct RpcArgs {
    /// Where JSON-RPC listens, HTTP and WebSocket on one port [default:
    /// 127.0.0.1:9944].
    #[arg(long, env = "WATT_RPC_ADDR")]
    pub rpc_addr: Option<SocketAddr>,
    /// Which methods to serve: `auto` serves unsafe ones (tx_pending) only
    /// while listening on loopback [default: auto].
    #[arg(long, env = "WATT_RPC_METHODS", value_enum)]
    pub rpc_methods: Option<RpcMethods>,
    /// Browser origins allowed, comma separated: exact origins,
    /// `http://host:*` for any port, `*` for any, `none` for no browser
    /// [default: localhost and 127.0.0.1 on any port].
    #[arg(long, env = "WATT_RPC_CORS", value_delimiter = ',')]
    pub rpc_cors: Option<Vec<String>>,
    /// Most concurrent RPC connections [default: 100].
    #[arg(long, env = "WATT_RPC_MAX_CONNECTIONS")]
    pub rpc_max_connections: Option<u32>,
    /// Calls per second each client address may make; 0 turns the limit
    /// off [default: 500].
    #[arg(long, env = "WATT_RPC_RATE_LIMIT")]
    pub rpc_rate_limit: Option<u32>,
    /// Do not serve RPC at all.
    #[arg(long, env = "WATT_NO_RPC")]
    pub no_rpc: bool,
    /// Serve the live dashboard at `/` on the RPC address (pages for
    /// people: heights, zones, feeders, sites, meters, an explorer)
    /// [default: on for `watt dev`, off for `watt run`].
    #[arg(long, env = "WATT_DASHBOARD", conflicts_with = "no_dashboard")]
    pub dashboard: bool,
    /// Do not serve the dashboard.
    #[arg(long)]
    pub no_dashboard: bool,
}

/// The config file's `[rpc]` table.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RpcFileConfig {
    /// Serve RPC (default true).
    pub enabled: Option<bool>,
    /// Listen address.
    pub addr: Option<SocketAddr>,
    /// `auto`, `safe` or `unsafe`.
    pub methods: Option<RpcMethods>,
    /// Allowed browser origins.
    pub cors: Option<Vec<String>>,
    /// Largest request body in bytes.
    pub max_request_bytes: Option<u32>,
    /// Largest response body in bytes.
    pub max_response_bytes: Option<u32>,
    /// Most concurrent connections.
    pub max_connections: Option<u32>,
    /// Most open TCP connections from one client address.
    pub max_connections_per_ip: Option<u32>,
    /// Most subscriptions per WebSocket.
    pub max_subscriptions_per_connection: Option<u32>,
    /// Most calls per batch.
    pub max_batch: Option<u32>,
    /// Calls per second per client address (0: off).
    pub rate_limit_per_second: Option<u32>,
    /// Burst allowance per client address.
    pub rate_limit_burst: Option<u32>,
    /// Messages buffered per WebSocket before a slow subscriber is dropped.
    pub message_buffer: Option<u32>,
    /// Seconds without a finalised block before `/health/ready` fails.
    pub ready_max_lag_s: Option<u64>,
    /// Serve the live dashboard at `/`.
    pub dashboard: Option<bool>,
}

impl RpcArgs {
    /// The server's config: flags over the file over defaults; `None` if
    /// RPC is turned off. `dashboard` is the dashboard's default: on for
    /// `watt dev`, off for `watt run`.
    pub fn config(&self, file: &RpcFileConfig, dashboard: bool) -> Option<RpcConfig> {
        if self.no_rpc || file.enabled == Some(false) {
            return None;
        }
        let d = RpcConfig::default();
        let cors = self
            .rpc_cors
            .clone()
            .or(file.cors.clone())
            .unwrap_or(d.cors);
        let cors = if cors.iter().any(|c| c == "none") {
            Vec::new()
        } else {
            cors
        };
        Some(RpcConfig {
            addr: self.rpc_addr.or(file.addr).unwrap_or(d.addr),
            methods: self.rpc_methods.or(file.methods).unwrap_or(d.methods),
            cors,
            max_request_bytes: file.max_request_bytes.unwrap_or(d.max_request_bytes),
            max_response_bytes: file.max_response_bytes.unwrap_or(d.max_response_bytes),
            max_connections: self
                .rpc_max_connections
                .or(file.max_connections)
                .unwrap_or(d.max_connections),
            max_connections_per_ip: file
                .max_connections_per_ip
                .unwrap_or(d.max_connections_per_ip),
            max_subscriptions_per_connection: file
                .max_subscriptions_per_connection
                .unwrap_or(d.max_subscriptions_per_connection),
            max_batch: file.max_batch.unwrap_or(d.max_batch),
            rate_limit_per_second: self
                .rpc_rate_limit
                .or(file.rate_limit_per_second)
                .unwrap_or(d.rate_limit_per_second),
            rate_limit_burst: file.rate_limit_burst.unwrap_or(d.rate_limit_burst),
            message_buffer: file.message_buffer.unwrap_or(d.message_buffer),
            ready_max_lag: file
                .ready_max_lag_s
                .map(Duration::from_secs)
                .unwrap_or(d.ready_max_lag),
            dashboard: if self.dashboard {
                true
            } else if self.no_dashboard {
                false
            } else {
                file.dashboard.unwrap_or(dashboard)
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_none_clears_cors() {
        let file: RpcFileConfig = toml::from_str(
            "addr = \"0.0.0.0:9000\"\nmethods = \"unsafe\"\nmax_batch = 7\ncors = [\"https://wallet.example\"]",
        )
        .unwrap();
        let args = RpcArgs {
            rpc_addr: Some("127.0.0.1:9100".parse().unwrap()),
            ..RpcArgs::default()
        };
        let cfg = args.config(&file, false).unwrap();
        assert_eq!(cfg.addr.port(), 9100);
        assert_eq!(cfg.methods, RpcMethods::Unsafe);
        assert_eq!(cfg.max_batch, 7);
        assert_eq!(cfg.cors, vec!["https://wallet.example".to_string()]);
        let none = RpcArgs {
            rpc_cors: Some(vec!["none".into()]),
            ..RpcArgs::default()
        };
        assert!(none.config(&file, false).unwrap().cors.is_empty());
        assert!(RpcArgs {
            no_rpc: true,
            ..RpcArgs::default()
        }
        .config(&file, false)
        .is_none());
        assert!(toml::from_str::<RpcFileConfig>("adress = \"x\"").is_err());
    }

    #[test]
    fn the_dashboard_follows_the_flags_then_the_file_then_the_command() {
        let none = RpcFileConfig::default();
        let on: RpcFileConfig = toml::from_str("dashboard = true").unwrap();
        let off: RpcFileConfig = toml::from_str("dashboard = false").unwrap();
        let plain = RpcArgs::default();
        // `watt dev` serves it, `watt run` does not, unless told.
        assert!(plain.config(&none, true).unwrap().dashboard);
        assert!(!plain.config(&none, false).unwrap().dashboard);
        assert!(plain.config(&on, false).unwrap().dashboard);
        assert!(!plain.config(&off, true).unwrap().dashboard);
        let flag_on = RpcArgs {
            dashboard: true,
            ..RpcArgs::default()
        };
        assert!(flag_on.config(&off, false).unwrap().dashboard);
        let flag_off = RpcArgs {
            no_dashboard: true,
            ..RpcArgs::default()
        };
        assert!(!flag_off.config(&on, true).unwrap().dashboard);
    }
}
