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
                } else if let (true, Value::String(s)) = (SECRET_MEMBERS.contains(&name), &member) {
                    *member = Value::String(format!("[redacted: {} characters]", s.len()));
                } else if let (true, Value::String(s)) =
                    (CARD_NUMBER_MEMBERS.contains(&name), &mut *member)
                {
                    *s = mask_pan(s);
                } else {
                    // Not a string where one is expected: what it holds is redacted.
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

/// A JSON text redacted in one pass, with its top-level members at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    /// The text, as received but for the redacted strings (same layout, same order).
    pub text: String,
    /// Each top-level member of an object: its name and its value's raw text (for a
    /// string, what is between the quotes).
    pub top: Vec<(String, String)>,
}

impl Scanned {
    /// The raw text of top-level member `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.top
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What [`redact`] does to a parsed value, done on the text itself in one pass without
/// building a tree: what the trace runs on every body (parsing a 2.5 KB AReq into a
/// `Value` costs several times more). `None` when `json` is not well-formed JSON.
pub fn redact_text(json: &[u8]) -> Option<Scanned> {
    Scanner {
        bytes: json,
        at: 0,
        out: String::with_capacity(json.len()),
        top: Vec::new(),
    }
    .document()
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
    out: String,
    top: Vec<(String, String)>,
}

/// What a string value becomes, by the member it is the value of (if any).
/// `value` is the string unescaped: a sender may write `\u0034000…` for a card number, or
/// escape a member's name, and the redaction must see what a reader sees.
fn replacement(member: Option<&str>, value: &str) -> Option<String> {
    match member {
        Some(name) if SECRET_MEMBERS.contains(&name) => {
            Some(format!("[redacted: {} characters]", value.len()))
        }
        Some(name) if CARD_NUMBER_MEMBERS.contains(&name) => Some(mask_pan(value)),
        _ if emv3ds::values::is_card_number(value) => Some(mask_pan(value)),
        _ => None,
    }
}

/// A string's raw content (between the quotes, already checked) with its escapes
/// decoded.
fn unescape(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.contains('\\') {
        return std::borrow::Cow::Borrowed(raw);
    }
    // The scanner checked every escape, so this parses.
    std::borrow::Cow::Owned(serde_json::from_str(&format!("\"{raw}\"")).unwrap_or_default())
}

/// Levels of nesting the scanner follows: serde_json's own limit (127), so both accept
/// the same texts.
const MAX_DEPTH: usize = 127;

/// Four hex digits as a UTF-16 code unit.
fn hex4(digits: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(digits).ok()?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(text, 16).ok()
}

/// RFC 8259's `number`: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. Not
/// Rust's float syntax, which also takes `inf`, `+1` and `.5`.
fn is_json_number(text: &str) -> bool {
    fn digits(b: &[u8]) -> usize {
        b.iter().take_while(|b| b.is_ascii_digit()).count()
    }
    let b = text.as_bytes();
    let mut at = usize::from(b.first() == Some(&b'-'));
    match b.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => at += digits(&b[at..]),
        _ => return false,
    }
    if b.get(at) == Some(&b'.') {
        let n = digits(&b[at + 1..]);
        if n == 0 {
            return false;
        }
        at += 1 + n;
    }
    if matches!(b.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(b.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let n = digits(&b[at..]);
        if n == 0 {
            return false;
        }
        at += n;
    }
    at == b.len()
}

impl Scanner<'_> {
    fn document(mut self) -> Option<Scanned> {
        self.space();
        self.value(None, 0)?;
        self.space();
        if self.at != self.bytes.len() {
            return None;
        }
        Some(Scanned {
            text: self.out,
            top: self.top,
        })
    }

