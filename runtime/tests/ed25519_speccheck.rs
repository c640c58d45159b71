//! Watt's ed25519 acceptance rule against the speccheck edge cases
//! (`tests/vectors/ed25519-speccheck-cases.json`, see `tests/vectors/README.md`).
//!
//! Consensus depends on every node reaching the same verdict on every
//! signature, whichever path checked it: a proposer that batch-verifies and an
//! importer that verifies one by one must agree. These tests check that the
//! single path (`verify_bytes`) and the batch paths (`verify_batch`,
//! `verify_all`) agree on each edge case, alone and hidden in batches of valid
//! signatures, and pin the exact set Watt accepts together with the reason
//! each other case is refused (`docs/ed25519-acceptance.md`).

use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use proptest::prelude::*;
use serde::Deserialize;
use watt_runtime::crypto::{
    verify_all, verify_batch, verify_bytes, verify_each, Hash, Keypair, PublicKey, SigCheck,
    Signature, SignatureError,
};

const CASES_JSON: &str = include_str!("vectors/ed25519-speccheck-cases.json");

/// One entry of the vector file, all fields hex.
#[derive(Deserialize)]
struct RawCase {
    message: String,
    pub_key: String,
    signature: String,
}

fn decode<const N: usize>(field: &str, s: &str) -> [u8; N] {
    let bytes = hex::decode(s).unwrap_or_else(|e| panic!("{field}: bad hex: {e}"));
    bytes
        .try_into()
        .unwrap_or_else(|b: Vec<u8>| panic!("{field}: expected {N} bytes, got {}", b.len()))
}

/// The speccheck entries, in file order (the index is the case number).
fn cases() -> Vec<SigCheck> {
    let raw: Vec<RawCase> = serde_json::from_str(CASES_JSON).expect("vector file is valid JSON");
    raw.iter()
        .map(|c| SigCheck {
            key: PublicKey(decode("pub_key", &c.pub_key)),
            message: hex::decode(&c.message).expect("message is hex"),
            signature: Signature(decode("signature", &c.signature)),
        })
        .collect()
}

fn single(c: &SigCheck) -> Result<(), SignatureError> {
    verify_bytes(&c.key, &c.message, &c.signature)
}

/// A deterministic valid signature: key and message both derived from
/// `(label, i)`, so distinct `i` give distinct keys and messages.
fn valid_check(label: &str, i: u64) -> SigCheck {
    let derive = |what: &str| {
        let mut h = blake3::Hasher::new();
        h.update(label.as_bytes());
        h.update(what.as_bytes());
        h.update(&i.to_le_bytes());
        *h.finalize().as_bytes()
    };
    let kp = Keypair::from_seed(derive("/seed"));
    let message = Hash(derive("/message"));
    let signature = kp.sign(&message);
    SigCheck::new(kp.public(), message, signature)
}

fn valid_checks(label: &str, n: usize) -> Vec<SigCheck> {
    (0..n as u64).map(|i| valid_check(label, i)).collect()
}

// ---------------------------------------------------------------------------
// Classifying a case from its bytes, independently of crypto.rs.
// ---------------------------------------------------------------------------

/// Where a decoded point lies in the curve group (order 8 * L).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// Order divides 8 (includes the identity).
    Small,
    /// Neither small nor in the prime-order subgroup: has a torsion component.
    Mixed,
    /// In the prime-order subgroup and not the identity.
    Prime,
}

/// How a 32-byte point encoding decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PointClass {
    /// Not the encoding of any curve point.
    NotAPoint,
    /// Decodes to a point of this order; `canonical` iff re-encoding it gives
    /// the same 32 bytes.
    Point { canonical: bool, order: Order },
}

const SMALL: PointClass = PointClass::Point {
    canonical: true,
    order: Order::Small,
};
const MIXED: PointClass = PointClass::Point {
    canonical: true,
    order: Order::Mixed,
};
const PRIME: PointClass = PointClass::Point {
    canonical: true,
    order: Order::Prime,
};
const NONCANONICAL_SMALL: PointClass = PointClass::Point {
    canonical: false,
    order: Order::Small,
};

fn classify_point(bytes: &[u8; 32]) -> PointClass {
    match CompressedEdwardsY(*bytes).decompress() {
        None => PointClass::NotAPoint,
        Some(p) => PointClass::Point {
            canonical: p.compress().0 == *bytes,
            order: if p.is_small_order() {
                Order::Small
            } else if p.is_torsion_free() {
                Order::Prime
            } else {
                Order::Mixed
            },
        },
    }
}

/// The signature scalar `S` as an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SClass {
    /// `S = 0`.
    Zero,
    /// `0 < S < L`.
    Canonical,
    /// `L <= S < 2^253`: passes the old "top three bits clear" check only.
    AtLeastL,
    /// `S >= 2^253`.
    HighBits,
}

