//! `warden policies list / show / set / remove / history / restore /
//! dry-run` and `warden groups list / show / set`: thin clients of the
//! running service's policy API (`/v1/policies`, `/v1/groups`,
//! `/v1/users/{user}/groups`), like `warden alerts`. The rules are given as
//! flags and sent as the API's JSON; the service checks them (a bad value
//! is its 400, printed as the error).

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::admin::{segment, Admin, Body};

/// The rules of a policy as flags; a flag left out is inherited.
#[derive(Debug, Default, clap::Args)]
pub struct RuleArgs {
    /// Only these addresses or CIDR networks (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub allowlist: Vec<String>,
    /// Only these countries (CN) or regions (CN/Guangdong).
    #[arg(long, value_delimiter = ',')]
    pub geo_allow: Vec<String>,
    /// Not these countries or regions.
    #[arg(long, value_delimiter = ',')]
    pub geo_block: Vec<String>,
    /// Only these protocols (imap, pop3, smtp, web, im, api, dav).
    #[arg(long, value_delimiter = ',')]
    pub protocols: Vec<String>,
    /// Mail clients must use TLS (true/false).
    #[arg(long)]
    pub tls_required: Option<bool>,
    /// Allowed weekdays, e.g. mon-fri (with --hours).
    #[arg(long, requires = "hours")]
    pub weekdays: Option<String>,
    /// Allowed hours, e.g. 08:00-19:00 (with --weekdays and --utc-offset).
    #[arg(long, requires = "weekdays")]
    pub hours: Option<String>,
    /// The organisation's offset from UTC in minutes for --hours (480: UTC+8).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub utc_offset: i32,
    /// off, challenged, new_city or new_city_or_device.
    #[arg(long)]
    pub login_protection: Option<String>,
    /// A new device waits for approval (true/false).
    #[arg(long)]
    pub new_device_approval: Option<bool>,
    /// Sensitive operations need a step-up this fresh (minutes).
    #[arg(long)]
    pub step_up_minutes: Option<u32>,
}

impl RuleArgs {
    /// The API's `rules` object.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let mut list = |k: &str, v: &Vec<String>| {
            if !v.is_empty() {
                m.insert(k.into(), json!(v));
            }
        };
        list("allowlist", &self.allowlist);
        list("geo_allow", &self.geo_allow);
        list("geo_block", &self.geo_block);
        list("protocols", &self.protocols);
        if let Some(t) = self.tls_required {
            m.insert("tls_required".into(), json!(t));
        }
        if let (Some(d), Some(h)) = (&self.weekdays, &self.hours) {
            m.insert(
                "hours".into(),
                json!({"days": d, "span": h, "utc_offset_minutes": self.utc_offset}),
            );
        }
        if let Some(l) = &self.login_protection {
            m.insert("login_protection".into(), json!(l));
        }
        if let Some(n) = self.new_device_approval {
            m.insert("new_device_approval".into(), json!(n));
        }
        if let Some(s) = self.step_up_minutes {
            m.insert("step_up_minutes".into(), json!(s));
        }
        Value::Object(m)
    }

    fn is_empty(&self) -> bool {
        self.to_json().as_object().is_some_and(Map::is_empty)
    }
}

