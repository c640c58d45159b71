//! Watt's ed25519 acceptance rule, on a single path and a batch path that
//! accept exactly the same set.
//!
//! A signature `(R, S)` by public key `A` over message `M` is accepted iff:
//! 1. `A` and `R` are canonical point encodings (the y coordinate, with the
//!    sign bit cleared, is below p = 2^255 - 19) and decode to curve points;
//! 2. neither `A` nor `R` is of small order (`[8]P` is not the identity);
//! 3. `S < L`, the group order;
//! 4. the **cofactored** equation holds: `[8]([S]B - R - [k]A) = 0`, with
//!    `k = SHA-512(R || A || M) mod L`.
//!
//! Why cofactored: the plain (cofactorless) equation and a batch of it can
//! disagree on points with a small-order component, which would split
//! validators. Multiplying by the cofactor removes those components, so the
//! single check and the batch check (a random linear combination of the
//! same equations, also multiplied by 8) agree on every input: if every
//! single equation holds, the batch holds exactly; if one fails, the batch
//! fails except with probability about 2^-128. This is the rule of ZIP 215
//! with strict encodings and small-order points refused, and it needs no
//! prime-order (torsion) check, which would cost more than verification
//! itself. Batch coefficients are derived from a blake3 transcript of all
//! inputs, so the batch path is deterministic.

use super::{Hash, PublicKey, Signature};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The public key is not a canonical encoding of a curve point, or is of
    /// small order.
    #[error("public key is not a canonical point of large order")]
    BadPublicKey,
    /// R is not a canonical encoding of a curve point, or is of small order.
    #[error("signature R is not a canonical point of large order")]
    BadR,
    /// S is not reduced modulo the group order.
    #[error("signature S is not canonical")]
    BadS,
    /// The verification equation does not hold.
    #[error("signature does not verify")]
    Invalid,
    /// At least one signature in a batch is refused; the batch says no more.
    #[error("batch contains an invalid signature")]
    BatchInvalid,
}

/// One signature to check: key, message, signature.
#[derive(Clone, Debug)]
pub struct SigCheck {
    /// The signer's public key.
    pub key: PublicKey,
    /// The message; for consensus objects, their 32-byte signing hash.
    pub message: Vec<u8>,
    /// The signature.
    pub signature: Signature,
}

impl SigCheck {
    /// A check of a signature over a 32-byte signing hash.
    pub fn new(key: PublicKey, message: Hash, signature: Signature) -> Self {
        SigCheck {
            key,
            message: message.0.to_vec(),
            signature,
        }
    }
}

/// p = 2^255 - 19, little-endian.
const FIELD_P: [u8; 32] = {
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// Whether little-endian `a < b`.
fn lt(a: &[u8; 32], b: &[u8; 32]) -> bool {
    for i in (0..32).rev() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
    }
    false
}

/// Rule points 1 and 2 for one point encoding.
fn strict_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    let mut y = *bytes;
    y[31] &= 0x7f;
    if !lt(&y, &FIELD_P) {
        return None;
    }
    // Decompression refuses y with no x on the curve. The only encodings
    // with x = 0 and the sign bit set are of small order, refused next.
    let point = CompressedEdwardsY(*bytes).decompress()?;
    if point.is_small_order() {
        return None;
    }
    Some(point)
}

/// A signature that passed points 1 to 3, ready for the equation.
struct Prepared {
    a: EdwardsPoint,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

fn prepare(key: &PublicKey, message: &[u8], sig: &Signature) -> Result<Prepared, SignatureError> {
    let a = strict_point(&key.0).ok_or(SignatureError::BadPublicKey)?;
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&sig.0[..32]);
    let r = strict_point(&r_bytes).ok_or(SignatureError::BadR)?;
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&sig.0[32..]);
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
        .ok_or(SignatureError::BadS)?;
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(key.0);
    h.update(message);
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    Ok(Prepared { a, r, s, k })
}

/// Verifies one signature over an arbitrary message under the acceptance
/// rule. Consensus objects sign their 32-byte signing hash.
pub fn verify_bytes(
    key: &PublicKey,
    message: &[u8],
    sig: &Signature,
) -> Result<(), SignatureError> {
    let p = prepare(key, message, sig)?;
    // [S]B - [k]A - R, times the cofactor.
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&p.k, &(-p.a), &p.s);
    if (sb_minus_ka - p.r).mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

