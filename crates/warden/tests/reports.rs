//! `warden report security` through the real binaries: `warden serve` on a
//! fresh data folder, a few logins reported to it, and the report fetched
//! by the CLI into a file and to standard output; a bad period is refused
//! with the service's message and a non-zero exit.

use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::json;

const KEY: &str = "k-reports-0123456789abcdef";

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

/// Waits for the service, then reports `n` successful logins of the last
/// minutes.
fn logins(base: &str, n: i64) {
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
        let now = jiff::Timestamp::now().as_second();
        for i in 0..n {
            let ts = jiff::Timestamp::from_second(now - 300 + i).unwrap();
            let r = http
                .post(format!("{base}/v1/report"))
                .bearer_auth(KEY)
                .json(
                    &json!({"user": format!("u{i}@example.com"), "ip": "113.88.1.10",
                              "protocol": "imap", "outcome": "success", "ts": ts.to_string()}),
                )
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
        }
    });
}

/// `warden report security <args>` against the service.
fn report(dir: &std::path::Path, port: u16, args: &[&str]) -> (Option<i32>, String, String) {
    let mut c = super::warden_bin(dir);
    c.env("WARDEN_API_KEY", KEY)
        .args([
            "report",
            "security",
            "--server",
            &format!("127.0.0.1:{port}"),
        ])
        .args(args);
    super::output_of(&mut c)
}

#[test]
fn the_cli_writes_the_security_report_of_a_period() {
    let dir = super::data_dir_with_geo();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = serve(dir.path(), port);
    logins(&base, 3);
    // Yesterday and today in the organisation's time (UTC+8 by default):
    // the logins of the last minutes are inside.
    let offset = jiff::tz::TimeZone::fixed(jiff::tz::offset(8));
    let today = jiff::Timestamp::now().to_zoned(offset).date();
    let (from, to) = (today.yesterday().unwrap().to_string(), today.to_string());

    let out = dir.path().join("report.html");
    let (code, stdout, stderr) = report(
        dir.path(),
        port,
        &["--from", &from, "--to", &to, "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("security report written to"), "{stdout}");
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    assert!(
        html.contains(&format!("Security report — Warden — {from} – {to}")),
        "{html}"
    );
    assert!(html.contains(r#"data-figure="attempts">3<"#), "{html}");
    assert!(html.contains("https://db-ip.com"));

    // To standard output, the previous month by default.
    let (code, stdout, stderr) = report(dir.path(), port, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("<!doctype html>"), "{stdout}");
    assert!(stdout.contains("Security report — Warden — "));

    // A bad period: the service's message, nothing written.
    let bad = dir.path().join("bad.html");
    let (code, stdout, stderr) = report(
        dir.path(),
        port,
        &[
            "--from",
            "2026-02-30",
            "--to",
            &to,
            "--out",
            bad.to_str().unwrap(),
        ],
    );
    assert!(code.is_some_and(|c| c != 0), "{stdout}");
    assert!(
        stderr.contains("400") && stderr.contains("YYYY-MM-DD"),
        "{stderr}"
    );
    assert!(!bad.exists());
    // Only one end: refused before asking.
    let (code, _, stderr) = report(dir.path(), port, &["--from", &from]);
    assert!(code.is_some_and(|c| c != 0));
    assert!(stderr.contains("--to"), "{stderr}");

    child.kill().unwrap();
    child.wait().unwrap();
}
