//! The table of data elements (see the parent module for how to read it).
//!
//! Sources are the project's protocol notes (`docs/protocol.md`); section numbers in
//! comments refer to it. Elements are grouped by the message that introduces them.

use super::conditions as c;
use super::{Channels, Element, Form, Member, Messages, ObjectDef, Presence, Rule, Type, Usage};
use crate::codes::*;
use crate::dictionary::format::{DateFormat, Format};
use crate::version::Versions;

use MessageType::*;
use Presence::{Conditional as C, Optional as O, Required as R};

// ---- helpers that keep the table readable ---------------------------------------------

const ALL: Versions = Versions::ALL;
const V22: Versions = Versions::FROM_2_2;
const V21_22: Versions = Versions::UP_TO_2_2;
const ONLY22: Versions = Versions::ONLY_2_2;
const V23: Versions = Versions::ONLY_2_3;
const V21: Versions = Versions::ONLY_2_1;

const ANY: Channels = Channels::ANY;
const APP: Channels = Channels::APP;
const BRW: Channels = Channels::BRW;
const RI: Channels = Channels::RI;
const APP_BRW: Channels = Channels::APP_BRW;

const fn r(versions: Versions, channels: Channels, presence: Presence) -> Rule {
    Rule {
        versions,
        channels,
        presence,
    }
}
const fn f(versions: Versions, ty: Type) -> Form {
    Form { versions, ty }
}
const fn u(messages: Messages, rules: &'static [Rule]) -> Usage {
    Usage { messages, rules }
}
const fn m(types: &[MessageType]) -> Messages {
    Messages::of(types)
}
const fn s(format: Format) -> Type {
    Type::Str(format)
}
const fn text(min: u16, max: u16) -> Type {
    Type::Str(Format::Text { min, max })
}
const fn digits(min: u8, max: u8) -> Type {
    Type::Str(Format::Digits { min, max })
}
const fn code(table: &'static CodeTable) -> Type {
    Type::Str(Format::Code(table))
}
const fn one_of(list: &'static [&'static str]) -> Type {
    Type::Str(Format::OneOf(list))
}
const fn codes(table: &'static CodeTable, min: usize, max: usize) -> Type {
    Type::StrArray {
        item: Format::Code(table),
        min,
        max,
    }
}
const fn date(d: DateFormat) -> Type {
    Type::Str(Format::Date(d))
}
const fn url(max: u16) -> Type {
    Type::Str(Format::Url { max })
}
const fn https(max: u16) -> Type {
    Type::Str(Format::HttpsUrl { max })
}
const fn mem(
    name: &'static str,
    doc: &'static str,
    forms: &'static [Form],
    rules: &'static [Rule],
) -> Member {
    Member {
        name,
        doc,
        forms,
        rules,
    }
}
const fn el(
    name: &'static str,
    doc: &'static str,
    forms: &'static [Form],
    usage: &'static [Usage],
) -> Element {
    Element {
        name,
        doc,
        forms,
        usage,
    }
}

const REQ: &[Rule] = &[r(ALL, ANY, R)];
const OPT: &[Rule] = &[r(ALL, ANY, O)];
const OPT_23: &[Rule] = &[r(V23, ANY, O)];
const REQ_APP: &[Rule] = &[r(ALL, APP, R)];
const OPT_APP: &[Rule] = &[r(ALL, APP, O)];
const REQ_BRW: &[Rule] = &[r(ALL, BRW, R)];
const OPT_BRW: &[Rule] = &[r(ALL, BRW, O)];
const OPT_APP_BRW: &[Rule] = &[r(ALL, APP_BRW, O)];

const YN: &[&str] = &["Y", "N"];
const Y_ONLY: &[&str] = &["Y"];
const D8: DateFormat = DateFormat::Yyyymmdd;
const D12: DateFormat = DateFormat::Yyyymmddhhmm;
const D14: DateFormat = DateFormat::Yyyymmddhhmmss;

const UUID: &[Form] = &[f(ALL, s(Format::Uuid))];
const REF32: &[Form] = &[f(ALL, text(1, 32))];
const VERSION: &[Form] = &[f(ALL, s(Format::Version))];
const YN_FORM: &[Form] = &[f(ALL, one_of(YN))];

// ---- nested objects -------------------------------------------------------------------

pub static MESSAGE_EXTENSION: ObjectDef = ObjectDef {
    name: "messageExtension",
    open: false,
    members: &[
        mem(
            "name",
            "Name of the extension as defined by its owner.",
            &[f(ALL, text(1, 64))],
            REQ,
        ),
        mem(
            "id",
            "Identifier of the extension (prefixed with the owner's RID).",
            &[f(ALL, text(1, 64))],
            REQ,
        ),
        mem(
            "criticalityIndicator",
            "Whether the receiver must recognise the extension (202 if not).",
            &[f(ALL, Type::Bool)],
            REQ,
        ),
        mem(
            "data",
            "The extension's data: any JSON, at most 8059 characters.",
            &[f(ALL, Type::Any { max_len: 8059 })],
            REQ,
        ),
    ],
};

const MESSAGE_EXTENSION_FORMS: &[Form] = &[
    f(
        V21_22,
        Type::ObjArray {
            def: &MESSAGE_EXTENSION,
            min: 1,
            max: 10,
        },
    ),
    f(
        V23,
        Type::ObjArray {
            def: &MESSAGE_EXTENSION,
            min: 1,
            max: 15,
        },
    ),
];

pub static SUPPORTED_MSG_EXT: ObjectDef = ObjectDef {
    name: "supportedMsgExt",
    open: false,
    members: &[
        mem(
            "id",
            "Message extension identifier.",
            &[f(ALL, text(1, 64))],
            REQ,
        ),
        mem(
            "version",
            "Message extension version.",
            &[f(ALL, text(1, 10))],
            REQ,
        ),
    ],
};

pub static ACS_PROTOCOL_VERSION: ObjectDef = ObjectDef {
    name: "acsProtocolVersions",
    open: false,
    members: &[
        mem(
            "version",
            "A protocol version the ACS supports for the range.",
            VERSION,
            REQ,
        ),
        mem(
            "acsInfoInd",
            "ACS capabilities for this version.",
            &[f(ALL, codes(&AcsInfoIndicator::TABLE, 1, 99))],
            OPT,
        ),
        mem(
            "threeDSMethodURL",
            "The ACS's 3DS Method URL for this version.",
            &[f(ALL, url(256))],
            OPT,
        ),
        mem(
            "supportedMsgExt",
            "Message extensions the ACS supports.",
            &[f(
                ALL,
                Type::ObjArray {
                    def: &SUPPORTED_MSG_EXT,
                    min: 1,
                    max: 10,
                },
            )],
            OPT,
        ),
    ],
};

/// Card range data of a PRes (§1.2). 2.3.1 replaces the flat version fields with
/// `acsProtocolVersions`. Decision: in 2.3.1 only the four members below, as the fact
/// sheet lists no others.
pub static CARD_RANGE: ObjectDef = ObjectDef {
    name: "cardRangeData",
    open: false,
    members: &[
        mem(
            "startRange",
            "First PAN of the range (13–19 digits).",
            &[f(ALL, digits(13, 19))],
            REQ,
        ),
        mem(
            "endRange",
            "Last PAN of the range (13–19 digits).",
            &[f(ALL, digits(13, 19))],
            REQ,
        ),
        mem(
            "actionInd",
            "What to do with the range in the cache; A when absent.",
            &[f(ALL, code(&ActionIndicator::TABLE))],
            OPT,
        ),
        mem(
            "acsStartProtocolVersion",
            "Lowest version the ACS supports.",
            VERSION,
            &[r(V21_22, ANY, R)],
        ),
        mem(
            "acsEndProtocolVersion",
            "Highest version the ACS supports.",
            VERSION,
            &[r(V21_22, ANY, R)],
        ),
        mem(
            "dsStartProtocolVersion",
            "Lowest version the DS supports for the range.",
            VERSION,
            &[r(V21_22, ANY, O)],
        ),
        mem(
            "dsEndProtocolVersion",
            "Highest version the DS supports for the range.",
            VERSION,
            &[r(V21_22, ANY, O)],
        ),
        mem(
            "acsInfoInd",
            "ACS capabilities for the range.",
            &[f(ALL, codes(&AcsInfoIndicator::TABLE, 1, 99))],
            &[r(V21_22, ANY, O)],
        ),
        mem(
            "threeDSMethodURL",
            "The ACS's 3DS Method URL for the range.",
            &[f(ALL, url(256))],
            &[r(V21_22, ANY, O)],
        ),
        mem(
            "acsProtocolVersions",
            "Per supported version: capabilities, 3DS Method URL, extensions.",
            &[f(
                ALL,
                Type::ObjArray {
                    def: &ACS_PROTOCOL_VERSION,
                    min: 1,
                    max: 10,
                },
            )],
            &[r(V23, ANY, R)],
        ),
    ],
};

