//! The JSON tree every received message is parsed into once.
//!
//! `serde_json::Value` cannot be used for that: it silently keeps the last of two
//! duplicate keys, and 3DS receivers must answer a duplicate data element with `Erro`
//! 204. [`Json`] keeps object members in wire order (so validation can report fields as
//! the sender wrote them and serialisation can round-trip byte for byte), records every
//! duplicate key it meets, and borrows strings from the input where the input has no
//! escapes. Tokenising is serde_json's (robust, recursion-limited, never panics).
//!
//! `&Json` is also a serde [`Deserializer`](serde::Deserializer), so the typed messages are
//! decoded from the same tree the data dictionary validated — no second parse.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A JSON value in wire order. Strings borrow from the input when they can.
#[derive(Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// A JSON object: members in the order they were written, plus the names that occurred
/// more than once (each listed once; the first occurrence is the one kept).
#[derive(Clone, PartialEq, Default)]
pub struct Object<'a> {
    pub members: Vec<(Cow<'a, str>, Json<'a>)>,
    pub duplicates: Vec<Cow<'a, str>>,
}

impl<'a> Object<'a> {
    /// The member named `name`, if present.
    pub fn get(&self, name: &str) -> Option<&Json<'a>> {
        self.members
            .iter()
            .find(|(k, _)| k.as_ref() == name)
            .map(|(_, v)| v)
    }

    /// The member named `name` if it is a string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Json::as_str)
    }
}

impl<'a> Json<'a> {
    /// Parses `bytes` as one JSON document.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Parses a UTF-8 text as one JSON document (faster than [`Json::parse`] when the
    /// text is already known to be UTF-8).
    pub fn parse_str(text: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object<'a>> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    /// A name for the JSON type, for error texts.
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }

    /// A copy that owns all its strings.
    pub fn into_owned(self) -> Json<'static> {
        match self {
            Json::Null => Json::Null,
            Json::Bool(b) => Json::Bool(b),
            Json::Number(n) => Json::Number(n),
            Json::String(s) => Json::String(Cow::Owned(s.into_owned())),
            Json::Array(a) => Json::Array(a.into_iter().map(Json::into_owned).collect()),
            Json::Object(o) => Json::Object(Object {
                members: o
                    .members
                    .into_iter()
                    .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                    .collect(),
                duplicates: o
                    .duplicates
                    .into_iter()
                    .map(|k| Cow::Owned(k.into_owned()))
                    .collect(),
            }),
        }
    }

    /// Serialised length in bytes (compact form), used for the dictionary's size limits on
    /// free-form values such as `messageExtension.data`.
    pub fn compact_len(&self) -> usize {
        serde_json::to_vec(self).map_or(usize::MAX, |v| v.len())
    }
}

impl fmt::Debug for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(self) {
            Ok(s) => f.write_str(&s),
            Err(_) => f.write_str("<unprintable json>"),
        }
    }
}

impl fmt::Debug for Object<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.members.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

// ---------------------------------------------------------------------------------------
// Building the tree from bytes.

/// The deepest nesting of arrays and objects a tree may have. The deepest legal 3DS
/// message nests four levels (a PRes's `cardRangeData` → a range → `acsInfoInd`); the
/// limit leaves room for merchant extensions and stops deep input long before
/// serde_json's own recursion limit of 128.
pub const MAX_DEPTH: usize = 32;

/// The most members one object may have. The largest object of any message (an AReq)
/// has about 130 elements; past this limit parsing stops at once.
pub const MAX_MEMBERS: usize = 1024;

/// Objects with more members than this index their keys in a hash set to find
/// duplicates; smaller ones scan the few members that share a filter bit.
const INDEX_PAST: usize = 32;

/// The most duplicate names one object records (`errorDetail` names them); more are
/// still refused, just not listed.
const MAX_DUPLICATES_LISTED: usize = 32;

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TreeVisitor { depth: 0 })
    }
}

/// Reads one value at `depth` (the number of arrays and objects around it).
#[derive(Clone, Copy)]
struct TreeVisitor {
    depth: usize,
}

