//! `credits_*`, `meters_*`, `sites_*`, `zones_*` and `gov_*`: the ledger
//! read at a block.

use super::context::{store_err, At, Ctx, RpcResult};
use super::state_at::StateAt;
use super::subs::{next_block, push};
use super::Rpc;
use jsonrpsee::core::{async_trait, SubscriptionResult};
use jsonrpsee::PendingSubscriptionSink;
use std::collections::BTreeMap;
use watt_rpc_client::api::{
    CreditsApiServer, GovApiServer, MetersApiServer, SitesApiServer, ZonesApiServer, MAX_PAGE,
};
use watt_rpc_client::error::{limit_exceeded, not_found};
use watt_rpc_client::types::{
    AccountInfo, Balance, BlockId, CanRun, SupplyInfo, VintageBalance, ZoneSupply,
};
use watt_rpc_client::view;
use watt_runtime::block::Validator;
use watt_runtime::encoding::decode;
use watt_runtime::standing::standing;
use watt_runtime::state::{
    prefix_end, tag, Account, Meter, Proposal, Site, SiteStatus, StateKey, StateReader, Zone,
};
use watt_runtime::types::{AccountId, Bucket, Hour, MeterId, ProposalId, SiteId, Wh, ZoneId};

pub(super) fn page_limit(limit: Option<u32>) -> RpcResult<u32> {
    match limit {
        None => Ok(MAX_PAGE),
        Some(n) if n > MAX_PAGE => Err(limit_exceeded(format!(
            "limit {n} is above the {MAX_PAGE} items one call returns"
        ))),
        Some(n) => Ok(n),
    }
}

impl Ctx {
    fn account_info(&self, at: &At, account: AccountId) -> RpcResult<AccountInfo> {
        let acct: Account = self
            .state(at, &StateKey::Account(account))?
            .unwrap_or_default();
        let chain = self.chain_state(at)?;
        let mut roles = Vec::new();
        if chain.validators.by_operator(&account).is_some() {
            roles.push("authority".to_string());
        }
        if chain.regulators.contains(&account) {
            roles.push("regulator".to_string());
        }
        Ok(AccountInfo {
            account,
            height: at.height,
            nonce: acct.nonce,
            pending_nonce: acct.nonce,
            balance: acct.balance(),
            roles,
        })
    }

    fn balance(&self, at: &At, account: AccountId) -> RpcResult<Balance> {
        let acct: Account = self
            .state(at, &StateKey::Account(account))?
            .unwrap_or_default();
        let mut lifetimes: BTreeMap<ZoneId, Option<u64>> = BTreeMap::new();
        let mut by_vintage = Vec::with_capacity(acct.holdings.len());
        for (vintage, amount) in &acct.holdings {
            if !lifetimes.contains_key(&vintage.zone) {
                let zone: Option<Zone> = self.state(at, &StateKey::Zone(vintage.zone.clone()))?;
                let life = zone.and_then(|z| z.policy).map(|p| p.credit_lifetime_hours);
                lifetimes.insert(vintage.zone.clone(), life);
            }
            let life = lifetimes.get(&vintage.zone).copied().flatten();
            by_vintage.push(VintageBalance {
                vintage: vintage.clone(),
                amount: *amount,
                expires_at_hour: life.map(|l| Hour(vintage.hour.0.saturating_add(l))),
            });
        }
        by_vintage.sort_by(|a, b| {
            (a.vintage.hour, &a.vintage.zone).cmp(&(b.vintage.hour, &b.vintage.zone))
        });
        Ok(Balance {
            account,
            height: at.height,
            total: acct.balance(),
            by_vintage,
        })
    }

    /// Every zone id: zones are never deleted, so the current state's set
    /// covers every past state (zones not yet created read as absent).
    fn zone_ids(&self) -> RpcResult<Vec<ZoneId>> {
        let from = [tag::ZONE];
        let rows = self
            .store
            .scan(&from, &prefix_end(&from))
            .map_err(store_err)?;
        rows.iter()
            .map(|(_, v)| {
                decode::<Zone>(v)
                    .map(|z| z.id)
                    .map_err(|e| store_err(format!("zone record: {e}")))
            })
            .collect()
    }

