//! [`AccountStore`] cases: organisations, accounts and their credentials,
//! security events, atomicity of multi-part writes and single-use steps
//! and codes under concurrency.

use std::sync::Arc;

use warden_core::{
    Account, AccountStatus, AppPassword, Org, Protocol, ProtocolSet, Role, SecurityEvent,
    SecurityEventKind, Timestamp, TotpEnrolment, TwoFactorPolicy, WebSession,
};
use warden_store::{
    AccountStore, AccountWrite, HistoryQuery, Store, StoreError, WriteBatch, MAX_SECURITY_EVENTS,
};

use super::data::{
    account, add, alice_with_credentials, bare_account, code, create, event, event_count, ip,
    kinds, pending_totp, recovery, sec_event, session, session_revoked_at, T0,
};
use super::Fixture;

// ------------------------------------------------------------------ orgs

pub async fn orgs_round_trip_upsert_and_list_by_name<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    assert_eq!(store.org("example").await.unwrap(), None);
    assert!(store.orgs().await.unwrap().is_empty());

    let mut example = Org {
        name: "example".into(),
        display_name: "Example Trading Co. 示例贸易".into(),
        two_factor: TwoFactorPolicy::Admins,
        app_passwords_required: true,
        created_at: Timestamp(T0),
        updated_at: Timestamp(T0 + 5),
    };
    let acme = Org {
        name: "acme".into(),
        display_name: String::new(),
        two_factor: TwoFactorPolicy::Optional,
        app_passwords_required: false,
        created_at: Timestamp(-3),
        updated_at: Timestamp(0),
    };
    store.upsert_org(&example).await.unwrap();
    store.upsert_org(&acme).await.unwrap();
    assert_eq!(store.org("example").await.unwrap(), Some(example.clone()));
    assert_eq!(
        store.orgs().await.unwrap(),
        vec![acme.clone(), example.clone()]
    );

    example.two_factor = TwoFactorPolicy::Everyone;
    example.app_passwords_required = false;
    example.display_name = "Renamed".into();
    example.updated_at = Timestamp(T0 + 9);
    store.upsert_org(&example).await.unwrap();
    assert_eq!(store.orgs().await.unwrap(), vec![acme, example]);
}

// -------------------------------------------------------------- accounts

pub async fn accounts_round_trip_every_field_and_replace_changes_every_field<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    let full = account("zoë@example.com", "example");
    let bare = bare_account("bob", "acme");
    add(&store, full.clone()).await;
    add(&store, bare.clone()).await;
    assert_eq!(
        store.account("zoë@example.com").await.unwrap(),
        Some(full.clone())
    );
    assert_eq!(store.account("bob").await.unwrap(), Some(bare.clone()));
    assert_eq!(
        store.account("Bob").await.unwrap(),
        None,
        "names compare exactly"
    );

    // Replace swaps every field both ways: full -> bare and bare -> full.
    let mut emptied = bare_account("zoë@example.com", "acme");
    emptied.updated_at = Timestamp(T0 + 100);
    let mut filled = account("bob", "example");
    filled.role = Role::User;
    filled.status = AccountStatus::Disabled;
    for a in [&emptied, &filled] {
        let write = AccountWrite {
            account: Some(a.clone()),
            ..AccountWrite::default()
        };
        store.commit(&write).await.unwrap();
    }
    assert_eq!(
        store.account("zoë@example.com").await.unwrap(),
        Some(emptied)
    );
    assert_eq!(store.account("bob").await.unwrap(), Some(filled));
}

pub async fn accounts_list_by_name_after_a_cursor_within_an_org_and_capped<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    let mut all: Vec<Account> = (0..1_005)
        .map(|i| bare_account(&format!("u{i:04}"), if i % 2 == 0 { "even" } else { "odd" }))
        .collect();
    store.create_accounts(&all, &[]).await.unwrap();
    all.sort_by(|a, b| a.user.cmp(&b.user));

    let page = store.accounts(None, None, 3).await.unwrap();
    assert_eq!(page, all[..3].to_vec());
    let page = store.accounts(None, Some("u0002"), 2).await.unwrap();
    assert_eq!(page, all[3..5].to_vec());
    let page = store.accounts(Some("odd"), Some("u0002"), 2).await.unwrap();
    let users: Vec<&str> = page.iter().map(|a| &*a.user).collect();
    assert_eq!(users, ["u0003", "u0005"]);
    assert!(store
        .accounts(Some("nobody"), None, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store.accounts(None, None, 0).await.unwrap().is_empty());
    assert!(store
        .accounts(None, Some("u1004"), 10)
        .await
        .unwrap()
        .is_empty());

    let capped = store.accounts(None, None, u32::MAX).await.unwrap();
    assert_eq!(capped.len(), 1_000);
    assert_eq!(capped, all[..1_000].to_vec());
    assert_eq!(
        store
            .accounts(Some("even"), None, 5_000)
            .await
            .unwrap()
            .len(),
        503
    );
}

