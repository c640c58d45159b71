//! The event loop: simulated time, the queue of pending events, and the
//! host side of every process (performing its core's effects).

use super::checker::{Checker, DecisionRecord, SigCache};
use super::host::{entry_hash, Process};
use super::rng::Rng;
use super::scenario::{genesis_set, sim_key, Behaviour, CrashTrigger, Scenario, SetChange};
use super::{LifeEvent, Outcome, SimError};
use crate::{Consensus, Effect, Input, LogEntry, Message, Timeout};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use watt_runtime::block::CommitCertificate;
use watt_runtime::crypto::{Hash, Keypair, PublicKey};
use watt_runtime::types::Height;

/// A run stops with an error after this many events.
const MAX_EVENTS: u64 = 5_000_000;

pub(super) enum Event {
    Start(usize),
    Deliver {
        to: usize,
        from: usize,
        msg: Message,
    },
    Timer {
        p: usize,
        incarnation: u64,
        timeout: Timeout,
    },
    Crash(usize),
    Tick(usize),
}

/// A simulation in progress.
pub struct Sim {
    pub(super) sc: Scenario,
    pub(super) now: u64,
    pub(super) seq: u64,
    pub(super) queue: BTreeMap<(u64, u64), Event>,
    pub(super) rng: Rng,
    pub(super) chain_id: Hash,
    pub(super) keys: Vec<Keypair>,
    pub(super) publics: Vec<PublicKey>,
    pub(super) procs: Vec<Process>,
    pub(super) sigs: SigCache,
    pub(super) invalid: BTreeSet<Hash>,
    pub(super) checker: Checker,
    pub(super) trace: blake3::Hasher,
    pub(super) heal_ms: u64,
    pub(super) fired: Vec<bool>,
    pub(super) events: u64,
    pub(super) delivered: u64,
    pub(super) rejected: usize,
    pub(super) forged_dropped: usize,
    pub(super) crashes: usize,
    pub(super) restarts: usize,
    pub(super) lifecycle: Vec<LifeEvent>,
}

/// Runs a scenario to its end.
pub fn run(sc: Scenario) -> Result<Outcome, SimError> {
    Sim::new(sc)?.run()
}

impl Sim {
    /// Sets a scenario up.
    pub fn new(sc: Scenario) -> Result<Sim, SimError> {
        let mut highest = sc.validators;
        for p in &sc.processes {
            highest = highest.max(p.keys.iter().map(|k| k + 1).max().unwrap_or(0));
        }
        for c in &sc.set_changes {
            highest = highest.max(match c.change {
                SetChange::Add { key } | SetChange::Remove { key } => key + 1,
                SetChange::Rotate { from, to } => from.max(to) + 1,
            });
        }
        // One more key than anyone uses: the forgers' stranger.
        let keys: Vec<Keypair> = (0..=highest).map(sim_key).collect();
        let publics: Vec<PublicKey> = keys.iter().map(Keypair::public).collect();
        let genesis_keys = publics
            .get(..sc.validators)
            .ok_or(SimError::BadScenario("no validators"))?;
        let genesis =
            genesis_set(genesis_keys).ok_or(SimError::BadScenario("invalid genesis set"))?;
        let mut holders: BTreeMap<usize, usize> = BTreeMap::new();
        for p in &sc.processes {
            for k in &p.keys {
                *holders.entry(*k).or_default() += 1;
            }
        }
        let mut faulty = BTreeSet::new();
        for p in &sc.processes {
            for k in &p.keys {
                if p.behaviour.equivocates() || holders.get(k).copied().unwrap_or(0) > 1 {
                    faulty.insert(publics[*k]);
                }
            }
        }
        let procs = sc
            .processes
            .iter()
            .map(|spec| {
                let ks = spec.keys.iter().map(|k| keys[*k].clone()).collect();
                let mut proc = Process::new(spec.clone(), ks, &genesis);
                proc.twin = spec
                    .keys
                    .iter()
                    .any(|k| holders.get(k).copied().unwrap_or(0) > 1);
                proc
            })
            .collect();
        let chain_id = Hash([0x5C; 32]);
        let checker = Checker::new(
            chain_id,
            genesis,
            sc.set_changes.clone(),
            publics.clone(),
            faulty,
        );
        Ok(Sim {
            rng: Rng::new(sc.seed),
            fired: vec![false; sc.crashes.len()],
            heal_ms: sc.net.healed_at(),
            sc,
            now: 0,
            seq: 0,
            queue: BTreeMap::new(),
            chain_id,
            keys,
            publics,
            procs,
            sigs: SigCache::default(),
            invalid: BTreeSet::new(),
            checker,
            trace: blake3::Hasher::new(),
            events: 0,
            delivered: 0,
            rejected: 0,
            forged_dropped: 0,
            crashes: 0,
            restarts: 0,
            lifecycle: Vec::new(),
        })
    }

