//! `system_*`, `rpc_*` and `chain_*`.

use super::context::{store_err, RpcResult};
use super::subs::{next_block, push};
use super::Rpc;
use crate::storage::BlockReader;
use jsonrpsee::core::{async_trait, SubscriptionResult};
use jsonrpsee::PendingSubscriptionSink;
use watt_rpc_client::api::{
    ChainApiServer, MethodList, RpcApiServer, SystemApiServer, MAX_BLOCKS_PER_CALL, UNSAFE_METHODS,
};
use watt_rpc_client::error::{invalid_params, limit_exceeded};
use watt_rpc_client::types::{BlockId, Bytes, GenesisInfo, Health, RpcBlock, RpcHeader};
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::encode;
use watt_runtime::types::Height;

/// The node's name and version.
pub fn version() -> String {
    format!("watt {}", env!("CARGO_PKG_VERSION"))
}

#[async_trait]
impl SystemApiServer for Rpc {
    async fn health(&self) -> RpcResult<Health> {
        self.ctx.blocking(|ctx| ctx.health()).await
    }

    async fn version(&self) -> RpcResult<String> {
        Ok(version())
    }

    async fn chain_id(&self) -> RpcResult<Hash> {
        Ok(self.ctx.chain_id())
    }
}

impl super::context::Ctx {
    /// The node's health.
    pub fn health(&self) -> RpcResult<Health> {
        let head = self.head()?;
        let best = self.node.best_seen().max(head);
        Ok(Health {
            peers: u32::try_from(self.node.peer_count()).unwrap_or(u32::MAX),
            // Peers announce their head after each commit: one block ahead
            // is the ordinary race, more is catching up.
            is_syncing: best.0 > head.0 + 1,
            best_height: best,
            finalized_height: head,
            finality_lag_seconds: self.metrics.since_last_final().as_secs(),
        })
    }
}

#[async_trait]
impl RpcApiServer for Rpc {
    async fn methods(&self) -> RpcResult<MethodList> {
        Ok(MethodList {
            methods: self.ctx.methods.get().cloned().unwrap_or_default(),
            unsafe_methods: UNSAFE_METHODS.iter().map(|m| m.to_string()).collect(),
            unsafe_allowed: self.ctx.unsafe_allowed,
        })
    }
}

#[async_trait]
impl ChainApiServer for Rpc {
    async fn genesis(&self) -> RpcResult<GenesisInfo> {
        let ctx = &self.ctx;
        Ok(GenesisInfo {
            chain_id: ctx.chain_id(),
            state_root: ctx.genesis_root,
            encoded: Bytes(encode(&ctx.genesis)),
            genesis: ctx.genesis.clone(),
        })
    }

    async fn header(&self, at: Option<BlockId>) -> RpcResult<Option<RpcHeader>> {
        self.ctx
            .blocking(move |ctx| {
                Ok(ctx
                    .resolve_opt(at)?
                    .and_then(|a| a.header)
                    .map(|h| RpcHeader::from(&h)))
            })
            .await
    }

    async fn block(&self, at: Option<BlockId>) -> RpcResult<Option<RpcBlock>> {
        self.ctx
            .blocking(move |ctx| match ctx.resolve_opt(at)? {
                Some(a) if a.height.0 > 0 => ctx.rpc_block(a.height),
                _ => Ok(None),
            })
            .await
    }

    async fn blocks(&self, from: Height, count: u32) -> RpcResult<Vec<RpcBlock>> {
        if count > MAX_BLOCKS_PER_CALL {
            return Err(limit_exceeded(format!(
                "count {count} is above the {MAX_BLOCKS_PER_CALL} blocks one call returns; page with `from`"
            )));
        }
        if from.0 == 0 {
            return Err(invalid_params(
                "from must be at least 1: the genesis is not a block (see chain_getGenesis)",
            ));
        }
        self.ctx
            .blocking(move |ctx| {
                let head = ctx.head()?;
                let last = from.0.saturating_add(u64::from(count)).saturating_sub(1);
                let mut out = Vec::with_capacity(count as usize);
                for h in from.0..=last.min(head.0) {
                    match ctx.rpc_block(Height(h))? {
                        Some(b) => out.push(b),
                        None => return Err(store_err(format!("block {h} missing below the head"))),
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn block_hash(&self, height: Height) -> RpcResult<Option<Hash>> {
        self.ctx
            .blocking(move |ctx| Ok(ctx.at_height(height)?.map(|a| a.hash)))
            .await
    }

    async fn finalized_head(&self) -> RpcResult<Option<RpcHeader>> {
        self.header(Some(BlockId::Finalized)).await
    }

    async fn subscribe_new_heads(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        self.heads(pending).await
    }

    async fn subscribe_finalized_heads(
        &self,
        pending: PendingSubscriptionSink,
    ) -> SubscriptionResult {
        // Finality is immediate: every new head is final.
        self.heads(pending).await
    }
}

impl Rpc {
    async fn heads(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        let mut rx = self.ctx.node.subscribe();
        let mut sink = pending.accept().await?;
        while let Some(c) = next_block(&sink, &mut rx).await? {
            push(&mut sink, &RpcHeader::from(&c.header))?;
        }
        Ok(())
    }
}

impl super::context::Ctx {
    /// A stored block with its certificate, in RPC form.
    pub fn rpc_block(&self, height: Height) -> RpcResult<Option<RpcBlock>> {
        let Some(block) = self.store.block(height).map_err(store_err)? else {
            return Ok(None);
        };
        let commit = self.store.commit(height).map_err(store_err)?;
        Ok(Some(RpcBlock::new(&block, commit.as_ref())))
    }
}
