//! Secure Payment Confirmation end to end without a browser: the requestor API, the
//! ACS's pages at HTTP level, and `spc::software::SoftwareAuthenticator` producing the
//! registrations and assertions a browser would. Both flows (requestor-initiated with a
//! second AReq, ACS-initiated on the challenge page), registration after an OTP
//! challenge, the issuer's credential listing and deletion, and the refusals.

use sandbox::Sandbox;
use serde_json::{Value, json};
use spc::software::{PaymentRequest, SoftwareAuthenticator};
use transport::Client;

use crate::support;

use support::site::{Page, Site};

/// An `spc` card with no credential yet.
const FRESH: &str = "4000000000013005";
/// An `spc` card with the shipped test credential registered at start.
const ENROLLED: &str = "4000000000014003";
const SHOP: &str = "https://localhost:7445";

struct Running {
    sandbox: Sandbox,
    requestor: Client,
    site: Site,
    _dir: tempfile::TempDir,
}

async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let config = support::config_in(dir.path());
    let sandbox = Sandbox::start(&config).await.expect("sandbox starts");
    let requestor = support::client_as(&config.certs, "requestor");
    let site = Site::new(&config.certs, &sandbox.manifest.endpoints.acs_site);
    Running {
        sandbox,
        requestor,
        site,
        _dir: dir,
    }
}

fn areq(pan: &str, spc: bool) -> Value {
    let mut body = support::browser(pan, "2.3.1");
    body["messageVersion"] = json!("2.3.1");
    body["notificationURL"] = json!(format!("{SHOP}/notify"));
    body["challengeWindowSize"] = json!("05");
    if spc {
        body["threeDSRequestorSpcSupport"] = json!("Y");
        body["payeeOrigin"] = json!(SHOP);
    }
    body
}

