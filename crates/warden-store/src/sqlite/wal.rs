//! Keeping the WAL file bounded while the group-commit thread writes.
//!
//! SQLite starts the WAL over (writes new frames from its beginning) only
//! when a write transaction begins while every frame is already in the
//! database file. A checkpoint running beside a writer that commits every
//! millisecond never gets there: by the time it has copied and synced what
//! it saw, new frames are behind it. So under steady load the WAL grew
//! without end (about 95 MB a second at 10,000 reports a second).
//!
//! Two parties share the work here:
//!
//! - the **checkpoint thread** copies frames into the database file every
//!   [`CHECKPOINT_EVERY`] (`PASSIVE`: it never blocks the writer), so most
//!   of the copying and syncing happens beside the commits;
//! - the **group-commit thread** ([`super::appender`]) learns the WAL's
//!   length after each commit (SQLite's WAL hook). Once it reaches the
//!   restart size, it runs one more `PASSIVE` pass itself before its next
//!   commit. Nothing commits meanwhile, so that pass finishes with every
//!   frame copied, and the next commit starts the WAL over (and
//!   `journal_size_limit` cuts the file back).
//!
//! The two passes never overlap ([`WalControl::pass`]): the commit thread
//! waits for a background pass in progress, then copies only what came
//! after it. The WAL therefore holds at most the restart size plus one
//! batch, whatever the load; a reader still reading an old snapshot can
//! delay the restart to a later commit (it keeps frames that cannot be
//! copied yet), never stop it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::BUSY_TIMEOUT;
use crate::error::StoreError;

/// How often the checkpoint thread copies the WAL into the database file.
/// Small, frequent checkpoints keep each fsync short; under 10k commits/s
/// of load, 100 ms gave a report p99 of 18 ms against 22-51 ms at 500 ms
/// and 28 ms at 2 s (open-loop, see bench/).
pub(crate) const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// The WAL length (bytes of frames) at which the group-commit thread makes
/// the WAL start over, unless configured otherwise.
pub const DEFAULT_WAL_RESTART_BYTES: u64 = 64 << 20;

/// What the checkpoint thread and the group-commit thread share.
#[derive(Debug)]
pub(crate) struct WalControl {
    /// Held for every checkpoint pass, so two never overlap.
    pass: Mutex<()>,
    /// WAL frames at which the commit thread checkpoints before committing.
    pub(crate) restart_frames: AtomicU64,
    restart_bytes: u64,
    /// Times the commit thread completed a checkpoint (the WAL then starts
    /// over at the next commit).
    pub(crate) restarts: AtomicU64,
}

impl WalControl {
    pub(crate) fn new(restart_bytes: u64) -> Self {
        WalControl {
            pass: Mutex::new(()),
            // Until the page size is known (the commit thread sets it).
            restart_frames: AtomicU64::new(restart_bytes.div_ceil(4096).max(1)),
            restart_bytes,
            restarts: AtomicU64::new(0),
        }
    }

    /// Sets the frame limit from the database's page size.
    pub(crate) fn set_page_size(&self, page_size: u64) {
        let frames = self.restart_bytes.div_ceil(page_size.max(512)).max(1);
        self.restart_frames.store(frames, Ordering::Relaxed);
    }

    /// One `PASSIVE` checkpoint on `conn`, not overlapping any other pass.
    /// Returns the WAL's frames and how many of them are in the database.
    pub(crate) fn checkpoint(&self, conn: &Connection) -> rusqlite::Result<(i64, i64)> {
        let _pass = self.pass.lock().unwrap_or_else(|e| e.into_inner());
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get(1)?, row.get(2)?))
        })
    }
}

/// The background checkpoint thread; it stops when [`Checkpointer::stop`]
/// is called or the last handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Checkpointer {
    stop: flume::Sender<()>,
    done: flume::Receiver<()>,
}

impl Checkpointer {
    /// Opens a connection of its own to `path` and starts the thread.
    pub(crate) fn spawn(path: &Path, control: Arc<WalControl>) -> Result<Self, StoreError> {
        let conn = open(path).map_err(|source| StoreError::Sqlite {
            op: "open checkpointer",
            source,
        })?;
        let (stop, stopped) = flume::bounded::<()>(1);
        let (finished, done) = flume::bounded::<()>(0);
        let path: PathBuf = path.to_path_buf();
        std::thread::Builder::new()
            .name("warden-checkpoint".into())
            .spawn(move || {
                // Dropped when the thread ends: `wait` then returns.
                let _finished = finished;
                // Ends when asked to stop, or once every store handle is gone.
                while let Err(flume::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    if let Err(error) = control.checkpoint(&conn) {
                        tracing::warn!(%error, path = %path.display(), "WAL checkpoint failed; will retry");
                    }
                }
            })
            .map_err(StoreError::WriterThread)?;
        Ok(Checkpointer { stop, done })
    }

    /// Stops the thread and waits until it has ended (a pass in progress
    /// finishes first).
    pub(crate) async fn stop(&self) {
        let _ = self.stop.try_send(());
        // Fails (disconnected) once the thread has ended.
        let _ = self.done.recv_async().await;
    }
}

/// A connection for checkpoints: the same settings as the others, and it
/// never checkpoints by itself.
pub(crate) fn open(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
    Ok(conn)
}
