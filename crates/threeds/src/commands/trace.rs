//! `threeds trace`: the trace of a running sandbox (through its admin endpoint, found in
//! the manifest) or of a database file, as one line per event for people or as JSON
//! Lines for scripts (one `trace::Event` per line; the fields are documented in
//! `crates/trace/src/event.rs` and the README). `--follow` keeps streaming live events.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use sandbox::admin::{AdminClient, Live};
use store::TraceQuery;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest of the running sandbox (`threeds up` writes it).
    #[arg(long, default_value = ".threeds/manifest.json", value_name = "FILE")]
    manifest: PathBuf,
    /// Read this database instead of asking a running sandbox.
    #[arg(long, value_name = "FILE", conflicts_with = "follow")]
    database: Option<PathBuf>,
    /// Only this transaction: its threeDSServerTransID, or any other id of it
    /// (acsTransID, dsTransID, sdkTransID).
    #[arg(long, value_name = "ID")]
    transaction: Option<String>,
    /// Keep printing events as they happen (Ctrl-C stops).
    #[arg(long)]
    follow: bool,
    /// `text` (one line per event) or `json` (JSON Lines, one event per line).
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    format: String,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(trace(args))
}

fn print(out: &mut impl std::io::Write, event: &trace::Event, json: bool) -> anyhow::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, event)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", event.one_line())?;
    }
    Ok(())
}

async fn trace(args: &Args) -> anyhow::Result<ExitCode> {
    let json = args.format == "json";
    let query = TraceQuery {
        transaction: args.transaction.clone(),
        ..TraceQuery::default()
    };
    let stdout = std::io::stdout();
    if let Some(path) = &args.database {
        let reader = store::TraceReader::open(path)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        let events = reader.events(&query).await?;
        let mut out = stdout.lock();
        for event in &events {
            print(&mut out, event, json)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let admin = AdminClient::from_manifest(&args.manifest).map_err(|e| anyhow!(e))?;
    if !args.follow {
        let events = admin.events(&query).await.map_err(|e| anyhow!(e))?;
        let mut out = stdout.lock();
        for event in &events {
            print(&mut out, event, json)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut live = admin
        .follow(Some(0), args.transaction.as_deref())
        .await
        .map_err(|e| anyhow!(e))?;
    loop {
        tokio::select! {
            item = live.recv() => match item {
                Some(Live::Event(event)) => {
                    let mut out = stdout.lock();
                    print(&mut out, &event, json)?;
                    out.flush()?;
                }
                Some(Live::Lagged(n)) => eprintln!("threeds: {n} events skipped (the terminal fell behind)"),
                None => {
                    eprintln!("threeds: the sandbox ended the stream");
                    return Ok(ExitCode::FAILURE);
                }
            },
            stopped = super::until_stopped() => {
                stopped?;
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
}