    fn zones_at(&self, at: &At) -> RpcResult<Vec<Zone>> {
        let mut out = Vec::new();
        for id in self.zone_ids()? {
            if let Some(z) = self.state::<Zone>(at, &StateKey::Zone(id))? {
                out.push(z);
            }
        }
        Ok(out)
    }

    /// Decoded values of the current state in `[from, to)`.
    fn scan_values<T: borsh::BorshDeserialize>(&self, from: &[u8], to: &[u8]) -> RpcResult<Vec<T>> {
        self.store
            .scan(from, to)
            .map_err(store_err)?
            .iter()
            .map(|(k, v)| {
                decode::<T>(v).map_err(|e| store_err(format!("record {}: {e}", hex::encode(k))))
            })
            .collect()
    }

    /// What `sites_canRun` answers; `None` for an unknown site. The
    /// status is the site's own (section 4 of the SPEC); whether and how
    /// much it may draw is its standing, which adds permits and
    /// curtailment.
    pub fn can_run(&self, at: &At, id: SiteId) -> RpcResult<Option<CanRun>> {
        let Some(site) = self.state::<Site>(at, &StateKey::Site(id))? else {
            return Ok(None);
        };
        let policy = self
            .state::<Zone>(at, &StateKey::Zone(site.zone.clone()))?
            .and_then(|z| z.policy);
        let status = match &policy {
            Some(p) => site.status(p, at.time_ms),
            // A zone without a policy in force cannot host mining.
            None => SiteStatus::SuspendedByRegulator,
        };
        let owner: Account = self
            .state(at, &StateKey::Account(site.owner))?
            .unwrap_or_default();
        let eligible = match &policy {
            Some(p) => {
                let bucket = Bucket::containing(p.matching_window, Hour::of_millis(at.time_ms));
                owner
                    .holdings
                    .iter()
                    .filter(|(v, _)| v.zone == site.zone && bucket.contains(v.hour))
                    .map(|(_, w)| w.0)
                    .sum()
            }
            None => 0,
        };
        let standing = standing(&StateAt::new(self, at), &site, at.time_ms).map_err(store_err)?;
        let runway = if site.max_draw.0 == 0 {
            u64::MAX
        } else {
            (u128::from(eligible) * 3600 / u128::from(site.max_draw.0)).min(u128::from(u64::MAX))
                as u64
        };
        Ok(Some(CanRun {
            site: id,
            height: at.height,
            allowed: standing.max_power.0 > 0,
            status: status.into(),
            open_debt: site.open_debt,
            shortfall: site.shortfall,
            eligible_balance: Wh(eligible),
            runway_seconds: runway,
            max_power: standing.max_power,
            reason: standing.reason.name().to_string(),
            until: standing.until,
        }))
    }
}

