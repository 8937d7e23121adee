//! The store against a real SQLite file and a real PostgreSQL database: records come
//! back as written, card numbers never reach the database in clear, card data and
//! forbidden members in kept JSON are refused, and a reopened database keeps
//! everything. Every test runs on both backends (`on_both!`); the PostgreSQL ones need
//! `THREEDS_TEST_POSTGRES`, a server URL without a database name, which `cargo xtask
//! test` sets after starting a throw-away server.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::json;
use store::{
    AcsTransaction, Database, NewDsTransaction, NewServerTransaction, SavedRanges, Source, Status,
    Store, StoreError,
};

const PAN: &str = "4000000000000002";

/// One test's database, and the directory its keys (and SQLite file) live in.
struct Db {
    dir: tempfile::TempDir,
    database: Database,
}

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Db {
    /// A new, empty database on `backend`; `None` when PostgreSQL is not configured.
    fn new(backend: Backend) -> Option<Db> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = tempfile::tempdir().unwrap();
        let database = match backend {
            Backend::Sqlite => Database::Sqlite(dir.path().join("db/sandbox.db")),
            Backend::Postgres => {
                let server = test_services::postgres()?;
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .subsec_nanos();
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let name = format!("store_{}_{n}_{nanos}", std::process::id());
                Database::Postgres(format!("{}/{name}", server.trim_end_matches('/')))
            }
        };
        Some(Db { dir, database })
    }

    async fn open(&self) -> Store {
        let keys = kms::SoftwareKeys::open_or_create(&self.dir.path().join("master.key")).unwrap();
        Store::connect(&self.database, Arc::new(keys))
            .await
            .unwrap()
    }
}

/// Runs each named test on SQLite and on PostgreSQL (`sqlite::name`, `postgres::name`).
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Db::new(super::Backend::Sqlite).unwrap()).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                if let Some(db) = super::Db::new(super::Backend::Postgres) {
                    super::$name(db).await;
                }
            })*
        }
    };
}

on_both!(
    records_come_back_and_survive_a_reopen,
    sealed_pans_open_only_for_their_own_record,
    card_data_in_kept_json_is_refused,
    concurrent_writes_commit_together_and_fail_alone,
    spc_credentials_belong_to_one_card_and_offers_are_single_use,
    an_authentication_is_continued_once,
    the_guard_refuses_forbidden_members_in_any_table_and_the_purge_ends_temporary_ones,
    the_scan_finds_what_got_past_the_guard,
);

async fn fill(store: &Store) {
    store
        .begin_server_transaction(&NewServerTransaction {
            three_ds_server_trans_id: "t-1",
            pan: PAN,
            directory_server_id: "F000000001",
            message_version: Some("2.2.0"),
            device_channel: Some("02"),
            message_category: Some("01"),
            prior_trans_id: None,
        })
        .await
        .unwrap();
    store
        .insert_ds_transaction(&NewDsTransaction {
            ds_trans_id: "d-1",
            directory_server_id: "F000000001",
            three_ds_server_trans_id: "t-1",
            three_ds_server_url: Some("https://localhost:1/rreq"),
            acs_url: "https://localhost:2/areq",
            pan: PAN,
            message_version: "2.2.0",
        })
        .await
        .unwrap();
    let card = store.protect("acs_transactions", "a-1", PAN).await.unwrap();
    store
        .insert_acs_transaction(
            &AcsTransaction {
                acs_trans_id: "a-1".into(),
                ds_trans_id: Some("d-1".into()),
                three_ds_server_trans_id: "t-1".into(),
                message_version: "2.2.0".into(),
                device_channel: "02".into(),
                message_category: "01".into(),
                trans_status: "Y".into(),
                trans_status_reason: None,
                eci: Some("05".into()),
            },
            &card,
        )
        .await
        .unwrap();
    store
        .upsert_card(PAN, "frictionless-Y", "authenticated")
        .await
        .unwrap();
    store
        .save_ranges(
            "F000000001",
            &SavedRanges {
                serial_num: Some("7".into()),
                ranges: json!({"ranges": [{"startRange": "4000000000000000"}]}),
            },
        )
        .await
        .unwrap();
}

