//! Who may use the admin endpoint: the admin certificate and nothing else, and with a
//! second factor enrolled, a session opened with a right TOTP code; wrong codes are
//! counted, lock the endpoint out, and every refusal lands in the audit log (those of
//! the TLS handshake too).

use std::time::{SystemTime, UNIX_EPOCH};

use sandbox::Sandbox;
use sandbox::admin::AdminClient;
use sandbox::admin::totp::{DIGITS, STEP_SECONDS, Totp};
use serde_json::{Value, json};

use crate::support;

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn audit(sandbox: &Sandbox) -> Vec<Value> {
    std::fs::read_to_string(&sandbox.manifest.admin.audit_log)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test]
async fn only_the_admin_certificate_gets_in() {
    let dirs = tempfile::tempdir().unwrap();
    let config = support::config_in(dirs.path());
    let sandbox = Sandbox::start(&config).await.unwrap();
    let status = format!("{}/admin/status", sandbox.manifest.admin.url);
    assert!(!sandbox.manifest.admin.totp);

    // No certificate: the handshake itself fails.
    let root = pki::Layout::new(&config.certs).tls_root_ca();
    let anonymous = transport::Client::new(
        &pki::tls::client_config(&root, None).unwrap(),
        transport::Timeouts::default(),
    )
    .unwrap();
    assert!(anonymous.get(&status).await.is_err());

    // A component's certificate, from the same root: refused, and audited.
    let requestor = support::client_as(&config.certs, "requestor");
    let refused = requestor.get(&status).await.unwrap();
    assert_eq!(refused.status, 403);
    assert!(
        String::from_utf8_lossy(&refused.body)
            .contains("threeds requestor is not the admin certificate")
    );

    // The admin's: in, with no second factor enrolled.
    let admin = support::client_as(&config.certs, "admin");
    assert_eq!(admin.get(&status).await.unwrap().status, 200);
    // The purge on demand, and the issuer back office, are the admin's too.
    let purge = format!("{}/admin/purge", sandbox.manifest.admin.url);
    assert_eq!(
        requestor
            .post_json(&purge, Vec::new())
            .await
            .unwrap()
            .status,
        403
    );
    let purged = admin
        .post_json(&purge, br#"{"retentionSeconds": 0}"#.to_vec())
        .await
        .unwrap();
    assert_eq!(purged.status, 200);
    let purged: Value = serde_json::from_slice(&purged.body).unwrap();
    assert_eq!(purged, json!({ "purged": 0, "retentionSeconds": 0 }));
    let credentials = format!(
        "{}/admin/issuer/spc-credentials",
        sandbox.manifest.admin.url
    );
    let card = br#"{"acctNumber": "4000000000014003"}"#.to_vec();
    assert_eq!(
        requestor
            .post_json(&credentials, card.clone())
            .await
            .unwrap()
            .status,
        403
    );
    assert_eq!(
        admin.post_json(&credentials, card).await.unwrap().status,
        200
    );
    let opened = admin
        .post_json(
            &format!("{}/admin/session", sandbox.manifest.admin.url),
            br#"{"totp": "123456"}"#.to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(opened.status, 409, "nothing to open without enrolment");

    let log = audit(&sandbox);
    assert!(
        log.iter()
            .any(|e| e["who"]["commonName"] == "threeds requestor"
                && e["action"] == "GET /admin/status"
                && e["result"]
                    .as_str()
                    .unwrap()
                    .starts_with("refused: threeds requestor is not")),
        "{log:#?}"
    );
    // The caller without a certificate never reached a handler: the TLS layer
    // audited it.
    assert!(
        log.iter().any(|e| e["who"].is_null()
            && e["action"]
                .as_str()
                .unwrap()
                .starts_with("TLS handshake from 127.0.0.1:")
            && e["result"]
                .as_str()
                .unwrap()
                .contains("peer sent no certificates")),
        "{log:#?}"
    );
}

#[tokio::test]
async fn an_enrolled_second_factor_is_required_and_wrong_codes_are_counted() {
    let dirs = tempfile::tempdir().unwrap();
    let config = support::config_in(dirs.path());
    // Enrolled as `threeds admin enrol` does, under the sandbox's own master key.
    let uri = sandbox::admin::access::enrol(&config.data, false)
        .await
        .unwrap();
    assert!(
        sandbox::admin::access::enrol(&config.data, false)
            .await
            .unwrap_err()
            .contains("enrolled already")
    );
    let authenticator = Totp::from_uri(&uri).unwrap();
    let sandbox = Sandbox::start(&config).await.unwrap();
    assert!(sandbox.manifest.admin.totp);
    let base = &sandbox.manifest.admin.url;
    let status = format!("{base}/admin/status");
    let session = format!("{base}/admin/session");
    let admin = support::client_as(&config.certs, "admin");
    let code = |body: &str| json!({ "totp": body }).to_string().into_bytes();

    // The certificate alone is not enough any more.
    let without = admin.get(&status).await.unwrap();
    assert_eq!(without.status, 401);
    assert!(String::from_utf8_lossy(&without.body).contains("POST /admin/session"));
    // Nor is a certificate that is not the admin's, even with a right code.
    let now = now_seconds();
    let right = authenticator.code_at(now, DIGITS);
    let requestor = support::client_as(&config.certs, "requestor");
    assert_eq!(
        requestor
            .post_json(&session, code(&right))
            .await
            .unwrap()
            .status,
        403
    );

    // A wrong code: refused and counted.
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let refused = admin.post_json(&session, code(wrong)).await.unwrap();
    assert_eq!(refused.status, 401);
    assert!(
        String::from_utf8_lossy(&refused.body).contains("1 of 5 failures"),
        "{}",
        String::from_utf8_lossy(&refused.body)
    );

    // The right code opens a session, which lets requests in.
    let opened = admin.post_json(&session, code(&right)).await.unwrap();
    assert_eq!(
        opened.status,
        200,
        "{}",
        String::from_utf8_lossy(&opened.body)
    );
    let opened: Value = serde_json::from_slice(&opened.body).unwrap();
    let token = opened["session"].as_str().unwrap();
    assert_eq!(opened["expiresInSeconds"], 900);
    assert_eq!(
        admin.get_with_bearer(&status, token).await.unwrap().status,
        200
    );
    assert_eq!(
        admin
            .get_with_bearer(&status, "not-a-session")
            .await
            .unwrap()
            .status,
        401
    );
    // The same code again is a replay: refused and counted (2 of 5).
    assert_eq!(
        admin
            .post_json(&session, code(&right))
            .await
            .unwrap()
            .status,
        401
    );

    // Three more wrong codes make five: then even a right one is refused for a while.
    for _ in 0..3 {
        assert_eq!(
            admin.post_json(&session, code(wrong)).await.unwrap().status,
            401
        );
    }
    let next = authenticator.code_at(now + STEP_SECONDS, DIGITS);
    let locked = admin.post_json(&session, code(&next)).await.unwrap();
    assert_eq!(locked.status, 429);
    assert!(String::from_utf8_lossy(&locked.body).contains("locked"));
    // The session opened before the lock-out still works.
    assert_eq!(
        admin.get_with_bearer(&status, token).await.unwrap().status,
        200
    );

    // The admin client opens its own session from a code.
    let client = AdminClient::of(&sandbox.manifest).unwrap();
    assert!(
        client
            .clear_faults()
            .await
            .unwrap_err()
            .to_string()
            .contains("THREEDS_ADMIN_TOTP")
    );

    let log = audit(&sandbox);
    let results: Vec<&str> = log.iter().map(|e| e["result"].as_str().unwrap()).collect();
    let count = |prefix: &str| results.iter().filter(|r| r.starts_with(prefix)).count();
    assert_eq!(count("refused: wrong or reused code"), 5, "{results:#?}");
    assert_eq!(count("session opened"), 1, "{results:#?}");
    assert_eq!(count("refused: 5 wrong codes in 5 minutes: locked"), 1);
    assert!(log.iter().all(|e| e["at"].as_u64().is_some()));
    // The secret is sealed at rest: the file holds no base32 secret.
    let sealed = std::fs::read_to_string(config.data.join("keys/admin-totp")).unwrap();
    let secret = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(!sealed.contains(secret));
}

/// A trace commit that fails is counted, not silent: `/admin/status` says how many
/// commits failed, how many events they held and why, and still answers while the
/// trace store is unreadable.
#[tokio::test]
async fn failed_trace_commits_are_counted_in_the_status() {
    let dirs = tempfile::tempdir().unwrap();
    let config = support::config_in(dirs.path());
    let sandbox = Sandbox::start(&config).await.unwrap();
    let admin = AdminClient::of(&sandbox.manifest).unwrap();
    let before = admin.status().await.unwrap();
    assert_eq!((before.failed_commits, before.lost()), (0, 0), "{before:?}");

    // The trace store goes away; the sandbox keeps answering.
    sandbox.trace_store().close().await;
    let requestor = support::client_as(&config.certs, "requestor");
    let api = &sandbox.manifest.endpoints.requestor_api;
    let pan = support::card("alpha", "frictionless-Y");
    let pre = requestor
        .post_json(
            &format!("{api}/v1/preauth"),
            serde_json::to_vec(&json!({ "acctNumber": pan })).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(pre.status, 200);

    let mut status = admin.status().await.unwrap();
    for _ in 0..100 {
        if status.failed_commits > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        status = admin.status().await.unwrap();
    }
    assert!(status.failed_commits >= 1, "{status:?}");
    assert!(
        status.events_not_stored >= 2,
        "the call and its answer: {status:?}"
    );
    assert!(status.last_commit_error.is_some(), "{status:?}");
    assert!(
        status.store_error.is_some() && status.last_seq.is_none(),
        "{status:?}"
    );
    sandbox.shutdown().await;
}
