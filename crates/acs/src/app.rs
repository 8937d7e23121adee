//! The app channel at the ACS (`docs/protocol.md` §1.6, §6).
//!
//! At ARes time ([`open_session`]): a fresh ephemeral P-256 key, the session key derived
//! with the SDK's `sdkEphemPubKey` and `sdkReferenceNumber`, `acsSignedContent` signed
//! with the scheme's ACS signing key and chain, and the rendering chosen from what the
//! SDK can show. Only the session key is kept, sealed under the key service for this
//! challenge; the ephemeral private key is dropped at once.
//!
//! The SDK-facing endpoint ([`creq`], `POST /app/creq` on the site's server-authenticated
//! TLS, no client certificate, as a real ACS): the JWE's `kid` names the challenge; the
//! CReq must decrypt (else `Erro` 302: the sender does not hold the session key, so the
//! challenge is left alone), be valid (201/203), carry this transaction's ids (301) and
//! the expected `sdkCounterStoA` (302: a replayed or skipped counter). Those errors from
//! the key's holder end the challenge (`U`, reason 09) and its RReq goes out. A good CReq
//! moves the `challenge::Challenge` on, and the answer is a CRes encrypted with the
//! CReq's `enc`: the next screen for the native templates (01 text, 02 single select,
//! 03 multi select, 04 out-of-band) or the HTML template (05, a form posting to
//! `HTTPS://EMV3DS/challenge`), or, once decided and the RReq delivered, the final CRes.
//! A plain-JSON body is an `Erro` from the SDK: the challenge ends the same way.

use app_crypto::keys::{EphemeralKey, parse_public_jwk};
use app_crypto::session::{self, Direction, Enc, Opened, SessionKey};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use emv3ds::codes::{AcsInterface, DeviceChannel, SdkInterface, UiType};
use emv3ds::messages::{AReq, CReq, CRes, Screen};
use emv3ds::values::SelectOption;
use emv3ds::{Context, ErrorCode, Message, RequestFacts, Role, Validator};
use kms::EncryptionContext;
use serde_json::{Value, json};

use crate::AcsError;
use crate::AcsState;
use crate::challenge::{Answer, AppSession, Challenge, Method, Phase, Refused};
use crate::issuer::{MULTI_SELECT, SINGLE_SELECT};
use crate::results::{self, Loaded};

/// Where SDKs post CReqs (on the ACS site).
pub const CREQ_PATH: &str = "/app/creq";

/// `acsRenderingType` for `method`, from the SDK's `deviceRenderOptions`: the HTML
/// template when the card's issuer prefers it or the SDK cannot show the native one;
/// `None` when the SDK can show neither.
pub(crate) fn rendering(
    method: Method,
    prefer_html: bool,
    areq: &AReq,
) -> Option<(AcsInterface, UiType)> {
    let options = areq.device_render_options.as_ref();
    let interface = options
        .and_then(|o| o.sdk_interface)
        .unwrap_or(SdkInterface::Both);
    let shows = |ui: UiType| {
        options
            .and_then(|o| o.sdk_ui_type.as_ref())
            .is_some_and(|types| types.contains(&ui))
    };
    let native = match method {
        Method::Otp => UiType::Text,
        Method::SingleSelect => UiType::SingleSelect,
        Method::MultiSelect => UiType::MultiSelect,
        Method::OutOfBand | Method::Decoupled => UiType::Oob,
    };
    let html_ok =
        matches!(interface, SdkInterface::Html | SdkInterface::Both) && shows(UiType::HtmlOther);
    let native_ok = matches!(interface, SdkInterface::Native | SdkInterface::Both) && shows(native);
    match (prefer_html, html_ok, native_ok) {
        (true, true, _) | (_, true, false) => Some((AcsInterface::Html, UiType::HtmlOther)),
        (_, _, true) => Some((AcsInterface::Native, native)),
        _ => None,
    }
}

fn key_context(acs_trans_id: &str) -> EncryptionContext {
    EncryptionContext::new()
        .with("table", "acs_challenges")
        .with("record", acs_trans_id)
        .with("field", "session-key")
}

