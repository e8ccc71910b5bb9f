//! [`PolicyStore`] cases: every field of a version round-trips, versions
//! only follow the newest (a stale number conflicts and stores nothing),
//! history pages newest first, restoring is a new version, a user's groups
//! are replaced whole, and the dry run's reading of the history pages back
//! by id within its window.

use warden_core::scoped::{Hours, Place, PolicyMode, PolicyRules, PolicyVersion, Scope};
use warden_core::{Name, ProtectionLevel, Protocol, Timestamp};
use warden_store::{PolicyStore, Store, StoreError};

use super::data::{account, add, event, events_batch, ip, T0};
use super::Fixture;

fn full(version: u32) -> PolicyVersion {
    PolicyVersion {
        scope: Scope::Org,
        target: "example".into(),
        version,
        name: "office-only 办公室".into(),
        mode: PolicyMode::ReportOnly,
        rules: PolicyRules {
            allowlist: Some(vec![
                "198.51.100.0/24".parse().unwrap(),
                "2001:db8::/48".parse().unwrap(),
            ]),
            geo_allow: Some(vec![
                Place::parse("CN").unwrap(),
                Place::parse("HK").unwrap(),
            ]),
            geo_block: Some(vec![Place::parse("CN/Xinjiang").unwrap()]),
            protocols: Some(vec![Protocol::Imap, Protocol::Web, Protocol::Dav]),
            tls_required: Some(true),
            hours: Some(Hours::parse("mon-fri,sun", "22:00-06:30", 480).unwrap()),
            login_protection: Some(ProtectionLevel::NewCity),
            new_device_approval: Some(false),
            step_up_minutes: Some(15),
        },
        removed: false,
        actor: "admin".into(),
        ip: Some(ip("10.0.0.7")),
        comment: Some("after the dry run: 0 refusals".into()),
        created_at: Timestamp(T0 + i64::from(version)),
        restored_from: None,
    }
}

fn bare(scope: Scope, target: &str, version: u32) -> PolicyVersion {
    PolicyVersion {
        scope,
        target: target.into(),
        version,
        name: format!("{target}-v{version}"),
        mode: PolicyMode::Enforce,
        rules: PolicyRules::default(),
        removed: false,
        actor: "cli".into(),
        ip: None,
        comment: None,
        created_at: Timestamp(T0),
        restored_from: None,
    }
}

pub async fn policy_versions_round_trip_every_field_and_follow_the_newest<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    assert!(store.current_policies().await.unwrap().is_empty());
    store.insert_policy_version(&full(1)).await.unwrap();
    assert_eq!(
        store
            .policy_version(Scope::Org, "example", 1)
            .await
            .unwrap(),
        Some(full(1))
    );
    // Not the next number: a conflict that stores nothing.
    for stale in [1, 3] {
        let e = store.insert_policy_version(&full(stale)).await.unwrap_err();
        assert!(matches!(e, StoreError::Conflict { .. }), "{e}");
    }
    assert_eq!(
        store
            .policy_history(Scope::Org, "example", 10)
            .await
            .unwrap(),
        vec![full(1)]
    );
    let removal = PolicyVersion {
        removed: true,
        rules: PolicyRules::default(),
        ..full(2)
    };
    store.insert_policy_version(&removal).await.unwrap();
    // Another scope with the same target, and a group: numbered apart.
    store
        .insert_policy_version(&bare(Scope::Group, "example", 1))
        .await
        .unwrap();
    store
        .insert_policy_version(&bare(Scope::User, "bob@example.com", 1))
        .await
        .unwrap();
    let restored = PolicyVersion {
        restored_from: Some(1),
        ..full(3)
    };
    store.insert_policy_version(&restored).await.unwrap();
    assert_eq!(
        store.current_policies().await.unwrap(),
        vec![
            bare(Scope::Group, "example", 1),
            restored.clone(),
            bare(Scope::User, "bob@example.com", 1),
        ]
    );
    let history = store
        .policy_history(Scope::Org, "example", 2)
        .await
        .unwrap();
    assert_eq!(history, vec![restored, removal]);
    assert_eq!(
        store
            .policy_version(Scope::Org, "example", 9)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .policy_history(Scope::Org, "nobody", 10)
            .await
            .unwrap(),
        vec![]
    );
}

pub async fn a_users_groups_are_replaced_whole_and_accounts_name_their_org<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    let g = |v: &[&str]| v.iter().map(|s| Name::from(*s)).collect::<Vec<_>>();
    store
        .set_user_groups("bob@example.com", &g(&["sales", "vpn"]), Timestamp(T0))
        .await
        .unwrap();
    store
        .set_user_groups("amy@example.com", &g(&["sales"]), Timestamp(T0))
        .await
        .unwrap();
    let pairs = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(a, b)| (Name::from(*a), Name::from(*b)))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        store.group_members().await.unwrap(),
        pairs(&[
            ("sales", "amy@example.com"),
            ("sales", "bob@example.com"),
            ("vpn", "bob@example.com"),
        ])
    );
    store
        .set_user_groups("bob@example.com", &g(&["finance"]), Timestamp(T0 + 1))
        .await
        .unwrap();
    store
        .set_user_groups("amy@example.com", &[], Timestamp(T0 + 1))
        .await
        .unwrap();
    assert_eq!(
        store.group_members().await.unwrap(),
        pairs(&[("finance", "bob@example.com")])
    );
    add(&store, account("zed@other.org", "other")).await;
    add(&store, account("bob@example.com", "example")).await;
    assert_eq!(
        store.account_orgs().await.unwrap(),
        pairs(&[("bob@example.com", "example"), ("zed@other.org", "other")])
    );
}

pub async fn logins_since_page_back_by_id_within_the_window<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let events = (0..7)
        .map(|i| event(&format!("u{i}"), T0 + i * 100))
        .collect();
    store.append(&events_batch(events)).await.unwrap();
    let users =
        |v: &[warden_store::LoginEvent]| v.iter().map(|e| e.user.clone()).collect::<Vec<_>>();
    let since = Timestamp(T0 + 200);
    let first = store.logins_since(since, None, 3).await.unwrap();
    assert_eq!(users(&first), ["u6", "u5", "u4"]);
    let next = store
        .logins_since(since, first.last().unwrap().id, 3)
        .await
        .unwrap();
    assert_eq!(users(&next), ["u3", "u2"]);
    assert!(store
        .logins_since(since, next.last().unwrap().id, 3)
        .await
        .unwrap()
        .is_empty());
}
