//! Nested objects carried inside messages. Member names and presence are the
//! dictionary's ([`crate::dictionary`]); a test checks the two agree.

use serde::{Deserialize, Serialize};

use crate::codes::{
    AcsInfoIndicator, AcsInterface, ActionIndicator, PriorAuthMethod, RequestorAuthMethod,
    SdkInterface, UiType,
};
use crate::json::RawJson;

/// Declares a nested-object struct: every member optional, renamed to its wire name.
macro_rules! object {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident: $ty:ty = $json:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(rename = $json, default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }
    };
}

object! {
    /// `messageExtension[]`: data defined by a scheme or region.
    pub struct MessageExtension {
        name: String = "name",
        id: String = "id",
        criticality_indicator: bool = "criticalityIndicator",
        data: RawJson = "data",
    }
}

object! {
    /// `cardRangeData[]` of a PRes.
    pub struct CardRange {
        start_range: String = "startRange",
        end_range: String = "endRange",
        action_ind: ActionIndicator = "actionInd",
        acs_start_protocol_version: String = "acsStartProtocolVersion",
        acs_end_protocol_version: String = "acsEndProtocolVersion",
        ds_start_protocol_version: String = "dsStartProtocolVersion",
        ds_end_protocol_version: String = "dsEndProtocolVersion",
        acs_info_ind: Vec<AcsInfoIndicator> = "acsInfoInd",
        three_ds_method_url: String = "threeDSMethodURL",
        acs_protocol_versions: Vec<AcsProtocolVersion> = "acsProtocolVersions",
    }
}

object! {
    /// `acsProtocolVersions[]` of a 2.3.1 card range.
    pub struct AcsProtocolVersion {
        version: String = "version",
        acs_info_ind: Vec<AcsInfoIndicator> = "acsInfoInd",
        three_ds_method_url: String = "threeDSMethodURL",
        supported_msg_ext: Vec<SupportedMsgExt> = "supportedMsgExt",
    }
}

object! {
    /// `supportedMsgExt[]`.
    pub struct SupportedMsgExt {
        id: String = "id",
        version: String = "version",
    }
}

object! {
    /// `homePhone`, `mobilePhone`, `workPhone`.
    pub struct Phone {
        cc: String = "cc",
        subscriber: String = "subscriber",
    }
}

object! {
    /// `acctInfo`: the cardholder's account with the requestor.
    pub struct AcctInfo {
        ch_acc_age_ind: String = "chAccAgeInd",
        ch_acc_date: String = "chAccDate",
        ch_acc_change_ind: String = "chAccChangeInd",
        ch_acc_change: String = "chAccChange",
        ch_acc_pw_change_ind: String = "chAccPwChangeInd",
        ch_acc_pw_change: String = "chAccPwChange",
        ship_address_usage_ind: String = "shipAddressUsageInd",
        ship_address_usage: String = "shipAddressUsage",
        txn_activity_day: String = "txnActivityDay",
        txn_activity_year: String = "txnActivityYear",
        provision_attempts_day: String = "provisionAttemptsDay",
        nb_purchase_account: String = "nbPurchaseAccount",
        suspicious_acc_activity: String = "suspiciousAccActivity",
        ship_name_indicator: String = "shipNameIndicator",
        payment_acc_ind: String = "paymentAccInd",
        payment_acc_age: String = "paymentAccAge",
    }
}

object! {
    /// `merchantRiskIndicator`.
    pub struct MerchantRiskIndicator {
        ship_indicator: String = "shipIndicator",
        delivery_timeframe: String = "deliveryTimeframe",
        delivery_email_address: String = "deliveryEmailAddress",
        reorder_items_ind: String = "reorderItemsInd",
        pre_order_purchase_ind: String = "preOrderPurchaseInd",
        pre_order_date: String = "preOrderDate",
        gift_card_amount: String = "giftCardAmount",
        gift_card_curr: String = "giftCardCurr",
        gift_card_count: String = "giftCardCount",
    }
}

object! {
    /// `threeDSRequestorAuthenticationInfo` (one item; an array of these in 2.3.1).
    pub struct RequestorAuthInfo {
        method: RequestorAuthMethod = "threeDSReqAuthMethod",
        timestamp: String = "threeDSReqAuthTimestamp",
        data: String = "threeDSReqAuthData",
    }
}

object! {
    /// `threeDSRequestorPriorAuthenticationInfo` (one item; an array of these in 2.3.1).
    pub struct PriorAuthInfo {
        prior_ref: String = "threeDSReqPriorRef",
        method: PriorAuthMethod = "threeDSReqPriorAuthMethod",
        timestamp: String = "threeDSReqPriorAuthTimestamp",
        data: String = "threeDSReqPriorAuthData",
    }
}

object! {
    /// `deviceRenderOptions`: what the SDK can render.
    pub struct DeviceRenderOptions {
        sdk_interface: SdkInterface = "sdkInterface",
        sdk_ui_type: Vec<UiType> = "sdkUiType",
        sdk_authentication_type: Vec<String> = "sdkAuthenticationType",
    }
}

object! {
    /// `acsRenderingType`: the UI the ACS chose for an app challenge.
    pub struct AcsRenderingType {
        acs_interface: AcsInterface = "acsInterface",
        acs_ui_template: UiType = "acsUiTemplate",
        device_user_interface_mode: String = "deviceUserInterfaceMode",
    }
}

object! {
    /// `recurringInd` (2.3.1).
    pub struct RecurringInd {
        amount_ind: String = "amountInd",
        frequency_ind: String = "frequencyInd",
    }
}

object! {
    /// `defaultSdkType` (2.3.1).
    pub struct DefaultSdkType {
        sdk_variant: String = "sdkVariant",
        wrapped_ind: String = "wrappedInd",
    }
}

object! {
    /// `splitSdkType` (2.3.1).
    pub struct SplitSdkType {
        split_sdk_variant: String = "splitSdkVariant",
        limited_ind: String = "limitedInd",
    }
}

object! {
    /// The 2.3.1 object form of `cardholderInfo`.
    pub struct CardholderInfoDetails {
        text: String = "text",
        issuer_image: RawJson = "issuerImage",
        payment_system_image: RawJson = "paymentSystemImage",
    }
}

object! {
    /// `spcTransData` (2.3.1): what the requestor page passes to the SPC dialog.
    pub struct SpcTransData {
        challenge: String = "challenge",
        timeout: u64 = "timeout",
        payee_origin: String = "payeeOrigin",
        payee_name: String = "payeeName",
        display_name: String = "displayName",
        icon: String = "icon",
        value: String = "value",
        currency: String = "currency",
    }
}

object! {
    /// `webAuthnCredList[]` (2.3.1).
    pub struct WebAuthnCredentials {
        credential_ids: Vec<String> = "credentialIds",
        rp_id: String = "rpID",
    }
}

/// `cardholderInfo`: text up to 2.2.0, an object in 2.3.1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CardholderInfo {
    Text(String),
    Details(CardholderInfoDetails),
}
