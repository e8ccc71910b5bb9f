//! The `warden` command line: `serve`, `migrate`, `replay`, `geo`,
//! `gen-events` and `config`. Parsing only; the work is in the library.

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
        /// Geo data folder (default: the configured one).
        #[arg(long)]
        geo_dir: Option<PathBuf>,
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
    /// Configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
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
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Config {
        command: ConfigCommand::Reference,
    } = cli.command
    {
        print!("{}", reference_markdown());
        return Ok(ExitCode::SUCCESS);
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
            println!("database {} is up to date", path.display());
        }
        Command::Replay {
            input,
            output,
            db,
            strict,
            geo_dir,
        } => {
            let mut cfg = cfg;
            if let Some(d) = geo_dir {
                cfg.geo.dir = Some(d);
            }
            let intel = serve::load_intel(&cfg)?;
            let opts = warden::replay::ReplayOptions {
                input,
                output,
                db,
                strict,
                progress: true,
            };
            let summary = warden::replay::run(&opts, cfg.policy.clone(), &intel)?;
            eprintln!("{summary}");
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
                    println!("{}", serde_json::to_string_pretty(&info)?);
                }
                GeoCommand::Info => println!("{:#?}", intel.describe()),
            }
        }
        Command::GenEvents {
            users,
            events,
            seed,
            out,
        } => {
            warden::synth::run_gen(users, events, seed, &out)?;
        }
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            println!("{}", serde_json::to_string_pretty(&cfg)?);
        }
        Command::Config {
            command: ConfigCommand::Reference,
        } => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}
