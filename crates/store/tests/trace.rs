//! The trace database against a real SQLite file: events come back by transaction (any
//! of its ids, and the requests its answers reply to), by `seq` window, newest page
//! first; a card number in clear never reaches the file; a reopened trace numbers on.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use serde_json::json;
use store::{TraceQuery, TraceReader, TraceStore};
use trace::{Direction, Event, Ids, Kind, Party};

fn message(seq: u64, label: &str, ids: Ids, body: &serde_json::Value) -> Arc<Event> {
    let mut event = Event::new(Kind::Message, Party::ThreeDsServer, label);
    event.seq = seq;
    event.at_ms = 1_795_000_000_000 + seq;
    event.direction = Some(Direction::Received);
    event.transaction.clone_from(&ids.three_ds_server_trans_id);
    event.ids = ids;
    event.body = Some(serde_json::value::to_raw_value(body).unwrap());
    Arc::new(event)
}

fn ids(server: &str, acs: Option<&str>) -> Ids {
    Ids {
        three_ds_server_trans_id: Some(server.into()),
        acs_trans_id: acs.map(str::to_owned),
        ..Ids::default()
    }
}

#[tokio::test]
async fn events_come_back_by_transaction_and_window_and_never_with_a_card_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.db");
    let store = TraceStore::open(&path).await.unwrap();
    assert_eq!(store.last_seq().await.unwrap(), 0);

    // A request naming no transaction, answered with one.
    let request = message(1, "POST /v1/auth", Ids::default(), &json!({"amount": "1"}));
    let mut answer = message(2, "answer to /v1/auth", ids("t-1", None), &json!({}));
    Arc::make_mut(&mut answer).reply_to = Some(1);
    let areq = message(
        3,
        "AReq",
        ids("t-1", Some("a-1")),
        &json!({"acctNumber": "400000******1000"}),
    );
    let other = message(4, "AReq", ids("t-2", None), &json!({}));
    // Redaction failed somewhere: the body must not reach the file.
    let leaky = message(
        5,
        "AReq",
        ids("t-2", None),
        &json!({"acctNumber": "4000000000001000"}),
    );
    // 70 more: more than one INSERT statement's worth.
    let mut events = vec![request, answer, areq, other, leaky];
    events.extend((6..76).map(|seq| message(seq, "PReq", ids("p", None), &json!({}))));
    store.record(&events).await.unwrap();
    assert_eq!(store.last_seq().await.unwrap(), 75);

    let of = |id: &str| TraceQuery {
        transaction: Some(id.into()),
        ..TraceQuery::default()
    };
    let t1 = store.events(&of("t-1")).await.unwrap();
    let seqs: Vec<u64> = t1.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(
        t1[0].transaction.as_deref(),
        Some("t-1"),
        "the request takes its answer's"
    );
    // Any id of the transaction finds it.
    assert_eq!(store.events(&of("a-1")).await.unwrap().len(), 3);

    let t2 = store.events(&of("t-2")).await.unwrap();
    assert!(t2[1].body.is_none() && t2[1].findings[0].contains("card number"));
    let bytes = std::fs::read(&path).unwrap();
    let wal = std::fs::read(dir.path().join("trace.db-wal")).unwrap_or_default();
    for file in [&bytes, &wal] {
        assert!(!file.windows(16).any(|w| w == b"4000000000001000"));
    }

    // Newest first page below a seq, and after a seq.
    let page = store
        .events(&TraceQuery {
            before: Some(10),
            limit: 3,
            ..TraceQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [7, 8, 9]);
    let after = store
        .events(&TraceQuery {
            after: Some(73),
            ..TraceQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(after.len(), 2);
    // The list of everything resolves the request's transaction too.
    let all = store.events(&TraceQuery::default()).await.unwrap();
    assert_eq!(all[0].transaction.as_deref(), Some("t-1"));
    store.close().await;

    // Read-only, without a key service; and reopened, it numbers on.
    let reader = TraceReader::open(&path).await.unwrap();
    assert_eq!(reader.events(&of("t-1")).await.unwrap().len(), 3);
    let reopened = TraceStore::open(&path).await.unwrap();
    assert_eq!(reopened.last_seq().await.unwrap(), 75);
    assert!(
        TraceReader::open(&dir.path().join("none.db"))
            .await
            .is_err()
    );
}

/// Pruning keeps the newest events, and a file pruned as it fills stops growing: SQLite
/// reuses the freed pages.
#[tokio::test]
async fn pruning_keeps_the_newest_events_and_bounds_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.db");
    let store = TraceStore::open(&path).await.unwrap();
    let pad = json!({ "pad": "x".repeat(2_000) });
    let mut sizes = Vec::new();
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let wal = dir.path().join("trace.db-wal");
    for round in 0..12u64 {
        let events: Vec<_> = (1..=500)
            .map(|i| message(round * 500 + i, "PReq", ids("p", None), &pad))
            .collect();
        store.record(&events).await.unwrap();
        store.prune(1_000).await.unwrap();
        sizes.push(size(&path) + size(&wal));
    }
    let kept = store.events(&TraceQuery::default()).await.unwrap();
    assert_eq!(kept.first().map(|e| e.seq), Some(5_001));
    assert_eq!(kept.len(), 1_000);
    // Twice the window written, the files (database and WAL) grow no more than 10%
    // over the next three times the window.
    let (filled, last) = (sizes[5], sizes[11]);
    assert!(last <= filled + filled / 10, "{sizes:?}");
}
