//! One app-channel authentication: the AReq parameters, then the challenge.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app_crypto::device_data;
use app_crypto::keys::EphemeralKey;
use app_crypto::session::{Direction, Enc, SessionKey};
use app_crypto::signed_content;
use emv3ds::codes::{ChallengeCancel, DeviceChannel, MessageType};
use emv3ds::messages::{AppAnswer, CReq, ChallengeIds};
use emv3ds::validate::RequestFacts;
use emv3ds::values::TransId;
use emv3ds::{Context, ErrorCode, Message, MessageVersion, Role, Validator};
use serde_json::{Map, Value, json};

use crate::driver::{Action, ChallengeDriver, Screen};
use crate::{ConfigParameters, DirectoryServer, SdkError};

/// A transaction: its id and ephemeral key live until [`Transaction::do_challenge`]
/// consumes it (or it is dropped).
#[derive(Debug)]
pub struct Transaction {
    config: Arc<ConfigParameters>,
    ds: DirectoryServer,
    version: MessageVersion,
    sdk_trans_id: String,
    ephemeral: EphemeralKey,
    http: transport::Client,
    /// The content encryption of the CReqs.
    pub enc: Enc,
}

/// The app-channel elements of the AReq.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthenticationRequestParameters {
    pub sdk_trans_id: String,
    /// `sdkEncData`.
    pub device_data: String,
    pub sdk_ephem_pub_key: Value,
    pub sdk_app_id: String,
    pub sdk_reference_number: String,
    pub message_version: MessageVersion,
    pub device_render_options: Value,
    pub sdk_max_timeout: String,
}

impl AuthenticationRequestParameters {
    /// The elements as AReq JSON members (with `deviceChannel` 01).
    pub fn areq_fields(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("deviceChannel".into(), json!("01"));
        m.insert(
            "messageVersion".into(),
            json!(self.message_version.as_str()),
        );
        m.insert("sdkTransID".into(), json!(self.sdk_trans_id));
        m.insert("sdkAppID".into(), json!(self.sdk_app_id));
        m.insert("sdkEncData".into(), json!(self.device_data));
        m.insert("sdkEphemPubKey".into(), self.sdk_ephem_pub_key.clone());
        m.insert(
            "sdkReferenceNumber".into(),
            json!(self.sdk_reference_number),
        );
        m.insert("sdkMaxTimeout".into(), json!(self.sdk_max_timeout));
        m.insert(
            "deviceRenderOptions".into(),
            self.device_render_options.clone(),
        );
        if self.message_version == MessageVersion::V2_3_1 {
            // A default (not split, not limited) SDK, native variant, not wrapped.
            m.insert("sdkType".into(), json!("01"));
            m.insert("defaultSdkType".into(), json!({ "sdkVariant": "01" }));
        }
        m
    }
}

/// What the app passes to `do_challenge`, from the ARes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeParameters {
    pub three_ds_server_trans_id: String,
    pub acs_trans_id: String,
    pub acs_ref_number: Option<String>,
    pub acs_signed_content: String,
}

impl ChallengeParameters {
    /// From an ARes `C` (JSON).
    pub fn from_ares(ares: &Value) -> Result<ChallengeParameters, SdkError> {
        let get = |name: &str| {
            ares.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| SdkError::InvalidInput(format!("the ARes has no {name}")))
        };
        Ok(ChallengeParameters {
            three_ds_server_trans_id: get("threeDSServerTransID")?,
            acs_trans_id: get("acsTransID")?,
            acs_ref_number: get("acsReferenceNumber").ok(),
            acs_signed_content: get("acsSignedContent")?,
        })
    }
}

/// How a challenge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeStatus {
    /// The final CRes came: `transStatus` Y or N.
    Completed { trans_status: String },
    /// The cardholder cancelled (the ACS confirmed with a final CRes).
    Cancelled,
    /// The SDK's timer ran out (`challengeCancel` 08 sent, final CRes received).
    TimedOut,
    /// A protocol error, detected by the SDK (`component` C, the `Erro` was sent to the
    /// ACS) or reported by the ACS (`component` A).
    ProtocolError {
        code: String,
        component: String,
        description: String,
        detail: String,
    },
    /// The ACS could not be reached or answered nonsense at the HTTP level.
    RuntimeError { message: String },
}

