//! A crash between accepting an alert and sending it: the real `warden
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
    let db = rusqlite::Connection::open(dir.path().join("warden.db")).unwrap();
    db.execute(
        "INSERT INTO alerts (kind, grade, state, user_name, created_at, ts, last_ts, count, \
         dedupe_key, notify_user, notify_admins, ip, country, region, city, asn, isp, device, \
         client, protocol, decision, succeeded, reasons, note) VALUES ('unusual_location', \
         'warning', 'open', 'kim@example.com', 1772323200, 1772323200, 1772323200, 1, 'k', 1, 0, \
         '102.89.1.2', 'NG', 'Lagos', 'Ikeja', 29465, 'MTN Nigeria', 'iPhone', 'Foxmail', 'imap', \
         'allow', 1, 'unusual_country', '')",
        [],
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
