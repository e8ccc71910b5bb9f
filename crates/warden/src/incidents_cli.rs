//! `warden incidents list / show / open / assign / status / act / step /
//! review / affected / timeline / playbooks`: a thin client of the running
//! service's incident API (`/v1/incidents`), like `warden operations`. The
//! answers are the API's JSON.

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::admin::{segment, Admin, Body};

/// The `warden incidents` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum IncidentsCommand {
    /// Download an incident's signed evidence bundle (and its HTML report);
    /// verify it anywhere with `warden audit verify --bundle FILE`.
    Evidence(crate::evidence_cli::EvidenceArgs),
    /// List incidents, newest first.
    List {
        /// open, contained, eradicated, recovered, closed.
        #[arg(long)]
        status: Option<String>,
        /// Only incidents that are not closed.
        #[arg(long)]
        active: bool,
        /// l1, l2, l3.
        #[arg(long)]
        grade: Option<String>,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        assignee: Option<String>,
        #[arg(long)]
        cursor: Option<String>,
        /// At most this many (1..=200, default 50).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Show one incident: steps with due times and what is overdue,
    /// affected users/addresses/devices, triggers, review.
    Show { id: i64 },
    /// Open an incident by hand.
    Open {
        /// l1 (credential compromise), l2 (lost or stolen device), l3 (data
        /// tampering or exfiltration).
        grade: String,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        title: Option<String>,
        /// An address or CIDR range involved (repeatable).
        #[arg(long = "address")]
        addresses: Vec<String>,
        /// A device key involved (repeatable).
        #[arg(long = "device")]
        devices: Vec<String>,
        #[arg(long)]
        assignee: Option<String>,
    },
    /// Assign an incident (an empty name clears it).
    Assign { id: i64, assignee: String },
    /// Move an incident's status forward (closing needs the review).
    Status { id: i64, status: String },
    /// Run a one-click action: lock_account, logout_everywhere,
    /// force_password_reset, require_two_factor, block_source, revoke_token,
    /// mark_for_revert, notify.
    Act {
        id: i64,
        action: String,
        /// The account (default the incident's user).
        #[arg(long)]
        user: Option<String>,
        /// block_source: the address or range.
        #[arg(long)]
        network: Option<String>,
        /// revoke_token: the authorization code's id (default all).
        #[arg(long)]
        code_id: Option<i64>,
        /// notify: the text.
        #[arg(long)]
        message: Option<String>,
    },
    /// Tick a step done with a note.
    Step {
        id: i64,
        step: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Fill the post-incident review.
    Review {
        id: i64,
        #[arg(long)]
        root_cause: String,
        #[arg(long)]
        what_worked: String,
        #[arg(long)]
        what_to_change: String,
    },
    /// Add an affected user, address or device.
    Affected {
        id: i64,
        /// user, address or device.
        kind: String,
        value: String,
    },
    /// The incident's timeline from the audit log.
    Timeline { id: i64 },
    /// The effective playbooks.
    Playbooks,
}

fn with(body: &mut Map<String, Value>, pairs: Vec<(&str, Option<Value>)>) {
    for (k, v) in pairs {
        if let Some(v) = v {
            body.insert(k.into(), v);
        }
    }
}

/// Runs one command against the service; the answer is the API's JSON.
pub async fn run(admin: &Admin, command: IncidentsCommand) -> anyhow::Result<Value> {
    let json_body = |m: Map<String, Value>| Some(Body::Json(Value::Object(m)));
    match command {
        // `main` prints this one as text; here as a JSON string.
        IncidentsCommand::Evidence(args) => Ok(Value::String(
            crate::evidence_cli::export(admin, args).await?,
        )),
        IncidentsCommand::List {
            status,
            active,
            grade,
            user,
            assignee,
            cursor,
            limit,
        } => {
            let filters = [
                ("status", status),
                ("active", active.then(|| "true".to_string())),
                ("grade", grade),
                ("user", user),
                ("assignee", assignee),
                ("cursor", cursor),
                ("limit", limit.map(|l| l.to_string())),
            ];
            let query: Vec<String> = filters
                .iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", segment(v))))
                .collect();
            let path = if query.is_empty() {
                "/v1/incidents".to_string()
            } else {
                format!("/v1/incidents?{}", query.join("&"))
            };
            admin.call(Method::GET, &path, None).await
        }
        IncidentsCommand::Show { id } => {
            admin
                .call(Method::GET, &format!("/v1/incidents/{id}"), None)
                .await
        }
        IncidentsCommand::Open {
            grade,
            user,
            title,
            addresses,
            devices,
            assignee,
        } => {
            let mut body = Map::new();
            body.insert("grade".into(), json!(grade));
            with(
                &mut body,
                vec![
                    ("user", user.map(|v| json!(v))),
                    ("title", title.map(|v| json!(v))),
                    ("assignee", assignee.map(|v| json!(v))),
                    (
                        "addresses",
                        (!addresses.is_empty()).then(|| json!(addresses)),
                    ),
                    ("devices", (!devices.is_empty()).then(|| json!(devices))),
                ],
            );
            admin
                .call(Method::POST, "/v1/incidents", json_body(body))
                .await
        }
        IncidentsCommand::Assign { id, assignee } => {
            let mut body = Map::new();
            body.insert("assignee".into(), json!(assignee));
            admin
                .call(
                    Method::PATCH,
                    &format!("/v1/incidents/{id}"),
                    json_body(body),
                )
                .await
        }
        IncidentsCommand::Status { id, status } => {
            let mut body = Map::new();
            body.insert("status".into(), json!(status));
            admin
                .call(
                    Method::PATCH,
                    &format!("/v1/incidents/{id}"),
                    json_body(body),
                )
                .await
        }
        IncidentsCommand::Act {
            id,
            action,
            user,
            network,
            code_id,
            message,
        } => {
            let mut body = Map::new();
            with(
                &mut body,
                vec![
                    ("user", user.map(|v| json!(v))),
                    ("network", network.map(|v| json!(v))),
                    ("code_id", code_id.map(|v| json!(v))),
                    ("message", message.map(|v| json!(v))),
                ],
            );
            admin
                .call(
                    Method::POST,
                    &format!("/v1/incidents/{id}/actions/{}", segment(&action)),
                    json_body(body),
                )
                .await
        }
        IncidentsCommand::Step { id, step, note } => {
            let mut body = Map::new();
            with(&mut body, vec![("note", note.map(|v| json!(v)))]);
            admin
                .call(
                    Method::POST,
                    &format!("/v1/incidents/{id}/steps/{}", segment(&step)),
                    json_body(body),
                )
                .await
        }
        IncidentsCommand::Review {
            id,
            root_cause,
            what_worked,
            what_to_change,
        } => {
            let body = json!({
                "root_cause": root_cause,
                "what_worked": what_worked,
                "what_to_change": what_to_change,
            });
            admin
                .call(
                    Method::PUT,
                    &format!("/v1/incidents/{id}/review"),
                    Some(Body::Json(body)),
                )
                .await
        }
        IncidentsCommand::Affected { id, kind, value } => {
            let body = json!({"kind": kind, "value": value});
            admin
                .call(
                    Method::POST,
                    &format!("/v1/incidents/{id}/affected"),
                    Some(Body::Json(body)),
                )
                .await
        }
        IncidentsCommand::Timeline { id } => {
            admin
                .call(Method::GET, &format!("/v1/incidents/{id}/timeline"), None)
                .await
        }
        IncidentsCommand::Playbooks => {
            admin
                .call(Method::GET, "/v1/incidents/playbooks", None)
                .await
        }
    }
}