pub async fn creating_an_existing_account_conflicts_and_replacing_a_missing_one_is_not_found<
    F: Fixture,
>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    let alice = account("alice", "example");
    add(&store, alice.clone()).await;

    let mut again = create(bare_account("alice", "other"));
    again.revoke_sessions_at = Some(Timestamp(T0));
    let err = store.commit(&again).await.unwrap_err();
    match &err {
        StoreError::Conflict { what } => assert_eq!(what, "account alice"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(store.account("alice").await.unwrap(), Some(alice));

    let replace = AccountWrite {
        account: Some(account("ghost", "example")),
        events: vec![sec_event("ghost", SecurityEventKind::AccountUpdated, T0)],
        ..AccountWrite::default()
    };
    let err = store.commit(&replace).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { what } if what == "account ghost"),
        "{err:?}"
    );
    assert_eq!(store.account("ghost").await.unwrap(), None);
    assert!(store.security_events("ghost", 10).await.unwrap().is_empty());
    // Only the first creation left an event.
    assert_eq!(
        kinds(&store.security_events("alice", 10).await.unwrap()),
        [SecurityEventKind::AccountCreated]
    );
}

pub async fn a_write_without_an_account_acts_on_the_user_its_events_name<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    add(&store, account("alice", "example")).await;
    store
        .insert_session(&session(1, "alice", T0 + 100))
        .await
        .unwrap();

    let write = AccountWrite {
        revoke_sessions_at: Some(Timestamp(T0 + 10)),
        events: vec![sec_event(
            "alice",
            SecurityEventKind::SessionsRevoked,
            T0 + 10,
        )],
        ..AccountWrite::default()
    };
    store.commit(&write).await.unwrap();
    let s = store.session(&[1; 32]).await.unwrap().unwrap();
    assert_eq!(s.revoked_at, Some(Timestamp(T0 + 10)));

    // Nobody to act on: refused, not guessed.
    let nobody = AccountWrite {
        revoke_sessions_at: Some(Timestamp(T0 + 10)),
        ..AccountWrite::default()
    };
    let err = store.commit(&nobody).await.unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Query {
                op: "commit",
                source: sqlx::Error::InvalidArgument(_)
            }
        ),
        "{err:?}"
    );
    let two = AccountWrite {
        remove_two_factor: true,
        events: vec![
            sec_event("alice", SecurityEventKind::TwoFactorDisabled, T0),
            sec_event("bob", SecurityEventKind::TwoFactorDisabled, T0),
        ],
        ..AccountWrite::default()
    };
    assert!(store.commit(&two).await.is_err());
    let create_nothing = AccountWrite {
        create: true,
        ..AccountWrite::default()
    };
    assert!(store.commit(&create_nothing).await.is_err());
    assert_eq!(store.security_events("bob", 10).await.unwrap(), vec![]);
}

pub async fn bulk_import_is_all_or_nothing_and_names_the_first_existing_user<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    add(&store, account("carol", "example")).await;
    add(&store, account("dave", "example")).await;

    let import: Vec<Account> = ["x1", "x2", "dave", "x3", "carol"]
        .iter()
        .map(|u| bare_account(u, "example"))
        .collect();
    let events: Vec<SecurityEvent> = import
        .iter()
        .map(|a| sec_event(&a.user, SecurityEventKind::AccountCreated, T0))
        .collect();
    let err = store.create_accounts(&import, &events).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { what } if what == "account dave"),
        "{err:?}"
    );
    for u in ["x1", "x2", "x3"] {
        assert_eq!(store.account(u).await.unwrap(), None, "{u} rolled back");
        assert!(store.security_events(u, 10).await.unwrap().is_empty());
    }
    assert_eq!(store.security_events("dave", 10).await.unwrap().len(), 1);

    // A user twice in the same import conflicts with itself.
    let twice = vec![
        bare_account("y1", "e"),
        bare_account("y2", "e"),
        bare_account("y1", "e"),
    ];
    let err = store.create_accounts(&twice, &[]).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { what } if what == "account y1"),
        "{err:?}"
    );
    assert_eq!(store.account("y2").await.unwrap(), None);

    let fine = vec![account("z1", "e"), bare_account("z2", "e")];
    store.create_accounts(&fine, &events[..1]).await.unwrap();
    assert_eq!(store.account("z1").await.unwrap(), Some(fine[0].clone()));
    assert_eq!(store.account("z2").await.unwrap(), Some(fine[1].clone()));
    assert_eq!(store.security_events("x1", 10).await.unwrap().len(), 1);
    store.create_accounts(&[], &[]).await.unwrap();
}

