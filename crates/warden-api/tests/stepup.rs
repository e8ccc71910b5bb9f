//! Login protection's emailed codes and operation protection over HTTP: a
//! real SMTP server (Python aiosmtpd on a loopback port) receives the
//! codes, parsed back with Python's `email`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use warden_api::ApiConfig;
use warden_core::{AccountPolicy, ChannelKind, ProtectionLevel};
use warden_service::notify::{Channel, NotifySettings, Smtp, SmtpSecurity};
use warden_service::policies::Policies;

use super::{Harness, KEY};

const SMTP_SERVER: &str = r#"
import sys, time, pathlib
from aiosmtpd.controller import Controller

out = pathlib.Path(sys.argv[1])
class Save:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Save.n += 1
        (out / f"{Save.n:04}.eml").write_bytes(envelope.original_content)
        (out / f"{Save.n:04}.rcpt").write_text(",".join(envelope.rcpt_tos))
        return "250 OK"

c = Controller(Save(), hostname="127.0.0.1", port=int(sys.argv[2]))
c.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"#;

const PARSE_MAIL: &str = r#"
import sys, json, email
from email import policy
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=policy.default)
print(json.dumps({"subject": m["subject"], "to": m["to"],
    "text": m.get_body(("plain",)).get_content()}))
"#;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Inbox {
    dir: PathBuf,
    parse: PathBuf,
    port: u16,
    _server: Proc,
    _tmp: tempfile::TempDir,
}

impl Inbox {
    fn start() -> Inbox {
        let tmp = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tmp.path().join("inbox");
        std::fs::create_dir(&dir).unwrap();
        let server = tmp.path().join("smtp.py");
        std::fs::write(&server, SMTP_SERVER).unwrap();
        let parse = tmp.path().join("parse.py");
        std::fs::write(&parse, PARSE_MAIL).unwrap();
        let mut child = Command::new("python3")
            .arg(&server)
            .args([dir.to_str().unwrap(), &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "aiosmtpd did not start");
        Inbox {
            dir,
            parse,
            port,
            _server: Proc(child),
            _tmp: tmp,
        }
    }

    fn mails(&self) -> Vec<Value> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        v.sort();
        v.iter().map(|p| parse(&self.parse, p)).collect()
    }

    /// The six-digit code of the newest mail.
    fn last_code(&self) -> String {
        let mails = self.mails();
        let text = mails.last().expect("a mail")["text"]
            .as_str()
            .unwrap()
            .to_string();
        let start = text.find("code is ").expect("the code line") + "code is ".len();
        text[start..start + 6].to_string()
    }

    fn notify(&self) -> NotifySettings {
        NotifySettings {
            channels: vec![Channel {
                name: "mail".into(),
                kind: ChannelKind::Email,
                smtp: Some(Smtp {
                    host: "127.0.0.1".into(),
                    port: self.port,
                    security: SmtpSecurity::Plain,
                    username: None,
                    password: None,
                    from: "Warden <warden@example.com>".into(),
                }),
                url: None,
                secret: None,
                timeout: Duration::from_secs(5),
            }],
            user_email_channel: Some("mail".into()),
            ..NotifySettings::default()
        }
    }
}

