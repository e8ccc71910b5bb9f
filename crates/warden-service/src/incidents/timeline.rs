//! An incident's timeline, built from the audit log: the records of the
//! incident itself (its opening, actions, steps, status changes) and the
//! records of each affected user from the first risky login — or the
//! opening minus `incidents.lookback_secs` — to the closing (or now),
//! merged, without repeats, oldest first, capped at [`MAX_TIMELINE`] with a
//! flag saying more were left out.

use warden_audit::AuditRecord;
use warden_core::incident::AffectedKind;
use warden_core::Timestamp;
use warden_store::{AuditQuery, Backend, MAX_AUDIT_PAGE};

use crate::{Service, ServiceError};

/// The most records a timeline holds.
pub const MAX_TIMELINE: usize = 1000;
/// The most affected users whose records a timeline reads.
pub const MAX_TIMELINE_USERS: usize = 20;

/// What [`Service::incident_timeline`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    pub incident: i64,
    /// The window of the users' records.
    pub from: Timestamp,
    pub to: Timestamp,
    /// Oldest first.
    pub records: Vec<AuditRecord>,
    /// More records matched than the timeline holds (the newest were left
    /// out, or a user's records filled a page).
    pub more: bool,
}

impl<S: Backend> Service<S> {
    /// The timeline of incident `id` (`NotFound` when there is none).
    pub async fn incident_timeline(&self, id: i64) -> Result<Timeline, ServiceError> {
        let rec = self.incident(id).await?;
        let i = &rec.incident;
        let lookback = Timestamp(i.opened_at.secs() - self.incidents.lookback_secs as i64);
        let from = match i.first_risky_at {
            Some(t) if t < lookback => t,
            _ => lookback,
        };
        let to = i.closed_at.unwrap_or_else(|| self.now()).plus_secs(1);
        let mut more = false;
        let mut all: Vec<AuditRecord> = Vec::new();
        let own = self
            .store
            .list_audit(&AuditQuery {
                incident: Some(id),
                limit: MAX_AUDIT_PAGE,
                ..AuditQuery::default()
            })
            .await?;
        more |= own.len() as u32 >= MAX_AUDIT_PAGE;
        all.extend(own);
        let mut users: Vec<&str> = Vec::new();
        if let Some(u) = i.user.as_deref() {
            users.push(u);
        }
        for a in rec.affected.iter().filter(|a| a.kind == AffectedKind::User) {
            if !users.contains(&a.value.as_str()) {
                users.push(&a.value);
            }
        }
        more |= users.len() > MAX_TIMELINE_USERS;
        for u in users.into_iter().take(MAX_TIMELINE_USERS) {
            let found = self
                .store
                .list_audit(&AuditQuery {
                    user: Some(u.to_string()),
                    from: Some(from),
                    to: Some(to),
                    limit: MAX_AUDIT_PAGE,
                    ..AuditQuery::default()
                })
                .await?;
            more |= found.len() as u32 >= MAX_AUDIT_PAGE;
            all.extend(found);
        }
        all.sort_by_key(|r| (r.entry.at, r.seq));
        all.dedup_by_key(|r| r.seq);
        if all.len() > MAX_TIMELINE {
            all.truncate(MAX_TIMELINE);
            more = true;
        }
        Ok(Timeline {
            incident: id,
            from,
            to,
            records: all,
            more,
        })
    }
}
