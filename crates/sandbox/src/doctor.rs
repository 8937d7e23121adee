//! `threeds doctor`: a self-check of a running sandbox, or of any endpoints a manifest
//! names (your own components in place of ours included), against what a PCI-minded
//! operator would check.
//!
//! For each endpoint (`pki::probe`):
//! - **tls versions:** TLS 1.0 and 1.1 refused (a hand-written ClientHello), TLS 1.2
//!   and/or 1.3 accepted;
//! - **cipher suites:** no suite without AEAD or forward secrecy accepted at TLS 1.2
//!   (`probe::WEAK_SUITES`), and the policy's suites it accepts, listed;
//! - **client certificate:** required on server-to-server endpoints (the requestor
//!   API, the ACS's AReq endpoint, each DS, the admin endpoint), not on the
//!   cardholder-facing ones;
//! - **certificates:** the chain verifies against the sandbox's root, and no
//!   certificate in it (nor the root) expires within the warning window.
//!
//! For the sandbox itself:
//! - **keys:** the key backend opens and every key purpose works (an envelope round
//!   trip, each MAC);
//! - **database:** a scan of every table finds no card number in clear and nothing the
//!   store refuses (`store::Store::scan`, with the ecosystem's cards as known PANs);
//! - **config:** the ecosystem file hashes to what the sandbox recorded at start.
//!
//! Each check is a [`Check`]; the report passes when none failed.

use std::path::Path;
use std::sync::Arc;

use pki::probe::{self, HandshakeOptions, LegacyAnswer};
use serde::Serialize;

use crate::Manifest;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Fail,
}

/// One check on one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked: `tls versions`, `cipher suites`, `client certificate`,
    /// `certificates`, `keys`, `database`, `config`.
    pub check: String,
    /// What it was checked on: an endpoint's name, the key backend, the database.
    pub target: String,
    pub outcome: Outcome,
    pub detail: String,
}

/// Every check, in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub passed: bool,
    pub checks: Vec<Check>,
}

impl Report {
    fn push(&mut self, check: &str, target: &str, outcome: Outcome, detail: String) {
        self.checks.push(Check {
            check: check.to_owned(),
            target: target.to_owned(),
            outcome,
            detail,
        });
        self.passed = self.checks.iter().all(|c| c.outcome == Outcome::Ok);
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome == Outcome::Fail)
    }

    /// The report as a table, one check per line.
    pub fn table(&self) -> String {
        let width = |f: fn(&Check) -> &str, title: &str| {
            self.checks
                .iter()
                .map(|c| f(c).chars().count())
                .max()
                .unwrap_or(0)
                .max(title.len())
        };
        let (w_check, w_target) = (width(|c| &c.check, "CHECK"), width(|c| &c.target, "TARGET"));
        let mut out = format!(
            "{:<w_check$}  {:<w_target$}  RESULT  DETAIL\n",
            "CHECK", "TARGET"
        );
        for c in &self.checks {
            let result = match c.outcome {
                Outcome::Ok => "ok",
                Outcome::Fail => "FAIL",
            };
            out.push_str(&format!(
                "{:<w_check$}  {:<w_target$}  {result:<6}  {}\n",
                c.check, c.target, c.detail
            ));
        }
        let failed = self.failures().count();
        out.push_str(&if failed == 0 {
            format!("{} checks passed\n", self.checks.len())
        } else {
            format!("{failed} of {} checks failed\n", self.checks.len())
        });
        out
    }
}

/// What the doctor is told.
#[derive(Debug, Clone)]
pub struct Options {
    /// A certificate expiring within this many days fails.
    pub warn_days: i64,
    /// The database to scan, when the manifest's description is not enough (a
    /// PostgreSQL URL with its password).
    pub database: Option<store::Database>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            warn_days: 30,
            database: None,
        }
    }
}

/// An endpoint to probe.
#[derive(Debug, Clone)]
struct Endpoint {
    name: String,
    url: String,
    /// Server-to-server: a client certificate must be required.
    mutual: bool,
}

