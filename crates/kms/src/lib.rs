//! Keys by purpose, behind one [`KeyService`] trait, and the envelope encryption of card
//! data that every store uses.
//!
//! A component never holds a long-lived key itself: it asks the key service for a data
//! key (wrapped under a key-encryption key the service keeps), for a MAC under a named
//! purpose (PAN lookup hashes, authentication values), and so on. The default
//! implementation, [`SoftwareKeys`], keeps one master key in the sandbox's data
//! directory; [`AwsKms`] (`aws`) keeps the keys in AWS KMS or a KMS-compatible server,
//! with a bounded data-key cache. Either writes one [`audit`] line per key operation
//! when given an audit log.
//!
//! [`envelope`] seals records with AES-256-GCM under a data key, binding the record
//! through the encryption context, and zeroises plaintext keys after use. The crate's
//! I/O is the software backend's key file, the KMS backend's calls and the audit log; it
//! never prints key material (`Debug` of keys is redacted).

pub mod audit;
pub mod aws;
pub mod envelope;
mod primitives;
mod software;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use zeroize::Zeroizing;

pub use audit::AuditLog;
pub use aws::{AwsKms, AwsKmsConfig, CachePolicy, KmsCalls};
pub use primitives::{aes_256_gcm_open, aes_256_gcm_seal, hmac_sha256};
pub use software::SoftwareKeys;

/// What a key operation returns.
pub type KeyFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, KeyError>> + Send + 'a>>;

/// The key operations the sandbox needs, whatever holds the keys.
pub trait KeyService: Send + Sync + fmt::Debug {
    /// A fresh 256-bit data key, in plaintext and wrapped under the service's
    /// key-encryption key for `context`.
    fn generate_data_key<'a>(&'a self, context: &'a EncryptionContext) -> KeyFuture<'a, DataKey>;

    /// Unwraps a data key; fails unless `context` is the one it was generated for.
    fn decrypt_data_key<'a>(
        &'a self,
        wrapped: &'a WrappedKey,
        context: &'a EncryptionContext,
    ) -> KeyFuture<'a, DataKey>;

    /// HMAC-SHA-256 of `message` under the key for `purpose`.
    fn mac<'a>(&'a self, purpose: &'a MacPurpose, message: &'a [u8]) -> KeyFuture<'a, [u8; 32]>;
}

/// A MAC key's purpose: each purpose has its own key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MacPurpose {
    /// Keyed hash of a PAN, for looking records up without storing the PAN.
    PanLookup,
    /// An issuer's key for `authenticationValue`.
    AuthenticationValue { issuer: String },
    /// Keyed digests of challenge codes, so the ACS checks an OTP without keeping it.
    ChallengeAnswer,
}

impl MacPurpose {
    /// A stable label, used to derive or name the key.
    pub fn label(&self) -> String {
        match self {
            MacPurpose::PanLookup => "pan-lookup".into(),
            MacPurpose::AuthenticationValue { issuer } => format!("authentication-value:{issuer}"),
            MacPurpose::ChallengeAnswer => "challenge-answer".into(),
        }
    }
}

/// The pair of an [`EncryptionContext`] that names its record.
const RECORD: &str = "id";

/// Name-value pairs that bind a data key, and the data sealed with it, to one record
/// (e.g. `table=acs_cards`, `record=<id>`). Opening under any other context fails.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EncryptionContext(BTreeMap<String, String>);

impl EncryptionContext {
    pub fn new() -> EncryptionContext {
        EncryptionContext::default()
    }

    /// Adds a pair (builder style).
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> EncryptionContext {
        self.0.insert(name.into(), value.into());
        self
    }

    /// Names the one record this context binds (the `id` pair). A key service may share
    /// a data key across records whose contexts differ only there ([`Self::shared`]);
    /// the envelope's associated data still binds the record.
    pub fn record(self, id: impl Into<String>) -> EncryptionContext {
        self.with(RECORD, id)
    }

    /// The context without its record id: what records sealed under one data key share.
    pub fn shared(&self) -> EncryptionContext {
        let mut shared = self.clone();
        shared.0.remove(RECORD);
        shared
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The canonical byte form (sorted, length-prefixed), used as AEAD associated data.
    pub fn to_aad(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in &self.0 {
            for part in [k, v] {
                out.extend_from_slice(&(part.len() as u32).to_be_bytes());
                out.extend_from_slice(part.as_bytes());
            }
        }
        out
    }
}

/// A data key wrapped under a key-encryption key: safe to store.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// Which key-encryption key wrapped it.
    pub key_id: String,
    pub blob: Vec<u8>,
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrappedKey({}, {} bytes)", self.key_id, self.blob.len())
    }
}

/// A data key in plaintext (zeroised on drop) with its wrapped form.
pub struct DataKey {
    pub plaintext: Zeroizing<[u8; 32]>,
    pub wrapped: WrappedKey,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey(<redacted>, {:?})", self.wrapped)
    }
}

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The key file exists but is not a key.
    #[error("{path}: {why}")]
    BadKeyFile {
        path: std::path::PathBuf,
        why: String,
    },
    /// Authenticated decryption failed: wrong key, wrong context, or tampered data.
    #[error("decryption failed (wrong key or encryption context, or the data was altered)")]
    Decrypt,
    /// A wrapped key or sealed record names a key this service does not have.
    #[error("unknown key id {0:?}")]
    UnknownKey(String),
    /// A stored sealed record is not in the expected format.
    #[error("malformed sealed record: {0}")]
    Malformed(&'static str),
    /// The key backend refused or failed (network, permissions, …).
    #[error("key service: {0}")]
    Backend(String),
}
