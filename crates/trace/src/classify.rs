//! What an HTTP body is, for the trace: a protocol message (JSON with `messageType`), a
//! browser form carrying one (`creq`, `cres`, `threeDSMethodData`), an app CReq or CRes
//! (a compact JWE), or a requestor API call — and who is on the other side of it.
//! Anything else (pages, scripts, status polls) is not traced as a message.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::redact::{Scanned, redact_text};
use crate::{Decoded, Ids, Party, decode};

/// A traced body.
#[derive(Debug, Clone)]
pub struct Classified {
    pub label: String,
    pub message_type: Option<String>,
    pub message_version: Option<String>,
    pub ids: Ids,
    /// Redacted, as text.
    pub body: Box<RawValue>,
    /// The top-level members of the redacted body (name, raw value).
    pub top: Vec<(String, String)>,
    /// Redacted.
    pub decoded: Option<Decoded>,
    /// The body arrived as a browser form (so the browser carried it).
    pub form: bool,
    /// The body is an app-channel JWE (so the SDK sent or gets it).
    pub jwe: bool,
}

/// Where a body was seen.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub path: &'a str,
    pub content_type: Option<&'a str>,
    /// A request (else the answer to one).
    pub request: bool,
}

/// What `bytes` is, or `None` when it is not something the trace shows as a message.
pub fn classify(seen: Seen<'_>, bytes: &[u8]) -> Option<Classified> {
    let content_type = seen.content_type.unwrap_or("").to_ascii_lowercase();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return form(bytes);
    }
    if content_type.starts_with("text/html") {
        return None;
    }
    if content_type.starts_with("application/jose") || content_type.starts_with("text/plain") {
        let text = std::str::from_utf8(bytes).ok()?;
        if decode::is_jwe(text) {
            return Some(jwe(text, seen.request));
        }
        return None;
    }
    let scanned = redact_text(bytes)?;
    if !scanned.text.trim_start().starts_with('{') {
        return None;
    }
    let message_type = scanned.get("messageType").map(str::to_owned);
    let api = is_api(seen.path);
    if message_type.is_none() && !api {
        return None;
    }
    let label = match (&message_type, seen.request) {
        (Some(t), _) => t.clone(),
        (None, true) => format!("POST {}", seen.path),
        (None, false) => format!("answer to {}", seen.path),
    };
    Some(finish(label, message_type, scanned, false, false))
}

/// Whether `path` is the requestor API's (JSON calls that are not protocol messages).
pub fn is_api(path: &str) -> bool {
    path.starts_with("/v1/")
}

