//! The protocol's enumerations, each with its table of codes.
//!
//! Every enum is declared once with [`code_enum!`], which generates the Rust enum (with
//! an `Other` variant so that well-formed codes we do not know — the DS-reserved range
//! 80–99 above all — survive a round trip), its serde form (the code string), and a
//! [`CodeTable`] that the data dictionary uses to check values per version. A code is
//! therefore written down in exactly one place.

use std::fmt;

use crate::version::MessageVersion::{self, V2_1_0, V2_2_0, V2_3_1};

/// A short protocol code kept inline (codes are 1–4 ASCII characters: `Y`, `01`, `101`,
/// `AReq`). Used for values outside an enum's known set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code {
    len: u8,
    bytes: [u8; 4],
}

impl Code {
    /// A code from a string of 1–4 ASCII alphanumerics; `None` otherwise.
    pub fn new(s: &str) -> Option<Code> {
        let b = s.as_bytes();
        if b.is_empty() || b.len() > 4 || !b.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        let mut bytes = [0u8; 4];
        bytes[..b.len()].copy_from_slice(b);
        Some(Code {
            len: b.len() as u8,
            bytes,
        })
    }

    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII alphanumerics, so always valid UTF-8.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// One known code of an enumeration.
#[derive(Debug, Clone, Copy)]
pub struct CodeEntry {
    pub code: &'static str,
    /// The first version that defines the code.
    pub since: MessageVersion,
    pub meaning: &'static str,
}

/// The codes an enumeration allows: what the dictionary checks values against.
#[derive(Debug, Clone, Copy)]
pub struct CodeTable {
    pub name: &'static str,
    pub entries: &'static [CodeEntry],
    /// Whether two-digit codes 80–99 ("reserved for DS use") are accepted and kept even
    /// though we do not know their meaning.
    pub ds_range: bool,
}

/// The verdict of [`CodeTable::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Known,
    /// In the DS-reserved range: accepted and passed through unchanged.
    Reserved,
    /// A known code, but introduced after the message's version.
    TooNew(MessageVersion),
    Unknown,
}

impl CodeTable {
    pub fn check(&self, code: &str, version: MessageVersion) -> CodeCheck {
        if let Some(e) = self.entries.iter().find(|e| e.code == code) {
            return if e.since <= version {
                CodeCheck::Known
            } else {
                CodeCheck::TooNew(e.since)
            };
        }
        if self.ds_range && is_ds_reserved(code) {
            return CodeCheck::Reserved;
        }
        CodeCheck::Unknown
    }

    /// The meaning of a known code.
    pub fn meaning(&self, code: &str) -> Option<&'static str> {
        self.entries
            .iter()
            .find(|e| e.code == code)
            .map(|e| e.meaning)
    }
}

/// Two digits from 80 to 99: the range every 3DS enumeration reserves for DS use.
pub fn is_ds_reserved(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 2 && (b[0] == b'8' || b[0] == b'9') && b[1].is_ascii_digit()
}

/// Declares a protocol enumeration: see the module documentation.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident (ds_range: $ds:expr) {
            $( $variant:ident = $code:literal, $since:ident, $meaning:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( #[doc = $meaning] $variant, )*
            /// A well-formed code outside the known set, kept as received.
            Other($crate::codes::Code),
        }

        impl $name {
            /// The codes of this enumeration, with the version that introduced each.
            pub const TABLE: $crate::codes::CodeTable = $crate::codes::CodeTable {
                name: stringify!($name),
                entries: &[ $( $crate::codes::CodeEntry {
                    code: $code, since: $since, meaning: $meaning,
                }, )* ],
                ds_range: $ds,
            };

            /// The wire code.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $code, )*
                    Self::Other(c) => c.as_str(),
                }
            }

            /// The value for a wire code; `None` if it is not a well-formed code at all.
            pub fn from_code(s: &str) -> Option<Self> {
                match s {
                    $( $code => Some(Self::$variant), )*
                    _ => $crate::codes::Code::new(s).map(Self::Other),
                }
            }

            /// What the code means, if it is a known one.
            pub fn meaning(&self) -> Option<&'static str> {
                match self {
                    $( Self::$variant => Some($meaning), )*
                    Self::Other(_) => None,
                }
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self {
                    $( Self::$variant => write!(f, concat!(stringify!($variant), "({:?})"), $code), )*
                    Self::Other(c) => write!(f, "Other({:?})", c),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                Self::from_code(&s).ok_or_else(|| {
                    ::serde::de::Error::custom(format!(
                        concat!("{:?} is not a ", stringify!($name), " code"), s
                    ))
                })
            }
        }
    };
}

