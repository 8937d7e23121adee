//! The app channel end to end over real sockets: the mock SDK (library) with the app's
//! backend calling the requestor API, our DS decrypting the device data, our ACS
//! signing, encrypting and running every native template and the HTML one, and the
//! RReq reaching the 3DS Server. Both schemes (EC and RSA DS keys, ES256 and PS256
//! signatures), every version, both CReq `enc` values.

use crate::support;

use std::time::Duration;

use app_crypto::session::Enc;
use emv3ds::MessageVersion;
use sandbox::{Sandbox, SandboxConfig};
use sdk::backend::{self, Purchase};
use sdk::{
    Action, ChallengeParameters, ChallengeStatus, ConfigParameters, ScriptedDriver, ThreeDs2Service,
};
use serde_json::Value;

struct App {
    sandbox: Sandbox,
    requestor: transport::Client,
    sdk: ThreeDs2Service,
    config: SandboxConfig,
}

async fn start(dir: &tempfile::TempDir) -> App {
    let config = SandboxConfig {
        sweep_every: Duration::from_millis(20),
        ..support::config_in(dir.path())
    };
    let sandbox = Sandbox::start(&config).await.expect("sandbox starts");
    let requestor = support::client_as(&config.certs, "requestor");
    let sdk = ThreeDs2Service::initialize(sdk_config(&sandbox)).expect("SDK initialises");
    App {
        sandbox,
        requestor,
        sdk,
        config,
    }
}

fn sdk_config(sandbox: &Sandbox) -> ConfigParameters {
    sandbox.manifest.sdk_config().expect("DS files")
}

/// How the app pays: version, CReq encryption, the cardholder's answers, the SDK's
/// timer, and at which screen the issuer app approves (out-of-band).
struct Journey {
    version: MessageVersion,
    enc: Enc,
    actions: Vec<Action>,
    timer: Duration,
    approve_at: Option<usize>,
}

/// What one authentication gave.
#[derive(Debug)]
struct Outcome {
    ares: Value,
    status: Option<ChallengeStatus>,
    postauth: Value,
    screens: Vec<sdk::Screen>,
}

impl App {
    fn api(&self) -> &str {
        &self.sandbox.manifest.endpoints.requestor_api
    }

    fn ds_id(&self, pan: &str) -> String {
        let scheme = if pan.starts_with('4') {
            "alpha"
        } else {
            "beta"
        };
        self.sandbox
            .manifest
            .schemes
            .iter()
            .find(|s| s.name == scheme)
            .map(|s| s.directory_server_id.clone())
            .unwrap()
    }

    async fn pay(
        &self,
        pan: &str,
        version: MessageVersion,
        enc: Enc,
        actions: Vec<Action>,
    ) -> Outcome {
        self.pay_with(
            &self.sdk,
            pan,
            Journey {
                version,
                enc,
                actions,
                timer: Duration::from_secs(20),
                approve_at: None,
            },
        )
        .await
    }

    async fn pay_with(&self, sdk: &ThreeDs2Service, pan: &str, journey: Journey) -> Outcome {
        let Journey {
            version,
            enc,
            actions,
            timer: timeout,
            approve_at,
        } = journey;
        let mut transaction = sdk.create_transaction(&self.ds_id(pan), version).unwrap();
        transaction.enc = enc;
        let params = transaction.authentication_request_parameters().unwrap();
        let body = backend::auth_request(&Purchase::new(pan), &params);
        let answer = backend::auth(&self.requestor, self.api(), &body)
            .await
            .expect("auth");
        let ares = answer["ares"].clone();
        let id = answer["threeDSServerTransID"].as_str().unwrap().to_owned();
        let acs_site = self.sandbox.manifest.endpoints.acs_site.clone();
        let mut driver = Cardholder {
            answers: actions.len(),
            script: ScriptedDriver::new(actions),
            approve_at,
            approve_url: format!(
                "{acs_site}/issuer-app/{}",
                ares["acsTransID"].as_str().unwrap_or("")
            ),
            site: support::site::Site::new(&self.config.certs, &acs_site),
        };
        let status = if ares["transStatus"] == "C" {
            let challenge = ChallengeParameters::from_ares(&ares).unwrap();
            Some(
                transaction
                    .do_challenge(&challenge, &mut driver, &mut (), timeout)
                    .await,
            )
        } else {
            None
        };
        let postauth = self.final_result(&id).await;
        Outcome {
            ares,
            status,
            postauth,
            screens: driver.script.seen,
        }
    }

