//! The dictionary is the single source: the typed messages have exactly its elements,
//! its nested objects have exactly the typed objects' members, and the generated
//! reference in `DICTIONARY.md` is current.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde::de::{self, Visitor};

use emv3ds::MessageType;
use emv3ds::dictionary::{self, ObjectDef, Type};
use emv3ds::messages::*;

/// The wire names of a struct's fields, as serde derive passes them to
/// `deserialize_struct`.
fn field_names<T: for<'de> Deserialize<'de>>() -> BTreeSet<&'static str> {
    struct Probe(Option<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> de::Deserializer<'de> for &mut Probe {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            enum identifier ignored_any
        }
    }
    let mut probe = Probe(None);
    let _ = T::deserialize(&mut probe);
    probe.0.expect("a struct").iter().copied().collect()
}

fn message_fields(t: MessageType) -> BTreeSet<&'static str> {
    match t {
        MessageType::PReq => field_names::<PReq>(),
        MessageType::PRes => field_names::<PRes>(),
        MessageType::AReq => field_names::<AReq>(),
        MessageType::ARes => field_names::<ARes>(),
        MessageType::CReq => field_names::<CReq>(),
        MessageType::CRes => field_names::<CRes>(),
        MessageType::RReq => field_names::<RReq>(),
        MessageType::RRes => field_names::<RRes>(),
        MessageType::Erro => field_names::<Erro>(),
        MessageType::Other(_) => unreachable!(),
    }
}

#[test]
fn typed_messages_have_exactly_the_dictionary_elements() {
    for t in MessageType::KNOWN {
        let dict: BTreeSet<&str> = dictionary::elements_of(t).iter().map(|e| e.name).collect();
        let typed = message_fields(t);
        let only_dict: Vec<_> = dict.difference(&typed).collect();
        let only_typed: Vec<_> = typed.difference(&dict).collect();
        assert!(
            only_dict.is_empty() && only_typed.is_empty(),
            "{t}: in the dictionary only {only_dict:?}; in the struct only {only_typed:?}"
        );
    }
}

/// Every closed nested object, with the struct that decodes it.
fn typed_objects() -> Vec<(&'static str, BTreeSet<&'static str>)> {
    vec![
        ("messageExtension", field_names::<MessageExtension>()),
        ("cardRangeData", field_names::<CardRange>()),
        ("acsProtocolVersions", field_names::<AcsProtocolVersion>()),
        ("supportedMsgExt", field_names::<SupportedMsgExt>()),
        ("phone", field_names::<Phone>()),
        ("acctInfo", field_names::<AcctInfo>()),
        (
            "merchantRiskIndicator",
            field_names::<MerchantRiskIndicator>(),
        ),
        (
            "threeDSRequestorAuthenticationInfo",
            field_names::<RequestorAuthInfo>(),
        ),
        (
            "threeDSRequestorPriorAuthenticationInfo",
            field_names::<PriorAuthInfo>(),
        ),
        ("deviceRenderOptions", field_names::<DeviceRenderOptions>()),
        ("acsRenderingType", field_names::<AcsRenderingType>()),
        ("recurringInd", field_names::<RecurringInd>()),
        ("defaultSdkType", field_names::<DefaultSdkType>()),
        ("splitSdkType", field_names::<SplitSdkType>()),
        ("cardholderInfo", field_names::<CardholderInfoDetails>()),
        ("spcTransData", field_names::<SpcTransData>()),
        ("webAuthnCredList", field_names::<WebAuthnCredentials>()),
    ]
}

fn all_object_defs() -> Vec<&'static ObjectDef> {
    fn walk(def: &'static ObjectDef, out: &mut Vec<&'static ObjectDef>) {
        if out.iter().any(|d| std::ptr::eq(*d, def)) {
            return;
        }
        out.push(def);
        for m in def.members {
            for f in m.forms {
                if let Type::Obj(d) | Type::ObjArray { def: d, .. } = f.ty {
                    walk(d, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    for e in dictionary::ELEMENTS {
        for f in e.forms {
            if let Type::Obj(d) | Type::ObjArray { def: d, .. } = f.ty {
                walk(d, &mut out);
            }
        }
    }
    out
}

#[test]
fn typed_objects_have_exactly_the_dictionary_members() {
    let typed = typed_objects();
    for def in all_object_defs() {
        if def.open {
            // Open shapes (JWKs, images, select options) are kept as raw JSON.
            continue;
        }
        let dict: BTreeSet<&str> = def.members.iter().map(|m| m.name).collect();
        let Some((_, fields)) = typed.iter().find(|(n, _)| *n == def.name) else {
            panic!("no typed struct for nested object {}", def.name);
        };
        assert_eq!(&dict, fields, "members of {}", def.name);
    }
}

#[test]
fn every_element_is_defined_in_the_versions_it_is_used() {
    for e in dictionary::ELEMENTS {
        for u in e.usage {
            for r in u.rules {
                for v in r.versions.iter() {
                    assert!(
                        e.ty(v).is_some(),
                        "{} is used in {v} but has no type there",
                        e.name
                    );
                }
            }
        }
    }
    let mut names = BTreeSet::new();
    for e in dictionary::ELEMENTS {
        assert!(names.insert(e.name), "{} is defined twice", e.name);
    }
}

#[test]
fn generated_reference_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("DICTIONARY.md");
    let fresh = emv3ds::docs::markdown();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &fresh).expect("write DICTIONARY.md");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "DICTIONARY.md is out of date: run `UPDATE_EXPECT=1 cargo nextest run -p emv3ds` \
         (or `threeds dictionary > crates/emv3ds/DICTIONARY.md`)"
    );
}
