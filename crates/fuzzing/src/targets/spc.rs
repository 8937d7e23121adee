//! Secure Payment Confirmation as the ACS reads it: the assertion the SPC dialog
//! returns and the registration an enrolment page posts, down to the authenticator
//! data, the client data JSON, the CBOR attestation object and its COSE key.

use std::sync::OnceLock;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use spc::software::{PaymentRequest, SoftwareAuthenticator};
use spc::{Algorithm, Assertion, Credential, Issued, RegistrationExpected, b64url};

use crate::{split_mode, with_mode};

const RP_ID: &str = "acs.localhost";
const ORIGIN: &str = "https://acs.localhost:8443";
const TOP_ORIGIN: &str = "https://shop.localhost:8443";
const PAN: &str = "4000000000001000";

/// What the targets verify against: a transaction's issued request, the shipped test
/// credential of a card, and a credential whose key the target holds (to sign what the
/// fuzzer wrote).
struct Keys {
    issued: Issued,
    expected: RegistrationExpected,
    test_credential: Credential,
    own_key: p256::ecdsa::SigningKey,
    own_credential: Credential,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        use p256::pkcs8::EncodePublicKey;
        let own_key = p256::ecdsa::SigningKey::from_slice(&[0x33; 32]).expect("a scalar");
        let own_credential = Credential {
            id: b64url(b"fuzzing credential"),
            algorithm: Algorithm::Es256,
            public_key: own_key
                .verifying_key()
                .to_public_key_der()
                .expect("SPKI")
                .as_bytes()
                .to_vec(),
            sign_count: 0,
        };
        let test_credential = SoftwareAuthenticator::test_key(RP_ID, PAN).credential();
        let issued = Issued {
            rp_id: RP_ID.into(),
            challenge: b64url(&[7; 32]),
            credential_ids: vec![test_credential.id.clone(), own_credential.id.clone()],
            payee_name: Some("Sandbox Shop".into()),
            payee_origin: Some(TOP_ORIGIN.into()),
            display_name: "Card ending 1000".into(),
            icon: "data:image/png;base64,iVBORw0KGgo=".into(),
            value: "49.90".into(),
            currency: "EUR".into(),
            timeout_ms: 60_000,
            origins: vec![ORIGIN.into()],
            top_origins: vec![TOP_ORIGIN.into()],
            used: false,
        };
        let expected = RegistrationExpected {
            rp_id: RP_ID.into(),
            challenge: b64url(&[9; 32]),
            origin: ORIGIN.into(),
        };
        Keys {
            issued,
            expected,
            test_credential,
            own_key,
            own_credential,
        }
    })
}

/// Mode 0: an assertion (JSON text). 1: a registration (JSON text). 2: authenticator
/// data (length in the first byte) and client data JSON, signed with the target's own
/// key, so every check after the signature is reached. 3: an attestation object in an
/// otherwise valid registration of the test credential.
pub fn spc(data: &[u8]) {
    let keys = keys();
    let (mode, data) = split_mode(data, 4);
    match mode {
        0 => {
            let json = serde_json::from_slice::<Value>(data)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(data).into_owned()));
            if let Ok(assertion) = Assertion::parse(&json) {
                for credential in [&keys.test_credential, &keys.own_credential] {
                    let _ = assertion.verify(&keys.issued, credential);
                }
            }
        }
        1 => {
            if let Ok(json) = serde_json::from_slice::<Value>(data) {
                let _ = spc::verify::verify_registration(&json, &keys.expected);
            }
        }
        2 => {
            let (authenticator_data, client_data) = match data.split_first() {
                Some((&n, rest)) => rest.split_at(usize::from(n).min(rest.len())),
                None => (data, &[][..]),
            };
            let assertion = signed_assertion(authenticator_data, client_data);
            let assertion = Assertion::parse(&assertion).expect("a well-formed assertion");
            if let Ok(verified) = assertion.verify(&keys.issued, &keys.own_credential) {
                assert_eq!(verified.credential_id, keys.own_credential.id);
            }
        }
        _ => {
            let client_data = json!({
                "type": "webauthn.create",
                "challenge": keys.expected.challenge,
                "origin": ORIGIN,
            })
            .to_string();
            let registration = json!({
                "id": keys.test_credential.id,
                "rawId": keys.test_credential.id,
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data.as_bytes()),
                    "attestationObject": b64url(data),
                },
            });
            if let Ok(credential) = spc::verify::verify_registration(&registration, &keys.expected)
            {
                assert_eq!(credential.id, keys.test_credential.id);
            }
        }
    }
}

