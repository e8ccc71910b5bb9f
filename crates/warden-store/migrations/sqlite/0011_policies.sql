-- Warden schema, version 11 (SQLite): access policies per organisation,
-- group and user, every change a new version, and group membership.
--
-- Same portable subset as before: INTEGER (unix seconds, flags 0/1), TEXT.
-- Lists are comma-separated canonical values; NULL leaves a field unset
-- (inherited from the next broader scope).

CREATE TABLE policy_versions (
    scope           TEXT    NOT NULL,   -- org | group | user
    target          TEXT    NOT NULL,   -- the organisation's, group's or user's name
    version         INTEGER NOT NULL,   -- 1, 2, 3... per scope and target
    name            TEXT    NOT NULL,   -- the admin's name for it
    mode            TEXT    NOT NULL,   -- enforce | report_only | off
    removed         INTEGER NOT NULL,   -- 1: this version removes the policy
    allowlist       TEXT,               -- canonical CIDRs
    geo_allow       TEXT,               -- CC or CC/Region
    geo_block       TEXT,
    protocols       TEXT,               -- protocol wire names
    tls_required    INTEGER,
    hours_days      TEXT,               -- mon,tue,...
    hours_from      INTEGER,            -- minutes of the day
    hours_to        INTEGER,
    hours_offset    INTEGER,            -- minutes east of UTC
    login_protection TEXT,              -- off | challenged | new_city | new_city_or_device
    new_device_approval INTEGER,
    step_up_minutes INTEGER,
    actor           TEXT    NOT NULL,
    ip              TEXT,
    comment         TEXT,
    created_at      INTEGER NOT NULL,
    restored_from   INTEGER,
    PRIMARY KEY (scope, target, version)
);

-- Named sets of users.
CREATE TABLE group_members (
    group_name      TEXT    NOT NULL,
    user_name       TEXT    NOT NULL,
    added_at        INTEGER NOT NULL,
    PRIMARY KEY (group_name, user_name)
);

CREATE INDEX group_members_user ON group_members (user_name);