impl TreeVisitor {
    /// The visitor for the values inside an array or object at this depth.
    fn inner<E: de::Error>(self) -> Result<TreeVisitor, E> {
        if self.depth >= MAX_DEPTH {
            return Err(E::custom(format_args!(
                "arrays and objects nested deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(TreeVisitor {
            depth: self.depth + 1,
        })
    }
}

impl<'de> DeserializeSeed<'de> for TreeVisitor {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        serde_json::Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let inner = self.inner()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let inner = self.inner()?;
        let mut obj = Object {
            members: Vec::with_capacity(16),
            duplicates: Vec::new(),
        };
        // A 128-bit filter of the keys seen so far: only a key whose bit is already set
        // can be a duplicate, so the scan runs for a handful of keys instead of every
        // one (an AReq has ~60 members: 1,800 comparisons otherwise). Past
        // `INDEX_PAST` members the filter is full and a hash set takes over, so the
        // cost stays linear in the number of members (SipHash: keys an attacker
        // chooses cannot make it collide).
        let mut seen = 0u128;
        let mut index: Option<std::collections::HashSet<Cow<'de, str>>> = None;
        let mut count = 0usize;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            count += 1;
            if count > MAX_MEMBERS {
                return Err(de::Error::custom(format_args!(
                    "an object with more than {MAX_MEMBERS} members"
                )));
            }
            let value: Json<'de> = map.next_value_seed(inner)?;
            let duplicate = match &mut index {
                Some(index) => !index.insert(key.0.clone()),
                None => {
                    let bit = 1u128 << key_bucket(&key.0);
                    let maybe = seen & bit != 0;
                    seen |= bit;
                    maybe && obj.members.iter().any(|(k, _)| *k == key.0)
                }
            };
            if duplicate {
                if obj.duplicates.len() < MAX_DUPLICATES_LISTED && !obj.duplicates.contains(&key.0)
                {
                    obj.duplicates.push(key.0);
                }
            } else {
                obj.members.push((key.0, value));
                if index.is_none() && obj.members.len() == INDEX_PAST {
                    index = Some(obj.members.iter().map(|(k, _)| k.clone()).collect());
                }
            }
        }
        Ok(Json::Object(obj))
    }
}

/// A cheap 7-bit digest of a key for the duplicate filter: length and three bytes.
fn key_bucket(key: &str) -> u32 {
    let b = key.as_bytes();
    let (first, mid, last) = match b {
        [] => (0, 0, 0),
        _ => (b[0], b[b.len() / 2], b[b.len() - 1]),
    };
    let h = (b.len() as u32)
        .wrapping_mul(31)
        .wrapping_add(u32::from(first).wrapping_mul(7))
        .wrapping_add(u32::from(mid).wrapping_mul(13))
        .wrapping_add(u32::from(last));
    h % 128
}

/// An object key that borrows from the input when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

// ---------------------------------------------------------------------------------------
// Writing the tree (used for pass-through values such as messageExtension data).

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(n) => n.serialize(serializer),
            Json::String(s) => serializer.serialize_str(s),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(obj) => {
                let mut map = serializer.serialize_map(Some(obj.members.len()))?;
                for (k, v) in &obj.members {
                    map.serialize_entry(k.as_ref(), v)?;
                }
                map.end()
            }
        }
    }
}

/// An owned JSON value kept exactly as received, for members the protocol passes through
/// (`messageExtension[].data`, `broadInfo`, JWKs, images, …). Wire order is preserved.
#[derive(Clone, PartialEq)]
pub struct RawJson(pub Json<'static>);

impl RawJson {
    pub fn get(&self) -> &Json<'static> {
        &self.0
    }
    /// Parses a JSON text into a raw value.
    pub fn parse(text: &str) -> Result<RawJson, serde_json::Error> {
        Json::parse(text.as_bytes()).map(|j| RawJson(j.into_owned()))
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(RawJson(
            deserializer
                .deserialize_any(TreeVisitor { depth: 0 })?
                .into_owned(),
        ))
    }
}

// ---------------------------------------------------------------------------------------
// `&Json` as a serde Deserializer, so typed messages decode from the validated tree.

/// Why a typed decode failed: the path of the member and what went wrong. The validator
/// turns this into `Erro` 203 naming the path, so a gap between the dictionary and the
/// typed structs still yields a protocol answer rather than a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub path: Vec<String>,
    pub message: String,
}

impl DecodeError {
    /// The member path in the `errorDetail` notation (`a.b[2].c`).
    pub fn path_string(&self) -> String {
        let mut out = String::new();
        for seg in self.path.iter().rev() {
            if seg.starts_with('[') || out.is_empty() {
                out.push_str(seg);
            } else {
                out.push('.');
                out.push_str(seg);
            }
        }
        out
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path_string(), self.message)
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DecodeError {
            path: Vec::new(),
            message: msg.to_string(),
        }
    }
}

impl DecodeError {
    fn within(mut self, seg: String) -> Self {
        self.path.push(seg);
        self
    }
}

