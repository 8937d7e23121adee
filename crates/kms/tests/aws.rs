//! [`kms::AwsKms`] against a KMS-compatible server (moto, started by `cargo xtask test`,
//! which sets `THREEDS_TEST_KMS` to its URL and the AWS environment: region, test
//! credentials). Skipped, with a note, without it.
//!
//! Envelope encryption round trips through KMS data keys; a record opens only under its
//! own context; the data-key cache keeps KMS calls to one per table (and per `max_uses`
//! records), and reopening needs one `Decrypt` per data key, not per record; the
//! authentication value is KMS's own HMAC (checked with `VerifyMac`); every key
//! operation is in the audit log, KMS call or not.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::MacAlgorithmSpec;
use kms::{AwsKms, AwsKmsConfig, CachePolicy, EncryptionContext, KeyService, MacPurpose, envelope};

/// The test server's URL, or `None` (test skipped).
fn server() -> Option<String> {
    test_services::kms()
}

/// A client of the test server, to make keys and check MACs as an outsider.
async fn sdk(url: &str) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&kms::aws::sdk_config(Some(url)).await)
}

/// A fresh symmetric key and HMAC key on the server.
async fn keys(client: &aws_sdk_kms::Client) -> (String, String) {
    kms::aws::create_keys(client).await.unwrap()
}

fn config(url: &str, data: &str, mac: &str, audit: &std::path::Path) -> AwsKmsConfig {
    AwsKmsConfig {
        data_key: data.to_owned(),
        mac_key: mac.to_owned(),
        sign_key: None,
        cache: CachePolicy::default(),
        who: "kms test".into(),
        audit_log: Some(audit.to_owned()),
        endpoint: Some(url.to_owned()),
    }
}

fn record(table: &str, id: usize) -> EncryptionContext {
    EncryptionContext::new()
        .with("table", table)
        .record(id.to_string())
}

