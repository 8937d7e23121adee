//! The DS's and the 3DS Server's outbound calls against deliberately broken peers
//! (wiremock): whatever the peer does — answer late, fail, send nothing, send garbage,
//! send an `Erro`, answer for another transaction — the caller answers with the right
//! `Erro` and nothing panics.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use emv3ds::card_ranges::{RangeEntry, Registry};
use emv3ds::{Message, MessageVersion};
use serde_json::{Value, json};
use tower::ServiceExt;
use transport::{Client, Timeouts};
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        read: Duration::from_millis(300),
    }
}

/// A client for plain-HTTP mock peers (its TLS configuration is never used).
fn client() -> Client {
    let dir = tempfile::tempdir().unwrap();
    let spec = pki::PkiSpec {
        schemes: vec![pki::PkiSpec::default().schemes[0].clone()],
        ..pki::PkiSpec::default()
    };
    pki::init(dir.path(), &spec, false).unwrap();
    let layout = pki::Layout::new(dir.path());
    let tls = pki::tls::client_config(&layout.tls_root_ca(), None).unwrap();
    Client::new(&tls, timeouts()).unwrap()
}

/// A fresh database in `dir` (which must outlive the store).
async fn store(dir: &tempfile::TempDir) -> store::Store {
    let keys = kms::SoftwareKeys::open_or_create(&dir.path().join("master.key")).unwrap();
    store::Store::open(&dir.path().join("test.db"), std::sync::Arc::new(keys))
        .await
        .unwrap()
}

fn range() -> RangeEntry {
    RangeEntry {
        start_range: "4000000000000000".into(),
        end_range: "4000000000099999".into(),
        acs_versions: MessageVersion::ALL.to_vec(),
        acs_info_ind: vec!["01".into()],
        three_ds_method_url: None,
    }
}

/// `body` sent to `app` as the party whose certificate's common name is `caller`.
async fn call(
    app: axum::Router,
    caller: &str,
    method: &str,
    uri: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body))
        .unwrap();
    request
        .extensions_mut()
        .insert(transport::Peer(Some(pki::tls::PeerIdentity {
            common_name: Some(caller.to_owned()),
            sha256: String::new(),
        })));
    let response = app.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn example(version: &str, name: &str) -> Value {
    serde_json::from_str(emv3ds::examples::get(version, name).unwrap().json).unwrap()
}

/// An ARes answering the AReq in `request` (ids echoed), optionally altered.
fn ares_for(request: &wiremock::Request, alter: fn(&mut Value)) -> ResponseTemplate {
    let areq: Value = serde_json::from_slice(&request.body).unwrap();
    let mut ares = example("2.2.0", "ARes-frictionless");
    for id in ["threeDSServerTransID", "dsTransID"] {
        ares[id] = areq[id].clone();
    }
    alter(&mut ares);
    ResponseTemplate::new(200).set_body_json(ares)
}

// ---- DS → broken ACS ----------------------------------------------------------------

async fn ds_against(acs: &MockServer) -> (u16, Value) {
    ds_calling(format!("{}/areq", acs.uri())).await
}

/// A DS whose only ACS is at `acs_url`, sent the example AReq.
async fn ds_calling(acs_url: String) -> (u16, Value) {
    let config = directory_server::DsConfig {
        directory_server_id: "F000000001".into(),
        reference_number: "DS_LOA_DIS_SNDBX_020100_00001".into(),
        url: "https://localhost/ds".into(),
        versions: MessageVersion::ALL.to_vec(),
        routes: vec![directory_server::AcsRoute {
            range: range(),
            acs_url,
            acs_identity: pki::names::ACS.into(),
        }],
        device_data_key: None,
        server_identities: vec![pki::names::THREEDS_SERVER.into()],
    };
    let dir = tempfile::tempdir().unwrap();
    let state = directory_server::DsState::new(config, client(), store(&dir).await).unwrap();
    let areq = serde_json::to_vec(&example("2.2.0", "AReq-browser")).unwrap();
    call(
        directory_server::app(state),
        pki::names::THREEDS_SERVER,
        "POST",
        "/",
        areq,
    )
    .await
}

async fn acs_doing(respond: impl wiremock::Respond + 'static) -> MockServer {
    let acs = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(respond)
        .mount(&acs)
        .await;
    acs
}

fn code(erro: &Value) -> (&str, &str) {
    (
        erro["errorCode"].as_str().unwrap_or("?"),
        erro["errorComponent"].as_str().unwrap_or("?"),
    )
}