impl<'de, 'a> Deserializer<'de> for &'de Json<'a> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self {
            Json::Null => visitor.visit_unit(),
            Json::Bool(b) => visitor.visit_bool(*b),
            Json::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Json::String(s) => visitor.visit_str(s),
            Json::Array(items) => visitor.visit_seq(SeqDe {
                iter: items.iter().enumerate(),
            }),
            Json::Object(obj) => visitor.visit_map(MapDe {
                iter: obj.members.iter(),
                pending: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self {
            Json::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match self {
            Json::String(s) => visitor.visit_enum(s.as_ref().into_deserializer()),
            other => Err(de::Error::custom(format!(
                "expected a string, found {}",
                other.kind()
            ))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

impl<'de, 'a> Deserializer<'de> for &'de Object<'a> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_map(MapDe {
            iter: self.members.iter(),
            pending: None,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct
        enum identifier ignored_any
    }
}

struct SeqDe<'de, 'a> {
    iter: std::iter::Enumerate<std::slice::Iter<'de, Json<'a>>>,
}

impl<'de, 'a> SeqAccess<'de> for SeqDe<'de, 'a> {
    type Error = DecodeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        match self.iter.next() {
            Some((i, item)) => seed
                .deserialize(item)
                .map(Some)
                .map_err(|e| e.within(format!("[{i}]"))),
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct MapDe<'de, 'a> {
    iter: std::slice::Iter<'de, (Cow<'a, str>, Json<'a>)>,
    pending: Option<(&'de str, &'de Json<'a>)>,
}

impl<'de, 'a> MapAccess<'de> for MapDe<'de, 'a> {
    type Error = DecodeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        match self.iter.next() {
            Some((k, v)) => {
                self.pending = Some((k.as_ref(), v));
                seed.deserialize(KeyDe(k.as_ref())).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        match self.pending.take() {
            Some((k, v)) => seed.deserialize(v).map_err(|e| e.within(k.to_owned())),
            None => Err(de::Error::custom("value requested before key")),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// A map key as a deserializer (borrowed from the tree).
struct KeyDe<'de>(&'de str);

impl<'de> Deserializer<'de> for KeyDe<'de> {
    type Error = DecodeError;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_borrowed_str(self.0)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct
        enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An object of `n` distinct members `k0`…, then `extra` verbatim.
    fn object_of(n: usize, extra: &str) -> String {
        let members: Vec<String> = (0..n).map(|i| format!("\"k{i}\":{i}")).collect();
        format!("{{{}{extra}}}", members.join(","))
    }

    #[test]
    fn duplicates_are_found_in_large_objects_too() {
        for n in [
            3,
            INDEX_PAST - 1,
            INDEX_PAST,
            INDEX_PAST + 1,
            MAX_MEMBERS - 3,
        ] {
            let text = object_of(n, ",\"k1\":0,\"k1\":1,\"k0\":2");
            let json = Json::parse_str(&text).expect("parses");
            let obj = json.as_object().expect("object");
            assert_eq!(obj.members.len(), n, "{n} members");
            assert_eq!(obj.duplicates, ["k1", "k0"], "{n} members");
        }
    }

    #[test]
    fn members_and_depth_are_bounded() {
        assert!(Json::parse_str(&object_of(MAX_MEMBERS, "")).is_ok());
        let too_many = Json::parse_str(&object_of(MAX_MEMBERS + 1, "")).unwrap_err();
        assert!(
            too_many.to_string().contains("more than 1024 members"),
            "{too_many}"
        );
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(Json::parse_str(&nested(MAX_DEPTH)).is_ok());
        let deep = Json::parse_str(&nested(MAX_DEPTH + 1)).unwrap_err();
        assert!(deep.to_string().contains("nested deeper than 32"), "{deep}");
        // Many duplicate names: a bounded list, each once.
        let dups: String = (0..200).map(|i| format!(",\"k{i}\":0")).collect();
        let text = object_of(200, &dups);
        let json = Json::parse_str(&text).expect("parses");
        assert_eq!(
            json.as_object().expect("object").duplicates.len(),
            MAX_DUPLICATES_LISTED
        );
    }

    #[test]
    fn keeps_order_and_records_duplicates() {
        let json = Json::parse(br#"{"b":1,"a":"x","b":2,"a":"y","c":[true,null]}"#).unwrap();
        let obj = json.as_object().unwrap();
        let names: Vec<&str> = obj.members.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(names, ["b", "a", "c"]);
        assert_eq!(obj.duplicates, ["b", "a"]);
        assert_eq!(obj.get_str("a"), Some("x"), "the first occurrence is kept");
    }

    #[test]
    fn nested_duplicates_are_recorded_where_they_occur() {
        let json = Json::parse(br#"{"o":{"k":1,"k":2}}"#).unwrap();
        let inner = json.as_object().unwrap().get("o").unwrap();
        assert_eq!(inner.as_object().unwrap().duplicates, ["k"]);
        assert!(json.as_object().unwrap().duplicates.is_empty());
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let json = Json::parse(br#"{"a":"plain","b":"esc\"aped"}"#).unwrap();
        let obj = json.as_object().unwrap();
        assert!(matches!(obj.get("a"), Some(Json::String(Cow::Borrowed(_)))));
        assert_eq!(obj.get_str("b"), Some("esc\"aped"));
    }

    #[test]
    fn serialises_in_wire_order() {
        let src = r#"{"z":1,"a":[1,2.5,"s",{"y":null,"x":false}]}"#;
        let json = Json::parse(src.as_bytes()).unwrap();
        assert_eq!(serde_json::to_string(&json).unwrap(), src);
    }

    #[test]
    fn decode_error_paths_read_like_error_detail() {
        let e = DecodeError {
            path: vec!["id".into(), "[1]".into(), "messageExtension".into()],
            message: "bad".into(),
        };
        assert_eq!(e.path_string(), "messageExtension[1].id");
    }
}
