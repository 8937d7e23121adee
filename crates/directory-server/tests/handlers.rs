//! The DS's handler with no server around it (`tower::ServiceExt::oneshot`): every
//! `Erro` path, cheaply, with the caller's identity set as the TLS layer would set it.
//! The same paths over real sockets and mutual TLS are the sandbox's integration tests.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::sync::Arc;

use axum::http::StatusCode;
use directory_server::{AcsRoute, DsConfig, DsState};
use emv3ds::MessageVersion;
use emv3ds::card_ranges::RangeEntry;
use serde_json::Value;

const SERVER: &str = "threeds 3DS Server";

struct Ds {
    _dir: tempfile::TempDir,
    app: axum::Router,
}

/// A DS with one range, 4000000000000000–4000000000009999, whose ACS is a closed
/// loopback port.
async fn ds() -> Ds {
    let dir = tempfile::tempdir().unwrap();
    pki::init(&dir.path().join("certs"), &pki::PkiSpec::default(), false).unwrap();
    let root = pki::Layout::new(dir.path().join("certs")).tls_root_ca();
    let tls = pki::tls::client_config(&root, None).unwrap();
    let client = transport::Client::new(&tls, transport::Timeouts::default()).unwrap();
    let keys = Arc::new(kms::SoftwareKeys::open_or_create(&dir.path().join("master.key")).unwrap());
    let store = store::Store::open(&dir.path().join("ds.db"), keys)
        .await
        .unwrap();
    let config = DsConfig {
        directory_server_id: "F000000001".into(),
        reference_number: "DS_LOA_DIS_PPFU_020100_00010".into(),
        url: "https://localhost:1/".into(),
        versions: MessageVersion::ALL.to_vec(),
        routes: vec![AcsRoute {
            range: RangeEntry {
                start_range: "4000000000000000".into(),
                end_range: "4000000000009999".into(),
                acs_versions: MessageVersion::ALL.to_vec(),
                acs_info_ind: vec!["01".into()],
                three_ds_method_url: None,
            },
            acs_url: "https://127.0.0.1:1/areq".into(),
            acs_identity: "threeds ACS".into(),
        }],
        device_data_key: None,
        server_identities: vec![SERVER.into()],
    };
    let state = DsState::new(config, client, store).unwrap();
    Ds {
        _dir: dir,
        app: directory_server::app(state),
    }
}

impl Ds {
    /// `body` posted to `/` by a caller whose certificate names `caller`.
    async fn post(&self, caller: Option<&str>, body: &str) -> (StatusCode, Value) {
        transport::testing::call(&self.app, caller, "POST", "/", body).await
    }
}

fn example(name: &str) -> String {
    emv3ds::examples::get("2.2.0", name)
        .unwrap()
        .json
        .to_owned()
}

/// The browser AReq example with its card number set to `pan`.
fn areq(pan: &str) -> String {
    example("AReq-browser").replace("4000000000002701", pan)
}

fn assert_erro(answer: &Value, code: &str, detail: &str) {
    assert_eq!(answer["messageType"], "Erro", "{answer}");
    assert_eq!(answer["errorCode"], code, "{answer}");
    assert_eq!(answer["errorComponent"], "D", "{answer}");
    assert_eq!(answer["errorDetail"], detail, "{answer}");
}

#[tokio::test]
async fn a_caller_the_ds_does_not_know_is_refused_before_the_handler() {
    let ds = ds().await;
    for caller in [None, Some("someone else"), Some("threeds ACS")] {
        let (status, answer) = ds.post(caller, &areq("4000000000001000")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{caller:?}: {answer}");
        assert_eq!(answer["errorCode"], "303", "{caller:?}: {answer}");
    }
}

#[tokio::test]
async fn bad_messages_get_the_erro_naming_what_is_wrong() {
    let ds = ds().await;
    let (_, answer) = ds.post(Some(SERVER), "{not json").await;
    assert_eq!(answer["errorCode"], "101", "{answer}");
    let without_amount = areq("4000000000001000").replace("\"purchaseAmount\": \"12345\",", "");
    let (_, answer) = ds.post(Some(SERVER), &without_amount).await;
    assert_erro(&answer, "201", "purchaseAmount");
    let bad_pan = areq("41111111abcd1111");
    let (_, answer) = ds.post(Some(SERVER), &bad_pan).await;
    assert_erro(&answer, "203", "acctNumber");
    let ares = example("ARes-frictionless");
    let (_, answer) = ds.post(Some(SERVER), &ares).await;
    assert_eq!(answer["errorCode"], "101", "{answer}");
}

#[tokio::test]
async fn a_card_in_no_range_is_305_and_an_acs_that_cannot_be_reached_405() {
    let ds = ds().await;
    let (_, answer) = ds.post(Some(SERVER), &areq("5100000000001000")).await;
    assert_erro(&answer, "305", "acctNumber");
    let (_, answer) = ds.post(Some(SERVER), &areq("4000000000001000")).await;
    assert_eq!(answer["errorCode"], "405", "{answer}");
    assert_eq!(answer["errorComponent"], "D", "{answer}");
}

#[tokio::test]
async fn app_device_data_the_ds_cannot_read_is_302() {
    let ds = ds().await;
    let app = example("AReq-app").replace("4000000000002701", "4000000000001000");
    let (_, answer) = ds.post(Some(SERVER), &app).await;
    assert_erro(&answer, "302", "sdkEncData");
}

#[tokio::test]
async fn a_preq_gets_the_registrys_ranges() {
    let ds = ds().await;
    let (status, answer) = ds.post(Some(SERVER), &example("PReq")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["messageType"], "PRes", "{answer}");
    let ranges = answer["cardRangeData"].as_array().unwrap();
    assert_eq!(ranges.len(), 1, "{answer}");
    assert_eq!(ranges[0]["startRange"], "4000000000000000");
}
