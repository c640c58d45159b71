//! The harness's independent judge. It sees every message a core signs,
//! sends and decides, and fails the run on the first violation of:
//! - agreement: two different blocks decided at one height (any process);
//! - certificates: each decision's certificate must verify, signatures
//!   included, against the validator set of its own height, computed here
//!   from the scenario and not from any node's state;
//! - persist before send: a core never sends a message signed with its
//!   own key that its durable log does not hold;
//! - no double signing: no key of a correct process signs two different
//!   proposals, prevotes or precommits for one height and round, across
//!   restarts;
//! - evidence only against keys that did equivocate.

use super::scenario::{apply_change, ScheduledChange};
use super::SimError;
use crate::LogEntry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use watt_runtime::block::{CommitCertificate, SignedVote, ValidatorSet};
use watt_runtime::crypto::{verify_bytes, Hash, PublicKey, SigCheck, Signature};
use watt_runtime::types::Height;

/// Signature verdicts, memoised: one verification per distinct signature
/// in a run instead of one per receiver. Lookups only, so hashing order
/// never shows.
#[derive(Default)]
pub(crate) struct SigCache {
    seen: HashMap<(PublicKey, Vec<u8>, Signature), bool>,
}

impl crate::SignatureVerifier for SigCache {
    fn verify_groups(&mut self, groups: &[Vec<SigCheck>]) -> Vec<bool> {
        groups
            .iter()
            .map(|g| g.iter().all(|c| self.check(c)))
            .collect()
    }
}

impl SigCache {
    pub(crate) fn check(&mut self, c: &SigCheck) -> bool {
        *self
            .seen
            .entry((c.key, c.message.clone(), c.signature))
            .or_insert_with(|| verify_bytes(&c.key, &c.message, &c.signature).is_ok())
    }

    /// Full verification of a certificate against a set.
    pub(crate) fn certificate(
        &mut self,
        chain_id: &Hash,
        set: &ValidatorSet,
        cert: &CommitCertificate,
    ) -> Result<(), String> {
        let checks = cert
            .checks(chain_id, set, cert.height, &cert.block_hash)
            .map_err(|e| e.to_string())?;
        if checks.iter().all(|c| self.check(c)) {
            Ok(())
        } else {
            Err("a precommit signature does not verify".into())
        }
    }
}

/// One decision, as the harness saw it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DecisionRecord {
    /// Simulated time, ms.
    pub time_ms: u64,
    /// The process.
    pub process: usize,
    /// The height.
    pub height: u64,
    /// The block.
    pub block_hash: Hash,
}

/// A signing slot: key, kind (0 proposal, 1 prevote, 2 precommit),
/// height, round.
type Slot = (PublicKey, u8, u64, u32);
/// What was signed in a slot: the block (or nil) and, for a proposal, its
/// valid round.
type Signed = (Option<Hash>, Option<u32>);

pub(crate) struct Checker {
    chain_id: Hash,
    genesis: ValidatorSet,
    changes: Vec<ScheduledChange>,
    keys: Vec<PublicKey>,
    /// Keys that may sign conflicting messages: equivocators and twins.
    pub(crate) faulty: BTreeSet<PublicKey>,
    decided: BTreeMap<u64, Hash>,
    checked: BTreeSet<Hash>,
    signed: BTreeMap<Slot, Signed>,
    pub(crate) decisions: Vec<DecisionRecord>,
    pub(crate) evidence: usize,
    pub(crate) max_round: u32,
}

impl Checker {
    pub(crate) fn new(
        chain_id: Hash,
        genesis: ValidatorSet,
        changes: Vec<ScheduledChange>,
        keys: Vec<PublicKey>,
        faulty: BTreeSet<PublicKey>,
    ) -> Self {
        Checker {
            chain_id,
            genesis,
            changes,
            keys,
            faulty,
            decided: BTreeMap::new(),
            checked: BTreeSet::new(),
            signed: BTreeMap::new(),
            decisions: Vec::new(),
            evidence: 0,
            max_round: 0,
        }
    }

