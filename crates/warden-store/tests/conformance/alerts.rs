//! [`AlertStore`] cases: alerts round-trip every field, and a user's
//! answer is taken once, even by racing requests.

use std::sync::Arc;

use warden_core::{
    Alert, AlertKind, AlertState, Answer, Country, Decision, Grade, Protocol, ReasonCode, Timestamp,
};
use warden_store::{AlertAction, AlertBatch, AlertChange, AlertQuery, AlertStore, Store};

use super::data::{ip, T0};
use super::Fixture;

pub fn foreign_login() -> Alert {
    Alert {
        id: 0,
        kind: AlertKind::UnusualLocation,
        grade: Grade::Warning,
        state: AlertState::Open,
        user: Some("kim@example.com".into()),
        created_at: Timestamp(T0 + 2),
        ts: Timestamp(T0),
        last_ts: Timestamp(T0 + 60),
        count: 3,
        dedupe_key: "kim@example.com|unusual_location|NG/Lagos|20000".into(),
        notify_user: true,
        notify_admins: false,
        ip: Some(ip("102.89.1.2")),
        country: Some(Country::new("NG").unwrap()),
        region: Some("Lagos".into()),
        city: Some("Lagos 拉各斯".into()),
        asn: Some(29465),
        isp: Some("MTN Nigeria".into()),
        device: Some("\"dev-1\"".into()),
        client: Some("Foxmail".into()),
        protocol: Some(Protocol::Imap),
        decision: Some(Decision::Challenge),
        succeeded: true,
        reasons: vec![ReasonCode::UnusualCountry, ReasonCode::NewDevice],
        event_id: Some(42),
        answer: None,
        answered_at: None,
        answered_ip: None,
        note: "first of three".into(),
    }
}

pub async fn alerts_round_trip_every_field<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    assert_eq!(store.alert(1).await.unwrap(), None);
    let mut a = foreign_login();
    let id = store.insert_alert(&a).await.unwrap();
    a.id = id;
    assert_eq!(store.alert(id).await.unwrap(), Some(a.clone()));

    let mut summary = foreign_login();
    summary.kind = AlertKind::Summary;
    summary.user = None;
    summary.ip = None;
    summary.country = None;
    summary.asn = None;
    summary.protocol = None;
    summary.decision = None;
    summary.event_id = None;
    summary.reasons = Vec::new();
    summary.answer = Some(Answer::WrongLocation);
    summary.answered_at = Some(Timestamp(T0 + 9));
    summary.answered_ip = Some(ip("2001:db8::1"));
    let id2 = store.insert_alert(&summary).await.unwrap();
    assert!(id2 > id);
    summary.id = id2;
    assert_eq!(store.alert(id2).await.unwrap(), Some(summary));
}

