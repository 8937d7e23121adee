//! The whole sandbox in one process: what `threeds up` runs and what the end-to-end
//! tests start (on port 0, with temporary directories).
//!
//! It generates the PKI if there is none, opens the key service, binds every listener
//! first (so each component knows its peers' URLs), starts the ACS, one DS per scheme
//! and the 3DS Server — each a real HTTPS service behind mutual TLS, talking to the
//! others only over the network — runs the 3DS Server's first PReq, and describes the
//! result in a [`Manifest`].

pub mod cards;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use acs::issuer::{Card, IssuerData, Outcome, Scheme};
use acs::risk::Rules;
use directory_server::{AcsRoute, DsConfig, DsState};
use emv3ds::MessageVersion;
use emv3ds::card_ranges::RangeEntry;
use pki::tls::{self, ClientAuth};
use pki::{Layout, PkiSpec};
use serde::Serialize;
use threeds_server::{DsPeer, ServerConfig, ServerState};
use tokio::net::TcpListener;
use transport::{Client, Timeouts, TlsServer};

pub use cards::{TestCard, cards};

/// Where the sandbox keeps things and where it listens.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The PKI directory (generated when empty).
    pub certs: PathBuf,
    /// Data directory (the software master key).
    pub data: PathBuf,
    pub host: IpAddr,
    /// First port: 3DS Server, then ACS, then one DS per scheme. 0: chosen by the OS.
    pub port_base: u16,
    /// Timeouts of calls between components.
    pub timeouts: Timeouts,
    /// How often the 3DS Server asks each DS for card-range changes.
    pub range_refresh: std::time::Duration,
}

impl Default for SandboxConfig {
    fn default() -> SandboxConfig {
        SandboxConfig {
            certs: PathBuf::from("certs"),
            data: PathBuf::from(".threeds"),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port_base: 7440,
            timeouts: Timeouts::default(),
            range_refresh: std::time::Duration::from_secs(3600),
        }
    }
}

/// What a running sandbox tells scripts and tools (written as JSON by `threeds up`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub version: u32,
    pub endpoints: Endpoints,
    pub tls: TlsFiles,
    pub schemes: Vec<SchemeInfo>,
    /// The SQLite database every component keeps its state in.
    pub database: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub requestor_api: String,
    /// The first scheme's DS (each scheme's is in `schemes`).
    pub directory_server: String,
    pub acs: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsFiles {
    pub root_ca: PathBuf,
    pub requestor_client_cert: PathBuf,
    pub requestor_client_key: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
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
    #[error("{0}")]
    Setup(String),
}

/// A running sandbox.
#[derive(Debug)]
pub struct Sandbox {
    pub manifest: Manifest,
    servers: Vec<TlsServer>,
    refresh: tokio::task::JoinHandle<()>,
    store: store::Store,
    /// Why each DS's card ranges could not be fetched at start, if any.
    pub preparation: Vec<(String, Result<usize, String>)>,
}

const VERSIONS: [MessageVersion; 3] = MessageVersion::ALL;

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

async fn bind(host: IpAddr, port: u16) -> Result<TcpListener, SandboxError> {
    let addr = SocketAddr::new(host, port);
    TcpListener::bind(addr)
        .await
        .map_err(|source| SandboxError::Bind { addr, source })
}

fn url(listener: &TcpListener, path: &str) -> Result<String, SandboxError> {
    let port = listener
        .local_addr()
        .map_err(|e| SandboxError::Setup(e.to_string()))?
        .port();
    // `localhost` is on every TLS certificate and resolves without DNS.
    Ok(format!("https://localhost:{port}{path}"))
}

