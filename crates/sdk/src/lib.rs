//! A mock 3DS SDK, shaped after the EMVCo SDK API, that does on the wire what a
//! certified SDK does:
//!
//! 1. [`ThreeDs2Service::initialize`] with the directory servers it knows (id, DS
//!    encryption key, DS root certificates) and the app's identity;
//! 2. [`ThreeDs2Service::create_transaction`] for a directory server and message
//!    version: a fresh `sdkTransID` and ephemeral P-256 key;
//! 3. [`Transaction::authentication_request_parameters`]: the app-channel AReq elements
//!    (`sdkEncData` encrypted to the DS, `sdkEphemPubKey`, `deviceRenderOptions`, …) for
//!    the app's backend to send to its 3DS Server;
//! 4. on `C`, [`Transaction::do_challenge`]: verifies `acsSignedContent` under the DS
//!    root, derives the session key, and exchanges encrypted CReqs/CRes with the ACS
//!    until `challengeCompletionInd=Y`. Each CRes is checked (decryption, ids, counter,
//!    message version, the validator's rules); a bad one makes the SDK send an `Erro`
//!    to the ACS and end. Screens go to a [`driver::ChallengeDriver`] (scripted, or a
//!    person at a prompt); the outcome to a [`ChallengeStatusReceiver`].
//!
//! `do_challenge` consumes the transaction: its keys and challenge data are dropped
//! (and zeroised) when it returns.
//!
//! It must never: trust an ACS whose `acsSignedContent` does not verify under the DS
//! root; keep its ephemeral key or session key past the transaction; accept a CRes that
//! fails decryption, ids, counter or version checks; or send the device data anywhere
//! but encrypted to the DS.

pub mod backend;
mod device;
pub mod driver;
mod transaction;

pub use device::DeviceProfile;
pub use driver::{Action, Answer, ChallengeDriver, Screen, ScriptedDriver, answer_now};
pub use transaction::{
    AuthenticationRequestParameters, ChallengeParameters, ChallengeStatus, ChallengeStatusReceiver,
    Transaction,
};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use app_crypto::device_data::{DsPublicKey, EcAlg};
use app_crypto::signed_content::TrustAnchors;
use emv3ds::MessageVersion;

/// Why the SDK cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("{0}")]
    Crypto(#[from] app_crypto::CryptoError),
    #[error("{path}: {why}")]
    File { path: String, why: String },
    #[error("HTTP client: {0}")]
    Http(String),
}

/// A directory server the SDK knows.
#[derive(Debug, Clone)]
pub struct DirectoryServer {
    pub id: String,
    /// The key device data is encrypted to.
    pub encryption_key: DsPublicKey,
    /// The roots `acsSignedContent` chains must lead to.
    pub roots: TrustAnchors,
}

impl DirectoryServer {
    /// From the DS encryption certificate and DS root certificate files (PEM).
    pub fn from_files(id: &str, encryption_cert: &Path, root: &Path) -> Result<Self, SdkError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| SdkError::File {
                path: p.display().to_string(),
                why: e.to_string(),
            })
        };
        Ok(DirectoryServer {
            id: id.to_owned(),
            encryption_key: DsPublicKey::from_certificate_pem(&read(encryption_cert)?)?,
            roots: TrustAnchors::from_pem(&read(root)?)?,
        })
    }
}

/// How the SDK is set up by the app.
#[derive(Debug, Clone)]
pub struct ConfigParameters {
    pub directory_servers: Vec<DirectoryServer>,
    /// Stable per app installation.
    pub sdk_app_id: String,
    pub sdk_reference_number: String,
    /// What the SDK says it can render (`deviceRenderOptions`): interface and UI types.
    pub sdk_interface: String,
    pub sdk_ui_types: Vec<String>,
    /// `sdkMaxTimeout` in minutes (05–99).
    pub max_timeout_minutes: u8,
    pub device: DeviceProfile,
    /// How EC device data is written (`ECDH-ES`, or the `dir` + `epk` variant).
    pub ec_alg: EcAlg,
    /// The trust anchor for the ACS's TLS certificate (the sandbox TLS root).
    pub tls_root: std::path::PathBuf,
    /// Where `sdkTransID`s come from (random; seeded in the scenario runner's
    /// deterministic mode).
    pub ids: transport::Ids,
}

impl ConfigParameters {
    /// Defaults for an app: native and HTML UIs of every type, 5 minutes, a plausible
    /// Android device, a fresh app id.
    pub fn new(directory_servers: Vec<DirectoryServer>, tls_root: &Path) -> ConfigParameters {
        ConfigParameters {
            directory_servers,
            sdk_app_id: transport::Ids::random().trans_id().as_str().to_owned(),
            sdk_reference_number: "3DS_LOA_SDK_SNDBX_020100_00001".into(),
            sdk_interface: "03".into(),
            sdk_ui_types: ["01", "02", "03", "04", "05"].map(str::to_owned).to_vec(),
            max_timeout_minutes: 5,
            device: DeviceProfile::default(),
            ec_alg: EcAlg::EcdhEs,
            tls_root: tls_root.to_owned(),
            ids: transport::Ids::random(),
        }
    }
}

/// The SDK, initialised.
#[derive(Debug, Clone)]
pub struct ThreeDs2Service {
    config: Arc<ConfigParameters>,
    directory_servers: Arc<BTreeMap<String, DirectoryServer>>,
    http: transport::Client,
}

impl ThreeDs2Service {
    pub fn initialize(config: ConfigParameters) -> Result<ThreeDs2Service, SdkError> {
        if !(5..=99).contains(&config.max_timeout_minutes) {
            return Err(SdkError::InvalidInput(
                "sdkMaxTimeout must be 05 to 99 minutes".into(),
            ));
        }
        let tls = pki::tls::client_config(&config.tls_root, None)
            .map_err(|e| SdkError::Http(e.to_string()))?;
        let http = transport::Client::new(&tls, transport::Timeouts::default())
            .map_err(|e| SdkError::Http(e.to_string()))?;
        let directory_servers = config
            .directory_servers
            .iter()
            .map(|d| (d.id.clone(), d.clone()))
            .collect();
        Ok(ThreeDs2Service {
            config: Arc::new(config),
            directory_servers: Arc::new(directory_servers),
            http,
        })
    }

    /// Applies `faults` set on `sdk->acs` to what this SDK sends the ACS (the scenario
    /// runner breaks the app channel this way): on the wire, or, for one that changes
    /// the CReq, to its plaintext before sealing.
    #[must_use]
    pub fn with_faults(mut self, faults: transport::faults::Faults) -> ThreeDs2Service {
        self.http = self.http.with_faults(faults, trace::Party::Sdk);
        self
    }

    /// A transaction for `directory_server_id` in `version`.
    pub fn create_transaction(
        &self,
        directory_server_id: &str,
        version: MessageVersion,
    ) -> Result<Transaction, SdkError> {
        let ds = self
            .directory_servers
            .get(directory_server_id)
            .ok_or_else(|| {
                SdkError::InvalidInput(format!(
                    "directory server {directory_server_id} was not given to initialize"
                ))
            })?
            .clone();
        Ok(Transaction::new(
            self.config.clone(),
            ds,
            version,
            self.http.clone(),
        ))
    }
}
