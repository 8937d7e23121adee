//! The scenario file format, version 1: what a scenario says, as TOML. Every table
//! refuses members it does not know, so a typo is an error with its place, never a
//! silently ignored line. `scenarios/scenario.schema.json` is the same format as a JSON
//! Schema for editors; `scenarios/README.md` explains it with examples.

use serde::Deserialize;
use toml::Spanned;

/// The format version this build reads.
pub const VERSION: u32 = 1;

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub version: Spanned<u32>,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Free words to select scenarios by (`--filter`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The authentications, in order.
    #[serde(rename = "step", default)]
    pub steps: Vec<Spanned<Step>>,
}

/// The card of a step: a PAN, or the shipped card with an outcome.
#[derive(Debug, Clone)]
pub enum CardRef {
    Pan(String),
    Outcome(OutcomeCard),
}

impl<'de> Deserialize<'de> for CardRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<CardRef, D::Error> {
        struct Card;
        impl<'de> serde::de::Visitor<'de> for Card {
            type Value = CardRef;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a card number in quotes, or { outcome = \"…\", scheme = \"…\" }")
            }
            fn visit_str<E: serde::de::Error>(self, pan: &str) -> Result<CardRef, E> {
                Ok(CardRef::Pan(pan.to_owned()))
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, map: M) -> Result<CardRef, M::Error> {
                OutcomeCard::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(CardRef::Outcome)
            }
        }
        deserializer.deserialize_any(Card)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeCard {
    /// An outcome of `threeds cards` (`frictionless-Y`, `challenge`, …).
    pub outcome: String,
    /// The scheme (default: the first that has a card with this outcome).
    pub scheme: Option<String>,
}

/// How the purchase reaches the 3DS Server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The merchant's web page: the CReq posted into a frame, at HTTP level.
    Browser,
    /// The mock SDK in an app: encrypted CReq/CRes.
    App,
    /// Requestor-initiated (3RI): no cardholder present, usually referring to an
    /// earlier authentication (`requestor.prior`).
    #[serde(rename = "3ri")]
    ThreeRi,
}

/// One authentication.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Names the step for later ones (and for the report).
    pub name: Option<String>,
    pub card: Spanned<CardRef>,
    #[serde(default = "browser")]
    pub channel: Channel,
    /// The message version to ask for (default: what the 3DS Server negotiates).
    pub message_version: Option<Spanned<String>>,
    #[serde(default)]
    pub requestor: Requestor,
    /// What the cardholder does, screen after screen: `otp:123456`, `select:a,b`,
    /// `continue`, `resend`, `cancel`, `approve` / `deny` (in the issuer app, for
    /// out-of-band), `html:<form data>` (app HTML screens), `spc-accept` /
    /// `spc-reject` (the SPC dialog, with the sandbox's test authenticator).
    #[serde(default)]
    pub cardholder: Vec<Spanned<String>>,
    #[serde(default)]
    pub expect: Expect,
    /// Faults in force during the step (`transport::faults`): a hop, the message type,
    /// what goes wrong, and how many times.
    #[serde(default, rename = "fault")]
    pub faults: Vec<Spanned<transport::faults::Fault>>,
}

fn browser() -> Channel {
    Channel::Browser
}

/// What the requestor asks for.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requestor {
    /// In minor units (default 12345 browser, 4999 app).
    pub amount: Option<String>,
    /// ISO 4217 numeric (default 978).
    pub currency: Option<String>,
    /// `threeDSRequestorChallengeInd`.
    pub challenge_indicator: Option<String>,
    /// The 3DS Method (browser): by default the runner runs it, as the shop's hidden
    /// frame would, when the card's range has one (`threeDSCompInd` Y), else `U`; `N`
    /// says it did not complete in time, `U` that it was not run.
    pub method_completed: Option<String>,
    /// `threeRIInd` (3RI; default `01`, recurring).
    pub three_ri_indicator: Option<String>,
    /// Offers Secure Payment Confirmation (`threeDSRequestorSpcSupport=Y`, 2.3.1
    /// browser): an ACS that has a credential for the card answers `S`.
    #[serde(default)]
    pub spc: bool,
    /// The earlier step whose authentication a 3RI request refers to
    /// (`threeDSRequestorPriorAuthenticationInfo`, its `acsTransID`).
    pub prior: Option<Spanned<String>>,
    /// Other AReq elements of the requestor API, as they are named there.
    #[serde(default)]
    pub fields: toml::Table,
}

/// What must be true at the end of the step.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The final `transStatus` (from the RReq when there was one).
    pub trans_status: Option<String>,
    /// `transStatusReason`.
    pub reason: Option<String>,
    pub eci: Option<String>,
    /// `present` (and 28 base64 characters) or `absent`.
    pub authentication_value: Option<Presence>,
    pub challenge_cancel: Option<String>,
    /// The `errorCode` of the `Erro` the requestor gets instead of a result.
    pub error_code: Option<String>,
    /// Checks on the messages themselves.
    #[serde(default)]
    pub trace: Vec<Spanned<TraceCheck>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Present,
    Absent,
}

/// A check on the messages of the step's transaction: the messages of type `message`
/// (from and to the parties given, if given) number `count` (if given), and each —
/// or with `any`, at least one — carries `fields` (top-level elements, as strings).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceCheck {
    pub message: String,
    pub from: Option<trace::Party>,
    pub to: Option<trace::Party>,
    pub count: Option<usize>,
    #[serde(default)]
    pub fields: toml::Table,
    #[serde(default)]
    pub any: bool,
}
