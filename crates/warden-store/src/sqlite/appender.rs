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
//! foreign keys, busy timeout) and never checkpoints by itself: once the WAL
//! has reached its restart size it runs one checkpoint pass between two
//! commits, so that the next commit starts the WAL over (see `wal`).

use std::cell::Cell;
use std::os::raw::c_int;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rusqlite::types::{ToSql, ToSqlOutput, Value};
use rusqlite::{params, params_from_iter, Connection, OpenFlags};

use super::wal::WalControl;
use super::{BUSY_TIMEOUT, CACHE_SIZE, WAL_SIZE_LIMIT};
use crate::codec::{event_values, SqlValue};
use crate::error::StoreError;
use crate::model::{through_at, MarkStep, WriteBatch};
use crate::sql::{self, Placeholders};
use crate::store::SyncAppend;

thread_local! {
    /// The WAL's length in frames after the last commit on this thread, as
    /// SQLite's WAL hook reported it (the hook takes no context: a plain
    /// function on the committing thread).
    static WAL_FRAMES: Cell<u64> = const { Cell::new(0) };
}

fn wal_hook(_: &rusqlite::hooks::Wal, frames: c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.with(|f| f.set(u64::try_from(frames).unwrap_or(0)));
    Ok(())
}

/// A blocking [`SyncAppend`] on its own connection.
pub(crate) struct SqliteAppender {
    conn: Connection,
    wal: Arc<WalControl>,
}

fn error(op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite { op, source }
}

impl SqliteAppender {
    /// Opens the existing database file at `path` for appending.
    pub(crate) fn open(path: &Path, wal: Arc<WalControl>) -> Result<Self, StoreError> {
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
        // After the pragmas: `wal_autocheckpoint` replaces the WAL hook.
        conn.wal_hook(Some(wal_hook));
        let page_size: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(error("open appender"))?;
        wal.set_page_size(u64::try_from(page_size).unwrap_or(4096));
        Ok(SqliteAppender { conn, wal })
    }

    /// Once the WAL has reached its restart size, copies what is left of it
    /// into the database file (after any background pass in progress), so
    /// that the next commit starts it over. Nothing commits meanwhile: the
    /// callers of the next batch wait for this pass.
    fn restart_wal_when_due(&mut self) {
        // The hook runs on this thread, during the commit just made.
        let frames = WAL_FRAMES.with(Cell::get);
        if frames < self.wal.restart_frames.load(Ordering::Relaxed) {
            return;
        }
        match self.wal.checkpoint(&self.conn) {
            Ok((log, done)) if log == done => {
                self.wal.restarts.fetch_add(1, Ordering::Relaxed);
                // Until the next commit reports the WAL's new length.
                WAL_FRAMES.with(|f| f.set(0));
            }
            // A reader still reads frames that cannot be copied yet: the
            // pass after the next commit tries again.
            Ok((log, done)) => tracing::debug!(log, done, "WAL restart delayed by a reader"),
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint before restart failed"),
        }
    }

    fn write(&mut self, batch: &WriteBatch) -> rusqlite::Result<()> {
        self.conn.execute_batch(sql::BEGIN_IMMEDIATE)?;
        // The id of the last event written before each cut: what the
        // snapshots and mark steps there have learned from.
        let cuts = batch.cuts();
        let mut through = Vec::with_capacity(cuts.len());
        {
            let conn = &self.conn;
            let mut insert =
                conn.prepare_cached(sql::insert_events(Placeholders::Positional, 1))?;
            let mut last: Option<i64> = None;
            let current = |last: Option<i64>| match last {
                Some(id) => Ok(id),
                None => conn
                    .prepare_cached(sql::LAST_EVENT_ID)?
                    .query_row([], |r| r.get::<_, i64>(0)),
            };
            let mut cuts = cuts.iter().copied().peekable();
            for (i, e) in batch.events.iter().enumerate() {
                while let Some(cut) = cuts.next_if(|&c| c <= i) {
                    through.push((cut, current(last)?));
                }
                insert.execute(params_from_iter(event_values(e)))?;
                last = Some(conn.last_insert_rowid());
            }
            for cut in cuts {
                through.push((cut, current(last)?));
            }
        }
        for &(at, step) in &batch.marks {
            let id = through_at(&through, at);
            match step {
                MarkStep::Begin => self.conn.prepare_cached(sql::MARK_BEGIN)?.execute([id])?,
                MarkStep::End => self.conn.prepare_cached(sql::MARK_END)?.execute([])?,
            };
        }
        {
            let mut upsert = self
                .conn
                .prepare_cached(sql::upsert_profiles(Placeholders::Positional, 1))?;
            for (i, p) in batch.last_profiles_indexed() {
                let id = through_at(&through, batch.events_before_profile(i));
                upsert.execute(params![p.user, p.blob, p.updated_at.secs(), id])?;
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
        if result.is_ok() {
            self.restart_wal_when_due();
        }
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
