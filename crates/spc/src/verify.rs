//! What the ACS checks (`docs/protocol.md` §8.4 and its Decisions row).
//!
//! An assertion is parsed first ([`Assertion::parse`]), so the caller can look its
//! credential up for the card; [`Assertion::verify`] then checks, in this order: the
//! credential is one the ACS offered, the signature over `authenticatorData ‖
//! SHA-256(clientDataJSON)`, `rpIdHash`, the UP and UV flags, `clientDataJSON` (`type`
//! `payment.get`, the single-use `challenge`, `origin`, and the `payment` member's
//! `rpId`, `topOrigin`, `total`, `instrument`, payee) and the signature counter.
//! `clientDataJSON` is parsed, never compared to a template: browsers add keys.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::authenticator_data::{self, AuthenticatorData};
use crate::credential::Credential;
use crate::{cose, from_b64url};

/// Why an assertion or a registration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("{field} is malformed: {why}")]
    Malformed { field: &'static str, why: String },
    #[error("the credential is not one registered for this card")]
    UnknownCredential,
    #[error("the signature does not verify with the credential's key")]
    BadSignature,
    #[error("rpIdHash is not SHA-256 of the relying party id {0}")]
    WrongRpIdHash(String),
    #[error("the authenticator did not report user presence (UP flag)")]
    UserNotPresent,
    #[error("the authenticator did not report user verification (UV flag)")]
    UserNotVerified,
    #[error("clientDataJSON.type is {found:?}, not {expected:?}")]
    WrongType {
        found: String,
        expected: &'static str,
    },
    #[error("clientDataJSON.challenge is not the challenge issued for this transaction")]
    WrongChallenge,
    #[error("the challenge issued for this transaction has already been used")]
    ChallengeAlreadyUsed,
    #[error("clientDataJSON.origin {0:?} is not an origin this confirmation was issued for")]
    WrongOrigin(String),
    #[error("clientDataJSON has no payment member")]
    PaymentMissing,
    #[error("payment.rpId {0:?} is not the relying party id issued")]
    WrongRpId(String),
    #[error("payment.topOrigin {0:?} is not the page this confirmation was issued for")]
    WrongTopOrigin(String),
    #[error("payment.total {found} differs from the amount issued, {issued}")]
    AmountChanged { found: String, issued: String },
    #[error("payment.instrument differs from the instrument issued")]
    InstrumentChanged,
    #[error("the payee ({found}) differs from the payee issued ({issued})")]
    PayeeChanged { found: String, issued: String },
    #[error("the signature counter went from {stored} back to {found}")]
    SignCountWentBack { stored: u32, found: u32 },
    #[error("the attested credential id differs from rawId")]
    CredentialIdMismatch,
}

impl Failure {
    /// A short stable name for records and traces (e.g. `bad-signature`).
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Malformed { .. } => "malformed",
            Failure::UnknownCredential => "unknown-credential",
            Failure::BadSignature => "bad-signature",
            Failure::WrongRpIdHash(_) => "wrong-rp-id-hash",
            Failure::UserNotPresent => "user-not-present",
            Failure::UserNotVerified => "user-not-verified",
            Failure::WrongType { .. } => "wrong-type",
            Failure::WrongChallenge => "wrong-challenge",
            Failure::ChallengeAlreadyUsed => "challenge-already-used",
            Failure::WrongOrigin(_) => "wrong-origin",
            Failure::PaymentMissing => "payment-missing",
            Failure::WrongRpId(_) => "wrong-rp-id",
            Failure::WrongTopOrigin(_) => "wrong-top-origin",
            Failure::AmountChanged { .. } => "amount-changed",
            Failure::InstrumentChanged => "instrument-changed",
            Failure::PayeeChanged { .. } => "payee-changed",
            Failure::SignCountWentBack { .. } => "sign-count-went-back",
            Failure::CredentialIdMismatch => "credential-id-mismatch",
        }
    }
}

/// What the ACS issued for one confirmation (`spcTransData` and `webAuthnCredList`, or
/// the ACS-initiated page's request), which an assertion must match. Kept with the
/// transaction until it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issued {
    pub rp_id: String,
    /// The single-use challenge, base64url.
    pub challenge: String,
    /// The card's credentials offered, base64url.
    pub credential_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee_origin: Option<String>,
    pub display_name: String,
    pub icon: String,
    /// The amount in major units, e.g. `49.90`.
    pub value: String,
    /// ISO 4217 alphabetic.
    pub currency: String,
    /// Milliseconds the dialog may stay open.
    pub timeout_ms: u64,
    /// The origins that may call SPC (`clientDataJSON.origin`).
    pub origins: Vec<String>,
    /// The top-level pages it may be called under (`payment.topOrigin`).
    pub top_origins: Vec<String>,
    /// Set once an assertion has been checked against it.
    #[serde(default)]
    pub used: bool,
}

