//! How a sandbox starts, one step per function, in the order [`run`] calls them: what
//! to run, the PKI, the key service, the components' database, the trace, every
//! listener (all bound before anything starts, so each component knows its peers'
//! URLs), one start function per component, the admin endpoint, and the manifest
//! describing the result.
//!
//! It must never start a component before every listener is bound, give a component
//! a peer's address other than through [`Urls`], or build a TLS configuration outside
//! `pki::tls`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use directory_server::{DsConfig, DsState};
use emv3ds::MessageVersion;
use pki::Layout;
use pki::tls::{self, ClientAuth};
use threeds_server::{DsPeer, ServerConfig, ServerState};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use transport::faults::Faults;
use transport::health::{Check, Readiness};
use transport::{Client, TlsServer};

use crate::{
    AdminInfo, Component, Endpoints, KEYS_AUDIT_LOG, KeyBackend, KeysInfo, Manifest, Sandbox,
    SandboxConfig, SandboxError, SchemeInfo, TlsFiles, admin,
};

/// Starts what `only` names (everything when `None`). Each line is a named step; it
/// stays one function (a little over 80 lines) so the order of the steps reads in one place.
pub(crate) async fn run(
    config: &SandboxConfig,
    only: Option<&Component>,
) -> Result<Sandbox, SandboxError> {
    check_component(config, only)?;
    let layout = Layout::new(&config.certs);
    let spec = pki_spec(config)?;
    ensure_pki(config, &layout, &spec)?;
    let keys = open_keys(config, only).await?;
    let (database, store) = open_store(config, only, &keys.service).await?;
    let trace = open_trace(config, only).await?;
    let listeners = Listeners::bind(config, only).await?;
    let urls = Urls::of(config, &listeners);
    let wiring = Wiring {
        config,
        layout: &layout,
        root: layout.tls_root_ca(),
        tracer: trace.tracer.clone(),
        faults: Faults::default(),
        store: store.clone(),
    };
    let Listeners {
        server,
        acs,
        ds,
        site,
        merchant,
        admin,
        health,
    } = listeners;
    let mut readiness = Readiness::default();
    own_checks(&mut readiness, &store, &keys.service);

    let mut servers = Vec::new();
    let acs = match (acs, site) {
        (Some(acs), Some(site)) => {
            Some(start_acs(&wiring, acs, site, &urls, &keys, &spec, &mut servers).await?)
        }
        _ => None,
    };
    let schemes = start_schemes(&wiring, ds, &urls, &mut servers)?;
    let mut preparation = Vec::new();
    let mut refresh = None;
    if let Some(listener) = server {
        let started = start_threeds_server(&wiring, listener, &urls).await?;
        server_checks(&mut readiness, config, &started.state);
        servers.push(started.server);
        preparation = started.preparation;
        refresh = Some(started.refresh);
    }
    if let Some(listener) = merchant {
        servers.push(start_merchant(&wiring, listener, &urls)?);
    }
    peer_checks(&mut readiness, config, only, &urls);
    let health = transport::health::serve(health, readiness).map_err(setup)?;
    let (sweeper, issuer) = acs.map_or((None, None), |a| (Some(a.sweeper), Some(a.issuer)));
    let admin = start_admin(&wiring, admin, &trace, issuer).await?;
    servers.push(admin.server);

    let mut manifest = describe(
        &wiring, urls, schemes, &database, &trace, admin.info, keys.info,
    );
    manifest.health = Some(format!("http://{}", health.local_addr()));
    Ok(Sandbox {
        manifest,
        servers,
        health,
        refresh,
        purger: spawn_purger(
            store.clone(),
            config.retention,
            trace.store.clone(),
            config.trace_keep,
        ),
        sweeper,
        store,
        trace_store: trace.store,
        tracer: trace.tracer,
        recorder: trace.recorder,
        stop_recorder: trace.stop_recorder,
        closing: admin.closing,
        preparation,
    })
}