code_enum! {
    /// `deviceChannel`: how the cardholder is present.
    pub enum DeviceChannel (ds_range: true) {
        App = "01", V2_1_0, "App-based (APP)";
        Browser = "02", V2_1_0, "Browser-based (BRW)";
        ThreeRi = "03", V2_1_0, "3DS Requestor Initiated (3RI)";
    }
}

code_enum! {
    /// `messageCategory`.
    pub enum MessageCategory (ds_range: true) {
        Payment = "01", V2_1_0, "Payment authentication (PA)";
        NonPayment = "02", V2_1_0, "Non-payment authentication (NPA)";
    }
}

code_enum! {
    /// `transStatus`: the outcome of an authentication.
    pub enum TransStatus (ds_range: false) {
        Y = "Y", V2_1_0, "Authentication verification successful";
        N = "N", V2_1_0, "Not authenticated / account not verified; transaction denied";
        U = "U", V2_1_0, "Authentication could not be performed";
        A = "A", V2_1_0, "Attempts processing performed; proof of attempt provided";
        C = "C", V2_1_0, "Challenge required";
        R = "R", V2_1_0, "Authentication rejected: do not attempt authorisation";
        D = "D", V2_2_0, "Challenge required; decoupled authentication confirmed";
        I = "I", V2_2_0, "Informational only; 3DS Requestor challenge preference acknowledged";
        S = "S", V2_3_1, "Challenge using Secure Payment Confirmation (SPC)";
    }
}

code_enum! {
    /// `transStatusReason`.
    pub enum TransStatusReason (ds_range: true) {
        CardAuthenticationFailed = "01", V2_1_0, "Card authentication failed";
        UnknownDevice = "02", V2_1_0, "Unknown device";
        UnsupportedDevice = "03", V2_1_0, "Unsupported device";
        FrequencyLimit = "04", V2_1_0, "Exceeds authentication frequency limit";
        ExpiredCard = "05", V2_1_0, "Expired card";
        InvalidCardNumber = "06", V2_1_0, "Invalid card number";
        InvalidTransaction = "07", V2_1_0, "Invalid transaction";
        NoCardRecord = "08", V2_1_0, "No card record";
        SecurityFailure = "09", V2_1_0, "Security failure";
        StolenCard = "10", V2_1_0, "Stolen card";
        SuspectedFraud = "11", V2_1_0, "Suspected fraud";
        NotPermitted = "12", V2_1_0, "Transaction not permitted to cardholder";
        NotEnrolled = "13", V2_1_0, "Cardholder not enrolled in service";
        TimedOutAtAcs = "14", V2_1_0, "Transaction timed out at the ACS";
        LowConfidence = "15", V2_1_0, "Low confidence";
        MediumConfidence = "16", V2_1_0, "Medium confidence";
        HighConfidence = "17", V2_1_0, "High confidence";
        VeryHighConfidence = "18", V2_1_0, "Very high confidence";
        MaxChallenges = "19", V2_1_0, "Exceeds ACS maximum challenges";
        NonPaymentNotSupported = "20", V2_1_0, "Non-payment transaction not supported";
        ThreeRiNotSupported = "21", V2_1_0, "3RI transaction not supported";
        AcsTechnicalIssue = "22", V2_2_0, "ACS technical issue";
        DecoupledRequiredNotRequested = "23", V2_2_0, "Decoupled authentication required by ACS but not requested by 3DS Requestor";
        DecoupledMaxTimeExceeded = "24", V2_2_0, "3DS Requestor decoupled max expiry time exceeded";
        DecoupledInsufficientTime = "25", V2_2_0, "Decoupled authentication was provided insufficient time; ACS will not attempt";
        NotPerformedByCardholder = "26", V2_2_0, "Authentication attempted but not performed by the cardholder";
        PreferredMethodNotSupported = "27", V2_3_1, "Preferred authentication method not supported";
        CspValidationFailed = "28", V2_3_1, "Validation of content security policy failed";
        FallBackToDecoupled = "29", V2_3_1, "Authentication attempted but not completed; fall back to decoupled";
        ReinitiateAsDecoupled = "30", V2_3_1, "Authentication completed but more is needed; reinitiate as decoupled";
    }
}

