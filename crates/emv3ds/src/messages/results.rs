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

/// The ids every message of one challenge carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeIds {
    pub three_ds_server: TransId,
    pub acs: TransId,
    /// The DS's: unknown to an SDK (its challenge parameters do not carry it), which
    /// sends no message that needs it.
    pub ds: Option<TransId>,
    /// The SDK's, in the app channel only.
    pub sdk: Option<TransId>,
}

/// How the cardholder was authenticated, in both of the protocol's vocabularies:
/// `authenticationType` (a class, 2.1.0 and 2.2.0) and `authenticationMethod` (the
/// method, 2.3.1). [`RReq::result`] writes the one the version uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HowAuthenticated {
    pub class: AuthenticationType,
    pub method: AuthenticationMethod,
}

/// What an ACS reports when a challenge or decoupled authentication ends: the facts
/// [`RReq::result`] turns into the version's RReq.
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeResult {
    pub version: crate::version::MessageVersion,
    pub category: MessageCategory,
    pub ids: ChallengeIds,
    pub trans_status: TransStatus,
    pub reason: Option<TransStatusReason>,
    pub cancel: Option<ChallengeCancel>,
    /// By the scheme's convention for this status.
    pub eci: Option<String>,
    pub authentication_value: Option<String>,
    /// None when the challenge ended without the cardholder authenticating (cancelled,
    /// timed out).
    pub how: Option<HowAuthenticated>,
    /// App channel: the UI the challenge used.
    pub rendering: Option<AcsRenderingType>,
    /// The authentication cycles the cardholder went through; none for a decoupled
    /// authentication, which has no challenge UI.
    pub interaction_counter: Option<u8>,
}

impl RReq {
    /// The RReq reporting `result`, with each version's rules applied here once:
    ///
    /// - `transStatusReason` and `authenticationValue` belong to payment
    ///   authentications (the dictionary's `PA_NOT_AUTHENTICATED` / `PA_AUTHENTICATED`),
    ///   the value only to `Y` and `A`;
    /// - the method is `authenticationType` up to 2.2.0 and an `authenticationMethod`
    ///   array in 2.3.1;
    /// - `sdkTransID` exists from 2.2.0 (a dictionary decision, `docs/protocol.md` §3.4);
    /// - `interactionCounter` is two digits, at most 99.
    pub fn result(result: &ChallengeResult) -> RReq {
        use crate::version::MessageVersion;
        let payment = result.category == MessageCategory::Payment;
        let authenticated = matches!(result.trans_status, TransStatus::Y | TransStatus::A);
        let mut rreq = RReq::new(result.version);
        rreq.three_ds_server_trans_id = Some(result.ids.three_ds_server.clone());
        rreq.acs_trans_id = Some(result.ids.acs.clone());
        rreq.ds_trans_id.clone_from(&result.ids.ds);
        rreq.message_category = Some(result.category);
        rreq.trans_status = Some(result.trans_status);
        rreq.trans_status_reason = result.reason.filter(|_| payment);
        rreq.challenge_cancel = result.cancel;
        rreq.eci.clone_from(&result.eci);
        rreq.authentication_value = result
            .authentication_value
            .clone()
            .filter(|_| payment && authenticated);
        if let Some(how) = result.how {
            if result.version >= MessageVersion::V2_3_1 {
                rreq.authentication_method = Some(OneOrMany::Many(vec![how.method]));
            } else {
                rreq.authentication_type = Some(how.class);
            }
        }
        if result.version >= MessageVersion::V2_2_0 {
            rreq.sdk_trans_id.clone_from(&result.ids.sdk);
        }
        rreq.acs_rendering_type.clone_from(&result.rendering);
        rreq.interaction_counter = result
            .interaction_counter
            .map(|n| format!("{:02}", n.min(99)));
        rreq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;
    use crate::version::MessageVersion;

    fn id(n: u8) -> TransId {
        TransId::from_random_bytes([n; 16])
    }

    fn result(version: MessageVersion, status: TransStatus) -> ChallengeResult {
        ChallengeResult {
            version,
            category: MessageCategory::Payment,
            ids: ChallengeIds {
                three_ds_server: id(1),
                acs: id(2),
                ds: Some(id(3)),
                sdk: None,
            },
            trans_status: status,
            reason: (status != TransStatus::Y)
                .then_some(TransStatusReason::CardAuthenticationFailed),
            cancel: None,
            eci: Some("05".into()),
            authentication_value: Some("AJkBBkhgQQAAAE4gSEJydQAAAAA=".into()),
            how: Some(HowAuthenticated {
                class: AuthenticationType::Dynamic,
                method: AuthenticationMethod::SmsOtp,
            }),
            rendering: None,
            interaction_counter: Some(1),
        }
    }

    fn valid(rreq: &RReq) -> serde_json::Value {
        crate::messages::taken_by(
            Role::DirectoryServer,
            None,
            &crate::Message::RReq(rreq.clone()),
        )
    }

    #[test]
    fn every_version_writes_the_method_its_own_way_and_the_dictionary_takes_it() {
        for version in MessageVersion::ALL {
            for status in [TransStatus::Y, TransStatus::N] {
                let rreq = valid(&RReq::result(&result(version, status)));
                if version == MessageVersion::V2_3_1 {
                    assert_eq!(
                        rreq["authenticationMethod"],
                        serde_json::json!(["02"]),
                        "{rreq}"
                    );
                    assert!(rreq.get("authenticationType").is_none(), "{rreq}");
                } else {
                    assert_eq!(rreq["authenticationType"], "02", "{rreq}");
                    assert!(rreq.get("authenticationMethod").is_none(), "{rreq}");
                }
                assert_eq!(rreq["interactionCounter"], "01");
                assert_eq!(
                    rreq.get("authenticationValue").is_some(),
                    status == TransStatus::Y,
                    "{rreq}"
                );
                assert_eq!(
                    rreq.get("transStatusReason").is_some(),
                    status == TransStatus::N,
                    "{rreq}"
                );
            }
        }
    }

    #[test]
    fn a_non_payment_result_carries_no_reason_and_no_value_and_sdk_ids_start_in_2_2_0() {
        for version in MessageVersion::ALL {
            let mut r = result(version, TransStatus::N);
            r.category = MessageCategory::NonPayment;
            r.ids.sdk = Some(id(4));
            r.rendering = Some(AcsRenderingType {
                acs_interface: Some(crate::codes::AcsInterface::Native),
                acs_ui_template: Some(crate::codes::UiType::Text),
                ..AcsRenderingType::default()
            });
            let rreq = RReq::result(&r);
            assert_eq!(rreq.trans_status_reason, None);
            assert_eq!(rreq.authentication_value, None);
            assert_eq!(
                rreq.sdk_trans_id.is_some(),
                version != MessageVersion::V2_1_0
            );
            r.category = MessageCategory::Payment;
            r.ids.sdk = None;
            r.rendering = None;
            valid(&RReq::result(&r));
        }
    }

    #[test]
    fn the_interaction_counter_has_two_digits() {
        let mut r = result(MessageVersion::V2_2_0, TransStatus::Y);
        r.interaction_counter = Some(250);
        assert_eq!(RReq::result(&r).interaction_counter.as_deref(), Some("99"));
        r.interaction_counter = None;
        assert_eq!(RReq::result(&r).interaction_counter, None);
    }
}
