//! The ACS's browser-facing site (server-authenticated TLS, on `acs.localhost`):
//!
//! - `POST /3ds-method`: the 3DS Method (records what it learns of the browser, then
//!   notifies the 3DS Server's page);
//! - `POST /challenge`: the first CReq (form field `creq`, base64url), which opens the
//!   challenge page; `POST /challenge/{acsTransID}`: the cardholder's answers;
//!   `GET /challenge/{acsTransID}/status`: what the out-of-band page polls;
//! - `POST /app/creq`: the app channel's encrypted CReqs (`app`);
//! - `GET /issuer-app`, `GET|POST /issuer-app/{acsTransID}`: the "Sandbox Bank app"
//!   where out-of-band and decoupled authentications are approved or declined;
//! - SPC (`spc`): the challenge page posts its assertion as the answer `action=spc`;
//!   `POST /challenge/{acsTransID}/spc/register` registers the device after a success.
//!
//! The issuer's back office ([`issuer`]: SPC credentials and confirmations) is a router
//! of its own, which the sandbox serves behind its admin endpoint, not here.
//!
//! When a challenge ends, the RReq goes out (`results`) before the page posts the
//! final CRes to the merchant's `notificationURL`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use base64::Engine;
use emv3ds::codes::DeviceChannel;
use emv3ds::{Context, ErrorCode, Message, Role, Validator};
use serde_json::{Value, json};
use transport::html;

use crate::AcsError;
use crate::AcsState;
use crate::challenge::{Answer, Approval, Challenge, Method, Phase, Refused};
use crate::pages;
use crate::results::{self, Loaded};
use crate::spc::NotRegistered;

/// The issuer's back office: a card's SPC credentials (`POST /issuer/spc-credentials`
/// `{"acctNumber"}`), deleting one (`DELETE /issuer/spc-credentials/{id}`), and what the
/// check of a confirmation found (`GET /issuer/spc-confirmations/{acsTransID}`). Not on
/// the cardholder-facing site: the sandbox serves it behind its admin endpoint
/// (`/admin/issuer/…`, admin certificate and second factor).
pub fn issuer(state: AcsState) -> Router {
    Router::new()
        .route(
            "/issuer/spc-credentials",
            post(crate::spc::list_credentials),
        )
        .route(
            "/issuer/spc-credentials/{id}",
            delete(crate::spc::delete_credential),
        )
        .route(
            "/issuer/spc-confirmations/{id}",
            get(crate::spc::confirmation),
        )
        .with_state(state)
}

/// The site's router.
pub fn site(state: AcsState) -> Router {
    transport::access::body_limit(
        Router::new()
            .route("/3ds-method", post(method))
            .route("/challenge", post(first_creq))
            .route("/challenge/{id}", post(step))
            .route("/challenge/{id}/status", get(status))
            .route("/challenge/{id}/spc/register", post(register))
            .route(crate::app::CREQ_PATH, post(crate::app::creq))
            .route("/issuer-app", get(issuer_app))
            .route(
                "/issuer-app/{id}",
                get(issuer_app_request).post(issuer_app_decision),
            ),
        transport::access::FORM_BODY_LIMIT,
    )
    .with_state(state)
}

/// The fields of a form body (a name may repeat: multi-select).
pub(crate) fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// What the cardholder did, from the fields of a challenge form (the browser page's, or
/// the app HTML template's `challengeHTMLDataEntry`).
pub(crate) fn answer_from_form(fields: &[(String, String)]) -> Answer {
    match field(fields, "action").unwrap_or("submit") {
        "cancel" => Answer::Cancel,
        "resend" => Answer::Resend,
        "continue" => Answer::Continue,
        "spc-failed" => Answer::SpcFailed(
            field(fields, "error")
                .unwrap_or("")
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(40)
                .collect::<String>(),
        ),
        _ => match field(fields, "otp") {
            Some(otp) => Answer::Otp(otp.to_owned()),
            None => Answer::Options(
                fields
                    .iter()
                    .filter(|(n, _)| n == "option")
                    .map(|(_, v)| v.clone())
                    .collect(),
            ),
        },
    }
}

