//! The data dictionary: one definition per data element, written once.
//!
//! Each [`Element`] says what JSON type and format it has in each version, which
//! messages carry it, and for each message its presence per version × device channel:
//! required, optional, or conditional on a named [`Condition`] whose text is the
//! condition as the specification states it. An element (or member) with no rule for a
//! version or channel is not allowed there. Message categories enter through conditions
//! ("required if messageCategory is 01"), because that is how the specification phrases
//! them.
//!
//! Validation ([`crate::validate`]), the generated reference ([`crate::docs`]) and the
//! consistency tests between the dictionary and the typed messages are all driven from
//! these tables. Rules that relate several elements' *values* (rather than one element's
//! presence) are in [`rules`].
//!
//! Where `docs/protocol.md` marks a rule unverified or in conflict, the choice made is
//! written next to the element, starting with `Decision:`.

mod conditions;
mod elements;
pub(crate) mod format;
pub mod rules;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use crate::codes::{DeviceChannel, MessageType};
use crate::version::{MessageVersion, Versions};

pub use elements::ELEMENTS;
pub use format::{DateFormat, Format, safe_url};
pub use rules::{CROSS_RULES, CrossRule};

/// A data element of a message.
#[derive(Debug)]
pub struct Element {
    /// The JSON name, exactly as on the wire.
    pub name: &'static str,
    /// What the element is, in a sentence.
    pub doc: &'static str,
    /// The element's type per version (an element whose type changes, such as
    /// `threeDSRequestorChallengeInd` becoming an array in 2.3.1, has several forms).
    pub forms: &'static [Form],
    /// The messages that carry it and the presence rules in each.
    pub usage: &'static [Usage],
}

/// A type that holds for a set of versions.
#[derive(Debug)]
pub struct Form {
    pub versions: Versions,
    pub ty: Type,
}

/// Where an element is used and how.
#[derive(Debug)]
pub struct Usage {
    pub messages: Messages,
    pub rules: &'static [Rule],
}

/// Presence for a set of versions and channels. The first matching rule wins; no
/// matching rule means "not allowed here".
#[derive(Debug)]
pub struct Rule {
    pub versions: Versions,
    pub channels: Channels,
    pub presence: Presence,
}

/// Required, optional, or required when a condition holds (optional otherwise).
#[derive(Debug, Clone, Copy)]
pub enum Presence {
    Required,
    Optional,
    Conditional(&'static Condition),
}

/// A presence condition, as the specification words it.
pub struct Condition {
    /// The condition in words (appears in `errorDescription` and the reference).
    pub text: &'static str,
    /// Whether the element is required, given the message (and the request, if any).
    pub test: fn(&crate::validate::Facts<'_, '_>) -> Tri,
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text)
    }
}

/// Three-valued truth: conditions on data the validator does not have (the AReq when
/// validating an ARes without `--request`) are unknown, and their rules are skipped and
/// reported as such.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    True,
    False,
    /// Unknown; the text names what would be needed (e.g. "the AReq's deviceChannel").
    Unknown(&'static str),
}

impl Tri {
    pub fn from_bool(b: bool) -> Tri {
        if b { Tri::True } else { Tri::False }
    }
    pub fn and(self, other: impl FnOnce() -> Tri) -> Tri {
        match self {
            Tri::False => Tri::False,
            Tri::True => other(),
            Tri::Unknown(w) => match other() {
                Tri::False => Tri::False,
                _ => Tri::Unknown(w),
            },
        }
    }
    pub fn or(self, other: impl FnOnce() -> Tri) -> Tri {
        match self {
            Tri::True => Tri::True,
            Tri::False => other(),
            Tri::Unknown(w) => match other() {
                Tri::True => Tri::True,
                _ => Tri::Unknown(w),
            },
        }
    }
}