#[tokio::test]
async fn the_ds_answers_for_a_broken_acs() {
    // A good ACS first, so the harness itself is known to work.
    let (status, ares) =
        ds_against(&acs_doing(|r: &wiremock::Request| ares_for(r, |_| {})).await).await;
    assert_eq!(
        (status, ares["messageType"].as_str()),
        (200, Some("ARes")),
        "{ares}"
    );

    let cases: Vec<(&str, MockServer, (&str, &str))> = vec![
        (
            "too slow",
            acs_doing(ResponseTemplate::new(200).set_delay(Duration::from_secs(2))).await,
            ("402", "D"),
        ),
        (
            "HTTP 500",
            acs_doing(ResponseTemplate::new(500)).await,
            ("403", "D"),
        ),
        (
            "empty body",
            acs_doing(ResponseTemplate::new(200)).await,
            ("101", "D"),
        ),
        (
            "not JSON",
            acs_doing(ResponseTemplate::new(200).set_body_string("<html>oops</html>")).await,
            ("101", "D"),
        ),
        (
            "an ARes for another transaction",
            acs_doing(|r: &wiremock::Request| {
                ares_for(r, |a| {
                    a["threeDSServerTransID"] = json!("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9")
                })
            })
            .await,
            ("301", "D"),
        ),
        (
            "an invalid ARes",
            acs_doing(|r: &wiremock::Request| ares_for(r, |a| a["eci"] = json!("five"))).await,
            ("203", "D"),
        ),
    ];
    for (what, acs, expected) in cases {
        let (status, erro) = ds_against(&acs).await;
        assert_eq!(status, 200, "{what}");
        assert_eq!(erro["messageType"], "Erro", "{what}: {erro}");
        assert_eq!(code(&erro), expected, "{what}: {erro}");
    }

    // The ACS's own Erro is passed on, not replaced.
    let mut acs_erro = example("2.2.0", "Erro");
    acs_erro["errorComponent"] = json!("A");
    let (_, erro) =
        ds_against(&acs_doing(ResponseTemplate::new(200).set_body_json(acs_erro)).await).await;
    assert_eq!(code(&erro), ("203", "A"), "{erro}");

    // Nobody listening (wiremock servers return to a pool when dropped and keep
    // listening, so a closed port comes from a plain listener).
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_, erro) = ds_calling(format!("http://127.0.0.1:{closed}/areq")).await;
    assert_eq!(code(&erro), ("405", "D"), "{erro}");
}

// ---- 3DS Server → broken DS ---------------------------------------------------------

/// A DS that answers PReqs properly and AReqs with `areq`.
async fn ds_doing(areq: impl wiremock::Respond + 'static) -> MockServer {
    let ds = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("\"PReq\""))
        .respond_with(|r: &wiremock::Request| {
            let Ok(Message::PReq(preq)) = Message::parse(&r.body) else {
                return ResponseTemplate::new(400);
            };
            let registry = Registry::new(vec![range()]).unwrap();
            let id = emv3ds::values::TransId::from_random_bytes([7; 16]);
            let pres = registry.answer(&preq, id, &MessageVersion::ALL).unwrap();
            ResponseTemplate::new(200).set_body_bytes(Message::PRes(pres).to_json())
        })
        .mount(&ds)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("\"AReq\""))
        .respond_with(areq)
        .mount(&ds)
        .await;
    ds
}

async fn server_against(ds: &MockServer) -> (u16, Value) {
    let config = threeds_server::ServerConfig {
        reference_number: "3DS_LOA_SER_SNDBX_020100_00001".into(),
        operator_id: "SANDBOX-OPERATOR".into(),
        url: "https://localhost/rreq".into(),
        versions: MessageVersion::ALL.to_vec(),
        directory_servers: vec![threeds_server::DsPeer {
            scheme: "alpha".into(),
            directory_server_id: "F000000001".into(),
            url: ds.uri(),
            identity: pki::names::directory_server("alpha", "F000000001"),
        }],
        requestor_id: "R".into(),
        requestor_name: "Shop".into(),
        requestor_url: "https://localhost/".into(),
        requestor_identities: vec![pki::names::REQUESTOR.into()],
    };
    let dir = tempfile::tempdir().unwrap();
    let state = threeds_server::ServerState::new(config, client(), store(&dir).await);
    for (ds, prepared) in state.prepare().await {
        assert!(prepared.is_ok(), "PReq to {ds}: {prepared:?}");
    }
    // The example AReq's requestor data, sent through the requestor API.
    let mut body = example("2.2.0", "AReq-browser");
    for own in [
        "messageType",
        "threeDSServerTransID",
        "threeDSServerRefNumber",
        "threeDSServerOperatorID",
    ] {
        body.as_object_mut().unwrap().remove(own);
    }
    call(
        threeds_server::app(state),
        pki::names::REQUESTOR,
        "POST",
        "/v1/auth",
        serde_json::to_vec(&body).unwrap(),
    )
    .await
}

#[tokio::test]
async fn the_3ds_server_answers_for_a_broken_ds() {
    let (status, good) = server_against(
        &ds_doing(|r: &wiremock::Request| {
            let areq: Value = serde_json::from_slice(&r.body).unwrap();
            let mut ares = example("2.2.0", "ARes-frictionless");
            ares["threeDSServerTransID"] = areq["threeDSServerTransID"].clone();
            ResponseTemplate::new(200).set_body_json(ares)
        })
        .await,
    )
    .await;
    assert_eq!(
        (status, good["ares"]["transStatus"].as_str()),
        (200, Some("Y")),
        "{good}"
    );

    let cases: Vec<(&str, MockServer, &str)> = vec![
        (
            "too slow",
            ds_doing(ResponseTemplate::new(200).set_delay(Duration::from_secs(2))).await,
            "402",
        ),
        (
            "HTTP 500",
            ds_doing(ResponseTemplate::new(500)).await,
            "403",
        ),
        (
            "empty body",
            ds_doing(ResponseTemplate::new(200)).await,
            "101",
        ),
        (
            "not JSON",
            ds_doing(ResponseTemplate::new(200).set_body_string("{\"half\":")).await,
            "101",
        ),
        (
            "an ARes for another transaction",
            ds_doing(
                ResponseTemplate::new(200).set_body_json(example("2.2.0", "ARes-frictionless")),
            )
            .await,
            "301",
        ),
        (
            "the DS's Erro",
            ds_doing(ResponseTemplate::new(200).set_body_json(example("2.2.0", "Erro"))).await,
            "203",
        ),
    ];
    for (what, ds, expected) in cases {
        let (status, erro) = server_against(&ds).await;
        assert_eq!(status, 502, "{what}: {erro}");
        assert_eq!(erro["messageType"], "Erro", "{what}: {erro}");
        assert_eq!(erro["errorCode"].as_str(), Some(expected), "{what}: {erro}");
    }
}
