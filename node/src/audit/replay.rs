//! Replay and verification of one block at a time, on the auditor's own
//! state, with the runtime's own functions (`verify_txs`, `apply_block`,
//! the roots, `CommitCertificate::verify`): an auditor and a validator
//! cannot disagree about a rule.
//!
//! The checks run in the order that names the most specific cause: the
//! runtime's validity rule before execution (linkage and time, the
//! validator set and the parent's certificate), every transaction and
//! device signature (batched), execution, conservation per zone (it reads
//! the accounts as they were before the block), the rule's after-execution
//! half (event and state roots, the next validator set), the block's own
//! certificate, and last the sandbox model's own judgement of its permit
//! and curtailment events (`super::sandbox`).

use super::sandbox::{Breach, SandboxCheck};
use super::state::AuditState;
use super::AuditError;
use std::collections::BTreeMap;
use watt_runtime::block::{Block, CommitCertificate, ValidatorSet};
use watt_runtime::crypto::Hash;
use watt_runtime::encoding::decode;
use watt_runtime::error::TxError;
use watt_runtime::events::{Event, EventRecord};
use watt_runtime::exec::VerifiedTx;
use watt_runtime::exec::{apply_block, BlockContext};
use watt_runtime::genesis::Genesis;
use watt_runtime::state::{
    prefix_end, tag, Account, ChainState, StateKey, StateReader, Supply, Zone,
};
use watt_runtime::tx::Body;
use watt_runtime::types::{Height, ZoneId};
use watt_runtime::validity::{self, InvalidBlock};
use watt_runtime::verify::{recheck, verify_txs};

/// What was checked, counted.
#[derive(Clone, Debug, Default, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CheckCounts {
    /// Blocks replayed.
    pub blocks: u64,
    /// Transactions (each signer signature verified).
    pub transactions: u64,
    /// Meter and site reading signatures verified.
    pub device_signatures: u64,
    /// Other signatures inside transactions (evidence votes, proofs of
    /// possession, site owners' curtailment acknowledgements).
    pub other_signatures: u64,
    /// Commit certificates verified (each block's own and the parent's
    /// certificate the next block carries).
    pub certificates: u64,
    /// Precommit signatures in them.
    pub commit_signatures: u64,
    /// Per-zone conservation checks (zones times blocks).
    pub conservation_checks: u64,
    /// Consumption readings the sandbox model judged against a permit or
    /// a zone's permit requirement (`sandbox`).
    pub permit_checks: u64,
    /// Permits held to their feeder's mining share (issued or moved).
    pub permit_shares: u64,
    /// Curtailment orders whose shares the model derived.
    pub curtailment_orders: u64,
    /// Curtailment verdicts the model recomputed.
    pub curtailment_verdicts: u64,
}

/// A block that passed every check, with what executing it did.
pub struct Replayed {
    /// The block.
    pub block: Block,
    /// Its hash.
    pub hash: Hash,
    /// Its events.
    pub events: Vec<EventRecord>,
    /// Its permit and curtailment breaches, as the sandbox model explains
    /// them.
    pub breaches: Vec<Breach>,
}

/// The replay: the auditor's state and what the next block must link to.
pub struct Replayer {
    chain_id: Hash,
    state: AuditState,
    threads: usize,
    height: Height,
    parent_hash: Hash,
    parent_time: u64,
    /// The validator set of the last replayed height.
    parent_set: Option<ValidatorSet>,
    /// Per zone, what the events and the holdings say (independent of the
    /// zone records' own counters, which are compared with it).
    supply: BTreeMap<ZoneId, Supply>,
    /// The auditor's own model of permits and curtailment.
    sandbox: SandboxCheck,
    /// What was checked.
    pub counts: CheckCounts,
    /// The next block's hash and its transactions' verdicts, reached
    /// against the state before the last replayed block.
    ahead: Option<(Hash, Vec<Result<VerifiedTx, TxError>>)>,
}

fn discrepancy(height: Height, object: impl Into<String>, reason: impl ToString) -> AuditError {
    AuditError::Discrepancy {
        height,
        object: object.into(),
        reason: reason.to_string(),
    }
}

/// Where credits went, as the conservation check counts them.
#[derive(Clone, Copy)]
enum Flow {
    Minted,
    Burned,
    Retired,
    Withdrawn,
    Expired,
}

fn add(a: &mut watt_runtime::types::Wh, b: u64) {
    a.0 = a.0.saturating_add(b);
}

