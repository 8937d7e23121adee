//! The issuer's Access Control Server.
//!
//! It owns the issuer's data (cards and what each does), decides an authentication
//! (`risk`, pure), proves it (`authenticationValue` under the issuer's key from the key
//! service, ECI by scheme), and answers AReqs from the DS on its mTLS endpoint. This
//! version decides frictionless outcomes (Y, A, N, R, U) for browser, app and 3RI
//! requests; challenges, decoupled and SPC come with later work.
//!
//! `app(state)` builds the router; serving it is the caller's (see `transport::serve`).

pub mod issuer;
pub mod risk;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use base64::Engine;
use emv3ds::codes::{DeviceChannel, MessageCategory};
use emv3ds::messages::{AReq, ARes};
use emv3ds::{Context, Message, Role, Validator};
use kms::{KeyService, MacPurpose};
use store::{AcsTransaction, Store};
use transport::{fresh_trans_id, protocol_answer};

pub use issuer::{Card, IssuerData, Outcome};
use risk::{Decision, Facts};

/// Everything the ACS's handlers share.
#[derive(Debug, Clone)]
pub struct AcsState {
    pub issuer: Arc<IssuerData>,
    pub keys: Arc<dyn KeyService>,
    pub reference_number: String,
    /// The issuer's cards and the authentications answered.
    pub store: Store,
}

impl AcsState {
    /// The ACS's state, with the issuer's cards written to the store (a card already
    /// there takes the outcome the issuer data gives it now).
    pub async fn new(
        issuer: IssuerData,
        keys: Arc<dyn KeyService>,
        store: Store,
    ) -> Result<AcsState, store::StoreError> {
        for card in &issuer.cards {
            store
                .upsert_card(&card.pan, card.outcome.name(), &card.description)
                .await?;
        }
        Ok(AcsState {
            issuer: Arc::new(issuer),
            keys,
            reference_number: "3DS_LOA_ACS_SNDBX_020100_00001".into(),
            store,
        })
    }
}

/// The ACS's router: `POST /areq` (DS-facing, behind mutual TLS).
pub fn app(state: AcsState) -> Router {
    Router::new().route("/areq", post(areq)).with_state(state)
}

async fn areq(State(state): State<AcsState>, body: Bytes) -> Response {
    let validator = Validator::new(Role::Acs);
    let areq = match validator.validate(&body, &Context::default()) {
        Ok(valid) => match valid.message {
            Message::AReq(areq) => areq,
            other => {
                let erro = validator.reject(
                    emv3ds::ErrorCode::MessageInvalid,
                    "messageType",
                    &format!(
                        "this endpoint takes AReq messages, not {}",
                        other.message_type()
                    ),
                    Some(&other),
                );
                return protocol_answer(erro.to_json());
            }
        },
        Err(erro) => return protocol_answer(erro.to_json()),
    };
    match answer(&state, &areq).await {
        Ok(ares) => protocol_answer(Message::ARes(Box::new(ares)).to_json()),
        Err(why) => {
            let about = Message::AReq(areq);
            protocol_answer(
                validator
                    .reject(
                        emv3ds::ErrorCode::TransientSystemFailure,
                        "",
                        &format!("the ACS could not record the authentication: {why}"),
                        Some(&about),
                    )
                    .to_json(),
            )
        }
    }
}

