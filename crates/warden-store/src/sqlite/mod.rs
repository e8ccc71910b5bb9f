//! The SQLite backend: one file in WAL mode, a single writer connection for
//! account changes, migrations and pruning, the group-commit thread's own
//! connection for events and profiles (`appender`), a small pool of
//! readers, and a checkpoint thread that with the group-commit thread keeps
//! the WAL bounded (`wal`).

mod accounts;
mod alerts;
mod answers;
mod appender;
mod audit;
mod incidents;
mod notify;
mod operations;
mod policies;
mod reports;
mod rows;
mod schema;
mod sessions;
mod store;
mod wal;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::StoreError;
use crate::private;
use wal::{Checkpointer, WalControl};

pub use wal::DEFAULT_WAL_RESTART_BYTES;

/// How many connections serve reads.
const READERS: u32 = 4;
/// How long a statement waits for a lock held by another connection or
/// process before failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Page cache per connection, in KiB when negative (SQLite's default is
/// 2 MiB). Logins of many users touch pages all over the `(user, ts)` index;
/// keeping them cached roughly halves commit time once the table is large.
/// The cache only grows as far as it is used.
const CACHE_SIZE: &str = "-65536";
/// The size the WAL file is cut back to when it starts over (bytes): the
/// group-commit thread starts it over once it holds
/// [`DEFAULT_WAL_RESTART_BYTES`] (see `wal`), and at a pause in the load.
const WAL_SIZE_LIMIT: &str = "67108864";
/// How long a caller waits for a free pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// Checkpoint statements: PASSIVE never blocks the writer; TRUNCATE (at
/// close) folds everything in and empties the WAL file.
const PASSIVE: &str = "PRAGMA wal_checkpoint(PASSIVE)";
const TRUNCATE: &str = "PRAGMA wal_checkpoint(TRUNCATE)";

/// A [`Store`](crate::Store) on one SQLite database file.
///
/// Cloning is cheap and shares the pools.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// One connection for account changes, migrations, corrections and
    /// pruning. Events and profiles go through the group-commit thread's
    /// own connection (`appender`); the two meet at SQLite's write lock,
    /// which the busy timeout waits for (account writes are rare and short).
    writer: SqlitePool,
    /// Readers; WAL lets them run while the writer commits.
    reader: SqlitePool,
    /// The database file, `None` in memory.
    path: Option<PathBuf>,
    /// What the checkpoint thread and the group-commit thread share.
    wal: Arc<WalControl>,
    /// The checkpoint thread, `None` in memory.
    checkpointer: Option<Checkpointer>,
}

impl SqliteStore {
    /// Opens (creating when missing, parent directories included) the
    /// database file at `path`, with WAL journaling, `synchronous = NORMAL`,
    /// a busy timeout and foreign keys on. Does not migrate: call
    /// [`Store::migrate`](crate::Store::migrate). The group-commit thread
    /// starts the WAL over once it holds [`DEFAULT_WAL_RESTART_BYTES`].
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with_wal_limit(path, DEFAULT_WAL_RESTART_BYTES).await
    }

    /// [`SqliteStore::open`], with the WAL started over once it holds
    /// `wal_restart_bytes` of frames (at least one page).
    pub async fn open_with_wal_limit(
        path: impl AsRef<Path>,
        wal_restart_bytes: u64,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if path.is_dir() {
            return Err(StoreError::IsADirectory { path });
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            private::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        // The file holds password hashes and login history: private (0600)
        // whatever the umask, and SQLite gives its -wal and -shm the
        // database's mode.
        private::prepare(&path).map_err(|source| StoreError::Open {
            path: path.clone(),
            source: sqlx::Error::Io(source),
        })?;

        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("cache_size", CACHE_SIZE)
            .pragma("journal_size_limit", WAL_SIZE_LIMIT);
        let open_error = |source| StoreError::Open {
            path: path.clone(),
            source,
        };

        // The writer connects first: it creates the file and switches it to
        // WAL before any reader looks at it. It never checkpoints itself: an
        // automatic checkpoint runs inside a commit and holds up every caller
        // waiting for that batch (tens of milliseconds once the file is big).
        // A thread of its own checkpoints instead (see `wal`).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await
            .map_err(open_error)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.create_if_missing(false))
            .await
            .map_err(open_error)?;
        let wal = Arc::new(WalControl::new(wal_restart_bytes));
        let checkpointer = Checkpointer::spawn(&path, Arc::clone(&wal))?;
        Ok(SqliteStore {
            writer,
            reader,
            path: Some(path),
            wal,
            checkpointer: Some(checkpointer),
        })
    }

    /// Copies what the WAL holds into the database file without blocking
    /// the writer (`PASSIVE`); returns the WAL frames and how many of them
    /// are now in the database.
    pub async fn checkpoint(&self) -> Result<(i64, i64), StoreError> {
        checkpoint(&self.reader, PASSIVE).await
    }

    /// A private in-memory database on a single connection, for tests of
    /// the layers above. Its content disappears with the store.
    pub async fn open_memory() -> Result<Self, StoreError> {
        let open_error = |source| StoreError::Open {
            path: PathBuf::from(":memory:"),
            source,
        };
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(open_error)?
            .journal_mode(SqliteJournalMode::Memory)
            .foreign_keys(true);
        // One connection that is never recycled: the database lives as long
        // as that connection does.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        Ok(SqliteStore {
            writer: pool.clone(),
            reader: pool,
            path: None,
            wal: Arc::new(WalControl::new(DEFAULT_WAL_RESTART_BYTES)),
            checkpointer: None,
        })
    }

    /// How many times the group-commit thread has completed a checkpoint to
    /// start the WAL over (see `wal`).
    pub fn wal_restarts(&self) -> u64 {
        self.wal.restarts.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The database file, `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Closes every connection (waiting for those in use to come back) and
    /// checkpoints the WAL. Later calls on this store fail.
    pub async fn close(&self) {
        if let Some(c) = &self.checkpointer {
            c.stop().await;
        }
        if self.path.is_some() {
            // Leave a small file behind: fold the whole WAL in and truncate it.
            let _ = checkpoint(&self.reader, TRUNCATE).await;
        }
        self.reader.close().await;
        self.writer.close().await;
    }
}

async fn checkpoint(pool: &SqlitePool, sql: &'static str) -> Result<(i64, i64), StoreError> {
    let row: (i64, i64, i64) = sqlx::query_as(sql)
        .fetch_one(pool)
        .await
        .map_err(StoreError::query("checkpoint"))?;
    Ok((row.1, row.2))
}
