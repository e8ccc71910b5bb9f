//! "Was this you?" over the real HTTP server: the answer page (GET shows,
//! only a POST acts), each answer's effects at the next login, the
//! admins' answer route and the location-complaint queue, and refused
//! links (forged, expired, used) changing nothing. The page is also driven
//! in headless Chromium (`tests/browser/cdp.py`).
//!
//! Alert rows are written here the way the alert rules write them (with
//! the login in the history first), so the answers are tested on their own.

use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use warden_core::{Alert, AlertKind, AlertState, Answer, Decision, Grade, Protocol, ReasonCode};
use warden_store::AlertStore;

use super::Harness;

const PW: &str = "correct horse battery staple";
const SHENZHEN: &str = "113.88.1.10";
const LAGOS: &str = "105.112.7.7";
/// Another address in the same /24 as `LAGOS`.
const LAGOS_NEIGHBOUR: &str = "105.112.7.200";

impl Harness {
    /// A user with a password and twelve days of logins from Shenzhen.
    async fn settled_user(&self, user: &str) {
        let (s, b) = self
            .post("/v1/users", json!({"user": user, "password": PW}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        self.history_at(user, SHENZHEN, 12).await;
        self.advance(3 * 86_400);
    }

    async fn verify_at(&self, user: &str, secret: &str, ip: &str) -> Value {
        let (s, b) = self
            .post(
                "/v1/auth/verify",
                json!({"user": user, "password": secret, "protocol": "imap", "ip": ip, "tls": true, "device": "<b>phone</b>", "user_agent": "Foxmail 7.2"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }

    /// The alert the rules raise for the user's last login, as stored.
    async fn alert_for_login(&self, user: &str, ip: &str) -> i64 {
        self.alert_with_isp(user, ip, "<script>alert(1)</script> Airtel")
            .await
    }

    async fn alert_with_isp(&self, user: &str, ip: &str, isp: &str) -> i64 {
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
            region: info.location.region.as_deref().map(str::to_string),
            city: info.location.city.as_deref().map(str::to_string),
            asn: info.network.asn,
            isp: Some(isp.into()),
            device: Some(
                if isp.contains('<') {
                    "<b>phone</b>"
                } else {
                    "iPhone"
                }
                .into(),
            ),
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

    fn answer_path(&self, id: i64) -> String {
        let token = self.state.answers.token(id, self.state.now());
        format!("/answer/{token}")
    }

    /// An open (no key) request to the page: status and HTML.
    async fn page(
        &self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> (StatusCode, String) {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(f) = form {
            r = r.form(f);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let ct = r
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string());
        let body = r.text().await.unwrap();
        assert_eq!(
            ct.as_deref(),
            Some("text/html; charset=utf-8"),
            "{} {}: {body}",
            form.map_or(0, |f| f.len()),
            path.len()
        );
        (status, body)
    }

    async fn alert(&self, id: i64) -> Option<Alert> {
        self.state.store.alert(id).await.unwrap()
    }
}

fn token_of(path: &str) -> &str {
    path.trim_start_matches("/answer/")
}

#[tokio::test]
async fn not_me_revokes_sessions_and_codes_demands_a_new_password_and_refuses_the_source() {
    let h = Harness::start().await;
    let user = "bob@acme.test";
    h.settled_user(user).await;
    let (s, code) = h
        .post(
            &format!("/v1/users/{user}/app-passwords"),
            json!({"name": "phone"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{code}");
    let code = code["code"].as_str().unwrap().to_string();
    // The attacker's login from Lagos succeeds with an alert, and so does
    // their webmail session from there.
    let b = h.verify_at(user, PW, LAGOS).await;
    assert_eq!(
        (b["result"].as_str(), b["alert"].as_bool()),
        (Some("ok"), Some(true)),
        "{b}"
    );
    let (_, web) = h
        .post(
            "/v1/auth/login",
            json!({"user": user, "ip": LAGOS, "protocol": "web", "password": PW}),
        )
        .await;
    assert_eq!(web["status"], "ok", "{web}");
    let session = json!({"session_token": web["session_token"].as_str().unwrap()});
    let id = h.alert_for_login(user, LAGOS).await;
    let path = h.answer_path(id);

    // The page shows what happened, escaped, with the choice preselected;
    // loading it (twice, as a mail scanner would) changes nothing.
    for _ in 0..2 {
        let (s, html) = h
            .page(Method::GET, &format!("{path}?choice=not_me"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(html.contains("Lagos") && html.contains(LAGOS), "{html}");
        assert!(html.contains("IMAP") && html.contains("Foxmail"), "{html}");
        assert!(html.contains("db-ip.com"), "{html}");
        assert!(
            !html.contains("<script>alert(1)") && html.contains("&lt;script&gt;"),
            "attacker-controlled text is escaped: {html}"
        );
        assert!(
            html.contains("&lt;b&gt;phone&lt;&#x2f;b&gt;") || html.contains("&lt;b&gt;phone"),
            "{html}"
        );
        assert!(html.contains(r#"value="not_me" checked"#), "{html}");
        assert!(!html.contains("<script"), "the page runs no script: {html}");
    }
    assert_eq!(h.alert(id).await.unwrap().answer, None);
    let (s, _) = h.post("/v1/auth/session", session.clone()).await;
    assert_eq!(s, StatusCode::OK, "a GET revoked nothing");

    // The POST acts.
    let token = token_of(&path);
    let (s, html) = h
        .page(
            Method::POST,
            &path,
            Some(&[("token", token), ("choice", "not_me"), ("lang", "en")]),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        html.contains("revoked") && html.contains("105.112.7.0&#x2f;24"),
        "{html}"
    );
    let a = h.alert(id).await.unwrap();
    assert_eq!(
        (a.answer, a.state),
        (Some(Answer::NotMe), AlertState::Closed)
    );
    assert!(a.answered_ip.is_some_and(|ip| ip.is_loopback()));
    // The admins' critical alert points at it.
    let critical = h.alert(id + 1).await.expect("a login_disowned alert");
    assert_eq!(
        (
            critical.kind,
            critical.grade,
            critical.notify_admins,
            critical.notify_user
        ),
        (AlertKind::LoginDisowned, Grade::Critical, true, false)
    );
    assert_eq!(critical.ip, a.ip);
    assert!(
        critical.note.contains(&format!("alert {id}")),
        "{}",
        critical.note
    );

    // Sessions and codes are gone, the old password must change, and the
    // source is refused at every entry point before any password.
    let (s, _) = h.post("/v1/auth/session", session).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let b = h.verify_at(user, &code, SHENZHEN).await;
    assert_eq!(b["reason"], "wrong_password", "a revoked code: {b}");
    let b = h.verify_at(user, PW, SHENZHEN).await;
    assert_eq!(b["reason"], "password_expired", "{b}");
    for ip in [LAGOS, LAGOS_NEIGHBOUR] {
        let b = h.verify_at(user, PW, ip).await;
        assert_eq!(b["reason"], "access_denied", "{b}");
        assert!(
            b["message"].as_str().unwrap().contains("not theirs"),
            "the refusal says why: {b}"
        );
        let (_, e) = h.evaluate(user, ip, "imap").await;
        assert_eq!(e["decision"], "deny", "{e}");
        assert!(
            super::codes(&e).contains(&"access_denied".to_string()),
            "{e}"
        );
    }
    // Dovecot's auth policy refuses it before the password too.
    let (s, v) = h
        .post(
            "/v1/dovecot/policy?command=allow",
            json!({"login": user, "remote": LAGOS_NEIGHBOUR, "real_remote": "127.0.0.1",
                   "protocol": "imap", "session_id": "s1", "pwhash": "abc", "tls": true}),
        )
        .await;
    assert_eq!((s, &v["status"]), (StatusCode::OK, &json!(-1)), "{v}");
    assert!(v["msg"].as_str().unwrap().contains("not theirs"), "{v}");
    // Only this account: another user from the same address is not refused
    // by the block.
    h.settled_user("carol@acme.test").await;
    let b = h.verify_at("carol@acme.test", PW, LAGOS).await;
    assert_ne!(b["reason"], "access_denied", "{b}");
    let (_, events) = h.get(&format!("/v1/users/{user}/security-events")).await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"sessions_revoked") && kinds.contains(&"app_passwords_revoked_all"),
        "{events}"
    );

    // A second use is refused and changes nothing (with a link minted
    // now: the first one has expired meanwhile).
    let path = h.answer_path(id);
    let (s, html) = h
        .page(
            Method::POST,
            &path,
            Some(&[("token", token_of(&path)), ("choice", "it_was_me")]),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("already answered"), "{html}");
    assert_eq!(h.alert(id).await.unwrap().answer, Some(Answer::NotMe));
    assert_eq!(h.alert(id + 2).await, None, "no second critical alert");
    let (s, _) = h.page(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // The block is listed and explained; an admin lifts it (the user was
    // there after all) and only the password change remains.
    let (_, blocks) = h.get(&format!("/v1/users/{user}/source-blocks")).await;
    assert_eq!(blocks["blocks"], json!(["105.112.7.0/24"]), "{blocks}");
    let (_, diag) = h.get(&format!("/v1/users/{user}/diagnose")).await;
    assert!(diag.to_string().contains("source_blocked"), "{diag}");
    let lift = format!("/v1/users/{user}/source-blocks?network=105.112.7.0/24");
    let (s, b) = h.call(Method::DELETE, &lift, None).await;
    assert_eq!((s, &b["blocks"]), (StatusCode::OK, &json!([])), "{b}");
    let (s, _) = h.call(Method::DELETE, &lift, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let b = h.verify_at(user, PW, LAGOS).await;
    assert_eq!(b["reason"], "password_expired", "{b}");
}

#[tokio::test]
async fn yes_it_was_me_makes_the_next_login_from_that_place_quiet() {
    let h = Harness::start().await;
    let user = "dana@acme.test";
    h.settled_user(user).await;
    let b = h.verify_at(user, PW, LAGOS).await;
    assert_eq!(b["alert"], true, "{b}");
    let id = h.alert_for_login(user, LAGOS).await;
    // Unconfirmed, the place keeps its risk: the next login alerts again.
    h.advance(3600);
    let (_, before) = h.evaluate(user, LAGOS, "imap").await;
    assert_eq!(before["alert"], true, "{before}");

    let path = h.answer_path(id);
    let (s, html) = h
        .page(
            Method::POST,
            &path,
            Some(&[("token", token_of(&path)), ("choice", "it_was_me")]),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert_eq!(h.alert(id).await.unwrap().answer, Some(Answer::ItWasMe));
    h.advance(3600);
    let (_, after) = h.evaluate(user, LAGOS, "imap").await;
    assert_eq!(after["alert"], false, "{after}");
    assert_eq!(after["decision"], "allow", "{after}");
    let b = h.verify_at(user, PW, LAGOS).await;
    assert_eq!(
        (b["result"].as_str(), b["alert"].as_bool()),
        (Some("ok"), Some(false)),
        "{b}"
    );

    // The admin's review of a later alert: where the user usually is, who
    // else logs in from the address, what the user answered before.
    h.settled_user("zed@acme.test").await;
    h.verify_at("zed@acme.test", PW, LAGOS).await;
    let later = h.alert_for_login(user, LAGOS).await;
    let (s, r) = h.get(&format!("/v1/alerts/{later}/review")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["profiled"], true, "{r}");
    let cities: Vec<&str> = r["usual_places"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["city"].as_str())
        .collect();
    assert!(
        cities.contains(&"Shenzhen") && cities.contains(&"Lagos"),
        "{r}"
    );
    assert_eq!(r["other_users"], json!(["zed@acme.test"]), "{r}");
    assert_eq!(r["previous_answers"][0]["alert_id"], id, "{r}");
    assert_eq!(r["previous_answers"][0]["answer"], "it_was_me", "{r}");
    assert_eq!(r["ip"]["location"]["city"], "Lagos", "{r}");
    assert_eq!(r["blocked"], Value::Null);
    let (s, _) = h.get("/v1/alerts/424242/review").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_wrong_location_is_queued_and_an_admin_accepts_or_rejects_it() {
    let h = Harness::start().await;
    let user = "erin@acme.test";
    h.settled_user(user).await;
    h.verify_at(user, PW, LAGOS).await;
    let id = h.alert_for_login(user, LAGOS).await;
    let path = h.answer_path(id);
    // A hostile comment: a line break, a bidi override, markup, far too long.
    let comment = format!("I was in\nAbuja \u{202e}<i>x</i>{}", "y".repeat(3000));
    let (s, html) = h
        .page(
            Method::POST,
            &path,
            Some(&[
                ("token", token_of(&path)),
                ("choice", "wrong_location"),
                ("comment", &comment),
            ]),
        )
        .await;
    // 3 KB of comment is within the page's 4 KiB body limit.
    assert_eq!(s, StatusCode::OK, "{html}");
    let (s, q) = h.get("/v1/geo/corrections/queue?state=pending").await;
    assert_eq!(s, StatusCode::OK, "{q}");
    let reqs = q["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 1, "{q}");
    let r = &reqs[0];
    assert_eq!(
        (r["ip"].as_str(), r["user"].as_str()),
        (Some(LAGOS), Some(user))
    );
    assert_eq!(r["city"], "Lagos");
    assert_eq!(r["alert_id"], id);
    let stored = r["comment"].as_str().unwrap();
    assert!(stored.starts_with("I was in Abuja"), "{stored}");
    assert!(
        !stored.contains('\n') && !stored.contains('\u{202e}'),
        "{stored}"
    );
    assert!(stored.chars().count() <= 500, "{}", stored.chars().count());
    let qid = r["id"].as_i64().unwrap();

    // Bad input changes nothing.
    let (s, b) = h
        .post(
            &format!("/v1/geo/corrections/queue/{qid}/accept"),
            json!({"country": "XX1"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = h
        .post(
            &format!("/v1/geo/corrections/queue/{qid}/accept"),
            json!({"country": "NG", "network": "8.8.8.0/24"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a network without the address: {b}"
    );
    let (_, still) = h.get("/v1/geo/corrections/queue?state=pending").await;
    assert_eq!(still["requests"].as_array().unwrap().len(), 1);

    // Accept: the correction is live at once.
    let (s, b) = h
        .post(
            &format!("/v1/geo/corrections/queue/{qid}/accept"),
            json!({"country": "NG", "region": "FCT", "city": "Abuja", "network": "105.112.7.0/24", "by": "ops-li"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["state"].as_str(), b["decided_by"].as_str()),
        (Some("accepted"), Some("ops-li"))
    );
    let (_, geo) = h.get(&format!("/v1/geo/{LAGOS}")).await;
    assert_eq!(geo["location"]["city"], "Abuja", "{geo}");
    let (_, all) = h.get("/v1/geo/corrections").await;
    assert!(
        all["corrections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["network"] == "105.112.7.0/24"),
        "{all}"
    );
    // Decided once.
    let (s, b) = h
        .post(
            &format!("/v1/geo/corrections/queue/{qid}/reject"),
            json!({}),
        )
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("already_decided")),
        "{b}"
    );

    // Another complaint, through the admins' answer route, rejected.
    h.verify_at(user, PW, "105.112.9.9").await;
    let id2 = h.alert_for_login(user, "105.112.9.9").await;
    let (s, b) = h
        .post(
            &format!("/v1/alerts/{id2}/answer"),
            json!({"answer": "wrong_location", "comment": "Kano"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let qid2 = b["queued_correction"].as_i64().unwrap();
    let (s, b) = h
        .post(
            &format!("/v1/geo/corrections/queue/{qid2}/reject"),
            json!({"by": "ops-li"}),
        )
        .await;
    assert_eq!(
        (s, b["state"].as_str()),
        (StatusCode::OK, Some("rejected")),
        "{b}"
    );
    let (_, geo) = h.get("/v1/geo/105.112.9.9").await;
    assert_eq!(
        geo["location"]["city"], "Lagos",
        "a rejection corrects nothing: {geo}"
    );
    let (_, page) = h.get("/v1/geo/corrections/queue?limit=1").await;
    assert_eq!(page["requests"].as_array().unwrap().len(), 1);
    let after = page["next_after"].as_i64().unwrap();
    let (_, rest) = h
        .get(&format!("/v1/geo/corrections/queue?after={after}"))
        .await;
    assert_eq!(rest["requests"][0]["id"], qid2, "{rest}");
    let (s, _) = h.get("/v1/geo/corrections/queue?state=maybe").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = h
        .post("/v1/geo/corrections/queue/999/reject", json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forged_expired_malformed_and_mismatched_links_change_nothing() {
    let h = Harness::start().await;
    let user = "finn@acme.test";
    h.settled_user(user).await;
    h.verify_at(user, PW, LAGOS).await;
    let id = h.alert_for_login(user, LAGOS).await;
    let path = h.answer_path(id);
    let token = token_of(&path).to_string();
    let other = h.alert_for_login(user, LAGOS).await;
    let other_token = h.state.answers.token(other, h.state.now());
    let forged = token.replacen(&format!("v1.{id}."), &format!("v1.{other}."), 1);
    let cases: Vec<(String, StatusCode)> = vec![
        (format!("/answer/{forged}"), StatusCode::NOT_FOUND),
        ("/answer/v1.1.2.zz".into(), StatusCode::NOT_FOUND),
        (
            format!("/answer/{}", "a".repeat(500)),
            StatusCode::NOT_FOUND,
        ),
        ("/answer/%3Cscript%3E".into(), StatusCode::NOT_FOUND),
    ];
    for (p, want) in &cases {
        let (s, html) = h.page(Method::GET, p, None).await;
        assert_eq!(s, *want, "{p}: {html}");
        let t = token_of(p);
        let (s, _) = h
            .page(Method::POST, p, Some(&[("token", t), ("choice", "not_me")]))
            .await;
        assert_eq!(s, *want, "{p}");
    }
    // The form's token must be the address's.
    let (s, html) = h
        .page(
            Method::POST,
            &path,
            Some(&[("token", &other_token), ("choice", "not_me")]),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{html}");
    let (s, _) = h
        .page(
            Method::POST,
            &path,
            Some(&[("token", &token), ("choice", "maybe")]),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // A body over the page's limit is refused.
    let big = "x".repeat(10_000);
    let r = h
        .http
        .post(format!("{}{path}", h.base))
        .form(&[
            ("token", token.as_str()),
            ("choice", "not_me"),
            ("comment", &big),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Expired: a week and a second later.
    h.advance(7 * 86_400 + 1);
    let (s, html) = h.page(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::GONE, "{html}");
    assert!(html.contains("expired"), "{html}");
    let (s, _) = h
        .page(
            Method::POST,
            &path,
            Some(&[("token", &token), ("choice", "not_me")]),
        )
        .await;
    assert_eq!(s, StatusCode::GONE);

    // Nothing changed: both alerts unanswered, the account untouched.
    for a in [id, other] {
        assert_eq!(h.alert(a).await.unwrap().answer, None);
    }
    assert_eq!(h.alert(other + 1).await, None);
    let b = h.verify_at(user, PW, SHENZHEN).await;
    assert_eq!(b["result"], "ok", "{b}");

    // The admins' route: unknown, a summary, then once.
    let (s, _) = h
        .post("/v1/alerts/999/answer", json!({"answer": "not_me"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = h
        .post(
            &format!("/v1/alerts/{id}/answer"),
            json!({"answer": "perhaps"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, b) = h
        .post(
            &format!("/v1/alerts/{id}/answer"),
            json!({"answer": "not_me"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["blocked"], "105.112.7.0/24");
    assert_eq!(b["account_cut_off"], true);
    let (s, b) = h
        .post(
            &format!("/v1/alerts/{id}/answer"),
            json!({"answer": "it_was_me"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let disowned = h.alert(other + 1).await.unwrap();
    assert_eq!(disowned.kind, AlertKind::LoginDisowned);
    let (s, b) = h
        .post(
            &format!("/v1/alerts/{}/answer", disowned.id),
            json!({"answer": "not_me"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a critical alert takes no answer: {b}"
    );
}

/// Runs `tests/browser/cdp.py` with `steps`; its lines, one per named step.
fn chromium(dir: &std::path::Path, steps: &[Value]) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/cdp.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(dir)
        .args(steps.iter().map(Value::to_string))
        .output()
        .expect("python3 runs (scripts/test.sh installs chromium)");
    assert!(
        out.status.success(),
        "cdp.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_in_headless_chromium_shows_then_acts_only_on_the_form_post() {
    let h = Harness::start().await;
    let user = "gwen@acme.test";
    h.settled_user(user).await;
    h.verify_at(user, PW, LAGOS).await;
    let id = h.alert_with_isp(user, LAGOS, "Airtel Networks").await;
    let url = format!("{}{}?choice=not_me", h.base, h.answer_path(id));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let url2 = url.clone();
    // The browser runs on its own thread; the server answers meanwhile.
    let seen = tokio::task::spawn_blocking(move || {
        chromium(
            &d,
            &[
                json!({"open": url2, "lang": "en-US,en;q=0.9", "name": "view-en"}),
                json!({"open": url2, "lang": "zh-CN,zh;q=0.9", "name": "view-zh"}),
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s["status"] == 200), "{seen:?}");
    let en = std::fs::read_to_string(dir.path().join("view-en.html")).unwrap();
    let zh = std::fs::read_to_string(dir.path().join("view-zh.html")).unwrap();
    assert!(en.contains("Was this you?") && en.contains("Lagos"), "{en}");
    assert!(
        zh.contains("这是您本人的登录吗") && zh.contains("尼日利亚"),
        "{zh}"
    );
    for png in ["view-en.png", "view-zh.png"] {
        let bytes = std::fs::read(dir.path().join(png)).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 5_000,
            "{png}"
        );
    }
    // Loading the page in a real browser changed nothing.
    assert_eq!(h.alert(id).await.unwrap().answer, None);
    assert_eq!(h.alert(id + 1).await, None);
    let b = h.verify_at(user, PW, LAGOS).await;
    assert_eq!(b["result"], "ok", "{b}");

    // Choosing and pressing the button (real mouse events) acts; loading the
    // link again is refused.
    let d = dir.path().to_path_buf();
    let url2 = url.clone();
    let acted = tokio::task::spawn_blocking(move || {
        chromium(
            &d,
            &[
                json!({"open": url2, "lang": "en", "name": "before"}),
                json!({"click": "input[value=not_me]"}),
                json!({"submit": "button[type=submit]", "name": "done"}),
                json!({"open": url2, "lang": "en", "name": "again"}),
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(acted[1]["status"], 200, "{acted:?}");
    assert_eq!(acted[2]["status"], 409, "{acted:?}");
    let done = std::fs::read_to_string(dir.path().join("done.html")).unwrap();
    assert!(
        done.contains("recorded") && done.contains("revoked"),
        "{done}"
    );
    let again = std::fs::read_to_string(dir.path().join("again.html")).unwrap();
    assert!(again.contains("already answered"), "{again}");
    assert_eq!(h.alert(id).await.unwrap().answer, Some(Answer::NotMe));
    let b = h.verify_at(user, PW, LAGOS).await;
    assert_eq!(b["reason"], "access_denied", "{b}");

    // The README's screenshot, when asked for.
    if std::env::var_os("WARDEN_UPDATE_DOCS").is_some() {
        let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/answer-page.png");
        std::fs::copy(dir.path().join("view-en.png"), docs).unwrap();
    }
}

#[tokio::test]
async fn a_sign_in_login_protection_held_back_asks_the_user_and_yes_lets_the_client_in() {
    // Login protection refuses a correct password from Lagos to a mail
    // client that cannot prompt; the user is asked at once (an alert of its
    // own, with the answer links), and "yes, it was me" lets that client in
    // from there. An attack's failures never take an answer (see
    // `answerable`), but a held sign-in had the right password.
    let h = Harness::start_protected().await;
    let user = "held@acme.test";
    h.settled_user(user).await;
    let b = h.verify_at(user, PW, LAGOS).await;
    assert_eq!(b["reason"], "verification_required", "{b}");
    h.state.service.raise_alerts().await.unwrap();
    let (s, list) = h.get(&format!("/v1/alerts?user={user}")).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let held: Vec<&Value> = list["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "sign_in_held")
        .collect();
    assert_eq!(held.len(), 1, "{list}");
    assert_eq!(held[0]["notify_user"], true, "{list}");
    assert_eq!(held[0]["succeeded"], false, "{list}");
    let id = held[0]["id"].as_i64().unwrap();
    // Reconnects from the same place fold into that one alert.
    for _ in 0..5 {
        h.advance(60);
        let b = h.verify_at(user, PW, LAGOS).await;
        assert_eq!(b["reason"], "verification_required", "{b}");
    }
    h.state.service.raise_alerts().await.unwrap();
    let (_, list) = h.get(&format!("/v1/alerts?user={user}")).await;
    let count = list["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "sign_in_held")
        .count();
    assert_eq!(count, 1, "{list}");

    let path = h.answer_path(id);
    let (s, html) = h.page(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    let (s, html) = h
        .page(
            Method::POST,
            &path,
            Some(&[("token", token_of(&path)), ("choice", "it_was_me")]),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    h.advance(60);
    let b = h.verify_at(user, PW, LAGOS).await;
    assert_eq!(b["result"], "ok", "{b}");
}