pub async fn an_account_write_is_rolled_back_whole_when_its_last_part_fails<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    alice_with_credentials(&store).await;
    let before_account = store.account("alice").await.unwrap().unwrap();
    let before_events = store.security_events("alice", 100).await.unwrap();

    // The security events come last; make their insert fail.
    fixture.refuse_inserts(&store, "security_events").await;
    let mut changed = before_account.clone();
    changed.status = AccountStatus::Disabled;
    changed.password_hash = Some("new-hash".into());
    let write = AccountWrite {
        account: Some(changed.clone()),
        create: false,
        remember_password: Some(("new-hash".into(), 5)),
        revoke_app_passwords_at: Some(Timestamp(T0 + 50)),
        revoke_sessions_at: Some(Timestamp(T0 + 50)),
        remove_two_factor: true,
        events: vec![sec_event(
            "alice",
            SecurityEventKind::PasswordReset,
            T0 + 50,
        )],
    };
    let err = store.commit(&write).await.unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");

    assert_eq!(store.account("alice").await.unwrap(), Some(before_account));
    assert_eq!(
        store.password_history("alice", 10).await.unwrap(),
        ["old-hash"]
    );
    assert!(store.app_passwords("alice").await.unwrap()[0]
        .revoked_at
        .is_none());
    assert!(store
        .session(&[9; 32])
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
    assert!(store.totp("alice").await.unwrap().is_some());
    assert_eq!(store.recovery_codes_left("alice").await.unwrap(), 3);
    assert_eq!(
        store.security_events("alice", 100).await.unwrap(),
        before_events
    );

    // The same write goes through once the cause is gone, every part of it.
    fixture.allow_inserts(&store, "security_events").await;
    store.commit(&write).await.unwrap();
    assert_eq!(store.account("alice").await.unwrap(), Some(changed));
    assert_eq!(
        store.password_history("alice", 10).await.unwrap(),
        ["new-hash", "old-hash"]
    );
    let codes = store.app_passwords("alice").await.unwrap();
    assert_eq!(codes[0].revoked_at, Some(Timestamp(T0 + 50)));
    let s = store.session(&[9; 32]).await.unwrap().unwrap();
    assert_eq!(s.revoked_at, Some(Timestamp(T0 + 50)));
    assert_eq!(store.totp("alice").await.unwrap(), None);
    assert_eq!(store.recovery_codes_left("alice").await.unwrap(), 0);
    let events = store.security_events("alice", 100).await.unwrap();
    assert_eq!(events.len(), before_events.len() + 1);
    assert_eq!(events[0].kind, SecurityEventKind::PasswordReset);
}

pub async fn password_history_keeps_only_the_newest_entries<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    add(&store, account("alice", "example")).await;
    for i in 1..=5 {
        let mut a = account("alice", "example");
        a.password_hash = Some(format!("hash{i}"));
        // Same second for all: the order of the writes decides.
        let write = AccountWrite {
            account: Some(a),
            remember_password: Some((format!("hash{i}"), 3)),
            ..AccountWrite::default()
        };
        store.commit(&write).await.unwrap();
    }
    assert_eq!(
        store.password_history("alice", 10).await.unwrap(),
        ["hash5", "hash4", "hash3"]
    );
    assert_eq!(
        store.password_history("alice", 2).await.unwrap(),
        ["hash5", "hash4"]
    );
    assert!(store.password_history("alice", 0).await.unwrap().is_empty());
    assert!(store.password_history("bob", 10).await.unwrap().is_empty());

    // A smaller `keep` trims older entries too; 0 keeps none.
    let write = AccountWrite {
        account: Some(account("alice", "example")),
        remember_password: Some(("hash6".into(), 1)),
        ..AccountWrite::default()
    };
    store.commit(&write).await.unwrap();
    assert_eq!(
        store.password_history("alice", 10).await.unwrap(),
        ["hash6"]
    );
    let write = AccountWrite {
        account: Some(account("alice", "example")),
        remember_password: Some(("hash7".into(), 0)),
        ..AccountWrite::default()
    };
    store.commit(&write).await.unwrap();
    assert!(store
        .password_history("alice", 10)
        .await
        .unwrap()
        .is_empty());

    // History of a user that does not exist cannot be kept.
    let write = AccountWrite {
        remember_password: Some(("x".into(), 3)),
        events: vec![sec_event("ghost", SecurityEventKind::PasswordChanged, T0)],
        ..AccountWrite::default()
    };
    let err = store.commit(&write).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(store.security_events("ghost", 10).await.unwrap().is_empty());
}

// ------------------------------------------------------- authorization codes