/// Starts the app side of a challenge: `acsSignedContent` for the ARes, and the
/// session the challenge keeps.
pub(crate) async fn open_session(
    state: &AcsState,
    areq: &AReq,
    acs_trans_id: &str,
    directory_server_id: &str,
    (interface, ui_template): (AcsInterface, UiType),
) -> Result<(String, AppSession), AcsError> {
    let signer = state.signers.get(directory_server_id).ok_or_else(|| {
        AcsError::Missing(format!(
            "the ACS has no signing key for directory server {directory_server_id}"
        ))
    })?;
    let sdk_jwk = areq
        .sdk_ephem_pub_key
        .as_ref()
        .map(serde_json::to_value)
        .transpose()?
        .ok_or_else(|| AcsError::Missing("the AReq has no sdkEphemPubKey".into()))?;
    let sdk_key = parse_public_jwk(&sdk_jwk)?;
    let reference = areq.sdk_reference_number.as_deref().unwrap_or_default();
    let ephemeral = EphemeralKey::generate();
    let key = SessionKey::derive(&ephemeral, &sdk_key, reference);
    let url = format!("{}{CREQ_PATH}", state.site_url);
    let signed = signer.sign(&url, &ephemeral.public(), &sdk_jwk).await?;
    let sealed = kms::envelope::seal(
        state.keys.as_ref(),
        &key_context(acs_trans_id),
        key.expose(),
    )
    .await?;
    let session = AppSession {
        sdk_trans_id: areq
            .sdk_trans_id
            .clone()
            .ok_or_else(|| AcsError::Missing("the AReq has no sdkTransID".into()))?,
        sealed_key: STANDARD.encode(sealed.to_bytes()),
        interface,
        ui_template,
        next_counter: 0,
        enc: None,
    };
    Ok((signed, session))
}

async fn session_key(
    state: &AcsState,
    c: &Challenge,
    app: &AppSession,
) -> Result<SessionKey, AcsError> {
    let bytes = STANDARD
        .decode(&app.sealed_key)
        .map_err(|e| AcsError::unreadable("the stored session key", e))?;
    let sealed = kms::envelope::Sealed::from_bytes(&bytes)?;
    let plain = kms::envelope::open(
        state.keys.as_ref(),
        &key_context(c.acs_trans_id.as_str()),
        &sealed,
    )
    .await?;
    SessionKey::from_bytes(&plain).map_err(AcsError::from)
}

/// An `Erro` as the ACS answers an SDK: plain JSON (SDKs read a plain-JSON `Erro` in
/// place of a JWE CRes).
fn erro(code: ErrorCode, detail: &str, why: &str, about: Option<&Message>) -> Response {
    let erro = Validator::new(Role::Acs).reject(code, detail, why, about);
    let mut json = serde_json::from_slice::<Value>(&erro.to_json()).unwrap_or(Value::Null);
    json["errorMessageType"] = json!("CReq");
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        json.to_string(),
    )
        .into_response()
}

/// The `Erro` an SDK gets when the ACS itself failed (the one mapping:
/// [`AcsError::error_code`]).
fn unavailable(e: &AcsError) -> Response {
    erro(e.error_code(), "", &e.to_string(), None)
}

/// `POST /app/creq`.
pub(crate) async fn creq(State(state): State<AcsState>, body: Bytes) -> Response {
    let text = std::str::from_utf8(&body).unwrap_or_default().trim();
    if text.starts_with('{') {
        return erro_from_sdk(&state, text).await;
    }
    let kid = match session::key_id(text) {
        Ok(Some(kid)) => kid,
        Ok(None) => {
            return erro(
                ErrorCode::TransactionIdNotRecognised,
                "kid",
                "the CReq JWE has no kid naming its acsTransID",
                None,
            );
        }
        Err(e) => return erro(ErrorCode::DecryptionFailure, "", &e.to_string(), None),
    };
    // A concurrent change (the issuer app approving, the sweep) makes the save fail:
    // read again and redo, a few times.
    for _ in 0..3 {
        match attempt(&state, &kid, text).await {
            Attempt::Done(response) => return response,
            Attempt::Conflict => continue,
        }
    }
    erro(
        ErrorCode::TransientSystemFailure,
        "",
        "the challenge kept changing while this CReq was processed; send it again",
        None,
    )
}

