//! The scan of what a database holds (`threeds doctor`, and the tests after a scenario
//! pack): every text and blob of every table, read back and checked for what must not
//! be there. It catches what the write guard cannot: rows written before a rule
//! existed, or by something other than this store.
//!
//! Two checks, on every value:
//! - the guard's own rules (`sensitive::check_text`): card data in clear, forbidden
//!   members, temporary members outside the tables that purge them;
//! - the card numbers the caller knows (the issuer's cards), as substrings anywhere, in
//!   text and in the bytes of blobs.

use sqlx::Row;

use crate::writer::Arg;
use crate::{Backend, Store, StoreError, sensitive};

/// Something a database holds that it must not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    pub table: String,
    pub column: String,
    /// What was found (never the value itself).
    pub what: String,
}

/// What a scan read and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Every table read, with its number of rows.
    pub tables: Vec<(String, u64)>,
    /// What was found, at most once per table, column and kind.
    pub exposures: Vec<Exposure>,
}

impl Scan {
    /// The rows of `table` (0 if it was not read).
    pub fn rows(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .find(|(name, _)| name == table)
            .map_or(0, |(_, rows)| *rows)
    }
}

/// The values of one row, as the scan reads them.
enum Cell {
    Text(String),
    Bytes(Vec<u8>),
}

/// Reads every text or blob column of `$row` (either database's) into `$cells`.
macro_rules! read_cells {
    ($row:expr, $cells:expr) => {{
        let row = $row;
        for (i, column) in row.columns().iter().enumerate() {
            let name = sqlx::Column::name(column).to_owned();
            if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                $cells.push((name, Cell::Text(text)));
            } else if let Ok(Some(bytes)) = row.try_get::<Option<Vec<u8>>, _>(i) {
                $cells.push((name, Cell::Bytes(bytes)));
            }
        }
    }};
}

impl Store {
    /// Every place this database holds card data in clear or a value it must not keep,
    /// and every occurrence of one of `known_pans`. Empty when the database is clean.
    pub async fn scan(&self, known_pans: &[String]) -> Result<Scan, StoreError> {
        let tables: Vec<(String,)> = self
            .fetch_all(
                self.dialect(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite%' AND name <> '_sqlx_migrations' ORDER BY name",
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                     AND table_name <> '_sqlx_migrations' ORDER BY table_name",
                ),
                Vec::<Arg>::new(),
            )
            .await?;
        let mut scan = Scan::default();
        for (table,) in tables {
            let select = format!("SELECT * FROM \"{}\"", table.replace('"', "\"\""));
            let mut cells = Vec::new();
            let rows = match &self.backend {
                Backend::Sqlite { reader, .. } => {
                    let rows = sqlx::query(&select).fetch_all(reader).await?;
                    for row in &rows {
                        read_cells!(row, cells);
                    }
                    rows.len()
                }
                Backend::Postgres { pool } => {
                    let rows = sqlx::query(&select).fetch_all(pool).await?;
                    for row in &rows {
                        read_cells!(row, cells);
                    }
                    rows.len()
                }
            };
            scan.tables
                .push((table.clone(), u64::try_from(rows).unwrap_or(u64::MAX)));
            for (column, cell) in &cells {
                if let Some(what) = exposed(&table, cell, known_pans) {
                    let exposure = Exposure {
                        table: table.clone(),
                        column: column.clone(),
                        what,
                    };
                    if !scan.exposures.contains(&exposure) {
                        scan.exposures.push(exposure);
                    }
                }
            }
        }
        Ok(scan)
    }
}

/// What `cell`, kept in `table`, exposes, if anything.
fn exposed(table: &str, cell: &Cell, known_pans: &[String]) -> Option<String> {
    let bytes = match cell {
        Cell::Text(text) => {
            if let Err(refused) = sensitive::check_text(table, text) {
                return Some(refused.to_string());
            }
            text.as_bytes()
        }
        Cell::Bytes(bytes) => bytes,
    };
    known_pans
        .iter()
        .find(|pan| {
            !pan.is_empty()
                && bytes
                    .windows(pan.len())
                    .any(|window| window == pan.as_bytes())
        })
        .map(|pan| {
            let first = pan.get(..6).unwrap_or("");
            let last = pan.get(pan.len().saturating_sub(4)..).unwrap_or("");
            format!("a known card number ({first}…{last})")
        })
}
