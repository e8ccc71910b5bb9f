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

impl Admin {
    /// A GET whose answer is not JSON (the security report's HTML): the
    /// body as text ([`Admin::get_bytes`], which must be UTF-8).
    pub async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        String::from_utf8(self.get_bytes(path).await?).context("the answer is not UTF-8")
    }

    /// GETs `path` and returns the answer's bytes as they came (a signed
    /// file must not be re-encoded); a non-2xx answer is an error with the
    /// service's message.
    pub async fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .http
            .get(&url)
            .bearer_auth(&self.key)
            .send()
            .await
            .with_context(|| {
                format!(
                    "cannot reach Warden at {} (is `warden serve` running?)",
                    self.base
                )
            })?;
        let status = resp.status();
        let bytes = resp.bytes().await.context("reading the answer")?;
        if !status.is_success() {
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let msg = value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(300).collect());
            bail!("{status}: {msg}");
        }
        Ok(bytes.to_vec())
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

/// An account status as people read it.
fn status_label(status: &str, zh: bool) -> &str {
    match (status, zh) {
        ("active", true) => "正常",
        ("locked", true) => "已锁定",
        ("disabled", true) => "已停用",
        (s, _) => s,
    }
}

/// A diagnosis as text in English or Chinese, one block per finding: the
/// reason code (stable, for searching), the explanation, the advice and,
/// when the answer carries it, the client's raw user agent.
pub fn render_diagnosis(v: &Value, zh: bool) -> String {
    let mut out = String::new();
    let user = v.get("user").and_then(Value::as_str).unwrap_or("?");
    out.push_str(&if zh {
        format!("{user} 的登录诊断\n")
    } else {
        format!("Diagnosis for {user}\n")
    });
    if let Some(a) = v.get("account").filter(|a| !a.is_null()) {
        let status = status_label(a["status"].as_str().unwrap_or("?"), zh);
        let org = a["org"].as_str().unwrap_or("?");
        let two_factor = a["two_factor"].as_bool() == Some(true);
        out.push_str(&if zh {
            format!(
                "  帐号：{status}（组织 {org}），两步验证{}\n",
                if two_factor { "已开启" } else { "未开启" }
            )
        } else {
            format!(
                "  account: {status} ({org}), 2FA {}\n",
                if two_factor { "on" } else { "off" }
            )
        });
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
        if let Some(ua) = f.get("user_agent").and_then(Value::as_str) {
            out.push_str(&if zh {
                format!("  客户端标识：{ua}\n")
            } else {
                format!("  user agent: {ua}\n")
            });
        }
    }
    out
}

