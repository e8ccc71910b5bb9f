//! Debounced profile snapshots (`warden_service::snapshots`) on a real
//! SQLite file: a report writes its event and no snapshot, a flush writes
//! one snapshot per changed profile, and a restart after a crash (no flush
//! at the end) restores exactly the profiles the service had — what a
//! snapshot written with every login would have restored.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use warden_auth::SecretKey;
use warden_core::{Clock, Engine, FailureReason, Outcome, Policy, Protocol, Timestamp};
use warden_geo::mmdb_writer::DbipFixture;
use warden_geo::IpIntel;
use warden_service::pipeline::evaluate::ReportOf;
use warden_service::pipeline::AttemptFields;
use warden_service::snapshots::{restore, Restored};
use warden_service::{AuthSettings, Credentials, Events, Service, ShortLived, Snapshots};
use warden_store::{BatchConfig, BatchWriter, SqliteStore, Store};

/// 2026-03-01T00:00:00Z
const T0: i64 = 1_772_323_200;

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

fn write_geo(dir: &Path) {
    DbipFixture::new()
        .city(
            "113.88.0.0/16",
            "CN",
            "Guangdong",
            "Shenzhen",
            22.54,
            114.06,
            "Asia/Shanghai",
        )
        .city(
            "183.6.0.0/16",
            "CN",
            "Guangdong",
            "Guangzhou",
            23.13,
            113.26,
            "Asia/Shanghai",
        )
        .city(
            "81.2.69.0/24",
            "GB",
            "England",
            "London",
            51.51,
            -0.13,
            "Europe/London",
        )
        .write_pair(dir)
        .unwrap();
    std::fs::write(
        dir.join("asn-ipv4.csv"),
        "113.88.0.0,113.88.255.255,4134,Chinanet\n183.6.0.0,183.6.255.255,4134,Chinanet\n81.2.69.0,81.2.69.255,20712,Andrews & Arnold\n",
    )
    .unwrap();
}

/// A service on the database and geo data in `dir`, its engine warmed from
/// the store as `warden serve` does.
async fn node(dir: &Path, clock: Arc<TestClock>) -> (Arc<Service<SqliteStore>>, Restored) {
    let intel = IpIntel::builder().data_dir(dir).build().unwrap();
    let store = Arc::new(SqliteStore::open(dir.join("warden.db")).await.unwrap());
    store.migrate().await.unwrap();
    let mut engine = Engine::new(Policy::default()).unwrap();
    let snapshots = Snapshots::default();
    let restored = restore(&mut engine, store.as_ref(), &intel, &snapshots)
        .await
        .unwrap();
    let writer = BatchWriter::spawn(store.clone(), BatchConfig::default()).unwrap();
    let service = Arc::new(Service {
        engine: engine.into(),
        intel: Arc::new(intel),
        store,
        writer,
        short: ShortLived::memory(),
        clock,
        credentials: Credentials::new(AuthSettings::default(), SecretKey::generate()).unwrap(),
        settings: Default::default(),
        texts: Default::default(),
        rates: Default::default(),
        events: Events::standard(),
        snapshots,
        alerts: Default::default(),
        notify: Default::default(),
        answers: Default::default(),
        blocks: Default::default(),
        policies: Default::default(),
        devices: Default::default(),
        stepup: Default::default(),
        sensitive: Default::default(),
        audit: warden_service::audit::AuditLog::new(
            warden_audit::AuditSigner::from_seed(&[7; 32]).unwrap(),
            Default::default(),
        ),
        incidents: Default::default(),
    });
    (service, restored)
}

/// One reported login (acknowledged once its event is committed).
async fn login(s: &Service<SqliteStore>, n: usize, user: &str, outcome: Outcome) {
    let ips = ["113.88.1.10", "113.88.20.7", "183.6.14.2", "81.2.69.142"];
    let agents = [
        "Foxmail 7.2",
        "Microsoft Outlook 16.0",
        "iPhone Mail (20A362)",
    ];
    let device = format!("dev-{}", n % 3);
    let attempt = s
        .attempt(AttemptFields {
            user,
            ip: ips[n % ips.len()],
            protocol: if n.is_multiple_of(2) {
                Protocol::Imap
            } else {
                Protocol::Web
            },
            ts: Some(Timestamp(T0 + 600 * n as i64)),
            device: (!n.is_multiple_of(4)).then_some(device.as_str()),
            user_agent: Some(agents[n % agents.len()]),
        })
        .unwrap();
    s.report(ReportOf::Attempt(attempt), outcome, None)
        .await
        .unwrap();
}

