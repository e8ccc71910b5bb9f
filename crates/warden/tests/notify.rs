//! Alert mail through the real `warden serve` and a real SMTP server
//! (Python aiosmtpd): a foreign login reported over HTTP reaches its user
//! in their language with links that open the answer page; and a crash
//! between accepting an alert and sending it: the real `warden
//! serve` fans a committed alert out to its delivery, the SMTP relay is
//! down so the send fails and waits for a retry, and the process gets
//! SIGKILL. The relay (Python aiosmtpd) comes up, Warden restarts on the
//! same data folder, and the mail arrives exactly once, with the Message-ID
//! of its delivery. Then the CLI lists the delivery as sent.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const KEY: &str = "k-notify-crash-0123456789";

const SMTP_SERVER: &str = r#"
import sys, time, pathlib
from aiosmtpd.controller import Controller

out = pathlib.Path(sys.argv[1])
class Save:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Save.n += 1
        (out / f"{Save.n:04}.eml").write_bytes(envelope.original_content)
        return "250 OK"

c = Controller(Save(), hostname="127.0.0.1", port=int(sys.argv[2]))
c.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"#;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(dir: &std::path::Path, config: &std::path::Path, port: u16) -> Proc {
    Proc(
        super::warden_bin(dir)
            .env("WARDEN_SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("WARDEN_SERVER__API_KEYS", KEY)
            .env("WARDEN_LOG__FILTER", "warn")
            .arg("--config")
            .arg(config)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn get(base: &str, path: &str) -> Option<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .get(format!("{base}{path}"))
            .bearer_auth(KEY)
            .send()
            .await
            .ok()?;
        r.json().await.ok()
    })
}

