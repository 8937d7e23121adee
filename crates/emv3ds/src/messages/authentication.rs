//! `AReq` / `ARes`: the authentication request and its answer.

use serde::{Deserialize, Serialize};

use super::{
    AcctInfo, AcsRenderingType, CardholderInfo, DefaultSdkType, DeviceRenderOptions,
    MerchantRiskIndicator, MessageExtension, Phone, PriorAuthInfo, RecurringInd, RequestorAuthInfo,
    SpcTransData, SplitSdkType, WebAuthnCredentials, message,
};
use crate::codes::{
    AuthenticationIndicator, AuthenticationMethod, AuthenticationType, ChallengeIndicator,
    DecoupledRequest, DeviceChannel, MessageCategory, SpcIncompletion, ThreeDsMethodCompletion,
    ThreeRiIndicator, TransStatus, TransStatusReason,
};
use crate::json::RawJson;
use crate::values::{OneOrMany, Pan, TransId};

message! {
    /// Authentication request: 3DS Server → DS → ACS.
    ///
    /// A 2.2.0 browser AReq:
    ///
    /// ```json
    #[doc = include_str!("../../tests/data/valid/2.2.0/AReq-browser.json")]
    /// ```
    ///
    /// A 2.3.1 app AReq as the ACS receives it (the DS has replaced `sdkEncData` with
    /// `deviceInfo` and added its ids):
    ///
    /// ```json
    #[doc = include_str!("../../tests/data/valid/2.3.1/AReq-app-to-acs.json")]
    /// ```
    pub struct AReq {
        three_ds_server_trans_id: TransId = "threeDSServerTransID",
        ds_trans_id: TransId = "dsTransID",
        sdk_trans_id: TransId = "sdkTransID",
        device_channel: DeviceChannel = "deviceChannel",
        message_category: MessageCategory = "messageCategory",
        three_ds_comp_ind: ThreeDsMethodCompletion = "threeDSCompInd",
        three_ds_requestor_authentication_ind: AuthenticationIndicator = "threeDSRequestorAuthenticationInd",
        three_ds_requestor_challenge_ind: OneOrMany<ChallengeIndicator> = "threeDSRequestorChallengeInd",
        three_ds_requestor_authentication_info: OneOrMany<RequestorAuthInfo> = "threeDSRequestorAuthenticationInfo",
        three_ds_requestor_prior_authentication_info: OneOrMany<PriorAuthInfo> = "threeDSRequestorPriorAuthenticationInfo",
        three_ds_req_auth_method_ind: String = "threeDSReqAuthMethodInd",
        three_ds_requestor_dec_req_ind: DecoupledRequest = "threeDSRequestorDecReqInd",
        three_ds_requestor_dec_max_time: String = "threeDSRequestorDecMaxTime",
        three_ri_ind: ThreeRiIndicator = "threeRIInd",
        three_ds_requestor_id: String = "threeDSRequestorID",
        three_ds_requestor_name: String = "threeDSRequestorName",
        three_ds_requestor_url: String = "threeDSRequestorURL",
        three_ds_server_ref_number: String = "threeDSServerRefNumber",
        three_ds_server_operator_id: String = "threeDSServerOperatorID",
        three_ds_server_url: String = "threeDSServerURL",
        ds_reference_number: String = "dsReferenceNumber",
        ds_url: String = "dsURL",
        acquirer_bin: String = "acquirerBIN",
        acquirer_merchant_id: String = "acquirerMerchantID",
        acquirer_country_code: String = "acquirerCountryCode",
        acquirer_country_code_source: String = "acquirerCountryCodeSource",
        mcc: String = "mcc",
        merchant_country_code: String = "merchantCountryCode",
        merchant_name: String = "merchantName",
        acct_number: Pan = "acctNumber",
        card_expiry_date: String = "cardExpiryDate",
        acct_type: String = "acctType",
        acct_id: String = "acctID",
        card_security_code: String = "cardSecurityCode",
        purchase_amount: String = "purchaseAmount",
        purchase_currency: String = "purchaseCurrency",
        purchase_exponent: String = "purchaseExponent",
        purchase_date: String = "purchaseDate",
        purchase_instal_data: String = "purchaseInstalData",
        recurring_expiry: String = "recurringExpiry",
        recurring_frequency: String = "recurringFrequency",
        recurring_ind: RecurringInd = "recurringInd",
        recurring_amount: String = "recurringAmount",
        recurring_currency: String = "recurringCurrency",
        recurring_exponent: String = "recurringExponent",
        recurring_date: String = "recurringDate",
        trans_type: String = "transType",
        pay_token_ind: bool = "payTokenInd",
        pay_token_source: String = "payTokenSource",
        pay_token_info: RawJson = "payTokenInfo",
        multi_transaction: RawJson = "multiTransaction",
        seller_info: Vec<RawJson> = "sellerInfo",
        tax_id: String = "taxId",
        cardholder_name: String = "cardholderName",
        email: String = "email",
        home_phone: Phone = "homePhone",
        mobile_phone: Phone = "mobilePhone",
        work_phone: Phone = "workPhone",
        addr_match: String = "addrMatch",
        bill_addr_line1: String = "billAddrLine1",
        bill_addr_line2: String = "billAddrLine2",
        bill_addr_line3: String = "billAddrLine3",
        bill_addr_city: String = "billAddrCity",
        bill_addr_post_code: String = "billAddrPostCode",
        bill_addr_state: String = "billAddrState",
        bill_addr_country: String = "billAddrCountry",
        ship_addr_line1: String = "shipAddrLine1",
        ship_addr_line2: String = "shipAddrLine2",
        ship_addr_line3: String = "shipAddrLine3",
        ship_addr_city: String = "shipAddrCity",
        ship_addr_post_code: String = "shipAddrPostCode",
        ship_addr_state: String = "shipAddrState",
        ship_addr_country: String = "shipAddrCountry",
        acct_info: AcctInfo = "acctInfo",
        merchant_risk_indicator: MerchantRiskIndicator = "merchantRiskIndicator",
        white_list_status: String = "whiteListStatus",
        white_list_status_source: String = "whiteListStatusSource",
        trust_list_status: String = "trustListStatus",
        trust_list_status_source: String = "trustListStatusSource",
        device_binding_status: String = "deviceBindingStatus",
        device_binding_status_source: String = "deviceBindingStatusSource",
        card_security_code_status: String = "cardSecurityCodeStatus",
        card_security_code_status_source: String = "cardSecurityCodeStatusSource",
        browser_accept_header: String = "browserAcceptHeader",
        browser_ip: String = "browserIP",
        browser_java_enabled: bool = "browserJavaEnabled",
        browser_javascript_enabled: bool = "browserJavascriptEnabled",
        browser_language: String = "browserLanguage",
        browser_color_depth: String = "browserColorDepth",
        browser_screen_height: String = "browserScreenHeight",
        browser_screen_width: String = "browserScreenWidth",
        browser_tz: String = "browserTZ",
        browser_user_agent: String = "browserUserAgent",
        accept_language: Vec<String> = "acceptLanguage",
        notification_url: String = "notificationURL",
        three_ds_requestor_spc_support: String = "threeDSRequestorSpcSupport",
        payee_origin: String = "payeeOrigin",
        spc_incomp_ind: SpcIncompletion = "spcIncompInd",
        three_ds_method_id: TransId = "threeDSMethodId",
        device_id: String = "deviceId",
        user_id: String = "userId",
        sdk_app_id: TransId = "sdkAppID",
        sdk_enc_data: String = "sdkEncData",
        device_info: String = "deviceInfo",
        sdk_ephem_pub_key: RawJson = "sdkEphemPubKey",
        sdk_max_timeout: String = "sdkMaxTimeout",
        sdk_reference_number: String = "sdkReferenceNumber",
        device_render_options: DeviceRenderOptions = "deviceRenderOptions",
        sdk_type: String = "sdkType",
        default_sdk_type: DefaultSdkType = "defaultSdkType",
        split_sdk_type: SplitSdkType = "splitSdkType",
        sdk_server_signed_content: String = "sdkServerSignedContent",
        sdk_signature_timestamp: String = "sdkSignatureTimestamp",
        app_ip: String = "appIp",
        broad_info: RawJson = "broadInfo",
        message_extension: Vec<MessageExtension> = "messageExtension",
    }
}