/// Runs every check on the sandbox `manifest` describes.
pub async fn examine(manifest: &Manifest, options: &Options) -> Report {
    let mut report = Report {
        passed: true,
        checks: Vec::new(),
    };
    let endpoints = endpoints(manifest);
    let root = manifest.tls.root_ca.clone();
    let identity = pki::tls::Identity {
        cert: manifest.tls.requestor_client_cert.clone(),
        key: manifest.tls.requestor_client_key.clone(),
    };
    let admin = pki::tls::Identity {
        cert: manifest.admin.client_cert.clone(),
        key: manifest.admin.client_key.clone(),
    };
    let admin_url = manifest.admin.url.clone();
    let warn_days = options.warn_days;
    let probed = tokio::task::spawn_blocking(move || {
        let mut checks = Report::default();
        for endpoint in &endpoints {
            let identity = if endpoint.url == admin_url {
                &admin
            } else {
                &identity
            };
            probe_endpoint(&mut checks, endpoint, &root, identity, warn_days);
        }
        checks
    })
    .await;
    match probed {
        Ok(probed) => {
            for c in probed.checks {
                report.push(&c.check, &c.target, c.outcome, c.detail);
            }
        }
        Err(e) => report.push(
            "tls",
            "endpoints",
            Outcome::Fail,
            format!("probe failed: {e}"),
        ),
    }
    check_root(&mut report, &manifest.tls.root_ca, warn_days);
    let keys = check_keys(&mut report, &manifest.keys).await;
    check_database(&mut report, manifest, options, keys).await;
    check_config(&mut report, &manifest.config);
    report
}

fn endpoints(manifest: &Manifest) -> Vec<Endpoint> {
    let endpoint = |name: &str, url: &str, mutual: bool| Endpoint {
        name: name.to_owned(),
        url: url.to_owned(),
        mutual,
    };
    let mut list = vec![
        endpoint("requestor API", &manifest.endpoints.requestor_api, true),
        endpoint("ACS", &manifest.endpoints.acs, true),
        endpoint("ACS pages", &manifest.endpoints.acs_site, false),
        endpoint("merchant", &manifest.endpoints.merchant, false),
    ];
    for scheme in &manifest.schemes {
        list.push(endpoint(
            &format!("DS {}", scheme.name),
            &scheme.directory_server,
            true,
        ));
    }
    list.push(endpoint("admin", &manifest.admin.url, true));
    list.retain(|e| !e.url.is_empty());
    list
}

/// `https://host:port/…` → (host, port).
fn host_port(url: &str) -> Option<(String, u16)> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split('/').next()?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (authority, 443),
    };
    Some((host.to_owned(), port))
}

fn probe_endpoint(
    report: &mut Report,
    endpoint: &Endpoint,
    root: &Path,
    identity: &pki::tls::Identity,
    warn_days: i64,
) {
    let target = format!("{} ({})", endpoint.name, endpoint.url);
    let Some((host, port)) = host_port(&endpoint.url) else {
        report.push(
            "tls versions",
            &target,
            Outcome::Fail,
            "not an https:// URL".into(),
        );
        return;
    };
    let probe = Probe {
        target,
        host,
        port,
        root,
        identity,
    };
    // Nothing else can be checked without a handshake.
    if versions(report, &probe) {
        suites(report, &probe);
        client_certificate(report, &probe, endpoint.mutual);
        certificates(report, &probe, warn_days);
    }
}

/// One endpoint under examination.
struct Probe<'a> {
    /// How the report names it.
    target: String,
    host: String,
    port: u16,
    root: &'a Path,
    identity: &'a pki::tls::Identity,
}

impl Probe<'_> {
    fn handshake(&self, options: &HandshakeOptions) -> Result<probe::Handshake, probe::ProbeError> {
        probe::handshake(&self.host, self.port, self.root, options)
    }

    /// A handshake presenting the sandbox identity, restricted to `version`/`suite`.
    fn with_identity(
        &self,
        version: Option<&'static rustls::SupportedProtocolVersion>,
        suite: Option<rustls::SupportedCipherSuite>,
    ) -> HandshakeOptions {
        HandshakeOptions {
            version,
            suite,
            identity: Some(self.identity.clone()),
        }
    }
}

