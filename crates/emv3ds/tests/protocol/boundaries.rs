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

/// The library sources of the crates that make up the servers (the components and
/// the libraries they run on) and of the scenario runner, each with its text up to its test module (tests may
/// write any JSON they like).
fn service_sources() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    for krate in [
        "acs",
        "directory-server",
        "threeds-server",
        "sdk",
        "merchant",
        "transport",
        "sandbox",
        "kms",
        "store",
        "trace",
        "scenario",
    ] {
        let mut stack = vec![root.join("crates").join(krate).join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)
                .expect("a source directory")
                .flatten()
            {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("a source file");
                    let code = text
                        .split("#[cfg(test)]")
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let name = path
                        .strip_prefix(&root)
                        .unwrap_or(&path)
                        .display()
                        .to_string();
                    out.push((name, code));
                }
            }
        }
    }
    out
}

/// The core owns every message: a service fills typed fields and calls the core's
/// constructors (`RReq::result`, `CRes::screen`, `CReq::app`, `Validator::reject`, …)
/// instead of writing `"messageType"` into JSON of its own.
#[test]
fn no_service_builds_a_protocol_message_by_member_name() {
    // Named exception: the requestor API takes the AReq's elements by name (that is
    // its documented interface) and the 3DS Server adds its own before validating the
    // whole as the DS will.
    const EXCEPTIONS: &[&str] = &["crates/threeds-server/src/api.rs"];
    let writes = [
        "\"messageType\":",
        "put(\"messageType\"",
        "[\"messageType\"] =",
    ];
    let mut offending = Vec::new();
    let mut files = 0;
    for (name, code) in service_sources() {
        files += 1;
        if EXCEPTIONS.contains(&name.as_str()) {
            continue;
        }
        for (n, line) in code.lines().enumerate() {
            if writes.iter().any(|w| line.contains(w)) {
                offending.push(format!("{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(files > 30, "only {files} service sources found");
    assert!(
        offending.is_empty(),
        "build these with the core's constructors:\n{}",
        offending.join("\n")
    );
}

/// Servers report through the trace, their answers and `tracing` events (which the
/// binary's one subscriber writes), never by printing.
#[test]
fn no_server_prints_to_standard_output_or_error() {
    let mut found = Vec::new();
    for (name, code) in service_sources() {
        // `println!` and `eprintln!` alike.
        for (n, line) in code.lines().enumerate() {
            if line.contains("println!") && !line.trim_start().starts_with("//") {
                found.push(format!("{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "log with tracing (no card data), do not print:\n{}",
        found.join("\n")
    );
}
