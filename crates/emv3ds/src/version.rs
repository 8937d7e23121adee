//! Protocol versions: the three this crate speaks, and sets of them for the dictionary.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An EMV 3DS protocol version this crate implements. Any other `messageVersion` is
/// answered with `Erro` 102 before a typed message is built.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageVersion {
    V2_1_0,
    V2_2_0,
    V2_3_1,
}

impl MessageVersion {
    /// All supported versions, oldest first.
    pub const ALL: [MessageVersion; 3] = [Self::V2_1_0, Self::V2_2_0, Self::V2_3_1];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V2_1_0 => "2.1.0",
            Self::V2_2_0 => "2.2.0",
            Self::V2_3_1 => "2.3.1",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "2.1.0" => Some(Self::V2_1_0),
            "2.2.0" => Some(Self::V2_2_0),
            "2.3.1" => Some(Self::V2_3_1),
            _ => None,
        }
    }

    /// This version as a one-element set.
    pub const fn set(self) -> Versions {
        Versions(1 << self as u8)
    }
}

/// Whether `s` has the shape of a protocol version (`major.minor.patch`, digits), which
/// decides between `Erro` 203 (not a version at all) and 102 (a version we do not speak).
pub fn looks_like_version(s: &str) -> bool {
    let mut parts = 0;
    for part in s.split('.') {
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        parts += 1;
    }
    parts == 3
}

impl fmt::Display for MessageVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for MessageVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of [`MessageVersion::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported message version {0:?} (supported: 2.1.0, 2.2.0, 2.3.1)")]
pub struct UnsupportedVersion(pub String);

impl FromStr for MessageVersion {
    type Err = UnsupportedVersion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnsupportedVersion(s.to_owned()))
    }
}

impl Serialize for MessageVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MessageVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(UnsupportedVersion(s.into_owned())))
    }
}

/// A set of versions (the dictionary says which versions define an element, a code, a rule).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Versions(u8);

impl Versions {
    pub const NONE: Versions = Versions(0);
    pub const ALL: Versions = Versions(0b111);
    /// 2.2.0 and 2.3.1.
    pub const FROM_2_2: Versions = Versions(0b110);
    /// 2.1.0 and 2.2.0.
    pub const UP_TO_2_2: Versions = Versions(0b011);
    pub const ONLY_2_1: Versions = Versions(0b001);
    pub const ONLY_2_2: Versions = Versions(0b010);
    pub const ONLY_2_3: Versions = Versions(0b100);

    pub const fn contains(self, v: MessageVersion) -> bool {
        self.0 & (1 << v as u8) != 0
    }
    pub const fn union(self, other: Versions) -> Versions {
        Versions(self.0 | other.0)
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The versions of the set, oldest first.
    pub fn iter(self) -> impl Iterator<Item = MessageVersion> {
        MessageVersion::ALL
            .into_iter()
            .filter(move |v| self.contains(*v))
    }
    /// The versions from `v` on.
    pub const fn since(v: MessageVersion) -> Versions {
        match v {
            MessageVersion::V2_1_0 => Self::ALL,
            MessageVersion::V2_2_0 => Self::FROM_2_2,
            MessageVersion::V2_3_1 => Self::ONLY_2_3,
        }
    }
}

impl fmt::Debug for Versions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Display for Versions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for v in self.iter() {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            f.write_str(v.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_shapes() {
        assert!(looks_like_version("2.0.0"));
        assert!(looks_like_version("10.20.300"));
        assert!(!looks_like_version("2.2"));
        assert!(!looks_like_version("2.2.x"));
        assert!(!looks_like_version(""));
        assert!(!looks_like_version("2..0"));
    }

    #[test]
    fn version_sets() {
        assert!(Versions::FROM_2_2.contains(MessageVersion::V2_3_1));
        assert!(!Versions::FROM_2_2.contains(MessageVersion::V2_1_0));
        assert_eq!(Versions::since(MessageVersion::V2_2_0), Versions::FROM_2_2);
        assert_eq!(
            Versions::ONLY_2_1.union(Versions::ONLY_2_2),
            Versions::UP_TO_2_2
        );
        assert_eq!(Versions::ALL.to_string(), "2.1.0, 2.2.0, 2.3.1");
    }
}
