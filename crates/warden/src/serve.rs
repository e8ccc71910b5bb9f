//! `warden serve`: wires configuration, IP intelligence, the SQLite store,
//! the engine (warmed from stored profiles) and the HTTP API together, and
//! shuts down cleanly (every acknowledged write committed) on Ctrl-C or
//! SIGTERM.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use warden_api::mail::postfix;
use warden_api::{ApiConfig, AppState, SystemClock};
use warden_core::sending::RateLimits;
use warden_core::{Engine, Name};
use warden_geo::IpIntel;
use warden_service::{Events, LoginSettings, Service, ShortLived};
use warden_store::{private, AccountStore, BatchConfig, BatchWriter, SqliteStore, Store};

use crate::config::Config;

/// Builds IP intelligence from the configuration. A missing geo folder is
/// not an error (locations are then unknown) but is logged loudly.
pub fn load_intel(cfg: &Config) -> anyhow::Result<IpIntel> {
    let dir = cfg.geo_dir();
    let mut b = IpIntel::builder();
    if let Some(mm) = &cfg.geo.maxmind_city {
        b = b.maxmind(mm.clone());
    }
    if dir.is_dir() {
        b = b.data_dir(dir.clone());
    } else if cfg.geo.maxmind_city.is_none() {
        tracing::warn!(dir = %dir.display(), "no geo data folder: locations will be unknown (run scripts/fetch-geo.sh)");
    }
    b = b.extra_datacenter_asns(cfg.geo.extra_datacenter_asns.iter().copied());
    for a in &cfg.geo.anonymizer_lists {
        b = b.anonymizer_file(a.path.clone(), a.kind.into());
    }
    for r in &cfg.geo.org_ranges {
        let name: Name = r.name.as_str().into();
        for n in &r.networks {
            b = b.org_range(
                name.clone(),
                n.parse().with_context(|| format!("org range {n}"))?,
            );
        }
    }
    b.build()
        .with_context(|| format!("loading geo data from {}", dir.display()))
}

/// The API keys `/v1` accepts and where they came from.
#[derive(Debug)]
pub struct ApiKeys {
    pub keys: Vec<String>,
    /// The key file, when its key is in use.
    pub file: Option<PathBuf>,
    /// True when the key file was created just now.
    pub created: bool,
    /// A key file that exists but is not read, because keys are configured.
    pub ignored_file: Option<PathBuf>,
    /// How many keys `server.api_keys` gave.
    pub configured: usize,
}

impl ApiKeys {
    /// The active key sources, for the start-up log: `server.api_keys (2
    /// keys)` or `key file data/api-key`.
    pub fn sources(&self) -> String {
        match &self.file {
            Some(f) => format!("key file {}", f.display()),
            None => format!(
                "server.api_keys ({} key{})",
                self.configured,
                if self.configured == 1 { "" } else { "s" }
            ),
        }
    }
}

/// The API keys: the configured ones (`server.api_keys`, from the file or
/// `WARDEN_SERVER__API_KEYS`) when there are any, else the key file, which
/// is created with a random key when missing. Never both: once keys move
/// into the configuration, an old key file stops working.
pub fn api_keys(cfg: &Config) -> anyhow::Result<ApiKeys> {
    let keys: Vec<String> = cfg
        .server
        .api_keys
        .iter()
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    let file = cfg.in_data_dir(&cfg.server.api_key_file);
    if !keys.is_empty() {
        return Ok(ApiKeys {
            configured: keys.len(),
            keys,
            file: None,
            created: false,
            ignored_file: file.exists().then_some(file),
        });
    }
    let created = !file.exists();
    let key = if created {
        let key = random_key();
        write_secret(&file, &key)?;
        key
    } else {
        private::tighten(&file, 0o600).with_context(|| format!("securing {}", file.display()))?;
        let k = std::fs::read_to_string(&file)
            .with_context(|| format!("reading API key file {}", file.display()))?;
        let k = k.trim();
        if k.len() < 16 {
            bail!(
                "API key in {} is shorter than 16 characters",
                file.display()
            );
        }
        k.to_string()
    };
    Ok(ApiKeys {
        keys: vec![key],
        file: Some(file),
        created,
        ignored_file: None,
        configured: 0,
    })
}

