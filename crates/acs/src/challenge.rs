//! A challenge (or decoupled authentication) as a pure state machine: the cardholder's
//! answers, the issuer app's approval and the clock go in; the next page to show, the
//! result and the RReq to send come out. No I/O: the site (`site`) and the timeout
//! sweep (`results`) load a [`Challenge`] from the store, call one transition, and
//! store it back (with the revision they read, so concurrent changes cannot be lost).
//!
//! Results (`docs/protocol.md` §3.4, §5):
//! - right answer → `Y`; wrong OTP or selection → retry, counted in
//!   `interactionCounter`; the `max_attempts`-th wrong answer → `N`, reason 19;
//! - cancel → `N`, `challengeCancel 01`, reason 26 (2.1.0 has no 26: reason 01);
//! - no first CReq within `first_creq` of the ARes → `N`, reason 14, `challengeCancel 05`;
//! - a step left idle for `step` → `N`, reason 14, `challengeCancel 04`;
//! - decoupled not approved within `threeDSRequestorDecMaxTime` → `N`, reason 24,
//!   `challengeCancel 03`;
//! - out-of-band and decoupled: the issuer app's approval → `Y`, denial → `N` reason 01;
//! - ACS-initiated SPC (2.3.1): a verified assertion → `Y` with `authenticationMethod`
//!   `14`; a failed one leaves the OTP to fall back on.
//!
//! A challenge of a card that allows SPC also carries the offer to register the device
//! once it succeeds (`enrolment`); that offer does not change the result.

use emv3ds::codes::{
    AcsInterface, AuthenticationMethod, AuthenticationType, ChallengeCancel, MessageCategory,
    TransStatus, TransStatusReason, UiType,
};
use emv3ds::messages::{AcsRenderingType, ChallengeIds, ChallengeResult, HowAuthenticated};
use emv3ds::values::TransId;
use emv3ds::{CRes, MessageVersion, RReq};
use serde::{Deserialize, Serialize};

/// How the cardholder is challenged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// A one-time passcode typed into the page.
    Otp,
    /// One right answer among several.
    SingleSelect,
    /// Every right answer among several.
    MultiSelect,
    /// Approval in the issuer's app, then "continue" on the page.
    OutOfBand,
    /// Approval in the issuer's app, with no page at all (ARes `D`).
    Decoupled,
}

impl Method {
    /// `authenticationType` (2.1.0, 2.2.0) for this method.
    pub fn authentication_type(self) -> AuthenticationType {
        match self {
            Method::Otp => AuthenticationType::Dynamic,
            Method::SingleSelect | Method::MultiSelect => AuthenticationType::Static,
            Method::OutOfBand => AuthenticationType::OutOfBand,
            Method::Decoupled => AuthenticationType::Decoupled,
        }
    }

    /// `authenticationMethod` (2.2.0 RReq, 2.3.1 ARes and RReq) for this method.
    pub fn authentication_method(self) -> AuthenticationMethod {
        match self {
            Method::Otp => AuthenticationMethod::SmsOtp,
            Method::SingleSelect | Method::MultiSelect => AuthenticationMethod::Kba,
            Method::OutOfBand => AuthenticationMethod::PushConfirmation,
            Method::Decoupled => AuthenticationMethod::Decoupled,
        }
    }
}

/// The timers of `docs/protocol.md` §5, in milliseconds (configurable so tests run fast).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the ARes to the first CReq.
    pub first_creq_ms: u64,
    /// Each challenge step, from one page to the cardholder's next answer.
    pub step_ms: u64,
    /// How long after a failed RReq delivery the ACS tries again.
    pub rreq_retry_ms: u64,
    /// How long one minute of `threeDSRequestorDecMaxTime` lasts (60,000 by the spec;
    /// the scenario runner's short timers make it a second).
    pub decoupled_minute_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            first_creq_ms: 30_000,
            step_ms: 600_000,
            rreq_retry_ms: 5_000,
            decoupled_minute_ms: 60_000,
        }
    }
}

/// Where the challenge is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// ARes `C` sent; no CReq yet.
    AwaitingCReq,
    /// The cardholder has the page (or, decoupled, the app).
    InProgress,
    /// The result is known.
    Decided,
}

