//! The `warden` command line: `serve`, `migrate`, `replay`, `geo`,
//! `gen-events` and `config`. Parsing only; the work is in the library.
//!
//! Output goes through [`emit`] and [`note`], never `println!`: when the
//! reader of standard output goes away (`warden geo lookup … | head -1`),
//! the command ends quietly with status 0 instead of panicking.

use std::fmt::Display;
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use warden::config::{reference_markdown, Config};
use warden::serve;

/// mimalloc instead of glibc's allocator: the service makes many small,
/// short-lived allocations per request (JSON, texts, database rows), and
/// glibc malloc/free were the largest single cost under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "warden",
    version,
    about = "Login risk control and account protection for enterprise mail and IM"
)]
struct Cli {
    /// Configuration file (TOML). Environment variables WARDEN_* override it.
    #[arg(long, global = true, env = "WARDEN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// The key that seals TOTP secrets (`auth.secret_key_file`).
    SecretKey {
        #[command(subcommand)]
        command: SecretKeyCommand,
    },
    /// The tamper-evident audit log: verify it (with its archives), list
    /// records, print the public key, archive now (on the database).
    Audit {
        #[command(subcommand)]
        command: warden::audit_cli::AuditCommand,
    },
    /// Evaluate a JSONL stream of login events offline (backtesting).
    Replay {
        /// Input: one JSON event per line.
        #[arg(long)]
        input: PathBuf,
        /// Output: one JSON decision per input line (default: stdout).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Also write events and final profiles into this SQLite file.
        #[arg(long)]
        db: Option<PathBuf>,
        /// Exit non-zero when any line was malformed.
        #[arg(long)]
        strict: bool,
        /// How successes teach the profiles: `enforced` (a success Warden
        /// would deny is learned as refused, a challenged or alerted one only
        /// with `"challenge_passed": true`) or `literal` (every success as it
        /// happened: a backtest of monitoring mode).
        #[arg(long, value_enum, default_value_t = warden::replay::LearnMode::Enforced)]
        learn: warden::replay::LearnMode,
        /// Geo data folder (default: the configured one).
        #[arg(long)]
        geo_dir: Option<PathBuf>,
        /// Run without geo data (every location and network unknown, so
        /// nearly every login is allowed). Without this flag, missing geo
        /// data is an error.
        #[arg(long, conflicts_with = "geo_dir")]
        no_geo: bool,
    },
    /// IP intelligence.
    Geo {
        #[command(subcommand)]
        command: GeoCommand,
    },
    /// Write a synthetic login stream (JSONL) for tests and benchmarks.
    GenEvents {
        #[arg(long, default_value_t = 300)]
        users: usize,
        #[arg(long, default_value_t = 300_000)]
        events: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Simulate an enterprise tenant's logins, with labelled attacks:
    /// writes events.jsonl (replay input) and labels.jsonl to --out.
    Simulate {
        #[arg(long, default_value_t = 300)]
        users: usize,
        #[arg(long, default_value_t = 42)]
        days: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Attack campaigns relative to the default mix (more campaigns, more
        /// precise catch rates).
        #[arg(long, default_value_t = 1.0)]
        attack_scale: f64,
        /// Output folder (created if needed).
        #[arg(long)]
        out: PathBuf,
        /// Geo data folder (default: the configured one).
        #[arg(long)]
        geo_dir: Option<PathBuf>,
    },
    /// Configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Alert delivery channels: list, send a test, the outbox's deliveries
    /// (through the running service).
    Channels {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: warden::admin_notify::ChannelsCommand,
    },
    /// Notification templates: list, preview, set, reset (through the
    /// running service).
    Templates {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: warden::admin_notify::TemplatesCommand,
    },
    /// Manage accounts and credentials (through the running service).
    User {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: UserCommand,
    },
    /// List, show, acknowledge, close and resend alerts (through the running service).
    Alerts {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: warden::alerts_cli::AlertsCommand,
    },
    /// Access policies per organisation, group and user: list, show, set,
    /// remove, history, restore, dry-run (through the running service).
    Policies {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: warden::policies_cli::PoliciesCommand,
    },
    /// Groups of users: list, show, set a user's groups (through the
    /// running service).
    Groups {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: warden::policies_cli::GroupsCommand,
    },
    /// Sign-ins login protection refused: list a user's, confirm one for
    /// them (through the running service).
    SignIns {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: warden::signins_cli::SignInsCommand,
    },
    /// A user's sessions and devices: list, sign out, approve, trust, forget,
    /// log out everywhere (through the running service).
    Sessions {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: warden::sessions_cli::SessionsCommand,
    },
    /// Report, list and show sensitive operations (forwarding rules, security
    /// changes...), or feed them from a JSON Lines log (through the running service).
    Operations {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: warden::operations_cli::OperationsCommand,
    },
    /// Reports as HTML pages: `security` for a period (through the running
    /// service).
    Report {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: warden::report_cli::ReportCommand,
    },
    /// Incidents: list, show, open, assign, move the status, run one-click
    /// actions, tick steps, review, timeline, playbooks (through the running service).
    Incidents {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: warden::incidents_cli::IncidentsCommand,
    },
    /// Replay a labelled stream (from `warden simulate`) and report detection
    /// quality: catch rates per attack, friction, alerts, ROC.
    Eval {
        #[arg(long)]
        events: PathBuf,
        #[arg(long)]
        labels: PathBuf,
        /// Also write summary.json, table.md and roc.svg here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Score with a baseline model too (`freeman`).
        #[arg(long)]
        baseline: Option<String>,
        /// How successes teach the profiles: `enforced` (a success Warden
        /// would deny is learned as refused, a challenged or alerted one only
        /// with `"challenge_passed": true`) or `literal` (every success as it
        /// happened: a backtest of monitoring mode).
        #[arg(long, value_enum, default_value_t = warden::replay::LearnMode::Enforced)]
        learn: warden::replay::LearnMode,
        /// Geo data folder (default: the configured one).
        #[arg(long)]
        geo_dir: Option<PathBuf>,
        /// Run without geo data (every location and network unknown, so
        /// nearly every login is allowed). Without this flag, missing geo
        /// data is an error.
        #[arg(long, conflicts_with = "geo_dir")]
        no_geo: bool,
    },
    /// Geolocation corrections: the queue of users' "the location is
    /// wrong" answers (through the running service).
    Corrections {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: CorrectionsCommand,
    },
    /// Explain why a user's mail clients fail to log in, and what to do.
    Diagnose {
        user: String,
        #[command(flatten)]
        remote: Remote,
        /// Chinese text.
        #[arg(long)]
        zh: bool,
        /// Print the JSON answer instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The qmail checkpassword interface for Dovecot: reads user and
    /// password on fd 3, asks Warden, then runs the reply program (exit 1:
    /// refused, 111: Warden unreachable).
    Checkpassword {
        /// Service address (default: server.listen).
        #[arg(long)]
        server: Option<String>,
        /// File holding the API key (default: WARDEN_API_KEY, then the configuration).
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// Give up on Warden after this many milliseconds (exit 111).
        #[arg(long, default_value_t = 5000)]
        timeout_ms: u64,
        /// Language of the messages: en or zh.
        #[arg(long, default_value = "en")]
        lang: String,
        /// The program to run on success and its arguments (Dovecot appends checkpassword-reply).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        reply: Vec<std::ffi::OsString>,
    },
}

/// How admin commands reach the service.
#[derive(clap::Args)]
struct Remote {
    /// Service address (default: server.listen). The API key comes from
    /// WARDEN_API_KEY, server.api_keys or the key file.
    #[arg(long, global = true)]
    server: Option<String>,
}

/// The client of the running service's API that the admin commands
/// (`warden user`, `alerts`, `channels`, ...) share, and a runtime to call
/// it on.
fn remote_admin(
    cfg: &Config,
    remote: &Remote,
) -> anyhow::Result<(warden::admin::Admin, tokio::runtime::Runtime)> {
    let admin = warden::admin::Admin::new(
        cfg,
        remote.server.as_deref(),
        std::env::var("WARDEN_API_KEY").ok(),
    )?;
    Ok((admin, tokio::runtime::Runtime::new()?))
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account.
    Create {
        user: String,
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// `user` or `admin`.
        #[arg(long)]
        role: Option<String>,
        /// Read the initial password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Show an account.
    Show { user: String },
    /// List accounts.
    List {
        #[arg(long)]
        org: Option<String>,
    },
    /// Disable an account.
    Disable {
        user: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Enable a disabled account.
    Enable { user: String },
    /// Lock an account.
    Lock {
        user: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Unlock an account and lift its risk-control lockouts.
    Unlock { user: String },
    /// Delete an account (its history and security events stay).
    Delete { user: String },
    /// Create accounts from a CSV file (header: user,org,display_name,email,phone,role,password,must_change_password).
    Import { file: PathBuf },
    /// Reset the login password (read from stdin); revokes authorization codes.
    Passwd {
        user: String,
        /// Keep the account's authorization codes.
        #[arg(long)]
        keep_app_passwords: bool,
        /// The user must change it at the next login.
        #[arg(long)]
        must_change: bool,
        /// Chinese text.
        #[arg(long)]
        zh: bool,
        /// Print the JSON answer instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Create an authorization code (app password) for mail clients.
    AppPassword {
        user: String,
        #[arg(long)]
        name: String,
        /// Comma-separated: imap,pop3,smtp,dav,im,api (default imap,pop3,smtp,dav).
        #[arg(long, value_delimiter = ',')]
        protocols: Vec<String>,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

#[derive(Subcommand)]
enum CorrectionsCommand {
    /// The users' location complaints waiting for an admin.
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
}

#[derive(Subcommand)]
enum QueueCommand {
    /// List complaints (oldest first).
    List {
        /// pending, accepted or rejected (default: all).
        #[arg(long)]
        state: Option<String>,
        /// Continue after this id (the previous page's next_after).
        #[arg(long)]
        after: Option<i64>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Accept one: a geolocation correction with the place given, live at once.
    Accept {
        id: i64,
        /// ISO 3166-1 alpha-2 country code.
        #[arg(long)]
        country: String,
        #[arg(long)]
        region: Option<String>,
        #[arg(long)]
        city: Option<String>,
        /// The network to correct (CIDR, holding the address; default: the address alone).
        #[arg(long)]
        network: Option<String>,
        /// Who decides (recorded; default `api`).
        #[arg(long)]
        by: Option<String>,
    },
    /// Reject one.
    Reject {
        id: i64,
        /// Who decides (recorded; default `api`).
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Subcommand)]
enum SecretKeyCommand {
    /// The key is lost and no backup is left: switch TOTP off for every
    /// account that has it (users enrol again) and make the key file's key
    /// (a new one when the file is missing) the database's. Run it with the
    /// service stopped.
    Reset {
        /// Yes, switch TOTP off for those accounts.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum GeoCommand {
    /// What Warden knows about an address.
    Lookup { ip: String },
    /// Which geo sources are loaded.
    Info,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the configuration reference (Markdown).
    Reference,
    /// Validate and print the effective configuration (TOML-like JSON).
    Check,
}

fn init_logging(cfg: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&cfg.log.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cfg.log.json {
        b.json().init();
    } else {
        b.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // The reader has all it wanted (`| head`): not an error.
        Err(e) if e.is::<OutputClosed>() => ExitCode::SUCCESS,
        Err(e) => {
            note(format_args!("error: {e:#}\n"));
            ExitCode::FAILURE
        }
    }
}

/// The reader of the command's output went away (a closed pipe).
#[derive(Debug, thiserror::Error)]
#[error("the output was closed")]
struct OutputClosed;

/// Whether `e` comes from writing into a closed pipe. Only for commands
/// that use no network, where a broken pipe can only be the output's.
fn output_closed(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Writes `text` to standard output; a closed pipe is [`OutputClosed`].
fn emit(text: impl Display) -> anyhow::Result<()> {
    let mut o = io::stdout().lock();
    write!(o, "{text}")
        .and_then(|()| o.flush())
        .map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => anyhow::Error::new(OutputClosed),
            _ => anyhow::Error::new(e).context("writing to standard output"),
        })
}

/// Writes `text` to standard error, which may be closed too: then nothing.
fn note(text: impl Display) {
    let _ = write!(io::stderr().lock(), "{text}");
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Config {
        command: ConfigCommand::Reference,
    } = cli.command
    {
        emit(reference_markdown())?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Checkpassword {
        server,
        key_file,
        timeout_ms,
        lang,
        reply,
    } = cli.command
    {
        // Errors are exit 111 (temporary), never 1 (wrong password).
        let opts = warden::checkpassword::Options {
            server,
            key_file,
            timeout: std::time::Duration::from_millis(timeout_ms),
            lang,
            reply,
        };
        let code = warden::checkpassword::main(cli.config.as_deref(), opts);
        return Ok(ExitCode::from(code));
    }
    let cfg = Config::load(cli.config.as_deref(), &serve::environment())?;
    match cli.command {
        Command::Serve => {
            init_logging(&cfg);
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let running = serve::start(cfg).await?;
                running.wait().await
            })?;
        }
        Command::Migrate => {
            init_logging(&cfg);
            let rt = tokio::runtime::Runtime::new()?;
            let path = cfg.database_path();
            rt.block_on(serve::open_store(&cfg))?;
            emit(format_args!("database {} is up to date\n", path.display()))?;
        }
        Command::Audit { command } => {
            let rt = tokio::runtime::Runtime::new()?;
            let (text, ok) = rt.block_on(warden::audit_cli::run(&cfg, command))?;
            emit(text)?;
            if !ok {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::SecretKey {
            command: SecretKeyCommand::Reset { yes },
        } => {
            if !yes {
                anyhow::bail!(
                    "secret-key reset switches TOTP off for every account that has it; \
                     run it again with --yes to do so"
                );
            }
            init_logging(&cfg);
            let rt = tokio::runtime::Runtime::new()?;
            let n = rt.block_on(serve::reset_secret_key(&cfg))?;
            emit(format_args!(
                "TOTP switched off for {n} accounts (their users enrol again); the database now records the key in {}\n",
                cfg.in_data_dir(&cfg.auth.secret_key_file).display()
            ))?;
        }
        Command::Replay {
            input,
            output,
            db,
            strict,
            learn,
            geo_dir,
            no_geo,
        } => {
            let mut cfg = cfg;
            if let Some(d) = geo_dir {
                cfg.geo.dir = Some(d);
            }
            let (intel, geo) = warden::replay::offline_intel(&cfg, no_geo)?;
            note(format_args!("replay: {geo}\n"));
            let opts = warden::replay::ReplayOptions {
                input,
                output,
                db,
                strict,
                progress: true,
                learn,
            };
            let summary = warden::replay::run(&opts, cfg.policy.clone(), &intel).map_err(|e| {
                if output_closed(&e) {
                    anyhow::Error::new(OutputClosed)
                } else {
                    e
                }
            })?;
            note(format_args!("{summary}\n"));
            if strict && summary.errors > 0 {
                return Ok(ExitCode::from(2));
            }
        }
        Command::Geo { command } => {
            let intel = serve::load_intel(&cfg)?;
            match command {
                GeoCommand::Lookup { ip } => {
                    let ip = ip
                        .parse()
                        .with_context(|| format!("{ip:?} is not an IP address"))?;
                    let info = warden_api::types::IpInfoDto::from(&intel.lookup(ip));
                    emit(format_args!("{}\n", serde_json::to_string_pretty(&info)?))?;
                }
                GeoCommand::Info => emit(format_args!("{:#?}\n", intel.describe()))?,
            }
        }
        Command::GenEvents {
            users,
            events,
            seed,
            out,
        } => {
            warden::synth::run_gen(users, events, seed, &out).map_err(|e| {
                if out == std::path::Path::new("-") && output_closed(&e) {
                    anyhow::Error::new(OutputClosed)
                } else {
                    e
                }
            })?;
        }
        Command::Simulate {
            users,
            days,
            seed,
            attack_scale,
            out,
            geo_dir,
        } => {
            let geo = geo_dir.unwrap_or_else(|| cfg.geo_dir());
            let sim = warden_sim::SimConfig {
                users,
                days,
                seed,
                attack_scale,
                ..warden_sim::SimConfig::default()
            };
            let summary = warden_sim::run(&sim, &geo, &out)?;
            note(format_args!("{summary}wrote {}\n", out.display()));
        }
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            emit(format_args!("{}\n", serde_json::to_string_pretty(&cfg)?))?;
        }
        Command::Config {
            command: ConfigCommand::Reference,
        }
        | Command::Checkpassword { .. } => unreachable!("handled above"),
        Command::Channels { remote, command } => {
            let (admin, rt) = remote_admin(&cfg, &remote)?;
            let answer = rt.block_on(warden::admin_notify::channels(&admin, command))?;
            emit(format_args!("{}\n", serde_json::to_string_pretty(&answer)?))?;
        }
        Command::Templates { remote, command } => {
            let (admin, rt) = remote_admin(&cfg, &remote)?;
            let answer = rt.block_on(warden::admin_notify::templates(&admin, command))?;
            match answer {
                serde_json::Value::String(text) => emit(format_args!("{text}\n"))?,
                v => emit(format_args!("{}\n", serde_json::to_string_pretty(&v)?))?,
            }
        }
        Command::User { remote, command } => {
            let (admin, rt) = remote_admin(&cfg, &remote)?;
            // A password change reads as a summary (strength, advice), not JSON.
            let summary = match &command {
                UserCommand::Passwd {
                    zh, json: false, ..
                } => Some(*zh),
                _ => None,
            };
            let answer = rt.block_on(user_command(&admin, command))?;
            if let Some(zh) = summary {
                emit(warden::admin::render_password_set(&answer, zh))?;
            } else if !answer.is_null() {
                emit(format_args!("{}\n", serde_json::to_string_pretty(&answer)?))?;
            }
        }
        Command::Alerts { remote, command } => {
            let (admin, rt) = remote_admin(&cfg, &remote)?;
            let answer = rt.block_on(warden::alerts_cli::run(&admin, command))?;
            emit(format_args!("{}\n", serde_json::to_string_pretty(&answer)?))?;
        }
        Command::Policies { remote, command } => {
            let (admin, rt) = remote_admin(&cfg, &remote)?;
            let summary = matches!(
                command,
                warden::policies_cli::PoliciesCommand::DryRun { json: false, .. }
            );
            let answer = rt.block_on(warden::policies_cli::run_policies(&admin, command))?;
            if summary {
                emit(warden::policies_cli::render_dry_run(&answer))?;
            } else {
                emit(format_args!("{}\n", serde_json::to_string_pretty(&answer)?))?;
            }
        }
        Command::Groups { remote, command } => {
            let (admin, rt) = remote_admin(&cfg, &remote)?;
            let answer = rt.block_on(warden::policies_cli::run_groups(&admin, command))?;
            emit(format_args!("{}\n", serde_json::to_string_pretty(&answer)?))?;
        }
        Command::SignIns { remote, command } => {
            let (admin, rt) = remote_admin(&cfg, &remote)?;
            let answer = rt.block_on(warden::signins_cli::run(&admin, command))?;
            emit(format_args!("{}\n", serde_json::to_string_pretty(&answer)?))?;
        }
        Command::Sessions { remote, command } => {
            let (admin, rt) = remote_admin(&cfg, &remote)?;
            let answer = rt.block_on(warden::sessions_cli::run(&admin, command))?;
            if !answer.is_null() {
                emit(format_args!("{}\n", serde_json::to_string_pretty(&answer)?))?;
            }
        }
        Command::Incidents {
            remote,
            command: warden::incidents_cli::IncidentsCommand::Evidence(args),
        } => {
            let (admin, rt) = remote_admin(&cfg, &remote)?;
            emit(rt.block_on(warden::evidence_cli::export(&admin, args))?)?;
        }
        Command::Operations { remote, command } => {
            let (admin, rt) = remote_admin(&cfg, &remote)?;
            let answer = rt.block_on(warden::operations_cli::run(&admin, command))?;
            emit(format_args!("{}\n", serde_json::to_string_pretty(&answer)?))?;
        }
        Command::Report { remote, command } => {
            let (admin, rt) = remote_admin(&cfg, &remote)?;
            emit(rt.block_on(warden::report_cli::run(&admin, command))?)?;
        }
        Command::Incidents { remote, command } => {
            let (admin, rt) = remote_admin(&cfg, &remote)?;
            let answer = rt.block_on(warden::incidents_cli::run(&admin, command))?;
            emit(format_args!("{}\n", serde_json::to_string_pretty(&answer)?))?;
        }
        Command::Eval {
            events,
            labels,
            out,
            baseline,
            learn,
            geo_dir,
            no_geo,
        } => {
            let baseline = match baseline.as_deref() {
                None => false,
                Some("freeman") => true,
                Some(other) => anyhow::bail!("--baseline {other:?}: the only baseline is freeman"),
            };
            let mut cfg = cfg;
            if let Some(d) = geo_dir {
                cfg.geo.dir = Some(d);
            }
            let (intel, geo) = warden::replay::offline_intel(&cfg, no_geo)?;
            note(format_args!("eval: {geo}\n"));
            let opts = warden::eval::EvalOptions {
                events,
                labels,
                out,
                baseline,
                geo,
                learn,
            };
            let started = std::time::Instant::now();
            let (_, table) = warden::eval::run(&opts, cfg.policy.clone(), &intel)?;
            emit(table)?;
            note(format_args!(
                "evaluated in {:.1} s\n",
                started.elapsed().as_secs_f64()
            ));
        }
        Command::Corrections {
            remote,
            command: CorrectionsCommand::Queue { command },
        } => {
            let (admin, rt) = remote_admin(&cfg, &remote)?;
            let answer = rt.block_on(queue_command(&admin, command))?;
            emit(format_args!("{}\n", serde_json::to_string_pretty(&answer)?))?;
        }
        Command::Diagnose {
            user,
            remote,
            zh,
            json,
        } => {
            let (admin, rt) = remote_admin(&cfg, &remote)?;
            let path = format!("/v1/users/{}/diagnose", warden::admin::segment(&user));
            let v = rt.block_on(admin.call(reqwest::Method::GET, &path, None))?;
            if json {
                emit(format_args!("{}\n", serde_json::to_string_pretty(&v)?))?;
            } else {
                emit(warden::admin::render_diagnosis(&v, zh))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs one `warden corrections queue` command against the service.
async fn queue_command(
    admin: &warden::admin::Admin,
    command: QueueCommand,
) -> anyhow::Result<serde_json::Value> {
    use reqwest::Method;
    use serde_json::json;
    use warden::admin::{segment, Body};
    const Q: &str = "/v1/geo/corrections/queue";
    match command {
        QueueCommand::List {
            state,
            after,
            limit,
        } => {
            let mut path = format!("{Q}?limit={limit}");
            if let Some(s) = state {
                path.push_str(&format!("&state={}", segment(&s)));
            }
            if let Some(a) = after {
                path.push_str(&format!("&after={a}"));
            }
            admin.call(Method::GET, &path, None).await
        }
        QueueCommand::Accept {
            id,
            country,
            region,
            city,
            network,
            by,
        } => {
            let body = json!({"country": country, "region": region, "city": city, "network": network, "by": by});
            admin
                .call(
                    Method::POST,
                    &format!("{Q}/{id}/accept"),
                    Some(Body::Json(body)),
                )
                .await
        }
        QueueCommand::Reject { id, by } => {
            admin
                .call(
                    Method::POST,
                    &format!("{Q}/{id}/reject"),
                    Some(Body::Json(json!({ "by": by }))),
                )
                .await
        }
    }
}

/// Runs one `warden user` command against the service.
async fn user_command(
    admin: &warden::admin::Admin,
    command: UserCommand,
) -> anyhow::Result<serde_json::Value> {
    use reqwest::Method;
    use serde_json::json;
    use warden::admin::{segment, Body};
    let u = |user: &str| format!("/v1/users/{}", segment(user));
    match command {
        UserCommand::Create {
            user,
            org,
            display_name,
            email,
            role,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(warden::admin::password_from_stdin()?)
            } else {
                None
            };
            let body = warden::admin::create_body(&user, org, display_name, email, role, password);
            admin
                .call(Method::POST, "/v1/users", Some(Body::Json(body)))
                .await
        }
        UserCommand::Show { user } => admin.call(Method::GET, &u(&user), None).await,
        UserCommand::List { org } => {
            let path = match org {
                Some(o) => format!("/v1/users?org={}", segment(&o)),
                None => "/v1/users".to_string(),
            };
            admin.call(Method::GET, &path, None).await
        }
        UserCommand::Disable { user, reason } => {
            admin
                .call(
                    Method::POST,
                    &format!("{}/disable", u(&user)),
                    Some(Body::Json(json!({ "reason": reason }))),
                )
                .await
        }
        UserCommand::Enable { user } => {
            admin
                .call(Method::POST, &format!("{}/enable", u(&user)), None)
                .await
        }
        UserCommand::Lock { user, reason } => {
            admin
                .call(
                    Method::POST,
                    &format!("{}/lock", u(&user)),
                    Some(Body::Json(json!({ "reason": reason }))),
                )
                .await
        }
        UserCommand::Unlock { user } => {
            admin
                .call(Method::POST, &format!("{}/unlock", u(&user)), None)
                .await
        }
        UserCommand::Delete { user } => {
            admin.call(Method::DELETE, &u(&user), None).await?;
            Ok(json!({ "deleted": user }))
        }
        UserCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            admin
                .call(Method::POST, "/v1/users/import", Some(Body::Csv(text)))
                .await
        }
        UserCommand::Passwd {
            user,
            keep_app_passwords,
            must_change,
            ..
        } => {
            let password = warden::admin::password_from_stdin()?;
            let body = json!({ "password": password, "keep_app_passwords": keep_app_passwords, "must_change_password": must_change });
            admin
                .call(
                    Method::PUT,
                    &format!("{}/password", u(&user)),
                    Some(Body::Json(body)),
                )
                .await
        }
        UserCommand::AppPassword {
            user,
            name,
            protocols,
            expires_in_days,
        } => {
            let mut body = json!({ "name": name });
            if !protocols.is_empty() {
                body["protocols"] = json!(protocols);
            }
            if let Some(d) = expires_in_days {
                body["expires_in_days"] = json!(d);
            }
            admin
                .call(
                    Method::POST,
                    &format!("{}/app-passwords", u(&user)),
                    Some(Body::Json(body)),
                )
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        // clap's own checks of every subcommand (unique names, requires...).
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
