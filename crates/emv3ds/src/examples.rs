//! The crate's valid example messages, one or more per message type and version, built
//! into the library: for documentation, for tests of components built on this crate, and
//! as templates. Each is a realistic message that validates as the role that receives it
//! (see `tests/protocol/examples.rs`), in canonical form (the serialiser's field order).

/// One example message.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// `2.1.0`, `2.2.0` or `2.3.1`.
    pub version: &'static str,
    /// The file stem, e.g. `AReq-browser`.
    pub name: &'static str,
    /// The message as JSON.
    pub json: &'static str,
}

impl Example {
    /// The message type the example is of (the part of its name before the first `-`).
    pub fn message_type(&self) -> &'static str {
        self.name.split('-').next().unwrap_or(self.name)
    }
}

macro_rules! examples {
    ($($version:literal => [$($name:literal),* $(,)?],)*) => {
        /// Every example, by version then name.
        pub static EXAMPLES: &[Example] = &[
            $($(Example {
                version: $version,
                name: $name,
                json: include_str!(concat!("../tests/data/valid/", $version, "/", $name, ".json")),
            },)*)*
        ];
    };
}

examples! {
    "2.1.0" => ["AReq-3ri-recurring", "AReq-app", "AReq-app-to-acs", "AReq-browser", "ARes-app-challenge", "ARes-browser-challenge", "ARes-frictionless", "ARes-frictionless-N", "CReq-app", "CReq-browser", "CRes-app-final", "CRes-app-select", "CRes-browser-final", "Erro", "PReq", "PRes", "RReq-browser", "RRes"],
    "2.2.0" => ["AReq-3ri-recurring", "AReq-app", "AReq-app-to-acs", "AReq-browser", "AReq-browser-decoupled", "AReq-browser-nojs", "ARes-app-challenge", "ARes-browser-challenge", "ARes-decoupled", "ARes-frictionless", "ARes-frictionless-N", "CReq-app", "CReq-browser", "CRes-app-final", "CRes-app-select", "CRes-browser-final", "Erro", "PReq", "PRes", "RReq-browser", "RRes"],
    "2.3.1" => ["AReq-3ri-recurring", "AReq-app", "AReq-app-to-acs", "AReq-browser", "AReq-browser-decoupled", "AReq-browser-nojs", "AReq-browser-spc", "ARes-app-challenge", "ARes-browser-challenge", "ARes-decoupled", "ARes-frictionless", "ARes-frictionless-N", "ARes-spc", "CReq-app", "CReq-browser", "CRes-app-final", "CRes-app-select", "CRes-browser-final", "Erro", "PReq", "PRes", "RReq-browser", "RRes"],
}

/// The example of `version` named `name`.
pub fn get(version: &str, name: &str) -> Option<&'static Example> {
    EXAMPLES
        .iter()
        .find(|e| e.version == version && e.name == name)
}
