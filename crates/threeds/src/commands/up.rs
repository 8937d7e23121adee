//! `threeds up`: the whole sandbox in this process until Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::RunArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArgs,
    /// Where to write the manifest (default: <data>/manifest.json).
    #[arg(long, value_name = "PATH")]
    manifest: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let config = args.run.sandbox_config()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(up(args, config))
}

async fn up(args: &Args, config: sandbox::SandboxConfig) -> anyhow::Result<ExitCode> {
    let running = sandbox::Sandbox::start(&config)
        .await
        .context("starting the sandbox")?;
    for (ds, prepared) in &running.preparation {
        if let Err(why) = prepared {
            eprintln!("threeds: warning: card ranges from DS {ds} not loaded: {why}");
        }
    }
    let manifest_path = args
        .manifest
        .clone()
        .unwrap_or_else(|| args.run.data.data.join("manifest.json"));
    if let Some(dir) = manifest_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let manifest = serde_json::to_vec_pretty(&running.manifest)?;
    write_private(&manifest_path, &manifest)
        .with_context(|| format!("writing {}", manifest_path.display()))?;

    let m = &running.manifest;
    println!("threeds sandbox is up");
    println!(
        "  shop            {}  (open it in a browser; the sandbox CA signs it)",
        m.endpoints.merchant
    );
    println!(
        "  requestor API   {}  (mTLS: {})",
        m.endpoints.requestor_api,
        m.tls.requestor_client_cert.display()
    );
    for s in &m.schemes {
        println!(
            "  DS {:<12} {}  ({})",
            s.name, s.directory_server, s.directory_server_id
        );
    }
    println!("  ACS             {}", m.endpoints.acs);
    println!(
        "  ACS pages       {}  (issuer app: /issuer-app)",
        m.endpoints.acs_site
    );
    println!("  trust anchor    {}", m.tls.root_ca.display());
    println!("  database        {}", m.database);
    let (backend, key_audit) = match &m.keys {
        sandbox::KeysInfo::Software { audit_log, .. } => ("software keys", audit_log),
        sandbox::KeysInfo::AwsKms { audit_log, .. } => ("AWS KMS", audit_log),
    };
    match key_audit {
        Some(log) => println!("  keys            {backend}  (audit: {})", log.display()),
        None => println!("  keys            {backend}"),
    }
    if running.tracer().is_enabled() {
        println!(
            "  trace           {}  (threeds trace, threeds tui)",
            m.trace_database.display(),
        );
    } else {
        println!("  trace           off (--no-trace)");
    }
    println!(
        "  admin           {}  (mTLS: {}{})",
        m.admin.url,
        m.admin.client_cert.display(),
        if m.admin.totp {
            "; a TOTP session first: THREEDS_ADMIN_TOTP"
        } else {
            ""
        }
    );
    if let Some(health) = &m.health {
        println!("  health          {health}/healthz, {health}/readyz  (plain HTTP, for probes)");
    }
    println!(
        "  manifest        {}",
        std::path::absolute(&manifest_path)
            .unwrap_or(manifest_path)
            .display()
    );
    println!("  test cards      threeds cards");
    println!("Ctrl-C stops it.");

    super::until_stopped().await?;
    println!("stopping…");
    running.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path` readable by its owner only: the manifest says where the
/// admin certificate's key is, and what the sandbox runs on.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)
}
