//! Device data, signed content and their failure modes, with keys from a PKI the
//! sandbox generates (both schemes: EC and RSA).

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use app_crypto::CryptoError;
use app_crypto::device_data::{self, DsPrivateKey, DsPublicKey, EcAlg};
use app_crypto::keys::EphemeralKey;
use app_crypto::signed_content::{self, AcsSigner, TrustAnchors};
use pki::{Layout, PkiSpec};

struct Pki {
    _dir: tempfile::TempDir,
    layout: Layout,
}

/// Runs a future to completion (signing with a key in memory never waits).
fn block<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    pki::init(dir.path(), &PkiSpec::default(), false).unwrap();
    Pki {
        layout: Layout::new(dir.path()),
        _dir: dir,
    }
}

fn read(path: std::path::PathBuf) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

const DEVICE_INFO: &[u8] = br#"{"DV":"1.7","DD":{"C001":"Android"},"DPNA":{},"SW":[]}"#;

#[test]
fn device_data_round_trips_for_both_schemes_and_only_for_its_ds() {
    let pki = pki();
    for (scheme, id) in [("alpha", "F000000001"), ("beta", "F000000002")] {
        let files = pki.layout.scheme(scheme);
        let public = DsPublicKey::from_certificate_pem(&read(files.ds_encryption_cert())).unwrap();
        let private = DsPrivateKey::from_pem(&read(files.ds_encryption_key())).unwrap();
        let token = device_data::encrypt(DEVICE_INFO, &public, id).unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                token.split('.').next().unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(header["enc"], "A128CBC-HS256");
        match scheme {
            "alpha" => {
                assert_eq!(header["alg"], "ECDH-ES");
                assert!(header.get("epk").is_some());
                assert!(
                    token.split('.').nth(1).unwrap().is_empty(),
                    "no encrypted key"
                );
                // PartyVInfo is the directory server id: another id derives another key.
                let other = device_data::decrypt(&token, &private, "F000000009");
                assert!(
                    matches!(other, Err(CryptoError::Decrypt { .. })),
                    "{other:?}"
                );
            }
            _ => assert_eq!(header["alg"], "RSA-OAEP-256"),
        }
        assert_eq!(
            device_data::decrypt(&token, &private, id).unwrap(),
            DEVICE_INFO
        );
    }
}

#[test]
fn the_ds_reads_the_dir_with_epk_variant_and_refuses_what_is_not_device_data() {
    let pki = pki();
    let alpha = pki.layout.scheme("alpha");
    let public = DsPublicKey::from_certificate_pem(&read(alpha.ds_encryption_cert())).unwrap();
    let private = DsPrivateKey::from_pem(&read(alpha.ds_encryption_key())).unwrap();
    let token =
        device_data::encrypt_as(DEVICE_INFO, &public, "F000000001", EcAlg::DirWithEpk).unwrap();
    assert_eq!(
        device_data::decrypt(&token, &private, "F000000001").unwrap(),
        DEVICE_INFO
    );
    let beta =
        DsPrivateKey::from_pem(&read(pki.layout.scheme("beta").ds_encryption_key())).unwrap();
    for bad in ["", "not-a-jwe", "a.b.c.d.e", &token[..token.len() - 4]] {
        for key in [&private, &beta] {
            let verdict = device_data::decrypt(bad, key, "F000000001");
            let err = verdict.unwrap_err();
            assert_eq!(err.error_code(), "302", "{bad:?}: {err}");
        }
    }
    // EC device data sent to the RSA scheme's DS.
    let err = device_data::decrypt(&token, &beta, "F000000002").unwrap_err();
    assert!(err.to_string().contains("RSA-OAEP-256"), "{err}");
}

