//! `warden checkpassword`: the qmail checkpassword interface for Dovecot
//! sites that cannot install the Lua passdb. Dovecot runs it per login with
//! `user NUL password NUL` on file descriptor 3 and `SERVICE`,
//! `TCPREMOTEIP` and `AUTH_*` variables in the environment; it asks Warden
//! (`POST /v1/auth/verify`) and answers the way the interface can. The
//! protocol (what is read, what each answer becomes) is the mail adapter
//! `warden_api::mail::checkpassword`; this module is the process around it:
//! configuration, the API key, the HTTP call and running the reply program.
//!
//! The interface has no "expired" answer, so an expired password also gets
//! its message through `nologin`. Only password checks are supported:
//! user lookups (`AUTHORIZED=1`) need a static userdb instead.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

use crate::config::Config;

pub use warden_api::mail::checkpassword::{
    answer, carries_text, parse_input, verify_body, Answer, Login, EXIT_FAILED, EXIT_TEMPFAIL,
};

/// The command line of `warden checkpassword`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Service address (default: `server.listen`).
    pub server: Option<String>,
    /// A file holding the API key (default: `WARDEN_API_KEY`, then the
    /// configuration's keys or key file).
    pub key_file: Option<PathBuf>,
    pub timeout: Duration,
    /// `en` or `zh`.
    pub lang: String,
    /// The program to run on success, with its arguments (Dovecot appends
    /// `checkpassword-reply`).
    pub reply: Vec<OsString>,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// Runs the command; returns the exit code (it only returns when it does
/// not run the reply program).
pub fn main(cfg_file: Option<&std::path::Path>, opts: Options) -> u8 {
    match run(cfg_file, &opts) {
        Ok(code) => code,
        Err(e) => {
            // Dovecot logs the program's stderr.
            eprintln!("warden checkpassword: {e:#}");
            EXIT_TEMPFAIL
        }
    }
}

fn run(cfg_file: Option<&std::path::Path>, opts: &Options) -> anyhow::Result<u8> {
    if std::env::var_os("AUTHORIZED").is_some() {
        bail!("user and credentials lookups are not supported: use warden checkpassword as a passdb with plaintext mechanisms and a static userdb");
    }
    let Some((program, args)) = opts.reply.split_first() else {
        bail!("no reply program given (Dovecot passes checkpassword-reply as the last argument)");
    };
    let input = std::fs::read("/dev/fd/3").context("reading user and password from fd 3")?;
    let (user, password) = parse_input(&input)?;
    let login = Login {
        user,
        password,
        service: env("SERVICE"),
        remote_ip: env("TCPREMOTEIP"),
        secured: env("AUTH_SECURED"),
        client_id: env("AUTH_CLIENT_ID"),
    };
    let cfg = Config::load(cfg_file, &crate::serve::environment())?;
    let base = match &opts.server {
        Some(s) if s.starts_with("http://") || s.starts_with("https://") => {
            s.trim_end_matches('/').to_string()
        }
        Some(s) => format!("http://{s}"),
        None => format!("http://{}", cfg.server.listen),
    };
    let key = api_key(&cfg, opts.key_file.as_deref())?;
    let body = verify_body(&login, &opts.lang);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let resp: Value = rt.block_on(async {
        let r = reqwest::Client::builder()
            .timeout(opts.timeout)
            .build()?
            .post(format!("{base}/v1/auth/verify"))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("cannot reach Warden at {base}"))?;
        let status = r.status();
        if !status.is_success() {
            bail!(
                "Warden answered {status}: {}",
                r.text().await.unwrap_or_default()
            );
        }
        Ok::<_, anyhow::Error>(r.json().await?)
    })?;
    let mut reply = std::process::Command::new(program);
    reply.args(args).env("USER", &login.user);
    match answer(&resp) {
        Answer::Refuse => return Ok(EXIT_FAILED),
        Answer::TempFail => bail!("unexpected answer from Warden: {resp}"),
        Answer::Accept => {}
        Answer::Message(_) if !carries_text(&login.service) => return Ok(EXIT_FAILED),
        Answer::Message(text) => {
            reply
                .env("nologin", "y")
                .env("reason", text)
                .env("EXTRA", "nologin reason");
        }
    }
    let e = reply.exec();
    Err(e).with_context(|| format!("running the reply program {}", program.to_string_lossy()))
}

/// The API key: `--key-file`, else `WARDEN_API_KEY`, else the configuration.
fn api_key(cfg: &Config, key_file: Option<&std::path::Path>) -> anyhow::Result<String> {
    if let Some(f) = key_file {
        let k = std::fs::read_to_string(f)
            .with_context(|| format!("reading the API key from {}", f.display()))?;
        return Ok(k.trim().to_string());
    }
    if let Some(k) = std::env::var("WARDEN_API_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty())
    {
        return Ok(k.trim().to_string());
    }
    if let Some(k) = cfg.server.api_keys.iter().find(|k| !k.trim().is_empty()) {
        return Ok(k.trim().to_string());
    }
    let file = cfg.in_data_dir(&cfg.server.api_key_file);
    Ok(std::fs::read_to_string(&file)
        .with_context(|| format!("no API key: pass --key-file (reading {})", file.display()))?
        .trim()
        .to_string())
}
