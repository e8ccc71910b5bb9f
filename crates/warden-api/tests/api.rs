//! HTTP tests over a real socket: a DB-IP fixture MMDB and ASN CSVs written
//! to a temp folder, a real SQLite file, and a clock the test moves.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use warden_api::credentials::{AuthSettings, Credentials};
use warden_api::{ApiConfig, AppState};
use warden_auth::{Argon2Params, SecretKey};
use warden_core::{AccountPolicy, Clock, Engine, Policy, ProtectionLevel, Timestamp};
use warden_geo::mmdb_writer::DbipFixture;
use warden_geo::IpIntel;
use warden_service::shortlived::PENDING_TTL_SECS;
use warden_service::{Events, LoginSettings, Service, ShortLived};
use warden_store::{BatchConfig, BatchWriter, SqliteStore, Store};

mod alerts;
mod answers;
mod credentials;
mod hostile;
mod incidents;
mod notify;
mod operations;
mod policies;
mod reports;
mod sessions;
mod stepup;

const KEY: &str = "test-key-0123456789abcdef";
/// 2026-03-01T00:00:00Z
const T0: i64 = 1_772_323_200;

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

struct Harness {
    base: String,
    http: Client,
    clock: Arc<TestClock>,
    state: Arc<AppState<SqliteStore>>,
    _dir: tempfile::TempDir,
}

fn write_geo(dir: &std::path::Path) {
    DbipFixture::new()
        .city(
            "113.88.0.0/16",
            "CN",
            "Guangdong",
            "Shenzhen",
            22.54,
            114.06,
            "Asia/Shanghai",
        )
        .city(
            "120.230.0.0/16",
            "CN",
            "Guangdong",
            "Guangzhou",
            23.13,
            113.26,
            "Asia/Shanghai",
        )
        .city(
            "61.135.0.0/16",
            "CN",
            "Beijing",
            "Beijing",
            39.90,
            116.41,
            "Asia/Shanghai",
        )
        .city(
            "101.80.0.0/16",
            "CN",
            "Shanghai",
            "Shanghai",
            31.23,
            121.47,
            "Asia/Shanghai",
        )
        .city(
            "105.112.0.0/16",
            "NG",
            "Lagos",
            "Lagos",
            6.52,
            3.38,
            "Africa/Lagos",
        )
        .city(
            "81.2.69.0/24",
            "GB",
            "England",
            "London",
            51.51,
            -0.13,
            "Europe/London",
        )
        .city(
            "3.0.0.0/8",
            "US",
            "Virginia",
            "Ashburn",
            39.04,
            -77.49,
            "America/New_York",
        )
        .city(
            "2001:db8::/32",
            "CN",
            "Guangdong",
            "Shenzhen",
            22.54,
            114.06,
            "Asia/Shanghai",
        )
        .write_pair(dir)
        .unwrap();
    std::fs::write(
        dir.join("asn-ipv4.csv"),
        "3.0.0.0,3.255.255.255,16509,\"Amazon.com, Inc.\"\n61.135.0.0,61.135.255.255,4808,China Unicom Beijing\n101.80.0.0,101.80.255.255,4812,China Telecom Shanghai\n105.112.0.0,105.112.255.255,36873,Airtel Networks Limited\n113.88.0.0,113.88.255.255,4134,Chinanet\n120.230.0.0,120.230.255.255,9808,China Mobile\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("asn-ipv6.csv"),
        "2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,4134,Chinanet\n",
    )
    .unwrap();
}

impl Harness {
    async fn start() -> Harness {
        Self::start_with(ApiConfig {
            api_keys: vec![KEY.into()],
            max_body_bytes: 4096,
            ..ApiConfig::default()
        })
        .await
    }

    /// Cheap hashing: the tests hash hundreds of passwords.
    fn test_auth() -> AuthSettings {
        AuthSettings {
            argon2: Argon2Params {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            },
            ..AuthSettings::default()
        }
    }

    async fn start_with(config: ApiConfig) -> Harness {
        Self::start_full(config, Self::test_auth()).await
    }

    /// With login protection on.
    async fn start_protected() -> Harness {
        let config = ApiConfig {
            api_keys: vec![KEY.into()],
            max_body_bytes: 4096,
            ..ApiConfig::default()
        };
        let policies = warden_service::policies::Policies::with_default(AccountPolicy {
            login_protection: ProtectionLevel::Challenged,
            ..AccountPolicy::default()
        });
        Self::start_custom(
            config,
            Self::test_auth(),
            LoginSettings::default(),
            Default::default(),
            Default::default(),
            policies,
        )
        .await
    }

    async fn start_full(config: ApiConfig, auth: AuthSettings) -> Harness {
        Self::start_login(config, auth, LoginSettings::default()).await
    }

