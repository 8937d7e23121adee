//! What the wire encodes and anyone can read without a key: base64url JSON (browser
//! forms, `deviceInfo`), the header and payload of a JWS (`acsSignedContent`), the
//! protected header of a JWE (`sdkEncData`, an app CReq), an SPC assertion's
//! `clientDataJSON`. Encrypted content is decrypted by the component holding the key,
//! which hands its plaintext to the tracer (`Annotation`).

use base64::Engine;
use serde_json::{Map, Value};

use crate::Decoded;

/// base64url (padding tolerated) → bytes.
pub fn base64url(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim().trim_end_matches('='))
        .ok()
}

/// base64url → JSON.
pub fn base64url_json(text: &str) -> Option<Value> {
    serde_json::from_slice(&base64url(text)?).ok()
}

/// The header (and, for a JWS, the payload) of a compact JOSE object.
pub fn jose(text: &str) -> Option<Value> {
    let parts: Vec<&str> = text.trim().split('.').collect();
    let header = base64url_json(parts.first()?)?;
    match parts.len() {
        3 => {
            let payload = parts
                .get(1)
                .and_then(|p| base64url_json(p))
                .unwrap_or(Value::Null);
            Some(serde_json::json!({"jws": {"header": header, "payload": payload}}))
        }
        5 => Some(
            serde_json::json!({"jwe": {"protectedHeader": header, "ciphertext": "(encrypted)"}}),
        ),
        _ => None,
    }
}

/// The `kid` of a compact JWE (an app CReq's is the `acsTransID`).
pub fn jwe_kid(text: &str) -> Option<String> {
    let header = base64url_json(text.trim().split('.').next()?)?;
    header.get("kid")?.as_str().map(str::to_owned)
}

/// Whether `text` looks like a compact JWE (five base64url parts).
pub fn is_jwe(text: &str) -> bool {
    let text = text.trim();
    text.starts_with("ey") && text.split('.').count() == 5
}

/// Decoded views of the encoded members of a protocol message (or of a form's fields),
/// given as (name, raw value) pairs — a string's raw value is what is between its
/// quotes, anything else its JSON text: `None` when nothing in it is encoded.
pub fn members<'a>(members: impl Iterator<Item = (&'a str, &'a str)>) -> Option<Decoded> {
    let mut views = Map::new();
    for (name, raw) in members {
        let view = match name {
            "creq" | "cres" | "threeDSMethodData" | "deviceInfo" => base64url_json(raw),
            "acsSignedContent" | "sdkEncData" => jose(raw),
            "threeDSRequestorAuthenticationInfo" => serde_json::from_str(raw)
                .ok()
                .and_then(|info: Value| spc_assertions(&info)),
            _ => None,
        };
        if let Some(view) = view {
            views.insert(name.to_owned(), view);
        }
    }
    (!views.is_empty()).then(|| Decoded {
        how: "decoded".into(),
        what: "encoded members (base64url, JOSE headers and payloads; no key used)".into(),
        value: Value::Object(views),
    })
}

/// SPC assertions carried as `threeDSReqAuthData`, with their `clientDataJSON` read.
fn spc_assertions(info: &Value) -> Option<Value> {
    let mut found = Vec::new();
    for entry in info.as_array()? {
        let Some(data) = entry.get("threeDSReqAuthData").and_then(Value::as_str) else {
            continue;
        };
        let Ok(mut assertion) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        expand_client_data(&mut assertion);
        found.push(assertion);
    }
    (!found.is_empty()).then_some(Value::Array(found))
}

fn expand_client_data(value: &mut Value) {
    match value {
        Value::Object(members) => {
            for (name, member) in members.iter_mut() {
                if name == "clientDataJSON"
                    && let Some(json) = member.as_str().and_then(base64url_json)
                {
                    *member = json;
                } else {
                    expand_client_data(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(expand_client_data),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(value: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn forms_device_info_jose_and_spc_assertions_are_read() {
        let creq = json!({"messageType": "CReq", "acsTransID": "a"});
        let header = json!({"alg": "ES256"});
        let payload = json!({"acsURL": "https://acs"});
        let jws = format!("{}.{}.sig", b64(&header), b64(&payload));
        let client_data = json!({"type": "payment.get"});
        let assertion = json!({"response": {"clientDataJSON": b64(&client_data)}});
        let body = json!({
            "creq": b64(&creq),
            "acsSignedContent": jws,
            "threeDSRequestorAuthenticationInfo": [{"threeDSReqAuthData": assertion.to_string()}],
            "other": "x",
        });
        let scanned = crate::redact::redact_text(body.to_string().as_bytes())
            .unwrap_or_else(|| panic!("scanned"));
        let pairs = scanned.top.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let decoded = members(pairs).unwrap_or_else(|| panic!("decoded"));
        assert_eq!(decoded.value["creq"], creq);
        assert_eq!(decoded.value["acsSignedContent"]["jws"]["payload"], payload);
        assert_eq!(
            decoded.value["threeDSRequestorAuthenticationInfo"][0]["response"]["clientDataJSON"],
            client_data
        );
        assert!(decoded.value.get("other").is_none());
        assert!(members([("a", "b")].into_iter()).is_none());
    }

    #[test]
    fn a_jwe_names_its_key() {
        let header = json!({"alg": "dir", "enc": "A128GCM", "kid": "acs-id"});
        let jwe = format!("{}..iv.ct.tag", b64(&header));
        assert!(is_jwe(&jwe));
        assert_eq!(jwe_kid(&jwe).as_deref(), Some("acs-id"));
        assert!(!is_jwe("{\"a\":1}"));
    }
}