/// The `warden policies` subcommands. SCOPE is org, group or user.
#[derive(Debug, clap::Subcommand)]
pub enum PoliciesCommand {
    /// The current policies of every organisation, group and user.
    List,
    /// One scope's current policy.
    Show {
        /// org, group or user.
        scope: String,
        /// The organisation's, group's or user's name.
        target: String,
    },
    /// A user's effective policy and where each rule comes from.
    Effective { user: String },
    /// Set a scope's policy (a new version).
    Set {
        /// org, group or user.
        scope: String,
        /// The organisation's, group's or user's name.
        target: String,
        /// Its name in refusals (office-only).
        #[arg(long)]
        name: String,
        /// enforce (default), report_only or off.
        #[arg(long)]
        mode: Option<String>,
        #[command(flatten)]
        rules: RuleArgs,
        /// Why (kept with the version).
        #[arg(long)]
        comment: Option<String>,
    },
    /// Remove a scope's policy (a version that removes it).
    Remove {
        scope: String,
        target: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// A scope's versions, newest first.
    History {
        scope: String,
        target: String,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Restore an old version (as a new one).
    Restore {
        scope: String,
        target: String,
        version: u32,
        #[arg(long)]
        comment: Option<String>,
    },
    /// What a policy would have refused over the last days: the stored
    /// one, or the one the flags describe (with --name).
    DryRun {
        scope: String,
        target: String,
        /// Days of history (1..=90, default 30).
        #[arg(long)]
        days: Option<u32>,
        /// Try this policy instead of the stored one.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        rules: RuleArgs,
        /// Print the JSON answer instead of a summary.
        #[arg(long)]
        json: bool,
    },
}

/// The `warden groups` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum GroupsCommand {
    /// Every group with its member count and policy.
    List,
    /// One group's members and policy.
    Show { group: String },
    /// Set a user's groups (replacing the old ones; none: out of every group).
    Set { user: String, groups: Vec<String> },
}

fn scope_path(scope: &str, target: &str) -> String {
    format!("/v1/policies/{}/{}", segment(scope), segment(target))
}

/// Runs one `warden policies` command; the answer is the API's JSON.
pub async fn run_policies(admin: &Admin, command: PoliciesCommand) -> anyhow::Result<Value> {
    match command {
        PoliciesCommand::List => admin.call(Method::GET, "/v1/policies", None).await,
        PoliciesCommand::Show { scope, target } => {
            admin
                .call(Method::GET, &scope_path(&scope, &target), None)
                .await
        }
        PoliciesCommand::Effective { user } => {
            let path = format!("/v1/users/{}/policy", segment(&user));
            admin.call(Method::GET, &path, None).await
        }
        PoliciesCommand::Set {
            scope,
            target,
            name,
            mode,
            rules,
            comment,
        } => {
            let body = policy_body(&name, mode.as_deref(), &rules, comment.as_deref());
            admin
                .call(
                    Method::PUT,
                    &scope_path(&scope, &target),
                    Some(Body::Json(body)),
                )
                .await
        }
        PoliciesCommand::Remove {
            scope,
            target,
            comment,
        } => {
            let mut path = scope_path(&scope, &target);
            if let Some(c) = comment {
                path.push_str(&format!("?comment={}", segment(&c)));
            }
            admin.call(Method::DELETE, &path, None).await
        }
        PoliciesCommand::History {
            scope,
            target,
            limit,
        } => {
            let mut path = format!("{}/history", scope_path(&scope, &target));
            if let Some(l) = limit {
                path.push_str(&format!("?limit={l}"));
            }
            admin.call(Method::GET, &path, None).await
        }
        PoliciesCommand::Restore {
            scope,
            target,
            version,
            comment,
        } => {
            let path = format!("{}/restore", scope_path(&scope, &target));
            let body = json!({"version": version, "comment": comment});
            admin
                .call(Method::POST, &path, Some(Body::Json(body)))
                .await
        }
        PoliciesCommand::DryRun {
            scope,
            target,
            days,
            name,
            rules,
            json: _,
        } => {
            let path = format!("{}/dry-run", scope_path(&scope, &target));
            let body = dry_run_body(days, name.as_deref(), &rules)?;
            admin
                .call(Method::POST, &path, Some(Body::Json(body)))
                .await
        }
    }
}

/// A dry run's answer as an admin reads it: the counts, the rules that
/// refused, and the examples one a line.
pub fn render_dry_run(v: &Value) -> String {
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    let s = |k: &str| v[k].as_str().unwrap_or("?").to_string();
    let mut out = format!(
        "dry run of {} {} over {} days (since {}): {} of {} logins read ({} covered) would have been refused ({} of them successful; users: {})\n",
        s("scope"),
        s("target"),
        n("days"),
        s("since"),
        n("refused"),
        n("scanned"),
        n("covered"),
        n("refused_successes"),
        n("users"),
    );
    if v["truncated"] == json!(true) {
        out.push_str("  (only the newest 200000 logins of the window were read)\n");
    }
    if let Some(rules) = v["by_rule"].as_object() {
        for (rule, count) in rules {
            out.push_str(&format!("  {rule}: {count}\n"));
        }
    }
    for e in v["examples"].as_array().into_iter().flatten() {
        let loc = &e["location"];
        let place = [&loc["city"], &loc["region"], &loc["country"]]
            .iter()
            .filter_map(|x| x.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "  {}  {}  {} from {} ({})  {}: {}\n",
            e["ts"].as_str().unwrap_or("?"),
            e["user"].as_str().unwrap_or("?"),
            e["protocol"].as_str().unwrap_or("?"),
            e["ip"].as_str().unwrap_or("?"),
            if place.is_empty() {
                "unknown place"
            } else {
                &place
            },
            e["outcome"].as_str().unwrap_or("?"),
            e["reason"].as_str().unwrap_or("?"),
        ));
    }
    out
}

