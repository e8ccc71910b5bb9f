//! The statements of the [`IncidentStore`](crate::IncidentStore), in the
//! same portable subset as [`crate::sql`].

macro_rules! incident_columns {
    () => {
        "id, grade, status, title, opened_at, opened_by, trigger_kind, trigger_ref, user_name, \
         assignee, first_risky_at, contained_at, eradicated_at, recovered_at, closed_at"
    };
}

macro_rules! step_columns {
    () => {
        "incident_id, step, position, title_en, title_zh, owner, kind, checklist, due_at, \
         done_at, done_by, note, result, overdue_alerted_at"
    };
}

pub(crate) const INSERT_INCIDENT: &str = "INSERT INTO incidents (grade, status, title, opened_at, \
     opened_by, trigger_kind, trigger_ref, user_name, assignee, first_risky_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id";

pub(crate) const OPEN_OF_USER: &str =
    "SELECT id FROM incidents WHERE user_name = $1 AND status <> 'closed' ORDER BY id LIMIT 1";

pub(crate) const INCIDENT: &str = concat!(
    "SELECT ",
    incident_columns!(),
    " FROM incidents WHERE id = $1"
);

pub(crate) const STATUS_OF: &str = "SELECT status FROM incidents WHERE id = $1";

/// Every filter is optional: a NULL parameter matches everything.
pub(crate) const LIST_INCIDENTS: &str = concat!(
    "SELECT ",
    incident_columns!(),
    " FROM incidents WHERE ($1 IS NULL OR status = $1) AND ($2 = 0 OR status <> 'closed') \
     AND ($3 IS NULL OR grade = $3) \
     AND ($4 IS NULL OR user_name = $4 OR id IN \
        (SELECT incident_id FROM incident_affected WHERE kind = 'user' AND value = $4)) \
     AND ($5 IS NULL OR assignee = $5) AND ($6 IS NULL OR id < $6) \
     ORDER BY id DESC LIMIT $7"
);

pub(crate) const SET_STATUS: &str = "UPDATE incidents SET status = $2, contained_at = $3, \
     eradicated_at = $4, recovered_at = $5, closed_at = $6 \
     WHERE id = $1 AND status = $7 \
     AND ($8 = 0 OR EXISTS (SELECT 1 FROM incident_reviews WHERE incident_id = $1))";

pub(crate) const ASSIGN: &str = "UPDATE incidents SET assignee = $2 WHERE id = $1";

pub(crate) const INSERT_AFFECTED: &str = "INSERT INTO incident_affected \
     (incident_id, kind, value, added_at, added_by) VALUES ($1, $2, $3, $4, $5)";

pub(crate) const AFFECTED_EXISTS: &str =
    "SELECT COUNT(*) FROM incident_affected WHERE incident_id = $1 AND kind = $2 AND value = $3";

pub(crate) const AFFECTED_COUNT: &str =
    "SELECT COUNT(*) FROM incident_affected WHERE incident_id = $1";

pub(crate) const AFFECTED: &str = "SELECT kind, value, added_at, added_by FROM incident_affected \
     WHERE incident_id = $1 ORDER BY added_at, kind, value";

pub(crate) const INSERT_STEP: &str = concat!(
    "INSERT INTO incident_steps (",
    step_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
);

pub(crate) const STEPS: &str = concat!(
    "SELECT ",
    step_columns!(),
    " FROM incident_steps WHERE incident_id = $1 ORDER BY position"
);

pub(crate) const COMPLETE_STEP: &str = "UPDATE incident_steps SET done_at = $3, done_by = $4, \
     note = $5, result = $6 WHERE incident_id = $1 AND step = $2 AND done_at IS NULL";

pub(crate) const STEP_EXISTS: &str =
    "SELECT COUNT(*) FROM incident_steps WHERE incident_id = $1 AND step = $2";

pub(crate) const OVERDUE_STEPS: &str = "SELECT s.incident_id, s.step, s.position, s.title_en, \
     s.title_zh, s.owner, s.kind, s.checklist, s.due_at, s.done_at, s.done_by, s.note, s.result, \
     s.overdue_alerted_at, i.grade, i.user_name \
     FROM incident_steps s JOIN incidents i ON i.id = s.incident_id \
     WHERE s.done_at IS NULL AND s.overdue_alerted_at IS NULL AND s.due_at <= $1 \
     AND i.status <> 'closed' ORDER BY s.due_at, s.incident_id, s.position LIMIT $2";

pub(crate) const MARK_ALERTED: &str = "UPDATE incident_steps SET overdue_alerted_at = $3 \
     WHERE incident_id = $1 AND step = $2 AND overdue_alerted_at IS NULL";

pub(crate) const INSERT_TRIGGER: &str =
    "INSERT INTO incident_triggers (incident_id, kind, ref_id, at) VALUES ($1, $2, $3, $4)";

pub(crate) const TRIGGER_COUNT: &str =
    "SELECT COUNT(*) FROM incident_triggers WHERE incident_id = $1";

pub(crate) const TRIGGER_EXISTS: &str = "SELECT COUNT(*) FROM incident_triggers \
     WHERE incident_id = $1 AND kind = $2 AND ref_id = $3";

pub(crate) const TRIGGERS: &str = "SELECT kind, ref_id, at FROM incident_triggers \
     WHERE incident_id = $1 ORDER BY at, kind";

pub(crate) const INSERT_REVERT: &str = "INSERT INTO incident_reverts \
     (incident_id, operation_id, marked_at, marked_by) VALUES ($1, $2, $3, $4)";

pub(crate) const REVERT_EXISTS: &str =
    "SELECT COUNT(*) FROM incident_reverts WHERE incident_id = $1 AND operation_id = $2";

pub(crate) const REVERT_COUNT: &str =
    "SELECT COUNT(*) FROM incident_reverts WHERE incident_id = $1";

pub(crate) const REVERTS: &str = "SELECT operation_id, marked_at, marked_by FROM incident_reverts \
     WHERE incident_id = $1 ORDER BY operation_id";

pub(crate) const DELETE_REVIEW: &str = "DELETE FROM incident_reviews WHERE incident_id = $1";

pub(crate) const INSERT_REVIEW: &str = "INSERT INTO incident_reviews (incident_id, root_cause, \
     what_worked, what_to_change, reviewed_by, reviewed_at) VALUES ($1, $2, $3, $4, $5, $6)";

pub(crate) const REVIEW: &str = "SELECT root_cause, what_worked, what_to_change, reviewed_by, \
     reviewed_at FROM incident_reviews WHERE incident_id = $1";
