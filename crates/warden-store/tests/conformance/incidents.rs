//! [`IncidentStore`] cases: an incident round-trips with its steps,
//! affected entries, triggers and review; the opener's dedupe attaches to
//! the user's incident that is not closed; status changes are conditional
//! (stale → conflict, closing needs the review); a step completes once; an
//! overdue step is listed until alerted, and alerted once; lists filter
//! and page.

use warden_core::incident::{
    ActionKind, Affected, AffectedKind, Incident, IncidentGrade, IncidentStatus, Playbook,
    PlaybookStep, Review, StepKind, Trigger, TriggerKind,
};
use warden_core::Timestamp;
use warden_store::{IncidentQuery, IncidentStore, NewIncident, Opened, StepDone, StoreError};

use super::data::T0;
use super::Fixture;

fn playbook() -> Playbook {
    let step = |id: &str, due, kind| PlaybookStep {
        id: id.into(),
        title_en: format!("Step {id}"),
        title_zh: "步骤".into(),
        owner: "security_admin".into(),
        due_minutes: due,
        kind,
    };
    Playbook {
        grade: IncidentGrade::L1,
        title: "Credential compromise".into(),
        steps: vec![
            step("lock", 60, StepKind::Action(ActionKind::LockAccount)),
            step(
                "evidence",
                1440,
                StepKind::Manual {
                    checklist: vec!["Logins reviewed".into(), "转发规则已检查".into()],
                },
            ),
        ],
    }
}

fn new_incident(user: &str, kind: TriggerKind, ref_id: Option<i64>, at: i64) -> NewIncident {
    let at = Timestamp(at);
    NewIncident {
        incident: Incident {
            id: 0,
            grade: IncidentGrade::L1,
            status: IncidentStatus::Open,
            title: format!("Credential compromise: {user}"),
            opened_at: at,
            opened_by: "warden".into(),
            trigger: Trigger { kind, ref_id, at },
            user: Some(user.into()),
            assignee: None,
            first_risky_at: Some(Timestamp(at.secs() - 600)),
            contained_at: None,
            eradicated_at: None,
            recovered_at: None,
            closed_at: None,
        },
        affected: vec![Affected {
            kind: AffectedKind::User,
            value: user.into(),
            added_at: at,
            added_by: "warden".into(),
        }],
        steps: playbook().instantiate(at),
    }
}

fn review(at: i64) -> Review {
    Review {
        root_cause: "Password reused from a leaked site".into(),
        what_worked: "Lock within 10 minutes".into(),
        what_to_change: "Require 2FA for finance".into(),
        by: "admin".into(),
        at: Timestamp(at),
    }
}

pub async fn incidents_round_trip_with_steps_affected_triggers_and_review<F: Fixture>(f: &F) {
    let db = f.fresh().await;
    let new = new_incident("alice@acme.test", TriggerKind::Answer, Some(12), T0);
    let id = match db.open_incident(&new, true).await.unwrap() {
        Opened::New(id) => id,
        other => panic!("{other:?}"),
    };
    assert!(db.incident(id + 100).await.unwrap().is_none());
    let rec = db.incident(id).await.unwrap().unwrap();
    assert_eq!(
        rec.incident,
        Incident {
            id,
            ..new.incident.clone()
        }
    );
    assert_eq!(rec.steps, new.steps);
    assert_eq!(rec.affected, new.affected);
    assert_eq!(rec.triggers, vec![new.incident.trigger]);
    assert_eq!(rec.review, None);
    assert!(rec.reverts.is_empty());

    let device = Affected {
        kind: AffectedKind::Device,
        value: "iPhone 15".into(),
        added_at: Timestamp(T0 + 5),
        added_by: "admin".into(),
    };
    assert!(db.add_affected(id, &device).await.unwrap());
    assert!(!db.add_affected(id, &device).await.unwrap(), "once");
    assert!(matches!(
        db.add_affected(id + 100, &device).await,
        Err(StoreError::NotFound { .. })
    ));
    db.assign_incident(id, Some("sec-oncall")).await.unwrap();
    assert!(matches!(
        db.assign_incident(id + 100, Some("x")).await,
        Err(StoreError::NotFound { .. })
    ));
    db.set_review(id, &review(T0 + 9)).await.unwrap();
    let mut second = review(T0 + 10);
    second.root_cause = "Phishing page".into();
    db.set_review(id, &second).await.unwrap();
    assert_eq!(
        db.mark_reverts(id, &[4, 5, 4], Timestamp(T0 + 7), "admin")
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        db.mark_reverts(id, &[5, 6], Timestamp(T0 + 8), "admin")
            .await
            .unwrap(),
        1
    );

    let rec = db.incident(id).await.unwrap().unwrap();
    assert_eq!(rec.incident.assignee.as_deref(), Some("sec-oncall"));
    assert_eq!(rec.affected.len(), 2);
    assert_eq!(rec.affected[1], device);
    assert_eq!(rec.review, Some(second));
    let ops: Vec<i64> = rec.reverts.iter().map(|r| r.operation_id).collect();
    assert_eq!(ops, vec![4, 5, 6]);
}

