//! The ACS's `/areq` router with no server around it (`tower::ServiceExt::oneshot`):
//! who may send it an AReq, its answers to bad input, and a frictionless ARes, with the
//! DS's certificate identity set as the TLS layer would set it.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::sync::Arc;

use acs::issuer::{Card, IssuerData, Outcome, Scheme};
use axum::http::StatusCode;
use emv3ds::card_ranges::PanRange;
use serde_json::{Value, json};

const ALPHA_DS: &str = "threeds DS alpha";
const BETA_DS: &str = "threeds DS beta";
const CARD: &str = "4000000000001000";

struct Acs {
    _dir: tempfile::TempDir,
    app: axum::Router,
}

async fn acs() -> Acs {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(kms::SoftwareKeys::open_or_create(&dir.path().join("master.key")).unwrap());
    let store = store::Store::open(&dir.path().join("acs.db"), keys.clone())
        .await
        .unwrap();
    let scheme = |name: &str, id: &str, start: &str, end: &str| Scheme {
        name: name.into(),
        directory_server_id: id.into(),
        ranges: vec![PanRange::new(start, end).unwrap()],
        eci: ["05".into(), "06".into(), "07".into()],
    };
    let issuer = IssuerData {
        cards: vec![Card {
            pan: CARD.into(),
            outcome: Outcome::FrictionlessY,
            description: "frictionless".into(),
            otp: None,
            spc_test_credential: false,
        }],
        schemes: vec![
            scheme(
                "alpha",
                "F000000001",
                "4000000000000000",
                "4000000000009999",
            ),
            scheme("beta", "F000000002", "5100000000000000", "5100000000009999"),
        ],
        rules: Default::default(),
    };
    let mut state = acs::AcsState::new(issuer, keys, store).await.unwrap();
    state.ds_identities = vec![
        acs::DsIdentity {
            directory_server_id: "F000000001".into(),
            common_name: ALPHA_DS.into(),
        },
        acs::DsIdentity {
            directory_server_id: "F000000002".into(),
            common_name: BETA_DS.into(),
        },
    ];
    Acs {
        _dir: dir,
        app: acs::app(state),
    }
}

impl Acs {
    async fn post(&self, caller: Option<&str>, body: &str) -> (StatusCode, Value) {
        transport::testing::call(&self.app, caller, "POST", "/areq", body).await
    }
}

/// The browser AReq example as the DS relays it to the ACS (with the elements the DS
/// adds), for `pan`.
fn relayed(pan: &str) -> String {
    let mut areq: Value =
        serde_json::from_str(emv3ds::examples::get("2.2.0", "AReq-browser").unwrap().json).unwrap();
    areq["acctNumber"] = json!(pan);
    areq["dsTransID"] = json!("0b0e7ad6-4e54-4d6c-9d2e-3c6c1e6b8a10");
    areq["dsReferenceNumber"] = json!("DS_LOA_DIS_PPFU_020100_00010");
    areq["dsURL"] = json!("https://ds.localhost/");
    areq.to_string()
}

#[tokio::test]
async fn only_the_cards_schemes_ds_may_send_an_areq() {
    let acs = acs().await;
    for caller in [None, Some("threeds 3DS Server"), Some("someone else")] {
        let (status, answer) = acs.post(caller, &relayed(CARD)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{caller:?}: {answer}");
        assert_eq!(answer["errorCode"], "303", "{caller:?}: {answer}");
    }
    // A DS of this ACS, but not of the card's scheme.
    let (status, answer) = acs.post(Some(BETA_DS), &relayed(CARD)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["errorCode"], "303", "{answer}");
}

#[tokio::test]
async fn bad_messages_get_the_acss_erro() {
    let acs = acs().await;
    let (_, answer) = acs.post(Some(ALPHA_DS), "{not json").await;
    assert_eq!(answer["errorCode"], "101", "{answer}");
    assert_eq!(answer["errorComponent"], "A", "{answer}");
    let ares = emv3ds::examples::get("2.2.0", "ARes-frictionless")
        .unwrap()
        .json;
    let (_, answer) = acs.post(Some(ALPHA_DS), ares).await;
    assert_eq!(answer["errorCode"], "101", "{answer}");
    assert_eq!(answer["errorDetail"], "messageType", "{answer}");
    let without_amount = relayed(CARD).replace("\"purchaseAmount\":\"12345\",", "");
    let (_, answer) = acs.post(Some(ALPHA_DS), &without_amount).await;
    assert_eq!(answer["errorCode"], "201", "{answer}");
    assert_eq!(answer["errorDetail"], "purchaseAmount", "{answer}");
}

#[tokio::test]
async fn a_frictionless_card_gets_y_with_its_schemes_eci_and_a_value() {
    let acs = acs().await;
    let (status, ares) = acs.post(Some(ALPHA_DS), &relayed(CARD)).await;
    assert_eq!(status, StatusCode::OK, "{ares}");
    assert_eq!(ares["messageType"], "ARes", "{ares}");
    assert_eq!(ares["transStatus"], "Y", "{ares}");
    assert_eq!(ares["eci"], "05", "{ares}");
    assert_eq!(
        ares["authenticationValue"].as_str().unwrap().len(),
        28,
        "{ares}"
    );
    // A card the issuer does not know, in its range: N, reason 08 (no card record).
    let (_, ares) = acs.post(Some(ALPHA_DS), &relayed("4000000000002000")).await;
    assert_eq!(
        (
            ares["transStatus"].as_str(),
            ares["transStatusReason"].as_str()
        ),
        (Some("N"), Some("08")),
        "{ares}"
    );
}
