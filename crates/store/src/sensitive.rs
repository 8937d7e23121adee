//! The store's last line of defence: JSON bodies kept as received are scanned for card
//! data before they are written.

use serde_json::Value;

/// Members that hold card data PCI 3DS does not let us keep in clear.
const CARD_DATA_MEMBERS: [&str; 3] = ["acctNumber", "cardSecurityCode", "cardExpiryDate"];

/// The path of the first card data in `value`: a card-data member, or any string of 13
/// to 19 digits that passes the Luhn check. `None` when there is none.
pub fn find_card_data(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &mut String) -> Option<String> {
        match value {
            Value::Object(members) => members.iter().find_map(|(name, v)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                let found = if CARD_DATA_MEMBERS.contains(&name.as_str()) {
                    Some(path.clone())
                } else {
                    walk(v, path)
                };
                path.truncate(len);
                found
            }),
            Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(v, path);
                path.truncate(len);
                found
            }),
            Value::String(s) if looks_like_pan(s) => Some(path.clone()),
            _ => None,
        }
    }
    walk(value, &mut String::new())
}

fn looks_like_pan(s: &str) -> bool {
    emv3ds::values::is_card_number(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_card_numbers_wherever_they_are() {
        assert_eq!(
            find_card_data(&json!({"acctNumber": "x"})).as_deref(),
            Some("acctNumber")
        );
        assert_eq!(
            find_card_data(&json!({"a": [{"b": "4000000000000002"}]})).as_deref(),
            Some("a[0].b")
        );
        // Not a PAN: fails Luhn, too short, not digits.
        assert_eq!(
            find_card_data(&json!({"a": "4000000000000001", "b": "123", "c": "40000000-0000"})),
            None
        );
        assert_eq!(
            find_card_data(&json!({"transStatus": "Y", "eci": "05"})),
            None
        );
    }
}
