//! The end-to-end tests' machinery: Warden (the real binary), Dovecot and
//! Postfix (the Debian daemons) on high loopback ports with their
//! configuration in a temporary folder, rendered from the templates under
//! `integrations/`, and the Python mail clients of
//! `integrations/tests/mailclient.py`. Every daemon is stopped when its
//! handle is dropped, also when a test fails; a failing test prints the
//! daemons' logs.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a daemon may take to answer its first connection.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The workspace root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file under `integrations/`.
pub fn template(rel: &str) -> String {
    let path = repo().join("integrations").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Replaces each `from` by `to`; every `from` must occur (so a changed
/// template cannot silently keep a production value in a test).
pub fn render(text: &str, vars: &[(&str, String)]) -> String {
    let mut out = text.to_string();
    for (from, to) in vars {
        assert!(out.contains(from), "template has no {from:?}:\n{text}");
        out = out.replace(from, to);
    }
    assert!(!out.contains("{{"), "unrendered placeholder in:\n{out}");
    out
}

/// Fails with what to install when a needed program is missing.
pub fn require(what: &[(&str, &str)]) {
    for (path, package) in what {
        let found = if path.starts_with('/') {
            Path::new(path).exists()
        } else {
            Command::new("sh")
                .args(["-c", &format!("command -v {path}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        assert!(
            found,
            "{path} is missing: install the Debian package {package} (scripts/test.sh installs dovecot-imapd dovecot-pop3d dovecot-auth-lua postfix swaks)"
        );
    }
}

/// Dovecot with the Lua passdb, and the clients.
pub fn require_dovecot() {
    require(&[
        ("/usr/sbin/dovecot", "dovecot-core"),
        ("/usr/lib/dovecot/imap-login", "dovecot-imapd"),
        ("/usr/lib/dovecot/pop3-login", "dovecot-pop3d"),
        (
            "/usr/lib/dovecot/modules/auth/libauthdb_lua.so",
            "dovecot-auth-lua",
        ),
        ("python3", "python3"),
        ("openssl", "openssl"),
    ]);
}

/// A port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A temporary folder the daemons' unprivileged users can enter.
pub fn temp_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("warden-e2e-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Runs a command that must succeed.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A self-signed certificate (`cert.pem`, `key.pem`) in `dir`.
pub fn self_signed_cert(dir: &Path) {
    if dir.join("cert.pem").exists() {
        return;
    }
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=mail.example.test", "-keyout"])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem")));
}

/// Waits until `port` greets with a line starting with `prefix`.
pub fn wait_for_greeting(port: u16, prefix: &str, what: &str, log: &Path) {
    let started = Instant::now();
    loop {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut line = String::new();
            if BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with(prefix) {
                return;
            }
        }
        if started.elapsed() > READY_TIMEOUT {
            panic!(
                "{what} did not greet on port {port} within {READY_TIMEOUT:?}; log:\n{}",
                tail(log)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last lines of a log file.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// Sends SIGTERM, waits up to 10 s, then SIGKILL.
fn terminate(child: &mut Child) {
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The API key the tests' Warden accepts.
pub const KEY: &str = "e2e-key-0123456789abcdef";

/// The real `warden serve`, configured by `integrations/warden.toml` plus
/// the test's environment.
pub struct Warden {
    child: Option<Child>,
    pub dir: PathBuf,
    pub port: u16,
    pub postfix_port: u16,
    env: Vec<(String, String)>,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Warden {
    /// Starts Warden with its data in `dir` (geo fixtures for the synthetic
    /// address pools: 113.88.0.0/16 is Shenzhen, 105.112.0.0/16 Lagos...).
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Warden {
        let geo = dir.join("geo");
        if !geo.exists() {
            std::fs::create_dir_all(&geo).unwrap();
            crate::write_pool_fixture(&geo);
        }
        let port = free_port();
        let postfix_port = free_port();
        let config = render(
            &template("warden.toml"),
            &[("127.0.0.1:10031", format!("127.0.0.1:{postfix_port}"))],
        );
        std::fs::write(dir.join("warden.toml"), config).unwrap();
        let mut w = Warden {
            child: None,
            dir: dir.to_path_buf(),
            port,
            postfix_port,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            http: reqwest::Client::new(),
        };
        w.spawn();
        w
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("WARDEN_CONFIG", self.dir.join("warden.toml"))
            .env("WARDEN_DATA_DIR", &self.dir)
            .env("WARDEN_SERVER__LISTEN", format!("127.0.0.1:{}", self.port))
            .env("WARDEN_SERVER__API_KEYS", KEY)
            .env("WARDEN_LOG__FILTER", "info")
            // Cheap hashing: the tests check behaviour, not cost.
            .env("WARDEN_AUTH__ARGON2__MEMORY_KIB", "1024")
            .env("WARDEN_AUTH__ARGON2__ITERATIONS", "1")
            .env("WARDEN_LOGIN__TARPIT_SECS", "1")
            .env("WARDEN_LOGIN__TARPIT_MAX_SECS", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let child = cmd
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let started = Instant::now();
        let url = format!("{}/readyz", self.url());
        loop {
            let ok = self.rt.block_on(async {
                self.http
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            });
            if ok {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("warden exited with {status}:\n{}", tail(&self.log()));
            }
            assert!(
                started.elapsed() < READY_TIMEOUT,
                "warden not ready:\n{}",
                tail(&self.log())
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("warden.log")
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the service (SIGTERM: every acknowledged write is committed).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c);
        }
    }

    /// Stops and starts it again on the same port and data, with `env` too.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        self.stop();
        for (k, v) in env {
            self.env.retain(|(name, _)| name != k);
            self.env.push((k.to_string(), v.to_string()));
        }
        self.spawn();
    }

    /// Calls the API; panics unless the answer is a success.
    pub fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.rt.block_on(async {
            let mut req = self
                .http
                .request(method, format!("{}{path}", self.url()))
                .bearer_auth(KEY);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let r = req.send().await.unwrap();
            let status = r.status();
            let text = r.text().await.unwrap();
            assert!(status.is_success(), "{path}: {status} {text}");
            serde_json::from_str(&text).unwrap_or(Value::Null)
        })
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body))
    }

    pub fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None)
    }

    /// Runs the `warden` CLI against this service.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut base = Command::new(env!("CARGO_BIN_EXE_warden"));
        base.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        crate::run_cli(base, self.port, KEY, args, stdin)
    }

    /// Seven days of successful logins of `user` from `ip` (a history at home).
    pub fn history_at_home(&self, user: &str, ip: &str) {
        let now = jiff::Timestamp::now().as_second();
        for d in (1..=7).rev() {
            let ts = jiff::Timestamp::from_second(now - d * 86_400)
                .unwrap()
                .to_string();
            self.post(
                "/v1/report",
                serde_json::json!({"user": user, "ip": ip, "protocol": "imap", "outcome": "success", "ts": ts}),
            );
        }
    }

    /// The user's newest history event.
    pub fn last_event(&self, user: &str) -> Value {
        let h = self.get(&format!("/v1/users/{user}/history?limit=1"));
        h["events"][0].clone()
    }

    /// The user's newest history event once `n` of the stored events match
    /// `which`. Dovecot reports a login to Warden while it answers the
    /// client, so the client can have its reply before the event is stored.
    /// Panics after 10 s.
    pub fn event_once(&self, user: &str, n: usize, which: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let h = self.get(&format!("/v1/users/{user}/history?limit=50"));
            let events = h["events"].as_array().cloned().unwrap_or_default();
            if events.iter().filter(|e| which(e)).count() >= n {
                return events[0].clone();
            }
            assert!(
                Instant::now() < deadline,
                "fewer than {n} matching events of {user} stored: {h}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Creates an account with a password.
    pub fn create_user(&self, user: &str, password: &str) {
        self.cli(
            &["user", "create", user, "--password-stdin"],
            Some(password),
        );
    }

    /// Creates an authorization code; returns it.
    pub fn app_password(&self, user: &str) -> String {
        let out = self.cli(
            &["user", "app-password", user, "--name", "Thunderbird"],
            None,
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        v["code"].as_str().unwrap().to_string()
    }

    /// Turns on TOTP for the account (enrol and confirm).
    pub fn enable_totp(&self, user: &str) {
        let enrol = self.post(&format!("/v1/users/{user}/totp"), serde_json::json!({}));
        let secret = enrol["secret"].as_str().unwrap();
        let totp = warden_auth::Totp::new(warden_auth::TotpSecret::from_base32(secret).unwrap());
        let now = warden_core::Timestamp(jiff::Timestamp::now().as_second());
        self.post(
            &format!("/v1/users/{user}/totp/confirm"),
            serde_json::json!({"code": totp.code_now(now)}),
        );
    }
}

impl Drop for Warden {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- warden log ---\n{}", tail(&self.log()));
        }
        self.stop();
    }
}

/// Dovecot in the foreground (`dovecot -F`), from `integrations/tests/dovecot.conf`
/// plus the snippets the test appends.
pub struct Dovecot {
    child: Child,
    pub dir: PathBuf,
    pub imap: u16,
    pub imaps: u16,
    pub pop3: u16,
    pub pop3s: u16,
    /// The `inet:` auth listener for Postfix (when configured).
    pub sasl: u16,
}

impl Dovecot {
    /// `snippets(sasl_port)` returns the configuration appended to the base.
    pub fn start(dir: &Path, name: &str, snippets: impl FnOnce(u16) -> String) -> Dovecot {
        require_dovecot();
        let dir = dir.join("dovecot");
        std::fs::create_dir_all(dir.join("mail")).unwrap();
        run(Command::new("chown")
            .arg("dovecot:dovecot")
            .arg(dir.join("mail")));
        self_signed_cert(&dir);
        let (imap, imaps, pop3, pop3s, sasl) = (
            free_port(),
            free_port(),
            free_port(),
            free_port(),
            free_port(),
        );
        let base = render(
            &template("tests/dovecot.conf"),
            &[
                ("{{DIR}}", dir.display().to_string()),
                ("{{NAME}}", name.to_string()),
                ("{{IMAP}}", imap.to_string()),
                ("{{IMAPS}}", imaps.to_string()),
                ("{{POP3}}", pop3.to_string()),
                ("{{POP3S}}", pop3s.to_string()),
            ],
        );
        let conf = dir.join("dovecot.conf");
        let snippets = policy_header_file(&dir, &snippets(sasl));
        std::fs::write(&conf, format!("{base}\n{snippets}")).unwrap();
        let child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let d = Dovecot {
            child,
            dir,
            imap,
            imaps,
            pop3,
            pop3s,
            sasl,
        };
        wait_for_greeting(imap, "* OK", "dovecot", &d.log());
        d
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("dovecot.log")
    }
}

/// Where `integrations/dovecot/warden-policy.conf` reads the API key
/// header from (`auth_policy_server_api_header = <FILE`).
const POLICY_HEADER_FILE: &str = "/etc/dovecot/warden-policy-header";

/// Installs the policy snippet's header file as the docs say (`printf
/// 'X-API-Key: %s' KEY`, no final newline, root only) in `dir`, and points
/// the configuration at it.
fn policy_header_file(dir: &Path, conf: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let from = format!("<{POLICY_HEADER_FILE}");
    if !conf.contains(&from) {
        return conf.to_string();
    }
    let file = dir.join("warden-policy-header");
    std::fs::write(&file, format!("X-API-Key: {KEY}")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    conf.replace(&from, &format!("<{}", file.display()))
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- dovecot log ---\n{}", tail(&self.log()));
        }
        terminate(&mut self.child);
    }
}

/// Postfix as root with its own configuration and queue directories, from
/// `integrations/tests/postfix-*.cf` plus `integrations/postfix/main.cf`.
pub struct Postfix {
    conf: PathBuf,
    dir: PathBuf,
    pub port: u16,
}

impl Postfix {
    pub fn start(dir: &Path, sasl_port: u16, policy_port: u16) -> Postfix {
        require(&[
            ("/usr/sbin/postfix", "postfix"),
            ("python3", "python3"),
            ("openssl", "openssl"),
        ]);
        let uid = run(Command::new("id").arg("-u"));
        assert_eq!(
            uid.trim(),
            "0",
            "the Postfix end-to-end tests start Postfix and need root"
        );
        let dir = dir.join("postfix");
        let conf = dir.join("conf");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::create_dir_all(dir.join("queue")).unwrap();
        std::fs::create_dir_all(dir.join("data")).unwrap();
        run(Command::new("chown")
            .arg("postfix:postfix")
            .arg(dir.join("data")));
        self_signed_cert(&dir);
        let port = free_port();
        let base = render(
            &template("tests/postfix-main.cf"),
            &[("{{DIR}}", dir.display().to_string())],
        );
        let snippet = render(
            &template("postfix/main.cf"),
            &[
                (
                    "inet:127.0.0.1:12345",
                    format!("inet:127.0.0.1:{sasl_port}"),
                ),
                (
                    "inet:127.0.0.1:10031",
                    format!("inet:127.0.0.1:{policy_port}"),
                ),
            ],
        );
        std::fs::write(conf.join("main.cf"), format!("{base}\n{snippet}")).unwrap();
        std::fs::write(
            conf.join("master.cf"),
            render(
                &template("tests/postfix-master.cf"),
                &[("{{SMTP}}", port.to_string())],
            ),
        )
        .unwrap();
        let p = Postfix { conf, dir, port };
        run(Command::new("postfix").arg("-c").arg(&p.conf).arg("start"));
        wait_for_greeting(port, "220 ", "postfix", &p.log());
        p
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("maillog")
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- postfix log ---\n{}", tail(&self.log()));
        }
        let stopped = Command::new("postfix")
            .arg("-c")
            .arg(&self.conf)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !stopped {
            let pid =
                std::fs::read_to_string(self.dir.join("queue/pid/master.pid")).unwrap_or_default();
            let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
        }
    }
}

/// The Python mail client: one JSON object per line of its output.
pub fn client(args: &[&str]) -> Vec<Value> {
    let out = Command::new("python3")
        .arg(repo().join("integrations/tests/mailclient.py"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mailclient.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// One IMAP or POP3 login: (`ok`, the server's reply, seconds it took).
pub fn login(protocol: &str, port: u16, user: &str, password: &str, ip: &str, tls: &str) -> Value {
    let port = port.to_string();
    let mut args = vec![
        protocol,
        "--port",
        &port,
        "--user",
        user,
        "--password",
        password,
        "--tls",
        tls,
    ];
    if !ip.is_empty() {
        args.extend(["--ip", ip]);
    }
    let mut v = client(&args);
    assert_eq!(v.len(), 1, "{v:?}");
    v.remove(0)
}

/// Prints the reply a client saw (the tests' record of what they assert on)
/// and returns it.
pub fn seen(what: &str, v: &Value) -> String {
    let reply = v["reply"].as_str().unwrap_or_default().to_string();
    println!("{what}: {reply}");
    reply
}

/// An SMTP session that waits after AUTH until told to go on.
pub struct SmtpSession {
    child: Child,
    stdin: Option<ChildStdin>,
    out: BufReader<ChildStdout>,
}

impl SmtpSession {
    pub fn start(port: u16, user: &str, password: &str, ip: &str, rcpts: &[&str]) -> SmtpSession {
        let mut cmd = Command::new("python3");
        cmd.arg(repo().join("integrations/tests/mailclient.py"))
            .args(["smtp", "--port", &port.to_string(), "--user", user])
            .args(["--password", password, "--ip", ip, "--pause-after-auth"]);
        for r in rcpts {
            cmd.args(["--rcpt", r]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let out = BufReader::new(child.stdout.take().unwrap());
        SmtpSession { child, stdin, out }
    }

    /// The next reply the client printed.
    pub fn next(&mut self) -> Value {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("mailclient.py said {line:?}"))
    }

    /// Lets the client go on after AUTH; returns the rest of its replies.
    pub fn resume(mut self) -> Vec<Value> {
        drop(self.stdin.take());
        let mut rest = String::new();
        self.out.read_to_string(&mut rest).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "mailclient.py smtp failed");
        rest.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for SmtpSession {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
