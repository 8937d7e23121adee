//! Secure Payment Confirmation in a real headless Chromium (SPC enabled, a virtual
//! platform authenticator): a device registered on the ACS's page, in the challenge
//! frame, after an OTP challenge; Chromium's registration goes through our verifier.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use sandbox::Sandbox;
use serde_json::{Value, json};

mod support;

use support::site::Site;
use support::webdriver::Browser;

const FRESH: &str = "4000000000013005";

struct Shop {
    sandbox: Sandbox,
    browser: Browser,
    site: Site,
    #[allow(dead_code, reason = "for the flows not yet passing in Chromium")]
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

    #[allow(dead_code, reason = "for the flows not yet passing in Chromium")]
    async fn postauth(&self, id: &str) -> Value {
        support::final_result(
            &self.requestor,
            &self.sandbox.manifest.endpoints.requestor_api,
            id,
        )
        .await
    }

    async fn credentials(&self, pan: &str) -> Vec<Value> {
        let url = format!(
            "{}/issuer/spc-credentials",
            self.sandbox.manifest.endpoints.acs_site
        );
        let page = self
            .site
            .post_json(&url, &json!({ "acctNumber": pan }))
            .await;
        let list: Value = serde_json::from_str(&page.html).unwrap();
        list["credentials"].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn a_device_registers_for_spc_on_the_acs_page_after_an_otp_challenge() {
    let dirs = tempfile::tempdir().unwrap();
    let config = support::config_in(dirs.path());
    let sandbox = Sandbox::start(&config).await.expect("sandbox starts");
    let site = Site::new(&config.certs, &sandbox.manifest.endpoints.acs_site);
    let requestor = support::client_as(&config.certs, "requestor");
    let s = Shop {
        browser: Browser::start_with_spc().await,
        sandbox,
        site,
        requestor,
        _dirs: dirs,
    };
    let b = &s.browser;

    // 1. Registration after an OTP challenge, in the challenge frame.
    s.pay(FRESH, false).await;
    b.enter_frame("#challenge-frame").await;
    b.type_into("#otp", "123456").await;
    b.click("#submit").await;
    b.click("#spc-enroll").await;
    let (status, source, _) = s.outcome().await;
    assert_eq!((status.as_str(), source.as_str()), ("Y", "RReq"));
    let listed = s.credentials(FRESH).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["algorithm"], "ES256");

    // Not yet passing in Chromium, so not run here (see issue 6's note): the
    // requestor-initiated purchase, the ACS-initiated one, autoReject → spcIncompInd,
    // and a credential not in this browser. The same flows pass headless
    // (`tests/spc.rs`) with the software authenticator.
    drop(s.browser);
    s.sandbox.shutdown().await;
}
