//! The app channel's error paths over real sockets, each answered on the side that
//! detects it:
//!
//! - at the ACS, with CReqs made by hand (our own ephemeral key and session key, not
//!   the mock SDK's code): a replayed or skipped `sdkCounterStoA` (302), a CReq for
//!   another transaction (301), a token that does not decrypt (302, and the challenge
//!   it names is left alone), an unknown `kid` (301);
//! - at the SDK, against the real ACS (tampered `acsSignedContent`, a chain from the
//!   wrong DS root) and against a stand-in ACS that answers a CRes of another
//!   `messageVersion` or with the wrong `acsCounterAtoS` — the SDK sends the `Erro` to
//!   the ACS and ends.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use app_crypto::device_data::{self, DsPublicKey};
use app_crypto::keys::EphemeralKey;
use app_crypto::session::{Direction, Enc, SessionKey};
use app_crypto::signed_content::{self, AcsSigner, TrustAnchors};
use emv3ds::MessageVersion;
use sandbox::{Sandbox, SandboxConfig};
use sdk::backend::{self, Purchase};
use sdk::{
    Action, AuthenticationRequestParameters, ChallengeParameters, ChallengeStatus,
    ConfigParameters, DirectoryServer, ScriptedDriver, ThreeDs2Service,
};
use serde_json::{Value, json};

const REFERENCE: &str = "3DS_LOA_SDK_SNDBX_020100_00001";

struct App {
    sandbox: Sandbox,
    requestor: transport::Client,
    /// Server-authenticated only, as an SDK calls the ACS.
    sdk_http: transport::Client,
}

async fn start(dir: &tempfile::TempDir) -> App {
    let config = SandboxConfig {
        sweep_every: Duration::from_millis(20),
        ..support::config_in(dir.path())
    };
    let sandbox = Sandbox::start(&config).await.expect("sandbox starts");
    let requestor = support::client_as(&config.certs, "requestor");
    let tls = pki::tls::client_config(&sandbox.manifest.tls.root_ca, None).unwrap();
    let sdk_http = transport::Client::new(&tls, transport::Timeouts::default()).unwrap();
    App {
        sandbox,
        requestor,
        sdk_http,
    }
}

impl App {
    fn api(&self) -> &str {
        &self.sandbox.manifest.endpoints.requestor_api
    }

    fn scheme(&self, name: &str) -> &sandbox::SchemeInfo {
        self.sandbox
            .manifest
            .schemes
            .iter()
            .find(|s| s.name == name)
            .unwrap()
    }

    /// An app challenge begun by hand: the AReq with our own ephemeral key, the ARes's
    /// signed content verified, the session key derived.
    async fn challenge(&self, scheme: &str) -> Hand {
        let info = self.scheme(scheme);
        let cert = std::fs::read(&info.ds_encryption_cert).unwrap();
        let ds_key = DsPublicKey::from_certificate_pem(&cert).unwrap();
        let ephemeral = EphemeralKey::generate();
        let device = br#"{"DV":"1.7","DD":{"C001":"Android"},"DPNA":{},"SW":[]}"#;
        let params = AuthenticationRequestParameters {
            sdk_trans_id: transport::Ids::random().trans_id().as_str().to_owned(),
            device_data: device_data::encrypt(device, &ds_key, &info.directory_server_id).unwrap(),
            sdk_ephem_pub_key: ephemeral.public_jwk(),
            sdk_app_id: transport::Ids::random().trans_id().as_str().to_owned(),
            sdk_reference_number: REFERENCE.into(),
            message_version: MessageVersion::V2_2_0,
            device_render_options: json!({"sdkInterface": "03", "sdkUiType": ["01", "02", "03", "04", "05"]}),
            sdk_max_timeout: "05".into(),
        };
        let pan = support::card(scheme, "challenge");
        let answer = backend::auth(
            &self.requestor,
            self.api(),
            &backend::auth_request(&Purchase::new(&pan), &params),
        )
        .await
        .unwrap();
        let ares = answer["ares"].clone();
        assert_eq!(ares["transStatus"], "C", "{ares}");
        let roots = TrustAnchors::from_pem(&std::fs::read(&info.ds_root_ca).unwrap()).unwrap();
        let content = signed_content::verify(
            ares["acsSignedContent"].as_str().unwrap(),
            &roots,
            &ephemeral.public(),
        )
        .unwrap();
        Hand {
            key: SessionKey::derive(&ephemeral, &content.acs_ephem_pub_key, REFERENCE),
            acs_url: content.acs_url,
            server_id: answer["threeDSServerTransID"].as_str().unwrap().to_owned(),
            acs_id: ares["acsTransID"].as_str().unwrap().to_owned(),
            sdk_id: params.sdk_trans_id,
        }
    }

