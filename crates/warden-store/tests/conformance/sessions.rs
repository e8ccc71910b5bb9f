//! [`SessionStore`] cases: a login refreshes its device's row without
//! touching its state, each user keeps only their newest rows, pending
//! devices are bounded, state changes are conditional, and old rows are
//! pruned unless trusted.

use warden_core::{Country, DeviceSession, Protocol, SessionState, Timestamp};
use warden_store::{SessionChange, SessionStore};

use super::data::{ip, T0};
use super::Fixture;

fn session(user: &str, device: &str, seen: i64) -> DeviceSession {
    DeviceSession {
        id: 0,
        user: user.into(),
        device: device.into(),
        client: Some("Thunderbird 115.3".into()),
        os: Some("Linux".into()),
        protocol: Protocol::Imap,
        ip: ip("113.88.1.2"),
        country: Some(Country::new("CN").unwrap()),
        city: Some("Shenzhen 深圳".into()),
        first_seen: Timestamp(T0 + seen),
        last_seen: Timestamp(T0 + seen),
        state: SessionState::Active,
        state_at: Timestamp(T0 + seen),
        state_by: "system".into(),
        trusted_until: None,
    }
}

fn without_id(mut s: DeviceSession) -> DeviceSession {
    s.id = 0;
    s
}

