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
use watt_rpc_client::types::{
    Bytes, Receipt, ReceiptStatus, RpcTx, SubmitVerdict, TxLocation, TxLookup, TxState, TxStatus,
    MAX_SUBMIT_BATCH, MAX_SUBMIT_BATCH_BYTES,
};
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

impl Ctx {
    /// `tx_submitBatch`: every transaction that decodes, is for this
    /// chain and is not final yet goes to the node in one submission (one
    /// verification job, batched with other callers', and one step of the
    /// node's task); one verdict each, in order.
    async fn submit_many(&self, raw: &[Bytes]) -> RpcResult<Vec<SubmitVerdict>> {
        let refused = |hash, e: &ErrorObjectOwned| SubmitVerdict {
            ok: false,
            hash,
            reason: Some(reason(e)),
        };
        let accepted = |hash| SubmitVerdict {
            ok: true,
            hash: Some(hash),
            reason: None,
        };
        let mut verdicts: Vec<Option<SubmitVerdict>> = Vec::with_capacity(raw.len());
        let mut fresh = Vec::new();
        let mut slots = Vec::new();
        for bytes in raw {
            match parse_tx(self, bytes) {
                Err(e) => {
                    let hash = decode::<Transaction>(&bytes.0).ok().map(|t| t.hash());
                    verdicts.push(Some(refused(hash, &e)));
                }
                Ok(tx) => {
                    let hash = tx.hash();
                    if self.tx_location(&hash)?.is_some() {
                        verdicts.push(Some(accepted(hash)));
                    } else {
                        slots.push(verdicts.len());
                        verdicts.push(None);
                        fresh.push(tx);
                    }
                }
            }
        }
        let hashes: Vec<Hash> = fresh.iter().map(Transaction::hash).collect();
        let results = self.node.submit(fresh).await;
        for ((slot, hash), result) in slots.into_iter().zip(hashes).zip(results) {
            verdicts[slot] = Some(match result {
                Ok(h) => accepted(h),
                Err(SubmitError::Refused(ChainError::Pool(AddError::Duplicate(h)))) => accepted(h),
                Err(SubmitError::Refused(e)) => {
                    if self.tx_location(&hash)?.is_some() {
                        accepted(hash)
                    } else {
                        let why = e.to_string();
                        SubmitVerdict {
                            ok: false,
                            hash: Some(hash),
                            reason: Some(
                                why.trim_start_matches("transaction refused: ").to_string(),
                            ),
                        }
                    }
                }
                Err(SubmitError::Stopped) => return Err(unavailable("the node is shutting down")),
            });
        }
        verdicts
            .into_iter()
            .map(|v| v.ok_or_else(|| unavailable("the node is shutting down")))
            .collect()
    }
}

#[async_trait]
impl TxApiServer for Rpc {
    async fn submit_batch(&self, txs: Vec<Bytes>) -> RpcResult<Vec<SubmitVerdict>> {
        if txs.len() > MAX_SUBMIT_BATCH {
            return Err(limit_exceeded(format!(
                "{} transactions in one tx_submitBatch call: at most {MAX_SUBMIT_BATCH}",
                txs.len()
            )));
        }
        let bytes: usize = txs.iter().map(|t| t.0.len()).sum();
        if bytes > MAX_SUBMIT_BATCH_BYTES {
            return Err(limit_exceeded(format!(
                "{bytes} bytes of transactions in one tx_submitBatch call: at most {MAX_SUBMIT_BATCH_BYTES}"
            )));
        }
        self.ctx.submit_many(&txs).await
    }

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
                push(
                    &mut sink,
                    &TxStatus::Invalid {
                        rule: None,
                        reason: reason(&e),
                    },
                )?;
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
                let (rule, reason) = (Some(why.rule()), why.to_string());
                let status = if why.is_invalid() {
                    TxStatus::Invalid { rule, reason }
                } else {
                    TxStatus::Dropped { rule, reason }
                };
                push(&mut sink, &status)?;
                break;
            }
        }
        Ok(())
    }

    async fn dry_run(&self, tx: Bytes) -> RpcResult<watt_rpc_client::types::DryRun> {
        let tx: Transaction = decode(&tx.0).map_err(|e| {
            invalid_params(format!(
                "transaction ({} bytes) does not decode: {e}",
                tx.0.len()
            ))
        })?;
        let pending = self
            .ctx
            .node
            .pending_of(tx.signer())
            .await
            .ok_or_else(|| unavailable("the node is shutting down"))?;
        self.ctx
            .blocking(move |ctx| dry::run(ctx, tx, &pending))
            .await
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
        let finalized = self
            .ctx
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
                    status: ReceiptStatus::Finalized,
                    location: Some(location),
                    events,
                    rule: None,
                    reason: None,
                    height: None,
                }))
            })
            .await?;
        if finalized.is_some() {
            return Ok(finalized);
        }
        // Left out of a block for breaking a rule (unless submitted again
        // since and pending, or committed meanwhile).
        let Some(dropped) = self.ctx.node.dropped_tx(&hash) else {
            return Ok(None);
        };
        if self.ctx.node.pending_tx(hash).await.flatten().is_some()
            || self.ctx.tx_location(&hash)?.is_some()
        {
            return Ok(None);
        }
        Ok(Some(Receipt {
            tx_hash: hash,
            status: ReceiptStatus::Dropped,
            location: None,
            events: Vec::new(),
            rule: Some(dropped.rule),
            reason: Some(dropped.message),
            height: Some(dropped.height),
        }))
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

