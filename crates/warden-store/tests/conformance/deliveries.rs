//! [`DeliveryStore`] and [`TemplateStore`] cases: the fan-out writes an
//! alert's deliveries once (the mark moves with them, a stale mark writes
//! nothing, racing fan-outs write once), sending and failing are
//! conditional, listings filter and page, and templates round-trip.

use std::sync::Arc;

use warden_core::{Audience, Delivery, DeliveryState, Lang, Timestamp};
use warden_store::{
    AlertStore, DeliveryQuery, DeliveryStore, FailedTry, StoredTemplate, TemplateStore,
};

use super::alerts::foreign_login;
use super::data::T0;
use super::Fixture;

fn delivery(alert_id: i64, channel: &str, recipient: &str) -> Delivery {
    Delivery {
        id: 0,
        alert_id,
        audience: if recipient.is_empty() {
            Audience::Admins
        } else {
            Audience::User
        },
        channel: channel.into(),
        recipient: recipient.into(),
        state: DeliveryState::Pending,
        attempts: 0,
        next_at: Timestamp(T0),
        last_error: None,
        created_at: Timestamp(T0),
        sent_at: None,
    }
}

pub async fn fan_out_writes_deliveries_with_the_mark_and_a_stale_mark_writes_nothing<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    assert_eq!(store.delivery_mark().await.unwrap(), 0);
    let a1 = store.insert_alert(&foreign_login()).await.unwrap();
    let a2 = store.insert_alert(&foreign_login()).await.unwrap();
    let after = store.alerts_after(0, 10).await.unwrap();
    assert_eq!(after.iter().map(|a| a.id).collect::<Vec<_>>(), vec![a1, a2]);
    assert_eq!(store.alerts_after(a1, 10).await.unwrap().len(), 1);
    assert_eq!(store.alerts_after(0, 1).await.unwrap().len(), 1);

    let rows = vec![
        delivery(a1, "mail", "kim@example.com"),
        delivery(a1, "secops", ""),
        delivery(a2, "mail", "kim@example.com"),
    ];
    assert!(store.fan_out(0, a2, &rows).await.unwrap());
    assert_eq!(store.delivery_mark().await.unwrap(), a2);
    // A second fan-out from the old mark (a racing or restarted worker)
    // writes nothing.
    assert!(!store.fan_out(0, a2, &rows).await.unwrap());
    let all = store
        .deliveries(DeliveryQuery {
            limit: 100,
            ..DeliveryQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    // Newest first, every field as written.
    let mut want = rows[2].clone();
    want.id = all[0].id;
    assert_eq!(all[0], want);
    let of_a1 = store
        .deliveries(DeliveryQuery {
            alert_id: Some(a1),
            limit: 100,
            ..DeliveryQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(of_a1.len(), 2);
    assert!(of_a1.iter().all(|d| d.alert_id == a1));
    // Paging: before the newest.
    let page = store
        .deliveries(DeliveryQuery {
            before: Some(all[0].id),
            limit: 1,
            ..DeliveryQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, all[1].id);
}

pub async fn racing_fan_outs_write_each_alert_once<F: Fixture>(fixture: &F) {
    let store = Arc::new(fixture.fresh().await);
    let a = store.insert_alert(&foreign_login()).await.unwrap();
    let tries = (0..6).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let mark = store.delivery_mark().await.unwrap();
            let alerts = store.alerts_after(mark, 10).await.unwrap();
            let Some(last) = alerts.last() else {
                return false;
            };
            let rows: Vec<Delivery> = alerts
                .iter()
                .map(|a| delivery(a.id, "mail", "kim@example.com"))
                .collect();
            store.fan_out(mark, last.id, &rows).await.unwrap()
        })
    });
    let mut won = 0;
    for t in tries {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one fan-out wins");
    let rows = store
        .deliveries(DeliveryQuery {
            alert_id: Some(a),
            limit: 100,
            ..DeliveryQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
}

pub async fn deliveries_are_due_sent_retried_and_given_up_conditionally<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let a = store.insert_alert(&foreign_login()).await.unwrap();
    let mut later = delivery(a, "hook", "");
    later.next_at = Timestamp(T0 + 100);
    let rows = vec![delivery(a, "mail", "kim@example.com"), later];
    assert!(store.fan_out(0, a, &rows).await.unwrap());
    assert_eq!(store.next_due().await.unwrap(), Some(Timestamp(T0)));
    let due = store.due_deliveries(Timestamp(T0), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let mail = due[0].id;
    assert_eq!(
        store
            .due_deliveries(Timestamp(T0 + 100), 10)
            .await
            .unwrap()
            .len(),
        2
    );

    // A failed try with a retry stays pending, not due before its time.
    let retry = FailedTry {
        attempts: 1,
        retry_at: Some(Timestamp(T0 + 30)),
        error: "connection refused".into(),
    };
    assert!(store.delivery_failed(mail, &retry).await.unwrap());
    assert!(store
        .due_deliveries(Timestamp(T0 + 29), 10)
        .await
        .unwrap()
        .is_empty());
    let d = store.delivery(mail).await.unwrap().unwrap();
    assert_eq!(
        (d.state, d.attempts, d.next_at, d.last_error.as_deref()),
        (
            DeliveryState::Pending,
            1,
            Timestamp(T0 + 30),
            Some("connection refused")
        )
    );
    // Sent: counted, error cleared; a second "sent" changes nothing.
    assert!(store.delivery_sent(mail, Timestamp(T0 + 31)).await.unwrap());
    assert!(!store.delivery_sent(mail, Timestamp(T0 + 32)).await.unwrap());
    assert!(!store.delivery_failed(mail, &retry).await.unwrap());
    let d = store.delivery(mail).await.unwrap().unwrap();
    assert_eq!(
        (d.state, d.attempts, d.sent_at, d.last_error),
        (DeliveryState::Sent, 2, Some(Timestamp(T0 + 31)), None)
    );
    // Given up.
    let hook = rows_of(&store, a)
        .await
        .into_iter()
        .find(|d| d.channel == "hook")
        .unwrap();
    let give_up = FailedTry {
        attempts: 5,
        retry_at: None,
        error: "HTTP 500".into(),
    };
    assert!(store.delivery_failed(hook.id, &give_up).await.unwrap());
    assert!(store
        .due_deliveries(Timestamp(T0 + 10_000), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.next_due().await.unwrap(), None);
    let failed = store
        .deliveries(DeliveryQuery {
            state: Some(DeliveryState::Failed),
            limit: 10,
            ..DeliveryQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].last_error.as_deref(), Some("HTTP 500"));
    let mut counts = store.delivery_counts().await.unwrap();
    counts.sort_by_key(|(s, _)| s.as_str());
    assert_eq!(
        counts,
        vec![(DeliveryState::Failed, 1), (DeliveryState::Sent, 1)]
    );
    assert_eq!(store.delivery(9_999).await.unwrap(), None);
}

async fn rows_of<B: DeliveryStore>(store: &B, alert: i64) -> Vec<Delivery> {
    store
        .deliveries(DeliveryQuery {
            alert_id: Some(alert),
            limit: 100,
            ..DeliveryQuery::default()
        })
        .await
        .unwrap()
}

pub async fn templates_round_trip_replace_and_reset<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    assert_eq!(store.template("user_email", Lang::Zh).await.unwrap(), None);
    let mut t = StoredTemplate {
        name: "user_email".into(),
        lang: Lang::Zh,
        body: "您好 {{ user }}".into(),
        updated_at: Timestamp(T0),
        updated_by: "admin".into(),
    };
    store.put_template(&t).await.unwrap();
    assert_eq!(
        store.template("user_email", Lang::Zh).await.unwrap(),
        Some(t.clone())
    );
    assert_eq!(store.template("user_email", Lang::En).await.unwrap(), None);
    t.body = "新版 {{ user }}".into();
    t.updated_at = Timestamp(T0 + 5);
    store.put_template(&t).await.unwrap();
    let en = StoredTemplate {
        lang: Lang::En,
        body: "Hello".into(),
        ..t.clone()
    };
    store.put_template(&en).await.unwrap();
    assert_eq!(
        store.templates().await.unwrap(),
        vec![en.clone(), t.clone()]
    );
    assert!(store.delete_template("user_email", Lang::Zh).await.unwrap());
    assert!(!store.delete_template("user_email", Lang::Zh).await.unwrap());
    assert_eq!(store.templates().await.unwrap(), vec![en]);
}

pub async fn a_resend_request_is_fanned_out_once_and_a_newer_request_waits<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    let a = store.insert_alert(&foreign_login()).await.unwrap();
    let rows = vec![delivery(a, "mail", "kim@example.com")];
    // No request: nothing is written.
    assert!(!store
        .fan_out_resend(a, Timestamp(T0 + 5), &rows)
        .await
        .unwrap());
    assert!(store.request_resend(a, Timestamp(T0 + 5)).await.unwrap());
    assert_eq!(
        store.resends_due(10).await.unwrap(),
        vec![(a, Timestamp(T0 + 5))]
    );
    // A newer request replaced the one a worker read: the stale fan-out
    // writes nothing, the newer one is still due.
    assert!(store.request_resend(a, Timestamp(T0 + 9)).await.unwrap());
    assert!(!store
        .fan_out_resend(a, Timestamp(T0 + 5), &rows)
        .await
        .unwrap());
    assert!(store
        .fan_out_resend(a, Timestamp(T0 + 9), &rows)
        .await
        .unwrap());
    assert!(store.resends_due(10).await.unwrap().is_empty());
    // Twice the same request (a racing or restarted worker): once.
    assert!(!store
        .fan_out_resend(a, Timestamp(T0 + 9), &rows)
        .await
        .unwrap());
    let all = store
        .deliveries(DeliveryQuery {
            alert_id: Some(a),
            limit: 100,
            ..DeliveryQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}
