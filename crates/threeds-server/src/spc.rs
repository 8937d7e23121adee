//! The second authentication of requestor-initiated SPC (`docs/protocol.md` §8.2):
//! `POST /v1/auth/{threeDSServerTransID}/spc` after an ARes `S`.
//!
//! The requestor sends what its page got from the SPC dialog: `{"assertion": <the
//! PublicKeyCredential JSON>}`, or `{"spcIncompInd": "01"|"02"|"03"}` when SPC did not
//! complete, was cancelled or timed out (optionally `challengeWindowSize` for a
//! fallback challenge). The 3DS Server builds the second AReq from the first one (kept
//! sealed when the ARes was `S`): a new `threeDSServerTransID`, the assertion as
//! `threeDSRequestorAuthenticationInfo` method 09 (or `spcIncompInd`), the link
//! `threeDSRequestorPriorAuthenticationInfo` {`threeDSReqPriorRef` = the first
//! acsTransID, method 05}, and `threeDSMethodId` = the first transaction's id when its
//! 3DS Method completed. Both transactions are linked in the records
//! (`priorThreeDSServerTransID`, `continuedBy` at postauth).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use emv3ds::MessageVersion;
use emv3ds::codes::ChallengeWindowSize;
use serde_json::{Value, json};

use crate::ServerState;
use crate::api::{Sending, parse_object, send_areq};
use crate::error::ServerError;

/// The store failed: the requestor is told to retry.
const RECORD: &str = "read or record the transaction";

/// `YYYYMMDDHHMM`, UTC.
fn timestamp(now_ms: u64) -> String {
    let now = time::OffsetDateTime::from_unix_timestamp(i64::try_from(now_ms / 1000).unwrap_or(0))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute()
    )
}

/// How the SPC dialog ended, as the requestor reports it.
enum Continuation<'a> {
    /// The `PublicKeyCredential` JSON (or its text).
    Assertion(&'a Value),
    /// `spcIncompInd`: 01 did not complete, 02 cancelled, 03 timed out.
    Incomplete(&'a str),
}

impl<'a> Continuation<'a> {
    /// The continuation in `body`, or why the body is not one.
    fn of(body: &'a serde_json::Map<String, Value>) -> Result<Continuation<'a>, ServerError> {
        let assertion = body.get("assertion");
        let incomplete = body.get("spcIncompInd").and_then(Value::as_str);
        match (assertion, incomplete) {
            (Some(a @ (Value::Object(_) | Value::String(_))), None) => {
                Ok(Continuation::Assertion(a))
            }
            (None, Some(code @ ("01" | "02" | "03"))) => Ok(Continuation::Incomplete(code)),
            (None, Some(code)) => Err(ServerError::format(
                "spcIncompInd",
                format!("spcIncompInd must be 01, 02 or 03, not {code}"),
            )),
            _ => Err(ServerError::missing(
                "assertion",
                "send either assertion (the PublicKeyCredential JSON from the SPC dialog) or \
                 spcIncompInd",
            )),
        }
    }
}

/// The first transaction of an SPC authentication, as the second one needs it.
struct First {
    /// The ACS's id for it: the second AReq's `threeDSReqPriorRef`.
    acs_trans_id: String,
    /// Its AReq elements as the requestor sent them.
    request: serde_json::Map<String, Value>,
    pan: String,
}

/// The transaction `first`, if it was answered `S` and not continued yet.
async fn first_of(state: &ServerState, first: &str) -> Result<First, ServerError> {
    let unknown = |why: String| ServerError::unknown_transaction("threeDSServerTransID", why);
    let tx = state
        .store
        .server_transaction(first)
        .await
        .map_err(ServerError::store(RECORD))?
        .ok_or_else(|| unknown("this 3DS Server has no such transaction".into()))?;
    let acs_trans_id = tx
        .result
        .as_ref()
        .filter(|r| r.get("transStatus").and_then(Value::as_str) == Some("S"))
        .and_then(|r| r.get("acsTransID").and_then(Value::as_str))
        .ok_or_else(|| {
            unknown(
                "this transaction was not answered S (SPC); there is nothing to continue".into(),
            )
        })?
        .to_owned();
    if let Some(next) = state
        .store
        .continued_by(first)
        .await
        .map_err(ServerError::store(RECORD))?
    {
        return Err(unknown(format!(
            "this SPC authentication was already continued by {next}"
        )));
    }
    let Some(Value::Object(request)) = state
        .store
        .server_request(first)
        .await
        .map_err(ServerError::store(RECORD))?
    else {
        return Err(unknown(
            "the first request of this transaction was not kept".into(),
        ));
    };
    let pan = request
        .get("acctNumber")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            ServerError::unknown_transaction("acctNumber", "the kept request has no card")
        })?;
    Ok(First {
        acs_trans_id,
        request,
        pan,
    })
}

