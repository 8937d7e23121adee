//! The preparation flow: a DS registry answering PReqs, a 3DS Server cache applying the
//! answers, and version negotiation. The PRes messages built here are also run through
//! the validator, so the registry cannot emit what a receiver would reject.

use emv3ds::card_ranges::{
    PanRange, RangeCache, RangeEntry, Registry, negotiate, versions_between,
};
use emv3ds::codes::ErrorCode;
use emv3ds::messages::{PReq, PRes};
use emv3ds::values::TransId;
use emv3ds::{Context, Message, MessageVersion, RequestFacts, Role, Validator};
use proptest::prelude::*;

use MessageVersion::{V2_1_0, V2_2_0, V2_3_1};

fn entry(start: &str, end: &str, versions: &[MessageVersion], url: Option<&str>) -> RangeEntry {
    RangeEntry {
        start_range: start.into(),
        end_range: end.into(),
        acs_versions: versions.to_vec(),
        acs_info_ind: vec!["01".into(), "02".into()],
        three_ds_method_url: url.map(str::to_owned),
    }
}

fn preq(version: MessageVersion, serial: Option<&str>) -> PReq {
    let mut p = PReq::new(version);
    p.three_ds_server_trans_id = TransId::parse("8a880dc0-d2d2-4067-bcb1-b08d1690b26e");
    p.three_ds_server_ref_number = Some("3DS_LOA_SER_PPFU_020100_00008".into());
    p.serial_num = serial.map(str::to_owned);
    p
}

fn ds_id() -> TransId {
    TransId::from_random_bytes([9; 16])
}

const ALL: &[MessageVersion] = &[V2_1_0, V2_2_0, V2_3_1];

/// Asks the registry, checks the answer with the validator as the 3DS Server receives
/// it, and applies it to the cache.
fn sync(registry: &Registry, cache: &mut RangeCache, version: MessageVersion) -> PRes {
    let sent = cache.serial().map(str::to_owned);
    let request = preq(version, sent.as_deref());
    let pres = registry.answer(&request, ds_id(), ALL).expect("answer");
    let facts = RequestFacts::of(&Message::PReq(request));
    let wire = Message::PRes(pres).to_json();
    let valid = Validator::new(Role::ThreeDsServer)
        .validate(
            &wire,
            &Context {
                request: Some(&facts),
                channel: None,
            },
        )
        .unwrap_or_else(|e| {
            panic!(
                "the registry's PRes is invalid: {e:?}\n{}",
                String::from_utf8_lossy(&wire)
            )
        });
    let Message::PRes(received) = valid.message else {
        panic!("not a PRes")
    };
    cache.apply(&received, sent.as_deref()).expect("apply");
    received
}

fn registry() -> Registry {
    Registry::new(vec![
        entry(
            "4000000000000000",
            "4000000000009999",
            &[V2_1_0, V2_2_0, V2_3_1],
            Some("https://acs.localhost/3ds-method"),
        ),
        entry("5200000000000000", "5200000000009999", &[V2_1_0], None),
    ])
    .expect("registry")
}

#[test]
fn pan_ranges_compare_on_nineteen_digits() {
    let r = PanRange::new("4000000000000000", "4000000000009999").unwrap();
    assert!(r.contains("4000000000002701"));
    assert!(
        r.contains("4000000000002701123"),
        "19-digit PAN with the range's prefix"
    );
    assert!(!r.contains("4000000000010000"));
    assert!(
        r.contains("400000000000270"),
        "15 digits with the prefix: inside"
    );
    assert!(!r.contains("400000000000"), "12 digits is not a PAN");
    assert!(!r.contains("40000000000027x1"));
    assert!(PanRange::new("4000000000009999", "4000000000000000").is_none());
    assert!(
        PanRange::new("4000", "4999").is_none(),
        "too short to be a range"
    );
}

