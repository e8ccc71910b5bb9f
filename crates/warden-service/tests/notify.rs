//! Alert delivery with real parts: a real SMTP server (Python aiosmtpd) on a
//! loopback port receives the alert emails, parsed back with Python's
//! `email`; a Python receiver runs the webhook verification snippet taken
//! from docs/alert-delivery.md; a loopback HTTP receiver checks the WeCom,
//! DingTalk and Slack payloads and answers with failures to drive retries.
//!
//! Each test builds its own service on a real SQLite file in a temp dir,
//! with a clock the test moves.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warden_auth::SecretKey;
use warden_core::{
    Account, AccountStatus, Alert, AlertKind, AlertState, ChannelKind, Clock, Country, Decision,
    DeliveryState, Engine, Grade, Lang, Policy, Protocol, ReasonCode, Role, Timestamp,
};
use warden_geo::IpIntel;
use warden_service::notify::{self, AdminRoute, Channel, NotifySettings, RetrySettings, Smtp};
use warden_service::{AuthSettings, Credentials, Events, Service, ShortLived};
use warden_store::{
    AccountStore, AccountWrite, AlertStore, BatchConfig, BatchWriter, DeliveryQuery, DeliveryStore,
    SqliteStore, Store, TemplateStore,
};

/// 2026-03-01T00:00:00Z
const T0: i64 = 1_772_323_200;

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

struct World {
    service: Arc<Service<SqliteStore>>,
    clock: Arc<TestClock>,
    dir: tempfile::TempDir,
}