/// What the issuer app said (out-of-band, decoupled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Approval {
    Approved,
    Denied,
}

/// The result of the challenge: what goes into the RReq and the final CRes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub trans_status: TransStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<TransStatusReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge_cancel: Option<ChallengeCancel>,
}

/// Whether the RReq reached the 3DS Server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "kebab-case",
    rename_all_fields = "camelCase",
    tag = "state"
)]
pub enum Delivery {
    /// Not yet tried.
    Pending,
    /// Answered with this RRes `resultsStatus`.
    Delivered { results_status: String },
    /// Tried `attempts` times; the last failure.
    Failed { attempts: u32, error: String },
}

/// What the issuer expects (not shown to the cardholder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expected {
    /// The OTP's keyed digest (method `otp`; [`crate::otp_digest`]): the code itself is
    /// never kept. The state machine compares it with an [`Answer::Otp`] that carries
    /// the digest of what was typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_digest: Option<String>,
    /// The values of the right options (select methods).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// What the ACS attaches to a `Y` (computed when the challenge starts, so finishing it
/// needs no card number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proofs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_value: Option<String>,
    /// ECI for Y and for N, by the scheme's convention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eci_y: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eci_n: Option<String>,
}

/// What the pages show about the purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Purchase {
    pub merchant_name: String,
    /// E.g. `123.45 EUR`.
    pub amount: String,
    pub card_last4: String,
}

/// One challenge or decoupled authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    pub acs_trans_id: TransId,
    pub three_ds_server_trans_id: TransId,
    pub ds_trans_id: TransId,
    pub message_version: MessageVersion,
    pub message_category: MessageCategory,
    pub method: Method,
    /// Where the RReq goes (the AReq's `dsURL`).
    pub ds_url: String,
    /// Where the final CRes goes (browser).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
    /// Echoed with the final CRes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_size: Option<String>,
    pub purchase: Purchase,
    pub expected: Expected,
    pub proofs: Proofs,
    pub max_attempts: u8,
    pub phase: Phase,
    pub interaction_counter: u8,
    pub resends: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// A line for the page after a wrong answer or a resend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// When the ACS must act by itself (a timeout), Unix ms; none once decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    pub delivery: Delivery,
    /// When the next RReq attempt is due after a failure (or, while one is out, when
    /// the sweep takes it over if it never comes back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<u64>,
    /// An RReq is out: `retry_at_ms` is a claim, not a timer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sending: bool,
    /// App channel: the session with the SDK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppSession>,
    /// ACS-initiated SPC: the confirmation the page offers, and how it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spc: Option<SpcStep>,
    /// A card that allows SPC: the offer to register this device after a success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolment: Option<Enrolment>,
}

/// ACS-initiated SPC in a challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpcStep {
    /// What the page passes to the SPC dialog, and what the assertion must match.
    pub issued: spc::Issued,
    /// `verified`, or why the confirmation failed (a `spc::Failure` code, or the
    /// browser's error name); none while offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// The offer to register the cardholder's device for SPC (the ACS is the relying
/// party).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrolment {
    /// The registration challenge, base64url.
    pub challenge: String,
    /// The WebAuthn user handle for the card, base64url.
    pub user_handle: String,
    pub state: EnrolmentState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnrolmentState {
    Offered,
    Registered,
}

/// An app-channel challenge's session with the SDK (`docs/protocol.md` §6.3–§6.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppSession {
    pub sdk_trans_id: TransId,
    /// The session key, sealed under the key service for this challenge (base64); the
    /// ACS's ephemeral private key itself is never kept.
    pub sealed_key: String,
    /// `acsRenderingType`: `acsInterface` (01 native, 02 HTML) and `acsUiTemplate`.
    pub interface: AcsInterface,
    pub ui_template: UiType,
    /// The `sdkCounterStoA` the next CReq must carry (the CRes answers with the same).
    pub next_counter: u16,
    /// The content encryption the SDK chose (its first CReq's `enc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enc: Option<String>,
}

