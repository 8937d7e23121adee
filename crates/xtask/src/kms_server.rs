//! A KMS-compatible server for the tests: moto (PyPI `moto[server]`, in its own virtual
//! environment under `target/kms-venv`), on a free loopback port, state in memory,
//! stopped when the [`Server`] is dropped (and, if the run was killed, by the next
//! run: its pid is kept in a [`crate::leftovers`] directory). Real KMS differs from
//! moto in its ciphertext blobs' layout, so the tests never parse them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::leftovers;

/// A running moto server.
pub struct Server {
    child: Child,
    /// Holds `moto.pid`, for the next run if this one is killed.
    dir: PathBuf,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Server {
    /// Installs moto if needed and starts it, or says why it could not.
    pub fn start() -> Result<Server, String> {
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/kms-venv");
        let moto = venv.join("bin/moto_server");
        if !moto.exists() {
            eprintln!("xtask: installing moto[server] into {}", venv.display());
            let venv_arg = venv.display().to_string();
            let pip = venv.join("bin/pip").display().to_string();
            let ok = super::run("kms venv", "python3", &["-m", "venv", &venv_arg])
                && super::run(
                    "pip install moto",
                    &pip,
                    &["install", "-q", "moto[server]>=5"],
                );
            if !ok || !moto.exists() {
                return Err(
                    "could not install moto[server] (needs python3 with venv and PyPI)".into(),
                );
            }
        }
        reap();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new(&moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", moto.display()))?;
        let dir = leftovers::own_dir("kms");
        let server = Server {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        std::fs::create_dir_all(&server.dir)
            .and_then(|()| {
                std::fs::write(server.dir.join("moto.pid"), server.child.id().to_string())
            })
            .map_err(|e| format!("{}: {e}", server.dir.display()))?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(20) {
                return Err(format!("moto did not listen on {port} within 20 s"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("xtask: KMS-compatible test server (moto) at {}", server.url);
        Ok(server)
    }

    /// What the tests need to reach it: its URL, and the AWS environment the SDK
    /// insists on (a region, credentials; no instance metadata lookups).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("THREEDS_TEST_KMS", self.url.clone()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Stops the moto servers of killed runs (checking the pid is still moto's, as pids
/// are reused) and removes their directories.
fn reap() {
    for dir in leftovers::stale("kms") {
        let pid = std::fs::read_to_string(dir.join("moto.pid"))
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok());
        if let Some(pid) = pid
            && leftovers::command_line(pid).is_some_and(|c| c.contains("moto_server"))
        {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        leftovers::remove(&dir, "a moto server");
    }
}
