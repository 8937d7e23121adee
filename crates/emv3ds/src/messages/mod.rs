//! The typed messages: one struct per message type, every version in one struct.
//!
//! Elements that exist only in some versions are `Option`s; elements whose JSON shape
//! changes between versions use [`OneOrMany`](crate::values::OneOrMany) or an enum, and
//! keep the shape they were received in. Field names on the wire are the
//! specification's, exactly; absent elements are omitted, never written as `null`.
//! Which elements a version allows is the dictionary's business: decode through
//! [`Validator`](crate::Validator) to get only valid messages, and serialise with
//! [`Message::to_json`].
//!
//! Each struct's documentation shows the crate's valid examples for it.

mod authentication;
mod challenge;
mod error;
pub mod objects;
mod preparation;
mod results;

pub use authentication::{AReq, ARes};
pub use challenge::{AppAnswer, CReq, CRes, Screen};
pub use error::Erro;
pub use objects::*;
pub use preparation::{PReq, PRes};
pub use results::{ChallengeIds, ChallengeResult, HowAuthenticated, RReq, RRes};

use serde::{Deserialize, Serialize};

use crate::codes::{DeviceChannel, MessageType};
use crate::json::{DecodeError, Object};
use crate::validate::RequestFacts;
use crate::values::TransId;
use crate::version::MessageVersion;

/// Declares a message struct: `messageVersion` first, then every other element as an
/// optional field renamed to its wire name, plus `new(version)` with all of them absent.
macro_rules! message {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident: $ty:ty = $json:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            #[serde(rename = "messageVersion")]
            pub message_version: $crate::version::MessageVersion,
            $(
                $(#[$fmeta])*
                #[serde(rename = $json, default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }

        impl $name {
            /// A message of this type and version with every other element absent.
            pub fn new(message_version: $crate::version::MessageVersion) -> Self {
                Self { message_version, $( $field: None, )* }
            }
        }
    };
}
pub(crate) use message;

/// The transaction ids of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransIds {
    pub three_ds_server: Option<TransId>,
    pub acs: Option<TransId>,
    pub ds: Option<TransId>,
    pub sdk: Option<TransId>,
}

/// Any of the nine messages.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "messageType")]
pub enum Message {
    PReq(PReq),
    PRes(PRes),
    AReq(Box<AReq>),
    ARes(Box<ARes>),
    CReq(CReq),
    CRes(Box<CRes>),
    RReq(RReq),
    RRes(RRes),
    Erro(Erro),
}

