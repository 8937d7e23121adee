//! `threeds run --seed`: two runs of the whole pack with the same seed, PKI and ports
//! record the same trace, event for event, but for the values the protocol requires to
//! be fresh every time ([`FRESH`]); another seed numbers its transactions differently.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Members whose values the protocol wants new each time, so no seed may fix them:
/// ephemeral keys and what is sealed or signed with them, WebAuthn challenges, and
/// ECDSA signatures (a random nonce each). `parent.member` names one member of one
/// object only.
const FRESH: &[&str] = &[
    // The SDK's and the ACS's ephemeral ECDH keys (one pair per transaction).
    "sdkEphemPubKey",
    "acsEphemPubKey",
    // The ACS's JWS over its ephemeral key, and the device data sealed to the DS
    // under a fresh `epk`.
    "acsSignedContent",
    "sdkEncData",
    // SPC: the WebAuthn challenge is random by WebAuthn's rules; the assertion
    // carries it and is signed with a random nonce.
    "spcTransData.challenge",
    "clientDataJSON",
    "signature",
    "threeDSReqAuthData",
];

fn fresh(parent: &str, name: &str) -> bool {
    FRESH
        .iter()
        .any(|f| *f == name || f.split_once('.') == Some((parent, name)))
}

/// `value` with every fresh member replaced by a marker.
fn mask(value: &mut Value, parent: &str) {
    match value {
        Value::Object(members) => {
            for (name, member) in members.iter_mut() {
                if fresh(parent, name) {
                    *member = Value::String("<fresh>".into());
                } else {
                    mask(member, name);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| mask(v, parent)),
        _ => {}
    }
}

/// The run's events, with what must be fresh masked. App-channel CReqs and CRes are
/// JWEs under the session key of the ephemeral keys: their wire form is masked, their
/// decrypted form (the ACS's view) is kept.
fn masked_trace(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let mut event: Value = serde_json::from_str(line).unwrap();
            if let Some(body) = event.get_mut("body") {
                if body.as_str().is_some_and(|s| s.split('.').count() == 5) {
                    *body = Value::String("<fresh JWE>".into());
                }
                mask(body, "");
            }
            if let Some(decoded) = event.get_mut("decoded") {
                mask(decoded, "");
            }
            event
        })
        .collect()
}

/// A base port with the ten ports from it free now, below the kernel's ephemeral range
/// (from 32768), where the outgoing connections of tests running beside this one take
/// their ports and could take one of ours before `threeds run` binds it.
fn free_port_base() -> u16 {
    let start = (std::process::id() % 1_200) as u16 * 10;
    (0..400)
        .map(|i| (start + i * 10) % 12_000 + 20_000)
        .find(|base| (0..10).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()))
        .unwrap()
}

fn run(seed: &str, certs: &Path, base: u16, trace: &Path, filter: Option<&str>) -> String {
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut command = Command::new(env!("CARGO_BIN_EXE_threeds"));
    command
        .arg("run")
        .arg(&pack)
        .args(["--seed", seed, "--port-base", &base.to_string()])
        .arg("--certs")
        .arg(certs)
        .arg("--trace")
        .arg(trace);
    if let Some(filter) = filter {
        command.args(["--filter", filter]);
    }
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn two_runs_with_one_seed_record_the_same_trace() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let (first, second) = (
        dir.path().join("first.jsonl"),
        dir.path().join("second.jsonl"),
    );
    // The same ports too: URLs in messages carry them.
    let base = free_port_base();
    let out = run("7", &certs, base, &first, None);
    assert!(out.ends_with(" passed, 0 failed\n"), "{out}");
    run("7", &certs, base, &second, None);

    let (a, b) = (masked_trace(&first), masked_trace(&second));
    assert!(a.len() > 1_000, "the whole pack: {} events", a.len());
    assert_eq!(a.len(), b.len(), "as many events");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "event {} differs", x["seq"]);
    }
    // Virtual time: the spec's timers (30 s for the first CReq, 10 min a step) passed
    // on the clock, and nothing was measured in real time.
    let at = |e: &Value| e["atMs"].as_u64().unwrap();
    let span = at(a.last().unwrap()) - at(&a[0]);
    assert!(span >= 30_000, "the clock moved to the timers: {span} ms");
    let fired = a
        .iter()
        .filter(|e| e["label"] == "challenge timer fired")
        .count();
    assert!(fired >= 3, "{fired} timers fired");
    // What was masked really is in the trace (the list is not hiding nothing).
    let raw = std::fs::read_to_string(&first).unwrap();
    for member in ["sdkEphemPubKey", "acsSignedContent", "spcTransData"] {
        assert!(raw.contains(member), "{member}");
    }

    // Another seed: other ids, the same outcome.
    let other = dir.path().join("other.jsonl");
    let out = run(
        "8",
        &certs,
        free_port_base(),
        &other,
        Some("frictionless-y"),
    );
    assert!(out.contains(" passed, 0 failed"), "{out}");
    let ids = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .filter_map(|e| e["ids"]["threeDSServerTransID"].as_str().map(str::to_owned))
            .collect()
    };
    let seeded_8 = ids(&masked_trace(&other));
    assert!(!seeded_8.is_empty());
    let seeded_7 = ids(&a);
    assert!(seeded_8.iter().all(|id| !seeded_7.contains(id)));
}