fn classify_s(s: &[u8; 32]) -> SClass {
    if *s == [0u8; 32] {
        SClass::Zero
    } else if bool::from(Scalar::from_canonical_bytes(*s).is_some()) {
        SClass::Canonical
    } else if s[31] & 0xe0 == 0 {
        SClass::AtLeastL
    } else {
        SClass::HighBits
    }
}

fn r_and_s(sig: &Signature) -> ([u8; 32], [u8; 32]) {
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    r.copy_from_slice(&sig.0[..32]);
    s.copy_from_slice(&sig.0[32..]);
    (r, s)
}

/// What the vectors hold and what Watt answers, per case index. The
/// explanation of each row is in `docs/ed25519-acceptance.md`.
struct Expected {
    a: PointClass,
    r: PointClass,
    s: SClass,
    verdict: Result<(), SignatureError>,
}

const fn row(
    a: PointClass,
    r: PointClass,
    s: SClass,
    verdict: Result<(), SignatureError>,
) -> Expected {
    Expected { a, r, s, verdict }
}

const BAD_KEY: Result<(), SignatureError> = Err(SignatureError::BadPublicKey);
const BAD_S: Result<(), SignatureError> = Err(SignatureError::BadS);
const BAD_R: Result<(), SignatureError> = Err(SignatureError::BadR);
const OK: Result<(), SignatureError> = Ok(());

#[rustfmt::skip]
const EXPECTED: [Expected; 15] = [
    /*  0 */ row(SMALL, SMALL, SClass::Zero, BAD_KEY),
    /*  1 */ row(SMALL, SMALL, SClass::Zero, BAD_KEY),
    /*  2 */ row(SMALL, MIXED, SClass::Canonical, BAD_KEY),
    /*  3 */ row(SMALL, MIXED, SClass::Canonical, BAD_KEY),
    /*  4 */ row(MIXED, SMALL, SClass::Canonical, BAD_R),
    /*  5 */ row(MIXED, SMALL, SClass::Canonical, BAD_R),
    /*  6 */ row(MIXED, MIXED, SClass::Canonical, OK),
    /*  7 */ row(MIXED, MIXED, SClass::Canonical, OK),
    /*  8 */ row(MIXED, PRIME, SClass::Canonical, OK),
    /*  9 */ row(PRIME, PRIME, SClass::AtLeastL, BAD_S),
    /* 10 */ row(PRIME, PRIME, SClass::HighBits, BAD_S),
    /* 11 */ row(MIXED, NONCANONICAL_SMALL, SClass::Canonical, BAD_R),
    /* 12 */ row(MIXED, NONCANONICAL_SMALL, SClass::Canonical, BAD_R),
    /* 13 */ row(NONCANONICAL_SMALL, MIXED, SClass::Canonical, BAD_KEY),
    /* 14 */ row(NONCANONICAL_SMALL, MIXED, SClass::Canonical, BAD_KEY),
];

/// The indices of the speccheck cases Watt accepts: the three with
/// canonical, large-order (mixed-order) A and R, canonical S and a cofactored
/// equation that holds. Every other case has a small-order or non-canonical
/// point or a non-canonical `S`.
const ACCEPTED: &[usize] = &[6, 7, 8];

