//! The wallet's encrypted keystore: one JSON file per ed25519 key, its seed
//! sealed with XChaCha20-Poly1305 under a key derived from a passphrase by
//! argon2id.
//!
//! The directory is private to its owner (0700) and every key file is 0600;
//! both are checked on use, as the node does for its key files. The AEAD's
//! associated data binds the format version, the key's name and its public
//! key, so editing or swapping those fields makes unlocking fail.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{Error as IoError, ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use watt_runtime::crypto::{Keypair, PublicKey};
use watt_runtime::types::AccountId;
use zeroize::Zeroizing;

/// The key file format version this module writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const AAD_TAG: &[u8] = b"watt/keystore/v1";
const MAX_M_COST_KIB: u32 = 4 * 1024 * 1024;
/// The most argon2 passes a key file may ask for.
const MAX_T_COST: u32 = 64;
/// The most argon2 lanes a key file may ask for.
const MAX_P_COST: u32 = 64;
type Result<T, E = KeystoreError> = std::result::Result<T, E>;

/// Why a keystore operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The passphrase does not open the key (or the file was tampered with).
    #[error("wrong passphrase (or the key file was tampered with)")]
    WrongPassphrase,
    /// No key of that name.
    #[error("no key named {name:?} in the keystore")]
    NotFound {
        /// The name asked for.
        name: String,
    },
    /// A key of that name already exists.
    #[error("a key named {name:?} already exists; refusing to overwrite it")]
    Exists {
        /// The name.
        name: String,
    },
    /// Group or others may access a secret file or the keystore directory.
    #[error("{path} has mode {mode:04o}, which lets group or others access it; run `{fix}`")]
    Permissions {
        /// The file or directory.
        path: String,
        /// Its permission bits.
        mode: u32,
        /// The command that fixes it.
        fix: String,
    },
    /// A key name outside `[A-Za-z0-9._-]{1,64}`.
    #[error("bad key name {name:?}: {reason}")]
    BadName {
        /// The name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The key file is not a valid keystore file.
    #[error("key file {path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// argon2 rejected the KDF parameters given to `generate` or `import`.
    #[error("bad kdf parameters: {reason}")]
    BadKdfParams {
        /// What is wrong.
        reason: String,
    },
    /// An empty passphrase was given.
    #[error("the passphrase is empty; an empty passphrase is not allowed")]
    EmptyPassphrase,
    /// The two prompted passphrases differ.
    #[error("the passphrases do not match")]
    PassphraseMismatch,
    /// The passphrase source could not be read.
    #[error("cannot read the passphrase from {source_name}: {reason}")]
    PassphraseUnavailable {
        /// The source, e.g. `environment variable WATT_PASSPHRASE`.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file or directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The error.
        source: IoError,
    },
}

fn io(path: &Path) -> impl FnOnce(IoError) -> KeystoreError + '_ {
    move |source| KeystoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// argon2id cost parameters; they are stored in each key file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes (parallelism).
    pub p_cost: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 iterations, 1 lane.
    fn default() -> Self {
        KdfParams::new(64 * 1024, 3, 1)
    }
}

impl KdfParams {
    /// Parameters with `m_cost` KiB of memory, `t_cost` passes and
    /// `p_cost` lanes; checked when used.
    pub const fn new(m_cost: u32, t_cost: u32, p_cost: u32) -> Self {
        KdfParams {
            m_cost,
            t_cost,
            p_cost,
        }
    }

    /// The cheapest parameters argon2 accepts (8 KiB, 1 pass): tests only.
    pub const fn insecure_fast_for_tests() -> Self {
        KdfParams::new(8, 1, 1)
    }

