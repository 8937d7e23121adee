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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
use transport::{fresh_trans_id, protocol_answer};

pub use issuer::{Card, IssuerData, Outcome};
use risk::{Decision, Facts};

/// What the ACS keeps of an authentication it answered (for 3RI prior-auth checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub pan_hash: String,
    pub trans_status: String,
}

/// Everything the ACS's handlers share.
#[derive(Debug, Clone)]
pub struct AcsState {
    pub issuer: Arc<IssuerData>,
    pub keys: Arc<dyn KeyService>,
    pub reference_number: String,
    /// Authentications answered, by `acsTransID`.
    pub history: Arc<Mutex<HashMap<String, Authenticated>>>,
}

impl AcsState {
    pub fn new(issuer: IssuerData, keys: Arc<dyn KeyService>) -> AcsState {
        AcsState {
            issuer: Arc::new(issuer),
            keys,
            reference_number: "3DS_LOA_ACS_SNDBX_020100_00001".into(),
            history: Arc::new(Mutex::new(HashMap::new())),
        }
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
    let ares = answer(&state, &areq).await;
    protocol_answer(Message::ARes(Box::new(ares)).to_json())
}

/// Decides and builds the ARes for a valid AReq.
pub async fn answer(state: &AcsState, areq: &AReq) -> ARes {
    let pan = areq
        .acct_number
        .as_ref()
        .map(|p| p.expose().to_owned())
        .unwrap_or_default();
    let pan_hash = kms::envelope::pan_lookup_hash(state.keys.as_ref(), &pan)
        .await
        .unwrap_or_default();
    let prior_ok = prior_reference(areq).map(|prior| {
        state
            .history
            .lock()
            .map(|h| {
                h.get(&prior).is_some_and(|a| {
                    a.pan_hash == pan_hash && matches!(a.trans_status.as_str(), "Y" | "A")
                })
            })
            .unwrap_or(false)
    });
    let facts = Facts {
        card: state.issuer.card(&pan),
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
    let scheme = state.issuer.scheme_of(&pan);
    if let Decision::Authenticated | Decision::Attempted = decision {
        ares.eci = scheme.and_then(|s| s.eci(decision)).map(str::to_owned);
        if facts.payment {
            let issuer = scheme.map_or("default", |s| s.directory_server_id.as_str());
            let message = format!(
                "{}|{}|{}|{}",
                acs_trans_id,
                pan,
                areq.purchase_amount.as_deref().unwrap_or(""),
                decision.trans_status()
            );
            if let Ok(mac) = state
                .keys
                .mac(
                    &MacPurpose::AuthenticationValue {
                        issuer: issuer.to_owned(),
                    },
                    message.as_bytes(),
                )
                .await
            {
                // 20 bytes, as a CAVV/AAV: 28 characters of base64.
                ares.authentication_value =
                    Some(base64::engine::general_purpose::STANDARD.encode(&mac[..20]));
            }
        }
    } else if let Some(eci) = scheme.and_then(|s| s.eci(decision)) {
        ares.eci = Some(eci.to_owned());
    }
    if areq.device_channel == Some(DeviceChannel::App)
        && areq.message_version == emv3ds::MessageVersion::V2_3_1
    {
        ares.device_info_recognised_version = Some("1.7".into());
    }
    if let Ok(mut history) = state.history.lock() {
        history.insert(
            acs_trans_id.as_str().to_owned(),
            Authenticated {
                pan_hash,
                trans_status: decision.trans_status().to_owned(),
            },
        );
    }
    ares
}

/// The `threeDSReqPriorRef` of the (first) prior-authentication entry, if any.
fn prior_reference(areq: &AReq) -> Option<String> {
    areq.three_ds_requestor_prior_authentication_info
        .as_ref()
        .and_then(|p| p.as_slice().first().and_then(|i| i.prior_ref.clone()))
}
