//! The [`IncidentStore`] trait: incidents (grade, status with the time each
//! status was reached, assignee, what opened them), the users, addresses
//! and devices they concern, the playbook steps copied into each when it
//! opened (due time, completion, the SLA alert), the triggers attached
//! later, the sensitive operations marked for revert and the
//! post-incident review.
//!
//! Changes are conditional: a status change names the status it expects
//! (a stale one is a [`StoreError::Conflict`], as is closing without a
//! stored review), a step is completed once, an overdue step is alerted
//! once, and opening with `dedupe` attaches the trigger to the user's
//! incident that is not closed instead of opening a second one.

use std::future::Future;

use warden_core::incident::{
    Affected, Incident, IncidentGrade, IncidentStatus, IncidentStep, Review, Trigger,
};
use warden_core::Timestamp;

use crate::error::StoreError;

/// The most incidents one [`IncidentQuery`] returns.
pub const MAX_INCIDENTS_PAGE: u32 = 200;
/// The most affected entries, triggers and revert marks one incident keeps.
pub const MAX_AFFECTED: usize = 200;
pub const MAX_TRIGGERS: usize = 200;
pub const MAX_REVERTS: usize = 500;

/// An incident to open, with what it concerns and its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    /// `id` is ignored.
    pub incident: Incident,
    pub affected: Vec<Affected>,
    pub steps: Vec<IncidentStep>,
}

/// What [`IncidentStore::open_incident`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// A new incident.
    New(i64),
    /// The user has an incident that is not closed: the trigger was
    /// attached to it.
    Attached(i64),
}

impl Opened {
    pub fn id(self) -> i64 {
        match self {
            Opened::New(id) | Opened::Attached(id) => id,
        }
    }
}

/// A sensitive operation an incident marked for revert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevertMark {
    pub operation_id: i64,
    pub marked_at: Timestamp,
    pub marked_by: String,
}

/// An incident with everything stored about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRecord {
    pub incident: Incident,
    /// In the order they were added.
    pub affected: Vec<Affected>,
    /// In playbook order.
    pub steps: Vec<IncidentStep>,
    /// Every trigger, the opening one first.
    pub triggers: Vec<Trigger>,
    pub reverts: Vec<RevertMark>,
    pub review: Option<Review>,
}

/// Which incidents to list: newest first, every filter optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentQuery {
    pub status: Option<IncidentStatus>,
    /// Only incidents that are not closed.
    pub active: bool,
    pub grade: Option<IncidentGrade>,
    /// Incidents concerning this user (their own user or an affected one).
    pub user: Option<String>,
    pub assignee: Option<String>,
    /// Only ids below this one (the page before's cursor).
    pub before_id: Option<i64>,
    /// At most this many, and never more than [`MAX_INCIDENTS_PAGE`].
    pub limit: u32,
}

/// A step's completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepDone {
    pub at: Timestamp,
    pub by: String,
    pub note: Option<String>,
    pub result: Option<String>,
}

/// A step past its due time that has not been alerted yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueStep {
    pub incident_id: i64,
    pub grade: IncidentGrade,
    pub user: Option<String>,
    pub step: IncidentStep,
}

/// Persistence for incidents.
pub trait IncidentStore: Send + Sync + 'static {
    /// Opens `new` — or, with `dedupe` and a user, when that user has an
    /// incident that is not closed, attaches `new`'s trigger (and its
    /// affected entries) to it — in one transaction.
    fn open_incident(
        &self,
        new: &NewIncident,
        dedupe: bool,
    ) -> impl Future<Output = Result<Opened, StoreError>> + Send;

    /// The incident `id` with its affected entries, steps, triggers,
    /// revert marks and review.
    fn incident(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<IncidentRecord>, StoreError>> + Send;

    /// Incidents matching `q`, newest first.
    fn list_incidents(
        &self,
        q: &IncidentQuery,
    ) -> impl Future<Output = Result<Vec<Incident>, StoreError>> + Send;

    /// Stores `to`'s status and status times if the stored status is still
    /// `from`; else [`StoreError::Conflict`]. Closing also needs a stored
    /// review (else `Conflict`). [`StoreError::NotFound`]: no incident.
    fn set_incident_status(
        &self,
        from: IncidentStatus,
        to: &Incident,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Sets or clears the assignee; `NotFound` when there is no incident.
    fn assign_incident(
        &self,
        id: i64,
        assignee: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Adds an affected user, address or device; `false` when it was
    /// there already. `Conflict` past [`MAX_AFFECTED`].
    fn add_affected(
        &self,
        id: i64,
        affected: &Affected,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Marks step `step` done if it is not yet; `false` when it was done
    /// already (nothing changes). `NotFound`: no such step.
    fn complete_step(
        &self,
        id: i64,
        step: &str,
        done: &StepDone,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores (or replaces) the review of an incident that is not closed;
    /// `Conflict` once it is closed, `NotFound` without an incident.
    fn set_review(
        &self,
        id: i64,
        review: &Review,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks operations for revert; returns how many were new marks.
    fn mark_reverts(
        &self,
        id: i64,
        operations: &[i64],
        at: Timestamp,
        by: &str,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Steps not done, due at or before `now`, never alerted, of incidents
    /// that are not closed; at most `limit`, earliest due first.
    fn overdue_steps(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OverdueStep>, StoreError>> + Send;

    /// Records the SLA alert of a step; `false` when it was recorded
    /// before (so a step is alerted once, whoever races).
    fn mark_overdue_alerted(
        &self,
        id: i64,
        step: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
