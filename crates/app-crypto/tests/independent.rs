//! Our app-channel tokens against an independent implementation: Python jwcrypto (with
//! `cryptography` for the 3DS ECDH derivation it does not have), run by
//! `tests/independent/jose_check.py`. It reads what our code makes (device data for the
//! EC and RSA DS keys, `acsSignedContent` in ES256 and PS256 with its chain checked to
//! the DS root, CReq and CRes in both `enc`s), and makes the same kinds of tokens for
//! our DS and ACS code to read — so our code and its expectations cannot be wrong in
//! the same way.
//!
//! `cargo xtask test` installs jwcrypto into `target/jose-venv` and says where with
//! `THREEDS_JOSE_PYTHON`; run alone, the test looks there too.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use app_crypto::device_data::{self, DsPrivateKey, DsPublicKey};
use app_crypto::keys::EphemeralKey;
use app_crypto::session::{Direction, Enc, SessionKey};
use app_crypto::signed_content::{self, AcsSigner, TrustAnchors};
use pki::{Layout, PkiSpec};
use serde_json::{Value, json};

fn python() -> PathBuf {
    let path = std::env::var_os("THREEDS_JOSE_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/jose-venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask test`, which installs Python jwcrypto there, \
         or set THREEDS_JOSE_PYTHON to a Python that has it",
        path.display()
    );
    path
}

fn text(path: PathBuf) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn jwcrypto_reads_our_tokens_and_we_read_its() {
    let dir = tempfile::tempdir().unwrap();
    pki::init(dir.path(), &PkiSpec::default(), false).unwrap();
    let layout = Layout::new(dir.path());
    let (alpha, beta) = (layout.scheme("alpha"), layout.scheme("beta"));
    let info = r#"{"DV":"1.7","DD":{"C001":"Android"},"DPNA":{},"SW":[]}"#;
    let public = |s: &pki::SchemeLayout| {
        DsPublicKey::from_certificate_pem(text(s.ds_encryption_cert()).as_bytes()).unwrap()
    };
    let sdk = EphemeralKey::generate();
    let acs = EphemeralKey::generate();
    let session = SessionKey::derive(&sdk, &acs.public(), "3DS_LOA_SDK_SNDBX_020100_00001");
    let acs_trans_id = "8a880dc0-d2d2-4067-bcb1-b08d1690b26e";
    let message = r#"{"messageType":"CReq","sdkCounterStoA":"000"}"#;
    let seal = |direction, enc| {
        session
            .seal(direction, enc, acs_trans_id, message.as_bytes())
            .unwrap()
    };
    let signers = [(&alpha, "ES256"), (&beta, "PS256")];
    let signed: Vec<Value> = signers
        .iter()
        .map(|(s, _)| {
            let signer = AcsSigner::from_pem(
                text(s.acs_signing_key()).as_bytes(),
                text(s.acs_signing_chain()).as_bytes(),
            )
            .unwrap();
            json!({
                "token": tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap()
                    .block_on(signer.sign("https://acs.localhost/app/creq", &acs.public(), &sdk.public_jwk()))
                    .unwrap(),
                "root_pem": text(s.ds_root_ca()),
            })
        })
        .collect();
    let job = json!({
        "ds_ec": {"id": "F000000001", "key_pem": text(alpha.ds_encryption_key()), "cert_pem": text(alpha.ds_encryption_cert())},
        "ds_rsa": {"id": "F000000002", "key_pem": text(beta.ds_encryption_key()), "cert_pem": text(beta.ds_encryption_cert())},
        "device_info": info,
        "session_key_hex": hex::encode(session.expose()),
        "acs_trans_id": acs_trans_id,
        "message": message,
        "ours": {
            "device_ec": device_data::encrypt(info.as_bytes(), &public(&alpha), "F000000001").unwrap(),
            "device_rsa": device_data::encrypt(info.as_bytes(), &public(&beta), "F000000002").unwrap(),
            "creq_cbc": seal(Direction::SdkToAcs, Enc::A128CbcHs256),
            "creq_gcm": seal(Direction::SdkToAcs, Enc::A128Gcm),
            "cres_cbc": seal(Direction::AcsToSdk, Enc::A128CbcHs256),
            "cres_gcm": seal(Direction::AcsToSdk, Enc::A128Gcm),
            "signed": signed,
        },
        "signers": signers.iter().map(|(s, alg)| json!({
            "key_pem": text(s.acs_signing_key()),
            "chain_pem": text(s.acs_signing_chain()),
            "alg": alg,
        })).collect::<Vec<_>>(),
        "signed_payload": {
            "acsURL": "https://acs.localhost/app/creq",
            "acsEphemPubKey": acs.public_jwk(),
            "sdkEphemPubKey": sdk.public_jwk(),
        },
    });

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/independent/jose_check.py");
    let mut child = Command::new(python())
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "jose_check.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();

    // jwcrypto read ours.
    let read = &result["read"];
    assert_eq!(read["device_ec"], info);
    assert_eq!(read["device_rsa"], info);
    for name in ["creq_cbc", "creq_gcm", "cres_cbc", "cres_gcm"] {
        assert_eq!(read[name], message, "{name}");
    }
    for (i, (_, alg)) in signers.iter().enumerate() {
        let got = &read["signed"][i];
        assert_eq!(got["alg"], *alg);
        assert_eq!(got["payload"]["acsEphemPubKey"], acs.public_jwk());
        assert_eq!(got["payload"]["sdkEphemPubKey"], sdk.public_jwk());
    }

    // We read jwcrypto's, through the functions the DS, the ACS and the SDK use.
    let made = &result["made"];
    let token = |name: &str| made[name].as_str().unwrap().to_owned();
    let private = |s: &pki::SchemeLayout| {
        DsPrivateKey::from_pem(text(s.ds_encryption_key()).as_bytes()).unwrap()
    };
    let device = device_data::decrypt(&token("device_rsa"), &private(&beta), "F000000002").unwrap();
    assert_eq!(device, info.as_bytes());
    let device =
        device_data::decrypt(&token("device_ec_dir"), &private(&alpha), "F000000001").unwrap();
    assert_eq!(device, info.as_bytes());
    for (name, direction, enc) in [
        ("creq_cbc", Direction::SdkToAcs, Enc::A128CbcHs256),
        ("creq_gcm", Direction::SdkToAcs, Enc::A128Gcm),
        ("cres_cbc", Direction::AcsToSdk, Enc::A128CbcHs256),
        ("cres_gcm", Direction::AcsToSdk, Enc::A128Gcm),
    ] {
        let opened = session.open(direction, &token(name)).unwrap();
        assert_eq!(
            (opened.enc, opened.kid.as_deref()),
            (enc, Some(acs_trans_id)),
            "{name}"
        );
        assert_eq!(opened.plaintext, message.as_bytes(), "{name}");
    }
    for (i, (s, alg)) in signers.iter().enumerate() {
        let anchors = TrustAnchors::from_pem(text(s.ds_root_ca()).as_bytes()).unwrap();
        let content =
            signed_content::verify(made["signed"][i].as_str().unwrap(), &anchors, &sdk.public())
                .unwrap();
        assert_eq!(content.alg, *alg);
        assert_eq!(content.acs_ephem_pub_key, acs.public());
    }
}