/// The manifest of what started: every endpoint, the files a client needs, where the
/// data is.
fn describe(
    w: &Wiring<'_>,
    urls: Urls,
    schemes: Vec<SchemeInfo>,
    database: &store::Database,
    trace: &Trace,
    admin: AdminInfo,
    keys: KeysInfo,
) -> Manifest {
    Manifest {
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
            root_ca: absolute(&w.root),
            requestor_client_cert: absolute(&w.layout.tls_cert("requestor")),
            requestor_client_key: absolute(&w.layout.tls_key("requestor")),
        },
        schemes,
        database: database.describe(),
        trace_database: trace.database.clone(),
        admin,
        data: absolute(&w.config.data),
        keys,
        config: w.config.ecosystem.origin.clone(),
        health: None,
    }
}

/// What every process needs ready: the database answers, the key service works (a MAC
/// over a fixed probe, at most twice a minute: a KMS call is paid and audited).
fn own_checks(readiness: &mut Readiness, store: &store::Store, keys: &Arc<dyn kms::KeyService>) {
    let store = store.clone();
    readiness.add(Check::new("database", move || {
        let store = store.clone();
        async move { store.ping().await.map_err(|e| e.to_string()) }
    }));
    let keys = keys.clone();
    readiness.add(
        Check::new("keys", move || {
            let keys = keys.clone();
            async move {
                keys.mac(&kms::MacPurpose::PanLookup, b"threeds readiness probe")
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
        .cached(Duration::from_secs(30)),
    );
}

/// The 3DS Server is ready once it holds card ranges from every DS.
fn server_checks(readiness: &mut Readiness, config: &SandboxConfig, state: &ServerState) {
    for scheme in &config.ecosystem.schemes {
        let (state, id) = (state.clone(), scheme.directory_server_id.clone());
        readiness.add(Check::new(
            format!("card ranges {}", scheme.name),
            move || {
                let ready = state.has_ranges(&id);
                async move {
                    ready
                        .then_some(())
                        .ok_or_else(|| "no card ranges loaded from this DS yet".to_owned())
                }
            },
        ));
    }
}

/// The peers each component here calls accept connections: the 3DS Server's DSs, a
/// DS's ACS, the ACS's DSs (RReq), the shop's 3DS Server.
fn peer_checks(
    readiness: &mut Readiness,
    config: &SandboxConfig,
    only: Option<&Component>,
    urls: &Urls,
) {
    let runs = |c: &Component| only.is_none_or(|o| o == c);
    let mut peers: Vec<(String, &Located)> = Vec::new();
    let schemes = config.ecosystem.schemes.iter().zip(&urls.ds);
    if runs(&Component::ThreeDsServer) || runs(&Component::Acs) {
        peers.extend(
            schemes
                .clone()
                .map(|(s, url)| (format!("DS {}", s.name), url)),
        );
    }
    if schemes
        .clone()
        .any(|(s, _)| runs(&Component::Ds(s.name.clone())))
    {
        peers.push(("ACS".into(), &urls.acs));
    }
    if runs(&Component::Merchant) {
        peers.push(("3DS Server".into(), &urls.server));
    }
    for (name, url) in peers {
        if let Ok(url) = url {
            readiness.add(Check::reachable(name, url));
        }
    }
}

/// The PKI this sandbox needs: its schemes, and every name it is advertised by (the
/// public host, the hosts of the URLs the ecosystem file gives).
fn pki_spec(config: &SandboxConfig) -> Result<pki::PkiSpec, SandboxError> {
    let mut spec = config.ecosystem.pki_spec();
    if let Some(host) = &config.public_host {
        if !pki::valid_name(host) {
            return Err(SandboxError::Setup(format!(
                "--public-host {host:?}: expected a DNS name or an IP address"
            )));
        }
        if !spec.names.contains(host) {
            spec.names.push(host.clone());
        }
    }
    Ok(spec)
}

/// `threeds serve ds <name>` names a scheme the ecosystem has.
fn check_component(config: &SandboxConfig, only: Option<&Component>) -> Result<(), SandboxError> {
    let schemes = &config.ecosystem.schemes;
    if let Some(Component::Ds(name)) = only
        && !schemes.iter().any(|s| &s.name == name)
    {
        let known: Vec<&str> = schemes.iter().map(|s| s.name.as_str()).collect();
        return Err(SandboxError::Setup(format!(
            "no scheme named {name} (the ecosystem has {})",
            known.join(", ")
        )));
    }
    Ok(())
}

/// Generates the PKI when there is none; refuses one that lacks a scheme's files.
fn ensure_pki(
    config: &SandboxConfig,
    layout: &Layout,
    spec: &pki::PkiSpec,
) -> Result<(), SandboxError> {
    if !layout.exists() {
        pki::init(&config.certs, spec, false)?;
    }
    for (file, name) in uncovered_names(layout, &spec.names) {
        tracing::warn!(
            certificate = %file,
            name = %name,
            "a certificate does not cover a name this sandbox is advertised by; clients \
             reaching it by that name will refuse it: regenerate with `threeds pki init --force` \
             and the same --config and --name"
        );
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
    Ok(())
}

/// Each server certificate of the PKI in `layout` (the components' TLS identities) and
/// each of `names` it does not cover.
pub(crate) fn uncovered_names(layout: &Layout, names: &[String]) -> Vec<(String, String)> {
    let Ok(inventory) = pki::inventory(layout.root()) else {
        return Vec::new();
    };
    // Server certificates are the ones with IP addresses (client-only ones have none);
    // the faults' certificates are wrong on purpose.
    let servers = inventory.certificates.iter().filter(|c| {
        !c.is_ca && c.names.iter().any(|n| n == "127.0.0.1") && !c.file.starts_with("faults/")
    });
    let mut missing = Vec::new();
    for cert in servers {
        for name in names {
            if !cert.names.contains(name) {
                missing.push((cert.file.clone(), name.clone()));
            }
        }
    }
    missing
}

/// The key service, what the manifest says of it, and the KMS client when that is the
/// backend (it also signs `acsSignedContent`, [`acs_signers`]).
struct Keys {
    service: Arc<dyn kms::KeyService>,
    info: KeysInfo,
    aws: Option<Arc<kms::AwsKms>>,
}

async fn open_keys(config: &SandboxConfig, only: Option<&Component>) -> Result<Keys, SandboxError> {
    match &config.keys {
        KeyBackend::Software => {
            let path = absolute(&config.data.join("keys/master.key"));
            let audit_log = absolute(&config.data.join(KEYS_AUDIT_LOG));
            let who = only.map_or_else(|| "sandbox".to_owned(), Component::name);
            let keys = kms::SoftwareKeys::open_or_create(&path)?
                .audited(kms::AuditLog::open_rotating(&audit_log, &who, config.logs)?);
            Ok(Keys {
                service: Arc::new(keys),
                info: KeysInfo::Software {
                    master_key: path,
                    audit_log: Some(audit_log),
                },
                aws: None,
            })
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
            Ok(Keys {
                service: connected.clone(),
                info,
                aws: Some(connected),
            })
        }
    }
}

/// The components' database: the configured one, or a SQLite file in the data
/// directory (one per component under `threeds serve`).
async fn open_store(
    config: &SandboxConfig,
    only: Option<&Component>,
    keys: &Arc<dyn kms::KeyService>,
) -> Result<(store::Database, store::Store), SandboxError> {
    let database = match &config.database {
        Some(store::Database::Sqlite(path)) => store::Database::Sqlite(absolute(path)),
        Some(database) => database.clone(),
        None => store::Database::Sqlite(absolute(&config.data.join(match only {
            None => "sandbox.db".to_owned(),
            Some(c) => format!("{}.db", c.name()),
        }))),
    };
    let store = store::Store::connect(&database, keys.clone()).await?;
    Ok((database, store))
}

/// The trace: its database, the tracer every component records through, and the task
/// that stores what they record.
struct Trace {
    store: store::TraceStore,
    database: PathBuf,
    tracer: trace::Tracer,
    recorder: JoinHandle<()>,
    stop_recorder: CancellationToken,
    losses: Arc<admin::TraceLosses>,
}

async fn open_trace(
    config: &SandboxConfig,
    only: Option<&Component>,
) -> Result<Trace, SandboxError> {
    let database = absolute(&config.data.join(match only {
        None => "trace.db".to_owned(),
        Some(c) => format!("{}-trace.db", c.name()),
    }));
    let store = store::TraceStore::open(&database).await?;
    let clock = config.clock.clone();
    let first_seq = store.last_seq().await? + 1;
    let (mut tracer, recorded) = if config.virtual_time {
        trace::Tracer::on_virtual_time(first_seq, move || clock.now_ms())
    } else {
        trace::Tracer::new(first_seq, move || clock.now_ms())
    };
    if !config.trace {
        tracer = trace::Tracer::default();
    }
    let stop_recorder = CancellationToken::new();
    let losses = Arc::new(admin::TraceLosses::default());
    let recorder = tokio::spawn(admin::record(
        store.clone(),
        recorded,
        stop_recorder.clone(),
        losses.clone(),
    ));
    Ok(Trace {
        store,
        database,
        tracer,
        recorder,
        stop_recorder,
        losses,
    })
}

/// Every listener of what runs here, bound before anything starts.
struct Listeners {
    server: Option<TcpListener>,
    acs: Option<TcpListener>,
    /// One per scheme, in the ecosystem's order.
    ds: Vec<Option<TcpListener>>,
    site: Option<TcpListener>,
    merchant: Option<TcpListener>,
    admin: TcpListener,
    /// Plain HTTP: `/healthz` and `/readyz` only (`transport::health`).
    health: TcpListener,
}

impl Listeners {
    /// Port `port_base + offset` for each (0 when the base is 0): the 3DS Server, the
    /// ACS, one DS per scheme, the ACS site, the merchant, the admin endpoint.
    async fn bind(
        config: &SandboxConfig,
        only: Option<&Component>,
    ) -> Result<Listeners, SandboxError> {
        let runs = |c: &Component| only.is_none_or(|o| o == c);
        let port = |i: u16| {
            if config.port_base == 0 {
                0
            } else {
                config.port_base + i
            }
        };
        let here = |c: Component, i: u16| async move {
            if runs(&c) {
                bind(config.host, port(i)).await.map(Some)
            } else {
                Ok(None)
            }
        };
        let server = here(Component::ThreeDsServer, 0).await?;
        let acs = here(Component::Acs, 1).await?;
        let mut ds = Vec::new();
        for (i, scheme) in config.ecosystem.schemes.iter().enumerate() {
            ds.push(here(Component::Ds(scheme.name.clone()), 2 + i as u16).await?);
        }
        let after_ds = after_ds(config);
        let site = here(Component::Acs, after_ds).await?;
        let merchant = here(Component::Merchant, after_ds + 1).await?;
        // Loopback only, whatever `host` is: the trace is not for the network.
        let admin = bind(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            match (config.port_base, only) {
                (0, _) | (_, Some(_)) => 0,
                (base, None) => base + after_ds + 2,
            },
        )
        .await?;
        let health = bind(
            config.host,
            match (config.health_port, config.port_base, only) {
                (Some(port), _, _) => port,
                (None, 0, _) | (None, _, Some(_)) => 0,
                (None, base, None) => base + after_ds + 3,
            },
        )
        .await?;
        Ok(Listeners {
            server,
            acs,
            ds,
            site,
            merchant,
            admin,
            health,
        })
    }
}

/// The port offset of the first listener after the DSs'.
fn after_ds(config: &SandboxConfig) -> u16 {
    2 + config.ecosystem.schemes.len() as u16
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

impl Urls {
    fn of(config: &SandboxConfig, listeners: &Listeners) -> Urls {
        let ecosystem = &config.ecosystem;
        let after_ds = after_ds(config);
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
        // Brackets for an IPv6 address in a URL.
        let public = config
            .public_host
            .as_deref()
            .map(|h| match h.parse::<std::net::Ipv6Addr>() {
                Ok(_) => format!("[{h}]"),
                Err(_) => h.to_owned(),
            });
        let derived = |listener: &Option<TcpListener>, i: u16, what: &str| {
            derived_on(public.as_deref().unwrap_or("localhost"), listener, i, what)
        };
        Urls {
            server: match &ecosystem.threeds_server.url {
                Some(url) => Ok(url.trim_end_matches('/').to_owned()),
                None => derived(&listeners.server, 0, "3DS Server"),
            },
            acs: match &ecosystem.acs.url {
                Some(url) => Ok(url.clone()),
                None => derived(&listeners.acs, 1, "ACS").map(|base| format!("{base}/areq")),
            },
            ds: ecosystem
                .schemes
                .iter()
                .zip(&listeners.ds)
                .enumerate()
                .map(|(i, (scheme, listener))| match &scheme.url {
                    Some(url) => Ok(url.clone()),
                    None => derived(listener, 2 + i as u16, "DS").map(|base| format!("{base}/")),
                })
                .collect(),
            // Its own site name, so the ACS's pages are another site than the shop's.
            acs_site: match &ecosystem.acs.site_url {
                Some(url) => Ok(url.trim_end_matches('/').to_owned()),
                None => derived_on(
                    public.as_deref().unwrap_or("acs.localhost"),
                    &listeners.site,
                    after_ds,
                    "ACS site",
                ),
            },
            merchant: derived(&listeners.merchant, after_ds + 1, "merchant"),
        }
    }
}

/// A URL a starting component needs.
fn needed(url: &Located) -> Result<String, SandboxError> {
    url.clone().map_err(SandboxError::Setup)
}

/// What every component is wired with: the configuration, the PKI, the trace, the
/// faults in force and the database.
struct Wiring<'a> {
    config: &'a SandboxConfig,
    layout: &'a Layout,
    root: PathBuf,
    tracer: trace::Tracer,
    faults: Faults,
    store: store::Store,
}

impl Wiring<'_> {
    fn observer(&self, party: trace::Party) -> transport::Observer {
        transport::Observer {
            tracer: self.tracer.clone(),
            party,
            scheme: None,
        }
    }

    /// A client presenting `identity`, traced through `observer`, with the faults in
    /// force for `party`, that can present the faulty identities of `name` when a
    /// certificate fault says so.
    fn client(
        &self,
        identity: &tls::Identity,
        observer: transport::Observer,
        party: trace::Party,
        name: &str,
    ) -> Result<Client, SandboxError> {
        let client_tls = tls::client_config(&self.root, Some(identity))?;
        let client = Client::traced(&client_tls, self.config.timeouts, observer)
            .map_err(setup)?
            .with_faults(self.faults.clone(), party);
        let ids = pki::faulty_identities(&self.config.certs, name)?;
        let expired = tls::client_config_tls12(&self.root, &ids.expired)?;
        let wrong_ca = tls::client_config_tls12(&self.root, &ids.wrong_ca)?;
        client
            .with_faulty_identities(&expired, &wrong_ca, self.config.timeouts)
            .map_err(setup)
    }
}

/// What the ACS leaves running beside its two servers.
struct AcsStarted {
    /// The issuer's back office, served behind the admin endpoint.
    issuer: Router,
    sweeper: JoinHandle<()>,
}

/// The ACS: `/areq` behind mutual TLS for its DSs, the cardholder's site behind
/// server-authenticated TLS, and the sweep of its challenge timers.
async fn start_acs(
    w: &Wiring<'_>,
    listener: TcpListener,
    site: TcpListener,
    urls: &Urls,
    keys: &Keys,
    spec: &pki::PkiSpec,
    servers: &mut Vec<TlsServer>,
) -> Result<AcsStarted, SandboxError> {
    let config = w.config;
    let ecosystem = &config.ecosystem;
    let mut state = acs::AcsState::new(
        ecosystem.issuer_data(),
        keys.service.clone(),
        w.store.clone(),
    )
    .await?;
    state.reference_number = ecosystem.acs.reference_number.clone();
    state.site_url = needed(&urls.acs_site)?;
    state.clock = config.clock.clone();
    state.ids = config.ids.stream("acs");
    state.timeouts = config.challenge_timeouts;
    state.signers = Arc::new(acs_signers(&config.certs, spec, keys.aws.as_ref()).await?);
    acs::spc::enrol_test_credentials(&state).await?;
    let identity = w.layout.tls_identity("acs");
    state.ds_client = Some(w.client(
        &identity,
        w.observer(trace::Party::Acs),
        trace::Party::Acs,
        "acs",
    )?);
    state.tracer = w.tracer.clone();
    state.ds_identities = ecosystem
        .schemes
        .iter()
        .map(|s| acs::DsIdentity {
            directory_server_id: s.directory_server_id.clone(),
            common_name: s.identity(),
        })
        .collect();
    let acs_tls = tls::server_config(&identity, &w.root, ClientAuth::Required)?;
    let site_tls = tls::server_config(&identity, &w.root, ClientAuth::None)?;
    let acs_app = transport::logged(
        transport::traced(acs::app(state.clone()), w.observer(trace::Party::Acs)),
        "acs",
    );
    servers.push(transport::serve(listener, &acs_tls, acs_app).map_err(setup)?);
    let site_app = transport::logged(
        transport::traced(acs::site(state.clone()), w.observer(trace::Party::Acs)),
        "acs-site",
    );
    servers.push(transport::serve(site, &site_tls, site_app).map_err(setup)?);
    Ok(AcsStarted {
        issuer: acs::issuer(state.clone()),
        sweeper: acs::spawn_sweeper(state, config.sweep_every),
    })
}

/// The DS of every scheme that runs here; what the manifest says of every scheme.
fn start_schemes(
    w: &Wiring<'_>,
    listeners: Vec<Option<TcpListener>>,
    urls: &Urls,
    servers: &mut Vec<TlsServer>,
) -> Result<Vec<SchemeInfo>, SandboxError> {
    let mut schemes = Vec::new();
    for ((scheme, listener), url) in w
        .config
        .ecosystem
        .schemes
        .iter()
        .zip(listeners)
        .zip(&urls.ds)
    {
        if let Some(listener) = listener {
            servers.push(start_ds(w, scheme, listener, url, urls)?);
        }
        let files = w.layout.scheme(&scheme.name);
        schemes.push(SchemeInfo {
            name: scheme.name.clone(),
            directory_server_id: scheme.directory_server_id.clone(),
            directory_server: url.clone().unwrap_or_default(),
            ds_root_ca: absolute(&files.ds_root_ca()),
            ds_encryption_cert: absolute(&files.ds_encryption_cert()),
        });
    }
    Ok(schemes)
}

/// One scheme's DS behind mutual TLS, routing by the scheme's card ranges.
fn start_ds(
    w: &Wiring<'_>,
    scheme: &crate::config::SchemeSection,
    listener: TcpListener,
    url: &Located,
    urls: &Urls,
) -> Result<TlsServer, SandboxError> {
    let ecosystem = &w.config.ecosystem;
    let files = w.layout.scheme(&scheme.name);
    let observer = transport::Observer {
        scheme: Some(scheme.name.clone()),
        ..w.observer(trace::Party::Ds)
    };
    let client = w.client(
        &files.ds_tls_identity(),
        observer.clone(),
        trace::Party::Ds,
        &format!("ds-{}", scheme.name),
    )?;
    let ds_config = DsConfig {
        directory_server_id: scheme.directory_server_id.clone(),
        reference_number: scheme.reference_number.clone(),
        url: needed(url)?,
        versions: versions(&scheme.versions),
        routes: ecosystem.routes_of(
            scheme,
            &needed(&urls.acs)?,
            urls.acs_site.as_deref().unwrap_or(""),
        ),
        device_data_key: Some(Arc::new(device_data_key(&files)?)),
        server_identities: vec![ecosystem.threeds_server.identity()],
    };
    let state = DsState::new(ds_config, client, w.store.clone())?
        .with_ids(w.config.ids.stream(&format!("ds-{}", scheme.name)));
    let server_tls = tls::server_config(&files.ds_tls_identity(), &w.root, ClientAuth::Required)?;
    let app = transport::logged(
        transport::traced(directory_server::app(state), observer),
        &format!("ds-{}", scheme.name),
    );
    transport::serve(listener, &server_tls, app).map_err(setup)
}

/// The 3DS Server, once it ran its first PReq to every DS.
struct ServerStarted {
    server: TlsServer,
    state: ServerState,
    preparation: Vec<(String, Result<usize, threeds_server::PrepareError>)>,
    refresh: JoinHandle<()>,
}

/// The 3DS Server behind mutual TLS (its requestors, its DSs), its first PReq to each
/// DS, and the task that refreshes their card ranges.
async fn start_threeds_server(
    w: &Wiring<'_>,
    listener: TcpListener,
    urls: &Urls,
) -> Result<ServerStarted, SandboxError> {
    let ecosystem = &w.config.ecosystem;
    let identity = w.layout.tls_identity("3ds-server");
    let ds_client = w.client(
        &identity,
        w.observer(trace::Party::ThreeDsServer),
        trace::Party::ThreeDsServer,
        "3ds-server",
    )?;
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
    let state = ServerState::new(server_config, ds_client, w.store.clone())
        .with_ids_and_clock(w.config.ids.stream("3ds-server"), w.config.clock.clone());
    let server_tls = tls::server_config(&identity, &w.root, ClientAuth::Required)?;
    let app = transport::logged(
        transport::traced(
            threeds_server::app(state.clone()),
            w.observer(trace::Party::ThreeDsServer),
        ),
        "3ds-server",
    );
    let server = transport::serve(listener, &server_tls, app).map_err(setup)?;
    Ok(ServerStarted {
        server,
        state: state.clone(),
        preparation: state.prepare().await,
        refresh: state.spawn_refresh(Duration::from_secs(own.range_refresh_secs.max(1))),
    })
}

/// The mock merchant's shop (server-authenticated TLS), a requestor of the 3DS Server.
fn start_merchant(
    w: &Wiring<'_>,
    listener: TcpListener,
    urls: &Urls,
) -> Result<TlsServer, SandboxError> {
    let client = w.client(
        &w.layout.tls_identity("requestor"),
        w.observer(trace::Party::Merchant),
        trace::Party::Merchant,
        "requestor",
    )?;
    let mut merchant_config =
        merchant::MerchantConfig::new(&needed(&urls.merchant)?, &needed(&urls.server)?);
    merchant_config.method_timeout_ms = w.config.method_timeout_ms;
    merchant_config.test_cards = w
        .config
        .ecosystem
        .cards()
        .into_iter()
        .map(|c| (c.pan, format!("{} · {}", c.scheme, c.outcome)))
        .collect();
    let state = merchant::MerchantState::new(merchant_config, client, w.config.clock.clone());
    let server_tls = tls::server_config(
        &w.layout.tls_identity("merchant"),
        &w.root,
        ClientAuth::None,
    )?;
    let app = transport::logged(
        transport::traced(merchant::app(state), w.observer(trace::Party::Merchant)),
        "merchant",
    );
    transport::serve(listener, &server_tls, app).map_err(setup)
}

/// The admin endpoint, what the manifest says of it, and what ends its live streams.
struct AdminStarted {
    server: TlsServer,
    info: AdminInfo,
    closing: CancellationToken,
}

/// The admin endpoint (the trace, the faults, the issuer's back office): mutual TLS on
/// loopback, the admin certificate alone, and a TOTP session when a second factor is
/// enrolled.
async fn start_admin(
    w: &Wiring<'_>,
    listener: TcpListener,
    trace: &Trace,
    issuer: Option<Router>,
) -> Result<AdminStarted, SandboxError> {
    let config = w.config;
    let url = format!("https://localhost:{}", port_of(&listener)?);
    let identity = pki::admin_identity(&config.certs)?;
    let totp = admin::access::enrolled(&config.data)
        .await
        .map_err(SandboxError::Setup)?;
    let needs_totp = totp.is_some();
    let audit_log = absolute(&config.data.join("audit.jsonl"));
    let access = Arc::new(
        admin::access::Access::new(&identity.cert, totp, &audit_log, config.logs)
            .map_err(SandboxError::Setup)?,
    );
    let refusals = access.clone();
    let on_refused: transport::OnRefused =
        Arc::new(move |remote, why: &str| refusals.handshake_refused(remote, why));
    let closing = CancellationToken::new();
    let admin_tls = tls::server_config(
        &w.layout.tls_identity("merchant"),
        &w.root,
        ClientAuth::Required,
    )?;
    let app = admin::app(admin::AdminState {
        store: trace.store.clone(),
        tracer: w.tracer.clone(),
        access,
        issuer,
        database: w.store.clone(),
        retention: config.retention,
        closing: closing.clone(),
        faults: w.faults.clone(),
        losses: trace.losses.clone(),
    });
    let app = transport::logged(app, "admin");
    let server =
        transport::serve_watched(listener, &admin_tls, app, Some(on_refused)).map_err(setup)?;
    Ok(AdminStarted {
        server,
        info: AdminInfo {
            url,
            client_cert: absolute(&identity.cert),
            client_key: absolute(&identity.key),
            totp: needs_totp,
            audit_log,
        },
        closing,
    })
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
            let started = std::time::Instant::now();
            let purged = store.purge_expired(retention).await;
            let pruned = trace.prune(trace_keep).await;
            match (&purged, &pruned) {
                (Ok(purged), Ok(pruned)) => tracing::info!(
                    target: "threeds::job",
                    job = "purge",
                    expired_values_purged = purged,
                    trace_events_pruned = pruned,
                    ms = started.elapsed().as_millis(),
                    "job done"
                ),
                _ => {
                    if let Err(e) = purged {
                        tracing::error!(target: "threeds::job", job = "purge", error = %e, "purging expired data failed");
                    }
                    if let Err(e) = pruned {
                        tracing::error!(target: "threeds::job", job = "purge", error = %e, "pruning the trace failed");
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_pki_does_not_cover_are_found_on_every_server_certificate() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut spec = pki::PkiSpec::default();
        pki::init(dir.path(), &spec, false).expect("a PKI");
        let layout = Layout::new(dir.path());
        let name = "elsewhere.example".to_owned();
        let missing = uncovered_names(&layout, std::slice::from_ref(&name));
        let files: Vec<&str> = missing.iter().map(|(file, _)| file.as_str()).collect();
        for server in [
            "tls/3ds-server.crt",
            "tls/acs.crt",
            "tls/merchant.crt",
            "tls/ds-alpha.crt",
        ] {
            assert!(files.contains(&server), "{server} not in {files:?}");
        }
        assert!(
            !files.contains(&"tls/requestor.crt"),
            "a client certificate: {files:?}"
        );
        spec.names = vec![name.clone()];
        pki::init(dir.path(), &spec, true).expect("a PKI with the name");
        assert_eq!(uncovered_names(&layout, &[name]), Vec::new());
    }
}
