//! The SQLite backend: one file in WAL mode, a single writer connection for
//! account changes, migrations and pruning, the group-commit thread's own
//! connection for events and profiles (`appender`), and a small pool of
//! readers.

mod accounts;
mod appender;
mod rows;
mod schema;
mod store;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::StoreError;
use crate::private;

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
/// The size the WAL file is cut back to when it starts over (bytes). Under
/// steady heavy load the WAL grows past it (the background checkpoint
/// cannot finish while the writer commits, see `CHECKPOINT_EVERY`); once
/// the load pauses and a checkpoint completes, the next commit starts the
/// WAL over and truncates the file to this.
const WAL_SIZE_LIMIT: &str = "67108864";
/// How long a caller waits for a free pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// Checkpoint statements: PASSIVE never blocks the writer; TRUNCATE (at
/// close) folds everything in and empties the WAL file.
const PASSIVE: &str = "PRAGMA wal_checkpoint(PASSIVE)";
const TRUNCATE: &str = "PRAGMA wal_checkpoint(TRUNCATE)";
/// How often the background task moves the WAL into the database file.
/// Small, frequent checkpoints keep each fsync short; under 10k commits/s
/// of load, 100 ms gave a report p99 of 18 ms against 22-51 ms at 500 ms
/// and 28 ms at 2 s (open-loop, see bench/).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

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
}

impl SqliteStore {
    /// Opens (creating when missing, parent directories included) the
    /// database file at `path`, with WAL journaling, `synchronous = NORMAL`,
    /// a busy timeout and foreign keys on. Does not migrate: call
    /// [`Store::migrate`](crate::Store::migrate).
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
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
        // A background task checkpoints from a reader connection instead.
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
        spawn_checkpointer(reader.clone());
        Ok(SqliteStore {
            writer,
            reader,
            path: Some(path),
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
        })
    }

    /// The database file, `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Closes every connection (waiting for those in use to come back) and
    /// checkpoints the WAL. Later calls on this store fail.
    pub async fn close(&self) {
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

/// Checkpoints every [`CHECKPOINT_EVERY`] until the pool is closed. Runs on
/// the current Tokio runtime and ends with it.
fn spawn_checkpointer(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            if let Err(e) = checkpoint(&pool, PASSIVE).await {
                if pool.is_closed() {
                    break;
                }
                tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
            }
        }
    });
}
