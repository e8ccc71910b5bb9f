//! Alerts through the HTTP API of a real service on a real SQLite file:
//! raised from the committed history by the service's worker (run here
//! after the reports are acknowledged, as its loop does), folded per user,
//! kind and place, summarised in a storm, and listed, acknowledged, closed
//! and resent by an admin.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use warden_api::ApiConfig;
use warden_service::alerts::AlertSettings;
use warden_service::LoginSettings;

use super::{Harness, KEY};

impl Harness {
    /// Runs the alert worker once (what its loop does when woken).
    async fn raise(&self) -> warden_service::alerts::RaiseReport {
        self.state.service.raise_alerts().await.unwrap()
    }

    async fn alerts(&self, query: &str) -> Vec<Value> {
        let (s, b) = self.get(&format!("/v1/alerts{query}")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["alerts"].as_array().unwrap().clone()
    }

    async fn report(&self, body: Value) {
        let (s, b) = self.post("/v1/report", body).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
}

async fn with_alerts(alerts: AlertSettings) -> Harness {
    Harness::start_service(
        ApiConfig {
            api_keys: vec![KEY.into()],
            max_body_bytes: 4096,
            ..ApiConfig::default()
        },
        Harness::test_auth(),
        LoginSettings::default(),
        alerts,
    )
    .await
}

fn foreign(user: &str) -> Value {
    foreign_from(user, "105.112.3.4")
}

/// A successful IMAP login from Lagos.
fn foreign_from(user: &str, ip: &str) -> Value {
    json!({"user": user, "ip": ip, "protocol": "imap", "outcome": "success",
           "device": "dev-<b>1</b>", "user_agent": "Foxmail 7.2"})
}

#[tokio::test]
async fn a_foreign_login_raises_one_unusual_location_alert_and_reconnects_fold_into_it() {
    let h = Harness::start().await;
    h.history_at("alice@example.com", "113.88.1.10", 8).await;
    // Home logins raise nothing.
    let r = h.raise().await;
    assert_eq!((r.events, r.raised), (8, 0), "{r:?}");
    assert!(h.alerts("").await.is_empty());

    h.report(foreign("alice@example.com")).await;
    let r = h.raise().await;
    assert_eq!((r.events, r.raised), (1, 1), "{r:?}");
    let all = h.alerts("").await;
    assert_eq!(all.len(), 1);
    let a = &all[0];
    assert_eq!(a["kind"], "unusual_location", "{a}");
    assert_eq!(a["grade"], "warning");
    assert_eq!(a["state"], "open");
    assert_eq!(a["user"], "alice@example.com");
    assert_eq!(a["country"], "NG");
    assert_eq!(a["region"], "Lagos");
    assert_eq!(a["city"], "Lagos");
    assert_eq!(a["ip"], "105.112.3.4");
    assert_eq!(a["asn"], 36873);
    assert_eq!(a["isp"], "Airtel Networks Limited");
    assert_eq!(a["device"], "dev-<b>1</b>");
    assert_eq!(a["client"], "Foxmail");
    assert_eq!(a["protocol"], "imap");
    assert_eq!(a["succeeded"], true);
    assert_eq!(a["count"], 1);
    assert_eq!(a["notify_user"], true);
    assert_eq!(a["notify_admins"], true);
    assert!(a["reasons"]
        .as_array()
        .unwrap()
        .contains(&json!("unusual_country")));
    let id = a["id"].as_i64().unwrap();
    let (s, one) = h.get(&format!("/v1/alerts/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one, *a);

    // 49 more reconnects from the same place within the day: the same
    // alert, count 50, its last login moved; nothing new.
    let first_ts = a["ts"].clone();
    for _ in 0..49 {
        h.advance(60);
        h.report(foreign("alice@example.com")).await;
    }
    h.raise().await;
    let all = h.alerts("").await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["count"], 50, "{}", all[0]);
    assert_eq!(all[0]["ts"], first_ts);
    assert_ne!(all[0]["last_ts"], first_ts);

    // Running the worker again changes nothing: every event was handled.
    let r = h.raise().await;
    assert_eq!(r.events, 0);
    assert_eq!(h.alerts("").await[0]["count"], 50);
}

#[tokio::test]
async fn fifty_wrong_passwords_give_one_brute_force_alert_for_the_admins() {
    let h = Harness::start().await;
    h.history_at("carol", "113.88.1.10", 6).await;
    for _ in 0..50 {
        h.report(
            json!({"user": "carol", "ip": "3.3.3.3", "protocol": "imap", "outcome": "failure"}),
        )
        .await;
        h.advance(20);
    }
    h.raise().await;
    let all = h.alerts("").await;
    assert_eq!(all.len(), 1, "{all:?}");
    let a = &all[0];
    assert_eq!(a["kind"], "brute_force", "{a}");
    assert_eq!(a["user"], "carol");
    assert_eq!(a["succeeded"], false);
    assert_eq!(a["notify_user"], false);
    assert_eq!(a["notify_admins"], true);
    // Every failure from the lockout on folded into it.
    assert!(a["count"].as_u64().unwrap() >= 40, "{a}");
}

#[tokio::test]
async fn a_storm_gives_the_admins_one_summary_and_users_are_still_told() {
    let h = with_alerts(AlertSettings {
        storm_threshold: 3,
        ..AlertSettings::default()
    })
    .await;
    let users: Vec<String> = (0..10).map(|i| format!("u{i}@example.com")).collect();
    for u in &users {
        h.history_at(u, "113.88.1.10", 8).await;
    }
    // The history took 80 days: the storm comes now, within minutes.
    // Each from an address of their own (a shared one would look like an
    // office's).
    for (i, u) in users.iter().enumerate() {
        h.report(foreign_from(u, &format!("105.112.{i}.4"))).await;
        h.advance(10);
    }
    let r = h.raise().await;
    assert_eq!((r.raised, r.summaries), (11, 1), "{r:?}");
    let individual = h.alerts("?kind=unusual_location&limit=100").await;
    assert_eq!(individual.len(), 10);
    assert!(individual.iter().all(|a| a["notify_user"] == true));
    let told: Vec<bool> = individual
        .iter()
        .rev()
        .map(|a| a["notify_admins"].as_bool().unwrap())
        .collect();
    assert_eq!(
        told,
        [true, true, true, false, false, false, false, false, false, false]
    );
    let summaries = h.alerts("?kind=summary").await;
    assert_eq!(summaries.len(), 1);
    let s = &summaries[0];
    assert_eq!(s["count"], 7, "{s}");
    assert_eq!(s["notify_admins"], true);
    assert_eq!(s["notify_user"], false);
    assert!(s["user"].is_null());
    assert!(
        s["note"]
            .as_str()
            .unwrap()
            .contains("7 unusual_location alerts"),
        "{s}"
    );

    // More of the storm, in a later run, folds into the same summary.
    h.history_at("late@example.com", "113.88.1.10", 8).await;
    h.advance(-8 * 86_400);
    h.report(foreign_from("late@example.com", "105.112.99.4"))
        .await;
    h.raise().await;
    let summaries = h.alerts("?kind=summary").await;
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0]["count"], 8, "{}", summaries[0]);
}

#[tokio::test]
async fn admins_list_filter_page_acknowledge_close_and_resend_alerts() {
    let h = Harness::start().await;
    for u in ["a@example.com", "b@example.com", "c@example.com"] {
        h.history_at(u, "113.88.1.10", 8).await;
    }
    for (i, u) in ["a@example.com", "b@example.com", "c@example.com"]
        .iter()
        .enumerate()
    {
        h.report(foreign_from(u, &format!("105.112.{i}.4"))).await;
    }
    h.raise().await;
    assert_eq!(h.alerts("").await.len(), 3);
    assert_eq!(h.alerts("?user=B@Example.com").await.len(), 1);
    assert_eq!(h.alerts("?grade=critical").await.len(), 0);
    assert_eq!(h.alerts("?grade=warning&state=open").await.len(), 3);
    assert_eq!(h.alerts("?kind=brute_force").await.len(), 0);
    assert_eq!(h.alerts("?since=2030-01-01T00:00:00Z").await.len(), 0);
    assert_eq!(h.alerts("?until=2030-01-01T00:00:00Z").await.len(), 3);

    // Paging: newest first, two then one.
    let (_, p1) = h.get("/v1/alerts?limit=2").await;
    let page1 = p1["alerts"].as_array().unwrap();
    assert_eq!(page1.len(), 2);
    assert_eq!(page1[0]["user"], "c@example.com");
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = h.get(&format!("/v1/alerts?limit=2&cursor={cursor}")).await;
    assert_eq!(p2["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(p2["alerts"][0]["user"], "a@example.com");
    assert!(p2["next_cursor"].is_null());

    // Bad filters are clear 400s.
    for bad in [
        "?kind=loud",
        "?grade=severe",
        "?state=gone",
        "?limit=0",
        "?limit=501",
        "?since=yesterday",
        "?cursor=abc",
        "?since=2030-01-01T00:00:00Z&until=2029-01-01T00:00:00Z",
    ] {
        let (s, b) = h.get(&format!("/v1/alerts{bad}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {b}");
    }

    let id = page1[0]["id"].as_i64().unwrap();
    // Acknowledge with a note (hostile characters cleaned), then not again.
    let (s, a) = h
        .call(
            Method::POST,
            &format!("/v1/alerts/{id}/ack"),
            Some(json!({"note": "seen,\ncalling\u{202e} the user"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["state"], "acknowledged");
    assert_eq!(a["note"], "admin: seen, calling the user");
    let (s, b) = h
        .call(Method::POST, &format!("/v1/alerts/{id}/ack"), None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "alert_state", "{b}");
    // A note too long changes nothing.
    let (s, _) = h
        .call(
            Method::POST,
            &format!("/v1/alerts/{id}/close"),
            Some(json!({"note": "x".repeat(2001)})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        h.get(&format!("/v1/alerts/{id}")).await.1["state"],
        "acknowledged"
    );
    // Close with a note, then not again.
    let (s, a) = h
        .call(
            Method::POST,
            &format!("/v1/alerts/{id}/close"),
            Some(json!({"note": "user travelled"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["state"], "closed");
    assert_eq!(
        a["note"],
        "admin: seen, calling the user\nadmin: user travelled"
    );
    let (s, _) = h
        .call(Method::POST, &format!("/v1/alerts/{id}/close"), None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(h.alerts("?state=closed").await.len(), 1);
    assert_eq!(h.alerts("?state=open").await.len(), 2);

    // Resend: the delivery side sees the request.
    let (s, _) = h
        .call(Method::POST, &format!("/v1/alerts/{id}/resend"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    use warden_store::AlertStore;
    let due = h.state.service.store.resends_due(10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].0, id);

    // Unknown alerts.
    for path in ["/v1/alerts/999999", "/v1/alerts/0"] {
        let (s, _) = h.get(path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    let (s, _) = h.call(Method::POST, "/v1/alerts/999999/resend", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = h.call(Method::POST, "/v1/alerts/999999/close", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = h.get("/v1/alerts/abc").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // The key protects them like every admin route.
    let r = h
        .http
        .get(format!("{}/v1/alerts", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Actions are metered.
    let m = h.text("/metrics").await;
    assert!(
        m.contains("warden_alert_actions_total{action=\"close\"}"),
        "{m}"
    );
    assert!(m.contains("warden_alerts_raised_total{kind=\"unusual_location\",grade=\"warning\"}"));
}
