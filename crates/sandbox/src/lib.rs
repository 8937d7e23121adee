//! The whole sandbox in one process — what `threeds up` runs and what the end-to-end
//! tests start (on port 0, with temporary directories) — or one component alone
//! (`threeds serve`), on the same code and the same wire.
//!
//! It reads the ecosystem (`config`: schemes, card ranges, cards), generates the PKI if
//! there is none, opens the key service and the database, binds every listener first
//! (so each component knows its peers' URLs), starts the ACS, one DS per scheme, the
//! 3DS Server and the mock merchant — each a real HTTPS service, behind mutual TLS
//! between components, talking to the others only over the network — runs the 3DS
//! Server's first PReq, and describes the result in a [`Manifest`]. The browser-facing
//! sites (the merchant's shop, the ACS's pages) are server-authenticated only.

pub mod admin;
pub mod cards;
pub mod config;
pub mod doctor;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use directory_server::{DsConfig, DsState};
use emv3ds::MessageVersion;
use pki::Layout;
use pki::tls::{self, ClientAuth};
use serde::{Deserialize, Serialize};
use threeds_server::{DsPeer, ServerConfig, ServerState};
use tokio::net::TcpListener;
use transport::clock::Clock;
use transport::{Client, Timeouts, TlsServer};

pub use cards::{TestCard, cards};
pub use config::{ConfigError, Ecosystem};

/// Where the sandbox keeps things and where it listens.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The PKI directory (generated when empty).
    pub certs: PathBuf,
    /// Data directory (the software master key, the SQLite databases).
    pub data: PathBuf,
    /// Where the keys live: software keys under `data` (the default), or AWS KMS.
    pub keys: KeyBackend,
    /// The components' database instead of the SQLite file in `data`: a
    /// `postgres://` URL (created if missing) or an SQLite path. Components share it;
    /// their tables never overlap. The trace stays in `data`.
    pub database: Option<store::Database>,
    pub host: IpAddr,
    /// First port: 3DS Server, then ACS, then one DS per scheme. 0: chosen by the OS.
    pub port_base: u16,
    /// Timeouts of calls between components.
    pub timeouts: Timeouts,
    /// Schemes, ranges, cards and identities (`sandbox.toml`).
    pub ecosystem: Ecosystem,
    /// Where every component reads the time (timeouts).
    pub clock: Arc<dyn Clock>,
    /// `clock` is virtual (moved by hand, as the scenario runner's deterministic mode
    /// does): the trace's durations are read off it rather than measured.
    pub virtual_time: bool,
    /// Where the components draw transaction ids from (each its own stream).
    pub ids: transport::Ids,
    /// The ACS's challenge timers (first CReq, each step, RReq retries).
    pub challenge_timeouts: acs::challenge::Timeouts,
    /// How often the ACS looks for challenges whose timer ran out.
    pub sweep_every: Duration,
    /// How long the merchant's page waits for the 3DS Method.
    pub method_timeout_ms: u64,
    /// How long what may be kept only for a while (the authentication value: at the
    /// 3DS Server for postauth, at the ACS until its RReq is delivered) stays; a task
    /// purges it every minute (`store::Store::purge_expired`).
    pub retention: Duration,
    /// Record the trace (every message of every hop). Off, nothing is recorded and the
    /// admin endpoint serves an empty trace: for load tests that measure the protocol
    /// alone.
    pub trace: bool,
    /// The trace keeps this many of its newest events; older ones are deleted every
    /// minute, so the trace database stops growing (about 1 to 3 KB an event).
    pub trace_keep: u64,
    /// When the key audit log and the admin audit log start a new file, and how many
    /// older files they keep (`kms::audit::Rotation`).
    pub logs: kms::audit::Rotation,
}

/// The default of [`SandboxConfig::trace_keep`]: some 20,000 authentications.
pub const TRACE_KEEP: u64 = 250_000;

impl Default for SandboxConfig {
    fn default() -> SandboxConfig {
        SandboxConfig {
            certs: PathBuf::from("certs"),
            data: PathBuf::from(".threeds"),
            database: None,
            keys: KeyBackend::Software,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port_base: 7440,
            timeouts: Timeouts::default(),
            ecosystem: Ecosystem::shipped()
                .expect("the shipped sandbox.toml reads (tested by cards::tests)"),
            clock: transport::clock::system(),
            virtual_time: false,
            ids: transport::Ids::random(),
            challenge_timeouts: acs::challenge::Timeouts::default(),
            sweep_every: Duration::from_millis(500),
            method_timeout_ms: 10_000,
            retention: Duration::from_secs(60 * 60),
            trace: true,
            trace_keep: TRACE_KEEP,
            logs: kms::audit::Rotation::default(),
        }
    }
}

