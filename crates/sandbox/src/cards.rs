//! The shipped test cards: for each scheme, one card per outcome, and the card numbers
//! that are in no range (not enrolled).

use serde::Serialize;

/// A test card and what it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestCard {
    pub pan: String,
    pub scheme: String,
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
    pub description: String,
}

/// Completes `body` with its Luhn check digit.
pub fn luhn(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let d = d * 2;
                if d > 9 { d - 9 } else { d }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// `(scheme, directory server id, 10-digit prefix)`. Each scheme has two ranges:
/// `prefix 0xxxxx` (ACS 2.1.0–2.3.1) and `prefix 1xxxxx` (ACS 2.1.0–2.2.0).
pub(crate) const SCHEMES: &[(&str, &str, &str)] = &[
    ("alpha", "F000000001", "4000000000"),
    ("beta", "F000000002", "5200000000"),
];

/// Outcomes this version implements, with the card number suffix used for each.
const OUTCOMES: &[(&str, &str, &str)] = &[
    (
        "frictionless-Y",
        "00100",
        "authenticated without a challenge",
    ),
    (
        "frictionless-A",
        "00200",
        "attempts processing: no authentication, proof of attempt",
    ),
    ("frictionless-N", "00300", "not authenticated (reason 01)"),
    (
        "frictionless-R",
        "00400",
        "rejected: do not authorise (reason 11)",
    ),
    (
        "frictionless-U",
        "00500",
        "authentication unavailable (reason 22)",
    ),
];

/// Every shipped card.
pub fn cards() -> Vec<TestCard> {
    let mut out = Vec::new();
    for (scheme, _, prefix) in SCHEMES {
        for (outcome, suffix, description) in OUTCOMES {
            out.push(TestCard {
                pan: luhn(&format!("{prefix}{suffix}")),
                scheme: (*scheme).into(),
                outcome: (*outcome).into(),
                otp: None,
                description: (*description).into(),
            });
        }
        out.push(TestCard {
            pan: luhn(&format!("{prefix}10010")),
            scheme: (*scheme).into(),
            outcome: "frictionless-Y".into(),
            otp: None,
            description: "authenticated; its ACS speaks 2.1.0 and 2.2.0 only (version negotiation)"
                .into(),
        });
    }
    out.push(TestCard {
        pan: "4242424242424242".into(),
        scheme: "alpha".into(),
        outcome: "not-enrolled".into(),
        otp: None,
        description: "in no card range: preauth says not enrolled".into(),
    });
    out.push(TestCard {
        pan: "5555555555554444".into(),
        scheme: "beta".into(),
        outcome: "not-enrolled".into(),
        otp: None,
        description: "in no card range: preauth says not enrolled".into(),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_check_digits() {
        assert_eq!(luhn("424242424242424"), "4242424242424242");
        assert_eq!(luhn("555555555555444"), "5555555555554444");
    }

    #[test]
    fn every_card_is_unique_and_sixteen_digits() {
        let cards = cards();
        for c in &cards {
            assert_eq!(c.pan.len(), 16, "{c:?}");
        }
        let mut pans: Vec<&str> = cards.iter().map(|c| c.pan.as_str()).collect();
        pans.sort_unstable();
        pans.dedup();
        assert_eq!(pans.len(), cards.len());
    }
}
