//! `threeds health`: asks a health port whether the process is ready (`/readyz`) or
//! alive (`/healthz`), for a container's `HEALTHCHECK` (the image has no curl) and for
//! scripts. Exit status 0 when the answer is 200, 1 otherwise (no answer included; never
//! 2, which Docker reserves); the answer's status (and what fails) on standard output.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail};

/// How long the probe waits for a connection and an answer.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The most of an answer it prints: a status and a few names.
const MAX_ANSWER: usize = 16 * 1024;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The health port's base URL (the manifest's `health`). Default: `http://` the
    /// address `--host`/THREEDS_HOST names (127.0.0.1 when it is 0.0.0.0 or ::), on
    /// THREEDS_HEALTH_PORT (default 7447).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Ask `/healthz` (the process runs) instead of `/readyz` (it can work).
    #[arg(long)]
    live: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let base = match &args.url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => match default_base() {
            Ok(base) => base,
            Err(why) => {
                eprintln!("threeds: health: {why:#}");
                return Ok(ExitCode::FAILURE);
            }
        },
    };
    let path = if args.live { "/healthz" } else { "/readyz" };
    // Exit 1 for every failure, never 2: Docker reserves 2 in a HEALTHCHECK.
    let (status, body) = match get(&base, path) {
        Ok(answer) => answer,
        Err(why) => {
            eprintln!("threeds: health: {base}{path}: {why:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    println!("{status} {}", body.trim());
    Ok(if status == 200 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Where this container's own process listens: its host (loopback for a wildcard) and
/// its health port.
fn default_base() -> anyhow::Result<String> {
    let host = match std::env::var("THREEDS_HOST") {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse::<IpAddr>()
            .map_err(|e| anyhow!("THREEDS_HOST={text:?}: {e}"))?,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let host = match host {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        other => other,
    };
    let port = match std::env::var("THREEDS_HEALTH_PORT") {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse::<u16>()
            .map_err(|e| anyhow!("THREEDS_HEALTH_PORT={text:?}: {e}"))?,
        _ => 7447,
    };
    Ok(match host {
        IpAddr::V6(v6) => format!("http://[{v6}]:{port}"),
        IpAddr::V4(v4) => format!("http://{v4}:{port}"),
    })
}

/// A GET of `path` on the `http://host:port` base: the status and (the first
/// [`MAX_ANSWER`] bytes of) the body.
fn get(base: &str, path: &str) -> anyhow::Result<(u16, String)> {
    if !base.starts_with("http://") {
        bail!("expected an http:// URL (the health port speaks plain HTTP)");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder().timeout(TIMEOUT).build()?;
        let reply = client.get(format!("{base}{path}")).send().await?;
        let status = reply.status().as_u16();
        let body = reply.bytes().await?;
        let shown = &body[..body.len().min(MAX_ANSWER)];
        Ok((status, String::from_utf8_lossy(shown).into_owned()))
    })
}
