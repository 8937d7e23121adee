//! Secure Payment Confirmation in a real headless Chromium (SPC enabled, a virtual
//! platform authenticator, the SPC dialog answered by WebDriver's `set-mode`), one
//! browser through six purchases: a device registered on the ACS's page after an OTP
//! challenge; a requestor-initiated SPC purchase (two linked authentications); an
//! ACS-initiated one in the challenge frame; a rejected dialog falling back to the
//! OTP; a card whose credential is not in this browser; and this browser's credential
//! offered for another card, refused by the ACS. Chromium's own registration and
//! assertions go through our verifier.

use sandbox::Sandbox;
use serde_json::{Value, json};

use crate::support;

use support::webdriver::Browser;

const FRESH: &str = "4000000000013005";
const ENROLLED_ELSEWHERE: &str = "4000000000014003";

struct Shop {
    sandbox: Sandbox,
    browser: Browser,
    requestor: transport::Client,
    _dirs: tempfile::TempDir,
}

impl Shop {
    async fn pay(&self, pan: &str, spc: bool) {
        let b = &self.browser;
        b.leave_frames().await;
        b.goto(&self.sandbox.manifest.endpoints.merchant).await;
        b.type_into("#card-number", pan).await;
        b.type_into("#amount", "49.90").await;
        b.click("#checkout summary").await;
        b.choose("#message-version", "2.3.1").await;
        if spc {
            b.click("#use-spc").await;
        }
        b.click("#pay").await;
    }

    /// The OTP challenge in the challenge frame, answered right.
    async fn otp_in_challenge_frame(&self) {
        let b = &self.browser;
        b.enter_frame("#challenge-frame").await;
        b.type_into("#otp", "123456").await;
        b.click("#submit").await;
    }

