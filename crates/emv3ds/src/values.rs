//! Value types used inside messages: identifiers and card numbers that can only hold
//! valid values, and the shapes that change between versions.

use std::fmt;

use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::dictionary::format::is_uuid;

/// A transaction id: a canonical 36-character UUID (`threeDSServerTransID`, `acsTransID`,
/// `dsTransID`, `sdkTransID`, `sdkAppID`, `threeDSMethodId`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransId(String);

impl TransId {
    /// The id, if `s` is a canonical UUID.
    pub fn parse(s: &str) -> Option<TransId> {
        is_uuid(s).then(|| TransId(s.to_owned()))
    }

    /// Builds a version-4 UUID from 16 random bytes (the caller brings the randomness,
    /// so this crate stays free of I/O and tests stay deterministic).
    pub fn from_random_bytes(mut b: [u8; 16]) -> TransId {
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h =
            |r: std::ops::Range<usize>| b[r].iter().map(|x| format!("{x:02x}")).collect::<String>();
        TransId(format!(
            "{}-{}-{}-{}-{}",
            h(0..4),
            h(4..6),
            h(6..8),
            h(8..10),
            h(10..16)
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TransId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TransId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl Serialize for TransId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TransId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        TransId::parse(&s).ok_or_else(|| de::Error::custom("expected a canonical UUID"))
    }
}

/// A primary account number: 13–19 digits. `Debug` and `Display` show the first six and
/// last four digits only, so a PAN cannot reach a log by accident; [`Pan::expose`] is
/// the one way to the full number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Pan(String);

impl Pan {
    pub fn parse(s: &str) -> Option<Pan> {
        (13..=19)
            .contains(&s.len())
            .then_some(())
            .filter(|()| s.bytes().all(|b| b.is_ascii_digit()))
            .map(|()| Pan(s.to_owned()))
    }

    /// The full card number. Call only where the protocol needs it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// First six and last four digits, the rest as `•`.
    pub fn masked(&self) -> String {
        let n = self.0.len();
        format!("{}{}{}", &self.0[..6], "•".repeat(n - 10), &self.0[n - 4..])
    }
}

impl fmt::Debug for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pan({})", self.masked())
    }
}

impl fmt::Display for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for Pan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Pan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Pan::parse(&s).ok_or_else(|| de::Error::custom("expected 13 to 19 digits"))
    }
}

/// A value that is a single item up to 2.2.0 and an array in 2.3.1
/// (`threeDSRequestorChallengeInd`, `threeDSRequestorAuthenticationInfo`,
/// `threeDSRequestorPriorAuthenticationInfo`, `authenticationMethod`). Kept in the shape
/// received, so it serialises back the same.
#[derive(Debug, Clone, PartialEq)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The items, whatever the shape.
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(t) => std::slice::from_ref(t),
            OneOrMany::Many(v) => v,
        }
    }
}

impl<T: Serialize> Serialize for OneOrMany<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            OneOrMany::One(t) => t.serialize(s),
            OneOrMany::Many(v) => v.serialize(s),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value or an array of values")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::deserialize(de::value::StrDeserializer::<E>::new(v)).map(OneOrMany::One)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(OneOrMany::One)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<T>::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(OneOrMany::Many)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// One option of a select challenge (`challengeSelectInfo`): on the wire a one-key
/// object `{"<value>": "<label>"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectOption {
    /// What the SDK sends back in `challengeDataEntry`.
    pub value: String,
    /// What the cardholder sees.
    pub label: String,
}

impl Serialize for SelectOption {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(&self.value, &self.label)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for SelectOption {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SelectOption;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with one key")
            }
            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<SelectOption, A::Error> {
                let Some((value, label)) = map.next_entry::<String, String>()? else {
                    return Err(de::Error::custom("empty select option"));
                };
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("a select option has exactly one key"));
                }
                Ok(SelectOption { value, label })
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pan_never_shows_in_full() {
        let pan = Pan::parse("4000000000002701").unwrap();
        assert_eq!(format!("{pan}"), "400000••••••2701");
        assert_eq!(format!("{pan:?}"), "Pan(400000••••••2701)");
        assert_eq!(pan.expose(), "4000000000002701");
        assert!(Pan::parse("400000000000").is_none());
        assert!(Pan::parse("40000000000027x1").is_none());
    }

    #[test]
    fn trans_ids_are_v4_uuids() {
        let id = TransId::from_random_bytes([0xab; 16]);
        assert_eq!(id.as_str(), "abababab-abab-4bab-abab-abababababab");
        assert!(TransId::parse(id.as_str()).is_some());
        assert!(TransId::parse("not-a-uuid").is_none());
    }
}

/// Whether `s` is a card number: 13 to 19 digits whose last is the Luhn check digit.
pub fn is_card_number(s: &str) -> bool {
    if !(13..=19).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = s
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            match (i % 2 == 1, d * 2) {
                (true, doubled) if doubled > 9 => doubled - 9,
                (true, doubled) => doubled,
                (false, _) => d,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod card_number_tests {
    #[test]
    fn luhn() {
        // Public test numbers.
        for pan in [
            "4242424242424242",
            "5555555555554444",
            "378282246310005",
            "4000000000001000",
        ] {
            assert!(super::is_card_number(pan), "{pan}");
        }
        for not in [
            "4242424242424241",
            "424242424242",
            "42424242424242424242",
            "4242-4242-4242-4242",
        ] {
            assert!(!super::is_card_number(not), "{not}");
        }
    }
}
