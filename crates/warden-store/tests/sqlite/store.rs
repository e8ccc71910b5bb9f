//! What only the SQLite backend has: database files and their directories,
//! WAL journaling, the in-memory store (no committer of its own), and rows
//! damaged on disk through SQLite's loose column types.

use std::path::Path;
use std::sync::Arc;

use tempfile::TempDir;
use warden_core::ReasonCode;
use warden_store::{BatchConfig, BatchWriter, SqliteStore, Store, StoreError, WriteBatch};

use super::{exec, fresh, raw};
use crate::conformance::data::{event, events_batch, full_correction, history, profile, ts_of};

// ---------------------------------------------------------- open & migrate

/// The database holds argon2 hashes and login history: the file and its
/// -wal and -shm are 0600 and new folders 0700 even under an umask of 0
/// (they used to follow the umask: 0644 under the usual 022), and looser
/// files found at start are tightened. Tests run one per process
/// (nextest), so setting the umask touches no other test.
#[cfg(unix)]
#[tokio::test]
async fn database_files_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // SAFETY: umask only sets the process's file creation mask.
    unsafe { libc::umask(0) };
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("fresh/warden.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.migrate().await.unwrap();
    store
        .append(&events_batch(vec![event("alice", 1)]))
        .await
        .unwrap();
    let wal = dir.path().join("fresh/warden.db-wal");
    let shm = dir.path().join("fresh/warden.db-shm");
    assert!(wal.exists() && shm.exists());
    assert_eq!(mode(&dir.path().join("fresh")), 0o700);
    for f in [&path, &wal, &shm] {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    store.close().await;

    // Files made public by hand are tightened at the next open.
    for f in [&path, &wal, &shm] {
        if f.exists() {
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o664)).unwrap();
        }
    }
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(mode(&path), 0o600);
    for f in [&wal, &shm] {
        if f.exists() {
            assert_eq!(mode(f), 0o600, "{}", f.display());
        }
    }
    let kept = store.history("alice", history(None, 10)).await.unwrap();
    assert_eq!(kept.len(), 1, "the data is intact");
    store.close().await;
}

