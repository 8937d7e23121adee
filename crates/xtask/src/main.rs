//! `cargo xtask`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! `cargo xtask test` is the one command that runs every test, locally and in CI
//! (`.ci/run` calls exactly this). It installs and starts whatever the tests need, so a
//! fresh machine needs nothing but the Rust toolchain. Today that is: formatting,
//! clippy with warnings as errors, one build of every test binary, the doctests, the
//! scenario pack (`threeds run scenarios` with the binary that build made, its JUnit
//! report kept as `<target>/scenarios-junit.xml`), then the whole test suite with
//! cargo-nextest (installed if missing; `cargo test` is the fallback), and the time each
//! phase took. It installs,
//! from Debian, when missing: OpenSSL (the PKI and TLS tests check us with it) and
//! Chromium with chromedriver (the browser-channel tests drive it headless), and
//! OpenSSL's headers (josekit builds on them); from PyPI, into `target/jose-venv`:
//! Python jwcrypto, the independent JOSE implementation the app channel's tokens are
//! checked against (`THREEDS_JOSE_PYTHON` tells the tests where it is). It starts a
//! throw-away PostgreSQL server (`postgres`; Debian's package installed if missing)
//! and tells the tests its URL (`THREEDS_TEST_POSTGRES`), so the store's tests and the
//! scenario pack run on PostgreSQL as well as SQLite, and the sandbox crate's tests but the Chromium ones
//! run a second time on it (`THREEDS_TEST_SANDBOX_ON=postgres`); and a KMS-compatible server
//! (`kms_server`: moto from PyPI, in `target/kms-venv`) for the AWS KMS backend's tests
//! (`THREEDS_TEST_KMS` and the AWS environment).
//!
//! No dependencies, so it builds in seconds.

mod docker;
mod kms_server;
mod leftovers;
mod postgres;
mod soak;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("services") => services(),
        Some("soak") => soak::soak(&args[1..]),
        Some("docker") => docker::command(),
        _ => {
            eprintln!(
                "usage: cargo xtask test [-- <nextest filter args>]\n       cargo xtask services\n       \
                 cargo xtask soak [--minutes 10] [--every-ms 1000] [--release]\n       \
                 cargo xtask docker\n\n\
                 test       format check, clippy (warnings are errors), doctests, all tests\n\
                 services   start the test PostgreSQL and KMS-compatible servers, print the\n\
                 \x20          environment the tests read, stop them on Enter\n\
                 soak       threeds up under a steady mix of authentications for a while;\n\
                 \x20          fails on any error, growing memory or descriptors, or files\n\
                 \x20          that keep growing\n\
                 docker     build the image (docker/Dockerfile) on a local Docker engine,\n\
                 \x20          installed if missing, and prove it: read-only, healthy, the\n\
                 \x20          scenario pack and doctor against it, a clean stop"
            );
            ExitCode::from(2)
        }
    }
}

