//! [`AnswerStore`] cases: disowned sources are stored once per account and
//! network, and a queued geolocation complaint round-trips, pages by state
//! and is decided once.

use warden_core::{CorrectionState, Country, QueuedCorrection, SourceBlock, Timestamp};
use warden_store::AnswerStore;

use super::data::{ip, T0};
use super::Fixture;

fn complaint(user: &str, n: u8) -> QueuedCorrection {
    QueuedCorrection {
        id: 0,
        alert_id: None,
        user: user.into(),
        ip: ip(&format!("113.88.1.{n}")),
        country: Some(Country::new("CN").unwrap()),
        region: Some("Guangdong".into()),
        city: Some("Shenzhen 深圳".into()),
        comment: "I was in Hangzhou 杭州".into(),
        state: CorrectionState::Pending,
        created_at: Timestamp(T0 + i64::from(n)),
        decided_at: None,
        decided_by: None,
    }
}

pub async fn source_blocks_are_kept_once_per_account_and_network<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    assert!(store.source_blocks().await.unwrap().is_empty());
    let b = SourceBlock {
        user: "kim@example.com".into(),
        network: SourceBlock::network_of(ip("102.89.1.2")),
        alert_id: None,
        created_at: Timestamp(T0),
    };
    assert!(store.insert_source_block(&b).await.unwrap());
    let again = SourceBlock {
        created_at: Timestamp(T0 + 5),
        ..b.clone()
    };
    assert!(!store.insert_source_block(&again).await.unwrap());
    let other = SourceBlock {
        user: "lee@example.com".into(),
        network: SourceBlock::network_of(ip("2001:db8:5:6::1")),
        created_at: Timestamp(T0 + 1),
        ..b.clone()
    };
    assert!(store.insert_source_block(&other).await.unwrap());
    assert_eq!(
        store.source_blocks().await.unwrap(),
        vec![b.clone(), other.clone()]
    );
    assert!(store
        .delete_source_block(&b.user, &b.network)
        .await
        .unwrap());
    assert!(!store
        .delete_source_block(&b.user, &b.network)
        .await
        .unwrap());
    assert_eq!(store.source_blocks().await.unwrap(), vec![other]);
}

pub async fn a_queued_correction_round_trips_pages_and_is_decided_once<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    assert_eq!(store.queued_correction(1).await.unwrap(), None);
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(
            store
                .queue_correction(&complaint("kim@example.com", n))
                .await
                .unwrap(),
        );
    }
    let mut first = complaint("kim@example.com", 1);
    first.id = ids[0];
    assert_eq!(store.queued_correction(ids[0]).await.unwrap(), Some(first));

    assert!(store
        .decide_correction(ids[1], CorrectionState::Accepted, Timestamp(T0 + 50), "ops")
        .await
        .unwrap());
    assert!(
        !store
            .decide_correction(ids[1], CorrectionState::Rejected, Timestamp(T0 + 51), "ops")
            .await
            .unwrap(),
        "a decided complaint is decided once"
    );
    assert!(!store
        .decide_correction(999, CorrectionState::Rejected, Timestamp(T0), "ops")
        .await
        .unwrap());
    let decided = store.queued_correction(ids[1]).await.unwrap().unwrap();
    assert_eq!(decided.state, CorrectionState::Accepted);
    assert_eq!(decided.decided_at, Some(Timestamp(T0 + 50)));
    assert_eq!(decided.decided_by.as_deref(), Some("ops"));

    let pending = store
        .queued_corrections(Some(CorrectionState::Pending), None, 2)
        .await
        .unwrap();
    assert_eq!(
        pending.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![ids[0], ids[2]]
    );
    let next = store
        .queued_corrections(Some(CorrectionState::Pending), Some(ids[2]), 10)
        .await
        .unwrap();
    assert_eq!(
        next.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![ids[3], ids[4]]
    );
    let all = store.queued_corrections(None, None, 10).await.unwrap();
    assert_eq!(all.len(), 5);
    let accepted = store
        .queued_corrections(Some(CorrectionState::Accepted), None, 10)
        .await
        .unwrap();
    assert_eq!(accepted.len(), 1);
}

pub async fn who_else_logs_in_from_an_address_and_what_a_user_answered_before<F: Fixture>(
    fixture: &F,
) {
    use warden_core::{Alert, AlertKind, AlertState, Answer, Grade};
    use warden_store::{AlertStore, Store};
    let store = fixture.fresh().await;
    let mut events = Vec::new();
    for (user, addr, ts) in [
        ("kim", "203.0.113.5", T0),
        ("lee", "203.0.113.5", T0 + 10),
        ("max", "203.0.113.5", T0 - 100_000),
        ("ned", "203.0.113.6", T0 + 20),
        ("lee", "203.0.113.5", T0 + 30),
    ] {
        let mut e = super::data::event(user, ts);
        e.ip = ip(addr);
        events.push(e);
    }
    store
        .append(&super::data::events_batch(events))
        .await
        .unwrap();
    let seen = store
        .users_seen_from(ip("203.0.113.5"), "kim", Timestamp(T0 - 50_000), 10)
        .await
        .unwrap();
    assert_eq!(
        seen,
        vec!["lee".to_string()],
        "max is too old, ned elsewhere, kim left out"
    );
    let all = store
        .users_seen_from(ip("203.0.113.5"), "", Timestamp(0), 10)
        .await
        .unwrap();
    assert_eq!(all, vec!["kim", "lee", "max"]);

    assert!(store.answered_alerts("kim", 10).await.unwrap().is_empty());
    let alert = |user: &str| Alert {
        id: 0,
        kind: AlertKind::UnusualLocation,
        grade: Grade::Warning,
        state: AlertState::Open,
        user: Some(user.into()),
        created_at: Timestamp(T0),
        ts: Timestamp(T0),
        last_ts: Timestamp(T0),
        count: 1,
        dedupe_key: String::new(),
        notify_user: true,
        notify_admins: false,
        ip: Some(ip("203.0.113.5")),
        country: None,
        region: None,
        city: None,
        asn: None,
        isp: None,
        device: None,
        client: None,
        protocol: None,
        decision: None,
        succeeded: true,
        reasons: Vec::new(),
        event_id: None,
        answer: None,
        answered_at: None,
        answered_ip: None,
        note: String::new(),
    };
    let a = store.insert_alert(&alert("kim")).await.unwrap();
    let b = store.insert_alert(&alert("kim")).await.unwrap();
    let _open = store.insert_alert(&alert("kim")).await.unwrap();
    let _other = store.insert_alert(&alert("lee")).await.unwrap();
    for (id, answer) in [(a, Answer::ItWasMe), (b, Answer::WrongLocation)] {
        assert!(store
            .answer_alert(id, answer, Timestamp(T0 + 5), None)
            .await
            .unwrap());
    }
    let answered = store.answered_alerts("kim", 10).await.unwrap();
    assert_eq!(
        answered
            .iter()
            .map(|x| (x.id, x.answer))
            .collect::<Vec<_>>(),
        vec![(b, Some(Answer::WrongLocation)), (a, Some(Answer::ItWasMe))]
    );
    assert_eq!(store.answered_alerts("kim", 1).await.unwrap().len(), 1);
}
