//! The issuer's Access Control Server.
//!
//! It owns the issuer's data (cards and what each does), decides an authentication
//! (`risk`, pure), proves it (`authenticationValue` under the issuer's key from the key
//! service, ECI by scheme), and answers AReqs from the DS on its mTLS endpoint
//! (`app`). Frictionless outcomes (Y, A, N, R, U) for browser, app and 3RI; browser
//! challenges (OTP, single- and multi-select, out-of-band) and decoupled
//! authentication, each a `challenge::Challenge` kept in the store.
//!
//! The cardholder meets the ACS on its own site (`site`, server-authenticated TLS on
//! `acs.localhost`): the 3DS Method page, the challenge pages and the "issuer app"
//! page where out-of-band and decoupled authentications are approved. When a challenge
//! ends, `results` sends the RReq through the DS (mutual TLS) before the final CRes
//! goes back to the merchant; its sweep ends challenges whose timer ran out, and
//! retries RReqs that could not be delivered, from the store, so a restart loses
//! neither.
//!
//! `app(state)` and `site(state)` build the routers; serving them is the caller's (see
//! `transport::serve`).
//!
//! It must never: take an AReq from anyone but its scheme's DS, or an RRes it did not ask
//! for; put a card number, OTP, credential or authentication value in a log, trace or
//! error; let a URL from a message reach a page without `transport::html`'s checks;
//! build a page outside its templates; or decide an outcome anywhere but `risk` and the
//! challenge state machine.

mod app;
pub mod challenge;
pub mod error;
pub mod issuer;
mod pages;
pub mod results;
pub mod risk;
mod site;
pub mod spc;

use std::collections::BTreeMap;
use std::sync::Arc;

use app_crypto::signed_content::AcsSigner;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use base64::Engine;
use emv3ds::codes::{DeviceChannel, MessageCategory, TransStatus};
use emv3ds::messages::{AReq, ARes};
use emv3ds::{Context, Message, Role, Validator};
use kms::{KeyService, MacPurpose};
use store::{AcsTransaction, Store};
use transport::clock::Clock;
use transport::protocol_answer;

use challenge::{Answer, Challenge, Delivery, Expected, Method, Phase, Proofs, Purchase, Timeouts};
pub use error::AcsError;
pub use issuer::{Card, IssuerData, Outcome};
pub use results::{next_timer, spawn_sweeper};
use risk::{Decision, Facts};
pub use site::{
    CReqForm, CReqRefused, MethodData, MethodFormError, issuer, read_creq_form, read_method_form,
    site,
};

/// Everything the ACS's handlers share.
#[derive(Debug, Clone)]
pub struct AcsState {
    pub issuer: Arc<IssuerData>,
    pub keys: Arc<dyn KeyService>,
    pub reference_number: String,
    /// The issuer's cards and the authentications answered.
    pub store: Store,
    /// The ACS's browser-facing site, e.g. `https://acs.localhost:7441` (`acsURL`,
    /// 3DS Method, issuer app).
    pub site_url: String,
    /// The client the ACS sends RReqs with (mutual TLS, the ACS's certificate); none:
    /// results cannot be delivered, and stay queued.
    pub ds_client: Option<transport::Client>,
    pub clock: Arc<dyn Clock>,
    /// Where `acsTransID`s come from.
    pub ids: transport::Ids,
    pub timeouts: Timeouts,
    /// Wrong answers allowed before a challenge fails (reason 19).
    pub max_attempts: u8,
    /// The ACS signing key and chain per directory server id (`acsSignedContent`);
    /// an app challenge for a scheme without one cannot be offered.
    pub signers: Arc<BTreeMap<String, AcsSigner>>,
    /// Where the ACS records what is not a message (challenge steps, timers); messages
    /// are recorded at the wire (`transport::traced`).
    pub tracer: trace::Tracer,
    /// The Directory Servers that route to this ACS: each scheme's directory server ID
    /// and the common name of its TLS client certificate. `/areq` answers them only
    /// (none: it answers nobody), and an AReq for a card only from its scheme's DS.
    pub ds_identities: Vec<DsIdentity>,
}