/// What the cardholder did on the challenge page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Otp(String),
    Options(Vec<String>),
    Resend,
    Cancel,
    /// "I have approved it in my app" (`oobContinue`).
    Continue,
    /// The SDK's own timer (`sdkMaxTimeout`) ran out (`challengeCancel` 08).
    SdkTimeout,
    /// ACS-initiated SPC: the assertion verified.
    SpcConfirmed,
    /// ACS-initiated SPC: no verified assertion (why: a `spc::Failure` code or the
    /// browser's error name); the OTP remains.
    SpcFailed(String),
}

impl Answer {
    /// What kind of answer it is, for the trace (never the passcode itself).
    pub fn kind(&self) -> String {
        match self {
            Answer::Otp(_) => "passcode entered".into(),
            Answer::Options(chosen) => format!("{} option(s) chosen", chosen.len()),
            Answer::Resend => "resend asked".into(),
            Answer::Cancel => "cancelled".into(),
            Answer::Continue => "continue (approved in the app)".into(),
            Answer::SdkTimeout => "SDK timer ran out".into(),
            Answer::SpcConfirmed => "SPC confirmed".into(),
            Answer::SpcFailed(why) => format!("SPC failed ({why})"),
        }
    }
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("this challenge has already started; a CReq starts it only once")]
    AlreadyStarted,
    #[error("this challenge has not started: no CReq was received for it")]
    NotStarted,
    #[error("this challenge is over")]
    Over,
    #[error("this authentication does not take that answer")]
    WrongAnswerKind,
}

/// Most resends offered.
pub const MAX_RESENDS: u8 = 3;

impl Challenge {
    /// When the store should wake the ACS for this challenge.
    pub fn due_at(&self) -> Option<u64> {
        match (&self.verdict, &self.delivery) {
            (None, _) => self.deadline_ms,
            (Some(_), Delivery::Delivered { .. }) => None,
            (Some(_), _) => Some(self.retry_at_ms.unwrap_or(0)),
        }
    }

    /// When this challenge's next timer goes off: its deadline, or the retry after a
    /// failed RReq. None while an RReq is out (its answer, not time, moves it on): a
    /// virtual clock jumps to timers, never to claims.
    pub fn timer_at(&self) -> Option<u64> {
        if self.sending { None } else { self.due_at() }
    }

    fn decide(
        &mut self,
        trans_status: TransStatus,
        reason: Option<TransStatusReason>,
        challenge_cancel: Option<ChallengeCancel>,
    ) {
        self.phase = Phase::Decided;
        self.deadline_ms = None;
        self.verdict = Some(Verdict {
            trans_status,
            reason,
            challenge_cancel,
        });
    }

    fn authenticated(&mut self) {
        self.decide(TransStatus::Y, None, None);
    }

    fn not_authenticated(&mut self, reason: TransStatusReason, cancel: Option<ChallengeCancel>) {
        self.decide(TransStatus::N, Some(reason), cancel);
    }

    /// The first CReq arrived (browser: posted by the requestor's page).
    pub fn start(
        &mut self,
        now: u64,
        timeouts: &Timeouts,
        session_data: Option<String>,
        window_size: Option<String>,
    ) -> Result<(), Refused> {
        match self.phase {
            Phase::AwaitingCReq => {}
            Phase::InProgress => return Err(Refused::AlreadyStarted),
            Phase::Decided => return Err(Refused::Over),
        }
        self.phase = Phase::InProgress;
        self.session_data = session_data;
        self.window_size = window_size;
        self.deadline_ms = Some(now + timeouts.step_ms);
        Ok(())
    }

