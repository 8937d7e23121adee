//! The issuer's data: its cards, what each does, and per-scheme conventions (ECI).

use emv3ds::card_ranges::PanRange;

use crate::challenge::Method;
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
    /// A challenge with a one-time passcode (the card's `otp`).
    Challenge,
    /// A challenge with one right answer among several.
    ChallengeSelect,
    /// A challenge where every right answer among several must be ticked.
    ChallengeMultiSelect,
    /// An out-of-band challenge: approve in the issuer app, then continue.
    ChallengeOob,
    /// An OTP challenge that the ACS renders with its own HTML in the app channel
    /// (`acsUiType` 05) when the SDK can show HTML; in a browser, like `challenge`.
    ChallengeHtml,
    /// Decoupled authentication when the requestor asks for it (2.2.0+), else an OTP
    /// challenge.
    Decoupled,
    /// Secure Payment Confirmation allowed (2.3.1, browser): an OTP challenge that ends
    /// by offering to register this device; once a credential is registered, SPC
    /// (ARes `S` when the requestor supports it, else offered on the challenge page).
    Spc,
}

impl Outcome {
    pub const ALL: [Outcome; 12] = [
        Outcome::FrictionlessY,
        Outcome::FrictionlessA,
        Outcome::FrictionlessN,
        Outcome::FrictionlessR,
        Outcome::FrictionlessU,
        Outcome::Challenge,
        Outcome::ChallengeSelect,
        Outcome::ChallengeMultiSelect,
        Outcome::ChallengeOob,
        Outcome::ChallengeHtml,
        Outcome::Decoupled,
        Outcome::Spc,
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
            Outcome::Challenge => "challenge",
            Outcome::ChallengeSelect => "challenge-select",
            Outcome::ChallengeMultiSelect => "challenge-multi-select",
            Outcome::ChallengeOob => "challenge-oob",
            Outcome::ChallengeHtml => "challenge-html",
            Outcome::Decoupled => "decoupled",
            Outcome::Spc => "spc",
        }
    }

    /// How the cardholder is challenged, for the outcomes that challenge.
    pub fn challenge(self) -> Option<Method> {
        match self {
            Outcome::Challenge | Outcome::ChallengeHtml | Outcome::Spc => Some(Method::Otp),
            Outcome::ChallengeSelect => Some(Method::SingleSelect),
            Outcome::ChallengeMultiSelect => Some(Method::MultiSelect),
            Outcome::ChallengeOob => Some(Method::OutOfBand),
            Outcome::Decoupled => Some(Method::Decoupled),
            _ => None,
        }
    }

    pub fn decision(self) -> Decision {
        match self {
            Outcome::FrictionlessY => Decision::Authenticated,
            Outcome::FrictionlessA => Decision::Attempted,
            Outcome::FrictionlessN => Decision::NotAuthenticated { reason: "01" },
            Outcome::FrictionlessR => Decision::Rejected { reason: "11" },
            Outcome::FrictionlessU => Decision::Unavailable { reason: "22" },
            Outcome::Challenge
            | Outcome::ChallengeSelect
            | Outcome::ChallengeMultiSelect
            | Outcome::ChallengeOob
            | Outcome::ChallengeHtml
            | Outcome::Spc => Decision::Challenge(self.challenge().unwrap_or(Method::Otp)),
            Outcome::Decoupled => Decision::Decoupled,
        }
    }
}

/// A card of the issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub pan: String,
    pub outcome: Outcome,
    pub description: String,
    /// The one-time passcode of an OTP challenge.
    pub otp: Option<String>,
    /// SPC: the shipped software authenticator's test credential is registered for
    /// this card at start (`spc::software::SoftwareAuthenticator::test_key`).
    pub spc_test_credential: bool,
}

/// A scheme's conventions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    pub name: String,
    pub directory_server_id: String,
    /// The scheme's card ranges served by this ACS.
    pub ranges: Vec<PanRange>,
    /// ECI for Y, A and N (`docs/protocol.md` §10.1: Visa-style 05/06/07, Mastercard-style 02/01/00).
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

