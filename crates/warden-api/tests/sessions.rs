//! Sessions and devices over HTTP: every successful login's device is
//! listed; signing one out, logging out everywhere (web sessions at once,
//! codes), approving, trusting and forgetting; new-device approval end to
//! end (refused with its text, approved by an admin and by the user through
//! webmail, then in); bad input changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use warden_core::AccountPolicy;
use warden_service::LoginSettings;

use super::{Harness, KEY};

const PW: &str = "correct horse battery staple";
const SHENZHEN: &str = "113.88.1.10";
const THUNDERBIRD: &str = r#"("name" "Thunderbird" "version" "115.3" "os" "Linux")"#;
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

impl Harness {
    async fn start_approval() -> Harness {
        let config = warden_api::ApiConfig {
            api_keys: vec![KEY.into()],
            max_body_bytes: 4096,
            ..warden_api::ApiConfig::default()
        };
        Self::start_custom(
            config,
            Self::test_auth(),
            LoginSettings::default(),
            Default::default(),
            Default::default(),
            warden_service::policies::Policies::with_default(AccountPolicy {
                new_device_approval: true,
                ..AccountPolicy::default()
            }),
        )
        .await
    }

    async fn kim(&self) {
        let (s, b) = self
            .post(
                "/v1/users",
                json!({"user": "kim@acme.test", "password": PW}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }

    async fn imap(&self, secret: &str, lang: &str) -> Value {
        let (s, b) = self
            .post(
                "/v1/auth/verify",
                json!({"user": "kim@acme.test", "password": secret, "protocol": "imap",
                       "ip": SHENZHEN, "tls": true, "user_agent": THUNDERBIRD, "lang": lang}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }

    async fn web(&self) -> Value {
        let (s, b) = self
            .post(
                "/v1/auth/login",
                json!({"user": "kim@acme.test", "password": PW, "ip": SHENZHEN, "user_agent": CHROME}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }

    async fn sessions(&self) -> Vec<Value> {
        let (s, b) = self.get("/v1/users/kim@acme.test/sessions").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["user"], "kim@acme.test");
        b["sessions"].as_array().unwrap().clone()
    }

    async fn session_of(&self, device: &str) -> Value {
        self.sessions()
            .await
            .into_iter()
            .find(|s| s["device"] == device)
            .unwrap_or_else(|| panic!("no session of {device}"))
    }
}

#[tokio::test]
async fn logging_out_everywhere_ends_web_sessions_codes_and_devices() {
    let h = Harness::start().await;
    h.kim().await;
    let (s, c) = h
        .post(
            "/v1/users/kim@acme.test/app-passwords",
            json!({"name": "Thunderbird", "protocols": ["imap"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let code = c["code"].as_str().unwrap().to_string();
    h.advance(1);
    assert_eq!(h.imap(&code, "en").await["result"], "ok");
    let web = h.web().await;
    assert_eq!(web["status"], "ok", "{web}");
    let token = web["session_token"].as_str().unwrap().to_string();

    let list = h.sessions().await;
    assert_eq!(list.len(), 2, "{list:?}");
    let tb = h.session_of("thunderbird/imap").await;
    assert_eq!(tb["client"], "Thunderbird 115.3");
    assert_eq!(tb["os"], "Linux");
    assert_eq!(tb["protocol"], "imap");
    assert_eq!(tb["ip"], SHENZHEN);
    assert_eq!(tb["country"], "CN");
    assert_eq!(tb["state"], "active");
    let chrome = h.session_of("chrome on windows/web").await;
    assert_eq!(chrome["os"], "Windows");

    h.advance(60);
    let (s, out) = h
        .post(
            "/v1/users/kim@acme.test/logout-all",
            json!({"app_passwords": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    // Before any device tries again, diagnosis reads the records.
    let (_, d) = h.get("/v1/users/kim@acme.test/diagnose").await;
    let signed_out: Vec<&str> = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["reason"] == "session_revoked")
        .map(|f| f["explanation"].as_str().unwrap())
        .collect();
    assert_eq!(signed_out.len(), 2, "both devices: {d}");
    assert!(
        signed_out.iter().all(
            |e| e.ends_with("session revoked at 2026-03-01 08:01 (UTC+8) by an administrator.")
        ),
        "{d}"
    );
    assert_eq!(
        (
            &out["sessions"],
            &out["web_sessions"],
            &out["app_passwords"]
        ),
        (&json!(2), &json!(true), &json!(1))
    );
    // The web session ends at once.
    let (s, _) = h
        .post("/v1/auth/session", json!({"session_token": token}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The old code is a wrong password; the password from the signed-out
    // device is refused with its own reason and text.
    let v = h.imap(&code, "en").await;
    assert_eq!(v["reason"], "wrong_password", "{v}");
    let v = h.imap(PW, "zh").await;
    assert_eq!(v["reason"], "session_revoked", "{v}");
    assert_eq!(v["imap_code"], "ALERT");
    assert!(
        v["message_en"]
            .as_str()
            .unwrap()
            .contains("was signed out of your account at 2026-03-01 08:01 (UTC+8)"),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("已于"), "{v}");
    assert!(h
        .sessions()
        .await
        .iter()
        .all(|s| s["state"] == "revoked" && s["state_by"] == "admin"));
    // Diagnosis explains it.
    let (_, d) = h.get("/v1/users/kim@acme.test/diagnose").await;
    let found = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["reason"] == "session_revoked")
        .cloned()
        .unwrap_or_else(|| panic!("{d}"));
    assert!(
        found["explanation"]
            .as_str()
            .unwrap()
            .contains("session revoked at 2026-03-01 08:01"),
        "{found}"
    );

    // The admin lets the device back.
    let id = h.session_of("thunderbird/imap").await["id"]
        .as_i64()
        .unwrap();
    let (s, b) = h
        .post(
            &format!("/v1/users/kim@acme.test/sessions/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "active");
    assert_eq!(h.imap(PW, "en").await["result"], "ok");
}

#[tokio::test]
async fn one_device_is_signed_out_trusted_or_forgotten_and_bad_input_changes_nothing() {
    let h = Harness::start().await;
    h.kim().await;
    assert_eq!(h.imap(PW, "en").await["result"], "ok");
    let web = h.web().await;
    let token = web["session_token"].as_str().unwrap().to_string();
    let tb = h.session_of("thunderbird/imap").await;
    let id = tb["id"].as_i64().unwrap();
    let base = format!("/v1/users/kim@acme.test/sessions/{id}");

    // Bad input: refused, nothing changes.
    let before = h.sessions().await;
    for (method, path, body, status) in [
        (
            Method::POST,
            "/v1/users/kim@acme.test/sessions/abc/revoke".to_string(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/users/kim@acme.test/sessions/0/revoke".to_string(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/users/kim@acme.test/sessions/999/revoke".to_string(),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::POST,
            format!("/v1/users/lee@acme.test/sessions/{id}/revoke"),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::POST,
            format!("{base}/trust"),
            Some(json!({"days": 0})),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("{base}/trust"),
            Some(json!({"days": 91})),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("{base}/revoke"),
            Some(json!({"sessions": "all"})),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("{base}/revoke"),
            Some(json!({"session_token": "not-a-session"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/v1/users/kim@acme.test/logout-all".to_string(),
            Some(json!({"app_passwords": "yes"})),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, b) = h.call(method.clone(), &path, body.clone()).await;
        assert_eq!(s, status, "{method} {path} {body:?}: {b}");
        assert!(b["error"]["message"].is_string(), "{b}");
    }
    assert_eq!(h.sessions().await, before);

    // The user signs the device out from webmail.
    let (s, b) = h
        .post(&format!("{base}/revoke"), json!({"session_token": token}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (&b["state"], &b["state_by"]),
        (&json!("revoked"), &json!("user"))
    );
    assert_eq!(h.imap(PW, "en").await["reason"], "session_revoked");
    // Trusted for 30 days by the admin: approved, with its end.
    let (s, b) = h.post(&format!("{base}/trust"), json!({"days": 30})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "active");
    assert_eq!(b["trusted_until"], "2026-03-31T00:00:00Z");
    assert_eq!(h.imap(PW, "en").await["result"], "ok");
    // Forgotten: gone from the list, and a second forget is 404.
    let (s, _) = h.call(Method::DELETE, &base, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = h.call(Method::DELETE, &base, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(h.sessions().await.iter().all(|s| s["id"] != json!(id)));
    // Its next login opens it again.
    assert_eq!(h.imap(PW, "en").await["result"], "ok");
    assert_eq!(h.session_of("thunderbird/imap").await["state"], "active");
}

#[tokio::test]
async fn a_new_device_waits_for_approval_then_logs_in() {
    let h = Harness::start_approval().await;
    h.kim().await;
    // A new mail client: refused, with its text and code.
    let v = h.imap(PW, "en").await;
    assert_eq!(v["result"], "fail", "{v}");
    assert_eq!(v["reason"], "device_pending");
    assert_eq!(v["imap_code"], "ALERT");
    assert_eq!(v["until"], "2026-03-01T00:00:00Z");
    let en = v["message_en"].as_str().unwrap();
    assert!(
        en.contains("This device is new to your account and waits for approval (since 2026-03-01 08:00 (UTC+8))"),
        "{en}"
    );
    assert!(
        v["message_zh"].as_str().unwrap().contains("等待批准"),
        "{v}"
    );
    // The web login from a new browser waits too.
    let w = h.web().await;
    assert_eq!(
        (&w["status"], &w["reason"]),
        (&json!("fail"), &json!("device_pending")),
        "{w}"
    );
    let list = h.sessions().await;
    assert_eq!(list.len(), 2);
    assert!(list
        .iter()
        .all(|s| s["state"] == "pending" && s["state_by"] == "system"));
    // Diagnosis: pending since the first refusal.
    h.advance(600);
    assert_eq!(h.imap(PW, "en").await["reason"], "device_pending");
    let (_, d) = h.get("/v1/users/kim@acme.test/diagnose").await;
    let found = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["reason"] == "device_pending")
        .cloned()
        .unwrap_or_else(|| panic!("{d}"));
    assert!(
        found["explanation"]
            .as_str()
            .unwrap()
            .contains("refused: new device pending approval since 2026-03-01 08:00"),
        "{found}"
    );

    // An admin approves the browser; the user, signed in, approves the
    // mail client from webmail.
    let chrome = h.session_of("chrome on windows/web").await["id"]
        .as_i64()
        .unwrap();
    let (s, b) = h
        .post(
            &format!("/v1/users/kim@acme.test/sessions/{chrome}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(
        (s, &b["state_by"]),
        (StatusCode::OK, &json!("admin")),
        "{b}"
    );
    let w = h.web().await;
    assert_eq!(w["status"], "ok", "{w}");
    let token = w["session_token"].as_str().unwrap();
    let tb = h.session_of("thunderbird/imap").await["id"]
        .as_i64()
        .unwrap();
    let (s, b) = h
        .post(
            &format!("/v1/users/kim@acme.test/sessions/{tb}/approve"),
            json!({"session_token": token}),
        )
        .await;
    assert_eq!((s, &b["state_by"]), (StatusCode::OK, &json!("user")), "{b}");
    let v = h.imap(PW, "en").await;
    assert_eq!(v["result"], "ok", "{v}");
    assert_eq!(h.session_of("thunderbird/imap").await["state"], "active");
}