/// Hears what happens during a challenge (the CLI prints it, tests collect it).
pub trait ChallengeStatusReceiver: Send {
    /// `acsSignedContent` verified: where the CReqs go, and the signature algorithm.
    fn verified(&mut self, _acs_url: &str, _alg: &str) {}
    /// A CReq, in plaintext, before it is encrypted and sent.
    fn creq(&mut self, _creq: &Value) {}
    /// A CRes, decrypted.
    fn cres(&mut self, _cres: &Value) {}
    /// An `Erro` the SDK sent to the ACS.
    fn erro_sent(&mut self, _erro: &Value) {}
    /// The end.
    fn done(&mut self, _status: &ChallengeStatus) {}
}

/// A receiver that hears nothing.
impl ChallengeStatusReceiver for () {}

/// The most CReqs in one challenge (the counter has three digits).
const MAX_CREQS: u16 = 999;

impl Transaction {
    pub(crate) fn new(
        config: Arc<ConfigParameters>,
        ds: DirectoryServer,
        version: MessageVersion,
        http: transport::Client,
    ) -> Transaction {
        Transaction {
            sdk_trans_id: config.ids.trans_id().as_str().to_owned(),
            config,
            ds,
            version,
            ephemeral: EphemeralKey::generate(),
            http,
            enc: Enc::A128CbcHs256,
        }
    }

    pub fn sdk_trans_id(&self) -> &str {
        &self.sdk_trans_id
    }

    /// The AReq elements; `sdkEncData` is encrypted afresh on each call.
    pub fn authentication_request_parameters(
        &self,
    ) -> Result<AuthenticationRequestParameters, SdkError> {
        let info = self.config.device.device_info().to_string();
        let device_data = device_data::encrypt_as(
            info.as_bytes(),
            &self.ds.encryption_key,
            &self.ds.id,
            self.config.ec_alg,
        )?;
        Ok(AuthenticationRequestParameters {
            sdk_trans_id: self.sdk_trans_id.clone(),
            device_data,
            sdk_ephem_pub_key: self.ephemeral.public_jwk(),
            sdk_app_id: self.config.sdk_app_id.clone(),
            sdk_reference_number: self.config.sdk_reference_number.clone(),
            message_version: self.version,
            device_render_options: json!({
                "sdkInterface": self.config.sdk_interface,
                "sdkUiType": self.config.sdk_ui_types,
            }),
            sdk_max_timeout: format!("{:02}", self.config.max_timeout_minutes),
        })
    }

    /// Runs the challenge of an ARes `C`. `timeout` is the SDK's timer (the AReq's
    /// `sdkMaxTimeout`, or shorter in tests). Consumes the transaction: its keys are
    /// gone when this returns.
    pub async fn do_challenge(
        self,
        params: &ChallengeParameters,
        driver: &mut dyn ChallengeDriver,
        receiver: &mut dyn ChallengeStatusReceiver,
        timeout: Duration,
    ) -> ChallengeStatus {
        let status = self.run(params, driver, receiver, timeout).await;
        receiver.done(&status);
        status
    }

    async fn run(
        self,
        params: &ChallengeParameters,
        driver: &mut dyn ChallengeDriver,
        receiver: &mut dyn ChallengeStatusReceiver,
        timeout: Duration,
    ) -> ChallengeStatus {
        let deadline = Instant::now() + timeout;
        let channel = match self.open_channel(params, receiver) {
            Ok(channel) => channel,
            Err(status) => return status,
        };
        let mut answer = AppAnswer::Start;
        let mut ending: Option<ChallengeStatus> = None;
        for counter in 0..=MAX_CREQS {
            let cres = match self
                .round_trip(&channel, params, counter, answer, receiver)
                .await
            {
                Ok(cres) => cres,
                Err(status) => return status,
            };
            if cres.get("challengeCompletionInd").and_then(Value::as_str) == Some("Y") {
                return ending.unwrap_or_else(|| ChallengeStatus::Completed {
                    trans_status: cres
                        .get("transStatus")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                });
            }
            if ending.is_some() {
                return protocol(
                    "the ACS went on with the challenge after it was cancelled",
                    "challengeCompletionInd",
                );
            }
            let screen = Screen::from_cres(&cres);
            // The cardholder has until the SDK's timer runs out.
            let action = tokio::time::timeout_at(deadline.into(), driver.act(&screen))
                .await
                .unwrap_or(Action::Wait);
            if action == Action::Wait {
                tokio::time::sleep_until(deadline.into()).await;
            }
            (answer, ending) = next_answer(action);
        }
        protocol("more than 999 CReqs", "sdkCounterStoA")
    }

