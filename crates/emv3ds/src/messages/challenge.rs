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

/// What the cardholder did on an app challenge's screen, as an SDK's CReq says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppAnswer {
    /// The first CReq: no answer yet.
    Start,
    /// Text typed (an OTP); empty text is "no entry" (`challengeNoEntry` Y).
    Text(String),
    /// The values of the options chosen (`challengeDataEntry`, comma-separated).
    Select(Vec<String>),
    /// "I have approved it in my app" (`oobContinue`).
    OobContinue,
    /// The HTML template's form data (`challengeHTMLDataEntry`).
    HtmlForm(String),
    /// "Send a new code" (`resendChallenge` Y).
    Resend,
    /// The challenge is abandoned: `01` the cardholder cancelled, `08` the SDK's timer
    /// ran out.
    Cancel(ChallengeCancel),
}

impl CReq {
    /// The CReq a browser posts to the `acsURL` of an ARes `C` (`docs/protocol.md` §1.5).
    pub fn browser(
        version: crate::version::MessageVersion,
        three_ds_server_trans_id: TransId,
        acs_trans_id: TransId,
        window: ChallengeWindowSize,
    ) -> CReq {
        let mut creq = CReq::new(version);
        creq.three_ds_server_trans_id = Some(three_ds_server_trans_id);
        creq.acs_trans_id = Some(acs_trans_id);
        creq.challenge_window_size = Some(window);
        creq
    }

    /// An SDK's CReq number `counter` (`sdkCounterStoA`, three digits) carrying `answer`
    /// in the element the protocol gives it.
    pub fn app(
        version: crate::version::MessageVersion,
        ids: &super::ChallengeIds,
        counter: u16,
        answer: AppAnswer,
    ) -> CReq {
        let mut creq = CReq::new(version);
        creq.three_ds_server_trans_id = Some(ids.three_ds_server.clone());
        creq.acs_trans_id = Some(ids.acs.clone());
        creq.sdk_trans_id.clone_from(&ids.sdk);
        creq.sdk_counter_s_to_a = Some(format!("{:03}", counter.min(999)));
        match answer {
            AppAnswer::Start => {}
            AppAnswer::Text(text) if text.is_empty() => creq.challenge_no_entry = Some("Y".into()),
            AppAnswer::Text(text) => creq.challenge_data_entry = Some(text),
            AppAnswer::Select(values) => creq.challenge_data_entry = Some(values.join(",")),
            AppAnswer::OobContinue => creq.oob_continue = Some(true),
            AppAnswer::HtmlForm(data) => creq.challenge_html_data_entry = Some(data),
            AppAnswer::Resend => creq.resend_challenge = Some("Y".into()),
            AppAnswer::Cancel(why) => creq.challenge_cancel = Some(why),
        }
        creq
    }
}

/// What one screen of an app challenge shows (the native UI's elements; `acsHTML` for
/// the HTML template). [`CRes::screen`] writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Screen {
    pub header: Option<String>,
    /// At most 45 characters.
    pub label: Option<String>,
    pub text: Option<String>,
    /// The text changed since the last screen (after a wrong answer or a resend).
    pub text_changed: bool,
    /// The options of a select template.
    pub options: Vec<SelectOption>,
    pub submit_label: Option<String>,
    pub resend_label: Option<String>,
    pub oob_continue_label: Option<String>,
    /// The HTML template's document (sent base64url-encoded).
    pub html: Option<String>,
}

impl CRes {
    /// The CRes that ends a challenge. A final CRes carries `Y` or `N` only
    /// (`docs/protocol.md` §1.5): any other outcome is `N` here, the RReq tells the rest.
    /// App-channel CRes messages carry the SDK's id and the ACS's counter.
    pub fn final_result(
        version: crate::version::MessageVersion,
        ids: &super::ChallengeIds,
        outcome: TransStatus,
        acs_counter: Option<&str>,
    ) -> CRes {
        let mut cres = CRes::identified(version, ids, acs_counter);
        cres.challenge_completion_ind = Some("Y".into());
        cres.trans_status = Some(if outcome == TransStatus::Y {
            TransStatus::Y
        } else {
            TransStatus::N
        });
        cres
    }

    /// An app challenge's next screen, in `template` (`acsUiType`).
    pub fn screen(
        version: crate::version::MessageVersion,
        ids: &super::ChallengeIds,
        acs_counter: &str,
        template: UiType,
        screen: Screen,
    ) -> CRes {
        use base64::Engine as _;
        let mut cres = CRes::identified(version, ids, Some(acs_counter));
        cres.challenge_completion_ind = Some("N".into());
        cres.acs_ui_type = Some(template);
        cres.acs_html = screen
            .html
            .map(|html| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(html));
        cres.challenge_info_header = screen.header;
        cres.challenge_info_label = screen.label;
        cres.challenge_info_text = screen.text;
        cres.challenge_info_text_indicator = screen.text_changed.then(|| "Y".into());
        cres.challenge_select_info = (!screen.options.is_empty()).then_some(screen.options);
        cres.submit_authentication_label = screen.submit_label;
        cres.resend_information_label = screen.resend_label;
        cres.oob_continue_label = screen.oob_continue_label;
        cres
    }

