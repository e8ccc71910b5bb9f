//! What admins do with incidents (the API and CLI call these): open one by
//! hand, list and read them, assign, move the status forward, add an
//! affected user, address or device, tick a step with a note, and fill the
//! post-incident review. Every change is published durably as an
//! [`IncidentEvent`] (the audit log keeps it before the call returns).
//! Text from the caller is bounded (a clear `Invalid` past the bound) and
//! cleaned to one line.

use warden_core::incident::{
    check_transition, Affected, AffectedKind, Incident, IncidentGrade, IncidentStatus, Review,
    Trigger, TriggerKind, MAX_ASSIGNEE, MAX_REVIEW_FIELD, MAX_TITLE,
};
use warden_core::text::one_line;
use warden_core::{Name, Timestamp};
use warden_store::{
    Backend, IncidentQuery, IncidentRecord, NewIncident, Opened, StepDone, StoreError,
    MAX_INCIDENTS_PAGE,
};

use super::events::IncidentEvent;
use crate::alerts::admin::ActedBy;
use crate::error::shown;
use crate::events::DomainEvent;
use crate::{Service, ServiceError};

/// The longest note on a step.
pub const MAX_NOTE: usize = 2000;
/// The longest affected value (a device key is at most 128 bytes).
pub const MAX_AFFECTED_VALUE: usize = 128;
/// The most addresses and devices an opening by hand lists.
pub const MAX_OPEN_LIST: usize = 20;

/// An incident opened by hand.
#[derive(Debug, Clone, Default)]
pub struct ManualOpen {
    pub grade: Option<IncidentGrade>,
    /// Default: the grade's meaning and the user.
    pub title: Option<String>,
    pub user: Option<String>,
    pub addresses: Vec<String>,
    pub devices: Vec<String>,
    pub assignee: Option<String>,
}

/// The review as the admin writes it.
#[derive(Debug, Clone, Default)]
pub struct ReviewInput {
    pub root_cause: String,
    pub what_worked: String,
    pub what_to_change: String,
}

/// `s` cleaned to one line, refused when longer than `max` characters or,
/// with `required`, empty.
pub(crate) fn bounded(
    field: &str,
    s: &str,
    max: usize,
    required: bool,
) -> Result<String, ServiceError> {
    if s.chars().count() > max {
        return Err(ServiceError::invalid(format!(
            "{field}: at most {max} characters"
        )));
    }
    let clean = one_line(s, max);
    if required && clean.is_empty() {
        return Err(ServiceError::invalid(format!("{field}: required")));
    }
    Ok(clean)
}

/// A user name as the API gives it, normalised.
pub(crate) fn user_name(field: &str, s: &str) -> Result<Name, ServiceError> {
    warden_core::normalize_user(s)
        .map_err(|e| ServiceError::invalid(format!("{field}: {} {e}", shown(s))))
}

/// An affected value checked and normalised for its kind.
pub(crate) fn affected_value(kind: AffectedKind, s: &str) -> Result<String, ServiceError> {
    match kind {
        AffectedKind::User => Ok(user_name("value", s)?.to_string()),
        AffectedKind::Address => {
            if s.len() > 64 {
                return Err(ServiceError::invalid("value: an address or CIDR range"));
            }
            warden_core::scoped::parse_network(s)
                .map(|n| {
                    if n.prefix_len() == n.max_prefix_len() {
                        n.addr().to_string()
                    } else {
                        n.to_string()
                    }
                })
                .map_err(|e| ServiceError::invalid(format!("value: {e}")))
        }
        AffectedKind::Device => bounded("value", s, MAX_AFFECTED_VALUE, true),
    }
}

fn not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("no incident {id}"))
}

/// A refused change as a conflict (HTTP 409).
pub(crate) fn conflict(what: String) -> ServiceError {
    ServiceError::Store(StoreError::Conflict { what })
}

impl<S: Backend> Service<S> {
    /// The incident `id` with its steps, affected entries, triggers,
    /// revert marks and review; `NotFound` when there is none.
    pub async fn incident(&self, id: i64) -> Result<IncidentRecord, ServiceError> {
        self.store.incident(id).await?.ok_or_else(|| not_found(id))
    }

    /// Incidents matching `q`, newest first; a limit of 0 or above
    /// [`MAX_INCIDENTS_PAGE`] is refused.
    pub async fn list_incidents(&self, q: &IncidentQuery) -> Result<Vec<Incident>, ServiceError> {
        if q.limit == 0 || q.limit > MAX_INCIDENTS_PAGE {
            return Err(ServiceError::invalid(format!(
                "limit must be within 1..={MAX_INCIDENTS_PAGE}, got {}",
                q.limit
            )));
        }
        Ok(self.store.list_incidents(q).await?)
    }

    /// An incident that is not closed (a closed one takes no more changes:
    /// `Conflict`).
    pub(crate) async fn live_incident(&self, id: i64) -> Result<IncidentRecord, ServiceError> {
        let rec = self.incident(id).await?;
        if rec.incident.status == IncidentStatus::Closed {
            return Err(conflict(format!("incident {id} is closed: a change")));
        }
        Ok(rec)
    }

