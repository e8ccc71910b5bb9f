//! Sessions and devices through the pipeline: every successful login
//! records its device (by its recorder subscriber and writer task), a
//! signed-out device is refused until it brings a credential issued since
//! or is approved, logging out everywhere with codes makes the old code
//! fail, and new-device approval holds a new device until it is approved —
//! through the credential check and Dovecot's policy (mode B).
//!
//! Each case builds its own service on a real SQLite file in a temp dir and
//! a small MMDB fixture, with a clock the test moves.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use warden_auth::{codes::AppPasswordSecret, Argon2Params, SecretKey};
use warden_core::{
    Account, AccountPolicy, AccountStatus, AppPassword, Clock, Engine, Lang, Outcome, Policy,
    ProtocolSet, Role, SecurityEventKind, SessionState, Timestamp, VerifyReason,
};
use warden_geo::mmdb_writer::DbipFixture;
use warden_geo::IpIntel;
use warden_service::credentials::{event, Actor};
use warden_service::devices::DeviceSettings;
use warden_service::events::{DomainEvent, Subscriber};
use warden_service::pipeline::evaluate::ReportOf;
use warden_service::pipeline::mail::{MailAnswer, MailCheck, MailReport};
use warden_service::pipeline::{AttemptFields, LoginSettings};
use warden_service::policies::Policies;
use warden_service::{AuthSettings, Credentials, Events, Service, ShortLived};
use warden_store::{AccountStore, AccountWrite, BatchConfig, BatchWriter, SqliteStore, Store};

const PW: &str = "correct horse battery staple";
const HOME: &str = "113.88.1.10";
const THUNDERBIRD: &str = r#"("name" "Thunderbird" "version" "115.3" "os" "Linux")"#;
const IPHONE: &str = r#"("name" "iPhone Mail" "os" "iOS" "os-version" "17.1")"#;
/// 2026-03-01T00:00:00Z
const T0: i64 = 1_772_323_200;

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

/// The device actions published, as `action user device actor`.
#[derive(Default)]
struct Acts(parking_lot::Mutex<Vec<String>>);

impl Subscriber for Acts {
    fn on(&self, e: &DomainEvent<'_>) {
        if let DomainEvent::DeviceActed {
            user,
            device,
            action,
            actor,
            ..
        } = e
        {
            self.0.lock().push(format!(
                "{} {user} {} {}",
                action.as_str(),
                device.unwrap_or("*"),
                actor.as_str()
            ));
        }
    }
}

struct World {
    service: Arc<Service<SqliteStore>>,
    clock: Arc<TestClock>,
    acts: Arc<Acts>,
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
        .write_pair(dir)
        .unwrap();
    std::fs::write(
        dir.join("asn-ipv4.csv"),
        "113.88.0.0,113.88.255.255,4134,Chinanet\n",
    )
    .unwrap();
}