/// The `challengeWindowSize` of the second AReq: the one given now, else the first
/// request's, else 05 (full screen).
fn window_size(
    body: &serde_json::Map<String, Value>,
    request: &serde_json::Map<String, Value>,
) -> Result<String, ServerError> {
    match body.get("challengeWindowSize").and_then(Value::as_str) {
        Some(w) if ChallengeWindowSize::from_code(w).is_some() => Ok(w.to_owned()),
        Some(w) => Err(ServerError::format(
            "challengeWindowSize",
            format!("challengeWindowSize must be one of 01 to 05, not {w}"),
        )),
        None => Ok(request
            .get("challengeWindowSize")
            .and_then(Value::as_str)
            .unwrap_or("05")
            .to_owned()),
    }
}

/// The requestor elements of the second AReq: the first one's, without what belonged to
/// the SPC offer, plus the assertion (method 09) or `spcIncompInd`, the link to the
/// first authentication (method 05) and, when its 3DS Method completed, its id.
fn second_request(
    first_id: &str,
    first: First,
    continuation: &Continuation<'_>,
    now: &str,
) -> serde_json::Map<String, Value> {
    let mut fields = first.request;
    for name in [
        "threeDSRequestorSpcSupport",
        "payeeOrigin",
        "challengeWindowSize",
        "threeDSRequestorAuthenticationInfo",
        "spcIncompInd",
    ] {
        fields.remove(name);
    }
    match continuation {
        Continuation::Assertion(assertion) => {
            let data = match assertion {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            fields.insert(
                "threeDSRequestorAuthenticationInfo".into(),
                json!([{
                    "threeDSReqAuthMethod": "09",
                    "threeDSReqAuthTimestamp": now,
                    "threeDSReqAuthData": data,
                }]),
            );
        }
        Continuation::Incomplete(code) => {
            fields.insert("spcIncompInd".into(), json!(code));
        }
    }
    fields.insert(
        "threeDSRequestorPriorAuthenticationInfo".into(),
        json!([{
            "threeDSReqPriorRef": first.acs_trans_id,
            "threeDSReqPriorAuthMethod": "05",
            "threeDSReqPriorAuthTimestamp": now,
        }]),
    );
    if fields.get("threeDSCompInd").and_then(Value::as_str) == Some("Y") {
        fields.insert("threeDSMethodId".into(), json!(first_id));
    }
    fields
}

pub(crate) async fn second_auth(
    State(state): State<ServerState>,
    Path(first_id): Path<String>,
    body: Bytes,
) -> Result<Response, ServerError> {
    let body = parse_object(&body)?;
    let continuation = Continuation::of(&body)?;
    let first = first_of(&state, &first_id).await?;
    let pan = first.pan.clone();
    let Some((ds, _, _)) = state.find_range(&pan) else {
        return Err(ServerError::data_invalid(
            "acctNumber",
            "the card is no longer in any card range",
        ));
    };
    let version = first
        .request
        .get("messageVersion")
        .and_then(Value::as_str)
        .and_then(MessageVersion::parse)
        .unwrap_or(MessageVersion::V2_3_1);
    let window_size = window_size(&body, &first.request)?;
    let now = timestamp(state.clock.now_ms());
    let fields = second_request(&first_id, first, &continuation, &now);
    let trans_id = state.ids.trans_id();
    send_areq(
        &state,
        fields,
        &Sending {
            trans_id: trans_id.as_str(),
            pan: &pan,
            directory_server_id: &ds.directory_server_id,
            ds_url: &ds.url,
            version,
            window_size: &window_size,
            prior_trans_id: Some(&first_id),
        },
    )
    .await
}