impl Running {
    fn api(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.manifest.endpoints.requestor_api)
    }

    fn acs(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.manifest.endpoints.acs_site)
    }

    async fn call(&self, path: &str, body: &Value) -> (u16, Value) {
        let reply = self
            .requestor
            .post_json(&self.api(path), serde_json::to_vec(body).unwrap())
            .await
            .expect("the 3DS Server answers");
        (reply.status, serde_json::from_slice(&reply.body).unwrap())
    }

    async fn auth(&self, body: &Value) -> Value {
        let (status, answer) = self.call("/v1/auth", body).await;
        assert_eq!(status, 200, "{answer}");
        answer
    }

    async fn second(&self, first: &Value, body: &Value) -> Value {
        let id = first["threeDSServerTransID"].as_str().unwrap();
        let (status, answer) = self.call(&format!("/v1/auth/{id}/spc"), body).await;
        assert_eq!(status, 200, "{answer}");
        answer
    }

    async fn postauth(&self, id: &Value) -> Value {
        support::final_result(
            &self.requestor,
            &self.sandbox.manifest.endpoints.requestor_api,
            id.as_str().unwrap(),
        )
        .await
    }

    fn step(&self, answer: &Value) -> String {
        self.acs(&format!(
            "/challenge/{}",
            answer["ares"]["acsTransID"].as_str().unwrap()
        ))
    }

    /// `method` `path` on the admin endpoint (the issuer back office), as the admin.
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
        let admin = sandbox::admin::AdminClient::of(&self.sandbox.manifest).unwrap();
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let (status, body) = admin.call(method, path, body).await.unwrap();
        (status, String::from_utf8(body).unwrap())
    }

    /// What the check of the SPC confirmation issued for `answer`'s ARes found.
    async fn checked(&self, answer: &Value) -> Value {
        let id = answer["ares"]["acsTransID"].as_str().unwrap();
        let (status, body) = self
            .admin(
                "GET",
                &format!("/admin/issuer/spc-confirmations/{id}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let found: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(found["used"], true, "{found}");
        found["result"].clone()
    }

    async fn credentials(&self, pan: &str) -> Vec<Value> {
        let (status, body) = self
            .admin(
                "POST",
                "/admin/issuer/spc-credentials",
                Some(json!({ "acctNumber": pan })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let list: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(list["card"], format!("{}••••••{}", &pan[..6], &pan[12..]));
        list["credentials"].as_array().unwrap().clone()
    }
}

/// The JSON in `<script type="application/json" id="{id}">`.
fn embedded(page: &Page, id: &str) -> Value {
    let open = format!(r#"<script type="application/json" id="{id}">"#);
    let at = page
        .html
        .find(&open)
        .unwrap_or_else(|| panic!("no {id} in {}", page.html))
        + open.len();
    let end = page.html[at..].find("</script>").unwrap() + at;
    serde_json::from_str(&page.html[at..end].replace("<\\/", "</")).unwrap()
}

#[tokio::test]
async fn requestor_initiated_spc_ends_y_in_a_second_linked_authentication() {
    let s = start().await;
    let mut authenticator = SoftwareAuthenticator::test_key("acs.localhost", ENROLLED);
    let first = s.auth(&areq(ENROLLED, true)).await;
    let ares = &first["ares"];
    assert_eq!(ares["transStatus"], "S", "{first}");
    assert_eq!(ares["spcTransData"]["value"], "123.45");
    assert_eq!(ares["spcTransData"]["currency"], "EUR");
    assert_eq!(ares["spcTransData"]["payeeOrigin"], SHOP);
    assert_eq!(
        ares["webAuthnCredList"][0]["credentialIds"],
        json!([authenticator.credential_id()])
    );
    assert_eq!(ares["webAuthnCredList"][0]["rpID"], "acs.localhost");

    let request = PaymentRequest::from_ares(ares, SHOP).unwrap();
    let assertion = authenticator.confirm(&request).unwrap();
    let second = s.second(&first, &json!({ "assertion": assertion })).await;
    assert_eq!(second["ares"]["transStatus"], "Y", "{second}");
    assert!(second["ares"]["authenticationValue"].is_string());
    assert_eq!(
        second["priorThreeDSServerTransID"],
        first["threeDSServerTransID"]
    );
    assert_eq!(s.checked(&first).await, json!({ "verified": true }));

    let linked = s.postauth(&second["threeDSServerTransID"]).await;
    assert_eq!(
        linked["priorThreeDSServerTransID"],
        first["threeDSServerTransID"]
    );
    assert_eq!(linked["transStatus"], "Y");
    let original = s.postauth(&first["threeDSServerTransID"]).await;
    assert_eq!(original["transStatus"], "S");
    assert_eq!(original["continuedBy"], second["threeDSServerTransID"]);

    // The first transaction is continued once only.
    let id = first["threeDSServerTransID"].as_str().unwrap();
    let (status, again) = s
        .call(
            &format!("/v1/auth/{id}/spc"),
            &json!({ "assertion": assertion }),
        )
        .await;
    assert_eq!(
        (status, again["errorCode"].as_str()),
        (400, Some("301")),
        "{again}"
    );

    // The same assertion for another S: the challenge is not this one's → N/09.
    let third = s.auth(&areq(ENROLLED, true)).await;
    let replayed = s.second(&third, &json!({ "assertion": assertion })).await;
    assert_eq!(replayed["ares"]["transStatus"], "N", "{replayed}");
    assert_eq!(replayed["ares"]["transStatusReason"], "09");
    assert_eq!(s.checked(&third).await["reason"], "wrong-challenge");

    // The other scheme's pre-registered card has its own test credential.
    let beta = "5200000000014008";
    let mut beta_key = SoftwareAuthenticator::test_key("acs.localhost", beta);
    let first = s.auth(&areq(beta, true)).await;
    assert_eq!(
        first["ares"]["webAuthnCredList"][0]["credentialIds"],
        json!([beta_key.credential_id()]),
        "{first}"
    );
    let request = PaymentRequest::from_ares(&first["ares"], SHOP).unwrap();
    let assertion = beta_key.confirm(&request).unwrap();
    let second = s.second(&first, &json!({ "assertion": assertion })).await;
    assert_eq!(second["ares"]["transStatus"], "Y", "{second}");
}

#[tokio::test]
async fn a_tampered_or_foreign_assertion_is_refused_and_an_incomplete_spc_falls_back() {
    let s = start().await;
    let mut authenticator = SoftwareAuthenticator::test_key("acs.localhost", ENROLLED);

    // Signed for another amount: N, reason 09.
    let first = s.auth(&areq(ENROLLED, true)).await;
    let mut cheaper = PaymentRequest::from_ares(&first["ares"], SHOP).unwrap();
    cheaper.value = "1.00".into();
    let assertion = authenticator.confirm(&cheaper).unwrap();
    let second = s.second(&first, &json!({ "assertion": assertion })).await;
    assert_eq!(
        (
            second["ares"]["transStatus"].as_str(),
            second["ares"]["transStatusReason"].as_str()
        ),
        (Some("N"), Some("09")),
        "{second}"
    );
    let found = s.checked(&first).await;
    assert_eq!(found["reason"], "amount-changed");
    assert_eq!(
        found["detail"],
        "payment.total 1.00 EUR differs from the amount issued, 123.45 EUR"
    );

    // A credential not registered for the card: a fallback challenge.
    let first = s.auth(&areq(ENROLLED, true)).await;
    let mut stranger = SoftwareAuthenticator::es256("acs.localhost");
    let mut request = PaymentRequest::from_ares(&first["ares"], SHOP).unwrap();
    request.credential_ids = vec![stranger.credential_id()];
    let foreign = stranger.confirm(&request).unwrap();
    let second = s.second(&first, &json!({ "assertion": foreign })).await;
    assert_eq!(second["ares"]["transStatus"], "C", "{second}");
    assert!(second["challenge"]["creq"].is_string());
    assert_eq!(s.checked(&first).await["reason"], "unknown-credential");

    // SPC cancelled: spcIncompInd 02 → the OTP challenge, then Y through the RReq.
    let first = s.auth(&areq(ENROLLED, true)).await;
    let second = s.second(&first, &json!({ "spcIncompInd": "02" })).await;
    assert_eq!(second["ares"]["transStatus"], "C", "{second}");
    assert_eq!(
        s.checked(&first).await,
        json!({ "verified": false, "reason": "spc-incomplete", "spcIncompInd": "02" })
    );
    let page = s.site.open_challenge(&second["challenge"]).await;
    assert!(!page.has("spc-confirm"), "SPC is not offered again");
    let done = s
        .site
        .post(&s.step(&second), &[("action", "submit"), ("otp", "123456")])
        .await;
    assert!(done.has("cres-form"), "{}", done.html);
    let result = s.postauth(&second["threeDSServerTransID"]).await;
    assert_eq!(result["transStatus"], "Y", "{result}");
    assert_eq!(result["source"], "RReq");

    // Bad requests to the second step are answered, not dropped.
    let (status, bad) = s
        .call(
            &format!(
                "/v1/auth/{}/spc",
                first["threeDSServerTransID"].as_str().unwrap()
            ),
            &json!({ "spcIncompInd": "07" }),
        )
        .await;
    assert_eq!(
        (status, bad["errorDetail"].as_str()),
        (400, Some("spcIncompInd"))
    );
    let frictionless = s
        .auth(&areq(&support::card("alpha", "frictionless-Y"), true))
        .await;
    let (status, bad) = s
        .call(
            &format!(
                "/v1/auth/{}/spc",
                frictionless["threeDSServerTransID"].as_str().unwrap()
            ),
            &json!({ "spcIncompInd": "01" }),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
}

#[tokio::test]
async fn acs_initiated_spc_confirms_on_the_challenge_page_and_falls_back_to_the_otp() {
    let s = start().await;
    let mut authenticator = SoftwareAuthenticator::test_key("acs.localhost", ENROLLED);
    let answer = s.auth(&areq(ENROLLED, false)).await;
    assert_eq!(answer["ares"]["transStatus"], "C", "{answer}");
    assert_eq!(answer["ares"]["authenticationMethod"], json!(["14", "02"]));
    let page = s.site.open_challenge(&answer["challenge"]).await;
    assert!(page.has(r#"id="spc-confirm""#), "{}", page.html);
    let offered = embedded(&page, "spc-request");
    let site = s.sandbox.manifest.endpoints.acs_site.clone();
    let request = PaymentRequest {
        rp_id: offered["rpId"].as_str().unwrap().into(),
        credential_ids: vec![offered["credentialIds"][0].as_str().unwrap().into()],
        challenge: offered["challenge"].as_str().unwrap().into(),
        payee_name: offered["payeeName"].as_str().map(str::to_owned),
        payee_origin: offered["payeeOrigin"].as_str().map(str::to_owned),
        display_name: offered["displayName"].as_str().unwrap().into(),
        icon: offered["icon"].as_str().unwrap().into(),
        value: offered["value"].as_str().unwrap().into(),
        currency: offered["currency"].as_str().unwrap().into(),
        origin: site.clone(),
        top_origin: SHOP.into(),
    };
    let assertion = authenticator.confirm(&request).unwrap();
    let done = s
        .site
        .post(
            &s.step(&answer),
            &[("action", "spc"), ("assertion", &assertion.to_string())],
        )
        .await;
    assert!(done.has("cres-form"), "{}", done.html);
    let result = s.postauth(&answer["threeDSServerTransID"]).await;
    assert_eq!(result["transStatus"], "Y", "{result}");
    assert_eq!(result["source"], "RReq");
    assert_eq!(result["authenticationMethod"], json!(["14"]));
    assert_eq!(s.checked(&answer).await, json!({ "verified": true }));

    // The browser's SPC fails: the page falls back to the OTP.
    let answer = s.auth(&areq(ENROLLED, false)).await;
    s.site.open_challenge(&answer["challenge"]).await;
    let fallback = s
        .site
        .post(
            &s.step(&answer),
            &[("action", "spc-failed"), ("error", "NotAllowedError")],
        )
        .await;
    assert!(
        fallback.has(r#"id="otp""#) && !fallback.has("spc-confirm"),
        "{}",
        fallback.html
    );
    assert_eq!(s.checked(&answer).await["reason"], "NotAllowedError");
    // An assertion after the failure is not taken.
    let late = s
        .site
        .post(
            &s.step(&answer),
            &[("action", "spc"), ("assertion", &assertion.to_string())],
        )
        .await;
    assert!(late.has(r#"id="otp""#), "{}", late.html);
    s.site
        .post(&s.step(&answer), &[("action", "submit"), ("otp", "123456")])
        .await;
    let result = s.postauth(&answer["threeDSServerTransID"]).await;
    assert_eq!(result["authenticationMethod"], json!(["02"]));
}

#[tokio::test]
async fn a_device_registered_after_an_otp_challenge_then_pays_with_spc_until_deleted() {
    let s = start().await;
    assert!(s.credentials(FRESH).await.is_empty());
    // No credential: even a requestor that supports SPC gets the OTP challenge.
    let answer = s.auth(&areq(FRESH, true)).await;
    assert_eq!(answer["ares"]["transStatus"], "C", "{answer}");
    let page = s.site.open_challenge(&answer["challenge"]).await;
    assert!(!page.has("spc-confirm"));
    let offer = s
        .site
        .post(&s.step(&answer), &[("action", "submit"), ("otp", "123456")])
        .await;
    assert!(
        offer.has(r#"id="spc-enroll""#) && offer.has(r#"id="spc-skip""#),
        "{}",
        offer.html
    );
    let options = embedded(&offer, "spc-registration");
    assert_eq!(options["rpId"], "acs.localhost");

    let mut device = SoftwareAuthenticator::es256("acs.localhost");
    let site = s.sandbox.manifest.endpoints.acs_site.clone();
    let register = format!("{}/spc/register", s.step(&answer));
    // A registration for another challenge is refused.
    let wrong = device.register(&spc::fresh_challenge(), &site);
    let refused = s.site.post_json(&register, &wrong).await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    let registration = device.register(options["challenge"].as_str().unwrap(), &site);
    let registered = s.site.post_json(&register, &registration).await;
    assert_eq!(registered.status, 200, "{}", registered.html);
    // Once only.
    let again = s.site.post_json(&register, &registration).await;
    assert_eq!(again.status, 400, "{}", again.html);
    let listed = s.credentials(FRESH).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["credentialId"], json!(device.credential_id()));
    assert_eq!(listed[0]["algorithm"], "ES256");

    // Next payment: S with that credential, and Y.
    let first = s.auth(&areq(FRESH, true)).await;
    assert_eq!(first["ares"]["transStatus"], "S", "{first}");
    let request = PaymentRequest::from_ares(&first["ares"], SHOP).unwrap();
    let second = s
        .second(
            &first,
            &json!({ "assertion": device.confirm(&request).unwrap() }),
        )
        .await;
    assert_eq!(second["ares"]["transStatus"], "Y", "{second}");
    // The refused registration, the registration and this assertion each counted.
    assert_eq!(s.credentials(FRESH).await[0]["signCount"], 3);

    // The issuer deletes it: back to the OTP challenge.
    let id = device.credential_id();
    let path = format!("/admin/issuer/spc-credentials/{id}");
    assert_eq!(s.admin("DELETE", &path, None).await.0, 204);
    assert_eq!(s.admin("DELETE", &path, None).await.0, 404);
    // Not on the cardholder-facing site any more.
    let site = s
        .site
        .delete(&s.acs(&format!("/issuer/spc-credentials/{id}")))
        .await;
    assert_eq!(site.status, 404);
    assert!(s.credentials(FRESH).await.is_empty());
    let answer = s.auth(&areq(FRESH, true)).await;
    assert_eq!(answer["ares"]["transStatus"], "C", "{answer}");
}
