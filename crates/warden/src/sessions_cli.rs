//! `warden sessions list / revoke / approve / trust / forget / logout-all`:
//! a thin client of the running service's sessions API
//! (`/v1/users/{user}/sessions`, `/v1/users/{user}/logout-all`), like
//! `warden alerts`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin::{segment, Admin, Body};

/// The `warden sessions` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SessionsCommand {
    /// A user's sessions and devices, most recently seen first.
    List { user: String },
    /// Sign one device out: its next login is refused (`session_revoked`)
    /// until it brings a new password or authorization code, or is approved.
    Revoke { user: String, id: i64 },
    /// Approve a device waiting for approval, or let a signed-out one in again.
    Approve { user: String, id: i64 },
    /// Trust a device for some days (and approve it).
    Trust {
        user: String,
        id: i64,
        /// How many days (1 to devices.max_trust_days).
        #[arg(long)]
        days: u32,
    },
    /// Forget a device: its next login is a new device's.
    Forget { user: String, id: i64 },
    /// Log the user out everywhere: every device, the web sessions, and with
    /// --app-passwords every authorization code.
    LogoutAll {
        user: String,
        /// Revoke every authorization code too.
        #[arg(long)]
        app_passwords: bool,
    },
}

/// Runs one command against the service; the answer is the API's JSON
/// (`null` for a forget).
pub async fn run(admin: &Admin, command: SessionsCommand) -> anyhow::Result<Value> {
    let one = |user: &str, id: i64, action: &str| {
        let base = format!("/v1/users/{}/sessions/{id}", segment(user));
        if action.is_empty() {
            base
        } else {
            format!("{base}/{action}")
        }
    };
    match command {
        SessionsCommand::List { user } => {
            admin
                .call(
                    Method::GET,
                    &format!("/v1/users/{}/sessions", segment(&user)),
                    None,
                )
                .await
        }
        SessionsCommand::Revoke { user, id } => {
            admin
                .call(Method::POST, &one(&user, id, "revoke"), None)
                .await
        }
        SessionsCommand::Approve { user, id } => {
            admin
                .call(Method::POST, &one(&user, id, "approve"), None)
                .await
        }
        SessionsCommand::Trust { user, id, days } => {
            admin
                .call(
                    Method::POST,
                    &one(&user, id, "trust"),
                    Some(Body::Json(json!({ "days": days }))),
                )
                .await
        }
        SessionsCommand::Forget { user, id } => {
            admin.call(Method::DELETE, &one(&user, id, ""), None).await
        }
        SessionsCommand::LogoutAll {
            user,
            app_passwords,
        } => {
            admin
                .call(
                    Method::POST,
                    &format!("/v1/users/{}/logout-all", segment(&user)),
                    Some(Body::Json(json!({ "app_passwords": app_passwords }))),
                )
                .await
        }
    }
}
