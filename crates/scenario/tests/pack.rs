//! The shipped pack covers every fault: each kind (and each certificate problem) and each
//! hop appears in at least one scenario. What each produces is that scenario's own
//! expectation, checked when the pack runs (`threeds run`, in `.ci/run`).

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};
use transport::faults::{FaultKind, HOPS};

#[test]
fn every_fault_kind_and_every_hop_has_a_scenario() {
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let cards = sandbox::cards();
    let mut kinds = BTreeSet::new();
    let mut hops = BTreeSet::new();
    for file in scenario::files(&[pack]).unwrap() {
        let scenario = scenario::load(&file, &cards).unwrap_or_else(|d| panic!("{d}"));
        for fault in scenario.steps.iter().flat_map(|s| &s.faults) {
            hops.insert(fault.hop.clone());
            // The kind's name as files write it, and the problem for a certificate.
            let mut name = serde_json::to_value(&fault.kind).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned();
            if let FaultKind::Certificate { problem } = fault.kind {
                name.push(':');
                name.push_str(serde_json::to_value(problem).unwrap().as_str().unwrap());
            }
            kinds.insert(name);
        }
    }
    // Every variant, as serde names them: read from the enums themselves, so a new kind
    // or problem fails this test until a scenario uses it. Nothing here lists them.
    let mut expected = variants::<FaultKind>(json!({ "kind": "\u{0}" }));
    assert!(expected.remove("certificate"), "{expected:?}");
    for problem in variants::<FaultKind>(json!({ "kind": "certificate", "problem": "\u{0}" })) {
        expected.insert(format!("certificate:{problem}"));
    }
    let missing: Vec<_> = expected.difference(&kinds).collect();
    assert!(
        missing.is_empty(),
        "no scenario for {missing:?} (have {kinds:?})"
    );
    let missing: Vec<_> = HOPS.iter().filter(|h| !hops.contains(**h)).collect();
    assert!(
        missing.is_empty(),
        "no scenario on {missing:?} (have {hops:?})"
    );
}

/// The variant names `T`'s deserializer accepts where `unknown` has a name it does not:
/// those its refusal lists (serde's "unknown variant `…`, expected one of `a`, `b`").
fn variants<T: serde::de::DeserializeOwned + std::fmt::Debug>(unknown: Value) -> BTreeSet<String> {
    let refusal = serde_json::from_value::<T>(unknown)
        .unwrap_err()
        .to_string();
    let (_, expected) = refusal
        .split_once("expected")
        .unwrap_or_else(|| panic!("not serde's unknown-variant refusal: {refusal}"));
    let names: BTreeSet<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert!(names.len() > 1, "{refusal}");
    names
}
