//! `warden channels ...` and `warden templates ...`: thin clients of the
//! notification routes of the running service's API (`/v1/notify`,
//! `/v1/templates`, `/v1/deliveries`).

use anyhow::Context;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use crate::admin::{segment, Admin, Body};

/// `warden channels ...`
#[derive(Debug, Subcommand)]
pub enum ChannelsCommand {
    /// The configured channels (secrets redacted).
    List,
    /// Send a made-up foreign-login alert through a channel now.
    Test {
        name: String,
        /// Email address or phone number (email and SMS channels).
        #[arg(long)]
        to: Option<String>,
    },
    /// The outbox's deliveries, newest first.
    Deliveries {
        /// Only those of this alert.
        #[arg(long)]
        alert: Option<i64>,
        /// Only the ones given up.
        #[arg(long)]
        failed: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// `warden templates ...`
#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Every template in both languages, as used now.
    List,
    /// Render a template over a made-up foreign login (prints the text).
    Preview { name: String, lang: String },
    /// Replace a template with the content of a file (refused, and nothing
    /// changed, if it does not render).
    Set {
        name: String,
        lang: String,
        /// The template's source.
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Go back to the built-in template.
    Reset { name: String, lang: String },
}

/// Runs a `channels` command; the answer as JSON.
pub async fn channels(admin: &Admin, command: ChannelsCommand) -> anyhow::Result<Value> {
    match command {
        ChannelsCommand::List => admin.call(Method::GET, "/v1/notify/channels", None).await,
        ChannelsCommand::Test { name, to } => {
            let body = match to {
                Some(to) => json!({ "recipient": to }),
                None => json!({}),
            };
            admin
                .call(
                    Method::POST,
                    &format!("/v1/notify/channels/{}/test", segment(&name)),
                    Some(Body::Json(body)),
                )
                .await
        }
        ChannelsCommand::Deliveries {
            alert,
            failed,
            limit,
        } => {
            let mut q = format!("/v1/deliveries?limit={limit}");
            if let Some(a) = alert {
                q.push_str(&format!("&alert_id={a}"));
            }
            if failed {
                q.push_str("&state=failed");
            }
            admin.call(Method::GET, &q, None).await
        }
    }
}

/// Runs a `templates` command: the answer as JSON, or for `preview` the
/// rendered text.
pub async fn templates(admin: &Admin, command: TemplatesCommand) -> anyhow::Result<Value> {
    let path =
        |name: &str, lang: &str| format!("/v1/templates/{}/{}", segment(name), segment(lang));
    match command {
        TemplatesCommand::List => admin.call(Method::GET, "/v1/templates", None).await,
        TemplatesCommand::Preview { name, lang } => {
            let v = admin
                .call(
                    Method::GET,
                    &format!("{}/preview", path(&name, &lang)),
                    None,
                )
                .await?;
            Ok(v.get("rendered").cloned().unwrap_or(Value::Null))
        }
        TemplatesCommand::Set { name, lang, file } => {
            let body = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            admin
                .call(
                    Method::PUT,
                    &path(&name, &lang),
                    Some(Body::Json(json!({ "body": body }))),
                )
                .await
        }
        TemplatesCommand::Reset { name, lang } => {
            admin.call(Method::DELETE, &path(&name, &lang), None).await
        }
    }
}
