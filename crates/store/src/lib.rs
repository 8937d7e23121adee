//! Persistence for every component: the 3DS Server's, the Directory Server's and the
//! ACS's transactions, the 3DS Server's card-range cache and the ACS's cards; and, in a
//! database of its own, the trace every component records (`trace`).
//!
//! One [`Store`] is one database, named by a [`Database`]: SQLite by default (an
//! embedded file in WAL mode, migrations in `migrations/`), or PostgreSQL for teams that
//! share a sandbox or run components on several hosts (a `postgres://` URL, migrations
//! in `migrations-postgres/`: the same tables, PostgreSQL's types). Both are migrated at
//! open. Components share a `Store` in `threeds up` and each has its own with `threeds
//! serve`; their tables never overlap, so components on several hosts can share one
//! PostgreSQL database. Every statement is written once, with `$1`-style parameters
//! both databases read; the few that differ (JSON edits) come in both dialects.
//!
//! Card numbers never reach the database in clear. A record holding a PAN stores
//! [`Protected`]: the key service's keyed hash, to find records by card, and an
//! envelope-encrypted copy bound to the record (table and id) it belongs to. JSON kept
//! as received (an ARes, an RReq) is checked first: a body holding card data is refused
//! (`StoreError::CardData`), so a mistake upstream cannot write a PAN to disk.
//!
//! On SQLite, writes go through one task owning the only writing connection, which
//! commits whatever is queued together (`writer`: group commit; SQLite has one writer
//! anyway, and this way no caller meets its sleeping busy handler); reads use a small
//! pool. On PostgreSQL, which has concurrent writers, reads and writes share one pool.

/// Binds every [`Arg`] of `$args`, in order, to the query `$query` (either database's).
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                $crate::writer::Arg::Text(s) => query.bind(s),
                $crate::writer::Arg::MaybeText(s) => query.bind(s),
                $crate::writer::Arg::Blob(b) => query.bind(b),
                $crate::writer::Arg::Int(i) => query.bind(i),
                $crate::writer::Arg::MaybeInt(i) => query.bind(i),
            };
        }
        query
    }};
}

mod acs;
mod cards;
mod challenges;
mod directory;
mod exposure;
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
use sqlx::postgres::{PgConnectOptions, PgPool, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteRow, SqliteSynchronous,
};
use writer::{Arg, Write, Writer};

pub use acs::AcsTransaction;
pub use cards::IssuerCard;
pub use challenges::StoredChallenge;
pub use directory::{DsTransaction, NewDsTransaction};
pub use exposure::{Exposure, Scan};
pub use ranges::SavedRanges;
pub use sensitive::{FORBIDDEN, TEMPORARY, check_value, find_card_data};
pub use server::{NewServerTransaction, ServerTransaction, Source, Status};
pub use spc::{SpcCredential, SpcOffer};
pub use trace::{TraceQuery, TraceReader, TraceStore};

/// The migrations every SQLite database gets, in order.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
/// The same migrations for PostgreSQL (its types: `BIGINT` times, `BYTEA` blobs).
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations-postgres");

/// Where a [`Store`] keeps its data.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its `postgres://` URL (created if missing).
    Postgres(String),
}

impl Database {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite://PATH`, `sqlite:PATH`
    /// or anything else is the path of an SQLite file.
    pub fn parse(location: &str) -> Database {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            return Database::Postgres(location.to_owned());
        }
        let path = location
            .strip_prefix("sqlite://")
            .or_else(|| location.strip_prefix("sqlite:"))
            .unwrap_or(location);
        Database::Sqlite(PathBuf::from(path))
    }

    /// Which database this is, for people: the SQLite path, or the PostgreSQL URL
    /// without its password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) => without_password(url),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(_) => write!(f, "Sqlite({})", self.describe()),
            Database::Postgres(_) => write!(f, "Postgres({})", self.describe()),
        }
    }
}

/// `url` with the password, if any, replaced by `***`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
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
    backend: Backend,
    keys: Arc<dyn KeyService>,
    database: Database,
}

/// The connections to one database.
#[derive(Debug, Clone)]
enum Backend {
    /// The writing task (group commit) and a read-only pool.
    Sqlite { writer: Writer, reader: SqlitePool },
    /// One pool for everything.
    Postgres { pool: PgPool },
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and migrates it.
    pub async fn open(path: &Path, keys: Arc<dyn KeyService>) -> Result<Store, StoreError> {
        Store::connect(&Database::Sqlite(path.to_owned()), keys).await
    }

    /// Opens `database`, creating it if needed (a PostgreSQL database only if the user
    /// may create databases), and migrates it.
    pub async fn connect(
        database: &Database,
        keys: Arc<dyn KeyService>,
    ) -> Result<Store, StoreError> {
        let backend = match database {
            Database::Sqlite(path) => {
                let (mut writing, reader) = connect(path, SqliteSynchronous::Normal).await?;
                MIGRATOR.run(&mut writing).await?;
                Backend::Sqlite {
                    writer: Writer::start(writing),
                    reader,
                }
            }
            Database::Postgres(url) => {
                create_postgres_database(url).await?;
                let pool = connect_postgres(url).await?;
                POSTGRES_MIGRATOR.run(&pool).await?;
                Backend::Postgres { pool }
            }
        };
        Ok(Store {
            backend,
            keys,
            database: database.clone(),
        })
    }