    /// Posts a CReq token; the decrypted CRes, or the plain-JSON Erro.
    async fn post(&self, hand: &Hand, token: String) -> Value {
        let reply = self
            .sdk_http
            .post(&hand.acs_url, "application/jose", token.into_bytes())
            .await
            .unwrap();
        let body = String::from_utf8(reply.body).unwrap();
        if body.starts_with('{') {
            return serde_json::from_str(&body).unwrap();
        }
        let opened = hand.key.open(Direction::AcsToSdk, &body).unwrap();
        serde_json::from_slice(&opened.plaintext).unwrap()
    }

    async fn final_result(&self, id: &str) -> Value {
        support::final_result(&self.requestor, self.api(), id).await
    }
}

/// A challenge driven by hand.
struct Hand {
    key: SessionKey,
    acs_url: String,
    server_id: String,
    acs_id: String,
    sdk_id: String,
}

impl Hand {
    fn creq(&self, counter: &str) -> Value {
        json!({
            "messageType": "CReq",
            "messageVersion": "2.2.0",
            "threeDSServerTransID": self.server_id,
            "acsTransID": self.acs_id,
            "sdkTransID": self.sdk_id,
            "sdkCounterStoA": counter,
        })
    }

    fn seal(&self, creq: &Value) -> String {
        self.key
            .seal(
                Direction::SdkToAcs,
                Enc::A128CbcHs256,
                &self.acs_id,
                creq.to_string().as_bytes(),
            )
            .unwrap()
    }
}

