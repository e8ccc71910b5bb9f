-- Warden schema, version 14 (SQLite): the tamper-evident audit log.
--
-- Each record carries its own number, the hash of the record before it and
-- its own hash (SHA-256, 64 hex digits; see warden-audit for the canonical
-- bytes). The numbers are assigned by the writer, consecutive from 1; the
-- store never computes a hash. Checkpoints are Ed25519 signatures over a
-- record's number and hash; they outlive the records they sign when those
-- are pruned (after export to an archive).
--
-- Same portable subset as before: INTEGER (unix seconds, numbers), TEXT.

CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    user_name   TEXT,
    ip          TEXT,
    subject     TEXT,
    incident_id INTEGER,
    detail      TEXT    NOT NULL,   -- "key<TAB>value" lines (no control characters inside)
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);

CREATE INDEX audit_log_user ON audit_log (user_name, seq);
CREATE INDEX audit_log_ip ON audit_log (ip, seq);
CREATE INDEX audit_log_kind ON audit_log (kind, seq);
CREATE INDEX audit_log_incident ON audit_log (incident_id, seq);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE audit_checkpoints (
    seq         INTEGER PRIMARY KEY,
    hash        TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    signature   TEXT    NOT NULL
);