    /// Copies whitespace.
    fn space(&mut self) {
        while let Some(&b) = self.bytes.get(self.at) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.out.push(b as char);
            self.at += 1;
        }
    }

    /// The raw content of the string starting at `self.at` (a quote), consumed.
    fn string(&mut self) -> Option<&str> {
        let start = self.at + 1;
        let mut i = start;
        // A `\u` high surrogate waits for its low half.
        let mut high = false;
        loop {
            let b = *self.bytes.get(i)?;
            if high && b != b'\\' {
                return None;
            }
            match b {
                b'"' => break,
                b'\\' => match *self.bytes.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' if !high => i += 2,
                    b'u' => {
                        let unit = hex4(self.bytes.get(i + 2..i + 6)?)?;
                        match (high, unit) {
                            (false, 0xD800..=0xDBFF) => high = true,
                            (true, 0xDC00..=0xDFFF) => high = false,
                            (false, 0xDC00..=0xDFFF) | (true, _) => return None,
                            (false, _) => {}
                        }
                        i += 6;
                    }
                    _ => return None,
                },
                b if b < 0x20 => return None,
                _ => i += 1,
            }
        }
        self.at = i + 1;
        std::str::from_utf8(&self.bytes[start..i]).ok()
    }

    /// A value at `depth` (0: the document), the value of member `member` if any.
    fn value(&mut self, member: Option<&str>, depth: usize) -> Option<()> {
        let start = self.at;
        match *self.bytes.get(self.at)? {
            // The scanner recurses per level: without a bound, a body of 60,000 `[`
            // overflowed a server thread's stack and aborted the process.
            b'{' | b'[' if depth >= MAX_DEPTH => return None,
            b'{' => self.object(depth + 1)?,
            b'[' => self.array(depth + 1)?,
            b'"' => {
                let raw = self.string()?.to_owned();
                match replacement(member, &unescape(&raw)) {
                    // Escaped again: a masked value keeps characters of the original.
                    Some(text) => self.out.push_str(&Value::String(text).to_string()),
                    None => {
                        self.out.push('"');
                        self.out.push_str(&raw);
                        self.out.push('"');
                    }
                }
            }
            _ => {
                while let Some(&b) = self.bytes.get(self.at) {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.at += 1;
                }
                let literal = std::str::from_utf8(&self.bytes[start..self.at]).ok()?;
                // A number past f64's range is refused, as serde_json refuses it.
                let number =
                    || is_json_number(literal) && literal.parse::<f64>().is_ok_and(f64::is_finite);
                if !matches!(literal, "true" | "false" | "null") && !number() {
                    return None;
                }
                self.out.push_str(literal);
            }
        }
        Some(())
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        self.out.push('{');
        self.at += 1;
        self.space();
        if self.bytes.get(self.at) == Some(&b'}') {
            self.out.push('}');
            self.at += 1;
            return Some(());
        }
        loop {
            if self.bytes.get(self.at) != Some(&b'"') {
                return None;
            }
            let raw_name = self.string()?.to_owned();
            self.out.push('"');
            self.out.push_str(&raw_name);
            self.out.push('"');
            let name = unescape(&raw_name).into_owned();
            self.space();
            if self.bytes.get(self.at) != Some(&b':') {
                return None;
            }
            self.out.push(':');
            self.at += 1;
            self.space();
            let value_start = self.at;
            let out_start = self.out.len();
            self.value(Some(&name), depth)?;
            if REMOVED_MEMBERS.contains(&name.as_str()) {
                // Whatever its type: a CVV written as a number is still a CVV.
                self.out.truncate(out_start);
                self.out.push_str("\"[removed]\"");
            }
            if depth == 1 {
                let raw = match self.bytes.get(value_start) {
                    // The string as the redacted text shows it.
                    Some(b'"') => self.out[out_start + 1..self.out.len() - 1].to_owned(),
                    _ => self.out[out_start..].to_owned(),
                };
                self.top.push((name, raw));
            }
            if self.next_or_close(b'}')? {
                return Some(());
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        self.out.push('[');
        self.at += 1;
        self.space();
        if self.bytes.get(self.at) == Some(&b']') {
            self.out.push(']');
            self.at += 1;
            return Some(());
        }
        loop {
            self.value(None, depth)?;
            if self.next_or_close(b']')? {
                return Some(());
            }
        }
    }

    /// After a container's item: a comma (`false`: another item follows) or `close`
    /// (`true`: the container ends), copied.
    fn next_or_close(&mut self, close: u8) -> Option<bool> {
        self.space();
        let b = *self.bytes.get(self.at)?;
        if b != b',' && b != close {
            return None;
        }
        self.out.push(b as char);
        self.at += 1;
        if b == b',' {
            self.space();
        }
        Some(b == close)
    }
}

#[cfg(test)]
mod text_tests {
    use super::*;

    /// The scanner takes exactly the texts serde_json takes: nesting to the same depth,
    /// JSON's numbers (not Rust's), escapes and surrogate pairs.
    #[test]
    fn the_scanner_accepts_what_serde_json_accepts() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let cases = [
            nested(127),
            nested(128),
            nested(129),
            "[".repeat(60_000),
            r#"{"a":{"b":[1,{"c":2}]}}"#.to_owned(),
            "[0, -0, 1.5, -2e10, 3E+2, 4e-1, 1, 10]".into(),
            "[inf]".into(),
            "[NaN]".into(),
            "[+1]".into(),
            "[.5]".into(),
            "[1.]".into(),
            "[01]".into(),
            "[1e]".into(),
            "[-]".into(),
            r#"["\u00e9\n\t\"\\\/"]"#.into(),
            r#"["\q"]"#.into(),
            r#"["\u12"]"#.into(),
            r#"["\ud83d\ude00"]"#.into(),
            r#"["\ud83d"]"#.into(),
            r#"["\ude00"]"#.into(),
            r#"["\ud83d\u0041"]"#.into(),
            r#"["\ud83dx"]"#.into(),
            "[1e400]".into(),
            "[-1e400]".into(),
            "[0e400]".into(),
            "[1e-400]".into(),
        ];
        for case in &cases {
            let serde = serde_json::from_str::<Value>(case).is_ok();
            let ours = std::thread::scope(|s| {
                // A server thread's stack, not the test harness's larger one.
                std::thread::Builder::new()
                    .stack_size(2 << 20)
                    .spawn_scoped(s, || redact_text(case.as_bytes()).is_some())
                    .unwrap_or_else(|e| panic!("{e}"))
                    .join()
                    .unwrap_or_else(|_| panic!("scanner panicked"))
            });
            let shown: String = case.chars().take(60).collect();
            assert_eq!(ours, serde, "{} {shown}", case.len());
        }
    }

    /// Escapes and types do not hide card data: an escaped member name or card number
    /// is redacted as its reader sees it, and a removed member is removed whatever its
    /// type.
    #[test]
    fn escapes_and_types_do_not_hide_card_data() {
        let text = br#"{"acct\u004eumber":"4000000000001000","n":"\u0034000000000001000","cvv":123,"cardSecurityCode":{"a":1},"authenticationValue":"A\u0041","x":["ab\"cdefghijk"],"pan":"ab\"cdefghijk"}"#;
        let scanned = redact_text(text).unwrap_or_else(|| panic!("JSON"));
        let got: Value =
            serde_json::from_str(&scanned.text).unwrap_or_else(|e| panic!("{e}: {}", scanned.text));
        let mut tree: Value = serde_json::from_slice(text).unwrap_or_else(|e| panic!("{e}"));
        redact(&mut tree);
        assert_eq!(got, tree);
        assert_eq!(got["acctNumber"], "400000******1000");
        assert_eq!(got["n"], "400000******1000");
        assert_eq!(got["cvv"], "[removed]");
        assert_eq!(got["cardSecurityCode"], "[removed]");
        assert_eq!(got["authenticationValue"], "[redacted: 2 characters]");
        assert_eq!(got["pan"], "ab\"cde**hijk");
    }

    /// The one-pass redaction agrees with the tree one on every example message of the
    /// protocol core, and on card data put into them.
    #[test]
    fn redacting_the_text_agrees_with_redacting_the_tree() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../emv3ds/tests/data/valid");
        let mut checked = 0;
        for version in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{e}")) {
            let version = version.unwrap_or_else(|e| panic!("{e}")).path();
            for file in std::fs::read_dir(&version).unwrap_or_else(|e| panic!("{e}")) {
                let path = file.unwrap_or_else(|e| panic!("{e}")).path();
                let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
                let mut tree: Value =
                    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{e}"));
                if let Some(object) = tree.as_object_mut() {
                    object.insert(
                        "authenticationValue".into(),
                        "AJkBBkhgQQAAAE4gSEJydQAAAAA=".into(),
                    );
                    object.insert(
                        "extra".into(),
                        serde_json::json!([{"n": "4000000000001000"}, 1.5e3, null, true]),
                    );
                }
                let with_secrets = serde_json::to_vec_pretty(&tree).unwrap_or_default();
                let scanned =
                    redact_text(&with_secrets).unwrap_or_else(|| panic!("{}", path.display()));
                redact(&mut tree);
                let reparsed: Value =
                    serde_json::from_str(&scanned.text).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(reparsed, tree, "{}", path.display());
                assert!(!scanned.text.contains("4000000000001000"));
                if let Some(t) = tree.get("messageType").and_then(Value::as_str) {
                    assert_eq!(scanned.get("messageType"), Some(t));
                }
                checked += 1;
            }
        }
        assert!(checked >= 60, "{checked} examples");
    }

    #[test]
    fn malformed_json_is_refused() {
        for bad in [
            "{",
            "{\"a\":}",
            "[1,]",
            "{\"a\":1}x",
            "\"open",
            "{\"a\" 1}",
            "tru",
        ] {
            assert!(redact_text(bad.as_bytes()).is_none(), "{bad}");
        }
        let ok = redact_text(br#"{"a":"x\"y","acctNumber":"4000000000001000"}"#)
            .unwrap_or_else(|| panic!("ok"));
        assert_eq!(ok.text, r#"{"a":"x\"y","acctNumber":"400000******1000"}"#);
        assert_eq!(ok.get("a"), Some(r#"x\"y"#));
    }
}