/// The protocol versions it accepts: TLS 1.2 and 1.3, never 1.0 or 1.1. `false` when no
/// modern handshake succeeds (a certificate that does not cover the endpoint's name is
/// said as such).
fn versions(report: &mut Report, probe: &Probe<'_>) -> bool {
    let legacy_suites: Vec<u16> = probe::WEAK_SUITES.iter().map(|(id, _)| *id).collect();
    let mut old = Vec::new();
    for (version, name) in [(probe::TLS10, "TLS 1.0"), (probe::TLS11, "TLS 1.1")] {
        if let Ok(LegacyAnswer::Accepted { .. }) =
            probe::legacy_hello(&probe.host, probe.port, version, &legacy_suites)
        {
            old.push(name);
        }
    }
    let mut modern = Vec::new();
    let mut last_error = String::new();
    for (version, name) in [
        (&rustls::version::TLS12, "TLS 1.2"),
        (&rustls::version::TLS13, "TLS 1.3"),
    ] {
        match probe.handshake(&probe.with_identity(Some(version), None)) {
            Ok(_) => modern.push(name),
            // Every handshake fails the same way then: say what to do, once.
            Err(probe::ProbeError::NameNotCovered(_)) => {
                report.push(
                    "certificates",
                    &probe.target,
                    Outcome::Fail,
                    format!(
                        "the certificate does not cover {host}, the name this endpoint is \
                         advertised by: regenerate the PKI with `threeds pki init --force --name \
                         {host}` (and the same --config)",
                        host = probe.host
                    ),
                );
                return false;
            }
            Err(e) => last_error = e.to_string(),
        }
    }
    let versions = format!("accepts {}", [&old[..], &modern[..]].concat().join(", "));
    if !old.is_empty() {
        report.push(
            "tls versions",
            &probe.target,
            Outcome::Fail,
            format!("{versions}: {} must be refused", old.join(" and ")),
        );
    } else if !modern.is_empty() {
        report.push("tls versions", &probe.target, Outcome::Ok, versions);
    }
    if modern.is_empty() {
        // Nothing else can be checked without a handshake.
        report.push(
            "tls versions",
            &probe.target,
            Outcome::Fail,
            format!("no TLS 1.2 or 1.3 handshake: {last_error}"),
        );
        return false;
    }
    true
}

/// The suites it accepts: AEAD with ECDHE only.
fn suites(report: &mut Report, probe: &Probe<'_>) {
    let legacy_suites: Vec<u16> = probe::WEAK_SUITES.iter().map(|(id, _)| *id).collect();
    let weak = match probe::legacy_hello(&probe.host, probe.port, probe::TLS12, &legacy_suites) {
        Ok(LegacyAnswer::Accepted { suite, .. }) => probe::WEAK_SUITES
            .iter()
            .find(|(id, _)| *id == suite)
            .map(|(_, name)| (*name).to_owned()),
        _ => None,
    };
    let accepted: Vec<String> = pki::tls::CIPHER_SUITES
        .iter()
        .filter(|suite| {
            let version = match suite {
                rustls::SupportedCipherSuite::Tls13(_) => &rustls::version::TLS13,
                rustls::SupportedCipherSuite::Tls12(_) => &rustls::version::TLS12,
            };
            probe
                .handshake(&probe.with_identity(Some(version), Some(**suite)))
                .is_ok()
        })
        .map(|suite| format!("{:?}", suite.suite()))
        .collect();
    match weak {
        Some(name) => report.push(
            "cipher suites",
            &probe.target,
            Outcome::Fail,
            format!("accepts {name} (no AEAD or no forward secrecy)"),
        ),
        None => report.push(
            "cipher suites",
            &probe.target,
            Outcome::Ok,
            format!("AEAD with ECDHE only: {}", accepted.join(", ")),
        ),
    }
}

