//! The RReq path end to end over mutual TLS: our 3DS Server and DS, with a stand-in ACS
//! that answers every AReq with a challenge (`C`) — the role a user's own ACS plays
//! when plugged in, and the one our ACS takes once it offers challenges. The stand-in
//! then reports the result as an RReq through the DS, which relays it to the 3DS Server.

use std::sync::Arc;

use axum::body::Bytes;
use axum::routing::post;
use emv3ds::MessageVersion;
use emv3ds::card_ranges::RangeEntry;
use pki::tls::{self, ClientAuth};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use transport::{Client, Timeouts, TlsServer};

const PAN: &str = "4000000000000002";

fn example(name: &str) -> Value {
    serde_json::from_str(emv3ds::examples::get("2.2.0", name).unwrap().json).unwrap()
}

/// The stand-in ACS: an ARes `C` for every AReq, ids echoed.
async fn challenge_acs(body: Bytes) -> axum::response::Response {
    let areq: Value = serde_json::from_slice(&body).unwrap();
    let mut ares = example("ARes-browser-challenge");
    for id in ["threeDSServerTransID", "dsTransID"] {
        ares[id] = areq[id].clone();
    }
    transport::protocol_answer(serde_json::to_vec(&ares).unwrap())
}

struct Topology {
    requestor: Client,
    acs: Client,
    api: String,
    ds_url: String,
    servers: Vec<TlsServer>,
    _dir: tempfile::TempDir,
}

async fn url_of(listener: &TcpListener, path: &str) -> String {
    format!(
        "https://localhost:{}{path}",
        listener.local_addr().unwrap().port()
    )
}

async fn topology() -> Topology {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    pki::init(&certs, &pki::PkiSpec::default(), false).unwrap();
    let layout = pki::Layout::new(&certs);
    let root = layout.tls_root_ca();
    let keys = kms::SoftwareKeys::open_or_create(&dir.path().join("master.key")).unwrap();
    let store = store::Store::open(&dir.path().join("test.db"), Arc::new(keys))
        .await
        .unwrap();
    let client_as = |identity: tls::Identity| {
        let tls = tls::client_config(&root, Some(&identity)).unwrap();
        Client::new(&tls, Timeouts::default()).unwrap()
    };
    let listen = || async { TcpListener::bind("127.0.0.1:0").await.unwrap() };
    let (acs_l, ds_l, server_l) = (listen().await, listen().await, listen().await);
    let (acs_url, ds_url, api) = (
        url_of(&acs_l, "/areq").await,
        url_of(&ds_l, "/").await,
        url_of(&server_l, "").await,
    );
    let mut servers = Vec::new();

    let acs_tls =
        tls::server_config(&layout.tls_identity("acs"), &root, ClientAuth::Required).unwrap();
    let acs_app = axum::Router::new().route("/areq", post(challenge_acs));
    servers.push(transport::serve(acs_l, &acs_tls, acs_app).unwrap());

    let scheme = layout.scheme("alpha");
    let ds_config = directory_server::DsConfig {
        directory_server_id: "F000000001".into(),
        reference_number: "DS_LOA_DIS_SNDBX_020100_00001".into(),
        url: ds_url.clone(),
        versions: MessageVersion::ALL.to_vec(),
        routes: vec![directory_server::AcsRoute {
            range: RangeEntry {
                start_range: "4000000000000000".into(),
                end_range: "4000000000999999".into(),
                acs_versions: MessageVersion::ALL.to_vec(),
                acs_info_ind: vec!["01".into()],
                three_ds_method_url: None,
            },
            acs_url,
            acs_identity: pki::names::ACS.into(),
        }],
        device_data_key: None,
        server_identities: vec![pki::names::THREEDS_SERVER.into()],
    };
    let ds = directory_server::DsState::new(
        ds_config,
        client_as(scheme.ds_tls_identity()),
        store.clone(),
    )
    .unwrap();
    let ds_tls =
        tls::server_config(&scheme.ds_tls_identity(), &root, ClientAuth::Required).unwrap();
    servers.push(transport::serve(ds_l, &ds_tls, directory_server::app(ds)).unwrap());

    let server_config = threeds_server::ServerConfig {
        reference_number: "3DS_LOA_SER_SNDBX_020100_00001".into(),
        operator_id: "SANDBOX-OPERATOR".into(),
        url: format!("{api}/rreq"),
        versions: MessageVersion::ALL.to_vec(),
        directory_servers: vec![threeds_server::DsPeer {
            scheme: "alpha".into(),
            directory_server_id: "F000000001".into(),
            url: ds_url.clone(),
            identity: pki::names::directory_server("alpha", "F000000001"),
        }],
        requestor_id: "R".into(),
        requestor_name: "Shop".into(),
        requestor_url: "https://localhost/".into(),
        requestor_identities: vec![pki::names::REQUESTOR.into()],
    };
    let server = threeds_server::ServerState::new(
        server_config,
        client_as(layout.tls_identity("3ds-server")),
        store,
    );
    let server_tls = tls::server_config(
        &layout.tls_identity("3ds-server"),
        &root,
        ClientAuth::Required,
    )
    .unwrap();
    servers.push(
        transport::serve(server_l, &server_tls, threeds_server::app(server.clone())).unwrap(),
    );
    for (ds, prepared) in server.prepare().await {
        assert!(prepared.is_ok(), "{ds}: {prepared:?}");
    }
    Topology {
        requestor: client_as(layout.tls_identity("requestor")),
        acs: client_as(layout.tls_identity("acs")),
        api,
        ds_url,
        servers,
        _dir: dir,
    }
}