pub async fn app_passwords_round_trip_and_are_found_by_digest<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    add(&store, account("alice", "example")).await;
    add(&store, account("bob", "example")).await;

    let mut full = code("alice", "Foxmail on office PC", 1);
    full.protocols = ProtocolSet::all();
    full.last_used_at = Some(Timestamp(T0 + 7));
    full.last_used_ip = Some(ip("2001:db8::42"));
    full.expires_at = Some(Timestamp(T0 + 86_400));
    full.revoked_at = Some(Timestamp(T0 + 8));
    full.created_at = Timestamp(T0 - 10);
    let mut bare = code("alice", "", 2);
    bare.protocols = ProtocolSet::EMPTY;
    let mut dav = code("alice", "phone", 3);
    dav.protocols = [Protocol::Dav].into_iter().collect();
    dav.created_at = Timestamp(T0 + 1);

    let e = sec_event("alice", SecurityEventKind::AppPasswordCreated, T0);
    let mut ids = Vec::new();
    for c in [&full, &bare, &dav] {
        ids.push(store.insert_app_password(c, &e).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let with_id = |c: &AppPassword, id| AppPassword { id, ..c.clone() };

    // Newest first (by creation time, then id).
    assert_eq!(
        store.app_passwords("alice").await.unwrap(),
        vec![
            with_id(&dav, ids[2]),
            with_id(&bare, ids[1]),
            with_id(&full, ids[0])
        ]
    );
    assert_eq!(
        store.find_app_password("alice", &[1; 32]).await.unwrap(),
        Some(with_id(&full, ids[0])),
        "found revoked or not"
    );
    assert_eq!(
        store.find_app_password("alice", &[4; 32]).await.unwrap(),
        None
    );
    assert_eq!(
        store.find_app_password("bob", &[1; 32]).await.unwrap(),
        None,
        "another user's digest"
    );
    assert!(store.app_passwords("bob").await.unwrap().is_empty());
    assert_eq!(store.security_events("alice", 10).await.unwrap().len(), 4);

    // The same digest twice for one user conflicts; for another user it is fine.
    let err = store
        .insert_app_password(&code("alice", "again", 2), &e)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(store.security_events("alice", 10).await.unwrap().len(), 4);
    store
        .insert_app_password(&code("bob", "b", 2), &e)
        .await
        .unwrap();
    let err = store
        .insert_app_password(&code("ghost", "g", 2), &e)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { what } if what == "account ghost"),
        "{err:?}"
    );

    // Touch records the last use.
    store
        .touch_app_password(ids[1], Timestamp(T0 + 99), ip("192.0.2.9"))
        .await
        .unwrap();
    let touched = store
        .find_app_password("alice", &[2; 32])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.last_used_at, Some(Timestamp(T0 + 99)));
    assert_eq!(touched.last_used_ip, Some(ip("192.0.2.9")));
    let err = store
        .touch_app_password(9_999, Timestamp(T0), ip("192.0.2.9"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub async fn revoking_one_code_needs_a_live_code_of_that_user<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    add(&store, account("alice", "example")).await;
    add(&store, account("bob", "example")).await;
    let e = sec_event("alice", SecurityEventKind::AppPasswordCreated, T0);
    let live = store
        .insert_app_password(&code("alice", "a", 1), &e)
        .await
        .unwrap();
    let mut expiring = code("alice", "b", 2);
    expiring.expires_at = Some(Timestamp(T0 + 10));
    let expired = store.insert_app_password(&expiring, &e).await.unwrap();
    let bobs = store
        .insert_app_password(&code("bob", "c", 3), &e)
        .await
        .unwrap();

    let revoke = sec_event("alice", SecurityEventKind::AppPasswordRevoked, T0 + 20);
    let before = event_count(&store, "alice").await;
    assert!(!store
        .revoke_app_password("alice", bobs, Timestamp(T0 + 20), &revoke)
        .await
        .unwrap());
    assert!(!store
        .revoke_app_password("alice", expired, Timestamp(T0 + 20), &revoke)
        .await
        .unwrap());
    assert!(!store
        .revoke_app_password("alice", 9_999, Timestamp(T0 + 20), &revoke)
        .await
        .unwrap());
    assert_eq!(
        event_count(&store, "alice").await,
        before,
        "no event without a revocation"
    );

    assert!(store
        .revoke_app_password("alice", live, Timestamp(T0 + 20), &revoke)
        .await
        .unwrap());
    assert_eq!(event_count(&store, "alice").await, before + 1);
    assert!(!store
        .revoke_app_password("alice", live, Timestamp(T0 + 30), &revoke)
        .await
        .unwrap());
    let c = store
        .find_app_password("alice", &[1; 32])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c.revoked_at,
        Some(Timestamp(T0 + 20)),
        "the first revocation stays"
    );
    assert_eq!(
        store
            .find_app_password("bob", &[3; 32])
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
}

pub async fn revoking_all_codes_and_sessions_touches_only_live_ones_of_that_user<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    add(&store, account("alice", "example")).await;
    add(&store, account("bob", "example")).await;
    let e = sec_event("alice", SecurityEventKind::AppPasswordCreated, T0);
    store
        .insert_app_password(&code("alice", "live", 1), &e)
        .await
        .unwrap();
    let mut expired = code("alice", "expired", 2);
    expired.expires_at = Some(Timestamp(T0 + 50));
    store.insert_app_password(&expired, &e).await.unwrap();
    let mut revoked = code("alice", "revoked", 3);
    revoked.revoked_at = Some(Timestamp(T0 + 5));
    store.insert_app_password(&revoked, &e).await.unwrap();
    let mut later = code("alice", "expires later", 4);
    later.expires_at = Some(Timestamp(T0 + 500));
    store.insert_app_password(&later, &e).await.unwrap();
    store
        .insert_app_password(&code("bob", "bob's", 1), &e)
        .await
        .unwrap();

    store
        .insert_session(&session(1, "alice", T0 + 500))
        .await
        .unwrap();
    store
        .insert_session(&session(2, "alice", T0 + 50))
        .await
        .unwrap();
    let mut gone = session(3, "alice", T0 + 500);
    gone.revoked_at = Some(Timestamp(T0 + 5));
    store.insert_session(&gone).await.unwrap();
    store
        .insert_session(&session(4, "bob", T0 + 500))
        .await
        .unwrap();

    let at = Timestamp(T0 + 100);
    let write = AccountWrite {
        revoke_app_passwords_at: Some(at),
        revoke_sessions_at: Some(at),
        events: vec![
            sec_event(
                "alice",
                SecurityEventKind::AppPasswordsRevokedAll,
                at.secs(),
            ),
            sec_event("alice", SecurityEventKind::SessionsRevoked, at.secs()),
        ],
        ..AccountWrite::default()
    };
    store.commit(&write).await.unwrap();

    let revoked_at = |name: &str, codes: &[AppPassword]| {
        codes.iter().find(|c| c.name == name).unwrap().revoked_at
    };
    let codes = store.app_passwords("alice").await.unwrap();
    assert_eq!(revoked_at("live", &codes), Some(at));
    assert_eq!(revoked_at("expires later", &codes), Some(at));
    assert_eq!(
        revoked_at("expired", &codes),
        None,
        "expired codes are left alone"
    );
    assert_eq!(revoked_at("revoked", &codes), Some(Timestamp(T0 + 5)));
    assert_eq!(
        revoked_at("bob's", &store.app_passwords("bob").await.unwrap()),
        None
    );

    assert_eq!(session_revoked_at(&store, 1).await, Some(at));
    assert_eq!(session_revoked_at(&store, 2).await, None);
    assert_eq!(session_revoked_at(&store, 3).await, Some(Timestamp(T0 + 5)));
    assert_eq!(session_revoked_at(&store, 4).await, None);
    assert_eq!(
        kinds(&store.security_events("alice", 2).await.unwrap()),
        // Same time: the later insert first.
        [
            SecurityEventKind::SessionsRevoked,
            SecurityEventKind::AppPasswordsRevokedAll
        ]
    );
}

