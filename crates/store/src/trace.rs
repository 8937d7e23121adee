//! The trace, stored: events as JSON with their `seq`, time and transaction, written in
//! batches by the recorder (one commit per batch), read back by transaction or by `seq`
//! window (the admin endpoint, `threeds trace`, the TUI's paging).
//!
//! The trace has a database file of its own ([`TraceStore`], next to the components'
//! database): with about ten events per authentication, sharing the one SQLite writer
//! with the protocol's records halved the sandbox's throughput, while a second file has
//! its own writer and lock. It holds no card number in clear and needs no key service;
//! [`TraceReader`] opens one read-only.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use trace::Event;

use crate::StoreError;
use crate::writer::{Arg, Write, Writer};

/// The trace database's migrations (its own set: it shares no table with the store).
static TRACE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations-trace");

/// Rows per INSERT statement: one statement per 64 events, not one per event (each
/// statement is a round trip to SQLite's thread).
const ROWS_PER_INSERT: usize = 64;

/// `INSERT … VALUES (…), (…)` for `rows` events (1 to [`ROWS_PER_INSERT`]), made once.
fn insert_rows(rows: usize) -> &'static str {
    static STATEMENTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let statements = STATEMENTS.get_or_init(|| {
        (1..=ROWS_PER_INSERT)
            .map(|n| {
                let values = vec!["(?, ?, ?, ?, ?)"; n].join(", ");
                format!(
                    "INSERT OR REPLACE INTO trace_events (seq, at_ms, transaction_id, reply_to, event) \
                     VALUES {values}"
                )
            })
            .collect()
    });
    statements[rows.clamp(1, ROWS_PER_INSERT) - 1].as_str()
}

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

/// The trace's own database, written and read.
#[derive(Debug, Clone)]
pub struct TraceStore {
    writer: Writer,
    reader: SqlitePool,
    path: PathBuf,
}

impl TraceStore {
    /// Opens (creating if needed) the trace database at `path` and migrates it.
    pub async fn open(path: &Path) -> Result<TraceStore, StoreError> {
        // No syncing at all: a crash of the machine (not of the process) may lose the
        // last events, which is the right trade for a trace written at every hop.
        let (mut writing, reader) =
            crate::connect(path, sqlx::sqlite::SqliteSynchronous::Off).await?;
        TRACE_MIGRATOR.run(&mut writing).await?;
        Ok(TraceStore {
            writer: Writer::start(writing),
            reader,
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commits what is queued and closes the database.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// Stores `events` in one commit. An event that would hold card data (which
    /// redaction should have made impossible) is stored without its bodies, with a
    /// finding saying where the card data was.
    pub async fn record(&self, events: &[Arc<Event>]) -> Result<(), StoreError> {
        let mut writes = Vec::with_capacity(events.len() / ROWS_PER_INSERT + 1);
        for chunk in events.chunks(ROWS_PER_INSERT) {
            let mut args = Vec::with_capacity(chunk.len() * 5);
            for event in chunk {
                let mut json = serde_json::to_string(event.as_ref()).map_err(|e| {
                    StoreError::Corrupt(format!("trace event {}", event.seq), e.to_string())
                })?;
                // Redaction ran before the event existed; this is the last line of
                // defence, a scan of the text for card numbers (cheap enough for all).
                if let Some(at) = clear_card_number(&json) {
                    let mut stripped = event.as_ref().clone();
                    stripped.body = None;
                    stripped.decoded = None;
                    stripped.findings.push(format!(
                        "body not kept: a card number in clear at character {at}"
                    ));
                    json = serde_json::to_string(&stripped).unwrap_or_default();
                }
                let int = |n: u64| Arg::Int(i64::try_from(n).unwrap_or(i64::MAX));
                args.push(int(event.seq));
                args.push(int(event.at_ms));
                args.push(Arg::from(event.transaction.as_deref()));
                args.push(Arg::MaybeInt(
                    event.reply_to.and_then(|r| i64::try_from(r).ok()),
                ));
                args.push(Arg::Text(json));
            }
            writes.push(Write {
                sql: insert_rows(chunk.len()),
                args,
            });
        }
        self.writer.execute_all(writes).await.map(|_| ())
    }

    /// Events as `query` selects them, in `seq` order.
    pub async fn events(&self, query: &TraceQuery) -> Result<Vec<Event>, StoreError> {
        read(&self.reader, query).await
    }

    /// The greatest `seq` stored (0 when the trace is empty): a new tracer numbers on.
    /// Keeps the newest `keep` events and deletes the rest; how many went. SQLite
    /// reuses the freed pages, so a trace pruned regularly stops growing at about
    /// `keep` events' worth of file.
    pub async fn prune(&self, keep: u64) -> Result<u64, StoreError> {
        let last = self.last_seq().await?;
        let Some(below) = last.checked_sub(keep) else {
            return Ok(0);
        };
        self.writer
            .execute(Write {
                sql: "DELETE FROM trace_events WHERE seq <= $1",
                args: vec![Arg::Int(i64::try_from(below).unwrap_or(i64::MAX))],
            })
            .await
    }

    pub async fn last_seq(&self) -> Result<u64, StoreError> {
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
            path: path.display().to_string(),
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
    // A transaction's events: those naming it, and the requests its answers reply to.
    let sql = format!(
        "SELECT seq, transaction_id, event FROM trace_events \
         WHERE seq > ? AND seq < ? AND (? IS NULL OR transaction_id = ? OR seq IN \
           (SELECT reply_to FROM trace_events WHERE transaction_id = ? AND reply_to IS NOT NULL)) \
         ORDER BY seq {order} LIMIT ?"
    );
    let rows: Vec<(i64, Option<String>, String)> = sqlx::query_as(&sql)
        .bind(after)
        .bind(before)
        .bind(&transaction)
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
                event.transaction = transaction_id.or_else(|| transaction.clone());
            }
            Ok(event)
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    events.sort_by_key(|e| e.seq);
    // A request that named no transaction takes its answer's.
    let answered: std::collections::HashMap<u64, String> = events
        .iter()
        .filter_map(|e| Some((e.reply_to?, e.transaction.clone()?)))
        .collect();
    for event in &mut events {
        if event.transaction.is_none() {
            event.transaction = answered.get(&event.seq).cloned();
        }
    }
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

/// Where the first card number in clear is in JSON `text`: a string whose whole value
/// is 13 to 19 digits passing the Luhn check (as card numbers travel in messages; a
/// number such as `atMs` is not a string and is not mistaken for one).
fn clear_card_number(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let quoted = start > 0 && bytes[start - 1] == b'"' && bytes.get(i) == Some(&b'"');
        if quoted && emv3ds::values::is_card_number(&text[start..i]) {
            return Some(start);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn card_numbers_in_clear_are_found_in_text() {
        assert_eq!(
            super::clear_card_number(r#"{"a":"4000000000001000"}"#),
            Some(6)
        );
        assert_eq!(
            super::clear_card_number(r#"{"a":"400000******1000","t":1795514934743}"#),
            None
        );
        // Numbers are not card numbers, whatever their digits.
        assert_eq!(
            super::clear_card_number(r#"{"atMs":4000000000001000}"#),
            None
        );
    }
}
