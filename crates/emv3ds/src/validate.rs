//! Receiver-side validation: raw bytes in, a typed message or the `Erro` to send back out.
//!
//! The order of checks, and so which `errorCode` wins when a message has several
//! problems, is fixed here (decision; `docs/protocol.md` gives no order):
//!
//! 1. not JSON, not an object, no or unknown `messageType`, or a message the receiving
//!    role does not receive → **101**;
//! 2. `messageVersion` missing → 201, not a version → 203, a version we do not speak → **102**;
//! 3. then all element checks run and are collected; the answer is the first non-empty
//!    class in this order: **204** duplicate, **201** missing, **203** format/value
//!    (including elements unknown to the dictionary or not defined for this version or
//!    channel), **301** transaction ids differ from the message answered, **302**
//!    counter mismatch, **202** unrecognised critical extension.
//!
//! `errorDetail` names every offending element of the winning class, comma-separated,
//! as public implementations do; nested members are written as paths
//! (`acctInfo.chAccDate`, `messageExtension[1].id`).
//!
//! Rules that need the message being answered (the AReq for an ARes, the CReq for a
//! CRes, …) run only when the caller supplies it; otherwise they are skipped and listed
//! in [`Valid::skipped`].

use std::fmt;
use std::str::FromStr;

use crate::codes::{DeviceChannel, ErrorCode, ErrorComponent, MessageCategory, MessageType};
use crate::dictionary::{
    self, Applicability, CROSS_RULES, Element, ObjectDef, Presence, Tri, Type, rules::Verdict,
};
use crate::json::{Json, Object};
use crate::messages::{Erro, Message};
use crate::version::{MessageVersion, looks_like_version};