    /// The secure channel to the ACS from the ARes's `acsSignedContent`: verified under
    /// the DS's roots, its `acsURL` https, the session key agreed, the ids checked. No
    /// `Erro` goes to the ACS when it fails: nothing in the content can be trusted, its
    /// URL least.
    fn open_channel(
        &self,
        params: &ChallengeParameters,
        receiver: &mut dyn ChallengeStatusReceiver,
    ) -> Result<Channel, ChallengeStatus> {
        let content = signed_content::verify(
            &params.acs_signed_content,
            &self.ds.roots,
            &self.ephemeral.public(),
        )
        .map_err(|e| ChallengeStatus::ProtocolError {
            code: e.error_code().to_owned(),
            component: "C".into(),
            description: e.to_string(),
            detail: "acsSignedContent".into(),
        })?;
        if !content.acs_url.starts_with("https://") {
            return Err(protocol(
                "the acsURL in acsSignedContent is not https",
                "acsURL",
            ));
        }
        receiver.verified(&content.acs_url, &content.alg);
        let key = SessionKey::derive(
            &self.ephemeral,
            &content.acs_ephem_pub_key,
            &self.config.sdk_reference_number,
        );
        let ids = self
            .challenge_ids(params)
            .map_err(|why| protocol(&why, "acsTransID"))?;
        Ok(Channel {
            acs_url: content.acs_url,
            key,
            ids,
        })
    }

    /// One CReq (number `counter`, carrying `answer`) sealed to the ACS and its CRes
    /// opened and checked. An answer that breaks the rules is answered with the SDK's
    /// `Erro` and ends the challenge, as does an `Erro` from the ACS.
    async fn round_trip(
        &self,
        channel: &Channel,
        params: &ChallengeParameters,
        counter: u16,
        answer: AppAnswer,
        receiver: &mut dyn ChallengeStatusReceiver,
    ) -> Result<Value, ChallengeStatus> {
        let sent = Message::CReq(CReq::app(self.version, &channel.ids, counter, answer));
        let plaintext = sent.to_json();
        let creq: Value = serde_json::from_slice(&plaintext).unwrap_or(Value::Null);
        receiver.creq(&creq);
        // A fault set on sdk->acs that changes the CReq applies before sealing.
        let plaintext = self
            .http
            .fault_plaintext("CReq", &plaintext)
            .unwrap_or(plaintext);
        let jwe = channel
            .key
            .seal(
                Direction::SdkToAcs,
                self.enc,
                &params.acs_trans_id,
                &plaintext,
            )
            .map_err(|e| runtime(&e))?;
        let reply = self
            .http
            .post(&channel.acs_url, "application/jose", jwe.into_bytes())
            .await
            .map_err(|e| runtime(&e))?;
        let body = String::from_utf8_lossy(&reply.body).trim().to_owned();
        if body.starts_with('{') {
            // A plain-JSON Erro from the ACS: the challenge is over.
            let erro: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            return Err(from_acs(&erro));
        }
        match self.check_cres(&channel.key, &body, &creq, params) {
            Ok(cres) => {
                receiver.cres(&cres);
                Ok(cres)
            }
            Err((code, detail, why)) => {
                let erro = self.erro(&sent, &code, &detail, &why);
                receiver.erro_sent(&erro);
                let _ = self
                    .http
                    .post_json(&channel.acs_url, erro.to_string().into_bytes())
                    .await;
                Err(ChallengeStatus::ProtocolError {
                    code,
                    component: "C".into(),
                    description: why,
                    detail,
                })
            }
        }
    }