    fn derive(&self, passphrase: &str, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, String> {
        // A key file someone hands you must not hang or exhaust the machine.
        if self.m_cost > MAX_M_COST_KIB {
            return Err(format!("m_cost {} KiB exceeds 4 GiB", self.m_cost));
        }
        if self.t_cost > MAX_T_COST || self.p_cost > MAX_P_COST {
            return Err(format!(
                "t_cost {} / p_cost {} exceed {MAX_T_COST} passes / {MAX_P_COST} lanes",
                self.t_cost, self.p_cost
            ));
        }
        let params = Params::new(self.m_cost, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| e.to_string())?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), salt, &mut *key)
            .map_err(|e| e.to_string())?;
        Ok(key)
    }
}

/// The public parts of a stored key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The key's name in the keystore.
    pub name: String,
    /// Its account address (`watt1...`).
    pub account: AccountId,
    /// Its public key.
    pub public_key: PublicKey,
    /// When it was stored, in Unix seconds.
    pub created: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    version: u32,
    name: String,
    account: AccountId,
    public_key: PublicKey,
    kdf: KdfSection,
    cipher: CipherSection,
    created: u64,
}

#[derive(Serialize, Deserialize)]
struct KdfSection {
    algorithm: String,
    #[serde(flatten)]
    params: KdfParams,
    #[serde(with = "hex0x")]
    salt: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CipherSection {
    algorithm: String,
    #[serde(with = "hex0x")]
    nonce: Vec<u8>,
    #[serde(with = "hex0x")]
    ciphertext: Vec<u8>,
}

/// Byte strings as `0x` hex.
mod hex0x {
    pub fn serialize<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(b)))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        hex::decode(s.strip_prefix("0x").unwrap_or(&s)).map_err(serde::de::Error::custom)
    }
}

impl KeyFile {
    fn info(&self) -> KeyInfo {
        KeyInfo {
            name: self.name.clone(),
            account: self.account,
            public_key: self.public_key,
            created: self.created,
        }
    }
}

/// `tag || version || len(name) || name || public_key`.
fn aad(version: u32, name: &str, public_key: &PublicKey) -> Vec<u8> {
    let mut out = AAD_TAG.to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&public_key.0);
    out
}

/// Checks a key name: 1–64 characters of `[A-Za-z0-9._-]`, not starting
/// with `.` or `-`.
pub fn check_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() || name.len() > 64 {
        "must be 1 to 64 characters"
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        "only letters, digits, '.', '_' and '-' are allowed"
    } else if name.starts_with(['.', '-']) {
        "must not start with '.' or '-'"
    } else {
        return Ok(());
    };
    Err(KeystoreError::BadName {
        name: name.into(),
        reason: reason.into(),
    })
}

/// Refuses a secret file or directory that group or others may access.
fn check_private(path: &Path, meta: &fs::Metadata, fix: &str) -> Result<()> {
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeystoreError::Permissions {
            path: path.display().to_string(),
            mode,
            fix: format!("{fix} {}", path.display()),
        });
    }
    Ok(())
}

/// Reads a file after checking, on the open handle, that it is private.
fn read_private(path: &Path) -> Result<Zeroizing<String>> {
    let mut f = fs::File::open(path).map_err(io(path))?;
    check_private(path, &f.metadata().map_err(io(path))?, "chmod 600")?;
    let mut text = Zeroizing::new(String::new());
    f.read_to_string(&mut text).map_err(io(path))?;
    Ok(text)
}

/// A directory of encrypted key files.
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

