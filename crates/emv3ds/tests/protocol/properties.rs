//! Properties: arbitrary bytes and arbitrary JSON never panic and always yield either a
//! message or a valid `Erro`; whatever validates round-trips through serialisation.

use proptest::prelude::*;

use emv3ds::{Message, MessageVersion, Role};

use super::{data_dir, read, validate};

/// Whatever the validator says about `bytes` must be well-formed.
fn judge(bytes: &[u8], role: Role) -> Result<(), TestCaseError> {
    match validate(bytes, role, None) {
        Ok(valid) => {
            let wire = valid.message.to_json();
            let again = validate(&wire, role, None).map_err(|e| {
                TestCaseError::fail(format!("re-serialised message rejected: {e:?}"))
            })?;
            prop_assert_eq!(again.message, valid.message);
        }
        Err(erro) => {
            let wire = erro.to_json();
            let back = validate(&wire, Role::DirectoryServer, None)
                .map_err(|e| TestCaseError::fail(format!("the Erro is invalid: {e:?}")))?;
            prop_assert!(matches!(back.message, Message::Erro(_)));
        }
    }
    Ok(())
}

fn roles() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.to_vec())
}

/// Examples to mutate: every valid example file.
fn examples() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for v in MessageVersion::ALL {
        let dir = data_dir().join("valid").join(v.as_str());
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .expect("examples")
            .map(|e| e.expect("entry").path())
            .collect();
        paths.sort();
        out.extend(paths.iter().map(|p| read(p)));
    }
    out
}

/// A JSON value whose object keys are often real element names.
fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let names: Vec<String> = emv3ds::dictionary::ELEMENTS
        .iter()
        .map(|e| e.name.to_owned())
        .chain(["messageType".to_owned(), "x".to_owned()])
        .collect();
    let key = prop_oneof![
        3 => prop::sample::select(names),
        1 => "[a-zA-Z]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        prop::sample::select(vec![
            "AReq",
            "ARes",
            "CReq",
            "CRes",
            "RReq",
            "RRes",
            "PReq",
            "PRes",
            "Erro",
            "2.1.0",
            "2.2.0",
            "2.3.1",
            "01",
            "02",
            "03",
            "Y",
            "N",
            "C",
            "8a880dc0-d2d2-4067-bcb1-b08d1690b26e",
            "4000000000002701",
            "",
        ])
        .prop_map(|s| serde_json::Value::String(s.to_owned())),
        ".{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::vec((key.clone(), inner), 0..12)
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Remove(usize),
    SetString(usize, String),
    SetTrue(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Remove),
        (
            any::<usize>(),
            prop::sample::select(vec!["01", "02", "Y", "N", "", "2.2.0", "A", "999"])
        )
            .prop_map(|(i, s)| Mutation::SetString(i, s.to_owned())),
        (any::<usize>(), "[0-9A-Za-z]{0,6}").prop_map(|(i, s)| Mutation::SetString(i, s)),
        any::<usize>().prop_map(Mutation::SetTrue),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), role in roles()) {
        judge(&bytes, role)?;
    }

    #[test]
    fn arbitrary_json_never_panics(value in arb_json(), role in roles()) {
        judge(&serde_json::to_vec(&value).expect("json"), role)?;
    }

    #[test]
    fn mutated_examples_yield_a_message_or_an_erro(
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
        role in roles(),
    ) {
        let all = examples();
        let bytes = pick.get(&all);
        let mut value: serde_json::Value = serde_json::from_slice(bytes).expect("example json");
        let obj = value.as_object_mut().expect("object");
        for m in mutations {
            let keys: Vec<String> = obj.keys().cloned().collect();
            if keys.is_empty() { break; }
            match m {
                Mutation::Remove(i) => { obj.remove(&keys[i % keys.len()]); }
                Mutation::SetString(i, s) => { obj.insert(keys[i % keys.len()].clone(), serde_json::Value::String(s)); }
                Mutation::SetTrue(i) => { obj.insert(keys[i % keys.len()].clone(), serde_json::Value::Bool(true)); }
            }
        }
        judge(&serde_json::to_vec(&value).expect("json"), role)?;
    }
}
