//! A software authenticator that answers as Chromium does (seen in a real Chromium 156
//! SPC assertion, real-peers.md): `clientDataJSON` with `type` `payment.get` and the
//! `payment` member, 37-byte authenticator data with UP|UV and a growing counter, and a
//! DER ECDSA (or PKCS#1 v1.5) signature over `authenticatorData ‖
//! SHA-256(clientDataJSON)`. It lets SPC flows run without a browser.
//!
//! [`SoftwareAuthenticator::test_key`] is the one shipped for tests: its key is derived
//! from a published seed, so a sandbox can pre-enrol it for a card and anybody can
//! produce its assertions (`SoftwareAuthenticator::test_key("acs.localhost", pan)`).
//! It protects nothing.

use p256::pkcs8::EncodePublicKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::authenticator_data::{ATTESTED, USER_PRESENT, USER_VERIFIED};
use crate::credential::{Algorithm, Credential};
use crate::verify::Issued;
use crate::{b64url, cose, from_b64url};

/// The seed of the shipped test key (anyone may read it: it protects nothing).
pub const TEST_KEY_SEED: &str = "threeds sandbox SPC test authenticator, not a secret";

#[derive(Debug)]
enum Key {
    Es256(p256::ecdsa::SigningKey),
    Rs256(Box<rsa::RsaPrivateKey>),
}

/// What a page passes to `new PaymentRequest` for SPC, and where it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    pub rp_id: String,
    pub credential_ids: Vec<String>,
    /// base64url.
    pub challenge: String,
    pub payee_name: Option<String>,
    pub payee_origin: Option<String>,
    pub display_name: String,
    pub icon: String,
    pub value: String,
    pub currency: String,
    /// The origin of the frame calling SPC.
    pub origin: String,
    /// The top-level page's origin.
    pub top_origin: String,
}

impl PaymentRequest {
    /// The request a requestor page builds from an ARes `S` (`spcTransData`,
    /// `webAuthnCredList`), called from `origin` at top level.
    pub fn from_ares(ares: &Value, origin: &str) -> Option<PaymentRequest> {
        let data = ares.get("spcTransData")?;
        let text = |name: &str| data.get(name).and_then(Value::as_str).map(str::to_owned);
        let list = ares.get("webAuthnCredList")?.as_array()?;
        let rp_id = list.first()?.get("rpID")?.as_str()?.to_owned();
        let credential_ids = list
            .iter()
            .filter(|entry| entry.get("rpID").and_then(Value::as_str) == Some(rp_id.as_str()))
            .filter_map(|entry| entry.get("credentialIds")?.as_array())
            .flatten()
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect();
        Some(PaymentRequest {
            rp_id,
            credential_ids,
            challenge: text("challenge")?,
            payee_name: text("payeeName"),
            payee_origin: text("payeeOrigin"),
            display_name: text("displayName")?,
            icon: text("icon")?,
            value: text("value")?,
            currency: text("currency")?,
            origin: origin.to_owned(),
            top_origin: origin.to_owned(),
        })
    }

    /// The request an ACS page builds from what it issued, in a frame of `origin` under
    /// the page `top_origin`.
    pub fn from_issued(issued: &Issued, origin: &str, top_origin: &str) -> PaymentRequest {
        PaymentRequest {
            rp_id: issued.rp_id.clone(),
            credential_ids: issued.credential_ids.clone(),
            challenge: issued.challenge.clone(),
            payee_name: issued.payee_name.clone(),
            payee_origin: issued.payee_origin.clone(),
            display_name: issued.display_name.clone(),
            icon: issued.icon.clone(),
            value: issued.value.clone(),
            currency: issued.currency.clone(),
            origin: origin.to_owned(),
            top_origin: top_origin.to_owned(),
        }
    }
}

/// Why the authenticator gave no assertion (as the SPC API's `NotAllowedError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAllowed {
    #[error("none of the credentials offered is this authenticator's")]
    NoMatchingCredential,
    #[error("the relying party {0} is not the one this credential was registered for")]
    OtherRelyingParty(String),
}

