//! `cargo xtask docker`: the image users build (`docker/Dockerfile`), proven on a real
//! Docker engine without pulling anything from a registry.
//!
//! [`prepare`] gets an engine: the running one, or Debian's `docker.io` installed and
//! its `dockerd` started (stopped again when the [`Engine`] is dropped); and the base
//! image `debian:bookworm-slim`, made locally with `debootstrap` from the Debian mirror
//! apt uses when the engine does not have it (kept in `target/docker-base`). [`prove`]
//! builds the image's `prebuilt` target (the same `runtime-base` stage as the default
//! `runtime` target, with the binary the host built instead of the Rust stage), runs
//! `threeds up` in it the way a PCI deployment runs containers (read-only root, no new
//! privileges, every capability dropped, the image's own non-root user), waits for its
//! `HEALTHCHECK` to say healthy, runs the whole scenario pack and `threeds doctor`
//! against it from the host, checks the root filesystem refuses writes, stops it with
//! SIGTERM and expects a clean exit. Host networking only, on a loopback address of its
//! own (the test machines allow loopback traffic only).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The tag `prove` builds.
const IMAGE: &str = "threeds:xtask";
/// The base image the Dockerfile names.
const BASE: &str = "debian:bookworm-slim";
/// The loopback address the container's sandbox listens on and is advertised by.
const ADDRESS: &str = "127.0.0.77";
/// The uid the image runs as.
const IMAGE_UID: &str = "10001";

/// A Docker engine to use; the `dockerd` this process started, if it did.
#[derive(Debug)]
pub struct Engine {
    started: Option<Child>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(mut dockerd) = self.started.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &dockerd.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if matches!(dockerd.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = dockerd.kill();
            let _ = dockerd.wait();
        }
    }
}

fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .map_err(|e| format!("docker {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!(
            "docker {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn engine_answers() -> bool {
    docker(&["info", "--format", "{{.ServerVersion}}"]).is_ok()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Whether an engine runs or can be had here (root on Debian: install and start it).
pub fn available() -> bool {
    engine_answers() || (is_root() && Path::new("/usr/bin/apt-get").exists())
}

/// An engine and the base image, installed and made as needed.
pub fn prepare() -> Result<Engine, String> {
    let mut engine = Engine { started: None };
    if !engine_answers() {
        if !is_root() {
            return Err("no Docker engine answers, and only root can install one".into());
        }
        if Command::new("dockerd").arg("--version").output().is_err() {
            eprintln!("xtask: docker: installing Debian's docker.io");
            super::apt_install(&["docker.io"])?;
        }
        let log = super::target_dir().join("dockerd.log");
        let log = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let dockerd = Command::new("dockerd")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting dockerd: {e}"))?;
        engine.started = Some(dockerd);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !engine_answers() {
            if Instant::now() > deadline {
                return Err("dockerd did not answer within 60 s (target/dockerd.log)".into());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    // Containers a killed run left behind.
    if let Ok(stale) = docker(&["ps", "-aq", "--filter", "name=threeds-xtask-"]) {
        for id in stale.split_whitespace() {
            let _ = docker(&["rm", "-f", id]);
        }
    }
    if docker(&["image", "inspect", BASE]).is_err() {
        make_base()?;
    }
    Ok(engine)
}

/// The Debian mirror apt's own sources name (so nothing else is reached).
fn mirror() -> String {
    let sources = [
        "/etc/apt/sources.list.d/debian.sources",
        "/etc/apt/sources.list",
    ];
    sources
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|text| {
            text.lines()
                .filter_map(|line| {
                    let line = line.trim();
                    let url = line
                        .strip_prefix("URIs:")
                        .or_else(|| line.strip_prefix("deb "))?
                        .split_whitespace()
                        .find(|w| w.starts_with("http"))?;
                    (!url.contains("security")).then(|| url.to_owned())
                })
                .collect::<Vec<_>>()
        })
        .find(|url| url.trim_end_matches('/').ends_with("/debian"))
        .unwrap_or_else(|| "http://deb.debian.org/debian".into())
}

/// `debian:bookworm-slim` from Debian's packages: a minimal bookworm with the two
/// libraries the image needs, imported into the engine.
fn make_base() -> Result<(), String> {
    let dir = super::target_dir().join("docker-base");
    let rootfs = dir.join("rootfs");
    let done = dir.join("complete");
    if !done.exists() {
        if Command::new("debootstrap")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("xtask: docker: installing debootstrap");
            super::apt_install(&["debootstrap"])?;
        }
        let _ = std::fs::remove_dir_all(&rootfs);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mirror = mirror();
        eprintln!("xtask: docker: making {BASE} with debootstrap from {mirror}");
        let log = dir.join("debootstrap.log");
        let log = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let status = Command::new("debootstrap")
            .args([
                "--variant=minbase",
                "--include=ca-certificates,libssl3",
                "bookworm",
            ])
            .arg(&rootfs)
            .arg(&mirror)
            .stdout(log)
            .status()
            .map_err(|e| format!("debootstrap: {e}"))?;
        if !status.success() {
            return Err(format!(
                "debootstrap failed ({status}): see {}",
                dir.join("debootstrap.log").display()
            ));
        }
        std::fs::write(&done, b"").map_err(|e| format!("{}: {e}", done.display()))?;
    }
    let import = format!(
        "tar -C '{}' -c . | docker import - {BASE}",
        rootfs.display()
    );
    let status = Command::new("sh")
        .args(["-c", &import])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("docker import: {e}"))?;
    if !status.success() {
        return Err(format!("{import} failed ({status})"));
    }
    Ok(())
}

/// A port base on [`ADDRESS`] with the eight ports of `threeds up` free.
fn free_port_base() -> Result<u16, String> {
    (0..200_u16)
        .map(|i| 21_000 + (std::process::id() as u16 % 50 + i) * 10 % 9_000)
        .find(|base| (0..8).all(|i| std::net::TcpListener::bind((ADDRESS, base + i)).is_ok()))
        .ok_or_else(|| format!("no eight free ports on {ADDRESS}"))
}

/// A running container, removed when dropped.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.0]);
    }
}

