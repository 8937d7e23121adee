//! A card scheme's Directory Server.
//!
//! One endpoint (`POST /`) takes every message a DS receives. A PReq is answered from
//! the card-range registry (`emv3ds::card_ranges`); an AReq is validated, routed by card
//! range to its ACS with `dsTransID`, `dsReferenceNumber` and `dsURL` added, and the ARes
//! validated against that AReq before it goes back. Every failure path answers with an
//! `Erro` from component D: invalid messages (101–204), a PAN in no range (305), an ACS
//! that does not answer in time (402) or cannot be reached (405), an invalid ARes.
//!
//! An app AReq's `sdkEncData` is decrypted with the DS's encryption key (the 3DS
//! `ECDH-ES`, its `dir` + `epk` variant, or `RSA-OAEP-256`; `app_crypto::device_data`)
//! and goes to the ACS as `deviceInfo`; device data the DS cannot read is `Erro` 302.
//!
//! Every routed AReq is recorded (`store`), so an RReq from the ACS can be relayed to
//! the 3DS Server that sent the AReq (its `threeDSServerURL`) and the RRes relayed back.
//! An RReq for a transaction the DS did not route, or whose ids disagree with it, is
//! 301; one from an ACS other than the range's (by TLS certificate) is refused (HTTP
//! 403, `Erro` 303), as is a PReq or AReq from anyone but a registered 3DS Server
//! (`DsConfig::server_identities`) and any message from a certificate not registered.
//!
//! `app(state)` builds the router; serving it over mutual TLS is the caller's
//! (`transport::serve`).
//!
//! It must never: decide an authentication (the ACS does) or change what the ACS
//! answered beyond the elements the DS adds; route by anything but the card-range
//! registry; relay a message from a party its certificate does not prove; or let a
//! decrypted `deviceInfo`, a card number or a key reach a log, the trace or an error.

use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};
use emv3ds::card_ranges::{RangeEntry, Registry};
use emv3ds::messages::RReq;
use emv3ds::{Context, ErrorCode, Message, MessageVersion, Role, Validator};
use store::{NewDsTransaction, Store};
use transport::{Ids, Peer, protocol_answer, protocol_refusal as erro};

mod error;
pub use error::DsError;

/// A card range and where its ACS is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcsRoute {
    pub range: RangeEntry,
    /// The ACS's AReq endpoint.
    pub acs_url: String,
    /// The common name of the ACS's TLS client certificate: RReqs for this range are
    /// taken from that certificate only.
    pub acs_identity: String,
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
    /// The private half of the DS encryption key: app AReqs' `sdkEncData` is decrypted
    /// with it and goes on to the ACS as `deviceInfo`. None: app AReqs are refused
    /// (302), since the DS cannot read their device data.
    pub device_data_key: Option<Arc<app_crypto::device_data::DsPrivateKey>>,
    /// The common names of the TLS client certificates of the 3DS Servers registered
    /// with this DS: PReqs and AReqs are taken from them only.
    pub server_identities: Vec<String>,
}

/// Everything the DS's handlers share.
#[derive(Debug, Clone)]
pub struct DsState {
    config: Arc<DsConfig>,
    registry: Arc<RwLock<Registry>>,
    /// Client to ACSs and 3DS Servers (the DS's TLS identity).
    client: transport::Client,
    store: Store,
    /// Where `dsTransID`s come from.
    ids: Ids,
}

impl DsState {
    pub fn new(
        config: DsConfig,
        client: transport::Client,
        store: Store,
    ) -> Result<DsState, DsError> {
        let registry = Registry::new(config.routes.iter().map(|r| r.range.clone()).collect())
            .map_err(DsError::CardRanges)?;
        Ok(DsState {
            config: Arc::new(config),
            registry: Arc::new(RwLock::new(registry)),
            client,
            store,
            ids: Ids::random(),
        })
    }

    /// Where an AReq for `pan` goes: the range the card-range registry (the same one
    /// PReqs are answered from) finds for it, and that range's ACS.
    fn route_of(&self, pan: &str) -> Option<AcsRoute> {
        let registry = self.registry.read().ok()?;
        let entry = registry.find(pan)?;
        self.config
            .routes
            .iter()
            .find(|r| {
                r.range.start_range == entry.start_range && r.range.end_range == entry.end_range
            })
            .cloned()
    }

    /// Draws `dsTransID`s from `ids` (the scenario runner's deterministic mode).
    #[must_use]
    pub fn with_ids(mut self, ids: Ids) -> DsState {
        self.ids = ids;
        self
    }
}

