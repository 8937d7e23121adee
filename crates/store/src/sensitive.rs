//! The store's last line of defence: every value any repository writes goes through
//! [`check_write`] (from `Store::write`, the one way a repository writes), so a new
//! table cannot skip it.
//!
//! What is refused (documented in `crates/store/FORBIDDEN.md`, from PCI 3DS's data
//! matrix as far as public sources tell):
//! - card data in clear: a card-data member, or any value (or JSON string) of 13–19
//!   digits that passes the Luhn check (card numbers are kept as a keyed hash and an envelope-sealed copy,
//!   never as text);
//! - [`FORBIDDEN`] members anywhere in a JSON value: challenge answers and codes, key
//!   material, full device data;
//! - [`TEMPORARY`] members outside the tables that purge them after their retention
//!   period (`Store::purge_expired`).

use serde_json::Value;

use crate::StoreError;
use crate::writer::Arg;

/// Members that hold card data PCI 3DS does not let us keep in clear.
const CARD_DATA_MEMBERS: [&str; 3] = ["acctNumber", "cardSecurityCode", "cardExpiryDate"];

/// Members whose card-number-shaped values are not card numbers: the bounds of a card
/// range (the DS's PRes, the 3DS Server's cache).
const RANGE_BOUNDS: [&str; 2] = ["startRange", "endRange"];

/// Members never written, whatever the table, and why.
pub const FORBIDDEN: &[(&str, &str)] = &[
    ("otp", "a challenge code (keep its keyed digest)"),
    ("challengeDataEntry", "a cardholder's challenge answer"),
    ("challengeHTMLDataEntry", "a cardholder's challenge answer"),
    ("sessionKey", "app-channel session key material (seal it)"),
    ("privateKey", "private key material"),
    (
        "sdkEncData",
        "full device data (keep what risk scoring needs)",
    ),
    (
        "deviceInfo",
        "full device data (keep what risk scoring needs)",
    ),
];

/// Members kept for a while only, and the tables whose retention purge removes them.
pub const TEMPORARY: &[(&str, &[&str])] = &[(
    "authenticationValue",
    &["server_transactions", "acs_challenges"],
)];

/// Why the values of a write to `sql`'s table may not be stored, if they may not.
pub(crate) fn check_write(sql: &str, args: &[Arg]) -> Result<(), StoreError> {
    let table = table_of(sql);
    for arg in args {
        let (Arg::Text(text) | Arg::MaybeText(Some(text))) = arg else {
            continue;
        };
        let trimmed = text.trim_start();
        if (trimmed.starts_with('{') || trimmed.starts_with('['))
            && let Ok(value) = serde_json::from_str::<Value>(text)
        {
            check_value(table, &value)?;
            continue;
        }
        // Whole values only: digit runs inside hashes and ids (hex) would pass Luhn by
        // chance one time in ten.
        if looks_like_pan(text) {
            return Err(StoreError::CardData(format!("{table}: a card number")));
        }
    }
    Ok(())
}

/// Why `value`, about to be kept in `table`, may not be, if it may not.
pub fn check_value(table: &str, value: &Value) -> Result<(), StoreError> {
    if let Some(at) = find_card_data(value) {
        return Err(StoreError::CardData(format!("{table}.{at}")));
    }
    if let Some((at, why)) = find_member(value, &|name| {
        FORBIDDEN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, why)| (*why).to_owned())
            .or_else(|| {
                TEMPORARY
                    .iter()
                    .find(|(n, tables)| *n == name && !tables.contains(&table))
                    .map(|_| {
                        format!("kept only where a retention purge removes it ({table} has none)")
                    })
            })
    }) {
        return Err(StoreError::Forbidden(format!("{table}.{at}"), why));
    }
    Ok(())
}

/// The table an `INSERT INTO t`, `UPDATE t` or `DELETE FROM t` writes.
fn table_of(sql: &str) -> &str {
    let mut words = sql.split_whitespace();
    while let Some(word) = words.next() {
        let upper = word.to_ascii_uppercase();
        if upper == "INTO" || upper == "UPDATE" || upper == "FROM" {
            return words.next().map_or("?", |t| {
                t.trim_matches(|c: char| !c.is_alphanumeric() && c != '_')
            });
        }
    }
    "?"
}

/// The path of the first member `refuse` names a reason for, with the reason.
fn find_member(value: &Value, refuse: &dyn Fn(&str) -> Option<String>) -> Option<(String, String)> {
    fn walk(
        value: &Value,
        path: &mut String,
        refuse: &dyn Fn(&str) -> Option<String>,
    ) -> Option<(String, String)> {
        match value {
            Value::Object(members) => members.iter().find_map(|(name, v)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                let found = match refuse(name) {
                    Some(why) => Some((path.clone(), why)),
                    None => walk(v, path, refuse),
                };
                path.truncate(len);
                found
            }),
            Value::Array(items) => items.iter().find_map(|v| walk(v, path, refuse)),
            _ => None,
        }
    }
    walk(value, &mut String::new(), refuse)
}

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
                } else if RANGE_BOUNDS.contains(&name.as_str()) {
                    // Card range bounds are card-number shaped, and no card's.
                    None
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
        // A range bound that happens to pass Luhn is not a card.
        assert_eq!(
            find_card_data(&json!({"ranges": [{"startRange": "4000000000000002"}]})),
            None
        );
    }

    #[test]
    fn every_write_is_checked_for_forbidden_and_temporary_members() {
        let text = |v: serde_json::Value| vec![Arg::Text(v.to_string())];
        let insert = "INSERT INTO acs_method_runs (a) VALUES (?)";
        assert!(check_write(insert, &text(json!({"at": 1}))).is_ok());
        let refused = check_write(insert, &text(json!({"expected": {"otp": "123456"}})));
        assert!(
            matches!(&refused, Err(StoreError::Forbidden(at, _)) if at == "acs_method_runs.expected.otp"),
            "{refused:?}"
        );
        // Kept for a while in the tables that purge it, nowhere else.
        let av = json!({"authenticationValue": "AAAA"});
        assert!(
            check_write(
                "UPDATE server_transactions SET result = ?",
                &text(av.clone())
            )
            .is_ok()
        );
        assert!(matches!(
            check_write("INSERT INTO ds_transactions (x) VALUES (?)", &text(av)),
            Err(StoreError::Forbidden(..))
        ));
        // A card number as a value.
        assert!(matches!(
            check_write(insert, &[Arg::MaybeText(Some("4000000000000002".into()))]),
            Err(StoreError::CardData(_))
        ));
        // Sealed bytes are what is allowed.
        assert!(check_write(insert, &[Arg::Blob(b"4000000000000002".to_vec())]).is_ok());
        assert_eq!(table_of("DELETE FROM spc_offers WHERE x = ?"), "spc_offers");
    }
}
