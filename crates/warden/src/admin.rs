//! The admin commands (`warden user ...`, `warden diagnose`): thin clients of
//! the running service's HTTP API, so the CLI and the API share one code
//! path (and an unlock lifts the lockouts the service holds in memory).
//!
//! The server address comes from `--server` or `server.listen`; the API key
//! from `WARDEN_API_KEY`, else the configured keys or the key file.

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::config::Config;

/// Where and how to reach the service.
pub struct Admin {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Admin {
    /// From the configuration; `server` overrides the address.
    pub fn new(
        cfg: &Config,
        server: Option<&str>,
        env_key: Option<String>,
    ) -> anyhow::Result<Self> {
        let base = match server {
            Some(s) if s.starts_with("http://") || s.starts_with("https://") => {
                s.trim_end_matches('/').to_string()
            }
            Some(s) => format!("http://{s}"),
            None => format!("http://{}", cfg.server.listen),
        };
        let key = match env_key.filter(|k| !k.trim().is_empty()) {
            Some(k) => k.trim().to_string(),
            None => match cfg.server.api_keys.iter().find(|k| !k.trim().is_empty()) {
                Some(k) => k.trim().to_string(),
                None => {
                    let file = cfg.in_data_dir(&cfg.server.api_key_file);
                    std::fs::read_to_string(&file)
                        .with_context(|| {
                            format!(
                                "no API key: set WARDEN_API_KEY, server.api_keys, or start the service once so it writes {}",
                                file.display()
                            )
                        })?
                        .trim()
                        .to_string()
                }
            },
        };
        Ok(Admin {
            base,
            key,
            http: reqwest::Client::new(),
        })
    }

    /// Sends one request; a non-2xx answer becomes an error with the
    /// service's message.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Body>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(&self.key);
        req = match body {
            Some(Body::Json(v)) => req.json(&v),
            Some(Body::Csv(text)) => req.header("content-type", "text/csv").body(text),
            None => req,
        };
        let resp = req.send().await.with_context(|| {
            format!(
                "cannot reach Warden at {} (is `warden serve` running?)",
                self.base
            )
        })?;
        let status = resp.status();
        let text = resp.text().await.context("reading the answer")?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if !status.is_success() {
            let msg = value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| value.to_string());
            bail!("{status}: {msg}");
        }
        Ok(value)
    }
}

/// A request body.
pub enum Body {
    Json(Value),
    Csv(String),
}

/// Percent-encodes a path segment (user names hold `@` and may hold more).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Reads a password from the first line of stdin (for `--password-stdin`).
pub fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    if pw.is_empty() {
        bail!("no password on stdin");
    }
    Ok(pw)
}

/// The body of a create-account request.
pub fn create_body(
    user: &str,
    org: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    role: Option<String>,
    password: Option<String>,
) -> Value {
    let mut v = json!({ "user": user });
    for (k, val) in [
        ("org", org),
        ("display_name", display_name),
        ("email", email),
        ("role", role),
        ("password", password),
    ] {
        if let Some(val) = val {
            v[k] = Value::String(val);
        }
    }
    v
}

/// A diagnosis as text, one block per finding.
pub fn render_diagnosis(v: &Value, zh: bool) -> String {
    let mut out = String::new();
    let user = v.get("user").and_then(Value::as_str).unwrap_or("?");
    out.push_str(&format!("Diagnosis for {user}\n"));
    if let Some(a) = v.get("account").filter(|a| !a.is_null()) {
        out.push_str(&format!(
            "  account: {} ({}), 2FA {}\n",
            a["status"].as_str().unwrap_or("?"),
            a["org"].as_str().unwrap_or("?"),
            if a["two_factor"].as_bool() == Some(true) {
                "on"
            } else {
                "off"
            }
        ));
    }
    let (exp, adv) = if zh {
        ("explanation_zh", "advice_zh")
    } else {
        ("explanation", "advice")
    };
    for f in v
        .get("findings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push_str(&format!(
            "\n- [{}] {}\n  -> {}\n",
            f["reason"].as_str().unwrap_or("?"),
            f[exp].as_str().unwrap_or(""),
            f[adv].as_str().unwrap_or("")
        ));
    }
    out
}
