//! Group commit: every write goes to one task that owns the database's only writing
//! connection. It takes whatever writes are queued (up to `MAX_BATCH`), runs them in one
//! transaction and answers each caller after the commit — so a caller's `Ok` means its
//! write is committed, and concurrent writers share one commit instead of queueing for
//! one each.
//!
//! A statement that fails (a constraint, say) fails alone: SQLite undoes that statement,
//! not the transaction. A commit that fails fails every write of the batch.

use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;

/// Most writes committed together.
const MAX_BATCH: usize = 256;
/// Writes waiting beyond this make callers wait (back-pressure, not memory growth).
const QUEUE: usize = 4096;

/// A value bound to a statement parameter.
#[derive(Debug)]
pub(crate) enum Arg {
    Text(String),
    MaybeText(Option<String>),
    Blob(Vec<u8>),
    Int(i64),
    MaybeInt(Option<i64>),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg::Text(s.to_owned())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Text(s)
    }
}

impl From<Option<&str>> for Arg {
    fn from(s: Option<&str>) -> Arg {
        Arg::MaybeText(s.map(str::to_owned))
    }
}

impl From<Option<String>> for Arg {
    fn from(s: Option<String>) -> Arg {
        Arg::MaybeText(s)
    }
}

impl From<Vec<u8>> for Arg {
    fn from(b: Vec<u8>) -> Arg {
        Arg::Blob(b)
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Arg {
        Arg::Text(s.clone())
    }
}

impl From<&Option<String>> for Arg {
    fn from(s: &Option<String>) -> Arg {
        Arg::MaybeText(s.clone())
    }
}

impl From<&Vec<u8>> for Arg {
    fn from(b: &Vec<u8>) -> Arg {
        Arg::Blob(b.clone())
    }
}

impl From<i64> for Arg {
    fn from(i: i64) -> Arg {
        Arg::Int(i)
    }
}

impl From<Option<i64>> for Arg {
    fn from(i: Option<i64>) -> Arg {
        Arg::MaybeInt(i)
    }
}

/// One write: SQL with `?` parameters and their values.
#[derive(Debug)]
pub(crate) struct Write {
    pub sql: &'static str,
    pub args: Vec<Arg>,
}

enum Job {
    Write(Write, oneshot::Sender<Result<u64, StoreError>>),
    /// Several writes committed together; the first failure fails them all.
    Writes(Vec<Write>, oneshot::Sender<Result<u64, StoreError>>),
    Close(oneshot::Sender<()>),
}

/// The handle callers write through.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Write(w, _) => write!(f, "Write({})", w.sql),
            Job::Writes(w, _) => write!(f, "Writes({})", w.len()),
            Job::Close(_) => f.write_str("Close"),
        }
    }
}

impl Writer {
    /// The writing task has ended: nothing written now would be committed.
    pub(crate) fn is_closed(&self) -> bool {
        self.jobs.is_closed()
    }

    pub(crate) fn start(connection: SqliteConnection) -> Writer {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(connection, queue));
        Writer { jobs }
    }

    /// Runs `write`; `Ok(rows affected)` once it is committed.
    pub(crate) async fn execute(&self, write: Write) -> Result<u64, StoreError> {
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Job::Write(write, done))
            .await
            .map_err(|_| StoreError::Closed)?;
        result.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs every write of `writes` in the same commit; `Ok(rows affected)` once it is
    /// committed.
    pub(crate) async fn execute_all(&self, writes: Vec<Write>) -> Result<u64, StoreError> {
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Job::Writes(writes, done))
            .await
            .map_err(|_| StoreError::Closed)?;
        result.await.map_err(|_| StoreError::Closed)?
    }

    /// Commits what is queued and closes the connection (checkpointing the WAL).
    pub(crate) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.jobs.send(Job::Close(done)).await.is_ok() {
            let _ = closed.await;
        }
    }
}

async fn run(mut connection: SqliteConnection, mut queue: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut results = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let mut close = None;
        let mut waiting = Vec::with_capacity(jobs.len());
        let began = connection.execute("BEGIN IMMEDIATE").await;
        for job in jobs.drain(..) {
            match job {
                Job::Write(write, done) => {
                    let result = match &began {
                        Ok(_) => apply(&mut connection, write).await,
                        Err(e) => Err(StoreError::Commit(e.to_string())),
                    };
                    results.push(result);
                    waiting.push(done);
                }
                Job::Writes(writes, done) => {
                    let mut total = Ok(0);
                    for write in writes {
                        let result = match &began {
                            Ok(_) => apply(&mut connection, write).await,
                            Err(e) => Err(StoreError::Commit(e.to_string())),
                        };
                        match (result, &mut total) {
                            (Ok(rows), Ok(sum)) => *sum += rows,
                            (Err(e), Ok(_)) => total = Err(e),
                            (_, Err(_)) => {}
                        }
                    }
                    results.push(total);
                    waiting.push(done);
                }
                Job::Close(done) => close = Some(done),
            }
        }
        if began.is_ok()
            && let Err(e) = connection.execute("COMMIT").await
        {
            let _ = connection.execute("ROLLBACK").await;
            let why = e.to_string();
            for result in &mut results {
                *result = Err(StoreError::Commit(why.clone()));
            }
        }
        for (done, result) in waiting.into_iter().zip(results.drain(..)) {
            let _ = done.send(result);
        }
        if let Some(done) = close {
            let _ = connection.close().await;
            let _ = done.send(());
            return;
        }
    }
}

async fn apply(connection: &mut SqliteConnection, write: Write) -> Result<u64, StoreError> {
    Ok(bind_all!(sqlx::query(write.sql), write.args)
        .execute(&mut *connection)
        .await?
        .rows_affected())
}