code_enum! {
    /// `threeDSRequestorChallengeInd`: the requestor's challenge preference.
    pub enum ChallengeIndicator (ds_range: true) {
        NoPreference = "01", V2_1_0, "No preference";
        NoChallengeRequested = "02", V2_1_0, "No challenge requested";
        ChallengeRequested = "03", V2_1_0, "Challenge requested: 3DS Requestor preference";
        ChallengeMandated = "04", V2_1_0, "Challenge requested: mandate";
        NoChallengeTraDone = "05", V2_2_0, "No challenge requested (transactional risk analysis already performed)";
        NoChallengeDataShare = "06", V2_2_0, "No challenge requested (data share only)";
        NoChallengeScaDone = "07", V2_2_0, "No challenge requested (strong consumer authentication already performed)";
        NoChallengeTrustList = "08", V2_2_0, "No challenge requested (utilise trust list exemption if no challenge required)";
        ChallengeTrustListPrompt = "09", V2_2_0, "Challenge requested (trust list prompt requested if challenge required)";
        LowValueExemption = "10", V2_3_1, "No challenge requested (utilise low value exemption)";
        SecureCorporateExemption = "11", V2_3_1, "No challenge requested (secure corporate payment exemption)";
        ChallengeDeviceBinding = "12", V2_3_1, "Challenge requested (device binding prompt requested)";
        ChallengeIssuerRequested = "13", V2_3_1, "Challenge requested (issuer requested)";
        ChallengeMerchantInitiated = "14", V2_3_1, "Challenge requested (merchant initiated transactions)";
    }
}

code_enum! {
    /// `threeDSRequestorAuthenticationInd`: why the requestor asks for authentication.
    pub enum AuthenticationIndicator (ds_range: true) {
        Payment = "01", V2_1_0, "Payment transaction";
        Recurring = "02", V2_1_0, "Recurring transaction";
        Instalment = "03", V2_1_0, "Instalment transaction";
        AddCard = "04", V2_1_0, "Add card";
        MaintainCard = "05", V2_1_0, "Maintain card";
        CardholderVerification = "06", V2_1_0, "Cardholder verification as part of EMV token ID&V";
        BillingAgreement = "07", V2_2_0, "Billing agreement";
        SplitShipment = "08", V2_3_1, "Split shipment";
        DelayedShipment = "09", V2_3_1, "Delayed shipment";
        SplitPayment = "10", V2_3_1, "Split payment";
    }
}

