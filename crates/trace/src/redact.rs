//! What a trace may show. Card numbers are masked to their first six and last four
//! digits wherever they appear (a card-number member, or any string of 13 to 19 digits
//! that passes the Luhn check); the expiry date and security code are removed; the
//! authentication value (a cryptogram PCI 3DS treats as sensitive) is replaced by its
//! length. Every body and every decoded view goes through [`redact`] before it becomes
//! an event.

use serde_json::Value;

/// Members whose value is a card number whatever it looks like.
const CARD_NUMBER_MEMBERS: [&str; 3] = ["acctNumber", "pan", "cardNumber"];
/// Members removed outright.
const REMOVED_MEMBERS: [&str; 3] = ["cardExpiryDate", "cardSecurityCode", "cvv"];
/// Members shown only as their length.
const SECRET_MEMBERS: [&str; 1] = ["authenticationValue"];

/// `value` with card data masked and secrets removed, in place.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(members) => {
            for (name, member) in members.iter_mut() {
                let name = name.as_str();
                if REMOVED_MEMBERS.contains(&name) {
                    *member = Value::String("[removed]".into());
                } else if SECRET_MEMBERS.contains(&name) {
                    if let Value::String(s) = member {
                        *member = Value::String(format!("[redacted: {} characters]", s.len()));
                    }
                } else if CARD_NUMBER_MEMBERS.contains(&name) {
                    if let Value::String(s) = member {
                        *s = mask_pan(s);
                    }
                } else {
                    redact(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::String(s) if emv3ds::values::is_card_number(s) => *s = mask_pan(s),
        _ => {}
    }
}

/// A card number as a trace shows it: the first six and last four digits, the rest `*`
/// (numbers too short to keep ten digits keep only the last four).
pub fn mask_pan(pan: &str) -> String {
    let chars: Vec<char> = pan.chars().collect();
    let n = chars.len();
    if n <= 10 {
        return "*".repeat(n.saturating_sub(4))
            + &chars[n.saturating_sub(4)..].iter().collect::<String>();
    }
    let mut out: String = chars[..6].iter().collect();
    out.push_str(&"*".repeat(n - 10));
    out.extend(&chars[n - 4..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn card_numbers_are_masked_wherever_they_are_and_secrets_go() {
        let mut body = json!({
            "acctNumber": "4000000000001000",
            "cardExpiryDate": "2912",
            "authenticationValue": "AJkBBkhgQQAAAE4gSEJydQAAAAA=",
            "nested": [{"x": "5200000000001005"}, "not a pan", "4242424242424241"],
        });
        redact(&mut body);
        assert_eq!(body["acctNumber"], "400000******1000");
        assert_eq!(body["cardExpiryDate"], "[removed]");
        assert_eq!(body["authenticationValue"], "[redacted: 28 characters]");
        assert_eq!(body["nested"][0]["x"], "520000******1005");
        // Not a card number (Luhn fails): left alone.
        assert_eq!(body["nested"][2], "4242424242424241");
    }

    #[test]
    fn masks_keep_six_and_four() {
        assert_eq!(mask_pan("4000000000001000"), "400000******1000");
        assert_eq!(mask_pan("6011000000000000004"), "601100*********0004");
        assert_eq!(mask_pan("1234567890"), "******7890");
    }
}
