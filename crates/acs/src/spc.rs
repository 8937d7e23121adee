//! Secure Payment Confirmation at the ACS (2.3.1, browser channel; `docs/protocol.md` §8). The
//! ACS is the WebAuthn relying party: the rpId is its site's host (`acs.localhost`).
//!
//! - [`assess`]: where SPC stands for an AReq. For an `spc` card with a registered
//!   credential: `S` when the requestor supports SPC, else the challenge page offers
//!   it (ACS-initiated). For a second AReq (`threeDSReqAuthMethod` 09 or
//!   `spcIncompInd`, linked by `threeDSReqPriorRef` to the ARes `S`): the assertion is
//!   checked (`spc::Assertion::verify`) against the single-use confirmation issued with
//!   that ARes, and what the check found is recorded with it (`spc_offers.result`).
//! - [`issue`]: what the cardholder is asked to confirm (`spcTransData`,
//!   `webAuthnCredList`, or the challenge page's `PaymentRequest`).
//! - [`confirm_in_challenge`], [`register`]: the challenge page's assertion, and the
//!   registration offered after a successful challenge.
//! - [`list_credentials`], [`delete_credential`]: the issuer's view of a card's
//!   credentials (`POST /issuer/spc-credentials`, `DELETE
//!   /issuer/spc-credentials/{id}`, served behind the sandbox's admin endpoint); [`confirmation`]: what the ACS issued
//!   for one transaction and what the check of its assertion found, with the precise
//!   reason of a refusal (`GET /issuer/spc-confirmations/{acsTransID}`).
//!
//! Decision (`docs/protocol.md` §8.4 leaves the outcome open): an assertion that shows it was
//! not made for this transaction (signature, challenge used or wrong, amount,
//! instrument, payee, origins, rpId, counter) gives `N`, reason 09 (security failure);
//! one that is simply not usable (SPC not completed, a credential that is not the
//! card's, no user presence or verification, malformed) falls back to an OTP challenge;
//! a second AReq naming no confirmation this ACS issued for the card gives `N`, reason
//! 07 (invalid transaction).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use emv3ds::codes::{DeviceChannel, PriorAuthMethod, RequestorAuthMethod};
use emv3ds::messages::{AReq, SpcTransData, WebAuthnCredentials};
use serde_json::{Value, json};
use spc::{Assertion, Credential, Failure, Issued};
use transport::html;

use crate::AcsError;
use crate::AcsState;
use crate::challenge::{Answer, Challenge, EnrolmentState};
use crate::issuer::{self, Outcome};
use crate::risk;

/// The card picture the SPC dialog shows (a 40×25 PNG).
pub const CARD_ICON: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAACgAAAAZCAIAAADMuvsyAAAAOElEQVR42mPgjlk9IIhh1GK6WSyiaDsgaNTiEWDxaD4etXh4W/zhRAAuNGrxMLF4NDuNWjwsLAYAcojUFuTRFoIAAAAASUVORK5CYII=";

/// How long the SPC dialog may stay open.
const TIMEOUT_MS: u64 = 60_000;

/// The relying party id: the host of the ACS's site.
pub fn rp_id(state: &AcsState) -> String {
    html::host(&state.site_url).unwrap_or_else(|| "acs.localhost".into())
}

fn site_origin(state: &AcsState) -> String {
    html::origin(&state.site_url).unwrap_or_default()
}

/// The record of `credential` for the store.
fn to_store(credential: Credential, rp_id: String) -> store::SpcCredential {
    store::SpcCredential {
        credential_id: credential.id,
        rp_id,
        algorithm: credential.algorithm.name().into(),
        public_key: credential.public_key,
        sign_count: credential.sign_count,
        created_at: 0,
        last_used_at: None,
    }
}

/// What [`assess`] found.
#[derive(Debug, Default)]
pub(crate) struct Assessment {
    pub spc: risk::Spc,
    /// The card's credentials (base64url ids), for an `S` or an ACS-initiated offer.
    pub credentials: Vec<String>,
}