impl Sandbox {
    /// Starts everything.
    pub async fn start(config: &SandboxConfig) -> Result<Sandbox, SandboxError> {
        let layout = Layout::new(&config.certs);
        let spec = PkiSpec::default();
        if !layout.exists() {
            pki::init(&config.certs, &spec, false)?;
        }
        let keys: Arc<dyn kms::KeyService> = Arc::new(kms::SoftwareKeys::open_or_create(
            &config.data.join("keys/master.key"),
        )?);
        let database = absolute(&config.data.join("sandbox.db"));
        let store = store::Store::open(&database, keys.clone()).await?;
        let port = |i: u16| {
            if config.port_base == 0 {
                0
            } else {
                config.port_base + i
            }
        };

        let server_listener = bind(config.host, port(0)).await?;
        let acs_listener = bind(config.host, port(1)).await?;
        let mut ds_listeners = Vec::new();
        for (i, _) in spec.schemes.iter().enumerate() {
            ds_listeners.push(bind(config.host, port(2 + i as u16)).await?);
        }
        let root = layout.tls_root_ca();
        let mut servers = Vec::new();

        // ACS.
        let acs_url = url(&acs_listener, "/areq")?;
        let acs_state = acs::AcsState::new(issuer_data(), keys.clone(), store.clone()).await?;
        let acs_tls = tls::server_config(&layout.tls_identity("acs"), &root, ClientAuth::Required)?;
        servers.push(serve(acs_listener, &acs_tls, acs::app(acs_state))?);

        // One DS per scheme.
        let mut schemes = Vec::new();
        for (scheme, listener) in spec.schemes.iter().zip(ds_listeners) {
            let files = layout.scheme(&scheme.name);
            let ds_url = url(&listener, "/")?;
            let client_tls = tls::client_config(&root, Some(&files.ds_tls_identity()))?;
            let client = Client::new(&client_tls, config.timeouts)
                .map_err(|e| SandboxError::Setup(e.to_string()))?;
            let ds_config = DsConfig {
                directory_server_id: scheme.directory_server_id.clone(),
                reference_number: "DS_LOA_DIS_SNDBX_020100_00001".into(),
                url: ds_url.clone(),
                versions: VERSIONS.to_vec(),
                routes: routes(&scheme.name, &acs_url),
            };
            let state =
                DsState::new(ds_config, client, store.clone()).map_err(SandboxError::Setup)?;
            let server_tls =
                tls::server_config(&files.ds_tls_identity(), &root, ClientAuth::Required)?;
            servers.push(serve(listener, &server_tls, directory_server::app(state))?);
            schemes.push(SchemeInfo {
                name: scheme.name.clone(),
                directory_server_id: scheme.directory_server_id.clone(),
                directory_server: ds_url,
                ds_root_ca: absolute(&files.ds_root_ca()),
                ds_encryption_cert: absolute(&files.ds_encryption_cert()),
            });
        }

        // 3DS Server.
        let requestor_api = url(&server_listener, "")?;
        let client_tls = tls::client_config(&root, Some(&layout.tls_identity("3ds-server")))?;
        let ds_client = Client::new(&client_tls, config.timeouts)
            .map_err(|e| SandboxError::Setup(e.to_string()))?;
        let server_config = ServerConfig {
            reference_number: "3DS_LOA_SER_SNDBX_020100_00001".into(),
            operator_id: "SANDBOX-OPERATOR".into(),
            url: format!("{requestor_api}/rreq"),
            versions: VERSIONS.to_vec(),
            directory_servers: schemes
                .iter()
                .map(|s| DsPeer {
                    scheme: s.name.clone(),
                    directory_server_id: s.directory_server_id.clone(),
                    url: s.directory_server.clone(),
                })
                .collect(),
            requestor_id: "SANDBOX-REQUESTOR-0001".into(),
            requestor_name: "Sandbox Shop".into(),
            requestor_url: "https://localhost/".into(),
        };
        let server_state = ServerState::new(server_config, ds_client, store.clone());
        let server_tls = tls::server_config(
            &layout.tls_identity("3ds-server"),
            &root,
            ClientAuth::Required,
        )?;
        servers.push(serve(
            server_listener,
            &server_tls,
            threeds_server::app(server_state.clone()),
        )?);
        let preparation = server_state.prepare().await;
        let refresh = server_state.spawn_refresh(config.range_refresh);

        let manifest = Manifest {
            version: 1,
            endpoints: Endpoints {
                requestor_api,
                directory_server: schemes
                    .first()
                    .map(|s| s.directory_server.clone())
                    .unwrap_or_default(),
                acs: acs_url,
            },
            tls: TlsFiles {
                root_ca: absolute(&root),
                requestor_client_cert: absolute(&layout.tls_cert("requestor")),
                requestor_client_key: absolute(&layout.tls_key("requestor")),
            },
            schemes,
            database,
        };
        Ok(Sandbox {
            manifest,
            servers,
            refresh,
            store,
            preparation,
        })
    }

    /// Stops every component (each drains its open connections first).
    pub async fn shutdown(self) {
        self.refresh.abort();
        for server in self.servers {
            server.shutdown().await;
        }
        self.store.close().await;
    }
}

fn serve(
    listener: TcpListener,
    tls: &rustls::ServerConfig,
    app: axum::Router,
) -> Result<TlsServer, SandboxError> {
    transport::serve(listener, tls, app).map_err(|e| SandboxError::Setup(e.to_string()))
}

/// The card ranges of a scheme's DS, all served by the sandbox's ACS.
fn routes(scheme: &str, acs_url: &str) -> Vec<AcsRoute> {
    let Some((_, _, prefix)) = cards::SCHEMES.iter().find(|(name, _, _)| *name == scheme) else {
        return Vec::new();
    };
    let range = |from: &str, to: &str, versions: &[MessageVersion]| AcsRoute {
        range: RangeEntry {
            start_range: format!("{prefix}{from}"),
            end_range: format!("{prefix}{to}"),
            acs_versions: versions.to_vec(),
            acs_info_ind: vec!["01".into(), "02".into()],
            three_ds_method_url: None,
        },
        acs_url: acs_url.to_owned(),
        acs_identity: Some("threeds ACS".into()),
    };
    vec![
        range("000000", "099999", &VERSIONS),
        range(
            "100000",
            "199999",
            &[MessageVersion::V2_1_0, MessageVersion::V2_2_0],
        ),
    ]
}

/// The ACS's issuer data: the shipped cards and each scheme's ECI convention.
fn issuer_data() -> IssuerData {
    let outcome = |name: &str| match name {
        "frictionless-Y" => Some(Outcome::FrictionlessY),
        "frictionless-A" => Some(Outcome::FrictionlessA),
        "frictionless-N" => Some(Outcome::FrictionlessN),
        "frictionless-R" => Some(Outcome::FrictionlessR),
        "frictionless-U" => Some(Outcome::FrictionlessU),
        _ => None,
    };
    IssuerData {
        cards: cards()
            .into_iter()
            .filter_map(|c| {
                Some(Card {
                    outcome: outcome(&c.outcome)?,
                    pan: c.pan,
                    description: c.description,
                })
            })
            .collect(),
        schemes: cards::SCHEMES
            .iter()
            .map(|(name, id, prefix)| Scheme {
                name: (*name).into(),
                directory_server_id: (*id).into(),
                prefixes: vec![(*prefix).into()],
                // alpha: Visa-style ECI; beta: Mastercard-style (fact sheet §10.1).
                eci: if *name == "alpha" {
                    ["05", "06", "07"]
                } else {
                    ["02", "01", "00"]
                },
            })
            .collect(),
        rules: Rules::default(),
    }
}
