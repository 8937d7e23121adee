//! [`AwsKms`]: the key service on AWS KMS, or any server speaking its API (the tests use
//! moto). Chosen by configuration; the standard AWS environment applies (credentials,
//! `AWS_REGION`, and `AWS_ENDPOINT_URL` for a local server).
//!
//! What lives in KMS, and how it is used:
//! - **Data keys** for envelope encryption: `GenerateDataKey` (AES-256) and `Decrypt`
//!   under the symmetric key [`AwsKmsConfig::data_key`]. KMS's encryption context is the
//!   record's context without its `id`: the table. The record itself is bound by the
//!   AES-GCM associated data (the whole context, `envelope`), so a data key can seal
//!   several records of one table, and a bounded cache ([`CachePolicy`]: age and uses)
//!   keeps KMS out of the per-message path. Decrypted data keys are cached the same
//!   way, by their wrapped form.
//! - **Authentication values:** `GenerateMac` (HMAC-SHA-256) under the HMAC key
//!   [`AwsKmsConfig::mac_key`]: the issuer's AV key never leaves KMS. The purpose's
//!   label is prefixed to the message, so each purpose (and issuer) gets its own MAC.
//! - **Lookup and challenge-answer digests** (a PAN's keyed hash, an OTP's digest) are
//!   computed on every message by several components: a KMS call each would put KMS in
//!   the hot path. Their key is KMS's MAC of a fixed label, asked once at
//!   [`AwsKms::connect`]: the same in every process and after every restart, stored
//!   nowhere, and gone with the KMS key.
//! - **The ACS's `acsSignedContent` key** ([`AwsKmsConfig::sign_key`], for schemes whose
//!   ACS signs ES256): `Sign` with `ECDSA_SHA_256` ([`AwsKms::sign_es256_der`]); the
//!   sandbox certifies the key's public half (`GetPublicKey`) under the scheme's DS root
//!   at start. PS256 schemes keep the PKI's RSA key (a KMS-compatible test server's PSS
//!   salt differs from real KMS's, `real-peers.md`).
//! - **Not in KMS:** the app channel's ECDH (the SDK's and the ACS's ephemeral keys:
//!   KMS has no ephemeral ECDH, and `DeriveSharedSecret` needs a key per transaction);
//!   the DS's device-data decryption key (ECDH-ES or RSA-OAEP: it stays a PKI file).
//!
//! Every KMS call is counted ([`AwsKms::calls`]). Every key operation is written to the
//! audit log given ([`crate::audit`]): a KMS call (`via: kms`), a data key reused from
//! the cache (`cache`), a digest with the local key (`local`).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, MacAlgorithmSpec};
use zeroize::Zeroizing;

use crate::audit::{AuditLog, Via, data_key_purpose};
use crate::{DataKey, EncryptionContext, KeyError, KeyFuture, KeyService, MacPurpose, WrappedKey};

/// Which KMS keys to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsKmsConfig {
    /// The symmetric (SYMMETRIC_DEFAULT) key that wraps data keys: id, ARN or alias.
    pub data_key: String,
    /// The HMAC_256 key for MACs: id, ARN or alias.
    pub mac_key: String,
    /// The ECC_NIST_P256 SIGN_VERIFY key the ACS signs `acsSignedContent` with (ES256
    /// schemes), instead of the PKI's file: id, ARN or alias. `None`: the file.
    pub sign_key: Option<String>,
    pub cache: CachePolicy,
    /// Who is using the keys, for the audit log (`sandbox`, a component's name).
    pub who: String,
    /// The KMS endpoint, instead of the AWS environment's (`AWS_ENDPOINT_URL`) or
    /// AWS's own: a KMS-compatible server.
    pub endpoint: Option<String>,
    /// Where each key operation is recorded, one JSON line each ([`crate::audit`];
    /// `None`: not recorded).
    pub audit_log: Option<PathBuf>,
}