fn test(extra: &[String]) -> ExitCode {
    let mut phases = Phases::default();
    let ok = test_phases(extra, &mut phases);
    phases.report();
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The phases of `test`, in order; stops at the first failure but the test suites,
/// which all run (`--no-fail-fast`) so one report shows every failure.
fn test_phases(extra: &[String], phases: &mut Phases) -> bool {
    let extra: Vec<&str> = extra
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--")
        .collect();
    // Independent implementations the tests check our output against, the real browser
    // the browser-channel tests drive (Debian's Chromium with its chromedriver), the
    // OpenSSL headers josekit builds on, and the independent JOSE implementation
    // (Python jwcrypto) the app-channel crypto is cross-checked against.
    let mut jose_python = None;
    let tools = phases.time("install tools", || {
        ensure_debian_tool("openssl", "version", &["openssl"])
            && ensure_debian_tool(
                "chromedriver",
                "--version",
                &["chromium", "chromium-driver"],
            )
            && ensure_openssl_headers()
            && {
                jose_python = ensure_jose_python();
                jose_python.is_some()
            }
    });
    let Some(jose_python) = jose_python.filter(|_| tools) else {
        return false;
    };
    // The Docker engine and base image take a minute or two of downloads, not of CPU:
    // they are made while the build runs, and the image is proven at the end.
    let docker = docker_wanted().then(|| std::thread::spawn(docker::prepare));
    let clippy = [
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ];
    let nextest = has_nextest() || phases.time("install cargo-nextest", install_nextest);
    if !nextest {
        eprintln!("xtask: cargo-nextest unavailable, falling back to cargo test");
    }
    let runner: &[&str] = if nextest {
        &["nextest", "run"]
    } else {
        &["test"]
    };
    // Every test binary is built once, by the command that runs them: the scenario pack
    // below runs the `threeds` binary that build made, and the PostgreSQL pass selects
    // the sandbox's tests from the same build instead of building `-p sandbox` again
    // (whose features would differ from the workspace's, rebuilding its dependencies).
    let mut build = runner.to_vec();
    build.extend(["--workspace", "--locked", "--no-run"]);
    let ok = phases.time("format", || {
        run("format", "cargo", &["fmt", "--all", "--", "--check"])
    }) && phases.time("clippy", || run("clippy", "cargo", &clippy))
        && phases.time("build tests", || run("build tests", "cargo", &build))
        && phases.time("doctests", || {
            run(
                "doctests",
                "cargo",
                &["test", "--workspace", "--doc", "--locked"],
            )
        })
        && phases.time("scenarios", scenario_pack);
    if !ok {
        return false;
    }
    // The PostgreSQL and AWS KMS backends' tests need servers: throw-away ones,
    // stopped when `services` is dropped at the end of this function.
    let Some(services) = phases.time_value("start services", Services::start) else {
        return false;
    };
    let mut env = vec![("THREEDS_JOSE_PYTHON", jose_python.display().to_string())];
    env.extend(services.env());
    let suite = |name: &str, env: &[(&str, String)], scope: &[&str]| {
        let mut args = runner.to_vec();
        args.extend(scope);
        args.extend(["--locked", "--no-fail-fast"]);
        args.extend(&extra);
        run_with(env, name, "cargo", &args)
    };
    // The sandbox's own integration tests once more, each sandbox on a PostgreSQL
    // database of its own (`tests/it/support`'s `config_in`). The store's tests and the
    // scenario pack run on both backends within the suite. The Chromium tests are left
    // out of this pass: what they add is the browser, which the database does not
    // change, and they are most of its time (the challenge and restart tests cover the
    // same flows on PostgreSQL at HTTP level).
    let mut on_postgres = env.clone();
    on_postgres.push(("THREEDS_TEST_SANDBOX_ON", "postgres".into()));
    let sandbox_scope: &[&str] = if nextest {
        &[
            "--workspace",
            "-E",
            "package(sandbox) - test(/^(browser|browser_spc)::/)",
        ]
    } else {
        &["-p", "sandbox"]
    };
    let sandbox_ok = phases.time("sandbox tests on PostgreSQL", || {
        suite("sandbox tests on PostgreSQL", &on_postgres, sandbox_scope)
    });
    let suite_ok = phases.time("tests", || suite("tests", &env, &["--workspace"]));
    let docker_ok =
        docker.is_none_or(|preparing| phases.time("docker image", || prove_image(preparing)));
    suite_ok && sandbox_ok && docker_ok
}

/// The image proven on the engine `preparing` got; an engine that could not be had is
/// said, and a failure only when required.
fn prove_image(preparing: std::thread::JoinHandle<Result<docker::Engine, String>>) -> bool {
    let proven = match preparing.join() {
        Ok(Ok(engine)) => docker::prove(&engine, &docker::host_binary()),
        // An engine that cannot be had here is the machine's, not the image's.
        Ok(Err(why)) if !docker_required() => {
            eprintln!("xtask: docker: NOT RUN: no engine could be had: {why}");
            Ok(())
        }
        Ok(Err(why)) => Err(why),
        Err(_) => Err("preparing the engine panicked".into()),
    };
    proven
        .map_err(|why| eprintln!("xtask: docker: {why}"))
        .is_ok()
}

/// `THREEDS_TEST_DOCKER=require`: an engine that cannot be had fails `test`.
fn docker_required() -> bool {
    std::env::var("THREEDS_TEST_DOCKER").as_deref() == Ok("require")
}

/// Whether `test` proves the image: when a Docker engine runs or can be installed
/// (root on Debian), unless `THREEDS_TEST_DOCKER=skip`; said either way.
fn docker_wanted() -> bool {
    if std::env::var("THREEDS_TEST_DOCKER").as_deref() == Ok("skip") {
        eprintln!("xtask: docker: skipped (THREEDS_TEST_DOCKER=skip)");
        return false;
    }
    let available = docker::available();
    if !available && docker_required() {
        eprintln!("xtask: docker: required (THREEDS_TEST_DOCKER=require) but no engine here");
        return true;
    }
    if !available {
        eprintln!(
            "xtask: docker: skipped: no Docker engine answers and none can be installed here \
             (not root on Debian); `cargo xtask docker` runs it where one can"
        );
    }
    available
}

/// The scenario pack, as users run it (`threeds run scenarios`), with the binary the
/// test build made, its JUnit report kept for CI in the target directory.
fn scenario_pack() -> bool {
    let target = target_dir();
    let _ = std::fs::create_dir_all(&target);
    let junit = target.join("scenarios-junit.xml");
    let junit = junit.to_string_lossy();
    let threeds = target.join("debug/threeds");
    let threeds = threeds.to_string_lossy();
    let ok = run(
        "scenarios",
        &threeds,
        &["run", "scenarios", "--junit", &junit],
    );
    if !ok {
        eprintln!("xtask: the scenario pack failed; its report is {junit}");
    }
    ok
}

/// How long each phase of `test` took, printed at the end whatever happened.
#[derive(Default)]
struct Phases {
    started: Option<Instant>,
    done: Vec<(&'static str, std::time::Duration, bool)>,
}

impl Phases {
    /// Runs `phase`, recording its time and whether it succeeded.
    fn time(&mut self, name: &'static str, phase: impl FnOnce() -> bool) -> bool {
        self.time_value(name, || phase().then_some(())).is_some()
    }

    /// [`Phases::time`] for a phase that gives a value (`None` is a failure).
    fn time_value<T>(
        &mut self,
        name: &'static str,
        phase: impl FnOnce() -> Option<T>,
    ) -> Option<T> {
        self.started.get_or_insert_with(Instant::now);
        let at = Instant::now();
        let value = phase();
        self.done.push((name, at.elapsed(), value.is_some()));
        value
    }

    fn report(&self) {
        eprintln!("xtask: time per phase");
        for (name, took, ok) in &self.done {
            let verdict = if *ok { "ok" } else { "FAILED" };
            eprintln!(
                "xtask:   {name:<28} {:>7.1} s  {verdict}",
                took.as_secs_f64()
            );
        }
        if let Some(started) = self.started {
            eprintln!("xtask: finished in {:.0?}", started.elapsed());
        }
    }
}

/// The servers the tests need: a throw-away PostgreSQL and a KMS-compatible server.
struct Services {
    postgres: postgres::Server,
    kms: kms_server::Server,
}

impl Services {
    /// Starts both, or says why not.
    fn start() -> Option<Services> {
        let postgres = postgres::Server::start()
            .map_err(|why| eprintln!("xtask: cannot start PostgreSQL for the tests: {why}"))
            .ok()?;
        let kms = kms_server::Server::start()
            .map_err(|why| {
                eprintln!("xtask: cannot start the KMS-compatible server for the tests: {why}");
            })
            .ok()?;
        Some(Services { postgres, kms })
    }

    /// What tells the tests where they are.
    fn env(&self) -> Vec<(&'static str, String)> {
        // The promise makes a test that finds a service missing fail instead of skip.
        let mut env = vec![
            ("THREEDS_TEST_SERVICES", "postgres,kms".to_owned()),
            ("THREEDS_TEST_POSTGRES", self.postgres.url.clone()),
        ];
        env.extend(self.kms.env());
        env
    }
}

/// The servers `test` starts, for running some tests by hand: writes their environment
/// as shell `export` lines to `<target>/services.env` (and prints it), and keeps them
/// until Enter (or the end of standard input). Killed instead, they are cleaned up by
/// the next run.
fn services() -> ExitCode {
    let file = target_dir().join("services.env");
    // A killed run's file names servers that are gone.
    let _ = std::fs::remove_file(&file);
    let Some(services) = Services::start() else {
        return ExitCode::FAILURE;
    };
    let exports: String = services
        .env()
        .iter()
        .map(|(name, value)| format!("export {name}={value}\n"))
        .collect();
    print!("{exports}");
    if let Err(e) = std::fs::write(&file, &exports) {
        eprintln!("xtask: cannot write {}: {e}", file.display());
        return ExitCode::FAILURE;
    }
    eprintln!(
        "xtask: servers running; in another shell: . {} — press Enter here to stop them",
        file.display()
    );
    let _ = std::io::stdin().read_line(&mut String::new());
    drop(services);
    let _ = std::fs::remove_file(&file);
    ExitCode::SUCCESS
}

/// Cargo's target directory, where reports and the services' environment are kept.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from)
}

fn run(name: &str, program: &str, args: &[&str]) -> bool {
    run_command(name, Command::new(program).args(args), program, args)
}

/// [`run`] with `env` set (what the tests need to find their peers).
fn run_with(env: &[(&str, String)], name: &str, program: &str, args: &[&str]) -> bool {
    let mut command = Command::new(program);
    command.args(args).envs(env.iter().map(|(k, v)| (k, v)));
    run_command(name, &mut command, program, args)
}

fn run_command(name: &str, command: &mut Command, program: &str, args: &[&str]) -> bool {
    eprintln!("xtask: {name}: {program} {}", args.join(" "));
    match command.status() {
        Ok(status) if status.success() => true,
        Ok(status) => {
            eprintln!("xtask: {name} failed ({status})");
            false
        }
        Err(e) => {
            eprintln!("xtask: {name}: cannot run {program}: {e}");
            false
        }
    }
}

/// Serialises every `apt-get` of this process: dpkg takes one lock, and the Docker
/// engine is installed on a thread while other phases may install what they need.
static APT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Installs Debian's `packages` (`apt-get update`, then `install`), one installation
/// of this process at a time.
fn apt_install(packages: &[&str]) -> Result<(), String> {
    let _apt = APT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut install = vec!["install", "-y", "-qq"];
    install.extend(packages);
    for args in [&["update", "-qq"][..], &install] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|e| format!("apt-get: {e}"))?;
        if !status.success() {
            return Err(format!("apt-get {} failed ({status})", args.join(" ")));
        }
    }
    Ok(())
}

