//! Cross-field rules: constraints on the *values* of several elements, or between a
//! message and the message it answers, that a per-element table cannot express.
//!
//! Presence rules ("required when …") live with the elements; these are the rest. Each
//! rule names the elements it blames, and the `Erro` code it yields.

use super::{Messages, Tri};
use crate::codes::{DeviceChannel, ErrorCode, MessageType};
use crate::validate::Facts;
use crate::version::{MessageVersion, Versions};

use MessageType::*;

/// A rule relating several values.
pub struct CrossRule {
    /// A short, stable name (used in docs and tests).
    pub id: &'static str,
    /// The rule in words.
    pub text: &'static str,
    pub messages: Messages,
    pub versions: Versions,
    pub check: fn(&Facts<'_, '_>) -> Verdict,
}

impl std::fmt::Debug for CrossRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrossRule").field("id", &self.id).finish()
    }
}

/// The outcome of a cross-field rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    /// Broken: the code to answer with and the elements to name.
    Broken(ErrorCode, Vec<String>),
    /// Cannot be decided without the message being answered; the text says what is missing.
    Unknown(&'static str),
}

fn broken(code: ErrorCode, fields: &[&str]) -> Verdict {
    Verdict::Broken(code, fields.iter().map(|s| (*s).to_owned()).collect())
}

fn from_tri(t: Tri, code: ErrorCode, fields: &[&str]) -> Verdict {
    match t {
        Tri::True => Verdict::Holds,
        Tri::False => broken(code, fields),
        Tri::Unknown(w) => Verdict::Unknown(w),
    }
}

const INVALID: ErrorCode = ErrorCode::InvalidFormat;

const fn rule(
    id: &'static str,
    text: &'static str,
    messages: Messages,
    versions: Versions,
    check: fn(&Facts<'_, '_>) -> Verdict,
) -> CrossRule {
    CrossRule {
        id,
        text,
        messages,
        versions,
        check,
    }
}

