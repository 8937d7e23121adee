//! The app channel's cryptography, as each reader meets it: the DS decrypting device
//! data, the ACS and the SDK opening CReq/CRes JWEs, the SDK verifying
//! `acsSignedContent`.

use app_crypto::device_data::{self, EcAlg};
use app_crypto::session::{self, Direction, Enc};
use app_crypto::signed_content;
use emv3ds::{Context, Role, Validator};

use crate::fixture::{Fixture, ready};
use crate::targets::protocol::examples;
use crate::{split_mode, with_mode};

/// Mode 0: `data` as a token each scheme's DS decrypts. 1: `data` as the device
/// information, encrypted to each scheme (both EC forms) and decrypted again.
pub fn device_data(data: &[u8]) {
    let fixture = Fixture::get();
    let (mode, data) = split_mode(data, 2);
    if mode == 0 {
        let token = String::from_utf8_lossy(data);
        for scheme in fixture.schemes() {
            if let Ok(plaintext) =
                device_data::decrypt(&token, &scheme.ds_private, &scheme.directory_server_id)
            {
                let _ = device_data::parse_device_info(&plaintext);
            }
        }
        return;
    }
    let _ = device_data::parse_device_info(data);
    for scheme in fixture.schemes() {
        for alg in [EcAlg::EcdhEs, EcAlg::DirWithEpk] {
            let token =
                device_data::encrypt_as(data, &scheme.ds_public, &scheme.directory_server_id, alg)
                    .expect("any bytes encrypt");
            let back =
                device_data::decrypt(&token, &scheme.ds_private, &scheme.directory_server_id)
                    .expect("what the SDK writes, the DS reads");
            assert_eq!(back, data);
        }
    }
}

/// Device information sealed to each scheme, and as plaintext.
pub fn device_data_seeds() -> Vec<Vec<u8>> {
    let fixture = Fixture::get();
    let info = br#"{"DV":"1.7","DD":{"C001":"Android","C002":"Pixel 8","C003":"14"},"DPNA":{},"SW":["SW01"]}"#;
    let mut seeds = vec![with_mode(1, info)];
    for scheme in fixture.schemes() {
        for alg in [EcAlg::EcdhEs, EcAlg::DirWithEpk] {
            if let Ok(token) =
                device_data::encrypt_as(info, &scheme.ds_public, &scheme.directory_server_id, alg)
            {
                seeds.push(with_mode(0, token.as_bytes()));
            }
        }
    }
    seeds
}

/// Mode 0: `data` as a JWE either side opens (and, opened, what the ACS's and the SDK's
/// validators make of it). 1: `data` as a plaintext sealed with each `enc` in each
/// direction and opened again.
pub fn app_jwe(data: &[u8]) {
    let key = &Fixture::get().session;
    let (mode, data) = split_mode(data, 2);
    if mode == 0 {
        let token = String::from_utf8_lossy(data);
        let _ = session::key_id(&token);
        for (direction, reader) in [
            (Direction::SdkToAcs, Role::Acs),
            (Direction::AcsToSdk, Role::Sdk),
        ] {
            if let Ok(opened) = key.open(direction, &token) {
                let _ = Validator::new(reader).validate(&opened.plaintext, &Context::default());
            }
        }
        return;
    }
    for direction in [Direction::SdkToAcs, Direction::AcsToSdk] {
        for enc in [Enc::A128CbcHs256, Enc::A128Gcm] {
            let token = key
                .seal(direction, enc, "acs-trans-id", data)
                .expect("any bytes seal");
            assert_eq!(
                session::key_id(&token).expect("our own header"),
                Some("acs-trans-id".to_owned())
            );
            let opened = key
                .open(direction, &token)
                .expect("what one side seals, the other opens");
            assert_eq!((opened.enc, opened.plaintext.as_slice()), (enc, data));
        }
    }
}