code_enum! {
    /// `threeRIInd`: the kind of 3DS Requestor Initiated authentication.
    pub enum ThreeRiIndicator (ds_range: true) {
        Recurring = "01", V2_1_0, "Recurring transaction";
        Instalment = "02", V2_1_0, "Instalment transaction";
        AddCard = "03", V2_1_0, "Add card";
        MaintainCard = "04", V2_1_0, "Maintain card information";
        AccountVerification = "05", V2_1_0, "Account verification";
        SplitShipment = "06", V2_2_0, "Split/delayed shipment (2.3.1: split shipment)";
        TopUp = "07", V2_2_0, "Top-up";
        MailOrder = "08", V2_2_0, "Mail order";
        TelephoneOrder = "09", V2_2_0, "Telephone order";
        TrustListStatusCheck = "10", V2_2_0, "Trust list status check";
        OtherPayment = "11", V2_2_0, "Other payment";
        BillingAgreement = "12", V2_3_1, "Billing agreement";
        DeviceBindingStatusCheck = "13", V2_3_1, "Device binding status check";
        CardSecurityCodeStatusCheck = "14", V2_3_1, "Card security code status check";
        DelayedShipment = "15", V2_3_1, "Delayed shipment";
        SplitPayment = "16", V2_3_1, "Split payment";
        FidoCredentialDeletion = "17", V2_3_1, "FIDO credential deletion";
        FidoCredentialRegistration = "18", V2_3_1, "FIDO credential registration";
        DecoupledFallback = "19", V2_3_1, "Decoupled authentication fallback";
    }
}

code_enum! {
    /// `authenticationType` (2.1.0, 2.2.0): the challenge method class.
    pub enum AuthenticationType (ds_range: true) {
        Static = "01", V2_1_0, "Static";
        Dynamic = "02", V2_1_0, "Dynamic";
        OutOfBand = "03", V2_1_0, "Out of band";
        Decoupled = "04", V2_2_0, "Decoupled";
    }
}

code_enum! {
    /// `authenticationMethod` (RReq from 2.2.0; ARes and array form in 2.3.1).
    pub enum AuthenticationMethod (ds_range: true) {
        StaticPasscode = "01", V2_2_0, "Static passcode";
        SmsOtp = "02", V2_2_0, "SMS OTP";
        KeyFobOtp = "03", V2_2_0, "Key fob or EMV card reader OTP";
        AppOtp = "04", V2_2_0, "App OTP";
        OtpOther = "05", V2_2_0, "OTP other";
        Kba = "06", V2_2_0, "Knowledge-based authentication";
        OobBiometrics = "07", V2_2_0, "OOB biometrics";
        OobLogin = "08", V2_2_0, "OOB login";
        OobOther = "09", V2_2_0, "OOB other";
        OtherMethod = "10", V2_2_0, "Other";
        PushConfirmation = "11", V2_2_0, "Push confirmation";
        Decoupled = "12", V2_3_1, "Decoupled";
        WebAuthn = "13", V2_3_1, "WebAuthn";
        Spc = "14", V2_3_1, "Secure Payment Confirmation (SPC)";
        BehaviouralBiometrics = "15", V2_3_1, "Behavioural biometrics";
        ElectronicId = "16", V2_3_1, "Electronic ID";
    }
}

code_enum! {
    /// `challengeCancel`: why a challenge ended without an answer.
    /// `02` is defined in no version (`docs/protocol.md` §3.4).
    pub enum ChallengeCancel (ds_range: true) {
        CardholderCancelled = "01", V2_1_0, "Cardholder selected Cancel";
        DecoupledTimeout = "03", V2_2_0, "Transaction timed out: decoupled authentication";
        TimeoutAtAcsOther = "04", V2_1_0, "Transaction timed out at ACS: other timeouts";
        TimeoutFirstCReq = "05", V2_1_0, "Transaction timed out at ACS: first CReq not received by ACS";
        TransactionError = "06", V2_1_0, "Transaction error";
        Unknown = "07", V2_1_0, "Unknown";
        TimeoutAtSdk = "08", V2_1_0, "Transaction timed out at SDK";
        ErroForCRes = "09", V2_3_1, "Error message in response to the CRes message sent by the ACS";
        ErroForCReq = "10", V2_3_1, "Error message in response to the CReq message received by the ACS";
    }
}

code_enum! {
    /// `resultsStatus` in RRes.
    pub enum ResultsStatus (ds_range: true) {
        Received = "01", V2_1_0, "RReq received for further processing";
        CReqNotSent = "02", V2_1_0, "CReq not sent to ACS by 3DS Requestor (challenge abandoned)";
        ChallengeDataNotDelivered = "03", V2_1_0, "ARes challenge data not delivered to the 3DS Requestor due to technical error";
    }
}

