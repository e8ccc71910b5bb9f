//! The audit log through the service: on a real SQLite file with the
//! trail subscribed and the writer task running, acknowledged actions and
//! logins are in the log when their call returns, with the expected kind,
//! actor, user, address and details and never a secret; two services
//! appending to one database chain one log (the writer rechains after a
//! conflict); a full queue fails the wait instead of acknowledging; a
//! forced checkpoint signs the head.

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use warden_auth::{Argon2Params, SecretKey};
use warden_core::scoped::{PolicyMode, PolicyRules, Scope};
use warden_core::{
    Account, AccountStatus, Clock, Engine, Outcome, Policy, Protocol, Role, SecurityEventKind,
    Timestamp,
};
use warden_geo::mmdb_writer::DbipFixture;
use warden_geo::IpIntel;
use warden_service::accounts::NewPassword;
use warden_service::audit::{AuditLog, AuditSettings};
use warden_service::credentials::{event, Actor};
use warden_service::pipeline::evaluate::ReportOf;
use warden_service::policies::admin::{ChangedBy, PolicyInput};
use warden_service::{AuthSettings, Credentials, DomainEvent, Events, Service, ShortLived};
use warden_store::{
    AccountWrite, AuditQuery, AuditStore, BatchConfig, BatchWriter, SqliteStore, Store,
};

const T0: i64 = 1_772_323_200;
const FIRST_PW: &str = "orchard-lantern-first-secret-91";
const NEW_PW: &str = "harbour-plum-second-secret-47";

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

fn write_geo(dir: &std::path::Path) {
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
        .write_pair(dir)
        .unwrap();
    std::fs::write(
        dir.join("asn-ipv4.csv"),
        "113.88.0.0,113.88.255.255,4134,Chinanet\n",
    )
    .unwrap();
}

/// A service on `dir`'s database with the audit trail and its writer
/// (`writer: false` leaves the writer off).
async fn service(
    dir: &std::path::Path,
    settings: AuditSettings,
    writer_on: bool,
) -> Arc<Service<SqliteStore>> {
    let intel = IpIntel::builder().data_dir(dir).build().unwrap();
    let store = Arc::new(SqliteStore::open(dir.join("warden.db")).await.unwrap());
    store.migrate().await.unwrap();
    let writer = BatchWriter::spawn(store.clone(), BatchConfig::default()).unwrap();
    let clock = Arc::new(TestClock(AtomicI64::new(T0)));
    let audit = AuditLog::new(
        warden_audit::AuditSigner::from_seed(&[5; 32]).unwrap(),
        settings,
    );
    let auth = AuthSettings {
        argon2: Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..AuthSettings::default()
    };
    let service = Arc::new(Service {
        engine: Engine::new(Policy::default()).unwrap().into(),
        intel: Arc::new(intel),
        store,
        writer,
        short: ShortLived::memory(),
        clock: clock.clone(),
        credentials: Credentials::new(auth, SecretKey::generate()).unwrap(),
        settings: Default::default(),
        texts: Default::default(),
        rates: Default::default(),
        events: Events::standard().with(audit.trail(clock)),
        snapshots: Default::default(),
        alerts: Default::default(),
        notify: Default::default(),
        answers: Default::default(),
        blocks: Default::default(),
        policies: Default::default(),
        devices: Default::default(),
        stepup: Default::default(),
        sensitive: Default::default(),
        incidents: Default::default(),
        audit,
    });
    if writer_on {
        tokio::spawn(warden_service::audit::writer::run(
            service.clone(),
            std::future::pending(),
        ));
    }
    service
}

async fn create(service: &Service<SqliteStore>, user: &str, ip: IpAddr) {
    let now = service.now();
    let hash = service.credentials.hash(FIRST_PW.into()).await.unwrap();
    service
        .commit(AccountWrite {
            create: true,
            account: Some(Account {
                user: user.into(),
                org: "default".into(),
                display_name: String::new(),
                email: None,
                phone: None,
                role: Role::User,
                status: AccountStatus::Active,
                status_reason: None,
                password_hash: Some(hash),
                password_changed_at: Some(now),
                must_change_password: false,
                two_factor_changed_at: None,
                lang: None,
                created_at: now,
                updated_at: now,
            }),
            events: vec![event(
                Some(ip),
                now,
                user,
                SecurityEventKind::AccountCreated,
                Actor::Admin,
                "org default",
            )],
            ..AccountWrite::default()
        })
        .await
        .unwrap();
}

