//! The HTTP edge over real sockets against `serve::start`: idle, half-sent
//! headers and half-sent bodies are closed after their timeouts; the
//! connection limit holds with `/healthz` still answering; beyond
//! `server.max_in_flight` API requests are shed at once with `503` and
//! `Retry-After` while Dovecot's policy is still answered, and the service
//! recovers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use warden::config::Config;
use warden::serve;

const KEY: &str = "edge-key-0123456789abcdef";

fn config(dir: &Path) -> Config {
    let geo = dir.join("geo");
    std::fs::create_dir_all(&geo).unwrap();
    super::write_pool_fixture(&geo);
    let mut c = Config {
        data_dir: dir.to_path_buf(),
        ..Default::default()
    };
    c.server.listen = "127.0.0.1:0".into();
    c.server.api_keys = vec![KEY.into()];
    c
}

/// Reads until the peer closes the connection or `within` passes; returns
/// what was read and whether it closed.
fn read_until_closed(s: &mut TcpStream, within: Duration) -> (String, bool) {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (String::from_utf8_lossy(&got).into_owned(), false);
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&got).into_owned(), true)
            }
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

/// True when the server has closed `s`: reading what it sent (a 408, say)
/// ends in the end of the stream.
fn closed(s: &TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut b = [0u8; 4096];
    let r = loop {
        match (&*s).read(&mut b) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(e) => break e.kind() != std::io::ErrorKind::WouldBlock,
        }
    };
    s.set_nonblocking(false).unwrap();
    r
}