pub async fn sessions_are_refreshed_by_device_keep_their_state_and_are_trimmed<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    let kim = "kim@example.com";
    assert_eq!(
        store.device_session(kim, "thunderbird/imap").await.unwrap(),
        None
    );
    store
        .record_session(&session(kim, "thunderbird/imap", 0), 3)
        .await
        .unwrap();
    let first = store
        .device_session(kim, "thunderbird/imap")
        .await
        .unwrap()
        .unwrap();
    assert!(first.id > 0);
    assert_eq!(
        without_id(first.clone()),
        session(kim, "thunderbird/imap", 0)
    );

    // Revoked, then refreshed by a later login: the place and time move,
    // the state stays.
    let changed = store
        .set_session_state(
            kim,
            Some("thunderbird/imap"),
            &SessionChange {
                from: &[SessionState::Active, SessionState::Pending],
                to: SessionState::Revoked,
                at: Timestamp(T0 + 5),
                by: "admin",
                trusted_until: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(changed, 1);
    let mut later = session(kim, "thunderbird/imap", 10);
    later.ip = ip("2001:db8::7");
    later.country = Some(Country::new("NG").unwrap());
    later.city = Some("Lagos".into());
    later.protocol = Protocol::Smtp;
    store.record_session(&later, 3).await.unwrap();
    // An older refresh arriving late does not move last_seen back.
    store
        .record_session(&session(kim, "thunderbird/imap", 7), 3)
        .await
        .unwrap();
    let got = store
        .device_session(kim, "thunderbird/imap")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, first.id);
    assert_eq!(got.first_seen, Timestamp(T0));
    assert_eq!(got.last_seen, Timestamp(T0 + 10));
    assert_eq!(got.state, SessionState::Revoked);
    assert_eq!(got.state_at, Timestamp(T0 + 5));
    assert_eq!(got.state_by, "admin");
    assert_eq!(
        got.ip,
        ip("113.88.1.2"),
        "the late refresh's address is the last written"
    );

    // Each user keeps their 3 most recently seen devices; others are untouched.
    store
        .record_session(&session("lee@example.com", "outlook/imap", 1), 3)
        .await
        .unwrap();
    for (n, d) in ["a/imap", "b/imap", "c/imap"].iter().enumerate() {
        store
            .record_session(&session(kim, d, 20 + n as i64), 3)
            .await
            .unwrap();
    }
    let list = store.device_sessions(kim, 100).await.unwrap();
    let devices: Vec<&str> = list.iter().map(|s| s.device.as_str()).collect();
    assert_eq!(devices, ["c/imap", "b/imap", "a/imap"]);
    assert_eq!(store.device_sessions(kim, 2).await.unwrap().len(), 2);
    assert_eq!(
        store
            .device_sessions("lee@example.com", 100)
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn pending_devices_are_bounded_and_state_changes_are_conditional<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    let kim = "kim@example.com";
    let pending = |d: &str, at: i64| DeviceSession {
        state: SessionState::Pending,
        ..session(kim, d, at)
    };
    assert!(store
        .insert_pending_session(&pending("p1", 1), 2)
        .await
        .unwrap());
    assert!(!store
        .insert_pending_session(&pending("p1", 2), 2)
        .await
        .unwrap());
    assert!(store
        .insert_pending_session(&pending("p2", 3), 2)
        .await
        .unwrap());
    assert!(
        !store
            .insert_pending_session(&pending("p3", 4), 2)
            .await
            .unwrap(),
        "at most 2 pending devices"
    );
    assert_eq!(store.device_session(kim, "p3").await.unwrap(), None);
    // An existing active row is never turned pending.
    store
        .record_session(&session(kim, "known", 5), 10)
        .await
        .unwrap();
    assert!(!store
        .insert_pending_session(&pending("known", 6), 9)
        .await
        .unwrap());
    assert_eq!(
        store
            .device_session(kim, "known")
            .await
            .unwrap()
            .unwrap()
            .state,
        SessionState::Active
    );
    let listed = store
        .sessions_in_state(SessionState::Pending, 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);

    // Approve one pending device with trust.
    let n = store
        .set_session_state(
            kim,
            Some("p1"),
            &SessionChange {
                from: &[SessionState::Pending, SessionState::Revoked],
                to: SessionState::Active,
                at: Timestamp(T0 + 10),
                by: "user",
                trusted_until: Some(Some(Timestamp(T0 + 1000))),
            },
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let p1 = store.device_session(kim, "p1").await.unwrap().unwrap();
    assert_eq!(
        (
            p1.state,
            p1.state_at,
            p1.state_by.as_str(),
            p1.trusted_until
        ),
        (
            SessionState::Active,
            Timestamp(T0 + 10),
            "user",
            Some(Timestamp(T0 + 1000))
        )
    );
    // Approving it again changes nothing (it is not pending any more).
    let again = store
        .set_session_state(
            kim,
            Some("p1"),
            &SessionChange {
                from: &[SessionState::Pending],
                to: SessionState::Active,
                at: Timestamp(T0 + 11),
                by: "admin",
                trusted_until: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(again, 0);
    // Sign out every live session of kim: p1 and known (p2 stays pending).
    let all = store
        .set_session_state(
            kim,
            None,
            &SessionChange {
                from: &[SessionState::Active],
                to: SessionState::Revoked,
                at: Timestamp(T0 + 12),
                by: "admin",
                trusted_until: Some(None),
            },
        )
        .await
        .unwrap();
    assert_eq!(all, 2);
    let p1 = store.device_session(kim, "p1").await.unwrap().unwrap();
    assert_eq!((p1.state, p1.trusted_until), (SessionState::Revoked, None));
    assert_eq!(
        store
            .device_session(kim, "p2")
            .await
            .unwrap()
            .unwrap()
            .state,
        SessionState::Pending
    );
    assert_eq!(
        store
            .sessions_in_state(SessionState::Revoked, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    // Forget.
    assert!(store.delete_session(kim, "p1").await.unwrap());
    assert!(!store.delete_session(kim, "p1").await.unwrap());
    assert_eq!(store.device_session(kim, "p1").await.unwrap(), None);
}

pub async fn old_sessions_are_pruned_unless_trusted<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let kim = "kim@example.com";
    store
        .record_session(&session(kim, "old", 0), 10)
        .await
        .unwrap();
    store
        .record_session(&session(kim, "new", 100), 10)
        .await
        .unwrap();
    let mut trusted = session(kim, "trusted", 0);
    trusted.trusted_until = Some(Timestamp(T0 + 500));
    store.record_session(&trusted, 10).await.unwrap();
    assert_eq!(store.prune_sessions(Timestamp(T0 + 50)).await.unwrap(), 1);
    let left: Vec<String> = store
        .device_sessions(kim, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.device)
        .collect();
    assert_eq!(left, ["new", "trusted"]);
    assert_eq!(store.prune_sessions(Timestamp(T0 + 600)).await.unwrap(), 2);
}