    /// Opens an incident by hand with the playbook of its grade (no dedupe:
    /// an admin may open a second incident for a user on purpose).
    pub async fn open_incident(
        &self,
        input: &ManualOpen,
        by: ActedBy<'_>,
    ) -> Result<IncidentRecord, ServiceError> {
        let grade = input
            .grade
            .ok_or_else(|| ServiceError::invalid("grade: required (l1, l2 or l3)"))?;
        let user = input
            .user
            .as_deref()
            .map(|u| user_name("user", u))
            .transpose()?;
        if input.addresses.len() > MAX_OPEN_LIST || input.devices.len() > MAX_OPEN_LIST {
            return Err(ServiceError::invalid(format!(
                "addresses, devices: at most {MAX_OPEN_LIST} each"
            )));
        }
        let title = match input.title.as_deref() {
            Some(t) => bounded("title", t, MAX_TITLE, true)?,
            None => default_title(grade, user.as_deref()),
        };
        let assignee = input
            .assignee
            .as_deref()
            .map(|a| bounded("assignee", a, MAX_ASSIGNEE, true))
            .transpose()?;
        let now = self.now();
        let actor = bounded("actor", by.actor, 64, true)?;
        let entry = |kind, value: String| Affected {
            kind,
            value,
            added_at: now,
            added_by: actor.clone(),
        };
        let mut affected = Vec::new();
        if let Some(u) = &user {
            affected.push(entry(AffectedKind::User, u.to_string()));
        }
        for a in &input.addresses {
            affected.push(entry(
                AffectedKind::Address,
                affected_value(AffectedKind::Address, a)?,
            ));
        }
        for d in &input.devices {
            affected.push(entry(
                AffectedKind::Device,
                affected_value(AffectedKind::Device, d)?,
            ));
        }
        let trigger = Trigger {
            kind: TriggerKind::Manual,
            ref_id: None,
            at: now,
        };
        let new = NewIncident {
            incident: Incident {
                id: 0,
                grade,
                status: IncidentStatus::Open,
                title,
                opened_at: now,
                opened_by: actor.clone(),
                trigger,
                user: user.clone(),
                assignee,
                first_risky_at: None,
                contained_at: None,
                eradicated_at: None,
                recovered_at: None,
                closed_at: None,
            },
            affected,
            steps: self.incidents.playbooks.of(grade).instantiate(now),
        };
        let id = self.store.open_incident(&new, false).await?.id();
        self.publish_durable(DomainEvent::Incident(IncidentEvent::Opened {
            id,
            grade,
            user: user.as_deref(),
            trigger,
            actor: &actor,
            ip: by.ip,
            at: now,
        }))
        .await?;
        self.incident(id).await
    }

    /// Opens an incident from an automatic trigger, or attaches the trigger
    /// to the user's incident that is not closed.
    pub async fn open_from_trigger(
        &self,
        grade: IncidentGrade,
        user: &str,
        trigger: Trigger,
        first_risky_at: Option<Timestamp>,
        affected: Vec<(AffectedKind, String)>,
        what: &str,
    ) -> Result<Opened, ServiceError> {
        let now = self.now();
        let mut entries = vec![Affected {
            kind: AffectedKind::User,
            value: user.to_string(),
            added_at: now,
            added_by: "warden".into(),
        }];
        for (kind, value) in affected {
            entries.push(Affected {
                kind,
                value,
                added_at: now,
                added_by: "warden".into(),
            });
        }
        let new = NewIncident {
            incident: Incident {
                id: 0,
                grade,
                status: IncidentStatus::Open,
                title: one_line(
                    &format!("{}: {what}", default_title(grade, Some(user))),
                    MAX_TITLE,
                ),
                opened_at: now,
                opened_by: "warden".into(),
                trigger,
                user: Some(Name::from(user)),
                assignee: None,
                first_risky_at,
                contained_at: None,
                eradicated_at: None,
                recovered_at: None,
                closed_at: None,
            },
            affected: entries,
            steps: self.incidents.playbooks.of(grade).instantiate(now),
        };
        let opened = self.store.open_incident(&new, true).await?;
        let event = match opened {
            Opened::New(id) => IncidentEvent::Opened {
                id,
                grade,
                user: Some(user),
                trigger,
                actor: "warden",
                ip: None,
                at: now,
            },
            Opened::Attached(id) => IncidentEvent::TriggerAttached {
                id,
                user: Some(user),
                trigger,
                at: now,
            },
        };
        self.publish_durable(DomainEvent::Incident(event)).await?;
        Ok(opened)
    }