pub async fn an_open_incident_of_the_user_takes_new_triggers_instead_of_a_second_one<F: Fixture>(
    f: &F,
) {
    let db = f.fresh().await;
    let first = db
        .open_incident(
            &new_incident("alice@acme.test", TriggerKind::Alert, Some(1), T0),
            true,
        )
        .await
        .unwrap();
    let again = db
        .open_incident(
            &new_incident("alice@acme.test", TriggerKind::Operation, Some(9), T0 + 60),
            true,
        )
        .await
        .unwrap();
    assert_eq!(again, Opened::Attached(first.id()));
    // The same trigger twice is kept once.
    db.open_incident(
        &new_incident("alice@acme.test", TriggerKind::Operation, Some(9), T0 + 61),
        true,
    )
    .await
    .unwrap();
    let other = db
        .open_incident(
            &new_incident("bob@acme.test", TriggerKind::Alert, Some(2), T0),
            true,
        )
        .await
        .unwrap();
    assert!(matches!(other, Opened::New(id) if id != first.id()));
    let rec = db.incident(first.id()).await.unwrap().unwrap();
    let kinds: Vec<_> = rec.triggers.iter().map(|t| (t.kind, t.ref_id)).collect();
    assert_eq!(
        kinds,
        vec![
            (TriggerKind::Alert, Some(1)),
            (TriggerKind::Operation, Some(9))
        ]
    );
    // Without dedupe (a manual opening) a second one opens.
    let manual = db
        .open_incident(
            &new_incident("alice@acme.test", TriggerKind::Manual, None, T0 + 70),
            false,
        )
        .await
        .unwrap();
    assert!(matches!(manual, Opened::New(_)));

    // Once closed, a new trigger opens a new incident.
    let mut closed = rec.incident.clone();
    db.set_review(closed.id, &review(T0 + 80)).await.unwrap();
    closed.advance(IncidentStatus::Closed, Timestamp(T0 + 90));
    db.set_incident_status(IncidentStatus::Open, &closed)
        .await
        .unwrap();
    // The manual one is still open: dedupe attaches to it.
    let next = db
        .open_incident(
            &new_incident("alice@acme.test", TriggerKind::Alert, Some(3), T0 + 100),
            true,
        )
        .await
        .unwrap();
    assert_eq!(next, Opened::Attached(manual.id()));
}