pub static PHONE: ObjectDef = ObjectDef {
    name: "phone",
    open: false,
    members: &[
        mem("cc", "Country calling code.", &[f(ALL, digits(1, 3))], REQ),
        mem(
            "subscriber",
            "Subscriber number.",
            &[f(ALL, digits(1, 15))],
            REQ,
        ),
    ],
};

macro_rules! coded_member {
    ($name:literal, $doc:literal, [$($v:literal),*]) => {
        mem($name, $doc, &[f(ALL, one_of(&[$($v),*]))], OPT)
    };
}

pub static ACCT_INFO: ObjectDef = ObjectDef {
    name: "acctInfo",
    open: false,
    members: &[
        coded_member!(
            "chAccAgeInd",
            "How long the cardholder has had the account with the requestor.",
            ["01", "02", "03", "04", "05"]
        ),
        mem(
            "chAccDate",
            "Date the account was opened.",
            &[f(ALL, date(D8))],
            OPT,
        ),
        coded_member!(
            "chAccChangeInd",
            "How long since the account was last changed.",
            ["01", "02", "03", "04"]
        ),
        mem(
            "chAccChange",
            "Date the account was last changed.",
            &[f(ALL, date(D8))],
            OPT,
        ),
        coded_member!(
            "chAccPwChangeInd",
            "How long since the password was last changed.",
            ["01", "02", "03", "04", "05"]
        ),
        mem(
            "chAccPwChange",
            "Date the password was last changed.",
            &[f(ALL, date(D8))],
            OPT,
        ),
        coded_member!(
            "shipAddressUsageInd",
            "When the shipping address was first used.",
            ["01", "02", "03", "04"]
        ),
        mem(
            "shipAddressUsage",
            "Date the shipping address was first used.",
            &[f(ALL, date(D8))],
            OPT,
        ),
        mem(
            "txnActivityDay",
            "Transactions in the last 24 hours.",
            &[f(ALL, digits(1, 3))],
            OPT,
        ),
        mem(
            "txnActivityYear",
            "Transactions in the last year.",
            &[f(ALL, digits(1, 3))],
            OPT,
        ),
        mem(
            "provisionAttemptsDay",
            "Card-add attempts in the last 24 hours.",
            &[f(ALL, digits(1, 3))],
            OPT,
        ),
        mem(
            "nbPurchaseAccount",
            "Purchases with the account in the last six months.",
            &[f(ALL, digits(1, 4))],
            OPT,
        ),
        coded_member!(
            "suspiciousAccActivity",
            "Whether suspicious activity was seen.",
            ["01", "02"]
        ),
        coded_member!(
            "shipNameIndicator",
            "Whether the shipping name matches the cardholder name.",
            ["01", "02"]
        ),
        coded_member!(
            "paymentAccInd",
            "How long the payment account has been enrolled.",
            ["01", "02", "03", "04", "05"]
        ),
        mem(
            "paymentAccAge",
            "Date the payment account was enrolled.",
            &[f(ALL, date(D8))],
            OPT,
        ),
    ],
};

pub static MERCHANT_RISK_INDICATOR: ObjectDef = ObjectDef {
    name: "merchantRiskIndicator",
    open: false,
    members: &[
        coded_member!(
            "shipIndicator",
            "Shipping method.",
            ["01", "02", "03", "04", "05", "06", "07"]
        ),
        coded_member!(
            "deliveryTimeframe",
            "Delivery timeframe.",
            ["01", "02", "03", "04"]
        ),
        mem(
            "deliveryEmailAddress",
            "E-mail address for electronic delivery.",
            &[f(ALL, s(Format::Email))],
            OPT,
        ),
        coded_member!("reorderItemsInd", "First order or reorder.", ["01", "02"]),
        coded_member!(
            "preOrderPurchaseInd",
            "Available now or future availability.",
            ["01", "02"]
        ),
        mem(
            "preOrderDate",
            "Expected availability date.",
            &[f(ALL, date(D8))],
            OPT,
        ),
        mem(
            "giftCardAmount",
            "Total gift card amount in major units.",
            &[f(ALL, digits(1, 15))],
            OPT,
        ),
        mem(
            "giftCardCurr",
            "Gift card currency (ISO 4217 numeric).",
            &[f(ALL, s(Format::Currency))],
            OPT,
        ),
        mem(
            "giftCardCount",
            "Number of gift cards purchased.",
            &[f(ALL, digits(1, 2))],
            OPT,
        ),
    ],
};

pub static REQUESTOR_AUTH_INFO: ObjectDef = ObjectDef {
    name: "threeDSRequestorAuthenticationInfo",
    open: false,
    members: &[
        mem(
            "threeDSReqAuthMethod",
            "How the requestor authenticated the cardholder.",
            &[f(ALL, code(&RequestorAuthMethod::TABLE))],
            REQ,
        ),
        mem(
            "threeDSReqAuthTimestamp",
            "When (UTC).",
            &[f(ALL, date(D12))],
            OPT,
        ),
        mem(
            "threeDSReqAuthData",
            "Data documenting the authentication (2.3.1 SPC: the assertion JSON).",
            &[f(ALL, text(1, 20000))],
            OPT,
        ),
    ],
};

pub static PRIOR_AUTH_INFO: ObjectDef = ObjectDef {
    name: "threeDSRequestorPriorAuthenticationInfo",
    open: false,
    members: &[
        mem(
            "threeDSReqPriorRef",
            "acsTransID of the prior authenticated transaction.",
            &[f(ALL, text(1, 36))],
            OPT,
        ),
        mem(
            "threeDSReqPriorAuthMethod",
            "How the prior authentication was done.",
            &[f(ALL, code(&PriorAuthMethod::TABLE))],
            OPT,
        ),
        mem(
            "threeDSReqPriorAuthTimestamp",
            "When (UTC).",
            &[f(ALL, date(D12))],
            OPT,
        ),
        mem(
            "threeDSReqPriorAuthData",
            "Data documenting the prior authentication.",
            &[f(ALL, text(1, 2048))],
            OPT,
        ),
    ],
};

pub static DEVICE_RENDER_OPTIONS: ObjectDef = ObjectDef {
    name: "deviceRenderOptions",
    open: false,
    members: &[
        mem(
            "sdkInterface",
            "UI families the SDK supports.",
            &[f(ALL, code(&SdkInterface::TABLE))],
            REQ,
        ),
        mem(
            "sdkUiType",
            "UI types the SDK can render.",
            &[f(ALL, codes(&UiType::TABLE, 1, 7))],
            REQ,
        ),
        mem(
            "sdkAuthenticationType",
            "Authentication types the SDK supports (2.3.1).",
            &[f(
                ALL,
                Type::StrArray {
                    item: Format::Digits { min: 2, max: 2 },
                    min: 1,
                    max: 99,
                },
            )],
            OPT_23,
        ),
    ],
};

/// An EC P-256 public key as a JWK (`sdkEphemPubKey`, `acsEphemPubKey`). Open: JWKs may
/// carry `kid`, `use` and the like.
pub static EC_PUBLIC_JWK: ObjectDef = ObjectDef {
    name: "jwk",
    open: true,
    members: &[
        mem("kty", "Key type: EC.", &[f(ALL, one_of(&["EC"]))], REQ),
        mem("crv", "Curve: P-256.", &[f(ALL, one_of(&["P-256"]))], REQ),
        mem(
            "x",
            "x coordinate, base64url (43 characters).",
            &[f(ALL, s(Format::Base64Url { max: 43 }))],
            REQ,
        ),
        mem(
            "y",
            "y coordinate, base64url (43 characters).",
            &[f(ALL, s(Format::Base64Url { max: 43 }))],
            REQ,
        ),
    ],
};

pub static ACS_RENDERING_TYPE: ObjectDef = ObjectDef {
    name: "acsRenderingType",
    open: false,
    members: &[
        mem(
            "acsInterface",
            "UI family the ACS chose.",
            &[f(ALL, code(&AcsInterface::TABLE))],
            REQ,
        ),
        mem(
            "acsUiTemplate",
            "UI template the ACS chose.",
            &[f(ALL, code(&UiType::TABLE))],
            REQ,
        ),
        // Decision: values unverified (01 portrait, 02 landscape, 03 voice, 04 other per
        // one public ACS model), so any two digits are accepted.
        mem(
            "deviceUserInterfaceMode",
            "Device UI mode (2.3.1).",
            &[f(ALL, digits(2, 2))],
            OPT_23,
        ),
    ],
};

/// Images in a CRes (`issuerImage`, `psImage`) and in a 2.3.1 `cardholderInfo`.
/// Open: 2.3.1 adds further variants whose names no public source confirms.
pub static IMAGE: ObjectDef = ObjectDef {
    name: "image",
    open: true,
    members: &[
        mem(
            "medium",
            "Medium density image URL.",
            &[f(ALL, https(2048))],
            OPT,
        ),
        mem(
            "high",
            "High density image URL.",
            &[f(ALL, https(2048))],
            OPT,
        ),
        mem(
            "extraHigh",
            "Extra-high density image URL.",
            &[f(ALL, https(2048))],
            OPT,
        ),
    ],
};

