//! [`ReportStore`] cases: the security report's aggregations count only
//! the period's rows, group and order them as documented, bucket the time
//! series from the period's start, classify refusals by their first
//! attack reason, sort alerts by their answer, respect the limits, and
//! count TOTP and live authorization codes.

use warden_core::{
    AlertKind, Answer, Country, Decision, FailureReason, Outcome, ReasonCode, SecurityEventKind,
    Timestamp,
};
use warden_store::{
    AccountStore, AlertStore, AnswerCount, LoginEvent, RefusalCount, RefusalKind, ReportStore,
    ReportWindow, Store,
};

use super::alerts::foreign_login;
use super::data::{
    add, bare_account, code, event, events_batch, ip, pending_totp, recovery, sec_event, T0,
};
use super::Fixture;

const DAY: i64 = 86_400;

fn window() -> ReportWindow {
    ReportWindow {
        from: Timestamp(T0),
        to: Timestamp(T0 + 14 * DAY),
        bucket_secs: 7 * DAY,
    }
}

fn at(user: &str, ts: i64, addr: &str, cc: &str, city: &str) -> LoginEvent {
    LoginEvent {
        ip: ip(addr),
        country: Some(Country::new(cc).unwrap()),
        region: Some(format!("{city} region")),
        city: Some(city.to_string()),
        ..event(user, ts)
    }
}

fn denied(mut e: LoginEvent, risk: f32, reasons: &[ReasonCode]) -> LoginEvent {
    e.decision = Decision::Deny;
    e.outcome = Outcome::Failure(FailureReason::Blocked);
    e.risk = risk;
    e.reasons = reasons.to_vec();
    e
}

fn challenged(mut e: LoginEvent, risk: f32) -> LoginEvent {
    e.decision = Decision::Challenge;
    e.risk = risk;
    e.reasons = vec![ReasonCode::UnusualCountry];
    e
}

