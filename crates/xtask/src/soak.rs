//! `cargo xtask soak`: the sandbox under a steady load for a long time (not part of
//! `cargo xtask test`). It builds `threeds`, starts `threeds up` in a directory of its
//! own (ports from the OS, loopback only) with small trace and audit-log limits, and
//! every `--every-ms` starts one round of `threeds run --against` its manifest: a
//! frictionless browser authentication, a browser OTP challenge and an app OTP
//! challenge (at most four rounds in flight; a round that would exceed that is counted
//! as late, not started). It samples the sandbox process (RSS, open descriptors) and
//! its files (trace database, components' database, key audit log, admin audit log)
//! every 30 seconds, stops by itself after `--minutes`, and fails unless no round
//! failed, descriptors stayed within 10% of their count after the first minute, RSS
//! within 10% of its half-time value (it grows while the trace fills up to what it
//! keeps), and the trace and the audit logs stopped growing (their size at the end
//! within 10% of their size at half-time: pruning and rotation hold them).

use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// What each round runs: one authentication of each kind the issue names.
const ROUND: [&str; 3] = [
    "scenarios/browser/frictionless-y.toml",
    "scenarios/browser/challenge-otp.toml",
    "scenarios/app/challenge-otp-alpha.toml",
];
const IN_FLIGHT: usize = 4;
const SAMPLE_EVERY: Duration = Duration::from_secs(30);
/// The soak's limits: small, so that pruning and rotation happen within minutes.
const TRACE_KEEP: &str = "10000";
const LOG_MAX_BYTES: &str = "262144";

struct Options {
    minutes: u64,
    every: Duration,
    release: bool,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        minutes: 10,
        every: Duration::from_millis(1000),
        release: false,
    };
    let mut args = args.iter().filter(|a| *a != "--");
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{what} takes a positive number"))
        };
        match arg.as_str() {
            "--minutes" => options.minutes = number("--minutes")?.min(24 * 60),
            "--every-ms" => options.every = Duration::from_millis(number("--every-ms")?),
            "--release" => options.release = true,
            other => {
                return Err(format!(
                    "unknown option {other}: cargo xtask soak [--minutes N] [--every-ms N] [--release]"
                ));
            }
        }
    }
    Ok(options)
}

/// One sample of the sandbox process and its files.
#[derive(Debug, Clone, Default)]
struct Sample {
    at_s: u64,
    rss_kb: u64,
    fds: u64,
    trace_db: u64,
    database: u64,
    keys_audit: u64,
    admin_audit: u64,
}

impl Sample {
    fn take(at: Duration, pid: u32, data: &Path) -> Sample {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss_kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64);
        Sample {
            at_s: at.as_secs(),
            rss_kb,
            fds,
            trace_db: sizes(data, "trace.db"),
            database: sizes(data, "sandbox.db"),
            keys_audit: sizes(data, "keys-audit.jsonl"),
            admin_audit: sizes(data, "audit.jsonl"),
        }
    }

    fn line(&self) -> String {
        format!(
            "{:>5} s  rss {:>7} KiB  fds {:>4}  trace.db {:>9}  sandbox.db {:>9}  keys-audit {:>8}  audit {:>6}",
            self.at_s,
            self.rss_kb,
            self.fds,
            self.trace_db,
            self.database,
            self.keys_audit,
            self.admin_audit
        )
    }
}

/// The bytes of every file in `dir` named `name` or `name` plus a suffix (`-wal`,
/// `-shm`, `.1`, …): a database with its journal, a log with its rotated files.
fn sizes(dir: &Path, name: &str) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(name))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    })
}

