//! One module per subcommand, and the flags several share.

pub mod admin;
pub mod cards;
pub mod doctor;
pub mod health;
pub mod pki;
pub mod run;
pub mod sdk;
pub mod serve;
pub mod spc;
pub mod trace;
pub mod tui;
pub mod up;
pub mod validate;

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use serde_json::Value;

/// The text at `path` in a JSON answer (a requestor API answer, say).
pub fn manifest_text(v: &Value, path: &[&str]) -> anyhow::Result<String> {
    let mut at = v;
    for p in path {
        at = &at[*p];
    }
    at.as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the manifest has no {}", path.join(".")))
}

/// `--data`: the sandbox's data directory.
#[derive(Debug, clap::Args)]
pub struct DataArg {
    /// The data directory (keys, database, manifest).
    #[arg(
        long,
        env = "THREEDS_DATA",
        default_value = ".threeds",
        value_name = "DIR"
    )]
    pub data: PathBuf,
}

/// `--manifest`: which running sandbox (`threeds up` writes the manifest).
#[derive(Debug, clap::Args)]
pub struct ManifestArg {
    /// The manifest `threeds up` wrote (a hand-written one may name other components).
    #[arg(long, default_value = ".threeds/manifest.json", value_name = "FILE")]
    pub manifest: PathBuf,
}

/// `--config`: the ecosystem file (schemes, card ranges, cards).
#[derive(Debug, Clone, clap::Args)]
pub struct EcosystemArg {
    /// The ecosystem file (default: the shipped one; `threeds config` prints it).
    #[arg(long = "config", env = "THREEDS_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

impl EcosystemArg {
    pub fn load(&self) -> anyhow::Result<sandbox::Ecosystem> {
        Ok(match &self.config {
            Some(path) => sandbox::Ecosystem::load(path)?,
            None => sandbox::Ecosystem::shipped()?,
        })
    }
}

/// Where a running sandbox (or component) keeps things and listens.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The PKI directory (generated when empty).
    #[arg(
        long,
        env = "THREEDS_CERTS",
        default_value = "certs",
        value_name = "DIR"
    )]
    certs: PathBuf,
    #[command(flatten)]
    pub data: DataArg,
    /// The components' database instead of the SQLite file in the data directory: a
    /// `postgres://user:password@host/name` URL (the database is created if missing) or
    /// an SQLite path. Components on several hosts can share one PostgreSQL database.
    #[arg(long, env = "THREEDS_DATABASE_URL", value_name = "URL")]
    database: Option<String>,
    /// The address to listen on.
    #[arg(long, env = "THREEDS_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// First port: 3DS Server, then ACS, then one DS per scheme, then the ACS's cardholder
    /// pages, the merchant shop and the admin endpoint (0: let the OS choose).
    #[arg(long, env = "THREEDS_PORT_BASE", default_value_t = 7440)]
    port_base: u16,
    /// The health port: plain HTTP on --host answering `GET /healthz` (the process
    /// runs) and `GET /readyz` (database, keys, peers and card ranges; 503 naming what
    /// fails), for probes that have no client certificate. Default: the port after the
    /// admin endpoint's for `up` with a fixed --port-base, else one the OS chooses; the
    /// manifest's `health` says which.
    #[arg(long, env = "THREEDS_HEALTH_PORT", value_name = "PORT")]
    health_port: Option<u16>,
    /// The host name or IP address the components are advertised by, in every URL they
    /// hand out (acsURL, the 3DS Method URL, their own URLs in messages, the shop's and
    /// ACS pages' links, the manifest) instead of `localhost`: what a phone, an
    /// emulator or another machine reaches this one by. Use with --host 0.0.0.0 (or the
    /// address). A PKI generated now covers it; for an existing one, `threeds pki init
    /// --force --name HOST`.
    #[arg(long, env = "THREEDS_PUBLIC_HOST", value_name = "HOST")]
    public_host: Option<String>,
    /// Where the keys live: `software` (a master key in the data directory) or
    /// `aws-kms` (AWS KMS, or a KMS-compatible server: the standard AWS environment
    /// applies — credentials, AWS_REGION, AWS_ENDPOINT_URL). Either way every key
    /// operation is a line of `<data>/keys-audit.jsonl`.
    #[arg(long, env = "THREEDS_KEYS", default_value = "software", value_parser = ["software", "aws-kms"])]
    keys: String,
    /// aws-kms: the symmetric key that wraps data keys (id, ARN or alias/…).
    #[arg(
        long,
        env = "THREEDS_KMS_DATA_KEY",
        value_name = "KEY",
        required_if_eq("keys", "aws-kms")
    )]
    kms_data_key: Option<String>,
    /// aws-kms: the HMAC_256 key of authentication values (id, ARN or alias/…).
    #[arg(
        long,
        env = "THREEDS_KMS_MAC_KEY",
        value_name = "KEY",
        required_if_eq("keys", "aws-kms")
    )]
    kms_mac_key: Option<String>,
    /// aws-kms: the ECC_NIST_P256 key the ACS signs acsSignedContent with, for ES256
    /// schemes (default: the PKI's key file).
    #[arg(long, env = "THREEDS_KMS_SIGN_KEY", value_name = "KEY")]
    kms_sign_key: Option<String>,
    /// aws-kms: the KMS endpoint instead of AWS's (a KMS-compatible server).
    #[arg(long, env = "THREEDS_KMS_ENDPOINT", value_name = "URL")]
    kms_endpoint: Option<String>,
    /// Record no trace (for load tests: recording every message of every hop costs
    /// about 40% of the sandbox's throughput).
    #[arg(long, env = "THREEDS_NO_TRACE")]
    no_trace: bool,
    /// The trace keeps this many of its newest events (about 12 per authentication);
    /// older ones are deleted every minute, so the trace database stops growing.
    #[arg(long, env = "THREEDS_TRACE_KEEP", default_value_t = sandbox::TRACE_KEEP, value_name = "EVENTS")]
    trace_keep: u64,
    /// The key audit log and the admin audit log start a new file past this size,
    /// keeping three older ones (`<name>.1` … `.3`).
    #[arg(long, env = "THREEDS_LOG_MAX_BYTES", default_value_t = 16 << 20, value_name = "BYTES")]
    log_max_bytes: u64,
    #[command(flatten)]
    ecosystem: EcosystemArg,
}