/// One Directory Server the ACS answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsIdentity {
    pub directory_server_id: String,
    /// The common name of its TLS client certificate.
    pub common_name: String,
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
            site_url: "https://acs.localhost".into(),
            ds_client: None,
            clock: transport::clock::system(),
            ids: transport::Ids::random(),
            timeouts: Timeouts::default(),
            max_attempts: 3,
            signers: Arc::new(BTreeMap::new()),
            tracer: trace::Tracer::default(),
            ds_identities: Vec::new(),
        })
    }
}

/// Records a note in the trace about the challenge of `challenge`'s transaction.
pub(crate) fn note(state: &AcsState, challenge: &Challenge, label: String, findings: Vec<String>) {
    if !state.tracer.is_enabled() {
        return;
    }
    let ids = trace::Ids {
        three_ds_server_trans_id: Some(challenge.three_ds_server_trans_id.to_string()),
        acs_trans_id: Some(challenge.acs_trans_id.to_string()),
        ..trace::Ids::default()
    };
    let mut event = trace::Event::note(trace::Party::Acs, label, ids);
    event.findings = findings;
    state.tracer.emit(event);
}

/// The ACS's router: `POST /areq` (DS-facing, behind mutual TLS), for its Directory
/// Servers' certificates only.
pub fn app(state: AcsState) -> Router {
    let directory_servers = transport::access::Callers::new(
        "the Directory Servers that route to this ACS",
        state.ds_identities.iter().map(|d| d.common_name.clone()),
    );
    transport::access::body_limit(
        Router::new()
            .route("/areq", post(areq))
            .route_layer(axum::middleware::from_fn(transport::access::only(
                directory_servers,
                Role::Acs,
            ))),
        transport::access::MESSAGE_BODY_LIMIT,
    )
    .with_state(state)
}