pub async fn report_aggregations_count_the_period_group_and_bucket<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let w = window();
    let empty = store.login_totals(&w).await.unwrap();
    assert_eq!(empty.attempts, 0);
    assert_eq!(store.logins_by_city(&w, 10).await.unwrap(), vec![]);
    assert_eq!(store.refusals(&w).await.unwrap(), vec![]);

    let sz = |user: &str, ts: i64| at(user, ts, "113.88.1.10", "CN", "Shenzhen");
    let sz2 = |user: &str, ts: i64| at(user, ts, "113.88.9.9", "CN", "Shenzhen");
    let lagos = |user: &str, ts: i64| at(user, ts, "105.112.7.7", "NG", "Lagos");
    let events = vec![
        // Outside the period on both sides: never counted.
        lagos("ann", T0 - 1),
        denied(
            lagos("ann", T0 + 14 * DAY),
            0.99,
            &[ReasonCode::BruteForceLockout],
        ),
        // Week 0.
        sz("ann", T0),
        sz2("bob", T0 + DAY),
        sz("cat", T0 + 2 * DAY),
        challenged(lagos("ann", T0 + 3 * DAY), 0.6),
        denied(
            lagos("ann", T0 + 3 * DAY + 5),
            0.9,
            &[ReasonCode::UnusualCountry, ReasonCode::BruteForceLockout],
        ),
        denied(
            lagos("bob", T0 + 4 * DAY),
            0.8,
            &[ReasonCode::PasswordSpraying, ReasonCode::CredentialStuffing],
        ),
        // Week 1.
        denied(
            lagos("cat", T0 + 8 * DAY),
            0.7,
            &[ReasonCode::PasswordSpraying],
        ),
        denied(
            at("dan", T0 + 9 * DAY, "81.2.69.1", "GB", "London"),
            0.95,
            &[ReasonCode::AccessDenied],
        ),
        denied(
            sz("dan", T0 + 14 * DAY - 1),
            0.5,
            &[ReasonCode::AnonymizerIp],
        ),
    ];
    store.append(&events_batch(events)).await.unwrap();

    let t = store.login_totals(&w).await.unwrap();
    assert_eq!(
        (t.attempts, t.successes, t.denied, t.challenged, t.users),
        (9, 4, 5, 1, 4),
        "{t:?}"
    );

    // Countries, most attempts first.
    let countries = store.logins_by_country(&w, 10).await.unwrap();
    let got: Vec<(Option<&str>, u64, u64, u64)> = countries
        .iter()
        .map(|c| (c.country.as_deref(), c.attempts, c.successes, c.denied))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("CN"), 4, 3, 1),
            (Some("NG"), 4, 1, 3),
            (Some("GB"), 1, 0, 1)
        ]
    );
    assert!(countries
        .iter()
        .all(|c| c.city.is_none() && c.sample_ip.is_none()));
    assert_eq!(store.logins_by_country(&w, 1).await.unwrap().len(), 1);

    // Cities carry one of their addresses (the smallest as text).
    let cities = store.logins_by_city(&w, 10).await.unwrap();
    let got: Vec<String> = cities
        .iter()
        .map(|c| {
            format!(
                "{:?} {:?} {} {:?}",
                c.country, c.city, c.attempts, c.sample_ip
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            r#"Some("CN") Some("Shenzhen") 4 Some("113.88.1.10")"#,
            r#"Some("NG") Some("Lagos") 4 Some("105.112.7.7")"#,
            r#"Some("GB") Some("London") 1 Some("81.2.69.1")"#,
        ]
    );
    assert_eq!(cities[0].region.as_deref(), Some("Shenzhen region"));

    // Risky users: denied, then challenged, then risk; users with neither
    // are left out.
    let users = store.risky_users(&w, 10).await.unwrap();
    let got: Vec<(&str, u64, u64)> = users
        .iter()
        .map(|u| (u.key.as_str(), u.denied, u.challenged))
        .collect();
    assert_eq!(
        got,
        vec![("dan", 2, 0), ("ann", 1, 1), ("bob", 1, 0), ("cat", 1, 0)]
    );
    assert!((users[0].max_risk - 0.95).abs() < 1e-6, "{users:?}");
    assert_eq!(users[0].others, 2, "dan tried from two addresses");
    assert_eq!(store.risky_users(&w, 2).await.unwrap().len(), 2);

    let addrs = store.risky_addresses(&w, 10).await.unwrap();
    assert_eq!(addrs[0].key, "105.112.7.7");
    assert_eq!((addrs[0].denied, addrs[0].challenged), (3, 1));
    assert_eq!(addrs[0].others, 3, "ann, bob and cat");
    assert_eq!(addrs[0].country.as_deref(), Some("NG"));
    assert_eq!(addrs.len(), 3);

    // Refusals by week and by their first attack reason.
    let r = store.refusals(&w).await.unwrap();
    let c = |bucket, kind, count| RefusalCount {
        bucket,
        kind,
        count,
    };
    assert_eq!(
        r,
        vec![
            c(0, RefusalKind::BruteForce, 1),
            c(0, RefusalKind::PasswordSpraying, 1),
            // Within a bucket, by the kind's wire name.
            c(1, RefusalKind::AccessDenied, 1),
            c(1, RefusalKind::OtherRisk, 1),
            c(1, RefusalKind::PasswordSpraying, 1),
        ]
    );
    // By day, the same refusals fall on their days.
    let daily = ReportWindow {
        bucket_secs: DAY,
        ..w
    };
    let days: Vec<i64> = store
        .refusals(&daily)
        .await
        .unwrap()
        .iter()
        .map(|r| r.bucket)
        .collect();
    assert_eq!(days, vec![3, 4, 8, 9, 13]);
}

