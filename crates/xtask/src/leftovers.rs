//! What a killed run left behind. A throw-away server's state lives in a directory
//! named after the xtask process that started it (`<temp>/threeds-<kind>-<pid>`): a run
//! ended normally removes its own when the server is dropped; a run that was killed
//! cannot, so the next run stops and removes those whose xtask is gone, before it
//! starts its own. Directories of a run still going are left alone.

use std::path::PathBuf;
use std::process::Command;

/// This run's directory for servers of `kind`.
pub fn own_dir(kind: &str) -> PathBuf {
    std::env::temp_dir().join(format!("threeds-{kind}-{}", std::process::id()))
}

/// The directories of `kind` whose xtask is no longer running.
pub fn stale(kind: &str) -> Vec<PathBuf> {
    let prefix = format!("threeds-{kind}-");
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name();
            let pid: u32 = name.to_str()?.strip_prefix(&prefix)?.parse().ok()?;
            (pid != std::process::id() && !running(pid)).then(|| entry.path())
        })
        .collect()
}

/// Whether process `pid` exists (`kill -0`, which signals nothing).
pub fn running(pid: u32) -> bool {
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The command line of process `pid`, if it is running (`ps`).
pub fn command_line(pid: u32) -> Option<String> {
    let out = Command::new("ps")
        .args(["-o", "args=", "-p", &pid.to_string()])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Removes `dir`, saying so.
pub fn remove(dir: &std::path::Path, what: &str) {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => eprintln!(
            "xtask: removed {what} an earlier, interrupted run left in {}",
            dir.display()
        ),
        Err(e) => eprintln!("xtask: cannot remove {}: {e}", dir.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_directories_of_runs_that_are_gone_are_stale() {
        // A process that has ended, one that runs (this test), and pid 1.
        let mut ended = Command::new("true").spawn().unwrap();
        ended.wait().unwrap();
        let kind = format!("leftovers-test-{}", std::process::id());
        let dir = |pid: u32| std::env::temp_dir().join(format!("threeds-{kind}-{pid}"));
        let (gone, alive, init) = (dir(ended.id()), dir(std::process::id()), dir(1));
        for d in [&gone, &alive, &init] {
            std::fs::create_dir_all(d).unwrap();
        }
        let found = stale(&kind);
        for d in [&gone, &alive, &init] {
            std::fs::remove_dir_all(d).unwrap();
        }
        assert_eq!(found, vec![gone]);
        assert_eq!(own_dir(&kind), alive);
    }
}