    /// The set of `height` by the scenario's schedule: genesis, then every
    /// change whose block is at least two heights below.
    pub(crate) fn expected_set(&self, height: u64) -> Result<ValidatorSet, SimError> {
        let mut changes = self.changes.clone();
        changes.sort_by_key(|c| c.decided_at);
        let mut set = self.genesis.clone();
        for c in changes.iter().filter(|c| c.decided_at + 2 <= height) {
            set = apply_change(&set, c.change, |i| {
                self.keys.get(i).copied().unwrap_or_default()
            })
            .ok_or(SimError::BadScenario("a set change gives an invalid set"))?;
        }
        Ok(set)
    }

    fn sign(
        &mut self,
        process: usize,
        key: PublicKey,
        slot: (u8, u64, u32),
        what: (Option<Hash>, Option<u32>),
    ) -> Result<(), SimError> {
        let prev = self
            .signed
            .entry((key, slot.0, slot.1, slot.2))
            .or_insert(what);
        if *prev != what && !self.faulty.contains(&key) {
            return Err(SimError::DoubleSign {
                process,
                key,
                height: slot.1,
                round: slot.2,
                kind: ["proposal", "prevote", "precommit"][usize::from(slot.0.min(2))],
            });
        }
        Ok(())
    }

    /// Something a core signed (its `Persist` effect, or a message it sends).
    pub(crate) fn signed(&mut self, process: usize, entry: &LogEntry) -> Result<(), SimError> {
        match entry {
            LogEntry::Proposal(p) => {
                let q = &p.proposal;
                self.sign(
                    process,
                    q.proposer,
                    (0, q.height.0, q.round),
                    (Some(q.block_hash), q.valid_round),
                )
            }
            LogEntry::Vote(v) => {
                let w = &v.vote;
                self.sign(
                    process,
                    w.validator,
                    (1 + w.kind as u8, w.height.0, w.round),
                    (w.block_hash, None),
                )
            }
        }
    }

    pub(crate) fn decided(
        &mut self,
        sigs: &mut SigCache,
        record: DecisionRecord,
        cert: &CommitCertificate,
        invalid: &BTreeSet<Hash>,
    ) -> Result<(), SimError> {
        let DecisionRecord {
            process,
            height,
            block_hash,
            ..
        } = record;
        let first = *self.decided.entry(height).or_insert(block_hash);
        if first != block_hash {
            return Err(SimError::Fork {
                height,
                first,
                second: block_hash,
            });
        }
        if invalid.contains(&block_hash) {
            return Err(SimError::InvalidBlockDecided { height, block_hash });
        }
        if cert.height != Height(height) || cert.block_hash != block_hash {
            return Err(SimError::BadCertificate {
                process,
                height,
                why: "it names another height or block".into(),
            });
        }
        if self.checked.insert(cert.hash()) {
            let set = self.expected_set(height)?;
            sigs.certificate(&self.chain_id, &set, cert)
                .map_err(|why| SimError::BadCertificate {
                    process,
                    height,
                    why,
                })?;
            // Where the set changed, the previous height's set must not
            // accept this certificate.
            if height > 1 {
                let before = self.expected_set(height - 1)?;
                if before != set && sigs.certificate(&self.chain_id, &before, cert).is_ok() {
                    return Err(SimError::BadCertificate {
                        process,
                        height,
                        why: "it also verifies against the previous height's set".into(),
                    });
                }
            }
        }
        self.max_round = self.max_round.max(cert.round);
        self.decisions.push(record);
        Ok(())
    }

    pub(crate) fn evidence(
        &mut self,
        sigs: &mut SigCache,
        process: usize,
        first: &SignedVote,
        second: &SignedVote,
    ) -> Result<(), SimError> {
        let key = first.vote.validator;
        let genuine = first.vote.conflicts_with(&second.vote)
            && sigs.check(&first.signature_check())
            && sigs.check(&second.signature_check());
        if !genuine || !self.faulty.contains(&key) {
            return Err(SimError::FalseEvidence { process, key });
        }
        self.evidence += 1;
        Ok(())
    }
}
