//! `sdkEncData`: the device information the SDK encrypts to its DS (`docs/protocol.md` §6.1).
//!
//! - EC DS key: `alg: ECDH-ES`, `enc: A128CBC-HS256`, an `epk`, no encrypted key. The
//!   content key is the 3DS Concat KDF of the ECDH secret with PartyVInfo = the
//!   directory server id ([`kdf::three_ds_kdf`]), not RFC 7518's derivation (which
//!   would put `enc` in AlgorithmID), so a stock JOSE library derives another key.
//! - The same with `alg: dir` and an `epk` (one public SDK writes that); the DS accepts
//!   both, the SDK writes `ECDH-ES`.
//! - RSA DS key: `alg: RSA-OAEP-256`, `enc: A128CBC-HS256`, josekit throughout.

use std::borrow::Cow;

use josekit::JoseError;
use josekit::jwe::{self, JweContentEncryption, JweDecrypter, JweEncrypter, JweHeader};
use openssl::pkey::{Id, PKey};
use openssl::x509::X509;
use p256::{PublicKey, SecretKey};
use serde_json::Value;

use crate::jose::{Alg, compact_header, header_str};
use crate::keys::{EphemeralKey, agree, parse_public_jwk};
use crate::{CryptoError, decrypt_error, kdf, malformed};

const WHAT: &str = "sdkEncData";
const ENC: &str = "A128CBC-HS256";

/// The DS's public encryption key, as the SDK holds it.
#[derive(Clone)]
pub enum DsPublicKey {
    Ec(PublicKey),
    /// SubjectPublicKeyInfo DER.
    Rsa(Vec<u8>),
}

impl std::fmt::Debug for DsPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DsPublicKey::Ec(_) => "DsPublicKey::Ec(P-256)",
            DsPublicKey::Rsa(_) => "DsPublicKey::Rsa",
        })
    }
}

impl DsPublicKey {
    /// The key of a DS encryption certificate (PEM).
    pub fn from_certificate_pem(pem: &[u8]) -> Result<DsPublicKey, CryptoError> {
        let cert = X509::from_pem(pem).map_err(|e| CryptoError::Key(e.to_string()))?;
        let key = cert
            .public_key()
            .map_err(|e| CryptoError::Key(e.to_string()))?;
        let spki = key
            .public_key_to_der()
            .map_err(|e| CryptoError::Key(e.to_string()))?;
        match key.id() {
            Id::EC => {
                use p256::pkcs8::DecodePublicKey;
                PublicKey::from_public_key_der(&spki)
                    .map(DsPublicKey::Ec)
                    .map_err(|_| CryptoError::Key("the DS's EC key is not on P-256".into()))
            }
            Id::RSA => Ok(DsPublicKey::Rsa(spki)),
            other => Err(CryptoError::Key(format!(
                "a DS encryption key is EC P-256 or RSA, not {other:?}"
            ))),
        }
    }
}

/// The DS's private encryption key.
pub enum DsPrivateKey {
    Ec(SecretKey),
    Rsa(Box<dyn JweDecrypter>),
}

impl std::fmt::Debug for DsPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DsPrivateKey::Ec(_) => "DsPrivateKey::Ec(<redacted>)",
            DsPrivateKey::Rsa(_) => "DsPrivateKey::Rsa(<redacted>)",
        })
    }
}

impl DsPrivateKey {
    /// A PKCS#8 PEM private key (EC P-256 or RSA).
    pub fn from_pem(pem: &[u8]) -> Result<DsPrivateKey, CryptoError> {
        let key = PKey::private_key_from_pem(pem).map_err(|e| CryptoError::Key(e.to_string()))?;
        match key.id() {
            Id::EC => {
                use p256::pkcs8::DecodePrivateKey;
                let der = key
                    .private_key_to_pkcs8()
                    .map_err(|e| CryptoError::Key(e.to_string()))?;
                SecretKey::from_pkcs8_der(&der)
                    .map(DsPrivateKey::Ec)
                    .map_err(|_| CryptoError::Key("the DS's EC key is not on P-256".into()))
            }
            Id::RSA => jwe::RSA_OAEP_256
                .decrypter_from_der(
                    key.private_key_to_pkcs8()
                        .map_err(|e| CryptoError::Key(e.to_string()))?,
                )
                .map(|d| DsPrivateKey::Rsa(Box::new(d)))
                .map_err(|e| CryptoError::Key(e.to_string())),
            other => Err(CryptoError::Key(format!(
                "a DS encryption key is EC P-256 or RSA, not {other:?}"
            ))),
        }
    }
}