    /// Whether the database answers (a readiness probe): a `SELECT 1` on the readers,
    /// and on SQLite whether the writing task still takes writes.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite { writer, reader } => {
                if writer.is_closed() {
                    return Err(StoreError::Closed);
                }
                sqlx::query("SELECT 1").execute(reader).await?;
            }
            Backend::Postgres { pool } => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// The database this store keeps its data in.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// `sqlite` on SQLite, `postgres` on PostgreSQL: for the few statements whose
    /// dialects differ.
    fn dialect(&self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => sqlite,
            Backend::Postgres { .. } => postgres,
        }
    }

    /// The first row `sql` selects, read as `R`.
    async fn fetch_optional<R>(&self, sql: &str, args: Vec<Arg>) -> Result<Option<R>, StoreError>
    where
        R: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        Ok(match &self.backend {
            Backend::Sqlite { reader, .. } => {
                bind_all!(sqlx::query_as::<_, R>(sql), args)
                    .fetch_optional(reader)
                    .await?
            }
            Backend::Postgres { pool } => {
                bind_all!(sqlx::query_as::<_, R>(sql), args)
                    .fetch_optional(pool)
                    .await?
            }
        })
    }

    /// Every row `sql` selects, read as `R`.
    async fn fetch_all<R>(&self, sql: &str, args: Vec<Arg>) -> Result<Vec<R>, StoreError>
    where
        R: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        Ok(match &self.backend {
            Backend::Sqlite { reader, .. } => {
                bind_all!(sqlx::query_as::<_, R>(sql), args)
                    .fetch_all(reader)
                    .await?
            }
            Backend::Postgres { pool } => {
                bind_all!(sqlx::query_as::<_, R>(sql), args)
                    .fetch_all(pool)
                    .await?
            }
        })
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
        match &self.backend {
            Backend::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
            Backend::Postgres { pool } => pool.close().await,
        }
    }

    /// The one way a repository writes: what it writes is checked first
    /// (`sensitive::check_write`). `Ok(rows affected)` once it is committed.
    async fn write(&self, sql: &'static str, args: Vec<Arg>) -> Result<u64, StoreError> {
        sensitive::check_write(sql, &args)?;
        match &self.backend {
            Backend::Sqlite { writer, .. } => writer.execute(Write { sql, args }).await,
            Backend::Postgres { pool } => {
                if pool.is_closed() {
                    return Err(StoreError::Closed);
                }
                Ok(bind_all!(sqlx::query(sql), args)
                    .execute(pool)
                    .await?
                    .rows_affected())
            }
        }
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
            path: path.display().to_string(),
            source: sqlx::Error::Io(e),
        })?;
    }
    let failed = |source| StoreError::Open {
        path: path.display().to_string(),
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

/// Creates the PostgreSQL database `url` names, unless it exists (as an SQLite file is
/// created when missing). Needs the right to create databases only the first time.
async fn create_postgres_database(url: &str) -> Result<(), StoreError> {
    use sqlx::migrate::MigrateDatabase;
    let failed = |source| StoreError::Open {
        path: without_password(url),
        source,
    };
    if sqlx::Postgres::database_exists(url).await.map_err(failed)? {
        return Ok(());
    }
    match sqlx::Postgres::create_database(url).await {
        Ok(()) => Ok(()),
        // Another component, starting at the same time, made it first.
        Err(_) if sqlx::Postgres::database_exists(url).await.unwrap_or(false) => Ok(()),
        Err(e) => Err(failed(e)),
    }
}

/// A pool on the PostgreSQL database at `url`.
async fn connect_postgres(url: &str) -> Result<PgPool, StoreError> {
    let failed = |source| StoreError::Open {
        path: without_password(url),
        source,
    };
    let options = PgConnectOptions::from_str(url).map_err(failed)?;
    PoolOptions::<sqlx::Postgres>::new()
        .max_connections(8)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(failed)
}

fn context(table: &str, id: &str) -> EncryptionContext {
    EncryptionContext::new().with("table", table).record(id)
}

/// Now, in Unix milliseconds.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statements of every migration in `dir`, comments dropped, PostgreSQL's
    /// types read as SQLite's.
    fn schema(dir: &str) -> Vec<(String, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        files.sort();
        files
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let sql: Vec<&str> = text
                    .lines()
                    .map(|line| line.split("--").next().unwrap_or_default().trim())
                    .filter(|line| !line.is_empty())
                    .collect();
                let sql = sql
                    .join(" ")
                    .replace("BYTEA", "BLOB")
                    .replace("BIGINT", "INTEGER");
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                (name.unwrap_or_default(), sql)
            })
            .collect()
    }

    #[test]
    fn both_databases_get_the_same_schema() {
        assert_eq!(schema("migrations"), schema("migrations-postgres"));
    }

    #[test]
    fn database_urls_name_the_backend_and_hide_the_password() {
        let pg = Database::parse("postgres://app:s3cret@db.example:5432/threeds");
        assert_eq!(pg.describe(), "postgres://app:***@db.example:5432/threeds");
        assert!(!format!("{pg:?}").contains("s3cret"));
        assert_eq!(
            Database::parse("postgresql://db/x"),
            Database::Postgres("postgresql://db/x".into())
        );
        assert_eq!(
            Database::parse("sqlite://data/a.db"),
            Database::Sqlite("data/a.db".into())
        );
        assert_eq!(Database::parse("b.db"), Database::Sqlite("b.db".into()));
    }
}
