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
use warden_api::state::Mutex;
use warden_api::{ApiConfig, AppState, SystemClock};
use warden_core::sending::RateLimits;
use warden_core::{Engine, Name};
use warden_geo::IpIntel;
use warden_service::{Events, LoginSettings, Service, ShortLived};
use warden_store::{AccountStore, BatchConfig, BatchWriter, SqliteStore, Store};

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

/// The API keys: configured ones plus the key file, which is created with a
/// random key when there is no key at all.
pub fn api_keys(cfg: &Config) -> anyhow::Result<(Vec<String>, Option<PathBuf>)> {
    let mut keys: Vec<String> = cfg
        .server
        .api_keys
        .iter()
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    let file = cfg.in_data_dir(&cfg.server.api_key_file);
    let mut created = None;
    if file.exists() {
        let k = std::fs::read_to_string(&file)
            .with_context(|| format!("reading API key file {}", file.display()))?;
        let k = k.trim();
        if k.len() < 16 {
            bail!(
                "API key in {} is shorter than 16 characters",
                file.display()
            );
        }
        keys.push(k.to_string());
    } else if keys.is_empty() {
        let key = random_key();
        write_secret(&file, &key)?;
        keys.push(key);
        created = Some(file);
    }
    Ok((keys, created))
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

fn random_key() -> String {
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn write_secret(path: &Path, value: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
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
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating data folder {}", cfg.data_dir.display()))?;
    let (keys, created) = api_keys(&cfg)?;
    if let Some(f) = created {
        tracing::warn!(file = %f.display(), "no API key configured: generated one into this file");
    }
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
    let service = Arc::new(Service {
        engine_stats: warden_service::EngineGauges::of(&engine),
        engine: Mutex::new(engine),
        intel: Arc::new(intel),
        store,
        writer: writer.clone(),
        short: ShortLived::memory(),
        clock: Arc::new(SystemClock),
        credentials,
        settings: LoginSettings {
            protection: cfg.login.protection,
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
        events: Events::standard(),
        snapshots,
    });
    let state = Arc::new(AppState {
        service: service.clone(),
        config: ApiConfig {
            api_keys: keys,
            max_body_bytes: cfg.server.max_body_bytes,
            retention_days: cfg.storage.retention_days,
            prune_interval: Duration::from_secs(cfg.storage.prune_interval_secs),
            dovecot_lang: cfg.dovecot.lang.into(),
        },
        metrics: warden_api::metrics_handle(),
    });
    let upkeep = warden_api::tasks::spawn(state.clone());
    let (stop_flusher, flusher_stopped) = oneshot::channel::<()>();
    let flusher = tokio::spawn(flush_profiles(service.clone(), flusher_stopped));
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
        // Answers are small single writes: never hold them back (Nagle).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
        });
        // The peer address goes into security events (`RequestIp`).
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await;
        upkeep.abort();
        // Not aborted: a flush in progress completes.
        let _ = stop_flusher.send(());
        let _ = flusher.await;
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
