//! What the trace and the TUI read from outside: every body any component receives or
//! sends (classified and redacted before any handler has looked at it), and trace
//! files (`threeds tui --file`, JSON Lines of events).

use serde_json::Value;
use trace::classify::{Seen, classify};
use trace::redact::{redact, redact_text};

use crate::targets::protocol::examples;
use crate::{split_mode, with_mode};

/// Mode 0: the one-pass redaction against serde_json and the tree redaction: it takes
/// exactly what serde_json takes, and what it writes is JSON that reads as the tree
/// redaction of the input. 1: a body as each kind of endpoint classifies it. 2: JSON
/// Lines of events into the TUI's model.
pub fn trace_input(data: &[u8]) {
    let (mode, data) = split_mode(data, 3);
    match mode {
        0 => {
            let scanned = redact_text(data);
            let tree = serde_json::from_slice::<Value>(data);
            assert_eq!(
                scanned.is_some(),
                tree.is_ok(),
                "the scanner and serde_json disagree: {tree:?}"
            );
            if let (Some(scanned), Ok(mut tree)) = (scanned, tree) {
                let text: Value =
                    serde_json::from_str(&scanned.text).expect("the redacted text is JSON");
                redact(&mut tree);
                assert_eq!(text, tree, "one-pass and tree redaction differ");
            }
        }
        1 => {
            for (path, content_type, request) in [
                ("/areq", Some("application/json"), true),
                ("/v1/auth", Some("application/json; charset=utf-8"), false),
                (
                    "/challenge",
                    Some("application/x-www-form-urlencoded"),
                    true,
                ),
                ("/app/challenge", Some("application/jose"), true),
                ("/app/challenge", Some("text/plain"), false),
                ("/page", Some("text/html"), false),
                ("/areq", None, false),
            ] {
                let seen = Seen {
                    path,
                    content_type,
                    request,
                };
                let _ = classify(seen, data);
            }
            let text = String::from_utf8_lossy(data);
            let _ = trace::decode::jose(&text);
            let _ = trace::decode::base64url_json(&text);
        }
        _ => {
            let mut model = tui::Model::new(16);
            for line in data.split(|&b| b == b'\n') {
                if let Ok(event) = serde_json::from_slice::<trace::Event>(line) {
                    model.ingest(event);
                }
            }
            for transaction in model.newest_first() {
                let _ = transaction.hops();
                let _ = transaction.matches("4000");
            }
        }
    }
}

/// The protocol core's examples as bodies, and the TUI's recorded sandbox trace.
pub fn trace_input_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for example in examples("") {
        seeds.push(with_mode(0, &example));
        seeds.push(with_mode(1, &example));
    }
    let recorded = crate::repository().join("tui/tests/fixtures/sandbox.jsonl");
    if let Ok(text) = std::fs::read(recorded) {
        // A whole recording is large for a fuzzer: its transactions, a few at a time.
        for chunk in text.split(|&b| b == b'\n').collect::<Vec<_>>().chunks(12) {
            seeds.push(with_mode(2, &chunk.join(&b'\n')));
        }
    }
    seeds
}