#[tokio::test]
async fn open_creates_parent_dirs_and_file_and_migrate_is_idempotent() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("nested/deeper/warden.db");
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(path.is_file(), "database file created");
    assert_eq!(store.path(), Some(path.as_path()));

    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();

    store
        .append(&events_batch(vec![event("alice", 1)]))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let got = store.history("alice", history(None, 10)).await.unwrap();
    assert_eq!(got.len(), 1, "re-migrating keeps data");

    let mut conn = raw(&path).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn opening_a_directory_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    let err = SqliteStore::open(dir.path()).await.unwrap_err();
    assert!(matches!(err, StoreError::IsADirectory { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    assert!(msg.contains("directory"), "{msg}");
}

#[tokio::test]
async fn a_file_in_the_way_of_the_parent_directory_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let err = SqliteStore::open(blocker.join("warden.db"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&blocker.display().to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_an_open_or_migrate_error() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
    let result = match SqliteStore::open(&path).await {
        Ok(store) => store.migrate().await,
        Err(e) => Err(e),
    };
    let err = result.unwrap_err();
    assert!(
        matches!(err, StoreError::Open { .. } | StoreError::Migrate(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn in_memory_store_works() {
    let store = SqliteStore::open_memory().await.unwrap();
    store.migrate().await.unwrap();
    store
        .append(&events_batch(vec![event("alice", 5)]))
        .await
        .unwrap();
    let got = store.history("alice", history(None, 10)).await.unwrap();
    assert_eq!(ts_of(&got), [5]);
    assert_eq!(store.path(), None);
}

// ------------------------------------------------- in-memory batch writer

/// A store without a synchronous committer (in memory): the writer thread
/// runs `append` on the runtime, here a single-threaded one.
#[tokio::test]
async fn batch_writer_drives_an_async_only_store_from_its_thread() {
    let store = Arc::new(SqliteStore::open_memory().await.unwrap());
    store.migrate().await.unwrap();
    assert!(store.sync_appender().unwrap().is_none());
    let writer = BatchWriter::spawn(Arc::clone(&store), BatchConfig::default()).unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            writer
                .write(vec![event("mem", i)], vec![profile("mem", &[i as u8], i)])
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        store
            .history("mem", history(None, 100))
            .await
            .unwrap()
            .len(),
        20
    );
    assert!(store.load_profile("mem").await.unwrap().is_some());
    writer.close().await;
    assert!(writer.is_closed());
}

// --------------------------------------------------------- bounded WAL

/// A sustained stream of reports with no pause (more writers than a batch
/// holds, each writing again as soon as it is acknowledged, so the queue
/// never empties): the WAL starts over each time it reaches the restart
/// size, so its file never grows past that plus one batch. Before, the
/// background checkpoint never caught up with the commits and the WAL
/// grew by every page of every commit (here tens of MB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_a_sustained_stream_of_reports() {
    const RESTART: u64 = 1 << 20;
    const WRITERS: usize = 128;
    const PER_WRITER: usize = 120;
    const MAX_BATCH: usize = 64;
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("warden.db");
    let store = Arc::new(
        SqliteStore::open_with_wal_limit(&path, RESTART)
            .await
            .unwrap(),
    );
    store.migrate().await.unwrap();
    let writer = BatchWriter::spawn(
        Arc::clone(&store),
        BatchConfig {
            max_batch: MAX_BATCH,
            max_delay: std::time::Duration::ZERO,
        },
    )
    .unwrap();
    let mut tasks = Vec::new();
    for t in 0..WRITERS {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_WRITER {
                // Users spread over the whole index: every report touches
                // pages of its own, as many users' logins do.
                let user = format!("user{:05}@example.com", (i * WRITERS + t) * 7919 % 20_000);
                let blob = vec![(i % 251) as u8; 600];
                writer
                    .write(
                        vec![event(&user, i as i64)],
                        vec![profile(&user, &blob, i as i64)],
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stats = writer.stats();
    assert_eq!(stats.events, (WRITERS * PER_WRITER) as u64);
    // The WAL file only grows until it is cut back (to 64 MB, far above
    // this): its length now is the most it ever held.
    let wal = std::fs::metadata(dir.path().join("warden.db-wal"))
        .unwrap()
        .len();
    // One batch: at most MAX_BATCH + 1 writes of an event and a snapshot,
    // each touching a few pages of its own.
    let one_batch = (MAX_BATCH as u64 + 1) * 4 * 4096;
    assert!(
        wal <= RESTART + one_batch,
        "WAL file {wal} bytes after {} reports; bound {} (restarts: {})",
        stats.events,
        RESTART + one_batch,
        store.wal_restarts()
    );
    assert!(store.wal_restarts() > 0, "the WAL started over");
    writer.close().await;
    store.close().await;
}

/// A database of schema version 3 (snapshots written with every login)
/// upgraded to version 5: its snapshots count as having learned from every
/// event already stored, and so does the replay mark, so the first start
/// learns nothing twice, and the alerts start from the newest event.
#[tokio::test]
async fn upgrading_keeps_the_old_snapshots_complete() {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    use std::borrow::Cow;

    let dir = TempDir::new().unwrap();
    let path = dir.path().join("warden.db");
    let old: &[(i64, &str, &str)] = &[
        (
            1,
            "init",
            include_str!("../../migrations/sqlite/0001_init.sql"),
        ),
        (
            2,
            "accounts",
            include_str!("../../migrations/sqlite/0002_accounts.sql"),
        ),
        (
            3,
            "event_auth_reason",
            include_str!("../../migrations/sqlite/0003_event_auth_reason.sql"),
        ),
    ];
    let migrator = Migrator::with_migrations(
        old.iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sqlx::SqlSafeStr::into_sql_str(sql),
                    false,
                )
            })
            .collect(),
    );
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        migrator.run(&pool).await.unwrap();
        pool.close().await;
    }
    exec(
        &path,
        "INSERT INTO login_events (ts, user_name, ip, protocol, outcome, decision, risk, \
         risk_level, alert, reasons) VALUES \
         (1, 'alice', '192.0.2.1', 'imap', 'success', 'allow', 0, 'low', 0, ''), \
         (2, 'bob', '192.0.2.1', 'imap', 'success', 'allow', 0, 'low', 0, ''), \
         (3, 'alice', '192.0.2.1', 'imap', 'wrong_password', 'allow', 0, 'low', 0, ''); \
         INSERT INTO profiles (user_name, snapshot, updated_at) VALUES \
         ('alice', x'01', 1), ('bob', x'02', 2);",
    )
    .await;

    let store = SqliteStore::open(&path).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.replay_mark().await.unwrap(), 3);
    let profiles = store.load_profiles().await.unwrap();
    assert_eq!(profiles.len(), 2);
    assert!(
        profiles.iter().all(|p| p.through_event == 3),
        "{profiles:?}"
    );
    assert!(store.successes_after(3, 10).await.unwrap().is_empty());
    // The alerts mark starts at the newest event: the history from before
    // the upgrade raises no alert now.
    assert_eq!(
        warden_store::AlertStore::alerts_mark(&store).await.unwrap(),
        3
    );
    store.close().await;
}

// ------------------------------------------------------------ corrupt rows

async fn assert_corrupt_event(path: &Path, store: &SqliteStore, damage: &'static str, col: &str) {
    exec(path, damage).await;
    let err = store.history("alice", history(None, 10)).await.unwrap_err();
    match &err {
        StoreError::Corrupt {
            table, column, key, ..
        } => {
            assert_eq!(*table, "login_events");
            assert_eq!(*column, col, "{err}");
            assert_eq!(key, "1");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(err.is_corrupt());
}

#[tokio::test]
async fn corrupt_event_rows_are_typed_errors() {
    let (dir, store) = fresh().await;
    let path = dir.path().join("warden.db");
    let mut e = event("alice", 1);
    e.reasons = vec![ReasonCode::NewDevice];
    store.append(&events_batch(vec![e])).await.unwrap();

    let cases: [(&'static str, &'static str, &str); 10] = [
        (
            "UPDATE login_events SET auth_reason = 'bad_vibes'",
            "UPDATE login_events SET auth_reason = NULL",
            "auth_reason",
        ),
        (
            "UPDATE login_events SET reasons = 'new_device,bogus'",
            "UPDATE login_events SET reasons = 'new_device'",
            "reasons",
        ),
        (
            "UPDATE login_events SET protocol = 'gopher'",
            "UPDATE login_events SET protocol = 'imap'",
            "protocol",
        ),
        (
            "UPDATE login_events SET ip = 'not-an-ip'",
            "UPDATE login_events SET ip = '192.0.2.1'",
            "ip",
        ),
        (
            "UPDATE login_events SET outcome = 'maybe'",
            "UPDATE login_events SET outcome = 'success'",
            "outcome",
        ),
        (
            "UPDATE login_events SET decision = 'perhaps'",
            "UPDATE login_events SET decision = 'deny'",
            "decision",
        ),
        (
            "UPDATE login_events SET alert = 7",
            "UPDATE login_events SET alert = 1",
            "alert",
        ),
        (
            "UPDATE login_events SET asn = -1",
            "UPDATE login_events SET asn = NULL",
            "asn",
        ),
        (
            "UPDATE login_events SET country = 'CHN'",
            "UPDATE login_events SET country = NULL",
            "country",
        ),
        (
            "UPDATE login_events SET ts = 'yesterday'",
            "UPDATE login_events SET ts = 1",
            "ts",
        ),
    ];
    for (damage, repair, column) in cases {
        assert_corrupt_event(&path, &store, damage, column).await;
        exec(&path, repair).await;
        store.history("alice", history(None, 10)).await.unwrap();
    }
}

#[tokio::test]
async fn corrupt_correction_and_profile_rows_are_typed_errors() {
    let (dir, store) = fresh().await;
    let path = dir.path().join("warden.db");
    store
        .upsert_correction(&full_correction("10.0.0.0/8"))
        .await
        .unwrap();

    exec(&path, "UPDATE geo_corrections SET lon = NULL").await;
    let err = store.list_corrections().await.unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Corrupt {
                table: "geo_corrections",
                column: "lon",
                ..
            }
        ),
        "{err:?}"
    );
    exec(
        &path,
        "UPDATE geo_corrections SET lon = 1.0, network = '10.0.0.0/99'",
    )
    .await;
    let err = store.list_corrections().await.unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Corrupt {
                column: "network",
                ..
            }
        ),
        "{err:?}"
    );
    exec(
        &path,
        "UPDATE geo_corrections SET network = '10.0.0.0/8', accuracy_km = 70000",
    )
    .await;
    let err = store.list_corrections().await.unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Corrupt {
                column: "accuracy_km",
                ..
            }
        ),
        "{err:?}"
    );

    store
        .append(&WriteBatch {
            events: Vec::new(),
            profiles: vec![profile("alice", b"x", 1)],
            ..Default::default()
        })
        .await
        .unwrap();
    exec(&path, "UPDATE profiles SET updated_at = 'soon'").await;
    let err = store.load_profiles().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { table: "profiles", column: "updated_at", key, .. } if key == "alice"),
        "{err:?}"
    );
    assert!(store.load_profile("alice").await.unwrap_err().is_corrupt());
}
