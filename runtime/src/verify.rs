//! Signature verification before execution.
//!
//! A transaction needs its signer's signature and, depending on its body,
//! each reading's device signature (under the key the state names for that
//! meter or site), both votes of an evidence, or a consensus key's proof of
//! possession. [`signature_checks`] lists them; [`verify_tx`] checks one
//! transaction with precise errors; [`verify_txs`] checks many in batches on
//! several threads. The resulting [`VerifiedTx`] carries the device keys
//! used, and execution refuses a reading whose meter's key has changed
//! since.

use crate::crypto::Hash;
use crate::crypto::{verify_all, PublicKey, SigCheck};
use crate::error::TxError;
use crate::exec::VerifiedTx;
use crate::state::{Meter, Site, StateError, StateKey, StateReader};
use crate::tx::{AuthorityChange, Body, ProofOfPossession, Transaction};

/// What one signature check is for, so a failure can be reported precisely.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckKind {
    /// The transaction signer's signature.
    Signer,
    /// A reading's device signature: "meter 3" or "site 2", and sequence.
    Device(String, u64),
    /// An evidence vote's signature.
    EvidenceVote,
    /// A consensus key's proof of possession.
    ProofOfPossession(PublicKey),
}

fn read<T: borsh::BorshDeserialize>(
    state: &(impl StateReader + ?Sized),
    key: &StateKey,
) -> Result<Option<T>, StateError> {
    crate::state::read_value(state, key)
}

/// The checks a transaction needs, each with what it is for.
pub type Checks = Vec<(SigCheck, CheckKind)>;

/// Every signature a transaction needs, with what each is for, and the
/// device keys (in reading order) the state names now.
pub fn signature_checks(
    state: &(impl StateReader + ?Sized),
    chain_id: &Hash,
    tx: &Transaction,
) -> Result<(Checks, Vec<PublicKey>), TxError> {
    if tx.unsigned.chain_id != *chain_id {
        return Err(TxError::WrongChain {
            expected: *chain_id,
            got: tx.unsigned.chain_id,
        });
    }
    let mut checks = vec![(tx.signature_check(), CheckKind::Signer)];
    let mut keys = Vec::new();
    match &tx.unsigned.body {
        Body::SubmitReadings { readings } => {
            for r in readings.iter() {
                let meter: Meter = read(state, &StateKey::Meter(r.reading.meter))?.ok_or(
                    TxError::UnknownMeter {
                        meter: r.reading.meter,
                    },
                )?;
                let check = SigCheck::new(
                    meter.device_key,
                    r.reading.signing_hash(chain_id),
                    r.signature,
                );
                checks.push((
                    check,
                    CheckKind::Device(format!("meter {}", meter.id), r.reading.sequence),
                ));
                keys.push(meter.device_key);
            }
        }
        Body::SubmitConsumption { readings } => {
            for r in readings.iter() {
                let site: Site =
                    read(state, &StateKey::Site(r.reading.site))?.ok_or(TxError::UnknownSite {
                        site: r.reading.site,
                    })?;
                let check = SigCheck::new(
                    site.device_key,
                    r.reading.signing_hash(chain_id),
                    r.signature,
                );
                checks.push((
                    check,
                    CheckKind::Device(format!("site {}", site.id), r.reading.sequence),
                ));
                keys.push(site.device_key);
            }
        }
        Body::Evidence { first, second } => {
            checks.push((first.signature_check(), CheckKind::EvidenceVote));
            checks.push((second.signature_check(), CheckKind::EvidenceVote));
        }
        Body::ProposeAuthoritySet { change } => match change {
            AuthorityChange::Add {
                operator,
                consensus_key,
                proof,
                ..
            }
            | AuthorityChange::Rotate {
                operator,
                consensus_key,
                proof,
            } => {
                let msg = ProofOfPossession::signing_hash(chain_id, operator, consensus_key);
                checks.push((
                    SigCheck::new(*consensus_key, msg, proof.signature),
                    CheckKind::ProofOfPossession(*consensus_key),
                ));
            }
            AuthorityChange::Remove { .. } => {}
        },
        _ => {}
    }
    Ok((checks, keys))
}

fn failure(tx: &Transaction, kind: &CheckKind) -> TxError {
    match kind {
        CheckKind::Signer => TxError::BadSignature {
            signer: tx.signer(),
        },
        CheckKind::Device(device, sequence) => TxError::BadDeviceSignature {
            device: device.clone(),
            sequence: *sequence,
        },
        CheckKind::EvidenceVote => TxError::InvalidEvidence {
            reason: "a vote signature does not verify".into(),
        },
        CheckKind::ProofOfPossession(key) => TxError::BadProofOfPossession { key: *key },
    }
}

/// Verifies one transaction against the state (single path).
pub fn verify_tx(
    state: &(impl StateReader + ?Sized),
    chain_id: &Hash,
    tx: Transaction,
) -> Result<VerifiedTx, TxError> {
    verify_txs(state, chain_id, vec![tx], 1)
        .pop()
        .unwrap_or(Err(TxError::NoReadings))
}

/// Verifies many transactions with one batch per thread; a failing batch
/// falls back to single checks to name the culprit. The verdict is the same
/// as checking each signature on its own.
pub fn verify_txs(
    state: &(impl StateReader + ?Sized),
    chain_id: &Hash,
    txs: Vec<Transaction>,
    threads: usize,
) -> Vec<Result<VerifiedTx, TxError>> {
    let mut prepared = Vec::with_capacity(txs.len());
    let mut all_checks = Vec::new();
    for tx in txs {
        match signature_checks(state, chain_id, &tx) {
            Ok((checks, keys)) => {
                let start = all_checks.len();
                let kinds: Vec<CheckKind> = checks.iter().map(|(_, k)| k.clone()).collect();
                all_checks.extend(checks.into_iter().map(|(c, _)| c));
                prepared.push(Ok((tx, keys, start, kinds)));
            }
            Err(e) => prepared.push(Err(e)),
        }
    }
    let verdicts = verify_all(&all_checks, threads);
    prepared
        .into_iter()
        .map(|p| {
            let (tx, keys, start, kinds) = p?;
            for (i, kind) in kinds.iter().enumerate() {
                if verdicts.get(start + i).is_none_or(|v| v.is_err()) {
                    return Err(failure(&tx, kind));
                }
            }
            Ok(VerifiedTx::new(tx, keys))
        })
        .collect()
}