impl World {
    async fn new(approval: bool, devices: DeviceSettings) -> World {
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
        let acts = Arc::new(Acts::default());
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
            settings: LoginSettings::default(),
            texts: Default::default(),
            rates: Default::default(),
            events: Events::standard()
                .with(devices.recorder())
                .with(acts.clone()),
            snapshots: Default::default(),
            alerts: Default::default(),
            notify: Default::default(),
            answers: Default::default(),
            blocks: Default::default(),
            policies: Policies::with_default(AccountPolicy {
                new_device_approval: approval,
                ..Default::default()
            }),
            devices,
            stepup: Default::default(),
            sensitive: Default::default(),
            audit: warden_service::audit::AuditLog::new(
                warden_audit::AuditSigner::from_seed(&[7; 32]).unwrap(),
                Default::default(),
            ),
            incidents: Default::default(),
        });
        tokio::spawn(warden_service::devices::run(
            service.clone(),
            std::future::pending(),
        ));
        let w = World {
            service,
            clock,
            acts,
            _dir: dir,
        };
        w.create("kim").await;
        w
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

    /// A new authorization code of kim, created now.
    async fn new_code(&self) -> String {
        let now = self.service.now();
        let secret = AppPasswordSecret::generate();
        let record = AppPassword {
            id: 0,
            user: "kim".into(),
            name: "phone".into(),
            digest: secret.digest(),
            protocols: ProtocolSet::all(),
            created_at: now,
            last_used_at: None,
            last_used_ip: None,
            expires_at: None,
            revoked_at: None,
        };
        let ev = event(
            None,
            now,
            "kim",
            SecurityEventKind::AppPasswordCreated,
            Actor::User,
            "phone",
        );
        self.service
            .store
            .insert_app_password(&record, &ev)
            .await
            .unwrap();
        secret.as_str().to_string()
    }

    fn attempt(&self, ua: &str) -> warden_core::LoginAttempt {
        self.service
            .attempt(AttemptFields {
                user: "kim",
                ip: HOME,
                protocol: warden_core::Protocol::Imap,
                ts: None,
                device: None,
                user_agent: Some(ua),
            })
            .unwrap()
    }

    /// A credential check (the Lua passdb, checkpassword).
    async fn verify(&self, ua: &str, secret: &str) -> Option<VerifyReason> {
        let v = self
            .service
            .verify(self.attempt(ua), secret.into(), true)
            .await
            .unwrap();
        v.verdict.reason
    }

    /// Dovecot's policy with Dovecot checking the (right) password: the
    /// check after the password; then the report.
    async fn dovecot(&self, ua: &str, key: &str) -> Option<VerifyReason> {
        let s = &self.service;
        let check = || MailCheck {
            key: key.into(),
            attempt: self.attempt(ua),
            fingerprint: None,
            tls: true,
            warden_verifies: false,
        };
        let before = s.mail_check(check()).await.unwrap();
        assert!(
            matches!(before.answer, MailAnswer::Go),
            "before the password"
        );
        let after = s.mail_check(check()).await.unwrap();
        let (reason, rejected) = match after.answer {
            MailAnswer::Refuse(v) => (v.reason, true),
            _ => (None, false),
        };
        s.mail_report(MailReport {
            key: key.into(),
            attempt: self.attempt(ua),
            fingerprint: None,
            success: !rejected,
            policy_rejected: rejected,
            warden_verifies: false,
        })
        .await
        .unwrap();
        reason
    }

    async fn sessions(&self) -> Vec<warden_core::DeviceSession> {
        self.service.device_sessions("kim").await.unwrap()
    }

    fn acts(&self) -> Vec<String> {
        std::mem::take(&mut *self.acts.0.lock())
    }
}

#[tokio::test]
async fn every_successful_login_opens_or_refreshes_its_device_session() {
    let w = World::new(false, DeviceSettings::default()).await;
    assert_eq!(w.verify(THUNDERBIRD, PW).await, None);
    w.advance(60);
    assert_eq!(w.dovecot(IPHONE, "s1").await, None);
    // Evaluate + report: the mail server checked the password.
    let s = &w.service;
    w.advance(60);
    let id = s.evaluate(w.attempt(THUNDERBIRD), |e| e.id).await;
    s.report(
        ReportOf::Evaluation { id, user: None },
        Outcome::Success,
        None,
    )
    .await
    .unwrap();
    // A wrong password opens nothing.
    assert_eq!(
        w.verify("Foxmail 7.2", "wrong").await,
        Some(VerifyReason::WrongPassword)
    );

    let list = w.sessions().await;
    let got: Vec<_> = list
        .iter()
        .map(|s| {
            (
                s.device.as_str(),
                s.client.as_deref(),
                s.os.as_deref(),
                s.city.as_deref(),
                s.state,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "thunderbird/imap",
                Some("Thunderbird 115.3"),
                Some("Linux"),
                Some("Shenzhen"),
                SessionState::Active
            ),
            (
                "ios mail/imap",
                Some("iOS Mail"),
                Some("iOS 17.1"),
                Some("Shenzhen"),
                SessionState::Active
            ),
        ]
    );
    let tb = &list[0];
    assert_eq!(tb.first_seen, Timestamp(T0));
    assert_eq!(tb.last_seen, Timestamp(T0 + 120), "refreshed by the report");
    assert_eq!(
        tb.country.map(|c| c.as_str().to_string()).as_deref(),
        Some("CN")
    );
    assert!(w.acts().is_empty(), "recording is no action");
}

