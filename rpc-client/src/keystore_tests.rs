//! Unit tests of the keystore.

use super::*;
use KeystoreError as E;

/// Asserts that `$e` fails with an error matching `$p`.
macro_rules! fails {
    ($e:expr, $p:pat) => {{
        let r = $e;
        assert!(matches!(r, Err($p)), "{:?}", r.err());
    }};
}

const FAST: KdfParams = KdfParams::insecure_fast_for_tests();

fn store() -> (tempfile::TempDir, Keystore) {
    let tmp = tempfile::tempdir().unwrap();
    let ks = Keystore::open(&tmp.path().join("keys")).unwrap();
    (tmp, ks)
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

fn json(ks: &Keystore, name: &str) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(ks.path_of(name)).unwrap()).unwrap()
}

/// Rewrites a key file's JSON in place.
fn edit(ks: &Keystore, name: &str, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v = json(ks, name);
    f(&mut v);
    fs::write(ks.path_of(name), v.to_string()).unwrap();
}

#[test]
fn generate_then_unlock_round_trips_with_private_modes() {
    let (_t, ks) = store();
    let info = ks.generate("alice", "pw", FAST).unwrap();
    assert_eq!(info.account, AccountId(info.public_key));
    assert!(info.account.to_string().starts_with("watt1"));
    assert_eq!((mode(ks.dir()), mode(&ks.path_of("alice"))), (0o700, 0o600));
    assert_eq!(ks.unlock("alice", "pw").unwrap().public(), info.public_key);
    assert_eq!(fs::read_dir(ks.dir()).unwrap().count(), 1, "temp file left");
    let v = json(&ks, "alice");
    assert_eq!((&v["version"], &v["kdf"]["m_cost"]), (&1.into(), &8.into()));
    assert_eq!(v["kdf"]["algorithm"], "argon2id");
    assert!(KdfParams::default().derive("pw", &[0; 16]).is_ok());
    assert_eq!(v["cipher"]["nonce"].as_str().unwrap().len(), 2 + 48);
}

#[test]
fn import_then_unlock_gives_the_same_key() {
    let (_t, ks) = store();
    let info = ks.import("bob", [7; 32], "secret", FAST).unwrap();
    assert_eq!(info.public_key, Keypair::from_seed([7; 32]).public());
    assert_eq!(ks.unlock("bob", "secret").unwrap().seed(), [7; 32]);
    let text = fs::read_to_string(ks.path_of("bob")).unwrap();
    assert!(!text.contains(&hex::encode([7u8; 32])));
}

#[test]
fn wrong_passphrase_and_missing_key_are_refused() {
    let (_t, ks) = store();
    ks.generate("a", "right", FAST).unwrap();
    fails!(ks.unlock("a", "wrong"), E::WrongPassphrase);
    fails!(ks.unlock("nobody", "right"), E::NotFound { .. });
    fails!(ks.public("nobody"), E::NotFound { .. });
}

#[test]
fn tampered_ciphertext_is_refused() {
    let (_t, ks) = store();
    ks.generate("a", "pw", FAST).unwrap();
    edit(&ks, "a", |v| {
        let ct = v["cipher"]["ciphertext"].as_str().unwrap();
        let last = if ct.ends_with('0') { "1" } else { "0" };
        v["cipher"]["ciphertext"] = format!("{}{last}", &ct[..ct.len() - 1]).into();
    });
    fails!(ks.unlock("a", "pw"), E::WrongPassphrase);
}

#[test]
fn tampered_public_key_is_refused() {
    let (_t, ks) = store();
    ks.generate("a", "pw", FAST).unwrap();
    let other = Keypair::from_seed([9; 32]).public();
    edit(&ks, "a", |v| {
        v["public_key"] = other.to_string().into();
        v["account"] = AccountId(other).to_string().into();
    });
    assert_eq!(ks.public("a").unwrap().public_key, other);
    fails!(ks.unlock("a", "pw"), E::WrongPassphrase);
    edit(&ks, "a", |v| {
        v["public_key"] = PublicKey([1; 32]).to_string().into()
    });
    fails!(ks.public("a"), E::Corrupt { .. });
}

#[test]
fn group_readable_key_file_is_refused() {
    let (_t, ks) = store();
    ks.generate("a", "pw", FAST).unwrap();
    chmod(&ks.path_of("a"), 0o644);
    let err = ks.unlock("a", "pw").unwrap_err();
    assert!(matches!(err, E::Permissions { mode: 0o644, .. }), "{err}");
    assert!(err
        .to_string()
        .contains(&format!("chmod 600 {}", ks.path_of("a").display())));
    fails!(ks.list(), E::Permissions { .. });
}

#[test]
fn group_readable_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    chmod(tmp.path(), 0o755);
    let err = Keystore::open(tmp.path()).unwrap_err();
    assert!(matches!(err, E::Permissions { mode: 0o755, .. }), "{err}");
    assert!(err
        .to_string()
        .contains(&format!("chmod 700 {}", tmp.path().display())));
    chmod(tmp.path(), 0o700);
    Keystore::open(tmp.path()).unwrap();
}

#[test]
fn duplicate_name_is_refused() {
    let (_t, ks) = store();
    let first = ks.generate("a", "pw", FAST).unwrap();
    fails!(ks.import("a", [1; 32], "pw", FAST), E::Exists { .. });
    assert_eq!(ks.unlock("a", "pw").unwrap().public(), first.public_key);
}

#[test]
fn bad_names_params_and_empty_passphrase_are_refused() {
    let (_t, ks) = store();
    let long = "x".repeat(65);
    for name in ["", "a/b", "../x", ".hidden", "-flag", "é", "a b", &long] {
        fails!(ks.generate(name, "pw", FAST), E::BadName { .. });
    }
    ks.generate(&long[1..], "pw", FAST).unwrap();
    ks.generate("A.b_c-9", "pw", FAST).unwrap();
    fails!(ks.generate("c", "", FAST), E::EmptyPassphrase);
    fails!(
        ks.generate("c", "pw", KdfParams::new(1, 1, 1)),
        E::BadKdfParams { .. }
    );
}

#[test]
fn list_shows_public_parts_sorted_without_passphrase() {
    let (_t, ks) = store();
    let b = ks.generate("bob", "pw1", FAST).unwrap();
    let a = ks.import("alice", [3; 32], "pw2", FAST).unwrap();
    fs::write(ks.dir().join("notes.txt"), "ignored").unwrap();
    assert_eq!(ks.list().unwrap(), vec![a.clone(), b]);
    assert_eq!(ks.public("alice").unwrap(), a);
    let json = serde_json::to_value(&a).unwrap();
    assert!(json["account"].as_str().unwrap().starts_with("watt1"));
    assert!(json["public_key"].as_str().unwrap().starts_with("0x"));
}

#[test]
fn passphrase_from_file_and_env() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("pass");
    fs::write(&path, "hunter2\r\nsecond line\n").unwrap();
    chmod(&path, 0o600);
    let file = || read_passphrase(PassphraseSource::File(path.clone()));
    assert_eq!(file().unwrap(), "hunter2");
    chmod(&path, 0o640);
    fails!(file(), E::Permissions { .. });
    fs::write(&path, "\nx\n").unwrap();
    chmod(&path, 0o600);
    fails!(file(), E::EmptyPassphrase);
    let unset = PassphraseSource::Env("WATT_KEYSTORE_TEST_UNSET_VARIABLE".into());
    fails!(read_passphrase(unset), E::PassphraseUnavailable { .. });
}
