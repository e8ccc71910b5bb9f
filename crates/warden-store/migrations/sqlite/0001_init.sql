-- Warden schema, version 1 (SQLite).
--
-- Portable on purpose: only INTEGER (unix seconds, counters), TEXT, REAL and
-- BLOB columns, so the PostgreSQL migration is a type-for-type translation
-- (INTEGER -> BIGINT, REAL -> DOUBLE PRECISION, BLOB -> BYTEA, the event id
-- becomes an identity column). Enumerations are stored by their wire names.

-- One row per evaluated login attempt. Append-only; pruned by age.
CREATE TABLE login_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          INTEGER NOT NULL,   -- unix seconds, the event's own time
    user_name   TEXT    NOT NULL,
    ip          TEXT    NOT NULL,   -- canonical textual address
    protocol    TEXT    NOT NULL,   -- imap | pop3 | smtp | web | im | api
    outcome     TEXT    NOT NULL,   -- success | <failure reason wire name>
    device      TEXT,
    user_agent  TEXT,
    country     TEXT,               -- ISO 3166-1 alpha-2, upper case
    region      TEXT,
    city        TEXT,
    asn         INTEGER,
    decision    TEXT    NOT NULL,   -- allow | challenge | deny
    risk        REAL    NOT NULL,
    risk_level  TEXT    NOT NULL,   -- low | medium | high
    alert       INTEGER NOT NULL,   -- 0 | 1
    reasons     TEXT    NOT NULL    -- comma-separated reason codes, '' for none
);

-- A user's history, newest first.
CREATE INDEX login_events_user_ts ON login_events (user_name, ts);
-- Pruning by age.
CREATE INDEX login_events_ts ON login_events (ts);

-- The latest behaviour-profile snapshot per user (opaque binary blob).
CREATE TABLE profiles (
    user_name   TEXT    NOT NULL PRIMARY KEY,
    snapshot    BLOB    NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Admin corrections of where an address range is.
CREATE TABLE geo_corrections (
    network     TEXT    NOT NULL PRIMARY KEY,   -- canonical CIDR, e.g. 10.1.0.0/16, 2001:db8::/32
    country     TEXT,
    region      TEXT,
    city        TEXT,
    city_zh     TEXT,
    region_zh   TEXT,
    lat         REAL,
    lon         REAL,
    accuracy_km INTEGER,
    time_zone   TEXT,
    note        TEXT,
    created_at  INTEGER NOT NULL
);
