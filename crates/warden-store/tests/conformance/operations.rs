//! [`OperationStore`] cases: an operation round-trips with the alert it
//! raised (written in one transaction: a failed operation leaves no
//! alert), a report repeated with the same source and report id is stored
//! once, the admins' list filters and pages, and retention prunes.

use warden_core::{AlertKind, CorrelationReason, Grade, Operation, OperationKind, Timestamp};
use warden_store::{AlertQuery, AlertStore, OperationAlert, OperationQuery, OperationStore};

use super::alerts::foreign_login;
use super::data::{ip, T0};
use super::Fixture;

fn forwarding(user: &str, n: i64) -> Operation {
    Operation {
        id: 0,
        user: user.into(),
        kind: OperationKind::ForwardingRule,
        ts: Timestamp(T0 + n),
        received_at: Timestamp(T0 + n + 1),
        ip: Some(ip("102.89.1.2")),
        source: "webmail".into(),
        report_id: Some(format!("rule-{n}")),
        target: Some("drop@mailbox.example.net".into()),
        external: true,
        detail: "rule \"all mail\" → drop@mailbox.example.net 转发".into(),
        grade: Grade::Critical,
        reasons: vec![
            CorrelationReason::ExternalForwarding,
            CorrelationReason::AfterRiskyLogin,
        ],
        login_event_id: Some(42),
        alert_id: None,
    }
}

fn plain(user: &str, n: i64) -> Operation {
    Operation {
        kind: OperationKind::PasswordChanged,
        ip: None,
        report_id: None,
        target: None,
        external: false,
        detail: String::new(),
        grade: Grade::Info,
        reasons: vec![],
        login_event_id: None,
        ..forwarding(user, n)
    }
}

fn suspicious() -> warden_core::Alert {
    warden_core::Alert {
        kind: AlertKind::SuspiciousForwarding,
        grade: Grade::Critical,
        dedupe_key: "sensitive|kim".into(),
        ..foreign_login()
    }
}

pub async fn operations_round_trip_with_the_alert_they_raised<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    assert_eq!(store.operation(1).await.unwrap(), None);
    let mut op = forwarding("kim@example.com", 10);
    let done = store
        .record_operation(&op, Some(&OperationAlert::Insert(Box::new(suspicious()))))
        .await
        .unwrap();
    assert!(!done.duplicate);
    let alert_id = done.alert_id.expect("the alert was written");
    let alert = store.alert(alert_id).await.unwrap().unwrap();
    assert_eq!(alert.kind, AlertKind::SuspiciousForwarding);
    op.id = done.id;
    op.alert_id = Some(alert_id);
    assert_eq!(store.operation(done.id).await.unwrap(), Some(op));

    // A second operation after the same login folds into the alert.
    let next = forwarding("kim@example.com", 15);
    let folded = store
        .record_operation(
            &next,
            Some(&OperationAlert::Fold {
                id: alert_id,
                last_ts: next.ts,
            }),
        )
        .await
        .unwrap();
    assert_eq!(folded.alert_id, Some(alert_id));
    let alert = store.alert(alert_id).await.unwrap().unwrap();
    assert_eq!(alert.count, 4);
    assert_eq!(alert.last_ts, Timestamp(T0 + 60), "the later time stays");
    // A fold into a missing alert writes nothing.
    let stray = forwarding("kim@example.com", 17);
    assert!(store
        .record_operation(
            &stray,
            Some(&OperationAlert::Fold {
                id: alert_id + 100,
                last_ts: stray.ts,
            }),
        )
        .await
        .is_err());
    let kim = OperationQuery {
        user: Some("kim@example.com".into()),
        limit: 10,
        ..OperationQuery::default()
    };
    assert_eq!(store.list_operations(&kim).await.unwrap().len(), 2);

    let mut bare = plain("kim@example.com", 20);
    let done = store.record_operation(&bare, None).await.unwrap();
    assert_eq!(done.alert_id, None);
    bare.id = done.id;
    assert_eq!(store.operation(done.id).await.unwrap(), Some(bare));
}

