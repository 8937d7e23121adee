//! Small pieces of JOSE plumbing the token modules share.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwe::JweAlgorithm;
use serde_json::{Map, Value};

use crate::CryptoError;

/// A JWE `alg` that josekit does not know under this meaning (the 3DS `ECDH-ES`, and
/// `dir` with an `epk`): the key management is ours, the framing josekit's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Alg(pub &'static str);

impl JweAlgorithm for Alg {
    fn name(&self) -> &str {
        self.0
    }
    fn box_clone(&self) -> Box<dyn JweAlgorithm> {
        Box::new(*self)
    }
}

/// The protected header of a compact JWE (5 parts) or JWS (3 parts), read before any
/// key is chosen.
pub(crate) fn compact_header(
    token: &str,
    parts: usize,
    what: &'static str,
) -> Result<Map<String, Value>, CryptoError> {
    let bad = crate::malformed(what);
    let count = token.split('.').count();
    if count != parts {
        return Err(bad(&format_args!(
            "a compact {} has {parts} parts separated by '.', this has {count}",
            if parts == 5 { "JWE" } else { "JWS" }
        )));
    }
    let head = token.split('.').next().unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(head)
        .map_err(|_| bad(&"the header is not base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(bad(&"the header is not a JSON object")),
    }
}

/// Checks a compact JWE's IV and tag lengths against its `enc` before josekit sees them:
/// with an IV shorter than the cipher's, OpenSSL's wrapper panics (a finding of the
/// `app_jwe` fuzz target), and a CReq JWE comes from anyone.
pub(crate) fn check_iv_and_tag(token: &str, enc: &str) -> Result<(), String> {
    let (iv, tag) = match enc {
        "A128CBC-HS256" => (16, 16),
        "A128GCM" => (12, 16),
        other => return Err(format!("enc {other:?} is not A128CBC-HS256 or A128GCM")),
    };
    let parts: Vec<&str> = token.split('.').collect();
    let length = |index: usize| {
        parts
            .get(index)
            .and_then(|part| URL_SAFE_NO_PAD.decode(part).ok())
            .map(|bytes| bytes.len())
    };
    match (length(2), length(4)) {
        (Some(found), _) if found != iv => Err(format!("the IV is {found} bytes; {enc} uses {iv}")),
        (_, Some(found)) if found != tag => Err(format!(
            "the authentication tag is {found} bytes; {enc} uses {tag}"
        )),
        (Some(_), Some(_)) => Ok(()),
        _ => Err("the IV or the tag is not base64url".into()),
    }
}

pub(crate) fn header_str<'a>(header: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    header.get(name).and_then(Value::as_str)
}
