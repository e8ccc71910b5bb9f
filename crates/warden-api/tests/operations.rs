//! Sensitive operations through the HTTP API of a real service on a real
//! SQLite file: a forwarding rule to an outside address after a login from
//! Lagos raises a critical alert naming the operation and the login; the
//! same rule after ordinary logins is an info record; more operations
//! after the same login fold into its alert; a report sent twice is one;
//! bad input is a clear 400 that changes nothing.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::Harness;

impl Harness {
    async fn operations(&self, query: &str) -> Vec<Value> {
        let (s, b) = self.get(&format!("/v1/operations{query}")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["operations"].as_array().unwrap().clone()
    }

    async fn all_alerts(&self) -> Vec<Value> {
        let (s, b) = self.get("/v1/alerts").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["alerts"].as_array().unwrap().clone()
    }

    /// A week of ordinary logins from Shenzhen, then `last` now.
    async fn week_then(&self, user: &str, last: &str) {
        self.history_at(user, "113.88.1.10", 7).await;
        let (s, b) = self
            .post(
                "/v1/report",
                json!({"user": user, "ip": last, "protocol": "imap", "outcome": "success",
                       "user_agent": "Foxmail 7.2"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
}

fn forwarding(user: &str, id: &str) -> Value {
    json!({"user": user, "kind": "forwarding_rule", "source": "webmail", "report_id": id,
           "ip": "105.112.3.4", "target": "drop@mailbox.example.net",
           "detail": "rule \"all mail\" created in webmail settings"})
}

#[tokio::test]
async fn outside_forwarding_after_a_risky_login_is_a_critical_alert_and_after_a_normal_one_is_not()
{
    let h = Harness::start().await;
    // Lee logs in from home as always; Kim from Lagos (the history moves
    // the clock a day a login: Kim's week comes last).
    h.week_then("lee@example.com", "113.88.1.10").await;
    h.week_then("kim@example.com", "105.112.3.4").await;
    h.advance(600);

    let (s, b) = h
        .post("/v1/operations", forwarding("kim@example.com", "r-1"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let op = &b["operation"];
    assert_eq!(op["grade"], "critical", "{b}");
    assert_eq!(op["external"], true);
    assert_eq!(
        op["reasons"],
        json!([
            "external_forwarding",
            "takeover_move",
            "after_risky_login",
            "same_address"
        ])
    );
    assert!(op["login_event_id"].is_i64());
    let alert = &b["alert"];
    assert_eq!(alert["kind"], "suspicious_forwarding");
    assert_eq!(alert["grade"], "critical");
    assert_eq!(alert["user"], "kim@example.com");
    // It names the login it follows: place, address, time...
    assert_eq!(alert["city"], "Lagos");
    assert_eq!(alert["country"], "NG");
    assert_eq!(alert["ip"], "105.112.3.4");
    assert_eq!(alert["event_id"], op["login_event_id"]);
    assert!(alert["reasons"]
        .as_array()
        .unwrap()
        .contains(&json!("unusual_country")));
    // ...and the operation.
    let note = alert["note"].as_str().unwrap();
    assert!(
        note.starts_with(
            "forwarding rule created or changed: \"drop@mailbox.example.net\" (outside the organisation), reported by webmail"
        ),
        "{note}"
    );
    assert!(
        note.contains("10 min after a sign-in from Lagos, Nigeria (105.112.3.4)"),
        "{note}"
    );
    assert_eq!(alert["notify_user"], true);
    assert_eq!(alert["notify_admins"], true);
    // The admins' list shows it like every alert.
    let listed = h.all_alerts().await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], alert["id"]);

    // The same rule after ordinary logins: recorded, no alert.
    let (s, b) = h
        .post("/v1/operations", forwarding("lee@example.com", "r-2"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["operation"]["grade"], "info", "{b}");
    assert_eq!(
        b["operation"]["reasons"],
        json!(["external_forwarding", "takeover_move"])
    );
    assert_eq!(b["alert"], Value::Null);
    assert_eq!(h.all_alerts().await.len(), 1);

    // An inbox rule after the same Lagos login folds into Kim's alert.
    let (s, b) = h
        .post(
            "/v1/operations",
            json!({"user": "kim@example.com", "kind": "inbox_rule", "source": "webmail",
                   "target": "RSS Feeds", "detail": "move mail from it@example.com"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["operation"]["grade"], "critical");
    assert_eq!(b["alert"]["kind"], "suspicious_operation", "{b}");
    let listed = h.all_alerts().await;
    assert_eq!(listed.len(), 2, "another kind, another alert");
    let (s, b) = h
        .post(
            "/v1/operations",
            json!({"user": "kim@example.com", "kind": "two_factor_disabled"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["alert"]["count"], 2, "folded: {b}");
    assert_eq!(h.all_alerts().await.len(), 2);

    // The list, by user and grade.
    let kim = h.operations("?user=kim@example.com").await;
    assert_eq!(kim.len(), 3);
    assert_eq!(kim[2]["kind"], "forwarding_rule");
    let critical = h.operations("?grade=critical").await;
    assert_eq!(critical.len(), 3);
    let (s, one) = h.get(&format!("/v1/operations/{}", kim[2]["id"])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one, kim[2]);
    let (s, _) = h.get("/v1/operations/999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The helpdesk's diagnosis names them; Lee's has none.
    let (s, d) = h.get("/v1/users/kim@example.com/diagnose").await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let found: Vec<&Value> = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["reason"] == "sensitive_operation")
        .collect();
    assert_eq!(found.len(), 3, "{d}");
    let oldest = found[2];
    assert_eq!(oldest["client"], "forwarding_rule via webmail");
    let text = oldest["explanation"].as_str().unwrap();
    assert!(
        text.starts_with("forwarding rule created or changed \"drop@mailbox.example.net\" at ")
            && text.ends_with(&format!(
                "after a risky sign-in (alert {}): graded critical.",
                alert["id"]
            )),
        "{text}"
    );
    let (_, d) = h.get("/v1/users/lee@example.com/diagnose").await;
    assert!(!d.to_string().contains("sensitive_operation"), "{d}");

    // The admin answers "not me" for Kim: the Lagos network is blocked.
    let (s, b) = h
        .post(
            &format!("/v1/alerts/{}/answer", alert["id"]),
            json!({"answer": "not_me"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["blocked"], "105.112.3.0/24", "{b}");
}

#[tokio::test]
async fn a_risky_login_more_than_a_day_before_does_not_count() {
    let h = Harness::start().await;
    h.week_then("kim@example.com", "105.112.3.4").await;
    h.advance(23 * 3600);
    let (s, b) = h
        .post("/v1/operations", forwarding("kim@example.com", "in"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["operation"]["grade"], "critical", "{b}");
    h.advance(2 * 3600);
    let (s, b) = h
        .post("/v1/operations", forwarding("kim@example.com", "late"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["operation"]["grade"], "info", "{b}");
    assert_eq!(b["alert"], Value::Null);
    assert_eq!(h.all_alerts().await.len(), 1, "only the first one's");
}

#[tokio::test]
async fn a_report_sent_twice_is_recorded_once() {
    let h = Harness::start().await;
    h.week_then("kim@example.com", "105.112.3.4").await;
    let (s, first) = h
        .post("/v1/operations", forwarding("kim@example.com", "r-1"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert!(first["alert"]["id"].is_i64(), "{first}");
    let (s, again) = h
        .post("/v1/operations", forwarding("kim@example.com", "r-1"))
        .await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["operation"]["id"], first["operation"]["id"]);
    assert_eq!(again["alert"]["id"], first["alert"]["id"]);
    assert_eq!(h.operations("").await.len(), 1);
    assert_eq!(h.all_alerts().await.len(), 1);
}

#[tokio::test]
async fn bad_reports_are_clear_400s_that_change_nothing() {
    let h = Harness::start().await;
    h.week_then("kim@example.com", "105.112.3.4").await;
    let good = forwarding("kim@example.com", "r-1");
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("kind", json!("fax_sent")), "kind"),
        (with("kind", json!("Forwarding_Rule")), "kind"),
        (with("user", json!("  ")), "user"),
        (with("user", json!("kim\u{202e}@example.com")), "user"),
        (with("ip", json!("105.112.3")), "ip"),
        (with("ts", json!("yesterday")), "ts"),
        (with("ts", json!("2030-01-01T00:00:00Z")), "future"),
        (with("ts", json!("2020-01-01T00:00:00Z")), "366 days"),
        (with("source", json!("web mail")), "source"),
        (with("source", json!("x".repeat(33))), "source"),
        (with("target", json!("a".repeat(255))), "target"),
        (with("target", json!("drop@evil.example\n")), "target"),
        (with("report_id", json!("r".repeat(129))), "report_id"),
        (with("detail", json!("d".repeat(501))), "detail"),
        (with("external", json!("yes")), "external"),
        (with("colour", json!("red")), "colour"),
    ];
    for (body, word) in cases {
        let (s, b) = h.post("/v1/operations", body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {b}");
        let message = b["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(word), "{body}: {b}");
    }
    assert!(h.operations("").await.is_empty());
    assert!(h.all_alerts().await.is_empty());
    // Hidden characters in the free text are cleaned, not refused.
    let (s, b) = h
        .post(
            "/v1/operations",
            with("detail", json!("rule\u{202e} one\ttwo\r\nthree")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["operation"]["detail"], "rule one two three");
    for q in [
        "?grade=loud",
        "?kind=x",
        "?limit=0",
        "?limit=501",
        "?cursor=abc",
        "?since=today",
    ] {
        let (s, b) = h.get(&format!("/v1/operations{q}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {b}");
    }
}