impl Rpc {
    /// A subscription to a value read at each finalised block: sent now,
    /// then whenever it is not `same` as the last one sent. A value absent
    /// at the start is refused with -32001 (`missing` says what); one that
    /// disappears ends the subscription.
    async fn watch<T, R, S>(
        &self,
        pending: PendingSubscriptionSink,
        read: R,
        same: S,
        missing: impl Fn() -> String,
    ) -> SubscriptionResult
    where
        T: serde::Serialize + Send + 'static,
        R: Fn(&Ctx, &At) -> RpcResult<Option<T>> + Clone + Send + 'static,
        S: Fn(&T, &T) -> bool,
    {
        let mut rx = self.ctx.node.subscribe();
        let first = {
            let read = read.clone();
            self.ctx
                .blocking(move |ctx| read(ctx, &ctx.resolve(None)?))
                .await
        };
        let mut last = match first {
            Ok(Some(v)) => v,
            Ok(None) => {
                pending.reject(not_found(missing())).await;
                return Ok(());
            }
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        let mut sink = pending.accept().await?;
        push(&mut sink, &last)?;
        while let Some(c) = next_block(&sink, &mut rx).await? {
            let (height, read) = (c.header.height, read.clone());
            let now = self
                .ctx
                .blocking(move |ctx| read(ctx, &ctx.resolve(Some(BlockId::Height(height)))?))
                .await?;
            let Some(now) = now else {
                return Err("it no longer exists".into());
            };
            if !same(&now, &last) {
                push(&mut sink, &now)?;
                last = now;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl CreditsApiServer for Rpc {
    async fn account(&self, account: AccountId, at: Option<BlockId>) -> RpcResult<AccountInfo> {
        let latest = matches!(at, None | Some(BlockId::Latest | BlockId::Finalized));
        let mut info = self
            .ctx
            .read_at(at, move |ctx, at| {
                ctx.account_info(&ctx.resolve(at)?, account)
            })
            .await?;
        if latest {
            let chain_nonce = info.nonce;
            if let Some(n) = self.ctx.node.pending_nonce(account, chain_nonce).await {
                info.pending_nonce = n;
            }
        }
        Ok(info)
    }

    async fn balance(&self, account: AccountId, at: Option<BlockId>) -> RpcResult<Balance> {
        self.ctx
            .read_at(at, move |ctx, at| ctx.balance(&ctx.resolve(at)?, account))
            .await
    }

    async fn supply(&self, at: Option<BlockId>) -> RpcResult<SupplyInfo> {
        self.ctx
            .blocking(move |ctx| {
                let at = ctx.resolve(at)?;
                let zones = ctx
                    .zones_at(&at)?
                    .into_iter()
                    .map(|z| ZoneSupply {
                        zone: z.id,
                        minted: z.supply.minted,
                        held: z.supply.held,
                        burned: z.supply.burned,
                        retired: z.supply.retired,
                        withdrawn: z.supply.withdrawn,
                        expired: z.supply.expired,
                    })
                    .collect();
                Ok(SupplyInfo {
                    height: at.height,
                    zones,
                })
            })
            .await
    }

    async fn subscribe_account(
        &self,
        pending: PendingSubscriptionSink,
        account: AccountId,
    ) -> SubscriptionResult {
        let read = move |ctx: &Ctx, at: &At| ctx.account_info(at, account).map(Some);
        let same = |a: &AccountInfo, b: &AccountInfo| {
            (a.nonce, a.balance, &a.roles) == (b.nonce, b.balance, &b.roles)
        };
        self.watch(pending, read, same, String::new).await
    }
}

#[async_trait]
impl MetersApiServer for Rpc {
    async fn get(&self, id: MeterId, at: Option<BlockId>) -> RpcResult<Option<view::Meter>> {
        self.ctx
            .blocking(move |ctx| {
                let meter: Option<Meter> = ctx.state(&ctx.resolve(at)?, &StateKey::Meter(id))?;
                Ok(meter.map(Into::into))
            })
            .await
    }

    async fn list(&self, from: Option<MeterId>, limit: Option<u32>) -> RpcResult<Vec<view::Meter>> {
        let limit = page_limit(limit)?;
        let from = from.unwrap_or(MeterId(1));
        self.ctx
            .blocking(move |ctx| {
                let end = from.0.saturating_add(u64::from(limit));
                let meters: Vec<Meter> = ctx.scan_values(
                    &StateKey::Meter(from).encode(),
                    &StateKey::Meter(MeterId(end)).encode(),
                )?;
                Ok(views(meters))
            })
            .await
    }
}

#[async_trait]
impl SitesApiServer for Rpc {
    async fn get(&self, id: SiteId, at: Option<BlockId>) -> RpcResult<Option<view::Site>> {
        self.ctx
            .blocking(move |ctx| {
                let site: Option<Site> = ctx.state(&ctx.resolve(at)?, &StateKey::Site(id))?;
                Ok(site.map(Into::into))
            })
            .await
    }

    async fn list(&self, from: Option<SiteId>, limit: Option<u32>) -> RpcResult<Vec<view::Site>> {
        let limit = page_limit(limit)?;
        let from = from.unwrap_or(SiteId(1));
        self.ctx
            .blocking(move |ctx| {
                let end = from.0.saturating_add(u64::from(limit));
                let sites: Vec<Site> = ctx.scan_values(
                    &StateKey::Site(from).encode(),
                    &StateKey::Site(SiteId(end)).encode(),
                )?;
                Ok(views(sites))
            })
            .await
    }

    async fn can_run(&self, id: SiteId, at: Option<BlockId>) -> RpcResult<CanRun> {
        self.ctx
            .blocking(move |ctx| {
                ctx.can_run(&ctx.resolve(at)?, id)?
                    .ok_or_else(|| not_found(format!("no site {id}")))
            })
            .await
    }

    async fn subscribe_status(
        &self,
        pending: PendingSubscriptionSink,
        id: SiteId,
    ) -> SubscriptionResult {
        let read = move |ctx: &Ctx, at: &At| ctx.can_run(at, id);
        // Any field but the height.
        let same = |a: &CanRun, b: &CanRun| {
            CanRun {
                height: b.height,
                ..a.clone()
            } == *b
        };
        self.watch(pending, read, same, move || format!("no site {id}"))
            .await
    }
}

#[async_trait]
impl ZonesApiServer for Rpc {
    async fn get(&self, zone: ZoneId, at: Option<BlockId>) -> RpcResult<Option<view::Zone>> {
        self.ctx
            .blocking(move |ctx| {
                let zone: Option<Zone> = ctx.state(&ctx.resolve(at)?, &StateKey::Zone(zone))?;
                Ok(zone.map(Into::into))
            })
            .await
    }

    async fn list(&self, at: Option<BlockId>) -> RpcResult<Vec<view::Zone>> {
        self.ctx
            .blocking(move |ctx| Ok(views(ctx.zones_at(&ctx.resolve(at)?)?)))
            .await
    }

    async fn sandbox(
        &self,
        zone: ZoneId,
        at: Option<BlockId>,
    ) -> RpcResult<Option<view::ZoneSandbox>> {
        self.ctx
            .blocking(move |ctx| ctx.zone_sandbox(&ctx.resolve(at)?, zone))
            .await
    }
}

#[async_trait]
impl GovApiServer for Rpc {
    async fn authorities(&self, at: Option<BlockId>) -> RpcResult<Vec<Validator>> {
        self.ctx
            .blocking(move |ctx| {
                Ok(ctx
                    .chain_state(&ctx.resolve(at)?)?
                    .validators
                    .validators()
                    .to_vec())
            })
            .await
    }

    async fn regulators(&self, at: Option<BlockId>) -> RpcResult<Vec<AccountId>> {
        self.ctx
            .blocking(move |ctx| Ok(ctx.chain_state(&ctx.resolve(at)?)?.regulators))
            .await
    }

    async fn proposals(
        &self,
        at: Option<BlockId>,
        limit: Option<u32>,
    ) -> RpcResult<Vec<view::GovProposal>> {
        let limit = page_limit(limit)?;
        self.ctx
            .blocking(move |ctx| {
                let at = ctx.resolve(at)?;
                // The last id assigned (ids count from 1).
                let last = ctx.chain_state(&at)?.next_proposal;
                let mut out = Vec::new();
                for id in (1..=last).rev().take(limit as usize) {
                    if let Some(p) =
                        ctx.state::<Proposal>(&at, &StateKey::Proposal(ProposalId(id)))?
                    {
                        out.push(p.into());
                    }
                }
                Ok(out)
            })
            .await
    }
}

/// Ledger records as the API shows them.
fn views<L, V: From<L>>(records: Vec<L>) -> Vec<V> {
    records.into_iter().map(V::from).collect()
}
