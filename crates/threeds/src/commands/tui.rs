//! `threeds tui`: the terminal UI on a running sandbox (its manifest) or a saved trace
//! (`threeds trace --format json > file`).

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest of the running sandbox (`threeds up` writes it).
    #[arg(long, default_value = ".threeds/manifest.json", value_name = "FILE")]
    manifest: PathBuf,
    /// Open a saved trace (JSON Lines from `threeds trace --format json`) instead.
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("threeds tui draws on a terminal; for a pipe or a file, use `threeds trace`");
    }
    let source = match &args.file {
        Some(path) => tui::Source::File(path.clone()),
        None => tui::Source::Live {
            admin: sandbox::admin::AdminClient::from_manifest(&args.manifest)
                .map_err(|e| anyhow!(e))?,
            name: args.manifest.display().to_string(),
        },
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(tui::run(source)).map_err(|e| anyhow!(e))?;
    Ok(ExitCode::SUCCESS)
}
