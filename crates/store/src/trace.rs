//! The trace, stored: events as JSON with their `seq`, time and transaction, written in
//! batches by the recorder (one commit per batch), read back by transaction or by `seq`
//! window (the admin endpoint, `threeds trace`, the TUI's paging). Reading needs no key
//! service, so [`TraceReader`] opens a database for reading the trace alone.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use trace::Event;

use crate::sensitive::find_clear_card_data;
use crate::writer::{Arg, Write};
use crate::{Store, StoreError};

/// Which events to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceQuery {
    /// Events of this transaction: its `threeDSServerTransID`, or any other id one of
    /// its events carries (`acsTransID`, `dsTransID`, `sdkTransID`).
    pub transaction: Option<String>,
    /// Only events with a greater `seq`.
    pub after: Option<u64>,
    /// Only events with a smaller `seq` (the newest of those come back, in order).
    pub before: Option<u64>,
    /// At most this many (0: no limit).
    pub limit: u32,
}

impl Store {
    /// Stores `events` in one commit. An event that would hold card data (which
    /// redaction should have made impossible) is stored without its bodies, with a
    /// finding saying where the card data was.
    pub async fn record_trace(&self, events: &[Arc<Event>]) -> Result<(), StoreError> {
        let mut writes = Vec::with_capacity(events.len() * 2);
        for event in events {
            let mut json = serde_json::to_value(event.as_ref()).map_err(|e| {
                StoreError::Corrupt(format!("trace event {}", event.seq), e.to_string())
            })?;
            if let Some(path) = find_clear_card_data(&json) {
                let mut stripped = event.as_ref().clone();
                stripped.body = None;
                stripped.decoded = None;
                stripped
                    .findings
                    .push(format!("body not kept: card data at {path}"));
                json = serde_json::to_value(&stripped).unwrap_or_default();
            }
            let seq = i64::try_from(event.seq).unwrap_or(i64::MAX);
            writes.push(Write {
                sql: "INSERT OR REPLACE INTO trace_events (seq, at_ms, transaction_id, event) \
                      VALUES (?, ?, ?, ?)",
                args: vec![
                    Arg::Int(seq),
                    Arg::Int(i64::try_from(event.at_ms).unwrap_or(i64::MAX)),
                    Arg::from(event.transaction.as_deref()),
                    Arg::Text(json.to_string()),
                ],
            });
            if let (Some(transaction), Some(request)) = (&event.transaction, event.reply_to) {
                writes.push(Write {
                    sql: "UPDATE trace_events SET transaction_id = ? \
                          WHERE seq = ? AND transaction_id IS NULL",
                    args: vec![
                        Arg::Text(transaction.clone()),
                        Arg::Int(i64::try_from(request).unwrap_or(i64::MAX)),
                    ],
                });
            }
        }
        self.writer.execute_all(writes).await.map(|_| ())
    }

    /// Events as `query` selects them, in `seq` order.
    pub async fn trace_events(&self, query: &TraceQuery) -> Result<Vec<Event>, StoreError> {
        read(&self.reader, query).await
    }

    /// The greatest `seq` stored (0 when the trace is empty): a new tracer numbers on.
    pub async fn last_trace_seq(&self) -> Result<u64, StoreError> {
        let (last,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM trace_events")
            .fetch_one(&self.reader)
            .await?;
        Ok(last.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
    }
}

/// A database opened only to read its trace (no key service needed).
#[derive(Debug, Clone)]
pub struct TraceReader {
    pool: SqlitePool,
}

impl TraceReader {
    /// Opens `path` read-only; it must exist and hold a trace.
    pub async fn open(path: &Path) -> Result<TraceReader, StoreError> {
        let failed = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        if !path.exists() {
            return Err(failed(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file",
            ))));
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(failed)?
            .filename(path)
            .read_only(true);
        let pool = SqlitePool::connect_with(options).await.map_err(failed)?;
        Ok(TraceReader { pool })
    }

    /// Events as `query` selects them, in `seq` order.
    pub async fn events(&self, query: &TraceQuery) -> Result<Vec<Event>, StoreError> {
        read(&self.pool, query).await
    }
}

async fn read(pool: &SqlitePool, query: &TraceQuery) -> Result<Vec<Event>, StoreError> {
    let transaction = match &query.transaction {
        None => None,
        Some(id) => Some(resolve(pool, id).await?.unwrap_or_else(|| id.clone())),
    };
    let after = query
        .after
        .map_or(-1, |s| i64::try_from(s).unwrap_or(i64::MAX));
    let before = query
        .before
        .map_or(i64::MAX, |s| i64::try_from(s).unwrap_or(i64::MAX));
    let limit = if query.limit == 0 {
        -1
    } else {
        i64::from(query.limit)
    };
    // With `before`, the newest events below it; otherwise the oldest above `after`.
    let order = if query.before.is_some() {
        "DESC"
    } else {
        "ASC"
    };
    let sql = format!(
        "SELECT seq, transaction_id, event FROM trace_events \
         WHERE seq > ? AND seq < ? AND (? IS NULL OR transaction_id = ?) \
         ORDER BY seq {order} LIMIT ?"
    );
    let rows: Vec<(i64, Option<String>, String)> = sqlx::query_as(&sql)
        .bind(after)
        .bind(before)
        .bind(&transaction)
        .bind(&transaction)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    let mut events = rows
        .into_iter()
        .map(|(seq, transaction_id, json)| {
            let mut event: Event = serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("trace event {seq}"), e.to_string()))?;
            if event.transaction.is_none() {
                event.transaction = transaction_id;
            }
            Ok(event)
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    events.sort_by_key(|e| e.seq);
    Ok(events)
}

/// The transaction an id belongs to: itself when it is one, else the transaction of an
/// event carrying it.
async fn resolve(pool: &SqlitePool, id: &str) -> Result<Option<String>, StoreError> {
    let direct: Option<(i64,)> =
        sqlx::query_as("SELECT seq FROM trace_events WHERE transaction_id = ? LIMIT 1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    if direct.is_some() {
        return Ok(Some(id.to_owned()));
    }
    let pattern = format!("%\"{}\"%", id.replace(['%', '_', '"'], ""));
    let found: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT transaction_id FROM trace_events \
         WHERE transaction_id IS NOT NULL AND event LIKE ? LIMIT 1",
    )
    .bind(pattern)
    .fetch_optional(pool)
    .await?;
    Ok(found.and_then(|(t,)| t))
}
