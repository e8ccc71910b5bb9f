-- Warden schema, version 4 (SQLite): the database's own settings, one value
-- per key. `secret_key_check` holds a check value of the key that seals the
-- TOTP secrets (an HMAC of a constant under it, never the key), so start-up
-- can tell a lost or replaced key before a user meets it.
CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
);
