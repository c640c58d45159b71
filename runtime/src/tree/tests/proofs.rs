//! Proof generation and verification, including tampering.

use super::super::*;
use super::{key, low_key, tree_of, value};
use crate::encoding::{decode, encode};

#[test]
fn proofs_verify_and_refuse_tampering() {
    let tree = tree_of(64);
    let root = tree.root();
    let present = tree.prove(&key(5)).expect("prove");
    assert_eq!(present.verify(&root, &key(5), Some(&value(5))), Ok(()));
    let absent_key = key(1000);
    let absent = tree.prove(&absent_key).expect("prove");
    assert_eq!(absent.verify(&root, &absent_key, None), Ok(()));

    // Claims the tree contradicts.
    assert!(matches!(
        present.verify(&root, &key(5), Some(&value(6))),
        Err(ProofError::ValueMismatch { .. })
    ));
    assert!(matches!(
        present.verify(&root, &key(5), None),
        Err(ProofError::Present { .. })
    ));
    assert!(matches!(
        absent.verify(&root, &absent_key, Some(&value(1))),
        Err(ProofError::Absent { .. })
    ));
    // A leaf of another key offered as membership of this one.
    let other = tree.prove(&key(6)).expect("prove");
    assert!(other.verify(&root, &key(5), Some(&value(6))).is_err());
    assert!(other.verify(&root, &key(5), Some(&value(5))).is_err());

    // Wrong sibling, wrong leaf, extra and missing siblings.
    let mut p = present.clone();
    p.siblings[0].0[0] ^= 1;
    assert!(matches!(
        p.verify(&root, &key(5), Some(&value(5))),
        Err(ProofError::RootMismatch { .. })
    ));
    let mut p = present.clone();
    p.leaf = Some((key(5), value(6)));
    assert!(p.verify(&root, &key(5), Some(&value(6))).is_err());
    let mut p = present.clone();
    p.siblings.push(key(9));
    assert!(p.verify(&root, &key(5), Some(&value(5))).is_err());
    let mut p = present.clone();
    p.siblings.pop();
    assert!(p.verify(&root, &key(5), Some(&value(5))).is_err());
    let mut p = present.clone();
    p.siblings.insert(0, Hash::ZERO);
    assert!(p.verify(&root, &key(5), Some(&value(5))).is_err());
    let p = Proof {
        leaf: None,
        siblings: vec![key(1); 257],
    };
    assert_eq!(
        p.verify(&root, &key(5), None),
        Err(ProofError::TooManySiblings { got: 257, max: 256 })
    );
    // A root of another tree.
    assert!(present
        .verify(&tree_of(65).root(), &key(5), Some(&value(5)))
        .is_err());
}

#[test]
fn proofs_of_keys_sharing_all_but_the_last_bit() {
    let (a, b, c) = (low_key(0b10), low_key(0b11), low_key(0b00));
    let mut tree = MemoryTree::new();
    tree.apply(&[(a, Some(value(0))), (b, Some(value(1)))])
        .expect("apply");
    let root = tree.root();
    for (k, v) in [(a, value(0)), (b, value(1))] {
        let proof = tree.prove(&k).expect("prove");
        assert_eq!(proof.siblings.len(), 256);
        assert_eq!(proof.verify(&root, &k, Some(&v)), Ok(()));
    }
    // c shares 254 bits with a and b: its path ends in an empty subtree at
    // depth 255, beside the internal node over a and b.
    let proof = tree.prove(&c).expect("prove");
    assert_eq!(proof.leaf, None);
    assert_eq!(proof.siblings.len(), 255);
    assert_eq!(proof.verify(&root, &c, None), Ok(()));
    // The proof for a, re-aimed at b by flipping the last bit, must fail.
    let proof_a = tree.prove(&a).expect("prove");
    assert!(proof_a.verify(&root, &b, Some(&value(0))).is_err());
    assert!(proof_a.verify(&root, &b, None).is_err());
}

#[test]
fn proof_round_trips_through_borsh_and_serde() {
    let tree = tree_of(10);
    let proof = tree.prove(&key(3)).expect("prove");
    assert_eq!(decode::<Proof>(&encode(&proof)), Ok(proof.clone()));
    let json = serde_json::to_string(&proof).expect("json");
    assert_eq!(serde_json::from_str::<Proof>(&json).expect("json"), proof);
}
