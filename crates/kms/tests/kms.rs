//! The key service and envelope encryption: published vectors pin the primitives, and
//! the properties that matter for card data are checked directly — records open only
//! under their own context and key, any change is detected, keys are per purpose, and
//! the master key persists owner-only.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use kms::envelope::{Sealed, open, pan_lookup_hash, seal};
use kms::{EncryptionContext, KeyError, KeyService, MacPurpose, SoftwareKeys};

/// Runs a future that completes without waiting (the software key service never waits).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the software key service should never wait"),
    }
}

fn keys() -> SoftwareKeys {
    SoftwareKeys::from_master([7u8; 32])
}

fn record(id: &str) -> EncryptionContext {
    EncryptionContext::new()
        .with("table", "acs_cards")
        .with("record", id)
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

#[test]
fn aes_256_gcm_matches_the_published_vectors() {
    // McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13 and 14.
    let key = [0u8; 32];
    let nonce = [0u8; 12];
    assert_eq!(
        kms::aes_256_gcm_seal(&key, &nonce, b"", b""),
        unhex("530f8afbc74536b9a963b4f1c4cb738b")
    );
    assert_eq!(
        kms::aes_256_gcm_seal(&key, &nonce, b"", &[0u8; 16]),
        unhex("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919")
    );
}

#[test]
fn hmac_sha256_matches_rfc_4231() {
    // RFC 4231, test cases 1 and 2.
    assert_eq!(
        kms::hmac_sha256(&[0x0b; 20], b"Hi There").to_vec(),
        unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    );
    assert_eq!(
        kms::hmac_sha256(b"Jefe", b"what do ya want for nothing?").to_vec(),
        unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    );
}

#[test]
fn a_sealed_record_opens_only_under_its_own_context() {
    let keys = keys();
    let sealed = block_on(seal(&keys, &record("42"), b"4000000000002701")).unwrap();
    assert!(
        !sealed
            .ciphertext
            .windows(16)
            .any(|w| w == b"4000000000002701")
    );
    let opened = block_on(open(&keys, &record("42"), &sealed)).unwrap();
    assert_eq!(opened.as_slice(), b"4000000000002701");

    let other = block_on(open(&keys, &record("43"), &sealed));
    assert!(
        matches!(other, Err(KeyError::Decrypt)),
        "moved to another record: {other:?}"
    );
}

#[test]
fn any_change_is_detected() {
    let keys = keys();
    let sealed = block_on(seal(&keys, &record("1"), b"secret")).unwrap();
    let mut flipped = sealed.clone();
    flipped.ciphertext[0] ^= 1;
    assert!(block_on(open(&keys, &record("1"), &flipped)).is_err());
    let mut nonce = sealed.clone();
    nonce.nonce[0] ^= 1;
    assert!(block_on(open(&keys, &record("1"), &nonce)).is_err());
    let mut wrapped = sealed.clone();
    wrapped.wrapped_key.blob[20] ^= 1;
    assert!(block_on(open(&keys, &record("1"), &wrapped)).is_err());
    let stranger = SoftwareKeys::from_master([8u8; 32]);
    let err = block_on(open(&stranger, &record("1"), &sealed)).unwrap_err();
    assert!(matches!(err, KeyError::UnknownKey(_)), "{err:?}");
}

#[test]
fn every_record_gets_a_fresh_data_key_and_nonce() {
    let keys = keys();
    let a = block_on(seal(&keys, &record("1"), b"same")).unwrap();
    let b = block_on(seal(&keys, &record("1"), b"same")).unwrap();
    assert_ne!(a.wrapped_key.blob, b.wrapped_key.blob);
    assert_ne!(a.nonce, b.nonce);
    assert_ne!(a.ciphertext, b.ciphertext);
}

#[test]
fn sealed_records_round_trip_through_bytes_and_reject_garbage() {
    let keys = keys();
    let sealed = block_on(seal(&keys, &record("9"), b"payload")).unwrap();
    let bytes = sealed.to_bytes();
    assert_eq!(Sealed::from_bytes(&bytes).unwrap(), sealed);
    for cut in [0, 1, 3, 10, bytes.len() - 17] {
        assert!(Sealed::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut version = bytes;
    version[0] = 9;
    assert!(matches!(
        Sealed::from_bytes(&version),
        Err(KeyError::Malformed(_))
    ));
}

#[test]
fn each_purpose_has_its_own_key() {
    let keys = keys();
    let pan = block_on(keys.mac(&MacPurpose::PanLookup, b"4000000000002701")).unwrap();
    let again = block_on(keys.mac(&MacPurpose::PanLookup, b"4000000000002701")).unwrap();
    assert_eq!(pan, again, "deterministic, so it can be looked up");
    let issuer_a = MacPurpose::AuthenticationValue {
        issuer: "alpha".into(),
    };
    let issuer_b = MacPurpose::AuthenticationValue {
        issuer: "beta".into(),
    };
    let av_a = block_on(keys.mac(&issuer_a, b"4000000000002701")).unwrap();
    let av_b = block_on(keys.mac(&issuer_b, b"4000000000002701")).unwrap();
    assert!(pan != av_a && av_a != av_b);
    let hash = block_on(pan_lookup_hash(&keys, "4000000000002701")).unwrap();
    assert_eq!(hash.len(), 64);
    assert!(!hash.contains("4000000000002701"));
}

#[test]
fn the_master_key_persists_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys/master.key");
    let first = SoftwareKeys::open_or_create(&path).unwrap();
    let sealed = block_on(seal(&first, &record("p"), b"kept across restarts")).unwrap();
    let second = SoftwareKeys::open_or_create(&path).unwrap();
    assert_eq!(first.key_id(), second.key_id());
    assert_eq!(
        block_on(open(&second, &record("p"), &sealed))
            .unwrap()
            .as_slice(),
        b"kept across restarts"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    std::fs::write(&path, b"short").unwrap();
    let err = SoftwareKeys::open_or_create(&path).unwrap_err();
    assert!(err.to_string().contains("32-byte master key"), "{err}");
}

#[test]
fn debug_output_never_shows_key_material() {
    let keys = keys();
    let key = block_on(keys.generate_data_key(&record("d"))).unwrap();
    let shown = format!("{keys:?} {key:?}");
    assert!(shown.contains("redacted"), "{shown}");
    assert!(
        !shown.contains(&format!("{:?}", &key.plaintext[..4])),
        "{shown}"
    );
}

#[test]
fn every_operation_is_audited_with_who_purpose_key_and_result() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys-audit.jsonl");
    let keys = keys().audited(kms::AuditLog::open(&path, "kms test").unwrap());
    let cards = EncryptionContext::new()
        .with("table", "acs_cards")
        .record("c1");
    let sealed = block_on(seal(&keys, &cards, b"4000000000000002")).unwrap();
    block_on(open(&keys, &cards, &sealed)).unwrap();
    let elsewhere = EncryptionContext::new()
        .with("table", "spc_credentials")
        .record("c1");
    assert!(block_on(open(&keys, &elsewhere, &sealed)).is_err());
    block_on(keys.mac(&MacPurpose::ChallengeAnswer, b"123456")).unwrap();

    let log = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seen: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["operation"].as_str().unwrap(),
                l["purpose"].as_str().unwrap(),
                l["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("GenerateDataKey", "data key (table=acs_cards)", "ok"),
            ("Decrypt", "data key (table=acs_cards)", "ok"),
            (
                "Decrypt",
                "data key (table=spc_credentials)",
                "failed: decryption failed (wrong key or encryption context, or the data was altered)"
            ),
            ("GenerateMac", "challenge-answer", "ok"),
        ],
        "{log}"
    );
    for line in &lines {
        assert_eq!(line["who"], "kms test");
        assert_eq!(line["keyId"], keys.key_id());
        assert_eq!(line["via"], "local");
        assert!(line["at"].as_u64().unwrap() > 1_700_000_000_000);
    }
    // Nothing of the data: no card number, no record id.
    assert!(
        !log.contains("4000000000000002") && !log.contains("c1"),
        "{log}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