/// App CReqs sealed as the SDK does, app CRes as the ACS does, and both as plaintext.
pub fn app_jwe_seeds() -> Vec<Vec<u8>> {
    let key = &Fixture::get().session;
    let mut seeds = Vec::new();
    for (prefix, direction) in [
        ("CReq-app", Direction::SdkToAcs),
        ("CRes-app", Direction::AcsToSdk),
    ] {
        for message in examples(prefix) {
            for enc in [Enc::A128CbcHs256, Enc::A128Gcm] {
                if let Ok(token) = key.seal(direction, enc, "acs-trans-id", &message) {
                    seeds.push(with_mode(0, token.as_bytes()));
                }
            }
            seeds.push(with_mode(1, &message));
        }
    }
    seeds
}

/// Mode 0: `data` as a token the SDK verifies against each scheme's root. 1: `data` as
/// the payload, properly signed by the alpha ACS (x5c chain and all), so the payload
/// reader is reached. 2: `data` as the `acsURL` of content the ACS signs in each scheme,
/// which must verify and give that URL back.
pub fn signed_content(data: &[u8]) {
    let fixture = Fixture::get();
    let sdk = fixture.sdk_ephemeral.public();
    let (mode, data) = split_mode(data, 3);
    match mode {
        0 => {
            let token = String::from_utf8_lossy(data);
            for scheme in fixture.schemes() {
                let _ = signed_content::verify(&token, &scheme.anchors, &sdk);
            }
        }
        1 => {
            let token = sign_as_acs(data);
            if let Ok(content) = signed_content::verify(&token, &fixture.alpha.anchors, &sdk) {
                let payload: serde_json::Value =
                    serde_json::from_slice(data).expect("verified content is JSON");
                assert_eq!(payload["acsURL"].as_str(), Some(content.acs_url.as_str()));
            }
        }
        _ => {
            let url = String::from_utf8_lossy(data);
            for scheme in fixture.schemes() {
                let token = ready(scheme.acs_signer.sign(
                    &url,
                    &fixture.acs_ephemeral.public(),
                    &fixture.sdk_ephemeral.public_jwk(),
                ))
                .expect("any URL signs");
                let content = signed_content::verify(&token, &scheme.anchors, &sdk)
                    .expect("what the ACS signs, the SDK verifies");
                assert_eq!(content.acs_url, url);
                assert_eq!(content.acs_ephem_pub_key, fixture.acs_ephemeral.public());
            }
        }
    }
}

/// `payload` signed ES256 by the alpha ACS's key, its chain in `x5c`.
fn sign_as_acs(payload: &[u8]) -> String {
    use josekit::jws::{self, JwsHeader};
    let alpha = &Fixture::get().alpha;
    let signer = jws::ES256
        .signer_from_pem(&alpha.acs_key_pem)
        .expect("the alpha ACS key is P-256");
    let mut header = JwsHeader::new();
    header.set_x509_certificate_chain(&alpha.acs_chain_der);
    jws::serialize_compact(payload, &header, &signer).expect("any payload signs")
}

/// Content the ACS signs in each scheme, its payload, and an `acsURL`.
pub fn signed_content_seeds() -> Vec<Vec<u8>> {
    let fixture = Fixture::get();
    let url = "https://acs.localhost:8443/app/challenge";
    let mut seeds = Vec::new();
    for scheme in fixture.schemes() {
        if let Ok(token) = ready(scheme.acs_signer.sign(
            url,
            &fixture.acs_ephemeral.public(),
            &fixture.sdk_ephemeral.public_jwk(),
        )) {
            seeds.push(with_mode(0, token.as_bytes()));
        }
    }
    let payload = serde_json::json!({
        "acsURL": url,
        "acsEphemPubKey": fixture.acs_ephemeral.public_jwk(),
        "sdkEphemPubKey": fixture.sdk_ephemeral.public_jwk(),
    });
    seeds.push(with_mode(1, payload.to_string().as_bytes()));
    seeds.push(with_mode(2, url.as_bytes()));
    seeds
}
