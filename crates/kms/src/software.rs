//! The default key service: one 256-bit master key in a file of the sandbox's data
//! directory (owner-only), from which HKDF derives a key-encryption key and one MAC key
//! per purpose. No key ever leaves the process except wrapped. Given an audit log
//! ([`SoftwareKeys::audited`]), every operation writes a line to it (`via: local`).

use std::fs;
use std::io::Write;
use std::path::Path;

use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::audit::{AuditLog, Via, data_key_purpose};
use crate::primitives::{aes_256_gcm_open, aes_256_gcm_seal, hmac_sha256};
use crate::{DataKey, EncryptionContext, KeyError, KeyFuture, KeyService, MacPurpose, WrappedKey};

/// HKDF salt: versions the derivation, so a future scheme cannot collide with this one.
const SALT: &[u8] = b"threeds-kms-software-v1";

/// Software keys under one master key.
pub struct SoftwareKeys {
    key_id: String,
    kek: Zeroizing<[u8; 32]>,
    master: Zeroizing<[u8; 32]>,
    audit: Option<AuditLog>,
}

impl std::fmt::Debug for SoftwareKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SoftwareKeys({}, <redacted>)", self.key_id)
    }
}

impl SoftwareKeys {
    /// Keys under the master key in `path`, creating it (owner-only) if absent.
    pub fn open_or_create(path: &Path) -> Result<SoftwareKeys, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        if path.exists() {
            let bytes = Zeroizing::new(fs::read(path).map_err(io)?);
            let master: [u8; 32] =
                bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| KeyError::BadKeyFile {
                        path: path.to_owned(),
                        why: format!("expected a 32-byte master key, found {} bytes", bytes.len()),
                    })?;
            return Ok(SoftwareKeys::from_master(master));
        }
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let mut master = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(master.as_mut());
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io)?;
        file.write_all(master.as_ref()).map_err(io)?;
        Ok(SoftwareKeys::from_master(*master))
    }

    /// Keys under the given master key (tests, deterministic scenarios).
    pub fn from_master(master: [u8; 32]) -> SoftwareKeys {
        let master = Zeroizing::new(master);
        let kek = derive(&master, b"data-key-wrapping");
        let fingerprint = Sha256::digest(*kek);
        let key_id = format!(
            "software:{}",
            fingerprint[..6]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        SoftwareKeys {
            key_id,
            kek,
            master,
            audit: None,
        }
    }

    /// These keys, writing a line per operation to `log`.
    #[must_use]
    pub fn audited(self, log: AuditLog) -> SoftwareKeys {
        SoftwareKeys {
            audit: Some(log),
            ..self
        }
    }

    /// Records an operation on the data key of `context`, or under `purpose`.
    fn audit<T>(&self, operation: &str, purpose: &str, result: &Result<T, KeyError>) {
        if let Some(audit) = &self.audit {
            let failed = result.as_ref().err().map(ToString::to_string);
            audit.record(
                operation,
                purpose,
                &self.key_id,
                Via::Local,
                failed.as_deref(),
            );
        }
    }

    /// The id of the key-encryption key (stored with every wrapped data key).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    fn wrap_aad(context: &EncryptionContext) -> Vec<u8> {
        let mut aad = b"threeds data key\0".to_vec();
        aad.extend_from_slice(&context.to_aad());
        aad
    }
}

fn derive(master: &[u8; 32], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA-256's 8160-byte limit.
    let _ = Hkdf::<Sha256>::new(Some(SALT), master).expand(label, out.as_mut());
    out
}

impl SoftwareKeys {
    fn new_data_key(&self, context: &EncryptionContext) -> DataKey {
        let mut plaintext = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(plaintext.as_mut());
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let mut blob = nonce.to_vec();
        blob.extend(aes_256_gcm_seal(
            &self.kek,
            &nonce,
            &SoftwareKeys::wrap_aad(context),
            plaintext.as_ref(),
        ));
        DataKey {
            plaintext,
            wrapped: WrappedKey {
                key_id: self.key_id.clone(),
                blob,
            },
        }
    }

    fn unwrap_key(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<DataKey, KeyError> {
        if wrapped.key_id != self.key_id {
            return Err(KeyError::UnknownKey(wrapped.key_id.clone()));
        }
        if wrapped.blob.len() != 12 + 32 + 16 {
            return Err(KeyError::Malformed("wrapped data key has the wrong length"));
        }
        let (nonce, ciphertext) = wrapped.blob.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| KeyError::Decrypt)?;
        let opened = Zeroizing::new(aes_256_gcm_open(
            &self.kek,
            &nonce,
            &SoftwareKeys::wrap_aad(context),
            ciphertext,
        )?);
        let mut plaintext = Zeroizing::new([0u8; 32]);
        plaintext.copy_from_slice(&opened);
        Ok(DataKey {
            plaintext,
            wrapped: wrapped.clone(),
        })
    }
}

impl KeyService for SoftwareKeys {
    fn generate_data_key<'a>(&'a self, context: &'a EncryptionContext) -> KeyFuture<'a, DataKey> {
        Box::pin(async move {
            let key = Ok(self.new_data_key(context));
            self.audit("GenerateDataKey", &data_key_purpose(context), &key);
            key
        })
    }

    fn decrypt_data_key<'a>(
        &'a self,
        wrapped: &'a WrappedKey,
        context: &'a EncryptionContext,
    ) -> KeyFuture<'a, DataKey> {
        Box::pin(async move {
            let key = self.unwrap_key(wrapped, context);
            self.audit("Decrypt", &data_key_purpose(context), &key);
            key
        })
    }

    fn mac<'a>(&'a self, purpose: &'a MacPurpose, message: &'a [u8]) -> KeyFuture<'a, [u8; 32]> {
        Box::pin(async move {
            let label = purpose.label();
            let key = derive(&self.master, format!("mac:{label}").as_bytes());
            let mac = Ok(hmac_sha256(key.as_ref(), message));
            self.audit("GenerateMac", &label, &mac);
            mac
        })
    }
}