pub async fn location_alerts_are_counted_by_week_and_answer<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let w = window();
    assert_eq!(store.location_alert_answers(&w).await.unwrap(), vec![]);
    let alert = |kind, ts: i64, n: usize| warden_core::Alert {
        kind,
        ts: Timestamp(ts),
        created_at: Timestamp(ts + 5),
        last_ts: Timestamp(ts),
        dedupe_key: format!("k{n}"),
        ..foreign_login()
    };
    let mut ids = Vec::new();
    for (n, (kind, ts)) in [
        (AlertKind::UnusualLocation, T0 + DAY),
        (AlertKind::UnusualLocation, T0 + 2 * DAY),
        (AlertKind::ImpossibleTravel, T0 + 3 * DAY),
        (AlertKind::UnusualLocation, T0 + 8 * DAY),
        (AlertKind::UnusualLocation, T0 + 9 * DAY),
        // Not location alerts, or outside the period: never counted.
        (AlertKind::BruteForce, T0 + DAY),
        (AlertKind::UnusualLocation, T0 - 10),
        (AlertKind::UnusualLocation, T0 + 14 * DAY),
    ]
    .into_iter()
    .enumerate()
    {
        ids.push(store.insert_alert(&alert(kind, ts, n)).await.unwrap());
    }
    let answer = |id: i64, a: Answer| {
        let store = &store;
        async move {
            assert!(store
                .answer_alert(id, a, Timestamp(T0 + 10 * DAY), None)
                .await
                .unwrap());
        }
    };
    answer(ids[0], Answer::ItWasMe).await;
    answer(ids[1], Answer::NotMe).await;
    answer(ids[3], Answer::WrongLocation).await;
    answer(ids[6], Answer::NotMe).await;
    let got = store.location_alert_answers(&w).await.unwrap();
    assert_eq!(
        got,
        vec![
            AnswerCount {
                bucket: 0,
                yes: 1,
                no: 1,
                wrong_location: 0,
                unanswered: 1
            },
            AnswerCount {
                bucket: 1,
                yes: 0,
                no: 0,
                wrong_location: 1,
                unanswered: 1
            },
        ]
    );
}

pub async fn adoption_counts_confirmed_totp_and_live_codes<F: Fixture>(fixture: &F) {
    let store = fixture.fresh().await;
    let now = Timestamp(T0 + 100);
    let none = store.adoption(now).await.unwrap();
    assert_eq!((none.accounts, none.with_totp, none.with_codes), (0, 0, 0));
    for user in ["ann", "bob", "cat", "dan", "eve"] {
        add(&store, bare_account(user, "acme")).await;
    }
    let ev = |user: &str| sec_event(user, SecurityEventKind::AppPasswordCreated, T0);
    // ann: two live codes (counted once); bob: one revoked; cat: one
    // expired; dan: one expiring later.
    store
        .insert_app_password(&code("ann", "phone", 1), &ev("ann"))
        .await
        .unwrap();
    store
        .insert_app_password(&code("ann", "laptop", 2), &ev("ann"))
        .await
        .unwrap();
    let bob = store
        .insert_app_password(&code("bob", "phone", 3), &ev("bob"))
        .await
        .unwrap();
    assert!(store
        .revoke_app_password("bob", bob, Timestamp(T0 + 1), &ev("bob"))
        .await
        .unwrap());
    let mut expired = code("cat", "old", 4);
    expired.expires_at = Some(Timestamp(T0 + 50));
    store
        .insert_app_password(&expired, &ev("cat"))
        .await
        .unwrap();
    let mut later = code("dan", "new", 5);
    later.expires_at = Some(Timestamp(T0 + 500));
    store.insert_app_password(&later, &ev("dan")).await.unwrap();
    // TOTP: ann confirmed, eve only pending.
    store.put_totp(&pending_totp("ann")).await.unwrap();
    store
        .confirm_totp("ann", Timestamp(T0 + 2), 1, &recovery("ann", &[9]), &[])
        .await
        .unwrap();
    store.put_totp(&pending_totp("eve")).await.unwrap();

    let a = store.adoption(now).await.unwrap();
    assert_eq!((a.accounts, a.with_totp, a.with_codes), (5, 1, 2), "{a:?}");
    // Once dan's code expires, only ann's count.
    let a = store.adoption(Timestamp(T0 + 600)).await.unwrap();
    assert_eq!(a.with_codes, 1);
}