#[test]
fn a_full_download_fills_the_cache_in_every_version() {
    for version in ALL {
        let mut cache = RangeCache::new();
        let pres = sync(&registry(), &mut cache, *version);
        assert_eq!(pres.serial_num.as_deref(), Some("1"));
        assert_eq!(cache.len(), 2, "{version}");
        let visa = cache.lookup("4000000000002701").expect("covered");
        assert_eq!(visa.acs_versions, ["2.1.0", "2.2.0", "2.3.1"], "{version}");
        assert_eq!(
            visa.three_ds_method_url.as_deref(),
            Some("https://acs.localhost/3ds-method")
        );
        assert_eq!(
            cache.lookup("5200000000001234").unwrap().acs_versions,
            ["2.1.0"]
        );
        assert!(cache.lookup("6011000000000000").is_none());
        assert_eq!(cache.ds_versions(), ["2.1.0", "2.2.0", "2.3.1"]);
    }
}

#[test]
fn incremental_updates_say_add_modify_delete() {
    let mut registry = registry();
    let mut cache = RangeCache::new();
    sync(&registry, &mut cache, V2_2_0);

    registry
        .upsert(entry(
            "4000000000000000",
            "4000000000009999",
            &[V2_2_0],
            None,
        ))
        .unwrap();
    assert!(registry.remove("5200000000000000", "5200000000009999"));
    registry
        .upsert(entry(
            "3700000000000000",
            "3700000000009999",
            &[V2_2_0, V2_3_1],
            None,
        ))
        .unwrap();
    let pres = sync(&registry, &mut cache, V2_2_0);
    let actions: Vec<&str> = pres
        .card_range_data
        .iter()
        .flatten()
        .map(|r| r.action_ind.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(actions, ["M", "D", "A"]);
    assert_eq!(cache.len(), 2);
    assert_eq!(
        cache.lookup("4000000000002701").unwrap().acs_versions,
        ["2.2.0"]
    );
    assert!(cache.lookup("5200000000001234").is_none());
    assert!(cache.lookup("3700000000000001").is_some());

    // Up to date: nothing to send.
    let pres = sync(&registry, &mut cache, V2_2_0);
    assert!(pres.card_range_data.is_none());
}

#[test]
fn a_serial_number_the_ds_never_issued_is_307() {
    for serial in ["999", "abc", "0", ""] {
        let err = registry()
            .answer(&preq(V2_2_0, Some(serial)), ds_id(), ALL)
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::SerialNumberInvalid, "{serial:?}");
        assert_eq!(err.detail, "serialNum");
    }
}

#[test]
fn the_cache_refuses_impossible_changes_and_stays_unchanged() {
    let mut cache = RangeCache::new();
    sync(&registry(), &mut cache, V2_3_1);
    let serial = cache.serial().map(str::to_owned);
    let before = cache.clone();

    let mut pres = registry()
        .answer(&preq(V2_3_1, None), ds_id(), ALL)
        .unwrap();
    // Modify a range the cache does not have.
    let mut unknown = pres.card_range_data.as_ref().unwrap()[0].clone();
    unknown.start_range = Some("6011000000000000".into());
    unknown.end_range = Some("6011000000009999".into());
    unknown.action_ind = Some(emv3ds::codes::ActionIndicator::Modify);
    pres.card_range_data = Some(vec![unknown.clone()]);
    let err = cache.apply(&pres, serial.as_deref()).unwrap_err();
    assert_eq!(
        (err.code, err.detail.as_str()),
        (ErrorCode::ActionNotPossible, "cardRangeData[0].actionInd")
    );

    // Add a range overlapping a cached one.
    let mut overlap = unknown;
    overlap.start_range = Some("4000000000005000".into());
    overlap.end_range = Some("4000000000015000".into());
    overlap.action_ind = Some(emv3ds::codes::ActionIndicator::Add);
    pres.card_range_data = Some(vec![overlap]);
    let err = cache.apply(&pres, serial.as_deref()).unwrap_err();
    assert_eq!(err.code, ErrorCode::CardRangeOverlap);

    assert_eq!(cache.len(), before.len());
    assert_eq!(cache.serial(), before.serial());
}

