//! COSE keys (RFC 9052/9053) as authenticators put them in attested credential data,
//! for the two algorithms the sandbox accepts: ES256 (EC2, P-256) and RS256 (RSA).
//! They are stored as SubjectPublicKeyInfo DER.

use ciborium::Value;
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};

use crate::credential::Algorithm;
use crate::verify::Failure;

fn malformed(why: impl Into<String>) -> Failure {
    Failure::Malformed {
        field: "credentialPublicKey",
        why: why.into(),
    }
}

fn int_key(value: &Value) -> Option<i128> {
    value.as_integer().map(i128::from)
}

/// The COSE key at the start of `bytes`: its algorithm and SPKI DER.
pub(crate) fn decode(mut bytes: &[u8]) -> Result<(Algorithm, Vec<u8>), Failure> {
    let value: Value =
        ciborium::from_reader(&mut bytes).map_err(|e| malformed(format!("not CBOR: {e}")))?;
    let Value::Map(entries) = value else {
        return Err(malformed("not a CBOR map"));
    };
    let get = |label: i128| {
        entries
            .iter()
            .find(|(k, _)| int_key(k) == Some(label))
            .map(|(_, v)| v)
    };
    let bytes_of = |label: i128, name: &str| {
        get(label)
            .and_then(Value::as_bytes)
            .cloned()
            .ok_or_else(|| malformed(format!("{name} is missing")))
    };
    let kty = get(1).and_then(int_key);
    let alg = get(3).and_then(int_key);
    match (kty, alg) {
        (Some(2), Some(-7)) => {
            if get(-1).and_then(int_key) != Some(1) {
                return Err(malformed("an ES256 key must be on P-256 (crv 1)"));
            }
            let (x, y) = (bytes_of(-2, "x")?, bytes_of(-3, "y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err(malformed("P-256 coordinates are 32 bytes"));
            }
            let point = p256::EncodedPoint::from_affine_coordinates(
                p256::FieldBytes::from_slice(&x),
                p256::FieldBytes::from_slice(&y),
                false,
            );
            let key = p256::PublicKey::from_sec1_bytes(point.as_bytes())
                .map_err(|_| malformed("the point is not on P-256"))?;
            let der = key
                .to_public_key_der()
                .map_err(|e| malformed(e.to_string()))?;
            Ok((Algorithm::Es256, der.as_bytes().to_vec()))
        }
        (Some(3), Some(-257)) => {
            let n = rsa::BigUint::from_bytes_be(&bytes_of(-1, "n")?);
            let e = rsa::BigUint::from_bytes_be(&bytes_of(-2, "e")?);
            let key = rsa::RsaPublicKey::new(n, e).map_err(|e| malformed(e.to_string()))?;
            let der = key
                .to_public_key_der()
                .map_err(|e| malformed(e.to_string()))?;
            Ok((Algorithm::Rs256, der.as_bytes().to_vec()))
        }
        (kty, alg) => Err(malformed(format!(
            "unsupported key (kty {kty:?}, alg {alg:?}); ES256 (-7) and RS256 (-257) are accepted"
        ))),
    }
}

/// The COSE form of a stored key (for the software authenticator's registrations).
pub(crate) fn encode(algorithm: Algorithm, spki_der: &[u8]) -> Result<Vec<u8>, Failure> {
    let int = |i: i64| Value::Integer(i.into());
    let map = match algorithm {
        Algorithm::Es256 => {
            let key = p256::PublicKey::from_public_key_der(spki_der)
                .map_err(|e| malformed(e.to_string()))?;
            let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key, false);
            let (Some(x), Some(y)) = (point.x(), point.y()) else {
                return Err(malformed("the point has no coordinates"));
            };
            vec![
                (int(1), int(2)),
                (int(3), int(-7)),
                (int(-1), int(1)),
                (int(-2), Value::Bytes(x.to_vec())),
                (int(-3), Value::Bytes(y.to_vec())),
            ]
        }
        Algorithm::Rs256 => {
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPublicKey::from_public_key_der(spki_der)
                .map_err(|e| malformed(e.to_string()))?;
            vec![
                (int(1), int(3)),
                (int(3), int(-257)),
                (int(-1), Value::Bytes(key.n().to_bytes_be())),
                (int(-2), Value::Bytes(key.e().to_bytes_be())),
            ]
        }
    };
    let mut out = Vec::new();
    ciborium::into_writer(&Value::Map(map), &mut out).map_err(|e| malformed(e.to_string()))?;
    Ok(out)
}
