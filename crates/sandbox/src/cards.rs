//! The test cards as `threeds cards` lists them.

use serde::Serialize;

/// A test card and what it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestCard {
    pub pan: String,
    pub scheme: String,
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
    /// The right answer of a select challenge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    pub description: String,
}

/// The shipped cards (`sandbox.toml`).
pub fn cards() -> Vec<TestCard> {
    crate::config::Ecosystem::shipped()
        .map(|e| e.cards())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_shipped_file_reads_and_has_a_card_per_outcome_and_scheme() {
        let ecosystem = crate::config::Ecosystem::shipped().expect("shipped sandbox.toml");
        let cards = ecosystem.cards();
        for scheme in ["alpha", "beta"] {
            for outcome in acs::Outcome::ALL
                .map(acs::Outcome::name)
                .iter()
                .chain(&["not-enrolled"])
            {
                assert!(
                    cards
                        .iter()
                        .any(|c| c.scheme == scheme && c.outcome == *outcome),
                    "{scheme} {outcome}"
                );
            }
        }
    }
}
