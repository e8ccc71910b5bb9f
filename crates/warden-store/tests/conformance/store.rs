//! [`Store`] cases: login events, profile snapshots and geolocation
//! corrections.

use std::net::IpAddr;

use ipnet::IpNet;
use warden_core::{
    Coords, Country, Decision, FailureReason, GeoCorrection, Level, Location, Outcome, Protocol,
    ReasonCode, Timestamp, VerifyReason,
};
use warden_store::{Cursor, HistoryQuery, LoginEvent, Store, WriteBatch, MAX_HISTORY_LIMIT};

use super::data::{event, events_batch, full_correction, history, profile, ts_of};
use super::Fixture;

// ------------------------------------------------------------- migrate

pub async fn migrating_again_keeps_the_data<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();

    store
        .append(&events_batch(vec![event("alice", 1)]))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let got = store.history("alice", history(None, 10)).await.unwrap();
    assert_eq!(got.len(), 1, "re-migrating keeps data");
}

// -------------------------------------------------------------- events

pub async fn history_is_newest_first_pages_with_before_and_keeps_users_apart<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    let mut events: Vec<LoginEvent> = (100..110).map(|ts| event("alice", ts)).collect();
    events.extend((100..110).map(|ts| event("bob", ts + 1000)));
    // Two more alice events sharing a timestamp: ties go by id, newest first.
    let mut tie_a = event("alice", 105);
    tie_a.device = Some("first".into());
    let mut tie_b = event("alice", 105);
    tie_b.device = Some("second".into());
    events.push(tie_a);
    events.push(tie_b);
    store.append(&events_batch(events)).await.unwrap();

    let page1 = store.history("alice", history(None, 5)).await.unwrap();
    assert_eq!(ts_of(&page1), [109, 108, 107, 106, 105]);
    assert_eq!(page1[4].device.as_deref(), Some("second"));
    assert!(page1.iter().all(|e| e.user == "alice" && e.id.is_some()));

    let all = store.history("alice", history(None, 100)).await.unwrap();
    assert_eq!(all.len(), 12);
    let at_105: Vec<_> = all.iter().filter(|e| e.ts == Timestamp(105)).collect();
    assert_eq!(at_105.len(), 3);
    assert!(
        at_105.windows(2).all(|w| w[0].id > w[1].id),
        "ties by id desc"
    );

    let page2 = store.history("alice", history(Some(105), 3)).await.unwrap();
    assert_eq!(ts_of(&page2), [104, 103, 102]);
    let page3 = store
        .history("alice", history(Some(102), 10))
        .await
        .unwrap();
    assert_eq!(ts_of(&page3), [101, 100]);
    let page4 = store
        .history("alice", history(Some(100), 10))
        .await
        .unwrap();
    assert!(page4.is_empty());

    let bob = store.history("bob", history(None, 100)).await.unwrap();
    assert_eq!(bob.len(), 10);
    assert!(bob.iter().all(|e| e.user == "bob"));
    assert!(store
        .history("carol", history(None, 10))
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .history("alice", history(None, 0))
        .await
        .unwrap()
        .is_empty());
}

pub async fn cursor_paging_never_skips_events_sharing_a_timestamp<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    // Seven events in the same second, three more before.
    let mut events: Vec<LoginEvent> = (0..7).map(|_| event("alice", 500)).collect();
    events.extend((497..500).map(|ts| event("alice", ts)));
    store.append(&events_batch(events)).await.unwrap();

    let mut seen = Vec::new();
    let mut q = HistoryQuery::latest(3);
    loop {
        let page = store.history("alice", q).await.unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        q = HistoryQuery::after(
            Cursor {
                ts: last.ts,
                id: last.id.unwrap(),
            },
            3,
        );
        seen.extend(page.iter().map(|e| e.id.unwrap()));
    }
    assert_eq!(seen.len(), 10, "every event exactly once: {seen:?}");
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 10);
}

pub async fn history_limit_is_capped<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let events = (0..1_100).map(|ts| event("alice", ts)).collect();
    store.append(&events_batch(events)).await.unwrap();
    let got = store.history("alice", history(None, 5_000)).await.unwrap();
    assert_eq!(got.len(), MAX_HISTORY_LIMIT as usize);
    assert_eq!(got[0].ts, Timestamp(1_099));
    let got = store
        .history("alice", history(None, u32::MAX))
        .await
        .unwrap();
    assert_eq!(got.len(), 1000);
}