/// The key sealing TOTP secrets, from `auth.secret_key_file`, checked
/// against the database (see `warden_service::sealing`): created there
/// (random, mode 0600) on first start; refused, with the way out, when the
/// database holds TOTP secrets and the file is missing or holds another key.
pub async fn secret_key<S: AccountStore>(
    cfg: &Config,
    store: &S,
) -> anyhow::Result<warden_auth::SecretKey> {
    use warden_service::sealing::{self, KeyState};
    let file = cfg.in_data_dir(&cfg.auth.secret_key_file);
    private::tighten(&file, 0o600).with_context(|| format!("securing {}", file.display()))?;
    let db = cfg.database_path();
    let way_out = "Restore the key file from the backup taken with the database, \
         or, with no backup left, run `warden secret-key reset --yes` to switch \
         TOTP off for those accounts (their users enrol again)";
    if !file.exists() {
        let sealed = sealing::sealed_secrets(store).await?;
        if sealed > 0 {
            bail!(
                "the secret key file {} is missing, but {} holds {sealed} TOTP secrets \
                 sealed with it: without it two-factor logins fail. {way_out}.",
                file.display(),
                db.display()
            );
        }
        let key = warden_auth::SecretKey::generate();
        write_secret(&file, &key.to_hex())?;
        tracing::info!(file = %file.display(), "created the key that seals TOTP secrets; back it up with the database");
    }
    let key = read_secret_key(&file)?;
    match sealing::check_key(store, &key).await? {
        KeyState::Matches | KeyState::Recorded => Ok(key),
        KeyState::Replaced => {
            tracing::warn!(file = %file.display(), "the secret key is not the one recorded in the database; it holds no TOTP secret, so nothing is lost: recorded the new key");
            Ok(key)
        }
        KeyState::Mismatch { sealed } => bail!(
            "the secret key in {} is not the key that sealed the {sealed} TOTP secrets \
             in {}: two-factor logins would fail. {way_out}.",
            file.display(),
            db.display()
        ),
    }
}

/// Reads the key file as it is.
pub fn read_secret_key(file: &Path) -> anyhow::Result<warden_auth::SecretKey> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the secret key file {}", file.display()))?;
    warden_auth::SecretKey::parse(text.trim()).with_context(|| {
        format!(
            "the secret key in {} is not 64 hex characters",
            file.display()
        )
    })
}

/// `warden secret-key reset`: when the key is lost with no backup, switches
/// TOTP off for every account that has it and records the key file's key
/// (created when missing) as the database's. Returns how many accounts lost
/// their TOTP.
pub async fn reset_secret_key(cfg: &Config) -> anyhow::Result<usize> {
    let store = open_store(cfg).await?;
    let file = cfg.in_data_dir(&cfg.auth.secret_key_file);
    if !file.exists() {
        write_secret(&file, &warden_auth::SecretKey::generate().to_hex())?;
    }
    let key = read_secret_key(&file)?;
    let now = warden_core::Clock::now(&SystemClock);
    let n = warden_service::sealing::reset_two_factor(&store, &key, now).await?;
    store.close().await;
    Ok(n)
}

/// How answer links are made: `answers.base_url`, the TTL, and the key in
/// `answers.key_file` (64 hex characters, created at random on first start,
/// mode 0600).
pub fn answer_settings(cfg: &Config) -> anyhow::Result<warden_service::answers::AnswerSettings> {
    let file = cfg.in_data_dir(&cfg.answers.key_file);
    if !file.exists() {
        use rand::RngCore;
        let mut b = [0u8; 32];
        rand::rng().fill_bytes(&mut b);
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        write_secret(&file, &hex)?;
        tracing::info!(file = %file.display(), "created the key that signs answer links");
    }
    private::tighten(&file, 0o600).with_context(|| format!("securing {}", file.display()))?;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("reading the answer key file {}", file.display()))?;
    let text = text.trim();
    let key: Option<Vec<u8>> = (text.len() == 64 && text.is_ascii())
        .then(|| {
            (0..64)
                .step_by(2)
                .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
                .collect()
        })
        .flatten();
    let key: [u8; 32] = key.and_then(|k| k.try_into().ok()).with_context(|| {
        format!(
            "the answer key in {} is not 64 hex characters",
            file.display()
        )
    })?;
    Ok(warden_service::answers::AnswerSettings::new(
        &cfg.answers.base_url(&cfg.server.listen),
        key,
        i64::from(cfg.answers.link_ttl_hours) * 3600,
    ))
}

fn random_key() -> String {
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn write_secret(path: &Path, value: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        private::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating secret file {}", path.display()))?;
        writeln!(f, "{value}")?;
    }
    #[cfg(not(unix))]
    std::fs::write(path, format!("{value}\n"))?;
    Ok(())
}

/// Opens (creating and migrating) the database.
pub async fn open_store(cfg: &Config) -> anyhow::Result<SqliteStore> {
    let path = cfg.database_path();
    let store = SqliteStore::open(&path)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    store.migrate().await.context("migrating the database")?;
    Ok(store)
}

