//! Fixed vectors: public ones (RFC 7515, RFC 7518, RFC 7520) through the code paths the app
//! channel uses, and a 3DS-shaped one whose expected values were computed outside this
//! code (Python `hashlib` for the KDF, `cryptography`'s AES-GCM for the CReq, with a
//! Stripe-style all-zero IV), so our KDF and JWE reading cannot be wrong in the same
//! way as the values they are checked against.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use app_crypto::kdf::{concat_kdf_sha256, three_ds_kdf};
use app_crypto::keys::{EphemeralKey, parse_public_jwk};
use app_crypto::session::{Direction, Enc, SessionKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::jwe::JweContentEncryption;
use serde_json::json;

fn b64(s: &str) -> Vec<u8> {
    B64.decode(s).unwrap()
}

/// RFC 7518 Appendix C: Alice's ephemeral key and Bob's static key.
fn rfc7518_keys() -> (EphemeralKey, EphemeralKey) {
    let alice =
        EphemeralKey::from_scalar(&b64("0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo")).unwrap();
    let bob =
        EphemeralKey::from_scalar(&b64("VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw")).unwrap();
    (alice, bob)
}

const RFC7518_Z: [u8; 32] = [
    158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163,
    218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
];

#[test]
fn rfc7518_appendix_c_ecdh_and_concat_kdf() {
    let (alice, bob) = rfc7518_keys();
    // The public keys the RFC prints are the ones these scalars give.
    let alice_public = parse_public_jwk(&json!({"kty": "EC", "crv": "P-256",
        "x": "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
        "y": "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"}))
    .unwrap();
    let bob_public = parse_public_jwk(&json!({"kty": "EC", "crv": "P-256",
        "x": "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
        "y": "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck"}))
    .unwrap();
    assert_eq!(alice.public(), alice_public);
    assert_eq!(bob.public(), bob_public);
    assert_eq!(*alice.agree(&bob_public), RFC7518_Z);
    assert_eq!(*bob.agree(&alice_public), RFC7518_Z);
    let key = concat_kdf_sha256(&RFC7518_Z, b"A128GCM", b"Alice", b"Bob", 128);
    assert_eq!(B64.encode(&*key), "VqqN6vgjbSBcIijNcacQGg");
}

#[test]
fn rfc7518_appendix_b1_aes_128_cbc_hmac_sha_256() {
    let key: Vec<u8> = (0u8..32).collect();
    let plaintext = b"A cipher system must not be required to be secret, and it must be able to fall into the hands of the enemy without inconvenience";
    let iv = hex::decode("1af38c2dc2b96ffdd866940923 41bc04".replace(' ', "")).unwrap();
    let aad = b"The second principle of Auguste Kerckhoffs";
    let (ciphertext, tag) = josekit::jwe::enc::A128CBC_HS256
        .encrypt(&key, Some(&iv), plaintext, aad)
        .unwrap();
    assert_eq!(
        hex::encode(&ciphertext),
        "c80edfa32ddf39d5ef00c0b468834279a2e46a1b8049f792f76bfe54b903a9c9\
         a94ac9b47ad2655c5f10f9aef71427e2fc6f9b3f399a221489f16362c7032336\
         09d45ac69864e3321cf82935ac4096c86e133314c54019e8ca7980dfa4b9cf1b\
         384c486f3a54c51078158ee5d79de59fbd34d848b3d69550a67646344427ade5\
         4b8851ffb598f7f80074b9473c82e2db"
    );
    assert_eq!(
        hex::encode(tag.unwrap()),
        "652c3fa36b0a7c5b3219fab3a30bc1c4"
    );
}

#[test]
fn rfc7520_5_6_dir_a128gcm_opens_through_the_creq_path() {
    // Our A128GCM key for SDK → ACS is the first half of the session key.
    let mut key = b64("XctOhJAkA-pD9Lh7ZgW_2A");
    key.extend([0u8; 16]);
    let session = SessionKey::from_bytes(&key).unwrap();
    let token = "eyJhbGciOiJkaXIiLCJraWQiOiI3N2M3ZTJiOC02ZTEzLTQ1Y2YtODY3Mi02MTdiNWI0NTI0M2EiLCJlbmMiOiJBMTI4R0NNIn0..refa467QzzKx6QAB.JW_i_f52hww_ELQPGaYyeAB6HYGcR559l9TYnSovc23XJoBcW29rHP8yZOZG7YhLpT1bjFuvZPjQS-m0IFtVcXkZXdH_lr_FrdYt9HRUYkshtrMmIUAyGmUnd9zMDB2n0cRDIHAzFVeJUDxkUwVAE7_YGRPdcqMyiBoCO-FBdE-Nceb4h3-FtBP-c_BIwCPTjb9o0SbdcdREEMJMyZBH8ySWMVi1gPD9yxi-aQpGbSv_F9N4IZAxscj5g-NJsUPbjk29-s7LJAGb15wEBtXphVCgyy53CoIKLHHeJHXex45Uz9aKZSRSInZI-wjsY0yu3cT4_aQ3i1o-tiE-F8Ios61EKgyIQ4CWao8PFMj8TTnp.vbb32Xvllea2OtmHAdccRQ";
    let opened = session.open(Direction::SdkToAcs, token).unwrap();
    assert_eq!(opened.enc, Enc::A128Gcm);
    assert_eq!(
        opened.kid.as_deref(),
        Some("77c7e2b8-6e13-45cf-8672-617b5b45243a")
    );
    assert_eq!(
        String::from_utf8(opened.plaintext).unwrap(),
        "You can trust us to stick with you through thick and thin\u{2013}to the bitter end. \
         And you can trust us to keep any secret of yours\u{2013}closer than you keep it \
         yourself. But you cannot trust us to let you face trouble alone, and go off without a \
         word. We are your friends, Frodo."
    );
}

/// SDK = Alice, ACS = Bob of RFC 7518 Appendix C, so Z is the RFC's.
const SDK_REFERENCE: &str = "3DS_LOA_SDK_SNDBX_020100_00001";
const SESSION_KEY: &str = "8acdade835b6f88f9a0ced8a191ca8648b4f17c7a6e5df5588fada1c10b40a0f";

#[test]
fn three_ds_session_key_and_a_stripe_style_creq() {
    let (sdk, acs) = rfc7518_keys();
    let at_sdk = SessionKey::derive(&sdk, &acs.public(), SDK_REFERENCE);
    let at_acs = SessionKey::derive(&acs, &sdk.public(), SDK_REFERENCE);
    assert_eq!(hex::encode(at_sdk.expose()), SESSION_KEY);
    assert_eq!(at_sdk.expose(), at_acs.expose());
    // Device data uses the same KDF with the directory server id as PartyVInfo.
    assert_eq!(
        hex::encode(*three_ds_kdf(&RFC7518_Z, b"F000000001")),
        "318418392d26cc67ae789fb135dd9576fcf5c274fff76c15541c655667b89bca"
    );
    // A CReq as Stripe's Android SDK makes it: IV all zero but the counter byte.
    let creq = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIiwia2lkIjoiOGE4ODBkYzAtZDJkMi00MDY3LWJjYjEtYjA4ZDE2OTBiMjZlIn0..AAAAAAAAAAAAAAAA.4s6QtjtEjGhTp6ShAK8in6PxjvQdJvAltkVqA7e1bZlAS0SJo5_KX31jFTHO.Y8XYqy9_3NTVcbuzgz1ORA";
    let opened = at_acs.open(Direction::SdkToAcs, creq).unwrap();
    assert_eq!(
        opened.kid.as_deref(),
        Some("8a880dc0-d2d2-4067-bcb1-b08d1690b26e")
    );
    assert_eq!(
        opened.plaintext,
        br#"{"messageType":"CReq","sdkCounterStoA":"000"}"#
    );
}

#[test]
fn rfc7515_a3_es256_verifies_through_the_signed_content_verifier() {
    use p256::pkcs8::EncodePublicKey;
    // The key as our SDK reads JWKs, the verifier as `signed_content::verify` builds it.
    let key = parse_public_jwk(&json!({"kty": "EC", "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}))
    .unwrap();
    let spki = key.to_public_key_der().unwrap();
    let verifier = josekit::jws::ES256
        .verifier_from_der(spki.as_bytes())
        .unwrap();
    let token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    let (payload, _) = josekit::jws::deserialize_compact(token, &verifier).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(claims["iss"], "joe");
    // The raw R‖S signature, one byte of S changed, does not verify.
    let forged = token.replace("Kg6NU1Q", "Kg6NV1Q");
    assert!(josekit::jws::deserialize_compact(&forged, &verifier).is_err());
}
