-- Warden schema, version 15 (SQLite): incidents (graded L1-L3, status
-- open -> contained -> eradicated -> recovered -> closed), what they
-- concern, the playbook steps copied into each when it opened (with their
-- due time and completion), the triggers attached to them, the sensitive
-- operations marked for revert, and the post-incident review.
--
-- Same portable subset as before: INTEGER (unix seconds, ids), TEXT.

CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY,
    grade           TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    opened_at       INTEGER NOT NULL,
    opened_by       TEXT    NOT NULL,
    trigger_kind    TEXT    NOT NULL,
    trigger_ref     INTEGER,
    user_name       TEXT,
    assignee        TEXT,
    first_risky_at  INTEGER,
    contained_at    INTEGER,
    eradicated_at   INTEGER,
    recovered_at    INTEGER,
    closed_at       INTEGER
);

CREATE INDEX incidents_user ON incidents (user_name, status);
CREATE INDEX incidents_status ON incidents (status, id);

CREATE TABLE incident_affected (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    kind        TEXT    NOT NULL,   -- user, address, device
    value       TEXT    NOT NULL,
    added_at    INTEGER NOT NULL,
    added_by    TEXT    NOT NULL,
    PRIMARY KEY (incident_id, kind, value)
);

CREATE INDEX incident_affected_value ON incident_affected (kind, value);

CREATE TABLE incident_steps (
    incident_id        INTEGER NOT NULL REFERENCES incidents (id),
    step               TEXT    NOT NULL,
    position           INTEGER NOT NULL,
    title_en           TEXT    NOT NULL,
    title_zh           TEXT    NOT NULL,
    owner              TEXT    NOT NULL,
    kind               TEXT    NOT NULL,   -- action:<name> or manual
    checklist          TEXT    NOT NULL,   -- manual: one item a line
    due_at             INTEGER NOT NULL,
    done_at            INTEGER,
    done_by            TEXT,
    note               TEXT,
    result             TEXT,
    overdue_alerted_at INTEGER,
    PRIMARY KEY (incident_id, step)
);

CREATE INDEX incident_steps_due ON incident_steps (done_at, due_at);

CREATE TABLE incident_triggers (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    kind        TEXT    NOT NULL,
    ref_id      INTEGER,
    at          INTEGER NOT NULL
);

CREATE INDEX incident_triggers_incident ON incident_triggers (incident_id);

CREATE TABLE incident_reverts (
    incident_id  INTEGER NOT NULL REFERENCES incidents (id),
    operation_id INTEGER NOT NULL,
    marked_at    INTEGER NOT NULL,
    marked_by    TEXT    NOT NULL,
    PRIMARY KEY (incident_id, operation_id)
);

CREATE TABLE incident_reviews (
    incident_id    INTEGER PRIMARY KEY REFERENCES incidents (id),
    root_cause     TEXT    NOT NULL,
    what_worked    TEXT    NOT NULL,
    what_to_change TEXT    NOT NULL,
    reviewed_by    TEXT    NOT NULL,
    reviewed_at    INTEGER NOT NULL
);