/// Whether it requires a client certificate (server-to-server) or answers without one
/// (cardholder-facing), as `mutual` says it must.
fn client_certificate(report: &mut Report, probe: &Probe<'_>, mutual: bool) {
    let anonymous = probe.handshake(&HandshakeOptions::default());
    let answered = anonymous.as_ref().is_ok_and(|h| h.answered);
    let (outcome, detail) = match (mutual, answered) {
        (true, false) => (Outcome::Ok, "required".to_owned()),
        (true, true) => (
            Outcome::Fail,
            "answers without a client certificate (server-to-server endpoints must require one)"
                .to_owned(),
        ),
        (false, true) => (Outcome::Ok, "not required (cardholder-facing)".to_owned()),
        (false, false) => (
            Outcome::Fail,
            format!(
                "no answer without a client certificate, though cardholders have none{}",
                anonymous
                    .err()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
        ),
    };
    report.push("client certificate", &probe.target, outcome, detail);
}

/// The chain it presents: verifies under the sandbox root, covers the advertised name,
/// and how long until it expires.
fn certificates(report: &mut Report, probe: &Probe<'_>, warn_days: i64) {
    match probe.handshake(&probe.with_identity(None, None)) {
        Ok(done) => {
            let mut soonest: Option<(i64, String)> = None;
            for cert in &done.chain {
                if let Some((days, name)) = probe::days_left(cert)
                    && soonest.as_ref().is_none_or(|(d, _)| days < *d)
                {
                    soonest = Some((days, name));
                }
            }
            match soonest {
                Some((days, name)) => {
                    let ok = format!(
                        "chain of {} verifies; {name} expires first, in {days} days",
                        done.chain.len()
                    );
                    push_expiry(report, &probe.target, days, &name, warn_days, ok);
                }
                None => report.push(
                    "certificates",
                    &probe.target,
                    Outcome::Fail,
                    "no readable certificate presented".into(),
                ),
            }
        }
        Err(e) => report.push(
            "certificates",
            &probe.target,
            Outcome::Fail,
            format!("the chain does not verify against the sandbox root: {e}"),
        ),
    }
}

/// A certificate `name` expiring in `days`: a failure inside the warning window, else
/// `ok`.
fn push_expiry(
    report: &mut Report,
    target: &str,
    days: i64,
    name: &str,
    warn_days: i64,
    ok: String,
) {
    if days < warn_days {
        report.push(
            "certificates",
            target,
            Outcome::Fail,
            format!("{name} expires in {days} days (warning window: {warn_days} days)"),
        );
    } else {
        report.push("certificates", target, Outcome::Ok, ok);
    }
}

fn check_root(report: &mut Report, root: &Path, warn_days: i64) {
    let target = format!("root CA ({})", root.display());
    let Ok(certs) = pki::tls::load_certs(root) else {
        report.push("certificates", &target, Outcome::Fail, "unreadable".into());
        return;
    };
    for cert in &certs {
        match probe::days_left(cert) {
            Some((days, name)) => {
                let ok = format!("{name} expires in {days} days");
                push_expiry(report, &target, days, &name, warn_days, ok);
            }
            None => report.push("certificates", &target, Outcome::Fail, "unreadable".into()),
        }
    }
}

/// Who the doctor's key operations are audited as.
const DOCTOR: &str = "threeds doctor";

/// Opens the key backend and uses every purpose; the keys, when usable.
async fn check_keys(
    report: &mut Report,
    info: &crate::KeysInfo,
) -> Option<Arc<dyn kms::KeyService>> {
    let (target, keys) = match info {
        crate::KeysInfo::Software {
            master_key,
            audit_log,
        } => software_keys(master_key, audit_log.as_deref()),
        crate::KeysInfo::AwsKms {
            data_key,
            mac_key,
            sign_key,
            endpoint,
            audit_log,
        } => {
            let config = kms::AwsKmsConfig {
                data_key: data_key.clone(),
                mac_key: mac_key.clone(),
                sign_key: sign_key.clone(),
                cache: kms::CachePolicy::default(),
                who: DOCTOR.into(),
                audit_log: audit_log.clone(),
                endpoint: endpoint.clone(),
            };
            aws_kms(config).await
        }
    };
    let keys = match keys {
        Ok(keys) => keys,
        Err(e) => {
            report.push("keys", &target, Outcome::Fail, e);
            return None;
        }
    };
    match every_purpose(keys.as_ref()).await {
        Ok(used) => {
            report.push(
                "keys",
                &target,
                Outcome::Ok,
                format!("usable: {}", used.join(", ")),
            );
            Some(keys)
        }
        Err(why) => {
            report.push("keys", &target, Outcome::Fail, why);
            None
        }
    }
}

/// A key service and how the report names it, or why it cannot be opened.
type OpenedKeys = (String, Result<Arc<dyn kms::KeyService>, String>);

/// The software keys of `master_key`, auditing to `audit_log`.
fn software_keys(master_key: &Path, audit_log: Option<&Path>) -> OpenedKeys {
    let target = format!("software keys ({})", master_key.display());
    if !master_key.exists() {
        return (target, Err("no master key".into()));
    }
    let keys = kms::SoftwareKeys::open_or_create(master_key)
        .and_then(|keys| match audit_log {
            Some(path) => Ok(keys.audited(kms::AuditLog::open(path, DOCTOR)?)),
            None => Ok(keys),
        })
        .map(|k| Arc::new(k) as Arc<dyn kms::KeyService>)
        .map_err(|e| e.to_string());
    (target, keys)
}

/// AWS KMS (or a KMS-compatible server) as `config` names it; the ACS's signing key,
/// when KMS holds it, makes one signature.
async fn aws_kms(config: kms::AwsKmsConfig) -> OpenedKeys {
    let target = format!(
        "AWS KMS ({}, {}{})",
        config.data_key,
        config.mac_key,
        config
            .endpoint
            .as_deref()
            .map(|e| format!(" at {e}"))
            .unwrap_or_default()
    );
    let sign_key = config.sign_key.clone();
    let keys = match kms::AwsKms::connect(config).await {
        Ok(kms) => match &sign_key {
            Some(key) => match kms.sign_es256_der(key, b"doctor").await {
                Ok(_) => Ok(Arc::new(kms) as Arc<dyn kms::KeyService>),
                Err(e) => Err(format!("signing key: {e}")),
            },
            None => Ok(Arc::new(kms) as Arc<dyn kms::KeyService>),
        },
        Err(e) => Err(e.to_string()),
    };
    (target, keys)
}

/// Every purpose of `keys` used once: an envelope round trip of data keys, then each
/// MAC key. The names of what worked, or what failed.
async fn every_purpose(keys: &dyn kms::KeyService) -> Result<Vec<&'static str>, String> {
    let context = kms::EncryptionContext::new().with("purpose", "doctor");
    let sealed = kms::envelope::seal(keys, &context, b"doctor")
        .await
        .map_err(|e| format!("envelope: {e}"))?;
    let opened = kms::envelope::open(keys, &context, &sealed)
        .await
        .map_err(|e| format!("envelope: {e}"))?;
    if opened.as_slice() != b"doctor" {
        return Err("envelope round trip changed the data".into());
    }
    let mut used = vec!["data keys (envelope round trip)"];
    for (purpose, name) in [
        (kms::MacPurpose::PanLookup, "PAN lookup MAC"),
        (
            kms::MacPurpose::AuthenticationValue {
                issuer: "doctor".into(),
            },
            "authentication value MAC",
        ),
        (kms::MacPurpose::ChallengeAnswer, "challenge answer MAC"),
    ] {
        keys.mac(&purpose, b"doctor")
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        used.push(name);
    }
    Ok(used)
}

