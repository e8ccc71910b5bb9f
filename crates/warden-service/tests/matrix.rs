//! The conformance matrix in process: the same scenarios through every way a
//! login comes in — evaluate + report, the credential check (what the Lua
//! passdb and `warden checkpassword` call), Dovecot's policy with Warden
//! verifying the password (mode A) and with Dovecot keeping it (mode B) —
//! asserting the same decision, the same history record and the same effect
//! on the counters, or the documented difference (docs/integrations/).
//! The real daemons run the same scenarios in `crates/warden/tests/e2e/`.
//!
//! Each case builds its own service on a real SQLite file in a temp dir and
//! a small MMDB fixture, with a clock the test moves.

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use warden_auth::{Argon2Params, SecretKey};
use warden_core::{
    Account, AccountStatus, Clock, Engine, FailureReason, Outcome, Policy, Protocol, Role,
    SecurityEventKind, Timestamp, VerifyReason,
};
use warden_geo::mmdb_writer::DbipFixture;
use warden_geo::IpIntel;
use warden_service::events::{DomainEvent, EntryPoint, Subscriber};
use warden_service::pipeline::evaluate::ReportOf;
use warden_service::pipeline::mail::{MailAnswer, MailCheck, MailReport};
use warden_service::pipeline::{password_fingerprint, AttemptFields, LoginSettings};
use warden_service::{AuthSettings, Credentials, Events, Service, ShortLived};
use warden_store::{
    AccountStore, AccountWrite, BatchConfig, BatchWriter, HistoryQuery, SqliteStore, Store,
};

const PW: &str = "correct horse battery staple";
const HOME: &str = "113.88.1.10";
const ATTACKER: &str = "81.2.69.7";
const LAGOS: &str = "105.112.7.7";
/// 2026-03-01T00:00:00Z
const T0: i64 = 1_772_323_200;

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

/// Keeps what the pipeline published, as short lines.
#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

impl Subscriber for Seen {
    fn on(&self, e: &DomainEvent<'_>) {
        if let DomainEvent::LoginRecorded {
            entry,
            attempt,
            outcome,
            refusal,
            alert,
            ..
        } = e
        {
            self.0.lock().push(format!(
                "{} {} {:?} {:?} alert={alert}",
                entry.as_str(),
                attempt.user,
                outcome,
                refusal
            ));
        }
    }
}

/// The ways in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// `/v1/evaluate`, the mail server's own password check, `/v1/report`
    /// (with the wrong password's fingerprint).
    EvaluateReport,
    /// `/v1/auth/verify` (Lua passdb, checkpassword).
    Verify,
    /// Dovecot's policy, Warden verifies (mode A).
    DovecotA,
    /// Dovecot's policy, Dovecot verifies (mode B).
    DovecotB,
}

const WAYS: [Way; 4] = [
    Way::EvaluateReport,
    Way::Verify,
    Way::DovecotA,
    Way::DovecotB,
];

/// How one login ended, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen2 {
    LoggedIn,
    Refused(Option<VerifyReason>),
}

struct World {
    service: Arc<Service<SqliteStore>>,
    clock: Arc<TestClock>,
    seen: Arc<Seen>,
    session: std::sync::atomic::AtomicU64,
    _dir: tempfile::TempDir,
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
        .city(
            "105.112.0.0/16",
            "NG",
            "Lagos",
            "Lagos",
            6.52,
            3.38,
            "Africa/Lagos",
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
        "105.112.0.0,105.112.255.255,36873,Airtel Networks Limited\n113.88.0.0,113.88.255.255,4134,Chinanet\n81.2.69.0,81.2.69.255,20712,Andrews & Arnold\n",
    )
    .unwrap();
}

impl World {
    async fn new(protection: bool) -> World {
        World::with_policy(protection, Policy::default()).await
    }