/// How an SDK writes EC device data: `ECDH-ES` (the EMVCo way, and ours), or `dir` with
/// an `epk` (as one public SDK does; for testing DSs against it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EcAlg {
    #[default]
    EcdhEs,
    DirWithEpk,
}

/// Encrypts the device information JSON to the DS `directory_server_id`.
pub fn encrypt(
    device_info: &[u8],
    key: &DsPublicKey,
    directory_server_id: &str,
) -> Result<String, CryptoError> {
    encrypt_as(device_info, key, directory_server_id, EcAlg::EcdhEs)
}

/// [`encrypt`], choosing the `alg` an EC key is written with.
pub fn encrypt_as(
    device_info: &[u8],
    key: &DsPublicKey,
    directory_server_id: &str,
    ec_alg: EcAlg,
) -> Result<String, CryptoError> {
    let mut header = JweHeader::new();
    header.set_content_encryption(ENC);
    let failed = |e: JoseError| CryptoError::Key(e.to_string());
    match key {
        DsPublicKey::Ec(ds) => {
            let encrypter = EcdhEs3ds {
                alg: Alg(match ec_alg {
                    EcAlg::EcdhEs => "ECDH-ES",
                    EcAlg::DirWithEpk => "dir",
                }),
                ds: *ds,
                party_v: directory_server_id.as_bytes().to_vec(),
            };
            jwe::serialize_compact(device_info, &header, &encrypter).map_err(failed)
        }
        DsPublicKey::Rsa(spki) => {
            let encrypter = jwe::RSA_OAEP_256.encrypter_from_der(spki).map_err(failed)?;
            jwe::serialize_compact(device_info, &header, &encrypter).map_err(failed)
        }
    }
}

/// Decrypts `sdkEncData` with the DS's key; `alg` decides the path. Anything that does
/// not decrypt is [`CryptoError::Decrypt`] (the DS answers `Erro` 302).
pub fn decrypt(
    token: &str,
    key: &DsPrivateKey,
    directory_server_id: &str,
) -> Result<Vec<u8>, CryptoError> {
    let header = compact_header(token, 5, WHAT).map_err(|e| CryptoError::Decrypt {
        what: WHAT,
        why: e.to_string(),
    })?;
    let fail = decrypt_error(WHAT);
    if header_str(&header, "enc") != Some(ENC) {
        return Err(fail(&format_args!(
            "enc must be {ENC}, not {}",
            header.get("enc").unwrap_or(&Value::Null)
        )));
    }
    crate::jose::check_iv_and_tag(token, ENC).map_err(|why| fail(&why))?;
    let alg = header_str(&header, "alg").unwrap_or_default();
    let (payload, _) = match (alg, key) {
        ("ECDH-ES", DsPrivateKey::Ec(ds)) | ("dir", DsPrivateKey::Ec(ds))
            if header.contains_key("epk") =>
        {
            let decrypter = EcdhEs3dsDecrypter {
                alg: Alg(if alg == "dir" { "dir" } else { "ECDH-ES" }),
                ds: ds.clone(),
                party_v: directory_server_id.as_bytes().to_vec(),
            };
            jwe::deserialize_compact(token, &decrypter).map_err(|e| fail(&e))?
        }
        ("RSA-OAEP-256", DsPrivateKey::Rsa(decrypter)) => {
            jwe::deserialize_compact(token, decrypter.as_ref()).map_err(|e| fail(&e))?
        }
        (alg, DsPrivateKey::Ec(_)) => {
            return Err(fail(&format_args!(
                "this DS has an EC key: alg must be ECDH-ES (or dir) with an epk, not {alg:?}"
            )));
        }
        (alg, DsPrivateKey::Rsa(_)) => {
            return Err(fail(&format_args!(
                "this DS has an RSA key: alg must be RSA-OAEP-256, not {alg:?}"
            )));
        }
    };
    Ok(payload)
}

