//! The node: one task that owns the consensus core and the chain and
//! performs the core's effects (`actor.rs`).
//!
//! Everything that changes the chain happens on this task, in order:
//! commands from the outside (transactions, reads, shutdown), expired
//! timers, verified messages from peers, and the start of the next height
//! after the block time. The core's effects are performed in the order it
//! returns them; `Persist` is written to the signing record and synced
//! before anything after it, so no vote leaves the process unrecorded.
//!
//! Nothing a peer sends reaches the core unverified: consensus messages
//! pass the consensus verifier first (`intake.rs`, `verifier.rs`), block
//! bodies are executed only when a verified proposal names them, and
//! synced blocks only with a certificate that verifies (`sync.rs`).

use crate::chain::{Chain, ChainError};
use crate::clock::Clock;
use crate::consensus::{self, Consensus, PersistedState};
use crate::mempool::{self, Mempool};
use crate::network::peers::Network;
use crate::storage::{StorageError, Store};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use watt_runtime::crypto::Keypair;
use watt_runtime::encoding::decode;
use watt_runtime::genesis::Genesis;
use watt_runtime::types::Height;

/// The longest block time: an empty block at least every 5 s keeps the
/// chain's time (expiry, deadlines) moving.
pub const MAX_BLOCK_TIME: Duration = Duration::from_secs(5);

/// How often accepted transactions are gossiped to peers.
const GOSSIP_EVERY: Duration = Duration::from_millis(20);

mod actor;
pub mod dropped;
mod ingress;
mod intake;
mod pipeline;
pub mod record;
mod serve;
mod sync;
mod verifier;

pub use ingress::{MempoolStats, NodeHandle, SubmitError};

use actor::Actor;
use record::{OpenOptions, Opening, SigningRecord};

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
    /// Where a validator keeps its signing record (required with
    /// `validator_keys`).
    pub signing: Option<SigningConfig>,
}

