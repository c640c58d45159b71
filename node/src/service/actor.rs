//! The node's task: the select loop and the core's effects.

use super::ingress::{Command, MempoolStats, Query};
use super::intake::{Admit, Bodies, Intake};
use super::record::SigningRecord;
use super::serve::Server;
use super::verifier::{self, ConsensusJob, ConsensusVerdict, GossipVerdicts};
use super::{pipeline, sync, NodeError, GOSSIP_EVERY};
use crate::chain::{Chain, Committed};
use crate::clock::Clock;
use crate::consensus::{Consensus, Effect, Input, Message, Timeout};
use crate::failpoint;
use crate::network::peers::{Inbound, NetHandle};
use crate::network::wire::{WireMessage, MAX_GOSSIP_TXS};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use watt_runtime::crypto::{Keypair, PublicKey};
use watt_runtime::tx::{Body, Transaction, UnsignedTx};
use watt_runtime::types::{AccountId, Height};

/// Transaction gossip messages one peer may have waiting for verification.
const GOSSIP_IN_FLIGHT_PER_PEER: usize = 8;

/// Everything the task listens to.
pub(super) struct Inputs {
    pub commands: mpsc::Receiver<Command>,
    pub timers: mpsc::UnboundedReceiver<Timeout>,
    pub peers: Option<mpsc::Receiver<Inbound>>,
    pub verdicts: mpsc::Receiver<ConsensusVerdict>,
    pub gossip: mpsc::Receiver<GossipVerdicts>,
    pub ahead: mpsc::Receiver<pipeline::Done>,
}

pub(super) struct Actor {
    pub(super) chain: Chain,
    pub(super) core: Consensus,
    /// A validator's signing record (none for a full node).
    pub(super) record: Option<SigningRecord>,
    pub(super) keys: Vec<Keypair>,
    pub(super) block_time: Duration,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) timers: mpsc::UnboundedSender<Timeout>,
    pub(super) committed: broadcast::Sender<Arc<Committed>>,
    /// Transactions blocks left out for breaking a rule, for receipts.
    pub(super) dropped: Arc<std::sync::Mutex<super::dropped::DroppedLog>>,
    pub(super) next_start: Option<Instant>,
    pub(super) net: Option<NetHandle>,
    pub(super) sync: sync::SyncState,
    /// Consensus messages on their way to the verifier.
    pub(super) intake: Intake,
    /// Block bodies waiting for a verified proposal.
    pub(super) bodies: Bodies,
    /// Accepted transactions not yet gossiped to peers.
    pub(super) gossip: Vec<Transaction>,
    /// The transaction verifier, for submissions and peers' gossip.
    pub(super) verifier: mpsc::Sender<verifier::Job>,
    /// The consensus verifier.
    pub(super) consensus_verifier: mpsc::Sender<ConsensusJob>,
    /// Where the transaction verifier sends verdicts on peers' gossip.
    pub(super) gossip_verdicts: mpsc::Sender<GossipVerdicts>,
    /// Transaction gossip messages waiting for verification, per peer.
    pub(super) gossip_in_flight: HashMap<PublicKey, usize>,
    /// The task answering peers' sync requests.
    pub(super) server: Server,
    /// The next block, built ahead.
    pub(super) pipeline: pipeline::Pipeline,
}

