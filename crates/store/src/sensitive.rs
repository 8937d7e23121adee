//! The store's last line of defence: every value any repository writes goes through
//! [`check_write`] (from `Store::write`, the one way a repository writes), so a new
//! table cannot skip it.
//!
//! What is refused (documented in `crates/store/FORBIDDEN.md`, from PCI 3DS's data
//! matrix as far as public sources tell):
//! - card data in clear: a card-data member, or any value (or JSON string) of 13–19
//!   digits that passes the Luhn check (card numbers are kept as a keyed hash and an
//!   envelope-sealed copy, never as text);
//! - [`FORBIDDEN`] members anywhere in a JSON value: challenge answers and codes, key
//!   material, full device data;
//! - [`TEMPORARY`] members outside the tables that purge them after their retention
//!   period ([`Store::purge_expired`], here too).

use serde_json::Value;

use crate::writer::Arg;
use crate::{Store, StoreError, now_ms};

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
        if let Arg::Text(text) | Arg::MaybeText(Some(text)) = arg {
            check_text(table, text)?;
        }
    }
    Ok(())
}

/// Why the text `text` may not be kept in `table`, if it may not: JSON is checked
/// member by member ([`check_value`]), other text as a whole.
pub(crate) fn check_text(table: &str, text: &str) -> Result<(), StoreError> {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(value) = serde_json::from_str::<Value>(text)
    {
        return check_value(table, &value);
    }
    // Whole values only: digit runs inside hashes and ids (hex) would pass Luhn by
    // chance one time in ten.
    if looks_like_pan(text) {
        return Err(StoreError::CardData(format!("{table}: a card number")));
    }
    Ok(())
}

/// Why `value`, about to be kept in `table`, may not be, if it may not.
pub fn check_value(table: &str, value: &Value) -> Result<(), StoreError> {
    match first_refused(value, Some(table)) {
        None => Ok(()),
        Some((at, Refusal::CardData)) => Err(StoreError::CardData(format!("{table}.{at}"))),
        Some((at, Refusal::Forbidden(why))) => {
            Err(StoreError::Forbidden(format!("{table}.{at}"), why))
        }
    }
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

/// Why something may not be kept.
enum Refusal {
    CardData,
    Forbidden(String),
}

/// What a member's name says about it.
enum Rule {
    Refuse(Refusal),
    /// Card-number shaped but no card's: not looked into.
    Skip,
    LookInside,
}

/// The rule for member `name` of a value `table` would keep (`None`: card data only).
fn rule(name: &str, table: Option<&str>) -> Rule {
    if CARD_DATA_MEMBERS.contains(&name) {
        return Rule::Refuse(Refusal::CardData);
    }
    if RANGE_BOUNDS.contains(&name) {
        return Rule::Skip;
    }
    let Some(table) = table else {
        return Rule::LookInside;
    };
    if let Some((_, why)) = FORBIDDEN.iter().find(|(n, _)| *n == name) {
        return Rule::Refuse(Refusal::Forbidden((*why).to_owned()));
    }
    if TEMPORARY
        .iter()
        .any(|(n, tables)| *n == name && !tables.contains(&table))
    {
        return Rule::Refuse(Refusal::Forbidden(format!(
            "kept only where a retention purge removes it ({table} has none)"
        )));
    }
    Rule::LookInside
}

/// The path of the first thing in `value` that `table` may not keep (`None`: card data
/// only), in one pass: a member [`rule`] refuses, or a string that is a card number.
fn first_refused(value: &Value, table: Option<&str>) -> Option<(String, Refusal)> {
    fn walk(value: &Value, path: &mut String, table: Option<&str>) -> Option<(String, Refusal)> {
        match value {
            Value::Object(members) => members.iter().find_map(|(name, v)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                let found = match rule(name, table) {
                    Rule::Refuse(why) => Some((path.clone(), why)),
                    Rule::Skip => None,
                    Rule::LookInside => walk(v, path, table),
                };
                path.truncate(len);
                found
            }),
            Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(v, path, table);
                path.truncate(len);
                found
            }),
            Value::String(s) if looks_like_pan(s) => Some((path.clone(), Refusal::CardData)),
            _ => None,
        }
    }
    walk(value, &mut String::new(), table)
}

/// The path of the first card data in `value`: a card-data member, or any string of 13
/// to 19 digits that passes the Luhn check (card range bounds excepted). `None` when
/// there is none.
pub fn find_card_data(value: &Value) -> Option<String> {
    first_refused(value, None).map(|(at, _)| at)
}

fn looks_like_pan(s: &str) -> bool {
    emv3ds::values::is_card_number(s)
}

impl Store {
    /// Removes what may be kept only for a while ([`TEMPORARY`]: the
    /// authentication value) from records last changed more than `retention` ago (by
    /// the clock that stamps `updated_at`): the 3DS Server's final results, and the
    /// ACS's challenges whose RReq was delivered. Returns the number of records changed.
    pub async fn purge_expired(&self, retention: std::time::Duration) -> Result<u64, StoreError> {
        let keep = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let before = now_ms().saturating_sub(keep);
        let results = self
            .write(
                self.dialect(
                    "UPDATE server_transactions \
                     SET result = json_remove(result, '$.authenticationValue') \
                     WHERE status = 'final' AND updated_at <= $1 \
                     AND json_extract(result, '$.authenticationValue') IS NOT NULL",
                    "UPDATE server_transactions \
                     SET result = (result::jsonb - 'authenticationValue')::text \
                     WHERE status = 'final' AND updated_at <= $1 \
                     AND result::jsonb -> 'authenticationValue' IS NOT NULL",
                ),
                vec![before.into()],
            )
            .await?;
        let challenges = self
            .write(
                self.dialect(
                    "UPDATE acs_challenges \
                     SET state = json_remove(state, '$.proofs.authenticationValue') \
                     WHERE due_at IS NULL AND updated_at <= $1 \
                     AND json_extract(state, '$.proofs.authenticationValue') IS NOT NULL",
                    "UPDATE acs_challenges \
                     SET state = (state::jsonb #- '{proofs,authenticationValue}')::text \
                     WHERE due_at IS NULL AND updated_at <= $1 \
                     AND state::jsonb #> '{proofs,authenticationValue}' IS NOT NULL",
                ),
                vec![before.into()],
            )
            .await?;
        Ok(results + challenges)
    }
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
        let insert = "INSERT INTO acs_method_runs (a) VALUES ($1)";
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
                "UPDATE server_transactions SET result = $1",
                &text(av.clone())
            )
            .is_ok()
        );
        assert!(matches!(
            check_write("INSERT INTO ds_transactions (x) VALUES ($1)", &text(av)),
            Err(StoreError::Forbidden(..))
        ));
        // A card number as a value.
        assert!(matches!(
            check_write(insert, &[Arg::MaybeText(Some("4000000000000002".into()))]),
            Err(StoreError::CardData(_))
        ));
        // Sealed bytes are what is allowed.
        assert!(check_write(insert, &[Arg::Blob(b"4000000000000002".to_vec())]).is_ok());
        assert_eq!(
            table_of("DELETE FROM spc_offers WHERE x = $1"),
            "spc_offers"
        );
    }
}