/// A validator's signing record: where it lives and how to start it.
#[derive(Clone, Debug)]
pub struct SigningConfig {
    /// The record file, beside the consensus key
    /// ([`SigningRecord::path_for_key`]).
    pub record: PathBuf,
    /// The first start of a new chain: sign from height 1 without a record
    /// (refused once this validator has seen a height decided).
    pub new_chain: bool,
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
    /// The consensus log an older version kept in the database is
    /// unreadable.
    #[error("consensus log is corrupt: {0}; do not delete it (a validator without its log may sign twice): restore it from a backup")]
    ConsensusLog(String),
    /// The signing record is unusable.
    #[error(transparent)]
    Record(#[from] record::RecordError),
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// A running node: its handle and the task to await.
pub struct Node {
    /// The handle.
    pub handle: NodeHandle,
    /// Completes when the node stops.
    pub task: tokio::task::JoinHandle<Result<(), NodeError>>,
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
        if !cfg.validator_keys.is_empty() && cfg.signing.is_none() {
            return Err(NodeError::Config(
                "a validator needs a signing record (SigningConfig)".into(),
            ));
        }
        let store =
            Store::open_with_state(&cfg.base_path, &cfg.genesis, cfg.genesis_state.as_deref())?;
        if store.mark_running()? {
            tracing::warn!(path = %cfg.base_path.display(), "the last run did not shut down cleanly; resuming from the last committed block");
        }
        let legacy = match store.consensus_log()? {
            Some(bytes) => Some(legacy_log(&bytes)?),
            None => None,
        };
        let had_legacy = legacy.is_some();
        let mut chain = Chain::new(store, Mempool::new(cfg.mempool))?;
        let chain_id = chain.chain_id();
        let record = match (&cfg.signing, cfg.validator_keys.is_empty()) {
            (Some(sc), false) => {
                let (record, opening) = SigningRecord::open(
                    &sc.record,
                    OpenOptions {
                        chain_id,
                        data_head: chain.head()?,
                        new_chain: sc.new_chain,
                        legacy,
                    },
                )?;
                report_opening(&record, &opening);
                // The file is the record now: a copy left in the database
                // could be taken up again, stale, if the file were lost.
                if had_legacy {
                    chain.store().clear_consensus_log()?;
                }
                Some(record)
            }
            _ => None,
        };
        if let Some(hash) = chain.restore_own_proposal()? {
            tracing::info!(%hash, "restored the block proposed before the restart");
        }
        let store = chain.shared_store();
        let persisted = record
            .as_ref()
            .map(|r| r.state().clone())
            .unwrap_or_default();
        let core = Consensus::new(
            cfg.consensus,
            chain_id,
            cfg.validator_keys.clone(),
            persisted,
        );
        let verifier = verifier::spawn(store.clone(), chain_id);
        let (verdicts_tx, verdicts) = mpsc::channel(4_096);
        let consensus_verifier = verifier::spawn_consensus(chain_id, verdicts_tx);
        let (gossip_tx, gossip_verdicts) = mpsc::channel(256);
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
        let dropped = Arc::new(std::sync::Mutex::new(dropped::DroppedLog::default()));
        let (pipeline, ahead) = pipeline::Pipeline::new();
        let actor = Actor {
            chain,
            core,
            record,
            keys: cfg.validator_keys,
            block_time: cfg.block_time,
            clock: cfg.clock.clone(),
            timers,
            committed: committed.clone(),
            dropped: dropped.clone(),
            next_start: Some(Instant::now()),
            net,
            sync,
            intake: intake::Intake::default(),
            bodies: intake::Bodies::default(),
            gossip: Vec::new(),
            verifier: verifier.clone(),
            consensus_verifier,
            gossip_verdicts: gossip_tx,
            gossip_in_flight: Default::default(),
            server: serve::Server::spawn(store.clone(), net_for_handle.clone()),
            pipeline,
        };
        let inputs = actor::Inputs {
            commands: rx,
            timers: timer_rx,
            peers: net_rx,
            verdicts,
            gossip: gossip_verdicts,
            ahead,
        };
        let task = tokio::spawn(actor.run(inputs));
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
                dropped,
            },
            task,
        })
    }
}

/// The signing state an older version kept in the chain database (the four
/// marks, without the gate), folded as log entries.
fn legacy_log(bytes: &[u8]) -> Result<PersistedState, NodeError> {
    use watt_runtime::block::{SignedProposal, SignedVote};
    type Legacy = (
        Option<SignedProposal>,
        Option<SignedVote>,
        Option<SignedVote>,
        Option<SignedVote>,
    );
    let (proposal, prevote, precommit, locked) =
        decode::<Legacy>(bytes).map_err(|e| NodeError::ConsensusLog(e.to_string()))?;
    let entries: Vec<consensus::LogEntry> = proposal
        .into_iter()
        .map(consensus::LogEntry::Proposal)
        .chain(
            [locked, prevote, precommit]
                .into_iter()
                .flatten()
                .map(consensus::LogEntry::Vote),
        )
        .collect();
    Ok(PersistedState::from_log(&entries))
}

/// Says in the log how the signing record was found.
fn report_opening(record: &SigningRecord, opening: &Opening) {
    let path = record.path().display().to_string();
    match opening {
        Opening::Resumed => tracing::info!(record = %path, "signing record loaded"),
        Opening::NewChain => {
            tracing::info!(record = %path, "first start of a new chain: signing from height 1")
        }
        Opening::Migrated => tracing::info!(
            record = %path,
            "signing record moved out of the chain database into its own file"
        ),
        Opening::CatchingUp { reason } => tracing::warn!(
            record = %path,
            "not signing until caught up: {reason}. This validator signs again once it has seen the chain decide a height it was working on, by a verified certificate (on the first start of a new chain, start it with --new-chain)"
        ),
    }
}

/// The height a node resumes at, for logs.
pub fn resume_height(chain: &Chain) -> Height {
    chain.head().map(|h| h.next()).unwrap_or(Height(1))
}
