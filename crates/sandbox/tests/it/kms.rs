//! The whole sandbox on AWS KMS (a KMS-compatible server: moto, started by `cargo
//! xtask test`, which sets `THREEDS_TEST_KMS` and the AWS environment; skipped without
//! it). Under load, the data-key cache keeps KMS data-key calls below one per
//! transaction — counted in the key audit log, where every KMS call is recorded — and
//! the authentication values are the KMS HMAC key's (recomputed with `GenerateMac`);
//! `threeds doctor` checks the KMS keys.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::MacAlgorithmSpec;
use base64::Engine as _;
use sandbox::{KeyBackend, KeysInfo, Sandbox};
use serde_json::Value;

use crate::support;

use support::{browser, card};

const TRANSACTIONS: usize = 200;

#[tokio::test]
async fn under_load_kms_data_key_calls_stay_below_one_per_transaction() {
    let Some(url) = test_services::kms() else {
        return;
    };
    let kms = aws_sdk_kms::Client::new(&kms::aws::sdk_config(Some(&url)).await);
    let (data_key, mac_key) = kms::aws::create_keys(&kms).await.unwrap();

    let dirs = tempfile::tempdir().unwrap();
    let mut config = support::config_in(dirs.path());
    config.keys = KeyBackend::AwsKms(kms::AwsKmsConfig {
        data_key: data_key.clone(),
        mac_key: mac_key.clone(),
        sign_key: None,
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
    let count_via = |operation: &str, via: &str| {
        std::fs::read_to_string(&audit_log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| l["operation"] == operation && l["via"] == via && l["result"] == "ok")
            .count()
    };
    let count = |operation: &str| count_via(operation, "kms");
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
    // The data keys the cache served, and the local digests, are audited too.
    assert!(count_via("GenerateDataKey", "cache") >= TRANSACTIONS - data_key_calls);
    assert!(count_via("GenerateMac", "local") >= TRANSACTIONS);

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

/// The ACS's `acsSignedContent` signed by a KMS key (ES256 scheme alpha): the mock SDK
/// checks the chain to the DS root and the signature, then completes the challenge;
/// the certificate in `x5c` certifies the KMS key's public half, and KMS audited the
/// `Sign`.
#[tokio::test]
async fn an_app_challenge_signed_by_kms_verifies_in_the_sdk() {
    use sdk::backend::{self, Purchase};
    use sdk::{Action, ChallengeParameters, ChallengeStatus, ScriptedDriver, ThreeDs2Service};

    let Some(url) = test_services::kms() else {
        return;
    };
    let kms = aws_sdk_kms::Client::new(&kms::aws::sdk_config(Some(&url)).await);
    let (data_key, mac_key) = kms::aws::create_keys(&kms).await.unwrap();
    let sign_key = kms::aws::create_signing_key(&kms).await.unwrap();
    let dirs = tempfile::tempdir().unwrap();
    let mut config = support::config_in(dirs.path());
    config.keys = KeyBackend::AwsKms(kms::AwsKmsConfig {
        data_key,
        mac_key,
        sign_key: Some(sign_key.clone()),
        cache: kms::CachePolicy::default(),
        who: "sandbox".into(),
        audit_log: None,
        endpoint: Some(url.clone()),
    });
    let sandbox = Sandbox::start(&config).await.unwrap();
    let requestor = support::client_as(&config.certs, "requestor");
    let sdk = ThreeDs2Service::initialize(sandbox.manifest.sdk_config().unwrap()).unwrap();
    let alpha = sandbox
        .manifest
        .schemes
        .iter()
        .find(|s| s.name == "alpha")
        .unwrap()
        .directory_server_id
        .clone();
    let pan = card("alpha", "challenge");
    let transaction = sdk
        .create_transaction(&alpha, emv3ds::MessageVersion::V2_2_0)
        .unwrap();
    let params = transaction.authentication_request_parameters().unwrap();
    let body = backend::auth_request(&Purchase::new(&pan), &params);
    let answer = backend::auth(&requestor, &sandbox.manifest.endpoints.requestor_api, &body)
        .await
        .unwrap();
    let ares = answer["ares"].clone();
    assert_eq!(ares["transStatus"], "C", "{ares}");

    // The x5c leaf certifies the KMS key.
    let token = ares["acsSignedContent"].as_str().unwrap();
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256");
    let leaf = base64::engine::general_purpose::STANDARD
        .decode(header["x5c"][0].as_str().unwrap())
        .unwrap();
    let leaf = openssl::x509::X509::from_der(&leaf).unwrap();
    let kms_public = kms.get_public_key().key_id(&sign_key).send().await.unwrap();
    assert_eq!(
        leaf.public_key().unwrap().public_key_to_der().unwrap(),
        kms_public.public_key().unwrap().as_ref()
    );

    // The SDK trusts it (chain to the DS root, signature) and completes the challenge.
    let challenge = ChallengeParameters::from_ares(&ares).unwrap();
    let mut driver = ScriptedDriver::new(vec![Action::Text("123456".into())]);
    let status = transaction
        .do_challenge(
            &challenge,
            &mut driver,
            &mut (),
            std::time::Duration::from_secs(20),
        )
        .await;
    assert!(
        matches!(&status, ChallengeStatus::Completed { trans_status, .. } if trans_status == "Y"),
        "{status:?}"
    );

    let KeysInfo::AwsKms {
        audit_log: Some(audit_log),
        ..
    } = &sandbox.manifest.keys
    else {
        panic!("{:?}", sandbox.manifest.keys)
    };
    let audit = std::fs::read_to_string(audit_log).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"operation\":\"Sign\"") && l.contains(&sign_key)),
        "{audit}"
    );
}