/// Where SPC stands for `areq` (card `pan_hash`, whose issuer outcome is `card`).
pub(crate) async fn assess(
    state: &AcsState,
    areq: &AReq,
    pan_hash: &str,
    card: Option<Outcome>,
) -> Result<Assessment, AcsError> {
    if card != Some(Outcome::Spc)
        || areq.message_version != emv3ds::MessageVersion::V2_3_1
        || areq.device_channel != Some(DeviceChannel::Browser)
    {
        return Ok(Assessment::default());
    }
    if let Some(second) = second_authentication(areq) {
        return Ok(Assessment {
            spc: check_second(state, pan_hash, second).await?,
            credentials: Vec::new(),
        });
    }
    let rp_id = rp_id(state);
    let credentials: Vec<String> = state
        .store
        .spc_credentials(pan_hash)
        .await?
        .into_iter()
        .filter(|c| c.rp_id == rp_id)
        .map(|c| c.credential_id)
        .take(10)
        .collect();
    let supported = areq.three_ds_requestor_spc_support.as_deref() == Some("Y")
        && areq.payee_origin.is_some()
        && amount(areq).is_some();
    let spc = if supported && !credentials.is_empty() {
        risk::Spc::RequestorMayConfirm
    } else {
        risk::Spc::None
    };
    Ok(Assessment { spc, credentials })
}

/// A second authentication after an ARes `S`.
struct Second<'a> {
    /// The acsTransID of the ARes `S`.
    prior: Option<String>,
    /// The assertion (`threeDSReqAuthData` of method 09), or none with `spcIncompInd`.
    assertion: Option<&'a str>,
    incomplete: Option<&'a str>,
}

fn second_authentication(areq: &AReq) -> Option<Second<'_>> {
    let assertion = areq
        .three_ds_requestor_authentication_info
        .as_ref()
        .and_then(|info| {
            info.as_slice()
                .iter()
                .find(|i| i.method == Some(RequestorAuthMethod::Spc))
        })
        .map(|i| i.data.as_deref().unwrap_or(""));
    let incomplete = areq.spc_incomp_ind.as_ref().map(|c| c.as_str());
    if assertion.is_none() && incomplete.is_none() {
        return None;
    }
    let prior = areq
        .three_ds_requestor_prior_authentication_info
        .as_ref()
        .and_then(|p| {
            p.as_slice()
                .iter()
                .find(|i| i.method == Some(PriorAuthMethod::Spc))
                .and_then(|i| i.prior_ref.clone())
        });
    Some(Second {
        prior,
        assertion,
        incomplete,
    })
}

/// What the failure means for the authentication.
fn disposition(failure: &Failure) -> risk::Spc {
    match failure {
        Failure::UnknownCredential
        | Failure::UserNotPresent
        | Failure::UserNotVerified
        | Failure::Malformed { .. } => risk::Spc::FallBack,
        _ => risk::Spc::Refused { reason: "09" },
    }
}

fn found(failure: &Failure) -> Value {
    json!({ "verified": false, "reason": failure.code(), "detail": failure.to_string() })
}

async fn check_second(
    state: &AcsState,
    pan_hash: &str,
    second: Second<'_>,
) -> Result<risk::Spc, AcsError> {
    let refused = risk::Spc::Refused { reason: "07" };
    let Some(prior) = second.prior else {
        return Ok(refused);
    };
    let Some(offer) = state
        .store
        .spc_offer(&prior)
        .await?
        .filter(|o| o.pan_hash == pan_hash)
    else {
        return Ok(refused);
    };
    let Some(text) = second.assertion else {
        let incomplete = second.incomplete.unwrap_or("01");
        let result =
            json!({ "verified": false, "reason": "spc-incomplete", "spcIncompInd": incomplete });
        state.store.use_spc_offer(&prior, &result).await?;
        return Ok(risk::Spc::FallBack);
    };
    let mut issued: Issued = serde_json::from_value(offer.issued)
        .map_err(|e| AcsError::unreadable(format!("the SPC offer {prior}"), e))?;
    issued.used = offer.used;
    let checked = verify(state, pan_hash, &issued, &Value::String(text.to_owned())).await?;
    let result = match &checked {
        Ok(()) => json!({ "verified": true }),
        Err(failure) => found(failure),
    };
    let first_use = state.store.use_spc_offer(&prior, &result).await?;
    Ok(match checked {
        Ok(()) if first_use => risk::Spc::Confirmed,
        Ok(()) => disposition(&Failure::ChallengeAlreadyUsed),
        Err(failure) => disposition(&failure),
    })
}

