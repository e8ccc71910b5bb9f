//! The channels a notification goes out on: email over SMTP (lettre) and
//! HTTP webhooks (reqwest) in the formats of a generic signed JSON webhook,
//! WeCom, DingTalk, Slack and an SMS gateway.
//!
//! Shapes checked against public references (search, docs corpus,
//! 2026-12-03):
//! - WeCom (企业微信) group robot: `POST <webhook url>` with
//!   `{"msgtype":"markdown","markdown":{"content":"..."}}` (markdown subset:
//!   headings, bold, links, quotes), at most 20 messages a minute per robot;
//!   the answer is `{"errcode":0,"errmsg":"ok"}` (hexdocs.pm
//!   `WeChat.Work.ChatRobot`; developer.work.weixin.qq.com path 99398 as
//!   quoted by skills.sh `wecom-bot`).
//! - DingTalk (钉钉) custom robot with signing: `timestamp` in
//!   milliseconds, `sign` = url-encoded base64 of HMAC-SHA256 under the
//!   secret of `"{timestamp}\n{secret}"`, both added to the webhook's query;
//!   body `{"msgtype":"markdown","markdown":{"title":..,"text":..}}`; the
//!   answer carries `errcode` 0 (docs.rs `dingtalk` 1.3.1 `lib.rs`;
//!   open-dingtalk custom-robot-access as quoted by several clients).
//! - Slack incoming webhook: `{"text": fallback, "blocks": [{"type":
//!   "section", "text": {"type": "mrkdwn", "text": ..}}]}`, answer `ok`.
//!
//! Every request has a connect and a total timeout; at most
//! [`MAX_RESPONSE_BYTES`] of an answer are read. Secrets (SMTP password,
//! webhook and DingTalk secrets, webhook URLs that carry keys) are never
//! logged or shown: [`Channel`]'s `Debug` and the API redact them.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::json;
use sha2::Sha256;
use warden_core::ChannelKind;

type HmacSha256 = Hmac<Sha256>;

/// The most of an HTTP answer that is read (for an error message).
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024;
/// The longest error kept on a delivery.
pub const MAX_ERROR_CHARS: usize = 300;

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP upgraded with STARTTLS (port 587); refused without it.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS at all: only for a relay on loopback (tests, a local MTA).
    Plain,
}

/// An SMTP relay.
#[derive(Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender (`Warden <warden@example.com>`).
    pub from: String,
}

/// One configured channel.
#[derive(Clone)]
pub struct Channel {
    /// The name deliveries refer to.
    pub name: String,
    pub kind: ChannelKind,
    /// For email.
    pub smtp: Option<Smtp>,
    /// For every other kind: where to POST.
    pub url: Option<String>,
    /// The signing secret: HMAC key of a generic webhook or an SMS gateway,
    /// DingTalk's `SEC...` secret.
    pub secret: Option<String>,
    /// Connect + send + answer, whole.
    pub timeout: Duration,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("target", &self.target())
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Channel {
    /// Where it sends, without secrets: the SMTP host and port and sender,
    /// or the webhook's scheme, host and path (its query, which often holds
    /// a key, left out).
    pub fn target(&self) -> String {
        if let Some(s) = &self.smtp {
            return format!("smtp://{}:{} from {}", s.host, s.port, s.from);
        }
        let Some(url) = &self.url else {
            return String::new();
        };
        match reqwest::Url::parse(url) {
            Ok(u) => format!(
                "{}://{}{}{}",
                u.scheme(),
                u.host_str().unwrap_or(""),
                u.port().map(|p| format!(":{p}")).unwrap_or_default(),
                u.path()
            ),
            Err(_) => "<invalid url>".to_string(),
        }
    }
}

/// A notification rendered for one delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The delivery (stable across retries: a webhook's `id`, the email's
    /// Message-ID).
    pub delivery_id: i64,
    pub alert_id: i64,
    /// Email address or phone number; empty for a chat robot.
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Chat markdown (WeCom, DingTalk, Slack).
    pub markdown: String,
    /// The short text for SMS.
    pub short: String,
    /// Fields of the alert for a generic webhook's JSON.
    pub fields: serde_json::Value,
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("channel {0} is misconfigured: {1}")]
    Config(String, String),
    #[error("{0}")]
    Transport(String),
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the receiver refused the message: {0}")]
    Refused(String),
}

