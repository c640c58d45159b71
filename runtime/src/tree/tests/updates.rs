//! Tree shape, hashing, encoding and batch updates.

use super::super::*;
use super::{key, low_key, tree_of, value};
use crate::crypto::Domain;
use crate::encoding::{decode, encode};

#[test]
fn empty_tree_root_is_zero() {
    let tree = MemoryTree::new();
    assert_eq!(tree.root(), Hash::ZERO);
    assert_eq!(tree.get(&key(1)), Ok(None));
    let up = update(&tree, Hash::ZERO, &[]).expect("update");
    assert_eq!(up.root, Hash::ZERO);
    assert!(up.new_nodes.is_empty());
}

#[test]
fn single_key_root_is_its_leaf_hash() {
    let mut tree = MemoryTree::new();
    let root = tree.apply(&[(key(1), Some(value(1)))]).expect("apply");
    let mut preimage = vec![0x00];
    preimage.extend_from_slice(&key(1).0);
    preimage.extend_from_slice(&value(1).0);
    assert_eq!(root, Domain::StateNode.hash(&preimage));
    assert_eq!(root, Node::leaf_hash(&key(1), &value(1)));
}

#[test]
fn two_keys_hash_as_documented() {
    // Keys 0b000..0 and 0b100..0 split at bit 0: the root has both leaves.
    let (a, mut b) = (Hash::ZERO, Hash::ZERO);
    b.0[0] = 0x80;
    let mut tree = MemoryTree::new();
    tree.apply(&[(b, Some(value(2))), (a, Some(value(1)))])
        .expect("apply");
    let (la, lb) = (
        Node::leaf_hash(&a, &value(1)),
        Node::leaf_hash(&b, &value(2)),
    );
    let mut preimage = vec![0x01];
    preimage.extend_from_slice(&la.0);
    preimage.extend_from_slice(&lb.0);
    assert_eq!(tree.root(), Domain::StateNode.hash(&preimage));

    // Keys sharing their first two bits (0b01 then 0 / 1) hang two levels
    // down: root = I(I(ZERO, I(la, lb)), ZERO).
    let (mut c, mut d) = (Hash::ZERO, Hash::ZERO);
    c.0[0] = 0b0100_0000;
    d.0[0] = 0b0110_0000;
    let mut tree = MemoryTree::new();
    tree.apply(&[(c, Some(value(3))), (d, Some(value(4)))])
        .expect("apply");
    let pair = Node::internal_hash(
        &Node::leaf_hash(&c, &value(3)),
        &Node::leaf_hash(&d, &value(4)),
    );
    let expected = Node::internal_hash(&Node::internal_hash(&Hash::ZERO, &pair), &Hash::ZERO);
    assert_eq!(tree.root(), expected);
}

#[test]
fn node_encoding_is_the_hash_preimage() {
    let leaf = Node::Leaf {
        key: key(1),
        value: value(1),
    };
    let internal = Node::Internal {
        left: key(2),
        right: Hash::ZERO,
    };
    for node in [leaf, internal] {
        let bytes = encode(&node);
        assert_eq!(bytes.len(), 65);
        assert_eq!(decode::<Node>(&bytes), Ok(node));
        assert_eq!(node.hash(), Domain::StateNode.hash(&bytes));
    }
    assert_eq!(encode(&leaf)[0], 0);
    assert_eq!(encode(&internal)[0], 1);
    assert!(decode::<Node>(&[2; 65]).is_err());
}

#[test]
fn golden_root_is_pinned() {
    // Pins the hashing layout: a change here is a consensus change.
    let tree = tree_of(16);
    assert_eq!(
        tree.root().to_string(),
        "0x0baf197f76b87a1d4e40c3b9f9135854c0a3f616914f45cfbb5f5357e82dd47e"
    );
}

#[test]
fn insert_update_delete() {
    let mut tree = tree_of(8);
    let v8 = tree.root();
    tree.apply(&[(key(3), Some(value(100)))]).expect("update");
    assert_eq!(tree.get(&key(3)), Ok(Some(value(100))));
    assert_ne!(tree.root(), v8);
    tree.apply(&[(key(3), Some(value(3)))]).expect("restore");
    assert_eq!(tree.root(), v8, "restoring a value restores the root");
    tree.apply(&[(key(8), Some(value(8)))]).expect("insert");
    assert_eq!(tree.root(), tree_of(9).root());
    tree.apply(&[(key(8), None)]).expect("delete");
    assert_eq!(tree.root(), v8);
    assert_eq!(tree.get(&key(8)), Ok(None));
    for i in 0..8 {
        assert_eq!(tree.get(&key(i)), Ok(Some(value(i))));
    }
}