/// Checks `assertion` against `issued` and the card's stored credential, and moves the
/// credential's counter on when it verifies. `Err`: the ACS failed.
async fn verify(
    state: &AcsState,
    pan_hash: &str,
    issued: &Issued,
    assertion: &Value,
) -> Result<Result<(), Failure>, AcsError> {
    let assertion = match Assertion::parse(assertion) {
        Ok(a) => a,
        Err(failure) => return Ok(Err(failure)),
    };
    let stored = state.store.spc_credential(&assertion.credential_id).await?;
    let Some((stored, _)) =
        stored.filter(|(c, owner)| owner == pan_hash && c.rp_id == issued.rp_id)
    else {
        return Ok(Err(Failure::UnknownCredential));
    };
    let Some(algorithm) = spc::Algorithm::from_name(&stored.algorithm) else {
        return Ok(Err(Failure::UnknownCredential));
    };
    let credential = Credential {
        id: stored.credential_id.clone(),
        algorithm,
        public_key: stored.public_key.clone(),
        sign_count: stored.sign_count,
    };
    let verified = match assertion.verify(issued, &credential) {
        Ok(v) => v,
        Err(failure) => return Ok(Err(failure)),
    };
    let moved = state
        .store
        .use_spc_credential(
            &verified.credential_id,
            stored.sign_count,
            verified.sign_count,
        )
        .await?;
    if !moved {
        // Another assertion of this credential was accepted meanwhile.
        return Ok(Err(Failure::SignCountWentBack {
            stored: stored.sign_count,
            found: verified.sign_count,
        }));
    }
    Ok(Ok(()))
}

fn amount(areq: &AReq) -> Option<(String, &'static str)> {
    issuer::spc_amount(
        areq.purchase_amount.as_deref(),
        areq.purchase_currency.as_deref(),
        areq.purchase_exponent.as_deref(),
    )
}

/// What the cardholder is asked to confirm: for `S` (the requestor's page calls SPC,
/// at top level, from `payeeOrigin`), or for the challenge page (the ACS's frame calls
/// it under the merchant's page). `None` when the amount cannot be shown.
pub(crate) fn issue(
    state: &AcsState,
    areq: &AReq,
    pan: &str,
    credentials: Vec<String>,
    requestor_initiated: bool,
) -> Option<Issued> {
    let (value, currency) = amount(areq)?;
    let last4 = pan.get(pan.len().saturating_sub(4)..).unwrap_or("");
    let merchant = areq
        .merchant_name
        .as_deref()
        .map(|n| n.chars().take(40).collect::<String>());
    let (payee_origin, origins, top_origins) = if requestor_initiated {
        let payee = areq.payee_origin.clone()?;
        (Some(payee.clone()), vec![payee.clone()], vec![payee])
    } else {
        let merchant = areq.notification_url.as_deref().and_then(html::origin);
        let site = site_origin(state);
        let mut tops: Vec<String> = merchant.iter().cloned().collect();
        tops.push(site.clone());
        (merchant, vec![site], tops)
    };
    Some(Issued {
        rp_id: rp_id(state),
        challenge: spc::fresh_challenge(),
        credential_ids: credentials,
        payee_name: merchant,
        payee_origin,
        display_name: format!("Sandbox Bank card •••• {last4}"),
        icon: CARD_ICON.to_owned(),
        value,
        currency: currency.to_owned(),
        timeout_ms: TIMEOUT_MS,
        origins,
        top_origins,
        used: false,
    })
}

