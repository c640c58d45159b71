//! The node: one task that owns the consensus core and the chain and
//! performs the core's effects.
//!
//! Everything that changes the chain happens on this task, in order:
//! commands from the outside (transactions, reads, shutdown), expired
//! timers, and the start of the next height after the block time. The core's
//! effects are performed in the order it returns them; `Persist` is written
//! and synced before anything after it, so no vote leaves the process
//! unrecorded.

use crate::chain::{Chain, ChainError, Committed};
use crate::clock::Clock;
use crate::consensus::{self, Consensus, Effect, Input, PersistedState, Timeout};
use crate::failpoint;
use crate::mempool::{self, Mempool};
use crate::network::peers::{Inbound, NetHandle, Network};
use crate::network::wire::{WireMessage, MAX_GOSSIP_TXS};
use crate::storage::{StorageError, Store};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use watt_runtime::crypto::{Hash, Keypair};
use watt_runtime::encoding::{decode, encode};
use watt_runtime::genesis::Genesis;
use watt_runtime::tx::{Body, Transaction, UnsignedTx};
use watt_runtime::types::{AccountId, Height};

/// The longest block time: an empty block at least every 5 s keeps the
/// chain's time (expiry, deadlines) moving.
pub const MAX_BLOCK_TIME: Duration = Duration::from_secs(5);

/// How often accepted transactions are gossiped to peers.
const GOSSIP_EVERY: Duration = Duration::from_millis(20);

mod sync;
mod verifier;

/// How a node runs.
pub struct NodeConfig {
    /// The data directory.
    pub base_path: PathBuf,
    /// The genesis to start a new data directory with (an existing one must
    /// hold the same chain).
    pub genesis: Genesis,
    /// Consensus keys this node may sign with (none: a follower).
    pub validator_keys: Vec<Keypair>,
    /// Time between a block's finality and the start of the next height.
    pub block_time: Duration,
    /// Consensus timeouts.
    pub consensus: consensus::Config,
    /// Mempool limits.
    pub mempool: mempool::Config,
    /// The chain clock.
    pub clock: Arc<dyn Clock>,
    /// The peer network, already listening (none: a lone node).
    pub network: Option<Network>,
    /// The old chain's state when `genesis` continues it (a recovery
    /// fork); needed only to create the data directory.
    pub genesis_state: Option<Arc<watt_genesis::StateSnapshot>>,
}

/// Why the node stopped or refused to start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The chain failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The consensus log is unreadable. Do not delete it to get going: a
    /// validator without its log may sign twice.
    #[error("consensus log is corrupt: {0}; do not delete it (a validator without its log may sign twice): restore it from a backup")]
    ConsensusLog(String),
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
}

type Reader = Box<dyn FnOnce(&Chain) + Send>;

enum Command {
    Submit(
        Vec<Result<watt_runtime::exec::VerifiedTx, watt_runtime::TxError>>,
        oneshot::Sender<Vec<Result<Hash, ChainError>>>,
    ),
    /// Transactions a peer gossiped, verified: added without gossiping
    /// them again (the peer layer relays the message itself).
    Gossiped(Vec<Result<watt_runtime::exec::VerifiedTx, watt_runtime::TxError>>),
    Read(Reader),
    Shutdown,
}

/// Why a submitted transaction was not added.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The chain or the mempool refused it.
    #[error(transparent)]
    Refused(ChainError),
    /// The node is shutting down.
    #[error("node is shutting down")]
    Stopped,
}

/// A handle to a running node.
#[derive(Clone)]
pub struct NodeHandle {
    commands: mpsc::Sender<Command>,
    committed: broadcast::Sender<Arc<Committed>>,
    chain_id: Hash,
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    net: Option<NetHandle>,
    best_seen: Arc<std::sync::atomic::AtomicU64>,
    verifier: mpsc::Sender<verifier::Job>,
}