pub async fn an_answer_is_taken_once_even_by_racing_requests<F: Fixture>(fixture: &F) {
    let store = Arc::new(fixture.fresh().await);
    assert!(!store
        .answer_alert(99, Answer::ItWasMe, Timestamp(T0), None)
        .await
        .unwrap());
    let id = store.insert_alert(&foreign_login()).await.unwrap();
    let tries = (0..8).map(|i| {
        let store = Arc::clone(&store);
        let answer = if i % 2 == 0 {
            Answer::ItWasMe
        } else {
            Answer::NotMe
        };
        tokio::spawn(async move {
            store
                .answer_alert(id, answer, Timestamp(T0 + 100 + i), Some(ip("192.0.2.7")))
                .await
                .unwrap()
        })
    });
    let mut won = 0;
    for t in tries {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one answer wins");
    let a = store.alert(id).await.unwrap().unwrap();
    assert!(a.answer.is_some());
    assert_eq!(a.state, AlertState::Closed);
    assert_eq!(a.answered_ip, Some(ip("192.0.2.7")));
}

/// A worker's batch: `n` alerts of `kind`, first logins at `T0 + i`.
fn inserts(kind: AlertKind, n: usize) -> Vec<AlertChange> {
    (0..n)
        .map(|i| {
            let mut a = foreign_login();
            a.kind = kind;
            a.count = 1;
            a.ts = Timestamp(T0 + i as i64);
            a.last_ts = a.ts;
            a.dedupe_key = format!("{kind}|user{i}");
            a.user = Some(format!("user{i}@example.com").as_str().into());
            AlertChange::Insert(Box::new(a))
        })
        .collect()
}

pub async fn the_alert_worker_reads_every_outcome_after_its_mark<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    assert_eq!(store.alerts_mark().await.unwrap(), 0);
    let mut failed = super::data::event("kim", T0 + 1);
    failed.outcome = warden_core::Outcome::Failure(warden_core::FailureReason::WrongPassword);
    failed.reasons = vec![ReasonCode::BruteForceLockout];
    store
        .append(&super::data::events_batch(vec![
            super::data::event("kim", T0),
            failed,
            super::data::event("lee", T0 + 2),
        ]))
        .await
        .unwrap();
    let all = store.events_after(0, 10).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(!all[1].outcome.is_success());
    assert_eq!(all[1].reasons, vec![ReasonCode::BruteForceLockout]);
    let ids: Vec<i64> = all.iter().map(|e| e.id.unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first");
    let after_first = store.events_after(ids[0], 1).await.unwrap();
    assert_eq!(after_first.len(), 1);
    assert_eq!(after_first[0].id, Some(ids[1]));
}

pub async fn alerts_folds_and_the_mark_commit_together_once<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let mut changes = inserts(AlertKind::UnusualLocation, 2);
    let batch = AlertBatch {
        from_mark: 0,
        to_mark: 7,
        changes: changes.clone(),
    };
    let ids = store.apply_alerts(&batch).await.unwrap().unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(store.alerts_mark().await.unwrap(), 7);
    // The same batch again (a second worker, a retry after a crash that
    // did commit): refused whole, nothing doubles.
    assert_eq!(store.apply_alerts(&batch).await.unwrap(), None);
    assert_eq!(store.alerts_mark().await.unwrap(), 7);
    let listed = store
        .list_alerts(&AlertQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);

    // Folds: the count grows, the newest login moves forward only, a
    // summary's note is replaced.
    changes = vec![
        AlertChange::Fold {
            id: ids[0],
            add: 49,
            last_ts: Timestamp(T0 + 500),
            note: None,
        },
        AlertChange::Fold {
            id: ids[1],
            add: 2,
            last_ts: Timestamp(T0 - 500),
            note: Some("3 in all".into()),
        },
    ];
    let ok = store
        .apply_alerts(&AlertBatch {
            from_mark: 7,
            to_mark: 9,
            changes,
        })
        .await
        .unwrap();
    assert_eq!(ok, Some(vec![]));
    let a = store.alert(ids[0]).await.unwrap().unwrap();
    assert_eq!((a.count, a.last_ts), (50, Timestamp(T0 + 500)));
    assert_eq!(a.note, "first of three");
    let b = store.alert(ids[1]).await.unwrap().unwrap();
    assert_eq!((b.count, b.last_ts), (3, Timestamp(T0 + 1)));
    assert_eq!(b.note, "3 in all");
    let latest = store.latest_alert(&b.dedupe_key).await.unwrap().unwrap();
    assert_eq!(latest.id, ids[1]);
    assert_eq!(store.latest_alert("nothing").await.unwrap(), None);
    let times = store
        .recent_alert_times(AlertKind::UnusualLocation, Timestamp(T0 + 1), 10)
        .await
        .unwrap();
    assert_eq!(times, vec![Timestamp(T0 + 1)]);
    let users = vec!["user1@example.com".to_string(), "nobody".to_string()];
    let found = store
        .recent_user_alerts(&[AlertKind::UnusualLocation], &users, Timestamp(T0))
        .await
        .unwrap();
    assert_eq!(found.iter().map(|a| a.id).collect::<Vec<_>>(), vec![ids[1]]);
    let none = store
        .recent_user_alerts(&[AlertKind::BruteForce], &users, Timestamp(T0))
        .await
        .unwrap();
    assert!(none.is_empty());
    let later = store
        .recent_user_alerts(&[AlertKind::UnusualLocation], &users, Timestamp(T0 + 2))
        .await
        .unwrap();
    assert!(later.is_empty());
}

pub async fn a_failed_alert_batch_moves_no_mark<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    fixture.refuse_inserts(&store, "alerts").await;
    let err = store
        .apply_alerts(&AlertBatch {
            from_mark: 0,
            to_mark: 5,
            changes: inserts(AlertKind::BruteForce, 1),
        })
        .await;
    assert!(err.is_err());
    assert_eq!(store.alerts_mark().await.unwrap(), 0, "rolled back whole");
}