    async fn final_result(&self, id: &str) -> Value {
        support::final_result(&self.requestor, self.api(), id).await
    }
}

/// The cardholder: plays a script of answers, and before the `approve_at`-th screen
/// (1-based) approves the payment in the issuer app, as on their phone. After the
/// script, they never answer: only the SDK's timer ends the challenge.
struct Cardholder {
    script: ScriptedDriver,
    answers: usize,
    approve_at: Option<usize>,
    approve_url: String,
    site: support::site::Site,
}

impl sdk::ChallengeDriver for Cardholder {
    fn act<'a>(&'a mut self, screen: &'a sdk::Screen) -> sdk::Answer<'a> {
        Box::pin(async move {
            if self.approve_at == Some(self.script.seen.len() + 1) {
                let page = self
                    .site
                    .post(&self.approve_url, &[("decision", "approve")])
                    .await;
                assert_eq!(page.status, 200, "approving in the issuer app: {page:?}");
            }
            if self.script.seen.len() == self.answers {
                return std::future::pending().await;
            }
            self.script.act(screen).await
        })
    }
}

fn completed(status: &str) -> Option<ChallengeStatus> {
    Some(ChallengeStatus::Completed {
        trans_status: status.into(),
    })
}

const OTP: &str = "123456";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frictionless_and_otp_challenges_for_both_schemes_every_version_and_both_encs() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&dir).await;
    for scheme in ["alpha", "beta"] {
        let y = app
            .pay(
                &support::card(scheme, "frictionless-Y"),
                MessageVersion::V2_2_0,
                Enc::A128CbcHs256,
                vec![],
            )
            .await;
        assert_eq!(y.ares["transStatus"], "Y", "{}", y.ares);
        assert_eq!(y.postauth["transStatus"], "Y");
        let pan = support::card(scheme, "challenge");
        for (version, enc) in [
            (MessageVersion::V2_1_0, Enc::A128CbcHs256),
            (MessageVersion::V2_2_0, Enc::A128Gcm),
            (MessageVersion::V2_3_1, Enc::A128CbcHs256),
            (MessageVersion::V2_3_1, Enc::A128Gcm),
        ] {
            let ok = app
                .pay(
                    &pan,
                    version,
                    enc,
                    vec![Action::Text("000000".into()), Action::Text(OTP.into())],
                )
                .await;
            assert_eq!(
                ok.ares["acsRenderingType"]["acsUiTemplate"], "01",
                "{}",
                ok.ares
            );
            assert!(ok.ares.get("acsURL").is_none(), "no acsURL in an app ARes");
            assert_eq!(ok.status, completed("Y"), "{scheme} {version} {enc:?}");
            assert_eq!(ok.postauth["transStatus"], "Y");
            assert_eq!(ok.postauth["source"], "RReq");
            assert_eq!(ok.screens.len(), 2, "first screen, then the retry");
            assert!(
                ok.screens[1]
                    .text
                    .as_deref()
                    .unwrap_or("")
                    .contains("not right")
            );
        }
        let failed = app
            .pay(
                &pan,
                MessageVersion::V2_3_1,
                Enc::A128Gcm,
                vec![Action::Text("1".into()); 3],
            )
            .await;
        assert_eq!(failed.status, completed("N"));
        assert_eq!(failed.postauth["transStatus"], "N");
        assert_eq!(failed.postauth["transStatusReason"], "19");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_native_template_and_the_html_one() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&dir).await;
    for scheme in ["alpha", "beta"] {
        let v = MessageVersion::V2_2_0;
        let single = app
            .pay(
                &support::card(scheme, "challenge-select"),
                v,
                Enc::A128CbcHs256,
                vec![Action::Select(vec!["coffee".into()])],
            )
            .await;
        assert_eq!(single.ares["acsRenderingType"]["acsUiTemplate"], "02");
        assert_eq!(single.status, completed("Y"), "{single:?}");
        assert_eq!(single.screens[0].ui_type, "02");
        assert!(single.screens[0].options.iter().any(|(v, _)| v == "coffee"));
        assert_eq!(single.status, completed("Y"));

        let multi = app
            .pay(
                &support::card(scheme, "challenge-multi-select"),
                v,
                Enc::A128Gcm,
                vec![Action::Select(vec!["books".into(), "coffee".into()])],
            )
            .await;
        assert_eq!(multi.status, completed("Y"), "{multi:?}");
        assert_eq!(multi.screens[0].ui_type, "03");

        let html = app
            .pay(
                &support::card(scheme, "challenge-html"),
                v,
                Enc::A128CbcHs256,
                vec![
                    Action::HtmlForm("action=resend".into()),
                    Action::HtmlForm(format!("otp={OTP}&action=submit")),
                ],
            )
            .await;
        assert_eq!(html.ares["acsRenderingType"]["acsInterface"], "02");
        assert_eq!(html.screens[0].ui_type, "05");
        let page = html.screens[0].html.as_deref().unwrap_or_default();
        assert!(
            page.contains(r#"action="HTTPS://EMV3DS/challenge""#),
            "{page}"
        );
        assert!(
            html.screens[1]
                .html
                .as_deref()
                .unwrap_or("")
                .contains("new code")
        );
        assert_eq!(html.status, completed("Y"));
        assert_eq!(html.postauth["transStatus"], "Y");
    }
}

