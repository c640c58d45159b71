//! `watt-wallet`: keys, balances, transfers, retirements, history, site
//! status, offline signing and submission, over a node's JSON-RPC.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use watt_rpc_client::api::{AuditApiClient, CreditsApiClient, SitesApiClient};
use watt_rpc_client::client::{Signer, WattClient};
use watt_rpc_client::energy::{self, Unit};
use watt_rpc_client::jsonrpsee::core::client::{Error as ClientError, Subscription};
use watt_rpc_client::jsonrpsee::ws_client::WsClientBuilder;
use watt_rpc_client::keystore::{KdfParams, Keystore, PassphraseSource};
use watt_rpc_client::types::{BlockId, Bytes, CanRun, EventFilter, TxLocation};
use watt_runtime::crypto::Hash;
use watt_runtime::crypto::PublicKey;
use watt_runtime::encoding::BoundedVec;
use watt_runtime::encoding::{decode, encode};
use watt_runtime::tx::{Body, GenerationReading, Serial, Signed, Text, Transaction};
use watt_runtime::types::{AccountId, MeterId, ProposalId, SiteId, Source, Watts, Wh, ZoneId};

/// A wallet for Watt energy credits.
#[derive(Parser, Debug)]
#[command(
    name = "watt-wallet",
    version,
    about = "A wallet for Watt energy credits: keys, balances, transfers, retirements, site status, offline signing"
)]
struct Cli {
    /// The node's JSON-RPC URL.
    #[arg(
        long,
        env = "WATT_RPC_URL",
        default_value = "http://127.0.0.1:9944",
        global = true
    )]
    rpc_url: String,
    /// The keystore directory.
    #[arg(long, env = "WATT_KEYSTORE", global = true)]
    keystore: Option<PathBuf>,
    /// Read the passphrase from this environment variable instead of a prompt.
    #[arg(long, global = true, conflicts_with = "passphrase_file")]
    passphrase_env: Option<String>,
    /// Read the passphrase from this file (first line; owner-readable only).
    #[arg(long, global = true)]
    passphrase_file: Option<PathBuf>,
    /// `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value = "text", global = true)]
    output: Output,
    /// Show energy in `auto`, `wh`, `kwh` or `mwh`.
    #[arg(long, default_value = "auto", global = true)]
    unit: Unit,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Wait {
    /// Return once the node accepted it into its mempool.
    None,
    /// Wait until it is in a finalised block.
    Finalized,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Manage keys in the encrypted keystore.
    #[command(subcommand)]
    Key(KeyCommand),
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
    /// A mining site: its run status, registration, shortfall settlement.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Generation meters (authorities and regulators).
    #[command(subcommand)]
    Meter(MeterCommand),
    /// Governance proposals and votes (authorities and regulators).
    #[command(subcommand)]
    Gov(GovCommand),
    /// Sign any transaction body (JSON, as in docs/rpc.md) offline and
    /// write the signed transaction to a file.
    Sign {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The body as JSON, e.g. '{"type":"transfer","to":"watt1...","amount":"1500","vintages":null}'.
        #[arg(long)]
        body: String,
        /// The signer's nonce (no network: give it).
        #[arg(long)]
        nonce: u64,
        /// The chain id (no network: give it; `system_chainId`).
        #[arg(long)]
        chain_id: String,
        /// Where to write the signed transaction.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a transaction body with the node's chain id and the signer's
    /// next nonce, then submit it.
    Send {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The body as JSON.
        #[arg(long)]
        body: String,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Submit a transaction file written by `sign`.
    Submit {
        /// The file.
        file: PathBuf,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
}

#[derive(Subcommand, Debug)]
enum KeyCommand {
    /// Create a new key.
    Generate {
        /// Its name in the keystore.
        name: String,
    },
    /// Import a 32-byte seed (0x hex) from a file.
    Import {
        /// Its name in the keystore.
        name: String,
        /// A file holding the seed as 0x hex (owner-readable only).
        #[arg(long)]
        seed_file: PathBuf,
    },
    /// List the keys (no passphrase needed).
    List,
    /// Print a key's account and public key.
    ExportPublic {
        /// The key's name.
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum SiteCommand {
    /// Whether the site may run now.
    Status {
        /// The site id.
        id: u64,
    },
    /// Print `run` or `stop` whenever the answer changes (Ctrl-C ends).
    Watch {
        /// The site id.
        id: u64,
    },
    /// Register a mining site (the regulator signs).
    Register {
        /// The key that signs.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        device: DeviceArgs,
        /// The account whose credits it burns.
        #[arg(long, value_parser = parse_account)]
        owner: AccountId,
        /// Its maximum draw in watts.
        #[arg(long)]
        max_draw_w: u64,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Pay off a site's shortfall with its penalty (the owner signs).
    Settle {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The site id.
        id: u64,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
}

/// A metering device: serial, key, zone and baseline.
#[derive(clap::Args, Debug)]
struct DeviceArgs {
    /// The device's serial number.
    #[arg(long)]
    serial: String,
    /// The device's signing key (0x, 32 bytes).
    #[arg(long)]
    device_key: String,
    /// The grid zone.
    #[arg(long)]
    zone: String,
    /// Unix seconds of the baseline counter.
    #[arg(long)]
    baseline_time: u64,
    /// The counter at the baseline.
    #[arg(long, value_parser = energy::parse, default_value = "0")]
    baseline_counter: Wh,
}

#[derive(Subcommand, Debug)]
enum MeterCommand {
    /// Register a generation meter (an authority signs and operates it).
    Register {
        /// The key that signs.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        device: DeviceArgs,
        /// The producer who receives the credits.
        #[arg(long, value_parser = parse_account)]
        owner: AccountId,
        /// solar, wind, hydro, geothermal, biomass or other-renewable.
        #[arg(long)]
        source: String,
        /// Nameplate capacity in watts.
        #[arg(long)]
        capacity_w: u64,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Approve a registered meter (the regulator signs).
    Approve {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// The meter id.
        id: u64,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
    /// Relay signed generation readings (the meter's operator signs).
    SubmitReadings {
        /// The key that signs.
        #[arg(long)]
        from: String,
        /// A JSON list of signed readings, each `{"reading": {...}, "signature": "0x..."}`.
        #[arg(long)]
        file: PathBuf,
        #[arg(long, value_enum, default_value = "finalized")]
        wait: Wait,
    },
}

#[derive(Subcommand, Debug)]
enum GovCommand {
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

/// A signed transaction on disk.
#[derive(Serialize, Deserialize)]
struct TxFile {
    /// The transaction id.
    hash: Hash,
    /// The canonical encoding, 0x hex: what `tx_submit` takes.
    encoded: Bytes,
    /// The transaction, for people to read; `encoded` is what counts.
    tx: Transaction,
}

struct Ctx {
    cli: Cli,
}

impl Ctx {
    fn client(&self) -> Result<WattClient> {
        WattClient::new(&self.cli.rpc_url).map_err(|e| anyhow!("{e}"))
    }

    fn keystore(&self) -> Result<Keystore> {
        let dir = match &self.cli.keystore {
            Some(d) => d.clone(),
            None => {
                let home = std::env::var_os("HOME").ok_or_else(|| {
                    anyhow!("no HOME: give the keystore directory with --keystore or WATT_KEYSTORE")
                })?;
                PathBuf::from(home).join(".watt").join("keystore")
            }
        };
        Keystore::open(&dir).map_err(|e| anyhow!("{e}"))
    }

    /// The passphrase, wiped from memory when dropped.
    fn passphrase(&self, confirm: bool) -> Result<zeroize::Zeroizing<String>> {
        let source = match (&self.cli.passphrase_env, &self.cli.passphrase_file) {
            (Some(var), _) => PassphraseSource::Env(var.clone()),
            (None, Some(file)) => PassphraseSource::File(file.clone()),
            (None, None) => PassphraseSource::Prompt { confirm },
        };
        watt_rpc_client::keystore::read_passphrase(source)
            .map(zeroize::Zeroizing::new)
            .map_err(|e| anyhow!("{e}"))
    }

    /// A `watt1...` account, or a key's account.
    fn account(&self, s: &str) -> Result<AccountId> {
        if s.starts_with("watt1") || s.starts_with("0x") {
            return AccountId::parse(s).map_err(|e| anyhow!("account {s}: {e}"));
        }
        Ok(self
            .keystore()?
            .public(s)
            .map_err(|e| anyhow!("{s} is neither a watt1... account nor a key name: {e}"))?
            .account)
    }

    fn print<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) -> Result<()> {
        match self.cli.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(value)?),
            Output::Text => println!("{}", text()),
        }
        Ok(())
    }

    fn energy(&self, w: Wh) -> String {
        energy::format(w, self.cli.unit)
    }

    async fn signer(&self, name: &str) -> Result<(Signer, WattClient)> {
        let client = self.client()?;
        let key = self
            .keystore()?
            .unlock(name, &self.passphrase(false)?)
            .map_err(|e| anyhow!("{e}"))?;
        let chain_id = client.chain_id().await.map_err(|e| anyhow!("{e}"))?;
        Ok((Signer::new(key, chain_id), client))
    }

    async fn send(&self, from: &str, body: Body, wait: Wait) -> Result<()> {
        let (signer, client) = self.signer(from).await?;
        let nonce = client
            .next_nonce(signer.account())
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let tx = signer.sign(nonce, body);
        self.submit(&client, &tx, wait).await
    }

    async fn submit(&self, client: &WattClient, tx: &Transaction, wait: Wait) -> Result<()> {
        let hash = tx.hash();
        let loc = match wait {
            Wait::None => {
                client.submit(tx).await.map_err(|e| anyhow!("{e}"))?;
                None
            }
            Wait::Finalized => Some(
                client
                    .submit_and_wait(tx, Duration::from_secs(120))
                    .await
                    .map_err(|e| anyhow!("{e}"))?,
            ),
        };
        #[derive(Serialize)]
        struct Sent {
            hash: Hash,
            location: Option<TxLocation>,
        }
        self.print(
            &Sent {
                hash,
                location: loc.clone(),
            },
            || match &loc {
                Some(l) => format!(
                    "finalized: {hash}\n  block {} (height {}), index {}",
                    l.block_hash, l.height, l.index
                ),
                None => format!("submitted: {hash}"),
            },
        )
    }
}

fn text(field: &str, s: &str) -> Result<Text> {
    Text::try_from(s.to_string()).map_err(|e| anyhow!("--{field}: {e}"))
}

/// A secret file must be readable by its owner only.
fn refuse_loose(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by others (mode {:o}); run `chmod 600 {}` first",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    Ok(())
}

/// A status as the JSON names it (`suspendedShortfall`).
fn status_name(s: &watt_runtime::state::SiteStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn serial(s: &str) -> Result<Serial> {
    Serial::try_from(s.to_string()).map_err(|e| anyhow!("--serial: {e}"))
}

fn key(s: &str) -> Result<PublicKey> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.strip_prefix("0x").unwrap_or(s), &mut out)
        .map_err(|e| anyhow!("--device-key must be 0x and 32 bytes of hex: {e}"))?;
    Ok(PublicKey(out))
}

fn zone(s: &str) -> Result<ZoneId> {
    ZoneId::new(s).map_err(|e| anyhow!("--zone {s:?}: {e}"))
}

fn parse_account(s: &str) -> Result<AccountId, String> {
    AccountId::parse(s).map_err(|e| format!("{s:?} is not a watt1... account: {e}"))
}

async fn run(ctx: Ctx) -> Result<()> {
    match &ctx.cli.command {
        Command::Key(cmd) => {
            let ks = ctx.keystore()?;
            match cmd {
                KeyCommand::Generate { name } => {
                    let pass = ctx.passphrase(true)?;
                    let info = ks
                        .generate(name, &pass, KdfParams::default())
                        .map_err(|e| anyhow!("{e}"))?;
                    ctx.print(&info, || format!("created {}: {}", info.name, info.account))?;
                }
                KeyCommand::Import { name, seed_file } => {
                    refuse_loose(seed_file)?;
                    let text = std::fs::read_to_string(seed_file)
                        .with_context(|| format!("reading {}", seed_file.display()))?;
                    let raw = text.trim();
                    let mut seed = [0u8; 32];
                    hex::decode_to_slice(raw.strip_prefix("0x").unwrap_or(raw), &mut seed)
                        .map_err(|e| {
                            anyhow!("{}: not a 32-byte 0x hex seed: {e}", seed_file.display())
                        })?;
                    let pass = ctx.passphrase(true)?;
                    let info = ks
                        .import(name, seed, &pass, KdfParams::default())
                        .map_err(|e| anyhow!("{e}"))?;
                    ctx.print(&info, || {
                        format!("imported {}: {}", info.name, info.account)
                    })?;
                }
                KeyCommand::List => {
                    let keys = ks.list().map_err(|e| anyhow!("{e}"))?;
                    ctx.print(&keys, || {
                        if keys.is_empty() {
                            "no keys yet: watt-wallet key generate <name>".into()
                        } else {
                            keys.iter()
                                .map(|k| format!("{:<20} {}", k.name, k.account))
                                .collect::<Vec<_>>()
                                .join("\n")
                        }
                    })?;
                }
                KeyCommand::ExportPublic { name } => {
                    let info = ks.public(name).map_err(|e| anyhow!("{e}"))?;
                    ctx.print(&info, || {
                        format!(
                            "account    {}\npublic key {}",
                            info.account, info.public_key
                        )
                    })?;
                }
            }
        }
        Command::Balance {
            account,
            by_vintage,
            at,
        } => {
            let id = ctx.account(account)?;
            let client = ctx.client()?;
            let (at, by) = (*at, *by_vintage);
            let b = client
                .idempotent(|c| async move { CreditsApiClient::balance(&c, id, Some(at)).await })
                .await
                .map_err(|e| anyhow!("{e}"))?;
            ctx.print(&b, || {
                let mut out = format!(
                    "{}  {} at height {}",
                    b.account,
                    ctx.energy(b.total),
                    b.height
                );
                if by {
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
        Command::Transfer {
            from,
            to,
            amount,
            wait,
        } => {
            let body = Body::Transfer {
                to: *to,
                amount: *amount,
                vintages: None,
            };
            ctx.send(from, body, *wait).await?;
        }
        Command::Retire {
            from,
            amount,
            beneficiary,
            purpose,
            wait,
        } => {
            let body = Body::Retire {
                amount: *amount,
                beneficiary: text("beneficiary", beneficiary)?,
                purpose: text("purpose", purpose)?,
                vintages: None,
            };
            ctx.send(from, body, *wait).await?;
        }
        Command::Nonce { account } => {
            let id = ctx.account(account)?;
            let client = ctx.client()?;
            let chain_id = client.chain_id().await.map_err(|e| anyhow!("{e}"))?;
            let nonce = client.nonce(id).await.map_err(|e| anyhow!("{e}"))?;
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
        Command::History {
            account,
            limit,
            cursor,
        } => {
            let id = ctx.account(account)?;
            let client = ctx.client()?;
            let filter = EventFilter {
                account: Some(id),
                ..EventFilter::default()
            };
            let (limit, cursor) = (*limit, cursor.clone());
            let page = client
                .idempotent(|c| {
                    let (filter, cursor) = (filter.clone(), cursor.clone());
                    async move { AuditApiClient::events(&c, filter, cursor, Some(limit)).await }
                })
                .await
                .map_err(|e| anyhow!("{e}"))?;
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
        Command::Site(cmd) => {
            let client = ctx.client()?;
            match cmd {
                SiteCommand::Status { id } => {
                    let id = SiteId(*id);
                    let s = client
                        .idempotent(|c| async move { SitesApiClient::can_run(&c, id, None).await })
                        .await
                        .map_err(|e| anyhow!("{e}"))?;
                    ctx.print(&s, || {
                        format!(
                            "site {} at height {}: {} ({})\n  open debt {}  shortfall {}  eligible {}  runway {} s",
                            s.site,
                            s.height,
                            if s.allowed { "run" } else { "stop" },
                            status_name(&s.status),
                            ctx.energy(s.open_debt),
                            ctx.energy(s.shortfall),
                            ctx.energy(s.eligible_balance),
                            s.runway_seconds
                        )
                    })?;
                }
                SiteCommand::Register {
                    from,
                    device,
                    owner,
                    max_draw_w,
                    wait,
                } => {
                    let body = Body::RegisterSite {
                        serial: serial(&device.serial)?,
                        device_key: key(&device.device_key)?,
                        owner: *owner,
                        zone: zone(&device.zone)?,
                        max_draw: Watts(*max_draw_w),
                        baseline_time: device.baseline_time,
                        baseline_counter: device.baseline_counter,
                    };
                    ctx.send(from, body, *wait).await?;
                }
                SiteCommand::Settle { from, id, wait } => {
                    let body = Body::SettleShortfall {
                        site: SiteId(*id),
                        vintages: None,
                    };
                    ctx.send(from, body, *wait).await?;
                }
                SiteCommand::Watch { id } => {
                    // The node pushes every change (sites_subscribeStatus);
                    // after a dropped connection the wallet reconnects and
                    // the first notification is the status now.
                    let id = SiteId(*id);
                    let ws_url = ctx
                        .cli
                        .rpc_url
                        .replacen("https://", "wss://", 1)
                        .replacen("http://", "ws://", 1);
                    let mut last: Option<bool> = None;
                    let mut delay = Duration::from_millis(200);
                    loop {
                        let ws = match WsClientBuilder::default().build(&ws_url).await {
                            Ok(ws) => ws,
                            Err(e) => {
                                eprintln!("cannot reach {ws_url}: {e}; retrying in {delay:?}");
                                tokio::time::sleep(delay).await;
                                delay = (delay * 2).min(Duration::from_secs(5));
                                continue;
                            }
                        };
                        delay = Duration::from_millis(200);
                        let mut sub: Subscription<CanRun> =
                            match SitesApiClient::subscribe_status(&ws, id).await {
                                Ok(sub) => sub,
                                Err(ClientError::Call(e)) => bail!(
                                    "site {id}: {}",
                                    watt_rpc_client::error::reason_of(&e)
                                        .unwrap_or_else(|| e.message().to_string())
                                ),
                                Err(_) => continue,
                            };
                        while let Some(Ok(s)) = sub.next().await {
                            if last != Some(s.allowed) {
                                ctx.print(&s, || {
                                    format!(
                                        "height {}: {} ({})",
                                        s.height,
                                        if s.allowed { "run" } else { "stop" },
                                        status_name(&s.status)
                                    )
                                })?;
                                last = Some(s.allowed);
                            }
                        }
                        // Without the node's word a controller must assume stop.
                        if last != Some(false) {
                            println!("connection lost: stop (reconnecting)");
                        }
                        last = None;
                    }
                }
            }
        }
        Command::Meter(cmd) => match cmd {
            MeterCommand::Register {
                from,
                device,
                owner,
                source,
                capacity_w,
                wait,
            } => {
                let source: Source = serde_json::from_value(serde_json::Value::String(
                    source.clone(),
                ))
                .map_err(|_| {
                    anyhow!("--source {source:?}: use solar, wind, hydro, geothermal, biomass or other-renewable")
                })?;
                let body = Body::RegisterMeter {
                    serial: serial(&device.serial)?,
                    device_key: key(&device.device_key)?,
                    owner: *owner,
                    source,
                    capacity: Watts(*capacity_w),
                    zone: zone(&device.zone)?,
                    baseline_time: device.baseline_time,
                    baseline_counter: device.baseline_counter,
                };
                ctx.send(from, body, *wait).await?;
            }
            MeterCommand::Approve { from, id, wait } => {
                ctx.send(
                    from,
                    Body::ApproveMeter {
                        meter: MeterId(*id),
                    },
                    *wait,
                )
                .await?;
            }
            MeterCommand::SubmitReadings { from, file, wait } => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let readings: Vec<Signed<GenerationReading>> = serde_json::from_str(&text)
                    .with_context(|| {
                        format!("{}: not a JSON list of signed readings", file.display())
                    })?;
                let n = readings.len();
                let readings = BoundedVec::new(readings).map_err(|_| {
                    anyhow!(
                        "{}: {n} readings is more than one transaction carries",
                        file.display()
                    )
                })?;
                ctx.send(from, Body::SubmitReadings { readings }, *wait)
                    .await?;
            }
        },
        Command::Gov(cmd) => match cmd {
            GovCommand::Propose {
                from,
                kind,
                change,
                wait,
            } => {
                let bad = |e: serde_json::Error| anyhow!("--change is not a {kind} change: {e}");
                let body = match kind.as_str() {
                    "authorities" => Body::ProposeAuthoritySet {
                        change: serde_json::from_str(change).map_err(bad)?,
                    },
                    "regulators" => Body::ProposeRegulatorSet {
                        change: serde_json::from_str(change).map_err(bad)?,
                    },
                    _ => {
                        // Every field must be given: a missing one would
                        // silently take its default, not the chain's value.
                        let given: serde_json::Value = serde_json::from_str(change).map_err(bad)?;
                        let all =
                            serde_json::to_value(watt_runtime::types::ChainParams::default())?;
                        if let (Some(all), Some(given)) = (all.as_object(), given.as_object()) {
                            let missing: Vec<&String> =
                                all.keys().filter(|k| !given.contains_key(*k)).collect();
                            if !missing.is_empty() {
                                bail!("--change must give every parameter (fetch them with chain_getGenesis or the last params change); missing: {missing:?}");
                            }
                        }
                        Body::ProposeChainParams {
                            params: serde_json::from_value(given).map_err(bad)?,
                        }
                    }
                };
                ctx.send(from, body, *wait).await?;
            }
            GovCommand::Vote {
                from,
                proposal,
                reject,
                wait,
            } => {
                let body = Body::Vote {
                    proposal: ProposalId(*proposal),
                    approve: !*reject,
                };
                ctx.send(from, body, *wait).await?;
            }
        },
        Command::Sign {
            from,
            body,
            nonce,
            chain_id,
            out,
        } => {
            let body: Body =
                serde_json::from_str(body).context("--body is not a transaction body")?;
            let chain_id = Hash::from_hex(chain_id)
                .map_err(|e| anyhow!("--chain-id must be 0x and 32 bytes of hex: {e}"))?;
            let key = ctx
                .keystore()?
                .unlock(from, &ctx.passphrase(false)?)
                .map_err(|e| anyhow!("{e}"))?;
            let tx = Signer::new(key, chain_id).sign(*nonce, body);
            let file = TxFile {
                hash: tx.hash(),
                encoded: Bytes(encode(&tx)),
                tx,
            };
            std::fs::write(out, serde_json::to_string_pretty(&file)?)
                .with_context(|| format!("writing {}", out.display()))?;
            ctx.print(&file.hash, || {
                format!("signed {} -> {}", file.hash, out.display())
            })?;
        }
        Command::Send { from, body, wait } => {
            let body: Body =
                serde_json::from_str(body).context("--body is not a transaction body")?;
            ctx.send(from, body, *wait).await?;
        }
        Command::Submit { file, wait } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let f: TxFile = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a signed transaction file", file.display()))?;
            let tx: Transaction = decode(&f.encoded.0)
                .map_err(|e| anyhow!("{}: `encoded` does not decode: {e}", file.display()))?;
            if tx.hash() != f.hash || tx != f.tx {
                bail!(
                    "{}: `hash` or `tx` does not match `encoded`; the file was edited: sign again",
                    file.display()
                );
            }
            let client = ctx.client()?;
            ctx.submit(&client, &tx, *wait).await?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(Ctx { cli })) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
