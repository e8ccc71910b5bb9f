-- Warden schema, version 4 (SQLite): profile snapshots are debounced.
--
-- A snapshot is no longer written with every successful login; the service
-- writes the changed profiles every few seconds, and at start-up learns
-- again from the successful logins its snapshots have not seen. Each
-- snapshot records the newest event it has learned from; the replay mark
-- says up to which event every snapshot is complete, so start-up reads only
-- the events after it. Existing snapshots were written with every login:
-- they have learned from every event already stored.

ALTER TABLE profiles ADD COLUMN through_event INTEGER NOT NULL DEFAULT 0;
UPDATE profiles SET through_event = (SELECT COALESCE(MAX(id), 0) FROM login_events);

-- 'profiles': every snapshot has learned from every event up to event_id.
-- 'flush': where the profile flush in progress began.
CREATE TABLE replay_marks (
    name        TEXT    NOT NULL PRIMARY KEY,
    event_id    INTEGER NOT NULL
);
INSERT INTO replay_marks (name, event_id)
    SELECT 'profiles', COALESCE(MAX(id), 0) FROM login_events;
INSERT INTO replay_marks (name, event_id)
    SELECT 'flush', COALESCE(MAX(id), 0) FROM login_events;