async fn records_come_back_and_survive_a_reopen(db: Db) {
    let store = db.open().await;
    fill(&store).await;
    let ares = json!({"messageType": "ARes", "transStatus": "Y"});
    assert!(
        store
            .record_server_result("t-1", Status::Final, Source::ARes, &ares)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_server_result("nope", Status::Final, Source::ARes, &ares)
            .await
            .unwrap()
    );
    assert!(
        store
            .record_ds_answer("d-1", Some("a-1"), Some("Y"))
            .await
            .unwrap()
    );
    store.close().await;

    let store = db.open().await;
    let t = store.server_transaction("t-1").await.unwrap().unwrap();
    assert_eq!((t.status, t.source), (Status::Final, Some(Source::ARes)));
    assert_eq!(t.result, Some(ares));
    let hash = store.pan_hash(PAN).await.unwrap();
    assert_eq!(t.pan_hash, hash);
    let d = store.ds_transaction("d-1").await.unwrap().unwrap();
    assert_eq!(d.acs_trans_id.as_deref(), Some("a-1"));
    assert_eq!(
        d.three_ds_server_url.as_deref(),
        Some("https://localhost:1/rreq")
    );
    let (a, a_hash) = store.acs_transaction("a-1").await.unwrap().unwrap();
    assert_eq!((a.trans_status.as_str(), a_hash), ("Y", hash.clone()));
    let card = store.card_by_hash(&hash).await.unwrap().unwrap();
    assert_eq!(card.outcome, "frictionless-Y");
    assert_eq!(card.pan_masked, "400000••••••0002");
    let ranges = store.load_ranges("F000000001").await.unwrap().unwrap();
    assert_eq!(ranges.serial_num.as_deref(), Some("7"));
    assert!(store.server_transaction("unknown").await.unwrap().is_none());
}

async fn sealed_pans_open_only_for_their_own_record(db: Db) {
    let store = db.open().await;
    let p = store
        .protect("server_transactions", "t-9", PAN)
        .await
        .unwrap();
    let clear = store
        .reveal("server_transactions", "t-9", &p.sealed)
        .await
        .unwrap();
    assert_eq!(clear.as_str(), PAN);
    assert!(
        store
            .reveal("server_transactions", "t-8", &p.sealed)
            .await
            .is_err()
    );
}

async fn card_data_in_kept_json_is_refused(db: Db) {
    let store = db.open().await;
    fill(&store).await;
    let leaky = json!({"messageType": "ARes", "note": {"acctNumber": PAN}});
    let err = store
        .record_server_result("t-1", Status::Final, Source::ARes, &leaky)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::CardData(at) if at == "server_transactions.note.acctNumber"),
        "{err}"
    );
}

/// Every file SQLite wrote (database, WAL, shared memory) is free of the PAN, in ASCII
/// and in the BCD/UTF-16 forms a careless encoder might produce.
#[tokio::test]
async fn no_clear_pan_reaches_the_sqlite_files() {
    let db = Db::new(Backend::Sqlite).unwrap();
    let store = db.open().await;
    fill(&store).await;
    // Both with the WAL still open and after a checkpoint on close.
    assert_no_pan(&db.dir.path().join("db"));
    store.close().await;
    assert_no_pan(&db.dir.path().join("db"));
}

fn assert_no_pan(dir: &Path) {
    let utf16: Vec<u8> = PAN.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut scanned = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        scanned += 1;
        for needle in [PAN.as_bytes(), &utf16[..], &PAN.as_bytes()[6..]] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds the card number",
                path.display()
            );
        }
    }
    assert!(scanned >= 1);
}

