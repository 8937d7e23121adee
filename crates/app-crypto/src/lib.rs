//! The app channel's cryptography (`docs/protocol.md` §6), shared by the mock SDK, the DS and
//! the ACS so each side of every token is the same code:
//!
//! - [`kdf`]: the Concat KDF (NIST SP 800-56A, one-step, SHA-256) in its general form
//!   (RFC 7518 §4.6) and in the 3DS form (empty AlgorithmID and PartyUInfo);
//! - [`keys`]: ephemeral P-256 keys, their JWK form, and ECDH;
//! - [`device_data`]: `sdkEncData`, the device information the SDK encrypts to the DS
//!   (`ECDH-ES` with the 3DS KDF, the `dir` + `epk` variant, or `RSA-OAEP-256`);
//! - [`signed_content`]: `acsSignedContent`, the JWS (ES256 or PS256, `x5c` chain under
//!   the DS root) that carries the ACS's ephemeral key and `acsURL` to the SDK;
//! - [`session`]: the session key both ends derive, and the CReq/CRes JWEs
//!   (`dir`, `A128CBC-HS256` or `A128GCM`).
//!
//! JOSE framing and content encryption are josekit's; ECDH is p256's; the 3DS key
//! derivations, which no stock JOSE library does, are ours. Pure functions of their
//! inputs (plus the OS random source): no I/O, no clock. Secret material is zeroised on
//! drop and never printed (`Debug` is redacted).

pub mod device_data;
pub mod kdf;
pub mod keys;
pub mod session;
pub mod signed_content;

mod jose;

/// Why a token could not be made or read. Each says which protocol error the side that
/// detects it answers with ([`CryptoError::error_code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Not a JWE/JWS at all, or a header that cannot be read.
    #[error("malformed {what}: {why}")]
    Malformed { what: &'static str, why: String },
    /// A JWE that does not decrypt (wrong key, altered data, wrong algorithm).
    #[error("{what} does not decrypt: {why}")]
    Decrypt { what: &'static str, why: String },
    /// A JWS whose signature, algorithm or certificate chain is not acceptable.
    #[error("{what} is not trusted: {why}")]
    Untrusted { what: &'static str, why: String },
    /// A key or certificate that cannot be used for this purpose.
    #[error("key: {0}")]
    Key(String),
}

impl CryptoError {
    /// The `errorCode` of the `Erro` a receiver answers with: 302 (data decryption
    /// failure) for a token that does not decrypt, 203 (format or value invalid) for a
    /// malformed one or a signature that does not verify.
    pub fn error_code(&self) -> &'static str {
        match self {
            CryptoError::Decrypt { .. } => "302",
            CryptoError::Malformed { .. } | CryptoError::Untrusted { .. } => "203",
            CryptoError::Key(_) => "403",
        }
    }
}

pub(crate) fn malformed(what: &'static str) -> impl Fn(&dyn std::fmt::Display) -> CryptoError {
    move |why| CryptoError::Malformed {
        what,
        why: why.to_string(),
    }
}

pub(crate) fn decrypt_error(what: &'static str) -> impl Fn(&dyn std::fmt::Display) -> CryptoError {
    move |why| CryptoError::Decrypt {
        what,
        why: why.to_string(),
    }
}
