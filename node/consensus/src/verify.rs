//! The host's half of the contract with the core: verifying consensus
//! messages from the network before the core sees them.
//!
//! Only the validators' signed proposals and votes, and certificates made
//! of their precommits, may ever count (docs/security.md §2; docs/consensus.md). A message
//! passes when it is for this chain, its height's validator set is known,
//! its signer belongs to that set (for a proposal: is the round's
//! proposer), and every signature verifies: one for a proposal or a vote,
//! more than 2/3 of the set's precommits for a certificate.
//!
//! [`verify_messages`] is the one function that decides this, for the
//! node's service (on its verifier task, in batches) and for the
//! simulator's host alike, so the simulator tests the path production
//! runs. Signature checks go through a [`SignatureVerifier`]: the node
//! batches them over both cores, the simulator memoises them.
//!
//! Batches are narrowed by bisection: when a batch fails, each half is
//! checked again, so one forged message among many costs about
//! `2 log2(n)` batch checks rather than `n` single ones.

use super::message::Message;
use watt_runtime::block::{CommitError, ValidatorSet};
use watt_runtime::crypto::{Hash, PublicKey, SigCheck};
use watt_runtime::types::Height;

/// Why a consensus message from the network was refused. The peer that
/// sent it is the one to blame: honest nodes relay only what verified.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Signed for another chain.
    #[error("message is for chain {got}, expected {expected}")]
    WrongChain {
        /// Its chain id.
        got: Hash,
        /// Ours.
        expected: Hash,
    },
    /// The host does not know the validator set of the message's height.
    #[error("no validator set is known for height {height}")]
    UnknownHeight {
        /// The message's height.
        height: Height,
    },
    /// A vote by a key outside the height's set.
    #[error("{key} is not a validator at height {height}")]
    NotAValidator {
        /// The signer.
        key: PublicKey,
        /// The height.
        height: Height,
    },
    /// A proposal by someone other than the round's proposer.
    #[error("proposal for height {height} round {round} by {got}, expected {expected}")]
    WrongProposer {
        /// The height.
        height: Height,
        /// The round.
        round: u32,
        /// Who signed it.
        got: PublicKey,
        /// The round's proposer.
        expected: PublicKey,
    },
    /// The signature of a proposal or vote does not verify.
    #[error("signature of {signer} does not verify")]
    BadSignature {
        /// The claimed signer.
        signer: PublicKey,
    },
    /// A certificate that does not hold against its height's set.
    #[error("commit certificate refused: {0}")]
    BadCertificate(#[from] CommitError),
    /// Sync requests and responses are not verified here.
    #[error("not a proposal, vote or certificate")]
    NotConsensus,
}

/// Checks groups of signatures; a group passes only if all of its
/// signatures verify. One verdict per group, in order.
pub trait SignatureVerifier {
    /// The verdicts.
    fn verify_groups(&mut self, groups: &[Vec<SigCheck>]) -> Vec<bool>;
}

/// Batched ed25519 verification, narrowed by bisection on failure
/// (`watt_runtime::crypto::verify_groups`).
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchVerifier;

impl SignatureVerifier for BatchVerifier {
    fn verify_groups(&mut self, groups: &[Vec<SigCheck>]) -> Vec<bool> {
        watt_runtime::crypto::verify_groups(groups)
    }
}

