//! Block execution: the one function that changes the ledger.
//!
//! [`BlockExecutor`] runs a block's steps in a fixed order and returns what
//! changed, never writing to the state it reads:
//! 1. begin: height and time checks; pending zone policies whose hour has
//!    come take effect; vintages at the end of their lifetime expire; open
//!    debts past their deadline become shortfalls; proposals past their
//!    expiry close;
//! 2. each transaction, whose signatures were verified beforehand
//!    ([`crate::verify`]), atomically: it succeeds with events or changes
//!    nothing;
//! 3. end: scheduled governance changes due at the next height take effect.
//!
//! [`apply_block`] is the importer's path (every transaction must succeed);
//! block producers call [`BlockExecutor::try_apply`] and drop failures.

mod block_steps;
mod credits;
mod feeders;
mod governance;
mod ledger;
mod meters;
mod roles;
mod sandbox;
mod sites;
#[cfg(test)]
mod tests;
mod zones;

pub use governance::{apply_authority_change, ACTIVATION_DELAY, MAX_OPEN_PROPOSALS};
pub use meters::NewMeter;
pub use roles::{signer_role, Role};
pub use zones::{validate_params, validate_policy, MAX_ZONES};

use crate::crypto::{Hash, PublicKey};
use crate::encoding::encode;
use crate::error::{BlockError, TxError};
use crate::events::EventRecord;
use crate::state::{Overlay, StateDiff, StateReader};
use crate::tx::{Body, Transaction};
use crate::types::Height;
use ledger::Ledger;

/// What a block is executed under: supplied by consensus, never read from a
/// clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// The chain id.
    pub chain_id: Hash,
    /// The block's height.
    pub height: Height,
    /// The block's timestamp, unix milliseconds.
    pub timestamp_ms: u64,
    /// The proposer's consensus key.
    pub proposer: PublicKey,
}

/// A transaction whose signatures were checked, with the device keys its
/// readings were checked against (in reading order). Execution re-checks
/// that each is still the key the state names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTx {
    /// The transaction.
    pub tx: Transaction,
    /// Its id.
    pub hash: Hash,
    /// Its encoded size in bytes.
    pub size: usize,
    /// The device key each reading was verified under.
    pub device_keys: Vec<PublicKey>,
}

/// What a block did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockOutcome {
    /// The state changes to write.
    pub diff: StateDiff,
    /// The events, in order.
    pub events: Vec<EventRecord>,
    /// Ids of the transactions included, in order.
    pub tx_hashes: Vec<Hash>,
}

/// Executes one block step by step.
pub struct BlockExecutor<'a, R: StateReader + ?Sized> {
    ledger: Ledger<'a, R>,
    tx_hashes: Vec<Hash>,
    bytes: u64,
    max_txs: u64,
    max_bytes: u64,
}

impl<'a, R: StateReader + ?Sized> BlockExecutor<'a, R> {
    /// Starts a block on `state`: checks height and time and runs the
    /// begin-block steps.
    pub fn begin(state: &'a R, ctx: BlockContext) -> Result<Self, BlockError> {
        let mut ledger = Ledger {
            ov: Overlay::new(state),
            ctx,
            events: Vec::new(),
            tx_events: Vec::new(),
        };
        let chain = match ledger.get::<crate::state::ChainState>(&crate::state::StateKey::Chain)? {
            Some(c) => c,
            None => return Err(BlockError::NoGenesis),
        };
        if ledger.ctx.height != chain.height.next() {
            return Err(BlockError::WrongHeight {
                last: chain.height,
                got: ledger.ctx.height,
            });
        }
        if ledger.ctx.timestamp_ms <= chain.time_ms {
            return Err(BlockError::TimeNotIncreasing {
                last: chain.time_ms,
                got: ledger.ctx.timestamp_ms,
            });
        }
        let (max_txs, max_bytes) = (
            chain.params.max_block_txs as u64,
            chain.params.max_block_bytes as u64,
        );
        ledger.begin_block(chain).map_err(|e| match e {
            TxError::State(s) => BlockError::State(s),
            other => BlockError::BlockStep(other),
        })?;
        ledger.ov.commit_tx();
        ledger.flush_events(None);
        Ok(BlockExecutor {
            ledger,
            tx_hashes: Vec::new(),
            bytes: 0,
            max_txs,
            max_bytes,
        })
    }

    /// Whether one more transaction of `size` bytes fits the block limits.
    pub fn fits(&self, size: usize) -> bool {
        (self.tx_hashes.len() as u64) < self.max_txs && self.bytes + size as u64 <= self.max_bytes
    }

    /// Applies one transaction atomically: on error nothing it did remains.
    pub fn try_apply(&mut self, vtx: &VerifiedTx) -> Result<(), TxError> {
        let index = self.tx_hashes.len() as u32;
        match self.ledger.apply_tx(vtx) {
            Ok(()) => {
                self.ledger.ov.commit_tx();
                self.ledger.flush_events(Some(index));
                self.tx_hashes.push(vtx.hash);
                self.bytes += vtx.size as u64;
                Ok(())
            }
            Err(e) => {
                self.ledger.ov.rollback_tx();
                self.ledger.tx_events.clear();
                Err(e)
            }
        }
    }