/// The key audit log's file in the data directory (`kms::audit`).
const KEYS_AUDIT_LOG: &str = "keys-audit.jsonl";

/// Which key service the components use (`kms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyBackend {
    /// Keys derived from a master key in `<data>/keys/master.key` (made if missing),
    /// every operation audited in `<data>/keys-audit.jsonl`.
    Software,
    /// AWS KMS, or a KMS-compatible server. Its audit log defaults to
    /// `<data>/keys-audit.jsonl`.
    AwsKms(kms::AwsKmsConfig),
}

/// The key service as the manifest describes it (for `threeds doctor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "backend")]
pub enum KeysInfo {
    #[serde(rename_all = "camelCase")]
    Software {
        master_key: PathBuf,
        /// Where every key operation is recorded (manifests before it have none).
        #[serde(default)]
        audit_log: Option<PathBuf>,
    },
    #[serde(rename_all = "camelCase")]
    AwsKms {
        data_key: String,
        mac_key: String,
        sign_key: Option<String>,
        endpoint: Option<String>,
        audit_log: Option<PathBuf>,
    },
}

/// What a running sandbox tells scripts and tools (written as JSON by `threeds up`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub version: u32,
    pub endpoints: Endpoints,
    pub tls: TlsFiles,
    pub schemes: Vec<SchemeInfo>,
    /// The database every component keeps its state in: the SQLite file's path, or the
    /// PostgreSQL URL without its password.
    pub database: String,
    /// The SQLite database the trace is kept in (`threeds trace --database`).
    pub trace_database: PathBuf,
    /// The admin endpoint (the trace), loopback only.
    pub admin: AdminInfo,
    /// The data directory (the software master key, the audit log).
    pub data: PathBuf,
    /// The key service.
    pub keys: KeysInfo,
    /// The ecosystem file the sandbox runs, and the hash of what it read.
    pub config: config::Origin,
}

