//! Challenges and decoupled authentication end to end at HTTP level: the requestor API
//! gives the CReq, a cardholder's browser posts it to the ACS's site and answers its
//! pages, the ACS sends the RReq through the DS before handing back the final CRes,
//! and postauth shows the RReq's result. Timeouts are driven by a manual clock (no test
//! waits for a timer), and survive a restart of the sandbox.

use std::time::{Duration, Instant};

use base64::Engine;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};
use transport::Client;
use transport::clock::ManualClock;

use crate::support;

use support::site::{Page, Site};
use support::{browser_at, card};

struct Running {
    sandbox: Sandbox,
    requestor: Client,
    site: Site,
    clock: ManualClock,
}

fn config(dirs: &std::path::Path, clock: &ManualClock, port_base: u16) -> SandboxConfig {
    SandboxConfig {
        port_base,
        clock: std::sync::Arc::new(clock.clone()),
        sweep_every: Duration::from_millis(20),
        ..support::config_in(dirs)
    }
}

async fn start_with(config: &SandboxConfig, clock: ManualClock) -> Running {
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let requestor = support::client_as(&config.certs, "requestor");
    let site = Site::new(&config.certs, &sandbox.manifest.endpoints.acs_site);
    Running {
        sandbox,
        requestor,
        site,
        clock,
    }
}

async fn start(dirs: &tempfile::TempDir) -> Running {
    let clock = ManualClock::starting_now();
    start_with(&config(dirs.path(), &clock, 0), clock).await
}