pub async fn every_field_round_trips<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let outcomes: Vec<Outcome> = std::iter::once(Outcome::Success)
        .chain(FailureReason::ALL.into_iter().map(Outcome::Failure))
        .collect();
    let ips: [IpAddr; 3] = [
        "203.0.113.7".parse().unwrap(),
        "2001:db8::1:2".parse().unwrap(),
        "::1".parse().unwrap(),
    ];
    let mut written = Vec::new();
    for i in 0..18usize {
        let full = i % 2 == 0;
        written.push(LoginEvent {
            id: None,
            ts: Timestamp(1_700_000_000 + i as i64),
            user: "zoë@example.com".to_string(),
            ip: ips[i % ips.len()],
            protocol: Protocol::ALL[i % Protocol::ALL.len()],
            outcome: outcomes[i % outcomes.len()],
            device: full.then(|| format!("device-{i}")),
            user_agent: full.then(|| "Mozilla/5.0 (X11; Linux) \"quoted\", comma".to_string()),
            country: full.then(|| Country::new("cn").unwrap()),
            region: full.then(|| "Guangdong 广东".to_string()),
            city: full.then(|| "Shenzhen".to_string()),
            asn: full.then_some(if i == 0 { u32::MAX } else { 4134 }),
            decision: Decision::ALL[i % Decision::ALL.len()],
            risk: i as f32 / 7.0,
            level: Level::ALL[i % Level::ALL.len()],
            alert: full,
            reasons: match i % 3 {
                0 => Vec::new(),
                1 => vec![ReasonCode::NewDevice],
                _ => ReasonCode::ALL.to_vec(),
            },
            auth_reason: full.then_some(VerifyReason::ALL[i % VerifyReason::ALL.len()]),
        });
    }
    // Both ways in: the async driver's and, where the backend has one, the
    // group-commit thread's own.
    let sync = store.sync_appender().unwrap();
    assert_eq!(
        sync.is_some(),
        F::SYNC_APPENDER,
        "the backend offers the group-commit thread a committer of its own"
    );
    let again: Vec<LoginEvent> = written
        .iter()
        .map(|e| LoginEvent {
            user: "zoë2@example.com".to_string(),
            ..e.clone()
        })
        .collect();
    store.append(&events_batch(written.clone())).await.unwrap();
    match sync {
        Some(mut sync) => sync.append(&events_batch(again.clone())).unwrap(),
        None => store.append(&events_batch(again.clone())).await.unwrap(),
    }
    for written in [written, again] {
        let mut read = store
            .history(&written[0].user, history(None, 100))
            .await
            .unwrap();
        read.reverse();
        assert_eq!(read.len(), written.len());
        for (w, r) in written.iter().zip(&read) {
            assert!(r.id.is_some());
            let r = LoginEvent {
                id: None,
                ..r.clone()
            };
            assert_eq!(&r, w);
        }
    }
}

pub async fn event_ids_from_the_caller_are_ignored<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let mut a = event("alice", 1);
    a.id = Some(42);
    let mut b = event("alice", 2);
    b.id = Some(42);
    store.append(&events_batch(vec![a, b])).await.unwrap();
    let got = store.history("alice", history(None, 10)).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_ne!(got[0].id, got[1].id);
}

pub async fn prune_deletes_only_old_events_and_counts_them<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let events = (10..20).map(|ts| event("alice", ts)).collect();
    store.append(&events_batch(events)).await.unwrap();
    assert_eq!(store.prune_events(Timestamp(15)).await.unwrap(), 5);
    let left = store.history("alice", history(None, 100)).await.unwrap();
    assert_eq!(ts_of(&left), [19, 18, 17, 16, 15]);
    assert_eq!(store.prune_events(Timestamp(15)).await.unwrap(), 0);
}

pub async fn prune_of_many_rows_works_across_chunks<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let mut events: Vec<LoginEvent> = (0..12_345).map(|i| event("u", i % 1000)).collect();
    events.extend((0..7).map(|i| event("u", 5_000 + i)));
    store.append(&events_batch(events)).await.unwrap();
    assert_eq!(store.prune_events(Timestamp(1_000)).await.unwrap(), 12_345);
    let left = store.history("u", history(None, 100)).await.unwrap();
    assert_eq!(left.len(), 7);
}

