//! `POST /rreq`: results of challenges and decoupled authentications, from the DS.
//!
//! The RReq must name a transaction this 3DS Server sent (301 otherwise) whose ARes
//! left the result open (`C` or `D`; 305 otherwise, as an RReq cannot overwrite a final
//! result) with the same `acsTransID` and `dsTransID` (301). It is recorded as the final
//! result before the RRes is sent, so postauth shows it as soon as the ACS knows it was
//! delivered. Only the DS that handled the transaction may deliver it (its TLS client
//! certificate, `DsPeer::identity`): any other caller is refused with HTTP 403 and
//! `Erro` 303 before anything is recorded.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use emv3ds::codes::{ChallengeCancel, ResultsStatus};
use emv3ds::messages::{RReq, RRes};
use emv3ds::{Context, ErrorCode, Message, Role, Validator};
use serde_json::Value;
use store::{Source, Status};
use transport::{Peer, protocol_answer, protocol_refusal as refuse};

use crate::ServerState;
use crate::error::ServerError;

pub(crate) async fn rreq(
    State(state): State<ServerState>,
    peer: Option<Extension<Peer>>,
    body: Bytes,
) -> Response {
    let validator = Validator::new(Role::ThreeDsServer);
    let rreq = match validator.validate(&body, &Context::default()) {
        Ok(valid) => match valid.message {
            Message::RReq(rreq) => rreq,
            other => {
                let why = format!(
                    "this endpoint takes RReq messages, not {}",
                    other.message_type()
                );
                return refuse(
                    &validator,
                    ErrorCode::MessageInvalid,
                    "messageType",
                    &why,
                    &other,
                );
            }
        },
        Err(erro) => return protocol_answer(erro.to_json()),
    };
    let about = Message::RReq(rreq.clone());
    let peer = peer.map(|Extension(p)| p);
    match check_and_record(&state, &rreq, &about, peer.as_ref()).await {
        Ok(()) => protocol_answer(Message::RRes(results_response(&rreq)).to_json()),
        Err(e) => {
            if matches!(e, ServerError::Store { .. }) {
                tracing::warn!("{e}");
            }
            let mut answer = refuse(
                &validator,
                e.error_code(),
                &e.detail(),
                &e.to_string(),
                &about,
            );
            // A caller refused is refused as the access layer refuses (403), not as
            // a message that failed.
            if matches!(e, ServerError::Caller(_)) {
                *answer.status_mut() = e.status();
            }
            answer
        }
    }
}

const RECORD: &str = "read or record the transaction";

async fn check_and_record(
    state: &ServerState,
    rreq: &RReq,
    about: &Message,
    peer: Option<&Peer>,
) -> Result<(), ServerError> {
    let id = rreq
        .three_ds_server_trans_id
        .as_ref()
        .map_or("", |t| t.as_str());
    let Some(tx) = state
        .store
        .server_transaction(id)
        .await
        .map_err(ServerError::store(RECORD))?
    else {
        return Err(ServerError::unknown_transaction(
            "threeDSServerTransID",
            "this 3DS Server sent no AReq with this threeDSServerTransID",
        ));
    };
    // Only the DS this transaction's AReq went to may deliver its result.
    let handled_by = state
        .config
        .directory_servers
        .iter()
        .find(|ds| ds.directory_server_id == tx.directory_server_id);
    let from_that_ds = handled_by.map(|ds| {
        transport::access::Callers::new(
            &format!("the DS {} for this transaction", ds.directory_server_id),
            [ds.identity.clone()],
        )
    });
    if let Err(why) = from_that_ds.map_or_else(
        || Err(transport::access::Refused::PartyGone { party: "DS" }),
        |callers| callers.admit(peer),
    ) {
        return Err(ServerError::Caller(why));
    }
    let ares = tx
        .result
        .as_ref()
        .filter(|_| tx.source == Some(Source::ARes));
    let ares_says = |name: &str| ares.and_then(|a| a.get(name)).and_then(Value::as_str);
    let rreq_id = |t: &Option<emv3ds::values::TransId>| t.as_ref().map(|t| t.as_str().to_owned());
    let mut mismatched = Vec::new();
    if ares_says("acsTransID").map(str::to_owned) != rreq_id(&rreq.acs_trans_id) {
        mismatched.push("acsTransID");
    }
    if ares_says("dsTransID").map(str::to_owned) != rreq_id(&rreq.ds_trans_id) {
        mismatched.push("dsTransID");
    }
    if ares.is_some() && !mismatched.is_empty() {
        return Err(ServerError::unknown_transaction(
            &mismatched.join(","),
            "the transaction ids do not match the ARes of this transaction",
        ));
    }
    if tx.status == Status::Final || !matches!(ares_says("transStatus"), Some("C" | "D")) {
        return Err(ServerError::data_invalid(
            "transStatus",
            "no result is awaited for this transaction: its ARes was final or it has a result",
        ));
    }
    // The core's writer always writes JSON; a failure here is the 3DS Server's bug.
    let json: Value =
        serde_json::from_slice(&about.to_json()).map_err(|_| ServerError::Invalid {
            message: "RReq record",
            code: ErrorCode::PermanentSystemFailure,
            detail: String::new(),
        })?;
    state
        .store
        .record_server_result(id, Status::Final, Source::RReq, &json)
        .await
        .map_err(ServerError::store(RECORD))?;
    Ok(())
}

/// The RRes for an accepted RReq: `02` when the ACS reports the challenge was never
/// started (challengeCancel 05, timeout before the first CReq), `01` otherwise.
fn results_response(rreq: &RReq) -> RRes {
    let mut rres = RRes::new(rreq.message_version);
    rres.three_ds_server_trans_id = rreq.three_ds_server_trans_id.clone();
    rres.acs_trans_id = rreq.acs_trans_id.clone();
    rres.ds_trans_id = rreq.ds_trans_id.clone();
    rres.sdk_trans_id = rreq.sdk_trans_id.clone();
    rres.results_status = Some(
        if rreq.challenge_cancel == Some(ChallengeCancel::TimeoutFirstCReq) {
            ResultsStatus::CReqNotSent
        } else {
            ResultsStatus::Received
        },
    );
    rres
}
