//! Learning only from trusted logins (issue 14 item 1), on a real SQLite
//! file: an attacker's logins from a foreign place that Warden challenged
//! or alerted on teach the profile nothing, so the second and third are
//! caught like the first; `Service::confirm_login` (the user's "yes, it was
//! me") teaches it, after which the next login from there is quiet; and
//! both hold through a crash and a restart (start-up applies the same rule
//! to the logins it learns again, and a confirmation is written before it
//! returns).

use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use warden_auth::SecretKey;
use warden_core::{Clock, Decision, Engine, Outcome, Policy, Protocol, Timestamp};
use warden_geo::mmdb_writer::DbipFixture;
use warden_geo::IpIntel;
use warden_service::pipeline::evaluate::ReportOf;
use warden_service::pipeline::AttemptFields;
use warden_service::snapshots::{restore, Restored};
use warden_service::{
    AuthSettings, Credentials, Events, LoginToConfirm, Service, ShortLived, Snapshots,
};
use warden_store::{BatchConfig, BatchWriter, SqliteStore, Store};

/// 2026-03-01T00:00:00Z
const T0: i64 = 1_772_323_200;
const USER: &str = "alice@example.com";
const HOME: &str = "113.88.1.10";
const LONDON: &str = "81.2.69.142";
const THIEF_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Thunderbird/115.0";
const THIEF_DEVICE: &str = "kali";

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
        "113.88.0.0,113.88.255.255,4134,Chinanet\n81.2.69.0,81.2.69.255,20712,Andrews & Arnold\n",
    )
    .unwrap();
}

/// A service on the database in `dir`, warmed from it as `warden serve`
/// does.
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

/// A successful login reported by the mail server (login protection off:
/// Warden only scores it); answers (decision, alert).
async fn login(s: &Service<SqliteStore>, ip: &str, ts: i64, thief: bool) -> (Decision, bool) {
    let attempt = s
        .attempt(AttemptFields {
            user: USER,
            ip,
            protocol: Protocol::Imap,
            ts: Some(Timestamp(ts)),
            device: Some(if thief { THIEF_DEVICE } else { "alice-laptop" }),
            user_agent: Some(if thief { THIEF_UA } else { "Foxmail 7.2.25" }),
        })
        .unwrap();
    let r = s
        .report(ReportOf::Attempt(attempt), Outcome::Success, None)
        .await
        .unwrap();
    (r.assessed.assessment.decision, r.alert)
}

fn quiet(d: (Decision, bool)) -> bool {
    d == (Decision::Allow, false)
}

/// Thirty days of logins from home, one a day.
async fn habit(s: &Service<SqliteStore>) {
    for day in 0..30 {
        let d = login(s, HOME, T0 + day * 86_400 + 9 * 3600, false).await;
        if day >= 10 {
            assert!(quiet(d), "home is usual by day {day}: {d:?}");
        }
    }
}

fn clock_at(ts: i64) -> Arc<TestClock> {
    Arc::new(TestClock(AtomicI64::new(ts)))
}

/// After the habit: day 31, the thief logs in from London three times.
const THEFT: i64 = T0 + 31 * 86_400;

fn confirmation(ts: i64) -> LoginToConfirm<'static> {
    LoginToConfirm {
        user: USER,
        ip: LONDON.parse::<IpAddr>().unwrap(),
        protocol: Protocol::Imap,
        ts: Timestamp(ts),
        device: Some(THIEF_DEVICE),
        user_agent: Some(THIEF_UA),
    }
}

#[tokio::test]
async fn a_thiefs_later_logins_from_the_same_place_stay_caught_until_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    write_geo(dir.path());
    let (s, _) = node(dir.path(), clock_at(THEFT + 86_400)).await;
    habit(&s).await;
    let first = login(&s, LONDON, THEFT, true).await;
    assert!(
        !quiet(first),
        "the first login from London is caught: {first:?}"
    );
    for (i, at) in [THEFT + 1800, THEFT + 7200].into_iter().enumerate() {
        let later = login(&s, LONDON, at, true).await;
        assert_eq!(
            later,
            first,
            "login {} from London is caught like the first",
            i + 2
        );
    }
    {
        let engine = s.engine.lock();
        let p = engine.profile(USER).unwrap();
        assert_eq!(p.countries.len(), 1, "London taught no country");
        assert_eq!(p.unconfirmed.len(), 1, "one place and network kept aside");
        assert_eq!(p.unconfirmed[0].logins, 3);
    }
    // Home is unaffected.
    assert!(quiet(login(&s, HOME, THEFT + 9000, false).await));

    // "Yes, it was me": the next login from London is quiet.
    s.confirm_login(&confirmation(THEFT + 7200)).await.unwrap();
    assert!(s
        .engine
        .lock()
        .profile(USER)
        .unwrap()
        .unconfirmed
        .is_empty());
    let after = login(&s, LONDON, THEFT + 10_800, true).await;
    assert!(quiet(after), "confirmed: {after:?}");
}

#[tokio::test]
async fn the_rule_and_a_confirmation_survive_a_crash_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    write_geo(dir.path());
    let clock = clock_at(THEFT + 86_400);
    let (s, _) = node(dir.path(), clock.clone()).await;
    habit(&s).await;
    s.flush_profiles().await.unwrap();
    // Two logins from London after the last flush; then kill -9.
    let first = login(&s, LONDON, THEFT, true).await;
    assert!(!quiet(first));
    assert_eq!(login(&s, LONDON, THEFT + 600, true).await, first);
    drop(s);

    // Start-up learns the logins after the mark again, under the same rule:
    // London is still unconfirmed.
    let (s, restored) = node(dir.path(), clock.clone()).await;
    assert_eq!(restored.replayed, 2, "{restored:?}");
    assert_eq!(
        s.engine.lock().profile(USER).unwrap().unconfirmed[0].logins,
        2
    );
    assert_eq!(login(&s, LONDON, THEFT + 1200, true).await, first);

    // Confirmed, then kill -9 at once (no flush): the confirmation was
    // written before `confirm_login` returned.
    s.confirm_login(&confirmation(THEFT + 1200)).await.unwrap();
    drop(s);
    let (s, _) = node(dir.path(), clock).await;
    assert!(s
        .engine
        .lock()
        .profile(USER)
        .unwrap()
        .unconfirmed
        .is_empty());
    let after = login(&s, LONDON, THEFT + 3600, true).await;
    assert!(quiet(after), "confirmed before the crash: {after:?}");
}

#[tokio::test]
async fn a_confirmation_of_nothing_usable_is_a_clear_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_geo(dir.path());
    let (s, _) = node(dir.path(), clock_at(THEFT)).await;
    let bad = LoginToConfirm {
        user: "not a user\u{7}",
        ..confirmation(THEFT)
    };
    let err = s.confirm_login(&bad).await.unwrap_err().to_string();
    assert!(err.contains("to confirm"), "{err}");
    assert!(s.engine.lock().profile(USER).is_none());
    assert_eq!(s.engine.lock().stats().profiles, 0);
}