#[test]
fn deleting_everything_returns_zero() {
    let mut tree = tree_of(50);
    let all: Vec<_> = (0..50).map(|i| (key(i), None)).collect();
    assert_eq!(tree.apply(&all), Ok(Hash::ZERO));

    // One by one too, re-collapsing at every step.
    let mut tree = tree_of(50);
    for i in (0..50).rev() {
        tree.apply(&[(key(i), None)]).expect("delete");
        assert_eq!(tree.root(), tree_of(i).root(), "after deleting key {i}");
    }
    assert_eq!(tree.root(), Hash::ZERO);
}

#[test]
fn deleting_a_deep_sibling_pulls_the_leaf_up_to_the_root() {
    // Two keys differing only in the last bit sit 256 levels down.
    let (a, b) = (low_key(0), low_key(1));
    let mut tree = MemoryTree::new();
    tree.apply(&[(a, Some(value(0))), (b, Some(value(1)))])
        .expect("apply");
    assert_eq!(tree.prove(&a).expect("prove").siblings.len(), 256);
    tree.apply(&[(b, None)]).expect("delete");
    assert_eq!(tree.root(), Node::leaf_hash(&a, &value(0)));
}

#[test]
fn last_change_of_a_key_wins() {
    let mut tree = MemoryTree::new();
    tree.apply(&[
        (key(1), Some(value(1))),
        (key(2), Some(value(2))),
        (key(1), None),
        (key(2), Some(value(9))),
        (key(1), Some(value(7))),
    ])
    .expect("apply");
    assert_eq!(tree.get(&key(1)), Ok(Some(value(7))));
    assert_eq!(tree.get(&key(2)), Ok(Some(value(9))));
}

#[test]
fn no_op_changes_write_nothing() {
    let tree = tree_of(100);
    let absent = update(&tree, tree.root(), &[(key(1000), None)]).expect("update");
    assert_eq!(absent.root, tree.root());
    assert!(absent.new_nodes.is_empty());
    let same = update(&tree, tree.root(), &[(key(5), Some(value(5)))]).expect("update");
    assert_eq!(same.root, tree.root());
    assert!(same.new_nodes.is_empty());
}

#[test]
fn new_nodes_are_exactly_the_missing_reachable_ones() {
    let mut tree = tree_of(200);
    let changes: Vec<_> = (150..260)
        .map(|i| (key(i), (i % 3 != 0).then(|| value(i + 1))))
        .collect();
    let up = update(&tree, tree.root(), &changes).expect("update");
    let mut seen = std::collections::HashSet::new();
    for (hash, node) in &up.new_nodes {
        assert_eq!(node.hash(), *hash);
        assert!(seen.insert(*hash), "node listed twice");
        assert_eq!(tree.node(hash), Ok(None), "node already stored");
    }
    tree.apply(&changes).expect("apply");
    // Every key still resolves, so every reachable node is stored.
    for i in 0..260 {
        tree.get(&key(i)).expect("resolves");
    }
}

#[test]
fn old_roots_still_resolve() {
    let mut tree = tree_of(20);
    let old = tree.root();
    tree.apply(&[(key(3), None), (key(4), Some(value(40)))])
        .expect("apply");
    assert_eq!(get(&tree, old, &key(3)), Ok(Some(value(3))));
    assert_eq!(get(&tree, old, &key(4)), Ok(Some(value(4))));
    let proof = prove(&tree, old, &key(3)).expect("prove");
    assert_eq!(proof.verify(&old, &key(3), Some(&value(3))), Ok(()));
}

#[test]
fn updating_one_key_of_ten_thousand_writes_a_path() {
    let tree = tree_of(10_000);
    for change in [
        (key(77), Some(value(1))),
        (key(10_001), Some(value(1))),
        (key(78), None),
    ] {
        let up = update(&tree, tree.root(), &[change]).expect("update");
        // A path is ~log2(10_000) = 14 nodes deep; 64 leaves ample margin.
        assert!(up.new_nodes.len() < 64, "{} new nodes", up.new_nodes.len());
    }
}

#[test]
fn missing_and_corrupt_nodes_are_reported() {
    let tree = tree_of(10);
    let mut nodes = std::collections::HashMap::new();
    assert_eq!(
        get(&nodes, tree.root(), &key(1)),
        Err(TreeError::MissingNode { hash: tree.root() })
    );
    let wrong = Node::Leaf {
        key: key(1),
        value: value(1),
    };
    nodes.insert(tree.root(), wrong);
    assert_eq!(
        update(&nodes, tree.root(), &[(key(1), None)]),
        Err(TreeError::HashMismatch {
            expected: tree.root(),
            got: wrong.hash()
        })
    );
    let empty = Node::Internal {
        left: Hash::ZERO,
        right: Hash::ZERO,
    };
    nodes.insert(empty.hash(), empty);
    assert!(matches!(
        prove(&nodes, empty.hash(), &key(1)),
        Err(TreeError::Corrupt { .. })
    ));
}