    /// Decrypts and checks a CRes; `Err((errorCode, errorDetail, why))` otherwise.
    fn check_cres(
        &self,
        key: &SessionKey,
        body: &str,
        creq: &Value,
        params: &ChallengeParameters,
    ) -> Result<Value, (String, String, String)> {
        let opened = key
            .open(Direction::AcsToSdk, body)
            .map_err(|e| ("302".into(), String::new(), e.to_string()))?;
        let facts = RequestFacts {
            message_type: Some(MessageType::CReq),
            version: Some(self.version),
            channel: Some(DeviceChannel::App),
            three_ds_server_trans_id: Some(params.three_ds_server_trans_id.clone()),
            acs_trans_id: Some(params.acs_trans_id.clone()),
            sdk_trans_id: Some(self.sdk_trans_id.clone()),
            sdk_counter: creq
                .get("sdkCounterStoA")
                .and_then(Value::as_str)
                .map(str::to_owned),
            ..RequestFacts::default()
        };
        let context = Context {
            request: Some(&facts),
            channel: Some(DeviceChannel::App),
        };
        if let Err(erro) = Validator::new(Role::Sdk).validate(&opened.plaintext, &context) {
            return Err((
                erro.error_code.as_str().to_owned(),
                erro.error_detail.clone(),
                erro.error_description.clone(),
            ));
        }
        let cres: Value = serde_json::from_slice(&opened.plaintext)
            .map_err(|e| ("101".into(), String::new(), e.to_string()))?;
        let same = |name: &str, ours: &str| cres.get(name).and_then(Value::as_str) == Some(ours);
        if !(same("acsTransID", &params.acs_trans_id)
            && same("threeDSServerTransID", &params.three_ds_server_trans_id)
            && same("sdkTransID", &self.sdk_trans_id))
        {
            return Err((
                "301".into(),
                "acsTransID,threeDSServerTransID,sdkTransID".into(),
                "the CRes's transaction ids are not this transaction's".into(),
            ));
        }
        if creq.get("sdkCounterStoA") != cres.get("acsCounterAtoS") {
            return Err((
                "302".into(),
                "acsCounterAtoS".into(),
                "acsCounterAtoS is not the counter of the CReq it answers".into(),
            ));
        }
        Ok(cres)
    }

    /// The ids of the challenge, as the messages carry them.
    fn challenge_ids(&self, params: &ChallengeParameters) -> Result<ChallengeIds, String> {
        let id = |value: &str, name: &str| {
            TransId::parse(value).ok_or_else(|| format!("the ARes's {name} is not a UUID"))
        };
        Ok(ChallengeIds {
            three_ds_server: id(&params.three_ds_server_trans_id, "threeDSServerTransID")?,
            acs: id(&params.acs_trans_id, "acsTransID")?,
            ds: None,
            sdk: Some(id(&self.sdk_trans_id, "sdkTransID")?),
        })
    }

    /// The `Erro` the SDK sends the ACS for a CRes it cannot accept (the CRes answered
    /// `sent`), built by the protocol core as the SDK's role.
    fn erro(&self, sent: &Message, code: &str, detail: &str, why: &str) -> Value {
        let code = ErrorCode::from_code(code).unwrap_or(ErrorCode::MessageInvalid);
        let detail = if detail.is_empty() { "CRes" } else { detail };
        let mut erro = Validator::new(Role::Sdk).reject(code, detail, why, Some(sent));
        erro.error_message_type = Some(MessageType::CRes);
        serde_json::from_slice(&erro.to_json()).unwrap_or(Value::Null)
    }
}

/// The secure channel of one app challenge.
struct Channel {
    acs_url: String,
    key: SessionKey,
    ids: ChallengeIds,
}

/// What the SDK sends after the cardholder's `action`, and how the challenge ends when
/// the action ends it (the ACS's final CRes is still awaited).
fn next_answer(action: Action) -> (AppAnswer, Option<ChallengeStatus>) {
    match action {
        Action::Text(text) => (AppAnswer::Text(text), None),
        Action::Select(values) => (AppAnswer::Select(values), None),
        Action::Continue => (AppAnswer::OobContinue, None),
        Action::HtmlForm(data) => (AppAnswer::HtmlForm(data), None),
        Action::Resend => (AppAnswer::Resend, None),
        Action::Cancel => (
            AppAnswer::Cancel(ChallengeCancel::CardholderCancelled),
            Some(ChallengeStatus::Cancelled),
        ),
        Action::Wait => (
            AppAnswer::Cancel(ChallengeCancel::TimeoutAtSdk),
            Some(ChallengeStatus::TimedOut),
        ),
    }
}

fn runtime(e: &dyn std::fmt::Display) -> ChallengeStatus {
    ChallengeStatus::RuntimeError {
        message: e.to_string(),
    }
}

fn protocol(why: &str, detail: &str) -> ChallengeStatus {
    ChallengeStatus::ProtocolError {
        code: "203".into(),
        component: "C".into(),
        description: why.into(),
        detail: detail.into(),
    }
}

fn from_acs(erro: &Value) -> ChallengeStatus {
    let get = |name: &str| {
        erro.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    ChallengeStatus::ProtocolError {
        code: get("errorCode"),
        component: get("errorComponent"),
        description: get("errorDescription"),
        detail: get("errorDetail"),
    }
}