async fn json_of(reply: transport::Reply) -> Value {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    serde_json::from_slice(&reply.body).unwrap()
}

#[tokio::test]
async fn a_challenge_result_travels_acs_to_ds_to_3ds_server() {
    let t = topology().await;
    // A browser authentication in 2.2.0, answered C by the stand-in ACS.
    let mut body = example("AReq-browser");
    for own in [
        "messageType",
        "threeDSServerTransID",
        "threeDSServerRefNumber",
        "threeDSServerOperatorID",
        "threeDSServerURL",
    ] {
        body.as_object_mut().unwrap().remove(own);
    }
    body["acctNumber"] = json!(PAN);
    let auth = json_of(
        t.requestor
            .post_json(
                &format!("{}/v1/auth", t.api),
                serde_json::to_vec(&body).unwrap(),
            )
            .await
            .unwrap(),
    )
    .await;
    let ares = &auth["ares"];
    assert_eq!(ares["transStatus"], "C", "{auth}");
    let id = auth["threeDSServerTransID"].as_str().unwrap();
    let postauth = |id: String| {
        let client = t.requestor.clone();
        let url = format!("{}/v1/postauth/{id}", t.api);
        async move { json_of(client.get(&url).await.unwrap()).await }
    };
    let pending = postauth(id.to_owned()).await;
    assert_eq!(
        (pending["status"].as_str(), pending["transStatus"].as_str()),
        (Some("pending"), Some("C"))
    );

    // The ACS reports the result.
    let mut rreq = example("RReq-browser");
    for name in ["threeDSServerTransID", "acsTransID", "dsTransID"] {
        rreq[name] = ares[name].clone();
    }
    let send = |rreq: &Value| {
        let client = t.acs.clone();
        let (url, body) = (t.ds_url.clone(), serde_json::to_vec(rreq).unwrap());
        async move { json_of(client.post_json(&url, body).await.unwrap()).await }
    };
    let rres = send(&rreq).await;
    assert_eq!(rres["messageType"], "RRes", "{rres}");
    assert_eq!(rres["resultsStatus"], "01", "{rres}");
    for name in ["threeDSServerTransID", "acsTransID", "dsTransID"] {
        assert_eq!(rres[name], rreq[name], "{name}");
    }
    let done = postauth(id.to_owned()).await;
    assert_eq!(done["status"], "final", "{done}");
    assert_eq!(done["source"], "RReq");
    assert_eq!(done["transStatus"], "Y");
    assert_eq!(done["eci"], rreq["eci"]);
    assert_eq!(done["authenticationValue"], rreq["authenticationValue"]);

    // The result is final: a second RReq cannot overwrite it.
    rreq["transStatus"] = json!("N");
    rreq["transStatusReason"] = json!("01");
    let erro = send(&rreq).await;
    assert_eq!(
        (erro["errorCode"].as_str(), erro["errorComponent"].as_str()),
        (Some("305"), Some("S")),
        "{erro}"
    );
    // An RReq whose acsTransID is not the ARes's: the DS refuses it.
    rreq["acsTransID"] = json!("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
    let erro = send(&rreq).await;
    assert_eq!(
        (erro["errorCode"].as_str(), erro["errorDetail"].as_str()),
        (Some("301"), Some("acsTransID")),
        "{erro}"
    );
    assert_eq!(postauth(id.to_owned()).await["transStatus"], "Y");
    for server in t.servers {
        server.shutdown().await;
    }
}