/// The JSON type of an element in one version.
#[derive(Debug, Clone, Copy)]
pub enum Type {
    /// A string in a [`Format`].
    Str(Format),
    Bool,
    /// A non-negative JSON integer up to `max`.
    UInt {
        max: u64,
    },
    /// An array of strings.
    StrArray {
        item: Format,
        min: usize,
        max: usize,
    },
    /// A nested object with its own members.
    Obj(&'static ObjectDef),
    /// An array of nested objects.
    ObjArray {
        def: &'static ObjectDef,
        min: usize,
        max: usize,
    },
    /// Any JSON object, passed through as received, up to `max_len` bytes compact.
    AnyObject {
        max_len: usize,
    },
    /// Any JSON value, passed through as received.
    Any {
        max_len: usize,
    },
}

/// A nested object's definition.
#[derive(Debug)]
pub struct ObjectDef {
    pub name: &'static str,
    pub members: &'static [Member],
    /// Whether members not listed are accepted (true only for externally defined shapes
    /// such as JWKs, which may carry `kid`, `use`, …).
    pub open: bool,
}

/// A member of a nested object. Its rules' channels refer to the message's channel.
#[derive(Debug)]
pub struct Member {
    pub name: &'static str,
    pub doc: &'static str,
    pub forms: &'static [Form],
    pub rules: &'static [Rule],
}

/// A set of message types.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Messages(u16);

impl Messages {
    pub const fn of(types: &[MessageType]) -> Messages {
        let mut bits = 0u16;
        let mut i = 0;
        while i < types.len() {
            bits |= 1 << msg_index(types[i]);
            i += 1;
        }
        Messages(bits)
    }
    pub fn contains(self, t: MessageType) -> bool {
        t.index().is_some_and(|i| self.0 & (1 << i) != 0)
    }
}

const fn msg_index(t: MessageType) -> usize {
    match t {
        MessageType::PReq => 0,
        MessageType::PRes => 1,
        MessageType::AReq => 2,
        MessageType::ARes => 3,
        MessageType::CReq => 4,
        MessageType::CRes => 5,
        MessageType::RReq => 6,
        MessageType::RRes => 7,
        MessageType::Erro => 8,
        MessageType::Other(_) => 15,
    }
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(MessageType::KNOWN.iter().filter(|t| self.contains(**t)))
            .finish()
    }
}

/// A set of device channels.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Channels(u8);

impl Channels {
    pub const APP: Channels = Channels(0b001);
    pub const BRW: Channels = Channels(0b010);
    pub const RI: Channels = Channels(0b100);
    pub const APP_BRW: Channels = Channels(0b011);
    pub const ANY: Channels = Channels(0b111);

    pub fn contains(self, ch: DeviceChannel) -> bool {
        match ch {
            DeviceChannel::App => self.0 & Self::APP.0 != 0,
            DeviceChannel::Browser => self.0 & Self::BRW.0 != 0,
            DeviceChannel::ThreeRi => self.0 & Self::RI.0 != 0,
            // A DS-defined channel: only rules for every channel apply.
            DeviceChannel::Other(_) => self.0 == Self::ANY.0,
        }
    }
    pub fn is_any(self) -> bool {
        self.0 == Self::ANY.0
    }
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = [(Self::APP, "APP"), (Self::BRW, "BRW"), (Self::RI, "3RI")];
        let list: Vec<&str> = names
            .iter()
            .filter(|(c, _)| self.0 & c.0 != 0)
            .map(|(_, n)| *n)
            .collect();
        f.write_str(&list.join("|"))
    }
}