    /// (transStatus, source, threeDSServerTransID) of the result page.
    async fn outcome(&self) -> (String, String, String) {
        let b = &self.browser;
        b.leave_frames().await;
        let get = |name: &'static str| async move {
            b.attribute("#outcome", name).await.unwrap_or_default()
        };
        (
            get("data-trans-status").await,
            get("data-source").await,
            get("data-three-ds-server-trans-id").await,
        )
    }

    async fn postauth(&self, id: &str) -> Value {
        support::final_result(
            &self.requestor,
            &self.sandbox.manifest.endpoints.requestor_api,
            id,
        )
        .await
    }

    /// `method` `path` on the admin endpoint (the issuer back office), as the admin.
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Vec<u8> {
        let admin = sandbox::admin::AdminClient::of(&self.sandbox.manifest).unwrap();
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let (status, body) = admin.call(method, path, body).await.unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        body
    }

    /// What the ACS's check of a transaction's SPC confirmation found.
    async fn checked(&self, postauth: &Value) -> Value {
        let path = format!(
            "/admin/issuer/spc-confirmations/{}",
            postauth["acsTransID"].as_str().unwrap()
        );
        let found: Value = serde_json::from_slice(&self.admin("GET", &path, None).await).unwrap();
        found["result"].clone()
    }

    async fn credentials(&self, pan: &str) -> Vec<Value> {
        let body = json!({ "acctNumber": pan });
        let page = self
            .admin("POST", "/admin/issuer/spc-credentials", Some(body))
            .await;
        let list: Value = serde_json::from_slice(&page).unwrap();
        list["credentials"].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn registration_both_flows_and_the_refusals_in_chromium() {
    let dirs = tempfile::tempdir().unwrap();
    let config = support::config_in(dirs.path());
    let sandbox = Sandbox::start(&config).await.expect("sandbox starts");
    let requestor = support::client_as(&config.certs, "requestor");
    let s = Shop {
        browser: Browser::start_with_spc().await,
        sandbox,
        requestor,
        _dirs: dirs,
    };
    let b = &s.browser;

    // 1. Registration after an OTP challenge, in the challenge frame.
    s.pay(FRESH, false).await;
    s.otp_in_challenge_frame().await;
    b.click("#spc-enroll").await;
    let (status, source, _) = s.outcome().await;
    assert_eq!((status.as_str(), source.as_str()), ("Y", "RReq"));
    let listed = s.credentials(FRESH).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["algorithm"], "ES256");

    // 2. Requestor-initiated: S, the shop's page runs SPC, the second AReq ends Y.
    b.spc_mode("autoAccept").await;
    s.pay(FRESH, true).await;
    b.click("#spc-pay").await;
    let (status, source, id) = s.outcome().await;
    assert_eq!((status.as_str(), source.as_str()), ("Y", "ARes"));
    let second = s.postauth(&id).await;
    let first = second["priorThreeDSServerTransID"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = s.postauth(&first).await;
    assert_eq!(first["transStatus"], "S");
    assert_eq!(first["continuedBy"], json!(id));
    assert_eq!(s.checked(&first).await, json!({ "verified": true }));

    // 3. ACS-initiated: SPC on the challenge page, the RReq says method 14.
    s.pay(FRESH, false).await;
    b.enter_frame("#challenge-frame").await;
    b.click("#spc-confirm").await;
    let (status, source, id) = s.outcome().await;
    assert_eq!((status.as_str(), source.as_str()), ("Y", "RReq"));
    assert_eq!(s.postauth(&id).await["authenticationMethod"], json!(["14"]));

    // 4. The cardholder rejects the dialog: spcIncompInd, then the OTP challenge.
    b.spc_mode("autoReject").await;
    s.pay(FRESH, true).await;
    b.click("#spc-pay").await;
    s.otp_in_challenge_frame().await;
    // The ACS offers to register this device again; not now.
    b.click("#spc-skip").await;
    let (status, source, id) = s.outcome().await;
    assert_eq!((status.as_str(), source.as_str()), ("Y", "RReq"));
    let fallback = s.postauth(&id).await;
    assert_eq!(fallback["authenticationMethod"], json!(["02"]));
    let rejected = s
        .postauth(fallback["priorThreeDSServerTransID"].as_str().unwrap())
        .await;
    assert_eq!(
        s.checked(&rejected).await,
        json!({ "verified": false, "reason": "spc-incomplete", "spcIncompInd": "02" }),
        "AbortError is the cardholder cancelling"
    );

    // 5. A card whose only credential is not in this browser: SPC cannot run, the
    //    fallback challenge follows.
    b.spc_mode("autoAccept").await;
    s.pay(ENROLLED_ELSEWHERE, true).await;
    b.click("#spc-pay").await;
    s.otp_in_challenge_frame().await;
    b.click("#spc-skip").await;
    let (status, source, _) = s.outcome().await;
    assert_eq!((status.as_str(), source.as_str()), ("Y", "RReq"));

    // 6. A page that offers this browser's credential (registered for another card):
    //    Chromium signs, the ACS refuses the credential as not the card's, and the
    //    fallback challenge follows.
    let ours = listed[0]["credentialId"].as_str().unwrap().to_owned();
    s.pay(ENROLLED_ELSEWHERE, true).await;
    b.find("#spc-pay").await;
    b.run(
        r#"var e=document.getElementById("spc-request"),d=JSON.parse(e.textContent);
           d.credentialIds=[arguments[0]];e.textContent=JSON.stringify(d);return true;"#,
        json!([ours]),
    )
    .await;
    b.click("#spc-pay").await;
    s.otp_in_challenge_frame().await;
    b.click("#spc-skip").await;
    let (status, source, id) = s.outcome().await;
    assert_eq!((status.as_str(), source.as_str()), ("Y", "RReq"));
    let fallback = s.postauth(&id).await;
    let refused = s
        .postauth(fallback["priorThreeDSServerTransID"].as_str().unwrap())
        .await;
    assert_eq!(refused["transStatus"], "S");
    assert_eq!(s.checked(&refused).await["reason"], "unknown-credential");
    assert_eq!(s.credentials(FRESH).await.len(), 1);

    drop(s.browser);
    s.sandbox.shutdown().await;
}