/// How long a data key may be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// A data key older than this is not used again (nor a decrypted one kept).
    pub max_age: Duration,
    /// Records one data key may seal.
    pub max_uses: u32,
    /// Decrypted data keys kept at most.
    pub max_entries: usize,
}

impl Default for CachePolicy {
    fn default() -> CachePolicy {
        CachePolicy {
            max_age: Duration::from_secs(300),
            max_uses: 1000,
            max_entries: 1024,
        }
    }
}

/// KMS calls made so far, by operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KmsCalls {
    pub generate_data_key: u64,
    pub decrypt: u64,
    pub generate_mac: u64,
    pub sign: u64,
}

impl KmsCalls {
    /// Calls for data keys (generate and decrypt).
    pub fn data_keys(&self) -> u64 {
        self.generate_data_key + self.decrypt
    }
}

/// The key service on AWS KMS.
pub struct AwsKms {
    client: aws_sdk_kms::Client,
    config: AwsKmsConfig,
    /// The data key in use per KMS context (the table), and what it may still do.
    sealing: Mutex<HashMap<String, Cached>>,
    /// Decrypted data keys by wrapped form, oldest first.
    opened: Mutex<VecDeque<(Vec<u8>, Cached)>>,
    /// Held while asking KMS for a data key, so that concurrent misses wait for one
    /// answer instead of each making a call (a burst would otherwise bypass the cache).
    asking: tokio::sync::Mutex<()>,
    /// The key of the digests computed locally (PAN lookup, challenge answers).
    local_mac: Zeroizing<[u8; 32]>,
    calls: [AtomicU64; 4],
    audit: Option<AuditLog>,
}

struct Cached {
    key: DataKey,
    born: Instant,
    uses: u32,
}

impl std::fmt::Debug for AwsKms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AwsKms(data key {}, MAC key {}, <keys redacted>)",
            self.config.data_key, self.config.mac_key
        )
    }
}

const GENERATE_DATA_KEY: usize = 0;
const DECRYPT: usize = 1;
const GENERATE_MAC: usize = 2;
const SIGN: usize = 3;

/// The label whose KMS MAC is the key of locally computed digests.
const LOCAL_MAC_LABEL: &[u8] = b"threeds local digest key v1";

impl AwsKms {
    /// Connects with the standard AWS configuration (environment, profile) and checks
    /// the keys: the MAC key must answer, as it derives the local digest key.
    pub async fn connect(config: AwsKmsConfig) -> Result<AwsKms, KeyError> {
        AwsKms::connect_rotating(config, crate::audit::Rotation::default()).await
    }

    /// [`AwsKms::connect`], its audit log (if any) rotated by `rotation`.
    pub async fn connect_rotating(
        config: AwsKmsConfig,
        rotation: crate::audit::Rotation,
    ) -> Result<AwsKms, KeyError> {
        let shared = sdk_config(config.endpoint.as_deref()).await;
        let audit = match &config.audit_log {
            Some(path) => Some(AuditLog::open_rotating(path, &config.who, rotation)?),
            None => None,
        };
        let mut kms = AwsKms {
            client: aws_sdk_kms::Client::new(&shared),
            config,
            sealing: Mutex::default(),
            opened: Mutex::default(),
            asking: tokio::sync::Mutex::new(()),
            local_mac: Zeroizing::new([0; 32]),
            calls: Default::default(),
            audit,
        };
        // The same key in every process and after every restart, and nothing stored:
        // KMS's MAC of a fixed label (it never changes for one KMS key).
        let derived = kms.kms_mac("local-digest-key", LOCAL_MAC_LABEL).await?;
        kms.local_mac = Zeroizing::new(derived);
        Ok(kms)
    }

    /// The signing key the configuration names, if any.
    pub fn sign_key(&self) -> Option<&str> {
        self.config.sign_key.as_deref()
    }

    /// KMS calls made so far.
    pub fn calls(&self) -> KmsCalls {
        let read = |i: usize| self.calls[i].load(Ordering::Relaxed);
        KmsCalls {
            generate_data_key: read(GENERATE_DATA_KEY),
            decrypt: read(DECRYPT),
            generate_mac: read(GENERATE_MAC),
            sign: read(SIGN),
        }
    }