pub fn soak(args: &[String]) -> ExitCode {
    let options = match options(args) {
        Ok(options) => options,
        Err(why) => {
            eprintln!("xtask soak: {why}");
            return ExitCode::from(2);
        }
    };
    let mut build = vec!["build", "--locked", "-q", "-p", "threeds"];
    if options.release {
        build.push("--release");
    }
    if !super::run("build", "cargo", &build) {
        return ExitCode::FAILURE;
    }
    let threeds = super::target_dir()
        .join(if options.release { "release" } else { "debug" })
        .join("threeds");
    let dir = super::target_dir().join(format!("soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (data, manifest) = (dir.join("data"), dir.join("manifest.json"));
    let sandbox = Command::new(&threeds)
        .arg("up")
        .arg("--certs")
        .arg(dir.join("certs"))
        .arg("--data")
        .arg(&data)
        .arg("--manifest")
        .arg(&manifest)
        .args(["--port-base", "0", "--trace-keep", TRACE_KEEP])
        .args(["--log-max-bytes", LOG_MAX_BYTES])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn();
    let mut sandbox = match sandbox {
        Ok(child) => Guard(child),
        Err(e) => {
            eprintln!("xtask soak: {}: {e}", threeds.display());
            return ExitCode::FAILURE;
        }
    };
    let pid = sandbox.0.id();
    let started = Instant::now();
    while !manifest.exists() {
        if started.elapsed() > Duration::from_secs(120)
            || matches!(sandbox.0.try_wait(), Ok(Some(_)))
        {
            eprintln!(
                "xtask soak: the sandbox did not start (no {})",
                manifest.display()
            );
            return ExitCode::FAILURE;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "xtask soak: threeds up (pid {pid}) in {}; a round every {} ms for {} minutes",
        dir.display(),
        options.every.as_millis(),
        options.minutes
    );
    let outcome = drive(&options, &threeds, &manifest, pid, &data);
    drop(sandbox);
    match outcome {
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&dir);
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!(
                "xtask soak: FAILED: {why} (the sandbox's files are kept in {})",
                dir.display()
            );
            ExitCode::FAILURE
        }
    }
}

/// The rounds and the samples; `Err` says what did not hold.
fn drive(
    options: &Options,
    threeds: &Path,
    manifest: &Path,
    pid: u32,
    data: &Path,
) -> Result<(), String> {
    let duration = Duration::from_secs(options.minutes * 60);
    let started = Instant::now();
    let mut running: Vec<Child> = Vec::new();
    let mut samples = vec![Sample::take(Duration::ZERO, pid, data)];
    println!("{}", samples[0].line());
    let (mut rounds, mut failed, mut late) = (0u64, 0u64, 0u64);
    let mut first_failure: Option<String> = None;
    let mut next_round = Instant::now();
    let mut next_sample = Instant::now() + SAMPLE_EVERY;
    while started.elapsed() < duration {
        let now = Instant::now();
        // Finished rounds.
        let mut still = Vec::with_capacity(running.len());
        for mut child in running.drain(..) {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => {}
                Ok(Some(status)) => {
                    failed += 1;
                    if first_failure.is_none() {
                        let mut out = String::new();
                        if let Some(mut stdout) = child.stdout.take() {
                            let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
                        }
                        first_failure = Some(format!("{status}: {}", out.trim()));
                    }
                }
                Ok(None) => still.push(child),
                Err(e) => {
                    failed += 1;
                    first_failure.get_or_insert(e.to_string());
                }
            }
        }
        running = still;
        if now >= next_round {
            next_round += options.every;
            if running.len() >= IN_FLIGHT {
                late += 1;
            } else {
                let child = Command::new(threeds)
                    .arg("run")
                    .arg("--against")
                    .arg(manifest)
                    .args(ROUND)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("{}: {e}", threeds.display()))?;
                running.push(child);
                rounds += 1;
            }
        }
        if now >= next_sample {
            next_sample += SAMPLE_EVERY;
            let sample = Sample::take(started.elapsed(), pid, data);
            println!("{}", sample.line());
            samples.push(sample);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for mut child in running {
        match child.wait() {
            Ok(status) if status.success() => {}
            _ => failed += 1,
        }
    }
    let end = Sample::take(started.elapsed(), pid, data);
    println!("{}", end.line());
    samples.push(end.clone());
    println!(
        "{rounds} rounds ({} authentications), {failed} failed, {late} not started (4 in flight)",
        rounds * ROUND.len() as u64
    );
    let mut problems = Vec::new();
    if failed > 0 {
        problems.push(format!(
            "{failed} rounds failed; the first: {}",
            first_failure.unwrap_or_default()
        ));
    }
    // After the first minute (caches and pools warm), RSS and descriptors stay flat.
    let warm = samples
        .iter()
        .find(|s| s.at_s >= 60)
        .cloned()
        .unwrap_or_else(|| samples[0].clone());
    let half = samples
        .iter()
        .find(|s| s.at_s >= duration.as_secs() / 2)
        .cloned()
        .unwrap_or_else(|| warm.clone());
    let within = |what: &str, from: u64, to: u64, problems: &mut Vec<String>| {
        let ok = to <= from + from / 10;
        println!(
            "{} {what}: {from} → {to}{}",
            if ok { "ok  " } else { "FAIL" },
            if from > 0 {
                format!(
                    " ({:+.1}%)",
                    (to as f64 - from as f64) * 100.0 / from as f64
                )
            } else {
                String::new()
            }
        );
        if !ok {
            problems.push(format!("{what} grew from {from} to {to}"));
        }
    };
    // Memory grows while the trace fills up to what it keeps (its pages cached); from
    // half-time, when it is full, it must stay flat.
    println!(
        "     RSS KiB: {} at the start, {} after the first minute, {} at half-time",
        samples[0].rss_kb, warm.rss_kb, half.rss_kb
    );
    within(
        "RSS KiB, half-time → end",
        half.rss_kb,
        end.rss_kb,
        &mut problems,
    );
    within(
        "open descriptors after the first minute → end",
        warm.fds,
        end.fds,
        &mut problems,
    );
    within(
        "trace database bytes, half-time → end",
        half.trace_db,
        end.trace_db,
        &mut problems,
    );
    // A rotated log's files never hold more than the live file and the three kept.
    let bound: u64 = LOG_MAX_BYTES.parse::<u64>().unwrap_or(0) * 4;
    for (what, peak) in [
        ("key audit log", samples.iter().map(|s| s.keys_audit).max()),
        (
            "admin audit log",
            samples.iter().map(|s| s.admin_audit).max(),
        ),
    ] {
        let peak = peak.unwrap_or(0);
        let ok = peak <= bound + 4096;
        println!(
            "{} {what} bytes, largest: {peak} (rotation bound {bound})",
            if ok { "ok  " } else { "FAIL" }
        );
        if !ok {
            problems.push(format!("the {what} reached {peak} bytes, past {bound}"));
        }
    }
    println!(
        "note sandbox.db: {} → {} bytes (transaction records have no retention yet; the \
         authentication values in them are purged after an hour)",
        samples[0].database, end.database
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Stops the sandbox when dropped (SIGTERM, then SIGKILL after 10 seconds).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..100 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    fn parse(args: &[&str]) -> Result<(u64, u128, bool), String> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        super::options(&args).map(|o| (o.minutes, o.every.as_millis(), o.release))
    }

    #[test]
    fn options_are_read_and_bad_ones_said() {
        assert_eq!(parse(&[]), Ok((10, 1000, false)));
        assert_eq!(
            parse(&["--", "--minutes", "2", "--every-ms", "250", "--release"]),
            Ok((2, 250, true))
        );
        assert!(parse(&["--minutes", "0"]).is_err());
        assert!(parse(&["--fast"]).is_err_and(|e| e.contains("unknown option --fast")));
    }
}