    /// The cardholder answered on the page. An answer after the step's timer ran out
    /// does not count: the challenge ends by timeout instead (and is decided).
    pub fn answer(&mut self, now: u64, timeouts: &Timeouts, answer: Answer) -> Result<(), Refused> {
        if self.expire(now) {
            return Ok(());
        }
        match self.phase {
            Phase::AwaitingCReq => return Err(Refused::NotStarted),
            Phase::Decided => return Err(Refused::Over),
            Phase::InProgress => {}
        }
        self.notice = None;
        self.deadline_ms = Some(now + timeouts.step_ms);
        let cancel_reason = TransStatusReason::abandoned_by_cardholder(self.message_version);
        match (self.method, answer) {
            (_, Answer::Cancel) => {
                self.not_authenticated(cancel_reason, Some(ChallengeCancel::CardholderCancelled));
            }
            // Decision: the SDK's timer is not the ACS's (reason 14 is "timed out at the
            // ACS"); the cardholder did not complete it, as with a cancel.
            (_, Answer::SdkTimeout) => {
                self.not_authenticated(cancel_reason, Some(ChallengeCancel::TimeoutAtSdk));
            }
            (Method::Otp, Answer::Resend) => {
                if self.resends >= MAX_RESENDS {
                    self.notice = Some("No more codes can be sent for this payment.".into());
                } else {
                    self.resends += 1;
                    self.notice = Some("A new code has been sent to your phone.".into());
                }
            }
            (Method::Otp, Answer::Otp(code)) => {
                let right = self.expected.otp_digest.as_deref() == Some(code.trim());
                self.counted(right, "That code is not right.");
            }
            (Method::SingleSelect | Method::MultiSelect, Answer::Options(mut chosen)) => {
                chosen.sort();
                chosen.dedup();
                let mut expected = self.expected.options.clone();
                expected.sort();
                self.counted(
                    chosen == expected,
                    "That is not the answer we have on file.",
                );
            }
            (_, Answer::SpcConfirmed) if self.spc_open() => {
                self.interaction_counter = self.interaction_counter.saturating_add(1);
                if let Some(step) = &mut self.spc {
                    step.outcome = Some("verified".into());
                }
                self.authenticated();
            }
            (_, Answer::SpcFailed(why)) if self.spc_open() => {
                if let Some(step) = &mut self.spc {
                    step.outcome = Some(why);
                }
                self.notice = Some(
                    "Your device could not confirm this payment. Enter the code we sent \
                     instead."
                        .into(),
                );
            }
            (Method::OutOfBand, Answer::Continue) => match self.approval {
                Some(Approval::Approved) => {
                    self.interaction_counter = self.interaction_counter.saturating_add(1);
                    self.authenticated();
                }
                Some(Approval::Denied) => {
                    self.interaction_counter = self.interaction_counter.saturating_add(1);
                    self.not_authenticated(TransStatusReason::CardAuthenticationFailed, None);
                }
                None => {
                    self.notice = Some(
                        "We have not received your approval yet. Approve the payment in the \
                         Sandbox Bank app, then continue."
                            .into(),
                    );
                }
            },
            _ => return Err(Refused::WrongAnswerKind),
        }
        Ok(())
    }

    /// Whether the page still offers SPC.
    pub fn spc_open(&self) -> bool {
        self.spc.as_ref().is_some_and(|s| s.outcome.is_none())
    }

    /// Whether SPC authenticated the cardholder.
    pub fn spc_verified(&self) -> bool {
        self.spc
            .as_ref()
            .is_some_and(|s| s.outcome.as_deref() == Some("verified"))
    }

    /// Whether the page should now offer to register the device (a success by other
    /// means than SPC, for a card that allows it, not yet registered).
    pub fn offers_enrolment(&self) -> bool {
        self.verdict
            .as_ref()
            .is_some_and(|v| v.trans_status == TransStatus::Y)
            && !self.spc_verified()
            && self
                .enrolment
                .as_ref()
                .is_some_and(|e| e.state == EnrolmentState::Offered)
    }

    /// An answer that counts as an authentication cycle.
    fn counted(&mut self, right: bool, wrong: &str) {
        self.interaction_counter = self.interaction_counter.saturating_add(1);
        if right {
            self.authenticated();
        } else if self.interaction_counter >= self.max_attempts {
            self.not_authenticated(TransStatusReason::MaxChallenges, None);
        } else {
            let left = self.max_attempts - self.interaction_counter;
            self.notice = Some(format!(
                "{wrong} You have {left} attempt{} left.",
                if left == 1 { "" } else { "s" }
            ));
        }
    }

