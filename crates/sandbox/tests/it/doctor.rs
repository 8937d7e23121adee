//! `threeds doctor` on a fresh sandbox (everything passes), and on the faults it must
//! name: an endpoint accepting TLS 1.1 (a real OpenSSL server), an endpoint not
//! requiring a client certificate, a certificate inside the warning window, and a
//! config file changed after start.

use std::process::{Child, Command, Stdio};

use sandbox::Sandbox;
use sandbox::doctor::{self, Outcome, Report};

use crate::support;

/// The failed checks, as `(check, target starts with, detail contains)` can match.
fn failed(report: &Report) -> Vec<(String, String, String)> {
    report
        .failures()
        .map(|c| (c.check.clone(), c.target.clone(), c.detail.clone()))
        .collect()
}

fn assert_failed(report: &Report, check: &str, target: &str, detail: &str) {
    assert!(
        report
            .failures()
            .any(|c| c.check == check && c.target.starts_with(target) && c.detail.contains(detail)),
        "no failed {check} on {target} with {detail:?} in {:#?}",
        failed(report)
    );
}

#[tokio::test]
async fn a_fresh_sandbox_passes() {
    let dirs = tempfile::tempdir().unwrap();
    let config = support::config_in(dirs.path());
    let sandbox = Sandbox::start(&config).await.unwrap();
    let report = doctor::examine(&sandbox.manifest, &doctor::Options::default()).await;
    assert!(report.passed, "{}", report.table());
    // Four checks on each of seven endpoints, the root, keys, database and config.
    assert_eq!(report.checks.len(), 4 * 7 + 4, "{}", report.table());
    let detail = |check: &str, target: &str| {
        report
            .checks
            .iter()
            .find(|c| c.check == check && c.target.starts_with(target))
            .map(|c| c.detail.clone())
            .unwrap()
    };
    assert_eq!(detail("tls versions", "ACS ("), "accepts TLS 1.2, TLS 1.3");
    assert_eq!(detail("client certificate", "DS alpha"), "required");
    assert_eq!(
        detail("client certificate", "merchant"),
        "not required (cardholder-facing)"
    );
    assert!(detail("keys", "software keys").contains("challenge answer MAC"));
    let database = if support::on_postgres() {
        "postgres://"
    } else {
        "/"
    };
    assert!(detail("database", database).contains("no card number in clear"));
    assert!(report.checks.iter().all(|c| c.outcome == Outcome::Ok));
    // The doctor's use of the keys is in the key audit log, under its name.
    let sandbox::KeysInfo::Software {
        audit_log: Some(audit_log),
        ..
    } = &sandbox.manifest.keys
    else {
        panic!("{:?}", sandbox.manifest.keys)
    };
    let audit = std::fs::read_to_string(audit_log).unwrap();
    for operation in ["GenerateDataKey", "Decrypt", "GenerateMac"] {
        assert!(
            audit.lines().any(|l| {
                let l: serde_json::Value = serde_json::from_str(l).unwrap();
                l["who"] == "threeds doctor" && l["operation"] == operation && l["result"] == "ok"
            }),
            "{operation} by the doctor in {audit}"
        );
    }
}

#[tokio::test]
async fn no_client_certificate_and_an_expiring_certificate_fail() {
    let dirs = tempfile::tempdir().unwrap();
    let config = support::config_in(dirs.path());
    let sandbox = Sandbox::start(&config).await.unwrap();
    // The ACS's AReq endpoint replaced by one that wants no client certificate.
    let mut manifest = sandbox.manifest.clone();
    manifest.endpoints.acs = manifest.endpoints.merchant.clone();
    // Leaf certificates last 397 days: a 400-day window catches them.
    let options = doctor::Options {
        warn_days: 400,
        ..doctor::Options::default()
    };
    let report = doctor::examine(&manifest, &options).await;
    assert!(!report.passed);
    assert_failed(
        &report,
        "client certificate",
        "ACS (",
        "answers without a client certificate",
    );
    assert_failed(
        &report,
        "certificates",
        "DS beta",
        // 396 or 397, by the time of day.
        "days (warning window: 400 days)",
    );
}

/// `openssl s_server` speaking TLS 1.1 only, with the sandbox's merchant certificate.
struct LegacyServer(Child);

impl Drop for LegacyServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn an_endpoint_accepting_tls_1_1_fails() {
    let dirs = tempfile::tempdir().unwrap();
    let config = support::config_in(dirs.path());
    let sandbox = Sandbox::start(&config).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let identity = pki::Layout::new(&config.certs).tls_identity("merchant");
    let _server = LegacyServer(
        Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
            .arg("-cert")
            .arg(&identity.cert)
            .arg("-key")
            .arg(&identity.key)
            .args(["-tls1_1", "-cipher", "ALL:@SECLEVEL=0", "-www", "-quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl (cargo xtask test installs it)"),
    );
    // Ready when it accepts connections.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut manifest = sandbox.manifest.clone();
    manifest.endpoints.merchant = format!("https://localhost:{port}");
    let report = doctor::examine(&manifest, &doctor::Options::default()).await;
    assert_failed(
        &report,
        "tls versions",
        "merchant",
        "accepts TLS 1.1: TLS 1.1 must be refused",
    );
    // The sandbox's own endpoints still pass.
    assert!(
        report.failures().all(|c| c.target.starts_with("merchant")),
        "{}",
        report.table()
    );
}

#[tokio::test]
async fn a_config_changed_after_start_fails() {
    let dirs = tempfile::tempdir().unwrap();
    let mut config = support::config_in(dirs.path());
    let file = dirs.path().join("my.toml");
    std::fs::write(&file, sandbox::config::SHIPPED).unwrap();
    config.ecosystem = sandbox::Ecosystem::load(&file).unwrap();
    let sandbox = Sandbox::start(&config).await.unwrap();
    let before = doctor::examine(&sandbox.manifest, &doctor::Options::default()).await;
    assert!(before.passed, "{}", before.table());

    let mut text = std::fs::read_to_string(&file).unwrap();
    text = text.replacen("frictionless-Y", "frictionless-N", 1);
    std::fs::write(&file, text).unwrap();
    let after = doctor::examine(&sandbox.manifest, &doctor::Options::default()).await;
    assert_failed(
        &after,
        "config",
        &file.display().to_string(),
        "changed since the sandbox started",
    );
}
