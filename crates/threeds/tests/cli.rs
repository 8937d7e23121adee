//! The `threeds` binary as a user runs it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../emv3ds/tests/data")
}

fn threeds(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_threeds"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn threeds");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(bytes) = stdin {
            input.write_all(bytes).expect("write stdin");
        }
    }
    child.wait_with_output().expect("threeds output")
}

fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(out)))
}

/// `threeds up` in `dir` (certificates, data and manifest there; ports from the OS) with
/// `extra` flags, once its manifest is written: the process and the manifest's path.
#[allow(
    clippy::unwrap_used,
    reason = "test helper: a failed unwrap is a failed test"
)]
/// What a child wrote on standard error so far, read on a thread of its own so that a
/// verbose log never fills the pipe and blocks the child.
#[derive(Debug, Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<String>>);

impl Logs {
    fn drain(child: &mut std::process::Child) -> Logs {
        let logs = Logs::default();
        let (mut stderr, into) = (child.stderr.take().expect("stderr is piped"), logs.clone());
        std::thread::spawn(move || {
            let mut chunk = [0_u8; 8192];
            while let Ok(n @ 1..) = std::io::Read::read(&mut stderr, &mut chunk) {
                into.0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        logs
    }

    fn text(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

fn start_up(dir: &Path, extra: &[&str]) -> (std::process::Child, PathBuf) {
    let (child, manifest, _) = start_up_with(dir, extra, &[]);
    (child, manifest)
}

/// `threeds up` in `dir` with `extra` flags and `env`, once its manifest is written.
fn start_up_with(
    dir: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Child, PathBuf, Logs) {
    let manifest = dir.join("manifest.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_threeds"))
        .args(["up", "--port-base", "0", "--manifest"])
        .arg(&manifest)
        .arg("--certs")
        .arg(dir.join("certs"))
        .arg("--data")
        .arg(dir.join("data"))
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn threeds up");
    let logs = Logs::drain(&mut child);
    // Wait for the manifest, with a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !manifest.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no manifest within 60 s"
        );
        if let Some(status) = child.try_wait().expect("threeds up's status") {
            std::thread::sleep(std::time::Duration::from_millis(100));
            panic!("threeds up exited early ({status}): {}", logs.text());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (child, manifest, logs)
}

/// Every test card number of the shipped ecosystem (`threeds cards --json`).
fn test_pans() -> Vec<String> {
    let cards = json(&threeds(&["cards", "--json"], None).stdout);
    cards
        .as_array()
        .expect("threeds cards --json prints an array")
        .iter()
        .map(|c| c["pan"].as_str().expect("every card has a pan").to_owned())
        .collect()
}

fn path(rel: &str) -> String {
    examples().join(rel).display().to_string()
}

#[test]
fn valid_message_prints_a_verdict_and_exits_0() {
    let out = threeds(&["validate", &path("valid/2.2.0/AReq-browser.json")], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"valid\":true,\"messageType\":\"AReq\",\"messageVersion\":\"2.2.0\"}\n"
    );
}

#[test]
fn invalid_message_prints_the_erro_and_exits_1() {
    let out = threeds(
        &["validate", &path("invalid/201-purchase-for-payment.json")],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let erro = json(&out.stdout);
    assert_eq!(erro["messageType"], "Erro");
    assert_eq!(erro["errorCode"], "201");
    assert_eq!(erro["errorComponent"], "D", "default role is the DS");
    assert_eq!(erro["errorDetail"], "purchaseAmount,purchaseCurrency");
    assert_eq!(erro["errorMessageType"], "AReq");
    assert_eq!(
        erro["threeDSServerTransID"],
        "8a880dc0-d2d2-4067-bcb1-b08d1690b26e"
    );
}

#[test]
fn role_sets_the_error_component_and_what_is_accepted() {
    let out = threeds(
        &["validate", "--as", "acs", &path("valid/2.2.0/PReq.json")],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let erro = json(&out.stdout);
    assert_eq!(
        (erro["errorCode"].as_str(), erro["errorComponent"].as_str()),
        (Some("101"), Some("A"))
    );
}

#[test]
fn reads_standard_input() {
    let bytes = std::fs::read(examples().join("valid/2.3.1/CReq-app.json")).unwrap();
    for args in [
        &["validate", "--as", "acs"][..],
        &["validate", "--as", "acs", "-"][..],
    ] {
        let out = threeds(args, Some(&bytes));
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(json(&out.stdout)["messageVersion"], "2.3.1");
    }
}

#[test]
fn without_request_the_output_lists_skipped_rules() {
    let out = threeds(
        &[
            "validate",
            "--as",
            "3dss",
            &path("valid/2.2.0/ARes-frictionless.json"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let verdict = json(&out.stdout);
    let skipped = verdict["skipped"].as_array().expect("skipped list");
    assert!(
        skipped
            .iter()
            .any(|s| s["element"] == "same-transaction-as-request"),
        "{verdict}"
    );
    assert!(
        skipped.iter().any(|s| s["element"] == "sdkTransID"),
        "{verdict}"
    );
    assert!(
        !skipped.iter().any(|s| s["element"] == "acsURL"),
        "not a challenge: {verdict}"
    );
    assert!(
        skipped
            .iter()
            .all(|s| s["needs"].is_string() && s["rule"].is_string())
    );
}

#[test]
fn with_request_the_dependent_rules_apply() {
    let out = threeds(
        &[
            "validate",
            "--as",
            "3dss",
            "--request",
            &path("valid/2.2.0/AReq-browser.json"),
            &path("invalid/201-ares-authenticationValue-for-pa-y.json"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out.stdout)["errorDetail"], "authenticationValue");

    let ok = threeds(
        &[
            "validate",
            "--as",
            "3dss",
            "--request",
            &path("valid/2.2.0/AReq-browser.json"),
            &path("valid/2.2.0/ARes-frictionless.json"),
        ],
        None,
    );
    assert_eq!(ok.status.code(), Some(0));
    assert!(json(&ok.stdout).get("skipped").is_none());
}

#[test]
fn bad_usage_is_one_line_on_stderr_and_exit_2() {
    let cases: &[&[&str]] = &[
        &["validate", "/no/such/file.json"],
        &["validate", "--as", "merchant", "x.json"],
        &["validate", "--request", "/no/such/areq.json", "x.json"],
    ];
    for args in cases {
        let out = threeds(args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.trim().is_empty(), "{args:?}");
    }
    for (args, mentions) in [
        (
            &["validate", "/no/such/file.json"][..],
            "/no/such/file.json",
        ),
        (&["validate", "--as", "merchant", "x.json"][..], "merchant"),
        (&["validate", "--bogus"][..], "--bogus"),
        (&["nosuchcommand"][..], "nosuchcommand"),
    ] {
        let out = threeds(args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("threeds: ") && err.contains(mentions),
            "{args:?}: {err}"
        );
    }
    let help = threeds(&["--help"], None);
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout);
    for command in ["up", "cards", "validate", "dictionary", "pki"] {
        assert!(
            help.contains(&format!("  {command}")),
            "--help lists {command}: {help}"
        );
    }
}

#[test]
fn request_of_the_wrong_kind_is_a_usage_error() {
    let out = threeds(
        &[
            "validate",
            "--as",
            "3dss",
            "--request",
            &path("valid/2.2.0/CReq-browser.json"),
            &path("valid/2.2.0/ARes-frictionless.json"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("validated against a AReq"), "{err}");
}

#[test]
fn dictionary_prints_the_reference() {
    let out = threeds(&["dictionary"], None);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("# EMV 3DS data dictionary"));
    assert!(text.contains("| `purchaseAmount` |"));
}

#[test]
fn pki_init_then_show_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let certs = certs.to_str().unwrap();
    let out = threeds(&["pki", "init", "--dir", certs], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("generated 13 certificates"));

    let again = threeds(&["pki", "init", "--dir", certs], None);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));

    let show = threeds(&["pki", "show", "--dir", certs, "--json"], None);
    assert_eq!(show.status.code(), Some(0));
    let inventory = json(&show.stdout);
    let certificates = inventory["certificates"].as_array().unwrap();
    assert_eq!(certificates.len(), 13);
    for c in certificates {
        for field in [
            "file",
            "subject",
            "issuer",
            "key_type",
            "not_after",
            "sha256",
        ] {
            assert!(c[field].is_string(), "{field} in {c}");
        }
        assert_eq!(c["issuer_verified"], true, "{c}");
    }
}

#[test]
fn pki_show_without_a_pki_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = threeds(
        &["pki", "show", "--dir", dir.path().to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("threeds pki init"));
}

/// A `threeds up` in a process of its own, as a user runs it, on a temporary
/// directory; stopped (SIGINT) when dropped, if the test did not stop it.
struct Up {
    _dir: tempfile::TempDir,
    child: std::process::Child,
    manifest: PathBuf,
    /// Its standard error: the servers' log.
    logs: Logs,
    /// The manifest it wrote.
    m: serde_json::Value,
}

#[allow(
    clippy::unwrap_used,
    reason = "test helper: a failed unwrap is a failed test"
)]
impl Up {
    fn start() -> Up {
        Up::start_with(&[], &[])
    }

    fn start_with(extra: &[&str], env: &[(&str, &str)]) -> Up {
        let dir = tempfile::tempdir().unwrap();
        let (child, manifest, logs) = start_up_with(dir.path(), extra, env);
        let m = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
        Up {
            _dir: dir,
            child,
            manifest,
            logs,
            m,
        }
    }

    /// `threeds <command> <args> --manifest <its manifest>`.
    fn threeds(&self, command: &str, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_threeds"))
            .arg(command)
            .args(args)
            .arg("--manifest")
            .arg(&self.manifest)
            .output()
            .unwrap_or_else(|e| panic!("run threeds {command}: {e}"))
    }

    /// Ctrl-C (SIGINT), then its exit status and what it printed.
    fn interrupt(&mut self) -> (std::process::ExitStatus, String) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let exit = loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                break exit;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "threeds up did not stop on SIGINT"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let mut out = String::new();
        std::io::Read::read_to_string(self.child.stdout.as_mut().unwrap(), &mut out).unwrap();
        (exit, out)
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
            let _ = self.child.wait();
        }
    }
}

/// `threeds up` as a user runs it: it comes up, writes a manifest only its owner can
/// read, answers the requestor API over mutual TLS, stops cleanly on Ctrl-C (SIGINT),
/// and leaves its trace readable without it.
#[test]
fn up_serves_until_interrupted_and_leaves_its_trace() {
    let mut up = Up::start();
    let manifest = up.manifest.clone();
    let m = up.m.clone();
    assert_eq!(m["version"], 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&manifest).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the manifest names the admin key: owner only"
        );
    }
    assert!(
        m["endpoints"]["requestorApi"]
            .as_str()
            .unwrap()
            .starts_with("https://localhost:")
    );
    assert_eq!(m["schemes"].as_array().unwrap().len(), 2);
    let admin_key = m["admin"]["clientKey"].as_str().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(admin_key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the admin key: owner only");
    }
    for file in ["rootCa", "requestorClientCert", "requestorClientKey"] {
        let path = m["tls"][file].as_str().unwrap();
        assert!(
            std::path::Path::new(path).is_absolute() && std::path::Path::new(path).exists(),
            "{path}"
        );
    }

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answer = runtime.block_on(async {
        let tls = pki::tls::client_config(
            std::path::Path::new(m["tls"]["rootCa"].as_str().unwrap()),
            Some(&pki::tls::Identity {
                cert: m["tls"]["requestorClientCert"].as_str().unwrap().into(),
                key: m["tls"]["requestorClientKey"].as_str().unwrap().into(),
            }),
        )
        .unwrap();
        let client = transport::Client::new(&tls, transport::Timeouts::default()).unwrap();
        let url = format!(
            "{}/v1/preauth",
            m["endpoints"]["requestorApi"].as_str().unwrap()
        );
        client
            .post_json(&url, br#"{"acctNumber":"4000000000001000"}"#.to_vec())
            .await
            .unwrap()
    });
    assert_eq!(answer.status, 200);
    let pre = json(&answer.body);
    assert_eq!(
        (pre["enrolled"].as_bool(), pre["messageVersion"].as_str()),
        (Some(true), Some("2.3.1"))
    );

    let (exit, out) = up.interrupt();
    assert!(exit.success(), "{exit:?}");
    assert!(
        out.contains("threeds sandbox is up") && out.contains("stopping"),
        "{out}"
    );
    // The trace stayed in the database, readable without the sandbox.
    let trace = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_threeds"))
            .arg("trace")
            .args(args)
            .output()
            .expect("run threeds trace")
    };
    let stored = trace(&[
        "--database",
        m["traceDatabase"].as_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(stored.status.code(), Some(0), "{stored:?}");
    let stored = String::from_utf8(stored.stdout).unwrap();
    assert!(stored.contains("/v1/preauth"), "{stored}");
    let missing = trace(&["--manifest", "/nonexistent/manifest.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/manifest.json"));
}

/// The mock SDK pays in an app against a running sandbox (`threeds sdk`), every step
/// printed; `threeds trace` then shows every hop of the app challenge in order, the
/// ACS's decrypted CReq/CRes and the DS's decrypted device data, and no card number in
/// clear.
#[test]
fn the_sdk_pays_against_a_running_sandbox_and_the_trace_shows_every_hop() {
    let up = Up::start();
    let manifest = up.manifest.clone();
    let sdk = |args: &[&str]| up.threeds("sdk", args);
    let html = sdk(&[
        "--card",
        "5200000000012002",
        "--message-version",
        "2.3.1",
        "--enc",
        "A128GCM",
        "--answer",
        "html:otp=123456&action=submit",
    ]);
    let printed = String::from_utf8_lossy(&html.stdout);
    assert_eq!(html.status.code(), Some(0), "{printed}");
    for step in [
        "acsSignedContent verified (PS256)",
        "\"acsUiType\": \"05\"",
        "challenge: Completed { trans_status: \"Y\" }",
        "\"source\": \"RReq\"",
    ] {
        assert!(printed.contains(step), "no {step:?} in:\n{printed}");
    }
    let failed = sdk(&[
        "--card",
        "4000000000006009",
        "--answer",
        "otp:1",
        "--answer",
        "otp:2",
        "--answer",
        "otp:3",
    ]);
    let printed = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(0), "{printed}");
    assert!(
        printed.contains("acsSignedContent verified (ES256)"),
        "{printed}"
    );
    assert!(
        printed.contains("\"transStatusReason\": \"19\""),
        "{printed}"
    );
    let stranger = sdk(&["--card", "4242424242424242"]);
    assert_eq!(stranger.status.code(), Some(2));
    let err = String::from_utf8_lossy(&stranger.stderr);
    assert!(err.contains("not enrolled"), "{err}");
    let bad = sdk(&["--card", "4000000000006009", "--enc", "A256GCM"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--enc A256GCM"), "{err}");

    // The trace of all that, as JSON Lines: every hop of the app challenge in order,
    // the ACS's decrypted CReq/CRes, and no card number in clear.
    let trace = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_threeds"))
            .arg("trace")
            .args(args)
            .output()
            .expect("run threeds trace")
    };
    let listed = trace(&["--manifest", manifest.to_str().unwrap(), "--format", "json"]);
    assert_eq!(listed.status.code(), Some(0), "{listed:?}");
    let text = String::from_utf8(listed.stdout).unwrap();
    for pan in ["5200000000012002", "4000000000006009"] {
        assert!(!text.contains(pan), "{pan} in clear in the trace");
    }
    let events: Vec<serde_json::Value> = text.lines().map(|l| json(l.as_bytes())).collect();
    assert!(
        events
            .windows(2)
            .all(|w| w[0]["seq"].as_u64() < w[1]["seq"].as_u64())
    );
    let html_tx = events
        .iter()
        .find(|e| {
            e["observer"] == "acs"
                && e["label"] == "AReq"
                && e["body"]["acctNumber"] == "520000******2002"
        })
        .and_then(|e| e["transaction"].as_str())
        .expect("the HTML challenge's AReq, its card masked")
        .to_owned();
    let selected = trace(&[
        "--manifest",
        manifest.to_str().unwrap(),
        "--format",
        "json",
        "--transaction",
        &html_tx,
    ]);
    let selected: Vec<serde_json::Value> = String::from_utf8(selected.stdout)
        .unwrap()
        .lines()
        .map(|l| json(l.as_bytes()))
        .collect();
    assert!(
        selected
            .iter()
            .all(|e| e["transaction"] == html_tx.as_str())
    );
    let expected = [
        "3ds-server received POST /v1/auth",
        "3ds-server sent AReq",
        "ds received AReq",
        "ds sent AReq",
        "acs received AReq",
        "acs sent ARes",
        "ds received ARes",
        "ds sent ARes",
        "3ds-server received ARes",
        "3ds-server sent answer to /v1/auth",
        "acs received CReq",
        "acs sent CRes",
        "acs received CReq",
        "acs note challenge decided: transStatus Y",
        "acs sent RReq",
        "ds received RReq",
        "ds sent RReq",
        "3ds-server received RReq",
        "3ds-server sent RRes",
        "acs received RRes",
        "acs sent CRes",
    ];
    let events: Vec<trace::Event> = selected
        .iter()
        .map(|e| serde_json::from_value(e.clone()).unwrap())
        .collect();
    if let Some(missing) = trace::first_missing_in_order(&events, &expected) {
        let hops: Vec<String> = events.iter().map(trace::Event::hop).collect();
        panic!("missing {missing:?} in order in {hops:#?}");
    }
    let final_cres = selected
        .iter()
        .rev()
        .find(|e| e["label"] == "CRes")
        .unwrap();
    assert_eq!(final_cres["decoded"]["how"], "decrypted");
    assert_eq!(final_cres["decoded"]["value"]["transStatus"], "Y");
    let creq = selected.iter().find(|e| e["label"] == "CReq").unwrap();
    assert_eq!(creq["from"], "sdk");
    assert!(creq["decoded"]["value"]["jwe"]["protectedHeader"]["kid"].is_string());
    let ds_areq = selected
        .iter()
        .find(|e| e["observer"] == "ds" && e["direction"] == "received" && e["label"] == "AReq")
        .unwrap();
    assert_eq!(ds_areq["scheme"], "beta");
    // The device data the DS decrypted, marked as decrypted and tied to that AReq.
    let device = selected
        .iter()
        .find(|e| e["kind"] == "decoded" && e["observer"] == "ds")
        .expect("the DS's decrypted device data");
    assert_eq!(device["of"], ds_areq["seq"]);
    assert_eq!(device["decoded"]["how"], "decrypted");
    assert!(device["decoded"]["value"].is_object(), "{device}");
    assert!(
        ds_areq["tlsPeer"]
            .as_str()
            .unwrap()
            .starts_with("threeds 3DS Server"),
        "{ds_areq}"
    );
    let readable = trace(&[
        "--manifest",
        manifest.to_str().unwrap(),
        "--transaction",
        &html_tx,
    ]);
    let readable = String::from_utf8(readable.stdout).unwrap();
    assert!(
        readable.contains("3ds-server ▶ ds") && readable.contains("transStatus=Y"),
        "{readable}"
    );
}

/// The scenario pack against a sandbox started in another process (`run --against`):
/// it passes, the scenarios that need the runner's short timers are skipped, and the
/// database holds no card number in clear and none of the data the store refuses.
#[test]
fn the_pack_passes_against_a_running_sandbox_and_leaves_no_card_data() {
    // Debug logs as JSON Lines: the most a server ever writes about what it handles;
    // card ranges refreshed every second, so background jobs log too.
    let shipped = String::from_utf8(threeds(&["config"], None).stdout).expect("UTF-8");
    assert!(shipped.contains("range_refresh_secs = 3600"), "{shipped}");
    let config_dir = tempfile::tempdir().expect("a temporary directory");
    let config = config_dir.path().join("sandbox.toml");
    std::fs::write(
        &config,
        shipped.replace("range_refresh_secs = 3600", "range_refresh_secs = 1"),
    )
    .expect("write the ecosystem file");
    let config = config.to_string_lossy();
    let up = Up::start_with(
        &["--log-format", "json", "--config", &config],
        &[("THREEDS_LOG", "debug")],
    );
    let manifest = up.manifest.clone();
    let pack = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let against = Command::new(env!("CARGO_BIN_EXE_threeds"))
        .arg("run")
        .arg(&pack)
        .arg("--against")
        .arg(&manifest)
        .output()
        .expect("run threeds run --against");
    let out = String::from_utf8_lossy(&against.stdout);
    assert_eq!(against.status.code(), Some(0), "{out}");
    // The scenarios that wait for a challenge timer need the runner's own sandbox
    // (short timers): against another, they are skipped, and the run still passes.
    let last = out.lines().last().unwrap();
    assert!(
        last.contains(" passed, 0 failed, ") && last.ends_with(" skipped"),
        "{out}"
    );
    assert!(out.contains("SKIP timeouts:"), "{out}");
    // After the pack, the database holds no card number in clear and none of the data
    // the store refuses (challenge codes and answers, full device data), in the file
    // or its WAL.
    let described: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let database = PathBuf::from(described["database"].as_str().unwrap());
    let pans = test_pans();
    assert!(pans.len() > 10);
    for file in ["", "-wal"] {
        let path = PathBuf::from(format!("{}{file}", database.display()));
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            // The WAL may have been checkpointed away; the database may not.
            Err(_) if !file.is_empty() => continue,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        let text = String::from_utf8_lossy(&bytes);
        for pan in &pans {
            assert!(!text.contains(pan.as_str()), "{pan} in {}", path.display());
        }
        for (member, _) in store::FORBIDDEN {
            let key = format!("\"{member}\":");
            assert!(!text.contains(&key), "{key} in {}", path.display());
        }
    }
    no_card_data_in_the_log(&up.logs.text(), &pans);
    let missing = Command::new(env!("CARGO_BIN_EXE_threeds"))
        .args(["run", "--against", "/nonexistent/manifest.json"])
        .arg(&pack)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/manifest.json"));
}

/// The servers' log after the whole pack: a JSON line per request of every component,
/// and no card number or challenge code anywhere in it.
fn no_card_data_in_the_log(log: &str, pans: &[String]) {
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let requests: Vec<_> = lines
        .iter()
        .filter(|l| l["target"] == "threeds::request")
        .collect();
    for component in ["3ds-server", "ds-alpha", "ds-beta", "acs", "acs-site"] {
        assert!(
            requests.iter().any(|r| r["component"] == component
                && r["status"].is_u64()
                && r["method"].is_string()
                && r["ms"].is_string()),
            "no request line of {component}"
        );
    }
    assert!(
        requests
            .iter()
            .any(|r| r["component"] == "ds-alpha" && r["dsTransID"].is_string()),
        "the DS's lines name the transaction"
    );
    assert!(
        lines.iter().any(|l| l["target"] == "threeds::job"
            && l["job"] == "card-range refresh"
            && l["ranges"].is_u64()
            && l["directory_server"].is_string()),
        "no line of the card-range refresh job"
    );
    for pan in pans {
        assert!(!log.contains(pan.as_str()), "card {pan} in the log");
    }
    let cards = json(&threeds(&["cards", "--json"], None).stdout);
    let codes: std::collections::BTreeSet<&str> = cards
        .as_array()
        .expect("threeds cards --json prints an array")
        .iter()
        .filter_map(|c| c["otp"].as_str())
        .collect();
    assert!(!codes.is_empty());
    // A code as a token of its own (not inside an id or a timestamp).
    let is_token = |at: usize, code: &str| {
        let before = log[..at].chars().next_back();
        let after = log[at + code.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    };
    for code in codes {
        let leaked = log.match_indices(code).any(|(at, _)| is_token(at, code));
        assert!(!leaked, "challenge code {code} in the log");
    }
}

/// `threeds health` (the image's HEALTHCHECK) on a running sandbox's health port: ready
/// and alive exit 0; a port nobody listens on exits 1 and says why.
#[test]
fn threeds_health_probes_the_health_port() {
    let up = Up::start();
    let health = up.m["health"]
        .as_str()
        .expect("the manifest names the health port");
    for extra in [&[][..], &["--live"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_threeds"))
            .args(["health", "--url", health])
            .args(extra)
            .output()
            .expect("run threeds health");
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {said}");
        assert!(said.starts_with("200 {\"status\":"), "{said}");
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}", closed.local_addr().expect("its address"));
    drop(closed);
    let out = Command::new(env!("CARGO_BIN_EXE_threeds"))
        .args(["health", "--url", &url])
        .output()
        .expect("run threeds health");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&url), "{err}");
}

/// `threeds doctor` on a running sandbox: everything passes; a warning window longer
/// than the certificates live fails, with exit status 1.
#[test]
fn doctor_passes_on_a_running_sandbox_and_fails_a_warning_window_longer_than_the_certificates() {
    let up = Up::start();
    let doctor = |extra: &[&str]| up.threeds("doctor", extra);
    let healthy = doctor(&["--json"]);
    let report = json(&healthy.stdout);
    assert_eq!(healthy.status.code(), Some(0), "{report:#}");
    assert_eq!(report["passed"], true);
    assert!(report["checks"].as_array().unwrap().len() >= 30);
    let expiring = doctor(&["--warn-days", "5000"]);
    let table = String::from_utf8_lossy(&expiring.stdout);
    assert_eq!(expiring.status.code(), Some(1), "{table}");
    assert!(
        table.contains("FAIL") && table.contains("(warning window: 5000 days)"),
        "{table}"
    );
}

/// The issuer's side of SPC (`threeds spc`): the pre-registered test credential listed,
/// deleted, and the errors for what is not there.
#[test]
fn the_issuers_spc_commands_list_and_delete_credentials() {
    let up = Up::start();
    let manifest = up.manifest.clone();
    // The issuer's side of SPC: the pre-registered test credential, deleted.
    let spc = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_threeds"))
            .arg("spc")
            .args(args)
            .arg("--manifest")
            .arg(&manifest)
            .output()
            .expect("run threeds spc")
    };
    let card = "4000000000014003";
    let id = spc::software::SoftwareAuthenticator::test_key("acs.localhost", card).credential_id();
    let listed = spc(&["list", "--card", card]);
    let printed = String::from_utf8_lossy(&listed.stdout);
    assert_eq!(listed.status.code(), Some(0), "{printed}");
    assert!(
        printed.contains(&id) && printed.contains("ES256"),
        "{printed}"
    );
    let deleted = spc(&["delete", "--credential", &id]);
    assert_eq!(deleted.status.code(), Some(0));
    let listed = spc(&["list", "--card", card]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("no SPC credential registered"),
        "{listed:?}"
    );
    let again = spc(&["delete", "--credential", &id]);
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no credential with this id"), "{err}");
    let unknown = spc(&[
        "check",
        "--acs-trans-id",
        "00000000-0000-4000-8000-000000000000",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no transaction"));
}

#[test]
fn cards_lists_every_outcome_as_json() {
    let out = threeds(&["cards", "--json"], None);
    assert_eq!(out.status.code(), Some(0));
    let cards = json(&out.stdout);
    let outcomes: Vec<&str> = cards
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["outcome"].as_str().unwrap())
        .collect();
    for outcome in [
        "frictionless-Y",
        "frictionless-A",
        "frictionless-N",
        "frictionless-R",
        "frictionless-U",
        "not-enrolled",
    ] {
        for scheme in ["alpha", "beta"] {
            assert!(
                cards
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["outcome"] == outcome && c["scheme"] == scheme),
                "no {outcome} card for {scheme}: {outcomes:?}"
            );
        }
    }
}

#[test]
fn config_prints_an_editable_file_that_cards_reads_back() {
    let out = threeds(&["config"], None);
    assert_eq!(out.status.code(), Some(0));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("my.toml");
    // A user adds a card to the first scheme.
    let mut text = String::from_utf8(out.stdout).expect("utf-8");
    text.push_str(
        "\n[[schemes.cards]]\npan = \"5200000000020005\"\noutcome = \"frictionless-N\"\ndescription = \"mine\"\n",
    );
    std::fs::write(&file, &text).expect("write");
    let out = threeds(
        &["cards", "--json", "--config", &file.display().to_string()],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cards = json(&out.stdout);
    assert!(
        cards
            .as_array()
            .expect("array")
            .iter()
            .any(|c| c["pan"] == "5200000000020005" && c["scheme"] == "beta"),
        "the card lands in the last scheme declared: {cards}"
    );
    // A mistake is one line naming the file and the place; exit 2.
    std::fs::write(&file, text.replace("5200000000020005", "5200000000020006")).expect("write");
    let out = threeds(&["cards", "--config", &file.display().to_string()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("my.toml: schemes[1].cards[15].pan: not a card number"),
        "{err}"
    );
}

#[test]
fn serve_refuses_what_it_cannot_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data").display().to_string();
    let certs = dir.path().join("certs").display().to_string();
    for (args, expected) in [
        (
            vec!["serve", "ds", "--scheme", "gamma"],
            "no scheme named gamma",
        ),
        (
            vec!["serve", "acs", "--scheme", "alpha"],
            "--scheme is for `threeds serve ds` only",
        ),
        (vec!["serve", "mpi"], "invalid value 'mpi'"),
    ] {
        let mut args = args.clone();
        args.extend(["--data", &data, "--certs", &certs, "--port-base", "0"]);
        let out = threeds(&args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

#[test]
fn run_passes_the_pack_and_reports_failures_with_their_trace() {
    let pack = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let run = |args: &[&std::ffi::OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_threeds"))
            .arg("run")
            .args(args)
            .output()
            .expect("run threeds run")
    };
    // The shipped pack passes.
    let passed = run(&[pack.as_os_str(), "--junit".as_ref(), junit.as_os_str()]);
    let out = String::from_utf8_lossy(&passed.stdout);
    assert_eq!(passed.status.code(), Some(0), "{out}");
    let last = out.lines().last().unwrap();
    let (count, rest) = last.split_once(" passed, ").unwrap();
    assert_eq!(rest, "0 failed", "{out}");
    assert!(count.parse::<usize>().unwrap() >= 30, "{last}");
    let report = std::fs::read_to_string(&junit).unwrap();
    assert!(
        report.contains(&format!("tests=\"{count}\" failures=\"0\"")),
        "{report}"
    );

    // A scenario that cannot pass, and a file that cannot be read.
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(
        mine.join("wrong.toml"),
        "version = 1\nname = \"expects the wrong status\"\n\n[[step]]\ncard = \"4000000000001000\"\n\n\
         [step.expect]\ntrans_status = \"N\"\n\n[[step.expect.trace]]\nmessage = \"CReq\"\ncount = 1\n",
    )
    .unwrap();
    std::fs::write(
        mine.join("broken.toml"),
        "version = 1\nname = \"x\"\n[[step]]\ncard = 4\n",
    )
    .unwrap();
    let failed = run(&[mine.as_os_str(), "--junit".as_ref(), junit.as_os_str()]);
    let out = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{out}");
    assert_eq!(out.lines().last(), Some("0 passed, 2 failed"), "{out}");
    assert!(out.contains("broken.toml:4:8:"), "{out}");
    assert!(out.contains("expected transStatus N, got Y"), "{out}");
    assert!(out.contains("expected 1 CReq, the trace has 0"), "{out}");
    let report = std::fs::read_to_string(&junit).unwrap();
    assert!(
        report.contains("<failure message=\"step 1: expected transStatus N, got Y\">"),
        "{report}"
    );
    // The failed scenario's trace is attached, card numbers masked.
    assert!(
        report.contains("3ds-server ▶ ds") && report.contains("AReq"),
        "{report}"
    );
    assert!(!report.contains("4000000000001000"), "{report}");

    // Nothing to run is an error, not a pass.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let none = run(&[empty.as_os_str()]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no scenario files"));
    let unmatched = run(&[
        pack.as_os_str(),
        "--filter".as_ref(),
        "no such scenario".as_ref(),
    ]);
    assert_eq!(unmatched.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unmatched.stderr).contains("no scenario matches"));

    // JSON lines, and a filter.
    let json = run(&[
        pack.as_os_str(),
        "--filter".as_ref(),
        "decoupled".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let out = String::from_utf8_lossy(&json.stdout);
    assert_eq!(json.status.code(), Some(0), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.last(), Some(&"3 passed, 0 failed"), "{out}");
    for line in &lines[..lines.len() - 1] {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["passed"], true, "{line}");
    }
}

/// The whole scenario pack with the runner's sandbox on PostgreSQL (`--database`), then
/// a scan of every table of that database: no test card number and none of the data
/// the store refuses. Needs `THREEDS_TEST_POSTGRES` (a server URL without a database
/// name; `cargo xtask test` starts a throw-away server and sets it).
#[test]
fn the_pack_passes_on_postgresql_and_leaves_no_card_data_there() {
    let Some(server) = test_services::postgres() else {
        return;
    };
    let url = format!(
        "{}/pack_{}",
        server.trim_end_matches('/'),
        std::process::id()
    );
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let run = Command::new(env!("CARGO_BIN_EXE_threeds"))
        .arg("run")
        .arg(&pack)
        .args(["--database", &url])
        .output()
        .expect("run threeds run --database");
    let out = String::from_utf8_lossy(&run.stdout);
    let last = out.lines().last().unwrap_or_default();
    assert!(
        run.status.success() && last.contains(" passed, 0 failed"),
        "{out}{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let pans = test_pans();
    let keys = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (exposed, transactions) = runtime.block_on(async {
        let keys = kms::SoftwareKeys::open_or_create(&keys.path().join("master.key")).unwrap();
        let database = store::Database::parse(&url);
        let store = store::Store::connect(&database, std::sync::Arc::new(keys))
            .await
            .unwrap();
        let scan = store.scan(&pans).await.unwrap();
        // The pack really ran on this database.
        let transactions = scan.rows("server_transactions");
        (scan.exposures, transactions)
    });
    assert!(transactions > 50, "{transactions} transactions");
    assert_eq!(exposed, vec![]);
}

#[test]
fn admin_enrol_prints_an_otpauth_uri_once_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let first = threeds(&["admin", "enrol", "--data", &data], None);
    let uri = String::from_utf8_lossy(&first.stdout);
    assert_eq!(first.status.code(), Some(0), "{uri}");
    assert!(
        uri.starts_with("otpauth://totp/threeds%20sandbox:admin?secret="),
        "{uri}"
    );
    let again = threeds(&["admin", "enrol", "--data", &data], None);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("enrolled already"));
    let forced = threeds(&["admin", "enrol", "--data", &data, "--force"], None);
    assert_eq!(forced.status.code(), Some(0));
    assert_ne!(String::from_utf8_lossy(&forced.stdout), uri, "a new secret");
}

/// `threeds up --keys aws-kms` as a user types it, against the KMS-compatible test
/// server (`THREEDS_TEST_KMS`, set by `cargo xtask test`): it starts, and `threeds
/// doctor` finds every KMS key usable (the signing key included). Without the keys, the
/// flags are a usage error naming what is missing.
#[test]
fn up_on_aws_kms_starts_and_the_doctor_uses_its_keys() {
    let missing = threeds(&["up", "--keys", "aws-kms"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("--kms-data-key"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    let Some(url) = test_services::kms() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (data_key, mac_key, sign_key) = runtime.block_on(async {
        let client = aws_sdk_kms::Client::new(&kms::aws::sdk_config(Some(&url)).await);
        let (data, mac) = kms::aws::create_keys(&client).await.unwrap();
        let sign = kms::aws::create_signing_key(&client).await.unwrap();
        (data, mac, sign)
    });
    let dir = tempfile::tempdir().unwrap();
    let (mut child, manifest) = start_up(
        dir.path(),
        &[
            "--keys",
            "aws-kms",
            "--kms-data-key",
            &data_key,
            "--kms-mac-key",
            &mac_key,
            "--kms-sign-key",
            &sign_key,
            "--kms-endpoint",
            &url,
        ],
    );
    let doctor = Command::new(env!("CARGO_BIN_EXE_threeds"))
        .arg("doctor")
        .arg("--manifest")
        .arg(&manifest)
        .arg("--json")
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let report = json(&doctor.stdout);
    assert_eq!(doctor.status.code(), Some(0), "{report:#}");
    let keys = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "keys")
        .unwrap();
    assert!(
        keys["target"].as_str().unwrap().starts_with("AWS KMS ("),
        "{keys}"
    );
    let audit = std::fs::read_to_string(dir.path().join("data/keys-audit.jsonl")).unwrap();
    assert!(audit.contains("\"operation\":\"GetPublicKey\""), "{audit}");
}

/// `THREEDS_LOG` sets the servers' log level; a value that is no level is said, and the
/// command still runs.
#[test]
fn a_log_level_that_is_no_level_is_said_and_the_command_runs() {
    let out = Command::new(env!("CARGO_BIN_EXE_threeds"))
        .args(["cards", "--json"])
        .env("THREEDS_LOG", "loud")
        .output()
        .expect("run threeds");
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("THREEDS_LOG=\"loud\" is no level"), "{err}");
    let quiet = Command::new(env!("CARGO_BIN_EXE_threeds"))
        .args(["cards", "--json"])
        .env("THREEDS_LOG", "warn")
        .output()
        .expect("run threeds");
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    // Without THREEDS_LOG, RUST_LOG is read (here a directive that reads, then one
    // that does not); THREEDS_LOG wins when both are set.
    let run = |env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_threeds"));
        command.args(["cards", "--json"]).env_remove("THREEDS_LOG");
        for (k, v) in env {
            command.env(k, v);
        }
        let out = command.output().expect("run threeds");
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert_eq!(run(&[("RUST_LOG", "warn,threeds::request=info")]), "");
    let err = run(&[("RUST_LOG", "noisy")]);
    assert!(err.contains("RUST_LOG=\"noisy\" is no level"), "{err}");
    assert_eq!(run(&[("RUST_LOG", "noisy"), ("THREEDS_LOG", "warn")]), "");
}
