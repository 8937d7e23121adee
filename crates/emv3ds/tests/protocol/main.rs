//! Protocol-core tests, one binary (faster links): the valid examples, the corpus of
//! invalid messages, the dictionary's agreement with the typed messages and with its
//! generated reference, and the never-panic / round-trip properties.

mod boundaries;
mod card_ranges;
mod corpus;
mod dictionary;
mod examples;
mod notes;
mod properties;

use std::path::{Path, PathBuf};

use emv3ds::{Context, Message, RequestFacts, Role, Validator};

/// `crates/emv3ds/tests/data`.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The facts of a message file used as `request`.
pub fn request_facts(path: &Path) -> RequestFacts {
    let msg = Message::parse(&read(path))
        .unwrap_or_else(|e| panic!("{} is not a message: {e}", path.display()));
    RequestFacts::of(&msg)
}

/// Validates `bytes` as `role`, with the request file if any.
pub fn validate(
    bytes: &[u8],
    role: Role,
    request: Option<&RequestFacts>,
) -> Result<emv3ds::Valid, Box<emv3ds::Erro>> {
    Validator::new(role).validate(
        bytes,
        &Context {
            request,
            channel: None,
        },
    )
}