    async fn start_login(config: ApiConfig, auth: AuthSettings, login: LoginSettings) -> Harness {
        Self::start_custom(
            config,
            auth,
            login,
            Default::default(),
            Default::default(),
            Default::default(),
        )
        .await
    }

    /// With notification channels (`notify`).
    async fn start_all(
        config: ApiConfig,
        auth: AuthSettings,
        login: LoginSettings,
        notify: warden_service::notify::NotifySettings,
    ) -> Harness {
        Self::start_custom(
            config,
            auth,
            login,
            Default::default(),
            notify,
            Default::default(),
        )
        .await
    }

    /// With alert rules (`alerts`).
    async fn start_service(
        config: ApiConfig,
        auth: AuthSettings,
        login: LoginSettings,
        alerts: warden_service::alerts::AlertSettings,
    ) -> Harness {
        Self::start_custom(
            config,
            auth,
            login,
            alerts,
            Default::default(),
            Default::default(),
        )
        .await
    }

    async fn start_custom(
        config: ApiConfig,
        auth: AuthSettings,
        login: LoginSettings,
        alerts: warden_service::alerts::AlertSettings,
        notify: warden_service::notify::NotifySettings,
        policies: warden_service::policies::Policies,
    ) -> Harness {
        Self::start_everything(
            config,
            auth,
            login,
            alerts,
            notify,
            policies,
            Default::default(),
        )
        .await
    }