/// The body of `set`.
pub fn policy_body(
    name: &str,
    mode: Option<&str>,
    rules: &RuleArgs,
    comment: Option<&str>,
) -> Value {
    let mut body = json!({"name": name, "rules": rules.to_json()});
    if let Some(m) = mode {
        body["mode"] = json!(m);
    }
    if let Some(c) = comment {
        body["comment"] = json!(c);
    }
    body
}

/// The body of `dry-run`: the proposed policy only with --name.
pub fn dry_run_body(
    days: Option<u32>,
    name: Option<&str>,
    rules: &RuleArgs,
) -> anyhow::Result<Value> {
    let mut body = json!({});
    if let Some(d) = days {
        body["days"] = json!(d);
    }
    match name {
        Some(n) => body["policy"] = policy_body(n, None, rules, None),
        None if !rules.is_empty() => {
            anyhow::bail!("--name is needed to try a policy given by flags (without flags the stored one is tried)")
        }
        None => {}
    }
    Ok(body)
}

/// Runs one `warden groups` command; the answer is the API's JSON.
pub async fn run_groups(admin: &Admin, command: GroupsCommand) -> anyhow::Result<Value> {
    match command {
        GroupsCommand::List => admin.call(Method::GET, "/v1/groups", None).await,
        GroupsCommand::Show { group } => {
            let path = format!("/v1/groups/{}", segment(&group));
            admin.call(Method::GET, &path, None).await
        }
        GroupsCommand::Set { user, groups } => {
            let path = format!("/v1/users/{}/groups", segment(&user));
            admin
                .call(
                    Method::PUT,
                    &path,
                    Some(Body::Json(json!({"groups": groups}))),
                )
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dry_run_reads_as_counts_rules_and_examples() {
        let v = json!({"scope": "org", "target": "example", "days": 30, "since": "2026-11-03T17:35:07Z",
            "scanned": 42, "covered": 42, "refused": 1, "refused_successes": 1, "users": 1,
            "truncated": false, "by_rule": {"allowlist": 1},
            "examples": [{"ts": "2026-12-02T03:35:06Z", "user": "alice@example.com", "protocol": "imap",
                "ip": "113.88.1.10", "outcome": "success",
                "location": {"city": "Guangzhou", "region": "Guangdong", "country": "CN"},
                "reason": "Access refused by policy 'office-only' (org example, v1): the address 113.88.1.10 is not on the allowlist"}]});
        assert_eq!(
            render_dry_run(&v),
            "dry run of org example over 30 days (since 2026-11-03T17:35:07Z): 1 of 42 logins read (42 covered) would have been refused (1 of them successful; users: 1)\n  allowlist: 1\n  2026-12-02T03:35:06Z  alice@example.com  imap from 113.88.1.10 (Guangzhou, Guangdong, CN)  success: Access refused by policy 'office-only' (org example, v1): the address 113.88.1.10 is not on the allowlist\n"
        );
    }

    #[test]
    fn flags_become_the_apis_rules_and_unset_ones_are_left_out() {
        let rules = RuleArgs {
            allowlist: vec!["61.135.1.0/24".into(), "10.8.0.0/16".into()],
            weekdays: Some("mon-fri".into()),
            hours: Some("08:00-19:00".into()),
            utc_offset: 480,
            login_protection: Some("new_city".into()),
            ..RuleArgs::default()
        };
        assert_eq!(
            policy_body("office-only", Some("report_only"), &rules, Some("trial")),
            json!({"name": "office-only", "mode": "report_only", "comment": "trial",
                   "rules": {"allowlist": ["61.135.1.0/24", "10.8.0.0/16"],
                             "hours": {"days": "mon-fri", "span": "08:00-19:00", "utc_offset_minutes": 480},
                             "login_protection": "new_city"}})
        );
        assert_eq!(
            dry_run_body(Some(7), None, &RuleArgs::default()).unwrap(),
            json!({"days": 7})
        );
        assert!(dry_run_body(None, None, &rules).is_err());
        assert_eq!(
            scope_path("user", "a b@x.com"),
            "/v1/policies/user/a%20b@x.com"
        );
    }
}