/// On one thread: the issuer app's approval is served by the sandbox on the thread the
/// SDK's challenge runs on, so it is only served because the driver awaits it (a
/// driver that blocked for it would wait for ever).
#[tokio::test(flavor = "current_thread")]
async fn out_of_band_is_approved_in_the_issuer_app() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&dir).await;
    let pan = support::card("beta", "challenge-oob");
    // The cardholder continues once before approving (told to approve first), then
    // approves in the issuer app and continues.
    let oob = app
        .pay_with(
            &app.sdk,
            &pan,
            Journey {
                version: MessageVersion::V2_3_1,
                enc: Enc::A128Gcm,
                actions: vec![Action::Continue, Action::Continue],
                timer: Duration::from_secs(20),
                approve_at: Some(2),
            },
        )
        .await;
    assert_eq!(oob.ares["acsRenderingType"]["acsUiTemplate"], "04");
    assert_eq!(oob.status, completed("Y"));
    assert!(oob.screens[0].oob_continue_label.is_some());
    assert!(
        oob.screens[1]
            .text
            .as_deref()
            .unwrap_or("")
            .contains("not received your approval")
    );
    assert_eq!(oob.postauth["transStatus"], "Y");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_the_sdk_timer_end_the_challenge_with_their_codes() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&dir).await;
    let pan = support::card("alpha", "challenge");
    let cancelled = app
        .pay(
            &pan,
            MessageVersion::V2_2_0,
            Enc::A128CbcHs256,
            vec![Action::Cancel],
        )
        .await;
    assert_eq!(cancelled.status, Some(ChallengeStatus::Cancelled));
    assert_eq!(cancelled.postauth["transStatus"], "N");
    assert_eq!(cancelled.postauth["challengeCancel"], "01");
    let timed_out = app
        .pay_with(
            &app.sdk,
            &pan,
            Journey {
                version: MessageVersion::V2_3_1,
                enc: Enc::A128Gcm,
                actions: vec![Action::Wait],
                timer: Duration::from_millis(300),
                approve_at: None,
            },
        )
        .await;
    assert_eq!(timed_out.status, Some(ChallengeStatus::TimedOut));
    assert_eq!(timed_out.postauth["transStatus"], "N");
    assert_eq!(timed_out.postauth["challengeCancel"], "08");
    assert_eq!(timed_out.postauth["transStatusReason"], "26");
    // A cardholder who never answers at all: the SDK's timer runs while it awaits them.
    let silent = app
        .pay_with(
            &app.sdk,
            &pan,
            Journey {
                version: MessageVersion::V2_3_1,
                enc: Enc::A128Gcm,
                actions: Vec::new(),
                timer: Duration::from_millis(300),
                approve_at: None,
            },
        )
        .await;
    assert_eq!(silent.status, Some(ChallengeStatus::TimedOut));
    assert_eq!(silent.screens.len(), 0, "the script had no answer to give");
    assert_eq!(silent.postauth["challengeCancel"], "08");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_data_reaches_the_acs_and_a_rooted_device_is_challenged() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&dir).await;
    let mut config = sdk_config(&app.sandbox);
    config.device.warnings = vec!["SW01".into()];
    // The dir + epk variant of EC device data, as one public SDK writes it.
    config.ec_alg = app_crypto::device_data::EcAlg::DirWithEpk;
    let rooted = ThreeDs2Service::initialize(config).unwrap();
    for scheme in ["alpha", "beta"] {
        let pan = support::card(scheme, "frictionless-Y");
        let outcome = app
            .pay_with(
                &rooted,
                &pan,
                Journey {
                    version: MessageVersion::V2_3_1,
                    enc: Enc::A128CbcHs256,
                    actions: vec![Action::Text(OTP.into())],
                    timer: Duration::from_secs(20),
                    approve_at: None,
                },
            )
            .await;
        assert_eq!(outcome.ares["transStatus"], "C", "{}", outcome.ares);
        assert_eq!(outcome.ares["deviceInfoRecognisedVersion"], "1.7");
        assert_eq!(outcome.status, completed("Y"));
    }
}

