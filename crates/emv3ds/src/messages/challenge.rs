//! `CReq` / `CRes`: the challenge exchange between the browser or SDK and the ACS.

use serde::{Deserialize, Serialize};

use super::{MessageExtension, message};
use crate::codes::{ChallengeCancel, ChallengeWindowSize, TransStatus, UiType};
use crate::json::RawJson;
use crate::values::{SelectOption, TransId};

message! {
    /// Challenge request: browser (form post) or SDK (JWE) → ACS.
    ///
    /// An app CReq answering an OTP screen:
    ///
    /// ```json
    #[doc = include_str!("../../tests/data/valid/2.2.0/CReq-app.json")]
    /// ```
    pub struct CReq {
        three_ds_server_trans_id: TransId = "threeDSServerTransID",
        acs_trans_id: TransId = "acsTransID",
        sdk_trans_id: TransId = "sdkTransID",
        sdk_counter_s_to_a: String = "sdkCounterStoA",
        challenge_window_size: ChallengeWindowSize = "challengeWindowSize",
        challenge_data_entry: String = "challengeDataEntry",
        challenge_data_entry_two: String = "challengeDataEntryTwo",
        challenge_add_code: String = "challengeAddCode",
        challenge_no_entry: String = "challengeNoEntry",
        challenge_html_data_entry: String = "challengeHTMLDataEntry",
        challenge_cancel: ChallengeCancel = "challengeCancel",
        oob_continue: bool = "oobContinue",
        resend_challenge: String = "resendChallenge",
        three_ds_requestor_app_url: String = "threeDSRequestorAppURL",
        whitelisting_data_entry: String = "whitelistingDataEntry",
        trust_list_data_entry: String = "trustListDataEntry",
        device_binding_data_entry: String = "deviceBindingDataEntry",
        info_continue_indicator: String = "infoContinueIndicator",
        oob_app_status: String = "oobAppStatus",
        oob_app_url_ind: String = "oobAppURLInd",
        message_extension: Vec<MessageExtension> = "messageExtension",
    }
}

message! {
    /// Challenge response: ACS → browser or SDK.
    ///
    /// An app CRes showing a single-select screen:
    ///
    /// ```json
    #[doc = include_str!("../../tests/data/valid/2.2.0/CRes-app-select.json")]
    /// ```
    pub struct CRes {
        three_ds_server_trans_id: TransId = "threeDSServerTransID",
        acs_trans_id: TransId = "acsTransID",
        sdk_trans_id: TransId = "sdkTransID",
        acs_counter_a_to_s: String = "acsCounterAtoS",
        challenge_completion_ind: String = "challengeCompletionInd",
        trans_status: TransStatus = "transStatus",
        acs_ui_type: UiType = "acsUiType",
        acs_html: String = "acsHTML",
        acs_html_refresh: String = "acsHTMLRefresh",
        challenge_info_header: String = "challengeInfoHeader",
        challenge_info_label: String = "challengeInfoLabel",
        challenge_info_text: String = "challengeInfoText",
        challenge_info_text_indicator: String = "challengeInfoTextIndicator",
        challenge_add_info: String = "challengeAddInfo",
        challenge_select_info: Vec<SelectOption> = "challengeSelectInfo",
        submit_authentication_label: String = "submitAuthenticationLabel",
        resend_information_label: String = "resendInformationLabel",
        expand_info_label: String = "expandInfoLabel",
        expand_info_text: String = "expandInfoText",
        why_info_label: String = "whyInfoLabel",
        why_info_text: String = "whyInfoText",
        oob_continue_label: String = "oobContinueLabel",
        oob_app_url: String = "oobAppURL",
        oob_app_label: String = "oobAppLabel",
        issuer_image: RawJson = "issuerImage",
        ps_image: RawJson = "psImage",
        whitelisting_info_text: String = "whitelistingInfoText",
        trust_list_info_text: String = "trustListInfoText",
        challenge_add_label: String = "challengeAddLabel",
        challenge_entry_box: String = "challengeEntryBox",
        challenge_entry_box_two: String = "challengeEntryBoxTwo",
        device_binding_info_text: String = "deviceBindingInfoText",
        info_continue_label: String = "infoContinueLabel",
        toggle_position_ind: String = "togglePositionInd",
        message_extension: Vec<MessageExtension> = "messageExtension",
    }
}