    /// A world whose engine runs `policy`.
    async fn with_policy(protection: bool, policy: Policy) -> World {
        let dir = tempfile::tempdir().unwrap();
        write_geo(dir.path());
        let intel = IpIntel::builder().data_dir(dir.path()).build().unwrap();
        let store = Arc::new(
            SqliteStore::open(dir.path().join("warden.db"))
                .await
                .unwrap(),
        );
        store.migrate().await.unwrap();
        let writer = BatchWriter::spawn(store.clone(), BatchConfig::default()).unwrap();
        let clock = Arc::new(TestClock(AtomicI64::new(T0)));
        let seen = Arc::new(Seen::default());
        let auth = AuthSettings {
            argon2: Argon2Params {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            },
            ..AuthSettings::default()
        };
        let service = Arc::new(Service {
            engine: Engine::new(policy).unwrap().into(),
            intel: Arc::new(intel),
            store,
            writer,
            short: ShortLived::memory(),
            clock: clock.clone(),
            credentials: Credentials::new(auth, SecretKey::generate()).unwrap(),
            settings: LoginSettings::default(),
            texts: Default::default(),
            rates: Default::default(),
            events: Events::standard().with(seen.clone()),
            snapshots: Default::default(),
            alerts: Default::default(),
            notify: Default::default(),
            answers: Default::default(),
            blocks: Default::default(),
            policies: warden_service::policies::Policies::with_default(
                warden_core::AccountPolicy {
                    login_protection: if protection {
                        warden_core::ProtectionLevel::Challenged
                    } else {
                        warden_core::ProtectionLevel::Off
                    },
                    ..Default::default()
                },
            ),
            devices: Default::default(),
            stepup: Default::default(),
            sensitive: Default::default(),
            audit: warden_service::audit::AuditLog::new(
                warden_audit::AuditSigner::from_seed(&[7; 32]).unwrap(),
                Default::default(),
            ),
            incidents: Default::default(),
        });
        World {
            service,
            clock,
            seen,
            session: Default::default(),
            _dir: dir,
        }
    }

    fn advance(&self, secs: i64) {
        self.clock.0.fetch_add(secs, Ordering::SeqCst);
    }

    async fn create(&self, user: &str) {
        let now = self.service.now();
        let hash = self.service.credentials.hash(PW.into()).await.unwrap();
        self.service
            .store
            .commit(&AccountWrite {
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
                ..AccountWrite::default()
            })
            .await
            .unwrap();
    }

    /// One login through `way`, as the client would see it.
    /// An IMAP attempt by `user` from `ip` now.
    fn attempt(&self, user: &str, ip: &str) -> warden_core::LoginAttempt {
        self.service
            .attempt(AttemptFields {
                user,
                ip,
                protocol: Protocol::Imap,
                ts: None,
                device: None,
                user_agent: None,
            })
            .unwrap()
    }

