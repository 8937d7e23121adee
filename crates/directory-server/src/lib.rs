//! A card scheme's Directory Server.
//!
//! One endpoint (`POST /`) takes every message a DS receives. A PReq is answered from
//! the card-range registry (`emv3ds::card_ranges`); an AReq is validated, routed by card
//! range to its ACS with `dsTransID`, `dsReferenceNumber` and `dsURL` added, and the ARes
//! validated against that AReq before it goes back. Every failure path answers with an
//! `Erro` from component D: invalid messages (101–204), a PAN in no range (305), an ACS
//! that does not answer in time (402) or cannot be reached (405), an invalid ARes.
//!
//! `app(state)` builds the router; serving it over mutual TLS is the caller's
//! (`transport::serve`).

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use emv3ds::card_ranges::{RangeEntry, Registry};
use emv3ds::{Context, ErrorCode, Message, MessageVersion, RequestFacts, Role, Validator};
use transport::{fresh_trans_id, protocol_answer};

/// A card range and where its ACS is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcsRoute {
    pub range: RangeEntry,
    /// The ACS's AReq endpoint.
    pub acs_url: String,
}

/// The DS's configuration.
#[derive(Debug, Clone)]
pub struct DsConfig {
    pub directory_server_id: String,
    pub reference_number: String,
    /// Where ACSs send RReq messages (our own URL), sent as `dsURL`.
    pub url: String,
    pub versions: Vec<MessageVersion>,
    pub routes: Vec<AcsRoute>,
}

/// Everything the DS's handlers share.
#[derive(Debug, Clone)]
pub struct DsState {
    config: Arc<DsConfig>,
    registry: Arc<RwLock<Registry>>,
    /// Client to ACSs (the DS's TLS identity).
    acs_client: transport::Client,
}

impl DsState {
    pub fn new(config: DsConfig, acs_client: transport::Client) -> Result<DsState, String> {
        let registry = Registry::new(config.routes.iter().map(|r| r.range.clone()).collect())
            .map_err(|e| format!("card ranges: {e}"))?;
        Ok(DsState {
            config: Arc::new(config),
            registry: Arc::new(RwLock::new(registry)),
            acs_client,
        })
    }
}

/// The DS's router.
pub fn app(state: DsState) -> Router {
    Router::new().route("/", post(receive)).with_state(state)
}

async fn receive(State(state): State<DsState>, body: Bytes) -> Response {
    let validator = Validator::new(Role::DirectoryServer);
    let message = match validator.validate(&body, &Context::default()) {
        Ok(valid) => valid.message,
        Err(erro) => return protocol_answer(erro.to_json()),
    };
    match message {
        Message::PReq(preq) => {
            let answer = match state.registry.read() {
                Ok(registry) => registry.answer(&preq, fresh_trans_id(), &state.config.versions),
                Err(_) => {
                    let about = Message::PReq(preq);
                    let erro = validator.reject(
                        ErrorCode::TransientSystemFailure,
                        "cardRangeData",
                        "the card range registry is unavailable",
                        Some(&about),
                    );
                    return protocol_answer(erro.to_json());
                }
            };
            match answer {
                Ok(pres) => protocol_answer(Message::PRes(pres).to_json()),
                Err(e) => protocol_answer(
                    validator
                        .reject(e.code, &e.detail, &e.why, Some(&Message::PReq(preq)))
                        .to_json(),
                ),
            }
        }
        Message::AReq(areq) => route_areq(&state, &validator, *areq).await,
        other => protocol_answer(
            validator
                .reject(
                    ErrorCode::MessageInvalid,
                    "messageType",
                    &format!("{} is not handled by this DS yet", other.message_type()),
                    Some(&other),
                )
                .to_json(),
        ),
    }
}

async fn route_areq(state: &DsState, validator: &Validator, mut areq: emv3ds::AReq) -> Response {
    let pan = areq
        .acct_number
        .as_ref()
        .map(|p| p.expose().to_owned())
        .unwrap_or_default();
    let route = state.config.routes.iter().find(|r| {
        emv3ds::card_ranges::PanRange::new(&r.range.start_range, &r.range.end_range)
            .is_some_and(|range| range.contains(&pan))
    });
    let Some(route) = route else {
        // Decision: a PAN in no card range is 305 (transaction data not valid), as
        // 3dsecure.io answers for an unknown BIN.
        let about = Message::AReq(Box::new(areq));
        return protocol_answer(
            validator
                .reject(
                    ErrorCode::TransactionDataInvalid,
                    "acctNumber",
                    "the card number is in no card range of this DS",
                    Some(&about),
                )
                .to_json(),
        );
    };
    areq.ds_trans_id = Some(fresh_trans_id());
    areq.ds_reference_number = Some(state.config.reference_number.clone());
    areq.ds_url = Some(state.config.url.clone());
    let forwarded = Message::AReq(Box::new(areq));
    let facts = RequestFacts::of(&forwarded);
    let reply = match state
        .acs_client
        .post_json(&route.acs_url, forwarded.to_json())
        .await
    {
        Ok(reply) => reply,
        Err(e) => {
            return protocol_answer(
                validator
                    .reject(
                        e.erro_code(),
                        "",
                        &format!("the ACS did not answer: {e}"),
                        Some(&forwarded),
                    )
                    .to_json(),
            );
        }
    };
    if reply.status != 200 {
        return protocol_answer(
            validator
                .reject(
                    ErrorCode::TransientSystemFailure,
                    "",
                    &format!("the ACS answered HTTP {}", reply.status),
                    Some(&forwarded),
                )
                .to_json(),
        );
    }
    // The ACS's answer is an ARes (or an Erro) for this AReq; anything else is refused.
    let ctx = Context {
        request: Some(&facts),
        channel: None,
    };
    match validator.validate(&reply.body, &ctx) {
        Ok(valid) => match &valid.message {
            Message::ARes(_) | Message::Erro(_) => protocol_answer(valid.message.to_json()),
            other => protocol_answer(
                validator
                    .reject(
                        ErrorCode::MessageInvalid,
                        "messageType",
                        &format!("the ACS answered the AReq with a {}", other.message_type()),
                        Some(&forwarded),
                    )
                    .to_json(),
            ),
        },
        Err(erro) => {
            let mut erro = *erro;
            erro.error_description =
                format!("the ACS's ARes is invalid: {}", erro.error_description);
            protocol_answer(Message::Erro(erro).to_json())
        }
    }
}