fn bounded(s: impl fmt::Display) -> String {
    warden_core::text::one_line(&s.to_string(), MAX_ERROR_CHARS)
}

/// The Message-ID of a delivery's email: the same on every retry, so a
/// resend after a crash is recognisable as the same message.
pub fn message_id(delivery_id: i64, from: &str) -> String {
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>').trim())
        .filter(|d| !d.is_empty())
        .unwrap_or("warden.invalid");
    format!("<warden-delivery-{delivery_id}@{domain}>")
}

/// `v1=<hex>` of HMAC-SHA256 under `secret` over `"{ts}.{body}"`: the
/// signature of a generic webhook (header `X-Warden-Signature`).
pub fn webhook_signature(secret: &str, ts: i64, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(ts.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

/// DingTalk's `sign` (before url-encoding): base64 of HMAC-SHA256 under
/// `secret` over `"{timestamp_ms}\n{secret}"`.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Sends `msg` over `channel`; `now_ms` is the time of the send (webhook
/// timestamps, DingTalk's signature).
pub async fn send(channel: &Channel, msg: &Message, now_ms: i64) -> Result<(), SendError> {
    match channel.kind {
        ChannelKind::Email => send_email(channel, msg).await,
        kind => {
            let url = channel
                .url
                .as_deref()
                .ok_or_else(|| SendError::Config(channel.name.clone(), "no url".into()))?;
            let (url, body, headers) = http_request(kind, channel, url, msg, now_ms)?;
            post(channel, kind, &url, body, headers).await
        }
    }
}

async fn send_email(channel: &Channel, msg: &Message) -> Result<(), SendError> {
    let smtp = channel
        .smtp
        .as_ref()
        .ok_or_else(|| SendError::Config(channel.name.clone(), "no smtp settings".into()))?;
    let config = |e: &dyn fmt::Display| SendError::Config(channel.name.clone(), bounded(e));
    let from: Mailbox = smtp.from.parse().map_err(|e| config(&e))?;
    let to: Mailbox = msg
        .recipient
        .parse()
        .map_err(|e| SendError::Refused(bounded(format!("recipient: {e}"))))?;
    let email = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(msg.subject.clone())
        .message_id(Some(message_id(msg.delivery_id, &smtp.from)))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(msg.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(msg.html.clone()),
                ),
        )
        .map_err(|e| SendError::Refused(bounded(e)))?;
    let builder = match smtp.security {
        SmtpSecurity::Plain => {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        }
        SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
            .map_err(|e| config(&e))?,
        SmtpSecurity::Tls => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host).map_err(|e| config(&e))?
        }
    };
    let mut builder = builder.port(smtp.port).timeout(Some(channel.timeout));
    if let (Some(u), Some(p)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
    }
    let transport = builder.build();
    let sent = tokio::time::timeout(channel.timeout * 2, transport.send(email))
        .await
        .map_err(|_| SendError::Transport("SMTP timed out".into()))?;
    sent.map(|_| ()).map_err(|e| {
        if e.is_permanent() {
            SendError::Refused(bounded(e))
        } else {
            SendError::Transport(bounded(e))
        }
    })
}