    /// Runs the end-of-block steps and returns what the block did.
    pub fn finish(mut self) -> Result<BlockOutcome, BlockError> {
        self.ledger.end_block().map_err(|e| match e {
            TxError::State(s) => BlockError::State(s),
            other => BlockError::BlockStep(other),
        })?;
        self.ledger.ov.commit_tx();
        self.ledger.flush_events(None);
        Ok(BlockOutcome {
            diff: self.ledger.ov.into_diff(),
            events: self.ledger.events,
            tx_hashes: self.tx_hashes,
        })
    }
}

/// Applies a whole block whose transactions were verified: every one must
/// succeed and the block must respect the chain's limits.
pub fn apply_block<R: StateReader + ?Sized>(
    state: &R,
    ctx: BlockContext,
    txs: &[VerifiedTx],
) -> Result<BlockOutcome, BlockError> {
    let mut exec = BlockExecutor::begin(state, ctx)?;
    let bytes: u64 = txs.iter().map(|t| t.size as u64).sum();
    if txs.len() as u64 > exec.max_txs {
        return Err(BlockError::TooLarge {
            what: "transactions",
            got: txs.len() as u64,
            max: exec.max_txs,
        });
    }
    if bytes > exec.max_bytes {
        return Err(BlockError::TooLarge {
            what: "bytes",
            got: bytes,
            max: exec.max_bytes,
        });
    }
    for (index, vtx) in txs.iter().enumerate() {
        exec.try_apply(vtx).map_err(|error| BlockError::TxFailed {
            index,
            tx: vtx.hash,
            error,
        })?;
    }
    exec.finish()
}

impl VerifiedTx {
    /// Wraps a transaction with its verdict; see [`crate::verify`].
    pub fn new(tx: Transaction, device_keys: Vec<PublicKey>) -> Self {
        let bytes = encode(&tx);
        VerifiedTx {
            hash: crate::crypto::Domain::TxId.hash(&bytes),
            size: bytes.len(),
            tx,
            device_keys,
        }
    }
}