code_enum! {
    /// `sdkUiType` (what an SDK can render) and `acsUiType`/`acsUiTemplate` (what the ACS chose).
    pub enum UiType (ds_range: false) {
        Text = "01", V2_1_0, "Text";
        SingleSelect = "02", V2_1_0, "Single select";
        MultiSelect = "03", V2_1_0, "Multi select";
        Oob = "04", V2_1_0, "Out of band";
        HtmlOther = "05", V2_1_0, "HTML other";
        HtmlOob = "06", V2_3_1, "HTML out of band";
        Information = "07", V2_3_1, "Information";
    }
}

code_enum! {
    /// `sdkInterface`: the UI families an SDK supports.
    pub enum SdkInterface (ds_range: false) {
        Native = "01", V2_1_0, "Native";
        Html = "02", V2_1_0, "HTML";
        Both = "03", V2_1_0, "Both";
    }
}

code_enum! {
    /// `acsInterface`: the UI family the ACS chose.
    pub enum AcsInterface (ds_range: false) {
        Native = "01", V2_1_0, "Native UI";
        Html = "02", V2_1_0, "HTML UI";
    }
}

code_enum! {
    /// `errorCode` of an `Erro` message.
    pub enum ErrorCode (ds_range: false) {
        MessageInvalid = "101", V2_1_0, "Message received invalid";
        VersionNotSupported = "102", V2_1_0, "Message version number not supported";
        SentMessagesLimitExceeded = "103", V2_1_0, "Sent messages limit exceeded";
        RequiredElementMissing = "201", V2_1_0, "Required data element missing";
        CriticalExtensionNotRecognised = "202", V2_1_0, "Critical message extension not recognised";
        InvalidFormat = "203", V2_1_0, "Format of one or more data elements is invalid according to the specification";
        DuplicateElement = "204", V2_1_0, "Duplicate data element";
        CardRangeOverlap = "205", V2_3_1, "Card range data overlap";
        ActionNotPossible = "206", V2_3_1, "Action indicator not possible for the card range";
        ReservedValueNotRecognised = "207", V2_3_1, "Value in a reserved range not recognised";
        TransactionIdNotRecognised = "301", V2_1_0, "Transaction ID not recognised";
        DecryptionFailure = "302", V2_1_0, "Data decryption failure";
        AccessDenied = "303", V2_1_0, "Access denied, invalid endpoint";
        IsoCodeInvalid = "304", V2_1_0, "ISO code invalid";
        TransactionDataInvalid = "305", V2_1_0, "Transaction data not valid";
        MccInvalid = "306", V2_1_0, "Merchant category code (MCC) not valid for payment system";
        SerialNumberInvalid = "307", V2_1_0, "Serial number not valid";
        TimedOut = "402", V2_1_0, "Transaction timed out";
        TransientSystemFailure = "403", V2_1_0, "Transient system failure";
        PermanentSystemFailure = "404", V2_1_0, "Permanent system failure";
        ConnectionFailure = "405", V2_1_0, "System connection failure";
    }
}

code_enum! {
    /// `errorComponent`: which party detected the error.
    pub enum ErrorComponent (ds_range: false) {
        Sdk = "C", V2_1_0, "3DS SDK";
        ThreeDsServer = "S", V2_1_0, "3DS Server";
        DirectoryServer = "D", V2_1_0, "Directory Server";
        Acs = "A", V2_1_0, "ACS";
    }
}

code_enum! {
    /// `threeDSReqAuthMethod`: how the requestor authenticated the cardholder.
    pub enum RequestorAuthMethod (ds_range: true) {
        NoAuthentication = "01", V2_1_0, "No 3DS Requestor authentication occurred (guest)";
        OwnCredentials = "02", V2_1_0, "Login with the 3DS Requestor's own credentials";
        FederatedId = "03", V2_1_0, "Login with federated ID";
        IssuerCredentials = "04", V2_1_0, "Login with issuer credentials";
        ThirdPartyAuthentication = "05", V2_1_0, "Login with third-party authentication";
        Fido = "06", V2_1_0, "Login with FIDO authenticator";
        FidoSigned = "07", V2_2_0, "Login with FIDO authenticator (FIDO assurance data signed)";
        SrcAssurance = "08", V2_2_0, "SRC assurance data";
        Spc = "09", V2_3_1, "Secure Payment Confirmation (SPC) authentication";
        ElectronicId = "10", V2_3_1, "Electronic ID";
    }
}