/// The DS's router. Its one endpoint answers only the parties registered with it (3DS
/// Servers and the ranges' ACSs); which message each may send is `receive`'s check.
pub fn app(state: DsState) -> Router {
    let registered = transport::access::Callers::new(
        "the 3DS Servers and ACSs registered with this DS",
        state
            .config
            .server_identities
            .iter()
            .chain(state.config.routes.iter().map(|r| &r.acs_identity))
            .cloned(),
    );
    transport::access::body_limit(
        Router::new()
            .route("/", post(receive))
            .route_layer(axum::middleware::from_fn(transport::access::only(
                registered,
                Role::DirectoryServer,
            ))),
        transport::access::MESSAGE_BODY_LIMIT,
    )
    .with_state(state)
}

/// `Ok` when the caller is a 3DS Server registered with this DS (PReq, AReq), or why not.
fn from_a_server(state: &DsState, peer: Option<&Peer>) -> Result<(), transport::access::Refused> {
    transport::access::Callers::new(
        "the 3DS Servers registered with this DS",
        state.config.server_identities.iter().cloned(),
    )
    .admit(peer)
}

async fn receive(
    State(state): State<DsState>,
    peer: Option<Extension<Peer>>,
    body: Bytes,
) -> Response {
    let validator = Validator::new(Role::DirectoryServer);
    let message = match validator.validate(&body, &Context::default()) {
        Ok(valid) => valid.message,
        Err(erro) => return protocol_answer(erro.to_json()),
    };
    let peer = peer.map(|Extension(p)| p);
    if matches!(message, Message::PReq(_) | Message::AReq(_))
        && let Err(why) = from_a_server(&state, peer.as_ref())
    {
        return transport::access::refuse_caller(Role::DirectoryServer, &why);
    }
    match message {
        Message::PReq(preq) => {
            let answer = match state.registry.read() {
                Ok(registry) => registry
                    .answer(&preq, state.ids.trans_id(), &state.config.versions)
                    .map_err(DsError::Refused),
                Err(_) => Err(DsError::RegistryUnavailable),
            };
            match answer {
                Ok(pres) => protocol_answer(Message::PRes(pres).to_json()),
                Err(e) => refuse(&validator, &e, &Message::PReq(preq)),
            }
        }
        Message::AReq(areq) => route_areq(&state, &validator, *areq).await,
        Message::RReq(rreq) => relay_rreq(&state, &validator, rreq, peer).await,
        other => refuse(
            &validator,
            &DsError::NotHandled(other.message_type()),
            &other,
        ),
    }
}

/// The one place a failure of the DS's own work becomes its answer: the `Erro` the
/// error's code and elements say, and a log line for what an operator must see.
fn refuse(validator: &Validator, error: &DsError, about: &Message) -> Response {
    if error.error_code() == ErrorCode::TransientSystemFailure {
        tracing::warn!(message_type = about.message_type().as_str(), "{error}");
    }
    erro(
        validator,
        error.error_code(),
        &error.detail(),
        &error.to_string(),
        about,
    )
}

async fn route_areq(state: &DsState, validator: &Validator, mut areq: emv3ds::AReq) -> Response {
    let pan = areq
        .acct_number
        .as_ref()
        .map(|p| p.expose().to_owned())
        .unwrap_or_default();
    let Some(route) = state.route_of(&pan) else {
        return refuse(validator, &DsError::NoRange, &Message::AReq(Box::new(areq)));
    };
    if areq.device_channel == Some(emv3ds::codes::DeviceChannel::App)
        && let Err(e) = open_device_data(&state.config, &mut areq)
    {
        return refuse(validator, &e, &Message::AReq(Box::new(areq)));
    }
    // The trace shows what only the DS can read: the device data it decrypted.
    let device_view = areq.device_info.as_deref().and_then(device_data_view);
    let mut response = async move {
        let ds_trans_id = state.ids.trans_id();
        areq.ds_trans_id = Some(ds_trans_id.clone());
        areq.ds_reference_number = Some(state.config.reference_number.clone());
        areq.ds_url = Some(state.config.url.clone());
        let recorded = state
            .store
            .insert_ds_transaction(&NewDsTransaction {
                ds_trans_id: ds_trans_id.as_str(),
                directory_server_id: &state.config.directory_server_id,
                three_ds_server_trans_id: areq
                    .three_ds_server_trans_id
                    .as_ref()
                    .map_or("", |t| t.as_str()),
                three_ds_server_url: areq.three_ds_server_url.as_deref(),
                acs_url: &route.acs_url,
                pan: &pan,
                message_version: areq.message_version.as_str(),
            })
            .await;
        let forwarded = Message::AReq(Box::new(areq));
        if let Err(e) = recorded.map_err(DsError::store("record the transaction")) {
            return refuse(validator, &e, &forwarded);
        }
        let ares = match transport::exchange(
            &state.client,
            &route.acs_url,
            &forwarded,
            validator,
            "the ACS",
        )
        .await
        {
            Ok(ares) => ares,
            Err(erro) => return protocol_answer(Message::Erro(*erro).to_json()),
        };
        if let Message::ARes(answer) = &ares {
            let recorded = state
                .store
                .record_ds_answer(
                    ds_trans_id.as_str(),
                    answer.acs_trans_id.as_ref().map(|t| t.as_str()),
                    answer.trans_status.as_ref().map(|t| t.as_str()),
                )
                .await;
            if let Err(e) = recorded.map_err(DsError::store("record the ARes")) {
                return refuse(validator, &e, &ares);
            }
        }
        protocol_answer(ares.to_json())
    }
    .await;
    if let Some(view) = device_view {
        response.extensions_mut().insert(trace::Annotation {
            request: Some(view),
            ..trace::Annotation::default()
        });
    }
    response
}

