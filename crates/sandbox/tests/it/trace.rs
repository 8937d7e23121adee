//! The trace end to end: a browser frictionless authentication, a browser challenge and
//! a refused AReq, read back through the admin endpoint (what `threeds trace` and the
//! TUI use): every hop of each flow in order, from both sides of each hop, with card
//! numbers masked; the live stream; and faults set through the admin endpoint.

use std::time::Duration;

use sandbox::Sandbox;
use sandbox::admin::{AdminClient, Live};
use serde_json::{Value, json};
use store::TraceQuery;
use trace::Event;

use crate::support;

use support::site::Site;
use support::{browser, browser_at, card};

fn hops(events: &[Event]) -> Vec<String> {
    events.iter().map(Event::hop).collect()
}

/// Asserts `expected` appears in `events` in this order (other hops may come between).
fn in_order(events: &[Event], expected: &[&str]) {
    if let Some(missing) = trace::first_missing_in_order(events, expected) {
        panic!("missing {missing:?} in order in {:#?}", hops(events));
    }
}

const AUTHENTICATION: [&str; 10] = [
    "3ds-server received POST /v1/auth",
    "3ds-server sent AReq",
    "ds received AReq",
    "ds sent AReq",
    "acs received AReq",
    "acs sent ARes",
    "ds received ARes",
    "ds sent ARes",
    "3ds-server received ARes",
    "3ds-server sent answer to /v1/auth",
];