/// The component doing the validating: it decides which messages are acceptable, which
/// elements the hop requires (the ACS sees `dsTransID`, the DS sees `sdkEncData`), and
/// the `errorComponent` of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    ThreeDsServer,
    DirectoryServer,
    Acs,
    Sdk,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::ThreeDsServer,
        Role::DirectoryServer,
        Role::Acs,
        Role::Sdk,
    ];

    /// The `errorComponent` this role writes into its `Erro` messages.
    pub fn component(self) -> ErrorComponent {
        match self {
            Role::ThreeDsServer => ErrorComponent::ThreeDsServer,
            Role::DirectoryServer => ErrorComponent::DirectoryServer,
            Role::Acs => ErrorComponent::Acs,
            Role::Sdk => ErrorComponent::Sdk,
        }
    }

    /// The messages this role receives.
    pub fn receives(self) -> &'static [MessageType] {
        use MessageType::*;
        match self {
            // The browser's final CRes reaches the 3DS Server through the requestor.
            Role::ThreeDsServer => &[PRes, ARes, RReq, CRes, Erro],
            Role::DirectoryServer => &[PReq, AReq, ARes, RReq, RRes, Erro],
            Role::Acs => &[AReq, CReq, RRes, Erro],
            Role::Sdk => &[CRes, Erro],
        }
    }

    /// The short name used on the command line (`3dss`, `ds`, `acs`, `sdk`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ThreeDsServer => "3dss",
            Role::DirectoryServer => "ds",
            Role::Acs => "acs",
            Role::Sdk => "sdk",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Role::ThreeDsServer => "the 3DS Server",
            Role::DirectoryServer => "the DS",
            Role::Acs => "the ACS",
            Role::Sdk => "the 3DS SDK",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of [`Role::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected one of 3dss, ds, acs, sdk")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "3dss" | "3ds-server" | "server" => Ok(Role::ThreeDsServer),
            "ds" | "directory-server" => Ok(Role::DirectoryServer),
            "acs" => Ok(Role::Acs),
            "sdk" => Ok(Role::Sdk),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

/// What the validator needs to know of the message being answered (or, for an RReq,
/// of the AReq that started the transaction).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFacts {
    pub message_type: Option<MessageType>,
    pub version: Option<MessageVersion>,
    pub channel: Option<DeviceChannel>,
    pub category: Option<MessageCategory>,
    pub challenge_ind: Vec<String>,
    pub decoupled_request: Option<String>,
    pub spc_support: bool,
    pub three_ds_server_trans_id: Option<String>,
    pub acs_trans_id: Option<String>,
    pub ds_trans_id: Option<String>,
    pub sdk_trans_id: Option<String>,
    pub sdk_counter: Option<String>,
}

impl RequestFacts {
    /// The facts of a typed message.
    pub fn of(message: &Message) -> RequestFacts {
        message.request_facts()
    }
}

/// The message type whose facts a rule for `t` may need.
pub fn request_type_for(t: MessageType) -> Option<MessageType> {
    use MessageType::*;
    match t {
        PRes => Some(PReq),
        ARes | RReq => Some(AReq),
        CRes => Some(CReq),
        RRes => Some(RReq),
        _ => None,
    }
}

/// Optional knowledge the caller has about the message.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'r> {
    /// The message being answered (see [`request_type_for`]).
    pub request: Option<&'r RequestFacts>,
    /// The channel, when the transport tells it (a CReq that came as a JWE is an app
    /// CReq). Otherwise taken from the message or the request, or inferred for CReq/CRes
    /// from the presence of `sdkTransID`.
    pub channel: Option<DeviceChannel>,
}

/// A message that passed validation.
#[derive(Debug, Clone)]
pub struct Valid {
    pub message: Message,
    /// Rules that could not be checked for want of the message being answered.
    pub skipped: Vec<Skipped>,
}

/// A rule that was not checked, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The element (or rule id) concerned.
    pub subject: String,
    /// The rule in words.
    pub rule: &'static str,
    /// What would have been needed to check it.
    pub needs: &'static str,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (needs {})", self.subject, self.rule, self.needs)
    }
}

/// Validates messages as one role receives them.
#[derive(Debug, Clone)]
pub struct Validator {
    role: Role,
    /// Ids of message extensions this receiver recognises; a critical extension not in
    /// this list is answered with 202.
    known_extensions: Vec<String>,
    /// The version used for an `Erro` when the received version cannot be used.
    default_version: MessageVersion,
}

impl Validator {
    pub fn new(role: Role) -> Validator {
        Validator {
            role,
            known_extensions: Vec::new(),
            // Decision: 2.2.0 is the version most peers speak, so an Erro about a message
            // whose own version is unusable is sent in 2.2.0.
            default_version: MessageVersion::V2_2_0,
        }
    }

    /// Recognise these critical message extension ids.
    pub fn with_known_extensions(mut self, ids: impl IntoIterator<Item = String>) -> Self {
        self.known_extensions = ids.into_iter().collect();
        self
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// Validates one received message.
    pub fn validate(&self, bytes: &[u8], ctx: &Context<'_>) -> Result<Valid, Box<Erro>> {
        // JSON is UTF-8 (RFC 8259 §8.1). Checking the whole text once is several times
        // cheaper than serde_json checking each string of a byte slice.
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Err(self.erro(
                ErrorCode::MessageInvalid,
                "message is not UTF-8 text".into(),
                "message".into(),
                None,
                None,
                None,
            ));
        };
        let json = match Json::parse_str(text) {
            Ok(json) => json,
            Err(e) => {
                return Err(self.erro(
                    ErrorCode::MessageInvalid,
                    format!("message is not valid JSON ({e})"),
                    "message".into(),
                    None,
                    None,
                    None,
                ));
            }
        };
        let Some(obj) = json.as_object() else {
            return Err(self.erro(
                ErrorCode::MessageInvalid,
                format!("message is a JSON {}, not an object", json.kind()),
                "message".into(),
                None,
                None,
                None,
            ));
        };
        self.validate_object(obj, ctx)
    }

    fn validate_object(&self, obj: &Object<'_>, ctx: &Context<'_>) -> Result<Valid, Box<Erro>> {
        // 1. Message type.
        let message_type = match obj.get("messageType") {
            None => {
                return Err(self.erro(
                    ErrorCode::MessageInvalid,
                    "messageType is missing: the message cannot be recognised".into(),
                    "messageType".into(),
                    None,
                    version_of(obj),
                    Some(obj),
                ));
            }
            Some(v) => match v.as_str().and_then(MessageType::from_code) {
                Some(t) if t.index().is_some() => t,
                _ => {
                    return Err(self.erro(
                        ErrorCode::MessageInvalid,
                        format!(
                            "messageType {} is not a message this implementation knows",
                            short(v)
                        ),
                        "messageType".into(),
                        None,
                        version_of(obj),
                        Some(obj),
                    ));
                }
            },
        };
        if !self.role.receives().contains(&message_type) {
            return Err(self.erro(
                ErrorCode::MessageInvalid,
                format!(
                    "{message_type} is not a message {} receives",
                    self.role.title()
                ),
                "messageType".into(),
                Some(message_type),
                version_of(obj),
                Some(obj),
            ));
        }

        // 2. Message version.
        let version = match obj.get("messageVersion") {
            None => {
                return Err(self.erro(
                    ErrorCode::RequiredElementMissing,
                    "messageVersion is missing".into(),
                    "messageVersion".into(),
                    Some(message_type),
                    None,
                    Some(obj),
                ));
            }
            Some(v) => match v.as_str() {
                Some(s) => match MessageVersion::parse(s) {
                    Some(version) => version,
                    None if looks_like_version(s) => {
                        return Err(self.erro(
                            ErrorCode::VersionNotSupported,
                            format!("messageVersion {s} is not supported (supported: 2.1.0, 2.2.0, 2.3.1)"),
                            "messageVersion".into(),
                            Some(message_type),
                            None,
                            Some(obj),
                        ));
                    }
                    None => {
                        return Err(self.erro(
                            ErrorCode::InvalidFormat,
                            format!("messageVersion {} is not a version", short(v)),
                            "messageVersion".into(),
                            Some(message_type),
                            None,
                            Some(obj),
                        ));
                    }
                },
                None => {
                    return Err(self.erro(
                        ErrorCode::InvalidFormat,
                        format!("messageVersion is a {}, not a string", v.kind()),
                        "messageVersion".into(),
                        Some(message_type),
                        None,
                        Some(obj),
                    ));
                }
            },
        };

        // 3. Element checks.
        let channel = self.channel_of(message_type, obj, ctx);
        let category = match message_type {
            MessageType::AReq | MessageType::RReq => obj
                .get_str("messageCategory")
                .and_then(MessageCategory::from_code),
            _ => ctx.request.and_then(|r| r.category),
        };
        let mut walk = Walk {
            version,
            message_type,
            role: self.role,
            channel,
            category,
            request: ctx.request,
            message: obj,
            slots: vec![None; dictionary::ELEMENTS.len()],
            findings: Findings::default(),
            path: Vec::new(),
        };
        walk.members(obj);
        walk.required();
        walk.cross_rules();
        self.critical_extensions(obj, &mut walk.findings);

        let Walk { findings, .. } = walk;
        if let Some((code, fields, description)) = findings.verdict() {
            return Err(self.erro(
                code,
                description,
                fields,
                Some(message_type),
                Some(version),
                Some(obj),
            ));
        }

        // 4. Typed message, decoded from the same tree.
        match Message::from_object(message_type, obj) {
            Ok(message) => Ok(Valid {
                message,
                skipped: findings.skipped,
            }),
            Err(e) => Err(self.erro(
                ErrorCode::InvalidFormat,
                format!(
                    "data element {} could not be decoded: {}",
                    e.path_string(),
                    e.message
                ),
                e.path_string(),
                Some(message_type),
                Some(version),
                Some(obj),
            )),
        }
    }

    fn channel_of(
        &self,
        t: MessageType,
        obj: &Object<'_>,
        ctx: &Context<'_>,
    ) -> Option<DeviceChannel> {
        if let Some(ch) = ctx.channel {
            return Some(ch);
        }
        match t {
            // A channel the dictionary has no rules for (a DS-defined 8x/9x, or garbage
            // that is reported on its own) leaves channel-specific rules unchecked rather
            // than flagging every channel-specific element.
            MessageType::AReq => obj
                .get_str("deviceChannel")
                .and_then(DeviceChannel::from_code)
                .filter(|c| !matches!(c, DeviceChannel::Other(_))),
            MessageType::CReq | MessageType::CRes => {
                if self.role == Role::Sdk {
                    return Some(DeviceChannel::App);
                }
                if let Some(ch) = ctx.request.and_then(|r| r.channel) {
                    return Some(ch);
                }
                // Only app messages carry sdkTransID: the one reliable marker a CReq/CRes
                // has of its channel when the transport does not say.
                Some(if obj.get("sdkTransID").is_some() {
                    DeviceChannel::App
                } else {
                    DeviceChannel::Browser
                })
            }
            _ => ctx.request.and_then(|r| r.channel),
        }
    }

    fn critical_extensions(&self, obj: &Object<'_>, findings: &mut Findings) {
        let Some(exts) = obj.get("messageExtension").and_then(Json::as_array) else {
            return;
        };
        for ext in exts.iter().filter_map(Json::as_object) {
            let critical = matches!(ext.get("criticalityIndicator"), Some(Json::Bool(true)));
            if !critical {
                continue;
            }
            let id = ext.get_str("id").unwrap_or("(no id)");
            if !self.known_extensions.iter().any(|k| k == id) {
                findings.critical.push(id.to_owned());
            }
        }
    }

    /// The `Erro` this role sends about a message it accepted as valid but cannot
    /// process (a PAN in no card range, a peer that timed out, the wrong message for an
    /// endpoint): the ids, type and version are taken from `about`.
    pub fn reject(
        &self,
        code: ErrorCode,
        detail: &str,
        description: &str,
        about: Option<&Message>,
    ) -> Box<Erro> {
        let ids = about.map(Message::trans_ids).unwrap_or_default();
        let mut description = description.to_owned();
        description.insert_str(0, ": ");
        description.insert_str(0, code.meaning().unwrap_or("Error"));
        Box::new(Erro {
            message_version: about.map_or(self.default_version, Message::message_version),
            three_ds_server_trans_id: ids.three_ds_server,
            acs_trans_id: ids.acs,
            ds_trans_id: ids.ds,
            sdk_trans_id: ids.sdk,
            error_code: code,
            error_component: self.role.component(),
            error_description: clip(description),
            error_detail: clip(detail_or_subject(detail, about)),
            error_message_type: about.map(Message::message_type),
        })
    }

    /// Builds the `Erro` this validator's role sends.
    fn erro(
        &self,
        code: ErrorCode,
        description: String,
        detail: String,
        message_type: Option<MessageType>,
        version: Option<MessageVersion>,
        obj: Option<&Object<'_>>,
    ) -> Box<Erro> {
        let id = |name: &str| {
            obj.and_then(|o| o.get_str(name))
                .and_then(crate::values::TransId::parse)
        };
        let mut description = description;
        description.insert_str(0, ": ");
        description.insert_str(0, code.meaning().unwrap_or("Error"));
        Box::new(Erro {
            message_version: version.unwrap_or(self.default_version),
            three_ds_server_trans_id: id("threeDSServerTransID"),
            acs_trans_id: id("acsTransID"),
            ds_trans_id: id("dsTransID"),
            sdk_trans_id: id("sdkTransID"),
            error_code: code,
            error_component: self.role.component(),
            error_description: clip(description),
            error_detail: clip(detail),
            error_message_type: message_type,
        })
    }
}

/// The message version as written, if it is one we speak (for the `Erro`).
fn version_of(obj: &Object<'_>) -> Option<MessageVersion> {
    obj.get_str("messageVersion")
        .and_then(MessageVersion::parse)
}

/// A short rendering of a value for an error text.
fn short(v: &Json<'_>) -> String {
    let s = format!("{v:?}");
    if s.len() > 40 {
        let cut = (0..=40).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        format!("{}…", &s[..cut])
    } else {
        s
    }
}

/// `errorDetail` must hold 1 to 2048 characters. Decision: an `Erro` about no element
/// in particular (a peer that timed out or answered HTTP 500: 402, 403, 405) names the
/// message it is about (`AReq`), else `message`; the sources give no detail for these.
fn detail_or_subject(detail: &str, about: Option<&Message>) -> String {
    if !detail.is_empty() {
        return detail.to_owned();
    }
    about.map_or_else(|| "message".to_owned(), |m| m.message_type().to_string())
}

/// `errorDescription` and `errorDetail` are at most 2048 characters.
fn clip(mut s: String) -> String {
    const MAX: usize = 2048;
    if s.chars().count() > MAX {
        let cut = s.char_indices().nth(MAX - 1).map_or(s.len(), |(i, _)| i);
        s.truncate(cut);
        s.push('…');
    }
    s
}

// ---------------------------------------------------------------------------------------

/// What conditions and cross-field rules see of the message under validation.
#[derive(Debug)]
pub struct Facts<'m, 'a> {
    pub version: MessageVersion,
    pub message_type: MessageType,
    pub role: Role,
    pub channel: Option<DeviceChannel>,
    pub category: Option<MessageCategory>,
    pub request: Option<&'m RequestFacts>,
    message: &'m Object<'a>,
    slots: &'m [Option<&'m Json<'a>>],
}

impl<'m, 'a> Facts<'m, 'a> {
    /// A top-level element's value.
    pub fn get(&self, name: &str) -> Option<&'m Json<'a>> {
        match dictionary::element_index(name) {
            Some(i) => self.slots[i],
            // Not in the dictionary: fall back to the message itself.
            None => self.message.get(name),
        }
    }
    /// A top-level string element.
    pub fn str(&self, name: &str) -> Option<&'m str> {
        self.get(name).and_then(Json::as_str)
    }
    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(Json::Bool(b)) => Some(*b),
            _ => None,
        }
    }
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// The strings of a top-level array element.
    pub fn strings(&self, name: &str) -> impl Iterator<Item = &'m str> + use<'m, 'a> {
        self.get(name)
            .and_then(Json::as_array)
            .unwrap_or(&[])
            .iter()
            .filter_map(Json::as_str)
    }
    /// The objects of a top-level array element.
    pub fn objects(&self, name: &str) -> impl Iterator<Item = &'m Object<'a>> + use<'m, 'a> {
        self.get(name)
            .and_then(Json::as_array)
            .unwrap_or(&[])
            .iter()
            .filter_map(Json::as_object)
    }
    /// A string member of a top-level object element.
    pub fn object_member(&self, name: &str, member: &str) -> Option<&'m str> {
        self.get(name)
            .and_then(Json::as_object)
            .and_then(|o| o.get_str(member))
    }
    /// Whether this is a payment authentication (messageCategory 01).
    pub fn payment(&self) -> Tri {
        match self.category {
            Some(c) => Tri::from_bool(c == MessageCategory::Payment),
            None => Tri::Unknown(match self.message_type {
                MessageType::AReq | MessageType::RReq => "a valid messageCategory",
                _ => "the AReq's messageCategory",
            }),
        }
    }
}

/// Problems found, by error class.
#[derive(Debug, Default)]
struct Findings {
    duplicate: Vec<String>,
    missing: Vec<(String, Option<&'static str>)>,
    invalid: Vec<(String, String)>,
    transaction: Vec<String>,
    decryption: Vec<String>,
    critical: Vec<String>,
    skipped: Vec<Skipped>,
}

impl Findings {
    /// The winning class: code, errorDetail, description.
    fn verdict(&self) -> Option<(ErrorCode, String, String)> {
        if !self.duplicate.is_empty() {
            let detail = self.duplicate.join(",");
            return Some((
                ErrorCode::DuplicateElement,
                detail.clone(),
                format!("{detail} occurs more than once"),
            ));
        }
        if !self.missing.is_empty() {
            let detail = join(self.missing.iter().map(|(p, _)| p.as_str()));
            // Fields missing for the same reason are listed together, the reason once.
            let mut groups: Vec<(Option<&'static str>, Vec<&str>)> = Vec::new();
            for (path, cond) in &self.missing {
                match groups.iter_mut().find(|(c, _)| c == cond) {
                    Some((_, paths)) => paths.push(path),
                    None => groups.push((*cond, vec![path])),
                }
            }
            let why = groups
                .iter()
                .map(|(cond, paths)| match cond {
                    Some(c) => format!("{} ({c})", paths.join(", ")),
                    None => paths.join(", "),
                })
                .collect::<Vec<_>>()
                .join("; ");
            return Some((ErrorCode::RequiredElementMissing, detail, why));
        }
        if !self.invalid.is_empty() {
            let detail = join(self.invalid.iter().map(|(p, _)| p.as_str()));
            let why = self
                .invalid
                .iter()
                .map(|(p, w)| format!("{p}: {w}"))
                .collect::<Vec<_>>()
                .join("; ");
            return Some((ErrorCode::InvalidFormat, detail, why));
        }
        if !self.transaction.is_empty() {
            let detail = join(self.transaction.iter().map(String::as_str));
            return Some((
                ErrorCode::TransactionIdNotRecognised,
                detail.clone(),
                format!("{detail}: not the transaction of the message being answered"),
            ));
        }
        if !self.decryption.is_empty() {
            let detail = join(self.decryption.iter().map(String::as_str));
            return Some((
                ErrorCode::DecryptionFailure,
                detail.clone(),
                format!("{detail} does not match the expected counter"),
            ));
        }
        if !self.critical.is_empty() {
            let detail = join(self.critical.iter().map(String::as_str));
            return Some((
                ErrorCode::CriticalExtensionNotRecognised,
                detail.clone(),
                format!("critical message extension(s) {detail} not recognised"),
            ));
        }
        None
    }
}

/// Whether a value has the JSON shape a type expects (not whether it is valid).
fn shape_fits(ty: &Type, value: &Json<'_>) -> bool {
    matches!(
        (ty, value),
        (Type::Str(_), Json::String(_))
            | (Type::Bool, Json::Bool(_))
            | (Type::UInt { .. }, Json::Number(_))
            | (
                Type::StrArray { .. } | Type::ObjArray { .. },
                Json::Array(_)
            )
            | (Type::Obj(_) | Type::AnyObject { .. }, Json::Object(_))
            | (Type::Any { .. }, _)
    )
}

/// Writes an element name into an `errorDetail` path. Names that are not plain
/// identifiers (empty, or with commas, dots, spaces, quotes…) are written as JSON strings,
/// so the comma-separated list stays unambiguous and never empty.
fn push_name(out: &mut String, name: &str) {
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        out.push_str(name);
    } else {
        out.push_str(&serde_json::to_string(name).unwrap_or_else(|_| "\"?\"".into()));
    }
}

/// Joins element paths, each once, in first-seen order.
fn join<'s>(items: impl Iterator<Item = &'s str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for i in items {
        if !seen.contains(&i) {
            seen.push(i);
        }
    }
    seen.join(",")
}

#[derive(Debug, Clone, Copy)]
enum Seg<'p> {
    Name(&'p str),
    Index(usize),
}

/// One validation pass over a message.
struct Walk<'m, 'a> {
    version: MessageVersion,
    message_type: MessageType,
    role: Role,
    channel: Option<DeviceChannel>,
    category: Option<MessageCategory>,
    request: Option<&'m RequestFacts>,
    message: &'m Object<'a>,
    /// Each dictionary element's value, by its index in `ELEMENTS`.
    slots: Vec<Option<&'m Json<'a>>>,
    findings: Findings,
    path: Vec<Seg<'m>>,
}

impl<'m, 'a> Walk<'m, 'a> {
    fn path_with(&self, last: Option<Seg<'_>>) -> String {
        let mut out = String::new();
        for seg in self.path.iter().copied().chain(last) {
            match seg {
                Seg::Name(n) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    push_name(&mut out, n);
                }
                Seg::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }

    fn invalid(&mut self, name: Option<&str>, why: String) {
        let p = self.path_with(name.map(Seg::Name));
        self.findings.invalid.push((p, why));
    }

    /// The top-level members: known, allowed, well-typed.
    fn members(&mut self, obj: &'m Object<'a>) {
        for dup in &obj.duplicates {
            let p = self.path_with(Some(Seg::Name(dup)));
            self.findings.duplicate.push(p);
        }
        for (name, value) in &obj.members {
            let name: &'m str = name.as_ref();
            if name == "messageType" {
                continue;
            }
            let Some(idx) = dictionary::element_index(name) else {
                self.invalid(
                    Some(name),
                    "not a data element of any EMV 3DS version".into(),
                );
                continue;
            };
            let element: &'static Element = &dictionary::ELEMENTS[idx];
            let Some(rules) = element.rules_for(self.message_type) else {
                self.invalid(
                    Some(name),
                    format!("not a data element of the {}", self.message_type),
                );
                continue;
            };
            match dictionary::applicability(rules, self.version, self.channel) {
                Applicability::NotInVersion => {
                    self.invalid(
                        Some(name),
                        format!("not defined in version {}", self.version),
                    );
                    continue;
                }
                Applicability::NotForChannel => {
                    let ch = self
                        .channel
                        .map(|c| c.as_str().to_owned())
                        .unwrap_or_default();
                    self.invalid(Some(name), format!("not applicable to deviceChannel {ch}"));
                    continue;
                }
                _ => {}
            }
            self.slots[idx] = Some(value);
            if let Some(ty) = element.ty(self.version) {
                // A value in the shape another version uses (an array in 2.2.0 where
                // 2.3.1 has arrays, …) is usually a version mix-up: say so.
                if !shape_fits(ty, value)
                    && let Some(other) = element
                        .forms
                        .iter()
                        .find(|f| !f.versions.contains(self.version) && shape_fits(&f.ty, value))
                {
                    self.invalid(
                        Some(name),
                        format!(
                            "{} {} is the form of {} {}, not of {}",
                            if value.kind().starts_with(['a', 'e', 'i', 'o', 'u']) {
                                "an"
                            } else {
                                "a"
                            },
                            value.kind(),
                            if other.versions.iter().count() > 1 {
                                "versions"
                            } else {
                                "version"
                            },
                            other.versions,
                            self.version
                        ),
                    );
                    continue;
                }
                self.path.push(Seg::Name(name));
                self.value(ty, value);
                self.path.pop();
            }
        }
    }

    /// Checks one value against its type.
    fn value(&mut self, ty: &Type, value: &'m Json<'a>) {
        match (ty, value) {
            (_, Json::Null) => {
                self.invalid(None, "null is not allowed: omit the element instead".into())
            }
            (Type::Str(format), Json::String(s)) => {
                if let Err(why) = format.check(s, self.version) {
                    self.invalid(None, why);
                }
            }
            (Type::Bool, Json::Bool(_)) => {}
            (Type::UInt { max }, Json::Number(n)) => {
                if n.as_u64().is_none_or(|v| v > *max) {
                    self.invalid(None, format!("expected a whole number from 0 to {max}"));
                }
            }
            (Type::StrArray { item, min, max }, Json::Array(items)) => {
                if items.len() < *min || items.len() > *max {
                    self.invalid(
                        None,
                        format!("{} entries, expected {min} to {max}", items.len()),
                    );
                }
                for (i, it) in items.iter().enumerate() {
                    self.path.push(Seg::Index(i));
                    match it {
                        Json::String(s) => {
                            if let Err(why) = item.check(s, self.version) {
                                self.invalid(None, why);
                            }
                        }
                        other => {
                            self.invalid(None, format!("expected a string, found {}", other.kind()))
                        }
                    }
                    self.path.pop();
                }
            }
            (Type::Obj(def), Json::Object(o)) => self.object(def, o),
            (Type::ObjArray { def, min, max }, Json::Array(items)) => {
                if items.len() < *min || items.len() > *max {
                    self.invalid(
                        None,
                        format!("{} entries, expected {min} to {max}", items.len()),
                    );
                }
                for (i, it) in items.iter().enumerate() {
                    self.path.push(Seg::Index(i));
                    match it {
                        Json::Object(o) => self.object(def, o),
                        other => self
                            .invalid(None, format!("expected an object, found {}", other.kind())),
                    }
                    self.path.pop();
                }
            }
            (Type::AnyObject { max_len }, Json::Object(_)) | (Type::Any { max_len }, _) => {
                self.duplicates_within(value);
                if value.compact_len() > *max_len {
                    self.invalid(None, format!("longer than {max_len} characters"));
                }
            }
            (ty, other) => {
                let expected = match ty {
                    Type::Str(_) => "a string",
                    Type::Bool => "a boolean",
                    Type::UInt { .. } => "a number",
                    Type::StrArray { .. } | Type::ObjArray { .. } => "an array",
                    Type::Obj(_) | Type::AnyObject { .. } => "an object",
                    Type::Any { .. } => "a value",
                };
                self.invalid(None, format!("expected {expected}, found {}", other.kind()));
            }
        }
    }

    fn duplicates_within(&mut self, value: &'m Json<'a>) {
        match value {
            Json::Object(o) => {
                for d in &o.duplicates {
                    let p = self.path_with(Some(Seg::Name(d)));
                    self.findings.duplicate.push(p);
                }
                for (k, v) in &o.members {
                    self.path.push(Seg::Name(k));
                    self.duplicates_within(v);
                    self.path.pop();
                }
            }
            Json::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.path.push(Seg::Index(i));
                    self.duplicates_within(v);
                    self.path.pop();
                }
            }
            _ => {}
        }
    }

    fn object(&mut self, def: &'static ObjectDef, o: &'m Object<'a>) {
        for d in &o.duplicates {
            let p = self.path_with(Some(Seg::Name(d)));
            self.findings.duplicate.push(p);
        }
        for (name, value) in &o.members {
            let name: &'m str = name.as_ref();
            let Some(member) = def.members.iter().find(|m| m.name == name) else {
                if def.open {
                    self.path.push(Seg::Name(name));
                    self.duplicates_within(value);
                    self.path.pop();
                } else {
                    self.invalid(Some(name), format!("not a member of {}", def.name));
                }
                continue;
            };
            match dictionary::applicability(member.rules, self.version, self.channel) {
                Applicability::NotInVersion => {
                    self.invalid(
                        Some(name),
                        format!("not defined in version {}", self.version),
                    );
                    continue;
                }
                Applicability::NotForChannel => {
                    self.invalid(Some(name), "not applicable to this deviceChannel".into());
                    continue;
                }
                _ => {}
            }
            if let Some(ty) = member.ty(self.version) {
                self.path.push(Seg::Name(name));
                self.value(ty, value);
                self.path.pop();
            }
        }
        for member in def.members {
            if o.get(member.name).is_some() {
                continue;
            }
            if let Applicability::Applies(Presence::Required) =
                dictionary::applicability(member.rules, self.version, self.channel)
            {
                let p = self.path_with(Some(Seg::Name(member.name)));
                self.findings.missing.push((p, None));
            }
        }
    }

    fn facts(&self) -> Facts<'_, 'a> {
        Facts {
            version: self.version,
            message_type: self.message_type,
            role: self.role,
            channel: self.channel,
            category: self.category,
            request: self.request,
            message: self.message,
            slots: &self.slots,
        }
    }

    /// Required and conditional elements that are absent.
    fn required(&mut self) {
        let mut missing = Vec::new();
        let mut skipped = Vec::new();
        {
            let facts = self.facts();
            for &idx in dictionary::element_ids_of(self.message_type) {
                if self.slots[idx].is_some() {
                    continue;
                }
                let element = &dictionary::ELEMENTS[idx];
                let Some(rules) = element.rules_for(self.message_type) else {
                    continue;
                };
                match dictionary::applicability(rules, self.version, self.channel) {
                    Applicability::Applies(Presence::Required) => {
                        missing.push((element.name.to_owned(), None))
                    }
                    Applicability::Applies(Presence::Conditional(c)) => match (c.test)(&facts) {
                        Tri::True => missing.push((element.name.to_owned(), Some(c.text))),
                        Tri::False => {}
                        Tri::Unknown(needs) => skipped.push(Skipped {
                            subject: element.name.to_owned(),
                            rule: c.text,
                            needs,
                        }),
                    },
                    Applicability::ChannelUnknown {
                        required_everywhere: true,
                    } => {
                        missing.push((element.name.to_owned(), None));
                    }
                    Applicability::ChannelUnknown {
                        required_everywhere: false,
                    } => {
                        // Required on some channel (possibly on a condition): note it as
                        // skipped, with the condition, unless the condition is false.
                        let mut rule_text = None;
                        for r in rules.iter().filter(|r| r.versions.contains(self.version)) {
                            match r.presence {
                                Presence::Optional => {}
                                Presence::Required => {
                                    rule_text.get_or_insert("required on some device channels");
                                }
                                Presence::Conditional(c) => {
                                    if (c.test)(&facts) != Tri::False {
                                        rule_text = Some(c.text);
                                    }
                                }
                            }
                        }
                        if let Some(rule) = rule_text {
                            skipped.push(Skipped {
                                subject: element.name.to_owned(),
                                rule,
                                needs: "the AReq's deviceChannel",
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        self.findings.missing.extend(missing);
        self.findings.skipped.extend(skipped);
    }

    fn cross_rules(&mut self) {
        let mut results = Vec::new();
        {
            let facts = self.facts();
            for rule in CROSS_RULES {
                if !rule.messages.contains(self.message_type)
                    || !rule.versions.contains(self.version)
                {
                    continue;
                }
                results.push((rule, (rule.check)(&facts)));
            }
        }
        for (rule, verdict) in results {
            match verdict {
                Verdict::Holds => {}
                Verdict::Unknown(needs) => self.findings.skipped.push(Skipped {
                    subject: rule.id.to_owned(),
                    rule: rule.text,
                    needs,
                }),
                Verdict::Broken(code, fields) => match code {
                    ErrorCode::TransactionIdNotRecognised => {
                        self.findings.transaction.extend(fields)
                    }
                    ErrorCode::DecryptionFailure => self.findings.decryption.extend(fields),
                    ErrorCode::RequiredElementMissing => self
                        .findings
                        .missing
                        .extend(fields.into_iter().map(|f| (f, Some(rule.text)))),
                    _ => self
                        .findings
                        .invalid
                        .extend(fields.into_iter().map(|f| (f, rule.text.to_owned()))),
                },
            }
        }
    }
}