/// The ARes `S` elements for `issued`.
pub(crate) fn ares_elements(issued: &Issued) -> (SpcTransData, Vec<WebAuthnCredentials>) {
    (
        SpcTransData {
            challenge: Some(issued.challenge.clone()),
            timeout: Some(issued.timeout_ms),
            payee_origin: issued.payee_origin.clone(),
            payee_name: issued.payee_name.clone(),
            display_name: Some(issued.display_name.clone()),
            icon: Some(issued.icon.clone()),
            value: Some(issued.value.clone()),
            currency: Some(issued.currency.clone()),
        },
        vec![WebAuthnCredentials {
            credential_ids: Some(issued.credential_ids.clone()),
            rp_id: Some(issued.rp_id.clone()),
        }],
    )
}

/// The card of a challenge's transaction (its keyed hash).
async fn card_of(state: &AcsState, acs_trans_id: &str) -> Result<Option<String>, AcsError> {
    Ok(state
        .store
        .acs_transaction(acs_trans_id)
        .await?
        .map(|(_, hash)| hash))
}

/// The challenge page's assertion (ACS-initiated): the answer it stands for.
pub(crate) async fn confirm_in_challenge(
    state: &AcsState,
    challenge: &Challenge,
    assertion: &str,
) -> Result<Answer, AcsError> {
    let Some(step) = challenge.spc.as_ref().filter(|_| challenge.spc_open()) else {
        return Ok(Answer::SpcFailed(
            Failure::ChallengeAlreadyUsed.code().into(),
        ));
    };
    let Some(pan_hash) = card_of(state, challenge.acs_trans_id.as_str()).await? else {
        return Ok(Answer::SpcFailed(Failure::UnknownCredential.code().into()));
    };
    let json = serde_json::from_str::<Value>(assertion).unwrap_or(Value::Null);
    let checked = verify(state, &pan_hash, &step.issued, &json).await?;
    let (label, findings) = match &checked {
        Ok(()) => ("SPC assertion verified".to_owned(), Vec::new()),
        Err(failure) => (
            format!("SPC assertion refused: {}", failure.code()),
            vec![failure.to_string()],
        ),
    };
    crate::note(state, challenge, label, findings);
    Ok(match checked {
        Ok(()) => Answer::SpcConfirmed,
        Err(failure) => Answer::SpcFailed(failure.code().into()),
    })
}

/// Why a registration was not taken.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotRegistered {
    /// What the page sent is refused (the cardholder's side; HTTP 400).
    #[error("{0}")]
    Refused(String),
    /// The ACS failed.
    #[error(transparent)]
    Failed(#[from] AcsError),
}

/// Registers the credential the enrolment page created (JSON body). The caller saves
/// the challenge (its enrolment is then `Registered`).
pub(crate) async fn register(
    state: &AcsState,
    challenge: &mut Challenge,
    body: &[u8],
) -> Result<String, NotRegistered> {
    let refused = |why: &str| NotRegistered::Refused(why.to_owned());
    if !challenge.offers_enrolment() {
        return Err(refused("this payment offers no registration (any more)"));
    }
    let Some(enrolment) = challenge.enrolment.as_mut() else {
        return Err(refused("this payment offers no registration"));
    };
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return Err(refused("the registration is not JSON"));
    };
    let expected = spc::RegistrationExpected {
        rp_id: rp_id(state),
        challenge: enrolment.challenge.clone(),
        origin: site_origin(state),
    };
    let credential = spc::verify::verify_registration(&json, &expected)
        .map_err(|failure| NotRegistered::Refused(failure.to_string()))?;
    let Some(pan_hash) = card_of(state, challenge.acs_trans_id.as_str()).await? else {
        return Err(refused("this payment's card is unknown"));
    };
    let id = credential.id.clone();
    let stored = to_store(credential, expected.rp_id);
    if !state
        .store
        .add_spc_credential(&pan_hash, &stored)
        .await
        .map_err(AcsError::from)?
    {
        return Err(refused("this credential is registered for another card"));
    }
    enrolment.state = EnrolmentState::Registered;
    Ok(id)
}