pub async fn admins_filter_page_acknowledge_close_and_resend_alerts<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let mut changes = inserts(AlertKind::UnusualLocation, 3);
    changes.extend(inserts(AlertKind::BruteForce, 2));
    if let AlertChange::Insert(a) = &mut changes[4] {
        a.grade = Grade::Critical;
    }
    let ids = store
        .apply_alerts(&AlertBatch {
            from_mark: 0,
            to_mark: 1,
            changes,
        })
        .await
        .unwrap()
        .unwrap();
    let q = |f: fn(&mut AlertQuery)| {
        let mut q = AlertQuery {
            limit: 100,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let count = |q: AlertQuery| {
        let store = &store;
        async move { store.list_alerts(&q).await.unwrap().len() }
    };
    assert_eq!(count(q(|_| {})).await, 5);
    assert_eq!(count(q(|q| q.kind = Some(AlertKind::BruteForce))).await, 2);
    assert_eq!(count(q(|q| q.min_grade = Some(Grade::Critical))).await, 1);
    assert_eq!(count(q(|q| q.min_grade = Some(Grade::Warning))).await, 5);
    assert_eq!(
        count(q(|q| q.user = Some("user1@example.com".into()))).await,
        2
    );
    assert_eq!(count(q(|q| q.since = Some(Timestamp(T0 + 1)))).await, 3);
    assert_eq!(count(q(|q| q.until = Some(Timestamp(T0 + 1)))).await, 2);
    assert_eq!(count(q(|q| q.limit = 2)).await, 2);
    // Paging: newest first, strictly before the cursor.
    let page = store
        .list_alerts(&AlertQuery {
            before_id: Some(ids[2]),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![ids[1], ids[0]]
    );

    let id = ids[0];
    assert!(store
        .act_on_alert(id, AlertAction::Acknowledge, "admin: seen")
        .await
        .unwrap());
    assert!(!store
        .act_on_alert(id, AlertAction::Acknowledge, "again")
        .await
        .unwrap());
    assert!(store
        .act_on_alert(id, AlertAction::Close, "")
        .await
        .unwrap());
    assert!(!store
        .act_on_alert(id, AlertAction::Close, "twice")
        .await
        .unwrap());
    let a = store.alert(id).await.unwrap().unwrap();
    assert_eq!(a.state, AlertState::Closed);
    assert_eq!(a.note, "first of three\nadmin: seen");
    assert_eq!(count(q(|q| q.state = Some(AlertState::Closed))).await, 1);
    assert!(!store
        .act_on_alert(999, AlertAction::Close, "")
        .await
        .unwrap());

    // Resends: asked, seen by the delivery side, cleared only if unchanged.
    assert!(!store.request_resend(999, Timestamp(T0)).await.unwrap());
    assert!(store
        .request_resend(ids[3], Timestamp(T0 + 10))
        .await
        .unwrap());
    assert!(store
        .request_resend(ids[1], Timestamp(T0 + 20))
        .await
        .unwrap());
    assert_eq!(
        store.resends_due(10).await.unwrap(),
        vec![(ids[3], Timestamp(T0 + 10)), (ids[1], Timestamp(T0 + 20))]
    );
    assert!(store
        .request_resend(ids[3], Timestamp(T0 + 30))
        .await
        .unwrap());
    assert!(!store
        .clear_resend(ids[3], Timestamp(T0 + 10))
        .await
        .unwrap());
    assert!(store
        .clear_resend(ids[3], Timestamp(T0 + 30))
        .await
        .unwrap());
    assert!(store
        .clear_resend(ids[1], Timestamp(T0 + 20))
        .await
        .unwrap());
    assert!(store.resends_due(10).await.unwrap().is_empty());
}

pub async fn alerts_past_the_retention_are_pruned_unless_referred_to<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let ids = store
        .apply_alerts(&AlertBatch {
            from_mark: 0,
            to_mark: 1,
            changes: inserts(AlertKind::UnusualLocation, 3),
        })
        .await
        .unwrap()
        .unwrap();
    // The newest login of the last one is recent.
    store
        .apply_alerts(&AlertBatch {
            from_mark: 1,
            to_mark: 2,
            changes: vec![AlertChange::Fold {
                id: ids[2],
                add: 1,
                last_ts: Timestamp(T0 + 1000),
                note: None,
            }],
        })
        .await
        .unwrap()
        .unwrap();
    // A notification still refers to the first.
    fixture
        .exec(
            &store,
            &format!(
                "INSERT INTO deliveries (alert_id, audience, channel, recipient, state, attempts, next_at, created_at) \
                 VALUES ({}, 'user', 'mail', 'kim@example.com', 'pending', 0, 0, 0)",
                ids[0]
            ),
        )
        .await;
    assert_eq!(store.prune_alerts(Timestamp(T0 + 500)).await.unwrap(), 1);
    assert!(store.alert(ids[0]).await.unwrap().is_some());
    assert!(store.alert(ids[1]).await.unwrap().is_none());
    assert!(store.alert(ids[2]).await.unwrap().is_some());
    assert_eq!(store.prune_alerts(Timestamp(T0 + 500)).await.unwrap(), 0);
}