fn shown(status: StatusCode, page: html::Page) -> Response {
    page.respond(status)
}

fn failure(e: &AcsError) -> Response {
    shown(
        e.http_status(),
        pages::error("Something went wrong", &e.to_string(), None),
    )
}

/// What a 3DS Method form carries (`threeDSMethodData`, base64url JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodData {
    pub three_ds_server_trans_id: String,
    /// Checked by [`emv3ds::dictionary::safe_url`]: the page posts to it.
    pub notification_url: String,
}

/// Why a 3DS Method form cannot be used; the text is for the page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MethodFormError {
    #[error("the form field threeDSMethodData is missing")]
    Missing,
    #[error("threeDSMethodData is not base64url-encoded JSON")]
    NotBase64Json,
    #[error("threeDSMethodData needs threeDSServerTransID and threeDSMethodNotificationURL")]
    Incomplete,
    #[error("threeDSMethodData: threeDSMethodNotificationURL is refused: {0}")]
    UnsafeNotificationUrl(String),
}

/// Reads a 3DS Method form body. Pure, so it is fuzzed (`crates/fuzzing`).
pub fn read_method_form(body: &[u8]) -> Result<MethodData, MethodFormError> {
    let fields = form(body);
    let data = field(&fields, "threeDSMethodData").ok_or(MethodFormError::Missing)?;
    let parsed = html::base64url_decode(data)
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .ok_or(MethodFormError::NotBase64Json)?;
    let (Some(trans_id), Some(notify)) = (
        parsed.get("threeDSServerTransID").and_then(Value::as_str),
        parsed
            .get("threeDSMethodNotificationURL")
            .and_then(Value::as_str),
    ) else {
        return Err(MethodFormError::Incomplete);
    };
    // The page posts to this URL: anything but https (http on loopback) would run
    // script on the ACS's origin, the relying party of SPC.
    emv3ds::dictionary::safe_url(notify, false).map_err(MethodFormError::UnsafeNotificationUrl)?;
    Ok(MethodData {
        three_ds_server_trans_id: trans_id.to_owned(),
        notification_url: notify.to_owned(),
    })
}

async fn method(State(state): State<AcsState>, headers: HeaderMap, body: Bytes) -> Response {
    let MethodData {
        three_ds_server_trans_id: trans_id,
        notification_url: notify,
    } = match read_method_form(&body) {
        Ok(data) => data,
        Err(why) => {
            return shown(
                StatusCode::BAD_REQUEST,
                pages::error(
                    "This 3DS Method request cannot be used",
                    &why.to_string(),
                    None,
                ),
            );
        }
    };
    let header = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let facts = json!({
        "userAgent": header(header::USER_AGENT),
        "acceptLanguage": header(header::ACCEPT_LANGUAGE),
        "at": state.clock.now_ms(),
    });
    if let Err(e) = state.store.record_method_run(&trans_id, &facts).await {
        return failure(&AcsError::from(e));
    }
    let answer = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({ "threeDSServerTransID": trans_id }).to_string());
    shown(StatusCode::OK, pages::method_done(&notify, &answer))
}

/// A CReq the ACS refuses: the page says why and shows the `Erro`.
fn refused_creq(code: ErrorCode, detail: &str, why: &str, about: Option<&Message>) -> Response {
    refused_page(&CReqRefused::new(code, detail, why, about))
}

fn refused_page(refused: &CReqRefused) -> Response {
    shown(
        StatusCode::BAD_REQUEST,
        pages::error(
            "This challenge cannot be shown",
            &refused.why,
            Some(&refused.erro),
        ),
    )
}

/// Why a browser's first CReq form is refused: the `Erro` the page shows and, for the
/// cardholder, why.
#[derive(Debug)]
pub struct CReqRefused {
    pub erro: Box<emv3ds::Erro>,
    pub why: String,
}

