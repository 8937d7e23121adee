//! `threeds run`: the scenario files under the paths given (default `scenarios/`)
//! against an isolated sandbox started here (temporary database and PKI, ports from the
//! OS), in parallel; one line per scenario, then `N passed, N failed` (`, N skipped`
//! when some cannot run against the target). Exit status 0 only when none failed and
//! every file was readable.
//!
//! `--seed` is the deterministic mode: ids drawn from the seed, a virtual clock that
//! stands still except to jump to the next challenge timer, one scenario at a time; with
//! the same `--certs` and `--port-base` too, two runs record the same trace
//! (`--trace FILE`) but for what the protocol requires to be random.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use scenario::report;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario files or directories (default: scenarios/).
    paths: Vec<PathBuf>,
    /// Also write a JUnit XML report here (failed scenarios carry their trace).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Scenarios run at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: u16,
    /// Only scenarios whose name, tags or file contain this text.
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// `text` (one line per scenario) or `json` (one JSON object per scenario).
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    format: String,
    /// Run against the sandbox this manifest describes (`threeds up` writes one)
    /// instead of starting one: your own components in place of ours included.
    #[arg(long, value_name = "MANIFEST", conflicts_with_all = ["seed", "certs", "port_base"])]
    against: Option<PathBuf>,
    /// Deterministic mode: transaction ids drawn from this seed, a virtual clock
    /// (starting at 2026-01-01T00:00:00Z, moving only to the next challenge timer, so
    /// the spec's timers take no time), one scenario at a time.
    #[arg(long)]
    seed: Option<u64>,
    /// Use the PKI in DIR (generated there when empty) instead of a fresh one per run:
    /// faster, and the same certificates in every run.
    #[arg(long, value_name = "DIR")]
    certs: Option<PathBuf>,
    /// First port of the runner's sandbox (default: ports chosen by the OS). URLs in
    /// messages carry ports, so identical traces need a fixed base.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1024..=65000))]
    port_base: Option<u16>,
    /// Keep the runner's sandbox's state in this database (a `postgres://` URL, created
    /// if missing, or an SQLite path) instead of a temporary SQLite file. Start from an
    /// empty one: with --seed, ids repeat from run to run.
    #[arg(long, value_name = "URL", conflicts_with = "against")]
    database: Option<String>,
    /// Write the run's whole trace here, as JSON Lines (`threeds trace --format json`).
    #[arg(long, value_name = "FILE", conflicts_with = "against")]
    trace: Option<PathBuf>,
}

