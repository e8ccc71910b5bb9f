//! The rows the cases write, and small readers over what they read back.
//! Shared with the backend-specific tests.

use std::net::IpAddr;

use warden_core::{
    Account, AccountStatus, AppPassword, Coords, Country, Decision, GeoCorrection, Level, Location,
    Name, Outcome, Protocol, RecoveryCode, Role, SecurityEvent, SecurityEventKind, Timestamp,
    TotpEnrolment, WebSession,
};
use warden_store::{
    AccountStore, AccountWrite, HistoryQuery, LoginEvent, ProfileSnapshot, WriteBatch,
};

// ---------------------------------------------------- events & profiles

pub fn event(user: &str, ts: i64) -> LoginEvent {
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

pub fn profile(user: &str, blob: &[u8], ts: i64) -> ProfileSnapshot {
    ProfileSnapshot {
        user: user.to_string(),
        blob: blob.to_vec(),
        updated_at: Timestamp(ts),
        through_event: 0,
    }
}

pub fn events_batch(events: Vec<LoginEvent>) -> WriteBatch {
    WriteBatch {
        events,
        profiles: Vec::new(),
        ..Default::default()
    }
}

pub fn ts_of(events: &[LoginEvent]) -> Vec<i64> {
    events.iter().map(|e| e.ts.secs()).collect()
}

pub fn history(before: Option<i64>, limit: u32) -> HistoryQuery {
    match before {
        Some(b) => HistoryQuery::before(Timestamp(b), limit),
        None => HistoryQuery::latest(limit),
    }
}

// ---------------------------------------------------------- corrections

pub fn full_correction(net: &str) -> GeoCorrection {
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

// ------------------------------------------------------------- accounts

pub const T0: i64 = 1_700_000_000;

pub fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// An account with every optional field set.
pub fn account(user: &str, org: &str) -> Account {
    Account {
        user: user.into(),
        org: org.into(),
        display_name: format!("{user} 张三, \"quoted\""),
        email: Some(format!("{user}@example.com")),
        phone: Some("+86 138 0000 0000".into()),
        role: Role::Admin,
        status: AccountStatus::Locked,
        status_reason: Some("left the company".into()),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        password_changed_at: Some(Timestamp(T0 + 1)),
        must_change_password: true,
        two_factor_changed_at: Some(Timestamp(T0 + 2)),
        lang: Some(warden_core::Lang::Zh),
        created_at: Timestamp(T0),
        updated_at: Timestamp(T0 + 3),
    }
}

/// An account with every optional field empty.
pub fn bare_account(user: &str, org: &str) -> Account {
    Account {
        user: user.into(),
        org: org.into(),
        display_name: String::new(),
        email: None,
        phone: None,
        role: Role::User,
        status: AccountStatus::Active,
        status_reason: None,
        password_hash: None,
        password_changed_at: None,
        must_change_password: false,
        two_factor_changed_at: None,
        lang: None,
        created_at: Timestamp(-1),
        updated_at: Timestamp(0),
    }
}

pub fn sec_event(user: &str, kind: SecurityEventKind, ts: i64) -> SecurityEvent {
    SecurityEvent {
        id: 0,
        ts: Timestamp(ts),
        user: user.into(),
        kind,
        actor: "admin".into(),
        ip: Some(ip("2001:db8::7")),
        detail: format!("{kind} at {ts}"),
    }
}

pub fn code(user: &str, name: &str, digest: u8) -> AppPassword {
    AppPassword {
        id: 0,
        user: user.into(),
        name: name.into(),
        digest: [digest; 32],
        protocols: [Protocol::Imap, Protocol::Smtp].into_iter().collect(),
        created_at: Timestamp(T0),
        last_used_at: None,
        last_used_ip: None,
        expires_at: None,
        revoked_at: None,
    }
}

pub fn session(digest: u8, user: &str, expires_at: i64) -> WebSession {
    WebSession {
        digest: [digest; 32],
        user: user.into(),
        created_at: Timestamp(T0),
        expires_at: Timestamp(expires_at),
        ip: ip("198.51.100.23"),
        user_agent: Some("Mozilla/5.0".into()),
        revoked_at: None,
    }
}

pub fn recovery(user: &str, digests: &[u8]) -> Vec<RecoveryCode> {
    digests
        .iter()
        .map(|&d| RecoveryCode {
            user: user.into(),
            digest: [d; 32],
            used_at: None,
        })
        .collect()
}

pub fn pending_totp(user: &str) -> TotpEnrolment {
    TotpEnrolment {
        user: user.into(),
        sealed_secret: vec![0, 1, 2, 250, 255],
        created_at: Timestamp(T0),
        confirmed_at: None,
        last_step: None,
    }
}

pub fn create(account: Account) -> AccountWrite {
    let user = account.user.to_string();
    AccountWrite {
        account: Some(account),
        create: true,
        events: vec![sec_event(&user, SecurityEventKind::AccountCreated, T0)],
        ..AccountWrite::default()
    }
}

pub async fn add(store: &impl AccountStore, account: Account) {
    store.commit(&create(account)).await.unwrap();
}

pub fn kinds(events: &[SecurityEvent]) -> Vec<SecurityEventKind> {
    events.iter().map(|e| e.kind).collect()
}

pub async fn event_count(store: &impl AccountStore, user: &str) -> usize {
    store.security_events(user, 1_000).await.unwrap().len()
}

pub async fn session_revoked_at(store: &impl AccountStore, digest: u8) -> Option<Timestamp> {
    store
        .session(&[digest; 32])
        .await
        .unwrap()
        .unwrap()
        .revoked_at
}

/// Sets alice up with one of every credential.
pub async fn alice_with_credentials(store: &impl AccountStore) {
    add(store, account("alice", "example")).await;
    let e = sec_event("alice", SecurityEventKind::AppPasswordCreated, T0);
    store
        .insert_app_password(&code("alice", "Foxmail", 1), &e)
        .await
        .unwrap();
    store
        .insert_session(&session(9, "alice", T0 + 3_600))
        .await
        .unwrap();
    store.put_totp(&pending_totp("alice")).await.unwrap();
    let e = sec_event("alice", SecurityEventKind::TwoFactorEnabled, T0);
    store
        .confirm_totp(
            "alice",
            Timestamp(T0),
            10,
            &recovery("alice", &[1, 2, 3]),
            &[e],
        )
        .await
        .unwrap();
    let write = AccountWrite {
        account: Some(account("alice", "example")),
        remember_password: Some(("old-hash".into(), 5)),
        ..AccountWrite::default()
    };
    store.commit(&write).await.unwrap();
}
