//! The SQLite backend under test: its [`Fixture`] (a temporary directory
//! per test, a database file per `fresh`), the conformance suite run
//! against it, and the tests of what only SQLite has.

mod accounts;
mod store;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::Connection;
use tempfile::TempDir;
use warden_store::{SqliteStore, Store, StoreError};

use crate::conformance::Fixture;

/// Every conformance case, on SQLite files.
mod conformance {
    crate::conformance::conformance_tests!(super::SqliteFixture::new());
}

/// Database files in a temporary directory of the test's own, removed with
/// the fixture.
pub struct SqliteFixture {
    dir: TempDir,
    files: AtomicUsize,
}

impl SqliteFixture {
    pub fn new() -> Self {
        SqliteFixture {
            dir: TempDir::new().unwrap(),
            files: AtomicUsize::new(0),
        }
    }
}

/// The file of a store the fixture opened.
fn file_of(store: &SqliteStore) -> &Path {
    store.path().expect("the fixture opens files")
}

impl Fixture for SqliteFixture {
    type B = SqliteStore;

    const SYNC_APPENDER: bool = true;

    async fn fresh(&self) -> SqliteStore {
        let n = self.files.fetch_add(1, Ordering::Relaxed);
        let store = SqliteStore::open(self.dir.path().join(format!("warden-{n}.db")))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }

    async fn reopen(&self, store: &SqliteStore) -> SqliteStore {
        SqliteStore::open(file_of(store)).await.unwrap()
    }

    async fn close(&self, store: &SqliteStore) {
        store.close().await;
    }

    async fn exec(&self, store: &SqliteStore, sql: &str) {
        exec(file_of(store), sql).await;
    }

    async fn refuse_inserts(&self, store: &SqliteStore, table: &str) {
        let sql = format!(
            "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} \
             BEGIN SELECT RAISE(ABORT, 'refused'); END"
        );
        exec(file_of(store), &sql).await;
    }

    async fn allow_inserts(&self, store: &SqliteStore, table: &str) {
        exec(file_of(store), &format!("DROP TRIGGER refuse_{table}")).await;
    }

    fn is_append_failure(&self, cause: &StoreError) -> bool {
        // The group-commit thread commits through the rusqlite appender.
        matches!(cause, StoreError::Sqlite { op: "append", .. })
    }
}

// ---------------------------------------------------------------- helpers

/// A migrated store on a file in a new temporary directory.
async fn fresh() -> (TempDir, SqliteStore) {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(db(&dir)).await.unwrap();
    store.migrate().await.unwrap();
    (dir, store)
}

/// The database file [`fresh`] opens in `dir`.
fn db(dir: &TempDir) -> std::path::PathBuf {
    dir.path().join("warden.db")
}

/// A raw connection to the same file, to inspect or damage it behind the
/// store's back.
async fn raw(path: &Path) -> SqliteConnection {
    SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path))
        .await
        .unwrap()
}

/// Runs `sql` on a raw connection to the file, behind the store's back.
async fn exec(path: &Path, sql: &str) {
    let mut conn = raw(path).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}