#[tokio::test]
async fn envelopes_round_trip_and_the_cache_keeps_kms_calls_per_table() {
    let Some(url) = server() else { return };
    let client = sdk(&url).await;
    let (data, mac) = keys(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("keys-audit.jsonl");
    let keys = AwsKms::connect(config(&url, &data, &mac, &audit))
        .await
        .unwrap();
    let at_start = keys.calls();
    assert_eq!(at_start.generate_mac, 1, "the local digest key, once");

    // 500 records over two tables: two data keys.
    let mut sealed = Vec::new();
    for i in 0..500 {
        let table = if i % 2 == 0 { "cards" } else { "requests" };
        let plain = format!("record {i}");
        let s = envelope::seal(&keys, &record(table, i), plain.as_bytes())
            .await
            .unwrap();
        sealed.push((table, i, plain, s));
    }
    assert_eq!(keys.calls().generate_data_key, 2);
    for (table, i, plain, s) in &sealed {
        let opened = envelope::open(&keys, &record(table, *i), s).await.unwrap();
        assert_eq!(opened.as_slice(), plain.as_bytes());
    }
    assert_eq!(keys.calls().decrypt, 0, "the sealing keys were cached");
    // A record opens under its own id only, even with its table's key cached.
    let (table, i, _, s) = &sealed[0];
    assert!(
        envelope::open(&keys, &record(table, i + 2), s)
            .await
            .is_err()
    );

    // Another process (no cache): one Decrypt per data key, not per record.
    let reader = AwsKms::connect(config(&url, &data, &mac, &audit))
        .await
        .unwrap();
    for (table, i, plain, s) in &sealed {
        let opened = envelope::open(&reader, &record(table, *i), s)
            .await
            .unwrap();
        assert_eq!(opened.as_slice(), plain.as_bytes());
    }
    assert_eq!(reader.calls().decrypt, 2);
    // KMS itself refuses a data key asked for under another table.
    let fresh = AwsKms::connect(config(&url, &data, &mac, &audit))
        .await
        .unwrap();
    let moved = envelope::open(&fresh, &record("elsewhere", *i), s)
        .await
        .unwrap_err();
    assert!(moved.to_string().contains("Decrypt"), "{moved}");

    // The same local digest key in every process.
    let pan = keys
        .mac(&MacPurpose::PanLookup, b"4000000000000002")
        .await
        .unwrap();
    assert_eq!(
        pan,
        reader
            .mac(&MacPurpose::PanLookup, b"4000000000000002")
            .await
            .unwrap()
    );

    // Every key operation audited, with who, which key and where it was: the KMS
    // calls, the data keys reused from the cache, the local digests.
    let log = std::fs::read_to_string(&audit).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count = |op: &str, via: &str, result: &str| {
        lines
            .iter()
            .filter(|l| {
                l["operation"] == op
                    && l["via"] == via
                    && l["result"].as_str().unwrap().starts_with(result)
            })
            .count()
    };
    assert_eq!(count("GenerateDataKey", "kms", "ok"), 2);
    assert_eq!(count("GenerateDataKey", "cache", "ok"), 498);
    assert_eq!(count("Decrypt", "kms", "ok"), 2);
    assert_eq!(count("Decrypt", "kms", "failed"), 1);
    // 500 + the record opened under another id (the key was there; the AEAD refused)
    // in the sealing process, 498 in the reader.
    assert_eq!(count("Decrypt", "cache", "ok"), 501 + 498);
    assert_eq!(count("GenerateMac", "kms", "ok"), 3, "one per connect");
    assert_eq!(count("GenerateMac", "local", "ok"), 2, "the PAN digests");
    assert_eq!(lines.len(), 2 + 498 + 2 + 1 + 999 + 3 + 2);
    assert!(
        lines
            .iter()
            .filter(|l| l["operation"] == "GenerateDataKey")
            .all(|l| l["purpose"] == "data key (table=cards)"
                || l["purpose"] == "data key (table=requests)")
    );
    assert!(
        lines
            .iter()
            .all(|l| l["who"] == "kms test" && l["keyId"].as_str().is_some_and(|k| !k.is_empty()))
    );
}

#[tokio::test]
async fn a_data_key_serves_max_uses_records_and_max_age() {
    let Some(url) = server() else { return };
    let client = sdk(&url).await;
    let (data, mac) = keys(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&url, &data, &mac, &dir.path().join("audit.jsonl"));
    config.cache = CachePolicy {
        max_age: Duration::from_secs(300),
        max_uses: 100,
        max_entries: 16,
    };
    let keys = AwsKms::connect(config.clone()).await.unwrap();
    for i in 0..250 {
        envelope::seal(&keys, &record("t", i), b"x").await.unwrap();
    }
    assert_eq!(keys.calls().generate_data_key, 3, "100 + 100 + 50");

    config.cache.max_age = Duration::ZERO;
    let keys = AwsKms::connect(config).await.unwrap();
    for i in 0..3 {
        envelope::seal(&keys, &record("t", i), b"x").await.unwrap();
    }
    assert_eq!(keys.calls().generate_data_key, 3, "no reuse at age zero");
}

#[tokio::test]
async fn authentication_values_are_the_kms_keys_hmac() {
    let Some(url) = server() else { return };
    let client = sdk(&url).await;
    let (data, mac) = keys(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let keys = AwsKms::connect(config(&url, &data, &mac, &dir.path().join("a.jsonl")))
        .await
        .unwrap();
    let purpose = MacPurpose::AuthenticationValue {
        issuer: "alpha".into(),
    };
    let message = b"acsTransID|Y|05";
    let av = keys.mac(&purpose, message).await.unwrap();
    assert_eq!(keys.calls().generate_mac, 2, "connect, then the AV");
    // KMS verifies it as its own MAC of the purpose-labelled message.
    let mut labelled = b"authentication-value:alpha\0".to_vec();
    labelled.extend_from_slice(message);
    let verified = client
        .verify_mac()
        .key_id(&mac)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .message(Blob::new(labelled))
        .mac(Blob::new(av.to_vec()))
        .send()
        .await
        .unwrap();
    assert!(verified.mac_valid());
    // Another issuer, another value.
    let other = MacPurpose::AuthenticationValue {
        issuer: "beta".into(),
    };
    assert_ne!(keys.mac(&other, message).await.unwrap(), av);
}
