//! A throw-away PostgreSQL server for the tests: a new cluster in a temporary
//! directory, on a free loopback port, with trust authentication, stopped and removed
//! when the [`Server`] is dropped (and, if the run was killed, by the next run: see
//! [`crate::leftovers`]). Debian's PostgreSQL is installed when no `initdb` is found.
//! As root, the cluster is run by the `postgres` user (initdb refuses root).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use crate::leftovers;

/// A running throw-away server.
pub struct Server {
    bin: PathBuf,
    dir: PathBuf,
    as_postgres: bool,
    /// `postgres://postgres@127.0.0.1:PORT`: a server URL, without a database name.
    pub url: String,
}

impl Server {
    /// Starts one, or says why it could not.
    pub fn start() -> Result<Server, String> {
        let bin = match find_bin() {
            Some(bin) => bin,
            None => {
                install()?;
                find_bin().ok_or("PostgreSQL installed but no initdb found")?
            }
        };
        let as_postgres = is_root();
        for dir in leftovers::stale("pg") {
            let stale = Server {
                bin: bin.clone(),
                dir,
                as_postgres,
                url: String::new(),
            };
            // Dropping it would stop it gently; a killed run's cluster need not be.
            stale.stop("immediate");
            leftovers::remove(&stale.dir, "a PostgreSQL cluster");
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let dir = leftovers::own_dir("pg");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let server = Server {
            bin,
            dir,
            as_postgres,
            url: format!("postgres://postgres@127.0.0.1:{port}"),
        };
        if as_postgres {
            let owned = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&server.dir)
                .status()
                .is_ok_and(|s| s.success());
            if !owned {
                return Err(format!("cannot give {} to postgres", server.dir.display()));
            }
        }
        let data = server.dir.join("data");
        let data = data.to_string_lossy();
        server.pg(
            "initdb",
            &["-D", &data, "--auth=trust", "-U", "postgres", "-E", "UTF8"],
        )?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {}",
            server.dir.display()
        );
        let log = server.dir.join("log");
        server.pg(
            "pg_ctl",
            &[
                "-D",
                &data,
                "-w",
                "-l",
                &log.to_string_lossy(),
                "-o",
                &options,
                "start",
            ],
        )?;
        eprintln!("xtask: PostgreSQL test server at {}", server.url);
        Ok(server)
    }

    /// Runs the PostgreSQL program `program` (as `postgres` when we are root).
    fn pg(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = command
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} failed: {}",
                program.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

impl Server {
    /// Stops the cluster if it runs (`mode`: `fast` or `immediate`).
    fn stop(&self, mode: &str) {
        let data = self.dir.join("data");
        if data.join("postmaster.pid").exists() {
            let _ = self.pg(
                "pg_ctl",
                &["-D", &data.to_string_lossy(), "-m", mode, "stop"],
            );
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop("fast");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The directory holding `initdb` and `pg_ctl`: on the `PATH`, or Debian's newest.
fn find_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn install() -> Result<(), String> {
    eprintln!("xtask: PostgreSQL is missing; installing the Debian package postgresql");
    super::apt_install(&["postgresql"])
        .map_err(|why| format!("could not install postgresql ({why}); install it and run again"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