/// Every cross-field rule, in the order they are checked.
pub static CROSS_RULES: &[CrossRule] = &[
    rule(
        "no-challenge-in-3ri",
        "transStatus C is not allowed for a 3RI authentication (deviceChannel 03)",
        Messages::of(&[ARes]),
        Versions::ALL,
        |f| {
            if f.str("transStatus") != Some("C") {
                return Verdict::Holds;
            }
            match f.channel {
                Some(ch) => from_tri(
                    Tri::from_bool(ch != DeviceChannel::ThreeRi),
                    INVALID,
                    &["transStatus"],
                ),
                None => Verdict::Unknown("the AReq's deviceChannel"),
            }
        },
    ),
    rule(
        "no-challenge-for-data-only",
        "transStatus C is not allowed when the requestor asked for data share only \
         (threeDSRequestorChallengeInd 06)",
        Messages::of(&[ARes]),
        Versions::FROM_2_2,
        |f| {
            if f.str("transStatus") != Some("C") {
                return Verdict::Holds;
            }
            match f.request {
                Some(req) => from_tri(
                    Tri::from_bool(!req.challenge_ind.iter().any(|c| c == "06")),
                    INVALID,
                    &["transStatus"],
                ),
                None => Verdict::Unknown("the AReq's threeDSRequestorChallengeInd"),
            }
        },
    ),
    rule(
        "decoupled-only-when-requested",
        "transStatus D is allowed only when the AReq requested decoupled authentication \
         (threeDSRequestorDecReqInd Y, or F or B in 2.3.1)",
        Messages::of(&[ARes]),
        Versions::FROM_2_2,
        |f| {
            if f.str("transStatus") != Some("D") {
                return Verdict::Holds;
            }
            match f.request {
                Some(req) => from_tri(
                    Tri::from_bool(matches!(
                        req.decoupled_request.as_deref(),
                        Some("Y" | "F" | "B")
                    )),
                    INVALID,
                    &["transStatus"],
                ),
                None => Verdict::Unknown("the AReq's threeDSRequestorDecReqInd"),
            }
        },
    ),
    rule(
        "informational-only-when-no-challenge-requested",
        "transStatus I is allowed only when the requestor asked for no challenge \
         (threeDSRequestorChallengeInd 05, 06 or 07; in 2.3.1 also 08, 10 or 11)",
        Messages::of(&[ARes]),
        Versions::FROM_2_2,
        |f| {
            if f.str("transStatus") != Some("I") {
                return Verdict::Holds;
            }
            let allowed: &[&str] = if f.version == MessageVersion::V2_3_1 {
                &["05", "06", "07", "08", "10", "11"]
            } else {
                &["05", "06", "07"]
            };
            match f.request {
                Some(req) => from_tri(
                    Tri::from_bool(
                        req.challenge_ind
                            .iter()
                            .any(|c| allowed.contains(&c.as_str())),
                    ),
                    INVALID,
                    &["transStatus"],
                ),
                None => Verdict::Unknown("the AReq's threeDSRequestorChallengeInd"),
            }
        },
    ),
    rule(
        "spc-only-when-supported",
        "transStatus S is allowed only for a browser AReq with threeDSRequestorSpcSupport Y",
        Messages::of(&[ARes]),
        Versions::ONLY_2_3,
        |f| {
            if f.str("transStatus") != Some("S") {
                return Verdict::Holds;
            }
            match f.request {
                Some(req) => from_tri(
                    Tri::from_bool(req.spc_support && req.channel == Some(DeviceChannel::Browser)),
                    INVALID,
                    &["transStatus"],
                ),
                None => Verdict::Unknown("the AReq's threeDSRequestorSpcSupport"),
            }
        },
    ),
    rule(
        "final-cres-y-or-n",
        "a final CRes (challengeCompletionInd Y) carries transStatus Y or N only",
        Messages::of(&[CRes]),
        Versions::ALL,
        |f| {
            if f.str("challengeCompletionInd") != Some("Y") {
                return Verdict::Holds;
            }
            match f.str("transStatus") {
                None | Some("Y" | "N") => Verdict::Holds,
                Some(_) => broken(INVALID, &["transStatus"]),
            }
        },
    ),
    rule(
        "rreq-final-status",
        "an RReq carries a final transStatus: Y, N, U, A or R",
        Messages::of(&[RReq]),
        Versions::ALL,
        |f| match f.str("transStatus") {
            None | Some("Y" | "N" | "U" | "A" | "R") => Verdict::Holds,
            Some(_) => broken(INVALID, &["transStatus"]),
        },
    ),
    rule(
        "timeout-reason-needs-timeout-cancel",
        "transStatusReason 14 (timed out at the ACS) goes with challengeCancel 04 or 05",
        Messages::of(&[RReq]),
        Versions::ALL,
        |f| {
            if f.str("transStatusReason") != Some("14") {
                return Verdict::Holds;
            }
            match f.str("challengeCancel") {
                Some("04" | "05") => Verdict::Holds,
                None => broken(ErrorCode::RequiredElementMissing, &["challengeCancel"]),
                Some(_) => broken(INVALID, &["challengeCancel"]),
            }
        },
    ),
    rule(
        "areq-trust-list-y-or-n",
        "in an AReq, whiteListStatus / trustListStatus is Y or N",
        Messages::of(&[AReq]),
        Versions::FROM_2_2,
        |f| {
            let mut bad = Vec::new();
            for name in ["whiteListStatus", "trustListStatus"] {
                if f.str(name).is_some_and(|v| v != "Y" && v != "N") {
                    bad.push(name);
                }
            }
            if bad.is_empty() {
                Verdict::Holds
            } else {
                broken(INVALID, &bad)
            }
        },
    ),
    rule(
        "pay-token-ind-true",
        "payTokenInd, when present, is true",
        Messages::of(&[AReq]),
        Versions::FROM_2_2,
        |f| match f.bool("payTokenInd") {
            Some(false) => broken(INVALID, &["payTokenInd"]),
            _ => Verdict::Holds,
        },
    ),
    rule(
        "no-3ri-payment-in-2.1.0",
        "in 2.1.0 a 3RI authentication (deviceChannel 03) is non-payment only (messageCategory 02)",
        Messages::of(&[AReq]),
        Versions::ONLY_2_1,
        |f| {
            if f.str("deviceChannel") == Some("03") && f.str("messageCategory") == Some("01") {
                broken(INVALID, &["messageCategory"])
            } else {
                Verdict::Holds
            }
        },
    ),
    rule(
        "card-range-order",
        "a card range's startRange is not above its endRange, and its ACS versions are in order",
        Messages::of(&[PRes]),
        Versions::ALL,
        |f| {
            let mut bad = Vec::new();
            for (i, range) in f.objects("cardRangeData").enumerate() {
                // Ordered as `card_ranges::PanRange` orders them (19-digit padding), so
                // the validator and the range logic agree on what a range is.
                let digits = |k: &str| {
                    range.get_str(k).filter(|s| {
                        (13..=19).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
                    })
                };
                if let (Some(a), Some(b)) = (digits("startRange"), digits("endRange"))
                    && crate::card_ranges::PanRange::new(a, b).is_none()
                {
                    bad.push(format!("cardRangeData[{i}].endRange"));
                }
                let ver = |k: &str| range.get_str(k).and_then(MessageVersion::parse);
                if let (Some(a), Some(b)) =
                    (ver("acsStartProtocolVersion"), ver("acsEndProtocolVersion"))
                    && a > b
                {
                    bad.push(format!("cardRangeData[{i}].acsEndProtocolVersion"));
                }
            }
            if bad.is_empty() {
                Verdict::Holds
            } else {
                Verdict::Broken(INVALID, bad)
            }
        },
    ),
    rule(
        "ds-version-order",
        "dsStartProtocolVersion is not above dsEndProtocolVersion",
        Messages::of(&[PRes]),
        Versions::UP_TO_2_2,
        |f| {
            let a = f
                .str("dsStartProtocolVersion")
                .and_then(MessageVersion::parse);
            let b = f
                .str("dsEndProtocolVersion")
                .and_then(MessageVersion::parse);
            match (a, b) {
                (Some(a), Some(b)) if a > b => broken(INVALID, &["dsEndProtocolVersion"]),
                _ => Verdict::Holds,
            }
        },
    ),
    rule(
        "select-option-one-key",
        "each challengeSelectInfo entry is an object with exactly one key and a text label",
        Messages::of(&[CRes]),
        Versions::ALL,
        |f| {
            let mut bad = Vec::new();
            for (i, opt) in f.objects("challengeSelectInfo").enumerate() {
                let ok = opt.members.len() == 1
                    && opt.members[0].1.as_str().is_some_and(|s| !s.is_empty());
                if !ok {
                    bad.push(format!("challengeSelectInfo[{i}]"));
                }
            }
            if bad.is_empty() {
                Verdict::Holds
            } else {
                Verdict::Broken(INVALID, bad)
            }
        },
    ),
    rule(
        "same-transaction-as-request",
        "a response carries the transaction ids of the message it answers",
        Messages::of(&[PRes, ARes, CRes, RRes]),
        Versions::ALL,
        |f| {
            let Some(req) = f.request else {
                return Verdict::Unknown("the message being answered");
            };
            let mut bad = Vec::new();
            let mut compare = |name: &'static str, theirs: &Option<String>| {
                if let (Some(ours), Some(theirs)) = (f.str(name), theirs.as_deref())
                    && ours != theirs
                {
                    bad.push(name);
                }
            };
            compare("threeDSServerTransID", &req.three_ds_server_trans_id);
            compare("acsTransID", &req.acs_trans_id);
            compare("dsTransID", &req.ds_trans_id);
            compare("sdkTransID", &req.sdk_trans_id);
            if bad.is_empty() {
                Verdict::Holds
            } else {
                broken(ErrorCode::TransactionIdNotRecognised, &bad)
            }
        },
    ),
    rule(
        "same-version-as-request",
        "a response has the messageVersion of the message it answers",
        Messages::of(&[PRes, ARes, CRes, RRes]),
        Versions::ALL,
        |f| match f.request {
            // A PRes states the DS's versions; it may be sent in any version the DS speaks.
            Some(_) if f.message_type == PRes => Verdict::Holds,
            Some(req) => from_tri(
                Tri::from_bool(req.version == Some(f.version)),
                INVALID,
                &["messageVersion"],
            ),
            None => Verdict::Unknown("the message being answered"),
        },
    ),
    rule(
        "cres-counter-matches-creq",
        "an app CRes's acsCounterAtoS equals the sdkCounterStoA of the CReq it answers \
         (a mismatch is a decryption failure, 302)",
        Messages::of(&[CRes]),
        Versions::ALL,
        |f| {
            let Some(ours) = f.str("acsCounterAtoS") else {
                return Verdict::Holds;
            };
            match f.request.map(|r| r.sdk_counter.as_deref()) {
                Some(Some(theirs)) if theirs != ours => {
                    broken(ErrorCode::DecryptionFailure, &["acsCounterAtoS"])
                }
                Some(_) => Verdict::Holds,
                None => Verdict::Unknown("the CReq's sdkCounterStoA"),
            }
        },
    ),
];