/// Builds the image around `threeds` (a binary built on this host) and proves it.
pub fn prove(_engine: &Engine, threeds: &Path) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let work = super::target_dir().join(format!("docker-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    build_image(&root, &work, threeds)?;
    let state = std::path::absolute(work.join("state")).map_err(|e| e.to_string())?;
    let user = own_state(&state)?;
    let container = start_container(&state, user.as_deref())?;
    wait_healthy(&container.0)?;
    let uid = check_from_host(&container, &root, &state, threeds, user.is_none())?;
    stop_cleanly(&container)?;
    drop(container);
    let _ = std::fs::remove_dir_all(&work);
    eprintln!(
        "xtask: docker: the image ran read-only as uid {uid}, became healthy, passed the pack \
         and doctor, and stopped cleanly"
    );
    Ok(())
}

/// `docker build --target prebuilt` with `threeds` as the whole context.
fn build_image(root: &Path, work: &Path, threeds: &Path) -> Result<(), String> {
    let context = work.join("context");
    std::fs::create_dir_all(&context).map_err(|e| format!("{}: {e}", context.display()))?;
    std::fs::copy(threeds, context.join("threeds"))
        .map_err(|e| format!("{}: {e}", threeds.display()))?;
    let dockerfile = root.join("docker/Dockerfile");
    let dockerfile = dockerfile.to_string_lossy();
    let context_arg = context.to_string_lossy();
    eprintln!("xtask: docker: building {IMAGE} (target prebuilt)");
    docker(&[
        "build",
        "--network",
        "host",
        "-q",
        "-f",
        &dockerfile,
        "--target",
        "prebuilt",
        "-t",
        IMAGE,
        &context_arg,
    ])?;
    let size = docker(&["image", "inspect", "--format", "{{.Size}}", IMAGE])?;
    let mb = size.parse::<f64>().unwrap_or(0.0) / 1e6;
    eprintln!("xtask: docker: image {IMAGE}: {mb:.0} MB (with this host's binary)");
    Ok(())
}

/// The state directory the container writes (data and certificates), at the same path
/// inside and outside so the manifest's paths hold on both sides, owned by the image's
/// user; when this is not root, the user the container must run as instead.
fn own_state(state: &Path) -> Result<Option<String>, String> {
    for sub in ["data", "certs"] {
        std::fs::create_dir_all(state.join(sub)).map_err(|e| format!("{e}"))?;
    }
    if !is_root() {
        let id = |flag: &str| {
            Command::new("id")
                .arg(flag)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default()
        };
        return Ok(Some(format!("{}:{}", id("-u"), id("-g"))));
    }
    let chown = Command::new("chown")
        .args(["-R", &format!("{IMAGE_UID}:{IMAGE_UID}")])
        .arg(state)
        .status()
        .map_err(|e| format!("chown: {e}"))?;
    if !chown.success() {
        return Err(format!("chown {} failed", state.display()));
    }
    Ok(None)
}

/// `threeds up` in the image as a PCI deployment runs containers: read-only root, a
/// tmpfs `/tmp`, no new privileges, no capabilities; host networking on [`ADDRESS`],
/// advertised by it.
fn start_container(state: &Path, user: Option<&str>) -> Result<Container, String> {
    let base = free_port_base()?;
    let name = format!("threeds-xtask-{}", std::process::id());
    let state = state.to_string_lossy();
    let mut run: Vec<String> = [
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "host",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--security-opt",
        "no-new-privileges",
        "--cap-drop",
        "ALL",
        "-v",
        &format!("{state}:{state}"),
    ]
    .map(str::to_owned)
    .into();
    for env in [
        format!("THREEDS_DATA={state}/data"),
        format!("THREEDS_CERTS={state}/certs"),
        format!("THREEDS_HOST={ADDRESS}"),
        format!("THREEDS_PUBLIC_HOST={ADDRESS}"),
        format!("THREEDS_HEALTH_PORT={}", base + 7),
    ] {
        run.extend(["-e".to_owned(), env]);
    }
    if let Some(user) = user {
        run.extend(["--user".to_owned(), user.to_owned()]);
    }
    run.extend([IMAGE, "up", "--port-base"].map(str::to_owned));
    run.push(base.to_string());
    let args: Vec<&str> = run.iter().map(String::as_str).collect();
    docker(&args)?;
    Ok(Container(name))
}

/// The scenario pack and doctor from the host against the running container, then
/// from inside: who it runs as, and that its root filesystem refuses a write. Returns
/// the uid.
fn check_from_host(
    container: &Container,
    root: &Path,
    state: &Path,
    threeds: &Path,
    as_image_user: bool,
) -> Result<String, String> {
    let manifest = state.join("data/manifest.json");
    let manifest = manifest.to_string_lossy();
    let pack = root.join("scenarios");
    let pack = pack.to_string_lossy();
    let host = |what: &str, args: &[&str]| -> Result<(), String> {
        eprintln!("xtask: docker: {what}: threeds {}", args.join(" "));
        let status = Command::new(threeds)
            .args(args)
            .status()
            .map_err(|e| format!("{what}: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{what} against the container failed ({status})"))
        }
    };
    host("the scenario pack", &["run", &pack, "--against", &manifest])?;
    host("doctor", &["doctor", "--manifest", &manifest])?;
    let uid = docker(&["exec", &container.0, "id", "-u"])?;
    if as_image_user && uid != IMAGE_UID {
        return Err(format!("the image runs as uid {uid}, not {IMAGE_UID}"));
    }
    let write = [
        "exec",
        &container.0,
        "sh",
        "-c",
        "echo x > /usr/local/bin/written",
    ];
    if docker(&write).is_ok() {
        return Err("the container's root filesystem took a write".into());
    }
    Ok(uid)
}

