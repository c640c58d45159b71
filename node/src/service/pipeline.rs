//! Pipelined block production: the next block is built and executed on a
//! blocking thread while its parent is voted on and written
//! (`chain::ahead`). A block request for the height it builds waits for
//! it rather than doing the same work twice.

use super::actor::Actor;
use super::NodeError;
use crate::chain::Ahead;
use crate::consensus::Effect;
use tokio::sync::mpsc;
use watt_runtime::crypto::{Hash, PublicKey};
use watt_runtime::types::Height;

/// A finished job: the block built ahead on `parent`, or why not.
pub(super) struct Done {
    parent: Hash,
    result: Result<Ahead, String>,
}

/// The job under way, if any, and a block request waiting for it.
pub(super) struct Pipeline {
    done: mpsc::Sender<Done>,
    /// The parent the running job builds on.
    running: Option<Hash>,
    /// A block request (height, round) waiting for the running job.
    waiting: Option<(Height, u32)>,
    /// A checked proposal to build on once the effects of checking it
    /// (this node's vote) are performed.
    wanted: Option<Hash>,
}

impl Pipeline {
    /// A pipeline whose jobs report on the returned receiver.
    pub(super) fn new() -> (Self, mpsc::Receiver<Done>) {
        let (done, rx) = mpsc::channel(4);
        (
            Pipeline {
                done,
                running: None,
                waiting: None,
                wanted: None,
            },
            rx,
        )
    }

    /// Builds on `parent` once the current effects are performed.
    pub(super) fn want(&mut self, parent: Hash) {
        self.wanted = Some(parent);
    }

    /// The block to build on, once.
    pub(super) fn wanted(&mut self) -> Option<Hash> {
        self.wanted.take()
    }
}

impl Actor {
    /// Starts building the block after `parent` (an executed block for the
    /// next height) if this node proposes it and no job is running.
    pub(super) fn build_ahead(&mut self, parent: Hash) {
        if self.pipeline.running.is_some() {
            return;
        }
        let keys: Vec<PublicKey> = self.keys.iter().map(|k| k.public()).collect();
        let job = match self.chain.ahead_job(&parent, self.clock.now_ms(), &keys) {
            Ok(Some(job)) => job,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(error = %e, "cannot build the next block ahead");
                return;
            }
        };
        self.pipeline.running = Some(parent);
        let done = self.pipeline.done.clone();
        let job = tokio::task::spawn_blocking(move || job.run());
        // Whatever happens to the job, it reports: a block request waiting
        // for it must not wait forever.
        tokio::spawn(async move {
            let result = match job.await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(e) => Err(format!("the job stopped: {e}")),
            };
            let _ = done.send(Done { parent, result }).await;
        });
    }

    /// Whether a block request for the next height should wait for the
    /// job under way: it builds on the head. Remembers the request.
    pub(super) fn wait_for_ahead(&mut self, height: Height, round: u32) -> Result<bool, NodeError> {
        let Some(parent) = self.pipeline.running else {
            return Ok(false);
        };
        if parent != self.chain.head_hash_and_time()?.0 {
            return Ok(false);
        }
        self.pipeline.waiting = Some((height, round));
        Ok(true)
    }

    /// A job finished: keep its block, and answer the request waiting
    /// for it.
    pub(super) fn on_ahead(&mut self, done: Done) -> Result<(), NodeError> {
        self.pipeline.running = None;
        match done.result {
            Ok(ahead) => self.chain.set_ahead(ahead),
            Err(error) => {
                tracing::warn!(parent = %done.parent, error, "building the next block ahead failed; building it when the height starts");
            }
        }
        if let Some((height, round)) = self.pipeline.waiting.take() {
            // Not if the core has left that round meanwhile (its timeout).
            let now = self.core.round_state().map(|r| (r.height, r.round));
            if now == Some((height, round)) {
                let effects = self.request_block(height, round)?;
                self.perform(effects)?;
            }
        }
        Ok(())
    }

    /// Proposes a block for `height` in `round`: the one built ahead if it
    /// still holds, a new one otherwise.
    pub(super) fn request_block(
        &mut self,
        height: Height,
        round: u32,
    ) -> Result<Vec<Effect>, NodeError> {
        if !self.current(height)? {
            tracing::debug!(
                height = height.0,
                "block request for a height already synced"
            );
            return Ok(Vec::new());
        }
        if self.wait_for_ahead(height, round)? {
            return Ok(Vec::new());
        }
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
        self.build_ahead(block_hash);
        Ok(self.core.apply(crate::consensus::Input::Propose {
            height,
            round,
            block_hash,
        }))
    }
}