/// The decrypted device data as the trace shows it.
fn device_data_view(device_info: &str) -> Option<trace::Decoded> {
    let mut value = trace::decode::base64url_json(device_info)?;
    trace::redact::redact(&mut value);
    Some(trace::Decoded {
        how: "decrypted".into(),
        what: "sdkEncData plaintext (the device data), decrypted with the DS's private key".into(),
        value,
    })
}

/// Replaces `sdkEncData` with `deviceInfo` (base64url of the decrypted JSON), as the
/// ACS receives it (`docs/protocol.md` §2.5, §6.1).
fn open_device_data(config: &DsConfig, areq: &mut emv3ds::AReq) -> Result<(), DsError> {
    use base64::Engine;
    let key = config
        .device_data_key
        .as_deref()
        .ok_or(DsError::NoDeviceDataKey)?;
    let token = areq.sdk_enc_data.take().unwrap_or_default();
    let plaintext = app_crypto::device_data::decrypt(&token, key, &config.directory_server_id)?;
    app_crypto::device_data::parse_device_info(&plaintext)?;
    areq.device_info = Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&plaintext));
    Ok(())
}

/// Relays an RReq from the ACS to the 3DS Server of the transaction, and its RRes back.
async fn relay_rreq(
    state: &DsState,
    validator: &Validator,
    rreq: RReq,
    peer: Option<Peer>,
) -> Response {
    let id = |t: &Option<emv3ds::values::TransId>| t.as_ref().map(|t| t.as_str().to_owned());
    let ds_trans_id = id(&rreq.ds_trans_id).unwrap_or_default();
    let about = Message::RReq(rreq.clone());
    let known = match state.store.ds_transaction(&ds_trans_id).await {
        Ok(Some(known)) => known,
        Ok(None) => return refuse(validator, &DsError::UnknownTransaction, &about),
        Err(e) => {
            let e = DsError::store("read its transactions")(e);
            return refuse(validator, &e, &about);
        }
    };
    let mut mismatched = Vec::new();
    if id(&rreq.three_ds_server_trans_id).as_deref() != Some(&known.three_ds_server_trans_id) {
        mismatched.push("threeDSServerTransID");
    }
    if known.acs_trans_id.is_some() && id(&rreq.acs_trans_id) != known.acs_trans_id {
        mismatched.push("acsTransID");
    }
    if !mismatched.is_empty() {
        return refuse(validator, &DsError::Mismatched(mismatched), &about);
    }
    // Only the ACS of the range this authentication was routed to may send its RReq.
    let expected = state
        .config
        .routes
        .iter()
        .find(|r| r.acs_url == known.acs_url)
        .map(|r| {
            transport::access::Callers::new(
                &format!("the ACS \"{}\" for this transaction", r.acs_identity),
                [r.acs_identity.clone()],
            )
        });
    let admitted = expected.map_or_else(
        || Err(transport::access::Refused::PartyGone { party: "ACS" }),
        |callers| callers.admit(peer.as_ref()),
    );
    if let Err(why) = admitted {
        return transport::access::refuse_caller(Role::DirectoryServer, &why);
    }
    let Some(server_url) = known.three_ds_server_url.as_deref() else {
        return refuse(validator, &DsError::NoServerUrl, &about);
    };
    if let Err(e) = state
        .store
        .record_ds_answer(
            &ds_trans_id,
            id(&rreq.acs_trans_id).as_deref(),
            rreq.trans_status.as_ref().map(|t| t.as_str()),
        )
        .await
    {
        return refuse(validator, &DsError::store("record the RReq")(e), &about);
    }
    match transport::exchange(
        &state.client,
        server_url,
        &about,
        validator,
        "the 3DS Server",
    )
    .await
    {
        Ok(rres) => protocol_answer(rres.to_json()),
        Err(erro) => protocol_answer(Message::Erro(*erro).to_json()),
    }
}
