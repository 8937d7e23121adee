//! The risk engine: a pure function from what the ACS knows of a request to a decision.
//!
//! Rules, in order:
//! 1. a 3RI request that names a prior authentication which the ACS did not give for
//!    this card is not authenticated (reason 07, invalid transaction);
//! 2. an unknown card in the issuer's ranges is not authenticated (reason 08, no card
//!    record);
//! 3. 3RI has no cardholder to challenge: a card that would be challenged is
//!    authenticated on a good prior authentication, else not (reason 07);
//! 4. a decoupled card is authenticated decoupled (`D`) when the requestor asks for it
//!    (2.2.0+), else challenged with an OTP;
//! 5. a frictionless-Y card is challenged (OTP) when the requestor asks for a challenge
//!    (indicator 03 or 04), the amount is above the frictionless limit, or (app channel)
//!    the SDK's device information reports a security warning (`SW01` jailbroken,
//!    `SW02` tampered, `SW03` emulator, `SW04` debugger attached);
//! 6. Secure Payment Confirmation (an `spc` card with a registered credential, 2.3.1
//!    browser): a verified assertion in a second AReq authenticates; one that shows it
//!    was not made for this transaction (signature, challenge, amount, payee, origin,
//!    counter) is not authenticated (reason 09, security failure); no usable assertion
//!    (SPC not completed, a credential not the card's, no user verification) falls
//!    back to an OTP challenge; a requestor that supports SPC gets `S`;
//! 7. otherwise the card gets its configured outcome.

use crate::challenge::Method;
use crate::issuer::Outcome;

/// What the engine looks at.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    /// What the issuer's data says the card does; `None` for a card it does not know.
    pub card: Option<Outcome>,
    pub three_ri: bool,
    pub app: bool,
    pub payment: bool,
    /// The requestor asked for a challenge (`threeDSRequestorChallengeInd` 03 or 04).
    pub challenge_requested: bool,
    /// The requestor accepts decoupled authentication (2.2.0+ `threeDSRequestorDecReqInd`
    /// Y or B).
    pub decoupled_requested: bool,
    /// For a request naming a prior authentication: whether the ACS gave it, for this
    /// card, with Y or A.
    pub prior_authentication_ok: Option<bool>,
    pub amount_minor: Option<u64>,
    /// App channel: the device information (from the DS) reports a security warning
    /// that makes a frictionless authentication unsafe.
    pub device_at_risk: bool,
    /// Where Secure Payment Confirmation stands for this request.
    pub spc: Spc,
}

/// Secure Payment Confirmation, as far as the decision goes (`crate::spc` finds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spc {
    /// Nothing to do with SPC.
    #[default]
    None,
    /// The card has a credential and the requestor supports SPC: `S`.
    RequestorMayConfirm,
    /// A second AReq whose assertion verified.
    Confirmed,
    /// A second AReq whose assertion was not made for this transaction, or that names
    /// no confirmation the ACS issued for the card: `N` with this reason.
    Refused { reason: &'static str },
    /// A second AReq with no usable assertion: an OTP challenge.
    FallBack,
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
    NotAuthenticated {
        reason: &'static str,
    },
    Rejected {
        reason: &'static str,
    },
    Unavailable {
        reason: &'static str,
    },
    /// ARes `C`.
    Challenge(Method),
    /// ARes `D`.
    Decoupled,
    /// ARes `S`: the requestor runs Secure Payment Confirmation.
    Spc,
}

