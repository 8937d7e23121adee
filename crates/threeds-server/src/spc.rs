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

pub(crate) async fn second_auth(
    State(state): State<ServerState>,
    Path(first): Path<String>,
    body: Bytes,
) -> Result<Response, ServerError> {
    let body = parse_object(&body)?;
    let assertion = body.get("assertion");
    let incomplete = body.get("spcIncompInd").and_then(Value::as_str);
    match (assertion, incomplete) {
        (Some(Value::Object(_) | Value::String(_)), None) => {}
        (None, Some("01" | "02" | "03")) => {}
        (None, Some(code)) => {
            return Err(ServerError::format(
                "spcIncompInd",
                format!("spcIncompInd must be 01, 02 or 03, not {code}"),
            ));
        }
        _ => {
            return Err(ServerError::missing(
                "assertion",
                "send either assertion (the PublicKeyCredential JSON from the SPC dialog) or \
                 spcIncompInd",
            ));
        }
    }
    let tx = match state.store.server_transaction(&first).await {
        Ok(Some(tx)) => tx,
        Ok(None) => {
            return Err(ServerError::unknown_transaction(
                "threeDSServerTransID",
                "this 3DS Server has no such transaction",
            ));
        }
        Err(e) => return Err(ServerError::store(RECORD)(e)),
    };
    let first_ares = tx.result.as_ref();
    let acs_trans_id = first_ares
        .filter(|r| r.get("transStatus").and_then(Value::as_str) == Some("S"))
        .and_then(|r| r.get("acsTransID").and_then(Value::as_str));
    let Some(acs_trans_id) = acs_trans_id else {
        return Err(ServerError::unknown_transaction(
            "threeDSServerTransID",
            "this transaction was not answered S (SPC); there is nothing to continue",
        ));
    };
    match state.store.continued_by(&first).await {
        Ok(None) => {}
        Ok(Some(next)) => {
            return Err(ServerError::unknown_transaction(
                "threeDSServerTransID",
                format!("this SPC authentication was already continued by {next}"),
            ));
        }
        Err(e) => return Err(ServerError::store(RECORD)(e)),
    }
    let request = match state.store.server_request(&first).await {
        Ok(Some(Value::Object(request))) => request,
        Ok(_) => {
            return Err(ServerError::unknown_transaction(
                "threeDSServerTransID",
                "the first request of this transaction was not kept",
            ));
        }
        Err(e) => return Err(ServerError::store(RECORD)(e)),
    };
    let Some(pan) = request
        .get("acctNumber")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Err(ServerError::unknown_transaction(
            "acctNumber",
            "the kept request has no card",
        ));
    };
    let Some((ds, _, _)) = state.find_range(&pan) else {
        return Err(ServerError::data_invalid(
            "acctNumber",
            "the card is no longer in any card range",
        ));
    };
    let version = request
        .get("messageVersion")
        .and_then(Value::as_str)
        .and_then(MessageVersion::parse)
        .unwrap_or(MessageVersion::V2_3_1);
    let window_size = match body.get("challengeWindowSize").and_then(Value::as_str) {
        Some(w) if ChallengeWindowSize::from_code(w).is_some() => w.to_owned(),
        Some(w) => {
            return Err(ServerError::format(
                "challengeWindowSize",
                format!("challengeWindowSize must be one of 01 to 05, not {w}"),
            ));
        }
        None => request
            .get("challengeWindowSize")
            .and_then(Value::as_str)
            .unwrap_or("05")
            .to_owned(),
    };

    let mut fields = request;
    for name in [
        "threeDSRequestorSpcSupport",
        "payeeOrigin",
        "challengeWindowSize",
        "threeDSRequestorAuthenticationInfo",
        "spcIncompInd",
    ] {
        fields.remove(name);
    }
    let now = timestamp(state.clock.now_ms());
    match (assertion, incomplete) {
        (Some(assertion), _) => {
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
        (None, Some(code)) => {
            fields.insert("spcIncompInd".into(), json!(code));
        }
        (None, None) => {}
    }
    fields.insert(
        "threeDSRequestorPriorAuthenticationInfo".into(),
        json!([{
            "threeDSReqPriorRef": acs_trans_id,
            "threeDSReqPriorAuthMethod": "05",
            "threeDSReqPriorAuthTimestamp": now,
        }]),
    );
    if fields.get("threeDSCompInd").and_then(Value::as_str) == Some("Y") {
        fields.insert("threeDSMethodId".into(), json!(first));
    }
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
            prior_trans_id: Some(&first),
        },
    )
    .await
}