async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Actor {
    pub(super) async fn run(mut self, mut inputs: Inputs) -> Result<(), NodeError> {
        let mut status_tick = tokio::time::interval(Duration::from_secs(2));
        // Accepted transactions go to peers in batches, a few times a
        // second at most per batch size: one message per transaction would
        // trip peers' flood limits under load.
        let mut gossip_tick = tokio::time::interval(GOSSIP_EVERY);
        gossip_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            let start_at = self.next_start;
            tokio::select! {
                cmd = inputs.commands.recv() => match cmd {
                    Some(Command::Submit { verified, reply }) => {
                        let txs: Vec<Option<Transaction>> = verified
                            .iter()
                            .map(|v| v.as_ref().ok().map(|v| v.tx.clone()))
                            .collect();
                        let results = self.chain.add_verified(verified);
                        for (tx, r) in txs.into_iter().zip(&results) {
                            if let (Some(tx), Ok(_)) = (tx, r) {
                                self.queue_gossip(tx);
                            }
                        }
                        let _ = reply.send(results);
                    }
                    Some(Command::Query(q)) => self.answer(q),
                    Some(Command::Shutdown) | None => break Ok(()),
                },
                Some(t) = inputs.timers.recv() => {
                    let effects = self.core.apply(Input::Timeout(t));
                    if let Err(e) = self.perform(effects) { break Err(e); }
                }
                _ = sleep_until(start_at), if start_at.is_some() => {
                    self.next_start = None;
                    if let Err(e) = self.start_height() { break Err(e); }
                }
                Some(inb) = recv_opt(&mut inputs.peers) => {
                    if let Err(e) = self.on_peer(inb) { break Err(e); }
                }
                Some(v) = inputs.verdicts.recv() => {
                    if let Err(e) = self.on_verdict(v) { break Err(e); }
                }
                Some(done) = inputs.ahead.recv() => {
                    if let Err(e) = self.on_ahead(done) { break Err(e); }
                }
                Some(g) = inputs.gossip.recv() => self.on_gossip_verdicts(g),
                _ = status_tick.tick(), if self.net.is_some() => {
                    if let Err(e) = self.announce() { break Err(e); }
                }
                _ = gossip_tick.tick(), if !self.gossip.is_empty() => self.flush_gossip(),
            }
        };
        match &result {
            Ok(()) => {
                self.chain.store().mark_clean_shutdown()?;
                tracing::info!("node stopped cleanly");
            }
            // Not marked clean: the next start says it is recovering.
            Err(e) => tracing::error!(error = %e, "node stopped"),
        }
        result
    }

    /// Answers a question about the mempool.
    fn answer(&self, q: Query) {
        let pool = self.chain.mempool();
        match q {
            Query::PendingNonce {
                account,
                chain_nonce,
                reply,
            } => {
                let _ = reply.send(pool.next_nonce(&account, chain_nonce));
            }
            Query::PendingTx { hash, reply } => {
                let _ = reply.send(pool.get(&hash).map(|v| v.tx.clone()));
            }
            Query::PendingTxs { limit, reply } => {
                let txs = pool
                    .pending()
                    .into_iter()
                    .take(limit)
                    .map(|v| v.tx.clone())
                    .collect();
                let _ = reply.send(txs);
            }
            Query::PendingOf { account, reply } => {
                let mut txs: Vec<_> = pool
                    .pending()
                    .into_iter()
                    .filter(|v| v.tx.signer() == account)
                    .cloned()
                    .collect();
                txs.sort_by_key(|v| v.tx.unsigned.nonce);
                let _ = reply.send(txs);
            }
            Query::StillPending { hashes, reply } => {
                let _ = reply.send(hashes.into_iter().filter(|h| pool.contains(h)).collect());
            }
            Query::MempoolStats { reply } => {
                let _ = reply.send(MempoolStats {
                    txs: pool.len(),
                    bytes: pool.bytes(),
                });
            }
            Query::Ping { reply } => {
                let _ = reply.send(());
            }
        }
    }

    /// Queues an admitted transaction for the next gossip batch.
    fn queue_gossip(&mut self, tx: Transaction) {
        if self.net.is_none() {
            return;
        }
        self.gossip.push(tx);
        if self.gossip.len() >= MAX_GOSSIP_TXS {
            self.flush_gossip();
        }
    }

    /// Sends the accepted transactions not yet gossiped to every peer, in
    /// messages of at most `MAX_GOSSIP_TXS`.
    fn flush_gossip(&mut self) {
        let txs = std::mem::take(&mut self.gossip);
        let Some(net) = &self.net else { return };
        for chunk in txs.chunks(MAX_GOSSIP_TXS) {
            if let Ok(batch) = watt_runtime::encoding::BoundedVec::new(chunk.to_vec()) {
                net.broadcast(&WireMessage::Txs(batch));
            }
        }
    }

    /// Sends a peer's gossiped transactions to the verifier (a few
    /// messages per peer at a time; more are dropped: gossip is best
    /// effort and the sender is not blamed).
    pub(super) fn verify_gossip(&mut self, from: PublicKey, txs: Vec<Transaction>) {
        let n = self.gossip_in_flight.entry(from).or_insert(0);
        if *n >= GOSSIP_IN_FLIGHT_PER_PEER {
            return;
        }
        let job = verifier::Job {
            txs,
            reply: verifier::Reply::Gossip {
                from,
                to: self.gossip_verdicts.clone(),
            },
        };
        if self.verifier.try_send(job).is_ok() {
            *n += 1;
        }
    }

    /// Admits a peer's verified transactions; a bad signature is the
    /// peer's fault (honest peers gossip only what they admitted), any
    /// other refusal is not (the state moved on).
    fn on_gossip_verdicts(&mut self, g: GossipVerdicts) {
        if let Some(n) = self.gossip_in_flight.get_mut(&g.from) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.gossip_in_flight.remove(&g.from);
            }
        }
        let forged = g.verdicts.iter().find_map(|v| match v {
            Err(e @ watt_runtime::TxError::BadSignature { .. })
            | Err(e @ watt_runtime::TxError::WrongChain { .. }) => Some(e.to_string()),
            _ => None,
        });
        if let (Some(why), Some(net)) = (forged, &self.net) {
            if !net.is_banned(&g.from) {
                tracing::info!(peer = %g.from, why, "peer gossiped a forged transaction");
                net.penalise(&g.from, "gossiped a forged transaction");
            }
            self.intake.forget(&g.from);
            return;
        }
        let txs: Vec<Option<Transaction>> = g
            .verdicts
            .iter()
            .map(|v| v.as_ref().ok().map(|v| v.tx.clone()))
            .collect();
        for (tx, r) in txs.into_iter().zip(self.chain.add_verified(g.verdicts)) {
            match (tx, r) {
                (Some(tx), Ok(_)) => self.queue_gossip(tx),
                (_, Err(e)) => tracing::trace!(error = %e, "gossiped transaction refused"),
                _ => {}
            }
        }
    }

    /// A consensus message from a peer: verify it, or hand a re-sent one
    /// that verified before straight to the core.
    pub(super) fn on_consensus(&mut self, from: PublicKey, msg: Message) -> Result<(), NodeError> {
        match self.intake.admit(from, msg) {
            Admit::Verify(job) => self.send_to_verifier(job),
            Admit::Known(msg) => return self.feed(msg),
            Admit::Waiting => {}
            Admit::Dropped(why) => tracing::trace!(peer = %from, why, "consensus message dropped"),
        }
        Ok(())
    }

    fn send_to_verifier(&mut self, job: ConsensusJob) {
        let from = job.from;
        if self.consensus_verifier.try_send(job).is_err() {
            self.intake.unsent(&from);
        }
    }

    /// A verdict from the consensus verifier: relay and feed what
    /// verified, blame the sender of what did not.
    fn on_verdict(&mut self, v: ConsensusVerdict) -> Result<(), NodeError> {
        self.intake.verdict(&v.from, &v.msg, v.result.is_ok());
        if let Err(e) = &v.result {
            // Once per ban: the rest of a banned peer's batch fails too.
            if let Some(net) = self.net.as_ref().filter(|n| !n.is_banned(&v.from)) {
                tracing::info!(peer = %v.from, error = %e, "consensus message failed verification");
                net.penalise(&v.from, "sent a consensus message that failed verification");
            }
            self.intake.forget(&v.from);
            return Ok(());
        }
        if let Some(net) = &self.net {
            // A proposal's body travels ahead of it.
            if let Message::Proposal(p) = &v.msg {
                let hash = p.proposal.block_hash;
                let body = self
                    .bodies
                    .get(&hash)
                    .or_else(|| self.chain.executed_block(&hash));
                if let Some(block) = body {
                    net.relay(&WireMessage::Block(Box::new(block.clone())), &v.from);
                }
            }
            net.relay(&WireMessage::Consensus(v.msg.clone()), &v.from);
        }
        self.feed(v.msg)
    }

    /// Hands a verified message to the core.
    fn feed(&mut self, msg: Message) -> Result<(), NodeError> {
        let input = match msg {
            Message::Proposal(p) => Input::Proposal(p),
            Message::Vote(v) => Input::Vote(v),
            Message::Commit(c) => Input::Commit(c),
            Message::SyncRequest { .. } | Message::SyncResponse { .. } => return Ok(()),
        };
        let effects = self.core.apply(input);
        self.perform(effects)
    }

    pub(super) fn start_height(&mut self) -> Result<(), NodeError> {
        let height = self.chain.head()?.next();
        let validators = self.chain.next_validators()?;
        self.bodies.prune(height);
        let due = self.intake.start_height(height, validators.clone());
        let effects = self.core.apply(Input::StartHeight { height, validators });
        self.perform(effects)?;
        for job in due {
            self.send_to_verifier(job);
        }
        Ok(())
    }

    /// Performs effects in order; effects that produce inputs feed them
    /// back, and their effects run next, depth first.
    pub(super) fn perform(&mut self, effects: Vec<Effect>) -> Result<(), NodeError> {
        let mut queue: std::collections::VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            let more = self.perform_one(effect)?;
            for e in more.into_iter().rev() {
                queue.push_front(e);
            }
        }
        if let Some(parent) = self.pipeline.wanted() {
            self.build_ahead(parent);
        }
        Ok(())
    }

    /// Whether an effect is about the height the chain is at (the next one
    /// to decide). After a block sync moved the head, the core's effects
    /// for the old height are stale until it starts the new one.
    pub(super) fn current(&self, height: Height) -> Result<bool, NodeError> {
        Ok(height == self.chain.head()?.next())
    }

    fn perform_one(&mut self, effect: Effect) -> Result<Vec<Effect>, NodeError> {
        tracing::trace!(?effect, "consensus effect");
        Ok(match effect {
            Effect::Persist(entry) => {
                if let Some(record) = &mut self.record {
                    let mut state = record.state().clone();
                    state.record(&entry);
                    record.store(&state)?;
                }
                failpoint::hit("after-consensus-log-sync");
                Vec::new()
            }
            // A lone node counts its own votes; with peers, the block body
            // travels ahead of the proposal that names it.
            Effect::Broadcast(msg) => {
                self.broadcast(msg);
                Vec::new()
            }
            Effect::ScheduleTimeout { timeout, after } => {
                let tx = self.timers.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    let _ = tx.send(timeout);
                });
                Vec::new()
            }
            Effect::RequestBlock { height, round } => self.request_block(height, round)?,
            Effect::ValidateBlock {
                height, block_hash, ..
            } => {
                if !self.current(height)? {
                    return Ok(Vec::new());
                }
                if !self.chain.is_executed(&block_hash) {
                    if let Some(block) = self.bodies.take(&block_hash) {
                        self.check_body(block);
                    }
                }
                let held = self.chain.is_executed(&block_hash);
                if held {
                    // After this node's vote on it has gone out.
                    self.pipeline.want(block_hash);
                }
                if !held && self.net.is_some() {
                    // Its body may still be on the way: answer when it
                    // arrives (the round's timeout bounds the wait).
                    self.sync.await_block(height, block_hash);
                    Vec::new()
                } else {
                    self.core.apply(Input::BlockVerdict {
                        height,
                        block_hash,
                        valid: held,
                    })
                }
            }
            Effect::Decide {
                height,
                block_hash,
                certificate,
            } => {
                if !self.current(height)? {
                    return Ok(Vec::new());
                }
                self.caught_up(height)?;
                if !self.chain.is_executed(&block_hash) && self.net.is_some() {
                    // Decided by the others on a block this node never got:
                    // fetch it with its certificate.
                    self.fetch_decided(height);
                    return Ok(Vec::new());
                }
                let committed = self.chain.commit(&block_hash, certificate)?;
                self.committed_block(committed)?;
                self.next_start = Some(Instant::now() + self.block_time);
                self.announce()?;
                Vec::new()
            }
            Effect::Evidence { first, second } => {
                tracing::warn!(validator = %first.vote.validator, height = first.vote.height.0, "equivocation seen; submitting evidence");
                if let Some(key) = self.keys.first() {
                    let signer = AccountId(key.public());
                    let nonce = self.chain.nonce(&signer);
                    let tx = UnsignedTx {
                        chain_id: self.chain.chain_id(),
                        signer,
                        nonce,
                        body: Body::Evidence { first, second },
                    }
                    .sign(key);
                    for r in self.chain.submit(vec![tx]) {
                        if let Err(e) = r {
                            tracing::warn!(error = %e, "evidence transaction refused");
                        }
                    }
                }
                Vec::new()
            }
            Effect::Rejected(reason) => {
                tracing::debug!(%reason, "consensus refused a message");
                Vec::new()
            }
        })
    }

    /// The core decided `height` from verified votes or a verified
    /// certificate: a validator that was catching up has now seen the
    /// chain move without it, and may sign from the next height.
    fn caught_up(&mut self, height: Height) -> Result<(), NodeError> {
        let Some(record) = &mut self.record else {
            return Ok(());
        };
        record.decided(height)?;
        if record.catching_up() {
            record.open_from(height.next())?;
            self.core.open_signing_from(height.next());
            tracing::info!(
                height = height.0,
                "caught up: the chain decided this height by a verified certificate; signing from the next one"
            );
        }
        Ok(())
    }

    /// Publishes a committed block.
    pub(super) fn committed_block(&mut self, committed: Committed) -> Result<(), NodeError> {
        tracing::info!(height = committed.header.height.0, hash = %committed.hash, txs = committed.txs, "block finalized");
        let invalid = committed.dropped.iter().filter_map(|(h, why)| match why {
            crate::mempool::DropReason::InvalidInBlock { height, error } => {
                Some((*h, super::dropped::DroppedTx::new(*height, error)))
            }
            _ => None,
        });
        if let Ok(mut log) = self.dropped.lock() {
            for (hash, d) in invalid {
                log.record(hash, d);
            }
        }
        let _ = self.committed.send(Arc::new(committed));
        Ok(())
    }
}
