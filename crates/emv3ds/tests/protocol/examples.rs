//! Every valid example validates (with every rule checked when the message it answers is
//! given), and round-trips byte for byte through parse → serialise → parse.
//!
//! `UPDATE_EXAMPLES=1` rewrites an example into canonical form (the serialiser's field
//! order), but only when its content is unchanged: the normalised file must be equal as
//! JSON to what was written by hand.

use std::collections::BTreeSet;

use emv3ds::{MessageVersion, Role};

use super::{data_dir, read, request_facts, validate};

/// Each example: file stem, the role that receives it, the message it answers.
const EXAMPLES: &[(&str, Role, Option<&str>)] = &[
    ("AReq-browser", Role::DirectoryServer, None),
    ("AReq-browser-decoupled", Role::DirectoryServer, None),
    ("AReq-browser-spc", Role::DirectoryServer, None),
    ("AReq-browser-nojs", Role::DirectoryServer, None),
    ("AReq-app", Role::DirectoryServer, None),
    ("AReq-app-to-acs", Role::Acs, None),
    ("AReq-3ri-recurring", Role::DirectoryServer, None),
    (
        "ARes-frictionless",
        Role::ThreeDsServer,
        Some("AReq-browser"),
    ),
    (
        "ARes-frictionless-N",
        Role::ThreeDsServer,
        Some("AReq-browser"),
    ),
    (
        "ARes-browser-challenge",
        Role::ThreeDsServer,
        Some("AReq-browser"),
    ),
    ("ARes-app-challenge", Role::ThreeDsServer, Some("AReq-app")),
    (
        "ARes-decoupled",
        Role::ThreeDsServer,
        Some("AReq-browser-decoupled"),
    ),
    ("ARes-spc", Role::ThreeDsServer, Some("AReq-browser-spc")),
    ("CReq-browser", Role::Acs, None),
    ("CReq-app", Role::Acs, None),
    (
        "CRes-browser-final",
        Role::ThreeDsServer,
        Some("CReq-browser"),
    ),
    ("CRes-app-select", Role::Sdk, Some("CReq-app")),
    ("CRes-app-final", Role::Sdk, Some("CReq-app")),
    ("RReq-browser", Role::ThreeDsServer, Some("AReq-browser")),
    ("RRes", Role::Acs, Some("RReq-browser")),
    ("PReq", Role::DirectoryServer, None),
    ("PRes", Role::ThreeDsServer, Some("PReq")),
    ("Erro", Role::DirectoryServer, None),
];

#[test]
fn every_example_validates_and_round_trips() {
    let update = std::env::var_os("UPDATE_EXAMPLES").is_some();
    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    for version in MessageVersion::ALL {
        let dir = data_dir().join("valid").join(version.as_str());
        for entry in std::fs::read_dir(&dir).expect("examples directory") {
            let path = entry.expect("dir entry").path();
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            if emv3ds::examples::get(version.as_str(), &stem).is_none() {
                failures.push(format!(
                    "{}: not in emv3ds::examples (src/examples.rs)",
                    path.display()
                ));
            }
            let Some((_, role, request)) = EXAMPLES.iter().find(|(s, _, _)| *s == stem) else {
                failures.push(format!("{}: not listed in EXAMPLES", path.display()));
                continue;
            };
            let bytes = read(&path);
            let facts = request.map(|r| request_facts(&dir.join(format!("{r}.json"))));
            let valid = match validate(&bytes, *role, facts.as_ref()) {
                Ok(v) => v,
                Err(erro) => {
                    failures.push(format!(
                        "{version}/{stem} as {role}: {}",
                        String::from_utf8_lossy(&erro.to_json())
                    ));
                    continue;
                }
            };
            if facts.is_some() && !valid.skipped.is_empty() {
                failures.push(format!(
                    "{version}/{stem}: rules skipped despite the request: {:?}",
                    valid.skipped
                ));
            }
            assert_eq!(valid.message.message_version(), version, "{stem}");
            covered.insert((valid.message.message_type().as_str().to_owned(), version));

            // parse → serialise → parse
            let pretty = valid.message.to_json_pretty() + "\n";
            let again = validate(pretty.as_bytes(), *role, facts.as_ref())
                .unwrap_or_else(|e| panic!("{stem} re-serialised is invalid: {e:?}"));
            assert_eq!(
                again.message, valid.message,
                "{version}/{stem}: typed round trip"
            );
            let before: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
            let after: serde_json::Value = serde_json::from_str(&pretty).expect("json");
            if before != after {
                failures.push(format!("{version}/{stem}: serialising changed the content"));
            } else if pretty.as_bytes() != bytes.as_slice() {
                if update {
                    std::fs::write(&path, &pretty).expect("write example");
                } else {
                    failures.push(format!(
                        "{version}/{stem}: not byte-identical after a round trip \
                         (run with UPDATE_EXAMPLES=1 to normalise field order)"
                    ));
                }
            }
            // Compact wire form round-trips too.
            let compact = valid.message.to_json();
            let wire = validate(&compact, *role, facts.as_ref()).expect("compact form valid");
            assert_eq!(wire.message, valid.message);
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );

    for t in emv3ds::MessageType::KNOWN {
        for v in MessageVersion::ALL {
            assert!(
                covered.contains(&(t.as_str().to_owned(), v)),
                "no valid example of {t} {v}"
            );
        }
    }
}

#[test]
fn answers_validate_without_their_request_and_say_what_was_skipped() {
    let dir = data_dir().join("valid/2.2.0");
    let valid = validate(
        &read(&dir.join("ARes-browser-challenge.json")),
        Role::ThreeDsServer,
        None,
    )
    .expect("valid without the AReq");
    let subjects: Vec<&str> = valid.skipped.iter().map(|s| s.subject.as_str()).collect();
    assert!(subjects.contains(&"acsSignedContent"), "{subjects:?}");
    assert!(
        subjects.contains(&"same-transaction-as-request"),
        "{subjects:?}"
    );
}

#[test]
fn serialisation_emits_no_nulls_and_only_set_fields() {
    use emv3ds::messages::RRes;
    let mut rres = RRes::new(MessageVersion::V2_1_0);
    rres.results_status = Some(emv3ds::codes::ResultsStatus::Received);
    let json = emv3ds::Message::RRes(rres).to_json();
    assert_eq!(
        String::from_utf8(json).unwrap(),
        r#"{"messageType":"RRes","messageVersion":"2.1.0","resultsStatus":"01"}"#
    );
}

#[test]
fn ds_reserved_values_survive_a_round_trip() {
    let path = data_dir().join("valid/2.2.0/AReq-browser.json");
    let text = String::from_utf8(read(&path)).unwrap();
    let text = text.replace(r#""messageCategory": "01""#, r#""messageCategory": "85""#);
    let text = text.replace(
        r#""threeDSRequestorChallengeInd": "01""#,
        r#""threeDSRequestorChallengeInd": "92""#,
    );
    let valid =
        validate(text.as_bytes(), Role::DirectoryServer, None).expect("reserved values accepted");
    let out = String::from_utf8(valid.message.to_json()).unwrap();
    assert!(out.contains(r#""messageCategory":"85""#), "{out}");
    assert!(
        out.contains(r#""threeDSRequestorChallengeInd":"92""#),
        "{out}"
    );
}