/// An assertion by the target's own credential over `authenticator_data` and
/// `client_data`.
fn signed_assertion(authenticator_data: &[u8], client_data: &[u8]) -> Value {
    use p256::ecdsa::signature::Signer;
    let keys = keys();
    let mut signed = authenticator_data.to_vec();
    signed.extend_from_slice(&Sha256::digest(client_data));
    let signature: p256::ecdsa::Signature = keys.own_key.sign(&signed);
    json!({
        "id": keys.own_credential.id,
        "rawId": keys.own_credential.id,
        "type": "public-key",
        "response": {
            "authenticatorData": b64url(authenticator_data),
            "clientDataJSON": b64url(client_data),
            "signature": b64url(signature.to_der().as_bytes()),
        },
    })
}

/// What the software authenticator (Chromium's behaviour) sends for the issued request
/// and for an enrolment, and their parts.
pub fn spc_seeds() -> Vec<Vec<u8>> {
    let keys = keys();
    let mut authenticator = SoftwareAuthenticator::test_key(RP_ID, PAN);
    let request = PaymentRequest::from_issued(&keys.issued, ORIGIN, TOP_ORIGIN);
    let mut seeds = Vec::new();
    if let Ok(assertion) = authenticator.confirm(&request) {
        seeds.push(with_mode(0, assertion.to_string().as_bytes()));
        let part = |name: &str| {
            assertion["response"][name]
                .as_str()
                .and_then(spc::from_b64url)
                .unwrap_or_default()
        };
        let (authenticator_data, client_data) = (part("authenticatorData"), part("clientDataJSON"));
        let mut signed = vec![u8::try_from(authenticator_data.len()).unwrap_or(u8::MAX)];
        signed.extend_from_slice(&authenticator_data);
        signed.extend_from_slice(&client_data);
        seeds.push(with_mode(2, &signed));
    }
    let registration = authenticator.register(&keys.expected.challenge, ORIGIN);
    seeds.push(with_mode(1, registration.to_string().as_bytes()));
    if let Some(object) = registration["response"]["attestationObject"]
        .as_str()
        .and_then(spc::from_b64url)
    {
        seeds.push(with_mode(3, &object));
    }
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds reach the end of each path: they verify.
    #[test]
    fn the_seeds_verify() {
        let keys = keys();
        let seeds = spc_seeds();
        assert_eq!(seeds.len(), 4);
        let json = |seed: &[u8]| serde_json::from_slice::<Value>(&seed[1..]).unwrap_or_default();
        let assertion = Assertion::parse(&json(&seeds[0])).unwrap_or_else(|e| panic!("{e}"));
        assertion
            .verify(&keys.issued, &keys.test_credential)
            .unwrap_or_else(|e| panic!("{e}"));
        let (n, rest) = seeds[1][1..]
            .split_first()
            .unwrap_or_else(|| panic!("empty"));
        let (authenticator_data, client_data) = rest.split_at(usize::from(*n));
        Assertion::parse(&signed_assertion(authenticator_data, client_data))
            .and_then(|a| a.verify(&keys.issued, &keys.own_credential))
            .unwrap_or_else(|e| panic!("{e}"));
        spc::verify::verify_registration(&json(&seeds[2]), &keys.expected)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
