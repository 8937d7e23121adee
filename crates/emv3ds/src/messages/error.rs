//! `Erro`: what a component answers to a message it cannot accept.

use serde::{Deserialize, Serialize};

use crate::codes::{ErrorCode, ErrorComponent, MessageType};
use crate::values::TransId;
use crate::version::MessageVersion;

/// Error message. Built by [`Validator`](crate::Validator) for every rejected message.
///
/// ```json
#[doc = include_str!("../../tests/data/valid/2.2.0/Erro.json")]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Erro {
    #[serde(rename = "messageVersion")]
    pub message_version: MessageVersion,
    #[serde(
        rename = "threeDSServerTransID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub three_ds_server_trans_id: Option<TransId>,
    #[serde(
        rename = "acsTransID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub acs_trans_id: Option<TransId>,
    #[serde(rename = "dsTransID", default, skip_serializing_if = "Option::is_none")]
    pub ds_trans_id: Option<TransId>,
    #[serde(
        rename = "sdkTransID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sdk_trans_id: Option<TransId>,
    #[serde(rename = "errorCode")]
    pub error_code: ErrorCode,
    #[serde(rename = "errorComponent")]
    pub error_component: ErrorComponent,
    #[serde(rename = "errorDescription")]
    pub error_description: String,
    #[serde(rename = "errorDetail")]
    pub error_detail: String,
    #[serde(
        rename = "errorMessageType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub error_message_type: Option<MessageType>,
}

impl Erro {
    /// The message as JSON, `messageType` first (what a component sends).
    pub fn to_json(&self) -> Vec<u8> {
        super::Message::Erro(self.clone()).to_json()
    }
}
