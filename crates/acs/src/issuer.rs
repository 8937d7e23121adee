//! The issuer's data: its cards, what each does, and per-scheme conventions (ECI).

use emv3ds::card_ranges::PanRange;

use crate::risk::{Decision, Rules};

/// What a test card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Frictionless, authenticated.
    FrictionlessY,
    /// Frictionless, attempts processing.
    FrictionlessA,
    /// Frictionless, not authenticated (reason 01).
    FrictionlessN,
    /// Frictionless, rejected (reason 11, suspected fraud).
    FrictionlessR,
    /// Frictionless, could not be performed (reason 22, ACS technical issue).
    FrictionlessU,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::FrictionlessY,
        Outcome::FrictionlessA,
        Outcome::FrictionlessN,
        Outcome::FrictionlessR,
        Outcome::FrictionlessU,
    ];

    /// The outcome called `name`.
    pub fn from_name(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.name() == name)
    }

    /// The name used across the project (`threeds cards`, scenarios).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::FrictionlessY => "frictionless-Y",
            Outcome::FrictionlessA => "frictionless-A",
            Outcome::FrictionlessN => "frictionless-N",
            Outcome::FrictionlessR => "frictionless-R",
            Outcome::FrictionlessU => "frictionless-U",
        }
    }

    pub fn decision(self) -> Decision {
        match self {
            Outcome::FrictionlessY => Decision::Authenticated,
            Outcome::FrictionlessA => Decision::Attempted,
            Outcome::FrictionlessN => Decision::NotAuthenticated { reason: "01" },
            Outcome::FrictionlessR => Decision::Rejected { reason: "11" },
            Outcome::FrictionlessU => Decision::Unavailable { reason: "22" },
        }
    }
}

/// A card of the issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub pan: String,
    pub outcome: Outcome,
    pub description: String,
}

/// A scheme's conventions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    pub name: String,
    pub directory_server_id: String,
    /// The scheme's card ranges served by this ACS.
    pub ranges: Vec<PanRange>,
    /// ECI for Y, A and N (fact sheet §10.1: Visa-style 05/06/07, Mastercard-style 02/01/00).
    pub eci: [String; 3],
}

impl Scheme {
    /// The ECI for a decision, if the scheme defines one.
    pub fn eci(&self, decision: Decision) -> Option<&str> {
        match decision {
            Decision::Authenticated => Some(&self.eci[0]),
            Decision::Attempted => Some(&self.eci[1]),
            Decision::NotAuthenticated { .. } => Some(&self.eci[2]),
            _ => None,
        }
    }
}

/// Everything the ACS knows about its issuer. The cards are the seed of the store's
/// card table, where the ACS looks cards up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerData {
    pub cards: Vec<Card>,
    pub schemes: Vec<Scheme>,
    pub rules: Rules,
}

impl IssuerData {
    pub fn scheme_of(&self, pan: &str) -> Option<&Scheme> {
        self.schemes
            .iter()
            .find(|s| s.ranges.iter().any(|r| r.contains(pan)))
    }
}
