//! Incidents over the real HTTP server on a real SQLite file: opened
//! automatically from a "no, it wasn't me" answer and from a critical
//! outside forwarding rule; each one-click action changes what it says
//! (a locked account's verify is refused, logged-out sessions and revoked
//! codes stop working, a blocked range is refused, the policy asks a
//! second factor, `mark_for_revert` posts a signed request to a real
//! loopback HTTP server, `notify` reaches the user and the business
//! owners); an overdue step raises one alert; closing needs the review;
//! the timeline comes from the audit log; hostile input is a clear 4xx
//! that changes nothing.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use warden_audit::{AuditEntry, Chain};
use warden_core::{
    Alert, AlertKind, AlertState, ChannelKind, Decision, Grade, Protocol, ReasonCode, Timestamp,
};
use warden_service::incidents::IncidentSettings;
use warden_service::notify::{Channel, NotifySettings, Smtp, SmtpSecurity};
use warden_store::{AlertStore, AuditStore};

use super::{Harness, KEY};

const PW: &str = "correct horse battery staple";
const SHENZHEN: &str = "113.88.1.10";
const LAGOS: &str = "105.112.7.7";
const SECRET: &str = "whsec-incidents";

impl Harness {
    /// A user with a password and twelve days of logins from Shenzhen.
    async fn incident_user(&self, user: &str) {
        let (s, b) = self
            .post(
                "/v1/users",
                json!({"user": user, "password": PW, "email": "owner-of@acme.test"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        self.history_at(user, SHENZHEN, 12).await;
        self.advance(3 * 86_400);
    }

    async fn verify_from(&self, user: &str, secret: &str, ip: &str) -> Value {
        self.verify_device(user, secret, ip, "phone-1").await
    }

    async fn verify_device(&self, user: &str, secret: &str, ip: &str, device: &str) -> Value {
        let (s, b) = self
            .post(
                "/v1/auth/verify",
                json!({"user": user, "password": secret, "protocol": "imap", "ip": ip, "tls": true, "device": device, "user_agent": "Foxmail 7.2"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }

    /// An unusual-location alert of `user`'s login from `ip` now, stored
    /// as the rules store it.
    async fn foreign_alert(&self, user: &str, ip: &str) -> i64 {
        let now = self.state.now();
        let ip: std::net::IpAddr = ip.parse().unwrap();
        let info = self.state.intel.lookup(ip);
        let alert = Alert {
            id: 0,
            kind: AlertKind::UnusualLocation,
            grade: Grade::Warning,
            state: AlertState::Open,
            user: Some(user.into()),
            created_at: now,
            ts: now,
            last_ts: now,
            count: 1,
            dedupe_key: format!("{user}|unusual_location|{ip}"),
            notify_user: true,
            notify_admins: true,
            ip: Some(ip),
            country: info.location.country,
            region: None,
            city: info.location.city.as_deref().map(str::to_string),
            asn: info.network.asn,
            isp: None,
            device: Some("phone-1".into()),
            client: Some("Foxmail".into()),
            protocol: Some(Protocol::Imap),
            decision: Some(Decision::Challenge),
            succeeded: true,
            reasons: vec![ReasonCode::UnusualCountry],
            event_id: None,
            answer: None,
            answered_at: None,
            answered_ip: None,
            note: String::new(),
        };
        self.state.store.insert_alert(&alert).await.unwrap()
    }

    /// The incidents of `user`, waiting (bounded) until `n` are there: the
    /// opener's worker runs after the answer's reply.
    async fn incidents_of(&self, user: &str, n: usize) -> Vec<Value> {
        for _ in 0..500 {
            let (s, b) = self.get(&format!("/v1/incidents?user={user}")).await;
            assert_eq!(s, StatusCode::OK, "{b}");
            let list = b["incidents"].as_array().unwrap().clone();
            if list.len() >= n {
                return list;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{user} never had {n} incidents");
    }

    async fn act(&self, id: i64, action: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/v1/incidents/{id}/actions/{action}"), body)
            .await
    }

    async fn open_manual(&self, user: &str, grade: &str) -> Value {
        let (s, b) = self
            .post("/v1/incidents", json!({"grade": grade, "user": user}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b
    }
}

/// A loopback HTTP server that hands every request's headers and body to
/// the test.
async fn hook_server() -> (String, mpsc::Receiver<(axum::http::HeaderMap, Vec<u8>)>) {
    let (tx, rx) = mpsc::channel(16);
    let tx = Arc::new(tx);
    let app = axum::Router::new().route(
        "/revert",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let tx = tx.clone();
                async move {
                    tx.send((headers, body.to_vec())).await.unwrap();
                    "ok"
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}/revert"), rx)
}

/// A harness whose `mark_for_revert` posts to `hook` and whose `notify`
/// mails two business owners.
async fn start_with_hook(hook: &str) -> Harness {
    let notify = NotifySettings {
        channels: vec![
            Channel {
                name: "mail".into(),
                kind: ChannelKind::Email,
                smtp: Some(Smtp {
                    host: "127.0.0.1".into(),
                    port: 9,
                    security: SmtpSecurity::Plain,
                    username: None,
                    password: None,
                    from: "Warden <warden@acme.test>".into(),
                }),
                url: None,
                secret: None,
                timeout: Duration::from_secs(2),
            },
            Channel {
                name: "mailsystem".into(),
                kind: ChannelKind::Webhook,
                smtp: None,
                url: Some(hook.to_string()),
                secret: Some(SECRET.into()),
                timeout: Duration::from_secs(5),
            },
        ],
        user_email_channel: Some("mail".into()),
        ..NotifySettings::default()
    };
    let incidents = IncidentSettings {
        business_owners: vec!["cfo@acme.test".into(), "sales-lead@acme.test".into()],
        revert_webhook: Some("mailsystem".into()),
        ..IncidentSettings::default()
    };
    Harness::start_everything(
        warden_api::ApiConfig {
            api_keys: vec![KEY.into()],
            max_body_bytes: 4096,
            ..warden_api::ApiConfig::default()
        },
        Harness::test_auth(),
        Default::default(),
        Default::default(),
        notify,
        Default::default(),
        incidents,
    )
    .await
}

fn step<'a>(incident: &'a Value, id: &str) -> &'a Value {
    incident["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {incident}"))
}

#[tokio::test]
async fn a_not_me_answer_opens_an_l1_incident_whose_actions_do_what_they_say() {
    let h = Harness::start().await;
    let user = "bob@acme.test";
    h.incident_user(user).await;
    let b = h.verify_from(user, PW, LAGOS).await;
    assert_eq!(b["result"], "ok", "{b}");
    let alert = h.foreign_alert(user, LAGOS).await;
    let (s, b) = h
        .post(
            &format!("/v1/alerts/{alert}/answer"),
            json!({"answer": "not_me"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let list = h.incidents_of(user, 1).await;
    assert_eq!(list.len(), 1, "one incident per user: {list:?}");
    let i = &list[0];
    assert_eq!(i["grade"], "l1");
    assert_eq!(i["status"], "open");
    assert_eq!(i["opened_by"], "warden");
    assert_eq!(i["trigger"]["kind"], "answer");
    assert_eq!(i["trigger"]["ref_id"], alert);
    assert_eq!(i["user"], user);
    // The answered alert's login is where it starts.
    assert!(i["first_risky_at"].is_string(), "{i}");
    let id = i["id"].as_i64().unwrap();
    let (s, d) = h.get(&format!("/v1/incidents/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let affected: Vec<(String, String)> = d["affected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().into(),
                a["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        affected.contains(&("user".into(), user.into())),
        "{affected:?}"
    );
    assert!(
        affected.contains(&("address".into(), LAGOS.into())),
        "{affected:?}"
    );
    // The L1 playbook: containment due in an hour, nothing overdue yet.
    assert_eq!(step(&d, "lock")["action"], "lock_account");
    assert_eq!(step(&d, "lock")["overdue"], false);
    assert_eq!(d["overdue"], 0);

    // The user changes the password (the answer demanded it) and gets a
    // new code and a web session: the attacker could do the same.
    let (s, b) = h
        .call(
            Method::PUT,
            &format!("/v1/users/{user}/password"),
            Some(json!({"password": "a much newer passphrase 42"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let new_pw = "a much newer passphrase 42";
    let (s, code) = h
        .post(
            &format!("/v1/users/{user}/app-passwords"),
            json!({"name": "laptop"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{code}");
    let code_id = code["id"].as_i64().unwrap();
    let code = code["code"].as_str().unwrap().to_string();
    assert_eq!(h.verify_from(user, &code, SHENZHEN).await["result"], "ok");
    let (_, web) = h
        .post(
            "/v1/auth/login",
            json!({"user": user, "ip": SHENZHEN, "protocol": "web", "password": new_pw}),
        )
        .await;
    let token = web["session_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{web}"))
        .to_string();
    let (s, _) = h
        .post("/v1/auth/session", json!({"session_token": token}))
        .await;
    assert_eq!(s, StatusCode::OK);

    // log out everywhere: the session and the code stop working.
    let (s, b) = h.act(id, "logout_everywhere", Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["step"], "logout");
    assert!(
        b["result"]
            .as_str()
            .unwrap()
            .contains("1 authorization codes revoked"),
        "{b}"
    );
    assert_eq!(step(&b["incident"], "logout")["done_by"], "admin");
    let (s, _) = h
        .post("/v1/auth/session", json!({"session_token": token}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(h.verify_from(user, &code, SHENZHEN).await["result"], "fail");

    // revoke_token of a code that is gone: 404, nothing done.
    let (s, b) = h.act(id, "revoke_token", json!({"code_id": code_id})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");

    // block a range: a login from it is refused before the password.
    let (s, b) = h
        .act(id, "block_source", json!({"network": "203.0.113.0/24"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // (phone-1 was signed out with everything else: a new device now.)
    let b = h
        .verify_device(user, new_pw, "203.0.113.77", "phone-2")
        .await;
    assert_eq!(
        (b["result"].as_str(), b["reason"].as_str()),
        (Some("fail"), Some("access_denied")),
        "{b}"
    );
    let b = h.verify_device(user, new_pw, SHENZHEN, "phone-2").await;
    assert_eq!(b["result"], "ok", "{b}");

    // require a second factor: the user's own policy asks for it.
    let (s, b) = h.act(id, "require_two_factor", Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, p) = h.get(&format!("/v1/policies/user/{user}")).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["rules"]["login_protection"], "new_city_or_device", "{p}");

    // force a password reset: the account says so.
    let (s, b) = h.act(id, "force_password_reset", Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, a) = h.get(&format!("/v1/users/{user}")).await;
    assert_eq!(a["must_change_password"], true, "{a}");

    // lock: the next verify is refused as locked, whatever the password.
    let (s, b) = h.act(id, "lock_account", Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["step"], "lock");
    let b = h.verify_device(user, new_pw, SHENZHEN, "phone-2").await;
    assert_eq!(b["reason"], "account_locked", "{b}");
    // Run again, the action still works but no step is left to complete.
    let (s, b) = h.act(id, "lock_account", Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["step"], Value::Null);

    let (_, d) = h.get(&format!("/v1/incidents/{id}")).await;
    for done in [
        "logout",
        "block_source",
        "require_2fa",
        "reset_password",
        "lock",
    ] {
        assert!(step(&d, done)["done_at"].is_string(), "{done}: {d}");
        assert!(step(&d, done)["result"].is_string(), "{done}: {d}");
    }
    assert!(step(&d, "notify")["done_at"].is_null());
}

#[tokio::test]
async fn a_critical_outside_forwarding_opens_an_incident_and_mark_for_revert_tells_the_mail_system_signed(
) {
    let (hook, mut received) = hook_server().await;
    let h = start_with_hook(&hook).await;
    let user = "kim@acme.test";
    h.incident_user(user).await;
    let (s, b) = h
        .post(
            "/v1/report",
            json!({"user": user, "ip": "105.112.3.4", "protocol": "imap", "outcome": "success"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    h.advance(600);
    let (s, b) = h
        .post(
            "/v1/operations",
            json!({"user": user, "kind": "forwarding_rule", "source": "webmail", "report_id": "r-1",
                   "ip": "105.112.3.4", "target": "drop@mailbox.example.net"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["operation"]["grade"], "critical", "{b}");
    let op_id = b["operation"]["id"].as_i64().unwrap();
    // An ordinary change inside the organisation, and one before the
    // risky login's window: only the first is listed for revert... both
    // are after the login, so both kinds are checked: a password change is
    // not revertible.
    let (s, b) = h
        .post(
            "/v1/operations",
            json!({"user": user, "kind": "password_changed", "source": "webmail"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    let list = h.incidents_of(user, 1).await;
    let i = &list[0];
    assert_eq!(i["grade"], "l1");
    assert_eq!(i["trigger"]["kind"], "operation");
    assert_eq!(i["trigger"]["ref_id"], op_id);
    assert!(i["first_risky_at"].is_string(), "the alert's login: {i}");
    let id = i["id"].as_i64().unwrap();

    let (s, b) = h.act(id, "mark_for_revert", Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["webhook_sent"], true, "{b}");
    let ops: Vec<i64> = b["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ops, vec![op_id]);
    assert_eq!(b["incident"]["reverts"][0]["operation_id"], op_id);
    assert_eq!(b["step"], "revert");

    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("the webhook was called")
        .unwrap();
    let ts: i64 = headers["x-warden-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let sig = headers["x-warden-signature"].to_str().unwrap();
    assert_eq!(
        sig,
        warden_service::notify::channels::webhook_signature(SECRET, ts, &body)
    );
    assert_ne!(
        sig,
        warden_service::notify::channels::webhook_signature("other", ts, &body)
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["type"], "incident.revert");
    assert_eq!(v["incident_id"], id);
    assert_eq!(v["user"], user);
    assert_eq!(v["operations"][0]["kind"], "forwarding_rule");
    assert_eq!(v["operations"][0]["target"], "drop@mailbox.example.net");
    assert_eq!(v["operations"][0]["external"], true);

    // notify: one notice to the user and each business owner.
    let (s, b) = h
        .act(
            id,
            "notify",
            json!({"message": "Your mailbox was used from Lagos; we locked it."}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let alert_id = b["alert_id"].as_i64().unwrap();
    warden_service::notify::outbox::fan_out(&*h.state.service)
        .await
        .unwrap();
    let (s, d) = h.get(&format!("/v1/deliveries?alert_id={alert_id}")).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let mut to: Vec<String> = d["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["recipient"].as_str().unwrap().to_string())
        .collect();
    to.sort();
    assert_eq!(
        to,
        vec![
            "cfo@acme.test",
            "owner-of@acme.test",
            "sales-lead@acme.test"
        ]
    );
    let (_, a) = h.get(&format!("/v1/alerts/{alert_id}")).await;
    assert_eq!(a["kind"], "incident_notice");
    assert_eq!(a["note"], "Your mailbox was used from Lagos; we locked it.");
}

#[tokio::test]
async fn overdue_steps_raise_one_alert_each_and_show_in_the_sla() {
    let h = Harness::start().await;
    let d = h.open_manual("lee@acme.test", "l1").await;
    let id = d["incident"]["id"].as_i64().unwrap();
    assert_eq!(h.state.service.check_overdue_steps().await.unwrap(), 0);
    // A manual step done in time is never overdue.
    let (s, b) = h
        .post(
            &format!("/v1/incidents/{id}/steps/user_contacted"),
            json!({"note": "called on the desk phone"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        step(&b, "user_contacted")["note"],
        "called on the desk phone"
    );
    h.advance(3600);
    let (_, d) = h.get(&format!("/v1/incidents/{id}")).await;
    let hour: Vec<&str> = d["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["overdue"] == true)
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        hour,
        vec![
            "lock",
            "logout",
            "block_source",
            "revert",
            "reset_password",
            "require_2fa",
            "notify"
        ]
    );
    assert_eq!(d["overdue"], 7);
    assert_eq!(h.state.service.check_overdue_steps().await.unwrap(), 7);
    assert_eq!(
        h.state.service.check_overdue_steps().await.unwrap(),
        0,
        "once per step"
    );
    let (_, a) = h.get("/v1/alerts?kind=incident_overdue&limit=100").await;
    let alerts = a["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 7, "{a}");
    assert!(alerts
        .iter()
        .all(|a| a["notify_admins"] == true && a["notify_user"] == false));
    assert!(
        alerts.iter().any(|a| a["note"].as_str().unwrap().contains(
            "step \"Lock the account (isolate at once)\" (lock) owned by security_admin"
        )),
        "{a}"
    );
    let (_, d) = h.get(&format!("/v1/incidents/{id}")).await;
    assert!(step(&d, "lock")["overdue_alerted_at"].is_string());
    // A day later the forensic report is late too: one more alert.
    h.advance(86_400);
    assert_eq!(h.state.service.check_overdue_steps().await.unwrap(), 1);
}

#[tokio::test]
async fn the_status_only_moves_forward_and_closing_needs_the_review() {
    let h = Harness::start().await;
    let d = h.open_manual("ann@acme.test", "l2").await;
    let id = d["incident"]["id"].as_i64().unwrap();
    let path = format!("/v1/incidents/{id}");
    let (s, b) = h
        .call(Method::PATCH, &path, Some(json!({"status": "closed"})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("review")
            || b.to_string().contains("review"),
        "{b}"
    );
    let (s, b) = h
        .call(
            Method::PATCH,
            &path,
            Some(json!({"status": "eradicated", "assignee": "sec-oncall"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["incident"]["status"], "eradicated");
    assert_eq!(b["incident"]["assignee"], "sec-oncall");
    assert!(
        b["incident"]["contained_at"].is_string(),
        "a jump contains it too"
    );
    let (s, b) = h
        .call(Method::PATCH, &path, Some(json!({"status": "contained"})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let (s, b) = h
        .call(Method::PUT, &format!("{path}/review"), Some(json!({"root_cause": "Phone left in a taxi", "what_worked": "Remote wipe in 20 minutes", "what_to_change": "Enrol every phone in MDM"})))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["review"]["root_cause"], "Phone left in a taxi");
    let (s, b) = h
        .call(Method::PATCH, &path, Some(json!({"status": "closed"})))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["incident"]["recovered_at"].is_string());
    assert!(b["incident"]["closed_at"].is_string());
    // A closed incident takes no more changes.
    for (m, p, body) in [
        (Method::POST, format!("{path}/actions/notify"), json!({})),
        (
            Method::POST,
            format!("{path}/steps/wipe"),
            json!({"note": "x"}),
        ),
        (
            Method::PUT,
            format!("{path}/review"),
            json!({"root_cause": "a", "what_worked": "b", "what_to_change": "c"}),
        ),
        (Method::PATCH, path.clone(), json!({"assignee": "someone"})),
    ] {
        let (s, b) = h.call(m, &p, Some(body)).await;
        assert_eq!(s, StatusCode::CONFLICT, "{p}: {b}");
    }
    let (_, b) = h.get("/v1/incidents?active=true").await;
    assert_eq!(b["incidents"], json!([]));
    let (_, b) = h.get("/v1/incidents?status=closed").await;
    assert_eq!(b["incidents"][0]["id"], id);
}

#[tokio::test]
async fn the_timeline_merges_the_incidents_records_and_the_users_in_its_window() {
    let h = Harness::start().await;
    let d = h.open_manual("eve@acme.test", "l3").await;
    let id = d["incident"]["id"].as_i64().unwrap();
    let now = h.state.now().secs();
    let mut chain = Chain::default();
    let entry = |at: i64, kind: &str, user: &str| {
        AuditEntry::new(Timestamp(at), kind, "warden")
            .unwrap()
            .user(user)
    };
    let records = vec![
        // Two days before: outside the default 24 h look-back.
        chain.append(entry(now - 2 * 86_400, "login.recorded", "eve@acme.test")),
        chain.append(entry(now - 3600, "login.recorded", "eve@acme.test")),
        chain.append(entry(now - 1800, "login.recorded", "mallory@acme.test")),
        chain.append(
            entry(now - 600, "operation.reported", "eve@acme.test").detail("kind", "mass_download"),
        ),
        chain.append(
            AuditEntry::new(Timestamp(now), "incident.action", "admin")
                .unwrap()
                .incident(id)
                .detail("action", "lock_account"),
        ),
    ];
    h.state.store.append_audit(&records).await.unwrap();
    let (s, t) = h.get(&format!("/v1/incidents/{id}/timeline")).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let seqs: Vec<u64> = t["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![2, 4, 5], "{t}");
    assert_eq!(t["more"], false);
    assert_eq!(
        t["records"][1]["detail"],
        json!([{"key": "kind", "value": "mass_download"}])
    );
    assert_eq!(t["records"][2]["incident_id"], id);
    // Another affected user joins the timeline.
    let (s, b) = h
        .post(
            &format!("/v1/incidents/{id}/affected"),
            json!({"kind": "user", "value": "Mallory@acme.test"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["added"], true);
    let (_, t) = h.get(&format!("/v1/incidents/{id}/timeline")).await;
    let seqs: Vec<u64> = t["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![2, 3, 4, 5], "{t}");
    let (s, _) = h.get("/v1/incidents/999/timeline").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn hostile_input_is_a_clear_4xx_that_changes_nothing() {
    let h = Harness::start().await;
    for body in [
        json!({"grade": "l4", "user": "a@acme.test"}),
        json!({"grade": "L1", "user": "a@acme.test"}),
        json!({"user": "a@acme.test"}),
        json!({"grade": "l1", "title": "x".repeat(201)}),
        json!({"grade": "l1", "title": "   "}),
        json!({"grade": "l1", "user": ""}),
        json!({"grade": "l1", "addresses": ["not-an-address"]}),
        json!({"grade": "l1", "devices": ["d".repeat(129)]}),
        json!({"grade": "l1", "surprise": true}),
        json!({"grade": "l1", "addresses": vec!["10.0.0.1"; 21]}),
    ] {
        let (s, b) = h.post("/v1/incidents", body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {b}");
        assert!(
            b["error"].is_object() || b["message"].is_string() || !b.is_null(),
            "{b}"
        );
    }
    let (_, b) = h.get("/v1/incidents").await;
    assert_eq!(b["incidents"], json!([]), "nothing was opened");

    // Hidden characters and markup are cleaned to one line of text.
    let (s, d) = h
        .post("/v1/incidents", json!({"grade": "l1", "user": "a@acme.test", "title": "<script>x</script>\u{202e}evil\nline", "assignee": "sec\u{0}ops"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let title = d["incident"]["title"].as_str().unwrap();
    assert!(
        !title.contains('\n') && !title.contains('\u{202e}'),
        "{title:?}"
    );
    assert!(!d["incident"]["assignee"]
        .as_str()
        .unwrap()
        .contains('\u{0}'));
    let id = d["incident"]["id"].as_i64().unwrap();
    let before = h.get(&format!("/v1/incidents/{id}")).await.1;

    for (method, path, body, status) in [
        (
            Method::POST,
            format!("/v1/incidents/{id}/actions/launch_missiles"),
            json!({}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("/v1/incidents/{id}/actions/block_source"),
            json!({"network": "10.0.0.0/8"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("/v1/incidents/{id}/actions/block_source"),
            json!({"network": "nowhere"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("/v1/incidents/{id}/actions/block_source"),
            json!({}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("/v1/incidents/{id}/actions/notify"),
            json!({"message": "m".repeat(1001)}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("/v1/incidents/{id}/actions/lock_account"),
            json!({"user": "ghost@acme.test"}),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::POST,
            format!("/v1/incidents/{id}/actions/lock_account"),
            json!({"extra": 1}),
            StatusCode::BAD_REQUEST,
        ),
        // A field the action does not read is bounded all the same
        // (schemathesis found an over-long network accepted by a lock).
        (
            Method::POST,
            format!("/v1/incidents/{id}/actions/lock_account"),
            json!({"network": "0".repeat(65)}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("/v1/incidents/{id}/steps/lock"),
            json!({}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("/v1/incidents/{id}/steps/no_such_step"),
            json!({"note": "x"}),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::POST,
            format!("/v1/incidents/{id}/steps/forensic_report"),
            json!({"note": "n".repeat(2001)}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PUT,
            format!("/v1/incidents/{id}/review"),
            json!({"root_cause": "", "what_worked": "b", "what_to_change": "c"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PUT,
            format!("/v1/incidents/{id}/review"),
            json!({"root_cause": "r".repeat(4001), "what_worked": "b", "what_to_change": "c"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PATCH,
            format!("/v1/incidents/{id}"),
            json!({}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PATCH,
            format!("/v1/incidents/{id}"),
            json!({"status": "reopened"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PATCH,
            format!("/v1/incidents/{id}"),
            json!({"assignee": "a".repeat(121)}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("/v1/incidents/{id}/affected"),
            json!({"kind": "planet", "value": "x"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("/v1/incidents/{id}/affected"),
            json!({"kind": "address", "value": "999.1.1.1"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/v1/incidents/abc".to_string(),
            Value::Null,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/v1/incidents/12345".to_string(),
            Value::Null,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/v1/incidents?limit=0".to_string(),
            Value::Null,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/v1/incidents?grade=l9".to_string(),
            Value::Null,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/v1/incidents?cursor=-4".to_string(),
            Value::Null,
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let body = (!body.is_null()).then_some(body);
        let (s, b) = h.call(method, &path, body).await;
        assert_eq!(s, status, "{path}: {b}");
    }
    let after = h.get(&format!("/v1/incidents/{id}")).await.1;
    assert_eq!(before, after, "nothing changed");
    // Without the key, nothing at all.
    let r = h
        .http
        .get(format!("{}/v1/incidents", h.base))
        .bearer_auth(format!("{KEY}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_effective_playbooks_are_listed() {
    let h = Harness::start().await;
    let (s, b) = h.get("/v1/incidents/playbooks").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let grades: Vec<&str> = b["playbooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["grade"].as_str().unwrap())
        .collect();
    assert_eq!(grades, vec!["l1", "l2", "l3"]);
    assert_eq!(b["playbooks"][0]["source"], "l1.toml (built-in)");
    assert_eq!(b["playbooks"][0]["steps"][0]["action"], "lock_account");
    assert_eq!(b["playbooks"][0]["steps"][0]["due_minutes"], 60);
}