async fn all(service: &Service<SqliteStore>) -> Vec<warden_audit::AuditRecord> {
    let mut r = service
        .audit_list(&AuditQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    r.reverse();
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_actions_are_in_the_log_when_they_return_and_hold_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    write_geo(dir.path());
    let s = service(dir.path(), AuditSettings::default(), true).await;
    let admin_ip: IpAddr = "10.0.0.9".parse().unwrap();
    create(&s, "alice@example.com", admin_ip).await;
    // No waiting: the commit returned only once its record was kept.
    let records = s.store.audit_from(1, 10).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].entry.kind, "account.created");

    s.set_password(
        "alice@example.com",
        NewPassword {
            password: NEW_PW.into(),
            current: None,
            must_change: false,
            keep_app_passwords: false,
        },
        Some(admin_ip),
    )
    .await
    .unwrap();
    s.set_status(
        "alice@example.com",
        AccountStatus::Locked,
        Some("laptop stolen".into()),
        SecurityEventKind::AccountLocked,
        Some(admin_ip),
    )
    .await
    .unwrap();
    s.set_policy(
        Scope::User,
        "alice@example.com",
        &PolicyInput {
            name: "office-only".into(),
            mode: PolicyMode::ReportOnly,
            rules: PolicyRules::default(),
            comment: Some("trial".into()),
        },
        ChangedBy {
            actor: "admin",
            ip: Some(admin_ip),
        },
    )
    .await
    .unwrap();
    let attempt = warden_core::LoginAttempt::new(
        Timestamp(T0),
        "bob@example.com",
        "113.88.1.10".parse().unwrap(),
        Protocol::Imap,
        Some("bob-phone"),
        None,
    )
    .unwrap();
    s.report(ReportOf::Attempt(attempt), Outcome::Success, None)
        .await
        .unwrap();

    let log = all(&s).await;
    let kinds: Vec<&str> = log.iter().map(|r| r.entry.kind.as_str()).collect();
    for k in [
        "account.created",
        "account.password_reset",
        "account.locked",
        "account.sessions_revoked",
        "policy.changed",
        "login.recorded",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let locked = log
        .iter()
        .find(|r| r.entry.kind == "account.locked")
        .unwrap();
    assert_eq!(locked.entry.actor, "admin");
    assert_eq!(locked.entry.user.as_deref(), Some("alice@example.com"));
    assert_eq!(locked.entry.ip.as_deref(), Some("10.0.0.9"));
    assert_eq!(locked.entry.get("detail"), Some("laptop stolen"));

    let policy = log
        .iter()
        .find(|r| r.entry.kind == "policy.changed")
        .unwrap();
    assert_eq!(
        policy.entry.subject.as_deref(),
        Some("policy:user:alice@example.com")
    );
    assert_eq!(policy.entry.get("mode"), Some("report_only"));
    assert_eq!(policy.entry.get("change"), Some("set"));

    let login = log
        .iter()
        .find(|r| r.entry.kind == "login.recorded")
        .unwrap();
    assert_eq!(login.entry.actor, "warden");
    assert_eq!(login.entry.user.as_deref(), Some("bob@example.com"));
    assert_eq!(login.entry.ip.as_deref(), Some("113.88.1.10"));
    assert_eq!(login.entry.subject.as_deref(), Some("device:bob-phone"));
    assert_eq!(login.entry.get("outcome"), Some("success"));
    assert_eq!(login.entry.get("country"), Some("CN"));
    assert_eq!(login.entry.get("city"), Some("Shenzhen"));
    assert_eq!(login.entry.get("asn"), Some("4134"));
    assert_eq!(login.entry.get("protocol"), Some("imap"));
    assert!(login.entry.get("decision").is_some() && login.entry.get("risk").is_some());

    // No secret anywhere in what the log keeps.
    for r in &log {
        let text = String::from_utf8_lossy(&r.entry.canonical()).into_owned();
        for secret in [FIRST_PW, NEW_PW] {
            assert!(!text.contains(secret), "record {} holds a password", r.seq);
        }
    }

    // The log verifies, and a forced checkpoint signs its head.
    let cp = s.audit_checkpoint_now().await.unwrap();
    assert_eq!(cp.seq, log.last().unwrap().seq);
    assert!(s.audit_public_key().verifies(&cp));
    let v = s.audit_verify().await.unwrap().unwrap();
    assert_eq!((v.records, v.last_signed), (log.len() as u64, Some(cp.seq)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_on_one_database_append_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    write_geo(dir.path());
    let a = service(dir.path(), AuditSettings::default(), true).await;
    let b = service(dir.path(), AuditSettings::default(), true).await;
    let mut tasks = Vec::new();
    for (n, s) in [a.clone(), b.clone()].into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for i in 0..40 {
                s.publish_durable(DomainEvent::CodeThrottled {
                    user: &format!("u{n}-{i}@example.com"),
                    ip: None,
                })
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let log = all(&a).await;
    assert_eq!(log.len(), 80);
    let seqs: Vec<u64> = log.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=80).collect::<Vec<_>>());
    let v = a.audit_verify().await.unwrap().unwrap();
    assert_eq!(v.records, 80);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_fails_the_wait_instead_of_acknowledging() {
    let dir = tempfile::tempdir().unwrap();
    write_geo(dir.path());
    let settings = AuditSettings {
        queue_max_entries: 2,
        settle_timeout: Duration::from_millis(200),
        ..AuditSettings::default()
    };
    // The writer is off: nothing commits.
    let s = service(dir.path(), settings, false).await;
    let throttle = |user: &'static str| DomainEvent::CodeThrottled { user, ip: None };
    // Queued, but not committed in time: not acknowledged.
    assert!(s.publish_durable(throttle("a@example.com")).await.is_err());
    assert!(s.publish_durable(throttle("b@example.com")).await.is_err());
    assert_eq!(s.audit.dropped(), 0);
    // The queue is full: dropped, refused at once.
    let err = s
        .publish_durable(throttle("c@example.com"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("full"), "{err}");
    assert_eq!(s.audit.dropped(), 1);
    // Once the writer runs, what was queued is kept.
    tokio::spawn(warden_service::audit::writer::run(
        s.clone(),
        std::future::pending(),
    ));
    // (the checkpoint commits what is queued first)
    let cp = s.audit_checkpoint_now().await.unwrap();
    assert_eq!(cp.seq, 2);
    s.publish_durable(throttle("d@example.com")).await.unwrap();
    let users: Vec<String> = all(&s)
        .await
        .into_iter()
        .map(|r| r.entry.user.unwrap())
        .collect();
    assert_eq!(users, ["a@example.com", "b@example.com", "d@example.com"]);
}