impl Replayer {
    /// Starts from the genesis state (for a recovery fork, built on the old
    /// chain's state snapshot, whose root the genesis commits to).
    pub fn new(
        genesis: &Genesis,
        old_state: Option<&watt_genesis::StateSnapshot>,
    ) -> Result<Self, AuditError> {
        let bad = |e: String| AuditError::Input(format!("genesis: {e}"));
        if let Some(old) = old_state {
            old.check_for(genesis).map_err(|e| bad(e.to_string()))?;
        }
        let diff = genesis
            .state_diff_with(old_state.map(|o| &o.entries))
            .map_err(|e| bad(e.to_string()))?;
        let state = AuditState::from_diff(&diff).map_err(|e| bad(e.to_string()))?;
        let mut supply = BTreeMap::new();
        for (_, v) in state
            .scan(&[tag::ZONE], &prefix_end(&[tag::ZONE]))
            .map_err(|e| bad(e.to_string()))?
        {
            let zone: Zone = decode(&v).map_err(|e| bad(e.to_string()))?;
            supply.insert(zone.id.clone(), zone.supply.clone());
        }
        let sandbox = SandboxCheck::new(&state)?;
        Ok(Replayer {
            chain_id: genesis.chain_id(),
            state,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            height: Height(0),
            parent_hash: genesis.chain_id(),
            parent_time: genesis.genesis_time_ms,
            parent_set: None,
            supply,
            sandbox,
            counts: CheckCounts::default(),
            ahead: None,
        })
    }

    /// The replayed state.
    pub fn state(&self) -> &AuditState {
        &self.state
    }

    /// The sandbox model (permits, usage, orders and verdicts).
    pub fn sandbox(&self) -> &SandboxCheck {
        &self.sandbox
    }

    /// The last replayed height.
    pub fn height(&self) -> Height {
        self.height
    }

    /// The last replayed block's hash (the chain id before the first).
    pub fn head_hash(&self) -> Hash {
        self.parent_hash
    }

    /// The last replayed block's time (the genesis time before the first).
    pub fn head_time_ms(&self) -> u64 {
        self.parent_time
    }

    /// The chain id.
    pub fn chain_id(&self) -> Hash {
        self.chain_id
    }

    fn chain_state(&self, h: Height) -> Result<ChainState, AuditError> {
        let bytes = self
            .state
            .get(&StateKey::Chain.encode())
            .map_err(|e| discrepancy(h, "replayed state", e))?
            .ok_or_else(|| discrepancy(h, "replayed state", "no chain record"))?;
        decode(&bytes).map_err(|e| discrepancy(h, "replayed state", e))
    }

