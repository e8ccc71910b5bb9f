//! The one error type of the store: every failure is typed, names what it was
//! doing, and never hides a corrupt row behind a panic.

use std::path::PathBuf;
use std::sync::Arc;

/// A boxed parse or decode error kept as the source of [`StoreError::Corrupt`].
pub type CorruptionSource = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong while storing or loading.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory meant to hold the database file could not be created.
    #[error("cannot create directory {} for the database: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The database path names a directory, not a file.
    #[error("database path {} is a directory; expected a file path", path.display())]
    IsADirectory { path: PathBuf },

    /// The database file could not be created or opened (permissions, not a
    /// database, read-only location, ...).
    #[error("cannot open database {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },

    /// Applying the schema migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// A statement failed; `op` names the store operation.
    #[error("database error during {op}: {source}")]
    Query {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// A statement on the group-commit thread's own SQLite connection
    /// failed; `op` names the store operation.
    #[error("database error during {op}: {source}")]
    Sqlite {
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// A stored row cannot be turned back into a value: an unknown enum name,
    /// an unparsable address, a number out of range, a wrong column type.
    #[error("corrupt data in {table} row {key}, column {column}: {source}")]
    Corrupt {
        table: &'static str,
        /// The row's key (event id, user name, network) as text.
        key: String,
        column: &'static str,
        #[source]
        source: CorruptionSource,
    },

    /// The row to create exists already (`what` names it: "account alice").
    #[error("{what} already exists")]
    Conflict { what: String },

    /// The row to change does not exist (`what` names it).
    #[error("{what} does not exist")]
    NotFound { what: String },

    /// The batch writer has shut down (or its task died); the write was not
    /// accepted.
    #[error("the batch writer is closed; the write was not accepted")]
    WriterClosed,

    /// The group-commit thread could not be started.
    #[error("cannot start the batch writer thread: {0}")]
    WriterThread(#[source] std::io::Error),

    /// The writer's queue is full (storage cannot keep up); nothing of the
    /// write was accepted.
    #[error("the batch writer's queue is full; the write was not accepted")]
    QueueFull,

    /// The group commit this write was part of failed: nothing in it was
    /// stored. Every caller of that batch receives the same cause.
    #[error("group commit of {rows} rows failed: {source}")]
    BatchFailed {
        rows: usize,
        #[source]
        source: Arc<StoreError>,
    },
}

impl StoreError {
    /// Wraps a driver error with the name of the operation that hit it.
    pub(crate) fn query(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| StoreError::Query { op, source }
    }

    /// True when the error is about stored data that cannot be decoded.
    pub fn is_corrupt(&self) -> bool {
        matches!(self, StoreError::Corrupt { .. })
    }
}
