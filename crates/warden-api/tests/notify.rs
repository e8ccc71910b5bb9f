//! The notification routes over HTTP: channels listed without their
//! secrets, a test send that fails clearly, templates refused when they do
//! not render (nothing changed), previewed in both languages and reset,
//! and the outbox's deliveries with their tries and errors.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use warden_api::ApiConfig;
use warden_core::{
    Alert, AlertKind, AlertState, ChannelKind, Country, Decision, Grade, Protocol, ReasonCode,
    Timestamp,
};
use warden_service::notify::{self, AdminRoute, Channel, NotifySettings, Smtp, SmtpSecurity};
use warden_service::LoginSettings;
use warden_store::AlertStore;

use super::{Harness, KEY, T0};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start() -> Harness {
    let dead = free_port();
    let settings = NotifySettings {
        channels: vec![
            Channel {
                name: "mail".into(),
                kind: ChannelKind::Email,
                smtp: Some(Smtp {
                    host: "127.0.0.1".into(),
                    port: dead,
                    security: SmtpSecurity::Plain,
                    username: Some("warden".into()),
                    password: Some("smtp-pass-SECRET".into()),
                    from: "Warden <warden@example.com>".into(),
                }),
                url: None,
                secret: None,
                timeout: Duration::from_secs(2),
            },
            Channel {
                name: "secops".into(),
                kind: ChannelKind::Webhook,
                smtp: None,
                url: Some(format!("http://127.0.0.1:{dead}/hook?key=URLKEY-SECRET")),
                secret: Some("whsec-SECRET".into()),
                timeout: Duration::from_secs(2),
            },
        ],
        user_email_channel: Some("mail".into()),
        admin_routes: vec![AdminRoute {
            channel: "secops".into(),
            recipients: vec![],
            min_grade: Grade::Warning,
        }],
        ..NotifySettings::default()
    };
    Harness::start_all(
        ApiConfig {
            api_keys: vec![KEY.into()],
            max_body_bytes: 64 * 1024,
            ..ApiConfig::default()
        },
        Harness::test_auth(),
        LoginSettings::default(),
        settings,
    )
    .await
}

impl Harness {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn channels_are_listed_without_secrets_and_a_failed_test_send_says_why() {
    let h = start().await;
    let (s, v) = h.get("/v1/notify/channels").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let text = v.to_string();
    assert!(!text.contains("SECRET"), "{text}");
    let ch = v["channels"].as_array().unwrap();
    assert_eq!(ch.len(), 2);
    assert_eq!(ch[0]["name"], "mail");
    assert_eq!(ch[0]["for_users"], true);
    assert_eq!(ch[1]["kind"], "webhook");
    assert_eq!(ch[1]["signed"], true);
    assert_eq!(ch[1]["admin_min_grade"], "warning");
    assert!(ch[1]["target"].as_str().unwrap().ends_with("/hook"), "{v}");

