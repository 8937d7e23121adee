//! Ephemeral P-256 keys (`sdkEphemPubKey`, `acsEphemPubKey`), their JWK form, and ECDH.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::CryptoError;

/// A P-256 key pair made for one transaction. The private half is zeroised on drop.
pub struct EphemeralKey(SecretKey);

impl std::fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EphemeralKey(<redacted>, {})",
            public_jwk(&self.public())
        )
    }
}

impl EphemeralKey {
    /// A fresh key from the OS random source.
    pub fn generate() -> EphemeralKey {
        EphemeralKey(SecretKey::random(&mut rand_core::OsRng))
    }

    /// A key from its 32-byte scalar (fixed test vectors).
    pub fn from_scalar(bytes: &[u8]) -> Result<EphemeralKey, CryptoError> {
        SecretKey::from_slice(bytes)
            .map(EphemeralKey)
            .map_err(|_| CryptoError::Key("not a P-256 private scalar".into()))
    }

    pub fn public(&self) -> PublicKey {
        self.0.public_key()
    }

    /// The public half as a JWK.
    pub fn public_jwk(&self) -> Value {
        public_jwk(&self.public())
    }

    /// The ECDH shared secret Z with `peer`: the x coordinate, 32 bytes.
    pub fn agree(&self, peer: &PublicKey) -> Zeroizing<[u8; 32]> {
        agree(&self.0, peer)
    }
}

pub(crate) fn agree(own: &SecretKey, peer: &PublicKey) -> Zeroizing<[u8; 32]> {
    let shared = p256::ecdh::diffie_hellman(own.to_nonzero_scalar(), peer.as_affine());
    let mut z = Zeroizing::new([0u8; 32]);
    z.copy_from_slice(shared.raw_secret_bytes());
    z
}

/// `{"kty":"EC","crv":"P-256","x":…,"y":…}` (base64url coordinates, no padding).
pub fn public_jwk(key: &PublicKey) -> Value {
    let point = key.to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        // An uncompressed point always has both coordinates.
        return Value::Null;
    };
    json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(x),
        "y": URL_SAFE_NO_PAD.encode(y),
    })
}

/// Reads an EC P-256 public JWK; the point must be on the curve.
pub fn parse_public_jwk(jwk: &Value) -> Result<PublicKey, CryptoError> {
    let bad = |why: &str| CryptoError::Malformed {
        what: "EC public key (JWK)",
        why: why.to_owned(),
    };
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    if member("kty") != Some("EC") {
        return Err(bad("kty must be EC"));
    }
    if member("crv") != Some("P-256") {
        return Err(bad("crv must be P-256"));
    }
    let coordinate = |name: &str| -> Result<Vec<u8>, CryptoError> {
        let text = member(name).ok_or_else(|| bad(&format!("{name} is missing")))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| bad(&format!("{name} is not base64url")))?;
        if bytes.len() != 32 {
            return Err(bad(&format!("{name} must be 32 bytes")));
        }
        Ok(bytes)
    };
    let mut sec1 = vec![4u8];
    sec1.extend(coordinate("x")?);
    sec1.extend(coordinate("y")?);
    PublicKey::from_sec1_bytes(&sec1).map_err(|_| bad("the point is not on P-256"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwk_round_trips_and_off_curve_points_are_refused() {
        let key = EphemeralKey::generate();
        let jwk = key.public_jwk();
        assert_eq!(parse_public_jwk(&jwk), Ok(key.public()));
        let mut off = jwk.clone();
        off["y"] = json!(URL_SAFE_NO_PAD.encode([1u8; 32]));
        assert!(parse_public_jwk(&off).is_err());
        let mut rsa = jwk;
        rsa["kty"] = json!("RSA");
        assert!(parse_public_jwk(&rsa).is_err());
    }

    #[test]
    fn both_sides_agree() {
        let (a, b) = (EphemeralKey::generate(), EphemeralKey::generate());
        assert_eq!(*a.agree(&b.public()), *b.agree(&a.public()));
    }
}