/// Waits until `check` holds for the deliveries the API lists.
fn wait_deliveries(base: &str, what: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Some(v) = get(base, "/v1/deliveries") {
            let rows = v["deliveries"].as_array().cloned().unwrap_or_default();
            if check(&rows) {
                return rows;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

fn mails(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_kill_9_between_accepting_an_alert_and_sending_it_loses_nothing_and_mails_once() {
    let dir = super::data_dir_with_geo();
    let smtp_port = free_port();
    let config = dir.path().join("warden.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[notify]
user_email_channel = "mail"
retry_base_secs = 1
retry_max_secs = 2
max_attempts = 50
poll_interval_ms = 100

[[notify.channels]]
name = "mail"
kind = "email"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
smtp_security = "plain"
from = "Warden <warden@example.com>"
timeout_secs = 2
"#
        ),
    )
    .unwrap();
    // The schema, then an alert committed as the alert rules commit it.
    let (code, _, err) = super::output_of(
        super::warden_bin(dir.path())
            .arg("--config")
            .arg(&config)
            .arg("migrate"),
    );
    assert_eq!(code, Some(0), "{err}");
    // Stamped now: an alert older than the history's retention (180 days)
    // with no delivery yet is pruned by the upkeep at start-up.
    let now = jiff::Timestamp::now().as_second();
    let db = rusqlite::Connection::open(dir.path().join("warden.db")).unwrap();
    db.execute(
        "INSERT INTO alerts (kind, grade, state, user_name, created_at, ts, last_ts, count, \
         dedupe_key, notify_user, notify_admins, ip, country, region, city, asn, isp, device, \
         client, protocol, decision, succeeded, reasons, note) VALUES ('unusual_location', \
         'warning', 'open', 'kim@example.com', ?1, ?1, ?1, 1, 'k', 1, 0, \
         '102.89.1.2', 'NG', 'Lagos', 'Ikeja', 29465, 'MTN Nigeria', 'iPhone', 'Foxmail', 'imap', \
         'allow', 1, 'unusual_country', '')",
        [now],
    )
    .unwrap();
    drop(db);

    // First run: the relay is down. The alert is fanned out and its send
    // fails (at least once); then SIGKILL.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut first = serve(dir.path(), &config, port);
    let rows = wait_deliveries(&base, "a failed try", |rows| {
        rows.len() == 1 && rows[0]["attempts"].as_u64().unwrap_or(0) >= 1
    });
    assert_eq!(rows[0]["state"], "pending");
    assert_eq!(rows[0]["recipient"], "kim@example.com");
    assert!(
        !rows[0]["last_error"].as_str().unwrap_or("").is_empty(),
        "{rows:?}"
    );
    let delivery = rows[0]["id"].as_i64().unwrap();
    first.0.kill().unwrap(); // SIGKILL
    first.0.wait().unwrap();

    // The relay comes up; Warden restarts and sends the mail, once.
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let script = dir.path().join("smtp.py");
    std::fs::write(&script, SMTP_SERVER).unwrap();
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(&inbox)
        .arg(smtp_port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let _smtp = Proc(child);

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _second = serve(dir.path(), &config, port);
    let rows = wait_deliveries(&base, "the delivery sent", |rows| {
        rows.len() == 1 && rows[0]["state"] == "sent"
    });
    assert_eq!(rows[0]["id"].as_i64(), Some(delivery));
    // Several more worker rounds: nothing more is sent.
    std::thread::sleep(Duration::from_millis(1500));
    let got = mails(&inbox);
    assert_eq!(got.len(), 1, "{got:?}");
    let mail = std::fs::read_to_string(&got[0]).unwrap();
    assert!(
        mail.contains(&format!(
            "Message-ID: <warden-delivery-{delivery}@example.com>"
        )),
        "{mail}"
    );
    assert!(mail.contains("To: kim@example.com"), "{mail}");

    // The CLI lists it, sent, through the API.
    let (code, out, err) = super::output_of(
        super::warden_bin(dir.path())
            .env("WARDEN_API_KEY", KEY)
            .arg("--config")
            .arg(&config)
            .args(["channels", "deliveries", "--server"])
            .arg(format!("127.0.0.1:{port}")),
    );
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["deliveries"][0]["state"], "sent");
    assert!(v["deliveries"][0]["attempts"].as_u64().unwrap() >= 2);
}

/// Starts the Python SMTP server saving each mail into `inbox`.
fn smtp_server(dir: &std::path::Path, inbox: &std::path::Path, port: u16) -> Proc {
    std::fs::create_dir_all(inbox).unwrap();
    let script = dir.join("smtp.py");
    std::fs::write(&script, SMTP_SERVER).unwrap();
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(inbox)
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    Proc(child)
}

/// Parses a saved mail with Python's `email` package: subject, recipient
/// and the decoded plain-text part.
fn parse_mail(path: &std::path::Path) -> Value {
    let script = r#"
import sys, json, email
from email import policy
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=policy.default)
text = m.get_body(preferencelist=('plain',)).get_content()
html = m.get_body(preferencelist=('html',)).get_content()
print(json.dumps({"subject": m["subject"], "to": m["to"], "text": text, "html": html}))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The whole way, as an admin meets it: the real `warden serve` with an
/// email channel, logins reported over HTTP, the alert rules raising an
/// alert for a foreign login, the outbox mailing it to a real SMTP server —
/// in Chinese for a user whose account says so, in English for one without
/// an account (mailed at the login name) — and the "was this you?" link in
/// the mail opening the answer page of that very alert.
#[test]
fn a_foreign_login_reported_over_http_mails_its_user_in_their_language_with_working_links() {
    let dir = super::data_dir_with_geo();
    let smtp_port = free_port();
    let inbox = dir.path().join("inbox");
    let _smtp = smtp_server(dir.path(), &inbox, smtp_port);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("warden.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[answers]
base_url = "{base}"

[notify]
user_email_channel = "mail"
poll_interval_ms = 100

[[notify.channels]]
name = "mail"
kind = "email"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
smtp_security = "plain"
from = "Warden <warden@example.com>"
timeout_secs = 5
"#
        ),
    )
    .unwrap();
    let _warden = serve(dir.path(), &config, port);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let mut up = false;
        for _ in 0..400 {
            if http
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(up, "warden did not become ready");
        let post = |path: &str, body: Value| {
            http.post(format!("{base}{path}"))
                .bearer_auth(KEY)
                .json(&body)
                .send()
        };
        // Li has an account that reads Chinese, with a security address.
        let r = post(
            "/v1/users",
            serde_json::json!({"user": "li@example.com", "email": "li.security@example.net",
                               "lang": "zh"}),
        )
        .await
        .unwrap();
        assert!(r.status().is_success(), "{:?}", r.text().await);
        // A week at home (Shenzhen) for both, then a login from Lagos.
        let now = jiff::Timestamp::now().as_second();
        for user in ["li@example.com", "kim@example.com"] {
            for d in 0..8i64 {
                let ts = jiff::Timestamp::from_second(now - 3600 - (8 - d) * 86_400).unwrap();
                let r = post(
                    "/v1/report",
                    serde_json::json!({"user": user, "ip": "113.88.1.10", "protocol": "imap",
                                       "outcome": "success", "ts": ts.to_string()}),
                )
                .await
                .unwrap();
                assert_eq!(r.status(), 200);
            }
            let r = post(
                "/v1/report",
                serde_json::json!({"user": user, "ip": "105.112.7.9", "protocol": "imap",
                                   "outcome": "success", "device": "phone-<b>7</b>",
                                   "user_agent": "iPhone Mail (20A362)"}),
            )
            .await
            .unwrap();
            assert_eq!(r.status(), 200);
        }
    });
    // Both mails arrive.
    let start = Instant::now();
    while mails(&inbox).len() < 2 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let got = mails(&inbox);
    assert_eq!(got.len(), 2, "{got:?}");
    let parsed: Vec<Value> = got.iter().map(|p| parse_mail(p)).collect();
    let to = |who: &str| {
        parsed
            .iter()
            .find(|m| m["to"].as_str().unwrap_or("").contains(who))
            .unwrap_or_else(|| panic!("no mail to {who}: {parsed:?}"))
            .clone()
    };
    let zh = to("li.security@example.net");
    let en = to("kim@example.com");
    for (m, place) in [(&zh, "拉各斯"), (&en, "Lagos")] {
        let text = m["text"].as_str().unwrap();
        assert!(text.contains("105.112.7.9"), "{text}");
        assert!(text.contains("IMAP"), "{text}");
        assert!(
            text.contains("iOS Mail") || text.contains("iPhone"),
            "{text}"
        );
        assert!(
            text.contains(place) || text.contains("Lagos"),
            "{place}: {text}"
        );
        // The attacker-chosen device name never reaches the HTML as markup.
        let html = m["html"].as_str().unwrap();
        assert!(!html.contains("<b>7</b>"), "{html}");
        assert!(html.contains("DB-IP"), "{html}");
    }
    assert!(
        zh["subject"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{zh}"
    );
    assert!(en["subject"].as_str().unwrap().is_ascii(), "{en}");
    // The "No, it wasn't me" link opens the page of this alert, asking
    // before it acts.
    let text = en["text"].as_str().unwrap();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/answer/v1.") && w.contains("choice=not_me"))
        .unwrap_or_else(|| panic!("no answer link: {text}"))
        .trim_end_matches(['.', ')', '>'])
        .to_string();
    assert!(link.starts_with(&base), "{link}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let page = rt.block_on(async {
        let r = reqwest::get(&link).await.unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    });
    assert!(
        page.contains("<form") && page.contains("method=\"post\""),
        "{page}"
    );
    assert!(page.contains("105.112.7.9"), "{page}");
}