/// Where the admin endpoint listens and how to get in (`admin::access`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminInfo {
    pub url: String,
    /// The one client certificate the admin endpoint accepts, and its key.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A second factor is enrolled (`threeds admin enrol`): open a session with a TOTP
    /// code (`POST /admin/session`) first.
    pub totp: bool,
    /// The audit log of the admin endpoint (refusals, sessions, changes).
    pub audit_log: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub requestor_api: String,
    /// The first scheme's DS (each scheme's is in `schemes`).
    pub directory_server: String,
    /// The ACS's AReq endpoint (DS-facing).
    pub acs: String,
    /// The ACS's browser-facing site (challenge pages, 3DS Method, issuer app).
    pub acs_site: String,
    /// The mock merchant's shop.
    pub merchant: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsFiles {
    pub root_ca: PathBuf,
    pub requestor_client_cert: PathBuf,
    pub requestor_client_key: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemeInfo {
    pub name: String,
    pub directory_server_id: String,
    pub directory_server: String,
    pub ds_root_ca: PathBuf,
    pub ds_encryption_cert: PathBuf,
}

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    #[error(transparent)]
    Tls(#[from] pki::tls::TlsError),
    #[error(transparent)]
    Keys(#[from] kms::KeyError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Setup(String),
}

/// One component, for `threeds serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Component {
    ThreeDsServer,
    Acs,
    /// The DS of the named scheme.
    Ds(String),
    /// The mock merchant's shop.
    Merchant,
}

impl Component {
    /// Its database file's stem.
    fn name(&self) -> String {
        match self {
            Component::ThreeDsServer => "3ds-server".into(),
            Component::Acs => "acs".into(),
            Component::Ds(scheme) => format!("ds-{scheme}"),
            Component::Merchant => "merchant".into(),
        }
    }
}

/// A running sandbox (or one component of it).
#[derive(Debug)]
pub struct Sandbox {
    pub manifest: Manifest,
    servers: Vec<TlsServer>,
    refresh: Option<tokio::task::JoinHandle<()>>,
    purger: tokio::task::JoinHandle<()>,
    sweeper: Option<tokio::task::JoinHandle<()>>,
    store: store::Store,
    trace_store: store::TraceStore,
    tracer: trace::Tracer,
    recorder: tokio::task::JoinHandle<()>,
    stop_recorder: tokio_util::sync::CancellationToken,
    /// Ends the admin endpoint's live streams.
    closing: tokio_util::sync::CancellationToken,
    /// Why each DS's card ranges could not be fetched at start, if any.
    pub preparation: Vec<(String, Result<usize, String>)>,
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

async fn bind(host: IpAddr, port: u16) -> Result<TcpListener, SandboxError> {
    let addr = SocketAddr::new(host, port);
    TcpListener::bind(addr)
        .await
        .map_err(|source| SandboxError::Bind { addr, source })
}

fn port_of(listener: &TcpListener) -> Result<u16, SandboxError> {
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| SandboxError::Setup(e.to_string()))
}

/// A protocol key of the scheme's PKI, read with the path named in any error.
fn protocol_key<T>(
    path: &Path,
    read: impl FnOnce(&[u8]) -> Result<T, app_crypto::CryptoError>,
) -> Result<T, SandboxError> {
    let bytes =
        std::fs::read(path).map_err(|e| SandboxError::Setup(format!("{}: {e}", path.display())))?;
    read(&bytes).map_err(|e| SandboxError::Setup(format!("{}: {e}", path.display())))
}

/// The DS's private encryption key (it reads `sdkEncData`).
fn device_data_key(
    files: &pki::SchemeLayout,
) -> Result<app_crypto::device_data::DsPrivateKey, SandboxError> {
    protocol_key(&files.ds_encryption_key(), |pem| {
        app_crypto::device_data::DsPrivateKey::from_pem(pem)
    })
}

/// The ACS's `acsSignedContent` signer per directory server id: the PKI's key and
/// chain, or, for ES256 schemes when the KMS backend names a signing key, that KMS key
/// with a certificate for it issued under the scheme's DS root at start.
async fn acs_signers(
    certs: &Path,
    spec: &pki::PkiSpec,
    kms: Option<&Arc<kms::AwsKms>>,
) -> Result<std::collections::BTreeMap<String, app_crypto::signed_content::AcsSigner>, SandboxError>
{
    let layout = Layout::new(certs);
    let remote = match kms.and_then(|k| k.sign_key().map(|id| (k.clone(), id.to_owned()))) {
        Some((kms, key_id)) => {
            let spki = kms.public_key_der(&key_id).await?;
            Some((Arc::new(KmsSigner { kms, key_id }), spki))
        }
        None => None,
    };
    let mut signers = std::collections::BTreeMap::new();
    for scheme in &spec.schemes {
        let signer = match (&remote, scheme.encryption_key) {
            (Some((signer, spki)), pki::EncryptionKey::EcP256) => {
                let chain = pki::acs_signing_chain_for_key(certs, &scheme.name, spki)?;
                app_crypto::signed_content::AcsSigner::remote(signer.clone(), chain.as_bytes())
                    .map_err(setup)?
            }
            _ => acs_signer(&layout.scheme(&scheme.name))?,
        };
        signers.insert(scheme.directory_server_id.clone(), signer);
    }
    Ok(signers)
}

/// The ACS's signing key in KMS, as the ACS's signer sees it.
#[derive(Debug)]
struct KmsSigner {
    kms: Arc<kms::AwsKms>,
    key_id: String,
}

impl app_crypto::signed_content::RemoteEs256 for KmsSigner {
    fn sign_der<'a>(&'a self, message: &'a [u8]) -> app_crypto::signed_content::DerSignature<'a> {
        Box::pin(async move {
            self.kms
                .sign_es256_der(&self.key_id, message)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The ACS's signing key and chain for `acsSignedContent` under this scheme's DS root.
fn acs_signer(
    files: &pki::SchemeLayout,
) -> Result<app_crypto::signed_content::AcsSigner, SandboxError> {
    let chain = std::fs::read(files.acs_signing_chain()).map_err(|e| {
        SandboxError::Setup(format!("{}: {e}", files.acs_signing_chain().display()))
    })?;
    protocol_key(&files.acs_signing_key(), |pem| {
        app_crypto::signed_content::AcsSigner::from_pem(pem, &chain)
    })
}

fn setup<E: std::fmt::Display>(e: E) -> SandboxError {
    SandboxError::Setup(e.to_string())
}

fn versions(list: &[String]) -> Vec<MessageVersion> {
    list.iter()
        .filter_map(|v| MessageVersion::parse(v))
        .collect()
}

/// A component's URL, or why it cannot be known here.
type Located = Result<String, String>;

/// Where every component is reached: the configured `url` when set, else its own
/// listener's port when it runs here, else `--port-base` + its offset.
#[derive(Debug)]
struct Urls {
    /// The 3DS Server's base URL (requestor API; `/rreq` for DSs).
    server: Located,
    /// The ACS's AReq endpoint.
    acs: Located,
    /// Each scheme's DS.
    ds: Vec<Located>,
    /// The ACS's site and the merchant's shop (browser-facing).
    acs_site: Located,
    merchant: Located,
}

/// A URL a starting component needs.
fn needed(url: &Located) -> Result<String, SandboxError> {
    url.clone().map_err(SandboxError::Setup)
}

impl Manifest {
    /// The mock SDK's configuration for this sandbox: each scheme's DS encryption
    /// certificate and root (for `acsSignedContent`), and the TLS root (for the ACS).
    pub fn sdk_config(&self) -> Result<sdk::ConfigParameters, String> {
        let servers = self
            .schemes
            .iter()
            .map(|s| {
                sdk::DirectoryServer::from_files(
                    &s.directory_server_id,
                    &s.ds_encryption_cert,
                    &s.ds_root_ca,
                )
                .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(sdk::ConfigParameters::new(servers, &self.tls.root_ca))
    }

    /// A client of the requestor API: the requestor's certificate (mutual TLS), trusting
    /// the sandbox's root.
    pub fn requestor_client(&self) -> Result<Client, String> {
        let identity = tls::Identity {
            cert: self.tls.requestor_client_cert.clone(),
            key: self.tls.requestor_client_key.clone(),
        };
        let config =
            tls::client_config(&self.tls.root_ca, Some(&identity)).map_err(|e| e.to_string())?;
        Client::new(&config, Timeouts::default()).map_err(|e| e.to_string())
    }

    /// The manifest `threeds up` wrote at `path`; the error says what is wrong and where.
    pub fn read(path: &Path) -> Result<Manifest, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "{}: {e} (is the sandbox running? `threeds up` writes it)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: not a manifest of this threeds ({e}); restart `threeds up`",
                path.display()
            )
        })
    }
}

impl Sandbox {
    /// Starts every component.
    pub async fn start(config: &SandboxConfig) -> Result<Sandbox, SandboxError> {
        Sandbox::run(config, None).await
    }

    /// Starts one component; its peers are found by URL (configured, or derived from
    /// `port_base`), so `port_base` cannot be 0 unless every peer's `url` is set.
    pub async fn serve(
        config: &SandboxConfig,
        component: &Component,
    ) -> Result<Sandbox, SandboxError> {
        Sandbox::run(config, Some(component)).await
    }

    async fn run(
        config: &SandboxConfig,
        only: Option<&Component>,
    ) -> Result<Sandbox, SandboxError> {
        let ecosystem = &config.ecosystem;
        let runs = |c: &Component| only.is_none_or(|o| o == c);
        if let Some(Component::Ds(name)) = only
            && !ecosystem.schemes.iter().any(|s| &s.name == name)
        {
            let known: Vec<&str> = ecosystem.schemes.iter().map(|s| s.name.as_str()).collect();
            return Err(SandboxError::Setup(format!(
                "no scheme named {name} (the ecosystem has {})",
                known.join(", ")
            )));
        }

        let layout = Layout::new(&config.certs);
        let spec = ecosystem.pki_spec();
        if !layout.exists() {
            pki::init(&config.certs, &spec, false)?;
        }
        for scheme in &spec.schemes {
            if !layout.scheme(&scheme.name).ds_tls_cert().exists() {
                return Err(SandboxError::Setup(format!(
                    "{} has no certificates for scheme {}: regenerate with `threeds pki init --force` \
                     and the same --config",
                    config.certs.display(),
                    scheme.name
                )));
            }
        }
        // The KMS backend, when chosen, also signs acsSignedContent (`acs_signers`).
        let mut aws_kms: Option<Arc<kms::AwsKms>> = None;
        let (keys, keys_info): (Arc<dyn kms::KeyService>, KeysInfo) = match &config.keys {
            KeyBackend::Software => {
                let path = absolute(&config.data.join("keys/master.key"));
                let audit_log = absolute(&config.data.join(KEYS_AUDIT_LOG));
                let who = only.map_or_else(|| "sandbox".to_owned(), Component::name);
                let keys = kms::SoftwareKeys::open_or_create(&path)?
                    .audited(kms::AuditLog::open_rotating(&audit_log, &who, config.logs)?);
                (
                    Arc::new(keys),
                    KeysInfo::Software {
                        master_key: path,
                        audit_log: Some(audit_log),
                    },
                )
            }
            KeyBackend::AwsKms(aws) => {
                let mut aws = aws.clone();
                if aws.audit_log.is_none() {
                    aws.audit_log = Some(absolute(&config.data.join(KEYS_AUDIT_LOG)));
                }
                if let Some(c) = only {
                    aws.who = c.name();
                }
                let info = KeysInfo::AwsKms {
                    data_key: aws.data_key.clone(),
                    mac_key: aws.mac_key.clone(),
                    sign_key: aws.sign_key.clone(),
                    endpoint: aws.endpoint.clone(),
                    audit_log: aws.audit_log.clone(),
                };
                let connected = Arc::new(kms::AwsKms::connect_rotating(aws, config.logs).await?);
                aws_kms = Some(connected.clone());
                (connected, info)
            }
        };
        let database = match &config.database {
            Some(store::Database::Sqlite(path)) => store::Database::Sqlite(absolute(path)),
            Some(database) => database.clone(),
            None => store::Database::Sqlite(absolute(&config.data.join(match only {
                None => "sandbox.db".to_owned(),
                Some(c) => format!("{}.db", c.name()),
            }))),
        };
        let store = store::Store::connect(&database, keys.clone()).await?;
        let trace_database = absolute(&config.data.join(match only {
            None => "trace.db".to_owned(),
            Some(c) => format!("{}-trace.db", c.name()),
        }));
        let trace_store = store::TraceStore::open(&trace_database).await?;
        let clock = config.clock.clone();
        let first_seq = trace_store.last_seq().await? + 1;
        let (mut tracer, recorded) = if config.virtual_time {
            trace::Tracer::on_virtual_time(first_seq, move || clock.now_ms())
        } else {
            trace::Tracer::new(first_seq, move || clock.now_ms())
        };
        if !config.trace {
            tracer = trace::Tracer::default();
        }
        let stop_recorder = tokio_util::sync::CancellationToken::new();
        let trace_losses = Arc::new(admin::TraceLosses::default());
        let recorder = tokio::spawn(admin::record(
            trace_store.clone(),
            recorded,
            stop_recorder.clone(),
            trace_losses.clone(),
        ));
        let faults = transport::faults::Faults::default();
        let observer = |party: trace::Party| transport::Observer {
            tracer: tracer.clone(),
            party,
            scheme: None,
        };

        // Listeners first, so every URL is known before anything starts.
        let offset_port = |i: u16| {
            if config.port_base == 0 {
                0
            } else {
                config.port_base + i
            }
        };
        let mut server_listener = None;
        let mut acs_listener = None;
        let mut ds_listeners = Vec::new();
        if runs(&Component::ThreeDsServer) {
            server_listener = Some(bind(config.host, offset_port(0)).await?);
        }
        if runs(&Component::Acs) {
            acs_listener = Some(bind(config.host, offset_port(1)).await?);
        }
        for (i, scheme) in ecosystem.schemes.iter().enumerate() {
            let listener = if runs(&Component::Ds(scheme.name.clone())) {
                Some(bind(config.host, offset_port(2 + i as u16)).await?)
            } else {
                None
            };
            ds_listeners.push(listener);
        }
        let after_ds = 2 + ecosystem.schemes.len() as u16;
        let mut site_listener = None;
        let mut merchant_listener = None;
        if runs(&Component::Acs) {
            site_listener = Some(bind(config.host, offset_port(after_ds)).await?);
        }
        if runs(&Component::Merchant) {
            merchant_listener = Some(bind(config.host, offset_port(after_ds + 1)).await?);
        }
        // Loopback only, whatever `host` is: the trace is not for the network.
        let admin_listener = bind(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            match (config.port_base, &only) {
                (0, _) | (_, Some(_)) => 0,
                (base, None) => base + after_ds + 2,
            },
        )
        .await?;
        // `localhost` is on every TLS certificate and resolves without DNS.
        // A URL nobody here can know is an error only for a component that needs it.
        let derived_on = |host: &str,
                          listener: &Option<TcpListener>,
                          i: u16,
                          what: &str|
         -> Located {
            let port = match listener {
                Some(l) => port_of(l).map_err(|e| e.to_string())?,
                None if config.port_base != 0 => config.port_base + i,
                None => {
                    return Err(format!(
                        "the {what} runs elsewhere: give its url in the ecosystem file or a fixed --port-base"
                    ));
                }
            };
            Ok(format!("https://{host}:{port}"))
        };
        let derived = |listener: &Option<TcpListener>, i: u16, what: &str| {
            derived_on("localhost", listener, i, what)
        };
        let urls = Urls {
            server: match &ecosystem.threeds_server.url {
                Some(url) => Ok(url.trim_end_matches('/').to_owned()),
                None => derived(&server_listener, 0, "3DS Server"),
            },
            acs: match &ecosystem.acs.url {
                Some(url) => Ok(url.clone()),
                None => derived(&acs_listener, 1, "ACS").map(|base| format!("{base}/areq")),
            },
            ds: ecosystem
                .schemes
                .iter()
                .zip(&ds_listeners)
                .enumerate()
                .map(|(i, (scheme, listener))| match &scheme.url {
                    Some(url) => Ok(url.clone()),
                    None => derived(listener, 2 + i as u16, "DS").map(|base| format!("{base}/")),
                })
                .collect(),
            // Its own site name, so the ACS's pages are another site than the shop's.
            acs_site: match &ecosystem.acs.site_url {
                Some(url) => Ok(url.trim_end_matches('/').to_owned()),
                None => derived_on("acs.localhost", &site_listener, after_ds, "ACS site"),
            },
            merchant: derived(&merchant_listener, after_ds + 1, "merchant"),
        };
        let root = layout.tls_root_ca();
        let mut servers = Vec::new();
        // Each client can present a faulty identity when a certificate fault says so.
        let faulty = |client: Client, name: &str| -> Result<Client, SandboxError> {
            let ids = pki::faulty_identities(&config.certs, name)?;
            let expired = tls::client_config_tls12(&root, &ids.expired)?;
            let wrong_ca = tls::client_config_tls12(&root, &ids.wrong_ca)?;
            client
                .with_faulty_identities(&expired, &wrong_ca, config.timeouts)
                .map_err(setup)
        };

        let mut sweeper = None;
        // The issuer's back office, served behind the admin endpoint.
        let mut issuer = None;
        if let (Some(listener), Some(site)) = (acs_listener, site_listener) {
            let mut acs_state =
                acs::AcsState::new(ecosystem.issuer_data(), keys.clone(), store.clone()).await?;
            acs_state.reference_number = ecosystem.acs.reference_number.clone();
            acs_state.site_url = needed(&urls.acs_site)?;
            acs_state.clock = config.clock.clone();
            acs_state.ids = config.ids.stream("acs");
            acs_state.timeouts = config.challenge_timeouts;
            acs_state.signers =
                Arc::new(acs_signers(&config.certs, &spec, aws_kms.as_ref()).await?);
            acs::spc::enrol_test_credentials(&acs_state).await?;
            let identity = layout.tls_identity("acs");
            let client_tls = tls::client_config(&root, Some(&identity))?;
            acs_state.ds_client = Some(faulty(
                Client::traced(&client_tls, config.timeouts, observer(trace::Party::Acs))
                    .map_err(setup)?
                    .with_faults(faults.clone(), trace::Party::Acs),
                "acs",
            )?);
            acs_state.tracer = tracer.clone();
            acs_state.ds_identities = ecosystem
                .schemes
                .iter()
                .map(|s| acs::DsIdentity {
                    directory_server_id: s.directory_server_id.clone(),
                    common_name: s.identity(),
                })
                .collect();
            let acs_tls = tls::server_config(&identity, &root, ClientAuth::Required)?;
            let site_tls = tls::server_config(&identity, &root, ClientAuth::None)?;
            let acs_app =
                transport::traced(acs::app(acs_state.clone()), observer(trace::Party::Acs));
            servers.push(transport::serve(listener, &acs_tls, acs_app).map_err(setup)?);
            let site_app =
                transport::traced(acs::site(acs_state.clone()), observer(trace::Party::Acs));
            servers.push(transport::serve(site, &site_tls, site_app).map_err(setup)?);
            issuer = Some(acs::issuer(acs_state.clone()));
            sweeper = Some(acs::spawn_sweeper(acs_state, config.sweep_every));
        }

        let mut schemes = Vec::new();
        for ((scheme, listener), ds_url) in ecosystem.schemes.iter().zip(ds_listeners).zip(&urls.ds)
        {
            let files = layout.scheme(&scheme.name);
            if let Some(listener) = listener {
                let client_tls = tls::client_config(&root, Some(&files.ds_tls_identity()))?;
                let ds_observer = transport::Observer {
                    scheme: Some(scheme.name.clone()),
                    ..observer(trace::Party::Ds)
                };
                let client = faulty(
                    Client::traced(&client_tls, config.timeouts, ds_observer.clone())
                        .map_err(setup)?
                        .with_faults(faults.clone(), trace::Party::Ds),
                    &format!("ds-{}", scheme.name),
                )?;
                let ds_config = DsConfig {
                    directory_server_id: scheme.directory_server_id.clone(),
                    reference_number: scheme.reference_number.clone(),
                    url: needed(ds_url)?,
                    versions: versions(&scheme.versions),
                    routes: ecosystem.routes_of(
                        scheme,
                        &needed(&urls.acs)?,
                        urls.acs_site.as_deref().unwrap_or(""),
                    ),
                    device_data_key: Some(Arc::new(device_data_key(&files)?)),
                    server_identities: vec![ecosystem.threeds_server.identity()],
                };
                let state = DsState::new(ds_config, client, store.clone())
                    .map_err(SandboxError::Setup)?
                    .with_ids(config.ids.stream(&format!("ds-{}", scheme.name)));
                let server_tls =
                    tls::server_config(&files.ds_tls_identity(), &root, ClientAuth::Required)?;
                let ds_app = transport::traced(directory_server::app(state), ds_observer);
                servers.push(transport::serve(listener, &server_tls, ds_app).map_err(setup)?);
            }
            schemes.push(SchemeInfo {
                name: scheme.name.clone(),
                directory_server_id: scheme.directory_server_id.clone(),
                directory_server: ds_url.clone().unwrap_or_default(),
                ds_root_ca: absolute(&files.ds_root_ca()),
                ds_encryption_cert: absolute(&files.ds_encryption_cert()),
            });
        }

        let mut preparation = Vec::new();
        let mut refresh = None;
        if let Some(listener) = server_listener {
            let client_tls = tls::client_config(&root, Some(&layout.tls_identity("3ds-server")))?;
            let ds_client = Client::traced(
                &client_tls,
                config.timeouts,
                observer(trace::Party::ThreeDsServer),
            )
            .map_err(setup)?
            .with_faults(faults.clone(), trace::Party::ThreeDsServer);
            let ds_client = faulty(ds_client, "3ds-server")?;
            let own = &ecosystem.threeds_server;
            let server_config = ServerConfig {
                reference_number: own.reference_number.clone(),
                operator_id: own.operator_id.clone(),
                url: format!("{}/rreq", needed(&urls.server)?),
                versions: versions(&own.versions),
                directory_servers: ecosystem
                    .schemes
                    .iter()
                    .zip(&urls.ds)
                    .map(|(s, url)| {
                        Ok(DsPeer {
                            scheme: s.name.clone(),
                            directory_server_id: s.directory_server_id.clone(),
                            url: needed(url)?,
                            identity: s.identity(),
                        })
                    })
                    .collect::<Result<_, SandboxError>>()?,
                requestor_id: own.requestor_id.clone(),
                requestor_name: own.requestor_name.clone(),
                requestor_url: own.requestor_url.clone(),
                requestor_identities: own.requestor_identities(),
            };
            let server_state = ServerState::new(server_config, ds_client, store.clone())
                .with_ids_and_clock(config.ids.stream("3ds-server"), config.clock.clone());
            let server_tls = tls::server_config(
                &layout.tls_identity("3ds-server"),
                &root,
                ClientAuth::Required,
            )?;
            servers.push(
                transport::serve(
                    listener,
                    &server_tls,
                    transport::traced(
                        threeds_server::app(server_state.clone()),
                        observer(trace::Party::ThreeDsServer),
                    ),
                )
                .map_err(setup)?,
            );
            preparation = server_state.prepare().await;
            refresh = Some(
                server_state.spawn_refresh(Duration::from_secs(own.range_refresh_secs.max(1))),
            );
        }

        if let Some(listener) = merchant_listener {
            let client_tls = tls::client_config(&root, Some(&layout.tls_identity("requestor")))?;
            let client = Client::traced(
                &client_tls,
                config.timeouts,
                observer(trace::Party::Merchant),
            )
            .map_err(setup)?
            .with_faults(faults.clone(), trace::Party::Merchant);
            let client = faulty(client, "requestor")?;
            let mut merchant_config =
                merchant::MerchantConfig::new(&needed(&urls.merchant)?, &needed(&urls.server)?);
            merchant_config.method_timeout_ms = config.method_timeout_ms;
            merchant_config.test_cards = ecosystem
                .cards()
                .into_iter()
                .map(|c| (c.pan, format!("{} · {}", c.scheme, c.outcome)))
                .collect();
            let state = merchant::MerchantState::new(merchant_config, client, config.clock.clone());
            let server_tls =
                tls::server_config(&layout.tls_identity("merchant"), &root, ClientAuth::None)?;
            servers.push(
                transport::serve(
                    listener,
                    &server_tls,
                    transport::traced(merchant::app(state), observer(trace::Party::Merchant)),
                )
                .map_err(setup)?,
            );
        }

        // The admin endpoint (the trace, the faults): mutual TLS on loopback, the admin
        // certificate alone, and a TOTP session when a second factor is enrolled.
        let admin_url = format!("https://localhost:{}", port_of(&admin_listener)?);
        let admin_identity = pki::admin_identity(&config.certs)?;
        let totp = admin::access::enrolled(&config.data)
            .await
            .map_err(SandboxError::Setup)?;
        let needs_totp = totp.is_some();
        let audit_log = absolute(&config.data.join("audit.jsonl"));
        let access = Arc::new(
            admin::access::Access::new(&admin_identity.cert, totp, &audit_log, config.logs)
                .map_err(SandboxError::Setup)?,
        );
        let refusals = access.clone();
        let on_refused: transport::OnRefused =
            Arc::new(move |remote, why: &str| refusals.handshake_refused(remote, why));
        let closing = tokio_util::sync::CancellationToken::new();
        let admin_tls = tls::server_config(
            &layout.tls_identity("merchant"),
            &root,
            ClientAuth::Required,
        )?;
        servers.push(
            transport::serve_watched(
                admin_listener,
                &admin_tls,
                admin::app(admin::AdminState {
                    store: trace_store.clone(),
                    tracer: tracer.clone(),
                    access,
                    issuer,
                    database: store.clone(),
                    retention: config.retention,
                    closing: closing.clone(),
                    faults: faults.clone(),
                    losses: trace_losses,
                }),
                Some(on_refused),
            )
            .map_err(setup)?,
        );

        let manifest = Manifest {
            version: 1,
            endpoints: Endpoints {
                requestor_api: urls.server.unwrap_or_default(),
                directory_server: schemes
                    .first()
                    .map(|s| s.directory_server.clone())
                    .unwrap_or_default(),
                acs: urls.acs.unwrap_or_default(),
                acs_site: urls.acs_site.unwrap_or_default(),
                merchant: urls.merchant.unwrap_or_default(),
            },
            tls: TlsFiles {
                root_ca: absolute(&root),
                requestor_client_cert: absolute(&layout.tls_cert("requestor")),
                requestor_client_key: absolute(&layout.tls_key("requestor")),
            },
            schemes,
            database: database.describe(),
            trace_database,
            admin: AdminInfo {
                url: admin_url,
                client_cert: absolute(&admin_identity.cert),
                client_key: absolute(&admin_identity.key),
                totp: needs_totp,
                audit_log,
            },
            data: absolute(&config.data),
            keys: keys_info,
            config: config.ecosystem.origin.clone(),
        };
        Ok(Sandbox {
            manifest,
            servers,
            refresh,
            purger: spawn_purger(
                store.clone(),
                config.retention,
                trace_store.clone(),
                config.trace_keep,
            ),
            sweeper,
            store,
            trace_store,
            tracer,
            recorder,
            stop_recorder,
            closing,
            preparation,
        })
    }

    /// The tracer every component of this sandbox records through.
    pub fn tracer(&self) -> &trace::Tracer {
        &self.tracer
    }

    /// The components' database.
    pub fn store(&self) -> &store::Store {
        &self.store
    }

    /// The trace's database.
    pub fn trace_store(&self) -> &store::TraceStore {
        &self.trace_store
    }

    /// Stops every component (each drains its open connections first), then closes the
    /// database.
    pub async fn shutdown(self) {
        self.purger.abort();
        if let Some(refresh) = self.refresh {
            refresh.abort();
        }
        if let Some(sweeper) = self.sweeper {
            sweeper.abort();
        }
        // Live trace streams end first (so the admin server can drain); once every
        // server stopped, the recorder stores what is queued, and only then does the
        // database close.
        self.closing.cancel();
        for server in self.servers {
            server.shutdown().await;
        }
        self.stop_recorder.cancel();
        let _ = self.recorder.await;
        self.trace_store.close().await;
        self.store.close().await;
    }
}

/// Every minute, removes what was kept longer than `retention` allows, and the trace's
/// events past its newest `trace_keep`.
fn spawn_purger(
    store: store::Store,
    retention: Duration,
    trace: store::TraceStore,
    trace_keep: u64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(60));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = store.purge_expired(retention).await {
                eprintln!("sandbox: purging expired data: {e}");
            }
            if let Err(e) = trace.prune(trace_keep).await {
                eprintln!("sandbox: pruning the trace: {e}");
            }
        }
    })
}
