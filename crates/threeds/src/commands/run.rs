//! `threeds run`: the scenario files under the paths given (default `scenarios/`)
//! against an isolated sandbox started here (temporary database and PKI, ports from the
//! OS), in parallel; one line per scenario, then `N passed, N failed`. Exit status 0
//! only when every scenario passed (and every file was readable).

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
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths.clone()
    };
    let files = scenario::files(&paths).map_err(|e| anyhow!(e))?;
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
    let json = args.format == "json";
    for outcome in &outcomes {
        print(outcome, json);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let ran = runtime.block_on(run_all(scenarios, usize::from(args.jobs), json))?;
    outcomes.extend(ran);
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit(&outcomes))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{}", report::summary(&outcomes));
    Ok(if outcomes.iter().all(scenario::Outcome::passed) {
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
    jobs: usize,
    json: bool,
) -> anyhow::Result<Vec<scenario::Outcome>> {
    if scenarios.is_empty() {
        return Ok(Vec::new());
    }
    let dir = tempfile::tempdir().context("a temporary directory for the sandbox")?;
    let config = sandbox::SandboxConfig {
        certs: dir.path().join("certs"),
        data: dir.path().join("data"),
        port_base: 0,
        sweep_every: Duration::from_millis(50),
        ..sandbox::SandboxConfig::default()
    };
    let running = sandbox::Sandbox::start(&config)
        .await
        .context("starting the sandbox for the scenarios")?;
    let target = Arc::new(scenario::Target::new(&running.manifest).map_err(|e| anyhow!(e))?);
    let limit = Arc::new(tokio::sync::Semaphore::new(jobs));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, s) in scenarios.into_iter().enumerate() {
        let (target, limit) = (target.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (i, scenario::run::run(&target, &s).await)
        });
    }
    let mut outcomes = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (i, outcome) = done.context("a scenario task")?;
        print(&outcome, json);
        outcomes.push((i, outcome));
    }
    outcomes.sort_by_key(|(i, _)| *i);
    running.shutdown().await;
    Ok(outcomes.into_iter().map(|(_, o)| o).collect())
}