fn finish(
    label: String,
    message_type: Option<String>,
    scanned: Scanned,
    form: bool,
    jwe: bool,
) -> Classified {
    let Scanned { text, top } = scanned;
    let id = |name: &str| top.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut ids = Ids {
        three_ds_server_trans_id: id("threeDSServerTransID"),
        ds_trans_id: id("dsTransID"),
        acs_trans_id: id("acsTransID"),
        sdk_trans_id: id("sdkTransID"),
    };
    let mut decoded = decode::members(top.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if let Some(d) = &mut decoded {
        // A form's message carries the ids.
        for view in d.value.as_object().into_iter().flat_map(|m| m.values()) {
            ids.merge(&Ids::of(view));
        }
        crate::redact::redact(&mut d.value);
    }
    let message_version = id("messageVersion").or_else(|| {
        decoded.as_ref().and_then(|d| {
            d.value.as_object()?.values().find_map(|v| {
                v.get("messageVersion")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
        })
    });
    let body = RawValue::from_string(text)
        .unwrap_or_else(|_| RawValue::from_string("null".into()).unwrap_or_default());
    Classified {
        label,
        message_type,
        message_version,
        ids,
        body,
        top,
        decoded,
        form,
        jwe,
    }
}

/// `value` as a redacted scanned text (forms and JWEs, built here as values).
fn scanned(value: &Value) -> Option<Scanned> {
    redact_text(serde_json::to_string(value).ok()?.as_bytes())
}

fn form(bytes: &[u8]) -> Option<Classified> {
    let mut fields = Map::new();
    for (name, value) in form_pairs(bytes) {
        fields.insert(name, Value::String(value));
    }
    let (label, message_type) = if fields.contains_key("creq") {
        ("CReq", Some("CReq"))
    } else if fields.contains_key("cres") {
        ("CRes", Some("CRes"))
    } else if fields.contains_key("threeDSMethodData") {
        ("3DS Method", None)
    } else {
        return None;
    };
    Some(finish(
        label.into(),
        message_type.map(str::to_owned),
        scanned(&Value::Object(fields))?,
        true,
        false,
    ))
}

fn jwe(text: &str, request: bool) -> Classified {
    let message_type = if request { "CReq" } else { "CRes" };
    let body = scanned(&Value::String(text.trim().to_owned())).unwrap_or(Scanned {
        text: "null".into(),
        top: Vec::new(),
    });
    let mut classified = finish(
        message_type.into(),
        Some(message_type.into()),
        body,
        false,
        true,
    );
    classified.ids.acs_trans_id = decode::jwe_kid(text);
    classified.decoded = decode::jose(text).map(|value| Decoded {
        how: "decoded".into(),
        what: "JWE protected header (the plaintext is the ACS's to decrypt)".into(),
        value,
    });
    classified
}

/// `application/x-www-form-urlencoded` pairs, decoded.
fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The other side of a message `observer` sent or received, from what the message is.
/// `None` when the observer's role does not say (an API answer's sender is obvious to
/// the caller, who names it).
pub fn counterpart(observer: Party, classified: &Classified, sent: bool) -> Option<Party> {
    if classified.form {
        return Some(Party::Browser);
    }
    if classified.jwe {
        return Some(if observer == Party::Acs {
            Party::Sdk
        } else {
            Party::Acs
        });
    }
    by_role(observer, classified.message_type.as_deref(), sent)
}

/// Whom `sender` sends a message of type `message_type` to (`None`: a requestor API
/// call): what the trace names as the other side, and the hop a fault is set on.
pub fn receiver(sender: Party, message_type: Option<&str>) -> Option<Party> {
    by_role(sender, message_type, true)
}

/// The other side of a protocol message, from the observer's role and the type.
fn by_role(observer: Party, message_type: Option<&str>, sent: bool) -> Option<Party> {
    Some(match (observer, message_type) {
        (Party::ThreeDsServer, None) => Party::Merchant,
        (Party::ThreeDsServer, _) => Party::Ds,
        (Party::Merchant | Party::Browser, None) => Party::ThreeDsServer,
        (Party::Ds, Some("PReq" | "PRes")) => Party::ThreeDsServer,
        (Party::Ds, Some("AReq")) if sent => Party::Acs,
        (Party::Ds, Some("AReq")) => Party::ThreeDsServer,
        (Party::Ds, Some("ARes")) if sent => Party::ThreeDsServer,
        (Party::Ds, Some("ARes")) => Party::Acs,
        (Party::Ds, Some("RReq")) if sent => Party::ThreeDsServer,
        (Party::Ds, Some("RReq")) => Party::Acs,
        (Party::Ds, Some("RRes")) if sent => Party::Acs,
        (Party::Ds, Some("RRes")) => Party::ThreeDsServer,
        (Party::Acs, Some("CReq" | "CRes")) => Party::Sdk,
        (Party::Acs, _) => Party::Ds,
        (Party::Sdk, _) => Party::Acs,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen<'a>(path: &'a str, content_type: &'a str) -> Seen<'a> {
        Seen {
            path,
            content_type: Some(content_type),
            request: true,
        }
    }

    #[test]
    fn protocol_messages_forms_and_api_calls_are_told_apart() {
        let areq = br#"{"messageType":"AReq","messageVersion":"2.2.0","threeDSServerTransID":"t","acctNumber":"4000000000001000"}"#;
        let c = classify(seen("/", "application/json"), areq).unwrap_or_else(|| panic!("AReq"));
        assert_eq!(c.label, "AReq");
        assert_eq!(c.message_version.as_deref(), Some("2.2.0"));
        assert_eq!(c.ids.three_ds_server_trans_id.as_deref(), Some("t"));
        assert!(c.body.get().contains(r#""acctNumber":"400000******1000""#));

        // eyJtZXNzYWdlVHlwZSI6IkNSZXEiLCJhY3NUcmFuc0lEIjoiYSJ9 = {"messageType":"CReq","acsTransID":"a"}
        let form = b"creq=eyJtZXNzYWdlVHlwZSI6IkNSZXEiLCJhY3NUcmFuc0lEIjoiYSJ9&x=1";
        let c = classify(
            seen("/challenge", "application/x-www-form-urlencoded"),
            form,
        )
        .unwrap_or_else(|| panic!("form"));
        assert_eq!(c.label, "CReq");
        assert_eq!(c.ids.acs_trans_id.as_deref(), Some("a"));
        assert_eq!(counterpart(Party::Acs, &c, false), Some(Party::Browser));

        let api = classify(seen("/v1/auth", "application/json"), br#"{"amount":1}"#)
            .unwrap_or_else(|| panic!("api"));
        assert_eq!(api.label, "POST /v1/auth");
        assert_eq!(
            counterpart(Party::ThreeDsServer, &api, false),
            Some(Party::Merchant)
        );

        assert!(classify(seen("/status", "application/json"), br#"{"a":1}"#).is_none());
        assert!(classify(seen("/", "text/html"), b"<html>").is_none());
    }

    #[test]
    fn percent_decoding_handles_edges() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b c%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