/// The answer to `warden user passwd` (`PUT /v1/users/{user}/password`) as a
/// summary in English or Chinese: the strength, the advice of the strength
/// check, and how many authorization codes the change revoked.
pub fn render_password_set(v: &Value, zh: bool) -> String {
    let lang = if zh {
        warden_core::Lang::Zh
    } else {
        warden_core::Lang::En
    };
    let user = v.get("user").and_then(Value::as_str).unwrap_or("?");
    let strength = &v["strength"];
    let grade = serde_json::from_value::<warden_auth::Grade>(strength["grade"].clone())
        .map(|g| g.label(lang).to_string())
        .unwrap_or_else(|_| strength["grade"].as_str().unwrap_or("?").to_string());
    let score = strength["score"].as_u64();
    let revoked = v["app_passwords_revoked"].as_u64().unwrap_or(0);
    let feedback: Vec<&str> = strength[if zh { "feedback_zh" } else { "feedback" }]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut out = String::new();
    if zh {
        out.push_str(&format!("已为 {user} 设置新密码。\n"));
        match score {
            Some(s) => out.push_str(&format!("  强度：{grade}（评分 {s}/4）\n")),
            None => out.push_str(&format!("  强度：{grade}\n")),
        }
        out.push_str(&if revoked == 0 {
            "  未吊销任何客户端授权码。\n".to_string()
        } else {
            format!("  已吊销 {revoked} 个客户端授权码，相关邮件客户端须使用新的授权码。\n")
        });
        if !feedback.is_empty() {
            out.push_str("  建议：\n");
        }
    } else {
        out.push_str(&format!("Password set for {user}.\n"));
        match score {
            Some(s) => out.push_str(&format!("  strength: {grade} (score {s} of 4)\n")),
            None => out.push_str(&format!("  strength: {grade}\n")),
        }
        out.push_str(&match revoked {
            0 => "  no authorization code was revoked.\n".to_string(),
            1 => "  1 authorization code revoked: its mail clients need a new one.\n".to_string(),
            n => format!("  {n} authorization codes revoked: their mail clients need new ones.\n"),
        });
        if !feedback.is_empty() {
            out.push_str("  suggestions:\n");
        }
    }
    for f in feedback {
        out.push_str(&format!("    - {f}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password_set() -> Value {
        json!({
            "user": "bob@example.com",
            "strength": {
                "grade": "medium", "colour": "黄", "score": 3,
                "feedback": ["Add another word or two. Uncommon words are better."],
                "feedback_zh": ["再加一两个词，不常见的词更好。"]
            },
            "app_passwords_revoked": 2
        })
    }

    #[test]
    fn a_password_change_is_a_summary_in_the_chosen_language() {
        let en = render_password_set(&password_set(), false);
        assert_eq!(
            en,
            "Password set for bob@example.com.\n  strength: medium (score 3 of 4)\n  2 authorization codes revoked: their mail clients need new ones.\n  suggestions:\n    - Add another word or two. Uncommon words are better.\n"
        );
        let zh = render_password_set(&password_set(), true);
        assert_eq!(
            zh,
            "已为 bob@example.com 设置新密码。\n  强度：中（评分 3/4）\n  已吊销 2 个客户端授权码，相关邮件客户端须使用新的授权码。\n  建议：\n    - 再加一两个词，不常见的词更好。\n"
        );
        for text in [&en, &zh] {
            assert!(!text.contains('{') && !text.contains("colour") && !text.contains('黄'));
        }
        let mut quiet = password_set();
        quiet["app_passwords_revoked"] = json!(0);
        quiet["strength"]["feedback"] = json!([]);
        quiet["strength"]["grade"] = json!("strong");
        assert_eq!(
            render_password_set(&quiet, false),
            "Password set for bob@example.com.\n  strength: strong (score 3 of 4)\n  no authorization code was revoked.\n"
        );
    }

    #[test]
    fn a_chinese_diagnosis_has_no_english_frame() {
        let v = json!({
            "user": "bob@example.com",
            "account": {"status": "locked", "org": "acme", "two_factor": true},
            "findings": [{
                "reason": "wrong_password",
                "client": "Thunderbird 115.3 (IMAP, last from 113.88.1.10)",
                "user_agent": "(\"name\" \"Thunderbird\" \"version\" \"115.3\")",
                "explanation": "Thunderbird 115.3 (IMAP, last from 113.88.1.10) has failed twice.",
                "explanation_zh": "Thunderbird 115.3（IMAP，最近来自 113.88.1.10）自 2026-03-01 起密码错误 2 次。",
                "advice": "Check the password saved in this client.",
                "advice_zh": "请检查该客户端中保存的密码。"
            }]
        });
        let zh = render_diagnosis(&v, true);
        assert_eq!(
            zh,
            "bob@example.com 的登录诊断\n  帐号：已锁定（组织 acme），两步验证已开启\n\n- [wrong_password] Thunderbird 115.3（IMAP，最近来自 113.88.1.10）自 2026-03-01 起密码错误 2 次。\n  -> 请检查该客户端中保存的密码。\n  客户端标识：(\"name\" \"Thunderbird\" \"version\" \"115.3\")\n"
        );
        let en = render_diagnosis(&v, false);
        assert!(
            en.starts_with("Diagnosis for bob@example.com\n  account: locked (acme), 2FA on\n"),
            "{en}"
        );
        assert!(en.contains("  user agent: (\"name\""), "{en}");
    }
}
