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

fn feeder(
    state: &(impl StateReader + ?Sized),
    id: &crate::feeder::FeederId,
) -> Result<crate::state::Feeder, TxError> {
    read(state, &StateKey::Feeder(id.clone()))?
        .ok_or_else(|| TxError::UnknownFeeder { feeder: id.clone() })
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
        Body::SubmitFeederReadings { readings } => {
            for r in readings.iter() {
                let f = feeder(state, &r.reading.feeder)?;
                let check =
                    SigCheck::new(f.head_key, r.reading.signing_hash(chain_id), r.signature);
                checks.push((
                    check,
                    CheckKind::Device(format!("feeder {} head meter", f.id), r.reading.sequence),
                ));
                keys.push(f.head_key);
            }
        }
        Body::SubmitDeclaredLoad { loads } => {
            for d in loads.iter() {
                let f = feeder(state, &d.reading.feeder)?;
                let key = f.declared_key.ok_or_else(|| TxError::DeclaredLoad {
                    feeder: f.id.clone(),
                    hour: d.reading.hour,
                    reason: "the feeder has no declared-load key",
                })?;
                let check = SigCheck::new(key, d.reading.signing_hash(chain_id), d.signature);
                checks.push((
                    check,
                    CheckKind::Device(format!("feeder {} declared load", f.id), d.reading.hour.0),
                ));
                keys.push(key);
            }
        }
        Body::AckCurtailment { ack } => {
            let site: Site =
                read(state, &StateKey::Site(ack.reading.site))?.ok_or(TxError::UnknownSite {
                    site: ack.reading.site,
                })?;
            let key = site.owner.0;
            let check = SigCheck::new(key, ack.reading.signing_hash(chain_id), ack.signature);
            checks.push((
                check,
                CheckKind::Device(format!("site {} owner", site.id), ack.reading.order.0),
            ));
            keys.push(key);
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

/// Verifies many transactions: first every transaction's own signature,
/// then, for those whose own signature holds, the signatures inside them
/// (device readings, evidence votes, proofs of possession). A forger cannot
/// make a verifier check the inner signatures of a transaction it did not
/// sign. Each pass is one batch per thread, narrowed by bisection when it
/// fails. The verdict is the same as checking each signature on its own.
pub fn verify_txs(
    state: &(impl StateReader + ?Sized),
    chain_id: &Hash,
    txs: Vec<Transaction>,
    threads: usize,
) -> Vec<Result<VerifiedTx, TxError>> {
    verify_txs_with(state, chain_id, txs, &mut |checks| {
        verify_all(checks, threads)
    })
}

/// Whether the keys `signature_checks` takes for this body come from the
/// state (device, feeder and site-owner keys). Every other check a
/// transaction needs is fixed by the transaction itself. The match names
/// every body, so that a new one cannot be added without deciding.
fn reads_state_keys(body: &Body) -> bool {
    match body {
        Body::SubmitReadings { .. }
        | Body::SubmitConsumption { .. }
        | Body::SubmitFeederReadings { .. }
        | Body::SubmitDeclaredLoad { .. }
        | Body::AckCurtailment { .. } => true,
        Body::Transfer { .. }
        | Body::Retire { .. }
        | Body::RegisterMeter { .. }
        | Body::ApproveMeter { .. }
        | Body::ReplaceMeterKey { .. }
        | Body::ResyncMeter { .. }
        | Body::TransferMeterOperator { .. }
        | Body::RevokeMeter { .. }
        | Body::RegisterSite { .. }
        | Body::SettleShortfall { .. }
        | Body::SetZonePolicy { .. }
        | Body::SuspendSite { .. }
        | Body::ReinstateSite { .. }
        | Body::RevokeSite { .. }
        | Body::ReplaceSiteKey { .. }
        | Body::WithdrawCredits { .. }
        | Body::ProposeAuthoritySet { .. }
        | Body::ProposeRegulatorSet { .. }
        | Body::ProposeChainParams { .. }
        | Body::Vote { .. }
        | Body::Evidence { .. }
        | Body::RegisterFeeder { .. }
        | Body::AttachToFeeder { .. }
        | Body::ClearFeederAlert { .. }
        | Body::ResyncFeederMeter { .. }
        | Body::SetZoneSandbox { .. }
        | Body::IssuePermit { .. }
        | Body::RevokePermit { .. }
        | Body::Curtail { .. }
        | Body::CancelCurtailment { .. } => false,
    }
}

/// Brings verdicts reached against an earlier state up to date with
/// `state`: the result is what `verify_txs(state, chain_id, txs, threads)`
/// returns, without checking again what cannot have changed.
///
/// A transaction verified earlier keeps its verdict when `state` names the
/// same keys for it (its checks are then the very same checks); one whose
/// device, feeder or owner key changed in between, and every one refused
/// earlier (perhaps for a meter registered since), is verified again
/// against `state`. `earlier[i]` must be the verdict on `txs[i]`; if the
/// lengths differ, everything is verified again. This is what lets a
/// block's transactions be verified while the block before it executes.
pub fn recheck(
    state: &(impl StateReader + ?Sized),
    chain_id: &Hash,
    earlier: Vec<Result<VerifiedTx, TxError>>,
    txs: &[Transaction],
    threads: usize,
) -> Vec<Result<VerifiedTx, TxError>> {
    if earlier.len() != txs.len() {
        return verify_txs(state, chain_id, txs.to_vec(), threads);
    }
    let mut out = Vec::with_capacity(txs.len());
    let mut again = Vec::new();
    for (i, verdict) in earlier.into_iter().enumerate() {
        let keep = match &verdict {
            Ok(v) if v.tx != txs[i] => false,
            Ok(v) if !reads_state_keys(&v.tx.unsigned.body) => true,
            Ok(v) => matches!(
                signature_checks(state, chain_id, &v.tx),
                Ok((_, keys)) if keys == v.device_keys
            ),
            Err(_) => false,
        };
        if keep {
            out.push(Some(verdict));
        } else {
            again.push(i);
            out.push(None);
        }
    }
    if !again.is_empty() {
        let redo = verify_txs(
            state,
            chain_id,
            again.iter().map(|&i| txs[i].clone()).collect(),
            threads,
        );
        for (i, verdict) in again.into_iter().zip(redo) {
            out[i] = Some(verdict);
        }
    }
    out.into_iter().flatten().collect()
}

/// [`verify_txs`] with the signature checking function given.
fn verify_txs_with(
    state: &(impl StateReader + ?Sized),
    chain_id: &Hash,
    txs: Vec<Transaction>,
    verify: &mut impl FnMut(&[SigCheck]) -> Vec<Result<(), crate::crypto::SignatureError>>,
) -> Vec<Result<VerifiedTx, TxError>> {
    let mut prepared = Vec::with_capacity(txs.len());
    for tx in txs {
        prepared
            .push(signature_checks(state, chain_id, &tx).map(|(checks, keys)| (tx, checks, keys)));
    }
    // Pass 1: each transaction's own signature (always the first check).
    let signers: Vec<SigCheck> = prepared
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .map(|(_, checks, _)| checks[0].0.clone())
        .collect();
    let mut signer_ok = verify(&signers).into_iter();
    let mut passed = Vec::with_capacity(prepared.len());
    for p in prepared {
        passed.push(p.and_then(|(tx, checks, keys)| {
            if signer_ok.next().is_some_and(|v| v.is_ok()) {
                Ok((tx, checks, keys))
            } else {
                Err(failure(&tx, &CheckKind::Signer))
            }
        }));
    }
    // Pass 2: the signatures inside the transactions that passed.
    let mut inner = Vec::new();
    for (_, checks, _) in passed.iter().filter_map(|p| p.as_ref().ok()) {
        inner.extend(checks[1..].iter().map(|(c, _)| c.clone()));
    }
    let mut verdicts = verify(&inner).into_iter();
    passed
        .into_iter()
        .map(|p| {
            let (tx, checks, keys) = p?;
            let mut failed = None;
            for (_, kind) in &checks[1..] {
                let ok = verdicts.next().is_some_and(|v| v.is_ok());
                if !ok && failed.is_none() {
                    failed = Some(failure(&tx, kind));
                }
            }
            match failed {
                Some(e) => Err(e),
                None => Ok(VerifiedTx::new(tx, keys)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::TestChain;
    use crate::types::MeterId;

    /// A forger sends a transaction full of readings under a signature of
    /// its own that does not verify: the readings' device signatures are
    /// never checked.
    #[test]
    fn inner_signatures_are_not_checked_when_the_transaction_signature_is_bad() {
        let mut tc = TestChain::new();
        let readings: Vec<_> = (1..=8u64)
            .map(|i| tc.gen(MeterId(1), 1_767_225_600 + 300 * i, 100))
            .collect();
        let good = tc.readings_tx(readings.clone());
        let mut forged = tc.readings_tx(readings);
        forged.signature.0[10] ^= 1;
        let mut checked = Vec::new();
        let out = verify_txs_with(&tc.state, &tc.chain_id, vec![forged, good], &mut |c| {
            checked.push(c.len());
            verify_all(c, 1)
        });
        assert!(matches!(out[0], Err(TxError::BadSignature { .. })));
        assert!(out[1].is_ok());
        // Two signers, then the good transaction's 8 readings only.
        assert_eq!(checked, vec![2, 8]);
    }
}