impl Keystore {
    /// Opens the keystore at `dir`, creating it with mode 0700 if missing;
    /// refuses an existing directory that group or others may access.
    pub fn open(dir: &Path) -> Result<Keystore> {
        match fs::metadata(dir) {
            Ok(meta) if !meta.is_dir() => {
                return Err(io(dir)(IoError::new(
                    ErrorKind::NotADirectory,
                    "not a directory",
                )))
            }
            Ok(meta) => check_private(dir, &meta, "chmod 700")?,
            Err(e) if e.kind() == ErrorKind::NotFound => fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io(dir))?,
            Err(e) => return Err(io(dir)(e)),
        }
        Ok(Keystore {
            dir: dir.to_path_buf(),
        })
    }

    /// The keystore's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds (or would hold) the key `name`.
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Stores a new random key under `name`.
    pub fn generate(&self, name: &str, passphrase: &str, kdf: KdfParams) -> Result<KeyInfo> {
        let mut seed = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut *seed);
        self.store(name, &seed, passphrase, kdf)
    }

    /// Stores the key with this 32-byte seed under `name`.
    pub fn import(
        &self,
        name: &str,
        seed: [u8; 32],
        passphrase: &str,
        kdf: KdfParams,
    ) -> Result<KeyInfo> {
        self.store(name, &Zeroizing::new(seed), passphrase, kdf)
    }

    fn store(&self, name: &str, seed: &[u8; 32], pass: &str, kdf: KdfParams) -> Result<KeyInfo> {
        check_name(name)?;
        if pass.is_empty() {
            return Err(KeystoreError::EmptyPassphrase);
        }
        let path = self.path_of(name);
        if path.exists() {
            return Err(KeystoreError::Exists { name: name.into() });
        }
        let public_key = Keypair::from_seed(*seed).public();
        let mut salt = vec![0u8; 16];
        OsRng.fill_bytes(&mut salt);
        let key = kdf
            .derive(pass, &salt)
            .map_err(|reason| KeystoreError::BadKdfParams { reason })?;
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = aad(FORMAT_VERSION, name, &public_key);
        let payload = Payload {
            msg: seed,
            aad: &aad,
        };
        let ciphertext = XChaCha20Poly1305::new(Key::from_slice(&*key))
            .encrypt(&nonce, payload)
            .expect("a 32-byte message always fits");
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let file = KeyFile {
            version: FORMAT_VERSION,
            name: name.into(),
            account: AccountId(public_key),
            public_key,
            kdf: KdfSection {
                algorithm: "argon2id".into(),
                params: kdf,
                salt,
            },
            cipher: CipherSection {
                algorithm: "xchacha20poly1305".into(),
                nonce: nonce.to_vec(),
                ciphertext,
            },
            created,
        };
        let json =
            serde_json::to_string_pretty(&file).expect("a key file always serializes") + "\n";
        self.write_new(name, &path, json.as_bytes())?;
        Ok(file.info())
    }

    /// Writes a 0600 temp file, fsyncs it and links it into place without
    /// overwriting (renaming where hard links are unsupported).
    fn write_new(&self, name: &str, path: &Path, body: &[u8]) -> Result<()> {
        let tmp = self
            .dir
            .join(format!(".{name}.json.tmp-{:016x}", OsRng.next_u64()));
        let exists = || KeystoreError::Exists { name: name.into() };
        let write = || -> Result<()> {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io(&tmp))?;
            f.write_all(body).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
            match fs::hard_link(&tmp, path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(exists()),
                Err(_) if path.exists() => Err(exists()),
                Err(_) => fs::rename(&tmp, path).map_err(io(path)),
            }
        };
        let result = write();
        let _ = fs::remove_file(&tmp);
        result?;
        fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))
    }

    /// Reads and checks a key file (everything except the secret).
    fn read(&self, name: &str) -> Result<(PathBuf, KeyFile)> {
        check_name(name)?;
        let path = self.path_of(name);
        let text = match read_private(&path) {
            Err(KeystoreError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                return Err(KeystoreError::NotFound { name: name.into() })
            }
            other => other?,
        };
        let corrupt = |reason: String| KeystoreError::Corrupt {
            path: path.display().to_string(),
            reason,
        };
        let f: KeyFile = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
        let problem = if f.version != FORMAT_VERSION {
            format!("unsupported version {}", f.version)
        } else if f.name != name {
            format!("it holds the key named {:?}", f.name)
        } else if f.account != AccountId(f.public_key) {
            "account does not match public_key".into()
        } else if f.kdf.algorithm != "argon2id" || f.cipher.algorithm != "xchacha20poly1305" {
            "algorithms must be argon2id and xchacha20poly1305".into()
        } else if f.kdf.salt.len() != 16 || f.cipher.nonce.len() != 24 {
            "salt must be 16 bytes and nonce 24 bytes".into()
        } else {
            return Ok((path, f));
        };
        Err(corrupt(problem))
    }

    /// The public parts of the key `name`; needs no passphrase.
    pub fn public(&self, name: &str) -> Result<KeyInfo> {
        Ok(self.read(name)?.1.info())
    }

    /// The public parts of every key, sorted by name; needs no passphrase.
    pub fn list(&self) -> Result<Vec<KeyInfo>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let file_name = entry.map_err(io(&self.dir))?.file_name();
            let name = file_name.to_str().and_then(|f| f.strip_suffix(".json"));
            if let Some(name) = name.filter(|n| check_name(n).is_ok()) {
                out.push(self.public(name)?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Decrypts the key `name` with `passphrase`.
    pub fn unlock(&self, name: &str, passphrase: &str) -> Result<Keypair> {
        let (path, f) = self.read(name)?;
        let corrupt = |reason: &str| KeystoreError::Corrupt {
            path: path.display().to_string(),
            reason: reason.into(),
        };
        let key = f
            .kdf
            .params
            .derive(passphrase, &f.kdf.salt)
            .map_err(|e| corrupt(&format!("kdf: {e}")))?;
        let aad = aad(f.version, &f.name, &f.public_key);
        let payload = Payload {
            msg: &f.cipher.ciphertext,
            aad: &aad,
        };
        let plain = XChaCha20Poly1305::new(Key::from_slice(&*key))
            .decrypt(XNonce::from_slice(&f.cipher.nonce), payload)
            .map(Zeroizing::new)
            .map_err(|_| KeystoreError::WrongPassphrase)?;
        let seed: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| corrupt("the sealed seed is not 32 bytes"))?;
        let keypair = Keypair::from_seed(*Zeroizing::new(seed));
        if keypair.public() != f.public_key {
            return Err(corrupt("the sealed seed does not match public_key"));
        }
        Ok(keypair)
    }
}