type Headers = Vec<(&'static str, String)>;

/// The URL, JSON body and extra headers of an HTTP channel's request.
pub fn http_request(
    kind: ChannelKind,
    channel: &Channel,
    url: &str,
    msg: &Message,
    now_ms: i64,
) -> Result<(String, Vec<u8>, Headers), SendError> {
    let ts = now_ms / 1000;
    let mut headers: Headers = Vec::new();
    let mut url = url.to_string();
    let body = match kind {
        ChannelKind::Webhook | ChannelKind::Sms => {
            let body = if kind == ChannelKind::Webhook {
                json!({
                    "id": format!("d{}", msg.delivery_id),
                    "alert_id": msg.alert_id,
                    "subject": msg.subject,
                    "text": msg.text,
                    "alert": msg.fields,
                })
            } else {
                json!({
                    "id": format!("d{}", msg.delivery_id),
                    "phone": msg.recipient,
                    "text": msg.short,
                })
            };
            let body = serde_json::to_vec(&body).expect("JSON of strings");
            headers.push(("X-Warden-Delivery", format!("d{}", msg.delivery_id)));
            if let Some(secret) = &channel.secret {
                headers.push(("X-Warden-Timestamp", ts.to_string()));
                headers.push(("X-Warden-Signature", webhook_signature(secret, ts, &body)));
            }
            body
        }
        ChannelKind::WeCom => serde_json::to_vec(&json!({
            "msgtype": "markdown",
            "markdown": { "content": msg.markdown },
        }))
        .expect("JSON of strings"),
        ChannelKind::DingTalk => {
            if let Some(secret) = &channel.secret {
                let sign = dingtalk_sign(secret, now_ms);
                let sign = percent_encoding::utf8_percent_encode(
                    &sign,
                    percent_encoding::NON_ALPHANUMERIC,
                );
                let sep = if url.contains('?') { '&' } else { '?' };
                url = format!("{url}{sep}timestamp={now_ms}&sign={sign}");
            }
            serde_json::to_vec(&json!({
                "msgtype": "markdown",
                "markdown": { "title": msg.subject, "text": msg.markdown },
            }))
            .expect("JSON of strings")
        }
        ChannelKind::Slack => serde_json::to_vec(&json!({
            "text": msg.subject,
            "blocks": [
                { "type": "section", "text": { "type": "mrkdwn", "text": msg.markdown } }
            ],
        }))
        .expect("JSON of strings"),
        ChannelKind::Email => {
            return Err(SendError::Config(
                channel.name.clone(),
                "email is not an HTTP channel".into(),
            ))
        }
    };
    Ok((url, body, headers))
}

/// Posts `body` (JSON) to a generic `webhook` channel, signed like an
/// alert delivery (`X-Warden-Timestamp`, `X-Warden-Signature` when the
/// channel has a secret) with `id` as `X-Warden-Delivery`: what incident
/// actions tell the mail system with (`incidents.revert_webhook`).
pub async fn post_webhook(
    channel: &Channel,
    id: &str,
    body: Vec<u8>,
    now_ms: i64,
) -> Result<(), SendError> {
    if channel.kind != ChannelKind::Webhook {
        return Err(SendError::Config(
            channel.name.clone(),
            "not a webhook channel".into(),
        ));
    }
    let url = channel
        .url
        .as_deref()
        .ok_or_else(|| SendError::Config(channel.name.clone(), "no url".into()))?;
    let ts = now_ms / 1000;
    let mut headers: Headers = vec![("X-Warden-Delivery", one_line_id(id))];
    if let Some(secret) = &channel.secret {
        headers.push(("X-Warden-Timestamp", ts.to_string()));
        headers.push(("X-Warden-Signature", webhook_signature(secret, ts, &body)));
    }
    post(channel, ChannelKind::Webhook, url, body, headers).await
}

fn one_line_id(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect()
}

async fn post(
    channel: &Channel,
    kind: ChannelKind,
    url: &str,
    body: Vec<u8>,
    headers: Headers,
) -> Result<(), SendError> {
    let client = reqwest::Client::builder()
        .connect_timeout(channel.timeout)
        .timeout(channel.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| SendError::Config(channel.name.clone(), bounded(e)))?;
    let mut req = client
        .post(url)
        .header("Content-Type", "application/json; charset=utf-8")
        .header("User-Agent", "Warden")
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    // Errors from reqwest may carry the URL (and a key in its query): keep
    // only the kind of failure.
    let mut resp = req.send().await.map_err(|e| {
        SendError::Transport(if e.is_timeout() {
            "the request timed out".into()
        } else if e.is_connect() {
            "cannot connect to the receiver".into()
        } else {
            "the request failed".into()
        })
    })?;
    let status = resp.status();
    let mut answer = Vec::new();
    while answer.len() < MAX_RESPONSE_BYTES {
        match resp.chunk().await {
            Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
            _ => break,
        }
    }
    answer.truncate(MAX_RESPONSE_BYTES);
    let text = String::from_utf8_lossy(&answer);
    if !status.is_success() {
        return Err(SendError::Status {
            status: status.as_u16(),
            body: bounded(text),
        });
    }
    // WeCom and DingTalk answer HTTP 200 with an error code.
    if matches!(kind, ChannelKind::WeCom | ChannelKind::DingTalk) {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&answer) {
            let code = v.get("errcode").and_then(|c| c.as_i64()).unwrap_or(0);
            if code != 0 {
                return Err(SendError::Refused(bounded(format!(
                    "errcode {code}: {}",
                    v.get("errmsg").and_then(|m| m.as_str()).unwrap_or("")
                ))));
            }
        }
    }
    Ok(())
}
