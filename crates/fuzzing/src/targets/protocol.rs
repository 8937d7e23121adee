//! The protocol core's validator and the ACS's browser forms.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use emv3ds::{Context, Message, Role, Validator};

use crate::{files, repository, split_mode, with_mode};

/// Any bytes, any receiving role: the validator must not panic, and whatever it answers
/// must itself be well-formed — a message that validates again after serialisation, or
/// an `Erro` that a DS accepts as a valid `Erro`.
pub fn validate(data: &[u8]) {
    for role in Role::ALL {
        let validator = Validator::new(role);
        match validator.validate(data, &Context::default()) {
            Ok(valid) => {
                let again = validator
                    .validate(&valid.message.to_json(), &Context::default())
                    .expect("a valid message must validate again after serialisation");
                assert_eq!(again.message, valid.message);
            }
            Err(erro) => {
                let back = Validator::new(Role::DirectoryServer)
                    .validate(&erro.to_json(), &Context::default())
                    .expect("the Erro sent must itself be valid");
                assert!(matches!(back.message, Message::Erro(_)));
            }
        }
    }
}

/// Every example message of the protocol core, valid and invalid, all versions.
pub fn validate_seeds() -> Vec<Vec<u8>> {
    examples("")
}

/// The protocol core's example files whose name starts with `prefix`.
pub(crate) fn examples(prefix: &str) -> Vec<Vec<u8>> {
    files(&repository().join("crates/emv3ds/tests/data"), ".json")
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

/// Mode 0: a raw form body to both readers. 1: a CReq posted as the `creq` field. 2: a
/// 3DS Method's JSON posted as `threeDSMethodData`. 3: base64url both ways.
pub fn browser_forms(data: &[u8]) {
    let (mode, data) = split_mode(data, 4);
    match mode {
        0 => {
            read_creq(data);
            read_method(data);
        }
        1 => read_creq(
            format!(
                "creq={}&threeDSSessionData={}",
                URL_SAFE_NO_PAD.encode(data),
                URL_SAFE_NO_PAD.encode(b"session")
            )
            .as_bytes(),
        ),
        2 => read_method(format!("threeDSMethodData={}", URL_SAFE_NO_PAD.encode(data)).as_bytes()),
        _ => {
            let text = String::from_utf8_lossy(data);
            if let Some(bytes) = transport::html::base64url_decode(&text) {
                let again = transport::html::base64url_decode(&URL_SAFE_NO_PAD.encode(&bytes));
                assert_eq!(again.as_deref(), Some(bytes.as_slice()));
            }
            // Padded or not, what a sender writes reads back.
            let padded = base64::engine::general_purpose::URL_SAFE.encode(data);
            assert_eq!(
                transport::html::base64url_decode(&padded).as_deref(),
                Some(data)
            );
        }
    }
}

fn read_creq(body: &[u8]) {
    if let Ok(form) = acs::read_creq_form(body) {
        assert!(
            matches!(form.message, Message::CReq(_)),
            "{:?}",
            form.message
        );
    }
}

fn read_method(body: &[u8]) {
    if let Ok(method) = acs::read_method_form(body) {
        // The page posts to it: only ever a web URL, whatever the parser thought (a
        // browser reads `https:/host` as `https://host/`, as the url crate does).
        let url = method.notification_url.to_ascii_lowercase();
        assert!(
            url.starts_with("https:") || url.starts_with("http:"),
            "{url}"
        );
    }
}

/// Browser CReqs as forms and as JSON, 3DS Method data, base64url text.
pub fn browser_forms_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for creq in examples("CReq-browser") {
        seeds.push(with_mode(
            0,
            format!(
                "creq={}&threeDSSessionData={}",
                URL_SAFE_NO_PAD.encode(&creq),
                URL_SAFE_NO_PAD.encode(b"abc")
            )
            .as_bytes(),
        ));
        seeds.push(with_mode(1, &creq));
    }
    let method = br#"{"threeDSServerTransID":"8a880dc0-d2d2-4067-bcb1-b08d1690b26e","threeDSMethodNotificationURL":"https://merchant.localhost:8443/method-done"}"#;
    seeds.push(with_mode(
        0,
        format!("threeDSMethodData={}", URL_SAFE_NO_PAD.encode(method)).as_bytes(),
    ));
    seeds.push(with_mode(2, method));
    seeds.push(with_mode(3, URL_SAFE_NO_PAD.encode(method).as_bytes()));
    seeds
}