// ------------------------------------------------------------------ TOTP

pub async fn totp_round_trips_and_steps_are_used_once_in_increasing_order<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    add(&store, account("alice", "example")).await;
    assert_eq!(store.totp("alice").await.unwrap(), None);
    assert!(
        !store.use_totp_step("alice", 1).await.unwrap(),
        "no enrolment"
    );

    let pending = pending_totp("alice");
    store.put_totp(&pending).await.unwrap();
    assert_eq!(store.totp("alice").await.unwrap(), Some(pending.clone()));
    assert!(
        !store.use_totp_step("alice", 5).await.unwrap(),
        "a pending enrolment takes no steps"
    );
    assert_eq!(store.totp("alice").await.unwrap(), Some(pending.clone()));

    let enrolled = sec_event("alice", SecurityEventKind::TwoFactorEnabled, T0 + 1);
    store
        .confirm_totp(
            "alice",
            Timestamp(T0 + 1),
            100,
            &recovery("alice", &[1, 2]),
            std::slice::from_ref(&enrolled),
        )
        .await
        .unwrap();
    assert_eq!(
        store.totp("alice").await.unwrap(),
        Some(TotpEnrolment {
            confirmed_at: Some(Timestamp(T0 + 1)),
            last_step: Some(100),
            ..pending.clone()
        })
    );
    assert_eq!(store.recovery_codes_left("alice").await.unwrap(), 2);
    assert_eq!(
        kinds(&store.security_events("alice", 1).await.unwrap()),
        [enrolled.kind]
    );

    // Confirming again would reset the step: refused.
    let err = store
        .confirm_totp("alice", Timestamp(T0 + 2), 1, &[], &[])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { what } if what.contains("pending")),
        "{err:?}"
    );
    assert_eq!(
        store.totp("alice").await.unwrap().unwrap().last_step,
        Some(100)
    );
    assert_eq!(store.recovery_codes_left("alice").await.unwrap(), 2);

    assert!(
        !store.use_totp_step("alice", 100).await.unwrap(),
        "the confirming step"
    );
    assert!(
        !store.use_totp_step("alice", 99).await.unwrap(),
        "an older step"
    );
    assert!(store.use_totp_step("alice", 101).await.unwrap());
    assert!(
        !store.use_totp_step("alice", 101).await.unwrap(),
        "the same step twice"
    );
    assert!(
        store.use_totp_step("alice", 103).await.unwrap(),
        "steps may be skipped"
    );
    assert!(!store.use_totp_step("alice", 102).await.unwrap());
    assert!(!store.use_totp_step("bob", 200).await.unwrap());

    // The largest storable step works; a larger one is refused, not wrapped.
    assert!(store.use_totp_step("alice", i64::MAX as u64).await.unwrap());
    assert_eq!(
        store.totp("alice").await.unwrap().unwrap().last_step,
        Some(i64::MAX as u64)
    );
    let err = store.use_totp_step("alice", u64::MAX).await.unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Query {
                op: "use_totp_step",
                source: sqlx::Error::Encode(_)
            }
        ),
        "{err:?}"
    );
    let mut huge = pending.clone();
    huge.last_step = Some(i64::MAX as u64 + 1);
    assert!(store.put_totp(&huge).await.is_err());
    assert_eq!(
        store.totp("alice").await.unwrap().unwrap().last_step,
        Some(i64::MAX as u64)
    );
    assert!(store
        .confirm_totp("alice", Timestamp(T0), u64::MAX, &[], &[])
        .await
        .is_err());

    // put_totp replaces every field (a new enrolment after removal, say).
    let mut fresh_one = pending_totp("alice");
    fresh_one.sealed_secret = vec![9; 48];
    fresh_one.created_at = Timestamp(T0 + 9);
    store.put_totp(&fresh_one).await.unwrap();
    assert_eq!(store.totp("alice").await.unwrap(), Some(fresh_one));

    let err = store.put_totp(&pending_totp("ghost")).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let err = store
        .confirm_totp("ghost", Timestamp(T0), 1, &[], &[])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub async fn of_concurrent_logins_with_the_same_step_exactly_one_wins<F: Fixture>(fixture: &F) {
    let store = Arc::new(fixture.fresh().await);
    add(&*store, account("alice", "example")).await;
    store.put_totp(&pending_totp("alice")).await.unwrap();
    store
        .confirm_totp("alice", Timestamp(T0), 10, &[], &[])
        .await
        .unwrap();
    // Two handles on the database: two writer connections, as two processes.
    let other = Arc::new(fixture.reopen(&store).await);

    for step in [11u64, 12, 13] {
        let barrier = Arc::new(tokio::sync::Barrier::new(20));
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let store = if i % 2 == 0 {
                    Arc::clone(&store)
                } else {
                    Arc::clone(&other)
                };
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.use_totp_step("alice", step).await.unwrap()
                })
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            wins += usize::from(t.await.unwrap());
        }
        assert_eq!(wins, 1, "step {step}");
    }
    assert_eq!(
        store.totp("alice").await.unwrap().unwrap().last_step,
        Some(13)
    );
    fixture.close(&other).await;
}

