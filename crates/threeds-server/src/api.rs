//! The requestor API (`/v1/…`): what a merchant backend calls, over mutual TLS.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use emv3ds::card_ranges::negotiate;
use emv3ds::codes::{ChallengeWindowSize, DeviceChannel, TransStatus};
use emv3ds::messages::CReq;
use emv3ds::{Context, Erro, ErrorCode, Message, MessageVersion, Role, Validator};
use serde_json::{Map, Value, json};

use store::{NewServerTransaction, Source, Status};

use crate::ServerState;
use crate::error::ServerError;

/// The 3DS Server's router: the requestor API, for requestor certificates only, and
/// the RReq endpoint, for its Directory Servers only (`results` then checks that the
/// RReq comes from the DS of that transaction).
pub fn app(state: ServerState) -> Router {
    use axum::middleware::from_fn;
    use transport::access::only;
    let requestors = only(state.requestors(), Role::ThreeDsServer);
    let directory_servers = only(state.directory_servers(), Role::ThreeDsServer);
    let api = Router::new()
        .route("/v1/preauth", post(preauth))
        .route("/v1/auth", post(auth))
        .route("/v1/auth/{id}/spc", post(crate::spc::second_auth))
        .route("/v1/postauth/{id}", get(postauth))
        .route_layer(from_fn(requestors));
    let results = Router::new()
        .route("/rreq", post(crate::results::rreq))
        .route_layer(from_fn(directory_servers));
    transport::access::body_limit(api.merge(results), transport::access::MESSAGE_BODY_LIMIT)
        .with_state(state)
}

pub(crate) fn reply(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        serde_json::to_vec(body).unwrap_or_default(),
    )
        .into_response()
}

pub(crate) fn erro_reply(status: StatusCode, erro: &Erro) -> Response {
    let body: Value = serde_json::from_slice(&erro.to_json()).unwrap_or(Value::Null);
    reply(status, &body)
}

/// The request body as a JSON object, or why it is not one.
pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ServerError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ServerError::bad_body(
            "the request body must be a JSON object",
        )),
        Err(e) => Err(ServerError::bad_body(format!(
            "the request body is not JSON: {e}"
        ))),
    }
}

/// The store failed: the request is not lost silently, the requestor is told to retry.
const RECORD: &str = "record the transaction";

fn missing_acct_number() -> ServerError {
    ServerError::missing("acctNumber", "acctNumber is required")
}

/// The requestor's elements that the API looks up before it assembles the AReq: the card
/// (range lookup) and the transaction id (store lookup).
const LOOKED_UP: [&str; 2] = ["acctNumber", "threeDSServerTransID"];

