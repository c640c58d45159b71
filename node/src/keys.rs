//! Key files: an ed25519 secret seed on disk, readable by its owner only.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use watt_runtime::crypto::{Keypair, PublicKey};
use watt_runtime::types::AccountId;

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Group or others may read the file.
    #[error("key file {path} has mode {mode:o}: others can read it; run `chmod 600 {path}` (and check who saw it)")]
    TooOpen {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not a Watt key file.
    #[error("key file {path} is malformed: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Refusing to overwrite.
    #[error("key file {path} already exists; refusing to overwrite it")]
    Exists {
        /// The file.
        path: String,
    },
}

/// The JSON form of a key file.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    /// Always "ed25519".
    r#type: String,
    /// The public key, 0x hex.
    public_key: PublicKey,
    /// The account address of the key.
    account: AccountId,
    /// The 32-byte secret seed, 0x hex.
    secret_seed: String,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes a new key file with mode 0600 (refusing to overwrite).
pub fn write_key(path: &Path, key: &Keypair) -> Result<(), KeyError> {
    use std::os::unix::fs::OpenOptionsExt;
    let body = KeyFile {
        r#type: "ed25519".into(),
        public_key: key.public(),
        account: AccountId(key.public()),
        secret_seed: format!("0x{}", hex::encode(key.seed())),
    };
    let json = serde_json::to_string_pretty(&body).map_err(|e| KeyError::Malformed {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::Exists {
                    path: path.display().to_string(),
                }
            } else {
                KeyError::Io {
                    path: path.display().to_string(),
                    source: e,
                }
            }
        })?;
    f.write_all(json.as_bytes()).map_err(io(path))?;
    f.write_all(b"\n").map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    Ok(())
}

/// Reads a key file, refusing one that group or others can read.
pub fn read_key(path: &Path) -> Result<Keypair, KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(io(path))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::TooOpen {
            path: path.display().to_string(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let malformed = |reason: String| KeyError::Malformed {
        path: path.display().to_string(),
        reason,
    };
    let file: KeyFile = serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
    if file.r#type != "ed25519" {
        return Err(malformed(format!("type {:?} is not ed25519", file.r#type)));
    }
    let mut seed = [0u8; 32];
    hex::decode_to_slice(file.secret_seed.trim_start_matches("0x"), &mut seed)
        .map_err(|e| malformed(format!("secret_seed: {e}")))?;
    let key = Keypair::from_seed(seed);
    if key.public() != file.public_key {
        return Err(malformed("public_key does not match secret_seed".into()));
    }
    Ok(key)
}

/// A fresh random keypair, from the operating system's randomness.
pub fn generate() -> Result<Keypair, std::io::Error> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed))?;
    Ok(Keypair::from_seed(seed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_and_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let key = generate().unwrap();
        write_key(&path, &key).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read_key(&path).unwrap().public(), key.public());
        assert!(matches!(
            write_key(&path, &key),
            Err(KeyError::Exists { .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_key(&path).unwrap_err();
        assert!(
            matches!(err, KeyError::TooOpen { mode: 0o644, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"));
    }

    #[test]
    fn tampered_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        write_key(&path, &generate().unwrap()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let other = format!("{}", generate().unwrap().public());
        let start = text.find("\"public_key\": \"").unwrap() + 15;
        let tampered = format!("{}{}{}", &text[..start], other, &text[start + 66..]);
        std::fs::write(&path, tampered).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(read_key(&path), Err(KeyError::Malformed { .. })));
    }
}