    /// Verifies and executes the next block with its commit certificate,
    /// with the runtime's one validity rule (`watt_runtime::validity`; an
    /// auditor has no clock to hold a block's time against), then the
    /// auditor's own checks: conservation per zone and the block's own
    /// certificate.
    ///
    /// `next`, the block that follows when the caller already has it, has
    /// its signatures checked on the other cores while this block executes
    /// (against the state before this block); replaying it then checks
    /// again only what this block changed under it (`recheck`: a device
    /// key replaced, a meter registered). The verdicts are those of
    /// checking it after this block.
    pub fn replay(
        &mut self,
        block: Block,
        cert: &CommitCertificate,
        next: Option<&Block>,
    ) -> Result<Replayed, AuditError> {
        let h = self.height.next();
        let invalid = |error: InvalidBlock| AuditError::InvalidBlock {
            height: h,
            error: Box::new(error),
        };
        let set = self.chain_state(h)?.validators;
        validity::check_before_execution(
            &block,
            &self.chain_id,
            &validity::Parent {
                height: self.height,
                hash: self.parent_hash,
                time_ms: self.parent_time,
                validators: self.parent_set.as_ref(),
            },
            &set,
            None,
        )
        .map_err(invalid)?;
        if let Some(c) = &block.parent_commit {
            self.counts.certificates += 1;
            self.counts.commit_signatures += c.signatures.len() as u64;
        }
        let hd = block.header.clone();
        let txs = block.txs.to_vec();
        for tx in &txs {
            match &tx.unsigned.body {
                Body::SubmitReadings { readings } => {
                    self.counts.device_signatures += readings.len() as u64
                }
                Body::SubmitConsumption { readings } => {
                    self.counts.device_signatures += readings.len() as u64
                }
                Body::Evidence { .. } => self.counts.other_signatures += 2,
                Body::ProposeAuthoritySet { .. } => self.counts.other_signatures += 1,
                Body::AckCurtailment { .. } => self.counts.other_signatures += 1,
                _ => {}
            }
        }
        // The signatures: checked against this state while the block
        // before executed (see below), brought up to date with what that
        // block changed; or checked now.
        let hash = block.hash();
        let verdicts = match self.ahead.take() {
            Some((ahead, verdicts)) if ahead == hash => {
                recheck(&self.state, &self.chain_id, verdicts, &txs, self.threads)
            }
            _ => verify_txs(&self.state, &self.chain_id, txs.clone(), self.threads),
        };
        let mut verified = Vec::with_capacity(txs.len());
        for (i, v) in verdicts.into_iter().enumerate() {
            verified.push(v.map_err(|error| {
                invalid(InvalidBlock::Transaction {
                    index: i,
                    tx: txs[i].hash(),
                    error,
                })
            })?);
        }
        self.counts.transactions += verified.len() as u64;
        let ctx = BlockContext {
            chain_id: self.chain_id,
            height: h,
            timestamp_ms: hd.timestamp_ms,
            proposer: hd.proposer,
        };
        // Execution and the state tree's update on this thread, the next
        // block's signatures on the others, all against the state before
        // this block: nothing is written until both are done.
        let (state, chain_id, threads) = (&self.state, self.chain_id, self.threads);
        let (executed, ahead) = std::thread::scope(|scope| {
            let ahead = next.map(|n| {
                let txs = n.txs.to_vec();
                (
                    n.hash(),
                    scope.spawn(move || verify_txs(state, &chain_id, txs, threads)),
                )
            });
            // A failed tree update is reported after conservation, as
            // before the two overlapped.
            let executed = apply_block(state, ctx, &verified)
                .map_err(|e| invalid(InvalidBlock::Execution(e)))
                .map(|outcome| {
                    let update = state
                        .tree_update(&outcome.diff)
                        .map_err(|e| discrepancy(h, "replayed state", e));
                    (outcome, update)
                });
            let ahead = ahead.map(|(hash, job)| match job.join() {
                Ok(verdicts) => (hash, verdicts),
                Err(panic) => std::panic::resume_unwind(panic),
            });
            (executed, ahead)
        });
        let (outcome, update) = executed?;
        self.ahead = ahead;
        // Conservation reads the accounts as they were before the block.
        self.conservation(h, &outcome.events, &outcome.diff)?;
        let state_root = self.state.commit(&outcome.diff, update?);
        let next = self.chain_state(h)?.validators;
        validity::check_after_execution(
            &block,
            &validity::Executed {
                events: &outcome.events,
                state_root,
                next_validators: &next,
            },
        )
        .map_err(invalid)?;
        cert.verify(&self.chain_id, &set, h, &hash)
            .map_err(|e| discrepancy(h, "commit certificate", e))?;
        self.counts.certificates += 1;
        self.counts.commit_signatures += cert.signatures.len() as u64;
        // Last, the sandbox model's independent judgement of the events
        // the block is now known to commit to.
        let breaches = self
            .sandbox
            .check_block(&block, &outcome.events, &self.state)?;
        let c = self.sandbox.checked();
        self.counts.permit_checks = c.permit_checks;
        self.counts.permit_shares = c.permits_issued;
        self.counts.curtailment_orders = c.orders;
        self.counts.curtailment_verdicts = c.verdicts;
        self.counts.blocks += 1;
        self.height = h;
        self.parent_hash = hash;
        self.parent_time = hd.timestamp_ms;
        self.parent_set = Some(set);
        Ok(Replayed {
            block,
            hash,
            events: outcome.events,
            breaches,
        })
    }