fn parse(script: &Path, eml: &Path) -> Value {
    let out = Command::new("python3")
        .arg(script)
        .arg(eml)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn harness(notify: NotifySettings, policy: AccountPolicy) -> Harness {
    Harness::start_custom(
        ApiConfig {
            api_keys: vec![KEY.into()],
            max_body_bytes: 4096,
            ..ApiConfig::default()
        },
        Harness::test_auth(),
        Default::default(),
        Default::default(),
        notify,
        Policies::with_default(policy),
    )
    .await
}

impl Harness {
    /// Any method with the user's session in `X-Warden-Session`.
    async fn as_session(
        &self,
        method: Method,
        path: &str,
        session: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(KEY);
        if let Some(s) = session {
            r = r.header("X-Warden-Session", s);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn web_login(&self, user: &str, password: &str, ip: &str) -> Value {
        let (s, b) = self
            .post(
                "/v1/auth/login",
                json!({"user": user, "password": password, "ip": ip}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }

    async fn security_kinds(&self, user: &str) -> Vec<String> {
        let (_, b) = self.get(&format!("/v1/users/{user}/security-events")).await;
        b["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    }

    async fn codes_of(&self, user: &str) -> usize {
        let (_, b) = self.get(&format!("/v1/users/{user}/app-passwords")).await;
        b["app_passwords"].as_array().unwrap().len()
    }
}

const ANN: &str = "ann@example.com";
const PASSWORD: &str = "violet-harbour-lantern-42";
const HOME: &str = "113.88.1.10";
const SHANGHAI: &str = "101.80.1.1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_login_from_a_new_city_is_verified_by_a_code_at_the_security_email() {
    let inbox = Inbox::start();
    let h = harness(
        inbox.notify(),
        AccountPolicy {
            login_protection: ProtectionLevel::NewCity,
            step_up_minutes: 10,
            ..AccountPolicy::default()
        },
    )
    .await;
    let (s, b) = h
        .post(
            "/v1/users",
            json!({"user": ANN, "password": PASSWORD, "email": "ann.sec@example.org"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    h.history_at(ANN, HOME, 8).await;

    // From home: no code.
    let home = h.web_login(ANN, PASSWORD, HOME).await;
    assert_eq!(home["status"], "ok", "{home}");
    assert!(inbox.mails().is_empty());

    // Shanghai is a new region for Ann, which the engine alone would
    // allow: at `new_city` a correct password is not enough.
    h.advance(4 * 3600);
    let first = h.web_login(ANN, PASSWORD, SHANGHAI).await;
    assert_eq!(first["status"], "email_code_required", "{first}");
    assert_eq!(first["code_sent_to"], "a***@example.org");
    assert_eq!(first["challenge"], "risk");
    assert_eq!(first["decision"], "allow", "{first}");
    assert!(first["session_token"].is_null());
    let mails = inbox.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["to"], "ann.sec@example.org");
    let text = mails[0]["text"].as_str().unwrap();
    assert!(
        text.contains("to finish signing in to ann@example.com"),
        "{text}"
    );
    assert!(text.contains("(101.80.1.1)"), "{text}");
    let code = inbox.last_code();
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{code}");

    // A wrong code fails the login (one code per login token).
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (s, b) = h
        .post(
            "/v1/auth/login",
            json!({"user": ANN, "ip": SHANGHAI, "login_token": first["login_token"], "code": wrong}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (&b["status"], &b["reason"]),
        (&json!("fail"), &json!("invalid_code"))
    );
    // The token is used up: the right code no longer works with it.
    let (s, _) = h
        .post(
            "/v1/auth/login",
            json!({"user": ANN, "ip": SHANGHAI, "login_token": first["login_token"], "code": code}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Again, with the new code: logged in, and the place is learned.
    let second = h.web_login(ANN, PASSWORD, SHANGHAI).await;
    assert_eq!(second["status"], "email_code_required", "{second}");
    assert_eq!(inbox.mails().len(), 2);
    let code = inbox.last_code();
    let (s, ok) = h
        .post(
            "/v1/auth/login",
            json!({"user": ANN, "ip": SHANGHAI, "login_token": second["login_token"], "code": code}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{ok}");
    assert_eq!(ok["status"], "ok", "{ok}");
    assert_eq!(ok["alert"], false, "a verified login is the user's own");
    let session = ok["session_token"].as_str().unwrap().to_string();
    h.advance(3600);
    let again = h.web_login(ANN, PASSWORD, SHANGHAI).await;
    assert_eq!(again["status"], "ok", "Shanghai is known now: {again}");
    assert_eq!(inbox.mails().len(), 2);

    // The emailed code was a step-up of that session: an authorization code
    // may be created with it for 10 minutes, then a new step-up is needed.
    h.advance(-3600);
    let (s, b) = h
        .as_session(
            Method::POST,
            &format!("/v1/users/{ANN}/app-passwords"),
            Some(&session),
            Some(json!({"name": "Foxmail"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    h.advance(11 * 60);
    let (s, b) = h
        .as_session(
            Method::POST,
            &format!("/v1/users/{ANN}/app-passwords"),
            Some(&session),
            Some(json!({"name": "Outlook"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(b["error"]["code"], "step_up_required");
    assert_eq!(
        h.codes_of(ANN).await,
        1,
        "a refused creation creates nothing"
    );
    let (s, start) = h
        .as_session(Method::POST, "/v1/auth/step-up/start", Some(&session), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{start}");
    assert_eq!(start["method"], "email");
    assert_eq!(start["sent_to"], "a***@example.org");
    let mails = inbox.mails();
    assert_eq!(mails.len(), 3);
    let text = mails[2]["text"].as_str().unwrap();
    assert!(
        text.contains("to confirm a security change to ann@example.com"),
        "{text}"
    );
    let code = inbox.last_code();
    let (s, up) = h
        .as_session(
            Method::POST,
            "/v1/auth/step-up",
            Some(&session),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{up}");
    assert_eq!(up["method"], "email");
    let (s, b) = h
        .as_session(
            Method::POST,
            &format!("/v1/users/{ANN}/app-passwords"),
            Some(&session),
            Some(json!({"name": "Outlook"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // The emailed code works once.
    let (s, b) = h
        .as_session(
            Method::POST,
            "/v1/auth/step-up",
            Some(&session),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "invalid_code");

    let kinds = h.security_kinds(ANN).await;
    for k in [
        "verification_code_sent",
        "verification_code_failed",
        "step_up_refused",
        "step_up_passed",
        "app_password_created",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
}

#[tokio::test]
async fn operation_protection_refuses_sensitive_changes_without_a_fresh_step_up() {
    // No email channel: an account without TOTP steps up with its password.
    let h = harness(
        NotifySettings::default(),
        AccountPolicy {
            step_up_minutes: 5,
            ..AccountPolicy::default()
        },
    )
    .await;
    for user in [ANN, "bob@example.com"] {
        let (s, b) = h
            .post("/v1/users", json!({"user": user, "password": PASSWORD}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let login = h.web_login(ANN, PASSWORD, HOME).await;
    assert_eq!(login["status"], "ok", "{login}");
    let session = login["session_token"].as_str().unwrap().to_string();
    let bob = h.web_login("bob@example.com", PASSWORD, HOME).await;
    let bob_session = bob["session_token"].as_str().unwrap().to_string();
    h.advance(6 * 60);

    let create = |session: Option<String>| {
        let h = &h;
        async move {
            h.as_session(
                Method::POST,
                &format!("/v1/users/{ANN}/app-passwords"),
                session.as_deref(),
                Some(json!({"name": "Foxmail"})),
            )
            .await
        }
    };
    // Without a session, with another user's, with a stale step-up: 403.
    for session in [None, Some(bob_session.clone()), Some(session.clone())] {
        let (s, b) = create(session).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        assert_eq!(b["error"]["code"], "step_up_required", "{b}");
        assert!(
            b["error"]["message"]
                .as_str()
                .unwrap()
                .contains("creating an authorization code needs a fresh verification"),
            "{b}"
        );
    }
    assert_eq!(h.codes_of(ANN).await, 0);
    // The user's password change too; an admin's reset is no user operation.
    let (s, b) = h
        .as_session(
            Method::PUT,
            &format!("/v1/users/{ANN}/password"),
            Some(&session),
            Some(json!({"password": "another-long-passphrase-7", "current_password": PASSWORD})),
        )
        .await;
    assert_eq!(
        (s, &b["error"]["code"]),
        (StatusCode::FORBIDDEN, &json!("step_up_required")),
        "{b}"
    );
    let (s, b) = h
        .as_session(
            Method::PUT,
            &format!("/v1/users/{ANN}/security-contact"),
            Some(&session),
            Some(json!({"email": "evil@example.net"})),
        )
        .await;
    assert_eq!(
        (s, &b["error"]["code"]),
        (StatusCode::FORBIDDEN, &json!("step_up_required")),
        "{b}"
    );
    let (_, account) = h.get(&format!("/v1/users/{ANN}")).await;
    assert!(account["email"].is_null(), "{account}");

    // A step-up needs a live session.
    let (s, b) = h
        .as_session(
            Method::POST,
            "/v1/auth/step-up/start",
            Some("no-such-session"),
            None,
        )
        .await;
    assert_eq!(
        (s, &b["error"]["code"]),
        (StatusCode::FORBIDDEN, &json!("session_required")),
        "{b}"
    );
    let (s, start) = h
        .as_session(Method::POST, "/v1/auth/step-up/start", Some(&session), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{start}");
    assert_eq!(start["method"], "password");
    let (s, b) = h
        .as_session(
            Method::POST,
            "/v1/auth/step-up",
            Some(&session),
            Some(json!({"password": "not-the-password"})),
        )
        .await;
    assert_eq!(
        (s, &b["error"]["code"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("wrong_password")),
        "{b}"
    );
    let (s, up) = h
        .as_session(
            Method::POST,
            "/v1/auth/step-up",
            Some(&session),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{up}");
    assert_eq!(up["method"], "password");

    let (s, b) = create(Some(session.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = h
        .as_session(
            Method::PUT,
            &format!("/v1/users/{ANN}/security-contact"),
            Some(&session),
            Some(json!({"email": "ann.sec@example.org"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["email"], "ann.sec@example.org");
    // Bob's session stepped up at his login does not reach Ann's account.
    let (s, _) = create(Some(bob_session)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let kinds = h.security_kinds(ANN).await;
    for k in [
        "step_up_refused",
        "verification_code_failed",
        "step_up_passed",
        "account_updated",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    // An admin reset (no current password) needs no step-up.
    let (s, b) = h
        .call(
            Method::PUT,
            &format!("/v1/users/{ANN}/password"),
            Some(json!({"password": "admin-chosen-passphrase-9"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// `POST /v1/auth/verify` for an IMAP client.
async fn imap(h: &Harness, ip: &str, client: &str) -> Value {
    let (s, b) = h
        .post(
            "/v1/auth/verify",
            json!({"user": ANN, "password": PASSWORD, "protocol": "imap", "ip": ip, "tls": true, "user_agent": client}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

#[tokio::test]
async fn each_level_protects_what_it_says_for_a_mail_client() {
    for (level, new_city, new_client) in [
        (ProtectionLevel::Off, "ok", "ok"),
        (ProtectionLevel::Challenged, "ok", "ok"),
        (ProtectionLevel::NewCity, "fail", "ok"),
        (ProtectionLevel::NewCityOrDevice, "fail", "fail"),
    ] {
        let h = harness(
            NotifySettings::default(),
            AccountPolicy {
                login_protection: level,
                ..AccountPolicy::default()
            },
        )
        .await;
        let (s, b) = h
            .post("/v1/users", json!({"user": ANN, "password": PASSWORD}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        for _ in 0..8 {
            let b = imap(&h, HOME, "Thunderbird 128.5").await;
            assert_eq!(b["result"], "ok", "{level}: {b}");
            h.advance(86_400);
        }
        // A new region the engine allows.
        h.advance(4 * 3600);
        let far = imap(&h, SHANGHAI, "Thunderbird 128.5").await;
        assert_eq!(far["decision"], "allow", "{level}: {far}");
        assert_eq!(far["result"], new_city, "{level}: {far}");
        if new_city == "fail" {
            assert_eq!(far["reason"], "verification_required");
            assert_eq!(
                far["message"],
                "Unusual login (from Shanghai, CN): sign in to webmail and confirm it was you, then try again."
            );
        }
        // A new mail program at home.
        h.advance(3600);
        let other = imap(&h, HOME, "Foxmail 7.2.25").await;
        assert_eq!(other["decision"], "allow", "{level}: {other}");
        assert_eq!(other["result"], new_client, "{level}: {other}");
        if new_client == "fail" {
            assert_eq!(
                other["message"],
                "This login needs verification: sign in to webmail and confirm it was you, then try again."
            );
        }
    }
}

#[tokio::test]
async fn an_admin_confirms_a_refused_sign_in_for_the_user() {
    let h = harness(
        NotifySettings::default(),
        AccountPolicy {
            login_protection: ProtectionLevel::NewCity,
            ..AccountPolicy::default()
        },
    )
    .await;
    let (s, b) = h
        .post("/v1/users", json!({"user": ANN, "password": PASSWORD}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    h.history_at(ANN, HOME, 8).await;
    for _ in 0..2 {
        let far = imap(&h, SHANGHAI, "Thunderbird 128.5").await;
        assert_eq!(far["reason"], "verification_required", "{far}");
        h.advance(60);
    }
    // A wrong password from there is no sign-in to confirm.
    let (_, wrong) = h
        .post(
            "/v1/auth/verify",
            json!({"user": ANN, "password": "guess", "protocol": "imap", "ip": SHANGHAI, "tls": true}),
        )
        .await;
    assert_eq!(wrong["reason"], "wrong_password");
    let (s, list) = h.get(&format!("/v1/users/{ANN}/refused-sign-ins")).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let sign_ins = list["sign_ins"].as_array().unwrap();
    assert_eq!(sign_ins.len(), 1, "one per address and client: {list}");
    assert_eq!(sign_ins[0]["city"], "Shanghai");
    let id = sign_ins[0]["id"].as_i64().unwrap();
    // Another user's id, or none: 404, nothing confirmed.
    let (s, _) = h
        .post(
            &format!("/v1/users/bob@example.com/refused-sign-ins/{id}/confirm"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = h
        .post(
            &format!("/v1/users/{ANN}/refused-sign-ins/{}/confirm", id + 1000),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        imap(&h, SHANGHAI, "Thunderbird 128.5").await["result"],
        "fail"
    );

    let (s, b) = h
        .post(
            &format!("/v1/users/{ANN}/refused-sign-ins/{id}/confirm"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let ok = imap(&h, SHANGHAI, "Thunderbird 128.5").await;
    assert_eq!(ok["result"], "ok", "{ok}");
    let (_, list) = h.get(&format!("/v1/users/{ANN}/refused-sign-ins")).await;
    assert!(list["sign_ins"].as_array().unwrap().is_empty(), "{list}");
    let (_, events) = h.get(&format!("/v1/users/{ANN}/security-events")).await;
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "sign_in_confirmed" && e["actor"] == "admin"),
        "{events}"
    );
}
