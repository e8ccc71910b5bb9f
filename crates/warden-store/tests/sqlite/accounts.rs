//! What only the SQLite backend has for accounts: rows damaged on disk
//! through SQLite's loose column types, and its migrations table.

use sqlx::Connection;
use tempfile::TempDir;
use warden_core::{Org, Timestamp, TwoFactorPolicy};
use warden_store::{AccountStore, SqliteStore, Store, StoreError};

use super::{db, exec, fresh, raw};
use crate::conformance::data::{account, alice_with_credentials, T0};

// ---------------------------------------------------------- corrupt rows

/// Damages the file with `damage`, expects `read` to fail as corrupt in
/// `table`/`column` of row `key`, then repairs it with `repair`.
macro_rules! assert_corrupt {
    ($path:expr, $damage:expr, $repair:expr, $read:expr, $table:expr, $column:expr, $key:expr) => {{
        exec($path, $damage).await;
        let err = $read.await.unwrap_err();
        match &err {
            StoreError::Corrupt {
                table, column, key, ..
            } => {
                let expected: (&str, &str, &str) = ($table, $column, $key);
                assert_eq!((*table, *column, key.as_str()), expected, "{err}");
            }
            other => panic!("{}: expected Corrupt, got {other:?}", $damage),
        }
        exec($path, $repair).await;
        $read.await.unwrap();
    }};
}

#[tokio::test]
async fn corrupt_account_rows_are_typed_errors() {
    let (dir, store) = fresh().await;
    let path = db(&dir);
    store
        .upsert_org(&Org {
            name: "example".into(),
            display_name: "Example".into(),
            two_factor: TwoFactorPolicy::Optional,
            app_passwords_required: false,
            created_at: Timestamp(T0),
            updated_at: Timestamp(T0),
        })
        .await
        .unwrap();
    alice_with_credentials(&store).await;
    let code_id = store.app_passwords("alice").await.unwrap()[0]
        .id
        .to_string();
    let event_id = store.security_events("alice", 1).await.unwrap()[0]
        .id
        .to_string();
    let p = path.as_path();

    assert_corrupt!(
        p,
        "UPDATE orgs SET two_factor = 'sometimes'",
        "UPDATE orgs SET two_factor = 'admins'",
        store.orgs(),
        "orgs",
        "two_factor",
        "example"
    );
    assert_corrupt!(
        p,
        "UPDATE orgs SET app_passwords_required = 2",
        "UPDATE orgs SET app_passwords_required = 1",
        store.org("example"),
        "orgs",
        "app_passwords_required",
        "example"
    );

    assert_corrupt!(
        p,
        "UPDATE accounts SET status = 'gone'",
        "UPDATE accounts SET status = 'active'",
        store.account("alice"),
        "accounts",
        "status",
        "alice"
    );
    assert_corrupt!(
        p,
        "UPDATE accounts SET role = 'Admin'",
        "UPDATE accounts SET role = 'admin'",
        store.account("alice"),
        "accounts",
        "role",
        "alice"
    );
    assert_corrupt!(
        p,
        "UPDATE accounts SET must_change_password = 7",
        "UPDATE accounts SET must_change_password = 0",
        store.accounts(None, None, 10),
        "accounts",
        "must_change_password",
        "alice"
    );
    assert_corrupt!(
        p,
        "UPDATE accounts SET password_changed_at = 'later'",
        "UPDATE accounts SET password_changed_at = NULL",
        store.account("alice"),
        "accounts",
        "password_changed_at",
        "alice"
    );

    assert_corrupt!(
        p,
        "UPDATE app_passwords SET digest = x'0102'",
        "UPDATE app_passwords SET digest = zeroblob(32)",
        store.app_passwords("alice"),
        "app_passwords",
        "digest",
        &code_id
    );
    assert_corrupt!(
        p,
        "UPDATE app_passwords SET protocols = 256",
        "UPDATE app_passwords SET protocols = 3",
        store.find_app_password("alice", &[0; 32]),
        "app_passwords",
        "protocols",
        &code_id
    );
    assert_corrupt!(
        p,
        "UPDATE app_passwords SET last_used_ip = '300.1.1.1'",
        "UPDATE app_passwords SET last_used_ip = NULL",
        store.app_passwords("alice"),
        "app_passwords",
        "last_used_ip",
        &code_id
    );

    assert_corrupt!(
        p,
        "UPDATE totp SET last_step = -1",
        "UPDATE totp SET last_step = 0",
        store.totp("alice"),
        "totp",
        "last_step",
        "alice"
    );
    assert_corrupt!(
        p,
        "UPDATE totp SET confirmed_at = 'soon'",
        "UPDATE totp SET confirmed_at = 5",
        store.totp("alice"),
        "totp",
        "confirmed_at",
        "alice"
    );

    assert_corrupt!(
        p,
        "UPDATE web_sessions SET ip = 'somewhere'",
        "UPDATE web_sessions SET ip = '::1'",
        store.session(&[9; 32]),
        "web_sessions",
        "ip",
        "alice"
    );

    assert_corrupt!(
        p,
        "UPDATE security_events SET kind = 'coffee_break'",
        "UPDATE security_events SET kind = 'account_updated'",
        store.security_events("alice", 100),
        "security_events",
        "kind",
        &event_id
    );
    assert_corrupt!(
        p,
        &format!("UPDATE security_events SET ip = 'x' WHERE id = {event_id}"),
        "UPDATE security_events SET ip = NULL",
        store.security_events("alice", 1),
        "security_events",
        "ip",
        &event_id
    );
}

// ------------------------------------------------------------ migrations

#[tokio::test]
async fn account_tables_survive_reopening_and_migrating_again() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store.migrate().await.unwrap();
        alice_with_credentials(&store).await;
        store.migrate().await.unwrap();
        store.close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(
        store.account("alice").await.unwrap(),
        Some(account("alice", "example"))
    );
    assert_eq!(store.app_passwords("alice").await.unwrap().len(), 1);
    assert_eq!(store.recovery_codes_left("alice").await.unwrap(), 3);

    let mut conn = raw(&path).await;
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    // Every migration in the folder, once each, in order (the numbers of
    // the parts of a feature may leave gaps until they all land).
    let mut files: Vec<i64> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                let (number, _) = name.strip_suffix(".sql")?.split_once('_')?;
                Some(number.parse().unwrap())
            })
            .collect();
    files.sort_unstable();
    assert_eq!(versions, files);
    conn.close().await.unwrap();
    store.close().await;
}
