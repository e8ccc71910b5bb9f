//! The pieces of an evidence bundle, read from the stores and turned into
//! the bundle's types: the incident, the timeline and actions (from the
//! audit records, a one-line reading each), the logins (history rows with
//! their places, the network's name looked up again, and the audit record
//! of each) and the alerts with their answers.

use std::collections::HashMap;

use warden_audit::bundle::{
    Affected as BundleAffected, BundleAction, BundleAlert, BundleIncident, BundleLogin,
    BundleReason, BundleReview, BundleStep, TimelineEntry,
};
use warden_audit::AuditRecord;
use warden_core::incident::AffectedKind;
use warden_core::{Outcome, Timestamp};
use warden_store::{AlertQuery, Backend, HistoryQuery, IncidentRecord, MAX_ALERTS_LIMIT};

use super::{MAX_ALERTS, MAX_LOGINS};
use crate::{Service, ServiceError};

/// The users an incident concerns: its own user and the affected ones.
pub(super) fn users_of(r: &IncidentRecord) -> Vec<String> {
    let mut users: Vec<String> = r.incident.user.iter().map(|u| u.to_string()).collect();
    for a in &r.affected {
        if a.kind == AffectedKind::User && !users.contains(&a.value) {
            users.push(a.value.clone());
        }
    }
    users
}

pub(super) fn incident_of(r: &IncidentRecord) -> BundleIncident {
    let inc = &r.incident;
    let of = |kind: AffectedKind| -> Vec<String> {
        r.affected
            .iter()
            .filter(|a| a.kind == kind)
            .map(|a| a.value.clone())
            .collect()
    };
    let mut users = of(AffectedKind::User);
    if let Some(u) = &inc.user {
        if !users.iter().any(|v| v == &**u) {
            users.insert(0, u.to_string());
        }
    }
    let trigger = match inc.trigger.ref_id {
        Some(id) => format!("{}:{id}", inc.trigger.kind),
        None => inc.trigger.kind.to_string(),
    };
    BundleIncident {
        id: inc.id,
        grade: inc.grade.as_str().to_owned(),
        grade_text: inc.grade.describe().to_owned(),
        title: inc.title.clone(),
        status: inc.status.as_str().to_owned(),
        assignee: inc.assignee.clone(),
        opened_at: inc.opened_at,
        opened_by: inc.opened_by.clone(),
        trigger,
        contained_at: inc.contained_at,
        eradicated_at: inc.eradicated_at,
        recovered_at: inc.recovered_at,
        closed_at: inc.closed_at,
        affected: BundleAffected {
            users,
            addresses: of(AffectedKind::Address),
            devices: of(AffectedKind::Device),
        },
        steps: r
            .steps
            .iter()
            .map(|s| BundleStep {
                id: s.step.clone(),
                title: s.title_en.clone(),
                owner: s.owner.clone(),
                kind: s.kind.wire(),
                due_at: s.due_at,
                done_at: s.done_at,
                done_by: s.done_by.clone(),
                note: s.note.clone(),
            })
            .collect(),
        review: r.review.as_ref().map(|v| BundleReview {
            root_cause: v.root_cause.clone(),
            what_worked: v.what_worked.clone(),
            what_to_change: v.what_to_change.clone(),
            by: v.by.clone(),
            at: v.at,
        }),
    }
}

/// A one-line reading of a record: its kind and its details.
pub fn summary_of(r: &AuditRecord) -> String {
    let mut s = r.entry.kind.replace(['.', '_'], " ");
    let details: Vec<String> = r
        .entry
        .detail
        .iter()
        .take(8)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !details.is_empty() {
        s.push_str(": ");
        s.push_str(&details.join(", "));
    }
    warden_core::text::one_line(&s, 300)
}

pub(super) fn timeline_of(r: &AuditRecord) -> TimelineEntry {
    TimelineEntry::of(r, summary_of(r))
}

/// An incident's record as an action: what (the `action` detail; for a
/// status change `status:<to>`, for a ticked step `step:<id>`; else the
/// kind after `incident.`), by whom, how it ended (`result`, else `done`).
pub fn action_of(r: &AuditRecord) -> BundleAction {
    let e = &r.entry;
    let suffix = e.kind.trim_start_matches("incident.");
    let action = match (e.get("action"), e.get("to"), e.get("step")) {
        (Some(a), _, _) => a.to_owned(),
        (None, Some(to), _) if e.kind == "incident.status_changed" => format!("status:{to}"),
        (None, _, Some(step)) if e.kind == "incident.step_done" => format!("step:{step}"),
        _ => suffix.to_owned(),
    };
    BundleAction {
        seq: r.seq,
        at: e.at,
        kind: e.kind.clone(),
        action,
        by: e.actor.clone(),
        user: e.user.clone(),
        result: e
            .get("result")
            .or_else(|| e.get("outcome"))
            .unwrap_or("done")
            .to_owned(),
    }
}

