//! A credential as the issuer stores it for a card, and signature checks with its key.

use p256::pkcs8::DecodePublicKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The signature algorithms accepted (COSE identifiers in parentheses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256 (-7), DER signatures.
    #[serde(rename = "ES256")]
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (-257).
    #[serde(rename = "RS256")]
    Rs256,
}

impl Algorithm {
    pub fn cose(self) -> i64 {
        match self {
            Algorithm::Es256 => -7,
            Algorithm::Rs256 => -257,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Rs256 => "RS256",
        }
    }

    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "ES256" => Some(Algorithm::Es256),
            "RS256" => Some(Algorithm::Rs256),
            _ => None,
        }
    }
}

/// A registered credential: what the ACS keeps per card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    /// The credential id, base64url.
    pub id: String,
    pub algorithm: Algorithm,
    /// SubjectPublicKeyInfo, DER.
    pub public_key: Vec<u8>,
    /// The last signature counter seen.
    pub sign_count: u32,
}

impl Credential {
    /// Whether `signature` signs `authenticator_data ‖ SHA-256(client_data_json)`.
    pub(crate) fn signs(
        &self,
        authenticator_data: &[u8],
        client_data_json: &[u8],
        signature: &[u8],
    ) -> bool {
        let mut signed = Vec::with_capacity(authenticator_data.len() + 32);
        signed.extend_from_slice(authenticator_data);
        signed.extend_from_slice(&Sha256::digest(client_data_json));
        match self.algorithm {
            Algorithm::Es256 => {
                use p256::ecdsa::signature::Verifier;
                let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(&self.public_key)
                else {
                    return false;
                };
                let Ok(signature) = p256::ecdsa::Signature::from_der(signature) else {
                    return false;
                };
                key.verify(&signed, &signature).is_ok()
            }
            Algorithm::Rs256 => {
                use rsa::signature::Verifier;
                let Ok(key) = rsa::RsaPublicKey::from_public_key_der(&self.public_key) else {
                    return false;
                };
                let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature) else {
                    return false;
                };
                rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key)
                    .verify(&signed, &signature)
                    .is_ok()
            }
        }
    }
}