    async fn login(&self, way: Way, user: &str, password: &str, ip: &str, tls: bool) -> Seen2 {
        let s = &self.service;
        let attempt = || self.attempt(user, ip);
        // Dovecot's pwhash: a short hash of the password.
        let pwhash = format!(
            "{:03x}",
            warden_core::hash::stable_hash(&[password.as_bytes()]) & 0xfff
        );
        // The mail server's own check (modes B and evaluate + report): the
        // password in Dovecot's passwd-file is PW.
        let right = password == PW;
        match way {
            Way::Verify => {
                let v = s.verify(attempt(), password.into(), tls).await.unwrap();
                match v.verdict.reason {
                    None => Seen2::LoggedIn,
                    r => Seen2::Refused(r),
                }
            }
            Way::EvaluateReport => {
                let a = attempt();
                let id = s.evaluate(a, |e| e.id).await;
                let outcome = if right {
                    Outcome::Success
                } else {
                    Outcome::Failure(FailureReason::WrongPassword)
                };
                s.report(
                    ReportOf::Evaluation { id, user: None },
                    outcome,
                    password_fingerprint(&pwhash),
                )
                .await
                .unwrap();
                if right {
                    Seen2::LoggedIn
                } else {
                    Seen2::Refused(Some(VerifyReason::WrongPassword))
                }
            }
            Way::DovecotA | Way::DovecotB => {
                let a_mode = way == Way::DovecotA;
                let key = format!("s{}", self.session.fetch_add(1, Ordering::SeqCst));
                let check = |a| MailCheck {
                    key: key.clone(),
                    attempt: a,
                    fingerprint: password_fingerprint(&pwhash),
                    tls,
                    warden_verifies: a_mode,
                };
                let report = |success: bool, rejected: bool| MailReport {
                    key: key.clone(),
                    attempt: attempt(),
                    fingerprint: password_fingerprint(&pwhash),
                    success,
                    policy_rejected: rejected,
                    warden_verifies: a_mode,
                };
                let before = s.mail_check(check(attempt())).await.unwrap();
                if let MailAnswer::Refuse(v) = before.answer {
                    s.mail_report(report(false, true)).await.unwrap();
                    return Seen2::Refused(v.reason);
                }
                // The passdb: Warden's verify (mode A) or Dovecot's own.
                let passed = if a_mode {
                    let v = s.verify(attempt(), password.into(), tls).await.unwrap();
                    if v.verdict.reason.is_some() {
                        s.mail_report(report(false, false)).await.unwrap();
                        return Seen2::Refused(v.verdict.reason);
                    }
                    true
                } else {
                    right
                };
                if !passed {
                    s.mail_report(report(false, false)).await.unwrap();
                    return Seen2::Refused(Some(VerifyReason::WrongPassword));
                }
                let after = s.mail_check(check(attempt())).await.unwrap();
                match after.answer {
                    MailAnswer::Refuse(v) => {
                        s.mail_report(report(false, true)).await.unwrap();
                        Seen2::Refused(v.reason)
                    }
                    _ => {
                        s.mail_report(report(true, false)).await.unwrap();
                        Seen2::LoggedIn
                    }
                }
            }
        }
    }

    /// The newest `limit` history records of `user`.
    async fn history(&self, user: &str, limit: u32) -> Vec<warden_store::LoginEvent> {
        let q = HistoryQuery {
            before: None,
            after: None,
            limit,
        };
        self.service.store.history(user, q).await.unwrap()
    }

    /// The newest history record of `user`: (outcome, Warden's reason, alert).
    async fn last(&self, user: &str) -> (Outcome, Option<VerifyReason>, bool) {
        let e = &self.history(user, 1).await[0];
        (e.outcome, e.auth_reason, e.alert)
    }

    async fn records(&self, user: &str) -> usize {
        self.history(user, 1000).await.len()
    }

    /// A week of logins from home, so home is usual.
    async fn habit(&self, way: Way, user: &str) {
        for _ in 0..8 {
            assert_eq!(self.login(way, user, PW, HOME, true).await, Seen2::LoggedIn);
            self.advance(86_400);
        }
    }

    /// An admin changes the account's status.
    async fn status(&self, user: &str, status: AccountStatus, kind: SecurityEventKind) {
        self.service
            .set_status(user, status, Some("by the test".into()), kind, None)
            .await
            .unwrap();
    }

    async fn locked_out(&self, user: &str, ip: &str) -> bool {
        let ip: IpAddr = ip.parse().unwrap();
        let attacks = self.service.attacks();
        self.service
            .short
            .signals(user, ip, self.service.now(), &attacks)
            .await
            .lockout
            .is_some()
    }
}

#[tokio::test]
async fn a_correct_login_from_home_is_one_success_everywhere() {
    for way in WAYS {
        let w = World::new(false).await;
        w.create("kim").await;
        assert_eq!(
            w.login(way, "kim", PW, HOME, true).await,
            Seen2::LoggedIn,
            "{way:?}"
        );
        assert_eq!(
            w.last("kim").await,
            (Outcome::Success, None, false),
            "{way:?}"
        );
        assert_eq!(w.records("kim").await, 1, "{way:?}: one record per login");
        let seen = w.seen.0.lock().clone();
        assert_eq!(seen.len(), 1, "{way:?}: {seen:?}");
    }
}