/// Where a passphrase comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassphraseSource {
    /// The value of this environment variable.
    Env(String),
    /// The first line of this file, which must not be group/world-readable.
    File(PathBuf),
    /// Typed at the terminal (`/dev/tty`) without echo.
    Prompt {
        /// Ask a second time and require both to match.
        confirm: bool,
    },
}

/// Reads a passphrase; an empty one is refused.
pub fn read_passphrase(source: PassphraseSource) -> Result<String> {
    let unavailable =
        |source_name: String, e: &dyn std::fmt::Display| KeystoreError::PassphraseUnavailable {
            source_name,
            reason: e.to_string(),
        };
    let pass = match source {
        PassphraseSource::Env(var) => std::env::var(&var)
            .map_err(|e| unavailable(format!("environment variable {var}"), &e))?,
        PassphraseSource::File(path) => {
            let text = read_private(&path)?;
            let line = text.split('\n').next().unwrap_or("");
            line.strip_suffix('\r').unwrap_or(line).to_string()
        }
        PassphraseSource::Prompt { confirm } => {
            let tty = |e: IoError| unavailable("the terminal".into(), &e);
            let pass = rpassword::prompt_password("passphrase: ").map_err(tty)?;
            if confirm && !pass.is_empty() {
                let again =
                    Zeroizing::new(rpassword::prompt_password("repeat passphrase: ").map_err(tty)?);
                if *again != pass {
                    return Err(KeystoreError::PassphraseMismatch);
                }
            }
            pass
        }
    };
    if pass.is_empty() {
        return Err(KeystoreError::EmptyPassphrase);
    }
    Ok(pass)
}

#[cfg(test)]
#[path = "keystore_tests.rs"]
mod tests;
