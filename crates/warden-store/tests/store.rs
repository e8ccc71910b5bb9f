//! Behaviour of the SQLite store and the batch writer against real database
//! files in temporary directories.

mod accounts;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::Connection;
use tempfile::TempDir;
use warden_core::{
    Coords, Country, Decision, FailureReason, GeoCorrection, Level, Location, Name, Outcome,
    Protocol, ReasonCode, Timestamp, VerifyReason,
};
use warden_store::{
    BatchConfig, BatchWriter, Cursor, HistoryQuery, LoginEvent, ProfileSnapshot, SqliteStore,
    Store, StoreError, WriteBatch, WriterHandle, WriterStats, MAX_HISTORY_LIMIT,
};

// ---------------------------------------------------------------- helpers

fn event(user: &str, ts: i64) -> LoginEvent {
    LoginEvent {
        id: None,
        ts: Timestamp(ts),
        user: user.to_string(),
        ip: "192.0.2.10".parse().unwrap(),
        protocol: Protocol::Imap,
        outcome: Outcome::Success,
        device: None,
        user_agent: None,
        country: None,
        region: None,
        city: None,
        asn: None,
        decision: Decision::Allow,
        risk: 0.0,
        level: Level::Low,
        alert: false,
        reasons: Vec::new(),
        auth_reason: None,
    }
}

fn profile(user: &str, blob: &[u8], ts: i64) -> ProfileSnapshot {
    ProfileSnapshot {
        user: user.to_string(),
        blob: blob.to_vec(),
        updated_at: Timestamp(ts),
    }
}

fn events_batch(events: Vec<LoginEvent>) -> WriteBatch {
    WriteBatch {
        events,
        profiles: Vec::new(),
    }
}

async fn fresh() -> (TempDir, SqliteStore) {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(dir.path().join("warden.db"))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (dir, store)
}

/// A raw connection to the same file, to inspect or damage it behind the
/// store's back.
async fn raw(path: &Path) -> SqliteConnection {
    SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path))
        .await
        .unwrap()
}