    fn count(&self, operation: usize) {
        self.calls[operation].fetch_add(1, Ordering::Relaxed);
    }

    /// Records one key operation in the audit log, if there is one.
    fn audit(&self, operation: &str, purpose: &str, key_id: &str, via: Via, failed: Option<&str>) {
        if let Some(audit) = &self.audit {
            audit.record(operation, purpose, key_id, via, failed);
        }
    }

    /// One KMS call as every call goes: counted under `counter`, sent, its error made a
    /// [`KeyError`] naming `operation`, its answer read by `read`, and audited under
    /// `key_id` either way.
    async fn call<O, E, T>(
        &self,
        counter: Option<usize>,
        (operation, purpose, key_id): (&str, &str, &str),
        sent: impl std::future::Future<Output = Result<O, E>>,
        read: impl FnOnce(O) -> Option<T>,
    ) -> Result<T, KeyError>
    where
        E: std::error::Error,
    {
        if let Some(counter) = counter {
            self.count(counter);
        }
        let result = match sent.await {
            Ok(answer) => read(answer)
                .ok_or_else(|| KeyError::Backend(format!("{operation}: an incomplete answer"))),
            Err(e) => Err(service_error(operation, &e)),
        };
        let failed = result.as_ref().err().map(ToString::to_string);
        self.audit(operation, purpose, key_id, Via::Kms, failed.as_deref());
        result
    }

    async fn kms_mac(&self, purpose: &str, message: &[u8]) -> Result<[u8; 32], KeyError> {
        let key_id = &self.config.mac_key;
        let sent = self
            .client
            .generate_mac()
            .key_id(key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(message))
            .send();
        self.call(
            Some(GENERATE_MAC),
            ("GenerateMac", purpose, key_id),
            sent,
            |out| key_bytes(out.mac()),
        )
        .await
    }

    async fn new_data_key(&self, context: &EncryptionContext) -> Result<DataKey, KeyError> {
        let key_id = &self.config.data_key;
        let sent = self
            .client
            .generate_data_key()
            .key_id(key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(kms_context(context)))
            .send();
        let purpose = data_key_purpose(context);
        self.call(
            Some(GENERATE_DATA_KEY),
            ("GenerateDataKey", &purpose, key_id),
            sent,
            |out| {
                Some(DataKey {
                    plaintext: Zeroizing::new(key_bytes(out.plaintext())?),
                    wrapped: WrappedKey {
                        key_id: out.key_id().unwrap_or(key_id).to_owned(),
                        blob: out.ciphertext_blob()?.as_ref().to_vec(),
                    },
                })
            },
        )
        .await
    }

    async fn unwrap_key(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<DataKey, KeyError> {
        let sent = self
            .client
            .decrypt()
            .key_id(&wrapped.key_id)
            .ciphertext_blob(Blob::new(wrapped.blob.clone()))
            .set_encryption_context(Some(kms_context(context)))
            .send();
        let purpose = data_key_purpose(context);
        self.call(
            Some(DECRYPT),
            ("Decrypt", &purpose, &wrapped.key_id),
            sent,
            |out| {
                Some(DataKey {
                    plaintext: Zeroizing::new(key_bytes(out.plaintext())?),
                    wrapped: wrapped.clone(),
                })
            },
        )
        .await
    }
}

impl AwsKms {
    /// The data key sealing `slot` (a KMS context) may still seal with, counting a use.
    fn cached_for_sealing(&self, slot: &str) -> Result<Option<DataKey>, KeyError> {
        let policy = self.config.cache;
        let mut sealing = self.sealing.lock().map_err(|_| poisoned())?;
        Ok(sealing.get_mut(slot).and_then(|cached| {
            (cached.born.elapsed() < policy.max_age && cached.uses < policy.max_uses).then(|| {
                cached.uses += 1;
                copy(&cached.key)
            })
        }))
    }