enum Attempt {
    Done(Response),
    Conflict,
}

async fn attempt(state: &AcsState, kid: &str, token: &str) -> Attempt {
    let Loaded {
        challenge,
        revision,
    } = match results::load(state, kid).await {
        Ok(Some(loaded)) if loaded.challenge.app.is_some() => loaded,
        Ok(_) => {
            return Attempt::Done(erro(
                ErrorCode::TransactionIdNotRecognised,
                "acsTransID",
                "this ACS has no app challenge with this acsTransID (the JWE's kid)",
                None,
            ));
        }
        Err(e) => return Attempt::Done(unavailable(&e)),
    };
    let Some(app) = challenge.app.clone() else {
        return Attempt::Conflict;
    };
    let key = match session_key(state, &challenge, &app).await {
        Ok(key) => key,
        Err(e) => return Attempt::Done(unavailable(&e)),
    };
    let opened = match key.open(Direction::SdkToAcs, token) {
        Ok(opened) => opened,
        // Whoever sent it does not hold the session key, so it cannot speak for the
        // SDK: the answer is 302, and the challenge goes on untouched.
        Err(e) => {
            return Attempt::Done(erro(ErrorCode::DecryptionFailure, "", &e.to_string(), None));
        }
    };
    // The trace shows what only the ACS can read: the CReq's plaintext.
    let view = plaintext_view(&opened.plaintext, "CReq plaintext", opened.enc);
    match decrypted(state, challenge, revision, &app, &key, &opened).await {
        Attempt::Done(mut response) => {
            let annotation = response
                .extensions_mut()
                .get_or_insert_with(trace::Annotation::default);
            annotation.request = view;
            Attempt::Done(response)
        }
        conflict @ Attempt::Conflict => conflict,
    }
}

/// A decrypted message as the trace shows it (redacted), marked as decrypted.
fn plaintext_view(plaintext: &[u8], what: &str, enc: Enc) -> Option<trace::Decoded> {
    let mut value: Value = serde_json::from_slice(plaintext).ok()?;
    trace::redact::redact(&mut value);
    Some(trace::Decoded {
        how: "decrypted".into(),
        what: format!("{what} (JWE dir, {}; the ACS's session key)", enc.name()),
        value,
    })
}

/// The rest of a CReq's handling, once it decrypted.
async fn decrypted(
    state: &AcsState,
    mut challenge: Challenge,
    revision: i64,
    app: &AppSession,
    key: &SessionKey,
    opened: &Opened,
) -> Attempt {
    let message = match acceptable(&challenge, app, &opened.plaintext) {
        Ok(message) => message,
        Err(no) => {
            let about = no.message.as_deref();
            return end(
                state, challenge, revision, no.code, &no.detail, &no.why, about,
            )
            .await;
        }
    };
    let Message::CReq(creq) = &message else {
        // acceptable() takes CReqs only; should that change, an Erro, not a panic.
        let why = "expected a CReq";
        return Attempt::Done(erro(
            ErrorCode::MessageInvalid,
            "messageType",
            why,
            Some(&message),
        ));
    };
    let counter = creq.sdk_counter_s_to_a.as_deref().unwrap_or_default();
    if let Err(failed) = take_answer(state, &mut challenge, creq).await {
        return Attempt::Done(failed);
    }
    if let Some(session) = challenge.app.as_mut() {
        session.next_counter = app.next_counter + 1;
        session.enc = Some(opened.enc.name().to_owned());
    }
    let stored = match store(state, challenge, revision).await {
        Ok(stored) => stored,
        Err(attempt) => return attempt,
    };
    let cres = match checked(cres(state, &stored, counter), &RequestFacts::of(&message)) {
        Ok(cres) => cres,
        Err(why) => {
            crate::note(state, &stored, why.to_string(), Vec::new());
            return Attempt::Done(erro(why.error_code(), "", &why.to_string(), Some(&message)));
        }
    };
    let mut response = encrypted(key, opened.enc, stored.acs_trans_id.as_str(), &cres);
    response.extensions_mut().insert(trace::Annotation {
        response: plaintext_view(&cres, "CRes plaintext", opened.enc),
        ..trace::Annotation::default()
    });
    Attempt::Done(response)
}

