//! Accounts and credentials over HTTP: every verify reason (table-driven),
//! authorization codes, TOTP with replay refusal and single-use recovery
//! codes, the web login with its second factor, lockout and unlock, bulk
//! import, user enumeration, and diagnosis.

use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use warden_api::credentials::AuthSettings;
use warden_api::ApiConfig;
use warden_auth::{Totp, TotpSecret};
use warden_core::Timestamp;

use super::{Harness, T0};

const PW: &str = "correct horse battery staple";
const SHENZHEN: &str = "113.88.1.10";
const LAGOS: &str = "105.112.7.7";

impl Harness {
    async fn create(&self, body: Value) -> Value {
        let (s, b) = self.post("/v1/users", body).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b
    }

    async fn verify(
        &self,
        user: &str,
        password: &str,
        protocol: &str,
        ip: &str,
        tls: bool,
    ) -> Value {
        let (s, b) = self
            .post(
                "/v1/auth/verify",
                json!({"user": user, "password": password, "protocol": protocol, "ip": ip, "tls": tls}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }

    fn now(&self) -> Timestamp {
        Timestamp(self.clock.0.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// Enrols and confirms TOTP; returns the generator and recovery codes.
    async fn enable_totp(&self, user: &str) -> (Totp, Vec<String>) {
        let (s, e) = self
            .post(&format!("/v1/users/{user}/totp"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{e}");
        let totp = Totp::new(TotpSecret::from_base32(e["secret"].as_str().unwrap()).unwrap());
        assert!(e["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/"));
        assert!(e["qr_svg"].as_str().unwrap().contains("<svg"));
        let code = totp.code_now(self.now());
        let (s, r) = self
            .post(
                &format!("/v1/users/{user}/totp/confirm"),
                json!({"code": code}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let recovery: Vec<String> = r["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        assert_eq!(recovery.len(), 10);
        // The confirming code's step is used: wait for the next one.
        self.advance(30);
        (totp, recovery)
    }

    async fn app_password(&self, user: &str, protocols: Value) -> String {
        let (s, b) = self
            .post(
                &format!("/v1/users/{user}/app-passwords"),
                json!({"name": "Foxmail on office PC", "protocols": protocols}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["code"].as_str().unwrap().to_string()
    }
}

#[tokio::test]
async fn every_verify_reason_reaches_the_client_with_its_imap_code() {
    let h = Harness::start_protected().await;
    h.create(json!({"user": "bob@acme.test", "password": PW}))
        .await;
    h.create(json!({"user": "alice@acme.test", "password": PW}))
        .await;
    h.enable_totp("alice@acme.test").await;
    let imap_only = h.app_password("alice@acme.test", json!(["imap"])).await;
    h.create(json!({"user": "carol@acme.test", "password": PW}))
        .await;
    h.post(
        "/v1/users/carol@acme.test/disable",
        json!({"reason": "left the company"}),
    )
    .await;
    h.create(json!({"user": "dave@acme.test", "password": PW}))
        .await;
    h.post("/v1/users/dave@acme.test/lock", json!({})).await;
    h.create(json!({"user": "erin@acme.test", "password": PW, "must_change_password": true}))
        .await;
    // Bob's usual place is Shenzhen.
    h.history_at("bob@acme.test", SHENZHEN, 12).await;

    let spaced = imap_only.to_uppercase();
    // (user, secret, protocol, ip, tls, expected reason, expected IMAP code)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        bool,
        Option<&'a str>,
        Option<&'a str>,
    );
    let cases: &[Case] = &[
        ("bob@acme.test", PW, "imap", SHENZHEN, true, None, None),
        ("Bob@Acme.test", PW, "pop3", SHENZHEN, true, None, None),
        (
            "bob@acme.test",
            "wrong password!",
            "imap",
            SHENZHEN,
            true,
            Some("wrong_password"),
            Some("AUTHENTICATIONFAILED"),
        ),
        (
            "nobody@acme.test",
            PW,
            "imap",
            SHENZHEN,
            true,
            Some("wrong_password"),
            Some("AUTHENTICATIONFAILED"),
        ),
        (
            "bob@acme.test",
            PW,
            "pop3",
            SHENZHEN,
            false,
            Some("tls_required"),
            Some("PRIVACYREQUIRED"),
        ),
        (
            "alice@acme.test",
            PW,
            "imap",
            SHENZHEN,
            true,
            Some("app_password_required"),
            Some("ALERT"),
        ),
        (
            "alice@acme.test",
            &imap_only,
            "imap",
            SHENZHEN,
            true,
            None,
            None,
        ),
        (
            "alice@acme.test",
            &spaced,
            "imap",
            SHENZHEN,
            true,
            None,
            None,
        ),
        (
            "alice@acme.test",
            &imap_only,
            "smtp",
            SHENZHEN,
            true,
            Some("protocol_not_allowed"),
            Some("AUTHORIZATIONFAILED"),
        ),
        (
            "carol@acme.test",
            PW,
            "imap",
            SHENZHEN,
            true,
            Some("account_disabled"),
            Some("CONTACTADMIN"),
        ),
        (
            "dave@acme.test",
            PW,
            "imap",
            SHENZHEN,
            true,
            Some("account_locked"),
            Some("CONTACTADMIN"),
        ),
        (
            "erin@acme.test",
            PW,
            "imap",
            SHENZHEN,
            true,
            Some("password_expired"),
            Some("EXPIRED"),
        ),
        // Minutes after a login at home: impossible travel, denied.
        (
            "bob@acme.test",
            PW,
            "imap",
            LAGOS,
            true,
            Some("deny_risk"),
            Some("AUTHENTICATIONFAILED"),
        ),
    ];
    for &(user, pw, protocol, ip, tls, reason, imap) in cases {
        let b = h.verify(user, pw, protocol, ip, tls).await;
        let case = format!("{user} {protocol} from {ip} tls={tls}: {b}");
        assert_eq!(
            b["result"],
            if reason.is_none() { "ok" } else { "fail" },
            "{case}"
        );
        assert_eq!(b["reason"].as_str(), reason, "{case}");
        assert_eq!(b["imap_code"].as_str(), imap, "{case}");
        if reason.is_some() {
            assert!(!b["message_en"].as_str().unwrap().is_empty(), "{case}");
            assert!(!b["message_zh"].as_str().unwrap().is_empty(), "{case}");
        }
        h.advance(60);
    }
    let b = h
        .verify("alice@acme.test", PW, "imap", SHENZHEN, true)
        .await;
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("authorization code"),
        "{b}"
    );

    // Days later, the same place is merely unusual: step-up, which a mail
    // client cannot do.
    h.advance(3 * 86_400);
    let b = h.verify("bob@acme.test", PW, "imap", LAGOS, true).await;
    assert_eq!(b["reason"], "verification_required", "{b}");
    assert_eq!(b["imap_code"], "ALERT");
    assert!(b["message_en"].as_str().unwrap().contains("Lagos"), "{b}");
}

#[tokio::test]
async fn without_login_protection_a_challenged_mail_login_succeeds_with_an_alert() {
    // The same login as above with protection off (the default): the mail
    // client logs in, and the answer and the history carry the alert.
    let h = Harness::start().await;
    h.create(json!({"user": "bob@acme.test", "password": PW}))
        .await;
    h.history_at("bob@acme.test", SHENZHEN, 12).await;
    h.advance(3 * 86_400);
    let b = h.verify("bob@acme.test", PW, "imap", LAGOS, true).await;
    assert_eq!(b["decision"], "challenge", "{b}");
    assert_eq!(b["result"], "ok", "{b}");
    assert_eq!(b["alert"], true, "{b}");
    let (_, hist) = h.get("/v1/users/bob@acme.test/history?limit=1").await;
    let last = &hist["events"][0];
    assert_eq!(last["outcome"], "success", "{hist}");
    assert_eq!(last["alert"], true, "{hist}");

    // Wrong of a different kind: a datacenter source spraying many accounts
    // is denied before any password is checked.
    for i in 0..40 {
        h.verify(
            &format!("victim{i}@acme.test"),
            "Summer2026!",
            "imap",
            "3.1.1.1",
            true,
        )
        .await;
    }
    let b = h.verify("bob@acme.test", PW, "imap", "3.1.1.1", true).await;
    assert_eq!(b["reason"], "deny_risk", "{b}");
    assert_eq!(b["imap_code"], "AUTHENTICATIONFAILED");
}

#[tokio::test]
async fn a_client_repeating_one_stale_password_does_not_lock_its_owner_out() {
    // A phone with an old password retries it every few minutes: one
    // guess, not five, so the owner's right password still works from
    // there (as with Dovecot's policy and its pwhash).
    let h = Harness::start().await;
    h.create(json!({"user": "bob@acme.test", "password": PW}))
        .await;
    for _ in 0..8 {
        let b = h
            .verify("bob@acme.test", "the old password", "pop3", SHENZHEN, true)
            .await;
        assert_eq!(b["reason"], "wrong_password", "{b}");
        h.advance(10);
    }
    let b = h.verify("bob@acme.test", PW, "pop3", SHENZHEN, true).await;
    assert_eq!(b["result"], "ok", "{b}");
    // Different guesses from there still count each.
    for i in 0..5 {
        h.verify(
            "bob@acme.test",
            &format!("guess {i}"),
            "pop3",
            SHENZHEN,
            true,
        )
        .await;
        h.advance(10);
    }
    let b = h.verify("bob@acme.test", PW, "pop3", SHENZHEN, true).await;
    assert_eq!(b["reason"], "locked_by_risk_control", "{b}");
}

#[tokio::test]
async fn five_failures_from_one_ip_lock_it_out_until_an_admin_unlocks() {
    let h = Harness::start().await;
    h.create(json!({"user": "bob@acme.test", "password": PW}))
        .await;
    for i in 0..5 {
        let b = h
            .verify(
                "bob@acme.test",
                &format!("guess {i}"),
                "imap",
                SHENZHEN,
                true,
            )
            .await;
        assert_eq!(b["reason"], "wrong_password", "{b}");
        h.advance(10);
    }
    // Now even the right password is refused from that address, with the time.
    let b = h.verify("bob@acme.test", PW, "imap", SHENZHEN, true).await;
    assert_eq!(b["reason"], "locked_by_risk_control", "{b}");
    assert_eq!(b["imap_code"], "CONTACTADMIN");
    assert!(b["until"].as_str().is_some(), "{b}");
    assert!(b["message_en"].as_str().unwrap().contains(SHENZHEN), "{b}");
    // Another address is not locked.
    let b = h
        .verify("bob@acme.test", PW, "imap", "120.230.1.1", true)
        .await;
    assert_eq!(b["result"], "ok", "{b}");

    // The helpdesk sees why.
    let (s, d) = h.get("/v1/users/bob@acme.test/diagnose").await;
    assert_eq!(s, StatusCode::OK);
    let text = d.to_string();
    assert!(text.contains("locked by risk control until"), "{d}");

    let (s, b) = h.post("/v1/users/bob@acme.test/unlock", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let b = h.verify("bob@acme.test", PW, "imap", SHENZHEN, true).await;
    assert_eq!(b["result"], "ok", "{b}");
}

#[tokio::test]
async fn codes_are_shown_once_revoked_by_a_password_change_and_listed_without_secrets() {
    let h = Harness::start().await;
    h.create(json!({"user": "bob@acme.test", "password": PW}))
        .await;
    let code = h
        .app_password("bob@acme.test", json!(["imap", "smtp"]))
        .await;
    let groups: Vec<&str> = code.split(' ').collect();
    assert_eq!(groups.len(), 4, "{code}");
    assert!(groups.iter().all(|g| g.len() == 4), "{code}");
    let b = h
        .verify("bob@acme.test", &code, "smtp", SHENZHEN, true)
        .await;
    assert_eq!(b["credential"], "app_password", "{b}");

    let (_, list) = h.get("/v1/users/bob@acme.test/app-passwords").await;
    let listed = list.to_string();
    assert!(
        !listed.contains(&code) && !listed.contains(&code.replace(' ', "")),
        "{list}"
    );
    assert_eq!(list["app_passwords"][0]["last_used_ip"], SHENZHEN, "{list}");

    // An admin reset revokes the codes (as Google does)...
    let (s, b) = h
        .call(
            Method::PUT,
            "/v1/users/bob@acme.test/password",
            Some(json!({"password": "a brand new passphrase"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["app_passwords_revoked"], 1);
    let b = h
        .verify("bob@acme.test", &code, "imap", SHENZHEN, true)
        .await;
    assert_eq!(b["reason"], "wrong_password", "{b}");
    // ...unless told otherwise.
    let code2 = h.app_password("bob@acme.test", json!(["imap"])).await;
    h.call(
        Method::PUT,
        "/v1/users/bob@acme.test/password",
        Some(json!({"password": "yet another passphrase", "keep_app_passwords": true})),
    )
    .await;
    assert_eq!(
        h.verify("bob@acme.test", &code2, "imap", SHENZHEN, true)
            .await["result"],
        "ok"
    );

    // Revoking one code; revoking it again is a 404.
    let (_, list) = h.get("/v1/users/bob@acme.test/app-passwords").await;
    let id = list["app_passwords"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["live"] == true)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/v1/users/bob@acme.test/app-passwords/{id}");
    assert_eq!(h.call(Method::DELETE, &path, None).await.0, StatusCode::OK);
    assert_eq!(
        h.call(Method::DELETE, &path, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.verify("bob@acme.test", &code2, "imap", SHENZHEN, true)
            .await["reason"],
        "wrong_password"
    );

    // A front end acting for the user passes the user's address.
    let r = h
        .http
        .delete(format!("{}/v1/users/bob@acme.test/app-passwords", h.base))
        .bearer_auth(super::KEY)
        .header("X-Client-IP", "120.230.9.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The security events tell the story, with where each came from, and
    // without secrets.
    let (_, ev) = h.get("/v1/users/bob@acme.test/security-events").await;
    assert_eq!(ev["events"][0]["kind"], "app_passwords_revoked_all", "{ev}");
    assert_eq!(ev["events"][0]["ip"], "120.230.9.9", "{ev}");
    assert_eq!(ev["events"][1]["ip"], "127.0.0.1", "{ev}");
    let kinds: Vec<&str> = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "account_created",
        "app_password_created",
        "password_reset",
        "app_passwords_revoked_all",
        "app_password_revoked",
    ] {
        assert!(kinds.contains(&k), "{k} missing in {kinds:?}");
    }
    assert!(!ev.to_string().contains("passphrase"));
}

#[tokio::test]
async fn the_password_policy_refuses_short_common_and_personal_passwords() {
    let h = Harness::start().await;
    h.post(
        "/v1/orgs",
        json!({"name": "acme", "display_name": "Acme Trading"}),
    )
    .await;
    for (pw, code) in [
        ("short1!", "password_too_short"),
        ("password1234", "password_common"),
        ("zhangwei-secret-2026", "password_contains_context"),
        ("acmetrading forever", "password_contains_context"),
    ] {
        let (s, b) = h
            .post(
                "/v1/users",
                json!({"user": "zhangwei@acme.test", "org": "acme", "password": pw}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{pw}: {b}");
        assert_eq!(b["error"]["code"], code, "{pw}: {b}");
    }
    // Nothing was created by the refusals.
    assert_eq!(
        h.get("/v1/users/zhangwei@acme.test").await.0,
        StatusCode::NOT_FOUND
    );
    let b = h
        .create(json!({"user": "zhangwei@acme.test", "org": "acme", "password": PW}))
        .await;
    assert_eq!(b["has_password"], true);
    assert!(b.get("password_hash").is_none());
    let (_, c) = h
        .post(
            "/v1/users/zhangwei@acme.test/password/check",
            json!({"password": "aaaaaaaaaaaa"}),
        )
        .await;
    assert_eq!(c["acceptable"], false, "{c}");
    assert_eq!(c["violation"], "password_repetitive", "{c}");
    assert!(!c["message_zh"].as_str().unwrap().is_empty(), "{c}");
    let (_, c) = h
        .post(
            "/v1/users/zhangwei@acme.test/password/check",
            json!({"password": "quiet-lantern-orbit-maple-42"}),
        )
        .await;
    assert_eq!(c["strength"]["grade"], "strong", "{c}");
    // Changing one's own password needs the current one.
    let (s, b) = h
        .call(
            Method::PUT,
            "/v1/users/zhangwei@acme.test/password",
            Some(json!({"password": "another good passphrase", "current_password": "guess"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "wrong_password");
}

#[tokio::test]
async fn totp_codes_work_once_and_recovery_codes_once_each() {
    let h = Harness::start().await;
    h.create(json!({"user": "alice@acme.test", "password": PW}))
        .await;
    let (totp, recovery) = h.enable_totp("alice@acme.test").await;

    // Web login: password, then the code.
    let login = |code: Option<String>, token: Option<String>| {
        let mut body = json!({"user": "alice@acme.test", "ip": SHENZHEN, "protocol": "web"});
        match (code, token) {
            (Some(c), Some(t)) => {
                body["code"] = json!(c);
                body["login_token"] = json!(t);
            }
            _ => body["password"] = json!(PW),
        }
        body
    };
    let (_, first) = h.post("/v1/auth/login", login(None, None)).await;
    assert_eq!(first["status"], "totp_required", "{first}");
    let token = first["login_token"].as_str().unwrap().to_string();
    let code = totp.code_now(h.now());
    let (_, ok) = h
        .post("/v1/auth/login", login(Some(code.clone()), Some(token)))
        .await;
    assert_eq!(ok["status"], "ok", "{ok}");
    let session = ok["session_token"].as_str().unwrap().to_string();
    assert!(session.len() >= 22, "at least 128 bits");
    let (s, who) = h
        .post("/v1/auth/session", json!({"session_token": session}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(who["user"], "alice@acme.test");

    // The same code (same time step) is refused the second time.
    let (_, again) = h.post("/v1/auth/login", login(None, None)).await;
    let token = again["login_token"].as_str().unwrap().to_string();
    let (_, replay) = h
        .post("/v1/auth/login", login(Some(code), Some(token.clone())))
        .await;
    assert_eq!(replay["status"], "fail", "{replay}");
    assert_eq!(replay["reason"], "invalid_code");
    // A login token is good for one code only.
    let (s, _) = h
        .post("/v1/auth/login", login(Some("000000".into()), Some(token)))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // A recovery code works once.
    for expected in ["ok", "fail"] {
        let (_, step) = h.post("/v1/auth/login", login(None, None)).await;
        let token = step["login_token"].as_str().unwrap().to_string();
        let (_, r) = h
            .post(
                "/v1/auth/login",
                login(Some(recovery[0].clone()), Some(token)),
            )
            .await;
        assert_eq!(r["status"], expected, "{r}");
    }

    // Turning 2FA off needs a valid code (or an admin).
    let (s, _) = h
        .call(
            Method::DELETE,
            "/v1/users/alice@acme.test/totp",
            Some(json!({"code": "123456"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    h.advance(30);
    let code = totp.code_now(h.now());
    let (s, b) = h
        .call(
            Method::DELETE,
            "/v1/users/alice@acme.test/totp",
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    // Without 2FA, the login password works over IMAP again.
    assert_eq!(
        h.verify("alice@acme.test", PW, "imap", SHENZHEN, true)
            .await["result"],
        "ok"
    );
}

#[tokio::test]
async fn a_risk_challenge_answered_with_totp_teaches_the_new_place() {
    let h = Harness::start().await;
    h.create(json!({"user": "alice@acme.test", "password": PW}))
        .await;
    h.history_at("alice@acme.test", SHENZHEN, 12).await;
    let (totp, _) = h.enable_totp("alice@acme.test").await;
    let body =
        json!({"user": "alice@acme.test", "password": PW, "ip": "81.2.69.10", "protocol": "web"});
    let (_, first) = h.post("/v1/auth/login", body.clone()).await;
    assert_eq!(first["status"], "totp_required", "{first}");
    assert_eq!(first["challenge"], "risk", "{first}");
    let token = first["login_token"].as_str().unwrap();
    let code = totp.code_now(h.now());
    let (_, ok) = h
        .post("/v1/auth/login", json!({"user": "alice@acme.test", "login_token": token, "code": code, "ip": "81.2.69.10"}))
        .await;
    assert_eq!(ok["status"], "ok", "{ok}");
    // London is now known: the engine no longer calls it an unusual country.
    h.advance(86_400);
    let (_, e) = h.evaluate("alice@acme.test", "81.2.69.10", "web").await;
    let codes = super::codes(&e);
    assert!(!codes.contains(&"unusual_country".to_string()), "{e}");
}

#[tokio::test]
async fn the_second_step_checks_its_own_request_and_a_password_to_change_is_no_way_round_protection(
) {
    let h = Harness::start_protected().await;
    h.create(json!({"user": "alice@acme.test", "password": PW}))
        .await;
    h.history_at("alice@acme.test", SHENZHEN, 12).await;
    let (totp, _) = h.enable_totp("alice@acme.test").await;
    let body =
        json!({"user": "alice@acme.test", "password": PW, "ip": "81.2.69.10", "protocol": "web"});
    let (_, first) = h.post("/v1/auth/login", body.clone()).await;
    let token = first["login_token"].as_str().unwrap();
    // An admin locks the account between the two steps: the lock ends the
    // waiting login, so the code opens no session; a new login is told why.
    h.post(
        "/v1/users/alice@acme.test/lock",
        json!({"reason": "compromised"}),
    )
    .await;
    let code = totp.code_now(h.now());
    let (s, second) = h
        .post("/v1/auth/login", json!({"user": "alice@acme.test", "login_token": token, "code": code, "ip": "81.2.69.10"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{second}");
    assert!(second["session_token"].is_null(), "{second}");
    let (_, again) = h.post("/v1/auth/login", body.clone()).await;
    assert_eq!(again["status"], "fail", "{again}");
    assert_eq!(again["reason"], "account_locked", "{again}");
    assert!(again["session_token"].is_null(), "{again}");

    // Bob has no TOTP and must change his password: from a new country
    // with protection on, the expired password opens no session.
    h.create(json!({"user": "bob@acme.test", "password": PW, "must_change_password": true}))
        .await;
    h.history_at("bob@acme.test", SHENZHEN, 12).await;
    h.advance(3 * 86_400);
    let (_, bob) = h
        .post(
            "/v1/auth/login",
            json!({"user": "bob@acme.test", "password": PW, "ip": "81.2.69.10", "protocol": "web"}),
        )
        .await;
    assert_eq!(bob["decision"], "challenge", "{bob}");
    assert_eq!(bob["status"], "fail", "{bob}");
    assert_eq!(bob["reason"], "verification_required", "{bob}");
    assert!(bob["session_token"].is_null(), "{bob}");
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_look_and_cost_the_same() {
    let h = Harness::start().await;
    h.create(json!({"user": "bob@acme.test", "password": PW}))
        .await;
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("risk");
        v
    };
    let a = strip(
        h.verify("bob@acme.test", "wrong one", "imap", SHENZHEN, true)
            .await,
    );
    let b = strip(
        h.verify("nobody@acme.test", "wrong one", "imap", SHENZHEN, true)
            .await,
    );
    assert_eq!(a, b);

    // Comparable time: medians of alternating runs within a factor of 3.
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..15 {
        for (user, into) in [
            ("bob@acme.test", &mut known),
            ("nobody@acme.test", &mut unknown),
        ] {
            let t = Instant::now();
            h.verify(
                user,
                &format!("guess {i}"),
                "imap",
                &format!("120.230.{i}.1"),
                true,
            )
            .await;
            into.push(t.elapsed().as_secs_f64());
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (k, u) = (median(&mut known), median(&mut unknown));
    assert!(
        k / u < 3.0 && u / k < 3.0,
        "known {k:.6}s vs unknown {u:.6}s"
    );
}

#[tokio::test]
async fn bulk_import_is_all_or_nothing_and_names_the_bad_line() {
    let h = Harness::start().await;
    let post_csv = |csv: &'static str| {
        h.http
            .post(format!("{}/v1/users/import", h.base))
            .bearer_auth(super::KEY)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
    };
    let r = post_csv("user,display_name,password\na@acme.test,A,correct horse battery staple\nb@acme.test,B,short\n").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("row 2"),
        "{body}"
    );
    assert_eq!(
        h.get("/v1/users/a@acme.test").await.0,
        StatusCode::NOT_FOUND
    );

    let r = post_csv("user,display_name,email,password\na@acme.test,\"Li, Ming\",a@mail.test,correct horse battery staple\nb@acme.test,B,,\n").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, a) = h.get("/v1/users/a@acme.test").await;
    assert_eq!(a["display_name"], "Li, Ming");
    assert_eq!(a["has_password"], true);
    let (_, b) = h.get("/v1/users/b@acme.test").await;
    assert_eq!(b["has_password"], false);
    // Importing an existing user conflicts, and creates nothing.
    let r = post_csv("user\nc@acme.test\na@acme.test\n").await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(
        h.get("/v1/users/c@acme.test").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post_csv("name\nx\n").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn diagnose_explains_a_stale_client_after_a_password_change_and_2fa() {
    let h = Harness::start().await;
    h.create(json!({"user": "bob@acme.test", "password": PW}))
        .await;
    let phone = |password: &str| {
        json!({"user": "bob@acme.test", "password": password, "protocol": "imap", "ip": "120.230.5.5",
               "tls": true, "device": "iPhone"})
    };
    assert_eq!(h.post("/v1/auth/verify", phone(PW)).await.1["result"], "ok");
    h.advance(3600);
    h.call(
        Method::PUT,
        "/v1/users/bob@acme.test/password",
        Some(json!({"password": "a brand new passphrase"})),
    )
    .await;
    for _ in 0..3 {
        h.advance(600);
        assert_eq!(
            h.post("/v1/auth/verify", phone(PW)).await.1["reason"],
            "wrong_password"
        );
    }
    let laptop = json!({"user": "bob@acme.test", "password": "a brand new passphrase", "protocol": "pop3",
                        "ip": SHENZHEN, "tls": false, "user_agent": "Foxmail 7.2"});
    assert_eq!(
        h.post("/v1/auth/verify", laptop).await.1["reason"],
        "tls_required"
    );

    let (s, d) = h.get("/v1/users/bob@acme.test/diagnose").await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let findings = d["findings"].as_array().unwrap();
    let iphone = findings
        .iter()
        .find(|f| f["client"].as_str().unwrap().starts_with("iPhone"))
        .expect("iPhone finding");
    assert_eq!(iphone["reason"], "wrong_password");
    assert_eq!(iphone["failures"], 3);
    let text = iphone["explanation"].as_str().unwrap();
    assert!(text.contains("since the password change on"), "{text}");
    assert!(
        text.contains("IMAP") && text.contains("Guangzhou"),
        "{text}"
    );
    let foxmail = findings
        .iter()
        .find(|f| f["client"].as_str().unwrap().starts_with("Foxmail"))
        .expect("Foxmail finding");
    assert_eq!(foxmail["reason"], "tls_required");
    assert!(
        foxmail["advice"].as_str().unwrap().contains("995"),
        "{foxmail}"
    );

    // 2FA on: the login password over IMAP is explained as such.
    h.enable_totp("bob@acme.test").await;
    h.post("/v1/auth/verify", phone("a brand new passphrase"))
        .await;
    let (_, d) = h.get("/v1/users/bob@acme.test/diagnose").await;
    let iphone = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["client"].as_str().unwrap().starts_with("iPhone"))
        .unwrap()
        .clone();
    assert_eq!(iphone["reason"], "app_password_required", "{d}");
    assert!(
        iphone["explanation"]
            .as_str()
            .unwrap()
            .contains("two-factor authentication was turned on on"),
        "{iphone}"
    );
    let _ = T0;
}

#[tokio::test]
async fn an_expired_password_works_in_its_grace_period_then_is_refused() {
    let mut auth = Harness::test_auth();
    auth.password.expiry_days = 90;
    auth.password.expiry_grace_days = 7;
    let h = Harness::start_full(
        warden_api::ApiConfig {
            api_keys: vec![super::KEY.into()],
            ..warden_api::ApiConfig::default()
        },
        auth,
    )
    .await;
    h.create(json!({"user": "bob@acme.test", "password": PW}))
        .await;
    h.advance(89 * 86_400);
    let b = h.verify("bob@acme.test", PW, "imap", SHENZHEN, true).await;
    assert_eq!(b["result"], "ok", "{b}");
    assert!(b["warning"].is_null(), "{b}");
    h.advance(2 * 86_400);
    let b = h.verify("bob@acme.test", PW, "imap", SHENZHEN, true).await;
    assert_eq!(b["result"], "ok", "{b}");
    assert_eq!(b["warning"], "password_expiring", "{b}");
    assert!(b["until"].as_str().is_some(), "{b}");
    h.advance(7 * 86_400);
    let b = h.verify("bob@acme.test", PW, "imap", SHENZHEN, true).await;
    assert_eq!(b["reason"], "password_expired", "{b}");
    assert_eq!(b["imap_code"], "EXPIRED");
}

#[tokio::test]
async fn a_hash_made_with_old_parameters_is_replaced_after_a_login() {
    let h = Harness::start().await;
    h.create(json!({"user": "bob@acme.test", "password": PW}))
        .await;
    // As if the hash had been made before a configuration change.
    let old = warden_auth::PasswordHasher::new(warden_auth::Argon2Params {
        memory_kib: 2048,
        iterations: 1,
        parallelism: 1,
    })
    .unwrap()
    .hash(PW)
    .unwrap();
    let store = &h.state.store;
    use warden_store::AccountStore;
    let mut account = store.account("bob@acme.test").await.unwrap().unwrap();
    account.password_hash = Some(old.clone());
    store
        .commit(&warden_store::AccountWrite {
            account: Some(account),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        h.verify("bob@acme.test", PW, "imap", SHENZHEN, true).await["result"],
        "ok"
    );
    // The re-hash runs in the background: wait for it (bounded).
    let mut current = old.clone();
    for _ in 0..200 {
        current = store
            .account("bob@acme.test")
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .unwrap();
        if current != old {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(current.contains("m=1024,"), "{current}");
    assert_eq!(
        h.verify("bob@acme.test", PW, "imap", SHENZHEN, true).await["result"],
        "ok"
    );
}

#[tokio::test]
async fn access_rules_refuse_before_the_password_is_checked() {
    let h = Harness::start().await;
    let mut policy = warden_core::Policy::default();
    policy.access.countries = vec!["CN".into()];
    policy.access.blocklist = vec!["120.230.66.0/24".into()];
    *h.state.engine.lock() = warden_core::Engine::new(policy).unwrap();
    h.create(json!({"user": "bob@acme.test", "password": PW}))
        .await;
    let b = h.verify("bob@acme.test", PW, "imap", LAGOS, true).await;
    assert_eq!(b["reason"], "access_denied", "{b}");
    assert_eq!(b["imap_code"], "AUTHORIZATIONFAILED");
    assert!(
        b["message_en"]
            .as_str()
            .unwrap()
            .contains("logins from Nigeria are not allowed"),
        "{b}"
    );
    assert!(
        b["message_zh"].as_str().unwrap().contains("尼日利亚"),
        "{b}"
    );
    // A wrong password gets the same answer: nothing is learned about it.
    let w = h
        .verify("bob@acme.test", "not it", "imap", LAGOS, true)
        .await;
    assert_eq!(w["reason"], "access_denied", "{w}");
    let b = h
        .verify("bob@acme.test", PW, "imap", "120.230.66.7", true)
        .await;
    assert_eq!(b["reason"], "access_denied", "{b}");
    assert!(
        b["message_en"].as_str().unwrap().contains("blocklist"),
        "{b}"
    );
    assert_eq!(
        h.verify("bob@acme.test", PW, "imap", SHENZHEN, true).await["result"],
        "ok"
    );
}

#[tokio::test]
async fn locking_or_disabling_an_account_ends_its_web_sessions_and_second_steps() {
    let h = Harness::start().await;
    let login =
        |user: &str| json!({"user": user, "ip": SHENZHEN, "protocol": "web", "password": PW});
    let session_of = |b: &Value| json!({"session_token": b["session_token"].as_str().unwrap()});
    for (user, action) in [("bob@acme.test", "lock"), ("carol@acme.test", "disable")] {
        h.create(json!({"user": user, "password": PW})).await;
        let (_, a) = h.post("/v1/auth/login", login(user)).await;
        let (_, b) = h.post("/v1/auth/login", login(user)).await;
        assert_eq!(a["status"], "ok", "{a}");
        for s in [&a, &b] {
            let (status, who) = h.post("/v1/auth/session", session_of(s)).await;
            assert_eq!(status, StatusCode::OK, "{who}");
        }
        let (s, r) = h
            .post(
                &format!("/v1/users/{user}/{action}"),
                json!({"reason": "compromised"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        for s in [&a, &b] {
            let (status, body) = h.post("/v1/auth/session", session_of(s)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{user} {action}: {body}");
        }
        // Unlocking or enabling again brings no old session back.
        let back = if action == "lock" { "unlock" } else { "enable" };
        h.post(&format!("/v1/users/{user}/{back}"), json!({})).await;
        let (status, _) = h.post("/v1/auth/session", session_of(&a)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{user} {back}");
        let (_, events) = h.get(&format!("/v1/users/{user}/security-events")).await;
        assert!(
            events["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["kind"] == "sessions_revoked"),
            "{events}"
        );
    }

    // A login waiting for its second factor is cut off too, even when the
    // account is unlocked before the code comes.
    h.create(json!({"user": "alice@acme.test", "password": PW}))
        .await;
    let (totp, _) = h.enable_totp("alice@acme.test").await;
    let (_, first) = h.post("/v1/auth/login", login("alice@acme.test")).await;
    assert_eq!(first["status"], "totp_required", "{first}");
    h.post("/v1/users/alice@acme.test/lock", json!({})).await;
    h.post("/v1/users/alice@acme.test/unlock", json!({})).await;
    let mut step = login("alice@acme.test");
    step["code"] = json!(totp.code_now(h.now()));
    step["login_token"] = first["login_token"].clone();
    let (s, b) = h.post("/v1/auth/login", step).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(b.to_string().contains("login_token"), "{b}");
}

impl Harness {
    /// A raw call: status, `Retry-After` (seconds) and the JSON body.
    async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Option<u64>, Value) {
        let r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(super::KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let retry = r
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().parse().unwrap());
        (status, retry, r.json().await.unwrap_or(Value::Null))
    }

    /// A web login's password step, then `code` as its second step, from
    /// an address of its own (a wrong code counts toward the address's
    /// lockout too).
    async fn web_code(&self, user: &str, code: String) -> (StatusCode, Option<u64>, Value) {
        let ip = format!("113.88.7.{}", self.now().secs() % 250);
        let (_, first) = self
            .post(
                "/v1/auth/login",
                json!({"user": user, "ip": ip, "protocol": "web", "password": PW}),
            )
            .await;
        assert_eq!(first["status"], "totp_required", "{first}");
        self.raw(
            Method::POST,
            "/v1/auth/login",
            json!({"user": user, "ip": ip, "protocol": "web",
                   "login_token": first["login_token"], "code": code}),
        )
        .await
    }

    async fn event_kinds(&self, user: &str) -> Vec<String> {
        let (_, e) = self.get(&format!("/v1/users/{user}/security-events")).await;
        e["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    }
}

#[tokio::test]
async fn wrong_codes_lock_every_code_path_for_a_while_and_each_is_recorded() {
    use warden_service::code_throttle::{CODE_FAILURES, CODE_LOCK_SECS};
    let h = Harness::start().await;
    let user = "alice@acme.test";
    h.create(json!({"user": user, "password": PW})).await;
    let (totp, recovery) = h.enable_totp(user).await;
    let totp_path = format!("/v1/users/{user}/totp");
    let codes_path = format!("/v1/users/{user}/recovery-codes");
    // Guessing through the switch-off path: each wrong code is refused
    // and recorded; the one that reaches the limit locks.
    for i in 0..CODE_FAILURES {
        let guess = format!("{:06}", 100_000 + i);
        let (s, retry, b) = h
            .raw(Method::DELETE, &totp_path, json!({"code": guess}))
            .await;
        assert_eq!((s, retry), (StatusCode::UNPROCESSABLE_ENTITY, None), "{b}");
        h.advance(1);
    }
    // The next code is not checked at all, not even the right one, on any
    // path: 429 with the time left.
    let right = totp.code_now(h.now());
    for (method, path, code) in [
        (Method::DELETE, &totp_path, "123456".to_string()),
        (Method::DELETE, &totp_path, right.clone()),
        (Method::POST, &codes_path, right.clone()),
    ] {
        let (s, retry, b) = h.raw(method, path, json!({"code": code})).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
        assert_eq!(b["error"]["code"], "too_many_attempts", "{b}");
        let retry = retry.expect("Retry-After");
        assert!(
            retry > CODE_LOCK_SECS as u64 - 30 && retry <= CODE_LOCK_SECS as u64,
            "{retry}"
        );
    }
    let (s, _, b) = h.web_code(user, recovery[0].clone()).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    let (s, _, b) = h.web_code(user, right.clone()).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    let kinds = h.event_kinds(user).await;
    let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
    assert_eq!(count("two_factor_code_failed"), CODE_FAILURES, "{kinds:?}");
    assert_eq!(count("two_factor_codes_locked"), 1, "{kinds:?}");
    assert_eq!(count("two_factor_disabled"), 0, "{kinds:?}");
    assert_eq!(count("recovery_code_used"), 0, "{kinds:?}");

    // The lock over, the right code works again.
    h.advance(CODE_LOCK_SECS);
    let (s, _, b) = h
        .raw(
            Method::POST,
            &codes_path,
            json!({"code": totp.code_now(h.now())}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let recovery: Vec<String> = b["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();

    // Guessing through the web login's second step locks the same way,
    // and a second lock lasts twice as long.
    h.advance(30);
    for i in 0..CODE_FAILURES {
        h.advance(1);
        let (s, _, b) = h.web_code(user, format!("{:06}", 200_000 + i)).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["reason"], "invalid_code", "{b}");
    }
    let (s, _, _) = h.web_code(user, recovery[0].clone()).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    h.advance(CODE_LOCK_SECS + 1);
    let (s, retry, _) = h.web_code(user, recovery[0].clone()).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.unwrap() <= CODE_LOCK_SECS as u64);
    h.advance(CODE_LOCK_SECS);
    let (s, _, b) = h.web_code(user, recovery[0].clone()).await;
    assert_eq!((s, &b["status"]), (StatusCode::OK, &json!("ok")), "{b}");
    let kinds = h.event_kinds(user).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|x| *x == "two_factor_code_failed")
            .count(),
        2 * CODE_FAILURES
    );
}

#[tokio::test]
async fn a_recovery_code_works_when_the_totp_secret_cannot_be_opened() {
    let h = Harness::start().await;
    let user = "alice@acme.test";
    h.create(json!({"user": user, "password": PW})).await;
    let (totp, recovery) = h.enable_totp(user).await;
    // The secret sealed with another key (a lost or replaced key file).
    use warden_store::AccountStore;
    let mut enrolment = h.state.store.totp(user).await.unwrap().unwrap();
    let other = warden_auth::SecretKey::generate();
    enrolment.sealed_secret = warden_auth::seal(&other, &[7; 20], user.as_bytes());
    h.state.store.put_totp(&enrolment).await.unwrap();
    let step = |code: &str, token: &Value| json!({"user": user, "ip": SHENZHEN, "protocol": "web", "login_token": token, "code": code});
    let password = json!({"user": user, "ip": SHENZHEN, "protocol": "web", "password": PW});
    // The TOTP code cannot be checked: refused (not a 500).
    let (_, first) = h.post("/v1/auth/login", password.clone()).await;
    let (s, b) = h
        .post(
            "/v1/auth/login",
            step(&totp.code_now(h.now()), &first["login_token"]),
        )
        .await;
    assert_eq!(
        (s, &b["reason"]),
        (StatusCode::OK, &json!("invalid_code")),
        "{b}"
    );
    // A recovery code still lets the owner in.
    let (_, first) = h.post("/v1/auth/login", password).await;
    let (s, b) = h
        .post("/v1/auth/login", step(&recovery[1], &first["login_token"]))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "ok", "{b}");
    assert!(b["session_token"].is_string(), "{b}");
}

#[tokio::test]
async fn strength_checks_wait_on_their_own_bounded_pool_while_evaluate_goes_on() {
    use warden_service::pool::PoolSize;
    let auth = AuthSettings {
        cpu_pool: PoolSize {
            threads: 1,
            queue: 1,
        },
        ..Harness::test_auth()
    };
    let h = Harness::start_full(
        ApiConfig {
            api_keys: vec![super::KEY.into()],
            max_body_bytes: 4096,
            ..ApiConfig::default()
        },
        auth,
    )
    .await;
    let user = "bob@acme.test";
    h.create(json!({"user": user, "password": PW})).await;
    // The pool's one thread is taken, and stays taken until released.
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (started, is_started) = tokio::sync::oneshot::channel();
    let occupant = {
        let state = h.state.clone();
        tokio::spawn(async move {
            state
                .credentials
                .cpu
                .run(move || {
                    started.send(()).unwrap();
                    held.recv().unwrap();
                })
                .await
        })
    };
    is_started.await.unwrap();

    // Four clients check crafted 128-character passwords at once: one
    // waits in the queue, three are refused at once with Retry-After.
    let crafted: String = "4@1!|3$5+70(<{[".repeat(9).chars().take(128).collect();
    let path = format!("/v1/users/{user}/password/check");
    let checks: Vec<_> = (0..4)
        .map(|i| {
            let (http, url) = (h.http.clone(), format!("{}{path}", h.base));
            let body =
                json!({"password": format!("{i}{crafted}").chars().take(128).collect::<String>()});
            tokio::spawn(async move {
                let r = http
                    .post(url)
                    .bearer_auth(super::KEY)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let retry = r.headers().get(reqwest::header::RETRY_AFTER).cloned();
                (r.status(), retry, r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut refused = 0;
    let mut waiting = Vec::new();
    for c in checks {
        // A refused check answers while the pool is still held.
        tokio::task::yield_now().await;
        waiting.push(c);
    }
    while refused < 3 {
        let mut still = Vec::new();
        for c in waiting {
            if c.is_finished() {
                let (s, retry, b) = c.await.unwrap();
                assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
                assert_eq!(b["error"]["code"], "busy", "{b}");
                assert_eq!(retry.unwrap(), "1");
                refused += 1;
            } else {
                still.push(c);
            }
        }
        waiting = still;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(waiting.len(), 1);
    let stats = h.state.credentials.cpu.stats();
    assert_eq!((stats.running, stats.waiting, stats.rejected), (1, 1, 3));

    // Logins are decided meanwhile, with the pool provably full.
    for i in 0..20 {
        let (s, b) = h
            .evaluate(&format!("user{i}@acme.test"), SHENZHEN, "imap")
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let b = h.verify(user, PW, "imap", SHENZHEN, true).await;
    assert_eq!(b["result"], "ok", "{b}");
    let stats = h.state.credentials.cpu.stats();
    assert_eq!((stats.running, stats.waiting), (1, 1), "still held");
    assert!(!waiting[0].is_finished());
    let metrics = h.text("/metrics").await;
    assert!(
        metrics.contains("warden_cpu_pool_rejected{pool=\"cpu\"} 3"),
        "{metrics}"
    );

    // Released, the queued check is graded.
    release.send(()).unwrap();
    occupant.await.unwrap().unwrap();
    let (s, _, b) = waiting.pop().unwrap().await.unwrap();
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["acceptable"], true, "{b}");
    assert!(b["strength"]["grade"].is_string(), "{b}");
}
