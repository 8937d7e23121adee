//! The shipped pack covers every fault: each kind (and each certificate problem) and each
//! hop appears in at least one scenario. What each produces is that scenario's own
//! expectation, checked when the pack runs (`threeds run`, in `.ci/run`).

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeSet;
use std::path::Path;

use transport::faults::{CertificateProblem, FaultKind, HOPS};

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
    // Every variant, named through an exhaustive match so a new one fails to compile
    // here until it is listed (and given a scenario).
    let every = |kind: &FaultKind| -> &'static [&'static str] {
        match kind {
            FaultKind::Delay { .. } => &["delay"],
            FaultKind::Timeout => &["timeout"],
            FaultKind::Refused => &["refused"],
            FaultKind::HttpStatus { .. } => &["http-status"],
            FaultKind::Erro { .. } => &["erro"],
            FaultKind::Remove { .. } => &["remove"],
            FaultKind::Empty { .. } => &["empty"],
            FaultKind::Set { .. } => &["set"],
            FaultKind::Version { .. } => &["version"],
            FaultKind::Certificate { problem } => match problem {
                CertificateProblem::WrongName
                | CertificateProblem::Expired
                | CertificateProblem::WrongCa => &[
                    "certificate:wrong-name",
                    "certificate:expired",
                    "certificate:wrong-ca",
                ],
            },
        }
    };
    let expected: BTreeSet<String> = [
        FaultKind::Delay { ms: 0 },
        FaultKind::Timeout,
        FaultKind::Refused,
        FaultKind::HttpStatus { status: 500 },
        FaultKind::Erro {
            code: String::new(),
        },
        FaultKind::Remove {
            field: String::new(),
        },
        FaultKind::Empty {
            field: String::new(),
        },
        FaultKind::Set {
            field: String::new(),
            value: serde_json::Value::Null,
        },
        FaultKind::Version {
            version: String::new(),
        },
        FaultKind::Certificate {
            problem: CertificateProblem::Expired,
        },
    ]
    .iter()
    .flat_map(|k| every(k).iter().map(|s| (*s).to_owned()))
    .collect();
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
