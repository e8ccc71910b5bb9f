//! The alert of a suspicious operation: about the user, told to the user
//! and the admins, carrying the login it follows (its time, address,
//! place, decision and reasons — what "was this you?" asks about) and a
//! note naming the operation. One alert per user, alert kind and login:
//! more operations after the same login fold into it.

use warden_core::operation::CorrelationReason;
use warden_core::text::{one_line, quoted};
use warden_core::{countries, Alert, AlertKind, AlertState, Operation, OperationKind, Timestamp};
use warden_store::{Backend, LoginEvent, MAX_ALERT_NOTE_CHARS};

use crate::notify::view::local_time;
use crate::Service;

/// The longest target a note quotes.
const NOTE_TARGET_CHARS: usize = 80;

impl<S: Backend> Service<S> {
    /// The alert `op` raises, following `login`.
    pub(super) fn operation_alert(
        &self,
        op: &Operation,
        login: &LoginEvent,
        now: Timestamp,
    ) -> Alert {
        let kind = if op.kind == OperationKind::ForwardingRule {
            AlertKind::SuspiciousForwarding
        } else {
            AlertKind::SuspiciousOperation
        };
        let offset = self.utc_offset();
        let info = self.intel.lookup(login.ip);
        Alert {
            id: 0,
            kind,
            grade: op.grade,
            state: AlertState::Open,
            user: Some(op.user.clone()),
            created_at: now,
            ts: login.ts,
            last_ts: op.ts,
            count: 1,
            dedupe_key: fold_key(&op.user, kind, login.id.unwrap_or(0)),
            notify_user: true,
            notify_admins: true,
            ip: Some(login.ip),
            country: login.country,
            region: login.region.clone(),
            city: login.city.clone(),
            asn: login.asn,
            isp: info
                .network
                .organisation
                .as_deref()
                .map(|s| one_line(s, 100)),
            device: login.device.as_deref().map(|d| one_line(d, 100)),
            client: login
                .user_agent
                .as_deref()
                .map(|ua| warden_core::client::classify(ua).name),
            protocol: Some(login.protocol),
            decision: Some(login.decision),
            succeeded: login.outcome.is_success(),
            reasons: login.reasons.clone(),
            event_id: login.id,
            answer: None,
            answered_at: None,
            answered_ip: None,
            note: note(op, login, offset),
        }
    }
}

/// One alert per user, kind and login (at most 512 bytes: the user name is
/// bounded by the attempt's rules).
fn fold_key(user: &str, kind: AlertKind, login: i64) -> String {
    let key = format!("{kind}|{user}|login {login}");
    one_line(&key, 512)
}

/// "forwarding rule created or changed: "drop@mailbox.example.net"
/// (outside the organisation), reported by webmail, 2026-12-03 10:32
/// (UTC+08:00) from 102.89.1.2, 10 min after a sign-in from Lagos, Nigeria
/// (102.89.1.2) at 2026-12-03 10:22 (UTC+08:00)".
fn note(op: &Operation, login: &LoginEvent, offset: i32) -> String {
    let mut s = op.kind.describe().to_string();
    if let Some(t) = &op.target {
        s.push_str(": ");
        s.push_str(&quoted(t, NOTE_TARGET_CHARS));
    }
    if op.reasons.contains(&CorrelationReason::ExternalForwarding) {
        s.push_str(" (outside the organisation)");
    }
    s.push_str(&format!(
        ", reported by {}, {}",
        op.source,
        local_time(op.ts, offset)
    ));
    if let Some(ip) = op.ip {
        s.push_str(&format!(" from {ip}"));
    }
    let minutes = (op.ts.secs() - login.ts.secs()).max(0) / 60;
    let after = if minutes < 120 {
        format!("{minutes} min")
    } else {
        format!("{} h", minutes / 60)
    };
    let place: Vec<&str> = [login.city.as_deref(), login.country.map(countries::name_en)]
        .into_iter()
        .flatten()
        .collect();
    let what = if login.outcome.is_success() {
        "a sign-in"
    } else {
        "refused sign-ins"
    };
    s.push_str(&format!(", {after} after {what}"));
    if !place.is_empty() {
        s.push_str(&format!(" from {}", place.join(", ")));
    }
    s.push_str(&format!(
        " ({}) at {}",
        login.ip,
        local_time(login.ts, offset)
    ));
    if !login.reasons.is_empty() {
        let reasons: Vec<&str> = login.reasons.iter().map(|r| r.as_str()).collect();
        s.push_str(&format!(" [{}]", reasons.join(", ")));
    }
    one_line(&s, MAX_ALERT_NOTE_CHARS)
}
