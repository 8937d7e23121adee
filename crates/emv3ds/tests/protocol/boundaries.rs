//! The protocol core stays pure: no async runtime, no HTTP, no database, no I/O crates.
//! The allowed list is short on purpose; adding to it is a design decision.

/// `url`: the WHATWG URL parser, pure, for the URL elements' format (`safe_url`).
/// `base64`: pure encoding, for the elements the protocol carries base64url-encoded
/// (`acsHTML` in `CRes::screen`).
const ALLOWED: &[&str] = &["base64", "serde", "serde_json", "thiserror", "url"];

#[test]
fn the_protocol_core_depends_on_nothing_that_does_io() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .expect("Cargo.toml");
    let mut in_deps = false;
    let mut deps = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps
            && !line.starts_with('#')
            && let Some((name, _)) = line.split_once(['=', '.'])
        {
            deps.push(name.trim().to_owned());
        }
    }
    assert!(!deps.is_empty(), "no [dependencies] found");
    for dep in &deps {
        assert!(
            ALLOWED.contains(&dep.as_str()),
            "emv3ds must stay free of I/O: {dep} is not in the allowed list {ALLOWED:?}"
        );
    }
}