/// Concurrent writers share commits; a write that breaks a constraint fails alone and
/// the rest of its batch is committed.
async fn concurrent_writes_commit_together_and_fail_alone(db: Db) {
    let store = db.open().await;
    let ids: Vec<String> = (0..200).map(|i| format!("t-{i}")).collect();
    let begin = |id: &str| {
        let store = store.clone();
        let id = id.to_owned();
        async move {
            store
                .begin_server_transaction(&NewServerTransaction {
                    three_ds_server_trans_id: &id,
                    pan: PAN,
                    directory_server_id: "F000000001",
                    message_version: None,
                    device_channel: None,
                    message_category: None,
                    prior_trans_id: None,
                })
                .await
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    for id in &ids {
        tasks.spawn(begin(id));
    }
    // The same DS transaction twice, in the middle of the batch: one of them fails.
    let ds = |n: &'static str| {
        let store = store.clone();
        async move {
            store
                .insert_ds_transaction(&NewDsTransaction {
                    ds_trans_id: "d-dup",
                    directory_server_id: n,
                    three_ds_server_trans_id: "t-0",
                    three_ds_server_url: None,
                    acs_url: "https://localhost/areq",
                    pan: PAN,
                    message_version: "2.2.0",
                })
                .await
        }
    };
    let (first, second) = tokio::join!(ds("A"), ds("B"));
    assert!(first.is_ok() != second.is_ok(), "{first:?} {second:?}");
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    store.close().await;
    let store = db.open().await;
    for id in &ids {
        assert!(
            store.server_transaction(id).await.unwrap().is_some(),
            "{id}"
        );
    }
    // Writes after close are refused, not lost silently.
    let closed = store.clone();
    closed.close().await;
    assert!(matches!(
        store.upsert_card(PAN, "frictionless-Y", "x").await,
        Err(StoreError::Closed)
    ));
}

async fn spc_credentials_belong_to_one_card_and_offers_are_single_use(db: Db) {
    let store = db.open().await;
    let card = store.pan_hash(PAN).await.unwrap();
    let other = store.pan_hash("4000000000000010").await.unwrap();
    let credential = store::SpcCredential {
        credential_id: "Y3JlZA".into(),
        rp_id: "acs.localhost".into(),
        algorithm: "ES256".into(),
        public_key: vec![1, 2, 3],
        sign_count: 1,
        created_at: 0,
        last_used_at: None,
    };
    assert!(store.add_spc_credential(&card, &credential).await.unwrap());
    assert!(
        !store.add_spc_credential(&other, &credential).await.unwrap(),
        "a credential id registered for one card cannot move to another"
    );
    assert_eq!(store.spc_credentials(&card).await.unwrap().len(), 1);
    assert!(store.spc_credentials(&other).await.unwrap().is_empty());
    assert!(store.use_spc_credential("Y3JlZA", 1, 2).await.unwrap());
    assert!(
        !store.use_spc_credential("Y3JlZA", 1, 3).await.unwrap(),
        "stale counter"
    );
    let (found, owner) = store.spc_credential("Y3JlZA").await.unwrap().unwrap();
    assert_eq!((found.sign_count, owner.as_str()), (2, card.as_str()));
    assert!(!store.delete_spc_credential(&other, "Y3JlZA").await.unwrap());
    assert!(store.delete_spc_credential(&card, "Y3JlZA").await.unwrap());

    store
        .insert_spc_offer("acs-1", &card, &json!({ "challenge": "abc" }))
        .await
        .unwrap();
    assert!(!store.spc_offer("acs-1").await.unwrap().unwrap().used);
    assert!(
        store
            .use_spc_offer("acs-1", &json!({ "verified": true }))
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_spc_offer("acs-1", &json!({ "verified": true }))
            .await
            .unwrap()
    );
    let offer = store.spc_offer("acs-1").await.unwrap().unwrap();
    assert!(offer.used);
    assert_eq!(offer.result, Some(json!({ "verified": true })));
    let with_card = json!({ "note": PAN });
    assert!(matches!(
        store.insert_spc_offer("acs-2", &card, &with_card).await,
        Err(StoreError::CardData(_))
    ));
}

async fn an_authentication_is_continued_once(db: Db) {
    let store = db.open().await;
    let begin = |id: &'static str| NewServerTransaction {
        three_ds_server_trans_id: id,
        pan: PAN,
        directory_server_id: "F000000001",
        message_version: Some("2.3.1"),
        device_channel: Some("02"),
        message_category: Some("01"),
        prior_trans_id: Some("first"),
    };
    store
        .begin_server_transaction(&begin("second"))
        .await
        .unwrap();
    let raced = store.begin_server_transaction(&begin("third")).await;
    assert!(
        raced.as_ref().is_err_and(StoreError::is_conflict),
        "{raced:?}"
    );
    assert_eq!(
        store.continued_by("first").await.unwrap().as_deref(),
        Some("second")
    );
}