impl Message {
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::PReq(_) => MessageType::PReq,
            Message::PRes(_) => MessageType::PRes,
            Message::AReq(_) => MessageType::AReq,
            Message::ARes(_) => MessageType::ARes,
            Message::CReq(_) => MessageType::CReq,
            Message::CRes(_) => MessageType::CRes,
            Message::RReq(_) => MessageType::RReq,
            Message::RRes(_) => MessageType::RRes,
            Message::Erro(_) => MessageType::Erro,
        }
    }

    pub fn message_version(&self) -> MessageVersion {
        match self {
            Message::PReq(m) => m.message_version,
            Message::PRes(m) => m.message_version,
            Message::AReq(m) => m.message_version,
            Message::ARes(m) => m.message_version,
            Message::CReq(m) => m.message_version,
            Message::CRes(m) => m.message_version,
            Message::RReq(m) => m.message_version,
            Message::RRes(m) => m.message_version,
            Message::Erro(m) => m.message_version,
        }
    }

    /// Compact JSON, as sent on the wire (`messageType` first, then the elements in the
    /// struct's order).
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising these types cannot fail: every map key is a string.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Indented JSON (two spaces), the form of the crate's example files.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Decodes a typed message from a parsed object without validating it. Use
    /// [`Validator::validate`](crate::Validator::validate) for anything received.
    pub fn from_object(t: MessageType, obj: &Object<'_>) -> Result<Message, DecodeError> {
        Ok(match t {
            MessageType::PReq => Message::PReq(PReq::deserialize(obj)?),
            MessageType::PRes => Message::PRes(PRes::deserialize(obj)?),
            MessageType::AReq => Message::AReq(Box::new(AReq::deserialize(obj)?)),
            MessageType::ARes => Message::ARes(Box::new(ARes::deserialize(obj)?)),
            MessageType::CReq => Message::CReq(CReq::deserialize(obj)?),
            MessageType::CRes => Message::CRes(Box::new(CRes::deserialize(obj)?)),
            MessageType::RReq => Message::RReq(RReq::deserialize(obj)?),
            MessageType::RRes => Message::RRes(RRes::deserialize(obj)?),
            MessageType::Erro => Message::Erro(Erro::deserialize(obj)?),
            MessageType::Other(c) => {
                return Err(serde::de::Error::custom(format!(
                    "{} is not a known message type",
                    c.as_str()
                )));
            }
        })
    }

    /// Parses JSON bytes into a typed message without validating it (for messages this
    /// side produced itself, or the `--request` of `threeds validate`).
    pub fn parse(bytes: &[u8]) -> Result<Message, DecodeError> {
        let json =
            crate::json::Json::parse(bytes).map_err(<DecodeError as serde::de::Error>::custom)?;
        let obj = json
            .as_object()
            .ok_or_else(|| <DecodeError as serde::de::Error>::custom("not a JSON object"))?;
        let t = obj
            .get_str("messageType")
            .and_then(MessageType::from_code)
            .ok_or_else(|| <DecodeError as serde::de::Error>::custom("no known messageType"))?;
        Message::from_object(t, obj)
    }

    /// The transaction ids the message carries.
    pub fn trans_ids(&self) -> TransIds {
        let ids = |a: &Option<TransId>,
                   b: &Option<TransId>,
                   c: &Option<TransId>,
                   d: &Option<TransId>| TransIds {
            three_ds_server: a.clone(),
            acs: b.clone(),
            ds: c.clone(),
            sdk: d.clone(),
        };
        let none = None;
        match self {
            Message::PReq(m) => ids(&m.three_ds_server_trans_id, &none, &none, &none),
            Message::PRes(m) => ids(&m.three_ds_server_trans_id, &none, &m.ds_trans_id, &none),
            Message::AReq(m) => ids(
                &m.three_ds_server_trans_id,
                &none,
                &m.ds_trans_id,
                &m.sdk_trans_id,
            ),
            Message::ARes(m) => ids(
                &m.three_ds_server_trans_id,
                &m.acs_trans_id,
                &m.ds_trans_id,
                &m.sdk_trans_id,
            ),
            Message::CReq(m) => ids(
                &m.three_ds_server_trans_id,
                &m.acs_trans_id,
                &none,
                &m.sdk_trans_id,
            ),
            Message::CRes(m) => ids(
                &m.three_ds_server_trans_id,
                &m.acs_trans_id,
                &none,
                &m.sdk_trans_id,
            ),
            Message::RReq(m) => ids(
                &m.three_ds_server_trans_id,
                &m.acs_trans_id,
                &m.ds_trans_id,
                &m.sdk_trans_id,
            ),
            Message::RRes(m) => ids(
                &m.three_ds_server_trans_id,
                &m.acs_trans_id,
                &m.ds_trans_id,
                &m.sdk_trans_id,
            ),
            Message::Erro(m) => ids(
                &m.three_ds_server_trans_id,
                &m.acs_trans_id,
                &m.ds_trans_id,
                &m.sdk_trans_id,
            ),
        }
    }

    /// What a validator needs to know of this message when validating its answer.
    pub(crate) fn request_facts(&self) -> RequestFacts {
        let mut facts = RequestFacts {
            message_type: Some(self.message_type()),
            version: Some(self.message_version()),
            ..RequestFacts::default()
        };
        let id = |t: &Option<crate::values::TransId>| t.as_ref().map(|t| t.as_str().to_owned());
        match self {
            Message::AReq(a) => {
                facts.channel = a.device_channel;
                facts.category = a.message_category;
                facts.challenge_ind = a
                    .three_ds_requestor_challenge_ind
                    .as_ref()
                    .map(|c| c.as_slice().iter().map(|c| c.as_str().to_owned()).collect())
                    .unwrap_or_default();
                facts.decoupled_request = a
                    .three_ds_requestor_dec_req_ind
                    .map(|d| d.as_str().to_owned());
                facts.spc_support = a.three_ds_requestor_spc_support.as_deref() == Some("Y");
                facts.three_ds_server_trans_id = id(&a.three_ds_server_trans_id);
                facts.ds_trans_id = id(&a.ds_trans_id);
                facts.sdk_trans_id = id(&a.sdk_trans_id);
            }
            Message::CReq(c) => {
                facts.channel = Some(if c.sdk_trans_id.is_some() {
                    DeviceChannel::App
                } else {
                    DeviceChannel::Browser
                });
                facts.three_ds_server_trans_id = id(&c.three_ds_server_trans_id);
                facts.acs_trans_id = id(&c.acs_trans_id);
                facts.sdk_trans_id = id(&c.sdk_trans_id);
                facts.sdk_counter = c.sdk_counter_s_to_a.clone();
            }
            Message::RReq(r) => {
                facts.category = r.message_category;
                facts.three_ds_server_trans_id = id(&r.three_ds_server_trans_id);
                facts.acs_trans_id = id(&r.acs_trans_id);
                facts.ds_trans_id = id(&r.ds_trans_id);
                facts.sdk_trans_id = id(&r.sdk_trans_id);
            }
            Message::PReq(p) => {
                facts.three_ds_server_trans_id = id(&p.three_ds_server_trans_id);
            }
            _ => {}
        }
        facts
    }
}

/// `message` as JSON, after checking that `role` takes it (a test fails with the
/// `Erro` and the message otherwise): how the constructors' tests prove that what they
/// build is valid.
#[cfg(test)]
pub(crate) fn taken_by(
    role: crate::Role,
    channel: Option<DeviceChannel>,
    message: &Message,
) -> serde_json::Value {
    let bytes = message.to_json();
    let context = crate::Context {
        channel,
        ..crate::Context::default()
    };
    if let Err(erro) = crate::Validator::new(role).validate(&bytes, &context) {
        panic!(
            "{} {}: {}",
            erro.error_code.as_str(),
            erro.error_detail,
            String::from_utf8_lossy(&bytes)
        );
    }
    serde_json::from_slice(&bytes).unwrap_or_default()
}