#[tokio::test]
async fn a_stale_client_repeating_one_wrong_password_never_locks_its_owner_out() {
    for way in WAYS {
        let w = World::new(false).await;
        w.create("kim").await;
        w.habit(way, "kim").await;
        for _ in 0..8 {
            assert_eq!(
                w.login(way, "kim", "last year's password", HOME, true)
                    .await,
                Seen2::Refused(Some(VerifyReason::WrongPassword)),
                "{way:?}"
            );
            w.advance(30);
        }
        assert!(!w.locked_out("kim", HOME).await, "{way:?}");
        assert_eq!(
            w.login(way, "kim", PW, HOME, true).await,
            Seen2::LoggedIn,
            "{way:?}"
        );
    }
}

#[tokio::test]
async fn six_guesses_lock_the_attacker_address_out_while_home_still_logs_in() {
    for way in WAYS {
        let w = World::new(false).await;
        w.create("kim").await;
        w.habit(way, "kim").await;
        for i in 0..6 {
            let r = w
                .login(way, "kim", &format!("guess {i}"), ATTACKER, true)
                .await;
            assert!(matches!(r, Seen2::Refused(_)), "{way:?}: {r:?}");
            w.advance(20);
        }
        assert!(w.locked_out("kim", ATTACKER).await, "{way:?}");
        let from_there = w.login(way, "kim", PW, ATTACKER, true).await;
        match way {
            // The mail server checked the password and reported a success
            // Warden had advised against: evaluate said deny.
            Way::EvaluateReport => assert_eq!(from_there, Seen2::LoggedIn),
            _ => assert_eq!(
                from_there,
                Seen2::Refused(Some(VerifyReason::LockedByRiskControl)),
                "{way:?}"
            ),
        }
        if way != Way::EvaluateReport {
            let (outcome, reason, _) = w.last("kim").await;
            assert_eq!(
                (outcome, reason),
                (
                    Outcome::Failure(FailureReason::Blocked),
                    Some(VerifyReason::LockedByRiskControl),
                ),
                "{way:?}: the refusal is in the history"
            );
        }
        assert_eq!(
            w.login(way, "kim", PW, HOME, true).await,
            Seen2::LoggedIn,
            "{way:?}"
        );
    }
}

#[tokio::test]
async fn a_correct_login_from_abroad_alerts_without_protection_and_is_refused_with_it() {
    for protection in [false, true] {
        for way in WAYS {
            let w = World::new(protection).await;
            w.create("kim").await;
            w.habit(way, "kim").await;
            w.advance(3 * 86_400);
            let r = w.login(way, "kim", PW, LAGOS, true).await;
            let (outcome, reason, alert) = w.last("kim").await;
            let published = w.seen.0.lock().last().cloned().unwrap_or_default();
            if !protection || way == Way::EvaluateReport {
                // Evaluate only advises (decision: challenge); the mail
                // server decides.
                assert_eq!(r, Seen2::LoggedIn, "{way:?} protection={protection}");
                assert_eq!((outcome, reason), (Outcome::Success, None), "{way:?}");
                assert!(alert, "{way:?}: the success carries the alert");
                assert!(
                    published.ends_with("Success None alert=true"),
                    "{way:?}: the recorded login is published with its alert: {published}"
                );
            } else {
                assert_eq!(
                    r,
                    Seen2::Refused(Some(VerifyReason::VerificationRequired)),
                    "{way:?}"
                );
                assert_eq!(reason, Some(VerifyReason::VerificationRequired), "{way:?}");
                assert!(!outcome.is_success(), "{way:?}");
                assert!(
                    published.ends_with("Some(VerificationRequired) alert=false"),
                    "{way:?}: a refusal raises no alert: {published}"
                );
            }
        }
    }
}

