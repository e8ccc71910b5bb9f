//! The group-commit thread's own connection to the SQLite file.
//!
//! Events and profile snapshots are committed synchronously on the writer
//! thread with cached prepared statements: no hop to an async driver's
//! worker thread and back per batch. Under a load generator sharing two
//! cores, each such hop waits for a CPU; removing two per commit is what
//! keeps the report path's latency flat (see `bench/http-open-loop.sh`).
//!
//! The statements are the portable ones of `crate::sql`; the connection
//! uses the same settings as the async pools (WAL, `synchronous = NORMAL`,
//! foreign keys, busy timeout) and never checkpoints itself.

use std::path::Path;

use rusqlite::types::{ToSql, ToSqlOutput, Value};
use rusqlite::{params, params_from_iter, Connection, OpenFlags};

use super::{BUSY_TIMEOUT, CACHE_SIZE, WAL_SIZE_LIMIT};
use crate::codec::{event_values, SqlValue};
use crate::error::StoreError;
use crate::model::WriteBatch;
use crate::sql::{self, Placeholders};
use crate::store::SyncAppend;

/// A blocking [`SyncAppend`] on its own connection.
pub(crate) struct SqliteAppender {
    conn: Connection,
}

fn error(op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite { op, source }
}

impl SqliteAppender {
    /// Opens the existing database file at `path` for appending.
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(error("open appender"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(error("open appender"))?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA cache_size = {CACHE_SIZE}; PRAGMA wal_autocheckpoint = 0; \
             PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};"
        ))
        .map_err(error("open appender"))?;
        Ok(SqliteAppender { conn })
    }

    fn write(&mut self, batch: &WriteBatch) -> rusqlite::Result<()> {
        self.conn.execute_batch(sql::BEGIN_IMMEDIATE)?;
        {
            let mut insert = self
                .conn
                .prepare_cached(sql::insert_events(Placeholders::Positional, 1))?;
            for e in &batch.events {
                insert.execute(params_from_iter(event_values(e)))?;
            }
        }
        {
            let mut upsert = self
                .conn
                .prepare_cached(sql::upsert_profiles(Placeholders::Positional, 1))?;
            for p in batch.last_profiles() {
                upsert.execute(params![p.user, p.blob, p.updated_at.secs()])?;
            }
        }
        self.conn.execute_batch(sql::COMMIT)
    }
}

impl SyncAppend for SqliteAppender {
    fn append(&mut self, batch: &WriteBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let result = self.write(batch);
        if result.is_err() && !self.conn.is_autocommit() {
            // A statement failed inside the transaction: undo all of it.
            if let Err(rollback) = self.conn.execute_batch(sql::ROLLBACK) {
                tracing::warn!(%rollback, "rollback after a failed append failed");
            }
        }
        result.map_err(error("append"))
    }
}

impl ToSql for SqlValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            SqlValue::Int(v) => v.map_or(ToSqlOutput::Owned(Value::Null), |v| v.into()),
            SqlValue::Real(v) => (*v).into(),
            SqlValue::Bool(v) => (*v).into(),
            SqlValue::Text(Some(v)) => ToSqlOutput::from(v.as_ref()),
            SqlValue::Text(None) => ToSqlOutput::Owned(Value::Null),
        })
    }
}