async fn events_of(admin: &AdminClient, transaction: &str) -> Vec<Event> {
    // The recorder commits in batches: wait until the last hop is stored.
    for _ in 0..200 {
        let events = admin
            .events(&TraceQuery {
                transaction: Some(transaction.to_owned()),
                ..TraceQuery::default()
            })
            .await
            .unwrap();
        let answered = events.iter().any(|e| {
            e.observer == trace::Party::ThreeDsServer
                && e.path.as_deref() == Some("/v1/auth")
                && e.reply_to.is_some()
        });
        if answered {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return admin
                .events(&TraceQuery {
                    transaction: Some(transaction.to_owned()),
                    ..TraceQuery::default()
                })
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let all = admin.events(&TraceQuery::default()).await.unwrap();
    panic!(
        "the trace of {transaction} was not stored: {:#?}",
        all.iter()
            .map(|e| (e.transaction.clone(), e.label.clone()))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn every_hop_of_each_flow_is_traced_in_order_with_card_numbers_masked() {
    let dirs = tempfile::tempdir().unwrap();
    let config = support::config_in(dirs.path());
    let sandbox = Sandbox::start(&config).await.unwrap();
    let manifest = dirs.path().join("manifest.json");
    std::fs::write(&manifest, serde_json::to_vec(&sandbox.manifest).unwrap()).unwrap();
    let admin = AdminClient::from_manifest(&manifest).unwrap();
    let mut live = admin.follow(None, None).await.unwrap();

    let requestor = support::client_as(&config.certs, "requestor");
    let api = format!("{}/v1/auth", sandbox.manifest.endpoints.requestor_api);
    let auth = |body: Value| {
        let requestor = requestor.clone();
        let api = api.clone();
        async move {
            let reply = requestor
                .post_json(&api, serde_json::to_vec(&body).unwrap())
                .await
                .unwrap();
            serde_json::from_slice::<Value>(&reply.body).unwrap()
        }
    };

    // Frictionless.
    let frictionless_pan = card("alpha", "frictionless-Y");
    let answer = auth(browser_at(&frictionless_pan, "2.2.0")).await;
    let frictionless = answer["threeDSServerTransID"].as_str().unwrap().to_owned();
    let events = events_of(&admin, &frictionless).await;
    in_order(&events, &AUTHENTICATION);
    let at_ds = events
        .iter()
        .find(|e| e.observer == trace::Party::Ds && e.label == "AReq")
        .unwrap();
    assert_eq!(at_ds.scheme.as_deref(), Some("alpha"));
    assert_eq!(at_ds.from, Some(trace::Party::ThreeDsServer));
    let body = at_ds.body_value().unwrap();
    assert_eq!(body["acctNumber"], "400000******1000");
    assert_eq!(body["cardExpiryDate"], "[removed]");
    let ares = events
        .iter()
        .find(|e| e.observer == trace::Party::ThreeDsServer && e.label == "ARes")
        .unwrap();
    assert_eq!(ares.trans_status().as_deref(), Some("Y"));
    assert!(ares.duration_ms.is_some() && ares.reply_to.is_some());
    assert!(
        ares.body_value().unwrap()["authenticationValue"]
            .as_str()
            .unwrap()
            .starts_with("[redacted")
    );
    assert!(ares.tls_peer.as_deref().unwrap().starts_with("threeds DS"));

    // A browser challenge: the CReq form decoded, the steps, the RReq's way back.
    let challenge_pan = card("alpha", "challenge");
    let mut body = browser_at(&challenge_pan, "2.3.1");
    body["challengeWindowSize"] = json!("02");
    let answer = auth(body).await;
    let challenged = answer["threeDSServerTransID"].as_str().unwrap().to_owned();
    let site = Site::new(&config.certs, &sandbox.manifest.endpoints.acs_site);
    site.open_challenge(&answer["challenge"]).await;
    let step = format!(
        "{}/challenge/{}",
        sandbox.manifest.endpoints.acs_site,
        answer["ares"]["acsTransID"].as_str().unwrap()
    );
    site.post(&step, &[("otp", "123456")]).await;
    let mut events = events_of(&admin, &challenged).await;
    for _ in 0..100 {
        if events
            .iter()
            .any(|e| e.label == "RRes" && e.observer == trace::Party::Acs)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        events = events_of(&admin, &challenged).await;
    }
    let mut expected = AUTHENTICATION.to_vec();
    expected.extend([
        "acs received CReq",
        "acs note challenge shown: Otp",
        "acs sent answer to /challenge",
        "acs note challenge answered: passcode entered",
        "acs note challenge decided: transStatus Y",
        "acs sent RReq",
        "ds received RReq",
        "ds sent RReq",
        "3ds-server received RReq",
        "3ds-server sent RRes",
        "ds received RRes",
        "ds sent RRes",
        "acs received RRes",
    ]);
    in_order(&events, &expected);
    let creq = events.iter().find(|e| e.label == "CReq").unwrap();
    assert_eq!(creq.from, Some(trace::Party::Browser));
    let decoded = creq.decoded.as_ref().unwrap();
    assert_eq!(decoded.how, "decoded");
    assert_eq!(decoded.value["creq"]["messageType"], "CReq");
    assert_eq!(creq.message_version.as_deref(), Some("2.3.1"));

    // A refused AReq: the DS's Erro, with what it found.
    let mut broken = browser_at(&frictionless_pan, "2.2.0");
    broken["purchaseCurrency"] = json!("EURO");
    let answer = auth(broken).await;
    assert!(
        answer.to_string().contains("Erro")
            || answer["error"].is_object()
            || answer["erro"].is_object(),
        "{answer}"
    );
    let mut all = Vec::new();
    for _ in 0..100 {
        all = admin.events(&TraceQuery::default()).await.unwrap();
        if all
            .iter()
            .any(|e| e.message_type.as_deref() == Some("Erro"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let erro = all
        .iter()
        .find(|e| e.message_type.as_deref() == Some("Erro"))
        .unwrap_or_else(|| panic!("no Erro in {:#?}", hops(&all)));
    assert!(
        erro.findings.iter().any(|f| f.contains("purchaseCurrency")),
        "{erro:?}"
    );

    // The TUI's snapshot fixture is made from this run (see tui/tests/fixtures/README).
    if let Ok(path) = std::env::var("THREEDS_WRITE_TRACE_FIXTURE") {
        let lines: Vec<String> = all
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect();
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    // Nothing in the whole trace holds a card number in clear.
    let text: String = all
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    for pan in [&frictionless_pan, &challenge_pan] {
        assert!(!text.contains(pan.as_str()), "{pan} in clear in the trace");
    }

    // The live stream saw the same events as they happened.
    let mut seen = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(200), live.recv()).await {
        if let Live::Event(event) = item {
            seen.push(event.seq);
        }
    }
    // (The start's PReqs came before the subscription.)
    let stored: Vec<u64> = all
        .iter()
        .filter(|e| e.label != "PReq" && e.label != "PRes")
        .map(|e| e.seq)
        .collect();
    assert!(
        stored.iter().all(|s| seen.contains(s)),
        "live {} events, stored {}",
        seen.len(),
        stored.len()
    );
    sandbox.shutdown().await;
}

/// Faults set and cleared at run time through the admin endpoint (who may use it:
/// `tests/it/admin.rs`).
#[tokio::test]
async fn faults_set_through_the_admin_endpoint_apply_until_cleared() {
    let dirs = tempfile::tempdir().unwrap();
    let config = support::config_in(dirs.path());
    let sandbox = Sandbox::start(&config).await.unwrap();
    let url = &sandbox.manifest.admin.url;
    assert!(url.starts_with("https://localhost:"), "{url}");
    let client = support::client_as(&config.certs, "admin");
    let admin = AdminClient::of(&sandbox.manifest).unwrap();
    let fault: transport::faults::Fault =
        serde_json::from_value(json!({"hop": "ds->acs", "message": "AReq", "kind": "refused"}))
            .unwrap();
    admin
        .add_faults(std::slice::from_ref(&fault))
        .await
        .unwrap();
    let listed = client.get(&format!("{url}/admin/faults")).await.unwrap();
    let listed: Value = serde_json::from_slice(&listed.body).unwrap();
    assert_eq!(listed[0]["hop"], "ds->acs", "{listed}");
    let bad: transport::faults::Fault =
        serde_json::from_value(json!({"hop": "ds->moon", "kind": "timeout"})).unwrap();
    let refused = admin.add_faults(&[bad]).await.unwrap_err().to_string();
    assert!(
        refused.contains("HTTP 400") && refused.contains("ds->moon"),
        "{refused}"
    );
    // The SDK is the app's: the sandbox cannot fault what it does not send.
    let sdk: transport::faults::Fault =
        serde_json::from_value(json!({"hop": "sdk->acs", "kind": "refused"})).unwrap();
    let refused = admin.add_faults(&[sdk]).await.unwrap_err().to_string();
    assert!(
        refused.contains("HTTP 400") && refused.contains("the SDK is not part of the sandbox"),
        "{refused}"
    );
    // While it is set, an authentication fails as the fault says.
    let requestor = support::client_as(&config.certs, "requestor");
    let api = format!("{}/v1/auth", sandbox.manifest.endpoints.requestor_api);
    let mut body = browser(&card("alpha", "frictionless-Y"), "2.2.0");
    body["messageVersion"] = json!("2.2.0");
    let reply = requestor
        .post_json(&api, body.to_string().into_bytes())
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(answer["errorCode"], "405", "{answer}");
    admin.clear_faults().await.unwrap();
    let reply = requestor
        .post_json(&api, body.to_string().into_bytes())
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(answer["ares"]["transStatus"], "Y", "{answer}");
    sandbox.shutdown().await;
}

/// The 3DS Method facts the ACS records are used: at the AReq, the ACS notes whether
/// the method ran, in which browser, and whether `threeDSCompInd` says so truthfully.
#[tokio::test]
async fn the_acs_notes_what_the_3ds_method_saw_against_the_areq() {
    use base64::Engine;
    let dirs = tempfile::tempdir().unwrap();
    let config = support::config_in(dirs.path());
    let sandbox = Sandbox::start(&config).await.unwrap();
    let admin = AdminClient::of(&sandbox.manifest).unwrap();
    let requestor = support::client_as(&config.certs, "requestor");
    let api = sandbox.manifest.endpoints.requestor_api.clone();
    let site = sandbox.manifest.endpoints.acs_site.clone();
    let pan = card("alpha", "frictionless-Y");
    let call = |path: &str, body: Value| {
        let (requestor, url) = (requestor.clone(), format!("{api}{path}"));
        async move {
            let reply = requestor
                .post_json(&url, serde_json::to_vec(&body).unwrap())
                .await
                .unwrap();
            serde_json::from_slice::<Value>(&reply.body).unwrap()
        }
    };
    let note = |events: &[Event]| {
        events
            .iter()
            .find(|e| e.observer == trace::Party::Acs && e.label.starts_with("3DS Method:"))
            .map(|e| (e.label.clone(), e.findings.clone()))
    };
    for method_runs in [true, false] {
        let pre = call("/v1/preauth", json!({ "acctNumber": pan })).await;
        let id = pre["threeDSServerTransID"].as_str().unwrap().to_owned();
        if method_runs {
            let data = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
                json!({
                    "threeDSServerTransID": id,
                    "threeDSMethodNotificationURL": "https://localhost:1/method-done",
                })
                .to_string(),
            );
            let reply = requestor
                .post(
                    &format!("{site}/3ds-method"),
                    "application/x-www-form-urlencoded",
                    format!("threeDSMethodData={data}").into_bytes(),
                )
                .await
                .unwrap();
            assert_eq!(reply.status, 200);
        }
        let mut body = browser_at(&pan, pre["messageVersion"].as_str().unwrap());
        body["threeDSServerTransID"] = json!(id);
        body["threeDSCompInd"] = json!("Y");
        let answer = call("/v1/auth", body).await;
        assert_eq!(answer["ares"]["transStatus"], "Y", "{answer}");
        let (label, findings) = note(&events_of(&admin, &id).await).expect("a 3DS Method note");
        if method_runs {
            // Our HTTP client is not the browser the AReq describes.
            assert_eq!(label, "3DS Method: ran, with discrepancies");
            assert!(
                findings
                    .iter()
                    .any(|f| f.contains("ran in another browser")),
                "{findings:?}"
            );
        } else {
            assert_eq!(label, "3DS Method: did not run");
            assert_eq!(
                findings,
                ["threeDSCompInd is Y, but the 3DS Method never reached this ACS"]
            );
        }
    }
    sandbox.shutdown().await;
}