#[test]
fn without_a_serial_number_action_indicators_are_ignored() {
    let mut pres = registry()
        .answer(&preq(V2_2_0, None), ds_id(), ALL)
        .unwrap();
    for r in pres.card_range_data.iter_mut().flatten() {
        r.action_ind = Some(emv3ds::codes::ActionIndicator::Delete);
    }
    let mut cache = RangeCache::new();
    let applied = cache.apply(&pres, None).unwrap();
    assert_eq!((applied.added, applied.deleted), (2, 0));
}

#[test]
fn the_registry_refuses_overlapping_ranges() {
    let err = Registry::new(vec![
        entry("4000000000000000", "4000000000009999", &[V2_2_0], None),
        entry("4000000000005000", "4000000000019999", &[V2_2_0], None),
    ])
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::CardRangeOverlap);
}

#[test]
fn negotiation_picks_the_highest_common_version() {
    let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    // The example of `docs/protocol.md` §1.3: DS up to 2.2.0, ACS up to 2.1.0 ⇒ 2.1.0.
    assert_eq!(
        negotiate(
            ALL,
            &versions_between("2.1.0", "2.2.0"),
            &versions_between("2.1.0", "2.1.0")
        ),
        Some(V2_1_0)
    );
    // An ACS at exactly 2.2.0 cannot take 2.1.0.
    assert_eq!(
        negotiate(&[V2_1_0], &v(&["2.1.0", "2.2.0"]), &v(&["2.2.0"])),
        None
    );
    assert_eq!(
        negotiate(
            ALL,
            &v(&["2.1.0", "2.2.0", "2.3.1"]),
            &v(&["2.2.0", "2.3.1"])
        ),
        Some(V2_3_1)
    );
    // Versions we do not speak are ignored, not an error.
    assert_eq!(
        negotiate(ALL, &v(&["2.2.0", "2.4.0"]), &v(&["2.2.0", "2.4.0"])),
        Some(V2_2_0)
    );
    assert_eq!(
        versions_between("2.1.0", "2.9.9"),
        ["2.1.0", "2.2.0", "2.3.1"]
    );
    assert!(versions_between("x", "2.2.0").is_empty());
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(usize, bool),
    Remove(usize),
    Sync,
}

const SLOTS: [(&str, &str); 5] = [
    ("4000000000000000", "4000000000009999"),
    ("4100000000000000", "4100000000009999"),
    ("5200000000000000", "5200000000009999"),
    // A 15-digit end on purpose: ranges of mixed lengths compare on 19 digits.
    ("3700000000000000", "370000000000999"),
    ("6011000000000000", "6011000000009999"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the DS does, a 3DS Server that syncs incrementally ends up with exactly
    /// the DS's ranges.
    #[test]
    fn incremental_sync_converges(
        ops in prop::collection::vec(prop_oneof![
            (0..SLOTS.len(), any::<bool>()).prop_map(|(i, b)| Op::Upsert(i, b)),
            (0..SLOTS.len()).prop_map(Op::Remove),
            Just(Op::Sync),
        ], 0..24),
        version in prop::sample::select(ALL.to_vec()),
    ) {
        let mut registry = Registry::new(vec![entry(SLOTS[0].0, SLOTS[0].1, &[V2_1_0], None)]).unwrap();
        let mut cache = RangeCache::new();
        sync(&registry, &mut cache, version);
        for op in ops {
            match op {
                Op::Upsert(i, with_url) => {
                    let url = with_url.then_some("https://acs.localhost/m");
                    registry.upsert(entry(SLOTS[i].0, SLOTS[i].1, &[V2_1_0, V2_2_0], url)).unwrap();
                }
                Op::Remove(i) => { registry.remove(SLOTS[i].0, SLOTS[i].1); }
                Op::Sync => { sync(&registry, &mut cache, version); }
            }
        }
        sync(&registry, &mut cache, version);
        prop_assert_eq!(cache.len(), registry.entries().len());
        for e in registry.entries() {
            let cached = cache.lookup(&e.start_range);
            prop_assert!(cached.is_some(), "{} missing", e.start_range);
            let cached = cached.unwrap();
            prop_assert_eq!(&cached.three_ds_method_url, &e.three_ds_method_url);
            prop_assert_eq!(cached.acs_versions.len(), e.acs_versions.len());
        }
    }
}