impl Element {
    /// Whether the string `value` has this element's format in some version (in
    /// `version` alone when it is given), or the reason it has none: the check a
    /// receiver can make before it knows the message's version, so a malformed element
    /// is reported as itself before any lookup uses it. Elements that are not strings
    /// in any version pass (their shape is the full validation's).
    pub fn check_string(
        &self,
        value: &str,
        version: Option<MessageVersion>,
    ) -> Result<(), format::FormatError> {
        let mut first_error = None;
        for form in self.forms {
            let in_version = version.is_none_or(|v| form.versions.contains(v));
            let Type::Str(format) = form.ty else {
                continue;
            };
            if !in_version {
                continue;
            }
            let at = version.unwrap_or_else(|| {
                MessageVersion::ALL
                    .iter()
                    .copied()
                    .find(|v| form.versions.contains(*v))
                    .unwrap_or(MessageVersion::V2_2_0)
            });
            match format.check(value, at) {
                Ok(()) => return Ok(()),
                Err(why) => {
                    first_error.get_or_insert(why);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The element's type in `version`, if it exists there.
    pub fn ty(&self, version: MessageVersion) -> Option<&Type> {
        self.forms
            .iter()
            .find(|f| f.versions.contains(version))
            .map(|f| &f.ty)
    }

    /// The presence rules of this element in messages of type `t`.
    pub fn rules_for(&self, t: MessageType) -> Option<&'static [Rule]> {
        self.usage
            .iter()
            .find(|u| u.messages.contains(t))
            .map(|u| u.rules)
    }
}

impl Member {
    pub fn ty(&self, version: MessageVersion) -> Option<&Type> {
        self.forms
            .iter()
            .find(|f| f.versions.contains(version))
            .map(|f| &f.ty)
    }
}

/// What the rules say about one element for one version and (possibly unknown) channel.
#[derive(Debug, Clone, Copy)]
pub enum Applicability {
    /// No rule for this version: the element does not exist in it.
    NotInVersion,
    /// Rules exist for the version, but not for this channel.
    NotForChannel,
    /// The presence that applies.
    Applies(Presence),
    /// The channel is unknown and the rules differ by channel: `required_everywhere`
    /// says whether every channel requires it.
    ChannelUnknown { required_everywhere: bool },
}

/// Decides which rule applies.
pub fn applicability(
    rules: &[Rule],
    version: MessageVersion,
    channel: Option<DeviceChannel>,
) -> Applicability {
    let mut in_version = rules.iter().filter(|r| r.versions.contains(version));
    let Some(first) = in_version.clone().next() else {
        return Applicability::NotInVersion;
    };
    match channel {
        Some(ch) => match in_version.find(|r| r.channels.contains(ch)) {
            Some(r) => Applicability::Applies(r.presence),
            None => Applicability::NotForChannel,
        },
        None if first.channels.is_any() => Applicability::Applies(first.presence),
        None => Applicability::ChannelUnknown {
            required_everywhere: in_version
                .clone()
                .all(|r| matches!(r.presence, Presence::Required))
                && {
                    let mut covered = 0u8;
                    for r in in_version {
                        covered |= r.channels.0;
                    }
                    covered == Channels::ANY.0
                },
        },
    }
}

/// Looks an element up by wire name.
pub fn element(name: &str) -> Option<&'static Element> {
    index().by_name.get(name).map(|&i| &ELEMENTS[i])
}

/// The elements carried by messages of type `t`, in dictionary order.
pub fn elements_of(t: MessageType) -> &'static [&'static Element] {
    match t.index() {
        Some(i) => &index().by_message[i],
        None => &[],
    }
}

/// The same as positions in [`ELEMENTS`] (for per-message slot tables).
pub(crate) fn element_ids_of(t: MessageType) -> &'static [usize] {
    match t.index() {
        Some(i) => &index().ids_by_message[i],
        None => &[],
    }
}

/// The position of an element in [`ELEMENTS`] (used for per-message slot tables).
pub(crate) fn element_index(name: &str) -> Option<usize> {
    index().by_name.get(name).copied()
}

struct Index {
    by_name: HashMap<&'static str, usize, BuildHasherDefault<Fnv>>,
    by_message: Vec<Vec<&'static Element>>,
    ids_by_message: Vec<Vec<usize>>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut by_name = HashMap::with_capacity_and_hasher(ELEMENTS.len(), Default::default());
        for (i, e) in ELEMENTS.iter().enumerate() {
            by_name.insert(e.name, i);
        }
        let ids_by_message: Vec<Vec<usize>> = MessageType::KNOWN
            .iter()
            .map(|t| {
                (0..ELEMENTS.len())
                    .filter(|i| ELEMENTS[*i].rules_for(*t).is_some())
                    .collect()
            })
            .collect();
        let by_message = ids_by_message
            .iter()
            .map(|ids| ids.iter().map(|i| &ELEMENTS[*i]).collect())
            .collect();
        Index {
            by_name,
            by_message,
            ids_by_message,
        }
    })
}

/// FNV-1a: element names are short, trusted keys, where SipHash's DoS resistance buys
/// nothing and costs a third of the lookup time. Unknown names from the wire only ever
/// probe the table; they are never inserted.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}
