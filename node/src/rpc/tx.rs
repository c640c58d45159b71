//! `tx_*`: submission, watching and lookups.

use super::context::{store_err, Ctx, RpcResult};
use super::subs::{next_block, push};
use super::Rpc;
use crate::chain::ChainError;
use crate::mempool::AddError;
use crate::service::SubmitError;
use crate::storage::BlockReader;
use jsonrpsee::core::{async_trait, SubscriptionResult};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::PendingSubscriptionSink;
use watt_rpc_client::api::{TxApiServer, MAX_PAGE};
use watt_rpc_client::error::{
    invalid_params, limit_exceeded, rejected, unavailable, TRANSACTION_REJECTED,
};
use watt_rpc_client::types::{Bytes, Receipt, RpcTx, TxLocation, TxLookup, TxState, TxStatus};
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::decode;
use watt_runtime::tx::Transaction;

/// Decodes a submitted transaction and checks it is for this chain.
fn parse_tx(ctx: &Ctx, bytes: &Bytes) -> RpcResult<Transaction> {
    let tx: Transaction = decode(&bytes.0).map_err(|e| {
        invalid_params(format!(
            "transaction ({} bytes) does not decode: {e}",
            bytes.0.len()
        ))
    })?;
    if tx.unsigned.chain_id != ctx.chain_id() {
        return Err(rejected(format!(
            "wrong chain id {}: this chain is {}",
            tx.unsigned.chain_id,
            ctx.chain_id()
        )));
    }
    Ok(tx)
}

/// What became of a submission.
enum Submitted {
    /// Added to the mempool, or already pending.
    Pending(Hash),
    /// Already in a finalised block.
    Final(Hash, TxLocation),
}

impl Ctx {
    /// Where a finalised transaction landed.
    pub fn tx_location(&self, hash: &Hash) -> RpcResult<Option<TxLocation>> {
        let Some((height, index)) = self.store.tx_location(hash).map_err(store_err)? else {
            return Ok(None);
        };
        let at = self
            .at_height(height)?
            .ok_or_else(|| store_err(format!("tx index names missing block {height}")))?;
        Ok(Some(TxLocation {
            block_hash: at.hash,
            height,
            index,
        }))
    }

    /// A finalised transaction at its location.
    fn lookup_final(&self, loc: TxLocation) -> RpcResult<Option<TxLookup>> {
        let block = self
            .store
            .block(loc.height)
            .map_err(store_err)?
            .ok_or_else(|| store_err(format!("block {} missing", loc.height)))?;
        let tx = block
            .txs
            .get(loc.index as usize)
            .ok_or_else(|| store_err("tx index past the block's end"))?;
        Ok(Some(TxLookup {
            tx: RpcTx::from(tx),
            status: TxState::Finalized,
            location: Some(loc),
        }))
    }

    async fn submit_one(&self, tx: Transaction) -> RpcResult<Submitted> {
        let hash = tx.hash();
        if let Some(loc) = self.tx_location(&hash)? {
            return Ok(Submitted::Final(hash, loc));
        }
        match self.node.submit(vec![tx]).await.pop() {
            Some(Ok(h)) => Ok(Submitted::Pending(h)),
            Some(Err(SubmitError::Refused(ChainError::Pool(AddError::Duplicate(h))))) => {
                Ok(Submitted::Pending(h))
            }
            Some(Err(SubmitError::Refused(e))) => {
                // It may have been committed since the check above.
                if let Some(loc) = self.tx_location(&hash)? {
                    return Ok(Submitted::Final(hash, loc));
                }
                Err(rejected(
                    e.to_string()
                        .trim_start_matches("transaction refused: ")
                        .to_string(),
                ))
            }
            Some(Err(SubmitError::Stopped)) | None => Err(unavailable("the node is shutting down")),
        }
    }
}

#[async_trait]
impl TxApiServer for Rpc {
    async fn submit(&self, tx: Bytes) -> RpcResult<Hash> {
        let tx = parse_tx(&self.ctx, &tx)?;
        match self.ctx.submit_one(tx).await? {
            Submitted::Pending(h) | Submitted::Final(h, _) => Ok(h),
        }
    }