/// A running service.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    join: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops accepting requests, finishes those in flight, commits every
    /// queued write and waits for the end.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.join.await.context("server task")?
    }

    /// Waits until the server ends by itself (a signal).
    pub async fn wait(self) -> anyhow::Result<()> {
        let Running { join, shutdown, .. } = self;
        let _keep = shutdown;
        join.await.context("server task")?
    }
}

/// Starts the service and returns once it listens.
pub async fn start(cfg: Config) -> anyhow::Result<Running> {
    cfg.validate()?;
    // The data folder holds the database, the keys and the history: created
    // 0700. An existing folder open to others is left as it is (other
    // programs may share it; the files in it are 0600) with a warning.
    private::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating data folder {}", cfg.data_dir.display()))?;
    private::warn_if_open(&cfg.data_dir);
    let keys = api_keys(&cfg)?;
    if let (true, Some(f)) = (keys.created, &keys.file) {
        tracing::warn!(file = %f.display(), "no API key configured: generated one into this file");
    }
    if let Some(f) = &keys.ignored_file {
        tracing::warn!(file = %f.display(), "server.api_keys is set, so this old API key file is not read and its key no longer works: delete it");
    }
    tracing::info!(sources = %keys.sources(), "API keys accepted on /v1");
    let intel_cfg = cfg.clone();
    let intel = tokio::task::spawn_blocking(move || load_intel(&intel_cfg)).await??;
    let store = Arc::new(open_store(&cfg).await?);
    intel.set_corrections(
        store
            .list_corrections()
            .await
            .context("loading geo corrections")?,
    );

    let mut engine = Engine::new(cfg.policy.clone())?;
    // Snapshots, then the successful logins they have not learned from
    // (only after a crash: a clean stop writes every snapshot).
    let snapshots = warden_service::Snapshots::default();
    let restored =
        warden_service::snapshots::restore(&mut engine, store.as_ref(), &intel, &snapshots)
            .await
            .context("loading profiles")?;
    tracing::info!(
        profiles = restored.profiles,
        corrupt = restored.corrupt,
        replayed = restored.replayed,
        "profiles restored"
    );

    let credentials = warden_service::Credentials::new(
        warden_service::AuthSettings {
            argon2: cfg.auth.argon2,
            password: cfg.auth.password.clone(),
            require_tls: cfg.auth.require_tls,
            session_ttl_secs: cfg.auth.session_ttl_secs,
            totp_issuer: cfg.auth.totp_issuer.clone(),
            ..warden_service::AuthSettings::default()
        },
        secret_key(&cfg, store.as_ref()).await?,
    )?;

    let writer = BatchWriter::spawn(
        store.clone(),
        BatchConfig {
            max_batch: cfg.storage.batch_max_rows,
            max_delay: Duration::from_micros(cfg.storage.batch_max_delay_us),
        },
    )
    .context("starting the storage writer")?;
    let alerts = cfg.alerts.settings()?;
    let devices = cfg.devices.settings();
    // Post-login signs of a compromised mailbox (many countries or
    // networks in a day, sending bursts): a subscriber and its worker.
    let (compromise, compromise_signals) = warden_service::sensitive::signals::CompromiseWatch::new(
        Default::default(),
        Arc::new(SystemClock),
    );
    // The audit log: its key (created on first start), the subscriber
    // every acknowledged action waits for, archives past the retention.
    let audit = warden_service::audit::AuditLog::new(
        crate::audit_cli::signing_key(&cfg)?,
        cfg.audit.settings(),
    )
    .with_sink(Arc::new(crate::audit_cli::JsonlSink {
        dir: crate::audit_cli::archive_dir(&cfg),
    }));
    // Incidents opened from critical alerts, "not me" answers and
    // correlated operations: a subscriber and its worker.
    let (incident_opener, incident_triggers) =
        warden_service::incidents::opener::IncidentOpener::new(Arc::new(SystemClock));
    let events = Events::standard()
        .with(alerts.waker())
        .with(devices.recorder())
        .with(compromise)
        .with(audit.trail(Arc::new(SystemClock)))
        .with(incident_opener);
    let service = Arc::new(Service {
        engine: engine.into(),
        intel: Arc::new(intel),
        store,
        writer: writer.clone(),
        short: ShortLived::memory(),
        clock: Arc::new(SystemClock),
        credentials,
        settings: LoginSettings {
            tarpit_secs: cfg.login.tarpit_secs,
            tarpit_max_secs: cfg.login.tarpit_max_secs,
        },
        texts: cfg.texts.site_texts()?,
        rates: RateLimits {
            window_secs: cfg.postfix.rate_window_secs as i64,
            min_recipients: cfg.postfix.rate_min_recipients,
            factor: cfg.postfix.rate_factor,
            half_life_secs: cfg.postfix.rate_half_life_days * 86_400.0,
        },
        events,
        snapshots,
        alerts,
        notify: cfg.notify.settings(),
        answers: answer_settings(&cfg)?,
        blocks: Default::default(),
        policies: warden_service::policies::Policies::with_default(cfg.login.account_policy()),
        devices,
        stepup: Default::default(),
        sensitive: cfg.sensitive.settings(),
        audit,
        incidents: cfg.incidents.settings()?,
    });
    // The disowned sources, before the first login is scored.
    service
        .load_source_blocks()
        .await
        .context("loading the blocked sources")?;
    // The access policies and memberships, before the first login too.
    service
        .load_policies()
        .await
        .context("loading the access policies")?;
    // The signed-out devices, before the first login is checked.
    service
        .load_signed_out()
        .await
        .context("loading the signed-out devices")?;
    // The notification outbox: fans committed alerts out to deliveries and
    // sends them (crates/warden-service/src/notify/outbox.rs). It runs
    // without channels too: the fan-out then moves its mark past alerts
    // with nowhere to go, so configuring a channel later does not mail
    // old alerts.
    let notifier = warden_service::notify::outbox::spawn(service.clone());
    let state = Arc::new(AppState {
        service: service.clone(),
        config: ApiConfig {
            api_keys: keys.keys,
            max_body_bytes: cfg.server.max_body_bytes,
            retention_days: cfg.storage.retention_days,
            prune_interval: Duration::from_secs(cfg.storage.prune_interval_secs),
            dovecot_lang: cfg.dovecot.lang.into(),
            admission: warden_api::overload::Admission::new(
                warden_api::overload::OverloadSettings {
                    max_in_flight: cfg.server.max_in_flight,
                    queue_timeout: Duration::from_millis(cfg.server.queue_timeout_ms),
                },
            ),
        },
        metrics: warden_api::metrics_handle(),
    });
    let upkeep = warden_api::tasks::spawn(state.clone());
    let (stop_flusher, flusher_stopped) = oneshot::channel::<()>();
    let flusher = tokio::spawn(flush_profiles(service.clone(), flusher_stopped));
    tokio::spawn(warden_service::sensitive::signals::run(
        service.clone(),
        compromise_signals,
    ));
    tokio::spawn(warden_service::incidents::opener::run(
        service.clone(),
        incident_triggers,
    ));
    // Incident SLA: one alert per overdue playbook step.
    tokio::spawn(warden_service::incidents::sla::run(
        service.clone(),
        std::future::pending(),
    ));
    // Alerts from the committed history (woken by every recorded login).
    let (stop_alerts, alerts_stopped) = oneshot::channel::<()>();
    let alert_worker = tokio::spawn(warden_service::alerts::worker::run(
        service.clone(),
        async move {
            let _ = alerts_stopped.await;
        },
    ));
    // Sessions and devices: the successful logins' sessions, written off
    // the login path (crates/warden-service/src/devices/).
    let (stop_sessions, sessions_stopped) = oneshot::channel::<()>();
    let session_writer = tokio::spawn(warden_service::devices::run(service.clone(), async move {
        let _ = sessions_stopped.await;
    }));
    // The audit writer: chains, commits and signs what the trail queues.
    let (stop_audit, audit_stopped) = oneshot::channel::<()>();
    let audit_writer = tokio::spawn(warden_service::audit::writer::run(
        service.clone(),
        async move {
            let _ = audit_stopped.await;
        },
    ));
    let (stop_archive, archive_stopped) = oneshot::channel::<()>();
    let audit_archive = tokio::spawn(warden_service::audit::archive::run(
        service.clone(),
        async move {
            let _ = archive_stopped.await;
        },
    ));
    let app = warden_api::router(state.clone());
    let postfix = match &cfg.postfix.listen {
        Some(listen) => {
            let l = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("postfix.listen: listening on {listen}"))?;
            tracing::info!(addr = %l.local_addr()?, "postfix policy server is listening");
            let policy = Arc::new(postfix::Policy {
                service: service.clone(),
                settings: postfix::PostfixSettings {
                    on_error_dunno: cfg.postfix.on_error == crate::config::OnError::Dunno,
                },
            });
            Some(tokio::spawn(postfix::serve(l, policy)))
        }
        None => None,
    };
    let limits = warden_api::server::Limits {
        max_connections: cfg.server.max_connections,
        header_timeout: Duration::from_secs(cfg.server.header_timeout_secs),
        body_timeout: Duration::from_secs(cfg.server.body_timeout_secs),
        idle_timeout: Duration::from_secs(cfg.server.idle_timeout_secs),
    };
    fd_limit(cfg.server.max_connections as u64 + FD_RESERVE);
    let listener = tokio::net::TcpListener::bind(&cfg.server.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.server.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, db = %cfg.database_path().display(), "warden is listening");

    let (tx, rx) = oneshot::channel::<()>();
    let join = tokio::spawn(async move {
        let stop = async move {
            tokio::select! {
                _ = rx => {},
                _ = signal() => tracing::info!("shutting down"),
            }
        };
        // Timeouts and a connection limit (warden_api::server); the peer
        // address goes into security events (`RequestIp`).
        let served = warden_api::server::serve(listener, app, limits, stop).await;
        upkeep.abort();
        notifier.abort();
        // Not aborted: a flush in progress completes.
        let _ = stop_flusher.send(());
        let _ = flusher.await;
        let _ = stop_alerts.send(());
        let _ = alert_worker.await;
        // The sessions queued so far are written before the store closes.
        let _ = stop_sessions.send(());
        let _ = session_writer.await;
        if let Some(p) = postfix {
            p.abort();
        }
        // Every acknowledged write is already committed; write the changed
        // profiles (so the next start has nothing to learn again), then
        // commit what is queued.
        if let Err(e) = state.service.flush_profiles().await {
            tracing::error!(error = %e, "writing the profile snapshots at shutdown failed; the next start learns them again from the history");
        }
        writer.close().await;
        // The alerts of the last committed logins.
        if let Err(e) = state.service.raise_alerts().await {
            tracing::warn!(error = %e, "raising the last alerts at shutdown failed; the next start raises them");
        }
        // Last: the audit records of everything above, and the checkpoint
        // signing the head.
        let _ = stop_archive.send(());
        let _ = audit_archive.await;
        let _ = stop_audit.send(());
        let _ = audit_writer.await;
        state.store.close().await;
        served.context("HTTP server")
    });
    Ok(Running {
        addr,
        shutdown: Some(tx),
        join,
    })
}