async fn areq(
    State(state): State<AcsState>,
    peer: Option<axum::Extension<transport::Peer>>,
    body: Bytes,
) -> Response {
    let validator = Validator::new(Role::Acs);
    let areq = match validator.validate(&body, &Context::default()) {
        Ok(valid) => match valid.message {
            Message::AReq(areq)
                if let Some(why) = other_schemes_ds(&state, peer.as_deref(), &areq) =>
            {
                return transport::access::refuse_caller(Role::Acs, &why);
            }
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
        // The one place an ACS failure becomes the DS's answer (`AcsError::error_code`).
        Err(why) => {
            let about = Message::AReq(areq);
            protocol_answer(
                validator
                    .reject(
                        why.error_code(),
                        "",
                        &format!("the ACS could not answer: {why}"),
                        Some(&about),
                    )
                    .to_json(),
            )
        }
    }
}

/// Compares what the 3DS Method page saw (`site::method` records it) with what the
/// browser AReq says, and notes it in the trace: `threeDSCompInd` Y with no run, a run
/// with `threeDSCompInd` N or U, and a run in another browser (`User-Agent` not the
/// AReq's `browserUserAgent`, or `Accept-Language` not its `browserLanguage`). These
/// are findings for the tester; they do not change the outcome (the protocol-realism
/// issue makes them risk rules).
async fn method_check(
    state: &AcsState,
    areq: &AReq,
    acs_trans_id: &emv3ds::values::TransId,
) -> Result<(), AcsError> {
    if areq.device_channel != Some(DeviceChannel::Browser) || !state.tracer.is_enabled() {
        return Ok(());
    }
    let Some(id) = areq.three_ds_server_trans_id.as_ref() else {
        return Ok(());
    };
    let run = state.store.method_run(id.as_str()).await?;
    let said = areq.three_ds_comp_ind.map(|c| c.as_str().to_owned());
    let mut findings = Vec::new();
    match (&run, said.as_deref()) {
        (None, Some("Y")) => findings
            .push("threeDSCompInd is Y, but the 3DS Method never reached this ACS".to_owned()),
        (Some(_), Some(other @ ("N" | "U"))) => findings.push(format!(
            "threeDSCompInd is {other}, but the 3DS Method ran at this ACS"
        )),
        _ => {}
    }
    if let Some(run) = &run {
        let seen = |name: &str| {
            run.get(name)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
        };
        if let Some(agent) = areq.browser_user_agent.as_deref()
            && seen("userAgent") != agent
        {
            findings.push(
                "the 3DS Method ran in another browser: its User-Agent is not browserUserAgent"
                    .to_owned(),
            );
        }
        let first_language = seen("acceptLanguage")
            .split([',', ';'])
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        if let Some(language) = areq.browser_language.as_deref()
            && !first_language.is_empty()
            && !first_language.eq_ignore_ascii_case(language)
        {
            findings.push(format!(
                "the 3DS Method's browser prefers {first_language:?}; browserLanguage is {language:?}"
            ));
        }
    }
    if run.is_none() && findings.is_empty() {
        return Ok(());
    }
    let label = match (&run, findings.is_empty()) {
        (Some(_), true) => "3DS Method: ran in the browser of the AReq",
        (Some(_), false) => "3DS Method: ran, with discrepancies",
        (None, _) => "3DS Method: did not run",
    };
    let ids = trace::Ids {
        three_ds_server_trans_id: Some(id.as_str().to_owned()),
        acs_trans_id: Some(acs_trans_id.as_str().to_owned()),
        ..trace::Ids::default()
    };
    let mut event = trace::Event::note(trace::Party::Acs, label.to_owned(), ids);
    event.findings = findings;
    state.tracer.emit(event);
    Ok(())
}

/// Why `peer` may not send this AReq, if it may not: the card is in a scheme's range
/// and `peer` is not that scheme's DS (a DS routes only its own scheme's cards). A card
/// in no scheme's range is answered to any of the ACS's DSs (as not enrolled).
fn other_schemes_ds(
    state: &AcsState,
    peer: Option<&transport::Peer>,
    areq: &AReq,
) -> Option<transport::access::Refused> {
    let pan = areq.acct_number.as_ref()?.expose();
    let scheme = state.issuer.scheme_of(pan)?;
    let own = state
        .ds_identities
        .iter()
        .find(|d| d.directory_server_id == scheme.directory_server_id)?;
    let caller = peer
        .and_then(|transport::Peer(p)| p.as_ref())
        .and_then(|p| p.common_name.as_deref())
        .unwrap_or_default();
    (caller != own.common_name).then(|| transport::access::Refused::OtherScheme {
        directory_server_id: scheme.directory_server_id.clone(),
        expected: own.common_name.clone(),
        caller: caller.to_owned(),
    })
}

/// Decides and builds the ARes for a valid AReq, and records it. An ARes that cannot be
/// recorded is not sent: the ACS answers `Erro` 403 instead, so no authentication is
/// given that the ACS would later not know about.
pub async fn answer(state: &AcsState, areq: &AReq) -> Result<ARes, AcsError> {
    let pan = areq.acct_number.as_ref().map_or("", |p| p.expose());
    let pan_hash = state.store.pan_hash(pan).await?;
    let (facts, credentials) = facts(state, areq, &pan_hash).await?;
    let decision = risk::decide(&facts, &state.issuer.rules);
    let acs_trans_id = state.ids.trans_id();
    method_check(state, areq, &acs_trans_id).await?;
    let at = Answering {
        state,
        areq,
        pan,
        pan_hash: &pan_hash,
        acs_trans_id: &acs_trans_id,
        scheme: state.issuer.scheme_of(pan),
        facts: &facts,
    };
    let mut ares = at.decided(decision).await?;
    let recorded_as = match decision {
        Decision::Spc => {
            at.offer_spc(&mut ares, credentials).await?;
            "S"
        }
        Decision::Challenge(_) | Decision::Decoupled => {
            let method = match decision {
                Decision::Challenge(method) => method,
                _ => Method::Decoupled,
            };
            match at.open_challenge(&mut ares, method, credentials).await? {
                true => decision.trans_status(),
                false => "U",
            }
        }
        _ => decision.trans_status(),
    };
    record(
        state,
        areq,
        ares,
        &acs_trans_id,
        pan,
        &pan_hash,
        recorded_as,
    )
    .await
}

/// What the risk engine looks at for `areq`, and the card's SPC credentials (for an
/// `S` or an ACS-initiated offer).
async fn facts(
    state: &AcsState,
    areq: &AReq,
    pan_hash: &str,
) -> Result<(Facts, Vec<String>), AcsError> {
    let prior_ok = match prior_reference(areq) {
        None => None,
        Some(prior) => Some(prior_authenticated(state, &prior, pan_hash).await?),
    };
    let card = state
        .store
        .card_by_hash(pan_hash)
        .await?
        .and_then(|c| Outcome::from_name(&c.outcome));
    let challenge_requested = areq
        .three_ds_requestor_challenge_ind
        .as_ref()
        .is_some_and(|i| {
            i.as_slice()
                .iter()
                .any(|c| matches!(c.as_str(), "03" | "04"))
        });
    let decoupled_requested = areq.message_version != emv3ds::MessageVersion::V2_1_0
        && areq
            .three_ds_requestor_dec_req_ind
            .as_ref()
            .is_some_and(|d| matches!(d.as_str(), "Y" | "B"));
    let device_at_risk = areq.device_channel == Some(DeviceChannel::App)
        && device_warnings(areq)
            .iter()
            .any(|w| matches!(w.as_str(), "SW01" | "SW02" | "SW03" | "SW04"));
    let assessment = spc::assess(state, areq, pan_hash, card).await?;
    let facts = Facts {
        spc: assessment.spc,
        device_at_risk,
        card,
        three_ri: areq.device_channel == Some(DeviceChannel::ThreeRi),
        app: areq.device_channel == Some(DeviceChannel::App),
        payment: areq.message_category == Some(MessageCategory::Payment),
        challenge_requested,
        decoupled_requested,
        prior_authentication_ok: prior_ok,
        amount_minor: areq.purchase_amount.as_deref().and_then(|a| a.parse().ok()),
    };
    Ok((facts, assessment.credentials))
}

/// One AReq being answered: what every step of building its ARes needs.
struct Answering<'a> {
    state: &'a AcsState,
    areq: &'a AReq,
    pan: &'a str,
    pan_hash: &'a str,
    acs_trans_id: &'a emv3ds::values::TransId,
    scheme: Option<&'a issuer::Scheme>,
    facts: &'a Facts,
}