    /// Runs until every correct process has decided the target height, or
    /// the liveness deadline passes (an error), or a check fails (an error).
    pub fn run(mut self) -> Result<Outcome, SimError> {
        for p in 0..self.procs.len() {
            self.push(0, Event::Start(p));
            if matches!(
                self.procs[p].spec.behaviour,
                Behaviour::Replayer | Behaviour::Forger
            ) {
                let t = self.rng.range(200, 800);
                self.push(t, Event::Tick(p));
            }
        }
        for (i, plan) in self.sc.crashes.clone().iter().enumerate() {
            if let CrashTrigger::At { time_ms } = plan.trigger {
                self.push(time_ms, Event::Crash(i));
            }
        }
        let mut live = false;
        while let Some(((t, _), ev)) = self.queue.pop_first() {
            if t > self.deadline() {
                break;
            }
            self.now = t;
            self.events += 1;
            if self.events > MAX_EVENTS {
                return Err(SimError::Runaway {
                    events: self.events,
                });
            }
            self.handle(ev)?;
            if self.all_live() {
                live = true;
                break;
            }
        }
        if !live {
            let (process, height) = self
                .required()
                .map(|p| (p, self.procs[p].decided_height()))
                .min_by_key(|(_, h)| *h)
                .unwrap_or((0, 0));
            return Err(SimError::NotLive {
                process,
                height,
                target: self.sc.target_height,
                deadline_ms: self.deadline(),
            });
        }
        Ok(Outcome {
            trace: Hash(*self.trace.finalize().as_bytes()),
            end_ms: self.now,
            heal_ms: self.heal_ms,
            decisions: std::mem::take(&mut self.checker.decisions),
            final_heights: self.procs.iter().map(Process::decided_height).collect(),
            evidence: self.checker.evidence,
            rejected: self.rejected,
            forged_dropped: self.forged_dropped,
            delivered: self.delivered,
            max_round: self.checker.max_round,
            crashes: self.crashes,
            restarts: self.restarts,
            lifecycle: std::mem::take(&mut self.lifecycle),
        })
    }

    fn deadline(&self) -> u64 {
        self.heal_ms.saturating_add(self.sc.liveness_bound_ms)
    }