/// Why a decrypted CReq cannot be taken: the `Erro` it gets, and the message (for its
/// ids) when it read as one.
struct NotAcceptable {
    code: ErrorCode,
    /// The elements at fault (`errorDetail`).
    detail: String,
    why: String,
    message: Option<Box<Message>>,
}

/// The decrypted `plaintext` as a CReq of this challenge: valid for the app channel,
/// a CReq, the challenge's ids, and the next `sdkCounterStoA` (a replay or a skipped
/// one is refused).
fn acceptable(
    challenge: &Challenge,
    app: &AppSession,
    plaintext: &[u8],
) -> Result<Message, NotAcceptable> {
    let context = Context {
        channel: Some(DeviceChannel::App),
        ..Context::default()
    };
    let message = match Validator::new(Role::Acs).validate(plaintext, &context) {
        Ok(valid) => valid.message,
        Err(bad) => {
            return Err(NotAcceptable {
                code: bad.error_code,
                why: format!("{} ({})", bad.error_description, bad.error_detail),
                detail: bad.error_detail,
                message: None,
            });
        }
    };
    let refuse = |code, detail: &str, why: String, message| {
        Err(NotAcceptable {
            code,
            detail: detail.to_owned(),
            why,
            message: Some(Box::new(message)),
        })
    };
    let Message::CReq(creq) = &message else {
        let why = format!("expected a CReq, got {}", message.message_type());
        return refuse(ErrorCode::MessageInvalid, "messageType", why, message);
    };
    fn id(t: &Option<emv3ds::values::TransId>) -> &str {
        t.as_ref().map_or("", |t| t.as_str())
    }
    let ids_match = id(&creq.acs_trans_id) == challenge.acs_trans_id.as_str()
        && id(&creq.three_ds_server_trans_id) == challenge.three_ds_server_trans_id.as_str()
        && id(&creq.sdk_trans_id) == app.sdk_trans_id.as_str();
    if !ids_match {
        return refuse(
            ErrorCode::TransactionIdNotRecognised,
            "acsTransID,threeDSServerTransID,sdkTransID",
            "the CReq's transaction ids are not those of the challenge its JWE was made for".into(),
            message,
        );
    }
    let counter = creq.sdk_counter_s_to_a.as_deref().unwrap_or_default();
    if counter.parse::<u16>().ok() != Some(app.next_counter) {
        let why = format!(
            "sdkCounterStoA is {counter}, expected {:03} (a replayed or skipped CReq)",
            app.next_counter
        );
        return refuse(ErrorCode::DecryptionFailure, "sdkCounterStoA", why, message);
    }
    Ok(message)
}

/// What the CReq does to the challenge: the first starts it; an answer is compared
/// (by its keyed digest) and taken, or a notice asks for the right kind; no answer
/// lets a timer that ran out end it. `Err` is the answer when the key service fails.
async fn take_answer(
    state: &AcsState,
    challenge: &mut Challenge,
    creq: &emv3ds::messages::CReq,
) -> Result<(), Response> {
    let now = state.clock.now_ms();
    if challenge.phase == Phase::AwaitingCReq {
        // The first CReq starts the challenge (and may already carry an answer).
        let _ = challenge.start(now, &state.timeouts, None, None);
    }
    let answer = match answer_of(creq, challenge) {
        Some(answer) => Some(
            crate::comparable(state, challenge.acs_trans_id.as_str(), answer)
                .await
                .map_err(|e| unavailable(&e))?,
        ),
        None => None,
    };
    if let Some(answer) = answer {
        match challenge.answer(now, &state.timeouts, answer) {
            Ok(()) | Err(Refused::Over) => {}
            Err(Refused::WrongAnswerKind) => {
                challenge.notice = Some("Please answer the question shown.".into());
            }
            Err(Refused::NotStarted | Refused::AlreadyStarted) => {}
        }
    } else {
        challenge.expire(now);
    }
    Ok(())
}