/// Registers the shipped test authenticator's credential for the cards configured
/// with it (`spc_test_credential`), so headless flows can confirm at once. A credential
/// id belongs to one card: with several such cards, the first one has it.
pub async fn enrol_test_credentials(state: &AcsState) -> Result<(), store::StoreError> {
    for card in state.issuer.cards.iter().filter(|c| c.spc_test_credential) {
        let credential =
            spc::software::SoftwareAuthenticator::test_key(&rp_id(state), &card.pan).credential();
        // Already there (a restart): keep its counter.
        if state.store.spc_credential(&credential.id).await?.is_some() {
            continue;
        }
        let pan_hash = state.store.pan_hash(&card.pan).await?;
        state
            .store
            .add_spc_credential(&pan_hash, &to_store(credential, rp_id(state)))
            .await?;
    }
    Ok(())
}

fn bad_request(why: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": why }))).into_response()
}

/// `POST /issuer/spc-credentials` `{"acctNumber"}`: the card's credentials.
pub(crate) async fn list_credentials(State(state): State<AcsState>, body: Bytes) -> Response {
    let pan = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
        v.get("acctNumber")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let Some(pan) = pan else {
        return bad_request("send {\"acctNumber\": \"…\"}");
    };
    let listed = async {
        let hash = state.store.pan_hash(&pan).await?;
        state.store.spc_credentials(&hash).await
    };
    match listed.await {
        Ok(list) => Json(json!({
            "card": emv3ds::values::Pan::parse(&pan).map(|p| p.masked()),
            "credentials": list.iter().map(|c| json!({
                "credentialId": c.credential_id,
                "rpId": c.rp_id,
                "algorithm": c.algorithm,
                "signCount": c.sign_count,
                "createdAt": c.created_at,
                "lastUsedAt": c.last_used_at,
            })).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

/// `GET /issuer/spc-confirmations/{acsTransID}`: the confirmation issued with an ARes
/// `S` (requestor-initiated) or on a challenge page (ACS-initiated), whether it was
/// used, and what the check found (`{verified, reason, …}`; `reason` is a
/// `spc::Failure` code, `spc-incomplete`, or the browser's error name).
pub(crate) async fn confirmation(
    State(state): State<AcsState>,
    Path(id): Path<String>,
) -> Response {
    let unavailable =
        |e: AcsError| (e.http_status(), Json(json!({ "error": e.to_string() }))).into_response();
    let shown = |flow: &str, issued: Value, used: bool, result: Option<Value>| {
        Json(json!({
            "acsTransID": id, "flow": flow, "issued": issued, "used": used, "result": result,
        }))
        .into_response()
    };
    match state.store.spc_offer(&id).await {
        Ok(Some(offer)) => {
            return shown(
                "requestor-initiated",
                offer.issued,
                offer.used,
                offer.result,
            );
        }
        Ok(None) => {}
        Err(e) => return unavailable(e.into()),
    }
    match crate::results::load(&state, &id).await {
        Ok(Some(loaded)) => match loaded.challenge.spc {
            Some(step) => {
                let result = step.outcome.as_deref().map(|o| {
                    if o == "verified" {
                        json!({ "verified": true })
                    } else {
                        json!({ "verified": false, "reason": o })
                    }
                });
                shown(
                    "acs-initiated",
                    serde_json::to_value(&step.issued).unwrap_or(Value::Null),
                    result.is_some(),
                    result,
                )
            }
            None => (
                StatusCode::NOT_FOUND,
                Json(json!({ "error": "this transaction offered no SPC" })),
            )
                .into_response(),
        },
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no transaction with this acsTransID" })),
        )
            .into_response(),
        Err(e) => unavailable(e),
    }
}

/// `DELETE /issuer/spc-credentials/{credentialId}`.
pub(crate) async fn delete_credential(
    State(state): State<AcsState>,
    Path(id): Path<String>,
) -> Response {
    let deleted = async {
        match state.store.spc_credential(&id).await? {
            Some((_, owner)) => state.store.delete_spc_credential(&owner, &id).await,
            None => Ok(false),
        }
    };
    match deleted.await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no credential with this id" })),
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}