/// Verifies one signature over a signing hash under the acceptance rule.
pub fn verify(key: &PublicKey, message: &Hash, sig: &Signature) -> Result<(), SignatureError> {
    verify_bytes(key, &message.0, sig)
}

/// Verifies many signatures at once under the acceptance rule. Returns `Ok`
/// iff every one of them would pass [`verify_bytes`] (up to a 2^-128
/// chance of accepting a batch with a bad one). On failure the caller may
/// fall back to [`verify_each`] to learn which ones failed.
pub fn verify_batch(checks: &[SigCheck]) -> Result<(), SignatureError> {
    if checks.is_empty() {
        return Ok(());
    }
    let mut prepared = Vec::with_capacity(checks.len());
    let mut transcript = blake3::Hasher::new();
    transcript.update(b"watt/ed25519-batch/v1");
    for c in checks {
        prepared.push(
            prepare(&c.key, &c.message, &c.signature).map_err(|_| SignatureError::BatchInvalid)?,
        );
        transcript.update(&c.key.0);
        transcript.update(&c.signature.0);
        transcript.update(&(c.message.len() as u64).to_le_bytes());
        transcript.update(&c.message);
    }
    // 128-bit coefficients z_i from the transcript: deterministic, and
    // unpredictable to whoever chose the signatures.
    let mut xof = transcript.finalize_xof();
    let mut b_coeff = Scalar::ZERO;
    let mut scalars = Vec::with_capacity(2 * checks.len() + 1);
    let mut points = Vec::with_capacity(2 * checks.len() + 1);
    for p in &prepared {
        let mut z = [0u8; 32];
        xof.fill(&mut z[..16]);
        let z = Scalar::from_bytes_mod_order(z);
        b_coeff += z * p.s;
        scalars.push(-z);
        points.push(p.r);
        scalars.push(-(z * p.k));
        points.push(p.a);
    }
    scalars.push(b_coeff);
    points.push(curve25519_dalek::constants::ED25519_BASEPOINT_POINT);
    let sum = EdwardsPoint::vartime_multiscalar_mul(scalars, points);
    if sum.mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(SignatureError::BatchInvalid)
    }
}

/// Verifies every check on its own and reports each verdict, in order.
pub fn verify_each(checks: &[SigCheck]) -> Vec<Result<(), SignatureError>> {
    checks
        .iter()
        .map(|c| verify_bytes(&c.key, &c.message, &c.signature))
        .collect()
}

/// Verifies a list of checks and reports each verdict, in order: one batch
/// per thread, falling back to single checks in a batch that fails. Splits
/// the work over `threads` OS threads (1 means the calling thread; lists
/// shorter than 64 stay on one thread). Threads are not I/O: the result
/// depends only on the inputs.
pub fn verify_all(checks: &[SigCheck], threads: usize) -> Vec<Result<(), SignatureError>> {
    let threads = threads.max(1);
    if threads == 1 || checks.len() < 64 {
        return verify_chunk(checks);
    }
    let chunk = checks.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = checks
            .chunks(chunk)
            .map(|part| (part.len(), scope.spawn(move || verify_chunk(part))))
            .collect();
        handles
            .into_iter()
            .flat_map(|(len, h)| match h.join() {
                Ok(v) => v,
                // A verifier thread cannot panic on any input; should it, its
                // part is refused rather than the panic propagated.
                Err(_) => vec![Err(SignatureError::BatchInvalid); len],
            })
            .collect()
    })
}

fn verify_chunk(checks: &[SigCheck]) -> Vec<Result<(), SignatureError>> {
    // Large batches amortise best up to a few hundred; beyond that the
    // multiscalar multiplication gains little and a failure costs more.
    let mut out = Vec::with_capacity(checks.len());
    for part in checks.chunks(512) {
        bisect(part, &mut out, &mut |c| verify_batch(c).is_ok());
    }
    out
}

/// Below this many checks a failed batch is checked one by one: bisecting
/// further would cost more batch set-ups than it saves.
const BISECT_FLOOR: usize = 4;

/// Verdicts for `checks`, appended to `out`: one batch; if it fails, each
/// half again. One bad signature among `n` costs about `2 log2(n)` batches
/// of shrinking size instead of `n` single checks, so a forger cannot make
/// a verifier re-check a whole batch singly with one bad signature.
fn bisect(
    checks: &[SigCheck],
    out: &mut Vec<Result<(), SignatureError>>,
    batch: &mut impl FnMut(&[SigCheck]) -> bool,
) {
    bisect_known(checks, out, batch, false);
}

