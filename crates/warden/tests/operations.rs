//! The sensitive-operation log feed through the real binaries: `warden
//! serve` on a fresh data folder, a user's week at home then a login from
//! Lagos, and a webmail security log in JSON Lines fed by `warden
//! operations ingest` (from a file, then again from standard input): the
//! outside forwarding rule after the Lagos login is a critical alert that
//! `warden alerts list` shows, the same rule of a user at home is an info
//! record, broken lines are skipped with their numbers, and reading the
//! log again records nothing twice.

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

const KEY: &str = "k-operations-0123456789abcdef";

fn serve(dir: &std::path::Path, port: u16) -> Child {
    super::warden_bin(dir)
        .env("WARDEN_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("WARDEN_SERVER__API_KEYS", KEY)
        .env("WARDEN_SENSITIVE__INTERNAL_DOMAINS", "example.com")
        .env("WARDEN_LOG__FILTER", "warn")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn post(base: &str, path: &str, body: Value) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        for _ in 0..400 {
            if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let r = http
            .post(format!("{base}{path}"))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    })
}

/// A week of logins from home, one a day ending an hour ago, then (for
/// Kim) one from Lagos ten minutes ago.
fn logins(base: &str) {
    let now = jiff::Timestamp::now().as_second();
    let ts = |s: i64| jiff::Timestamp::from_second(s).unwrap().to_string();
    for user in ["kim@example.com", "lee@example.com"] {
        for d in 0..8i64 {
            post(
                base,
                "/v1/report",
                json!({"user": user, "ip": "113.88.1.10", "protocol": "imap",
                       "outcome": "success", "ts": ts(now - 3600 - (8 - d) * 86_400)}),
            );
        }
    }
    let r = post(
        base,
        "/v1/report",
        json!({"user": "kim@example.com", "ip": "105.112.7.9", "protocol": "imap",
               "outcome": "success", "ts": ts(now - 600), "user_agent": "iPhone Mail (20A362)"}),
    );
    assert!(r["alert"] == json!(true), "the Lagos login is alerted: {r}");
}

/// `warden <args>` against the service; (exit code, stdout, stderr).
fn cli(
    dir: &std::path::Path,
    port: u16,
    args: &[&str],
    stdin: Option<&str>,
) -> (Option<i32>, String, String) {
    let mut c = super::warden_bin(dir);
    c.env("WARDEN_API_KEY", KEY)
        .args(&args[..2])
        .args(["--server", &format!("127.0.0.1:{port}")])
        .args(&args[2..]);
    match stdin {
        None => super::output_of(&mut c),
        Some(text) => {
            let mut child = c
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            (
                out.status.code(),
                String::from_utf8(out.stdout).unwrap(),
                String::from_utf8(out.stderr).unwrap(),
            )
        }
    }
}

fn json_of(out: &(Option<i32>, String, String)) -> Value {
    assert_eq!(out.0, Some(0), "{}", out.2);
    serde_json::from_str(&out.1).unwrap()
}

/// The webmail's security log: what Roundcube-style settings pages write
/// when a user saves a filter, one JSON object a line.
const LOG: &str = r#"{"ts":"@NOW","user":"kim@example.com","kind":"forwarding_rule","ip":"105.112.7.9","report_id":"wm-1001","target":"invoices@mailbox-archive.net","detail":"filter 'all' redirect :copy"}
{"ts":"@NOW","user":"lee@example.com","kind":"forwarding_rule","ip":"113.88.1.10","report_id":"wm-1002","target":"lee.home@mailbox-archive.net"}
this is not json
{"ts":"@NOW","user":"kim@example.com","kind":"fax_sent","report_id":"wm-1003"}

{"ts":"@NOW","user":"kim@example.com","kind":"forwarding_rule","report_id":"wm-1004","target":"kim@sales.example.com"}
"#;

