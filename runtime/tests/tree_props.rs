//! Properties of the state tree under random key sets, write orders, batch
//! splits, deletes and proof tampering.
//!
//! Roots are compared with a reference model written straight from the
//! definition in `runtime/src/tree/mod.rs` (hash preimages spelled out byte
//! by byte), so the incremental update is checked against the spec, not
//! against itself.

use proptest::prelude::*;
use std::collections::BTreeMap;
use watt_runtime::crypto::{Domain, Hash};
use watt_runtime::encoding::{decode, encode};
use watt_runtime::tree::{update, MemoryTree, Proof};

/// Bit `depth` of `key`, most significant first.
fn bit(key: &Hash, depth: usize) -> bool {
    key.0[depth / 8] & (0x80 >> (depth % 8)) != 0
}

fn node_hash(tag: u8, a: &Hash, b: &Hash) -> Hash {
    let mut preimage = vec![tag];
    preimage.extend_from_slice(&a.0);
    preimage.extend_from_slice(&b.0);
    Domain::StateNode.hash(&preimage)
}

/// The root of the subtree at `depth` holding exactly `items` (sorted): the
/// definition, with no incremental state.
fn reference_subtree(items: &[(Hash, Hash)], depth: usize) -> Hash {
    match items {
        [] => Hash::ZERO,
        [(key, value)] => node_hash(0x00, key, value),
        _ => {
            let split = items.partition_point(|(key, _)| !bit(key, depth));
            let (left, right) = items.split_at(split);
            node_hash(
                0x01,
                &reference_subtree(left, depth + 1),
                &reference_subtree(right, depth + 1),
            )
        }
    }
}

fn reference_root(model: &BTreeMap<Hash, Hash>) -> Hash {
    let items: Vec<(Hash, Hash)> = model.iter().map(|(k, v)| (*k, *v)).collect();
    reference_subtree(&items, 0)
}

/// Keys either uniformly random or drawn from clusters that share long
/// prefixes (up to 254 bits), so deep paths and late splits get exercised.
fn key_strategy() -> impl Strategy<Value = Hash> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(Hash),
        (0u8..4, 0u8..3, any::<u8>()).prop_map(|(top, mid, last)| {
            let mut k = [0u8; 32];
            k[0] = top << 6;
            k[16] = mid;
            k[31] = last;
            Hash(k)
        }),
    ]
}

fn value_strategy() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

fn set_strategy(max: usize) -> impl Strategy<Value = BTreeMap<Hash, Hash>> {
    prop::collection::btree_map(key_strategy(), value_strategy(), 0..max)
}

fn build(model: &BTreeMap<Hash, Hash>) -> MemoryTree {
    let mut tree = MemoryTree::new();
    let changes: Vec<_> = model.iter().map(|(k, v)| (*k, Some(*v))).collect();
    tree.apply(&changes).expect("build");
    tree
}

/// A set, its pairs in a random order, and random batch lengths.
type ShuffledBatches = (BTreeMap<Hash, Hash>, Vec<(Hash, Hash)>, Vec<usize>);

fn shuffled_batches() -> impl Strategy<Value = ShuffledBatches> {
    set_strategy(80).prop_flat_map(|model| {
        let pairs: Vec<(Hash, Hash)> = model.iter().map(|(k, v)| (*k, *v)).collect();
        (
            Just(model),
            Just(pairs).prop_shuffle(),
            prop::collection::vec(1usize..20, 1..20),
        )
    })
}