code_enum! {
    /// `threeDSReqPriorAuthMethod`: how a prior authentication was done.
    pub enum PriorAuthMethod (ds_range: true) {
        FrictionlessByAcs = "01", V2_1_0, "Frictionless authentication occurred by ACS";
        ChallengeByAcs = "02", V2_1_0, "Cardholder challenge occurred by ACS";
        Avs = "03", V2_1_0, "AVS verified";
        OtherIssuerMethod = "04", V2_1_0, "Other issuer methods";
        Spc = "05", V2_3_1, "SPC authentication";
    }
}

code_enum! {
    /// `threeDSRequestorDecReqInd`: whether decoupled authentication is requested.
    pub enum DecoupledRequest (ds_range: false) {
        Yes = "Y", V2_2_0, "Decoupled authentication is supported and preferred if challenge is necessary";
        No = "N", V2_2_0, "Do not use decoupled authentication";
        FallbackOnly = "F", V2_3_1, "Decoupled authentication supported only as fallback";
        Both = "B", V2_3_1, "Decoupled authentication supported as primary or fallback";
    }
}

code_enum! {
    /// `challengeWindowSize` of a browser CReq.
    pub enum ChallengeWindowSize (ds_range: false) {
        W250x400 = "01", V2_1_0, "250 x 400";
        W390x400 = "02", V2_1_0, "390 x 400";
        W500x600 = "03", V2_1_0, "500 x 600";
        W600x400 = "04", V2_1_0, "600 x 400";
        FullScreen = "05", V2_1_0, "Full screen";
    }
}

code_enum! {
    /// `threeDSCompInd`: whether the 3DS Method completed.
    pub enum ThreeDsMethodCompletion (ds_range: false) {
        Completed = "Y", V2_1_0, "3DS Method completed successfully";
        NotCompleted = "N", V2_1_0, "3DS Method did not complete";
        Unavailable = "U", V2_1_0, "3DS Method URL was not present";
    }
}

code_enum! {
    /// `spcIncompInd`: why SPC did not give an assertion (2.3.1).
    pub enum SpcIncompletion (ds_range: true) {
        DidNotRun = "01", V2_3_1, "SPC did not run or did not complete successfully";
        CardholderCancelled = "02", V2_3_1, "Cardholder cancelled SPC";
        TimedOut = "03", V2_3_1, "SPC timed out";
    }
}

code_enum! {
    /// `actionInd` of a card range in a PRes.
    pub enum ActionIndicator (ds_range: false) {
        Add = "A", V2_1_0, "Add card range to cache";
        Delete = "D", V2_1_0, "Delete card range from cache";
        Modify = "M", V2_1_0, "Modify card range data";
    }
}

code_enum! {
    /// `acsInfoInd` of a card range: what the ACS supports.
    /// Meanings of 05–11 (2.3.1) are not in any public source we read: kept as codes.
    pub enum AcsInfoIndicator (ds_range: true) {
        AuthenticationAvailable = "01", V2_1_0, "Authentication available at ACS";
        AttemptsSupported = "02", V2_1_0, "Attempts supported by ACS or DS";
        DecoupledSupported = "03", V2_2_0, "Decoupled authentication supported";
        TrustListSupported = "04", V2_2_0, "Trust list (whitelisting) supported";
        Ind05 = "05", V2_3_1, "Defined in 2.3.1 (meaning not confirmed by public sources)";
        Ind06 = "06", V2_3_1, "Defined in 2.3.1 (meaning not confirmed by public sources)";
        Ind07 = "07", V2_3_1, "Defined in 2.3.1 (meaning not confirmed by public sources)";
        Ind08 = "08", V2_3_1, "Defined in 2.3.1 (meaning not confirmed by public sources)";
        Ind09 = "09", V2_3_1, "Defined in 2.3.1 (meaning not confirmed by public sources)";
        Ind10 = "10", V2_3_1, "Defined in 2.3.1 (meaning not confirmed by public sources)";
        Ind11 = "11", V2_3_1, "Defined in 2.3.1 (meaning not confirmed by public sources)";
    }
}