#[tokio::test]
async fn an_admin_lock_and_a_disabled_account_stop_logins_until_undone() {
    for way in [Way::Verify, Way::DovecotA, Way::DovecotB] {
        let w = World::new(false).await;
        w.create("kim").await;
        w.habit(way, "kim").await;
        w.status(
            "kim",
            AccountStatus::Locked,
            SecurityEventKind::AccountLocked,
        )
        .await;
        assert_eq!(
            w.login(way, "kim", PW, HOME, true).await,
            Seen2::Refused(Some(VerifyReason::AccountLocked)),
            "{way:?}"
        );
        assert_eq!(
            w.last("kim").await.1,
            Some(VerifyReason::AccountLocked),
            "{way:?}"
        );
        // A wrong password learns nothing about the lock.
        assert_eq!(
            w.login(way, "kim", "guess", HOME, true).await,
            Seen2::Refused(Some(VerifyReason::WrongPassword)),
            "{way:?}"
        );
        w.status(
            "kim",
            AccountStatus::Active,
            SecurityEventKind::AccountUnlocked,
        )
        .await;
        assert_eq!(
            w.login(way, "kim", PW, HOME, true).await,
            Seen2::LoggedIn,
            "{way:?}"
        );
        w.status(
            "kim",
            AccountStatus::Disabled,
            SecurityEventKind::AccountDisabled,
        )
        .await;
        assert_eq!(
            w.login(way, "kim", PW, HOME, true).await,
            Seen2::Refused(Some(VerifyReason::AccountDisabled)),
            "{way:?}"
        );
    }
}

#[tokio::test]
async fn plaintext_is_refused_before_the_password_where_the_connection_is_known() {
    for way in [Way::Verify, Way::DovecotA, Way::DovecotB] {
        let w = World::new(false).await;
        w.create("kim").await;
        assert_eq!(
            w.login(way, "kim", PW, HOME, false).await,
            Seen2::Refused(Some(VerifyReason::TlsRequired)),
            "{way:?}"
        );
        assert_eq!(
            w.last("kim").await.1,
            Some(VerifyReason::TlsRequired),
            "{way:?}"
        );
        assert_eq!(w.records("kim").await, 1, "{way:?}");
    }
}

#[tokio::test]
async fn every_recorded_login_is_published_once() {
    let w = World::new(false).await;
    w.create("kim").await;
    for way in WAYS {
        w.login(way, "kim", PW, HOME, true).await;
        w.login(way, "kim", "guess", HOME, true).await;
    }
    let seen = w.seen.0.lock().clone();
    assert_eq!(seen.len(), w.records("kim").await, "{seen:#?}");
    for entry in [
        EntryPoint::Evaluate,
        EntryPoint::Verify,
        EntryPoint::DovecotPolicy,
    ] {
        assert!(
            seen.iter().any(|l| l.starts_with(entry.as_str())),
            "{entry:?}: {seen:#?}"
        );
    }
}

/// The address's /24 and network are the user's, but no login came from
/// this address before: it could be anyone on the same provider.
const NEIGHBOUR: &str = "113.88.200.10";

/// What the engine says of a login by `user` from `ip` now, before it.
async fn decision(w: &World, user: &str, ip: &str) -> warden_core::Decision {
    let a = w.attempt(user, ip);
    w.service.assess(&a).await.assessment.decision
}

