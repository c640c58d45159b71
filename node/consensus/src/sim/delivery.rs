//! The network side of each host: sending through the simulated network,
//! what byzantine behaviours do to outgoing messages, receiving (signature
//! checks are the host's half of the contract with the core) and catching
//! up through sync requests.

use super::byzantine::{conflicting_proposal, conflicting_vote};
use super::host::Process;
use super::runner::{Event, Sim};
use super::scenario::Behaviour;
use super::SimError;
use crate::{verify_messages, Consensus, Input, Message, MAX_SYNC_CERTIFICATES};
use watt_runtime::block::CommitCertificate;
use watt_runtime::crypto::PublicKey;
use watt_runtime::encoding::{encode, BoundedVec};
use watt_runtime::types::Height;

/// A process asks a peer for certificates at most this often.
const SYNC_INTERVAL_MS: u64 = 300;

impl Sim {
    pub(super) fn send(&mut self, from: usize, to: usize, msg: Message) {
        for delay in self.sc.net.route(&mut self.rng, self.now, from, to) {
            self.push(
                self.now + delay,
                Event::Deliver {
                    to,
                    from,
                    msg: msg.clone(),
                },
            );
        }
    }

    /// Sends what a core broadcasts, through the process's behaviour. With
    /// `partial`, the process crashes while sending: each peer gets it or
    /// not.
    pub(super) fn broadcast(&mut self, p: usize, msg: Message, partial: bool) {
        let behaviour = self.procs[p].spec.behaviour;
        if behaviour == Behaviour::Silent {
            return;
        }
        if behaviour == Behaviour::Replayer {
            self.procs[p].remember(&msg);
        }
        let key =
            |proc: &Process, k: &PublicKey| proc.keys.iter().find(|x| x.public() == *k).cloned();
        let twisted: Vec<Message> = match (behaviour, &msg) {
            (Behaviour::Equivocator, Message::Vote(v)) => key(&self.procs[p], &v.vote.validator)
                .map(|k| vec![Message::Vote(conflicting_vote(v, &k))])
                .unwrap_or_default(),
            (Behaviour::ConflictingProposer, Message::Proposal(sp)) => {
                key(&self.procs[p], &sp.proposal.proposer)
                    .map(|k| {
                        (1..=2)
                            .map(|salt| Message::Proposal(conflicting_proposal(sp, &k, salt)))
                            .collect()
                    })
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        };
        for q in 0..self.procs.len() {
            if q == p || (partial && self.rng.chance(500)) {
                continue;
            }
            if twisted.is_empty() {
                self.send(p, q, msg.clone());
                continue;
            }
            match behaviour {
                // The vote as cast, the conflicting one, or both.
                Behaviour::Equivocator => match self.rng.below(3) {
                    0 => self.send(p, q, msg.clone()),
                    1 => self.send(p, q, twisted[0].clone()),
                    _ => {
                        self.send(p, q, msg.clone());
                        self.send(p, q, twisted[0].clone());
                    }
                },
                // One of three proposals.
                _ => {
                    let pick = self.rng.below(twisted.len() as u64 + 1) as usize;
                    let m = if pick == 0 {
                        msg.clone()
                    } else {
                        twisted[pick - 1].clone()
                    };
                    self.send(p, q, m);
                }
            }
        }
    }

    pub(super) fn deliver(&mut self, to: usize, from: usize, msg: Message) -> Result<(), SimError> {
        if self.procs[to].core.is_none() {
            return Ok(());
        }
        self.delivered += 1;
        self.note(b"deliver", to as u64, from as u64, &encode(&msg));
        if self.procs[to].spec.behaviour == Behaviour::Replayer {
            self.procs[to].remember(&msg);
        }
        match msg {
            Message::SyncRequest { from_height } => {
                self.answer_sync(to, from, from_height.0);
                Ok(())
            }
            Message::SyncResponse { certificates } => {
                for cert in certificates.into_inner() {
                    if !self.feed_certificate(to, cert)? {
                        break;
                    }
                }
                Ok(())
            }
            m => self.feed_message(to, from, m),
        }
    }

    /// A proposal, vote or certificate for the core: verify it with the
    /// service's own function (the host's half of the contract), then hand
    /// it over.
    fn feed_message(&mut self, p: usize, from: usize, msg: Message) -> Result<(), SimError> {
        let (Some(current), Some(height)) = (
            self.procs[p].core.as_ref().and_then(Consensus::height),
            msg.height(),
        ) else {
            return Ok(());
        };
        if height > current {
            self.ask_sync(p, from);
        }
        // The core drops these unverified; so can the host.
        if height < current || height.0 > current.0 + 1 {
            return Ok(());
        }
        // The service's verification function, with memoised signatures.
        let set = self.procs[p].sets.get(&height.0);
        let ok = verify_messages(&self.chain_id, [(&msg, set)], &mut self.sigs)
            .pop()
            .is_some_and(|v| v.is_ok());
        if !ok {
            self.forged_dropped += 1;
            return Ok(());
        }
        let input = match msg {
            Message::Proposal(sp) => Input::Proposal(sp),
            Message::Vote(v) => Input::Vote(v),
            Message::Commit(c) => Input::Commit(c),
            _ => return Ok(()),
        };
        self.apply(p, input)
    }

    /// One certificate of a sync response; false to stop reading it.
    fn feed_certificate(&mut self, p: usize, cert: CommitCertificate) -> Result<bool, SimError> {
        let Some(current) = self.procs[p].core.as_ref().and_then(Consensus::height) else {
            return Ok(false);
        };
        if cert.height < current {
            return Ok(true);
        }
        if cert.height > current {
            return Ok(false);
        }
        let msg = Message::Commit(cert);
        let set = self.procs[p].sets.get(&current.0);
        let verified = verify_messages(&self.chain_id, [(&msg, set)], &mut self.sigs)
            .pop()
            .is_some_and(|v| v.is_ok());
        let Message::Commit(cert) = msg else {
            return Ok(false);
        };
        if !verified {
            self.forged_dropped += 1;
            return Ok(false);
        }
        self.apply(p, Input::Commit(cert))?;
        Ok(true)
    }

    fn ask_sync(&mut self, p: usize, peer: usize) {
        let proc = &mut self.procs[p];
        if proc.spec.behaviour == Behaviour::Silent
            || proc
                .last_sync_ms
                .is_some_and(|t| self.now < t + SYNC_INTERVAL_MS)
        {
            return;
        }
        proc.last_sync_ms = Some(self.now);
        let from_height = Height(proc.decided_height() + 1);
        self.send(p, peer, Message::SyncRequest { from_height });
    }

    fn answer_sync(&mut self, p: usize, asker: usize, from_height: u64) {
        let proc = &self.procs[p];
        if proc.spec.behaviour == Behaviour::Silent {
            return;
        }
        let certificates: Vec<CommitCertificate> = proc
            .chain
            .range(from_height..)
            .take(MAX_SYNC_CERTIFICATES)
            .map(|(_, c)| c.clone())
            .collect();
        if certificates.is_empty() {
            return;
        }
        let certificates = BoundedVec::new(certificates).unwrap_or_default();
        self.send(p, asker, Message::SyncResponse { certificates });
    }
}
