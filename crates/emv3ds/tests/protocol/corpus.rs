//! The corpus of invalid messages: each `invalid/NAME.json` is a small variation of a
//! valid example, and `invalid/NAME.expect` says how it must be answered:
//!
//! ```text
//! # Variation of valid/2.2.0/AReq-browser.json
//! as: ds                                      the receiving role
//! request: valid/2.2.0/AReq-browser.json      optional: the message being answered
//! errorCode: 201
//! errorDetail: purchaseAmount,purchaseCurrency
//! ```
//!
//! Besides the code and detail, every answer must itself be a valid `Erro` from the
//! receiving role's component, carry the rejected message's type when it was readable,
//! and explain itself in `errorDescription`. The exact answer is also kept as a snapshot,
//! `invalid/NAME.erro.json`, so any change to it shows up in review
//! (`UPDATE_EXPECT=1` rewrites the snapshots after the hand-written checks pass).

use std::collections::BTreeSet;
use std::path::Path;

use emv3ds::{MessageType, Role};

use super::{data_dir, read, request_facts, validate};

struct Expect {
    role: Role,
    request: Option<String>,
    code: String,
    detail: String,
}

fn parse_expect(path: &Path) -> Expect {
    let text = String::from_utf8(read(path)).expect("utf-8");
    let mut role = None;
    let mut request = None;
    let mut code = None;
    let mut detail = None;
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("{}:{}: expected `key: value`", path.display(), n + 1));
        let value = value.trim().to_owned();
        match key.trim() {
            "as" => role = Some(value.parse::<Role>().expect("role")),
            "request" => request = Some(value),
            "errorCode" => code = Some(value),
            "errorDetail" => detail = Some(value),
            other => panic!("{}:{}: unknown key {other}", path.display(), n + 1),
        }
    }
    Expect {
        role: role.expect("as:"),
        request,
        code: code.expect("errorCode:"),
        detail: detail.expect("errorDetail:"),
    }
}

/// The one helper every corpus case goes through.
fn check(message: &Path, expect: &Expect) -> Result<String, String> {
    let facts = expect
        .request
        .as_ref()
        .map(|r| request_facts(&data_dir().join(r)));
    let bytes = read(message);
    let Err(erro) = validate(&bytes, expect.role, facts.as_ref()) else {
        return Err("accepted, expected an Erro".into());
    };
    let got = (erro.error_code.as_str(), erro.error_detail.as_str());
    if got != (expect.code.as_str(), expect.detail.as_str()) {
        return Err(format!(
            "got {} [{}], expected {} [{}]\n    description: {}",
            got.0, got.1, expect.code, expect.detail, erro.error_description
        ));
    }
    if erro.error_component != expect.role.component() {
        return Err(format!("errorComponent {}", erro.error_component));
    }
    if erro.error_description.len() < 20 {
        return Err(format!(
            "errorDescription too thin: {:?}",
            erro.error_description
        ));
    }
    // errorMessageType names the rejected message whenever its type was readable.
    let sent_type = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v.get("messageType")
                .and_then(|t| t.as_str())
                .map(str::to_owned)
        })
        .and_then(|t| MessageType::from_code(&t))
        .filter(|t| t.index().is_some());
    if erro.error_message_type != sent_type {
        return Err(format!(
            "errorMessageType {:?}, expected {:?}",
            erro.error_message_type, sent_type
        ));
    }
    // The answer is itself a valid Erro (the DS receives Erro messages).
    let wire = erro.to_json();
    let pretty = emv3ds::Message::Erro((*erro).clone()).to_json_pretty() + "\n";
    let snapshot = message.with_extension("erro.json");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&snapshot, &pretty).map_err(|e| e.to_string())?;
    } else if std::fs::read_to_string(&snapshot).ok().as_deref() != Some(pretty.as_str()) {
        return Err(format!(
            "the Erro differs from {} (UPDATE_EXPECT=1 to accept):\n{pretty}",
            snapshot.display()
        ));
    }
    if let Err(e) = validate(&wire, Role::DirectoryServer, None) {
        return Err(format!(
            "the Erro sent is itself invalid: {} [{}]",
            e.error_code, e.error_detail
        ));
    }
    Ok(erro.error_code.as_str().to_owned())
}

#[test]
fn every_invalid_message_gets_its_erro() {
    let dir = data_dir().join("invalid");
    let mut failures = Vec::new();
    let mut codes = BTreeSet::new();
    let mut count = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && !p.to_string_lossy().ends_with(".erro.json")
        })
        .collect();
    entries.sort();
    for path in entries {
        count += 1;
        let expect_path = path.with_extension("expect");
        assert!(expect_path.exists(), "{} has no .expect", path.display());
        let expect = parse_expect(&expect_path);
        match check(&path, &expect) {
            Ok(code) => {
                codes.insert(code);
            }
            Err(why) => failures.push(format!(
                "{}: {why}",
                path.file_name().unwrap_or_default().to_string_lossy()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        count >= 60,
        "the corpus must hold at least 60 messages, has {count}"
    );
    for code in ["101", "102", "201", "202", "203", "204", "301", "302"] {
        assert!(codes.contains(code), "no corpus case yields {code}");
    }
}