    /// The decrypted data key of `wrapped`, if still cached.
    fn cached_for_opening(&self, wrapped: &WrappedKey) -> Result<Option<DataKey>, KeyError> {
        let max_age = self.config.cache.max_age;
        let mut opened = self.opened.lock().map_err(|_| poisoned())?;
        opened.retain(|(_, c)| c.born.elapsed() < max_age);
        Ok(opened
            .iter()
            .find(|(blob, _)| *blob == wrapped.blob)
            .map(|(_, cached)| copy(&cached.key)))
    }

    /// Keeps `key` for opening what it sealed, evicting the oldest beyond the limit.
    fn remember_opened(&self, key: &DataKey) -> Result<(), KeyError> {
        let mut opened = self.opened.lock().map_err(|_| poisoned())?;
        if opened.len() >= self.config.cache.max_entries {
            opened.pop_front();
        }
        opened.push_back((
            key.wrapped.blob.clone(),
            Cached {
                key: copy(key),
                born: Instant::now(),
                uses: 1,
            },
        ));
        Ok(())
    }
}

/// The AWS SDK's configuration from the standard environment, with our HTTPS client
/// (rustls on ring, as everywhere in the sandbox) and `endpoint` instead of AWS's when
/// given.
pub async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// Creates the two keys [`AwsKmsConfig`] names — a symmetric key for data keys and an
/// HMAC_256 key — with the SDK client `client`, and returns their ids (for a first
/// setup, or a KMS-compatible test server).
pub async fn create_keys(client: &aws_sdk_kms::Client) -> Result<(String, String), KeyError> {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let data = client
        .create_key()
        .send()
        .await
        .map_err(|e| service_error("CreateKey", &e))?;
    let mac = client
        .create_key()
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .map_err(|e| service_error("CreateKey", &e))?;
    let id = |m: Option<&aws_sdk_kms::types::KeyMetadata>| {
        m.map(|m| m.key_id().to_owned())
            .ok_or_else(|| KeyError::Backend("CreateKey: no key id".into()))
    };
    Ok((id(data.key_metadata())?, id(mac.key_metadata())?))
}

impl AwsKms {
    /// An ECDSA P-256 / SHA-256 signature of `message` by the asymmetric key `key_id`
    /// (`Sign`, `MessageType=RAW`: KMS hashes), DER-encoded as KMS returns it. For the
    /// ACS's `acsSignedContent` (ES256: the caller converts to R‖S).
    pub async fn sign_es256_der(&self, key_id: &str, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
        let sent = self
            .client
            .sign()
            .key_id(key_id)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send();
        self.call(Some(SIGN), ("Sign", SIGNED_CONTENT, key_id), sent, |out| {
            out.signature().map(|s| s.as_ref().to_vec())
        })
        .await
    }