    use reqwest::Method;
    let (s, v) = h
        .send(
            Method::POST,
            "/v1/notify/channels/nope/test",
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    // Email needs a recipient.
    let (s, v) = h
        .send(
            Method::POST,
            "/v1/notify/channels/mail/test",
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // Nobody listens: refused with the reason, no secret in it.
    let (s, v) = h
        .send(
            Method::POST,
            "/v1/notify/channels/secops/test",
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "send_failed");
    assert!(!v.to_string().contains("SECRET"), "{v}");
    // The admin action is a typed event, counted.
    let metrics = h
        .http
        .get(format!("{}/metrics", h.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("warden_notify_admin_actions_total"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_broken_template_is_refused_and_changes_nothing_a_good_one_is_used_until_reset() {
    let h = start().await;
    use reqwest::Method;
    let (s, before) = h.get("/v1/templates/user_text/en").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(before["customised"], false);
    let (s, v) = h
        .send(
            Method::PUT,
            "/v1/templates/user_text/en",
            Some(json!({"body": "{% for %}"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "template_invalid");
    let (_, after) = h.get("/v1/templates/user_text/en").await;
    assert_eq!(after, before, "nothing changed");
    // Unknown names and languages are bad requests.
    assert_eq!(
        h.get("/v1/templates/nope/en").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        h.get("/v1/templates/user_text/fr").await.0,
        StatusCode::BAD_REQUEST
    );
    // Preview in both languages.
    let (s, en) = h.get("/v1/templates/user_text/en/preview").await;
    assert_eq!(s, StatusCode::OK);
    assert!(en["rendered"].as_str().unwrap().contains("Yes, it was me"));
    let (_, zh) = h.get("/v1/templates/user_text/zh/preview").await;
    assert!(zh["rendered"].as_str().unwrap().contains("是我本人"));
    // A good template: saved, shown, used, then reset.
    let (s, v) = h
        .send(
            Method::PUT,
            "/v1/templates/user_text/zh",
            Some(json!({"body": "{{ user }} 在 {{ place }} 登录"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["rendered"],
        "user@example.com 在 Ikeja Lagos 尼日利亚 登录"
    );
    let (_, t) = h.get("/v1/templates/user_text/zh").await;
    assert_eq!(t["customised"], true);
    assert_eq!(t["updated_by"], "api");
    let (_, list) = h.get("/v1/templates").await;
    assert_eq!(
        list["templates"].as_array().unwrap().len(),
        2 * notify::templates::NAMES.len()
    );
    let (s, v) = h
        .send(Method::DELETE, "/v1/templates/user_text/zh", None)
        .await;
    assert_eq!((s, &v["reset"]), (StatusCode::OK, &json!(true)));
    let (_, v) = h
        .send(Method::DELETE, "/v1/templates/user_text/zh", None)
        .await;
    assert_eq!(v["reset"], false);
    let (_, zh2) = h.get("/v1/templates/user_text/zh/preview").await;
    assert_eq!(zh2, zh);
}

#[tokio::test]
async fn deliveries_show_their_state_tries_and_last_error_per_alert() {
    let h = start().await;
    let alert = Alert {
        id: 0,
        kind: AlertKind::UnusualLocation,
        grade: Grade::Warning,
        state: AlertState::Open,
        user: Some("kim@example.com".into()),
        created_at: Timestamp(T0),
        ts: Timestamp(T0),
        last_ts: Timestamp(T0),
        count: 1,
        dedupe_key: "k".into(),
        notify_user: true,
        notify_admins: true,
        ip: Some("102.89.1.2".parse().unwrap()),
        country: Some(Country::new("NG").unwrap()),
        region: None,
        city: None,
        asn: None,
        isp: None,
        device: None,
        client: None,
        protocol: Some(Protocol::Imap),
        decision: Some(Decision::Allow),
        succeeded: true,
        reasons: vec![ReasonCode::UnusualCountry],
        event_id: None,
        answer: None,
        answered_at: None,
        answered_ip: None,
        note: String::new(),
    };
    let id = h.state.service.store.insert_alert(&alert).await.unwrap();
    notify::fan_out(&h.state.service).await.unwrap();
    notify::deliver_due(&h.state.service).await.unwrap();
    let (s, v) = h.get(&format!("/v1/deliveries?alert_id={id}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rows = v["deliveries"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    for r in rows {
        assert_eq!(r["state"], "pending");
        assert_eq!(r["attempts"], 1);
        assert!(!r["last_error"].as_str().unwrap().is_empty());
        assert!(r["next_at"].is_string());
    }
    let user = rows.iter().find(|r| r["audience"] == "user").unwrap();
    assert_eq!(user["recipient"], "kim@example.com");
    let (_, v) = h.get("/v1/deliveries?state=failed").await;
    assert_eq!(v["deliveries"].as_array().unwrap().len(), 0);
    assert_eq!(
        h.get("/v1/deliveries?state=lost").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        h.get("/v1/deliveries?limit=0").await.0,
        StatusCode::BAD_REQUEST
    );
    for bad in ["alert_id=0", "before=-3", "limit=1001"] {
        let (s, v) = h.get(&format!("/v1/deliveries?{bad}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    // Paging.
    let (_, p1) = h.get("/v1/deliveries?limit=1").await;
    let before = p1["next_before"].as_i64().unwrap();
    let (_, p2) = h
        .get(&format!("/v1/deliveries?limit=1&before={before}"))
        .await;
    assert_ne!(p1["deliveries"][0]["id"], p2["deliveries"][0]["id"]);
}