    /// The processes that must be live: correct, not a twin, not crashed
    /// for good.
    fn required(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.procs.len()).filter(|p| {
            let proc = &self.procs[*p];
            proc.spec.behaviour.is_correct()
                && !proc.gone
                && proc
                    .keys
                    .iter()
                    .all(|k| !self.checker.faulty.contains(&k.public()))
        })
    }

    fn all_live(&self) -> bool {
        let target = self.sc.target_height;
        self.required()
            .all(|p| self.procs[p].decided_height() >= target)
    }

    pub(super) fn push(&mut self, at: u64, ev: Event) {
        self.seq += 1;
        self.queue.insert((at, self.seq), ev);
    }

    pub(super) fn note(&mut self, tag: &[u8], a: u64, b: u64, payload: &[u8]) {
        let t = &mut self.trace;
        t.update(tag);
        t.update(&self.now.to_le_bytes());
        t.update(&a.to_le_bytes());
        t.update(&b.to_le_bytes());
        t.update(&(payload.len() as u64).to_le_bytes());
        t.update(payload);
    }

    fn handle(&mut self, ev: Event) -> Result<(), SimError> {
        match ev {
            Event::Start(p) => self.start(p),
            Event::Deliver { to, from, msg } => self.deliver(to, from, msg),
            Event::Timer {
                p,
                incarnation,
                timeout,
            } => {
                if self.procs[p].incarnation != incarnation {
                    return Ok(());
                }
                self.apply(p, Input::Timeout(timeout))
            }
            Event::Crash(plan) => {
                if let Some(p) = self.sc.crashes.get(plan).map(|c| c.process) {
                    self.crash(plan, p);
                }
                Ok(())
            }
            Event::Tick(p) => {
                self.tick(p);
                Ok(())
            }
        }
    }

    /// Feeds an input to a running core and performs the effects.
    pub(super) fn apply(&mut self, p: usize, input: Input) -> Result<(), SimError> {
        let Some(core) = self.procs[p].core.as_mut() else {
            return Ok(());
        };
        let effects = core.apply(input);
        self.perform(p, effects)
    }

    // ----- process life -----

    fn start(&mut self, p: usize) -> Result<(), SimError> {
        let proc = &mut self.procs[p];
        if proc.incarnation > 0 {
            self.restarts += 1;
            self.lifecycle.push(LifeEvent {
                time_ms: self.now,
                process: p,
                up: true,
            });
        }
        proc.incarnation += 1;
        proc.memory.clear();
        proc.last_sync_ms = None;
        let mut core = Consensus::new(
            self.sc.consensus.clone(),
            self.chain_id,
            proc.keys.clone(),
            proc.log.clone(),
        );
        let height = proc.decided_height() + 1;
        let validators = proc
            .sets
            .get(&height)
            .cloned()
            .ok_or(SimError::BadScenario("no validator set for the height"))?;
        let effects = core.apply(Input::StartHeight {
            height: Height(height),
            validators,
        });
        proc.core = Some(core);
        self.note(b"start", p as u64, height, &[]);
        self.perform(p, effects)
    }

    fn crash(&mut self, plan: usize, p: usize) {
        if self.fired.get(plan).copied().unwrap_or(true) {
            return;
        }
        self.fired[plan] = true;
        self.crashes += 1;
        self.procs[p].core = None;
        self.lifecycle.push(LifeEvent {
            time_ms: self.now,
            process: p,
            up: false,
        });
        self.note(b"crash", p as u64, 0, &[]);
        match self.sc.crashes[plan].down_ms {
            Some(d) => {
                let at = self.now + d;
                self.heal_ms = self.heal_ms.max(at);
                self.push(at, Event::Start(p));
            }
            None => self.procs[p].gone = true,
        }
    }

    /// The crash plan a core's effect triggers, if any.
    fn trigger(&self, p: usize, e: &Effect) -> Option<usize> {
        self.sc.crashes.iter().enumerate().position(|(i, plan)| {
            if plan.process != p || self.fired[i] {
                return false;
            }
            let proc = &self.procs[p];
            match (plan.trigger, e) {
                (
                    CrashTrigger::AfterProposal { height },
                    Effect::Broadcast(Message::Proposal(sp)),
                ) => sp.proposal.height.0 >= height && proc.holds_key(&sp.proposal.proposer),
                (CrashTrigger::AfterVote { height, kind }, Effect::Broadcast(Message::Vote(v))) => {
                    v.vote.height.0 >= height
                        && v.vote.kind == kind
                        && proc.holds_key(&v.vote.validator)
                }
                (CrashTrigger::OnHeight { height: at }, Effect::Decide { height, .. }) => {
                    height.0 + 1 == at
                }
                (CrashTrigger::BeforeSend { height, kind }, Effect::Persist(LogEntry::Vote(v))) => {
                    v.vote.height.0 >= height && v.vote.kind == kind
                }
                _ => false,
            }
        })
    }

    // ----- the host: performing effects -----

    pub(super) fn perform(&mut self, p: usize, effects: Vec<Effect>) -> Result<(), SimError> {
        let mut work: VecDeque<Effect> = effects.into();
        while let Some(e) = work.pop_front() {
            if self.procs[p].core.is_none() {
                break;
            }
            let trigger = self.trigger(p, &e);
            match e {
                Effect::Persist(entry) => {
                    self.checker.signed(p, &entry)?;
                    self.procs[p].persist(&entry);
                }
                Effect::Broadcast(msg) => {
                    if let Some(entry) = self.procs[p].own_entry(&msg) {
                        let proc = &self.procs[p];
                        if !proc.twin && !proc.persisted.contains(&entry_hash(&entry)) {
                            let (height, round) = match &entry {
                                LogEntry::Proposal(q) => (q.proposal.height.0, q.proposal.round),
                                LogEntry::Vote(v) => (v.vote.height.0, v.vote.round),
                            };
                            return Err(SimError::UnpersistedSend {
                                process: p,
                                height,
                                round,
                            });
                        }
                        self.checker.signed(p, &entry)?;
                    }
                    self.broadcast(p, msg, trigger.is_some());
                }
                Effect::ScheduleTimeout { timeout, after } => {
                    let at = self.now + after.as_millis() as u64;
                    let incarnation = self.procs[p].incarnation;
                    self.push(
                        at,
                        Event::Timer {
                            p,
                            incarnation,
                            timeout,
                        },
                    );
                }
                Effect::RequestBlock { height, round } => {
                    let block_hash = self.make_block(p, height, round);
                    if let Some(core) = self.procs[p].core.as_mut() {
                        work.extend(core.apply(Input::Propose {
                            height,
                            round,
                            block_hash,
                        }));
                    }
                }
                Effect::ValidateBlock {
                    height, block_hash, ..
                } => {
                    let valid = !self.invalid.contains(&block_hash);
                    if let Some(core) = self.procs[p].core.as_mut() {
                        work.extend(core.apply(Input::BlockVerdict {
                            height,
                            block_hash,
                            valid,
                        }));
                    }
                }
                Effect::Decide {
                    height,
                    block_hash,
                    certificate,
                } => work.extend(self.decide(p, height, block_hash, certificate)?),
                Effect::Evidence { first, second } => {
                    self.checker.evidence(&mut self.sigs, p, &first, &second)?;
                }
                Effect::Rejected(_) => self.rejected += 1,
            }
            if let Some(plan) = trigger {
                self.crash(plan, p);
                break;
            }
        }
        Ok(())
    }

    /// Stores a decision, checks it, and starts the next height.
    fn decide(
        &mut self,
        p: usize,
        height: Height,
        block_hash: Hash,
        cert: CommitCertificate,
    ) -> Result<Vec<Effect>, SimError> {
        let record = DecisionRecord {
            time_ms: self.now,
            process: p,
            height: height.0,
            block_hash,
        };
        self.checker
            .decided(&mut self.sigs, record, &cert, &self.invalid)?;
        self.note(b"decide", p as u64, height.0, &block_hash.0);
        let publics = &self.publics;
        let next = self.procs[p]
            .store_decision(height.0, cert, &self.sc.set_changes, |i| {
                publics.get(i).copied().unwrap_or_default()
            })
            .ok_or(SimError::BadScenario("a set change gives an invalid set"))?;
        Ok(match self.procs[p].core.as_mut() {
            Some(core) => core.apply(Input::StartHeight {
                height: height.next(),
                validators: next,
            }),
            None => Vec::new(),
        })
    }

    fn make_block(&mut self, p: usize, height: Height, round: u32) -> Hash {
        let proc = &mut self.procs[p];
        proc.payload += 1;
        let mut h = blake3::Hasher::new();
        h.update(b"watt-sim-block");
        h.update(&self.sc.seed.to_le_bytes());
        h.update(&height.0.to_le_bytes());
        h.update(&round.to_le_bytes());
        h.update(&(p as u64).to_le_bytes());
        h.update(&proc.payload.to_le_bytes());
        let hash = Hash(*h.finalize().as_bytes());
        if proc.spec.behaviour == Behaviour::InvalidProposer {
            self.invalid.insert(hash);
        }
        hash
    }
}