/// `docker stop` (SIGTERM) and a zero exit status.
fn stop_cleanly(container: &Container) -> Result<(), String> {
    docker(&["stop", "--time", "20", &container.0])?;
    let exit = docker(&["inspect", "--format", "{{.State.ExitCode}}", &container.0])?;
    if exit != "0" {
        let logs = docker(&["logs", "--tail", "20", &container.0]).unwrap_or_default();
        return Err(format!("threeds up exited {exit} on SIGTERM: {logs}"));
    }
    Ok(())
}

/// Waits until the container's `HEALTHCHECK` says healthy (the image's own probe).
fn wait_healthy(name: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let health = docker(&["inspect", "--format", "{{.State.Health.Status}}", name])?;
        match health.as_str() {
            "healthy" => return Ok(()),
            "unhealthy" => break,
            _ if Instant::now() > deadline => break,
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    let logs = docker(&["logs", "--tail", "30", name]).unwrap_or_default();
    let probes =
        docker(&["inspect", "--format", "{{json .State.Health}}", name]).unwrap_or_default();
    Err(format!(
        "the container did not become healthy: {probes}\n{logs}"
    ))
}

/// `cargo xtask docker`: asked for, so a missing engine is a failure.
pub fn command() -> std::process::ExitCode {
    let threeds = host_binary();
    let built = Command::new("cargo")
        .args(["build", "--locked", "-p", "threeds"])
        .status()
        .is_ok_and(|s| s.success());
    let result = if built {
        prepare().and_then(|engine| prove(&engine, &threeds))
    } else {
        Err("cargo build -p threeds failed".into())
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("xtask: docker: {why}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The binary the test build made (`target/debug/threeds`).
pub fn host_binary() -> PathBuf {
    super::target_dir().join("debug/threeds")
}