impl CReqRefused {
    fn new(code: ErrorCode, detail: &str, why: &str, about: Option<&Message>) -> Self {
        CReqRefused {
            erro: Validator::new(Role::Acs).reject(code, detail, why, about),
            why: why.to_owned(),
        }
    }
}

/// A browser's first CReq form, read and validated as the ACS receives it.
#[derive(Debug)]
pub struct CReqForm {
    /// A valid browser CReq.
    pub creq: emv3ds::messages::CReq,
    /// The same, as a message (for the ids of an `Erro` about it).
    pub message: Message,
    /// `threeDSSessionData`, as posted (handed back with the final CRes).
    pub session_data: Option<String>,
}

/// Reads the form a merchant's page posts to `/challenge`: the field `creq`
/// (base64url), validated as a browser CReq, and `threeDSSessionData`. Pure, so it is
/// fuzzed (`crates/fuzzing`).
pub fn read_creq_form(body: &[u8]) -> Result<CReqForm, CReqRefused> {
    let fields = form(body);
    let Some(creq) = field(&fields, "creq") else {
        return Err(CReqRefused::new(
            ErrorCode::RequiredElementMissing,
            "creq",
            "the form field creq is missing",
            None,
        ));
    };
    let Some(bytes) = html::base64url_decode(creq) else {
        return Err(CReqRefused::new(
            ErrorCode::MessageInvalid,
            "creq",
            "creq is not base64url",
            None,
        ));
    };
    let context = Context {
        channel: Some(DeviceChannel::Browser),
        ..Context::default()
    };
    let message = match Validator::new(Role::Acs).validate(&bytes, &context) {
        Ok(valid) => valid.message,
        Err(erro) => {
            let why = format!("{} ({})", erro.error_description, erro.error_detail);
            return Err(CReqRefused { erro, why });
        }
    };
    let Message::CReq(creq) = &message else {
        let why = format!("expected a CReq, got {}", message.message_type());
        return Err(CReqRefused::new(
            ErrorCode::MessageInvalid,
            "messageType",
            &why,
            Some(&message),
        ));
    };
    Ok(CReqForm {
        creq: creq.clone(),
        message,
        session_data: field(&fields, "threeDSSessionData").map(str::to_owned),
    })
}

async fn first_creq(State(state): State<AcsState>, body: Bytes) -> Response {
    let CReqForm {
        creq,
        message,
        session_data,
    } = match read_creq_form(&body) {
        Ok(form) => form,
        Err(refused) => return refused_page(&refused),
    };
    let acs_trans_id = creq.acs_trans_id.as_ref().map_or("", |t| t.as_str());
    let loaded = match results::load(&state, acs_trans_id).await {
        Ok(loaded) => loaded,
        Err(e) => return failure(&e),
    };
    let Some(Loaded {
        mut challenge,
        revision,
    }) = loaded
    else {
        return refused_creq(
            ErrorCode::TransactionIdNotRecognised,
            "acsTransID",
            "this ACS has no challenge with this acsTransID",
            Some(&message),
        );
    };
    let server_id = creq
        .three_ds_server_trans_id
        .as_ref()
        .map_or("", |t| t.as_str());
    if server_id != challenge.three_ds_server_trans_id.as_str()
        || challenge.method == Method::Decoupled
    {
        return refused_creq(
            ErrorCode::TransactionIdNotRecognised,
            "threeDSServerTransID",
            "the ids of this CReq do not match the challenge's transaction",
            Some(&message),
        );
    }
    let window = creq
        .challenge_window_size
        .as_ref()
        .map(|w| w.as_str().to_owned());
    match challenge.start(state.clock.now_ms(), &state.timeouts, session_data, window) {
        Ok(()) => match results::save(&state, &challenge, revision).await {
            Ok(true) => {
                let label = format!("challenge shown: {:?}", challenge.method);
                crate::note(&state, &challenge, label, Vec::new());
                shown(StatusCode::OK, pages::challenge(&challenge))
            }
            Ok(false) => current(&state, acs_trans_id).await,
            Err(e) => failure(&e),
        },
        // The requestor's page posted twice, or the cardholder reloaded: show where the
        // challenge is rather than break it.
        Err(Refused::AlreadyStarted) => shown(StatusCode::OK, pages::challenge(&challenge)),
        Err(_) => current(&state, acs_trans_id).await,
    }
}