async fn the_guard_refuses_forbidden_members_in_any_table_and_the_purge_ends_temporary_ones(
    db: Db,
) {
    let store = db.open().await;
    // A challenge that kept its code would be refused, naming the member.
    let refused = store
        .insert_challenge("a-otp", &json!({ "expected": { "otp": "123456" } }), None)
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "refused to store acs_challenges.expected.otp: a challenge code (keep its keyed digest)"
    );
    // So would a cardholder's answer in what the 3DS Method page saw.
    assert!(matches!(
        store
            .record_method_run("a-2", &json!({ "challengeDataEntry": "1234" }))
            .await,
        Err(StoreError::Forbidden(..))
    ));
    assert!(
        store.challenge("a-otp").await.unwrap().is_none(),
        "nothing written"
    );

    // The authentication value is kept for a while, then purged.
    fill(&store).await;
    let result =
        json!({ "messageType": "ARes", "transStatus": "Y", "authenticationValue": "AAAA" });
    store
        .record_server_result("t-1", Status::Final, Source::ARes, &result)
        .await
        .unwrap();
    assert_eq!(
        store
            .purge_expired(std::time::Duration::from_secs(3600))
            .await
            .unwrap(),
        0,
        "not yet"
    );
    assert_eq!(
        store
            .purge_expired(std::time::Duration::ZERO)
            .await
            .unwrap(),
        1
    );
    let kept = store.server_transaction("t-1").await.unwrap().unwrap();
    let kept = kept.result.unwrap();
    assert_eq!(kept["transStatus"], "Y");
    assert!(kept.get("authenticationValue").is_none(), "{kept}");
}

/// The scan reads every table back: clean after ordinary use, and it names the table
/// and column of what was written around the guard (raw SQL, as an old version or
/// another program might).
async fn the_scan_finds_what_got_past_the_guard(db: Db) {
    let store = db.open().await;
    fill(&store).await;
    store
        .insert_challenge("a-1", &json!({ "expected": { "otpDigest": "ab12" } }), None)
        .await
        .unwrap();
    let known = [PAN.to_owned()];
    let clean = store.scan(&known).await.unwrap();
    assert_eq!(clean.exposures, vec![]);
    assert_eq!(
        (
            clean.rows("server_transactions"),
            clean.rows("acs_challenges")
        ),
        (1, 1)
    );
    store.close().await;

    let leaks = [
        "INSERT INTO acs_method_runs (three_ds_server_trans_id, facts, created_at) \
         VALUES ('t-9', '{\"browser\": {\"otp\": \"123456\"}}', 0)",
        "UPDATE issuer_cards SET description = 'card 4000000000000002 (test)'",
    ];
    match &db.database {
        Database::Sqlite(path) => {
            use sqlx::Connection;
            let url = format!("sqlite://{}", path.display());
            let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
            for leak in leaks {
                sqlx::query(leak).execute(&mut raw).await.unwrap();
            }
        }
        Database::Postgres(url) => {
            use sqlx::Connection;
            let mut raw = sqlx::PgConnection::connect(url).await.unwrap();
            for leak in leaks {
                sqlx::query(leak).execute(&mut raw).await.unwrap();
            }
        }
    }
    let store = db.open().await;
    let found = store.scan(&known).await.unwrap().exposures;
    let found: Vec<(&str, &str, &str)> = found
        .iter()
        .map(|e| (e.table.as_str(), e.column.as_str(), e.what.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "acs_method_runs",
                "facts",
                "refused to store acs_method_runs.browser.otp: a challenge code (keep its keyed digest)"
            ),
            (
                "issuer_cards",
                "description",
                "a known card number (400000…0002)"
            ),
        ]
    );
}