impl NodeHandle {
    /// The highest height any peer has announced (0 without a network).
    pub fn best_seen(&self) -> Height {
        Height(self.best_seen.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// The chain id.
    pub fn chain_id(&self) -> Hash {
        self.chain_id
    }

    /// The store, for reads that need not wait for the node's task: each
    /// block is one atomic write, so a read sees whole blocks only.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The chain clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// How many peers are connected (0 for a node without a network).
    pub fn peer_count(&self) -> usize {
        self.net.as_ref().map_or(0, |n| n.peers().len())
    }

    /// Verifies transactions and adds them to the mempool; one result per
    /// transaction (the id, or why it was refused).
    pub async fn submit(&self, txs: Vec<Transaction>) -> Vec<Result<Hash, SubmitError>> {
        let n = txs.len();
        let (tx, rx) = oneshot::channel();
        let stopped = || (0..n).map(|_| Err(SubmitError::Stopped)).collect();
        // Signatures are checked by the verifier task, batched with other
        // callers' (see `verifier`); the node's task only inserts the
        // verdicts into the mempool.
        let (vtx, vrx) = oneshot::channel();
        if self
            .verifier
            .send(verifier::Job { txs, reply: vtx })
            .await
            .is_err()
        {
            return stopped();
        }
        let verified = match vrx.await {
            Ok(v) if v.len() == n => v,
            _ => return stopped(),
        };
        if self
            .commands
            .send(Command::Submit(verified, tx))
            .await
            .is_err()
        {
            return stopped();
        }
        match rx.await {
            Ok(results) => results
                .into_iter()
                .map(|r| r.map_err(SubmitError::Refused))
                .collect(),
            Err(_) => stopped(),
        }
    }

    /// Runs `f` on the chain, between blocks, and returns its result.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Chain) -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        let reader: Reader = Box::new(move |chain| {
            let _ = tx.send(f(chain));
        });
        self.commands.send(Command::Read(reader)).await.ok()?;
        rx.await.ok()
    }

    /// Finalised blocks as they are written.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Committed>> {
        self.committed.subscribe()
    }

    /// Asks the node to stop cleanly.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
    }
}

/// A running node: its handle and the task to await.
pub struct Node {
    /// The handle.
    pub handle: NodeHandle,
    /// Completes when the node stops.
    pub task: tokio::task::JoinHandle<Result<(), NodeError>>,
}

struct Actor {
    chain: Chain,
    core: Consensus,
    persisted: PersistedState,
    keys: Vec<Keypair>,
    block_time: Duration,
    clock: Arc<dyn Clock>,
    timers: mpsc::UnboundedSender<Timeout>,
    committed: broadcast::Sender<Arc<Committed>>,
    next_start: Option<Instant>,
    net: Option<NetHandle>,
    sync: sync::SyncState,
    /// Accepted transactions not yet gossiped to peers.
    gossip: Vec<Transaction>,
    /// The verifier, for transactions peers gossip.
    verifier: mpsc::Sender<verifier::Job>,
    /// The node's own command queue (weak: dropping every handle still
    /// ends the node), for verified gossip coming back.
    own: mpsc::WeakSender<Command>,
}

impl Node {
    /// Opens the store and starts the node on the current tokio runtime.
    pub fn start(cfg: NodeConfig) -> Result<Node, NodeError> {
        if cfg.block_time.is_zero() || cfg.block_time > MAX_BLOCK_TIME {
            return Err(NodeError::Config(format!(
                "block time {:?} must be above zero and at most {:?} (an empty block at least every 5 s keeps time moving)",
                cfg.block_time, MAX_BLOCK_TIME
            )));
        }
        let store =
            Store::open_with_state(&cfg.base_path, &cfg.genesis, cfg.genesis_state.as_deref())?;
        if store.mark_running()? {
            tracing::warn!(path = %cfg.base_path.display(), "the last run did not shut down cleanly; resuming from the last committed block");
        }
        let persisted = match store.consensus_log()? {
            Some(bytes) => decode::<PersistedState>(&bytes)
                .map_err(|e| NodeError::ConsensusLog(e.to_string()))?,
            None => PersistedState::default(),
        };
        let mut chain = Chain::new(store, Mempool::new(cfg.mempool))?;
        if let Some(hash) = chain.restore_own_proposal()? {
            tracing::info!(%hash, "restored the block proposed before the restart");
        }
        let chain_id = chain.chain_id();
        let store = chain.shared_store();
        let core = Consensus::new(
            cfg.consensus,
            chain_id,
            cfg.validator_keys.clone(),
            persisted.clone(),
        );
        let verifier = verifier::spawn(store.clone(), chain_id);
        let (commands, rx) = mpsc::channel(1024);
        let (committed, _) = broadcast::channel(1024);
        let (timers, timer_rx) = mpsc::unbounded_channel();
        let (net, net_rx) = match cfg.network {
            Some(n) => (Some(n.handle), Some(n.inbound)),
            None => (None, None),
        };
        let net_for_handle = net.clone();
        let sync = sync::SyncState::default();
        let best_seen = sync.best.clone();
        let actor = Actor {
            chain,
            core,
            persisted,
            keys: cfg.validator_keys,
            block_time: cfg.block_time,
            clock: cfg.clock.clone(),
            timers,
            committed: committed.clone(),
            next_start: Some(Instant::now()),
            net,
            sync,
            gossip: Vec::new(),
            verifier: verifier.clone(),
            own: commands.downgrade(),
        };
        let task = tokio::spawn(actor.run(rx, timer_rx, net_rx));
        Ok(Node {
            handle: NodeHandle {
                commands,
                committed,
                chain_id,
                store,
                clock: cfg.clock,
                net: net_for_handle,
                best_seen,
                verifier,
            },
            task,
        })
    }
}