// -------------------------------------------------------- recovery codes

pub async fn recovery_codes_are_single_use_and_replaced_whole<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    add(&store, account("alice", "example")).await;
    add(&store, account("bob", "example")).await;
    let regen = sec_event("alice", SecurityEventKind::RecoveryCodesRegenerated, T0);
    store
        .replace_recovery_codes("alice", &recovery("alice", &[1, 2, 3]), &regen)
        .await
        .unwrap();
    store
        .replace_recovery_codes("bob", &recovery("bob", &[1]), &regen)
        .await
        .unwrap();
    assert_eq!(store.recovery_codes_left("alice").await.unwrap(), 3);

    let used = sec_event("alice", SecurityEventKind::RecoveryCodeUsed, T0 + 1);
    let before = event_count(&store, "alice").await;
    assert!(store
        .use_recovery_code("alice", &[2; 32], Timestamp(T0 + 1), &used)
        .await
        .unwrap());
    assert_eq!(event_count(&store, "alice").await, before + 1);
    assert!(!store
        .use_recovery_code("alice", &[2; 32], Timestamp(T0 + 2), &used)
        .await
        .unwrap());
    assert!(!store
        .use_recovery_code("alice", &[7; 32], Timestamp(T0 + 2), &used)
        .await
        .unwrap());
    assert!(!store
        .use_recovery_code("carol", &[1; 32], Timestamp(T0 + 2), &used)
        .await
        .unwrap());
    assert_eq!(
        event_count(&store, "alice").await,
        before + 1,
        "no event for a refused code"
    );
    assert_eq!(store.recovery_codes_left("alice").await.unwrap(), 2);
    assert_eq!(
        store.recovery_codes_left("bob").await.unwrap(),
        1,
        "bob's untouched"
    );

    // Replacing brings back a full, unused set (the used digest included).
    store
        .replace_recovery_codes("alice", &recovery("alice", &[2, 4]), &regen)
        .await
        .unwrap();
    assert_eq!(store.recovery_codes_left("alice").await.unwrap(), 2);
    assert!(!store
        .use_recovery_code("alice", &[1; 32], Timestamp(T0 + 3), &used)
        .await
        .unwrap());
    assert!(store
        .use_recovery_code("alice", &[2; 32], Timestamp(T0 + 3), &used)
        .await
        .unwrap());

    // Codes must be the named user's; duplicates conflict; no account, no codes.
    let err = store
        .replace_recovery_codes("alice", &recovery("bob", &[5]), &regen)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Query { .. }), "{err:?}");
    let err = store
        .replace_recovery_codes("alice", &recovery("alice", &[5, 5]), &regen)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(
        store.recovery_codes_left("alice").await.unwrap(),
        1,
        "unchanged"
    );
    let err = store
        .replace_recovery_codes("ghost", &recovery("ghost", &[5]), &regen)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