impl Running {
    fn api(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.manifest.endpoints.requestor_api)
    }

    /// `/v1/auth` for `body`: the answer.
    async fn auth(&self, body: &Value) -> Value {
        let reply = self
            .requestor
            .post_json(&self.api("/v1/auth"), serde_json::to_vec(body).unwrap())
            .await
            .expect("the 3DS Server answers");
        let answer: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(reply.status, 200, "{answer}");
        answer
    }

    async fn postauth(&self, id: &str) -> Value {
        let reply = self
            .requestor
            .get(&self.api(&format!("/v1/postauth/{id}")))
            .await
            .expect("answer");
        serde_json::from_slice(&reply.body).unwrap()
    }

    /// Postauth once it is final (the RReq arrived), within a deadline.
    async fn final_result(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let result = self.postauth(id).await;
            if result["status"] == "final" {
                return result;
            }
            assert!(Instant::now() < deadline, "no final result: {result}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A browser challenge begun: the auth answer, and the first challenge page.
    async fn challenged(&self, pan: &str, version: &str) -> (Value, Page) {
        let answer = self.auth(&with_window(browser_at(pan, version))).await;
        assert_eq!(answer["ares"]["transStatus"], "C", "{answer}");
        let page = self.site.open_challenge(&answer["challenge"]).await;
        (answer, page)
    }

    fn step_url(&self, answer: &Value) -> String {
        format!(
            "{}/challenge/{}",
            self.sandbox.manifest.endpoints.acs_site,
            answer["ares"]["acsTransID"].as_str().unwrap()
        )
    }
}

fn with_window(mut body: Value) -> Value {
    body["challengeWindowSize"] = json!("02");
    body
}

/// The final CRes of a hand-back page, decoded, after checking where it goes.
fn final_cres(page: &Page) -> Value {
    let form = page.form("cres-form");
    assert_eq!(form.action, "https://localhost/3ds/notify");
    assert_eq!(form.field("threeDSSessionData"), Some("c2Vzc2lvbg"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(form.field("cres").expect("a cres field"))
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn an_otp_challenge_passes_after_a_wrong_code_and_the_rreq_is_the_result() {
    let dirs = tempfile::tempdir().unwrap();
    let s = start(&dirs).await;
    for version in ["2.1.0", "2.2.0", "2.3.1"] {
        let (answer, page) = s.challenged(&card("alpha", "challenge"), version).await;
        // The CReq is what the spec says.
        let creq = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(answer["challenge"]["creq"].as_str().unwrap())
            .unwrap();
        let creq: Value = serde_json::from_slice(&creq).unwrap();
        assert_eq!(creq["messageType"], "CReq");
        assert_eq!(creq["challengeWindowSize"], "02");
        assert_eq!(creq["messageVersion"], version);
        assert_eq!(creq["acsTransID"], answer["ares"]["acsTransID"]);
        assert!(page.has(r#"id="otp""#) && page.has(r#"<label for="otp">"#));

        let wrong = s
            .site
            .post(&s.step_url(&answer), &[("otp", "000000")])
            .await;
        assert!(wrong.has("2 attempts left"), "{}", wrong.html);
        let right = s
            .site
            .post(&s.step_url(&answer), &[("otp", "123456")])
            .await;
        let cres = final_cres(&right);
        assert_eq!(cres["transStatus"], "Y");
        assert_eq!(cres["challengeCompletionInd"], "Y");

        let id = answer["threeDSServerTransID"].as_str().unwrap();
        let result = s.postauth(id).await;
        assert_eq!(result["status"], "final", "the RReq came before the CRes");
        assert_eq!(result["source"], "RReq");
        assert_eq!(result["transStatus"], "Y");
        assert_eq!(result["eci"], "05");
        assert_eq!(result["authenticationValue"].as_str().unwrap().len(), 28);
        assert_eq!(result["messageVersion"], version);
    }
    s.sandbox.shutdown().await;
}

#[tokio::test]
async fn every_challenge_kind_ends_as_the_cardholder_answers() {
    let dirs = tempfile::tempdir().unwrap();
    let s = start(&dirs).await;
    // Three wrong codes: N, reason 19.
    let (answer, _) = s.challenged(&card("beta", "challenge"), "2.2.0").await;
    let mut last = None;
    for _ in 0..3 {
        last = Some(s.site.post(&s.step_url(&answer), &[("otp", "1")]).await);
    }
    assert_eq!(final_cres(&last.unwrap())["transStatus"], "N");
    let result = s
        .postauth(answer["threeDSServerTransID"].as_str().unwrap())
        .await;
    assert_eq!(
        (
            result["transStatus"].as_str(),
            result["transStatusReason"].as_str()
        ),
        (Some("N"), Some("19"))
    );
    assert_eq!(result["eci"], "00", "beta's ECI for N");

    // Single select.
    let (answer, page) = s
        .challenged(&card("alpha", "challenge-select"), "2.2.0")
        .await;
    assert!(page.has(r#"type="radio" name="option" value="coffee""#));
    let done = s
        .site
        .post(&s.step_url(&answer), &[("option", "coffee")])
        .await;
    assert_eq!(final_cres(&done)["transStatus"], "Y");

    // Multi select: one right answer is not enough.
    let (answer, _) = s
        .challenged(&card("alpha", "challenge-multi-select"), "2.3.1")
        .await;
    let half = s
        .site
        .post(&s.step_url(&answer), &[("option", "coffee")])
        .await;
    assert!(half.has("not the answer"), "{}", half.html);
    let done = s
        .site
        .post(
            &s.step_url(&answer),
            &[("option", "books"), ("option", "coffee")],
        )
        .await;
    assert_eq!(final_cres(&done)["transStatus"], "Y");

    // Out of band: continue before approval is refused; the app approves.
    let (answer, page) = s.challenged(&card("alpha", "challenge-oob"), "2.2.0").await;
    assert!(page.has(r#"id="open-issuer-app""#));
    let early = s
        .site
        .post(&s.step_url(&answer), &[("action", "continue")])
        .await;
    assert!(early.has("not received your approval"), "{}", early.html);
    let app = format!(
        "{}/issuer-app/{}",
        s.sandbox.manifest.endpoints.acs_site,
        answer["ares"]["acsTransID"].as_str().unwrap()
    );
    let listing = s
        .site
        .get(&format!(
            "{}/issuer-app",
            s.sandbox.manifest.endpoints.acs_site
        ))
        .await;
    assert!(
        listing.has(answer["ares"]["acsTransID"].as_str().unwrap()),
        "{}",
        listing.html
    );
    let approved = s.site.post(&app, &[("decision", "approve")]).await;
    assert!(approved.has("You approved"), "{}", approved.html);
    let done = s
        .site
        .post(&s.step_url(&answer), &[("action", "continue")])
        .await;
    assert_eq!(final_cres(&done)["transStatus"], "Y");

    // Cancel: N with challengeCancel 01.
    let (answer, _) = s.challenged(&card("alpha", "challenge"), "2.2.0").await;
    let cancelled = s
        .site
        .post(&s.step_url(&answer), &[("action", "cancel")])
        .await;
    assert_eq!(final_cres(&cancelled)["transStatus"], "N");
    let result = s
        .postauth(answer["threeDSServerTransID"].as_str().unwrap())
        .await;
    assert_eq!(result["challengeCancel"], "01");
    assert_eq!(result["source"], "RReq");
    s.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_bad_creq_gets_an_error_page_with_the_erro() {
    let dirs = tempfile::tempdir().unwrap();
    let s = start(&dirs).await;
    let url = format!("{}/challenge", s.sandbox.manifest.endpoints.acs_site);
    let unknown = json!({
        "threeDSServerTransID": "8a880dc0-d2d2-4067-bcb1-b08d1690b26e",
        "acsTransID": "d6a1b0a0-3c4e-4f6b-8e2d-7b5c9a1f0e22",
        "messageType": "CReq", "messageVersion": "2.2.0", "challengeWindowSize": "01"
    });
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(unknown.to_string());
    let page = s.site.post(&url, &[("creq", &encoded)]).await;
    assert_eq!(page.status, 400);
    assert!(
        page.has("Protocol error 301") && page.has("acsTransID"),
        "{}",
        page.html
    );
    let mut missing = unknown.clone();
    missing
        .as_object_mut()
        .unwrap()
        .remove("challengeWindowSize");
    let encoded = base64::engine::general_purpose::URL_SAFE.encode(missing.to_string());
    let page = s.site.post(&url, &[("creq", &encoded)]).await;
    assert!(
        page.has("Protocol error 201") && page.has("challengeWindowSize"),
        "{}",
        page.html
    );
    let page = s.site.post(&url, &[("creq", "%%%")]).await;
    assert_eq!(page.status, 400);
    s.sandbox.shutdown().await;
}

#[tokio::test]
async fn timeouts_end_challenges_with_the_spec_codes() {
    let dirs = tempfile::tempdir().unwrap();
    let s = start(&dirs).await;
    // No CReq within 30 s: challengeCancel 05, reason 14; the 3DS Server answers 02.
    let answer = s
        .auth(&with_window(browser_at(
            &card("alpha", "challenge"),
            "2.2.0",
        )))
        .await;
    let id = answer["threeDSServerTransID"].as_str().unwrap();
    s.clock.advance(Duration::from_secs(29));
    assert_eq!(s.postauth(id).await["status"], "pending");
    s.clock.advance(Duration::from_secs(2));
    let result = s.final_result(id).await;
    assert_eq!(
        (
            result["transStatus"].as_str(),
            result["transStatusReason"].as_str(),
            result["challengeCancel"].as_str()
        ),
        (Some("N"), Some("14"), Some("05"))
    );
    // The ACS records the RRes just after the 3DS Server records the RReq.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = s.site.get(&format!("{}/status", s.step_url(&answer))).await;
        let status: Value = serde_json::from_str(&status.html).unwrap();
        if status["rreq"]["state"] != "pending" {
            assert_eq!(
                status["rreq"],
                json!({"state": "delivered", "resultsStatus": "02"})
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the RRes was not recorded: {status}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // A step left for 10 minutes: challengeCancel 04; a late answer is handed back as N.
    let (answer, _) = s.challenged(&card("alpha", "challenge"), "2.2.0").await;
    s.clock.advance(Duration::from_secs(600));
    let id = answer["threeDSServerTransID"].as_str().unwrap();
    let result = s.final_result(id).await;
    assert_eq!(
        (
            result["challengeCancel"].as_str(),
            result["transStatusReason"].as_str()
        ),
        (Some("04"), Some("14"))
    );
    let late = s
        .site
        .post(&s.step_url(&answer), &[("otp", "123456")])
        .await;
    assert_eq!(final_cres(&late)["transStatus"], "N");
    s.sandbox.shutdown().await;
}

#[tokio::test]
async fn decoupled_is_approved_in_the_app_or_expires() {
    let dirs = tempfile::tempdir().unwrap();
    let s = start(&dirs).await;
    let pan = card("alpha", "decoupled");
    for (version, approve) in [("2.2.0", true), ("2.3.1", false)] {
        let mut body = browser_at(&pan, version);
        body["threeDSRequestorDecReqInd"] = json!("Y");
        body["threeDSRequestorDecMaxTime"] = json!("00002");
        let answer = s.auth(&body).await;
        let ares = &answer["ares"];
        assert_eq!(ares["transStatus"], "D", "{answer}");
        assert_eq!(ares["acsDecConInd"], "Y");
        assert!(answer.get("challenge").is_none());
        let id = answer["threeDSServerTransID"].as_str().unwrap();
        let app = format!(
            "{}/issuer-app/{}",
            s.sandbox.manifest.endpoints.acs_site,
            ares["acsTransID"].as_str().unwrap()
        );
        if approve {
            let page = s.site.post(&app, &[("decision", "approve")]).await;
            assert!(page.has("You approved this payment."), "{}", page.html);
            let result = s.final_result(id).await;
            assert_eq!(
                (result["transStatus"].as_str(), result["source"].as_str()),
                (Some("Y"), Some("RReq"))
            );
        } else {
            s.clock.advance(Duration::from_secs(119));
            assert_eq!(s.postauth(id).await["status"], "pending");
            s.clock.advance(Duration::from_secs(2));
            let result = s.final_result(id).await;
            assert_eq!(
                (
                    result["transStatusReason"].as_str(),
                    result["challengeCancel"].as_str()
                ),
                (Some("24"), Some("03"))
            );
            // Too late: the page says the approval did not count, and why.
            let refused = s.site.post(&app, &[("decision", "approve")]).await;
            assert!(
                refused.has(
                    "Your answer was not taken: the time to answer ran out, so the payment \
                     was not approved."
                ),
                "{}",
                refused.html
            );
            assert_eq!(s.postauth(id).await["transStatus"], "N");
        }
    }
    // Not asked for decoupled: an OTP challenge instead.
    let answer = s.auth(&with_window(browser_at(&pan, "2.2.0"))).await;
    assert_eq!(answer["ares"]["transStatus"], "C");
    s.sandbox.shutdown().await;
}
