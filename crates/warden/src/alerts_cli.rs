//! `warden alerts list / show / ack / close / resend`: a thin client of
//! the running service's alert API (`/v1/alerts`), like `warden user`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin::{segment, Admin, Body};

/// The `warden alerts` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AlertsCommand {
    /// List alerts, newest first.
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
        /// Only this kind (unusual_location, impossible_travel, brute_force, summary...).
        #[arg(long)]
        kind: Option<String>,
        /// Only this grade and above (info, warning, critical).
        #[arg(long)]
        grade: Option<String>,
        /// Only this state (open, acknowledged, closed).
        #[arg(long)]
        state: Option<String>,
        /// Only logins at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Only logins before this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// Continue after a page: its next_cursor.
        #[arg(long)]
        cursor: Option<String>,
        /// At most this many (1..=500, default 50).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Show one alert.
    Show { id: i64 },
    /// Acknowledge an open alert.
    Ack {
        id: i64,
        #[arg(long)]
        note: Option<String>,
    },
    /// Close an alert.
    Close {
        id: i64,
        #[arg(long)]
        note: Option<String>,
    },
    /// Ask for the alert's notifications to be sent again.
    Resend { id: i64 },
}

/// The request path of `list`'s filters.
fn list_path(filters: &[(&str, Option<String>)]) -> String {
    let query: Vec<String> = filters
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", segment(v))))
        .collect();
    if query.is_empty() {
        "/v1/alerts".to_string()
    } else {
        format!("/v1/alerts?{}", query.join("&"))
    }
}

/// Runs one command against the service; the answer is the API's JSON.
pub async fn run(admin: &Admin, command: AlertsCommand) -> anyhow::Result<Value> {
    let note = |n: Option<String>| n.map(|n| Body::Json(json!({ "note": n })));
    match command {
        AlertsCommand::List {
            user,
            kind,
            grade,
            state,
            since,
            until,
            cursor,
            limit,
        } => {
            let path = list_path(&[
                ("user", user),
                ("kind", kind),
                ("grade", grade),
                ("state", state),
                ("since", since),
                ("until", until),
                ("cursor", cursor),
                ("limit", limit.map(|l| l.to_string())),
            ]);
            admin.call(Method::GET, &path, None).await
        }
        AlertsCommand::Show { id } => {
            admin
                .call(Method::GET, &format!("/v1/alerts/{id}"), None)
                .await
        }
        AlertsCommand::Ack { id, note: n } => {
            admin
                .call(Method::POST, &format!("/v1/alerts/{id}/ack"), note(n))
                .await
        }
        AlertsCommand::Close { id, note: n } => {
            admin
                .call(Method::POST, &format!("/v1/alerts/{id}/close"), note(n))
                .await
        }
        AlertsCommand::Resend { id } => {
            admin
                .call(Method::POST, &format!("/v1/alerts/{id}/resend"), None)
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_encoded_into_the_query() {
        assert_eq!(list_path(&[("user", None)]), "/v1/alerts");
        assert_eq!(
            list_path(&[
                ("user", Some("a b@x.com".into())),
                ("since", Some("2026-01-01T00:00:00+08:00".into())),
                ("limit", Some("5".into()))
            ]),
            "/v1/alerts?user=a%20b@x.com&since=2026-01-01T00%3A00%3A00%2B08%3A00&limit=5"
        );
    }
}