/// A statement that fails after others of the same batch succeeded undoes
/// them all, and the store works again once the cause is gone.
pub async fn a_failure_late_in_a_batch_rolls_back_its_events_and_the_store_recovers<F: Fixture>(
    fixture: &F,
) {
    let store = fixture.fresh().await;
    // Events insert fine; the profile upsert after them fails.
    fixture.refuse_inserts(&store, "profiles").await;
    let batch = WriteBatch {
        events: (0..300).map(|i| event("late", i)).collect(),
        profiles: vec![profile("late", b"1", 1)],
        ..Default::default()
    };
    // A large batch (cached chunk statements) and a small one (one script).
    let small = WriteBatch {
        events: (0..3).map(|i| event("late", i)).collect(),
        profiles: vec![profile("late", b"1", 1)],
        ..Default::default()
    };
    for b in [&batch, &small] {
        let err = store.append(b).await.unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        let stored = store
            .history("late", HistoryQuery::latest(10))
            .await
            .unwrap();
        assert!(stored.is_empty(), "events of a failed batch were kept");
    }

    // The connection is usable again once the cause is gone.
    fixture.allow_inserts(&store, "profiles").await;
    store.append(&small).await.unwrap();
    store.append(&batch).await.unwrap();
    let stored = store
        .history("late", HistoryQuery::latest(500))
        .await
        .unwrap();
    assert_eq!(stored.len(), 303);
    assert_eq!(store.load_profiles().await.unwrap().len(), 1);
}

// ------------------------------------------------------------ profiles

pub async fn profiles_upsert_last_in_batch_wins_and_survive_reopen<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    assert!(store.load_profiles().await.unwrap().is_empty());
    assert_eq!(store.load_profile("alice").await.unwrap(), None);

    let batch = WriteBatch {
        events: vec![event("alice", 1)],
        profiles: vec![
            profile("alice", b"a1", 1),
            profile("bob", &[0, 255, 0, 1], 2),
            profile("alice", b"a2", 3),
        ],
        ..Default::default()
    };
    store.append(&batch).await.unwrap();
    // Stored with the newest event written before them (the batch's one).
    let stored = |p: warden_store::ProfileSnapshot| warden_store::ProfileSnapshot {
        through_event: 1,
        ..p
    };
    assert_eq!(
        store.load_profile("alice").await.unwrap(),
        Some(stored(profile("alice", b"a2", 3)))
    );

    // A later batch replaces the stored snapshot.
    let batch = WriteBatch {
        events: Vec::new(),
        profiles: vec![profile("bob", b"b2", 9), profile("carol", b"", 4)],
        ..Default::default()
    };
    store.append(&batch).await.unwrap();
    fixture.close(&store).await;

    let reopened = fixture.reopen(&store).await;
    drop(store);
    let store = reopened;
    store.migrate().await.unwrap();
    let all = store.load_profiles().await.unwrap();
    assert_eq!(
        all,
        vec![
            stored(profile("alice", b"a2", 3)),
            stored(profile("bob", b"b2", 9)),
            stored(profile("carol", b"", 4)),
        ]
    );
    assert_eq!(
        store
            .history("alice", history(None, 10))
            .await
            .unwrap()
            .len(),
        1
    );
}

// --------------------------------------------------------- corrections

pub async fn corrections_round_trip_every_field<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    assert!(store.list_corrections().await.unwrap().is_empty());

    let v4 = full_correction("10.20.0.0/16");
    let v6 = full_correction("2001:db8:abcd::/48");
    let bare = GeoCorrection {
        network: "198.51.100.7/32".parse().unwrap(),
        location: Location::default(),
        note: None,
        created_at: Timestamp(-5),
    };
    for c in [&v4, &v6, &bare] {
        store.upsert_correction(c).await.unwrap();
    }
    let listed = store.list_corrections().await.unwrap();
    assert_eq!(listed, vec![v4.clone(), bare.clone(), v6.clone()]);

    // Upsert replaces every field.
    let mut v6b = v6.clone();
    v6b.location = Location {
        country: Some(Country::new("jp").unwrap()),
        coords: Some(Coords {
            lat: -1.5,
            lon: 0.0,
        }),
        ..Location::default()
    };
    v6b.note = None;
    v6b.created_at = Timestamp(7);
    store.upsert_correction(&v6b).await.unwrap();
    let listed = store.list_corrections().await.unwrap();
    assert_eq!(listed, vec![v4.clone(), bare.clone(), v6b.clone()]);

    assert!(store.delete_correction(&v6.network).await.unwrap());
    assert!(!store.delete_correction(&v6.network).await.unwrap());
    let missing: IpNet = "172.16.0.0/12".parse().unwrap();
    assert!(!store.delete_correction(&missing).await.unwrap());
    assert_eq!(
        store.list_corrections().await.unwrap(),
        vec![v4.clone(), bare.clone()]
    );
}

pub async fn correction_networks_are_stored_canonically<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let mut c = full_correction("10.20.30.40/16");
    store.upsert_correction(&c).await.unwrap();
    c.network = "10.20.0.0/16".parse().unwrap();
    assert_eq!(store.list_corrections().await.unwrap(), vec![c]);
    let host_bits: IpNet = "10.20.99.99/16".parse().unwrap();
    assert!(store.delete_correction(&host_bits).await.unwrap());
}