code_enum! {
    /// `messageType`: the nine messages this crate implements. A message whose type is
    /// not here (for example the 2.3.1 `OReq`) is answered with `Erro` 101.
    pub enum MessageType (ds_range: false) {
        PReq = "PReq", V2_1_0, "Preparation request";
        PRes = "PRes", V2_1_0, "Preparation response";
        AReq = "AReq", V2_1_0, "Authentication request";
        ARes = "ARes", V2_1_0, "Authentication response";
        CReq = "CReq", V2_1_0, "Challenge request";
        CRes = "CRes", V2_1_0, "Challenge response";
        RReq = "RReq", V2_1_0, "Results request";
        RRes = "RRes", V2_1_0, "Results response";
        Erro = "Erro", V2_1_0, "Error message";
    }
}

impl MessageType {
    /// The nine known message types.
    pub const KNOWN: [MessageType; 9] = [
        Self::PReq,
        Self::PRes,
        Self::AReq,
        Self::ARes,
        Self::CReq,
        Self::CRes,
        Self::RReq,
        Self::RRes,
        Self::Erro,
    ];

    /// A small index (0–8) for per-type tables; `None` for `Other`.
    pub fn index(self) -> Option<usize> {
        Self::KNOWN.iter().position(|t| *t == self)
    }
}

impl TransStatusReason {
    /// Why a challenge the cardholder abandoned (cancelled, or let the SDK's timer run
    /// out) is not authenticated: `26` from 2.2.0, which introduced it; 2.1.0 has no such
    /// code, so `01` (decision).
    pub fn abandoned_by_cardholder(version: crate::version::MessageVersion) -> Self {
        if version >= crate::version::MessageVersion::V2_2_0 {
            Self::NotPerformedByCardholder
        } else {
            Self::CardAuthenticationFailed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_codes_round_trip() {
        let c = MessageCategory::from_code("85").unwrap();
        assert!(matches!(c, MessageCategory::Other(_)));
        assert_eq!(c.as_str(), "85");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"85\"");
        assert_eq!(
            MessageCategory::TABLE.check("85", MessageVersion::V2_1_0),
            CodeCheck::Reserved
        );
        assert_eq!(
            MessageCategory::TABLE.check("79", MessageVersion::V2_1_0),
            CodeCheck::Unknown
        );
    }

    #[test]
    fn codes_know_their_version() {
        assert_eq!(
            TransStatus::TABLE.check("S", MessageVersion::V2_2_0),
            CodeCheck::TooNew(MessageVersion::V2_3_1)
        );
        assert_eq!(
            TransStatus::TABLE.check("S", MessageVersion::V2_3_1),
            CodeCheck::Known
        );
        assert_eq!(
            TransStatus::TABLE.check("85", MessageVersion::V2_3_1),
            CodeCheck::Unknown,
            "transStatus has no DS range"
        );
        assert_eq!(
            ChallengeCancel::TABLE.check("02", MessageVersion::V2_3_1),
            CodeCheck::Unknown
        );
    }

    #[test]
    fn code_shape() {
        assert!(Code::new("").is_none());
        assert!(Code::new("12345").is_none());
        assert!(Code::new("0 1").is_none());
        assert_eq!(Code::new("AReq").unwrap().as_str(), "AReq");
        assert!(is_ds_reserved("80") && is_ds_reserved("99"));
        assert!(!is_ds_reserved("79") && !is_ds_reserved("100") && !is_ds_reserved("8a"));
    }
}
