-- Warden schema, version 2 (SQLite): organisations, accounts, their
-- credentials and the security events that record every change to them.
--
-- Same portable subset as version 1: INTEGER (unix seconds, counters, 0/1
-- flags, protocol bit sets), TEXT (names, wire names of enums, canonical IP
-- addresses), BLOB (SHA-256 digests of 32 bytes, sealed TOTP secrets).
-- Secrets are never stored in clear.
--
-- Credential rows reference their account, so none can be stored for a user
-- that does not exist, nor outlive a deleted one (the store deletes them
-- explicitly before the account). Security events do not: they are the
-- audit trail and stay after the account is gone. Accounts do not reference
-- their organisation: an account's org is a name the layer above checks.

-- Organisations (tenants) and their credential policy.
CREATE TABLE orgs (
    name                    TEXT    NOT NULL PRIMARY KEY,
    display_name            TEXT    NOT NULL,
    two_factor              TEXT    NOT NULL,   -- optional | admins | everyone
    app_passwords_required  INTEGER NOT NULL,   -- 0 | 1
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);

-- User accounts, keyed by the normalised login name.
CREATE TABLE accounts (
    user_name               TEXT    NOT NULL PRIMARY KEY,
    org                     TEXT    NOT NULL,
    display_name            TEXT    NOT NULL,
    email                   TEXT,
    phone                   TEXT,
    role                    TEXT    NOT NULL,   -- user | admin
    status                  TEXT    NOT NULL,   -- active | locked | disabled
    status_reason           TEXT,
    password_hash           TEXT,               -- argon2id PHC string
    password_changed_at     INTEGER,
    must_change_password    INTEGER NOT NULL,   -- 0 | 1
    two_factor_changed_at   INTEGER,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);

-- An organisation's accounts in user-name order.
CREATE INDEX accounts_org_user ON accounts (org, user_name);

-- Earlier password hashes (reuse checks). The id orders the entries: the
-- newest has the highest; the store keeps only the newest few per account.
CREATE TABLE password_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name   TEXT    NOT NULL REFERENCES accounts (user_name),
    hash        TEXT    NOT NULL,
    set_at      INTEGER             -- when it became the password, if known
);

CREATE INDEX password_history_user ON password_history (user_name, id);

-- Client authorization codes (app passwords), as SHA-256 digests.
CREATE TABLE app_passwords (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name       TEXT    NOT NULL REFERENCES accounts (user_name),
    name            TEXT    NOT NULL,
    digest          BLOB    NOT NULL,   -- 32 bytes
    protocols       INTEGER NOT NULL,   -- ProtocolSet bits
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER,
    last_used_ip    TEXT,
    expires_at      INTEGER,
    revoked_at      INTEGER
);

-- A login looks a code up by (user, digest); one digest per account.
CREATE UNIQUE INDEX app_passwords_user_digest ON app_passwords (user_name, digest);

-- TOTP enrolments: pending until confirmed_at is set.
CREATE TABLE totp (
    user_name       TEXT    NOT NULL PRIMARY KEY REFERENCES accounts (user_name),
    sealed_secret   BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    confirmed_at    INTEGER,
    last_step       INTEGER             -- last accepted time step, 0 ..= 2^63-1
);

-- One-time recovery codes, as SHA-256 digests.
CREATE TABLE recovery_codes (
    user_name   TEXT    NOT NULL REFERENCES accounts (user_name),
    digest      BLOB    NOT NULL,   -- 32 bytes
    used_at     INTEGER,
    PRIMARY KEY (user_name, digest)
);

-- Web and IM login sessions, keyed by the SHA-256 digest of the token.
CREATE TABLE web_sessions (
    digest      BLOB    NOT NULL PRIMARY KEY,   -- 32 bytes
    user_name   TEXT    NOT NULL REFERENCES accounts (user_name),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    ip          TEXT    NOT NULL,
    user_agent  TEXT,
    revoked_at  INTEGER
);

-- Revoking or deleting an account's sessions.
CREATE INDEX web_sessions_user ON web_sessions (user_name);

-- The audit trail of credential and status changes; kept after deletion.
CREATE TABLE security_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          INTEGER NOT NULL,
    user_name   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,   -- SecurityEventKind wire name
    actor       TEXT    NOT NULL,   -- admin | user | system
    ip          TEXT,
    detail      TEXT    NOT NULL
);

-- An account's events, newest first.
CREATE INDEX security_events_user_ts ON security_events (user_name, ts, id);
