//! Persistence for every component: the 3DS Server's, the Directory Server's and the
//! ACS's transactions, the 3DS Server's card-range cache and the ACS's cards; and, in a
//! database of its own, the trace every component records (`trace`).
//!
//! One [`Store`] is one database (SQLite by default: an embedded file in WAL mode, with
//! the migrations in `migrations/` applied at open). Components share a `Store` in
//! `threeds up` and each has its own with `threeds serve`; their tables never overlap.
//!
//! Card numbers never reach the database in clear. A record holding a PAN stores
//! [`Protected`]: the key service's keyed hash, to find records by card, and an
//! envelope-encrypted copy bound to the record (table and id) it belongs to. JSON kept
//! as received (an ARes, an RReq) is checked first: a body holding card data is refused
//! (`StoreError::CardData`), so a mistake upstream cannot write a PAN to disk.
//!
//! Writes go through one task owning the only writing connection, which commits
//! whatever is queued together (`writer`: group commit; SQLite has one writer anyway, and
//! this way no caller meets its sleeping busy handler). Reads use a small pool.

mod acs;
mod cards;
mod challenges;
mod directory;
mod ranges;
mod sensitive;
mod server;
mod spc;
mod trace;
mod writer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kms::envelope::{self, Sealed};
use kms::{EncryptionContext, KeyService};
use sqlx::ConnectOptions;
use sqlx::pool::PoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use writer::{Write, Writer};

pub use acs::AcsTransaction;
pub use cards::IssuerCard;
pub use challenges::StoredChallenge;
pub use directory::{DsTransaction, NewDsTransaction};
pub use ranges::SavedRanges;
pub use sensitive::{FORBIDDEN, TEMPORARY, check_value, find_card_data};
pub use server::{NewServerTransaction, ServerTransaction, Source, Status};
pub use spc::{SpcCredential, SpcOffer};
pub use trace::{TraceQuery, TraceReader, TraceStore};

/// The migrations every database gets, in order.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open { path: PathBuf, source: sqlx::Error },
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("key service: {0}")]
    Keys(#[from] kms::KeyError),
    #[error("database commit failed: {0}")]
    Commit(String),
    #[error("the store is closed")]
    Closed,
    #[error("refused to store card data at {0}")]
    CardData(String),
    #[error("refused to store {0}: {1}")]
    Forbidden(String, String),
    #[error("stored record {0} is corrupt: {1}")]
    Corrupt(String, String),
}

impl StoreError {
    /// Whether the write broke a uniqueness rule (the record it would make exists).
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// A card number as records keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected {
    /// The key service's keyed hash of the PAN (hex): what records are found by.
    pub pan_hash: String,
    /// The PAN sealed for one record (`kms::envelope::Sealed::to_bytes`).
    pub sealed: Vec<u8>,
}

/// A database and the key service that protects the card data in it.
#[derive(Debug, Clone)]
pub struct Store {
    writer: Writer,
    reader: SqlitePool,
    keys: Arc<dyn KeyService>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and migrates it.
    pub async fn open(path: &Path, keys: Arc<dyn KeyService>) -> Result<Store, StoreError> {
        let (mut writing, reader) = connect(path, SqliteSynchronous::Normal).await?;
        MIGRATOR.run(&mut writing).await?;
        Ok(Store {
            writer: Writer::start(writing),
            reader,
            keys,
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keyed hash records index `pan` by.
    pub async fn pan_hash(&self, pan: &str) -> Result<String, StoreError> {
        Ok(envelope::pan_lookup_hash(self.keys.as_ref(), pan).await?)
    }

    /// Protects `pan` for the record `id` of `table`.
    pub async fn protect(&self, table: &str, id: &str, pan: &str) -> Result<Protected, StoreError> {
        let pan_hash = self.pan_hash(pan).await?;
        self.seal(table, id, pan, pan_hash).await
    }

    /// Like [`Store::protect`], with the PAN's hash already known.
    pub async fn seal(
        &self,
        table: &str,
        id: &str,
        pan: &str,
        pan_hash: String,
    ) -> Result<Protected, StoreError> {
        let sealed =
            envelope::seal(self.keys.as_ref(), &context(table, id), pan.as_bytes()).await?;
        Ok(Protected {
            pan_hash,
            sealed: sealed.to_bytes(),
        })
    }

    /// Any bytes sealed for the record `id` of `table` (a request holding card data).
    pub(crate) async fn seal_bytes(
        &self,
        table: &str,
        id: &str,
        plain: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        Ok(
            envelope::seal(self.keys.as_ref(), &context(table, id), plain)
                .await?
                .to_bytes(),
        )
    }

    /// What [`Store::seal_bytes`] sealed.
    pub(crate) async fn reveal_bytes(
        &self,
        table: &str,
        id: &str,
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
        let sealed = Sealed::from_bytes(sealed)?;
        let plain = envelope::open(self.keys.as_ref(), &context(table, id), &sealed).await?;
        Ok(zeroize::Zeroizing::new(plain.to_vec()))
    }

    /// The PAN of record `id` of `table`, decrypted (for tools and tests; never logged).
    pub async fn reveal(
        &self,
        table: &str,
        id: &str,
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<String>, StoreError> {
        let sealed = Sealed::from_bytes(sealed)?;
        let plain = envelope::open(self.keys.as_ref(), &context(table, id), &sealed).await?;
        String::from_utf8(plain.to_vec())
            .map(zeroize::Zeroizing::new)
            .map_err(|_| StoreError::Corrupt(format!("{table}/{id}"), "PAN is not UTF-8".into()))
    }

    /// Commits queued writes and closes the database (checkpointing the WAL). Later
    /// writes through any clone of this store fail with [`StoreError::Closed`].
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// The one way a repository writes: what it writes is checked first
    /// (`sensitive::check_write`).
    async fn write(&self, sql: &'static str, args: Vec<writer::Arg>) -> Result<u64, StoreError> {
        sensitive::check_write(sql, &args)?;
        self.writer.execute(Write { sql, args }).await
    }
}

/// The writing connection and the read-only pool of the SQLite database at `path`
/// (created if needed, WAL, with `synchronous` as given).
async fn connect(
    path: &Path,
    synchronous: SqliteSynchronous,
) -> Result<(sqlx::sqlite::SqliteConnection, SqlitePool), StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
            path: path.to_owned(),
            source: sqlx::Error::Io(e),
        })?;
    }
    let failed = |source| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    let options = SqliteConnectOptions::from_str("sqlite:")
        .map_err(failed)?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // WAL + NORMAL (the store): a commit is durable against a process crash, not
        // against a power cut; the right trade for a sandbox.
        .synchronous(synchronous)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    let writing = options.connect().await.map_err(failed)?;
    let reader = PoolOptions::<sqlx::Sqlite>::new()
        .max_connections(4)
        .min_connections(1)
        .connect_with(options.read_only(true))
        .await
        .map_err(failed)?;
    Ok((writing, reader))
}

fn context(table: &str, id: &str) -> EncryptionContext {
    EncryptionContext::new().with("table", table).with("id", id)
}

/// Now, in Unix milliseconds.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