impl RunArgs {
    pub fn sandbox_config(&self) -> anyhow::Result<sandbox::SandboxConfig> {
        Ok(sandbox::SandboxConfig {
            certs: self.certs.clone(),
            data: self.data.data.clone(),
            database: self.database.as_deref().map(store::Database::parse),
            keys: match self.keys.as_str() {
                "aws-kms" => sandbox::KeyBackend::AwsKms(kms::AwsKmsConfig {
                    data_key: self.kms_data_key.clone().unwrap_or_default(),
                    mac_key: self.kms_mac_key.clone().unwrap_or_default(),
                    sign_key: self.kms_sign_key.clone(),
                    cache: kms::CachePolicy::default(),
                    who: "sandbox".into(),
                    audit_log: None,
                    endpoint: self.kms_endpoint.clone(),
                }),
                _ => sandbox::KeyBackend::Software,
            },
            host: self.host,
            port_base: self.port_base,
            health_port: self.health_port,
            public_host: self.public_host.clone(),
            ecosystem: self.ecosystem.load()?,
            trace: !self.no_trace,
            trace_keep: self.trace_keep,
            logs: kms::audit::Rotation {
                max_bytes: self.log_max_bytes,
                ..kms::audit::Rotation::default()
            },
            ..sandbox::SandboxConfig::default()
        })
    }
}

/// Waits for Ctrl-C (or SIGTERM, as `docker stop` and service managers send).
pub async fn until_stopped() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        tokio::select! {
            stopped = tokio::signal::ctrl_c() => stopped.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