#[tokio::test]
async fn guesses_from_one_address_or_many_never_lock_the_owner_out_at_home() {
    use warden_core::Decision;
    for way in WAYS {
        // With login protection: a challenge refuses a mail client.
        let w = World::new(true).await;
        w.create("kim").await;
        w.habit(way, "kim").await;
        assert_eq!(
            decision(&w, "kim", NEIGHBOUR).await,
            Decision::Allow,
            "{way:?}"
        );

        // One address: locked out after its guesses, and its refused
        // attempts (two a minute) do not count against the account.
        for i in 0..40 {
            let r = w
                .login(way, "kim", &format!("guess {i}"), ATTACKER, true)
                .await;
            assert!(matches!(r, Seen2::Refused(_)), "{way:?}: {r:?}");
            w.advance(30);
        }
        assert!(w.locked_out("kim", ATTACKER).await, "{way:?}");
        assert_eq!(
            w.login(way, "kim", PW, HOME, true).await,
            Seen2::LoggedIn,
            "{way:?}: the owner at home, during the lockout of one address"
        );
        assert_eq!(
            decision(&w, "kim", NEIGHBOUR).await,
            Decision::Allow,
            "{way:?}: one locked-out address does not put the account under attack"
        );

        // Many addresses, slowly: each guesses once, a guess every 20 s.
        for i in 0..60 {
            let ip = format!("105.112.{}.{}", i / 200, 1 + i % 200);
            let r = w.login(way, "kim", &format!("spray {i}"), &ip, true).await;
            assert!(matches!(r, Seen2::Refused(_)), "{way:?}: {r:?}");
            w.advance(20);
            if i % 10 == 9 {
                // The owner keeps getting in from home throughout.
                assert_eq!(
                    w.login(way, "kim", PW, HOME, true).await,
                    Seen2::LoggedIn,
                    "{way:?}: the owner at home after {} distributed guesses",
                    i + 1
                );
            }
        }
        // Anyone else — even with the right password, even on the owner's
        // provider — is challenged while the guesses go on.
        assert_eq!(
            decision(&w, "kim", NEIGHBOUR).await,
            Decision::Challenge,
            "{way:?}"
        );
        if way != Way::EvaluateReport {
            assert_eq!(
                w.login(way, "kim", PW, NEIGHBOUR, true).await,
                Seen2::Refused(Some(VerifyReason::VerificationRequired)),
                "{way:?}: a new address during the attack"
            );
        }
        // Once the guesses stop, the window passes and the challenge ends.
        w.advance(6 * 60);
        assert_eq!(
            decision(&w, "kim", NEIGHBOUR).await,
            Decision::Allow,
            "{way:?}"
        );
    }
}

#[tokio::test]
async fn the_answer_before_the_password_does_not_tell_who_exists() {
    use warden_core::Decision;
    // A policy under which kim's profile makes a login from Lagos a denial.
    let mut policy = Policy::default();
    policy.thresholds.medium = 0.2;
    policy.thresholds.high = 0.3;
    for way in [Way::Verify, Way::DovecotA, Way::DovecotB] {
        let w = World::with_policy(false, policy.clone()).await;
        w.create("kim").await;
        w.habit(way, "kim").await;
        assert_eq!(decision(&w, "kim", LAGOS).await, Decision::Deny, "{way:?}");
        assert_eq!(
            decision(&w, "nobody", LAGOS).await,
            Decision::Allow,
            "{way:?}"
        );

        // Dovecot's check before the password answers both alike.
        if way != Way::Verify {
            for user in ["kim", "nobody"] {
                let a = w.attempt(user, LAGOS);
                let before = w
                    .service
                    .mail_check(MailCheck {
                        key: format!("probe-{user}-{way:?}"),
                        attempt: a,
                        fingerprint: None,
                        tls: true,
                        warden_verifies: way == Way::DovecotA,
                    })
                    .await
                    .unwrap();
                assert_eq!(before.answer, MailAnswer::Go, "{way:?} {user}");
            }
        }
        // A guess: the same answer for both, after a password check for
        // both (kim's is counted as her wrong password).
        let kim = w.login(way, "kim", "guess", LAGOS, true).await;
        let nobody = w.login(way, "nobody", "guess", LAGOS, true).await;
        assert_eq!(
            kim,
            Seen2::Refused(Some(VerifyReason::WrongPassword)),
            "{way:?}"
        );
        assert_eq!(nobody, kim, "{way:?}");
        assert_eq!(
            w.last("kim").await.0,
            Outcome::Failure(FailureReason::WrongPassword),
            "{way:?}"
        );
        // Whoever knows kim's password learns the denial.
        assert_eq!(
            w.login(way, "kim", PW, LAGOS, true).await,
            Seen2::Refused(Some(VerifyReason::DenyRisk)),
            "{way:?}"
        );
    }
}
