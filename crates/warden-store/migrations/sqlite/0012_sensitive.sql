-- Warden schema, version 13 (SQLite): sensitive operations the mail or IM
-- system reported in users' accounts (forwarding and inbox rules, security
-- contacts, passwords, 2FA, codes and tokens, exports), each with the grade
-- its correlation with the risky logins before it gave, and the alert it
-- raised.
--
-- Same portable subset as before: INTEGER (unix seconds, 0/1 flags), TEXT
-- (wire names, canonical IP addresses, comma-separated reason names).

CREATE TABLE sensitive_operations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    ts              INTEGER NOT NULL,   -- when it happened, as reported
    received_at     INTEGER NOT NULL,
    ip              TEXT,
    source          TEXT    NOT NULL,   -- webmail | managesieve | im ...
    report_id       TEXT,               -- the reporter's own id: a retry is one row
    target          TEXT,
    external        INTEGER NOT NULL,
    detail          TEXT    NOT NULL,
    grade           TEXT    NOT NULL,   -- info | warning | critical
    reasons         TEXT    NOT NULL,
    login_event_id  INTEGER,
    alert_id        INTEGER REFERENCES alerts (id) ON DELETE SET NULL
);

-- A user's operations, newest first (the list, diagnose).
CREATE INDEX sensitive_operations_user ON sensitive_operations (user_name, id);
-- Retention pruning by time.
CREATE INDEX sensitive_operations_ts ON sensitive_operations (ts);
-- A report sent twice (a retried request, a log read again) is one row.
CREATE UNIQUE INDEX sensitive_operations_report
    ON sensitive_operations (source, report_id);
