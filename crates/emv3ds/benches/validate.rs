//! What validation costs. Run: `cargo bench -p emv3ds --bench validate`.
//!
//! The target (issue #2) is a typical 3 KB browser AReq validated in under 20 µs on the
//! project's 2-core machine.

use divan::{Bencher, black_box};
use emv3ds::json::Json;
use emv3ds::{Context, RequestFacts, Role, Validator};

const AREQ: &[u8] = include_bytes!("../tests/data/valid/2.2.0/AReq-browser.json");
const AREQ_231: &[u8] = include_bytes!("../tests/data/valid/2.3.1/AReq-browser.json");
const ARES: &[u8] = include_bytes!("../tests/data/valid/2.2.0/ARes-frictionless.json");
const BAD_AREQ: &[u8] = include_bytes!("../tests/data/invalid/201-several-missing.json");

fn main() {
    divan::main();
}

/// The whole receiver path for a 2.8 KB 2.2.0 browser AReq at the DS: parse,
/// dictionary, cross-field rules, typed decode.
#[divan::bench]
fn validate_browser_areq_2_2_0(bencher: Bencher<'_, '_>) {
    validate_at_ds(bencher, AREQ);
}

/// The same for 2.3.1 (arrays where 2.2.0 has single values, more elements).
#[divan::bench]
fn validate_browser_areq_2_3_1(bencher: Bencher<'_, '_>) {
    validate_at_ds(bencher, AREQ_231);
}

fn validate_at_ds(bencher: Bencher<'_, '_>, bytes: &[u8]) {
    let ds = Validator::new(Role::DirectoryServer);
    bencher
        .counter(divan::counter::BytesCount::of_slice(bytes))
        .bench(|| ds.validate(black_box(bytes), &Context::default()));
}

/// An ARes at the 3DS Server, checked against its AReq (every rule runs).
#[divan::bench]
fn validate_ares_with_request(bencher: Bencher<'_, '_>) {
    let server = Validator::new(Role::ThreeDsServer);
    let areq = emv3ds::Message::parse(AREQ).expect("example");
    let facts = RequestFacts::of(&areq);
    bencher.bench(|| {
        server.validate(
            black_box(ARES),
            &Context {
                request: Some(&facts),
                channel: None,
            },
        )
    });
}

/// The rejection path: an AReq missing three elements, answered with Erro 201.
#[divan::bench]
fn reject_invalid_areq(bencher: Bencher<'_, '_>) {
    let ds = Validator::new(Role::DirectoryServer);
    bencher.bench(|| ds.validate(black_box(BAD_AREQ), &Context::default()));
}

/// The share of the JSON parse alone (UTF-8 check, then the tree), as `validate` does it.
#[divan::bench]
fn parse_only(bencher: Bencher<'_, '_>) {
    bencher.bench(|| {
        let text = std::str::from_utf8(black_box(AREQ)).ok()?;
        Json::parse_str(text)
            .ok()
            .map(|j| j.as_object().map(|o| o.members.len()))
    });
}

/// Serialising a typed AReq back to wire JSON.
#[divan::bench]
fn serialise_areq(bencher: Bencher<'_, '_>) {
    let msg = emv3ds::Message::parse(AREQ).expect("example");
    bencher.bench(|| black_box(&msg).to_json());
}

/// Parsing cost against the number of object members: a body of `objects` arrays'
/// worth of 1,000-member objects (the member limit is 1,024). Linear parsing makes ten
/// times the members cost about ten times the time; compare the two arguments.
#[divan::bench(args = [4, 40])]
fn parse_members(bencher: Bencher<'_, '_>, objects: usize) {
    let object: String = {
        let members: Vec<String> = (0..1000).map(|i| format!("\"member{i}\":\"x\"")).collect();
        format!("{{{}}}", members.join(","))
    };
    let text = format!("[{}]", vec![object; objects].join(","));
    bencher
        .bench(|| emv3ds::json::Json::parse_str(divan::black_box(&text)).map(|j| j.compact_len()));
}
