//! `threeds run`: the scenario files under the paths given (default `scenarios/`)
//! against an isolated sandbox started here (temporary database and PKI, ports from the
//! OS), in parallel; one line per scenario, then `N passed, N failed` (`, N skipped`
//! when some cannot run against the target). Exit status 0 only when none failed and
//! every file was readable.

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
    #[arg(long, value_name = "MANIFEST")]
    against: Option<PathBuf>,
}

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
        let text = text.to_lowercase();
        scenarios.retain(|s| {
            s.name.to_lowercase().contains(&text)
                || s.tags.iter().any(|t| t.to_lowercase().contains(&text))
                || s.path.display().to_string().to_lowercase().contains(&text)
        });
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
    let ran = runtime.block_on(run_all(scenarios, against, usize::from(args.jobs), json))?;
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
    jobs: usize,
    json: bool,
) -> anyhow::Result<Vec<scenario::Outcome>> {
    if scenarios.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(manifest) = against {
        let target = scenario::Target::new(&manifest).map_err(|e| anyhow!(e))?;
        return Ok(run_on(Arc::new(target), scenarios, jobs, json).await);
    }
    let dir = tempfile::tempdir().context("a temporary directory for the sandbox")?;
    let config = sandbox::SandboxConfig {
        certs: dir.path().join("certs"),
        data: dir.path().join("data"),
        port_base: 0,
        sweep_every: Duration::from_millis(50),
        ..sandbox::SandboxConfig::default()
    };
    // An RReq a fault stopped is retried soon, not after the default five seconds.
    let mut config = config;
    config.challenge_timeouts.rreq_retry_ms = 200;
    // Short challenge timers, so scenarios that wait for one take a second, not minutes.
    config.challenge_timeouts.first_creq_ms = 500;
    config.challenge_timeouts.step_ms = 800;
    let running = sandbox::Sandbox::start(&config)
        .await
        .context("starting the sandbox for the scenarios")?;
    let mut target = scenario::Target::new(&running.manifest).map_err(|e| anyhow!(e))?;
    target.short_timers = true;
    let outcomes = run_on(Arc::new(target), scenarios, jobs, json).await;
    running.shutdown().await;
    Ok(outcomes)
}

/// Runs `scenarios` on `target`, `jobs` at a time, printing each as it ends; the
/// outcomes in the scenarios' order.
async fn run_on(
    target: Arc<scenario::Target>,
    scenarios: Vec<scenario::Scenario>,
    jobs: usize,
    json: bool,
) -> Vec<scenario::Outcome> {
    // Faults are sandbox-wide: a scenario that sets some runs alone, after the others.
    let limit = Arc::new(tokio::sync::Semaphore::new(jobs));
    let alone = Arc::new(tokio::sync::RwLock::new(()));
    let mut tasks = tokio::task::JoinSet::new();
    let mut which = std::collections::HashMap::new();
    for (i, s) in scenarios.into_iter().enumerate() {
        let (target, limit, alone) = (target.clone(), limit.clone(), alone.clone());
        let known = (i, s.name.clone(), s.path.clone());
        let handle = tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let outcome = if s.has_faults() {
                let _only = alone.write().await;
                scenario::run::run(&target, &s).await
            } else {
                let _shared = alone.read().await;
                scenario::run::run(&target, &s).await
            };
            (i, outcome)
        });
        which.insert(handle.id(), known);
    }
    let mut outcomes = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (i, outcome) = match done {
            Ok(done) => done,
            // A scenario whose task panicked is a bug in the runner: it fails, with
            // the panic, and the others go on.
            Err(e) => {
                let Some((i, name, path)) = which.remove(&e.id()) else {
                    continue;
                };
                let outcome = scenario::Outcome {
                    name,
                    path,
                    failures: vec![format!("the runner failed: {e}")],
                    duration: Duration::ZERO,
                    trace: Vec::new(),
                    skipped: None,
                };
                (i, outcome)
            }
        };
        print(&outcome, json);
        outcomes.push((i, outcome));
    }
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes.into_iter().map(|(_, o)| o).collect()
}