impl Answering<'_> {
    /// The ARes saying `decision`: ids, status, reason, ECI and, for a payment that is
    /// authenticated or attempted, the authentication value.
    async fn decided(&self, decision: Decision) -> Result<ARes, AcsError> {
        let areq = self.areq;
        let mut ares = ARes::new(areq.message_version);
        ares.three_ds_server_trans_id = areq.three_ds_server_trans_id.clone();
        ares.acs_trans_id = Some(self.acs_trans_id.clone());
        ares.ds_trans_id = areq.ds_trans_id.clone();
        ares.sdk_trans_id = areq.sdk_trans_id.clone();
        ares.acs_reference_number = Some(self.state.reference_number.clone());
        ares.ds_reference_number = areq.ds_reference_number.clone();
        ares.trans_status = TransStatus::from_code(decision.trans_status());
        if self.facts.payment {
            ares.trans_status_reason = decision
                .reason()
                .and_then(emv3ds::codes::TransStatusReason::from_code);
        }
        ares.eci = self.eci(decision);
        if matches!(decision, Decision::Authenticated | Decision::Attempted) && self.facts.payment {
            ares.authentication_value = Some(self.authentication_value(decision).await?);
        }
        Ok(ares)
    }

    fn eci(&self, decision: Decision) -> Option<String> {
        self.scheme.and_then(|s| s.eci(decision)).map(str::to_owned)
    }

    async fn authentication_value(&self, decision: Decision) -> Result<String, AcsError> {
        authentication_value(
            self.state,
            self.scheme,
            self.acs_trans_id,
            self.pan,
            self.areq,
            decision,
        )
        .await
    }

    /// Requestor-initiated SPC (`S`): the ARes carries the transaction data to confirm
    /// and the card's credentials, and the offer is stored for the second AReq.
    async fn offer_spc(&self, ares: &mut ARes, credentials: Vec<String>) -> Result<(), AcsError> {
        let issued = spc::issue(self.state, self.areq, self.pan, credentials, true)
            .ok_or_else(|| AcsError::Missing("the SPC amount cannot be shown".into()))?;
        let (data, credentials) = spc::ares_elements(&issued);
        ares.spc_trans_data = Some(data);
        ares.web_authn_cred_list = Some(credentials);
        let issued = serde_json::to_value(&issued)?;
        self.state
            .store
            .insert_spc_offer(self.acs_trans_id.as_str(), self.pan_hash, &issued)
            .await?;
        Ok(())
    }

    /// A challenge (`C`) or decoupled authentication (`D`) by `method`: the ARes's
    /// challenge elements, and the challenge stored with what it expects and its
    /// timers. `false` when there is no challenge after all: an app's SDK can show none
    /// of the ACS's interfaces, and the ARes now says `U`.
    async fn open_challenge(
        &self,
        ares: &mut ARes,
        method: Method,
        credentials: Vec<String>,
    ) -> Result<bool, AcsError> {
        let (state, areq) = (self.state, self.areq);
        let rendering = if self.facts.app && method != Method::Decoupled {
            let prefer_html = self.facts.card == Some(Outcome::ChallengeHtml);
            let Some(rendering) = app::rendering(method, prefer_html, areq) else {
                // Decision: an SDK that can show neither the native UI nor HTML is not
                // challenged: U, reason 03 (unsupported device).
                ares.trans_status = TransStatus::from_code("U");
                ares.trans_status_reason = self
                    .facts
                    .payment
                    .then(|| emv3ds::codes::TransStatusReason::from_code("03"))
                    .flatten();
                return Ok(false);
            };
            Some(rendering)
        } else {
            None
        };
        challenge_elements(state, ares, areq, method);
        let proofs = Proofs {
            authentication_value: match self.facts.payment {
                true => Some(self.authentication_value(Decision::Authenticated).await?),
                false => None,
            },
            eci_y: self.eci(Decision::Authenticated),
            eci_n: self.eci(Decision::NotAuthenticated { reason: "01" }),
        };
        let mut challenge =
            new_challenge(state, areq, method, self.acs_trans_id, self.pan, proofs)?;
        if method == Method::Otp {
            let otp = state
                .issuer
                .cards
                .iter()
                .find(|c| c.pan == self.pan)
                .and_then(|c| c.otp.clone())
                .unwrap_or_else(|| issuer::DEFAULT_OTP.to_owned());
            challenge.expected.otp_digest =
                Some(otp_digest(state, self.acs_trans_id.as_str(), &otp).await?);
        }
        if self.facts.card == Some(Outcome::Spc)
            && areq.device_channel == Some(DeviceChannel::Browser)
        {
            challenge.enrolment = Some(challenge::Enrolment {
                challenge: ::spc::fresh_challenge(),
                user_handle: ::spc::fresh_challenge(),
                state: challenge::EnrolmentState::Offered,
            });
        }
        if method == Method::Otp {
            self.offer_spc_on_the_page(&mut challenge, ares, credentials);
        }
        if let Some(rendering) = rendering {
            self.open_app_session(&mut challenge, ares, rendering)
                .await?;
        }
        let json = serde_json::to_value(&challenge)?;
        state
            .store
            .insert_challenge(self.acs_trans_id.as_str(), &json, challenge.due_at())
            .await?;
        Ok(true)
    }

    /// ACS-initiated SPC on an OTP challenge page: for a card with a credential when
    /// the requestor did not run SPC; the ARes then announces SPC (14) before OTP (02).
    fn offer_spc_on_the_page(
        &self,
        challenge: &mut Challenge,
        ares: &mut ARes,
        credentials: Vec<String>,
    ) {
        if self.facts.spc != risk::Spc::None || credentials.is_empty() {
            return;
        }
        let Some(issued) = spc::issue(self.state, self.areq, self.pan, credentials, false) else {
            return;
        };
        challenge.spc = Some(challenge::SpcStep {
            issued,
            outcome: None,
        });
        ares.authentication_method = Some(emv3ds::values::OneOrMany::Many(
            ["14", "02"]
                .into_iter()
                .filter_map(emv3ds::codes::AuthenticationMethod::from_code)
                .collect(),
        ));
    }

    /// The app channel's secure session: `acsSignedContent` (signed for the scheme's
    /// DS) and the rendering the SDK is to use, in the ARes; the session key in the
    /// challenge.
    async fn open_app_session(
        &self,
        challenge: &mut Challenge,
        ares: &mut ARes,
        rendering: (emv3ds::codes::AcsInterface, emv3ds::codes::UiType),
    ) -> Result<(), AcsError> {
        let ds_id = self.scheme.map_or("", |s| s.directory_server_id.as_str());
        let (signed, session) = app::open_session(
            self.state,
            self.areq,
            self.acs_trans_id.as_str(),
            ds_id,
            rendering,
        )
        .await?;
        ares.acs_signed_content = Some(signed);
        ares.acs_rendering_type = Some(emv3ds::messages::AcsRenderingType {
            acs_interface: Some(rendering.0),
            acs_ui_template: Some(rendering.1),
            ..Default::default()
        });
        challenge.app = Some(session);
        Ok(())
    }
}