    /// The public key of the asymmetric key `key_id` (`GetPublicKey`), as a DER
    /// SubjectPublicKeyInfo: what a certificate for it certifies.
    pub async fn public_key_der(&self, key_id: &str) -> Result<Vec<u8>, KeyError> {
        let sent = self.client.get_public_key().key_id(key_id).send();
        self.call(
            None,
            ("GetPublicKey", SIGNED_CONTENT, key_id),
            sent,
            |out| out.public_key().map(|k| k.as_ref().to_vec()),
        )
        .await
    }
}

/// Creates an ECC_NIST_P256 signing key (for [`AwsKmsConfig::sign_key`]) and returns its
/// id.
pub async fn create_signing_key(client: &aws_sdk_kms::Client) -> Result<String, KeyError> {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let key = client
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .map_err(|e| service_error("CreateKey", &e))?;
    key.key_metadata()
        .map(|m| m.key_id().to_owned())
        .ok_or_else(|| KeyError::Backend("CreateKey: no key id".into()))
}

/// KMS's encryption context for a record's: everything but the record id, which the
/// envelope's associated data binds instead (so a data key serves a table).
fn kms_context(context: &EncryptionContext) -> HashMap<String, String> {
    context
        .shared()
        .pairs()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn service_error<E: std::error::Error>(operation: &str, e: &E) -> KeyError {
    // The SDK's Display is terse ("service error"); its source chain says what.
    let mut why = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        why = format!("{why}: {s}");
        source = s.source();
    }
    KeyError::Backend(format!("{operation}: {why}"))
}

/// A 32-byte key or MAC from an answer's blob, if it is one.
fn key_bytes(blob: Option<&Blob>) -> Option<[u8; 32]> {
    blob.and_then(|b| b.as_ref().try_into().ok())
}

/// The purpose the ACS's signing key is audited under.
const SIGNED_CONTENT: &str = "acsSignedContent (ES256)";

fn copy(key: &DataKey) -> DataKey {
    DataKey {
        plaintext: Zeroizing::new(*key.plaintext),
        wrapped: key.wrapped.clone(),
    }
}

impl KeyService for AwsKms {
    fn generate_data_key<'a>(&'a self, context: &'a EncryptionContext) -> KeyFuture<'a, DataKey> {
        Box::pin(async move {
            // A data key per table: the purpose is the slot of the cache.
            let slot = data_key_purpose(context);
            let reused = |key: DataKey| {
                self.audit(
                    "GenerateDataKey",
                    &slot,
                    &key.wrapped.key_id,
                    Via::Cache,
                    None,
                );
                Ok(key)
            };
            if let Some(key) = self.cached_for_sealing(&slot)? {
                return reused(key);
            }
            let _asking = self.asking.lock().await;
            // Someone may have asked while this task waited.
            if let Some(key) = self.cached_for_sealing(&slot)? {
                return reused(key);
            }
            let key = self.new_data_key(context).await?;
            self.sealing.lock().map_err(|_| poisoned())?.insert(
                slot,
                Cached {
                    key: copy(&key),
                    born: Instant::now(),
                    uses: 1,
                },
            );
            // What this process sealed, it may open without asking KMS.
            self.remember_opened(&key)?;
            Ok(key)
        })
    }

    fn decrypt_data_key<'a>(
        &'a self,
        wrapped: &'a WrappedKey,
        context: &'a EncryptionContext,
    ) -> KeyFuture<'a, DataKey> {
        Box::pin(async move {
            // The record's own binding is checked by the AEAD: a key opened for
            // another record of the same table cannot open this one.
            let reused = |key: DataKey| {
                let purpose = data_key_purpose(context);
                self.audit("Decrypt", &purpose, &wrapped.key_id, Via::Cache, None);
                Ok(key)
            };
            if let Some(key) = self.cached_for_opening(wrapped)? {
                return reused(key);
            }
            let _asking = self.asking.lock().await;
            if let Some(key) = self.cached_for_opening(wrapped)? {
                return reused(key);
            }
            let key = self.unwrap_key(wrapped, context).await?;
            self.remember_opened(&key)?;
            Ok(key)
        })
    }

    fn mac<'a>(&'a self, purpose: &'a MacPurpose, message: &'a [u8]) -> KeyFuture<'a, [u8; 32]> {
        Box::pin(async move {
            let label = purpose.label();
            let mut labelled = Vec::with_capacity(label.len() + 1 + message.len());
            labelled.extend_from_slice(label.as_bytes());
            labelled.push(0);
            labelled.extend_from_slice(message);
            match purpose {
                MacPurpose::AuthenticationValue { .. } => self.kms_mac(&label, &labelled).await,
                MacPurpose::PanLookup | MacPurpose::ChallengeAnswer => {
                    let key_id = format!("{} (local digest key)", self.config.mac_key);
                    self.audit("GenerateMac", &label, &key_id, Via::Local, None);
                    Ok(crate::hmac_sha256(&self.local_mac[..], &labelled))
                }
            }
        })
    }
}

fn poisoned() -> KeyError {
    KeyError::Backend("the data-key cache lock was poisoned".into())
}