impl<S: Backend> Service<S> {
    /// The affected users' logins in `[from, to]`, newest first, each with
    /// the network's name and the `login.recorded` record that logged it.
    pub(super) async fn gather_logins(
        &self,
        users: &[String],
        from: Timestamp,
        to: Timestamp,
        cited: &[AuditRecord],
    ) -> Result<Vec<BundleLogin>, ServiceError> {
        // (user, time, ip) -> the login records, in order, to pair once.
        let mut records: HashMap<(String, i64, String), Vec<u64>> = HashMap::new();
        for r in cited.iter().rev() {
            if r.entry.kind == "login.recorded" {
                if let (Some(u), Some(ip)) = (&r.entry.user, &r.entry.ip) {
                    records
                        .entry((u.clone(), r.entry.at.secs(), ip.clone()))
                        .or_default()
                        .push(r.seq);
                }
            }
        }
        let mut out = Vec::new();
        'users: for user in users {
            let mut q = HistoryQuery::before(Timestamp(to.secs() + 1), 1000);
            'pages: loop {
                let page = self.store.history(user, q).await?;
                let Some(last) = page.last() else { break };
                let cursor = warden_store::Cursor {
                    ts: last.ts,
                    id: last.id.unwrap_or(0),
                };
                let full = page.len() >= 1000;
                for ev in page {
                    if ev.ts < from {
                        break 'pages;
                    }
                    if out.len() >= MAX_LOGINS {
                        break 'users;
                    }
                    let ip = ev.ip.to_string();
                    let audit_seq = records
                        .get_mut(&(ev.user.clone(), ev.ts.secs(), ip.clone()))
                        .and_then(|v| v.pop());
                    let network = self
                        .intel
                        .lookup(ev.ip)
                        .network
                        .organisation
                        .map(|n| n.to_string());
                    out.push(BundleLogin {
                        at: ev.ts,
                        user: ev.user.clone(),
                        ip,
                        protocol: ev.protocol.as_str().to_owned(),
                        outcome: match ev.outcome {
                            Outcome::Success => "success".to_owned(),
                            Outcome::Failure(why) => format!("failure: {}", why.as_str()),
                        },
                        country: ev.country.map(|c| c.to_string()),
                        region: ev.region.clone(),
                        city: ev.city.clone(),
                        asn: ev.asn,
                        network,
                        decision: Some(ev.decision.as_str().to_owned()),
                        risk: Some((f64::from(ev.risk) * 1000.0).round() / 1000.0),
                        reasons: ev
                            .reasons
                            .iter()
                            .map(|c| BundleReason {
                                code: c.as_str().to_owned(),
                                text: c.describe().to_owned(),
                            })
                            .collect(),
                        audit_seq,
                    });
                }
                if !full {
                    break;
                }
                q = HistoryQuery::after(cursor, 1000);
            }
        }
        Ok(out)
    }

    /// The affected users' alerts about logins in `[from, to]`.
    pub(super) async fn gather_alerts(
        &self,
        users: &[String],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<BundleAlert>, ServiceError> {
        let mut out = Vec::new();
        for user in users {
            let mut q = AlertQuery {
                user: Some(user.clone()),
                since: Some(from),
                until: Some(Timestamp(to.secs() + 1)),
                limit: MAX_ALERTS_LIMIT,
                ..AlertQuery::default()
            };
            loop {
                let page = self.store.list_alerts(&q).await?;
                let Some(last) = page.last() else { break };
                q.before_id = Some(last.id);
                let full = page.len() >= MAX_ALERTS_LIMIT as usize;
                for a in page {
                    if out.len() >= MAX_ALERTS {
                        return Ok(out);
                    }
                    out.push(BundleAlert {
                        id: a.id,
                        kind: a.kind.as_str().to_owned(),
                        grade: a.grade.as_str().to_owned(),
                        at: a.ts,
                        user: a.user.map(|u| u.to_string()),
                        ip: a.ip.map(|ip| ip.to_string()),
                        state: a.state.as_str().to_owned(),
                        answer: a.answer.map(|x| x.as_str().to_owned()),
                        answered_at: a.answered_at,
                    });
                }
                if !full {
                    break;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_audit::{AuditEntry, Chain};

    #[test]
    fn an_action_reads_its_record() {
        let mut chain = Chain::default();
        let r = chain.append(
            AuditEntry::new(Timestamp(10), "incident.action", "ops")
                .unwrap()
                .user("alice@example.com")
                .incident(3)
                .detail("action", "lock")
                .detail("result", "locked"),
        );
        let a = action_of(&r);
        assert_eq!(
            (a.action.as_str(), a.by.as_str(), a.result.as_str(), a.seq),
            ("lock", "ops", "locked", 1)
        );
        let r = chain.append(
            AuditEntry::new(Timestamp(11), "incident.status_changed", "ops")
                .unwrap()
                .incident(3)
                .detail("from", "open")
                .detail("to", "contained"),
        );
        let a = action_of(&r);
        assert_eq!(
            (a.action.as_str(), a.result.as_str()),
            ("status:contained", "done")
        );
        assert_eq!(
            summary_of(&r),
            "incident status changed: from=open, to=contained"
        );
        let r = chain.append(
            AuditEntry::new(Timestamp(12), "incident.reviewed", "ops")
                .unwrap()
                .incident(3),
        );
        assert_eq!(action_of(&r).action, "reviewed");
    }
}