    /// The issuer app approved or denied (out-of-band: the page then continues;
    /// decoupled: that is the result). Too late, the challenge ends by timeout instead.
    pub fn approve(&mut self, now: u64, approval: Approval) -> Result<(), Refused> {
        if self.expire(now) {
            return Ok(());
        }
        if self.phase == Phase::Decided {
            return Err(Refused::Over);
        }
        match self.method {
            Method::OutOfBand => {
                self.approval = Some(approval);
                Ok(())
            }
            Method::Decoupled => {
                self.approval = Some(approval);
                match approval {
                    Approval::Approved => self.authenticated(),
                    Approval::Denied => {
                        self.not_authenticated(TransStatusReason::CardAuthenticationFailed, None)
                    }
                }
                Ok(())
            }
            _ => Err(Refused::WrongAnswerKind),
        }
    }

    /// The SDK reported a protocol error (an `Erro` for a CRes it could not accept), or
    /// sent a CReq the ACS cannot accept (undecryptable, wrong counter): the challenge
    /// ends without authentication. Decision: `U`, reason 09 (security failure), since
    /// no authentication took place and the channel cannot be trusted.
    pub fn abort(&mut self) -> Result<(), Refused> {
        if self.phase == Phase::Decided {
            return Err(Refused::Over);
        }
        self.decide(
            TransStatus::U,
            Some(TransStatusReason::SecurityFailure),
            None,
        );
        Ok(())
    }

    /// The clock passed the deadline: the challenge ends by timeout. `false` if it was
    /// not due.
    pub fn expire(&mut self, now: u64) -> bool {
        if self.phase == Phase::Decided || self.deadline_ms.is_none_or(|d| d > now) {
            return false;
        }
        match (self.method, self.phase) {
            (Method::Decoupled, _) => self.not_authenticated(
                TransStatusReason::DecoupledMaxTimeExceeded,
                Some(ChallengeCancel::DecoupledTimeout),
            ),
            (_, Phase::AwaitingCReq) => self.not_authenticated(
                TransStatusReason::TimedOutAtAcs,
                Some(ChallengeCancel::TimeoutFirstCReq),
            ),
            _ => self.not_authenticated(
                TransStatusReason::TimedOutAtAcs,
                Some(ChallengeCancel::TimeoutAtAcsOther),
            ),
        }
        true
    }

    /// The RReq was answered (`Ok(resultsStatus)`) or could not be delivered.
    pub fn delivered(&mut self, now: u64, timeouts: &Timeouts, result: Result<String, String>) {
        self.sending = false;
        match result {
            Ok(results_status) => {
                self.delivery = Delivery::Delivered { results_status };
                self.retry_at_ms = None;
            }
            Err(error) => {
                let attempts = match &self.delivery {
                    Delivery::Failed { attempts, .. } => attempts + 1,
                    _ => 1,
                };
                self.delivery = Delivery::Failed { attempts, error };
                self.retry_at_ms = Some(now + timeouts.rreq_retry_ms);
            }
        }
    }

    /// The ids its messages carry.
    pub fn ids(&self) -> ChallengeIds {
        ChallengeIds {
            three_ds_server: self.three_ds_server_trans_id.clone(),
            acs: self.acs_trans_id.clone(),
            ds: Some(self.ds_trans_id.clone()),
            sdk: self.app.as_ref().map(|app| app.sdk_trans_id.clone()),
        }
    }

    /// The RReq for the verdict (the caller validates it as the DS will).
    pub fn rreq(&self) -> Option<RReq> {
        let verdict = self.verdict.as_ref()?;
        let eci = if verdict.trans_status == TransStatus::Y {
            &self.proofs.eci_y
        } else {
            &self.proofs.eci_n
        };
        let method = if self.spc_verified() {
            AuthenticationMethod::Spc
        } else {
            self.method.authentication_method()
        };
        Some(RReq::result(&ChallengeResult {
            version: self.message_version,
            category: self.message_category,
            ids: self.ids(),
            trans_status: verdict.trans_status,
            reason: verdict.reason,
            cancel: verdict.challenge_cancel,
            eci: eci.clone(),
            authentication_value: self.proofs.authentication_value.clone(),
            how: Some(HowAuthenticated {
                class: self.method.authentication_type(),
                method,
            }),
            rendering: self.app.as_ref().map(|app| AcsRenderingType {
                acs_interface: Some(app.interface),
                acs_ui_template: Some(app.ui_template),
                ..AcsRenderingType::default()
            }),
            interaction_counter: (self.method != Method::Decoupled)
                .then_some(self.interaction_counter),
        }))
    }

