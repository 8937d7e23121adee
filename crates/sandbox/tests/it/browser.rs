//! The browser journey in a real headless Chromium: the merchant's shop, the 3DS Method
//! in its hidden frame, the ACS's challenge pages in the challenge frame (or the whole
//! window), the issuer app, the hand-back to the shop and the result page. Each test
//! checks the outcome element and that the result is the one the 3DS Server recorded
//! (`data-source`: `RReq` after a challenge).

use sandbox::Sandbox;

use crate::support;

use support::card;
use support::webdriver::Browser;

struct Shop {
    sandbox: Sandbox,
    browser: Browser,
    _dirs: tempfile::TempDir,
}

/// What the shopper picks on the checkout form.
struct Checkout<'a> {
    pan: &'a str,
    version: &'a str,
    window: &'a str,
}

impl Default for Checkout<'_> {
    fn default() -> Self {
        Checkout {
            pan: "",
            version: "",
            window: "03",
        }
    }
}

async fn shop(javascript: bool) -> Shop {
    shop_waiting(javascript, 10_000).await
}

/// A shop whose page waits `method_timeout_ms` for the 3DS Method.
async fn shop_waiting(javascript: bool, method_timeout_ms: u64) -> Shop {
    let dirs = tempfile::tempdir().unwrap();
    let config = sandbox::SandboxConfig {
        method_timeout_ms,
        ..support::config_in(dirs.path())
    };
    let sandbox = Sandbox::start(&config).await.expect("sandbox starts");
    let browser = Browser::start(javascript).await;
    Shop {
        sandbox,
        browser,
        _dirs: dirs,
    }
}

impl Shop {
    /// Fills the checkout form and pays.
    async fn pay(&self, order: &Checkout<'_>) {
        let b = &self.browser;
        b.goto(&self.sandbox.manifest.endpoints.merchant).await;
        b.type_into("#card-number", order.pan).await;
        b.type_into("#amount", "49.90").await;
        b.click("#checkout summary").await;
        b.choose("#message-version", order.version).await;
        b.choose("#window-size", order.window).await;
        b.click("#pay").await;
    }

    /// Enters the challenge frame (for window sizes 01–04).
    async fn in_challenge_frame(&self) {
        self.browser.enter_frame("#challenge-frame").await;
    }

    /// The outcome element's (transStatus, source), once the result page shows.
    async fn outcome(&self) -> (String, String) {
        let b = &self.browser;
        b.leave_frames().await;
        let status = b
            .attribute("#outcome", "data-trans-status")
            .await
            .unwrap_or_default();
        let id = b
            .attribute("#outcome", "data-three-ds-server-trans-id")
            .await
            .unwrap_or_default();
        assert_eq!(id.len(), 36, "a threeDSServerTransID: {id}");
        let source = b
            .attribute("#outcome", "data-source")
            .await
            .unwrap_or_default();
        (status, source)
    }

    /// The accessibility smoke check of the page in the current frame: one heading, a
    /// label on every visible input, a language, and every button a real `<button>`
    /// (so Enter and Space work).
    async fn assert_accessible(&self) {
        let report = self
            .browser
            .run(
                r#"var unlabelled = Array.from(document.querySelectorAll("input:not([type=hidden])"))
                     .filter(function(i){ return !(i.labels && i.labels.length); }).map(function(i){ return i.id; });
                   var fake = document.querySelectorAll("[onclick]:not(button), div[role=button]").length;
                   return { headings: document.querySelectorAll("h1").length, unlabelled: unlabelled,
                            lang: document.documentElement.lang, title: document.title, fakeButtons: fake };"#,
                serde_json::json!([]),
            )
            .await;
        assert_eq!(report["headings"], 1, "{report}");
        assert_eq!(report["unlabelled"], serde_json::json!([]), "{report}");
        assert_eq!(report["lang"], "en");
        assert_eq!(report["fakeButtons"], 0, "{report}");
    }

    async fn result_field(&self, name: &str) -> String {
        self.browser.text(&format!("#result-{name}")).await
    }