pub async fn status_changes_are_conditional_and_closing_needs_the_review<F: Fixture>(f: &F) {
    let db = f.fresh().await;
    let id = db
        .open_incident(
            &new_incident("alice@acme.test", TriggerKind::Manual, None, T0),
            false,
        )
        .await
        .unwrap()
        .id();
    let mut i = db.incident(id).await.unwrap().unwrap().incident;
    let stale = i.clone();
    i.advance(IncidentStatus::Contained, Timestamp(T0 + 100));
    db.set_incident_status(IncidentStatus::Open, &i)
        .await
        .unwrap();
    // A second change from the same old status is stale.
    let mut again = stale.clone();
    again.advance(IncidentStatus::Eradicated, Timestamp(T0 + 110));
    assert!(matches!(
        db.set_incident_status(IncidentStatus::Open, &again).await,
        Err(StoreError::Conflict { .. })
    ));
    let mut closing = i.clone();
    closing.advance(IncidentStatus::Closed, Timestamp(T0 + 200));
    assert!(matches!(
        db.set_incident_status(IncidentStatus::Contained, &closing)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let now = db.incident(id).await.unwrap().unwrap().incident;
    assert_eq!(now.status, IncidentStatus::Contained);
    assert_eq!(now.contained_at, Some(Timestamp(T0 + 100)));
    assert_eq!(now.closed_at, None);
    db.set_review(id, &review(T0 + 150)).await.unwrap();
    db.set_incident_status(IncidentStatus::Contained, &closing)
        .await
        .unwrap();
    let now = db.incident(id).await.unwrap().unwrap().incident;
    assert_eq!(now.status, IncidentStatus::Closed);
    assert_eq!(now.recovered_at, Some(Timestamp(T0 + 200)));
    assert_eq!(now.closed_at, Some(Timestamp(T0 + 200)));
    assert!(matches!(
        db.set_review(id, &review(T0 + 300)).await,
        Err(StoreError::Conflict { .. })
    ));
    let mut ghost = closing.clone();
    ghost.id = id + 100;
    assert!(matches!(
        db.set_incident_status(IncidentStatus::Open, &ghost).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn a_step_completes_once_and_overdue_steps_are_alerted_once<F: Fixture>(f: &F) {
    let db = f.fresh().await;
    let id = db
        .open_incident(
            &new_incident("alice@acme.test", TriggerKind::Manual, None, T0),
            false,
        )
        .await
        .unwrap()
        .id();
    assert!(db
        .overdue_steps(Timestamp(T0 + 3599), 10)
        .await
        .unwrap()
        .is_empty());
    let late = db.overdue_steps(Timestamp(T0 + 3600), 10).await.unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].incident_id, id);
    assert_eq!(late[0].step.step, "lock");
    assert_eq!(late[0].grade, IncidentGrade::L1);
    assert_eq!(late[0].user.as_deref(), Some("alice@acme.test"));
    assert!(db
        .mark_overdue_alerted(id, "lock", Timestamp(T0 + 3601))
        .await
        .unwrap());
    assert!(!db
        .mark_overdue_alerted(id, "lock", Timestamp(T0 + 3602))
        .await
        .unwrap());
    assert!(db
        .overdue_steps(Timestamp(T0 + 3700), 10)
        .await
        .unwrap()
        .is_empty());

    let done = StepDone {
        at: Timestamp(T0 + 4000),
        by: "admin".into(),
        note: Some("checked: 2 rules, 1 contact".into()),
        result: None,
    };
    assert!(db.complete_step(id, "evidence", &done).await.unwrap());
    assert!(
        !db.complete_step(id, "evidence", &done).await.unwrap(),
        "once"
    );
    assert!(matches!(
        db.complete_step(id, "nope", &done).await,
        Err(StoreError::NotFound { .. })
    ));
    // Done before its due time: never overdue.
    assert!(db
        .overdue_steps(Timestamp(T0 + 90_000), 10)
        .await
        .unwrap()
        .is_empty());
    let rec = db.incident(id).await.unwrap().unwrap();
    assert_eq!(rec.steps[1].done_at, Some(Timestamp(T0 + 4000)));
    assert_eq!(
        rec.steps[1].note.as_deref(),
        Some("checked: 2 rules, 1 contact")
    );
    assert_eq!(rec.steps[0].overdue_alerted_at, Some(Timestamp(T0 + 3601)));

    // A closed incident's steps are never overdue.
    let id2 = db
        .open_incident(
            &new_incident("bob@acme.test", TriggerKind::Manual, None, T0),
            false,
        )
        .await
        .unwrap()
        .id();
    db.set_review(id2, &review(T0)).await.unwrap();
    let mut i = db.incident(id2).await.unwrap().unwrap().incident;
    i.advance(IncidentStatus::Closed, Timestamp(T0 + 10));
    db.set_incident_status(IncidentStatus::Open, &i)
        .await
        .unwrap();
    assert!(db
        .overdue_steps(Timestamp(T0 + 90_000), 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn incident_lists_filter_and_page_newest_first<F: Fixture>(f: &F) {
    let db = f.fresh().await;
    let mut ids = Vec::new();
    for (n, user) in ["a@acme.test", "b@acme.test", "a@acme.test", "c@acme.test"]
        .iter()
        .enumerate()
    {
        let mut new = new_incident(user, TriggerKind::Manual, None, T0 + n as i64);
        if n == 3 {
            new.incident.grade = IncidentGrade::L3;
            new.incident.assignee = Some("ops".into());
        }
        ids.push(db.open_incident(&new, false).await.unwrap().id());
    }
    let all = |q: IncidentQuery| {
        let db = &db;
        async move {
            db.list_incidents(&IncidentQuery { limit: 50, ..q })
                .await
                .unwrap()
                .iter()
                .map(|i| i.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        all(IncidentQuery::default()).await,
        vec![ids[3], ids[2], ids[1], ids[0]]
    );
    assert_eq!(
        all(IncidentQuery {
            user: Some("a@acme.test".into()),
            ..Default::default()
        })
        .await,
        vec![ids[2], ids[0]]
    );
    assert_eq!(
        all(IncidentQuery {
            grade: Some(IncidentGrade::L3),
            ..Default::default()
        })
        .await,
        vec![ids[3]]
    );
    assert_eq!(
        all(IncidentQuery {
            assignee: Some("ops".into()),
            ..Default::default()
        })
        .await,
        vec![ids[3]]
    );
    assert_eq!(
        all(IncidentQuery {
            before_id: Some(ids[2]),
            ..Default::default()
        })
        .await,
        vec![ids[1], ids[0]]
    );
    // An affected user finds the incident too.
    let extra = Affected {
        kind: AffectedKind::User,
        value: "d@acme.test".into(),
        added_at: Timestamp(T0),
        added_by: "admin".into(),
    };
    db.add_affected(ids[1], &extra).await.unwrap();
    assert_eq!(
        all(IncidentQuery {
            user: Some("d@acme.test".into()),
            ..Default::default()
        })
        .await,
        vec![ids[1]]
    );
    db.set_review(ids[0], &review(T0)).await.unwrap();
    let mut i = db.incident(ids[0]).await.unwrap().unwrap().incident;
    i.advance(IncidentStatus::Closed, Timestamp(T0 + 10));
    db.set_incident_status(IncidentStatus::Open, &i)
        .await
        .unwrap();
    assert_eq!(
        all(IncidentQuery {
            active: true,
            ..Default::default()
        })
        .await,
        vec![ids[3], ids[2], ids[1]]
    );
    assert_eq!(
        all(IncidentQuery {
            status: Some(IncidentStatus::Closed),
            ..Default::default()
        })
        .await,
        vec![ids[0]]
    );
    let page = db
        .list_incidents(&IncidentQuery {
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 2);
}
