//! The 3DS Server's router with no server around it (`tower::ServiceExt::oneshot`):
//! who may call what, and the requestor API's answers to bad input, with the caller's
//! identity set as the TLS layer would set it. Its DS is a closed loopback port and its
//! card-range cache is empty, so nothing here leaves the process.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::sync::Arc;

use axum::http::StatusCode;
use emv3ds::MessageVersion;
use serde_json::{Value, json};
use threeds_server::{DsPeer, ServerConfig, ServerState};

const REQUESTOR: &str = "threeds Requestor";
const DS: &str = "threeds DS alpha";

struct Server {
    _dir: tempfile::TempDir,
    app: axum::Router,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    pki::init(&dir.path().join("certs"), &pki::PkiSpec::default(), false).unwrap();
    let root = pki::Layout::new(dir.path().join("certs")).tls_root_ca();
    let tls = pki::tls::client_config(&root, None).unwrap();
    let client = transport::Client::new(&tls, transport::Timeouts::default()).unwrap();
    let keys = Arc::new(kms::SoftwareKeys::open_or_create(&dir.path().join("master.key")).unwrap());
    let store = store::Store::open(&dir.path().join("server.db"), keys)
        .await
        .unwrap();
    let config = ServerConfig {
        reference_number: "3DS_LOA_SER_PPFU_020100_00008".into(),
        operator_id: "OP-1".into(),
        url: "https://localhost:1/rreq".into(),
        versions: MessageVersion::ALL.to_vec(),
        directory_servers: vec![DsPeer {
            scheme: "alpha".into(),
            directory_server_id: "F000000001".into(),
            url: "https://127.0.0.1:1/".into(),
            identity: DS.into(),
        }],
        requestor_id: "requestor-1".into(),
        requestor_name: "Shop".into(),
        requestor_url: "https://shop.example".into(),
        requestor_identities: vec![REQUESTOR.into()],
    };
    Server {
        _dir: dir,
        app: threeds_server::app(ServerState::new(config, client, store)),
    }
}

impl Server {
    async fn call(
        &self,
        caller: Option<&str>,
        method: &str,
        path: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        transport::testing::call(&self.app, caller, method, path, body).await
    }

    async fn auth(&self, body: &Value) -> (StatusCode, Value) {
        self.call(Some(REQUESTOR), "POST", "/v1/auth", &body.to_string())
            .await
    }
}

/// A browser authentication's requestor data, as a merchant backend sends it.
fn requestor_data(pan: &str) -> Value {
    let mut body: Value =
        serde_json::from_str(emv3ds::examples::get("2.2.0", "AReq-browser").unwrap().json).unwrap();
    let object = body.as_object_mut().unwrap();
    // What the 3DS Server adds itself.
    for own in [
        "messageType",
        "threeDSServerTransID",
        "threeDSServerRefNumber",
        "threeDSServerOperatorID",
        "threeDSServerURL",
        "dsReferenceNumber",
        "dsTransID",
        "dsURL",
    ] {
        object.remove(own);
    }
    object.insert("acctNumber".into(), json!(pan));
    body
}

#[tokio::test]
async fn each_endpoint_answers_only_its_parties() {
    let server = server().await;
    let preauth = r#"{"acctNumber":"4000000000001000"}"#;
    for caller in [None, Some("someone else"), Some(DS)] {
        let (status, answer) = server.call(caller, "POST", "/v1/preauth", preauth).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{caller:?}: {answer}");
        assert_eq!(answer["errorCode"], "303", "{caller:?}: {answer}");
    }
    let rreq = emv3ds::examples::get("2.2.0", "RReq-browser").unwrap().json;
    for caller in [None, Some(REQUESTOR)] {
        let (status, answer) = server.call(caller, "POST", "/rreq", rreq).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{caller:?}: {answer}");
        assert_eq!(answer["errorCode"], "303", "{caller:?}: {answer}");
    }
}

#[tokio::test]
async fn a_malformed_card_number_is_203_before_any_range_lookup() {
    let server = server().await;
    let (status, answer) = server.auth(&requestor_data("41111111abcd1111")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["errorCode"], "203", "{answer}");
    assert_eq!(answer["errorDetail"], "acctNumber", "{answer}");
}

#[tokio::test]
async fn a_challenge_window_size_no_version_defines_is_refused() {
    let server = server().await;
    let mut body = requestor_data("4000000000001000");
    body["challengeWindowSize"] = json!("07");
    let (status, answer) = server.auth(&body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["errorDetail"], "challengeWindowSize", "{answer}");
}

#[tokio::test]
async fn bad_bodies_and_unknown_transactions_get_clear_answers() {
    let server = server().await;
    let (status, answer) = server
        .call(Some(REQUESTOR), "POST", "/v1/auth", "{not json")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["messageType"], "Erro", "{answer}");
    let (status, answer) = server
        .call(
            Some(REQUESTOR),
            "GET",
            "/v1/postauth/00000000-0000-4000-8000-000000000000",
            "",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
}

#[tokio::test]
async fn a_card_in_no_cached_range_is_not_enrolled() {
    let server = server().await;
    let (status, answer) = server
        .call(
            Some(REQUESTOR),
            "POST",
            "/v1/preauth",
            r#"{"acctNumber":"4000000000001000"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["enrolled"], false, "{answer}");
    let (_, answer) = server.auth(&requestor_data("4000000000001000")).await;
    assert_eq!(answer["messageType"], "Erro", "{answer}");
    assert_eq!(answer["errorCode"], "305", "{answer}");
}