    /// With incident settings too (`incidents`).
    async fn start_everything(
        config: ApiConfig,
        auth: AuthSettings,
        login: LoginSettings,
        alerts: warden_service::alerts::AlertSettings,
        notify: warden_service::notify::NotifySettings,
        policies: warden_service::policies::Policies,
        incidents: warden_service::incidents::IncidentSettings,
    ) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        write_geo(dir.path());
        let intel = IpIntel::builder()
            .data_dir(dir.path())
            .org_range("Beijing office", "61.135.1.0/24".parse().unwrap())
            .build()
            .unwrap();
        let store = Arc::new(
            SqliteStore::open(dir.path().join("warden.db"))
                .await
                .unwrap(),
        );
        store.migrate().await.unwrap();
        let writer = BatchWriter::spawn(store.clone(), BatchConfig::default()).expect("writer");
        let clock = Arc::new(TestClock(AtomicI64::new(T0)));
        let devices = warden_service::devices::DeviceSettings::default();
        let (opener, triggers) =
            warden_service::incidents::opener::IncidentOpener::new(clock.clone());
        let service = Arc::new(Service {
            engine: Engine::new(Policy::default()).unwrap().into(),
            intel: Arc::new(intel),
            store,
            writer,
            short: ShortLived::memory(),
            clock: clock.clone(),
            credentials: Credentials::new(auth, SecretKey::generate()).unwrap(),
            settings: login,
            texts: Default::default(),
            rates: Default::default(),
            events: Events::standard().with(devices.recorder()).with(opener),
            snapshots: Default::default(),
            alerts,
            notify,
            answers: Default::default(),
            blocks: Default::default(),
            policies,
            devices,
            stepup: Default::default(),
            sensitive: Default::default(),
            audit: warden_service::audit::AuditLog::new(
                warden_audit::AuditSigner::from_seed(&[7; 32]).unwrap(),
                Default::default(),
            ),
            incidents,
        });
        tokio::spawn(warden_service::incidents::opener::run(
            service.clone(),
            triggers,
        ));
        tokio::spawn(warden_service::devices::run(
            service.clone(),
            std::future::pending(),
        ));
        let state = Arc::new(AppState {
            service,
            config,
            metrics: warden_api::metrics_handle(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = warden_api::router(state.clone());
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Harness {
            base: format!("http://{addr}"),
            http: Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            clock,
            state,
            _dir: dir,
        }
    }

    fn advance(&self, secs: i64) {
        self.clock.0.fetch_add(secs, Ordering::SeqCst);
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let content_type = r
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string());
        let body = r.json().await.unwrap_or(Value::Null);
        if !body.is_null() {
            // Answers and errors alike are labelled JSON.
            assert_eq!(content_type.as_deref(), Some("application/json"), "{path}");
        }
        (status, body)
    }

    /// The body of an open (no key) GET as text.
    async fn text(&self, path: &str) -> String {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        r.text().await.unwrap()
    }

    /// `POST /v1/evaluate` for a plain attempt.
    async fn evaluate(&self, user: &str, ip: &str, protocol: &str) -> (StatusCode, Value) {
        self.post(
            "/v1/evaluate",
            json!({"user": user, "ip": ip, "protocol": protocol}),
        )
        .await
    }

    /// Any method, with an optional JSON body.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(KEY);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `n` successful logins from `ip`, one a day, ending now.
    async fn history_at(&self, user: &str, ip: &str, n: i64) {
        for _ in 0..n {
            let (s, b) = self
                .post(
                    "/v1/report",
                    json!({"user": user, "ip": ip, "protocol": "imap", "outcome": "success"}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{b}");
            self.advance(86_400);
        }
    }

    /// Everything a bad request must not change.
    async fn observable(&self, user: &str) -> (Value, Value, usize) {
        let (_, h) = self
            .get(&format!("/v1/users/{user}/history?limit=1000"))
            .await;
        let (_, p) = self.get(&format!("/v1/users/{user}/profile")).await;
        (h, p, self.state.short.stats().pending)
    }
}

fn codes(v: &Value) -> Vec<String> {
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn routes_need_the_api_key_but_health_metrics_and_openapi_do_not() {
    let h = Harness::start().await;
    let url = format!("{}/v1/users/alice/history", h.base);
    let r = h.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(
        h.http
            .get(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.http
            .get(&url)
            .header("X-API-Key", KEY)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        h.http
            .get(&url)
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    for open in ["/healthz", "/readyz", "/metrics", "/v1/openapi.json"] {
        let r = h
            .http
            .get(format!("{}{open}", h.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{open}");
    }
    let ready: Value = h
        .http
        .get(format!("{}/readyz", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["geo_city"], true);
    let nowhere = h
        .http
        .get(format!("{}/v2/nothing", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn no_configured_key_means_no_access() {
    let h = Harness::start_with(ApiConfig::default()).await;
    let r = h
        .http
        .get(format!("{}/v1/geo/1.1.1.1", h.base))
        .bearer_auth("")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn usual_city_is_allowed_and_a_first_foreign_login_is_challenged_with_an_alert() {
    let h = Harness::start().await;
    h.history_at("alice@example.com", "113.88.1.10", 8).await;

    let (s, home) = h
        .evaluate("Alice@Example.com", "113.88.200.1", "imap")
        .await;
    assert_eq!(s, StatusCode::OK, "{home}");
    assert_eq!(home["decision"], "allow");
    assert_eq!(home["alert"], false);
    assert_eq!(home["ip"]["location"]["city"], "Shenzhen");
    assert_eq!(home["ip"]["attribution"]["text"], "IP geolocation by DB-IP");

    let (s, abroad) = h
        .post("/v1/evaluate", json!({"user": "alice@example.com", "ip": "105.112.3.4", "protocol": "imap", "user_agent": "Foxmail 7.2"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(abroad["decision"], "challenge", "{abroad}");
    assert_eq!(abroad["level"], "medium");
    assert_eq!(abroad["alert"], true);
    assert!(codes(&abroad).contains(&"unusual_country".to_string()));
    let r = &abroad["reasons"][0];
    assert_eq!(
        r["text"],
        "Login from Lagos, NG; usual places: Shenzhen, CN"
    );
    assert_eq!(
        r["text_zh"],
        "异地登录：尼日利亚 拉各斯，常用登录地：中国 深圳"
    );

    // The outcome by evaluation id: recorded, and the alert stands.
    let id = abroad["evaluation_id"].as_str().unwrap();
    let (s, rep) = h
        .post(
            "/v1/report",
            json!({"evaluation_id": id, "outcome": "success"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{rep}");
    assert_eq!(rep["recorded"], true);
    assert_eq!(rep["alert"], true);
    // An evaluation is reported once.
    let (s, again) = h
        .post(
            "/v1/report",
            json!({"evaluation_id": id, "outcome": "success"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{again}");

    let (_, hist) = h.get("/v1/users/alice@example.com/history?limit=3").await;
    let events = hist["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["country"], "NG");
    assert_eq!(events[0]["decision"], "challenge");
    assert_eq!(events[0]["reasons"][0], "unusual_country");
    assert_eq!(events[1]["country"], "CN");
    let cursor = hist["next_cursor"].as_str().unwrap();
    let (_, page2) = h
        .get(&format!(
            "/v1/users/alice@example.com/history?limit=100&cursor={cursor}"
        ))
        .await;
    assert_eq!(page2["events"].as_array().unwrap().len(), 6);
    assert!(page2["next_cursor"].is_null());
    let (s, _) = h
        .get("/v1/users/alice@example.com/history?cursor=garbage")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = h.get("/v1/users/alice@example.com/history?limit=0").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // By time: the eight home logins are all before the foreign one.
    let t = events[0]["ts"].as_str().unwrap();
    let (_, by_time) = h
        .get(&format!(
            "/v1/users/alice@example.com/history?limit=100&before={t}"
        ))
        .await;
    assert_eq!(by_time["events"].as_array().unwrap().len(), 8);

    let (s, prof) = h.get("/v1/users/alice@example.com/profile").await;
    assert_eq!(s, StatusCode::OK);
    // The foreign success was challenged and alerted on, and nobody passed
    // a challenge: it teaches the profile nothing until confirmed.
    assert_eq!(prof["logins"], 8);
    assert_eq!(prof["learning"], false);
    assert_eq!(prof["usual_places"][0]["place"]["city"], "Shenzhen");
    let countries: Vec<&str> = prof["countries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["country"].as_str().unwrap())
        .collect();
    assert_eq!(countries, ["CN"]);
    let (s, _) = h.get("/v1/users/nobody/profile").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let h = Harness::start().await;
    h.history_at("bob", "113.88.1.10", 3).await;
    let before = h.observable("bob").await;
    let url = format!("{}/v1/report", h.base);

    let raw = |body: &'static str| {
        h.http
            .post(&url)
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = raw("{\"user\": \"bob\", ").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "bad_request");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("malformed JSON"),
        "{b}"
    );

    let cases = [
        (
            json!({"user": "bob", "ip": "999.1.1.1", "protocol": "imap", "outcome": "success"}),
            "is not an IPv4 or IPv6 address",
        ),
        (
            json!({"user": "bob", "ip": "113.88.1.10", "protocol": "gopher", "outcome": "success"}),
            "gopher",
        ),
        (
            json!({"user": "  ", "ip": "113.88.1.10", "protocol": "imap", "outcome": "success"}),
            "user must not be empty",
        ),
        (
            json!({"user": "bob", "ip": "113.88.1.10", "protocol": "imap", "outcome": "maybe"}),
            "maybe",
        ),
        (
            json!({"user": "bob", "ip": "113.88.1.10", "protocol": "imap"}),
            "outcome",
        ),
        (
            json!({"user": "bob", "ip": "113.88.1.10", "protocol": "imap", "outcome": "success", "colour": "red"}),
            "colour",
        ),
        (
            json!({"user": "bob", "ip": "113.88.1.10", "protocol": "imap", "outcome": "success", "ts": "yesterday"}),
            "RFC 3339",
        ),
        (
            json!({"user": "bob", "ip": "113.88.1.10", "protocol": "imap", "outcome": "success", "ts": "2030-01-01T00:00:00Z"}),
            "in the future",
        ),
        // The year 0 used to be accepted and moved the last success back
        // to 1970; anything over a year old is refused.
        (
            json!({"user": "bob", "ip": "113.88.1.10", "protocol": "imap", "outcome": "success", "ts": "0000-01-01T00:00:00Z"}),
            "days in the past",
        ),
        (
            json!({"user": "bob", "ip": "113.88.1.10", "protocol": "imap", "outcome": "success", "ts": jiff::Timestamp::from_second(T0 - 367 * 86_400).unwrap().to_string()}),
            "more than 366 days in the past",
        ),
        (
            json!({"user": "bob", "ip": "113.88.1.10", "protocol": "imap", "outcome": "success", "failure_reason": "wrong_password"}),
            "failure_reason",
        ),
        (
            json!({"outcome": "success"}),
            "user, ip and protocol are required",
        ),
        (
            json!({"evaluation_id": "nope", "outcome": "success"}),
            "evaluation_id",
        ),
        (
            json!({"evaluation_id": "0123456789abcdef0123456789abcdef", "outcome": "success"}),
            "unknown or expired",
        ),
        (
            json!({"user": "bob\u{0007}", "ip": "113.88.1.10", "protocol": "imap", "outcome": "success"}),
            "control characters",
        ),
    ];
    for (body, needle) in cases {
        let (s, b) = h.post("/v1/report", body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body} -> {b}");
        let msg = b["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(needle),
            "{body}: message {msg:?} should mention {needle:?}"
        );
    }
    // Evaluate validates the same way.
    let (s, b) = h.evaluate("bob", "nope", "imap").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = h
        .post(
            "/v1/evaluate",
            json!({"user": "bob", "ip": "113.88.1.10", "protocol": "imap", "ts": "0000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("days in the past"),
        "{b}"
    );

    // Oversize body, wrong content type.
    let big = format!("{{\"user\": \"{}\", \"ip\": \"113.88.1.10\", \"protocol\": \"imap\", \"outcome\": \"success\"}}", "x".repeat(10_000));
    let r = h
        .http
        .post(&url)
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "payload_too_large");
    let r = h
        .http
        .post(&url)
        .bearer_auth(KEY)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // A report whose user does not match its evaluation is refused and the
    // evaluation stays usable.
    let (_, ev) = h.evaluate("bob", "113.88.1.10", "imap").await;
    let id = ev["evaluation_id"].as_str().unwrap().to_string();
    let (s, _) = h
        .post(
            "/v1/report",
            json!({"evaluation_id": id, "user": "mallory", "outcome": "success"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = h
        .post(
            "/v1/report",
            json!({"evaluation_id": id, "user": "BOB", "outcome": "failure"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let after = h.observable("bob").await;
    assert_eq!(
        before.1, after.1,
        "the profile must not change on bad input"
    );
    let n = |v: &Value| v["events"].as_array().unwrap().len();
    assert_eq!(
        n(&before.0) + 1,
        n(&after.0),
        "only the one valid report is stored"
    );
}

#[tokio::test]
async fn five_failures_lock_the_ip_out_while_the_usual_ip_still_gets_in() {
    let h = Harness::start().await;
    h.history_at("carol", "113.88.1.10", 6).await;
    for _ in 0..5 {
        let (s, _) = h
            .post(
                "/v1/report",
                json!({"user": "carol", "ip": "3.3.3.3", "protocol": "imap", "outcome": "failure"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        h.advance(30);
    }
    let (_, locked) = h.evaluate("carol", "3.3.3.3", "imap").await;
    assert_eq!(locked["decision"], "deny", "{locked}");
    assert!(codes(&locked).contains(&"brute_force_lockout".to_string()));
    assert!(locked["reasons"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("Locked by risk control: 5 failed logins"));
    let (_, home) = h.evaluate("carol", "113.88.1.10", "imap").await;
    assert_eq!(home["decision"], "allow", "{home}");
    h.advance(16 * 60);
    let (_, later) = h.evaluate("carol", "3.3.3.3", "imap").await;
    assert!(
        !codes(&later).contains(&"brute_force_lockout".to_string()),
        "{later}"
    );
}

#[tokio::test]
async fn geolocation_corrections_win_immediately_and_can_be_removed() {
    let h = Harness::start().await;
    h.history_at("dan", "113.88.1.10", 6).await;
    let (_, g) = h.get("/v1/geo/105.112.9.9").await;
    assert_eq!(g["location"]["country"], "NG");
    assert_eq!(g["network"]["asn"], 36873);
    assert_eq!(g["corrected"], false);

    // A user reports that this range is really in Shenzhen.
    let (s, c) = h
        .post("/v1/geo/corrections", json!({"network": "105.112.9.0/24", "country": "cn", "region": "Guangdong", "city": "Shenzhen", "city_zh": "深圳", "latitude": 22.54, "longitude": 114.06, "note": "ticket 42"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["country"], "CN");
    let (_, g) = h.get("/v1/geo/::ffff:105.112.9.9").await;
    assert_eq!(g["ip"], "105.112.9.9");
    assert_eq!(g["location"]["city"], "Shenzhen");
    assert_eq!(g["corrected"], true);
    let (_, ev) = h.evaluate("dan", "105.112.9.9", "web").await;
    assert_eq!(ev["decision"], "allow", "{ev}");
    let (_, list) = h.get("/v1/geo/corrections").await;
    assert_eq!(list["corrections"][0]["note"], "ticket 42");

    for bad in [
        json!({"network": "not-a-net", "country": "CN"}),
        json!({"network": "10.0.0.0/8", "country": "China"}),
        json!({"network": "10.0.0.0/8", "country": "CN", "latitude": 95.0, "longitude": 1.0}),
        json!({"network": "10.0.0.0/8", "country": "CN", "latitude": 1.0}),
    ] {
        let (s, b) = h.post("/v1/geo/corrections", bad.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad} -> {b}");
    }
    let del = |net: &str| {
        h.http
            .delete(format!("{}/v1/geo/corrections?network={net}", h.base))
            .bearer_auth(KEY)
            .send()
    };
    assert_eq!(
        del("105.112.9.0/24").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        del("105.112.9.0/24").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let (_, g) = h.get("/v1/geo/105.112.9.9").await;
    assert_eq!(g["location"]["country"], "NG");
    let (s, _) = h.get("/v1/geo/not-an-ip").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn organisation_ranges_are_trusted() {
    let h = Harness::start().await;
    h.history_at("erin", "113.88.1.10", 6).await;
    let (_, ev) = h.evaluate("erin", "61.135.1.20", "imap").await;
    assert_eq!(ev["decision"], "allow", "{ev}");
    assert_eq!(ev["alert"], false);
    assert_eq!(ev["ip"]["network"]["org_range"], "Beijing office");
    assert!(codes(&ev).contains(&"known_org_ip".to_string()));
    let (_, dc) = h.evaluate("erin", "3.4.5.6", "imap").await;
    assert!(codes(&dc).contains(&"datacenter_ip".to_string()), "{dc}");
}

#[tokio::test]
async fn evaluations_expire_and_history_is_pruned_after_retention() {
    let h = Harness::start_with(ApiConfig {
        api_keys: vec![KEY.into()],
        retention_days: 30,
        ..ApiConfig::default()
    })
    .await;
    let (_, ev) = h.evaluate("fay", "113.88.1.10", "pop3").await;
    h.advance(PENDING_TTL_SECS + 1);
    let (s, b) = h
        .post(
            "/v1/report",
            json!({"evaluation_id": ev["evaluation_id"], "outcome": "success"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(b["error"]["message"].as_str().unwrap().contains("expired"));

    let old = jiff::Timestamp::from_second(T0 - 40 * 86_400)
        .unwrap()
        .to_string();
    let (s, _) = h
        .post("/v1/report", json!({"user": "fay", "ip": "113.88.1.10", "protocol": "pop3", "outcome": "success", "ts": old}))
        .await;
    assert_eq!(s, StatusCode::OK);
    h.history_at("fay", "113.88.1.10", 1).await;
    let (_, hist) = h.get("/v1/users/fay/history").await;
    assert_eq!(hist["events"].as_array().unwrap().len(), 2);
    let pruned = warden_api::tasks::upkeep(&h.state).await.unwrap();
    assert_eq!(pruned, 1);
    let (_, hist) = h.get("/v1/users/fay/history").await;
    assert_eq!(hist["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn ipv6_and_mapped_addresses_work() {
    let h = Harness::start().await;
    let (s, ev) = h.evaluate("gus", "2001:db8::5", "smtp").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ev["ip"]["location"]["city"], "Shenzhen");
    assert_eq!(ev["ip"]["network"]["asn"], 4134);
    let (_, ev) = h.evaluate("gus", "::ffff:113.88.1.1", "smtp").await;
    assert_eq!(ev["ip"]["ip"], "113.88.1.1");
}

#[tokio::test]
async fn metrics_count_decisions() {
    let h = Harness::start().await;
    h.evaluate("hal", "113.88.1.10", "im").await;
    let text = h.text("/metrics").await;
    assert!(
        text.contains("warden_evaluations_total{decision=\"allow\"}"),
        "{text}"
    );
    assert!(text.contains("warden_profiles"));
}

#[tokio::test]
async fn the_served_openapi_document_is_the_committed_one() {
    let h = Harness::start().await;
    let served = h.text("/v1/openapi.json").await;
    let doc: Value = serde_json::from_str(&served).unwrap();
    for p in [
        "/v1/evaluate",
        "/v1/report",
        "/v1/users/{user}/history",
        "/v1/users/{user}/profile",
        "/v1/geo/{ip}",
        "/v1/geo/corrections",
        "/healthz",
        "/readyz",
    ] {
        assert!(doc["paths"].get(p).is_some(), "missing path {p}");
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed.trim() != served.trim() {
        if std::env::var_os("WARDEN_UPDATE_DOCS").is_some() {
            std::fs::write(&path, format!("{}\n", served.trim())).unwrap();
        } else {
            panic!("docs/openapi.json is out of date: run `WARDEN_UPDATE_DOCS=1 cargo test -p warden-api --test api openapi`");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_answer_while_the_engine_is_busy() {
    let h = Harness::start().await;
    let (_, e) = h.evaluate("ida", "113.88.1.10", "imap").await;
    let (status, _) = h
        .post(
            "/v1/report",
            json!({"evaluation_id": e["evaluation_id"], "outcome": "success"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Something holds the engine's lock (a long record, a flood of
    // logins): the open routes must not queue behind it.
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let state = h.state.clone();
    let holder = std::thread::spawn(move || {
        let _engine = state.engine.lock();
        held_tx.send(()).unwrap();
        let _ = release_rx.recv();
    });
    held_rx.recv().unwrap();
    let answered = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let (status, ready) = h.get("/readyz").await;
        let metrics = h.text("/metrics").await;
        (status, ready, metrics)
    })
    .await;
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let (status, ready, metrics) =
        answered.expect("/readyz and /metrics wait for the engine's lock");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["profiles"], 1, "{ready}");
    assert!(metrics.contains("warden_profiles 1"), "{metrics}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("warden_profile_bytes ")
                && l.split(' ')
                    .nth(1)
                    .is_some_and(|v| v.parse::<f64>().unwrap() > 0.0)),
        "{metrics}"
    );
}

/// A raw request: `body` as given, with `content_type` when given.
async fn raw(
    h: &Harness,
    method: reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Option<String>, String) {
    let mut r = h
        .http
        .request(method, format!("{}{path}", h.base))
        .bearer_auth(KEY)
        .body(body);
    if let Some(ct) = content_type {
        r = r.header("content-type", ct);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    let ct = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string());
    (status, ct, r.text().await.unwrap())
}

#[tokio::test]
async fn a_body_must_be_a_json_object_and_an_array_changes_nothing() {
    let h = Harness::start().await;
    h.history_at("bob", "113.88.1.10", 3).await;
    let (s, _) = h
        .post("/v1/users", json!({"user": "carol@example.com"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let before = h.observable("bob").await;
    // serde reads an array into a struct by position: each of these was
    // taken as the object it spells.
    let cases = [
        ("/v1/evaluate", r#"["bob", "113.88.1.10", "imap"]"#),
        (
            "/v1/report",
            r#"[null, "bob", "113.88.1.10", "imap", null, null, null, "success"]"#,
        ),
        ("/v1/users/carol@example.com/lock", r#"["phished"]"#),
        ("/v1/users", r#"["dave@example.com"]"#),
        ("/v1/evaluate", r#""bob""#),
        ("/v1/evaluate", "7"),
    ];
    for (path, body) in cases {
        let (status, ct, text) = raw(
            &h,
            reqwest::Method::POST,
            path,
            Some("application/json"),
            body,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {text}");
        assert_eq!(ct.as_deref(), Some("application/json"), "{path}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["code"], "bad_request", "{text}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("must be a JSON object"),
            "{text}"
        );
    }
    assert_eq!(h.observable("bob").await, before, "an array changed state");
    let (_, carol) = h.get("/v1/users/carol@example.com").await;
    assert_eq!(carol["status"], "active", "{carol}");
    let (s, _) = h.get("/v1/users/dave@example.com").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // An optional body may be absent or null; an object still works.
    for body in ["", "null", r#"{"reason": "phished"}"#] {
        let (status, _, text) = raw(
            &h,
            reqwest::Method::POST,
            "/v1/users/carol@example.com/disable",
            Some("application/json"),
            body,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body:?}: {text}");
    }
}

#[tokio::test]
async fn every_error_is_a_json_error_body_also_from_paths_and_text_bodies() {
    let h = Harness::start().await;
    let check =
        |(status, ct, text): (StatusCode, Option<String>, String), want: StatusCode, code: &str| {
            assert_eq!(status, want, "{text}");
            assert_eq!(ct.as_deref(), Some("application/json"), "{text}");
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert_eq!(v["error"]["code"], code, "{text}");
        };
    // A path segment that is not UTF-8 once decoded: axum's own rejection
    // is plain text.
    check(
        raw(&h, reqwest::Method::GET, "/v1/users/%FF/history", None, "").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    check(
        raw(&h, reqwest::Method::GET, "/v1/users/%FF", None, "").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    // The CSV import: not UTF-8, and over the body limit (4096 here).
    check(
        raw(
            &h,
            reqwest::Method::POST,
            "/v1/users/import",
            Some("text/csv"),
            vec![b'u', b's', b'e', b'r', b'\n', 0xff, 0xfe],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    check(
        raw(
            &h,
            reqwest::Method::POST,
            "/v1/users/import",
            Some("text/csv"),
            format!("user\n{}", "a@example.com\n".repeat(400)),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    // A JSON body without its content type.
    check(
        raw(
            &h,
            reqwest::Method::POST,
            "/v1/evaluate",
            Some("text/plain"),
            r#"{"user": "bob", "ip": "113.88.1.10", "protocol": "imap"}"#,
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    // A `+json` type is JSON.
    let (s, _, text) = raw(
        &h,
        reqwest::Method::POST,
        "/v1/evaluate",
        Some("application/vnd.warden+json; charset=utf-8"),
        r#"{"user": "bob", "ip": "113.88.1.10", "protocol": "imap"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
}

#[tokio::test]
async fn limits_out_of_range_are_refused_not_clamped_and_ids_are_strict() {
    let h = Harness::start().await;
    for path in [
        "/v1/users?limit=0",
        "/v1/users?limit=1001",
        "/v1/users/bob/history?limit=0",
        "/v1/users/bob/history?limit=1001",
        "/v1/users/bob/history?cursor=1.2.3",
    ] {
        let (s, b) = h.get(path).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {b}");
    }
    let (s, b) = h.get("/v1/users?limit=1000").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // A sign is no hex digit: `from_str_radix` alone took it.
    let (_, e) = h.evaluate("bob", "113.88.1.10", "imap").await;
    let id = e["evaluation_id"].as_str().unwrap();
    let signed = format!("+{}", &id[1..]);
    let (s, b) = h
        .post(
            "/v1/report",
            json!({"evaluation_id": signed, "outcome": "success"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not an evaluation id"),
        "{b}"
    );
    // Authorization codes live at most 100 years.
    let (s, _) = h.post("/v1/users", json!({"user": "erin"})).await;
    assert_eq!(s, StatusCode::CREATED);
    for days in [0, 36_501, 4_000_000_000u32] {
        let (s, b) = h
            .post(
                "/v1/users/erin/app-passwords",
                json!({"name": "phone", "expires_in_days": days}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{days}: {b}");
    }
}

#[tokio::test]
async fn a_wrong_key_is_never_ignored_beside_a_right_one() {
    let h = Harness::start().await;
    let url = format!("{}/v1/users/alice/history", h.base);
    let send = |bearer: Option<&'static str>, header: Option<&'static str>| {
        let mut r = h.http.get(&url);
        if let Some(b) = bearer {
            r = r.bearer_auth(b);
        }
        if let Some(k) = header {
            r = r.header("x-api-key", k);
        }
        r.send()
    };
    for (bearer, header, want) in [
        (Some(KEY), None, StatusCode::OK),
        (None, Some(KEY), StatusCode::OK),
        (Some(KEY), Some(KEY), StatusCode::OK),
        (Some(KEY), Some("wrong"), StatusCode::UNAUTHORIZED),
        (Some("wrong"), Some(KEY), StatusCode::UNAUTHORIZED),
        (None, Some(""), StatusCode::UNAUTHORIZED),
        (None, None, StatusCode::UNAUTHORIZED),
    ] {
        let r = send(bearer, header).await.unwrap();
        assert_eq!(r.status(), want, "bearer {bearer:?}, X-API-Key {header:?}");
    }
}

#[tokio::test]
async fn the_document_says_where_parameters_go_what_they_take_and_every_error() {
    let h = Harness::start().await;
    let doc: Value = serde_json::from_str(&h.text("/v1/openapi.json").await).unwrap();
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    let param = |op: &Value, name: &str| {
        op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no parameter {name} in {op}"))
            .clone()
    };
    // Query parameters are optional query parameters, not required path ones.
    for (path, method, names) in [
        (
            "/v1/users/{user}/history",
            "get",
            &["limit", "before", "cursor"][..],
        ),
        ("/v1/users", "get", &["limit", "after", "org"][..]),
        ("/v1/geo/corrections", "delete", &["network"][..]),
        ("/v1/dovecot/policy", "post", &["command", "passdb"][..]),
    ] {
        for name in names {
            let p = param(&op(path, method), name);
            assert_eq!(p["in"], "query", "{path} {name}: {p}");
        }
    }
    assert_eq!(
        param(&op("/v1/users/{user}/history", "get"), "limit")["required"],
        false
    );
    assert_eq!(
        param(&op("/v1/geo/corrections", "delete"), "network")["required"],
        true
    );
    // Constraints: limits' ranges, the user name, lengths.
    for (path, method) in [("/v1/users/{user}/history", "get"), ("/v1/users", "get")] {
        let s = &param(&op(path, method), "limit")["schema"];
        assert_eq!(
            (s["minimum"].as_f64(), s["maximum"].as_f64()),
            (Some(1.0), Some(1000.0)),
            "{path}"
        );
    }
    let user = param(&op("/v1/users/{user}", "get"), "user");
    assert_eq!(user["in"], "path");
    assert_eq!(user["required"], true);
    assert_eq!(user["schema"]["minLength"], 1);
    assert_eq!(user["schema"]["maxLength"], warden_core::MAX_USER_LEN);
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["EvaluateRequest"]["properties"]["user"]["minLength"],
        1
    );
    assert_eq!(
        schemas["EvaluateRequest"]["properties"]["device"]["maxLength"],
        256
    );
    // A stored correction carries its time; a request cannot set it.
    assert!(schemas["CorrectionDto"]["properties"]["created_at"].is_object());
    assert!(schemas["CorrectionDto"]["required"]
        .as_array()
        .unwrap()
        .contains(&json!("created_at")));
    assert!(schemas["CorrectionRequest"]["properties"]["created_at"].is_null());
    // Every operation documents the errors its shape can give, as ErrorBody.
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = &op["responses"];
            let has = |status: &str| {
                let r = &responses[status];
                assert!(r.is_object(), "{method} {path} does not document {status}");
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            };
            if path.starts_with("/v1/") && path != "/v1/openapi.json" {
                has("401");
                checked += 1;
            }
            let params = op["parameters"].as_array().is_some_and(|p| !p.is_empty());
            let body = &op["requestBody"];
            if params || body.is_object() {
                has("400");
            }
            if body.is_object() {
                has("413");
            }
            if body["required"] == true && body["content"]["application/json"].is_object() {
                has("415");
            }
        }
    }
    assert!(checked >= 35, "{checked} operations under /v1");
}

#[tokio::test]
async fn a_stored_correction_is_answered_as_the_document_describes_it() {
    let h = Harness::start().await;
    let doc: Value = serde_json::from_str(&h.text("/v1/openapi.json").await).unwrap();
    let schema = &doc["components"]["schemas"]["CorrectionDto"];
    let (s, stored) = h
        .post(
            "/v1/geo/corrections",
            json!({"network": "113.88.0.0/16", "country": "CN", "city": "Shenzhen"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{stored}");
    let (_, listed) = h.get("/v1/geo/corrections").await;
    for answer in [&stored, &listed["corrections"][0]] {
        let keys = answer.as_object().unwrap();
        for k in keys.keys() {
            assert!(
                schema["properties"].get(k).is_some(),
                "{k} is not in CorrectionDto: {answer}"
            );
        }
        for k in schema["required"].as_array().unwrap() {
            assert!(
                keys.contains_key(k.as_str().unwrap()),
                "{k} missing: {answer}"
            );
        }
    }
    // The time is the server's: a request naming it is refused.
    let (s, b) = h
        .post(
            "/v1/geo/corrections",
            json!({"network": "113.88.0.0/16", "country": "CN", "created_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
}
