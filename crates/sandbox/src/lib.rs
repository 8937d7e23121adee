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
mod start;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pki::tls;
use serde::{Deserialize, Serialize};
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
    /// The port of the health listener (plain HTTP on `host`: `GET /healthz`, `GET
    /// /readyz`, for probes without a client certificate; `transport::health`). `None`:
    /// the port after the admin endpoint's when everything runs on a fixed
    /// `port_base`, else one the OS chooses. Named in the manifest.
    pub health_port: Option<u16>,
    /// The host name or IP address every URL this sandbox derives from its listeners
    /// is advertised with (in messages, pages, redirects and the manifest), instead of
    /// `localhost` and `acs.localhost`: what a phone, an emulator, another container or
    /// host reaches it by. URLs the ecosystem file gives are used as they are. A PKI
    /// generated here covers it; `None` keeps the loopback names.
    pub public_host: Option<String>,
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
            health_port: None,
            public_host: None,
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
    /// The health listener (`http://…`: `/healthz`, `/readyz`); absent in manifests
    /// written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
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
    #[error("a directory server: {0}")]
    Ds(#[from] directory_server::DsError),
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
    health: transport::health::HealthServer,
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
    pub preparation: Vec<(String, Result<usize, threeds_server::PrepareError>)>,
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
        start::run(config, None).await
    }

    /// Starts one component; its peers are found by URL (configured, or derived from
    /// `port_base`), so `port_base` cannot be 0 unless every peer's `url` is set.
    pub async fn serve(
        config: &SandboxConfig,
        component: &Component,
    ) -> Result<Sandbox, SandboxError> {
        start::run(config, Some(component)).await
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
        self.health.shutdown().await;
        for server in self.servers {
            server.shutdown().await;
        }
        self.stop_recorder.cancel();
        let _ = self.recorder.await;
        self.trace_store.close().await;
        self.store.close().await;
    }
}
