//! A crash in the middle of a burst: the real `warden serve` binary gets
//! SIGKILL while many connections report logins and change credentials.
//! Restarted on the same data folder, it must have kept every report it
//! acknowledged (HTTP 2xx received before the kill) in the history, and
//! every acknowledged credential change must be in force: the password set
//! last (or one set after it whose answer the kill cut off), and every
//! authorization code created.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const KEY: &str = "k-crash-0123456789abcdef";
/// Users whose logins are reported.
const REPORT_USERS: usize = 16;
/// Connections reporting at once, and the reports each sends at most.
const REPORTERS: usize = 32;
const PER_REPORTER: usize = 120;
/// The kill comes once this many reports have been acknowledged: well
/// inside the burst (REPORTERS x PER_REPORTER in all).
const KILL_AFTER: usize = 800;
/// Accounts whose password keeps changing, and accounts getting codes.
const PASSWORD_USERS: usize = 4;
const CODE_USERS: usize = 2;

fn serve(dir: &std::path::Path, port: u16) -> Child {
    super::warden_bin(dir)
        .env("WARDEN_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("WARDEN_SERVER__API_KEYS", KEY)
        .env("WARDEN_LOG__FILTER", "warn")
        // Room for every request of the burst: this test is about what an
        // acknowledgement means, not about shedding (`server.max_in_flight`).
        .env("WARDEN_SERVER__MAX_IN_FLIGHT", "256")
        .env("WARDEN_SERVER__QUEUE_TIMEOUT_MS", "5000")
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

/// A request with the key; `None` when no answer came (the kill).
async fn send(req: reqwest::RequestBuilder) -> Option<(u16, Value)> {
    let r = req.bearer_auth(KEY).send().await.ok()?;
    let status = r.status().as_u16();
    let body = r.json().await.ok()?;
    Some((status, body))
}

fn report_user(i: usize) -> String {
    format!("rep{}@example.com", i % REPORT_USERS)
}

fn password_user(k: usize) -> String {
    format!("pw{k}@example.com")
}

fn code_user(k: usize) -> String {
    format!("code{k}@example.com")
}

fn password(k: usize, n: usize) -> String {
    format!("orchard-lantern-{k}-{n}-plum-harbour")
}

/// What the clients saw acknowledged before the kill.
#[derive(Default)]
struct Acked {
    /// Report markers (the device id each report carried), by user.
    reports: HashMap<String, HashSet<String>>,
    /// Per password account: the last password acknowledged, and the one
    /// in flight when the kill came (its change may or may not be stored).
    passwords: Vec<(String, Option<String>)>,
    /// Authorization codes created, by user.
    codes: Vec<(String, String)>,
}

#[test]
fn a_kill_9_during_a_burst_keeps_every_acknowledged_report_and_credential_change() {
    let dir = super::data_dir_with_geo();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = serve(dir.path(), port);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::new();

    let acked = rt.block_on(async {
        ready(&http, &base).await;
        for k in 0..PASSWORD_USERS {
            let (status, body) = send(
                http.post(format!("{base}/v1/users"))
                    .json(&json!({"user": password_user(k), "password": password(k, 0)})),
            )
            .await
            .unwrap();
            assert_eq!(status, 201, "{body}");
        }
        for k in 0..CODE_USERS {
            let (status, body) = send(
                http.post(format!("{base}/v1/users"))
                    .json(&json!({"user": code_user(k), "password": password(100 + k, 0)})),
            )
            .await
            .unwrap();
            assert_eq!(status, 201, "{body}");
        }

        let acked_reports = Arc::new(AtomicUsize::new(0));
        let killed = Arc::new(AtomicBool::new(false));
        let mut reporters = Vec::new();
        for t in 0..REPORTERS {
            // A client each: its own connection.
            let http = reqwest::Client::new();
            let base = base.clone();
            let count = acked_reports.clone();
            let killed = killed.clone();
            reporters.push(tokio::spawn(async move {
                let mut mine: Vec<(String, String)> = Vec::new();
                for i in 0..PER_REPORTER {
                    if killed.load(Ordering::SeqCst) {
                        break;
                    }
                    let user = report_user(t * PER_REPORTER + i);
                    let marker = format!("t{t}-{i}");
                    let outcome = if i % 7 == 3 { "failure" } else { "success" };
                    let body = json!({"user": user, "ip": "113.88.1.10", "protocol": "imap",
                        "outcome": outcome, "device": marker});
                    match send(http.post(format!("{base}/v1/report")).json(&body)).await {
                        Some((200, _)) => {
                            mine.push((user, marker));
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        Some((status, body)) => panic!("report answered {status}: {body}"),
                        None => break,
                    }
                }
                mine
            }));
        }
        let mut changers = Vec::new();
        for k in 0..PASSWORD_USERS {
            let http = reqwest::Client::new();
            let base = base.clone();
            let killed = killed.clone();
            changers.push(tokio::spawn(async move {
                let user = password_user(k);
                let mut last = password(k, 0);
                for n in 1.. {
                    if killed.load(Ordering::SeqCst) {
                        return (last, None);
                    }
                    let next = password(k, n);
                    let req = http
                        .put(format!("{base}/v1/users/{user}/password"))
                        .json(&json!({"password": next}));
                    match send(req).await {
                        Some((200, _)) => last = next,
                        Some((status, body)) => panic!("password set answered {status}: {body}"),
                        None => return (last, Some(next)),
                    }
                }
                unreachable!()
            }));
        }
        let mut creators = Vec::new();
        for k in 0..CODE_USERS {
            let http = reqwest::Client::new();
            let base = base.clone();
            let killed = killed.clone();
            creators.push(tokio::spawn(async move {
                let user = code_user(k);
                let mut codes = Vec::new();
                for n in 0.. {
                    if killed.load(Ordering::SeqCst) {
                        break;
                    }
                    let req = http
                        .post(format!("{base}/v1/users/{user}/app-passwords"))
                        .json(&json!({"name": format!("client {n}"), "protocols": ["imap"]}));
                    match send(req).await {
                        Some((201, body)) => {
                            codes.push((user.clone(), body["code"].as_str().unwrap().to_string()))
                        }
                        Some((status, body)) => panic!("code creation answered {status}: {body}"),
                        None => break,
                    }
                }
                codes
            }));
        }

        // The kill, in the middle of the burst.
        let deadline = Instant::now() + Duration::from_secs(15);
        while acked_reports.load(Ordering::SeqCst) < KILL_AFTER {
            assert!(Instant::now() < deadline, "the burst is too slow");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        killed.store(true, Ordering::SeqCst);

        let mut acked = Acked::default();
        for r in reporters {
            for (user, marker) in r.await.unwrap() {
                acked.reports.entry(user).or_default().insert(marker);
            }
        }
        for c in changers {
            acked.passwords.push(c.await.unwrap());
        }
        for c in creators {
            acked.codes.extend(c.await.unwrap());
        }
        acked
    });
    let total: usize = acked.reports.values().map(HashSet::len).sum();
    assert!(total >= KILL_AFTER, "{total} reports acknowledged");
    assert!(
        total < REPORTERS * PER_REPORTER,
        "the kill came after the burst: {total} reports"
    );
    assert!(
        !acked.codes.is_empty(),
        "codes were created before the kill"
    );

    // The same data folder, a new process.
    let mut child = serve(dir.path(), port);
    rt.block_on(async {
        ready(&http, &base).await;
        for (user, markers) in &acked.reports {
            let (status, body) =
                send(http.get(format!("{base}/v1/users/{user}/history?limit=1000")))
                    .await
                    .unwrap();
            assert_eq!(status, 200, "{body}");
            let events = body["events"].as_array().unwrap();
            assert!(events.len() < 1000, "one page holds the user's history");
            let stored: HashSet<&str> =
                events.iter().filter_map(|e| e["device"].as_str()).collect();
            let lost: Vec<&String> = markers
                .iter()
                .filter(|m| !stored.contains(m.as_str()))
                .collect();
            assert!(
                lost.is_empty(),
                "{user}: acknowledged reports lost: {lost:?}"
            );
        }

        let verify = |user: &str, password: &str| {
            http.post(format!("{base}/v1/auth/verify")).json(&json!({
                "user": user, "password": password, "protocol": "imap",
                "ip": "113.88.1.10", "tls": true
            }))
        };
        for (k, (last, in_flight)) in acked.passwords.iter().enumerate() {
            let user = password_user(k);
            let (_, ok) = send(verify(&user, last)).await.unwrap();
            if ok["result"] != "ok" {
                // Only a change whose answer the kill cut off may have
                // replaced the last acknowledged one.
                let next = in_flight
                    .as_ref()
                    .unwrap_or_else(|| panic!("{user}: acknowledged password refused: {ok}"));
                let (_, ok) = send(verify(&user, next)).await.unwrap();
                assert_eq!(ok["result"], "ok", "{user}: neither password works: {ok}");
            }
        }
        for (user, code) in &acked.codes {
            let (_, ok) = send(verify(user, code)).await.unwrap();
            assert_eq!(
                ok["result"], "ok",
                "{user}: acknowledged code refused: {ok}"
            );
        }
    });
    child.kill().unwrap();
    child.wait().unwrap();
}