/// The elements the API looks up, checked against the data dictionary first (the
/// refusal, if any), so a
/// malformed one is answered as itself (203 naming it), never as a downstream condition
/// such as "not enrolled". Every other element is checked by the full validation of the
/// assembled AReq, in the spec's order (201 before 203), before anything is sent.
fn formats_first(request: &Map<String, Value>) -> Result<(), ServerError> {
    let version = request
        .get("messageVersion")
        .and_then(Value::as_str)
        .and_then(MessageVersion::parse);
    let mut wrong = Vec::new();
    let mut why = Vec::new();
    for name in LOOKED_UP {
        let (Some(element), Some(text)) = (
            emv3ds::dictionary::element(name),
            request.get(name).and_then(Value::as_str),
        ) else {
            continue;
        };
        if let Err(reason) = element.check_string(text, version) {
            why.push(format!("{name}: {reason}"));
            wrong.push(name);
        }
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(ServerError::format(&wrong.join(","), why.join("; ")))
}

async fn preauth(State(state): State<ServerState>, body: Bytes) -> Result<Response, ServerError> {
    let request = parse_object(&body)?;
    formats_first(&request)?;
    // Goes into threeDSMethodData, and from there into the ACS's page as a form action.
    if let Some(notify) = request
        .get("threeDSMethodNotificationURL")
        .and_then(Value::as_str)
        && let Err(why) = emv3ds::dictionary::safe_url(notify, false)
    {
        return Err(ServerError::format(
            "threeDSMethodNotificationURL",
            format!("threeDSMethodNotificationURL: {why}"),
        ));
    }
    let pan = request
        .get("acctNumber")
        .and_then(Value::as_str)
        .ok_or_else(missing_acct_number)?;
    let trans_id = state.ids.trans_id();
    let mut answer = json!({ "threeDSServerTransID": trans_id.as_str() });
    match state.find_range(pan) {
        None => {
            answer["enrolled"] = json!(false);
        }
        Some((ds, range, ds_versions)) => {
            answer["enrolled"] = json!(true);
            answer["directoryServerId"] = json!(ds.directory_server_id);
            let version = negotiate(&state.config.versions, &ds_versions, &range.acs_versions);
            if let Some(v) = version {
                answer["messageVersion"] = json!(v.as_str());
            }
            if let Some(url) = &range.three_ds_method_url {
                answer["threeDSMethodURL"] = json!(url);
                if let Some(notify) = request
                    .get("threeDSMethodNotificationURL")
                    .and_then(Value::as_str)
                {
                    let data = json!({
                        "threeDSServerTransID": trans_id.as_str(),
                        "threeDSMethodNotificationURL": notify,
                    });
                    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(serde_json::to_vec(&data).unwrap_or_default());
                    answer["threeDSMethodData"] = json!(encoded);
                }
            }
            state
                .store
                .begin_server_transaction(&NewServerTransaction {
                    three_ds_server_trans_id: trans_id.as_str(),
                    pan,
                    directory_server_id: &ds.directory_server_id,
                    message_version: version.map(MessageVersion::as_str),
                    device_channel: None,
                    message_category: None,
                    prior_trans_id: None,
                })
                .await
                .map_err(ServerError::store(RECORD))?;
        }
    }
    Ok(reply(StatusCode::OK, &answer))
}

async fn auth(State(state): State<ServerState>, body: Bytes) -> Result<Response, ServerError> {
    let mut fields = parse_object(&body)?;
    formats_first(&fields)?;
    // Not an AReq element: the size of the challenge window, for the CReq. Checked
    // with the other formats, before the card is looked up.
    let window_size = match fields.remove("challengeWindowSize") {
        None => "05".to_owned(),
        Some(Value::String(w))
            if ChallengeWindowSize::from_code(&w).is_some_and(|c| c.meaning().is_some()) =>
        {
            w
        }
        Some(other) => {
            return Err(ServerError::format(
                "challengeWindowSize",
                format!("challengeWindowSize must be one of 01 to 05, not {other}"),
            ));
        }
    };
    let pan = fields
        .get("acctNumber")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(missing_acct_number)?;
    let (ds, range, ds_versions) = state.find_range(&pan).ok_or_else(|| {
        ServerError::data_invalid(
            "acctNumber",
            "the card is in no card range of any DS (not enrolled)",
        )
    })?;
    // The transaction: the one preauth started (for this card), or a new one.
    let (trans_id, remembered) = match fields.get("threeDSServerTransID").and_then(Value::as_str) {
        None => (state.ids.trans_id().as_str().to_owned(), None),
        Some(id) => (id.to_owned(), started_version(&state, id, &pan).await?),
    };
    // A forced version, else the one preauth negotiated, else a fresh negotiation.
    let version = match fields.get("messageVersion").and_then(Value::as_str) {
        Some(forced) => MessageVersion::parse(forced)
            .ok_or_else(|| format!("version {forced} is not supported")),
        None => remembered
            .or_else(|| negotiate(&state.config.versions, &ds_versions, &range.acs_versions))
            .ok_or_else(|| {
                "no version is supported by this 3DS Server, the DS and the card's ACS".to_owned()
            }),
    };
    let version = version.map_err(ServerError::version)?;

    send_areq(
        &state,
        fields,
        &Sending {
            trans_id: &trans_id,
            pan: &pan,
            directory_server_id: &ds.directory_server_id,
            ds_url: &ds.url,
            version,
            window_size: &window_size,
            prior_trans_id: None,
        },
    )
    .await
}

/// The version `/v1/preauth` negotiated for transaction `id`, which must be one it
/// started for this card and that has no result yet.
async fn started_version(
    state: &ServerState,
    id: &str,
    pan: &str,
) -> Result<Option<MessageVersion>, ServerError> {
    let started = state
        .store
        .server_transaction(id)
        .await
        .map_err(ServerError::store(RECORD))?;
    let pan_hash = state
        .store
        .pan_hash(pan)
        .await
        .map_err(ServerError::store(RECORD))?;
    let refused = |why| {
        Err(ServerError::unknown_transaction(
            "threeDSServerTransID",
            why,
        ))
    };
    match started {
        Some(t) if t.pan_hash == pan_hash && t.source.is_none() => {
            Ok(t.message_version.as_deref().and_then(MessageVersion::parse))
        }
        Some(t) if t.source.is_some() => {
            refused("this transaction has already been authenticated; start a new one")
        }
        Some(_) => refused("this threeDSServerTransID was issued for another card"),
        None => refused("this threeDSServerTransID was not issued by /v1/preauth"),
    }
}

/// What [`send_areq`] needs besides the requestor's elements.
pub(crate) struct Sending<'a> {
    pub trans_id: &'a str,
    pub pan: &'a str,
    pub directory_server_id: &'a str,
    pub ds_url: &'a str,
    pub version: MessageVersion,
    /// `challengeWindowSize` for a browser challenge's CReq.
    pub window_size: &'a str,
    /// The authentication this one continues (SPC).
    pub prior_trans_id: Option<&'a str>,
}

