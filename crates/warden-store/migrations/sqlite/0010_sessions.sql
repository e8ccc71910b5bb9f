-- Warden schema, version 10 (SQLite): a user's sessions and devices. Every
-- successful login opens or refreshes the row of its device (the client's
-- device id, else its client family and protocol); users and admins list
-- them, sign one or all out (`revoked`), approve a new one (`pending`),
-- trust one for a while, or forget it.
--
-- Same portable subset as before: INTEGER (unix seconds), TEXT (wire names,
-- addresses).

CREATE TABLE device_sessions (
    id              INTEGER PRIMARY KEY,
    user_name       TEXT    NOT NULL,
    device          TEXT    NOT NULL,   -- the normalised device key
    client          TEXT,
    os              TEXT,
    protocol        TEXT    NOT NULL,   -- of the last login
    ip              TEXT    NOT NULL,   -- of the last login
    country         TEXT,
    city            TEXT,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    state           TEXT    NOT NULL,   -- active | pending | revoked
    state_at        INTEGER NOT NULL,
    state_by        TEXT    NOT NULL,
    trusted_until   INTEGER,
    UNIQUE (user_name, device)
);

CREATE INDEX device_sessions_by_seen ON device_sessions (user_name, last_seen);
CREATE INDEX device_sessions_by_state ON device_sessions (state);
