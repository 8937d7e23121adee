//! The risk engine: a pure function from what the ACS knows of a request to a decision.
//!
//! Rules, in order:
//! 1. a 3RI request that names a prior authentication which the ACS did not give for
//!    this card is not authenticated (reason 07, invalid transaction);
//! 2. a card of the issuer data gets its configured outcome;
//! 3. an unknown card in the issuer's ranges is not authenticated (reason 08, no card
//!    record);
//! 4. an amount above the frictionless limit cannot be authenticated without a
//!    challenge, which this version does not offer: U with reason 22 (ACS technical
//!    issue) rather than a silent Y.

use crate::issuer::Outcome;

/// What the engine looks at.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    /// What the issuer's data says the card does; `None` for a card it does not know.
    pub card: Option<Outcome>,
    pub three_ri: bool,
    pub payment: bool,
    /// For a request naming a prior authentication: whether the ACS gave it, for this
    /// card, with Y or A.
    pub prior_authentication_ok: Option<bool>,
    pub amount_minor: Option<u64>,
}

/// Tunable thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Above this amount (minor units) no frictionless authentication is given.
    pub frictionless_limit_minor: u64,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            frictionless_limit_minor: 1_000_000,
        }
    }
}

/// The outcome of an authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Authenticated,
    Attempted,
    NotAuthenticated { reason: &'static str },
    Rejected { reason: &'static str },
    Unavailable { reason: &'static str },
}

impl Decision {
    pub fn trans_status(self) -> &'static str {
        match self {
            Decision::Authenticated => "Y",
            Decision::Attempted => "A",
            Decision::NotAuthenticated { .. } => "N",
            Decision::Rejected { .. } => "R",
            Decision::Unavailable { .. } => "U",
        }
    }

    pub fn reason(self) -> Option<&'static str> {
        match self {
            Decision::NotAuthenticated { reason }
            | Decision::Rejected { reason }
            | Decision::Unavailable { reason } => Some(reason),
            _ => None,
        }
    }
}

/// Decides.
pub fn decide(facts: &Facts, rules: &Rules) -> Decision {
    if facts.three_ri && facts.prior_authentication_ok == Some(false) {
        return Decision::NotAuthenticated { reason: "07" };
    }
    let Some(card) = facts.card else {
        return Decision::NotAuthenticated { reason: "08" };
    };
    let decision = card.decision();
    if decision == Decision::Authenticated
        && facts.payment
        && facts
            .amount_minor
            .is_some_and(|a| a > rules.frictionless_limit_minor)
    {
        return Decision::Unavailable { reason: "22" };
    }
    decision
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(card: Option<Outcome>) -> Facts {
        Facts {
            card,
            three_ri: false,
            payment: true,
            prior_authentication_ok: None,
            amount_minor: Some(1000),
        }
    }

    #[test]
    fn configured_outcomes_win() {
        let rules = Rules::default();
        for (outcome, status) in [
            (Outcome::FrictionlessY, "Y"),
            (Outcome::FrictionlessA, "A"),
            (Outcome::FrictionlessN, "N"),
            (Outcome::FrictionlessR, "R"),
            (Outcome::FrictionlessU, "U"),
        ] {
            assert_eq!(decide(&facts(Some(outcome)), &rules).trans_status(), status);
        }
    }

    #[test]
    fn unknown_cards_and_bad_priors_are_refused() {
        let rules = Rules::default();
        assert_eq!(
            decide(&facts(None), &rules),
            Decision::NotAuthenticated { reason: "08" }
        );
        let mut f = facts(Some(Outcome::FrictionlessY));
        f.three_ri = true;
        f.prior_authentication_ok = Some(false);
        assert_eq!(
            decide(&f, &rules),
            Decision::NotAuthenticated { reason: "07" }
        );
        f.prior_authentication_ok = Some(true);
        assert_eq!(decide(&f, &rules), Decision::Authenticated);
    }

    #[test]
    fn big_amounts_are_not_waved_through() {
        let mut f = facts(Some(Outcome::FrictionlessY));
        f.amount_minor = Some(2_000_000);
        assert_eq!(
            decide(&f, &Rules::default()),
            Decision::Unavailable { reason: "22" }
        );
    }
}