/// Completes the AReq with the 3DS Server's elements, checks it as the DS will, sends
/// it, records the ARes, and answers the requestor.
pub(crate) async fn send_areq(
    state: &ServerState,
    fields: Map<String, Value>,
    sending: &Sending<'_>,
) -> Result<Response, ServerError> {
    let request = with_own_elements(&state.config, fields, sending);
    let wire = serde_json::to_vec(&request).unwrap_or_default();
    // Check it as the DS will; a bad request is the requestor's to fix (400, from S).
    let areq = match Validator::new(Role::DirectoryServer).validate(&wire, &Context::default()) {
        Ok(valid) => valid.message,
        Err(e) => {
            let mut e = *e;
            e.error_component = emv3ds::ErrorComponent::ThreeDsServer;
            return Ok(erro_reply(StatusCode::BAD_REQUEST, &e));
        }
    };
    begin(state, &areq, sending).await?;
    let validator = Validator::new(Role::ThreeDsServer);
    let ares = transport::exchange(
        &state.ds_client,
        sending.ds_url,
        &areq,
        &validator,
        "the DS",
    )
    .await
    .map_err(ServerError::Ds)?;
    let ares_json = record_ares(state, request, &ares, sending).await?;
    let mut answer = json!({ "threeDSServerTransID": sending.trans_id, "ares": ares_json });
    if let Some(prior) = sending.prior_trans_id {
        answer["priorThreeDSServerTransID"] = json!(prior);
    }
    if let Some(challenge) = browser_challenge(&ares, sending.window_size)? {
        answer["challenge"] = challenge;
    }
    Ok(reply(StatusCode::OK, &answer))
}

/// The requestor's elements with the 3DS Server's own added (the requestor's identity
/// only where it sent none): the AReq as it will go to the DS.
fn with_own_elements(
    config: &crate::ServerConfig,
    mut fields: Map<String, Value>,
    sending: &Sending<'_>,
) -> Value {
    let mut put = |name: &str, value: Value| {
        fields.insert(name.to_owned(), value);
    };
    put("messageType", json!("AReq"));
    put("messageVersion", json!(sending.version.as_str()));
    put("threeDSServerTransID", json!(sending.trans_id));
    put("threeDSServerRefNumber", json!(config.reference_number));
    put("threeDSServerOperatorID", json!(config.operator_id));
    put("threeDSServerURL", json!(config.url));
    for (name, default) in [
        ("threeDSRequestorID", &config.requestor_id),
        ("threeDSRequestorName", &config.requestor_name),
        ("threeDSRequestorURL", &config.requestor_url),
    ] {
        fields
            .entry(name.to_owned())
            .or_insert_with(|| json!(default));
    }
    Value::Object(fields)
}

/// Records the transaction before its AReq leaves, so a result can never arrive for a
/// transaction the 3DS Server does not know.
async fn begin(
    state: &ServerState,
    areq: &emv3ds::Message,
    sending: &Sending<'_>,
) -> Result<(), ServerError> {
    let code = |name: &str| areq_code(areq, name);
    let begun = state
        .store
        .begin_server_transaction(&NewServerTransaction {
            three_ds_server_trans_id: sending.trans_id,
            pan: sending.pan,
            directory_server_id: sending.directory_server_id,
            message_version: Some(sending.version.as_str()),
            device_channel: code("deviceChannel"),
            message_category: code("messageCategory"),
            prior_trans_id: sending.prior_trans_id,
        })
        .await;
    match begun {
        Ok(()) => Ok(()),
        // Two continuations of one SPC authentication raced; the other one won.
        Err(e) if e.is_conflict() && sending.prior_trans_id.is_some() => {
            Err(ServerError::unknown_transaction(
                "threeDSServerTransID",
                "this SPC authentication is already being continued",
            ))
        }
        Err(e) => Err(ServerError::store(RECORD)(e)),
    }
}