impl<R: StateReader + ?Sized> Ledger<'_, R> {
    /// Checks chain id, signer (its role by [`signer_role`]) and nonce,
    /// then runs the body.
    fn apply_tx(&mut self, vtx: &VerifiedTx) -> Result<(), TxError> {
        let u = &vtx.tx.unsigned;
        if u.chain_id != self.ctx.chain_id {
            return Err(TxError::WrongChain {
                expected: self.ctx.chain_id,
                got: u.chain_id,
            });
        }
        let signer = u.signer;
        let chain = self.chain()?;
        let exists = self.account_exists(&signer)?;
        let open_to_anyone = signer_role(&u.body) == Role::Anyone;
        if !exists
            && !open_to_anyone
            && !chain.is_authority(&signer)
            && !chain.is_regulator(&signer)
        {
            return Err(TxError::UnknownSigner { signer });
        }
        let mut account = self.account(&signer)?;
        if u.nonce != account.nonce {
            return Err(TxError::BadNonce {
                signer,
                expected: account.nonce,
                got: u.nonce,
            });
        }
        // A relayer without an account (it relays a site's consumption or
        // an equivocation's evidence, whose weight is the device's or the
        // votes' signatures) gets none: relaying must not leave a record
        // behind for ever. Its transactions always carry nonce 0; a replay
        // fails on what it carries (a reading's sequence, evidence counted
        // once), not on the nonce.
        self.check_signer(&signer, &u.body)?;
        if exists || !open_to_anyone {
            account.nonce += 1;
            self.put_account(&signer, &account);
        }
        self.apply_body(&signer, &u.body, &vtx.device_keys, &chain.params)
    }

    fn apply_body(
        &mut self,
        signer: &crate::types::AccountId,
        body: &Body,
        device_keys: &[PublicKey],
        params: &crate::types::ChainParams,
    ) -> Result<(), TxError> {
        use crate::state::ProposalKind;
        match body {
            Body::Transfer {
                to,
                amount,
                vintages,
            } => self.transfer(signer, to, *amount, vintages),
            Body::Retire {
                amount,
                beneficiary,
                purpose,
                vintages,
            } => self.retire(signer, *amount, beneficiary, purpose, vintages),
            Body::RegisterMeter {
                serial,
                device_key,
                owner,
                source,
                capacity,
                zone,
                baseline_time,
                baseline_counter,
            } => self.register_meter(
                signer,
                NewMeter {
                    serial,
                    device_key: *device_key,
                    owner: *owner,
                    source: *source,
                    capacity: *capacity,
                    zone,
                    baseline_time: *baseline_time,
                    baseline_counter: *baseline_counter,
                },
            ),
            Body::ApproveMeter { meter } => self.approve_meter(*meter),
            Body::SubmitReadings { readings } => {
                check_reading_count(readings.len(), device_keys.len(), params)?;
                let mut owners = Vec::new();
                for (r, key) in readings.iter().zip(device_keys) {
                    self.submit_reading(r, key)?;
                    let owner = self.meter(r.reading.meter)?.owner;
                    if !owners.contains(&owner) {
                        owners.push(owner);
                    }
                }
                for owner in owners {
                    self.settle_debts(&owner)?;
                }
                Ok(())
            }
            Body::ReplaceMeterKey {
                meter,
                new_device_key,
                baseline_time,
                baseline_counter,
            } => self.replace_meter_key(*meter, *new_device_key, *baseline_time, *baseline_counter),
            Body::ResyncMeter {
                meter,
                baseline_time,
                baseline_counter,
            } => self.resync_meter(*meter, *baseline_time, *baseline_counter),
            Body::TransferMeterOperator {
                meter,
                new_operator,
            } => self.transfer_meter_operator(*meter, new_operator),
            Body::RevokeMeter { meter, reason } => self.revoke_meter(*meter, reason),
            Body::RegisterSite {
                serial,
                device_key,
                owner,
                zone,
                max_draw,
                baseline_time,
                baseline_counter,
            } => self.register_site(
                serial,
                *device_key,
                owner,
                zone,
                *max_draw,
                *baseline_time,
                *baseline_counter,
            ),
            Body::SubmitConsumption { readings } => {
                check_reading_count(readings.len(), device_keys.len(), params)?;
                for (r, key) in readings.iter().zip(device_keys) {
                    self.submit_consumption(r, key)?;
                }
                Ok(())
            }
            Body::SettleShortfall { site, vintages } => {
                self.settle_shortfall(signer, *site, vintages)
            }
            Body::SetZonePolicy { zone, policy } => self.set_zone_policy(zone, policy),
            Body::SuspendSite { site, reason } => self.suspend_site(*site, reason),
            Body::ReinstateSite { site, reason } => self.reinstate_site(*site, reason),
            Body::RevokeSite { site, reason } => self.revoke_site(*site, reason),
            Body::ReplaceSiteKey {
                site,
                new_device_key,
                baseline_time,
                baseline_counter,
            } => self.replace_site_key(*site, *new_device_key, *baseline_time, *baseline_counter),
            Body::WithdrawCredits {
                account,
                vintage,
                amount,
                reason,
            } => self.withdraw(account, vintage, *amount, reason),
            Body::ProposeAuthoritySet { change } => self.propose(
                signer,
                ProposalKind::Authorities {
                    change: change.clone(),
                },
            ),
            Body::ProposeRegulatorSet { change } => self.propose(
                signer,
                ProposalKind::Regulators {
                    change: change.clone(),
                },
            ),
            Body::ProposeChainParams { params } => self.propose(
                signer,
                ProposalKind::Params {
                    params: params.clone(),
                },
            ),
            Body::Vote { proposal, approve } => self.vote(signer, *proposal, *approve),
            Body::Evidence { first, second } => self.evidence(first, second),
            Body::RegisterFeeder { feeder } => self.register_feeder(feeder),
            Body::AttachToFeeder {
                device,
                feeder,
                from_hour,
            } => self.attach_to_feeder(*device, feeder, *from_hour),
            Body::SubmitFeederReadings { readings } => {
                check_reading_count(readings.len(), device_keys.len(), params)?;
                for (r, key) in readings.iter().zip(device_keys) {
                    self.submit_feeder_reading(r, key)?;
                }
                Ok(())
            }
            Body::SubmitDeclaredLoad { loads } => {
                check_reading_count(loads.len(), device_keys.len(), params)?;
                for (d, key) in loads.iter().zip(device_keys) {
                    self.submit_declared_load(d, key)?;
                }
                Ok(())
            }
            Body::ClearFeederAlert { feeder, reason } => self.clear_feeder_alert(feeder, reason),
            Body::ResyncFeederMeter {
                feeder,
                baseline_time,
                baseline_import,
                baseline_export,
            } => {
                self.resync_feeder_meter(feeder, *baseline_time, *baseline_import, *baseline_export)
            }
            Body::SetZoneSandbox {
                zone,
                permits_required,
                grid_operators,
            } => self.set_zone_sandbox(zone, *permits_required, grid_operators),
            Body::IssuePermit { site, terms } => self.issue_permit(*site, terms),
            Body::RevokePermit { site, reason } => self.revoke_permit(*site, reason),
            Body::Curtail {
                target,
                start,
                end,
                max_mining,
            } => self.curtail(signer, target, *start, *end, *max_mining),
            Body::CancelCurtailment { order } => self.cancel_curtailment(*order),
            Body::AckCurtailment { ack } => {
                check_reading_count(1, device_keys.len(), params)?;
                self.ack_curtailment(ack, &device_keys[0])
            }
        }
    }
}

fn check_reading_count(
    count: usize,
    verified: usize,
    params: &crate::types::ChainParams,
) -> Result<(), TxError> {
    if count == 0 {
        return Err(TxError::NoReadings);
    }
    if count > params.max_readings_per_tx as usize {
        return Err(TxError::TooManyReadings {
            count,
            max: params.max_readings_per_tx,
        });
    }
    if verified != count {
        return Err(TxError::BadDeviceSignature {
            device: "reading".into(),
            sequence: verified as u64,
        });
    }
    Ok(())
}