    /// Conservation per zone: what the events minted, burned, retired,
    /// withdrew and expired, and what the changed accounts now hold, must
    /// match every zone's counters, and the counters must balance.
    fn conservation(
        &mut self,
        h: Height,
        events: &[EventRecord],
        diff: &watt_runtime::state::StateDiff,
    ) -> Result<(), AuditError> {
        let mut touched: std::collections::BTreeSet<ZoneId> = Default::default();
        for r in events {
            let mut take = |zone: &ZoneId, what: Flow, amount: u64| {
                touched.insert(zone.clone());
                let s = self.supply.entry(zone.clone()).or_default();
                let slot = match what {
                    Flow::Minted => &mut s.minted,
                    Flow::Burned => &mut s.burned,
                    Flow::Retired => &mut s.retired,
                    Flow::Withdrawn => &mut s.withdrawn,
                    Flow::Expired => &mut s.expired,
                };
                add(slot, amount);
            };
            match &r.event {
                Event::Minted {
                    vintage, amount, ..
                } => take(&vintage.zone, Flow::Minted, amount.0),
                Event::Burned { parts, .. } => {
                    for (v, a) in parts {
                        take(&v.zone, Flow::Burned, a.0)
                    }
                }
                Event::Retired { parts, .. } => {
                    for (v, a) in parts {
                        take(&v.zone, Flow::Retired, a.0)
                    }
                }
                Event::Withdrawn {
                    vintage, amount, ..
                } => take(&vintage.zone, Flow::Withdrawn, amount.0),
                Event::Expired {
                    vintage, amount, ..
                } => take(&vintage.zone, Flow::Expired, amount.0),
                _ => {}
            }
        }
        // Holdings: what changed accounts held before and hold after.
        let mut held_delta: BTreeMap<ZoneId, i128> = BTreeMap::new();
        for (k, new) in &diff.0 {
            if k.first() != Some(&tag::ACCOUNT) {
                continue;
            }
            let old = self
                .state
                .get(k)
                .map_err(|e| discrepancy(h, "replayed state", e))?;
            for (bytes, sign) in [(old.as_deref(), -1i128), (new.as_deref(), 1)] {
                if let Some(b) = bytes {
                    let acc: Account = decode(b)
                        .map_err(|e| discrepancy(h, format!("account 0x{}", hex::encode(k)), e))?;
                    for (v, a) in &acc.holdings {
                        *held_delta.entry(v.zone.clone()).or_default() += sign * a.0 as i128;
                    }
                }
            }
        }
        for (zone, d) in held_delta {
            touched.insert(zone.clone());
            let s = self.supply.entry(zone).or_default();
            let held = s.held.0 as i128 + d;
            s.held.0 = u64::try_from(held).unwrap_or(0);
            if held < 0 {
                return Err(discrepancy(
                    h,
                    "holdings",
                    "an account holds less than nothing",
                ));
            }
        }
        for (k, v) in &diff.0 {
            if k.first() == Some(&tag::ZONE) {
                if let Some(v) = v {
                    let zone: Zone = decode(v).map_err(|e| discrepancy(h, "zone record", e))?;
                    touched.insert(zone.id.clone());
                    self.supply.entry(zone.id).or_default();
                }
            }
        }
        for zone in touched {
            self.counts.conservation_checks += 1;
            let key = StateKey::Zone(zone.clone()).encode();
            let record = match diff.0.get(&key) {
                Some(Some(v)) => Some(v.clone()),
                Some(None) => None,
                None => self
                    .state
                    .get(&key)
                    .map_err(|e| discrepancy(h, "replayed state", e))?,
            };
            let Some(record) = record else {
                return Err(discrepancy(
                    h,
                    format!("zone {zone}"),
                    "credits of an unknown zone",
                ));
            };
            let z: Zone = decode(&record).map_err(|e| discrepancy(h, "zone record", e))?;
            let ours = self.supply.get(&zone).cloned().unwrap_or_default();
            if !z.supply.conserved() {
                return Err(discrepancy(
                    h,
                    format!("zone {zone} supply"),
                    format!("conservation broken: {:?}", z.supply),
                ));
            }
            if z.supply != ours {
                return Err(discrepancy(
                    h,
                    format!("zone {zone} supply"),
                    format!(
                        "the zone records {:?}, the events and holdings give {:?}",
                        z.supply, ours
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Compares a node's stored current state with the replayed one, key by
    /// key (one key prefix at a time, so memory stays at the state's size).
    pub fn compare_stored(&self, stored: &impl StateReader) -> Result<(), AuditError> {
        let h = self.height;
        for first in 0u8..=255 {
            let from = [first];
            let to = prefix_end(&from);
            let theirs = stored
                .scan(&from, &to)
                .map_err(|e| discrepancy(h, "stored current state", e))?;
            let ours = self
                .state
                .scan(&from, &to)
                .map_err(|e| discrepancy(h, "replayed state", e))?;
            if theirs == ours {
                continue;
            }
            let mut t = theirs.iter().peekable();
            let mut o = ours.iter().peekable();
            loop {
                match (t.peek(), o.peek()) {
                    (Some(a), Some(b)) if a == b => {
                        t.next();
                        o.next();
                    }
                    (Some(a), Some(b)) if a.0 == b.0 => {
                        return Err(discrepancy(
                            h,
                            format!("stored current state, key 0x{}", hex::encode(&a.0)),
                            "the stored value differs from the replayed one",
                        ))
                    }
                    (Some(a), b) if b.is_none_or(|b| a.0 < b.0) => {
                        return Err(discrepancy(
                            h,
                            format!("stored current state, key 0x{}", hex::encode(&a.0)),
                            "stored, but absent from the replayed state",
                        ))
                    }
                    (_, Some(b)) => {
                        return Err(discrepancy(
                            h,
                            format!("stored current state, key 0x{}", hex::encode(&b.0)),
                            "in the replayed state, but missing from the stored one",
                        ))
                    }
                    _ => break,
                }
            }
        }
        Ok(())
    }
}