/// The challenge `id`, or the page to show instead: 404 when there is none (`what` names
/// it for the cardholder), 503 when the store cannot say.
async fn load_or_page(state: &AcsState, id: &str, what: &str) -> Result<Loaded, Response> {
    match results::load(state, id).await {
        Ok(Some(loaded)) => Ok(loaded),
        Ok(None) => Err(shown(
            StatusCode::NOT_FOUND,
            pages::error(
                &format!("Unknown {what}"),
                &format!("this ACS has no {what} with this id"),
                None,
            ),
        )),
        Err(e) => Err(failure(&e)),
    }
}

/// The page for where the challenge is now: its step, or the hand-back once decided
/// (delivering the RReq first if nobody has).
async fn current(state: &AcsState, acs_trans_id: &str) -> Response {
    let Loaded {
        challenge,
        revision,
    } = match load_or_page(state, acs_trans_id, "payment").await {
        Ok(loaded) => loaded,
        Err(page) => return page,
    };
    if challenge.phase != Phase::Decided {
        if challenge.phase == Phase::AwaitingCReq {
            return shown(
                StatusCode::CONFLICT,
                pages::error(
                    "This challenge has not started",
                    "the merchant's page has not sent the challenge request (CReq) yet",
                    None,
                ),
            );
        }
        return shown(StatusCode::OK, pages::challenge(&challenge));
    }
    let challenge = if challenge
        .due_at()
        .is_some_and(|d| d <= state.clock.now_ms())
    {
        match results::finish(state, challenge.clone(), revision).await {
            Ok(Some(done)) => done,
            Ok(None) => challenge,
            Err(e) => return failure(&e),
        }
    } else {
        challenge
    };
    hand_back(state, &challenge)
}

fn hand_back(state: &AcsState, challenge: &Challenge) -> Response {
    if challenge.notification_url.is_none() {
        return shown(
            StatusCode::OK,
            pages::error("Done", "this authentication has ended", None),
        );
    }
    let Some(cres) = challenge.final_cres() else {
        return shown(
            StatusCode::OK,
            pages::error(
                "Not finished",
                "this authentication has no result yet",
                None,
            ),
        );
    };
    // Checked as the requestor's side will check it; a failure is the ACS's bug.
    let cres = emv3ds::Message::CRes(Box::new(cres)).to_json();
    let context = emv3ds::Context {
        request: None,
        channel: Some(emv3ds::codes::DeviceChannel::Browser),
    };
    if let Err(erro) = emv3ds::Validator::new(emv3ds::Role::ThreeDsServer).validate(&cres, &context)
    {
        let why = format!(
            "the ACS built an invalid CRes ({} {})",
            erro.error_code.as_str(),
            erro.error_detail
        );
        crate::note(state, challenge, why, Vec::new());
        return shown(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::error(
                "Something went wrong",
                "the issuer could not hand the result back",
                None,
            ),
        );
    }
    let cres = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(cres);
    if challenge.offers_enrolment() {
        let rp_id = crate::spc::rp_id(state);
        return shown(StatusCode::OK, pages::enrolment(challenge, &cres, &rp_id));
    }
    shown(StatusCode::OK, pages::hand_back(challenge, &cres))
}