/// One credential held in software.
#[derive(Debug)]
pub struct SoftwareAuthenticator {
    rp_id: String,
    id: Vec<u8>,
    key: Key,
    sign_count: u32,
    /// Flags to set (UP|UV normally; tests clear one to see it refused).
    pub flags: u8,
    /// Add a key Chromium sometimes adds to `clientDataJSON`.
    pub extra_client_data_key: bool,
}

impl SoftwareAuthenticator {
    /// A fresh ES256 credential for `rp_id`.
    pub fn es256(rp_id: &str) -> SoftwareAuthenticator {
        let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let mut id = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut id);
        SoftwareAuthenticator::with(rp_id, id.to_vec(), Key::Es256(key))
    }

    /// A fresh RS256 credential (a 2048-bit key: slow in debug builds).
    pub fn rs256(rp_id: &str) -> Result<SoftwareAuthenticator, rsa::Error> {
        let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)?;
        let mut id = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut id);
        Ok(SoftwareAuthenticator::with(
            rp_id,
            id.to_vec(),
            Key::Rs256(Box::new(key)),
        ))
    }

    /// The shipped test credential for the card `pan` at `rp_id`: ES256, the key
    /// derived from [`TEST_KEY_SEED`] and the relying party id, the credential id also
    /// from the card (a credential id belongs to one card).
    pub fn test_key(rp_id: &str, pan: &str) -> SoftwareAuthenticator {
        let mut counter = 0u8;
        let key = loop {
            let digest = Sha256::new()
                .chain_update(TEST_KEY_SEED)
                .chain_update(rp_id)
                .chain_update([counter])
                .finalize();
            if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&digest) {
                break key;
            }
            counter = counter.wrapping_add(1);
        };
        let id = Sha256::new()
            .chain_update(b"credential id of ")
            .chain_update(TEST_KEY_SEED)
            .chain_update(pan)
            .finalize()[..16]
            .to_vec();
        SoftwareAuthenticator::with(rp_id, id, Key::Es256(key))
    }

    fn with(rp_id: &str, id: Vec<u8>, key: Key) -> SoftwareAuthenticator {
        SoftwareAuthenticator {
            rp_id: rp_id.to_owned(),
            id,
            key,
            sign_count: 0,
            flags: USER_PRESENT | USER_VERIFIED,
            extra_client_data_key: false,
        }
    }

    /// The credential id, base64url.
    pub fn credential_id(&self) -> String {
        b64url(&self.id)
    }

    /// The credential as an issuer stores it after registration (for pre-enrolment).
    pub fn credential(&self) -> Credential {
        let (algorithm, public_key) = match &self.key {
            Key::Es256(key) => (
                Algorithm::Es256,
                key.verifying_key()
                    .to_public_key_der()
                    .map(|d| d.as_bytes().to_vec())
                    .unwrap_or_default(),
            ),
            Key::Rs256(key) => (
                Algorithm::Rs256,
                key.to_public_key()
                    .to_public_key_der()
                    .map(|d| d.as_bytes().to_vec())
                    .unwrap_or_default(),
            ),
        };
        Credential {
            id: self.credential_id(),
            algorithm,
            public_key,
            sign_count: self.sign_count,
        }
    }

    /// Sets the signature counter (to replay an old one in tests).
    pub fn set_sign_count(&mut self, count: u32) {
        self.sign_count = count;
    }

    fn authenticator_data(&mut self, attested: bool) -> Vec<u8> {
        self.sign_count = self.sign_count.wrapping_add(1);
        let mut data = Vec::with_capacity(200);
        data.extend_from_slice(&Sha256::digest(self.rp_id.as_bytes()));
        data.push(self.flags | if attested { ATTESTED } else { 0 });
        data.extend_from_slice(&self.sign_count.to_be_bytes());
        if attested {
            let credential = self.credential();
            data.extend_from_slice(&[0u8; 16]);
            data.extend_from_slice(&u16::try_from(self.id.len()).unwrap_or(0).to_be_bytes());
            data.extend_from_slice(&self.id);
            data.extend_from_slice(
                &cose::encode(credential.algorithm, &credential.public_key).unwrap_or_default(),
            );
        }
        data
    }

    fn sign(&self, authenticator_data: &[u8], client_data_json: &[u8]) -> Vec<u8> {
        let mut signed = authenticator_data.to_vec();
        signed.extend_from_slice(&Sha256::digest(client_data_json));
        match &self.key {
            Key::Es256(key) => {
                use p256::ecdsa::signature::Signer;
                let signature: p256::ecdsa::Signature = key.sign(&signed);
                signature.to_der().as_bytes().to_vec()
            }
            Key::Rs256(key) => {
                use rsa::signature::{SignatureEncoding, Signer};
                rsa::pkcs1v15::SigningKey::<Sha256>::new((**key).clone())
                    .sign(&signed)
                    .to_vec()
            }
        }
    }

    /// `navigator.credentials.create` with the `payment` extension, on a page of
    /// `origin`: the `PublicKeyCredential` JSON (attestation `none`).
    pub fn register(&mut self, challenge: &str, origin: &str) -> Value {
        let client_data = json!({
            "type": "webauthn.create",
            "challenge": challenge,
            "origin": origin,
            "crossOrigin": false,
        })
        .to_string();
        let auth_data = self.authenticator_data(true);
        let attestation = ciborium::Value::Map(vec![
            (
                ciborium::Value::Text("fmt".into()),
                ciborium::Value::Text("none".into()),
            ),
            (
                ciborium::Value::Text("attStmt".into()),
                ciborium::Value::Map(Vec::new()),
            ),
            (
                ciborium::Value::Text("authData".into()),
                ciborium::Value::Bytes(auth_data),
            ),
        ]);
        let mut object = Vec::new();
        // Writing CBOR to a Vec cannot fail.
        let _ = ciborium::into_writer(&attestation, &mut object);
        json!({
            "id": self.credential_id(),
            "rawId": self.credential_id(),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64url(client_data.as_bytes()),
                "attestationObject": b64url(&object),
                "transports": ["internal"],
            },
            "clientExtensionResults": { "payment": { "isPayment": true } },
        })
    }

    /// The SPC dialog, accepted: the assertion JSON as a page serialises it.
    pub fn confirm(&mut self, request: &PaymentRequest) -> Result<Value, NotAllowed> {
        if request.rp_id != self.rp_id {
            return Err(NotAllowed::OtherRelyingParty(request.rp_id.clone()));
        }
        let mine = self.credential_id();
        if !request
            .credential_ids
            .iter()
            .any(|id| from_b64url(id).as_deref() == Some(self.id.as_slice()))
        {
            return Err(NotAllowed::NoMatchingCredential);
        }
        let mut payment = json!({
            "rpId": request.rp_id,
            "topOrigin": request.top_origin,
        });
        if let Some(name) = &request.payee_name {
            payment["payeeName"] = json!(name);
        }
        if let Some(origin) = &request.payee_origin {
            payment["payeeOrigin"] = json!(origin);
        }
        payment["total"] = json!({ "value": request.value, "currency": request.currency });
        payment["instrument"] =
            json!({ "icon": request.icon, "displayName": request.display_name });
        let mut client = json!({
            "type": "payment.get",
            "challenge": request.challenge,
            "origin": request.origin,
            "crossOrigin": request.origin != request.top_origin,
            "payment": payment,
        });
        if self.extra_client_data_key {
            client["other_keys_can_be_added_here"] =
                json!("do not compare clientDataJSON against a template!");
        }
        let client_data = client.to_string();
        let auth_data = self.authenticator_data(false);
        let signature = self.sign(&auth_data, client_data.as_bytes());
        Ok(json!({
            "id": mine,
            "rawId": mine,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "authenticatorData": b64url(&auth_data),
                "clientDataJSON": b64url(client_data.as_bytes()),
                "signature": b64url(&signature),
                "userHandle": b64url(b"sandbox-cardholder"),
            },
            "clientExtensionResults": {},
        }))
    }
}