async fn check_database(
    report: &mut Report,
    manifest: &Manifest,
    options: &Options,
    keys: Option<Arc<dyn kms::KeyService>>,
) {
    let database = options
        .database
        .clone()
        .unwrap_or_else(|| store::Database::parse(&manifest.database));
    let target = database.describe();
    let Some(keys) = keys else {
        report.push(
            "database",
            &target,
            Outcome::Fail,
            "not scanned: no usable keys".into(),
        );
        return;
    };
    let pans: Vec<String> = match ecosystem_of(&manifest.config) {
        Ok(ecosystem) => ecosystem.cards().into_iter().map(|c| c.pan).collect(),
        Err(_) => Vec::new(),
    };
    let store = match store::Store::connect(&database, keys).await {
        Ok(store) => store,
        Err(e) => {
            report.push(
                "database",
                &target,
                Outcome::Fail,
                format!("cannot open: {e}"),
            );
            return;
        }
    };
    match store.scan(&pans).await {
        Ok(scan) if scan.exposures.is_empty() => {
            let rows: u64 = scan.tables.iter().map(|(_, n)| n).sum();
            report.push(
                "database",
                &target,
                Outcome::Ok,
                format!(
                    "{rows} rows in {} tables: no card number in clear ({} test cards looked for), nothing the store refuses",
                    scan.tables.len(),
                    pans.len()
                ),
            );
        }
        Ok(scan) => {
            for exposure in scan.exposures {
                report.push(
                    "database",
                    &format!("{target} {}.{}", exposure.table, exposure.column),
                    Outcome::Fail,
                    exposure.what,
                );
            }
        }
        Err(e) => report.push("database", &target, Outcome::Fail, format!("scan: {e}")),
    }
    store.close().await;
}

/// The ecosystem the sandbox recorded it runs.
fn ecosystem_of(origin: &crate::config::Origin) -> Result<crate::Ecosystem, String> {
    match &origin.file {
        Some(path) => crate::Ecosystem::load(path).map_err(|e| e.to_string()),
        None => crate::Ecosystem::shipped().map_err(|e| e.to_string()),
    }
}

fn check_config(report: &mut Report, origin: &crate::config::Origin) {
    let (target, now) = match &origin.file {
        Some(path) => (
            path.display().to_string(),
            std::fs::read(path).map(|text| crate::config::sha256_hex(&text)),
        ),
        None => (
            "shipped sandbox.toml".to_owned(),
            Ok(crate::config::sha256_hex(crate::config::SHIPPED.as_bytes())),
        ),
    };
    match now {
        Ok(now) if now == origin.sha256 => report.push(
            "config",
            &target,
            Outcome::Ok,
            format!(
                "matches the hash recorded at start ({}…)",
                &now[..12.min(now.len())]
            ),
        ),
        Ok(now) => report.push(
            "config",
            &target,
            Outcome::Fail,
            format!(
                "changed since the sandbox started: recorded sha256 {}…, now {}…",
                &origin.sha256[..12.min(origin.sha256.len())],
                &now[..12.min(now.len())]
            ),
        ),
        Err(e) => report.push("config", &target, Outcome::Fail, format!("unreadable: {e}")),
    }
}
