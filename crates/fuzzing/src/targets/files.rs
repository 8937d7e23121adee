//! Files users write: scenarios and the ecosystem file. Their readers must answer any
//! text with a diagnostic (which is rendered here too: it quotes the file by position).

use std::path::Path;
use std::sync::OnceLock;

use crate::{files, repository};

/// `data` as a scenario file.
pub fn scenario(data: &[u8]) {
    static CARDS: OnceLock<Vec<sandbox::TestCard>> = OnceLock::new();
    let cards = CARDS.get_or_init(sandbox::cards);
    let text = String::from_utf8_lossy(data);
    if let Err(diagnostic) = scenario::parse(Path::new("fuzz.toml"), &text, cards) {
        let _ = diagnostic.to_string();
    }
}

/// The shipped pack and the loader's collection of broken files.
pub fn scenario_seeds() -> Vec<Vec<u8>> {
    let root = repository();
    [
        files(&root.join("scenarios"), ".toml"),
        files(&root.join("crates/scenario/tests/broken"), ".toml"),
    ]
    .concat()
    .into_iter()
    .filter_map(|p| std::fs::read(p).ok())
    .collect()
}

/// `data` as an ecosystem file.
pub fn ecosystem(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(error) = sandbox::Ecosystem::parse(&text, "fuzz.toml") {
        let _ = error.to_string();
    }
}

/// The shipped ecosystem file.
pub fn ecosystem_seeds() -> Vec<Vec<u8>> {
    std::fs::read(repository().join("crates/sandbox/sandbox.toml"))
        .into_iter()
        .collect()
}