fn outcome_of(n: usize) -> Outcome {
    if n % 5 == 4 {
        Outcome::Failure(FailureReason::WrongPassword)
    } else {
        Outcome::Success
    }
}

#[tokio::test]
async fn a_report_writes_no_snapshot_and_a_flush_writes_one_per_changed_profile() {
    let dir = tempfile::tempdir().unwrap();
    write_geo(dir.path());
    let clock = Arc::new(TestClock(AtomicI64::new(T0 + 86_400 * 30)));
    let (s, _) = node(dir.path(), clock).await;
    let users = ["ann@example.com", "bob@example.com", "cy@example.com"];
    for n in 0..60 {
        login(&s, n, users[n % 3], outcome_of(n)).await;
    }
    let stats = s.writer.stats();
    assert_eq!(stats.events, 60, "every report's event is committed");
    assert_eq!(stats.profiles, 0, "no snapshot is written with a report");
    assert!(s.store.load_profiles().await.unwrap().is_empty());
    assert_eq!(s.snapshots.pending(), 3);

    assert_eq!(s.flush_profiles().await.unwrap(), 3);
    assert_eq!(
        s.writer.stats().profiles,
        3,
        "one snapshot per changed profile"
    );
    let stored = s.store.load_profiles().await.unwrap();
    assert_eq!(stored.len(), 3);
    assert!(
        stored.iter().all(|p| p.through_event == 60),
        "each snapshot records the newest event it learned from: {stored:?}"
    );
    assert_eq!(
        s.store.replay_mark().await.unwrap(),
        60,
        "a complete flush moves the mark"
    );
    assert_eq!(s.snapshots.pending(), 0);

    // Only failures since: nothing to write, but the mark moves on.
    for n in 0..5 {
        login(&s, 5 * n + 4, users[0], outcome_of(4)).await;
    }
    assert_eq!(s.flush_profiles().await.unwrap(), 0);
    assert_eq!(s.store.replay_mark().await.unwrap(), 65);
}

#[tokio::test]
async fn a_restart_after_a_crash_restores_the_profiles_the_service_had() {
    let dir = tempfile::tempdir().unwrap();
    write_geo(dir.path());
    let clock = Arc::new(TestClock(AtomicI64::new(T0 + 86_400 * 30)));
    let users = [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
        "dee@example.com",
    ];
    let (s, first) = node(dir.path(), clock.clone()).await;
    assert_eq!(first, Restored::default());
    // Ann, Bob and Cy log in; a flush; then all four (Dee for the first
    // time), and the service dies before the next flush.
    let mut n = 0;
    for _ in 0..40 {
        login(&s, n, users[n % 3], outcome_of(n)).await;
        n += 1;
    }
    assert_eq!(s.flush_profiles().await.unwrap(), 3);
    let mut replayable = 0;
    for _ in 0..50 {
        let outcome = outcome_of(n);
        replayable += usize::from(outcome.is_success());
        login(&s, n, users[n % 4], outcome).await;
        n += 1;
    }
    // What a snapshot written with every login would hold now.
    let before: Vec<Option<Vec<u8>>> = {
        let engine = s.engine.lock();
        users.iter().map(|u| engine.snapshot(u)).collect()
    };
    assert!(before.iter().all(Option::is_some));
    // kill -9: no flush, nothing more written; every report was acknowledged.
    drop(s);

    let (s2, restored) = node(dir.path(), clock.clone()).await;
    assert_eq!(restored.profiles, 3, "the snapshots of the flush");
    assert_eq!(restored.corrupt, 0);
    assert_eq!(
        restored.replayed, replayable,
        "exactly the successes after the flush are learned again"
    );
    let after: Vec<Option<Vec<u8>>> = {
        let engine = s2.engine.lock();
        users.iter().map(|u| engine.snapshot(u)).collect()
    };
    for (i, u) in users.iter().enumerate() {
        assert_eq!(after[i], before[i], "{u}'s profile after the restart");
    }

    // The relearned profiles are written with the next flush (before the
    // mark moves past their events); a clean stop flushes, so the next
    // start has nothing to learn again and still the same profiles.
    assert_eq!(s2.snapshots.pending(), 4);
    assert_eq!(s2.flush_profiles().await.unwrap(), 4);
    drop(s2);
    let (s3, again) = node(dir.path(), clock).await;
    assert_eq!(again.replayed, 0);
    assert_eq!(again.profiles, 4);
    let engine = s3.engine.lock();
    for (i, u) in users.iter().enumerate() {
        assert_eq!(
            engine.snapshot(u),
            before[i],
            "{u}'s profile after a clean stop"
        );
    }
}