/// The OTP of a challenge card that names none.
pub const DEFAULT_OTP: &str = "123456";

/// A question of a select challenge: the options (value, label) and the right values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    pub text: &'static str,
    pub options: &'static [(&'static str, &'static str)],
    pub right: &'static [&'static str],
}

impl Question {
    pub fn right(&self) -> Vec<String> {
        self.right.iter().map(|r| (*r).to_owned()).collect()
    }

    /// The labels of the right options (for `threeds cards`).
    pub fn answer(&self) -> String {
        self.options
            .iter()
            .filter(|(value, _)| self.right.contains(value))
            .map(|(_, label)| *label)
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// The single-select challenge (`challenge-select` cards).
pub const SINGLE_SELECT: Question = Question {
    text: "Where did you last pay with this card?",
    options: &[
        ("grocer", "Greenleaf Grocers"),
        ("coffee", "Corner Coffee House"),
        ("books", "Riverside Books"),
        ("fuel", "Northway Fuel"),
    ],
    right: &["coffee"],
};

/// The multi-select challenge (`challenge-multi-select` cards).
pub const MULTI_SELECT: Question = Question {
    text: "Which of these did you buy with this card in the last 30 days? Tick every one.",
    options: &[
        ("train", "Train tickets"),
        ("coffee", "Coffee"),
        ("books", "Books"),
        ("shoes", "Running shoes"),
        ("flowers", "Flowers"),
    ],
    right: &["coffee", "books"],
};

/// An amount for people: `purchaseAmount` in minor units with its exponent, and the
/// ISO 4217 currency (alphabetic when known).
pub fn display_amount(
    amount: Option<&str>,
    currency: Option<&str>,
    exponent: Option<&str>,
) -> String {
    let Some(minor) = amount.and_then(|a| a.parse::<u64>().ok()) else {
        return String::new();
    };
    let currency = currency.unwrap_or("");
    let currency = currency_alpha(currency).unwrap_or(currency);
    format!("{} {currency}", major_units(minor, exponent))
}

/// `minor` as a decimal string in major units (`12345`, exponent 2: `123.45`).
fn major_units(minor: u64, exponent: Option<&str>) -> String {
    let exponent: u32 = exponent.and_then(|e| e.parse().ok()).unwrap_or(2).min(6);
    let unit = 10u64.pow(exponent);
    if exponent == 0 {
        minor.to_string()
    } else {
        format!(
            "{}.{:0width$}",
            minor / unit,
            minor % unit,
            width = exponent as usize
        )
    }
}

/// The ISO 4217 alphabetic code of the numeric codes the sandbox knows.
pub fn currency_alpha(numeric: &str) -> Option<&'static str> {
    Some(match numeric {
        "978" => "EUR",
        "840" => "USD",
        "826" => "GBP",
        "756" => "CHF",
        "392" => "JPY",
        "124" => "CAD",
        "036" => "AUD",
        "752" => "SEK",
        "578" => "NOK",
        "208" => "DKK",
        "985" => "PLN",
        "203" => "CZK",
        _ => return None,
    })
}

/// The amount as SPC shows it: major units and the alphabetic currency (`49.90`,
/// `EUR`), when both are known.
pub fn spc_amount(
    amount: Option<&str>,
    currency: Option<&str>,
    exponent: Option<&str>,
) -> Option<(String, &'static str)> {
    let minor = amount?.parse::<u64>().ok()?;
    Some((major_units(minor, exponent), currency_alpha(currency?)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_people_write_them() {
        assert_eq!(
            display_amount(Some("12345"), Some("978"), Some("2")),
            "123.45 EUR"
        );
        assert_eq!(
            display_amount(Some("500"), Some("392"), Some("0")),
            "500 JPY"
        );
        assert_eq!(display_amount(Some("5"), Some("999"), None), "0.05 999");
        assert_eq!(display_amount(None, Some("978"), None), "");
    }

    #[test]
    fn select_answers_name_the_right_labels() {
        assert_eq!(SINGLE_SELECT.answer(), "Corner Coffee House");
        assert_eq!(MULTI_SELECT.answer(), "Coffee + Books");
    }
}