async fn exec(path: &Path, sql: &'static str) {
    let mut conn = raw(path).await;
    sqlx::query(sql).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

fn ts_of(events: &[LoginEvent]) -> Vec<i64> {
    events.iter().map(|e| e.ts.secs()).collect()
}

fn history(before: Option<i64>, limit: u32) -> HistoryQuery {
    match before {
        Some(b) => HistoryQuery::before(Timestamp(b), limit),
        None => HistoryQuery::latest(limit),
    }
}

// ---------------------------------------------------------- open & migrate

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

// ------------------------------------------------------------ events

#[tokio::test]
async fn history_is_newest_first_pages_with_before_and_keeps_users_apart() {
    let (_dir, store) = fresh().await;
    let mut events: Vec<LoginEvent> = (100..110).map(|ts| event("alice", ts)).collect();
    events.extend((100..110).map(|ts| event("bob", ts + 1000)));
    // Two more alice events sharing a timestamp: ties go by id, newest first.
    let mut tie_a = event("alice", 105);
    tie_a.device = Some("first".into());
    let mut tie_b = event("alice", 105);
    tie_b.device = Some("second".into());
    events.push(tie_a);
    events.push(tie_b);
    store.append(&events_batch(events)).await.unwrap();

    let page1 = store.history("alice", history(None, 5)).await.unwrap();
    assert_eq!(ts_of(&page1), [109, 108, 107, 106, 105]);
    assert_eq!(page1[4].device.as_deref(), Some("second"));
    assert!(page1.iter().all(|e| e.user == "alice" && e.id.is_some()));

    let all = store.history("alice", history(None, 100)).await.unwrap();
    assert_eq!(all.len(), 12);
    let at_105: Vec<_> = all.iter().filter(|e| e.ts == Timestamp(105)).collect();
    assert_eq!(at_105.len(), 3);
    assert!(
        at_105.windows(2).all(|w| w[0].id > w[1].id),
        "ties by id desc"
    );

    let page2 = store.history("alice", history(Some(105), 3)).await.unwrap();
    assert_eq!(ts_of(&page2), [104, 103, 102]);
    let page3 = store
        .history("alice", history(Some(102), 10))
        .await
        .unwrap();
    assert_eq!(ts_of(&page3), [101, 100]);
    let page4 = store
        .history("alice", history(Some(100), 10))
        .await
        .unwrap();
    assert!(page4.is_empty());

    let bob = store.history("bob", history(None, 100)).await.unwrap();
    assert_eq!(bob.len(), 10);
    assert!(bob.iter().all(|e| e.user == "bob"));
    assert!(store
        .history("carol", history(None, 10))
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .history("alice", history(None, 0))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn cursor_paging_never_skips_events_sharing_a_timestamp() {
    let (_dir, store) = fresh().await;
    // Seven events in the same second, three more before.
    let mut events: Vec<LoginEvent> = (0..7).map(|_| event("alice", 500)).collect();
    events.extend((497..500).map(|ts| event("alice", ts)));
    store.append(&events_batch(events)).await.unwrap();

    let mut seen = Vec::new();
    let mut q = HistoryQuery::latest(3);
    loop {
        let page = store.history("alice", q).await.unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        q = HistoryQuery::after(
            Cursor {
                ts: last.ts,
                id: last.id.unwrap(),
            },
            3,
        );
        seen.extend(page.iter().map(|e| e.id.unwrap()));
    }
    assert_eq!(seen.len(), 10, "every event exactly once: {seen:?}");
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 10);
}

#[tokio::test]
async fn history_limit_is_capped() {
    let (_dir, store) = fresh().await;
    let events = (0..1_100).map(|ts| event("alice", ts)).collect();
    store.append(&events_batch(events)).await.unwrap();
    let got = store.history("alice", history(None, 5_000)).await.unwrap();
    assert_eq!(got.len(), MAX_HISTORY_LIMIT as usize);
    assert_eq!(got[0].ts, Timestamp(1_099));
    let got = store
        .history("alice", history(None, u32::MAX))
        .await
        .unwrap();
    assert_eq!(got.len(), 1000);
}

#[tokio::test]
async fn every_field_round_trips() {
    let (_dir, store) = fresh().await;
    let outcomes: Vec<Outcome> = std::iter::once(Outcome::Success)
        .chain(FailureReason::ALL.into_iter().map(Outcome::Failure))
        .collect();
    let ips: [IpAddr; 3] = [
        "203.0.113.7".parse().unwrap(),
        "2001:db8::1:2".parse().unwrap(),
        "::1".parse().unwrap(),
    ];
    let mut written = Vec::new();
    for i in 0..18usize {
        let full = i % 2 == 0;
        written.push(LoginEvent {
            id: None,
            ts: Timestamp(1_700_000_000 + i as i64),
            user: "zoë@example.com".to_string(),
            ip: ips[i % ips.len()],
            protocol: Protocol::ALL[i % Protocol::ALL.len()],
            outcome: outcomes[i % outcomes.len()],
            device: full.then(|| format!("device-{i}")),
            user_agent: full.then(|| "Mozilla/5.0 (X11; Linux) \"quoted\", comma".to_string()),
            country: full.then(|| Country::new("cn").unwrap()),
            region: full.then(|| "Guangdong 广东".to_string()),
            city: full.then(|| "Shenzhen".to_string()),
            asn: full.then_some(if i == 0 { u32::MAX } else { 4134 }),
            decision: Decision::ALL[i % Decision::ALL.len()],
            risk: i as f32 / 7.0,
            level: Level::ALL[i % Level::ALL.len()],
            alert: full,
            reasons: match i % 3 {
                0 => Vec::new(),
                1 => vec![ReasonCode::NewDevice],
                _ => ReasonCode::ALL.to_vec(),
            },
            auth_reason: full.then_some(VerifyReason::ALL[i % VerifyReason::ALL.len()]),
        });
    }
    // Both ways in: the async driver's and the group-commit thread's own.
    let mut sync = store
        .sync_appender()
        .unwrap()
        .expect("a file store has one");
    let again: Vec<LoginEvent> = written
        .iter()
        .map(|e| LoginEvent {
            user: "zoë2@example.com".to_string(),
            ..e.clone()
        })
        .collect();
    store.append(&events_batch(written.clone())).await.unwrap();
    sync.append(&events_batch(again.clone())).unwrap();
    for written in [written, again] {
        let mut read = store
            .history(&written[0].user, history(None, 100))
            .await
            .unwrap();
        read.reverse();
        assert_eq!(read.len(), written.len());
        for (w, r) in written.iter().zip(&read) {
            assert!(r.id.is_some());
            let r = LoginEvent {
                id: None,
                ..r.clone()
            };
            assert_eq!(&r, w);
        }
    }
}

#[tokio::test]
async fn event_ids_from_the_caller_are_ignored() {
    let (_dir, store) = fresh().await;
    let mut a = event("alice", 1);
    a.id = Some(42);
    let mut b = event("alice", 2);
    b.id = Some(42);
    store.append(&events_batch(vec![a, b])).await.unwrap();
    let got = store.history("alice", history(None, 10)).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_ne!(got[0].id, got[1].id);
}

#[tokio::test]
async fn prune_deletes_only_old_events_and_counts_them() {
    let (_dir, store) = fresh().await;
    let events = (10..20).map(|ts| event("alice", ts)).collect();
    store.append(&events_batch(events)).await.unwrap();
    assert_eq!(store.prune_events(Timestamp(15)).await.unwrap(), 5);
    let left = store.history("alice", history(None, 100)).await.unwrap();
    assert_eq!(ts_of(&left), [19, 18, 17, 16, 15]);
    assert_eq!(store.prune_events(Timestamp(15)).await.unwrap(), 0);
}

#[tokio::test]
async fn prune_of_many_rows_works_across_chunks() {
    let (_dir, store) = fresh().await;
    let mut events: Vec<LoginEvent> = (0..12_345).map(|i| event("u", i % 1000)).collect();
    events.extend((0..7).map(|i| event("u", 5_000 + i)));
    store.append(&events_batch(events)).await.unwrap();
    assert_eq!(store.prune_events(Timestamp(1_000)).await.unwrap(), 12_345);
    let left = store.history("u", history(None, 100)).await.unwrap();
    assert_eq!(left.len(), 7);
}

// ------------------------------------------------------------ profiles

#[tokio::test]
async fn profiles_upsert_last_in_batch_wins_and_survive_reopen() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("warden.db");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store.migrate().await.unwrap();
        assert!(store.load_profiles().await.unwrap().is_empty());
        assert_eq!(store.load_profile("alice").await.unwrap(), None);

        let batch = WriteBatch {
            events: vec![event("alice", 1)],
            profiles: vec![
                profile("alice", b"a1", 1),
                profile("bob", &[0, 255, 0, 1], 2),
                profile("alice", b"a2", 3),
            ],
        };
        store.append(&batch).await.unwrap();
        assert_eq!(
            store.load_profile("alice").await.unwrap(),
            Some(profile("alice", b"a2", 3))
        );

        // A later batch replaces the stored snapshot.
        let batch = WriteBatch {
            events: Vec::new(),
            profiles: vec![profile("bob", b"b2", 9), profile("carol", b"", 4)],
        };
        store.append(&batch).await.unwrap();
        store.close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    store.migrate().await.unwrap();
    let all = store.load_profiles().await.unwrap();
    assert_eq!(
        all,
        vec![
            profile("alice", b"a2", 3),
            profile("bob", b"b2", 9),
            profile("carol", b"", 4),
        ]
    );
    assert_eq!(
        store
            .history("alice", history(None, 10))
            .await
            .unwrap()
            .len(),
        1
    );
}

// ------------------------------------------------------------ corrections

fn full_correction(net: &str) -> GeoCorrection {
    GeoCorrection {
        network: net.parse().unwrap(),
        location: Location {
            country: Some(Country::new("CN").unwrap()),
            region: Some(Name::from("Guangdong")),
            city: Some(Name::from("Shenzhen")),
            city_zh: Some(Name::from("深圳")),
            region_zh: Some(Name::from("广东")),
            coords: Some(Coords {
                lat: 22.5431,
                lon: 114.0579,
            }),
            accuracy_km: Some(u16::MAX),
            time_zone: Some(Name::from("Asia/Shanghai")),
        },
        note: Some("office egress, reported by it@".to_string()),
        created_at: Timestamp(1_700_000_123),
    }
}

#[tokio::test]
async fn corrections_round_trip_every_field() {
    let (_dir, store) = fresh().await;
    assert!(store.list_corrections().await.unwrap().is_empty());

    let v4 = full_correction("10.20.0.0/16");
    let v6 = full_correction("2001:db8:abcd::/48");
    let bare = GeoCorrection {
        network: "198.51.100.7/32".parse().unwrap(),
        location: Location::default(),
        note: None,
        created_at: Timestamp(-5),
    };
    for c in [&v4, &v6, &bare] {
        store.upsert_correction(c).await.unwrap();
    }
    let listed = store.list_corrections().await.unwrap();
    assert_eq!(listed, vec![v4.clone(), bare.clone(), v6.clone()]);

    // Upsert replaces every field.
    let mut v6b = v6.clone();
    v6b.location = Location {
        country: Some(Country::new("jp").unwrap()),
        coords: Some(Coords {
            lat: -1.5,
            lon: 0.0,
        }),
        ..Location::default()
    };
    v6b.note = None;
    v6b.created_at = Timestamp(7);
    store.upsert_correction(&v6b).await.unwrap();
    let listed = store.list_corrections().await.unwrap();
    assert_eq!(listed, vec![v4.clone(), bare.clone(), v6b.clone()]);

    assert!(store.delete_correction(&v6.network).await.unwrap());
    assert!(!store.delete_correction(&v6.network).await.unwrap());
    let missing: IpNet = "172.16.0.0/12".parse().unwrap();
    assert!(!store.delete_correction(&missing).await.unwrap());
    assert_eq!(
        store.list_corrections().await.unwrap(),
        vec![v4.clone(), bare.clone()]
    );
}

#[tokio::test]
async fn correction_networks_are_stored_canonically() {
    let (_dir, store) = fresh().await;
    let mut c = full_correction("10.20.30.40/16");
    store.upsert_correction(&c).await.unwrap();
    c.network = "10.20.0.0/16".parse().unwrap();
    assert_eq!(store.list_corrections().await.unwrap(), vec![c]);
    let host_bits: IpNet = "10.20.99.99/16".parse().unwrap();
    assert!(store.delete_correction(&host_bits).await.unwrap());
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

// ------------------------------------------------------------ batch writer

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_writer_acknowledges_concurrent_writes_and_groups_them() {
    let (_dir, store) = fresh().await;
    let store = Arc::new(store);
    let writer = BatchWriter::spawn(Arc::clone(&store), BatchConfig::default()).unwrap();

    const TASKS: usize = 50;
    const PER_TASK: usize = 40;
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                let user = format!("user{t}");
                let e = event(&user, i as i64);
                let p = profile(&user, &(i as u32).to_le_bytes(), i as i64);
                writer.write(vec![e], vec![p]).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    let stats = writer.stats();
    assert_eq!(stats.events, (TASKS * PER_TASK) as u64);
    assert_eq!(stats.profiles, (TASKS * PER_TASK) as u64);
    assert_eq!(stats.failed_batches, 0);
    assert!(stats.batches >= 1);
    assert!(
        stats.batches < (TASKS * PER_TASK) as u64 / 4,
        "writes were grouped: {stats:?}"
    );
    assert!(stats.last_batch_rows >= 2);

    // Acknowledged means stored: read back without flushing.
    for t in 0..TASKS {
        let user = format!("user{t}");
        let got = store.history(&user, history(None, 1000)).await.unwrap();
        assert_eq!(got.len(), PER_TASK, "{user}");
        let p = store.load_profile(&user).await.unwrap().unwrap();
        assert_eq!(p.blob, (PER_TASK as u32 - 1).to_le_bytes());
    }
    writer.close().await;
    assert!(writer.is_closed());
}

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

/// `n` concurrent writes of one event each for `user` (times 0..n).
fn spawn_event_writes(
    writer: &WriterHandle,
    user: &'static str,
    n: i64,
) -> Vec<tokio::task::JoinHandle<Result<(), StoreError>>> {
    (0..n)
        .map(|i| {
            let writer = writer.clone();
            tokio::spawn(async move { writer.write(vec![event(user, i)], Vec::new()).await })
        })
        .collect()
}

/// Polls the writer's counters until `done` holds; fails after `limit`.
async fn wait_for_stats(
    writer: &WriterHandle,
    limit: Duration,
    done: impl Fn(&WriterStats) -> bool,
) {
    let started = Instant::now();
    while !done(&writer.stats()) {
        assert!(
            started.elapsed() < limit,
            "waited {limit:?}: {:?}",
            writer.stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_drains_queued_writes_and_refuses_new_ones() {
    let (_dir, store) = fresh().await;
    let store = Arc::new(store);
    // A long delay: without close the writes would linger for a minute.
    let config = BatchConfig {
        max_batch: 100_000,
        max_delay: Duration::from_secs(60),
    };
    let writer = BatchWriter::spawn(Arc::clone(&store), config).unwrap();
    let started = Instant::now();
    let tasks = spawn_event_writes(&writer, "drain", 200);
    // Wait until all 200 writes are with the writer: in its lingering batch
    // or queued behind it (a lingering writer does not take new writes
    // before the delay ends).
    wait_for_stats(&writer, Duration::from_secs(30), |s| {
        s.in_batch + s.queued >= 200
    })
    .await;
    assert_eq!(writer.stats().batches, 0, "still lingering");

    writer.close().await;
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    let got = store.history("drain", history(None, 1000)).await.unwrap();
    assert_eq!(got.len(), 200);
    let stats = writer.stats();
    assert_eq!((stats.events, stats.in_batch), (200, 0));

    let err = writer
        .write(vec![event("late", 1)], Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::WriterClosed), "{err:?}");
    assert!(matches!(
        writer.flush().await,
        Err(StoreError::WriterClosed)
    ));
    writer.close().await; // harmless twice
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_ends_the_linger() {
    let (_dir, store) = fresh().await;
    let store = Arc::new(store);
    // A minute's delay, but batches of at most 10 rows.
    let config = BatchConfig {
        max_batch: 10,
        max_delay: Duration::from_secs(60),
    };
    let writer = BatchWriter::spawn(Arc::clone(&store), config).unwrap();
    let tasks = spawn_event_writes(&writer, "full", 25);
    // The first write lingers alone until the queue behind it holds ten;
    // at least two full batches commit long before the minute is over.
    wait_for_stats(&writer, Duration::from_secs(20), |s| s.events >= 20).await;
    let stats = writer.stats();
    assert!(stats.batches >= 2, "{stats:?}");
    assert!(stats.last_batch_rows <= 11, "{stats:?}");
    writer.close().await;
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        store
            .history("full", history(None, 100))
            .await
            .unwrap()
            .len(),
        25
    );
}

#[tokio::test]
async fn flush_waits_for_earlier_writes() {
    let (_dir, store) = fresh().await;
    let store = Arc::new(store);
    let config = BatchConfig {
        max_batch: 1_000,
        max_delay: Duration::from_secs(60),
    };
    let writer = BatchWriter::spawn(Arc::clone(&store), config).unwrap();
    let w = writer.clone();
    let pending = tokio::spawn(async move { w.write(vec![event("f", 1)], Vec::new()).await });
    // On this single-threaded runtime the sleep lets the write reach the
    // writer, which then lingers with it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(writer.stats().batches, 0, "still lingering");
    tokio::time::timeout(Duration::from_secs(10), writer.flush())
        .await
        .expect("flush does not wait for max_delay")
        .unwrap();
    assert_eq!(writer.stats().batches, 1);
    tokio::time::timeout(Duration::from_secs(1), pending)
        .await
        .expect("the write was acknowledged with the flush")
        .unwrap()
        .unwrap();
    assert_eq!(
        store.history("f", history(None, 10)).await.unwrap().len(),
        1
    );
    writer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_reports_the_error_to_every_caller() {
    let (dir, store) = fresh().await;
    let path: PathBuf = dir.path().join("warden.db");
    let store = Arc::new(store);
    let config = BatchConfig {
        max_batch: 10_000,
        max_delay: Duration::from_millis(200),
    };
    let writer = BatchWriter::spawn(Arc::clone(&store), config).unwrap();

    // Make every insert fail: the table is gone.
    exec(&path, "DROP TABLE login_events").await;

    let mut tasks = Vec::new();
    for i in 0..20 {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            writer
                .write(
                    vec![event("x", i)],
                    vec![profile(&format!("p{i}"), b"1", i)],
                )
                .await
        }));
    }
    for t in tasks {
        let err = t.await.unwrap().unwrap_err();
        match err {
            StoreError::BatchFailed { rows, source } => {
                assert!(rows >= 2);
                assert!(
                    matches!(*source, StoreError::Sqlite { op: "append", .. }),
                    "{source:?}"
                );
            }
            other => panic!("expected BatchFailed, got {other:?}"),
        }
    }
    let stats = writer.stats();
    assert!(stats.failed_batches >= 1);
    assert_eq!(stats.events, 0);
    // The transaction rolled back: no profile of a failed batch was stored.
    assert!(store.load_profiles().await.unwrap().is_empty());
    writer.close().await;
}

#[tokio::test]
async fn a_failure_late_in_a_batch_rolls_back_its_events_and_the_store_recovers() {
    let (dir, store) = fresh().await;
    let path: PathBuf = dir.path().join("warden.db");
    // Events insert fine; the profile upsert after them fails.
    exec(
        &path,
        "CREATE TRIGGER refuse BEFORE INSERT ON profiles BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    .await;
    let batch = WriteBatch {
        events: (0..300).map(|i| event("late", i)).collect(),
        profiles: vec![profile("late", b"1", 1)],
    };
    // A large batch (cached chunk statements) and a small one (one script).
    let small = WriteBatch {
        events: (0..3).map(|i| event("late", i)).collect(),
        profiles: vec![profile("late", b"1", 1)],
    };
    for b in [&batch, &small] {
        let err = store.append(b).await.unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        let stored = store
            .history("late", HistoryQuery::latest(10))
            .await
            .unwrap();
        assert!(stored.is_empty(), "events of a failed batch were kept");
    }

    // The connection is usable again once the cause is gone.
    exec(&path, "DROP TRIGGER refuse").await;
    store.append(&small).await.unwrap();
    store.append(&batch).await.unwrap();
    let stored = store
        .history("late", HistoryQuery::latest(500))
        .await
        .unwrap();
    assert_eq!(stored.len(), 303);
    assert_eq!(store.load_profiles().await.unwrap().len(), 1);
}
