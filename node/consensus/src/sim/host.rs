//! The simulated host of one process: what a node keeps around its core.
//! The durable part (the consensus log, the decided chain and the app
//! state) survives a crash; the rest is lost with the core.

use super::scenario::{apply_change, ProcessSpec, ScheduledChange};
use crate::{Consensus, LogEntry, Message, PersistedState};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use watt_runtime::block::{CommitCertificate, ValidatorSet};
use watt_runtime::crypto::{Hash, Keypair, PublicKey};

/// Most old messages a replayer remembers.
pub(crate) const REPLAY_MEMORY: usize = 256;

pub(crate) struct Process {
    pub spec: ProcessSpec,
    pub keys: Vec<Keypair>,
    pub core: Option<Consensus>,
    /// Bumped at each start, so that timers of a crashed core never fire.
    pub incarnation: u64,
    /// Crashed for good.
    pub gone: bool,
    /// Shares a key with another process. A twin's core may forward (in a
    /// proof of lock) a vote its twin signed with the shared key, which its
    /// own log does not hold.
    pub twin: bool,
    // ----- durable -----
    /// The consensus log, folded.
    pub log: PersistedState,
    /// The signing hash of every entry ever persisted.
    pub persisted: BTreeSet<Hash>,
    /// Decided heights and their certificates.
    pub chain: BTreeMap<u64, CommitCertificate>,
    /// The app's validator set per height, known two heights ahead.
    pub sets: BTreeMap<u64, ValidatorSet>,
    // ----- volatile -----
    pub payload: u64,
    pub last_sync_ms: Option<u64>,
    pub memory: VecDeque<Message>,
}

/// The signing hash of a log entry.
pub(crate) fn entry_hash(entry: &LogEntry) -> Hash {
    match entry {
        LogEntry::Proposal(p) => p.proposal.signing_hash(),
        LogEntry::Vote(v) => v.vote.signing_hash(),
    }
}

impl Process {
    pub(crate) fn new(spec: ProcessSpec, keys: Vec<Keypair>, genesis: &ValidatorSet) -> Self {
        Process {
            spec,
            keys,
            core: None,
            incarnation: 0,
            gone: false,
            twin: false,
            log: PersistedState::default(),
            persisted: BTreeSet::new(),
            chain: BTreeMap::new(),
            sets: BTreeMap::from([(1, genesis.clone()), (2, genesis.clone())]),
            payload: 0,
            last_sync_ms: None,
            memory: VecDeque::new(),
        }
    }

    pub(crate) fn decided_height(&self) -> u64 {
        self.chain.keys().next_back().copied().unwrap_or(0)
    }

    pub(crate) fn holds_key(&self, key: &PublicKey) -> bool {
        self.keys.iter().any(|k| k.public() == *key)
    }

    /// The entry a message signed with one of this process's keys is, if
    /// it is one.
    pub(crate) fn own_entry(&self, msg: &Message) -> Option<LogEntry> {
        match msg {
            Message::Proposal(p) if self.holds_key(&p.proposal.proposer) => {
                Some(LogEntry::Proposal(p.clone()))
            }
            Message::Vote(v) if self.holds_key(&v.vote.validator) => {
                Some(LogEntry::Vote(v.clone()))
            }
            _ => None,
        }
    }

    pub(crate) fn persist(&mut self, entry: &LogEntry) {
        self.log.record(entry);
        self.persisted.insert(entry_hash(entry));
    }

    pub(crate) fn remember(&mut self, msg: &Message) {
        if matches!(
            msg,
            Message::Proposal(_) | Message::Vote(_) | Message::Commit(_)
        ) {
            if self.memory.len() >= REPLAY_MEMORY {
                self.memory.pop_front();
            }
            self.memory.push_back(msg.clone());
        }
    }

    /// Stores a decided block; the block of height `h` carries the set
    /// changes scheduled at `h`, which apply from `h + 2`.
    pub(crate) fn store_decision(
        &mut self,
        height: u64,
        cert: CommitCertificate,
        changes: &[ScheduledChange],
        key: impl Fn(usize) -> PublicKey,
    ) -> Option<ValidatorSet> {
        self.chain.insert(height, cert);
        let mut next = self.sets.get(&(height + 1))?.clone();
        for c in changes.iter().filter(|c| c.decided_at == height) {
            next = apply_change(&next, c.change, &key)?;
        }
        self.sets.insert(height + 2, next);
        self.sets.get(&(height + 1)).cloned()
    }
}