/// The precheck part of the rule (points 1 to 3 of `crypto/ed25519.rs`),
/// stated from the classification alone: small-order and non-canonical
/// points are refused, mixed-order ones are not (the cofactored equation
/// ignores their torsion part). `None` means the checks pass and only the
/// verification equation decides.
fn rule_precheck(e: &Expected) -> Option<SignatureError> {
    let bad = |p: PointClass| p != PRIME && p != MIXED;
    if bad(e.a) {
        Some(SignatureError::BadPublicKey)
    } else if bad(e.r) {
        Some(SignatureError::BadR)
    } else if !matches!(e.s, SClass::Zero | SClass::Canonical) {
        Some(SignatureError::BadS)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------

#[test]
fn vectors_classify_as_documented() {
    let cases = cases();
    assert_eq!(cases.len(), EXPECTED.len());
    for (i, (c, e)) in cases.iter().zip(&EXPECTED).enumerate() {
        let (r, s) = r_and_s(&c.signature);
        assert_eq!(classify_point(&c.key.0), e.a, "case {i}: A");
        assert_eq!(classify_point(&r), e.r, "case {i}: R");
        assert_eq!(classify_s(&s), e.s, "case {i}: S");
    }
}

#[test]
fn accepted_set_is_pinned_and_follows_the_rule() {
    let cases = cases();
    let accepted: Vec<usize> = (0..cases.len())
        .filter(|&i| single(&cases[i]).is_ok())
        .collect();
    assert_eq!(accepted, ACCEPTED);

    for (i, (c, e)) in cases.iter().zip(&EXPECTED).enumerate() {
        let got = single(c);
        assert_eq!(got, e.verdict, "case {i}: verdict");
        match rule_precheck(e) {
            // Refused before the equation, with the first failing check.
            Some(err) => assert_eq!(got, Err(err), "case {i}: precheck"),
            // Only a failed equation can refuse a case that passes the checks.
            None => assert!(
                matches!(got, Ok(()) | Err(SignatureError::Invalid)),
                "case {i}: {got:?}"
            ),
        }
    }
}

#[test]
fn single_and_batch_agree_on_each_case_alone() {
    for (i, c) in cases().iter().enumerate() {
        let one = std::slice::from_ref(c);
        let s = single(c);
        assert_eq!(verify_batch(one).is_ok(), s.is_ok(), "case {i}: batch");
        assert_eq!(verify_each(one), vec![s.clone()], "case {i}: each");
        assert_eq!(verify_all(one, 1), vec![s.clone()], "case {i}: all/1");
        assert_eq!(verify_all(one, 2), vec![s], "case {i}: all/2");
    }
}

/// `valid` with `case` inserted at `pos`.
fn mixed(valid: &[SigCheck], case: &SigCheck, pos: usize) -> Vec<SigCheck> {
    let mut batch = valid.to_vec();
    batch.insert(pos, case.clone());
    batch
}

fn assert_paths_agree(batch: &[SigCheck], what: &str) {
    let expected: Vec<_> = batch.iter().map(single).collect();
    let all_ok = expected.iter().all(Result::is_ok);
    assert_eq!(verify_batch(batch).is_ok(), all_ok, "{what}: batch");
    assert_eq!(verify_each(batch), expected, "{what}: each");
    assert_eq!(verify_all(batch, 1), expected, "{what}: all/1");
    assert_eq!(verify_all(batch, 2), expected, "{what}: all/2");
    assert_eq!(verify_all(batch, 3), expected, "{what}: all/3");
}

#[test]
fn each_case_in_a_small_batch_of_valid_signatures() {
    let valid = valid_checks("small-batch", 8);
    assert!(verify_batch(&valid).is_ok());
    for (i, c) in cases().iter().enumerate() {
        let s = single(c);
        for pos in [0, 1, 4, 8] {
            let batch = mixed(&valid, c, pos);
            // The others are all valid, so the batch verdict is the case's.
            assert_eq!(verify_batch(&batch).is_ok(), s.is_ok(), "case {i} at {pos}");
            assert_paths_agree(&batch, &format!("case {i} at {pos} of 9"));
        }
    }
}

/// `verify_all` keeps batches under 64 checks on one thread, so the case must
/// also be tried in batches large enough to be split: 128 checks on 2 threads
/// are two halves of 64, and positions 63 and 64 sit on either side of the cut.
#[test]
fn each_case_in_a_batch_split_across_threads() {
    let valid = valid_checks("split-batch", 127);
    for (i, c) in cases().iter().enumerate() {
        let s = single(c);
        for pos in [0, 63, 64, 127] {
            let batch = mixed(&valid, c, pos);
            assert_eq!(verify_batch(&batch).is_ok(), s.is_ok(), "case {i} at {pos}");
            assert_paths_agree(&batch, &format!("case {i} at {pos} of 128"));
        }
    }
}

#[test]
fn all_cases_together_with_valid_signatures() {
    let cases = cases();
    assert_paths_agree(&cases, "all cases");

    let valid = valid_checks("interleaved", 100);
    let mut batch = Vec::new();
    for (k, v) in valid.iter().enumerate() {
        batch.push(v.clone());
        if k % 7 == 3 {
            if let Some(c) = cases.get(k / 7) {
                batch.push(c.clone());
            }
        }
    }
    assert_paths_agree(&batch, "interleaved");
}

/// Cases 9 and 10 are refused for `S` alone: with `S` reduced modulo `L`
/// they are valid signatures, which both paths accept. This is the
/// malleability the `S < L` check closes.
#[test]
fn s_reduced_mod_l_turns_the_bad_s_cases_valid() {
    let cases = cases();
    for (i, e) in EXPECTED.iter().enumerate() {
        if e.verdict != BAD_S {
            continue;
        }
        let mut c = cases[i].clone();
        let (_, s) = r_and_s(&c.signature);
        c.signature.0[32..].copy_from_slice(Scalar::from_bytes_mod_order(s).as_bytes());
        assert_eq!(single(&c), Ok(()), "case {i} with S mod L");
        assert!(verify_batch(std::slice::from_ref(&c)).is_ok());
        assert_paths_agree(&mixed(&valid_checks("reduced", 70), &c, 35), "reduced");
    }
}

/// ed25519-dalek's `verify_strict` (cofactorless) accepts only case 6 of the
/// three mixed-order cases Watt's cofactored equation accepts: the
/// cofactorless equation depends on the torsion parts, which is why it cannot
/// be the rule of a batch path.
#[test]
fn cofactored_rule_accepts_more_than_verify_strict_alone() {
    let strict_accepts: Vec<usize> = cases()
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            ed25519_dalek::VerifyingKey::from_bytes(&c.key.0).is_ok_and(|vk| {
                let sig = ed25519_dalek::Signature::from_bytes(&c.signature.0);
                vk.verify_strict(&c.message, &sig).is_ok()
            })
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(strict_accepts, [6]);
    assert_eq!(EXPECTED[6].verdict, OK);
    assert_eq!(EXPECTED[7].verdict, OK);
}

/// Derived cases: a valid signature with a torsion component added to R
/// (the hash `k` changes, so the equation fails), with R replaced by a
/// small-order point (refused up front), and with a torsion component added
/// to the key (again `k` changes). Both paths refuse each, for the
/// documented reason.
#[test]
fn derived_torsion_cases_refused_for_the_right_reason() {
    use curve25519_dalek::constants::EIGHT_TORSION;
    let c = valid_check("derived", 0);
    let (r, _) = r_and_s(&c.signature);
    let r_point = CompressedEdwardsY(r).decompress().expect("valid R decodes");
    let a_point = CompressedEdwardsY(c.key.0)
        .decompress()
        .expect("valid key decodes");

    let mut mixed_r = c.clone();
    mixed_r.signature.0[..32].copy_from_slice(&(r_point + EIGHT_TORSION[1]).compress().0);
    let mut small_r = c.clone();
    small_r.signature.0[..32].copy_from_slice(&EIGHT_TORSION[3].compress().0);
    let mut mixed_a = c.clone();
    mixed_a.key = PublicKey((a_point + EIGHT_TORSION[4]).compress().0);

    for (bad, why) in [
        (&mixed_r, SignatureError::Invalid),
        (&small_r, SignatureError::BadR),
        (&mixed_a, SignatureError::Invalid),
    ] {
        assert_eq!(single(bad), Err(why.clone()));
        assert!(verify_batch(std::slice::from_ref(bad)).is_err());
        assert_paths_agree(&mixed(&valid_checks("derived", 64), bad, 32), "derived");
    }
}

/// Every way of changing one byte of a valid check: key, message, signature.
fn one_byte_changes(c: &SigCheck, mask: u8) -> Vec<SigCheck> {
    let mut out = Vec::new();
    for i in 0..32 {
        let mut k = c.clone();
        k.key.0[i] ^= mask;
        out.push(k);
    }
    for i in 0..c.message.len() {
        let mut m = c.clone();
        m.message[i] ^= mask;
        out.push(m);
    }
    for i in 0..64 {
        let mut s = c.clone();
        s.signature.0[i] ^= mask;
        out.push(s);
    }
    out
}

#[test]
fn every_one_byte_change_is_refused_on_both_paths() {
    for n in 0..4 {
        let c = valid_check("flip", n);
        assert_eq!(single(&c), Ok(()));
        for mask in [0x01, 0x80, 0xff] {
            let changed = one_byte_changes(&c, mask);
            for (j, bad) in changed.iter().enumerate() {
                assert!(single(bad).is_err(), "check {n} change {j} mask {mask:#x}");
                assert!(verify_batch(std::slice::from_ref(bad)).is_err());
            }
            // All changes plus the original, across the thread split.
            let mut batch = changed;
            batch.push(c.clone());
            assert!(batch.len() >= 64, "large enough to be split");
            assert_paths_agree(&batch, &format!("changes of check {n}, mask {mask:#x}"));
        }
    }
}

proptest! {
    #[test]
    fn random_valid_signatures_verify_and_changes_are_refused(
        seed in any::<[u8; 32]>(),
        message in any::<[u8; 32]>(),
        at in 0usize..128,
        mask in 1u8..=255,
    ) {
        let kp = Keypair::from_seed(seed);
        let message = Hash(message);
        let c = SigCheck::new(kp.public(), message, kp.sign(&message));
        prop_assert_eq!(single(&c), Ok(()));
        prop_assert!(verify_batch(std::slice::from_ref(&c)).is_ok());

        // One byte of key (0..32), message (32..64) or signature (64..128).
        let mut bad = c.clone();
        match at {
            0..32 => bad.key.0[at] ^= mask,
            32..64 => bad.message[at - 32] ^= mask,
            _ => bad.signature.0[at - 64] ^= mask,
        }
        prop_assert!(single(&bad).is_err());
        prop_assert!(verify_batch(std::slice::from_ref(&bad)).is_err());
        prop_assert!(verify_batch(&[c.clone(), bad.clone()]).is_err());
        let verdicts = verify_all(&[c, bad], 1);
        prop_assert!(verdicts[0].is_ok() && verdicts[1].is_err());
    }
}