#[tokio::test]
async fn a_signed_out_device_is_refused_until_a_new_credential_or_an_approval() {
    let w = World::new(false, DeviceSettings::default()).await;
    assert_eq!(w.verify(THUNDERBIRD, PW).await, None);
    assert_eq!(w.verify(IPHONE, PW).await, None);
    let tb = w
        .sessions()
        .await
        .into_iter()
        .find(|s| s.device == "thunderbird/imap")
        .unwrap();
    w.advance(10);
    let revoked = w
        .service
        .revoke_device("kim", tb.id, Actor::User, None)
        .await
        .unwrap();
    assert_eq!(revoked.state, SessionState::Revoked);
    assert_eq!(revoked.state_at, Timestamp(T0 + 10));
    assert_eq!(w.acts(), ["revoked kim thunderbird/imap user"]);
    w.advance(10);
    // The same password again: refused, with when and what to do.
    let v = w
        .service
        .verify(w.attempt(THUNDERBIRD), PW.into(), true)
        .await
        .unwrap();
    assert_eq!(v.verdict.reason, Some(VerifyReason::SessionRevoked));
    let text = v.verdict.message(Lang::En, 480).unwrap();
    assert!(text.contains("signed out of your account at"), "{text}");
    assert_eq!(v.verdict.reason.unwrap().imap_code(), "ALERT");
    // Dovecot's own password check too; the other device is untouched.
    assert_eq!(
        w.dovecot(THUNDERBIRD, "s1").await,
        Some(VerifyReason::SessionRevoked)
    );
    assert_eq!(w.verify(IPHONE, PW).await, None);
    // The refusal is in the history with its reason.
    let h = w
        .service
        .store
        .history(
            "kim",
            warden_store::HistoryQuery {
                before: None,
                after: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert!(h
        .iter()
        .any(|e| e.auth_reason == Some(VerifyReason::SessionRevoked)));

    // Approved again: in.
    w.service
        .approve_device("kim", tb.id, Actor::Admin, None)
        .await
        .unwrap();
    assert_eq!(w.verify(THUNDERBIRD, PW).await, None);
    assert_eq!(w.acts(), ["approved kim thunderbird/imap admin"]);

    // Signed out again, then a code created after it: the device is back.
    w.service
        .revoke_device("kim", tb.id, Actor::Admin, None)
        .await
        .unwrap();
    w.advance(5);
    let code = w.new_code().await;
    assert_eq!(
        w.verify(THUNDERBIRD, PW).await,
        Some(VerifyReason::SessionRevoked)
    );
    assert_eq!(w.verify(THUNDERBIRD, &code).await, None);
    assert_eq!(w.verify(THUNDERBIRD, PW).await, None, "active again");
    assert_eq!(
        w.acts(),
        [
            "revoked kim thunderbird/imap admin",
            "reactivated kim thunderbird/imap system"
        ]
    );

    // Forgotten: a new device's record next time.
    w.service
        .forget_device("kim", tb.id, Actor::User, None)
        .await
        .unwrap();
    assert!(w.sessions().await.iter().all(|s| s.id != tb.id));
    assert!(matches!(
        w.service
            .revoke_device("kim", tb.id, Actor::User, None)
            .await,
        Err(warden_service::ServiceError::NotFound(_))
    ));
}

#[tokio::test]
async fn logging_out_everywhere_with_codes_makes_the_old_code_fail() {
    let w = World::new(false, DeviceSettings::default()).await;
    let code = w.new_code().await;
    w.advance(1);
    assert_eq!(w.verify(IPHONE, &code).await, None);
    assert_eq!(w.verify(THUNDERBIRD, PW).await, None);
    let web = w
        .service
        .web_login(
            w.service
                .attempt(AttemptFields {
                    user: "kim",
                    ip: HOME,
                    protocol: warden_core::Protocol::Web,
                    ts: None,
                    device: None,
                    user_agent: Some("Mozilla/5.0 (Windows NT 10.0) Chrome/120"),
                })
                .unwrap(),
            warden_service::pipeline::verify::WebStep::Password(PW.into()),
        )
        .await
        .unwrap();
    let (token, _) = web.session.unwrap();
    assert!(w.service.live_session(&token).await.unwrap().is_some());
    w.advance(60);
    let out = w
        .service
        .logout_everywhere("kim", true, Actor::Admin, None)
        .await
        .unwrap();
    assert_eq!(
        (out.sessions, out.web_sessions, out.app_passwords),
        (3, true, 1)
    );
    assert!(w
        .sessions()
        .await
        .iter()
        .all(|s| s.state == SessionState::Revoked));
    // The web session ends at once; the old code is a wrong password.
    assert!(w.service.live_session(&token).await.unwrap().is_none());
    assert_eq!(
        w.verify(IPHONE, &code).await,
        Some(VerifyReason::WrongPassword)
    );
    assert_eq!(
        w.verify(THUNDERBIRD, PW).await,
        Some(VerifyReason::SessionRevoked)
    );
    let kinds: Vec<_> = w
        .service
        .store
        .security_events("kim", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&SecurityEventKind::SessionsRevoked));
    assert!(kinds.contains(&SecurityEventKind::AppPasswordsRevokedAll));
    assert_eq!(w.acts(), ["logged_out_everywhere kim * admin"]);
    // A new code brings the phone back.
    w.advance(1);
    let fresh = w.new_code().await;
    assert_eq!(w.verify(IPHONE, &fresh).await, None);
}

#[tokio::test]
async fn new_device_approval_holds_a_new_device_until_it_is_approved() {
    let devices = DeviceSettings::new(50, 2, 180, 90);
    let w = World::new(true, devices).await;
    let v = w
        .service
        .verify(w.attempt(THUNDERBIRD), PW.into(), true)
        .await
        .unwrap();
    assert_eq!(v.verdict.reason, Some(VerifyReason::DevicePending));
    let en = v.verdict.message(Lang::En, 480).unwrap();
    assert!(
        en.contains("waits for approval (since 2026-03-01 08:00"),
        "{en}"
    );
    let zh = v.verdict.message(Lang::Zh, 480).unwrap();
    assert!(zh.contains("正在等待批准"), "{zh}");
    // Dovecot's policy (its own password check) holds it too.
    assert_eq!(
        w.dovecot(IPHONE, "s1").await,
        Some(VerifyReason::DevicePending)
    );
    // Bounded: a third new device is refused but not listed.
    assert_eq!(
        w.verify("Foxmail 7.2", PW).await,
        Some(VerifyReason::DevicePending)
    );
    let list = w.sessions().await;
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|s| s.state == SessionState::Pending));
    assert_eq!(
        w.acts(),
        [
            "held kim thunderbird/imap system",
            "held kim ios mail/imap system",
            "held kim foxmail/imap system"
        ]
    );
    // Still pending at the next try: nothing new is held.
    w.advance(300);
    assert_eq!(
        w.verify(THUNDERBIRD, PW).await,
        Some(VerifyReason::DevicePending)
    );
    assert!(w.acts().is_empty());
    // The user approves it: in, and it stays in.
    let tb = list
        .iter()
        .find(|s| s.device == "thunderbird/imap")
        .unwrap();
    w.service
        .approve_device("kim", tb.id, Actor::User, None)
        .await
        .unwrap();
    assert_eq!(w.verify(THUNDERBIRD, PW).await, None);
    assert_eq!(w.verify(THUNDERBIRD, PW).await, None);
    // Trusting the other approves it for a while; out of range is refused.
    let phone = list.iter().find(|s| s.device == "ios mail/imap").unwrap();
    assert!(matches!(
        w.service
            .trust_device("kim", phone.id, 1000, Actor::Admin, None)
            .await,
        Err(warden_service::ServiceError::Invalid(_))
    ));
    let trusted = w
        .service
        .trust_device("kim", phone.id, 30, Actor::Admin, None)
        .await
        .unwrap();
    assert_eq!(
        trusted.trusted_until,
        Some(Timestamp(T0 + 300 + 30 * 86_400))
    );
    assert_eq!(w.dovecot(IPHONE, "s2").await, None);
    let known = w
        .service
        .device_session_of(&w.attempt(IPHONE))
        .await
        .unwrap()
        .unwrap();
    assert!(known.trusted(w.service.now()));
    assert_eq!(
        w.service
            .device_session_of(&w.attempt("Spark 3.1"))
            .await
            .unwrap(),
        None
    );
}