/// Where the virtual clock of `--seed` starts: 2026-01-01T00:00:00Z.
const VIRTUAL_EPOCH_MS: u64 = 1_767_225_600_000;

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths.clone()
    };
    let files = scenario::files(&paths).map_err(|e| anyhow!(e))?;
    // Nothing to run is a mistake (a wrong path or filter), not a pass.
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        anyhow::bail!("no scenario files (*.toml) under {}", shown.join(", "));
    }
    let cards = sandbox::cards();
    let mut outcomes = Vec::new();
    let mut scenarios = Vec::new();
    for file in &files {
        match scenario::load(file, &cards) {
            Ok(s) => scenarios.push(s),
            // A file that cannot be read is a failed scenario, with its place.
            Err(diagnostic) => outcomes.push(scenario::Outcome {
                name: file.display().to_string(),
                path: file.clone(),
                failures: vec![diagnostic.to_string()],
                duration: Duration::ZERO,
                trace: Vec::new(),
                skipped: None,
            }),
        }
    }
    if let Some(text) = &args.filter {
        scenario::schedule::filter(&mut scenarios, text);
    }
    if let Some(text) = &args.filter
        && scenarios.is_empty()
        && outcomes.is_empty()
    {
        anyhow::bail!(
            "no scenario matches --filter {text:?} ({} files read)",
            files.len()
        );
    }
    let json = args.format == "json";
    for outcome in &outcomes {
        print(outcome, json);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let against = match &args.against {
        Some(path) => Some(sandbox::Manifest::read(path).map_err(|e| anyhow!(e))?),
        None => None,
    };
    let ran = runtime.block_on(run_all(scenarios, against, args, json))?;
    outcomes.extend(ran);
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit(&outcomes))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{}", report::summary(&outcomes));
    // Skipped scenarios (they cannot run against this target) do not fail the run.
    Ok(if !outcomes.iter().any(scenario::Outcome::failed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print(outcome: &scenario::Outcome, json: bool) {
    if json {
        println!("{}", report::json(outcome));
    } else {
        println!("{}", report::line(outcome));
    }
}

async fn run_all(
    scenarios: Vec<scenario::Scenario>,
    against: Option<sandbox::Manifest>,
    args: &Args,
    json: bool,
) -> anyhow::Result<Vec<scenario::Outcome>> {
    // Deterministic runs take scenarios one at a time: in parallel, ids would be drawn
    // in whatever order the scenarios happened to reach them.
    let jobs = if args.seed.is_some() {
        1
    } else {
        usize::from(args.jobs)
    };
    if scenarios.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(manifest) = against {
        let target = scenario::Target::new(&manifest).map_err(|e| anyhow!(e))?;
        return Ok(run_on(Arc::new(target), scenarios, jobs, json).await);
    }
    let dir = tempfile::tempdir().context("a temporary directory for the sandbox")?;
    let mut config = sandbox::SandboxConfig {
        certs: args
            .certs
            .clone()
            .unwrap_or_else(|| dir.path().join("certs")),
        data: dir.path().join("data"),
        database: args.database.as_deref().map(store::Database::parse),
        port_base: args.port_base.unwrap_or(0),
        sweep_every: Duration::from_millis(50),
        ..sandbox::SandboxConfig::default()
    };
    let clock = transport::clock::ManualClock::at(VIRTUAL_EPOCH_MS);
    let ids = args.seed.map(transport::Ids::seeded);
    if let Some(ids) = &ids {
        // The spec's own timers: on virtual time they cost nothing.
        config.clock = Arc::new(clock.clone());
        config.virtual_time = true;
        config.ids = ids.clone();
    } else {
        // An RReq a fault stopped is retried soon, not after the default five seconds.
        config.challenge_timeouts.rreq_retry_ms = 200;
        // Short challenge timers, so scenarios that wait for one take a second, not
        // minutes.
        config.challenge_timeouts.first_creq_ms = 500;
        config.challenge_timeouts.step_ms = 800;
        // A minute of decoupled time lasts a second.
        config.challenge_timeouts.decoupled_minute_ms = 1_000;
    }
    let running = sandbox::Sandbox::start(&config)
        .await
        .context("starting the sandbox for the scenarios")?;
    let mut target = match &ids {
        Some(ids) => {
            let time = scenario::VirtualTime {
                clock,
                store: running.store().clone(),
            };
            scenario::Target::on_virtual_time(&running.manifest, ids, time)
        }
        None => scenario::Target::new(&running.manifest),
    }
    .map_err(|e| anyhow!(e))?;
    target.reaches_timers = true;
    let outcomes = run_on(Arc::new(target), scenarios, jobs, json).await;
    let trace_database = running.manifest.trace_database.clone();
    running.shutdown().await;
    if let Some(path) = &args.trace {
        write_trace(&trace_database, path).await?;
    }
    Ok(outcomes)
}

/// The whole trace of the run, as JSON Lines, from its database (complete: the sandbox
/// has stopped, and its recorder stored what was queued).
async fn write_trace(database: &std::path::Path, path: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write as _;
    let reader = store::TraceReader::open(database)
        .await
        .with_context(|| format!("opening {}", database.display()))?;
    let events = reader.events(&store::TraceQuery::default()).await?;
    let file =
        std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for event in &events {
        serde_json::to_writer(&mut out, event)?;
        writeln!(out)?;
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))
}

/// Runs `scenarios` on `target` (`scenario::schedule`), printing each as it ends.
async fn run_on(
    target: Arc<scenario::Target>,
    scenarios: Vec<scenario::Scenario>,
    jobs: usize,
    json: bool,
) -> Vec<scenario::Outcome> {
    scenario::schedule::run_all(target, scenarios, jobs, |outcome| print(outcome, json)).await
}