/// Makes sure `program` runs (`program version_arg` exits), installing Debian's
/// `packages` if it does not.
fn ensure_debian_tool(program: &str, version_arg: &str, packages: &[&str]) -> bool {
    let present = || Command::new(program).arg(version_arg).output().is_ok();
    if present() {
        return true;
    }
    let list = packages.join(" ");
    eprintln!("xtask: {program} is missing; installing the Debian packages {list}");
    let ok = apt_install(packages)
        .map_err(|why| eprintln!("xtask: {why}"))
        .is_ok();
    if !ok || !present() {
        eprintln!("xtask: could not install {list}; install it and run again");
        return false;
    }
    true
}

/// OpenSSL's headers for the openssl-sys build, installed from Debian when
/// `pkg-config` cannot find them.
fn ensure_openssl_headers() -> bool {
    let present = || {
        Command::new("pkg-config")
            .args(["--exists", "openssl"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if present() {
        return true;
    }
    eprintln!("xtask: OpenSSL headers are missing; installing pkg-config and libssl-dev");
    let ok = apt_install(&["pkg-config", "libssl-dev"])
        .map_err(|why| eprintln!("xtask: {why}"))
        .is_ok();
    if !ok || !present() {
        eprintln!("xtask: could not install libssl-dev; install it and run again");
        return false;
    }
    true
}

/// A Python with jwcrypto, in a virtual environment under `target/jose-venv` (made
/// and filled from PyPI when missing). Returns its interpreter.
fn ensure_jose_python() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/jose-venv");
    let python = venv.join("bin/python");
    let ready = || {
        Command::new(&python)
            .args(["-c", "import jwcrypto, cryptography"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ready() {
        return Some(python);
    }
    eprintln!("xtask: installing jwcrypto into {}", venv.display());
    let venv_arg = venv.display().to_string();
    let python_arg = python.display().to_string();
    let ok = run("python venv", "python3", &["-m", "venv", &venv_arg])
        && run(
            "pip install jwcrypto",
            &python_arg,
            &["-m", "pip", "install", "-q", "jwcrypto>=1.5"],
        );
    if !ok || !ready() {
        eprintln!("xtask: could not install jwcrypto (needs python3 with venv and PyPI)");
        return None;
    }
    Some(python)
}

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn install_nextest() -> bool {
    run(
        "install cargo-nextest",
        "cargo",
        &["install", "cargo-nextest", "--locked"],
    )
}