    fn identified(
        version: crate::version::MessageVersion,
        ids: &super::ChallengeIds,
        acs_counter: Option<&str>,
    ) -> CRes {
        let mut cres = CRes::new(version);
        cres.three_ds_server_trans_id = Some(ids.three_ds_server.clone());
        cres.acs_trans_id = Some(ids.acs.clone());
        cres.sdk_trans_id.clone_from(&ids.sdk);
        cres.acs_counter_a_to_s = acs_counter.map(str::to_owned);
        cres
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::DeviceChannel;
    use crate::messages::ChallengeIds;
    use crate::version::MessageVersion;
    use crate::{Message, Role};

    fn id(n: u8) -> TransId {
        TransId::from_random_bytes([n; 16])
    }

    fn ids(sdk: bool) -> ChallengeIds {
        ChallengeIds {
            three_ds_server: TransId::from_random_bytes([1; 16]),
            acs: TransId::from_random_bytes([2; 16]),
            ds: Some(TransId::from_random_bytes([3; 16])),
            sdk: sdk.then(|| TransId::from_random_bytes([4; 16])),
        }
    }

    fn valid(cres: CRes, channel: DeviceChannel) -> serde_json::Value {
        crate::messages::taken_by(Role::Sdk, Some(channel), &Message::CRes(Box::new(cres)))
    }

    #[test]
    fn every_creq_an_sdk_or_a_browser_sends_is_one_the_acs_takes() {
        let answers = [
            AppAnswer::Start,
            AppAnswer::Text("123456".into()),
            AppAnswer::Text(String::new()),
            AppAnswer::Select(vec!["a".into(), "c".into()]),
            AppAnswer::OobContinue,
            AppAnswer::HtmlForm("otp=123456".into()),
            AppAnswer::Resend,
            AppAnswer::Cancel(ChallengeCancel::CardholderCancelled),
            AppAnswer::Cancel(ChallengeCancel::TimeoutAtSdk),
        ];
        for version in MessageVersion::ALL {
            for answer in answers.clone() {
                let creq = CReq::app(version, &ids(true), 7, answer);
                let json = crate::messages::taken_by(
                    Role::Acs,
                    Some(DeviceChannel::App),
                    &Message::CReq(creq),
                );
                assert_eq!(json["sdkCounterStoA"], "007");
            }
            let creq = CReq::browser(version, id(1), id(2), ChallengeWindowSize::FullScreen);
            let json = crate::messages::taken_by(
                Role::Acs,
                Some(DeviceChannel::Browser),
                &Message::CReq(creq),
            );
            assert_eq!(json["challengeWindowSize"], "05");
        }
        let select = CReq::app(
            MessageVersion::V2_2_0,
            &ids(true),
            1,
            AppAnswer::Select(vec!["a".into(), "c".into()]),
        );
        assert_eq!(select.challenge_data_entry.as_deref(), Some("a,c"));
        let none = CReq::app(
            MessageVersion::V2_2_0,
            &ids(true),
            1,
            AppAnswer::Text(String::new()),
        );
        assert_eq!(
            (
                none.challenge_no_entry.as_deref(),
                none.challenge_data_entry
            ),
            (Some("Y"), None)
        );
    }

    #[test]
    fn a_final_cres_says_y_or_n_and_nothing_else() {
        for version in MessageVersion::ALL {
            for (outcome, says) in [
                (TransStatus::Y, "Y"),
                (TransStatus::N, "N"),
                (TransStatus::U, "N"),
                (TransStatus::R, "N"),
            ] {
                let browser = valid(
                    CRes::final_result(version, &ids(false), outcome, None),
                    DeviceChannel::Browser,
                );
                assert_eq!(browser["transStatus"], says);
                assert_eq!(browser["challengeCompletionInd"], "Y");
                assert!(
                    browser.get("sdkTransID").is_none() && browser.get("acsCounterAtoS").is_none()
                );
                let app = valid(
                    CRes::final_result(version, &ids(true), outcome, Some("003")),
                    DeviceChannel::App,
                );
                assert_eq!(app["acsCounterAtoS"], "003");
            }
        }
    }

    #[test]
    fn every_screen_template_makes_a_cres_the_sdk_takes() {
        let text = Screen {
            header: Some("Confirm your payment".into()),
            label: Some("Enter the 6-digit code".into()),
            text: Some("We sent a code.".into()),
            submit_label: Some("Confirm payment".into()),
            resend_label: Some("Send a new code".into()),
            ..Screen::default()
        };
        let select = Screen {
            options: vec![SelectOption {
                value: "a".into(),
                label: "Apple".into(),
            }],
            ..text.clone()
        };
        let oob = Screen {
            text: Some("Approve it in your app.".into()),
            oob_continue_label: Some("Continue".into()),
            ..Screen::default()
        };
        let html = Screen {
            html: Some("<form></form>".into()),
            ..Screen::default()
        };
        for version in MessageVersion::ALL {
            for (template, screen) in [
                (UiType::Text, &text),
                (UiType::SingleSelect, &select),
                (UiType::MultiSelect, &select),
                (UiType::Oob, &oob),
                (UiType::HtmlOther, &html),
            ] {
                let cres = valid(
                    CRes::screen(version, &ids(true), "001", template, screen.clone()),
                    DeviceChannel::App,
                );
                assert_eq!(cres["challengeCompletionInd"], "N");
                assert_eq!(cres["acsUiType"], template.as_str());
            }
        }
        let changed = CRes::screen(
            MessageVersion::V2_2_0,
            &ids(true),
            "001",
            UiType::Text,
            Screen {
                text_changed: true,
                ..text
            },
        );
        assert_eq!(changed.challenge_info_text_indicator.as_deref(), Some("Y"));
        let html = CRes::screen(
            MessageVersion::V2_2_0,
            &ids(true),
            "001",
            UiType::HtmlOther,
            html,
        );
        assert_eq!(html.acs_html.as_deref(), Some("PGZvcm0-PC9mb3JtPg"));
    }
}
