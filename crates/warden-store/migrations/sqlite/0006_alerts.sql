-- Warden schema, version 6 (SQLite): alerts, their notifications (the
-- durable outbox), admins' editable templates, the users' geolocation
-- complaints waiting for an admin, and each account's language.
--
-- Same portable subset as before: INTEGER (unix seconds, counts, 0/1
-- flags), TEXT (wire names, canonical IP addresses, comma-separated reason
-- codes).

-- One alert: a risky login (or several of one user, kind and place folded
-- into it by dedupe_key), an attack on accounts, a user's "not me", or a
-- summary for admins.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    grade           TEXT    NOT NULL,   -- info | warning | critical
    state           TEXT    NOT NULL,   -- open | acknowledged | closed
    user_name       TEXT,               -- NULL: about an address, a summary
    created_at      INTEGER NOT NULL,
    ts              INTEGER NOT NULL,
    last_ts         INTEGER NOT NULL,
    count           INTEGER NOT NULL,
    dedupe_key      TEXT    NOT NULL,
    notify_user     INTEGER NOT NULL,
    notify_admins   INTEGER NOT NULL,
    ip              TEXT,
    country         TEXT,
    region          TEXT,
    city            TEXT,
    asn             INTEGER,
    isp             TEXT,
    device          TEXT,
    client          TEXT,
    protocol        TEXT,
    decision        TEXT,
    succeeded       INTEGER NOT NULL,
    reasons         TEXT    NOT NULL,
    event_id        INTEGER,
    answer          TEXT,               -- it_was_me | not_me | wrong_location
    answered_at     INTEGER,
    answered_ip     TEXT,
    note            TEXT    NOT NULL,
    -- When an admin asked for the alert to be sent again (NULL: not asked,
    -- or the delivery side has fanned it out again since).
    resend_at       INTEGER
);

-- Folding a login into the alert of its key.
CREATE INDEX alerts_dedupe ON alerts (dedupe_key, id);
-- A user's alerts, newest first.
CREATE INDEX alerts_user ON alerts (user_name, id);
-- Alerts by when they were raised (listing, summaries).
CREATE INDEX alerts_created ON alerts (created_at, id);
-- Resends the delivery side has still to fan out.
CREATE INDEX alerts_resend ON alerts (resend_at, id);

-- The outbox: one row per alert, audience, channel and recipient, written
-- before anything is sent, retried until sent or given up.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id        INTEGER NOT NULL REFERENCES alerts (id),
    audience        TEXT    NOT NULL,   -- user | admins
    channel         TEXT    NOT NULL,   -- a configured channel's name
    recipient       TEXT    NOT NULL,   -- address, phone, or '' for a webhook
    state           TEXT    NOT NULL,   -- pending | sent | failed
    attempts        INTEGER NOT NULL,
    next_at         INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);

-- The delivery worker takes the pending rows that are due.
CREATE INDEX deliveries_due ON deliveries (state, next_at, id);
CREATE INDEX deliveries_alert ON deliveries (alert_id, id);

-- Admins' versions of the notification templates (the built-in ones are
-- used where there is none).
CREATE TABLE alert_templates (
    name            TEXT    NOT NULL,   -- user_email, admin_email, chat...
    lang            TEXT    NOT NULL,   -- en | zh
    body            TEXT    NOT NULL,
    updated_at      INTEGER NOT NULL,
    updated_by      TEXT    NOT NULL,
    PRIMARY KEY (name, lang)
);

-- "The location is wrong": addresses users say are placed wrongly, waiting
-- for an admin to accept (a geolocation correction) or reject.
CREATE TABLE correction_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id        INTEGER REFERENCES alerts (id),
    user_name       TEXT    NOT NULL,
    ip              TEXT    NOT NULL,
    country         TEXT,               -- where the data placed it
    region          TEXT,
    city            TEXT,
    comment         TEXT    NOT NULL,   -- where the user says they were
    state           TEXT    NOT NULL,   -- pending | accepted | rejected
    created_at      INTEGER NOT NULL,
    decided_at      INTEGER,
    decided_by      TEXT
);

CREATE INDEX correction_requests_state ON correction_requests (state, id);

-- The language of the account's notifications (NULL: the organisation's).
ALTER TABLE accounts ADD COLUMN lang TEXT;
