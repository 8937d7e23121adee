//! Secure Payment Confirmation (EMV 3DS 2.3.1, `docs/protocol.md` §8), the WebAuthn parts.
//!
//! General WebAuthn libraries refuse SPC assertions (their `clientDataJSON.type` is
//! `payment.get`, not `webauthn.get`) and cannot check the `payment` member against the
//! transaction, so this crate is a narrow verifier of our own:
//!
//! - [`verify`]: what the ACS checks. A registration (`navigator.credentials.create`
//!   with the `payment` extension) gives a [`Credential`] to store for the card; an
//!   assertion (the `PublicKeyCredential` the SPC dialog returns) is checked against
//!   that credential and against what the ACS [`Issued`] for the transaction. Every
//!   refusal is a precise [`Failure`].
//! - [`software`]: an authenticator in software that registers and answers SPC exactly
//!   as Chromium does (`clientDataJSON` with `payment`, 37-byte authenticator data, DER
//!   signature), so SPC flows run headless.
//!
//! Wire forms are the JSON a page builds from a `PublicKeyCredential`: `id`, `rawId`,
//! `type`, and `response` members, binary values base64url without padding.
//!
//! It must never accept an assertion it could not tie to what the ACS issued (the
//! challenge, the amount, the payee, the credential), never compare `clientDataJSON` as
//! text, and never do I/O: storage of credentials and challenges is the ACS's.

mod authenticator_data;
mod cose;
mod credential;
pub mod software;
pub mod verify;

pub use credential::{Algorithm, Credential};
pub use verify::{Assertion, Failure, Issued, RegistrationExpected, Verified};

use base64::Engine;

/// Base64url without padding, as WebAuthn JSON carries binary values.
pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Base64url, with or without padding (pages differ).
pub fn from_b64url(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
}

/// A fresh random challenge (32 bytes), base64url.
pub fn fresh_challenge() -> String {
    let mut bytes = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    b64url(&bytes)
}
