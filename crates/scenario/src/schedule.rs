//! Which scenarios run and in what order: the `--filter`, and the scheduler that runs
//! them against one target, several at a time, with the rules that keep a run honest.
//!
//! - Deterministic runs (`jobs` 1) take the scenarios one at a time, in the files'
//!   order, so the same seed draws the same ids in the same order.
//! - Faults are sandbox-wide: a scenario that sets some runs alone, the others
//!   waiting, so it cannot break a neighbour.
//! - A scenario whose task panicked is a failed outcome (a bug in the runner), and the
//!   others go on.
//!
//! Outcomes come back in the scenarios' order, whatever order they finished in.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::{Outcome, Scenario, Target};

/// The scenarios whose name, tags or path contain `text` (case-insensitive).
pub fn filter(scenarios: &mut Vec<Scenario>, text: &str) {
    let text = text.to_lowercase();
    scenarios.retain(|s| {
        s.name.to_lowercase().contains(&text)
            || s.tags.iter().any(|t| t.to_lowercase().contains(&text))
            || s.path.display().to_string().to_lowercase().contains(&text)
    });
}

/// Runs `scenarios` on `target`, `jobs` at a time, calling `done` with each outcome as
/// it ends; returns the outcomes in the scenarios' order.
pub async fn run_all(
    target: Arc<Target>,
    scenarios: Vec<Scenario>,
    jobs: usize,
    mut done: impl FnMut(&Outcome),
) -> Vec<Outcome> {
    if jobs <= 1 {
        let mut outcomes = Vec::new();
        for s in scenarios {
            let (name, path) = (s.name.clone(), s.path.clone());
            let target = target.clone();
            let outcome = tokio::spawn(async move { crate::run::run(&target, &s).await })
                .await
                .unwrap_or_else(|e| panicked(name, path, &e));
            done(&outcome);
            outcomes.push(outcome);
        }
        return outcomes;
    }
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
                crate::run::run(&target, &s).await
            } else {
                let _shared = alone.read().await;
                crate::run::run(&target, &s).await
            };
            (i, outcome)
        });
        which.insert(handle.id(), known);
    }
    let mut outcomes = Vec::new();
    while let Some(finished) = tasks.join_next().await {
        let (i, outcome) = match finished {
            Ok(finished) => finished,
            Err(e) => {
                let Some((i, name, path)) = which.remove(&e.id()) else {
                    continue;
                };
                (i, panicked(name, path, &e))
            }
        };
        done(&outcome);
        outcomes.push((i, outcome));
    }
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes.into_iter().map(|(_, o)| o).collect()
}

/// The outcome of a scenario whose task panicked: a bug in the runner, so it fails, with
/// the panic, and the others go on.
fn panicked(name: String, path: PathBuf, e: &tokio::task::JoinError) -> Outcome {
    Outcome {
        name,
        path,
        failures: vec![format!("the runner failed: {e}")],
        duration: Duration::ZERO,
        trace: Vec::new(),
        skipped: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_reads_names_tags_and_paths_in_any_case() {
        let cards = sandbox::cards();
        let parse = |name: &str, tags: &str, path: &str| {
            let text = format!(
                "version = 1\nname = \"{name}\"\ntags = [{tags}]\n\n[[step]]\ncard = {{ outcome = \"frictionless-Y\" }}\nchannel = \"browser\"\nexpect = {{ trans_status = \"Y\" }}\n"
            );
            crate::parse(std::path::Path::new(path), &text, &cards)
                .unwrap_or_else(|d| panic!("{d}"))
        };
        let all = vec![
            parse("Frictionless Y", "\"browser\"", "scenarios/a.toml"),
            parse("Challenge", "\"App\"", "scenarios/app/b.toml"),
            parse("Decline", "", "scenarios/c.toml"),
        ];
        for (text, expected) in [
            ("frictionless", 1),
            ("app", 1),
            ("SCENARIOS/", 3),
            ("nothing", 0),
        ] {
            let mut kept = all.clone();
            filter(&mut kept, text);
            assert_eq!(kept.len(), expected, "{text}");
        }
    }
}