#[test]
fn a_webmail_log_fed_through_ingest_raises_a_critical_alert_for_forwarding_after_a_foreign_login() {
    let dir = super::data_dir_with_geo();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = serve(dir.path(), port);
    logins(&base);
    let now = jiff::Timestamp::now().to_string();
    let log = LOG.replace("@NOW", &now);
    let file = dir.path().join("webmail-security.jsonl");
    std::fs::write(&file, &log).unwrap();
    let d = dir.path();

    let summary = json_of(&cli(
        d,
        port,
        &[
            "operations",
            "ingest",
            file.to_str().unwrap(),
            "--source",
            "webmail",
        ],
        None,
    ));
    assert_eq!(summary["lines"], 6, "{summary}");
    assert_eq!(summary["recorded"], 3, "{summary}");
    // Kim's two rules follow the same login: one alert, the second folded.
    assert_eq!(summary["alerted"], 2, "{summary}");
    assert_eq!(summary["refused"], 2, "{summary}");
    let refusals = summary["refusals"].as_array().unwrap();
    assert_eq!(refusals[0]["line"], 3);
    assert!(refusals[0]["error"].as_str().unwrap().contains("not JSON"));
    assert_eq!(refusals[1]["line"], 4);
    assert!(
        refusals[1]["error"].as_str().unwrap().contains("400")
            && refusals[1]["error"].as_str().unwrap().contains("kind"),
        "{summary}"
    );

    let ops = json_of(&cli(d, port, &["operations", "list"], None));
    let ops = ops["operations"].as_array().unwrap();
    assert_eq!(ops.len(), 3);
    // Newest first: the internal forwarding, Lee's, Kim's.
    assert_eq!(ops[0]["external"], false, "a subdomain of example.com");
    assert_eq!(
        ops[0]["grade"], "warning",
        "inside the organisation, after the Lagos login"
    );
    assert_eq!(ops[1]["user"], "lee@example.com");
    assert_eq!(ops[1]["grade"], "info");
    assert_eq!(ops[1]["alert_id"], Value::Null);
    assert_eq!(ops[2]["grade"], "critical");
    assert_eq!(ops[2]["source"], "webmail");
    assert_eq!(ops[2]["report_id"], "wm-1001");

    let alerts = json_of(&cli(
        d,
        port,
        &["alerts", "list", "--kind", "suspicious_forwarding"],
        None,
    ));
    let alerts = alerts["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a["grade"], "critical");
    assert_eq!(a["count"], 2);
    assert_eq!(a["user"], "kim@example.com");
    assert_eq!(a["ip"], "105.112.7.9");
    assert_eq!(a["country"], "NG");
    assert_eq!(a["id"], ops[2]["alert_id"]);
    let note = a["note"].as_str().unwrap();
    assert!(
        note.contains("\"invoices@mailbox-archive.net\" (outside the organisation)")
            && note.contains("after a sign-in from Lagos"),
        "{note}"
    );

    // The same log again, through standard input: nothing new.
    let again = json_of(&cli(
        d,
        port,
        &["operations", "ingest", "-", "--source", "webmail"],
        Some(&log),
    ));
    assert_eq!(again["duplicates"], 3, "{again}");
    assert_eq!(again["recorded"], 0, "{again}");
    assert_eq!(
        json_of(&cli(d, port, &["operations", "list"], None))["operations"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let (code, _, err) = cli(d, port, &["operations", "show", "999999"], None);
    assert_ne!(code, Some(0));
    assert!(err.contains("404"), "{err}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn mail_logins_from_four_countries_in_a_day_raise_one_logins_spread_alert() {
    let dir = super::data_dir_with_geo();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = serve(dir.path(), port);
    let now = jiff::Timestamp::now().as_second();
    let ts = |s: i64| jiff::Timestamp::from_second(s).unwrap().to_string();
    // Shenzhen, Lagos, London, Tokyo, Ashburn within hours; Lee stays home.
    let places = [
        "113.88.1.10",
        "105.112.7.9",
        "81.2.69.5",
        "126.0.1.1",
        "3.1.1.1",
    ];
    for (i, ip) in places.iter().enumerate() {
        for user in ["kim@example.com", "lee@example.com"] {
            let ip = if user == "kim@example.com" {
                ip
            } else {
                "113.88.1.10"
            };
            post(
                &base,
                "/v1/report",
                json!({"user": user, "ip": ip, "protocol": "smtp", "outcome": "success",
                       "ts": ts(now - 3600 * (5 - i as i64))}),
            );
        }
    }
    let d = dir.path();
    let mut alerts = Vec::new();
    for _ in 0..200 {
        let list = json_of(&cli(
            d,
            port,
            &["alerts", "list", "--kind", "logins_spread"],
            None,
        ));
        alerts = list["alerts"].as_array().unwrap().clone();
        if !alerts.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(alerts.len(), 1, "one alert, for Kim only: {alerts:?}");
    let a = &alerts[0];
    assert_eq!(a["user"], "kim@example.com");
    assert_eq!(a["grade"], "critical");
    // Raised by the fourth country (London... Tokyo), not again by the fifth.
    assert_eq!(a["ip"], "126.0.1.1");
    let note = a["note"].as_str().unwrap();
    assert!(
        note.starts_with("successful mail logins from 4 countries"),
        "{note}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