    async fn stop(self) {
        drop(self.browser);
        self.sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn frictionless_y_with_the_3ds_method() {
    let s = shop(true).await;
    s.pay(&Checkout {
        pan: &card("alpha", "frictionless-Y"),
        ..Checkout::default()
    })
    .await;
    assert_eq!(s.outcome().await, ("Y".into(), "ARes".into()));
    assert_eq!(
        s.result_field("threeDSCompInd").await,
        "Y",
        "the 3DS Method ran and notified the shop"
    );
    assert_eq!(s.result_field("eci").await, "05");
    s.stop().await;
}

#[tokio::test]
async fn no_3ds_method_for_a_range_without_one() {
    let s = shop(true).await;
    // 4000000000100109: its range (2.1.0–2.2.0) has no 3DS Method URL.
    s.pay(&Checkout {
        pan: "4000000000100109",
        ..Checkout::default()
    })
    .await;
    assert_eq!(s.outcome().await, ("Y".into(), "ARes".into()));
    assert_eq!(s.result_field("threeDSCompInd").await, "U");
    s.stop().await;
}

#[tokio::test]
async fn a_3ds_method_that_does_not_finish_in_time_is_n() {
    // The page gives up on the 3DS Method at once (the spec's 10 s, shortened), so the
    // ACS's notification cannot arrive first: the shop must say N, not Y.
    let s = shop_waiting(true, 0).await;
    s.pay(&Checkout {
        pan: &card("alpha", "frictionless-Y"),
        ..Checkout::default()
    })
    .await;
    assert_eq!(s.outcome().await, ("Y".into(), "ARes".into()));
    assert_eq!(s.result_field("threeDSCompInd").await, "N");
    s.stop().await;
}

#[tokio::test]
async fn otp_challenge_passed_in_2_1_0() {
    let s = shop(true).await;
    s.pay(&Checkout {
        pan: &card("alpha", "challenge"),
        version: "2.1.0",
        ..Checkout::default()
    })
    .await;
    s.in_challenge_frame().await;
    s.browser.type_into("#otp", "123456").await;
    s.browser.click("#submit").await;
    assert_eq!(s.outcome().await, ("Y".into(), "RReq".into()));
    assert_eq!(s.result_field("messageVersion").await, "2.1.0");
    assert_eq!(s.result_field("cres").await, "Y");
    s.stop().await;
}

#[tokio::test]
async fn otp_challenge_failed_in_2_3_1() {
    let s = shop(true).await;
    s.pay(&Checkout {
        pan: &card("beta", "challenge"),
        version: "2.3.1",
        ..Checkout::default()
    })
    .await;
    s.in_challenge_frame().await;
    for left in ["2 attempts left", "1 attempt left"] {
        s.browser.type_into("#otp", "999999").await;
        s.browser.click("#submit").await;
        s.browser.wait_text("#notice", left).await;
    }
    s.browser.type_into("#otp", "999999").await;
    s.browser.click("#submit").await;
    assert_eq!(s.outcome().await, ("N".into(), "RReq".into()));
    assert_eq!(s.result_field("transStatusReason").await, "19");
    assert_eq!(s.result_field("messageVersion").await, "2.3.1");
    s.stop().await;
}

#[tokio::test]
async fn single_select_challenge() {
    let s = shop(true).await;
    s.pay(&Checkout {
        pan: &card("alpha", "challenge-select"),
        ..Checkout::default()
    })
    .await;
    s.in_challenge_frame().await;
    s.browser.find("#option-coffee").await;
    s.assert_accessible().await;
    s.browser.click("#option-coffee").await;
    s.browser.click("#submit").await;
    assert_eq!(s.outcome().await, ("Y".into(), "RReq".into()));
    s.stop().await;
}

#[tokio::test]
async fn multi_select_challenge() {
    let s = shop(true).await;
    s.pay(&Checkout {
        pan: &card("beta", "challenge-multi-select"),
        ..Checkout::default()
    })
    .await;
    s.in_challenge_frame().await;
    s.browser.find("#option-books").await;
    s.assert_accessible().await;
    s.browser.click("#option-coffee").await;
    s.browser.click("#option-books").await;
    s.browser.click("#submit").await;
    assert_eq!(s.outcome().await, ("Y".into(), "RReq".into()));
    s.stop().await;
}

#[tokio::test]
async fn out_of_band_approved_in_the_issuer_app() {
    let s = shop(true).await;
    s.pay(&Checkout {
        pan: &card("alpha", "challenge-oob"),
        ..Checkout::default()
    })
    .await;
    s.in_challenge_frame().await;
    s.browser.find("#open-issuer-app").await;
    s.assert_accessible().await;
    let href = s
        .browser
        .attribute("#open-issuer-app", "href")
        .await
        .unwrap();
    let app = format!("{}{href}", s.sandbox.manifest.endpoints.acs_site);
    let shop_tab = s.browser.window().await;
    // The cardholder opens the bank's app (another tab) and approves.
    s.browser.new_tab().await;
    s.browser.goto(&app).await;
    s.browser.click("#approve").await;
    s.browser.find("#answered").await;
    s.browser.switch_to(&shop_tab).await;
    // The challenge page notices the approval by itself and continues.
    assert_eq!(s.outcome().await, ("Y".into(), "RReq".into()));
    s.stop().await;
}

#[tokio::test]
async fn cancel_on_the_challenge_page() {
    let s = shop(true).await;
    s.pay(&Checkout {
        pan: &card("alpha", "challenge"),
        ..Checkout::default()
    })
    .await;
    s.in_challenge_frame().await;
    s.browser.click("#cancel").await;
    assert_eq!(s.outcome().await, ("N".into(), "RReq".into()));
    assert_eq!(s.result_field("challengeCancel").await, "01");
    s.stop().await;
}

#[tokio::test]
async fn window_size_01_is_a_small_frame() {
    let s = shop(true).await;
    s.pay(&Checkout {
        pan: &card("alpha", "challenge"),
        window: "01",
        ..Checkout::default()
    })
    .await;
    assert_eq!(
        s.browser
            .attribute("#challenge-frame", "width")
            .await
            .as_deref(),
        Some("250")
    );
    assert_eq!(
        s.browser
            .attribute("#challenge-frame", "height")
            .await
            .as_deref(),
        Some("400")
    );
    s.in_challenge_frame().await;
    s.browser.type_into("#otp", "123456").await;
    s.browser.click("#submit").await;
    assert_eq!(s.outcome().await, ("Y".into(), "RReq".into()));
    s.stop().await;
}

#[tokio::test]
async fn window_size_05_is_the_whole_page() {
    let s = shop(true).await;
    s.pay(&Checkout {
        pan: &card("alpha", "challenge"),
        window: "05",
        ..Checkout::default()
    })
    .await;
    // The ACS's page is the top-level page: no frame to enter.
    s.browser.find("#otp").await;
    let url = s
        .browser
        .run("return location.href", serde_json::json!([]))
        .await;
    let url = url.as_str().unwrap_or_default();
    assert!(
        url.starts_with(&s.sandbox.manifest.endpoints.acs_site),
        "{url}"
    );
    if let Ok(dir) = std::env::var("THREEDS_SCREENSHOT_DIR") {
        std::fs::write(
            std::path::Path::new(&dir).join("challenge.png"),
            s.browser.screenshot().await,
        )
        .unwrap();
    }
    s.browser.type_into("#otp", "123456").await;
    s.browser.click("#submit").await;
    assert_eq!(s.outcome().await, ("Y".into(), "RReq".into()));
    s.stop().await;
}

#[tokio::test]
async fn javascript_disabled_all_the_way() {
    let s = shop(false).await;
    s.pay(&Checkout {
        pan: &card("beta", "challenge"),
        version: "2.2.0",
        ..Checkout::default()
    })
    .await;
    // Every self-submitting form shows its button instead.
    s.browser.click("#continue").await;
    s.browser.click("#challenge-form button").await;
    s.in_challenge_frame().await;
    s.browser.type_into("#otp", "123456").await;
    s.browser.click("#submit").await;
    s.browser.click("#cres-form button").await;
    s.browser.click("#to-result").await;
    assert_eq!(s.outcome().await, ("Y".into(), "RReq".into()));
    assert_eq!(
        s.result_field("threeDSCompInd").await,
        "N",
        "the 3DS Method cannot run without JavaScript"
    );
    assert_eq!(s.result_field("browserJavascriptEnabled").await, "false");
    s.stop().await;
}

#[tokio::test]
async fn the_challenge_page_is_accessible() {
    let s = shop(true).await;
    s.pay(&Checkout {
        pan: &card("alpha", "challenge"),
        ..Checkout::default()
    })
    .await;
    s.in_challenge_frame().await;
    s.browser.find("#otp").await;
    s.assert_accessible().await;
    // Keyboard only: type the code and press Enter.
    s.browser.type_into("#otp", "123456\u{E007}").await;
    assert_eq!(s.outcome().await, ("Y".into(), "RReq".into()));
    s.stop().await;
}