/// Decides and builds the ARes for a valid AReq, and records it. An ARes that cannot be
/// recorded is not sent: the ACS answers `Erro` 403 instead, so no authentication is
/// given that the ACS would later not know about.
pub async fn answer(state: &AcsState, areq: &AReq) -> Result<ARes, String> {
    let pan = areq.acct_number.as_ref().map_or("", |p| p.expose());
    let pan_hash = state.store.pan_hash(pan).await.map_err(|e| e.to_string())?;
    let prior_ok = match prior_reference(areq) {
        None => None,
        Some(prior) => Some(
            state
                .store
                .acs_transaction(&prior)
                .await
                .map_err(|e| e.to_string())?
                .is_some_and(|(t, hash)| {
                    hash == pan_hash && matches!(t.trans_status.as_str(), "Y" | "A")
                }),
        ),
    };
    let card = state
        .store
        .card_by_hash(&pan_hash)
        .await
        .map_err(|e| e.to_string())?
        .and_then(|c| Outcome::from_name(&c.outcome));
    let facts = Facts {
        card,
        three_ri: areq.device_channel == Some(DeviceChannel::ThreeRi),
        payment: areq.message_category == Some(MessageCategory::Payment),
        prior_authentication_ok: prior_ok,
        amount_minor: areq.purchase_amount.as_deref().and_then(|a| a.parse().ok()),
    };
    let decision = risk::decide(&facts, &state.issuer.rules);

    let acs_trans_id = fresh_trans_id();
    let mut ares = ARes::new(areq.message_version);
    ares.three_ds_server_trans_id = areq.three_ds_server_trans_id.clone();
    ares.acs_trans_id = Some(acs_trans_id.clone());
    ares.ds_trans_id = areq.ds_trans_id.clone();
    ares.sdk_trans_id = areq.sdk_trans_id.clone();
    ares.acs_reference_number = Some(state.reference_number.clone());
    ares.ds_reference_number = areq.ds_reference_number.clone();
    ares.trans_status = emv3ds::codes::TransStatus::from_code(decision.trans_status());
    if facts.payment {
        ares.trans_status_reason = decision
            .reason()
            .and_then(emv3ds::codes::TransStatusReason::from_code);
    }
    let scheme = state.issuer.scheme_of(pan);
    if let Decision::Authenticated | Decision::Attempted = decision {
        ares.eci = scheme.and_then(|s| s.eci(decision)).map(str::to_owned);
        if facts.payment {
            ares.authentication_value = Some(
                authentication_value(state, scheme, &acs_trans_id, pan, areq, decision).await?,
            );
        }
    } else if let Some(eci) = scheme.and_then(|s| s.eci(decision)) {
        ares.eci = Some(eci.to_owned());
    }
    if areq.device_channel == Some(DeviceChannel::App)
        && areq.message_version == emv3ds::MessageVersion::V2_3_1
    {
        ares.device_info_recognised_version = Some("1.7".into());
    }
    let card = state
        .store
        .seal("acs_transactions", acs_trans_id.as_str(), pan, pan_hash)
        .await
        .map_err(|e| e.to_string())?;
    let code = |c: Option<String>| c.unwrap_or_default();
    let record = AcsTransaction {
        acs_trans_id: acs_trans_id.as_str().to_owned(),
        ds_trans_id: areq.ds_trans_id.as_ref().map(|t| t.as_str().to_owned()),
        three_ds_server_trans_id: areq
            .three_ds_server_trans_id
            .as_ref()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        message_version: areq.message_version.to_string(),
        device_channel: code(areq.device_channel.map(|c| c.as_str().to_owned())),
        message_category: code(areq.message_category.map(|c| c.as_str().to_owned())),
        trans_status: decision.trans_status().to_owned(),
        trans_status_reason: ares
            .trans_status_reason
            .as_ref()
            .map(|r| r.as_str().to_owned()),
        eci: ares.eci.clone(),
    };
    state
        .store
        .insert_acs_transaction(&record, &card)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ares)
}

/// The `authenticationValue`: an HMAC under the issuer's key over the transaction, the
/// card, the amount and the outcome; 20 bytes as a CAVV/AAV, 28 characters of base64.
async fn authentication_value(
    state: &AcsState,
    scheme: Option<&issuer::Scheme>,
    acs_trans_id: &emv3ds::values::TransId,
    pan: &str,
    areq: &AReq,
    decision: Decision,
) -> Result<String, String> {
    let issuer = scheme.map_or("default", |s| s.directory_server_id.as_str());
    let message = format!(
        "{}|{}|{}|{}",
        acs_trans_id,
        pan,
        areq.purchase_amount.as_deref().unwrap_or(""),
        decision.trans_status()
    );
    let mac = state
        .keys
        .mac(
            &MacPurpose::AuthenticationValue {
                issuer: issuer.to_owned(),
            },
            message.as_bytes(),
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(base64::engine::general_purpose::STANDARD.encode(&mac[..20]))
}

/// The `threeDSReqPriorRef` of the (first) prior-authentication entry, if any.
fn prior_reference(areq: &AReq) -> Option<String> {
    areq.three_ds_requestor_prior_authentication_info
        .as_ref()
        .and_then(|p| p.as_slice().first().and_then(|i| i.prior_ref.clone()))
}
