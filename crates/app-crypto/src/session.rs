//! The SDK–ACS session (`docs/protocol.md` §6.3, §6.4): one 32-byte key both ends derive, and
//! the CReq/CRes JWEs made with it.
//!
//! - key: ECDH between the two ephemeral keys, then the 3DS Concat KDF with PartyVInfo
//!   = the `sdkReferenceNumber`;
//! - JWE: `alg: dir`, `kid` = the `acsTransID`, `enc` A128CBC-HS256 (the whole key) or
//!   A128GCM (bytes 0–15 from the SDK to the ACS, 16–31 back); random IVs, and an IV
//!   is read from the token, never assumed;
//! - the ACS answers with the `enc` of the CReq it answers.
//!
//! Counters (`sdkCounterStoA`, `acsCounterAtoS`) are protocol, not crypto: the SDK and
//! the ACS check them on the decrypted message.

use josekit::jwe::{self, JweHeader};
use p256::PublicKey;
use zeroize::Zeroizing;

use crate::jose::{compact_header, header_str};
use crate::keys::EphemeralKey;
use crate::{CryptoError, decrypt_error, kdf};

/// Which way a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// CReq (and the SDK's `Erro`).
    SdkToAcs,
    /// CRes (and the ACS's `Erro`, when encrypted).
    AcsToSdk,
}

/// The content encryption of a CReq/CRes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Enc {
    A128CbcHs256,
    A128Gcm,
}

impl Enc {
    pub const ALL: [Enc; 2] = [Enc::A128CbcHs256, Enc::A128Gcm];

    pub fn name(self) -> &'static str {
        match self {
            Enc::A128CbcHs256 => "A128CBC-HS256",
            Enc::A128Gcm => "A128GCM",
        }
    }

    pub fn from_name(name: &str) -> Option<Enc> {
        Enc::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// A decrypted message with what its header said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub enc: Enc,
    /// The header's `kid` (the `acsTransID` by convention).
    pub kid: Option<String>,
    pub plaintext: Vec<u8>,
}

/// The 32-byte session key. Zeroised on drop; never printed.
#[derive(Clone)]
pub struct SessionKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

const WHAT: &str = "the CReq/CRes JWE";

impl SessionKey {
    /// Derives the key from our ephemeral key and the other side's public key.
    pub fn derive(own: &EphemeralKey, peer: &PublicKey, sdk_reference_number: &str) -> SessionKey {
        let z = own.agree(peer);
        SessionKey(kdf::three_ds_kdf(
            z.as_slice(),
            sdk_reference_number.as_bytes(),
        ))
    }

    /// A key kept elsewhere (sealed in the ACS's store between messages).
    pub fn from_bytes(bytes: &[u8]) -> Result<SessionKey, CryptoError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::Key("a session key has 32 bytes".into()))?;
        Ok(SessionKey(Zeroizing::new(array)))
    }

    /// The key bytes, to seal them for storage. Handle with care.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    fn key_for(&self, direction: Direction, enc: Enc) -> &[u8] {
        match (enc, direction) {
            (Enc::A128CbcHs256, _) => &self.0[..],
            (Enc::A128Gcm, Direction::SdkToAcs) => &self.0[..16],
            (Enc::A128Gcm, Direction::AcsToSdk) => &self.0[16..],
        }
    }

    /// Encrypts one message.
    pub fn seal(
        &self,
        direction: Direction,
        enc: Enc,
        kid: &str,
        plaintext: &[u8],
    ) -> Result<String, CryptoError> {
        let failed = |e: josekit::JoseError| CryptoError::Key(e.to_string());
        let mut header = JweHeader::new();
        header.set_content_encryption(enc.name());
        header.set_key_id(kid);
        let encrypter = jwe::Dir
            .encrypter_from_bytes(self.key_for(direction, enc))
            .map_err(failed)?;
        jwe::serialize_compact(plaintext, &header, &encrypter).map_err(failed)
    }

    /// Decrypts one message. A token that is not a `dir` JWE of a known `enc`, or that
    /// does not decrypt, is [`CryptoError::Decrypt`] (302).
    pub fn open(&self, direction: Direction, token: &str) -> Result<Opened, CryptoError> {
        let fail = decrypt_error(WHAT);
        let header = compact_header(token, 5, WHAT).map_err(|e| fail(&e))?;
        if header_str(&header, "alg") != Some("dir") {
            return Err(fail(&format_args!(
                "alg must be dir, not {:?}",
                header_str(&header, "alg").unwrap_or_default()
            )));
        }
        let enc = header_str(&header, "enc")
            .and_then(Enc::from_name)
            .ok_or_else(|| fail(&"enc must be A128CBC-HS256 or A128GCM"))?;
        crate::jose::check_iv_and_tag(token, enc.name()).map_err(|why| fail(&why))?;
        let decrypter = jwe::Dir
            .decrypter_from_bytes(self.key_for(direction, enc))
            .map_err(|e| fail(&e))?;
        let (plaintext, _) = jwe::deserialize_compact(token, &decrypter).map_err(|e| fail(&e))?;
        Ok(Opened {
            enc,
            kid: header_str(&header, "kid").map(str::to_owned),
            plaintext,
        })
    }
}