pub static CARDHOLDER_INFO: ObjectDef = ObjectDef {
    name: "cardholderInfo",
    open: false,
    members: &[
        mem(
            "text",
            "Text for the requestor to show the cardholder.",
            &[f(ALL, text(1, 128))],
            OPT,
        ),
        mem(
            "issuerImage",
            "Issuer logo.",
            &[f(ALL, Type::Obj(&IMAGE))],
            OPT,
        ),
        mem(
            "paymentSystemImage",
            "Payment system logo.",
            &[f(ALL, Type::Obj(&IMAGE))],
            OPT,
        ),
    ],
};

pub static RECURRING_IND: ObjectDef = ObjectDef {
    name: "recurringInd",
    open: false,
    members: &[
        mem(
            "amountInd",
            "01 fixed amount, 02 variable.",
            &[f(ALL, one_of(&["01", "02"]))],
            REQ,
        ),
        mem(
            "frequencyInd",
            "01 fixed frequency, 02 variable.",
            &[f(ALL, one_of(&["01", "02"]))],
            REQ,
        ),
    ],
};

// Decision: member names of defaultSdkType/splitSdkType are not confirmed by public
// sources beyond `docs/protocol.md`; these follow its wording.
pub static DEFAULT_SDK_TYPE: ObjectDef = ObjectDef {
    name: "defaultSdkType",
    open: false,
    members: &[
        mem(
            "sdkVariant",
            "SDK variant (two digits).",
            &[f(ALL, digits(2, 2))],
            REQ,
        ),
        mem(
            "wrappedInd",
            "Y if the SDK is wrapped.",
            &[f(ALL, one_of(Y_ONLY))],
            OPT,
        ),
    ],
};

pub static SPLIT_SDK_TYPE: ObjectDef = ObjectDef {
    name: "splitSdkType",
    open: false,
    members: &[
        mem(
            "splitSdkVariant",
            "Split-SDK variant (two digits).",
            &[f(ALL, digits(2, 2))],
            REQ,
        ),
        mem(
            "limitedInd",
            "Y if the split SDK is limited.",
            &[f(ALL, one_of(Y_ONLY))],
            OPT,
        ),
    ],
};

/// Decision (`docs/protocol.md`, Decisions table): members follow the production SDK's names.
pub static SPC_TRANS_DATA: ObjectDef = ObjectDef {
    name: "spcTransData",
    open: false,
    members: &[
        mem(
            "challenge",
            "Single-use WebAuthn challenge, base64url.",
            &[f(ALL, s(Format::Base64Url { max: 512 }))],
            REQ,
        ),
        mem(
            "timeout",
            "SPC timeout in milliseconds.",
            &[f(ALL, Type::UInt { max: 3_600_000 })],
            OPT,
        ),
        mem(
            "payeeOrigin",
            "Origin of the payee shown in the dialog.",
            &[f(ALL, s(Format::HttpsOrigin))],
            OPT,
        ),
        mem(
            "payeeName",
            "Name of the payee shown in the dialog.",
            &[f(ALL, text(1, 40))],
            OPT,
        ),
        mem(
            "displayName",
            "Payment instrument name shown in the dialog.",
            &[f(ALL, text(1, 128))],
            REQ,
        ),
        mem(
            "icon",
            "Payment instrument icon (URL or data URL).",
            &[f(ALL, text(1, 16000))],
            REQ,
        ),
        mem(
            "value",
            "Amount as a decimal string in major units (e.g. 10.99).",
            &[f(ALL, text(1, 32))],
            REQ,
        ),
        mem(
            "currency",
            "ISO 4217 alphabetic currency code.",
            &[f(ALL, text(3, 3))],
            REQ,
        ),
    ],
};

pub static WEBAUTHN_CRED: ObjectDef = ObjectDef {
    name: "webAuthnCredList",
    open: false,
    members: &[
        mem(
            "credentialIds",
            "Credential ids registered for the card, base64url.",
            &[f(
                ALL,
                Type::StrArray {
                    item: Format::Base64Url { max: 1366 },
                    min: 1,
                    max: 10,
                },
            )],
            REQ,
        ),
        mem(
            "rpID",
            "The WebAuthn relying party id (the ACS's domain).",
            &[f(ALL, text(1, 253))],
            REQ,
        ),
    ],
};

/// One option of `challengeSelectInfo`: an object with a single key (the value sent
/// back) mapped to its label. Checked for one key by a cross-field rule.
pub static SELECT_OPTION: ObjectDef = ObjectDef {
    name: "challengeSelectInfo",
    open: true,
    members: &[],
};

// ---- the elements ---------------------------------------------------------------------