/// A verified assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub credential_id: String,
    /// The counter to store for the credential.
    pub sign_count: u32,
}

/// A parsed SPC assertion (the `PublicKeyCredential` JSON).
#[derive(Debug, Clone)]
pub struct Assertion {
    /// `rawId`, base64url (as the credential is stored).
    pub credential_id: String,
    authenticator_data: Vec<u8>,
    client_data_json: Vec<u8>,
    signature: Vec<u8>,
}

fn member<'a>(json: &'a Value, path: &[&'static str]) -> Result<&'a str, Failure> {
    let mut at = json;
    for name in path {
        at = at.get(name).ok_or_else(|| Failure::Malformed {
            field: path[path.len() - 1],
            why: "missing".into(),
        })?;
    }
    at.as_str().ok_or_else(|| Failure::Malformed {
        field: path[path.len() - 1],
        why: "not a string".into(),
    })
}

fn binary(json: &Value, path: &[&'static str]) -> Result<Vec<u8>, Failure> {
    from_b64url(member(json, path)?).ok_or_else(|| Failure::Malformed {
        field: path[path.len() - 1],
        why: "not base64url".into(),
    })
}

/// The credential id: `rawId`, or `id` when a page sent no `rawId` (they are equal).
fn raw_id(json: &Value) -> Result<Vec<u8>, Failure> {
    binary(json, &["rawId"]).or_else(|_| binary(json, &["id"]))
}

impl Assertion {
    /// The assertion in `json` (an object, or a JSON string holding one).
    pub fn parse(json: &Value) -> Result<Assertion, Failure> {
        let owned;
        let json = match json {
            Value::String(text) => {
                owned = serde_json::from_str::<Value>(text).map_err(|e| Failure::Malformed {
                    field: "assertion",
                    why: format!("not JSON: {e}"),
                })?;
                &owned
            }
            other => other,
        };
        Ok(Assertion {
            credential_id: crate::b64url(&raw_id(json)?),
            authenticator_data: binary(json, &["response", "authenticatorData"])?,
            client_data_json: binary(json, &["response", "clientDataJSON"])?,
            signature: binary(json, &["response", "signature"])?,
        })
    }

    /// Checks the assertion against `credential` (the stored one with this id, for this
    /// card) and what was `issued`.
    pub fn verify(&self, issued: &Issued, credential: &Credential) -> Result<Verified, Failure> {
        if credential.id != self.credential_id || !issued.credential_ids.contains(&credential.id) {
            return Err(Failure::UnknownCredential);
        }
        if !credential.signs(
            &self.authenticator_data,
            &self.client_data_json,
            &self.signature,
        ) {
            return Err(Failure::BadSignature);
        }
        let data = AuthenticatorData::parse(&self.authenticator_data)?;
        check_flags(&data, &issued.rp_id)?;
        let client: Value =
            serde_json::from_slice(&self.client_data_json).map_err(|e| Failure::Malformed {
                field: "clientDataJSON",
                why: format!("not JSON: {e}"),
            })?;
        check_type(&client, "payment.get")?;
        if from_b64url(member(&client, &["challenge"])?) != from_b64url(&issued.challenge) {
            return Err(Failure::WrongChallenge);
        }
        if issued.used {
            return Err(Failure::ChallengeAlreadyUsed);
        }
        let origin = member(&client, &["origin"])?;
        if !issued.origins.iter().any(|o| o == origin) {
            return Err(Failure::WrongOrigin(origin.to_owned()));
        }
        check_payment(
            client.get("payment").ok_or(Failure::PaymentMissing)?,
            issued,
        )?;
        if (credential.sign_count != 0 || data.sign_count != 0)
            && data.sign_count <= credential.sign_count
        {
            return Err(Failure::SignCountWentBack {
                stored: credential.sign_count,
                found: data.sign_count,
            });
        }
        Ok(Verified {
            credential_id: credential.id.clone(),
            sign_count: data.sign_count,
        })
    }
}

fn check_flags(data: &AuthenticatorData<'_>, rp_id: &str) -> Result<(), Failure> {
    if data.rp_id_hash != Sha256::digest(rp_id.as_bytes()).as_slice() {
        return Err(Failure::WrongRpIdHash(rp_id.to_owned()));
    }
    if data.flags & authenticator_data::USER_PRESENT == 0 {
        return Err(Failure::UserNotPresent);
    }
    // SPC always asks for user verification.
    if data.flags & authenticator_data::USER_VERIFIED == 0 {
        return Err(Failure::UserNotVerified);
    }
    Ok(())
}

fn check_type(client: &Value, expected: &'static str) -> Result<(), Failure> {
    let found = member(client, &["type"])?;
    if found != expected {
        return Err(Failure::WrongType {
            found: found.to_owned(),
            expected,
        });
    }
    Ok(())
}

fn check_payment(payment: &Value, issued: &Issued) -> Result<(), Failure> {
    let text = |path: &[&'static str]| member(payment, path).map(str::to_owned);
    let rp_id = text(&["rpId"])?;
    if rp_id != issued.rp_id {
        return Err(Failure::WrongRpId(rp_id));
    }
    let top = text(&["topOrigin"])?;
    if !issued.top_origins.contains(&top) {
        return Err(Failure::WrongTopOrigin(top));
    }
    let (value, currency) = (text(&["total", "value"])?, text(&["total", "currency"])?);
    if value != issued.value || currency != issued.currency {
        return Err(Failure::AmountChanged {
            found: format!("{value} {currency}"),
            issued: format!("{} {}", issued.value, issued.currency),
        });
    }
    if text(&["instrument", "displayName"])? != issued.display_name
        || text(&["instrument", "icon"])? != issued.icon
    {
        return Err(Failure::InstrumentChanged);
    }
    let optional = |name: &'static str| payment.get(name).and_then(Value::as_str);
    let (name, origin) = (optional("payeeName"), optional("payeeOrigin"));
    if name != issued.payee_name.as_deref() || origin != issued.payee_origin.as_deref() {
        let show = |n: Option<&str>, o: Option<&str>| {
            format!(
                "{} {}",
                n.unwrap_or("(no name)"),
                o.unwrap_or("(no origin)")
            )
        };
        return Err(Failure::PayeeChanged {
            found: show(name, origin),
            issued: show(issued.payee_name.as_deref(), issued.payee_origin.as_deref()),
        });
    }
    Ok(())
}

/// What a registration must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationExpected {
    pub rp_id: String,
    /// The registration challenge, base64url.
    pub challenge: String,
    /// The ACS page's origin.
    pub origin: String,
}

/// Checks a registration (the `PublicKeyCredential` JSON of
/// `navigator.credentials.create`, with `response.attestationObject` and
/// `response.clientDataJSON`) and returns the credential to store. The attestation
/// statement is not checked: the sandbox asks for `attestation: "none"`. Whether the
/// browser applied the `payment` extension cannot be seen here; SPC refuses credentials
/// registered without it.
pub fn verify_registration(
    json: &Value,
    expected: &RegistrationExpected,
) -> Result<Credential, Failure> {
    let raw_id = raw_id(json)?;
    let client_data = binary(json, &["response", "clientDataJSON"])?;
    let client: Value = serde_json::from_slice(&client_data).map_err(|e| Failure::Malformed {
        field: "clientDataJSON",
        why: format!("not JSON: {e}"),
    })?;
    check_type(&client, "webauthn.create")?;
    if from_b64url(member(&client, &["challenge"])?) != from_b64url(&expected.challenge) {
        return Err(Failure::WrongChallenge);
    }
    let origin = member(&client, &["origin"])?;
    if origin != expected.origin {
        return Err(Failure::WrongOrigin(origin.to_owned()));
    }
    let attestation = binary(json, &["response", "attestationObject"])?;
    let object: ciborium::Value =
        ciborium::from_reader(attestation.as_slice()).map_err(|e| Failure::Malformed {
            field: "attestationObject",
            why: format!("not CBOR: {e}"),
        })?;
    let auth_data = object
        .as_map()
        .and_then(|m| {
            m.iter()
                .find(|(k, _)| k.as_text() == Some("authData"))
                .and_then(|(_, v)| v.as_bytes())
        })
        .ok_or_else(|| Failure::Malformed {
            field: "attestationObject",
            why: "no authData".into(),
        })?;
    let data = AuthenticatorData::parse(auth_data)?;
    check_flags(&data, &expected.rp_id)?;
    let Some((id, key)) = data.attested else {
        return Err(Failure::Malformed {
            field: "authenticatorData",
            why: "no attested credential data (AT flag)".into(),
        });
    };
    if id != raw_id.as_slice() {
        return Err(Failure::CredentialIdMismatch);
    }
    let (algorithm, public_key) = cose::decode(key)?;
    Ok(Credential {
        id: crate::b64url(id),
        algorithm,
        public_key,
        sign_count: data.sign_count,
    })
}