pub async fn a_report_sent_twice_is_stored_once<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let op = forwarding("kim@example.com", 10);
    let first = store
        .record_operation(&op, Some(&OperationAlert::Insert(Box::new(suspicious()))))
        .await
        .unwrap();
    let again = store
        .record_operation(&op, Some(&OperationAlert::Insert(Box::new(suspicious()))))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!((again.id, again.alert_id), (first.id, first.alert_id));
    let alerts = store
        .list_alerts(&AlertQuery {
            limit: 10,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1, "no second alert");
    // Another system's id of the same text is another report; reports
    // without an id are never folded.
    let other = Operation {
        source: "im".into(),
        ..op.clone()
    };
    assert!(
        !store
            .record_operation(&other, None)
            .await
            .unwrap()
            .duplicate
    );
    let bare = plain("kim@example.com", 30);
    let a = store.record_operation(&bare, None).await.unwrap();
    let b = store.record_operation(&bare, None).await.unwrap();
    assert!(!a.duplicate && !b.duplicate && a.id != b.id);
    let all = store
        .list_operations(&OperationQuery {
            limit: 100,
            ..OperationQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
}

pub async fn a_failed_operation_leaves_no_alert<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    fixture.refuse_inserts(&store, "sensitive_operations").await;
    let op = forwarding("kim@example.com", 10);
    assert!(store
        .record_operation(&op, Some(&OperationAlert::Insert(Box::new(suspicious()))))
        .await
        .is_err());
    let alerts = store
        .list_alerts(&AlertQuery {
            limit: 10,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert!(alerts.is_empty(), "the alert was rolled back with it");
    fixture.allow_inserts(&store, "sensitive_operations").await;
    let done = store
        .record_operation(&op, Some(&OperationAlert::Insert(Box::new(suspicious()))))
        .await
        .unwrap();
    assert!(!done.duplicate, "the failed report left nothing behind");
}

pub async fn operations_list_by_user_kind_grade_and_time_newest_first_in_pages<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            store
                .record_operation(&forwarding("kim@example.com", n * 100), None)
                .await
                .unwrap()
                .id,
        );
    }
    let lee = store
        .record_operation(&plain("lee@example.com", 250), None)
        .await
        .unwrap()
        .id;
    let list = |q: OperationQuery| {
        let store = &store;
        async move {
            store
                .list_operations(&q)
                .await
                .unwrap()
                .into_iter()
                .map(|o| o.id)
                .collect::<Vec<_>>()
        }
    };
    let all = OperationQuery {
        limit: 100,
        ..OperationQuery::default()
    };
    assert_eq!(
        list(all.clone()).await,
        [lee, ids[4], ids[3], ids[2], ids[1], ids[0]]
    );
    let kim = OperationQuery {
        user: Some("kim@example.com".into()),
        limit: 2,
        ..all.clone()
    };
    assert_eq!(list(kim.clone()).await, [ids[4], ids[3]]);
    assert_eq!(
        list(OperationQuery {
            before_id: Some(ids[3]),
            ..kim.clone()
        })
        .await,
        [ids[2], ids[1]]
    );
    assert_eq!(
        list(OperationQuery {
            kind: Some(OperationKind::PasswordChanged),
            ..all.clone()
        })
        .await,
        [lee]
    );
    assert_eq!(
        list(OperationQuery {
            min_grade: Some(Grade::Warning),
            ..all.clone()
        })
        .await,
        [ids[4], ids[3], ids[2], ids[1], ids[0]]
    );
    assert_eq!(
        list(OperationQuery {
            since: Some(Timestamp(T0 + 300)),
            ..all.clone()
        })
        .await,
        [ids[4], ids[3]]
    );
    assert!(
        list(OperationQuery {
            limit: 100_000,
            ..all.clone()
        })
        .await
        .len()
            <= warden_store::MAX_OPERATIONS_LIMIT as usize
    );
}

pub async fn operations_past_the_retention_are_pruned_and_outlive_their_alert<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    let old = store
        .record_operation(
            &forwarding("kim@example.com", 0),
            Some(&OperationAlert::Insert(Box::new(suspicious()))),
        )
        .await
        .unwrap();
    let new = store
        .record_operation(&plain("kim@example.com", 10_000), None)
        .await
        .unwrap();
    // The alert goes with the history's retention; the operation keeps its
    // row without the link.
    assert_eq!(store.prune_alerts(Timestamp(T0 + 5_000)).await.unwrap(), 1);
    let kept = store.operation(old.id).await.unwrap().unwrap();
    assert_eq!(kept.alert_id, None);
    assert_eq!(
        store.prune_operations(Timestamp(T0 + 5_000)).await.unwrap(),
        1
    );
    assert_eq!(store.operation(old.id).await.unwrap(), None);
    assert!(store.operation(new.id).await.unwrap().is_some());
}