pub static ELEMENTS: &[Element] = &[
    // -- header and identifiers ---------------------------------------------------------
    el(
        "messageVersion",
        "Protocol version of the message.",
        VERSION,
        &[u(
            m(&[PReq, PRes, AReq, ARes, CReq, CRes, RReq, RRes, Erro]),
            REQ,
        )],
    ),
    el(
        "threeDSServerTransID",
        "Transaction id assigned by the 3DS Server.",
        UUID,
        &[
            u(m(&[PReq, PRes, AReq, ARes, CReq, CRes, RReq, RRes]), REQ),
            u(m(&[Erro]), OPT),
        ],
    ),
    el(
        "dsTransID",
        "Transaction id assigned by the DS.",
        UUID,
        &[
            u(m(&[PRes, ARes, RReq, RRes]), REQ),
            u(m(&[AReq]), &[r(ALL, ANY, C(&c::RECEIVED_BY_ACS))]),
            u(m(&[Erro]), OPT),
        ],
    ),
    el(
        "acsTransID",
        "Transaction id assigned by the ACS.",
        UUID,
        &[
            u(m(&[ARes, CReq, CRes, RReq, RRes]), REQ),
            u(m(&[Erro]), OPT),
        ],
    ),
    el(
        "sdkTransID",
        "Transaction id assigned by the 3DS SDK.",
        UUID,
        &[
            u(m(&[AReq, ARes, CReq, CRes]), REQ_APP),
            // Decision: absent from the 2.1.0 RReq (`docs/protocol.md` §3.4).
            u(m(&[RReq]), &[r(V22, APP, R)]),
            u(m(&[RRes, Erro]), OPT),
        ],
    ),
    el(
        "messageExtension",
        "Extensions defined by a scheme or region.",
        MESSAGE_EXTENSION_FORMS,
        &[u(m(&[PReq, PRes, AReq, ARes, CReq, CRes, RReq, RRes]), OPT)],
    ),
    el(
        "serialNum",
        "Card range cache serial number.",
        &[f(ALL, text(1, 20))],
        &[u(m(&[PReq, PRes]), OPT)],
    ),
    el(
        "threeDSServerRefNumber",
        "EMVCo-assigned 3DS Server reference number.",
        REF32,
        &[u(m(&[PReq, AReq]), REQ)],
    ),
    el(
        "threeDSServerOperatorID",
        "DS-assigned 3DS Server operator id.",
        REF32,
        &[u(m(&[PReq, AReq]), OPT)],
    ),
    el(
        "dsReferenceNumber",
        "EMVCo-assigned DS reference number.",
        REF32,
        &[
            u(m(&[ARes]), REQ),
            u(m(&[AReq]), &[r(ALL, ANY, C(&c::RECEIVED_BY_ACS))]),
        ],
    ),
    el(
        "acsReferenceNumber",
        "EMVCo-assigned ACS reference number.",
        REF32,
        &[u(m(&[ARes]), REQ)],
    ),
    el(
        "acsOperatorID",
        "DS-assigned ACS operator id.",
        REF32,
        &[u(m(&[ARes]), OPT)],
    ),
    // -- PReq / PRes ----------------------------------------------------------------------
    el(
        "cardRangeDataDownloadInd",
        "Whether the whole card range file is requested (2.3.1).",
        YN_FORM,
        &[u(m(&[PReq]), OPT_23)],
    ),
    el(
        "cardRangeData",
        "Card ranges with their ACS capabilities.",
        &[f(
            ALL,
            Type::ObjArray {
                def: &CARD_RANGE,
                min: 0,
                max: 100_000,
            },
        )],
        &[u(m(&[PRes]), OPT)],
    ),
    el(
        "dsStartProtocolVersion",
        "Lowest version the DS supports.",
        VERSION,
        &[u(m(&[PRes]), &[r(V21_22, ANY, R)])],
    ),
    el(
        "dsEndProtocolVersion",
        "Highest version the DS supports.",
        VERSION,
        &[u(m(&[PRes]), &[r(V21_22, ANY, R)])],
    ),
    el(
        "dsProtocolVersions",
        "Versions the DS supports (2.3.1).",
        &[f(
            ALL,
            Type::StrArray {
                item: Format::Version,
                min: 1,
                max: 10,
            },
        )],
        &[u(m(&[PRes]), &[r(V23, ANY, R)])],
    ),
    el(
        "cardRangeDataFileURL",
        "Where to download the full card range file (2.3.1).",
        &[f(ALL, https(2048))],
        &[u(m(&[PRes]), OPT_23)],
    ),
    el(
        "dsUrlList",
        "DS URLs (2.3.1).",
        &[f(
            ALL,
            Type::StrArray {
                item: Format::HttpsUrl { max: 2048 },
                min: 1,
                max: 10,
            },
        )],
        &[u(m(&[PRes]), OPT_23)],
    ),
    el(
        "readOrder",
        "Order in which to read paged card range data (2.3.1).",
        &[f(ALL, text(1, 10))],
        &[u(m(&[PRes]), OPT_23)],
    ),
    // -- AReq: routing and requestor --------------------------------------------------------
    el(
        "deviceChannel",
        "Channel of the authentication.",
        &[f(ALL, code(&DeviceChannel::TABLE))],
        &[u(m(&[AReq]), REQ)],
    ),
    el(
        "messageCategory",
        "PA (01) or NPA (02).",
        &[f(ALL, code(&MessageCategory::TABLE))],
        &[u(m(&[AReq, RReq]), REQ)],
    ),
    el(
        "threeDSCompInd",
        "Whether the 3DS Method completed.",
        &[f(ALL, code(&ThreeDsMethodCompletion::TABLE))],
        &[u(m(&[AReq]), REQ_BRW)],
    ),
    el(
        "threeDSRequestorID",
        "DS-assigned requestor id.",
        &[f(ALL, text(1, 35))],
        &[u(m(&[AReq]), REQ)],
    ),
    el(
        "threeDSRequestorName",
        "DS-assigned requestor name.",
        &[f(ALL, text(1, 40))],
        &[u(m(&[AReq]), REQ)],
    ),
    el(
        "threeDSRequestorURL",
        "Requestor website or customer-care URL (https in 2.3.1).",
        &[f(V21_22, url(2048)), f(V23, https(2048))],
        &[u(m(&[AReq]), REQ)],
    ),
    // Decision: `docs/protocol.md` leaves its presence unverified; optional, since our DS
    // knows each 3DS Server's RReq URL from its registration.
    el(
        "threeDSServerURL",
        "Where the DS sends the RReq for this transaction.",
        &[f(ALL, url(2048))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "dsURL",
        "Where the ACS sends the RReq (added by the DS).",
        &[f(ALL, url(2048))],
        &[u(m(&[AReq]), &[r(ALL, ANY, C(&c::RECEIVED_BY_ACS))])],
    ),
    el(
        "broadInfo",
        "Broadcast information, passed through unparsed (2.3.1).",
        &[f(ALL, Type::AnyObject { max_len: 4096 })],
        &[u(m(&[AReq, ARes]), OPT_23)],
    ),
    // -- AReq: card and purchase ------------------------------------------------------------
    el(
        "acctNumber",
        "The card number (PAN).",
        &[f(ALL, digits(13, 19))],
        &[u(m(&[AReq]), REQ)],
    ),
    el(
        "cardExpiryDate",
        "Card expiry date.",
        &[f(ALL, date(DateFormat::Yymm))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "acctType",
        "Account type.",
        &[f(ALL, one_of(&["01", "02", "03"]))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "acctID",
        "Additional account information.",
        &[f(ALL, text(1, 64))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "acquirerBIN",
        "Acquiring institution identification code.",
        &[f(ALL, text(1, 11))],
        &[u(m(&[AReq]), &[r(ALL, ANY, C(&c::PAYMENT))])],
    ),
    el(
        "acquirerMerchantID",
        "Acquirer-assigned merchant id.",
        &[f(ALL, text(1, 35))],
        &[u(m(&[AReq]), &[r(ALL, ANY, C(&c::PAYMENT))])],
    ),
    // Decision: `docs/protocol.md` marks both required in 2.3.1 for every category.
    el(
        "acquirerCountryCode",
        "Country of the acquirer (2.3.1).",
        &[f(ALL, s(Format::Country))],
        &[u(m(&[AReq]), &[r(V23, ANY, R)])],
    ),
    el(
        "acquirerCountryCodeSource",
        "Where acquirerCountryCode came from (2.3.1).",
        &[f(ALL, digits(2, 2))],
        &[u(m(&[AReq]), &[r(V23, ANY, R)])],
    ),
    el(
        "mcc",
        "Merchant category code.",
        &[f(ALL, digits(4, 4))],
        &[u(m(&[AReq]), &[r(ALL, ANY, C(&c::PAYMENT))])],
    ),
    el(
        "merchantCountryCode",
        "Merchant country (ISO 3166-1 numeric).",
        &[f(ALL, s(Format::Country))],
        &[u(m(&[AReq]), &[r(ALL, ANY, C(&c::PAYMENT))])],
    ),
    el(
        "merchantName",
        "Merchant name as shown to the cardholder.",
        &[f(ALL, text(1, 40))],
        &[u(m(&[AReq]), &[r(ALL, ANY, C(&c::PAYMENT))])],
    ),
    el(
        "purchaseAmount",
        "Amount in minor units, digits only.",
        &[f(ALL, digits(1, 48))],
        &[u(m(&[AReq]), &[r(ALL, ANY, C(&c::PURCHASE))])],
    ),
    el(
        "purchaseCurrency",
        "Currency (ISO 4217 numeric).",
        &[f(ALL, s(Format::Currency))],
        &[u(m(&[AReq]), &[r(ALL, ANY, C(&c::PURCHASE))])],
    ),
    el(
        "purchaseExponent",
        "Minor unit exponent of the currency.",
        &[f(ALL, digits(1, 1))],
        &[u(m(&[AReq]), &[r(ALL, ANY, C(&c::PURCHASE))])],
    ),
    el(
        "purchaseDate",
        "Purchase date and time (UTC).",
        &[f(ALL, date(D14))],
        &[u(m(&[AReq]), &[r(ALL, ANY, C(&c::PURCHASE))])],
    ),
    el(
        "purchaseInstalData",
        "Maximum number of instalment authorisations (2–999).",
        &[f(ALL, s(Format::CountIn { min: 2, max: 999 }))],
        &[u(m(&[AReq]), &[r(ALL, ANY, C(&c::INSTALMENT))])],
    ),
    el(
        "recurringExpiry",
        "Date after which no further recurring authorisations are made.",
        &[f(ALL, date(D8))],
        &[u(
            m(&[AReq]),
            &[r(V21_22, ANY, C(&c::RECURRING)), r(V23, ANY, O)],
        )],
    ),
    el(
        "recurringFrequency",
        "Minimum days between recurring authorisations.",
        &[f(ALL, digits(1, 4))],
        &[u(
            m(&[AReq]),
            &[
                r(V21_22, ANY, C(&c::RECURRING)),
                r(V23, ANY, C(&c::FIXED_FREQUENCY)),
            ],
        )],
    ),
    el(
        "recurringInd",
        "Whether the recurring amount and frequency are fixed (2.3.1).",
        &[f(ALL, Type::Obj(&RECURRING_IND))],
        &[u(m(&[AReq]), &[r(V23, ANY, C(&c::RECURRING))])],
    ),
    // Decision: `docs/protocol.md` calls these "conditional" without the condition; optional.
    el(
        "recurringAmount",
        "Recurring amount in minor units (2.3.1).",
        &[f(ALL, digits(1, 48))],
        &[u(m(&[AReq]), OPT_23)],
    ),
    el(
        "recurringCurrency",
        "Recurring currency (2.3.1).",
        &[f(ALL, s(Format::Currency))],
        &[u(m(&[AReq]), OPT_23)],
    ),
    el(
        "recurringExponent",
        "Recurring amount exponent (2.3.1).",
        &[f(ALL, digits(1, 1))],
        &[u(m(&[AReq]), OPT_23)],
    ),
    el(
        "recurringDate",
        "Date of the first recurring payment (2.3.1).",
        &[f(ALL, date(D8))],
        &[u(m(&[AReq]), OPT_23)],
    ),
    el(
        "transType",
        "Transaction type (PA only).",
        &[f(ALL, one_of(&["01", "03", "10", "11", "28"]))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "payTokenInd",
        "True if the account number is a payment token (2.2.0+).",
        &[f(ALL, Type::Bool)],
        &[u(m(&[AReq]), &[r(V22, ANY, O)])],
    ),
    el(
        "payTokenSource",
        "Who detokenised: 01 3DS Server, 02 DS (2.2.0+).",
        &[f(ALL, one_of(&["01", "02"]))],
        &[u(m(&[AReq]), &[r(V22, ANY, C(&c::PAY_TOKEN))])],
    ),
    el(
        "payTokenInfo",
        "Payment token information (2.3.1), passed through.",
        &[f(ALL, Type::AnyObject { max_len: 4096 })],
        &[u(m(&[AReq]), OPT_23)],
    ),
    el(
        "multiTransaction",
        "Multi-transaction data (2.3.1), passed through.",
        &[f(ALL, Type::AnyObject { max_len: 8192 })],
        &[u(m(&[AReq]), OPT_23)],
    ),
    el(
        "sellerInfo",
        "Marketplace seller information (2.3.1), passed through.",
        &[f(
            ALL,
            Type::ObjArray {
                def: &ANY_OBJECT,
                min: 1,
                max: 50,
            },
        )],
        &[u(m(&[AReq]), OPT_23)],
    ),
    el(
        "taxId",
        "Cardholder tax id (2.3.1).",
        &[f(ALL, text(1, 45))],
        &[u(m(&[AReq]), OPT_23)],
    ),
    el(
        "cardSecurityCode",
        "Card security code (2.3.1). Never stored.",
        &[f(ALL, digits(3, 4))],
        &[u(m(&[AReq]), OPT_23)],
    ),
    // -- AReq: cardholder -----------------------------------------------------------------------
    el(
        "cardholderName",
        "Name on the card.",
        &[f(V21_22, text(2, 45)), f(V23, text(1, 45))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "email",
        "Cardholder e-mail address.",
        &[f(ALL, s(Format::Email))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "homePhone",
        "Cardholder home phone.",
        &[f(ALL, Type::Obj(&PHONE))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "mobilePhone",
        "Cardholder mobile phone.",
        &[f(ALL, Type::Obj(&PHONE))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "workPhone",
        "Cardholder work phone.",
        &[f(ALL, Type::Obj(&PHONE))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "addrMatch",
        "Whether shipping and billing address match.",
        YN_FORM,
        &[u(m(&[AReq]), OPT_APP_BRW)],
    ),
    el(
        "billAddrCity",
        "Billing address city.",
        &[f(ALL, text(1, 50))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "billAddrCountry",
        "Billing address country (ISO 3166-1 numeric).",
        &[f(ALL, s(Format::Country))],
        &[u(m(&[AReq]), &[r(ALL, ANY, C(&c::BILL_STATE))])],
    ),
    el(
        "billAddrLine1",
        "Billing address line 1.",
        &[f(ALL, text(1, 50))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "billAddrLine2",
        "Billing address line 2.",
        &[f(ALL, text(1, 50))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "billAddrLine3",
        "Billing address line 3.",
        &[f(ALL, text(1, 50))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "billAddrPostCode",
        "Billing postal code.",
        &[f(ALL, text(1, 16))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "billAddrState",
        "Billing state (ISO 3166-2 subdivision).",
        &[f(ALL, text(1, 3))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "shipAddrCity",
        "Shipping address city.",
        &[f(ALL, text(1, 50))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "shipAddrCountry",
        "Shipping address country (ISO 3166-1 numeric).",
        &[f(ALL, s(Format::Country))],
        &[u(m(&[AReq]), &[r(ALL, ANY, C(&c::SHIP_STATE))])],
    ),
    el(
        "shipAddrLine1",
        "Shipping address line 1.",
        &[f(ALL, text(1, 50))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "shipAddrLine2",
        "Shipping address line 2.",
        &[f(ALL, text(1, 50))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "shipAddrLine3",
        "Shipping address line 3.",
        &[f(ALL, text(1, 50))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "shipAddrPostCode",
        "Shipping postal code.",
        &[f(ALL, text(1, 16))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "shipAddrState",
        "Shipping state (ISO 3166-2 subdivision).",
        &[f(ALL, text(1, 3))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "acctInfo",
        "Cardholder account information for risk analysis.",
        &[f(ALL, Type::Obj(&ACCT_INFO))],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "merchantRiskIndicator",
        "Merchant's risk assessment of the purchase.",
        &[f(ALL, Type::Obj(&MERCHANT_RISK_INDICATOR))],
        &[u(m(&[AReq]), OPT)],
    ),
    // -- AReq: requestor indicators ---------------------------------------------------------
    el(
        "threeDSRequestorAuthenticationInd",
        "Why authentication is requested.",
        &[f(ALL, code(&AuthenticationIndicator::TABLE))],
        &[u(m(&[AReq]), &[r(ALL, APP_BRW, R)])],
    ),
    el(
        "threeDSRequestorChallengeInd",
        "Requestor's challenge preference (an array of 1–2 in 2.3.1).",
        &[
            f(V21_22, code(&ChallengeIndicator::TABLE)),
            f(V23, codes(&ChallengeIndicator::TABLE, 1, 2)),
        ],
        &[u(m(&[AReq]), &[r(V21_22, APP_BRW, O), r(V23, ANY, O)])],
    ),
    el(
        "threeDSRequestorAuthenticationInfo",
        "How the requestor authenticated the cardholder (an array of 1–3 in 2.3.1).",
        &[
            f(V21_22, Type::Obj(&REQUESTOR_AUTH_INFO)),
            f(
                V23,
                Type::ObjArray {
                    def: &REQUESTOR_AUTH_INFO,
                    min: 1,
                    max: 3,
                },
            ),
        ],
        &[u(m(&[AReq]), OPT)],
    ),
    el(
        "threeDSRequestorPriorAuthenticationInfo",
        "A prior authentication of the cardholder (an array of 1–3 in 2.3.1).",
        &[
            f(V21_22, Type::Obj(&PRIOR_AUTH_INFO)),
            f(
                V23,
                Type::ObjArray {
                    def: &PRIOR_AUTH_INFO,
                    min: 1,
                    max: 3,
                },
            ),
        ],
        &[u(
            m(&[AReq]),
            &[r(V21_22, ANY, O), r(V23, ANY, C(&c::DECOUPLED_FALLBACK))],
        )],
    ),
    // Decision (conflict in `docs/protocol.md` §2.3): accepted in 2.2.0 and 2.3.1, because
    // a real 3DS Server's 2.3.1 AReq table still lists it.
    el(
        "threeDSReqAuthMethodInd",
        "Result of the DS's check of FIDO data (2.2.0+).",
        &[f(ALL, one_of(&["01", "02", "03"]))],
        &[u(m(&[AReq]), &[r(V22, APP_BRW, O)])],
    ),
    el(
        "threeDSRequestorDecReqInd",
        "Whether decoupled authentication is requested (2.2.0+).",
        &[f(ALL, code(&DecoupledRequest::TABLE))],
        &[u(m(&[AReq]), &[r(V22, ANY, O)])],
    ),
    el(
        "threeDSRequestorDecMaxTime",
        "Minutes the requestor waits for a decoupled result (00001–10080).",
        &[f(
            ALL,
            s(Format::NumberIn {
                len: 5,
                min: 1,
                max: 10080,
            }),
        )],
        &[u(m(&[AReq]), &[r(V22, ANY, C(&c::DECOUPLED_REQUESTED))])],
    ),
    el(
        "threeRIInd",
        "Kind of 3RI authentication.",
        &[f(ALL, code(&ThreeRiIndicator::TABLE))],
        &[u(m(&[AReq]), &[r(ALL, RI, R)])],
    ),
    el(
        "whiteListStatus",
        "Trust list status (2.2.0; renamed trustListStatus in 2.3.1).",
        &[f(ALL, one_of(&["Y", "N", "E", "P", "R", "U"]))],
        &[u(m(&[AReq, ARes, RReq]), &[r(ONLY22, ANY, O)])],
    ),
    el(
        "whiteListStatusSource",
        "Who set whiteListStatus: 01 3DS Server, 02 DS, 03 ACS (2.2.0).",
        &[f(ALL, one_of(&["01", "02", "03"]))],
        &[u(
            m(&[AReq, ARes, RReq]),
            &[r(ONLY22, ANY, C(&c::WHITE_LIST_STATUS))],
        )],
    ),
    el(
        "trustListStatus",
        "Trust list status (2.3.1).",
        &[f(ALL, one_of(&["Y", "N", "E", "P", "R", "U"]))],
        &[u(m(&[AReq, ARes, RReq]), OPT_23)],
    ),
    el(
        "trustListStatusSource",
        "Who set trustListStatus: 01 3DS Server, 02 DS, 03 ACS (2.3.1).",
        &[f(ALL, one_of(&["01", "02", "03"]))],
        &[u(
            m(&[AReq, ARes, RReq]),
            &[r(V23, ANY, C(&c::TRUST_LIST_STATUS))],
        )],
    ),
    // Decision: code values of these 2.3.1 statuses are unverified; checked as formats.
    el(
        "deviceBindingStatus",
        "Device binding status (2.3.1).",
        &[f(ALL, text(1, 2))],
        &[u(m(&[AReq, ARes, RReq]), OPT_23)],
    ),
    el(
        "deviceBindingStatusSource",
        "Who set deviceBindingStatus (2.3.1).",
        &[f(ALL, digits(2, 2))],
        &[u(
            m(&[AReq, ARes, RReq]),
            &[r(V23, ANY, C(&c::DEVICE_BINDING_STATUS))],
        )],
    ),
    el(
        "cardSecurityCodeStatus",
        "Card security code check result: Y, N or U (2.3.1).",
        &[f(ALL, one_of(&["Y", "N", "U"]))],
        &[u(m(&[AReq, ARes]), OPT_23)],
    ),
    el(
        "cardSecurityCodeStatusSource",
        "Who checked the card security code: 01 DS, 02 ACS (2.3.1).",
        &[f(ALL, one_of(&["01", "02"]))],
        &[u(m(&[AReq, ARes]), &[r(V23, ANY, C(&c::CSC_STATUS))])],
    ),
    // -- AReq: browser ----------------------------------------------------------------------
    el(
        "browserAcceptHeader",
        "The browser's HTTP Accept header.",
        &[f(ALL, text(1, 2048))],
        &[u(m(&[AReq]), REQ_BRW)],
    ),
    el(
        "browserIP",
        "The browser's IP address.",
        &[f(ALL, s(Format::Ip))],
        &[u(m(&[AReq]), OPT_BRW)],
    ),
    el(
        "browserJavaEnabled",
        "Whether the browser can run Java.",
        &[f(ALL, Type::Bool)],
        &[u(
            m(&[AReq]),
            &[r(V21, BRW, R), r(V22, BRW, C(&c::JAVASCRIPT_ENABLED))],
        )],
    ),
    el(
        "browserJavascriptEnabled",
        "Whether the browser runs JavaScript (2.2.0+).",
        &[f(ALL, Type::Bool)],
        &[u(m(&[AReq]), &[r(V22, BRW, R)])],
    ),
    // Decision (conflict §2.4): 2.3.1 allows up to 35 characters (BCP 47 tags are longer
    // than 8); 2.1.0 and 2.2.0 keep 8.
    el(
        "browserLanguage",
        "The browser's language (BCP 47).",
        &[f(V21_22, text(1, 8)), f(V23, text(1, 35))],
        &[u(
            m(&[AReq]),
            &[r(V21_22, BRW, R), r(V23, BRW, C(&c::JAVASCRIPT_ENABLED))],
        )],
    ),
    el(
        "browserColorDepth",
        "Screen colour depth in bits.",
        &[f(
            ALL,
            one_of(&["1", "4", "8", "15", "16", "24", "32", "48"]),
        )],
        &[u(
            m(&[AReq]),
            &[r(V21, BRW, R), r(V22, BRW, C(&c::JAVASCRIPT_ENABLED))],
        )],
    ),
    el(
        "browserScreenHeight",
        "Screen height in pixels.",
        &[f(ALL, digits(1, 6))],
        &[u(
            m(&[AReq]),
            &[r(V21, BRW, R), r(V22, BRW, C(&c::JAVASCRIPT_ENABLED))],
        )],
    ),
    el(
        "browserScreenWidth",
        "Screen width in pixels.",
        &[f(ALL, digits(1, 6))],
        &[u(
            m(&[AReq]),
            &[r(V21, BRW, R), r(V22, BRW, C(&c::JAVASCRIPT_ENABLED))],
        )],
    ),
    el(
        "browserTZ",
        "Minutes between UTC and local time (getTimezoneOffset).",
        &[f(ALL, s(Format::Text { min: 1, max: 5 }))],
        &[u(
            m(&[AReq]),
            &[r(V21, BRW, R), r(V22, BRW, C(&c::JAVASCRIPT_ENABLED))],
        )],
    ),
    el(
        "browserUserAgent",
        "The browser's User-Agent header.",
        &[f(ALL, text(1, 2048))],
        &[u(m(&[AReq]), REQ_BRW)],
    ),
    el(
        "notificationURL",
        "Where the ACS posts the final CRes (https in 2.3.1).",
        &[f(V21_22, url(256)), f(V23, https(256))],
        &[u(m(&[AReq]), REQ_BRW)],
    ),
    el(
        "acceptLanguage",
        "The browser's Accept-Language values (2.3.1).",
        &[f(
            ALL,
            Type::StrArray {
                item: Format::Text { min: 1, max: 100 },
                min: 1,
                max: 99,
            },
        )],
        &[u(m(&[AReq]), &[r(V23, BRW, R)])],
    ),
    el(
        "threeDSRequestorSpcSupport",
        "Y if requestor and browser support SPC (2.3.1).",
        &[f(ALL, one_of(Y_ONLY))],
        &[u(m(&[AReq]), &[r(V23, BRW, O)])],
    ),
    el(
        "payeeOrigin",
        "Origin of the payee for SPC (2.3.1).",
        &[f(ALL, s(Format::HttpsOrigin))],
        &[u(m(&[AReq]), &[r(V23, BRW, C(&c::SPC_SUPPORTED))])],
    ),
    el(
        "spcIncompInd",
        "Why SPC gave no assertion (2.3.1).",
        &[f(ALL, code(&SpcIncompletion::TABLE))],
        &[u(m(&[AReq]), &[r(V23, BRW, O)])],
    ),
    el(
        "threeDSMethodId",
        "threeDSServerTransID of an earlier 3DS Method run (2.3.1).",
        UUID,
        &[u(m(&[AReq]), &[r(V23, BRW, O)])],
    ),
    // Decision: lengths unverified; 64 and 254 characters.
    el(
        "deviceId",
        "Requestor-assigned device id (2.3.1).",
        &[f(ALL, text(1, 64))],
        &[u(m(&[AReq]), OPT_23)],
    ),
    el(
        "userId",
        "Requestor-assigned user id (2.3.1).",
        &[f(ALL, text(1, 254))],
        &[u(m(&[AReq]), OPT_23)],
    ),
    // -- AReq: app --------------------------------------------------------------------------------
    el(
        "sdkAppID",
        "Id of the requestor app installation.",
        UUID,
        &[u(m(&[AReq]), REQ_APP)],
    ),
    el(
        "sdkEncData",
        "Device data encrypted to the DS (JWE).",
        &[f(ALL, s(Format::Jwe { max: 64000 }))],
        &[u(m(&[AReq]), &[r(ALL, APP, C(&c::SENT_TO_DS))])],
    ),
    el(
        "deviceInfo",
        "Device data decrypted by the DS, base64url JSON (DS → ACS).",
        &[f(ALL, s(Format::Base64Url { max: 64000 }))],
        &[u(m(&[AReq]), &[r(ALL, APP, C(&c::RECEIVED_BY_ACS))])],
    ),
    el(
        "sdkEphemPubKey",
        "The SDK's ephemeral public key (JWK).",
        &[f(ALL, Type::Obj(&EC_PUBLIC_JWK))],
        &[u(m(&[AReq]), REQ_APP)],
    ),
    el(
        "sdkMaxTimeout",
        "Minutes the SDK allows for the challenge (05–99).",
        &[f(
            ALL,
            s(Format::NumberIn {
                len: 2,
                min: 5,
                max: 99,
            }),
        )],
        &[u(m(&[AReq]), REQ_APP)],
    ),
    el(
        "sdkReferenceNumber",
        "EMVCo-assigned SDK reference number.",
        REF32,
        &[u(m(&[AReq]), REQ_APP)],
    ),
    el(
        "deviceRenderOptions",
        "UI families and types the SDK supports.",
        &[f(ALL, Type::Obj(&DEVICE_RENDER_OPTIONS))],
        &[u(m(&[AReq]), REQ_APP)],
    ),
    el(
        "sdkType",
        "Kind of SDK: 01 default, 02 split, 03 limited, 04 browser, 05 shell (2.3.1).",
        &[f(ALL, one_of(&["01", "02", "03", "04", "05"]))],
        &[u(m(&[AReq]), &[r(V23, APP, R)])],
    ),
    el(
        "defaultSdkType",
        "Default-SDK details (2.3.1).",
        &[f(ALL, Type::Obj(&DEFAULT_SDK_TYPE))],
        &[u(m(&[AReq]), &[r(V23, APP, C(&c::SDK_TYPE_DEFAULT))])],
    ),
    el(
        "splitSdkType",
        "Split-SDK details (2.3.1).",
        &[f(ALL, Type::Obj(&SPLIT_SDK_TYPE))],
        &[u(m(&[AReq]), &[r(V23, APP, C(&c::SDK_TYPE_SPLIT))])],
    ),
    el(
        "sdkServerSignedContent",
        "Signed content of a split-SDK server (2.3.1).",
        &[f(ALL, s(Format::Jws { max: 4000 }))],
        &[u(m(&[AReq]), &[r(V23, APP, C(&c::SDK_TYPE_SPLIT))])],
    ),
    el(
        "sdkSignatureTimestamp",
        "When the split-SDK server signed (2.3.1).",
        &[f(ALL, date(D14))],
        &[u(m(&[AReq]), &[r(V23, APP, O)])],
    ),
    el(
        "appIp",
        "IP address of the device (2.3.1).",
        &[f(ALL, s(Format::Ip))],
        &[u(m(&[AReq]), &[r(V23, APP, O)])],
    ),
    // -- ARes ---------------------------------------------------------------------------------------
    // Required for PA, optional for NPA in the ARes, as the 3dsecure.io 2.2.0 table says
    // (checked against it: an NPA ARes without transStatus is accepted).
    el(
        "transStatus",
        "Outcome of the authentication.",
        &[f(ALL, code(&TransStatus::TABLE))],
        &[
            u(m(&[ARes]), &[r(ALL, ANY, C(&c::PAYMENT))]),
            u(m(&[RReq]), REQ),
            u(m(&[CRes]), &[r(ALL, ANY, C(&c::CHALLENGE_COMPLETED))]),
        ],
    ),
    el(
        "transStatusReason",
        "Why transStatus is what it is.",
        &[f(ALL, code(&TransStatusReason::TABLE))],
        &[u(
            m(&[ARes, RReq]),
            &[r(ALL, ANY, C(&c::PA_NOT_AUTHENTICATED))],
        )],
    ),
    el(
        "transStatusReasonInfo",
        "Free text about transStatusReason (2.3.1).",
        &[f(ALL, text(1, 256))],
        &[u(m(&[ARes, RReq]), OPT_23)],
    ),
    el(
        "authenticationValue",
        "Cryptographic proof of authentication (28 characters of base64 before 2.3.1).",
        &[
            f(V21_22, s(Format::Base64 { len: 28 })),
            f(V23, s(Format::Base64Max { max: 4000 })),
        ],
        &[u(m(&[ARes, RReq]), &[r(ALL, ANY, C(&c::PA_AUTHENTICATED))])],
    ),
    el(
        "eci",
        "Electronic Commerce Indicator (scheme-specific).",
        &[f(ALL, digits(2, 2))],
        &[u(m(&[ARes, RReq]), OPT)],
    ),
    el(
        "acsChallengeMandated",
        "Whether a challenge is mandated by local or regional rules.",
        YN_FORM,
        &[u(m(&[ARes]), &[r(ALL, ANY, C(&c::CHALLENGE_OR_DECOUPLED))])],
    ),
    el(
        "authenticationType",
        "Class of the challenge method (2.1.0, 2.2.0).",
        &[f(ALL, code(&AuthenticationType::TABLE))],
        &[
            u(m(&[ARes]), &[r(V21_22, ANY, C(&c::CHALLENGE_OR_DECOUPLED))]),
            u(m(&[RReq]), &[r(V21_22, ANY, C(&c::AUTHENTICATED_OR_NOT))]),
        ],
    ),
    el(
        "authenticationMethod",
        "Authentication method(s) used (RReq from 2.2.0; array and in ARes in 2.3.1).",
        &[
            f(V21_22, code(&AuthenticationMethod::TABLE)),
            f(V23, codes(&AuthenticationMethod::TABLE, 1, 99)),
        ],
        &[
            u(m(&[ARes]), OPT_23),
            u(
                m(&[RReq]),
                &[r(ONLY22, ANY, O), r(V23, ANY, C(&c::AUTHENTICATED_OR_NOT))],
            ),
        ],
    ),
    el(
        "acsURL",
        "Where the browser posts the CReq.",
        &[f(V21_22, url(2048)), f(V23, https(2048))],
        &[u(m(&[ARes]), &[r(ALL, BRW, C(&c::CHALLENGE))])],
    ),
    el(
        "acsSignedContent",
        "JWS signed by the ACS: acsURL and ephemeral keys for the app challenge.",
        &[f(ALL, s(Format::Jws { max: 16000 }))],
        &[u(m(&[ARes]), &[r(ALL, APP, C(&c::CHALLENGE))])],
    ),
    el(
        "acsRenderingType",
        "The UI the ACS will use in the app challenge.",
        &[f(ALL, Type::Obj(&ACS_RENDERING_TYPE))],
        &[
            u(m(&[ARes]), &[r(ALL, APP, C(&c::CHALLENGE))]),
            // Decision: required for APP unless decoupled (2.1.0: always for APP); accepted
            // from browser challenges, where some ACSs send it.
            u(
                m(&[RReq]),
                &[r(ALL, APP, C(&c::NOT_DECOUPLED)), r(ALL, BRW, O)],
            ),
        ],
    ),
    el(
        "acsDecConInd",
        "Whether the ACS confirms decoupled authentication (2.2.0+).",
        YN_FORM,
        &[u(m(&[ARes]), &[r(V22, ANY, C(&c::DECOUPLED))])],
    ),
    el(
        "cardholderInfo",
        "Text for the cardholder (an object in 2.3.1).",
        &[f(V21_22, text(1, 128)), f(V23, Type::Obj(&CARDHOLDER_INFO))],
        &[
            u(
                m(&[ARes]),
                &[
                    r(V21, ANY, O),
                    r(ONLY22, ANY, C(&c::DECOUPLED_CONFIRMED)),
                    r(V23, ANY, O),
                ],
            ),
            u(m(&[RReq]), OPT_23),
        ],
    ),
    el(
        "transChallengeExemption",
        "Exemption the ACS applied (2.3.1).",
        &[f(ALL, one_of(&["05", "08", "10", "11", "79"]))],
        &[u(m(&[ARes]), OPT_23)],
    ),
    el(
        "deviceInfoRecognisedVersion",
        "Device information version the ACS recognised (2.3.1).",
        &[f(ALL, text(3, 10))],
        &[u(m(&[ARes]), &[r(V23, APP, R)])],
    ),
    el(
        "threeDSRequestorAppURLInd",
        "Whether the ACS supports threeDSRequestorAppURL (2.3.1).",
        YN_FORM,
        &[u(m(&[ARes]), &[r(V23, APP, O)])],
    ),
    el(
        "spcTransData",
        "Data for the SPC dialog (2.3.1).",
        &[f(ALL, Type::Obj(&SPC_TRANS_DATA))],
        &[u(m(&[ARes]), &[r(V23, BRW, C(&c::SPC_CHALLENGE))])],
    ),
    el(
        "webAuthnCredList",
        "Credentials the cardholder may use for SPC (2.3.1).",
        &[f(
            ALL,
            Type::ObjArray {
                def: &WEBAUTHN_CRED,
                min: 1,
                max: 10,
            },
        )],
        &[u(m(&[ARes]), &[r(V23, BRW, C(&c::SPC_CHALLENGE))])],
    ),
    // -- CReq -------------------------------------------------------------------------------------------
    el(
        "challengeWindowSize",
        "Size of the browser challenge window.",
        &[f(ALL, code(&ChallengeWindowSize::TABLE))],
        &[u(m(&[CReq]), REQ_BRW)],
    ),
    el(
        "sdkCounterStoA",
        "SDK → ACS message counter, three digits.",
        &[f(ALL, digits(3, 3))],
        &[u(m(&[CReq]), REQ_APP)],
    ),
    el(
        "challengeDataEntry",
        "What the cardholder entered or selected.",
        &[f(ALL, text(1, 45))],
        &[u(m(&[CReq]), OPT_APP)],
    ),
    el(
        "challengeDataEntryTwo",
        "A second entry (2.3.1).",
        &[f(ALL, text(1, 45))],
        &[u(m(&[CReq]), &[r(V23, APP, O)])],
    ),
    el(
        "challengeAddCode",
        "Additional code entered (2.3.1).",
        &[f(ALL, text(1, 45))],
        &[u(m(&[CReq]), &[r(V23, APP, O)])],
    ),
    el(
        "challengeNoEntry",
        "Y when the cardholder submitted nothing.",
        &[f(ALL, one_of(Y_ONLY))],
        &[u(m(&[CReq]), OPT_APP)],
    ),
    el(
        "challengeHTMLDataEntry",
        "Form data of the ACS HTML, as a query string.",
        &[f(ALL, text(1, 256))],
        &[u(m(&[CReq]), OPT_APP)],
    ),
    el(
        "challengeCancel",
        "Why the challenge ended without an answer.",
        &[f(ALL, code(&ChallengeCancel::TABLE))],
        &[u(m(&[CReq]), OPT_APP), u(m(&[RReq]), OPT)],
    ),
    el(
        "oobContinue",
        "True when the cardholder says the OOB step is done.",
        &[f(ALL, Type::Bool)],
        &[u(m(&[CReq]), OPT_APP)],
    ),
    el(
        "resendChallenge",
        "Y to ask for a new OTP.",
        YN_FORM,
        &[u(m(&[CReq]), OPT_APP)],
    ),
    el(
        "threeDSRequestorAppURL",
        "URL to bring the requestor app back after OOB (2.2.0+).",
        &[f(ALL, s(Format::AppUrl { max: 256 }))],
        &[u(m(&[CReq]), &[r(V22, APP, O)])],
    ),
    el(
        "whitelistingDataEntry",
        "Cardholder's trust-list choice (2.2.0).",
        YN_FORM,
        &[u(m(&[CReq]), &[r(ONLY22, APP, O)])],
    ),
    el(
        "trustListDataEntry",
        "Cardholder's trust-list choice (2.3.1).",
        YN_FORM,
        &[u(m(&[CReq]), &[r(V23, APP, O)])],
    ),
    el(
        "deviceBindingDataEntry",
        "Cardholder's device-binding choice (2.3.1).",
        YN_FORM,
        &[u(m(&[CReq]), &[r(V23, APP, O)])],
    ),
    el(
        "infoContinueIndicator",
        "Y when the cardholder continues an information screen (2.3.1).",
        &[f(ALL, one_of(Y_ONLY))],
        &[u(m(&[CReq]), &[r(V23, APP, O)])],
    ),
    el(
        "oobAppStatus",
        "Status of the OOB app (2.3.1).",
        &[f(ALL, digits(2, 2))],
        &[u(m(&[CReq]), &[r(V23, APP, O)])],
    ),
    el(
        "oobAppURLInd",
        "Whether the OOB app URL can be used (2.3.1).",
        &[f(ALL, digits(2, 2))],
        &[u(m(&[CReq]), &[r(V23, APP, O)])],
    ),
    // -- CRes ---------------------------------------------------------------------------------------
    el(
        "challengeCompletionInd",
        "Y when the challenge is over (final CRes).",
        YN_FORM,
        &[u(m(&[CRes]), REQ)],
    ),
    el(
        "acsCounterAtoS",
        "ACS → SDK message counter, three digits.",
        &[f(ALL, digits(3, 3))],
        &[u(m(&[CRes]), REQ_APP)],
    ),
    el(
        "acsUiType",
        "The UI type of this challenge screen.",
        &[f(ALL, code(&UiType::TABLE))],
        &[u(m(&[CRes]), &[r(ALL, APP, C(&c::CHALLENGE_ONGOING))])],
    ),
    el(
        "acsHTML",
        "The challenge page, base64url HTML.",
        &[f(ALL, s(Format::Base64Url { max: 100_000 }))],
        &[u(m(&[CRes]), &[r(ALL, APP, C(&c::UI_HTML))])],
    ),
    el(
        "acsHTMLRefresh",
        "HTML to show when the app returns from the OOB app, base64url.",
        &[f(ALL, s(Format::Base64Url { max: 100_000 }))],
        &[u(m(&[CRes]), OPT_APP)],
    ),
    el(
        "challengeSelectInfo",
        "Options of a select screen: one-key objects {value: label}.",
        &[f(
            ALL,
            Type::ObjArray {
                def: &SELECT_OPTION,
                min: 1,
                max: 50,
            },
        )],
        &[u(m(&[CRes]), &[r(ALL, APP, C(&c::UI_SELECT))])],
    ),
    el(
        "submitAuthenticationLabel",
        "Label of the submit button.",
        &[f(ALL, text(1, 45))],
        &[u(m(&[CRes]), &[r(ALL, APP, C(&c::UI_ENTRY))])],
    ),
    el(
        "challengeInfoHeader",
        "Header of the challenge screen.",
        &[f(ALL, text(1, 45))],
        &[u(m(&[CRes]), OPT_APP)],
    ),
    el(
        "challengeInfoLabel",
        "Label of the entry field.",
        &[f(ALL, text(1, 45))],
        &[u(m(&[CRes]), OPT_APP)],
    ),
    el(
        "challengeInfoText",
        "Text of the challenge screen.",
        &[f(ALL, text(1, 350))],
        &[u(m(&[CRes]), OPT_APP)],
    ),
    el(
        "challengeInfoTextIndicator",
        "Y to show a warning icon.",
        YN_FORM,
        &[u(m(&[CRes]), OPT_APP)],
    ),
    el(
        "challengeAddInfo",
        "Additional text.",
        &[f(ALL, text(1, 256))],
        &[u(m(&[CRes]), OPT_APP)],
    ),
    el(
        "expandInfoLabel",
        "Label of the expandable information.",
        &[f(ALL, text(1, 45))],
        &[u(m(&[CRes]), OPT_APP)],
    ),
    el(
        "expandInfoText",
        "The expandable information.",
        &[f(ALL, text(1, 256))],
        &[u(m(&[CRes]), OPT_APP)],
    ),
    el(
        "whyInfoLabel",
        "Label of the 'why' information.",
        &[f(ALL, text(1, 45))],
        &[u(m(&[CRes]), OPT_APP)],
    ),
    el(
        "whyInfoText",
        "The 'why' information.",
        &[f(ALL, text(1, 256))],
        &[u(m(&[CRes]), OPT_APP)],
    ),
    el(
        "resendInformationLabel",
        "Label of the resend button.",
        &[f(ALL, text(1, 45))],
        &[u(m(&[CRes]), OPT_APP)],
    ),
    el(
        "oobContinueLabel",
        "Label of the OOB continue button.",
        &[f(ALL, text(1, 45))],
        &[u(m(&[CRes]), &[r(ALL, APP, C(&c::UI_OOB))])],
    ),
    el(
        "oobAppURL",
        "Deep link to the OOB app (2.3.1).",
        &[f(ALL, https(256))],
        &[u(m(&[CRes]), &[r(V23, APP, O)])],
    ),
    el(
        "oobAppLabel",
        "Label of the OOB app button (2.3.1).",
        &[f(ALL, text(1, 45))],
        &[u(m(&[CRes]), &[r(V23, APP, O)])],
    ),
    el(
        "issuerImage",
        "Issuer logo.",
        &[f(ALL, Type::Obj(&IMAGE))],
        &[u(m(&[CRes]), OPT_APP)],
    ),
    el(
        "psImage",
        "Payment system logo.",
        &[f(ALL, Type::Obj(&IMAGE))],
        &[u(m(&[CRes]), OPT_APP)],
    ),
    el(
        "whitelistingInfoText",
        "Trust-list prompt (2.2.0).",
        &[f(ALL, text(1, 64))],
        &[u(m(&[CRes]), &[r(ONLY22, APP, O)])],
    ),
    el(
        "trustListInfoText",
        "Trust-list prompt (2.3.1).",
        &[f(ALL, text(1, 64))],
        &[u(m(&[CRes]), &[r(V23, APP, O)])],
    ),
    el(
        "challengeAddLabel",
        "Label of an additional entry (2.3.1).",
        &[f(ALL, text(1, 45))],
        &[u(m(&[CRes]), &[r(V23, APP, O)])],
    ),
    el(
        "challengeEntryBox",
        "Entry box indicator (2.3.1).",
        &[f(ALL, text(1, 2))],
        &[u(m(&[CRes]), &[r(V23, APP, O)])],
    ),
    el(
        "challengeEntryBoxTwo",
        "Second entry box indicator (2.3.1).",
        &[f(ALL, text(1, 2))],
        &[u(m(&[CRes]), &[r(V23, APP, O)])],
    ),
    el(
        "deviceBindingInfoText",
        "Device-binding prompt (2.3.1).",
        &[f(ALL, text(1, 64))],
        &[u(m(&[CRes]), &[r(V23, APP, O)])],
    ),
    el(
        "infoContinueLabel",
        "Label of the continue button of an information screen (2.3.1).",
        &[f(ALL, text(1, 45))],
        &[u(m(&[CRes]), &[r(V23, APP, O)])],
    ),
    el(
        "togglePositionInd",
        "Position of the trust-list/device-binding toggle (2.3.1).",
        &[f(ALL, text(1, 2))],
        &[u(m(&[CRes]), &[r(V23, APP, O)])],
    ),
    // -- RReq / RRes ------------------------------------------------------------------------------
    el(
        "interactionCounter",
        "Number of authentication cycles the cardholder went through (00–99).",
        &[f(ALL, digits(2, 2))],
        &[u(
            m(&[RReq]),
            &[r(V21, ANY, R), r(V22, ANY, C(&c::NOT_DECOUPLED))],
        )],
    ),
    el(
        "challengeErrorReporting",
        "The Erro that ended the challenge (2.3.1).",
        &[f(ALL, Type::AnyObject { max_len: 8192 })],
        &[u(m(&[RReq]), &[r(V23, ANY, C(&c::CANCELLED_BY_ERRO))])],
    ),
    el(
        "resultsStatus",
        "Whether the RReq was received and processed.",
        &[f(ALL, code(&ResultsStatus::TABLE))],
        &[u(m(&[RRes]), REQ)],
    ),
    // -- Erro -------------------------------------------------------------------------------------
    el(
        "errorCode",
        "What went wrong.",
        &[f(ALL, code(&ErrorCode::TABLE))],
        &[u(m(&[Erro]), REQ)],
    ),
    el(
        "errorComponent",
        "Who detected it.",
        &[f(ALL, code(&ErrorComponent::TABLE))],
        &[u(m(&[Erro]), REQ)],
    ),
    el(
        "errorDescription",
        "What went wrong, in words.",
        &[f(ALL, text(1, 2048))],
        &[u(m(&[Erro]), REQ)],
    ),
    el(
        "errorDetail",
        "The data elements at fault, comma-separated.",
        &[f(ALL, text(1, 2048))],
        &[u(m(&[Erro]), REQ)],
    ),
    el(
        "errorMessageType",
        "Type of the message judged erroneous.",
        &[f(ALL, code(&MessageType::TABLE))],
        &[u(m(&[Erro]), OPT)],
    ),
];

/// Any object (elements of `sellerInfo`).
pub static ANY_OBJECT: ObjectDef = ObjectDef {
    name: "object",
    open: true,
    members: &[],
};