/// The challenge stored after this CReq (finished, with its RReq, once decided);
/// `Err` is the attempt's outcome when another CReq changed it first or the store
/// failed.
async fn store(
    state: &AcsState,
    challenge: Challenge,
    revision: i64,
) -> Result<Challenge, Attempt> {
    if challenge.phase == Phase::Decided {
        match results::finish(state, challenge, revision).await {
            Ok(Some(done)) => Ok(done),
            Ok(None) => Err(Attempt::Conflict),
            Err(e) => Err(Attempt::Done(unavailable(&e))),
        }
    } else {
        match results::save(state, &challenge, revision).await {
            Ok(true) => Ok(challenge),
            Ok(false) => Err(Attempt::Conflict),
            Err(e) => Err(Attempt::Done(unavailable(&e))),
        }
    }
}

/// Ends the challenge after a CReq it cannot accept, sends its RReq, and answers the
/// `Erro`.
#[allow(clippy::too_many_arguments)]
async fn end(
    state: &AcsState,
    mut challenge: Challenge,
    revision: i64,
    code: ErrorCode,
    detail: &str,
    why: &str,
    about: Option<&Message>,
) -> Attempt {
    if challenge.abort().is_ok() {
        match results::finish(state, challenge, revision).await {
            Ok(Some(_)) => {}
            Ok(None) => return Attempt::Conflict,
            Err(e) => return Attempt::Done(unavailable(&e)),
        }
    }
    Attempt::Done(erro(code, detail, why, about))
}

/// An `Erro` the SDK sent (for a CRes it could not accept, or its own timeout).
async fn erro_from_sdk(state: &AcsState, text: &str) -> Response {
    let json: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if json.get("messageType").and_then(Value::as_str) != Some("Erro") {
        return erro(
            ErrorCode::DecryptionFailure,
            "",
            "a CReq must come as a JWE (Content-Type application/jose); only an Erro may be plain JSON",
            None,
        );
    }
    let id = json
        .get("acsTransID")
        .and_then(Value::as_str)
        .unwrap_or_default();
    for _ in 0..3 {
        let loaded = match results::load(state, id).await {
            Ok(Some(loaded)) if loaded.challenge.app.is_some() => loaded,
            Ok(_) => return StatusCode::OK.into_response(),
            Err(e) => return unavailable(&e),
        };
        let mut challenge = loaded.challenge;
        if challenge.abort().is_err() {
            return StatusCode::OK.into_response();
        }
        match results::finish(state, challenge, loaded.revision).await {
            Ok(Some(_)) => return StatusCode::OK.into_response(),
            Ok(None) => continue,
            Err(e) => return unavailable(&e),
        }
    }
    StatusCode::OK.into_response()
}

/// What the cardholder did, from the CReq's elements.
fn answer_of(creq: &CReq, c: &Challenge) -> Option<Answer> {
    if let Some(cancel) = &creq.challenge_cancel {
        return Some(match cancel.as_str() {
            "08" => Answer::SdkTimeout,
            _ => Answer::Cancel,
        });
    }
    if creq.resend_challenge.as_deref() == Some("Y") {
        return Some(Answer::Resend);
    }
    if creq.oob_continue == Some(true) {
        return Some(Answer::Continue);
    }
    if let Some(html) = &creq.challenge_html_data_entry {
        return Some(crate::site::answer_from_form(&crate::site::form(
            html.as_bytes(),
        )));
    }
    let entry = creq
        .challenge_data_entry
        .clone()
        .or_else(|| (creq.challenge_no_entry.as_deref() == Some("Y")).then(String::new))?;
    Some(match c.method {
        Method::SingleSelect | Method::MultiSelect => Answer::Options(
            entry
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        _ => Answer::Otp(entry),
    })
}

fn encrypted(key: &SessionKey, enc: Enc, kid: &str, cres: &[u8]) -> Response {
    match key.seal(Direction::AcsToSdk, enc, kid, cres) {
        Ok(jwe) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/jose")],
            jwe,
        )
            .into_response(),
        Err(e) => unavailable(&AcsError::from(e)),
    }
}

