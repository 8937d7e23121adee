//! `RReq` / `RRes`: the ACS reports the result of a challenge or decoupled authentication.

use serde::{Deserialize, Serialize};

use super::{AcsRenderingType, CardholderInfo, MessageExtension, message};
use crate::codes::{
    AuthenticationMethod, AuthenticationType, ChallengeCancel, MessageCategory, ResultsStatus,
    TransStatus, TransStatusReason,
};
use crate::json::RawJson;
use crate::values::{OneOrMany, TransId};

message! {
    /// Results request: ACS → DS → 3DS Server.
    ///
    /// ```json
    #[doc = include_str!("../../tests/data/valid/2.2.0/RReq-browser.json")]
    /// ```
    pub struct RReq {
        three_ds_server_trans_id: TransId = "threeDSServerTransID",
        acs_trans_id: TransId = "acsTransID",
        ds_trans_id: TransId = "dsTransID",
        sdk_trans_id: TransId = "sdkTransID",
        message_category: MessageCategory = "messageCategory",
        trans_status: TransStatus = "transStatus",
        trans_status_reason: TransStatusReason = "transStatusReason",
        trans_status_reason_info: String = "transStatusReasonInfo",
        authentication_value: String = "authenticationValue",
        eci: String = "eci",
        authentication_type: AuthenticationType = "authenticationType",
        authentication_method: OneOrMany<AuthenticationMethod> = "authenticationMethod",
        interaction_counter: String = "interactionCounter",
        acs_rendering_type: AcsRenderingType = "acsRenderingType",
        challenge_cancel: ChallengeCancel = "challengeCancel",
        challenge_error_reporting: RawJson = "challengeErrorReporting",
        white_list_status: String = "whiteListStatus",
        white_list_status_source: String = "whiteListStatusSource",
        trust_list_status: String = "trustListStatus",
        trust_list_status_source: String = "trustListStatusSource",
        device_binding_status: String = "deviceBindingStatus",
        device_binding_status_source: String = "deviceBindingStatusSource",
        cardholder_info: CardholderInfo = "cardholderInfo",
        message_extension: Vec<MessageExtension> = "messageExtension",
    }
}

message! {
    /// Results response: 3DS Server → DS → ACS.
    ///
    /// ```json
    #[doc = include_str!("../../tests/data/valid/2.2.0/RRes.json")]
    /// ```
    pub struct RRes {
        three_ds_server_trans_id: TransId = "threeDSServerTransID",
        acs_trans_id: TransId = "acsTransID",
        ds_trans_id: TransId = "dsTransID",
        sdk_trans_id: TransId = "sdkTransID",
        results_status: ResultsStatus = "resultsStatus",
        message_extension: Vec<MessageExtension> = "messageExtension",
    }
}
