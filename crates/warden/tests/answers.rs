//! "Was this you?" through the real binary: `serve` creates the private key
//! that signs answer links and serves the answer page outside `/v1`; a
//! "the location is wrong" answer lands in the queue, which the
//! `warden corrections queue` commands list, accept (the correction is
//! live at once) and refuse to decide twice.

use std::process::Stdio;
use std::time::Duration;

use warden_core::{Alert, AlertKind, AlertState, Country, Grade, Protocol, Timestamp};
use warden_service::answers::AnswerSettings;
use warden_store::{AlertStore, SqliteStore, Store};

const KEY: &str = "k-0123456789abcdef";
/// An address of the synthetic pools (Lagos in the fixture).
const IP: &str = "105.112.7.7";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_binary_serves_the_answer_page_and_the_cli_decides_the_queue() {
    let dir = super::data_dir_with_geo();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // The alert the rules would have raised, written before the start.
    let id = rt.block_on(async {
        let store = SqliteStore::open(dir.path().join("warden.db"))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let id = store
            .insert_alert(&Alert {
                id: 0,
                kind: AlertKind::UnusualLocation,
                grade: Grade::Warning,
                state: AlertState::Open,
                user: Some("kim@example.com".into()),
                created_at: Timestamp(now),
                ts: Timestamp(now),
                last_ts: Timestamp(now),
                count: 1,
                dedupe_key: "kim".into(),
                notify_user: true,
                notify_admins: false,
                ip: Some(IP.parse().unwrap()),
                country: Some(Country::new("NG").unwrap()),
                region: Some("Lagos".into()),
                city: Some("Ikeja".into()),
                asn: None,
                isp: None,
                device: None,
                client: Some("Outlook".into()),
                protocol: Some(Protocol::Imap),
                decision: None,
                succeeded: true,
                reasons: Vec::new(),
                event_id: None,
                answer: None,
                answered_at: None,
                answered_ip: None,
                note: String::new(),
            })
            .await
            .unwrap();
        store.close().await;
        id
    });
    let port = free_port();
    let mut child = super::warden_bin(dir.path())
        .env("WARDEN_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("WARDEN_SERVER__API_KEYS", KEY)
        .env("WARDEN_LOG__FILTER", "warn")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            for _ in 0..200 {
                if http.get(format!("{base}/readyz")).send().await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        // The signing key: created on first start, private.
        let key_file = dir.path().join("answer-key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let hex = std::fs::read_to_string(&key_file).unwrap();
        let hex = hex.trim();
        let key: Vec<u8> = (0..64)
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let links = AnswerSettings::new(&base, key.try_into().unwrap(), 3600);
        let token = links.token(id, Timestamp(now));
        let page = format!("{base}/answer/{token}");
        rt.block_on(async {
            // No API key needed; the page shows the login.
            let r = http
                .get(format!("{page}?choice=wrong_location"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let html = r.text().await.unwrap();
            assert!(html.contains("Ikeja") && html.contains(IP), "{html}");
            let r = http
                .post(&page)
                .form(&[
                    ("token", token.as_str()),
                    ("choice", "wrong_location"),
                    ("comment", "Abuja office"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        });
        let cli =
            |args: &[&str]| super::run_cli(super::warden_bin(dir.path()), port, KEY, args, None);
        let listed: serde_json::Value = serde_json::from_str(&cli(&[
            "corrections",
            "queue",
            "list",
            "--state",
            "pending",
        ]))
        .unwrap();
        let r = &listed["requests"][0];
        assert_eq!(
            (r["ip"].as_str(), r["comment"].as_str()),
            (Some(IP), Some("Abuja office")),
            "{listed}"
        );
        let qid = r["id"].as_i64().unwrap().to_string();
        let accepted: serde_json::Value = serde_json::from_str(&cli(&[
            "corrections",
            "queue",
            "accept",
            &qid,
            "--country",
            "NG",
            "--region",
            "FCT",
            "--city",
            "Abuja",
            "--by",
            "ops",
        ]))
        .unwrap();
        assert_eq!(accepted["state"], "accepted", "{accepted}");
        let geo: serde_json::Value = rt.block_on(async {
            http.get(format!("{base}/v1/geo/{IP}"))
                .bearer_auth(KEY)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        assert_eq!(geo["location"]["city"], "Abuja", "{geo}");
        // Decided once: the second decision fails with the reason.
        let out = super::warden_bin(dir.path())
            .env("WARDEN_API_KEY", KEY)
            .args(["corrections", "queue", "reject", &qid, "--server"])
            .arg(format!("127.0.0.1:{port}"))
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("decided already"), "{err}");
    }));
    child.kill().unwrap();
    child.wait().unwrap();
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}
