//! `threeds doctor`: the self-check of a running sandbox (`sandbox::doctor`), printed
//! as a table or JSON; exit status 1 when a check fails.

use std::process::ExitCode;

use anyhow::anyhow;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    manifest: super::ManifestArg,
    /// Print the report as JSON: `{"passed", "checks": [{"check", "target",
    /// "outcome", "detail"}]}`.
    #[arg(long)]
    json: bool,
    /// A certificate expiring within this many days fails.
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    warn_days: i64,
    /// The database to scan, when the manifest's is a PostgreSQL URL (it is recorded
    /// without its password).
    #[arg(long, env = "THREEDS_DATABASE_URL", value_name = "URL")]
    database: Option<String>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let manifest = sandbox::Manifest::read(&args.manifest.manifest).map_err(|e| anyhow!(e))?;
    let options = sandbox::doctor::Options {
        warn_days: args.warn_days,
        database: args.database.as_deref().map(store::Database::parse),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(sandbox::doctor::examine(&manifest, &options));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