    /// The final CRes (browser).
    pub fn final_cres(&self) -> Option<CRes> {
        let verdict = self.verdict.as_ref()?;
        Some(CRes::final_result(
            self.message_version,
            &self.ids(),
            verdict.trans_status,
            None,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn id(n: u8) -> TransId {
        TransId::from_random_bytes([n; 16])
    }

    /// The RReq of a decided challenge, as the DS receives it.
    fn rreq_of(c: &Challenge) -> Value {
        serde_json::to_value(c.rreq().expect("decided")).expect("JSON")
    }

    fn challenge(method: Method, version: &str) -> Challenge {
        Challenge {
            acs_trans_id: id(1),
            three_ds_server_trans_id: id(2),
            ds_trans_id: id(3),
            message_version: MessageVersion::parse(version).expect("a version"),
            message_category: MessageCategory::Payment,
            method,
            ds_url: "https://ds/".into(),
            notification_url: Some("https://merchant/notify".into()),
            session_data: None,
            window_size: None,
            purchase: Purchase {
                merchant_name: "Shop".into(),
                amount: "1.00 EUR".into(),
                card_last4: "1000".into(),
            },
            expected: Expected {
                otp_digest: Some("123456".into()),
                options: vec!["b".into(), "c".into()],
            },
            proofs: Proofs {
                authentication_value: Some("AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()),
                eci_y: Some("05".into()),
                eci_n: Some("07".into()),
            },
            max_attempts: 3,
            phase: if method == Method::Decoupled {
                Phase::InProgress
            } else {
                Phase::AwaitingCReq
            },
            interaction_counter: 0,
            resends: 0,
            approval: None,
            notice: None,
            deadline_ms: Some(30_000),
            verdict: None,
            delivery: Delivery::Pending,
            retry_at_ms: None,
            sending: false,
            app: None,
            spc: None,
            enrolment: None,
        }
    }

    const T: Timeouts = Timeouts {
        first_creq_ms: 30_000,
        step_ms: 600_000,
        rreq_retry_ms: 5_000,
        decoupled_minute_ms: 60_000,
    };

    #[test]
    fn the_right_otp_after_a_wrong_one_authenticates_with_two_interactions() {
        let mut c = challenge(Method::Otp, "2.2.0");
        c.start(1, &T, None, Some("02".into())).expect("first CReq");
        assert_eq!(c.start(2, &T, None, None), Err(Refused::AlreadyStarted));
        c.answer(3, &T, Answer::Otp("000000".into()))
            .expect("answer");
        assert!(
            c.notice
                .as_deref()
                .is_some_and(|n| n.contains("2 attempts left"))
        );
        c.answer(4, &T, Answer::Otp(" 123456 ".into()))
            .expect("answer");
        let rreq = rreq_of(&c);
        assert_eq!(rreq["transStatus"], "Y");
        assert_eq!(rreq["interactionCounter"], "02");
        assert_eq!(rreq["authenticationType"], "02");
        assert_eq!(rreq["eci"], "05");
        assert!(rreq.get("challengeCancel").is_none());
        assert_eq!(
            serde_json::to_value(c.final_cres().expect("decided")).expect("JSON")["transStatus"],
            "Y"
        );
        assert_eq!(
            c.answer(5, &T, Answer::Otp("123456".into())),
            Err(Refused::Over)
        );
    }

    #[test]
    fn too_many_wrong_answers_end_with_reason_19() {
        let mut c = challenge(Method::Otp, "2.3.1");
        c.start(1, &T, None, None).expect("first CReq");
        for _ in 0..3 {
            c.answer(2, &T, Answer::Otp("1".into())).expect("answer");
        }
        let rreq = rreq_of(&c);
        assert_eq!(rreq["transStatus"], "N");
        assert_eq!(rreq["transStatusReason"], "19");
        assert_eq!(rreq["authenticationMethod"], json!(["02"]));
        assert_eq!(rreq["interactionCounter"], "03");
    }

    #[test]
    fn resends_are_limited_and_not_counted() {
        let mut c = challenge(Method::Otp, "2.2.0");
        c.start(1, &T, None, None).expect("first CReq");
        for _ in 0..MAX_RESENDS + 1 {
            c.answer(2, &T, Answer::Resend).expect("resend");
        }
        assert_eq!(c.resends, MAX_RESENDS);
        assert_eq!(c.interaction_counter, 0);
        assert!(
            c.notice
                .as_deref()
                .is_some_and(|n| n.contains("No more codes"))
        );
    }

    #[test]
    fn selections_compare_as_sets() {
        let mut c = challenge(Method::MultiSelect, "2.2.0");
        c.start(1, &T, None, None).expect("first CReq");
        c.answer(2, &T, Answer::Options(vec!["b".into()]))
            .expect("answer");
        assert!(c.verdict.is_none());
        c.answer(
            3,
            &T,
            Answer::Options(vec!["c".into(), "b".into(), "c".into()]),
        )
        .expect("answer");
        assert_eq!(rreq_of(&c)["authenticationType"], "01");
        assert_eq!(
            c.verdict.as_ref().map(|v| v.trans_status.as_str()),
            Some("Y")
        );
    }

    #[test]
    fn cancel_is_challenge_cancel_01() {
        for (version, reason) in [("2.1.0", "01"), ("2.2.0", "26")] {
            let mut c = challenge(Method::SingleSelect, version);
            c.start(1, &T, None, None).expect("first CReq");
            c.answer(2, &T, Answer::Cancel).expect("cancel");
            let rreq = rreq_of(&c);
            assert_eq!(rreq["challengeCancel"], "01");
            assert_eq!(rreq["transStatusReason"], reason);
        }
    }

    #[test]
    fn out_of_band_continues_only_after_the_app_answers() {
        let mut c = challenge(Method::OutOfBand, "2.2.0");
        c.start(1, &T, None, None).expect("first CReq");
        c.answer(2, &T, Answer::Continue).expect("continue");
        assert!(c.verdict.is_none() && c.notice.is_some());
        c.approve(1, Approval::Approved).expect("approve");
        c.answer(3, &T, Answer::Continue).expect("continue");
        assert_eq!(rreq_of(&c)["authenticationType"], "03");
        assert_eq!(
            c.verdict.as_ref().map(|v| v.trans_status.as_str()),
            Some("Y")
        );
    }

    #[test]
    fn timeouts_cancel_with_the_spec_codes() {
        let mut c = challenge(Method::Otp, "2.2.0");
        assert!(!c.expire(29_999), "not due yet");
        assert!(c.expire(30_000));
        let rreq = rreq_of(&c);
        assert_eq!(
            (
                rreq["challengeCancel"].as_str(),
                rreq["transStatusReason"].as_str()
            ),
            (Some("05"), Some("14"))
        );

        let mut c = challenge(Method::Otp, "2.2.0");
        c.start(10, &T, None, None).expect("first CReq");
        assert!(
            !c.expire(30_000),
            "the step timer replaced the first-CReq timer"
        );
        assert!(c.expire(10 + T.step_ms));
        assert_eq!(rreq_of(&c)["challengeCancel"], "04");

        // A right answer after the step's timer ran out does not count.
        let mut c = challenge(Method::Otp, "2.2.0");
        c.start(10, &T, None, None).expect("first CReq");
        c.answer(10 + T.step_ms, &T, Answer::Otp("123456".into()))
            .expect("late answer");
        assert_eq!(rreq_of(&c)["challengeCancel"], "04");

        // Nor does an approval after the decoupled deadline.
        let mut c = challenge(Method::Decoupled, "2.2.0");
        c.approve(30_000, Approval::Approved)
            .expect("late approval");
        assert_eq!(rreq_of(&c)["challengeCancel"], "03");
        assert_eq!(c.approval, None);

        let mut c = challenge(Method::Decoupled, "2.2.0");
        assert!(c.expire(30_000));
        let rreq = rreq_of(&c);
        assert_eq!(
            (
                rreq["challengeCancel"].as_str(),
                rreq["transStatusReason"].as_str()
            ),
            (Some("03"), Some("24"))
        );
        assert!(rreq.get("interactionCounter").is_none());
        assert_eq!(rreq["authenticationType"], "04");
    }

    #[test]
    fn undelivered_results_are_retried_and_delivered_ones_rest() {
        let mut c = challenge(Method::Decoupled, "2.2.0");
        c.approve(1, Approval::Approved).expect("approve");
        assert_eq!(
            c.due_at(),
            Some(0),
            "a decided challenge's RReq is due at once"
        );
        c.delivered(100, &T, Err("DS down".into()));
        assert_eq!(c.due_at(), Some(100 + T.rreq_retry_ms));
        c.delivered(200, &T, Err("DS down".into()));
        assert!(matches!(c.delivery, Delivery::Failed { attempts: 2, .. }));
        c.delivered(300, &T, Ok("01".into()));
        assert_eq!(c.due_at(), None);
        assert_eq!(c.approve(400, Approval::Denied), Err(Refused::Over));
    }

    fn offered(c: &mut Challenge) {
        c.spc = Some(SpcStep {
            issued: spc::Issued {
                rp_id: "acs.localhost".into(),
                challenge: "Y2hhbGxlbmdl".into(),
                credential_ids: vec!["Y3JlZA".into()],
                payee_name: Some("Shop".into()),
                payee_origin: None,
                display_name: "Card".into(),
                icon: "data:,".into(),
                value: "1.00".into(),
                currency: "EUR".into(),
                timeout_ms: 60_000,
                origins: vec!["https://acs.localhost".into()],
                top_origins: vec!["https://merchant".into()],
                used: false,
            },
            outcome: None,
        });
        c.enrolment = Some(Enrolment {
            challenge: "cmVn".into(),
            user_handle: "dXNlcg".into(),
            state: EnrolmentState::Offered,
        });
    }

    #[test]
    fn acs_initiated_spc_authenticates_with_method_14_and_offers_no_enrolment() {
        let mut c = challenge(Method::Otp, "2.3.1");
        offered(&mut c);
        c.start(1, &T, None, None).expect("first CReq");
        c.answer(2, &T, Answer::SpcConfirmed).expect("confirmed");
        let rreq = rreq_of(&c);
        assert_eq!(rreq["transStatus"], "Y");
        assert_eq!(rreq["authenticationMethod"], json!(["14"]));
        assert_eq!(rreq["interactionCounter"], "01");
        assert!(!c.offers_enrolment(), "the device is already registered");
    }

    #[test]
    fn a_failed_spc_falls_back_to_the_otp_then_offers_enrolment() {
        let mut c = challenge(Method::Otp, "2.3.1");
        offered(&mut c);
        c.start(1, &T, None, None).expect("first CReq");
        c.answer(2, &T, Answer::SpcFailed("NotAllowedError".into()))
            .expect("failed");
        assert!(c.verdict.is_none() && !c.spc_open());
        assert_eq!(
            c.answer(3, &T, Answer::SpcConfirmed),
            Err(Refused::WrongAnswerKind),
            "one confirmation per challenge"
        );
        c.answer(4, &T, Answer::Otp("123456".into())).expect("otp");
        let rreq = rreq_of(&c);
        assert_eq!(rreq["authenticationMethod"], json!(["02"]));
        assert_eq!(rreq["interactionCounter"], "01");
        assert!(c.offers_enrolment());
    }

    #[test]
    fn the_state_round_trips_through_json() {
        let c = challenge(Method::MultiSelect, "2.3.1");
        let json = serde_json::to_value(&c).expect("serialise");
        assert_eq!(json["method"], "multi-select");
        assert_eq!(serde_json::from_value::<Challenge>(json).expect("parse"), c);
    }
}