// -------------------------------------------------------------- sessions

pub async fn sessions_round_trip_by_digest<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    add(&store, account("alice", "example")).await;
    let full = WebSession {
        revoked_at: Some(Timestamp(T0 + 4)),
        ..session(1, "alice", T0 + 3_600)
    };
    let bare = WebSession {
        user_agent: None,
        ip: ip("::1"),
        ..session(2, "alice", T0)
    };
    store.insert_session(&full).await.unwrap();
    store.insert_session(&bare).await.unwrap();
    assert_eq!(store.session(&[1; 32]).await.unwrap(), Some(full.clone()));
    assert_eq!(store.session(&[2; 32]).await.unwrap(), Some(bare));
    assert_eq!(store.session(&[3; 32]).await.unwrap(), None);

    let err = store.insert_session(&full).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    let err = store
        .insert_session(&session(5, "ghost", T0))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

// ------------------------------------------------------- security events

pub async fn security_events_round_trip_newest_first_and_capped<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    add(&store, account("alice", "example")).await;
    let mut events: Vec<SecurityEvent> = SecurityEventKind::ALL
        .iter()
        .enumerate()
        .map(|(i, &kind)| SecurityEvent {
            ip: (i % 2 == 0).then(|| ip("203.0.113.9")),
            actor: ["admin", "user", "system"][i % 3].into(),
            ..sec_event("alice", kind, T0 + i as i64)
        })
        .collect();
    let write = AccountWrite {
        events: events.clone(),
        ..AccountWrite::default()
    };
    store.commit(&write).await.unwrap();
    let mut read = store.security_events("alice", 100).await.unwrap();
    // The creation event is the oldest.
    assert_eq!(read.pop().unwrap().kind, SecurityEventKind::AccountCreated);
    read.reverse();
    assert!(read.windows(2).all(|w| w[0].id < w[1].id));
    for e in &mut read {
        assert!(e.id > 0);
        e.id = 0;
    }
    assert_eq!(read, events);

    events = (0..1_050)
        .map(|i| sec_event("bob", SecurityEventKind::AccountUpdated, i % 10))
        .collect();
    store.create_accounts(&[], &events).await.unwrap();
    let capped = store.security_events("bob", u32::MAX).await.unwrap();
    assert_eq!(capped.len(), MAX_SECURITY_EVENTS as usize);
    assert!(capped
        .windows(2)
        .all(|w| (w[0].ts, w[0].id) > (w[1].ts, w[1].id)));
    assert!(store.security_events("bob", 0).await.unwrap().is_empty());
}

// ---------------------------------------------------------------- delete

pub async fn deleting_an_account_removes_its_credentials_and_keeps_its_history<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    alice_with_credentials(&store).await;
    add(&store, account("bob", "example")).await;
    let e = sec_event("bob", SecurityEventKind::AppPasswordCreated, T0);
    store
        .insert_app_password(&code("bob", "b", 1), &e)
        .await
        .unwrap();
    store
        .append(&WriteBatch {
            events: vec![event("alice", T0)],
            profiles: Vec::new(),
            ..Default::default()
        })
        .await
        .unwrap();
    let before = store.security_events("alice", 100).await.unwrap();

    let deleted = sec_event("alice", SecurityEventKind::AccountDeleted, T0 + 99);
    assert!(store.delete_account("alice", &deleted).await.unwrap());

    assert_eq!(store.account("alice").await.unwrap(), None);
    assert!(store.app_passwords("alice").await.unwrap().is_empty());
    assert_eq!(store.totp("alice").await.unwrap(), None);
    assert_eq!(store.recovery_codes_left("alice").await.unwrap(), 0);
    assert_eq!(store.session(&[9; 32]).await.unwrap(), None);
    assert!(store
        .password_history("alice", 10)
        .await
        .unwrap()
        .is_empty());
    let after = store.security_events("alice", 100).await.unwrap();
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after[0].kind, SecurityEventKind::AccountDeleted);
    assert_eq!(&after[1..], &before[..]);
    let logins = store
        .history("alice", HistoryQuery::latest(10))
        .await
        .unwrap();
    assert_eq!(logins.len(), 1, "login history stays");
    assert_eq!(
        store.app_passwords("bob").await.unwrap().len(),
        1,
        "bob untouched"
    );

    // Gone is gone: no second event.
    assert!(!store.delete_account("alice", &deleted).await.unwrap());
    assert_eq!(
        store.security_events("alice", 100).await.unwrap().len(),
        after.len()
    );

    // A new account of the same name starts without the old credentials.
    add(&store, bare_account("alice", "example")).await;
    assert!(store.app_passwords("alice").await.unwrap().is_empty());
    assert_eq!(
        store.find_app_password("alice", &[1; 32]).await.unwrap(),
        None
    );
}