/// The signature checks a message needs, after the checks that need no
/// signature: chain, set, membership, proposer, certificate structure.
pub fn signature_checks(
    chain_id: &Hash,
    msg: &Message,
    set: Option<&ValidatorSet>,
) -> Result<Vec<SigCheck>, VerifyError> {
    let height = msg.height().ok_or(VerifyError::NotConsensus)?;
    let set = set.ok_or(VerifyError::UnknownHeight { height })?;
    let wrong_chain = |got: Hash| VerifyError::WrongChain {
        got,
        expected: *chain_id,
    };
    match msg {
        Message::Proposal(sp) => {
            let p = &sp.proposal;
            if p.chain_id != *chain_id {
                return Err(wrong_chain(p.chain_id));
            }
            let expected = set
                .proposer(p.height, p.round)
                .map(|v| v.consensus_key)
                .unwrap_or_default();
            if p.proposer != expected {
                return Err(VerifyError::WrongProposer {
                    height: p.height,
                    round: p.round,
                    got: p.proposer,
                    expected,
                });
            }
            Ok(vec![sp.signature_check()])
        }
        Message::Vote(sv) => {
            let v = &sv.vote;
            if v.chain_id != *chain_id {
                return Err(wrong_chain(v.chain_id));
            }
            if set.index_of(&v.validator).is_none() {
                return Err(VerifyError::NotAValidator {
                    key: v.validator,
                    height: v.height,
                });
            }
            Ok(vec![sv.signature_check()])
        }
        Message::Commit(c) => Ok(c.checks(chain_id, set, c.height, &c.block_hash)?),
        Message::SyncRequest { .. } | Message::SyncResponse { .. } => {
            Err(VerifyError::NotConsensus)
        }
    }
}

/// Verifies consensus messages, each against the validator set of its own
/// height (`None`: not known), with every signature checked in one batch.
/// One verdict per message, in order.
pub fn verify_messages<'a>(
    chain_id: &Hash,
    messages: impl IntoIterator<Item = (&'a Message, Option<&'a ValidatorSet>)>,
    verifier: &mut impl SignatureVerifier,
) -> Vec<Result<(), VerifyError>> {
    let mut verdicts = Vec::new();
    let mut groups = Vec::new();
    let mut slots = Vec::new();
    for (msg, set) in messages {
        match signature_checks(chain_id, msg, set) {
            Ok(checks) => {
                slots.push(verdicts.len());
                groups.push(checks);
                verdicts.push(Ok(()));
            }
            Err(e) => verdicts.push(Err(e)),
        }
    }
    for ((i, ok), checks) in slots
        .into_iter()
        .zip(verifier.verify_groups(&groups))
        .zip(&groups)
    {
        if !ok {
            verdicts[i] = Err(blame(checks));
        }
    }
    verdicts
}