/// One row of the matrix below.
struct Case {
    outcome: &'static str,
    actions: Vec<Action>,
    approve_at: Option<usize>,
    timer_ms: u64,
    status: Option<ChallengeStatus>,
    /// At the 3DS Server, and its `challengeCancel`.
    trans_status: &'static str,
    cancel: Option<&'static str>,
}

/// Every kind of app authentication, for both schemes and every version: what the
/// cardholder does, and the `transStatus` the 3DS Server ends with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_for_both_schemes_and_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&dir).await;
    let otp = || Action::Text(OTP.into());
    for scheme in ["alpha", "beta"] {
        for version in MessageVersion::ALL {
            let enc = if scheme == "alpha" {
                Enc::A128CbcHs256
            } else {
                Enc::A128Gcm
            };
            // What the cardholder does, and how it must end.
            let cases = [
                Case {
                    outcome: "frictionless-Y",
                    actions: vec![],
                    approve_at: None,
                    timer_ms: 20_000,
                    status: None,
                    trans_status: "Y",
                    cancel: None,
                },
                Case {
                    outcome: "challenge",
                    actions: vec![Action::Resend, otp()],
                    approve_at: None,
                    timer_ms: 20_000,
                    status: completed("Y"),
                    trans_status: "Y",
                    cancel: None,
                },
                Case {
                    outcome: "challenge",
                    actions: vec![Action::Text("1".into()); 3],
                    approve_at: None,
                    timer_ms: 20_000,
                    status: completed("N"),
                    trans_status: "N",
                    cancel: None,
                },
                Case {
                    outcome: "challenge-select",
                    actions: vec![Action::Select(vec!["coffee".into()])],
                    approve_at: None,
                    timer_ms: 20_000,
                    status: completed("Y"),
                    trans_status: "Y",
                    cancel: None,
                },
                Case {
                    outcome: "challenge-multi-select",
                    actions: vec![Action::Select(vec!["coffee".into(), "books".into()])],
                    approve_at: None,
                    timer_ms: 20_000,
                    status: completed("Y"),
                    trans_status: "Y",
                    cancel: None,
                },
                Case {
                    outcome: "challenge-oob",
                    actions: vec![Action::Continue],
                    approve_at: Some(1),
                    timer_ms: 20_000,
                    status: completed("Y"),
                    trans_status: "Y",
                    cancel: None,
                },
                Case {
                    outcome: "challenge-html",
                    actions: vec![Action::HtmlForm(format!("otp={OTP}&action=submit"))],
                    approve_at: None,
                    timer_ms: 20_000,
                    status: completed("Y"),
                    trans_status: "Y",
                    cancel: None,
                },
                Case {
                    outcome: "challenge",
                    actions: vec![Action::Cancel],
                    approve_at: None,
                    timer_ms: 20_000,
                    status: Some(ChallengeStatus::Cancelled),
                    trans_status: "N",
                    cancel: Some("01"),
                },
                Case {
                    outcome: "challenge",
                    actions: vec![Action::Wait],
                    approve_at: None,
                    timer_ms: 150,
                    status: Some(ChallengeStatus::TimedOut),
                    trans_status: "N",
                    cancel: Some("08"),
                },
            ];
            for Case {
                outcome,
                actions,
                approve_at,
                timer_ms,
                status,
                trans_status,
                cancel,
            } in cases
            {
                let pan = support::card(scheme, outcome);
                let got = app
                    .pay_with(
                        &app.sdk,
                        &pan,
                        Journey {
                            version,
                            enc,
                            actions,
                            timer: Duration::from_millis(timer_ms),
                            approve_at,
                        },
                    )
                    .await;
                let case = format!("{scheme} {version} {outcome}");
                assert_eq!(got.status, status, "{case}: {:?}", got.ares);
                assert_eq!(
                    got.postauth["transStatus"], trans_status,
                    "{case}: {}",
                    got.postauth
                );
                if status.is_some() {
                    assert_eq!(got.postauth["source"], "RReq", "{case}");
                }
                assert_eq!(got.postauth["challengeCancel"].as_str(), cancel, "{case}");
            }
        }
    }
}