    async fn submit_and_watch(
        &self,
        pending: PendingSubscriptionSink,
        tx: Bytes,
    ) -> SubscriptionResult {
        let tx = match parse_tx(&self.ctx, &tx) {
            Ok(tx) => tx,
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        // Subscribe before submitting, so the block that includes it
        // cannot pass unseen.
        let mut rx = self.ctx.node.subscribe();
        let outcome = match self.ctx.submit_one(tx).await {
            Ok(o) => o,
            // The node could not answer (stopping, store failure): that is
            // not a verdict on the transaction.
            Err(e) if e.code() != TRANSACTION_REJECTED => {
                pending.reject(e).await;
                return Ok(());
            }
            Err(e) => {
                let mut sink = pending.accept().await?;
                push(&mut sink, &TxStatus::Invalid { reason: reason(&e) })?;
                return Ok(());
            }
        };
        let mut sink = pending.accept().await?;
        let hash = match outcome {
            Submitted::Pending(hash) => hash,
            Submitted::Final(_, loc) => {
                push(&mut sink, &TxStatus::Finalized(loc))?;
                return Ok(());
            }
        };
        push(&mut sink, &TxStatus::Ready { hash })?;
        while let Some(c) = next_block(&sink, &mut rx).await? {
            if let Some(index) = c.tx_hashes.iter().position(|h| *h == hash) {
                let loc = TxLocation {
                    block_hash: c.hash,
                    height: c.header.height,
                    index: index as u32,
                };
                // Included and finalised by the same commit.
                push(&mut sink, &TxStatus::Included(loc.clone()))?;
                push(&mut sink, &TxStatus::Finalized(loc))?;
                break;
            }
            if let Some((_, why)) = c.dropped.iter().find(|(h, _)| *h == hash) {
                let reason = why.to_string();
                let status = if why.is_invalid() {
                    TxStatus::Invalid { reason }
                } else {
                    TxStatus::Dropped { reason }
                };
                push(&mut sink, &status)?;
                break;
            }
        }
        Ok(())
    }

    async fn get(&self, hash: Hash) -> RpcResult<Option<TxLookup>> {
        let found = self
            .ctx
            .blocking(move |ctx| match ctx.tx_location(&hash)? {
                Some(loc) => ctx.lookup_final(loc),
                None => Ok(None),
            })
            .await?;
        if found.is_some() {
            return Ok(found);
        }
        let pending = self.ctx.node.pending_tx(hash).await.flatten();
        if let Some(tx) = pending {
            return Ok(Some(TxLookup {
                tx: RpcTx::from(&tx),
                status: TxState::Pending,
                location: None,
            }));
        }
        // It may have been committed between the two reads: look again.
        self.ctx
            .blocking(move |ctx| match ctx.tx_location(&hash)? {
                Some(loc) => ctx.lookup_final(loc),
                None => Ok(None),
            })
            .await
    }

    async fn receipt(&self, hash: Hash) -> RpcResult<Option<Receipt>> {
        self.ctx
            .blocking(move |ctx| {
                let Some(location) = ctx.tx_location(&hash)? else {
                    return Ok(None);
                };
                let events = ctx
                    .store
                    .events(location.height)
                    .map_err(store_err)?
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|r| r.tx_index == Some(location.index))
                    .map(|r| r.event.into())
                    .collect();
                Ok(Some(Receipt {
                    tx_hash: hash,
                    location,
                    events,
                }))
            })
            .await
    }

    async fn pending(&self, limit: Option<u32>) -> RpcResult<Vec<RpcTx>> {
        let limit = limit.unwrap_or(MAX_PAGE);
        if limit > MAX_PAGE {
            return Err(limit_exceeded(format!("limit {limit} is above {MAX_PAGE}")));
        }
        self.ctx
            .node
            .pending_txs(limit as usize)
            .await
            .map(|txs| txs.iter().map(RpcTx::from).collect())
            .ok_or_else(|| unavailable("the node is shutting down"))
    }
}

fn reason(e: &ErrorObjectOwned) -> String {
    watt_rpc_client::error::reason_of(e).unwrap_or_else(|| e.message().to_string())
}