proptest! {
    #[test]
    fn root_is_independent_of_order_and_batching((model, pairs, lens) in shuffled_batches()) {
        let expected = reference_root(&model);
        prop_assert_eq!(build(&model).root(), expected);
        let mut tree = MemoryTree::new();
        let mut rest = &pairs[..];
        let mut lens = lens.iter().cycle();
        while !rest.is_empty() {
            let len = (*lens.next().unwrap_or(&1)).min(rest.len());
            let (batch, tail) = rest.split_at(len);
            let changes: Vec<_> = batch.iter().map(|(k, v)| (*k, Some(*v))).collect();
            tree.apply(&changes).expect("apply");
            rest = tail;
        }
        prop_assert_eq!(tree.root(), expected);
    }

    #[test]
    fn deletes_match_a_fresh_build(
        model in set_strategy(80),
        mask in prop::collection::vec(any::<bool>(), 80),
        absent in prop::collection::vec(key_strategy(), 0..8),
    ) {
        let mut tree = build(&model);
        let mut remaining = model.clone();
        let mut changes = Vec::new();
        for ((key, _), delete) in model.iter().zip(&mask) {
            if *delete {
                changes.push((*key, None));
                remaining.remove(key);
            }
        }
        for key in absent.iter().filter(|k| !model.contains_key(k)) {
            changes.push((*key, None));
        }
        tree.apply(&changes).expect("delete");
        prop_assert_eq!(tree.root(), reference_root(&remaining));
        prop_assert_eq!(tree.root(), build(&remaining).root());
        let all: Vec<_> = model.keys().map(|k| (*k, None)).collect();
        prop_assert_eq!(tree.apply(&all).expect("delete all"), Hash::ZERO);
    }

    #[test]
    fn mixed_batches_track_a_model(
        pool in prop::collection::vec(key_strategy(), 1..24),
        batches in prop::collection::vec(
            prop::collection::vec((any::<prop::sample::Index>(), prop::option::of(value_strategy())), 0..16),
            1..8,
        ),
    ) {
        // A small pool of keys makes overwrites, deletes, re-inserts and
        // repeated keys within one batch common.
        let mut tree = MemoryTree::new();
        let mut model = BTreeMap::new();
        for batch in batches {
            let changes: Vec<_> = batch.iter().map(|(i, v)| (*i.get(&pool), *v)).collect();
            for (key, value) in &changes {
                match value {
                    Some(v) => model.insert(*key, *v),
                    None => model.remove(key),
                };
            }
            let before = tree.root();
            let up = update(&tree, before, &changes).expect("update");
            for (hash, node) in &up.new_nodes {
                prop_assert_eq!(node.hash(), *hash);
            }
            tree.apply(&changes).expect("apply");
            prop_assert_eq!(tree.root(), up.root);
            prop_assert_eq!(tree.root(), reference_root(&model));
            for key in &pool {
                prop_assert_eq!(tree.get(key).expect("get"), model.get(key).copied());
            }
        }
    }

    #[test]
    fn proofs_verify_for_present_and_absent_keys(
        model in set_strategy(64),
        queries in prop::collection::vec(key_strategy(), 1..16),
    ) {
        let tree = build(&model);
        let root = tree.root();
        for key in model.keys().chain(queries.iter()) {
            let claim = model.get(key);
            let proof = tree.prove(key).expect("prove");
            prop_assert_eq!(proof.verify(&root, key, claim), Ok(()));
        }
    }

    #[test]
    fn tampered_proofs_keys_and_values_fail(
        model in set_strategy(48),
        query in key_strategy(),
        pick_present in any::<bool>(),
        byte in any::<prop::sample::Index>(),
        flip in 1u8..=255,
        key_bit in 0usize..256,
        other_value in value_strategy(),
    ) {
        let tree = build(&model);
        let root = tree.root();
        let key = match model.keys().next() {
            Some(first) if pick_present => *first,
            _ => query,
        };
        let claim = model.get(&key).copied();
        let proof = tree.prove(&key).expect("prove");
        prop_assert_eq!(proof.verify(&root, &key, claim.as_ref()), Ok(()));

        // Any byte of the proof: a proof is unique for its root and key, so
        // whatever still decodes must be refused.
        let mut bytes = encode(&proof);
        let at = byte.index(bytes.len());
        bytes[at] ^= flip;
        if let Ok(tampered) = decode::<Proof>(&bytes) {
            prop_assert!(tampered.verify(&root, &key, claim.as_ref()).is_err());
        }

        // Any bit of the key: the same proof may honestly show another key
        // absent (its path ends in the same empty subtree), so demand
        // soundness: whatever verifies is true of the tree.
        let mut other_key = key;
        other_key.0[key_bit / 8] ^= 0x80 >> (key_bit % 8);
        if proof.verify(&root, &other_key, claim.as_ref()).is_ok() {
            prop_assert_eq!(model.get(&other_key).copied(), claim);
        }
        if claim.is_some() {
            prop_assert!(proof.verify(&root, &other_key, claim.as_ref()).is_err());
        }

        // Any byte of the value, or a value claimed for an absent key.
        let wrong = match claim {
            Some(mut v) => {
                v.0[at % 32] ^= flip;
                v
            }
            None => other_value,
        };
        prop_assert!(proof.verify(&root, &key, Some(&wrong)).is_err());
        if claim.is_some() {
            prop_assert!(proof.verify(&root, &key, None).is_err());
        }
    }
}