/// [`bisect`]; `failing` when the caller knows the batch fails (the other
/// half of a failing batch passed), so it is not checked as a whole again.
/// Returns whether every check passed.
fn bisect_known(
    checks: &[SigCheck],
    out: &mut Vec<Result<(), SignatureError>>,
    batch: &mut impl FnMut(&[SigCheck]) -> bool,
    failing: bool,
) -> bool {
    if checks.is_empty() {
        return true;
    }
    if !failing && batch(checks) {
        out.extend(std::iter::repeat_n(Ok(()), checks.len()));
        return true;
    }
    if checks.len() <= BISECT_FLOOR {
        let verdicts = verify_each(checks);
        let ok = verdicts.iter().all(Result::is_ok);
        out.extend(verdicts);
        return ok;
    }
    let mid = checks.len() / 2;
    let left = bisect_known(&checks[..mid], out, batch, false);
    // The whole failed: if the left half passed, the right half fails.
    bisect_known(&checks[mid..], out, batch, left);
    false
}

/// Verifies groups of checks: a group passes only if all of its signatures
/// verify. One batch for everything, narrowed by bisection over the groups
/// when it fails. One verdict per group, in order.
pub fn verify_groups(groups: &[Vec<SigCheck>]) -> Vec<bool> {
    let mut out = vec![false; groups.len()];
    bisect_groups(groups, 0, &mut out);
    out
}

fn bisect_groups(groups: &[Vec<SigCheck>], offset: usize, out: &mut [bool]) {
    if groups.is_empty() {
        return;
    }
    let checks: Vec<SigCheck> = groups.iter().flatten().cloned().collect();
    if verify_batch(&checks).is_ok() {
        for v in &mut out[offset..offset + groups.len()] {
            *v = true;
        }
        return;
    }
    if groups.len() == 1 {
        return;
    }
    let mid = groups.len() / 2;
    bisect_groups(&groups[..mid], offset, out);
    bisect_groups(&groups[mid..], offset + mid, out);
}

#[cfg(test)]
mod bisection_tests {
    use super::*;
    use crate::crypto::{Hash, Keypair};

    fn checks(n: usize, bad: &[usize]) -> Vec<SigCheck> {
        let k = Keypair::from_seed([3; 32]);
        (0..n)
            .map(|i| {
                let m = Hash([i as u8; 32]);
                let mut sig = k.sign(&m);
                if bad.contains(&i) {
                    sig.0[40] ^= 1;
                }
                SigCheck::new(k.public(), m, sig)
            })
            .collect()
    }

    #[test]
    fn one_bad_signature_in_512_costs_a_few_small_batches_not_512_single_checks() {
        let all = checks(512, &[300]);
        let (mut batches, mut checked) = (0, 0);
        let mut out = Vec::new();
        bisect(&all, &mut out, &mut |c| {
            batches += 1;
            checked += c.len();
            verify_batch(c).is_ok()
        });
        let bad: Vec<usize> = (0..512).filter(|i| out[*i].is_err()).collect();
        assert_eq!(bad, vec![300]);
        // A batch over the whole, then at most two halves per level,
        // 2 log2(512 / 4) + 1 batches of shrinking size (a half known to
        // fail is split without being checked whole), and only the last
        // 4 checked singly: about 1.2 single checks' worth of work per
        // signature (a batch costs about half a single check per
        // signature), where checking all 512 singly after the failed batch
        // cost 1.5.
        assert!(batches <= 2 * 7 + 1, "{batches} batches");
        assert!(checked <= 5 * 512 / 2, "{checked} signatures in batches");
    }

    #[test]
    fn bisection_gives_the_single_check_verdicts() {
        for bad in [
            vec![],
            vec![0],
            vec![5, 6, 7],
            vec![1, 63],
            (0..64).collect(),
        ] {
            let all = checks(64, &bad);
            assert_eq!(verify_all(&all, 1), verify_each(&all), "{bad:?}");
            let groups: Vec<Vec<SigCheck>> = all.chunks(3).map(|c| c.to_vec()).collect();
            let want: Vec<bool> = groups
                .iter()
                .map(|g| verify_each(g).iter().all(Result::is_ok))
                .collect();
            assert_eq!(verify_groups(&groups), want, "{bad:?}");
        }
    }
}
