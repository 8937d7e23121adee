//! `threeds sdk --interactive`'s screens against the real ACS: the mock SDK pays with
//! each kind of app challenge, and every screen the ACS sends is drawn by the TUI's
//! `ChallengeUi` (snapshotted on `TestBackend`) and answered by feeding it keys as a
//! person would type them. The answers must be what the ACS expects, so the outcome at
//! the 3DS Server proves the screens and their keys work.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::collections::VecDeque;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sandbox::{Sandbox, SandboxConfig};
use sdk::backend::{self, Purchase};
use sdk::{Action, ChallengeParameters, Screen, ThreeDs2Service};
use serde_json::Value;
use tui::challenge::{ChallengeUi, Control, read_html};

fn press(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn typed(text: &str) -> Vec<KeyEvent> {
    text.chars().map(|c| press(KeyCode::Char(c))).collect()
}

fn draw(ui: &ChallengeUi) -> String {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|frame| ui.draw(frame)).unwrap();
    tui::view::text_of(terminal.backend().buffer())
}

/// `text` with the port of every `localhost:` URL replaced (ports are the OS's choice).
fn without_ports(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("localhost:") {
        out.push_str(&rest[..i + 10]);
        rest = &rest[i + 10..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        out.push_str("#####");
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// A person at the keyboard: for each screen, the keys `plan` says to press.
struct Keyboard {
    plan: fn(&ChallengeUi) -> Vec<KeyEvent>,
    frames: Vec<String>,
    actions: Vec<Action>,
}

impl Keyboard {
    fn new(plan: fn(&ChallengeUi) -> Vec<KeyEvent>) -> Keyboard {
        Keyboard {
            plan,
            frames: Vec::new(),
            actions: Vec::new(),
        }
    }
}

impl sdk::ChallengeDriver for Keyboard {
    fn act<'a>(&'a mut self, screen: &'a Screen) -> sdk::Answer<'a> {
        sdk::answer_now(self.press(screen))
    }
}

impl Keyboard {
    fn press(&mut self, screen: &Screen) -> Action {
        let mut ui = ChallengeUi::new(screen);
        self.frames.push(without_ports(&draw(&ui)));
        let mut keys: VecDeque<KeyEvent> = (self.plan)(&ui).into();
        while let Some(key) = keys.pop_front() {
            if let Some(action) = ui.key(key) {
                self.actions.push(action.clone());
                return action;
            }
        }
        panic!("the keys did not finish the screen:\n{}", draw(&ui));
    }
}

struct Running {
    sandbox: Sandbox,
    requestor: transport::Client,
    sdk: ThreeDs2Service,
}

async fn start(dir: &std::path::Path) -> Running {
    let config = SandboxConfig {
        certs: dir.join("certs"),
        data: dir.join("data"),
        port_base: 0,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(&config).await.unwrap();
    let m = &sandbox.manifest;
    let requestor = m.requestor_client().unwrap();
    let sdk = ThreeDs2Service::initialize(m.sdk_config().unwrap()).unwrap();
    Running {
        sandbox,
        requestor,
        sdk,
    }
}

impl Running {
    /// Pays with `pan` in the app, the keyboard answering; returns the final result.
    async fn pay(&self, pan: &str, keyboard: &mut Keyboard) -> Value {
        let api = self.sandbox.manifest.endpoints.requestor_api.clone();
        let pre = backend::preauth(&self.requestor, &api, pan).await.unwrap();
        let ds = pre["directoryServerId"].as_str().unwrap();
        let transaction = self
            .sdk
            .create_transaction(ds, emv3ds::MessageVersion::V2_2_0)
            .unwrap();
        let params = transaction.authentication_request_parameters().unwrap();
        let body = backend::auth_request(&Purchase::new(pan), &params);
        let answer = backend::auth(&self.requestor, &api, &body).await.unwrap();
        assert_eq!(answer["ares"]["transStatus"], "C", "{answer}");
        let challenge = ChallengeParameters::from_ares(&answer["ares"]).unwrap();
        transaction
            .do_challenge(&challenge, keyboard, &mut (), Duration::from_secs(20))
            .await;
        let id = answer["threeDSServerTransID"].as_str().unwrap();
        for _ in 0..200 {
            let result = backend::postauth(&self.requestor, &api, id).await.unwrap();
            if result["status"] == "final" {
                return result;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no final result");
    }
}

fn option_keys(ui: &ChallengeUi, wanted: &[&str]) -> Vec<KeyEvent> {
    let mut keys = Vec::new();
    let mut at = 0;
    for (i, (_, label)) in ui.screen.options.iter().enumerate() {
        if wanted.iter().any(|w| label.contains(w)) {
            keys.extend((at..i).map(|_| press(KeyCode::Down)));
            keys.push(press(KeyCode::Char(' ')));
            at = i;
        }
    }
    keys.push(press(KeyCode::Enter));
    keys
}

#[tokio::test]
async fn every_native_screen_and_the_html_one_are_played_with_keys() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;

    // Text (OTP): a wrong code first, then the right one.
    let mut keyboard = Keyboard::new(|ui| {
        let code = if ui
            .screen
            .text
            .as_deref()
            .is_some_and(|t| t.contains("attempt"))
        {
            "123456"
        } else {
            "000000"
        };
        let mut keys = typed(code);
        keys.insert(1, press(KeyCode::Backspace));
        keys.insert(1, press(KeyCode::Char('x')));
        keys.push(press(KeyCode::Enter));
        keys
    });
    let result = s.pay("4000000000006009", &mut keyboard).await;
    assert_eq!(
        result["transStatus"], "Y",
        "{result} after {:?}",
        keyboard.actions
    );
    assert_eq!(keyboard.actions[0], Action::Text("000000".into()));
    insta::assert_snapshot!("text_screen", keyboard.frames[0]);

    // Single select: the right shop.
    let mut keyboard = Keyboard::new(|ui| option_keys(ui, &["Corner Coffee"]));
    let result = s.pay("4000000000007007", &mut keyboard).await;
    assert_eq!(
        result["transStatus"], "Y",
        "{result} after {:?}",
        keyboard.actions
    );
    insta::assert_snapshot!("single_select_screen", keyboard.frames[0]);

    // Multi select: every recent purchase.
    let mut keyboard = Keyboard::new(|ui| option_keys(ui, &["Coffee", "Book"]));
    let result = s.pay("4000000000008005", &mut keyboard).await;
    assert_eq!(
        result["transStatus"], "Y",
        "{result} after {:?}",
        keyboard.actions
    );
    insta::assert_snapshot!("multi_select_screen", keyboard.frames[0]);

    // HTML: the form read for the terminal, the code typed into its field.
    let mut keyboard = Keyboard::new(|ui| {
        let mut keys = typed("123456");
        keys.push(press(KeyCode::Enter));
        assert!(
            ui.html
                .as_ref()
                .is_some_and(|p| matches!(p.controls[0], Control::Text { .. }))
        );
        keys
    });
    let result = s.pay("4000000000012007", &mut keyboard).await;
    assert_eq!(
        result["transStatus"], "Y",
        "{result} after {:?}",
        keyboard.actions
    );
    assert_eq!(
        keyboard.actions[0],
        Action::HtmlForm("otp=123456&action=submit".into())
    );
    insta::assert_snapshot!("html_screen", keyboard.frames[0]);

    // Out of band: not approved, so the cardholder cancels.
    let mut keyboard = Keyboard::new(|_| vec![press(KeyCode::Esc)]);
    let result = s.pay("4000000000009003", &mut keyboard).await;
    assert_eq!(result["challengeCancel"], "01", "{result}");
    insta::assert_snapshot!("oob_screen", keyboard.frames[0]);
    s.sandbox.shutdown().await;
}

#[test]
fn html_forms_are_read_with_their_controls_and_cancel_form() {
    let page = read_html(
        r#"<html><head><style>p{}</style><script>var x = "<p>";</script></head><body><h1>Confirm</h1>
        <p>Pay &amp; go</p><form action="x"><label for="otp">Code</label><input type="text" name="otp">
        <fieldset><legend>Which?</legend><label><input type="radio" name="option" value="a">Alpha</label>
        <label><input type="radio" name="option" value="b">Beta</label></fieldset>
        <input type="hidden" name="h" value="1"><button type="submit" name="action" value="submit">OK</button></form>
        <form><button name="action" value="cancel">Cancel</button></form></body></html>"#,
    );
    assert!(page.text.contains(&"Pay & go".to_owned()), "{page:?}");
    assert!(!page.text.iter().any(|t| t.contains("var x")), "{page:?}");
    assert_eq!(page.controls.len(), 5, "{page:?}");
    let screen = Screen {
        ui_type: "05".into(),
        header: None,
        label: None,
        text: None,
        options: Vec::new(),
        submit_label: None,
        resend_label: None,
        oob_continue_label: None,
        html: None,
    };
    let mut ui = ChallengeUi::new(&screen);
    ui.html = Some(page);
    for key in typed("12 3") {
        ui.key(key);
    }
    ui.key(press(KeyCode::Tab));
    ui.key(press(KeyCode::Tab));
    ui.key(press(KeyCode::Char(' ')));
    assert_eq!(
        ui.key(press(KeyCode::Enter)),
        Some(Action::HtmlForm("otp=12+3&option=b&action=submit".into()))
    );
    ui.cursor = 4;
    assert_eq!(
        ui.key(press(KeyCode::Enter)),
        Some(Action::HtmlForm("action=cancel".into()))
    );
    assert_eq!(
        ui.key(KeyEvent::new(KeyCode::Char('t'), KeyModifiers::CONTROL)),
        Some(Action::Wait)
    );
}