/// The SDK's side of the 3DS `ECDH-ES`: a fresh ephemeral key per token.
#[derive(Debug, Clone)]
struct EcdhEs3ds {
    alg: Alg,
    ds: PublicKey,
    party_v: Vec<u8>,
}

impl JweEncrypter for EcdhEs3ds {
    fn algorithm(&self) -> &dyn jwe::JweAlgorithm {
        &self.alg
    }
    fn key_id(&self) -> Option<&str> {
        None
    }
    fn compute_content_encryption_key(
        &self,
        cencryption: &dyn JweContentEncryption,
        _in_header: &JweHeader,
        out_header: &mut JweHeader,
    ) -> Result<Option<Cow<'_, [u8]>>, JoseError> {
        if cencryption.key_len() != 32 {
            return Err(JoseError::InvalidKeyFormat(jose_error(
                "device data is encrypted with A128CBC-HS256 (a 32-byte key)",
            )));
        }
        let ephemeral = EphemeralKey::generate();
        out_header.set_claim("epk", Some(ephemeral.public_jwk()))?;
        let z = ephemeral.agree(&self.ds);
        let key = kdf::three_ds_kdf(z.as_slice(), &self.party_v);
        Ok(Some(Cow::Owned(key.to_vec())))
    }
    fn encrypt(
        &self,
        _key: &[u8],
        _in_header: &JweHeader,
        _out_header: &mut JweHeader,
    ) -> Result<Option<Vec<u8>>, JoseError> {
        Ok(None)
    }
    fn box_clone(&self) -> Box<dyn JweEncrypter> {
        Box::new(self.clone())
    }
}

/// The DS's side: the content key from the header's `epk` and the DS's private key.
#[derive(Clone)]
struct EcdhEs3dsDecrypter {
    alg: Alg,
    ds: SecretKey,
    party_v: Vec<u8>,
}

impl std::fmt::Debug for EcdhEs3dsDecrypter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EcdhEs3dsDecrypter({})", self.alg.0)
    }
}

impl JweDecrypter for EcdhEs3dsDecrypter {
    fn algorithm(&self) -> &dyn jwe::JweAlgorithm {
        &self.alg
    }
    fn key_id(&self) -> Option<&str> {
        None
    }
    fn decrypt(
        &self,
        encrypted_key: Option<&[u8]>,
        cencryption: &dyn JweContentEncryption,
        header: &JweHeader,
    ) -> Result<Cow<'_, [u8]>, JoseError> {
        if encrypted_key.is_some_and(|k| !k.is_empty()) {
            return Err(JoseError::InvalidJweFormat(jose_error(
                "ECDH-ES device data has no encrypted key",
            )));
        }
        if cencryption.key_len() != 32 {
            return Err(JoseError::InvalidJweFormat(jose_error(
                "device data is encrypted with A128CBC-HS256",
            )));
        }
        let epk = header
            .claim("epk")
            .ok_or_else(|| JoseError::InvalidJweFormat(jose_error("no epk in the header")))?;
        let sdk = parse_public_jwk(epk)
            .map_err(|e| JoseError::InvalidJweFormat(jose_error(&e.to_string())))?;
        let z = agree(&self.ds, &sdk);
        let key = kdf::three_ds_kdf(z.as_slice(), &self.party_v);
        Ok(Cow::Owned(key.to_vec()))
    }
    fn box_clone(&self) -> Box<dyn JweDecrypter> {
        Box::new(self.clone())
    }
}

/// josekit's errors carry an `anyhow::Error`.
fn jose_error(message: &str) -> anyhow::Error {
    anyhow::Error::msg(message.to_owned())
}

/// The device information the DS decrypted, checked to be a JSON object.
pub fn parse_device_info(plaintext: &[u8]) -> Result<Value, CryptoError> {
    match serde_json::from_slice(plaintext) {
        Ok(Value::Object(map)) => Ok(Value::Object(map)),
        _ => Err(malformed(WHAT)(
            &"the decrypted device information is not a JSON object",
        )),
    }
}