    /// Sets (or with `None` clears) the assignee.
    pub async fn assign_incident(
        &self,
        id: i64,
        assignee: Option<&str>,
        by: ActedBy<'_>,
    ) -> Result<IncidentRecord, ServiceError> {
        let assignee = assignee
            .map(|a| bounded("assignee", a, MAX_ASSIGNEE, true))
            .transpose()?;
        self.live_incident(id).await?;
        self.store
            .assign_incident(id, assignee.as_deref())
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => not_found(id),
                e => e.into(),
            })?;
        self.publish_durable(DomainEvent::Incident(IncidentEvent::Assigned {
            id,
            assignee: assignee.as_deref(),
            actor: by.actor,
            ip: by.ip,
            at: self.now(),
        }))
        .await?;
        self.incident(id).await
    }

    /// Moves the status forward (one or more steps); closing needs the
    /// review. A backward or repeated change, a missing review or a change
    /// that lost a race is a conflict and changes nothing.
    pub async fn set_incident_status(
        &self,
        id: i64,
        to: IncidentStatus,
        by: ActedBy<'_>,
    ) -> Result<IncidentRecord, ServiceError> {
        let rec = self.incident(id).await?;
        let from = rec.incident.status;
        check_transition(from, to, rec.review.is_some())
            .map_err(|e| conflict(format!("incident {id}: {e}; a change")))?;
        let now = self.now();
        let mut next = rec.incident.clone();
        next.advance(to, now);
        self.store.set_incident_status(from, &next).await?;
        self.publish_durable(DomainEvent::Incident(IncidentEvent::StatusChanged {
            id,
            from,
            to,
            actor: by.actor,
            ip: by.ip,
            at: now,
        }))
        .await?;
        self.incident(id).await
    }

    /// Adds an affected user, address (or range) or device; returns the
    /// incident and whether the entry is new.
    pub async fn add_incident_affected(
        &self,
        id: i64,
        kind: AffectedKind,
        value: &str,
        by: ActedBy<'_>,
    ) -> Result<(IncidentRecord, bool), ServiceError> {
        let value = affected_value(kind, value)?;
        self.live_incident(id).await?;
        let now = self.now();
        let added = self
            .store
            .add_affected(
                id,
                &Affected {
                    kind,
                    value: value.clone(),
                    added_at: now,
                    added_by: one_line(by.actor, 64),
                },
            )
            .await?;
        if added {
            self.publish_durable(DomainEvent::Incident(IncidentEvent::AffectedAdded {
                id,
                kind,
                value: &value,
                actor: by.actor,
                ip: by.ip,
                at: now,
            }))
            .await?;
        }
        Ok((self.incident(id).await?, added))
    }

    /// Ticks step `step` done with a note. A one-click action's step is
    /// done by running the action; ticking it by hand (it was done outside
    /// Warden, or does not apply) needs a note saying so. A step done
    /// already is a conflict.
    pub async fn tick_incident_step(
        &self,
        id: i64,
        step: &str,
        note: Option<&str>,
        by: ActedBy<'_>,
    ) -> Result<IncidentRecord, ServiceError> {
        let note = note
            .map(|n| bounded("note", n, MAX_NOTE, false))
            .transpose()?
            .filter(|n| !n.is_empty());
        let rec = self.live_incident(id).await?;
        let Some(s) = rec.steps.iter().find(|s| s.step == step) else {
            return Err(ServiceError::NotFound(format!(
                "incident {id} has no step {}",
                shown(step)
            )));
        };
        if let (Some(action), None) = (s.kind.action(), &note) {
            return Err(ServiceError::invalid(format!(
                "step {}: a one-click action ({action}); run it, or tick it with a note saying why not",
                shown(step)
            )));
        }
        let now = self.now();
        let done = StepDone {
            at: now,
            by: one_line(by.actor, 64),
            note: note.clone(),
            result: None,
        };
        if !self.store.complete_step(id, step, &done).await? {
            return Err(conflict(format!(
                "step {} of incident {id} is done already: a change",
                shown(step)
            )));
        }
        self.publish_durable(DomainEvent::Incident(IncidentEvent::StepDone {
            id,
            step,
            note: note.as_deref(),
            actor: by.actor,
            ip: by.ip,
            at: now,
        }))
        .await?;
        self.incident(id).await
    }

    /// Stores (or replaces) the post-incident review; every field required.
    pub async fn review_incident(
        &self,
        id: i64,
        input: &ReviewInput,
        by: ActedBy<'_>,
    ) -> Result<IncidentRecord, ServiceError> {
        let review = Review {
            root_cause: bounded("root_cause", &input.root_cause, MAX_REVIEW_FIELD, true)?,
            what_worked: bounded("what_worked", &input.what_worked, MAX_REVIEW_FIELD, true)?,
            what_to_change: bounded(
                "what_to_change",
                &input.what_to_change,
                MAX_REVIEW_FIELD,
                true,
            )?,
            by: one_line(by.actor, 64),
            at: self.now(),
        };
        self.live_incident(id).await?;
        self.store.set_review(id, &review).await?;
        self.publish_durable(DomainEvent::Incident(IncidentEvent::Reviewed {
            id,
            actor: by.actor,
            ip: by.ip,
            at: review.at,
        }))
        .await?;
        self.incident(id).await
    }
}

/// "Credential compromise: kim@example.com".
fn default_title(grade: IncidentGrade, user: Option<&str>) -> String {
    let mut what = grade.describe().to_string();
    if let Some(first) = what.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    match user {
        Some(u) => one_line(&format!("{what}: {u}"), MAX_TITLE),
        None => what,
    }
}