/// A GET on a connection of its own (`Connection: close`).
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let r = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
        .get(format!("http://{addr}{path}"))
        .header("X-API-Key", KEY)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The value of a metric line (`name{labels} value`) in `/metrics`.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_are_closed_after_their_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.server.header_timeout_secs = 1;
    c.server.body_timeout_secs = 1;
    c.server.idle_timeout_secs = 2;
    let running = serve::start(c).await.unwrap();
    let addr = running.addr;
    let started = Instant::now();
    let results = tokio::task::spawn_blocking(move || {
        // Nothing at all.
        let mut silent = TcpStream::connect(addr).unwrap();
        // Half the headers.
        let mut headers = TcpStream::connect(addr).unwrap();
        headers
            .write_all(b"POST /v1/report HTTP/1.1\r\nHost: warden\r\n")
            .unwrap();
        // Whole headers, a tenth of the body.
        let mut body = TcpStream::connect(addr).unwrap();
        write!(
            body,
            "POST /v1/report HTTP/1.1\r\nHost: warden\r\nAuthorization: Bearer {KEY}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"user\":"
        )
        .unwrap();
        // A whole request, then nothing: kept alive, then idle.
        let mut idle = TcpStream::connect(addr).unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: warden\r\n\r\n")
            .unwrap();
        let mut first = [0u8; 512];
        let n = idle.read(&mut first).unwrap();
        assert!(
            String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&first[..n])
        );
        // Without timeouts these stayed open (the old server after 70 s).
        let limit = Duration::from_secs(30);
        [
            ("silent", read_until_closed(&mut silent, limit)),
            ("half headers", read_until_closed(&mut headers, limit)),
            ("half body", read_until_closed(&mut body, limit)),
            ("idle", read_until_closed(&mut idle, limit)),
        ]
    })
    .await
    .unwrap();
    for (what, (answer, was_closed)) in &results {
        assert!(was_closed, "{what}: still open, read {answer:?}");
    }
    // None closed before its timeout: these bounds cannot flake.
    assert!(started.elapsed() >= Duration::from_secs(2));
    let (answer, _) = &results[2].1;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert_eq!(
        results[0].1 .0, "",
        "nothing is answered to a silent client"
    );
    assert_eq!(results[1].1 .0, "");
    let (_, m) = get(addr, "/metrics").await;
    assert!(
        metric(&m, "warden_http_timeouts_total{phase=\"header\"}") >= 2.0,
        "{m}"
    );
    assert!(metric(&m, "warden_http_timeouts_total{phase=\"body\"}") >= 1.0);
    assert!(metric(&m, "warden_http_timeouts_total{phase=\"idle\"}") >= 1.0);
    // The service itself is unharmed.
    let (s, _) = get(addr, "/healthz").await;
    assert_eq!(s, 200);
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_limit_holds_and_healthz_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.server.max_connections = 16;
    // Long timeouts: only the limit closes connections here.
    c.server.header_timeout_secs = 600;
    c.server.body_timeout_secs = 600;
    c.server.idle_timeout_secs = 600;
    let running = serve::start(c).await.unwrap();
    let addr = running.addr;
    // 100 idle, 20 half-header and 20 half-body connections: far more than
    // the limit (the old server kept all of them, until it ran out of file
    // descriptors and /healthz stopped answering).
    let held: Vec<(&str, TcpStream)> = tokio::task::spawn_blocking(move || {
        let mut held = Vec::new();
        for i in 0..140 {
            let mut s = TcpStream::connect(addr).unwrap();
            let kind = match i % 7 {
                0 => {
                    s.write_all(b"GET /v1/users HTTP/1.1\r\nHost: w\r\n")
                        .unwrap();
                    "headers"
                }
                1 => {
                    write!(
                        s,
                        "POST /v1/report HTTP/1.1\r\nHost: w\r\nX-API-Key: {KEY}\r\n\
                         Content-Type: application/json\r\nContent-Length: 50\r\n\r\n{{"
                    )
                    .unwrap();
                    "body"
                }
                _ => "silent",
            };
            held.push((kind, s));
            // Give the server a moment to see each one.
            std::thread::sleep(Duration::from_millis(2));
        }
        held
    })
    .await
    .unwrap();
    // Health checks on new connections keep answering at the limit, each
    // making room by closing the longest-waiting idle connection.
    for _ in 0..10 {
        let (s, body) = get(addr, "/healthz").await;
        assert_eq!(s, 200, "{body}");
    }
    let (s, m) = get(addr, "/metrics").await;
    assert_eq!(s, 200);
    assert!(
        metric(&m, "warden_http_connections_evicted_total") >= 100.0,
        "{m}"
    );
    let open = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(300));
        let open: Vec<&str> = held
            .iter()
            .filter(|(_, s)| !closed(s))
            .map(|(k, _)| *k)
            .collect();
        open
    })
    .await
    .unwrap();
    assert!(
        open.len() <= 16,
        "{} of 140 connections still open: {open:?}",
        open.len()
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_max_in_flight_api_requests_are_shed_and_mail_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.server.max_in_flight = 2;
    c.server.queue_timeout_ms = 50;
    let running = serve::start(c).await.unwrap();
    let addr = running.addr;
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("http://{addr}{path}"))
            .bearer_auth(KEY)
            .json(&body)
            .send()
    };
    // A stalled disk: another connection holds SQLite's write lock, so two
    // reports wait in their commit (up to the 5 s busy timeout) holding
    // both slots.
    let db = rusqlite::Connection::open(dir.path().join("warden.db")).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let report =
        json!({"user": "alice", "ip": "113.88.1.10", "protocol": "imap", "outcome": "success"});
    let held: Vec<_> = (0..2)
        .map(|_| tokio::spawn(post("/v1/report", report.clone())))
        .collect();
    let mut in_flight = 0.0;
    for _ in 0..200 {
        let (_, m) = get(addr, "/metrics").await;
        in_flight = metric(&m, "warden_http_requests_in_flight");
        if in_flight >= 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(in_flight, 2.0);

    // An API request waits its 50 ms, then is shed; an admin request is
    // shed at once; both while the two reports are still held.
    let r = post(
        "/v1/evaluate",
        json!({"user": "bob", "ip": "113.88.1.10", "protocol": "imap"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "overloaded", "{b}");
    let (s, b) = get(addr, "/v1/users").await;
    assert_eq!(s, 503, "{b}");
    // Dovecot's policy is never shed (Dovecot would let the login through
    // unchecked), nor are the open routes.
    let r = post(
        "/v1/dovecot/policy?command=allow",
        json!({"login": "bob", "pwhash": "", "remote": "113.88.1.10", "real_remote": "127.0.0.1",
               "device_id": "", "protocol": "imap", "session_id": "s1", "tls": true}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let (s, _) = get(addr, "/healthz").await;
    assert_eq!(s, 200);
    let (_, m) = get(addr, "/metrics").await;
    assert_eq!(
        metric(&m, "warden_http_requests_shed_total{class=\"api\"}"),
        1.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "warden_http_requests_shed_total{class=\"admin\"}"),
        1.0
    );
    assert!(m.contains("warden_http_queue_wait_seconds"), "{m}");
    for h in &held {
        assert!(!h.is_finished(), "the reports are still held");
    }

    // The disk comes back: the held reports are acknowledged, and the
    // service answers again.
    db.execute_batch("COMMIT").unwrap();
    for h in held {
        assert_eq!(h.await.unwrap().unwrap().status(), 200);
    }
    let r = post(
        "/v1/evaluate",
        json!({"user": "bob", "ip": "113.88.1.10", "protocol": "imap"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let (_, m) = get(addr, "/metrics").await;
    assert_eq!(metric(&m, "warden_http_requests_in_flight"), 0.0, "{m}");
    running.stop().await.unwrap();
}