impl Actor {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut timers: mpsc::UnboundedReceiver<Timeout>,
        mut peers: Option<mpsc::Receiver<Inbound>>,
    ) -> Result<(), NodeError> {
        let mut status_tick = tokio::time::interval(std::time::Duration::from_secs(2));
        // Accepted transactions go to peers in batches, a few times a
        // second at most per batch size: one message per transaction would
        // trip peers' flood limits under load.
        let mut gossip_tick = tokio::time::interval(GOSSIP_EVERY);
        gossip_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            let start_at = self.next_start;
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Submit(verified, reply)) => {
                        let txs: Vec<Option<Transaction>> = verified
                            .iter()
                            .map(|v| v.as_ref().ok().map(|v| v.tx.clone()))
                            .collect();
                        let results = self.chain.add_verified(verified);
                        if self.net.is_some() {
                            for (tx, r) in txs.into_iter().zip(&results) {
                                if let (Some(tx), Ok(_)) = (tx, r) {
                                    self.gossip.push(tx);
                                }
                            }
                            if self.gossip.len() >= MAX_GOSSIP_TXS {
                                self.flush_gossip();
                            }
                        }
                        let _ = reply.send(results);
                    }
                    Some(Command::Gossiped(verified)) => {
                        for r in self.chain.add_verified(verified) {
                            if let Err(e) = r {
                                tracing::trace!(error = %e, "gossiped transaction refused");
                            }
                        }
                    }
                    Some(Command::Read(f)) => f(&self.chain),
                    Some(Command::Shutdown) | None => break Ok(()),
                },
                Some(t) = timers.recv() => {
                    let effects = self.core.apply(Input::Timeout(t));
                    if let Err(e) = self.perform(effects) { break Err(e); }
                }
                _ = sleep_until(start_at), if start_at.is_some() => {
                    self.next_start = None;
                    if let Err(e) = self.start_height() { break Err(e); }
                }
                Some(inb) = recv_peer(&mut peers) => {
                    if let Err(e) = self.on_peer(inb) { break Err(e); }
                }
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

    fn start_height(&mut self) -> Result<(), NodeError> {
        let height = self.chain.head()?.next();
        let validators = self.chain.next_validators()?;
        let effects = self.core.apply(Input::StartHeight { height, validators });
        self.perform(effects)
    }

    /// Performs effects in order; effects that produce inputs feed them
    /// back, and their effects run next, depth first.
    fn perform(&mut self, effects: Vec<Effect>) -> Result<(), NodeError> {
        let mut queue: std::collections::VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            let more = self.perform_one(effect)?;
            for e in more.into_iter().rev() {
                queue.push_front(e);
            }
        }
        Ok(())
    }

    fn perform_one(&mut self, effect: Effect) -> Result<Vec<Effect>, NodeError> {
        tracing::trace!(?effect, "consensus effect");
        Ok(match effect {
            Effect::Persist(entry) => {
                self.persisted.record(&entry);
                self.chain
                    .store()
                    .write_consensus_log(&encode(&self.persisted))?;
                failpoint::hit("after-consensus-log-sync");
                Vec::new()
            }
            // No peers yet: a lone validator counts its own votes itself.
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
            Effect::RequestBlock { height, round } => {
                let validators = self.chain.next_validators()?;
                let proposer = self
                    .keys
                    .iter()
                    .find(|k| validators.index_of(&k.public()).is_some())
                    .map(|k| k.public())
                    .unwrap_or_default();
                let block_hash = self
                    .chain
                    .build_block(height, self.clock.now_ms(), proposer)?;
                // Durable before the proposal that names it is signed.
                if let Some(block) = self.chain.executed_block(&block_hash) {
                    self.chain.store().write_own_proposal(block)?;
                }
                self.core.apply(Input::Propose {
                    height,
                    round,
                    block_hash,
                })
            }
            Effect::ValidateBlock {
                height, block_hash, ..
            } => {
                let held = self.chain.is_executed(&block_hash);
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
                if !self.chain.is_executed(&block_hash) && self.net.is_some() {
                    // Decided by the others on a block this node never got:
                    // fetch it with its certificate.
                    self.fetch_decided(height);
                    return Ok(Vec::new());
                }
                let committed = self.chain.commit(&block_hash, certificate)?;
                tracing::info!(height = height.0, hash = %block_hash, txs = committed.txs, "block finalized");
                let _ = self.committed.send(Arc::new(committed));
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
}

async fn recv_peer(rx: &mut Option<mpsc::Receiver<Inbound>>) -> Option<Inbound> {
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

/// The height a node resumes at, for logs.
pub fn resume_height(chain: &Chain) -> Height {
    chain.head().map(|h| h.next()).unwrap_or(Height(1))
}
