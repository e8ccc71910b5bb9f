//! The service as a user runs it: `serve` over a real socket with a real
//! SQLite file in a data folder, restarted (profiles survive), the real
//! binary under SIGTERM (acknowledged writes survive), and the CLI's
//! `migrate`, `geo lookup` and `config` commands.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use warden::config::Config;
use warden::serve;
use warden_store::{HistoryQuery, SqliteStore, Store};

/// A data folder with DB-IP fixtures for the synthetic pools in `geo/`.
fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let geo = dir.path().join("geo");
    std::fs::create_dir_all(&geo).unwrap();
    super::write_pool_fixture(&geo);
    dir
}

fn config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        server: warden::config::Server {
            listen: "127.0.0.1:0".into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn call(http: &reqwest::Client, base: &str, key: &str, path: &str, body: Value) -> Value {
    let r = http
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test]
async fn profiles_and_history_survive_a_restart() {
    let dir = data_dir();
    let http = reqwest::Client::new();

    let running = serve::start(config(dir.path())).await.unwrap();
    let key_file = dir.path().join("api-key");
    let key = std::fs::read_to_string(&key_file)
        .unwrap()
        .trim()
        .to_string();
    assert!(key.len() >= 32, "generated key too short");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the API key file must be private");
    }
    let base = format!("http://{}", running.addr);
    let start = jiff::Timestamp::now().as_second() - 10 * 86_400;
    for d in 0..8 {
        let ts = jiff::Timestamp::from_second(start + d * 86_400)
            .unwrap()
            .to_string();
        call(&http, &base, &key, "/v1/report", json!({"user": "alice", "ip": "113.88.1.10", "protocol": "imap", "outcome": "success", "ts": ts})).await;
    }
    running.stop().await.unwrap();

    // Same data folder, new process state: the key file is reused and the
    // profile is back.
    let running = serve::start(config(dir.path())).await.unwrap();
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), key);
    let base = format!("http://{}", running.addr);
    let r = http
        .get(format!("{base}/v1/users/alice/profile"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let profile: Value = r.json().await.unwrap();
    assert_eq!(profile["logins"], 8);
    let home = call(
        &http,
        &base,
        &key,
        "/v1/evaluate",
        json!({"user": "alice", "ip": "113.88.9.9", "protocol": "imap"}),
    )
    .await;
    assert_eq!(home["decision"], "allow", "{home}");
    let abroad = call(
        &http,
        &base,
        &key,
        "/v1/evaluate",
        json!({"user": "alice", "ip": "105.112.1.1", "protocol": "imap"}),
    )
    .await;
    assert_eq!(abroad["decision"], "challenge", "{abroad}");
    assert_eq!(abroad["alert"], true);
    let hist: Value = http
        .get(format!("{base}/v1/users/alice/history?limit=100"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hist["events"].as_array().unwrap().len(), 8);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn configured_keys_are_used_and_no_key_file_is_written() {
    let dir = data_dir();
    let mut c = config(dir.path());
    c.server.api_keys = vec!["configured-key-1234567890".into()];
    let running = serve::start(c).await.unwrap();
    assert!(!dir.path().join("api-key").exists());
    let r = reqwest::Client::new()
        .get(format!("http://{}/v1/geo/113.88.1.10", running.addr))
        .header("X-API-Key", "configured-key-1234567890")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["location"]["country"], "CN");
    running.stop().await.unwrap();
}

/// An old key file stops working once keys are in the configuration (it
/// used to stay valid beside them), and the sources are named.
#[tokio::test]
async fn an_old_key_file_stops_working_once_keys_are_configured() {
    let dir = data_dir();
    std::fs::write(dir.path().join("api-key"), "old-file-key-0123456789\n").unwrap();
    // Without configured keys the file is the one source.
    let keys = serve::api_keys(&config(dir.path())).unwrap();
    assert_eq!(keys.keys, ["old-file-key-0123456789"]);
    assert_eq!(
        keys.sources(),
        format!("key file {}", dir.path().join("api-key").display())
    );
    let mut c = config(dir.path());
    c.server.api_keys = vec![
        "configured-key-1234567890".into(),
        "second-key-0987654321".into(),
    ];
    let keys = serve::api_keys(&c).unwrap();
    assert_eq!(keys.sources(), "server.api_keys (2 keys)");
    assert_eq!(keys.ignored_file, Some(dir.path().join("api-key")));
    let running = serve::start(c).await.unwrap();
    let get = |key: &'static str| {
        reqwest::Client::new()
            .get(format!("http://{}/v1/geo/113.88.1.10", running.addr))
            .header("X-API-Key", key)
            .send()
    };
    assert_eq!(get("old-file-key-0123456789").await.unwrap().status(), 401);
    assert_eq!(
        get("configured-key-1234567890").await.unwrap().status(),
        200
    );
    assert_eq!(get("second-key-0987654321").await.unwrap().status(), 200);
    running.stop().await.unwrap();
}

/// Item 13: on a fresh data folder, under an umask of 0 (the files used to
/// follow the umask: `warden.db` was 0644), the folder is 0700 and the
/// database with its -wal and -shm, the secret key and the API key file are
/// 0600; looser key and database files found at start are tightened. One
/// test per process (nextest), so the umask touches no other test.
#[cfg(unix)]
#[tokio::test]
async fn data_files_are_private_from_a_fresh_start() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // SAFETY: umask only sets the process's file creation mask.
    unsafe { libc::umask(0) };
    let geo = data_dir();
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mut c = config(&data);
    c.geo.dir = Some(geo.path().join("geo"));
    let running = serve::start(c.clone()).await.unwrap();
    let key = std::fs::read_to_string(data.join("api-key")).unwrap();
    let r = reqwest::Client::new()
        .post(format!("http://{}/v1/report", running.addr))
        .bearer_auth(key.trim())
        .json(&json!({"user": "alice", "ip": "113.88.1.10", "protocol": "imap", "outcome": "success"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(mode(&data), 0o700);
    for f in [
        "warden.db",
        "warden.db-wal",
        "warden.db-shm",
        "secret-key",
        "api-key",
    ] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    running.stop().await.unwrap();

    for (f, m) in [
        (".", 0o755),
        ("secret-key", 0o644),
        ("api-key", 0o640),
        ("warden.db", 0o644),
    ] {
        std::fs::set_permissions(data.join(f), std::fs::Permissions::from_mode(m)).unwrap();
    }
    let running = serve::start(c).await.unwrap();
    // An existing folder may be shared on purpose: warned about, kept.
    assert_eq!(mode(&data), 0o755);
    for f in ["secret-key", "api-key", "warden.db"] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    running.stop().await.unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn warden(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WARDEN_DATA_DIR", dir)
        .env("WARDEN_LOG__FILTER", "warn");
    c
}

#[test]
fn the_binary_serves_and_commits_everything_on_sigterm() {
    let dir = data_dir();
    let port = free_port();
    let child = warden(dir.path())
        .env("WARDEN_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("WARDEN_SERVER__API_KEYS", "k-0123456789abcdef")
        // 200 reports at once on a debug build: let them wait for a slot
        // rather than be shed (this test is about what is acknowledged).
        .env("WARDEN_SERVER__QUEUE_TIMEOUT_MS", "30000")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    rt.block_on(async {
        let http = reqwest::Client::new();
        let mut ready = false;
        for _ in 0..200 {
            if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
                ready = r.status() == 200;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready, "warden did not become ready");
        // Many concurrent reports; each acknowledged one must be stored.
        let mut tasks = Vec::new();
        for i in 0..200 {
            let http = http.clone();
            let base = base.clone();
            tasks.push(tokio::spawn(async move {
                let body = json!({"user": format!("u{}", i % 20), "ip": "113.88.1.10", "protocol": "imap", "outcome": if i % 3 == 0 { "failure" } else { "success" }});
                http.post(format!("{base}/v1/report")).bearer_auth("k-0123456789abcdef").json(&body).send().await.unwrap().status()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 200);
        }
    });
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    rt.block_on(async {
        let store = SqliteStore::open(dir.path().join("warden.db"))
            .await
            .unwrap();
        let mut total = 0;
        for u in 0..20 {
            total += store
                .history(&format!("u{u}"), HistoryQuery::latest(1000))
                .await
                .unwrap()
                .len();
        }
        assert_eq!(total, 200);
        assert_eq!(store.load_profiles().await.unwrap().len(), 20);
    });
}

#[test]
fn cli_migrate_geo_lookup_and_config_errors() {
    let dir = data_dir();
    let out = warden(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("warden.db").is_file());

    let out = warden(dir.path())
        .args(["geo", "lookup", "::ffff:105.112.1.1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ip"], "105.112.1.1");
    assert_eq!(v["location"]["country"], "NG");
    assert_eq!(v["attribution"]["text"], "IP geolocation by DB-IP");

    let out = warden(dir.path())
        .args(["geo", "lookup", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an IP address"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[policy.thresholds]\nmedium = 2.0\n").unwrap();
    let out = warden(dir.path())
        .args(["--config"])
        .arg(&bad)
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("thresholds"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = warden(dir.path())
        .env("WARDEN_SERVER__LISTEN", "127.0.0.1:1")
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let effective: HashMap<String, Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(effective["server"]["listen"], "127.0.0.1:1");

    let out = warden(dir.path())
        .args(["config", "reference"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        warden::config::reference_markdown()
    );
}

/// Runs a `warden` CLI command against the service; returns stdout.
fn cli(dir: &Path, port: u16, key: &str, args: &[&str], stdin: Option<&str>) -> String {
    super::run_cli(warden(dir), port, key, args, stdin)
}

#[test]
fn credentials_through_the_cli_and_api_and_no_secret_in_any_log() {
    const KEY: &str = "k-0123456789abcdef";
    const PASSWORD: &str = "plum-orchard-lantern-42";
    let dir = data_dir();
    let port = free_port();
    let child = warden(dir.path())
        .env("WARDEN_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("WARDEN_SERVER__API_KEYS", KEY)
        .env("WARDEN_LOG__FILTER", "trace")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the log as it comes: a full pipe would stall the service (its
    // trace log outgrows the pipe's buffer within seconds).
    let mut child = child;
    let log_reader = {
        let mut stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut log = Vec::new();
            std::io::Read::read_to_end(&mut stderr, &mut log).unwrap();
            log
        })
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    rt.block_on(async {
        for _ in 0..200 {
            if http.get(format!("{base}/readyz")).send().await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("warden did not become ready");
    });
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("secret-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the sealing key file is private");
    }

    let created = cli(
        dir.path(),
        port,
        KEY,
        &["user", "create", "alice@example.com", "--password-stdin"],
        Some(PASSWORD),
    );
    assert!(created.contains("\"has_password\": true"), "{created}");
    let code: Value = serde_json::from_str(&cli(
        dir.path(),
        port,
        KEY,
        &[
            "user",
            "app-password",
            "alice@example.com",
            "--name",
            "Foxmail",
            "--protocols",
            "imap",
        ],
        None,
    ))
    .unwrap();
    let code = code["code"].as_str().unwrap().to_string();

    let mut secrets = vec![PASSWORD.to_string(), code.clone(), code.replace(' ', "")];
    rt.block_on(async {
        let enrol = call(
            &http,
            &base,
            KEY,
            "/v1/users/alice@example.com/totp",
            json!({}),
        )
        .await;
        let secret = enrol["secret"].as_str().unwrap().to_string();
        let totp = warden_auth::Totp::new(warden_auth::TotpSecret::from_base32(&secret).unwrap());
        let now = warden_core::Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64,
        );
        let confirmed = call(
            &http,
            &base,
            KEY,
            "/v1/users/alice@example.com/totp/confirm",
            json!({"code": totp.code_now(now)}),
        )
        .await;
        secrets.push(secret);
        for c in confirmed["recovery_codes"].as_array().unwrap() {
            secrets.push(c.as_str().unwrap().to_string());
        }
        let verify = |password: &str, protocol: &str| {
            json!({"user": "alice@example.com", "password": password, "protocol": protocol,
                   "ip": "113.88.1.10", "tls": true})
        };
        let ok = call(&http, &base, KEY, "/v1/auth/verify", verify(&code, "imap")).await;
        assert_eq!(ok["result"], "ok", "{ok}");
        let refused = call(&http, &base, KEY, "/v1/auth/verify", verify(&code, "smtp")).await;
        assert_eq!(refused["reason"], "protocol_not_allowed", "{refused}");
        let refused = call(
            &http,
            &base,
            KEY,
            "/v1/auth/verify",
            verify(PASSWORD, "imap"),
        )
        .await;
        assert_eq!(refused["reason"], "app_password_required", "{refused}");
        for i in 0..5 {
            call(
                &http,
                &base,
                KEY,
                "/v1/auth/verify",
                verify(&format!("guess-{i}"), "imap"),
            )
            .await;
        }
        let locked = call(&http, &base, KEY, "/v1/auth/verify", verify(&code, "imap")).await;
        assert_eq!(locked["reason"], "locked_by_risk_control", "{locked}");
        let login = call(
            &http,
            &base,
            KEY,
            "/v1/auth/login",
            json!({"user": "alice@example.com", "password": PASSWORD, "ip": "120.230.1.1"}),
        )
        .await;
        assert_eq!(login["status"], "totp_required", "{login}");
        secrets.push(login["login_token"].as_str().unwrap().to_string());
        // No API answer but the creating one shows a secret.
        let account = http
            .get(format!("{base}/v1/users/alice@example.com"))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let codes = http
            .get(format!("{base}/v1/users/alice@example.com/app-passwords"))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for s in &secrets {
            assert!(
                !account.contains(s) && !codes.contains(s),
                "secret in an API answer"
            );
        }
        assert!(!account.contains("argon2"), "{account}");
    });
    let diagnosis = cli(
        dir.path(),
        port,
        KEY,
        &["diagnose", "alice@example.com"],
        None,
    );
    assert!(
        diagnosis.contains("locked by risk control until"),
        "{diagnosis}"
    );
    assert!(diagnosis.contains("does not allow SMTP"), "{diagnosis}");
    // In Chinese: no English frame, times with their zone.
    let zh = cli(
        dir.path(),
        port,
        KEY,
        &["diagnose", "alice@example.com", "--zh"],
        None,
    );
    assert!(zh.starts_with("alice@example.com 的登录诊断\n"), "{zh}");
    assert!(
        zh.contains("被风控锁定，至 ") && zh.contains("(UTC+8) 解除"),
        "{zh}"
    );
    assert!(!zh.contains("account:") && !zh.contains("unnamed"), "{zh}");

    // A password reset reads as a summary in the chosen language.
    const NEW_PASSWORD: &str = "quiet-harbour-willow-88";
    secrets.push(NEW_PASSWORD.to_string());
    let passwd = cli(
        dir.path(),
        port,
        KEY,
        &["user", "passwd", "alice@example.com", "--zh"],
        Some(NEW_PASSWORD),
    );
    assert!(
        passwd.starts_with("已为 alice@example.com 设置新密码。\n  强度："),
        "{passwd}"
    );
    assert!(passwd.contains("已吊销 1 个客户端授权码"), "{passwd}");
    assert!(
        !passwd.contains('{') && !passwd.contains("colour"),
        "{passwd}"
    );

    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    child.wait().unwrap();
    let log = log_reader.join().unwrap();
    let log = String::from_utf8_lossy(&log);
    assert!(
        log.contains("/v1/auth/verify") || log.len() > 1000,
        "the log is not empty: trace logging worked"
    );
    for s in &secrets {
        assert!(
            !log.contains(s.as_str()),
            "a secret appears in the log: {s}"
        );
    }
}

/// Runs the binary's `serve` until it exits by itself (a refusal at
/// start-up); fails if it is still running after a minute (it started).
fn serve_refused(dir: &Path) -> (Option<i32>, String) {
    let mut child = warden(dir)
        .env(
            "WARDEN_SERVER__LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .env("WARDEN_SERVER__API_KEYS", "k-0123456789abcdef")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("warden serve started although it should have refused");
}

#[test]
fn start_up_refuses_a_missing_or_other_secret_key_when_totp_secrets_are_sealed() {
    let dir = data_dir();
    let key_file = dir.path().join("secret-key");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = "k-0123456789abcdef";
    let cfg = || Config {
        server: warden::config::Server {
            listen: "127.0.0.1:0".into(),
            api_keys: vec![api.into()],
            ..Default::default()
        },
        ..config(dir.path())
    };
    // Alice turns TOTP on.
    rt.block_on(async {
        let running = serve::start(cfg()).await.unwrap();
        let base = format!("http://{}", running.addr);
        let http = reqwest::Client::new();
        call(
            &http,
            &base,
            api,
            "/v1/users",
            json!({"user": "alice@acme.test", "password": "correct horse battery staple"}),
        )
        .await;
        let e = call(
            &http,
            &base,
            api,
            "/v1/users/alice@acme.test/totp",
            json!({}),
        )
        .await;
        let totp = warden_auth::Totp::new(
            warden_auth::TotpSecret::from_base32(e["secret"].as_str().unwrap()).unwrap(),
        );
        let now = warden_core::Timestamp(jiff::Timestamp::now().as_second());
        call(
            &http,
            &base,
            api,
            "/v1/users/alice@acme.test/totp/confirm",
            json!({"code": totp.code_now(now)}),
        )
        .await;
        running.stop().await.unwrap();
    });
    let original = std::fs::read_to_string(&key_file).unwrap();

    // Another key: refused, with the way out, and nothing is served.
    std::fs::write(
        &key_file,
        warden_auth::SecretKey::generate().to_hex().as_str(),
    )
    .unwrap();
    let (code, stderr) = serve_refused(dir.path());
    assert!(code.is_some_and(|c| c != 0), "exit {code:?}: {stderr}");
    assert!(
        stderr.contains("is not the key that sealed the 1 TOTP secrets"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Restore the key file from the backup"),
        "{stderr}"
    );
    assert!(stderr.contains("warden secret-key reset --yes"), "{stderr}");
    // No key file: refused too, and no new key is made.
    std::fs::remove_file(&key_file).unwrap();
    let (code, stderr) = serve_refused(dir.path());
    assert!(code.is_some_and(|c| c != 0), "exit {code:?}: {stderr}");
    assert!(stderr.contains("is missing, but"), "{stderr}");
    assert!(!key_file.exists(), "a new key was written");

    // The backup restored: it starts, and TOTP still guards alice.
    std::fs::write(&key_file, &original).unwrap();
    rt.block_on(async {
        let running = serve::start(cfg()).await.unwrap();
        let base = format!("http://{}", running.addr);
        let v = call(&reqwest::Client::new(), &base, api, "/v1/auth/verify", json!({"user": "alice@acme.test", "password": "correct horse battery staple", "protocol": "imap", "ip": "113.88.1.10", "tls": true})).await;
        assert_eq!(v["reason"], "app_password_required", "{v}");
        running.stop().await.unwrap();
    });

    // No backup: the explicit reset switches TOTP off, and it starts.
    std::fs::remove_file(&key_file).unwrap();
    let (code, _, stderr) = super::output_of(warden(dir.path()).args(["secret-key", "reset"]));
    assert!(
        code.is_some_and(|c| c != 0) && stderr.contains("--yes"),
        "{stderr}"
    );
    let (code, stdout, stderr) =
        super::output_of(warden(dir.path()).args(["secret-key", "reset", "--yes"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("TOTP switched off for 1 accounts"),
        "{stdout}"
    );
    assert!(key_file.exists());
    rt.block_on(async {
        let running = serve::start(cfg()).await.unwrap();
        let base = format!("http://{}", running.addr);
        let http = reqwest::Client::new();
        let v = call(&http, &base, api, "/v1/auth/verify", json!({"user": "alice@acme.test", "password": "correct horse battery staple", "protocol": "imap", "ip": "113.88.1.10", "tls": true})).await;
        assert_eq!(v["result"], "ok", "{v}");
        let r = http
            .get(format!("{base}/v1/users/alice@acme.test/security-events"))
            .bearer_auth(api)
            .send()
            .await
            .unwrap();
        let events: Value = r.json().await.unwrap();
        assert_eq!(events["events"][0]["kind"], "two_factor_disabled", "{events}");
        assert_eq!(events["events"][0]["actor"], "system", "{events}");
        running.stop().await.unwrap();
    });
}