/// The `deviceInfo` security warnings (`SW`), if the DS passed device information.
fn device_warnings(areq: &AReq) -> Vec<String> {
    let Some(info) = areq.device_info.as_deref() else {
        return Vec::new();
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(info.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|json| {
            json.get("SW").and_then(|sw| sw.as_array()).map(|list| {
                list.iter()
                    .filter_map(|w| w.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// Records the authentication (the card sealed) and returns the ARes; an ARes that
/// cannot be recorded is not sent.
async fn record(
    state: &AcsState,
    areq: &AReq,
    mut ares: ARes,
    acs_trans_id: &emv3ds::values::TransId,
    pan: &str,
    pan_hash: &str,
    trans_status: &str,
) -> Result<ARes, AcsError> {
    if areq.device_channel == Some(DeviceChannel::App)
        && areq.message_version == emv3ds::MessageVersion::V2_3_1
    {
        ares.device_info_recognised_version = Some("1.7".into());
    }
    let card = state
        .store
        .seal(
            "acs_transactions",
            acs_trans_id.as_str(),
            pan,
            pan_hash.to_owned(),
        )
        .await?;
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
        trans_status: trans_status.to_owned(),
        trans_status_reason: ares
            .trans_status_reason
            .as_ref()
            .map(|r| r.as_str().to_owned()),
        eci: ares.eci.clone(),
    };
    state.store.insert_acs_transaction(&record, &card).await?;
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
) -> Result<String, AcsError> {
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
        .await?;
    Ok(base64::engine::general_purpose::STANDARD.encode(&mac[..20]))
}

/// The ARes elements of a challenge (`C`) or a decoupled authentication (`D`).
fn challenge_elements(state: &AcsState, ares: &mut ARes, areq: &AReq, method: Method) {
    use emv3ds::messages::{CardholderInfo, HowAuthenticated};
    ares.acs_challenge_mandated = Some("N".into());
    ares.announce_method(HowAuthenticated {
        class: method.authentication_type(),
        method: method.authentication_method(),
    });
    if method == Method::Decoupled {
        ares.acs_dec_con_ind = Some("Y".into());
        let text = format!(
            "Approve this payment in the Sandbox Bank app: {}/issuer-app",
            state.site_url
        );
        ares.cardholder_info = Some(if areq.message_version == emv3ds::MessageVersion::V2_3_1 {
            CardholderInfo::Details(emv3ds::messages::CardholderInfoDetails {
                text: Some(text),
                ..Default::default()
            })
        } else {
            CardholderInfo::Text(text)
        });
    } else if areq.device_channel != Some(DeviceChannel::App) {
        ares.acs_url = Some(format!("{}/challenge", state.site_url));
    }
}

/// The keyed digest of an OTP for challenge `acs_trans_id` (hex): what the challenge keeps
/// instead of the code, and what a typed code is turned into before it is compared
/// (PCI 3DS: challenge answers are not stored).
pub(crate) async fn otp_digest(
    state: &AcsState,
    acs_trans_id: &str,
    code: &str,
) -> Result<String, AcsError> {
    let message = format!("{acs_trans_id}:{}", code.trim());
    let mac = state
        .keys
        .mac(&kms::MacPurpose::ChallengeAnswer, message.as_bytes())
        .await?;
    Ok(hex::encode(mac))
}

/// `answer` as the challenge compares it: a typed code becomes its digest.
pub(crate) async fn comparable(
    state: &AcsState,
    acs_trans_id: &str,
    answer: Answer,
) -> Result<Answer, AcsError> {
    Ok(match answer {
        Answer::Otp(code) => Answer::Otp(otp_digest(state, acs_trans_id, &code).await?),
        other => other,
    })
}

/// The state of a new challenge, waiting for its first CReq (decoupled: for the app).
fn new_challenge(
    state: &AcsState,
    areq: &AReq,
    method: Method,
    acs_trans_id: &emv3ds::values::TransId,
    pan: &str,
    proofs: Proofs,
) -> Result<Challenge, AcsError> {
    let now = state.clock.now_ms();
    // The DS's validation made both present; a missing one is a bug, not a panic.
    let id = |t: &Option<emv3ds::values::TransId>, name: &str| {
        t.clone()
            .ok_or_else(|| AcsError::Missing(format!("the AReq has no {name}")))
    };
    let (phase, deadline) = if method == Method::Decoupled {
        // threeDSRequestorDecMaxTime: minutes, 1–10080; absent means 10080 (7 days).
        let minutes: u64 = areq
            .three_ds_requestor_dec_max_time
            .as_deref()
            .and_then(|m| m.parse().ok())
            .unwrap_or(10_080);
        (
            Phase::InProgress,
            now + minutes.saturating_mul(state.timeouts.decoupled_minute_ms),
        )
    } else {
        (Phase::AwaitingCReq, now + state.timeouts.first_creq_ms)
    };
    Ok(Challenge {
        acs_trans_id: acs_trans_id.clone(),
        three_ds_server_trans_id: id(&areq.three_ds_server_trans_id, "threeDSServerTransID")?,
        ds_trans_id: id(&areq.ds_trans_id, "dsTransID")?,
        message_version: areq.message_version,
        message_category: areq.message_category.unwrap_or(MessageCategory::Payment),
        method,
        ds_url: areq.ds_url.clone().unwrap_or_default(),
        notification_url: areq.notification_url.clone(),
        session_data: None,
        window_size: None,
        purchase: Purchase {
            merchant_name: areq.merchant_name.clone().unwrap_or_default(),
            amount: issuer::display_amount(
                areq.purchase_amount.as_deref(),
                areq.purchase_currency.as_deref(),
                areq.purchase_exponent.as_deref(),
            ),
            card_last4: pan
                .get(pan.len().saturating_sub(4)..)
                .unwrap_or("")
                .to_owned(),
        },
        expected: Expected {
            // Set by the caller: a keyed digest needs the key service.
            otp_digest: None,
            options: match method {
                Method::SingleSelect => issuer::SINGLE_SELECT.right(),
                Method::MultiSelect => issuer::MULTI_SELECT.right(),
                _ => Vec::new(),
            },
        },
        proofs,
        max_attempts: state.max_attempts,
        phase,
        interaction_counter: 0,
        resends: 0,
        approval: None,
        notice: None,
        deadline_ms: Some(deadline),
        verdict: None,
        delivery: Delivery::Pending,
        retry_at_ms: None,
        sending: false,
        app: None,
        spc: None,
        enrolment: None,
    })
}

/// Whether this ACS authenticated the card (`pan_hash`) in transaction `prior`: its
/// ARes said Y or A, or its challenge (ARes C or D) ended Y or A.
async fn prior_authenticated(
    state: &AcsState,
    prior: &str,
    pan_hash: &str,
) -> Result<bool, AcsError> {
    let Some((t, hash)) = state.store.acs_transaction(prior).await? else {
        return Ok(false);
    };
    if hash != pan_hash {
        return Ok(false);
    }
    Ok(match t.trans_status.as_str() {
        "Y" | "A" => true,
        "C" | "D" => results::load(state, prior)
            .await?
            .and_then(|loaded| loaded.challenge.verdict)
            .is_some_and(|v| matches!(v.trans_status, TransStatus::Y | TransStatus::A)),
        _ => false,
    })
}

/// The `threeDSReqPriorRef` of the (first) prior-authentication entry, if any.
fn prior_reference(areq: &AReq) -> Option<String> {
    areq.three_ds_requestor_prior_authentication_info
        .as_ref()
        .and_then(|p| p.as_slice().first().and_then(|i| i.prior_ref.clone()))
}