/// The error for a message whose signatures failed: for a proposal or vote
/// its signer; for a certificate the first precommit that does not verify.
fn blame(checks: &[SigCheck]) -> VerifyError {
    match checks {
        [one] => VerifyError::BadSignature { signer: one.key },
        many => {
            let bad = many
                .iter()
                .find(|c| {
                    watt_runtime::crypto::verify_bytes(&c.key, &c.message, &c.signature).is_err()
                })
                .map(|c| c.key)
                .unwrap_or_default();
            VerifyError::BadCertificate(CommitError::BadSignature { validator: bad })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watt_runtime::block::{CommitCertificate, Proposal, SignedVote, Validator, Vote, VoteKind};
    use watt_runtime::crypto::Keypair;
    use watt_runtime::encoding::{BoundedString, BoundedVec};
    use watt_runtime::types::AccountId;

    const CHAIN: Hash = Hash([9; 32]);

    fn keys() -> Vec<Keypair> {
        (1..=4u8).map(|i| Keypair::from_seed([i; 32])).collect()
    }

    fn set(keys: &[Keypair]) -> ValidatorSet {
        ValidatorSet::new(
            keys.iter()
                .map(|k| Validator {
                    consensus_key: k.public(),
                    operator: AccountId(k.public()),
                    name: BoundedString::default(),
                })
                .collect(),
        )
        .unwrap()
    }

    fn vote(k: &Keypair, kind: VoteKind, block: Hash) -> SignedVote {
        Vote {
            kind,
            chain_id: CHAIN,
            height: Height(3),
            round: 0,
            block_hash: Some(block),
            validator: k.public(),
        }
        .sign(k)
    }

    fn verify(msgs: &[Message], set: &ValidatorSet) -> Vec<Result<(), VerifyError>> {
        verify_messages(
            &CHAIN,
            msgs.iter().map(|m| (m, Some(set))),
            &mut BatchVerifier,
        )
    }

    #[test]
    fn genuine_messages_pass_and_each_forgery_is_named() {
        let ks = keys();
        let vs = set(&ks);
        let block = Hash([1; 32]);
        let precommits: Vec<SignedVote> = ks
            .iter()
            .map(|k| vote(k, VoteKind::Precommit, block))
            .collect();
        let cert = CommitCertificate::from_precommits(&vs, Height(3), 0, block, &precommits);
        let proposer = vs.proposer(Height(3), 0).unwrap().consensus_key;
        let pk = ks.iter().find(|k| k.public() == proposer).unwrap();
        let other = ks.iter().find(|k| k.public() != proposer).unwrap();
        let proposal = |by: &Keypair| Proposal {
            chain_id: CHAIN,
            height: Height(3),
            round: 0,
            valid_round: None,
            block_hash: block,
            proposer: by.public(),
        };
        let stranger = Keypair::from_seed([77; 32]);
        // A vote in a validator's name signed by someone else.
        let mut impostor = vote(&ks[0], VoteKind::Prevote, block);
        impostor.signature = stranger.sign(&impostor.vote.signing_hash());
        // A certificate with a quorum bitmap and junk signatures.
        let mut junk = cert.clone();
        junk.signatures = BoundedVec::new(vec![stranger.sign(&block); 4]).unwrap();
        let mut foreign = vote(&ks[1], VoteKind::Prevote, block).vote;
        foreign.chain_id = Hash([8; 32]);
        let msgs = vec![
            Message::Vote(precommits[0].clone()),
            Message::Proposal(proposal(pk).sign(pk)),
            Message::Commit(cert.clone()),
            Message::Vote(impostor),
            Message::Commit(junk),
            Message::Proposal(proposal(other).sign(other)),
            Message::Vote(vote(&stranger, VoteKind::Prevote, block)),
            Message::Vote(foreign.sign(&ks[1])),
        ];
        let got = verify(&msgs, &vs);
        assert_eq!(got[..3], [Ok(()), Ok(()), Ok(())]);
        assert_eq!(
            got[3],
            Err(VerifyError::BadSignature {
                signer: ks[0].public()
            })
        );
        assert!(matches!(
            got[4],
            Err(VerifyError::BadCertificate(
                CommitError::BadSignature { .. }
            ))
        ));
        assert!(matches!(got[5], Err(VerifyError::WrongProposer { .. })));
        assert!(matches!(got[6], Err(VerifyError::NotAValidator { .. })));
        assert!(matches!(got[7], Err(VerifyError::WrongChain { .. })));
        // Without the height's set nothing passes.
        let unknown = verify_messages(&CHAIN, [(&msgs[0], None)], &mut BatchVerifier);
        assert_eq!(
            unknown,
            vec![Err(VerifyError::UnknownHeight { height: Height(3) })]
        );
    }

    #[test]
    fn bisection_finds_every_bad_group_among_many() {
        let ks = keys();
        let vs = set(&ks);
        let mut msgs: Vec<Message> = (0..64u8)
            .map(|i| {
                Message::Vote(vote(
                    &ks[usize::from(i % 4)],
                    VoteKind::Prevote,
                    Hash([i; 32]),
                ))
            })
            .collect();
        for i in [0usize, 17, 18, 63] {
            if let Message::Vote(v) = &mut msgs[i] {
                v.signature.0[5] ^= 1;
            }
        }
        let got = verify(&msgs, &vs);
        let bad: Vec<usize> = (0..64).filter(|i| got[*i].is_err()).collect();
        assert_eq!(bad, vec![0, 17, 18, 63]);
    }
}