/// `tx_dryRun`: a transaction applied to a block that is never kept.
mod dry {
    use super::super::context::{store_err, Ctx, RpcResult};
    use jsonrpsee::types::ErrorObjectOwned;
    use watt_rpc_client::error::unavailable;
    use watt_rpc_client::types::DryRun;
    use watt_runtime::crypto::PublicKey;
    use watt_runtime::exec::{BlockContext, BlockExecutor, VerifiedTx};
    use watt_runtime::state::{read_value, Account, ChainState, StateKey};
    use watt_runtime::tx::Transaction;
    use watt_runtime::TxError;

    /// How often a dry run starts again when a block lands under it.
    const ATTEMPTS: usize = 3;

    /// Verifies `tx` and applies it after the head and the signer's
    /// `pending` transactions (by nonce) that come before it.
    pub(super) fn run(ctx: &Ctx, tx: Transaction, pending: &[VerifiedTx]) -> RpcResult<DryRun> {
        let vtx = match watt_runtime::verify::verify_tx(&*ctx.store, &ctx.chain_id(), tx) {
            Ok(v) => v,
            Err(e) => return refusal(e),
        };
        for _ in 0..ATTEMPTS {
            let head = ctx.head()?;
            let outcome = at_head(ctx, &vtx, pending)?;
            // The flat state is read key by key: a block committed
            // meanwhile may have mixed two states.
            if ctx.head()? == head {
                return Ok(outcome);
            }
        }
        Err(unavailable(
            "blocks kept landing during the dry run; try again",
        ))
    }

    fn at_head(ctx: &Ctx, vtx: &VerifiedTx, pending: &[VerifiedTx]) -> RpcResult<DryRun> {
        let store = &*ctx.store;
        let chain: ChainState = read_value(store, &StateKey::Chain)
            .map_err(store_err)?
            .ok_or_else(|| store_err("no chain record"))?;
        let block = BlockContext {
            chain_id: ctx.chain_id(),
            height: chain.height.next(),
            timestamp_ms: ctx.node.clock().now_ms().max(chain.time_ms + 1),
            // Execution does not read the proposer.
            proposer: PublicKey([0; 32]),
        };
        let mut exec = BlockExecutor::begin(store, block).map_err(store_err)?;
        let signer = vtx.tx.signer();
        let mut next = read_value::<Account>(store, &StateKey::Account(signer))
            .map_err(store_err)?
            .map_or(0, |a| a.nonce);
        let mut index = 0u32;
        for p in pending {
            let nonce = p.tx.unsigned.nonce;
            if nonce < next {
                continue;
            }
            if nonce != next || nonce >= vtx.tx.unsigned.nonce || p.hash == vtx.hash {
                break;
            }
            if exec.try_apply(p).is_err() {
                break;
            }
            index += 1;
            next += 1;
        }
        match exec.try_apply(vtx) {
            Ok(()) => {}
            Err(TxError::State(e)) => return Err(store_err(e)),
            Err(e) => return refusal(e),
        }
        let outcome = exec.finish().map_err(store_err)?;
        let events = outcome
            .events
            .into_iter()
            .filter(|r| r.tx_index == Some(index))
            .map(|r| r.event.into())
            .collect();
        Ok(DryRun {
            ok: true,
            events: Some(events),
            rule: None,
            reason: None,
        })
    }

    /// The rule `e` names, as a dry run's answer.
    fn refusal(e: TxError) -> Result<DryRun, ErrorObjectOwned> {
        if let TxError::State(s) = e {
            return Err(store_err(s));
        }
        Ok(DryRun {
            ok: false,
            events: None,
            rule: Some(crate::service::dropped::rule_name(&e)),
            reason: Some(e.to_string()),
        })
    }
}
