//! Alerts through the real `warden serve` binary: a SIGKILL right after
//! foreign logins are acknowledged loses no alert and, restarted, raises
//! each once; and `warden alerts list / show / ack / close / resend` work
//! as clients of the running service.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const KEY: &str = "k-alerts-0123456789abcdef";
const USERS: usize = 20;
/// Foreign logins (IMAP reconnects) each user reports.
const RECONNECTS: usize = 3;

fn serve(dir: &std::path::Path, port: u16) -> Child {
    super::warden_bin(dir)
        .env("WARDEN_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("WARDEN_SERVER__API_KEYS", KEY)
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

async fn ready(http: &reqwest::Client, base: &str) {
    for _ in 0..400 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("warden did not become ready");
}

async fn call(http: &reqwest::Client, req: reqwest::RequestBuilder) -> (u16, Value) {
    let _ = http;
    let r = req.bearer_auth(KEY).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn user(i: usize) -> String {
    format!("traveller{i}@example.com")
}

/// Eight days of logins from home (Shenzhen), one a day, ending an hour
/// ago: past the learning period.
async fn home_history(http: &reqwest::Client, base: &str, users: usize) {
    let now = jiff::Timestamp::now().as_second();
    for i in 0..users {
        for d in 0..8i64 {
            let ts = jiff::Timestamp::from_second(now - 3600 - (8 - d) * 86_400).unwrap();
            let (s, b) = call(
                http,
                http.post(format!("{base}/v1/report")).json(&json!({
                    "user": user(i), "ip": "113.88.1.10", "protocol": "imap",
                    "outcome": "success", "ts": ts.to_string()
                })),
            )
            .await;
            assert_eq!(s, 200, "{b}");
        }
    }
}

/// A successful IMAP login of user `i` from Lagos (an address of its own).
fn abroad(i: usize) -> Value {
    json!({"user": user(i), "ip": format!("105.112.{i}.9"), "protocol": "imap",
           "outcome": "success", "device": format!("phone-{i}"), "user_agent": "iPhone Mail (20A362)"})
}

/// The alerts of `kind`, polled until `want` are there or 10 s pass.
async fn alerts_when(http: &reqwest::Client, base: &str, kind: &str, want: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (s, b) = call(
            http,
            http.get(format!("{base}/v1/alerts?kind={kind}&limit=500")),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let all = b["alerts"].as_array().unwrap().clone();
        if all.len() >= want || Instant::now() > deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_kill_9_right_after_acknowledged_logins_loses_no_alert_and_raises_each_once() {
    let dir = super::data_dir_with_geo();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = serve(dir.path(), port);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::new();
    rt.block_on(async {
        ready(&http, &base).await;
        home_history(&http, &base, USERS).await;
        // Every user's foreign logins at once; the kill as soon as the
        // last is acknowledged.
        let mut tasks = Vec::new();
        for i in 0..USERS {
            let http = reqwest::Client::new();
            let base = base.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..RECONNECTS {
                    let (s, b) = call(
                        &http,
                        http.post(format!("{base}/v1/report")).json(&abroad(i)),
                    )
                    .await;
                    assert_eq!(s, 200, "{b}");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // What the kill left: the alerts already raised, and the acknowledged
    // logins after the alerts mark (raised by no one yet).
    let (raised, pending) = {
        let db = rusqlite::Connection::open(dir.path().join("warden.db")).unwrap();
        let q = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        (
            q("SELECT COUNT(*) FROM alerts"),
            q("SELECT (SELECT MAX(id) FROM login_events) - event_id FROM replay_marks WHERE name = 'alerts'"),
        )
    };
    eprintln!("at the kill: {raised} alerts raised, {pending} acknowledged logins not yet judged");
    assert!(raised <= USERS as i64);

    let mut child = serve(dir.path(), port);
    rt.block_on(async {
        ready(&http, &base).await;
        let all = alerts_when(&http, &base, "unusual_location", USERS).await;
        // Give a duplicate, if any were to come, the time to show.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let all_again = alerts_when(&http, &base, "unusual_location", USERS).await;
        assert_eq!(all.len(), all_again.len());
        assert_eq!(all.len(), USERS, "{all:?}");
        for i in 0..USERS {
            let mine: Vec<&Value> = all_again.iter().filter(|a| a["user"] == user(i)).collect();
            assert_eq!(mine.len(), 1, "{}: {mine:?}", user(i));
            let a = mine[0];
            assert_eq!(a["count"], RECONNECTS, "{a}");
            assert_eq!(a["country"], "NG");
            assert_eq!(a["city"], "Lagos");
            assert_eq!(a["device"], format!("phone-{i}"));
            assert_eq!(a["client"], "iOS Mail", "{a}");
            assert_eq!(a["protocol"], "imap");
            assert_eq!(a["notify_user"], true);
        }
    });
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Runs `warden alerts ...` against the service; (exit code, stdout, stderr).
fn cli(dir: &std::path::Path, port: u16, args: &[&str]) -> (Option<i32>, String, String) {
    let mut c = super::warden_bin(dir);
    c.env("WARDEN_API_KEY", KEY)
        .arg("alerts")
        .args(["--server", &format!("127.0.0.1:{port}")])
        .args(args);
    super::output_of(&mut c)
}

fn json_of(out: &(Option<i32>, String, String)) -> Value {
    assert_eq!(out.0, Some(0), "{}", out.2);
    serde_json::from_str(&out.1).unwrap()
}

#[test]
fn the_cli_lists_shows_acknowledges_closes_and_resends_alerts_of_the_running_service() {
    let dir = super::data_dir_with_geo();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = serve(dir.path(), port);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    rt.block_on(async {
        ready(&http, &base).await;
        home_history(&http, &base, 2).await;
        for i in 0..2 {
            let (s, b) = call(
                &http,
                http.post(format!("{base}/v1/report")).json(&abroad(i)),
            )
            .await;
            assert_eq!(s, 200, "{b}");
        }
        assert_eq!(
            alerts_when(&http, &base, "unusual_location", 2).await.len(),
            2
        );
    });
    let d = dir.path();

    let list = json_of(&cli(d, port, &["list"]));
    assert_eq!(list["alerts"].as_array().unwrap().len(), 2);
    let mine = json_of(&cli(
        d,
        port,
        &[
            "list",
            "--user",
            &user(1),
            "--grade",
            "warning",
            "--state",
            "open",
        ],
    ));
    let alerts = mine["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1);
    let id = alerts[0]["id"].as_i64().unwrap().to_string();
    let page = json_of(&cli(d, port, &["list", "--limit", "1"]));
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let rest = json_of(&cli(
        d,
        port,
        &["list", "--limit", "1", "--cursor", &cursor],
    ));
    assert_ne!(rest["alerts"][0]["id"], page["alerts"][0]["id"]);

    let shown = json_of(&cli(d, port, &["show", &id]));
    assert_eq!(shown["user"], user(1));
    assert_eq!(shown["kind"], "unusual_location");

    let acked = json_of(&cli(d, port, &["ack", &id, "--note", "asked the user"]));
    assert_eq!(acked["state"], "acknowledged");
    let closed = json_of(&cli(d, port, &["close", &id, "--note", "business trip"]));
    assert_eq!(closed["state"], "closed");
    assert_eq!(
        closed["note"],
        "admin: asked the user\nadmin: business trip"
    );
    let resent = json_of(&cli(d, port, &["resend", &id]));
    assert_eq!(resent["id"], shown["id"]);

    // Refusals are clear and exit non-zero.
    let (code, out, err) = cli(d, port, &["close", &id]);
    assert_ne!(code, Some(0));
    assert!(out.is_empty());
    assert!(err.contains("422") && err.contains("closed"), "{err}");
    let (code, _, err) = cli(d, port, &["list", "--kind", "loud"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("kind"), "{err}");
    let (code, _, err) = cli(d, port, &["show", "99999"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("404"), "{err}");
    child.kill().unwrap();
    child.wait().unwrap();
}