/// Records the ARes as the transaction's result (pending for a challenge, final
/// otherwise; for `S` also the request, which the SPC continuation is built from) and
/// returns it as JSON.
async fn record_ares(
    state: &ServerState,
    request: Value,
    ares: &emv3ds::Message,
    sending: &Sending<'_>,
) -> Result<Value, ServerError> {
    let ares_json = serde_json::from_slice::<Value>(&ares.to_json()).unwrap_or(Value::Null);
    // `S` is final for this transaction: SPC's result comes in a second one.
    let trans_status = ares_json.get("transStatus").and_then(Value::as_str);
    let status = match trans_status {
        Some("C" | "D") => Status::Pending,
        _ => Status::Final,
    };
    if trans_status == Some("S") {
        let mut kept = request;
        kept["challengeWindowSize"] = json!(sending.window_size);
        state
            .store
            .keep_server_request(sending.trans_id, &kept)
            .await
            .map_err(ServerError::store(RECORD))?;
    }
    state
        .store
        .record_server_result(sending.trans_id, status, Source::ARes, &ares_json)
        .await
        .map_err(ServerError::store(RECORD))?;
    Ok(ares_json)
}

/// For a browser ARes `C`: where to post the challenge and the CReq to post there
/// (`{"acsURL", "creq"}`, the CReq base64url without padding, `docs/protocol.md` §1.5),
/// the CReq checked first as the ACS will check it.
fn browser_challenge(ares: &Message, window_size: &str) -> Result<Option<Value>, ServerError> {
    let Message::ARes(ares) = ares else {
        return Ok(None);
    };
    let (Some(TransStatus::C), Some(acs_url), Some(server_id), Some(acs_id)) = (
        ares.trans_status,
        ares.acs_url.as_deref(),
        ares.three_ds_server_trans_id.clone(),
        ares.acs_trans_id.clone(),
    ) else {
        return Ok(None);
    };
    let window =
        ChallengeWindowSize::from_code(window_size).ok_or_else(|| ServerError::Invalid {
            message: "CReq",
            code: ErrorCode::InvalidFormat,
            detail: "challengeWindowSize".into(),
        })?;
    let creq = Message::CReq(CReq::browser(
        ares.message_version,
        server_id,
        acs_id,
        window,
    ))
    .to_json();
    let context = Context {
        request: None,
        channel: Some(DeviceChannel::Browser),
    };
    Validator::new(Role::Acs)
        .validate(&creq, &context)
        .map_err(|erro| ServerError::Invalid {
            message: "CReq",
            code: erro.error_code,
            detail: erro.error_detail.clone(),
        })?;
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(creq);
    Ok(Some(json!({ "acsURL": acs_url, "creq": encoded })))
}

/// A code element of the validated AReq, as sent.
fn areq_code<'a>(areq: &'a Message, name: &str) -> Option<&'a str> {
    let Message::AReq(areq) = areq else {
        return None;
    };
    match name {
        "deviceChannel" => areq.device_channel.as_ref().map(|c| c.as_str()),
        "messageCategory" => areq.message_category.as_ref().map(|c| c.as_str()),
        _ => None,
    }
}

async fn postauth(
    State(state): State<ServerState>,
    Path(id): Path<String>,
) -> Result<Response, ServerError> {
    let tx = state
        .store
        .server_transaction(&id)
        .await
        .map_err(ServerError::store(RECORD))?;
    let Some(tx) = tx else {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            &json!({ "error": "unknown threeDSServerTransID", "threeDSServerTransID": id }),
        ));
    };
    let mut answer = json!({ "threeDSServerTransID": id });
    answer["status"] = json!(tx.status.as_str());
    let (Some(result), Some(source)) = (&tx.result, tx.source) else {
        return Ok(reply(StatusCode::OK, &answer));
    };
    for name in [
        "transStatus",
        "transStatusReason",
        "challengeCancel",
        "eci",
        "authenticationValue",
        "authenticationMethod",
        "acsTransID",
        "dsTransID",
        "messageVersion",
    ] {
        if let Some(v) = result.get(name) {
            answer[name] = v.clone();
        }
    }
    answer["source"] = json!(source.as_str());
    if let Some(prior) = &tx.prior_trans_id {
        answer["priorThreeDSServerTransID"] = json!(prior);
    }
    if let Some(next) = state
        .store
        .continued_by(&id)
        .await
        .map_err(ServerError::store(RECORD))?
    {
        answer["continuedBy"] = json!(next);
    }
    Ok(reply(StatusCode::OK, &answer))
}
