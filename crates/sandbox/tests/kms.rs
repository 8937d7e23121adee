//! The whole sandbox on AWS KMS (a KMS-compatible server: moto, started by `cargo
//! xtask test`, which sets `THREEDS_TEST_KMS` and the AWS environment; skipped without
//! it). Under load, the data-key cache keeps KMS data-key calls below one per
//! transaction — counted in the key audit log, where every KMS call is recorded — and
//! the authentication values are the KMS HMAC key's (recomputed with `GenerateMac`);
//! `threeds doctor` checks the KMS keys.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::MacAlgorithmSpec;
use base64::Engine as _;
use sandbox::{KeyBackend, KeysInfo, Sandbox};
use serde_json::Value;

mod support;

use support::{browser, card};

const TRANSACTIONS: usize = 200;

#[tokio::test]
async fn under_load_kms_data_key_calls_stay_below_one_per_transaction() {
    let Ok(url) = std::env::var("THREEDS_TEST_KMS") else {
        eprintln!("THREEDS_TEST_KMS is not set: AWS KMS not tested here");
        return;
    };
    let kms = aws_sdk_kms::Client::new(&kms::aws::sdk_config(Some(&url)).await);
    let (data_key, mac_key) = kms::aws::create_keys(&kms).await.unwrap();

    let dirs = tempfile::tempdir().unwrap();
    let mut config = support::config_in(dirs.path());
    config.keys = KeyBackend::AwsKms(kms::AwsKmsConfig {
        data_key: data_key.clone(),
        mac_key: mac_key.clone(),
        cache: kms::CachePolicy::default(),
        who: "sandbox".into(),
        audit_log: None,
        endpoint: Some(url.clone()),
    });
    let sandbox = Sandbox::start(&config).await.unwrap();
    let KeysInfo::AwsKms {
        audit_log: Some(audit_log),
        ..
    } = &sandbox.manifest.keys
    else {
        panic!("{:?}", sandbox.manifest.keys)
    };
    let audit_log = audit_log.clone();
    let count = |operation: &str| {
        std::fs::read_to_string(&audit_log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| l["operation"] == operation && l["result"] == "ok")
            .count()
    };
    let before = count("GenerateDataKey") + count("Decrypt");

    let requestor = support::client_as(&config.certs, "requestor");
    let api = format!("{}/v1/auth", sandbox.manifest.endpoints.requestor_api);
    let pan = card("alpha", "frictionless-Y");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..TRANSACTIONS {
        let requestor = requestor.clone();
        let api = api.clone();
        let mut body = browser(&pan, "2.2.0");
        body["messageVersion"] = "2.2.0".into();
        let body = body.to_string().into_bytes();
        tasks.spawn(async move { requestor.post_json(&api, body).await });
    }
    let mut answers = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let reply = done.unwrap().unwrap();
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        answers.push(serde_json::from_slice::<Value>(&reply.body).unwrap());
    }
    let data_key_calls = count("GenerateDataKey") + count("Decrypt") - before;
    eprintln!(
        "{TRANSACTIONS} authentications: {data_key_calls} KMS data-key calls, {} GenerateMac",
        count("GenerateMac")
    );
    assert!(
        data_key_calls < TRANSACTIONS,
        "{data_key_calls} data-key calls for {TRANSACTIONS} transactions"
    );
    assert!(
        data_key_calls <= 10,
        "{data_key_calls}: a few tables, not per record"
    );
    // One GenerateMac per authentication value, and the one at connect.
    assert_eq!(count("GenerateMac"), TRANSACTIONS + 1);

    // An authentication value is the KMS key's HMAC of what the ACS authenticates.
    let ares = &answers[0]["ares"];
    assert_eq!(ares["transStatus"], "Y", "{ares}");
    let message = format!(
        "authentication-value:F000000001\0{}|{pan}|12345|Y",
        ares["acsTransID"].as_str().unwrap()
    );
    let mac = kms
        .generate_mac()
        .key_id(&mac_key)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .message(Blob::new(message.into_bytes()))
        .send()
        .await
        .unwrap();
    let expected =
        base64::engine::general_purpose::STANDARD.encode(&mac.mac().unwrap().as_ref()[..20]);
    assert_eq!(ares["authenticationValue"], expected.as_str());

    // The doctor reaches the same KMS keys and uses every purpose.
    let report = sandbox::doctor::examine(&sandbox.manifest, &Default::default()).await;
    assert!(report.passed, "{}", report.table());
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.check == "keys" && c.target.starts_with("AWS KMS (")),
        "{}",
        report.table()
    );
}