/// Writes the changed profiles every [`FLUSH_EVERY`](warden_service::snapshots::FLUSH_EVERY).
/// Ends between two flushes once `stop` fires.
async fn flush_profiles(service: Arc<Service<SqliteStore>>, mut stop: oneshot::Receiver<()>) {
    let mut tick = tokio::time::interval(warden_service::snapshots::FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut stop => return,
        }
        match service.flush_profiles().await {
            Ok(n) => tracing::debug!(snapshots = n, "profiles written"),
            Err(e) => tracing::warn!(error = %e, "writing profile snapshots failed; will retry"),
        }
    }
}

/// File descriptors Warden needs besides its HTTP connections: the
/// database's files on several connections, geo data, the Postfix policy
/// server's connections, the runtime's own.
pub const FD_RESERVE: u64 = 256;

/// Makes sure the process may open `needed` files: raises the soft
/// `RLIMIT_NOFILE` up to the hard one when it is lower, and warns when even
/// the hard limit is lower (connections beyond it would fail to open, and
/// `server.max_connections` should come down). Returns the soft limit.
pub fn fd_limit(needed: u64) -> u64 {
    #[cfg(unix)]
    {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit read and write the struct we pass.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } != 0 {
            return u64::MAX;
        }
        // rlim_t is u64 on Linux (the casts are for other unixes).
        #[allow(clippy::unnecessary_cast)]
        let (soft, hard) = (l.rlim_cur as u64, l.rlim_max as u64);
        if soft >= needed {
            return soft;
        }
        let target = needed.min(hard);
        l.rlim_cur = target as libc::rlim_t;
        // SAFETY: as above.
        let raised = target > soft && unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &l) } == 0;
        let now = if raised { target } else { soft };
        if now < needed {
            tracing::warn!(
                limit = now,
                needed,
                "the open-file limit (ulimit -n) is below server.max_connections + {FD_RESERVE}: raise it (LimitNOFILE= in a systemd unit) or lower server.max_connections"
            );
        } else {
            tracing::info!(
                from = soft,
                to = now,
                "raised the open-file limit for server.max_connections"
            );
        }
        now
    }
    #[cfg(not(unix))]
    {
        let _ = needed;
        u64::MAX
    }
}

async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return ctrl_c.await,
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

/// Environment variables as a map, for [`Config::load`].
pub fn environment() -> HashMap<String, String> {
    std::env::vars().collect()
}