impl Decision {
    pub fn trans_status(self) -> &'static str {
        match self {
            Decision::Authenticated => "Y",
            Decision::Attempted => "A",
            Decision::NotAuthenticated { .. } => "N",
            Decision::Rejected { .. } => "R",
            Decision::Unavailable { .. } => "U",
            Decision::Challenge(_) => "C",
            Decision::Decoupled => "D",
            Decision::Spc => "S",
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
    match facts.spc {
        Spc::None => {}
        Spc::RequestorMayConfirm => return Decision::Spc,
        Spc::Confirmed => return Decision::Authenticated,
        Spc::Refused { reason } => return Decision::NotAuthenticated { reason },
        Spc::FallBack => return Decision::Challenge(Method::Otp),
    }
    let over_limit = facts.payment
        && facts
            .amount_minor
            .is_some_and(|a| a > rules.frictionless_limit_minor);
    let decision = match card.decision() {
        Decision::Decoupled if facts.decoupled_requested => Decision::Decoupled,
        Decision::Decoupled => Decision::Challenge(Method::Otp),
        Decision::Authenticated
            if facts.challenge_requested || over_limit || facts.device_at_risk =>
        {
            Decision::Challenge(Method::Otp)
        }
        other => other,
    };
    match decision {
        Decision::Challenge(_) | Decision::Decoupled if facts.three_ri => {
            if facts.prior_authentication_ok == Some(true) {
                Decision::Authenticated
            } else {
                Decision::NotAuthenticated { reason: "07" }
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(card: Option<Outcome>) -> Facts {
        Facts {
            card,
            three_ri: false,
            app: false,
            device_at_risk: false,
            spc: Spc::None,
            payment: true,
            challenge_requested: false,
            decoupled_requested: false,
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
    fn big_amounts_and_requested_challenges_are_challenged() {
        let mut f = facts(Some(Outcome::FrictionlessY));
        f.amount_minor = Some(2_000_000);
        assert_eq!(
            decide(&f, &Rules::default()),
            Decision::Challenge(Method::Otp)
        );
        let mut f = facts(Some(Outcome::FrictionlessY));
        f.challenge_requested = true;
        assert_eq!(
            decide(&f, &Rules::default()),
            Decision::Challenge(Method::Otp)
        );
        f.app = true;
        assert_eq!(
            decide(&f, &Rules::default()),
            Decision::Challenge(Method::Otp)
        );
        f.challenge_requested = false;
        assert_eq!(decide(&f, &Rules::default()), Decision::Authenticated);
        f.device_at_risk = true;
        assert_eq!(
            decide(&f, &Rules::default()),
            Decision::Challenge(Method::Otp)
        );
    }

    #[test]
    fn decoupled_only_when_asked_and_never_in_3ri() {
        let mut f = facts(Some(Outcome::Decoupled));
        assert_eq!(
            decide(&f, &Rules::default()),
            Decision::Challenge(Method::Otp)
        );
        f.decoupled_requested = true;
        assert_eq!(decide(&f, &Rules::default()), Decision::Decoupled);
        f.three_ri = true;
        assert_eq!(
            decide(&f, &Rules::default()),
            Decision::NotAuthenticated { reason: "07" }
        );
        f.prior_authentication_ok = Some(true);
        assert_eq!(decide(&f, &Rules::default()), Decision::Authenticated);
        let f = facts(Some(Outcome::ChallengeOob));
        assert_eq!(
            decide(&f, &Rules::default()),
            Decision::Challenge(Method::OutOfBand)
        );
    }

    #[test]
    fn spc_decides_before_the_card_outcome() {
        let mut f = facts(Some(Outcome::Spc));
        assert_eq!(
            decide(&f, &Rules::default()),
            Decision::Challenge(Method::Otp)
        );
        f.spc = Spc::RequestorMayConfirm;
        assert_eq!(decide(&f, &Rules::default()), Decision::Spc);
        assert_eq!(Decision::Spc.trans_status(), "S");
        f.spc = Spc::Confirmed;
        assert_eq!(decide(&f, &Rules::default()), Decision::Authenticated);
        f.spc = Spc::Refused { reason: "09" };
        assert_eq!(
            decide(&f, &Rules::default()),
            Decision::NotAuthenticated { reason: "09" }
        );
        f.spc = Spc::FallBack;
        assert_eq!(
            decide(&f, &Rules::default()),
            Decision::Challenge(Method::Otp)
        );
    }
}