impl World {
    async fn new(notify: NotifySettings) -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(dir.path().join("warden.db"))
                .await
                .unwrap(),
        );
        store.migrate().await.unwrap();
        let writer = BatchWriter::spawn(store.clone(), BatchConfig::default()).unwrap();
        let clock = Arc::new(TestClock(AtomicI64::new(T0)));
        let mut policy = Policy::default();
        policy.learning.utc_offset_minutes = 480;
        let service = Arc::new(Service {
            engine: Engine::new(policy).unwrap().into(),
            intel: Arc::new(IpIntel::builder().build().unwrap()),
            store,
            writer,
            short: ShortLived::memory(),
            clock: clock.clone(),
            credentials: Credentials::new(AuthSettings::default(), SecretKey::generate()).unwrap(),
            settings: Default::default(),
            texts: Default::default(),
            rates: Default::default(),
            events: Events::standard(),
            snapshots: Default::default(),
            alerts: Default::default(),
            notify,
            answers: Default::default(),
            blocks: Default::default(),
            policies: Default::default(),
            devices: Default::default(),
            stepup: Default::default(),
            sensitive: Default::default(),
            audit: warden_service::audit::AuditLog::new(
                warden_audit::AuditSigner::from_seed(&[7; 32]).unwrap(),
                Default::default(),
            ),
            incidents: Default::default(),
        });
        World {
            service,
            clock,
            dir,
        }
    }

    fn advance(&self, secs: i64) {
        self.clock.0.fetch_add(secs, Ordering::SeqCst);
    }

    async fn account(&self, user: &str, email: Option<&str>, lang: Option<Lang>) {
        let now = Timestamp(T0);
        let account = Account {
            user: user.into(),
            org: "default".into(),
            display_name: user.into(),
            email: email.map(str::to_string),
            phone: None,
            role: Role::User,
            status: AccountStatus::Active,
            status_reason: None,
            password_hash: None,
            password_changed_at: None,
            must_change_password: false,
            two_factor_changed_at: None,
            lang,
            created_at: now,
            updated_at: now,
        };
        self.service
            .store
            .commit(&AccountWrite {
                account: Some(account),
                create: true,
                ..AccountWrite::default()
            })
            .await
            .unwrap();
    }

    async fn alert(&self, user: &str, grade: Grade) -> i64 {
        let a = Alert {
            id: 0,
            kind: AlertKind::UnusualLocation,
            grade,
            state: AlertState::Open,
            user: Some(user.into()),
            created_at: Timestamp(T0),
            ts: Timestamp(T0),
            last_ts: Timestamp(T0),
            count: 1,
            dedupe_key: format!("{user}|unusual_location|NG"),
            notify_user: true,
            notify_admins: true,
            ip: Some("102.89.1.2".parse::<IpAddr>().unwrap()),
            country: Some(Country::new("NG").unwrap()),
            region: Some("Lagos".into()),
            city: Some("Ikeja".into()),
            asn: Some(29465),
            isp: Some("MTN Nigeria".into()),
            // Hostile: markup and a hidden right-to-left override.
            device: Some("iPhone <b>x</b>\u{202e}".into()),
            client: Some("Foxmail".into()),
            protocol: Some(Protocol::Imap),
            decision: Some(Decision::Allow),
            succeeded: true,
            reasons: vec![ReasonCode::UnusualCountry],
            event_id: None,
            answer: None,
            answered_at: None,
            answered_ip: None,
            note: String::new(),
        };
        self.service.store.insert_alert(&a).await.unwrap()
    }

    async fn run_once(&self) -> usize {
        notify::fan_out(&self.service).await.unwrap();
        notify::deliver_due(&self.service).await.unwrap()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn fast_retry() -> RetrySettings {
    RetrySettings {
        max_attempts: 3,
        base: Duration::from_secs(10),
        max: Duration::from_secs(60),
    }
}

fn http_channel(name: &str, kind: ChannelKind, url: String, secret: Option<&str>) -> Channel {
    Channel {
        name: name.into(),
        kind,
        smtp: None,
        url: Some(url),
        secret: secret.map(str::to_string),
        timeout: Duration::from_secs(5),
    }
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a Python script and waits for it to print `ready`.
fn python(script: &Path, args: &[&str]) -> Proc {
    let mut child = Command::new("python3")
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3");
    let out = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the helper did not start");
    Proc(child)
}

// ------------------------------------------------------------------- SMTP

const SMTP_SERVER: &str = r#"
import sys, time, pathlib
from aiosmtpd.controller import Controller

out = pathlib.Path(sys.argv[1])
class Save:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Save.n += 1
        (out / f"{Save.n:04}.eml").write_bytes(envelope.original_content)
        (out / f"{Save.n:04}.rcpt").write_text(",".join(envelope.rcpt_tos))
        return "250 OK"

c = Controller(Save(), hostname="127.0.0.1", port=int(sys.argv[2]))
c.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"#;

const PARSE_MAIL: &str = r#"
import sys, json, email, html
from email import policy
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=policy.default)
print(json.dumps({
    "subject": m["subject"], "to": m["to"], "message_id": m["message-id"],
    "multipart": m.get_content_type(),
    "text": m.get_body(("plain",)).get_content(),
    "html": m.get_body(("html",)).get_content(),
    "html_unescaped": html.unescape(m.get_body(("html",)).get_content()),
}))
"#;

fn mails(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    v.sort();
    v
}

fn parse_mail(script: &Path, eml: &Path) -> serde_json::Value {
    let out = Command::new("python3")
        .arg(script)
        .arg(eml)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn links(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| w.contains("/answer/"))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_email_arrives_at_a_real_smtp_server_in_chinese_and_in_english() {
    let port = free_port();
    let mail = Channel {
        name: "mail".into(),
        kind: ChannelKind::Email,
        smtp: Some(Smtp {
            host: "127.0.0.1".into(),
            port,
            security: notify::SmtpSecurity::Plain,
            username: None,
            password: None,
            from: "Warden <warden@example.com>".into(),
        }),
        url: None,
        secret: None,
        timeout: Duration::from_secs(5),
    };
    let world = World::new(NotifySettings {
        channels: vec![mail],
        user_email_channel: Some("mail".into()),
        retry: fast_retry(),
        ..NotifySettings::default()
    })
    .await;
    let inbox = world.dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let server = world.dir.path().join("smtp.py");
    std::fs::write(&server, SMTP_SERVER).unwrap();
    let parse = world.dir.path().join("parse.py");
    std::fs::write(&parse, PARSE_MAIL).unwrap();
    let _smtp = python(&server, &[inbox.to_str().unwrap(), &port.to_string()]);

    // Kim has an account in Chinese with a security address; Lee has no
    // account: the login name is the mailbox, in the org's language.
    world
        .account(
            "kim@example.com",
            Some("kim.sec@example.org"),
            Some(Lang::Zh),
        )
        .await;
    let kim = world.alert("kim@example.com", Grade::Warning).await;
    let lee = world.alert("lee@example.com", Grade::Warning).await;
    // A user with neither an address nor an address-like login name is not
    // reachable (no row).
    world.alert("nobody", Grade::Warning).await;
    assert_eq!(world.run_once().await, 2);
    let got = mails(&inbox);
    assert_eq!(got.len(), 2, "{got:?}");

    let now = world.service.now();
    for (eml, (alert_id, to, zh)) in got.iter().zip([
        (kim, "kim.sec@example.org", true),
        (lee, "lee@example.com", false),
    ]) {
        let m = parse_mail(&parse, eml);
        assert_eq!(m["multipart"], "multipart/alternative");
        assert!(m["to"].as_str().unwrap().contains(to), "{m}");
        let text = m["text"].as_str().unwrap();
        let html = m["html"].as_str().unwrap();
        let subject = m["subject"].as_str().unwrap();
        // When: 2026-03-01 00:00 UTC in the org's UTC+8.
        assert!(text.contains("2026-03-01 08:00 (UTC+08:00)"), "{text}");
        // Where, which network, device, client and protocol.
        for needle in [
            "Ikeja",
            "102.89.1.2",
            "MTN Nigeria",
            "AS29465",
            "Foxmail",
            "IMAP",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
            assert!(html.contains(needle), "{needle} in {html}");
        }
        // The hostile device name: escaped in HTML, hidden character gone.
        assert!(html.contains("iPhone &lt;b&gt;x&lt;&#x2f;b&gt;"), "{html}");
        assert!(!text.contains('\u{202e}') && !html.contains('\u{202e}'));
        // What a mail reader shows of the HTML (entities decoded).
        let shown = m["html_unescaped"].as_str().unwrap();
        assert!(shown.contains("href=\"https://db-ip.com\"") && shown.contains("DB-IP"));
        if zh {
            assert!(subject.contains("异地登录"), "{subject}");
            for needle in ["尼日利亚", "是我本人", "不是我", "位置不正确", "IMAP"] {
                assert!(text.contains(needle), "{needle} in {text}");
            }
        } else {
            assert!(subject.contains("unusual location"), "{subject}");
            for needle in [
                "Nigeria",
                "Yes, it was me",
                "No, it wasn't me",
                "The location is wrong",
            ] {
                assert!(text.contains(needle), "{needle} in {text}");
            }
        }
        // Three working links, one per answer, each opening this alert.
        let found = links(text);
        assert_eq!(found.len(), 3, "{found:?}");
        for (link, choice) in found.iter().zip(["it_was_me", "not_me", "wrong_location"]) {
            assert!(link.ends_with(&format!("?choice={choice}")), "{link}");
            let token = link
                .split("/answer/")
                .nth(1)
                .unwrap()
                .split('?')
                .next()
                .unwrap();
            assert_eq!(world.service.answers.open(token, now), Ok(alert_id));
            assert!(
                shown.contains(&format!("href=\"{link}\"")),
                "{link} in html"
            );
        }
        // A stable Message-ID per delivery.
        let id = m["message_id"].as_str().unwrap();
        assert!(
            id.starts_with("<warden-delivery-") && id.ends_with("@example.com>"),
            "{id}"
        );
    }
    let sent = world
        .service
        .store
        .deliveries(DeliveryQuery {
            state: Some(DeliveryState::Sent),
            limit: 10,
            ..DeliveryQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(sent.len(), 2);
    // Nothing is sent twice.
    assert_eq!(world.run_once().await, 0);
    assert_eq!(mails(&inbox).len(), 2);
}

// ------------------------------------------------------ loopback receiver

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Request {
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A loopback HTTP receiver: records every request and answers with the
/// next queued status (200 when none is queued).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Request>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start(&self) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                let me = me.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        let n = conn.read(&mut chunk).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let mut lines = head.split("\r\n");
                    let target = lines.next().unwrap().split(' ').nth(1).unwrap().to_string();
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        .collect();
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                        .map(|(_, v)| v.parse().unwrap())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let n = conn.read(&mut chunk).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = buf[head_end..head_end + len].to_vec();
                    me.got.lock().push(Request {
                        target,
                        headers,
                        body,
                    });
                    let status = me.statuses.lock().pop_front().unwrap_or(200);
                    let answer = r#"{"errcode":0,"errmsg":"ok"}"#;
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    let _ = conn.write_all(reply.as_bytes()).await;
                });
            }
        });
        port
    }

    fn requests(&self) -> Vec<Request> {
        self.got.lock().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wecom_dingtalk_and_slack_payloads_match_their_documented_shapes() {
    let rx = Receiver::default();
    let port = rx.start().await;
    let base = format!("http://127.0.0.1:{port}");
    let secret = "SECtest0123456789";
    let channels = vec![
        http_channel(
            "wecom",
            ChannelKind::WeCom,
            format!("{base}/cgi-bin/webhook/send?key=k1"),
            None,
        ),
        http_channel(
            "ding",
            ChannelKind::DingTalk,
            format!("{base}/robot/send?access_token=t1"),
            Some(secret),
        ),
        http_channel(
            "slack",
            ChannelKind::Slack,
            format!("{base}/services/T/B/X"),
            None,
        ),
    ];
    let route = |c: &str, g| AdminRoute {
        channel: c.into(),
        recipients: vec![],
        min_grade: g,
    };
    let world = World::new(NotifySettings {
        channels,
        admin_routes: vec![
            route("wecom", Grade::Warning),
            route("ding", Grade::Warning),
            route("slack", Grade::Critical),
        ],
        default_lang: Lang::Zh,
        retry: fast_retry(),
        ..NotifySettings::default()
    })
    .await;
    // A warning reaches WeCom and DingTalk, not Slack (critical only).
    world.alert("kim@example.com", Grade::Warning).await;
    assert_eq!(world.run_once().await, 2);
    world.alert("lee@example.com", Grade::Critical).await;
    assert_eq!(world.run_once().await, 3);
    let got = rx.requests();
    assert_eq!(got.len(), 5);

    let wecom: Vec<_> = got
        .iter()
        .filter(|r| r.target.starts_with("/cgi-bin/webhook/send?key=k1"))
        .collect();
    assert_eq!(wecom.len(), 2);
    for r in &wecom {
        let v = r.json();
        assert_eq!(v["msgtype"], "markdown");
        let content = v["markdown"]["content"].as_str().unwrap();
        assert!(
            content.contains("异地登录") && content.contains("102.89.1.2"),
            "{content}"
        );
        // Markdown from the client is escaped.
        assert!(!content.contains("<b>"), "{content}");
        assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    }

    let ding: Vec<_> = got
        .iter()
        .filter(|r| r.target.starts_with("/robot/send?"))
        .collect();
    assert_eq!(ding.len(), 2);
    for r in &ding {
        let query: Vec<(String, String)> = r
            .target
            .split_once('?')
            .unwrap()
            .1
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        let get = |k: &str| {
            query
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("access_token"), "t1");
        let ts: i64 = get("timestamp").parse().unwrap();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!((now_ms - ts).abs() < 60_000, "timestamp in milliseconds");
        // sign = urlencode(base64(HMAC-SHA256(secret, "timestamp\nsecret"))).
        let sign = percent_encoding::percent_decode_str(&get("sign"))
            .decode_utf8()
            .unwrap()
            .to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{ts}\n{secret}").as_bytes());
        let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(sign, want);
        let v = r.json();
        assert_eq!(v["msgtype"], "markdown");
        assert!(v["markdown"]["title"].as_str().unwrap().contains("Warden"));
        assert!(v["markdown"]["text"].as_str().unwrap().contains("异地登录"));
    }

    let slack: Vec<_> = got
        .iter()
        .filter(|r| r.target == "/services/T/B/X")
        .collect();
    assert_eq!(slack.len(), 1);
    let v = slack[0].json();
    assert!(
        v["text"].as_str().unwrap().contains("lee@example.com"),
        "{v}"
    );
    assert_eq!(v["blocks"][0]["type"], "section");
    assert_eq!(v["blocks"][0]["text"]["type"], "mrkdwn");
    assert!(v["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap()
        .contains("102.89.1.2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_is_retried_with_backoff_until_it_succeeds_or_attempts_run_out() {
    let rx = Receiver::default();
    let port = rx.start().await;
    let flaky = rx.clone();
    let world = World::new(NotifySettings {
        channels: vec![
            http_channel(
                "hook",
                ChannelKind::Webhook,
                format!("http://127.0.0.1:{port}/hook"),
                Some("s3cret"),
            ),
            // Nobody listens here.
            http_channel(
                "dead",
                ChannelKind::Webhook,
                format!("http://127.0.0.1:{}/x", free_port()),
                None,
            ),
        ],
        admin_routes: vec![
            AdminRoute {
                channel: "hook".into(),
                recipients: vec![],
                min_grade: Grade::Info,
            },
            AdminRoute {
                channel: "dead".into(),
                recipients: vec![],
                min_grade: Grade::Info,
            },
        ],
        retry: fast_retry(),
        ..NotifySettings::default()
    })
    .await;
    flaky.statuses.lock().extend([500, 503]);
    let a = world.alert("kim@example.com", Grade::Warning).await;
    let of = |channel: &'static str| {
        let store = world.service.store.clone();
        async move {
            store
                .deliveries(DeliveryQuery {
                    alert_id: Some(a),
                    limit: 10,
                    ..DeliveryQuery::default()
                })
                .await
                .unwrap()
                .into_iter()
                .find(|d| d.channel == channel)
                .unwrap()
        }
    };
    assert_eq!(world.run_once().await, 0);
    let d = of("hook").await;
    assert_eq!((d.state, d.attempts), (DeliveryState::Pending, 1));
    assert!(
        d.last_error.as_deref().unwrap().contains("HTTP 500"),
        "{d:?}"
    );
    // First wait: 10 s with jitter in [5, 10].
    let wait = d.next_at.secs() - T0;
    assert!((5..=10).contains(&wait), "{wait}");
    // Not due before its time.
    world.advance(wait - 1);
    assert_eq!(world.run_once().await, 0);
    assert_eq!(of("hook").await.attempts, 1);
    world.advance(1);
    assert_eq!(world.run_once().await, 0);
    let d = of("hook").await;
    assert_eq!((d.state, d.attempts), (DeliveryState::Pending, 2));
    assert!(d.last_error.as_deref().unwrap().contains("HTTP 503"));
    // Second wait: 20 s with jitter in [10, 20].
    let wait2 = d.next_at.secs() - world.service.now().secs();
    assert!((10..=20).contains(&wait2), "{wait2}");
    world.advance(wait2);
    assert_eq!(world.run_once().await, 1);
    let d = of("hook").await;
    assert_eq!(
        (d.state, d.attempts, d.last_error.clone()),
        (DeliveryState::Sent, 3, None)
    );
    // Every try carried the same delivery id; three requests in all.
    let got: Vec<_> = flaky.requests();
    assert_eq!(got.len(), 3);
    assert!(got
        .iter()
        .all(|r| r.header("X-Warden-Delivery") == Some(&format!("d{}", d.id))));
    // The dead receiver: given up after max_attempts (3) tries. Its waits
    // have jitter of their own, so give it each wait's upper bound (20 s)
    // a few times over; more rounds cannot add tries beyond the maximum.
    for _ in 0..3 {
        world.advance(20);
        assert_eq!(world.run_once().await, 0);
    }
    let dead = of("dead").await;
    assert_eq!(
        (dead.state, dead.attempts),
        (DeliveryState::Failed, 3),
        "{dead:?}"
    );
    assert!(
        dead.last_error
            .as_deref()
            .unwrap()
            .contains("cannot connect"),
        "{dead:?}"
    );
    world.advance(100_000);
    assert_eq!(world.run_once().await, 0);
    assert_eq!(of("dead").await.attempts, 3);
}

// -------------------------------------------- the documented verification

const RECEIVER: &str = r#"
import sys, json
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = sys.argv[2].encode()
LOG = open(sys.argv[3], "a")
SEEN = set()

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            delivery = verify_warden_webhook(SECRET, self.headers, body, SEEN)
            LOG.write(json.dumps({"ok": delivery}) + "\n")
            self.send_response(200)
        except ValueError as e:
            LOG.write(json.dumps({"refused": str(e)}) + "\n")
            self.send_response(401)
        LOG.flush()
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
print("ready", flush=True)
server.serve_forever()
"#;

/// The Python block between the markers in docs/alert-delivery.md.
fn documented_snippet() -> String {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/alert-delivery.md"),
    )
    .unwrap();
    let start = doc.find("<!-- warden-webhook-verify:start -->").unwrap();
    let end = doc.find("<!-- warden-webhook-verify:end -->").unwrap();
    let block = &doc[start..end];
    let code = block.split("```python\n").nth(1).unwrap();
    code.split("```").next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_signatures_verify_with_the_documented_snippet_and_replays_are_refused() {
    let port = free_port();
    let world = World::new(NotifySettings {
        channels: vec![http_channel(
            "hook",
            ChannelKind::Webhook,
            format!("http://127.0.0.1:{port}/warden"),
            Some("whsec-test"),
        )],
        admin_routes: vec![AdminRoute {
            channel: "hook".into(),
            recipients: vec![],
            min_grade: Grade::Info,
        }],
        retry: fast_retry(),
        ..NotifySettings::default()
    })
    .await;
    let script = world.dir.path().join("receiver.py");
    let snippet = documented_snippet();
    // The README shows the very same block.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    assert!(
        readme.contains(&snippet),
        "README.md's snippet differs from docs/alert-delivery.md's"
    );
    std::fs::write(&script, format!("{snippet}\n{RECEIVER}")).unwrap();
    let log = world.dir.path().join("log.jsonl");
    let _rx = python(
        &script,
        &[&port.to_string(), "whsec-test", log.to_str().unwrap()],
    );
    let read_log = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };

    world.alert("kim@example.com", Grade::Warning).await;
    assert_eq!(world.run_once().await, 1, "the receiver accepted it");
    let first = read_log();
    assert_eq!(first.len(), 1);
    let id = first[0]["ok"].as_str().unwrap().to_string();
    assert!(id.starts_with('d'), "{first:?}");

    // Replaying the same request, and tampering with it, is refused.
    let msg = {
        let d = world
            .service
            .store
            .deliveries(DeliveryQuery {
                limit: 1,
                ..DeliveryQuery::default()
            })
            .await
            .unwrap()
            .remove(0);
        assert_eq!(format!("d{}", d.id), id);
        d
    };
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let body =
        serde_json::to_vec(&serde_json::json!({"id": id, "alert_id": msg.alert_id})).unwrap();
    let sign = |ts: i64, body: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec-test").unwrap();
        mac.update(format!("{ts}.").as_bytes());
        mac.update(body);
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("v1={hex}")
    };
    let client = reqwest::Client::new();
    let post = |ts: i64, sig: String, body: Vec<u8>| {
        client
            .post(format!("http://127.0.0.1:{port}/warden"))
            .header("X-Warden-Timestamp", ts.to_string())
            .header("X-Warden-Signature", sig)
            .body(body)
            .send()
    };
    // A correctly signed request with an id already seen: a replay.
    let r = post(ts, sign(ts, &body), body.clone()).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A fresh id but a stale timestamp.
    let fresh = serde_json::to_vec(&serde_json::json!({"id": "d999999"})).unwrap();
    let old = ts - 3600;
    let r = post(old, sign(old, &fresh), fresh.clone()).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A tampered body.
    let r = post(ts, sign(ts, &fresh), b"{\"id\":\"d1000000\"}".to_vec())
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // The fresh, correctly signed one passes (the snippet is not refusing
    // everything).
    let r = post(ts, sign(ts, &fresh), fresh).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let log = read_log();
    let reasons: Vec<&str> = log.iter().filter_map(|v| v["refused"].as_str()).collect();
    assert_eq!(
        reasons,
        ["replayed delivery", "stale timestamp", "bad signature"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_are_validated_before_saving_and_previewed_in_both_languages() {
    let world = World::new(NotifySettings::default()).await;
    let s = &world.service;
    // Both languages preview the built-in template.
    let en = notify::preview(s, "user_text", Lang::En, None)
        .await
        .unwrap();
    let zh = notify::preview(s, "user_text", Lang::Zh, None)
        .await
        .unwrap();
    assert!(en.contains("Yes, it was me") && zh.contains("是我本人"));
    // A broken template is refused and nothing changes.
    let err = notify::outbox::set_template(s, "user_text", Lang::En, "{% if %}", "admin", None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not render"), "{err}");
    assert_eq!(s.store.template("user_text", Lang::En).await.unwrap(), None);
    let err = notify::outbox::set_template(s, "nope", Lang::En, "x", "admin", None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown template"), "{err}");
    // A good one is saved, used, and reset.
    let out = notify::outbox::set_template(
        s,
        "user_text",
        Lang::En,
        "Hi {{ user }} from {{ place }}",
        "admin",
        None,
    )
    .await
    .unwrap();
    assert_eq!(out, "Hi user@example.com from Ikeja, Lagos, Nigeria");
    assert_eq!(
        notify::preview(s, "user_text", Lang::En, None)
            .await
            .unwrap(),
        "Hi user@example.com from Ikeja, Lagos, Nigeria"
    );
    assert!(
        notify::outbox::reset_template(s, "user_text", Lang::En, "admin", None)
            .await
            .unwrap()
    );
    assert_eq!(
        notify::preview(s, "user_text", Lang::En, None)
            .await
            .unwrap(),
        en
    );
}