async fn register(State(state): State<AcsState>, Path(id): Path<String>, body: Bytes) -> Response {
    let json = |status: StatusCode, body: Value| (status, axum::Json(body)).into_response();
    let Loaded {
        mut challenge,
        revision,
    } = match results::load(&state, &id).await {
        Ok(Some(loaded)) => loaded,
        Ok(None) => return json(StatusCode::NOT_FOUND, json!({ "error": "unknown payment" })),
        Err(e) => return json(e.http_status(), json!({ "error": e.to_string() })),
    };
    match crate::spc::register(&state, &mut challenge, &body).await {
        Ok(credential_id) => match results::save(&state, &challenge, revision).await {
            Ok(true) => json(
                StatusCode::OK,
                json!({ "registered": true, "credentialId": credential_id }),
            ),
            Ok(false) => json(
                StatusCode::CONFLICT,
                json!({ "error": "the payment changed meanwhile; try again" }),
            ),
            Err(e) => json(e.http_status(), json!({ "error": e.to_string() })),
        },
        Err(NotRegistered::Refused(why)) => json(StatusCode::BAD_REQUEST, json!({ "error": why })),
        Err(NotRegistered::Failed(e)) => json(e.http_status(), json!({ "error": e.to_string() })),
    }
}

async fn step(State(state): State<AcsState>, Path(id): Path<String>, body: Bytes) -> Response {
    let fields = form(&body);
    let Loaded {
        mut challenge,
        revision,
    } = match load_or_page(&state, &id, "payment").await {
        Ok(loaded) => loaded,
        Err(page) => return page,
    };
    let answer = if field(&fields, "action") == Some("spc") {
        let assertion = field(&fields, "assertion").unwrap_or("");
        match crate::spc::confirm_in_challenge(&state, &challenge, assertion).await {
            Ok(answer) => answer,
            Err(e) => return failure(&e),
        }
    } else {
        answer_from_form(&fields)
    };
    let answer = match crate::comparable(&state, challenge.acs_trans_id.as_str(), answer).await {
        Ok(answer) => answer,
        Err(e) => return failure(&e),
    };
    crate::note(
        &state,
        &challenge,
        format!("challenge answered: {}", answer.kind()),
        Vec::new(),
    );
    match challenge.answer(state.clock.now_ms(), &state.timeouts, answer) {
        Ok(()) if challenge.phase == Phase::Decided => {
            match results::finish(&state, challenge, revision).await {
                Ok(Some(done)) => hand_back(&state, &done),
                Ok(None) => current(&state, &id).await,
                Err(e) => failure(&e),
            }
        }
        Ok(()) => match results::save(&state, &challenge, revision).await {
            Ok(true) => shown(StatusCode::OK, pages::challenge(&challenge)),
            Ok(false) => current(&state, &id).await,
            Err(e) => failure(&e),
        },
        Err(Refused::WrongAnswerKind) => {
            challenge.notice = Some("Please answer the question shown.".into());
            shown(StatusCode::OK, pages::challenge(&challenge))
        }
        Err(_) => current(&state, &id).await,
    }
}

async fn status(State(state): State<AcsState>, Path(id): Path<String>) -> Response {
    match results::load(&state, &id).await {
        Ok(Some(Loaded { challenge, .. })) => axum::Json(json!({
            "phase": challenge.phase,
            "approval": challenge.approval,
            "verdict": challenge.verdict,
            "rreq": challenge.delivery,
        }))
        .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => (e.http_status(), e.to_string()).into_response(),
    }
}

async fn issuer_app(State(state): State<AcsState>) -> Response {
    let open = match state.store.open_challenges(50).await {
        Ok(open) => open,
        Err(e) => return failure(&AcsError::from(e)),
    };
    let waiting: Vec<Challenge> = open
        .into_iter()
        .filter_map(|(_, s)| results::parse(s))
        .filter(|c| {
            matches!(c.method, Method::OutOfBand | Method::Decoupled)
                && c.phase == Phase::InProgress
                && c.approval.is_none()
        })
        .collect();
    shown(StatusCode::OK, pages::issuer_app(&waiting))
}

