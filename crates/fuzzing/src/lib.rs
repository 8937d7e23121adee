//! The fuzz targets: for every parser that reads bytes from the network or a file, the
//! body a fuzzer runs and the seed corpus it starts from. Two drivers run them: the
//! cargo-fuzz package in `fuzz/` (libFuzzer, coverage-guided; one binary per
//! [`Target`]) and the smoke test in `tests/smoke.rs` (every seed and a fixed set of
//! mutations of each, in the ordinary test run), so a target that stops building or
//! starts failing fails CI.
//!
//! A target body must not panic on any input, and where a parser has a second opinion
//! it checks it: the trace's one-pass redaction against serde_json and the tree
//! redaction, every JWE and base64url writer against its reader, a message the
//! validator accepts against the validator again. Keys come from a PKI generated once
//! per process ([`fixture`]), so the targets run the real key types of both schemes.
//!
//! It must never reach a socket or the file system beyond that one temporary PKI.

pub mod fixture;
pub mod mutate;
mod targets;

/// One fuzz target: a parser family and what its inputs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The protocol core's validator, as every receiving role (`emv3ds::Validator`).
    Validate,
    /// `sdkEncData` as the DS reads it: `device_data::decrypt` with each scheme's key
    /// (ECDH-ES and RSA-OAEP-256), the device information it holds, and encrypt→decrypt.
    DeviceData,
    /// CReq/CRes JWEs of the app channel (`session::key_id`, `SessionKey::open`), a
    /// sealed CReq read by the ACS's validator, and seal→open.
    AppJwe,
    /// `acsSignedContent` as the SDK reads it (`signed_content::verify`): any token, and
    /// any payload properly signed by the scheme's ACS key.
    SignedContent,
    /// The ACS's browser forms (`read_creq_form`, `read_method_form`) and the base64url
    /// every form field is written in.
    BrowserForms,
    /// SPC: assertion and registration JSON, authenticator data and client data under a
    /// valid signature, attestation objects (CBOR, COSE keys).
    Spc,
    /// A scenario file (`scenario::parse`).
    ScenarioToml,
    /// The ecosystem file (`sandbox::Ecosystem::parse`).
    EcosystemToml,
    /// What the trace and the TUI read: every body (`trace::classify`, the one-pass
    /// redaction checked against serde_json), and JSON Lines of events into the TUI's
    /// model.
    TraceInput,
}

impl Target {
    /// Every target, in the order the README lists them.
    pub const ALL: [Target; 9] = [
        Target::Validate,
        Target::DeviceData,
        Target::AppJwe,
        Target::SignedContent,
        Target::BrowserForms,
        Target::Spc,
        Target::ScenarioToml,
        Target::EcosystemToml,
        Target::TraceInput,
    ];

    /// The name of its cargo-fuzz binary and corpus directory.
    pub fn name(self) -> &'static str {
        match self {
            Target::Validate => "validate",
            Target::DeviceData => "device_data",
            Target::AppJwe => "app_jwe",
            Target::SignedContent => "signed_content",
            Target::BrowserForms => "browser_forms",
            Target::Spc => "spc",
            Target::ScenarioToml => "scenario_toml",
            Target::EcosystemToml => "ecosystem_toml",
            Target::TraceInput => "trace_input",
        }
    }

    /// The target called `name`.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Makes what the target needs before the first input (the PKI, for the targets
    /// with keys): generating RSA-2048 keys takes seconds under coverage
    /// instrumentation, which libFuzzer would otherwise count against the first input.
    pub fn prepare(self) {
        if matches!(
            self,
            Target::DeviceData | Target::AppJwe | Target::SignedContent
        ) {
            let _ = fixture::Fixture::get();
        }
    }

    /// Runs one input. Panics only on a finding: a parser that panicked, or two
    /// implementations that disagree.
    pub fn run(self, data: &[u8]) {
        match self {
            Target::Validate => targets::protocol::validate(data),
            Target::DeviceData => targets::app::device_data(data),
            Target::AppJwe => targets::app::app_jwe(data),
            Target::SignedContent => targets::app::signed_content(data),
            Target::BrowserForms => targets::protocol::browser_forms(data),
            Target::Spc => targets::spc::spc(data),
            Target::ScenarioToml => targets::files::scenario(data),
            Target::EcosystemToml => targets::files::ecosystem(data),
            Target::TraceInput => targets::trace::trace_input(data),
        }
    }

    /// Its seed corpus: inputs from the repository's test data and from the real
    /// writers (sealed JWEs, signed content, SPC credentials), each reaching deep.
    pub fn seeds(self) -> Vec<Vec<u8>> {
        match self {
            Target::Validate => targets::protocol::validate_seeds(),
            Target::DeviceData => targets::app::device_data_seeds(),
            Target::AppJwe => targets::app::app_jwe_seeds(),
            Target::SignedContent => targets::app::signed_content_seeds(),
            Target::BrowserForms => targets::protocol::browser_forms_seeds(),
            Target::Spc => targets::spc::spc_seeds(),
            Target::ScenarioToml => targets::files::scenario_seeds(),
            Target::EcosystemToml => targets::files::ecosystem_seeds(),
            Target::TraceInput => targets::trace::trace_input_seeds(),
        }
    }
}

/// The repository's root (seed files are read from it).
pub fn repository() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file under `dir` (recursively) whose name ends with `suffix`, sorted.
pub fn files(dir: &std::path::Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The selector byte and the rest: targets with several modes read the first byte as
/// the mode (so one corpus covers them all).
pub(crate) fn split_mode(data: &[u8], modes: u8) -> (u8, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (first % modes, rest),
        None => (0, data),
    }
}

/// `mode` followed by `payload`: a seed for a target with modes.
pub(crate) fn with_mode(mode: u8, payload: &[u8]) -> Vec<u8> {
    let mut seed = Vec::with_capacity(payload.len() + 1);
    seed.push(mode);
    seed.extend_from_slice(payload);
    seed
}