fn is_erro(answer: &Value, code: &str, detail: &str) {
    assert_eq!(answer["messageType"], "Erro", "{answer}");
    assert_eq!(answer["errorCode"], code, "{answer}");
    assert_eq!(answer["errorComponent"], "A", "{answer}");
    assert!(
        answer["errorDetail"]
            .as_str()
            .unwrap_or("")
            .contains(detail),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acs_refuses_replayed_and_skipped_counters_and_ends_the_challenge() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&dir).await;
    for (scheme, bad) in [("alpha", "000"), ("beta", "002")] {
        let hand = app.challenge(scheme).await;
        let first = app.post(&hand, hand.seal(&hand.creq("000"))).await;
        assert_eq!(first["challengeCompletionInd"], "N", "{first}");
        assert_eq!(first["acsCounterAtoS"], "000");
        // "000" again is a replay; "002" skips "001".
        let answer = app.post(&hand, hand.seal(&hand.creq(bad))).await;
        is_erro(&answer, "302", "sdkCounterStoA");
        let result = app.final_result(&hand.server_id).await;
        assert_eq!(
            (
                result["transStatus"].as_str(),
                result["transStatusReason"].as_str()
            ),
            (Some("U"), Some("09")),
            "{result}"
        );
        // The right counter is too late now: the challenge is over.
        let late = app.post(&hand, hand.seal(&hand.creq("001"))).await;
        assert_eq!(late["challengeCompletionInd"], "Y", "{late}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creq_for_another_transaction_or_without_the_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&dir).await;
    let a = app.challenge("alpha").await;
    let b = app.challenge("alpha").await;

    // Not decryptable under B's kid (sealed with A's key): 302, and B is untouched.
    let mut foreign = b.creq("000");
    foreign["acsTransID"] = json!(b.acs_id);
    let token = a
        .key
        .seal(
            Direction::SdkToAcs,
            Enc::A128Gcm,
            &b.acs_id,
            foreign.to_string().as_bytes(),
        )
        .unwrap();
    is_erro(&app.post(&b, token).await, "302", "");

    // A's key and kid, but B's ids inside: 301, and A ends.
    let mut crossed = a.creq("000");
    crossed["acsTransID"] = json!(b.acs_id);
    crossed["threeDSServerTransID"] = json!(b.server_id);
    is_erro(&app.post(&a, a.seal(&crossed)).await, "301", "acsTransID");
    assert_eq!(app.final_result(&a.server_id).await["transStatus"], "U");

    // An unknown kid.
    let stranger = Hand {
        acs_id: "00000000-0000-4000-8000-000000000000".into(),
        ..app.challenge("beta").await
    };
    is_erro(
        &app.post(&stranger, stranger.seal(&stranger.creq("000")))
            .await,
        "301",
        "acsTransID",
    );

    // B goes on as if nothing happened.
    let screen = app.post(&b, b.seal(&b.creq("000"))).await;
    assert_eq!(screen["challengeCompletionInd"], "N", "{screen}");
    let mut answer = b.creq("001");
    answer["challengeDataEntry"] = json!("123456");
    assert_eq!(app.post(&b, b.seal(&answer)).await["transStatus"], "Y");
    assert_eq!(app.final_result(&b.server_id).await["transStatus"], "Y");
}

fn sdk_for(app: &App, roots_of: &[(&str, &str)]) -> ThreeDs2Service {
    let servers = roots_of
        .iter()
        .map(|(scheme, root_scheme)| {
            let s = app.scheme(scheme);
            DirectoryServer::from_files(
                &s.directory_server_id,
                &s.ds_encryption_cert,
                &app.scheme(root_scheme).ds_root_ca,
            )
            .unwrap()
        })
        .collect();
    ThreeDs2Service::initialize(ConfigParameters::new(
        servers,
        &app.sandbox.manifest.tls.root_ca,
    ))
    .unwrap()
}

/// The ARes of an app challenge made by the mock SDK, and its transaction.
async fn challenged(app: &App, sdk: &ThreeDs2Service, scheme: &str) -> (sdk::Transaction, Value) {
    let transaction = sdk
        .create_transaction(
            &app.scheme(scheme).directory_server_id,
            MessageVersion::V2_2_0,
        )
        .unwrap();
    let params = transaction.authentication_request_parameters().unwrap();
    let pan = support::card(scheme, "challenge");
    let answer = backend::auth(
        &app.requestor,
        app.api(),
        &backend::auth_request(&Purchase::new(&pan), &params),
    )
    .await
    .unwrap();
    (transaction, answer["ares"].clone())
}

fn protocol_error(status: &ChallengeStatus) -> (&str, &str, &str) {
    match status {
        ChallengeStatus::ProtocolError {
            code,
            component,
            detail,
            ..
        } => (code.as_str(), component.as_str(), detail.as_str()),
        other => panic!("not a protocol error: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_refuses_tampered_signed_content_and_a_foreign_root() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&dir).await;
    let sdk = sdk_for(&app, &[("alpha", "alpha"), ("beta", "alpha")]);
    // One character of the signature changed.
    let (transaction, mut ares) = challenged(&app, &sdk, "alpha").await;
    let signed = ares["acsSignedContent"].as_str().unwrap().to_owned();
    let last = if signed.ends_with('A') { 'B' } else { 'A' };
    ares["acsSignedContent"] = json!(format!("{}{last}", &signed[..signed.len() - 1]));
    let params = ChallengeParameters::from_ares(&ares).unwrap();
    let status = transaction
        .do_challenge(
            &params,
            &mut ScriptedDriver::new([Action::Text("123456".into())]),
            &mut (),
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(protocol_error(&status), ("203", "C", "acsSignedContent"));
    // Beta's ACS signs under beta's DS root; this SDK was given alpha's root for beta.
    let (transaction, ares) = challenged(&app, &sdk, "beta").await;
    let status = transaction
        .do_challenge(
            &ChallengeParameters::from_ares(&ares).unwrap(),
            &mut ScriptedDriver::default(),
            &mut (),
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(protocol_error(&status), ("203", "C", "acsSignedContent"));
}

/// A stand-in ACS on HTTPS that answers every CReq with one prepared body and keeps
/// what it received.
struct StandIn {
    url: String,
    received: Arc<Mutex<Vec<String>>>,
    _server: transport::TlsServer,
}

async fn stand_in(certs: &std::path::Path, answer: Arc<Mutex<String>>) -> StandIn {
    use axum::routing::post;
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    let router = axum::Router::new().route(
        "/creq",
        post(move |body: String| {
            let (log, answer) = (log.clone(), answer.clone());
            async move {
                log.lock().unwrap().push(body);
                let body = answer.lock().unwrap().clone();
                (
                    [(axum::http::header::CONTENT_TYPE, "application/jose")],
                    body,
                )
            }
        }),
    );
    let layout = pki::Layout::new(certs);
    let tls = pki::tls::server_config(
        &layout.tls_identity("acs"),
        &layout.tls_root_ca(),
        pki::tls::ClientAuth::None,
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    StandIn {
        url: format!("https://acs.localhost:{port}/creq"),
        received,
        _server: transport::serve(listener, &tls, router).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_cres_makes_the_sdk_send_an_erro_and_end() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&dir).await;
    let certs = dir.path().join("certs");
    let sdk = sdk_for(&app, &[("alpha", "alpha")]);
    let alpha = pki::Layout::new(&certs).scheme("alpha");
    let signer = AcsSigner::from_pem(
        &std::fs::read(alpha.acs_signing_key()).unwrap(),
        &std::fs::read(alpha.acs_signing_chain()).unwrap(),
    )
    .unwrap();
    let answer = Arc::new(Mutex::new(String::new()));
    let acs = stand_in(&certs, answer.clone()).await;
    // (what the CRes gets wrong, the error the SDK must send)
    let cases = [
        (json!({"messageVersion": "2.1.0"}), "203", "messageVersion"),
        (json!({"acsCounterAtoS": "001"}), "302", "acsCounterAtoS"),
        (
            json!({"acsTransID": "00000000-0000-4000-8000-000000000000"}),
            "301",
            "acsTransID",
        ),
    ];
    for (flaw, code, detail) in cases {
        let transaction = sdk
            .create_transaction(
                &app.scheme("alpha").directory_server_id,
                MessageVersion::V2_2_0,
            )
            .unwrap();
        let params = transaction.authentication_request_parameters().unwrap();
        let sdk_key = app_crypto::keys::parse_public_jwk(&params.sdk_ephem_pub_key).unwrap();
        let ephemeral = EphemeralKey::generate();
        let key = SessionKey::derive(&ephemeral, &sdk_key, REFERENCE);
        let challenge = ChallengeParameters {
            three_ds_server_trans_id: transport::Ids::random().trans_id().as_str().to_owned(),
            acs_trans_id: transport::Ids::random().trans_id().as_str().to_owned(),
            acs_ref_number: None,
            acs_signed_content: signer
                .sign(&acs.url, &ephemeral.public(), &params.sdk_ephem_pub_key)
                .await
                .unwrap(),
        };
        let mut cres = json!({
            "messageType": "CRes",
            "messageVersion": "2.2.0",
            "threeDSServerTransID": challenge.three_ds_server_trans_id,
            "acsTransID": challenge.acs_trans_id,
            "sdkTransID": transaction.sdk_trans_id(),
            "acsCounterAtoS": "000",
            "challengeCompletionInd": "Y",
            "transStatus": "Y",
        });
        for (name, value) in flaw.as_object().unwrap() {
            cres[name] = value.clone();
        }
        *answer.lock().unwrap() = key
            .seal(
                Direction::AcsToSdk,
                Enc::A128CbcHs256,
                &challenge.acs_trans_id,
                cres.to_string().as_bytes(),
            )
            .unwrap();
        acs.received.lock().unwrap().clear();
        let status = transaction
            .do_challenge(
                &challenge,
                &mut ScriptedDriver::default(),
                &mut (),
                Duration::from_secs(5),
            )
            .await;
        let (got_code, component, got_detail) = protocol_error(&status);
        assert_eq!((got_code, component), (code, "C"), "{flaw}: {status:?}");
        assert!(got_detail.contains(detail), "{flaw}: {status:?}");
        // The CReq, then the Erro, in plain JSON, for the ACS.
        let received = acs.received.lock().unwrap().clone();
        assert_eq!(received.len(), 2, "{received:?}");
        let erro: Value = serde_json::from_str(&received[1]).unwrap();
        assert_eq!(erro["messageType"], "Erro");
        assert_eq!(erro["errorCode"], code);
        assert_eq!(erro["errorComponent"], "C");
        assert_eq!(erro["errorMessageType"], "CRes");
        assert_eq!(erro["sdkTransID"], transaction_id(&received[0], &key));
    }
}

/// The `sdkTransID` of the CReq token the stand-in received.
fn transaction_id(token: &str, key: &SessionKey) -> Value {
    let opened = key.open(Direction::SdkToAcs, token).unwrap();
    let creq: Value = serde_json::from_slice(&opened.plaintext).unwrap();
    creq["sdkTransID"].clone()
}
