//! What the cardholder does with each challenge screen: a [`ChallengeDriver`] gets the
//! screen (from the CRes) and answers with an [`Action`], which the SDK awaits.
//! [`ScriptedDriver`] plays a list of actions (tests, scenarios); the CLI's driver asks
//! a person at a prompt, and `tui::challenge::InteractiveDriver` draws the native
//! screens in the terminal.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

/// One challenge screen, as the ACS described it in the CRes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    /// `acsUiType`: 01 text, 02 single select, 03 multi select, 04 out-of-band, 05 HTML.
    pub ui_type: String,
    pub header: Option<String>,
    pub label: Option<String>,
    pub text: Option<String>,
    /// `(value, label)` of each option (select screens).
    pub options: Vec<(String, String)>,
    pub submit_label: Option<String>,
    pub resend_label: Option<String>,
    pub oob_continue_label: Option<String>,
    /// The decoded `acsHTML` (HTML screens).
    pub html: Option<String>,
}

impl Screen {
    pub(crate) fn from_cres(cres: &Value) -> Screen {
        let text = |name: &str| cres.get(name).and_then(Value::as_str).map(str::to_owned);
        let options = cres
            .get("challengeSelectInfo")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_object)
                    .flat_map(|o| {
                        o.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let html = text("acsHTML")
            .and_then(|h| transport::html::base64url_decode(&h))
            .and_then(|b| String::from_utf8(b).ok());
        Screen {
            ui_type: text("acsUiType").unwrap_or_default(),
            header: text("challengeInfoHeader"),
            label: text("challengeInfoLabel"),
            text: text("challengeInfoText"),
            options,
            submit_label: text("submitAuthenticationLabel"),
            resend_label: text("resendInformationLabel"),
            oob_continue_label: text("oobContinueLabel"),
            html,
        }
    }
}

/// What the cardholder did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Typed text (`challengeDataEntry`; empty: `challengeNoEntry=Y`).
    Text(String),
    /// Chose these option values (`challengeDataEntry`, comma-joined).
    Select(Vec<String>),
    /// "I have approved it" on an out-of-band screen (`oobContinue`).
    Continue,
    /// Submitted the HTML form: its data as a query string (`challengeHTMLDataEntry`).
    HtmlForm(String),
    /// Asked for a new code (`resendChallenge=Y`).
    Resend,
    /// Cancelled (`challengeCancel=01`).
    Cancel,
    /// Did nothing: the SDK's timer will run out (`challengeCancel=08`).
    Wait,
}

/// A driver's answer to one screen, awaited by the SDK.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Action> + Send + 'a>>;

/// An answer known at once.
pub fn answer_now(action: Action) -> Answer<'static> {
    Box::pin(std::future::ready(action))
}

/// Answers challenge screens.
///
/// The answer is a future because a cardholder may act elsewhere first (approve the
/// payment in the issuer's app, out-of-band) and that is I/O: a driver awaits it
/// rather than blocking the thread the SDK runs on, which may be the thread the
/// issuer's servers need too. The SDK's timer runs while it waits: an answer that
/// comes after it is not used (`challengeCancel=08`).
pub trait ChallengeDriver: Send {
    fn act<'a>(&'a mut self, screen: &'a Screen) -> Answer<'a>;
}

/// Plays a fixed list of actions; when they run out, waits (so the SDK times out).
#[derive(Debug, Clone, Default)]
pub struct ScriptedDriver {
    actions: VecDeque<Action>,
    /// The screens seen, in order (for assertions).
    pub seen: Vec<Screen>,
}

impl ScriptedDriver {
    pub fn new(actions: impl IntoIterator<Item = Action>) -> ScriptedDriver {
        ScriptedDriver {
            actions: actions.into_iter().collect(),
            seen: Vec::new(),
        }
    }
}

impl ChallengeDriver for ScriptedDriver {
    fn act<'a>(&'a mut self, screen: &'a Screen) -> Answer<'a> {
        self.seen.push(screen.clone());
        answer_now(self.actions.pop_front().unwrap_or(Action::Wait))
    }
}