/// The `kid` of a CReq/CRes JWE, read without the key: the ACS finds the session (and
/// so the key) by it.
pub fn key_id(token: &str) -> Result<Option<String>, CryptoError> {
    let header = compact_header(token, 5, WHAT)?;
    Ok(header_str(&header, "kid").map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (SessionKey, SessionKey) {
        let (sdk, acs) = (EphemeralKey::generate(), EphemeralKey::generate());
        let reference = "3DS_LOA_SDK_SNDBX_020100_00001";
        (
            SessionKey::derive(&sdk, &acs.public(), reference),
            SessionKey::derive(&acs, &sdk.public(), reference),
        )
    }

    /// A short IV or tag is refused as 302 before OpenSSL sees it (its wrapper
    /// asserted on a short IV: found by the `app_jwe` fuzz target).
    #[test]
    fn a_short_iv_or_tag_is_refused_not_a_panic() {
        use base64::Engine;
        let (sdk, acs) = pair();
        for enc in Enc::ALL {
            let token = sdk
                .seal(Direction::SdkToAcs, enc, "k", b"{}")
                .unwrap_or_else(|e| panic!("{e}"));
            let parts: Vec<&str> = token.split('.').collect();
            let short = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0u8]);
            for at in [2, 4] {
                let mut bad = parts.clone();
                bad[at] = &short;
                let result = acs.open(Direction::SdkToAcs, &bad.join("."));
                assert!(
                    matches!(result, Err(CryptoError::Decrypt { .. })),
                    "{result:?}"
                );
            }
        }
    }

    #[test]
    fn both_ends_read_each_other_with_both_encs() {
        let (sdk, acs) = pair();
        for enc in Enc::ALL {
            let creq = sdk
                .seal(Direction::SdkToAcs, enc, "acs-id", b"{\"a\":1}")
                .unwrap();
            let opened = acs.open(Direction::SdkToAcs, &creq).unwrap();
            assert_eq!((opened.enc, opened.kid.as_deref()), (enc, Some("acs-id")));
            assert_eq!(opened.plaintext, b"{\"a\":1}");
            let cres = acs.seal(Direction::AcsToSdk, enc, "acs-id", b"{}").unwrap();
            assert_eq!(
                sdk.open(Direction::AcsToSdk, &cres).unwrap().plaintext,
                b"{}"
            );
        }
    }

    #[test]
    fn gcm_keys_differ_by_direction_and_tampering_is_a_decryption_failure() {
        let (sdk, acs) = pair();
        let creq = sdk
            .seal(Direction::SdkToAcs, Enc::A128Gcm, "k", b"x")
            .unwrap();
        // Read as if it came the other way: the other half of the key.
        assert!(matches!(
            acs.open(Direction::AcsToSdk, &creq),
            Err(CryptoError::Decrypt { .. })
        ));
        let mut parts: Vec<String> = creq.split('.').map(str::to_owned).collect();
        let first = if parts[3].starts_with('A') { 'B' } else { 'A' };
        parts[3] = format!("{first}{}", &parts[3][1..]);
        let tampered = parts.join(".");
        let verdict = acs.open(Direction::SdkToAcs, &tampered);
        assert!(
            matches!(verdict, Err(CryptoError::Decrypt { .. })),
            "{verdict:?}"
        );
        assert_eq!(verdict.unwrap_err().error_code(), "302");
    }
}