#[test]
fn signed_content_verifies_under_its_ds_root_only() {
    let pki = pki();
    let sdk = EphemeralKey::generate();
    let acs = EphemeralKey::generate();
    let anchors = |scheme: &str| {
        TrustAnchors::from_pem(&read(pki.layout.scheme(scheme).ds_root_ca())).unwrap()
    };
    for (scheme, alg) in [("alpha", "ES256"), ("beta", "PS256")] {
        let files = pki.layout.scheme(scheme);
        let signer = AcsSigner::from_pem(
            &read(files.acs_signing_key()),
            &read(files.acs_signing_chain()),
        )
        .unwrap();
        assert_eq!(signer.algorithm(), alg);
        let token = block(signer.sign(
            "https://acs.localhost/app/creq",
            &acs.public(),
            &sdk.public_jwk(),
        ))
        .unwrap();
        let content = signed_content::verify(&token, &anchors(scheme), &sdk.public()).unwrap();
        assert_eq!(content.acs_url, "https://acs.localhost/app/creq");
        assert_eq!(content.acs_ephem_pub_key, acs.public());
        assert_eq!(content.alg, alg);

        // The other scheme's root: the chain leads nowhere.
        let other = if scheme == "alpha" { "beta" } else { "alpha" };
        let err = signed_content::verify(&token, &anchors(other), &sdk.public()).unwrap_err();
        assert!(err.to_string().contains("root"), "{err}");
        // Signed for another SDK key.
        let err =
            signed_content::verify(&token, &anchors(scheme), &EphemeralKey::generate().public())
                .unwrap_err();
        assert!(err.to_string().contains("another SDK"), "{err}");
        // One payload byte changed.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let swapped = if parts[1].ends_with('A') { 'B' } else { 'A' };
        parts[1].pop();
        parts[1].push(swapped);
        let err =
            signed_content::verify(&parts.join("."), &anchors(scheme), &sdk.public()).unwrap_err();
        assert!(
            matches!(
                err,
                CryptoError::Untrusted { .. } | CryptoError::Malformed { .. }
            ),
            "{err}"
        );
    }
}

#[test]
fn a_chain_from_the_tls_root_or_with_a_foreign_alg_is_refused() {
    let pki = pki();
    let sdk = EphemeralKey::generate();
    let acs = EphemeralKey::generate();
    let alpha = pki.layout.scheme("alpha");
    // The ACS's TLS key and certificate, which chain to the TLS root, not the DS root.
    let tls_chain = [
        read(pki.layout.tls_cert("acs")),
        read(pki.layout.tls_root_ca()),
    ]
    .concat();
    let signer = AcsSigner::from_pem(&read(pki.layout.tls_key("acs")), &tls_chain).unwrap();
    let token = block(signer.sign("https://x", &acs.public(), &sdk.public_jwk())).unwrap();
    let anchors = TrustAnchors::from_pem(&read(alpha.ds_root_ca())).unwrap();
    assert!(signed_content::verify(&token, &anchors, &sdk.public()).is_err());
    // alg none: no signature to check, never accepted.
    let parts: Vec<&str> = token.split('.').collect();
    let none = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        br#"{"alg":"none"}"#,
    );
    let forged = format!("{none}.{}.", parts[1]);
    let err = signed_content::verify(&forged, &anchors, &sdk.public()).unwrap_err();
    assert!(matches!(err, CryptoError::Untrusted { .. }), "{err}");
}

/// A key held elsewhere (as in a KMS: it answers DER signatures), certified under the
/// DS root by `pki::acs_signing_chain_for_key`: the JWS built around its signature
/// verifies in the SDK's check, so the DER → R‖S conversion is right.
#[test]
fn signed_content_from_a_remote_es256_key_verifies() {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;

    #[derive(Debug)]
    struct Remote(openssl::pkey::PKey<openssl::pkey::Private>);
    impl app_crypto::signed_content::RemoteEs256 for Remote {
        fn sign_der<'a>(
            &'a self,
            message: &'a [u8],
        ) -> app_crypto::signed_content::DerSignature<'a> {
            Box::pin(async move {
                let mut signer =
                    openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &self.0)
                        .map_err(|e| e.to_string())?;
                signer
                    .sign_oneshot_to_vec(message)
                    .map_err(|e| e.to_string())
            })
        }
    }

    let pki = pki();
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = openssl::pkey::PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let spki = key.public_key_to_der().unwrap();
    let chain = pki::acs_signing_chain_for_key(pki.layout.root(), "alpha", &spki).unwrap();
    let signer = AcsSigner::remote(std::sync::Arc::new(Remote(key)), chain.as_bytes()).unwrap();
    assert_eq!(signer.algorithm(), "ES256");
    let sdk = EphemeralKey::generate();
    let acs = EphemeralKey::generate();
    let anchors = TrustAnchors::from_pem(&read(pki.layout.scheme("alpha").ds_root_ca())).unwrap();
    for _ in 0..20 {
        // Twenty signatures: R or S with a leading zero byte must survive the padding.
        let token = block(signer.sign(
            "https://acs.localhost/app/creq",
            &acs.public(),
            &sdk.public_jwk(),
        ))
        .unwrap();
        let content = signed_content::verify(&token, &anchors, &sdk.public()).unwrap();
        assert_eq!(content.alg, "ES256");
    }
    // Under the other scheme's root, it is not trusted.
    let beta = TrustAnchors::from_pem(&read(pki.layout.scheme("beta").ds_root_ca())).unwrap();
    let token = block(signer.sign("https://x", &acs.public(), &sdk.public_jwk())).unwrap();
    assert!(signed_content::verify(&token, &beta, &sdk.public()).is_err());
}