/// The CRes answering the CReq with counter `counter`: the final one once decided, else
/// the screen the challenge is at. Built by the protocol core; [`checked`] validates it.
pub(crate) fn cres(state: &AcsState, c: &Challenge, counter: &str) -> CRes {
    let ids = c.ids();
    if let Some(verdict) = &c.verdict {
        return CRes::final_result(c.message_version, &ids, verdict.trans_status, Some(counter));
    }
    let template = c.app.as_ref().map_or(UiType::Text, |a| a.ui_template);
    CRes::screen(
        c.message_version,
        &ids,
        counter,
        template,
        screen(state, c, template),
    )
}

/// What the challenge's current step shows in `template`.
fn screen(state: &AcsState, c: &Challenge, template: UiType) -> Screen {
    if template == UiType::HtmlOther {
        return Screen {
            html: Some(crate::pages::app_html(c)),
            ..Screen::default()
        };
    }
    let amount = format!(
        "Pay {} to {} with your card ending {}.",
        c.purchase.amount, c.purchase.merchant_name, c.purchase.card_last4
    );
    let text = match &c.notice {
        Some(notice) => format!("{notice} {amount}"),
        None => amount,
    };
    let shown = Screen {
        header: Some("Confirm your payment".into()),
        text_changed: c.notice.is_some(),
        ..Screen::default()
    };
    match c.method {
        Method::Otp => Screen {
            label: Some("Enter the 6-digit code".into()),
            text: Some(format!(
                "We sent a one-time code by text message to your phone ending 42. {text}"
            )),
            submit_label: Some("Confirm payment".into()),
            resend_label: Some("Send a new code".into()),
            ..shown
        },
        Method::SingleSelect | Method::MultiSelect => {
            let multi = c.method == Method::MultiSelect;
            let q = if multi { &MULTI_SELECT } else { &SINGLE_SELECT };
            Screen {
                // challengeInfoLabel has at most 45 characters: the question goes in the text.
                label: Some(
                    if multi {
                        "Tick every right answer"
                    } else {
                        "Choose one answer"
                    }
                    .into(),
                ),
                text: Some(format!("{} {text}", q.text)),
                options: q
                    .options
                    .iter()
                    .map(|(value, label)| SelectOption {
                        value: (*value).to_owned(),
                        label: (*label).to_owned(),
                    })
                    .collect(),
                submit_label: Some("Confirm payment".into()),
                ..shown
            }
        }
        Method::OutOfBand | Method::Decoupled => Screen {
            text: Some(format!(
                "We sent a request to the Sandbox Bank app ({}/issuer-app). Approve the payment there, then continue. {text}",
                state.site_url
            )),
            oob_continue_label: Some("I have approved it: continue".into()),
            ..shown
        },
    }
}

/// `cres` as the SDK will check it: by the same validator, against the CReq it
/// answers. A CRes that fails is the ACS's bug: it is not sent, the trace says why,
/// and the SDK gets `Erro` 404.
fn checked(cres: CRes, creq: &RequestFacts) -> Result<Vec<u8>, AcsError> {
    let bytes = Message::CRes(Box::new(cres)).to_json();
    let context = Context {
        request: Some(creq),
        channel: Some(DeviceChannel::App),
    };
    Validator::new(Role::Sdk)
        .validate(&bytes, &context)
        .map(|_| bytes)
        .map_err(|erro| AcsError::invalid("CRes", &erro))
}