async fn issuer_app_request(State(state): State<AcsState>, Path(id): Path<String>) -> Response {
    match results::load(&state, &id).await {
        Ok(Some(Loaded { challenge, .. }))
            if matches!(challenge.method, Method::OutOfBand | Method::Decoupled) =>
        {
            shown(StatusCode::OK, pages::issuer_app_request(&challenge, None))
        }
        Ok(_) => shown(
            StatusCode::NOT_FOUND,
            pages::error(
                "Unknown request",
                "nothing with this id waits for approval",
                None,
            ),
        ),
        Err(e) => failure(&e),
    }
}

async fn issuer_app_decision(
    State(state): State<AcsState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = form(&body);
    let approval = match field(&fields, "decision") {
        Some("approve") => Approval::Approved,
        Some("deny") => Approval::Denied,
        _ => {
            return shown(
                StatusCode::BAD_REQUEST,
                pages::error("Approve a payment", "choose approve or decline", None),
            );
        }
    };
    // A lost compare-and-set (the timer, or the page's own poll, changed the request
    // meanwhile) is tried again on what is stored now; the page then says what really
    // happened, including that the answer did not count.
    for _ in 0..3 {
        let Loaded {
            mut challenge,
            revision,
        } = match load_or_page(&state, &id, "request").await {
            Ok(loaded) => loaded,
            Err(page) => return page,
        };
        if challenge.approve(state.clock.now_ms(), approval).is_err() {
            return shown(
                StatusCode::OK,
                pages::issuer_app_request(&challenge, Some(approval)),
            );
        }
        let stored = if challenge.phase == Phase::Decided {
            results::finish(&state, challenge.clone(), revision)
                .await
                .map(|done| done.is_some())
        } else {
            results::save(&state, &challenge, revision).await
        };
        match stored {
            Ok(true) => {
                return shown(
                    StatusCode::OK,
                    pages::issuer_app_request(&challenge, Some(approval)),
                );
            }
            Ok(false) => {}
            Err(e) => return failure(&e),
        }
    }
    match load_or_page(&state, &id, "request").await {
        Ok(Loaded { challenge, .. }) => shown(
            StatusCode::OK,
            pages::issuer_app_request(&challenge, Some(approval)),
        ),
        Err(page) => page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn method_form(data: &Value) -> Vec<u8> {
        format!(
            "threeDSMethodData={}",
            URL_SAFE_NO_PAD.encode(data.to_string())
        )
        .into_bytes()
    }

    #[test]
    fn a_method_form_is_read_only_with_a_safe_notification_url() {
        let id = "8a880dc0-d2d2-4067-bcb1-b08d1690b26e";
        let good = read_method_form(&method_form(&json!({
            "threeDSServerTransID": id,
            "threeDSMethodNotificationURL": "https://shop.example/method-done",
        })))
        .unwrap_or_else(|why| panic!("{why}"));
        assert_eq!(good.three_ds_server_trans_id, id);
        let script = read_method_form(&method_form(&json!({
            "threeDSServerTransID": id,
            "threeDSMethodNotificationURL": "javascript:alert(1)",
        })))
        .unwrap_err();
        assert!(
            matches!(script, MethodFormError::UnsafeNotificationUrl(_)),
            "{script}"
        );
        for (body, says) in [
            (&b""[..], "threeDSMethodData is missing"),
            (b"threeDSMethodData=%%%", "not base64url"),
        ] {
            let why = read_method_form(body).unwrap_err().to_string();
            assert!(why.contains(says), "{why}");
        }
    }

    #[test]
    fn a_creq_form_names_what_is_wrong() {
        let missing = read_creq_form(b"threeDSSessionData=abc").unwrap_err();
        assert_eq!(missing.erro.error_code, ErrorCode::RequiredElementMissing);
        assert_eq!(missing.erro.error_detail, "creq");
        let garbled = read_creq_form(b"creq=***").unwrap_err();
        assert_eq!(garbled.erro.error_code, ErrorCode::MessageInvalid);
        assert_eq!(garbled.erro.error_detail, "creq");
        let not_json = read_creq_form(format!("creq={}", URL_SAFE_NO_PAD.encode("[1")).as_bytes())
            .unwrap_err();
        assert!(!not_json.why.is_empty());
    }
}