message! {
    /// Authentication response: ACS → DS → 3DS Server.
    ///
    /// A 2.2.0 frictionless ARes:
    ///
    /// ```json
    #[doc = include_str!("../../tests/data/valid/2.2.0/ARes-frictionless.json")]
    /// ```
    ///
    /// A 2.3.1 app challenge:
    ///
    /// ```json
    #[doc = include_str!("../../tests/data/valid/2.3.1/ARes-app-challenge.json")]
    /// ```
    pub struct ARes {
        three_ds_server_trans_id: TransId = "threeDSServerTransID",
        acs_trans_id: TransId = "acsTransID",
        ds_trans_id: TransId = "dsTransID",
        sdk_trans_id: TransId = "sdkTransID",
        acs_reference_number: String = "acsReferenceNumber",
        acs_operator_id: String = "acsOperatorID",
        ds_reference_number: String = "dsReferenceNumber",
        trans_status: TransStatus = "transStatus",
        trans_status_reason: TransStatusReason = "transStatusReason",
        trans_status_reason_info: String = "transStatusReasonInfo",
        authentication_value: String = "authenticationValue",
        eci: String = "eci",
        acs_challenge_mandated: String = "acsChallengeMandated",
        authentication_type: AuthenticationType = "authenticationType",
        authentication_method: OneOrMany<AuthenticationMethod> = "authenticationMethod",
        trans_challenge_exemption: String = "transChallengeExemption",
        acs_url: String = "acsURL",
        acs_signed_content: String = "acsSignedContent",
        acs_rendering_type: AcsRenderingType = "acsRenderingType",
        acs_dec_con_ind: String = "acsDecConInd",
        cardholder_info: CardholderInfo = "cardholderInfo",
        white_list_status: String = "whiteListStatus",
        white_list_status_source: String = "whiteListStatusSource",
        trust_list_status: String = "trustListStatus",
        trust_list_status_source: String = "trustListStatusSource",
        device_binding_status: String = "deviceBindingStatus",
        device_binding_status_source: String = "deviceBindingStatusSource",
        card_security_code_status: String = "cardSecurityCodeStatus",
        card_security_code_status_source: String = "cardSecurityCodeStatusSource",
        device_info_recognised_version: String = "deviceInfoRecognisedVersion",
        three_ds_requestor_app_url_ind: String = "threeDSRequestorAppURLInd",
        spc_trans_data: SpcTransData = "spcTransData",
        web_authn_cred_list: Vec<WebAuthnCredentials> = "webAuthnCredList",
        broad_info: RawJson = "broadInfo",
        message_extension: Vec<MessageExtension> = "messageExtension",
    }
}

impl ARes {
    /// Announces how the challenge (or decoupled authentication) will authenticate the
    /// cardholder, in the element the version uses: `authenticationType` up to 2.2.0,
    /// an `authenticationMethod` array in 2.3.1.
    pub fn announce_method(&mut self, how: super::HowAuthenticated) {
        if self.message_version >= crate::version::MessageVersion::V2_3_1 {
            self.authentication_method = Some(crate::values::OneOrMany::Many(vec![how.method]));
            self.authentication_type = None;
        } else {
            self.authentication_type = Some(how.class);
            self.authentication_method = None;
        }
    }
}
