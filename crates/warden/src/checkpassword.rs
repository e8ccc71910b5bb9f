//! `warden checkpassword`: the qmail checkpassword interface
//! (<http://cr.yp.to/checkpwd/interface.html>) for Dovecot sites that cannot
//! install the Lua passdb. Dovecot runs it per login with `user NUL password
//! NUL` on file descriptor 3 and `SERVICE`, `TCPREMOTEIP` and `AUTH_*`
//! variables in the environment; it asks Warden (`POST /v1/auth/verify`)
//! and answers the only ways the interface has:
//!
//! | Warden | checkpassword | the client sees |
//! |---|---|---|
//! | `ok` | runs the reply program with `USER` | logged in |
//! | `wrong_password`, `deny_risk` | exit 1 | `NO [AUTHENTICATIONFAILED] Authentication failed.` |
//! | any other reason | runs the reply program with the extra fields `nologin` and `reason` | `NO [CONTACTADMIN] <Warden's message>` |
//! | Warden unreachable or an error | exit 111 | `NO [UNAVAILABLE] Temporary authentication failure.` |
//!
//! `nologin` is honoured by Dovecot's own IMAP and POP3 logins only; SASL
//! clients such as Postfix would take that answer as a success, so for
//! every other service these refusals exit 1 (Postfix: `535 5.7.8 Error:
//! authentication failed`; Warden's history keeps the reason).
//!
//! The interface has no "expired" answer, so an expired password also gets
//! its message through `nologin`. Only password checks are supported:
//! user lookups (`AUTHORIZED=1`) need a static userdb instead.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::config::Config;

/// Exit code for "wrong user name or password".
pub const EXIT_FAILED: u8 = 1;
/// Exit code for a temporary failure (Dovecot: internal failure).
pub const EXIT_TEMPFAIL: u8 = 111;

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

/// What the login presents, from fd 3 and the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub password: String,
    pub service: String,
    pub remote_ip: String,
    /// `AUTH_SECURED`: `TLS`, `secured` or empty.
    pub secured: String,
    /// `AUTH_CLIENT_ID`: the IMAP ID, with `imap_id_retain = yes`.
    pub client_id: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("service", &self.service)
            .field("remote_ip", &self.remote_ip)
            .finish_non_exhaustive()
    }
}

/// Splits `user NUL password NUL [timestamp NUL ...]`.
pub fn parse_input(bytes: &[u8]) -> anyhow::Result<(String, String)> {
    let mut parts = bytes.split(|&b| b == 0);
    let (Some(user), Some(password)) = (parts.next(), parts.next()) else {
        bail!("fd 3 does not hold user NUL password NUL");
    };
    if user.is_empty() {
        bail!("fd 3 holds an empty user name");
    }
    Ok((
        String::from_utf8(user.to_vec()).context("the user name is not UTF-8")?,
        String::from_utf8(password.to_vec()).context("the password is not UTF-8")?,
    ))
}

/// Dovecot's service as Warden's protocol name.
pub fn protocol_of(service: &str) -> &'static str {
    match service.to_ascii_lowercase().as_str() {
        "imap" => "imap",
        "pop3" => "pop3",
        "smtp" | "submission" | "lmtp" => "smtp",
        _ => "api",
    }
}

/// Whether the connection is TLS: Dovecot's own logins say `TLS`; SASL
/// clients such as Postfix only say `secured`, and only over TLS.
pub fn is_tls(service: &str, secured: &str) -> bool {
    secured.eq_ignore_ascii_case("tls")
        || (secured == "secured" && !matches!(protocol_of(service), "imap" | "pop3"))
}

/// The `/v1/auth/verify` body.
pub fn verify_body(login: &Login, lang: &str) -> Value {
    let mut body = json!({
        "user": login.user,
        "password": login.password,
        "protocol": protocol_of(&login.service),
        "ip": login.remote_ip,
        "tls": is_tls(&login.service, &login.secured),
        "lang": lang,
    });
    // Dovecot's client_id is the IMAP ID list without its parentheses.
    let id = login.client_id.trim();
    if !id.is_empty() {
        body["user_agent"] = json!(if id.starts_with('"') {
            format!("({id})")
        } else {
            id.to_string()
        });
    }
    body
}

/// What to answer Dovecot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Run the reply program: the login succeeded.
    Accept,
    /// Exit 1.
    Refuse,
    /// Run the reply program with `nologin` and this `reason`.
    Message(String),
    /// Exit 111.
    TempFail,
}

/// Reads Warden's answer.
pub fn answer(resp: &Value) -> Answer {
    match (resp["result"].as_str(), resp["reason"].as_str()) {
        (Some("ok"), _) => Answer::Accept,
        (Some("fail"), Some("wrong_password" | "deny_risk")) => Answer::Refuse,
        (Some("fail"), _) => {
            let text = resp["message"].as_str().unwrap_or("Login refused.");
            // The reply goes into a tab-separated line.
            Answer::Message(
                text.chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect(),
            )
        }
        _ => Answer::TempFail,
    }
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

/// Whether a refusal can carry Warden's text to the client: `nologin` is
/// read by Dovecot's own IMAP and POP3 logins, not by SASL clients.
pub fn carries_text(service: &str) -> bool {
    matches!(service.to_ascii_lowercase().as_str(), "imap" | "pop3")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_user_nul_password_nul() {
        assert_eq!(
            parse_input(b"alice@example.com\0s3cret pass\x00123\0").unwrap(),
            ("alice@example.com".into(), "s3cret pass".into())
        );
        assert_eq!(
            parse_input(b"bob\0\0").unwrap(),
            ("bob".into(), String::new())
        );
        assert!(parse_input(b"nouser").is_err());
        assert!(parse_input(b"\0pw\0").is_err());
    }

    #[test]
    fn tls_and_protocols() {
        assert!(is_tls("imap", "TLS"));
        assert!(!is_tls("imap", "secured"));
        assert!(is_tls("smtp", "secured"));
        assert!(!is_tls("smtp", ""));
        assert_eq!(protocol_of("submission"), "smtp");
        assert!(carries_text("imap") && carries_text("pop3"));
        assert!(!carries_text("smtp"));
        let login = Login {
            user: "a".into(),
            password: "p".into(),
            service: "pop3".into(),
            remote_ip: "1.2.3.4".into(),
            secured: "TLS".into(),
            client_id: String::new(),
        };
        let b = verify_body(&login, "zh");
        assert_eq!(b["protocol"], "pop3");
        assert_eq!(b["tls"], true);
        assert!(b.get("user_agent").is_none());
        assert!(!format!("{login:?}").contains("\"p\""));
    }

    #[test]
    fn answers() {
        assert_eq!(answer(&json!({"result": "ok"})), Answer::Accept);
        assert_eq!(
            answer(&json!({"result": "fail", "reason": "wrong_password"})),
            Answer::Refuse
        );
        assert_eq!(
            answer(
                &json!({"result": "fail", "reason": "app_password_required", "message": "Use a code.\tNow"})
            ),
            Answer::Message("Use a code. Now".into())
        );
        assert_eq!(answer(&json!({"error": "x"})), Answer::TempFail);
    }
}
