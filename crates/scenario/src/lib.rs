//! Scenarios: readable, versioned TOML files that drive whole authentications against a
//! sandbox and check what came out — the result the requestor gets and the messages
//! themselves, from the trace.
//!
//! - `format`: the file format (version 1), every table strict about its members;
//! - `load`: files → checked scenarios, or a diagnostic with file, line and column;
//! - `run`: a scenario's steps against a [`run::Target`] (a sandbox by its manifest),
//!   over the wire only, and the checks;
//! - `schedule`: the `--filter`, and the scheduler (several at a time, faults alone,
//!   deterministic runs one by one, outcomes in the files' order);
//! - `report`: the one-line-per-scenario text, JSON Lines, and JUnit XML.
//!
//! `threeds run` starts an isolated sandbox (temporary database and PKI, ports from the
//! OS), runs the scenarios in parallel and reports.

pub mod format;
pub mod load;
pub mod report;
pub mod run;
pub mod schedule;

pub use load::{Diagnostic, Scenario, load, parse};
pub use run::{Outcome, Target, VirtualTime};

/// Every `*.toml` file under `paths` (files as given, directories walked), sorted.
pub fn files(paths: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>, String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut out)?;
        } else if path.exists() {
            out.push(path.clone());
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    out.sort();
    Ok(out)
}
