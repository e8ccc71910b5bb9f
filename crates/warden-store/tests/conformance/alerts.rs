//! [`AlertStore`] cases: alerts round-trip every field, and a user's
//! answer is taken once, even by racing requests.

use std::sync::Arc;

use warden_core::{
    Alert, AlertKind, AlertState, Answer, Country, Decision, Grade, Protocol, ReasonCode, Timestamp,
};
use warden_store::AlertStore;

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