/// `two_factor_users` promises no order: the cases sort what it returns.
async fn two_factor_users(store: &impl AccountStore, first: &str, last: &str) -> Vec<String> {
    let mut users = store.two_factor_users(first, last).await.unwrap();
    users.sort();
    users
}

pub async fn two_factor_users_are_the_confirmed_enrolments_in_the_range<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    for user in ["alice", "bob", "carol", "dave", "erin"] {
        add(&store, bare_account(user, "example")).await;
    }
    // Confirmed: alice, carol, dave; pending: bob; none: erin.
    for user in ["alice", "bob", "carol", "dave"] {
        store.put_totp(&pending_totp(user)).await.unwrap();
    }
    for user in ["alice", "carol", "dave"] {
        store
            .confirm_totp(user, Timestamp(T0), 10, &[], &[])
            .await
            .unwrap();
    }

    assert_eq!(
        two_factor_users(&store, "alice", "erin").await,
        ["alice", "carol", "dave"]
    );
    assert_eq!(
        two_factor_users(&store, "alice", "dave").await,
        ["alice", "carol", "dave"],
        "both ends included"
    );
    assert_eq!(
        two_factor_users(&store, "b", "d").await,
        ["carol"],
        "a range between names, a pending enrolment left out"
    );
    assert_eq!(two_factor_users(&store, "alice", "alice").await, ["alice"]);
    assert!(two_factor_users(&store, "f", "z").await.is_empty());
    assert!(two_factor_users(&store, "dave", "alice").await.is_empty());

    // Removing the second factor takes the user out.
    let write = AccountWrite {
        remove_two_factor: true,
        events: vec![sec_event("carol", SecurityEventKind::TwoFactorDisabled, T0)],
        ..AccountWrite::default()
    };
    store.commit(&write).await.unwrap();
    assert_eq!(
        two_factor_users(&store, "alice", "erin").await,
        ["alice", "dave"]
    );
}

pub async fn totp_users_are_every_sealed_secret_and_meta_values_round_trip<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    assert!(store.totp_users().await.unwrap().is_empty());
    for user in ["carol", "alice", "bob"] {
        add(&store, bare_account(user, "example")).await;
    }
    // Pending and confirmed alike hold a sealed secret.
    for user in ["carol", "alice"] {
        store.put_totp(&pending_totp(user)).await.unwrap();
    }
    store
        .confirm_totp("alice", Timestamp(T0), 10, &[], &[])
        .await
        .unwrap();
    assert_eq!(store.totp_users().await.unwrap(), ["alice", "carol"]);
    let write = AccountWrite {
        remove_two_factor: true,
        events: vec![sec_event("carol", SecurityEventKind::TwoFactorDisabled, T0)],
        ..AccountWrite::default()
    };
    store.commit(&write).await.unwrap();
    assert_eq!(store.totp_users().await.unwrap(), ["alice"]);

    assert_eq!(store.meta("secret_key_check").await.unwrap(), None);
    store
        .set_meta("secret_key_check", &[1, 2, 3])
        .await
        .unwrap();
    store.set_meta("other", b"x").await.unwrap();
    store.set_meta("secret_key_check", &[0, 255]).await.unwrap();
    assert_eq!(
        store.meta("secret_key_check").await.unwrap().as_deref(),
        Some(&[0u8, 255][..]),
        "replaced"
    );
    let reopened = fixture.reopen(&store).await;
    assert_eq!(
        reopened.meta("other").await.unwrap().as_deref(),
        Some(&b"x"[..])
    );
    fixture.close(&reopened).await;
    fixture.close(&store).await;
}

// ------------------------------------------------------------ migrations

pub async fn accounts_survive_reopening_and_migrating_again<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    alice_with_credentials(&store).await;
    store.migrate().await.unwrap();
    fixture.close(&store).await;

    let reopened = fixture.reopen(&store).await;
    drop(store);
    let store = reopened;
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(
        store.account("alice").await.unwrap(),
        Some(account("alice", "example"))
    );
    assert_eq!(store.app_passwords("alice").await.unwrap().len(), 1);
    assert_eq!(store.recovery_codes_left("alice").await.unwrap(), 3);
    fixture.close(&store).await;
}
